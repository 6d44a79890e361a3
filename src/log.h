/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - levelled log lines.
 *
 * Lines go to stderr until log_open() points them at a file or FIFO (PUT
 * /logger, --log-path). Thread-safe: each line is one write(2).
 * Format: "<time> [<id>:<thread>] [<LEVEL>] [<file>:<line>] message", the level
 * and origin parts being optional (Firecracker's show_level/show_log_origin).
 *
 * The message is escaped (it quotes request paths and bodies, file names,
 * guest-controlled values): a backslash is written "\\", every byte outside
 * printable ASCII 0x20-0x7e as "\xNN" (newlines, escape sequences, and
 * UTF-8 too, byte by byte). So a line is always one line of printable ASCII
 * and the original bytes can be read back. The message part is cut at 1023
 * bytes before escaping and the whole line at 2047.
 *
 * A line's module is the source file it comes from, as its path in the
 * repository without the extension: "src/api_http", "virtio/blk". With a
 * module filter set (log_set_module(), Firecracker's logger `module`), only
 * lines whose module starts with the filter are written, whatever their
 * level: "virtio" keeps the virtio devices' lines, "src/api" those of
 * src/api.c, src/api_http.c and src/api_vm.c.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_OFF = 0, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* Set the instance id printed in every line (default "anonymous-instance"). */
void log_set_id(const char *id);
/* Parse a Firecracker level name ("Error", "Warning", "Info", "Debug", "Trace",
 * "Off", case-insensitive). Returns 0 and sets *out, or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_set_format(bool show_level, bool show_origin);
/* Open PATH for output that must never block ember (the log, the metrics):
 * O_APPEND | O_NONBLOCK | O_CLOEXEC, created 0600 if missing, write-only,
 * except a FIFO, opened read-write so that it needs no reader. An fd or
 * -errno. */
int log_open_output(const char *path);
/* Send lines to PATH (log_open_output()). Returns 0 or -errno. Called by the
 * main thread. */
int log_open(const char *path);
/* What log_set_module() accepts, for error messages. */
#define LOG_MODULE_RULE "a module is \"src\" or \"virtio\", optionally followed by " \
	"\"/\" and the start of a file name without \".c\" (\"src/api\", " \
	"\"virtio/blk\"; \"::\" may stand for \"/\"), or \"\" for all"
/* Keep only the lines whose module starts with module (see above): "" for
 * every line (the default); "::" is read as "/" (Firecracker's module paths
 * are Rust's). Returns 0, or -EINVAL when module cannot name any of ember's
 * modules (LOG_MODULE_RULE) and the filter is unchanged. Any thread. */
int log_set_module(const char *module);
/* Would log_set_module(module) accept it? Changes nothing. */
bool log_module_valid(const char *module);

/* Name the calling thread in log lines ("main", "vcpu0", ...). */
void log_set_thread_name(const char *name);

void log_write(enum log_level lvl, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Returns true when a rate-limited message may be printed now: at most
 * `burst` lines per second per call site. */
bool log_ratelimit_ok(uint64_t *window_start_ns, unsigned *count, unsigned burst);

#define log_error(...) log_write(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_write(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* For guest-triggered paths: at most 10 lines a second from this call site. */
#define log_ratelimited(lvl, ...) do { \
		static uint64_t log_rl_start_; static unsigned log_rl_count_; \
		if (log_ratelimit_ok(&log_rl_start_, &log_rl_count_, 10)) \
			log_write(lvl, __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

#endif
