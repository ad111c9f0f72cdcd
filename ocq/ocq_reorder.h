/* SPDX-License-Identifier: MIT */
/*
 * ocq_reorder.h - deliver a channel's items in sequence order with bounded
 * memory: the merge stage behind "n walkers, one ordered output".
 *
 * Sender k of ocq_chan_with_producers(ch, n, tx) stamps its items with the
 * consecutive numbers of range k. The total order is range 0's items in
 * send order, then range 1's, and so on; a range ends when its sender is
 * released. The receiver delivers the current range's items as they come
 * (each sender's items arrive in its send order on a single-consumer
 * channel) and holds back items of later ranges in a min-heap.
 *
 * The bound: a sender that is not in the current range must take one of
 * `window` credits before it sends, and gets it back when its item is
 * delivered, so the heap never holds more than `window` items however far
 * ahead the later senders run. A sender blocked for credits wakes when the
 * receiver reaches its range: the current range never needs credits, so
 * the merge cannot deadlock.
 *
 * Concurrency contract: one thread calls ocq_recv_ordered() on a reorder;
 * senders run concurrently through ocq_send(). ocq_reorder_init() must
 * return before the first send.
 */
#ifndef OCQ_REORDER_H
#define OCQ_REORDER_H

#include "ocq_chan.h"

struct ocq_reorder {
	struct ocq_rx *rx;
	struct ocq__cell *heap; /* min-heap on seq; at most window entries */
	size_t len, cap;
	uint64_t next;	/* the sequence number to deliver next */
	uint32_t range; /* its range */
};

/*
 * Attach an ordered reader to rx's channel, holding back at most window
 * items. The channel must be single-consumer (SPSC or MPSC) and have its
 * senders from ocq_chan_with_producers(). Returns 0, -EINVAL or -ENOMEM.
 */
static inline int
ocq_reorder_init(struct ocq_reorder *o, struct ocq_rx *rx, size_t window)
{
	struct ocq_chan *ch = rx->ch;

	memset(o, 0, sizeof(*o));
	if (!ch || !ch->sc || !ch->nranges || window == 0 || window > INT32_MAX)
		return -EINVAL;
	o->heap = calloc(window, sizeof(*o->heap));
	if (!o->heap)
		return -ENOMEM;
	o->rx = rx;
	o->cap = window;
	atomic_store_explicit(&ch->credits, (int64_t)window, memory_order_relaxed);
	atomic_store_explicit(&ch->head_range, 0, memory_order_relaxed);
	atomic_store_explicit(&ch->window, window, memory_order_release);
	return 0;
}

static inline void
ocq_reorder_destroy(struct ocq_reorder *o)
{
	free(o->heap);
	o->heap = NULL;
}

static inline void
ocq__heap_push(struct ocq_reorder *o, struct ocq__cell c)
{
	size_t i = o->len++;

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if ((o->heap[p].seq & ~OCQ__SEQ_CREDIT) <= (c.seq & ~OCQ__SEQ_CREDIT))
			break;
		o->heap[i] = o->heap[p];
		i = p;
	}
	o->heap[i] = c;
}

static inline struct ocq__cell
ocq__heap_pop(struct ocq_reorder *o)
{
	struct ocq__cell top = o->heap[0], last = o->heap[--o->len];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m = l;

		if (l >= o->len)
			break;
		if (l + 1 < o->len &&
		    (o->heap[l + 1].seq & ~OCQ__SEQ_CREDIT) < (o->heap[l].seq & ~OCQ__SEQ_CREDIT))
			m = l + 1;
		if ((o->heap[m].seq & ~OCQ__SEQ_CREDIT) >= (last.seq & ~OCQ__SEQ_CREDIT))
			break;
		o->heap[i] = o->heap[m];
		i = m;
	}
	if (o->len)
		o->heap[i] = last;
	return top;
}

/* Hand one cell to the caller, returning its credit if it used one. */
static inline int
ocq__reorder_deliver(struct ocq_reorder *o, struct ocq__cell c, void **item)
{
	*item = c.ptr;
	o->next = (c.seq & ~OCQ__SEQ_CREDIT) + 1;
	if (c.seq & OCQ__SEQ_CREDIT)
		ocq__credit_return(o->rx->ch);
	return 0;
}

/*
 * Receive the next item in sequence order, waiting as needed. Returns 0,
 * or OCQ_CLOSED when every range has ended (or the channel was closed and
 * all that was sent has been delivered; after an explicit close the rest
 * comes in order, with gaps where sends were refused).
 */
static inline int
ocq_recv_ordered(struct ocq_reorder *o, void **item)
{
	struct ocq_chan *ch = o->rx->ch;

	for (;;) {
		struct ocq__cell c;
		int rc;

		if (o->len && (o->heap[0].seq & ~OCQ__SEQ_CREDIT) == o->next)
			return ocq__reorder_deliver(o, ocq__heap_pop(o), item);
		if (o->range >= ch->nranges)
			return OCQ_CLOSED;
		if (atomic_load_explicit(&ch->range_end[o->range], memory_order_acquire) ==
		    o->next) {
			/* every item of this range is delivered: move on, and
			 * let its successor's sender stop taking credits */
			o->range++;
			o->next = (uint64_t)o->range << OCQ_SEQ_RANGE_SHIFT;
			atomic_store_explicit(&ch->head_range, o->range, memory_order_seq_cst);
			ocq_ec_notify_all(&ch->order_ec);
			continue;
		}
		rc = ocq__chan_pop(ch, &c);
		if (rc == -EAGAIN)
			OCQ__WAIT_LOOP(rc, ocq__chan_pop(ch, &c), &ch->not_empty, NULL,
				       &ch->range_end[o->range], o->next);
		if (rc == -EINTR)
			continue;
		if (rc == OCQ_CLOSED) {
			if (!o->len)
				return OCQ_CLOSED;
			return ocq__reorder_deliver(o, ocq__heap_pop(o), item);
		}
		ocq_ec_notify(&ch->not_full, 1);
		if ((c.seq & ~OCQ__SEQ_CREDIT) == o->next)
			return ocq__reorder_deliver(o, c, item);
		if (o->len == o->cap) {
			/* unreachable while senders follow the credit rule;
			 * grow rather than lose an item */
			struct ocq__cell *h = realloc(o->heap, 2 * o->cap * sizeof(*h));

			if (!h)
				return -ENOMEM;
			o->heap = h;
			o->cap *= 2;
		}
		ocq__heap_push(o, c);
	}
}

#endif /* OCQ_REORDER_H */
