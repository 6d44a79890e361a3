// SPDX-License-Identifier: Apache-2.0
/*
 * deps.c - ELF interpreter and shared libraries of the exec file (deps.h).
 *
 * Every number read from a file is checked before use: header sizes,
 * program header count and bounds, the dynamic section and string table
 * inside the file, strings NUL-terminated inside the string table. The
 * files are the operator's (the exec file and system libraries), but a
 * corrupt one must give an error line, not a crash of a root process.
 */
#include "deps.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEPS_MAX_PHNUM   512
#define DEPS_MAX_DYNAMIC (1u << 20)	/* bytes of PT_DYNAMIC we read */
#define DEPS_MAX_STRTAB  (4u << 20)	/* bytes of .dynstr we read */
#define DEPS_MAX_NEEDED  256
#define DEPS_CONF_DEPTH  4		/* nested "include" levels */
#define DEPS_LIB         "lib/x86_64-linux-gnu"	/* $LIB, Debian multiarch */
#define DEPS_PLATFORM    "x86_64"		/* $PLATFORM */

static const char *const deps_default_system[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib", NULL,
};

/* What one ELF file says about its loading. Strings are malloc'd. */
struct deps_elf {
	uint16_t machine;
	bool has_interp;
	char interp[PATH_MAX];
	char *soname;
	char *rpath;
	char *runpath;
	unsigned n_needed;
	char *needed[DEPS_MAX_NEEDED];
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

static int deps_fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int deps_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -e;
}

static void deps_elf_free(struct deps_elf *e)
{
	free(e->soname);
	free(e->rpath);
	free(e->runpath);
	for (unsigned i = 0; i < e->n_needed; i++)
		free(e->needed[i]);
	memset(e, 0, sizeof(*e));
}

/* pread exactly len bytes at off; -ENOEXEC if the file is shorter. */
static int deps_pread(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (off > (uint64_t)INT64_MAX - len)
		return -ENOEXEC;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOEXEC;
		done += (size_t)n;
	}
	return 0;
}

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

/* A copy of the NUL-terminated string at strtab[off], or NULL if off is out
 * of range or the string runs off the table. */
static char *deps_str(const char *strtab, uint64_t strsz, uint64_t off)
{
	const char *s, *end;

	if (off >= strsz)
		return NULL;
	s = strtab + off;
	end = memchr(s, '\0', (size_t)(strsz - off));
	if (!end)
		return NULL;
	return strdup(s);
}

/*
 * Parse the ELF file at fd. Returns 1 for an ELF64 little-endian file
 * (e filled), 0 for "not ELF" (no magic), or -ENOEXEC / -errno with err set.
 * what names the file in messages.
 */
static int deps_elf_read(int fd, const char *what, struct deps_elf *e, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph = NULL;
	Elf64_Dyn *dyn = NULL;
	char *strtab = NULL;
	const Elf64_Phdr *dynph = NULL;
	uint64_t strtab_va = 0, strsz = 0, strtab_off = 0, fsize;
	bool have_strtab = false, have_strsz = false;
	size_t n_dyn = 0;
	struct stat st;
	int ret;

	memset(e, 0, sizeof(*e));
	if (fstat(fd, &st) < 0)
		return deps_fail(err, errlen, errno, "%s: stat: %s", what, strerror(errno));
	fsize = (uint64_t)st.st_size;
	if (fsize < SELFMAG)
		return 0;
	ret = deps_pread(fd, &eh, fsize < sizeof(eh) ? SELFMAG : sizeof(eh), 0);
	if (ret)
		return deps_fail(err, errlen, -ret, "%s: reading the ELF header: %s", what,
				 strerror(-ret));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return 0;
	if (fsize < sizeof(eh))
		return deps_fail(err, errlen, ENOEXEC, "%s: truncated ELF header", what);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return deps_fail(err, errlen, ENOEXEC, "%s: not a 64-bit little-endian ELF file "
				 "(only those are supported)", what);
	e->machine = eh.e_machine;
	if (eh.e_phnum == 0)
		return 1;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > DEPS_MAX_PHNUM ||
	    eh.e_phoff > fsize || fsize - eh.e_phoff < (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr))
		return deps_fail(err, errlen, ENOEXEC, "%s: bad program headers (offset %llu, "
				 "%u entries of %u bytes)", what, (unsigned long long)eh.e_phoff,
				 eh.e_phnum, eh.e_phentsize);
	ph = calloc(eh.e_phnum, sizeof(*ph));
	if (!ph)
		return deps_fail(err, errlen, ENOMEM, "%s: out of memory", what);
	ret = deps_pread(fd, ph, eh.e_phnum * sizeof(*ph), eh.e_phoff);
	if (ret) {
		ret = deps_fail(err, errlen, -ret, "%s: reading program headers: %s", what,
				strerror(-ret));
		goto out;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP) {
			if (ph[i].p_filesz < 2 || ph[i].p_filesz > PATH_MAX ||
			    ph[i].p_offset > fsize || fsize - ph[i].p_offset < ph[i].p_filesz) {
				ret = deps_fail(err, errlen, ENOEXEC, "%s: bad PT_INTERP", what);
				goto out;
			}
			ret = deps_pread(fd, e->interp, ph[i].p_filesz, ph[i].p_offset);
			if (ret || e->interp[ph[i].p_filesz - 1] != '\0' ||
			    strlen(e->interp) == 0) {
				ret = deps_fail(err, errlen, ENOEXEC, "%s: bad PT_INTERP", what);
				goto out;
			}
			e->has_interp = true;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dynph = &ph[i];
		}
	}
	if (!dynph) {
		ret = 1;
		goto out;
	}
	if (dynph->p_filesz > DEPS_MAX_DYNAMIC || dynph->p_offset > fsize ||
	    fsize - dynph->p_offset < dynph->p_filesz) {
		ret = deps_fail(err, errlen, ENOEXEC, "%s: bad PT_DYNAMIC", what);
		goto out;
	}
	n_dyn = dynph->p_filesz / sizeof(Elf64_Dyn);
	dyn = calloc(n_dyn + 1, sizeof(*dyn));
	if (!dyn) {
		ret = deps_fail(err, errlen, ENOMEM, "%s: out of memory", what);
		goto out;
	}
	ret = deps_pread(fd, dyn, n_dyn * sizeof(*dyn), dynph->p_offset);
	if (ret) {
		ret = deps_fail(err, errlen, -ret, "%s: reading PT_DYNAMIC", what);
		goto out;
	}
	for (size_t i = 0; i < n_dyn && dyn[i].d_tag != DT_NULL; i++) {
		if (dyn[i].d_tag == DT_STRTAB) {
			strtab_va = dyn[i].d_un.d_ptr;
			have_strtab = true;
		} else if (dyn[i].d_tag == DT_STRSZ) {
			strsz = dyn[i].d_un.d_val;
			have_strsz = true;
		}
	}
	if (!have_strtab || !have_strsz) {
		ret = 1;	/* nothing named: no NEEDED, no paths */
		goto out;
	}
	/* DT_STRTAB is a virtual address: find the PT_LOAD holding it. */
	ret = -ENOEXEC;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || strtab_va < ph[i].p_vaddr ||
		    strtab_va - ph[i].p_vaddr >= ph[i].p_filesz ||
		    ph[i].p_filesz - (strtab_va - ph[i].p_vaddr) < strsz)
			continue;
		strtab_off = ph[i].p_offset + (strtab_va - ph[i].p_vaddr);
		ret = 0;
		break;
	}
	if (ret || strsz == 0 || strsz > DEPS_MAX_STRTAB || strtab_off > fsize ||
	    fsize - strtab_off < strsz) {
		ret = deps_fail(err, errlen, ENOEXEC, "%s: DT_STRTAB/DT_STRSZ outside the file",
				what);
		goto out;
	}
	strtab = malloc(strsz);
	if (!strtab) {
		ret = deps_fail(err, errlen, ENOMEM, "%s: out of memory", what);
		goto out;
	}
	ret = deps_pread(fd, strtab, strsz, strtab_off);
	if (ret) {
		ret = deps_fail(err, errlen, -ret, "%s: reading the dynamic string table", what);
		goto out;
	}
	for (size_t i = 0; i < n_dyn && dyn[i].d_tag != DT_NULL; i++) {
		char **slot = NULL, *s;

		switch (dyn[i].d_tag) {
		case DT_NEEDED:
			if (e->n_needed >= DEPS_MAX_NEEDED) {
				ret = deps_fail(err, errlen, E2BIG, "%s: more than %d DT_NEEDED", what,
						DEPS_MAX_NEEDED);
				goto out;
			}
			slot = &e->needed[e->n_needed];
			break;
		case DT_SONAME:
			slot = &e->soname;
			break;
		case DT_RPATH:
			slot = &e->rpath;
			break;
		case DT_RUNPATH:
			slot = &e->runpath;
			break;
		default:
			continue;
		}
		s = deps_str(strtab, strsz, dyn[i].d_un.d_val);
		if (!s || !s[0]) {
			free(s);
			ret = deps_fail(err, errlen, ENOEXEC, "%s: dynamic entry %zu: bad string "
					"offset %llu", what, i, (unsigned long long)dyn[i].d_un.d_val);
			goto out;
		}
		free(*slot);
		*slot = s;
		if (dyn[i].d_tag == DT_NEEDED)
			e->n_needed++;
	}
	ret = 1;
out:
	free(strtab);
	free(dyn);
	free(ph);
	if (ret < 0)
		deps_elf_free(e);
	return ret;
}

/* Open and parse path. 1 = ELF, 0 = not ELF, <0 = error (err set). */
static int deps_elf_open(const char *path, struct deps_elf *e, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return deps_fail(err, errlen, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return deps_fail(err, errlen, ENOEXEC, "%s: not a regular file", path);
	}
	ret = deps_elf_read(fd, path, e, err, errlen);
	close(fd);
	return ret;
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

/* Would the loader take path: a regular ELF64 little-endian file of this
 * machine? Only the ELF header is checked, as the loader's open_verify(); a
 * candidate that is corrupt further in is then an error naming it. */
static bool deps_candidate(const char *path, uint16_t machine)
{
	Elf64_Ehdr eh;
	struct stat st;
	bool ok;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && deps_pread(fd, &eh, sizeof(eh), 0) == 0 &&
	     !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	     eh.e_ident[EI_DATA] == ELFDATA2LSB && eh.e_machine == machine;
	close(fd);
	return ok;
}

static bool deps_in(const char *const *dirs, const char *dir)
{
	for (; *dirs; dirs++)
		if (!strcmp(*dirs, dir))
			return true;
	return false;
}

int deps_resolve(const char *exec_path, const char *jail_exec, const struct deps_search *s,
		 struct deps *d, char *err, size_t errlen)
{
	const char *const *sys = s && s->system_dirs ? s->system_dirs : deps_default_system;
	const char *conf = s && s->ld_so_conf ? s->ld_so_conf : "/etc/ld.so.conf";
	struct deps_obj *objs;
	struct deps_dirs *conf_dirs = NULL, *dirs = NULL;
	unsigned n_objs = 1;
	char path[PATH_MAX], jail[PATH_MAX], raw[PATH_MAX];
	int ret;

	memset(d, 0, sizeof(*d));
	objs = calloc(DEPS_MAX_FILES + 1, sizeof(*objs));
	if (!objs)
		return deps_fail(err, errlen, ENOMEM, "out of memory");
	ret = deps_elf_open(exec_path, &objs[0].elf, err, errlen);
	if (ret <= 0)
		goto out;	/* 0: not ELF, copied alone */
	if (!objs[0].elf.has_interp) {
		ret = 0;	/* static or static-pie */
		goto out;
	}
	d->dynamic = true;
	deps_dirname(exec_path, objs[0].host_dir, sizeof(objs[0].host_dir));
	deps_dirname(jail_exec, objs[0].jail_dir, sizeof(objs[0].jail_dir));

	/* The interpreter: at its own path, read through host symlinks. */
	if (objs[0].elf.interp[0] != '/') {
		ret = deps_fail(err, errlen, ENOEXEC, "%s: relative PT_INTERP '%s'", exec_path,
				objs[0].elf.interp);
		goto out;
	}
	ret = deps_normalize(objs[0].elf.interp, jail, sizeof(jail));
	if (!ret)
		ret = deps_add(d, objs, &n_objs, objs[0].elf.interp, jail, "", true, err, errlen);
	if (ret < 0) {
		if (ret == -ENOENT)
			deps_fail(err, errlen, ENOENT, "%s: its ELF interpreter %s does not exist",
				  exec_path, objs[0].elf.interp);
		goto out;
	}
	if (objs[1].elf.machine != objs[0].elf.machine) {
		ret = deps_fail(err, errlen, ENOEXEC, "%s: ELF interpreter %s is for another "
				"machine", exec_path, objs[0].elf.interp);
		goto out;
	}
	conf_dirs = calloc(1, sizeof(*conf_dirs));
	dirs = calloc(1, sizeof(*dirs));
	if (!conf_dirs || !dirs) {
		ret = deps_fail(err, errlen, ENOMEM, "out of memory");
		goto out;
	}
	if (conf[0])
		deps_conf_read(conf_dirs, conf, 0);

	/* Breadth-first over the set, as the loader orders it. The
	 * interpreter (object 1) has no DT_NEEDED worth following in practice,
	 * but is walked like the others. */
	for (unsigned k = 0; k < n_objs; k++) {
		struct deps_obj *o = &objs[k];

		for (unsigned i = 0; i < o->elf.n_needed; i++) {
			const char *name = o->elf.needed[i];
			bool found = false;
			unsigned n_runpath = 0;

			if (deps_loaded(objs, n_objs, name))
				continue;
			if (strchr(name, '/')) {
				if (name[0] != '/') {
					ret = deps_fail(err, errlen, ENOEXEC, "%s needs '%s': a relative "
							"path", k ? d->files[k - 1].host : exec_path,
							name);
					goto out;
				}
				ret = deps_normalize(name, jail, sizeof(jail));
				if (!ret)
					ret = deps_add(d, objs, &n_objs, name, jail, name, false, err,
						       errlen);
				if (ret < 0)
					goto out;
				continue;
			}
			if (strlen(name) > NAME_MAX) {
				ret = deps_fail(err, errlen, ENAMETOOLONG, "DT_NEEDED '%.64s...' too "
						"long", name);
				goto out;
			}
			dirs->n = 0;
			if (!o->elf.runpath) {
				if (o->elf.rpath)
					deps_dirs_runpath(dirs, o->elf.rpath, o);
				if (k != 0 && !objs[0].elf.runpath && objs[0].elf.rpath)
					deps_dirs_runpath(dirs, objs[0].elf.rpath, &objs[0]);
			} else {
				deps_dirs_runpath(dirs, o->elf.runpath, o);
			}
			n_runpath = dirs->n;
			for (unsigned c = 0; c < conf_dirs->n; c++)
				deps_dirs_add(dirs, conf_dirs->host[c], conf_dirs->jail[c]);
			for (const char *const *sd = sys; *sd; sd++)
				deps_dirs_add(dirs, *sd, *sd);
			for (unsigned c = 0; c < dirs->n && !found; c++) {
				if (snprintf(path, sizeof(path), "%s/%s", dirs->host[c], name) >=
				    (int)sizeof(path) ||
				    snprintf(raw, sizeof(raw), "%s/%s", dirs->jail[c], name) >=
				    (int)sizeof(raw))
					continue;
				if (!deps_candidate(path, objs[0].elf.machine))
					continue;
				ret = deps_normalize(raw, jail, sizeof(jail));
				if (!ret)
					ret = deps_add(d, objs, &n_objs, path, jail, name, false, err,
						       errlen);
				if (ret < 0)
					goto out;
				found = true;
				/* Only in the cache's directories: the jail needs the cache. */
				if (c >= n_runpath && !deps_in(sys, dirs->host[c]))
					d->need_cache = true;
			}
			if (!found) {
				ret = deps_fail(err, errlen, ENOENT, "%s needs %s, which is not in its "
						"run path, %s or the system library directories",
						k ? d->files[k - 1].host : exec_path, name,
						conf[0] ? conf : "ld.so.conf");
				goto out;
			}
		}
	}
	ret = 0;
out:
	for (unsigned k = 0; k <= DEPS_MAX_FILES && k < n_objs + 1; k++)
		deps_elf_free(&objs[k].elf);
	free(objs);
	free(conf_dirs);
	free(dirs);
	if (ret)
		memset(d, 0, sizeof(*d));
	return ret;
}
