/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86_boot.h - put a Linux kernel into guest RAM and describe the first
 * instruction's machine state (the x86_64 boot ABI of docs/ARCHITECTURE.md, section 4: the
 * same registers and tables as Firecracker).
 *
 * Pure code: no KVM ioctls. Guest memory is touched only through
 * guest_mem_ptr()/guest_mem_write() with every address checked together with
 * its length; the kernel and initrd files are untrusted input.
 *
 * Order of calls (vm.c): x86_load_kernel -> x86_load_initrd (optional) ->
 * x86_setup_boot -> mptable_setup -> per vCPU: KVM_GET_SREGS,
 * x86_boot_regs (boot vCPU only), KVM_SET_SREGS/KVM_SET_REGS.
 */
#ifndef EMBER_X86_BOOT_H
#define EMBER_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "src/guest_mem.h"

enum x86_entry_mode {
	X86_ENTRY_LINUX64,	/* 64-bit boot protocol, RSI = zero page */
	X86_ENTRY_PVH,		/* Xen PVH direct boot, 32-bit, RBX = hvm_start_info */
};

/* Boot GDT slots: NULL, CODE, DATA, TSS at LAYOUT_GDT_START. */
#define X86_GDT_ENTRIES   4
#define X86_SEL_CODE      0x08
#define X86_SEL_DATA      0x10
#define X86_SEL_TSS       0x18

struct x86_kernel {
	enum x86_entry_mode mode;
	uint64_t entry;        /* guest entry point (GPA) */
	uint64_t kernel_end;   /* first GPA after the image, including what a
				* bzImage needs to decompress (pref_address +
				* init_size); the initrd goes above this */
	bool is_bzimage;
	/* bzImage: the setup header bytes to copy into the zero page (0x1f1..end) */
	uint8_t setup_header[0x80];
	size_t setup_header_len;
	uint16_t boot_protocol; /* bzImage header version (e.g. 0x020f); 0 for ELF */
	uint32_t cmdline_max;   /* longest command line (bytes without NUL) the
				 * kernel accepts: bzImage cmdline_size, else
				 * LAYOUT_CMDLINE_MAX - 1; 0 = no kernel limit */
};

/*
 * Load the kernel in fd (read with pread only; the offset is not used):
 *  - ELF64 x86_64 ET_EXEC vmlinux: each PT_LOAD at p_paddr (>= 1 MiB), bss
 *    zeroed; entry = XEN_ELFNOTE_PHYS32_ENTRY from a "Xen" PT_NOTE (mode PVH)
 *    or else e_entry (mode LINUX64). The entry must lie inside a segment.
 *  - bzImage (boot protocol >= 2.12, LOADED_HIGH, XLF_KERNEL_64): the
 *    protected-mode part at LAYOUT_HIMEM_START, entry at +0x200, mode LINUX64.
 * Detected by magic. Every size/offset is checked against the file size,
 * the other segments and guest RAM.
 * Returns 0, or -ENOEXEC (not a kernel we can boot: bad magic, 32-bit ELF,
 * old protocol), -EINVAL (malformed, truncated, overlapping, outside guest
 * RAM), -ENOMEM, -errno of fstat/pread; on error `err` holds one line
 * starting with "kernel: ". Guest RAM may be partly written on error.
 */
int x86_load_kernel(const struct guest_mem *mem, int fd, struct x86_kernel *k,
		    char *err, size_t errlen);

/*
 * Copy the initrd in fd to the top of low RAM (below the MMIO gap), start
 * aligned down to 4 KiB, and above k->kernel_end. Sets *gpa and *size.
 * Returns 0, -ENOMEM when it does not fit (err names the sizes), -EINVAL for
 * an empty or shrinking file, -errno of fstat/pread; err starts "initrd: ".
 */
int x86_load_initrd(const struct guest_mem *mem, int fd, const struct x86_kernel *k,
		    uint64_t *gpa, uint64_t *size, char *err, size_t errlen);

/*
 * Write everything the guest reads before its first instruction:
 * the command line at LAYOUT_CMDLINE_START; for LINUX64 the zero page at
 * LAYOUT_ZERO_PAGE_START (setup header from the bzImage or built for an
 * ELF, loader 0xff, cmdline, ramdisk, e820); for PVH hvm_start_info v1 at
 * LAYOUT_PVH_INFO_START, the initrd module at LAYOUT_PVH_MODLIST_START and
 * the memory map at LAYOUT_PVH_MEMMAP_START (rsdp 0); in both modes the
 * identity page tables (PML4/PDPT/PD, first GiB in 2 MiB pages), the GDT of
 * x86_boot_gdt(k->mode) at LAYOUT_GDT_START and an empty 8-byte IDT. e820: [0, EBDA) RAM, [EBDA, 0xe0000) reserved,
 * [1 MiB, low end) RAM, [4 GiB, ...) RAM when RAM is split by the gap.
 * initrd_size 0 means no initrd. cmdline NULL means "". Returns 0, -EINVAL
 * (command line longer than LAYOUT_CMDLINE_MAX - 1 or k->cmdline_max; low
 * RAM ending at or below 1 MiB; initrd not inside low RAM) or -EFAULT;
 * err ("boot: ...") names the length and the limit / the addresses.
 */
int x86_setup_boot(const struct guest_mem *mem, const struct x86_kernel *k, const char *cmdline,
		   uint64_t initrd_gpa, uint64_t initrd_size, char *err, size_t errlen);

/*
 * Tell the guest where the ACPI RSDP is (added for acpi.c): LINUX64 writes
 * boot_params.acpi_rsdp_addr (zero page offset 0x070), PVH writes
 * hvm_start_info.rsdp_paddr. Call after x86_setup_boot, which writes both
 * structures with 0 there. Returns 0 or -EFAULT.
 */
int x86_set_rsdp(const struct guest_mem *mem, const struct x86_kernel *k, uint64_t rsdp);

/*
 * Fill regs and sregs of the boot vCPU. sregs must come from KVM_GET_SREGS
 * (apic_base, interrupt bitmap and LDT are kept); everything else the boot
 * state needs is assigned, not OR-ed:
 *  LINUX64: EFER LME|LMA, CR0 PE|ET|PG, CR4 PAE, CR3 = PML4, CS = 0x08 (L=1),
 *           DS/ES/FS/GS/SS = 0x10, TR = 0x18, GDTR/IDTR, RIP = entry,
 *           RSP = RBP = LAYOUT_BOOT_STACK_POINTER, RSI = zero page, RFLAGS 0x2.
 *  PVH:     CR0 PE|ET, CR4 0, EFER 0, CS = 0x08 flat 32-bit 4 GiB, data
 *           segments = 0x10 flat, TR = 0x18, RIP = entry, RBX = start info,
 *           RFLAGS 0x2 (PVH ABI, xen/include/public/arch-x86/hvm/start_info.h).
 */
void x86_boot_regs(const struct x86_kernel *k, struct kvm_regs *regs, struct kvm_sregs *sregs);

/* The 4 boot GDT descriptors x86_setup_boot writes for `mode`; x86_boot_regs
 * derives the hidden segment state from the same values.
 *  LINUX64: NULL, CODE flags 0xa09b, DATA 0xc093, TSS 0x808b (base 0, limit
 *           0xfffff; Firecracker's values).
 *  PVH:     NULL, CODE 0xc09b (32-bit), DATA 0xc093, TSS 0x008b limit 0x67. */
void x86_boot_gdt(enum x86_entry_mode mode, uint64_t gdt[X86_GDT_ENTRIES]);

#endif
