// SPDX-License-Identifier: Apache-2.0
/* Token buckets: refill arithmetic, bursts, debt, the timerfd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <string.h>
#include <sys/timerfd.h>

#include "virtio/ratelimit.h"

#define MS 1000000ULL

static struct ratelimit_config cfg_bw(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	struct ratelimit_config c;
	memset(&c, 0, sizeof(c));
	c.bandwidth = (struct ratelimit_bucket_config){ true, size, burst, refill_ms };
	return c;
}

static void test_unlimited(void **state)
{
	struct ratelimit_config c;
	memset(&c, 0, sizeof(c));
	struct ratelimit rl;
	assert_int_equal(ratelimit_init(&rl, &c), 0);
	assert_true(ratelimit_unlimited(&rl));
	ratelimit_charge(&rl, 1ULL << 40, 1000000);
	assert_true(ratelimit_ready(&rl));
	/* size 0 or refill 0 also mean "no limit" (Firecracker). */
	c = cfg_bw(0, 0, 100);
	ratelimit_update(&rl, &c);
	assert_true(ratelimit_unlimited(&rl));
	c = cfg_bw(100, 0, 0);
	ratelimit_update(&rl, &c);
	assert_true(ratelimit_unlimited(&rl));
	ratelimit_destroy(&rl);
}

static void test_refill(void **state)
{
	struct ratelimit_config c = cfg_bw(1000, 0, 1000);   /* 1000 B/s */
	struct ratelimit rl;
	assert_int_equal(ratelimit_init(&rl, &c), 0);
	uint64_t t0 = rl.bw.last_ns;
	assert_true(ratelimit_ready_at(&rl, t0));
	ratelimit_charge_at(&rl, 1000, 0, t0);
	assert_int_equal(rl.bw.budget, 0);
	assert_int_equal(ratelimit_wait_ns(&rl, t0), 1 * MS);   /* one token = 1 ms */
	/* Fractions accumulate: 0.5 ms twice make one token. */
	assert_int_equal(ratelimit_wait_ns(&rl, t0 + MS / 2), 1 * MS);
	assert_int_equal(ratelimit_wait_ns(&rl, t0 + MS), 0);
	assert_int_equal(rl.bw.budget, 1);
	/* Never above size. */
	ratelimit_wait_ns(&rl, t0 + 5000 * MS);
	assert_int_equal(rl.bw.budget, 1000);
	ratelimit_destroy(&rl);
}

static void test_debt(void **state)
{
	struct ratelimit_config c = cfg_bw(1000, 0, 1000);
	struct ratelimit rl;
	assert_int_equal(ratelimit_init(&rl, &c), 0);
	uint64_t t0 = rl.bw.last_ns;
	/* A request five times the bucket goes through, then the debt waits. */
	assert_true(ratelimit_ready_at(&rl, t0));
	ratelimit_charge_at(&rl, 5000, 0, t0);
	assert_false(ratelimit_ready_at(&rl, t0));
	assert_int_equal(ratelimit_wait_ns(&rl, t0), 4001 * MS);
	assert_false(ratelimit_ready_at(&rl, t0 + 4000 * MS));
	assert_true(ratelimit_ready_at(&rl, t0 + 4001 * MS));
	ratelimit_destroy(&rl);
}

static void test_one_time_burst(void **state)
{
	struct ratelimit_config c = cfg_bw(100, 900, 1000);
	struct ratelimit rl;
	assert_int_equal(ratelimit_init(&rl, &c), 0);
	uint64_t t0 = rl.bw.last_ns;
	assert_int_equal(rl.bw.budget, 1000);
	ratelimit_charge_at(&rl, 950, 0, t0);
	assert_true(ratelimit_ready_at(&rl, t0));
	ratelimit_charge_at(&rl, 50, 0, t0);
	assert_false(ratelimit_ready_at(&rl, t0));
	/* Refill only goes back to size, the burst is gone. */
	ratelimit_wait_ns(&rl, t0 + 10000 * MS);
	assert_int_equal(rl.bw.budget, 100);
	ratelimit_destroy(&rl);
}

/* A bucket on its own (the serial console's): it grants what it holds and
 * never lends, so what it refuses is the caller's to drop. */
static void test_bucket_take(void **state)
{
	struct ratelimit_bucket_config c = { true, 100, 50, 1000 };  /* 100 B/s + 50 once */
	struct ratelimit_bucket b;
	uint64_t t0 = 1000 * MS;
	ratelimit_bucket_init(&b, &c, t0);
	assert_true(b.on);
	assert_int_equal(ratelimit_bucket_take(&b, 120, t0), 120);
	assert_int_equal(ratelimit_bucket_take(&b, 40, t0), 30);   /* 30 left of 150 */
	assert_int_equal(b.budget, 0);                              /* no debt */
	assert_int_equal(ratelimit_bucket_take(&b, 10, t0), 0);
	/* 0.5 ms is half a token: nothing yet, but it counts towards the next. */
	assert_int_equal(ratelimit_bucket_take(&b, 1, t0 + MS / 2), 0);
	assert_int_equal(ratelimit_bucket_take(&b, 1, t0 + 10 * MS), 1);
	/* A long pause refills to size, not to the burst. */
	assert_int_equal(ratelimit_bucket_take(&b, 1000, t0 + 60000 * MS), 100);
	/* Off (unset, size 0 or refill 0): everything passes. */
	c.refill_time_ms = 0;
	ratelimit_bucket_init(&b, &c, t0);
	assert_false(b.on);
	assert_int_equal(ratelimit_bucket_take(&b, 1ULL << 40, t0), 1ULL << 40);
	memset(&c, 0, sizeof(c));
	ratelimit_bucket_init(&b, &c, t0);
	assert_int_equal(ratelimit_bucket_take(&b, 7, t0), 7);
}

static void test_ops_bucket(void **state)
{
	struct ratelimit_config c;
	memset(&c, 0, sizeof(c));
	c.ops = (struct ratelimit_bucket_config){ true, 2, 0, 100 };   /* 20 ops/s */
	struct ratelimit rl;
	assert_int_equal(ratelimit_init(&rl, &c), 0);
	uint64_t t0 = rl.ops.last_ns;
	ratelimit_charge_at(&rl, 1 << 30, 1, t0);   /* bytes are free */
	assert_true(ratelimit_ready_at(&rl, t0));
	ratelimit_charge_at(&rl, 0, 1, t0);
	assert_false(ratelimit_ready_at(&rl, t0));
	assert_int_equal(ratelimit_wait_ns(&rl, t0), 50 * MS);
	ratelimit_destroy(&rl);
}

static void test_timerfd_wakes(void **state)
{
	struct ratelimit_config c = cfg_bw(1000, 0, 300);  /* refills in 300 ms: armed still when read, even under ASan and load */
	struct ratelimit rl;
	assert_int_equal(ratelimit_init(&rl, &c), 0);
	assert_true(ratelimit_ready(&rl));
	ratelimit_charge(&rl, 1000, 0);
	assert_false(ratelimit_ready(&rl));
	assert_true(rl.armed);
	struct itimerspec its;
	assert_int_equal(timerfd_gettime(ratelimit_fd(&rl), &its), 0);
	assert_true(its.it_value.tv_sec || its.it_value.tv_nsec);
	struct pollfd p = { .fd = ratelimit_fd(&rl), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	ratelimit_timer_ack(&rl);
	assert_false(rl.armed);
	assert_true(ratelimit_ready(&rl));
	ratelimit_destroy(&rl);
}

/* Seconds until the limiter's timer fires (0: disarmed). */
static time_t timer_secs(const struct ratelimit *rl)
{
	struct itimerspec its;
	assert_int_equal(timerfd_gettime(ratelimit_fd(rl), &its), 0);
	return its.it_value.tv_sec + (its.it_value.tv_nsec ? 1 : 0);
}

/* A new limiter replaces a pending wakeup computed for the old one: the
 * next refusal arms the timer for the new buckets' deadline. */
static void test_update_rearms(void **state)
{
	struct ratelimit_config slow = cfg_bw(1, 0, 3600 * 1000);  /* a token an hour */
	struct ratelimit_config fast = cfg_bw(1000, 0, 100);
	struct ratelimit_config none;
	memset(&none, 0, sizeof(none));
	struct ratelimit rl;
	assert_int_equal(ratelimit_init(&rl, &slow), 0);
	assert_true(ratelimit_ready(&rl));
	ratelimit_charge(&rl, 10, 0);
	assert_false(ratelimit_ready(&rl));
	assert_true(timer_secs(&rl) > 3600);
	ratelimit_update(&rl, &fast);
	assert_true(ratelimit_ready(&rl));
	ratelimit_charge(&rl, 1500, 0);
	assert_false(ratelimit_ready(&rl));     /* 501 tokens short: ~50 ms */
	assert_true(rl.armed);
	assert_int_equal(timer_secs(&rl), 1);   /* under a second */
	/* Unlimited: no wakeup left pending. */
	ratelimit_update(&rl, &slow);
	ratelimit_charge(&rl, 10, 0);
	assert_false(ratelimit_ready(&rl));
	ratelimit_update(&rl, &none);
	assert_false(rl.armed);
	assert_int_equal(timer_secs(&rl), 0);
	assert_true(ratelimit_ready(&rl));
	ratelimit_destroy(&rl);
}

static void test_huge_values(void **state)
{
	struct ratelimit_config c = cfg_bw(UINT64_MAX, UINT64_MAX, UINT64_MAX);
	struct ratelimit rl;
	assert_int_equal(ratelimit_init(&rl, &c), 0);
	uint64_t t0 = rl.bw.last_ns;
	ratelimit_charge_at(&rl, UINT64_MAX, UINT64_MAX, t0);
	ratelimit_charge_at(&rl, UINT64_MAX, UINT64_MAX, t0);
	(void)ratelimit_wait_ns(&rl, t0 + UINT64_MAX / 2);
	assert_true(rl.bw.budget <= (int64_t)rl.bw.size);
	ratelimit_destroy(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_debt),
		cmocka_unit_test(test_one_time_burst),
		cmocka_unit_test(test_bucket_take),
		cmocka_unit_test(test_ops_bucket),
		cmocka_unit_test(test_timerfd_wakes),
		cmocka_unit_test(test_update_rearms),
		cmocka_unit_test(test_huge_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
