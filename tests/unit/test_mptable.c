// SPDX-License-Identifier: Apache-2.0
/* mptable: Intel MP 1.4 floating pointer + config table, parsed back the
 * way a guest's mpparse would. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "src/guest_mem.h"
#include "src/layout.h"
#include "src/mptable.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void check_table(unsigned ncpus)
{
	struct guest_mem m;
	assert_int_equal(guest_mem_init(&m, 128ULL << 20), 0);
	assert_int_equal(mptable_setup(&m, ncpus), 0);

	/* 4.1 floating pointer, in the last KiB of base memory. */
	const uint8_t *fps = guest_mem_ptr(&m, 0x9fc00, 16);
	assert_memory_equal(fps, "_MP_", 4);
	assert_int_equal(fps[8], 1);	/* length in paragraphs */
	assert_int_equal(fps[9], 4);	/* spec 1.4 */
	assert_int_equal(sum(fps, 16), 0);
	assert_int_equal(fps[11], 0);	/* feature1: config table present */
	uint32_t cfg_gpa = le32(fps + 4);
	assert_int_equal(cfg_gpa, 0x9fc10);

	/* 4.2 config header. */
	const uint8_t *c = guest_mem_ptr(&m, cfg_gpa, 44);
	assert_memory_equal(c, "PCMP", 4);
	uint16_t len = le16(c + 4);
	assert_int_equal(c[6], 4);
	uint16_t count = le16(c + 34);
	assert_int_equal(count, ncpus + 1 + 1 + 24 + 2);
	assert_int_equal(le32(c + 36), 0xfee00000);
	assert_int_equal(len, 44 + 20 * ncpus + 8 * (1 + 1 + 24 + 2));
	assert_true(cfg_gpa + len <= 0xa0000);
	c = guest_mem_ptr(&m, cfg_gpa, len);
	assert_int_equal(sum(c, len), 0);

	/* 4.3 entries, in type order. */
	const uint8_t *e = c + 44, *end = c + len;
	unsigned cpus = 0, buses = 0, ioapics = 0, ioints = 0, lints = 0;
	int last_type = 0;
	while (e < end) {
		assert_true(e[0] >= last_type);
		last_type = e[0];
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], cpus);	/* APIC id */
			assert_int_equal(e[2], 0x14);
			assert_int_equal(e[3], cpus == 0 ? 3 : 1);	/* EN, BP on CPU 0 */
			cpus++;
			e += 20;
			break;
		case 1:
			assert_int_equal(e[1], 0);
			assert_memory_equal(e + 2, "ISA   ", 6);
			buses++;
			e += 8;
			break;
		case 2:
			assert_int_equal(e[1], ncpus);	/* IOAPIC id after the LAPICs */
			assert_int_equal(e[3], 1);	/* enabled */
			assert_int_equal(le32(e + 4), 0xfec00000);
			ioapics++;
			e += 8;
			break;
		case 3:
			assert_int_equal(e[1], 0);	/* INT */
			assert_int_equal(e[4], 0);	/* ISA bus */
			assert_int_equal(e[5], ioints);	/* IRQ n ... */
			assert_int_equal(e[6], ncpus);
			assert_int_equal(e[7], ioints);	/* ... to pin n */
			ioints++;
			e += 8;
			break;
		case 4:
			assert_int_equal(e[1], lints == 0 ? 3 : 1);	/* ExtINT, NMI */
			assert_int_equal(e[6], 0xff);
			assert_int_equal(e[7], lints);	/* LINT0, LINT1 */
			lints++;
			e += 8;
			break;
		default:
			fail_msg("unknown entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(cpus, ncpus);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ioints, 24);
	assert_int_equal(lints, 2);
	guest_mem_free(&m);
}

static void test_one_cpu(void **state) { check_table(1); }
static void test_max_cpus(void **state) { check_table(LAYOUT_MAX_VCPUS); }
static void test_some_cpus(void **state) { check_table(5); }

static void test_bad(void **state)
{
	struct guest_mem m;
	assert_int_equal(guest_mem_init(&m, 128ULL << 20), 0);
	assert_int_equal(mptable_setup(&m, 0), -EINVAL);
	assert_int_equal(mptable_setup(&m, LAYOUT_MAX_VCPUS + 1), -EINVAL);
	guest_mem_free(&m);
	assert_int_equal(guest_mem_init(&m, 0x9fd00), 0);	/* RAM ends inside the table */
	assert_int_equal(mptable_setup(&m, 1), -EFAULT);
	guest_mem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_cpu),
		cmocka_unit_test(test_max_cpus),
		cmocka_unit_test(test_some_cpus),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
