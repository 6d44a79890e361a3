// SPDX-License-Identifier: Apache-2.0
/* virtio-blk request handling: a device over a 64 KiB memfd, brought up
 * through the mmio transport (as a driver would), then the request queue
 * served with whatever the input put in 32 KiB of guest RAM, with a racing
 * guest rewriting RAM between kicks.
 *
 * Input: [u8 flags][u16 num][u8 nmut][nmut x (u16 offset, u16 value)][RAM]
 * The ring is at desc 0x1000, avail 0x2000, used 0x3000 (fuzz/mkseeds.py).
 * flags: 1 read-only, 2 Writeback, 4 EVENT_IDX, 8 INDIRECT_DESC, 16 a tiny
 * rate limiter, 32 backing file not a multiple of 512, 64 FLUSH feature,
 * 128 io_engine Async (the io_uring engine: requests stay in flight while
 * the guest rewrites RAM; completions are handled after each kick, and the
 * rest drained before the checks).
 * Checks: the backing file never grows; a read-only one never changes;
 * the last used element names a head < num. */
#include "virtio/blk.h"
#include "fuzz/common.h"
#include "src/log.h"
#include "virtio/mmio.h"
#include "tests/unit/vq_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAM_SIZE 0x8000
#define DISK_SIZE 0x10000
static uint8_t *ram;
static int irqs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		abort();
	log_set_level(getenv("FUZZ_VERBOSE") ? LOG_TRACE : LOG_OFF);
	return 0;
}

static void irq(void *opaque) { irqs++; }

static void kick(void *opaque, unsigned q)
{
	struct blk_dev *b = opaque;
	b->vdev.ops->notify(&b->vdev, q);
}

static uint64_t file_size(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		abort();
	return (uint64_t)st.st_size;
}

static bool all_zero(int fd, uint64_t len)
{
	static uint8_t buf[DISK_SIZE + 512];
	if (pread(fd, buf, len, 0) != (ssize_t)len)
		abort();
	for (uint64_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct guest_mem mem;
	struct virtio_mmio t;
	struct blk_dev *b;
	const uint8_t *img;
	char err[256];
	uint16_t mut_off[32], mut_val[32];

	uint8_t flags = fz_u8(&f);
	uint16_t num = fz_u16(&f);
	unsigned nmut = fz_u8(&f) % 32;
	for (unsigned i = 0; i < nmut; i++) {
		mut_off[i] = fz_u16(&f) % (RAM_SIZE - 1);
		mut_val[i] = fz_u16(&f);
	}
	size_t ilen = fz_take(&f, RAM_SIZE, &img);
	memcpy(ram, img, ilen);
	memset(ram + ilen, 0, RAM_SIZE - ilen);
	guest_mem_init_from(&mem, ram, RAM_SIZE);

	uint64_t dsize = DISK_SIZE + ((flags & 32) ? 300 : 0);
	int fd = fuzz_memfd("disk", NULL, 0);
	if (ftruncate(fd, (off_t)dsize) < 0)
		abort();
	struct ratelimit_config rl = {
		.bandwidth = { .set = true, .size = 4096, .refill_time_ms = 100 },
		.ops = { .set = true, .size = 2, .refill_time_ms = 100, .one_time_burst = 1 },
	};
	struct blk_params p = {
		.drive_id = "fuzzdrive-with-a-long-id-over-20",
		.fd = dup(fd),
		.read_only = flags & 1,
		.writeback = flags & 2,
		.rate_limiter = (flags & 16) ? &rl : NULL,
		.async = flags & 128,
	};
	if (blk_create(&p, &mem, &b, err, sizeof(err)) < 0)
		abort();
	virtio_mmio_init(&t, &b->vdev, irq, kick, b);

	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	if (flags & 4)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (flags & 8)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (flags & 64)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	if (flags & 1)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	struct vqf_ring r = { .num = num, .desc = 0x1000, .avail = 0x2000, .used = 0x3000 };
	vqf_mmio_bringup(&t, features, &r, 1);

	for (unsigned i = 0; i <= nmut; i++) {
		if (i < nmut)
			memcpy(ram + mut_off[i], &mut_val[i], 2);
		vqf_mmio_write(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		if (flags & 16)
			blk_ratelimit_event(b);
		if (flags & 128)
			blk_io_event(b);
	}
	if (blk_drain(b) != 0)
		abort();
	/* The last used element names a head the driver could have given (only
	 * the last: later data transfers may legally overwrite earlier ones). */
	if (!nmut && b->vq.active && !b->vq.broken && b->vq.used_idx) {
		uint32_t id;
		memcpy(&id, b->vq.used + 4 + 8 * ((b->vq.used_idx - 1u) % b->vq.num), 4);
		if (id >= b->vq.num)
			abort();
	}
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "blk: status 0x%x reads %llu writes %llu flushes %llu invalid %llu "
			"used %u\n", b->vdev.status, (unsigned long long)b->stats.read_count,
			(unsigned long long)b->stats.write_count,
			(unsigned long long)b->stats.flush_count,
			(unsigned long long)b->stats.invalid_reqs, b->vq.used_idx);
	blk_destroy(b);
	if (file_size(fd) != dsize)
		abort();   /* a request wrote past the end of the disk */
	if ((flags & 1) && !all_zero(fd, dsize))
		abort();   /* a read-only disk changed */
	close(fd);
	return 0;
}
