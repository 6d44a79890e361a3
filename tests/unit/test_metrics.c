// SPDX-License-Identifier: Apache-2.0
/* metrics.c's per-device counters: one object per registered device, their
 * sum as the group, changes since the last consumed line, devices that come
 * and go. The devices here are fakes whose counters the test sets; the real
 * drives are in test_devices.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "src/layout.h"
#include "src/metrics.h"

struct fake {
	enum metrics_dev_kind kind;
	union metrics_dev_counters c;
	unsigned reads;
};

static void fake_read(void *opaque, union metrics_dev_counters *out)
{
	struct fake *f = opaque;
	f->reads++;
	if (f->kind == METRICS_DEV_BLOCK)
		out->block = f->c.block;
	else
		out->net = f->c.net;
}

static cJSON *line(bool consume)
{
	static char buf[32768];
	int n = metrics_format(buf, sizeof(buf), consume);
	assert_true(n > 0);
	cJSON *j = cJSON_Parse(buf);
	assert_non_null(j);
	return j;
}

/* group.key of the line, -1 when missing. */
static long long val(const cJSON *j, const char *group, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, group), key);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

static bool has(const cJSON *j, const char *group)
{
	return cJSON_GetObjectItemCaseSensitive(j, group) != NULL;
}

static void test_flush_sums_two_devices(void **state)
{
	struct fake a = { .kind = METRICS_DEV_BLOCK }, b = { .kind = METRICS_DEV_BLOCK };
	a.c.block.read_count = 3;
	a.c.block.write_bytes = 4096;
	b.c.block.read_count = 4;
	b.c.block.io_errors = 1;
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, "rootfs", fake_read, &a), 0);
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, "scratch_1", fake_read, &b), 0);

	/* Not consumed: the same values again next time. */
	cJSON_Delete(line(false));
	cJSON *j = line(true);
	assert_int_equal(val(j, "block_rootfs", "read_count"), 3);
	assert_int_equal(val(j, "block_rootfs", "write_bytes"), 4096);
	assert_int_equal(val(j, "block_scratch_1", "read_count"), 4);
	assert_int_equal(val(j, "block_scratch_1", "io_errors"), 1);
	assert_int_equal(val(j, "block", "read_count"), 7);
	assert_int_equal(val(j, "block", "write_bytes"), 4096);
	assert_int_equal(val(j, "block", "io_errors"), 1);
	/* Every key of the group is in each device's object, in its order. */
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(j, "block_rootfs");
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(j, "block");
	assert_int_equal(cJSON_GetArraySize(dev), cJSON_GetArraySize(sum));
	for (int i = 0; i < cJSON_GetArraySize(sum); i++)
		assert_string_equal(cJSON_GetArrayItem(dev, i)->string,
				    cJSON_GetArrayItem(sum, i)->string);
	assert_int_equal(val(j, "net", "rx_packets_count"), 0);
	cJSON_Delete(j);
	assert_true(a.reads >= 2 && b.reads >= 2);

	/* Changes since the last line only. */
	a.c.block.read_count = 10;
	j = line(true);
	assert_int_equal(val(j, "block_rootfs", "read_count"), 7);
	assert_int_equal(val(j, "block_scratch_1", "read_count"), 0);
	assert_int_equal(val(j, "block", "read_count"), 7);
	assert_int_equal(val(j, "block", "write_bytes"), 0);
	cJSON_Delete(j);

	metrics_dev_remove(&a);
	metrics_dev_remove(&b);
	cJSON_Delete(line(true));
}

static void test_net_devices(void **state)
{
	struct fake n0 = { .kind = METRICS_DEV_NET }, n1 = { .kind = METRICS_DEV_NET };
	n0.c.net.rx_packets_count = 5;
	n0.c.net.tx_bytes_count = 100;
	n1.c.net.rx_packets_count = 1;
	n1.c.net.tap_write_fails = 2;
	assert_int_equal(metrics_dev_add(METRICS_DEV_NET, "eth0", fake_read, &n0), 0);
	assert_int_equal(metrics_dev_add(METRICS_DEV_NET, "eth1", fake_read, &n1), 0);
	cJSON *j = line(true);
	assert_int_equal(val(j, "net_eth0", "rx_packets_count"), 5);
	assert_int_equal(val(j, "net_eth1", "tap_write_fails"), 2);
	assert_int_equal(val(j, "net", "rx_packets_count"), 6);
	assert_int_equal(val(j, "net", "tx_bytes_count"), 100);
	assert_int_equal(val(j, "net", "tap_write_fails"), 2);
	assert_false(has(j, "block_eth0"));
	assert_int_equal(val(j, "block", "read_count"), 0);
	cJSON_Delete(j);
	metrics_dev_remove(&n0);
	metrics_dev_remove(&n1);
	cJSON_Delete(line(true));
}

/* A device that goes away: its last counts are in the next line, with its
 * object; the line after has neither. A new device with its id, before
 * that line, carries the counts on. */
static void test_removed_devices(void **state)
{
	struct fake a = { .kind = METRICS_DEV_BLOCK };
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, "d", fake_read, &a), 0);
	cJSON_Delete(line(true));
	a.c.block.flush_count = 2;
	metrics_dev_remove(&a);
	a.c.block.flush_count = 50;         /* not read any more */
	unsigned reads = a.reads;
	cJSON *j = line(true);
	assert_int_equal(a.reads, reads);
	assert_int_equal(val(j, "block_d", "flush_count"), 2);
	assert_int_equal(val(j, "block", "flush_count"), 2);
	cJSON_Delete(j);
	j = line(true);
	assert_false(has(j, "block_d"));
	cJSON_Delete(j);

	/* Removed with counts pending, then a device with the same id. */
	struct fake b = { .kind = METRICS_DEV_BLOCK }, c = { .kind = METRICS_DEV_BLOCK };
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, "d", fake_read, &b), 0);
	b.c.block.write_count = 3;
	metrics_dev_remove(&b);
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, "d", fake_read, &c), 0);
	c.c.block.write_count = 1;
	j = line(true);
	assert_int_equal(val(j, "block_d", "write_count"), 4);
	assert_int_equal(val(j, "block", "write_count"), 4);
	/* One object for the id. */
	int n = 0;
	for (const cJSON *it = j->child; it; it = it->next)
		n += strcmp(it->string, "block_d") == 0;
	assert_int_equal(n, 1);
	cJSON_Delete(j);
	c.c.block.write_count = 2;
	j = line(true);
	assert_int_equal(val(j, "block_d", "write_count"), 1);
	cJSON_Delete(j);
	metrics_dev_remove(&c);
	metrics_dev_remove(&c);             /* twice, or unknown: nothing */
	cJSON_Delete(line(true));
	j = line(true);
	assert_false(has(j, "block_d"));
	cJSON_Delete(j);
}

static void test_bad_ids(void **state)
{
	struct fake a = { .kind = METRICS_DEV_BLOCK };
	char longid[METRICS_DEV_ID_MAX + 2];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, "", fake_read, &a), -EINVAL);
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, "a\"b", fake_read, &a), -EINVAL);
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, "a b", fake_read, &a), -EINVAL);
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, longid, fake_read, &a), -EINVAL);
	longid[METRICS_DEV_ID_MAX] = 0;
	assert_int_equal(metrics_dev_add(METRICS_DEV_BLOCK, longid, fake_read, &a), 0);
	metrics_dev_remove(&a);
	cJSON *j = line(true);
	char key[METRICS_DEV_ID_MAX + 8];
	snprintf(key, sizeof(key), "block_%s", longid);
	assert_true(has(j, key));
	cJSON_Delete(j);
	cJSON_Delete(line(true));
}

/* Devices that come and go between lines do not pile up: a removed device
 * with nothing left to report makes room for the next one. */
static void test_many_devices(void **state)
{
	struct fake f = { .kind = METRICS_DEV_NET };
	char id[16];
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		assert_int_equal(metrics_dev_add(METRICS_DEV_NET, id, fake_read, &f), 0);
		metrics_dev_remove(&f);
	}
	cJSON *j = line(true);
	int n = 0;
	for (const cJSON *it = j->child; it; it = it->next)
		n += strncmp(it->string, "net_", 4) == 0;
	assert_true(n <= 1);
	cJSON_Delete(j);
}

/* The longest line: LAYOUT_MAX_VIRTIO_DEVS devices with the longest ids
 * and 20-digit values fit in what metrics_flush() has. */
static void test_longest_line(void **state)
{
	static char buf[METRICS_LINE_MAX];
	struct fake f[LAYOUT_MAX_VIRTIO_DEVS];
	for (unsigned i = 0; i < LAYOUT_MAX_VIRTIO_DEVS; i++) {
		char id[METRICS_DEV_ID_MAX + 1];
		memset(id, 'a', METRICS_DEV_ID_MAX);
		snprintf(id + METRICS_DEV_ID_MAX - 2, 3, "%02u", i);
		f[i].kind = METRICS_DEV_NET;
		memset(&f[i].c, 0xff, sizeof(f[i].c));   /* UINT64_MAX everywhere */
		assert_int_equal(metrics_dev_add(METRICS_DEV_NET, id, fake_read, &f[i]), 0);
	}
	int n = metrics_format(buf, sizeof(buf) - 1, false);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\"tx_bytes_count\":18446744073709551615"));
	for (unsigned i = 0; i < LAYOUT_MAX_VIRTIO_DEVS; i++)
		metrics_dev_remove(&f[i]);
	cJSON_Delete(line(true));
	cJSON_Delete(line(true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flush_sums_two_devices),
		cmocka_unit_test(test_net_devices),
		cmocka_unit_test(test_removed_devices),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_many_devices),
		cmocka_unit_test(test_longest_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
