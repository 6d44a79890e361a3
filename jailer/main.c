// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer: build the jail step by step (jail.h), then exec ember.
 * On failure: one line "ember-jailer: <step>: <cause>" on stderr, everything
 * created so far removed, exit status 1.
 */
#include "jailer/jail.h"

#include <stdio.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

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
	for (size_t i = 0; i < jail_n_steps; i++)
		if (jail_steps[i].run(&j, err, sizeof(err)))
			return jail_step_failed(&j, jail_steps[i].name, err);
	return 1;	/* jail_exec returns only on failure */
}
