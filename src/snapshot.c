// SPDX-License-Identifier: Apache-2.0
/*
 * snapshot.c - the snapshot state file's container (see snapshot.h and
 * docs/snapshot.md): CRC-32C, the section writer, the whole-file check and
 * the section reader. Layer 0.
 */
#include "src/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

const char *snap_version_string(void)
{
	static char v[16];
	if (!v[0])
		snprintf(v, sizeof(v), "v%d.%d.0", SNAP_MAJOR, SNAP_MINOR);
	return v;
}

/* ---- CRC-32C ---- */

static uint32_t snap_crc_table[256];

static void snap_crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
		snap_crc_table[i] = c;
	}
}

uint32_t snap_crc32c(uint32_t crc, const void *data, size_t len)
{
	if (!snap_crc_table[1])
		snap_crc_init();
	const uint8_t *p = data;
	crc = ~crc;
	while (len--)
		crc = (crc >> 8) ^ snap_crc_table[(crc ^ *p++) & 0xff];
	return ~crc;
}

/* ---- little-endian helpers ---- */

void snap_le_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t snap_le_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- writer ---- */

void snap_w_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void snap_w_free(struct snap_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static uint8_t *snap_w_room(struct snap_writer *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > SNAP_MAX_FILE || w->len + n > SNAP_MAX_FILE) {
		w->err = -E2BIG;
		return NULL;
	}
	if (w->len + n > w->cap || !w->buf) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *b = realloc(w->buf, cap);
		if (!b) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = b;
		w->cap = cap;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

void snap_w_begin(struct snap_writer *w, uint32_t type, uint32_t instance)
{
	if (w->open || w->nsec == SNAP_MAX_SECTIONS) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	size_t pad = (8 - (w->len & 7)) & 7;
	uint8_t *p = snap_w_room(w, pad);
	if (p)
		memset(p, 0, pad);
	w->sec[w->nsec] = (struct snap_w_section){ .type = type, .instance = instance,
						   .off = w->len };
	w->open = true;
}

void snap_w_end(struct snap_writer *w)
{
	if (!w->open) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	w->sec[w->nsec].len = w->len - w->sec[w->nsec].off;
	w->nsec++;
	w->open = false;
}

static void snap_w_int(struct snap_writer *w, uint64_t v, unsigned n)
{
	uint8_t *p = snap_w_room(w, n);
	if (p)
		snap_le_put(p, v, n);
}

void snap_w_u8(struct snap_writer *w, uint8_t v) { snap_w_int(w, v, 1); }
void snap_w_u16(struct snap_writer *w, uint16_t v) { snap_w_int(w, v, 2); }
void snap_w_u32(struct snap_writer *w, uint32_t v) { snap_w_int(w, v, 4); }
void snap_w_u64(struct snap_writer *w, uint64_t v) { snap_w_int(w, v, 8); }

void snap_w_bytes(struct snap_writer *w, const void *data, size_t n)
{
	uint8_t *p = snap_w_room(w, n);
	if (p && n)
		memcpy(p, data, n);
}

void snap_w_blob(struct snap_writer *w, const void *data, size_t n)
{
	if (n > UINT32_MAX) {
		if (!w->err)
			w->err = -E2BIG;
		return;
	}
	snap_w_u32(w, (uint32_t)n);
	snap_w_bytes(w, data, n);
}

void snap_w_str(struct snap_writer *w, const char *s)
{
	snap_w_blob(w, s, strlen(s));
}

int snap_w_finish(struct snap_writer *w, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!w->err && (w->open || w->nsec == 0))
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	size_t start = SNAP_HEADER_SIZE + (size_t)w->nsec * SNAP_ENTRY_SIZE; /* 8-aligned */
	size_t total = start + w->len + SNAP_TRAILER_SIZE;
	if (total > SNAP_MAX_FILE)
		return w->err = -E2BIG;
	uint8_t *f = calloc(1, total);
	if (!f)
		return w->err = -ENOMEM;
	memcpy(f, SNAP_MAGIC, 8);
	snap_le_put(f + 8, SNAP_MAJOR, 2);
	snap_le_put(f + 10, SNAP_MINOR, 2);
	snap_le_put(f + 12, SNAP_HEADER_SIZE, 4);
	snap_le_put(f + 16, w->nsec, 4);
	snap_le_put(f + 20, 0, 4);
	snap_le_put(f + 24, total, 8);
	snprintf((char *)f + 32, 32, "%s", EMBER_VERSION);
	for (unsigned i = 0; i < w->nsec; i++) {
		uint8_t *e = f + SNAP_HEADER_SIZE + (size_t)i * SNAP_ENTRY_SIZE;
		snap_le_put(e, w->sec[i].type, 4);
		snap_le_put(e + 4, w->sec[i].instance, 4);
		snap_le_put(e + 8, start + w->sec[i].off, 8);
		snap_le_put(e + 16, w->sec[i].len, 8);
	}
	if (w->len)
		memcpy(f + start, w->buf, w->len);
	snap_le_put(f + total - SNAP_TRAILER_SIZE, snap_crc32c(0, f, total - SNAP_TRAILER_SIZE), 4);
	*out = f;
	*len = total;
	return 0;
}

/* ---- whole-file check ---- */

#define SNAP_FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

int snap_parse(const uint8_t *buf, size_t len, struct snap_file *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->buf = buf;
	f->len = len;
	if (len < 8 || memcmp(buf, SNAP_MAGIC, 8) != 0)
		return SNAP_FAIL("bad magic: not an ember snapshot state file");
	if (len < SNAP_HEADER_SIZE + SNAP_TRAILER_SIZE)
		return SNAP_FAIL("truncated: %zu bytes, shorter than the %u-byte header", len,
				 SNAP_HEADER_SIZE);
	f->major = (uint16_t)snap_le_get(buf + 8, 2);
	f->minor = (uint16_t)snap_le_get(buf + 10, 2);
	memcpy(f->writer, buf + 32, 32);
	f->writer[32] = 0;
	for (char *c = f->writer; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	if (f->major != SNAP_MAJOR)
		return SNAP_FAIL("format version %u.%u: this ember reads %u.x (written by ember %s)",
				 f->major, f->minor, SNAP_MAJOR, f->writer);
	uint32_t hsize = (uint32_t)snap_le_get(buf + 12, 4), nsec = (uint32_t)snap_le_get(buf + 16, 4);
	uint32_t flags = (uint32_t)snap_le_get(buf + 20, 4);
	uint64_t fsize = snap_le_get(buf + 24, 8);
	if (hsize != SNAP_HEADER_SIZE)
		return SNAP_FAIL("header size %u, expected %u", hsize, SNAP_HEADER_SIZE);
	if (fsize != len)
		return SNAP_FAIL("truncated or padded: the header says %llu bytes, the file has %zu",
				 (unsigned long long)fsize, len);
	uint32_t crc = (uint32_t)snap_le_get(buf + len - SNAP_TRAILER_SIZE, 4);
	uint32_t want = snap_crc32c(0, buf, len - SNAP_TRAILER_SIZE);
	if (crc != want)
		return SNAP_FAIL("checksum mismatch: CRC-32C 0x%08x, computed 0x%08x (the file is "
				 "damaged)", crc, want);
	if (flags)
		return SNAP_FAIL("unknown header flags 0x%x", flags);
	if (nsec == 0 || nsec > SNAP_MAX_SECTIONS)
		return SNAP_FAIL("%u sections (1..%u allowed)", nsec, SNAP_MAX_SECTIONS);
	uint64_t table_end = SNAP_HEADER_SIZE + (uint64_t)nsec * SNAP_ENTRY_SIZE;
	uint64_t data_end = len - SNAP_TRAILER_SIZE;
	if (table_end > data_end)
		return SNAP_FAIL("the section table (%u entries) runs past the end of the file", nsec);
	uint64_t prev_end = table_end;
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *e = buf + SNAP_HEADER_SIZE + (size_t)i * SNAP_ENTRY_SIZE;
		struct snap_section *s = &f->sec[i];
		s->type = (uint32_t)snap_le_get(e, 4);
		s->instance = (uint32_t)snap_le_get(e + 4, 4);
		s->off = snap_le_get(e + 8, 8);
		s->len = snap_le_get(e + 16, 8);
		if ((s->off & 7) || s->off < prev_end || s->off > data_end ||
		    s->len > data_end - s->off)
			return SNAP_FAIL("section %u (type %u): offset %llu length %llu is outside the "
					 "file, unaligned or overlaps", i, s->type & ~SNAP_OPTIONAL,
					 (unsigned long long)s->off, (unsigned long long)s->len);
		prev_end = s->off + s->len;
		for (uint32_t k = 0; k < i; k++)
			if (((f->sec[k].type ^ s->type) & ~SNAP_OPTIONAL) == 0 &&
			    f->sec[k].instance == s->instance)
				return SNAP_FAIL("section type %u instance %u appears twice",
						 s->type & ~SNAP_OPTIONAL, s->instance);
	}
	f->nsec = nsec;
	return 0;
}

const struct snap_section *snap_find(const struct snap_file *f, uint32_t type, uint32_t instance)
{
	for (unsigned i = 0; i < f->nsec; i++)
		if (((f->sec[i].type ^ type) & ~SNAP_OPTIONAL) == 0 && f->sec[i].instance == instance)
			return &f->sec[i];
	return NULL;
}

int snap_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s is not a regular file", path);
	} else if ((uint64_t)st.st_size > SNAP_MAX_FILE) {
		r = -EFBIG;
		snprintf(err, errlen, "%s: %lld bytes, larger than a state file can be (%u MiB)",
			 path, (long long)st.st_size, SNAP_MAX_FILE >> 20);
	}
	uint8_t *b = r ? NULL : malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!r && !b) {
		r = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
	}
	size_t n = 0;
	while (!r && n < (size_t)st.st_size) {
		ssize_t k = pread(fd, b + n, (size_t)st.st_size - n, (off_t)n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: read: %s", path, strerror(-r));
		} else if (k == 0) {
			break; /* shrank while read: the checks below see the short length */
		}
		n += k > 0 ? (size_t)k : 0;
	}
	close(fd);
	if (r) {
		free(b);
		return r;
	}
	*buf = b;
	*len = n;
	return 0;
}

int snap_describe_file(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int r = snap_read_file(path, &buf, &len, err, errlen);
	if (r < 0)
		return r;
	struct snap_file *f = malloc(sizeof(*f));
	char why[SNAP_ERR_LEN];
	if (!f) {
		r = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
	} else if ((r = snap_parse(buf, len, f, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
	} else {
		snprintf(out, outlen, "v%u.%u.0", f->major, f->minor);
	}
	free(f);
	free(buf);
	return r;
}

int snap_write_file(const char *path, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		      0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	size_t n = 0;
	int r = 0;
	while (n < len) {
		ssize_t k = write(fd, buf + n, len - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			snprintf(err, errlen, "%s: write: %s", path, strerror(-r));
			break;
		}
		n += (size_t)k;
	}
	if (close(fd) < 0 && !r) {
		r = -errno;
		snprintf(err, errlen, "%s: close: %s", path, strerror(-r));
	}
	return r;
}

/* ---- section reader ---- */

void snap_r_init(struct snap_reader *r, const struct snap_file *f, const struct snap_section *s,
		 const char *what)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->what, sizeof(r->what), "%s", what);
	if (!s) {
		r->bad = true;
		snprintf(r->err, sizeof(r->err), "%s: missing", r->what);
		return;
	}
	r->p = f->buf + s->off;
	r->len = (size_t)s->len;
}

void snap_r_fail(struct snap_reader *r, const char *field, const char *fmt, ...)
{
	if (r->bad)
		return;
	r->bad = true;
	int n = snprintf(r->err, sizeof(r->err), "%s: %s: ", r->what, field);
	if (n < 0 || (size_t)n >= sizeof(r->err))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* n bytes at the cursor, or NULL (reader bad: "truncated"). */
static const uint8_t *snap_r_take(struct snap_reader *r, const char *field, size_t n)
{
	if (r->bad)
		return NULL;
	if (n > r->len - r->off) {
		snap_r_fail(r, field, "truncated (the section ends after %zu bytes)", r->len);
		return NULL;
	}
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t snap_r_int(struct snap_reader *r, const char *field, unsigned n)
{
	const uint8_t *p = snap_r_take(r, field, n);
	return p ? snap_le_get(p, n) : 0;
}

uint8_t snap_r_u8(struct snap_reader *r, const char *field)
{
	return (uint8_t)snap_r_int(r, field, 1);
}

uint16_t snap_r_u16(struct snap_reader *r, const char *field)
{
	return (uint16_t)snap_r_int(r, field, 2);
}

uint32_t snap_r_u32(struct snap_reader *r, const char *field)
{
	return (uint32_t)snap_r_int(r, field, 4);
}

uint64_t snap_r_u64(struct snap_reader *r, const char *field)
{
	return snap_r_int(r, field, 8);
}

bool snap_r_bool(struct snap_reader *r, const char *field)
{
	uint8_t v = snap_r_u8(r, field);
	if (v > 1)
		snap_r_fail(r, field, "%u is not a boolean (0 or 1)", v);
	return v == 1;
}

uint32_t snap_r_count(struct snap_reader *r, const char *field, uint32_t max)
{
	uint32_t v = snap_r_u32(r, field);
	if (v > max) {
		snap_r_fail(r, field, "%u is more than the %u allowed", v, max);
		return 0;
	}
	return v;
}

void snap_r_bytes(struct snap_reader *r, const char *field, void *dst, size_t n)
{
	const uint8_t *p = snap_r_take(r, field, n);
	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

const uint8_t *snap_r_blob(struct snap_reader *r, const char *field, size_t max, uint32_t *len)
{
	*len = 0;
	uint32_t n = snap_r_u32(r, field);
	if (r->bad)
		return NULL;
	if (n > max) {
		snap_r_fail(r, field, "%u bytes, more than the %zu allowed", n, max);
		return NULL;
	}
	const uint8_t *p = snap_r_take(r, field, n);
	if (p)
		*len = n;
	return p;
}

void snap_r_blob_exact(struct snap_reader *r, const char *field, void *dst, size_t n)
{
	uint32_t got;
	const uint8_t *p = snap_r_blob(r, field, SNAP_MAX_FILE, &got);
	if (p && got != n)
		snap_r_fail(r, field, "%u bytes, expected %zu", got, n);
	if (p && !r->bad)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

void snap_r_str(struct snap_reader *r, const char *field, char *dst, size_t cap)
{
	uint32_t n;
	const uint8_t *p = snap_r_blob(r, field, cap - 1, &n);
	dst[0] = 0;
	if (!p)
		return;
	if (memchr(p, 0, n)) {
		snap_r_fail(r, field, "text with a NUL byte");
		return;
	}
	memcpy(dst, p, n);
	dst[n] = 0;
}

int snap_r_done(struct snap_reader *r, char *err, size_t errlen)
{
	if (!r->bad)
		return 0;
	snprintf(err, errlen, "%s", r->err);
	return -EINVAL;
}
