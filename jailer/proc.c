// SPDX-License-Identifier: Apache-2.0
/*
 * proc.c - the jailed process: step namespaces (setns into --netns, a mount
 * namespace of its own), step limits (rlimits; the forks of --daemonize and
 * --new-pid-ns, and the jailer command waiting for them; the pid file),
 * step privileges (the exec file checked, rootfs.c's hand-over, then
 * groups, gid, uid, capabilities, no_new_privs) and step exec.
 */
#include "jailer/proc.h"

#include "jailer/fs.h"
#include "jailer/jail.h"
#include "jailer/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

uint64_t jail_now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- step 4: namespaces ------------------------------------------------ */

int jail_namespaces(struct jail *j, char *err, size_t errlen)
{
	if (j->a.netns) {
		int fd = open(j->a.netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return jail_fail(err, errlen, errno, "--netns '%s'", j->a.netns);
		if (setns(fd, CLONE_NEWNET) < 0) {
			int e = errno;
			close(fd);
			return jail_fail(err, errlen, e, "setns(%s, CLONE_NEWNET)", j->a.netns);
		}
		close(fd);
	}
	/* Kept so undo can leave the jail's mount namespace again. */
	j->mntns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (j->mntns_fd < 0)
		return jail_fail(err, errlen, errno, "opening /proc/self/ns/mnt");
	/* The pid namespace comes in step 7, for the process that forks the
	 * one to exec. */
	if (unshare(CLONE_NEWNS) < 0)
		return jail_fail(err, errlen, errno, "unshare(CLONE_NEWNS)");
	j->unshared = true;
	return 0;
}

/* ---- step 7: limits, fds, session -------------------------------------- */

static int jail_write_pid_file(struct jail *j, pid_t pid, char *err, size_t errlen)
{
	char path[NAME_MAX + 8], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "/%s.pid", j->exec_name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return jail_fail(err, errlen, errno, "creating %s in the jail", path);
	n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (write(fd, buf, (size_t)n) != n) {
		int e = errno ? errno : EIO;
		close(fd);
		return jail_fail(err, errlen, e, "writing %s", path);
	}
	close(fd);
	return 0;
}

/* The jailer command's side of the forks: wait until every process forked
 * below has exec'd or exited (the status pipe reads EOF: exit 0) or one
 * failed (one byte; that process printed its own line). On failure, wait
 * for all of them to be gone (we are their subreaper), so the cgroups we
 * created are empty again, then undo and exit 1. Never returns. */
static void jail_parent_wait(struct jail *j, int rfd)
{
	ssize_t n;
	char b;

	do
		n = read(rfd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		_exit(0);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	jail_undo(j);
	_exit(1);
}

/* fork(); in the parent, close wfd and wait (jail_parent_wait): only the
 * child returns (0), with status_fd = wfd. -errno if fork failed. */
static int jail_fork_waiting(struct jail *j, int rfd, int wfd)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(wfd);
		jail_parent_wait(j, rfd);
	}
	close(rfd);
	j->status_fd = wfd;
	j->forked_child = true;
	return 0;
}

/* --new-pid-ns: unshare the pid namespace and fork its first process (pid
 * 1 there), which returns and goes on to exec. The forking process writes
 * the child's pid (as the host sees it) to the pid file; then it waits for
 * the child's exec (the jailer command itself) or exits 0 (a daemon's
 * intermediate process). */
static int jail_fork_pid_ns(struct jail *j, char *err, size_t errlen)
{
	int p[2] = { -1, -1 }, ret;
	pid_t pid;

	if (unshare(CLONE_NEWPID) < 0)
		return jail_fail(err, errlen, errno, "unshare(CLONE_NEWPID)");
	if (!j->forked_child && pipe2(p, O_CLOEXEC) < 0)
		return jail_fail(err, errlen, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		ret = jail_fail(err, errlen, errno, "fork into the new pid namespace");
		goto out;
	}
	if (pid == 0) {
		if (!j->forked_child) {
			close(p[0]);
			j->status_fd = p[1];
			j->forked_child = true;
		}
		j->start_cpu_us = 0;	/* as Firecracker: a fresh process */
		return 0;
	}
	if (p[1] >= 0)
		close(p[1]);
	p[1] = -1;
	ret = jail_write_pid_file(j, pid, err, errlen);
	if (ret) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	if (!j->forked_child)
		jail_parent_wait(j, p[0]);
	_exit(0);
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return ret;
}

/* --daemonize, as Firecracker: fork; the child calls setsid() and forks
 * again; the grandchild (in a session of its own, but not its leader, so
 * it can never get a controlling terminal) has stdio on /dev/null and goes
 * on to exec. The jailer command exits as soon as that exec happened (0),
 * or after undoing everything if a step before it failed (1). */
static int jail_daemonize(struct jail *j, char *err, size_t errlen)
{
	int p[2], ret;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return jail_fail(err, errlen, errno, "pipe");
	ret = jail_fork_waiting(j, p[0], p[1]);
	if (ret) {
		close(p[0]);
		close(p[1]);
		return jail_fail(err, errlen, -ret, "fork");
	}
	if (setsid() < 0)
		return jail_fail(err, errlen, errno, "setsid");
	pid = fork();
	if (pid < 0)
		return jail_fail(err, errlen, errno, "fork");
	if (pid > 0)
		_exit(0);
	if (dup2(j->devnull_fd, 0) < 0 || dup2(j->devnull_fd, 1) < 0 ||
	    dup2(j->devnull_fd, 2) < 0)
		return jail_fail(err, errlen, errno, "redirecting stdio to /dev/null");
	close(j->devnull_fd);
	j->devnull_fd = -1;
	return 0;
}

int jail_limits_session(struct jail *j, char *err, size_t errlen)
{
	struct rlimit rl;
	int ret;

	rl.rlim_cur = rl.rlim_max = j->a.nofile;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return jail_fail(err, errlen, errno, "setrlimit(RLIMIT_NOFILE, %llu)",
				 (unsigned long long)j->a.nofile);
	if (j->a.has_fsize) {
		rl.rlim_cur = rl.rlim_max = j->a.fsize;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			return jail_fail(err, errlen, errno, "setrlimit(RLIMIT_FSIZE, %llu)",
					 (unsigned long long)j->a.fsize);
	}
	/* Inherited fds were closed in step 0 and ours are O_CLOEXEC; make
	 * sure of it for anything a library may have opened since. */
	syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);

	/* Processes forked below whose parent exits come back to the jailer
	 * command, which can then wait for them all if one fails. */
	if ((j->a.daemonize || j->a.new_pid_ns) && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return jail_fail(err, errlen, errno, "prctl(PR_SET_CHILD_SUBREAPER)");
	if (j->a.new_pid_ns)
		j->parent_cpu_us = jail_now_us(CLOCK_PROCESS_CPUTIME_ID) - j->start_cpu_us;
	if (j->a.daemonize) {
		ret = jail_daemonize(j, err, errlen);
		if (ret)
			return ret;
	}
	if (j->a.new_pid_ns)
		return jail_fork_pid_ns(j, err, errlen);
	/* The process that will exec: its own pid. */
	return jail_write_pid_file(j, getpid(), err, errlen);
}

/* ---- step 8: privileges ------------------------------------------------ */

/* Would execve of /<exec name> be permitted for uid:gid (no groups)? Checked
 * while we can still clean up; after the drop we could not. */
static int jail_check_exec(struct jail *j, char *err, size_t errlen)
{
	char path[NAME_MAX + 2];
	unsigned char magic[4] = { 0 };
	struct stat st;
	mode_t bit;
	int fd;

	snprintf(path, sizeof(path), "/%s", j->exec_name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return jail_fail(err, errlen, e, "%s in the jail", path);
	}
	if (read(fd, magic, sizeof(magic)) < 2)
		magic[0] = 0;
	close(fd);
	if (st.st_uid == j->a.uid)
		bit = S_IXUSR;
	else if (st.st_gid == j->a.gid)
		bit = S_IXGRP;
	else
		bit = S_IXOTH;
	if (!(st.st_mode & bit))
		return jail_fail(err, errlen, EACCES, "%s is not executable by %u:%u", path,
				 (unsigned)j->a.uid, (unsigned)j->a.gid);
	if (memcmp(magic, "\177ELF", 4) && memcmp(magic, "#!", 2))
		return jail_fail(err, errlen, ENOEXEC, "%s", path);
	return 0;
}

int jail_drop_privileges(struct jail *j, char *err, size_t errlen)
{
	cap_t caps;
	int ret;

	ret = jail_check_exec(j, err, errlen);
	if (!ret)
		ret = jail_hand_over(j, err, errlen);
	if (ret)
		return ret;
	/* The bounding set can only be emptied while we hold CAP_SETPCAP,
	 * i.e. before setuid() takes our capabilities away. */
	for (int c = 0; c < (int)cap_max_bits(); c++)
		if (cap_drop_bound((cap_value_t)c) < 0 && errno != EINVAL)
			return jail_fail(err, errlen, errno, "dropping capability %d from the "
					 "bounding set", c);
	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() < 0)
		return jail_fail(err, errlen, errno, "clearing the ambient capabilities");
	if (setgroups(0, NULL) < 0)
		return jail_fail(err, errlen, errno, "setgroups(0)");
	if (setresgid(j->a.gid, j->a.gid, j->a.gid) < 0)
		return jail_fail(err, errlen, errno, "setresgid(%u)", (unsigned)j->a.gid);
	if (setresuid(j->a.uid, j->a.uid, j->a.uid) < 0)
		return jail_fail(err, errlen, errno, "setresuid(%u)", (unsigned)j->a.uid);
	/* setresuid() to a non-zero uid cleared them already; clear effective,
	 * permitted and inheritable explicitly all the same. */
	caps = cap_init();
	if (!caps)
		return jail_fail(err, errlen, errno, "cap_init");
	if (cap_set_proc(caps) < 0) {
		int e = errno;
		cap_free(caps);
		return jail_fail(err, errlen, e, "clearing capabilities");
	}
	cap_free(caps);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jail_fail(err, errlen, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}

/* ---- step 9: exec ------------------------------------------------------ */

int jail_exec(struct jail *j, char *err, size_t errlen)
{
	char path[NAME_MAX + 2], t0[24], t1[24], t2[24];
	char *envp[] = { NULL };
	char **argv;
	int n = 0;

	argv = calloc((size_t)j->a.n_extra + 10, sizeof(*argv));
	if (!argv)
		return jail_fail(err, errlen, ENOMEM, "building argv");
	snprintf(path, sizeof(path), "/%s", j->exec_name);
	snprintf(t0, sizeof(t0), "%llu", (unsigned long long)j->start_us);
	snprintf(t1, sizeof(t1), "%llu", (unsigned long long)j->start_cpu_us);
	snprintf(t2, sizeof(t2), "%llu", (unsigned long long)j->parent_cpu_us);
	argv[n++] = path;
	argv[n++] = "--id";
	argv[n++] = (char *)j->a.id;
	argv[n++] = "--start-time-us";
	argv[n++] = t0;
	argv[n++] = "--start-time-cpu-us";
	argv[n++] = t1;
	argv[n++] = "--parent-cpu-time-us";
	argv[n++] = t2;
	for (int i = 0; i < j->a.n_extra; i++)
		argv[n++] = j->a.extra[i];
	argv[n] = NULL;
	execve(path, argv, envp);
	int e = errno;
	free(argv);
	return jail_fail(err, errlen, e, "execve %s", path);
}
