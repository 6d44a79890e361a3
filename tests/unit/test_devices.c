// SPDX-License-Identifier: Apache-2.0
/* devices glue without KVM (vm_fd -1): layout, command line, kicks through
 * the MMIO handler reaching the device via the event loop's eventfd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include <cjson/cJSON.h>

#include "virtio/blk.h"
#include "virtio/blk_uring.h"
#include "src/devices.h"
#include "src/metrics.h"
#include "virtio/mmio.h"
#include "tests/unit/vq_fake.h"

/* 1 MiB of guest RAM, a bus and a loop (no KVM), a 4 KiB image file. */
struct dfx {
	struct vqf_mem m;
	struct bus bus;
	struct devices_env env;
	char path[32];
	int img;
};

static void dfx_init(struct dfx *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/ember-test-dev-XXXXXX");
	f->img = mkstemp(f->path);
	assert_true(f->img >= 0);
	assert_int_equal(ftruncate(f->img, 4096), 0);
	vqf_mem_init(&f->m, 1 << 20);
	f->env = (struct devices_env){ .vm_fd = -1, .mem = &f->m.mem, .mmio_bus = &f->bus,
				      .loop = evloop_create() };
	assert_non_null(f->env.loop);
}

static void dfx_free(struct dfx *f)
{
	close(f->img);
	unlink(f->path);
	evloop_destroy(f->env.loop);
	vqf_mem_free(&f->m);
}

static void test_create_layout_and_cmdline(void **state)
{
	static struct vm_config cfg;
	struct dfx f;
	dfx_init(&f);
	struct bus *bus = &f.bus;
	int fd = f.img;
	memset(&cfg, 0, sizeof(cfg));
	cfg.ndrives = 2;
	strcpy(cfg.drives[0].drive_id, "data");
	cfg.drives[0].fd = fd;
	strcpy(cfg.drives[1].drive_id, "rootfs");
	cfg.drives[1].is_root_device = true;
	cfg.drives[1].is_read_only = true;
	cfg.drives[1].fd = fd;
	char cmdline[256] = "console=ttyS0 -- init-arg";
	char err[256];
	struct devices *d = NULL;
	assert_int_equal(devices_create(&cfg, &f.env, cmdline, sizeof(cmdline), &d, err, sizeof(err)), 0);
	assert_string_equal(cmdline, "console=ttyS0 root=/dev/vda ro virtio_mmio.device=4K@0xc0001000:5"
			    " virtio_mmio.device=4K@0xc0002000:6 -- init-arg");
	assert_int_equal(bus->nranges, 2);
	/* What the VM describes in its ACPI tables: the devices as placed. */
	assert_int_equal(devices_count(d), 2);
	struct devices_place p = devices_place(d, 1);
	assert_int_equal(p.addr, 0xc0002000);
	assert_int_equal(p.len, 0x1000);
	assert_int_equal(p.gsi, 6);
	/* Device 0 is the root drive: read-only feature offered. */
	uint32_t v = 0;
	assert_true(bus_access(bus, 0xc0001000 + VIRTIO_MMIO_DEVICE_ID, (uint8_t *)&v, 4, false));
	assert_int_equal(v, VIRTIO_ID_BLK);
	assert_true(bus_access(bus, 0xc0001000 + VIRTIO_MMIO_DEVICE_FEATURES, (uint8_t *)&v, 4, false));
	assert_true(v & (1u << 5));
	assert_true(bus_access(bus, 0xc0002000 + VIRTIO_MMIO_DEVICE_FEATURES, (uint8_t *)&v, 4, false));
	assert_false(v & (1u << 5));
	/* PATCH: unknown id refused; known id with a new file accepted. */
	struct config_drive upd = cfg.drives[0];
	assert_int_equal(devices_update_drive(d, &upd, err, sizeof(err)), 0);
	strcpy(upd.drive_id, "nope");
	assert_int_equal(devices_update_drive(d, &upd, err, sizeof(err)), -ENOENT);
	devices_destroy(d);

	/* Command line too small: error, nothing left behind. */
	char small[40] = "console=ttyS0";
	assert_true(devices_create(&cfg, &f.env, small, sizeof(small), &d, err, sizeof(err)) < 0);
	dfx_free(&f);
}

static void count_event(void *opaque, uint32_t events)
{
	(*(int *)opaque)++;
}

/* A tap in a network namespace of our own (root, or an unprivileged user
 * namespace): devices_create sets its vnet header length, which only a tap
 * accepts. The tap lives as long as the returned fd. */
static int test_tap(void)
{
	if (unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		fail_msg("/dev/net/tun: %s", strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "ember-ut0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		fail_msg("TUNSETIFF: %s", strerror(errno));
	return fd;
}

/* A network device watches five fds (two queue eventfds, the tap, the rx and
 * tx limiter timers). Destroying it, after a good create or after a create
 * that failed once the net device was attached, removes those fds and no
 * other: an fd of the loop's other users whose number appears in the net
 * config (here: every rate limiter number) stays watched. */
static void test_net_device_fds(void **state)
{
	static struct vm_config cfg;
	struct dfx f;
	dfx_init(&f);
	struct evloop *loop = f.env.loop;
	int tap = test_tap();
	int other = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int fired = 0;
	assert_true(other >= 0);
	assert_int_equal(evloop_add(loop, other, EPOLLIN, count_event, &fired), 0);

	memset(&cfg, 0, sizeof(cfg));
	cfg.nnets = 1;
	struct config_net *n = &cfg.nets[0];
	strcpy(n->iface_id, "eth0");
	strcpy(n->host_dev_name, "ember-ut0");
	n->tap_fd = tap;
	struct ratelimit_bucket_config tb = { true, (uint64_t)other, (uint64_t)other, (uint64_t)other };
	n->rx_rate_limiter.bandwidth = n->rx_rate_limiter.ops = tb;
	n->tx_rate_limiter = n->rx_rate_limiter;
	char cmdline[256] = "console=ttyS0";
	char err[256];
	struct devices *d = NULL;
	assert_int_equal(devices_create(&cfg, &f.env, cmdline, sizeof(cmdline), &d, err, sizeof(err)), 0);
	assert_string_equal(cmdline, "console=ttyS0 virtio_mmio.device=4K@0xc0001000:5");
	uint32_t v = 0;
	assert_true(bus_access(&f.bus, 0xc0001000 + VIRTIO_MMIO_DEVICE_ID, (uint8_t *)&v, 4, false));
	assert_int_equal(v, VIRTIO_ID_NET);
	devices_destroy(d);
	assert_int_equal(evloop_mod(loop, other, EPOLLIN), 0);

	/* Fails on the command line, after the net device was attached. */
	char small[40] = "console=ttyS0 0123456789";
	f.bus.nranges = 0;
	assert_int_equal(devices_create(&cfg, &f.env, small, sizeof(small), &d, err, sizeof(err)),
			 -E2BIG);
	assert_string_equal(small, "console=ttyS0 0123456789");
	assert_int_equal(evloop_mod(loop, other, EPOLLIN), 0);
	/* ... and the loop still delivers its events. */
	uint64_t one = 1;
	assert_int_equal(write(other, &one, sizeof(one)), sizeof(one));
	assert_false(evloop_stopping(loop));
	evloop_stop(loop, 7);
	assert_true(evloop_stopping(loop)); /* what vm_destroy asks at the end */
	assert_int_equal(evloop_run(loop), 7);
	assert_true(evloop_stopping(loop));
	assert_int_equal(fired, 1);

	evloop_del(loop, other);
	close(other);
	close(tap);
	dfx_free(&f);
}

struct flood {
	struct vqf_ring *r;
	struct evloop *loop;
	uint16_t used_then;
};

/* Another user of the loop (the API socket, say): notes how far the device
 * got when it was served and stops the loop. */
static void flood_other(void *opaque, uint32_t events)
{
	struct flood *fl = opaque;
	fl->used_then = vqf_used_idx(fl->r);
	evloop_stop(fl->loop, 3);
}

/* One drive "data" over f's image, brought up by a driver with a ring of
 * num entries whose descriptors 0-2 are a GET_ID request (the id lands at
 * *id, the status byte at *status). Returns the drive's transport. */
static struct virtio_mmio *dfx_get_id_drive(struct dfx *f, struct vm_config *cfg,
					    struct devices **d, struct vqf_ring *r, uint16_t num,
					    uint64_t *id, uint64_t *status)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ndrives = 1;
	strcpy(cfg->drives[0].drive_id, "data");
	cfg->drives[0].fd = f->img;
	char cmdline[256] = "";
	char err[256];
	assert_int_equal(devices_create(cfg, &f->env, cmdline, sizeof(cmdline), d, err, sizeof(err)), 0);
	struct virtio_mmio *t = f->bus.ranges[0].opaque;
	vqf_ring_init(r, &f->m, num);
	uint32_t st = vqf_mmio_bringup(t, VIRTIO_BIT(VIRTIO_F_VERSION_1), r, 1);
	assert_true(st & VIRTIO_STATUS_DRIVER_OK);
	uint64_t hdr = vqf_alloc(&f->m, 16);
	*id = vqf_alloc(&f->m, BLK_ID_BYTES);
	*status = vqf_alloc(&f->m, 1);
	uint32_t type = VIRTIO_BLK_T_GET_ID;
	memcpy(vqf_ptr(&f->m, hdr), &type, 4);
	vqf_desc(r, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(r, 1, *id, BLK_ID_BYTES, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vqf_desc(r, 2, *status, 1, VIRTQ_DESC_F_WRITE, 0);
	return t;
}

/* A drive whose ring holds more than a budget of requests: the loop serves
 * the other ready fd after one budget's worth, and the queue's eventfd
 * brings it back to the drive for the rest. */
static void test_budget_yields_to_loop(void **state)
{
	static struct vm_config cfg;
	struct dfx f;
	dfx_init(&f);
	struct devices *d = NULL;
	struct vqf_ring r;
	uint64_t id, status;
	struct virtio_mmio *t = dfx_get_id_drive(&f, &cfg, &d, &r, 256, &id, &status);
	const unsigned n = 3 * VIRTIO_QUEUE_BUDGET;
	for (unsigned i = 0; i < n; i++)
		vqf_avail(&r, 0);

	struct flood fl = { .r = &r, .loop = f.env.loop };
	int other = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(other >= 0);
	assert_int_equal(evloop_add(f.env.loop, other, EPOLLIN, flood_other, &fl), 0);
	vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);    /* queue eventfd, then the other */
	uint64_t one = 1;
	assert_int_equal(write(other, &one, sizeof(one)), sizeof(one));
	assert_int_equal(evloop_run(f.env.loop), 3);
	assert_int_equal(fl.used_then, VIRTIO_QUEUE_BUDGET);
	/* Stopped, the loop returns after each round of events: the drive's
	 * eventfd is ready again each time, and the last round empties it. */
	for (unsigned i = 1; i < n / VIRTIO_QUEUE_BUDGET; i++) {
		assert_int_equal(evloop_run(f.env.loop), 3);
		assert_int_equal(vqf_used_idx(&r), (i + 1) * VIRTIO_QUEUE_BUDGET);
	}
	assert_int_equal(*(uint8_t *)vqf_ptr(&f.m, status), VIRTIO_BLK_S_OK);

	devices_destroy(d);
	evloop_del(f.env.loop, other);
	close(other);
	dfx_free(&f);
}

/* The metrics line's value of group.key (a number), or -1. */
static long long metric(const cJSON *line, const char *group, const char *key)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(line, group);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, key);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

/* Format a metrics line (consuming it) and parse it. */
static cJSON *metrics_line(void)
{
	static char buf[32768];
	int n = metrics_format(buf, sizeof(buf), true);
	assert_true(n > 0);
	cJSON *j = cJSON_Parse(buf);
	assert_non_null(j);
	return j;
}

/* One read of 512 bytes at sector `sector` on the ring, made available. */
static void read_request(struct vqf_mem *m, struct vqf_ring *r, uint16_t head, uint64_t sector)
{
	uint64_t hdr = vqf_alloc(m, 16), data = vqf_alloc(m, 512), status = vqf_alloc(m, 1);
	uint32_t type = VIRTIO_BLK_T_IN;
	memcpy(vqf_ptr(m, hdr), &type, 4);
	memcpy((uint8_t *)vqf_ptr(m, hdr) + 8, &sector, 8);
	vqf_desc(r, head, hdr, 16, VIRTQ_DESC_F_NEXT, head + 1);
	vqf_desc(r, head + 1, data, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, head + 2);
	vqf_desc(r, head + 2, status, 1, VIRTQ_DESC_F_WRITE, 0);
	vqf_avail(r, head);
}

/* Two drives keep their own counters; a metrics line reports each as
 * "block_<id>" and their sum as "block", as changes since the last line. */
static void test_metrics_sum_two_drives(void **state)
{
	static struct vm_config cfg;
	struct dfx f;
	dfx_init(&f);
	cJSON_Delete(metrics_line());       /* what earlier tests left */
	memset(&cfg, 0, sizeof(cfg));
	cfg.ndrives = 2;
	strcpy(cfg.drives[0].drive_id, "d1");
	cfg.drives[0].fd = f.img;
	strcpy(cfg.drives[1].drive_id, "d2");
	cfg.drives[1].fd = f.img;
	char cmdline[256] = "";
	char err[256];
	struct devices *d = NULL;
	assert_int_equal(devices_create(&cfg, &f.env, cmdline, sizeof(cmdline), &d, err, sizeof(err)), 0);
	struct vqf_ring r[2];
	for (unsigned i = 0; i < 2; i++) {
		struct virtio_mmio *t = f.bus.ranges[i].opaque;
		vqf_ring_init(&r[i], &f.m, 16);
		assert_true(vqf_mmio_bringup(t, VIRTIO_BIT(VIRTIO_F_VERSION_1), &r[i], 1) &
			    VIRTIO_STATUS_DRIVER_OK);
	}
	/* d1: two reads, one kick; d2: one read, one kick. */
	read_request(&f.m, &r[0], 0, 1);
	read_request(&f.m, &r[0], 3, 2);
	read_request(&f.m, &r[1], 0, 3);
	vqf_mmio_write(f.bus.ranges[0].opaque, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	vqf_mmio_write(f.bus.ranges[1].opaque, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	evloop_stop(f.env.loop, 0);
	assert_int_equal(evloop_run(f.env.loop), 0);   /* one round: both queues */
	assert_int_equal(vqf_used_idx(&r[0]), 2);
	assert_int_equal(vqf_used_idx(&r[1]), 1);

	cJSON *j = metrics_line();
	assert_int_equal(metric(j, "block_d1", "read_count"), 2);
	assert_int_equal(metric(j, "block_d1", "read_bytes"), 1024);
	assert_int_equal(metric(j, "block_d1", "queue_event_count"), 1);
	assert_int_equal(metric(j, "block_d2", "read_count"), 1);
	assert_int_equal(metric(j, "block_d2", "read_bytes"), 512);
	assert_int_equal(metric(j, "block", "read_count"), 3);
	assert_int_equal(metric(j, "block", "read_bytes"), 1536);
	assert_int_equal(metric(j, "block", "queue_event_count"), 2);
	assert_int_equal(metric(j, "block", "write_count"), 0);
	assert_int_equal(metric(j, "block", "activate_fails"), 0);
	assert_int_equal(metric(j, "net", "rx_packets_count"), 0);
	cJSON_Delete(j);

	/* Counters report changes: nothing new, zeros. */
	j = metrics_line();
	assert_int_equal(metric(j, "block_d1", "read_count"), 0);
	assert_int_equal(metric(j, "block", "read_count"), 0);
	cJSON_Delete(j);

	/* d2 reads once more, then the devices go away before the next line:
	 * that line still has both and d2's read, the one after has neither. */
	read_request(&f.m, &r[1], 3, 4);
	vqf_mmio_write(f.bus.ranges[1].opaque, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(evloop_run(f.env.loop), 0);
	devices_destroy(d);
	j = metrics_line();
	assert_int_equal(metric(j, "block_d2", "read_count"), 1);
	assert_int_equal(metric(j, "block_d1", "read_count"), 0);
	assert_int_equal(metric(j, "block", "read_count"), 1);
	assert_int_equal(metric(j, "block", "queue_event_count"), 1);
	cJSON_Delete(j);
	j = metrics_line();
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "block_d1"));
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "block_d2"));
	assert_int_equal(metric(j, "block", "read_count"), 0);
	cJSON_Delete(j);
	dfx_free(&f);
}

/* PATCH /vm Paused: what the guest kicked before the pause is served by
 * devices_pause(); a kick while paused is not (the loop may run: the device
 * stays still); devices_resume() looks at the queue and serves it. */
static void test_pause_and_resume(void **state)
{
	static struct vm_config cfg;
	struct dfx f;
	dfx_init(&f);
	struct devices *d = NULL;
	struct vqf_ring r;
	uint64_t id, status;
	struct virtio_mmio *t = dfx_get_id_drive(&f, &cfg, &d, &r, 16, &id, &status);

	/* Kicked before the pause, the loop not run yet: served by the pause. */
	vqf_avail(&r, 0);
	vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	devices_pause(d, true);
	assert_int_equal(vqf_used_idx(&r), 1);
	/* Kicked while paused: the loop runs, the device does not serve it. */
	vqf_avail(&r, 0);
	vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	evloop_stop(f.env.loop, 5);
	assert_int_equal(evloop_run(f.env.loop), 5);
	assert_int_equal(vqf_used_idx(&r), 1);
	/* Resumed: the queue is looked at again without a new kick. */
	devices_resume(d);
	assert_int_equal(evloop_run(f.env.loop), 5);    /* the stop stays: one round */
	assert_int_equal(vqf_used_idx(&r), 2);
	assert_memory_equal(vqf_ptr(&f.m, id), "data", 4);

	devices_destroy(d);
	dfx_free(&f);
}

/* io_engine Async: PATCH /vm Paused leaves nothing in flight. What the
 * guest kicked is submitted to io_uring and waited for before the device
 * stops: every request is completed to the guest and every write is in the
 * file, without the loop handling the engine's eventfd; devices_io_idle()
 * (the snapshot's check) then finds nothing to wait for. */
static void test_pause_drains_async(void **state)
{
	if (blk_uring_probe()) {
		fprintf(stderr, "test_devices: SKIPPED test_pause_drains_async: no usable io_uring\n");
		skip();
	}
	static struct vm_config cfg;
	struct dfx f;
	dfx_init(&f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ndrives = 1;
	strcpy(cfg.drives[0].drive_id, "data");
	cfg.drives[0].fd = f.img;
	cfg.drives[0].io_engine = CONFIG_IO_ASYNC;
	char cmdline[256] = "", err[256];
	struct devices *d = NULL;
	assert_int_equal(devices_create(&cfg, &f.env, cmdline, sizeof(cmdline), &d, err, sizeof(err)), 0);
	struct virtio_mmio *t = f.bus.ranges[0].opaque;
	struct vqf_ring r;
	vqf_ring_init(&r, &f.m, 64);
	assert_true(vqf_mmio_bringup(t, VIRTIO_BIT(VIRTIO_F_VERSION_1), &r, 1) &
		    VIRTIO_STATUS_DRIVER_OK);
	/* Eight writes, one per sector of the 4 KiB image, then a flush. */
	uint64_t status[9];
	for (unsigned i = 0; i < 9; i++) {
		uint64_t hdr = vqf_alloc(&f.m, 16), data = vqf_alloc(&f.m, 512);
		uint32_t type = i < 8 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_FLUSH;
		uint64_t sector = i;
		status[i] = vqf_alloc(&f.m, 1);
		*(uint8_t *)vqf_ptr(&f.m, status[i]) = 0xee;
		memcpy(vqf_ptr(&f.m, hdr), &type, 4);
		memcpy((uint8_t *)vqf_ptr(&f.m, hdr) + 8, &sector, 8);
		memset(vqf_ptr(&f.m, data), 0x40 + i, 512);
		uint16_t h = (uint16_t)(3 * i);
		if (i < 8) {
			vqf_desc(&r, h, hdr, 16, VIRTQ_DESC_F_NEXT, h + 1);
			vqf_desc(&r, h + 1, data, 512, VIRTQ_DESC_F_NEXT, h + 2);
		} else {
			vqf_desc(&r, h + 1, hdr, 16, VIRTQ_DESC_F_NEXT, h + 2);
			h++;
		}
		vqf_desc(&r, (uint16_t)(3 * i + 2), status[i], 1, VIRTQ_DESC_F_WRITE, 0);
		vqf_avail(&r, h);
	}
	vqf_mmio_write(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	devices_pause(d, true);
	assert_int_equal(vqf_used_idx(&r), 9);
	for (unsigned i = 0; i < 9; i++)
		assert_int_equal(*(uint8_t *)vqf_ptr(&f.m, status[i]), VIRTIO_BLK_S_OK);
	uint8_t sec[512];
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(pread(f.img, sec, sizeof(sec), i * 512), sizeof(sec));
		assert_int_equal(sec[0], 0x40 + i);
		assert_int_equal(sec[511], 0x40 + i);
	}
	assert_int_equal(devices_io_idle(d, err, sizeof(err)), 0);
	devices_resume(d);
	devices_destroy(d);
	dfx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_layout_and_cmdline),
		cmocka_unit_test(test_net_device_fds),
		cmocka_unit_test(test_budget_yields_to_loop),
		cmocka_unit_test(test_metrics_sum_two_drives),
		cmocka_unit_test(test_pause_and_resume),
		cmocka_unit_test(test_pause_drains_async),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
