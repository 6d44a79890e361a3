// SPDX-License-Identifier: Apache-2.0
#include "src/guest_mem.h"
#include "src/layout.h"
#include "src/util.h"

#include <stdbool.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static void guest_mem_split(struct guest_mem *mem, uint8_t *host, uint64_t size)
{
	memset(mem, 0, sizeof(*mem));
	mem->base = host;
	mem->total = size;
	uint64_t low = size < LAYOUT_MMIO_GAP_START ? size : LAYOUT_MMIO_GAP_START;
	mem->regions[0] = (struct guest_mem_region){ .gpa = 0, .size = low, .host = host };
	mem->nregions = 1;
	if (size > low) {
		mem->regions[1] = (struct guest_mem_region){
			.gpa = LAYOUT_MMIO_GAP_END, .size = size - low, .host = host + low };
		mem->nregions = 2;
	}
}

int guest_mem_init(struct guest_mem *mem, uint64_t mem_size)
{
	if (mem_size == 0)
		return -EINVAL;
	/*
	 * 2 MiB aligned, so that the host can back guest RAM with transparent
	 * huge pages (MADV_HUGEPAGE; hosts default to THP "madvise"): one
	 * nested-paging fault per 2 MiB the guest touches instead of one per
	 * 4 KiB, and fewer TLB misses in the guest. Pages still come only as
	 * the guest touches memory; guest RAM is never pre-faulted.
	 */
	const uint64_t huge = 2ULL << 20;
	if (mem_size > UINT64_MAX - huge)
		return -EINVAL;
	uint8_t *raw = mmap(NULL, mem_size + huge, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	/* Keep the aligned mem_size bytes; give back the head and tail (the
	 * tail is never empty: p lies below raw + huge). */
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
	size_t head = (size_t)(p - raw);
	if (head)
		munmap(raw, head);
	munmap(p + mem_size, huge - head);
	madvise(p, mem_size, MADV_HUGEPAGE);
	/* Guest RAM must not end up in a core dump of the VMM. */
	madvise(p, mem_size, MADV_DONTDUMP);
	guest_mem_split(mem, p, mem_size);
	mem->untouched = true;
	return 0;
}

void guest_mem_init_from(struct guest_mem *mem, uint8_t *host, uint64_t size)
{
	guest_mem_split(mem, host, size);
	mem->base = NULL; /* not ours to unmap */
}

void guest_mem_free(struct guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->total);
	memset(mem, 0, sizeof(*mem));
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	if (gpa + len < gpa)
		return NULL;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->nregions ? mem->regions[0].size : 0;
}

int guest_mem_load_file(const struct guest_mem *mem, uint64_t gpa, int fd, uint64_t off,
			uint64_t len)
{
	if (len == 0)
		return 0;
	uint8_t *dst = guest_mem_ptr(mem, gpa, len);
	if (!dst)
		return -EFAULT;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (off + len < off || (uint64_t)st.st_size < off + len)
		return -EINVAL;
	return util_pread_full(fd, dst, len, off);
}
