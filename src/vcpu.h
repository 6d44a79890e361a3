/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vcpu.h - one vCPU: its KVM fd, its thread and the KVM_RUN loop.
 *
 * The thread only emulates register accesses: port and MMIO exits go to the
 * two buses; everything else is either fatal or ends the VM. Pausing and
 * stopping use a kick signal plus kvm_run.immediate_exit, so a vCPU is
 * never left inside KVM_RUN when vcpu_pause_all()/vcpu_stop_all() return.
 */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "src/bus.h"
#include "src/log.h"

/* Shared by all vCPUs of a VM. */
struct vcpu_shared {
	struct bus *pio;
	struct bus *mmio;
	/* Called once from a vCPU thread when the guest ends or fails. */
	void (*on_exit)(void *opaque, int status, const char *why);
	void *opaque;
	/* Called at the start of every exit, before its handler; may be NULL
	 * (the VMM drains KVM's coalesced port I/O ring here, so batched
	 * writes are seen before the access that caused the exit). */
	void (*pre_exit)(void *opaque);
	/* Called on each vCPU thread before its first KVM_RUN; may be NULL. A
	 * negative return ends the VM (on_exit with status 1). */
	int (*thread_init)(unsigned index);
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool paused;                 /* requested state */
	bool stopping;
	unsigned parked;             /* vCPUs waiting while paused */
	unsigned running;            /* threads alive */
};

struct vcpu {
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	struct vcpu_shared *shared;
};

/* Initialise the shared state (buses, exit callback). Returns 0. */
int vcpu_shared_init(struct vcpu_shared *sh, struct bus *pio, struct bus *mmio,
		     void (*on_exit)(void *, int, const char *), void *opaque);
void vcpu_shared_destroy(struct vcpu_shared *sh);

/* KVM_CREATE_VCPU and map kvm_run. Returns 0 or -errno (err set). */
int vcpu_create(struct vcpu *v, int kvm_fd, int vm_fd, unsigned index,
		struct vcpu_shared *sh, char *err, size_t errlen);
/* Start the thread. Returns 0 or -errno. */
int vcpu_start(struct vcpu *v);
/* Park every started vCPU outside KVM_RUN / let them run again. */
void vcpu_pause_all(struct vcpu *vcpus, unsigned n);
void vcpu_resume_all(struct vcpu *vcpus, unsigned n);
/* Make every started thread leave KVM_RUN and join it (vcpu_destroy then
 * unmaps kvm_run and closes the fd). */
void vcpu_stop_all(struct vcpu *vcpus, unsigned n);
/* From any thread, also a vCPU's own exit handler: no vCPU enters the guest
 * again (each leaves at its next exit); vcpu_stop_all() still joins them. */
void vcpu_stop_request(struct vcpu_shared *sh);
void vcpu_destroy(struct vcpu *v);

/* Log the registers of a vCPU (for fatal exits). */
void vcpu_dump_regs(const struct vcpu *v, enum log_level lvl);

/* The signal that kicks a vCPU thread out of KVM_RUN: glibc's SIGRTMIN + 1
 * (glibc keeps signals 32 and 33 for itself, so SIGRTMIN is 34). A constant,
 * not SIGRTMIN + 1, so that the seccomp filters compiled at build time can
 * allow tgkill() with exactly this signal; vcpu_signal_setup() checks that it
 * is a real-time signal the C library leaves to programs. */
#define VCPU_KICK_SIGNAL 35

/* Install the kick signal handler (once per process, before any vCPU runs).
 * -EINVAL when VCPU_KICK_SIGNAL is outside SIGRTMIN..SIGRTMAX. */
int vcpu_signal_setup(void);

#endif
