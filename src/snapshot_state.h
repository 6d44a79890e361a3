/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot_state.h - everything a snapshot's state file holds, as C values,
 * and its encoding into sections (docs/snapshot.md, section 2): the VM
 * (RAM size, vCPU count, flags, the KVM clock, PIT and interrupt
 * controllers), the configuration, each vCPU, the serial port, the i8042
 * and each virtio device.
 *
 * snapshot_state_decode() checks every value against its limit and against
 * the rest of the file (the vCPU count and RAM size agree with the
 * configuration, each virtio device is the configured one at its index) so
 * that a restore only meets states it can build. No KVM here: the fuzzer
 * and the unit tests run it. Main thread.
 */
#ifndef EMBER_SNAPSHOT_STATE_H
#define EMBER_SNAPSHOT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "src/config.h"
#include "src/devices.h"
#include "src/i8042.h"
#include "src/layout.h"
#include "src/serial.h"
#include "src/vmgenid.h"
#include "src/x86_state.h"

/* Section types. */
enum snapshot_section {
	SNAPSHOT_SEC_VM = 1,
	SNAPSHOT_SEC_CONFIG = 2,
	SNAPSHOT_SEC_VCPU = 3,
	SNAPSHOT_SEC_SERIAL = 4,
	SNAPSHOT_SEC_I8042 = 5,
	SNAPSHOT_SEC_VIRTIO = 6,
	/* Optional (format 1.1): absent in older files and for a VM without
	 * the device. */
	SNAPSHOT_SEC_VMGENID = 7,
};

/* VM flags. */
#define SNAPSHOT_VM_BOOT_TIMER 1u     /* the boot-timer device exists */
#define SNAPSHOT_VM_DIFF       2u     /* the memory file was written as a Diff */

struct snapshot_state {
	uint64_t mem_size;            /* bytes */
	unsigned nvcpus;
	uint32_t flags;
	struct x86_vm_state vm;
	/* The configuration: ids, paths, limits; every fd -1 (nothing opened). */
	struct vm_config cfg;
	struct x86_vcpu_state vcpu[LAYOUT_MAX_VCPUS];
	struct serial_state serial;
	struct i8042_state i8042;
	unsigned ndev;                /* = cfg.ndrives + cfg.nnets */
	struct devices_state dev[LAYOUT_MAX_VIRTIO_DEVS];
	struct vmgenid vmgenid;       /* the VMGENID section; present false without one */
};

/* Free what the vCPU states hold (not st itself). */
void snapshot_state_free(struct snapshot_state *st);

/* The state file's bytes (*out malloc'd). 0 or -errno with err. */
int snapshot_state_encode(const struct snapshot_state *st, uint8_t **out, size_t *len,
			  char *err, size_t errlen);

/* Check and decode a whole state file into st (zeroed first; on error
 * everything it held is freed). 0 or -EINVAL with one line in err naming
 * the problem ("checksum mismatch: ...", "VCPU 1 section: lapic: 12 bytes,
 * expected 1024", "CONFIG section: drives[0].drive_id: ..."). */
int snapshot_state_decode(const uint8_t *buf, size_t len, struct snapshot_state *st,
			  char *err, size_t errlen);

#endif
