/* SPDX-License-Identifier: MIT */
/*
 * ocq_spsc.h - bounded single-producer single-consumer ring of pointers.
 *
 * Lamport's ring with each side caching the other side's index, so a side
 * touches the other's cache line only when its cached view says full (or
 * empty): in steady state a push is a slot store plus a release store of the
 * tail, and the consumer's line is not read at all.
 *
 * Concurrency contract (who may call what at the same time):
 *
 *   | operation                      | concurrent with                 |
 *   |--------------------------------|---------------------------------|
 *   | push, push_burst, push_bulk    | any pop call, from ONE thread   |
 *   | pop, pop_burst, pop_bulk       | any push call, from ONE thread  |
 *   | size                           | anything (approximate)          |
 *   | init, destroy                  | nothing                         |
 *
 * Exactly one thread pushes and one thread pops at a time; two pushers is a
 * bug the type cannot catch at run time, so use an MPSC ring if in doubt.
 * Capacity is any value >= 1; the slot array is rounded up to a power of two.
 */
#ifndef OCQ_SPSC_H
#define OCQ_SPSC_H

#include "ocq_base.h"

struct ocq_spsc {
	/* producer's line: its index and its cached view of the consumer's */
	OCQ__ALIGNED _Atomic uint64_t tail;
	uint64_t head_cache;
	/* consumer's line */
	OCQ__ALIGNED _Atomic uint64_t head;
	uint64_t tail_cache;
	/* read-only after init */
	OCQ__ALIGNED void **slots;
	uint64_t cap;
	uint64_t mask;
};

/*
 * Set up a ring for capacity items whose indices start at start (tests use
 * a start near 2^64 to cover wrap-around; use 0 otherwise). Returns 0,
 * -EINVAL for a zero or too large capacity, or -ENOMEM.
 */
static inline int
ocq_spsc_init_at(struct ocq_spsc *q, size_t capacity, uint64_t start)
{
	uint64_t n;

	memset(q, 0, sizeof(*q));
	if (capacity == 0 || capacity > ((size_t)1 << 40))
		return -EINVAL;
	n = ocq__pow2_ceil(capacity);
	q->slots = ocq__alloc_lines(n, sizeof(void *));
	if (!q->slots)
		return -ENOMEM;
	q->cap = capacity;
	q->mask = n - 1;
	atomic_init(&q->tail, start);
	atomic_init(&q->head, start);
	q->head_cache = start;
	q->tail_cache = start;
	return 0;
}

/* Set up a ring for capacity items. Returns 0, -EINVAL or -ENOMEM. */
static inline int
ocq_spsc_init(struct ocq_spsc *q, size_t capacity)
{
	return ocq_spsc_init_at(q, capacity, 0);
}

/* Free the slot array. Items still inside belong to the caller. */
static inline void
ocq_spsc_destroy(struct ocq_spsc *q)
{
	free(q->slots);
	q->slots = NULL;
}

/* Producer: free slots, refreshing the cached head only when needed. */
OCQ__INLINE uint64_t
ocq__spsc_room(struct ocq_spsc *q, uint64_t tail, uint64_t want)
{
	uint64_t room = q->cap - (tail - q->head_cache);

	if (room < want) {
		/* pairs with the consumer's release store of head */
		q->head_cache = atomic_load_explicit(&q->head, memory_order_acquire);
		room = q->cap - (tail - q->head_cache);
	}
	return room;
}

/* Consumer: filled slots, refreshing the cached tail only when needed. */
OCQ__INLINE uint64_t
ocq__spsc_avail(struct ocq_spsc *q, uint64_t head, uint64_t want)
{
	uint64_t avail = q->tail_cache - head;

	if (avail < want) {
		/* pairs with the producer's release store of tail */
		q->tail_cache = atomic_load_explicit(&q->tail, memory_order_acquire);
		avail = q->tail_cache - head;
	}
	return avail;
}

/* Push one item. Returns 0, or -EAGAIN when the ring is full. */
OCQ__INLINE int
ocq_spsc_try_push(struct ocq_spsc *q, void *item)
{
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);

	if (OCQ__UNLIKELY(ocq__spsc_room(q, tail, 1) == 0))
		return -EAGAIN;
	q->slots[tail & q->mask] = item;
	/* publishes the slot; pairs with the consumer's acquire of tail */
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	return 0;
}

/* Pop one item into *item. Returns 0, or -EAGAIN when the ring is empty. */
OCQ__INLINE int
ocq_spsc_try_pop(struct ocq_spsc *q, void **item)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);

	if (OCQ__UNLIKELY(ocq__spsc_avail(q, head, 1) == 0))
		return -EAGAIN;
	*item = q->slots[head & q->mask];
	/* hands the slot back; pairs with the producer's acquire of head */
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return 0;
}

OCQ__INLINE void
ocq__spsc_copy_in(struct ocq_spsc *q, uint64_t tail, void *const *items, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		q->slots[(tail + i) & q->mask] = items[i];
}

OCQ__INLINE void
ocq__spsc_copy_out(struct ocq_spsc *q, uint64_t head, void **items, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		items[i] = q->slots[(head + i) & q->mask];
}

/* Push as many of items[0..n) as fit, with one index update. Returns the count. */
static inline size_t
ocq_spsc_push_burst(struct ocq_spsc *q, void *const *items, size_t n)
{
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint64_t room = ocq__spsc_room(q, tail, n);

	if (n > room)
		n = room;
	if (n) {
		ocq__spsc_copy_in(q, tail, items, n);
		atomic_store_explicit(&q->tail, tail + n, memory_order_release);
	}
	return n;
}

/*
 * Push all of items[0..n) or none. Returns 0, -EAGAIN without room for all,
 * or -EINVAL when n exceeds the capacity (it could never succeed).
 */
static inline int
ocq_spsc_push_bulk(struct ocq_spsc *q, void *const *items, size_t n)
{
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);

	if (n > q->cap)
		return -EINVAL;
	if (ocq__spsc_room(q, tail, n) < n)
		return -EAGAIN;
	ocq__spsc_copy_in(q, tail, items, n);
	atomic_store_explicit(&q->tail, tail + n, memory_order_release);
	return 0;
}

/* Pop up to n items into items[]. Returns the count (0 when empty). */
static inline size_t
ocq_spsc_pop_burst(struct ocq_spsc *q, void **items, size_t n)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint64_t avail = ocq__spsc_avail(q, head, n);

	if (n > avail)
		n = avail;
	if (n) {
		ocq__spsc_copy_out(q, head, items, n);
		atomic_store_explicit(&q->head, head + n, memory_order_release);
	}
	return n;
}

/* Pop exactly n items or none. Returns 0, -EAGAIN with fewer queued, or -EINVAL. */
static inline int
ocq_spsc_pop_bulk(struct ocq_spsc *q, void **items, size_t n)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);

	if (n > q->cap)
		return -EINVAL;
	if (ocq__spsc_avail(q, head, n) < n)
		return -EAGAIN;
	ocq__spsc_copy_out(q, head, items, n);
	atomic_store_explicit(&q->head, head + n, memory_order_release);
	return 0;
}

/* Items queued right now; exact only when neither side is running. */
static inline size_t
ocq_spsc_size(struct ocq_spsc *q)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	uint64_t n = tail - head;

	return n > q->cap ? q->cap : (size_t)n;
}

#endif /* OCQ_SPSC_H */
