/* SPDX-License-Identifier: MIT */
/*
 * ocpool_idle.h - how a pool's idle workers wait for jobs, and when a submit
 * wakes one. Part of the implementation: ocpool_impl.h includes it; not
 * meant to be included directly.
 *
 * Policy. A worker that finds the queue empty spins only while fewer than
 * spin_max idle workers already spin, polling with ocq's backoff (growing
 * pauses, then a few sched_yield()s, ~10 us); every other idle worker parks
 * at once on a futex. spin_max is the pool's thread count while that fits
 * on the usable CPUs, and CPUs / 2 beyond (one on two CPUs; none on one).
 * A submit wakes nobody while a spinner is there: the spinner takes the job
 * and, if more are queued, applies the wake rule itself. With no spinner, a
 * submit wakes one parked worker per queued job that no wake already issued
 * will take: no herd, and no syscall at all while nobody sleeps. Why: with
 * more workers than CPUs, idle workers that spin or yield take CPU time from
 * the submitter and from the workers that have jobs, every poll pulls the
 * ring's lines away from the submitter, and every wake that finds the job
 * already taken costs two syscalls and a context switch for nothing.
 *
 * Accounting. state holds the sleepers (workers parked or about to park) and
 * the spinners; tokens (the futex word) counts wakes issued and not yet
 * taken. They change only by seq_cst read-modify-writes and the wake rule
 * reads them with seq_cst loads; the ring's publish (a seq_cst exchange on
 * the slot's stamp) and a worker's look at the queue (seq_cst loads) are in
 * the same total order. Two arguments keep a job from being stranded:
 *
 *  - A parker counts itself in state before its last look at the queue,
 *    and the waker loads state after its push: the parker sees the job or
 *    the waker sees the parker (the Dekker pair of ocq_ec.h).
 *  - A worker the wake rule counted on (a spinner, a token's taker) ends
 *    that state, after the waker's load, with a read-modify-write, and
 *    looks at the queue after it (a spinner that gives up parks, which is
 *    a look; a token's taker spins or parks again). If the queue is empty
 *    by then, others took the job. If the worker takes a job, while
 *    spinning or on leaving park, it applies the wake rule itself for
 *    what is left, since several submits may have counted on it.
 *
 * A token can outlive its purpose (issued for a sleeper that was already
 * leaving with a job); the next worker to park takes it and looks at the
 * queue once more: harmless. Shutdown closes the channel, then issues
 * tokens for everyone, so no worker sleeps again and each drains the queue
 * until it reads OCQ_CLOSED.
 *
 * Concurrency contract: init runs alone; the rest from any thread.
 */
#ifndef OCPOOL_IDLE_H
#define OCPOOL_IDLE_H

#include "../ocq/ocq.h"

/* Shutdown's token grant: more than any pool has threads. */
#define OCPOOL__TOKENS_ALL (1u << 30)
/* idle.state: sleepers in the low half, spinners in the high half */
#define OCPOOL__SPINNER	    ((uint64_t)1 << 32)
#define OCPOOL__SLEEPERS(s) ((uint32_t)(s))
#define OCPOOL__SPINNERS(s) ((uint32_t)((s) >> 32))

struct ocpool__idle {
	/* one line, apart from everything hot: a submit loads state, and
	 * reads on only when someone sleeps and nobody spins; workers write
	 * it only on the idle path */
	OCQ__ALIGNED _Atomic uint64_t state;
	_Atomic uint32_t tokens;   /* futex word */
	_Atomic unsigned spin_max; /* see ocpool__idle_threads() */
	unsigned ncpu;
};

static inline void
ocpool__idle_init(struct ocpool__idle *id, unsigned ncpu)
{
	atomic_init(&id->state, 0);
	atomic_init(&id->tokens, 0);
	atomic_init(&id->spin_max, 0);
	id->ncpu = ncpu;
}

/*
 * The pool has `threads` worker threads now: while they fit on the CPUs,
 * each may spin when idle (as many runnable threads as CPUs, the
 * submitter aside); beyond that, only CPUs / 2 at once. One CPU: none.
 * Called under the pool's lock whenever the thread count changes.
 */
static inline void
ocpool__idle_threads(struct ocpool__idle *id, unsigned threads)
{
	unsigned m = id->ncpu < 2 ? 0 : threads <= id->ncpu ? threads : id->ncpu / 2;

	atomic_store_explicit(&id->spin_max, m, memory_order_relaxed);
}

/* Jobs queued, from seq_cst loads so the wake rule's argument holds. */
static inline uint64_t
ocpool__queued(struct ocq_chan *q)
{
	struct ocq__ring *r = &q->ring;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_seq_cst);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst) & ~r->mark;
	uint64_t n = ocq__ring_distance(r, head, tail);

	/* head is read first, so tail is never behind it */
	return n > r->cap ? r->cap : n;
}

/* The wake rule with sleepers and no spinner: one token and one futex wake
 * per queued job that no earlier token will take, and never more than
 * there are sleepers without a token. */
static void
ocpool__idle_wake(struct ocpool__idle *id, struct ocq_chan *q, uint32_t sleepers)
{
	uint32_t tok = atomic_load_explicit(&id->tokens, memory_order_seq_cst);
	uint64_t queued, n;

	if (sleepers <= tok)
		return; /* every sleeper already has a wake on its way */
	queued = ocpool__queued(q);
	if (queued <= tok)
		return;
	n = queued - tok;
	if (n > sleepers - tok)
		n = sleepers - tok;
	atomic_fetch_add_explicit(&id->tokens, (uint32_t)n, memory_order_seq_cst);
	ocq__futex_wake(&id->tokens, (int)n);
}

/*
 * After a push to q: wake parked workers if the rule says so. One load
 * while nobody sleeps or someone spins (the spinner takes the job, then
 * applies the rule for what is left). seq_cst: the waker's half of the
 * Dekker pair with a parker's registration and its look at the queue.
 */
OCQ__INLINE void
ocpool__idle_notify(struct ocpool__idle *id, struct ocq_chan *q)
{
	uint64_t s = atomic_load_explicit(&id->state, memory_order_seq_cst);

	if (OCQ__UNLIKELY(OCPOOL__SLEEPERS(s) != 0) && OCPOOL__SPINNERS(s) == 0)
		ocpool__idle_wake(id, q, OCPOOL__SLEEPERS(s));
}

/* After the channel is closed: wake every parked worker for good. */
static inline void
ocpool__idle_wake_all(struct ocpool__idle *id)
{
	atomic_fetch_add_explicit(&id->tokens, OCPOOL__TOKENS_ALL, memory_order_seq_cst);
	ocq__futex_wake(&id->tokens, INT_MAX);
}

/* Take a spinner's place if fewer than spin_max idle workers spin. */
static inline bool
ocpool__idle_spin_slot(struct ocpool__idle *id)
{
	uint64_t s = atomic_load_explicit(&id->state, memory_order_relaxed);
	unsigned max = atomic_load_explicit(&id->spin_max, memory_order_relaxed);

	while (OCPOOL__SPINNERS(s) < max)
		if (atomic_compare_exchange_weak_explicit(&id->state, &s, s + OCPOOL__SPINNER,
							  memory_order_seq_cst,
							  memory_order_relaxed))
			return true;
	return false;
}

/* Poll the queue with ocq's backoff (growing pauses, then a few
 * sched_yield()s), then give the spinner's place back. Returns 0 with
 * *item, OCQ_CLOSED, or -EAGAIN (nothing came). */
static int
ocpool__idle_spin(struct ocpool__idle *id, struct ocq_chan *q, struct ocq_rx *rx, void **item)
{
	struct ocq__backoff b = {0};
	int rc;

	do {
		ocq__backoff_snooze(&b);
		rc = ocq_try_recv(rx, item);
	} while (rc == -EAGAIN && !ocq__backoff_done(&b));
	atomic_fetch_sub_explicit(&id->state, OCPOOL__SPINNER, memory_order_seq_cst);
	/* a submit may have counted on us for a job other than the one we
	 * took: apply the wake rule for what is left */
	if (rc == 0)
		ocpool__idle_notify(id, q);
	return rc;
}

/* Take one token if there is one. Returns true if it did. */
static inline bool
ocpool__idle_take_token(struct ocpool__idle *id)
{
	uint32_t t = atomic_load_explicit(&id->tokens, memory_order_seq_cst);

	while (t > 0)
		if (atomic_compare_exchange_weak_explicit(
			&id->tokens, &t, t - 1, memory_order_seq_cst, memory_order_relaxed))
			return true;
	return false;
}

/*
 * Sleep until a job, a token, or close. Returns 0 with *item, OCQ_CLOSED,
 * or -EAGAIN (a token taken with the queue empty: the caller waits again).
 * A parker that leaves with a job takes a token if one is out (the wake it
 * stands for may be this parker's, and a token nobody takes would make the
 * rule count on a worker that is gone while the others sleep), and then
 * applies the wake rule for what is left: submits may have counted on it
 * a moment ago as a spinner, or as that token's taker, for other jobs too.
 */
static int
ocpool__idle_park(struct ocpool__idle *id, struct ocq_chan *q, struct ocq_rx *rx, void **item)
{
	bool got = false;
	int rc;

	/* seq_cst: the parker's half of the Dekker pair (see the top) */
	atomic_fetch_add_explicit(&id->state, 1, memory_order_seq_cst);
	for (;;) {
		rc = ocq_try_recv(rx, item);
		if (rc != -EAGAIN) {
			if (rc == 0) {
				ocpool__idle_take_token(id);
				got = true;
			}
			break;
		}
		if (ocpool__idle_take_token(id))
			break; /* rc is -EAGAIN */
		ocq__futex_wait(&id->tokens, 0, NULL);
	}
	atomic_fetch_sub_explicit(&id->state, 1, memory_order_seq_cst);
	if (got)
		ocpool__idle_notify(id, q);
	return rc;
}

/*
 * A worker found the queue empty: spin if a spinner's place is free, else
 * park, until a job comes or the channel is closed and drained. Returns 0
 * with *item, or OCQ_CLOSED.
 */
static int
ocpool__idle_wait(struct ocpool__idle *id, struct ocq_chan *q, struct ocq_rx *rx, void **item)
{
	int rc;

	for (;;) {
		if (ocpool__idle_spin_slot(id) &&
		    (rc = ocpool__idle_spin(id, q, rx, item)) != -EAGAIN)
			return rc;
		if ((rc = ocpool__idle_park(id, q, rx, item)) != -EAGAIN)
			return rc;
	}
}

#endif /* OCPOOL_IDLE_H */
