/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi.h - the ACPI tables a guest kernel reads to find its CPUs, the IOAPIC
 * and the devices (ACPI 6.4), written next to the MP table as Firecracker
 * does: kernels built without CONFIG_X86_MPPARSE (distribution kernels) only
 * look at the MADT, kernels without ACPI only at the MP table.
 *
 * The machine is "hardware-reduced" (ACPI 6.4 section 4.1): no PM1/GPE
 * registers, no SCI, no FACS. Everything the guest needs is in static
 * tables: RSDP -> XSDT -> {FADT -> DSDT, MADT}.
 */
#ifndef EMBER_ACPI_H
#define EMBER_ACPI_H

#include <stdint.h>

#include "src/guest_mem.h"

/* One virtio-mmio transport, described in the DSDT as _SB_.Vnnn with
 * _HID "LNRO0005" (the id Linux's virtio_mmio driver matches), a
 * Memory32Fixed(addr, len) and an edge, active-high Interrupt(gsi). */
struct acpi_mmio_dev {
	uint64_t addr;
	uint64_t len;
	uint32_t gsi;
};

/* The VMGenID device (src/vmgenid.h) as the DSDT describes it:
 * \_SB_.VGEN with _HID "VMGENCTR" (the id Linux's vmgenid driver matches),
 * _CID and _DDN "VM_Gen_Counter" (the specification's), and
 * ADDR = Package { low 32 bits of addr, high 32 bits }; and \_SB_.GED_, a
 * Generic Event Device (_HID "ACPI0013") with an edge, active-high
 * Interrupt(gsi) whose Method(_EVT, 1) does Notify(\_SB_.VGEN, 0x80). */
struct acpi_vmgenid {
	uint64_t addr;
	uint32_t gsi;
};

/*
 * Write the ACPI tables into guest RAM:
 *  - DSDT, FADT, MADT and XSDT from LAYOUT_ACPI_TABLES_START (right after the
 *    KiB the MP table may use) upwards, 16-byte aligned, all below
 *    LAYOUT_VMGENID_ADDR (the e820 reserved hole; the page from there up to
 *    the RSDP holds the VM generation id);
 *  - the RSDP (revision 2, OEM id "EMBER ") at LAYOUT_RSDP_ADDR, which Linux
 *    finds through boot_params.acpi_rsdp_addr / hvm_start_info.rsdp_paddr
 *    (see x86_set_rsdp) or by scanning 0xE0000..0xFFFFF.
 * XSDT lists FADT and MADT. FADT (revision 6.4): flags HW_REDUCED_ACPI |
 * PWR_BUTTON | SLP_BUTTON, IAPC_BOOT_ARCH "VGA not present", hypervisor
 * vendor "EMBERKVM", X_DSDT -> DSDT. MADT: LAPIC at LAYOUT_LAPIC_START, one
 * enabled Processor Local APIC per vCPU (UID = APIC id = index), one IOAPIC
 * (id ncpus, as the MP table; LAYOUT_IOAPIC_START, GSI base 0), no interrupt
 * source overrides (KVM routes ISA IRQ n to IOAPIC pin n, as the MP table
 * says). DSDT: \_SB_.COM1 (PNP0501, I/O 0x3f8/8, GSI 4), \_SB_.PS2_
 * (PNP0303, I/O 0x60 and 0x64, GSI 1) and devs[0..ndevs) as V000, V001, ...
 * in array order (the guest probes them in that order: the root drive
 * first), then, when vg is not NULL, VGEN and GED_ as above. Every table's
 * checksum and length is correct.
 * Called once by vm.c after mptable_setup. *rsdp_gpa (may be NULL) gets the
 * RSDP address. Returns 0, -EINVAL (ncpus outside 1..LAYOUT_MAX_VCPUS, more
 * than LAYOUT_MAX_VIRTIO_DEVS devices, a device not inside 32-bit address
 * space, a zero or > 4 GiB length, a GSI outside the IOAPIC's 24 pins; a
 * VMGenID address that is not 8-byte aligned, a VMGenID GSI outside the
 * IOAPIC's pins or one a device uses), -EFAULT (guest RAM does not cover the
 * tables).
 */
int acpi_setup(const struct guest_mem *mem, unsigned ncpus, const struct acpi_mmio_dev *devs,
	       unsigned ndevs, const struct acpi_vmgenid *vg, uint64_t *rsdp_gpa);

#endif
