// SPDX-License-Identifier: Apache-2.0
/* virtio-mmio transport: registers, feature negotiation, status machine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "virtio/mmio.h"
#include "virtio/queue.h"
#include "tests/unit/vq_fake.h"

#define OFFERED (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(3))

struct dummy {
	struct virtio_dev vdev;
	struct virtq q[2];
	int activated, resets, irqs, kicks, last_kick, notified;
	int activate_ret;
	uint8_t cfg[8];
};

static uint64_t d_features(struct virtio_dev *d)
{
	return OFFERED;
}

static void d_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct dummy *x = (struct dummy *)d;
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < sizeof(x->cfg) ? x->cfg[off + i] : 0;
}

static int d_activate(struct virtio_dev *d)
{
	struct dummy *x = (struct dummy *)d;
	x->activated++;
	return x->activate_ret;
}

static void d_notify(struct virtio_dev *d, unsigned q)
{
	((struct dummy *)d)->notified++;
}

static void d_reset(struct virtio_dev *d)
{
	((struct dummy *)d)->resets++;
}

static const struct virtio_dev_ops dummy_ops = {
	.name = "dummy", .device_id = 42, .features = d_features, .config_read = d_config_read,
	.activate = d_activate, .notify = d_notify, .reset = d_reset,
};

struct fx {
	struct vqf_mem m;
	struct vqf_ring r[2];
	struct dummy d;
	struct virtio_mmio t;
};

static void fx_irq(void *opaque)
{
	struct fx *f = opaque;
	f->d.irqs++;
}

static void fx_kick(void *opaque, unsigned q)
{
	struct fx *f = opaque;
	/* The transport must have dropped the device lock before kicking. */
	assert_int_equal(pthread_mutex_trylock(&f->d.vdev.lock), 0);
	pthread_mutex_unlock(&f->d.vdev.lock);
	f->d.kicks++;
	f->d.last_kick = (int)q;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	vqf_mem_init(&f->m, 1 << 20);
	vqf_ring_init(&f->r[0], &f->m, 16);
	vqf_ring_init(&f->r[1], &f->m, 16);
	assert_int_equal(virtio_dev_init(&f->d.vdev, &dummy_ops, &f->m.mem, f->d.q, 2, 64), 0);
	memcpy(f->d.cfg, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	virtio_mmio_init(&f->t, &f->d.vdev, fx_irq, fx_kick, f);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	virtio_dev_destroy(&f->d.vdev);
	vqf_mem_free(&f->m);
	free(f);
	return 0;
}

#define RD(off) vqf_mmio_read(&f->t, (off))
#define WR(off, v) vqf_mmio_write(&f->t, (off), (v))
#define ST_FEAT (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)

static void test_identity(void **state)
{
	struct fx *f = *state;
	assert_int_equal(RD(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(RD(VIRTIO_MMIO_VERSION_REG), 2);
	assert_int_equal(RD(VIRTIO_MMIO_DEVICE_ID), 42);
	assert_int_equal(RD(VIRTIO_MMIO_VENDOR_ID), 0);
	WR(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(RD(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED);
	WR(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(RD(VIRTIO_MMIO_DEVICE_FEATURES), 1);
	WR(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(RD(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	WR(VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(RD(VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	WR(VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(RD(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(RD(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
}

static void test_bringup(void **state)
{
	struct fx *f = *state;
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	uint32_t st = vqf_mmio_bringup(&f->t, feat, f->r, 2);
	assert_int_equal(st, ST_FEAT | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->d.activated, 1);
	assert_true(f->d.q[0].active && f->d.q[1].active);
	assert_true(f->d.q[0].event_idx);
	assert_false(f->d.q[0].indirect);
	assert_true(virtio_dev_running(&f->d.vdev));
	/* Notify: valid queue kicks (after unlocking), invalid one does not. */
	WR(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(f->d.kicks, 1);
	assert_int_equal(f->d.last_kick, 1);
	WR(VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	WR(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
	assert_int_equal(f->d.kicks, 1);
}

static void test_unoffered_feature_refused(void **state)
{
	struct fx *f = *state;
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(7);  /* 7 never offered */
	uint32_t st = vqf_mmio_bringup(&f->t, feat, f->r, 2);
	assert_false(st & VIRTIO_STATUS_FEATURES_OK);
	assert_false(st & VIRTIO_STATUS_DRIVER_OK);
	/* DRIVER_OK without FEATURES_OK is refused too. */
	WR(VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	assert_false(RD(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->d.activated, 0);
}

static void test_legacy_driver_refused(void **state)
{
	struct fx *f = *state;
	uint32_t st = vqf_mmio_bringup(&f->t, VIRTIO_BIT(3), f->r, 2);  /* no VERSION_1 */
	assert_false(st & VIRTIO_STATUS_FEATURES_OK);
}

static void test_bad_status_transitions(void **state)
{
	struct fx *f = *state;
	/* DRIVER before ACKNOWLEDGE. */
	WR(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER);
	assert_int_equal(RD(VIRTIO_MMIO_STATUS), 0);
	/* Everything at once without the order. */
	WR(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(RD(VIRTIO_MMIO_STATUS), 0);
	WR(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	WR(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* Clearing a bit (not a reset) is ignored. */
	WR(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER);
	assert_int_equal(RD(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* Unknown bits / NEEDS_RESET from the driver are refused or dropped. */
	WR(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | 0x10);
	assert_int_equal(RD(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	WR(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(RD(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* FAILED may be set at any time. */
	WR(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FAILED);
	assert_true(RD(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FAILED);
	assert_int_equal(f->d.activated, 0);
}

static void test_features_frozen_after_features_ok(void **state)
{
	struct fx *f = *state;
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	vqf_mmio_bringup(&f->t, feat, f->r, 2);
	WR(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	WR(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffffu);
	assert_int_equal(f->d.vdev.driver_features, feat);
}

static void test_queue_setup_outside_window_ignored(void **state)
{
	struct fx *f = *state;
	/* Before FEATURES_OK. */
	WR(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	WR(VIRTIO_MMIO_QUEUE_SEL, 0);
	WR(VIRTIO_MMIO_QUEUE_NUM, 4);
	WR(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(RD(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(f->d.q[0].num, 64);
	/* After DRIVER_OK: rings cannot move under the device. */
	vqf_mmio_bringup(&f->t, VIRTIO_BIT(VIRTIO_F_VERSION_1), f->r, 2);
	WR(VIRTIO_MMIO_QUEUE_SEL, 0);
	WR(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x12340);
	WR(VIRTIO_MMIO_QUEUE_NUM, 2);
	WR(VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(f->d.q[0].desc_gpa, f->r[0].desc);
	assert_int_equal(f->d.q[0].num, 16);
	assert_true(f->d.q[0].ready);
	assert_int_equal(RD(VIRTIO_MMIO_QUEUE_DESC_LOW), (uint32_t)f->r[0].desc);
}

static void test_bad_queue_needs_reset(void **state)
{
	struct fx *f = *state;
	f->r[1].num = 12;            /* not a power of two */
	uint32_t st = vqf_mmio_bringup(&f->t, VIRTIO_BIT(VIRTIO_F_VERSION_1), f->r, 2);
	assert_true(st & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(f->d.activated, 0);
	assert_false(virtio_dev_running(&f->d.vdev));
	assert_true(RD(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG);
	assert_int_equal(f->d.irqs, 1);
	WR(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.kicks, 0);
	/* Reset recovers. */
	f->r[1].num = 16;
	st = vqf_mmio_bringup(&f->t, VIRTIO_BIT(VIRTIO_F_VERSION_1), f->r, 2);
	assert_int_equal(st, ST_FEAT | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->d.activated, 1);
}

static void test_ring_outside_memory_needs_reset(void **state)
{
	struct fx *f = *state;
	f->r[0].used = (1 << 20) - 8;
	uint32_t st = vqf_mmio_bringup(&f->t, VIRTIO_BIT(VIRTIO_F_VERSION_1), f->r, 2);
	assert_true(st & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(f->d.activated, 0);
}

static void test_activate_failure_needs_reset(void **state)
{
	struct fx *f = *state;
	f->d.activate_ret = -22;
	uint32_t st = vqf_mmio_bringup(&f->t, VIRTIO_BIT(VIRTIO_F_VERSION_1), f->r, 2);
	assert_true(st & VIRTIO_STATUS_NEEDS_RESET);
	assert_false(virtio_dev_running(&f->d.vdev));
}

static void test_reset(void **state)
{
	struct fx *f = *state;
	vqf_mmio_bringup(&f->t, VIRTIO_BIT(VIRTIO_F_VERSION_1), f->r, 2);
	int resets = f->d.resets;
	__atomic_store_n(&f->d.vdev.isr, 3, __ATOMIC_SEQ_CST);
	WR(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->d.resets, resets + 1);
	assert_int_equal(RD(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(RD(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_false(f->d.q[0].active);
	assert_false(f->d.q[0].ready);
	assert_int_equal(f->d.vdev.driver_features, 0);
}

static void test_isr_ack(void **state)
{
	struct fx *f = *state;
	vqf_mmio_bringup(&f->t, VIRTIO_BIT(VIRTIO_F_VERSION_1), f->r, 2);
	virtio_dev_signal_config(&f->d.vdev);
	assert_int_equal(RD(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(RD(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	WR(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
	assert_int_equal(RD(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(f->d.irqs, 1);
}

static void test_access_sizes_and_config(void **state)
{
	struct fx *f = *state;
	uint8_t b[8];
	/* Byte reads of a register are refused (read as 0). */
	memset(b, 0xaa, sizeof(b));
	virtio_mmio_access(&f->t, VIRTIO_MMIO_MAGIC_VALUE, b, 1, false);
	assert_int_equal(b[0], 0);
	/* Misaligned 32-bit register access too. */
	virtio_mmio_access(&f->t, 2, b, 4, false);
	assert_int_equal(b[0] | b[1] | b[2] | b[3], 0);
	/* A byte write to Status does nothing. */
	b[0] = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_access(&f->t, VIRTIO_MMIO_STATUS, b, 1, true);
	assert_int_equal(RD(VIRTIO_MMIO_STATUS), 0);
	/* Config space: any width; past the device's config reads 0. */
	virtio_mmio_access(&f->t, 0x102, b, 2, false);
	assert_int_equal(b[0], 3);
	assert_int_equal(b[1], 4);
	virtio_mmio_access(&f->t, 0x104, b, 8, false);
	assert_memory_equal(b, "\x05\x06\x07\x08\0\0\0\0", 8);
	virtio_mmio_access(&f->t, 0xffc, b, 8, false);   /* crosses the end of the window */
	assert_memory_equal(b, "\0\0\0\0\0\0\0\0", 8);
	/* Odd sizes are ignored. */
	virtio_mmio_access(&f->t, 0x100, b, 3, false);
	/* Config writes to a device without config_write are ignored. */
	virtio_mmio_access(&f->t, 0x100, b, 4, true);
	assert_int_equal(f->d.cfg[0], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bringup, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unoffered_feature_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_driver_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_status_transitions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_features_frozen_after_features_ok, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup_outside_window_ignored, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_queue_needs_reset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ring_outside_memory_needs_reset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_activate_failure_needs_reset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_isr_ack, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_access_sizes_and_config, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
