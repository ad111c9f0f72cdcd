/* SPDX-License-Identifier: MIT */
/*
 * ocq_spsc.h - bounded single-producer single-consumer ring of pointers.
 *
 * FastForward's design: a slot's content says whether it is free (NULL) or
 * full, so the two sides share no index at all. The producer writes a slot
 * it found empty; the consumer takes a slot it found full and clears it. In
 * steady state the only cache lines that move between the cores are the
 * slots themselves, eight items per line, which is why this beats rings
 * that publish a tail or head index on every operation (ck_ring, Lamport).
 * Each side keeps its position privately; it also stores it in an atomic
 * counter of its own, read only by ocq_spsc_size().
 *
 * Batching (after B-Queue, Wang et al.): slots fill and drain in order, so
 * if the k-th slot ahead is ready, every slot before it is too. Each side
 * proves a batch ready with one probe and then works through it without
 * reading lines the other core is writing; the consumer backtracks from
 * twice its last batch down to 1, so a lone item is still delivered at
 * once and a trickle costs two probes. A batch is at most 128 slots and at
 * most a quarter of the ring. Without this the
 * ring settles into a mode where the consumer trails the producer by a
 * slot and every cache line bounces once per item.
 *
 * Items must not be NULL (NULL marks a free slot): pushing NULL returns
 * -EINVAL. The channel layer (ocq_chan.h) has no such rule.
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
 * Capacity is any value >= 1 and is exact: that many slots.
 */
#ifndef OCQ_SPSC_H
#define OCQ_SPSC_H

#include "ocq_base.h"

#define OCQ__SPSC_BATCH 128

struct ocq_spsc {
	/* producer's line */
	OCQ__ALIGNED _Atomic uint64_t tail; /* items pushed, for size() */
	uint64_t pslot;			    /* next slot to fill */
	uint64_t pfree;			    /* slots known free from pslot on */
	/* consumer's line */
	OCQ__ALIGNED _Atomic uint64_t head; /* items popped, for size() */
	uint64_t cslot;			    /* next slot to take */
	uint64_t cfull;			    /* slots known full from cslot on */
	uint64_t clast;			    /* size of the last batch claimed */
	/* read-only after init */
	OCQ__ALIGNED _Atomic(void *) *slots;
	uint64_t cap;
	uint64_t batch;
};

/*
 * Set up a ring for capacity items whose counters start at start (tests use
 * a start near 2^64 to cover wrap-around; use 0 otherwise). Returns 0,
 * -EINVAL for a zero or too large capacity, or -ENOMEM.
 */
static inline int
ocq_spsc_init_at(struct ocq_spsc *q, size_t capacity, uint64_t start)
{
	memset(q, 0, sizeof(*q));
	if (capacity == 0 || capacity > ((size_t)1 << 40))
		return -EINVAL;
	q->slots = ocq__alloc_lines(capacity, sizeof(*q->slots));
	if (!q->slots)
		return -ENOMEM;
	q->cap = capacity;
	/* a batch of at most a quarter of the ring, so both sides can be in
	 * a batch at once without meeting */
	q->batch = capacity / 4 < OCQ__SPSC_BATCH ? capacity / 4 : OCQ__SPSC_BATCH;
	if (q->batch == 0)
		q->batch = 1;
	q->clast = q->batch;
	atomic_init(&q->tail, start);
	atomic_init(&q->head, start);
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
	free((void *)q->slots);
	q->slots = NULL;
}

OCQ__INLINE uint64_t
ocq__spsc_next(const struct ocq_spsc *q, uint64_t slot)
{
	return slot + 1 == q->cap ? 0 : slot + 1;
}

/* The slot k positions after slot (k <= cap). */
OCQ__INLINE uint64_t
ocq__spsc_ahead(const struct ocq_spsc *q, uint64_t slot, uint64_t k)
{
	slot += k;
	return slot >= q->cap ? slot - q->cap : slot;
}

/* Is slot free? Pairs with the consumer's release store of NULL. */
OCQ__INLINE bool
ocq__spsc_free(struct ocq_spsc *q, uint64_t slot)
{
	return atomic_load_explicit(&q->slots[slot], memory_order_acquire) == NULL;
}

OCQ__INLINE void
ocq__spsc_count(_Atomic uint64_t *ctr, uint64_t n)
{
	/* single writer: a plain add on our own line, no RMW */
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Producer: make sure at least one slot is known free. */
OCQ__INLINE bool
ocq__spsc_reserve(struct ocq_spsc *q)
{
	if (q->pfree)
		return true;
	if (ocq__spsc_free(q, ocq__spsc_ahead(q, q->pslot, q->batch - 1)))
		q->pfree = q->batch;
	else if (ocq__spsc_free(q, q->pslot))
		q->pfree = 1;
	return q->pfree != 0;
}

/*
 * Consumer: make sure at least one slot is known full. Start from twice the
 * last batch that worked, then halve: a trickle costs two probes per item,
 * a busy ring climbs back to the full batch within a few claims.
 */
OCQ__INLINE bool
ocq__spsc_claim(struct ocq_spsc *q)
{
	uint64_t b = q->clast * 2 < q->batch ? q->clast * 2 : q->batch;

	if (q->cfull)
		return true;
	for (; b; b >>= 1) {
		/* pairs with the producer's release store of that slot, which
		 * follows its stores to every slot before it */
		if (atomic_load_explicit(&q->slots[ocq__spsc_ahead(q, q->cslot, b - 1)],
					 memory_order_acquire)) {
			q->cfull = b;
			q->clast = b;
			return true;
		}
	}
	return false;
}

/* Push one item. Returns 0, -EAGAIN when the ring is full, -EINVAL for NULL. */
OCQ__INLINE int
ocq_spsc_try_push(struct ocq_spsc *q, void *item)
{
	uint64_t slot = q->pslot;

	if (OCQ__UNLIKELY(!item))
		return -EINVAL;
	if (!ocq__spsc_reserve(q))
		return -EAGAIN;
	/* publishes the item; pairs with the consumer's acquire load */
	atomic_store_explicit(&q->slots[slot], item, memory_order_release);
	q->pslot = ocq__spsc_next(q, slot);
	q->pfree--;
	ocq__spsc_count(&q->tail, 1);
	return 0;
}

/* Pop one item into *item. Returns 0, or -EAGAIN when the ring is empty. */
OCQ__INLINE int
ocq_spsc_try_pop(struct ocq_spsc *q, void **item)
{
	uint64_t slot = q->cslot;

	if (!ocq__spsc_claim(q))
		return -EAGAIN;
	/* known full: ordered by the acquire in _claim */
	*item = atomic_load_explicit(&q->slots[slot], memory_order_relaxed);
	/* hands the slot back; pairs with the producer's acquire in _free */
	atomic_store_explicit(&q->slots[slot], NULL, memory_order_release);
	q->cslot = ocq__spsc_next(q, slot);
	q->cfull--;
	ocq__spsc_count(&q->head, 1);
	return 0;
}

/*
 * Slots free ahead of the producer, up to want. Slots are freed in order,
 * so if the k-th slot ahead is free, so is every one before it.
 */
OCQ__INLINE size_t
ocq__spsc_room(struct ocq_spsc *q, size_t want)
{
	size_t k = 0;

	if (want > q->cap)
		want = q->cap;
	if (want <= q->pfree)
		return want;
	if (want && ocq__spsc_free(q, ocq__spsc_ahead(q, q->pslot, want - 1)))
		return want;
	k = q->pfree;
	while (k < want && ocq__spsc_free(q, ocq__spsc_ahead(q, q->pslot, k)))
		k++;
	return k;
}

OCQ__INLINE void
ocq__spsc_put(struct ocq_spsc *q, void *const *items, size_t n)
{
	uint64_t slot = q->pslot;

	for (size_t i = 0; i < n; i++) {
		atomic_store_explicit(&q->slots[slot], items[i], memory_order_release);
		slot = ocq__spsc_next(q, slot);
	}
	q->pslot = slot;
	q->pfree = q->pfree > n ? q->pfree - n : 0;
	ocq__spsc_count(&q->tail, n);
}

static inline bool
ocq__spsc_has_null(void *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!items[i])
			return true;
	return false;
}

/* Push as many of items[0..n) as fit. Returns the count (0 also when an item is NULL). */
static inline size_t
ocq_spsc_push_burst(struct ocq_spsc *q, void *const *items, size_t n)
{
	size_t k;

	if (ocq__spsc_has_null(items, n))
		return 0;
	k = ocq__spsc_room(q, n);
	ocq__spsc_put(q, items, k);
	return k;
}

/*
 * Push all of items[0..n) or none. Returns 0, -EAGAIN without room for all,
 * or -EINVAL when n exceeds the capacity (it could never succeed) or an
 * item is NULL.
 */
static inline int
ocq_spsc_push_bulk(struct ocq_spsc *q, void *const *items, size_t n)
{
	if (n > q->cap || ocq__spsc_has_null(items, n))
		return -EINVAL;
	if (n > q->pfree && !ocq__spsc_free(q, ocq__spsc_ahead(q, q->pslot, n - 1)))
		return -EAGAIN;
	ocq__spsc_put(q, items, n);
	return 0;
}

/* Pop up to n items into items[]. Returns the count (0 when empty). */
static inline size_t
ocq_spsc_pop_burst(struct ocq_spsc *q, void **items, size_t n)
{
	size_t k = 0;

	while (k < n && ocq_spsc_try_pop(q, &items[k]) == 0)
		k++;
	return k;
}

/* Pop exactly n items or none. Returns 0, -EAGAIN with fewer queued, or -EINVAL. */
static inline int
ocq_spsc_pop_bulk(struct ocq_spsc *q, void **items, size_t n)
{
	if (n > q->cap)
		return -EINVAL;
	/* filled in order: the n-th slot ahead full means all before it are */
	if (n > q->cfull && atomic_load_explicit(&q->slots[ocq__spsc_ahead(q, q->cslot, n - 1)],
						 memory_order_acquire) == NULL)
		return -EAGAIN;
	if (n > q->cfull)
		q->cfull = n;
	for (size_t i = 0; i < n; i++)
		ocq_spsc_try_pop(q, &items[i]);
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
