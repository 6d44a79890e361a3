/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmgenid.h - the Virtual Machine Generation ID (Microsoft's "Virtual
 * Machine Generation ID" specification; Linux's drivers/virt/vmgenid.c):
 * 16 random bytes in guest memory that change whenever the VM may have
 * been duplicated, so the guest reseeds its RNG.
 *
 * The id lives at LAYOUT_VMGENID_ADDR (reserved in the e820 map, so it is
 * part of guest RAM and of a snapshot's memory file). The DSDT (acpi.c)
 * describes it as \_SB_.VGEN with an ADDR package, and a Generic Event
 * Device \_SB_.GED_ whose interrupt, LAYOUT_VMGENID_GSI, runs
 * Notify(VGEN, 0x80). A boot writes a random id; every snapshot load writes
 * a new one before the vCPUs run and raises the GSI (an edge), so two VMs
 * restored from one snapshot get different ids and the guest kernel mixes
 * the new one into its RNG (add_vmfork_randomness).
 *
 * Layer 3 (KVM glue): getrandom, guest memory, KVM_IRQ_LINE. Main thread.
 */
#ifndef EMBER_VMGENID_H
#define EMBER_VMGENID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/guest_mem.h"

#define VMGENID_LEN 16

/* Where a VM's generation id and its notification are (a snapshot's
 * VMGENID section). present false: the VM has no VMGenID device. */
struct vmgenid {
	bool present;
	uint64_t gpa;
	uint32_t gsi;
};

/* 16 random bytes from getrandom(). 0 or -errno with one line in err. */
int vmgenid_random(uint8_t id[VMGENID_LEN], char *err, size_t errlen);

/* Boot: a random id at LAYOUT_VMGENID_ADDR; vg describes it (the ACPI
 * tables are written from it). 0 or -errno with one line in err. */
int vmgenid_setup(struct vmgenid *vg, const struct guest_mem *mem, char *err, size_t errlen);

/* Snapshot load (after the interrupt controllers and the vCPUs got their
 * state, before any vCPU runs): a new random id at vg->gpa, then an edge on
 * vg->gsi through vm_fd (KVM_IRQ_LINE up, then down). *id (may be NULL)
 * gets the new id. A vg that is not present does nothing. 0 or -errno with
 * one line in err. */
int vmgenid_regenerate(const struct vmgenid *vg, const struct guest_mem *mem, int vm_fd,
		       uint8_t *id, char *err, size_t errlen);

/* The id as 32 lowercase hex digits (out: at least 33 bytes). */
void vmgenid_hex(const uint8_t id[VMGENID_LEN], char *out);

#endif
