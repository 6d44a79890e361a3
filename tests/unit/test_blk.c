// SPDX-License-Identifier: Apache-2.0
/* virtio-blk through the mmio transport over fake guest memory and a
 * temporary image file, well-formed and hostile requests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "tests/unit/vq_fake.h"

#define SECTORS 64
#define FEAT (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | \
	      VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))

struct fx {
	struct vqf_mem m;
	struct vqf_ring r;
	struct blk_dev *b;
	struct virtio_mmio t;
	char path[64];
	int irqs, requeues;
	uint64_t hdr, data, status;   /* GPAs of a scratch request */
};

static void fx_requeue(void *opaque, unsigned q)
{
	((struct fx *)opaque)->requeues++;
}

static void fx_irq(void *opaque)
{
	((struct fx *)opaque)->irqs++;
}

static void fx_kick(void *opaque, unsigned q)
{
	struct fx *f = opaque;
	f->b->vdev.ops->notify(&f->b->vdev, q);
}

static int fx_make(void **state, bool ro, bool writeback, const struct ratelimit_config *rl,
		   int open_flags, uint16_t qsize)
{
	struct fx *f = calloc(1, sizeof(*f));
	vqf_mem_init(&f->m, 1 << 20);
	vqf_ring_init(&f->r, &f->m, qsize);
	snprintf(f->path, sizeof(f->path), "/tmp/ember-test-blk-XXXXXX");
	int fd = vqf_image(f->path, SECTORS, open_flags);
	struct blk_params p = { .drive_id = "rootfs", .fd = fd, .read_only = ro,
				.writeback = writeback, .rate_limiter = rl };
	char err[128];
	assert_int_equal(blk_create(&p, &f->m.mem, &f->b, err, sizeof(err)), 0);
	virtio_mmio_init(&f->t, &f->b->vdev, fx_irq, fx_kick, f);
	f->b->vdev.requeue = fx_requeue;
	f->b->vdev.requeue_opaque = f;
	f->hdr = vqf_alloc(&f->m, 16);
	f->data = vqf_alloc(&f->m, 8192);
	f->status = vqf_alloc(&f->m, 1);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_make(state, false, true, NULL, -1, 16);
}

static int fx_setup_ro(void **state)
{
	return fx_make(state, true, false, NULL, -1, 16);
}

static int fx_setup_badfd(void **state)
{
	/* Opened read-only but not declared so: writes fail on the host. */
	return fx_make(state, false, false, NULL, O_RDONLY, 16);
}

static int fx_setup_rl(void **state)
{
	static struct ratelimit_config rl;
	rl.ops = (struct ratelimit_bucket_config){ true, 1, 0, 50 };  /* 1 request / 50 ms */
	return fx_make(state, false, false, &rl, -1, 16);
}

static int fx_setup_big(void **state)
{
	return fx_make(state, false, false, NULL, -1, BLK_QUEUE_SIZE);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	blk_destroy(f->b);
	unlink(f->path);
	vqf_mem_free(&f->m);
	free(f);
	return 0;
}

static void fx_up(struct fx *f)
{
	uint32_t st = vqf_mmio_bringup(&f->t, FEAT, &f->r, 1);
	assert_true(st & VIRTIO_STATUS_DRIVER_OK);
	assert_false(st & VIRTIO_STATUS_NEEDS_RESET);
}

static void fx_hdr(struct fx *f, uint32_t type, uint64_t sector)
{
	uint8_t *h = vqf_ptr(&f->m, f->hdr);
	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	*(uint8_t *)vqf_ptr(&f->m, f->status) = 0xee;
}

/* hdr -> data (len, writable or not) -> status; head 0. */
static void fx_req3(struct fx *f, uint32_t type, uint64_t sector, uint32_t len, bool data_wr)
{
	fx_hdr(f, type, sector);
	vqf_desc(&f->r, 0, f->hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(&f->r, 1, f->data, len, VIRTQ_DESC_F_NEXT | (data_wr ? VIRTQ_DESC_F_WRITE : 0), 2);
	vqf_desc(&f->r, 2, f->status, 1, VIRTQ_DESC_F_WRITE, 0);
	vqf_avail(&f->r, 0);
}

static void fx_kick_and_used(struct fx *f, uint32_t *id, uint32_t *len)
{
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(vqf_used_next(&f->r, id, len));
}

static uint8_t fx_status(struct fx *f)
{
	return *(uint8_t *)vqf_ptr(&f->m, f->status);
}

static void test_features_and_config(void **state)
{
	struct fx *f = *state;
	vqf_mmio_write(&f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t lo = vqf_mmio_read(&f->t, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(lo & (1u << VIRTIO_BLK_F_FLUSH));
	assert_false(lo & (1u << VIRTIO_BLK_F_RO));
	assert_true(lo & (1u << VIRTIO_BLK_F_SEG_MAX));
	assert_int_equal(vqf_mmio_read(&f->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLK);
	assert_int_equal(vqf_mmio_read(&f->t, VIRTIO_MMIO_CONFIG), SECTORS);
	assert_int_equal(vqf_mmio_read(&f->t, VIRTIO_MMIO_CONFIG + 4), 0);
	assert_int_equal(vqf_mmio_read(&f->t, VIRTIO_MMIO_CONFIG + 12), 254);
}

static void test_read(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	fx_req3(f, VIRTIO_BLK_T_IN, 3, 1024, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 1025);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
	uint8_t *d = vqf_ptr(&f->m, f->data);
	assert_int_equal(d[0], 3);
	assert_int_equal(d[511], 3);
	assert_int_equal(d[512], 4);
	assert_int_equal(d[1023], 4);
	assert_int_equal(f->b->stats.read_count, 1);
	assert_true(f->irqs >= 1);
}

static void test_write_and_flush(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	memset(vqf_ptr(&f->m, f->data), 0x5a, 512);
	fx_req3(f, VIRTIO_BLK_T_OUT, 10, 512, false);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(len, 1);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
	uint8_t buf[512], want[512];
	memset(want, 0x5a, sizeof(want));
	vqf_file_read(f->path, 10 * 512, buf, 512);
	assert_memory_equal(buf, want, 512);
	/* FLUSH: header + status only. */
	fx_hdr(f, VIRTIO_BLK_T_FLUSH, 0);
	vqf_desc(&f->r, 0, f->hdr, 16, VIRTQ_DESC_F_NEXT, 2);
	vqf_avail(&f->r, 0);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
	assert_int_equal(f->b->stats.flush_count, 1);
}

static void test_get_id(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	memset(vqf_ptr(&f->m, f->data), 0xff, 20);
	fx_req3(f, VIRTIO_BLK_T_GET_ID, 0, 20, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 21);
	assert_memory_equal(vqf_ptr(&f->m, f->data), "rootfs\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
}

static void test_unsupported_type(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	fx_req3(f, 11 /* DISCARD, not offered */, 0, 16, false);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_UNSUPP);
}

static void test_read_only_refuses_writes(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	vqf_mmio_write(&f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t lo = vqf_mmio_read(&f->t, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(lo & (1u << VIRTIO_BLK_F_RO));
	assert_false(lo & (1u << VIRTIO_BLK_F_FLUSH));   /* Unsafe: no flush offered */
	fx_up(f);
	memset(vqf_ptr(&f->m, f->data), 0x77, 512);
	fx_req3(f, VIRTIO_BLK_T_OUT, 0, 512, false);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_IOERR);
	uint8_t buf[512], want[512];
	memset(want, 0, sizeof(want));
	vqf_file_read(f->path, 0, buf, 512);
	assert_memory_equal(buf, want, 512);
	/* Reads still work. */
	fx_req3(f, VIRTIO_BLK_T_IN, 1, 512, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
}

static void test_host_io_error(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	fx_req3(f, VIRTIO_BLK_T_OUT, 0, 512, false);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_IOERR);
	assert_int_equal(f->b->stats.io_errors, 1);
	/* The device keeps serving. */
	fx_req3(f, VIRTIO_BLK_T_IN, 2, 512, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
}

static void test_out_of_range(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	fx_req3(f, VIRTIO_BLK_T_IN, SECTORS - 1, 1024, true);   /* runs past the end */
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_IOERR);
	fx_req3(f, VIRTIO_BLK_T_IN, UINT64_MAX, 512, true);     /* sector*512 overflows */
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_IOERR);
	fx_req3(f, VIRTIO_BLK_T_OUT, SECTORS, 512, false);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_IOERR);
	fx_req3(f, VIRTIO_BLK_T_IN, SECTORS - 1, 512, true);    /* last sector is fine */
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
}

static void test_unaligned_length(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	fx_req3(f, VIRTIO_BLK_T_IN, 0, 100, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_IOERR);
}

static void test_wrong_direction(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	/* IN with a device-readable data buffer: nothing may be written there. */
	memset(vqf_ptr(&f->m, f->data), 0xcc, 512);
	fx_req3(f, VIRTIO_BLK_T_IN, 1, 512, false);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_IOERR);
	assert_int_equal(((uint8_t *)vqf_ptr(&f->m, f->data))[0], 0xcc);
	/* OUT with a writable data buffer. */
	fx_req3(f, VIRTIO_BLK_T_OUT, 1, 512, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_IOERR);
	/* Header writable (status then has nothing before it): used len 0. */
	fx_hdr(f, VIRTIO_BLK_T_IN, 0);
	vqf_desc(&f->r, 0, f->hdr, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vqf_avail(&f->r, 0);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(len, 0);
	/* No writable status byte at all. */
	vqf_desc(&f->r, 0, f->hdr, 16, 0, 0);
	vqf_avail(&f->r, 0);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(len, 0);
	assert_true(f->b->stats.invalid_reqs >= 3);
}

static void test_header_split(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	fx_hdr(f, VIRTIO_BLK_T_IN, 5);
	/* 16-byte header in three pieces, then a zero-length descriptor. */
	vqf_desc(&f->r, 0, f->hdr, 3, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(&f->r, 1, f->hdr + 3, 9, VIRTQ_DESC_F_NEXT, 2);
	vqf_desc(&f->r, 2, f->hdr + 12, 4, VIRTQ_DESC_F_NEXT, 3);
	vqf_desc(&f->r, 3, 0, 0, VIRTQ_DESC_F_NEXT, 4);
	/* Data split too, status in the same descriptor as the data tail. */
	vqf_desc(&f->r, 4, f->data, 100, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	vqf_desc(&f->r, 5, f->data + 100, 413, VIRTQ_DESC_F_WRITE, 0);
	vqf_avail(&f->r, 0);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(len, 513);
	uint8_t *d = vqf_ptr(&f->m, f->data);
	assert_int_equal(d[0], 5);
	assert_int_equal(d[511], 5);
	assert_int_equal(d[512], VIRTIO_BLK_S_OK);
	/* Header shorter than 16 bytes. */
	vqf_desc(&f->r, 0, f->hdr, 12, VIRTQ_DESC_F_NEXT, 5);
	vqf_avail(&f->r, 0);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(len, 0);
}

static void test_indirect_request(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	fx_hdr(f, VIRTIO_BLK_T_IN, 7);
	uint64_t t = vqf_alloc(&f->m, 3 * 16);
	vqf_desc_at(&f->m, t, 0, f->hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc_at(&f->m, t, 1, f->data, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vqf_desc_at(&f->m, t, 2, f->status, 1, VIRTQ_DESC_F_WRITE, 0);
	vqf_desc(&f->r, 9, t, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_avail(&f->r, 9);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(id, 9);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
	assert_int_equal(((uint8_t *)vqf_ptr(&f->m, f->data))[0], 7);
}

static void test_hostile_chains_then_recover(void **state)
{
	struct fx *f = *state;
	fx_up(f);
	/* Loop. */
	vqf_desc(&f->r, 4, f->hdr, 16, VIRTQ_DESC_F_NEXT, 5);
	vqf_desc(&f->r, 5, f->data, 16, VIRTQ_DESC_F_NEXT, 4);
	vqf_avail(&f->r, 4);
	/* Data outside guest memory. */
	fx_hdr(f, VIRTIO_BLK_T_IN, 0);
	vqf_desc(&f->r, 6, f->hdr, 16, VIRTQ_DESC_F_NEXT, 7);
	vqf_desc(&f->r, 7, (1 << 20) - 256, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 8);
	vqf_desc(&f->r, 8, f->status, 1, VIRTQ_DESC_F_WRITE, 0);
	vqf_avail(&f->r, 6);
	/* Wrapping address. */
	vqf_desc(&f->r, 10, 0xffffffffffffff00ULL, 0x200, VIRTQ_DESC_F_NEXT, 8);
	vqf_avail(&f->r, 10);
	/* And a good one after them. */
	fx_req3(f, VIRTIO_BLK_T_IN, 9, 512, true);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	uint32_t ids[4], lens[4];
	for (int i = 0; i < 4; i++)
		assert_true(vqf_used_next(&f->r, &ids[i], &lens[i]));
	assert_int_equal(ids[0], 4);
	assert_int_equal(lens[0], 0);
	assert_int_equal(ids[1], 6);
	assert_int_equal(lens[1], 0);
	assert_int_equal(ids[2], 10);
	assert_int_equal(lens[2], 0);
	assert_int_equal(ids[3], 0);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
	assert_false(f->b->vdev.status & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_corrupt_ring_needs_reset(void **state)
{
	struct fx *f = *state;
	fx_up(f);
	int irqs = f->irqs;
	vqf_set_avail_idx(&f->r, 100);   /* 100 > 16 entries */
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(vqf_mmio_read(&f->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(vqf_mmio_read(&f->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG);
	assert_int_equal(f->irqs, irqs + 1);
	assert_int_equal(vqf_used_idx(&f->r), 0);
	/* After a reset the device works again. */
	vqf_ring_init(&f->r, &f->m, 16);
	fx_up(f);
	uint32_t id, len;
	fx_req3(f, VIRTIO_BLK_T_IN, 1, 512, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
}

static void test_event_idx_suppresses(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	vqf_set_used_event(&f->r, 5);        /* "interrupt me after the 6th" */
	int irqs = f->irqs;
	fx_req3(f, VIRTIO_BLK_T_IN, 1, 512, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(f->irqs, irqs);
	vqf_set_used_event(&f->r, 1);
	fx_req3(f, VIRTIO_BLK_T_IN, 1, 512, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(f->irqs, irqs + 1);
	/* The device asked to be kicked at the next avail entry. */
	assert_int_equal(vqf_avail_event(&f->r), 2);
}

static void test_capacity_change(void **state)
{
	struct fx *f = *state;
	fx_up(f);
	char p2[] = "/tmp/ember-test-blk2-XXXXXX";
	int fd = mkstemp(p2);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	char err[128];
	int irqs = f->irqs;
	assert_int_equal(blk_update(f->b, fd, NULL, err, sizeof(err)), 0);
	assert_int_equal(vqf_mmio_read(&f->t, VIRTIO_MMIO_CONFIG), 2048);
	assert_int_equal(vqf_mmio_read(&f->t, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_true(vqf_mmio_read(&f->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG);
	assert_int_equal(f->irqs, irqs + 1);
	uint32_t id, len;
	fx_req3(f, VIRTIO_BLK_T_IN, 2000, 512, true);
	fx_kick_and_used(f, &id, &len);
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
	unlink(p2);
}

static void test_rate_limited(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_up(f);
	/* Two requests at once with 1 op per 50 ms: one now, one on the timer. */
	fx_hdr(f, VIRTIO_BLK_T_IN, 1);
	vqf_desc(&f->r, 0, f->hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(&f->r, 1, f->data, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vqf_desc(&f->r, 2, f->status, 1, VIRTQ_DESC_F_WRITE, 0);
	vqf_avail(&f->r, 0);
	vqf_avail(&f->r, 0);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(vqf_used_idx(&f->r), 1);
	assert_true(f->b->stats.throttled >= 1);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);   /* a kick does not bypass it */
	assert_int_equal(vqf_used_idx(&f->r), 1);
	struct pollfd p = { .fd = ratelimit_fd(&f->b->rl), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	blk_ratelimit_event(f->b);
	assert_int_equal(vqf_used_idx(&f->r), 2);
	(void)id;
	(void)len;
}

/* A ring that stays full (the guest refilling it from another vCPU) gets
 * VIRTIO_QUEUE_BUDGET requests per wake-up; the device then asks to be
 * requeued instead of keeping the main thread. */
static void test_budget_per_wakeup(void **state)
{
	struct fx *f = *state;
	const unsigned n = 3 * VIRTIO_QUEUE_BUDGET + 10;
	fx_up(f);
	fx_hdr(f, VIRTIO_BLK_T_GET_ID, 0);
	vqf_desc(&f->r, 0, f->hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(&f->r, 1, f->data, BLK_ID_BYTES, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vqf_desc(&f->r, 2, f->status, 1, VIRTQ_DESC_F_WRITE, 0);
	assert_true(n <= BLK_QUEUE_SIZE);
	for (unsigned i = 0; i < n; i++)
		vqf_avail(&f->r, 0);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(vqf_used_idx(&f->r), VIRTIO_QUEUE_BUDGET);
	assert_int_equal(f->requeues, 1);
	/* Each requeued wake-up takes the next budget's worth. */
	blk_process(f->b);
	assert_int_equal(vqf_used_idx(&f->r), 2 * VIRTIO_QUEUE_BUDGET);
	assert_int_equal(f->requeues, 2);
	blk_process(f->b);
	blk_process(f->b);
	assert_int_equal(vqf_used_idx(&f->r), n);
	assert_int_equal(f->requeues, 3);    /* the last one emptied the ring */
	assert_int_equal(fx_status(f), VIRTIO_BLK_S_OK);
	assert_int_equal(f->b->stats.invalid_reqs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features_and_config, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_read, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_and_flush, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_get_id, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_type, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_read_only_refuses_writes, fx_setup_ro, fx_teardown),
		cmocka_unit_test_setup_teardown(test_host_io_error, fx_setup_badfd, fx_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unaligned_length, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_direction, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_header_split, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_indirect_request, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_chains_then_recover, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_ring_needs_reset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_suppresses, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_capacity_change, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited, fx_setup_rl, fx_teardown),
		cmocka_unit_test_setup_teardown(test_budget_per_wakeup, fx_setup_big, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
