// SPDX-License-Identifier: Apache-2.0
/* The virtio-mmio register file and status state machine, in front of a
 * real blk or net device, driven by a sequence of register accesses from
 * the input (any order, any width, any value), with kicks reaching the
 * device like the ioeventfd path does.
 *
 * Input: [u8 flags][u8 nops][nops x (u8 kind, u16 offset, u32 value)][RAM]
 * flags & 1: net device (else blk). kind % 8: 0,1 32-bit write; 2 32-bit
 * read; 3 write of width 1/2/8 (value bits); 4 read of width 1/2/8;
 * 5 driver-style bring-up with the fixed rings of fuzz/mkseeds.py;
 * 6 tap readable (net) / rate-limit timer (blk); 7 full reset (status 0).
 * Checks: the register file keeps its constants (magic, version, device
 * id); Status never shows DRIVER_OK without FEATURES_OK unless FAILED or
 * NEEDS_RESET is set; QueueReady reads 0 after a reset. */
#include "virtio/blk.h"
#include "fuzz/common.h"
#include "src/log.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "tests/unit/vq_fake.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RAM_SIZE 0x10000
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
	struct virtio_dev *d = opaque;
	d->ops->notify(d, q);
}

static void check_status(struct virtio_mmio *t)
{
	uint32_t st = vqf_mmio_read(t, VIRTIO_MMIO_STATUS);
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_FEATURES_OK) &&
	    !(st & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_NEEDS_RESET)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct guest_mem mem;
	struct virtio_mmio t;
	struct blk_dev *b = NULL;
	struct net_dev *n = NULL;
	struct virtio_dev *dev;
	char err[256];
	int sv[2] = { -1, -1 }, disk = -1;

	uint8_t flags = fz_u8(&f);
	unsigned nops = fz_u8(&f);
	const uint8_t *ops;
	size_t oplen = fz_take(&f, nops * 7u, &ops);
	const uint8_t *img;
	size_t ilen = fz_take(&f, RAM_SIZE, &img);
	memcpy(ram, img, ilen);
	memset(ram + ilen, 0, RAM_SIZE - ilen);
	guest_mem_init_from(&mem, ram, RAM_SIZE);

	if (flags & 1) {
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
			abort();
		send(sv[1], "0123456789abcdefghijklmnopqrstuvwxyz", 36, MSG_DONTWAIT);
		struct net_params p = { .iface_id = "eth0", .tap_fd = sv[0], .has_mac = true };
		if (net_create(&p, &mem, NULL, NULL, &n, err, sizeof(err)) < 0)
			abort();
		dev = &n->vdev;
	} else {
		disk = fuzz_memfd("disk", NULL, 0);
		if (ftruncate(disk, 8192) < 0)
			abort();
		struct blk_params p = { .drive_id = "d", .fd = disk, .writeback = true };
		if (blk_create(&p, &mem, &b, err, sizeof(err)) < 0)
			abort();
		dev = &b->vdev;
	}
	virtio_mmio_init(&t, dev, irq, kick, dev);
	uint32_t id = dev->ops->device_id;

	struct fz o = { ops, oplen };
	for (unsigned i = 0; i < nops && o.n; i++) {
		uint8_t kind = fz_u8(&o);
		uint64_t off = fz_u16(&o) % 0x200;
		uint32_t v = fz_u32(&o);
		uint8_t buf[8];
		static const uint32_t widths[4] = { 1, 2, 8, 4 };
		uint32_t w = widths[v & 3];
		switch (kind % 8) {
		case 0: case 1:
			vqf_mmio_write(&t, off, v);
			break;
		case 2:
			vqf_mmio_read(&t, off);
			break;
		case 3:
			memcpy(buf, &v, 4);
			memcpy(buf + 4, &v, 4);
			virtio_mmio_access(&t, off, buf, w, true);
			break;
		case 4:
			virtio_mmio_access(&t, off, buf, w, false);
			break;
		case 5: {
			struct vqf_ring r[2] = {
				{ .num = (uint16_t)(v & 0x1ff), .desc = 0x1000, .avail = 0x2000,
				  .used = 0x3000 },
				{ .num = (uint16_t)(v >> 16 & 0x1ff), .desc = 0x9000, .avail = 0xa000,
				  .used = 0xb000 },
			};
			vqf_mmio_bringup(&t, (uint64_t)v << 16 | VIRTIO_BIT(VIRTIO_F_VERSION_1), r,
					 dev->nqueues);
			break;
		}
		case 6:
			if (n)
				net_tap_event(n, EPOLLIN);
			else
				blk_ratelimit_event(b);
			break;
		case 7:
			vqf_mmio_write(&t, VIRTIO_MMIO_STATUS, 0);
			for (unsigned q = 0; q < dev->nqueues; q++) {
				vqf_mmio_write(&t, VIRTIO_MMIO_QUEUE_SEL, q);
				if (vqf_mmio_read(&t, VIRTIO_MMIO_QUEUE_READY))
					abort();
			}
			break;
		}
		check_status(&t);
		if (vqf_mmio_read(&t, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
		    vqf_mmio_read(&t, VIRTIO_MMIO_VERSION_REG) != VIRTIO_MMIO_VERSION ||
		    vqf_mmio_read(&t, VIRTIO_MMIO_DEVICE_ID) != id)
			abort();
	}
	if (n) {
		net_destroy(n);
		close(sv[1]);
	} else {
		blk_destroy(b);
	}
	return 0;
}
