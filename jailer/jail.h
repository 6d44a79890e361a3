/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jail.h - ember-jailer: build a jail, then exec ember inside it.
 *
 * Command line compatible with Firecracker's jailer (docs/jailer.md):
 *   ember-jailer --id ID --exec-file PATH --uid N --gid N
 *                [--chroot-base-dir DIR (/srv/jailer)] [--netns PATH]
 *                [--daemonize] [--new-pid-ns] [--cgroup FILE=VALUE]...
 *                [--cgroup-version 1|2] [--parent-cgroup PATH]
 *                [--resource-limit fsize=N|no-file=N]... [--version] [--help]
 *                [-- ARGS FOR EMBER...]
 * As in Firecracker, every flag takes its value as the next argv entry
 * ("--id=x" is rejected), a value may not start with "--", and a flag may
 * not repeat unless it is --cgroup or --resource-limit.
 *
 * The jail is <base>/<exec name>/<id>/root. The exec'd program runs as
 *   /<exec name> --id ID --start-time-us T --start-time-cpu-us T
 *                --parent-cpu-time-us T [ARGS FOR EMBER...]
 * with an empty environment, fds 0-2 only, the given uid/gid, no
 * supplementary groups, every capability (including the bounding and ambient
 * sets) dropped and no_new_privs set.
 *
 * main.c runs the steps below in order (jail_steps[], jail.c). Each returns
 * 0 or -errno and, on error, writes one line into err naming the cause.
 * After a failure jail_step_failed() calls jail_undo(), which removes
 * everything the earlier steps created (jail directories, cgroup
 * directories, our own cgroup membership), even after pivot_root: the undo
 * works through directory fds opened on the host side before the jail was
 * entered.
 */
#ifndef EMBER_JAIL_H
#define EMBER_JAIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jailer/deps.h"

#define JAIL_ID_MAX          64
#define JAIL_MAX_CGROUP_ARGS 32
#define JAIL_MAX_CG_DIRS     128	/* cgroup directories we may create */
#define JAIL_MAX_CG_HIER     16		/* distinct cgroup hierarchies */
#define JAIL_DEFAULT_BASE    "/srv/jailer"
#define JAIL_DEFAULT_NOFILE  2048

/* What the command line asked for (jail_args_parse). Strings point into argv. */
struct jail_args {
	const char *id;
	const char *exec_file;
	uid_t uid;
	gid_t gid;
	const char *chroot_base;
	const char *netns;		/* NULL: stay in the current netns */
	bool daemonize;
	bool new_pid_ns;
	int cgroup_version;		/* 1 or 2 */
	const char *parent_cgroup;	/* NULL: the exec file's name */
	unsigned n_cgroups;
	struct {
		const char *arg;	/* "cpu.shares=2" as given */
		char file[128];		/* "cpu.shares" */
		char controller[64];	/* "cpu" */
		const char *value;	/* "2" */
	} cgroups[JAIL_MAX_CGROUP_ARGS];
	bool has_fsize;
	uint64_t fsize;			/* RLIMIT_FSIZE */
	uint64_t nofile;		/* RLIMIT_NOFILE, default 2048 */
	bool userfaultfd;		/* --userfaultfd: /dev/userfaultfd in the jail */
	bool version;			/* --version: print and exit */
	bool help;			/* --help: print usage and exit */
	int n_extra;			/* arguments after "--" */
	char **extra;
};

/* A cgroup hierarchy the jailed process joins: <mount>/<parent>/<id>. */
struct jail_cg_hier {
	char mount[PATH_MAX];		/* e.g. /sys/fs/cgroup/cpu */
	char rel[PATH_MAX];		/* e.g. ember/myid */
	char dir[PATH_MAX];		/* e.g. /sys/fs/cgroup/cpu/ember/myid */
	char controller[64];		/* one controller of it (v1), "" for v2 */
	bool cpuset;			/* v1 cpuset: copy cpus/mems down */
	int back_fd;			/* our original cgroup.procs, to move back */
	bool joined;
};

/* Run state: the parsed arguments plus everything needed to undo. */
struct jail {
	struct jail_args a;
	char exec_path[PATH_MAX];	/* canonical exec file */
	const char *exec_name;		/* its last component */
	struct deps *deps;		/* interpreter + libraries to copy (step 1) */
	char base[PATH_MAX];		/* canonical chroot base */
	char root[PATH_MAX];		/* <base>/<exec name>/<id>/root */
	uint64_t start_us;		/* CLOCK_MONOTONIC at jailer start */
	uint64_t start_cpu_us;		/* process CPU time at jailer start */
	uint64_t parent_cpu_us;		/* jailer CPU time before the pid-ns fork */
	int err_fd;			/* our stderr, kept across daemonizing */

	/* undo records: "unlinkat(fd, name)" for every directory we created */
	int base_parent_fd;		/* parent of <base>, if we created <base> */
	char base_name[NAME_MAX + 1];
	int base_fd;			/* <base> */
	bool made_exec_dir;		/* we created <base>/<exec name> */
	int exec_dir_fd;		/* <base>/<exec name>: holds <id> */
	bool made_id_dir;
	int id_dir_fd;			/* <base>/<exec name>/<id> */
	bool made_root_dir;		/* we created <id>/root */
	int root_fd;			/* the jail root, also after pivot_root */
	/* A jail root made beforehand (rootfs.c, jail_make_root): undo removes
	 * only what we put in it and gives it and its /run back their owner
	 * and mode. */
	bool made_run_dir;		/* we created /run in it */
	struct jail_dir_was {
		bool valid;
		mode_t mode;
		uid_t uid;
		gid_t gid;
	} root_was, run_was;
	int mntns_fd;			/* the host's mount namespace */
	bool unshared;			/* we left it (step 4) */
	bool pivoted;			/* step 6 reached pivot_root */
	unsigned n_hier;
	unsigned cg_hier[JAIL_MAX_CGROUP_ARGS];	/* --cgroup i -> hier[] index */
	struct jail_cg_hier hier[JAIL_MAX_CG_HIER];
	unsigned n_cg_dirs;
	struct {
		int parent_fd;
		char name[NAME_MAX + 1];
	} cg_dirs[JAIL_MAX_CG_DIRS];

	int devnull_fd;			/* for --daemonize, opened before pivot */
	dev_t uffd_rdev;		/* --userfaultfd: the host's /dev/userfaultfd (step 1) */
	int status_fd;			/* -> the jailer command: failure pipe, or -1 */
	bool forked_child;		/* we were forked in step 7 */
};

/* --userfaultfd: the host's /dev/userfaultfd is a character device (its
 * number varies: a dynamic misc minor); j->uffd_rdev gets it. Without the
 * flag: 0. Step 1 (validate). */
int jail_uffd_validate(struct jail *j, char *err, size_t errlen);

/* Parse argv (argv[0] is the program name). Syntax only: the id rules,
 * numbers, cgroup KEY=VALUE and limit syntax, parent cgroup path; no file
 * system access. Returns 0, or -EINVAL with one line in err. */
int jail_args_parse(int argc, char **argv, struct jail_args *a, char *err, size_t errlen);

/* Firecracker's instance id rule: 1..64 chars of [A-Za-z0-9-]. */
bool jail_id_valid(const char *id);

/* Print the usage text to fd. */
void jail_usage(int fd);

/* Set up run state (no side effects besides clock reads). */
void jail_init(struct jail *j);

/* One step: its name (in "ember-jailer: <name>: <cause>") and what it runs. */
struct jail_step {
	const char *name;
	int (*run)(struct jail *j, char *err, size_t errlen);
};

/* The steps below, in the order they run: "fds", "validate", "chroot",
 * "cgroup", "namespaces", "devices", "pivot_root", "limits", "privileges",
 * "exec". */
extern const struct jail_step jail_steps[];
extern const size_t jail_n_steps;

/* Report a failed step on our stderr ("ember-jailer: <step>: <err>"), undo,
 * return the exit status (1). In a process forked in step 7 it tells the
 * jailer command, which undoes (or undoes itself if it cannot), and exits
 * 1. */
int jail_step_failed(struct jail *j, const char *step, const char *err);

/* The steps, in the order main.c runs them. */
/* 0. close every inherited fd but 0-2 (first thing, before we open ours). */
int jail_close_inherited_fds(struct jail *j, char *err, size_t errlen);
/* 1. file system checks: exec file is a regular file (and, if dynamically
 *    linked, its interpreter and every library it needs can be found),
 *    base dir usable, netns file exists, every cgroup controller is mounted
 *    (v1) / available (v2). */
int jail_validate(struct jail *j, char *err, size_t errlen);
/* 2. create <base>/<exec name>/<id>/root, copy the exec file in, create
 *    /dev, /dev/net, /run (0700, root-owned until step 8). As with
 *    Firecracker, <id> and <id>/root may have been made beforehand (Kata
 *    puts its files and /run there): each must then be a directory that is
 *    root's and writable by root alone, and so must a /run in it; nothing
 *    else the jailer creates may be there yet (a jail used before is
 *    refused). For a dynamically linked exec file also copy its ELF
 *    interpreter and shared libraries (found in step 1, deps.h) to the same
 *    paths in the jail: root-owned, read-only (0444; the interpreter 0555),
 *    parent directories root-owned 0755. Everything below the root is
 *    created through directory fds, never following a symlink. */
int jail_make_root(struct jail *j, char *err, size_t errlen);
/* 3. create <mount>/<parent>/<id> per hierarchy, write the values, join. */
int jail_cgroups(struct jail *j, char *err, size_t errlen);
/* 4. setns(netns); unshare(CLONE_NEWNS). */
int jail_namespaces(struct jail *j, char *err, size_t errlen);
/* 5. device nodes inside the jail (/dev/kvm, /dev/net/tun, /dev/urandom),
 *    mode 0600, root-owned until step 8; refused if /dev or /dev/net is no
 *    longer the directory step 2 made (e.g. a symlink). */
int jail_devices(struct jail *j, char *err, size_t errlen);
/* 6. make mounts slaves (nothing propagates to the host; host mounts below
 *    the jail root still reach it, as with Firecracker), bind the root on
 *    itself with what is mounted below it, pivot_root, drop the old root. */
int jail_pivot_root(struct jail *j, char *err, size_t errlen);
/* 7. rlimits; check fds; --daemonize: fork, setsid(), fork again, stdio on
 *    /dev/null (the grandchild goes on; it leads no session, so it can never
 *    get a controlling terminal); --new-pid-ns: unshare(CLONE_NEWPID) and
 *    fork (the child, pid 1 there, goes on). The pid file gets the pid of
 *    the process that will exec, written by it or, with --new-pid-ns, by
 *    the process that forked it. The jailer command itself does not return
 *    from here when it forked: it exits 0 once every process it forked has
 *    exec'd or exited, or, if one failed, waits for them all (it is their
 *    subreaper), undoes everything and exits 1. */
int jail_limits_session(struct jail *j, char *err, size_t errlen);
/* 8. check the exec file; hand the device nodes, /dev, /dev/net, /run and /
 *    of the jail to uid:gid (through fds, refusing anything that is not
 *    what steps 2 and 5 created); drop supplementary groups, gid, uid,
 *    every capability; no_new_privs. */
int jail_drop_privileges(struct jail *j, char *err, size_t errlen);
/* 9. execve the copied program. Returns only on failure. */
int jail_exec(struct jail *j, char *err, size_t errlen);

/* Remove everything the steps created so far. Safe to call at any point,
 * once. */
void jail_undo(struct jail *j);

#endif
