// SPDX-License-Identifier: Apache-2.0
/*
 * acpi.c - ACPI 6.4 static tables for a hardware-reduced x86 machine.
 *
 * Section numbers below are the ACPI 6.4 specification's:
 *  5.2.5.3 RSDP, 5.2.6 system description table header, 5.2.8 XSDT,
 *  5.2.9 FADT, 5.2.11.1 DSDT, 5.2.12 MADT; chapter 20 (AML grammar) and
 *  6.4 (resource data types) for the DSDT body.
 * Tables are built in host buffers, checksummed, then copied into guest RAM
 * with guest_mem_write (which checks every range).
 */
#include "src/acpi.h"
#include "src/layout.h"
#include "src/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define ACPI_OEM_ID        "EMBER "     /* 6 bytes */
#define ACPI_CREATOR_ID    "EMBR"
#define ACPI_CREATOR_REV   1
#define ACPI_OEM_REV       1
#define ACPI_HYPERVISOR_ID "EMBERKVM"   /* FADT hypervisor vendor identity */
#define ACPI_TABLE_ALIGN   16
#define ACPI_IOAPIC_PINS   24           /* KVM's in-kernel IOAPIC */

/* 5.2.6 */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* 5.2.5.3, revision 2 */
struct acpi_rsdp {
	char signature[8];              /* "RSD PTR " */
	uint8_t checksum;               /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;               /* 2: ACPI 2.0+ layout with XSDT */
	uint32_t rsdt_address;          /* 0: no RSDT, use the XSDT */
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;      /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

/* 5.2.3.2 Generic Address Structure */
struct acpi_gas {
	uint8_t space_id, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

/* 5.2.9, Table 5.9 (FADT major version 6, minor 4) */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));

#define ACPI_FADT_REVISION       6
#define ACPI_FADT_MINOR          4
#define ACPI_FADT_PWR_BUTTON     (1U << 4)   /* power button is a control method device (or absent) */
#define ACPI_FADT_SLP_BUTTON     (1U << 5)   /* same for the sleep button */
#define ACPI_FADT_HW_REDUCED     (1U << 20)
#define ACPI_IAPC_VGA_NOT_PRESENT (1U << 2)  /* Table 5.10 */

/* 5.2.12, Table 5.43 */
struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;                 /* 0: no PCAT_COMPAT, HW-reduced has no 8259 */
} __attribute__((packed));

struct acpi_madt_lapic {                /* 5.2.12.2, type 0 */
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct acpi_madt_ioapic {               /* 5.2.12.3, type 1 */
	uint8_t type, length, ioapic_id, reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

#define ACPI_MADT_REVISION   5           /* ACPI 6.4 */
#define ACPI_MADT_LAPIC      0
#define ACPI_MADT_IOAPIC     1
#define ACPI_MADT_ENABLED    1U

#define ACPI_XSDT_ENTRIES    2           /* FADT, MADT */
#define ACPI_DSDT_REVISION   2           /* 2: AML integers are 64-bit */

_Static_assert(sizeof(struct acpi_header) == 36, "SDT header is 36 bytes");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP v2 is 36 bytes");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH offset");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT Flags offset");
_Static_assert(offsetof(struct acpi_fadt, minor_version) == 131, "FADT minor version offset");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT offset");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_vendor_id) == 268, "FADT hypervisor id offset");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (6.4) is 276 bytes");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT fixed part is 44 bytes");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "Processor Local APIC entry is 8 bytes");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "I/O APIC entry is 12 bytes");
_Static_assert(LAYOUT_MAX_VCPUS < 0xff, "xAPIC ids (8 bit, 0xff = broadcast) are enough");
_Static_assert(LAYOUT_MAX_VIRTIO_DEVS <= 1000, "virtio device names have three digits");
_Static_assert(LAYOUT_ACPI_TABLES_START >= LAYOUT_EBDA_START + 0x400, "ACPI tables overlap the MP table");
_Static_assert(LAYOUT_RSDP_ADDR + sizeof(struct acpi_rsdp) <= LAYOUT_HIMEM_START, "RSDP below 1 MiB");
_Static_assert(LAYOUT_ACPI_TABLES_START < LAYOUT_VMGENID_ADDR &&
	       LAYOUT_VMGENID_ADDR + LAYOUT_VMGENID_SIZE <= LAYOUT_RSDP_ADDR,
	       "the generation id's page lies between the tables and the RSDP");

static void acpi_header_init(struct acpi_header *h, const char sig[4], uint32_t len, uint8_t rev,
			     const char table_id[8])
{
	memset(h, 0, sizeof(*h));
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, table_id, 8);
	h->oem_revision = ACPI_OEM_REV;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REV;
}

/* Fill in the header checksum of a complete table of h->length bytes. */
static void acpi_table_finish(void *table)
{
	struct acpi_header *h = table;
	h->checksum = 0;
	h->checksum = util_checksum8(table, h->length);
}

/* ---- AML (chapter 20) ---------------------------------------------------- */

#define AML_ZERO        0x00
#define AML_ONE         0x01
#define AML_NAME        0x08
#define AML_BYTE        0x0a
#define AML_WORD        0x0b
#define AML_DWORD       0x0c
#define AML_STRING      0x0d
#define AML_QWORD       0x0e
#define AML_SCOPE       0x10
#define AML_BUFFER      0x11
#define AML_EXT_PREFIX  0x5b
#define AML_DEVICE      0x82            /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR   0x5c            /* '\' */
#define AML_DUAL_PREFIX 0x2e            /* DualNamePrefix: two NameSegs follow */
#define AML_PACKAGE     0x12
#define AML_METHOD      0x14
#define AML_NOTIFY      0x86
#define AML_NOTIFY_GEN_CHANGED 0x80     /* the VMGenID specification's notification */

/* 6.4.2.5 / 6.4.3.4 / 6.4.3.6 / 6.4.2.9 resource descriptors */
#define RES_IO          0x47            /* small item 0x08, length 7 */
#define RES_MEM32_FIXED 0x86            /* large item 0x06 */
#define RES_EXT_IRQ     0x89            /* large item 0x09 */
#define RES_END         0x79            /* small item 0x0f, length 1 */
#define RES_IRQ_CONSUMER 0x01
#define RES_IRQ_EDGE     0x02           /* 0: level; polarity bit 2 clear: active high */

#define AML_MAX         8192            /* bytes of the whole DSDT; 19 devices use ~1.6 KiB */

struct aml {
	uint8_t buf[AML_MAX];
	size_t len;
	bool overflow;
};

static void aml_put(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > AML_MAX - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b) { aml_put(a, &b, 1); }
static void aml_le16(struct aml *a, uint16_t v) { aml_put(a, &v, 2); }
static void aml_le32(struct aml *a, uint32_t v) { aml_put(a, &v, 4); }

/* A package (Scope, Device, Buffer) starts here: its content is appended,
 * then aml_pkg_end inserts the PkgLength (20.2.4) in front of it. */
static size_t aml_pkg_begin(struct aml *a)
{
	return a->len;
}

/* PkgLength counts its own bytes plus the content. One byte holds up to 63;
 * otherwise the lead byte gives the count of following bytes (bits 7-6) and
 * the low nibble, the following bytes the rest, least significant first. */
static void aml_pkg_end(struct aml *a, size_t start)
{
	if (a->overflow)
		return;
	size_t content = a->len - start, n, total;
	uint8_t enc[4];

	if (content + 1 <= 0x3f)
		n = 1;
	else if (content + 2 <= 0xfff)
		n = 2;
	else if (content + 3 <= 0xfffff)
		n = 3;
	else
		n = 4;
	total = content + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (n > AML_MAX - a->len) {
		a->overflow = true;
		return;
	}
	memmove(a->buf + start + n, a->buf + start, content);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

/* Integer constant, shortest encoding (20.2.3 ComputationalData). */
static void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO);
	} else if (v == 1) {
		aml_byte(a, AML_ONE);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		aml_le16(a, (uint16_t)v);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD);
		aml_le32(a, (uint32_t)v);
	} else {
		aml_byte(a, AML_QWORD);
		aml_put(a, &v, 8);
	}
}

static void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_put(a, s, strlen(s) + 1);
}

/* EISAID("PNPxxxx") (19.6.35): three letters of 5 bits each ('A' = 1), then
 * four hex digits; the bytes in that order, read as a little-endian DWORD. */
static uint32_t aml_eisaid(const char id[7])
{
	uint16_t vendor = (uint16_t)(((id[0] - '@') & 0x1f) << 10 | ((id[1] - '@') & 0x1f) << 5 |
				     ((id[2] - '@') & 0x1f));
	uint32_t product = 0;
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		product = product << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10);
	}
	uint8_t b[4] = { (uint8_t)(vendor >> 8), (uint8_t)vendor, (uint8_t)(product >> 8), (uint8_t)product };
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}

/* Name(seg, ...): the caller appends the data object. seg is 4 characters. */
static void aml_name(struct aml *a, const char seg[4])
{
	aml_byte(a, AML_NAME);
	aml_put(a, seg, 4);
}

static size_t aml_device_begin(struct aml *a)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE);
	return aml_pkg_begin(a);
}

/* ResourceTemplate() is a Buffer whose size is an integer TermArg. The
 * content is built in `res` first because the size precedes it. */
static void aml_resource_template(struct aml *a, const uint8_t *res, size_t len)
{
	aml_byte(a, AML_BUFFER);
	size_t p = aml_pkg_begin(a);
	aml_integer(a, len + 2);
	aml_put(a, res, len);
	aml_byte(a, RES_END);
	aml_byte(a, 0);	/* checksum 0: "treated as if the checksum operation succeeded" */
	aml_pkg_end(a, p);
}

struct res {
	uint8_t buf[64];
	size_t len;
};

static void res_put(struct res *r, const void *p, size_t n)
{
	/* Fixed, small templates below: overflowing is a programming error. */
	if (n <= sizeof(r->buf) - r->len) {
		memcpy(r->buf + r->len, p, n);
		r->len += n;
	}
}

/* IO(Decode16, port, port, 1, len) */
static void res_io(struct res *r, uint16_t port, uint8_t len)
{
	uint8_t d[8] = { RES_IO, 0x01, (uint8_t)port, (uint8_t)(port >> 8),
			 (uint8_t)port, (uint8_t)(port >> 8), 1, len };
	res_put(r, d, sizeof(d));
}

/* Memory32Fixed(ReadWrite, addr, len) */
static void res_mem32_fixed(struct res *r, uint32_t addr, uint32_t len)
{
	uint8_t d[12] = { RES_MEM32_FIXED, 9, 0, 0x01 };
	memcpy(d + 4, &addr, 4);
	memcpy(d + 8, &len, 4);
	res_put(r, d, sizeof(d));
}

/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi } */
static void res_interrupt(struct res *r, uint32_t gsi)
{
	uint8_t d[9] = { RES_EXT_IRQ, 6, 0, RES_IRQ_CONSUMER | RES_IRQ_EDGE, 1 };
	memcpy(d + 5, &gsi, 4);
	res_put(r, d, sizeof(d));
}

static void aml_crs(struct aml *a, const struct res *r)
{
	aml_name(a, "_CRS");
	aml_resource_template(a, r->buf, r->len);
}

static void dsdt_com1(struct aml *a)
{
	struct res r = { .len = 0 };
	size_t d = aml_device_begin(a);
	aml_put(a, "COM1", 4);
	aml_name(a, "_HID");
	aml_byte(a, AML_DWORD);
	aml_le32(a, aml_eisaid("PNP0501"));	/* 16550A-compatible UART */
	aml_name(a, "_UID");
	aml_integer(a, 0);
	res_io(&r, LAYOUT_SERIAL_PORT, 8);
	res_interrupt(&r, LAYOUT_SERIAL_IRQ);
	aml_crs(a, &r);
	aml_pkg_end(a, d);
}

/* The i8042 only does reset and Ctrl-Alt-Del, but without this node a FADT
 * that does not claim an 8042 (IAPC_BOOT_ARCH bit 1) makes Linux skip it. */
static void dsdt_ps2(struct aml *a)
{
	struct res r = { .len = 0 };
	size_t d = aml_device_begin(a);
	aml_put(a, "PS2_", 4);
	aml_name(a, "_HID");
	aml_byte(a, AML_DWORD);
	aml_le32(a, aml_eisaid("PNP0303"));	/* IBM enhanced keyboard (8042) */
	aml_name(a, "_UID");
	aml_integer(a, 0);
	res_io(&r, LAYOUT_I8042_DATA_PORT, 1);
	res_io(&r, LAYOUT_I8042_CMD_PORT, 1);
	res_interrupt(&r, LAYOUT_I8042_IRQ);
	aml_crs(a, &r);
	aml_pkg_end(a, d);
}

static void dsdt_virtio(struct aml *a, unsigned idx, const struct acpi_mmio_dev *dev)
{
	struct res r = { .len = 0 };
	/* V000, V001, ...: idx < LAYOUT_MAX_VIRTIO_DEVS, three digits are plenty. */
	char name[4] = { 'V', (char)('0' + idx / 100 % 10), (char)('0' + idx / 10 % 10),
			 (char)('0' + idx % 10) };
	size_t d = aml_device_begin(a);
	aml_put(a, name, 4);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, idx);
	aml_name(a, "_CCA");	/* DMA is cache-coherent (6.2.17) */
	aml_integer(a, 1);
	res_mem32_fixed(&r, (uint32_t)dev->addr, (uint32_t)dev->len);
	res_interrupt(&r, dev->gsi);
	aml_crs(a, &r);
	aml_pkg_end(a, d);
}

/* Device(VGEN): the generation id's address as ADDR, a Package of two
 * DWORD-sized integers (low, high), which is what Linux's driver and the
 * specification evaluate. */
static void dsdt_vmgenid(struct aml *a, const struct acpi_vmgenid *vg)
{
	size_t d = aml_device_begin(a);
	aml_put(a, "VGEN", 4);
	aml_name(a, "_HID");
	aml_string(a, "VMGENCTR");
	aml_name(a, "_CID");
	aml_string(a, "VM_Gen_Counter");
	aml_name(a, "_DDN");
	aml_string(a, "VM_Gen_Counter");
	aml_name(a, "ADDR");
	aml_byte(a, AML_PACKAGE);
	size_t p = aml_pkg_begin(a);
	aml_byte(a, 2);		/* NumElements */
	aml_integer(a, vg->addr & 0xffffffffULL);
	aml_integer(a, vg->addr >> 32);
	aml_pkg_end(a, p);
	aml_pkg_end(a, d);
}

/* Device(GED_): the Generic Event Device (ACPI 6.4 section 5.6.9) whose one
 * interrupt tells the guest the generation id changed:
 * Method(_EVT, 1) { Notify(\_SB_.VGEN, 0x80) }. */
static void dsdt_ged(struct aml *a, const struct acpi_vmgenid *vg)
{
	static const uint8_t vgen[10] = { AML_ROOT_CHAR, AML_DUAL_PREFIX, '_', 'S', 'B', '_',
					  'V', 'G', 'E', 'N' };
	struct res r = { .len = 0 };
	size_t d = aml_device_begin(a);
	aml_put(a, "GED_", 4);
	aml_name(a, "_HID");
	aml_string(a, "ACPI0013");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	res_interrupt(&r, vg->gsi);
	aml_crs(a, &r);
	aml_byte(a, AML_METHOD);
	size_t m = aml_pkg_begin(a);
	aml_put(a, "_EVT", 4);
	aml_byte(a, 1);		/* MethodFlags: one argument (the GSI), not serialized */
	aml_byte(a, AML_NOTIFY);
	aml_put(a, vgen, sizeof(vgen));
	aml_integer(a, AML_NOTIFY_GEN_CHANGED);
	aml_pkg_end(a, m);
	aml_pkg_end(a, d);
}

/* DefinitionBlock body: Scope(\_SB_) { COM1, PS2_, V000.., VGEN, GED_ }. */
static void dsdt_body(struct aml *a, const struct acpi_mmio_dev *devs, unsigned ndevs,
		      const struct acpi_vmgenid *vg)
{
	static const uint8_t sb[5] = { AML_ROOT_CHAR, '_', 'S', 'B', '_' };
	aml_byte(a, AML_SCOPE);
	size_t s = aml_pkg_begin(a);
	aml_put(a, sb, sizeof(sb));
	dsdt_com1(a);
	dsdt_ps2(a);
	for (unsigned i = 0; i < ndevs; i++)
		dsdt_virtio(a, i, &devs[i]);
	if (vg) {
		dsdt_vmgenid(a, vg);
		dsdt_ged(a, vg);
	}
	aml_pkg_end(a, s);
}

/* ---- tables -------------------------------------------------------------- */

static uint64_t acpi_align(uint64_t v)
{
	return (v + ACPI_TABLE_ALIGN - 1) & ~(uint64_t)(ACPI_TABLE_ALIGN - 1);
}

/* Checks that [gpa, gpa+len) stays inside the reserved hole, below the
 * generation id's page, then copies. */
static int acpi_put(const struct guest_mem *mem, uint64_t gpa, const void *table, size_t len)
{
	if (gpa < LAYOUT_ACPI_TABLES_START || len > LAYOUT_VMGENID_ADDR - gpa)
		return -EFAULT;
	return guest_mem_write(mem, gpa, table, len);
}

int acpi_setup(const struct guest_mem *mem, unsigned ncpus, const struct acpi_mmio_dev *devs,
	       unsigned ndevs, const struct acpi_vmgenid *vg, uint64_t *rsdp_gpa)
{
	struct aml dsdt;	/* header, then the AML body */
	uint8_t madt[sizeof(struct acpi_madt) + LAYOUT_MAX_VCPUS * sizeof(struct acpi_madt_lapic) +
		     sizeof(struct acpi_madt_ioapic)];
	uint8_t xsdt[sizeof(struct acpi_header) + ACPI_XSDT_ENTRIES * sizeof(uint64_t)];
	struct acpi_fadt fadt;
	struct acpi_rsdp rsdp;
	int rc;

	if (ncpus < 1 || ncpus > LAYOUT_MAX_VCPUS || ndevs > LAYOUT_MAX_VIRTIO_DEVS ||
	    (ndevs && !devs))
		return -EINVAL;
	for (unsigned i = 0; i < ndevs; i++) {
		const struct acpi_mmio_dev *d = &devs[i];
		if (d->len == 0 || d->len > 0x100000000ULL || d->addr > 0x100000000ULL - d->len ||
		    d->gsi >= ACPI_IOAPIC_PINS)
			return -EINVAL;
		if (vg && vg->gsi == d->gsi)
			return -EINVAL;
	}
	if (vg && (vg->addr % 8 || vg->gsi >= ACPI_IOAPIC_PINS ||
		   vg->gsi == LAYOUT_SERIAL_IRQ || vg->gsi == LAYOUT_I8042_IRQ))
		return -EINVAL;

	/* DSDT (5.2.11.1): header + AML. */
	dsdt.len = sizeof(struct acpi_header);
	dsdt.overflow = false;
	dsdt_body(&dsdt, devs, ndevs, vg);
	if (dsdt.overflow)
		return -EINVAL;
	size_t dsdt_len = dsdt.len;
	acpi_header_init((struct acpi_header *)dsdt.buf, "DSDT", (uint32_t)dsdt_len,
			 ACPI_DSDT_REVISION, "EMBRDSDT");
	acpi_table_finish(dsdt.buf);
	uint64_t dsdt_gpa = LAYOUT_ACPI_TABLES_START;

	/* FADT (5.2.9): hardware-reduced, so every PM block stays zero. */
	uint64_t fadt_gpa = acpi_align(dsdt_gpa + dsdt_len);
	memset(&fadt, 0, sizeof(fadt));
	acpi_header_init(&fadt.h, "FACP", sizeof(fadt), ACPI_FADT_REVISION, "EMBRFADT");
	fadt.flags = ACPI_FADT_HW_REDUCED | ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON;
	fadt.iapc_boot_arch = ACPI_IAPC_VGA_NOT_PRESENT;
	fadt.minor_version = ACPI_FADT_MINOR;
	fadt.x_dsdt = dsdt_gpa;
	memcpy(fadt.hypervisor_vendor_id, ACPI_HYPERVISOR_ID, 8);
	acpi_table_finish(&fadt);

	/* MADT (5.2.12). */
	uint64_t madt_gpa = acpi_align(fadt_gpa + sizeof(fadt));
	size_t off = sizeof(struct acpi_madt);
	memset(madt, 0, sizeof(madt));
	for (unsigned i = 0; i < ncpus; i++) {
		struct acpi_madt_lapic l = {
			.type = ACPI_MADT_LAPIC, .length = sizeof(l),
			.processor_uid = (uint8_t)i, .apic_id = (uint8_t)i, .flags = ACPI_MADT_ENABLED,
		};
		memcpy(madt + off, &l, sizeof(l));
		off += sizeof(l);
	}
	struct acpi_madt_ioapic io = {
		.type = ACPI_MADT_IOAPIC, .length = sizeof(io),
		.ioapic_id = (uint8_t)ncpus,	/* first id after the LAPICs, as the MP table */
		.address = (uint32_t)LAYOUT_IOAPIC_START, .gsi_base = 0,
	};
	memcpy(madt + off, &io, sizeof(io));
	off += sizeof(io);
	struct acpi_madt mh = { .lapic_address = (uint32_t)LAYOUT_LAPIC_START, .flags = 0 };
	acpi_header_init(&mh.h, "APIC", (uint32_t)off, ACPI_MADT_REVISION, "EMBRMADT");
	memcpy(madt, &mh, sizeof(mh));
	acpi_table_finish(madt);
	size_t madt_len = off;

	/* XSDT (5.2.8): 64-bit pointers to FADT and MADT. */
	uint64_t xsdt_gpa = acpi_align(madt_gpa + madt_len);
	uint64_t entries[ACPI_XSDT_ENTRIES] = { fadt_gpa, madt_gpa };
	acpi_header_init((struct acpi_header *)xsdt, "XSDT", sizeof(xsdt), 1, "EMBRXSDT");
	memcpy(xsdt + sizeof(struct acpi_header), entries, sizeof(entries));
	acpi_table_finish(xsdt);

	/* RSDP (5.2.5.3). */
	memset(&rsdp, 0, sizeof(rsdp));
	memcpy(rsdp.signature, "RSD PTR ", 8);
	memcpy(rsdp.oem_id, ACPI_OEM_ID, 6);
	rsdp.revision = 2;
	rsdp.length = sizeof(rsdp);
	rsdp.xsdt_address = xsdt_gpa;
	rsdp.checksum = util_checksum8(&rsdp, 20);
	rsdp.extended_checksum = util_checksum8(&rsdp, sizeof(rsdp));

	rc = acpi_put(mem, dsdt_gpa, dsdt.buf, dsdt_len);
	rc = rc ? rc : acpi_put(mem, fadt_gpa, &fadt, sizeof(fadt));
	rc = rc ? rc : acpi_put(mem, madt_gpa, madt, madt_len);
	rc = rc ? rc : acpi_put(mem, xsdt_gpa, xsdt, sizeof(xsdt));
	rc = rc ? rc : guest_mem_write(mem, LAYOUT_RSDP_ADDR, &rsdp, sizeof(rsdp));
	if (rc)
		return rc;
	if (rsdp_gpa)
		*rsdp_gpa = LAYOUT_RSDP_ADDR;
	return 0;
}
