// SPDX-License-Identifier: Apache-2.0
/*
 * x86_elf.c - loading an uncompressed ELF vmlinux (x86_elf.h): its headers
 * and PT_LOAD segments checked against the file and guest RAM before any
 * byte is copied, the entry point from the Xen PVH note when there is one.
 *
 * References: the ELF gABI (program headers, notes), Xen's
 * public/elfnote.h (XEN_ELFNOTE_PHYS32_ENTRY), Linux
 * arch/x86/platform/pvh/head.S.
 */
#include "src/x86_elf.h"
#include "src/layout.h"
#include "src/util.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define X86_ELF_MAX_PHDRS  64          /* vmlinux has ~5; anything more is junk */
#define X86_ELF_MAX_NOTES  (64 << 10)  /* bytes of one PT_NOTE segment we parse */
#define XEN_ELFNOTE_PHYS32_ENTRY 18    /* xen/include/public/elfnote.h */

/* Walk one PT_NOTE segment (gABI "Note Section": namesz, descsz, type, then
 * name and desc each padded to the segment alignment, 4 or 8). Sets *entry
 * when a Xen PHYS32_ENTRY note is present. Returns 0 or -EINVAL. */
static int x86_elf_find_pvh(const uint8_t *n, uint64_t len, uint64_t align, uint64_t *entry,
			    bool *found)
{
	uint64_t off = 0;
	while (len - off >= 12) {
		uint32_t namesz = util_le32(n + off), descsz = util_le32(n + off + 4);
		uint32_t type = util_le32(n + off + 8);
		uint64_t name = off + 12;
		uint64_t desc = name + (((uint64_t)namesz + align - 1) & ~(align - 1));
		uint64_t next = desc + (((uint64_t)descsz + align - 1) & ~(align - 1));
		if (desc > len || descsz > len - desc)
			return -EINVAL;
		if (namesz == 4 && !memcmp(n + name, "Xen", 4) && type == XEN_ELFNOTE_PHYS32_ENTRY) {
			/* Linux emits it as _ASM_PTR (8 bytes on x86_64); the
			 * value is a 32-bit physical address either way. */
			uint64_t v;
			if (descsz == 4)
				v = util_le32(n + desc);
			else if (descsz == 8)
				v = util_le64(n + desc);
			else
				return -EINVAL;
			if (v > UINT32_MAX)
				return -EINVAL;
			*entry = v;
			*found = true;
		}
		if (next > len)
			break;	/* last note's padding may be cut off */
		off = next;
	}
	return 0;
}

/* The ELF header (from the probe) and the program headers (read into ph):
 * an x86-64 executable whose headers lie inside the file. */
static int x86_elf_headers(int fd, uint64_t fsize, const uint8_t *probe, size_t plen,
			   Elf64_Ehdr *ehp, Elf64_Phdr *ph, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	int rc;

	if (plen < EI_NIDENT || (probe[EI_CLASS] == ELFCLASS64 && plen < sizeof(eh)))
		return util_err(err, errlen, -EINVAL, "kernel: ELF header truncated (file is %llu bytes)",
				(unsigned long long)fsize);
	if (probe[EI_CLASS] != ELFCLASS64)
		return util_err(err, errlen, -ENOEXEC,
				"kernel: ELF class %u is not ELF64 (a 32-bit kernel cannot be booted)",
				probe[EI_CLASS]);
	memcpy(&eh, probe, sizeof(eh));
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return util_err(err, errlen, -ENOEXEC, "kernel: ELF is not little-endian x86_64 (machine %u)",
				eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return util_err(err, errlen, -ENOEXEC, "kernel: ELF type %u is not an executable vmlinux",
				eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return util_err(err, errlen, -EINVAL, "kernel: ELF program header size %u (expected %zu)",
				eh.e_phentsize, sizeof(Elf64_Phdr));
	if (eh.e_phnum == 0 || eh.e_phnum > X86_ELF_MAX_PHDRS)
		return util_err(err, errlen, -EINVAL, "kernel: ELF has %u program headers (1..%u allowed)",
				eh.e_phnum, X86_ELF_MAX_PHDRS);
	uint64_t phlen = (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (eh.e_phoff > fsize || phlen > fsize - eh.e_phoff)
		return util_err(err, errlen, -EINVAL,
				"kernel: ELF program headers at offset %#llx (%u entries) are past the end of the %llu-byte file",
				(unsigned long long)eh.e_phoff, eh.e_phnum, (unsigned long long)fsize);
	rc = util_pread_full(fd, ph, phlen, eh.e_phoff);
	if (rc)
		return util_err(err, errlen, rc, "kernel: reading ELF program headers: %s", strerror(-rc));
	*ehp = eh;
	return 0;
}

/* Pass 1: every PT_LOAD is checked before any guest byte is written: inside
 * the file, inside guest RAM above LAYOUT_HIMEM_START, no two overlapping.
 * *hi: the end of the highest. */
static int x86_elf_check_loads(const struct guest_mem *mem, uint64_t fsize, const Elf64_Ehdr *ehp,
			       const Elf64_Phdr *ph, uint64_t *hi_out, char *err, size_t errlen)
{
	unsigned nload = 0;
	uint64_t hi = 0;
	for (unsigned i = 0; i < ehp->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_filesz > p->p_memsz)
			return util_err(err, errlen, -EINVAL,
					"kernel: ELF segment %u file size %#llx exceeds its memory size %#llx", i,
					(unsigned long long)p->p_filesz, (unsigned long long)p->p_memsz);
		if (p->p_offset > fsize || p->p_filesz > fsize - p->p_offset)
			return util_err(err, errlen, -EINVAL,
					"kernel: ELF segment %u data at offset %#llx (size %#llx) is past the end of the %llu-byte file",
					i, (unsigned long long)p->p_offset, (unsigned long long)p->p_filesz,
					(unsigned long long)fsize);
		if (p->p_paddr < LAYOUT_HIMEM_START || !guest_mem_ptr(mem, p->p_paddr, p->p_memsz))
			return util_err(err, errlen, -EINVAL,
					"kernel: ELF segment %u at %#llx (size %#llx) is outside guest memory [%#llx, %#llx)",
					i, (unsigned long long)p->p_paddr, (unsigned long long)p->p_memsz,
					(unsigned long long)LAYOUT_HIMEM_START,
					(unsigned long long)guest_mem_low_end(mem));
		for (unsigned j = 0; j < i; j++) {
			const Elf64_Phdr *q = &ph[j];
			if (q->p_type != PT_LOAD || q->p_memsz == 0)
				continue;
			/* Both ranges are inside RAM, so the ends do not overflow. */
			if (p->p_paddr < q->p_paddr + q->p_memsz && q->p_paddr < p->p_paddr + p->p_memsz)
				return util_err(err, errlen, -EINVAL,
						"kernel: ELF segments %u and %u overlap at %#llx", j, i,
						(unsigned long long)p->p_paddr);
		}
		nload++;
		if (p->p_paddr + p->p_memsz > hi)
			hi = p->p_paddr + p->p_memsz;
	}
	if (!nload)
		return util_err(err, errlen, -EINVAL, "kernel: ELF has no loadable segment");
	*hi_out = hi;
	return 0;
}

/* The entry point: the Xen PVH note's when there is one (Linux
 * arch/x86/platform/pvh/head.S), else e_entry; it must lie in a PT_LOAD. */
static int x86_elf_entry(int fd, uint64_t fsize, const Elf64_Ehdr *ehp, const Elf64_Phdr *ph,
			 uint64_t *entry_out, bool *pvh_out, char *err, size_t errlen)
{
	int rc;

	uint64_t pvh_entry = 0;
	bool pvh = false;
	for (unsigned i = 0; i < ehp->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_NOTE || p->p_filesz == 0)
			continue;
		if (p->p_filesz > X86_ELF_MAX_NOTES || p->p_offset > fsize ||
		    p->p_filesz > fsize - p->p_offset)
			return util_err(err, errlen, -EINVAL,
					"kernel: ELF note segment %u at offset %#llx (size %#llx) is past the end of the file or too big",
					i, (unsigned long long)p->p_offset, (unsigned long long)p->p_filesz);
		uint8_t *buf = malloc(p->p_filesz);
		if (!buf)
			return util_err(err, errlen, -ENOMEM, "kernel: out of memory for ELF notes");
		rc = util_pread_full(fd, buf, p->p_filesz, p->p_offset);
		if (!rc)
			rc = x86_elf_find_pvh(buf, p->p_filesz, p->p_align == 8 ? 8 : 4, &pvh_entry, &pvh);
		free(buf);
		if (rc)
			return util_err(err, errlen, rc, "kernel: ELF note segment %u is malformed or unreadable", i);
	}

	uint64_t entry = pvh ? pvh_entry : ehp->e_entry;
	bool inside = false;
	for (unsigned i = 0; i < ehp->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_memsz && entry >= ph[i].p_paddr &&
		    entry - ph[i].p_paddr < ph[i].p_memsz)
			inside = true;
	if (!inside)
		return util_err(err, errlen, -EINVAL, "kernel: ELF %s entry point %#llx is not inside a loaded segment",
				pvh ? "PVH" : "64-bit", (unsigned long long)entry);
	*entry_out = entry;
	*pvh_out = pvh;
	return 0;
}

int x86_load_elf(const struct guest_mem *mem, int fd, uint64_t fsize, const uint8_t *probe,
			size_t plen, struct x86_kernel *k, char *err, size_t errlen)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[X86_ELF_MAX_PHDRS];
	uint64_t hi = 0, entry = 0;
	bool pvh = false;
	int rc;

	if ((rc = x86_elf_headers(fd, fsize, probe, plen, &eh, ph, err, errlen)) ||
	    (rc = x86_elf_check_loads(mem, fsize, &eh, ph, &hi, err, errlen)) ||
	    (rc = x86_elf_entry(fd, fsize, &eh, ph, &entry, &pvh, err, errlen)))
		return rc;

	/* Pass 2: copy file bytes, zero the rest (bss). */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		uint8_t *dst = guest_mem_ptr(mem, p->p_paddr, p->p_memsz);
		/* Copied, never mapped from the file (guest_mem.h says why). */
		rc = guest_mem_load_file(mem, p->p_paddr, fd, p->p_offset, p->p_filesz);
		if (rc)
			return util_err(err, errlen, rc, "kernel: reading ELF segment %u: %s", i,
					rc == -EINVAL ? "file truncated" : strerror(-rc));
		/*
		 * The bss. RAM that guest_mem_init just mapped is zero already,
		 * and it must not even be read: reading an untouched 2 MiB of
		 * it maps the host's huge zero page there, and the guest's
		 * first write (its own clear_bss) then splits that into 4 KiB
		 * pages, each faulting in on its own (with nested paging, an
		 * exit per page instead of one per 2 MiB).
		 */
		if (!mem->untouched)
			memset(dst + p->p_filesz, 0, p->p_memsz - p->p_filesz);
	}

	memset(k, 0, sizeof(*k));
	k->mode = pvh ? X86_ENTRY_PVH : X86_ENTRY_LINUX64;
	k->entry = entry;
	k->kernel_end = hi;
	k->cmdline_max = LAYOUT_CMDLINE_MAX - 1;
	return 0;
}
