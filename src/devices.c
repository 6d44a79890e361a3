// SPDX-License-Identifier: Apache-2.0
/*
 * devices.c - virtio devices <-> KVM and the event loop (see devices.h).
 *
 * Notification path: the guest writes QueueNotify; KVM matches the value
 * (datamatch = queue index) and signals that queue's eventfd without an
 * exit; the main loop calls ops->notify. Interrupt path: the device calls
 * dev->interrupt, which writes the device's irqfd; KVM pulses the GSI.
 *
 * Over 600 lines on purpose: every operation on the running devices (create,
 * PATCH updates, pause, snapshot save and restore, teardown) walks the same
 * private devices_entry with its fds, event-loop watches and timers; kept in
 * one file, that struct stays private and each operation's undo sits next to
 * the set-up it undoes.
 */
#include "src/devices.h"
#include "virtio/blk.h"
#include "src/layout.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/util.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

/* A device's log name and its metrics key hold its whole id. */
_Static_assert(CONFIG_ID_MAX <= VIRTIO_DEV_NAME_MAX, "ids fit the devices' names");
_Static_assert(CONFIG_ID_MAX <= METRICS_DEV_ID_MAX, "ids fit the metrics keys");

#define DEVICES_MAX_QUEUES 2
/* Fds a device adds to the loop: its queue eventfds, plus the blk limiter's
 * timer and Async engine's eventfd, or the tap and the net rx and tx
 * limiters' timers. */
#define DEVICES_MAX_WATCHED (DEVICES_MAX_QUEUES + 3)

enum devices_kind { DEVICES_BLK, DEVICES_NET };

struct devices_entry;

struct devices_queue {
	struct devices_entry *e;
	unsigned index;
	int efd;
	bool ioeventfd;             /* registered with KVM */
};

struct devices_entry {
	struct devices *owner;
	enum devices_kind kind;
	char id[CONFIG_ID_MAX + 1];
	struct blk_dev *blk;
	struct net_dev *net;
	struct virtio_dev *vdev;
	struct virtio_mmio mmio;
	uint64_t base;
	unsigned irq;
	int irqfd;
	bool irqfd_kvm;
	unsigned nq;
	struct devices_queue q[DEVICES_MAX_QUEUES];
	int watched[DEVICES_MAX_WATCHED];   /* fds added to the loop */
	unsigned nwatched;
	struct ratelimit_config rl[2];   /* current limiters: blk [0], net rx [0] tx [1] */
	bool metrics;                       /* registered with metrics_dev_add() */
};

struct devices {
	struct devices_env env;
	unsigned n;
	struct devices_entry *e[LAYOUT_MAX_VIRTIO_DEVS];
};

static void devices_signal(int fd)
{
	uint64_t one = 1;
	ssize_t r = write(fd, &one, sizeof(one));
	(void)r;    /* EAGAIN: the counter is already non-zero, the wakeup is pending */
}

static void devices_drain(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
}

/* dev->interrupt: any thread, maybe under the device lock. */
static void devices_irq(void *opaque)
{
	struct devices_entry *e = opaque;
	devices_signal(e->irqfd);
}

/* QueueNotify that KVM did not swallow (no ioeventfd), or a device that
 * stopped at its budget (requeue): hand it to the loop. */
static void devices_kick(void *opaque, unsigned q)
{
	struct devices_entry *e = opaque;
	if (q < e->nq)
		devices_signal(e->q[q].efd);
}

static void devices_queue_event(void *opaque, uint32_t events)
{
	struct devices_queue *q = opaque;
	devices_drain(q->efd);
	q->e->vdev->ops->notify(q->e->vdev, q->index);
}

static void devices_blk_timer(void *opaque, uint32_t events)
{
	struct devices_entry *e = opaque;
	blk_ratelimit_event(e->blk);
}

/* io_engine Async: the drive's I/O completions. */
static void devices_blk_io(void *opaque, uint32_t events)
{
	struct devices_entry *e = opaque;
	blk_io_event(e->blk);
}

static void devices_net_rx_timer(void *opaque, uint32_t events)
{
	struct devices_entry *e = opaque;
	net_rx_ratelimit_event(e->net);
}

static void devices_net_tx_timer(void *opaque, uint32_t events)
{
	struct devices_entry *e = opaque;
	net_tx_ratelimit_event(e->net);
}

static void devices_tap_event(void *opaque, uint32_t events)
{
	struct devices_entry *e = opaque;
	net_tap_event(e->net, events);
}

static void devices_rx_watch(void *opaque, bool on)
{
	struct devices_entry *e = opaque;
	int r = evloop_mod(e->owner->env.loop, e->net->tap, on ? EPOLLIN : 0);
	if (r)
		log_error("net %s: watching the tap: %s", e->id, strerror(-r));
}

/* metrics_dev_read_fn: a block device's counters under Firecracker's names. */
static void devices_blk_metrics(void *opaque, union metrics_dev_counters *out)
{
	struct devices_entry *e = opaque;
	struct blk_stats s;
	blk_get_stats(e->blk, &s);
	out->block = (struct metrics_block){
		.invalid_reqs_count = s.invalid_reqs,
		.queue_event_count = s.queue_events,
		.read_count = s.read_count,
		.read_bytes = s.read_bytes,
		.write_count = s.write_count,
		.write_bytes = s.write_bytes,
		.flush_count = s.flush_count,
		.io_errors = s.io_errors,
		.rate_limiter_throttled_events = s.throttled,
	};
}

/* metrics_dev_read_fn: a network device's counters under Firecracker's names. */
static void devices_net_metrics(void *opaque, union metrics_dev_counters *out)
{
	struct devices_entry *e = opaque;
	struct net_stats s;
	net_get_stats(e->net, &s);
	out->net = (struct metrics_net){
		.rx_queue_event_count = s.rx_queue_events,
		.rx_packets_count = s.rx_packets,
		.rx_bytes_count = s.rx_bytes,
		.rx_fails = s.rx_malformed,
		.tx_queue_event_count = s.tx_queue_events,
		.tx_packets_count = s.tx_packets,
		.tx_bytes_count = s.tx_bytes,
		.tx_fails = s.tx_malformed,
		.tap_read_fails = s.tap_read_fails,
		.tap_write_fails = s.tx_dropped,
		.rx_rate_limiter_throttled = s.rx_throttled,
		.tx_rate_limiter_throttled = s.tx_throttled,
	};
}

/* Report e's counters in the metrics lines from now on. */
static int devices_metrics_add(struct devices_entry *e, char *err, size_t errlen)
{
	int r = e->kind == DEVICES_BLK ?
		metrics_dev_add(METRICS_DEV_BLOCK, e->id, devices_blk_metrics, e) :
		metrics_dev_add(METRICS_DEV_NET, e->id, devices_net_metrics, e);
	if (r)
		return util_err(err, errlen, r, "%s: metrics: %s", e->id, strerror(-r));
	e->metrics = true;
	return 0;
}

static int devices_watch(struct devices_entry *e, int fd, uint32_t events, evloop_cb cb,
			 void *opaque, char *err, size_t errlen)
{
	if (e->nwatched >= DEVICES_MAX_WATCHED) {
		snprintf(err, errlen, "%s: more than %u fds to watch", e->id, DEVICES_MAX_WATCHED);
		return -ENOSPC;
	}
	int r = evloop_add(e->owner->env.loop, fd, events, cb, opaque);
	if (r) {
		snprintf(err, errlen, "%s: adding fd %d to the event loop: %s", e->id, fd,
			 strerror(-r));
		return r;
	}
	e->watched[e->nwatched++] = fd;
	return 0;
}

static void devices_entry_free(struct devices_entry *e)
{
	const struct devices_env *env = &e->owner->env;
	/* An Async drive's requests in flight complete while the interrupt
	 * wiring still exists; nothing lands in guest memory after this. */
	if (e->blk)
		blk_drain(e->blk);
	for (unsigned i = 0; i < e->nwatched; i++)
		evloop_del(env->loop, e->watched[i]);
	for (unsigned i = 0; i < e->nq; i++) {
		struct devices_queue *q = &e->q[i];
		if (q->ioeventfd) {
			struct kvm_ioeventfd io = {
				.datamatch = i, .addr = e->base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4,
				.fd = q->efd,
				.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN,
			};
			ioctl(env->vm_fd, KVM_IOEVENTFD, &io);
		}
		if (q->efd >= 0)
			close(q->efd);
	}
	if (e->irqfd_kvm) {
		struct kvm_irqfd irqfd = { .fd = (uint32_t)e->irqfd, .gsi = e->irq,
					   .flags = KVM_IRQFD_FLAG_DEASSIGN };
		ioctl(env->vm_fd, KVM_IRQFD, &irqfd);
	}
	if (e->irqfd >= 0)
		close(e->irqfd);
	if (e->metrics)
		metrics_dev_remove(e);
	blk_destroy(e->blk);
	net_destroy(e->net);
	free(e);
}

/* Transport, bus range, eventfds and KVM wiring common to all devices. */
static int devices_attach(struct devices_entry *e, char *err, size_t errlen)
{
	const struct devices_env *env = &e->owner->env;
	int r;

	e->nq = e->vdev->nqueues;
	e->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->irqfd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: eventfd: %s", e->id, strerror(errno));
		return r;
	}
	if (env->vm_fd >= 0) {
		struct kvm_irqfd irqfd = { .fd = (uint32_t)e->irqfd, .gsi = e->irq };
		if (ioctl(env->vm_fd, KVM_IRQFD, &irqfd) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: KVM_IRQFD gsi %u: %s", e->id, e->irq, strerror(errno));
			return r;
		}
		e->irqfd_kvm = true;
	}
	for (unsigned i = 0; i < e->nq; i++) {
		struct devices_queue *q = &e->q[i];
		q->e = e;
		q->index = i;
		q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->efd < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: eventfd: %s", e->id, strerror(errno));
			return r;
		}
		if (env->vm_fd >= 0) {
			struct kvm_ioeventfd io = {
				.datamatch = i, .addr = e->base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4,
				.fd = q->efd, .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
			};
			if (ioctl(env->vm_fd, KVM_IOEVENTFD, &io) < 0) {
				r = -errno;
				snprintf(err, errlen, "%s: KVM_IOEVENTFD 0x%llx queue %u: %s", e->id,
					 (unsigned long long)io.addr, i, strerror(errno));
				return r;
			}
			q->ioeventfd = true;
		}
		r = devices_watch(e, q->efd, EPOLLIN, devices_queue_event, q, err, errlen);
		if (r)
			return r;
	}
	virtio_mmio_init(&e->mmio, e->vdev, devices_irq, devices_kick, e);
	/* A device at its per-wake-up budget: the queue's eventfd brings the
	 * loop back to it after the other ready fds. */
	e->vdev->requeue = devices_kick;
	e->vdev->requeue_opaque = e;
	r = bus_register(env->mmio_bus, e->base, LAYOUT_VIRTIO_MMIO_SIZE, virtio_mmio_access,
			 &e->mmio);
	if (r) {
		snprintf(err, errlen, "%s: MMIO range 0x%llx: %s", e->id,
			 (unsigned long long)e->base, strerror(-r));
		return r;
	}
	return 0;
}

static struct devices_entry *devices_entry_new(struct devices *d, const char *id)
{
	struct devices_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->owner = d;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->base = LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)d->n * LAYOUT_VIRTIO_MMIO_SIZE;
	e->irq = LAYOUT_VIRTIO_IRQ_BASE + d->n;
	e->irqfd = -1;
	for (unsigned i = 0; i < DEVICES_MAX_QUEUES; i++)
		e->q[i].efd = -1;
	return e;
}

/* A new entry for device `id` plus its own copy of the config's fd (the
 * config keeps and closes the original). `what` names the device kind and
 * `file` the backing file or tap in error lines. */
static int devices_entry_open(struct devices *d, const char *what, const char *id, int cfg_fd,
			      const char *file, struct devices_entry **out, int *fd_out,
			      char *err, size_t errlen)
{
	struct devices_entry *e = devices_entry_new(d, id);
	if (!e) {
		snprintf(err, errlen, "%s %s: out of memory", what, id);
		return -ENOMEM;
	}
	if (cfg_fd < 0) {
		snprintf(err, errlen, "%s %s: %s is not open", what, id, file);
		free(e);
		return -EBADF;
	}
	int fd = fcntl(cfg_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		int r = -errno;
		snprintf(err, errlen, "%s %s: dup: %s", what, id, strerror(errno));
		free(e);
		return r;
	}
	*out = e;
	*fd_out = fd;
	return 0;
}

static int devices_add_drive(struct devices *d, const struct config_drive *c, char *err,
			     size_t errlen)
{
	struct devices_entry *e;
	int fd;
	int r = devices_entry_open(d, "drive", c->drive_id, c->fd, c->path_on_host, &e, &fd,
				   err, errlen);
	if (r)
		return r;
	struct blk_params p = {
		.drive_id = c->drive_id, .fd = fd, .read_only = c->is_read_only,
		.writeback = c->cache_type == CONFIG_CACHE_WRITEBACK,
		.rate_limiter = &c->rate_limiter, .async = c->io_engine == CONFIG_IO_ASYNC,
	};
	r = blk_create(&p, d->env.mem, &e->blk, err, errlen);
	if (r) {
		close(fd);
		free(e);
		return r;
	}
	e->kind = DEVICES_BLK;
	e->vdev = &e->blk->vdev;
	e->rl[0] = c->rate_limiter;
	d->e[d->n++] = e;
	r = devices_attach(e, err, errlen);
	if (r == 0)
		r = devices_watch(e, ratelimit_fd(&e->blk->rl), EPOLLIN, devices_blk_timer, e,
				  err, errlen);
	if (r == 0 && blk_io_fd(e->blk) >= 0)
		r = devices_watch(e, blk_io_fd(e->blk), EPOLLIN, devices_blk_io, e, err, errlen);
	if (r == 0)
		r = devices_metrics_add(e, err, errlen);
	return r;
}

static int devices_add_net(struct devices *d, const struct config_net *c, char *err,
			   size_t errlen)
{
	struct devices_entry *e;
	int fd;
	int r = devices_entry_open(d, "network interface", c->iface_id, c->tap_fd,
				   c->host_dev_name, &e, &fd, err, errlen);
	if (r)
		return r;
	/* virtio 1.x headers are 12 bytes (num_buffers always present). */
	r = tap_set_vnet_hdr_len(fd, NET_HDR_LEN);
	if (r) {
		snprintf(err, errlen, "network interface %s: tap %s: TUNSETVNETHDRSZ: %s",
			 c->iface_id, c->host_dev_name, strerror(-r));
		close(fd);
		free(e);
		return r;
	}
	struct net_params p = {
		.iface_id = c->iface_id, .tap_fd = fd, .has_mac = c->has_guest_mac,
		.rx_rate_limiter = &c->rx_rate_limiter, .tx_rate_limiter = &c->tx_rate_limiter,
	};
	memcpy(p.mac, c->guest_mac, 6);
	r = net_create(&p, d->env.mem, devices_rx_watch, e, &e->net, err, errlen);
	if (r) {
		close(fd);
		free(e);
		return r;
	}
	e->kind = DEVICES_NET;
	e->vdev = &e->net->vdev;
	e->rl[0] = c->rx_rate_limiter;
	e->rl[1] = c->tx_rate_limiter;
	d->e[d->n++] = e;
	r = devices_attach(e, err, errlen);
	if (r == 0)
		r = devices_watch(e, fd, EPOLLIN, devices_tap_event, e, err, errlen);
	if (r == 0)
		r = devices_watch(e, ratelimit_fd(&e->net->rx_rl), EPOLLIN, devices_net_rx_timer,
				  e, err, errlen);
	if (r == 0)
		r = devices_watch(e, ratelimit_fd(&e->net->tx_rl), EPOLLIN, devices_net_tx_timer,
				  e, err, errlen);
	if (r == 0)
		r = devices_metrics_add(e, err, errlen);
	return r;
}

/* Insert `add` before " -- " (init arguments) or at the end. */
static int devices_cmdline_add(char *cmdline, size_t size, const char *add, char *err,
			       size_t errlen)
{
	size_t len = strlen(cmdline), alen = strlen(add);
	if (len + alen + 1 > size) {
		snprintf(err, errlen, "kernel command line too long (limit %zu bytes) to add '%s'",
			 size - 1, add);
		return -E2BIG;
	}
	char *at = strstr(cmdline, " -- ");
	if (!at && len >= 3 && strcmp(cmdline + len - 3, " --") == 0)
		at = cmdline + len - 3;
	if (!at && strncmp(cmdline, "-- ", 3) == 0)
		at = cmdline;
	if (!at)
		at = cmdline + len;
	memmove(at + alen, at, strlen(at) + 1);
	memcpy(at, add, alen);
	if (at == cmdline && add[0] == ' ')
		memmove(cmdline, cmdline + 1, len + alen);   /* no leading blank */
	return 0;
}

int devices_create(const struct vm_config *cfg, const struct devices_env *env, char *cmdline,
		   size_t cmdline_size, struct devices **out, char *err, size_t errlen)
{
	const struct config_drive *order[CONFIG_MAX_DRIVES];
	unsigned nd = 0;
	char buf[PATH_MAX + 64];
	int r;

	if (cfg->ndrives + cfg->nnets > LAYOUT_MAX_VIRTIO_DEVS) {
		snprintf(err, errlen, "too many devices: %u drives + %u network interfaces > %u",
			 cfg->ndrives, cfg->nnets, LAYOUT_MAX_VIRTIO_DEVS);
		return -ENOSPC;
	}
	struct devices *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "devices: out of memory");
		return -ENOMEM;
	}
	d->env = *env;
	/* The root drive is /dev/vda: device 0. */
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (cfg->drives[i].is_root_device)
			order[nd++] = &cfg->drives[i];
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (!cfg->drives[i].is_root_device)
			order[nd++] = &cfg->drives[i];

	for (unsigned i = 0; i < nd; i++) {
		const struct config_drive *c = order[i];
		unsigned n = d->n;
		r = devices_add_drive(d, c, err, errlen);
		if (r)
			goto err;
		if (c->is_root_device) {
			if (c->partuuid[0])
				snprintf(buf, sizeof(buf), " root=PARTUUID=%s %s", c->partuuid,
					 c->is_read_only ? "ro" : "rw");
			else
				snprintf(buf, sizeof(buf), " root=/dev/vda %s",
					 c->is_read_only ? "ro" : "rw");
			r = devices_cmdline_add(cmdline, cmdline_size, buf, err, errlen);
			if (r)
				goto err;
		}
		snprintf(buf, sizeof(buf), " virtio_mmio.device=4K@0x%llx:%u",
			 (unsigned long long)d->e[n]->base, d->e[n]->irq);
		r = devices_cmdline_add(cmdline, cmdline_size, buf, err, errlen);
		if (r)
			goto err;
	}
	for (unsigned i = 0; i < cfg->nnets; i++) {
		unsigned n = d->n;
		r = devices_add_net(d, &cfg->nets[i], err, errlen);
		if (r)
			goto err;
		snprintf(buf, sizeof(buf), " virtio_mmio.device=4K@0x%llx:%u",
			 (unsigned long long)d->e[n]->base, d->e[n]->irq);
		r = devices_cmdline_add(cmdline, cmdline_size, buf, err, errlen);
		if (r)
			goto err;
	}
	*out = d;
	return 0;
err:
	devices_destroy(d);
	return r;
}

unsigned devices_count(const struct devices *d)
{
	return d->n;
}

struct devices_place devices_place(const struct devices *d, unsigned i)
{
	const struct devices_entry *e = d->e[i];
	return (struct devices_place){
		.addr = e->base, .len = LAYOUT_VIRTIO_MMIO_SIZE, .gsi = e->irq,
	};
}

static bool devices_bucket_eq(const struct ratelimit_bucket_config *a,
			      const struct ratelimit_bucket_config *b)
{
	if (!a->set || !b->set)
		return a->set == b->set;
	return a->size == b->size && a->one_time_burst == b->one_time_burst &&
	       a->refill_time_ms == b->refill_time_ms;
}

static bool devices_rl_eq(const struct ratelimit_config *a, const struct ratelimit_config *b)
{
	return devices_bucket_eq(&a->bandwidth, &b->bandwidth) && devices_bucket_eq(&a->ops, &b->ops);
}

static struct devices_entry *devices_find(struct devices *d, enum devices_kind kind, const char *id)
{
	for (unsigned i = 0; i < d->n; i++)
		if (d->e[i]->kind == kind && strcmp(d->e[i]->id, id) == 0)
			return d->e[i];
	return NULL;
}

int devices_update_drive(struct devices *d, const struct config_drive *drive, char *err,
			 size_t errlen)
{
	struct devices_entry *e = d ? devices_find(d, DEVICES_BLK, drive->drive_id) : NULL;
	int fd = -1, r;
	if (!e) {
		snprintf(err, errlen, "drive %s: no such block device in the running microVM",
			 drive->drive_id);
		return -ENOENT;
	}
	if (drive->fd >= 0) {
		fd = fcntl(drive->fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			r = -errno;
			snprintf(err, errlen, "drive %s: dup: %s", drive->drive_id, strerror(errno));
			return r;
		}
	}
	bool new_rl = !devices_rl_eq(&e->rl[0], &drive->rate_limiter);
	r = blk_update(e->blk, fd, new_rl ? &drive->rate_limiter : NULL, err, errlen);
	if (r) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	e->rl[0] = drive->rate_limiter;
	return 0;
}

int devices_update_net(struct devices *d, const struct config_net *net, char *err,
		       size_t errlen)
{
	struct devices_entry *e = d ? devices_find(d, DEVICES_NET, net->iface_id) : NULL;
	if (!e) {
		snprintf(err, errlen, "network interface %s: no such device in the running microVM",
			 net->iface_id);
		return -ENOENT;
	}
	bool rx = !devices_rl_eq(&e->rl[0], &net->rx_rate_limiter);
	bool tx = !devices_rl_eq(&e->rl[1], &net->tx_rate_limiter);
	net_update(e->net, rx ? &net->rx_rate_limiter : NULL, tx ? &net->tx_rate_limiter : NULL);
	e->rl[0] = net->rx_rate_limiter;
	e->rl[1] = net->tx_rate_limiter;
	return 0;
}

void devices_destroy(struct devices *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->n; i++)
		devices_entry_free(d->e[i]);
	free(d);
}

/* ---- pause and resume ---- */

void devices_pause(struct devices *d, bool serve)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->n; i++) {
		struct devices_entry *e = d->e[i];
		for (unsigned q = 0; serve && q < e->nq; q++) {
			devices_drain(e->q[q].efd);
			e->vdev->ops->notify(e->vdev, q);
		}
		/* io_engine Async: what the kick queued to io_uring completes
		 * now, before the device stops (blk_quiesce logs a failure;
		 * a snapshot then refuses, devices_io_idle). */
		if (serve && e->kind == DEVICES_BLK)
			blk_quiesce(e->blk);
		pthread_mutex_lock(&e->vdev->lock);
		e->vdev->paused = true;
		pthread_mutex_unlock(&e->vdev->lock);
	}
}

int devices_io_idle(struct devices *d, char *err, size_t errlen)
{
	for (unsigned i = 0; d && i < d->n; i++) {
		struct devices_entry *e = d->e[i];
		int r = e->kind == DEVICES_BLK ? blk_drain(e->blk) : 0;
		if (r < 0)
			return util_err(err, errlen, r, "drive %s: requests still in flight (io_engine "
					"Async): %s", e->id, strerror(-r));
	}
	return 0;
}

void devices_resume(struct devices *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->n; i++) {
		struct devices_entry *e = d->e[i];
		pthread_mutex_lock(&e->vdev->lock);
		e->vdev->paused = false;
		pthread_mutex_unlock(&e->vdev->lock);
		for (unsigned q = 0; q < e->nq; q++)
			devices_kick(e, q);
	}
}

/* ---- snapshot ---- */

void devices_save(struct devices *d, unsigned i, struct devices_state *st)
{
	struct devices_entry *e = d->e[i];
	memset(st, 0, sizeof(*st));
	st->type = e->vdev->ops->device_id;
	snprintf(st->id, sizeof(st->id), "%s", e->id);
	virtio_mmio_save(&e->mmio, &st->mmio);
	if (e->kind == DEVICES_BLK)
		blk_save(e->blk, &st->u.blk);
	else
		net_save(e->net, &st->u.net);
}

int devices_restore(struct devices *d, const struct devices_state *st, unsigned n, char *err,
		    size_t errlen)
{
	char why[256];
	if (n != d->n) {
		snprintf(err, errlen, "%u virtio devices in the snapshot, %u configured", n, d->n);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		struct devices_entry *e = d->e[i];
		const char *what = e->kind == DEVICES_BLK ? "drive" : "network interface";
		int r = 0;
		if (st[i].type != e->vdev->ops->device_id || strcmp(st[i].id, e->id) != 0) {
			snprintf(why, sizeof(why), "the snapshot has device type %u '%s' here",
				 st[i].type, st[i].id);
			r = -EINVAL;
		}
		if (r == 0)
			r = e->kind == DEVICES_BLK ? blk_restore(e->blk, &st[i].u.blk, why, sizeof(why))
						   : net_restore(e->net, &st[i].u.net, why, sizeof(why));
		if (r == 0)
			r = virtio_mmio_restore(&e->mmio, &st[i].mmio, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "virtio device %u (%s %s): %s", i, what, e->id, why);
			return r;
		}
	}
	return 0;
}

void devices_signal_restored(struct devices *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->n; i++)
		if (__atomic_load_n(&d->e[i]->vdev->isr, __ATOMIC_SEQ_CST))
			devices_signal(d->e[i]->irqfd);
}
