// SPDX-License-Identifier: Apache-2.0
#include "src/guest_mem.h"
#include "src/layout.h"
#include "src/util.h"

#include <stdbool.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

/* mem_size bytes at a 2 MiB-aligned address: anonymous memory, or (fd >= 0)
 * the file fd mapped MAP_PRIVATE over it. NULL with errno set. */
static uint8_t *guest_mem_map_aligned(uint64_t mem_size, int fd)
{
	const uint64_t huge = 2ULL << 20;
	if (mem_size > UINT64_MAX - huge || mem_size > SIZE_MAX - huge) {
		errno = EINVAL;
		return NULL;
	}
	uint8_t *raw = mmap(NULL, mem_size + huge, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	/* Keep the aligned mem_size bytes; give back the head and tail (the
	 * tail is never empty: p lies below raw + huge). */
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
	size_t head = (size_t)(p - raw);
	if (fd >= 0 && mmap(p, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED |
			    MAP_NORESERVE, fd, 0) == MAP_FAILED) {
		int e = errno;
		munmap(raw, mem_size + huge);
		errno = e;
		return NULL;
	}
	if (head)
		munmap(raw, head);
	munmap(p + mem_size, huge - head);
	return p;
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
	uint8_t *p = guest_mem_map_aligned(mem_size, -1);
	if (!p)
		return -errno;
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
	free(mem->dirty);
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

/* ---- snapshots ---- */

int guest_mem_fill_from(const struct guest_mem *mem, uint64_t off, uint64_t len, int fd)
{
	if (off > mem->total || len > mem->total - off)
		return -EFAULT;
	return util_pread_full(fd, mem->base + off, len, off);
}

int guest_mem_init_file(struct guest_mem *mem, uint64_t mem_size, int fd)
{
	struct stat st;
	if (mem_size == 0 || mem_size > SIZE_MAX)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < mem_size)
		return -EINVAL;
	/* 2 MiB aligned too: a working set prefetched into huge pages
	 * (src/prefetch.c, method huge) needs aligned chunks. */
	uint8_t *p = guest_mem_map_aligned(mem_size, fd);
	if (!p)
		return -errno;
	madvise(p, mem_size, MADV_DONTDUMP);
	guest_mem_split(mem, p, mem_size);
	mem->file_dev = st.st_dev;
	mem->file_ino = st.st_ino;
	return 0;
}

/* The host's transparent huge page mode is "always" (see guest_mem.h). */
static bool thp_always;

bool guest_mem_thp_mode_always(const char *enabled)
{
	return enabled && strstr(enabled, "[always]") != NULL;
}

void guest_mem_probe_thp(void)
{
	char buf[128] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		close(fd);
	}
	thp_always = guest_mem_thp_mode_always(buf);
}

int guest_mem_fill_huge(const struct guest_mem *mem, uint64_t off, uint64_t len, int fd)
{
	if (off > mem->total || len > mem->total - off)
		return -EFAULT;
	uint8_t *p = mmap(mem->base + off, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (!thp_always)
		madvise(p, len, MADV_HUGEPAGE);
	madvise(p, len, MADV_DONTDUMP);
	return util_pread_full(fd, p, len, off);
}

int guest_mem_track_dirty(struct guest_mem *mem)
{
	uint64_t pages = (mem->total + GUEST_MEM_PAGE - 1) / GUEST_MEM_PAGE;
	free(mem->dirty);
	mem->dirty = calloc((pages + 63) / 64 + 1, sizeof(uint64_t));
	return mem->dirty ? 0 : -ENOMEM;
}

void guest_mem_mark_dirty(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (!mem->dirty || len == 0)
		return;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t off = (uint64_t)(r->host - mem->base) + (gpa - r->gpa);
		uint64_t room = r->size - (gpa - r->gpa);
		uint64_t end = off + (len < room ? len : room);
		for (uint64_t p = off / GUEST_MEM_PAGE; p <= (end - 1) / GUEST_MEM_PAGE; p++)
			__atomic_fetch_or(&mem->dirty[p / 64], 1ULL << (p % 64), __ATOMIC_RELAXED);
		return;
	}
}

static bool guest_mem_page_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;
	for (unsigned i = 0; i < GUEST_MEM_PAGE / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return false;
	return true;
}

/* Pages of anonymous RAM that were never touched: neither present nor
 * swapped in /proc/self/pagemap. Fills absent[0..n) for the n pages from
 * addr; false when pagemap cannot be read (then every page is read). */
static bool guest_mem_absent(int pm, const uint8_t *addr, uint64_t n, bool *absent)
{
	uint64_t buf[512];
	uint64_t first = (uint64_t)(uintptr_t)addr / GUEST_MEM_PAGE;
	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < 512 ? n - done : 512;
		ssize_t got = pread(pm, buf, k * 8, (off_t)((first + done) * 8));
		if (got != (ssize_t)(k * 8))
			return false;
		for (uint64_t i = 0; i < k; i++)
			absent[done + i] = !(buf[i] & (3ULL << 62));
		done += k;
	}
	return true;
}

int guest_mem_resident(const struct guest_mem *mem, uint64_t *bits)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return -errno;
	uint64_t npages = mem->total / GUEST_MEM_PAGE;
	bool absent[512];
	int r = 0;
	memset(bits, 0, (npages + 63) / 64 * sizeof(uint64_t));
	for (uint64_t p = 0; p < npages && r == 0; p += 512) {
		uint64_t k = npages - p < 512 ? npages - p : 512;
		if (!guest_mem_absent(pm, mem->base + p * GUEST_MEM_PAGE, k, absent)) {
			r = -EIO;
			break;
		}
		for (uint64_t i = 0; i < k; i++)
			if (!absent[i])
				bits[(p + i) / 64] |= 1ULL << ((p + i) % 64);
	}
	close(pm);
	return r;
}

int guest_mem_dump(const struct guest_mem *mem, int fd, const uint64_t *pages, uint64_t *written)
{
	struct stat st;
	*written = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != mem->total && ftruncate(fd, (off_t)mem->total) < 0)
		return -errno;
	int pm = -1;
	if (!pages && !mem->file_ino && !mem->uffd)
		pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	const uint64_t chunk = 512;  /* pages looked at per pagemap read */
	bool absent[512];
	uint64_t npages = mem->total / GUEST_MEM_PAGE, run = 0, run_start = 0;
	int r = 0;
	for (uint64_t p = 0; p < npages && r == 0; p++) {
		bool take;
		if (pages) {
			take = (pages[p / 64] >> (p % 64)) & 1;
		} else {
			if (p % chunk == 0 &&
			    !(pm >= 0 && guest_mem_absent(pm, mem->base + p * GUEST_MEM_PAGE,
							 npages - p < chunk ? npages - p : chunk,
							 absent)))
				memset(absent, 0, sizeof(absent));
			take = !absent[p % chunk] &&
			       !guest_mem_page_zero(mem->base + p * GUEST_MEM_PAGE);
		}
		if (take && !run++)
			run_start = p;
		/* A run ends at a page not taken, the end, or 1 GiB. */
		if (run && (!take || p + 1 == npages || run == (1u << 18))) {
			struct iovec v = { mem->base + run_start * GUEST_MEM_PAGE,
					   run * GUEST_MEM_PAGE };
			r = util_rwv_full(fd, &v, 1, run_start * GUEST_MEM_PAGE, true);
			*written += run * GUEST_MEM_PAGE;
			run = 0;
		}
	}
	if (pm >= 0)
		close(pm);
	return r;
}
