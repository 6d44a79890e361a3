// SPDX-License-Identifier: Apache-2.0
#include "virtio/blk_uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BLK_URING_INLINE_IOV 32     /* larger vectors are allocated */
#define BLK_URING_MAX_IOV    1024   /* UIO_MAXIOV */
#define BLK_URING_RETRIES    8      /* -EAGAIN/-EINTR results resubmitted */
#define BLK_URING_FILE       0      /* the registered file's index */

struct blk_uring_op {
	bool busy;
	uint8_t opcode;             /* IORING_OP_READV, _WRITEV, _FSYNC, _NOP */
	uint8_t retries;
	uint64_t seq;               /* order of queueing */
	uint64_t off;               /* where the rest goes */
	uint64_t left;              /* bytes still to move */
	uint64_t moved;             /* bytes moved so far */
	struct iovec *iov;          /* the rest: cursor into vec */
	int niov;
	struct iovec *vec;          /* inl, or allocated */
	struct iovec inl[BLK_URING_INLINE_IOV];
};

struct blk_uring {
	struct io_uring ring;
	int efd;
	unsigned busy;
	unsigned queued;            /* SQEs prepared and not yet submitted */
	unsigned nfree;
	uint64_t seq;               /* the next operation's */
	uint16_t free[BLK_URING_DEPTH];
	struct blk_uring_op op[BLK_URING_DEPTH];
};

/* io_uring_register(2) itself: Debian 12's liburing.so.2.3 does not export
 * io_uring_register_restrictions() and io_uring_enable_rings() (its
 * liburing.a does). Returns 0 or -errno. */
static int blk_uring_register(struct io_uring *ring, unsigned opcode, const void *arg,
			      unsigned nr)
{
	long r = syscall(__NR_io_uring_register, ring->ring_fd, opcode, arg, nr);
	return r < 0 ? -errno : 0;
}

/* The ring may run only these, on the registered file only (see the header). */
static int blk_uring_restrict(struct io_uring *ring)
{
	static const uint8_t ops[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
				       IORING_OP_NOP };
	struct io_uring_restriction res[sizeof(ops) + 3];
	unsigned n = 0;
	memset(res, 0, sizeof(res));
	for (unsigned i = 0; i < sizeof(ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE | IOSQE_IO_DRAIN;
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
	res[n++].register_op = IORING_REGISTER_FILES_UPDATE;
	return blk_uring_register(ring, IORING_REGISTER_RESTRICTIONS, res, n);
}

/* A disabled ring of `entries` with the restrictions in place. */
static int blk_uring_ring(struct io_uring *ring, unsigned entries, const char **step)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_R_DISABLED;
	*step = "io_uring_setup";
	int r = io_uring_queue_init_params(entries, ring, &p);
	if (r < 0)
		return r;
	*step = "registering the restrictions";
	r = blk_uring_restrict(ring);
	if (r < 0)
		io_uring_queue_exit(ring);
	return r;
}

int blk_uring_probe(void)
{
	struct io_uring ring;
	const char *step;
	int r = blk_uring_ring(&ring, 1, &step);
	if (r == 0)
		io_uring_queue_exit(&ring);
	return r;
}

int blk_uring_create(int fd, struct blk_uring **out, char *err, size_t errlen)
{
	struct blk_uring *u = calloc(1, sizeof(*u));
	const char *step = "out of memory";
	int r = -ENOMEM;
	if (!u)
		goto fail;
	u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->efd < 0) {
		r = -errno;
		step = "eventfd";
		goto fail;
	}
	r = blk_uring_ring(&u->ring, BLK_URING_DEPTH, &step);
	if (r < 0)
		goto fail_efd;
	step = "registering the backing file";
	r = io_uring_register_files(&u->ring, &fd, 1);
	if (r >= 0) {
		step = "registering the eventfd";
		r = io_uring_register_eventfd(&u->ring, u->efd);
	}
	if (r >= 0) {
		step = "enabling the ring";
		r = blk_uring_register(&u->ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	}
	if (r < 0)
		goto fail_ring;
	for (unsigned i = 0; i < BLK_URING_DEPTH; i++)
		u->free[i] = (uint16_t)(BLK_URING_DEPTH - 1 - i);
	u->nfree = BLK_URING_DEPTH;
	*out = u;
	return 0;
fail_ring:
	io_uring_queue_exit(&u->ring);
fail_efd:
	close(u->efd);
fail:
	free(u);
	snprintf(err, errlen, "io_uring: %s: %s", step, strerror(-r));
	return r;
}

static void blk_uring_release(struct blk_uring *u, unsigned slot)
{
	struct blk_uring_op *o = &u->op[slot];
	if (o->vec != o->inl)
		free(o->vec);
	o->vec = NULL;
	o->busy = false;
	u->free[u->nfree++] = (uint16_t)slot;
	u->busy--;
}

void blk_uring_destroy(struct blk_uring *u)
{
	if (!u)
		return;
	/* Nothing may land in memory its owner frees after this. */
	blk_uring_drain(u, NULL, NULL);
	for (unsigned i = 0; i < BLK_URING_DEPTH; i++)
		if (u->op[i].busy)
			blk_uring_release(u, i);
	io_uring_queue_exit(&u->ring);
	close(u->efd);
	free(u);
}

int blk_uring_eventfd(const struct blk_uring *u)
{
	return u->efd;
}

unsigned blk_uring_busy(const struct blk_uring *u)
{
	return u->busy;
}

bool blk_uring_full(const struct blk_uring *u)
{
	return u->nfree == 0;
}

/* Put slot's operation (its rest, for a continued transfer) in the SQ. */
static int blk_uring_prep(struct blk_uring *u, unsigned slot)
{
	struct blk_uring_op *o = &u->op[slot];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe)
		return -EBUSY;   /* cannot happen: SQ entries >= slots */
	switch (o->opcode) {
	case IORING_OP_READV:
		io_uring_prep_readv(sqe, BLK_URING_FILE, o->iov, (unsigned)o->niov, o->off);
		break;
	case IORING_OP_WRITEV:
		io_uring_prep_writev(sqe, BLK_URING_FILE, o->iov, (unsigned)o->niov, o->off);
		break;
	case IORING_OP_FSYNC:
		io_uring_prep_fsync(sqe, BLK_URING_FILE, IORING_FSYNC_DATASYNC);
		break;
	default:
		io_uring_prep_nop(sqe);
		break;
	}
	/* Every operation names the registered file (the restrictions
	 * require the flag, a NOP included). */
	sqe->flags |= IOSQE_FIXED_FILE;
	if (o->opcode == IORING_OP_FSYNC || o->opcode == IORING_OP_NOP)
		sqe->flags |= IOSQE_IO_DRAIN;
	io_uring_sqe_set_data64(sqe, slot);
	u->queued++;
	return 0;
}

static int blk_uring_take(struct blk_uring *u)
{
	if (u->nfree == 0)
		return -EBUSY;
	unsigned slot = u->free[--u->nfree];
	struct blk_uring_op *o = &u->op[slot];
	memset(o, 0, offsetof(struct blk_uring_op, inl));
	o->busy = true;
	o->seq = u->seq++;
	u->busy++;
	return (int)slot;
}

int blk_uring_rw(struct blk_uring *u, const struct iovec *iov, int n, uint64_t off, bool write)
{
	if (n < 1 || n > BLK_URING_MAX_IOV)
		return -EINVAL;
	int slot = blk_uring_take(u);
	if (slot < 0)
		return slot;
	struct blk_uring_op *o = &u->op[slot];
	o->vec = n <= BLK_URING_INLINE_IOV ? o->inl : malloc((size_t)n * sizeof(*iov));
	if (!o->vec) {
		blk_uring_release(u, (unsigned)slot);
		return -ENOMEM;
	}
	memcpy(o->vec, iov, (size_t)n * sizeof(*iov));
	o->iov = o->vec;
	o->niov = n;
	o->off = off;
	for (int i = 0; i < n; i++)
		o->left += iov[i].iov_len;
	o->opcode = write ? IORING_OP_WRITEV : IORING_OP_READV;
	int r = blk_uring_prep(u, (unsigned)slot);
	if (r) {
		blk_uring_release(u, (unsigned)slot);
		return r;
	}
	return slot;
}

int blk_uring_flush(struct blk_uring *u, bool sync)
{
	int slot = blk_uring_take(u);
	if (slot < 0)
		return slot;
	u->op[slot].opcode = sync ? IORING_OP_FSYNC : IORING_OP_NOP;
	int r = blk_uring_prep(u, (unsigned)slot);
	if (r) {
		blk_uring_release(u, (unsigned)slot);
		return r;
	}
	return slot;
}

int blk_uring_submit(struct blk_uring *u)
{
	if (u->queued == 0)
		return 0;
	int r = io_uring_submit(&u->ring);
	if (r > 0)
		u->queued -= (unsigned)r < u->queued ? (unsigned)r : u->queued;
	return r;
}

/* Is an operation queued before slot's still busy? */
static bool blk_uring_older_busy(const struct blk_uring *u, unsigned slot)
{
	for (unsigned i = 0; i < BLK_URING_DEPTH; i++)
		if (i != slot && u->op[i].busy && u->op[i].seq < u->op[slot].seq)
			return true;
	return false;
}

/* A completion for slot: true when the operation is finished (*res is its
 * result), false when it (or its rest) was queued again. */
static bool blk_uring_finish(struct blk_uring *u, unsigned slot, int64_t *res)
{
	struct blk_uring_op *o = &u->op[slot];
	int64_t r = *res;
	if ((r == -EAGAIN || r == -EINTR) && o->retries < BLK_URING_RETRIES) {
		o->retries++;
		return blk_uring_prep(u, slot) != 0 ? (*res = -EIO, true) : false;
	}
	if (o->opcode != IORING_OP_READV && o->opcode != IORING_OP_WRITEV) {
		/* A flush waited (IOSQE_IO_DRAIN) for the submissions before it;
		 * the rest of a short transfer (or a retry) queued before it
		 * but submitted after it was not among them: run it again, now
		 * behind that rest. */
		if (r >= 0 && blk_uring_older_busy(u, slot))
			return blk_uring_prep(u, slot) != 0 ? (*res = -EIO, true) : false;
		return true;
	}
	if (r < 0)
		return true;
	if (r == 0 || (uint64_t)r > o->left) {
		*res = -EIO;    /* end of file before the end (the file shrank) */
		return true;
	}
	o->moved += (uint64_t)r;
	o->left -= (uint64_t)r;
	o->off += (uint64_t)r;
	if (o->left == 0) {
		*res = (int64_t)o->moved;
		return true;
	}
	/* Short transfer: skip what moved and queue the rest. */
	size_t k = (size_t)r;
	while (o->niov > 0 && k >= o->iov->iov_len) {
		k -= o->iov->iov_len;
		o->iov++;
		o->niov--;
	}
	if (o->niov > 0) {
		o->iov->iov_base = (uint8_t *)o->iov->iov_base + k;
		o->iov->iov_len -= k;
	}
	o->retries = 0;
	if (blk_uring_prep(u, slot) != 0) {
		*res = -EIO;
		return true;
	}
	return false;
}

unsigned blk_uring_reap(struct blk_uring *u, blk_uring_done_fn done, void *opaque)
{
	uint64_t v;
	unsigned n = 0;
	struct io_uring_cqe *cqe;
	/* Clear first: a completion posted after the loop signals again. */
	ssize_t rd = read(u->efd, &v, sizeof(v));
	(void)rd;
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t slot = io_uring_cqe_get_data64(cqe);
		int64_t res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		if (slot >= BLK_URING_DEPTH || !u->op[slot].busy)
			continue;    /* not ours: cannot happen */
		if (!blk_uring_finish(u, (unsigned)slot, &res))
			continue;
		blk_uring_release(u, (unsigned)slot);
		if (done)
			done(opaque, (unsigned)slot, res);
		n++;
	}
	blk_uring_submit(u);     /* the rests of short transfers */
	return n;
}

int blk_uring_drain(struct blk_uring *u, blk_uring_done_fn done, void *opaque)
{
	unsigned stuck = 0;
	while (u->busy) {
		int r = io_uring_submit_and_wait(&u->ring, 1);
		if (r > 0)
			u->queued -= (unsigned)r < u->queued ? (unsigned)r : u->queued;
		unsigned got = blk_uring_reap(u, done, opaque);
		if (r >= 0 || r == -EINTR || got)
			stuck = 0;
		else if (++stuck > 1000)
			return r;   /* the kernel keeps refusing: give up */
	}
	return 0;
}

int blk_uring_set_file(struct blk_uring *u, int fd)
{
	int r = io_uring_register_files_update(&u->ring, BLK_URING_FILE, &fd, 1);
	return r < 0 ? r : 0;
}
