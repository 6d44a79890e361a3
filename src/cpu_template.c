// SPDX-License-Identifier: Apache-2.0
/*
 * cpu_template.c - the static CPU templates as tables (see cpu_template.h).
 *
 * Each CPUID rule names a leaf, a subleaf, a register, the bits the template
 * decides (`clear`) and, among them, the ones it turns on (`set`). The bit
 * positions follow the Intel SDM vol. 2A ("CPUID") and the AMD APM vol. 3
 * appendix E; the values are the ones Firecracker documents for each
 * template, so that a guest sees the same CPU under ember and under
 * Firecracker on the same host.
 *
 * In words:
 * - T2, T2S, T2CL and T2A report a Haswell-EP signature (family 6, model
 *   0x3f, stepping 2; C3 an Ivy Bridge-EP one, model 0x3e, stepping 4), keep
 *   MCE and MTRR on, and hide monitoring, virtualisation, power-management
 *   and debug-store features, TSX, MPX, SGX, Intel PT, every AVX-512 part,
 *   SHA, RDSEED/ADX, CLFLUSHOPT/CLWB, PKU, UMIP, LA57, RDPID, the compacted
 *   XSAVE forms and 1 GiB pages. C3 also hides AVX2, BMI1/2, FMA, MOVBE,
 *   INVPCID and LZCNT, and leaves ERMS as the host has it (the T2 family
 *   turns it on).
 * - T2S adds a fixed IA32_ARCH_CAPABILITIES (a Skylake's), so that a guest
 *   can move between Skylake and Cascade Lake hosts; T2CL keeps the host's
 *   vulnerability bits of that MSR and clears the rest.
 * - T2CL and T2A hide the AMD-only extensions (SSE4A, misaligned SSE,
 *   MMX extensions, FFXSR; T2A also SVM and CLZERO) so that an Intel
 *   Cascade Lake and an AMD Milan guest see the same instruction sets.
 */
#include "src/cpu_template.h"
#include "src/cpuid.h"
#include "src/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define B(n) (1u << (n))
#define B64(n) (1ull << (n))

enum { REG_EAX, REG_EBX, REG_ECX, REG_EDX };

struct cpu_template_cpuid {
	uint32_t leaf, subleaf;
	unsigned reg;                 /* REG_* */
	uint32_t clear, set;          /* new = (old & ~clear) | set */
};

/* ---- leaf 1 ---- */

/* EAX: stepping 3:0, model 7:4, family 11:8, type 13:12, extended model
 * 19:16, extended family 27:20. */
#define L1_EAX_SIGNATURE   0x0fff3fffu
#define L1_EAX_HASWELL_EP  0x000306f2u  /* family 6, model 0x3f, stepping 2 */
#define L1_EAX_IVYBRIDGE_EP 0x000306e4u /* family 6, model 0x3e, stepping 4 */
/* ECX: DTES64 2, MONITOR 3, DS-CPL 4, VMX 5, SMX 6, EIST 7, TM2 8, CNXT-ID 10,
 * SDBG 11, xTPR 14, PDCM 15, DCA 18. */
#define L1_ECX_T2  (B(2) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8) | B(10) | B(11) | \
		    B(14) | B(15) | B(18))
/* ... C3: not SMX, EIST, DCA; also FMA 12, MOVBE 22. */
#define L1_ECX_C3  (B(2) | B(3) | B(4) | B(5) | B(8) | B(10) | B(11) | B(12) | B(14) | \
		    B(15) | B(22))
/* EDX: MCE 7 and MTRR 12 on; PSN 18, DS 21, ACPI 22, SS 27, TM 29, IA-64 30,
 * PBE 31 off (C3 leaves bit 30 alone). */
#define L1_EDX_ON  (B(7) | B(12))
#define L1_EDX_C3  (L1_EDX_ON | B(18) | B(21) | B(22) | B(27) | B(29) | B(31))
#define L1_EDX_T2  (L1_EDX_C3 | B(30))

/* ---- leaf 7 subleaf 0 ---- */

/* EBX: SGX 2, HLE 4, ERMS 9 (on), RTM 11, RDT-M 12, MPX 14, RDT-A 15,
 * AVX512F 16, AVX512DQ 17, RDSEED 18, ADX 19, AVX512_IFMA 21, bit 22 (PCOMMIT
 * on old Intel parts, RDPID in AMD's APM), CLFLUSHOPT 23, CLWB 24, Intel PT
 * 25, AVX512PF 26, AVX512ER 27, AVX512CD 28, SHA 29, AVX512BW 30, AVX512VL 31. */
#define L7_EBX_ERMS B(9)
#define L7_EBX_T2  (B(2) | B(4) | L7_EBX_ERMS | B(11) | B(12) | B(14) | B(15) | B(16) | \
		    B(17) | B(18) | B(19) | B(21) | B(22) | B(23) | B(24) | B(25) | B(26) | \
		    B(27) | B(28) | B(29) | B(30) | B(31))
/* ... C3: also BMI1 3, AVX2 5, BMI2 8, INVPCID 10; not ERMS, not bit 22. */
#define L7_EBX_C3  ((L7_EBX_T2 & ~(L7_EBX_ERMS | B(22))) | B(3) | B(5) | B(8) | B(10))
/* ECX: AVX512_VBMI 1, UMIP 2, PKU 3, OSPKE 4, AVX512_VBMI2 6, GFNI 8, VAES 9,
 * VPCLMULQDQ 10, AVX512_VNNI 11, AVX512_BITALG 12, AVX512_VPOPCNTDQ 14,
 * LA57 16, RDPID 22, SGX_LC 30. */
#define L7_ECX_T2  (B(1) | B(2) | B(3) | B(4) | B(6) | B(8) | B(9) | B(10) | B(11) | \
		    B(12) | B(14) | B(16) | B(22) | B(30))
/* ... C3: not VBMI2, GFNI, VAES, VPCLMULQDQ, BITALG. */
#define L7_ECX_C3  (B(1) | B(2) | B(3) | B(4) | B(11) | B(14) | B(16) | B(22) | B(30))
/* EDX: AVX512_4VNNIW 2, AVX512_4FMAPS 3, FSRM 4, AVX512_VP2INTERSECT 8 (C3:
 * the first two). */
#define L7_EDX_C3  (B(2) | B(3))
#define L7_EDX_T2  (L7_EDX_C3 | B(4) | B(8))

/* ---- leaf 0xd (XSAVE) ---- */

/* Subleaf 0 EAX, the XCR0 components: MPX 3-4, AVX-512 5-7, PKRU 9. */
#define LD0_EAX    (B(3) | B(4) | B(5) | B(6) | B(7) | B(9))
/* Subleaf 1 EAX: XSAVEC 1, XGETBV with ECX=1 2, XSAVES 3. */
#define LD1_EAX    (B(1) | B(2) | B(3))

/* ---- 0x80000001 ---- */

/* ECX: LZCNT 5 (C3 only), PREFETCHW 8, MONITORX 29; T2CL and T2A also
 * SSE4A 6 and misaligned SSE 7, T2A also SVM 2. */
#define L81_ECX_T2   (B(8) | B(29))
#define L81_ECX_C3   (B(5) | B(8))
#define L81_ECX_T2CL (L81_ECX_T2 | B(6) | B(7))
#define L81_ECX_T2A  (L81_ECX_T2CL | B(2))
/* EDX: 1 GiB pages 26; T2CL also MMX extensions 22, MMX 23, FXSR 24,
 * FFXSR 25; T2A MMX extensions and FFXSR. */
#define L81_EDX_T2   B(26)
#define L81_EDX_T2CL (B(22) | B(23) | B(24) | B(25) | B(26))
#define L81_EDX_T2A  (B(22) | B(25) | B(26))

/* ---- 0x80000008 EBX ---- */

/* WBNOINVD 9; T2A also CLZERO 0 off, and on: the FP error pointers are
 * restored 2, IBRS preferred 18, IBRS same mode 19, long-mode segment limits
 * unsupported 20. */
#define L88_EBX_T2      B(9)
#define L88_EBX_T2A_ON  (B(2) | B(18) | B(19) | B(20))
#define L88_EBX_T2A     (B(0) | B(9) | L88_EBX_T2A_ON)

#define MSR_IA32_ARCH_CAPABILITIES 0x10a

/* The rules shared by T2, T2S (identical CPUID) and, with their own
 * 0x80000001, T2CL and T2A. */
#define T2_BASE \
	{ 0x1, 0, REG_EAX, L1_EAX_SIGNATURE, L1_EAX_HASWELL_EP }, \
	{ 0x1, 0, REG_ECX, L1_ECX_T2, 0 }, \
	{ 0x1, 0, REG_EDX, L1_EDX_T2, L1_EDX_ON }, \
	{ 0x7, 0, REG_EBX, L7_EBX_T2, L7_EBX_ERMS }, \
	{ 0x7, 0, REG_ECX, L7_ECX_T2, 0 }, \
	{ 0x7, 0, REG_EDX, L7_EDX_T2, 0 }, \
	{ 0xd, 0, REG_EAX, LD0_EAX, 0 }, \
	{ 0xd, 1, REG_EAX, LD1_EAX, 0 }

static const struct cpu_template_cpuid cpu_template_c3_cpuid[] = {
	{ 0x1, 0, REG_EAX, L1_EAX_SIGNATURE, L1_EAX_IVYBRIDGE_EP },
	{ 0x1, 0, REG_ECX, L1_ECX_C3, 0 },
	{ 0x1, 0, REG_EDX, L1_EDX_C3, L1_EDX_ON },
	{ 0x7, 0, REG_EBX, L7_EBX_C3, 0 },
	{ 0x7, 0, REG_ECX, L7_ECX_C3, 0 },
	{ 0x7, 0, REG_EDX, L7_EDX_C3, 0 },
	{ 0xd, 0, REG_EAX, LD0_EAX, 0 },
	{ 0xd, 1, REG_EAX, LD1_EAX, 0 },
	{ 0x80000001, 0, REG_ECX, L81_ECX_C3, 0 },
	{ 0x80000001, 0, REG_EDX, L81_EDX_T2, 0 },
};

static const struct cpu_template_cpuid cpu_template_t2_cpuid[] = {
	T2_BASE,
	{ 0x80000001, 0, REG_ECX, L81_ECX_T2, 0 },
	{ 0x80000001, 0, REG_EDX, L81_EDX_T2, 0 },
	{ 0x80000008, 0, REG_EBX, L88_EBX_T2, 0 },
};

static const struct cpu_template_cpuid cpu_template_t2cl_cpuid[] = {
	T2_BASE,
	{ 0x80000001, 0, REG_ECX, L81_ECX_T2CL, 0 },
	{ 0x80000001, 0, REG_EDX, L81_EDX_T2CL, 0 },
	{ 0x80000008, 0, REG_EBX, L88_EBX_T2, 0 },
};

static const struct cpu_template_cpuid cpu_template_t2a_cpuid[] = {
	T2_BASE,
	{ 0x80000001, 0, REG_ECX, L81_ECX_T2A, 0 },
	{ 0x80000001, 0, REG_EDX, L81_EDX_T2A, 0 },
	{ 0x80000008, 0, REG_EBX, L88_EBX_T2A, L88_EBX_T2A_ON },
};

/* IA32_ARCH_CAPABILITIES of T2S, every bit fixed: RSBA 2, SKIP_L1DFL_VMENTRY
 * 3, IF_PSCHANGE_MC_NO 6, MISC_PACKAGE_CTLS 10, ENERGY_FILTERING_CTL 11,
 * RRSBA 19, GDS_NO 26 on, everything else off. */
static const struct cpu_template_msr cpu_template_t2s_msrs[] = {
	{ MSR_IA32_ARCH_CAPABILITIES, ~0ull,
	  B64(2) | B64(3) | B64(6) | B64(10) | B64(11) | B64(19) | B64(26) },
};

/* ... of T2CL: the host's vulnerability and mitigation bits kept (RDCL_NO
 * 0 to TAA_NO 8, SBDR_SSDP_NO 13, FBSDP_NO 14, PSDP_NO 15, FB_CLEAR 17, RRSBA
 * 19, PBRSB_NO 24, GDS_NO 26, RFDS_NO 27, RFDS_CLEAR 28), all others off. */
static const struct cpu_template_msr cpu_template_t2cl_msrs[] = {
	{ MSR_IA32_ARCH_CAPABILITIES,
	  ~(0x1ffull | B64(13) | B64(14) | B64(15) | B64(17) | B64(19) | B64(24) | B64(26) |
	    B64(27) | B64(28)),
	  0 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct cpu_template_def {
	const char *name;
	enum cpuid_vendor vendor;
	const struct cpu_template_cpuid *cpuid;
	size_t ncpuid;
	const struct cpu_template_msr *msrs;
	size_t nmsrs;
} cpu_templates[CONFIG_CPU_TEMPLATE_COUNT] = {
	[CONFIG_CPU_TEMPLATE_NONE] = { "None", CPUID_VENDOR_OTHER, NULL, 0, NULL, 0 },
	[CONFIG_CPU_TEMPLATE_C3] = { "C3", CPUID_VENDOR_INTEL, cpu_template_c3_cpuid,
				     N(cpu_template_c3_cpuid), NULL, 0 },
	[CONFIG_CPU_TEMPLATE_T2] = { "T2", CPUID_VENDOR_INTEL, cpu_template_t2_cpuid,
				     N(cpu_template_t2_cpuid), NULL, 0 },
	[CONFIG_CPU_TEMPLATE_T2S] = { "T2S", CPUID_VENDOR_INTEL, cpu_template_t2_cpuid,
				      N(cpu_template_t2_cpuid), cpu_template_t2s_msrs,
				      N(cpu_template_t2s_msrs) },
	[CONFIG_CPU_TEMPLATE_T2CL] = { "T2CL", CPUID_VENDOR_INTEL, cpu_template_t2cl_cpuid,
				       N(cpu_template_t2cl_cpuid), cpu_template_t2cl_msrs,
				       N(cpu_template_t2cl_msrs) },
	[CONFIG_CPU_TEMPLATE_T2A] = { "T2A", CPUID_VENDOR_AMD, cpu_template_t2a_cpuid,
				      N(cpu_template_t2a_cpuid), NULL, 0 },
};

static const struct cpu_template_def *cpu_template_get(enum config_cpu_template t)
{
	return (unsigned)t < CONFIG_CPU_TEMPLATE_COUNT ? &cpu_templates[t] : NULL;
}

const char *cpu_template_name(enum config_cpu_template t)
{
	const struct cpu_template_def *d = cpu_template_get(t);
	return d ? d->name : NULL;
}

/* The 12 characters of leaf 0 (EBX, EDX, ECX), or "unknown". */
static void cpu_template_vendor_string(const struct kvm_cpuid2 *cpuid, char out[13])
{
	snprintf(out, 13, "unknown");
	for (unsigned i = 0; cpuid && i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function != 0)
			continue;
		memcpy(out, &e->ebx, 4);
		memcpy(out + 4, &e->edx, 4);
		memcpy(out + 8, &e->ecx, 4);
		out[12] = '\0';
		for (int k = 0; k < 12; k++)	/* it goes to a log line */
			if (out[k] < 0x20 || out[k] > 0x7e)
				out[k] = '?';
		return;
	}
}

uint32_t cpu_template_cpuid_set(enum config_cpu_template t, uint32_t leaf, uint32_t subleaf,
				unsigned reg)
{
	const struct cpu_template_def *d = cpu_template_get(t);
	uint32_t set = 0;
	for (size_t i = 0; d && i < d->ncpuid; i++)
		if (d->cpuid[i].leaf == leaf && d->cpuid[i].subleaf == subleaf &&
		    d->cpuid[i].reg == reg)
			set |= d->cpuid[i].set;
	return set;
}

int cpu_template_check(enum config_cpu_template t, const struct kvm_cpuid2 *supported,
		       char *err, size_t errlen)
{
	const struct cpu_template_def *d = cpu_template_get(t);
	if (!d) {
		snprintf(err, errlen, "Failed to get CPU template: unknown CPU template %d.", (int)t);
		return -EINVAL;
	}
	if (t == CONFIG_CPU_TEMPLATE_NONE || cpuid_vendor(supported) == d->vendor)
		return 0;
	char host[13];
	cpu_template_vendor_string(supported, host);
	log_error("CPU template %s is made for %s hosts; this host's CPU vendor is %s.", d->name,
		  d->vendor == CPUID_VENDOR_AMD ? "AMD (AuthenticAMD)" : "Intel (GenuineIntel)",
		  host);
	snprintf(err, errlen, "Failed to get CPU template: CPU vendor mismatched between actual "
		 "CPU and CPU template.");
	return -EINVAL;
}

static uint32_t *cpu_template_reg(struct kvm_cpuid_entry2 *e, unsigned reg)
{
	switch (reg) {
	case REG_EAX: return &e->eax;
	case REG_EBX: return &e->ebx;
	case REG_ECX: return &e->ecx;
	default:      return &e->edx;
	}
}

void cpu_template_apply_cpuid(enum config_cpu_template t, struct kvm_cpuid2 *cpuid)
{
	const struct cpu_template_def *d = cpu_template_get(t);
	if (!d || !cpuid)
		return;
	for (size_t r = 0; r < d->ncpuid; r++) {
		const struct cpu_template_cpuid *m = &d->cpuid[r];
		for (unsigned i = 0; i < cpuid->nent && i < CPUID_MAX_ENTRIES; i++) {
			struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
			if (e->function != m->leaf || e->index != m->subleaf)
				continue;
			uint32_t *v = cpu_template_reg(e, m->reg);
			*v = (*v & ~m->clear) | (m->set & m->clear);
		}
	}
}

size_t cpu_template_msrs(enum config_cpu_template t, const struct cpu_template_msr **rules)
{
	const struct cpu_template_def *d = cpu_template_get(t);
	*rules = d && d->nmsrs ? d->msrs : NULL;
	return d ? d->nmsrs : 0;
}

uint64_t cpu_template_msr_value(const struct cpu_template_msr *m, uint64_t old)
{
	return (old & ~m->clear) | (m->set & m->clear);
}
