// SPDX-License-Identifier: Apache-2.0
/* virtio-blk with io_engine Async (virtio/blk_uring.c) over fake guest
 * memory and a temporary image file: requests complete through the
 * engine's eventfd, flush ordering, host errors, the queue-depth bound,
 * short transfers, rate limiting, reset, drain (and the pause's
 * quiesce) and a new backing file.
 * Skipped (said loudly) where the host has no usable io_uring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/blk_uring.h"
#include "virtio/mmio.h"
#include "tests/unit/vq_fake.h"

#define SECTORS 512
#define NREQ    200               /* > BLK_URING_DEPTH */
#define FEAT (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | \
	      VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))

struct req {                      /* one request's guest memory */
	uint64_t hdr, data, status, table;
};

struct fx {
	struct vqf_mem m;
	struct vqf_ring r;
	struct blk_dev *b;
	struct virtio_mmio t;
	char path[64];
	int irqs;
	struct req q[NREQ];
};

static void fx_irq(void *opaque)
{
	((struct fx *)opaque)->irqs++;
}

static void fx_kick(void *opaque, unsigned q)
{
	struct fx *f = opaque;
	f->b->vdev.ops->notify(&f->b->vdev, q);
}

static int fx_make(void **state, int open_flags, bool writeback,
		   const struct ratelimit_config *rl)
{
	int pr = blk_uring_probe();
	if (pr) {
		fprintf(stderr, "test_blk_uring: SKIPPED: this host has no usable io_uring (%s)\n",
			strerror(-pr));
		skip();
	}
	struct fx *f = calloc(1, sizeof(*f));
	vqf_mem_init(&f->m, 4 << 20);
	vqf_ring_init(&f->r, &f->m, BLK_QUEUE_SIZE);
	snprintf(f->path, sizeof(f->path), "/tmp/ember-test-blku-XXXXXX");
	int fd = vqf_image(f->path, SECTORS, open_flags);
	struct blk_params p = { .drive_id = "data", .fd = fd, .writeback = writeback,
				.rate_limiter = rl, .async = true };
	char err[160];
	assert_int_equal(blk_create(&p, &f->m.mem, &f->b, err, sizeof(err)), 0);
	assert_true(blk_io_fd(f->b) >= 0);
	virtio_mmio_init(&f->t, &f->b->vdev, fx_irq, fx_kick, f);
	for (unsigned i = 0; i < NREQ; i++) {
		f->q[i].hdr = vqf_alloc(&f->m, 16);
		f->q[i].data = vqf_alloc(&f->m, 4096);
		f->q[i].status = vqf_alloc(&f->m, 1);
		f->q[i].table = vqf_alloc(&f->m, 3 * 16);
	}
	uint32_t st = vqf_mmio_bringup(&f->t, FEAT, &f->r, 1);
	assert_true(st & VIRTIO_STATUS_DRIVER_OK);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_make(state, -1, true, NULL);
}

static int fx_setup_rdonly(void **state)
{
	/* Opened read-only but not declared so: writes fail on the host. */
	return fx_make(state, O_RDONLY, true, NULL);
}

static int fx_setup_wronly(void **state)
{
	return fx_make(state, O_WRONLY, true, NULL);
}

static int fx_setup_rl(void **state)
{
	static struct ratelimit_config rl;
	rl.ops = (struct ratelimit_bucket_config){ true, 1, 0, 50 };  /* 1 request / 50 ms */
	return fx_make(state, -1, false, &rl);
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

/* Request i as an indirect chain (one ring descriptor, at i): a header, then
 * len bytes of data unless len is 0 (FLUSH), then the status byte. */
static void fx_req(struct fx *f, unsigned i, uint32_t type, uint64_t sector, uint32_t len)
{
	struct req *q = &f->q[i];
	uint8_t *h = vqf_ptr(&f->m, q->hdr);
	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	*(uint8_t *)vqf_ptr(&f->m, q->status) = 0xee;
	uint16_t n = 0;
	vqf_desc_at(&f->m, q->table, n, q->hdr, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1));
	n++;
	if (len) {
		uint16_t wr = type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0;
		vqf_desc_at(&f->m, q->table, n, q->data, len, VIRTQ_DESC_F_NEXT | wr,
			    (uint16_t)(n + 1));
		n++;
	}
	vqf_desc_at(&f->m, q->table, n, q->status, 1, VIRTQ_DESC_F_WRITE, 0);
	n++;
	vqf_desc(&f->r, (uint16_t)i, q->table, (uint32_t)n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_avail(&f->r, (uint16_t)i);
}

static uint8_t fx_status(struct fx *f, unsigned i)
{
	return *(uint8_t *)vqf_ptr(&f->m, f->q[i].status);
}

static void fx_notify(struct fx *f)
{
	vqf_mmio_write(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Wait for the engine's eventfd and handle it, as the event loop does. */
static void fx_event(struct fx *f)
{
	struct pollfd p = { .fd = blk_io_fd(f->b), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	blk_io_event(f->b);
}

/* Handle events until `want` used elements are there. */
static void fx_until_used(struct fx *f, uint16_t want)
{
	for (int k = 0; k < 1000 && vqf_used_idx(&f->r) != want; k++)
		fx_event(f);
	assert_int_equal(vqf_used_idx(&f->r), want);
}

/* Submitted at the kick, completed (used ring published, interrupt) only
 * when the engine's eventfd is handled. */
static void test_read_completes_on_event(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_req(f, 5, VIRTIO_BLK_T_IN, 3, 1024);
	int irqs = f->irqs;
	fx_notify(f);
	assert_int_equal(vqf_used_idx(&f->r), 0);
	assert_int_equal(blk_uring_busy(f->b->uring), 1);
	fx_until_used(f, 1);
	assert_true(vqf_used_next(&f->r, &id, &len));
	assert_int_equal(id, 5);
	assert_int_equal(len, 1025);
	assert_int_equal(fx_status(f, 5), VIRTIO_BLK_S_OK);
	uint8_t *d = vqf_ptr(&f->m, f->q[5].data);
	assert_int_equal(d[0], 3);
	assert_int_equal(d[511], 3);
	assert_int_equal(d[512], 4);
	assert_int_equal(d[1023], 4);
	assert_int_equal(f->b->stats.read_count, 1);
	assert_int_equal(f->b->stats.read_bytes, 1024);
	assert_true(f->irqs > irqs);
	assert_int_equal(blk_uring_busy(f->b->uring), 0);
}

/* Writes then a FLUSH in one batch: the FLUSH completes after every write
 * queued before it, and the data is in the file. */
static void test_writes_then_flush_in_order(void **state)
{
	struct fx *f = *state;
	const unsigned nw = 40;
	for (unsigned i = 0; i < nw; i++) {
		memset(vqf_ptr(&f->m, f->q[i].data), 0x40 + (int)i, 4096);
		fx_req(f, i, VIRTIO_BLK_T_OUT, 8 * i, 4096);
	}
	fx_req(f, nw, VIRTIO_BLK_T_FLUSH, 0, 0);
	fx_notify(f);
	fx_until_used(f, (uint16_t)(nw + 1));
	uint32_t id, len;
	for (unsigned k = 0; k <= nw; k++) {
		assert_true(vqf_used_next(&f->r, &id, &len));
		if (k < nw)
			assert_true(id < nw);     /* every write before the flush */
		else
			assert_int_equal(id, nw);
		assert_int_equal(len, 1);
	}
	for (unsigned i = 0; i <= nw; i++)
		assert_int_equal(fx_status(f, i), VIRTIO_BLK_S_OK);
	uint8_t buf[4096], want[4096];
	for (unsigned i = 0; i < nw; i++) {
		memset(want, 0x40 + (int)i, sizeof(want));
		vqf_file_read(f->path, 4096ULL * i, buf, sizeof(buf));
		assert_memory_equal(buf, want, sizeof(buf));
	}
	assert_int_equal(f->b->stats.write_count, nw);
	assert_int_equal(f->b->stats.flush_count, 1);
	assert_int_equal(f->b->stats.io_errors, 0);
}

/* Host errors reach the guest as IOERR: writes to a file opened read-only,
 * reads from one opened write-only. */
static void test_write_error(void **state)
{
	struct fx *f = *state;
	fx_req(f, 0, VIRTIO_BLK_T_OUT, 0, 512);
	fx_req(f, 1, VIRTIO_BLK_T_IN, 0, 512);
	fx_notify(f);
	fx_until_used(f, 2);
	assert_int_equal(fx_status(f, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(fx_status(f, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(f->b->stats.io_errors, 1);
	assert_int_equal(f->b->stats.write_count, 0);
}

static void test_read_error(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	fx_req(f, 0, VIRTIO_BLK_T_IN, 0, 512);
	fx_notify(f);
	fx_until_used(f, 1);
	assert_true(vqf_used_next(&f->r, &id, &len));
	assert_int_equal(len, 1);       /* no data counted */
	assert_int_equal(fx_status(f, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(f->b->stats.io_errors, 1);
}

/* The file shrank under the device: the read comes back short, the engine
 * asks for the rest, gets end of file, and the request fails. */
static void test_short_read_past_eof(void **state)
{
	struct fx *f = *state;
	assert_int_equal(truncate(f->path, (SECTORS - 4) * 512), 0);
	fx_req(f, 0, VIRTIO_BLK_T_IN, SECTORS - 8, 4096);
	fx_req(f, 1, VIRTIO_BLK_T_IN, 0, 4096);
	fx_notify(f);
	fx_until_used(f, 2);
	assert_int_equal(fx_status(f, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(fx_status(f, 1), VIRTIO_BLK_S_OK);
	/* The first half did arrive before the end of the file. */
	assert_int_equal(((uint8_t *)vqf_ptr(&f->m, f->q[0].data))[0], (SECTORS - 8) & 0xff);
}

/* At most BLK_URING_DEPTH requests are in flight; the rest stay in the
 * avail ring until slots come back, then all complete. */
static void test_queue_depth_bound(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < NREQ; i++)
		fx_req(f, i, VIRTIO_BLK_T_IN, i, 512);
	fx_notify(f);
	for (int k = 0; k < 4; k++)
		blk_process(f->b);        /* the budget's requeues */
	assert_int_equal(blk_uring_busy(f->b->uring), BLK_URING_DEPTH);
	assert_int_equal(vqf_used_idx(&f->r), 0);
	assert_int_equal(virtq_avail_count(&f->b->vq), NREQ - BLK_URING_DEPTH);
	for (int k = 0; k < 1000 && vqf_used_idx(&f->r) != NREQ; k++) {
		fx_event(f);
		blk_process(f->b);
		assert_true(blk_uring_busy(f->b->uring) <= BLK_URING_DEPTH);
	}
	assert_int_equal(vqf_used_idx(&f->r), NREQ);
	for (unsigned i = 0; i < NREQ; i++) {
		assert_int_equal(fx_status(f, i), VIRTIO_BLK_S_OK);
		assert_int_equal(((uint8_t *)vqf_ptr(&f->m, f->q[i].data))[0], i & 0xff);
	}
}

/* blk_drain completes everything in flight to the guest, no event needed. */
static void test_drain(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < 32; i++)
		fx_req(f, i, i % 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, i, 512);
	fx_notify(f);
	assert_true(blk_uring_busy(f->b->uring) > 0);
	int irqs = f->irqs;
	assert_int_equal(blk_drain(f->b), 0);
	assert_int_equal(blk_uring_busy(f->b->uring), 0);
	assert_int_equal(vqf_used_idx(&f->r), 32);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(fx_status(f, i), VIRTIO_BLK_S_OK);
	assert_true(f->irqs > irqs);
	assert_int_equal(blk_drain(f->b), 0);     /* nothing left: returns at once */
}

/* Pause and snapshot: blk_quiesce serves the queue as a kick does and waits
 * for the engine, again while requests wait for a free slot (more than
 * BLK_URING_DEPTH here), until nothing is in flight: every request is
 * completed to the guest, with no event handled. */
static void test_quiesce(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < NREQ; i++)
		fx_req(f, i, i % 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, i, 512);
	int irqs = f->irqs;
	assert_int_equal(blk_quiesce(f->b), 0);
	assert_int_equal(blk_uring_busy(f->b->uring), 0);
	assert_int_equal(virtq_avail_count(&f->b->vq), 0);
	assert_int_equal(vqf_used_idx(&f->r), NREQ);
	for (unsigned i = 0; i < NREQ; i++) {
		assert_int_equal(fx_status(f, i), VIRTIO_BLK_S_OK);
		if (i % 2 == 0)
			assert_int_equal(((uint8_t *)vqf_ptr(&f->m, f->q[i].data))[0], i & 0xff);
	}
	assert_int_equal(f->b->stats.read_count, NREQ / 2);
	assert_int_equal(f->b->stats.write_count, NREQ / 2);
	assert_true(f->irqs > irqs);
	assert_int_equal(blk_quiesce(f->b), 0);   /* nothing left: returns at once */
}

/* The rate limiter still decides when a request may start. */
static void test_rate_limited(void **state)
{
	struct fx *f = *state;
	fx_req(f, 0, VIRTIO_BLK_T_IN, 1, 512);
	fx_req(f, 1, VIRTIO_BLK_T_IN, 2, 512);
	fx_notify(f);
	assert_int_equal(blk_uring_busy(f->b->uring), 1);
	assert_true(f->b->stats.throttled >= 1);
	fx_until_used(f, 1);
	assert_int_equal(virtq_avail_count(&f->b->vq), 1);
	struct pollfd p = { .fd = ratelimit_fd(&f->b->rl), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	blk_ratelimit_event(f->b);
	fx_until_used(f, 2);
	assert_int_equal(fx_status(f, 1), VIRTIO_BLK_S_OK);
}

/* A reset with requests in flight: they finish without a used element,
 * and the device works again after bring-up. */
static void test_reset_orphans(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < 8; i++)
		fx_req(f, i, VIRTIO_BLK_T_IN, i, 512);
	fx_notify(f);
	assert_int_equal(blk_uring_busy(f->b->uring), 8);
	vqf_mmio_write(&f->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(blk_drain(f->b), 0);
	assert_int_equal(blk_uring_busy(f->b->uring), 0);
	assert_int_equal(vqf_used_idx(&f->r), 0);
	assert_int_equal(fx_status(f, 0), 0xee);
	vqf_ring_init(&f->r, &f->m, BLK_QUEUE_SIZE);
	assert_true(vqf_mmio_bringup(&f->t, FEAT, &f->r, 1) & VIRTIO_STATUS_DRIVER_OK);
	fx_req(f, 3, VIRTIO_BLK_T_IN, 9, 512);
	fx_notify(f);
	fx_until_used(f, 1);
	assert_int_equal(fx_status(f, 3), VIRTIO_BLK_S_OK);
	assert_int_equal(((uint8_t *)vqf_ptr(&f->m, f->q[3].data))[0], 9);
}

/* PATCH /drives: what is in flight completes first, then the new file
 * backs the drive (registered in the ring in place of the old one). */
static void test_new_backing_file(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < 16; i++)
		fx_req(f, i, VIRTIO_BLK_T_IN, i, 512);
	fx_notify(f);
	char p2[] = "/tmp/ember-test-blku2-XXXXXX";
	int fd = mkstemp(p2);
	assert_true(fd >= 0);
	uint8_t sec[512];
	memset(sec, 0xab, sizeof(sec));
	for (int s = 0; s < 8; s++)
		assert_int_equal(write(fd, sec, sizeof(sec)), 512);
	char err[160];
	assert_int_equal(blk_update(f->b, fd, NULL, err, sizeof(err)), 0);
	assert_int_equal(vqf_used_idx(&f->r), 16);
	assert_int_equal(((uint8_t *)vqf_ptr(&f->m, f->q[15].data))[0], 15);
	assert_int_equal(vqf_mmio_read(&f->t, VIRTIO_MMIO_CONFIG), 8);
	fx_req(f, 20, VIRTIO_BLK_T_IN, 7, 512);
	fx_notify(f);
	fx_until_used(f, 17);
	assert_int_equal(fx_status(f, 20), VIRTIO_BLK_S_OK);
	assert_int_equal(((uint8_t *)vqf_ptr(&f->m, f->q[20].data))[0], 0xab);
	unlink(p2);
}

/* Teardown with requests in flight waits for them (no completion may
 * land in freed memory): blk_destroy leaves nothing busy. */
static void test_destroy_in_flight(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < 64; i++)
		fx_req(f, i, VIRTIO_BLK_T_OUT, i, 4096 / 8);
	fx_notify(f);
	assert_true(blk_uring_busy(f->b->uring) > 0);
	blk_destroy(f->b);
	f->b = NULL;
	uint8_t buf[512];
	vqf_file_read(f->path, 0, buf, sizeof(buf));
	assert_int_equal(vqf_used_idx(&f->r), 64);
}

static int64_t engine_res;
static unsigned engine_slot;

static void engine_done(void *opaque, unsigned slot, int64_t res)
{
	(void)opaque;
	engine_slot = slot;
	engine_res = res;
}

/* The engine alone: a short read is continued where it stopped. The file
 * has 100 bytes when the read of 200 completes (short); 100 more arrive
 * before the completion is reaped, and the continuation gets them. */
static void test_engine_short_read_continues(void **state)
{
	(void)state;
	if (blk_uring_probe())
		skip();
	char path[] = "/tmp/ember-test-blku3-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t first[100], second[100];
	memset(first, 'a', sizeof(first));
	memset(second, 'b', sizeof(second));
	assert_int_equal(write(fd, first, sizeof(first)), 100);
	struct blk_uring *u;
	char err[160];
	assert_int_equal(blk_uring_create(fd, &u, err, sizeof(err)), 0);
	static uint8_t buf[200];
	struct iovec iov[2] = { { buf, 120 }, { buf + 120, 80 } };
	int slot = blk_uring_rw(u, iov, 2, 0, false);
	assert_true(slot >= 0);
	assert_int_equal(blk_uring_submit(u), 1);
	struct pollfd p = { .fd = blk_uring_eventfd(u), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(write(fd, second, sizeof(second)), 100);
	engine_res = 0;
	unsigned got = blk_uring_reap(u, engine_done, NULL);
	for (int k = 0; k < 100 && !got; k++) {
		assert_int_equal(poll(&p, 1, 5000), 1);
		got = blk_uring_reap(u, engine_done, NULL);
	}
	assert_int_equal(got, 1);
	assert_int_equal(engine_slot, slot);
	assert_int_equal(engine_res, 200);
	assert_memory_equal(buf, first, 100);
	assert_memory_equal(buf + 100, second, 100);
	assert_int_equal(blk_uring_busy(u), 0);
	blk_uring_destroy(u);
	close(fd);
	unlink(path);
}

static unsigned order_n;
static unsigned order[4];
static int64_t order_res[4];

static void order_done(void *opaque, unsigned slot, int64_t res)
{
	(void)opaque;
	if (order_n < 4) {
		order[order_n] = slot;
		order_res[order_n] = res;
	}
	order_n++;
}

/* A write comes back short (the file size limit cuts it) while a flush
 * queued after it has already run: the write's rest goes out, and the flush
 * runs again behind it, so it is handed back after the write, which is
 * whole. */
static void test_engine_flush_after_short_write(void **state)
{
	(void)state;
	if (blk_uring_probe())
		skip();
	char path[] = "/tmp/ember-test-blku4-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	struct blk_uring *u;
	char err[160];
	assert_int_equal(blk_uring_create(fd, &u, err, sizeof(err)), 0);
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = (struct rlimit){ 100, old.rlim_max };   /* the soft limit only */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	static uint8_t buf[200];
	memset(buf, 'w', sizeof(buf));
	struct iovec iov = { buf, sizeof(buf) };
	int w = blk_uring_rw(u, &iov, 1, 0, true);
	int f = blk_uring_flush(u, true);
	assert_true(w >= 0 && f >= 0);
	assert_int_equal(blk_uring_submit(u), 2);
	/* Both have finished once: the write at the limit, the flush after it. */
	struct pollfd p = { .fd = blk_uring_eventfd(u), .events = POLLIN };
	for (int k = 0; k < 100; k++) {
		assert_int_equal(poll(&p, 1, 5000), 1);
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		if (st.st_size == 100)
			break;
	}
	usleep(100000);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	order_n = 0;
	for (int k = 0; k < 100 && order_n < 2; k++) {
		blk_uring_reap(u, order_done, NULL);
		if (order_n < 2)
			assert_int_equal(poll(&p, 1, 5000), 1);
	}
	assert_int_equal(order_n, 2);
	assert_int_equal(order[0], w);
	assert_int_equal(order_res[0], 200);
	assert_int_equal(order[1], f);
	assert_int_equal(order_res[1], 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 200);
	blk_uring_destroy(u);
	signal(SIGXFSZ, SIG_DFL);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_completes_on_event, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_writes_then_flush_in_order, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_error, fx_setup_rdonly, fx_teardown),
		cmocka_unit_test_setup_teardown(test_read_error, fx_setup_wronly, fx_teardown),
		cmocka_unit_test_setup_teardown(test_short_read_past_eof, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_queue_depth_bound, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_drain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_quiesce, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited, fx_setup_rl, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reset_orphans, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_backing_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_destroy_in_flight, fx_setup, fx_teardown),
		cmocka_unit_test(test_engine_short_read_continues),
		cmocka_unit_test(test_engine_flush_after_short_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
