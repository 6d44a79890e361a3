// SPDX-License-Identifier: Apache-2.0
#include "virtio/virtio.h"
#include "virtio/queue.h"
#include "src/log.h"

#include <errno.h>
#include <string.h>

int virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops,
		    const struct guest_mem *mem, struct virtq *queues, unsigned nqueues,
		    uint16_t qmax)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->mem = mem;
	dev->queues = queues;
	dev->nqueues = nqueues;
	for (unsigned i = 0; i < nqueues; i++)
		virtq_reset(&queues[i], qmax);
	int r = pthread_mutex_init(&dev->lock, NULL);
	return r ? -r : 0;
}

void virtio_dev_destroy(struct virtio_dev *dev)
{
	pthread_mutex_destroy(&dev->lock);
}

bool virtio_dev_running(const struct virtio_dev *dev)
{
	return (dev->status & VIRTIO_STATUS_DRIVER_OK) && !dev->paused &&
	       !(dev->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

static void virtio_dev_raise(struct virtio_dev *dev, uint32_t bits)
{
	__atomic_fetch_or(&dev->isr, bits, __ATOMIC_SEQ_CST);
	if (dev->interrupt)
		dev->interrupt(dev->interrupt_opaque);
}

void virtio_dev_signal_used(struct virtio_dev *dev, struct virtq *q)
{
	if (virtq_needs_interrupt(q))
		virtio_dev_raise(dev, VIRTIO_ISR_VRING);
}

void virtio_dev_signal_config(struct virtio_dev *dev)
{
	dev->config_generation++;
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_dev_raise(dev, VIRTIO_ISR_CONFIG);
}

void virtio_dev_requeue(struct virtio_dev *dev, unsigned q)
{
	if (dev->requeue)
		dev->requeue(dev->requeue_opaque, q);
}

void virtio_dev_needs_reset(struct virtio_dev *dev, const char *why)
{
	if (dev->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	log_ratelimited(LOG_WARN, "virtio-%s: device needs reset: %s", dev->ops->name, why);
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_dev_raise(dev, VIRTIO_ISR_CONFIG);
}
