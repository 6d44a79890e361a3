/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup.h - the jailer's cgroups, v1 and v2 (cgroup.c): checked in step
 * validate, created and joined in step cgroup (jail_cgroups, jail.h),
 * removed again by jail_undo().
 */
#ifndef EMBER_JAILER_CGROUP_H
#define EMBER_JAILER_CGROUP_H

#include <stddef.h>

struct jail;

/* Part of step validate: every --cgroup controller is mounted (v1) or
 * available (v2); fills j->hier[] (mount, relative and full path of
 * <mount>/<parent>/<id> per hierarchy) and j->cg_hier[]. With v2 and no
 * --cgroup, --parent-cgroup must exist: the process only joins it. */
int jail_cgroups_validate(struct jail *j, char *err, size_t errlen);

/* Move back to the cgroups we came from and remove the cgroup directories
 * we created, deepest first. */
void jail_cgroups_undo(struct jail *j);

#endif
