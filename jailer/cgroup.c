// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup.c - the jailer's cgroups, v1 and v2 (cgroup.h): which hierarchy
 * each --cgroup goes to (step validate), creating <mount>/<parent>/<id>
 * per hierarchy, writing the values and joining (step cgroup), and undo.
 *
 * Undo: every cgroup directory we create is recorded as (parent dir fd,
 * name); our membership is undone by writing our pid to the cgroup.procs
 * of the cgroups we came from (fds opened before joining).
 */
#include "jailer/cgroup.h"

#include "jailer/fs.h"
#include "jailer/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- step 1: validate -------------------------------------------------- */

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

/* v1: each controller's mount is a hierarchy of its own (or shared with
 * the controllers mounted with it). */
static int jail_cg_validate_v1(struct jail *j, char *err, size_t errlen)
{
	char mnt[PATH_MAX];
	int ret;

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
	return 0;
}

/* v2: one hierarchy, which must offer every controller asked for. Nothing
 * to do without --cgroup and --parent-cgroup. */
static int jail_cg_validate_v2(struct jail *j, char *err, size_t errlen)
{
	char mnt[PATH_MAX], ctrls[1024];
	int mfd, ret;

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
	return 0;
}

int jail_cgroups_validate(struct jail *j, char *err, size_t errlen)
{
	const char *parent = j->a.parent_cgroup ? j->a.parent_cgroup : j->exec_name;
	int ret;

	if (j->a.cgroup_version == 1)
		ret = jail_cg_validate_v1(j, err, errlen);
	else
		ret = jail_cg_validate_v2(j, err, errlen);
	if (ret)
		return ret;
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

/* ---- undo -------------------------------------------------------------- */

void jail_cgroups_undo(struct jail *j)
{
	char pid[32];

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
}
