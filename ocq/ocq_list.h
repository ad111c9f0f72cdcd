/* SPDX-License-Identifier: MIT */
/*
 * ocq_list.h - unbounded intrusive MPSC queue (Vyukov's node-based design).
 *
 * The caller owns the nodes: embed a struct ocq_node in your own struct and
 * recover it with container_of-style arithmetic. Enqueue is wait-free: one
 * atomic exchange and one store, whatever the other threads do. Dequeue is
 * for one consumer; between a producer's exchange and its link store the
 * newest node is not reachable yet, and dequeue says -EBUSY ("retry soon")
 * rather than spinning on a producer that may have been preempted.
 *
 * Concurrency contract:
 *
 *   | operation  | concurrent with                               |
 *   |------------|-----------------------------------------------|
 *   | push       | push (any threads), pop                       |
 *   | pop, empty | push; ONE consumer thread at a time           |
 *   | init       | nothing                                       |
 *
 * A node may be pushed again (or freed) once pop has returned it.
 */
#ifndef OCQ_LIST_H
#define OCQ_LIST_H

#include "ocq_base.h"

struct ocq_node {
	_Atomic(struct ocq_node *) next;
};

struct ocq_mpscq {
	OCQ__ALIGNED _Atomic(struct ocq_node *) back; /* producers: newest node */
	OCQ__ALIGNED struct ocq_node *front;	      /* consumer: oldest node */
	struct ocq_node sentinel;
};

static inline void
ocq_mpscq_init(struct ocq_mpscq *q)
{
	atomic_init(&q->sentinel.next, NULL);
	atomic_init(&q->back, &q->sentinel);
	q->front = &q->sentinel;
}

/* Append n. Wait-free; never fails. */
static inline void
ocq_mpscq_push(struct ocq_mpscq *q, struct ocq_node *n)
{
	struct ocq_node *prev;

	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	/* acq_rel: orders n's contents before it becomes the back, and
	 * orders prev's initialisation (by its producer) before the link */
	prev = atomic_exchange_explicit(&q->back, n, memory_order_acq_rel);
	/* publishes n to the consumer; pairs with the acquire load of next */
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

/*
 * Take the oldest node. Returns 0 and *out, -EAGAIN when empty, or -EBUSY
 * when a push is half done (the queue is not empty; call again shortly).
 */
static inline int
ocq_mpscq_pop(struct ocq_mpscq *q, struct ocq_node **out)
{
	struct ocq_node *front = q->front;
	struct ocq_node *next = atomic_load_explicit(&front->next, memory_order_acquire);

	if (front == &q->sentinel) {
		if (!next)
			return atomic_load_explicit(&q->back, memory_order_acquire) == front
				       ? -EAGAIN
				       : -EBUSY;
		q->front = next;
		front = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next) {
		q->front = next;
		*out = front;
		return 0;
	}
	if (atomic_load_explicit(&q->back, memory_order_acquire) != front)
		return -EBUSY;
	/* front is the only node: put the sentinel behind it so it can leave */
	ocq_mpscq_push(q, &q->sentinel);
	next = atomic_load_explicit(&front->next, memory_order_acquire);
	if (next) {
		q->front = next;
		*out = front;
		return 0;
	}
	return -EBUSY;
}

/* True when nothing is queued (consumer only; a half-done push counts as queued). */
static inline bool
ocq_mpscq_empty(struct ocq_mpscq *q)
{
	return q->front == &q->sentinel &&
	       atomic_load_explicit(&q->sentinel.next, memory_order_acquire) == NULL &&
	       atomic_load_explicit(&q->back, memory_order_acquire) == &q->sentinel;
}

#endif /* OCQ_LIST_H */
