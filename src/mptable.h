/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mptable.h - Intel MultiProcessor Specification 1.4 tables, so the guest
 * finds its CPUs, the IOAPIC and the IRQ routing without ACPI.
 */
#ifndef EMBER_MPTABLE_H
#define EMBER_MPTABLE_H

#include "src/guest_mem.h"

/*
 * Write an MP floating pointer at LAYOUT_EBDA_START (0x9fc00, inside the
 * last KiB of base memory the guest scans, MP spec 4) followed by the MP
 * configuration table: ncpus processor entries (APIC ids 0..ncpus-1, CPU 0
 * the BSP, LAPIC at LAYOUT_LAPIC_START), one ISA bus, the IOAPIC (id ncpus,
 * LAYOUT_IOAPIC_START, 24 pins), I/O interrupt entries IRQ n -> pin n for
 * n = 0..23, and local interrupt entries ExtINT -> LINT0, NMI -> LINT1.
 * Both checksums are correct. Called once by vm.c after x86_setup_boot.
 * Returns 0, -EINVAL for ncpus outside 1..LAYOUT_MAX_VCPUS, -EFAULT when
 * guest RAM does not cover [LAYOUT_EBDA_START, +1 KiB).
 */
int mptable_setup(const struct guest_mem *mem, unsigned ncpus);

#endif
