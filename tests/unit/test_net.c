// SPDX-License-Identifier: Apache-2.0
/* virtio-net over a SOCK_SEQPACKET pair standing in for the tap (one
 * datagram = one frame with its 12-byte virtio-net header). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtio/mmio.h"
#include "virtio/net.h"
#include "tests/unit/vq_fake.h"

#define FEAT_BASE (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | \
		   VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM))
#define FEAT_MRG (FEAT_BASE | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))

struct fx {
	struct vqf_mem m;
	struct vqf_ring r[2];
	struct net_dev *n;
	struct virtio_mmio t;
	int host;              /* our end of the "tap" */
	int irqs, watch_on, watch_off;
	bool watching;
	unsigned requeued[2];  /* per queue */
};

static void fx_requeue(void *opaque, unsigned q)
{
	((struct fx *)opaque)->requeued[q]++;
}

static void fx_irq(void *opaque)
{
	((struct fx *)opaque)->irqs++;
}

static void fx_kick(void *opaque, unsigned q)
{
	struct fx *f = opaque;
	f->n->vdev.ops->notify(&f->n->vdev, q);
}

static void fx_watch(void *opaque, bool on)
{
	struct fx *f = opaque;
	f->watching = on;
	if (on)
		f->watch_on++;
	else
		f->watch_off++;
}

static int fx_make(void **state, bool mac, const struct ratelimit_config *tx, uint16_t qsize)
{
	struct fx *f = calloc(1, sizeof(*f));
	int sv[2];
	vqf_mem_init(&f->m, 4 << 20);
	vqf_ring_init(&f->r[0], &f->m, qsize);
	vqf_ring_init(&f->r[1], &f->m, qsize);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	f->host = sv[0];
	struct net_params p = { .iface_id = "eth0", .tap_fd = sv[1], .has_mac = mac,
				.mac = { 0x06, 0, 0xac, 0x10, 0, 2 }, .tx_rate_limiter = tx };
	char err[128];
	assert_int_equal(net_create(&p, &f->m.mem, fx_watch, f, &f->n, err, sizeof(err)), 0);
	f->watching = true;
	virtio_mmio_init(&f->t, &f->n->vdev, fx_irq, fx_kick, f);
	f->n->vdev.requeue = fx_requeue;
	f->n->vdev.requeue_opaque = f;
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_make(state, true, NULL, 16);
}

static int fx_setup_nomac(void **state)
{
	return fx_make(state, false, NULL, 16);
}

static int fx_setup_txrl(void **state)
{
	static struct ratelimit_config rl;
	rl.ops = (struct ratelimit_bucket_config){ true, 1, 0, 50 };
	return fx_make(state, true, &rl, 16);
}

static int fx_setup_big(void **state)
{
	return fx_make(state, true, NULL, NET_QUEUE_SIZE);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	net_destroy(f->n);
	close(f->host);
	vqf_mem_free(&f->m);
	free(f);
	return 0;
}

static void fx_up(struct fx *f, uint64_t feat)
{
	uint32_t st = vqf_mmio_bringup(&f->t, feat, f->r, 2);
	assert_true(st & VIRTIO_STATUS_DRIVER_OK);
	assert_false(st & VIRTIO_STATUS_NEEDS_RESET);
}

/* Post a one-descriptor writable receive buffer; returns its GPA. */
static uint64_t fx_rxbuf(struct fx *f, uint16_t d, uint32_t len, uint16_t flags)
{
	uint64_t gpa = vqf_alloc(&f->m, len);
	vqf_desc(&f->r[0], d, gpa, len, flags, 0);
	vqf_avail(&f->r[0], d);
	return gpa;
}

static void fx_host_send(struct fx *f, size_t payload, uint8_t fill)
{
	uint8_t *frame = calloc(1, NET_HDR_LEN + payload);
	memset(frame + NET_HDR_LEN, fill, payload);
	frame[10] = 0x77;   /* num_buffers as the tap leaves it: garbage */
	assert_int_equal(send(f->host, frame, NET_HDR_LEN + payload, 0),
			 (ssize_t)(NET_HDR_LEN + payload));
	free(frame);
}

static void test_config_and_features(void **state)
{
	struct fx *f = *state;
	assert_int_equal(vqf_mmio_read(&f->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t lo = vqf_mmio_read(&f->t, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(lo & (1u << VIRTIO_NET_F_MAC));
	assert_true(lo & (1u << VIRTIO_NET_F_MRG_RXBUF));
	assert_true(lo & (1u << VIRTIO_NET_F_GUEST_TSO4));
	assert_true(lo & (1u << VIRTIO_NET_F_HOST_TSO6));
	uint8_t mac[6];
	for (int i = 0; i < 6; i++)
		virtio_mmio_access(&f->t, VIRTIO_MMIO_CONFIG + (uint64_t)i, &mac[i], 1, false);
	assert_memory_equal(mac, "\x06\x00\xac\x10\x00\x02", 6);
}

static void test_no_mac(void **state)
{
	struct fx *f = *state;
	vqf_mmio_write(&f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_false(vqf_mmio_read(&f->t, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_NET_F_MAC));
}

static void test_rx_one_buffer(void **state)
{
	struct fx *f = *state;
	fx_up(f, FEAT_BASE);
	uint64_t b = fx_rxbuf(f, 0, 2048, VIRTQ_DESC_F_WRITE);
	fx_rxbuf(f, 1, 2048, VIRTQ_DESC_F_WRITE);
	fx_host_send(f, 100, 0xab);
	net_tap_event(f->n, EPOLLIN);
	uint32_t id, len;
	assert_true(vqf_used_next(&f->r[0], &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, NET_HDR_LEN + 100);
	uint8_t *p = vqf_ptr(&f->m, b);
	assert_int_equal(p[10], 1);       /* num_buffers = 1 */
	assert_int_equal(p[11], 0);
	assert_int_equal(p[NET_HDR_LEN], 0xab);
	assert_int_equal(p[NET_HDR_LEN + 99], 0xab);
	assert_true(f->irqs >= 1);
	assert_int_equal(f->n->stats.rx_packets, 1);
	/* Nothing more to read but buffers left: still watching the tap. */
	assert_true(f->watching);
	/* Second frame takes the last buffer; with none left, stop watching. */
	fx_host_send(f, 10, 0xcd);
	net_tap_event(f->n, EPOLLIN);
	assert_true(vqf_used_next(&f->r[0], &id, &len));
	assert_int_equal(id, 1);
	assert_false(f->watching);
}

static void test_rx_mergeable(void **state)
{
	struct fx *f = *state;
	fx_up(f, FEAT_MRG);
	/* Three 600-byte buffers (1800 bytes >= one 1530-byte frame). */
	uint64_t b0 = fx_rxbuf(f, 0, 600, VIRTQ_DESC_F_WRITE);
	uint64_t b1 = fx_rxbuf(f, 1, 600, VIRTQ_DESC_F_WRITE);
	fx_rxbuf(f, 2, 600, VIRTQ_DESC_F_WRITE);
	fx_host_send(f, 1000, 0x11);
	net_tap_event(f->n, EPOLLIN);
	uint32_t id, len;
	assert_true(vqf_used_next(&f->r[0], &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 600);
	assert_true(vqf_used_next(&f->r[0], &id, &len));
	assert_int_equal(id, 1);
	assert_int_equal(len, NET_HDR_LEN + 1000 - 600);
	assert_false(vqf_used_next(&f->r[0], &id, &len));
	assert_int_equal(((uint8_t *)vqf_ptr(&f->m, b0))[10], 2);   /* num_buffers */
	assert_int_equal(((uint8_t *)vqf_ptr(&f->m, b1))[0], 0x11);
	/* The third buffer went back to the ring and serves the next frame. */
	uint64_t b3 = fx_rxbuf(f, 3, 2000, VIRTQ_DESC_F_WRITE);
	(void)b3;
	fx_host_send(f, 50, 0x22);
	net_tap_event(f->n, EPOLLIN);
	assert_true(vqf_used_next(&f->r[0], &id, &len));
	assert_int_equal(id, 2);
	assert_int_equal(len, NET_HDR_LEN + 50);
}

static void test_rx_waits_for_buffers(void **state)
{
	struct fx *f = *state;
	fx_up(f, FEAT_BASE);
	fx_host_send(f, 64, 0x33);
	/* No buffers: stop watching the tap (no busy loop) ... */
	net_tap_event(f->n, EPOLLIN);
	assert_false(f->watching);
	assert_int_equal(vqf_used_idx(&f->r[0]), 0);
	assert_int_equal(vqf_avail_event(&f->r[0]), 0);   /* kick me at the next buffer */
	/* ... until the guest posts one and kicks. */
	int on = f->watch_on;
	fx_rxbuf(f, 0, 2048, VIRTQ_DESC_F_WRITE);
	fx_rxbuf(f, 1, 2048, VIRTQ_DESC_F_WRITE);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_RXQ);
	assert_int_equal(f->watch_on, on + 1);
	assert_true(f->watching);
	assert_int_equal(vqf_used_idx(&f->r[0]), 1);
}

static void test_rx_mergeable_waits_for_room(void **state)
{
	struct fx *f = *state;
	fx_up(f, FEAT_MRG);
	fx_rxbuf(f, 0, 100, VIRTQ_DESC_F_WRITE);
	fx_host_send(f, 64, 0x44);
	net_tap_event(f->n, EPOLLIN);
	/* 100 bytes cannot hold a full frame: wait for more instead of truncating. */
	assert_false(f->watching);
	assert_int_equal(vqf_used_idx(&f->r[0]), 0);
	fx_rxbuf(f, 1, 2000, VIRTQ_DESC_F_WRITE);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_RXQ);
	assert_int_equal(vqf_used_idx(&f->r[0]), 1);
	uint32_t id, len;
	vqf_used_elem(&f->r[0], 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, NET_HDR_LEN + 64 < 100 ? NET_HDR_LEN + 64 : 100);
}

static void test_rx_bad_buffers(void **state)
{
	struct fx *f = *state;
	fx_up(f, FEAT_BASE);
	/* Device-readable receive buffer, then one too small for the header,
	 * then one outside RAM, then a good one. */
	fx_rxbuf(f, 0, 2048, 0);
	fx_rxbuf(f, 1, 8, VIRTQ_DESC_F_WRITE);
	vqf_desc(&f->r[0], 2, (4 << 20) - 16, 64, VIRTQ_DESC_F_WRITE, 0);
	vqf_avail(&f->r[0], 2);
	uint64_t good = fx_rxbuf(f, 3, 2048, VIRTQ_DESC_F_WRITE);
	fx_host_send(f, 64, 0x55);
	net_tap_event(f->n, EPOLLIN);
	uint32_t id, len;
	for (uint32_t want = 0; want < 3; want++) {
		assert_true(vqf_used_next(&f->r[0], &id, &len));
		assert_int_equal(id, want);
		assert_int_equal(len, 0);
	}
	assert_true(vqf_used_next(&f->r[0], &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(((uint8_t *)vqf_ptr(&f->m, good))[NET_HDR_LEN], 0x55);
	assert_int_equal(f->n->stats.rx_malformed, 3);
}

static void test_rx_before_driver_ok(void **state)
{
	struct fx *f = *state;
	fx_host_send(f, 64, 0x66);
	net_tap_event(f->n, EPOLLIN);
	assert_false(f->watching);
	fx_up(f, FEAT_BASE);
	fx_rxbuf(f, 0, 2048, VIRTQ_DESC_F_WRITE);
	fx_rxbuf(f, 1, 2048, VIRTQ_DESC_F_WRITE);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_RXQ);
	assert_true(f->watching);
	assert_int_equal(vqf_used_idx(&f->r[0]), 1);
}

static void test_tx(void **state)
{
	struct fx *f = *state;
	fx_up(f, FEAT_BASE);
	/* Header split over two descriptors, payload in a third. */
	uint64_t h = vqf_alloc(&f->m, NET_HDR_LEN), p = vqf_alloc(&f->m, 200);
	memset(vqf_ptr(&f->m, h), 0, NET_HDR_LEN);
	memset(vqf_ptr(&f->m, p), 0x99, 200);
	vqf_desc(&f->r[1], 0, h, 5, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(&f->r[1], 1, h + 5, NET_HDR_LEN - 5, VIRTQ_DESC_F_NEXT, 2);
	vqf_desc(&f->r[1], 2, p, 200, 0, 0);
	vqf_avail(&f->r[1], 0);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_TXQ);
	uint8_t buf[512];
	ssize_t k = recv(f->host, buf, sizeof(buf), 0);
	assert_int_equal(k, NET_HDR_LEN + 200);
	assert_int_equal(buf[NET_HDR_LEN], 0x99);
	uint32_t id, len;
	assert_true(vqf_used_next(&f->r[1], &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(f->n->stats.tx_packets, 1);
}

static void test_tx_hostile(void **state)
{
	struct fx *f = *state;
	fx_up(f, FEAT_BASE);
	uint64_t p = vqf_alloc(&f->m, 200);
	/* Writable transmit buffer, header-only frame, loop, bad address. */
	vqf_desc(&f->r[1], 0, p, 200, VIRTQ_DESC_F_WRITE, 0);
	vqf_avail(&f->r[1], 0);
	vqf_desc(&f->r[1], 1, p, NET_HDR_LEN, 0, 0);
	vqf_avail(&f->r[1], 1);
	vqf_desc(&f->r[1], 2, p, 100, VIRTQ_DESC_F_NEXT, 2);
	vqf_avail(&f->r[1], 2);
	vqf_desc(&f->r[1], 3, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	vqf_avail(&f->r[1], 3);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_TXQ);
	uint8_t buf[512];
	assert_int_equal(recv(f->host, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(vqf_used_idx(&f->r[1]), 4);
	assert_int_equal(f->n->stats.tx_malformed, 4);
	assert_false(f->n->vdev.status & VIRTIO_STATUS_NEEDS_RESET);
	/* Corrupt avail index: device needs reset, nothing sent. */
	vqf_set_avail_idx(&f->r[1], 1000);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_TXQ);
	assert_true(f->n->vdev.status & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_tx_rate_limited(void **state)
{
	struct fx *f = *state;
	fx_up(f, FEAT_BASE);
	uint64_t p = vqf_alloc(&f->m, 100);
	vqf_desc(&f->r[1], 0, p, 100, 0, 0);
	vqf_avail(&f->r[1], 0);
	vqf_avail(&f->r[1], 0);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_TXQ);
	assert_int_equal(vqf_used_idx(&f->r[1]), 1);
	struct pollfd pf = { .fd = ratelimit_fd(&f->n->tx_rl), .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 2000), 1);
	net_tx_ratelimit_event(f->n);
	assert_int_equal(vqf_used_idx(&f->r[1]), 2);
	assert_true(f->n->stats.tx_throttled >= 1);
}

static void test_reset_stops_rx(void **state)
{
	struct fx *f = *state;
	fx_up(f, FEAT_BASE);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_STATUS, 0);
	fx_host_send(f, 64, 0x12);
	net_tap_event(f->n, EPOLLIN);
	assert_false(f->watching);
	assert_int_equal(vqf_used_idx(&f->r[0]), 0);
}

/* Make descriptor 0 of queue q available n times (n > the budget) and
 * kick: one budget's worth is served, then the device asks for a requeue. */
static void fx_flood(struct fx *f, unsigned q, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vqf_avail(&f->r[q], 0);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	assert_int_equal(vqf_used_idx(&f->r[q]), VIRTIO_QUEUE_BUDGET);
	assert_int_equal(f->requeued[q], 1);
}

/* A transmit ring kept full gets VIRTIO_QUEUE_BUDGET frames per wake-up,
 * then the device asks to be requeued. */
static void test_tx_budget_per_wakeup(void **state)
{
	struct fx *f = *state;
	const unsigned n = 2 * VIRTIO_QUEUE_BUDGET + 5;
	fx_up(f, FEAT_BASE);
	uint64_t p = vqf_alloc(&f->m, NET_HDR_LEN + 20);
	memset(vqf_ptr(&f->m, p), 0, NET_HDR_LEN + 20);
	vqf_desc(&f->r[1], 0, p, NET_HDR_LEN + 20, 0, 0);
	fx_flood(f, NET_TXQ, n);
	f->n->vdev.ops->notify(&f->n->vdev, NET_TXQ);
	assert_int_equal(vqf_used_idx(&f->r[1]), 2 * VIRTIO_QUEUE_BUDGET);
	assert_int_equal(f->requeued[NET_TXQ], 2);
	f->n->vdev.ops->notify(&f->n->vdev, NET_TXQ);
	assert_int_equal(vqf_used_idx(&f->r[1]), n);
	assert_int_equal(f->requeued[NET_TXQ], 2);
	assert_int_equal(f->requeued[NET_RXQ], 0);
	uint8_t buf[64];
	unsigned got = 0;
	while (recv(f->host, buf, sizeof(buf), 0) == NET_HDR_LEN + 20)
		got++;
	assert_int_equal(got + f->n->stats.tx_dropped, n);
}

/* The same for receive buffers, good or bad: a guest refilling its receive
 * ring with buffers the device must hand back, or a tap with more frames
 * than the budget. */
static void test_rx_budget_per_wakeup(void **state)
{
	struct fx *f = *state;
	const unsigned n = VIRTIO_QUEUE_BUDGET + 5;
	fx_up(f, FEAT_BASE);
	/* Device-readable: handed back empty. */
	vqf_desc(&f->r[0], 0, vqf_alloc(&f->m, 2048), 2048, 0, 0);
	fx_flood(f, NET_RXQ, n);
	f->n->vdev.ops->notify(&f->n->vdev, NET_RXQ);
	assert_int_equal(vqf_used_idx(&f->r[0]), n);
	assert_int_equal(f->requeued[NET_RXQ], 1);
	assert_int_equal(f->n->stats.rx_malformed, n);

	uint64_t b = vqf_alloc(&f->m, 2048);
	vqf_desc(&f->r[0], 1, b, 2048, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < n; i++) {
		vqf_avail(&f->r[0], 1);
		fx_host_send(f, 20, (uint8_t)i);
	}
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_RXQ);
	assert_int_equal(vqf_used_idx(&f->r[0]), n + VIRTIO_QUEUE_BUDGET);
	assert_int_equal(f->requeued[NET_RXQ], 2);
	assert_true(f->watching);      /* frames left: the tap stays watched */
	net_tap_event(f->n, EPOLLIN);
	assert_int_equal(vqf_used_idx(&f->r[0]), 2 * n);
	assert_int_equal(f->n->stats.rx_packets, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_and_features, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_mac, fx_setup_nomac, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rx_one_buffer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable_waits_for_room, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_buffers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rx_before_driver_ok, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tx, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tx_hostile, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tx_rate_limited, fx_setup_txrl, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reset_stops_rx, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tx_budget_per_wakeup, fx_setup_big, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rx_budget_per_wakeup, fx_setup_big, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
