/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm.h - the KVM machine of a microVM: the /dev/kvm fd and the VM fd.
 *
 * Opening /dev/kvm (API version and capabilities checked) and creating the
 * VM (TSS, identity-map page, in-kernel irqchip and PIT) need no
 * configuration and are the slowest part of a build: kvm_prepare() starts
 * them on a short-lived thread before the configuration is known, and
 * kvm_machine_create() adopts that thread's machine or makes one itself.
 * Then guest RAM becomes memory slots, and eventfds are wired to GSIs.
 * Main thread only, except for the prepare thread itself.
 */
#ifndef EMBER_KVM_H
#define EMBER_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/guest_mem.h"

struct kvm_machine {
	int kvm_fd;                  /* /dev/kvm, -1 when not open */
	int vm_fd;                   /* KVM_CREATE_VM, -1 when not created */
};

/* Start the prepare thread: it installs the main thread's seccomp filter on
 * itself, then opens /dev/kvm and creates the VM. A no-op when a thread was
 * already started and not yet adopted. Call with the signals the main loop
 * takes already blocked (the thread inherits the mask). */
void kvm_prepare(void);

/* Fill m (both fds -1 on entry): adopt the prepare thread's machine (joins
 * the thread), or, when no thread ran or it failed, open /dev/kvm and create
 * the VM on the calling thread, with the same checks and errors. *prepared
 * says which. Returns 0 or -errno with one line in err (-ENODEV: /dev/kvm
 * is missing, of another API version or lacks a capability); on error m
 * may hold an open /dev/kvm fd: kvm_machine_close() releases it. */
int kvm_machine_create(struct kvm_machine *m, bool *prepared, char *err, size_t errlen);

/* KVM_SET_USER_MEMORY_REGION for each RAM region of mem (slot i = region
 * i), with KVM's dirty page log when mem tracks dirty pages (mem->dirty).
 * Returns 0 or -errno with one line in err. */
int kvm_set_slots(const struct kvm_machine *m, const struct guest_mem *mem, char *err,
		  size_t errlen);

/* A new eventfd wired to a GSI of the in-kernel IOAPIC (KVM_IRQFD): each
 * write is one edge. *out gets the fd. Returns 0 or -errno with one line in
 * err (and no fd left open). */
int kvm_irqfd_new(const struct kvm_machine *m, unsigned gsi, int *out, char *err, size_t errlen);

/* KVM_GET_DIRTY_LOG of every slot (the log starts over): OR the pages the
 * guest wrote since the last call into pages (one bit per page of mem's
 * mapping). 0 or -errno with one line in err. */
int kvm_dirty_log(const struct kvm_machine *m, const struct guest_mem *mem, uint64_t *pages,
		  char *err, size_t errlen);

/* Close the VM fd, then /dev/kvm (each when open); both become -1. */
void kvm_machine_close(struct kvm_machine *m);

#endif
