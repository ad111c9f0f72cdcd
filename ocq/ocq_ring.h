/* SPDX-License-Identifier: MIT */
/*
 * ocq_ring.h - bounded rings with per-slot sequence stamps for the multi-party
 * topologies: MPMC, MPSC and SPMC. One algorithm (Dmitry Vyukov's bounded
 * MPMC queue, with crossbeam's lap encoding), three entry points: a single
 * producer or single consumer side skips its compare-and-swap and publishes
 * its index with a plain store.
 *
 * Positions. A position is {lap, index} packed into 64 bits: the low bits are
 * the slot index (< cap), the next bit is the channel's close mark, the bits
 * above count laps. Going past the last index moves to index 0 of the next
 * lap, so any capacity >= 1 works and positions wrap around 2^64 safely.
 *
 * Stamps. Slot i's stamp says whose turn it is: stamp == pos means "free for
 * the producer at pos"; stamp == pos + 1 means "full, for the consumer at
 * pos"; the consumer hands the slot to the next lap by storing pos + one_lap.
 * The stamp's release store publishes the slot's payload and the acquire
 * load on the other side receives it: that is the only synchronisation the
 * payload needs. head and tail only decide who owns which position.
 *
 * Concurrency contract:
 *
 *   | ring  | push family            | pop family             |
 *   |-------|------------------------|------------------------|
 *   | mpmc  | any threads            | any threads            |
 *   | mpsc  | any threads            | ONE thread at a time   |
 *   | spmc  | ONE thread at a time   | any threads            |
 *
 * size() may run at any time and is approximate. init/destroy run alone.
 *
 * A consumer that finds its slot claimed by a producer that has not yet
 * written it waits for that producer (the design's one blocking window);
 * it snoozes, yielding the CPU, so a preempted producer is not starved.
 */
#ifndef OCQ_RING_H
#define OCQ_RING_H

#include "ocq_base.h"

struct ocq__ring {
	OCQ__ALIGNED _Atomic uint64_t head;
	OCQ__ALIGNED _Atomic uint64_t tail;
	OCQ__ALIGNED unsigned char *slots;
	uint64_t cap;
	uint64_t mark;	  /* close bit in tail; one above the largest index */
	uint64_t one_lap; /* add to a position to reach the same index next lap */
	size_t stride;	  /* bytes per slot: stamp, then the payload */
};

#define OCQ__STAMP(r, idx) ((_Atomic uint64_t *)((r)->slots + (size_t)(idx) * (r)->stride))
#define OCQ__CELL(r, idx) ((r)->slots + (size_t)(idx) * (r)->stride + sizeof(uint64_t))

/*
 * Set up a ring of cap cells of esz bytes, positions starting at start
 * (rounded down to a lap; tests start near 2^64). Returns 0, -EINVAL, -ENOMEM.
 */
static inline int
ocq__ring_init(struct ocq__ring *r, size_t cap, size_t esz, uint64_t start)
{
	memset(r, 0, sizeof(*r));
	if (cap == 0 || cap > ((size_t)1 << 40) || esz == 0 || esz > 4096)
		return -EINVAL;
	r->cap = cap;
	r->mark = ocq__pow2_ceil((uint64_t)cap + 1);
	r->one_lap = r->mark << 1;
	r->stride = (sizeof(uint64_t) + esz + 7) & ~(size_t)7;
	r->slots = ocq__alloc_lines(cap, r->stride);
	if (!r->slots)
		return -ENOMEM;
	start &= ~(r->one_lap - 1);
	for (size_t i = 0; i < cap; i++)
		atomic_init(OCQ__STAMP(r, i), start + i);
	atomic_init(&r->head, start);
	atomic_init(&r->tail, start);
	return 0;
}

static inline void
ocq__ring_destroy(struct ocq__ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

/* The position after pos (pos carries no mark bit). */
OCQ__INLINE uint64_t
ocq__ring_next(const struct ocq__ring *r, uint64_t pos)
{
	uint64_t idx = pos & (r->mark - 1);

	return idx + 1 < r->cap ? pos + 1 : (pos & ~(r->one_lap - 1)) + r->one_lap;
}

/*
 * Store a stamp. Channels (sc_pub) need the store in the single total order
 * of seq_cst operations, because right after it they look for sleeping
 * waiters (ocq_ec): an exchange does that without a separate fence.
 */
OCQ__INLINE void
ocq__ring_stamp(_Atomic uint64_t *stamp, uint64_t v, bool sc_pub)
{
	if (sc_pub)
		atomic_exchange_explicit(stamp, v, memory_order_seq_cst);
	else
		atomic_store_explicit(stamp, v, memory_order_release);
}

/*
 * Push one cell. sp: the caller is the only producer; chan: honour the close
 * mark (which forces a CAS on tail even for a single producer, so that a
 * send racing with close either lands before it or fails) and publish with
 * seq_cst. Returns 0, -EAGAIN when full, or OCQ_CLOSED (chan only).
 */
OCQ__INLINE int
ocq__ring_push(struct ocq__ring *r, const void *cell, size_t esz, bool sp, bool chan)
{
	struct ocq__backoff b = {0};
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);

	for (;;) {
		if (chan && (tail & r->mark))
			return OCQ_CLOSED;
		uint64_t idx = tail & (r->mark - 1);
		_Atomic uint64_t *stamp = OCQ__STAMP(r, idx);
		/* pairs with the consumer's stamp store that freed the slot;
		 * seq_cst (free on x86 and ARMv8) so a sleeping sender's
		 * re-check is ordered after its registration, see ocq_ec.h */
		uint64_t s = atomic_load_explicit(stamp, memory_order_seq_cst);

		if (s == tail) {
			uint64_t next = ocq__ring_next(r, tail);

			if (sp && !chan) {
				memcpy(OCQ__CELL(r, idx), cell, esz);
				ocq__ring_stamp(stamp, tail + 1, false);
				atomic_store_explicit(&r->tail, next, memory_order_relaxed);
				return 0;
			}
			if (atomic_compare_exchange_weak_explicit(&r->tail, &tail, next,
								  memory_order_seq_cst,
								  memory_order_relaxed)) {
				memcpy(OCQ__CELL(r, idx), cell, esz);
				ocq__ring_stamp(stamp, tail + 1, chan);
				return 0;
			}
			ocq__backoff_spin(&b);
		} else if (s + r->one_lap == tail + 1) {
			/* the slot still holds last lap's item: full, unless a
			 * consumer has claimed it and is about to hand it back */
			uint64_t head = atomic_load_explicit(&r->head, memory_order_seq_cst);

			if (head + r->one_lap == (tail & ~r->mark))
				return -EAGAIN;
			ocq__backoff_snooze(&b);
			tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		} else {
			/* another producer got here first; our tail is stale */
			ocq__backoff_snooze(&b);
			tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		}
	}
}

/*
 * Pop one cell into cell. sc: the caller is the only consumer. Returns 0,
 * -EAGAIN when empty, or OCQ_CLOSED when empty and closed (chan only).
 */
OCQ__INLINE int
ocq__ring_pop(struct ocq__ring *r, void *cell, size_t esz, bool sc, bool chan)
{
	struct ocq__backoff b = {0};
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	for (;;) {
		uint64_t idx = head & (r->mark - 1);
		_Atomic uint64_t *stamp = OCQ__STAMP(r, idx);
		/* pairs with the producer's stamp store that published the slot;
		 * seq_cst for the same reason as in push */
		uint64_t s = atomic_load_explicit(stamp, memory_order_seq_cst);

		if (s == head + 1) {
			uint64_t next = ocq__ring_next(r, head);

			if (sc) {
				memcpy(cell, OCQ__CELL(r, idx), esz);
				ocq__ring_stamp(stamp, head + r->one_lap, chan);
				atomic_store_explicit(&r->head, next, memory_order_relaxed);
				return 0;
			}
			if (atomic_compare_exchange_weak_explicit(&r->head, &head, next,
								  memory_order_seq_cst,
								  memory_order_relaxed)) {
				memcpy(cell, OCQ__CELL(r, idx), esz);
				ocq__ring_stamp(stamp, head + r->one_lap, chan);
				return 0;
			}
			ocq__backoff_spin(&b);
		} else if (s == head) {
			/* nothing published here yet: empty, unless a producer
			 * has claimed the position and is still writing it */
			uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);

			if ((tail & ~r->mark) == head)
				return chan && (tail & r->mark) ? OCQ_CLOSED : -EAGAIN;
			ocq__backoff_snooze(&b);
			head = atomic_load_explicit(&r->head, memory_order_relaxed);
		} else {
			/* another consumer got here first; our head is stale */
			ocq__backoff_snooze(&b);
			head = atomic_load_explicit(&r->head, memory_order_relaxed);
		}
	}
}

/*
 * Push up to n cells (contiguous, esz each) with one claim of the tail.
 * all: all or nothing. Returns the count pushed (0 when full, or when all
 * is set and fewer than n fit), or OCQ_CLOSED (chan only), or -EINVAL when
 * all is set and n exceeds the capacity.
 */
OCQ__INLINE long
ocq__ring_push_n(struct ocq__ring *r, const void *cells, size_t n, size_t esz, bool sp, bool chan,
		 bool all)
{
	struct ocq__backoff b = {0};
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (all && n > r->cap)
		return -EINVAL;
	for (;;) {
		if (chan && (tail & r->mark))
			return OCQ_CLOSED;
		uint64_t pos = tail & ~r->mark;
		size_t k = 0;

		/* count the free slots ahead; only producers fill free slots,
		 * and they must claim tail first, so they stay free if the
		 * CAS below succeeds */
		while (k < n && atomic_load_explicit(OCQ__STAMP(r, pos & (r->mark - 1)),
						     memory_order_seq_cst) == pos) {
			pos = ocq__ring_next(r, pos);
			k++;
		}
		if (k == 0 || (all && k < n)) {
			uint64_t again = atomic_load_explicit(&r->tail, memory_order_relaxed);

			if (again == tail)
				return 0;
			tail = again;
			ocq__backoff_snooze(&b);
			continue;
		}
		uint64_t end = pos;

		/* a lone producer publishes first and moves tail after, so
		 * consumers never wait on a claimed but unwritten slot */
		if (!(sp && !chan) &&
		    !atomic_compare_exchange_weak_explicit(&r->tail, &tail, end,
							   memory_order_seq_cst,
							   memory_order_relaxed)) {
			ocq__backoff_spin(&b);
			continue;
		}
		pos = tail & ~r->mark;
		for (size_t i = 0; i < k; i++) {
			uint64_t idx = pos & (r->mark - 1);

			memcpy(OCQ__CELL(r, idx), (const unsigned char *)cells + i * esz, esz);
			ocq__ring_stamp(OCQ__STAMP(r, idx), pos + 1, chan);
			pos = ocq__ring_next(r, pos);
		}
		if (sp && !chan)
			atomic_store_explicit(&r->tail, end, memory_order_relaxed);
		return (long)k;
	}
}

/*
 * Pop up to n cells into cells with one claim of the head. all: exactly n
 * or nothing. Returns the count (0 when empty or short), OCQ_CLOSED when
 * empty and closed (chan only), or -EINVAL when all and n > capacity.
 */
OCQ__INLINE long
ocq__ring_pop_n(struct ocq__ring *r, void *cells, size_t n, size_t esz, bool sc, bool chan,
		bool all)
{
	struct ocq__backoff b = {0};
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (all && n > r->cap)
		return -EINVAL;
	for (;;) {
		uint64_t pos = head;
		size_t k = 0;

		while (k < n && atomic_load_explicit(OCQ__STAMP(r, pos & (r->mark - 1)),
						     memory_order_seq_cst) == pos + 1) {
			pos = ocq__ring_next(r, pos);
			k++;
		}
		if (k == 0 || (all && k < n)) {
			uint64_t again = atomic_load_explicit(&r->head, memory_order_relaxed);

			if (again != head) {
				head = again;
				ocq__backoff_snooze(&b);
				continue;
			}
			if (k == 0 && chan) {
				/* empty: closed, or a producer still writing? */
				uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);

				if ((tail & ~r->mark) == head)
					return (tail & r->mark) ? OCQ_CLOSED : 0;
				ocq__backoff_snooze(&b);
				continue;
			}
			return 0;
		}
		if (sc)
			atomic_store_explicit(&r->head, pos, memory_order_relaxed);
		else if (!atomic_compare_exchange_weak_explicit(&r->head, &head, pos,
								memory_order_seq_cst,
								memory_order_relaxed)) {
			ocq__backoff_spin(&b);
			continue;
		}
		pos = head;
		for (size_t i = 0; i < k; i++) {
			uint64_t idx = pos & (r->mark - 1);

			memcpy((unsigned char *)cells + i * esz, OCQ__CELL(r, idx), esz);
			ocq__ring_stamp(OCQ__STAMP(r, idx), pos + r->one_lap, chan);
			pos = ocq__ring_next(r, pos);
		}
		return (long)k;
	}
}

/* Cells queued between two positions (no mark bits). */
OCQ__INLINE uint64_t
ocq__ring_distance(const struct ocq__ring *r, uint64_t from, uint64_t to)
{
	uint64_t lapmask = ~(r->one_lap - 1);
	uint64_t laps = ((to & lapmask) - (from & lapmask)) / r->one_lap;

	return laps * r->cap + (to & (r->mark - 1)) - (from & (r->mark - 1));
}

/* Cells queued right now (approximate while others run). */
static inline size_t
ocq__ring_size(struct ocq__ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire) & ~r->mark;
	uint64_t n = ocq__ring_distance(r, head, tail);

	return n > r->cap ? r->cap : (size_t)n;
}

/*
 * The typed rings of pointers. OCQ__RING_API(name, sp, sc) defines
 * struct ocq_<name> and its calls, so the type names the topology:
 *   init(q, capacity) / init_at(q, capacity, start) -> 0 | -EINVAL | -ENOMEM
 *   destroy(q)
 *   try_push(q, item) -> 0 | -EAGAIN        try_pop(q, &item) -> 0 | -EAGAIN
 *   push_burst(q, items, n) -> count        pop_burst(q, items, n) -> count
 *   push_bulk(q, items, n) -> 0 | -EAGAIN | -EINVAL (n > capacity)
 *   pop_bulk(q, items, n)  -> 0 | -EAGAIN | -EINVAL
 *   size(q) -> approximate count
 */
#define OCQ__RING_API(name, sp, sc)                                                            \
	struct ocq_##name {                                                                    \
		struct ocq__ring r;                                                            \
	};                                                                                     \
	static inline int ocq_##name##_init_at(struct ocq_##name *q, size_t cap,            \
					       uint64_t start)                                 \
	{                                                                                      \
		return ocq__ring_init(&q->r, cap, sizeof(void *), start);                      \
	}                                                                                      \
	static inline int ocq_##name##_init(struct ocq_##name *q, size_t cap)                 \
	{                                                                                      \
		return ocq__ring_init(&q->r, cap, sizeof(void *), 0);                          \
	}                                                                                      \
	static inline void ocq_##name##_destroy(struct ocq_##name *q)                          \
	{                                                                                      \
		ocq__ring_destroy(&q->r);                                                      \
	}                                                                                      \
	OCQ__INLINE int ocq_##name##_try_push(struct ocq_##name *q, void *item)               \
	{                                                                                      \
		return ocq__ring_push(&q->r, &item, sizeof(item), sp, false);                  \
	}                                                                                      \
	OCQ__INLINE int ocq_##name##_try_pop(struct ocq_##name *q, void **item)               \
	{                                                                                      \
		return ocq__ring_pop(&q->r, item, sizeof(*item), sc, false);                   \
	}                                                                                      \
	static inline size_t ocq_##name##_push_burst(struct ocq_##name *q,                    \
						     void *const *items, size_t n)             \
	{                                                                                      \
		return (size_t)ocq__ring_push_n(&q->r, items, n, sizeof(void *), sp, false,    \
						false);                                        \
	}                                                                                      \
	static inline int ocq_##name##_push_bulk(struct ocq_##name *q, void *const *items,    \
						 size_t n)                                     \
	{                                                                                      \
		long k = ocq__ring_push_n(&q->r, items, n, sizeof(void *), sp, false, true);   \
		return k < 0 ? (int)k : (size_t)k == n ? 0 : -EAGAIN;                          \
	}                                                                                      \
	static inline size_t ocq_##name##_pop_burst(struct ocq_##name *q, void **items,       \
						    size_t n)                                  \
	{                                                                                      \
		return (size_t)ocq__ring_pop_n(&q->r, items, n, sizeof(void *), sc, false,     \
					       false);                                         \
	}                                                                                      \
	static inline int ocq_##name##_pop_bulk(struct ocq_##name *q, void **items, size_t n) \
	{                                                                                      \
		long k = ocq__ring_pop_n(&q->r, items, n, sizeof(void *), sc, false, true);    \
		return k < 0 ? (int)k : (size_t)k == n ? 0 : -EAGAIN;                          \
	}                                                                                      \
	static inline size_t ocq_##name##_size(struct ocq_##name *q)                           \
	{                                                                                      \
		return ocq__ring_size(&q->r);                                                  \
	}

OCQ__RING_API(mpmc, false, false)
OCQ__RING_API(mpsc, false, true)
OCQ__RING_API(spmc, true, false)

#endif /* OCQ_RING_H */
