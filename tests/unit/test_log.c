// SPDX-License-Identifier: Apache-2.0
/* log: the module filter (Firecracker's logger `module`): which names it
 * takes, and which lines it keeps; outputs that must never block. */
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

#include "src/log.h"

static char path[64];
static off_t seen;     /* bytes of the log file log_text() returned already */

static int setup(void **state)
{
	snprintf(path, sizeof(path), "/tmp/ember-test-log-XXXXXX");
	seen = 0;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_open(path), 0);
	log_set_level(LOG_INFO);
	return 0;
}

static int teardown(void **state)
{
	log_set_module("");
	unlink(path);
	return 0;
}

/* The log file's contents since the last call. */
static const char *log_text(void)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, seen);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	seen += n;
	return buf;
}

/* One line from each of these files, marked with its name. */
static void log_from_everywhere(void)
{
	static const char *const files[] = { "src/api.c", "src/api_http.c", "src/vm.c",
		"virtio/blk.c", "virtio/net.c", "/build/dir/src/serial.c", "src/console.h" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		log_write(LOG_WARN, files[i], 1, "from %s", files[i]);
}

static bool has(const char *text, const char *file)
{
	char want[128];
	snprintf(want, sizeof(want), "from %s\n", file);
	return strstr(text, want) != NULL;
}

static void test_module_names(void **state)
{
	static const char *const good[] = { "", "src", "src/", "src/api", "src/api_http", "virtio",
		"virtio/", "virtio/b", "src::vm", "virtio::blk" };
	static const char *const bad[] = { "vmm", "vmm::builder", "firecracker", "s", "srcx",
		"src/vm.c", "src/API", "/src", "src/api/x", "virtio:blk", "src\n" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!log_module_valid(good[i]))
			fail_msg("'%s' refused", good[i]);
		assert_int_equal(log_set_module(good[i]), 0);
	}
	assert_int_equal(log_set_module("virtio"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (log_module_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(log_set_module(bad[i]), -EINVAL);
	}
	char longname[200];
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "src/", 4);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(log_module_valid(longname));
	/* A refused name leaves the filter as it was. */
	log_text();
	log_from_everywhere();
	const char *t = log_text();
	assert_true(has(t, "virtio/blk.c"));
	assert_false(has(t, "src/vm.c"));
}

static void test_module_filter(void **state)
{
	const char *t;

	log_text();
	log_from_everywhere();
	t = log_text();
	assert_true(has(t, "src/vm.c") && has(t, "virtio/net.c"));  /* no filter: all */

	assert_int_equal(log_set_module("src/api"), 0);               /* a prefix of a file name */
	log_from_everywhere();
	t = log_text();
	assert_true(has(t, "src/api.c"));
	assert_true(has(t, "src/api_http.c"));
	assert_false(has(t, "src/vm.c"));
	assert_false(has(t, "virtio/blk.c"));

	assert_int_equal(log_set_module("virtio::blk"), 0);           /* Rust's separator */
	log_from_everywhere();
	t = log_text();
	assert_true(has(t, "virtio/blk.c"));
	assert_false(has(t, "virtio/net.c"));
	assert_false(has(t, "src/api.c"));

	assert_int_equal(log_set_module("src"), 0);                   /* a whole directory */
	log_from_everywhere();
	t = log_text();
	assert_true(has(t, "src/vm.c"));
	assert_true(has(t, "/build/dir/src/serial.c"));               /* the last two components */
	assert_true(has(t, "src/console.h"));                         /* a header's line */
	assert_false(has(t, "virtio/net.c"));

	/* The level still applies; "" lifts the filter. */
	log_write(LOG_DEBUG, "src/vm.c", 1, "debug line");
	assert_null(strstr(log_text(), "debug line"));
	assert_int_equal(log_set_module(""), 0);
	log_from_everywhere();
	t = log_text();
	assert_true(has(t, "src/vm.c") && has(t, "virtio/net.c"));
}

/* A FIFO nobody reads yet (an orchestrator makes it, then reads later) is
 * taken at once, as Firecracker takes it, and a full pipe never blocks: the
 * output that does not fit is dropped. A reader that comes later gets the
 * oldest lines. Regular files are still created 0600 and appended to. */
static void test_output_fifo_without_reader(void **state)
{
	char fifo[80], file[80];
	snprintf(fifo, sizeof(fifo), "%s.fifo", path);
	snprintf(file, sizeof(file), "%s.new", path);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int fd = log_open_output(fifo);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	char buf[4096];
	memset(buf, 'x', sizeof(buf));
	ssize_t n;
	size_t total = 0;
	while ((n = write(fd, buf, sizeof(buf))) > 0)	/* returns when the pipe is full */
		total += (size_t)n;
	assert_int_equal(errno, EAGAIN);
	assert_true(total >= 4096);
	assert_int_equal(log_open(fifo), 0);	/* the logger takes it too */
	assert_int_equal(log_open(path), 0);
	close(fd);
	unlink(fifo);

	fd = log_open_output(file);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK),
			 O_WRONLY | O_APPEND | O_NONBLOCK);
	close(fd);
	unlink(file);
	assert_int_equal(log_open_output("/nonexistent/dir/x"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_module_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_module_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_fifo_without_reader, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
