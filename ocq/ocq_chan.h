/* SPDX-License-Identifier: MIT */
/*
 * ocq_chan.h - bounded channels over the stamped ring: blocking, timed and
 * non-blocking send and receive, close, per-producer sender handles with
 * sequence ranges, eventfd readiness for event loops, and drain_parallel.
 *
 * Handles. Sending needs a struct ocq_tx and receiving a struct ocq_rx; a
 * handle belongs to one thread at a time. The topology is fixed at creation
 * and the handles enforce it: a single-producer channel hands out exactly
 * one sender, a single-consumer channel admits one open receiver, so a
 * second producer on an SPSC channel is an error at set-up, not a race.
 *
 * Close. The channel closes when its last sender is released, when its last
 * receiver is released, or on ocq_chan_close(). Closing sets a mark bit in
 * the ring's tail with one atomic OR; every sender claims its slot with a CAS
 * on that same word, so a send either completes before the close (and its
 * item will be received) or fails with OCQ_CLOSED (and the caller keeps the
 * item). Receivers drain what is left, then get OCQ_CLOSED. Close wakes
 * every sleeper and every armed eventfd.
 *
 * Concurrency contract:
 *
 *   | call                                  | may run concurrently with        |
 *   |---------------------------------------|----------------------------------|
 *   | send family on a tx                   | everything, except another call  |
 *   |                                       | on the same tx (a shared tx:     |
 *   |                                       | everything)                      |
 *   | recv family on an rx                  | everything, except another call  |
 *   |                                       | on the same rx                   |
 *   | ocq_chan_close, _is_closed, _len      | everything                       |
 *   | ocq_tx_release / ocq_rx_release       | everything but its own handle    |
 *   | ocq_chan_with_producers, ocq_rx_open, | everything (they fail with       |
 *   | ocq_tx_clone, ocq_chan_shared_sender  | -EBUSY where the topology says)  |
 *   | ocq_chan_create / ocq_chan_destroy    | nothing (destroy after every     |
 *   |                                       | thread is done with the channel) |
 */
#ifndef OCQ_CHAN_H
#define OCQ_CHAN_H

#include "ocq_base.h"
#include "ocq_ec.h"
#include "ocq_ring.h"
#include <pthread.h>

enum ocq_topo {
	OCQ_SPSC,
	OCQ_MPSC,
	OCQ_SPMC,
	OCQ_MPMC,
};

/* Sender k of ocq_chan_with_producers() stamps items k << 40, k << 40 | 1, ... */
#define OCQ_SEQ_RANGE_SHIFT 40
#define OCQ__SEQ_CREDIT ((uint64_t)1 << 63)
#define OCQ__NO_RANGE UINT32_MAX

/* What travels through the ring: the item and its sequence number. */
struct ocq__cell {
	void *ptr;
	uint64_t seq;
};

struct ocq_chan {
	struct ocq__ring ring;
	OCQ__ALIGNED struct ocq_ec not_empty; /* receivers sleep here */
	OCQ__ALIGNED struct ocq_ec not_full;  /* senders sleep here */
	OCQ__ALIGNED _Atomic uint32_t senders;
	_Atomic uint32_t receivers;
	_Atomic bool producers_given;
	enum ocq_topo topo;
	bool sp, sc;
	/* ordering (ocq_reorder.h): one range per with_producers handle */
	uint32_t nranges;
	_Atomic uint64_t *range_end; /* next unused seq once released, else UINT64_MAX */
	OCQ__ALIGNED _Atomic uint32_t head_range;
	_Atomic int64_t credits;
	_Atomic uint64_t window; /* 0: no ordered receiver */
	struct ocq_ec order_ec;
};

struct ocq_tx {
	struct ocq_chan *ch;
	uint64_t seq;
	uint32_t range;
	bool shared; /* any thread may send through it; no sequence numbers */
};

struct ocq_rx {
	struct ocq_chan *ch;
};

/*
 * Create a channel of the given topology holding up to capacity items.
 * Returns 0 and *out, or -EINVAL (bad topology or capacity) or -ENOMEM.
 * It has no handles yet: add senders with ocq_chan_with_producers() and
 * receivers with ocq_rx_open().
 */
static inline int
ocq_chan_create(struct ocq_chan **out, enum ocq_topo topo, size_t capacity)
{
	struct ocq_chan *ch;
	int rc;

	*out = NULL;
	if (topo < OCQ_SPSC || topo > OCQ_MPMC)
		return -EINVAL;
	ch = ocq__alloc_lines(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	rc = ocq__ring_init(&ch->ring, capacity, sizeof(struct ocq__cell), 0);
	if (rc) {
		free(ch);
		return rc;
	}
	ch->topo = topo;
	ch->sp = topo == OCQ_SPSC || topo == OCQ_SPMC;
	ch->sc = topo == OCQ_SPSC || topo == OCQ_MPSC;
	ocq_ec_init(&ch->not_empty);
	ocq_ec_init(&ch->not_full);
	ocq_ec_init(&ch->order_ec);
	*out = ch;
	return 0;
}

/*
 * Free the channel. Call once no thread uses it; unreleased handles become
 * dangling. Items still queued are not freed: drain first if they own memory.
 */
static inline void
ocq_chan_destroy(struct ocq_chan *ch)
{
	if (!ch)
		return;
	ocq__ring_destroy(&ch->ring);
	ocq_ec_destroy(&ch->not_empty);
	ocq_ec_destroy(&ch->not_full);
	ocq_ec_destroy(&ch->order_ec);
	free(ch->range_end);
	free(ch);
}

/* Close: no send succeeds after this returns; receivers drain, then OCQ_CLOSED. */
static inline void
ocq_chan_close(struct ocq_chan *ch)
{
	uint64_t old = atomic_fetch_or_explicit(&ch->ring.tail, ch->ring.mark,
						memory_order_seq_cst);

	if (!(old & ch->ring.mark)) {
		ocq_ec_notify_all(&ch->not_empty);
		ocq_ec_notify_all(&ch->not_full);
		ocq_ec_notify_all(&ch->order_ec);
	}
}

static inline bool
ocq_chan_is_closed(struct ocq_chan *ch)
{
	return atomic_load_explicit(&ch->ring.tail, memory_order_seq_cst) & ch->ring.mark;
}

/* Items queued right now (approximate while others run). */
static inline size_t
ocq_chan_len(struct ocq_chan *ch)
{
	return ocq__ring_size(&ch->ring);
}

static inline size_t
ocq_chan_capacity(const struct ocq_chan *ch)
{
	return (size_t)ch->ring.cap;
}

/*
 * Hand out the channel's n sender handles at once (so none can close the
 * channel before the others exist). Handle k owns the sequence numbers from
 * k << OCQ_SEQ_RANGE_SHIFT, which ocq_reorder uses to restore the order.
 * Returns 0; -EINVAL when n is 0 or the channel is single-producer and n
 * is not 1; -EBUSY when called a second time; -ENOMEM.
 */
static inline int
ocq_chan_with_producers(struct ocq_chan *ch, unsigned n, struct ocq_tx *tx)
{
	bool expect = false;

	for (unsigned k = 0; k < n; k++)
		tx[k].ch = NULL; /* failure leaves handles safe to release */
	if (n == 0 || (ch->sp && n != 1) || n >= (1u << (63 - OCQ_SEQ_RANGE_SHIFT)))
		return -EINVAL;
	if (!atomic_compare_exchange_strong(&ch->producers_given, &expect, true))
		return -EBUSY;
	ch->range_end = ocq__alloc_lines(n, sizeof(*ch->range_end));
	if (!ch->range_end) {
		atomic_store(&ch->producers_given, false);
		return -ENOMEM;
	}
	for (unsigned k = 0; k < n; k++) {
		atomic_init(&ch->range_end[k], UINT64_MAX);
		tx[k].ch = ch;
		tx[k].range = k;
		tx[k].seq = (uint64_t)k << OCQ_SEQ_RANGE_SHIFT;
		tx[k].shared = false;
	}
	ch->nranges = n;
	atomic_fetch_add_explicit(&ch->senders, n, memory_order_release);
	return 0;
}

/*
 * Add a sender next to a live one (multi-producer channels). The clone owns
 * no sequence range, so it cannot send to an ordered receiver. Returns 0,
 * -EBUSY on a single-producer channel, -EINVAL if src is released.
 */
static inline int
ocq_tx_clone(struct ocq_tx *src, struct ocq_tx *dst)
{
	dst->ch = NULL;
	if (!src->ch)
		return -EINVAL;
	if (src->ch->sp)
		return -EBUSY;
	atomic_fetch_add_explicit(&src->ch->senders, 1, memory_order_relaxed);
	dst->ch = src->ch;
	dst->range = OCQ__NO_RANGE;
	dst->seq = 0;
	dst->shared = false;
	return 0;
}

/*
 * Make the channel's one sender a shared one: any number of threads may
 * send through it at once (a job queue fed from anywhere). It carries no
 * sequence numbers and cannot feed an ordered receiver. Multi-producer
 * channels only. Returns 0, -EINVAL (single producer), -EBUSY (senders
 * already handed out).
 */
static inline int
ocq_chan_shared_sender(struct ocq_chan *ch, struct ocq_tx *tx)
{
	bool expect = false;

	tx->ch = NULL;
	if (ch->sp)
		return -EINVAL;
	if (!atomic_compare_exchange_strong(&ch->producers_given, &expect, true))
		return -EBUSY;
	atomic_fetch_add_explicit(&ch->senders, 1, memory_order_release);
	tx->ch = ch;
	tx->range = OCQ__NO_RANGE;
	tx->seq = 0;
	tx->shared = true;
	return 0;
}

/* Release a sender; the last one closes the channel. Safe to call twice. */
static inline void
ocq_tx_release(struct ocq_tx *tx)
{
	struct ocq_chan *ch = tx->ch;

	if (!ch)
		return;
	tx->ch = NULL;
	if (tx->range != OCQ__NO_RANGE) {
		/* tells an ordered receiver this range is complete; seq_cst
		 * because the receiver may be asleep (see ocq_ec.h) */
		atomic_exchange_explicit(&ch->range_end[tx->range], tx->seq, memory_order_seq_cst);
		ocq_ec_notify(&ch->not_empty, INT_MAX);
	}
	if (atomic_fetch_sub_explicit(&ch->senders, 1, memory_order_acq_rel) == 1)
		ocq_chan_close(ch);
}

/*
 * Open a receiver. Returns 0; -EBUSY when the channel is single-consumer and
 * a receiver is already open (rx is then released: releasing it is a no-op).
 */
static inline int
ocq_rx_open(struct ocq_rx *rx, struct ocq_chan *ch)
{
	uint32_t zero = 0;

	rx->ch = NULL; /* a failed open still leaves a handle safe to release */
	if (ch->sc) {
		if (!atomic_compare_exchange_strong(&ch->receivers, &zero, 1))
			return -EBUSY;
	} else {
		atomic_fetch_add_explicit(&ch->receivers, 1, memory_order_relaxed);
	}
	rx->ch = ch;
	return 0;
}

/* Release a receiver; the last one closes the channel. Safe to call twice. */
static inline void
ocq_rx_release(struct ocq_rx *rx)
{
	struct ocq_chan *ch = rx->ch;

	if (!ch)
		return;
	rx->ch = NULL;
	if (atomic_fetch_sub_explicit(&ch->receivers, 1, memory_order_acq_rel) == 1)
		ocq_chan_close(ch);
}

/* --- the wait loops ------------------------------------------------------ */

/*
 * Retry op until it stops saying -EAGAIN: spin briefly, then sleep on ec.
 * watch (may be NULL) is an extra wake-up condition: return -EINTR once
 * *watch == watch_val. Returns op's result, -ETIMEDOUT, or -EINTR.
 */
#define OCQ__WAIT_LOOP(rc, op, ec, dl, watch, watch_val)                                       \
	do {                                                                                   \
		struct ocq__backoff b_ = {0};                                                  \
		while ((rc) == -EAGAIN && !ocq__backoff_done(&b_)) {                           \
			ocq__backoff_snooze(&b_);                                              \
			(rc) = (op);                                                           \
			if ((rc) == -EAGAIN && (watch) &&                                      \
			    atomic_load_explicit((watch), memory_order_seq_cst) == (watch_val)) \
				(rc) = -EINTR;                                                 \
		}                                                                              \
		while ((rc) == -EAGAIN) {                                                      \
			uint32_t key_ = ocq_ec_prepare(ec);                                    \
			(rc) = (op);                                                           \
			if ((rc) == -EAGAIN && (watch) &&                                      \
			    atomic_load_explicit((watch), memory_order_seq_cst) == (watch_val))  \
				(rc) = -EINTR;                                                 \
			if ((rc) != -EAGAIN) {                                                 \
				ocq_ec_cancel(ec);                                             \
				break;                                                         \
			}                                                                      \
			if (ocq_ec_wait((ec), key_, (dl)) == -ETIMEDOUT) {                     \
				(rc) = (op);                                                   \
				if ((rc) == -EAGAIN)                                           \
					(rc) = -ETIMEDOUT;                                     \
			}                                                                      \
		}                                                                              \
	} while (0)

OCQ__INLINE int
ocq__chan_push(struct ocq_chan *ch, const struct ocq__cell *c)
{
	return ocq__ring_push(&ch->ring, c, sizeof(*c), ch->sp, true);
}

OCQ__INLINE int
ocq__chan_pop(struct ocq_chan *ch, struct ocq__cell *c)
{
	return ocq__ring_pop(&ch->ring, c, sizeof(*c), ch->sc, true);
}

/*
 * Ordered channels: a sender whose range is not the one being delivered
 * takes a credit first, so what the receiver must hold back stays within
 * the window. Returns 0 (credit or none needed, flag in *seq), OCQ_CLOSED,
 * -EAGAIN (!block), -ETIMEDOUT, or -EINVAL for a sender without a range.
 */
static inline int
ocq__order_gate(struct ocq_tx *tx, uint64_t *seq, const struct timespec *dl, bool block)
{
	struct ocq_chan *ch = tx->ch;

	if (tx->range == OCQ__NO_RANGE)
		return -EINVAL;
	for (;;) {
		uint32_t key;
		int64_t c;

		if (atomic_load_explicit(&ch->head_range, memory_order_seq_cst) == tx->range)
			return 0;
		c = atomic_load_explicit(&ch->credits, memory_order_relaxed);
		while (c > 0) {
			if (atomic_compare_exchange_weak_explicit(&ch->credits, &c, c - 1,
								  memory_order_acq_rel,
								  memory_order_relaxed)) {
				*seq |= OCQ__SEQ_CREDIT;
				return 0;
			}
		}
		if (ocq_chan_is_closed(ch))
			return OCQ_CLOSED;
		if (!block)
			return -EAGAIN;
		key = ocq_ec_prepare(&ch->order_ec);
		if (atomic_load_explicit(&ch->credits, memory_order_seq_cst) > 0 ||
		    atomic_load_explicit(&ch->head_range, memory_order_seq_cst) == tx->range ||
		    ocq_chan_is_closed(ch)) {
			ocq_ec_cancel(&ch->order_ec);
			continue;
		}
		if (ocq_ec_wait(&ch->order_ec, key, dl) == -ETIMEDOUT)
			return -ETIMEDOUT;
	}
}

/* Give back a credit taken for a send that then failed or was delivered. */
static inline void
ocq__credit_return(struct ocq_chan *ch)
{
	atomic_fetch_add_explicit(&ch->credits, 1, memory_order_seq_cst);
	ocq_ec_notify(&ch->order_ec, 1);
}

static inline int
ocq__send(struct ocq_tx *tx, void *item, const struct timespec *dl, bool block)
{
	struct ocq_chan *ch = tx->ch;
	struct ocq__cell c = {item, tx->seq};
	int rc;

	if (OCQ__UNLIKELY(atomic_load_explicit(&ch->window, memory_order_relaxed))) {
		rc = ocq__order_gate(tx, &c.seq, dl, block);
		if (rc)
			return rc;
	}
	rc = ocq__chan_push(ch, &c);
	if (rc == -EAGAIN && block)
		OCQ__WAIT_LOOP(rc, ocq__chan_push(ch, &c), &ch->not_full, dl,
			       (_Atomic uint64_t *)NULL, 0);
	if (OCQ__UNLIKELY(rc)) {
		if (c.seq & OCQ__SEQ_CREDIT)
			ocq__credit_return(ch);
		return rc;
	}
	if (!tx->shared)
		tx->seq++;
	ocq_ec_notify(&ch->not_empty, 1);
	return 0;
}

/* Send without waiting. Returns 0, -EAGAIN (full), or OCQ_CLOSED. */
static inline int
ocq_try_send(struct ocq_tx *tx, void *item)
{
	return ocq__send(tx, item, NULL, false);
}

/* Send, waiting while full. Returns 0 or OCQ_CLOSED (the caller keeps item). */
static inline int
ocq_send(struct ocq_tx *tx, void *item)
{
	return ocq__send(tx, item, NULL, true);
}

/* Send, waiting at most timeout_ns. Returns 0, -ETIMEDOUT or OCQ_CLOSED. */
static inline int
ocq_send_timeout(struct ocq_tx *tx, void *item, uint64_t timeout_ns)
{
	struct timespec dl = ocq_deadline_after(timeout_ns);

	return ocq__send(tx, item, &dl, true);
}

static inline int
ocq__recv(struct ocq_rx *rx, void **item, uint64_t *seq, const struct timespec *dl, bool block)
{
	struct ocq_chan *ch = rx->ch;
	struct ocq__cell c;
	int rc = ocq__chan_pop(ch, &c);

	if (rc == -EAGAIN && block)
		OCQ__WAIT_LOOP(rc, ocq__chan_pop(ch, &c), &ch->not_empty, dl,
			       (_Atomic uint64_t *)NULL, 0);
	if (rc)
		return rc;
	*item = c.ptr;
	if (seq)
		*seq = c.seq & ~OCQ__SEQ_CREDIT;
	ocq_ec_notify(&ch->not_full, 1);
	return 0;
}

/* Receive without waiting. Returns 0, -EAGAIN (empty), or OCQ_CLOSED (closed, drained). */
static inline int
ocq_try_recv(struct ocq_rx *rx, void **item)
{
	return ocq__recv(rx, item, NULL, NULL, false);
}

/* Receive, waiting while empty. Returns 0 or OCQ_CLOSED once closed and drained. */
static inline int
ocq_recv(struct ocq_rx *rx, void **item)
{
	return ocq__recv(rx, item, NULL, NULL, true);
}

/* Receive, waiting at most timeout_ns. Returns 0, -ETIMEDOUT or OCQ_CLOSED. */
static inline int
ocq_recv_timeout(struct ocq_rx *rx, void **item, uint64_t timeout_ns)
{
	struct timespec dl = ocq_deadline_after(timeout_ns);

	return ocq__recv(rx, item, NULL, &dl, true);
}

/* Receive with the item's sequence number (see ocq_chan_with_producers). */
static inline int
ocq_recv_seq(struct ocq_rx *rx, void **item, uint64_t *seq)
{
	return ocq__recv(rx, item, seq, NULL, true);
}

/* --- bursts: one index claim and one wake-up per burst ------------------- */

#define OCQ__BURST_CHUNK 64

static inline long
ocq__send_chunk(struct ocq_tx *tx, void *const *items, size_t n)
{
	struct ocq__cell cells[OCQ__BURST_CHUNK];
	long k;

	if (n > OCQ__BURST_CHUNK)
		n = OCQ__BURST_CHUNK;
	for (size_t i = 0; i < n; i++) {
		cells[i].ptr = items[i];
		cells[i].seq = tx->seq + i;
	}
	k = ocq__ring_push_n(&tx->ch->ring, cells, n, sizeof(cells[0]), tx->ch->sp, true, false);
	return k == 0 ? -EAGAIN : k;
}

/*
 * Send as many of items[0..n) as fit without waiting (block: wait until at
 * least one fits, or until the deadline). Returns the count sent (> 0),
 * -EAGAIN, -ETIMEDOUT or OCQ_CLOSED. Ordered channels send one at a time.
 */
static inline long
ocq__send_burst(struct ocq_tx *tx, void *const *items, size_t n, const struct timespec *dl,
		bool block)
{
	struct ocq_chan *ch = tx->ch;
	long rc, sent = 0;

	if (n == 0)
		return 0;
	if (atomic_load_explicit(&ch->window, memory_order_relaxed)) {
		rc = ocq__send(tx, items[0], dl, block);
		return rc ? rc : 1;
	}
	rc = ocq__send_chunk(tx, items, n);
	if (rc == -EAGAIN && block)
		OCQ__WAIT_LOOP(rc, ocq__send_chunk(tx, items, n), &ch->not_full, dl,
			       (_Atomic uint64_t *)NULL, 0);
	while (rc > 0) {
		sent += rc;
		if (!tx->shared)
			tx->seq += (uint64_t)rc;
		if ((size_t)sent == n || rc < OCQ__BURST_CHUNK)
			break;
		rc = ocq__send_chunk(tx, items + sent, n - (size_t)sent);
	}
	if (sent == 0)
		return rc;
	ocq_ec_notify(&ch->not_empty, (int)(sent < INT_MAX ? sent : INT_MAX));
	return sent;
}

static inline long
ocq_try_send_burst(struct ocq_tx *tx, void *const *items, size_t n)
{
	return ocq__send_burst(tx, items, n, NULL, false);
}

static inline long
ocq_send_burst(struct ocq_tx *tx, void *const *items, size_t n)
{
	return ocq__send_burst(tx, items, n, NULL, true);
}

static inline long
ocq__recv_chunk(struct ocq_chan *ch, void **items, size_t n)
{
	struct ocq__cell cells[OCQ__BURST_CHUNK];
	long k;

	if (n > OCQ__BURST_CHUNK)
		n = OCQ__BURST_CHUNK;
	k = ocq__ring_pop_n(&ch->ring, cells, n, sizeof(cells[0]), ch->sc, true, false);
	for (long i = 0; i < k; i++)
		items[i] = cells[i].ptr;
	return k == 0 ? -EAGAIN : k;
}

/*
 * Receive up to n items without waiting (block: wait for at least one).
 * Returns the count (> 0), -EAGAIN, -ETIMEDOUT, or OCQ_CLOSED once closed
 * and drained.
 */
static inline long
ocq__recv_burst(struct ocq_rx *rx, void **items, size_t n, const struct timespec *dl, bool block)
{
	struct ocq_chan *ch = rx->ch;
	long rc, got = 0;

	if (n == 0)
		return 0;
	rc = ocq__recv_chunk(ch, items, n);
	if (rc == -EAGAIN && block)
		OCQ__WAIT_LOOP(rc, ocq__recv_chunk(ch, items, n), &ch->not_empty, dl,
			       (_Atomic uint64_t *)NULL, 0);
	while (rc > 0) {
		got += rc;
		if ((size_t)got == n || rc < OCQ__BURST_CHUNK)
			break;
		rc = ocq__recv_chunk(ch, items + got, n - (size_t)got);
	}
	if (got == 0)
		return rc;
	ocq_ec_notify(&ch->not_full, (int)(got < INT_MAX ? got : INT_MAX));
	return got;
}

static inline long
ocq_try_recv_burst(struct ocq_rx *rx, void **items, size_t n)
{
	return ocq__recv_burst(rx, items, n, NULL, false);
}

static inline long
ocq_recv_burst(struct ocq_rx *rx, void **items, size_t n)
{
	return ocq__recv_burst(rx, items, n, NULL, true);
}

/* --- event loops: an eventfd per channel end ----------------------------- */

/* The fd that polls readable when items may be waiting. Owned by the channel. */
static inline int
ocq_rx_eventfd(struct ocq_rx *rx)
{
	return ocq_ec_eventfd(&rx->ch->not_empty);
}

/* The fd that polls readable when there may be room to send. */
static inline int
ocq_tx_eventfd(struct ocq_tx *tx)
{
	return ocq_ec_eventfd(&tx->ch->not_full);
}

/*
 * Arm the receive eventfd after ocq_try_recv() said -EAGAIN. Returns 0: wait
 * for the fd (then ocq_eventfd_ack() it and try again); 1: something is
 * ready already, try again now; or -errno if the fd cannot be made.
 */
static inline int
ocq_rx_arm(struct ocq_rx *rx)
{
	struct ocq__ring *r = &rx->ch->ring;
	int fd = ocq_rx_eventfd(rx);
	uint64_t head, tail;

	if (fd < 0)
		return fd;
	ocq_ec_arm(&rx->ch->not_empty);
	head = atomic_load_explicit(&r->head, memory_order_seq_cst);
	tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
	return (tail & r->mark) || (tail & ~r->mark) != head;
}

/* Arm the send eventfd after ocq_try_send() said -EAGAIN; as ocq_rx_arm(). */
static inline int
ocq_tx_arm(struct ocq_tx *tx)
{
	struct ocq__ring *r = &tx->ch->ring;
	int fd = ocq_tx_eventfd(tx);
	uint64_t tail;

	if (fd < 0)
		return fd;
	ocq_ec_arm(&tx->ch->not_full);
	tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
	if (tail & r->mark)
		return 1;
	return atomic_load_explicit(OCQ__STAMP(r, tail & (r->mark - 1)), memory_order_seq_cst) ==
	       tail;
}

/* --- drain_parallel ------------------------------------------------------ */

/* Called once per item by ocq_drain_parallel; a non-zero result is reported. */
typedef int (*ocq_drain_fn)(void *item, void *arg);

struct ocq__drain {
	struct ocq_chan *ch;
	ocq_drain_fn fn;
	void *arg;
	_Atomic int first_err;
};

static inline void *
ocq__drain_thread(void *p)
{
	struct ocq__drain *d = p;
	struct ocq_rx rx;
	void *item;

	if (ocq_rx_open(&rx, d->ch) != 0)
		return NULL;
	while (ocq_recv(&rx, &item) == 0) {
		int err = d->fn(item, d->arg);
		int zero = 0;

		if (err)
			atomic_compare_exchange_strong(&d->first_err, &zero, err);
	}
	ocq_rx_release(&rx);
	return NULL;
}

/*
 * Run n threads that receive from ch and call fn(item, arg) on every item
 * until the channel is closed and empty; returns when all have finished.
 * Every item reaches fn even after an error (so fn can free it). Returns 0,
 * the first non-zero fn result, -EINVAL (n == 0, or n > 1 on a
 * single-consumer channel), or -errno if no thread could be started.
 */
static inline int
ocq_drain_parallel(struct ocq_chan *ch, unsigned n, ocq_drain_fn fn, void *arg)
{
	struct ocq__drain d = {ch, fn, arg, 0};
	pthread_t *tid;
	unsigned started = 0;
	int rc = 0;

	if (n == 0 || (ch->sc && n > 1))
		return -EINVAL;
	tid = calloc(n, sizeof(*tid));
	if (!tid)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		rc = pthread_create(&tid[started], NULL, ocq__drain_thread, &d);
		if (rc)
			break;
		started++;
	}
	if (started == 0) {
		free(tid);
		return -rc;
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	return atomic_load(&d.first_err);
}

#endif /* OCQ_CHAN_H */
