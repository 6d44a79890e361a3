/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_template.h - Firecracker's static CPU templates for x86_64: C3, T2,
 * T2S, T2CL (Intel hosts) and T2A (AMD hosts).
 *
 * A template is data: the host vendor it is made for, and per CPUID
 * leaf/subleaf/register and per MSR the bits it decides and the values it
 * gives them (every other bit stays as KVM and cpuid_filter() left it). It
 * hides features from the guest so that guests on different hosts see the
 * same CPU, which also decides where a guest may be moved. The tables are in
 * cpu_template.c; docs/firecracker-compat.md lists what each one changes.
 *
 * Layer 2 (a model): it edits a struct kvm_cpuid2 and computes MSR values;
 * x86_cpu.c issues the ioctls. Main thread only (no state).
 */
#ifndef EMBER_CPU_TEMPLATE_H
#define EMBER_CPU_TEMPLATE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "src/config.h"

/* One MSR rule: new = (old & ~clear) | set, set a subset of clear. */
struct cpu_template_msr {
	uint32_t index;
	uint64_t clear, set;
};

/* Firecracker's spelling: "C3", "T2", "T2S", "T2CL", "T2A"; "None" for
 * CONFIG_CPU_TEMPLATE_NONE; NULL for a value outside the enum. */
const char *cpu_template_name(enum config_cpu_template t);

/* Whether template t may be used with the host CPU that `supported`
 * (KVM_GET_SUPPORTED_CPUID, whose leaf 0 is the host's vendor) describes:
 * C3, T2, T2S and T2CL need "GenuineIntel", T2A "AuthenticAMD"; NONE fits
 * any host. Returns 0, or -EINVAL with Firecracker's text in err ("Failed
 * to get CPU template: CPU vendor mismatched between actual CPU and CPU
 * template.") and a log line naming the template and both vendors. */
int cpu_template_check(enum config_cpu_template t, const struct kvm_cpuid2 *supported,
		       char *err, size_t errlen);

/* Apply t's CPUID rules to cpuid in place (after cpuid_filter()). A rule
 * whose leaf/subleaf has no entry is skipped: entries are never added or
 * removed. NONE (or a NULL table) leaves it unchanged. */
void cpu_template_apply_cpuid(enum config_cpu_template t, struct kvm_cpuid2 *cpuid);

/* The bits t's CPUID rules turn on in register reg (0 EAX, 1 EBX, 2 ECX,
 * 3 EDX) of leaf/subleaf: 0 when t has no rule there (and for NONE). */
uint32_t cpu_template_cpuid_set(enum config_cpu_template t, uint32_t leaf, uint32_t subleaf,
				unsigned reg);

/* t's MSR rules (T2S and T2CL rewrite IA32_ARCH_CAPABILITIES): their count,
 * with *rules pointing at them; 0 (and NULL) for the others. */
size_t cpu_template_msrs(enum config_cpu_template t, const struct cpu_template_msr **rules);

/* What rule m makes of the MSR value old. */
uint64_t cpu_template_msr_value(const struct cpu_template_msr *m, uint64_t old);

#endif
