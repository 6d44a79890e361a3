/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmio.h - virtio-mmio transport, version 2 only (virtio 1.2 section 4.2).
 *
 * One struct virtio_mmio per device: the driver-visible register file and
 * the device status state machine. Register accesses come from vCPU threads
 * through virtio_mmio_access() (a bus_handler). The transport does not know
 * the device type; it talks to it through dev->ops only.
 */
#ifndef EMBER_MMIO_H
#define EMBER_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#include "virtio/queue.h"
#include "virtio/virtio.h"

#define VIRTIO_MMIO_MAGIC   0x74726976u   /* "virt" */
#define VIRTIO_MMIO_VERSION 2u
#define VIRTIO_MMIO_VENDOR  0u

/* Register offsets (4.2.2). */
#define VIRTIO_MMIO_MAGIC_VALUE        0x000
#define VIRTIO_MMIO_VERSION_REG        0x004
#define VIRTIO_MMIO_DEVICE_ID          0x008
#define VIRTIO_MMIO_VENDOR_ID          0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES    0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES    0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL          0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX      0x034
#define VIRTIO_MMIO_QUEUE_NUM          0x038
#define VIRTIO_MMIO_QUEUE_READY        0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY       0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS   0x060
#define VIRTIO_MMIO_INTERRUPT_ACK      0x064
#define VIRTIO_MMIO_STATUS             0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW     0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH    0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW   0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH  0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW   0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH  0x0a4
#define VIRTIO_MMIO_SHM_SEL            0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW        0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH       0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW       0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH      0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION  0x0fc
#define VIRTIO_MMIO_CONFIG             0x100

/* Called when the driver writes QueueNotify for a valid queue that KVM's
 * ioeventfd did not catch (or in tests). Runs on the vCPU thread after the
 * device lock is released; the glue normally just signals the queue's eventfd. */
typedef void (*virtio_mmio_kick_fn)(void *opaque, unsigned queue);

struct virtio_mmio {
	struct virtio_dev *dev;
	virtio_mmio_kick_fn kick;
	void *opaque;
	/* Register selects, under dev->lock. */
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
};

/* Bind the transport to dev. irq(opaque) raises the device's interrupt line
 * (installed as dev->interrupt); kick as above (may be NULL). */
void virtio_mmio_init(struct virtio_mmio *m, struct virtio_dev *dev,
		      void (*irq)(void *opaque), virtio_mmio_kick_fn kick, void *opaque);

/* bus_handler: one register access at offset (len 1, 2, 4 or 8). Registers
 * below 0x100 take 32-bit accesses only (others read 0 / are ignored).
 * opaque is the struct virtio_mmio. */
void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* ---- snapshot (docs/snapshot.md, VIRTIO section) ---- */

#define VIRTIO_MMIO_STATE_QUEUES 2     /* the most queues of an ember device */

/* The transport's registers and the device-independent state behind them. */
struct virtio_mmio_state {
	uint32_t status;
	uint64_t driver_features;
	uint32_t config_generation;
	uint32_t isr;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	unsigned nqueues;
	struct virtq_state q[VIRTIO_MMIO_STATE_QUEUES];
};

/* Under the device lock. */
void virtio_mmio_save(struct virtio_mmio *m, struct virtio_mmio_state *st);
/* Take the state over (device lock taken): the queue count must be the
 * device's, each queue virtq_restore()s over the device's memory. The device
 * is not activated again (its own restore brings its part back). 0, or
 * -EINVAL with one line in err naming the queue; the device is then reset. */
int virtio_mmio_restore(struct virtio_mmio *m, const struct virtio_mmio_state *st, char *err,
			size_t errlen);

#endif
