/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.h - virtio-net (virtio 1.2 section 5.1) over a tap fd.
 *
 * Queues: 0 = receive, 1 = transmit, 256 entries each. Frames carry the
 * 12-byte virtio_net_hdr_v1 straight through to/from the tap
 * (IFF_VNET_HDR, header length 12), read and written with readv/writev
 * directly on guest memory. Offloads the driver acks are applied with
 * TUNSETOFFLOAD. Receive is driven by the tap's readiness: the device asks
 * the glue to stop watching the tap (rx_watch(false)) when the guest has no
 * receive buffers or the rx limiter is empty, and to watch again when the
 * guest kicks the receive queue or the limiter refills. All entry points
 * below run on the main thread.
 */
#ifndef EMBER_NET_H
#define EMBER_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/queue.h"
#include "virtio/ratelimit.h"
#include "virtio/virtio.h"

#define NET_QUEUE_SIZE 256
#define NET_RXQ 0
#define NET_TXQ 1
#define NET_HDR_LEN 12               /* struct virtio_net_hdr_v1 */

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_UFO  10
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_HOST_UFO   14
#define VIRTIO_NET_F_MRG_RXBUF  15

struct net_params {
	const char *iface_id;
	int tap_fd;                  /* owned by the device on success */
	bool has_mac;
	uint8_t mac[6];
	const struct ratelimit_config *rx_rate_limiter;  /* NULL = none */
	const struct ratelimit_config *tx_rate_limiter;
};

struct net_stats {                    /* under the device lock; only grow */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;   /* bytes: without the header */
	uint64_t rx_truncated, tx_dropped, tx_malformed, rx_malformed;
	uint64_t rx_throttled, tx_throttled, no_rx_buffers;
	uint64_t rx_queue_events, tx_queue_events;   /* ops->notify calls per queue */
	uint64_t tap_read_fails;             /* tap reads that failed (not EAGAIN) */
};

struct net_rx_chain {
	uint16_t head;
	uint32_t cap;                /* writable bytes */
};

struct net_dev {
	struct virtio_dev vdev;      /* first: ops receive &vdev */
	struct virtq vqs[2];
	int tap;
	char name[VIRTIO_DEV_NAME_MAX + 1];
	bool has_mac;
	uint8_t mac[6];
	struct ratelimit rx_rl, tx_rl;
	bool offload_pending;        /* set on the vCPU thread, applied on main */
	unsigned offload;
	bool rx_watching;
	void (*rx_watch)(void *opaque, bool on);
	void *watch_opaque;
	struct net_stats stats;
	struct iovec rx_iov[VIRTQ_MAX_SIZE];
	struct net_rx_chain rx_chains[VIRTQ_MAX_SIZE];
	struct iovec tx_iov[VIRTQ_MAX_SIZE];
};

/* Build a device over p->tap_fd (whose vnet header length must already be
 * NET_HDR_LEN: the glue sets it with tap_set_vnet_hdr_len). rx_watch(opaque, on) asks the glue to (un)watch the
 * tap fd for EPOLLIN; the device assumes it starts watched. Returns 0 or
 * -errno with one line in err; on error p->tap_fd is NOT closed. */
int net_create(const struct net_params *p, const struct guest_mem *mem,
	       void (*rx_watch)(void *opaque, bool on), void *opaque,
	       struct net_dev **out, char *err, size_t errlen);
void net_destroy(struct net_dev *n);

/* A copy of the counters, taken under the device lock (any thread). */
void net_get_stats(struct net_dev *n, struct net_stats *out);

/* The tap fd is readable (or errored). */
void net_tap_event(struct net_dev *n, uint32_t events);
/* A limiter's timerfd fired: drain it and resume that direction. */
void net_rx_ratelimit_event(struct net_dev *n);
void net_tx_ratelimit_event(struct net_dev *n);
/* PATCH /network-interfaces: replace limiters (NULL = keep). Returns 0. */
int net_update(struct net_dev *n, const struct ratelimit_config *rx,
	       const struct ratelimit_config *tx);

/* ---- snapshot (docs/snapshot.md, VIRTIO section) ---- */

struct net_state {
	bool has_mac;
	uint8_t mac[6];
	unsigned offload;            /* TAP_OFFLOAD_* the driver's features asked for */
	bool rx_watching;
	struct ratelimit_state rx_rl, tx_rl;
};

void net_save(struct net_dev *n, struct net_state *st);
/* Rebuilt from the same interface config (maybe on another tap): the MAC
 * must be the snapshot's (-EINVAL with err otherwise); the offloads are set
 * on the tap at the next queue event, the limiters' buckets come back. */
int net_restore(struct net_dev *n, const struct net_state *st, char *err, size_t errlen);

#endif
