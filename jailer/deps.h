/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deps.h - which files a dynamically linked exec file needs in the jail.
 *
 * The jail holds only what the jailer puts there. A static exec file needs
 * nothing else; a dynamically linked one (it has a PT_INTERP) needs its
 * ELF interpreter and, transitively, every DT_NEEDED shared library, at the
 * paths the interpreter will look for them inside the jail.
 *
 * We read the ELF headers ourselves instead of running "<interp> --list":
 * nothing of the exec file or its libraries runs as root in the jailer, and
 * the resolution is plain code that unit tests drive with crafted files.
 * The lookup follows glibc's ld.so (ld.so(8), "Rpath token expansion"), for
 * each DT_NEEDED name of an object O:
 *   - a name with a '/' is a path (absolute only; relative ones are refused);
 *   - a name equal to the DT_SONAME (or the requested name) of an object
 *     already in the set is that object (libc's DT_NEEDED on ld-linux is the
 *     interpreter itself);
 *   - DT_RPATH of O, then of the exec file, when O has no DT_RUNPATH;
 *   - DT_RUNPATH of O;
 *   - the directories of /etc/ld.so.conf (with its "include" globs): the
 *     directories /etc/ld.so.cache is built from, in the same order;
 *   - the system directories /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu,
 *     /lib, /usr/lib (what Debian's ld.so searches without a cache).
 * A candidate must be an ELF64 little-endian file of the exec's e_machine
 * (others are skipped, as the loader does). $ORIGIN, $LIB and $PLATFORM are
 * expanded; in the jail the exec file lives at /<name>, so its $ORIGIN there
 * is "/" while on the host it is the exec file's directory: every file has
 * a host path (read from) and a jail path (written to).
 * Not modelled: LD_LIBRARY_PATH / LD_PRELOAD (the jail's environment is
 * empty), glibc-hwcaps subdirectories (the jail's loader falls back to the
 * plain directory), DF_1_NODEFLIB, dlopen() at run time (ember has none).
 *
 * When a library was found only through an ld.so.conf directory (not a
 * system directory, not a run path), the jail's loader could not find it
 * without the cache: need_cache is set and the jailer copies
 * /etc/ld.so.cache into the jail too.
 */
#ifndef EMBER_JAILER_DEPS_H
#define EMBER_JAILER_DEPS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define DEPS_MAX_FILES 128	/* interpreter + libraries */
#define DEPS_MAX_DIRS  64	/* directories per search list */

struct deps_file {
	char host[PATH_MAX];	/* where to read it on the host (symlinks followed) */
	char jail[PATH_MAX];	/* absolute, normalised path inside the jail */
	bool interp;		/* the ELF interpreter (needs the exec bit) */
};

struct deps {
	bool dynamic;		/* the exec file has a PT_INTERP */
	bool need_cache;	/* copy /etc/ld.so.cache too (see above) */
	unsigned n;
	struct deps_file files[DEPS_MAX_FILES];
};

/* Where to look; NULL members take the defaults above. Tests point these
 * at a temporary tree. */
struct deps_search {
	const char *const *system_dirs;	/* NULL-terminated */
	const char *ld_so_conf;		/* a file; "" for none */
};

/* Resolve what exec_path (a regular file) needs. jail_exec is its path in
 * the jail ("/ember"). Not an ELF file (a script), or an ELF file without
 * PT_INTERP (static, static-pie): d->dynamic false, d->n 0, success.
 * Otherwise d->files lists the interpreter first, then each library once,
 * deduplicated by jail path. Reads files only; s may be NULL.
 * Returns 0, or -errno with one line in err: a malformed ELF file
 * (-ENOEXEC), an unsupported one (ELF32, big-endian: -ENOEXEC), a library
 * not found (-ENOENT, naming it and who needs it), too many (-E2BIG). */
int deps_resolve(const char *exec_path, const char *jail_exec, const struct deps_search *s,
		 struct deps *d, char *err, size_t errlen);

/* Lexically normalise an absolute path: collapse "//", "." and ".." (".."
 * of "/" is "/"). out must not overlap path. Returns 0, or -EINVAL for a
 * relative path, -ENAMETOOLONG. */
int deps_normalize(const char *path, char *out, size_t outlen);

#endif
