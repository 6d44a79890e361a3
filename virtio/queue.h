/* SPDX-License-Identifier: Apache-2.0 */
/*
 * queue.h - split virtqueue (virtio 1.2 section 2.7) over guest memory.
 *
 * The guest is hostile: every ring and buffer address is checked with its
 * length through guest_mem_ptr(), every chain walk is bounded, and every
 * descriptor is copied once before use (no double fetch). The caller holds
 * the owning device's lock for every call.
 */
#ifndef EMBER_QUEUE_H
#define EMBER_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "src/guest_mem.h"

#define VIRTQ_MAX_SIZE 256        /* largest queue any ember device offers */

#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_DESC_F_INDIRECT  4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq {
	/* Driver-written through the transport. */
	uint16_t num_max;         /* QueueNumMax */
	uint16_t num;             /* QueueNum */
	bool ready;               /* QueueReady */
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Valid while active (between virtq_activate and virtq_reset). */
	bool active;
	bool broken;              /* impossible ring state seen: stop using it */
	bool event_idx, indirect;
	const struct guest_mem *mem;
	uint8_t *desc, *avail, *used;
	uint16_t last_avail;      /* next avail ring slot to consume */
	uint16_t used_idx;        /* next used ring slot (private until published) */
	uint16_t signalled_used;  /* used idx at the last interrupt decision */
};

/* One popped descriptor chain: iov[0..nout) device-readable, then
 * iov[nout..nout+nin) device-writable. Zero-length descriptors are skipped. */
struct virtq_chain {
	uint16_t head;
	unsigned nout, nin;
	uint64_t out_len, in_len;
};

/* Back to the reset state: not ready, num = num_max, addresses 0. */
void virtq_reset(struct virtq *q, uint16_t num_max);

/* DRIVER_OK for a ready queue: num a power of two in [1, num_max], rings
 * aligned (16/2/4) and wholly inside guest memory. Returns 0 (queue active)
 * or -EINVAL. */
int virtq_activate(struct virtq *q, const struct guest_mem *mem, bool event_idx, bool indirect);

/* Pop the next available chain into iov[0..iov_max).
 * Returns 1: a well-formed chain;
 *         0: ring empty (with EVENT_IDX the driver is asked to kick on the next buffer);
 *   -EINVAL: malformed chain (loop, too long, bad address, readable after
 *            writable, bad indirect): c->head is valid, complete it with len 0;
 *  -ENOBUFS: chain needs more than iov_max segments: c->head valid, popped;
 *      -EIO: impossible ring state (avail idx jumped, head out of range):
 *            the queue is now broken, the device needs a reset. */
int virtq_pop(struct virtq *q, struct virtq_chain *c, struct iovec *iov, unsigned iov_max);

/* Give back the last n popped chains (they will be popped again). */
void virtq_unpop(struct virtq *q, unsigned n);

/* Number of chains the driver made available and we have not popped. */
uint16_t virtq_avail_count(struct virtq *q);

/* Write a used element (not yet visible to the driver). */
void virtq_add_used(struct virtq *q, uint16_t head, uint32_t len);
/* Publish every added used element (store-release of used->idx). */
void virtq_publish_used(struct virtq *q);
/* After publishing: must the driver be interrupted? (EVENT_IDX used_event,
 * else avail NO_INTERRUPT flag.) Updates the signalled mark. */
bool virtq_needs_interrupt(struct virtq *q);

/* iovec helpers (bounded by the arrays given). */
/* Copy len bytes starting at byte offset off of iov[0..n) into dst.
 * Returns 0 or -EFAULT when the iovec is too short. */
int iov_copy_from(const struct iovec *iov, unsigned n, uint64_t off, void *dst, size_t len);
int iov_copy_to(const struct iovec *iov, unsigned n, uint64_t off, const void *src, size_t len);
/* Build in dst[0..dst_max) the sub-vector [off, off+len) of iov[0..n).
 * Returns the number of entries, or -EFAULT when out of range / -ENOBUFS. */
int iov_slice(const struct iovec *iov, unsigned n, uint64_t off, uint64_t len,
	      struct iovec *dst, unsigned dst_max);

/* ---- snapshot (docs/snapshot.md, VIRTIO section) ---- */

/* A queue's registers and the device's place in its rings; the rings
 * themselves (with EVENT_IDX's used_event and avail_event) are in guest
 * memory. */
struct virtq_state {
	uint16_t num_max, num;
	bool ready, active, broken, event_idx, indirect;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail, used_idx, signalled_used;
};

void virtq_save(const struct virtq *q, struct virtq_state *st);
/* Take the state over into q (whose num_max is the device's): an active
 * queue is activated again over mem (virtq_activate()'s checks: num a power
 * of two <= num_max, rings aligned and inside mem), then gets its indices.
 * 0, or -EINVAL (q reset) when num_max differs or the rings do not fit. */
int virtq_restore(struct virtq *q, const struct virtq_state *st, const struct guest_mem *mem);

#endif
