/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - process-wide counters, written as JSON lines (Firecracker's
 * metrics format: one object per line, groups of named counters).
 *
 * One global `metrics` struct of uint64_t fields. Any thread may bump a
 * counter with metrics_inc()/metrics_add() (relaxed atomics, no locks), e.g.
 *     metrics_inc(&metrics.vcpu.exit_io_in);
 *     metrics_add(&metrics.uart.write_bytes, len);
 * Counters report the delta since the previous line (as Firecracker's
 * SharedIncMetric); "store" values (startup time, boot timer, latencies) keep
 * their value (SharedStoreMetric) and are set with metrics_store().
 *
 * The block and net groups are not in that struct: each virtio device keeps
 * its own counters, and the glue registers the device here
 * (metrics_dev_add()) with a function that reads them. A line has one object
 * per device ("block_<drive_id>", "net_<iface_id>") and, as "block" and
 * "net", their sum; each value is again the change since the previous line.
 *
 * The output file is set once per process (--metrics-path or PUT /metrics).
 * Lines are written on metrics_flush() (FlushMetrics, exit) and every 60 s
 * once metrics_start() armed the timer on the event loop. Everything except
 * the counters is main-thread only.
 */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;

#define METRICS_PERIOD_MS 60000
/* The longest line metrics_flush() writes, newline included: every group
 * and the objects of the most devices a VM has (LAYOUT_MAX_VIRTIO_DEVS),
 * with 64-character ids and 20-digit values. */
#define METRICS_LINE_MAX 32768

/* Counter groups: X(name). Adding a field here adds it to the struct and to
 * the JSON line; the group name is the JSON key. */
#define METRICS_API_SERVER(X) X(sync_response_fails) X(sync_vmm_send_timeout_count) \
	X(connections_refused) X(parse_errors)
#define METRICS_GET_API(X) X(instance_info_count) X(machine_cfg_count) \
	X(vmm_version_count) X(vm_config_count) X(fails)
#define METRICS_PUT_API(X) X(actions_count) X(actions_fails) X(boot_source_count) \
	X(boot_source_fails) X(drive_count) X(drive_fails) X(logger_count) X(logger_fails) \
	X(machine_cfg_count) X(machine_cfg_fails) X(metrics_count) X(metrics_fails) \
	X(network_count) X(network_fails) X(unsupported_count)
#define METRICS_PATCH_API(X) X(drive_count) X(drive_fails) X(network_count) \
	X(network_fails) X(machine_cfg_count) X(machine_cfg_fails) X(vm_count) X(vm_fails) \
	X(unsupported_count)
#define METRICS_VCPU(X) X(exit_io_in) X(exit_io_out) X(exit_mmio_read) \
	X(exit_mmio_write) X(exit_hlt) X(exit_shutdown) X(failures)
#define METRICS_UART(X) X(read_count) X(write_count) X(read_bytes) X(write_bytes) \
	X(missed_read_count) X(missed_write_count) X(error_count) X(flush_count) \
	X(rate_limiter_dropped_bytes)
#define METRICS_I8042(X) X(reset_count) X(read_count) X(write_count) \
	X(missed_read_count) X(missed_write_count) X(error_count)
#define METRICS_BLOCK(X) X(activate_fails) X(cfg_fails) X(event_fails) \
	X(execute_fails) X(invalid_reqs_count) X(queue_event_count) \
	X(read_count) X(read_bytes) X(write_count) X(write_bytes) X(flush_count) \
	X(io_errors) X(rate_limiter_throttled_events)
#define METRICS_NET(X) X(activate_fails) X(cfg_fails) X(event_fails) \
	X(rx_queue_event_count) X(rx_packets_count) X(rx_bytes_count) X(rx_fails) \
	X(rx_count) X(tx_queue_event_count) X(tx_packets_count) X(tx_bytes_count) \
	X(tx_fails) X(tx_count) X(tap_read_fails) X(tap_write_fails) \
	X(rx_rate_limiter_throttled) X(tx_rate_limiter_throttled)
#define METRICS_LOGGER(X) X(missed_metrics_count) X(metrics_fails) \
	X(missed_log_count) X(log_fails)
#define METRICS_SECCOMP(X) X(num_faults)
#define METRICS_VMM(X) X(panic_count)

/* Store groups: values kept across lines. */
#define METRICS_API_SERVER_STORE(X) X(process_startup_time_us) X(process_startup_time_cpu_us)
#define METRICS_LATENCIES(X) X(pause_vm) X(resume_vm) X(vmm_pause_vm) X(vmm_resume_vm) \
	X(instance_start) X(full_create_snapshot) X(diff_create_snapshot) X(load_snapshot)
/* Boot timeline: 0 until known. guest_boot_time_* come from the boot-timer
 * device (--boot-timer), measured from InstanceStart. */
#define METRICS_BOOT(X) X(build_time_us) X(guest_boot_time_us) X(guest_boot_cpu_time_us) \
	X(boot_timer_writes)

#define METRICS_FIELD_(name) uint64_t name;

struct metrics {
	struct { METRICS_API_SERVER(METRICS_FIELD_) METRICS_API_SERVER_STORE(METRICS_FIELD_) } api_server;
	struct { METRICS_GET_API(METRICS_FIELD_) } get_api_requests;
	struct { METRICS_PUT_API(METRICS_FIELD_) } put_api_requests;
	struct { METRICS_PATCH_API(METRICS_FIELD_) } patch_api_requests;
	struct { METRICS_VCPU(METRICS_FIELD_) } vcpu;
	struct { METRICS_UART(METRICS_FIELD_) } uart;
	struct { METRICS_I8042(METRICS_FIELD_) } i8042;
	struct { METRICS_LOGGER(METRICS_FIELD_) } logger;
	struct { METRICS_SECCOMP(METRICS_FIELD_) } seccomp;
	struct { METRICS_VMM(METRICS_FIELD_) } vmm;
	struct { METRICS_LATENCIES(METRICS_FIELD_) } latencies_us;
	struct { METRICS_BOOT(METRICS_FIELD_) } boot;
};

extern struct metrics metrics;

static inline void metrics_inc(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static inline void metrics_add(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static inline void metrics_store(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

static inline uint64_t metrics_load(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* One device's counters, since the device was created. */
struct metrics_block { METRICS_BLOCK(METRICS_FIELD_) };
struct metrics_net { METRICS_NET(METRICS_FIELD_) };

enum metrics_dev_kind { METRICS_DEV_BLOCK, METRICS_DEV_NET };

union metrics_dev_counters {
	struct metrics_block block;   /* METRICS_DEV_BLOCK */
	struct metrics_net net;       /* METRICS_DEV_NET */
};

/* Fill the member of *out (zeroed) that matches the device's kind with its
 * counters since it was created; they never go down. Called by
 * metrics_format() on its thread (main), so it takes the device's lock. */
typedef void metrics_dev_read_fn(void *opaque, union metrics_dev_counters *out);

/* The longest device id metrics_dev_add() takes. */
#define METRICS_DEV_ID_MAX 64

/* Report the device `opaque` as "block_<id>" / "net_<id>" and in the sum
 * (main thread). id: 1..METRICS_DEV_ID_MAX letters, digits, '_' or '-' (a
 * drive_id or iface_id), copied. A device with the kind and id of a removed
 * one whose last counts are not written yet carries them on. Returns 0,
 * -EINVAL for a bad id, -ENOMEM. */
int metrics_dev_add(enum metrics_dev_kind kind, const char *id, metrics_dev_read_fn *read,
		    void *opaque);
/* The device `opaque` goes away (main thread): its counters are read one
 * last time, and the next line still has its object, with what no line has
 * reported yet (the last line at exit has every device). Unknown opaque:
 * nothing happens. */
void metrics_dev_remove(void *opaque);

/* Point the metrics at PATH (opened O_WRONLY|O_CREAT|O_APPEND|O_NONBLOCK,
 * mode 0600; a file or a FIFO). Allowed once per process: a second call gives
 * -EALREADY. Returns 0 or -errno (the file's open error). */
int metrics_open(const char *path);
/* True once metrics_open() succeeded. */
bool metrics_configured(void);
/* Include "id": <id> in each line (Firecracker's emit_id). NULL: don't. */
void metrics_set_id(const char *id);

/* Write one line now (counters since the previous line). No file: 0 and
 * nothing written. A failed write bumps logger.missed_metrics_count and
 * returns -errno. */
int metrics_flush(void);

/* Format one line (without the trailing newline) into buf; counters are
 * reset when `consume` is true. Returns the length, or -ENOSPC if buf is too
 * small (the counters are then untouched). For tests and metrics_flush(). */
int metrics_format(char *buf, size_t len, bool consume);

/* Write a first line and arm the 60 s timer on loop (idempotent; called
 * when the VM starts). No file: does nothing and returns 0. */
int metrics_start(struct evloop *loop);
/* Disarm the timer, write a last line, close the file (at exit). */
void metrics_stop(void);

#endif
