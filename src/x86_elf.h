/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86_elf.h - the ELF vmlinux loader of x86_boot.c (internal to it).
 */
#ifndef EMBER_X86_ELF_H
#define EMBER_X86_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "src/guest_mem.h"
#include "src/x86_boot.h"

/* Load the ELF64 x86-64 executable open on fd (fsize bytes; probe: its
 * first plen bytes) into guest RAM and fill k: the PVH entry when the file
 * has Xen's PHYS32_ENTRY note, else the 64-bit e_entry. Every header,
 * segment and note is checked before any guest byte is written; the bss of
 * RAM that was never touched is left as it is (zero). Returns 0, or -errno
 * with one line in err naming what is wrong. */
int x86_load_elf(const struct guest_mem *mem, int fd, uint64_t fsize, const uint8_t *probe,
		 size_t plen, struct x86_kernel *k, char *err, size_t errlen);

#endif
