/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpuid.h - per-vCPU CPUID table: KVM's supported set, made to describe a
 * single-socket microVM and a hypervisor guest.
 */
#ifndef EMBER_CPUID_H
#define EMBER_CPUID_H

#include <stdbool.h>
#include <linux/kvm.h>

/* Upper bound on nent accepted (KVM's own KVM_MAX_CPUID_ENTRIES is 256). */
#define CPUID_MAX_ENTRIES 256

/*
 * Rewrite, in place, a copy of KVM_GET_SUPPORTED_CPUID for vCPU `index` of
 * `ncpus` (one socket; smt: 2 threads per core, else 1). Entries are only
 * modified, never added or removed, so the caller's allocation stays valid.
 * Called by vcpu/vm code once per vCPU before KVM_SET_CPUID2; the caller
 * must use the in-kernel irqchip (TSC-deadline and x2APIC depend on it).
 *  - leaf 1: EBX APIC id = index, CLFLUSH line 64 bytes, logical count;
 *    EDX HTT iff ncpus > 1; ECX HYPERVISOR and TSC-DEADLINE set, MONITOR clear.
 *  - leaf 4 (Intel) / 0x8000001d (AMD): cache sharing = threads (L1, L2) or
 *    the package (L3); leaf 4 EAX[31:26] = addressable cores - 1.
 *  - leaf 0xb and 0x1f: SMT level then core level, EDX = x2APIC id = index.
 *  - leaf 6: no turbo, no APERF/MPERF, no energy-perf bias.
 *  - leaf 7.0: no SGX, SGX launch control, Intel PT or WAITPKG (the VMM
 *    sets none of them up).
 *  - AMD-vendor tables: 0x80000001 ECX CmpLegacy iff ncpus > 1, 0x80000008
 *    ECX NC/ApicIdSize, 0x8000001e extended APIC id / core id / node 0.
 *  - 0x40000000: signature "KVMKVMKVM\0\0\0", EAX (max leaf) kept.
 * Works on Intel- and AMD-vendor (and Hygon) tables.
 * Returns 0, or -EINVAL for a NULL/oversized table, ncpus outside
 * 1..LAYOUT_MAX_VCPUS, index >= ncpus, or smt with an odd ncpus > 1
 * (Firecracker's rule).
 */
int cpuid_filter(struct kvm_cpuid2 *cpuid, unsigned index, unsigned ncpus, bool smt);

/* The vendor that leaf 0 of cpuid names ("GenuineIntel", "AuthenticAMD",
 * "HygonGenuine"); CPUID_VENDOR_OTHER for any other string or no leaf 0. */
enum cpuid_vendor { CPUID_VENDOR_OTHER, CPUID_VENDOR_INTEL, CPUID_VENDOR_AMD, CPUID_VENDOR_HYGON };
enum cpuid_vendor cpuid_vendor(const struct kvm_cpuid2 *cpuid);

#endif
