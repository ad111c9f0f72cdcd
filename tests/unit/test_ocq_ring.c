/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Single-threaded semantics of the ocq rings: FIFO order, full and empty,
 * bursts and bulks, every capacity shape, positions near 2^64. The
 * concurrent properties are in tests/stress/. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ocq/ocq.h"

#define P(x) ((void *)(uintptr_t)(x))
#define U(p) ((uintptr_t)(p))

static const uint64_t starts[] = {0, UINT64_MAX - 5, UINT64_MAX - 4096 * 3};
static const size_t caps[] = {1, 2, 3, 7, 64, 4096};

/* A generic driver over the four rings, so each check runs on all of them. */
struct ops {
	const char *name;
	int (*init_at)(void *q, size_t cap, uint64_t start);
	void (*destroy)(void *q);
	int (*push)(void *q, void *item);
	int (*pop)(void *q, void **item);
	size_t (*push_burst)(void *q, void *const *items, size_t n);
	size_t (*pop_burst)(void *q, void **items, size_t n);
	int (*push_bulk)(void *q, void *const *items, size_t n);
	int (*pop_bulk)(void *q, void **items, size_t n);
	size_t (*size)(void *q);
};

#define OPS(name)                                                                              \
	static int name##_init_at(void *q, size_t c, uint64_t s)                               \
	{                                                                                      \
		return ocq_##name##_init_at(q, c, s);                                          \
	}                                                                                      \
	static void name##_destroy(void *q)                                                    \
	{                                                                                      \
		ocq_##name##_destroy(q);                                                       \
	}                                                                                      \
	static int name##_push(void *q, void *i)                                               \
	{                                                                                      \
		return ocq_##name##_try_push(q, i);                                            \
	}                                                                                      \
	static int name##_pop(void *q, void **i)                                               \
	{                                                                                      \
		return ocq_##name##_try_pop(q, i);                                             \
	}                                                                                      \
	static size_t name##_push_burst(void *q, void *const *i, size_t n)                     \
	{                                                                                      \
		return ocq_##name##_push_burst(q, i, n);                                       \
	}                                                                                      \
	static size_t name##_pop_burst(void *q, void **i, size_t n)                            \
	{                                                                                      \
		return ocq_##name##_pop_burst(q, i, n);                                        \
	}                                                                                      \
	static int name##_push_bulk(void *q, void *const *i, size_t n)                         \
	{                                                                                      \
		return ocq_##name##_push_bulk(q, i, n);                                        \
	}                                                                                      \
	static int name##_pop_bulk(void *q, void **i, size_t n)                                \
	{                                                                                      \
		return ocq_##name##_pop_bulk(q, i, n);                                         \
	}                                                                                      \
	static size_t name##_size(void *q)                                                     \
	{                                                                                      \
		return ocq_##name##_size(q);                                                   \
	}                                                                                      \
	static const struct ops name##_ops = {#name,           name##_init_at,                 \
					      name##_destroy,  name##_push,                    \
					      name##_pop,      name##_push_burst,              \
					      name##_pop_burst, name##_push_bulk,              \
					      name##_pop_bulk, name##_size};

OPS(spsc)
OPS(mpmc)
OPS(mpsc)
OPS(spmc)

static const struct ops *all_ops[] = {&spsc_ops, &mpmc_ops, &mpsc_ops, &spmc_ops};

union anyq {
	struct ocq_spsc s;
	struct ocq_mpmc m;
};

/* Fill to capacity, see full, drain in order, see empty; several laps. */
static void
fill_drain(const struct ops *o, size_t cap, uint64_t start)
{
	union anyq q;
	void *out;
	uintptr_t next_in = 1, next_out = 1;

	assert_int_equal(o->init_at(&q, cap, start), 0);
	for (int lap = 0; lap < 5; lap++) {
		for (size_t i = 0; i < cap; i++)
			assert_int_equal(o->push(&q, P(next_in++)), 0);
		assert_int_equal(o->size(&q), cap);
		assert_int_equal(o->push(&q, P(999)), -EAGAIN);
		for (size_t i = 0; i < cap; i++) {
			assert_int_equal(o->pop(&q, &out), 0);
			assert_int_equal(U(out), next_out++);
		}
		assert_int_equal(o->pop(&q, &out), -EAGAIN);
		assert_int_equal(o->size(&q), 0);
	}
	o->destroy(&q);
}

static void
t_fill_drain(void **state)
{
	(void)state;
	for (size_t k = 0; k < 4; k++)
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++)
			for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++)
				fill_drain(all_ops[k], caps[c], starts[s]);
}

/* Interleaved push/pop keeps FIFO order across many wrap-arounds. */
static void
t_interleaved(void **state)
{
	(void)state;
	for (size_t k = 0; k < 4; k++) {
		const struct ops *o = all_ops[k];

		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
			union anyq q;
			void *out;
			uintptr_t in = 0, outn = 0;

			assert_int_equal(o->init_at(&q, caps[c], UINT64_MAX - 37), 0);
			for (int i = 0; i < 20000; i++) {
				/* push 0..2 and pop 0..2 in a fixed pattern */
				for (int j = 0; j < (i % 3); j++)
					if (o->push(&q, P(in + 1)) == 0)
						in++;
				for (int j = 0; j < ((i / 3) % 3); j++)
					if (o->pop(&q, &out) == 0)
						assert_int_equal(U(out), ++outn);
			}
			while (o->pop(&q, &out) == 0)
				assert_int_equal(U(out), ++outn);
			assert_int_equal(in, outn);
			assert_true(in > 1000);
			o->destroy(&q);
		}
	}
}

static void
t_burst_bulk(void **state)
{
	(void)state;
	for (size_t k = 0; k < 4; k++) {
		const struct ops *o = all_ops[k];
		union anyq q;
		void *in[10], *out[10];

		for (int i = 0; i < 10; i++)
			in[i] = P(i + 100);
		assert_int_equal(o->init_at(&q, 7, UINT64_MAX - 3), 0);
		/* bulk larger than the ring can ever hold */
		assert_int_equal(o->push_bulk(&q, in, 8), -EINVAL);
		assert_int_equal(o->push_burst(&q, in, 5), 5);
		/* 2 slots left: a bulk of 3 fails whole, a burst of 3 moves 2 */
		assert_int_equal(o->push_bulk(&q, in + 5, 3), -EAGAIN);
		assert_int_equal(o->size(&q), 5);
		assert_int_equal(o->push_burst(&q, in + 5, 3), 2);
		assert_int_equal(o->size(&q), 7);
		assert_int_equal(o->pop_bulk(&q, out, 8), -EINVAL);
		assert_int_equal(o->pop_bulk(&q, out, 4), 0);
		for (int i = 0; i < 4; i++)
			assert_int_equal(U(out[i]), 100 + i);
		assert_int_equal(o->pop_bulk(&q, out, 4), -EAGAIN);
		assert_int_equal(o->pop_burst(&q, out, 10), 3);
		for (int i = 0; i < 3; i++)
			assert_int_equal(U(out[i]), 104 + i);
		assert_int_equal(o->pop_burst(&q, out, 10), 0);
		assert_int_equal(o->push_bulk(&q, in, 7), 0);
		assert_int_equal(o->pop_bulk(&q, out, 7), 0);
		for (int i = 0; i < 7; i++)
			assert_int_equal(U(out[i]), 100 + i);
		o->destroy(&q);
	}
}

/* NULL marks a free SPSC slot, so the SPSC ring refuses NULL items; the
 * stamped rings carry them like any other value. */
static void
t_null_items(void **state)
{
	struct ocq_spsc s;
	struct ocq_mpmc m;
	void *v = P(1), *two[2] = {P(5), NULL};

	(void)state;
	assert_int_equal(ocq_spsc_init(&s, 4), 0);
	assert_int_equal(ocq_spsc_try_push(&s, NULL), -EINVAL);
	assert_int_equal(ocq_spsc_push_bulk(&s, two, 2), -EINVAL);
	assert_int_equal(ocq_spsc_push_burst(&s, two, 2), 0);
	assert_int_equal(ocq_spsc_size(&s), 0);
	assert_int_equal(ocq_spsc_try_pop(&s, &v), -EAGAIN);
	ocq_spsc_destroy(&s);

	assert_int_equal(ocq_mpmc_init(&m, 4), 0);
	assert_int_equal(ocq_mpmc_try_push(&m, NULL), 0);
	assert_int_equal(ocq_mpmc_try_pop(&m, &v), 0);
	assert_null(v);
	ocq_mpmc_destroy(&m);
}

static void
t_bad_init(void **state)
{
	(void)state;
	for (size_t k = 0; k < 4; k++) {
		union anyq q;

		assert_int_equal(all_ops[k]->init_at(&q, 0, 0), -EINVAL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_fill_drain),
		cmocka_unit_test(t_interleaved),
		cmocka_unit_test(t_burst_bulk),
		cmocka_unit_test(t_null_items),
		cmocka_unit_test(t_bad_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
