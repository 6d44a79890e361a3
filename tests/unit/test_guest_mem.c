// SPDX-License-Identifier: Apache-2.0
/* guest_mem: the one checked translator; bus: range dispatch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/bus.h"
#include "src/guest_mem.h"
#include "src/layout.h"

static void test_small(void **state)
{
	(void)state;
	struct guest_mem m;
	assert_int_equal(guest_mem_init(&m, 128ULL << 20), 0);
	assert_int_equal(m.nregions, 1);
	assert_non_null(guest_mem_ptr(&m, 0, 1));
	assert_non_null(guest_mem_ptr(&m, (128ULL << 20) - 4, 4));
	assert_null(guest_mem_ptr(&m, (128ULL << 20) - 4, 5));     /* runs past the end */
	assert_null(guest_mem_ptr(&m, 128ULL << 20, 1));
	assert_null(guest_mem_ptr(&m, UINT64_MAX - 2, 8));         /* wraps */
	assert_null(guest_mem_ptr(&m, 16, UINT64_MAX));
	assert_non_null(guest_mem_ptr(&m, 100, 0));                /* len 0 checked as 1 */
	assert_int_equal(guest_mem_low_end(&m), 128ULL << 20);
	uint32_t v = 0xdeadbeef, r = 0;
	assert_int_equal(guest_mem_write(&m, 0x1000, &v, 4), 0);
	assert_int_equal(guest_mem_read(&m, 0x1000, &r, 4), 0);
	assert_int_equal(r, v);
	assert_int_equal(guest_mem_write(&m, (128ULL << 20) - 2, &v, 4), -EFAULT);
	guest_mem_free(&m);
	assert_int_equal(guest_mem_init(&m, 0), -EINVAL);
}

static void test_split_at_gap(void **state)
{
	(void)state;
	struct guest_mem m;
	uint64_t size = 4ULL << 30; /* 4 GiB: 3 below the gap, 1 above 4 GiB */
	assert_int_equal(guest_mem_init(&m, size), 0);
	assert_int_equal(m.nregions, 2);
	assert_int_equal(guest_mem_low_end(&m), LAYOUT_MMIO_GAP_START);
	assert_null(guest_mem_ptr(&m, LAYOUT_MMIO_GAP_START, 1));   /* the gap */
	assert_null(guest_mem_ptr(&m, LAYOUT_MMIO_GAP_START - 2, 4)); /* crosses into it */
	uint8_t *hi = guest_mem_ptr(&m, LAYOUT_MMIO_GAP_END, 1);
	assert_ptr_equal(hi, m.base + LAYOUT_MMIO_GAP_START);
	assert_non_null(guest_mem_ptr(&m, LAYOUT_MMIO_GAP_END + (1ULL << 30) - 1, 1));
	assert_null(guest_mem_ptr(&m, LAYOUT_MMIO_GAP_END + (1ULL << 30), 1));
	guest_mem_free(&m);
}

static int hits;
static uint64_t last_off;
static void h(void *o, uint64_t off, uint8_t *d, uint32_t len, bool w)
{
	(void)o; (void)d; (void)len; (void)w;
	hits++;
	last_off = off;
}

static void test_bus(void **state)
{
	(void)state;
	struct bus b = { 0 };
	assert_int_equal(bus_register(&b, 0x3f8, 8, h, NULL), 0);
	assert_int_equal(bus_register(&b, 0x3fc, 8, h, NULL), -EEXIST);
	assert_int_equal(bus_register(&b, 0x400, 0, h, NULL), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX - 1, 8, h, NULL), -EINVAL);
	uint8_t d[8];
	assert_true(bus_access(&b, 0x3fd, d, 1, false));
	assert_int_equal(last_off, 5);
	assert_false(bus_access(&b, 0x3ff, d, 2, false));  /* straddles the end */
	assert_false(bus_access(&b, 0x80, d, 1, true));
	for (int i = 1; i < BUS_MAX_RANGES; i++)
		assert_int_equal(bus_register(&b, 0x1000 * (uint64_t)i, 1, h, NULL), 0);
	assert_int_equal(bus_register(&b, 0x100000, 1, h, NULL), -ENOSPC);
	assert_int_equal(hits, 1);
}


/* guest_mem_load_file gives the same bytes as pread at any alignment; the
 * rest of RAM is untouched; guest RAM is a copy (rewriting or truncating the
 * file later changes nothing in it); short files fail. */
static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/ember-gm-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	size_t fsize = 5 * 4096 + 123;
	uint8_t *buf = malloc(fsize);
	for (size_t i = 0; i < fsize; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(write(fd, buf, fsize), (ssize_t)fsize);
	struct guest_mem m;
	assert_int_equal(guest_mem_init(&m, 1ULL << 20), 0);
	memset(m.base, 0xee, 1ULL << 20);
	/* Aligned: offset 0 at a page boundary, with a partial tail. */
	assert_int_equal(guest_mem_load_file(&m, 0x10000, fd, 0, fsize), 0);
	assert_memory_equal(m.base + 0x10000, buf, fsize);
	assert_int_equal(m.base[0x10000 + fsize], 0xee);
	/* Same page offset, unaligned start. */
	assert_int_equal(guest_mem_load_file(&m, 0x40000 + 100, fd, 100, fsize - 200), 0);
	assert_memory_equal(m.base + 0x40000 + 100, buf + 100, fsize - 200);
	assert_int_equal(m.base[0x40000 + 99], 0xee);
	assert_int_equal(m.base[0x40000 + fsize - 100], 0xee);
	/* Different page offsets. */
	assert_int_equal(guest_mem_load_file(&m, 0x80000 + 1, fd, 0, fsize), 0);
	assert_memory_equal(m.base + 0x80000 + 1, buf, fsize);
	/* A guest write stays in guest RAM; the file changing or shrinking
	 * under a running guest does not reach it. */
	m.base[0x11000] ^= 0xff;
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, 0x1000), 1);
	assert_int_equal(b, buf[0x1000]);
	uint8_t junk[4096];
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 0x2000), (ssize_t)sizeof(junk));
	assert_int_equal(ftruncate(fd, 0x3000), 0);
	assert_memory_equal(m.base + 0x12000, buf + 0x2000, fsize - 0x2000);
	assert_int_equal(ftruncate(fd, (off_t)fsize), 0);
	/* Errors: past the file's end, outside RAM. */
	assert_int_equal(guest_mem_load_file(&m, 0x10000, fd, 4096, fsize), -EINVAL);
	assert_int_equal(guest_mem_load_file(&m, (1ULL << 20) - 100, fd, 0, 4096), -EFAULT);
	guest_mem_free(&m);
	free(buf);
	close(fd);
}

/* ---- snapshots ---- */

static int tmpfile_fd(char *path)
{
	strcpy(path, "/tmp/ember-test-memfile-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	return fd;
}

/* A Full dump writes the pages that are not zero (a page the guest zeroed
 * is skipped as well as one it never touched); the file is RAM-sized and
 * sparse. A Diff writes exactly the pages asked for, into the same file. */
static void test_dump(void **state)
{
	struct guest_mem m;
	char path[64];
	assert_int_equal(guest_mem_init(&m, 8 << 20), 0);
	memset(guest_mem_ptr(&m, 0x3000, 1), 0xaa, 1);
	memset(guest_mem_ptr(&m, 0x500000, 8192), 0xbb, 8192);
	memset(guest_mem_ptr(&m, 0x600000, 4096), 0, 4096);   /* touched, zero */
	int fd = tmpfile_fd(path);
	uint64_t written;
	assert_int_equal(guest_mem_dump(&m, fd, NULL, &written), 0);
	assert_int_equal(written, 3 * 4096);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 8 << 20);
	assert_true((uint64_t)st.st_blocks * 512 < (1u << 20));
	uint8_t b[2];
	assert_int_equal(pread(fd, b, 2, 0x3000), 2);
	assert_int_equal(b[0], 0xaa);
	assert_int_equal(b[1], 0);
	assert_int_equal(pread(fd, b, 1, 0x501fff), 1);
	assert_int_equal(b[0], 0xbb);

	/* Diff: page 0x500 only (rewritten), page 0x3 changed but not asked for. */
	memset(guest_mem_ptr(&m, 0x500000, 4096), 0xcc, 4096);
	memset(guest_mem_ptr(&m, 0x3000, 1), 0x11, 1);
	uint64_t pages[(8 << 20) / 4096 / 64] = { 0 };
	pages[0x500 / 64] |= 1ULL << (0x500 % 64);
	assert_int_equal(guest_mem_dump(&m, fd, pages, &written), 0);
	assert_int_equal(written, 4096);
	assert_int_equal(pread(fd, b, 1, 0x500000), 1);
	assert_int_equal(b[0], 0xcc);
	assert_int_equal(pread(fd, b, 1, 0x501000), 1);
	assert_int_equal(b[0], 0xbb);
	assert_int_equal(pread(fd, b, 1, 0x3000), 1);
	assert_int_equal(b[0], 0xaa);
	close(fd);

	/* The file as RAM: a private copy; the guest's writes never reach it. */
	fd = open(path, O_RDONLY);
	struct guest_mem r;
	assert_int_equal(guest_mem_init_file(&r, 16 << 20, fd), -EINVAL);  /* too short */
	assert_int_equal(guest_mem_init_file(&r, 8 << 20, fd), 0);
	assert_int_equal(*(uint8_t *)guest_mem_ptr(&r, 0x500000, 1), 0xcc);
	*(uint8_t *)guest_mem_ptr(&r, 0x500000, 1) = 0x77;
	assert_int_equal(pread(fd, b, 1, 0x500000), 1);
	assert_int_equal(b[0], 0xcc);
	assert_true(r.file_ino != 0);
	guest_mem_free(&r);
	close(fd);
	unlink(path);
	guest_mem_free(&m);
}

/* Device writes are marked per page, clipped to RAM; untracked memory
 * ignores them. */
static void test_mark_dirty(void **state)
{
	struct guest_mem m;
	assert_int_equal(guest_mem_init(&m, 1 << 20), 0);
	guest_mem_mark_dirty(&m, 0x1000, 10);               /* not tracked: no-op */
	assert_null(m.dirty);
	assert_int_equal(guest_mem_track_dirty(&m), 0);
	guest_mem_mark_dirty(&m, 0x1ff0, 0x20);             /* pages 1 and 2 */
	guest_mem_mark_dirty(&m, 0xff000, 0x10000);         /* the last page, clipped */
	guest_mem_mark_dirty(&m, 0x200000, 16);             /* outside RAM */
	assert_true(m.dirty[0] == 0x6);
	assert_true(m.dirty[3] == 1ULL << 63);
	guest_mem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_split_at_gap),
		cmocka_unit_test(test_bus),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_mark_dirty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
