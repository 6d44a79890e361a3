// SPDX-License-Identifier: Apache-2.0
/*
 * cpuid.c - per-vCPU CPUID filtering.
 *
 * Topology follows the APIC id layout [core | thread]: with t threads per
 * core (1 or 2) vCPU i is thread i % t of core i / t, and its APIC id is i.
 * References: Intel SDM vol. 2A "CPUID" (leaves 1, 4, 6, 7, 0xb, 0x1f),
 * AMD APM vol. 3 appendix E (0x80000001, 0x80000008, 0x8000001d/1e), and
 * Linux Documentation/virt/kvm/x86/cpuid.rst (0x40000000).
 */
#include "src/cpuid.h"
#include "src/layout.h"

#include <errno.h>
#include <stddef.h>

#define BIT(n) (1u << (n))

/* Leaf 0 vendor strings, as EBX, EDX, ECX. */
#define CPUID_INTEL_EBX 0x756e6547u /* "Genu" */
#define CPUID_INTEL_EDX 0x49656e69u /* "ineI" */
#define CPUID_INTEL_ECX 0x6c65746eu /* "ntel" */
#define CPUID_AMD_EBX   0x68747541u /* "Auth" */
#define CPUID_AMD_EDX   0x69746e65u /* "enti" */
#define CPUID_AMD_ECX   0x444d4163u /* "cAMD" */
#define CPUID_HYGON_EBX 0x6f677948u /* "Hygo" */
#define CPUID_HYGON_EDX 0x6e65476eu /* "nGen" */
#define CPUID_HYGON_ECX 0x656e6975u /* "uine" */

/* "KVMKVMKVM\0\0\0" as EBX, ECX, EDX (kvm/x86/cpuid.rst). */
#define CPUID_KVM_EBX 0x4b4d564bu
#define CPUID_KVM_ECX 0x564b4d56u
#define CPUID_KVM_EDX 0x0000004du

/* Leaf 1 */
#define CPUID_1_ECX_MONITOR      BIT(3)
#define CPUID_1_ECX_TSC_DEADLINE BIT(24)
#define CPUID_1_ECX_HYPERVISOR   BIT(31)
#define CPUID_1_EDX_HTT          BIT(28)
/* Leaf 6 */
#define CPUID_6_EAX_TURBO        BIT(1)
#define CPUID_6_ECX_APERFMPERF   BIT(0)
#define CPUID_6_ECX_EPB          BIT(3)
/* Leaf 7 subleaf 0 */
#define CPUID_7_EBX_SGX          BIT(2)
#define CPUID_7_EBX_INTEL_PT     BIT(25)
#define CPUID_7_ECX_WAITPKG      BIT(5)
#define CPUID_7_ECX_SGX_LC       BIT(30)
/* 0x80000001 */
#define CPUID_81_ECX_CMP_LEGACY  BIT(1)

/* Level types of leaves 0xb / 0x1f, ECX[15:8]. */
#define CPUID_LEVEL_INVALID 0
#define CPUID_LEVEL_SMT     1
#define CPUID_LEVEL_CORE    2

struct cpuid_topo {
	unsigned index, ncpus;
	unsigned threads;      /* per core: 1 or 2 */
	unsigned thread_bits;  /* APIC id bits for the thread */
	unsigned pkg_bits;     /* APIC id bits for thread + core (one package) */
	bool amd;
};

static unsigned cpuid_order(unsigned n)	/* ceil(log2(n)), n >= 1 */
{
	unsigned b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

static void cpuid_leaf1(struct kvm_cpuid_entry2 *e, const struct cpuid_topo *t)
{
	/* EBX[23:16]: Intel counts addressable logical ids (a power of two),
	 * AMD the logical processors (LogicalProcessorCount). */
	unsigned logical = t->amd ? t->ncpus : 1u << t->pkg_bits;
	e->ebx = (e->ebx & 0xff) | (8u << 8) /* CLFLUSH: 8 x 8 = 64 bytes */ |
		 (logical << 16) | (t->index << 24);
	if (t->ncpus > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
	/* KVM's in-kernel LAPIC emulates the TSC-deadline timer, but older
	 * KVM does not report it here (api.rst, KVM_GET_SUPPORTED_CPUID). */
	e->ecx |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_TSC_DEADLINE;
	e->ecx &= ~CPUID_1_ECX_MONITOR;	/* MWAIT exits; idle with HLT */
}

/* Intel deterministic cache parameters (leaf 4) and AMD's equivalent
 * (0x8000001d): same EAX layout for type, level and sharing. */
static void cpuid_cache(struct kvm_cpuid_entry2 *e, const struct cpuid_topo *t, bool intel_leaf4)
{
	if ((e->eax & 0x1f) == 0)
		return;	/* no cache at this subleaf */
	unsigned level = (e->eax >> 5) & 0x7;
	unsigned share;
	if (intel_leaf4)	/* addressable ids: powers of two */
		share = level <= 2 ? 1u << t->thread_bits : 1u << t->pkg_bits;
	else			/* NumSharingCache: a count */
		share = level <= 2 ? t->threads : t->ncpus;
	e->eax = (e->eax & ~(0xfffu << 14)) | ((share - 1) << 14);
	if (intel_leaf4) {
		unsigned cores = 1u << (t->pkg_bits - t->thread_bits);
		e->eax = (e->eax & 0x03ffffffu) | ((cores - 1) << 26);
	}
}

/* Extended topology (0xb, 0x1f): subleaf 0 = SMT, 1 = core, then invalid. */
static void cpuid_ext_topo(struct kvm_cpuid_entry2 *e, const struct cpuid_topo *t)
{
	unsigned sub = e->index;
	e->edx = t->index;	/* x2APIC id, every subleaf */
	if (sub == 0) {
		e->eax = t->thread_bits;
		e->ebx = t->threads;
		e->ecx = (CPUID_LEVEL_SMT << 8) | sub;
	} else if (sub == 1) {
		e->eax = t->pkg_bits;
		e->ebx = t->ncpus;
		e->ecx = (CPUID_LEVEL_CORE << 8) | sub;
	} else {
		e->eax = 0;
		e->ebx = 0;
		e->ecx = (CPUID_LEVEL_INVALID << 8) | (sub & 0xff);
	}
}

enum cpuid_vendor cpuid_vendor(const struct kvm_cpuid2 *cpuid)
{
	for (unsigned i = 0; cpuid && i < cpuid->nent && i < CPUID_MAX_ENTRIES; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function != 0)
			continue;
		if (e->ebx == CPUID_INTEL_EBX && e->edx == CPUID_INTEL_EDX &&
		    e->ecx == CPUID_INTEL_ECX)
			return CPUID_VENDOR_INTEL;
		if (e->ebx == CPUID_AMD_EBX && e->edx == CPUID_AMD_EDX && e->ecx == CPUID_AMD_ECX)
			return CPUID_VENDOR_AMD;
		if (e->ebx == CPUID_HYGON_EBX && e->edx == CPUID_HYGON_EDX &&
		    e->ecx == CPUID_HYGON_ECX)
			return CPUID_VENDOR_HYGON;
		return CPUID_VENDOR_OTHER;
	}
	return CPUID_VENDOR_OTHER;
}

int cpuid_filter(struct kvm_cpuid2 *cpuid, unsigned index, unsigned ncpus, bool smt)
{
	if (!cpuid || cpuid->nent > CPUID_MAX_ENTRIES || ncpus < 1 || ncpus > LAYOUT_MAX_VCPUS ||
	    index >= ncpus || (smt && ncpus > 1 && ncpus % 2))
		return -EINVAL;

	struct cpuid_topo t = { .index = index, .ncpus = ncpus };
	t.threads = smt && ncpus > 1 ? 2 : 1;
	t.thread_bits = cpuid_order(t.threads);
	t.pkg_bits = t.thread_bits + cpuid_order(ncpus / t.threads);
	enum cpuid_vendor vendor = cpuid_vendor(cpuid);
	t.amd = vendor == CPUID_VENDOR_AMD || vendor == CPUID_VENDOR_HYGON;

	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		switch (e->function) {
		case 0x1:
			cpuid_leaf1(e, &t);
			break;
		case 0x4:
			cpuid_cache(e, &t, true);
			break;
		case 0x6:
			e->eax &= ~CPUID_6_EAX_TURBO;
			e->ecx &= ~(CPUID_6_ECX_APERFMPERF | CPUID_6_ECX_EPB);
			break;
		case 0x7:
			if (e->index == 0) {
				e->ebx &= ~(CPUID_7_EBX_SGX | CPUID_7_EBX_INTEL_PT);
				e->ecx &= ~(CPUID_7_ECX_WAITPKG | CPUID_7_ECX_SGX_LC);
			}
			break;
		case 0xb:
		case 0x1f:
			cpuid_ext_topo(e, &t);
			break;
		case 0x40000000:
			e->ebx = CPUID_KVM_EBX;
			e->ecx = CPUID_KVM_ECX;
			e->edx = CPUID_KVM_EDX;
			break;
		case 0x80000001:
			if (!t.amd)
				break;
			if (ncpus > 1)
				e->ecx |= CPUID_81_ECX_CMP_LEGACY;
			else
				e->ecx &= ~CPUID_81_ECX_CMP_LEGACY;
			break;
		case 0x80000008:
			/* ECX[7:0] NC = threads - 1, [15:12] ApicIdSize. */
			if (t.amd)
				e->ecx = (e->ecx & ~0xf0ffu) | (t.pkg_bits << 12) | (ncpus - 1);
			break;
		case 0x8000001d:
			if (t.amd)
				cpuid_cache(e, &t, false);
			break;
		case 0x8000001e:
			/* EAX extended APIC id; EBX[15:8] threads per compute
			 * unit - 1, [7:0] compute unit (core) id; ECX node 0
			 * of 1 node per processor. */
			if (!t.amd)
				break;
			e->eax = index;
			e->ebx = (e->ebx & ~0xffffu) | ((t.threads - 1) << 8) | (index / t.threads);
			e->ecx &= ~0x7ffu;
			e->edx = 0;
			break;
		default:
			break;
		}
	}
	return 0;
}
