// SPDX-License-Identifier: Apache-2.0
#include "virtio/net.h"
#include "virtio/tap.h"
#include "src/log.h"
#include "src/metrics.h"

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

/* Receive frames from the tap while the guest has buffers. Lock held. */
static void net_rx_locked(struct net_dev *n)
{
	struct virtq *q = &n->vqs[NET_RXQ];
	bool added = false;
	bool mrg = virtio_dev_acked(&n->vdev, VIRTIO_NET_F_MRG_RXBUF);
	bool gso = virtio_dev_acked(&n->vdev, VIRTIO_NET_F_GUEST_TSO4) ||
		   virtio_dev_acked(&n->vdev, VIRTIO_NET_F_GUEST_TSO6) ||
		   virtio_dev_acked(&n->vdev, VIRTIO_NET_F_GUEST_UFO);
	uint64_t need = gso ? NET_RX_MAX_GSO : NET_RX_MAX_PLAIN;

	if (!virtio_dev_running(&n->vdev) || !q->active || q->broken) {
		net_watch(n, false);   /* a kick after DRIVER_OK turns it back on */
		return;
	}
	net_apply_offload(n);
	unsigned popped = 0;           /* chains taken, good or bad */
	for (;;) {
		if (popped >= VIRTIO_QUEUE_BUDGET) {
			virtio_dev_requeue(&n->vdev, NET_RXQ);
			break;
		}
		if (!ratelimit_ready(&n->rx_rl)) {
			n->stats.rx_throttled++;
			metrics_inc(&metrics.net.rx_rate_limiter_throttled);
			net_watch(n, false);   /* the limiter's timer resumes us */
			break;
		}
		/* Gather buffers: one chain, or with MRG_RXBUF enough chains to
		 * hold the largest frame (5.1.6.4). */
		unsigned nch = 0, niov = 0;
		uint64_t cap = 0;
		bool empty = false;
		while (cap < need) {
			struct virtq_chain c;
			int r = virtq_pop(q, &c, n->rx_iov + niov, VIRTQ_MAX_SIZE - niov);
			if (r == 0) {
				empty = true;
				break;
			}
			popped++;
			if (r == -EIO) {
				virtio_dev_needs_reset(&n->vdev, "receive queue corrupt");
				virtq_unpop(q, nch);
				goto out;
			}
			if (r == -ENOBUFS && nch) {
				virtq_unpop(q, 1);
				break;
			}
			if (r < 0 || c.nout || c.in_len < (nch ? 1 : NET_HDR_LEN)) {
				/* Malformed or wrong-direction buffer: hand it back
				 * empty, but only when it is first in line (the
				 * unused tail is given back by unpop below). */
				if (nch) {
					virtq_unpop(q, 1);
					break;
				}
				n->stats.rx_malformed++;
				metrics_inc(&metrics.net.rx_fails);
				log_ratelimited(LOG_WARN, "virtio-net %s: bad receive buffer %u",
						n->name, c.head);
				virtq_add_used(q, c.head, 0);
				added = true;
				if (popped >= VIRTIO_QUEUE_BUDGET) {
					virtio_dev_requeue(&n->vdev, NET_RXQ);
					goto out;
				}
				continue;
			}
			n->rx_chains[nch].head = c.head;
			n->rx_chains[nch].cap = c.in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)c.in_len;
			nch++;
			niov += c.nin;
			cap += c.in_len;
			if (!mrg || niov == VIRTQ_MAX_SIZE)
				break;
		}
		if (nch == 0) {
			/* No buffers: the pop above asked for a kick (EVENT_IDX). */
			n->stats.no_rx_buffers++;
			net_watch(n, false);
			break;
		}
		if (mrg && cap < need && empty && nch < q->num) {
			/* Not enough room for a full frame yet: wait for the
			 * driver to add more (avail_event already asks for it). */
			virtq_unpop(q, nch);
			n->stats.no_rx_buffers++;
			net_watch(n, false);
			break;
		}
		ssize_t len = readv(n->tap, n->rx_iov, (int)niov);
		if (len < 0) {
			int e = errno;
			virtq_unpop(q, nch);
			if (e == EINTR)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK) {
				net_watch(n, true);    /* wait for the next frame */
				break;
			}
			metrics_inc(&metrics.net.tap_read_fails);
			log_ratelimited(LOG_ERROR, "virtio-net %s: tap read: %s", n->name, strerror(e));
			net_watch(n, false);
			break;
		}
		if ((size_t)len < NET_HDR_LEN) {
			/* No frame (a tap never does this): give the buffers back. */
			virtq_unpop(q, nch);
			continue;
		}
		if ((uint64_t)len >= cap && cap < need)
			n->stats.rx_truncated++;
		/* Split the frame over the chains in order; count them. */
		uint64_t left = (uint64_t)len;
		unsigned used = 0;
		while (used < nch && left) {
			uint32_t k = left < n->rx_chains[used].cap ? (uint32_t)left : n->rx_chains[used].cap;
			virtq_add_used(q, n->rx_chains[used].head, k);
			left -= k;
			used++;
		}
		virtq_unpop(q, nch - used);
		/* virtio_net_hdr_v1.num_buffers (5.1.6.4.1; 1 without MRG_RXBUF). */
		uint16_t nb = htole16((uint16_t)used);
		iov_copy_to(n->rx_iov, niov, 10, &nb, 2);
		added = true;
		n->stats.rx_packets++;
		metrics_inc(&metrics.net.rx_packets_count);
		metrics_add(&metrics.net.rx_bytes_count, (uint64_t)len - NET_HDR_LEN);
		n->stats.rx_bytes += (uint64_t)len - NET_HDR_LEN;
		ratelimit_charge(&n->rx_rl, (uint64_t)len - NET_HDR_LEN, 1);
		virtq_publish_used(q);
	}
out:
	if (added) {
		virtq_publish_used(q);
		virtio_dev_signal_used(&n->vdev, q);
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
			metrics_inc(&metrics.net.tx_rate_limiter_throttled);
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
			metrics_inc(&metrics.net.tx_fails);
			log_ratelimited(LOG_WARN, "virtio-net %s: bad transmit chain %u", n->name, c.head);
		} else {
			ssize_t k;
			do
				k = writev(n->tap, n->tx_iov, (int)c.nout);
			while (k < 0 && errno == EINTR);
			if (k < 0) {
				n->stats.tx_dropped++;
				metrics_inc(&metrics.net.tap_write_fails);
				if (errno != EAGAIN)
					log_ratelimited(LOG_WARN, "virtio-net %s: tap write: %s",
							n->name, strerror(errno));
			} else {
				n->stats.tx_packets++;
				metrics_inc(&metrics.net.tx_packets_count);
				metrics_add(&metrics.net.tx_bytes_count, c.out_len - NET_HDR_LEN);
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
		metrics_inc(&metrics.net.rx_queue_event_count);
		/* New receive buffers: watch the tap again and take what waits. */
		if (virtio_dev_running(d))
			net_watch(n, true);
		net_rx_locked(n);
	} else if (qi == NET_TXQ) {
		metrics_inc(&metrics.net.tx_queue_event_count);
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
	static const struct config_rate_limiter none;
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

int net_update(struct net_dev *n, const struct config_rate_limiter *rx,
	       const struct config_rate_limiter *tx)
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
