/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rootfs.h - the jail's file tree (rootfs.c): the parts of steps validate
 * and privileges that concern it, a copy into the jail, and its undo.
 * Steps chroot, devices and pivot_root (jail.h) are in rootfs.c too.
 */
#ifndef EMBER_JAILER_ROOTFS_H
#define EMBER_JAILER_ROOTFS_H

#include <stddef.h>

struct jail;

/* Part of step validate: --exec-file is a regular file (j->exec_path
 * canonical, j->exec_name its last component) and, if dynamically linked,
 * its interpreter and every library it needs are found (j->deps). */
int jail_exec_validate(struct jail *j, char *err, size_t errlen);

/* Part of step validate: --chroot-base-dir is a directory, or missing with
 * a parent that exists (step chroot creates it); sets j->base (canonical)
 * and j->root (<base>/<exec name>/<id>/root). */
int jail_base_validate(struct jail *j, char *err, size_t errlen);

/* Copy the host file src to the absolute, normalised jail path dst (below
 * root_fd), creating missing parent directories root-owned 0755 (the jail
 * user can read them, not change them), none of them followed if a
 * symlink; the file gets exactly mode (mode < 0: src's permission bits
 * minus set-id/sticky) and must not exist yet. */
int jail_copy_into(struct jail *j, int root_fd, const char *src, const char *dst, int mode,
		   char *err, size_t errlen);

/* Part of step privileges: give the device nodes, /dev/net, /dev, /run and
 * / of the jail to uid:gid, deepest first, through fds, refusing a symlink
 * or anything that is not what steps chroot and devices created. */
int jail_hand_over(struct jail *j, char *err, size_t errlen);

/* Remove the jail directories we created (the <id> tree, <exec name> and
 * <base> if we made them) and close their fds. */
void jail_root_undo(struct jail *j);

#endif
