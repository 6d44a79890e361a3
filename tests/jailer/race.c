// SPDX-License-Identifier: Apache-2.0
/*
 * race.c - the jailer with an attacker who wins the race: runs the jailer's
 * steps (jail.h, linked from build/libjailer.a) in order, like main.c, and
 * after the step named on the command line swaps one path of the jail for a
 * symlink to a victim outside it, as a process running as the jail's uid
 * would between two steps.
 *
 *   race STEP WHAT VICTIM JAILER-ARGS...
 *
 * WHAT is "dev", "net" (dev/net), "run" (each replaced by a symlink to the
 * directory VICTIM), or "kvm", "tun" (dev/kvm, dev/net/tun: a symlink to the
 * file VICTIM). The swap is tried first as the jail's uid:gid (a forked
 * child that dropped to them) and, when that is refused, done as root
 * anyway. One line on stdout says which:
 *   "attacker: planted as uid N" or "attacker: refused as uid N: <error>"
 * Then the remaining steps run. Exit status as the jailer's (the last step
 * execs the jailed program); tests/jailer/run.sh checks that nothing outside
 * the jail changed.
 */
#include "jailer/jail.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Replace root/rel by a symlink to target, moving the old entry aside. */
static int plant(const char *root, const char *rel, const char *target)
{
	char path[2 * PATH_MAX], aside[2 * PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(aside, sizeof(aside), "%s.old", path);
	if (rename(path, aside) < 0 && errno != ENOENT)
		return -errno;
	if (symlink(target, path) < 0)
		return -errno;
	return 0;
}

/* Try the swap as uid:gid in a child; 0 or -errno. */
static int plant_as(uid_t uid, gid_t gid, const char *root, const char *rel, const char *target)
{
	int p[2], ret = -EIO;
	pid_t pid;

	if (pipe(p) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int r = -EPERM;

		close(p[0]);
		if (setgroups(0, NULL) == 0 && setresgid(gid, gid, gid) == 0 &&
		    setresuid(uid, uid, uid) == 0)
			r = plant(root, rel, target);
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &ret, sizeof(ret)) != sizeof(ret))
		ret = -EIO;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return ret;
}

int main(int argc, char **argv)
{
	static struct jail j;
	static const struct {
		const char *what, *rel;
	} targets[] = {
		{ "dev", "dev" }, { "net", "dev/net" }, { "run", "run" },
		{ "kvm", "dev/kvm" }, { "tun", "dev/net/tun" },
	};
	const char *rel = NULL;
	char err[1024];
	int ret;

	if (argc < 5) {
		fprintf(stderr, "usage: race STEP WHAT VICTIM JAILER-ARGS...\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (!strcmp(argv[2], targets[i].what))
			rel = targets[i].rel;
	if (!rel) {
		fprintf(stderr, "race: unknown target '%s'\n", argv[2]);
		return 2;
	}
	jail_init(&j);
	if (jail_args_parse(argc - 3, argv + 3, &j.a, err, sizeof(err))) {
		fprintf(stderr, "race: arguments: %s\n", err);
		return 2;
	}
	for (size_t i = 0; i < jail_n_steps; i++) {
		ret = jail_steps[i].run(&j, err, sizeof(err));
		if (ret)
			return jail_step_failed(&j, jail_steps[i].name, err);
		if (strcmp(jail_steps[i].name, argv[1]))
			continue;
		ret = plant_as(j.a.uid, j.a.gid, j.root, rel, argv[3]);
		if (ret == 0) {
			printf("attacker: planted as uid %u\n", (unsigned)j.a.uid);
		} else {
			printf("attacker: refused as uid %u: %s\n", (unsigned)j.a.uid, strerror(-ret));
			ret = plant(j.root, rel, argv[3]);
			if (ret) {
				fprintf(stderr, "race: planting %s as root: %s\n", rel, strerror(-ret));
				jail_undo(&j);
				return 2;
			}
		}
		fflush(stdout);
	}
	return 1;
}
