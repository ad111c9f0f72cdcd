/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_ocq.c - ocq's rings and channels side by side with Concurrency Kit's
 * ck_ring, liburcu's wfcqueue and a textbook mutex + condvar bounded ring,
 * all in one run, so every number shares the machine's state of the moment.
 *
 *   spsc          one producer and one consumer, capacity 1023 and 63
 *   mpmc          1P1C, 2P2C, 4P4C at capacity 1023 (4P4C oversubscribes 2 CPUs)
 *   pair          one thread, push then pop: the uncontended cost of a queue
 *   handoff       two threads ping-pong one item: blocking hand-off latency
 *   handoff idle  the same with a pause per move, so every waiter sleeps
 *
 * Fairness rules, kept in one place so a reader can check them: every queue
 * carries pointer-sized items and holds the same number of them; thread i
 * runs on allowed CPU i % n; every try-style queue gets retry_wait() on full
 * and empty; within a case, round i runs every implementation once, back to
 * back, and ratios pair those runs. Producers send distinct values and
 * consumers add up what they receive, so a queue that drops or duplicates an
 * item fails instead of looking fast. bench/README.md says how to read it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* liburcu's inline fast paths; its header offers them to any caller that
 * accepts the LGPL terms, and they are what a speed-minded user would use */
#define _LGPL_SOURCE

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <ck_ring.h>
#include <urcu/wfcqueue.h>

#include "ocq/ocq.h"
#include "bench_util.h"

#define LINE	    64
#define CAP	    1023 /* items every queue holds; ck_ring needs 1024 slots for it */
#define SMALL_CAP   63
#define MAX_RUNS    25
#define MAX_THREADS 8
#define MAX_RESULTS 48
/* the shared retry policy: this many pause-spins on full/empty, then yield */
#define SPINS 64
/* values sent are 1..n; PILL tells a consumer of a try-style queue to stop.
 * Neither is NULL: ocq_spsc refuses NULL items (NULL marks a free slot). */
#define PILL UINT64_MAX

#define BENCH_INLINE static inline __attribute__((always_inline))
#define VP(v)	     ((void *)(uintptr_t)(v))

extern char **environ;

enum impl {
	IM_OCQ_SPSC,
	IM_OCQ_MPMC,
	IM_OCQ_CHAN,
	IM_CK_SPSC,
	IM_CK_MPMC,
	IM_WFCQ,
	IM_MUTEX,
	IM_FUTEX,
	IM_MUTEX_CV,
	IM_SPIN,
};

/* handoff: back-to-back ping-pong; idle: each side holds the item IDLE_NS
 * first, so a waiting partner has gone to sleep by the time it arrives */
enum kind { K_SPSC, K_MPMC, K_PAIR, K_HANDOFF, K_IDLE };

static const char *const kind_name[] = {"spsc", "mpmc", "pair", "handoff", "handoff idle"};

#define IDLE_NS 20000

/* --- the shared retry policy ---------------------------------------------- */

struct retry {
	unsigned n;
};


/* Yielding matters: at 4P4C on 2 CPUs the thread we wait for may be queued
 * behind us on our own CPU. */
BENCH_INLINE void
retry_wait(struct retry *r)
{
	if (r->n < SPINS) {
		r->n++;
		cpu_pause();
	} else {
		sched_yield();
	}
}

/* --- the peers that are not libraries ------------------------------------- */

/* The classic blocking bounded buffer: one lock, two condition variables. */
struct mutex_ring {
	pthread_mutex_t lock;
	pthread_cond_t not_full;
	pthread_cond_t not_empty;
	void **slots;
	size_t cap;
	size_t head;
	size_t count;
};

static int
mr_init(struct mutex_ring *m, size_t cap)
{
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	m->cap = cap;
	m->head = 0;
	m->count = 0;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->not_full, NULL);
	pthread_cond_init(&m->not_empty, NULL);
	return 0;
}

static void
mr_destroy(struct mutex_ring *m)
{
	pthread_cond_destroy(&m->not_empty);
	pthread_cond_destroy(&m->not_full);
	pthread_mutex_destroy(&m->lock);
	free(m->slots);
}

static void
mr_push(struct mutex_ring *m, void *p)
{
	size_t i;

	pthread_mutex_lock(&m->lock);
	while (m->count == m->cap)
		pthread_cond_wait(&m->not_full, &m->lock);
	i = m->head + m->count;
	if (i >= m->cap)
		i -= m->cap;
	m->slots[i] = p;
	m->count++;
	pthread_mutex_unlock(&m->lock);
	/* after the unlock, so the woken consumer does not block on the lock */
	pthread_cond_signal(&m->not_empty);
}

static void *
mr_pop(struct mutex_ring *m)
{
	void *p;

	pthread_mutex_lock(&m->lock);
	while (m->count == 0)
		pthread_cond_wait(&m->not_empty, &m->lock);
	p = m->slots[m->head];
	if (++m->head == m->cap)
		m->head = 0;
	m->count--;
	pthread_mutex_unlock(&m->lock);
	pthread_cond_signal(&m->not_full);
	return p;
}

/* wfcqueue links nodes, so an item is a node carrying the value. */
struct wfcq_item {
	struct cds_wfcq_node node;
	uint64_t value;
};

/* --- one run's state ------------------------------------------------------ */

struct queue {
	_Alignas(LINE) struct ocq_spsc spsc;
	_Alignas(LINE) struct ocq_mpmc mpmc;
	_Alignas(LINE) struct ck_ring ck;
	struct ck_ring_buffer *ck_buf;
	/* wfcqueue.h asks for head and tail on separate lines under contention */
	_Alignas(LINE) struct cds_wfcq_head wq_head;
	_Alignas(LINE) struct cds_wfcq_tail wq_tail;
	_Alignas(LINE) struct mutex_ring mr;
	struct ocq_chan *ch;
	struct ocq_tx *tx;
	struct ocq_rx rx; /* the pair case's receiver */
};

/* A ping-pong side's sender; each on its own line, as sends write it. */
struct pp_sender {
	_Alignas(LINE) struct ocq_tx tx;
};

/* The ping-pong partners' shared state; [0] carries A to B, [1] B to A. */
struct pingpong {
	uint64_t delay_ns; /* think time per move (the idle variant) */
	struct ocq_chan *ch[2];
	_Alignas(LINE) _Atomic uint32_t turn;
	_Alignas(LINE) pthread_mutex_t lock;
	pthread_cond_t cv[2];
	unsigned cv_turn;
	struct pp_sender side[2];
};

struct run;

struct worker {
	_Alignas(LINE) struct run *run;
	unsigned index; /* producer or consumer number */
	uint64_t first; /* producer: sends first .. first + count - 1 */
	uint64_t count;
	uint64_t sent;		 /* producer: how many it sent before the end or a stop */
	struct wfcq_item *nodes; /* wfcqueue producer: preallocated nodes */
	size_t nnodes;
	size_t next_node;
	uint64_t sum; /* consumer: what it received */
	uint64_t got;
	uint64_t disorder; /* values not above the previous one */
	int err;
	struct timespec t0;
	struct timespec t1;
	struct ocq_rx rx;
};

struct run {
	struct queue q;
	struct pingpong pp;
	unsigned producers;
	unsigned consumers;
	uint64_t items; /* stream: values sent; handoff: round trips */
	pthread_barrier_t start;
	_Alignas(LINE) atomic_uint producers_left;
	/* set when a run outlives its time cap: producers stop early */
	_Alignas(LINE) atomic_bool stop;
	struct worker w[MAX_THREADS];
};

static void
worker_begin(struct worker *w)
{
	pthread_barrier_wait(&w->run->start);
	clock_gettime(CLOCK_MONOTONIC, &w->t0);
}

static void
worker_end(struct worker *w)
{
	clock_gettime(CLOCK_MONOTONIC, &w->t1);
}

/* --- queue operations, one inline pair per try-style queue ----------------- */

/* push: 0, -EAGAIN when full, or another -errno when the item is refused.
 * pop: 0 with *v set, or nonzero when empty. */
typedef int (*push_fn)(struct queue *q, struct worker *w, uint64_t v);
typedef int (*pop_fn)(struct queue *q, uint64_t *v);

BENCH_INLINE int
push_ocq_spsc(struct queue *q, struct worker *w, uint64_t v)
{
	(void)w;
	return ocq_spsc_try_push(&q->spsc, VP(v));
}

BENCH_INLINE int
pop_ocq_spsc(struct queue *q, uint64_t *v)
{
	void *p;

	if (ocq_spsc_try_pop(&q->spsc, &p))
		return -EAGAIN;
	*v = (uintptr_t)p;
	return 0;
}

BENCH_INLINE int
push_ocq_mpmc(struct queue *q, struct worker *w, uint64_t v)
{
	(void)w;
	return ocq_mpmc_try_push(&q->mpmc, VP(v));
}

BENCH_INLINE int
pop_ocq_mpmc(struct queue *q, uint64_t *v)
{
	void *p;

	if (ocq_mpmc_try_pop(&q->mpmc, &p))
		return -EAGAIN;
	*v = (uintptr_t)p;
	return 0;
}

BENCH_INLINE int
push_ck_spsc(struct queue *q, struct worker *w, uint64_t v)
{
	(void)w;
	return ck_ring_enqueue_spsc(&q->ck, q->ck_buf, VP(v)) ? 0 : -EAGAIN;
}

BENCH_INLINE int
pop_ck_spsc(struct queue *q, uint64_t *v)
{
	void *p;

	if (!ck_ring_dequeue_spsc(&q->ck, q->ck_buf, &p))
		return -EAGAIN;
	*v = (uintptr_t)p;
	return 0;
}

BENCH_INLINE int
push_ck_mpmc(struct queue *q, struct worker *w, uint64_t v)
{
	(void)w;
	return ck_ring_enqueue_mpmc(&q->ck, q->ck_buf, VP(v)) ? 0 : -EAGAIN;
}

BENCH_INLINE int
pop_ck_mpmc(struct queue *q, uint64_t *v)
{
	void *p;

	if (!ck_ring_dequeue_mpmc(&q->ck, q->ck_buf, &p))
		return -EAGAIN;
	*v = (uintptr_t)p;
	return 0;
}

/* The producer fills in a node it owns, as a real sender fills a message. */
BENCH_INLINE int
push_wfcq(struct queue *q, struct worker *w, uint64_t v)
{
	struct wfcq_item *it = &w->nodes[w->next_node];

	if (++w->next_node == w->nnodes)
		w->next_node = 0;
	it->value = v;
	cds_wfcq_node_init(&it->node);
	cds_wfcq_enqueue(&q->wq_head, &q->wq_tail, &it->node);
	return 0;
}

/* cds_wfcq_dequeue_blocking() takes the queue's own dequeue mutex; it returns
 * NULL when empty and only "blocks" on an enqueuer that is mid-append. */
BENCH_INLINE int
pop_wfcq(struct queue *q, uint64_t *v)
{
	struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&q->wq_head, &q->wq_tail);

	if (!n)
		return -EAGAIN;
	*v = ((struct wfcq_item *)((char *)n - offsetof(struct wfcq_item, node)))->value;
	return 0;
}

/* The mutex ring blocks instead of failing, so the retry loops never spin. */
BENCH_INLINE int
push_mutex(struct queue *q, struct worker *w, uint64_t v)
{
	(void)w;
	mr_push(&q->mr, VP(v));
	return 0;
}

BENCH_INLINE int
pop_mutex(struct queue *q, uint64_t *v)
{
	*v = (uintptr_t)mr_pop(&q->mr);
	return 0;
}

/* --- generic loops, inlined into each queue's thread function ------------- */

BENCH_INLINE void
produce(struct worker *w, push_fn push)
{
	struct queue *q = &w->run->q;
	struct retry r = {0};
	uint64_t v, end = w->first + w->count;
	int rc;

	for (v = w->first; v < end; v++) {
		if (atomic_load_explicit(&w->run->stop, memory_order_relaxed))
			break;
		while ((rc = push(q, w, v)) == -EAGAIN)
			retry_wait(&r);
		if (rc) {
			/* a queue that refuses an item fails the run */
			w->err = rc;
			break;
		}
		r.n = 0;
	}
	w->sent = v - w->first;
	/* The last producer out sends one pill per consumer. Every other
	 * producer's pushes returned before its decrement, so in a FIFO queue
	 * all real items sit ahead of the pills. */
	if (atomic_fetch_sub_explicit(&w->run->producers_left, 1, memory_order_acq_rel) == 1) {
		for (unsigned c = 0; c < w->run->consumers; c++) {
			while (push(q, w, PILL) == -EAGAIN)
				retry_wait(&r);
			r.n = 0;
		}
	}
}

BENCH_INLINE void
consume(struct worker *w, pop_fn pop)
{
	struct queue *q = &w->run->q;
	struct retry r = {0};
	uint64_t v, last = 0, sum = 0, got = 0, disorder = 0;

	for (;;) {
		if (pop(q, &v)) {
			retry_wait(&r);
			continue;
		}
		r.n = 0;
		if (v == PILL)
			break;
		disorder += v <= last;
		last = v;
		sum += v;
		got++;
	}
	w->sum = sum;
	w->got = got;
	w->disorder = disorder;
}

/* n push-then-pop pairs on one thread; -EIO if a value came back wrong. */
BENCH_INLINE int
pairs(struct queue *q, struct worker *w, uint64_t n, push_fn push, pop_fn pop)
{
	uint64_t v, sum = 0;

	for (uint64_t i = 1; i <= n; i++) {
		if (push(q, w, i) || pop(q, &v))
			return -EIO;
		sum += v;
	}
	return sum == n * (n + 1) / 2 ? 0 : -EIO;
}

#define TRY_QUEUE(name)                                                                            \
	static void *name##_producer(void *arg)                                                    \
	{                                                                                          \
		worker_begin(arg);                                                                 \
		produce(arg, push_##name);                                                         \
		worker_end(arg);                                                                   \
		return NULL;                                                                       \
	}                                                                                          \
	static void *name##_consumer(void *arg)                                                    \
	{                                                                                          \
		worker_begin(arg);                                                                 \
		consume(arg, pop_##name);                                                          \
		worker_end(arg);                                                                   \
		return NULL;                                                                       \
	}                                                                                          \
	static int name##_pairs(struct queue *q, struct worker *w, uint64_t n)                     \
	{                                                                                          \
		return pairs(q, w, n, push_##name, pop_##name);                                    \
	}

TRY_QUEUE(ocq_spsc)
TRY_QUEUE(ocq_mpmc)
TRY_QUEUE(ck_spsc)
TRY_QUEUE(ck_mpmc)
TRY_QUEUE(wfcq)
TRY_QUEUE(mutex)

/* --- the ocq channel: blocking, and closed by the last sender ------------- */

static void *
chan_producer(void *arg)
{
	struct worker *w = arg;
	/* used in place, in the array ocq_chan_with_producers() filled */
	struct ocq_tx *tx = &w->run->q.tx[w->index];
	uint64_t v, end = w->first + w->count;

	worker_begin(w);
	for (v = w->first; v < end; v++) {
		int rc;

		if (atomic_load_explicit(&w->run->stop, memory_order_relaxed))
			break;
		rc = ocq_send(tx, VP(v));
		if (rc) {
			w->err = rc;
			break;
		}
	}
	w->sent = v - w->first;
	/* the last release closes the channel: the consumers' end of stream */
	ocq_tx_release(tx);
	worker_end(w);
	return NULL;
}

static void *
chan_consumer(void *arg)
{
	struct worker *w = arg;
	uint64_t last = 0, sum = 0, got = 0, disorder = 0;
	void *p;
	int rc;

	worker_begin(w);
	while ((rc = ocq_recv(&w->rx, &p)) == 0) {
		uint64_t v = (uintptr_t)p;

		disorder += v <= last;
		last = v;
		sum += v;
		got++;
	}
	worker_end(w);
	if (rc != OCQ_CLOSED)
		w->err = rc;
	ocq_rx_release(&w->rx);
	w->sum = sum;
	w->got = got;
	w->disorder = disorder;
	return NULL;
}

static int
chan_pairs(struct queue *q, struct worker *w, uint64_t n)
{
	uint64_t sum = 0;
	void *p;

	(void)w;
	for (uint64_t i = 1; i <= n; i++) {
		if (ocq_send(&q->tx[0], VP(i)) || ocq_recv(&q->rx, &p))
			return -EIO;
		sum += (uintptr_t)p;
	}
	return sum == n * (n + 1) / 2 ? 0 : -EIO;
}

/* --- hand-off ping-pong: side A starts each round trip, B echoes ---------- */

/* Hold the item ns nanoseconds (busy, so only the partner sleeps). */
static void
think(uint64_t ns)
{
	struct timespec t0, t;

	if (!ns)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		cpu_pause();
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((uint64_t)((t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec)) < ns);
}

static void
futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void
futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* turn names whose move it is (0: A, 1: B). sleep: the raw futex pair,
 * which sleeps at once and always wakes; else pure spinning, the hardware's
 * floor for a hand-off between these two CPUs. */
static void
await_turn(_Atomic uint32_t *turn, uint32_t me, bool sleep)
{
	uint32_t v;

	while ((v = atomic_load_explicit(turn, memory_order_acquire)) != me) {
		if (sleep)
			futex_wait(turn, v);
		else
			cpu_pause();
	}
}

static void
give_turn(_Atomic uint32_t *turn, uint32_t to, bool sleep)
{
	atomic_store_explicit(turn, to, memory_order_release);
	if (sleep)
		futex_wake(turn);
}

static void
turn_side(struct worker *w, uint32_t me, bool sleep)
{
	struct pingpong *pp = &w->run->pp;

	worker_begin(w);
	for (uint64_t i = 0; i < w->run->items; i++) {
		if (me == 0) {
			give_turn(&pp->turn, 1, sleep);
			await_turn(&pp->turn, 0, sleep);
			think(pp->delay_ns);
		} else {
			await_turn(&pp->turn, 1, sleep);
			think(pp->delay_ns);
			give_turn(&pp->turn, 0, sleep);
		}
	}
	worker_end(w);
}

static void *
futex_a(void *arg)
{
	turn_side(arg, 0, true);
	return NULL;
}

static void *
futex_b(void *arg)
{
	turn_side(arg, 1, true);
	return NULL;
}

static void *
spin_a(void *arg)
{
	turn_side(arg, 0, false);
	return NULL;
}

static void *
spin_b(void *arg)
{
	turn_side(arg, 1, false);
	return NULL;
}

/* The waiting side sits in pthread_cond_wait, which drops the lock, so
 * thinking with the lock held delays nobody. */
static void
cv_side(struct worker *w, unsigned me)
{
	struct pingpong *pp = &w->run->pp;

	worker_begin(w);
	pthread_mutex_lock(&pp->lock);
	for (uint64_t i = 0; i < w->run->items; i++) {
		if (me == 0) {
			pp->cv_turn = 1;
			pthread_cond_signal(&pp->cv[1]);
		}
		while (pp->cv_turn != me)
			pthread_cond_wait(&pp->cv[me], &pp->lock);
		think(pp->delay_ns);
		if (me == 1) {
			pp->cv_turn = 0;
			pthread_cond_signal(&pp->cv[0]);
		}
	}
	pthread_mutex_unlock(&pp->lock);
	worker_end(w);
}

static void *
cv_a(void *arg)
{
	cv_side(arg, 0);
	return NULL;
}

static void *
cv_b(void *arg)
{
	cv_side(arg, 1);
	return NULL;
}

/* Side `me` sends on channel me and receives on the other; A checks the echo. */
static void
chan_side(struct worker *w, unsigned me)
{
	struct pingpong *pp = &w->run->pp;
	void *p;

	worker_begin(w);
	for (uint64_t i = 1; i <= w->run->items && !w->err; i++) {
		if (me == 0) {
			if (ocq_send(&pp->side[0].tx, VP(i)) || ocq_recv(&w->rx, &p) || p != VP(i))
				w->err = -EIO;
			think(pp->delay_ns);
		} else {
			if (ocq_recv(&w->rx, &p))
				w->err = -EIO;
			think(pp->delay_ns);
			if (ocq_send(&pp->side[1].tx, p))
				w->err = -EIO;
		}
	}
	worker_end(w);
	ocq_tx_release(&pp->side[me].tx);
	ocq_rx_release(&w->rx);
}

static void *
chan_a(void *arg)
{
	chan_side(arg, 0);
	return NULL;
}

static void *
chan_b(void *arg)
{
	chan_side(arg, 1);
	return NULL;
}

/* --- the table of implementations ----------------------------------------- */

struct impl_desc {
	const char *name;
	void *(*producer)(void *);
	void *(*consumer)(void *);
	int (*pairs)(struct queue *q, struct worker *w, uint64_t n);
	void *(*ping)(void *); /* hand-off side A, which starts each round trip */
	void *(*pong)(void *); /* hand-off side B, which echoes */
};

#define STREAM(n, q)                                                                               \
	.name = n, .producer = q##_producer, .consumer = q##_consumer, .pairs = q##_pairs

static const struct impl_desc impls[] = {
    [IM_OCQ_SPSC] = {STREAM("ocq_spsc", ocq_spsc)},
    [IM_OCQ_MPMC] = {STREAM("ocq_mpmc", ocq_mpmc)},
    [IM_OCQ_CHAN] = {STREAM("ocq_chan", chan), .ping = chan_a, .pong = chan_b},
    [IM_CK_SPSC] = {STREAM("ck_ring_spsc", ck_spsc)},
    [IM_CK_MPMC] = {STREAM("ck_ring_mpmc", ck_mpmc)},
    [IM_WFCQ] = {STREAM("wfcqueue", wfcq)},
    [IM_MUTEX] = {STREAM("mutex_ring", mutex)},
    [IM_FUTEX] = {.name = "futex", .ping = futex_a, .pong = futex_b},
    [IM_MUTEX_CV] = {.name = "mutex_cv", .ping = cv_a, .pong = cv_b},
    [IM_SPIN] = {.name = "spin", .ping = spin_a, .pong = spin_b},
};

/* ncpu: CPUs allowed. Pure spinning needs the partner on another CPU. */
static bool
impl_available(enum kind k, enum impl im, unsigned ncpu)
{
	if (im == IM_SPIN && ncpu < 2)
		return false;
	if (k == K_HANDOFF || k == K_IDLE)
		return impls[im].ping != NULL;
	return k == K_PAIR ? impls[im].pairs != NULL : impls[im].producer != NULL;
}

static int
queue_init(struct queue *q, enum impl im, size_t cap, unsigned producers)
{
	unsigned slots = 1;
	int rc;

	switch (im) {
	case IM_OCQ_SPSC:
		return ocq_spsc_init(&q->spsc, cap);
	case IM_OCQ_MPMC:
		return ocq_mpmc_init(&q->mpmc, cap);
	case IM_CK_SPSC:
	case IM_CK_MPMC:
		/* a ck_ring of 2^k slots holds 2^k - 1 items */
		while (slots < cap + 1)
			slots <<= 1;
		q->ck_buf = aligned_alloc(LINE, slots * sizeof(*q->ck_buf));
		if (!q->ck_buf)
			return -ENOMEM;
		memset(q->ck_buf, 0, slots * sizeof(*q->ck_buf));
		ck_ring_init(&q->ck, slots);
		return 0;
	case IM_WFCQ:
		cds_wfcq_init(&q->wq_head, &q->wq_tail);
		return 0;
	case IM_MUTEX:
		return mr_init(&q->mr, cap);
	case IM_OCQ_CHAN:
		if ((rc = ocq_chan_create(&q->ch, OCQ_MPMC, cap)))
			return rc;
		q->tx = calloc(producers, sizeof(*q->tx));
		if (!q->tx || (rc = ocq_chan_with_producers(q->ch, producers, q->tx))) {
			free(q->tx);
			ocq_chan_destroy(q->ch);
			return rc ? rc : -ENOMEM;
		}
		return 0;
	default:
		return -ENOTSUP;
	}
}

static void
queue_destroy(struct queue *q, enum impl im)
{
	switch (im) {
	case IM_OCQ_SPSC:
		ocq_spsc_destroy(&q->spsc);
		break;
	case IM_OCQ_MPMC:
		ocq_mpmc_destroy(&q->mpmc);
		break;
	case IM_CK_SPSC:
	case IM_CK_MPMC:
		free(q->ck_buf);
		break;
	case IM_WFCQ:
		cds_wfcq_destroy(&q->wq_head, &q->wq_tail);
		break;
	case IM_MUTEX:
		mr_destroy(&q->mr);
		break;
	case IM_OCQ_CHAN:
		ocq_chan_destroy(q->ch);
		free(q->tx);
		break;
	default:
		break;
	}
}

/* --- session state, results ----------------------------------------------- */

struct spec {
	enum kind kind;
	enum impl impl;
	unsigned producers;
	unsigned consumers;
	size_t cap;
	uint64_t delay_ns; /* hand-off think time per move */
};

struct result {
	struct spec s;
	char label[24];
	uint64_t n; /* items, pairs or round trips per run */
	unsigned nruns;
	unsigned capped;    /* runs stopped by the time cap */
	double v[MAX_RUNS]; /* Mops/s (spsc, mpmc) or ns (pair, handoff) */
	double med, min, max;
	const char *error; /* NULL when measured */
};

struct bench {
	int cpus[CPU_SETSIZE]; /* the CPUs this process may use, in order */
	unsigned ncpu;
	cpu_set_t mask;
	unsigned runs;
	bool quick;
	double target_s; /* wanted duration of one measured run */
	double cap_s;	 /* a stream run longer than this is stopped early */
	const char *out;
	struct result res[MAX_RESULTS];
	unsigned nres;
	double probe_ns[K_IDLE + 1]; /* host check before each section */
	double others[K_IDLE + 1];   /* share of our CPUs other processes took */
	double busy0, own0, wall0;   /* /proc/stat, getrusage, clock at section start */
	unsigned failures;
};

static void
die(const char *what, int err)
{
	fprintf(stderr, "bench_ocq: %s: %s\n", what, strerror(err));
	exit(1);
}

static double
ts_sec(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec * 1e-9;
}

static struct run *
run_alloc(void)
{
	size_t size = (sizeof(struct run) + LINE - 1) & ~(size_t)(LINE - 1);
	struct run *run = aligned_alloc(LINE, size);

	if (!run)
		die("allocating a run", ENOMEM);
	memset(run, 0, size);
	return run;
}

/* Start thread `slot` on allowed CPU slot % ncpu, pinned before it runs. */
static void
spawn_pinned(const struct bench *b, pthread_t *tid, unsigned slot, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int rc;

	CPU_ZERO(&set);
	CPU_SET(b->cpus[slot % b->ncpu], &set);
	pthread_attr_init(&attr);
	rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (!rc)
		rc = pthread_create(tid, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc)
		die("starting a thread", rc);
}

/*
 * Run the producers on `first` and the consumers (or hand-off sides A and B)
 * to the end; the wall time from the first thread's start to the last
 * thread's finish. A run still going after cap_s seconds (0: no cap) is
 * told to stop early and *capped is set; its rate then counts what moved.
 */
static double
run_threads(const struct bench *b, struct run *run, void *(*first)(void *), void *(*second)(void *),
	    double cap_s, bool *capped)
{
	unsigned n = run->producers + run->consumers;
	pthread_t tid[MAX_THREADS];
	double t0 = 1e300, t1 = 0;
	struct timespec dl;

	pthread_barrier_init(&run->start, NULL, n);
	for (unsigned i = 0; i < n; i++) {
		run->w[i].run = run;
		spawn_pinned(b, &tid[i], i, i < run->producers ? first : second, &run->w[i]);
	}
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += (time_t)cap_s;
	dl.tv_nsec += (long)((cap_s - (double)(time_t)cap_s) * 1e9);
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	*capped = false;
	for (unsigned i = 0; i < n; i++) {
		int rc = -1;

		if (cap_s > 0 && !*capped)
			rc = pthread_timedjoin_np(tid[i], NULL, &dl);
		if (rc == ETIMEDOUT) {
			atomic_store_explicit(&run->stop, true, memory_order_relaxed);
			*capped = true;
		}
		if (rc != 0)
			pthread_join(tid[i], NULL);
		if (ts_sec(&run->w[i].t0) < t0)
			t0 = ts_sec(&run->w[i].t0);
		if (ts_sec(&run->w[i].t1) > t1)
			t1 = ts_sec(&run->w[i].t1);
	}
	pthread_barrier_destroy(&run->start);
	return t1 - t0;
}

/* What one run did: its wall time, and the items, pairs or trips it moved. */
struct sample {
	double secs;
	uint64_t moved;
	bool capped;
};

/* One stream run of n values; checks that each one sent arrived exactly once. */
static int
measure_stream(const struct bench *b, const struct spec *s, uint64_t n, struct sample *out,
	       const char **why)
{
	struct run *run = run_alloc();
	uint64_t per = n / s->producers, sum = 0, got = 0, sent = 0, want = 0;
	unsigned np = s->producers, nc = s->consumers;
	int rc;

	run->producers = np;
	run->consumers = nc;
	run->items = per * np;
	atomic_init(&run->producers_left, np);
	rc = queue_init(&run->q, s->impl, s->cap, np);
	if (rc) {
		*why = "queue setup failed";
		free(run);
		return rc;
	}
	for (unsigned p = 0; p < np; p++) {
		struct worker *w = &run->w[p];

		w->index = p;
		w->first = 1 + p * per;
		w->count = per;
		if (s->impl == IM_WFCQ) {
			/* touched now, so page faults stay out of the timing */
			w->nnodes = per + nc;
			w->nodes = malloc(w->nnodes * sizeof(*w->nodes));
			if (!w->nodes)
				die("allocating wfcqueue nodes", ENOMEM);
			memset(w->nodes, 0, w->nnodes * sizeof(*w->nodes));
		}
	}
	for (unsigned c = 0; c < nc; c++) {
		struct worker *w = &run->w[np + c];

		w->index = c;
		if (s->impl == IM_OCQ_CHAN && (rc = ocq_rx_open(&w->rx, run->q.ch)))
			die("ocq_rx_open", -rc);
	}
	out->secs = run_threads(b, run, impls[s->impl].producer, impls[s->impl].consumer, b->cap_s,
				&out->capped);
	for (unsigned i = 0; i < np + nc; i++) {
		struct worker *w = &run->w[i];

		if (w->err) {
			rc = w->err;
			*why = "a send or receive failed";
		}
		if (i < np) {
			/* first + (first + 1) + ... + (first + sent - 1) */
			sent += w->sent;
			want += w->sent * w->first + w->sent * (w->sent - 1) / 2;
		} else {
			sum += w->sum;
			got += w->got;
			if (np == 1 && w->disorder) {
				rc = -EIO;
				*why = "items from one producer arrived out of order";
			}
		}
		free(w->nodes);
	}
	out->moved = got;
	if (!rc && (got != sent || sum != want)) {
		rc = -EIO;
		*why = "consumers did not receive each item exactly once";
	}
	queue_destroy(&run->q, s->impl);
	free(run);
	return rc;
}

/* One thread, n push-pop pairs, on the first allowed CPU. */
static int
measure_pairs(const struct bench *b, const struct spec *s, uint64_t n, struct sample *out,
	      const char **why)
{
	struct run *run = run_alloc();
	struct worker *w = &run->w[0];
	struct timespec t0, t1;
	cpu_set_t set;
	int rc;

	rc = queue_init(&run->q, s->impl, s->cap, 1);
	if (rc) {
		*why = "queue setup failed";
		free(run);
		return rc;
	}
	w->run = run;
	w->nnodes = 64;
	w->nodes = calloc(w->nnodes, sizeof(*w->nodes));
	if (!w->nodes)
		die("allocating wfcqueue nodes", ENOMEM);
	if (s->impl == IM_OCQ_CHAN && (rc = ocq_rx_open(&run->q.rx, run->q.ch)))
		die("ocq_rx_open", -rc);
	CPU_ZERO(&set);
	CPU_SET(b->cpus[0], &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = impls[s->impl].pairs(&run->q, w, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_setaffinity_np(pthread_self(), sizeof(b->mask), &b->mask);
	if (rc)
		*why = "a pair returned the wrong value";
	out->secs = ts_sec(&t1) - ts_sec(&t0);
	out->moved = n;
	if (s->impl == IM_OCQ_CHAN) {
		ocq_tx_release(&run->q.tx[0]);
		ocq_rx_release(&run->q.rx);
	}
	free(w->nodes);
	queue_destroy(&run->q, s->impl);
	free(run);
	return rc;
}

/* Two threads on different CPUs, n round trips. */
static int
measure_handoff(const struct bench *b, const struct spec *s, uint64_t n, struct sample *out,
		const char **why)
{
	struct run *run = run_alloc();
	struct pingpong *pp = &run->pp;
	int rc = 0;

	run->producers = 1;
	run->consumers = 1;
	run->items = n;
	pp->delay_ns = s->delay_ns;
	atomic_init(&pp->turn, 0);
	pthread_mutex_init(&pp->lock, NULL);
	pthread_cond_init(&pp->cv[0], NULL);
	pthread_cond_init(&pp->cv[1], NULL);
	if (s->impl == IM_OCQ_CHAN) {
		/* capacity 1: every send waits for the partner, nothing batches */
		for (unsigned i = 0; i < 2; i++) {
			if ((rc = ocq_chan_create(&pp->ch[i], OCQ_SPSC, 1)) ||
			    (rc = ocq_chan_with_producers(pp->ch[i], 1, &pp->side[i].tx)))
				die("creating the ping-pong channels", -rc);
		}
		/* A receives on channel 1, B on channel 0 */
		if ((rc = ocq_rx_open(&run->w[0].rx, pp->ch[1])) ||
		    (rc = ocq_rx_open(&run->w[1].rx, pp->ch[0])))
			die("ocq_rx_open", -rc);
	}
	/* no cap: both sides count the same number of round trips */
	out->secs = run_threads(b, run, impls[s->impl].ping, impls[s->impl].pong, 0, &out->capped);
	out->moved = n;
	if (run->w[0].err || run->w[1].err) {
		rc = -EIO;
		*why = "the echoed item was wrong";
	}
	if (s->impl == IM_OCQ_CHAN) {
		ocq_chan_destroy(pp->ch[0]);
		ocq_chan_destroy(pp->ch[1]);
	}
	pthread_cond_destroy(&pp->cv[1]);
	pthread_cond_destroy(&pp->cv[0]);
	pthread_mutex_destroy(&pp->lock);
	free(run);
	return rc;
}

static int
measure(const struct bench *b, const struct spec *s, uint64_t n, struct sample *out,
	const char **why)
{
	memset(out, 0, sizeof(*out));
	switch (s->kind) {
	case K_PAIR:
		return measure_pairs(b, s, n, out, why);
	case K_HANDOFF:
	case K_IDLE:
		return measure_handoff(b, s, n, out, why);
	default:
		return measure_stream(b, s, n, out, why);
	}
}

/* The reported number: Mops/s for streams, ns for pairs and one-way hand-offs. */
static double
value_of(const struct spec *s, const struct sample *x)
{
	double n = x->moved ? (double)x->moved : 1;

	switch (s->kind) {
	case K_PAIR:
		return x->secs * 1e9 / n;
	case K_HANDOFF:
	case K_IDLE:
		/* a round trip is two hand-offs and two think times */
		return (x->secs * 1e9 / n - 2.0 * (double)s->delay_ns) / 2.0;
	default:
		return n / x->secs / 1e6;
	}
}

static uint64_t
max_count(const struct spec *s)
{
	if (s->kind == K_HANDOFF || s->kind == K_IDLE)
		return (uint64_t)1 << 22;
	/* each item in flight is a 16-byte node, and all of them may be */
	if (s->impl == IM_WFCQ && s->kind != K_PAIR)
		return (uint64_t)8 << 20;
	return (uint64_t)1 << 28;
}

/* n rounded down to two significant digits and to a multiple of m. */
static uint64_t
round_count(uint64_t n, unsigned m)
{
	uint64_t scale = 1;

	while (n >= 100 * scale)
		scale *= 10;
	n = n / scale * scale;
	n -= n % m;
	return n ? n : m;
}

/*
 * Find the count that makes one run last about target_s: grow it until a run
 * takes an eighth of that (or hits the cap), then scale by the best rate
 * seen. The best, because a queue that sometimes stalls (ck_ring's MPMC
 * convoy) must still get runs as long as the others', and so the same
 * chance to stall in them. These runs are the warm-up.
 */
static int
calibrate(const struct bench *b, const struct spec *s, uint64_t *count, const char **why)
{
	uint64_t floor = s->kind >= K_HANDOFF ? 500 : 65000, n = floor, cap = max_count(s);
	unsigned m = s->producers ? s->producers : 1;
	double rate = 0, want;
	struct sample x;
	int rc;

	for (;;) {
		rc = measure(b, s, n, &x, why);
		if (rc)
			return rc;
		if (x.secs > 1e-3 && (double)x.moved / x.secs > rate)
			rate = (double)x.moved / x.secs;
		if (x.capped || x.secs >= b->target_s / 8 || n >= cap)
			break;
		n = round_count(n * 4, m);
	}
	want = rate * b->target_s;
	n = want > (double)cap ? cap : want < (double)floor ? floor : (uint64_t)want;
	*count = round_count(n, m);
	return 0;
}



static void
summarize(struct result *r)
{
	double v[MAX_RUNS];

	memcpy(v, r->v, r->nruns * sizeof(*v));
	r->med = median(v, r->nruns);
	r->min = v[0];
	r->max = v[r->nruns - 1];
}

/* --- comparisons and targets ---------------------------------------------- */

/* Rows compared: ratio = ocq's value / the peer's, within one case. */
struct cmp {
	enum kind kind;
	enum impl ocq;
	enum impl peer;
};

static const struct cmp cmps[] = {
    {K_SPSC, IM_OCQ_SPSC, IM_CK_SPSC},	{K_MPMC, IM_OCQ_MPMC, IM_CK_MPMC},
    {K_MPMC, IM_OCQ_MPMC, IM_WFCQ},	{K_MPMC, IM_OCQ_MPMC, IM_MUTEX},
    {K_MPMC, IM_OCQ_CHAN, IM_MUTEX},	{K_PAIR, IM_OCQ_SPSC, IM_CK_SPSC},
    {K_PAIR, IM_OCQ_MPMC, IM_CK_MPMC},	{K_PAIR, IM_OCQ_MPMC, IM_WFCQ},
    {K_PAIR, IM_OCQ_MPMC, IM_MUTEX},	{K_PAIR, IM_OCQ_CHAN, IM_MUTEX},
    {K_HANDOFF, IM_OCQ_CHAN, IM_FUTEX}, {K_HANDOFF, IM_OCQ_CHAN, IM_MUTEX_CV},
    {K_HANDOFF, IM_OCQ_CHAN, IM_SPIN},	{K_IDLE, IM_OCQ_CHAN, IM_FUTEX},
    {K_IDLE, IM_OCQ_CHAN, IM_MUTEX_CV},
};

struct target {
	const char *label;
	enum impl ocq;
	enum impl peer;
	bool at_most; /* ratio must be <= limit (latency) rather than >= */
	double limit;
	const char *text;
};

static const struct target targets[] = {
    {"spsc cap=1023", IM_OCQ_SPSC, IM_CK_SPSC, false, 2.0, "SPSC cap 1023: ocq >= 2.0x ck_ring"},
    {"spsc cap=63", IM_OCQ_SPSC, IM_CK_SPSC, false, 2.0, "SPSC cap 63:   ocq >= 2.0x ck_ring"},
    {"mpmc 1P1C", IM_OCQ_MPMC, IM_CK_MPMC, false, 1.3, "MPMC 1P1C: ocq ring >= 1.3x ck_ring"},
    {"mpmc 2P2C", IM_OCQ_MPMC, IM_CK_MPMC, false, 1.3, "MPMC 2P2C: ocq ring >= 1.3x ck_ring"},
    {"mpmc 4P4C", IM_OCQ_MPMC, IM_CK_MPMC, false, 1.3, "MPMC 4P4C: ocq ring >= 1.3x ck_ring"},
    {"mpmc 1P1C", IM_OCQ_MPMC, IM_MUTEX, false, 1.5, "MPMC 1P1C: ocq ring >= 1.5x mutex ring"},
    {"mpmc 2P2C", IM_OCQ_MPMC, IM_MUTEX, false, 1.5, "MPMC 2P2C: ocq ring >= 1.5x mutex ring"},
    {"mpmc 4P4C", IM_OCQ_MPMC, IM_MUTEX, false, 1.5, "MPMC 4P4C: ocq ring >= 1.5x mutex ring"},
    {"mpmc 1P1C", IM_OCQ_CHAN, IM_MUTEX, false, 1.5, "MPMC 1P1C: ocq chan >= 1.5x mutex ring"},
    {"mpmc 2P2C", IM_OCQ_CHAN, IM_MUTEX, false, 1.5, "MPMC 2P2C: ocq chan >= 1.5x mutex ring"},
    {"mpmc 4P4C", IM_OCQ_CHAN, IM_MUTEX, false, 1.5, "MPMC 4P4C: ocq chan >= 1.5x mutex ring"},
    {"handoff", IM_OCQ_CHAN, IM_FUTEX, true, 1.5, "hand-off latency: ocq chan <= 1.5x raw futex"},
};

static const struct result *
find(const struct bench *b, const char *label, enum impl im)
{
	for (unsigned i = 0; i < b->nres; i++)
		if (b->res[i].s.impl == im && !strcmp(b->res[i].label, label) && !b->res[i].error)
			return &b->res[i];
	return NULL;
}

/*
 * ocq over the peer in one case: the median of the per-round ratios. Round i
 * ran both back to back, so pairing them cancels the host's drift, which on
 * a shared VM can dwarf the difference measured. NAN when either is missing.
 */
static double
ratio(const struct bench *b, const char *label, enum impl ocq, enum impl peer)
{
	const struct result *o = find(b, label, ocq), *p = find(b, label, peer);
	double q[MAX_RUNS];
	unsigned n = 0;

	for (unsigned i = 0; o && p && i < o->nruns && i < p->nruns; i++)
		if (p->v[i] > 0)
			q[n++] = o->v[i] / p->v[i];
	return n ? median(q, n) : __builtin_nan("");
}

/* The ocq implementations a kind's rows are compared with: table columns. */
static unsigned
ratio_columns(enum kind k, enum impl cols[3])
{
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++) {
		bool seen = false;

		if (cmps[i].kind != k)
			continue;
		for (unsigned j = 0; j < n; j++)
			seen |= cols[j] == cmps[i].ocq;
		if (!seen && n < 3)
			cols[n++] = cmps[i].ocq;
	}
	return n;
}

static bool
compared(enum kind k, enum impl ocq, enum impl peer)
{
	for (size_t i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++)
		if (cmps[i].kind == k && cmps[i].ocq == ocq && cmps[i].peer == peer)
			return true;
	return false;
}

/* --- printing ------------------------------------------------------------- */

static const char *
short_name(enum impl im)
{
	switch (im) {
	case IM_OCQ_SPSC:
		return "spsc";
	case IM_OCQ_MPMC:
		return "ring";
	default:
		return "chan";
	}
}

static void
fmt_count(char *buf, size_t size, uint64_t n)
{
	if (n >= 1000000)
		snprintf(buf, size, "%.1fM", (double)n / 1e6);
	else if (n >= 1000)
		snprintf(buf, size, "%.0fk", (double)n / 1e3);
	else
		snprintf(buf, size, "%llu", (unsigned long long)n);
}

static void
print_header(const struct bench *b, enum kind k, double probe_ns)
{
	static const char *const title[] = {
	    "SPSC throughput, 1 producer + 1 consumer: Mops/s, higher is better;\n"
	    "spsc/this = ocq over this row (above 1: ocq is faster)",
	    "MPMC throughput at capacity 1023: Mops/s, higher is better;\n"
	    "ring/this = ocq MPMC ring over this row, chan/this = ocq channel over this row\n"
	    "(above 1: ocq is faster; chan vs mutex_ring is the blocking-vs-blocking pair)",
	    "Uncontended cost, one thread, push then pop: ns per pair, LOWER is better;\n"
	    "x/this = ocq's ns over this row's (below 1: ocq is faster)",
	    "Blocking hand-off latency, two threads ping-pong one item: ns per one-way\n"
	    "hand-off, LOWER is better; chan/this = ocq's ns over this row's (below 1: ocq\n"
	    "is faster). spin is the floor: both sides spin, nobody sleeps",
	    "Hand-off after idle (context, no target): as above, but each side holds the\n"
	    "item 20 us before passing it back, so the partner is asleep when it comes;\n"
	    "ns per one-way hand-off with the think time taken out, LOWER is better",
	};
	static const char *const count_name[] = {"items", "items", "pairs", "trips", "trips"};
	enum impl cols[3];
	unsigned nc = ratio_columns(k, cols);
	char name[16];

	printf("\n%s\n", title[k]);
	printf("median, min and max of %u interleaved rounds; ratios: median of per-round\n"
	       "ratios. ",
	       b->runs);
	if (probe_ns == probe_ns)
		printf("Host check: one cache line between two CPUs took %.0f ns one way\n\n",
		       probe_ns);
	else
		printf("Host check: none (it needs 2 CPUs)\n\n");
	printf("%-14s %-13s %9s %9s %9s %7s", "case", "impl", "median", "min", "max",
	       count_name[k]);
	for (unsigned i = 0; i < nc; i++) {
		snprintf(name, sizeof(name), "%s/this", short_name(cols[i]));
		printf(" %10s", name);
	}
	printf("\n");
}

static void
print_row(const struct bench *b, const struct result *r)
{
	enum impl cols[3];
	unsigned nc = ratio_columns(r->s.kind, cols);
	int prec = r->s.kind <= K_MPMC ? 2 : 1;
	char n[16], cell[16];

	printf("%-14s %-13s ", r->label, impls[r->s.impl].name);
	if (r->error) {
		printf("%s\n", r->error);
		return;
	}
	printf("%9.*f %9.*f %9.*f", prec, r->med, prec, r->min, prec, r->max);
	fmt_count(n, sizeof(n), r->n);
	printf(" %7s", n);
	for (unsigned i = 0; i < nc; i++) {
		double x = ratio(b, r->label, cols[i], r->s.impl);

		if (compared(r->s.kind, cols[i], r->s.impl) && x == x)
			snprintf(cell, sizeof(cell), "%.2fx", x);
		else
			snprintf(cell, sizeof(cell), "--");
		printf(" %10s", cell);
	}
	if (r->capped)
		printf("  [%u/%u runs hit the %.1f s cap; rate = items moved / time]", r->capped,
		       r->nruns, b->cap_s);
	printf("\n");
	fflush(stdout);
}

static bool
target_met(const struct target *t, double x)
{
	return x == x && (t->at_most ? x <= t->limit : x >= t->limit);
}

static void
print_targets(const struct bench *b)
{
	double probe = 0, others = 0;

	printf("\ntargets (ratio: median of per-round ocq/peer; throughput: higher is better,\n"
	       "latency: lower is better)\n\n");
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target *t = &targets[i];
		double x = ratio(b, t->label, t->ocq, t->peer);

		if (x == x)
			printf("  %-48s %6.2fx  %s\n", t->text, x,
			       target_met(t, x) ? "MET" : "NOT MET");
		else
			printf("  %-48s %7s  NOT MET (not measured)\n", t->text, "--");
	}
	for (int k = K_SPSC; k <= K_IDLE; k++) {
		probe = b->probe_ns[k] > probe ? b->probe_ns[k] : probe;
		others = b->others[k] > others ? b->others[k] : others;
	}
	/* thresholds well above what this 2-CPU VM shows when nobody else runs
	 * (about 30 ns and 0-5%) */
	if (probe > 100 || others > 0.10) {
		printf("\ncaution: the host was busy during this run\n");
		if (probe > 100)
			printf("  - cache-line probe up to %.0f ns (about 30 ns when quiet)\n",
			       probe);
		if (others > 0.10)
			printf("  - other processes took up to %.0f%% of the CPUs\n", 100 * others);
		printf(
		    "absolute numbers are low and noisy, the paired ratios less so; re-run on a\n"
		    "quiet machine before trusting a close call.\n");
	}
}

/* --- JSON and plot -------------------------------------------------------- */


static int
write_json(const struct bench *b, const char *path)
{
	static const char *const unit[] = {"Mops/s", "Mops/s", "ns/pair", "ns/hand-off",
					   "ns/hand-off"};
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "{\n  \"runs\": %u,\n  \"quick\": %s,\n  \"target_run_seconds\": %g,\n", b->runs,
		b->quick ? "true" : "false", b->target_s);
	fprintf(f, "  \"capacity\": %d,\n  \"small_capacity\": %d,\n", CAP, SMALL_CAP);
	fprintf(f, "  \"retry\": {\"pause_spins\": %d, \"then\": \"sched_yield\"},\n", SPINS);
	fprintf(f, "  \"run_cap_seconds\": %g,\n", b->cap_s);
	fprintf(f, "  \"cpus\": [");
	for (unsigned i = 0; i < b->ncpu; i++)
		fprintf(f, "%s%d", i ? ", " : "", b->cpus[i]);
	fprintf(f, "],\n  \"host_probe_ns\": {");
	for (int k = K_SPSC; k <= K_IDLE; k++) {
		fprintf(f, "%s\"%s\": ", k ? ", " : "", kind_name[k]);
		json_num(f, b->probe_ns[k]);
	}
	fprintf(f, "},\n  \"host_other_cpu_share\": {");
	for (int k = K_SPSC; k <= K_IDLE; k++) {
		fprintf(f, "%s\"%s\": ", k ? ", " : "", kind_name[k]);
		json_num(f, b->others[k]);
	}
	fprintf(f, "},\n  \"idle_think_ns\": %d,\n  \"cases\": [\n", IDLE_NS);
	for (unsigned i = 0; i < b->nres; i++) {
		const struct result *r = &b->res[i];

		fprintf(f,
			"    {\"kind\": \"%s\", \"case\": \"%s\", \"impl\": \"%s\", "
			"\"producers\": %u, \"consumers\": %u, \"capacity\": %zu, "
			"\"unit\": \"%s\", \"better\": \"%s\", ",
			kind_name[r->s.kind], r->label, impls[r->s.impl].name, r->s.producers,
			r->s.consumers, r->s.cap, unit[r->s.kind],
			r->s.kind <= K_MPMC ? "higher" : "lower");
		if (r->error) {
			fprintf(f, "\"error\": \"%s\"}", r->error);
		} else {
			fprintf(f, "\"count\": %llu, \"capped_runs\": %u, \"median\": ",
				(unsigned long long)r->n, r->capped);
			json_num(f, r->med);
			fprintf(f, ", \"min\": ");
			json_num(f, r->min);
			fprintf(f, ", \"max\": ");
			json_num(f, r->max);
			fprintf(f, ", \"runs\": [");
			for (unsigned j = 0; j < r->nruns; j++) {
				fprintf(f, "%s", j ? ", " : "");
				json_num(f, r->v[j]);
			}
			fprintf(f, "]}");
		}
		fprintf(f, "%s\n", i + 1 < b->nres ? "," : "");
	}
	fprintf(f, "  ],\n  \"ratios\": [\n");
	for (unsigned i = 0, first = 1; i < b->nres; i++) {
		const struct result *r = &b->res[i];

		for (size_t c = 0; c < sizeof(cmps) / sizeof(cmps[0]); c++) {
			if (cmps[c].kind != r->s.kind || cmps[c].peer != r->s.impl)
				continue;
			fprintf(f,
				"%s    {\"case\": \"%s\", \"ocq\": \"%s\", \"peer\": \"%s\", "
				"\"ratio\": ",
				first ? "" : ",\n", r->label, impls[cmps[c].ocq].name,
				impls[r->s.impl].name);
			json_num(f, ratio(b, r->label, cmps[c].ocq, r->s.impl));
			fprintf(f, ", \"better\": \"%s\"}",
				r->s.kind <= K_MPMC ? "higher" : "lower");
			first = 0;
		}
	}
	fprintf(f, "\n  ],\n  \"targets\": [\n");
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target *t = &targets[i];
		double x = ratio(b, t->label, t->ocq, t->peer);

		fprintf(f, "    {\"target\": \"%s\", \"op\": \"%s\", \"limit\": %g, \"ratio\": ",
			t->text, t->at_most ? "<=" : ">=", t->limit);
		json_num(f, x);
		fprintf(f, ", \"met\": %s}%s\n", target_met(t, x) ? "true" : "false",
			i + 1 < sizeof(targets) / sizeof(targets[0]) ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return fclose(f) ? -errno : 0;
}

/* gnuplot string literal: single quotes, a quote inside doubled. */
static void
gp_string(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

/*
 * Write <out>/ocq.gp (data inline, so it can be re-run by hand) and run
 * gnuplot on it. Returns 0, 1 when gnuplot is not installed, or -errno.
 */
static int
plot(const struct bench *b, const char *gp_path, const char *svg_path)
{
	static const char *const group[] = {"spsc cap=1023", "spsc cap=63", "mpmc 1P1C",
					    "mpmc 2P2C", "mpmc 4P4C"};
	static const enum impl series[][2] = {
	    {IM_OCQ_SPSC, IM_OCQ_MPMC}, {IM_OCQ_CHAN, IM_OCQ_CHAN}, {IM_CK_SPSC, IM_CK_MPMC},
	    {IM_WFCQ, IM_WFCQ},		{IM_MUTEX, IM_MUTEX},
	};
	static const char *const title[] = {"ocq ring (SPSC / MPMC)", "ocq channel", "ck\\_ring",
					    "wfcqueue", "mutex ring"};
	char *argv[] = {"gnuplot", (char *)gp_path, NULL};
	FILE *f = fopen(gp_path, "w");
	pid_t pid;
	int rc, st;

	if (!f)
		return -errno;
	fprintf(f, "# written by bench_ocq; re-run with: gnuplot %s\n", gp_path);
	fprintf(f, "set terminal svg size 1000,540 dynamic enhanced font 'sans,12' "
		   "background rgb 'white'\nset output ");
	gp_string(f, svg_path);
	fprintf(f, "\nset title 'ocq vs peers, %u CPUs: median of %u rounds, whiskers min..max'\n",
		b->ncpu, b->runs);
	fprintf(f, "set ylabel 'million items per second (log scale)'\nset logscale y\n"
		   "set grid ytics\nset key outside right top\nset style data histogram\n"
		   "set style histogram errorbars gap 1 lw 1\n"
		   "set style fill solid 0.85 border -1\nset boxwidth 0.9\n$d << EOD\n");
	for (size_t g = 0; g < sizeof(group) / sizeof(group[0]); g++) {
		fprintf(f, "\"%s\"", group[g]);
		for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
			const struct result *r = find(b, group[g], series[i][g >= 2]);

			if (r)
				fprintf(f, " %.4g %.4g %.4g", r->med, r->min, r->max);
			else
				fprintf(f, " NaN NaN NaN");
		}
		fprintf(f, "\n");
	}
	fprintf(f, "EOD\nplot ");
	for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++)
		fprintf(f, "%s$d using %zu:%zu:%zu%s title '%s'", i ? ", " : "", 2 + 3 * i,
			3 + 3 * i, 4 + 3 * i, i ? "" : ":xtic(1)", title[i]);
	fprintf(f, "\n");
	if (fclose(f))
		return -errno;
	rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (rc == ENOENT)
		return 1;
	if (rc)
		return -rc;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* --- driver --------------------------------------------------------------- */

/* The host check: ns for one cache line to cross between the two CPUs. */
static double
probe(const struct bench *b)
{
	struct spec s = {K_HANDOFF, IM_SPIN, 1, 1, 1, 0};
	struct sample x;
	const char *why;

	if (!impl_available(s.kind, s.impl, b->ncpu) || measure(b, &s, 20000, &x, &why))
		return __builtin_nan("");
	return value_of(&s, &x);
}

static void
fail(struct bench *b, struct result *r, const char *why, int rc)
{
	r->error = why ? why : "failed";
	b->failures++;
	fprintf(stderr, "bench_ocq: %s %s: %s (%s)\n", r->label, impls[r->s.impl].name, r->error,
		strerror(rc < 0 ? -rc : rc));
}

/*
 * One case: every implementation in list[0..n) on the same workload. Each
 * is calibrated first (its warm-up); then round i runs each of them once,
 * back to back, so drift on the host hits all of them alike. ocq comes
 * first in every list, and the rows print when the case is done.
 */
static void
run_case(struct bench *b, struct spec s, const enum impl *list, unsigned n)
{
	struct result *rs = &b->res[b->nres];
	char label[24];

	if (b->nres + n > MAX_RESULTS)
		die("too many cases", EOVERFLOW);
	b->nres += n;
	if (s.kind == K_SPSC)
		snprintf(label, sizeof(label), "spsc cap=%zu", s.cap);
	else if (s.kind == K_MPMC)
		snprintf(label, sizeof(label), "mpmc %uP%uC", s.producers, s.consumers);
	else
		snprintf(label, sizeof(label), "%s", kind_name[s.kind]);
	for (unsigned i = 0; i < n; i++) {
		struct result *r = &rs[i];
		const char *why = NULL;
		int rc;

		memset(r, 0, sizeof(*r));
		r->s = s;
		r->s.impl = list[i];
		memcpy(r->label, label, sizeof(label));
		if (!impl_available(s.kind, list[i], b->ncpu))
			r->error = list[i] == IM_SPIN ? "skipped: needs 2 CPUs" : "not available";
		else if ((rc = calibrate(b, &r->s, &r->n, &why)))
			fail(b, r, why, rc);
	}
	for (unsigned round = 0; round < b->runs; round++) {
		for (unsigned i = 0; i < n; i++) {
			struct result *r = &rs[i];
			const char *why = NULL;
			struct sample x;
			int rc;

			if (r->error)
				continue;
			if ((rc = measure(b, &r->s, r->n, &x, &why))) {
				fail(b, r, why, rc);
				continue;
			}
			r->v[r->nruns++] = value_of(&r->s, &x);
			r->capped += x.capped;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (!rs[i].error)
			summarize(&rs[i]);
		print_row(b, &rs[i]);
	}
}

/* Seconds of CPU time all tasks spent on our CPUs (/proc/stat), or NAN. */
static double
cpus_busy(const struct bench *b)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8], ticks = 0;
	char line[512];
	int cpu;

	if (!f)
		return __builtin_nan("");
	while (fgets(line, sizeof(line), f)) {
		/* user nice system idle iowait irq softirq steal; idle and iowait
		 * are the only columns that are not someone running */
		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9' ||
		    sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 ||
		    cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &b->mask))
			continue;
		ticks += v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	}
	fclose(f);
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static double
own_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ts_sec(&(struct timespec){ru.ru_utime.tv_sec, ru.ru_utime.tv_usec * 1000}) +
	       ts_sec(&(struct timespec){ru.ru_stime.tv_sec, ru.ru_stime.tv_usec * 1000});
}

static double
wall_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ts_sec(&t);
}

/*
 * Open a table: measure the host first. This machine may be shared, and a
 * partner thread preempted by some other process turns nanoseconds into a
 * scheduler tick, so each table says how quiet the CPUs were.
 */
static void
section_begin(struct bench *b, enum kind k)
{
	b->probe_ns[k] = probe(b);
	print_header(b, k, b->probe_ns[k]);
	b->busy0 = cpus_busy(b);
	b->own0 = own_cpu();
	b->wall0 = wall_now();
}

static void
section_end(struct bench *b, enum kind k)
{
	double busy = cpus_busy(b) - b->busy0, own = own_cpu() - b->own0;
	double wall = wall_now() - b->wall0, x = (busy - own) / (wall * b->ncpu);

	b->others[k] = x < 0 ? 0 : x;
	if (x == x)
		printf("host: other processes used %.0f%% of these %u CPUs during this table\n",
		       100 * b->others[k], b->ncpu);
}

static void
run_all(struct bench *b)
{
	static const enum impl spsc[] = {IM_OCQ_SPSC, IM_CK_SPSC};
	static const enum impl mpmc[] = {IM_OCQ_MPMC, IM_OCQ_CHAN, IM_CK_MPMC, IM_WFCQ, IM_MUTEX};
	static const enum impl pair[] = {IM_OCQ_SPSC, IM_OCQ_MPMC, IM_OCQ_CHAN, IM_CK_SPSC,
					 IM_CK_MPMC,  IM_WFCQ,	   IM_MUTEX};
	static const enum impl handoff[] = {IM_OCQ_CHAN, IM_FUTEX, IM_MUTEX_CV, IM_SPIN};
	static const unsigned threads[] = {1, 2, 4};

	section_begin(b, K_SPSC);
	run_case(b, (struct spec){K_SPSC, 0, 1, 1, CAP, 0}, spsc, 2);
	run_case(b, (struct spec){K_SPSC, 0, 1, 1, SMALL_CAP, 0}, spsc, 2);
	section_end(b, K_SPSC);
	section_begin(b, K_MPMC);
	for (size_t t = 0; t < 3; t++)
		run_case(b, (struct spec){K_MPMC, 0, threads[t], threads[t], CAP, 0}, mpmc, 5);
	section_end(b, K_MPMC);
	section_begin(b, K_PAIR);
	run_case(b, (struct spec){K_PAIR, 0, 1, 0, CAP, 0}, pair, 7);
	section_end(b, K_PAIR);
	section_begin(b, K_HANDOFF);
	run_case(b, (struct spec){K_HANDOFF, 0, 1, 1, 1, 0}, handoff, 4);
	section_end(b, K_HANDOFF);
	section_begin(b, K_IDLE);
	run_case(b, (struct spec){K_IDLE, 0, 1, 1, 1, IDLE_NS}, handoff, 3);
	section_end(b, K_IDLE);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: bench_ocq [--out DIR] [--quick] [--runs N]\n"
		"  --out DIR  write ocq.json, ocq.gp and ocq.svg into DIR (default build/bench)\n"
		"  --quick    short runs for a smoke test (3 rounds unless --runs is given)\n"
		"  --runs N   measured rounds per case, 1..%d (default 5)\n",
		MAX_RUNS);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"quick", no_argument, NULL, 'q'},
	    {"runs", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct bench *b = calloc(1, sizeof(*b));
	char json[4096], gp[4096], svg[4096];
	int runs = 0, c, rc;
	double t0;

	if (!b)
		die("allocating", ENOMEM);
	b->out = "build/bench";
	while ((c = getopt_long(argc, argv, "o:qr:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			b->out = optarg;
			break;
		case 'q':
			b->quick = true;
			break;
		case 'r':
			runs = atoi(optarg);
			if (runs < 1 || runs > MAX_RUNS) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	b->runs = runs ? (unsigned)runs : b->quick ? 3 : 5;
	b->target_s = b->quick ? 0.02 : 0.2;
	b->cap_s = 4 * b->target_s + 0.5;
	if (sched_getaffinity(0, sizeof(b->mask), &b->mask))
		die("sched_getaffinity", errno);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &b->mask))
			b->cpus[b->ncpu++] = i;
	if ((rc = bench_mkdir_p(b->out)))
		die(b->out, -rc);
	snprintf(json, sizeof(json), "%s/ocq.json", b->out);
	snprintf(gp, sizeof(gp), "%s/ocq.gp", b->out);
	snprintf(svg, sizeof(svg), "%s/ocq.svg", b->out);

	printf("bench_ocq: %u CPUs allowed, thread i pinned to CPU i %% %u; capacity %d (and %d "
	       "for SPSC);\ntry-style retry: %d pause spins, then sched_yield; ~%.2f s per run%s\n",
	       b->ncpu, b->ncpu, CAP, SMALL_CAP, SPINS, b->target_s, b->quick ? " (quick)" : "");
	t0 = wall_now();
	run_all(b);
	print_targets(b);
	printf("\nmeasured in %.0f s\n", wall_now() - t0);

	if ((rc = write_json(b, json)))
		die(json, -rc);
	printf("\nwrote %s\n", json);
	rc = plot(b, gp, svg);
	if (rc == 1)
		printf("gnuplot not found: skipped %s (data and script are in %s)\n", svg, gp);
	else if (rc)
		fprintf(stderr, "bench_ocq: gnuplot failed on %s: %s\n", gp, strerror(-rc));
	else
		printf("wrote %s\n", svg);
	if (b->failures)
		fprintf(stderr, "bench_ocq: %u case(s) failed verification or setup\n",
			b->failures);
	rc = b->failures ? 1 : 0;
	free(b);
	return rc;
}
