/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h - Firecracker-style token buckets (bytes and ops) with a
 * timerfd wakeup.
 *
 * A bucket holds up to `size` tokens and refills `size` tokens every
 * `refill_time_ms`, continuously; `one_time_burst` extra tokens are there at
 * start and never come back. A device asks ratelimit_ready() before it
 * starts an operation and ratelimit_charge() the real cost afterwards; the
 * budget may go negative (a request larger than the bucket is never stuck:
 * it goes through and the debt delays what follows). When not ready, the
 * limiter arms its timerfd for the moment the budget is positive again; the
 * glue watches ratelimit_fd() and calls ratelimit_timer_ack() + the device.
 * A bucket with size 0 or refill time 0 is unlimited. Caller serialises
 * (the device lock).
 */
#ifndef EMBER_RATELIMIT_H
#define EMBER_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* A limiter as configured (Firecracker's RateLimiter object): what
 * ratelimit_init() and ratelimit_update() take. The config layer embeds it
 * (struct config_drive, struct config_net). */
struct ratelimit_bucket_config {
	bool set;
	uint64_t size;             /* tokens (bytes or ops) */
	uint64_t one_time_burst;   /* extra initial tokens, 0 = none */
	uint64_t refill_time_ms;   /* time to refill `size` tokens */
};

struct ratelimit_config {
	struct ratelimit_bucket_config bandwidth;
	struct ratelimit_bucket_config ops;
};

struct ratelimit_bucket {
	bool on;
	uint64_t size;
	uint64_t refill_ns;
	int64_t budget;          /* may be negative (debt) or above size (burst) */
	uint64_t last_ns;
};

struct ratelimit {
	struct ratelimit_bucket bw, ops;
	int timerfd;             /* -1 until ratelimit_init */
	bool armed;
};

/* Set up from cfg and create the timerfd (CLOCK_MONOTONIC, nonblocking).
 * Returns 0 or -errno. */
int ratelimit_init(struct ratelimit *rl, const struct ratelimit_config *cfg);
/* Replace the buckets (PATCH): new buckets start full; a pending timer is
 * disarmed (the caller retries its queue, which re-arms it if needed). */
void ratelimit_update(struct ratelimit *rl, const struct ratelimit_config *cfg);
void ratelimit_destroy(struct ratelimit *rl);

/* True when no bucket is set. */
bool ratelimit_unlimited(const struct ratelimit *rl);

/* May an operation start now? When not, arms the timer (unless armed). */
bool ratelimit_ready(struct ratelimit *rl);
bool ratelimit_ready_at(struct ratelimit *rl, uint64_t now_ns);
/* Take bytes and ops tokens (may leave a debt). */
void ratelimit_charge(struct ratelimit *rl, uint64_t bytes, uint64_t ops);
void ratelimit_charge_at(struct ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns);
/* Nanoseconds until ratelimit_ready would return true (0 = now). */
uint64_t ratelimit_wait_ns(struct ratelimit *rl, uint64_t now_ns);

/* The timerfd to watch for EPOLLIN. */
int ratelimit_fd(const struct ratelimit *rl);
/* Drain the timerfd after it fired; the limiter is disarmed. */
void ratelimit_timer_ack(struct ratelimit *rl);

/* One bucket on its own, for a device that drops what exceeds it instead
 * of waiting (the serial console's output): no timer, no debt.
 * ratelimit_bucket_init() sets b from c (off when c is unset, or its size or
 * refill time is 0); ratelimit_bucket_take() refills b up to now_ns, then
 * grants up to n tokens, as many as b holds, and returns how many it
 * granted (n when b is off). Caller serialises. */
void ratelimit_bucket_init(struct ratelimit_bucket *b, const struct ratelimit_bucket_config *c,
			   uint64_t now_ns);
uint64_t ratelimit_bucket_take(struct ratelimit_bucket *b, uint64_t n, uint64_t now_ns);

/* ---- snapshot (docs/snapshot.md, VIRTIO and SERIAL sections) ---- */

/* A limiter's live buckets. The time of the last refill is not kept: a
 * restored bucket counts from the moment it is restored. */
struct ratelimit_bucket_state {
	bool on;
	uint64_t size, refill_ns;
	int64_t budget;
};
struct ratelimit_state {
	struct ratelimit_bucket_state bw, ops;
};

void ratelimit_save(const struct ratelimit *rl, struct ratelimit_state *st);
/* Take the buckets over (the sizes clamped as ratelimit_update() clamps
 * them, a zero size or refill time turns a bucket off), last refill now; a
 * pending timer is disarmed (the device's next refusal arms it again). */
void ratelimit_restore(struct ratelimit *rl, const struct ratelimit_state *st);
/* The same for one bucket on its own (ratelimit_bucket_init()'s, the serial
 * output's): last refill at now_ns. Caller serialises. */
void ratelimit_bucket_save(const struct ratelimit_bucket *b, struct ratelimit_bucket_state *st);
void ratelimit_bucket_restore(struct ratelimit_bucket *b, const struct ratelimit_bucket_state *st,
			      uint64_t now_ns);

#endif
