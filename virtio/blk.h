/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk.h - virtio-blk (virtio 1.2 section 5.2) over a raw image file.
 *
 * One request queue of 256. Requests are parsed completely (header, data
 * length and range, status byte) before the file is touched, then served
 * with preadv/pwritev straight into/out of guest memory, synchronously, on
 * the main thread. A host I/O error fails that request with IOERR.
 */
#ifndef EMBER_BLK_H
#define EMBER_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "src/config.h"
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
	const struct config_rate_limiter *rate_limiter;  /* NULL = none */
};

struct blk_stats {                     /* under the device lock */
	uint64_t read_count, write_count, flush_count;
	uint64_t read_bytes, write_bytes;
	uint64_t invalid_reqs, io_errors, throttled;
};

struct blk_dev {
	struct virtio_dev vdev;       /* first: ops receive &vdev */
	struct virtq vq;
	int fd;
	uint64_t capacity;            /* sectors */
	bool read_only, writeback;
	char id[BLK_ID_BYTES];        /* GET_ID bytes, NUL-padded, maybe unterminated */
	char name[CONFIG_ID_MAX + 1]; /* drive_id for logs */
	struct ratelimit rl;
	struct blk_stats stats;
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct iovec data[VIRTQ_MAX_SIZE];
};

/* Build a device over p->fd (size via lseek SEEK_END; not a multiple of 512:
 * the tail is invisible). Returns 0 or -errno with one line in err; on
 * error p->fd is NOT closed. */
int blk_create(const struct blk_params *p, const struct guest_mem *mem, struct blk_dev **out,
	       char *err, size_t errlen);
void blk_destroy(struct blk_dev *b);

/* Serve the queue (main thread; same as ops->notify(&b->vdev, 0)). */
void blk_process(struct blk_dev *b);
/* The rate limiter's timerfd fired (main thread): drain it and serve. */
void blk_ratelimit_event(struct blk_dev *b);
/* PATCH /drives: new_fd >= 0 replaces the backing file (ownership taken; the
 * guest gets a config-change interrupt with the new capacity); rl != NULL
 * replaces the rate limiter. Returns 0 or -errno with err. */
int blk_update(struct blk_dev *b, int new_fd, const struct config_rate_limiter *rl,
	       char *err, size_t errlen);

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
