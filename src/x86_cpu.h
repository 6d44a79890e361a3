/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86_cpu.h - an x86 vCPU's state at boot, set through KVM on its fd: the
 * CPUID table (KVM's supported one, filtered per vCPU by cpuid.c), the boot
 * MSRs, the FPU, the local APIC's LINT0/LINT1 and, for the boot vCPU, the
 * registers x86_boot.c computes for the kernel entry. Main thread only,
 * before the vCPU threads start.
 */
#ifndef EMBER_X86_CPU_H
#define EMBER_X86_CPU_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

#include "src/config.h"
#include "src/vcpu.h"
#include "src/x86_boot.h"

/* KVM_GET_SUPPORTED_CPUID on the /dev/kvm fd, in a table grown until it
 * fits. The caller frees it. NULL with one line in err on failure. */
struct kvm_cpuid2 *x86_cpu_supported_cpuid(int kvm_fd, char *err, size_t errlen);

/* Set up vCPU v of nvcpus (created, not started): cpuid_filter() (with
 * machine->smt) then the CPU template's rules (cpu_template_apply_cpuid(),
 * machine->cpu_template) on a copy of supported + KVM_SET_CPUID2, the boot
 * MSRs (SYSENTER, SYSCALL, KERNEL_GS_BASE and the TSC zeroed, fast strings
 * on, MTRRs on with write-back as the default type), the template's MSR
 * rules (each MSR read with KVM_GET_MSRS, rewritten, set back), the FPU's
 * reset state, LAPIC LINT0 = ExtINT and LINT1 = NMI (as the MP table says)
 * and, for vCPU 0 only, x86_boot_regs() for kernel. The caller checked the
 * template against the host (cpu_template_check()). Returns 0 or -errno
 * with one line in err ("vCPU N: ..."). */
int x86_cpu_setup(const struct vcpu *v, const struct kvm_cpuid2 *supported, unsigned nvcpus,
		  const struct config_machine *machine, const struct x86_kernel *kernel,
		  char *err, size_t errlen);

#endif
