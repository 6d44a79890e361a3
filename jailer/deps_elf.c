// SPDX-License-Identifier: Apache-2.0
/*
 * deps_elf.c - what one ELF file says about its loading (deps_elf.h): its
 * machine, its PT_INTERP and, from PT_DYNAMIC, its DT_NEEDED, DT_SONAME,
 * DT_RPATH and DT_RUNPATH strings. deps.c resolves them.
 *
 * Every number read from a file is checked before use: header sizes,
 * program header count and bounds, the dynamic section and string table
 * inside the file, strings NUL-terminated inside the string table. The
 * files are the operator's (the exec file and system libraries), but a
 * corrupt one must give an error line, not a crash of a root process.
 */
#include "jailer/deps_elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEPS_MAX_PHNUM   512
#define DEPS_MAX_DYNAMIC (1u << 20)	/* bytes of PT_DYNAMIC we read */
#define DEPS_MAX_STRTAB  (4u << 20)	/* bytes of .dynstr we read */

/* One ELF file while deps_elf_read() parses it. The buffers are malloc'd
 * and freed when it is done. */
struct deps_elf_file {
	int fd;
	const char *what;		/* names the file in messages */
	uint64_t fsize;
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;			/* eh.e_phnum program headers */
	const Elf64_Phdr *dynph;	/* PT_DYNAMIC, or NULL */
	Elf64_Dyn *dyn;			/* n_dyn entries, then a zeroed one */
	size_t n_dyn;
	char *strtab;			/* the dynamic string table */
	uint64_t strsz;			/* its size */
};

int deps_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -e;
}

void deps_elf_free(struct deps_elf *e)
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

/* The ELF header into f->eh (f->fsize: the file's size). 1 for an ELF64
 * little-endian file (e->machine set), 0 for "not ELF" (no magic), or
 * -ENOEXEC / -errno with err set. */
static int deps_elf_header(struct deps_elf_file *f, struct deps_elf *e, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	if (fstat(f->fd, &st) < 0)
		return deps_fail(err, errlen, errno, "%s: stat: %s", f->what, strerror(errno));
	f->fsize = (uint64_t)st.st_size;
	if (f->fsize < SELFMAG)
		return 0;
	ret = deps_pread(f->fd, &f->eh, f->fsize < sizeof(f->eh) ? SELFMAG : sizeof(f->eh), 0);
	if (ret)
		return deps_fail(err, errlen, -ret, "%s: reading the ELF header: %s", f->what,
				 strerror(-ret));
	if (memcmp(f->eh.e_ident, ELFMAG, SELFMAG))
		return 0;
	if (f->fsize < sizeof(f->eh))
		return deps_fail(err, errlen, ENOEXEC, "%s: truncated ELF header", f->what);
	if (f->eh.e_ident[EI_CLASS] != ELFCLASS64 || f->eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return deps_fail(err, errlen, ENOEXEC, "%s: not a 64-bit little-endian ELF file "
				 "(only those are supported)", f->what);
	e->machine = f->eh.e_machine;
	return 1;
}

/* The program headers (f->eh.e_phnum > 0), bounds-checked, into f->ph. */
static int deps_elf_phdrs(struct deps_elf_file *f, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = &f->eh;
	int ret;

	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > DEPS_MAX_PHNUM ||
	    eh->e_phoff > f->fsize ||
	    f->fsize - eh->e_phoff < (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))
		return deps_fail(err, errlen, ENOEXEC, "%s: bad program headers (offset %llu, "
				 "%u entries of %u bytes)", f->what,
				 (unsigned long long)eh->e_phoff, eh->e_phnum, eh->e_phentsize);
	f->ph = calloc(eh->e_phnum, sizeof(*f->ph));
	if (!f->ph)
		return deps_fail(err, errlen, ENOMEM, "%s: out of memory", f->what);
	ret = deps_pread(f->fd, f->ph, eh->e_phnum * sizeof(*f->ph), eh->e_phoff);
	if (ret)
		return deps_fail(err, errlen, -ret, "%s: reading program headers: %s", f->what,
				 strerror(-ret));
	return 0;
}

/* PT_INTERP into e->interp (NUL-terminated inside the segment, not empty);
 * f->dynph = the PT_DYNAMIC header, if there is one. */
static int deps_elf_interp(struct deps_elf_file *f, struct deps_elf *e, char *err, size_t errlen)
{
	for (unsigned i = 0; i < f->eh.e_phnum; i++) {
		const Elf64_Phdr *p = &f->ph[i];

		if (p->p_type == PT_INTERP) {
			if (p->p_filesz < 2 || p->p_filesz > PATH_MAX || p->p_offset > f->fsize ||
			    f->fsize - p->p_offset < p->p_filesz)
				return deps_fail(err, errlen, ENOEXEC, "%s: bad PT_INTERP",
						 f->what);
			if (deps_pread(f->fd, e->interp, p->p_filesz, p->p_offset) ||
			    e->interp[p->p_filesz - 1] != '\0' || strlen(e->interp) == 0)
				return deps_fail(err, errlen, ENOEXEC, "%s: bad PT_INTERP",
						 f->what);
			e->has_interp = true;
		} else if (p->p_type == PT_DYNAMIC) {
			f->dynph = p;
		}
	}
	return 0;
}

/* The entries of f->dynph, bounds-checked, into f->dyn. */
static int deps_elf_dynamic(struct deps_elf_file *f, char *err, size_t errlen)
{
	const Elf64_Phdr *d = f->dynph;
	int ret;

	if (d->p_filesz > DEPS_MAX_DYNAMIC || d->p_offset > f->fsize ||
	    f->fsize - d->p_offset < d->p_filesz)
		return deps_fail(err, errlen, ENOEXEC, "%s: bad PT_DYNAMIC", f->what);
	f->n_dyn = d->p_filesz / sizeof(Elf64_Dyn);
	f->dyn = calloc(f->n_dyn + 1, sizeof(*f->dyn));
	if (!f->dyn)
		return deps_fail(err, errlen, ENOMEM, "%s: out of memory", f->what);
	ret = deps_pread(f->fd, f->dyn, f->n_dyn * sizeof(*f->dyn), d->p_offset);
	if (ret)
		return deps_fail(err, errlen, -ret, "%s: reading PT_DYNAMIC", f->what);
	return 0;
}

/* The dynamic string table that DT_STRTAB and DT_STRSZ name, into
 * f->strtab. 0, or 1 when there is none (the file names nothing: no
 * DT_NEEDED, no paths), or -ENOEXEC / -errno with err set. */
static int deps_elf_strtab(struct deps_elf_file *f, char *err, size_t errlen)
{
	uint64_t va = 0, off = 0;
	bool have_strtab = false, have_strsz = false, found = false;
	int ret;

	for (size_t i = 0; i < f->n_dyn && f->dyn[i].d_tag != DT_NULL; i++) {
		if (f->dyn[i].d_tag == DT_STRTAB) {
			va = f->dyn[i].d_un.d_ptr;
			have_strtab = true;
		} else if (f->dyn[i].d_tag == DT_STRSZ) {
			f->strsz = f->dyn[i].d_un.d_val;
			have_strsz = true;
		}
	}
	if (!have_strtab || !have_strsz)
		return 1;
	/* DT_STRTAB is a virtual address: find the PT_LOAD holding it. */
	for (unsigned i = 0; i < f->eh.e_phnum && !found; i++) {
		const Elf64_Phdr *p = &f->ph[i];

		if (p->p_type != PT_LOAD || va < p->p_vaddr || va - p->p_vaddr >= p->p_filesz ||
		    p->p_filesz - (va - p->p_vaddr) < f->strsz)
			continue;
		off = p->p_offset + (va - p->p_vaddr);
		found = true;
	}
	if (!found || f->strsz == 0 || f->strsz > DEPS_MAX_STRTAB || off > f->fsize ||
	    f->fsize - off < f->strsz)
		return deps_fail(err, errlen, ENOEXEC, "%s: DT_STRTAB/DT_STRSZ outside the file",
				 f->what);
	f->strtab = malloc(f->strsz);
	if (!f->strtab)
		return deps_fail(err, errlen, ENOMEM, "%s: out of memory", f->what);
	ret = deps_pread(f->fd, f->strtab, f->strsz, off);
	if (ret)
		return deps_fail(err, errlen, -ret, "%s: reading the dynamic string table",
				 f->what);
	return 0;
}

/* DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH, looked up in f->strtab,
 * into e. */
static int deps_elf_names(struct deps_elf_file *f, struct deps_elf *e, char *err, size_t errlen)
{
	for (size_t i = 0; i < f->n_dyn && f->dyn[i].d_tag != DT_NULL; i++) {
		const Elf64_Dyn *d = &f->dyn[i];
		char **slot = NULL, *s;

		switch (d->d_tag) {
		case DT_NEEDED:
			if (e->n_needed >= DEPS_MAX_NEEDED)
				return deps_fail(err, errlen, E2BIG, "%s: more than %d DT_NEEDED",
						 f->what, DEPS_MAX_NEEDED);
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
		s = deps_str(f->strtab, f->strsz, d->d_un.d_val);
		if (!s || !s[0]) {
			free(s);
			return deps_fail(err, errlen, ENOEXEC, "%s: dynamic entry %zu: bad string "
					 "offset %llu", f->what, i,
					 (unsigned long long)d->d_un.d_val);
		}
		free(*slot);
		*slot = s;
		if (d->d_tag == DT_NEEDED)
			e->n_needed++;
	}
	return 0;
}

/* Parse the ELF file at fd, named what in messages: deps_elf_open()'s
 * results. Each step reads only what the one before it checked. */
static int deps_elf_read(int fd, const char *what, struct deps_elf *e, char *err, size_t errlen)
{
	struct deps_elf_file f = { .fd = fd, .what = what };
	int ret;

	memset(e, 0, sizeof(*e));
	ret = deps_elf_header(&f, e, err, errlen);
	if (ret <= 0 || f.eh.e_phnum == 0)
		return ret;
	ret = deps_elf_phdrs(&f, err, errlen);
	if (!ret)
		ret = deps_elf_interp(&f, e, err, errlen);
	if (!ret && f.dynph)
		ret = deps_elf_dynamic(&f, err, errlen);
	if (!ret && f.dynph)
		ret = deps_elf_strtab(&f, err, errlen);	/* 1: it names nothing */
	if (!ret && f.dynph)
		ret = deps_elf_names(&f, e, err, errlen);
	free(f.strtab);
	free(f.dyn);
	free(f.ph);
	if (ret < 0) {
		deps_elf_free(e);
		return ret;
	}
	return 1;
}

int deps_elf_open(const char *path, struct deps_elf *e, char *err, size_t errlen)
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

bool deps_candidate(const char *path, uint16_t machine)
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
