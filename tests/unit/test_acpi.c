// SPDX-License-Identifier: Apache-2.0
/* acpi: the tables parsed back the way a guest's ACPI code reads them:
 * RSDP -> XSDT -> FADT -> DSDT (AML walked with a small parser that accepts
 * only well-formed encodings of the subset acpi.c emits) and MADT. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "src/acpi.h"
#include "src/guest_mem.h"
#include "src/layout.h"
#include "src/mptable.h"
#include "src/x86_boot.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A system description table at gpa: signature, length inside the reserved
 * hole after the MP table, checksum, OEM id. Returns the host pointer. */
static const uint8_t *table_at(struct guest_mem *m, uint64_t gpa, const char *sig, uint32_t *len)
{
	assert_true(gpa >= LAYOUT_ACPI_TABLES_START);
	assert_int_equal(gpa % 8, 0);
	const uint8_t *h = guest_mem_ptr(m, gpa, 36);
	assert_non_null(h);
	assert_memory_equal(h, sig, 4);
	*len = le32(h + 4);
	assert_true(*len >= 36);
	assert_true(gpa + *len <= LAYOUT_RSDP_ADDR);
	h = guest_mem_ptr(m, gpa, *len);
	assert_int_equal(sum(h, *len), 0);
	assert_memory_equal(h + 10, "EMBER ", 6);
	return h;
}

/* ---- a strict little AML reader ------------------------------------------ */

struct rd {
	const uint8_t *p, *end;
};

static uint8_t rd_byte(struct rd *r)
{
	assert_true(r->p < r->end);
	return *r->p++;
}

/* PkgLength (20.2.4): returns the end of the package. The encoding must be
 * the shortest one and the package must not run past its parent. */
static const uint8_t *rd_pkg(struct rd *r)
{
	const uint8_t *start = r->p;
	uint8_t lead = rd_byte(r);
	unsigned n = lead >> 6;
	uint32_t len;
	if (n == 0) {
		len = lead & 0x3f;
	} else {
		assert_int_equal(lead & 0x30, 0);	/* bits 5-4 reserved */
		len = lead & 0x0f;
		for (unsigned i = 0; i < n; i++)
			len |= (uint32_t)rd_byte(r) << (4 + 8 * i);
		assert_true(len > 0x3f);		/* shortest form */
	}
	assert_true(len <= (size_t)(r->end - start));
	return start + len;
}

static uint64_t rd_integer(struct rd *r)
{
	uint8_t op = rd_byte(r);
	uint64_t v = 0;
	unsigned n = 0;
	switch (op) {
	case 0x00: return 0;
	case 0x01: return 1;
	case 0x0a: n = 1; break;
	case 0x0b: n = 2; break;
	case 0x0c: n = 4; break;
	case 0x0e: n = 8; break;
	default: fail_msg("not an integer opcode: %#x", op);
	}
	assert_true((size_t)(r->end - r->p) >= n);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static void rd_nameseg(struct rd *r, char out[5])
{
	assert_true(r->end - r->p >= 4);
	for (int i = 0; i < 4; i++) {
		char c = (char)r->p[i];
		assert_true((c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9'));
		out[i] = c;
	}
	out[4] = 0;
	r->p += 4;
}

struct dev_info {
	char name[5];
	char hid[16];		/* string _HID, or "EISA:xxxxxxxx" */
	char cid[16], ddn[16];	/* string _CID, _DDN */
	int have_addr;		/* ADDR = Package(2) { low, high } */
	uint64_t addr_lo, addr_hi;
	int have_evt;		/* Method(_EVT, 1) { Notify(<evt_target>, <evt_value>) } */
	char evt_target[16];
	uint64_t evt_value;
	int have_uid, have_cca, have_crs;
	uint64_t uid;
	/* from _CRS */
	unsigned nio, nmem, nirq;
	uint16_t io_base[2];
	uint8_t io_len[2];
	uint32_t mem_base, mem_len;
	uint32_t irq;
	uint8_t irq_flags;
};

/* Walk a ResourceTemplate buffer: descriptors up to a valid End tag. */
static void rd_resources(const uint8_t *p, size_t len, struct dev_info *d)
{
	size_t i = 0;
	for (;;) {
		assert_true(i < len);
		uint8_t tag = p[i];
		if (tag == 0x79) {		/* End tag */
			assert_int_equal(i + 2, len);
			assert_true(p[i + 1] == 0 || sum(p, len) == 0);
			return;
		}
		if (tag == 0x47) {		/* IO, small, 7 bytes */
			assert_true(i + 8 <= len);
			assert_int_equal(p[i + 1], 1);	/* Decode16 */
			assert_int_equal(le16(p + i + 2), le16(p + i + 4));	/* fixed: min == max */
			assert_true(d->nio < 2);
			d->io_base[d->nio] = le16(p + i + 2);
			d->io_len[d->nio] = p[i + 7];
			d->nio++;
			i += 8;
		} else if (tag == 0x86) {	/* Memory32Fixed */
			assert_true(i + 12 <= len);
			assert_int_equal(le16(p + i + 1), 9);
			assert_int_equal(p[i + 3], 1);	/* read-write */
			d->mem_base = le32(p + i + 4);
			d->mem_len = le32(p + i + 8);
			d->nmem++;
			i += 12;
		} else if (tag == 0x89) {	/* Extended Interrupt */
			assert_true(i + 9 <= len);
			assert_int_equal(le16(p + i + 1), 6);
			assert_int_equal(p[i + 4], 1);	/* one interrupt */
			d->irq_flags = p[i + 3];
			d->irq = le32(p + i + 5);
			d->nirq++;
			i += 9;
		} else {
			fail_msg("unexpected resource descriptor %#x", tag);
		}
	}
}

/* A String (0x0d) into out. */
static void rd_string(struct rd *in, char *out, size_t cap)
{
	assert_int_equal(rd_byte(in), 0x0d);
	size_t n = strnlen((const char *)in->p, (size_t)(in->end - in->p));
	assert_true(n < (size_t)(in->end - in->p) && n < cap);
	memcpy(out, in->p, n + 1);
	in->p += n + 1;
}

/* Method(_EVT, 1, NotSerialized) { Notify(\_SB_.XXXX, value) }: the only
 * method acpi.c writes. */
static void rd_method(struct rd *in, struct dev_info *d)
{
	const uint8_t *end = rd_pkg(in);
	struct rd m = { in->p, end };
	char seg[5];
	rd_nameseg(&m, seg);
	assert_string_equal(seg, "_EVT");
	assert_int_equal(rd_byte(&m), 1);		/* one argument, not serialized */
	assert_int_equal(rd_byte(&m), 0x86);		/* NotifyOp */
	assert_int_equal(rd_byte(&m), 0x5c);		/* \ */
	assert_int_equal(rd_byte(&m), 0x2e);		/* DualNamePrefix */
	char a[5], b[5];
	rd_nameseg(&m, a);
	rd_nameseg(&m, b);
	snprintf(d->evt_target, sizeof(d->evt_target), "\\%s.%s", a, b);
	d->evt_value = rd_integer(&m);
	assert_ptr_equal(m.p, end);
	d->have_evt = 1;
	in->p = end;
}

static void rd_device(struct rd *r, struct dev_info *d)
{
	const uint8_t *end = rd_pkg(r);
	struct rd in = { r->p, end };
	memset(d, 0, sizeof(*d));
	rd_nameseg(&in, d->name);
	while (in.p < in.end) {
		char seg[5];
		if (*in.p == 0x14) {			/* MethodOp */
			in.p++;
			rd_method(&in, d);
			continue;
		}
		assert_int_equal(rd_byte(&in), 0x08);	/* NameOp */
		rd_nameseg(&in, seg);
		if (!strcmp(seg, "_HID")) {
			if (*in.p == 0x0d) {
				in.p++;
				size_t n = strnlen((const char *)in.p, (size_t)(in.end - in.p));
				assert_true(n < (size_t)(in.end - in.p) && n < sizeof(d->hid));
				memcpy(d->hid, in.p, n + 1);
				in.p += n + 1;
			} else {
				uint64_t v = rd_integer(&in);
				snprintf(d->hid, sizeof(d->hid), "EISA:%08x", (unsigned)v);
			}
		} else if (!strcmp(seg, "_CID")) {
			rd_string(&in, d->cid, sizeof(d->cid));
		} else if (!strcmp(seg, "_DDN")) {
			rd_string(&in, d->ddn, sizeof(d->ddn));
		} else if (!strcmp(seg, "ADDR")) {
			assert_int_equal(rd_byte(&in), 0x12);	/* PackageOp */
			const uint8_t *pend = rd_pkg(&in);
			struct rd p = { in.p, pend };
			assert_int_equal(rd_byte(&p), 2);	/* NumElements */
			d->addr_lo = rd_integer(&p);
			d->addr_hi = rd_integer(&p);
			assert_true(d->addr_lo <= 0xffffffffULL && d->addr_hi <= 0xffffffffULL);
			assert_ptr_equal(p.p, pend);
			in.p = pend;
			d->have_addr = 1;
		} else if (!strcmp(seg, "_UID")) {
			d->uid = rd_integer(&in);
			d->have_uid = 1;
		} else if (!strcmp(seg, "_CCA")) {
			assert_int_equal(rd_integer(&in), 1);
			d->have_cca = 1;
		} else if (!strcmp(seg, "_CRS")) {
			assert_int_equal(rd_byte(&in), 0x11);	/* BufferOp */
			const uint8_t *bend = rd_pkg(&in);
			struct rd b = { in.p, bend };
			uint64_t size = rd_integer(&b);
			assert_int_equal(size, (uint64_t)(bend - b.p));
			rd_resources(b.p, (size_t)size, d);
			in.p = bend;
			d->have_crs = 1;
		} else {
			fail_msg("unexpected name %s", seg);
		}
	}
	r->p = end;
}

/* DSDT body: exactly one Scope(\_SB_) holding only devices. */
static unsigned rd_dsdt(const uint8_t *aml, size_t len, struct dev_info *devs, unsigned max)
{
	struct rd r = { aml, aml + len };
	unsigned n = 0;
	assert_int_equal(rd_byte(&r), 0x10);	/* ScopeOp */
	const uint8_t *end = rd_pkg(&r);
	assert_ptr_equal(end, aml + len);
	assert_memory_equal(r.p, "\\_SB_", 5);
	r.p += 5;
	r.end = end;
	while (r.p < r.end) {
		assert_int_equal(rd_byte(&r), 0x5b);
		assert_int_equal(rd_byte(&r), 0x82);	/* DeviceOp */
		assert_true(n < max);
		rd_device(&r, &devs[n++]);
	}
	return n;
}

/* ---- the tables ----------------------------------------------------------- */

static void check_tables_vg(unsigned ncpus, unsigned ndevs, const struct acpi_vmgenid *vg)
{
	struct guest_mem m;
	struct acpi_mmio_dev devs[LAYOUT_MAX_VIRTIO_DEVS];
	uint64_t rsdp_gpa = 0;

	for (unsigned i = 0; i < ndevs; i++)
		devs[i] = (struct acpi_mmio_dev){ LAYOUT_VIRTIO_MMIO_BASE + i * 0x1000, 0x1000,
						  LAYOUT_VIRTIO_IRQ_BASE + i };
	assert_int_equal(guest_mem_init(&m, 128ULL << 20), 0);
	assert_int_equal(mptable_setup(&m, ncpus), 0);
	uint8_t mp_before[0x400];
	memcpy(mp_before, guest_mem_ptr(&m, LAYOUT_EBDA_START, 0x400), 0x400);
	uint8_t id_page[16];
	memset(guest_mem_ptr(&m, LAYOUT_VMGENID_ADDR, 16), 0xa5, 16);
	assert_int_equal(acpi_setup(&m, ncpus, devs, ndevs, vg, &rsdp_gpa), 0);
	/* The generation id's page is not the tables' to write. */
	memcpy(id_page, guest_mem_ptr(&m, LAYOUT_VMGENID_ADDR, 16), 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(id_page[i], 0xa5);
	/* The MP table is untouched. */
	assert_memory_equal(guest_mem_ptr(&m, LAYOUT_EBDA_START, 0x400), mp_before, 0x400);

	/* RSDP (5.2.5.3). */
	assert_int_equal(rsdp_gpa, 0xe0000);
	const uint8_t *rsdp = guest_mem_ptr(&m, rsdp_gpa, 36);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_memory_equal(rsdp + 9, "EMBER ", 6);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(le32(rsdp + 16), 0);	/* no RSDT */
	assert_int_equal(le32(rsdp + 20), 36);
	uint64_t xsdt_gpa = le64(rsdp + 24);

	/* XSDT: FADT and MADT, nothing else. */
	uint32_t xlen;
	const uint8_t *xsdt = table_at(&m, xsdt_gpa, "XSDT", &xlen);
	assert_int_equal(xlen, 36 + 2 * 8);
	assert_int_equal(xsdt[8], 1);
	uint64_t fadt_gpa = le64(xsdt + 36), madt_gpa = le64(xsdt + 44);

	/* FADT (5.2.9). */
	uint32_t flen;
	const uint8_t *fadt = table_at(&m, fadt_gpa, "FACP", &flen);
	assert_int_equal(flen, 276);
	assert_int_equal(fadt[8], 6);			/* major 6 */
	assert_int_equal(fadt[131] & 0xf, 4);		/* minor 4 */
	uint32_t flags = le32(fadt + 112);
	assert_int_equal(flags, (1U << 20) | (1U << 4) | (1U << 5));
	assert_int_equal(le16(fadt + 109), 1U << 2);	/* VGA not present, no 8042 */
	assert_memory_equal(fadt + 268, "EMBERKVM", 8);
	assert_int_equal(le32(fadt + 36), 0);		/* no FACS */
	assert_int_equal(le32(fadt + 40), 0);		/* X_DSDT only */
	assert_int_equal(le64(fadt + 132), 0);
	assert_int_equal(le16(fadt + 46), 0);		/* no SCI */
	for (unsigned off = 56; off < 88; off++)	/* PM/GPE blocks absent */
		assert_int_equal(fadt[off], 0);
	uint64_t dsdt_gpa = le64(fadt + 140);

	/* DSDT. */
	uint32_t dlen;
	const uint8_t *dsdt = table_at(&m, dsdt_gpa, "DSDT", &dlen);
	assert_int_equal(dsdt[8], 2);
	struct dev_info di[4 + LAYOUT_MAX_VIRTIO_DEVS];
	unsigned nd = rd_dsdt(dsdt + 36, dlen - 36, di, 4 + LAYOUT_MAX_VIRTIO_DEVS);
	assert_int_equal(nd, 2 + ndevs + (vg ? 2 : 0));
	assert_true(dsdt_gpa + dlen <= LAYOUT_VMGENID_ADDR);
	if (vg) {
		/* VGEN: the ids Linux's vmgenid driver and the specification
		 * match, ADDR = the id's address; GED_: the GSI, and _EVT
		 * notifies VGEN with 0x80. */
		const struct dev_info *v = &di[2 + ndevs], *g = &di[3 + ndevs];
		assert_string_equal(v->name, "VGEN");
		assert_string_equal(v->hid, "VMGENCTR");
		assert_string_equal(v->cid, "VM_Gen_Counter");
		assert_string_equal(v->ddn, "VM_Gen_Counter");
		assert_true(v->have_addr);
		assert_int_equal(v->addr_lo | v->addr_hi << 32, vg->addr);
		assert_false(v->have_crs || v->have_evt);
		assert_string_equal(g->name, "GED_");
		assert_string_equal(g->hid, "ACPI0013");
		assert_true(g->have_uid && g->have_crs && g->have_evt);
		assert_int_equal(g->nirq, 1);
		assert_int_equal(g->irq, vg->gsi);
		assert_int_equal(g->irq_flags, 0x03);	/* consumer, edge, active high */
		assert_string_equal(g->evt_target, "\\_SB_.VGEN");
		assert_int_equal(g->evt_value, 0x80);
		assert_false(g->have_addr);
	}
	assert_string_equal(di[0].name, "COM1");
	assert_string_equal(di[0].hid, "EISA:0105d041");	/* PNP0501 */
	assert_int_equal(di[0].nio, 1);
	assert_int_equal(di[0].io_base[0], 0x3f8);
	assert_int_equal(di[0].io_len[0], 8);
	assert_int_equal(di[0].nirq, 1);
	assert_int_equal(di[0].irq, 4);
	assert_string_equal(di[1].name, "PS2_");
	assert_string_equal(di[1].hid, "EISA:0303d041");	/* PNP0303 */
	assert_int_equal(di[1].nio, 2);
	assert_int_equal(di[1].io_base[0], 0x60);
	assert_int_equal(di[1].io_base[1], 0x64);
	assert_int_equal(di[1].irq, 1);
	for (unsigned i = 0; i < 2 + ndevs; i++) {
		assert_true(di[i].have_crs && di[i].have_uid);
		assert_int_equal(di[i].irq_flags, 0x03);	/* consumer, edge, active high, exclusive */
	}
	for (unsigned i = 0; i < ndevs; i++) {
		const struct dev_info *d = &di[2 + i];
		char name[16];
		snprintf(name, sizeof(name), "V%03u", i % 1000);
		assert_string_equal(d->name, name);
		assert_string_equal(d->hid, "LNRO0005");
		assert_int_equal(d->uid, i);
		assert_true(d->have_cca);
		assert_int_equal(d->nmem, 1);
		assert_int_equal(d->mem_base, devs[i].addr);
		assert_int_equal(d->mem_len, 0x1000);
		assert_int_equal(d->nirq, 1);
		assert_int_equal(d->irq, devs[i].gsi);
	}

	/* MADT (5.2.12). */
	uint32_t mlen;
	const uint8_t *madt = table_at(&m, madt_gpa, "APIC", &mlen);
	assert_int_equal(madt[8], 5);
	assert_int_equal(le32(madt + 36), 0xfee00000);
	assert_int_equal(le32(madt + 40), 0);
	assert_int_equal(mlen, 44 + 8 * ncpus + 12);
	unsigned lapics = 0, ioapics = 0;
	for (uint32_t off = 44; off < mlen;) {
		uint8_t type = madt[off], elen = madt[off + 1];
		assert_true(elen >= 2 && off + elen <= mlen);
		if (type == 0) {
			assert_int_equal(elen, 8);
			assert_int_equal(madt[off + 2], lapics);	/* UID */
			assert_int_equal(madt[off + 3], lapics);	/* APIC id */
			assert_int_equal(le32(madt + off + 4), 1);	/* enabled */
			lapics++;
		} else if (type == 1) {
			assert_int_equal(elen, 12);
			assert_int_equal(madt[off + 2], ncpus);		/* not a LAPIC id */
			assert_int_equal(le32(madt + off + 4), 0xfec00000);
			assert_int_equal(le32(madt + off + 8), 0);
			ioapics++;
		} else {
			fail_msg("unexpected MADT entry type %u", type);
		}
		off += elen;
	}
	assert_int_equal(lapics, ncpus);
	assert_int_equal(ioapics, 1);

	/* No two tables overlap. */
	uint64_t start[4] = { dsdt_gpa, fadt_gpa, madt_gpa, xsdt_gpa };
	uint64_t len[4] = { dlen, flen, mlen, xlen };
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			if (i != j)
				assert_true(start[i] + len[i] <= start[j] || start[j] + len[j] <= start[i]);
	guest_mem_free(&m);
}

static void check_tables(unsigned ncpus, unsigned ndevs)
{
	check_tables_vg(ncpus, ndevs, NULL);
}

/* The VMGenID device and its GED, with ember's address and pin, with the
 * most devices, and with an address above 4 GiB (ADDR's high half). */
static void test_vmgenid(void **state)
{
	(void)state;
	struct acpi_vmgenid vg = { LAYOUT_VMGENID_ADDR, LAYOUT_VMGENID_GSI };
	check_tables_vg(1, 0, &vg);
	check_tables_vg(2, 3, &vg);
	check_tables_vg(LAYOUT_MAX_VCPUS, LAYOUT_MAX_VIRTIO_DEVS, &vg);
	vg.addr = 0x123456788ULL;
	check_tables_vg(1, 1, &vg);
}

static void test_vmgenid_refused(void **state)
{
	(void)state;
	struct guest_mem m;
	struct acpi_mmio_dev d = { LAYOUT_VIRTIO_MMIO_BASE, 0x1000, LAYOUT_VIRTIO_IRQ_BASE };
	struct acpi_vmgenid vg = { LAYOUT_VMGENID_ADDR + 4, LAYOUT_VMGENID_GSI };
	assert_int_equal(guest_mem_init(&m, 16ULL << 20), 0);
	assert_int_equal(acpi_setup(&m, 1, NULL, 0, &vg, NULL), -EINVAL);	/* unaligned */
	vg.addr = LAYOUT_VMGENID_ADDR;
	vg.gsi = 24;
	assert_int_equal(acpi_setup(&m, 1, NULL, 0, &vg, NULL), -EINVAL);	/* no such pin */
	vg.gsi = LAYOUT_SERIAL_IRQ;
	assert_int_equal(acpi_setup(&m, 1, NULL, 0, &vg, NULL), -EINVAL);	/* COM1's */
	vg.gsi = LAYOUT_I8042_IRQ;
	assert_int_equal(acpi_setup(&m, 1, NULL, 0, &vg, NULL), -EINVAL);	/* the i8042's */
	vg.gsi = LAYOUT_VIRTIO_IRQ_BASE;
	assert_int_equal(acpi_setup(&m, 1, &d, 1, &vg, NULL), -EINVAL);	/* a device's */
	vg.gsi = LAYOUT_VMGENID_GSI;
	assert_int_equal(acpi_setup(&m, 1, &d, 1, &vg, NULL), 0);
	guest_mem_free(&m);
}

static void test_one_cpu_no_devices(void **state) { (void)state; check_tables(1, 0); }
static void test_two_cpus_three_devices(void **state) { (void)state; check_tables(2, 3); }
static void test_max_cpus_max_devices(void **state)
{
	(void)state;
	check_tables(LAYOUT_MAX_VCPUS, LAYOUT_MAX_VIRTIO_DEVS);
}

static void test_rejects_bad_input(void **state)
{
	(void)state;
	struct guest_mem m;
	struct acpi_mmio_dev d = { LAYOUT_VIRTIO_MMIO_BASE, 0x1000, 5 };
	struct acpi_mmio_dev many[LAYOUT_MAX_VIRTIO_DEVS + 1];
	for (unsigned i = 0; i <= LAYOUT_MAX_VIRTIO_DEVS; i++)
		many[i] = d;
	assert_int_equal(guest_mem_init(&m, 128ULL << 20), 0);
	assert_int_equal(acpi_setup(&m, 0, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(acpi_setup(&m, LAYOUT_MAX_VCPUS + 1, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(acpi_setup(&m, 1, NULL, 1, NULL, NULL), -EINVAL);
	assert_int_equal(acpi_setup(&m, 1, many, LAYOUT_MAX_VIRTIO_DEVS + 1, NULL, NULL), -EINVAL);
	struct acpi_mmio_dev bad = d;
	bad.gsi = 24;
	assert_int_equal(acpi_setup(&m, 1, &bad, 1, NULL, NULL), -EINVAL);
	bad = d;
	bad.len = 0;
	assert_int_equal(acpi_setup(&m, 1, &bad, 1, NULL, NULL), -EINVAL);
	bad = d;
	bad.addr = 0xfffff800;		/* crosses 4 GiB */
	assert_int_equal(acpi_setup(&m, 1, &bad, 1, NULL, NULL), -EINVAL);
	bad.addr = 0x100000000ULL;
	assert_int_equal(acpi_setup(&m, 1, &bad, 1, NULL, NULL), -EINVAL);
	/* Nothing was written by the refused calls. */
	const uint8_t *rsdp = guest_mem_ptr(&m, LAYOUT_RSDP_ADDR, 8);
	assert_int_equal(le64(rsdp), 0);
	/* NULL rsdp_gpa is fine. */
	assert_int_equal(acpi_setup(&m, 1, &d, 1, NULL, NULL), 0);
	assert_memory_equal(guest_mem_ptr(&m, LAYOUT_RSDP_ADDR, 8), "RSD PTR ", 8);
	guest_mem_free(&m);
}

static void test_ram_too_small(void **state)
{
	(void)state;
	static uint8_t ram[0x80000];	/* ends below the ACPI area */
	struct guest_mem m;
	guest_mem_init_from(&m, ram, sizeof(ram));
	assert_int_equal(acpi_setup(&m, 1, NULL, 0, NULL, NULL), -EFAULT);
}

/* x86_set_rsdp: the zero page (LINUX64) or hvm_start_info (PVH) field, after
 * x86_setup_boot wrote the rest. */
static void test_set_rsdp(void **state)
{
	(void)state;
	struct guest_mem m;
	char err[128];
	struct x86_kernel k;
	assert_int_equal(guest_mem_init(&m, 128ULL << 20), 0);

	memset(&k, 0, sizeof(k));
	k.mode = X86_ENTRY_LINUX64;
	assert_int_equal(x86_setup_boot(&m, &k, "console=ttyS0", 0, 0, err, sizeof(err)), 0);
	assert_int_equal(le64(guest_mem_ptr(&m, LAYOUT_ZERO_PAGE_START + 0x70, 8)), 0);
	assert_int_equal(x86_set_rsdp(&m, &k, LAYOUT_RSDP_ADDR), 0);
	assert_int_equal(le64(guest_mem_ptr(&m, LAYOUT_ZERO_PAGE_START + 0x70, 8)), 0xe0000);
	assert_int_equal(le16(guest_mem_ptr(&m, LAYOUT_ZERO_PAGE_START + 0x1fe, 2)), 0xaa55);

	memset(&k, 0, sizeof(k));
	k.mode = X86_ENTRY_PVH;
	assert_int_equal(x86_setup_boot(&m, &k, "console=ttyS0", 0, 0, err, sizeof(err)), 0);
	const uint8_t *si = guest_mem_ptr(&m, LAYOUT_PVH_INFO_START, 56);
	assert_int_equal(le32(si), 0x336ec578);
	assert_int_equal(le64(si + 32), 0);
	assert_int_equal(x86_set_rsdp(&m, &k, LAYOUT_RSDP_ADDR), 0);
	assert_int_equal(le64(si + 32), 0xe0000);
	assert_int_equal(le64(si + 40), LAYOUT_PVH_MEMMAP_START);	/* neighbours intact */
	guest_mem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_cpu_no_devices),
		cmocka_unit_test(test_two_cpus_three_devices),
		cmocka_unit_test(test_max_cpus_max_devices),
		cmocka_unit_test(test_rejects_bad_input),
		cmocka_unit_test(test_ram_too_small),
		cmocka_unit_test(test_set_rsdp),
		cmocka_unit_test(test_vmgenid),
		cmocka_unit_test(test_vmgenid_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
