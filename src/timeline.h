/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timeline.h - monotonic timestamps of each boot phase.
 *
 * A mark is one clock read and one store; any thread may mark. The first
 * mark of a phase wins. timeline_format() renders the phases as one line
 * (used in the log when the guest reports userspace, in metrics, and by
 * `--boot-timeline` for a table).
 */
#ifndef EMBER_TIMELINE_H
#define EMBER_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

enum timeline_phase {
	TIMELINE_PROCESS_START,   /* main() entered (or the jailer's --start-time-us) */
	TIMELINE_API_READY,       /* API socket accepting */
	TIMELINE_INSTANCE_START,  /* InstanceStart received / config file loaded / a
				   * snapshot load's request parsed */
	TIMELINE_STATE_CHECKED,   /* restore: the state file read, checked and decoded */
	TIMELINE_BUILD_START,     /* vm_create entered */
	TIMELINE_MEMORY_MAPPED,   /* restore: guest RAM mapped (or registered for Uffd) */
	TIMELINE_PREFETCH_DONE,   /* restore: the working set prefetched (src/prefetch.h) */
	TIMELINE_DEVICES_RESTORED,/* restore: VM, vCPU and device state put back */
	TIMELINE_BUILD_DONE,      /* memory, kernel, devices, vCPUs ready */
	TIMELINE_FIRST_RUN,       /* vCPU threads released into KVM_RUN (a restored
				   * VM's park before it until the resume) */
	TIMELINE_VCPUS_RESUMED,   /* restore: the restored vCPUs run (first resume) */
	TIMELINE_FIRST_SERIAL,    /* first byte the guest wrote to the UART */
	TIMELINE_BOOT_TIMER,      /* boot-timer write: guest userspace */
	TIMELINE_NPHASES
};

void timeline_mark(enum timeline_phase p);
/* Set a phase explicitly (e.g. process start from --start-time-us). ns is
 * CLOCK_MONOTONIC nanoseconds. */
void timeline_set(enum timeline_phase p, uint64_t ns);
/* 0 when not reached. */
uint64_t timeline_get(enum timeline_phase p);
const char *timeline_name(enum timeline_phase p);
/* "process_start=0us api_ready=812us ..." offsets from process start, only
 * phases reached. Returns the length written (snprintf semantics). */
int timeline_format(char *buf, size_t len);
/* Log "Restore timeline: ..." (timeline_format) once, when a restored
 * guest's first console byte arrives (timeline_mark of FIRST_SERIAL after
 * VCPUS_RESUMED does it). */
void timeline_log_restore(void);
/* Log Firecracker's line "Guest-boot-time = N us M ms, C CPU us D CPU ms"
 * (measured from the start of the VM build, as Firecracker does) and the
 * timeline line. */
void timeline_log_boot_time(void);

#endif
