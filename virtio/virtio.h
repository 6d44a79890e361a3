/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio.h - the contract between a virtio device model and its transport.
 *
 * A device (blk, net) embeds a struct virtio_dev and points it at a const
 * ops table. The transport (mmio.c) owns the driver-visible register state
 * (status, feature selects, queue registers) and calls the ops; it never
 * knows the device type, and nothing writes into an ops table.
 *
 * Threads and the lock: every field below `lock` is protected by it.
 * The transport calls features/config_read/config_write/activate/reset with
 * the lock held (vCPU threads). notify is called by the glue on the main
 * thread WITHOUT the lock; the device takes it while it works on its queues.
 * Nothing here includes KVM or the event loop: interrupts leave through the
 * `interrupt` callback the transport installs.
 */
#ifndef EMBER_VIRTIO_H
#define EMBER_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "src/guest_mem.h"

/* Device-independent feature bits (virtio 1.2 section 6). */
#define VIRTIO_F_INDIRECT_DESC   28
#define VIRTIO_F_EVENT_IDX       29
#define VIRTIO_F_VERSION_1       32

/* Device status bits (section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER      2u
#define VIRTIO_STATUS_DRIVER_OK   4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED      128u

/* Interrupt status bits (section 4.2.2, InterruptStatus). */
#define VIRTIO_ISR_VRING  1u
#define VIRTIO_ISR_CONFIG 2u

#define VIRTIO_ID_NET 1u
#define VIRTIO_ID_BLK 2u

#define VIRTIO_BIT(b) (1ULL << (b))

/* The longest name (drive_id, iface_id) a device keeps for its log lines;
 * a longer one is cut. The glue checks that every id fits. */
#define VIRTIO_DEV_NAME_MAX 64

/* Descriptor chains a device takes from one queue per wake-up. A guest that
 * refills its ring from another vCPU as fast as the device empties it would
 * otherwise keep the main thread (API, other devices, signals) in one
 * device's loop for good; at the budget the device stops and requeues. */
#define VIRTIO_QUEUE_BUDGET 64

struct virtio_dev;
struct virtq;

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	/* Feature bits the device offers. Lock held. */
	uint64_t (*features)(struct virtio_dev *dev);
	/* Copy len (1, 2, 4 or 8) bytes of device config space at offset into
	 * data; bytes past the end read as 0. Lock held. */
	void (*config_read)(struct virtio_dev *dev, uint32_t offset, uint8_t *data, uint32_t len);
	/* Driver write into config space. May be NULL (writes ignored). Lock held. */
	void (*config_write)(struct virtio_dev *dev, uint32_t offset, const uint8_t *data, uint32_t len);
	/* DRIVER_OK: features are final, every ready queue is validated and
	 * active. Return 0, or -errno to put the device in NEEDS_RESET. Lock held. */
	int (*activate)(struct virtio_dev *dev);
	/* The driver kicked queue q (main thread, lock NOT held). */
	void (*notify)(struct virtio_dev *dev, unsigned q);
	/* The driver reset the device: drop in-flight state. Queues are reset by
	 * the transport afterwards. Lock held. */
	void (*reset)(struct virtio_dev *dev);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct guest_mem *mem;
	struct virtq *queues;
	unsigned nqueues;

	pthread_mutex_t lock;
	uint32_t status;
	uint64_t driver_features;  /* what the driver wrote; final at FEATURES_OK */
	uint32_t config_generation;
	uint32_t isr;              /* atomic: updated by any thread */

	/* Installed by the transport: raise the device's interrupt line. May be
	 * called with the lock held, from any thread; must not block. */
	void (*interrupt)(void *opaque);
	void *interrupt_opaque;
	/* Installed by the glue: have the main loop call ops->notify(q) again
	 * once it has served its other ready fds. Called by a device that
	 * stopped a queue at VIRTIO_QUEUE_BUDGET, lock held; must not block.
	 * NULL: nothing comes back by itself (tests call notify). */
	void (*requeue)(void *opaque, unsigned q);
	void *requeue_opaque;
	/* The VM is paused (set by the glue, lock held): the device serves no
	 * queue; virtio_dev_running() is false. The glue looks at every queue
	 * again when it clears it. */
	bool paused;
};

/* Initialise the common part; queues[0..nqueues) get virtq_reset(qmax).
 * Returns 0 or -errno (mutex init). */
int virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops,
		    const struct guest_mem *mem, struct virtq *queues, unsigned nqueues,
		    uint16_t qmax);
void virtio_dev_destroy(struct virtio_dev *dev);

static inline bool virtio_dev_acked(const struct virtio_dev *dev, unsigned bit)
{
	return (dev->driver_features >> bit) & 1;
}

/* True after DRIVER_OK and before reset, and not NEEDS_RESET, not paused.
 * Lock held. */
bool virtio_dev_running(const struct virtio_dev *dev);

/* After adding used buffers to q and publishing them: interrupt the driver
 * unless it suppressed it (EVENT_IDX / NO_INTERRUPT). Lock held. */
void virtio_dev_signal_used(struct virtio_dev *dev, struct virtq *q);
/* Config space changed: bump ConfigGeneration and interrupt. Lock held. */
void virtio_dev_signal_config(struct virtio_dev *dev);
/* The device stopped queue q at its budget: come back to it (requeue). */
void virtio_dev_requeue(struct virtio_dev *dev, unsigned q);
/* Impossible ring state: set DEVICE_NEEDS_RESET and interrupt (section
 * 2.1.2). The device stops using its queues until reset. Lock held. */
void virtio_dev_needs_reset(struct virtio_dev *dev, const char *why);

#endif
