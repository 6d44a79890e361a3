/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prefetch.h - the working set of a restored microVM (docs/snapshot.md,
 * section 6): which pages of guest RAM a guest restored from a snapshot
 * touched, recorded next to the snapshot's state file as
 * "<snapshot_path>.ws", and prefetched on later loads of that snapshot
 * before the vCPUs run, in large sequential runs.
 *
 * Opt-in with `ember --snapshot-prefetch METHOD` (prefetch_set_method);
 * without it nothing here runs. A load with the File backend then either
 * finds a valid record (same memory file: size, inode, mtime; same state
 * file: its CRC-32C; same RAM size; checksum right) and prefetches it, or
 * records: at the guest's next pause, the pages present in ember's mapping
 * of guest RAM (/proc/self/pagemap) become the record. A record that does
 * not match or is damaged is ignored with one log line, and recorded anew.
 *
 * Layer 0 for the record format (ws_encode/ws_decode/ws_check, unit
 * tested); ws_session_* use guest_mem and the files.
 */
#ifndef EMBER_PREFETCH_H
#define EMBER_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/guest_mem.h"

#define WS_MAGIC        "EMBERWS\x01"
#define WS_HEADER_SIZE  64u
#define WS_RUN_SIZE     8u
#define WS_TRAILER_SIZE 4u
#define WS_SUFFIX       ".ws"
/* Runs closer than this many pages are read as one (docs/snapshot.md, 6). */
#define WS_GAP_PAGES    16u

enum prefetch_method {
	PREFETCH_OFF,
	PREFETCH_POPULATE,   /* MADV_WILLNEED, then MADV_POPULATE_READ: page cache, mapped shared */
	PREFETCH_READ,       /* pread() into the private mapping: private copies */
	PREFETCH_WILLNEED,   /* MADV_WILLNEED only: page cache, guest still faults (minor) */
	PREFETCH_HUGE,       /* the 2 MiB chunks holding the working set become anonymous
			      * huge pages read from the file: private, 2 MiB stage-2 maps */
};

/* "populate", "read", "willneed", "huge" (or "off"); -EINVAL otherwise. */
int prefetch_parse_method(const char *s, enum prefetch_method *m);
const char *prefetch_method_name(enum prefetch_method m);
void prefetch_set_method(enum prefetch_method m);
enum prefetch_method prefetch_get_method(void);

/* What a record belongs to. */
struct ws_ident {
	uint64_t mem_size;        /* guest RAM in bytes */
	uint64_t file_size;       /* the memory file's size, inode, mtime (ns) */
	uint64_t file_ino;
	uint64_t file_mtime_ns;
	uint32_t state_crc;       /* the state file's CRC-32C trailer */
};

struct ws_run {
	uint32_t page, npages;    /* first page (offset / 4 KiB) and length */
};

struct ws_record {
	struct ws_ident id;
	uint32_t nruns;
	uint64_t npages;          /* sum of the runs */
	struct ws_run *runs;      /* malloc'd, sorted, disjoint, not adjacent */
};

void ws_record_free(struct ws_record *r);

/* The record's bytes (docs/snapshot.md, section 6); *out malloc'd. 0 or
 * -ENOMEM / -E2BIG. */
int ws_encode(const struct ws_record *r, uint8_t **out, size_t *len);
/* Check and decode a record: magic, version, sizes, checksum, runs (sorted,
 * disjoint, inside the RAM size). 0 or -EINVAL with one line in err. */
int ws_decode(const uint8_t *buf, size_t len, struct ws_record *r, char *err, size_t errlen);
/* Does the decoded record belong to want? 0 or -ESTALE with one line in
 * err naming what differs. */
int ws_check(const struct ws_record *r, const struct ws_ident *want, char *err, size_t errlen);

/* Runs of set bits in a page bitmap of npages bits. 0 or -ENOMEM. */
int ws_from_bitmap(const uint64_t *bits, uint64_t npages, struct ws_record *r);

/* ---- a load's working set ---- */

struct ws_session {
	enum prefetch_method method;
	char path[4096 + 4];      /* <snapshot_path>.ws */
	struct ws_ident id;
	struct ws_record rec;     /* valid when have */
	bool have;                /* a matching record: prefetch it */
	bool recording;           /* no record: write one at the next pause */
};

/* At a File load, method on: identify the snapshot (mem_fd, the state
 * file's bytes), read and check <state_path>.ws. Never fails the load: a
 * missing, stale, foreign or damaged record logs one line and sets
 * recording. NULL (nothing to do) when the method is off or memory fails. */
struct ws_session *ws_session_open(const char *state_path, const uint8_t *state, size_t state_len,
				   int mem_fd, uint64_t mem_size);
void ws_session_free(struct ws_session *s);

/* Before the vCPUs run: prefetch the record's pages of fd into mem (the
 * memory file's private mapping). Logs what it did; a failure logs and
 * leaves the rest to lazy faults. */
void ws_session_prefetch(const struct ws_session *s, const struct guest_mem *mem, int fd);

/* The guest is paused: when recording, write the pages present in mem's
 * mapping as the record (atomically: a temporary file renamed over it), then
 * stop recording. Logs the result; never fails the pause. */
void ws_session_pause(struct ws_session *s, const struct guest_mem *mem);

#endif
