// SPDX-License-Identifier: Apache-2.0
/* cpuid_filter on synthetic Intel and AMD KVM_GET_SUPPORTED_CPUID tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/cpuid.h"
#include "src/layout.h"

#define NENT 40

struct table {
	struct kvm_cpuid2 h;
	struct kvm_cpuid_entry2 e[NENT];
};

static void add(struct table *t, uint32_t fn, uint32_t idx, uint32_t a, uint32_t b, uint32_t c,
		uint32_t d)
{
	assert_true(t->h.nent < NENT);
	t->e[t->h.nent++] = (struct kvm_cpuid_entry2){ .function = fn, .index = idx,
		.eax = a, .ebx = b, .ecx = c, .edx = d };
}

/* Roughly what KVM reports on an 8-core/16-thread host. */
static void build(struct table *t, bool amd)
{
	memset(t, 0, sizeof(*t));
	if (amd)
		add(t, 0, 0, 0x10, 0x68747541, 0x444d4163, 0x69746e65);	/* AuthenticAMD */
	else
		add(t, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69);	/* GenuineIntel */
	add(t, 1, 0, 0x906ea, 0x0f100800, 0x7ffaf3ff, 0xbfebfbff);
	/* leaf 4: L1d, L1i, L2 (2 threads), L3 (16 threads), end */
	add(t, 4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0);
	add(t, 4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0);
	add(t, 4, 2, 0x1c004143, 0x00c0003f, 0x3ff, 0);
	add(t, 4, 3, 0x1c03c163, 0x03c0003f, 0x3fff, 6);
	add(t, 4, 4, 0, 0, 0, 0);
	add(t, 6, 0, 0x77, 2, 0x9, 0);
	add(t, 7, 0, 0, 0x029c6fbf | (1u << 2) | (1u << 25), (1u << 5) | (1u << 30) | 0x4, 0);
	add(t, 0xb, 0, 1, 2, 0x100, 7);
	add(t, 0xb, 1, 4, 16, 0x201, 7);
	add(t, 0xb, 2, 0, 0, 2, 7);
	add(t, 0x1f, 0, 1, 2, 0x100, 7);
	add(t, 0x1f, 1, 4, 16, 0x201, 7);
	add(t, 0x1f, 2, 0, 0, 2, 7);
	add(t, 0x40000000, 0, 0x40000001, 0, 0, 0);
	add(t, 0x40000001, 0, 0x01007afb, 0, 0, 0);
	add(t, 0x80000000, 0, 0x8000001f, 0, 0, 0);
	add(t, 0x80000001, 0, 0, 0, 0x00000121, 0x2c100800);
	add(t, 0x80000008, 0, 0x3027, 0, amd ? 0x400f : 0, 0);
	add(t, 0x8000001d, 0, 0x00004121, 0x01c0003f, 0x3f, 0);
	add(t, 0x8000001d, 1, 0x00004143, 0x01c0003f, 0x3ff, 2);
	add(t, 0x8000001d, 2, 0x0001c163, 0x03c0003f, 0x3fff, 1);
	add(t, 0x8000001d, 3, 0, 0, 0, 0);
	add(t, 0x8000001e, 0, 7, 0x0107, 0x0300, 0);
}

static const struct kvm_cpuid_entry2 *get(const struct table *t, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < t->h.nent; i++)
		if (t->e[i].function == fn && t->e[i].index == idx)
			return &t->e[i];
	fail_msg("leaf %#x.%u missing", fn, idx);
	return NULL;
}

static void check_common(const struct table *t, unsigned index, unsigned ncpus, unsigned threads)
{
	const struct kvm_cpuid_entry2 *e = get(t, 1, 0);
	assert_int_equal(e->ebx >> 24, index);
	assert_int_equal((e->ebx >> 8) & 0xff, 8);
	assert_true(e->ecx & (1u << 31));	/* hypervisor */
	assert_true(e->ecx & (1u << 24));	/* TSC deadline */
	assert_false(e->ecx & (1u << 3));	/* MONITOR */
	assert_int_equal(!!(e->edx & (1u << 28)), ncpus > 1);
	assert_int_equal(e->eax, 0x906ea);	/* untouched */

	unsigned tbits = threads == 2 ? 1 : 0, pbits = tbits;
	while ((1u << (pbits - tbits)) < ncpus / threads)
		pbits++;
	for (uint32_t leaf = 0xb; leaf <= 0x1f; leaf += 0x14) {
		e = get(t, leaf, 0);
		assert_int_equal(e->eax, tbits);
		assert_int_equal(e->ebx, threads);
		assert_int_equal(e->ecx, 0x100);
		assert_int_equal(e->edx, index);
		e = get(t, leaf, 1);
		assert_int_equal(e->eax, pbits);
		assert_int_equal(e->ebx, ncpus);
		assert_int_equal(e->ecx, 0x201);
		assert_int_equal(e->edx, index);
		e = get(t, leaf, 2);
		assert_int_equal(e->eax, 0);
		assert_int_equal(e->ebx, 0);
		assert_int_equal(e->ecx, 2);
		assert_int_equal(e->edx, index);
	}

	e = get(t, 6, 0);
	assert_false(e->eax & 2);	/* turbo */
	assert_true(e->eax & 4);	/* ARAT kept */
	assert_false(e->ecx & 1);	/* APERF/MPERF */
	assert_false(e->ecx & 8);	/* EPB */
	e = get(t, 7, 0);
	assert_false(e->ebx & (1u << 2));
	assert_false(e->ebx & (1u << 25));
	assert_true(e->ebx & 1);	/* FSGSBASE kept */
	assert_false(e->ecx & (1u << 5));
	assert_false(e->ecx & (1u << 30));
	assert_true(e->ecx & 4);	/* UMIP kept */

	e = get(t, 0x40000000, 0);
	char sig[12];
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
	assert_int_equal(e->eax, 0x40000001);
}

static void test_intel(void **state)
{
	struct table t, orig;
	build(&orig, false);
	static const struct { unsigned n; bool smt; } cfg[] = {
		{ 1, false }, { 1, true }, { 2, false }, { 4, true }, { 6, false }, { 32, true }, { 32, false },
	};
	for (size_t c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		unsigned n = cfg[c].n, threads = cfg[c].smt && n > 1 ? 2 : 1;
		for (unsigned i = 0; i < n; i++) {
			build(&t, false);
			assert_int_equal(cpuid_filter(&t.h, i, n, cfg[c].smt), 0);
			check_common(&t, i, n, threads);
			unsigned pow2 = 1;
			while (pow2 < n)
				pow2 <<= 1;
			assert_int_equal((get(&t, 1, 0)->ebx >> 16) & 0xff, pow2);
			/* leaf 4: L1/L2 shared by the core's threads, L3 by all. */
			for (unsigned s = 0; s < 4; s++) {
				uint32_t a = get(&t, 4, s)->eax;
				unsigned share = ((a >> 14) & 0xfff) + 1;
				assert_int_equal(share, s < 3 ? threads : pow2);
				assert_int_equal((a >> 26) + 1, pow2 / threads);
				assert_int_equal(a & 0x3fff, get(&orig, 4, s)->eax & 0x3fff);
			}
			assert_int_equal(get(&t, 4, 4)->eax, 0);
			/* AMD leaves untouched on an Intel table. */
			assert_int_equal(get(&t, 0x8000001e, 0)->eax, 7);
			assert_int_equal(get(&t, 0x80000008, 0)->ecx, 0);
			assert_int_equal(get(&t, 0x80000001, 0)->ecx, 0x121);
		}
	}
}

static void test_amd(void **state)
{
	struct table t;
	static const struct { unsigned n; bool smt; } cfg[] = {
		{ 1, false }, { 2, true }, { 6, false }, { 6, true }, { 32, true },
	};
	for (size_t c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		unsigned n = cfg[c].n, threads = cfg[c].smt && n > 1 ? 2 : 1;
		for (unsigned i = 0; i < n; i++) {
			build(&t, true);
			assert_int_equal(cpuid_filter(&t.h, i, n, cfg[c].smt), 0);
			check_common(&t, i, n, threads);
			assert_int_equal((get(&t, 1, 0)->ebx >> 16) & 0xff, n);
			const struct kvm_cpuid_entry2 *e = get(&t, 0x8000001e, 0);
			assert_int_equal(e->eax, i);
			assert_int_equal(e->ebx & 0xff, i / threads);
			assert_int_equal((e->ebx >> 8) & 0xff, threads - 1);
			assert_int_equal(e->ecx & 0x7ff, 0);
			e = get(&t, 0x80000008, 0);
			assert_int_equal(e->ecx & 0xff, n - 1);
			unsigned bits = 0;
			while ((1u << bits) < n)
				bits++;
			assert_int_equal((e->ecx >> 12) & 0xf, bits);
			assert_int_equal(!!(get(&t, 0x80000001, 0)->ecx & 2), n > 1);
			assert_int_equal(((get(&t, 0x8000001d, 0)->eax >> 14) & 0xfff) + 1, threads);
			assert_int_equal(((get(&t, 0x8000001d, 1)->eax >> 14) & 0xfff) + 1, threads);
			assert_int_equal(((get(&t, 0x8000001d, 2)->eax >> 14) & 0xfff) + 1, n);
			assert_int_equal(get(&t, 0x8000001d, 3)->eax, 0);
		}
	}
}

static void test_invalid(void **state)
{
	struct table t;
	build(&t, false);
	assert_int_equal(cpuid_filter(NULL, 0, 1, false), -EINVAL);
	assert_int_equal(cpuid_filter(&t.h, 0, 0, false), -EINVAL);
	assert_int_equal(cpuid_filter(&t.h, 0, LAYOUT_MAX_VCPUS + 1, false), -EINVAL);
	assert_int_equal(cpuid_filter(&t.h, 4, 4, false), -EINVAL);
	assert_int_equal(cpuid_filter(&t.h, 0, 3, true), -EINVAL);	/* odd with SMT */
	t.h.nent = CPUID_MAX_ENTRIES + 1;
	assert_int_equal(cpuid_filter(&t.h, 0, 1, false), -EINVAL);
	/* A table without leaf 0 or topology leaves is still filtered. */
	struct table s;
	memset(&s, 0, sizeof(s));
	add(&s, 1, 0, 0, 0, 0, 0);
	assert_int_equal(cpuid_filter(&s.h, 2, 3, false), 0);
	assert_int_equal(s.e[0].ebx >> 24, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intel),
		cmocka_unit_test(test_amd),
		cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
