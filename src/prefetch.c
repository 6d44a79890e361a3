// SPDX-License-Identifier: Apache-2.0
/*
 * prefetch.c - a restored guest's working set (see prefetch.h and
 * docs/snapshot.md, section 6): the record format, recording at the pause
 * from /proc/self/pagemap, and the prefetch before the vCPUs run.
 */
#include "src/prefetch.h"
#include "src/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/log.h"
#include "src/snapshot.h"
#include "src/timeline.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22   /* Linux 5.14 */
#endif

static enum prefetch_method prefetch_method;

static const char *const prefetch_names[] = { "off", "populate", "read", "willneed", "huge" };

int prefetch_parse_method(const char *s, enum prefetch_method *m)
{
	for (unsigned i = 0; i < sizeof(prefetch_names) / sizeof(prefetch_names[0]); i++)
		if (s && !strcmp(s, prefetch_names[i])) {
			*m = (enum prefetch_method)i;
			return 0;
		}
	return -EINVAL;
}

const char *prefetch_method_name(enum prefetch_method m)
{
	return (unsigned)m < sizeof(prefetch_names) / sizeof(prefetch_names[0]) ?
		prefetch_names[m] : "?";
}

void prefetch_set_method(enum prefetch_method m)
{
	prefetch_method = m;
	if (m == PREFETCH_HUGE)
		guest_mem_probe_thp();
}

enum prefetch_method prefetch_get_method(void) { return prefetch_method; }

/* ---- the record ---- */

void ws_record_free(struct ws_record *r)
{
	free(r->runs);
	r->runs = NULL;
	r->nruns = 0;
	r->npages = 0;
}

int ws_encode(const struct ws_record *r, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	uint64_t total = WS_HEADER_SIZE + (uint64_t)r->nruns * WS_RUN_SIZE + WS_TRAILER_SIZE;
	if (total > SNAP_MAX_FILE)
		return -E2BIG;
	uint8_t *f = calloc(1, (size_t)total);
	if (!f)
		return -ENOMEM;
	memcpy(f, WS_MAGIC, 8);
	snap_le_put(f + 8, 1, 2);
	snap_le_put(f + 10, 0, 2);
	snap_le_put(f + 12, WS_HEADER_SIZE, 4);
	snap_le_put(f + 16, r->id.mem_size, 8);
	snap_le_put(f + 24, r->id.file_size, 8);
	snap_le_put(f + 32, r->id.file_ino, 8);
	snap_le_put(f + 40, r->id.file_mtime_ns, 8);
	snap_le_put(f + 48, r->id.state_crc, 4);
	snap_le_put(f + 52, r->nruns, 4);
	snap_le_put(f + 56, r->npages, 8);
	for (uint32_t i = 0; i < r->nruns; i++) {
		snap_le_put(f + WS_HEADER_SIZE + (size_t)i * WS_RUN_SIZE, r->runs[i].page, 4);
		snap_le_put(f + WS_HEADER_SIZE + (size_t)i * WS_RUN_SIZE + 4, r->runs[i].npages, 4);
	}
	snap_le_put(f + total - WS_TRAILER_SIZE, snap_crc32c(0, f, (size_t)total - WS_TRAILER_SIZE), 4);
	*out = f;
	*len = (size_t)total;
	return 0;
}

#define WS_FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

int ws_decode(const uint8_t *buf, size_t len, struct ws_record *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (len < 8 || memcmp(buf, WS_MAGIC, 8) != 0)
		return WS_FAIL("bad magic: not an ember working set record");
	if (len < WS_HEADER_SIZE + WS_TRAILER_SIZE)
		return WS_FAIL("truncated: %zu bytes", len);
	uint32_t crc = (uint32_t)snap_le_get(buf + len - WS_TRAILER_SIZE, 4);
	uint32_t want = snap_crc32c(0, buf, len - WS_TRAILER_SIZE);
	if (crc != want)
		return WS_FAIL("checksum mismatch: CRC-32C 0x%08x, computed 0x%08x (damaged)", crc,
			       want);
	unsigned major = (unsigned)snap_le_get(buf + 8, 2);
	if (major != 1)
		return WS_FAIL("format version %u.%u: this ember reads 1.x", major,
			       (unsigned)snap_le_get(buf + 10, 2));
	if (snap_le_get(buf + 12, 4) != WS_HEADER_SIZE)
		return WS_FAIL("header size %u, expected %u", (unsigned)snap_le_get(buf + 12, 4),
			       WS_HEADER_SIZE);
	r->id.mem_size = snap_le_get(buf + 16, 8);
	r->id.file_size = snap_le_get(buf + 24, 8);
	r->id.file_ino = snap_le_get(buf + 32, 8);
	r->id.file_mtime_ns = snap_le_get(buf + 40, 8);
	r->id.state_crc = (uint32_t)snap_le_get(buf + 48, 4);
	uint32_t nruns = (uint32_t)snap_le_get(buf + 52, 4);
	uint64_t npages = snap_le_get(buf + 56, 8);
	if ((uint64_t)nruns * WS_RUN_SIZE + WS_HEADER_SIZE + WS_TRAILER_SIZE != len)
		return WS_FAIL("%u runs do not fill the %zu-byte file", nruns, len);
	uint64_t ram_pages = r->id.mem_size / GUEST_MEM_PAGE;
	struct ws_run *runs = nruns ? calloc(nruns, sizeof(*runs)) : NULL;
	if (nruns && !runs)
		return WS_FAIL("out of memory for %u runs", nruns);
	uint64_t end = 0, sum = 0;
	for (uint32_t i = 0; i < nruns; i++) {
		const uint8_t *e = buf + WS_HEADER_SIZE + (size_t)i * WS_RUN_SIZE;
		runs[i].page = (uint32_t)snap_le_get(e, 4);
		runs[i].npages = (uint32_t)snap_le_get(e + 4, 4);
		uint64_t s = runs[i].page, n = runs[i].npages;
		if (n == 0 || (i && s <= end) || s + n > ram_pages) {
			free(runs);
			return WS_FAIL("run %u (page %llu, %llu pages) is empty, out of order or past "
				       "the %llu pages of RAM", i, (unsigned long long)s,
				       (unsigned long long)n, (unsigned long long)ram_pages);
		}
		end = s + n;
		sum += n;
	}
	if (sum != npages) {
		free(runs);
		return WS_FAIL("the runs hold %llu pages, the header says %llu",
			       (unsigned long long)sum, (unsigned long long)npages);
	}
	r->nruns = nruns;
	r->npages = npages;
	r->runs = runs;
	return 0;
}

int ws_check(const struct ws_record *r, const struct ws_ident *want, char *err, size_t errlen)
{
	const struct ws_ident *h = &r->id;
	const char *what = h->mem_size != want->mem_size ? "guest RAM size" :
			   h->state_crc != want->state_crc ? "state file (CRC-32C)" :
			   h->file_size != want->file_size ? "memory file size" :
			   h->file_ino != want->file_ino ? "memory file inode" :
			   h->file_mtime_ns != want->file_mtime_ns ? "memory file mtime" : NULL;
	if (!what)
		return 0;
	snprintf(err, errlen, "recorded for another snapshot: the %s differs", what);
	return -ESTALE;
}

int ws_from_bitmap(const uint64_t *bits, uint64_t npages, struct ws_record *r)
{
	uint32_t n = 0, cap = 0;
	struct ws_run *runs = NULL;
	r->npages = 0;
	for (uint64_t p = 0; p < npages;) {
		if (!((bits[p / 64] >> (p % 64)) & 1)) {
			p++;
			continue;
		}
		uint64_t s = p;
		while (p < npages && ((bits[p / 64] >> (p % 64)) & 1))
			p++;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct ws_run *g = realloc(runs, cap * sizeof(*runs));
			if (!g) {
				free(runs);
				return -ENOMEM;
			}
			runs = g;
		}
		runs[n++] = (struct ws_run){ .page = (uint32_t)s, .npages = (uint32_t)(p - s) };
		r->npages += p - s;
	}
	r->runs = runs;
	r->nruns = n;
	return 0;
}

/* ---- a load's session ---- */

struct ws_session *ws_session_open(const char *state_path, const uint8_t *state, size_t state_len,
				   int mem_fd, uint64_t mem_size)
{
	struct stat st;
	if (prefetch_method == PREFETCH_OFF || mem_fd < 0 || fstat(mem_fd, &st) < 0)
		return NULL;
	struct ws_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s%s", state_path, WS_SUFFIX) >=
	    sizeof(s->path)) {
		log_warn("Working set: %s%s is too long a path: no prefetch, no record", state_path,
			 WS_SUFFIX);
		free(s);
		return NULL;
	}
	s->method = prefetch_method;
	s->id = (struct ws_ident){
		.mem_size = mem_size, .file_size = (uint64_t)st.st_size, .file_ino = st.st_ino,
		.file_mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL +
				 (uint64_t)st.st_mtim.tv_nsec,
		.state_crc = state_len >= 4 ? (uint32_t)snap_le_get(state + state_len - 4, 4) : 0,
	};
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[sizeof(s->path) + 128], why[SNAP_ERR_LEN];
	int r = snap_read_file(s->path, &buf, &len, err, sizeof(err));
	if (r == -ENOENT) {
		log_info("Working set %s: none yet; recording this guest's until its next pause",
			 s->path);
	} else if (r < 0) {
		log_warn("Working set %s ignored: %s; loading without prefetch, recording anew",
			 s->path, err);
	} else if (ws_decode(buf, len, &s->rec, why, sizeof(why)) < 0 ||
		   ws_check(&s->rec, &s->id, why, sizeof(why)) < 0) {
		log_warn("Working set %s ignored: %s; loading without prefetch, recording anew",
			 s->path, why);
		ws_record_free(&s->rec);
	} else {
		s->have = true;
	}
	free(buf);
	s->recording = !s->have;
	return s;
}

void ws_session_free(struct ws_session *s)
{
	if (!s)
		return;
	ws_record_free(&s->rec);
	free(s);
}

/* The record's runs joined across gaps of at most WS_GAP_PAGES: byte ranges
 * [off, off+len) of the memory file, in order. *n gets their count. */
static struct ws_run *ws_coalesce(const struct ws_record *r, uint32_t *n, uint32_t align,
				  uint64_t ram_pages)
{
	struct ws_run *out = malloc((r->nruns ? r->nruns : 1) * sizeof(*out));
	*n = 0;
	if (!out)
		return NULL;
	for (uint32_t i = 0; i < r->nruns; i++) {
		/* align: whole chunks of that many pages (huge pages) */
		uint64_t s = r->runs[i].page / align * align;
		uint64_t e = ((uint64_t)r->runs[i].page + r->runs[i].npages + align - 1) / align * align;
		e = e < ram_pages ? e : ram_pages;
		struct ws_run *last = *n ? &out[*n - 1] : NULL;
		uint64_t last_end = last ? (uint64_t)last->page + last->npages : 0;
		if (last && s <= last_end + WS_GAP_PAGES)
			last->npages = (uint32_t)((e > last_end ? e : last_end) - last->page);
		else
			out[(*n)++] = (struct ws_run){ .page = (uint32_t)s, .npages = (uint32_t)(e - s) };
	}
	return out;
}

/* Map [p, p+len) readable by touching each page (kernels before 5.14). */
static void ws_touch(const uint8_t *p, uint64_t len)
{
	for (uint64_t o = 0; o < len; o += GUEST_MEM_PAGE)
		(void)*(const volatile uint8_t *)(p + o);
}

void ws_session_prefetch(const struct ws_session *s, const struct guest_mem *mem, int fd)
{
	if (!s || !s->have)
		return;
	uint64_t t0 = util_now_ns();
	uint32_t n;
	struct ws_run *rg = ws_coalesce(&s->rec, &n, s->method == PREFETCH_HUGE ? 512 : 1,
					mem->total / GUEST_MEM_PAGE);
	if (!rg) {
		log_warn("Working set %s: out of memory: no prefetch", s->path);
		return;
	}
	int r = 0;
	bool touched = false;
	uint64_t pages = 0;
	/* Every range's read-ahead starts first (the disk sees them all), then
	 * each is mapped or copied in order. */
	if (s->method != PREFETCH_READ && s->method != PREFETCH_HUGE)
		for (uint32_t i = 0; i < n; i++)
			madvise(mem->base + (uint64_t)rg[i].page * GUEST_MEM_PAGE,
				(uint64_t)rg[i].npages * GUEST_MEM_PAGE, MADV_WILLNEED);
	for (uint32_t i = 0; i < n && r == 0; i++) {
		uint64_t off = (uint64_t)rg[i].page * GUEST_MEM_PAGE;
		uint64_t len = (uint64_t)rg[i].npages * GUEST_MEM_PAGE;
		pages += rg[i].npages;
		if (s->method == PREFETCH_READ) {
			r = guest_mem_fill_from(mem, off, len, fd);
		} else if (s->method == PREFETCH_HUGE) {
			r = guest_mem_fill_huge(mem, off, len, fd);
		} else if (s->method == PREFETCH_POPULATE &&
			   madvise(mem->base + off, len, MADV_POPULATE_READ) < 0) {
			if (errno != EINVAL)
				r = -errno;
			else {
				ws_touch(mem->base + off, len);
				touched = true;
			}
		}
	}
	free(rg);
	timeline_mark(TIMELINE_PREFETCH_DONE);
	if (r < 0)
		log_warn("Working set %s: prefetch stopped: %s (the rest faults in lazily)", s->path,
			 strerror(-r));
	log_info("Working set %s: prefetched %llu pages (%llu KiB; %llu recorded) in %u reads, "
		 "%llu us (%s%s)", s->path, (unsigned long long)pages,
		 (unsigned long long)(pages * 4), (unsigned long long)s->rec.npages, n,
		 (unsigned long long)((util_now_ns() - t0) / 1000),
		 prefetch_method_name(s->method), touched ? ", touched: no MADV_POPULATE_READ" : "");
}

void ws_session_pause(struct ws_session *s, const struct guest_mem *mem)
{
	if (!s || !s->recording)
		return;
	s->recording = false;
	uint64_t npages = mem->total / GUEST_MEM_PAGE;
	uint64_t *bits = calloc((npages + 63) / 64 + 1, sizeof(uint64_t));
	struct ws_record rec = { .id = s->id };
	uint8_t *buf = NULL;
	size_t len = 0;
	char tmp[sizeof(s->path) + 32], err[sizeof(tmp) + 128] = "";
	int r = bits ? guest_mem_resident(mem, bits) : -ENOMEM;
	if (r == 0)
		r = ws_from_bitmap(bits, npages, &rec);
	if (r == 0)
		r = ws_encode(&rec, &buf, &len);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", s->path, (long)getpid());
	if (r == 0 && (r = snap_write_file(tmp, buf, len, err, sizeof(err))) == 0 &&
	    rename(tmp, s->path) < 0) {
		r = -errno;
		snprintf(err, sizeof(err), "rename %s: %s", tmp, strerror(errno));
	}
	if (r < 0)
		log_warn("Working set %s: not recorded: %s", s->path, err[0] ? err : strerror(-r));
	else
		log_info("Working set %s: recorded %llu pages (%llu KiB) in %u runs", s->path,
			 (unsigned long long)rec.npages, (unsigned long long)(rec.npages * 4),
			 rec.nruns);
	free(buf);
	free(bits);
	ws_record_free(&rec);
}
