// SPDX-License-Identifier: Apache-2.0
/* cpu_template: the static templates applied to synthetic Intel and AMD
 * CPUID tables (every register all ones, then all zeros, so that each bit a
 * template clears or sets shows), the host-vendor rule and the MSR rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "src/cpu_template.h"
#include "src/cpuid.h"
#include "src/log.h"

#define NENT 24
#define ONES 0xffffffffu

struct table {
	struct kvm_cpuid2 h;
	struct kvm_cpuid_entry2 e[NENT];
};

static void add(struct table *t, uint32_t fn, uint32_t idx, uint32_t v)
{
	assert_true(t->h.nent < NENT);
	t->e[t->h.nent++] = (struct kvm_cpuid_entry2){ .function = fn, .index = idx,
		.eax = v, .ebx = v, .ecx = v, .edx = v };
}

enum vendor { INTEL, AMD, HYGON, NO_LEAF0 };

/* Leaf 0 names the vendor; every other register is v. */
static void build(struct table *t, enum vendor vendor, uint32_t v)
{
	memset(t, 0, sizeof(*t));
	if (vendor == INTEL)
		t->e[t->h.nent++] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x1f,
			.ebx = 0x756e6547, .edx = 0x49656e69, .ecx = 0x6c65746e };
	else if (vendor == AMD)
		t->e[t->h.nent++] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x10,
			.ebx = 0x68747541, .edx = 0x69746e65, .ecx = 0x444d4163 };
	else if (vendor == HYGON)
		t->e[t->h.nent++] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x10,
			.ebx = 0x6f677948, .edx = 0x6e65476e, .ecx = 0x656e6975 };
	add(t, 1, 0, v);
	add(t, 4, 0, v);
	add(t, 7, 0, v);
	add(t, 7, 1, v);
	add(t, 0xd, 0, v);
	add(t, 0xd, 1, v);
	add(t, 0xd, 2, v);
	add(t, 0x80000001, 0, v);
	add(t, 0x80000008, 0, v);
	add(t, 0x8000001e, 0, v);
}

static struct kvm_cpuid_entry2 *get(struct table *t, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < t->h.nent; i++)
		if (t->e[i].function == fn && t->e[i].index == idx)
			return &t->e[i];
	fail_msg("leaf %#x.%u missing", fn, idx);
	return NULL;
}

/* One leaf's four registers after a template, from all ones and from all
 * zeros: written out from the values Firecracker documents per template. */
struct expect {
	uint32_t fn, idx;
	uint32_t ones[4], zeros[4];   /* EAX, EBX, ECX, EDX */
};

#define SAME { ONES, ONES, ONES, ONES }
#define ZERO { 0, 0, 0, 0 }

/* Leaf 1 EAX keeps bits 31:28 and 15:14 and takes the signature. */
#define SIG(s) (0xf000c000u | (s))
#define HASWELL_EP 0x000306f2u
#define IVYBRIDGE_EP 0x000306e4u

/* Leaves 1, 7 and 0xd are the same in T2, T2S, T2CL and T2A. */
#define T2_COMMON \
	{ 1, 0, { SIG(HASWELL_EP), ONES, ~0x0004cdfcu, ~0xe8641080u | 0x1080 }, \
		{ HASWELL_EP, 0, 0, 0x1080 } }, \
	{ 7, 0, { ONES, ~0xffefda14u | 0x200, ~0x40415f5eu, ~0x11cu }, { 0, 0x200, 0, 0 } }, \
	{ 0xd, 0, { ~0x2f8u, ONES, ONES, ONES }, ZERO }, \
	{ 0xd, 1, { ~0xeu, ONES, ONES, ONES }, ZERO }

static const struct expect t2_expect[] = {
	T2_COMMON,
	{ 0x80000001, 0, { ONES, ONES, ~0x20000100u, ~0x04000000u }, ZERO },
	{ 0x80000008, 0, { ONES, ~0x200u, ONES, ONES }, ZERO },
};

static const struct expect c3_expect[] = {
	{ 1, 0, { SIG(IVYBRIDGE_EP), ONES, ~0x0040dd3cu, ~0xa8641080u | 0x1080 },
		{ IVYBRIDGE_EP, 0, 0, 0x1080 } },
	{ 7, 0, { ONES, ~0xffafdd3cu, ~0x4041481eu, ~0xcu }, ZERO },
	{ 0xd, 0, { ~0x2f8u, ONES, ONES, ONES }, ZERO },
	{ 0xd, 1, { ~0xeu, ONES, ONES, ONES }, ZERO },
	{ 0x80000001, 0, { ONES, ONES, ~0x120u, ~0x04000000u }, ZERO },
	{ 0x80000008, 0, SAME, ZERO },
};

static const struct expect t2cl_expect[] = {
	T2_COMMON,
	{ 0x80000001, 0, { ONES, ONES, ~0x200001c0u, ~0x07c00000u }, ZERO },
	{ 0x80000008, 0, { ONES, ~0x200u, ONES, ONES }, ZERO },
};

static const struct expect t2a_expect[] = {
	T2_COMMON,
	{ 0x80000001, 0, { ONES, ONES, ~0x200001c4u, ~0x06400000u }, ZERO },
	{ 0x80000008, 0, { ONES, ~0x00000201u, ONES, ONES }, { 0, 0x001c0004, 0, 0 } },
};

static void check_leaf(struct table *t, const struct expect *x, bool ones, const char *tmpl)
{
	const struct kvm_cpuid_entry2 *e = get(t, x->fn, x->idx);
	const uint32_t *w = ones ? x->ones : x->zeros;
	const uint32_t got[4] = { e->eax, e->ebx, e->ecx, e->edx };
	for (int r = 0; r < 4; r++)
		if (got[r] != w[r])
			fail_msg("%s from all %s: leaf %#x.%u %s = %#x, want %#x", tmpl,
				 ones ? "ones" : "zeros", x->fn, x->idx, "EAX\0EBX\0ECX\0EDX" + 4 * r,
				 got[r], w[r]);
}

/* The leaves no template touches stay exactly as they were. */
static void check_untouched(struct table *t, uint32_t v)
{
	static const uint32_t leaves[][2] = { { 4, 0 }, { 7, 1 }, { 0xd, 2 }, { 0x8000001e, 0 } };
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		const struct kvm_cpuid_entry2 *e = get(t, leaves[i][0], leaves[i][1]);
		assert_true(e->eax == v && e->ebx == v && e->ecx == v && e->edx == v);
	}
}

static void check_template(enum config_cpu_template tmpl, enum vendor vendor,
			   const struct expect *x, size_t n)
{
	struct table t;
	for (int ones = 0; ones < 2; ones++) {
		uint32_t v = ones ? ONES : 0;
		build(&t, vendor, v);
		unsigned nent = t.h.nent;
		cpu_template_apply_cpuid(tmpl, &t.h);
		assert_int_equal(t.h.nent, nent);
		for (size_t i = 0; i < n; i++)
			check_leaf(&t, &x[i], ones, cpu_template_name(tmpl));
		check_untouched(&t, v);
		/* The vendor is never touched: leaf 0 is what build() wrote. */
		assert_int_equal(cpuid_vendor(&t.h), vendor == INTEL ? CPUID_VENDOR_INTEL
							: CPUID_VENDOR_AMD);
	}
}

static void test_intel_templates(void **state)
{
	check_template(CONFIG_CPU_TEMPLATE_C3, INTEL, c3_expect,
		       sizeof(c3_expect) / sizeof(c3_expect[0]));
	check_template(CONFIG_CPU_TEMPLATE_T2, INTEL, t2_expect,
		       sizeof(t2_expect) / sizeof(t2_expect[0]));
	/* T2S shows the guest the same CPUID as T2; it differs in an MSR. */
	check_template(CONFIG_CPU_TEMPLATE_T2S, INTEL, t2_expect,
		       sizeof(t2_expect) / sizeof(t2_expect[0]));
	check_template(CONFIG_CPU_TEMPLATE_T2CL, INTEL, t2cl_expect,
		       sizeof(t2cl_expect) / sizeof(t2cl_expect[0]));
}

static void test_amd_template(void **state)
{
	check_template(CONFIG_CPU_TEMPLATE_T2A, AMD, t2a_expect,
		       sizeof(t2a_expect) / sizeof(t2a_expect[0]));
}

/* Single features by name, so that a wrong mask shows as a feature. */
static void test_named_features(void **state)
{
	struct table t;
	const struct kvm_cpuid_entry2 *l7, *l81, *l88, *l1;

	build(&t, AMD, ONES);
	cpu_template_apply_cpuid(CONFIG_CPU_TEMPLATE_T2A, &t.h);
	l1 = get(&t, 1, 0);
	l7 = get(&t, 7, 0);
	l81 = get(&t, 0x80000001, 0);
	l88 = get(&t, 0x80000008, 0);
	assert_int_equal((l1->eax >> 8) & 0xf, 6);           /* family 6 */
	assert_int_equal(((l1->eax >> 12) & 0xf0) | ((l1->eax >> 4) & 0xf), 0x3f); /* model */
	assert_false(l1->ecx & (1u << 3));                    /* MONITOR */
	assert_true(l1->ecx & (1u << 0));                     /* SSE3 kept */
	assert_true(l1->ecx & (1u << 31));                    /* hypervisor kept */
	assert_false(l7->ebx & (1u << 16));                   /* AVX512F */
	assert_false(l7->ebx & (1u << 29));                   /* SHA */
	assert_true(l7->ebx & (1u << 5));                     /* AVX2 kept */
	assert_false(l7->ecx & (1u << 9));                    /* VAES */
	assert_false(l81->ecx & (1u << 2));                   /* SVM */
	assert_false(l81->ecx & (1u << 6));                   /* SSE4A */
	assert_false(l81->ecx & (1u << 8));                   /* 3DNowPrefetch */
	assert_true(l81->ecx & (1u << 5));                    /* LZCNT kept */
	assert_false(l81->edx & (1u << 26));                  /* 1 GiB pages */
	assert_true(l81->edx & (1u << 23));                   /* MMX kept (T2A) */
	assert_false(l88->ebx & (1u << 0));                   /* CLZERO */

	build(&t, INTEL, ONES);
	cpu_template_apply_cpuid(CONFIG_CPU_TEMPLATE_C3, &t.h);
	assert_false(get(&t, 7, 0)->ebx & (1u << 5));         /* C3: no AVX2 */
	assert_false(get(&t, 0x80000001, 0)->ecx & (1u << 5)); /* ... no LZCNT */
	assert_true(get(&t, 7, 0)->ecx & (1u << 9));          /* ... VAES left */
	build(&t, INTEL, ONES);
	cpu_template_apply_cpuid(CONFIG_CPU_TEMPLATE_T2CL, &t.h);
	assert_false(get(&t, 0x80000001, 0)->edx & (1u << 23)); /* T2CL: no MMX ext. leaf */
	assert_true(get(&t, 0x80000001, 0)->ecx & (1u << 2));   /* bit 2 left */
}

/* Templates only edit entries; NONE and out-of-range values edit nothing. */
static void test_missing_leaves_and_none(void **state)
{
	struct table t, ref;
	memset(&t, 0, sizeof(t));
	t.e[t.h.nent++] = (struct kvm_cpuid_entry2){ .function = 0, .ebx = 0x756e6547,
		.edx = 0x49656e69, .ecx = 0x6c65746e };
	add(&t, 1, 0, 0);
	cpu_template_apply_cpuid(CONFIG_CPU_TEMPLATE_T2, &t.h);
	assert_int_equal(t.h.nent, 2);
	assert_int_equal(get(&t, 1, 0)->eax, HASWELL_EP);

	build(&t, INTEL, 0x12345678);
	ref = t;
	cpu_template_apply_cpuid(CONFIG_CPU_TEMPLATE_NONE, &t.h);
	assert_memory_equal(&t, &ref, sizeof(t));
	cpu_template_apply_cpuid((enum config_cpu_template)99, &t.h);
	assert_memory_equal(&t, &ref, sizeof(t));
	cpu_template_apply_cpuid(CONFIG_CPU_TEMPLATE_T2, NULL);
}

/* After ember's normalisation, the template leaves the topology and the
 * hypervisor bits alone. */
static void test_after_cpuid_filter(void **state)
{
	struct table t;
	build(&t, AMD, 0);
	assert_int_equal(cpuid_filter(&t.h, 1, 2, false), 0);
	struct kvm_cpuid_entry2 before1 = *get(&t, 1, 0), before1e = *get(&t, 0x8000001e, 0);
	cpu_template_apply_cpuid(CONFIG_CPU_TEMPLATE_T2A, &t.h);
	const struct kvm_cpuid_entry2 *l1 = get(&t, 1, 0);
	assert_int_equal(l1->ebx, before1.ebx);               /* APIC id, CLFLUSH, count */
	assert_true(l1->ecx & (1u << 31));                    /* hypervisor */
	assert_true(l1->ecx & (1u << 24));                    /* TSC deadline */
	assert_true(l1->edx & (1u << 28));                    /* HTT (2 vCPUs) */
	assert_int_equal(l1->eax, HASWELL_EP);
	assert_memory_equal(get(&t, 0x8000001e, 0), &before1e, sizeof(before1e));
	assert_true(get(&t, 0x80000001, 0)->ecx & (1u << 1)); /* CmpLegacy */
}

static void test_vendor_rule(void **state)
{
	static const char mismatch[] = "Failed to get CPU template: CPU vendor mismatched "
				       "between actual CPU and CPU template.";
	static const enum config_cpu_template intel_only[] = {
		CONFIG_CPU_TEMPLATE_C3, CONFIG_CPU_TEMPLATE_T2, CONFIG_CPU_TEMPLATE_T2S,
		CONFIG_CPU_TEMPLATE_T2CL,
	};
	struct table intel, amd, hygon, none;
	char err[256];
	build(&intel, INTEL, 0);
	build(&amd, AMD, 0);
	build(&hygon, HYGON, 0);
	build(&none, NO_LEAF0, 0);
	for (size_t i = 0; i < sizeof(intel_only) / sizeof(intel_only[0]); i++) {
		assert_int_equal(cpu_template_check(intel_only[i], &intel.h, err, sizeof(err)), 0);
		err[0] = 0;
		assert_int_equal(cpu_template_check(intel_only[i], &amd.h, err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, mismatch);
		assert_int_equal(cpu_template_check(intel_only[i], &none.h, err, sizeof(err)),
				 -EINVAL);
	}
	assert_int_equal(cpu_template_check(CONFIG_CPU_TEMPLATE_T2A, &amd.h, err, sizeof(err)), 0);
	assert_int_equal(cpu_template_check(CONFIG_CPU_TEMPLATE_T2A, &intel.h, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, mismatch);
	/* Firecracker compares the vendor string: a Hygon is not an AMD. */
	assert_int_equal(cpu_template_check(CONFIG_CPU_TEMPLATE_T2A, &hygon.h, err, sizeof(err)),
			 -EINVAL);
	struct table *hosts[] = { &intel, &amd, &hygon, &none };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(cpu_template_check(CONFIG_CPU_TEMPLATE_NONE, &hosts[i]->h, err,
						    sizeof(err)), 0);
	assert_int_equal(cpu_template_check((enum config_cpu_template)99, &intel.h, err,
					    sizeof(err)), -EINVAL);
}

static void test_msrs(void **state)
{
	const struct cpu_template_msr *m;
	assert_int_equal(cpu_template_msrs(CONFIG_CPU_TEMPLATE_T2S, &m), 1);
	assert_int_equal(m[0].index, 0x10a);	/* IA32_ARCH_CAPABILITIES */
	/* T2S: a fixed value whatever the host has. */
	assert_int_equal(cpu_template_msr_value(&m[0], 0), 0x4080c4c);
	assert_int_equal(cpu_template_msr_value(&m[0], ~0ull), 0x4080c4c);
	assert_int_equal(cpu_template_msr_value(&m[0], 0x1a3), 0x4080c4c);

	assert_int_equal(cpu_template_msrs(CONFIG_CPU_TEMPLATE_T2CL, &m), 1);
	assert_int_equal(m[0].index, 0x10a);
	/* T2CL: the host's vulnerability bits pass, the rest is cleared. */
	assert_int_equal(cpu_template_msr_value(&m[0], ~0ull), 0x1d0ae1ff);
	assert_int_equal(cpu_template_msr_value(&m[0], 0), 0);
	assert_int_equal(cpu_template_msr_value(&m[0], (1ull << 5) | (1ull << 12) | (1ull << 40)),
			 1ull << 5);	/* MDS_NO kept, DOITM and a reserved bit gone */

	static const enum config_cpu_template none[] = {
		CONFIG_CPU_TEMPLATE_NONE, CONFIG_CPU_TEMPLATE_C3, CONFIG_CPU_TEMPLATE_T2,
		CONFIG_CPU_TEMPLATE_T2A, (enum config_cpu_template)99,
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_int_equal(cpu_template_msrs(none[i], &m), 0);
		assert_null(m);
	}
}

/* The bits a template turns on, per register (what a snapshot's host check
 * does not ask of the host): ERMS in leaf 7 EBX for the T2 family, none
 * for C3 there; MCE and MTRR in leaf 1 EDX; T2A's 0x80000008 EBX bits;
 * nothing for NONE or where a template has no rule. */
static void test_cpuid_set_bits(void **state)
{
	(void)state;
	for (int t = CONFIG_CPU_TEMPLATE_T2; t < CONFIG_CPU_TEMPLATE_COUNT; t++)
		assert_int_equal(cpu_template_cpuid_set(t, 7, 0, 1), 1u << 9);
	assert_int_equal(cpu_template_cpuid_set(CONFIG_CPU_TEMPLATE_C3, 7, 0, 1), 0);
	assert_int_equal(cpu_template_cpuid_set(CONFIG_CPU_TEMPLATE_C3, 1, 0, 3),
			 (1u << 7) | (1u << 12));
	assert_int_equal(cpu_template_cpuid_set(CONFIG_CPU_TEMPLATE_T2A, 0x80000008, 0, 1),
			 (1u << 2) | (1u << 18) | (1u << 19) | (1u << 20));
	assert_int_equal(cpu_template_cpuid_set(CONFIG_CPU_TEMPLATE_T2, 0x80000008, 0, 1), 0);
	assert_int_equal(cpu_template_cpuid_set(CONFIG_CPU_TEMPLATE_T2A, 7, 0, 2), 0);
	assert_int_equal(cpu_template_cpuid_set(CONFIG_CPU_TEMPLATE_T2A, 7, 1, 1), 0);
	assert_int_equal(cpu_template_cpuid_set(CONFIG_CPU_TEMPLATE_NONE, 7, 0, 1), 0);
	assert_int_equal(cpu_template_cpuid_set(CONFIG_CPU_TEMPLATE_COUNT, 7, 0, 1), 0);
}

static void test_names(void **state)
{
	static const char *const names[] = { "None", "C3", "T2", "T2S", "T2CL", "T2A" };
	for (int i = 0; i < CONFIG_CPU_TEMPLATE_COUNT; i++)
		assert_string_equal(cpu_template_name((enum config_cpu_template)i), names[i]);
	assert_null(cpu_template_name(CONFIG_CPU_TEMPLATE_COUNT));
	assert_null(cpu_template_name((enum config_cpu_template)-1));
}

int main(void)
{
	log_set_level(LOG_OFF);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intel_templates),
		cmocka_unit_test(test_amd_template),
		cmocka_unit_test(test_named_features),
		cmocka_unit_test(test_missing_leaves_and_none),
		cmocka_unit_test(test_after_cpuid_filter),
		cmocka_unit_test(test_vendor_rule),
		cmocka_unit_test(test_msrs),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cpuid_set_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
