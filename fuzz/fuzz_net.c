// SPDX-License-Identifier: Apache-2.0
/* virtio-net transmit and receive: a device whose "tap" is one end of a
 * SOCK_DGRAM socketpair, brought up through the mmio transport, its two
 * rings in 64 KiB of guest RAM from the input.
 *
 * Input: [u8 flags][u16 rx num][u16 tx num][u8 nframes]
 *        [nframes x (u16 len, bytes)][RAM image]
 * Rings: rx desc/avail/used 0x1000/0x2000/0x3000, tx 0x9000/0xa000/0xb000.
 * flags: 1 MRG_RXBUF, 2 GUEST_CSUM+GUEST_TSO4, 4 EVENT_IDX, 8 INDIRECT_DESC,
 * 16 MAC, 32 rx/tx rate limiters, 64 CSUM+HOST_TSO4.
 * Sequence: kick tx (frames go to the peer, which drains them; each must
 * be longer than the 12-byte header), queue the input's frames at the peer,
 * tap event, kick rx, tap event again. */
#include "fuzz/common.h"
#include "src/log.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "tests/unit/vq_fake.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RAM_SIZE 0x10000
static uint8_t *ram;
static int irqs, watch_calls;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		abort();
	log_set_level(getenv("FUZZ_VERBOSE") ? LOG_TRACE : LOG_OFF);
	return 0;
}

static void irq(void *opaque) { irqs++; }
static void rx_watch(void *opaque, bool on) { watch_calls++; }

static void kick(void *opaque, unsigned q)
{
	struct net_dev *n = opaque;
	n->vdev.ops->notify(&n->vdev, q);
}

static void drain(int fd)
{
	static uint8_t buf[70000];
	for (;;) {
		ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k < 0)
			return;
		if (k <= NET_HDR_LEN)
			abort();   /* 5.1.6.2: the device sends header + frame */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct guest_mem mem;
	struct virtio_mmio t;
	struct net_dev *n;
	char err[256];
	int sv[2];

	uint8_t flags = fz_u8(&f);
	struct vqf_ring r[2] = {
		{ .num = fz_u16(&f), .desc = 0x1000, .avail = 0x2000, .used = 0x3000 },
		{ .num = fz_u16(&f), .desc = 0x9000, .avail = 0xa000, .used = 0xb000 },
	};
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	int sndbuf = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	unsigned nframes = fz_u8(&f) % 8;
	for (unsigned i = 0; i < nframes; i++) {
		const uint8_t *fr;
		size_t len = fz_take(&f, fz_u16(&f), &fr);
		if (send(sv[1], fr, len, MSG_DONTWAIT) < 0)
			break;
	}
	const uint8_t *img;
	size_t ilen = fz_take(&f, RAM_SIZE, &img);
	memcpy(ram, img, ilen);
	memset(ram + ilen, 0, RAM_SIZE - ilen);
	guest_mem_init_from(&mem, ram, RAM_SIZE);

	struct ratelimit_config rl = {
		.bandwidth = { .set = true, .size = 3000, .refill_time_ms = 100 },
		.ops = { .set = true, .size = 2, .refill_time_ms = 100 },
	};
	struct net_params p = {
		.iface_id = "eth0",
		.tap_fd = sv[0],
		.has_mac = flags & 16,
		.mac = { 6, 0, 0xac, 0x10, 0, 2 },
		.rx_rate_limiter = (flags & 32) ? &rl : NULL,
		.tx_rate_limiter = (flags & 32) ? &rl : NULL,
	};
	if (net_create(&p, &mem, rx_watch, NULL, &n, err, sizeof(err)) < 0)
		abort();
	virtio_mmio_init(&t, &n->vdev, irq, kick, n);
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	if (flags & 1)
		features |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (flags & 2)
		features |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
	if (flags & 4)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (flags & 8)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (flags & 16)
		features |= VIRTIO_BIT(VIRTIO_NET_F_MAC);
	if (flags & 64)
		features |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4);
	vqf_mmio_bringup(&t, features, r, 2);
	uint8_t cfg[8];
	for (unsigned i = 0; i < sizeof(cfg); i++)
		cfg[i] = (uint8_t)vqf_mmio_read(&t, VIRTIO_MMIO_CONFIG + i);

	vqf_mmio_write(&t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_TXQ);
	drain(sv[1]);
	net_tap_event(n, EPOLLIN);
	vqf_mmio_write(&t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_RXQ);
	net_tap_event(n, EPOLLIN);
	if (flags & 32) {
		net_rx_ratelimit_event(n);
		net_tx_ratelimit_event(n);
	}
	vqf_mmio_write(&t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_TXQ);
	drain(sv[1]);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "net: status 0x%x rx %llu tx %llu tx_malformed %llu rx_trunc %llu\n",
			n->vdev.status, (unsigned long long)n->stats.rx_packets,
			(unsigned long long)n->stats.tx_packets,
			(unsigned long long)n->stats.tx_malformed,
			(unsigned long long)n->stats.rx_truncated);
	net_destroy(n);   /* closes sv[0] */
	close(sv[1]);
	return 0;
}
