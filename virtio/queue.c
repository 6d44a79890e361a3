// SPDX-License-Identifier: Apache-2.0
#include "virtio/queue.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Ring layouts, virtio 1.2 section 2.7:
 *   desc:  num * 16 bytes {le64 addr, le32 len, le16 flags, le16 next}, 16-aligned
 *   avail: le16 flags, le16 idx, le16 ring[num], le16 used_event, 2-aligned
 *   used:  le16 flags, le16 idx, {le32 id, le32 len}[num], le16 avail_event, 4-aligned */
#define DESC_SIZE 16u

struct virtq_desc_copy {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static inline uint16_t ring_load16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return le16toh(v);
}

static inline void ring_store16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline uint16_t avail_idx_acquire(const struct virtq *q)
{
	/* Pairs with the driver's write barrier before it bumps idx: ring
	 * entries read after this load are at least as new as idx. */
	return le16toh(__atomic_load_n((const uint16_t *)(q->avail + 2), __ATOMIC_ACQUIRE));
}

void virtq_reset(struct virtq *q, uint16_t num_max)
{
	memset(q, 0, sizeof(*q));
	q->num_max = num_max;
	q->num = num_max;
}

int virtq_activate(struct virtq *q, const struct guest_mem *mem, bool event_idx, bool indirect)
{
	uint64_t n = q->num;
	if (n == 0 || n > q->num_max || (n & (n - 1)))
		return -EINVAL;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -EINVAL;
	uint8_t *d = guest_mem_ptr(mem, q->desc_gpa, DESC_SIZE * n);
	uint8_t *a = guest_mem_ptr(mem, q->avail_gpa, 6 + 2 * n);
	uint8_t *u = guest_mem_ptr(mem, q->used_gpa, 6 + 8 * n);
	if (!d || !a || !u)
		return -EINVAL;
	q->mem = mem;
	q->desc = d;
	q->avail = a;
	q->used = u;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->broken = false;
	q->active = true;
	return 0;
}

static void desc_read(const uint8_t *table, uint16_t i, struct virtq_desc_copy *d)
{
	uint8_t raw[DESC_SIZE];
	/* One copy: a guest rewriting the descriptor now cannot make us see two
	 * different values for the same field. */
	memcpy(raw, table + (size_t)i * DESC_SIZE, DESC_SIZE);
	uint64_t a;
	uint32_t l;
	uint16_t f, nx;
	memcpy(&a, raw, 8);
	memcpy(&l, raw + 8, 4);
	memcpy(&f, raw + 12, 2);
	memcpy(&nx, raw + 14, 2);
	d->addr = le64toh(a);
	d->len = le32toh(l);
	d->flags = le16toh(f);
	d->next = le16toh(nx);
}

uint16_t virtq_avail_count(struct virtq *q)
{
	if (!q->active || q->broken)
		return 0;
	return (uint16_t)(avail_idx_acquire(q) - q->last_avail);
}

static int chain_walk(struct virtq *q, struct virtq_chain *c, struct iovec *iov, unsigned iov_max)
{
	const uint8_t *table = q->desc;
	uint32_t count = q->num;       /* entries in the current table */
	uint32_t ttl = q->num;         /* bounds the walk: no loop survives it */
	bool in_indirect = false;
	uint16_t i = c->head;
	unsigned n = 0;

	for (;;) {
		struct virtq_desc_copy d;
		if (ttl-- == 0)
			return -EINVAL;    /* loop, or chain longer than the table */
		desc_read(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* 2.7.5.3: only with the feature, never nested, never
			 * together with NEXT, a whole number of descriptors. */
			if (!q->indirect || in_indirect || (d.flags & VIRTQ_DESC_F_NEXT))
				return -EINVAL;
			if (d.len == 0 || d.len % DESC_SIZE || d.len / DESC_SIZE > 65536)
				return -EINVAL;
			table = guest_mem_ptr(q->mem, d.addr, d.len);
			if (!table)
				return -EINVAL;
			count = d.len / DESC_SIZE;
			ttl = count;
			in_indirect = true;
			i = 0;
			continue;
		}
		if (d.len) {
			void *p = guest_mem_ptr(q->mem, d.addr, d.len);
			if (!p)
				return -EINVAL;
			bool wr = d.flags & VIRTQ_DESC_F_WRITE;
			if (!wr && c->nin)
				return -EINVAL;  /* 2.7.4.2: readable after writable */
			if (wr)   /* the device may write it: a Diff snapshot must see it */
				guest_mem_mark_dirty(q->mem, d.addr, d.len);
			if (n == iov_max)
				return -ENOBUFS;
			iov[n].iov_base = p;
			iov[n].iov_len = d.len;
			n++;
			if (wr) {
				c->nin++;
				c->in_len += d.len;
			} else {
				c->nout++;
				c->out_len += d.len;
			}
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= count)
			return -EINVAL;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c, struct iovec *iov, unsigned iov_max)
{
	memset(c, 0, sizeof(*c));
	if (!q->active || q->broken)
		return -EIO;
	uint16_t avail = avail_idx_acquire(q);
	uint16_t pending = (uint16_t)(avail - q->last_avail);
	if (pending > q->num) {
		q->broken = true;      /* the driver cannot have more than num in flight */
		return -EIO;
	}
	if (pending == 0) {
		if (!q->event_idx)
			return 0;
		/* Ask for a kick when the next buffer arrives (2.7.10), then
		 * look again: the driver may have added one before it saw the
		 * new avail_event. The full fence orders our store before the
		 * reload, pairing with the driver's fence before it reads it. */
		ring_store16(q->used + 4 + 8 * (size_t)q->num, q->last_avail);
		guest_mem_mark_dirty(q->mem, q->used_gpa + 4 + 8 * (uint64_t)q->num, 2);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail = avail_idx_acquire(q);
		pending = (uint16_t)(avail - q->last_avail);
		if (pending == 0)
			return 0;
		if (pending > q->num) {
			q->broken = true;
			return -EIO;
		}
	}
	uint16_t head = ring_load16(q->avail + 4 + 2 * (size_t)(q->last_avail & (q->num - 1)));
	if (head >= q->num) {
		q->broken = true;
		return -EIO;
	}
	q->last_avail++;
	c->head = head;
	return chain_walk(q, c, iov, iov_max) ? : 1;
}

void virtq_unpop(struct virtq *q, unsigned n)
{
	q->last_avail -= (uint16_t)n;
}

void virtq_add_used(struct virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *e = q->used + 4 + 8 * (size_t)(q->used_idx & (q->num - 1));
	uint32_t id = htole32(head), l = htole32(len);
	memcpy(e, &id, 4);
	memcpy(e + 4, &l, 4);
	q->used_idx++;
}

void virtq_publish_used(struct virtq *q)
{
	/* Used elements must be visible before the index that covers them. */
	__atomic_store_n((uint16_t *)(q->used + 2), htole16(q->used_idx), __ATOMIC_RELEASE);
	guest_mem_mark_dirty(q->mem, q->used_gpa, 4 + 8 * (uint64_t)q->num);
}

bool virtq_needs_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx;
	/* The driver's used_event / flags must be read after our idx store. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = now;
	if (old == now)
		return false;
	if (q->event_idx) {
		uint16_t ev = ring_load16(q->avail + 4 + 2 * (size_t)q->num);
		/* 2.7.10: interrupt when used idx moved past used_event. */
		return (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	}
	return !(ring_load16(q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Copy len bytes between buf and the iovec array starting at byte off of the
 * array; to_iov chooses the direction. -EFAULT when the array is too short. */
static int iov_copy(const struct iovec *iov, unsigned n, uint64_t off, uint8_t *buf,
		    size_t len, bool to_iov)
{
	for (unsigned i = 0; i < n && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len)
			k = len;
		uint8_t *p = (uint8_t *)iov[i].iov_base + off;
		if (to_iov)
			memcpy(p, buf, k);
		else
			memcpy(buf, p, k);
		buf += k;
		len -= k;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

int iov_copy_from(const struct iovec *iov, unsigned n, uint64_t off, void *dst, size_t len)
{
	return iov_copy(iov, n, off, dst, len, false);
}

int iov_copy_to(const struct iovec *iov, unsigned n, uint64_t off, const void *src, size_t len)
{
	return iov_copy(iov, n, off, (uint8_t *)(uintptr_t)src, len, true);
}

int iov_slice(const struct iovec *iov, unsigned n, uint64_t off, uint64_t len,
	      struct iovec *dst, unsigned dst_max)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		uint64_t take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		if (k == dst_max)
			return -ENOBUFS;
		dst[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		dst[k].iov_len = take;
		k++;
		len -= take;
		off = 0;
	}
	return len ? -EFAULT : (int)k;
}

/* ---- snapshot ---- */

void virtq_save(const struct virtq *q, struct virtq_state *st)
{
	*st = (struct virtq_state){
		.num_max = q->num_max, .num = q->num, .ready = q->ready, .active = q->active,
		.broken = q->broken, .event_idx = q->event_idx, .indirect = q->indirect,
		.desc_gpa = q->desc_gpa, .avail_gpa = q->avail_gpa, .used_gpa = q->used_gpa,
		.last_avail = q->last_avail, .used_idx = q->used_idx,
		.signalled_used = q->signalled_used,
	};
}

int virtq_restore(struct virtq *q, const struct virtq_state *st, const struct guest_mem *mem)
{
	uint16_t num_max = q->num_max;
	virtq_reset(q, num_max);
	if (st->num_max != num_max)
		return -EINVAL;
	q->num = st->num;
	q->ready = st->ready;
	q->desc_gpa = st->desc_gpa;
	q->avail_gpa = st->avail_gpa;
	q->used_gpa = st->used_gpa;
	if (!st->active)
		return 0;
	if (virtq_activate(q, mem, st->event_idx, st->indirect) < 0) {
		virtq_reset(q, num_max);
		return -EINVAL;
	}
	q->broken = st->broken;
	q->last_avail = st->last_avail;
	q->used_idx = st->used_idx;
	q->signalled_used = st->signalled_used;
	return 0;
}
