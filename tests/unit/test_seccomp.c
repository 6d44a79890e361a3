// SPDX-License-Identifier: Apache-2.0
/*
 * test_seccomp.c - the per-thread filters really filter.
 *
 * Every check runs in a forked child (a filter cannot be removed): the child
 * installs a filter, makes allowed calls (must work) and then one forbidden
 * call (must kill it with SIGSYS). No /dev/kvm needed: KVM ioctls on a bad
 * fd return EBADF when allowed and kill when not.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "seccomp.h"

/* Child exit codes: reached the end (forbidden call was allowed), or an
 * allowed call failed. */
#define CHILD_SURVIVED 42
#define CHILD_BROKEN   43

static int run_child(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka catches SIGSYS in the runner; the built-in filters trap,
		 * so let the signal's default action end the child. */
		signal(SIGSYS, SIG_DFL);
		fn();
		_exit(CHILD_SURVIVED);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_sigsys(int status)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("child not killed by SIGSYS: status 0x%x (exit %d, signal %d)", status,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			 WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

static void assert_exit(int status, int code)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != code)
		fail_msg("child status 0x%x, expected exit %d (signal %d)", status, code,
			 WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

#define CHECK(cond) do { if (!(cond)) _exit(CHILD_BROKEN); } while (0)

/* Allowed on the main thread: plain I/O, memory, eventfd-ish, KVM ioctls. */
static void main_allowed_calls(void)
{
	int p[2];
	char b = 'x';
	void *m;

	CHECK(pipe(p) == 0);	/* pipe2 is not in the main list: made before */
	CHECK(seccomp_install_thread(SECCOMP_THREAD_MAIN) == 0);
	CHECK(write(p[1], &b, 1) == 1);
	CHECK(read(p[0], &b, 1) == 1);
	CHECK(getpid() > 0);
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	CHECK(munmap(m, 1 << 20) == 0);
	free(malloc(1 << 22));
	CHECK(ioctl(-1, KVM_CREATE_VM, 0) < 0 && errno == EBADF);
	CHECK(ioctl(-1, KVM_IRQFD, NULL) < 0 && errno == EBADF);
	CHECK(open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0);
}

static void child_main_ok(void)
{
	CHECK(seccomp_configure_default() == 0);
	main_allowed_calls();
	_exit(0);
}

static void child_main_socket(void)
{
	CHECK(seccomp_configure_default() == 0);
	main_allowed_calls();
	socket(AF_INET, SOCK_STREAM, 0);	/* nobody needs a new socket */
}

static void child_main_execve(void)
{
	char *argv[] = { "/bin/true", NULL };

	CHECK(seccomp_configure_default() == 0);
	main_allowed_calls();
	execve("/bin/true", argv, argv + 1);
}

static void child_main_bad_ioctl(void)
{
	CHECK(seccomp_configure_default() == 0);
	main_allowed_calls();
	ioctl(0, TIOCSTI, "x");	/* terminal injection: not on the list */
}

static void child_main_prot_exec(void)
{
	CHECK(seccomp_configure_default() == 0);
	main_allowed_calls();
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void child_main_fork(void)
{
	CHECK(seccomp_configure_default() == 0);
	main_allowed_calls();
	/* glibc fork() uses clone without CLONE_THREAD: refused. */
	syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
}

static void test_default_compiles(void **state)
{
	(void)state;
	assert_int_equal(seccomp_configure_default(), 0);
	assert_true(seccomp_prog_len(SECCOMP_THREAD_MAIN) > 0);
	assert_true(seccomp_prog_len(SECCOMP_THREAD_VCPU) > 0);
	assert_int_equal(seccomp_configure_none(), 0);
	assert_int_equal(seccomp_prog_len(SECCOMP_THREAD_MAIN), 0);
	/* The BPF built into ember (build/gen/seccomp_default.c) is what
	 * libseccomp makes of the lists in src/seccomp.c today. */
	assert_int_equal(seccomp_default_is_current(), 1);
}

static void test_main_allowed(void **state)
{
	(void)state;
	assert_exit(run_child(child_main_ok), 0);
}

static void test_main_forbidden(void **state)
{
	(void)state;
	assert_sigsys(run_child(child_main_socket));
	assert_sigsys(run_child(child_main_execve));
	assert_sigsys(run_child(child_main_bad_ioctl));
	assert_sigsys(run_child(child_main_prot_exec));
	assert_sigsys(run_child(child_main_fork));
}

/* ---- vCPU threads ---- */

static int vcpu_mode;

static void *vcpu_thread(void *arg)
{
	char b = 'v';
	int *p = arg;

	if (seccomp_install_thread(SECCOMP_THREAD_VCPU) != 0)
		_exit(CHILD_BROKEN);
	CHECK(ioctl(-1, KVM_RUN, 0) < 0 && errno == EBADF);
	CHECK(ioctl(-1, KVM_GET_REGS, NULL) < 0 && errno == EBADF);
	CHECK(write(p[1], &b, 1) == 1);
	free(malloc(100));
	switch (vcpu_mode) {
	case 1:
		open("/dev/null", O_RDONLY);	/* the vCPU thread opens nothing */
		break;
	case 2:
		ioctl(-1, KVM_CREATE_VM, 0);	/* main-only ioctl */
		break;
	case 3:
		ioctl(-1, KVM_INTERRUPT, NULL);	/* irqchip is in-kernel */
		break;
	case 4:
		ioctl(-1, KVM_SET_REGS, NULL);	/* set-up is the main thread's */
		break;
	}
	return NULL;
}

static void child_vcpu(void)
{
	pthread_t t;
	int p[2];
	char b;

	CHECK(pipe(p) == 0);
	CHECK(seccomp_configure_default() == 0);
	/* As ember: main filter first, then the vCPU thread adds its own. */
	CHECK(seccomp_install_thread(SECCOMP_THREAD_MAIN) == 0);
	CHECK(pthread_create(&t, NULL, vcpu_thread, p) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(read(p[0], &b, 1) == 1 && b == 'v');
	/* The main thread is not bound by the vCPU filter. */
	CHECK(open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0);
	_exit(0);
}

static void child_vcpu_no_main(void)
{
	pthread_t t;
	int p[2];

	/* vCPU threads created before the main filter: vcpu filter alone. */
	CHECK(pipe(p) == 0);
	CHECK(seccomp_configure_default() == 0);
	CHECK(pthread_create(&t, NULL, vcpu_thread, p) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	_exit(0);
}

static void test_vcpu(void **state)
{
	(void)state;
	vcpu_mode = 0;
	assert_exit(run_child(child_vcpu), 0);
	assert_exit(run_child(child_vcpu_no_main), 0);
	for (vcpu_mode = 1; vcpu_mode <= 4; vcpu_mode++) {
		assert_sigsys(run_child(child_vcpu));
		assert_sigsys(run_child(child_vcpu_no_main));
	}
}

/* ---- none ---- */

static void child_none(void)
{
	CHECK(seccomp_configure_none() == 0);
	CHECK(seccomp_install_thread(SECCOMP_THREAD_MAIN) == 0);
	CHECK(seccomp_install_thread(SECCOMP_THREAD_VCPU) == 0);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(s >= 0);
	_exit(0);
}

static void test_none(void **state)
{
	(void)state;
	assert_exit(run_child(child_none), 0);
}

/* ---- user files ---- */

static char tmp_path[64];

static void write_tmp(const char *text)
{
	int fd;

	strcpy(tmp_path, "/tmp/ember-seccomp-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

#define BASE_ALLOW \
	"{\"syscall\": \"write\"}, {\"syscall\": \"exit_group\"}, {\"syscall\": \"exit\"}," \
	"{\"syscall\": \"futex\"}, {\"syscall\": \"mmap\"}, {\"syscall\": \"munmap\"}," \
	"{\"syscall\": \"mprotect\"}, {\"syscall\": \"brk\"}, {\"syscall\": \"rt_sigreturn\"}," \
	"{\"syscall\": \"rt_sigprocmask\"}, {\"syscall\": \"getpid\"}," \
	"{\"syscall\": \"sigaltstack\", \"comment\": \"ASan's _exit\"}"

static const char *file_action;	/* default_action for the main list */
static int deny_mode;		/* child_deny_list: 0 vCPU thread, 1 main thread */

static void child_file(void)
{
	char json[4096], err[256];

	snprintf(json, sizeof(json),
		 "{\"main\": {\"default_action\": %s, \"filter_action\": \"allow\", \"filter\": ["
		 BASE_ALLOW ", {\"syscall\": \"ioctl\", \"comment\": \"KVM_RUN\", \"args\": ["
		 "{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": %lu}]}]},"
		 " \"vcpu\": {\"default_action\": \"kill_process\", \"filter_action\": \"allow\","
		 " \"filter\": [" BASE_ALLOW "]}}", file_action, (unsigned long)KVM_RUN);
	write_tmp(json);
	CHECK(seccomp_configure_file(tmp_path, err, sizeof(err)) == 0);
	unlink(tmp_path);
	CHECK(seccomp_report_violations() == 0);
	CHECK(seccomp_install_thread(SECCOMP_THREAD_MAIN) == 0);
	CHECK(getpid() > 0);
	CHECK(ioctl(-1, KVM_RUN, 0) < 0 && errno == EBADF);
	/* dword: only the low 32 bits are compared */
	CHECK(syscall(SYS_ioctl, -1, (unsigned long)KVM_RUN | (1ul << 32), 0) < 0 &&
	      errno == EBADF);
	if (syscall(SYS_getppid) < 0 && errno == EPERM)	/* not on the list */
		_exit(7);
}

static void test_file_actions(void **state)
{
	(void)state;
	file_action = "\"kill_process\"";
	assert_sigsys(run_child(child_file));
	file_action = "\"trap\"";	/* seccomp_report_violations: exit 148 */
	assert_exit(run_child(child_file), 148);
	file_action = "{\"errno\": 1}";
	assert_exit(run_child(child_file), 7);
}

static void child_file_fc_names(void)
{
	char err[256];

	write_tmp("{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", "
		  "\"filter\": [" BASE_ALLOW "]},"
		  " \"api\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", "
		  "\"filter\": [{\"syscall\": \"getppid\"}]},"
		  " \"vcpu\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", "
		  "\"filter\": []}}");
	CHECK(seccomp_configure_file(tmp_path, err, sizeof(err)) == 0);
	unlink(tmp_path);
	CHECK(seccomp_report_violations() == 0);
	CHECK(seccomp_install_thread(SECCOMP_THREAD_MAIN) == 0);
	CHECK(getppid() > 0);	/* from "api": merged into main */
	syscall(SYS_getuid);	/* in neither */
}

static void test_file_fc_names(void **state)
{
	(void)state;
	assert_exit(run_child(child_file_fc_names), 148);
}

/* A deny list: default "allow", one rule with "trap" per thread kind; the
 * vCPU thread (a pthread, as in ember) still gets its own filter on top of
 * the inherited main one. Rules whose action is the default are no-ops. */
static void *deny_vcpu_thread(void *arg)
{
	(void)arg;
	if (seccomp_install_thread(SECCOMP_THREAD_VCPU) != 0)
		_exit(CHILD_BROKEN);
	if (getppid() <= 0)	/* allowed by both filters */
		_exit(CHILD_BROKEN);
	syscall(SYS_getuid);	/* forbidden on the vCPU thread only */
	return NULL;
}

static void child_deny_list(void)
{
	char err[256];
	pthread_t t;

	write_tmp("{\"main\": {\"default_action\": \"allow\", \"filter_action\": \"trap\", "
		  "\"filter\": [{\"syscall\": \"accept4\"}, {\"syscall\": \"getpid\", "
		  "\"comment\": \"same as default: ignored\"}]},"
		  " \"vcpu\": {\"default_action\": \"allow\", \"filter_action\": \"trap\", "
		  "\"filter\": [{\"syscall\": \"getuid\"}]}}");
	CHECK(seccomp_configure_file(tmp_path, err, sizeof(err)) == 0);
	unlink(tmp_path);
	CHECK(seccomp_report_violations() == 0);
	CHECK(seccomp_install_thread(SECCOMP_THREAD_MAIN) == 0);
	CHECK(getppid() > 0);
	syscall(SYS_getuid);	/* allowed on the main thread */
	if (deny_mode == 0) {
		CHECK(pthread_create(&t, NULL, deny_vcpu_thread, NULL) == 0);
		pthread_join(t, NULL);
	} else {
		accept4(-1, NULL, NULL, 0);	/* forbidden on main */
	}
}

static void test_file_deny_list(void **state)
{
	(void)state;
	deny_mode = 0;	/* the vCPU thread's getuid traps: exit 148 */
	assert_exit(run_child(child_deny_list), 148);
	deny_mode = 1;	/* the main thread's accept4 traps */
	assert_exit(run_child(child_deny_list), 148);
}

static void expect_bad_file(const char *json, const char *needle)
{
	char err[256] = "";
	int ret;

	write_tmp(json);
	ret = seccomp_configure_file(tmp_path, err, sizeof(err));
	unlink(tmp_path);
	if (ret != -EINVAL || !strstr(err, needle))
		fail_msg("file %s: ret %d, err '%s', expected '%s'", json, ret, err, needle);
}

#define L(x) "{\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": [" x "]}"

static void test_file_errors(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(seccomp_configure_file("/nonexistent/ember", err, sizeof(err)), -ENOENT);
	expect_bad_file("[]", "not a JSON object");
	expect_bad_file("{\"main\": " L("") "}", "missing a thread category");
	expect_bad_file("{\"main\": " L("") ", \"vcpu\": " L("") ", \"x\": 1}", "unexpected key");
	expect_bad_file("{\"vmm\": " L("") ", \"vcpu\": " L("") "}", "missing a thread category");
	expect_bad_file("{\"main\": " L("{\"syscall\": \"nosuchcall\"}") ", \"vcpu\": " L("") "}",
			"unknown syscall");
	expect_bad_file("{\"main\": {\"default_action\": \"explode\", \"filter_action\": \"allow\","
			" \"filter\": []}, \"vcpu\": " L("") "}", "unknown action");
	expect_bad_file("{\"main\": {\"filter_action\": \"allow\", \"filter\": []}, \"vcpu\": "
			L("") "}", "needs");
	expect_bad_file("{\"main\": " L("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 6, "
			"\"type\": \"qword\", \"op\": \"eq\", \"val\": 1}]}") ", \"vcpu\": " L("") "}",
			"index");
	expect_bad_file("{\"main\": " L("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, "
			"\"type\": \"qword\", \"op\": \"like\", \"val\": 1}]}") ", \"vcpu\": " L("")
			"}", "op");
	expect_bad_file("{\"main\": " L("{\"syscall\": \"read\", \"extra\": 1}") ", \"vcpu\": "
			L("") "}", "unknown field");
	expect_bad_file("{\"main\": " L("") ", \"vcpu\": " L("{\"syscall\": \"ioctl\", "
			"\"args\": [{\"index\": 1, \"type\": \"word\", \"op\": \"eq\", \"val\": 1}]}")
			"}", "type");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_compiles),
		cmocka_unit_test(test_main_allowed),
		cmocka_unit_test(test_main_forbidden),
		cmocka_unit_test(test_vcpu),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_file_actions),
		cmocka_unit_test(test_file_fc_names),
		cmocka_unit_test(test_file_deny_list),
		cmocka_unit_test(test_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
