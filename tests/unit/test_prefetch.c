// SPDX-License-Identifier: Apache-2.0
/* The working set record (src/prefetch.c): a record reads back as written;
 * a flipped bit, a cut, another version, runs out of order or past RAM are
 * refused with one line; a record of another snapshot (RAM size, state
 * file, memory file size, inode, mtime) is stale. A session: no record ->
 * recording; the pause writes the pages touched in the mapping; the next
 * session finds and prefetches them (the bytes are the file's); a memory
 * file changed since, or a damaged record, is ignored and recorded anew. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "src/guest_mem.h"
#include "src/prefetch.h"
#include "src/snapshot.h"

static const struct ws_ident ident = {
	.mem_size = 64 << 20, .file_size = 64 << 20, .file_ino = 1234,
	.file_mtime_ns = 1700000000123456789ULL, .state_crc = 0xcafef00d,
};

static void sample(struct ws_record *r)
{
	static struct ws_run runs[] = { { 0, 3 }, { 10, 1 }, { 100, 200 }, { 16383, 1 } };
	r->id = ident;
	r->runs = runs;
	r->nruns = 4;
	r->npages = 205;
}

/* The sample record's bytes. */
static size_t encoded(struct ws_record *in, uint8_t **buf)
{
	size_t len;
	sample(in);
	assert_int_equal(ws_encode(in, buf, &len), 0);
	return len;
}

static void reseal(uint8_t *f, size_t len)
{
	uint32_t c = snap_crc32c(0, f, len - 4);
	for (int i = 0; i < 4; i++)
		f[len - 4 + i] = (uint8_t)(c >> (8 * i));
}

static void test_round_trip(void **state)
{
	(void)state;
	struct ws_record in, out;
	uint8_t *buf;
	char err[256];
	size_t len = encoded(&in, &buf);
	assert_int_equal(len, WS_HEADER_SIZE + 4 * WS_RUN_SIZE + WS_TRAILER_SIZE);
	assert_int_equal(ws_decode(buf, len, &out, err, sizeof(err)), 0);
	assert_memory_equal(&out.id, &ident, sizeof(ident));
	assert_int_equal(out.nruns, 4);
	assert_int_equal(out.npages, 205);
	assert_memory_equal(out.runs, in.runs, 4 * sizeof(struct ws_run));
	assert_int_equal(ws_check(&out, &ident, err, sizeof(err)), 0);
	ws_record_free(&out);
	free(buf);
}

static void test_stale(void **state)
{
	(void)state;
	struct ws_record r;
	char err[256];
	sample(&r);
	static const struct {
		size_t off;
		const char *what;
	} fields[] = {
		{ offsetof(struct ws_ident, mem_size), "guest RAM size" },
		{ offsetof(struct ws_ident, state_crc), "state file" },
		{ offsetof(struct ws_ident, file_size), "memory file size" },
		{ offsetof(struct ws_ident, file_ino), "memory file inode" },
		{ offsetof(struct ws_ident, file_mtime_ns), "memory file mtime" },
	};
	for (unsigned i = 0; i < 5; i++) {
		struct ws_ident want = ident;
		((uint8_t *)&want)[fields[i].off] ^= 1;
		assert_int_equal(ws_check(&r, &want, err, sizeof(err)), -ESTALE);
		assert_non_null(strstr(err, fields[i].what));
	}
}

static void test_corrupt(void **state)
{
	(void)state;
	struct ws_record in, out;
	uint8_t *buf;
	char err[256];
	size_t len = encoded(&in, &buf);
	/* Every flipped bit: the checksum (or the magic) refuses it. */
	for (size_t i = 0; i < len * 8; i += 7) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(ws_decode(buf, len, &out, err, sizeof(err)), -EINVAL);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(ws_decode(buf, len - 8, &out, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "checksum"));
	assert_int_equal(ws_decode(buf, 10, &out, err, sizeof(err)), -EINVAL);
	assert_int_equal(ws_decode((const uint8_t *)"EMBERSNP-a-state-file", 21, &out, err,
				   sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "magic"));
	/* Well sealed but wrong: version, runs out of order, past RAM, sums. */
	uint8_t *f = malloc(len);
	struct {
		size_t off;
		uint8_t val;
		const char *msg;
	} edits[] = {
		{ 8, 2, "version 2" },
		{ WS_HEADER_SIZE + 8, 1, "out of order" },       /* run 1 at page 1, inside run 0 */
		{ WS_HEADER_SIZE + 24 + 1, 0x80, "past" },        /* run 3 far past RAM */
		{ WS_HEADER_SIZE + 12, 0, "empty" },               /* run 1 of 0 pages */
		{ 56, 1, "header says" },                          /* page count */
		{ 52, 5, "do not fill" },                          /* run count */
	};
	for (unsigned i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		memcpy(f, buf, len);
		f[edits[i].off] = edits[i].val;
		reseal(f, len);
		assert_int_equal(ws_decode(f, len, &out, err, sizeof(err)), -EINVAL);
		if (!strstr(err, edits[i].msg))
			fail_msg("edit %u: '%s' lacks '%s'", i, err, edits[i].msg);
	}
	free(f);
	free(buf);
}

static void test_bitmap(void **state)
{
	(void)state;
	uint64_t bits[3] = { 0 };
	unsigned set[] = { 0, 1, 2, 63, 64, 65, 130, 191 };
	for (unsigned i = 0; i < 8; i++)
		bits[set[i] / 64] |= 1ULL << (set[i] % 64);
	struct ws_record r = { 0 };
	assert_int_equal(ws_from_bitmap(bits, 192, &r), 0);
	assert_int_equal(r.nruns, 4);
	assert_int_equal(r.npages, 8);
	assert_int_equal(r.runs[0].page, 0);
	assert_int_equal(r.runs[0].npages, 3);
	assert_int_equal(r.runs[1].page, 63);
	assert_int_equal(r.runs[1].npages, 3);
	assert_int_equal(r.runs[2].page, 130);
	assert_int_equal(r.runs[3].page, 191);
	ws_record_free(&r);
}

/* A 4 MiB memory file of known bytes in a temporary directory. */
#define MEM (4u << 20)
static char dir[64];

static int mem_file(const char *name)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	uint8_t *b = malloc(MEM);
	for (size_t i = 0; i < MEM; i++)
		b[i] = (uint8_t)(i * 131 + (i >> 12));
	assert_int_equal(write(fd, b, MEM), MEM);
	free(b);
	return fd;
}

static void test_session(void **state)
{
	(void)state;
	char sp[128], wp[160];
	snprintf(dir, sizeof(dir), "/tmp/ember-ws-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sp, sizeof(sp), "%s/state", dir);
	snprintf(wp, sizeof(wp), "%s/state.ws", dir);
	int fd = mem_file("mem");
	const uint8_t statebytes[] = "....the state file, its CRC last: ABCD";
	size_t slen = sizeof(statebytes) - 1;

	prefetch_set_method(PREFETCH_OFF);
	assert_null(ws_session_open(sp, statebytes, slen, fd, MEM));
	prefetch_set_method(PREFETCH_READ);

	/* No record: recording; the pause writes the pages the mapping touched. */
	struct ws_session *s = ws_session_open(sp, statebytes, slen, fd, MEM);
	assert_non_null(s);
	assert_false(s->have);
	assert_true(s->recording);
	struct guest_mem mem = { 0 };
	assert_int_equal(guest_mem_init_file(&mem, MEM, fd), 0);
	volatile uint8_t sink = 0;
	for (unsigned p = 200; p < 210; p++)
		sink += mem.base[p * 4096 + 5];
	mem.base[700 * 4096] = 1;   /* a write: a private copy, present too */
	(void)sink;
	ws_session_pause(s, &mem);
	assert_false(s->recording);
	assert_int_equal(access(wp, F_OK), 0);
	ws_session_free(s);
	guest_mem_free(&mem);

	/* The next load finds it: the touched pages (and maybe neighbours the
	 * kernel mapped with them) are prefetched, with the file's bytes. */
	s = ws_session_open(sp, statebytes, slen, fd, MEM);
	assert_non_null(s);
	assert_true(s->have);
	assert_false(s->recording);
	bool has200 = false, has700 = false;
	for (uint32_t i = 0; i < s->rec.nruns; i++) {
		has200 |= s->rec.runs[i].page <= 200 && s->rec.runs[i].page + s->rec.runs[i].npages >= 210;
		has700 |= s->rec.runs[i].page <= 700 && s->rec.runs[i].page + s->rec.runs[i].npages > 700;
	}
	assert_true(has200);
	assert_true(has700);
	assert_true(s->rec.npages < MEM / 4096);
	assert_int_equal(guest_mem_init_file(&mem, MEM, fd), 0);
	ws_session_prefetch(s, &mem, fd);
	uint8_t want[4096];
	assert_int_equal(pread(fd, want, 4096, 205 * 4096), 4096);
	assert_memory_equal(mem.base + 205 * 4096, want, 4096);
	assert_int_equal(pread(fd, want, 4096, 700 * 4096), 4096);
	assert_memory_equal(mem.base + 700 * 4096, want, 4096);
	guest_mem_free(&mem);
	ws_session_free(s);

	/* populate, willneed and huge map nothing wrong either (huge: whole
	 * 2 MiB chunks, read from the file: page 700's chunk holds page 600). */
	static const enum prefetch_method others[] = { PREFETCH_POPULATE, PREFETCH_WILLNEED,
						       PREFETCH_HUGE };
	for (unsigned k = 0; k < 3; k++) {
		prefetch_set_method(others[k]);
		s = ws_session_open(sp, statebytes, slen, fd, MEM);
		assert_true(s->have);
		assert_int_equal(guest_mem_init_file(&mem, MEM, fd), 0);
		ws_session_prefetch(s, &mem, fd);
		assert_int_equal(pread(fd, want, 4096, 205 * 4096), 4096);
		assert_memory_equal(mem.base + 205 * 4096, want, 4096);
		assert_int_equal(pread(fd, want, 4096, 600 * 4096), 4096);
		assert_memory_equal(mem.base + 600 * 4096, want, 4096);
		assert_int_equal((uintptr_t)mem.base % (2u << 20), 0);
		guest_mem_free(&mem);
		ws_session_free(s);
	}

	/* Another state file: stale, recording anew. */
	const uint8_t other[] = "....another state file, its CRC: WXYZ";
	s = ws_session_open(sp, other, sizeof(other) - 1, fd, MEM);
	assert_false(s->have);
	assert_true(s->recording);
	ws_session_free(s);

	/* The memory file changed since (mtime): stale. */
	struct timeval tv[2] = { { 1000, 0 }, { 1000, 0 } };
	char mp[128];
	snprintf(mp, sizeof(mp), "%s/mem", dir);
	assert_int_equal(utimes(mp, tv), 0);
	s = ws_session_open(sp, statebytes, slen, fd, MEM);
	assert_false(s->have);
	ws_session_free(s);

	/* Another memory file of the same size: another inode. */
	int fd2 = mem_file("mem2");
	s = ws_session_open(sp, statebytes, slen, fd2, MEM);
	assert_false(s->have);
	ws_session_free(s);

	/* A damaged record: ignored. */
	int wfd = open(wp, O_WRONLY);
	assert_int_equal(pwrite(wfd, "X", 1, 20), 1);
	close(wfd);
	s = ws_session_open(sp, statebytes, slen, fd2, MEM);
	assert_false(s->have);
	assert_true(s->recording);
	ws_session_free(s);

	prefetch_set_method(PREFETCH_OFF);
	close(fd);
	close(fd2);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* huge: MADV_HUGEPAGE (and its synchronous compaction) only when the host's
 * THP mode is not already "always". */
static void test_thp_mode(void **state)
{
	(void)state;
	assert_true(guest_mem_thp_mode_always("[always] madvise never\n"));
	assert_false(guest_mem_thp_mode_always("always [madvise] never\n"));
	assert_false(guest_mem_thp_mode_always("always madvise [never]\n"));
	assert_false(guest_mem_thp_mode_always(""));
	assert_false(guest_mem_thp_mode_always(NULL));
}

static void test_methods(void **state)
{
	(void)state;
	enum prefetch_method m;
	assert_int_equal(prefetch_parse_method("populate", &m), 0);
	assert_int_equal(m, PREFETCH_POPULATE);
	assert_int_equal(prefetch_parse_method("read", &m), 0);
	assert_int_equal(m, PREFETCH_READ);
	assert_int_equal(prefetch_parse_method("willneed", &m), 0);
	assert_int_equal(prefetch_parse_method("off", &m), 0);
	assert_int_equal(m, PREFETCH_OFF);
	assert_int_equal(prefetch_parse_method("Populate", &m), -EINVAL);
	assert_int_equal(prefetch_parse_method(NULL, &m), -EINVAL);
	assert_string_equal(prefetch_method_name(PREFETCH_WILLNEED), "willneed");
	assert_int_equal(prefetch_parse_method("huge", &m), 0);
	assert_int_equal(m, PREFETCH_HUGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_bitmap),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_thp_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
