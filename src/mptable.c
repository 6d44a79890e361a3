// SPDX-License-Identifier: Apache-2.0
/*
 * mptable.c - Intel MultiProcessor Specification 1.4 (May 1997) tables.
 *
 * Chapter 4 defines the layouts used here: the 16-byte floating pointer
 * structure (4.1), the configuration table header (4.2) and the base table
 * entries (4.3: processor, bus, I/O APIC, I/O and local interrupt
 * assignment). Linux (arch/x86/kernel/mpparse.c) scans the last KiB of base
 * memory, where LAYOUT_EBDA_START points, and uses these tables when there
 * is no ACPI MADT.
 */
#include "src/mptable.h"
#include "src/layout.h"
#include "src/util.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define MP_SPEC_REV      4         /* version 1.4 */
#define MP_LAPIC_VERSION 0x14      /* integrated APIC, as KVM's LAPIC reports */
#define MP_IOAPIC_VERSION 0x11     /* 82093AA-style, KVM's IOAPIC */
#define MP_IOAPIC_PINS   24
#define MP_CPU_SIGNATURE 0x600     /* family 6; Linux only prints it */
#define MP_CPU_FEATURES  0x201     /* CPUID.1:EDX FPU | APIC */

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_IOINTR = 3, MP_LINTR = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_SMI = 2, MP_EXTINT = 3 };
#define MP_CPU_EN 0x1
#define MP_CPU_BP 0x2
#define MP_ALL_LAPICS 0xff

struct mp_fps {                     /* 4.1 floating pointer */
	char signature[4];          /* "_MP_" */
	uint32_t config;            /* GPA of the config table */
	uint8_t length;             /* in 16-byte units: 1 */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5];         /* feature1 0: a config table is present */
} __attribute__((packed));

struct mp_config {                  /* 4.2 configuration table header */
	char signature[4];          /* "PCMP" */
	uint16_t length;            /* header + base entries */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_cpu {                     /* 4.3.1 */
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t signature, features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {                     /* 4.3.2 */
	uint8_t type, bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mp_ioapic {                  /* 4.3.3 */
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t addr;
} __attribute__((packed));

struct mp_intr {                    /* 4.3.4 / 4.3.5 (same layout) */
	uint8_t type, irq_type;
	uint16_t flags;             /* 0: polarity/trigger conform to the bus */
	uint8_t src_bus, src_irq, dst_apic, dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_fps) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header is 44 bytes");
_Static_assert(sizeof(struct mp_cpu) == 20 && sizeof(struct mp_bus) == 8 &&
	       sizeof(struct mp_ioapic) == 8 && sizeof(struct mp_intr) == 8, "MP entry sizes");

#define MP_MAX_SIZE (sizeof(struct mp_fps) + sizeof(struct mp_config) + \
		     LAYOUT_MAX_VCPUS * sizeof(struct mp_cpu) + sizeof(struct mp_bus) + \
		     sizeof(struct mp_ioapic) + (MP_IOAPIC_PINS + 2) * sizeof(struct mp_intr))
/* Everything must stay inside the KiB the guest scans (and the e820 hole). */
_Static_assert(MP_MAX_SIZE <= 0x400, "MP table does not fit in the last KiB of base memory");
_Static_assert(LAYOUT_MAX_VCPUS < MP_ALL_LAPICS, "APIC ids must not collide with broadcast");

int mptable_setup(const struct guest_mem *mem, unsigned ncpus)
{
	uint8_t buf[MP_MAX_SIZE];
	struct mp_fps fps = { .signature = "_MP_", .length = 1, .spec_rev = MP_SPEC_REV };
	struct mp_config cfg = {
		.signature = "PCMP", .spec_rev = MP_SPEC_REV,
		.oem = "EMBER   ", .product = "MICROVM     ",
		.lapic = (uint32_t)LAYOUT_LAPIC_START,
	};
	size_t off = sizeof(fps) + sizeof(cfg);
	uint16_t count = 0;

	if (ncpus < 1 || ncpus > LAYOUT_MAX_VCPUS)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));

#define MP_PUT(entry) do { memcpy(buf + off, &(entry), sizeof(entry)); \
			   off += sizeof(entry); count++; } while (0)
	/* Entries sorted by type, as 4.3 requires. */
	for (unsigned i = 0; i < ncpus; i++) {
		struct mp_cpu c = {
			.type = MP_PROCESSOR, .apic_id = (uint8_t)i, .apic_ver = MP_LAPIC_VERSION,
			.flags = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0),
			.signature = MP_CPU_SIGNATURE, .features = MP_CPU_FEATURES,
		};
		MP_PUT(c);
	}
	struct mp_bus bus = { .type = MP_BUS, .bus_id = 0, .bus_type = "ISA   " };
	MP_PUT(bus);
	uint8_t ioapic_id = (uint8_t)ncpus;	/* first id after the LAPICs */
	struct mp_ioapic io = { .type = MP_IOAPIC, .apic_id = ioapic_id, .apic_ver = MP_IOAPIC_VERSION,
				.flags = 1, .addr = (uint32_t)LAYOUT_IOAPIC_START };
	MP_PUT(io);
	for (unsigned irq = 0; irq < MP_IOAPIC_PINS; irq++) {
		struct mp_intr it = { .type = MP_IOINTR, .irq_type = MP_INT, .src_bus = 0,
				      .src_irq = (uint8_t)irq, .dst_apic = ioapic_id, .dst_pin = (uint8_t)irq };
		MP_PUT(it);
	}
	/* Virtual wire: the 8259 on LINT0, NMI on LINT1 of every LAPIC (5.1). */
	struct mp_intr l0 = { .type = MP_LINTR, .irq_type = MP_EXTINT, .dst_apic = MP_ALL_LAPICS, .dst_pin = 0 };
	struct mp_intr l1 = { .type = MP_LINTR, .irq_type = MP_NMI, .dst_apic = MP_ALL_LAPICS, .dst_pin = 1 };
	MP_PUT(l0);
	MP_PUT(l1);
#undef MP_PUT

	cfg.length = (uint16_t)(off - sizeof(fps));
	cfg.entry_count = count;
	memcpy(buf + sizeof(fps), &cfg, sizeof(cfg));
	buf[sizeof(fps) + offsetof(struct mp_config, checksum)] =
		util_checksum8(buf + sizeof(fps), cfg.length);

	fps.config = (uint32_t)(LAYOUT_EBDA_START + sizeof(fps));
	memcpy(buf, &fps, sizeof(fps));
	buf[offsetof(struct mp_fps, checksum)] = util_checksum8(buf, sizeof(fps));

	return guest_mem_write(mem, LAYOUT_EBDA_START, buf, off);
}
