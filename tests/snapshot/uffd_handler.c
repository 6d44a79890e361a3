// SPDX-License-Identifier: Apache-2.0
/*
 * uffd_handler SOCKET MEMFILE: a page-fault handler for a snapshot loaded
 * with the Uffd memory backend (tests/e2e/test_snapshot_uffd.sh). It speaks
 * the protocol Firecracker's handlers speak, so it checks ember's side of
 * it: it listens on SOCKET, takes one connection, receives one message (the
 * JSON array of mappings {base_host_virt_addr, size, offset, page_size,
 * page_size_kib} and the userfaultfd as SCM_RIGHTS data), prints the JSON,
 * then serves each missing-page fault with UFFDIO_COPY of that page of
 * MEMFILE (mapped privately). When the VMM goes away (its pid, from
 * SO_PEERCRED, is gone: a userfaultfd says nothing when the process it
 * serves exits) it prints "UFFD-SERVED <pages>" and exits 0; any protocol
 * or fault error exits 1 with one line.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXREG 8

struct region {
	uint64_t base, size, offset, page;
};

static void die(const char *what)
{
	fprintf(stderr, "uffd_handler: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The number after "key": in obj (up to its end), or -1. */
static long long field(const char *obj, const char *end, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(obj, pat);
	if (!p || p > end)
		return -1;
	return strtoll(p + strlen(pat), NULL, 10);
}

static int parse(const char *json, struct region *r)
{
	int n = 0;
	const char *o = json;
	while ((o = strchr(o, '{')) && n < MAXREG) {
		const char *end = strchr(o, '}');
		if (!end)
			return -1;
		long long v[4] = { field(o, end, "base_host_virt_addr"), field(o, end, "size"),
				   field(o, end, "offset"), field(o, end, "page_size") };
		for (int i = 0; i < 4; i++)
			if (v[i] < 0)
				return -1;
		if (field(o, end, "page_size_kib") != v[3])
			return -1;
		r[n++] = (struct region){ (uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2],
					  (uint64_t)v[3] };
		o = end;
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: uffd_handler SOCKET MEMFILE\n");
		return 2;
	}
	int mf = open(argv[2], O_RDONLY);
	struct stat st;
	if (mf < 0 || fstat(mf, &st) < 0)
		die(argv[2]);
	uint8_t *mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mf, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0)
		die("listen");
	int c = accept(ls, NULL, NULL);
	if (c < 0)
		die("accept");
	struct ucred peer;
	socklen_t plen = sizeof(peer);
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &peer, &plen) < 0)
		die("SO_PEERCRED");
	char json[4096];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = json, .iov_len = sizeof(json) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(c, &msg, 0);
	if (n <= 0)
		die("recvmsg");
	json[n] = 0;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int uffd;
	if (!cm || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "uffd_handler: no userfaultfd in the message\n");
		return 1;
	}
	memcpy(&uffd, CMSG_DATA(cm), sizeof(int));
	printf("UFFD-MAPPINGS %s\n", json);
	fflush(stdout);
	struct region r[MAXREG];
	int nr = parse(json, r);
	if (nr <= 0) {
		fprintf(stderr, "uffd_handler: bad mappings: %s\n", json);
		return 1;
	}
	unsigned long served = 0;
	for (;;) {
		struct pollfd p = { .fd = uffd, .events = POLLIN };
		int pr = poll(&p, 1, 200);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (pr == 0) {
			if (kill(peer.pid, 0) < 0 && errno == ESRCH)
				break;     /* the VMM is gone */
			continue;
		}
		if (p.revents & (POLLHUP | POLLERR))
			break;
		struct uffd_msg m;
		ssize_t k = read(uffd, &m, sizeof(m));
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k == 0)
			break;
		if (k != sizeof(m))
			die("read");
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		uint64_t a = m.arg.pagefault.address;
		int i;
		for (i = 0; i < nr; i++)
			if (a >= r[i].base && a - r[i].base < r[i].size)
				break;
		if (i == nr) {
			fprintf(stderr, "uffd_handler: fault at 0x%llx outside every region\n",
				(unsigned long long)a);
			return 1;
		}
		uint64_t page = a & ~(r[i].page - 1);
		uint64_t off = r[i].offset + (page - r[i].base);
		if (off + r[i].page > (uint64_t)st.st_size) {
			fprintf(stderr, "uffd_handler: offset 0x%llx past the memory file\n",
				(unsigned long long)off);
			return 1;
		}
		struct uffdio_copy cp = { .dst = page, .src = (uint64_t)(uintptr_t)(mem + off),
					  .len = r[i].page };
		if (ioctl(uffd, UFFDIO_COPY, &cp) < 0 && errno != EEXIST)
			die("UFFDIO_COPY");
		served++;
	}
	printf("UFFD-SERVED %lu\n", served);
	return 0;
}
