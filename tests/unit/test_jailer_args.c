// SPDX-License-Identifier: Apache-2.0
/*
 * test_jailer_args.c - ember-jailer command line and validation.
 *
 * Linked with build/libjailer.a. Syntax checks (jail_args_parse) and the
 * file-system checks of step 1 (jail_validate) need no privileges; nothing
 * here creates a jail.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jailer/jail.h"

static char err[1024];

/* Parse a NULL-terminated list of arguments (argv[0] added). */
static int parse(struct jail_args *a, ...)
{
	static char *argv[64];
	va_list ap;
	int argc = 0;

	argv[argc++] = "ember-jailer";
	va_start(ap, a);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	err[0] = '\0';
	return jail_args_parse(argc, argv, a, err, sizeof(err));
}

#define REQ "--id", "vm-1", "--exec-file", "/bin/true", "--uid", "123", "--gid", "456"

static void expect_bad(int ret, const char *needle)
{
	if (ret != -EINVAL || !strstr(err, needle))
		fail_msg("ret %d, err '%s', expected '%s'", ret, err, needle);
	assert_null(strchr(err, '\n'));	/* one line */
}

static void test_minimal(void **state)
{
	struct jail_args a;

	(void)state;
	assert_int_equal(parse(&a, REQ, NULL), 0);
	assert_string_equal(a.id, "vm-1");
	assert_string_equal(a.exec_file, "/bin/true");
	assert_int_equal(a.uid, 123);
	assert_int_equal(a.gid, 456);
	assert_string_equal(a.chroot_base, "/srv/jailer");
	assert_null(a.netns);
	assert_false(a.daemonize);
	assert_false(a.new_pid_ns);
	assert_int_equal(a.cgroup_version, 1);
	assert_null(a.parent_cgroup);
	assert_int_equal(a.n_cgroups, 0);
	assert_false(a.has_fsize);
	assert_int_equal(a.nofile, 2048);
	assert_int_equal(a.n_extra, 0);
}

static void test_everything(void **state)
{
	struct jail_args a;

	(void)state;
	assert_int_equal(parse(&a, REQ, "--chroot-base-dir", "/tmp/j", "--netns", "/run/netns/x",
			       "--daemonize", "--new-pid-ns", "--cgroup", "cpu.shares=2",
			       "--cgroup", "cpuset.cpus=0-1", "--cgroup-version", "2",
			       "--parent-cgroup", "a/b", "--resource-limit", "fsize=1000",
			       "--resource-limit", "no-file=64", "--", "--api-sock", "/run/x",
			       "--", NULL), 0);
	assert_string_equal(a.chroot_base, "/tmp/j");
	assert_string_equal(a.netns, "/run/netns/x");
	assert_true(a.daemonize);
	assert_true(a.new_pid_ns);
	assert_int_equal(a.n_cgroups, 2);
	assert_string_equal(a.cgroups[0].controller, "cpu");
	assert_string_equal(a.cgroups[0].file, "cpu.shares");
	assert_string_equal(a.cgroups[0].value, "2");
	assert_string_equal(a.cgroups[1].controller, "cpuset");
	assert_string_equal(a.cgroups[1].value, "0-1");
	assert_int_equal(a.cgroup_version, 2);
	assert_string_equal(a.parent_cgroup, "a/b");
	assert_true(a.has_fsize);
	assert_int_equal(a.fsize, 1000);
	assert_int_equal(a.nofile, 64);
	/* everything after the first "--" is ember's, even another "--" */
	assert_int_equal(a.n_extra, 3);
	assert_string_equal(a.extra[0], "--api-sock");
	assert_string_equal(a.extra[2], "--");
}

static void test_id(void **state)
{
	struct jail_args a;
	char id64[65], id65[66];

	(void)state;
	memset(id64, 'a', 64);
	id64[64] = '\0';
	memset(id65, 'a', 65);
	id65[65] = '\0';
	assert_true(jail_id_valid("a"));
	assert_true(jail_id_valid("bd65600d-8669-4903-8a14-af88203add38"));
	assert_true(jail_id_valid(id64));
	assert_false(jail_id_valid(id65));
	assert_false(jail_id_valid(""));
	assert_false(jail_id_valid("a_b"));
	assert_false(jail_id_valid("a/b"));
	assert_false(jail_id_valid(".."));
	assert_false(jail_id_valid("a b"));
	expect_bad(parse(&a, "--id", "/ad./sa12", "--exec-file", "/bin/true", "--uid", "1",
			 "--gid", "1", NULL), "--id");
	expect_bad(parse(&a, "--id", id65, "--exec-file", "/bin/true", "--uid", "1", "--gid", "1",
			 NULL), "--id");
}

static void test_required(void **state)
{
	struct jail_args a;

	(void)state;
	expect_bad(parse(&a, "--exec-file", "/bin/true", "--uid", "1", "--gid", "1", NULL), "--id");
	expect_bad(parse(&a, "--id", "x", "--uid", "1", "--gid", "1", NULL), "--exec-file");
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--gid", "1", NULL), "--uid");
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "1", NULL), "--gid");
	/* --version and --help need nothing else */
	assert_int_equal(parse(&a, "--version", NULL), 0);
	assert_true(a.version);
	assert_int_equal(parse(&a, "--help", NULL), 0);
	assert_true(a.help);
}

static void test_syntax(void **state)
{
	struct jail_args a;

	(void)state;
	/* Firecracker's parser: "--name value" only */
	expect_bad(parse(&a, "--id=vm", "--exec-file", "/bin/true", "--uid", "1", "--gid", "1",
			 NULL), "unknown argument");
	expect_bad(parse(&a, REQ, "--bogus", NULL), "unknown argument");
	expect_bad(parse(&a, REQ, "stray", NULL), "unknown argument");
	expect_bad(parse(&a, REQ, "--id", "again", NULL), "more than once");
	expect_bad(parse(&a, REQ, "--daemonize", "--daemonize", NULL), "more than once");
	expect_bad(parse(&a, REQ, "--netns", NULL), "needs a value");
	expect_bad(parse(&a, REQ, "--netns", "--daemonize", NULL), "needs a value");
}

static void test_numbers(void **state)
{
	struct jail_args a;

	(void)state;
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "abc", "--gid", "1",
			 NULL), "--uid");
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "-1", "--gid", "1",
			 NULL), "--uid");
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "4294967295",
			 "--gid", "1", NULL), "--uid");
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "4294967296",
			 "--gid", "1", NULL), "--uid");
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "", "--gid", "1",
			 NULL), "--uid");
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "1", "--gid", "1x",
			 NULL), "--gid");
	/* root is refused: the jail would give nothing away */
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "0", "--gid", "1",
			 NULL), "--uid 0: the jailed process must not run as root");
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "1", "--gid", "0",
			 NULL), "--gid 0: the jailed process must not run in group root");
	expect_bad(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "00", "--gid", "1",
			 NULL), "--uid 0");
	assert_int_equal(parse(&a, "--id", "x", "--exec-file", "/bin/true", "--uid", "4294967294",
			       "--gid", "1", NULL), 0);
	assert_int_equal(a.uid, 4294967294u);
}

static void test_cgroup_args(void **state)
{
	struct jail_args a;

	(void)state;
	expect_bad(parse(&a, REQ, "--cgroup", "zzz", NULL), "--cgroup");
	expect_bad(parse(&a, REQ, "--cgroup", "cpu.shares", NULL), "--cgroup");
	expect_bad(parse(&a, REQ, "--cgroup", "cpu.shares=", NULL), "--cgroup");
	expect_bad(parse(&a, REQ, "--cgroup", "cpu.shares=1=2", NULL), "--cgroup");
	expect_bad(parse(&a, REQ, "--cgroup", "cpushares=1", NULL), "--cgroup");
	expect_bad(parse(&a, REQ, "--cgroup", ".shares=1", NULL), "--cgroup");
	expect_bad(parse(&a, REQ, "--cgroup", "cpu.=1", NULL), "--cgroup");
	expect_bad(parse(&a, REQ, "--cgroup", "../../etc/passwd=1", NULL), "--cgroup");
	expect_bad(parse(&a, REQ, "--cgroup", "cpu/x.y=1", NULL), "--cgroup");
	expect_bad(parse(&a, REQ, "--cgroup-version", "3", NULL), "--cgroup-version");
	expect_bad(parse(&a, REQ, "--parent-cgroup", "/root", NULL), "--parent-cgroup");
	expect_bad(parse(&a, REQ, "--parent-cgroup", "a/../b", NULL), "--parent-cgroup");
	expect_bad(parse(&a, REQ, "--parent-cgroup", "./a", NULL), "--parent-cgroup");
	expect_bad(parse(&a, REQ, "--parent-cgroup", "a//b", NULL), "--parent-cgroup");
	expect_bad(parse(&a, REQ, "--parent-cgroup", "a/", NULL), "--parent-cgroup");
	assert_int_equal(parse(&a, REQ, "--cgroup", "memory.limit_in_bytes=1G", NULL), 0);
	assert_string_equal(a.cgroups[0].controller, "memory");
}

static void test_rlimit_args(void **state)
{
	struct jail_args a;

	(void)state;
	expect_bad(parse(&a, REQ, "--resource-limit", "zzz", NULL), "--resource-limit");
	expect_bad(parse(&a, REQ, "--resource-limit", "nproc=1", NULL), "unknown resource");
	expect_bad(parse(&a, REQ, "--resource-limit", "fsize=-1", NULL), "not a number");
	expect_bad(parse(&a, REQ, "--resource-limit", "no-file=", NULL), "not a number");
	expect_bad(parse(&a, REQ, "--chroot-base-dir", "relative", NULL), "absolute");
}

/* Step 1 (file system checks), unprivileged. */
static int validate(const char *exec_file, const char *base, const char *netns,
		    const char *cgroup, int version)
{
	static struct jail j;
	char *argv[32];
	int argc = 0;

	jail_init(&j);
	argv[argc++] = "ember-jailer";
	argv[argc++] = "--id";
	argv[argc++] = "t1";
	argv[argc++] = "--exec-file";
	argv[argc++] = (char *)exec_file;
	argv[argc++] = "--uid";
	argv[argc++] = "1";
	argv[argc++] = "--gid";
	argv[argc++] = "1";
	argv[argc++] = "--chroot-base-dir";
	argv[argc++] = (char *)base;
	if (netns) {
		argv[argc++] = "--netns";
		argv[argc++] = (char *)netns;
	}
	if (cgroup) {
		argv[argc++] = "--cgroup";
		argv[argc++] = (char *)cgroup;
	}
	argv[argc++] = "--cgroup-version";
	argv[argc++] = version == 2 ? "2" : "1";
	argv[argc] = NULL;
	assert_int_equal(jail_args_parse(argc, argv, &j.a, err, sizeof(err)), 0);
	err[0] = '\0';
	int ret = jail_validate(&j, err, sizeof(err));
	if (ret == 0) {
		assert_string_equal(j.exec_name, "true");
		assert_non_null(strstr(j.root, "/true/t1/root"));
	}
	free(j.deps); /* the jailer itself keeps it until exec */
	return ret;
}

static void test_validate(void **state)
{
	(void)state;
	assert_int_equal(validate("/bin/true", "/tmp", NULL, NULL, 1), 0);
	/* a missing base is fine when its parent exists (created in step 2) */
	assert_int_equal(validate("/bin/true", "/tmp/ember-no-such-dir", NULL, NULL, 1), 0);
	assert_true(validate("/bin/true", "/tmp/ember-no-such-dir/x", NULL, NULL, 1) < 0);
	assert_true(validate("/nonexistent/ember", "/tmp", NULL, NULL, 1) < 0);
	assert_non_null(strstr(err, "--exec-file"));
	assert_true(validate("/tmp", "/tmp", NULL, NULL, 1) < 0);
	assert_non_null(strstr(err, "not a regular file"));
	assert_true(validate("/bin/true", "/etc/passwd", NULL, NULL, 1) < 0);
	assert_non_null(strstr(err, "--chroot-base-dir"));
	assert_true(validate("/bin/true", "/tmp", "/run/netns/ember-no-such-ns", NULL, 1) < 0);
	assert_non_null(strstr(err, "--netns"));
	assert_true(validate("/bin/true", "/tmp", NULL, "nosuchctl.value=1", 1) < 0);
	assert_non_null(strstr(err, "not mounted"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_everything),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_cgroup_args),
		cmocka_unit_test(test_rlimit_args),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
