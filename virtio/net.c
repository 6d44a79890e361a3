// SPDX-License-Identifier: Apache-2.0
#include "virtio/net.h"
#include "virtio/tap.h"
#include "src/log.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Receive buffer space needed before reading a frame from the tap: a whole
 * GSO frame when the guest takes TSO/UFO, else one Ethernet frame (+VLAN). */
#define NET_RX_MAX_GSO   (NET_HDR_LEN + 65550)
#define NET_RX_MAX_PLAIN (NET_HDR_LEN + 1518)

static struct net_dev *to_net(struct virtio_dev *d)
{
	return (struct net_dev *)d;
}

static uint64_t net_features(struct virtio_dev *d)
{
	struct net_dev *n = to_net(d);
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
		     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
		     VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (n->has_mac)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MAC);
	return f;
}

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct net_dev *n = to_net(d);
	/* 5.1.4: u8 mac[6], le16 status (F_STATUS not offered), ... */
	uint8_t cfg[8] = { 0 };
	if (n->has_mac)
		memcpy(cfg, n->mac, 6);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < sizeof(cfg) ? cfg[off + i] : 0;
}

static unsigned net_offload_flags(struct virtio_dev *d)
{
	unsigned f = 0;
	/* The tap refuses TSO without checksum offload; so does the spec. */
	if (virtio_dev_acked(d, VIRTIO_NET_F_GUEST_CSUM)) {
		f |= TAP_OFFLOAD_CSUM;
		if (virtio_dev_acked(d, VIRTIO_NET_F_GUEST_TSO4))
			f |= TAP_OFFLOAD_TSO4;
		if (virtio_dev_acked(d, VIRTIO_NET_F_GUEST_TSO6))
			f |= TAP_OFFLOAD_TSO6;
		if (virtio_dev_acked(d, VIRTIO_NET_F_GUEST_UFO))
			f |= TAP_OFFLOAD_UFO;
	}
	return f;
}

static int net_activate(struct virtio_dev *d)
{
	struct net_dev *n = to_net(d);
	if (!n->vqs[NET_RXQ].active || !n->vqs[NET_TXQ].active)
		return -EINVAL;
	/* vCPU thread: the ioctl is done on the main thread (seccomp). */
	n->offload = net_offload_flags(d);
	n->offload_pending = true;
	return 0;
}

static void net_reset(struct virtio_dev *d)
{
	struct net_dev *n = to_net(d);
	n->offload = 0;
	n->offload_pending = true;
}

static void net_apply_offload(struct net_dev *n)
{
	if (!n->offload_pending)
		return;
	n->offload_pending = false;
	int r = tap_set_offload(n->tap, n->offload);
	if (r)
		log_ratelimited(LOG_WARN, "virtio-net %s: TUNSETOFFLOAD 0x%x: %s",
				n->name, n->offload, strerror(-r));
}

static void net_watch(struct net_dev *n, bool on)
{
	if (n->rx_watching == on)
		return;
	n->rx_watching = on;
	if (n->rx_watch)
		n->rx_watch(n->watch_opaque, on);
}

/* One wake-up of the receive path (lock held): the queue, what the driver
 * acked, and the buffers gathered for the next frame. */
struct net_rx {
	struct virtq *q;
	bool mrg;                /* VIRTIO_NET_F_MRG_RXBUF: a frame may span chains */
	uint64_t need;           /* buffer space the largest frame needs */
	unsigned popped;         /* chains taken in this wake-up, good or bad */
	bool added;              /* used entries to publish and signal at the end */
	/* The next frame's buffers: rx_chains[0..nch), rx_iov[0..niov). */
	unsigned nch, niov;
	uint64_t cap;            /* writable bytes in them */
	bool empty;              /* the ring ran out while gathering */
};

/* Receive buffer space needed before reading a frame from the tap. */
static uint64_t net_rx_need(const struct net_dev *n)
{
	bool gso = virtio_dev_acked(&n->vdev, VIRTIO_NET_F_GUEST_TSO4) ||
		   virtio_dev_acked(&n->vdev, VIRTIO_NET_F_GUEST_TSO6) ||
		   virtio_dev_acked(&n->vdev, VIRTIO_NET_F_GUEST_UFO);
	return gso ? NET_RX_MAX_GSO : NET_RX_MAX_PLAIN;
}

/* May another frame be taken now? Not past the budget (the queue is
 * requeued) nor while the rx limiter is empty (its timer resumes us). */
static bool net_rx_may_take(struct net_dev *n, const struct net_rx *rx)
{
	if (rx->popped >= VIRTIO_QUEUE_BUDGET) {
		virtio_dev_requeue(&n->vdev, NET_RXQ);
		return false;
	}
	if (!ratelimit_ready(&n->rx_rl)) {
		n->stats.rx_throttled++;
		net_watch(n, false);
		return false;
	}
	return true;
}

/* A malformed or wrong-direction chain first in line: hand it back empty. */
static void net_rx_bad_chain(struct net_dev *n, struct net_rx *rx, uint16_t head)
{
	n->stats.rx_malformed++;
	log_ratelimited(LOG_WARN, "virtio-net %s: bad receive buffer %u", n->name, head);
	virtq_add_used(rx->q, head, 0);
	rx->added = true;
}

/* Gather the next frame's buffers: one chain, or with MRG_RXBUF enough
 * chains to hold the largest frame (5.1.6.4). False: stop receiving (the
 * queue is corrupt, or the budget ran out on bad chains). */
static bool net_rx_gather(struct net_dev *n, struct net_rx *rx)
{
	struct virtq *q = rx->q;

	rx->nch = rx->niov = 0;
	rx->cap = 0;
	rx->empty = false;
	while (rx->cap < rx->need) {
		struct virtq_chain c;
		int r = virtq_pop(q, &c, n->rx_iov + rx->niov, VIRTQ_MAX_SIZE - rx->niov);
		if (r == 0) {
			rx->empty = true;
			break;
		}
		rx->popped++;
		if (r == -EIO) {
			virtio_dev_needs_reset(&n->vdev, "receive queue corrupt");
			virtq_unpop(q, rx->nch);
			return false;
		}
		if (r == -ENOBUFS && rx->nch) {
			virtq_unpop(q, 1);
			break;
		}
		if (r < 0 || c.nout || c.in_len < (rx->nch ? 1 : NET_HDR_LEN)) {
			/* A bad chain behind good ones ends the frame's buffers;
			 * it goes back with the unused tail. */
			if (rx->nch) {
				virtq_unpop(q, 1);
				break;
			}
			net_rx_bad_chain(n, rx, c.head);
			if (rx->popped >= VIRTIO_QUEUE_BUDGET) {
				virtio_dev_requeue(&n->vdev, NET_RXQ);
				return false;
			}
			continue;
		}
		n->rx_chains[rx->nch].head = c.head;
		n->rx_chains[rx->nch].cap = c.in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)c.in_len;
		rx->nch++;
		rx->niov += c.nin;
		rx->cap += c.in_len;
		if (!rx->mrg || rx->niov == VIRTQ_MAX_SIZE)
			break;
	}
	return true;
}

/* Is there room for a frame in the gathered buffers? If not, they go back
 * and the tap is left alone until the driver adds buffers: the pop asked
 * for that kick (EVENT_IDX). */
static bool net_rx_have_room(struct net_dev *n, struct net_rx *rx)
{
	/* With MRG_RXBUF, wait for a full frame's room while the ring can
	 * still give more. */
	bool short_of_room = rx->mrg && rx->cap < rx->need && rx->empty && rx->nch < rx->q->num;
	if (rx->nch && !short_of_room)
		return true;
	virtq_unpop(rx->q, rx->nch);
	n->stats.no_rx_buffers++;
	net_watch(n, false);
	return false;
}

enum net_rx_read { NET_RX_FRAME, NET_RX_AGAIN, NET_RX_STOP };

/* Read one frame from the tap into the gathered buffers. FRAME: *len
 * bytes, header included. AGAIN: nothing read (EINTR, a runt), buffers
 * given back, try again. STOP: the tap is empty (watch it) or failed. */
static enum net_rx_read net_rx_read(struct net_dev *n, struct net_rx *rx, size_t *len)
{
	ssize_t k = readv(n->tap, n->rx_iov, (int)rx->niov);
	if (k < 0) {
		int e = errno;
		virtq_unpop(rx->q, rx->nch);
		if (e == EINTR)
			return NET_RX_AGAIN;
		if (e == EAGAIN || e == EWOULDBLOCK) {
			net_watch(n, true);    /* wait for the next frame */
			return NET_RX_STOP;
		}
		n->stats.tap_read_fails++;
		log_ratelimited(LOG_ERROR, "virtio-net %s: tap read: %s", n->name, strerror(e));
		net_watch(n, false);
		return NET_RX_STOP;
	}
	if ((size_t)k < NET_HDR_LEN) {
		/* No frame (a tap never does this): give the buffers back. */
		virtq_unpop(rx->q, rx->nch);
		return NET_RX_AGAIN;
	}
	*len = (size_t)k;
	return NET_RX_FRAME;
}

/* Complete the chains a frame of len bytes filled, in order; give the
 * rest back; set num_buffers; count and charge it. */
static void net_rx_deliver(struct net_dev *n, struct net_rx *rx, size_t len)
{
	struct virtq *q = rx->q;
	uint64_t left = (uint64_t)len;
	unsigned used = 0;

	if ((uint64_t)len >= rx->cap && rx->cap < rx->need)
		n->stats.rx_truncated++;
	while (used < rx->nch && left) {
		uint32_t k = left < n->rx_chains[used].cap ? (uint32_t)left : n->rx_chains[used].cap;
		virtq_add_used(q, n->rx_chains[used].head, k);
		left -= k;
		used++;
	}
	virtq_unpop(q, rx->nch - used);
	/* virtio_net_hdr_v1.num_buffers (5.1.6.4.1; 1 without MRG_RXBUF). */
	uint16_t nb = htole16((uint16_t)used);
	iov_copy_to(n->rx_iov, rx->niov, 10, &nb, 2);
	rx->added = true;
	n->stats.rx_packets++;
	n->stats.rx_bytes += (uint64_t)len - NET_HDR_LEN;
	ratelimit_charge(&n->rx_rl, (uint64_t)len - NET_HDR_LEN, 1);
	virtq_publish_used(q);
}

/* Receive frames from the tap while the guest has buffers. Lock held. */
static void net_rx_locked(struct net_dev *n)
{
	struct net_rx rx = { .q = &n->vqs[NET_RXQ] };

	if (!virtio_dev_running(&n->vdev) || !rx.q->active || rx.q->broken) {
		net_watch(n, false);   /* a kick after DRIVER_OK turns it back on */
		return;
	}
	net_apply_offload(n);
	rx.mrg = virtio_dev_acked(&n->vdev, VIRTIO_NET_F_MRG_RXBUF);
	rx.need = net_rx_need(n);
	while (net_rx_may_take(n, &rx)) {
		if (!net_rx_gather(n, &rx) || !net_rx_have_room(n, &rx))
			break;
		size_t len;
		enum net_rx_read got = net_rx_read(n, &rx, &len);
		if (got == NET_RX_STOP)
			break;
		if (got == NET_RX_FRAME)
			net_rx_deliver(n, &rx, len);
	}
	if (rx.added) {
		virtq_publish_used(rx.q);
		virtio_dev_signal_used(&n->vdev, rx.q);
	}
}

/* Send every frame the guest queued. Lock held. */
static void net_tx_locked(struct net_dev *n)
{
	struct virtq *q = &n->vqs[NET_TXQ];
	bool added = false;

	if (!virtio_dev_running(&n->vdev) || !q->active || q->broken)
		return;
	net_apply_offload(n);
	for (unsigned served = 0;; served++) {
		if (served == VIRTIO_QUEUE_BUDGET) {
			virtio_dev_requeue(&n->vdev, NET_TXQ);
			break;
		}
		if (!ratelimit_ready(&n->tx_rl)) {
			n->stats.tx_throttled++;
			break;
		}
		struct virtq_chain c;
		int r = virtq_pop(q, &c, n->tx_iov, VIRTQ_MAX_SIZE);
		if (r == 0)
			break;
		if (r == -EIO) {
			virtio_dev_needs_reset(&n->vdev, "transmit queue corrupt");
			break;
		}
		if (r < 0 || c.nin || c.out_len <= NET_HDR_LEN || c.out_len > NET_RX_MAX_GSO) {
			/* 5.1.6.2: transmit buffers are device-readable only. */
			n->stats.tx_malformed++;
			log_ratelimited(LOG_WARN, "virtio-net %s: bad transmit chain %u", n->name, c.head);
		} else {
			ssize_t k;
			do
				k = writev(n->tap, n->tx_iov, (int)c.nout);
			while (k < 0 && errno == EINTR);
			if (k < 0) {
				n->stats.tx_dropped++;
				if (errno != EAGAIN)
					log_ratelimited(LOG_WARN, "virtio-net %s: tap write: %s",
							n->name, strerror(errno));
			} else {
				n->stats.tx_packets++;
				n->stats.tx_bytes += c.out_len - NET_HDR_LEN;
			}
			ratelimit_charge(&n->tx_rl, c.out_len - NET_HDR_LEN, 1);
		}
		virtq_add_used(q, c.head, 0);
		virtq_publish_used(q);
		added = true;
	}
	if (added)
		virtio_dev_signal_used(&n->vdev, q);
}

static void net_notify(struct virtio_dev *d, unsigned qi)
{
	struct net_dev *n = to_net(d);
	pthread_mutex_lock(&d->lock);
	if (qi == NET_RXQ) {
		n->stats.rx_queue_events++;
		/* New receive buffers: watch the tap again and take what waits. */
		if (virtio_dev_running(d))
			net_watch(n, true);
		net_rx_locked(n);
	} else if (qi == NET_TXQ) {
		n->stats.tx_queue_events++;
		net_tx_locked(n);
	}
	pthread_mutex_unlock(&d->lock);
}

static const struct virtio_dev_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.features = net_features,
	.config_read = net_config_read,
	.config_write = NULL,
	.activate = net_activate,
	.notify = net_notify,
	.reset = net_reset,
};

int net_create(const struct net_params *p, const struct guest_mem *mem,
	       void (*rx_watch)(void *opaque, bool on), void *opaque,
	       struct net_dev **out, char *err, size_t errlen)
{
	static const struct ratelimit_config none;
	struct net_dev *n = calloc(1, sizeof(*n));
	int r;
	if (!n) {
		snprintf(err, errlen, "network interface %s: out of memory", p->iface_id);
		return -ENOMEM;
	}
	r = ratelimit_init(&n->rx_rl, p->rx_rate_limiter ? p->rx_rate_limiter : &none);
	if (r)
		goto err_free;
	r = ratelimit_init(&n->tx_rl, p->tx_rate_limiter ? p->tx_rate_limiter : &none);
	if (r)
		goto err_rx;
	r = virtio_dev_init(&n->vdev, &net_ops, mem, n->vqs, 2, NET_QUEUE_SIZE);
	if (r)
		goto err_tx;
	n->tap = p->tap_fd;
	snprintf(n->name, sizeof(n->name), "%s", p->iface_id);
	n->has_mac = p->has_mac;
	memcpy(n->mac, p->mac, 6);
	n->rx_watch = rx_watch;
	n->watch_opaque = opaque;
	n->rx_watching = true;
	*out = n;
	return 0;
err_tx:
	ratelimit_destroy(&n->tx_rl);
err_rx:
	ratelimit_destroy(&n->rx_rl);
err_free:
	snprintf(err, errlen, "network interface %s: %s", p->iface_id, strerror(-r));
	free(n);
	return r;
}

void net_destroy(struct net_dev *n)
{
	if (!n)
		return;
	virtio_dev_destroy(&n->vdev);
	ratelimit_destroy(&n->rx_rl);
	ratelimit_destroy(&n->tx_rl);
	if (n->tap >= 0)
		close(n->tap);
	free(n);
}

void net_get_stats(struct net_dev *n, struct net_stats *out)
{
	pthread_mutex_lock(&n->vdev.lock);
	*out = n->stats;
	pthread_mutex_unlock(&n->vdev.lock);
}

void net_tap_event(struct net_dev *n, uint32_t events)
{
	pthread_mutex_lock(&n->vdev.lock);
	net_rx_locked(n);
	pthread_mutex_unlock(&n->vdev.lock);
}

void net_rx_ratelimit_event(struct net_dev *n)
{
	pthread_mutex_lock(&n->vdev.lock);
	ratelimit_timer_ack(&n->rx_rl);
	if (virtio_dev_running(&n->vdev))
		net_watch(n, true);
	net_rx_locked(n);
	pthread_mutex_unlock(&n->vdev.lock);
}

void net_tx_ratelimit_event(struct net_dev *n)
{
	pthread_mutex_lock(&n->vdev.lock);
	ratelimit_timer_ack(&n->tx_rl);
	net_tx_locked(n);
	pthread_mutex_unlock(&n->vdev.lock);
}

int net_update(struct net_dev *n, const struct ratelimit_config *rx,
	       const struct ratelimit_config *tx)
{
	pthread_mutex_lock(&n->vdev.lock);
	if (rx)
		ratelimit_update(&n->rx_rl, rx);
	if (tx)
		ratelimit_update(&n->tx_rl, tx);
	if (virtio_dev_running(&n->vdev))
		net_watch(n, true);
	net_rx_locked(n);
	net_tx_locked(n);
	pthread_mutex_unlock(&n->vdev.lock);
	return 0;
}

/* ---- snapshot ---- */

void net_save(struct net_dev *n, struct net_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&n->vdev.lock);
	st->has_mac = n->has_mac;
	memcpy(st->mac, n->mac, 6);
	st->offload = n->offload;
	st->rx_watching = n->rx_watching;
	ratelimit_save(&n->rx_rl, &st->rx_rl);
	ratelimit_save(&n->tx_rl, &st->tx_rl);
	pthread_mutex_unlock(&n->vdev.lock);
}

int net_restore(struct net_dev *n, const struct net_state *st, char *err, size_t errlen)
{
	int r = 0;
	pthread_mutex_lock(&n->vdev.lock);
	if (st->has_mac != n->has_mac || (n->has_mac && memcmp(st->mac, n->mac, 6) != 0)) {
		snprintf(err, errlen, "network interface %s: the MAC address differs from the "
			 "snapshot's", n->name);
		r = -EINVAL;
	} else {
		n->offload = st->offload & (TAP_OFFLOAD_CSUM | TAP_OFFLOAD_TSO4 | TAP_OFFLOAD_TSO6 |
					    TAP_OFFLOAD_UFO);
		n->offload_pending = true;
		ratelimit_restore(&n->rx_rl, &st->rx_rl);
		ratelimit_restore(&n->tx_rl, &st->tx_rl);
	}
	pthread_mutex_unlock(&n->vdev.lock);
	return r;
}
