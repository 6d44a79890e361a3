/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk.h - virtio-blk (virtio 1.2 section 5.2) over a raw image file.
 *
 * One request queue of 256. Requests are parsed completely (header, data
 * length and range, status byte) before the file is touched, then served
 * with preadv/pwritev straight into/out of guest memory, synchronously, on
 * the main thread (io_engine Sync), or queued to the io_uring engine
 * (virtio/blk_uring.h, io_engine Async) and completed when its eventfd
 * fires: the descriptors stay owned until then, at most BLK_URING_DEPTH
 * requests are in flight, and the used ring is published as they complete.
 * A host I/O error fails that request with IOERR.
 */
#ifndef EMBER_BLK_H
#define EMBER_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/blk_uring.h"
#include "virtio/queue.h"
#include "virtio/ratelimit.h"
#include "virtio/virtio.h"

#define BLK_QUEUE_SIZE 256
#define BLK_SECTOR     512ULL
#define BLK_ID_BYTES   20           /* VIRTIO_BLK_ID_BYTES */

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO      5
#define VIRTIO_BLK_F_FLUSH   9

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

struct blk_params {
	const char *drive_id;
	int fd;                       /* the blk device owns it on success */
	bool read_only;
	bool writeback;               /* cache_type Writeback: FLUSH -> fdatasync */
	const struct ratelimit_config *rate_limiter;  /* NULL = none */
	bool async;                   /* io_engine Async: the io_uring engine */
};

struct blk_stats {                     /* under the device lock; only grow */
	uint64_t read_count, write_count, flush_count;
	uint64_t read_bytes, write_bytes;
	uint64_t invalid_reqs, io_errors, throttled;
	uint64_t queue_events;               /* ops->notify calls (guest kicks) */
};

struct blk_dev {
	struct virtio_dev vdev;       /* first: ops receive &vdev */
	struct virtq vq;
	int fd;
	uint64_t capacity;            /* sectors */
	bool read_only, writeback;
	char id[BLK_ID_BYTES];        /* GET_ID bytes, NUL-padded, maybe unterminated */
	char name[VIRTIO_DEV_NAME_MAX + 1]; /* drive_id for logs */
	struct ratelimit rl;
	struct blk_stats stats;
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct iovec data[VIRTQ_MAX_SIZE];
	/* io_engine Async only (NULL for Sync): */
	struct blk_uring *uring;
	struct blk_inflight *inflight;  /* [BLK_URING_DEPTH], by engine slot */
	uint32_t gen;                   /* bumped by a reset: older requests are orphans */
};

/* Build a device over p->fd (size via lseek SEEK_END; not a multiple of 512:
 * the tail is invisible). Returns 0 or -errno with one line in err; on
 * error p->fd is NOT closed. */
int blk_create(const struct blk_params *p, const struct guest_mem *mem, struct blk_dev **out,
	       char *err, size_t errlen);
void blk_destroy(struct blk_dev *b);

/* Serve the queue (main thread; ops->notify(&b->vdev, 0) does the same and
 * counts a queue event). */
void blk_process(struct blk_dev *b);
/* A copy of the counters, taken under the device lock (any thread). */
void blk_get_stats(struct blk_dev *b, struct blk_stats *out);
/* The rate limiter's timerfd fired (main thread): drain it and serve. */
void blk_ratelimit_event(struct blk_dev *b);
/* PATCH /drives: new_fd >= 0 replaces the backing file (ownership taken; the
 * guest gets a config-change interrupt with the new capacity); rl != NULL
 * replaces the rate limiter. Returns 0 or -errno with err. */
int blk_update(struct blk_dev *b, int new_fd, const struct ratelimit_config *rl,
	       char *err, size_t errlen);

/* io_engine Async. The engine's completion eventfd, to watch for EPOLLIN
 * (-1 for a Sync drive). */
int blk_io_fd(const struct blk_dev *b);
/* It fired (main thread): complete what finished, then serve the queue. */
void blk_io_event(struct blk_dev *b);
/* Wait until no request is in flight, completing each to the guest (used
 * ring published, interrupt). For pause/snapshot; blk_destroy and
 * blk_update (a new backing file) call it. Blocks the calling thread for as
 * long as the host I/O takes. No-op for Sync. Returns 0 or -errno. A reset
 * does not wait: requests in flight then complete without a used element. */
int blk_drain(struct blk_dev *b);
/* Pause (main thread, vCPUs parked): serve the queue as a kick would, then,
 * with io_engine Async, wait for what that put in flight and serve again,
 * until nothing is in flight: every request the guest made available is
 * then completed to it (used ring, interrupt), unless the rate limiter or
 * the serving budget holds it back, and then it is still only in the
 * available ring. 0, or -errno when waiting for the engine failed (logged;
 * requests may still be in flight). */
int blk_quiesce(struct blk_dev *b);
/* ---- snapshot (docs/snapshot.md, VIRTIO section) ---- */

/* What the guest saw of the disk and the limiter's live buckets. */
struct blk_state {
	uint64_t capacity;            /* sectors */
	bool read_only, writeback;
	char id[BLK_ID_BYTES];
	struct ratelimit_state rl;
};

void blk_save(struct blk_dev *b, struct blk_state *st);
/* The device was rebuilt from the same drive config: its file must have the
 * capacity the guest saw (-EINVAL with err otherwise); the limiter's
 * buckets come back. Nothing is served until the VM resumes. */
int blk_restore(struct blk_dev *b, const struct blk_state *st, char *err, size_t errlen);

#endif
