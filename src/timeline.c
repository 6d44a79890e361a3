// SPDX-License-Identifier: Apache-2.0
#include "src/timeline.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/util.h"

#include <stdbool.h>
#include <stdio.h>

static uint64_t timeline_ns[TIMELINE_NPHASES];
static uint64_t timeline_build_cpu_ns;

static const char *const timeline_names[TIMELINE_NPHASES] = {
	"process_start", "api_ready", "instance_start", "state_checked", "build_start",
	"memory_mapped", "prefetch_done", "devices_restored", "build_done", "first_kvm_run",
	"vcpus_resumed", "first_serial_byte", "guest_userspace",
};

void timeline_mark(enum timeline_phase p)
{
	uint64_t expected = 0;
	uint64_t now = util_now_ns();
	bool first = __atomic_compare_exchange_n(&timeline_ns[p], &expected, now, false,
						 __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	if (first && p == TIMELINE_FIRST_SERIAL && timeline_get(TIMELINE_VCPUS_RESUMED))
		timeline_log_restore();
	if (p == TIMELINE_BUILD_START)
		timeline_build_cpu_ns = util_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

void timeline_set(enum timeline_phase p, uint64_t ns)
{
	__atomic_store_n(&timeline_ns[p], ns, __ATOMIC_RELAXED);
}

uint64_t timeline_get(enum timeline_phase p)
{
	return __atomic_load_n(&timeline_ns[p], __ATOMIC_RELAXED);
}

const char *timeline_name(enum timeline_phase p)
{
	return p < TIMELINE_NPHASES ? timeline_names[p] : "?";
}

int timeline_format(char *buf, size_t len)
{
	uint64_t base = timeline_get(TIMELINE_PROCESS_START);
	int n = 0;
	if (len)
		buf[0] = 0;
	for (int p = 0; p < TIMELINE_NPHASES; p++) {
		uint64_t t = timeline_get(p);
		if (!t)
			continue;
		int w = snprintf(buf + (n < (int)len ? n : (int)len),
				 (size_t)n < len ? len - (size_t)n : 0, "%s%s=%lluus", n ? " " : "",
				 timeline_names[p], (unsigned long long)((t - base) / 1000));
		n += w;
	}
	return n;
}

void timeline_log_restore(void)
{
	char line[512];
	timeline_format(line, sizeof(line));
	log_info("Restore timeline: %s", line);
}

void timeline_log_boot_time(void)
{
	uint64_t start = timeline_get(TIMELINE_BUILD_START);
	uint64_t end = timeline_get(TIMELINE_BOOT_TIMER);
	if (!start || !end)
		return;
	uint64_t us = (end - start) / 1000;
	uint64_t cpu_us = (util_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - timeline_build_cpu_ns) / 1000;
	metrics_store(&metrics.boot.guest_boot_time_us, us);
	metrics_store(&metrics.boot.guest_boot_cpu_time_us, cpu_us);
	metrics_inc(&metrics.boot.boot_timer_writes);
	log_info("Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
		 (unsigned long long)us, (unsigned long long)(us / 1000),
		 (unsigned long long)cpu_us, (unsigned long long)(cpu_us / 1000));
	char line[512];
	timeline_format(line, sizeof(line));
	log_info("Boot timeline: %s", line);
}
