// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer: build the jail step by step (jail.h), then exec ember.
 * On failure: one line "ember-jailer: <step>: <cause>" on stderr, everything
 * created so far removed, exit status 1.
 */
#include "jail.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

static const struct {
	const char *name;
	int (*run)(struct jail *j, char *err, size_t errlen);
} jail_steps[] = {
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

/* Report a failed step, undo, return the exit status (1). In a forked
 * child the still privileged parent undoes instead, and we exit here. */
static int jail_step_failed(struct jail *j, const char *step, const char *err)
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

int main(int argc, char **argv)
{
	static struct jail j;	/* large: keep it off the stack */
	char err[1024];

	jail_init(&j);
	if (jail_args_parse(argc, argv, &j.a, err, sizeof(err))) {
		dprintf(2, "ember-jailer: arguments: %s\n", err);
		return 1;
	}
	if (j.a.help) {
		jail_usage(1);
		return 0;
	}
	if (j.a.version) {
		printf("ember-jailer v%s\n", EMBER_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(jail_steps) / sizeof(jail_steps[0]); i++)
		if (jail_steps[i].run(&j, err, sizeof(err)))
			return jail_step_failed(&j, jail_steps[i].name, err);
	return 1;	/* jail_exec returns only on failure */
}
