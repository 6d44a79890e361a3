// SPDX-License-Identifier: Apache-2.0
/* Split virtqueue: well-formed chains, and every hostile ring we can build. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/queue.h"
#include "tests/unit/vq_fake.h"

#define MEM_SIZE (1u << 20)

struct fx {
	struct vqf_mem m;
	struct vqf_ring r;
	struct virtq q;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

static int fx_setup_n(void **state, uint16_t num, bool eidx, bool ind)
{
	struct fx *f = calloc(1, sizeof(*f));
	vqf_mem_init(&f->m, MEM_SIZE);
	vqf_ring_init(&f->r, &f->m, num);
	virtq_reset(&f->q, 256);
	vqf_ring_to_virtq(&f->r, &f->q);
	assert_int_equal(virtq_activate(&f->q, &f->m.mem, eidx, ind), 0);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_n(state, 8, true, true);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	vqf_mem_free(&f->m);
	free(f);
	return 0;
}

static int pop(struct fx *f, struct virtq_chain *c)
{
	return virtq_pop(&f->q, c, f->iov, VIRTQ_MAX_SIZE);
}

static void test_basic_chain(void **state)
{
	struct fx *f = *state;
	uint64_t a = vqf_alloc(&f->m, 100), b = vqf_alloc(&f->m, 200);
	vqf_desc(&f->r, 3, a, 100, VIRTQ_DESC_F_NEXT, 5);
	vqf_desc(&f->r, 5, b, 200, VIRTQ_DESC_F_WRITE, 0);
	vqf_avail(&f->r, 3);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.nout, 1);
	assert_int_equal(c.nin, 1);
	assert_int_equal(c.out_len, 100);
	assert_int_equal(c.in_len, 200);
	assert_ptr_equal(f->iov[0].iov_base, vqf_ptr(&f->m, a));
	assert_ptr_equal(f->iov[1].iov_base, vqf_ptr(&f->m, b));
	assert_int_equal(pop(f, &c), 0);
	/* EVENT_IDX: an empty pop asks for a kick at the next buffer. */
	assert_int_equal(vqf_avail_event(&f->r), 1);
	virtq_add_used(&f->q, 3, 200);
	assert_int_equal(vqf_used_idx(&f->r), 0);   /* not yet published */
	virtq_publish_used(&f->q);
	assert_int_equal(vqf_used_idx(&f->r), 1);
	uint32_t id, len;
	vqf_used_elem(&f->r, 0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 200);
}

static void test_unpop_and_count(void **state)
{
	struct fx *f = *state;
	uint64_t a = vqf_alloc(&f->m, 16);
	vqf_desc(&f->r, 0, a, 16, 0, 0);
	vqf_desc(&f->r, 1, a, 16, 0, 0);
	vqf_avail(&f->r, 0);
	vqf_avail(&f->r, 1);
	assert_int_equal(virtq_avail_count(&f->q), 2);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), 1);
	assert_int_equal(pop(f, &c), 1);
	assert_int_equal(c.head, 1);
	virtq_unpop(&f->q, 1);
	assert_int_equal(pop(f, &c), 1);
	assert_int_equal(c.head, 1);
}

static void test_descriptor_loop(void **state)
{
	struct fx *f = *state;
	uint64_t a = vqf_alloc(&f->m, 16);
	vqf_desc(&f->r, 0, a, 16, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(&f->r, 1, a, 16, VIRTQ_DESC_F_NEXT, 0);
	vqf_avail(&f->r, 0);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), -EINVAL);
	assert_int_equal(c.head, 0);
	/* Self loop. */
	vqf_desc(&f->r, 2, a, 16, VIRTQ_DESC_F_NEXT, 2);
	vqf_avail(&f->r, 2);
	assert_int_equal(pop(f, &c), -EINVAL);
	assert_int_equal(c.head, 2);
	assert_false(f->q.broken);   /* a bad chain fails the request, not the queue */
}

static void test_chain_longer_than_queue(void **state)
{
	struct fx *f = *state;
	uint64_t a = vqf_alloc(&f->m, 16);
	/* All 8 descriptors chained: exactly the queue size is fine ... */
	for (uint16_t i = 0; i < 8; i++)
		vqf_desc(&f->r, i, a, 16, i < 7 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	vqf_avail(&f->r, 0);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), 1);
	assert_int_equal(c.nout, 8);
	/* ... one more hop (back to the start) is not. */
	vqf_desc(&f->r, 7, a, 16, VIRTQ_DESC_F_NEXT, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
}

static void test_next_out_of_range(void **state)
{
	struct fx *f = *state;
	uint64_t a = vqf_alloc(&f->m, 16);
	vqf_desc(&f->r, 0, a, 16, VIRTQ_DESC_F_NEXT, 8);
	vqf_avail(&f->r, 0);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), -EINVAL);
}

static void test_bad_addresses(void **state)
{
	struct fx *f = *state;
	struct virtq_chain c;
	/* Beyond RAM. */
	vqf_desc(&f->r, 0, MEM_SIZE - 8, 16, 0, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	vqf_desc(&f->r, 0, MEM_SIZE, 1, 0, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	/* Wrapping around 2^64. */
	vqf_desc(&f->r, 0, 0xfffffffffffffff0ULL, 0x20, 0, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	/* Huge length from a valid start. */
	vqf_desc(&f->r, 0, 0x1000, 0xffffffffu, 0, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
}

static void test_zero_length_skipped(void **state)
{
	struct fx *f = *state;
	uint64_t a = vqf_alloc(&f->m, 16);
	/* A zero-length descriptor's address is never used, even a wild one. */
	vqf_desc(&f->r, 0, 0xdeadbeef00000000ULL, 0, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(&f->r, 1, a, 16, VIRTQ_DESC_F_WRITE, 0);
	vqf_avail(&f->r, 0);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), 1);
	assert_int_equal(c.nout, 0);
	assert_int_equal(c.nin, 1);
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;
	uint64_t a = vqf_alloc(&f->m, 16);
	vqf_desc(&f->r, 0, a, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(&f->r, 1, a, 16, 0, 0);
	vqf_avail(&f->r, 0);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), -EINVAL);
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	uint64_t t = vqf_alloc(&f->m, 3 * 16), a = vqf_alloc(&f->m, 64);
	vqf_desc_at(&f->m, t, 0, a, 16, VIRTQ_DESC_F_NEXT, 2);
	vqf_desc_at(&f->m, t, 2, a + 16, 32, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc_at(&f->m, t, 1, a + 48, 1, VIRTQ_DESC_F_WRITE, 0);
	vqf_desc(&f->r, 4, t, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_avail(&f->r, 4);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), 1);
	assert_int_equal(c.head, 4);
	assert_int_equal(c.nout, 2);
	assert_int_equal(c.nin, 1);
	assert_int_equal(c.out_len, 48);
	assert_ptr_equal(f->iov[2].iov_base, vqf_ptr(&f->m, a + 48));
}

static void test_indirect_hostile(void **state)
{
	struct fx *f = *state;
	uint64_t t = vqf_alloc(&f->m, 4 * 16), a = vqf_alloc(&f->m, 64);
	struct virtq_chain c;

	/* Loop inside the table. */
	vqf_desc_at(&f->m, t, 0, a, 16, VIRTQ_DESC_F_NEXT, 1);
	vqf_desc_at(&f->m, t, 1, a, 16, VIRTQ_DESC_F_NEXT, 0);
	vqf_desc(&f->r, 0, t, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	/* next beyond the table. */
	vqf_desc_at(&f->m, t, 1, a, 16, VIRTQ_DESC_F_NEXT, 2);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	/* Length not a multiple of 16, zero, or table out of RAM. */
	vqf_desc(&f->r, 0, t, 20, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	vqf_desc(&f->r, 0, t, 0, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	vqf_desc(&f->r, 0, MEM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	/* INDIRECT together with NEXT. */
	vqf_desc_at(&f->m, t, 0, a, 16, 0, 0);
	vqf_desc(&f->r, 0, t, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	vqf_desc(&f->r, 1, a, 16, 0, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	/* Nested indirect. */
	vqf_desc_at(&f->m, t, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_desc(&f->r, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_avail(&f->r, 0);
	assert_int_equal(pop(f, &c), -EINVAL);
	assert_false(f->q.broken);
}

static void test_indirect_not_negotiated(void **state)
{
	struct fx *f = *state;
	f->q.indirect = false;
	uint64_t t = vqf_alloc(&f->m, 16), a = vqf_alloc(&f->m, 16);
	vqf_desc_at(&f->m, t, 0, a, 16, 0, 0);
	vqf_desc(&f->r, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqf_avail(&f->r, 0);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), -EINVAL);
}

static void test_too_many_segments(void **state)
{
	struct fx *f = *state;
	uint64_t a = vqf_alloc(&f->m, 16);
	for (uint16_t i = 0; i < 4; i++)
		vqf_desc(&f->r, i, a, 16, i < 3 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	vqf_avail(&f->r, 0);
	struct virtq_chain c;
	assert_int_equal(virtq_pop(&f->q, &c, f->iov, 3), -ENOBUFS);
	assert_int_equal(c.head, 0);
}

static void test_avail_idx_jump_breaks_queue(void **state)
{
	struct fx *f = *state;
	vqf_set_avail_idx(&f->r, 9);   /* 9 > num 8 buffers in flight */
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), -EIO);
	assert_true(f->q.broken);
	assert_int_equal(pop(f, &c), -EIO);
	assert_int_equal(virtq_avail_count(&f->q), 0);
}

static void test_head_out_of_range_breaks_queue(void **state)
{
	struct fx *f = *state;
	vqf_avail(&f->r, 8);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), -EIO);
	assert_true(f->q.broken);
}

static void test_activate_checks(void **state)
{
	struct fx *f = *state;
	struct virtq q;
	virtq_reset(&q, 256);
	vqf_ring_to_virtq(&f->r, &q);
	q.num = 6;                                 /* not a power of two */
	assert_int_equal(virtq_activate(&q, &f->m.mem, false, false), -EINVAL);
	q.num = 512;                               /* above the maximum */
	assert_int_equal(virtq_activate(&q, &f->m.mem, false, false), -EINVAL);
	q.num = 0;
	assert_int_equal(virtq_activate(&q, &f->m.mem, false, false), -EINVAL);
	q.num = 8;
	q.desc_gpa = f->r.desc + 8;                /* misaligned */
	assert_int_equal(virtq_activate(&q, &f->m.mem, false, false), -EINVAL);
	q.desc_gpa = f->r.desc;
	q.used_gpa = f->r.used + 2;
	assert_int_equal(virtq_activate(&q, &f->m.mem, false, false), -EINVAL);
	q.used_gpa = MEM_SIZE - 64;                /* ring runs past the end of RAM */
	assert_int_equal(virtq_activate(&q, &f->m.mem, false, false), -EINVAL);
	q.used_gpa = 0xfffffffffffffff0ULL;
	assert_int_equal(virtq_activate(&q, &f->m.mem, false, false), -EINVAL);
	q.used_gpa = f->r.used;
	assert_int_equal(virtq_activate(&q, &f->m.mem, false, false), 0);
}

static void test_event_idx_interrupts(void **state)
{
	struct fx *f = *state;
	/* Driver wants an interrupt once used idx passes 2 (used_event = 2). */
	vqf_set_used_event(&f->r, 2);
	virtq_add_used(&f->q, 0, 0);
	virtq_publish_used(&f->q);
	assert_false(virtq_needs_interrupt(&f->q));   /* idx 1 */
	virtq_add_used(&f->q, 0, 0);
	virtq_publish_used(&f->q);
	assert_false(virtq_needs_interrupt(&f->q));   /* idx 2 */
	virtq_add_used(&f->q, 0, 0);
	virtq_publish_used(&f->q);
	assert_true(virtq_needs_interrupt(&f->q));    /* idx 3 crossed 2 */
	assert_false(virtq_needs_interrupt(&f->q));   /* nothing new */
}

static void test_no_interrupt_flag(void **state)
{
	struct fx *f = *state;
	f->q.event_idx = false;
	vqf_set_avail_flags(&f->r, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_add_used(&f->q, 0, 0);
	virtq_publish_used(&f->q);
	assert_false(virtq_needs_interrupt(&f->q));
	vqf_set_avail_flags(&f->r, 0);
	virtq_add_used(&f->q, 0, 0);
	virtq_publish_used(&f->q);
	assert_true(virtq_needs_interrupt(&f->q));
}

static void test_ring_wraparound(void **state)
{
	struct fx *f = *state;
	uint64_t a = vqf_alloc(&f->m, 16);
	vqf_desc(&f->r, 1, a, 16, 0, 0);
	struct virtq_chain c;
	/* Drive the 16-bit indexes across 65535 -> 0. */
	for (unsigned i = 0; i < 70000; i++) {
		vqf_avail(&f->r, 1);
		assert_int_equal(pop(f, &c), 1);
		virtq_add_used(&f->q, c.head, 1);
		virtq_publish_used(&f->q);
	}
	assert_int_equal(vqf_used_idx(&f->r), (uint16_t)70000);
	assert_int_equal(pop(f, &c), 0);
}

static void test_iov_helpers(void **state)
{
	uint8_t a[3] = { 1, 2, 3 }, b[5] = { 4, 5, 6, 7, 8 };
	struct iovec iov[2] = { { a, 3 }, { b, 5 } }, out[2];
	uint8_t buf[4];
	assert_int_equal(iov_copy_from(iov, 2, 2, buf, 4), 0);
	assert_memory_equal(buf, ((uint8_t[]){ 3, 4, 5, 6 }), 4);
	assert_int_equal(iov_copy_from(iov, 2, 6, buf, 4), -EFAULT);
	uint8_t w[2] = { 9, 9 };
	assert_int_equal(iov_copy_to(iov, 2, 2, w, 2), 0);
	assert_int_equal(a[2], 9);
	assert_int_equal(b[0], 9);
	assert_int_equal(iov_slice(iov, 2, 1, 5, out, 2), 2);
	assert_ptr_equal(out[0].iov_base, a + 1);
	assert_int_equal(out[0].iov_len, 2);
	assert_int_equal(out[1].iov_len, 3);
	assert_int_equal(iov_slice(iov, 2, 1, 8, out, 2), -EFAULT);
	assert_int_equal(iov_slice(iov, 2, 0, 8, out, 1), -ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unpop_and_count, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_loop, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_chain_longer_than_queue, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_next_out_of_range, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_addresses, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_zero_length_skipped, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_readable_after_writable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_indirect, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_indirect_hostile, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_indirect_not_negotiated, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_too_many_segments, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_avail_idx_jump_breaks_queue, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_head_out_of_range_breaks_queue, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_activate_checks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_interrupts, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ring_wraparound, fx_setup, fx_teardown),
		cmocka_unit_test(test_iov_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
