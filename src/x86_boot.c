// SPDX-License-Identifier: Apache-2.0
/*
 * x86_boot.c - kernel/initrd loading (bzImage here, ELF in x86_elf.c), zero
 * page or PVH start info, e820,
 * identity page tables, boot GDT and the boot vCPU's registers.
 *
 * References: Linux Documentation/x86/boot.rst (boot protocol, 64-bit entry),
 * Documentation/x86/zero-page.rst, Xen's public/arch-x86/hvm/start_info.h
 * (PVH), Intel SDM vol. 3 sections
 * 3.4.5 (segment descriptors) and 4.5 (4-level paging).
 *
 * The kernel and initrd files are untrusted: every offset and size read from
 * them is checked against the file size and, through guest_mem_ptr(), against
 * guest RAM before anything is copied. ember only runs on x86_64 hosts, so the
 * host byte order is the guest's (little endian).
 */
#include "src/x86_boot.h"
#include "src/x86_elf.h"
#include "src/layout.h"
#include "src/util.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define X86_E820_RAM       1
#define X86_E820_RESERVED  2

/* boot.rst: the 64-bit entry of a bzImage is 0x200 past the protected-mode
 * code start (startup_64 follows startup_32). */
#define X86_BZ_ENTRY64_OFFSET 0x200
#define X86_BZ_MIN_PROTOCOL   0x020c   /* 2.12: xloadflags / XLF_KERNEL_64 */
#define X86_BZ_HDR_MIN_END    0x268    /* through init_size (protocol 2.10) */
#define X86_BZ_PROBE_LEN      0x400    /* boot sector + the whole setup header */
#define X86_HDRS_MAGIC        0x53726448U  /* "HdrS" */
#define X86_BOOT_FLAG         0xaa55

/* PVH start info, version 1 (start_info.h); layouts are ABI. */
#define X86_PVH_MAGIC 0x336ec578U
struct x86_pvh_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
struct x86_pvh_module {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
struct x86_pvh_memmap {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct x86_pvh_start_info) == 56, "hvm_start_info v1 is 56 bytes");
_Static_assert(sizeof(struct x86_pvh_module) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(struct x86_pvh_memmap) == 24, "hvm_memmap_table_entry is 24 bytes");
_Static_assert(sizeof(struct boot_params) == 4096, "zero page is one page");
_Static_assert(LAYOUT_PVH_INFO_START + sizeof(struct x86_pvh_start_info) <= LAYOUT_PVH_MODLIST_START,
	       "PVH start info overlaps the module list");
_Static_assert(LAYOUT_PVH_MODLIST_START + sizeof(struct x86_pvh_module) <= LAYOUT_PVH_MEMMAP_START,
	       "PVH module list overlaps the memory map");
_Static_assert(LAYOUT_PVH_MEMMAP_START + LAYOUT_E820_MAX_ENTRIES * sizeof(struct x86_pvh_memmap) <=
	       LAYOUT_ZERO_PAGE_START, "PVH memory map runs into the zero page");
_Static_assert(LAYOUT_IDT_START >= LAYOUT_GDT_START + X86_GDT_ENTRIES * 8, "GDT overlaps IDT");

struct x86_e820 {
	uint64_t addr, size;
	uint32_t type;
};

static int x86_file_size(int fd, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	*size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/* ---- bzImage ------------------------------------------------------------ */

/* boot.rst "Loading the rest of the kernel": the protected-mode code starts
 * at (setup_sects + 1) * 512 in the file and is syssize * 16 bytes long. */
static int x86_load_bzimage(const struct guest_mem *mem, int fd, uint64_t fsize, const uint8_t *b,
			    size_t plen, struct x86_kernel *k, char *err, size_t errlen)
{
	uint16_t ver = util_le16(b + 0x206);
	if (ver < X86_BZ_MIN_PROTOCOL)
		return util_err(err, errlen, -ENOEXEC,
				"kernel: bzImage boot protocol %u.%02u is older than 2.12 (no 64-bit entry)",
				ver >> 8, ver & 0xff);
	/* The setup header ends at 0x202 + the jump offset byte at 0x201. */
	size_t hdr_end = 0x202 + (size_t)b[0x201];
	if (hdr_end < X86_BZ_HDR_MIN_END || hdr_end > plen)
		return util_err(err, errlen, -EINVAL,
				"kernel: bzImage setup header ends at %#zx (protocol %u.%02u needs %#x, file has %zu bytes)",
				hdr_end, ver >> 8, ver & 0xff, X86_BZ_HDR_MIN_END, plen);
	if (util_le16(b + 0x1fe) != X86_BOOT_FLAG)
		return util_err(err, errlen, -ENOEXEC, "kernel: bzImage boot_flag is %#x, not 0xaa55",
				util_le16(b + 0x1fe));
	if (!(b[0x211] & LOADED_HIGH))
		return util_err(err, errlen, -ENOEXEC, "kernel: zImage (not LOADED_HIGH) is not supported");
	if (!(util_le16(b + 0x236) & XLF_KERNEL_64))
		return util_err(err, errlen, -ENOEXEC,
				"kernel: bzImage has no 64-bit entry point (XLF_KERNEL_64 clear)");

	unsigned setup_sects = b[0x1f1] ? b[0x1f1] : 4;	/* 0 means 4 (boot.rst) */
	uint64_t code_off = (uint64_t)(setup_sects + 1) * 512;
	uint64_t code_len = (uint64_t)util_le32(b + 0x1f4) * 16;
	if (code_off >= fsize)
		return util_err(err, errlen, -EINVAL,
				"kernel: bzImage setup_sects %u puts the kernel at offset %#llx, past the end of the %llu-byte file",
				setup_sects, (unsigned long long)code_off, (unsigned long long)fsize);
	if (code_len == 0 || code_len > fsize - code_off)
		return util_err(err, errlen, -EINVAL,
				"kernel: bzImage truncated: syssize says %llu bytes of kernel at offset %#llx, the file has %llu",
				(unsigned long long)code_len, (unsigned long long)code_off,
				(unsigned long long)(fsize - code_off));
	uint8_t *dst = guest_mem_ptr(mem, LAYOUT_HIMEM_START, code_len);
	if (!dst)
		return util_err(err, errlen, -EINVAL,
				"kernel: bzImage at %#llx (size %#llx) is outside guest memory (low RAM ends at %#llx)",
				(unsigned long long)LAYOUT_HIMEM_START, (unsigned long long)code_len,
				(unsigned long long)guest_mem_low_end(mem));

	/* The decompressor runs at pref_address (LOAD_PHYSICAL_ADDR; a
	 * relocatable kernel loaded lower also moves up there, compressed/
	 * head_64.S) and needs init_size bytes from there: that range must be
	 * RAM and stay clear of the initrd. */
	uint64_t pref = util_le64(b + 0x258), init_size = util_le32(b + 0x260);
	uint64_t run = pref > LAYOUT_HIMEM_START ? pref : LAYOUT_HIMEM_START;
	uint64_t low_end = guest_mem_low_end(mem);
	if (run > low_end || init_size > low_end - run)
		return util_err(err, errlen, -EINVAL,
				"kernel: bzImage needs %#llx bytes at %#llx to decompress (init_size) but low RAM ends at %#llx",
				(unsigned long long)init_size, (unsigned long long)run,
				(unsigned long long)low_end);

	int rc = util_pread_full(fd, dst, code_len, code_off);
	if (rc)
		return util_err(err, errlen, rc, "kernel: reading bzImage: %s",
				rc == -EINVAL ? "file truncated" : strerror(-rc));

	memset(k, 0, sizeof(*k));
	k->mode = X86_ENTRY_LINUX64;
	k->is_bzimage = true;
	k->entry = LAYOUT_HIMEM_START + X86_BZ_ENTRY64_OFFSET;
	k->kernel_end = LAYOUT_HIMEM_START + code_len;
	if (run + init_size > k->kernel_end)
		k->kernel_end = run + init_size;
	k->boot_protocol = ver;
	k->setup_header_len = hdr_end - 0x1f1;
	if (k->setup_header_len > sizeof(k->setup_header))
		k->setup_header_len = sizeof(k->setup_header);
	memcpy(k->setup_header, b + 0x1f1, k->setup_header_len);
	/* cmdline_size exists from protocol 2.06 (always, given >= 2.12). */
	uint32_t csz = util_le32(b + 0x238);
	k->cmdline_max = csz < LAYOUT_CMDLINE_MAX - 1 ? csz : LAYOUT_CMDLINE_MAX - 1;
	return 0;
}

int x86_load_kernel(const struct guest_mem *mem, int fd, struct x86_kernel *k, char *err, size_t errlen)
{
	uint8_t probe[X86_BZ_PROBE_LEN];
	uint64_t fsize = 0;
	int rc = x86_file_size(fd, &fsize);
	if (rc)
		return util_err(err, errlen, rc, "kernel: fstat: %s", strerror(-rc));
	size_t plen = fsize < sizeof(probe) ? (size_t)fsize : sizeof(probe);
	rc = util_pread_full(fd, probe, plen, 0);
	if (rc)
		return util_err(err, errlen, rc, "kernel: reading header: %s",
				rc == -EINVAL ? "file truncated" : strerror(-rc));

	if (plen >= SELFMAG && !memcmp(probe, ELFMAG, SELFMAG))
		return x86_load_elf(mem, fd, fsize, probe, plen, k, err, errlen);
	if (plen >= 0x206 && util_le32(probe + 0x202) == X86_HDRS_MAGIC)
		return x86_load_bzimage(mem, fd, fsize, probe, plen, k, err, errlen);
	return util_err(err, errlen, -ENOEXEC, "kernel: not an ELF vmlinux or bzImage (bad magic)");
}

/* ---- initrd --------------------------------------------------------------- */

int x86_load_initrd(const struct guest_mem *mem, int fd, const struct x86_kernel *k,
		    uint64_t *gpa, uint64_t *size, char *err, size_t errlen)
{
	uint64_t fsize = 0;
	int rc = x86_file_size(fd, &fsize);
	if (rc)
		return util_err(err, errlen, rc, "initrd: fstat: %s", strerror(-rc));
	if (fsize == 0)
		return util_err(err, errlen, -EINVAL, "initrd: file is empty");
	uint64_t low_end = guest_mem_low_end(mem);
	/* Top of low RAM, start aligned down to a page (boot.rst suggests the
	 * highest address; the PVH module has no alignment rule). */
	if (fsize > low_end || ((low_end - fsize) & ~0xfffULL) < k->kernel_end)
		return util_err(err, errlen, -ENOMEM,
				"initrd: %llu bytes do not fit between the kernel end %#llx and the end of low RAM %#llx",
				(unsigned long long)fsize, (unsigned long long)k->kernel_end,
				(unsigned long long)low_end);
	uint64_t at = (low_end - fsize) & ~0xfffULL;
	rc = guest_mem_load_file(mem, at, fd, 0, fsize);
	if (rc == -EFAULT)
		return util_err(err, errlen, -ENOMEM, "initrd: %#llx (size %llu) is outside guest memory",
				(unsigned long long)at, (unsigned long long)fsize);
	if (rc)
		return util_err(err, errlen, rc, "initrd: reading %llu bytes: %s", (unsigned long long)fsize,
				rc == -EINVAL ? "file shrank" : strerror(-rc));
	*gpa = at;
	*size = fsize;
	return 0;
}

/* ---- boot tables --------------------------------------------------------- */

/* Segment descriptor (SDM 3.4.5): `flags` holds the access byte in bits 0-7
 * and the G/DB/L/AVL nibble in bits 12-15: 0xa09b is a present 64-bit code
 * segment with 4 KiB granularity. */
static uint64_t x86_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (limit & 0xffffu) | ((uint64_t)(limit & 0xf0000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40);
}

void x86_boot_gdt(enum x86_entry_mode mode, uint64_t gdt[X86_GDT_ENTRIES])
{
	gdt[0] = 0;
	if (mode == X86_ENTRY_PVH) {
		/* PVH ABI: 32-bit flat 4 GiB code/data, 32-bit TSS limit 0x67. */
		gdt[1] = x86_gdt_entry(0xc09b, 0, 0xfffff);
		gdt[2] = x86_gdt_entry(0xc093, 0, 0xfffff);
		gdt[3] = x86_gdt_entry(0x008b, 0, 0x67);
	} else {
		/* 64-bit code (L=1), flat data, busy TSS (Firecracker values). */
		gdt[1] = x86_gdt_entry(0xa09b, 0, 0xfffff);
		gdt[2] = x86_gdt_entry(0xc093, 0, 0xfffff);
		gdt[3] = x86_gdt_entry(0x808b, 0, 0xfffff);
	}
}

/* Memory map shared by the zero page and the PVH memmap. Returns the count. */
static unsigned x86_e820_build(const struct guest_mem *mem, struct x86_e820 *e)
{
	unsigned n = 0;
	uint64_t low_end = guest_mem_low_end(mem);
	e[n++] = (struct x86_e820){ 0, LAYOUT_EBDA_START, X86_E820_RAM };
	e[n++] = (struct x86_e820){ LAYOUT_EBDA_START, LAYOUT_EBDA_END - LAYOUT_EBDA_START,
				    X86_E820_RESERVED };
	e[n++] = (struct x86_e820){ LAYOUT_HIMEM_START, low_end - LAYOUT_HIMEM_START, X86_E820_RAM };
	for (unsigned i = 0; i < mem->nregions; i++)
		if (mem->regions[i].gpa >= LAYOUT_MMIO_GAP_END)
			e[n++] = (struct x86_e820){ mem->regions[i].gpa, mem->regions[i].size, X86_E820_RAM };
	return n;
}

static int x86_write_tables(const struct guest_mem *mem, enum x86_entry_mode mode)
{
	uint64_t pt[512];
	uint64_t gdt[X86_GDT_ENTRIES], idt = 0;
	int rc;

	/* Identity map of the first GiB (SDM 4.5): PML4[0] -> PDPT, PDPT[0]
	 * -> PD, 512 PD entries of 2 MiB pages. Flags: P|RW (+PS). */
	memset(pt, 0, sizeof(pt));
	pt[0] = LAYOUT_PDPT_START | 0x3;
	rc = guest_mem_write(mem, LAYOUT_PML4_START, pt, sizeof(pt));
	pt[0] = LAYOUT_PD_START | 0x3;
	rc = rc ? rc : guest_mem_write(mem, LAYOUT_PDPT_START, pt, sizeof(pt));
	for (uint64_t i = 0; i < 512; i++)
		pt[i] = (i << 21) | 0x83;
	rc = rc ? rc : guest_mem_write(mem, LAYOUT_PD_START, pt, sizeof(pt));

	x86_boot_gdt(mode, gdt);
	rc = rc ? rc : guest_mem_write(mem, LAYOUT_GDT_START, gdt, sizeof(gdt));
	rc = rc ? rc : guest_mem_write(mem, LAYOUT_IDT_START, &idt, sizeof(idt));
	return rc;
}

static int x86_write_zero_page(const struct guest_mem *mem, const struct x86_kernel *k, size_t cmdlen,
			       uint64_t initrd_gpa, uint64_t initrd_size, const struct x86_e820 *e,
			       unsigned ne)
{
	struct boot_params bp;

	memset(&bp, 0, sizeof(bp));
	if (k->is_bzimage) {
		size_t len = k->setup_header_len;
		if (len > 0x290 - 0x1f1)
			len = 0x290 - 0x1f1;
		memcpy((uint8_t *)&bp + 0x1f1, k->setup_header, len);
	}
	/* boot.rst "Details of header fields": fields a loader must set. */
	bp.hdr.type_of_loader = 0xff;	/* undefined loader */
	bp.hdr.boot_flag = X86_BOOT_FLAG;
	bp.hdr.header = X86_HDRS_MAGIC;
	bp.hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE_START;
	bp.ext_cmd_line_ptr = (uint32_t)(LAYOUT_CMDLINE_START >> 32);
	bp.hdr.cmdline_size = (uint32_t)(cmdlen + 1);
	bp.hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp.hdr.ramdisk_size = (uint32_t)initrd_size;
	bp.ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp.ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	for (unsigned i = 0; i < ne; i++) {
		bp.e820_table[i].addr = e[i].addr;
		bp.e820_table[i].size = e[i].size;
		bp.e820_table[i].type = e[i].type;
	}
	bp.e820_entries = (uint8_t)ne;
	return guest_mem_write(mem, LAYOUT_ZERO_PAGE_START, &bp, sizeof(bp));
}

static int x86_write_pvh(const struct guest_mem *mem, uint64_t initrd_gpa, uint64_t initrd_size,
			 const struct x86_e820 *e, unsigned ne)
{
	struct x86_pvh_start_info si = {
		.magic = X86_PVH_MAGIC,
		.version = 1,
		.cmdline_paddr = LAYOUT_CMDLINE_START,
		.rsdp_paddr = 0,	/* x86_set_rsdp fills it in */
		.memmap_paddr = LAYOUT_PVH_MEMMAP_START,
		.memmap_entries = ne,
	};
	struct x86_pvh_memmap mm[LAYOUT_E820_MAX_ENTRIES];
	int rc = 0;

	if (initrd_size) {
		struct x86_pvh_module mod = { .paddr = initrd_gpa, .size = initrd_size };
		si.nr_modules = 1;
		si.modlist_paddr = LAYOUT_PVH_MODLIST_START;
		rc = guest_mem_write(mem, LAYOUT_PVH_MODLIST_START, &mod, sizeof(mod));
	}
	memset(mm, 0, sizeof(mm));
	for (unsigned i = 0; i < ne; i++)
		mm[i] = (struct x86_pvh_memmap){ .addr = e[i].addr, .size = e[i].size, .type = e[i].type };
	rc = rc ? rc : guest_mem_write(mem, LAYOUT_PVH_MEMMAP_START, mm, ne * sizeof(mm[0]));
	rc = rc ? rc : guest_mem_write(mem, LAYOUT_PVH_INFO_START, &si, sizeof(si));
	return rc;
}

int x86_setup_boot(const struct guest_mem *mem, const struct x86_kernel *k, const char *cmdline,
		   uint64_t initrd_gpa, uint64_t initrd_size, char *err, size_t errlen)
{
	struct x86_e820 e[LAYOUT_E820_MAX_ENTRIES];
	uint64_t low_end = guest_mem_low_end(mem);
	int rc;

	if (!cmdline)
		cmdline = "";
	size_t len = strlen(cmdline);
	uint64_t limit = LAYOUT_CMDLINE_MAX - 1;
	if (k->cmdline_max && k->cmdline_max < limit)
		limit = k->cmdline_max;	/* 0: no kernel-specific limit */
	if (len > limit)
		return util_err(err, errlen, -EINVAL, "boot: kernel command line is %zu bytes, the limit is %llu",
				len, (unsigned long long)limit);
	if (low_end <= LAYOUT_HIMEM_START)
		return util_err(err, errlen, -EINVAL, "boot: guest RAM ends at %#llx, below the kernel at %#llx",
				(unsigned long long)low_end, (unsigned long long)LAYOUT_HIMEM_START);
	if (initrd_size && (!guest_mem_ptr(mem, initrd_gpa, initrd_size) ||
			    initrd_gpa + initrd_size > LAYOUT_MMIO_GAP_START))
		return util_err(err, errlen, -EINVAL, "boot: initrd at %#llx (size %llu) is outside low RAM",
				(unsigned long long)initrd_gpa, (unsigned long long)initrd_size);
	if (!initrd_size)
		initrd_gpa = 0;

	unsigned ne = x86_e820_build(mem, e);
	rc = guest_mem_write(mem, LAYOUT_CMDLINE_START, cmdline, len + 1);
	rc = rc ? rc : x86_write_tables(mem, k->mode);
	if (!rc && k->mode == X86_ENTRY_PVH)
		rc = x86_write_pvh(mem, initrd_gpa, initrd_size, e, ne);
	else if (!rc)
		rc = x86_write_zero_page(mem, k, len, initrd_gpa, initrd_size, e, ne);
	if (rc)
		return util_err(err, errlen, rc, "boot: writing boot tables below %#llx failed (guest RAM too small?)",
				(unsigned long long)LAYOUT_HIMEM_START);
	return 0;
}

_Static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x070, "boot_params.acpi_rsdp_addr");
_Static_assert(offsetof(struct x86_pvh_start_info, rsdp_paddr) == 0x20, "hvm_start_info.rsdp_paddr");

int x86_set_rsdp(const struct guest_mem *mem, const struct x86_kernel *k, uint64_t rsdp)
{
	if (k->mode == X86_ENTRY_PVH)
		return guest_mem_write(mem, LAYOUT_PVH_INFO_START +
				       offsetof(struct x86_pvh_start_info, rsdp_paddr), &rsdp, sizeof(rsdp));
	return guest_mem_write(mem, LAYOUT_ZERO_PAGE_START + offsetof(struct boot_params, acpi_rsdp_addr),
			       &rsdp, sizeof(rsdp));
}

/* ---- registers ---------------------------------------------------------- */

/* Hidden segment state matching descriptor `d` (inverse of x86_gdt_entry). */
static struct kvm_segment x86_seg_from_gdt(uint64_t d, uint16_t sel)
{
	struct kvm_segment s = {
		.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24),
		.limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16)),
		.selector = sel,
		.type = (d >> 40) & 0xf,
		.s = (d >> 44) & 1,
		.dpl = (d >> 45) & 3,
		.present = (d >> 47) & 1,
		.avl = (d >> 52) & 1,
		.l = (d >> 53) & 1,
		.db = (d >> 54) & 1,
		.g = (d >> 55) & 1,
	};
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	s.unusable = !s.present;
	return s;
}

#define X86_CR0_PE   (1ULL << 0)
#define X86_CR0_ET   (1ULL << 4)
#define X86_CR0_PG   (1ULL << 31)
#define X86_CR4_PAE  (1ULL << 5)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)

void x86_boot_regs(const struct x86_kernel *k, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	uint64_t gdt[X86_GDT_ENTRIES];

	x86_boot_gdt(k->mode, gdt);
	sregs->cs = x86_seg_from_gdt(gdt[1], X86_SEL_CODE);
	sregs->ds = x86_seg_from_gdt(gdt[2], X86_SEL_DATA);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->tr = x86_seg_from_gdt(gdt[3], X86_SEL_TSS);
	sregs->gdt.base = LAYOUT_GDT_START;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->idt.base = LAYOUT_IDT_START;
	sregs->idt.limit = sizeof(uint64_t) - 1;

	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2;	/* bit 1 is reserved-one */
	regs->rip = k->entry;
	if (k->mode == X86_ENTRY_PVH) {
		/* PVH: 32-bit protected mode, paging off, EBX = start info. */
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer = 0;
		regs->rbx = LAYOUT_PVH_INFO_START;
	} else {
		/* boot.rst "64-bit Boot Protocol": long mode, identity-mapped
		 * page tables, RSI = boot_params. CR0.CD/NW from reset are
		 * cleared so the kernel does not start with caches off. */
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sregs->cr3 = LAYOUT_PML4_START;
		sregs->cr4 = X86_CR4_PAE;
		sregs->efer = X86_EFER_LME | X86_EFER_LMA;
		regs->rsp = regs->rbp = LAYOUT_BOOT_STACK_POINTER;
		regs->rsi = LAYOUT_ZERO_PAGE_START;
	}
}
