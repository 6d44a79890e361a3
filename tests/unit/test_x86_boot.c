// SPDX-License-Identifier: Apache-2.0
/* x86_boot: kernel/initrd loaders on hostile images, zero page, PVH start
 * info, e820, page tables, GDT and boot registers. No KVM needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <glob.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/guest_mem.h"
#include "src/layout.h"
#include "src/x86_boot.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static char err[256];

static int mkfd(const void *buf, size_t len)
{
	int fd = memfd_create("x86_boot_test", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	return fd;
}

static void ram(struct guest_mem *m, uint64_t size)
{
	assert_int_equal(guest_mem_init(m, size), 0);
}

static int load_buf(struct guest_mem *m, const void *buf, size_t len, struct x86_kernel *k)
{
	int fd = mkfd(buf, len);
	err[0] = 0;
	int rc = x86_load_kernel(m, fd, k, err, sizeof(err));
	close(fd);
	return rc;
}

#define assert_err_has(s) do { \
		if (!strstr(err, (s))) \
			fail_msg("error \"%s\" does not mention \"%s\"", err, (s)); \
	} while (0)

/* ---- ELF fixtures ------------------------------------------------------- */

#define ELF_TEXT_PA  0x1000000ULL
#define ELF_DATA_PA  0x1002000ULL
#define ELF_NOTE_OFF 0x200
#define ELF_LEN      0x2800
#define ELF_PVH_ENTRY (ELF_TEXT_PA + 0x200)
#define XEN_ELFNOTE_PHYS32_ENTRY_TEST 18
#define XEN_NOTE (ELF_NOTE_OFF + 20)    /* after the 20-byte GNU note */

struct elf_img {
	_Alignas(8) uint8_t b[ELF_LEN];
};

static Elf64_Ehdr *eh(struct elf_img *im) { return (Elf64_Ehdr *)im->b; }
static Elf64_Phdr *ph(struct elf_img *im, int i) { return (Elf64_Phdr *)(im->b + 64) + i; }

static size_t put_note(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	memcpy(p, &namesz, 4);
	memcpy(p + 4, &descsz, 4);
	memcpy(p + 8, &type, 4);
	memcpy(p + 12, name, namesz);
	size_t off = 12 + ((namesz + 3) & ~3u);
	memcpy(p + off, desc, descsz);
	return off + ((descsz + 3) & ~3u);
}

/* text PT_LOAD (0x1000 bytes of 0xab), data PT_LOAD (0x800 of 0xcd + 0x2800
 * bss), PT_NOTE with a GNU note and, if pvh_descsz, the Xen PVH entry note. */
static void elf_build(struct elf_img *im, uint32_t pvh_descsz)
{
	memset(im, 0, sizeof(*im));
	Elf64_Ehdr *e = eh(im);
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = ELF_TEXT_PA + 0x100;
	e->e_phoff = 64;
	e->e_ehsize = sizeof(Elf64_Ehdr);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = 3;
	*ph(im, 0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = ELF_TEXT_PA,
				   .p_paddr = ELF_TEXT_PA, .p_filesz = 0x1000, .p_memsz = 0x1000,
				   .p_align = 0x1000 };
	*ph(im, 1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x2000, .p_vaddr = ELF_DATA_PA,
				   .p_paddr = ELF_DATA_PA, .p_filesz = 0x800, .p_memsz = 0x3000,
				   .p_align = 0x1000 };
	uint8_t *n = im->b + ELF_NOTE_OFF;
	uint32_t gnu = 0x12345678;
	size_t nl = put_note(n, "GNU", 3, &gnu, 4);
	if (pvh_descsz) {
		uint64_t entry = ELF_PVH_ENTRY;
		nl += put_note(n + nl, "Xen", XEN_ELFNOTE_PHYS32_ENTRY_TEST, &entry, pvh_descsz);
	}
	*ph(im, 2) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = ELF_NOTE_OFF, .p_filesz = nl,
				   .p_align = 4 };
	memset(im->b + 0x1000, 0xab, 0x1000);
	memset(im->b + 0x2000, 0xcd, 0x800);
}

static void test_elf_valid(void **state)
{
	struct guest_mem m;
	struct elf_img im;
	struct x86_kernel k;
	ram(&m, 128 * MiB);
	elf_build(&im, 0);
	/* Junk where the bss goes: the loader must zero it. */
	memset(guest_mem_ptr(&m, ELF_DATA_PA, 0x3000), 0xee, 0x3000);
	m.untouched = false;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), 0);
	assert_int_equal(k.mode, X86_ENTRY_LINUX64);
	assert_false(k.is_bzimage);
	assert_int_equal(k.entry, ELF_TEXT_PA + 0x100);
	assert_int_equal(k.kernel_end, ELF_DATA_PA + 0x3000);
	assert_int_equal(k.boot_protocol, 0);
	assert_int_equal(k.cmdline_max, LAYOUT_CMDLINE_MAX - 1);
	const uint8_t *t = guest_mem_ptr(&m, ELF_TEXT_PA, 0x1000);
	const uint8_t *d = guest_mem_ptr(&m, ELF_DATA_PA, 0x3000);
	for (int i = 0; i < 0x1000; i++)
		assert_int_equal(t[i], 0xab);
	for (int i = 0; i < 0x800; i++)
		assert_int_equal(d[i], 0xcd);
	for (int i = 0x800; i < 0x3000; i++)
		assert_int_equal(d[i], 0);
	guest_mem_free(&m);
}

/* RAM guest_mem_init just mapped: the bss is left alone, neither written nor
 * read (a read would map the host's zero page, and the guest's first write
 * would then split a huge page into 4 KiB ones): the 2 MiB that holds only
 * bss has no page after the load, and reads as zero. */
static void test_elf_bss_untouched(void **state)
{
	struct guest_mem m;
	struct elf_img im;
	struct x86_kernel k;
	ram(&m, 128 * MiB);
	assert_true(m.untouched);
	elf_build(&im, 0);
	ph(&im, 1)->p_memsz = 4 * MiB; /* bss up to ELF_DATA_PA + 4 MiB */
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), 0);
	const uint64_t only_bss = ELF_TEXT_PA + 2 * MiB;
	uint8_t *p = guest_mem_ptr(&m, only_bss, 2 * MiB);
	long page = sysconf(_SC_PAGESIZE);
	size_t npages = (size_t)(2 * MiB) / (size_t)page;
	unsigned char *vec = calloc(npages, 1);
	assert_non_null(vec);
	assert_int_equal(mincore(p, 2 * MiB, vec), 0);
	for (size_t i = 0; i < npages; i++)
		if (vec[i] & 1)
			fail_msg("bss page %zu at %#llx is resident after the load", i,
				 (unsigned long long)(only_bss + i * (size_t)page));
	free(vec);
	const uint8_t *d = guest_mem_ptr(&m, ELF_DATA_PA, 4 * MiB);
	for (uint64_t i = 0; i < 0x800; i++)
		assert_int_equal(d[i], 0xcd);
	for (uint64_t i = 0x800; i < 4 * MiB; i++)
		if (d[i])
			fail_msg("bss byte at %#llx is %#x", (unsigned long long)(ELF_DATA_PA + i), d[i]);
	guest_mem_free(&m);
}

static void test_elf_pvh(void **state)
{
	struct guest_mem m;
	struct elf_img im;
	struct x86_kernel k;
	ram(&m, 128 * MiB);
	for (uint32_t sz = 4; sz <= 8; sz += 4) {
		elf_build(&im, sz);
		assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), 0);
		assert_int_equal(k.mode, X86_ENTRY_PVH);
		assert_int_equal(k.entry, ELF_PVH_ENTRY);
	}
	/* A PVH entry outside the image is refused. */
	elf_build(&im, 8);
	uint64_t bad = 0x500000;
	memcpy(im.b + XEN_NOTE + 16, &bad, 8);
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("PVH entry point 0x500000");
	/* desc size 6, and a desc running past the segment. */
	elf_build(&im, 8);
	uint32_t six = 6;
	memcpy(im.b + XEN_NOTE + 4, &six, 4);
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("note");
	elf_build(&im, 8);
	uint32_t huge = 0xfffffff0;
	memcpy(im.b + XEN_NOTE + 4, &huge, 4);
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	elf_build(&im, 8);
	memcpy(im.b + XEN_NOTE, &huge, 4);	/* namesz */
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	guest_mem_free(&m);
}

static void test_elf_truncated(void **state)
{
	struct guest_mem m;
	struct elf_img im;
	struct x86_kernel k;
	ram(&m, 128 * MiB);
	elf_build(&im, 0);
	assert_int_equal(load_buf(&m, im.b, 0x2400, &k), -EINVAL);
	assert_err_has("ELF segment 1 data at offset 0x2000");
	assert_err_has("past the end");
	assert_int_equal(load_buf(&m, im.b, 40, &k), -EINVAL);	/* inside the ELF header */
	assert_err_has("ELF header truncated");
	assert_int_equal(load_buf(&m, im.b, 100, &k), -EINVAL);	/* inside the phdrs */
	assert_err_has("program headers");
	guest_mem_free(&m);
}

static void test_elf_outside_ram(void **state)
{
	struct guest_mem m;
	struct elf_img im;
	struct x86_kernel k;
	ram(&m, 128 * MiB);
	static const uint64_t bad[][2] = {
		{ 128 * MiB - 0x1000, 0x2000 },         /* runs off the end */
		{ 0x80000, 0x1000 },                    /* below 1 MiB */
		{ 0xfffffffffffff000ULL, 0x2000 },      /* wraps */
		{ 200 * MiB, 0x1000 },                  /* past RAM */
		{ ELF_TEXT_PA, 0xffffffffffffULL },     /* absurd memsz */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		elf_build(&im, 0);
		ph(&im, 1)->p_paddr = bad[i][0];
		ph(&im, 1)->p_memsz = bad[i][1];
		assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
		assert_err_has("kernel: ELF segment 1 at 0x");
		assert_err_has("is outside guest memory");
	}
	guest_mem_free(&m);

	/* Split RAM: a segment straddling the MMIO gap is refused. */
	ram(&m, 4 * GiB + 512 * MiB);
	elf_build(&im, 0);
	ph(&im, 1)->p_paddr = LAYOUT_MMIO_GAP_START - 0x1000;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("outside guest memory");
	guest_mem_free(&m);
}

static void test_elf_malformed(void **state)
{
	struct guest_mem m;
	struct elf_img im;
	struct x86_kernel k;
	ram(&m, 128 * MiB);

	elf_build(&im, 0);
	im.b[EI_CLASS] = ELFCLASS32;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -ENOEXEC);
	assert_err_has("32-bit");

	elf_build(&im, 0);
	eh(&im)->e_machine = EM_386;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -ENOEXEC);

	elf_build(&im, 0);
	eh(&im)->e_type = ET_REL;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -ENOEXEC);

	elf_build(&im, 0);
	eh(&im)->e_phnum = 0xffff;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("65535 program headers");

	elf_build(&im, 0);
	eh(&im)->e_phnum = 0;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);

	elf_build(&im, 0);
	eh(&im)->e_phentsize = 32;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);

	elf_build(&im, 0);
	eh(&im)->e_phoff = 0xfffffffffffffff0ULL;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("past the end");

	elf_build(&im, 0);
	ph(&im, 0)->p_offset = 0xffffffffffffff00ULL;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("ELF segment 0 data");

	elf_build(&im, 0);
	ph(&im, 1)->p_filesz = 0x4000;	/* > memsz */
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("exceeds its memory size");

	elf_build(&im, 0);
	ph(&im, 1)->p_paddr = ELF_TEXT_PA + 0xff0;	/* overlaps text */
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("segments 0 and 1 overlap");

	elf_build(&im, 0);
	ph(&im, 0)->p_type = PT_NULL;
	ph(&im, 1)->p_type = PT_NULL;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("no loadable segment");

	elf_build(&im, 0);
	eh(&im)->e_entry = 0x2000000;
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	assert_err_has("64-bit entry point 0x2000000");

	elf_build(&im, 0);
	ph(&im, 2)->p_filesz = 0x10000000;	/* note past EOF */
	assert_int_equal(load_buf(&m, im.b, sizeof(im.b), &k), -EINVAL);
	guest_mem_free(&m);
}

static void test_bad_magic(void **state)
{
	struct guest_mem m;
	struct x86_kernel k;
	uint8_t junk[4096];
	ram(&m, 128 * MiB);
	memset(junk, 0x90, sizeof(junk));
	assert_int_equal(load_buf(&m, junk, sizeof(junk), &k), -ENOEXEC);
	assert_string_equal(err, "kernel: not an ELF vmlinux or bzImage (bad magic)");
	assert_int_equal(load_buf(&m, junk, 0, &k), -ENOEXEC);	/* empty file */
	assert_int_equal(load_buf(&m, "\x7f" "EL", 3, &k), -ENOEXEC);
	guest_mem_free(&m);
}

/* ---- bzImage fixtures ------------------------------------------------------ */

#define BZ_CODE_OFF 0x800      /* setup_sects 3 */
#define BZ_CODE_LEN 0x1000
#define BZ_LEN      (BZ_CODE_OFF + BZ_CODE_LEN)
#define BZ_PREF     0x1000000ULL
#define BZ_INIT     0x2000000U

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void bz_build(uint8_t *b)
{
	memset(b, 0, BZ_LEN);
	b[0x1f1] = 3;
	put32(b + 0x1f4, BZ_CODE_LEN / 16);
	put16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a;	/* header ends at 0x26c (protocol 2.15) */
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, 0x020f);
	b[0x211] = LOADED_HIGH;
	put32(b + 0x230, 0x200000);
	b[0x234] = 1;
	put16(b + 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(b + 0x238, 2047);
	put64(b + 0x258, BZ_PREF);
	put32(b + 0x260, BZ_INIT);
	memset(b + BZ_CODE_OFF, 0x5a, BZ_CODE_LEN);
}

static void test_bzimage_valid(void **state)
{
	struct guest_mem m;
	struct x86_kernel k;
	uint8_t b[BZ_LEN];
	ram(&m, 128 * MiB);
	bz_build(b);
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), 0);
	assert_true(k.is_bzimage);
	assert_int_equal(k.mode, X86_ENTRY_LINUX64);
	assert_int_equal(k.entry, 0x100200);
	assert_int_equal(k.boot_protocol, 0x020f);
	assert_int_equal(k.setup_header_len, 0x26c - 0x1f1);
	assert_memory_equal(k.setup_header, b + 0x1f1, k.setup_header_len);
	assert_int_equal(k.kernel_end, BZ_PREF + BZ_INIT);	/* decompression area */
	assert_int_equal(k.cmdline_max, 2047);
	const uint8_t *g = guest_mem_ptr(&m, LAYOUT_HIMEM_START, BZ_CODE_LEN);
	assert_memory_equal(g, b + BZ_CODE_OFF, BZ_CODE_LEN);

	/* setup_sects 0 means 4: code at 0xa00. */
	uint8_t b4[0xa00 + BZ_CODE_LEN];
	memset(b4, 0, sizeof(b4));
	memcpy(b4, b, 0x800);
	b4[0x1f1] = 0;
	memset(b4 + 0xa00, 0x77, BZ_CODE_LEN);
	assert_int_equal(load_buf(&m, b4, sizeof(b4), &k), 0);
	assert_int_equal(*(const uint8_t *)guest_mem_ptr(&m, LAYOUT_HIMEM_START, 1), 0x77);
	guest_mem_free(&m);
}

static void test_bzimage_bad(void **state)
{
	struct guest_mem m;
	struct x86_kernel k;
	uint8_t b[BZ_LEN];
	ram(&m, 128 * MiB);

	bz_build(b);
	put16(b + 0x206, 0x020b);
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), -ENOEXEC);
	assert_err_has("2.11 is older than 2.12");

	bz_build(b);
	put16(b + 0x236, 0);
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), -ENOEXEC);
	assert_err_has("XLF_KERNEL_64");

	bz_build(b);
	b[0x211] = 0;
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), -ENOEXEC);

	bz_build(b);
	put16(b + 0x1fe, 0);
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), -ENOEXEC);

	bz_build(b);
	b[0x201] = 0x20;	/* header claims to end before init_size */
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), -EINVAL);

	bz_build(b);	/* truncated: syssize says more than the file has */
	assert_int_equal(load_buf(&m, b, BZ_LEN - 16, &k), -EINVAL);
	assert_err_has("truncated");
	assert_int_equal(load_buf(&m, b, 0x300, &k), -EINVAL);	/* ends in the setup code */
	assert_int_equal(load_buf(&m, b, 0x240, &k), -EINVAL);	/* ends in the header */

	bz_build(b);
	b[0x1f1] = 0xff;	/* setup_sects lying: code past EOF */
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), -EINVAL);
	assert_err_has("setup_sects 255");

	bz_build(b);
	put32(b + 0x1f4, 0);
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), -EINVAL);

	bz_build(b);
	put64(b + 0x258, 0xfffffffffffff000ULL);	/* pref_address absurd */
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), -EINVAL);
	assert_err_has("init_size");
	guest_mem_free(&m);

	/* 16 MiB of RAM cannot hold the decompressor's 32 MiB at 16 MiB. */
	ram(&m, 16 * MiB);
	bz_build(b);
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), -EINVAL);
	assert_err_has("low RAM ends at 0x1000000");
	guest_mem_free(&m);
}

/* ---- initrd ------------------------------------------------------------- */

static void elf_kernel(struct guest_mem *m, struct x86_kernel *k, uint32_t pvh)
{
	struct elf_img im;
	elf_build(&im, pvh);
	assert_int_equal(load_buf(m, im.b, sizeof(im.b), k), 0);
}

static void test_initrd(void **state)
{
	struct guest_mem m;
	struct x86_kernel k;
	uint64_t gpa = 1, size = 1;
	ram(&m, 128 * MiB);
	elf_kernel(&m, &k, 0);

	uint8_t *data = malloc(10000);
	for (int i = 0; i < 10000; i++)
		data[i] = (uint8_t)i;
	int fd = mkfd(data, 10000);
	assert_int_equal(x86_load_initrd(&m, fd, &k, &gpa, &size, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(gpa, (128 * MiB - 10000) & ~0xfffULL);
	assert_int_equal(gpa % 4096, 0);
	assert_int_equal(size, 10000);
	assert_memory_equal(guest_mem_ptr(&m, gpa, size), data, 10000);
	free(data);

	/* Too big: does not fit above the kernel. */
	fd = memfd_create("initrd", 0);
	assert_int_equal(ftruncate(fd, 127 * MiB), 0);
	assert_int_equal(x86_load_initrd(&m, fd, &k, &gpa, &size, err, sizeof(err)), -ENOMEM);
	assert_err_has("initrd: 133169152 bytes do not fit");
	assert_int_equal(ftruncate(fd, 200 * MiB), 0);	/* bigger than RAM */
	assert_int_equal(x86_load_initrd(&m, fd, &k, &gpa, &size, err, sizeof(err)), -ENOMEM);
	/* Exactly the space between kernel_end and the end of RAM fits. */
	assert_int_equal(ftruncate(fd, 128 * MiB - k.kernel_end), 0);
	assert_int_equal(x86_load_initrd(&m, fd, &k, &gpa, &size, err, sizeof(err)), 0);
	assert_int_equal(gpa, k.kernel_end);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(x86_load_initrd(&m, fd, &k, &gpa, &size, err, sizeof(err)), -EINVAL);
	assert_err_has("empty");
	close(fd);
	guest_mem_free(&m);

	/* With split RAM the initrd stays below the gap. */
	ram(&m, 4 * GiB + 512 * MiB);
	elf_kernel(&m, &k, 0);
	fd = mkfd("abcdefgh", 8);
	assert_int_equal(x86_load_initrd(&m, fd, &k, &gpa, &size, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(gpa, LAYOUT_MMIO_GAP_START - 4096);
	guest_mem_free(&m);
}

/* ---- boot tables ---------------------------------------------------------- */

static void check_e820_low(const struct boot_e820_entry *e, uint64_t low_end)
{
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[0].type, 1);
	assert_int_equal(e[1].addr, 0x9fc00);
	assert_int_equal(e[1].size, 0xe0000 - 0x9fc00);
	assert_int_equal(e[1].type, 2);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].size, low_end - 0x100000);
	assert_int_equal(e[2].type, 1);
}

static void check_tables(struct guest_mem *m, enum x86_entry_mode mode)
{
	uint64_t v[4];
	assert_int_equal(guest_mem_read(m, 0x9000, v, 8), 0);
	assert_int_equal(v[0], 0xa003);
	assert_int_equal(guest_mem_read(m, 0xa000, v, 8), 0);
	assert_int_equal(v[0], 0xb003);
	const uint64_t *pd = guest_mem_ptr(m, 0xb000, 4096);
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(pd[i], (i << 21) | 0x83);
	assert_int_equal(pd[511], 0x3fe00083);
	assert_int_equal(guest_mem_read(m, 0x500, v, sizeof(v)), 0);
	assert_int_equal(v[0], 0);
	if (mode == X86_ENTRY_LINUX64) {
		assert_int_equal(v[1], 0x00af9b000000ffffULL);
		assert_int_equal(v[2], 0x00cf93000000ffffULL);
		assert_int_equal(v[3], 0x008f8b000000ffffULL);
	} else {
		assert_int_equal(v[1], 0x00cf9b000000ffffULL);
		assert_int_equal(v[2], 0x00cf93000000ffffULL);
		assert_int_equal(v[3], 0x00008b0000000067ULL);
	}
	assert_int_equal(guest_mem_read(m, 0x520, v, 8), 0);
	assert_int_equal(v[0], 0);
}

static void test_zero_page_elf(void **state)
{
	struct guest_mem m;
	struct x86_kernel k;
	struct boot_params bp;
	const char *cmd = "console=ttyS0 reboot=k panic=1";
	ram(&m, 128 * MiB);
	elf_kernel(&m, &k, 0);
	assert_int_equal(x86_setup_boot(&m, &k, cmd, 0x7000000, 0x12345, err, sizeof(err)), 0);
	assert_string_equal(guest_mem_ptr(&m, 0x20000, strlen(cmd) + 1), cmd);
	assert_int_equal(guest_mem_read(&m, 0x7000, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_memory_equal(&bp.hdr.header, "HdrS", 4);
	assert_int_equal(bp.hdr.cmd_line_ptr, 0x20000);
	assert_int_equal(bp.ext_cmd_line_ptr, 0);
	assert_int_equal(bp.hdr.cmdline_size, strlen(cmd) + 1);
	assert_int_equal(bp.hdr.ramdisk_image, 0x7000000);
	assert_int_equal(bp.hdr.ramdisk_size, 0x12345);
	assert_int_equal(bp.e820_entries, 3);
	check_e820_low(bp.e820_table, 128 * MiB);
	assert_int_equal(bp.e820_table[3].size, 0);
	check_tables(&m, X86_ENTRY_LINUX64);

	/* No initrd: ramdisk fields stay 0. */
	assert_int_equal(x86_setup_boot(&m, &k, "", 0x7000000, 0, err, sizeof(err)), 0);
	assert_int_equal(guest_mem_read(&m, 0x7000, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.hdr.ramdisk_image, 0);
	assert_int_equal(bp.hdr.ramdisk_size, 0);
	/* An initrd outside RAM is refused. */
	assert_int_equal(x86_setup_boot(&m, &k, "", 127 * MiB, 2 * MiB, err, sizeof(err)), -EINVAL);
	guest_mem_free(&m);
}

static void test_zero_page_bzimage(void **state)
{
	struct guest_mem m;
	struct x86_kernel k;
	struct boot_params bp;
	uint8_t b[BZ_LEN];
	ram(&m, 128 * MiB);
	bz_build(b);
	assert_int_equal(load_buf(&m, b, sizeof(b), &k), 0);
	assert_int_equal(x86_setup_boot(&m, &k, "quiet", 0, 0, err, sizeof(err)), 0);
	assert_int_equal(guest_mem_read(&m, 0x7000, &bp, sizeof(bp)), 0);
	/* Copied from the image ... */
	assert_int_equal(bp.hdr.setup_sects, 3);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.loadflags, LOADED_HIGH);
	assert_int_equal(bp.hdr.xloadflags, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	assert_int_equal(bp.hdr.pref_address, BZ_PREF);
	assert_int_equal(bp.hdr.init_size, BZ_INIT);
	assert_int_equal(bp.hdr.kernel_alignment, 0x200000);
	/* ... and the loader's fields on top. */
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, 0x20000);
	assert_int_equal(bp.hdr.cmdline_size, 6);
	assert_int_equal(bp.e820_entries, 3);
	/* Nothing past the header was copied. */
	const uint8_t *raw = (const uint8_t *)&bp;
	for (size_t i = 0x26c; i < 0x2d0; i++)
		assert_int_equal(raw[i], 0);

	/* The kernel's own limit (cmdline_size 2047) applies. */
	char *longcmd = malloc(2049);
	memset(longcmd, 'a', 2048);
	longcmd[2048] = 0;
	assert_int_equal(x86_setup_boot(&m, &k, longcmd, 0, 0, err, sizeof(err)), -EINVAL);
	assert_err_has("2048 bytes, the limit is 2047");
	longcmd[2047] = 0;
	assert_int_equal(x86_setup_boot(&m, &k, longcmd, 0, 0, err, sizeof(err)), 0);
	free(longcmd);
	guest_mem_free(&m);
}

static void test_cmdline_limit(void **state)
{
	struct guest_mem m;
	struct x86_kernel k;
	ram(&m, 128 * MiB);
	elf_kernel(&m, &k, 0);
	char *c = malloc(LAYOUT_CMDLINE_MAX + 1);
	memset(c, 'x', LAYOUT_CMDLINE_MAX);
	c[LAYOUT_CMDLINE_MAX] = 0;
	assert_int_equal(x86_setup_boot(&m, &k, c, 0, 0, err, sizeof(err)), -EINVAL);
	assert_err_has("4096 bytes, the limit is 4095");
	c[LAYOUT_CMDLINE_MAX - 1] = 0;
	assert_int_equal(x86_setup_boot(&m, &k, c, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(strlen(guest_mem_ptr(&m, 0x20000, LAYOUT_CMDLINE_MAX)), LAYOUT_CMDLINE_MAX - 1);
	free(c);
	guest_mem_free(&m);

	/* RAM that ends below the kernel cannot boot. */
	ram(&m, 512 << 10);
	assert_int_equal(x86_setup_boot(&m, &k, "", 0, 0, err, sizeof(err)), -EINVAL);
	assert_err_has("guest RAM ends at 0x80000");
	guest_mem_free(&m);
}

static void test_e820_split(void **state)
{
	struct guest_mem m;
	struct x86_kernel k;
	struct boot_params bp;
	ram(&m, 4 * GiB + 512 * MiB);
	elf_kernel(&m, &k, 0);
	assert_int_equal(x86_setup_boot(&m, &k, "x", 0, 0, err, sizeof(err)), 0);
	assert_int_equal(guest_mem_read(&m, 0x7000, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.e820_entries, 4);
	check_e820_low(bp.e820_table, 3 * GiB);
	assert_int_equal(bp.e820_table[3].addr, 4 * GiB);
	assert_int_equal(bp.e820_table[3].size, 4 * GiB + 512 * MiB - 3 * GiB);
	assert_int_equal(bp.e820_table[3].type, 1);
	guest_mem_free(&m);
}

/* Layouts of Xen's public/arch-x86/hvm/start_info.h. */
struct pvh_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct pvh_mod { uint64_t paddr, size, cmdline_paddr, reserved; };
struct pvh_mmap { uint64_t addr, size; uint32_t type, reserved; };

static void test_pvh_start_info(void **state)
{
	struct guest_mem m;
	struct x86_kernel k;
	struct pvh_info si;
	struct pvh_mod mod;
	struct pvh_mmap mm[4];
	ram(&m, 4 * GiB + 512 * MiB);
	elf_kernel(&m, &k, 8);
	assert_int_equal(k.mode, X86_ENTRY_PVH);
	assert_int_equal(x86_setup_boot(&m, &k, "console=ttyS0", 0x8000000, 4096, err, sizeof(err)), 0);
	assert_int_equal(guest_mem_read(&m, 0x6000, &si, sizeof(si)), 0);
	assert_int_equal(si.magic, 0x336ec578);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.flags, 0);
	assert_int_equal(si.cmdline_paddr, 0x20000);
	assert_int_equal(si.rsdp_paddr, 0);
	assert_int_equal(si.nr_modules, 1);
	assert_int_equal(si.modlist_paddr, 0x6040);
	assert_int_equal(si.memmap_paddr, LAYOUT_PVH_MEMMAP_START);
	assert_true(si.memmap_paddr >= 0x6040 + sizeof(mod));
	assert_int_equal(si.memmap_entries, 4);
	assert_int_equal(guest_mem_read(&m, 0x6040, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.paddr, 0x8000000);
	assert_int_equal(mod.size, 4096);
	assert_int_equal(mod.cmdline_paddr, 0);
	assert_int_equal(guest_mem_read(&m, si.memmap_paddr, mm, sizeof(mm)), 0);
	static const uint64_t want[4][3] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0xe0000 - 0x9fc00, 2 },
		{ 0x100000, 3 * GiB - 0x100000, 1 }, { 4 * GiB, 1536 * MiB, 1 },
	};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(mm[i].addr, want[i][0]);
		assert_int_equal(mm[i].size, want[i][1]);
		assert_int_equal(mm[i].type, want[i][2]);
	}
	assert_string_equal(guest_mem_ptr(&m, 0x20000, 14), "console=ttyS0");
	check_tables(&m, X86_ENTRY_PVH);

	/* No initrd: no module. */
	assert_int_equal(x86_setup_boot(&m, &k, "", 0, 0, err, sizeof(err)), 0);
	assert_int_equal(guest_mem_read(&m, 0x6000, &si, sizeof(si)), 0);
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);
	guest_mem_free(&m);
}

/* ---- registers ------------------------------------------------------------ */

static void test_regs_linux64(void **state)
{
	struct x86_kernel k = { .mode = X86_ENTRY_LINUX64, .entry = 0x1000000 };
	struct kvm_regs r;
	struct kvm_sregs s;
	memset(&r, 0x55, sizeof(r));
	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010;	/* reset value: CD|NW|ET */
	s.apic_base = 0xfee00900;
	x86_boot_regs(&k, &r, &s);
	assert_int_equal(r.rip, 0x1000000);
	assert_int_equal(r.rsp, 0x8ff0);
	assert_int_equal(r.rbp, 0x8ff0);
	assert_int_equal(r.rsi, 0x7000);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rbx, 0);
	assert_int_equal(s.cr0, 0x80000011);
	assert_int_equal(s.cr3, 0x9000);
	assert_int_equal(s.cr4, 0x20);
	assert_int_equal(s.efer, 0x500);
	assert_int_equal(s.apic_base, 0xfee00900);	/* kept */
	assert_int_equal(s.cs.selector, 0x08);
	assert_int_equal(s.cs.base, 0);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.cs.type, 0xb);
	assert_int_equal(s.cs.present, 1);
	assert_int_equal(s.cs.s, 1);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.cs.g, 1);
	assert_int_equal(s.cs.dpl, 0);
	assert_int_equal(s.cs.unusable, 0);
	const struct kvm_segment *data[] = { &s.ds, &s.es, &s.fs, &s.gs, &s.ss };
	for (int i = 0; i < 5; i++) {
		assert_int_equal(data[i]->selector, 0x10);
		assert_int_equal(data[i]->type, 0x3);
		assert_int_equal(data[i]->db, 1);
		assert_int_equal(data[i]->l, 0);
		assert_int_equal(data[i]->limit, 0xffffffff);
		assert_int_equal(data[i]->present, 1);
	}
	assert_int_equal(s.tr.selector, 0x18);
	assert_int_equal(s.tr.type, 0xb);
	assert_int_equal(s.tr.s, 0);
	assert_int_equal(s.tr.present, 1);
	assert_int_equal(s.gdt.base, 0x500);
	assert_int_equal(s.gdt.limit, 31);
	assert_int_equal(s.idt.base, 0x520);
	assert_int_equal(s.idt.limit, 7);
}

static void test_regs_pvh(void **state)
{
	struct x86_kernel k = { .mode = X86_ENTRY_PVH, .entry = 0x1000200 };
	struct kvm_regs r;
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010;
	s.efer = 0x500;
	s.cr4 = 0x20;
	x86_boot_regs(&k, &r, &s);
	assert_int_equal(r.rip, 0x1000200);
	assert_int_equal(r.rbx, 0x6000);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rsi, 0);
	assert_int_equal(s.cr0, 0x11);
	assert_int_equal(s.cr4, 0);
	assert_int_equal(s.efer, 0);
	assert_int_equal(s.cs.selector, 0x08);
	assert_int_equal(s.cs.l, 0);
	assert_int_equal(s.cs.db, 1);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.cs.base, 0);
	assert_int_equal(s.cs.type, 0xb);
	assert_int_equal(s.ds.selector, 0x10);
	assert_int_equal(s.ds.db, 1);
	assert_int_equal(s.ss.limit, 0xffffffff);
	assert_int_equal(s.tr.limit, 0x67);
	assert_int_equal(s.tr.g, 0);
	assert_int_equal(s.tr.type, 0xb);
}

/* ---- a real kernel, when one is cached ------------------------------------ */

static char *find_real_kernel(void)
{
	const char *env = getenv("EMBER_TEST_KERNEL");
	if (env && *env)
		return strdup(env);
	const char *home = getenv("HOME");
	static const char *pats[] = {
		"%s/.cache/ember/vmlinux*", "%s/.cache/ember/*/vmlinux*", "%s/.cache/ember/bzImage*",
		"%s/.cache/ember/*/bzImage*", "%s/.cache/ember/*/*/boot/vmlinuz-*",
	};
	if (!home)
		return NULL;
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		char pat[512];
		glob_t g;
		snprintf(pat, sizeof(pat), pats[i], home);
		if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc) {
			char *p = strdup(g.gl_pathv[0]);
			globfree(&g);
			return p;
		}
		globfree(&g);
	}
	return NULL;
}

static void test_real_kernel(void **state)
{
	char *path = find_real_kernel();
	if (!path) {
		print_message("SKIP: no kernel under ~/.cache/ember (set EMBER_TEST_KERNEL)\n");
		skip();
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct guest_mem m;
	struct x86_kernel k;
	ram(&m, 256 * MiB);
	int rc = x86_load_kernel(&m, fd, &k, err, sizeof(err));
	close(fd);
	if (rc)
		fail_msg("%s: %s", path, err);
	print_message("real kernel %s: %s, protocol %#x, entry %#llx, end %#llx, mode %s\n", path,
		      k.is_bzimage ? "bzImage" : "ELF", k.boot_protocol, (unsigned long long)k.entry,
		      (unsigned long long)k.kernel_end, k.mode == X86_ENTRY_PVH ? "PVH" : "linux64");
	if (k.is_bzimage) {
		assert_int_equal(k.entry, 0x100200);
		assert_true(k.boot_protocol >= 0x020c);
		assert_true(k.setup_header_len >= 0x268 - 0x1f1);
	} else {
		assert_true(k.entry >= LAYOUT_HIMEM_START && k.entry < k.kernel_end);
	}
	assert_true(k.kernel_end > LAYOUT_HIMEM_START && k.kernel_end < 256 * MiB);
	int ifd = mkfd("070701", 6);
	uint64_t gpa, size;
	assert_int_equal(x86_load_initrd(&m, ifd, &k, &gpa, &size, err, sizeof(err)), 0);
	close(ifd);
	assert_int_equal(x86_setup_boot(&m, &k, "console=ttyS0", gpa, size, err, sizeof(err)), 0);
	if (k.is_bzimage) {
		struct boot_params bp;
		assert_int_equal(guest_mem_read(&m, 0x7000, &bp, sizeof(bp)), 0);
		assert_int_equal(bp.hdr.version, k.boot_protocol);
		assert_true(bp.hdr.xloadflags & XLF_KERNEL_64);
		assert_int_equal(bp.hdr.ramdisk_image, gpa);
	}
	guest_mem_free(&m);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_valid),
		cmocka_unit_test(test_elf_bss_untouched),
		cmocka_unit_test(test_elf_pvh),
		cmocka_unit_test(test_elf_truncated),
		cmocka_unit_test(test_elf_outside_ram),
		cmocka_unit_test(test_elf_malformed),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bzimage_valid),
		cmocka_unit_test(test_bzimage_bad),
		cmocka_unit_test(test_initrd),
		cmocka_unit_test(test_zero_page_elf),
		cmocka_unit_test(test_zero_page_bzimage),
		cmocka_unit_test(test_cmdline_limit),
		cmocka_unit_test(test_e820_split),
		cmocka_unit_test(test_pvh_start_info),
		cmocka_unit_test(test_regs_linux64),
		cmocka_unit_test(test_regs_pvh),
		cmocka_unit_test(test_real_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
