/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp.h - per-thread syscall allowlists (libseccomp), as Firecracker.
 *
 * Two thread kinds: the main thread (event loop: API socket, devices, VM
 * creation at InstanceStart, spawning vCPU threads) and the vCPU threads
 * (KVM_RUN loop, MMIO/PIO register emulation). Each installs its own filter.
 * The main thread gets a second, narrower one once the VM runs
 * (SECCOMP_THREAD_MAIN_RUNNING, installed by vm_start on top of the first):
 * no more VM or vCPU creation, guest memory slots, taps, thread creation,
 * file creation or removal; only what the running VM, the post-boot API
 * requests and the exit need.
 * Filters are compiled to BPF once, by seccomp_configure_*() on the main
 * thread at startup; seccomp_install_thread() only loads the compiled
 * program (no allocation, safe on a fresh thread). The built-in programs
 * are compiled from the lists of seccomp_rules.c when ember is built
 * (build/seccomp-gen); tgkill's pid, known only at run time, is written into
 * them by seccomp_configure_default(). seccomp_int.h says which file holds
 * what.
 *
 * Stacking: vCPU threads are created by the main thread, usually after the
 * main filter is in place, and a thread keeps the filters it inherits. So
 * the main filter always also allows (a) every rule of the vcpu filter whose
 * action is "allow" and (b) seccomp(SECCOMP_SET_MODE_FILTER) and
 * prctl(PR_SET_NO_NEW_PRIVS) so the vCPU thread can add its own. A vCPU
 * thread therefore runs under main ∩ vcpu = exactly the vcpu allowlist.
 * The post-boot main filter is installed after the vCPU threads exist:
 * they never inherit it.
 *
 * clone3 (its flags are in memory, out of a filter's reach) fails with
 * ENOSYS before boot, so glibc's pthread_create uses clone, which the filter
 * allows only with CLONE_THREAD; tgkill only targets ember's own process
 * with VCPU_KICK_SIGNAL (vcpu.h).
 *
 * Default action (built-in filters): SCMP_ACT_TRAP, as Firecracker's. main.c
 * installs seccomp_report_violations(), whose SIGSYS handler writes one line
 * naming the syscall number and ends the process with exit status 148
 * (Firecracker's "bad syscall" code). The syscall itself never runs: a
 * guest that took over ember and caught SIGSYS still could not make it.
 * A user filter may choose "kill_process" instead (status 159 = SIGSYS).
 *
 * --seccomp-filter FILE format (JSON; Firecracker's seccompiler source
 * format, not its compiled BPF blob). The top-level object has exactly the
 * keys "main" and "vcpu", or Firecracker's three "vmm", "api" and "vcpu"
 * (ember runs vmm and api work on one thread: main = the rules of both,
 * with vmm's default_action). Each value:
 *   { "default_action": ACTION, "filter_action": ACTION,
 *     "filter": [ { "syscall": "ioctl", "comment": "...",
 *                   "args": [ { "index": 1, "type": "dword"|"qword",
 *                               "op": "eq"|"ne"|"lt"|"le"|"gt"|"ge"|{"masked_eq": M},
 *                               "val": N, "comment": "..." } ] } ] }
 * ACTION: "allow", "kill_process" (or "kill"), "kill_thread", "trap", "log",
 * {"errno": N}, {"trace": N}. Rules are OR-ed, args within a rule AND-ed.
 * "dword" eq/masked_eq compare the low 32 bits; other dword ops compare the
 * whole 64-bit register. Unknown and repeated keys are errors (cJSON keeps
 * both copies of a repeated key). A file has no post-boot category: with
 * one, the main filter stays the same for ember's whole life.
 * (This file parser, seccomp_file.c, is the one other user of cJSON besides
 * api.c: the format is JSON for Firecracker compatibility; it touches
 * nothing else.)
 */
#ifndef EMBER_SECCOMP_H
#define EMBER_SECCOMP_H

#include <stddef.h>

enum seccomp_thread {
	SECCOMP_THREAD_MAIN,		/* the main thread, from start-up */
	SECCOMP_THREAD_VCPU,		/* each vCPU thread */
	SECCOMP_THREAD_MAIN_RUNNING,	/* the main thread again, once the VM runs */
};

/* Mode, from the command line: the built-in filters (default), none
 * (--no-seccomp) or a user file (--seccomp-filter FILE). Call once on the
 * main thread before any other thread exists; a later call replaces the
 * earlier configuration. Return 0 or -errno (-EINVAL for a bad file, with
 * one line naming the problem in err). */
int seccomp_configure_default(void);
int seccomp_configure_none(void);
/* 1 when the precompiled built-in filters match a fresh libseccomp compile of
 * the lists in seccomp_rules.c (unit test), 0 when not, -errno on error. */
int seccomp_default_is_current(void);
int seccomp_configure_file(const char *path, char *err, size_t errlen);

/* Install the filter for the calling thread: SECCOMP_THREAD_MAIN on the main
 * thread before serving the API / running the loop, SECCOMP_THREAD_VCPU on
 * each vCPU thread before its first KVM_RUN, SECCOMP_THREAD_MAIN_RUNNING on
 * the main thread once the vCPU threads run. Sets no_new_privs. Returns 0
 * (also in "none" mode, and for SECCOMP_THREAD_MAIN_RUNNING with a
 * --seccomp-filter file: nothing to add) or -errno; -EINVAL if nothing was
 * configured. */
int seccomp_install_thread(enum seccomp_thread kind);

/* Install a SIGSYS handler that writes "Shutting down VM after intercepting
 * a bad syscall (<nr>)." to stderr and _exit(148). Only reached with the
 * "trap" action (kill_process kills before any handler runs). Call on the
 * main thread before seccomp_install_thread(). Returns 0 or -errno. */
int seccomp_report_violations(void);

/* Number of instructions of the compiled BPF program (0 if none); tests. */
size_t seccomp_prog_len(enum seccomp_thread kind);

#endif
