// SPDX-License-Identifier: Apache-2.0
/*
 * deps.c - ELF interpreter and shared libraries of the exec file (deps.h):
 * the search lists (run paths with their tokens, ld.so.conf, the system
 * directories) and the breadth-first walk over the set of objects.
 * deps_elf.c reads each file.
 */
#include "jailer/deps.h"

#include "jailer/deps_elf.h"

#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPS_CONF_DEPTH  4		/* nested "include" levels */
#define DEPS_LIB         "lib/x86_64-linux-gnu"	/* $LIB, Debian multiarch */
#define DEPS_PLATFORM    "x86_64"		/* $PLATFORM */

static const char *const deps_default_system[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib", NULL,
};

/* One object of the set being built (the exec file is object 0). */
struct deps_obj {
	char host_dir[PATH_MAX];	/* $ORIGIN on the host */
	char jail_dir[PATH_MAX];	/* $ORIGIN in the jail */
	char name[NAME_MAX + 1];	/* the DT_NEEDED name that loaded it */
	struct deps_elf elf;
};

/* A directory list with each entry as seen on the host and in the jail. */
struct deps_dirs {
	unsigned n;
	char host[DEPS_MAX_DIRS][PATH_MAX];
	char jail[DEPS_MAX_DIRS][PATH_MAX];
};

/* deps_resolve()'s state: the set being built and where to look. */
struct deps_ctx {
	struct deps *d;
	struct deps_obj *objs;		/* objs[0] is the exec file, then d->files[] */
	unsigned n_objs;
	const char *exec_path;
	const char *const *sys;		/* the system directories */
	const char *conf;		/* ld.so.conf; "" for none */
	struct deps_dirs *conf_dirs;	/* the directories it names */
	struct deps_dirs *dirs;		/* one name's search list */
	char *err;
	size_t errlen;
};

int deps_normalize(const char *path, char *out, size_t outlen)
{
	size_t len = 0;
	const char *p = path;

	if (path[0] != '/')
		return -EINVAL;
	if (outlen < 2)
		return -ENAMETOOLONG;
	out[0] = '\0';
	while (*p) {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;	/* the '/' before the component */
			out[len] = '\0';
			continue;
		}
		if (len + 1 + n >= outlen)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, c, n);
		len += n;
		out[len] = '\0';
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

/* dirname of an absolute path into out ("/x" -> "/"). */
static void deps_dirname(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n == 0) {
		snprintf(out, outlen, "/");
		return;
	}
	snprintf(out, outlen, "%.*s", (int)n, path);
}

/* Replace $ORIGIN, $LIB, $PLATFORM (also in ${...} form) in one run path
 * element. Returns 0, or -EINVAL for an unknown token / too long. */
static int deps_expand(const char *in, size_t inlen, const char *origin, char *out,
		       size_t outlen)
{
	static const struct { const char *name; size_t len; } toks[] = {
		{ "ORIGIN", 6 }, { "LIB", 3 }, { "PLATFORM", 8 },
	};
	size_t o = 0;

	for (size_t i = 0; i < inlen;) {
		const char *val = NULL;
		size_t skip = 0;

		if (in[i] == '$') {
			bool brace = i + 1 < inlen && in[i + 1] == '{';
			const char *t = in + i + 1 + brace;
			size_t left = inlen - i - 1 - brace;

			for (unsigned k = 0; k < 3 && !val; k++) {
				if (left < toks[k].len || memcmp(t, toks[k].name, toks[k].len))
					continue;
				if (brace) {
					if (left == toks[k].len || t[toks[k].len] != '}')
						continue;
					skip = 1 + 1 + toks[k].len + 1;
				} else {
					/* "$ORIGINX" is not $ORIGIN */
					char c = left > toks[k].len ? t[toks[k].len] : '/';
					if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
					    (c >= '0' && c <= '9') || c == '_')
						continue;
					skip = 1 + toks[k].len;
				}
				val = k == 0 ? origin : k == 1 ? DEPS_LIB : DEPS_PLATFORM;
			}
			if (!val)
				return -EINVAL;
		}
		if (val) {
			size_t n = strlen(val);
			if (o + n >= outlen)
				return -ENAMETOOLONG;
			memcpy(out + o, val, n);
			o += n;
			i += skip;
		} else {
			if (o + 1 >= outlen)
				return -ENAMETOOLONG;
			out[o++] = in[i++];
		}
	}
	out[o] = '\0';
	return 0;
}

static void deps_dirs_add(struct deps_dirs *l, const char *host, const char *jail)
{
	if (l->n >= DEPS_MAX_DIRS)
		return;
	for (unsigned i = 0; i < l->n; i++)
		if (!strcmp(l->host[i], host) && !strcmp(l->jail[i], jail))
			return;
	snprintf(l->host[l->n], PATH_MAX, "%s", host);
	snprintf(l->jail[l->n], PATH_MAX, "%s", jail);
	l->n++;
}

/* Append the elements of a run path ("a:$ORIGIN/b"). Relative or empty
 * elements (relative to the loader's cwd) and unknown tokens are skipped,
 * as the loader skips what it cannot use. */
static void deps_dirs_runpath(struct deps_dirs *l, const char *rp, const struct deps_obj *o)
{
	const char *p = rp;

	while (*p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char h[PATH_MAX], jl[PATH_MAX];

		if (n > 0 && deps_expand(p, n, o->host_dir, h, sizeof(h)) == 0 &&
		    deps_expand(p, n, o->jail_dir, jl, sizeof(jl)) == 0 && h[0] == '/' &&
		    jl[0] == '/')
			deps_dirs_add(l, h, jl);
		p += n;
		if (*p == ':')
			p++;
	}
}

/* Read an ld.so.conf file into l ("include GLOB" followed, "hwcap" lines and
 * comments ignored). A missing file adds nothing. */
static void deps_conf_read(struct deps_dirs *l, const char *path, int depth)
{
	FILE *f;
	char line[PATH_MAX + 64];

	if (depth > DEPS_CONF_DEPTH || !(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *end;

		if ((end = strchr(s, '#')))
			*end = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		end = s + strlen(s);
		while (end > s && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t' ||
				   end[-1] == '\r'))
			*--end = '\0';
		if (!*s)
			continue;
		if (!strncmp(s, "include", 7) && (s[7] == ' ' || s[7] == '\t')) {
			char pat[2 * PATH_MAX], dir[PATH_MAX];
			glob_t g;

			s += 8;
			while (*s == ' ' || *s == '\t')
				s++;
			if (*s == '/') {
				snprintf(pat, sizeof(pat), "%s", s);
			} else {
				/* relative to the including file's directory */
				deps_dirname(path, dir, sizeof(dir));
				snprintf(pat, sizeof(pat), "%s/%s", dir, s);
			}
			if (glob(pat, 0, NULL, &g) == 0) {
				for (size_t i = 0; i < g.gl_pathc; i++)
					deps_conf_read(l, g.gl_pathv[i], depth + 1);
				globfree(&g);
			}
			continue;
		}
		if (!strncmp(s, "hwcap", 5) && (s[5] == ' ' || s[5] == '\t'))
			continue;
		/* "dir=type" (old libc5 syntax) */
		if ((end = strchr(s, '=')))
			*end = '\0';
		if (s[0] == '/') {
			char norm[PATH_MAX];
			if (deps_normalize(s, norm, sizeof(norm)) == 0)
				deps_dirs_add(l, norm, norm);
		}
	}
	fclose(f);
}

/* Is needed already satisfied by an object in the set (by SONAME or by the
 * name it was loaded under)? */
static bool deps_loaded(const struct deps_obj *objs, unsigned n, const char *needed)
{
	for (unsigned i = 1; i < n; i++)
		if (!strcmp(objs[i].name, needed) ||
		    (objs[i].elf.soname && !strcmp(objs[i].elf.soname, needed)))
			return true;
	return false;
}

/* Add a file to d and to objs (parsed). Returns 0, 1 (already present by
 * jail path: not added), or -errno with err set. */
static int deps_add(struct deps *d, struct deps_obj *objs, unsigned *n_objs, const char *host,
		    const char *jail, const char *name, bool interp, char *err, size_t errlen)
{
	struct deps_obj *o;
	struct deps_file *f;
	int ret;

	for (unsigned i = 0; i < d->n; i++)
		if (!strcmp(d->files[i].jail, jail))
			return 1;
	if (d->n >= DEPS_MAX_FILES)
		return deps_fail(err, errlen, E2BIG, "more than %d libraries", DEPS_MAX_FILES);
	f = &d->files[d->n];
	o = &objs[*n_objs];
	snprintf(f->host, sizeof(f->host), "%s", host);
	snprintf(f->jail, sizeof(f->jail), "%s", jail);
	f->interp = interp;
	ret = deps_elf_open(host, &o->elf, err, errlen);
	if (ret == 0)
		return deps_fail(err, errlen, ENOEXEC, "%s: not an ELF file", host);
	if (ret < 0)
		return ret;
	deps_dirname(host, o->host_dir, sizeof(o->host_dir));
	deps_dirname(jail, o->jail_dir, sizeof(o->jail_dir));
	snprintf(o->name, sizeof(o->name), "%s", name);
	d->n++;
	(*n_objs)++;
	return 0;
}

static bool deps_in(const char *const *dirs, const char *dir)
{
	for (; *dirs; dirs++)
		if (!strcmp(*dirs, dir))
			return true;
	return false;
}


/* Who needs object k's DT_NEEDED names, for error lines. */
static const char *deps_who(const struct deps_ctx *c, unsigned k)
{
	return k ? c->d->files[k - 1].host : c->exec_path;
}

/* The exec file's interpreter: at its own path, read through host
 * symlinks, for the exec file's machine. It becomes object 1. */
static int deps_add_interp(struct deps_ctx *c)
{
	const struct deps_elf *x = &c->objs[0].elf;
	char jail[PATH_MAX];
	int ret;

	if (x->interp[0] != '/')
		return deps_fail(c->err, c->errlen, ENOEXEC, "%s: relative PT_INTERP '%s'",
				 c->exec_path, x->interp);
	ret = deps_normalize(x->interp, jail, sizeof(jail));
	if (!ret)
		ret = deps_add(c->d, c->objs, &c->n_objs, x->interp, jail, "", true, c->err,
			       c->errlen);
	if (ret < 0) {
		if (ret == -ENOENT)
			deps_fail(c->err, c->errlen, ENOENT, "%s: its ELF interpreter %s does not "
				  "exist", c->exec_path, x->interp);
		return ret;
	}
	if (c->objs[1].elf.machine != x->machine)
		return deps_fail(c->err, c->errlen, ENOEXEC, "%s: ELF interpreter %s is for "
				 "another machine", c->exec_path, x->interp);
	return 0;
}

/* The directories of ld.so.conf, read once for every lookup. */
static int deps_conf_init(struct deps_ctx *c)
{
	c->conf_dirs = calloc(1, sizeof(*c->conf_dirs));
	c->dirs = calloc(1, sizeof(*c->dirs));
	if (!c->conf_dirs || !c->dirs)
		return deps_fail(c->err, c->errlen, ENOMEM, "out of memory");
	if (c->conf[0])
		deps_conf_read(c->conf_dirs, c->conf, 0);
	return 0;
}

/* name, a DT_NEEDED of object k with a '/': that absolute path. */
static int deps_need_path(struct deps_ctx *c, unsigned k, const char *name)
{
	char jail[PATH_MAX];
	int ret;

	if (name[0] != '/')
		return deps_fail(c->err, c->errlen, ENOEXEC, "%s needs '%s': a relative path",
				 deps_who(c, k), name);
	ret = deps_normalize(name, jail, sizeof(jail));
	if (!ret)
		ret = deps_add(c->d, c->objs, &c->n_objs, name, jail, name, false, c->err,
			       c->errlen);
	return ret < 0 ? ret : 0;
}

/* c->dirs = where the loader looks for a DT_NEEDED name of object k, in
 * order: DT_RPATH of k and then of the exec file (when k has no
 * DT_RUNPATH), or k's DT_RUNPATH; ld.so.conf; the system directories.
 * Returns how many of them came from the run paths. */
static unsigned deps_search_list(struct deps_ctx *c, unsigned k)
{
	const struct deps_obj *o = &c->objs[k], *exec = &c->objs[0];
	unsigned n_runpath;

	c->dirs->n = 0;
	if (!o->elf.runpath) {
		if (o->elf.rpath)
			deps_dirs_runpath(c->dirs, o->elf.rpath, o);
		if (k != 0 && !exec->elf.runpath && exec->elf.rpath)
			deps_dirs_runpath(c->dirs, exec->elf.rpath, exec);
	} else {
		deps_dirs_runpath(c->dirs, o->elf.runpath, o);
	}
	n_runpath = c->dirs->n;
	for (unsigned i = 0; i < c->conf_dirs->n; i++)
		deps_dirs_add(c->dirs, c->conf_dirs->host[i], c->conf_dirs->jail[i]);
	for (const char *const *sd = c->sys; *sd; sd++)
		deps_dirs_add(c->dirs, *sd, *sd);
	return n_runpath;
}

/* name, a DT_NEEDED of object k without a '/': the first candidate in its
 * search list (deps_search_list). */
static int deps_need_name(struct deps_ctx *c, unsigned k, const char *name)
{
	char path[PATH_MAX], jail[PATH_MAX], raw[PATH_MAX];
	unsigned n_runpath;
	int ret;

	if (strlen(name) > NAME_MAX)
		return deps_fail(c->err, c->errlen, ENAMETOOLONG, "DT_NEEDED '%.64s...' too long",
				 name);
	n_runpath = deps_search_list(c, k);
	for (unsigned i = 0; i < c->dirs->n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", c->dirs->host[i], name) >=
		    (int)sizeof(path) ||
		    snprintf(raw, sizeof(raw), "%s/%s", c->dirs->jail[i], name) >= (int)sizeof(raw))
			continue;
		if (!deps_candidate(path, c->objs[0].elf.machine))
			continue;
		ret = deps_normalize(raw, jail, sizeof(jail));
		if (!ret)
			ret = deps_add(c->d, c->objs, &c->n_objs, path, jail, name, false, c->err,
				       c->errlen);
		if (ret < 0)
			return ret;
		/* Only in the cache's directories: the jail needs the cache. */
		if (i >= n_runpath && !deps_in(c->sys, c->dirs->host[i]))
			c->d->need_cache = true;
		return 0;
	}
	return deps_fail(c->err, c->errlen, ENOENT, "%s needs %s, which is not in its run path, "
			 "%s or the system library directories", deps_who(c, k), name,
			 c->conf[0] ? c->conf : "ld.so.conf");
}

int deps_resolve(const char *exec_path, const char *jail_exec, const struct deps_search *s,
		 struct deps *d, char *err, size_t errlen)
{
	struct deps_ctx c = {
		.d = d,
		.n_objs = 1,
		.exec_path = exec_path,
		.sys = s && s->system_dirs ? s->system_dirs : deps_default_system,
		.conf = s && s->ld_so_conf ? s->ld_so_conf : "/etc/ld.so.conf",
		.err = err,
		.errlen = errlen,
	};
	int ret;

	memset(d, 0, sizeof(*d));
	c.objs = calloc(DEPS_MAX_FILES + 1, sizeof(*c.objs));
	if (!c.objs)
		return deps_fail(err, errlen, ENOMEM, "out of memory");
	ret = deps_elf_open(exec_path, &c.objs[0].elf, err, errlen);
	if (ret <= 0)
		goto out;	/* 0: not ELF, copied alone */
	if (!c.objs[0].elf.has_interp) {
		ret = 0;	/* static or static-pie */
		goto out;
	}
	d->dynamic = true;
	deps_dirname(exec_path, c.objs[0].host_dir, sizeof(c.objs[0].host_dir));
	deps_dirname(jail_exec, c.objs[0].jail_dir, sizeof(c.objs[0].jail_dir));
	ret = deps_add_interp(&c);
	if (!ret)
		ret = deps_conf_init(&c);

	/* Breadth-first over the set, as the loader orders it. The
	 * interpreter (object 1) has no DT_NEEDED worth following in practice,
	 * but is walked like the others. */
	for (unsigned k = 0; !ret && k < c.n_objs; k++) {
		for (unsigned i = 0; !ret && i < c.objs[k].elf.n_needed; i++) {
			const char *name = c.objs[k].elf.needed[i];

			if (deps_loaded(c.objs, c.n_objs, name))
				continue;
			if (strchr(name, '/'))
				ret = deps_need_path(&c, k, name);
			else
				ret = deps_need_name(&c, k, name);
		}
	}
out:
	for (unsigned k = 0; k <= DEPS_MAX_FILES && k < c.n_objs + 1; k++)
		deps_elf_free(&c.objs[k].elf);
	free(c.objs);
	free(c.conf_dirs);
	free(c.dirs);
	if (ret)
		memset(d, 0, sizeof(*d));
	return ret;
}
