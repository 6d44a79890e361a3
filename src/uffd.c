// SPDX-License-Identifier: Apache-2.0
/*
 * uffd.c - guest RAM handed to a page-fault handler (see uffd.h). Layer 3
 * (host glue of a snapshot load; no KVM ioctl).
 */
#include "src/uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "src/log.h"

#define UFFD_FAIL(ret, ...) (snprintf(err, errlen, __VA_ARGS__), (ret))

int uffd_check_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	if (strlen(path) >= sizeof(sa.sun_path))
		return UFFD_FAIL(-ENAMETOOLONG, "backend_path %s: longer than a Unix socket path "
				 "(%zu bytes)", path, sizeof(sa.sun_path) - 1);
	if (stat(path, &st) < 0)
		return UFFD_FAIL(-errno, "backend_path %s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return UFFD_FAIL(-EINVAL, "backend_path %s is not a Unix socket", path);
	return 0;
}

/* The userfaultfd: the system call, or /dev/userfaultfd where the call is
 * refused to this process (unprivileged, without vm.unprivileged_userfaultfd:
 * the device's permissions decide instead; Linux 6.1 and later). */
static int uffd_open(char *err, size_t errlen)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	int e = errno;
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		int e2 = errno;
		close(dev);
		if (fd >= 0)
			return fd;
		e = e2;
	}
	return UFFD_FAIL(-e, "userfaultfd (and /dev/userfaultfd): %s", strerror(e));
}

/* Firecracker's JSON list of mappings: per region where it is in ember
 * (base_host_virt_addr), how long, and where its bytes are in the memory
 * file (offset: regions follow each other in the file). page_size_kib holds
 * the page size in bytes, as Firecracker's does. */
static int uffd_json(const struct guest_mem *mem, char *out, size_t outlen)
{
	size_t n = 0;
	n += (size_t)snprintf(out + n, outlen - n, "[");
	for (unsigned i = 0; i < mem->nregions && n < outlen; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		n += (size_t)snprintf(out + n, outlen - n,
				      "%s{\"base_host_virt_addr\":%llu,\"size\":%llu,\"offset\":%llu,"
				      "\"page_size\":%u,\"page_size_kib\":%u}", i ? "," : "",
				      (unsigned long long)(uintptr_t)r->host,
				      (unsigned long long)r->size,
				      (unsigned long long)(r->host - mem->base), GUEST_MEM_PAGE,
				      GUEST_MEM_PAGE);
	}
	if (n < outlen)
		n += (size_t)snprintf(out + n, outlen - n, "]");
	return n < outlen ? (int)n : -ENOSPC;
}

static int uffd_send(int sock, int fd, const char *json, size_t len, char *err, size_t errlen)
{
	struct iovec iov = { .iov_base = (void *)json, .iov_len = len };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t k;
	do
		k = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return UFFD_FAIL(-errno, "sendmsg: %s", strerror(errno));
	if ((size_t)k != len)
		return UFFD_FAIL(-EIO, "sendmsg: %zd of %zu bytes sent", k, len);
	return 0;
}

int uffd_serve(const struct guest_mem *mem, const char *path, int *out, char *err,
	       size_t errlen)
{
	char json[1024], why[256];
	int fd = uffd_open(why, sizeof(why)), sock = -1, r = 0;
	*out = -1;
	if (fd < 0)
		return UFFD_FAIL(fd, "%s", why);
	struct uffdio_api api = { .api = UFFD_API };
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		r = UFFD_FAIL(-errno, "UFFDIO_API: %s", strerror(errno));
		goto fail;
	}
	for (unsigned i = 0; i < mem->nregions; i++) {
		struct uffdio_register reg = {
			.range = { .start = (uint64_t)(uintptr_t)mem->regions[i].host,
				   .len = mem->regions[i].size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
			r = UFFD_FAIL(-errno, "UFFDIO_REGISTER region %u: %s", i, strerror(errno));
			goto fail;
		}
	}
	int len = uffd_json(mem, json, sizeof(json));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (len < 0 || sock < 0) {
		r = UFFD_FAIL(len < 0 ? len : -errno, "socket: %s",
			      strerror(len < 0 ? -len : errno));
		goto fail;
	}
	int c;
	do
		c = connect(sock, (struct sockaddr *)&sa, sizeof(sa));
	while (c < 0 && errno == EINTR);
	if (c < 0) {
		r = UFFD_FAIL(-errno, "connect to the page-fault handler at %s: %s", path,
			      strerror(errno));
		goto fail;
	}
	if ((r = uffd_send(sock, fd, json, (size_t)len, err, errlen)) < 0)
		goto fail;
	close(sock);
	log_debug("Uffd: guest memory handed to %s: %s", path, json);
	*out = fd;
	return 0;
fail:
	if (sock >= 0)
		close(sock);
	close(fd);
	return r;
}
