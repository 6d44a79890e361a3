/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deps_elf.h - what one ELF file says about its loading (deps_elf.c): the
 * ELF reader behind deps_resolve() (deps.h), and its error lines.
 */
#ifndef EMBER_JAILER_DEPS_ELF_H
#define EMBER_JAILER_DEPS_ELF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEPS_MAX_NEEDED 256

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

/* Format err (no cause appended). Returns -e. */
int deps_fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Open and parse path. 1 = an ELF64 little-endian file (e filled, free it
 * with deps_elf_free), 0 = not ELF (no magic), <0 = error (err set): a
 * malformed or unsupported ELF file is -ENOEXEC. */
int deps_elf_open(const char *path, struct deps_elf *e, char *err, size_t errlen);

/* Free e's strings and zero it. */
void deps_elf_free(struct deps_elf *e);

/* Would the loader take path: a regular ELF64 little-endian file of this
 * machine? Only the ELF header is checked, as the loader's open_verify(); a
 * candidate that is corrupt further in is then an error naming it. */
bool deps_candidate(const char *path, uint16_t machine);

#endif
