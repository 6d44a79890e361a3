// SPDX-License-Identifier: Apache-2.0
/* The kernel loaders (ELF vmlinux, PVH note, bzImage), the initrd loader and
 * the boot-state writer, over a small guest_mem in malloc'd memory.
 *
 * Input: [u8 flags][u16 cmdline_len][cmdline][u16 initrd_len][initrd][kernel]
 * flags & 3 picks the RAM size (1.5, 4, 16 or 6 MiB). The kernel and initrd
 * are memfds. Checks: on success the entry point and kernel_end are inside
 * low RAM, the initrd lands page-aligned above kernel_end and inside RAM;
 * every error message starts with the documented prefix. */
#include "fuzz/common.h"
#include "src/guest_mem.h"
#include "src/layout.h"
#include "src/x86_boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint64_t ram_sizes[4] = { 0x180000, 4 << 20, 16 << 20, 6 << 20 };
static uint8_t *ram;
static int verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	ram = aligned_alloc(4096, 16 << 20);
	if (!ram)
		abort();
	memset(ram, 0, 16 << 20);
	return 0;
}

static void check_prefix(const char *err, const char *prefix)
{
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct guest_mem mem;
	struct x86_kernel k;
	char err[512];
	static char cmdline[LAYOUT_CMDLINE_MAX + 64];
	const uint8_t *cl, *ird, *kern;

	if (size > (4 << 20))
		return 0;
	uint8_t flags = fz_u8(&f);
	size_t cl_len = fz_take(&f, fz_u16(&f) % sizeof(cmdline), &cl);
	size_t ird_len_want = fz_u16(&f);
	size_t ird_len = fz_take(&f, ird_len_want, &ird);
	size_t k_len = fz_take(&f, f.n, &kern);
	memcpy(cmdline, cl, cl_len);
	cmdline[cl_len] = 0;

	uint64_t ram_size = ram_sizes[flags & 3];
	guest_mem_init_from(&mem, ram, ram_size);

	int kfd = fuzz_memfd("kernel", kern, k_len);
	memset(&k, 0xa5, sizeof(k));
	err[0] = 0;
	int r = x86_load_kernel(&mem, kfd, &k, err, sizeof(err));
	close(kfd);
	if (verbose)
		fprintf(stderr, "kernel: %d %s\n", r, err);
	if (r < 0) {
		check_prefix(err, "kernel: ");
		return 0;
	}
	if (r > 0 || k.entry >= ram_size || k.kernel_end > ram_size ||
	    k.setup_header_len > sizeof(k.setup_header))
		abort();

	uint64_t igpa = 0, isize = 0;
	if (flags & 4) {
		int ifd = fuzz_memfd("initrd", ird, ird_len);
		err[0] = 0;
		r = x86_load_initrd(&mem, ifd, &k, &igpa, &isize, err, sizeof(err));
		close(ifd);
		if (verbose)
			fprintf(stderr, "initrd: %d %s\n", r, err);
		if (r < 0) {
			check_prefix(err, "initrd: ");
			igpa = isize = 0;
		} else if ((igpa & 0xfff) || igpa < k.kernel_end || igpa + isize > ram_size ||
			   isize != ird_len) {
			abort();
		}
	}
	err[0] = 0;
	r = x86_setup_boot(&mem, &k, (flags & 8) ? NULL : cmdline, igpa, isize, err, sizeof(err));
	if (verbose)
		fprintf(stderr, "boot: %d %s\n", r, err);
	if (r < 0)
		check_prefix(err, "boot: ");

	struct kvm_regs regs;
	struct kvm_sregs sregs;
	memset(&regs, 0, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	x86_boot_regs(&k, &regs, &sregs);
	if (regs.rip != k.entry)
		abort();
	return 0;
}
