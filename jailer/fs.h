/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs.h - the jailer's error lines and file helpers (fs.c), shared by its
 * steps.
 *
 * The *_at helpers work below a directory fd and never follow a symlink:
 * the jail stays root's until step privileges, and everything below its
 * root is created and handed over through them (SECURITY.md, "Jailer
 * findings"). They return 0 or an fd, or -errno; -ELOOP always means "a
 * symlink was in the way" and -EEXIST from jail_chown_at "not what the
 * jailer created there". jail_fail_at() turns those into error lines.
 */
#ifndef EMBER_JAILER_FS_H
#define EMBER_JAILER_FS_H

#include <stddef.h>
#include <sys/types.h>

/* Format err; append ": strerror(e)" when e != 0. Returns -e (or -EINVAL). */
int jail_fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Error line "<verb> <what>: <cause>" for a *_at helper's failure ret. */
int jail_fail_at(char *err, size_t errlen, int ret, const char *verb, const char *what);

/* out = a "/" b (b may be NULL: out = a). Returns 0 or -ENAMETOOLONG. */
int jail_join(char *out, size_t outlen, const char *a, const char *b);

/* Write the whole string to dirfd/name (an existing file). */
int jail_write_file(int dirfd, const char *name, const char *s);

/* Read up to len-1 bytes of dirfd/name, NUL-terminate, strip trailing space. */
int jail_read_file(int dirfd, const char *name, char *buf, size_t len);

/* Remove dirfd/name and everything below it, never following symlinks. */
void jail_rm_tree(int parent_fd, const char *name);

/* Open the directory rel ('/'-separated and relative; "" is dirfd itself)
 * below dirfd one component at a time, each with O_NOFOLLOW: a symlink
 * anywhere on the way fails with -ELOOP instead of being followed, a
 * component that is not a directory with -ENOTDIR, an empty, "." or ".."
 * one with -EINVAL. With mode >= 0 missing components are created (owned by
 * us, chmod'ed to exactly mode). Returns an O_CLOEXEC fd or -errno. */
int jail_open_dir_at(int dirfd, const char *rel, int mode);

/* jail_open_dir_at() on the directory part of rel; *name = its last
 * component. */
int jail_open_parent_at(int dirfd, const char *rel, int mode, const char **name);

/* Create the character device dirfd/name (which must not exist): owned by
 * us, mode exactly 0600. */
int jail_mknod_at(int dirfd, const char *name, dev_t dev);

/* chown dirfd/name ("": dirfd itself) to uid:gid, but only if it still is
 * what we created there: owned by us, a directory (dev == 0) or the
 * character device dev. Never follows a symlink: -ELOOP for one, -EEXIST
 * for anything else that is not ours. */
int jail_chown_at(int dirfd, const char *name, dev_t dev, uid_t uid, gid_t gid);

#endif
