/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h - one microVM: built from a validated config in one ordered list of
 * steps, then started, paused, resumed and destroyed.
 *
 * vm.c is the only place where KVM, guest memory, the legacy devices and the
 * virtio devices meet. All functions are called from the main thread. When
 * the guest ends (reset, reboot, shutdown, halt, triple fault) or a vCPU
 * fails, the VM asks the event loop to stop with the process exit status:
 * 0 when the guest ended, 1 for a vCPU failure.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <stddef.h>

#include "src/config.h"
#include "src/evloop.h"

struct vm;

/* Start opening /dev/kvm and creating the KVM VM (irqchip, PIT) on a
 * background thread, before the configuration is known; vm_create adopts
 * the result. Optional: without it vm_create does those steps itself. Call
 * with the signals the main loop takes already blocked. */
void vm_prepare(void);

/* Build the VM (memory, kernel and initrd, KVM machine, memory slots, legacy
 * devices, command line, virtio devices, boot structures, vCPUs) but run
 * nothing. On error every resource is released, err holds the failing
 * step's one line, and -errno is returned. -ENODEV from the machine step
 * means KVM is not available. */
int vm_create(const struct vm_config *cfg, struct evloop *loop, struct vm **out,
	      char *err, size_t errlen);

/* Start the console (stdin forwarded to the guest, a terminal in raw mode,
 * the ring's drain timer) and the vCPU threads, then narrow the calling
 * (main) thread's seccomp filter to what a running VM needs
 * (SECCOMP_THREAD_MAIN_RUNNING). Returns 0 or -errno (-EALREADY when it
 * runs already). */
int vm_start(struct vm *vm, char *err, size_t errlen);

/* Pause: every vCPU is out of KVM_RUN and parked when this returns, with
 * its last exit completed; the UART's batched output is drained, every
 * queue the guest kicked is served, then the devices stop until resume.
 * Resume: the devices look at their queues again, the vCPUs continue.
 * Both idempotent. Return 0, or -EINVAL when the VM
 * was not started. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
int vm_is_paused(const struct vm *vm);

/* Inject Ctrl-Alt-Del through the i8042 keyboard. Returns 0 or -errno. */
int vm_send_ctrl_alt_del(struct vm *vm);

/* PATCH /drives/{id} on the running VM: drive is the drive's merged config
 * (devices_update_drive in devices.h says what changes). -ENODEV when the VM
 * has no device set, -ENOENT for an unknown id; one line in err either way. */
int vm_update_drive(struct vm *vm, const struct config_drive *drive, char *err, size_t errlen);

/* PATCH /network-interfaces/{id} on the running VM: new rate limiters
 * (devices_update_net). Errors as vm_update_drive. */
int vm_update_net(struct vm *vm, const struct config_net *net, char *err, size_t errlen);

/* Stop vCPU threads (if running) and release everything. NULL is fine.
 * Once the event loop is stopping (the guest, a vCPU or a signal asked; the
 * process then ends), only the
 * vCPUs and the console are wound up and the rest is left to the process's
 * exit, unless built with a sanitizer or EMBER_FULL_TEARDOWN=1 is set
 * (vm.c: vm_leave_to_exit). */
void vm_destroy(struct vm *vm);

/* ---- snapshots (docs/snapshot.md) ---- */

struct snapshot_state;

enum vm_snapshot_type { VM_SNAPSHOT_FULL, VM_SNAPSHOT_DIFF };

/* PUT /snapshot/create on the paused VM built from cfg: the memory file
 * (Full: every page that is not zero, into a new or truncated file; Diff:
 * the pages written since the last snapshot, boot or load, into the existing
 * file; needs cfg->machine.track_dirty_pages), then the state file. The VM
 * stays paused. 0 or -errno with one line in err (-EBUSY: not paused). */
int vm_snapshot_create(struct vm *vm, const struct vm_config *cfg, const char *state_path,
		       const char *mem_path, enum vm_snapshot_type type, char *err,
		       size_t errlen);

/* What vm_restore builds a VM from. */
struct vm_restore {
	const struct snapshot_state *st;  /* decoded and checked */
	int mem_fd;                       /* File backend: the memory file, else -1 */
	const char *uffd_path;            /* Uffd backend: the handler's socket, else NULL */
	bool clock_realtime;              /* move the KVM clock on by the time since the save */
	/* cfg->serial's rate limiter was given for this load (PUT /serial):
	 * its bucket starts full; else the snapshot's bucket goes on. */
	bool serial_limiter_given;
	/* The working set (src/prefetch.h; NULL: off): prefetched into RAM
	 * before the vCPUs run, recorded at the first pause. The VM owns it
	 * once vm_restore succeeded; on failure it is still the caller's. */
	struct ws_session *ws;
};

/* PUT /snapshot/load: build the VM of the snapshot (cfg: its configuration,
 * drives and taps opened; machine.track_dirty_pages as the load asks),
 * guest RAM from the memory file (or anonymous and served by the page-fault
 * handler at rs->uffd_path, src/uffd.h), the host checked (x86_state_host_check)
 * before anything past the KVM machine is built, then every state put
 * back. vm_start() then starts it paused; vm_resume() runs it. Errors as
 * vm_create (nothing left behind). */
int vm_restore(const struct vm_config *cfg, struct evloop *loop, const struct vm_restore *rs,
	       struct vm **out, char *err, size_t errlen);

#endif
