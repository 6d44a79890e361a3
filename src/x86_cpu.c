// SPDX-License-Identifier: Apache-2.0
/*
 * x86_cpu.c - an x86 vCPU's boot state through KVM (see x86_cpu.h): CPUID,
 * MSRs, FPU, LAPIC and the boot registers, one function each. Layer 3 (KVM
 * glue): it issues the vCPU ioctls of the build and KVM_GET_SUPPORTED_CPUID;
 * the values come from the layer-2 models cpuid.c, cpu_template.c and
 * x86_boot.c.
 */
#include "src/x86_cpu.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "src/cpu_template.h"
#include "src/cpuid.h"

#define MSR_IA32_TSC            0x10
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_MTRR_DEF_TYPE       0x2ff
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SYSCALL_MASK        0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102
#define APIC_LVT0               0x350
#define APIC_LVT1               0x360
#define APIC_MODE_NMI           0x4
#define APIC_MODE_EXTINT        0x7

struct kvm_cpuid2 *x86_cpu_supported_cpuid(int kvm_fd, char *err, size_t errlen)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			break;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		int e = errno;
		free(c);
		if (e != E2BIG) {
			snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
			return NULL;
		}
	}
	snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: table too large");
	return NULL;
}

static int x86_cpu_set_cpuid(const struct vcpu *v, const struct kvm_cpuid2 *supported,
			     unsigned nvcpus, const struct config_machine *machine, char *err,
			     size_t errlen)
{
	size_t csz = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *cpuid = malloc(csz);
	if (!cpuid) {
		snprintf(err, errlen, "vCPU %u: out of memory", v->index);
		return -ENOMEM;
	}
	memcpy(cpuid, supported, csz);
	int r = cpuid_filter(cpuid, v->index, nvcpus, machine->smt);
	if (r == 0)
		cpu_template_apply_cpuid(machine->cpu_template, cpuid);
	if (r == 0 && ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
		r = -errno;
	free(cpuid);
	if (r < 0)
		snprintf(err, errlen, "vCPU %u: CPUID set-up: %s", v->index, strerror(-r));
	return r;
}

static int x86_cpu_set_msrs(const struct vcpu *v, char *err, size_t errlen)
{
	static const uint32_t zero_msrs[] = {
		MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_STAR,
		MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR, MSR_IA32_TSC,
	};
	enum { N = sizeof(zero_msrs) / sizeof(zero_msrs[0]) + 2 };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[N];
	} m;
	memset(&m, 0, sizeof(m));
	unsigned i = 0;
	for (; i < N - 2; i++)
		m.e[i].index = zero_msrs[i];
	m.e[i].index = MSR_IA32_MISC_ENABLE;
	m.e[i++].data = 1; /* fast strings */
	m.e[i].index = MSR_MTRR_DEF_TYPE;
	m.e[i++].data = (1u << 11) | 6; /* MTRRs on, default write-back */
	m.hdr.nmsrs = i;
	/* KVM_SET_MSRS returns how many it set: all of them, or it failed. */
	int r = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (r < 0)
		r = -errno;
	else if (r != (int)i)
		r = -EINVAL;
	else
		r = 0;
	if (r < 0)
		snprintf(err, errlen, "vCPU %u: KVM_SET_MSRS: %s", v->index, strerror(-r));
	return r;
}

/* The CPU template's MSR rules: each MSR as KVM has it for this vCPU (set
 * from the host when the vCPU was made), rewritten. After KVM_SET_CPUID2:
 * KVM accepts IA32_ARCH_CAPABILITIES only when the CPUID has it. */
static int x86_cpu_set_template_msrs(const struct vcpu *v, enum config_cpu_template t,
				     char *err, size_t errlen)
{
	const struct cpu_template_msr *rules;
	size_t n = cpu_template_msrs(t, &rules);
	for (size_t i = 0; i < n; i++) {
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e;
		} m;
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.e.index = rules[i].index;
		const char *op = "KVM_GET_MSRS";
		int r = ioctl(v->fd, KVM_GET_MSRS, &m);
		if (r == 1) {
			m.e.data = cpu_template_msr_value(&rules[i], m.e.data);
			op = "KVM_SET_MSRS";
			r = ioctl(v->fd, KVM_SET_MSRS, &m);
		}
		if (r != 1) {
			/* r == 0: KVM does not have this MSR (or refused the value) */
			snprintf(err, errlen, "vCPU %u: CPU template %s: %s of MSR %#x: %s",
				 v->index, cpu_template_name(t), op, rules[i].index,
				 r < 0 ? strerror(errno) : "not supported by KVM on this host");
			return r < 0 ? -errno : -EINVAL;
		}
	}
	return 0;
}

static int x86_cpu_set_fpu(const struct vcpu *v, char *err, size_t errlen)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
		int r = -errno;
		snprintf(err, errlen, "vCPU %u: KVM_SET_FPU: %s", v->index, strerror(-r));
		return r;
	}
	return 0;
}

/* LINT0 = ExtINT (the PIC), LINT1 = NMI, as the MP table says. */
static int x86_cpu_set_lapic(const struct vcpu *v, char *err, size_t errlen)
{
	struct kvm_lapic_state lapic;
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) == 0) {
		uint32_t lvt0, lvt1;
		memcpy(&lvt0, &lapic.regs[APIC_LVT0], 4);
		memcpy(&lvt1, &lapic.regs[APIC_LVT1], 4);
		lvt0 = (lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
		lvt1 = (lvt1 & ~0x700u) | (APIC_MODE_NMI << 8);
		memcpy(&lapic.regs[APIC_LVT0], &lvt0, 4);
		memcpy(&lapic.regs[APIC_LVT1], &lvt1, 4);
		if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) == 0)
			return 0;
	}
	int r = -errno;
	snprintf(err, errlen, "vCPU %u: LAPIC set-up: %s", v->index, strerror(-r));
	return r;
}

static int x86_cpu_set_boot_regs(const struct vcpu *v, const struct x86_kernel *kernel,
				 char *err, size_t errlen)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	memset(&regs, 0, sizeof(regs));
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		int r = -errno;
		snprintf(err, errlen, "vCPU %u: KVM_GET_SREGS: %s", v->index, strerror(-r));
		return r;
	}
	/* Application processors wait for INIT/SIPI in the in-kernel LAPIC;
	 * only the boot processor starts at the kernel entry. */
	if (v->index != 0)
		return 0;
	x86_boot_regs(kernel, &regs, &sregs);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
		int r = -errno;
		snprintf(err, errlen, "vCPU %u: KVM_SET_SREGS/REGS: %s", v->index, strerror(-r));
		return r;
	}
	return 0;
}

int x86_cpu_setup(const struct vcpu *v, const struct kvm_cpuid2 *supported, unsigned nvcpus,
		  const struct config_machine *machine, const struct x86_kernel *kernel,
		  char *err, size_t errlen)
{
	int r = x86_cpu_set_cpuid(v, supported, nvcpus, machine, err, errlen);
	if (r == 0)
		r = x86_cpu_set_msrs(v, err, errlen);
	if (r == 0)
		r = x86_cpu_set_template_msrs(v, machine->cpu_template, err, errlen);
	if (r == 0)
		r = x86_cpu_set_fpu(v, err, errlen);
	if (r == 0)
		r = x86_cpu_set_lapic(v, err, errlen);
	if (r == 0)
		r = x86_cpu_set_boot_regs(v, kernel, err, errlen);
	return r;
}
