// SPDX-License-Identifier: Apache-2.0
#include "src/metrics.h"
#include "src/evloop.h"
#include "src/log.h"
#include "src/timeline.h"
#include "src/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct metrics metrics;

static int metrics_fd = -1;
static int metrics_timer_fd = -1;
static struct evloop *metrics_loop;
static char metrics_id[128];

int metrics_open(const char *path)
{
	if (metrics_fd >= 0)
		return -EALREADY;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	metrics_fd = fd;
	return 0;
}

bool metrics_configured(void)
{
	return metrics_fd >= 0;
}

void metrics_set_id(const char *id)
{
	snprintf(metrics_id, sizeof(metrics_id), "%s", id ? id : "");
}

/* Appends to a bounded buffer; remembers overflow instead of failing at
 * each step. */
struct metrics_buf {
	char *p;
	size_t len, off;
	bool full;
};

static void metrics_put(struct metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void metrics_put(struct metrics_buf *b, const char *fmt, ...)
{
	if (b->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->off, b->len - b->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->len - b->off) {
		b->full = true;
		return;
	}
	b->off += (size_t)n;
}

/* Counter values reported in this line, to subtract once it is written:
 * increments that race with the flush are kept for the next line. */
#define METRICS_MAX_COUNTERS 256
struct metrics_snap {
	uint64_t *ptr[METRICS_MAX_COUNTERS];
	uint64_t val[METRICS_MAX_COUNTERS];
	unsigned n;
};

static void metrics_counter(struct metrics_buf *b, struct metrics_snap *s, bool *first,
			    const char *name, uint64_t *c)
{
	uint64_t v = metrics_load(c);
	metrics_put(b, "%s\"%s\":%" PRIu64, *first ? "" : ",", name, v);
	*first = false;
	if (s->n < METRICS_MAX_COUNTERS) {
		s->ptr[s->n] = c;
		s->val[s->n] = v;
		s->n++;
	}
}

static void metrics_stored(struct metrics_buf *b, bool *first, const char *name, uint64_t *c)
{
	metrics_put(b, "%s\"%s\":%" PRIu64, *first ? "" : ",", name, metrics_load(c));
	*first = false;
}

int metrics_format(char *buf, size_t len, bool consume)
{
	struct metrics_buf b = { .p = buf, .len = len };
	struct metrics_snap snap = { .n = 0 };
	bool first;

	metrics_put(&b, "{\"utc_timestamp_ms\":%" PRIu64, util_clock_ns(CLOCK_REALTIME) / 1000000);
	if (metrics_id[0])
		metrics_put(&b, ",\"id\":\"%s\"", metrics_id);

#define C(grp) metrics_counter(&b, &snap, &first, #grp, &metrics.GRP.grp);
#define S(grp) metrics_stored(&b, &first, #grp, &metrics.GRP.grp);
#define OPEN(key) first = true; metrics_put(&b, ",\"%s\":{", key);
#define CLOSE metrics_put(&b, "}");

#define GRP api_server
	OPEN("api_server") METRICS_API_SERVER(C) METRICS_API_SERVER_STORE(S) CLOSE
#undef GRP
#define GRP get_api_requests
	OPEN("get_api_requests") METRICS_GET_API(C) CLOSE
#undef GRP
#define GRP put_api_requests
	OPEN("put_api_requests") METRICS_PUT_API(C) CLOSE
#undef GRP
#define GRP patch_api_requests
	OPEN("patch_api_requests") METRICS_PATCH_API(C) CLOSE
#undef GRP
#define GRP vcpu
	OPEN("vcpu") METRICS_VCPU(C) CLOSE
#undef GRP
#define GRP uart
	OPEN("uart") METRICS_UART(C) CLOSE
#undef GRP
#define GRP i8042
	OPEN("i8042") METRICS_I8042(C) CLOSE
#undef GRP
#define GRP block
	OPEN("block") METRICS_BLOCK(C) CLOSE
#undef GRP
#define GRP net
	OPEN("net") METRICS_NET(C) CLOSE
#undef GRP
#define GRP logger
	OPEN("logger") METRICS_LOGGER(C) CLOSE
#undef GRP
#define GRP seccomp
	OPEN("seccomp") METRICS_SECCOMP(C) CLOSE
#undef GRP
#define GRP vmm
	OPEN("vmm") METRICS_VMM(C) CLOSE
#undef GRP
#define GRP latencies_us
	OPEN("latencies_us") METRICS_LATENCIES(S) CLOSE
#undef GRP
#define GRP boot
	OPEN("boot") METRICS_BOOT(S) CLOSE
#undef GRP
#undef C
#undef S
#undef OPEN
#undef CLOSE
	/* Boot phases reached so far, in us from process start. */
	uint64_t t0 = timeline_get(TIMELINE_PROCESS_START);
	metrics_put(&b, ",\"boot_timeline\":{");
	first = true;
	for (int p = 0; t0 && p < TIMELINE_NPHASES; p++) {
		uint64_t t = timeline_get((enum timeline_phase)p);
		if (!t)
			continue;
		metrics_put(&b, "%s\"%s_us\":%" PRIu64, first ? "" : ",", timeline_name(p),
			    t >= t0 ? (t - t0) / 1000 : 0);
		first = false;
	}
	metrics_put(&b, "}");
	metrics_put(&b, "}");
	if (b.full)
		return -ENOSPC;
	if (consume)
		for (unsigned i = 0; i < snap.n; i++)
			__atomic_sub_fetch(snap.ptr[i], snap.val[i], __ATOMIC_RELAXED);
	return (int)b.off;
}

int metrics_flush(void)
{
	char buf[8192];

	if (metrics_fd < 0)
		return 0;
	int n = metrics_format(buf, sizeof(buf) - 1, true);
	if (n < 0) {
		metrics_inc(&metrics.logger.missed_metrics_count);
		return n;
	}
	buf[n++] = '\n';
	ssize_t w = write(metrics_fd, buf, (size_t)n);
	if (w != n) {
		int e = w < 0 ? errno : EAGAIN;
		metrics_inc(&metrics.logger.missed_metrics_count);
		metrics_inc(&metrics.logger.metrics_fails);
		return -e;
	}
	return 0;
}

static void metrics_on_timer(void *opaque, uint32_t events)
{
	uint64_t expirations;
	if (read(metrics_timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	metrics_flush();
}

int metrics_start(struct evloop *loop)
{
	if (metrics_fd < 0 || metrics_timer_fd >= 0)
		return 0;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct itimerspec its = {
		.it_interval = { .tv_sec = METRICS_PERIOD_MS / 1000 },
		.it_value = { .tv_sec = METRICS_PERIOD_MS / 1000 },
	};
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	int r = evloop_add(loop, fd, EPOLLIN, metrics_on_timer, NULL);
	if (r < 0) {
		close(fd);
		return r;
	}
	metrics_timer_fd = fd;
	metrics_loop = loop;
	metrics_flush();
	return 0;
}

void metrics_stop(void)
{
	if (metrics_timer_fd >= 0) {
		evloop_del(metrics_loop, metrics_timer_fd);
		close(metrics_timer_fd);
		metrics_timer_fd = -1;
		metrics_loop = NULL;
	}
	if (metrics_fd >= 0) {
		metrics_flush();
		close(metrics_fd);
		metrics_fd = -1;
	}
}
