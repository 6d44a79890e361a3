/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vq_fake.h - fake guest memory and hand-built split rings for the virtio
 * unit tests (linked into every unit test binary: names start with vqf_).
 */
#ifndef EMBER_VQ_FAKE_H
#define EMBER_VQ_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/guest_mem.h"

struct virtq;
struct virtio_mmio;

struct vqf_mem {
	uint8_t *ram;
	uint64_t size;
	uint64_t next;           /* bump allocator for buffers */
	struct guest_mem mem;
};

struct vqf_ring {
	struct vqf_mem *m;
	uint16_t num;
	uint64_t desc, avail, used;  /* guest-physical */
	uint16_t avail_idx;
	uint16_t used_seen;          /* consumed by vqf_used_next */
};

/* size bytes of zeroed fake RAM at GPA 0. */
void vqf_mem_init(struct vqf_mem *m, uint64_t size);
void vqf_mem_free(struct vqf_mem *m);
/* Allocate len bytes (16-aligned) of RAM; returns the GPA. */
uint64_t vqf_alloc(struct vqf_mem *m, uint64_t len);
void *vqf_ptr(struct vqf_mem *m, uint64_t gpa);

/* A disk image for the virtio-blk tests: a temporary file (path: a
 * mkstemp template, rewritten) of `sectors` 512-byte sectors, sector s
 * filled with the byte s & 0xff. Returns an fd of it: read-write, or
 * opened again with open_flags when they are >= 0. */
int vqf_image(char *path, unsigned sectors, int open_flags);
/* len bytes of the file at path from offset off (asserts they are there). */
void vqf_file_read(const char *path, uint64_t off, void *buf, size_t len);

/* Lay out a ring of num entries in freshly allocated RAM. */
void vqf_ring_init(struct vqf_ring *r, struct vqf_mem *m, uint16_t num);
/* Write descriptor i (in the ring's table, or in a table at GPA `table`). */
void vqf_desc(struct vqf_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next);
void vqf_desc_at(struct vqf_mem *m, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next);
/* Make head available and publish avail->idx. */
void vqf_avail(struct vqf_ring *r, uint16_t head);
void vqf_set_avail_idx(struct vqf_ring *r, uint16_t idx);
uint16_t vqf_used_idx(struct vqf_ring *r);
/* Element i of the used ring. */
void vqf_used_elem(struct vqf_ring *r, uint16_t i, uint32_t *id, uint32_t *len);
/* Next unseen used element: false when none. */
bool vqf_used_next(struct vqf_ring *r, uint32_t *id, uint32_t *len);
void vqf_set_used_event(struct vqf_ring *r, uint16_t v);
uint16_t vqf_avail_event(struct vqf_ring *r);
void vqf_set_avail_flags(struct vqf_ring *r, uint16_t f);

/* Point a struct virtq at the ring (as a driver would through registers). */
void vqf_ring_to_virtq(const struct vqf_ring *r, struct virtq *q);

/* Register access through the transport. */
uint32_t vqf_mmio_read(struct virtio_mmio *t, uint64_t off);
void vqf_mmio_write(struct virtio_mmio *t, uint64_t off, uint32_t v);
/* Driver bring-up (3.1.1): reset, ACK, DRIVER, features, FEATURES_OK, each
 * rings[i] as queue i, DRIVER_OK. Returns the final status register. */
uint32_t vqf_mmio_bringup(struct virtio_mmio *t, uint64_t features, struct vqf_ring *rings,
			  unsigned nrings);

#endif
