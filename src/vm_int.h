/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm_int.h - struct vm, shared by vm.c (build, lifecycle, restore) and
 * vm_snapshot.c (taking a snapshot) only. Everything else sees struct vm as
 * opaque (vm.h).
 */
#ifndef EMBER_VM_INT_H
#define EMBER_VM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "src/bus.h"
#include "src/console.h"
#include "src/devices.h"
#include "src/evloop.h"
#include "src/guest_mem.h"
#include "src/i8042.h"
#include "src/kvm.h"
#include "src/layout.h"
#include "src/vcpu.h"
#include "src/vm.h"
#include "src/vmgenid.h"
#include "src/x86_boot.h"

struct vm {
	struct kvm_machine kvm;
	bool prepared;                      /* the machine came from vm_prepare */
	struct evloop *loop;
	struct guest_mem mem;
	uint64_t initrd_gpa, initrd_size;   /* where vm_load_kernel put the initrd */
	struct bus pio;
	struct bus mmio;
	struct console console;
	struct i8042 i8042;
	int i8042_irqfd;
	bool i8042_init;
	struct devices *devices;
	struct x86_kernel kernel;
	unsigned nvcpus;
	struct vcpu vcpus[LAYOUT_MAX_VCPUS];
	struct vcpu_shared vshared;
	bool vshared_init;
	bool started;
	bool paused;
	bool boot_timer;                    /* the boot-timer device is on the MMIO bus */
	struct vmgenid vmgenid;             /* the VM generation id (present: the guest has it) */
	/* Snapshot restore: what vm_restore builds from (NULL for a boot), the
	 * vCPU threads start parked, and the devices signal the guest again
	 * at the first resume. */
	const struct vm_restore *restore;
	bool start_paused;
	bool restored;
	int uffd_fd;                        /* Uffd backend: ember's copy, else -1 */
	struct ws_session *ws;              /* the working set to record (src/prefetch.h) */
	int exiting;
	uint64_t exit_req_ns;   /* when the guest or a vCPU asked ember to stop */
	char cmdline[LAYOUT_CMDLINE_MAX];
};

#endif
