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
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/sched.h>
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
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "src/config.h"
#include "src/config_json.h"
#include "src/evloop.h"
#include "src/i8042.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/util.h"
#include "virtio/blk_uring.h"
#include "virtio/ratelimit.h"
#include "src/seccomp.h"
#include "src/vcpu.h"

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

/* A new file named from tmpl (mkstemp) into path, holding data[0..len). */
static void make_tmp(char *path, const char *tmpl, const void *data, size_t len)
{
	int fd;

	strcpy(path, tmpl);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

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
	CHECK(ioctl(-1, KVM_GET_SREGS, NULL) < 0 && errno == EBADF);	/* vm_setup_vcpu */
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

static void *noop_thread(void *arg)
{
	return arg;
}

/* clone3 takes its flags from memory, where a filter cannot look: it used
 * to be allowed outright, so a compromised main thread could fork or enter
 * new namespaces with it. It must fail with ENOSYS (what glibc takes for an
 * old kernel), while pthread_create still works through clone. */
static void child_main_clone3(void)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	pthread_t t;
	long r;

	CHECK(seccomp_configure_default() == 0);
	main_allowed_calls();
	r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r == 0)
		_exit(0);	/* a new process: the filter let clone3 through */
	CHECK(r < 0 && errno == ENOSYS);
	ca.flags = CLONE_NEWNS | CLONE_NEWUSER;
	CHECK(syscall(SYS_clone3, &ca, sizeof(ca)) < 0 && errno == ENOSYS);
	CHECK(pthread_create(&t, NULL, noop_thread, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	_exit(0);
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
	 * libseccomp makes of the lists in src/seccomp_rules.c today. */
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

static void test_main_clone3(void **state)
{
	(void)state;
	assert_exit(run_child(child_main_clone3), 0);
}

/* ---- the main thread once the VM runs ---- */

/* What vm_start leaves behind, made before the filters: a thread that
 * stands for a vCPU (kicked with VCPU_KICK_SIGNAL), an event loop, a drive
 * file, a metrics file, rate limiters, an i8042 with an eventfd as its IRQ. */
static char run_drive[64], run_metrics[64];
static int run_mode;		/* 0: only allowed calls; N: forbidden call N at the end */
static volatile sig_atomic_t run_kicked;
static int run_pipe[2], run_irq_efd;

static void run_kick_handler(int sig)
{
	(void)sig;
	run_kicked++;
}

static void *run_vcpu_thread(void *arg)
{
	char b;

	(void)arg;
	while (read(run_pipe[0], &b, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void run_i8042_irq(void *opaque)
{
	uint64_t one = 1;

	(void)opaque;
	if (write(run_irq_efd, &one, sizeof(one)) != sizeof(one))
		_exit(CHILD_BROKEN);
}

static void run_i8042_reset(void *opaque)
{
	(void)opaque;
}

static void child_running(void)
{
	struct sigaction sa = { .sa_handler = run_kick_handler };
	struct ratelimit_config none = { 0 }, limited = {
		.bandwidth = { .set = true, .size = 4096, .refill_time_ms = 1000 } };
	struct config_drive d = { .fd = -1 };
	struct ratelimit rl;
	struct i8042 kbd;
	struct evloop *loop;
	pthread_t t;
	uint64_t v;
	char b = 'x', buf[16];
	int fd, fd2, ep, sp[2];
	void *m;

	CHECK(pipe(run_pipe) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	CHECK((run_irq_efd = eventfd(0, EFD_CLOEXEC)) >= 0);
	CHECK((ep = epoll_create1(EPOLL_CLOEXEC)) >= 0);
	CHECK((loop = evloop_create()) != NULL);
	CHECK(metrics_open(run_metrics) == 0);
	CHECK(ratelimit_init(&rl, &none) == 0);
	i8042_init(&kbd, run_i8042_irq, run_i8042_reset, NULL);
	CHECK(sigaction(VCPU_KICK_SIGNAL, &sa, NULL) == 0);
	int ufd = open(run_drive, O_RDWR | O_CLOEXEC);
	CHECK(ufd >= 0);
	CHECK(seccomp_configure_default() == 0);
	CHECK(seccomp_install_thread(SECCOMP_THREAD_MAIN) == 0);
	/* PUT /drives with io_engine Async, then InstanceStart: its ring
	 * (skipped where the host has no io_uring) */
	struct blk_uring *u = NULL;
	if (blk_uring_probe() == 0)
		CHECK(blk_uring_create(ufd, &u, buf, sizeof(buf)) == 0);
	CHECK(pthread_create(&t, NULL, run_vcpu_thread, NULL) == 0);
	CHECK(seccomp_install_thread(SECCOMP_THREAD_MAIN_RUNNING) == 0);
	/* an Async drive's I/O, its drain, PATCH /drives (a new file), teardown */
	if (u) {
		static char ubuf[512];
		struct iovec uv = { ubuf, sizeof(ubuf) };
		CHECK(blk_uring_rw(u, &uv, 1, 0, true) >= 0 && blk_uring_flush(u, true) >= 0);
		CHECK(blk_uring_rw(u, &uv, 1, 512, false) >= 0 && blk_uring_submit(u) == 3);
		CHECK(blk_uring_drain(u, NULL, NULL) == 0 && blk_uring_busy(u) == 0);
		CHECK(blk_uring_set_file(u, ufd) == 0);
		blk_uring_destroy(u);
	}
	CHECK(close(ufd) == 0);

	/* metrics_start right after vm_start, then FlushMetrics */
	CHECK(metrics_start(loop) == 0);
	CHECK(metrics_flush() == 0);
	/* PATCH /drives: a new backing file, read-only or read-write */
	snprintf(d.path_on_host, sizeof(d.path_on_host), "%s", run_drive);
	d.is_read_only = true;
	CHECK(config_json_drive_open(&d, buf, sizeof(buf)) == 0);
	CHECK(lseek(d.fd, 0, SEEK_END) == 4096);
	CHECK((fd = fcntl(d.fd, F_DUPFD_CLOEXEC, 3)) >= 0);
	CHECK(close(d.fd) == 0);
	d.is_read_only = false;
	CHECK(config_json_drive_open(&d, buf, sizeof(buf)) == 0);
	CHECK((fd2 = fcntl(d.fd, F_DUPFD_CLOEXEC, 3)) >= 0);
	/* blk I/O on it */
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	CHECK(pwritev(fd2, &iov, 1, 512) == sizeof(buf));
	CHECK(preadv(fd, &iov, 1, 512) == sizeof(buf));
	CHECK(fdatasync(fd2) == 0);
	CHECK(close(fd) == 0 && close(fd2) == 0 && close(d.fd) == 0);
	/* PATCH /network-interfaces (and /drives) rate limiters */
	ratelimit_update(&rl, &limited);
	ratelimit_charge(&rl, 1 << 20, 1);
	CHECK(!ratelimit_ready(&rl));	/* arms the timerfd */
	/* SendCtrlAltDel */
	CHECK(i8042_ctrl_alt_del(&kbd) == 0);
	CHECK(read(run_irq_efd, &v, sizeof(v)) == sizeof(v));
	/* PATCH /vm Paused: kick the "vCPU" */
	CHECK(pthread_kill(t, VCPU_KICK_SIGNAL) == 0);
	/* devices, API connections, event loop, memory, time */
	CHECK(write(run_pipe[1], &b, 1) == 1);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(send(sp[0], &b, 1, MSG_NOSIGNAL) == 1 && recv(sp[1], &b, 1, 0) == 1);
	struct epoll_event ev;
	CHECK(epoll_wait(ep, &ev, 1, 0) == 0);
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED && munmap(m, 1 << 20) == 0);
	free(malloc(1 << 22));
	CHECK(ioctl(-1, KVM_IRQ_LINE, NULL) < 0 && errno == EBADF);
	CHECK(ioctl(-1, KVM_IRQFD, NULL) < 0 && errno == EBADF);
	CHECK(ioctl(-1, KVM_IOEVENTFD, NULL) < 0 && errno == EBADF);
	CHECK(ioctl(-1, TUNSETOFFLOAD, 0) < 0 && errno == EBADF);
	CHECK(ioctl(-1, TCSETS, NULL) < 0 && errno == EBADF);
	/* PUT /snapshot/create: the state and memory files, written only;
	 * /proc/self/pagemap read */
	CHECK((fd = open(run_metrics, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0);
	struct iovec page = { buf, 16 };
	CHECK(ftruncate(fd, 8192) == 0 && util_rwv_full(fd, &page, 1, 4096, true) == 0 &&
	      close(fd) == 0);
	CHECK((fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) >= 0);
	CHECK(pread(fd, &v, sizeof(v), 0) == sizeof(v) && close(fd) == 0);
	CHECK(ioctl(-1, KVM_GET_DIRTY_LOG, NULL) < 0 && errno == EBADF);
	CHECK(ioctl(-1, KVM_GET_MSRS, NULL) < 0 && errno == EBADF);
	/* exit: the metrics' last line; api_destroy's unlink fails quietly */
	metrics_stop();
	CHECK(unlink(run_drive) < 0 && errno == EPERM);

	switch (run_mode) {
	case 1:
		ioctl(-1, KVM_CREATE_VM, 0);
		break;
	case 2:
		ioctl(-1, KVM_CREATE_VCPU, 0);
		break;
	case 3:
		ioctl(-1, KVM_SET_USER_MEMORY_REGION, NULL);
		break;
	case 4:
		ioctl(-1, TUNSETIFF, NULL);	/* attach to (or create) another tap */
		break;
	case 5:	/* snapshot files are write-only: a read-write create is not */
		open(run_metrics, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		break;
	case 6:
		open(run_drive, O_RDWR | O_TRUNC | O_CLOEXEC);
		break;
	case 7:
		pthread_create(&t, NULL, noop_thread, NULL);	/* clone3, then clone */
		break;
	case 8:
		syscall(SYS_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
			CLONE_THREAD, NULL, NULL, NULL, 0);
		break;
	case 9:
		syscall(SYS_tgkill, getppid(), getppid(), VCPU_KICK_SIGNAL);	/* not ember */
		break;
	case 10:
		syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);	/* another signal */
		break;
	case 11:
		syscall(SYS_tgkill, (1ul << 32) | (unsigned long)getpid(), gettid(),
			VCPU_KICK_SIGNAL);
		break;
	case 12:
		ioctl(-1, KVM_SET_REGS, NULL);	/* vCPU set-up is over */
		break;
	case 13:
		prctl(PR_SET_NAME, "x");
		break;
	/* Nothing in ember makes these (glibc's unlink, stat and epoll_wait
	 * use unlink, newfstatat and epoll_wait, as above): not allowed. */
	case 14:
		syscall(SYS_unlinkat, AT_FDCWD, run_drive, 0);
		break;
	case 15: {
		struct statx stx;
		syscall(SYS_statx, AT_FDCWD, run_drive, 0, STATX_BASIC_STATS, &stx);
		break;
	}
	case 16:
		syscall(SYS_epoll_pwait, ep, &ev, 1, 0, NULL, 8);
		break;
	/* io_uring: no new ring and no other register call once the VM runs */
	case 17: {
		struct io_uring_params up = { 0 };
		syscall(SYS_io_uring_setup, 1, &up);
		break;
	}
	case 18:
		syscall(SYS_io_uring_register, -1, IORING_REGISTER_FILES, NULL, 0);
		break;
	}
	_exit(run_mode ? CHILD_SURVIVED : 0);
}

static void running_files(void)
{
	static const char z[4096];

	make_tmp(run_drive, "/tmp/ember-seccomp-drive-XXXXXX", z, sizeof(z));
	make_tmp(run_metrics, "/tmp/ember-seccomp-metrics-XXXXXX", "", 0);
	unlink(run_metrics);	/* metrics_open creates it (before the filters) */
}

static void test_main_running(void **state)
{
	(void)state;
	running_files();
	run_mode = 0;
	assert_exit(run_child(child_running), 0);
	assert_int_equal(access(run_drive, F_OK), 0);	/* the refused unlink */
	for (run_mode = 1; run_mode <= 18; run_mode++) {
		int st = run_child(child_running);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
			fail_msg("running VM, forbidden call %d: status 0x%x (exit %d)", run_mode,
				 st, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	unlink(run_drive);
	unlink(run_metrics);
}

/* The start-up main filter already limits tgkill to ember's own threads and
 * the kick signal (and the pid is the one of the process that configured). */
static int tgkill_mode;

static void child_main_tgkill(void)
{
	struct sigaction sa = { .sa_handler = run_kick_handler };

	CHECK(sigaction(VCPU_KICK_SIGNAL, &sa, NULL) == 0);
	CHECK(seccomp_configure_default() == 0);
	main_allowed_calls();
	CHECK(syscall(SYS_tgkill, getpid(), gettid(), VCPU_KICK_SIGNAL) == 0 && run_kicked == 1);
	if (tgkill_mode == 1)
		syscall(SYS_tgkill, getppid(), getppid(), VCPU_KICK_SIGNAL);
	else if (tgkill_mode == 2)
		syscall(SYS_tgkill, getpid(), gettid(), SIGTERM);
	else if (tgkill_mode == 3)
		syscall(SYS_kill, getpid(), VCPU_KICK_SIGNAL);
	_exit(tgkill_mode ? CHILD_SURVIVED : 0);
}

static void test_main_tgkill(void **state)
{
	(void)state;
	tgkill_mode = 0;
	assert_exit(run_child(child_main_tgkill), 0);
	for (tgkill_mode = 1; tgkill_mode <= 3; tgkill_mode++)
		assert_sigsys(run_child(child_main_tgkill));
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
	make_tmp(tmp_path, "/tmp/ember-seccomp-XXXXXX", text, strlen(text));
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
	expect_bad_file("{\"main\": " L("") ", \"vcpu\": " L("") ", \"x\": 1}",
			"top level: unknown field \"x\"");
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

/* Six argument checks in one "args" and six more in a second "args" key of
 * the same rule: cJSON keeps both, and the rule builder used to write all 12
 * into its 6-entry arrays (ASan: stack-buffer-overflow in sc_add_rule). */
#define ARG6(i) "{\"index\": " #i ", \"type\": \"qword\", \"op\": \"eq\", \"val\": 1}"
#define ARGS6 "[" ARG6(0) ", " ARG6(1) ", " ARG6(2) ", " ARG6(3) ", " ARG6(4) ", " ARG6(5) "]"

static void test_file_duplicate_keys(void **state)
{
	(void)state;
	expect_bad_file("{\"main\": " L("{\"syscall\": \"ioctl\", \"args\": " ARGS6 ", \"args\": "
			ARGS6 "}") ", \"vcpu\": " L("") "}",
			"main.filter[0]: duplicate key \"args\"");
	expect_bad_file("{\"main\": " L("") ", \"vcpu\": " L("{\"syscall\": \"read\"}, "
			"{\"syscall\": \"ioctl\", \"syscall\": \"execve\"}") "}",
			"vcpu.filter[1]: duplicate key \"syscall\"");
	expect_bad_file("{\"main\": " L("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, "
			"\"index\": 2, \"type\": \"qword\", \"op\": \"eq\", \"val\": 1}]}") ", "
			"\"vcpu\": " L("") "}", "main.filter[0]: duplicate key \"index\"");
	expect_bad_file("{\"main\": {\"default_action\": \"trap\", \"filter_action\": "
			"\"allow\", \"filter\": [], \"default_action\": \"allow\"}, \"vcpu\": " L("")
			"}", "main: duplicate key \"default_action\"");
	expect_bad_file("{\"main\": " L("") ", \"vcpu\": " L("") ", \"vcpu\": " L("") "}",
			"top level: duplicate key \"vcpu\"");
	expect_bad_file("{\"vmm\": " L("{\"syscall\": \"read\"}") ", \"api\": " L("") ", "
			"\"vcpu\": " L("") ", \"api\": " L("") "}", "top level: duplicate key \"api\"");
	/* one "args" with more than six entries, and the two category sets mixed */
	expect_bad_file("{\"main\": " L("{\"syscall\": \"ioctl\", \"args\": [" ARG6(0) ", "
			ARG6(1) ", " ARG6(2) ", " ARG6(3) ", " ARG6(4) ", " ARG6(5) ", " ARG6(0) "]}")
			", \"vcpu\": " L("") "}", "main.filter[0].args: more than 6 entries");
	expect_bad_file("{\"main\": " L("") ", \"api\": " L("") ", \"vcpu\": " L("") "}",
			"mixes the two sets");
	/* messages stay on one line whatever the file's strings hold */
	expect_bad_file("{\"main\": " L("{\"syscall\": \"re\\nad\"}") ", \"vcpu\": " L("") "}",
			"unknown syscall \"re?ad\"");
	/* the largest legal rule still works */
	write_tmp("{\"main\": " L("{\"syscall\": \"ioctl\", \"args\": " ARGS6 "}") ", \"vcpu\": "
		  L("") "}");
	char err[256] = "";
	assert_int_equal(seccomp_configure_file(tmp_path, err, sizeof(err)), 0);
	unlink(tmp_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_compiles),
		cmocka_unit_test(test_main_allowed),
		cmocka_unit_test(test_main_forbidden),
		cmocka_unit_test(test_main_clone3),
		cmocka_unit_test(test_main_tgkill),
		cmocka_unit_test(test_main_running),
		cmocka_unit_test(test_vcpu),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_file_actions),
		cmocka_unit_test(test_file_fc_names),
		cmocka_unit_test(test_file_deny_list),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_duplicate_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
