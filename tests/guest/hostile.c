// SPDX-License-Identifier: Apache-2.0
/*
 * hostile.c - a misbehaving guest. Static; run as root inside an
 * ember guest as the LAST test: it unbinds the virtio-mmio drivers (the
 * root disk goes away), attacks the devices and ports, then triple-faults.
 *
 *   gcc -static -O2 -Wall -o hostile tests/guest/hostile.c
 *   hostile [--keep-drivers] [--no-triple] [--seed N] [--serial-mib N]
 *   hostile --refill-blk SECS
 *
 * Phases (each prints "hostile: <phase> ..." on stdout, the console):
 *   probe      find virtio-mmio devices at 0xC0001000 + n*0x1000 (/dev/mem)
 *   unbind     detach the kernel's virtio-mmio driver from every device
 *   registers  garbage of every width to every register, forward, backward,
 *              random orders, and all 720 orders of six state-machine writes
 *   early-kick QueueNotify at every status stage before DRIVER_OK
 *   rings      bring-ups whose rings/buffers point outside RAM, into the MMIO
 *              gap, at the device's own registers, or loop; then kick
 *   unmapped   reads/writes in the MMIO gap where no device is
 *   ports      random I/O port reads/writes (iopl(3)), except the ports that
 *              would end the test early (i8042 0x64/0x60, PIC, PIT, 0xcf9)
 *   serial     a flood of bytes straight to the COM1 THR, LSR ignored, and
 *              garbage to the UART control registers (restored after)
 *   triple     "triple" into /sys/kernel/reboot/type, then reboot(2): Linux
 *              loads an empty IDT and executes int3 (arch/x86/kernel/reboot.c
 *              BOOT_TRIPLE) -> triple fault -> KVM_EXIT_SHUTDOWN. Without
 *              that file (kernel < 5.11 or !SYSFS) it says so and reboots
 *              with the kernel's reboot= type (ember guests use reboot=k:
 *              i8042 reset), which is not a triple fault.
 * --refill-blk SECS runs only probe, unbind and:
 *   refill     a virtio-blk request ring of the largest size, every entry a
 *              64 KiB read of sector 0 (the drive must have that much),
 *              kept full for SECS seconds: as the device
 *              completes requests the guest makes as many available again,
 *              so the ring never runs dry (a kick only when the device has
 *              gone idle). Prints "hostile: refill dev N: flooding" first and
 *              "hostile: refill dev N: done, R requests" at the end.
 * After each device phase it prints the device's Status register so the
 * runner can see NEEDS_RESET (0x40) rather than a dead VMM. The last line
 * before the triple fault is "hostile: triple-fault now" (or
 * "hostile: reboot now (no triple-fault path: ...)").
 * It refuses to run (exit 3) unless the kernel command line has
 * "virtio_mmio.device=", so it cannot wreck a host by accident.
 * Buffers whose guest-physical address the device must see come from
 * /proc/self/pagemap (locked page); without it, low RAM at 0x60000 through
 * /dev/mem (the kernel reserves the first MiB).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#define MMIO_BASE   0xC0001000UL
#define MMIO_STRIDE 0x1000UL
#define MAX_DEVS    32
#define MAGIC       0x74726976u

enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_DEV_FEAT = 0x010,
	R_DEV_FEAT_SEL = 0x014, R_DRV_FEAT = 0x020, R_DRV_FEAT_SEL = 0x024, R_QSEL = 0x030,
	R_QNUM_MAX = 0x034, R_QNUM = 0x038, R_QREADY = 0x044, R_QNOTIFY = 0x050,
	R_ISR = 0x060, R_ACK = 0x064, R_STATUS = 0x070, R_DESC_LO = 0x080, R_DESC_HI = 0x084,
	R_AVAIL_LO = 0x090, R_AVAIL_HI = 0x094, R_USED_LO = 0x0a0, R_USED_HI = 0x0a4,
	R_CONFIG = 0x100,
};

static int memfd = -1;
static volatile uint8_t *dev[MAX_DEVS];
static unsigned ndev;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible with --seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hostile: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static volatile uint8_t *map_phys(uint64_t pa, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, (off_t)pa);
	return p == MAP_FAILED ? NULL : p;
}

static uint32_t rd32(volatile uint8_t *b, unsigned off) { return *(volatile uint32_t *)(b + off); }
static void wr32(volatile uint8_t *b, unsigned off, uint32_t v) { *(volatile uint32_t *)(b + off) = v; }

/* Any width, as the guest CPU would issue it. */
static void wr_any(volatile uint8_t *b, unsigned off, uint64_t v, unsigned w)
{
	switch (w) {
	case 1: *(volatile uint8_t *)(b + off) = (uint8_t)v; break;
	case 2: *(volatile uint16_t *)(b + (off & ~1u)) = (uint16_t)v; break;
	case 8: *(volatile uint64_t *)(b + (off & ~7u)) = v; break;
	default: *(volatile uint32_t *)(b + (off & ~3u)) = (uint32_t)v; break;
	}
}

static uint64_t rd_any(volatile uint8_t *b, unsigned off, unsigned w)
{
	switch (w) {
	case 1: return *(volatile uint8_t *)(b + off);
	case 2: return *(volatile uint16_t *)(b + (off & ~1u));
	case 8: return *(volatile uint64_t *)(b + (off & ~7u));
	default: return *(volatile uint32_t *)(b + (off & ~3u));
	}
}

static void show_status(unsigned d, const char *phase)
{
	uint32_t st = rd32(dev[d], R_STATUS);
	say("%s dev %u status 0x%x%s magic 0x%x", phase, d, st,
	    (st & 0x40) ? " NEEDS_RESET" : "", rd32(dev[d], R_MAGIC));
}

/* ---- probe / unbind ---- */
static void phase_probe(void)
{
	for (unsigned n = 0; n < MAX_DEVS; n++) {
		volatile uint8_t *b = map_phys(MMIO_BASE + n * MMIO_STRIDE, MMIO_STRIDE);
		if (!b)
			break;
		if (rd32(b, R_MAGIC) != MAGIC) {
			munmap((void *)b, MMIO_STRIDE);
			break;
		}
		dev[ndev++] = b;
		say("probe dev %u at 0x%lx version %u id %u", n, MMIO_BASE + n * MMIO_STRIDE,
		    rd32(b, R_VERSION), rd32(b, R_DEVICE_ID));
	}
	say("probe found %u devices", ndev);
}

static void phase_unbind(void)
{
	static const char *const drv = "/sys/bus/platform/drivers/virtio-mmio";
	char path[512];
	struct dirent *e;
	unsigned n = 0;

	sync();
	DIR *d = opendir(drv);
	if (!d) {
		say("unbind: %s: %s (driver not bound?)", drv, strerror(errno));
		return;
	}
	/* Every device the driver holds is a symlink named after it
	 * ("virtio-mmio.0" for command-line devices). */
	while ((e = readdir(d))) {
		if (e->d_type != DT_LNK || !strcmp(e->d_name, "module"))
			continue;
		snprintf(path, sizeof(path), "%s/unbind", drv);
		int fd = open(path, O_WRONLY);
		if (fd < 0)
			break;
		if (write(fd, e->d_name, strlen(e->d_name)) > 0) {
			say("unbind %s", e->d_name);
			n++;
		}
		close(fd);
	}
	closedir(d);
	say("unbind: %u devices detached from their drivers", n);
}

/* ---- registers ---- */
static int next_perm(unsigned *a, unsigned n)
{
	unsigned i = n - 1;
	while (i > 0 && a[i - 1] >= a[i])
		i--;
	if (i == 0)
		return 0;
	unsigned j = n - 1;
	while (a[j] <= a[i - 1])
		j--;
	unsigned t = a[i - 1]; a[i - 1] = a[j]; a[j] = t;
	for (unsigned l = i, r = n - 1; l < r; l++, r--) {
		t = a[l]; a[l] = a[r]; a[r] = t;
	}
	return 1;
}

static void garbage_write(unsigned d, unsigned off)
{
	static const unsigned widths[4] = { 1, 2, 4, 8 };
	wr_any(dev[d], off, rnd(), widths[rnd() & 3]);
	(void)rd_any(dev[d], (unsigned)(rnd() % 0x200), widths[rnd() & 3]);
}

static void phase_registers(void)
{
	unsigned offs[0x200 / 4];
	for (unsigned d = 0; d < ndev; d++) {
		for (unsigned i = 0; i < 0x200 / 4; i++)
			offs[i] = i * 4;
		for (unsigned i = 0; i < 0x200 / 4; i++)                 /* forward */
			garbage_write(d, offs[i]);
		for (unsigned i = 0x200 / 4; i-- > 0;)                     /* backward */
			garbage_write(d, offs[i]);
		for (unsigned round = 0; round < 64; round++) {           /* shuffled */
			for (unsigned i = 0x200 / 4 - 1; i > 0; i--) {
				unsigned j = (unsigned)(rnd() % (i + 1));
				unsigned t = offs[i]; offs[i] = offs[j]; offs[j] = t;
			}
			for (unsigned i = 0; i < 0x200 / 4; i++)
				garbage_write(d, offs[i] + (unsigned)(rnd() & 3));
		}
		/* Beyond the 0x200 register window, to the end of the 4 KiB slot. */
		for (unsigned off = 0x200; off < MMIO_STRIDE; off += 4)
			wr_any(dev[d], off, rnd(), 4);
		show_status(d, "registers");

		/* Every order of six state-machine writes with plausible values. */
		static const unsigned sm[6] = { R_STATUS, R_QREADY, R_QNOTIFY, R_DRV_FEAT, R_QNUM,
						R_QSEL };
		unsigned perm[6] = { 0, 1, 2, 3, 4, 5 }, count = 0;
		do {   /* all 720 orders, lexicographically */
			wr32(dev[d], R_STATUS, 0);
			for (unsigned i = 0; i < 6; i++) {
				uint32_t v = sm[perm[i]] == R_STATUS ? (uint32_t)(rnd() & 0xff) :
					     (uint32_t)(rnd() & 0x1ff);
				wr32(dev[d], sm[perm[i]], v);
			}
			count++;
		} while (next_perm(perm, 6));
		say("registers dev %u: %u orders of the state-machine registers", d, count);
		wr32(dev[d], R_STATUS, 0);
		show_status(d, "registers-reset");
	}
}

/* ---- kicks before DRIVER_OK ---- */
static void phase_early_kick(void)
{
	static const uint32_t stages[] = { 0, 1, 3, 11, 0x80, 0x40 | 3 };
	for (unsigned d = 0; d < ndev; d++) {
		for (unsigned s = 0; s < sizeof(stages) / sizeof(stages[0]); s++) {
			wr32(dev[d], R_STATUS, 0);
			uint32_t st = 0;
			/* Build the stage bit by bit, as a driver would. */
			for (uint32_t bit = 1; bit <= 0x80; bit <<= 1) {
				if (stages[s] & bit) {
					st |= bit;
					wr32(dev[d], R_STATUS, st);
				}
			}
			for (uint32_t q = 0; q < 4; q++)
				wr32(dev[d], R_QNOTIFY, q);
			wr32(dev[d], R_QNOTIFY, 0xffffffffu);
			wr32(dev[d], R_QNOTIFY, 0x10000);
		}
		show_status(d, "early-kick");
		wr32(dev[d], R_STATUS, 0);
	}
}

/* ---- rings ---- */
struct pbuf {
	uint8_t *va;
	uint64_t pa;
};

static int get_pbuf(struct pbuf *b)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *va = aligned_alloc((size_t)pg, (size_t)pg);
	if (va && mlock(va, (size_t)pg) == 0) {
		memset(va, 0, (size_t)pg);
		int fd = open("/proc/self/pagemap", O_RDONLY);
		uint64_t e = 0;
		if (fd >= 0 && pread(fd, &e, 8, (off_t)((uintptr_t)va / (uintptr_t)pg * 8)) == 8 &&
		    (e >> 63) && (e & ((1ULL << 55) - 1))) {
			close(fd);
			b->va = va;
			b->pa = (e & ((1ULL << 55) - 1)) * (uint64_t)pg;
			return 0;
		}
		if (fd >= 0)
			close(fd);
	}
	/* Fallback: reserved low memory through /dev/mem. */
	volatile uint8_t *p = map_phys(0x60000, 4096);
	if (!p)
		return -1;
	b->va = (uint8_t *)p;
	b->pa = 0x60000;
	memset(b->va, 0, 4096);
	return 0;
}

struct ring_case {
	const char *name;
	uint64_t desc, avail, used;    /* 0 = inside our page */
	uint64_t buf;                  /* descriptor buffer address (0 = our page) */
	uint32_t len;
	uint16_t flags0, next0;
	uint16_t num;
	uint16_t avail_idx;
	uint16_t head;
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

static void run_ring(unsigned d, struct pbuf *pb, const struct ring_case *c)
{
	volatile uint8_t *r = dev[d];
	uint8_t *pg = pb->va;
	uint64_t desc = c->desc ? c->desc : pb->pa;
	uint64_t avail = c->avail ? c->avail : pb->pa + 0x800;
	uint64_t used = c->used ? c->used : pb->pa + 0xa00;
	uint64_t buf = c->buf ? c->buf : pb->pa + 0xe00;

	memset(pg, 0, 4096);
	for (unsigned i = 0; i < 8; i++) {      /* descriptor table in our page */
		uint8_t *e = pg + 16 * i;
		uint64_t a = buf + 16 * i;
		uint32_t l = c->len;
		uint16_t f = i == 0 ? c->flags0 : 1, n = i == 0 ? c->next0 : (uint16_t)((i + 1) % 8);
		memcpy(e, &a, 8);
		memcpy(e + 8, &l, 4);
		memcpy(e + 12, &f, 2);
		memcpy(e + 14, &n, 2);
	}
	put16(pg + 0x800 + 2, c->avail_idx);     /* avail idx */
	for (unsigned i = 0; i < 8; i++)
		put16(pg + 0x800 + 4 + 2 * i, c->head);

	wr32(r, R_STATUS, 0);
	wr32(r, R_STATUS, 1);
	wr32(r, R_STATUS, 3);
	wr32(r, R_DRV_FEAT_SEL, 0);
	wr32(r, R_DRV_FEAT, rd32(r, R_DEV_FEAT));
	wr32(r, R_DRV_FEAT_SEL, 1);
	wr32(r, R_DRV_FEAT, 1);                  /* VERSION_1 */
	wr32(r, R_STATUS, 11);
	for (uint32_t q = 0; q < 2; q++) {
		wr32(r, R_QSEL, q);
		if (!rd32(r, R_QNUM_MAX))
			continue;
		wr32(r, R_QNUM, c->num);
		wr32(r, R_DESC_LO, (uint32_t)desc);
		wr32(r, R_DESC_HI, (uint32_t)(desc >> 32));
		wr32(r, R_AVAIL_LO, (uint32_t)avail);
		wr32(r, R_AVAIL_HI, (uint32_t)(avail >> 32));
		wr32(r, R_USED_LO, (uint32_t)used);
		wr32(r, R_USED_HI, (uint32_t)(used >> 32));
		wr32(r, R_QREADY, 1);
	}
	wr32(r, R_STATUS, 15);
	for (uint32_t q = 0; q < 2; q++)
		wr32(r, R_QNOTIFY, q);
	usleep(20000);                            /* let the device's thread run */
	/* The guest keeps scribbling on the ring while the device may read it. */
	for (unsigned i = 0; i < 64; i++) {
		put16(pg + 0x800 + 2, (uint16_t)rnd());
		wr32(r, R_QNOTIFY, (uint32_t)(rnd() & 1));
	}
	usleep(20000);
	show_status(d, c->name);
	(void)rd32(r, R_ISR);
	wr32(r, R_ACK, 3);
	wr32(r, R_STATUS, 0);
}

static void phase_rings(void)
{
	struct pbuf pb;
	if (get_pbuf(&pb) < 0) {
		say("rings: no guest-physical buffer (pagemap and /dev/mem failed): skipped");
		return;
	}
	say("rings: ring page at guest-physical 0x%llx", (unsigned long long)pb.pa);
	const struct ring_case cases[] = {
		{ "rings-desc-outside-ram", .desc = 0x7fffffff000ULL, .num = 8, .avail_idx = 1 },
		{ "rings-desc-in-mmio-gap", .desc = 0xC0000000ULL, .num = 8, .avail_idx = 1 },
		{ "rings-used-on-own-registers", .used = MMIO_BASE, .num = 8, .avail_idx = 1 },
		{ "rings-avail-top-of-4g", .avail = 0xfffffffeULL, .num = 8, .avail_idx = 1 },
		{ "rings-buffer-outside-ram", .buf = 0xffffffffffff0000ULL, .len = 0xffffffff,
		  .flags0 = 1, .next0 = 1, .num = 8, .avail_idx = 1 },
		{ "rings-buffer-in-mmio-gap", .buf = MMIO_BASE, .len = 4096, .flags0 = 3, .next0 = 1,
		  .num = 8, .avail_idx = 1 },
		{ "rings-loop", .len = 16, .flags0 = 1, .next0 = 0, .num = 8, .avail_idx = 1 },
		{ "rings-chain-of-8-wraps", .len = 16, .flags0 = 1, .next0 = 1, .num = 8,
		  .avail_idx = 1 },
		{ "rings-indirect-self", .len = 16 * 8, .flags0 = 4, .num = 8, .avail_idx = 1,
		  .buf = 0 },
		{ "rings-indirect-odd-len", .len = 17, .flags0 = 4, .num = 8, .avail_idx = 1 },
		{ "rings-head-out-of-range", .len = 16, .num = 8, .avail_idx = 1, .head = 9999 },
		{ "rings-avail-idx-jump", .len = 16, .num = 8, .avail_idx = 40000 },
		{ "rings-num-not-pow2", .len = 16, .num = 7, .avail_idx = 1 },
		{ "rings-num-too-big", .len = 16, .num = 65535, .avail_idx = 1 },
		{ "rings-num-zero", .len = 16, .num = 0, .avail_idx = 1 },
		{ "rings-misaligned", .desc = 1, .num = 8, .avail_idx = 1 },
	};
	for (unsigned d = 0; d < ndev; d++) {
		for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct ring_case c = cases[i];
			if (c.desc == 1)
				c.desc = pb.pa + 8;
			if (!strcmp(c.name, "rings-indirect-self"))
				c.buf = pb.pa - 16 * 0;   /* the table points at itself */
			run_ring(d, &pb, &c);
		}
	}
}

/* ---- refill ---- */
static uint16_t ld16(const uint8_t *p) { return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE); }
static void st16(uint8_t *p, uint16_t v) { __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE); }

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#define REFILL_PAGES 16                       /* data pages per request: 64 KiB */

static int phase_refill(unsigned secs)
{
	struct pbuf desc, avail, used, data, page[REFILL_PAGES];
	unsigned d;
	for (d = 0; d < ndev && rd32(dev[d], R_DEVICE_ID) != 2; d++)
		;
	if (d == ndev) {
		say("refill: no virtio-blk device");
		return 1;
	}
	int bad = get_pbuf(&desc) || get_pbuf(&avail) || get_pbuf(&used) || get_pbuf(&data) ||
		  desc.pa == avail.pa || avail.pa == used.pa;
	for (unsigned i = 0; i < REFILL_PAGES && !bad; i++)
		bad = get_pbuf(&page[i]) || page[i].pa == data.pa;
	if (bad) {
		say("refill: no guest-physical pages (needs /proc/self/pagemap)");
		return 1;
	}
	volatile uint8_t *r = dev[d];
	wr32(r, R_STATUS, 0);
	wr32(r, R_STATUS, 1);
	wr32(r, R_STATUS, 3);
	wr32(r, R_DRV_FEAT_SEL, 0);
	wr32(r, R_DRV_FEAT, 0);
	wr32(r, R_DRV_FEAT_SEL, 1);
	wr32(r, R_DRV_FEAT, 1);                  /* VERSION_1 only: no EVENT_IDX */
	wr32(r, R_STATUS, 11);
	wr32(r, R_QSEL, 0);
	uint32_t num = rd32(r, R_QNUM_MAX);
	if (num > 256)
		num = 256;                        /* one page of descriptors */
	if (!(rd32(r, R_STATUS) & 8) || num == 0) {
		say("refill dev %u: bring-up refused (status 0x%x, queue max %u)", d,
		    rd32(r, R_STATUS), num);
		return 1;
	}
	/* One request, header -> 16 pages -> status byte, offered num times:
	 * a read of sector 0 (the header is zero: type IN, sector 0). */
	struct { uint64_t a; uint32_t l; uint16_t f, n; } dt[REFILL_PAGES + 2];
	dt[0] = (typeof(dt[0])){ data.pa, 16, 1, 1 };
	for (unsigned i = 0; i < REFILL_PAGES; i++)
		dt[1 + i] = (typeof(dt[0])){ page[i].pa, 4096, 1 | 2, (uint16_t)(i + 2) };
	dt[REFILL_PAGES + 1] = (typeof(dt[0])){ data.pa + 0x200, 1, 2, 0 };
	memcpy(desc.va, dt, sizeof(dt));
	put16(avail.va, 1);                       /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	for (unsigned i = 0; i < num; i++)
		put16(avail.va + 4 + 2 * i, 0);
	wr32(r, R_QNUM, num);
	wr32(r, R_DESC_LO, (uint32_t)desc.pa);
	wr32(r, R_DESC_HI, (uint32_t)(desc.pa >> 32));
	wr32(r, R_AVAIL_LO, (uint32_t)avail.pa);
	wr32(r, R_AVAIL_HI, (uint32_t)(avail.pa >> 32));
	wr32(r, R_USED_LO, (uint32_t)used.pa);
	wr32(r, R_USED_HI, (uint32_t)(used.pa >> 32));
	wr32(r, R_QREADY, 1);
	wr32(r, R_STATUS, 15);
	say("refill dev %u: flooding a ring of %u for %u s", d, num, secs);
	uint16_t seen = 0;
	unsigned long idle = 0, kicks = 0, done = 0;
	double end = now_s() + secs;
	for (unsigned long n = 0;; n++) {
		uint16_t u = ld16(used.va + 2);
		if (u != seen) {
			done += (uint16_t)(u - seen);
			seen = u;
			idle = 0;
		}
		st16(avail.va + 2, (uint16_t)(u + num));
		if (++idle == 100000) {           /* the device went idle: wake it */
			wr32(r, R_QNOTIFY, 0);
			kicks++;
			idle = 0;
		}
		if ((n & 4095) == 0 && now_s() >= end)
			break;
	}
	wr32(r, R_STATUS, 0);
	say("refill dev %u: done, %lu requests, %lu kicks, status byte %u", d, done, kicks,
	    data.va[0x200]);
	return 0;
}

/* ---- unmapped MMIO ---- */
static void phase_unmapped(void)
{
	const uint64_t spots[] = {
		MMIO_BASE + (uint64_t)ndev * MMIO_STRIDE,      /* the slot after the last device */
		MMIO_BASE + 40 * MMIO_STRIDE, 0xC0000000ULL + 0x800, 0xD0000000ULL,
		0xE0000000ULL, 0xFEB00000ULL, 0xFED00000ULL,   /* HPET-like, nothing there */
		0xFFFF0000ULL,
	};
	for (unsigned i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		volatile uint8_t *p = map_phys(spots[i] & ~0xfffULL, 4096);
		if (!p) {
			say("unmapped 0x%llx: mmap failed (%s)", (unsigned long long)spots[i],
			    strerror(errno));
			continue;
		}
		uint64_t sum = 0;
		for (unsigned k = 0; k < 256; k++) {
			unsigned off = (unsigned)(rnd() % 4096);
			unsigned w = 1u << (rnd() % 4);
			if (off + w > 4096)
				off = 4096 - w;
			wr_any(p, off, rnd(), w);
			sum += rd_any(p, off, w);
		}
		munmap((void *)p, 4096);
		say("unmapped 0x%llx: 256 writes/reads done (sum 0x%llx)",
		    (unsigned long long)spots[i], (unsigned long long)sum);
	}
}

/* ---- I/O ports ---- */
static int port_forbidden(unsigned p)
{
	return (p >= 0x20 && p <= 0x21) || (p >= 0xa0 && p <= 0xa1) ||   /* PIC */
	       (p >= 0x40 && p <= 0x43) || p == 0x61 ||                  /* PIT, speaker */
	       p == 0x60 || p == 0x64 ||                                 /* i8042: reset */
	       p == 0xcf9 || (p >= 0x3f8 && p <= 0x3ff) ||               /* reset; COM1 below */
	       (p >= 0x4d0 && p <= 0x4d1);                               /* ELCR */
}

static void phase_ports(void)
{
	if (iopl(3) < 0) {
		say("ports: iopl: %s: skipped", strerror(errno));
		return;
	}
	unsigned n = 0;
	for (unsigned i = 0; i < 20000; i++) {
		unsigned p = (unsigned)(rnd() & 0xffff);
		if (port_forbidden(p) || port_forbidden(p + 3))
			continue;
		switch (rnd() % 6) {
		case 0: (void)inb((unsigned short)p); break;
		case 1: (void)inw((unsigned short)p); break;
		case 2: (void)inl((unsigned short)p); break;
		case 3: outb((unsigned char)rnd(), (unsigned short)p); break;
		case 4: outw((unsigned short)rnd(), (unsigned short)p); break;
		case 5: outl((unsigned)rnd(), (unsigned short)p); break;
		}
		n++;
	}
	/* COM2-4 and the whole legacy range too: nothing is there. */
	for (unsigned p = 0x2f8; p < 0x300; p++)
		outb(0xff, (unsigned short)p), (void)inb((unsigned short)p);
	say("ports: %u random port accesses done", n);
}

/* ---- serial ---- */
static void phase_serial(unsigned mib)
{
	if (iopl(3) < 0) {
		say("serial: iopl: %s: skipped", strerror(errno));
		return;
	}
	uint8_t ier = inb(0x3f9), lcr = inb(0x3fb), mcr = inb(0x3fc);
	say("serial: flooding %u MiB to 0x3f8", mib);
	for (unsigned long i = 0; i < (unsigned long)mib << 20; i++)
		outb((unsigned char)("hostile-flood\n"[i % 14]), 0x3f8);
	for (unsigned i = 0; i < 10000; i++) {
		unsigned reg = 1 + (unsigned)(rnd() % 7);
		outb((unsigned char)rnd(), (unsigned short)(0x3f8 + reg));
		(void)inb((unsigned short)(0x3f8 + (unsigned)(rnd() % 8)));
	}
	/* Restore: DLAB off, 8N1, interrupts and modem control as they were. */
	outb(0x80 | 0x03, 0x3fb);
	outb(0x01, 0x3f8);
	outb(0x00, 0x3f9);
	outb(lcr & 0x7f, 0x3fb);
	outb(ier, 0x3f9);
	outb(mcr, 0x3fc);
	outb(0x07, 0x3fa);
	say("serial: flood done, UART restored");
}

/* ---- the end ---- */
static void phase_triple(void)
{
	int fd = open("/sys/kernel/reboot/type", O_WRONLY);
	if (fd >= 0 && write(fd, "triple", 6) == 6) {
		close(fd);
		say("triple-fault now");
	} else {
		say("reboot now (no triple-fault path: /sys/kernel/reboot/type: %s)",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	sync();
	reboot(RB_AUTOBOOT);
	say("reboot(2) returned: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	int keep = 0, triple = 1;
	unsigned mib = 4, refill = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--keep-drivers"))
			keep = 1;
		else if (!strcmp(argv[i], "--no-triple"))
			triple = 0;
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			rng_state = strtoull(argv[++i], NULL, 0) | 1;
		else if (!strcmp(argv[i], "--serial-mib") && i + 1 < argc)
			mib = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--refill-blk") && i + 1 < argc)
			refill = (unsigned)strtoul(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: %s [--keep-drivers] [--no-triple] [--seed N] "
				"[--serial-mib N] | --refill-blk SECS\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Safety: only inside an ember/Firecracker-style guest, never on a
	 * host (this program pokes physical memory and I/O ports, then reboots). */
	char cmdline[4096] = "";
	int cfd = open("/proc/cmdline", O_RDONLY);
	if (cfd >= 0) {
		ssize_t k = read(cfd, cmdline, sizeof(cmdline) - 1);
		cmdline[k > 0 ? k : 0] = 0;
		close(cfd);
	}
	if (!strstr(cmdline, "virtio_mmio.device=")) {
		say("refusing to run: no virtio_mmio.device= on the kernel command line "
		    "(not an ember guest?)");
		return 3;
	}
	memfd = open("/dev/mem", O_RDWR | O_SYNC);
	if (memfd < 0) {
		say("/dev/mem: %s (needs root and CONFIG_DEVMEM)", strerror(errno));
		return 1;
	}
	say("start seed 0x%llx", (unsigned long long)rng_state);
	phase_probe();
	if (!keep)
		phase_unbind();
	if (refill)
		return phase_refill(refill);
	phase_registers();
	phase_early_kick();
	phase_rings();
	phase_unmapped();
	phase_ports();
	phase_serial(mib);
	for (unsigned d = 0; d < ndev; d++)
		show_status(d, "final");
	say("done: ember is still running");
	if (triple)
		phase_triple();
	return 0;
}
