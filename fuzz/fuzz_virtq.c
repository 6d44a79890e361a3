// SPDX-License-Identifier: Apache-2.0
/* The split-virtqueue walker (virtq_activate/pop/unpop/add_used/publish/
 * needs_interrupt and the iov helpers) over 64 KiB of fake guest RAM whose
 * contents the input chooses, with a racing "guest" that rewrites words of
 * RAM between pops.
 *
 * Input: [u8 flags][u16 num][u8 iov_max][u32 desc][u32 avail][u32 used]
 *        [u8 nmut][nmut x (u16 offset, u16 value)][RAM image]
 * flags: 1 EVENT_IDX, 2 INDIRECT, 4 unpop once, 8 num_max 16 (else 256).
 * Checks: every popped segment lies inside RAM, segment counts and byte
 * totals agree with the chain, heads are < num, -EIO leaves the queue
 * broken. */
#include "fuzz/common.h"
#include "src/guest_mem.h"
#include "virtio/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RAM_SIZE 0x10000
static uint8_t *ram;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		abort();
	return 0;
}

static void check_iov(const struct iovec *iov, unsigned n, uint64_t *total)
{
	*total = 0;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *b = iov[i].iov_base;
		if (b < ram || b + iov[i].iov_len > ram + RAM_SIZE || iov[i].iov_len == 0)
			abort();
		*total += iov[i].iov_len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct guest_mem mem;
	struct virtq q;
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct virtq_chain c;
	const uint8_t *img;
	uint16_t mut_off[32], mut_val[32];

	uint8_t flags = fz_u8(&f);
	memset(&q, 0, sizeof(q));
	virtq_reset(&q, (flags & 8) ? 16 : VIRTQ_MAX_SIZE);
	q.num = fz_u16(&f);
	unsigned iov_max = fz_u8(&f) % (VIRTQ_MAX_SIZE + 1);
	if (!iov_max)
		iov_max = VIRTQ_MAX_SIZE;
	q.desc_gpa = fz_u32(&f);
	q.avail_gpa = fz_u32(&f);
	q.used_gpa = fz_u32(&f);
	q.ready = true;
	unsigned nmut = fz_u8(&f) % 32;
	for (unsigned i = 0; i < nmut; i++) {
		mut_off[i] = fz_u16(&f) & ~1u;
		mut_val[i] = fz_u16(&f);
	}
	size_t ilen = fz_take(&f, RAM_SIZE, &img);
	memcpy(ram, img, ilen);
	memset(ram + ilen, 0, RAM_SIZE - ilen);
	guest_mem_init_from(&mem, ram, RAM_SIZE);

	if (virtq_activate(&q, &mem, flags & 1, flags & 2) < 0)
		return 0;
	if (!q.active)
		abort();
	bool unpopped = false;
	for (unsigned i = 0; i < 2 * VIRTQ_MAX_SIZE + 8; i++) {
		if (i < nmut)   /* the guest races us */
			memcpy(ram + mut_off[i], &mut_val[i], 2);
		(void)virtq_avail_count(&q);
		int r = virtq_pop(&q, &c, iov, iov_max);
		if (r == 0)
			break;
		if (r == -EIO) {
			if (!q.broken)
				abort();
			break;
		}
		if (c.head >= q.num)
			abort();
		if (r == 1) {
			uint64_t out, in;
			if (c.nout + c.nin > iov_max)
				abort();
			check_iov(iov, c.nout, &out);
			check_iov(iov + c.nout, c.nin, &in);
			if (out != c.out_len || in != c.in_len)
				abort();
			uint8_t tmp[64];
			size_t k = c.out_len < sizeof(tmp) ? c.out_len : sizeof(tmp);
			if (iov_copy_from(iov, c.nout, 0, tmp, k))
				abort();
			if (c.in_len && iov_copy_to(iov + c.nout, c.nin, c.in_len - 1, tmp, 1))
				abort();
			struct iovec sl[8];
			int n = iov_slice(iov, c.nout + c.nin, c.out_len / 3, c.in_len / 2 + 1, sl, 8);
			if (n > 8)
				abort();
			if (n > 0) {
				uint64_t t;
				check_iov(sl, (unsigned)n, &t);
				if (t != c.in_len / 2 + 1)
					abort();
			}
			if ((flags & 4) && !unpopped) {
				unpopped = true;
				virtq_unpop(&q, 1);
				continue;
			}
		} else if (r != -EINVAL && r != -ENOBUFS) {
			abort();
		}
		virtq_add_used(&q, c.head, (uint32_t)(r == 1 ? c.in_len : 0));
		if (i & 1) {
			virtq_publish_used(&q);
			virtq_needs_interrupt(&q);
		}
	}
	virtq_publish_used(&q);
	virtq_needs_interrupt(&q);
	return 0;
}
