// SPDX-License-Identifier: Apache-2.0
#include "virtio/blk.h"
#include "src/log.h"
#include "src/util.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Config space (5.2.4): le64 capacity, le32 size_max, le32 seg_max, ... */
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_SEG_MAX  12
#define BLK_CFG_SIZE     24
/* Header + status take two of the queue's descriptors. */
#define BLK_SEG_MAX      (BLK_QUEUE_SIZE - 2)

/* blk_handle's used length for a request queued to the Async engine: it
 * completes in blk_async_done. */
#define BLK_USED_PENDING UINT32_MAX

static int blk_async_create(struct blk_dev *b, const char *id, int fd, char *err,
			    size_t errlen);
static uint32_t blk_async(struct blk_dev *b, const struct virtq_chain *c, uint8_t *status_p,
			  uint32_t type, int n, uint64_t sector, uint64_t len);
static void blk_async_submit(struct blk_dev *b);
static int blk_async_drain_locked(struct blk_dev *b);

static struct blk_dev *to_blk(struct virtio_dev *d)
{
	return (struct blk_dev *)d;
}

static uint64_t blk_features(struct virtio_dev *d)
{
	struct blk_dev *b = to_blk(d);
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
		     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX);
	if (b->read_only)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	if (b->writeback)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	return f;
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct blk_dev *b = to_blk(d);
	uint8_t cfg[BLK_CFG_SIZE] = { 0 };
	uint64_t cap = htole64(b->capacity);
	uint32_t seg = htole32(BLK_SEG_MAX);
	memcpy(cfg + BLK_CFG_CAPACITY, &cap, 8);
	memcpy(cfg + BLK_CFG_SEG_MAX, &seg, 4);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < sizeof(cfg) ? cfg[off + i] : 0;
}

static int blk_activate(struct virtio_dev *d)
{
	struct blk_dev *b = to_blk(d);
	return b->vq.active ? 0 : -EINVAL;
}

static void blk_reset(struct virtio_dev *d)
{
	/* Sync: nothing is in flight. Async: what is in flight completes
	 * later without a used element (the queue is gone). */
	to_blk(d)->gen++;
}

static void blk_process_locked(struct blk_dev *b);

static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct blk_dev *b = to_blk(d);
	pthread_mutex_lock(&b->vdev.lock);
	b->stats.queue_events++;
	blk_process_locked(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLK,
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = NULL,
	.activate = blk_activate,
	.notify = blk_notify,
	.reset = blk_reset,
};

static int blk_size(int fd, uint64_t *sectors)
{
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	*sectors = (uint64_t)end / BLK_SECTOR;
	return 0;
}

int blk_create(const struct blk_params *p, const struct guest_mem *mem, struct blk_dev **out,
	       char *err, size_t errlen)
{
	struct blk_dev *b = calloc(1, sizeof(*b));
	int r;
	if (!b) {
		snprintf(err, errlen, "drive %s: out of memory", p->drive_id);
		return -ENOMEM;
	}
	r = blk_size(p->fd, &b->capacity);
	if (r) {
		snprintf(err, errlen, "drive %s: cannot get the size of the backing file: %s",
			 p->drive_id, strerror(-r));
		goto err_free;
	}
	static const struct ratelimit_config none;
	r = ratelimit_init(&b->rl, p->rate_limiter ? p->rate_limiter : &none);
	if (r) {
		snprintf(err, errlen, "drive %s: timerfd_create: %s", p->drive_id, strerror(-r));
		goto err_free;
	}
	r = virtio_dev_init(&b->vdev, &blk_ops, mem, &b->vq, 1, BLK_QUEUE_SIZE);
	if (r) {
		snprintf(err, errlen, "drive %s: pthread_mutex_init: %s", p->drive_id, strerror(-r));
		goto err_rl;
	}
	if (p->async && (r = blk_async_create(b, p->drive_id, p->fd, err, errlen)) != 0)
		goto err_vdev;
	b->fd = p->fd;
	b->read_only = p->read_only;
	b->writeback = p->writeback;
	/* GET_ID: up to 20 bytes, NUL-padded (5.2.6). */
	size_t idl = strnlen(p->drive_id, BLK_ID_BYTES);
	memcpy(b->id, p->drive_id, idl);
	snprintf(b->name, sizeof(b->name), "%s", p->drive_id);
	*out = b;
	return 0;
err_vdev:
	virtio_dev_destroy(&b->vdev);
err_rl:
	ratelimit_destroy(&b->rl);
err_free:
	free(b);
	return r;
}

void blk_destroy(struct blk_dev *b)
{
	if (!b)
		return;
	if (b->uring) {
		/* Nothing may land in guest memory after the device is gone. */
		blk_drain(b);
		blk_uring_destroy(b->uring);
		free(b->inflight);
	}
	virtio_dev_destroy(&b->vdev);
	ratelimit_destroy(&b->rl);
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

static bool blk_range_ok(const struct blk_dev *b, uint64_t sector, uint64_t bytes)
{
	return sector <= b->capacity && bytes / BLK_SECTOR <= b->capacity - sector;
}

void blk_get_stats(struct blk_dev *b, struct blk_stats *out)
{
	pthread_mutex_lock(&b->vdev.lock);
	*out = b->stats;
	pthread_mutex_unlock(&b->vdev.lock);
}

/* Count a read or write of len bytes at sector that ended with r (0 or
 * -errno). A host error is logged (rate-limited) and counted, and the
 * request then ends with VIRTIO_BLK_S_IOERR. */
static bool blk_account(struct blk_dev *b, uint64_t sector, uint64_t len, bool write, int r)
{
	if (r) {
		b->stats.io_errors++;
		log_ratelimited(LOG_ERROR, "virtio-blk %s: %s of %llu bytes at sector %llu: %s",
				b->name, write ? "write" : "read", (unsigned long long)len,
				(unsigned long long)sector, strerror(-r));
		return false;
	}
	if (write) {
		b->stats.write_count++;
		b->stats.write_bytes += len;
	} else {
		b->stats.read_count++;
		b->stats.read_bytes += len;
	}
	return true;
}

/* Move len bytes between the sliced iovecs in b->data (n entries) and the
 * file at sector, synchronously (io_engine Sync). */
static bool blk_transfer(struct blk_dev *b, int n, uint64_t sector, uint64_t len, bool write)
{
	/* EOF before the end (the file shrank under us) is an I/O error. */
	int r = util_rwv_full(b->fd, b->data, n, sector * BLK_SECTOR, write);
	return blk_account(b, sector, len, write, r);
}

/* Serve one well-formed chain. Returns the used length; *bytes = data moved. */
static uint32_t blk_handle(struct blk_dev *b, const struct virtq_chain *c, uint64_t *bytes)
{
	struct iovec *iov = b->iov;
	struct iovec *win = iov + c->nout;
	uint8_t hdr[16];
	uint8_t status = VIRTIO_BLK_S_IOERR;
	uint32_t used = 1;
	int n;

	*bytes = 0;
	/* 5.2.6: a readable 16-byte header (possibly split), a writable status
	 * byte at the very end; anything else is a malformed request. */
	if (c->nin == 0 || c->out_len < sizeof(hdr) ||
	    iov_copy_from(iov, c->nout, 0, hdr, sizeof(hdr))) {
		b->stats.invalid_reqs++;
		log_ratelimited(LOG_WARN, "virtio-blk %s: malformed request (out %llu in %llu)",
				b->name, (unsigned long long)c->out_len, (unsigned long long)c->in_len);
		return 0;
	}
	uint8_t *status_p = (uint8_t *)win[c->nin - 1].iov_base + win[c->nin - 1].iov_len - 1;
	uint32_t type;
	uint64_t sector;
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	type = le32toh(type);
	sector = le64toh(sector);
	uint64_t in_data = c->in_len - 1;          /* writable bytes before status */
	uint64_t out_data = c->out_len - sizeof(hdr);

	switch (type) {
	case VIRTIO_BLK_T_IN:
		if (out_data || in_data % BLK_SECTOR || !blk_range_ok(b, sector, in_data) ||
		    in_data > UINT32_MAX - 1)
			goto invalid;
		n = iov_slice(win, c->nin, 0, in_data, b->data, VIRTQ_MAX_SIZE);
		if (n < 0)
			goto invalid;
		if (b->uring)
			return *bytes = in_data, blk_async(b, c, status_p, type, n, sector, in_data);
		if (!blk_transfer(b, n, sector, in_data, false))
			break;
		*bytes = in_data;
		used = (uint32_t)in_data + 1;
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->read_only) {
			log_ratelimited(LOG_WARN, "virtio-blk %s: write to a read-only drive", b->name);
			b->stats.invalid_reqs++;
			break;
		}
		if (in_data || out_data % BLK_SECTOR || !blk_range_ok(b, sector, out_data))
			goto invalid;
		n = iov_slice(iov, c->nout, sizeof(hdr), out_data, b->data, VIRTQ_MAX_SIZE);
		if (n < 0)
			goto invalid;
		if (b->uring)
			return *bytes = out_data, blk_async(b, c, status_p, type, n, sector, out_data);
		if (!blk_transfer(b, n, sector, out_data, true))
			break;
		*bytes = out_data;
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flush_count++;
		if (b->uring)
			return blk_async(b, c, status_p, type, 0, 0, 0);
		if (b->writeback && fdatasync(b->fd) < 0) {
			b->stats.io_errors++;
			log_ratelimited(LOG_ERROR, "virtio-blk %s: fdatasync: %s", b->name, strerror(errno));
			break;
		}
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t k = in_data < BLK_ID_BYTES ? in_data : BLK_ID_BYTES;
		if (iov_copy_to(win, c->nin, 0, b->id, k))
			goto invalid;
		used = (uint32_t)k + 1;
		status = VIRTIO_BLK_S_OK;
		break;
	}
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	*status_p = status;
	return used;
invalid:
	b->stats.invalid_reqs++;
	log_ratelimited(LOG_WARN, "virtio-blk %s: invalid request type %u sector %llu "
			"(out %llu in %llu, capacity %llu)", b->name, type,
			(unsigned long long)sector, (unsigned long long)c->out_len,
			(unsigned long long)c->in_len, (unsigned long long)b->capacity);
	*status_p = VIRTIO_BLK_S_IOERR;
	return 1;
}

static void blk_process_locked(struct blk_dev *b)
{
	struct virtq *q = &b->vq;
	bool added = false;

	if (!virtio_dev_running(&b->vdev) || !q->active)
		return;
	for (unsigned served = 0;; served++) {
		if (served == VIRTIO_QUEUE_BUDGET) {
			virtio_dev_requeue(&b->vdev, 0);   /* the rest after the other fds */
			break;
		}
		if (b->uring && blk_uring_full(b->uring))
			break;     /* a completion brings us back */
		if (!ratelimit_ready(&b->rl)) {
			b->stats.throttled++;
			break;     /* the timerfd brings us back */
		}
		struct virtq_chain c;
		int r = virtq_pop(q, &c, b->iov, VIRTQ_MAX_SIZE);
		if (r == 0)
			break;
		if (r == -EIO) {
			virtio_dev_needs_reset(&b->vdev, "request queue corrupt");
			break;
		}
		uint64_t bytes = 0;
		uint32_t used = 0;
		if (r == 1) {
			used = blk_handle(b, &c, &bytes);
		} else {
			b->stats.invalid_reqs++;
			log_ratelimited(LOG_WARN, "virtio-blk %s: malformed descriptor chain %u",
					b->name, c.head);
		}
		ratelimit_charge(&b->rl, bytes, 1);
		if (used == BLK_USED_PENDING)
			continue;  /* owned by the engine until it completes */
		virtq_add_used(q, c.head, used);
		/* Publish each completion: a long batch must not hold the
		 * guest back, and the interrupt decision below covers all. */
		virtq_publish_used(q);
		added = true;
	}
	if (b->uring)
		blk_async_submit(b);
	if (added)
		virtio_dev_signal_used(&b->vdev, q);
}

void blk_process(struct blk_dev *b)
{
	pthread_mutex_lock(&b->vdev.lock);
	blk_process_locked(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

void blk_ratelimit_event(struct blk_dev *b)
{
	pthread_mutex_lock(&b->vdev.lock);
	ratelimit_timer_ack(&b->rl);
	blk_process_locked(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

int blk_update(struct blk_dev *b, int new_fd, const struct ratelimit_config *rl,
	       char *err, size_t errlen)
{
	uint64_t cap = 0;
	if (new_fd >= 0) {
		int r = blk_size(new_fd, &cap);
		if (r) {
			snprintf(err, errlen, "drive %s: cannot get the size of the new backing file: %s",
				 b->name, strerror(-r));
			return r;
		}
	}
	pthread_mutex_lock(&b->vdev.lock);
	if (new_fd >= 0 && b->uring) {
		/* What was submitted before the PATCH completes on the old file. */
		int r = blk_async_drain_locked(b);
		if (r == 0)
			r = blk_uring_set_file(b->uring, new_fd);
		if (r) {
			pthread_mutex_unlock(&b->vdev.lock);
			snprintf(err, errlen, "drive %s: io_uring: replacing the backing file: %s",
				 b->name, strerror(-r));
			return r;
		}
	}
	if (new_fd >= 0) {
		close(b->fd);
		b->fd = new_fd;
		b->capacity = cap;
		/* 5.2.4 / 2.5.1: capacity changed -> config change notification. */
		virtio_dev_signal_config(&b->vdev);
	}
	if (rl)
		ratelimit_update(&b->rl, rl);
	blk_process_locked(b);
	pthread_mutex_unlock(&b->vdev.lock);
	return 0;
}

/* ---- io_engine Async: the glue to the io_uring engine (virtio/blk_uring.h) ---- */

/* A request handed to the engine, by engine slot. */
struct blk_inflight {
	uint16_t head;
	uint8_t type;                 /* VIRTIO_BLK_T_IN, _OUT or _FLUSH */
	uint8_t *status;              /* the status byte, in guest memory */
	uint32_t used;                /* used length when it succeeds */
	uint32_t gen;                 /* b->gen when it was queued */
	uint64_t sector, len;
};

static int blk_async_create(struct blk_dev *b, const char *id, int fd, char *err, size_t errlen)
{
	char why[160];
	b->inflight = calloc(BLK_URING_DEPTH, sizeof(*b->inflight));
	if (!b->inflight) {
		snprintf(err, errlen, "drive %s: out of memory", id);
		return -ENOMEM;
	}
	int r = blk_uring_create(fd, &b->uring, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "drive %s: %s", id, why);
		free(b->inflight);
		b->inflight = NULL;
		return r;
	}
	log_info("virtio-blk %s: io_engine Async (io_uring, %u requests in flight at most)", id,
		 BLK_URING_DEPTH);
	return 0;
}

/* Queue a validated request (data in b->data[0..n) for IN and OUT). */
static uint32_t blk_async(struct blk_dev *b, const struct virtq_chain *c, uint8_t *status_p,
			  uint32_t type, int n, uint64_t sector, uint64_t len)
{
	int slot = type == VIRTIO_BLK_T_FLUSH ?
		blk_uring_flush(b->uring, b->writeback) :
		blk_uring_rw(b->uring, b->data, n, sector * BLK_SECTOR, type == VIRTIO_BLK_T_OUT);
	if (slot < 0) {
		/* Not queued (out of memory): the request fails now. */
		if (type != VIRTIO_BLK_T_FLUSH)
			blk_account(b, sector, len, type == VIRTIO_BLK_T_OUT, slot);
		*status_p = VIRTIO_BLK_S_IOERR;
		return 1;
	}
	b->inflight[slot] = (struct blk_inflight){
		.head = c->head, .type = (uint8_t)type, .status = status_p,
		.used = type == VIRTIO_BLK_T_IN ? (uint32_t)len + 1 : 1, .gen = b->gen,
		.sector = sector, .len = len,
	};
	return BLK_USED_PENDING;
}

static void blk_async_submit(struct blk_dev *b)
{
	int r = blk_uring_submit(b->uring);
	/* What was not taken stays queued: the next kick or completion retries. */
	if (r < 0)
		log_ratelimited(LOG_ERROR, "virtio-blk %s: io_uring submit: %s", b->name,
				strerror(-r));
}

/* blk_uring_done_fn: count the request, then give it back to the guest
 * unless a reset made it an orphan. Lock held. */
static void blk_async_done(void *opaque, unsigned slot, int64_t res)
{
	struct blk_dev *b = opaque;
	const struct blk_inflight *q = &b->inflight[slot];
	bool ok;
	if (q->type == VIRTIO_BLK_T_FLUSH) {
		ok = res >= 0;
		if (!ok) {
			b->stats.io_errors++;
			log_ratelimited(LOG_ERROR, "virtio-blk %s: fdatasync: %s", b->name,
					strerror((int)-res));
		}
	} else {
		ok = blk_account(b, q->sector, q->len, q->type == VIRTIO_BLK_T_OUT,
				 res < 0 ? (int)res : 0);
	}
	if (q->gen != b->gen || !b->vq.active)
		return;
	*q->status = ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	virtq_add_used(&b->vq, q->head, ok ? q->used : 1);
}

/* Publish what blk_async_done added and interrupt the guest. Lock held. */
static void blk_async_publish(struct blk_dev *b, uint16_t before)
{
	if (!b->vq.active || b->vq.used_idx == before)
		return;
	virtq_publish_used(&b->vq);
	virtio_dev_signal_used(&b->vdev, &b->vq);
}

void blk_io_event(struct blk_dev *b)
{
	pthread_mutex_lock(&b->vdev.lock);
	if (b->uring) {
		uint16_t before = b->vq.used_idx;
		blk_uring_reap(b->uring, blk_async_done, b);
		blk_async_publish(b, before);
		/* Slots are free again: serve what waited for one. */
		blk_process_locked(b);
	}
	pthread_mutex_unlock(&b->vdev.lock);
}

static int blk_async_drain_locked(struct blk_dev *b)
{
	uint16_t before = b->vq.used_idx;
	int r = blk_uring_drain(b->uring, blk_async_done, b);
	blk_async_publish(b, before);
	if (r)
		log_error("virtio-blk %s: waiting for the I/O in flight: %s", b->name,
			  strerror(-r));
	return r;
}

int blk_drain(struct blk_dev *b)
{
	int r = 0;
	if (!b->uring)
		return 0;
	pthread_mutex_lock(&b->vdev.lock);
	r = blk_async_drain_locked(b);
	pthread_mutex_unlock(&b->vdev.lock);
	return r;
}

int blk_quiesce(struct blk_dev *b)
{
	int r = 0;
	pthread_mutex_lock(&b->vdev.lock);
	blk_process_locked(b);
	/* The slots a drain frees let requests that waited for one go: again
	 * until a round queues nothing. The guest is parked: the ring ends. */
	while (r == 0 && b->uring && blk_uring_busy(b->uring)) {
		r = blk_async_drain_locked(b);
		if (r == 0)
			blk_process_locked(b);
	}
	pthread_mutex_unlock(&b->vdev.lock);
	return r;
}

int blk_io_fd(const struct blk_dev *b)
{
	return b->uring ? blk_uring_eventfd(b->uring) : -1;
}
/* ---- snapshot ---- */

void blk_save(struct blk_dev *b, struct blk_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&b->vdev.lock);
	st->capacity = b->capacity;
	st->read_only = b->read_only;
	st->writeback = b->writeback;
	memcpy(st->id, b->id, BLK_ID_BYTES);
	ratelimit_save(&b->rl, &st->rl);
	pthread_mutex_unlock(&b->vdev.lock);
}

int blk_restore(struct blk_dev *b, const struct blk_state *st, char *err, size_t errlen)
{
	int r = 0;
	pthread_mutex_lock(&b->vdev.lock);
	if (st->capacity != b->capacity) {
		snprintf(err, errlen, "drive %s: the backing file holds %llu sectors, the guest saw "
			 "%llu", b->name, (unsigned long long)b->capacity,
			 (unsigned long long)st->capacity);
		r = -EINVAL;
	} else if (st->read_only != b->read_only || st->writeback != b->writeback ||
		   memcmp(st->id, b->id, BLK_ID_BYTES) != 0) {
		snprintf(err, errlen, "drive %s: read-only, cache type or id differ from the "
			 "snapshot's", b->name);
		r = -EINVAL;
	} else {
		ratelimit_restore(&b->rl, &st->rl);
	}
	pthread_mutex_unlock(&b->vdev.lock);
	return r;
}
