/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.h - small helpers that more than one file needs, each written once:
 * the one-line error (`err`, `errlen`), whole-buffer file I/O, opening a
 * host file without blocking (to read it, or to write output to it),
 * clocks, and the byte checksum of the boot tables. A service of layer 0: any file of src/ and virtio/ may call it,
 * and it calls nothing of ember. Thread-safe (no state).
 */
#ifndef EMBER_UTIL_H
#define EMBER_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

/* ---- errors ---- */

/* Format one line into err[errlen] (nothing when err is NULL or errlen 0)
 * and return rc: `return util_err(err, errlen, -EINVAL, "x %d", v);`. */
int util_err(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same with a va_list, for helpers with a format of their own. */
void util_verr(char *err, size_t errlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* ---- file I/O ---- */

/* pread exactly len bytes at off into buf, retrying after EINTR and short
 * reads. Returns 0, -errno, or -EINVAL when the file ends first (it shrank,
 * or its headers lied about its size). */
int util_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* Move the whole vector iov[0..n) at off with preadv (write false) or
 * pwritev (write true), retrying after EINTR and continuing a short
 * transfer where it stopped; iov is consumed (its entries are changed).
 * Returns 0, -errno, or -EIO when the file ends first (a read at its end,
 * a write that moves nothing). */
int util_rwv_full(int fd, struct iovec *iov, int n, uint64_t off, bool write);

/* Open path (flags: O_RDONLY or O_RDWR) without blocking on it: a FIFO with
 * no writer would hold the main thread (API, devices, signals) forever. The
 * open is O_NONBLOCK | O_NOCTTY | O_CLOEXEC; the file must then be a regular
 * file, or with blockdev a block device; O_NONBLOCK is cleared. Returns the
 * fd or -errno; a file of another type is -EINVAL with *kind naming what it
 * is ("a FIFO", "a directory", ...), else *kind is NULL. */
int util_open_file(const char *path, int flags, bool blockdev, const char **kind);

/* Open path for output without blocking ember on it (serial_out_path): a
 * FIFO is opened read-write (so no reader is needed, and none leaving makes
 * a write fail), anything else write-only, appending, created (0600) if
 * missing; O_NONBLOCK | O_NOCTTY | O_CLOEXEC, and O_NONBLOCK stays on, so a
 * full pipe drops output instead of stalling a writer. Only a regular file
 * or a FIFO is accepted: the type is checked before the open (a device is
 * never opened: opening one can have effects of its own) and again on the
 * opened fd. Returns the fd or -errno; a file of another type is -EINVAL
 * with *kind naming what it is, else *kind is NULL. */
int util_open_output(const char *path, const char **kind);

/* ---- little-endian fields of untrusted files (x86 hosts only: a copy) ---- */

static inline uint16_t util_le16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline uint32_t util_le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t util_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* ---- clocks ----
 * Inline: the rate limiters read the clock twice per block request. */

/* Now on clock clk, in nanoseconds / microseconds. */
static inline uint64_t util_clock_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t util_clock_us(clockid_t clk)
{
	return util_clock_ns(clk) / 1000;
}

/* Now on CLOCK_MONOTONIC in nanoseconds: durations, deadlines, rate limits. */
static inline uint64_t util_now_ns(void)
{
	return util_clock_ns(CLOCK_MONOTONIC);
}

/* ns as a struct timespec (timerfd values, pthread_cond_timedwait
 * deadlines). */
static inline struct timespec util_timespec(uint64_t ns)
{
	return (struct timespec){
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};
}

/* ---- checksums ---- */

/* The byte that makes the 8-bit sum of buf[0..len) and itself zero (the
 * checksum of ACPI tables and of the MP table). */
uint8_t util_checksum8(const void *buf, size_t len);

#endif
