// SPDX-License-Identifier: Apache-2.0
/*
 * rootfs.c - the jail's file tree (rootfs.h): the exec file and base
 * directory checks of step validate; step chroot (<base>/<exec name>/<id>/
 * root, the exec file and, for a dynamic one, its interpreter and
 * libraries copied in, /dev, /dev/net, /run); step devices (the device
 * nodes); step pivot_root; the hand-over to uid:gid in step privileges;
 * and removing the jail on undo.
 *
 * Nothing in the jail belongs to the jail's uid before the hand-over, and
 * everything below the jail root is created and handed over through
 * directory fds opened one component at a time without following a symlink
 * (fs.h), so a process of that uid cannot redirect root's mknod, chmod or
 * chown to a host file (SECURITY.md, "Jailer findings").
 *
 * Undo: every jail directory we create is recorded as (parent dir fd,
 * name), the fds being opened on the host side before we leave it, so undo
 * works after pivot_root too.
 *
 * Over 600 lines on purpose: every step that creates something in the jail
 * and the undo that removes it share the record above; the security
 * argument (no path of the jail's uid is ever followed) is checkable only
 * with all of them in view.
 */
#include "jailer/rootfs.h"

#include "jailer/fs.h"
#include "jailer/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The device nodes of the jail (Documentation/admin-guide/devices.txt).
 * KVM and TUN have fixed misc minors, so like Firecracker we create their
 * nodes whether or not the host has them right now (opening one then fails
 * with ENODEV / ENXIO until the module is loaded). /dev/userfaultfd only
 * with --userfaultfd (a snapshot load's Uffd backend), at the host's device
 * number (jail_uffd_node). Step privileges hands these to uid:gid in this
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

/* ---- step 1: validate -------------------------------------------------- */

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

int jail_exec_validate(struct jail *j, char *err, size_t errlen)
{
	struct stat st;
	char *slash;

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
	return jail_resolve_deps(j, err, errlen);
}

int jail_base_validate(struct jail *j, char *err, size_t errlen)
{
	struct stat st;
	char *slash;
	int n;

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
	return 0;
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

int jail_copy_into(struct jail *j, int root_fd, const char *src, const char *dst, int mode,
		   char *err, size_t errlen)
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

/* Open <base> (j->base_fd), creating it (one level) if missing: then
 * j->base_parent_fd and j->base_name record it for undo. */
static int jail_open_base(struct jail *j, char *err, size_t errlen)
{
	int ret;

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
	return 0;
}

/* A directory made beforehand that the jailer works in or hands over must
 * be as safe as one it made itself: root's and writable by root alone, so
 * no other user can have changed it or can change it under us. */
static int jail_check_prepared(int fd, const char *what, struct jail_dir_was *was, char *err,
			       size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return jail_fail(err, errlen, errno, "stat %s", what);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return jail_fail(err, errlen, 0, "%s was made beforehand but is not root's alone "
				 "(owner uid %u, mode %04o): it must be owned by root and writable "
				 "by root only", what, (unsigned)st.st_uid,
				 (unsigned)(st.st_mode & 07777));
	if (was) {
		was->valid = true;
		was->mode = st.st_mode & 07777;
		was->uid = st.st_uid;
		was->gid = st.st_gid;
	}
	return 0;
}

/* The entries the jailer creates right below the jail root, besides /run:
 * the exec file, its pid file (step limits), /dev, the old root of step
 * pivot_root, and the top directories (or files) of a dynamic exec file's
 * libraries. Calls fn on each (a name may come twice) until one fails. */
static int jail_own_entries(struct jail *j, int (*fn)(struct jail *j, const char *name,
						       char *err, size_t errlen),
			    char *err, size_t errlen)
{
	char pid_name[NAME_MAX + 8], top[NAME_MAX + 1];
	const char *const fixed[] = { j->exec_name, pid_name, "dev", "old_root" };
	int ret = 0;

	snprintf(pid_name, sizeof(pid_name), "%s.pid", j->exec_name);
	for (size_t i = 0; !ret && i < sizeof(fixed) / sizeof(fixed[0]); i++)
		ret = fn(j, fixed[i], err, errlen);
	for (unsigned i = 0; !ret && j->deps && i < j->deps->n; i++) {
		const char *p = j->deps->files[i].jail + 1;
		size_t n = strcspn(p, "/");

		snprintf(top, sizeof(top), "%.*s", (int)(n < NAME_MAX ? n : NAME_MAX), p);
		ret = fn(j, top, err, errlen);
	}
	if (!ret && j->deps && j->deps->need_cache)
		ret = fn(j, "etc", err, errlen);
	return ret;
}

/* jail_own_entries() callbacks: one must not be in a root made beforehand
 * yet; undo removes them from it again. */
static int jail_entry_absent(struct jail *j, const char *name, char *err, size_t errlen)
{
	struct stat st;

	if (fstatat(j->root_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return jail_fail(err, errlen, 0, "%s/%s already exists (a jail used before? "
				 "remove %.*s)", j->root, name, (int)(strlen(j->root) - 5), j->root);
	if (errno != ENOENT)
		return jail_fail(err, errlen, errno, "stat %s/%s", j->root, name);
	return 0;
}

static int jail_entry_remove(struct jail *j, const char *name, char *err, size_t errlen)
{
	struct stat st;

	(void)err, (void)errlen;
	if (fstatat(j->root_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		jail_rm_tree(j->root_fd, name);
	else
		unlinkat(j->root_fd, name, 0);
	return 0;
}

/* The jail root was made beforehand: it must be safe (jail_check_prepared)
 * and hold nothing the jailer is about to create, except /run, which must
 * be safe too. Only once all of that holds does undo take them as adopted
 * (restore them, remove what we add); then both become 0700, as the ones
 * we make. */
static int jail_adopt_root(struct jail *j, char *err, size_t errlen)
{
	struct jail_dir_was root_was = { 0 }, run_was = { 0 };
	char what[PATH_MAX + 8];
	int ret, fd;

	ret = jail_check_prepared(j->root_fd, j->root, &root_was, err, errlen);
	if (!ret)
		ret = jail_own_entries(j, jail_entry_absent, err, errlen);
	if (ret)
		return ret;
	fd = jail_open_dir_at(j->root_fd, "run", -1);
	snprintf(what, sizeof(what), "%s/run", j->root);
	if (fd < 0 && fd != -ENOENT)
		return jail_fail_at(err, errlen, fd, "opening", what);
	if (fd >= 0 && (ret = jail_check_prepared(fd, what, &run_was, err, errlen)) != 0) {
		close(fd);
		return ret;
	}
	j->root_was = root_was;
	j->run_was = run_was;
	j->made_run_dir = fd < 0;
	if (fd >= 0 && fchmod(fd, 0700) < 0)
		ret = jail_fail(err, errlen, errno, "chmod %s", what);
	if (fd >= 0)
		close(fd);
	if (!ret && fchmod(j->root_fd, 0700) < 0)
		ret = jail_fail(err, errlen, errno, "chmod %s", j->root);
	return ret;
}

/* <base>/<exec name>/<id>: created here, or taken as it is if it was made
 * beforehand and is safe. */
static int jail_open_id_dir(struct jail *j, char *err, size_t errlen)
{
	char what[PATH_MAX];
	int ret;

	/* j->root is this path and "/root" (jail_base_validate) */
	snprintf(what, sizeof(what), "%.*s", (int)(strlen(j->root) - 5), j->root);
	if (mkdirat(j->exec_dir_fd, j->a.id, 0755) == 0)
		j->made_id_dir = true;
	else if (errno != EEXIST)
		return jail_fail(err, errlen, errno, "mkdir %s", what);
	ret = jail_open_dir_at(j->exec_dir_fd, j->a.id, -1);
	if (ret < 0)
		return jail_fail_at(err, errlen, ret, "opening", what);
	j->id_dir_fd = ret;
	if (!j->made_id_dir)
		return jail_check_prepared(j->id_dir_fd, what, NULL, err, errlen);
	if (fchmod(j->id_dir_fd, 0755) < 0)
		return jail_fail(err, errlen, errno, "chmod %s", what);
	return 0;
}

int jail_make_root(struct jail *j, char *err, size_t errlen)
{
	int ret;

	ret = jail_open_base(j, err, errlen);
	if (ret)
		return ret;

	/* <base>/<exec name>: shared by every jail of this program. */
	if (mkdirat(j->base_fd, j->exec_name, 0755) == 0)
		j->made_exec_dir = true;
	else if (errno != EEXIST)
		return jail_fail(err, errlen, errno, "mkdir %s/%s", j->base, j->exec_name);
	j->exec_dir_fd = openat(j->base_fd, j->exec_name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->exec_dir_fd < 0)
		return jail_fail(err, errlen, errno, "opening %s/%s", j->base, j->exec_name);
	ret = jail_open_id_dir(j, err, errlen);
	if (ret)
		return ret;

	/* Firecracker: /, /dev, /dev/net and /run of the jail are 0700 uid:gid.
	 * They stay root's until step privileges: a process of that uid must
	 * not be able to swap anything in here for a symlink while we work. */
	if (mkdirat(j->id_dir_fd, "root", 0700) == 0)
		j->made_root_dir = true;
	else if (errno != EEXIST)
		return jail_fail(err, errlen, errno, "mkdir %s", j->root);
	ret = jail_open_dir_at(j->id_dir_fd, "root", -1);
	if (ret < 0)
		return jail_fail_at(err, errlen, ret, "opening", j->root);
	j->root_fd = ret;
	ret = 0;
	if (!j->made_root_dir)
		ret = jail_adopt_root(j, err, errlen);
	else if (fchmod(j->root_fd, 0700) < 0)
		ret = jail_fail(err, errlen, errno, "chmod %s", j->root);
	if (!ret)
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

/* ---- step 5: device nodes ---------------------------------------------- */

static int jail_uffd_node(struct jail *j, bool hand_over, char *err, size_t errlen);

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
	int ret = jail_uffd_node(j, false, err, errlen);
	if (ret)
		return ret;
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
	/* Nothing we do to mounts may propagate back to the host; as with
	 * Firecracker, what the host mounts below the jail root later (an
	 * orchestrator's bind-mounted drive) still shows in the jail. */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return jail_fail(err, errlen, errno, "making / a slave mount");
	/* pivot_root needs the new root to be a mount point; MS_REC keeps
	 * what was mounted below it beforehand (files an orchestrator
	 * bind-mounted into a jail it prepared). */
	if (mount(j->root, j->root, NULL, MS_BIND | MS_REC, NULL) < 0)
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

/* ---- step 8: privileges, the hand-over --------------------------------- */

/* Give the jail to uid:gid as Firecracker has it: the device nodes, /dev,
 * /dev/net, /run and / itself. Until now all of it was root's, so no process
 * of that uid could swap anything in it for a symlink; each change goes
 * through fds opened without following one, deepest first, so every chown
 * happens while the parent directory is still root's. */
int jail_hand_over(struct jail *j, char *err, size_t errlen)
{
	char what[64];
	int ret = jail_uffd_node(j, true, err, errlen);

	if (ret)
		return ret;
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

/* ---- undo -------------------------------------------------------------- */

/* Give a directory made beforehand its owner and mode back. */
static void jail_restore_dir(int fd, const struct jail_dir_was *was)
{
	if (fd < 0 || !was->valid)
		return;
	if (fchown(fd, was->uid, was->gid) < 0 || fchmod(fd, was->mode) < 0)
		return;
}

/* A jail root made beforehand: remove only what we created in it. */
static void jail_unadopt_root(struct jail *j)
{
	char none[1];
	int fd;

	jail_own_entries(j, jail_entry_remove, none, sizeof(none));
	if (j->made_run_dir) {
		jail_rm_tree(j->root_fd, "run");
	} else {
		fd = openat(j->root_fd, "run", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		jail_restore_dir(fd, &j->run_was);
		if (fd >= 0)
			close(fd);
	}
	jail_restore_dir(j->root_fd, &j->root_was);
}

void jail_root_undo(struct jail *j)
{
	if (j->made_id_dir && j->exec_dir_fd >= 0)
		jail_rm_tree(j->exec_dir_fd, j->a.id);
	else if (j->made_root_dir && j->id_dir_fd >= 0)
		jail_rm_tree(j->id_dir_fd, "root");
	else if (j->root_fd >= 0 && j->root_was.valid)
		jail_unadopt_root(j);
	j->made_id_dir = j->made_root_dir = false;
	j->root_was.valid = false;
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
	if (j->id_dir_fd >= 0)
		close(j->id_dir_fd);
	if (j->root_fd >= 0)
		close(j->root_fd);
	j->base_parent_fd = j->base_fd = j->exec_dir_fd = j->id_dir_fd = j->root_fd = -1;
}

/* ---- --userfaultfd ------------------------------------------------------ */

int jail_uffd_validate(struct jail *j, char *err, size_t errlen)
{
	struct stat st;

	j->uffd_rdev = 0;
	if (!j->a.userfaultfd)
		return 0;
	if (stat("/dev/userfaultfd", &st) < 0)
		return jail_fail(err, errlen, errno, "--userfaultfd: /dev/userfaultfd");
	if (!S_ISCHR(st.st_mode))
		return jail_fail(err, errlen, EINVAL,
				 "--userfaultfd: /dev/userfaultfd is not a character device");
	j->uffd_rdev = st.st_rdev;
	return 0;
}

/* dev/userfaultfd in the jail (step devices), or handed to uid:gid (step
 * privileges, before /dev itself), when --userfaultfd asked for it. */
static int jail_uffd_node(struct jail *j, bool hand_over, char *err, size_t errlen)
{
	const char *name;
	char what[PATH_MAX + 32];
	int dir_fd, ret;

	if (!j->uffd_rdev)
		return 0;
	snprintf(what, sizeof(what), "%s/dev/userfaultfd", j->root);
	dir_fd = jail_open_parent_at(j->root_fd, "dev/userfaultfd", -1, &name);
	if (dir_fd < 0)
		return jail_fail_at(err, errlen, dir_fd, "opening", what);
	ret = hand_over ? jail_chown_at(dir_fd, name, j->uffd_rdev, j->a.uid, j->a.gid)
			: jail_mknod_at(dir_fd, name, j->uffd_rdev);
	close(dir_fd);
	if (ret)
		return hand_over ? jail_fail_at(err, errlen, ret, "chown", "/dev/userfaultfd in the jail")
				 : jail_fail(err, errlen, -ret, "mknod %s (%u:%u)", what,
					     major(j->uffd_rdev), minor(j->uffd_rdev));
	return 0;
}
