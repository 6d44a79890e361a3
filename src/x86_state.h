/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86_state.h - the KVM state of an x86 VM and of its vCPUs, read for a
 * snapshot and written back on a restore (docs/snapshot.md, sections VM and
 * VCPU): per vCPU the registers, special registers, FPU and XSAVE area,
 * XCRs, LAPIC, MP state, pending events, debug registers, TSC frequency,
 * every MSR KVM can save and the CPUID table; per VM the KVM clock, the PIT
 * and the PIC and IOAPIC. Layer 3 (KVM glue): the vCPU and VM ioctls of a
 * snapshot. Main thread, vCPUs parked (or not started yet).
 */
#ifndef EMBER_X86_STATE_H
#define EMBER_X86_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/config.h"

#define X86_STATE_MAX_MSRS   1024u
#define X86_STATE_MAX_CPUID  256u       /* KVM's own limit */
#define X86_STATE_XSAVE_MIN  4096u      /* struct kvm_xsave */
#define X86_STATE_MAX_XSAVE  (1u << 20)

struct x86_vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	uint8_t *xsave;                 /* malloc'd, xsave_len bytes (0: none) */
	uint32_t xsave_len;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	uint32_t tsc_khz;
	uint32_t nmsrs;
	struct kvm_msr_entry *msrs;     /* malloc'd */
	uint32_t ncpuid;
	struct kvm_cpuid_entry2 *cpuid; /* malloc'd */
};

struct x86_vm_state {
	struct kvm_clock_data clock;
	struct kvm_pit_state2 pit;
	struct kvm_irqchip chip[3];     /* PIC master, PIC slave, IOAPIC */
	uint32_t tsc_khz;               /* vCPU 0's */
	uint64_t realtime_ns;           /* host CLOCK_REALTIME at the save */
};

void x86_vcpu_state_free(struct x86_vcpu_state *st);

/* Read vCPU index's state (fd: its vCPU fd; kvm_fd: /dev/kvm for the MSR
 * list; vm_fd for the XSAVE size). The vCPU must be out of KVM_RUN. 0 or
 * -errno with one line in err ("vCPU 1: KVM_GET_LAPIC: ..."); st is then
 * freed. */
int x86_vcpu_save(int kvm_fd, int vm_fd, int fd, unsigned index, struct x86_vcpu_state *st,
		  char *err, size_t errlen);
/* Write it back to a new vCPU, in the order KVM needs (CPUID, TSC
 * frequency, MP state, registers, special registers, FPU, XSAVE, XCRs,
 * debug registers, LAPIC, MSRs, events). 0 or -errno with err naming the
 * step (and for KVM_SET_MSRS the MSR KVM refused). */
int x86_vcpu_restore(int fd, unsigned index, const struct x86_vcpu_state *st, char *err,
		     size_t errlen);

int x86_vm_save(int vm_fd, struct x86_vm_state *st, char *err, size_t errlen);
/* PIT, KVM clock (moved on by the host's wall-clock time since the save
 * when clock_realtime), PIC and IOAPIC. */
int x86_vm_restore(int vm_fd, const struct x86_vm_state *st, bool clock_realtime, char *err,
		   size_t errlen);

/* Before anything is built: can this host give the n vCPUs of st what they
 * had? Each CPUID feature bit of leaves 1, 7, 0xd and 0x80000001 that KVM
 * reports it cannot give (KVM_GET_SUPPORTED_CPUID; the bits ember sets
 * itself, those the guest's CR4 controls and those the snapshot's CPU
 * template tpl turns on excepted: KVM takes them whatever it reports, as it
 * did when the template was applied at boot), an XSAVE area larger
 * than this host's, and a TSC frequency KVM cannot scale to when it differs
 * from this host's are each an error naming the vCPU, leaf, register and
 * bits. 0 or -EINVAL/-errno with err. */
int x86_state_host_check(int kvm_fd, int vm_fd, const struct x86_vcpu_state *v, unsigned n,
			 enum config_cpu_template tpl, char *err, size_t errlen);

#endif
