// SPDX-License-Identifier: Apache-2.0
/*
 * test_jailer_fs.c - the jailer's helpers that create and hand over files
 * below a directory fd without following symlinks (jailer/fs.c, rootfs.c):
 * jail_open_dir_at, jail_open_parent_at, jail_mknod_at, jail_chown_at and
 * jail_copy_into, on a tree made here with symlinks in every place a
 * process of the jail's uid could have put one. Unprivileged; as root the
 * device node cases run for real instead of checking the EPERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "jailer/fs.h"
#include "jailer/jail.h"
#include "jailer/rootfs.h"

static char tmp[256];
static int tmp_fd = -1;
static char err[1024];

static void mk(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void ln(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *rel)
{
	struct stat st;

	return fstatat(tmp_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* tmp/: a/b/  out/ (the "host": must never change)  file
 *       link -> out   a/lb -> ../out   rel -> a (relative) */
static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/ember-jailer-fs.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mk("a");
	mk("a/b");
	mk("out");
	ln("out", "link");
	ln("../out", "a/lb");
	ln("a", "rel");
	close(openat(tmp_fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	return 0;
}

static int teardown(void **state)
{
	jail_rm_tree(AT_FDCWD, tmp);
	close(tmp_fd);
	return 0;
}

static void same_dir(int fd, const char *rel)
{
	struct stat a, b;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstatat(tmp_fd, rel, &b, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	close(fd);
}

static void test_open_dir(void **state)
{
	same_dir(jail_open_dir_at(tmp_fd, "a/b", -1), "a/b");
	same_dir(jail_open_dir_at(tmp_fd, "a", -1), "a");
	same_dir(jail_open_dir_at(tmp_fd, "", -1), ".");
	/* a symlink as the last component, in the middle, relative or not */
	assert_int_equal(jail_open_dir_at(tmp_fd, "link", -1), -ELOOP);
	assert_int_equal(jail_open_dir_at(tmp_fd, "rel/b", -1), -ELOOP);
	assert_int_equal(jail_open_dir_at(tmp_fd, "a/lb", -1), -ELOOP);
	assert_int_equal(jail_open_dir_at(tmp_fd, "file", -1), -ENOTDIR);
	assert_int_equal(jail_open_dir_at(tmp_fd, "a/nosuch", -1), -ENOENT);
	/* nothing that walks out or is ambiguous */
	assert_int_equal(jail_open_dir_at(tmp_fd, "a/../out", -1), -EINVAL);
	assert_int_equal(jail_open_dir_at(tmp_fd, "..", -1), -EINVAL);
	assert_int_equal(jail_open_dir_at(tmp_fd, "./a", -1), -EINVAL);
	assert_int_equal(jail_open_dir_at(tmp_fd, "a//b", -1), -EINVAL);
	assert_int_equal(jail_open_dir_at(tmp_fd, "/tmp", -1), -EINVAL);
}

static void test_open_dir_create(void **state)
{
	struct stat st;
	mode_t old = umask(022);

	/* exactly the mode asked for, whatever the umask */
	same_dir(jail_open_dir_at(tmp_fd, "new/x/y", 0777), "new/x/y");
	assert_int_equal(fstatat(tmp_fd, "new/x", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0777);
	/* existing directories are kept as they are */
	same_dir(jail_open_dir_at(tmp_fd, "a/b/c", 0700), "a/b/c");
	assert_int_equal(fstatat(tmp_fd, "a", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* never through a symlink: nothing appears in out/ */
	assert_int_equal(jail_open_dir_at(tmp_fd, "link/new", 0755), -ELOOP);
	assert_int_equal(jail_open_dir_at(tmp_fd, "a/lb/new", 0755), -ELOOP);
	assert_false(exists("out/new"));
	umask(old);
}

static void test_open_parent(void **state)
{
	const char *name = NULL;

	same_dir(jail_open_parent_at(tmp_fd, "a/b/kvm", -1, &name), "a/b");
	assert_string_equal(name, "kvm");
	same_dir(jail_open_parent_at(tmp_fd, "top", -1, &name), ".");
	assert_string_equal(name, "top");
	assert_int_equal(jail_open_parent_at(tmp_fd, "link/kvm", -1, &name), -ELOOP);
	same_dir(jail_open_parent_at(tmp_fd, "p/q/r", 0755, &name), "p/q");
	assert_string_equal(name, "r");
	assert_false(exists("p/q/r"));
}

static void test_chown_at(void **state)
{
	uid_t u = geteuid();
	gid_t g = getegid();
	struct stat before, after;

	/* our own directory: chown to the same owner works */
	assert_int_equal(jail_chown_at(tmp_fd, "a", 0, u, g), 0);
	assert_int_equal(jail_chown_at(tmp_fd, "", 0, u, g), 0);
	/* a symlink is refused, whatever it points to; its target is untouched */
	assert_int_equal(fstatat(tmp_fd, "out", &before, 0), 0);
	assert_int_equal(jail_chown_at(tmp_fd, "link", 0, u, g), -ELOOP);
	assert_int_equal(jail_chown_at(tmp_fd, "link", makedev(10, 232), u, g), -ELOOP);
	assert_int_equal(fstatat(tmp_fd, "out", &after, 0), 0);
	assert_true(before.st_ctim.tv_sec == after.st_ctim.tv_sec &&
		    before.st_ctim.tv_nsec == after.st_ctim.tv_nsec);
	/* the wrong kind of file */
	assert_int_equal(jail_chown_at(tmp_fd, "file", 0, u, g), -EEXIST);
	assert_int_equal(jail_chown_at(tmp_fd, "a", makedev(10, 232), u, g), -EEXIST);
	assert_int_equal(jail_chown_at(tmp_fd, "nosuch", 0, u, g), -ENOENT);
}

static void test_mknod_at(void **state)
{
	mode_t old = umask(0077);
	struct stat st;
	int ret = jail_mknod_at(tmp_fd, "kvm", makedev(10, 232));

	if (geteuid() != 0) {
		/* without CAP_MKNOD the kernel refuses; nothing is created */
		assert_int_equal(ret, -EPERM);
		assert_false(exists("kvm"));
		umask(old);
		return;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(fstatat(tmp_fd, "kvm", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true(st.st_rdev == makedev(10, 232));
	/* an existing entry (e.g. a planted symlink) is never replaced */
	assert_int_equal(jail_mknod_at(tmp_fd, "link", makedev(10, 232)), -EEXIST);
	/* handed over only as the node it is */
	assert_int_equal(jail_chown_at(tmp_fd, "kvm", makedev(10, 200), 1234, 4321), -EEXIST);
	assert_int_equal(jail_chown_at(tmp_fd, "kvm", makedev(10, 232), 1234, 4321), 0);
	assert_int_equal(fstatat(tmp_fd, "kvm", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(st.st_uid == 1234 && st.st_gid == 4321);
	/* no longer ours: a second hand-over is refused */
	assert_int_equal(jail_chown_at(tmp_fd, "kvm", makedev(10, 232), 1, 1), -EEXIST);
	umask(old);
}

static void test_copy_into(void **state)
{
	static struct jail j;
	struct stat st;

	jail_init(&j);
	snprintf(j.root, sizeof(j.root), "%s", tmp);
	assert_int_equal(jail_copy_into(&j, tmp_fd, "/proc/self/exe", "/lib/x/y/prog", 0444, err,
					sizeof(err)), 0);
	assert_int_equal(fstatat(tmp_fd, "lib/x/y/prog", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0444);
	assert_int_equal(fstatat(tmp_fd, "lib/x", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* a directory on the way swapped for a symlink: refused, out/ untouched */
	assert_int_equal(renameat(tmp_fd, "lib/x", tmp_fd, "lib/x.old"), 0);
	assert_int_equal(symlinkat("../out", tmp_fd, "lib/x"), 0);
	assert_true(jail_copy_into(&j, tmp_fd, "/proc/self/exe", "/lib/x/y/prog2", 0444, err,
				   sizeof(err)) < 0);
	assert_non_null(strstr(err, "a symlink on the way, not followed"));
	assert_null(strchr(err, '\n'));
	assert_false(exists("out/y"));
	/* an existing file (or symlink) is never written through */
	assert_true(jail_copy_into(&j, tmp_fd, "/proc/self/exe", "/link", 0444, err,
				   sizeof(err)) < 0);
	assert_non_null(strstr(err, "File exists"));
	assert_false(exists("out/prog"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_dir_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chown_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mknod_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_into, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
