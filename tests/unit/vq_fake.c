// SPDX-License-Identifier: Apache-2.0
#include "tests/unit/vq_fake.h"
#include "virtio/mmio.h"
#include "virtio/queue.h"

#include <assert.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vqf_mem_init(struct vqf_mem *m, uint64_t size)
{
	m->ram = aligned_alloc(4096, size);
	assert(m->ram);
	memset(m->ram, 0, size);
	m->size = size;
	m->next = 0x1000;        /* keep GPA 0 unused */
	guest_mem_init_from(&m->mem, m->ram, size);
}

void vqf_mem_free(struct vqf_mem *m)
{
	free(m->ram);
	memset(m, 0, sizeof(*m));
}

uint64_t vqf_alloc(struct vqf_mem *m, uint64_t len)
{
	uint64_t gpa = (m->next + 15) & ~15ULL;
	assert(gpa + len <= m->size);
	m->next = gpa + len;
	memset(m->ram + gpa, 0, len);
	return gpa;
}

void *vqf_ptr(struct vqf_mem *m, uint64_t gpa)
{
	return m->ram + gpa;
}

int vqf_image(char *path, unsigned sectors, int open_flags)
{
	int fd = mkstemp(path);
	assert(fd >= 0);
	uint8_t sec[512];
	for (unsigned s = 0; s < sectors; s++) {
		memset(sec, (int)(s & 0xff), sizeof(sec));
		ssize_t w = write(fd, sec, sizeof(sec));
		assert(w == (ssize_t)sizeof(sec));
	}
	if (open_flags >= 0) {
		close(fd);
		fd = open(path, open_flags);
		assert(fd >= 0);
	}
	return fd;
}

void vqf_file_read(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert(fd >= 0);
	ssize_t r = pread(fd, buf, len, (off_t)off);
	assert(r == (ssize_t)len);
	close(fd);
}

void vqf_ring_init(struct vqf_ring *r, struct vqf_mem *m, uint16_t num)
{
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->num = num;
	r->desc = vqf_alloc(m, 16ULL * num);
	r->avail = vqf_alloc(m, 6 + 2ULL * num);
	r->used = vqf_alloc(m, 6 + 8ULL * num);
}

void vqf_desc_at(struct vqf_mem *m, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	uint8_t *p = m->ram + table + 16ULL * i;
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

void vqf_desc(struct vqf_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next)
{
	vqf_desc_at(r->m, r->desc, i, addr, len, flags, next);
}

static uint16_t *vqf_u16(struct vqf_ring *r, uint64_t gpa)
{
	return (uint16_t *)(r->m->ram + gpa);
}

void vqf_set_avail_idx(struct vqf_ring *r, uint16_t idx)
{
	__atomic_store_n(vqf_u16(r, r->avail + 2), idx, __ATOMIC_RELEASE);
	r->avail_idx = idx;
}

void vqf_avail(struct vqf_ring *r, uint16_t head)
{
	*vqf_u16(r, r->avail + 4 + 2ULL * (r->avail_idx % r->num)) = head;
	vqf_set_avail_idx(r, (uint16_t)(r->avail_idx + 1));
}

uint16_t vqf_used_idx(struct vqf_ring *r)
{
	return __atomic_load_n(vqf_u16(r, r->used + 2), __ATOMIC_ACQUIRE);
}

void vqf_used_elem(struct vqf_ring *r, uint16_t i, uint32_t *id, uint32_t *len)
{
	uint8_t *p = r->m->ram + r->used + 4 + 8ULL * (i % r->num);
	memcpy(id, p, 4);
	memcpy(len, p + 4, 4);
}

bool vqf_used_next(struct vqf_ring *r, uint32_t *id, uint32_t *len)
{
	if (vqf_used_idx(r) == r->used_seen)
		return false;
	vqf_used_elem(r, r->used_seen++, id, len);
	return true;
}

void vqf_set_used_event(struct vqf_ring *r, uint16_t v)
{
	*vqf_u16(r, r->avail + 4 + 2ULL * r->num) = v;
}

uint16_t vqf_avail_event(struct vqf_ring *r)
{
	return *vqf_u16(r, r->used + 4 + 8ULL * r->num);
}

void vqf_set_avail_flags(struct vqf_ring *r, uint16_t f)
{
	*vqf_u16(r, r->avail) = f;
}

void vqf_ring_to_virtq(const struct vqf_ring *r, struct virtq *q)
{
	q->num = r->num;
	q->desc_gpa = r->desc;
	q->avail_gpa = r->avail;
	q->used_gpa = r->used;
	q->ready = true;
}

uint32_t vqf_mmio_read(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v = 0;
	virtio_mmio_access(t, off, (uint8_t *)&v, 4, false);
	return v;
}

void vqf_mmio_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_access(t, off, (uint8_t *)&v, 4, true);
}

uint32_t vqf_mmio_bringup(struct virtio_mmio *t, uint64_t features, struct vqf_ring *rings,
			  unsigned nrings)
{
	vqf_mmio_write(t, VIRTIO_MMIO_STATUS, 0);
	vqf_mmio_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vqf_mmio_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vqf_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vqf_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	vqf_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vqf_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	vqf_mmio_write(t, VIRTIO_MMIO_STATUS, st);
	if (!(vqf_mmio_read(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return vqf_mmio_read(t, VIRTIO_MMIO_STATUS);
	for (unsigned i = 0; i < nrings; i++) {
		struct vqf_ring *r = &rings[i];
		vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_SEL, i);
		vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_NUM, r->num);
		vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r->desc);
		vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(r->desc >> 32));
		vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)r->avail);
		vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(r->avail >> 32));
		vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)r->used);
		vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(r->used >> 32));
		vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	vqf_mmio_write(t, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	return vqf_mmio_read(t, VIRTIO_MMIO_STATUS);
}
