// SPDX-License-Identifier: Apache-2.0
/*
 * jail.c - the jailer's steps in order (jail.h): the step table, the run
 * state, step 0 (inherited fds), step 1 (validate: the checks of
 * rootfs.c and cgroup.c), reporting a failed step, and undo.
 *
 * The steps live with what they work on: rootfs.c (the jail's file tree:
 * chroot, devices, pivot_root, the hand-over to uid:gid), cgroup.c
 * (cgroups v1 and v2), proc.c (namespaces, limits and forks, privileges,
 * exec); fs.c holds the error lines and the no-follow file helpers, deps.c
 * the libraries a dynamic exec file needs.
 *
 * Undo strategy: every directory we create is recorded as (parent dir fd,
 * name), the fds being opened on the host side before we leave it, so undo
 * works after pivot_root too; before removing anything undo goes back to
 * the original mount namespace (saved fd) so the jail root is no longer our
 * mount point. Cgroup membership is undone by writing our pid to the
 * cgroup.procs of the cgroups we came from (fds opened before joining).
 */
#include "jailer/jail.h"

#include "jailer/cgroup.h"
#include "jailer/fs.h"
#include "jailer/proc.h"
#include "jailer/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

const struct jail_step jail_steps[] = {
	{ "fds", jail_close_inherited_fds },
	{ "validate", jail_validate },
	{ "chroot", jail_make_root },
	{ "cgroup", jail_cgroups },
	{ "namespaces", jail_namespaces },
	{ "devices", jail_devices },
	{ "pivot_root", jail_pivot_root },
	{ "limits", jail_limits_session },
	{ "privileges", jail_drop_privileges },
	{ "exec", jail_exec },
};
const size_t jail_n_steps = sizeof(jail_steps) / sizeof(jail_steps[0]);

void jail_init(struct jail *j)
{
	memset(j, 0, sizeof(*j));
	j->start_us = jail_now_us(CLOCK_MONOTONIC);
	j->start_cpu_us = jail_now_us(CLOCK_PROCESS_CPUTIME_ID);
	j->err_fd = 2;
	j->base_parent_fd = -1;
	j->base_fd = -1;
	j->exec_dir_fd = -1;
	j->id_dir_fd = -1;
	j->devnull_fd = -1;
	j->status_fd = -1;
	j->mntns_fd = -1;
	j->root_fd = -1;
	for (unsigned i = 0; i < JAIL_MAX_CG_HIER; i++)
		j->hier[i].back_fd = -1;
}

int jail_step_failed(struct jail *j, const char *step, const char *err)
{
	if (j->err_fd >= 0)
		dprintf(j->err_fd, "ember-jailer: %s: %s\n", step, err);
	if (j->forked_child) {
		char b = 1;
		if (write(j->status_fd, &b, 1) < 0)
			jail_undo(j);
		_exit(1);
	}
	jail_undo(j);
	return 1;
}

/* ---- step 0 ------------------------------------------------------------ */

int jail_close_inherited_fds(struct jail *j, char *err, size_t errlen)
{
	/* close_range(2) needs Linux 5.9; fall back to a loop. */
	if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0) {
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 3; fd < (max > 0 ? max : 65536); fd++)
			close((int)fd);
	}
	/* Keep our own stderr for error lines even after --daemonize points
	 * fd 2 at /dev/null. */
	j->err_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	/* Firecracker's jailer clears the environment; ember gets none. */
	clearenv();
	return 0;
}

/* ---- step 1: validate -------------------------------------------------- */

int jail_validate(struct jail *j, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	ret = jail_exec_validate(j, err, errlen);
	if (!ret)
		ret = jail_base_validate(j, err, errlen);
	if (ret)
		return ret;
	if (j->a.netns && stat(j->a.netns, &st) < 0)
		return jail_fail(err, errlen, errno, "--netns '%s'", j->a.netns);
	ret = jail_uffd_validate(j, err, errlen);
	if (ret)
		return ret;
	return jail_cgroups_validate(j, err, errlen);
}

/* ---- undo -------------------------------------------------------------- */

void jail_undo(struct jail *j)
{
	/* Back to the host's mount namespace: the jail root stops being our
	 * mount point and can be removed. */
	if (j->unshared && j->mntns_fd >= 0)
		setns(j->mntns_fd, CLONE_NEWNS);
	jail_cgroups_undo(j);
	jail_root_undo(j);
}
