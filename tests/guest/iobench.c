// SPDX-License-Identifier: Apache-2.0
/*
 * iobench.c - guest side of benchmark 5 (benchmarks/io.sh). Static; the
 * guest rootfs has it as /tests/iobench.
 *
 *   iobench send IPV4 PORT MIB   TCP: connect, write MIB MiB in 64 KiB writes,
 *                                send FIN, wait until the peer has closed
 *   iobench recv IPV4 PORT MIB   TCP: connect, read until EOF (at most MIB MiB)
 *   iobench write DEV MIB        block: MIB MiB of 1 MiB O_DIRECT writes from
 *                                offset 0, then fdatasync
 *   iobench read DEV MIB         block: MIB MiB of 1 MiB O_DIRECT reads
 *   iobench randread DEV MIB QD N
 *                                block: N 4 KiB O_DIRECT reads at random
 *                                offsets in the first MIB MiB, QD processes
 *                                reading at once (QD requests in flight),
 *                                N / QD each; the offsets depend only on the
 *                                arguments, so every run reads the same blocks
 *
 * Prints one line "iobench MODE bytes=N us=N", timed with the monotonic clock
 * around the whole transfer. Exit status 1 with one line on stderr on any
 * error (every socket operation times out after 60 s).
 *
 * Why not busybox: its nc moves 1 KiB per system call, so a transfer measures
 * the guest's system-call rate and TCP's small-write corking under emulation
 * more than the network device; its dd has no timer, and /proc/uptime ticks
 * every 10 ms.
 */
#define _GNU_SOURCE  /* O_DIRECT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NET_BUF (64 * 1024)
#define BLK_BUF (1024 * 1024)

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int fail(const char *what)
{
	fprintf(stderr, "iobench: %s: %s\n", what, strerror(errno));
	return 1;
}

static int report(const char *mode, uint64_t bytes, uint64_t t0, uint64_t want)
{
	printf("iobench %s bytes=%llu us=%llu\n", mode, (unsigned long long)bytes,
	       (unsigned long long)(now_us() - t0));
	if (bytes != want) {
		fprintf(stderr, "iobench: %s: %llu of %llu bytes\n", mode,
			(unsigned long long)bytes, (unsigned long long)want);
		return 1;
	}
	return 0;
}

static int net(int send_mode, const char *ip, unsigned long port, uint64_t want)
{
	static char buf[NET_BUF];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tmo = { .tv_sec = 60 };
	uint64_t done = 0;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		fprintf(stderr, "iobench: bad address %s\n", ip);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	uint64_t t0 = now_us();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fail("connect");
	while (done < want) {
		size_t n = want - done < NET_BUF ? (size_t)(want - done) : NET_BUF;
		ssize_t k = send_mode ? write(fd, buf, n) : read(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fail(send_mode ? "write" : "read");
		if (k == 0)
			break;  /* receive: the peer closed */
		done += (uint64_t)k;
	}
	if (send_mode) {
		/* Done when the peer has it all: it closes after our FIN. */
		if (shutdown(fd, SHUT_WR))
			return fail("shutdown");
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	}
	int r = report(send_mode ? "send" : "recv", done, t0, want);
	close(fd);
	return r;
}

static int blk(int write_mode, const char *dev, uint64_t want)
{
	void *buf;
	uint64_t done = 0;

	if (posix_memalign(&buf, 4096, BLK_BUF))
		return fail("posix_memalign");
	memset(buf, 0x5a, BLK_BUF);
	int fd = open(dev, (write_mode ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0)
		return fail(dev);
	uint64_t t0 = now_us();
	while (done < want) {
		ssize_t k = write_mode ? pwrite(fd, buf, BLK_BUF, (off_t)done)
				       : pread(fd, buf, BLK_BUF, (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fail(write_mode ? "write" : "read");
		if (k == 0)
			break;  /* end of the device */
		done += (uint64_t)k;
	}
	if (write_mode && fdatasync(fd))
		return fail("fdatasync");
	int r = report(write_mode ? "write" : "read", done, t0, want);
	close(fd);
	free(buf);
	return r;
}

/* randread: qd processes, n / qd random 4 KiB O_DIRECT reads each. */
static int randread(const char *dev, uint64_t span, unsigned long qd, unsigned long n)
{
	uint64_t blocks = span / 4096, t0 = now_us();
	unsigned long per = n / qd;
	for (unsigned long c = 0; c < qd; c++) {
		pid_t pid = fork();
		if (pid < 0)
			return fail("fork");
		if (pid > 0)
			continue;
		void *buf;
		if (posix_memalign(&buf, 4096, 4096))
			_exit(fail("posix_memalign"));
		int fd = open(dev, O_RDONLY | O_DIRECT);
		if (fd < 0)
			_exit(fail(dev));
		uint64_t x = 0x9e3779b97f4a7c15ULL * (c + 1);
		for (unsigned long i = 0; i < per; i++) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			off_t off = (off_t)(((x * 0x2545F4914F6CDD1DULL) >> 11) % blocks * 4096);
			ssize_t k = pread(fd, buf, 4096, off);
			if (k < 0 && errno == EINTR) {
				i--;
				continue;
			}
			if (k != 4096)
				_exit(fail("pread"));
		}
		_exit(0);
	}
	int bad = 0, st;
	for (unsigned long c = 0; c < qd; c++)
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	if (bad) {
		fprintf(stderr, "iobench: randread: a reader failed\n");
		return 1;
	}
	return report("randread", (uint64_t)per * qd * 4096, t0, (uint64_t)per * qd * 4096);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int is_net = !strcmp(mode, "send") || !strcmp(mode, "recv");
	int is_blk = !strcmp(mode, "write") || !strcmp(mode, "read");
	char *end;

	if (!strcmp(mode, "randread") && argc == 6) {
		unsigned long mib = strtoul(argv[3], &end, 10);
		unsigned long qd = strtoul(argv[4], NULL, 10), n = strtoul(argv[5], NULL, 10);
		if (mib == 0 || mib > 65536 || *end || qd == 0 || qd > 256 || n < qd) {
			fprintf(stderr, "iobench: randread DEV MIB(1-65536) QD(1-256) N(>= QD)\n");
			return 2;
		}
		return randread(argv[2], (uint64_t)mib << 20, qd, n);
	}
	if (!(is_net && argc == 5) && !(is_blk && argc == 4)) {
		fprintf(stderr, "usage: iobench send|recv IPV4 PORT MIB\n"
				"       iobench write|read DEV MIB\n"
				"       iobench randread DEV MIB QD N\n");
		return 2;
	}
	unsigned long mib = strtoul(argv[argc - 1], &end, 10);
	if (mib == 0 || mib > 65536 || *end) {
		fprintf(stderr, "iobench: bad size %s (MiB, 1-65536)\n", argv[argc - 1]);
		return 2;
	}
	uint64_t want = (uint64_t)mib << 20;
	if (is_blk)
		return blk(!strcmp(mode, "write"), argv[2], want);
	unsigned long port = strtoul(argv[3], &end, 10);
	if (port == 0 || port > 65535 || *end) {
		fprintf(stderr, "iobench: bad port %s\n", argv[3]);
		return 2;
	}
	return net(!strcmp(mode, "send"), argv[2], port, want);
}
