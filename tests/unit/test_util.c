// SPDX-License-Identifier: Apache-2.0
/* src/util.c: error lines, whole-buffer file I/O, opening host files without
 * blocking (for input and for output), clocks, the 8-bit checksum. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/util.h"

static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ember-test-util-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A file in tmpdir holding len bytes of pattern (i * 7 + 3). */
static int mkfile(const char *name, size_t len, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	for (size_t i = 0; i < len; i++) {
		uint8_t b = (uint8_t)(i * 7 + 3);
		assert_int_equal(write(fd, &b, 1), 1);
	}
	return fd;
}

static int fail_like_a_helper(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_like_a_helper(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	util_verr(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void test_err(void **state)
{
	char err[32];
	assert_int_equal(util_err(err, sizeof(err), -ENOENT, "drive %s: %d", "rootfs", 7), -ENOENT);
	assert_string_equal(err, "drive rootfs: 7");
	/* Truncated, still terminated. */
	assert_int_equal(util_err(err, 8, -E2BIG, "%s", "0123456789"), -E2BIG);
	assert_string_equal(err, "0123456");
	/* No buffer: only the code. */
	assert_int_equal(util_err(NULL, 0, -EIO, "ignored %d", 1), -EIO);
	strcpy(err, "kept");
	assert_int_equal(util_err(err, 0, 5, "ignored"), 5);
	assert_string_equal(err, "kept");
	/* The va_list form, as a helper with its own format uses it. */
	assert_int_equal(fail_like_a_helper(err, sizeof(err), "bad \"%s\"", "op"), -EINVAL);
	assert_string_equal(err, "bad \"op\"");
}

static void test_pread_full(void **state)
{
	char path[128];
	uint8_t buf[5000];
	int fd = mkfile("pread", 6000, path, sizeof(path));

	memset(buf, 0, sizeof(buf));
	assert_int_equal(util_pread_full(fd, buf, sizeof(buf), 1000), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], (uint8_t)((i + 1000) * 7 + 3));
	assert_int_equal(util_pread_full(fd, buf, 0, 6000), 0);
	/* The file ends before the last byte. */
	assert_int_equal(util_pread_full(fd, buf, 1001, 5000), -EINVAL);
	assert_int_equal(util_pread_full(fd, buf, 1, 6000), -EINVAL);
	close(fd);
	assert_int_equal(util_pread_full(fd, buf, 1, 0), -EBADF);
}

static void test_rwv_full(void **state)
{
	char path[128];
	uint8_t a[100], b[3000], c[1];
	uint8_t back[sizeof(a) + sizeof(b) + sizeof(c)];
	int fd = mkfile("rwv", 0, path, sizeof(path));

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i ^ 0x5a);
	c[0] = 0xee;
	struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	assert_int_equal(util_rwv_full(fd, iov, 3, 512, true), 0);

	/* Read back in other pieces. */
	struct iovec rd[2] = { { back, 7 }, { back + 7, sizeof(back) - 7 } };
	assert_int_equal(util_rwv_full(fd, rd, 2, 512, false), 0);
	assert_memory_equal(back, a, sizeof(a));
	assert_memory_equal(back + sizeof(a), b, sizeof(b));
	assert_int_equal(back[sizeof(back) - 1], 0xee);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 512 + sizeof(back));

	/* A read that runs past the end of the file is an I/O error. */
	struct iovec past = { back, sizeof(back) };
	assert_int_equal(util_rwv_full(fd, &past, 1, 1024, false), -EIO);
	/* Nothing to move is done at once. */
	assert_int_equal(util_rwv_full(fd, NULL, 0, 0, false), 0);
	close(fd);
	struct iovec one = { back, 1 };
	assert_int_equal(util_rwv_full(fd, &one, 1, 0, true), -EBADF);
}

/* A FIFO nobody writes to: opening it for reading without O_NONBLOCK would
 * wait for a writer forever (the alarm turns that into a failure). */
static void test_open_file(void **state)
{
	char fifo[128], path[128];
	const char *kind = "unset";

	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(20);
	for (int blockdev = 0; blockdev < 2; blockdev++) {
		assert_int_equal(util_open_file(fifo, O_RDONLY, blockdev, &kind), -EINVAL);
		assert_string_equal(kind, "a FIFO");
	}
	alarm(0);
	assert_int_equal(util_open_file(tmpdir, O_RDONLY, true, &kind), -EINVAL);
	assert_string_equal(kind, "a directory");
	assert_int_equal(util_open_file("/dev/null", O_RDONLY, true, &kind), -EINVAL);
	assert_string_equal(kind, "a character device");
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(util_open_file(path, O_RDONLY, false, &kind), -ENOENT);
	assert_null(kind);

	/* A regular file comes back blocking and close-on-exec. */
	close(mkfile("regular", 10, path, sizeof(path)));
	int fd = util_open_file(path, O_RDWR, false, &kind);
	assert_true(fd >= 0);
	assert_null(kind);
	assert_int_equal(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_RDWR);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = util_open_file(path, O_RDONLY, true, &kind);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);
}

/* Output files (serial_out_path): a FIFO with no reader opens at once
 * (read-write), a missing file is created 0600, what exists is appended
 * to; a device or a directory is refused by its type, never opened. */
static void test_open_output(void **state)
{
	char fifo[128], path[128];
	const char *kind = "unset";
	struct stat st;

	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(20);
	int fd = util_open_output(fifo, &kind);
	alarm(0);
	assert_true(fd >= 0);
	assert_null(kind);
	assert_int_equal(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_NONBLOCK | O_RDWR);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	snprintf(path, sizeof(path), "%s/new", tmpdir);
	fd = util_open_output(path, &kind);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fcntl(fd, F_GETFL) & (O_APPEND | O_ACCMODE), O_APPEND | O_WRONLY);
	assert_int_equal(write(fd, "ab", 2), 2);
	close(fd);
	fd = util_open_output(path, &kind);
	assert_int_equal(write(fd, "c", 1), 1);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3);

	assert_int_equal(util_open_output("/dev/null", &kind), -EINVAL);
	assert_string_equal(kind, "a character device");
	assert_int_equal(util_open_output(tmpdir, &kind), -EINVAL);
	assert_string_equal(kind, "a directory");
	snprintf(path, sizeof(path), "%s/no/such/dir", tmpdir);
	assert_int_equal(util_open_output(path, &kind), -ENOENT);
	assert_null(kind);
}

static void test_clocks(void **state)
{
	uint64_t a = util_now_ns();
	uint64_t us = util_clock_us(CLOCK_MONOTONIC);
	uint64_t b = util_now_ns();
	assert_true(a > 0);
	assert_true(b >= a);
	assert_true(us >= a / 1000 && us <= b / 1000);
	/* The wall clock is past 2020 in seconds. */
	assert_true(util_clock_ns(CLOCK_REALTIME) / 1000000000ULL > 1577836800ULL);
	assert_true(util_clock_ns(CLOCK_PROCESS_CPUTIME_ID) > 0);

	struct timespec ts = util_timespec(1500000000ULL);
	assert_int_equal(ts.tv_sec, 1);
	assert_int_equal(ts.tv_nsec, 500000000);
	ts = util_timespec(999999999ULL);
	assert_int_equal(ts.tv_sec, 0);
	assert_int_equal(ts.tv_nsec, 999999999);
	ts = util_timespec(0);
	assert_int_equal(ts.tv_sec, 0);
	assert_int_equal(ts.tv_nsec, 0);
}

static void test_checksum8(void **state)
{
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 1);
	uint8_t c = util_checksum8(buf, sizeof(buf));
	uint8_t sum = c;
	for (size_t i = 0; i < sizeof(buf); i++)
		sum += buf[i];
	assert_int_equal(sum, 0);
	/* Known values: nothing sums to zero; 0x01 0x02 needs 0xfd. */
	assert_int_equal(util_checksum8(buf, 0), 0);
	const uint8_t two[] = { 1, 2 };
	assert_int_equal(util_checksum8(two, 2), 0xfd);
	/* A table that already holds its checksum sums to zero: checksum 0. */
	buf[0] = (uint8_t)(buf[0] + c);
	assert_int_equal(util_checksum8(buf, sizeof(buf)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err),
		cmocka_unit_test_setup_teardown(test_pread_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rwv_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_output, setup, teardown),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_checksum8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
