// SPDX-License-Identifier: Apache-2.0
#include "virtio/ratelimit.h"
#include "src/util.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void bucket_set(struct ratelimit_bucket *b, const struct ratelimit_bucket_config *c, uint64_t now)
{
	memset(b, 0, sizeof(*b));
	if (!c->set || c->size == 0 || c->refill_time_ms == 0)
		return;
	b->on = true;
	/* Clamp so the arithmetic below cannot overflow an int64. */
	b->size = c->size > (1ULL << 52) ? (1ULL << 52) : c->size;
	b->refill_ns = c->refill_time_ms > (1ULL << 40) ? (1ULL << 40) * 1000000ULL
							: c->refill_time_ms * 1000000ULL;
	uint64_t burst = c->one_time_burst > (1ULL << 52) ? (1ULL << 52) : c->one_time_burst;
	b->budget = (int64_t)(b->size + burst);
	b->last_ns = now;
}

static void bucket_refill(struct ratelimit_bucket *b, uint64_t now)
{
	if (!b->on || now <= b->last_ns)
		return;
	if (b->budget >= (int64_t)b->size) {
		b->last_ns = now;      /* full (or still holding the burst) */
		return;
	}
	uint64_t dt = now - b->last_ns;
	/* tokens = dt * size / refill_ns, in 128 bits: dt and size are large. */
	unsigned __int128 t = (unsigned __int128)dt * b->size / b->refill_ns;
	if (t == 0)
		return;                /* keep last_ns: the fraction accumulates */
	uint64_t room = (uint64_t)((int64_t)b->size - b->budget);
	if (t >= room) {
		b->budget = (int64_t)b->size;
		b->last_ns = now;
	} else {
		b->budget += (int64_t)t;
		/* Advance by the time those whole tokens took, keep the rest. */
		b->last_ns += (uint64_t)((t * b->refill_ns) / b->size);
	}
}

static uint64_t bucket_wait(const struct ratelimit_bucket *b)
{
	if (!b->on || b->budget > 0)
		return 0;
	uint64_t need = (uint64_t)(1 - b->budget);
	unsigned __int128 ns = ((unsigned __int128)need * b->refill_ns + b->size - 1) / b->size;
	return ns > (unsigned __int128)UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns;
}

int ratelimit_init(struct ratelimit *rl, const struct ratelimit_config *cfg)
{
	memset(rl, 0, sizeof(*rl));
	rl->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rl->timerfd < 0)
		return -errno;
	ratelimit_update(rl, cfg);
	return 0;
}

void ratelimit_update(struct ratelimit *rl, const struct ratelimit_config *cfg)
{
	uint64_t now = util_now_ns();
	bucket_set(&rl->bw, &cfg->bandwidth, now);
	bucket_set(&rl->ops, &cfg->ops, now);
	/* A pending wakeup was computed for the old buckets (maybe far away):
	 * cancel it, the next refusal arms the timer for the new ones. */
	if (rl->armed) {
		struct itimerspec off = { 0 };
		timerfd_settime(rl->timerfd, 0, &off, NULL);
		rl->armed = false;
	}
}

void ratelimit_destroy(struct ratelimit *rl)
{
	if (rl->timerfd >= 0)
		close(rl->timerfd);
	rl->timerfd = -1;
}

bool ratelimit_unlimited(const struct ratelimit *rl)
{
	return !rl->bw.on && !rl->ops.on;
}

uint64_t ratelimit_wait_ns(struct ratelimit *rl, uint64_t now_ns)
{
	bucket_refill(&rl->bw, now_ns);
	bucket_refill(&rl->ops, now_ns);
	uint64_t a = bucket_wait(&rl->bw), b = bucket_wait(&rl->ops);
	return a > b ? a : b;
}

bool ratelimit_ready_at(struct ratelimit *rl, uint64_t now_ns)
{
	if (ratelimit_unlimited(rl))
		return true;
	uint64_t wait = ratelimit_wait_ns(rl, now_ns);
	if (wait == 0)
		return true;
	if (!rl->armed && rl->timerfd >= 0) {
		struct itimerspec its = { 0 };
		its.it_value = util_timespec(wait);
		if (timerfd_settime(rl->timerfd, 0, &its, NULL) == 0)
			rl->armed = true;
	}
	return false;
}

bool ratelimit_ready(struct ratelimit *rl)
{
	return ratelimit_ready_at(rl, util_now_ns());
}

static void bucket_take(struct ratelimit_bucket *b, uint64_t n)
{
	if (!b->on)
		return;
	if (n > (1ULL << 52))
		n = 1ULL << 52;
	/* Operations start only with a positive budget and cost at most 2^52,
	 * so the debt stays far from int64 overflow. */
	b->budget -= (int64_t)n;
	if (b->budget < -(int64_t)(1ULL << 60))
		b->budget = -(int64_t)(1ULL << 60);
}

void ratelimit_charge_at(struct ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	if (ratelimit_unlimited(rl))
		return;
	bucket_refill(&rl->bw, now_ns);
	bucket_refill(&rl->ops, now_ns);
	bucket_take(&rl->bw, bytes);
	bucket_take(&rl->ops, ops);
}

void ratelimit_charge(struct ratelimit *rl, uint64_t bytes, uint64_t ops)
{
	ratelimit_charge_at(rl, bytes, ops, util_now_ns());
}

int ratelimit_fd(const struct ratelimit *rl)
{
	return rl->timerfd;
}

void ratelimit_timer_ack(struct ratelimit *rl)
{
	uint64_t v;
	ssize_t r = read(rl->timerfd, &v, sizeof(v));
	(void)r;
	rl->armed = false;
}

void ratelimit_bucket_init(struct ratelimit_bucket *b, const struct ratelimit_bucket_config *c,
			   uint64_t now_ns)
{
	bucket_set(b, c, now_ns);
}

uint64_t ratelimit_bucket_take(struct ratelimit_bucket *b, uint64_t n, uint64_t now_ns)
{
	if (!b->on)
		return n;
	bucket_refill(b, now_ns);
	uint64_t have = b->budget > 0 ? (uint64_t)b->budget : 0;
	uint64_t granted = n < have ? n : have;
	b->budget -= (int64_t)granted;
	return granted;
}

/* ---- snapshot ---- */

void ratelimit_bucket_save(const struct ratelimit_bucket *b, struct ratelimit_bucket_state *st)
{
	*st = (struct ratelimit_bucket_state){ .on = b->on, .size = b->size,
					       .refill_ns = b->refill_ns, .budget = b->budget };
}

void ratelimit_bucket_restore(struct ratelimit_bucket *b, const struct ratelimit_bucket_state *st,
			      uint64_t now)
{
	memset(b, 0, sizeof(*b));
	if (!st->on || st->size == 0 || st->refill_ns == 0)
		return;
	b->on = true;
	b->size = st->size > (1ULL << 52) ? (1ULL << 52) : st->size;
	b->refill_ns = st->refill_ns > (1ULL << 40) * 1000000ULL ? (1ULL << 40) * 1000000ULL
								   : st->refill_ns;
	int64_t lo = -(int64_t)(1ULL << 60), hi = (int64_t)(1ULL << 53);
	b->budget = st->budget < lo ? lo : st->budget > hi ? hi : st->budget;
	b->last_ns = now;
}

void ratelimit_save(const struct ratelimit *rl, struct ratelimit_state *st)
{
	ratelimit_bucket_save(&rl->bw, &st->bw);
	ratelimit_bucket_save(&rl->ops, &st->ops);
}

void ratelimit_restore(struct ratelimit *rl, const struct ratelimit_state *st)
{
	uint64_t now = util_now_ns();
	ratelimit_bucket_restore(&rl->bw, &st->bw, now);
	ratelimit_bucket_restore(&rl->ops, &st->ops, now);
	if (rl->armed) {
		struct itimerspec off = { 0 };
		timerfd_settime(rl->timerfd, 0, &off, NULL);
		rl->armed = false;
	}
}
