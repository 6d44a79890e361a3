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
#include <stdlib.h>
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
	int fd = log_open_output(path);
	if (fd < 0)
		return fd;
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

/* ---- per-device counters (block and net) ---- */

#define METRICS_NAME_(name) #name,
static const char *const metrics_block_names[] = { METRICS_BLOCK(METRICS_NAME_) };
static const char *const metrics_net_names[] = { METRICS_NET(METRICS_NAME_) };
#undef METRICS_NAME_
/* Room for the counters of either kind. */
#define METRICS_DEV_N (sizeof(union metrics_dev_counters) / sizeof(uint64_t))

static const struct {
	const char *key;              /* the group's key and the prefix of a device's */
	const char *const *names;
	unsigned n;
} metrics_dev_groups[] = {
	[METRICS_DEV_BLOCK] = { "block", metrics_block_names,
				sizeof(metrics_block_names) / sizeof(metrics_block_names[0]) },
	[METRICS_DEV_NET] = { "net", metrics_net_names,
			      sizeof(metrics_net_names) / sizeof(metrics_net_names[0]) },
};

/* One registered device, or the counts of a removed one that no line has
 * reported yet. Main thread only. */
struct metrics_dev {
	enum metrics_dev_kind kind;
	char id[METRICS_DEV_ID_MAX + 1];
	metrics_dev_read_fn *read;    /* NULL once the device is removed */
	void *opaque;
	uint64_t base[METRICS_DEV_N];     /* counts of the removed devices of this id */
	uint64_t reported[METRICS_DEV_N]; /* the totals the last consumed line reported */
	uint64_t now[METRICS_DEV_N];      /* the totals of the line being formatted */
};

static struct metrics_dev *metrics_devs;
static unsigned metrics_ndevs, metrics_devs_cap;

/* A device's counters in the order of its group's names. */
static void metrics_dev_values(enum metrics_dev_kind kind, const union metrics_dev_counters *c,
			       uint64_t *v)
{
	unsigned i = 0;
#define METRICS_BLOCK_V_(name) v[i++] = c->block.name;
#define METRICS_NET_V_(name) v[i++] = c->net.name;
	if (kind == METRICS_DEV_BLOCK) {
		METRICS_BLOCK(METRICS_BLOCK_V_)
	} else {
		METRICS_NET(METRICS_NET_V_)
	}
#undef METRICS_BLOCK_V_
#undef METRICS_NET_V_
}

/* d's totals into v (not one of d's arrays): the removed devices' counts
 * plus the live device's. */
static void metrics_dev_total(const struct metrics_dev *d, uint64_t *v)
{
	union metrics_dev_counters c;
	memset(&c, 0, sizeof(c));
	memset(v, 0, METRICS_DEV_N * sizeof(v[0]));
	if (d->read)
		d->read(d->opaque, &c);
	metrics_dev_values(d->kind, &c, v);
	for (unsigned i = 0; i < METRICS_DEV_N; i++)
		v[i] += d->base[i];
}

static void metrics_dev_drop(unsigned i)
{
	memmove(&metrics_devs[i], &metrics_devs[i + 1],
		(metrics_ndevs - i - 1) * sizeof(metrics_devs[0]));
	metrics_ndevs--;
}

/* Ids go into JSON keys unescaped: only these characters. */
static bool metrics_dev_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > METRICS_DEV_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

int metrics_dev_add(enum metrics_dev_kind kind, const char *id, metrics_dev_read_fn *read,
		    void *opaque)
{
	if (!metrics_dev_id_ok(id) || (kind != METRICS_DEV_BLOCK && kind != METRICS_DEV_NET))
		return -EINVAL;
	for (unsigned i = 0; i < metrics_ndevs; i++) {
		struct metrics_dev *d = &metrics_devs[i];
		if (!d->read && d->kind == kind && strcmp(d->id, id) == 0) {
			d->read = read;
			d->opaque = opaque;
			return 0;
		}
	}
	/* Removed devices with nothing left to report make room first. */
	for (unsigned i = metrics_ndevs; i-- > 0;) {
		const struct metrics_dev *d = &metrics_devs[i];
		if (!d->read && memcmp(d->base, d->reported, sizeof(d->base)) == 0)
			metrics_dev_drop(i);
	}
	if (metrics_ndevs == metrics_devs_cap) {
		unsigned cap = metrics_devs_cap ? 2 * metrics_devs_cap : 8;
		struct metrics_dev *p = realloc(metrics_devs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		metrics_devs = p;
		metrics_devs_cap = cap;
	}
	struct metrics_dev *d = &metrics_devs[metrics_ndevs++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->read = read;
	d->opaque = opaque;
	return 0;
}

void metrics_dev_remove(void *opaque)
{
	for (unsigned i = 0; i < metrics_ndevs; i++) {
		struct metrics_dev *d = &metrics_devs[i];
		if (!d->read || d->opaque != opaque)
			continue;
		uint64_t total[METRICS_DEV_N];
		metrics_dev_total(d, total);
		memcpy(d->base, total, sizeof(d->base));
		d->read = NULL;
		d->opaque = NULL;
		return;
	}
}

/* The objects of one kind: one per device ("block_<id>"), then their sum
 * ("block"); every value the change since the last consumed line. */
static void metrics_dev_put(struct metrics_buf *b, enum metrics_dev_kind kind)
{
	const char *key = metrics_dev_groups[kind].key;
	const char *const *names = metrics_dev_groups[kind].names;
	unsigned n = metrics_dev_groups[kind].n;
	uint64_t sum[METRICS_DEV_N] = { 0 };

	for (unsigned i = 0; i < metrics_ndevs; i++) {
		const struct metrics_dev *d = &metrics_devs[i];
		if (d->kind != kind)
			continue;
		metrics_put(b, ",\"%s_%s\":{", key, d->id);
		for (unsigned k = 0; k < n; k++) {
			uint64_t delta = d->now[k] >= d->reported[k] ? d->now[k] - d->reported[k] : 0;
			sum[k] += delta;
			metrics_put(b, "%s\"%s\":%" PRIu64, k ? "," : "", names[k], delta);
		}
		metrics_put(b, "}");
	}
	metrics_put(b, ",\"%s\":{", key);
	for (unsigned k = 0; k < n; k++)
		metrics_put(b, "%s\"%s\":%" PRIu64, k ? "," : "", names[k], sum[k]);
	metrics_put(b, "}");
}

/* A line was written: what it reported is the new starting point; removed
 * devices are now fully reported. */
static void metrics_dev_consume(void)
{
	for (unsigned i = metrics_ndevs; i-- > 0;) {
		struct metrics_dev *d = &metrics_devs[i];
		memcpy(d->reported, d->now, sizeof(d->reported));
		if (!d->read)
			metrics_dev_drop(i);
	}
}

int metrics_format(char *buf, size_t len, bool consume)
{
	struct metrics_buf b = { .p = buf, .len = len };
	struct metrics_snap snap = { .n = 0 };
	bool first;

	for (unsigned i = 0; i < metrics_ndevs; i++)
		metrics_dev_total(&metrics_devs[i], metrics_devs[i].now);
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
	metrics_dev_put(&b, METRICS_DEV_BLOCK);
	metrics_dev_put(&b, METRICS_DEV_NET);
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
	if (consume) {
		for (unsigned i = 0; i < snap.n; i++)
			__atomic_sub_fetch(snap.ptr[i], snap.val[i], __ATOMIC_RELAXED);
		metrics_dev_consume();
	}
	return (int)b.off;
}

int metrics_flush(void)
{
	static char buf[METRICS_LINE_MAX];  /* main thread only */

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
