// SPDX-License-Identifier: Apache-2.0
#include "src/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- errors ---- */

void util_verr(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
}

int util_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	util_verr(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- file I/O ---- */

int util_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EINVAL;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int util_rwv_full(int fd, struct iovec *iov, int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t k = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		off += (uint64_t)k;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

static const char *util_file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO: return "a FIFO";
	case S_IFDIR: return "a directory";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	default: return "not a regular file";
	}
}

int util_open_file(const char *path, int flags, bool blockdev, const char **kind)
{
	int fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	int r;

	*kind = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto err;
	}
	if (!S_ISREG(st.st_mode) && !(blockdev && S_ISBLK(st.st_mode))) {
		*kind = util_file_kind(st.st_mode);
		r = -EINVAL;
		goto err;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		r = -errno;
		goto err;
	}
	return fd;
err:
	close(fd);
	return r;
}

int util_open_output(const char *path, const char **kind)
{
	struct stat st;
	int flags = O_WRONLY | O_APPEND | O_CREAT, fd, r;

	*kind = NULL;
	if (stat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
			goto kind;
		if (S_ISFIFO(st.st_mode))
			flags = O_RDWR;
	}
	fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* What was opened, should the path have changed since the stat. */
	if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))
		return fd;
	close(fd);
kind:
	*kind = util_file_kind(st.st_mode);
	return -EINVAL;
}

/* ---- checksums ---- */

uint8_t util_checksum8(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}
