// SPDX-License-Identifier: Apache-2.0
/*
 * jail.c - the jailer's steps (see jail.h for the order and contracts).
 *
 * Undo strategy: every directory we create is recorded as (parent dir fd,
 * name), the fds being opened on the host side before we leave it, so undo
 * works after pivot_root too; before removing anything undo goes back to
 * the original mount namespace (saved fd) so the jail root is no longer our
 * mount point. Cgroup membership is undone by writing our pid to the
 * cgroup.procs of the cgroups we came from (fds opened before joining).
 */
#include "jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The device nodes of the jail (Documentation/admin-guide/devices.txt).
 * KVM and TUN have fixed misc minors, so like Firecracker we create their
 * nodes whether or not the host has them right now (opening one then fails
 * with ENODEV / ENXIO until the module is loaded). No /dev/userfaultfd:
 * ember does not use it. Step privileges hands these to uid:gid in this
 * order, deepest first: each while its parent directory is still root's. */
static const struct jail_node {
	const char *path;	/* below the jail root */
	unsigned major, minor;	/* 0:0 for a directory */
} jail_owned[] = {
	{ "dev/kvm", 10, 232 },
	{ "dev/net/tun", 10, 200 },
	{ "dev/urandom", 1, 9 },
	/* the directories, handed over with the nodes (step privileges) */
	{ "dev/net", 0, 0 },
	{ "dev", 0, 0 },
	{ "run", 0, 0 },
};

static int jail_fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Format err; append ": strerror(e)" when e != 0. Returns -e (or -EINVAL). */
static int jail_fail(char *err, size_t errlen, int e, const char *fmt, ...)
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

static uint64_t jail_now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

void jail_init(struct jail *j)
{
	memset(j, 0, sizeof(*j));
	j->start_us = jail_now_us(CLOCK_MONOTONIC);
	j->start_cpu_us = jail_now_us(CLOCK_PROCESS_CPUTIME_ID);
	j->err_fd = 2;
	j->base_parent_fd = -1;
	j->base_fd = -1;
	j->exec_dir_fd = -1;
	j->devnull_fd = -1;
	j->status_fd = -1;
	j->mntns_fd = -1;
	j->root_fd = -1;
	for (unsigned i = 0; i < JAIL_MAX_CG_HIER; i++)
		j->hier[i].back_fd = -1;
}

/* ---- small file helpers ------------------------------------------------ */

/* out = a "/" b (b may be NULL: out = a). Returns 0 or -ENAMETOOLONG. */
static int jail_join(char *out, size_t outlen, const char *a, const char *b)
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

/* Write the whole string to dirfd/name (an existing file). */
static int jail_write_file(int dirfd, const char *name, const char *s)
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

/* Read up to len-1 bytes of dirfd/name, NUL-terminate, strip trailing space. */
static int jail_read_file(int dirfd, const char *name, char *buf, size_t len)
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

/* Remove dirfd/name and everything below it, never following symlinks. */
static void jail_rm_tree(int parent_fd, const char *name)
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

/* ---- without following symlinks --------------------------------------- */

/* Open the directory rel ('/'-separated and relative; "" is dirfd itself)
 * below dirfd one component at a time, each with O_NOFOLLOW: a symlink
 * anywhere on the way fails with -ELOOP instead of being followed, a
 * component that is not a directory with -ENOTDIR, an empty, "." or ".."
 * one with -EINVAL. With mode >= 0 missing components are created (owned by
 * us, chmod'ed to exactly mode). Returns an O_CLOEXEC fd or -errno. */
static int jail_open_dir_at(int dirfd, const char *rel, int mode)
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

/* jail_open_dir_at() on the directory part of rel; *name = its last
 * component. */
static int jail_open_parent_at(int dirfd, const char *rel, int mode, const char **name)
{
	const char *slash = strrchr(rel, '/');
	char dir[PATH_MAX];

	*name = slash ? slash + 1 : rel;
	if (strlen(rel) >= sizeof(dir))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - rel) : 0, rel);
	return jail_open_dir_at(dirfd, dir, mode);
}

/* Create the character device dirfd/name (which must not exist): owned by
 * us, mode exactly 0600. */
static int jail_mknod_at(int dirfd, const char *name, dev_t dev)
{
	mode_t old = umask(0);
	int ret = mknodat(dirfd, name, S_IFCHR | 0600, dev) < 0 ? -errno : 0;

	umask(old);
	return ret;
}

/* chown dirfd/name ("": dirfd itself) to uid:gid, but only if it still is
 * what we created there: owned by us, a directory (dev == 0) or the
 * character device dev. Never follows a symlink: -ELOOP for one, -EEXIST
 * for anything else that is not ours. */
static int jail_chown_at(int dirfd, const char *name, dev_t dev, uid_t uid, gid_t gid)
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

/* Error line for a *_at helper's failure on what. */
static int jail_fail_at(char *err, size_t errlen, int ret, const char *verb, const char *what)
{
	if (ret == -ELOOP)
		return jail_fail(err, errlen, 0, "%s %s: a symlink on the way, not followed", verb,
				 what);
	if (ret == -EEXIST)
		return jail_fail(err, errlen, 0, "%s %s: no longer what the jailer created there",
				 verb, what);
	return jail_fail(err, errlen, -ret, "%s %s", verb, what);
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

/* ---- step 1: validate ------------------------------------------------- */

/* Find the mount point of a cgroup v1 controller (or of cgroup2 when
 * controller is NULL) in /proc/mounts. */
static int jail_find_cgroup_mount(const char *controller, char *out, size_t outlen,
				  bool *is_cpuset)
{
	FILE *f = fopen("/proc/mounts", "re");
	char line[4096];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char dev[256], mnt[PATH_MAX], type[64], opts[2048];

		if (sscanf(line, "%255s %4095s %63s %2047s", dev, mnt, type, opts) != 4)
			continue;
		if (!controller) {
			if (strcmp(type, "cgroup2"))
				continue;
		} else {
			char *save = NULL, *tok;
			bool match = false, cpuset = false;

			if (strcmp(type, "cgroup"))
				continue;
			for (tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, controller))
					match = true;
				if (!strcmp(tok, "cpuset"))
					cpuset = true;
			}
			if (!match)
				continue;
			if (is_cpuset)
				*is_cpuset = cpuset;
		}
		/* /proc/mounts escapes spaces as \040; refuse such paths. */
		if (strchr(mnt, '\\') || strlen(mnt) >= outlen)
			continue;
		strcpy(out, mnt);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static struct jail_cg_hier *jail_hier_add(struct jail *j, const char *mount, bool cpuset,
					  const char *controller)
{
	struct jail_cg_hier *h;

	for (unsigned i = 0; i < j->n_hier; i++)
		if (!strcmp(j->hier[i].mount, mount))
			return &j->hier[i];
	if (j->n_hier >= JAIL_MAX_CG_HIER)
		return NULL;
	h = &j->hier[j->n_hier++];
	snprintf(h->mount, sizeof(h->mount), "%s", mount);
	snprintf(h->controller, sizeof(h->controller), "%s", controller);
	h->cpuset = cpuset;
	h->back_fd = -1;
	return h;
}

static int jail_validate_cgroups(struct jail *j, char *err, size_t errlen)
{
	const char *parent = j->a.parent_cgroup ? j->a.parent_cgroup : j->exec_name;
	char mnt[PATH_MAX];
	int ret;

	if (j->a.cgroup_version == 1) {
		for (unsigned i = 0; i < j->a.n_cgroups; i++) {
			bool cpuset = false;
			const char *c = j->a.cgroups[i].controller;

			ret = jail_find_cgroup_mount(c, mnt, sizeof(mnt), &cpuset);
			if (ret == -ENOENT)
				return jail_fail(err, errlen, 0, "--cgroup %s: cgroup v1 controller "
						 "'%s' is not mounted", j->a.cgroups[i].arg, c);
			if (ret)
				return jail_fail(err, errlen, -ret, "reading /proc/mounts");
			struct jail_cg_hier *h = jail_hier_add(j, mnt, cpuset, c);
			if (!h)
				return jail_fail(err, errlen, 0, "too many cgroup hierarchies");
			j->cg_hier[i] = (unsigned)(h - j->hier);
		}
	} else {
		char ctrls[1024];
		int mfd;

		if (j->a.n_cgroups == 0 && !j->a.parent_cgroup)
			return 0;
		ret = jail_find_cgroup_mount(NULL, mnt, sizeof(mnt), NULL);
		if (ret == -ENOENT)
			return jail_fail(err, errlen, 0, "--cgroup-version 2: no cgroup2 file "
					 "system is mounted");
		if (ret)
			return jail_fail(err, errlen, -ret, "reading /proc/mounts");
		mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			return jail_fail(err, errlen, errno, "opening %s", mnt);
		ret = jail_read_file(mfd, "cgroup.controllers", ctrls, sizeof(ctrls));
		close(mfd);
		if (ret)
			return jail_fail(err, errlen, -ret, "reading %s/cgroup.controllers", mnt);
		for (unsigned i = 0; i < j->a.n_cgroups; i++) {
			const char *c = j->a.cgroups[i].controller;
			bool found = !strcmp(c, "cgroup");	/* core files */
			char copy[1024], *save = NULL, *tok;

			snprintf(copy, sizeof(copy), "%s", ctrls);
			for (tok = strtok_r(copy, " ", &save); tok && !found;
			     tok = strtok_r(NULL, " ", &save))
				found = !strcmp(tok, c);
			if (!found)
				return jail_fail(err, errlen, 0, "--cgroup %s: cgroup v2 controller "
						 "'%s' is not available in %s (has: %s)",
						 j->a.cgroups[i].arg, c, mnt, ctrls[0] ? ctrls : "none");
		}
		if (!jail_hier_add(j, mnt, false, ""))
			return jail_fail(err, errlen, 0, "too many cgroup hierarchies");
		for (unsigned i = 0; i < j->a.n_cgroups; i++)
			j->cg_hier[i] = 0;
	}
	for (unsigned i = 0; i < j->n_hier; i++) {
		struct jail_cg_hier *h = &j->hier[i];
		/* v2 without --cgroup: join the existing parent, create nothing. */
		bool join_only = j->a.cgroup_version == 2 && j->a.n_cgroups == 0;

		if (jail_join(h->rel, sizeof(h->rel), parent, join_only ? NULL : j->a.id) ||
		    jail_join(h->dir, sizeof(h->dir), h->mount, h->rel))
			return jail_fail(err, errlen, 0, "cgroup path too long");
		if (join_only) {
			struct stat st;

			if (stat(h->dir, &st) < 0 || !S_ISDIR(st.st_mode))
				return jail_fail(err, errlen, ENOENT, "--parent-cgroup: %s", h->dir);
		}
	}
	return 0;
}

/* What a dynamically linked exec file needs in the jail (nothing for a
 * static one). Resolved here, before anything is created. */
static int jail_resolve_deps(struct jail *j, char *err, size_t errlen)
{
	char jail_exec[PATH_MAX + 1], why[900];
	int ret;

	j->deps = calloc(1, sizeof(*j->deps));
	if (!j->deps)
		return jail_fail(err, errlen, ENOMEM, "--exec-file: resolving libraries");
	snprintf(jail_exec, sizeof(jail_exec), "/%s", j->exec_name);
	ret = deps_resolve(j->exec_path, jail_exec, NULL, j->deps, why, sizeof(why));
	if (ret)
		return jail_fail(err, errlen, 0, "--exec-file: %s", why);
	return 0;
}

int jail_validate(struct jail *j, char *err, size_t errlen)
{
	struct stat st;
	char *slash;
	int n, ret;

	if (!realpath(j->a.exec_file, j->exec_path))
		return jail_fail(err, errlen, errno, "--exec-file '%s'", j->a.exec_file);
	if (stat(j->exec_path, &st) < 0)
		return jail_fail(err, errlen, errno, "--exec-file '%s'", j->exec_path);
	if (!S_ISREG(st.st_mode))
		return jail_fail(err, errlen, 0, "--exec-file '%s': not a regular file",
				 j->exec_path);
	slash = strrchr(j->exec_path, '/');
	j->exec_name = slash ? slash + 1 : j->exec_path;
	if (!j->exec_name[0])
		return jail_fail(err, errlen, 0, "--exec-file '%s': no file name", j->exec_path);
	ret = jail_resolve_deps(j, err, errlen);
	if (ret)
		return ret;

	/* The base may be missing (we create one level); its parent may not. */
	if (realpath(j->a.chroot_base, j->base)) {
		if (stat(j->base, &st) < 0 || !S_ISDIR(st.st_mode))
			return jail_fail(err, errlen, ENOTDIR, "--chroot-base-dir '%s'", j->base);
	} else if (errno == ENOENT) {
		char parent[PATH_MAX], canon[PATH_MAX];
		const char *name;

		snprintf(parent, sizeof(parent), "%s", j->a.chroot_base);
		while ((n = (int)strlen(parent)) > 1 && parent[n - 1] == '/')
			parent[n - 1] = '\0';
		slash = strrchr(parent, '/');
		name = slash + 1;
		if (slash == parent)
			slash[1] = '\0', name = j->a.chroot_base + 1;
		else
			*slash = '\0';
		if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/'))
			return jail_fail(err, errlen, 0, "--chroot-base-dir '%s': bad path",
					 j->a.chroot_base);
		if (!realpath(parent, canon))
			return jail_fail(err, errlen, errno, "--chroot-base-dir '%s': parent '%s'",
					 j->a.chroot_base, parent);
		n = snprintf(j->base, sizeof(j->base), "%s/%s", strcmp(canon, "/") ? canon : "",
			     name);
		if (n < 0 || (size_t)n >= sizeof(j->base))
			return jail_fail(err, errlen, 0, "--chroot-base-dir: path too long");
	} else {
		return jail_fail(err, errlen, errno, "--chroot-base-dir '%s'", j->a.chroot_base);
	}
	n = snprintf(j->root, sizeof(j->root), "%s/%s/%s/root", strcmp(j->base, "/") ? j->base : "",
		     j->exec_name, j->a.id);
	/* Leave room for "/dev/net/tun" and the pid file below the root. */
	if (n < 0 || (size_t)n + strlen(j->exec_name) + 16 >= sizeof(j->root))
		return jail_fail(err, errlen, 0, "jail path too long");

	if (j->a.netns && stat(j->a.netns, &st) < 0)
		return jail_fail(err, errlen, errno, "--netns '%s'", j->a.netns);
	return jail_validate_cgroups(j, err, errlen);
}

/* ---- step 2: the jail directory ---------------------------------------- */

/* Copy the host file src (symlinks followed) to a new file dirfd/name
 * (which must not exist), root-owned. mode < 0: keep src's permission bits
 * minus set-id/sticky; else exactly mode. what names dirfd/name in errors. */
static int jail_copy_file(const char *src, int dirfd, const char *name, int mode,
			  const char *what, char *err, size_t errlen)
{
	struct stat st;
	int in, out, ret = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return jail_fail(err, errlen, errno, "opening %s", src);
	if (fstat(in, &st) < 0) {
		ret = jail_fail(err, errlen, errno, "stat %s", src);
		goto out_in;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = jail_fail(err, errlen, 0, "%s: not a regular file", src);
		goto out_in;
	}
	out = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
	if (out < 0) {
		ret = jail_fail(err, errlen, errno, "creating %s", what);
		goto out_in;
	}
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = jail_fail(err, errlen, n < 0 ? errno : EIO, "copying %s to %s", src,
					what);
			goto out_out;
		}
		left -= n;
	}
	if (fchmod(out, mode < 0 ? (st.st_mode & 0777) : (mode_t)mode) < 0)
		ret = jail_fail(err, errlen, errno, "chmod %s", what);
out_out:
	if (close(out) < 0 && !ret)
		ret = jail_fail(err, errlen, errno, "writing %s", what);
out_in:
	close(in);
	return ret;
}

static int jail_copy_exec(struct jail *j, int root_fd, char *err, size_t errlen)
{
	char what[PATH_MAX + NAME_MAX + 2];

	snprintf(what, sizeof(what), "%s/%s", j->root, j->exec_name);
	/* Keep the permission bits, never setuid/setgid/sticky. */
	return jail_copy_file(j->exec_path, root_fd, j->exec_name, -1, what, err, errlen);
}

/* Copy the host file src to the absolute, normalised jail path dst,
 * creating missing parent directories root-owned 0755 (the jail user can
 * read them, not change them), none of them followed if a symlink. */
static int jail_copy_into(struct jail *j, int root_fd, const char *src, const char *dst,
			  int mode, char *err, size_t errlen)
{
	char what[2 * PATH_MAX];
	const char *name;
	int dir_fd, ret;

	snprintf(what, sizeof(what), "%s%s", j->root, dst);
	if (dst[0] != '/' || !dst[1])
		return jail_fail(err, errlen, 0, "bad jail path '%s'", dst);
	dir_fd = jail_open_parent_at(root_fd, dst + 1, 0755, &name);
	if (dir_fd < 0)
		return jail_fail_at(err, errlen, dir_fd, "creating the directories of", what);
	ret = jail_copy_file(src, dir_fd, name, mode, what, err, errlen);
	close(dir_fd);
	return ret;
}

/* A dynamically linked exec file: its interpreter and libraries at the same
 * paths in the jail, root-owned and read-only (deps.h says how they are
 * found). The interpreter keeps the exec bit, which execve needs. */
static int jail_copy_deps(struct jail *j, int root_fd, char *err, size_t errlen)
{
	int ret;

	if (!j->deps)
		return 0;
	for (unsigned i = 0; i < j->deps->n; i++) {
		const struct deps_file *f = &j->deps->files[i];

		ret = jail_copy_into(j, root_fd, f->host, f->jail, f->interp ? 0555 : 0444, err,
				     errlen);
		if (ret)
			return ret;
	}
	if (j->deps->need_cache)
		return jail_copy_into(j, root_fd, "/etc/ld.so.cache", "/etc/ld.so.cache", 0444,
				      err, errlen);
	return 0;
}

/* Create root_fd/rel, root-owned 0700 (handed over in step privileges). */
static int jail_mkdir_private(struct jail *j, const char *rel, char *err, size_t errlen)
{
	char what[2 * PATH_MAX];
	int fd = jail_open_dir_at(j->root_fd, rel, 0700);

	if (fd < 0) {
		snprintf(what, sizeof(what), "%s/%s", j->root, rel);
		return jail_fail_at(err, errlen, fd, "mkdir", what);
	}
	close(fd);
	return 0;
}

int jail_make_root(struct jail *j, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int ret;

	/* <base>: created (one level) if missing. */
	j->base_fd = open(j->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->base_fd < 0 && errno == ENOENT) {
		char parent[PATH_MAX];
		char *slash;

		snprintf(parent, sizeof(parent), "%s", j->base);
		slash = strrchr(parent, '/');
		snprintf(j->base_name, sizeof(j->base_name), "%s", slash + 1);
		if (slash == parent)
			slash[1] = '\0';
		else
			*slash = '\0';
		j->base_parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (j->base_parent_fd < 0)
			return jail_fail(err, errlen, errno, "opening %s", parent);
		if (mkdirat(j->base_parent_fd, j->base_name, 0755) < 0) {
			ret = jail_fail(err, errlen, errno, "mkdir %s", j->base);
			close(j->base_parent_fd);
			j->base_parent_fd = -1;
			return ret;
		}
		j->base_fd = openat(j->base_parent_fd, j->base_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (j->base_fd < 0)
		return jail_fail(err, errlen, errno, "opening %s", j->base);

	/* <base>/<exec name>: shared by every jail of this program. */
	if (mkdirat(j->base_fd, j->exec_name, 0755) == 0)
		j->made_exec_dir = true;
	else if (errno != EEXIST)
		return jail_fail(err, errlen, errno, "mkdir %s/%s", j->base, j->exec_name);
	j->exec_dir_fd = openat(j->base_fd, j->exec_name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->exec_dir_fd < 0)
		return jail_fail(err, errlen, errno, "opening %s/%s", j->base, j->exec_name);

	/* <base>/<exec name>/<id>: ours alone; refuse to reuse one. */
	if (mkdirat(j->exec_dir_fd, j->a.id, 0755) < 0) {
		if (errno == EEXIST)
			return jail_fail(err, errlen, 0, "jail directory %s/%s/%s already exists",
					 j->base, j->exec_name, j->a.id);
		return jail_fail(err, errlen, errno, "mkdir %s/%s/%s", j->base, j->exec_name,
				 j->a.id);
	}
	j->made_id_dir = true;
	if (fchmodat(j->exec_dir_fd, j->a.id, 0755, 0) < 0)
		return jail_fail(err, errlen, errno, "chmod %s/%s/%s", j->base, j->exec_name,
				 j->a.id);
	snprintf(path, sizeof(path), "%s/root", j->a.id);
	/* Firecracker: /, /dev, /dev/net and /run of the jail are 0700 uid:gid.
	 * They stay root's until step privileges: a process of that uid must
	 * not be able to swap anything in here for a symlink while we work. */
	if (mkdirat(j->exec_dir_fd, path, 0700) < 0)
		return jail_fail(err, errlen, errno, "mkdir %s", j->root);
	ret = jail_open_dir_at(j->exec_dir_fd, path, -1);
	if (ret < 0)
		return jail_fail_at(err, errlen, ret, "opening", j->root);
	j->root_fd = ret;
	if (fchmod(j->root_fd, 0700) < 0)
		return jail_fail(err, errlen, errno, "chmod %s", j->root);
	ret = jail_copy_exec(j, j->root_fd, err, errlen);
	if (!ret)
		ret = jail_mkdir_private(j, "dev", err, errlen);
	if (!ret)
		ret = jail_mkdir_private(j, "dev/net", err, errlen);
	if (!ret)
		ret = jail_mkdir_private(j, "run", err, errlen);
	if (!ret)
		ret = jail_copy_deps(j, j->root_fd, err, errlen);
	return ret;
}

/* ---- step 3: cgroups --------------------------------------------------- */

/* Record a cgroup directory we created, for undo. */
static int jail_cg_record(struct jail *j, int parent_fd, const char *name)
{
	if (j->n_cg_dirs >= JAIL_MAX_CG_DIRS)
		return -ENOSPC;
	j->cg_dirs[j->n_cg_dirs].parent_fd = fcntl(parent_fd, F_DUPFD_CLOEXEC, 3);
	if (j->cg_dirs[j->n_cg_dirs].parent_fd < 0)
		return -errno;
	snprintf(j->cg_dirs[j->n_cg_dirs].name, sizeof(j->cg_dirs[0].name), "%s", name);
	j->n_cg_dirs++;
	return 0;
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems and refuses tasks
 * until they are set; inherit the parent's, as Firecracker does. */
static int jail_cpuset_inherit(int parent_fd, int child_fd)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char val[4096];

	for (unsigned i = 0; i < 2; i++) {
		int ret = jail_read_file(child_fd, files[i], val, sizeof(val));
		if (ret)
			return ret;
		if (val[0])
			continue;
		ret = jail_read_file(parent_fd, files[i], val, sizeof(val));
		if (!ret)
			ret = jail_write_file(child_fd, files[i], val);
		if (ret)
			return ret;
	}
	return 0;
}

/* v2: let the children of dir_fd use every controller we were asked for. */
static int jail_cg2_enable(struct jail *j, int dir_fd, const char *where, char *err,
			   size_t errlen)
{
	for (unsigned i = 0; i < j->a.n_cgroups; i++) {
		char buf[80];
		int ret;

		if (!strcmp(j->a.cgroups[i].controller, "cgroup"))
			continue;
		snprintf(buf, sizeof(buf), "+%s", j->a.cgroups[i].controller);
		ret = jail_write_file(dir_fd, "cgroup.subtree_control", buf);
		if (ret)
			return jail_fail(err, errlen, -ret, "writing '%s' to %s/cgroup.subtree_control",
					 buf, where);
	}
	return 0;
}

/* Open (creating as needed) h->dir, one component at a time. */
static int jail_cg_mkdirs(struct jail *j, struct jail_cg_hier *h, int *leaf, char *err,
			  size_t errlen)
{
	char rel[PATH_MAX], *save = NULL, *comp, *next;
	char where[PATH_MAX];
	int fd, ret;

	fd = open(h->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail(err, errlen, errno, "opening %s", h->mount);
	snprintf(where, sizeof(where), "%s", h->mount);
	snprintf(rel, sizeof(rel), "%s", h->rel);
	for (comp = strtok_r(rel, "/", &save); comp; comp = next) {
		int sub;
		bool made = false;

		next = strtok_r(NULL, "/", &save);
		if (j->a.cgroup_version == 2) {
			ret = jail_cg2_enable(j, fd, where, err, errlen);
			if (ret)
				goto fail;
		}
		if (mkdirat(fd, comp, 0755) == 0) {
			made = true;
			ret = jail_cg_record(j, fd, comp);
			if (ret) {
				unlinkat(fd, comp, AT_REMOVEDIR);
				jail_fail(err, errlen, -ret, "recording cgroup %s/%s", where, comp);
				goto fail;
			}
		} else if (errno != EEXIST) {
			ret = jail_fail(err, errlen, errno, "mkdir %s/%s", where, comp);
			goto fail;
		}
		snprintf(where + strlen(where), sizeof(where) - strlen(where), "/%s", comp);
		sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			ret = jail_fail(err, errlen, errno, "opening %s", where);
			goto fail;
		}
		if (made && h->cpuset) {
			ret = jail_cpuset_inherit(fd, sub);
			if (ret) {
				close(sub);
				jail_fail(err, errlen, -ret, "copying cpuset.cpus/mems into %s", where);
				goto fail;
			}
		}
		close(fd);
		fd = sub;
	}
	*leaf = fd;
	return 0;
fail:
	close(fd);
	return ret;
}

/* Open the cgroup.procs of the cgroup we are in now, in hierarchy h. */
static int jail_cg_open_back(struct jail *j, struct jail_cg_hier *h)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX + 256], path[2 * PATH_MAX];
	int fd = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2, *nl;
		bool match = false;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c2 = '\0';
		if ((nl = strchr(c2 + 1, '\n')))
			*nl = '\0';
		if (j->a.cgroup_version == 2) {
			/* "0::/path": hierarchy 0, no controller list */
			match = line[0] == '0' && c1 == line + 1 && c2 == c1 + 1;
		} else {
			char *save = NULL, *tok;
			for (tok = strtok_r(c1 + 1, ",", &save); tok && !match;
			     tok = strtok_r(NULL, ",", &save))
				match = !strcmp(tok, h->controller);
		}
		if (!match)
			continue;
		snprintf(path, sizeof(path), "%s%s/cgroup.procs", h->mount,
			 strcmp(c2 + 1, "/") ? c2 + 1 : "");
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
		break;
	}
	fclose(f);
	return fd;
}

int jail_cgroups(struct jail *j, char *err, size_t errlen)
{
	int leaf[JAIL_MAX_CG_HIER];
	char pid[32];
	int ret = 0;
	unsigned i, n_open = 0;

	/* Create every directory and write every value first (cpuset needs
	 * its values before a task may join), then join them all. */
	for (i = 0; i < j->n_hier; i++) {
		struct jail_cg_hier *h = &j->hier[i];

		ret = jail_cg_mkdirs(j, h, &leaf[i], err, errlen);
		if (ret)
			goto out;
		n_open++;
		for (unsigned k = 0; k < j->a.n_cgroups; k++) {
			struct stat st;

			if (j->cg_hier[k] != i)
				continue;
			if (fstatat(leaf[i], j->a.cgroups[k].file, &st, 0) < 0) {
				ret = jail_fail(err, errlen, 0, "--cgroup %s: %s/%s does not exist",
						j->a.cgroups[k].arg, h->dir, j->a.cgroups[k].file);
				goto out;
			}
			ret = jail_write_file(leaf[i], j->a.cgroups[k].file, j->a.cgroups[k].value);
			if (ret) {
				ret = jail_fail(err, errlen, -ret, "--cgroup %s: writing %s/%s",
						j->a.cgroups[k].arg, h->dir, j->a.cgroups[k].file);
				goto out;
			}
		}
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (i = 0; i < j->n_hier; i++) {
		struct jail_cg_hier *h = &j->hier[i];

		h->back_fd = jail_cg_open_back(j, h);
		if (h->back_fd < 0) {
			ret = jail_fail(err, errlen, -h->back_fd, "finding our current cgroup under %s",
					h->mount);
			h->back_fd = -1;
			goto out;
		}
		ret = jail_write_file(leaf[i], "cgroup.procs", pid);
		if (ret) {
			ret = jail_fail(err, errlen, -ret, "joining cgroup %s", h->dir);
			goto out;
		}
		h->joined = true;
	}
out:
	for (i = 0; i < n_open; i++)
		close(leaf[i]);
	return ret;
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

/* ---- step 5: device nodes ---------------------------------------------- */

int jail_devices(struct jail *j, char *err, size_t errlen)
{
	char what[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(jail_owned) / sizeof(jail_owned[0]); i++) {
		const struct jail_node *n = &jail_owned[i];
		const char *name;
		int dir_fd, ret;

		if (!n->major)
			continue;
		dir_fd = jail_open_parent_at(j->root_fd, n->path, -1, &name);
		snprintf(what, sizeof(what), "%s/%.*s", j->root, (int)(name - n->path - 1), n->path);
		if (dir_fd < 0)
			return jail_fail_at(err, errlen, dir_fd, "opening", what);
		snprintf(what, sizeof(what), "%s/%s", j->root, n->path);
		ret = jail_mknod_at(dir_fd, name, makedev(n->major, n->minor));
		close(dir_fd);
		if (ret)
			return jail_fail(err, errlen, -ret, "mknod %s (%u:%u)", what, n->major,
					 n->minor);
	}
	if (j->a.daemonize) {
		/* The jail has no /dev/null: open the host's now. */
		j->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (j->devnull_fd < 0)
			return jail_fail(err, errlen, errno, "opening /dev/null");
	}
	return 0;
}

/* ---- step 6: pivot_root ------------------------------------------------ */

int jail_pivot_root(struct jail *j, char *err, size_t errlen)
{
	/* Nothing we do to mounts may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0)
		return jail_fail(err, errlen, errno, "making / private");
	/* pivot_root needs the new root to be a mount point. */
	if (mount(j->root, j->root, NULL, MS_BIND, NULL) < 0)
		return jail_fail(err, errlen, errno, "bind-mounting %s", j->root);
	if (chdir(j->root) < 0)
		return jail_fail(err, errlen, errno, "chdir %s", j->root);
	if (mkdir("old_root", 0700) < 0)
		return jail_fail(err, errlen, errno, "mkdir %s/old_root", j->root);
	if (syscall(SYS_pivot_root, ".", "old_root") < 0)
		return jail_fail(err, errlen, errno, "pivot_root(%s)", j->root);
	j->pivoted = true;
	if (chdir("/") < 0)
		return jail_fail(err, errlen, errno, "chdir / in the jail");
	if (umount2("old_root", MNT_DETACH) < 0)
		return jail_fail(err, errlen, errno, "unmounting the old root");
	if (rmdir("old_root") < 0)
		return jail_fail(err, errlen, errno, "removing /old_root");
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

/* Give the jail to uid:gid as Firecracker has it: the device nodes, /dev,
 * /dev/net, /run and / itself. Until now all of it was root's, so no process
 * of that uid could swap anything in it for a symlink; each change goes
 * through fds opened without following one, deepest first, so every chown
 * happens while the parent directory is still root's. */
static int jail_hand_over(struct jail *j, char *err, size_t errlen)
{
	char what[64];
	int ret;

	for (size_t i = 0; i < sizeof(jail_owned) / sizeof(jail_owned[0]); i++) {
		const struct jail_node *n = &jail_owned[i];
		const char *name;
		int fd;

		snprintf(what, sizeof(what), "/%s in the jail", n->path);
		fd = jail_open_parent_at(j->root_fd, n->path, -1, &name);
		ret = fd < 0 ? fd : jail_chown_at(fd, name, makedev(n->major, n->minor),
						  j->a.uid, j->a.gid);
		if (fd >= 0)
			close(fd);
		if (ret)
			return jail_fail_at(err, errlen, ret, "chown", what);
	}
	ret = jail_chown_at(j->root_fd, "", 0, j->a.uid, j->a.gid);
	if (ret)
		return jail_fail_at(err, errlen, ret, "chown", "/ of the jail");
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

/* ---- undo -------------------------------------------------------------- */

void jail_undo(struct jail *j)
{
	char pid[32];

	/* Back to the host's mount namespace: the jail root stops being our
	 * mount point and can be removed. */
	if (j->unshared && j->mntns_fd >= 0)
		setns(j->mntns_fd, CLONE_NEWNS);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (unsigned i = 0; i < j->n_hier; i++) {
		struct jail_cg_hier *h = &j->hier[i];

		if (h->joined && h->back_fd >= 0 && write(h->back_fd, pid, strlen(pid)) > 0)
			h->joined = false;
		if (h->back_fd >= 0)
			close(h->back_fd);
		h->back_fd = -1;
	}
	while (j->n_cg_dirs > 0) {
		j->n_cg_dirs--;
		unlinkat(j->cg_dirs[j->n_cg_dirs].parent_fd, j->cg_dirs[j->n_cg_dirs].name,
			 AT_REMOVEDIR);
		close(j->cg_dirs[j->n_cg_dirs].parent_fd);
	}
	if (j->made_id_dir && j->exec_dir_fd >= 0)
		jail_rm_tree(j->exec_dir_fd, j->a.id);
	j->made_id_dir = false;
	if (j->made_exec_dir && j->base_fd >= 0)
		unlinkat(j->base_fd, j->exec_name, AT_REMOVEDIR);
	j->made_exec_dir = false;
	if (j->base_parent_fd >= 0)
		unlinkat(j->base_parent_fd, j->base_name, AT_REMOVEDIR);
	if (j->base_parent_fd >= 0)
		close(j->base_parent_fd);
	if (j->base_fd >= 0)
		close(j->base_fd);
	if (j->exec_dir_fd >= 0)
		close(j->exec_dir_fd);
	if (j->root_fd >= 0)
		close(j->root_fd);
	j->base_parent_fd = j->base_fd = j->exec_dir_fd = j->root_fd = -1;
}
