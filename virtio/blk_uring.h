/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_uring.h - the Async block I/O engine (io_engine "Async"): reads,
 * writes and flushes of one backing file through an io_uring, submitted
 * without waiting, completed through an eventfd.
 *
 * The engine knows nothing of virtio, KVM or the event loop. Its user
 * (virtio/blk.c) queues operations, each in one of BLK_URING_DEPTH slots,
 * calls blk_uring_submit() once per batch, and, when blk_uring_eventfd()
 * becomes readable, blk_uring_reap() hands back each finished operation's
 * slot with its result. The slot, and whatever the caller keeps for it
 * (the guest's descriptors, which stay owned until then), is busy from
 * blk_uring_rw()/blk_uring_flush() until its completion is handed back.
 *
 * - Depth: at most BLK_URING_DEPTH operations are queued or in flight;
 *   blk_uring_full() says when the caller must stop taking requests.
 * - Short transfers: a read or write that moved fewer bytes than asked is
 *   continued by the engine where it stopped (a new submission for the rest);
 *   end of file before the end is -EIO. The caller sees one result: the
 *   whole length, or -errno.
 * - Order: a flush starts only after every operation queued before it has
 *   completed (IOSQE_IO_DRAIN), so its completion covers them all; when one
 *   of them was continued (a short transfer, a retry) after the flush was
 *   submitted, the flush runs again behind it before it is handed back.
 * - Containment: the ring is created disabled, only the backing file is
 *   registered (slot 0) and every operation must name it (IOSQE_FIXED_FILE
 *   required); only READV, WRITEV, FSYNC and NOP are allowed, and after the
 *   ring is enabled the only register operation left is replacing that file.
 *   A compromised ember cannot turn the ring to other files or operations.
 *
 * System calls: io_uring_setup and io_uring_register (setup, restrictions,
 * the file, the eventfd, enabling the ring) in blk_uring_create(), before
 * the VM runs; io_uring_enter for every submission and wait; io_uring_register
 * (files update) in blk_uring_set_file(); reads of the eventfd. Callers
 * serialise (the device lock).
 */
#ifndef EMBER_BLK_URING_H
#define EMBER_BLK_URING_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLK_URING_DEPTH 128     /* operations queued or in flight at most */

struct blk_uring;

/* Can this host run the engine? Creates a disabled ring with the engine's
 * restrictions and closes it. Returns 0, or -errno: -ENOSYS (no io_uring),
 * -EPERM (io_uring disabled by kernel.io_uring_disabled or a seccomp
 * filter), -EINVAL (a kernel older than 5.10: no restrictions); anything
 * else is a resource error (-ENOMEM, -EMFILE). */
int blk_uring_probe(void);
/* True when blk_uring_probe()'s error means "the host has no usable
 * io_uring" rather than a passing resource shortage. EINVAL: the ring flag
 * or the restrictions are unknown (before Linux 5.10); EACCES: an LSM. */
static inline bool blk_uring_unsupported(int err)
{
	return err == -ENOSYS || err == -EPERM || err == -EACCES || err == -EINVAL ||
	       err == -EOPNOTSUPP;
}

/* A ring over fd (not owned: the caller keeps it open for the engine's
 * life and closes it after blk_uring_destroy), its completion eventfd
 * registered. Returns 0 or -errno with one line in err naming the step. */
int blk_uring_create(int fd, struct blk_uring **out, char *err, size_t errlen);
/* Wait for every operation in flight (their results are dropped), then
 * free the ring. NULL is a no-op. */
void blk_uring_destroy(struct blk_uring *u);

/* Readable (EPOLLIN) when completions are there to reap. */
int blk_uring_eventfd(const struct blk_uring *u);
/* Slots busy (queued, in flight, or completed and not yet reaped). */
unsigned blk_uring_busy(const struct blk_uring *u);
bool blk_uring_full(const struct blk_uring *u);

/* Queue a read (write = false) or write of iov[0..n) at byte offset off.
 * The vector is copied (n <= 1024); the memory it points to must stay valid
 * until the completion. Returns the slot (0..BLK_URING_DEPTH-1) or -EBUSY
 * (full), -EINVAL (n out of range), -ENOMEM. */
int blk_uring_rw(struct blk_uring *u, const struct iovec *iov, int n, uint64_t off, bool write);
/* Queue a flush after every operation queued before it: fdatasync when
 * sync, else ordering only (a NOP). Returns the slot or -EBUSY. */
int blk_uring_flush(struct blk_uring *u, bool sync);
/* Submit everything queued (io_uring_enter, no wait). Returns the number
 * submitted or -errno; what was not taken stays queued for the next call. */
int blk_uring_submit(struct blk_uring *u);

/* One finished operation: res is the bytes moved (read/write), 0 (flush),
 * or -errno. */
typedef void (*blk_uring_done_fn)(void *opaque, unsigned slot, int64_t res);
/* Clear the eventfd and hand every finished operation to done (its slot is
 * free again when done is called). Never waits. Returns how many. */
unsigned blk_uring_reap(struct blk_uring *u, blk_uring_done_fn done, void *opaque);
/* Submit what is queued and wait until no slot is busy, handing each
 * completion to done (NULL: dropped). Returns 0 or -errno (the ring failed:
 * the slots still busy are lost, which only happens when the kernel
 * refuses io_uring_enter). */
int blk_uring_drain(struct blk_uring *u, blk_uring_done_fn done, void *opaque);
/* Replace the registered file (call with no slot busy: after a drain).
 * Returns 0 or -errno. */
int blk_uring_set_file(struct blk_uring *u, int fd);

#endif
