/* SPDX-License-Identifier: Apache-2.0 */
/*
 * layout.h - every guest-physical constant of ember's x86_64 guest ABI.
 *
 * The values match Firecracker's so kernels and tools built for it boot
 * unchanged. Nothing else in the tree may spell a guest address.
 */
#ifndef EMBER_LAYOUT_H
#define EMBER_LAYOUT_H

#define LAYOUT_GDT_START         0x500ULL
#define LAYOUT_IDT_START         0x520ULL
#define LAYOUT_PVH_INFO_START    0x6000ULL
#define LAYOUT_PVH_MODLIST_START 0x6040ULL
#define LAYOUT_ZERO_PAGE_START   0x7000ULL
#define LAYOUT_BOOT_STACK_POINTER 0x8ff0ULL
#define LAYOUT_PML4_START        0x9000ULL
#define LAYOUT_PDPT_START        0xa000ULL
#define LAYOUT_PD_START          0xb000ULL
#define LAYOUT_CMDLINE_START     0x20000ULL
#define LAYOUT_CMDLINE_MAX       4096ULL      /* bytes including the NUL */
#define LAYOUT_EBDA_START        0x9fc00ULL   /* MP table lives here */
#define LAYOUT_EBDA_END          0xe0000ULL   /* end of the reserved hole */
#define LAYOUT_HIMEM_START       0x100000ULL  /* lowest kernel address */
#define LAYOUT_MMIO_GAP_START    0xC0000000ULL
#define LAYOUT_MMIO_GAP_END      0x100000000ULL
#define LAYOUT_BOOT_TIMER_ADDR   0xC0000000ULL
#define LAYOUT_BOOT_TIMER_SIZE   0x1000ULL
#define LAYOUT_BOOT_TIMER_MAGIC  123
#define LAYOUT_VIRTIO_MMIO_BASE  0xC0001000ULL
#define LAYOUT_VIRTIO_MMIO_SIZE  0x1000ULL
#define LAYOUT_VIRTIO_IRQ_BASE   5U
#define LAYOUT_MAX_VIRTIO_DEVS   19U          /* IRQs 5..23 on the IOAPIC */
#define LAYOUT_IOAPIC_START      0xFEC00000ULL
#define LAYOUT_LAPIC_START       0xFEE00000ULL
#define LAYOUT_KVM_TSS_ADDR      0xFFFBD000ULL
#define LAYOUT_KVM_IDENTITY_MAP  0xFFFBC000ULL

#define LAYOUT_SERIAL_PORT       0x3f8U
#define LAYOUT_SERIAL_IRQ        4U
#define LAYOUT_I8042_DATA_PORT   0x60U
#define LAYOUT_I8042_CMD_PORT    0x64U
#define LAYOUT_I8042_IRQ         1U
#define LAYOUT_CMOS_PORT         0x70U        /* index 0x70, data 0x71 */

#define LAYOUT_MAX_VCPUS         32U

/* Appended by x86_boot: PVH memory map right after the one module entry
 * (hvm_start_info 0x6000..0x6038, modlist 0x6040..0x6060), at most 4 e820
 * entries of 24 bytes. */
#define LAYOUT_PVH_MEMMAP_START  0x6060ULL
#define LAYOUT_E820_MAX_ENTRIES  4U
/* Identity map built by x86_setup_boot: 512 x 2 MiB pages = the first 1 GiB. */
#define LAYOUT_IDENTITY_MAP_SIZE 0x40000000ULL

/* Appended by acpi: the ACPI tables follow the KiB from LAYOUT_EBDA_START
 * that the MP table may use (mptable.c asserts it stays inside), the RSDP
 * sits at the start of the BIOS area Linux scans (as Firecracker's). */
#define LAYOUT_ACPI_TABLES_START 0xa0000ULL
#define LAYOUT_RSDP_ADDR         0xe0000ULL

/* Appended by vmgenid: the VM generation id (16 bytes at the start of the
 * last page of the reserved hole, below the RSDP: guest RAM the e820 map
 * does not give the guest, so it sits in the memory file of a snapshot), and
 * the IOAPIC pin of the Generic Event Device that tells the guest it changed
 * (ISA IRQ 3, COM2's, which this machine does not have). */
#define LAYOUT_VMGENID_ADDR      0xdf000ULL
#define LAYOUT_VMGENID_SIZE      0x1000ULL
#define LAYOUT_VMGENID_GSI       3U

#endif
