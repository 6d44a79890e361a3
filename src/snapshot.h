/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h - the snapshot state file's container format
 * (docs/snapshot.md, section 1): a 64-byte header (magic, format version,
 * section count, file size), a table of typed, length-prefixed sections,
 * their payloads, and a CRC-32C trailer over everything before it. Every
 * integer is little-endian and fixed-width.
 *
 * The writer gathers sections in memory (snap_w_*) and snap_w_finish()
 * lays out the file. The reader checks a whole file (snap_parse(): header,
 * version, table, bounds, overlap, checksum) before anything reads a
 * section, and a snap_reader then reads one section's fields: a read past
 * its end, a length above its limit or a value the caller refuses makes the
 * reader "bad" with one line naming the section and the field, and every
 * later read returns zeros. Knows nothing of what the sections hold
 * (src/snapshot_state.c). Layer 0: no KVM, no VM.
 */
#ifndef EMBER_SNAPSHOT_H
#define EMBER_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC          "EMBERSNP"
#define SNAP_MAJOR          1
#define SNAP_MINOR          1
#define SNAP_HEADER_SIZE    64u
#define SNAP_ENTRY_SIZE     24u
#define SNAP_TRAILER_SIZE   4u
#define SNAP_MAX_SECTIONS   256u
#define SNAP_MAX_FILE       (64u << 20)    /* a state file is far smaller */
#define SNAP_OPTIONAL       0x80000000u    /* type bit: a reader may skip it */
#define SNAP_ERR_LEN        256

/* "v1.0.0": the format version this ember writes (--snapshot-version). */
const char *snap_version_string(void);

/* CRC-32C (Castagnoli; reflected, init and final XOR 0xffffffff). Pass 0
 * as crc for the first piece, the previous result to continue. */
uint32_t snap_crc32c(uint32_t crc, const void *data, size_t len);

/* n (1..8) little-endian bytes at p. */
void snap_le_put(uint8_t *p, uint64_t v, unsigned n);
uint64_t snap_le_get(const uint8_t *p, unsigned n);

/* ---- writing ---- */

struct snap_w_section {
	uint32_t type, instance;
	size_t off, len;             /* in the payload buffer */
};

struct snap_writer {
	uint8_t *buf;                /* payloads, each 8-byte aligned */
	size_t len, cap;
	struct snap_w_section sec[SNAP_MAX_SECTIONS];
	unsigned nsec;
	bool open;                   /* between snap_w_begin and snap_w_end */
	int err;                     /* sticky: -ENOMEM, -E2BIG, -EINVAL */
};

void snap_w_init(struct snap_writer *w);
void snap_w_free(struct snap_writer *w);
/* Start a section (the previous one must be ended). */
void snap_w_begin(struct snap_writer *w, uint32_t type, uint32_t instance);
void snap_w_end(struct snap_writer *w);
void snap_w_u8(struct snap_writer *w, uint8_t v);
void snap_w_u16(struct snap_writer *w, uint16_t v);
void snap_w_u32(struct snap_writer *w, uint32_t v);
void snap_w_u64(struct snap_writer *w, uint64_t v);
/* n raw bytes (a fixed-length field). */
void snap_w_bytes(struct snap_writer *w, const void *p, size_t n);
/* u32 length + the bytes. */
void snap_w_blob(struct snap_writer *w, const void *p, size_t n);
/* A blob of the text without its NUL. */
void snap_w_str(struct snap_writer *w, const char *s);
/* The whole file: header, table, payloads, trailer; *out is malloc'd.
 * 0, or the writer's error (-ENOMEM, or -EINVAL for a section left open /
 * none written / too many). The writer stays valid (snap_w_free it). */
int snap_w_finish(struct snap_writer *w, uint8_t **out, size_t *len);

/* ---- reading ---- */

struct snap_section {
	uint32_t type, instance;
	uint64_t off, len;
};

struct snap_file {
	const uint8_t *buf;          /* the caller's, not copied */
	size_t len;
	uint16_t major, minor;
	char writer[33];             /* the writing ember's version, NUL-terminated */
	unsigned nsec;
	struct snap_section sec[SNAP_MAX_SECTIONS];
};

/* Check the whole image buf[0..len): header, version (major must be
 * SNAP_MAJOR), table (bounds, 8-byte alignment, no overlap, no duplicate
 * type+instance), trailer checksum. 0, or -EINVAL with one line in err
 * ("bad magic: not an ember snapshot state file", "format version 2.0: this
 * ember reads 1.x", "checksum mismatch: ... (damaged or truncated)"). */
int snap_parse(const uint8_t *buf, size_t len, struct snap_file *f, char *err, size_t errlen);

/* The section of this type (bit 31 ignored) and instance, or NULL. */
const struct snap_section *snap_find(const struct snap_file *f, uint32_t type,
				     uint32_t instance);

/* Read a whole state file (at most SNAP_MAX_FILE bytes; a regular file,
 * opened without blocking on a FIFO) into a malloc'd buffer. 0 or -errno
 * with one line in err naming path. */
int snap_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen);

/* --describe-snapshot: read and check path (snap_parse) and write its
 * format version ("v1.0.0") into out. 0 or -errno with one line in err. */
int snap_describe_file(const char *path, char *out, size_t outlen, char *err, size_t errlen);

/* Write len bytes to path, created (mode 0600) or truncated. 0 or -errno
 * with one line in err naming path. */
int snap_write_file(const char *path, const uint8_t *buf, size_t len, char *err,
		    size_t errlen);

struct snap_reader {
	const uint8_t *p;
	size_t len, off;
	bool bad;
	char what[48];               /* "VCPU 1 section": starts every error */
	char err[SNAP_ERR_LEN];      /* the first error */
};

/* Read section s of f (s may be NULL: the reader is bad, "missing"). what
 * names it in errors. */
void snap_r_init(struct snap_reader *r, const struct snap_file *f, const struct snap_section *s,
		 const char *what);
uint8_t snap_r_u8(struct snap_reader *r, const char *field);
uint16_t snap_r_u16(struct snap_reader *r, const char *field);
uint32_t snap_r_u32(struct snap_reader *r, const char *field);
uint64_t snap_r_u64(struct snap_reader *r, const char *field);
/* A u8 that must be 0 or 1. */
bool snap_r_bool(struct snap_reader *r, const char *field);
/* n fixed bytes into dst (zeros when bad). */
void snap_r_bytes(struct snap_reader *r, const char *field, void *dst, size_t n);
/* A blob of at most max bytes: a pointer into the file and its length
 * (NULL, 0 when bad). */
const uint8_t *snap_r_blob(struct snap_reader *r, const char *field, size_t max, uint32_t *len);
/* A blob of exactly n bytes into dst ("... is N bytes, expected M"). */
void snap_r_blob_exact(struct snap_reader *r, const char *field, void *dst, size_t n);
/* A text blob into dst (cap bytes incl. the NUL); no NUL inside. */
void snap_r_str(struct snap_reader *r, const char *field, char *dst, size_t cap);
/* Refuse a value: the reader becomes bad with "<what>: <field>: <text>". */
void snap_r_fail(struct snap_reader *r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A count of at most max (a u32). */
uint32_t snap_r_count(struct snap_reader *r, const char *field, uint32_t max);
/* 0 when every read succeeded (trailing bytes are allowed: a later minor
 * version may append fields), else -EINVAL with the error in err. */
int snap_r_done(struct snap_reader *r, char *err, size_t errlen);

#endif
