/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guest_mem.h - guest RAM and the one guest-physical -> host translation.
 *
 * RAM is one anonymous mapping. Below LAYOUT_MMIO_GAP_START it is identity
 * mapped from GPA 0; what does not fit below the gap continues at 4 GiB.
 * Every access to guest memory from the VMM or a device goes through
 * guest_mem_ptr(), which checks the whole range [gpa, gpa+len).
 */
#ifndef EMBER_GUEST_MEM_H
#define EMBER_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 2

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	uint8_t *base;          /* the whole mapping */
	uint64_t total;         /* bytes of RAM */
	/* Every byte reads as zero and no host page exists yet: a mapping
	 * guest_mem_init just made. Whoever writes RAM before the kernel is
	 * loaded must clear it (the loader then zeroes the kernel's bss itself;
	 * while it is set, the loader neither writes nor reads the bss: see
	 * x86_load_kernel). */
	bool untouched;
	unsigned nregions;
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	/* Snapshots (guest_mem_track_dirty, guest_mem_init_file): one bit per
	 * page, by offset in the mapping, set for pages ember's devices write
	 * (KVM's dirty log sees only the guest's writes). NULL: not tracked. */
	uint64_t *dirty;
	/* The memory file the mapping is a private copy of (0, 0 when RAM is
	 * anonymous memory). */
	uint64_t file_dev, file_ino;
	/* Pages come from a page-fault handler on first touch (a snapshot's
	 * Uffd backend): an untouched page is not a zero page. */
	bool uffd;
};

/* Map mem_size bytes of RAM (MAP_NORESERVE, zeroed by the kernel) and split it
 * around the MMIO gap. Returns 0 or -errno (-EINVAL for a zero size). */
int guest_mem_init(struct guest_mem *mem, uint64_t mem_size);

/* Build a guest_mem over caller-owned host memory (unit tests, fuzzers):
 * one region [0, size) or split at the gap like guest_mem_init. */
void guest_mem_init_from(struct guest_mem *mem, uint8_t *host, uint64_t size);

void guest_mem_free(struct guest_mem *mem);

/* Host pointer for [gpa, gpa+len) or NULL when any byte is outside RAM, the
 * range crosses a region end, or gpa+len overflows. len 0 is checked as 1. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy helpers built on guest_mem_ptr. Return 0 or -EFAULT. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len);

/* Fill [gpa, gpa+len) with the bytes of fd at offset off (pread). The bytes
 * are copied, never mapped from the file: a MAP_PRIVATE mapping would show
 * later changes of the file in pages the guest has not written yet (a kernel
 * rebuilt in place under a running microVM), and a truncated file would turn
 * guest RAM into SIGBUS for ember and EFAULT for KVM_RUN. Returns 0, -EFAULT
 * when the range is not inside one RAM region, -EINVAL when the file is
 * shorter than off+len, or -errno. */
int guest_mem_load_file(const struct guest_mem *mem, uint64_t gpa, int fd, uint64_t off,
			uint64_t len);

/* End of RAM below the gap (the highest usable low address + 1). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

/* ---- snapshots (docs/snapshot.md, section 3) ---- */

#define GUEST_MEM_PAGE 4096u

/* Map a snapshot's memory file as RAM of mem_size bytes: MAP_PRIVATE (the
 * guest's writes are private copies; the file is never written), split
 * around the gap like guest_mem_init. The file must hold mem_size bytes.
 * Returns 0 or -errno (-EINVAL: the file is too short). */
int guest_mem_init_file(struct guest_mem *mem, uint64_t mem_size, int fd);

/* Copy [off, off+len) of the memory file fd into the same offsets of the
 * mapping (a snapshot's working set prefetched into private copies).
 * 0, -EFAULT outside RAM, -EINVAL when the file ends early, or -errno. */
int guest_mem_fill_from(const struct guest_mem *mem, uint64_t off, uint64_t len, int fd);

/* The same into anonymous memory put in place of [off, off+len) of the
 * mapping: transparent huge pages where the host gives them, so KVM maps
 * 2 MiB at a time. When the host's THP mode is "always" (probed by
 * guest_mem_probe_thp), the memory gets huge pages that are free without
 * waiting; otherwise it is marked MADV_HUGEPAGE, which under the default
 * defrag setting may compact memory synchronously to find them. off and len
 * should be 2 MiB multiples (the mapping is 2 MiB aligned). Call before the
 * memory slots exist or while no vCPU runs. 0, -EFAULT, -EINVAL or -errno. */
int guest_mem_fill_huge(const struct guest_mem *mem, uint64_t off, uint64_t len, int fd);

/* Reads /sys/kernel/mm/transparent_hugepage/enabled once (before seccomp
 * and outside a jail, which has no /sys: then MADV_HUGEPAGE is used).
 * guest_mem_thp_mode_always: that file's text says "[always]". */
void guest_mem_probe_thp(void);
bool guest_mem_thp_mode_always(const char *enabled);

/* Keep mem->dirty from now on (all clean). 0 or -ENOMEM. */
int guest_mem_track_dirty(struct guest_mem *mem);

/* A device wrote, or may write, [gpa, gpa+len): mark its pages dirty (no-op
 * when not tracked or outside RAM). Any thread. */
void guest_mem_mark_dirty(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Write RAM to fd (offset = offset in the mapping; the file is sized to
 * mem->total): with pages == NULL every page that is not all zeroes (pages
 * of anonymous RAM the guest never touched are skipped unread, through
 * /proc/self/pagemap; not with a file or a page-fault handler behind them),
 * else exactly the pages whose bit is set in pages
 * (one bit per page, mem->total / 4 KiB bits). *written gets the bytes
 * written. 0 or -errno. */
int guest_mem_dump(const struct guest_mem *mem, int fd, const uint64_t *pages, uint64_t *written);

/* The pages of the mapping that this process has touched since it was made:
 * present (or swapped) in /proc/self/pagemap; one bit per page into bits
 * ((mem->total / 4 KiB + 63) / 64 words, cleared first). For a memory file's
 * MAP_PRIVATE mapping that is every page the guest or a device read or wrote
 * (and neighbours the kernel mapped with them: fault-around). 0 or -errno. */
int guest_mem_resident(const struct guest_mem *mem, uint64_t *bits);

#endif
