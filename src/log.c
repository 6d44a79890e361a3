// SPDX-License-Identifier: Apache-2.0
#include "src/log.h"
#include "src/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum log_level log_level_cur = LOG_INFO;
static bool log_show_level = true;
static bool log_show_origin;
static char log_id[65] = "anonymous-instance";
static __thread char log_thread[16] = "main";
static char log_module[128];  /* the module filter, "" for none; under log_lock */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_names[] = { "OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE" };

void log_set_id(const char *id)
{
	snprintf(log_id, sizeof(log_id), "%s", id);
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level lvl; } t[] = {
		{ "off", LOG_OFF }, { "error", LOG_ERROR }, { "warning", LOG_WARN },
		{ "warn", LOG_WARN }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
		{ "trace", LOG_TRACE },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcasecmp(s, t[i].name) == 0) {
			*out = t[i].lvl;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_level(enum log_level lvl) { log_level_cur = lvl; }
enum log_level log_get_level(void) { return log_level_cur; }

void log_set_format(bool show_level, bool show_origin)
{
	log_show_level = show_level;
	log_show_origin = show_origin;
}

int log_open_output(const char *path)
{
	struct stat st;
	int flags = O_WRONLY;
	/* A FIFO is opened read-write, as Firecracker opens it: the open needs
	 * no reader (write-only and non-blocking it fails with ENXIO until one
	 * comes), and a reader that goes away makes no write fail. */
	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
		flags = O_RDWR;
	int fd = open(path, flags | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int log_open(const char *path)
{
	int fd = log_open_output(path);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&log_lock);
	int old = log_fd;
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	if (old > 2)
		close(old);
	return 0;
}

/* module with "::" read as "/" into m (sizeof(log_module) bytes), when it
 * follows LOG_MODULE_RULE. 0 or -EINVAL. */
static int log_module_normalise(const char *module, char *m)
{
	size_t n = 0, dir;

	/* "::" (a Rust module path's separator) is read as "/". */
	for (const char *p = module; *p; p++) {
		if (n + 1 == sizeof(log_module))
			return -EINVAL;
		m[n++] = *p == ':' && p[1] == ':' ? (p++, '/') : *p;
	}
	m[n] = '\0';
	/* "", or a top directory of ember's code, then the start of a file name. */
	if (!strncmp(m, "src", 3))
		dir = 3;
	else if (!strncmp(m, "virtio", 6))
		dir = 6;
	else if (n == 0)
		dir = 0;
	else
		return -EINVAL;
	if (m[dir] == '/')
		dir++;
	else if (m[dir] != '\0')
		return -EINVAL;
	for (size_t i = dir; i < n; i++)
		if (!((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9') || m[i] == '_'))
			return -EINVAL;
	return 0;
}

bool log_module_valid(const char *module)
{
	char m[sizeof(log_module)];
	return log_module_normalise(module, m) == 0;
}

int log_set_module(const char *module)
{
	char m[sizeof(log_module)];
	if (log_module_normalise(module, m) < 0)
		return -EINVAL;
	pthread_mutex_lock(&log_lock);
	memcpy(log_module, m, sizeof(log_module));
	pthread_mutex_unlock(&log_lock);
	return 0;
}

/* Does the line from source file `file` pass the module filter? Its module
 * is its last two path components without the extension ("src/vm"), so the
 * build directory does not matter. Called with log_lock held. */
static bool log_module_passes(const char *file)
{
	size_t flen = strlen(log_module);
	if (!flen)
		return true;
	const char *last = strrchr(file, '/'), *start = file;
	if (last) {
		for (const char *p = file; p < last; p++)
			if (*p == '/')
				start = p + 1;
	}
	const char *dot = strrchr(last ? last : file, '.');
	size_t mlen = dot ? (size_t)(dot - start) : strlen(start);
	return mlen >= flen && !memcmp(start, log_module, flen);
}

void log_set_thread_name(const char *name)
{
	snprintf(log_thread, sizeof(log_thread), "%s", name);
}

/* Append src[0..n) to dst[*pos..cap) as printable ASCII: a backslash as
 * "\\", any byte outside 0x20-0x7e as "\xNN". Stops before an escape that
 * would not fit. */
static void log_escape(char *dst, size_t cap, size_t *pos, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			if (*pos + 1 > cap)
				return;
			dst[(*pos)++] = (char)ch;
		} else if (ch == '\\') {
			if (*pos + 2 > cap)
				return;
			dst[(*pos)++] = '\\';
			dst[(*pos)++] = '\\';
		} else {
			if (*pos + 4 > cap)
				return;
			dst[(*pos)++] = '\\';
			dst[(*pos)++] = 'x';
			dst[(*pos)++] = hex[ch >> 4];
			dst[(*pos)++] = hex[ch & 15];
		}
	}
}

void log_write(enum log_level lvl, const char *file, int line, const char *fmt, ...)
{
	if (lvl == LOG_OFF || lvl > log_level_cur)
		return;
	char msg[1024], buf[2048];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ [%s:%s]",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ts.tv_nsec, log_id, log_thread);
	if (log_show_level)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " [%s]", log_names[lvl]);
	if (log_show_origin) {
		const char *base = strrchr(file, '/');
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " [%s:%d]",
			      base ? base + 1 : file, line);
	}
	size_t pos = (size_t)n < sizeof(buf) - 2 ? (size_t)n : sizeof(buf) - 2;
	buf[pos++] = ' ';
	/* Messages quote what API clients, config files and guests sent:
	 * escaped, a line stays one line of printable ASCII. */
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m > 0)
		log_escape(buf, sizeof(buf) - 1, &pos, msg,
			   (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1);
	buf[pos++] = '\n';
	pthread_mutex_lock(&log_lock);
	if (log_module_passes(file)) {
		ssize_t w = write(log_fd, buf, pos);
		(void)w; /* a full FIFO drops the line rather than blocking a vCPU */
	}
	pthread_mutex_unlock(&log_lock);
}

bool log_ratelimit_ok(uint64_t *window_start_ns, unsigned *count, unsigned burst)
{
	uint64_t now = util_now_ns();
	/* Unlocked on purpose: a lost update only lets one extra line through. */
	if (now - __atomic_load_n(window_start_ns, __ATOMIC_RELAXED) > 1000000000ULL) {
		__atomic_store_n(window_start_ns, now, __ATOMIC_RELAXED);
		__atomic_store_n(count, 0, __ATOMIC_RELAXED);
	}
	return __atomic_add_fetch(count, 1, __ATOMIC_RELAXED) <= burst;
}
