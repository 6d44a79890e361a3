// SPDX-License-Identifier: Apache-2.0
#include "virtio/mmio.h"
#include "virtio/queue.h"
#include "src/log.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

void virtio_mmio_init(struct virtio_mmio *m, struct virtio_dev *dev,
		      void (*irq)(void *opaque), virtio_mmio_kick_fn kick, void *opaque)
{
	memset(m, 0, sizeof(*m));
	m->dev = dev;
	m->kick = kick;
	m->opaque = opaque;
	dev->interrupt = irq;
	dev->interrupt_opaque = opaque;
}

static struct virtq *mmio_sel_queue(struct virtio_mmio *m)
{
	return m->queue_sel < m->dev->nqueues ? &m->dev->queues[m->queue_sel] : NULL;
}

/* Queue registers may be written between FEATURES_OK and DRIVER_OK only
 * (3.1.1 steps 5-8); afterwards the rings are in use and must not move. */
static struct virtq *mmio_setup_queue(struct virtio_mmio *m)
{
	uint32_t st = m->dev->status;
	if (!(st & VIRTIO_STATUS_FEATURES_OK) || (st & VIRTIO_STATUS_DRIVER_OK)) {
		log_ratelimited(LOG_WARN, "virtio-%s: queue register write in status 0x%x ignored",
				m->dev->ops->name, st);
		return NULL;
	}
	return mmio_sel_queue(m);
}

static void mmio_reset(struct virtio_mmio *m)
{
	struct virtio_dev *dev = m->dev;
	dev->ops->reset(dev);
	for (unsigned i = 0; i < dev->nqueues; i++)
		virtq_reset(&dev->queues[i], dev->queues[i].num_max);
	dev->status = 0;
	dev->driver_features = 0;
	__atomic_store_n(&dev->isr, 0, __ATOMIC_SEQ_CST);
	m->device_features_sel = 0;
	m->driver_features_sel = 0;
	m->queue_sel = 0;
}

static void mmio_activate(struct virtio_mmio *m)
{
	struct virtio_dev *dev = m->dev;
	bool eidx = virtio_dev_acked(dev, VIRTIO_F_EVENT_IDX);
	bool ind = virtio_dev_acked(dev, VIRTIO_F_INDIRECT_DESC);
	for (unsigned i = 0; i < dev->nqueues; i++) {
		struct virtq *q = &dev->queues[i];
		if (!q->ready)
			continue;
		if (virtq_activate(q, dev->mem, eidx, ind)) {
			log_ratelimited(LOG_WARN, "virtio-%s: queue %u invalid: num %u desc 0x%llx "
					"avail 0x%llx used 0x%llx", dev->ops->name, i, q->num,
					(unsigned long long)q->desc_gpa,
					(unsigned long long)q->avail_gpa,
					(unsigned long long)q->used_gpa);
			virtio_dev_needs_reset(dev, "bad queue at DRIVER_OK");
			return;
		}
	}
	if (dev->ops->activate(dev))
		virtio_dev_needs_reset(dev, "activation failed");
}

/* 3.1.1 / 2.1: the driver only adds bits, in the order ACKNOWLEDGE, DRIVER,
 * FEATURES_OK, DRIVER_OK (FAILED at any time); 0 resets. */
static void mmio_set_status(struct virtio_mmio *m, uint32_t v)
{
	struct virtio_dev *dev = m->dev;
	uint32_t old = dev->status;

	if (v == 0) {
		mmio_reset(m);
		return;
	}
	/* NEEDS_RESET is the device's bit: the driver can neither set nor clear it. */
	v = (v & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	uint32_t added = v & ~old;
	if ((old & ~v) || (v & ~0xcfu) ||
	    ((added & VIRTIO_STATUS_DRIVER) && !(v & VIRTIO_STATUS_ACKNOWLEDGE)) ||
	    ((added & VIRTIO_STATUS_FEATURES_OK) && !(v & VIRTIO_STATUS_DRIVER)) ||
	    ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))) {
		log_ratelimited(LOG_WARN, "virtio-%s: bad status transition 0x%x -> 0x%x ignored",
				dev->ops->name, old, v);
		return;
	}
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		uint64_t offered = dev->ops->features(dev);
		if ((dev->driver_features & ~offered) ||
		    !virtio_dev_acked(dev, VIRTIO_F_VERSION_1)) {
			/* 3.1.1 step 5: not accepted; the driver reads it back clear. */
			log_ratelimited(LOG_WARN, "virtio-%s: features 0x%llx refused (offered 0x%llx)",
					dev->ops->name, (unsigned long long)dev->driver_features,
					(unsigned long long)offered);
			v &= ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
			added = v & ~old;
		}
	}
	dev->status = v;
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_NEEDS_RESET))
		mmio_activate(m);
}

static uint32_t mmio_read_reg(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_dev *dev = m->dev;
	struct virtq *q;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (m->device_features_sel > 1)
			return 0;
		return (uint32_t)(dev->ops->features(dev) >> (32 * m->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		q = mmio_sel_queue(m);
		return q ? q->num_max : 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		q = mmio_sel_queue(m);
		return q ? q->num : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		q = mmio_sel_queue(m);
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&dev->isr, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		q = mmio_sel_queue(m);
		return q ? (uint32_t)(q->desc_gpa >> (off & 4 ? 32 : 0)) : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		q = mmio_sel_queue(m);
		return q ? (uint32_t)(q->avail_gpa >> (off & 4 ? 32 : 0)) : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		q = mmio_sel_queue(m);
		return q ? (uint32_t)(q->used_gpa >> (off & 4 ? 32 : 0)) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffffu;   /* no shared memory regions (4.2.2) */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		return 0;
	}
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffULL) | val;
}

/* Returns the queue index to kick, or -1. */
static int mmio_write_reg(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	struct virtio_dev *dev = m->dev;
	struct virtq *q;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Only while negotiating (3.1.1 step 4). */
		if (!(dev->status & VIRTIO_STATUS_DRIVER) ||
		    (dev->status & VIRTIO_STATUS_FEATURES_OK) || m->driver_features_sel > 1) {
			log_ratelimited(LOG_WARN, "virtio-%s: feature write in status 0x%x ignored",
					dev->ops->name, dev->status);
			break;
		}
		set_half(&dev->driver_features, m->driver_features_sel == 1, val);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if ((q = mmio_setup_queue(m)))
			q->num = val > 0xffff ? 0 : (uint16_t)val; /* checked at DRIVER_OK */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if ((q = mmio_setup_queue(m)))
			q->ready = val & 1;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if ((q = mmio_setup_queue(m)))
			set_half(&q->desc_gpa, off & 4, val);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if ((q = mmio_setup_queue(m)))
			set_half(&q->avail_gpa, off & 4, val);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if ((q = mmio_setup_queue(m)))
			set_half(&q->used_gpa, off & 4, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (val < dev->nqueues && virtio_dev_running(dev) && dev->queues[val].active)
			return (int)val;
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&dev->isr, ~val, __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS:
		mmio_set_status(m, val);
		break;
	default:
		log_ratelimited(LOG_DEBUG, "virtio-%s: write 0x%x to register 0x%llx ignored",
				dev->ops->name, val, (unsigned long long)off);
		break;
	}
	return -1;
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_mmio *m = opaque;
	struct virtio_dev *dev = m->dev;
	int kick = -1;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return;
	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t coff = offset - VIRTIO_MMIO_CONFIG;
		if (coff + len > 0x1000 - VIRTIO_MMIO_CONFIG) {
			if (!is_write)
				memset(data, 0, len);
		} else if (is_write) {
			if (dev->ops->config_write)
				dev->ops->config_write(dev, (uint32_t)coff, data, len);
		} else {
			memset(data, 0, len);
			dev->ops->config_read(dev, (uint32_t)coff, data, len);
		}
	} else if (len != 4 || (offset & 3)) {
		/* 4.2.2.2: registers take 32-bit aligned accesses only. */
		log_ratelimited(LOG_WARN, "virtio-%s: %u-byte access at 0x%llx ignored",
				dev->ops->name, len, (unsigned long long)offset);
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		uint32_t v;
		memcpy(&v, data, 4);
		kick = mmio_write_reg(m, offset, le32toh(v));
	} else {
		uint32_t v = htole32(mmio_read_reg(m, offset));
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&dev->lock);
	if (kick >= 0 && m->kick)
		m->kick(m->opaque, (unsigned)kick);
}

/* ---- snapshot ---- */

void virtio_mmio_save(struct virtio_mmio *m, struct virtio_mmio_state *st)
{
	struct virtio_dev *dev = m->dev;
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&dev->lock);
	st->status = dev->status;
	st->driver_features = dev->driver_features;
	st->config_generation = dev->config_generation;
	st->isr = __atomic_load_n(&dev->isr, __ATOMIC_SEQ_CST);
	st->device_features_sel = m->device_features_sel;
	st->driver_features_sel = m->driver_features_sel;
	st->queue_sel = m->queue_sel;
	st->nqueues = dev->nqueues;
	for (unsigned i = 0; i < dev->nqueues && i < VIRTIO_MMIO_STATE_QUEUES; i++)
		virtq_save(&dev->queues[i], &st->q[i]);
	pthread_mutex_unlock(&dev->lock);
}

int virtio_mmio_restore(struct virtio_mmio *m, const struct virtio_mmio_state *st, char *err,
			size_t errlen)
{
	struct virtio_dev *dev = m->dev;
	int r = 0;
	pthread_mutex_lock(&dev->lock);
	if (st->nqueues != dev->nqueues) {
		snprintf(err, errlen, "%u queues, the %s device has %u", st->nqueues,
			 dev->ops->name, dev->nqueues);
		r = -EINVAL;
	}
	for (unsigned i = 0; r == 0 && i < dev->nqueues; i++) {
		if (virtq_restore(&dev->queues[i], &st->q[i], dev->mem) < 0) {
			snprintf(err, errlen, "queue %u: %u entries of at most %u at desc 0x%llx avail "
				 "0x%llx used 0x%llx do not fit guest memory", i, st->q[i].num,
				 st->q[i].num_max, (unsigned long long)st->q[i].desc_gpa,
				 (unsigned long long)st->q[i].avail_gpa,
				 (unsigned long long)st->q[i].used_gpa);
			r = -EINVAL;
		}
	}
	if (r == 0) {
		dev->status = st->status;
		dev->driver_features = st->driver_features;
		dev->config_generation = st->config_generation;
		__atomic_store_n(&dev->isr, st->isr, __ATOMIC_SEQ_CST);
		m->device_features_sel = st->device_features_sel;
		m->driver_features_sel = st->driver_features_sel;
		m->queue_sel = st->queue_sel;
	} else {
		for (unsigned i = 0; i < dev->nqueues; i++)
			virtq_reset(&dev->queues[i], dev->queues[i].num_max);
	}
	pthread_mutex_unlock(&dev->lock);
	return r;
}
