// SPDX-License-Identifier: Apache-2.0
/*
 * fs.c - the jailer's error lines and file helpers (fs.h): small reads and
 * writes of one file (cgroup values), removing a tree (undo), and the
 * helpers that create, open and hand over what is below the jail root
 * through directory fds, one component at a time, never following a
 * symlink.
 */
#include "jailer/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jail_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (e && n < errlen)
		snprintf(err + n, errlen - n, ": %s", strerror(e));
	return e ? -e : -EINVAL;
}

int jail_fail_at(char *err, size_t errlen, int ret, const char *verb, const char *what)
{
	if (ret == -ELOOP)
		return jail_fail(err, errlen, 0, "%s %s: a symlink on the way, not followed", verb,
				 what);
	if (ret == -EEXIST)
		return jail_fail(err, errlen, 0, "%s %s: no longer what the jailer created there",
				 verb, what);
	return jail_fail(err, errlen, -ret, "%s %s", verb, what);
}

int jail_join(char *out, size_t outlen, const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;

	if (la + 1 + lb >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, a, la);
	out[la] = '\0';
	if (b) {
		out[la] = '/';
		memcpy(out + la + 1, b, lb + 1);
	}
	return 0;
}

int jail_write_file(int dirfd, const char *name, const char *s)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : EIO;
		close(fd);
		return -e;
	}
	if (close(fd) < 0)
		return -errno;
	return 0;
}

int jail_read_file(int dirfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

void jail_rm_tree(int parent_fd, const char *name)
{
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		DIR *d = fdopendir(fd);
		struct dirent *de;

		if (!d) {
			close(fd);
		} else {
			while ((de = readdir(d))) {
				struct stat st;

				if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
					continue;
				if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				    S_ISDIR(st.st_mode))
					jail_rm_tree(dirfd(d), de->d_name);
				else
					unlinkat(dirfd(d), de->d_name, 0);
			}
			closedir(d);
		}
	}
	unlinkat(parent_fd, name, AT_REMOVEDIR);
}

int jail_open_dir_at(int dirfd, const char *rel, int mode)
{
	char comp[NAME_MAX + 1];
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (*rel) {
		const char *slash = strchr(rel, '/');
		size_t n = slash ? (size_t)(slash - rel) : strlen(rel);
		bool made = false;
		struct stat st;
		int sub, e;

		e = n > NAME_MAX ? ENAMETOOLONG : 0;
		if (n == 0 || (n == 1 && rel[0] == '.') || (n == 2 && !strncmp(rel, "..", 2)))
			e = EINVAL;
		if (e)
			goto fail;
		memcpy(comp, rel, n);
		comp[n] = '\0';
		if (mode >= 0) {
			made = mkdirat(fd, comp, (mode_t)mode) == 0;
			if (!made && errno != EEXIST) {
				e = errno;
				goto fail;
			}
		}
		sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			e = errno;
			/* O_DIRECTORY reports a symlink as ENOTDIR: say what it is. */
			if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				e = ELOOP;
			goto fail;
		}
		close(fd);
		fd = sub;
		if (made && fchmod(fd, (mode_t)mode) < 0) {
			e = errno;
			goto fail;
		}
		rel += n + (slash ? 1 : 0);
		continue;
fail:
		close(fd);
		return -e;
	}
	return fd;
}

int jail_open_parent_at(int dirfd, const char *rel, int mode, const char **name)
{
	const char *slash = strrchr(rel, '/');
	char dir[PATH_MAX];

	*name = slash ? slash + 1 : rel;
	if (strlen(rel) >= sizeof(dir))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - rel) : 0, rel);
	return jail_open_dir_at(dirfd, dir, mode);
}

int jail_mknod_at(int dirfd, const char *name, dev_t dev)
{
	mode_t old = umask(0);
	int ret = mknodat(dirfd, name, S_IFCHR | 0600, dev) < 0 ? -errno : 0;

	umask(old);
	return ret;
}

int jail_chown_at(int dirfd, const char *name, dev_t dev, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd, ret = 0;

	fd = openat(dirfd, *name ? name : ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (S_ISLNK(st.st_mode))
		ret = -ELOOP;
	else if (st.st_uid != geteuid() ||
		 (dev ? !S_ISCHR(st.st_mode) || st.st_rdev != dev : !S_ISDIR(st.st_mode)))
		ret = -EEXIST;
	else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

