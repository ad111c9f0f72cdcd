/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Concurrency stress for ocq, printing TAP. Every check is on outcomes:
 *  - each topology, 1..8 producers x 1..8 consumers, capacities 1, 2, 64,
 *    4096, positions starting at 0 and near 2^64: every item arrives exactly
 *    once, and each consumer sees each producer's items in send order;
 *  - the same through blocking channels with bursts and close-on-release;
 *  - a close race: what a send reported as sent is received exactly once,
 *    what it reported as refused is never received;
 *  - lost wake-ups: ping-pong and sleepy consumers, under a watchdog that
 *    fails the run if progress stops;
 *  - ordered delivery across ranges with a small window, and the heap never
 *    grows past it; the unbounded intrusive MPSC; drain_parallel.
 * OCQ_STRESS_ITEMS scales the work (default 20000 items per run).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "ocq/ocq.h"
#include "stress.h"

#define MAXT 8

static unsigned items_per_run = 20000;

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* --- the topology matrix ------------------------------------------------- */

enum kind { K_SPSC, K_MPSC, K_SPMC, K_MPMC };
static const char *kind_name[] = {"spsc", "mpsc", "spmc", "mpmc"};

struct matrix {
	enum kind kind;
	bool chan;
	unsigned np, nc, per;
	union {
		struct ocq_spsc s;
		struct ocq_mpmc mpmc;
		struct ocq_mpsc mpsc;
		struct ocq_spmc spmc;
	} q;
	struct ocq_chan *ch;
	struct ocq_tx tx[MAXT];
	_Atomic unsigned char *seen; /* np * per counters */
	_Atomic uint64_t consumed;
	_Atomic int errors;
};

struct worker {
	struct matrix *m;
	unsigned id;
};

#define ENC(p, i) ((void *)(uintptr_t)(((uint64_t)(p) << 32) | ((uint64_t)(i) + 1)))
#define DEC_P(v) ((unsigned)((uintptr_t)(v) >> 32))
#define DEC_I(v) ((unsigned)(((uintptr_t)(v) & 0xffffffffu) - 1))

static int
ring_push(struct matrix *m, void *v)
{
	switch (m->kind) {
	case K_SPSC:
		return ocq_spsc_try_push(&m->q.s, v);
	case K_MPSC:
		return ocq_mpsc_try_push(&m->q.mpsc, v);
	case K_SPMC:
		return ocq_spmc_try_push(&m->q.spmc, v);
	default:
		return ocq_mpmc_try_push(&m->q.mpmc, v);
	}
}

static int
ring_pop(struct matrix *m, void **v)
{
	switch (m->kind) {
	case K_SPSC:
		return ocq_spsc_try_pop(&m->q.s, v);
	case K_MPSC:
		return ocq_mpsc_try_pop(&m->q.mpsc, v);
	case K_SPMC:
		return ocq_spmc_try_pop(&m->q.spmc, v);
	default:
		return ocq_mpmc_try_pop(&m->q.mpmc, v);
	}
}

static void *
producer(void *p)
{
	struct worker *w = p;
	struct matrix *m = w->m;
	unsigned i = 0;

	while (i < m->per) {
		if (m->chan && (w->id & 1)) {
			void *batch[7];
			unsigned n = 0;

			while (n < 7 && i + n < m->per) {
				batch[n] = ENC(w->id, i + n);
				n++;
			}
			long k = ocq_send_burst(&m->tx[w->id], batch, n);

			if (k <= 0) {
				atomic_fetch_add(&m->errors, 1);
				break;
			}
			i += (unsigned)k;
		} else if (m->chan) {
			if (ocq_send(&m->tx[w->id], ENC(w->id, i)) != 0) {
				atomic_fetch_add(&m->errors, 1);
				break;
			}
			i++;
		} else {
			struct ocq__backoff b = {0};

			while (ring_push(m, ENC(w->id, i)) != 0)
				ocq__backoff_snooze(&b), b.step = b.step > 8 ? 7 : b.step;
			i++;
		}
		if ((i & 255) == 0)
			stress_tick();
	}
	if (m->chan)
		ocq_tx_release(&m->tx[w->id]);
	return NULL;
}

/* Record one received item; false on a duplicate or out-of-order item. */
static bool
accept_item(struct matrix *m, void *v, unsigned *last)
{
	unsigned p = DEC_P(v), i = DEC_I(v);

	if (p >= m->np || i >= m->per)
		return false;
	if (atomic_fetch_add(&m->seen[(size_t)p * m->per + i], 1) != 0)
		return false;
	if (last[p] != UINT32_MAX && i <= last[p])
		return false;
	last[p] = i;
	atomic_fetch_add(&m->consumed, 1);
	return true;
}

static void *
consumer(void *p)
{
	struct worker *w = p;
	struct matrix *m = w->m;
	unsigned last[MAXT];
	uint64_t total = (uint64_t)m->np * m->per;
	struct ocq_rx rx = {0};
	unsigned n = 0;

	for (unsigned k = 0; k < MAXT; k++)
		last[k] = UINT32_MAX;
	if (m->chan && ocq_rx_open(&rx, m->ch) != 0) {
		atomic_fetch_add(&m->errors, 1);
		return NULL;
	}
	for (;;) {
		void *v[5];
		long got;

		if (m->chan) {
			if (w->id & 1)
				got = ocq_recv_burst(&rx, v, 5);
			else
				got = ocq_recv(&rx, &v[0]) == 0 ? 1 : OCQ_CLOSED;
			if (got == OCQ_CLOSED)
				break;
		} else {
			if (atomic_load(&m->consumed) >= total)
				break;
			if (ring_pop(m, &v[0]) != 0) {
				sched_yield();
				continue;
			}
			got = 1;
		}
		for (long k = 0; k < got; k++)
			if (!accept_item(m, v[k], last))
				atomic_fetch_add(&m->errors, 1);
		if ((++n & 255) == 0)
			stress_tick();
	}
	if (m->chan)
		ocq_rx_release(&rx);
	return NULL;
}

static int
matrix_init(struct matrix *m, size_t cap, uint64_t start)
{
	if (m->chan) {
		static const enum ocq_topo t[] = {OCQ_SPSC, OCQ_MPSC, OCQ_SPMC, OCQ_MPMC};
		int rc = ocq_chan_create(&m->ch, t[m->kind], cap);

		if (rc)
			return rc;
		/* start the channel's ring near wrap-around too */
		ocq__ring_destroy(&m->ch->ring);
		rc = ocq__ring_init(&m->ch->ring, cap, sizeof(struct ocq__cell), start);
		return rc ? rc : ocq_chan_with_producers(m->ch, m->np, m->tx);
	}
	switch (m->kind) {
	case K_SPSC:
		return ocq_spsc_init_at(&m->q.s, cap, start);
	case K_MPSC:
		return ocq_mpsc_init_at(&m->q.mpsc, cap, start);
	case K_SPMC:
		return ocq_spmc_init_at(&m->q.spmc, cap, start);
	default:
		return ocq_mpmc_init_at(&m->q.mpmc, cap, start);
	}
}

static void
matrix_destroy(struct matrix *m)
{
	if (m->chan)
		ocq_chan_destroy(m->ch);
	else if (m->kind == K_SPSC)
		ocq_spsc_destroy(&m->q.s);
	else
		ocq__ring_destroy(&m->q.mpmc.r);
}

static bool
run_matrix(enum kind kind, bool chan, unsigned np, unsigned nc, size_t cap, uint64_t start)
{
	struct matrix *m = calloc(1, sizeof(*m));
	struct worker pw[MAXT], cw[MAXT];
	pthread_t pt[MAXT], ct[MAXT];
	bool ok = true;

	m->kind = kind;
	m->chan = chan;
	m->np = np;
	m->nc = nc;
	m->per = items_per_run / np;
	m->seen = calloc((size_t)np * m->per, 1);
	if (matrix_init(m, cap, start) != 0) {
		free(m);
		return false;
	}
	for (unsigned i = 0; i < nc; i++) {
		cw[i] = (struct worker){m, i};
		pthread_create(&ct[i], NULL, consumer, &cw[i]);
	}
	for (unsigned i = 0; i < np; i++) {
		pw[i] = (struct worker){m, i};
		pthread_create(&pt[i], NULL, producer, &pw[i]);
	}
	for (unsigned i = 0; i < np; i++)
		pthread_join(pt[i], NULL);
	for (unsigned i = 0; i < nc; i++)
		pthread_join(ct[i], NULL);
	if (atomic_load(&m->errors) || atomic_load(&m->consumed) != (uint64_t)np * m->per)
		ok = false;
	for (size_t i = 0; ok && i < (size_t)np * m->per; i++)
		if (atomic_load(&m->seen[i]) != 1)
			ok = false;
	if (!ok)
		fprintf(stderr, "# %s%s %uP%uC cap %zu start %" PRIx64 ": errors %d consumed %" PRIu64
				" of %u\n",
			kind_name[kind], chan ? " chan" : "", np, nc, cap, start,
			atomic_load(&m->errors), atomic_load(&m->consumed), np * m->per);
	matrix_destroy(m);
	free((void *)m->seen);
	free(m);
	return ok;
}

static void
test_matrix(bool chan)
{
	static const unsigned pc[][2] = {{1, 1}, {1, 2}, {2, 1}, {2, 2}, {3, 5},
					 {8, 1}, {1, 8}, {4, 4}, {8, 8}};
	static const size_t caps[] = {1, 2, 64, 4096};
	static const uint64_t starts[] = {0, UINT64_MAX - 3 * 8192};

	for (int k = K_SPSC; k <= K_MPMC; k++) {
		unsigned runs = 0, bad = 0;

		stress_current = kind_name[k];
		for (size_t j = 0; j < sizeof(pc) / sizeof(pc[0]); j++) {
			unsigned np = pc[j][0], nc = pc[j][1];

			if ((k == K_SPSC || k == K_SPMC) && np != 1)
				continue;
			if ((k == K_SPSC || k == K_MPSC) && nc != 1)
				continue;
			for (size_t c = 0; c < 4; c++)
				for (size_t s = 0; s < 2; s++) {
					runs++;
					if (!run_matrix((enum kind)k, chan, np, nc, caps[c],
							starts[s]))
						bad++;
				}
		}
		stress_tap(bad == 0, "%s %s: %u runs (P x C x capacity x start), exactly once and FIFO"
			      " per producer; %u failed",
		    kind_name[k], chan ? "channel" : "ring", runs, bad);
	}
}

/* --- close race ---------------------------------------------------------- */

struct race {
	struct ocq_chan *ch;
	struct ocq_tx tx[3];
	unsigned np;
	_Atomic unsigned char sent[3][4096];
	_Atomic unsigned char got[3][4096];
	_Atomic int errors;
};

struct race_w {
	struct race *r;
	unsigned id;
};

static void *
race_producer(void *p)
{
	struct race_w *w = p;
	struct race *r = w->r;

	for (unsigned i = 0; i < 4096; i++) {
		int rc = (i & 1) ? ocq_send(&r->tx[w->id], ENC(w->id, i))
				 : ocq_try_send(&r->tx[w->id], ENC(w->id, i));

		if (rc == OCQ_CLOSED)
			break;
		if (rc == 0)
			atomic_store(&r->sent[w->id][i], 1);
	}
	ocq_tx_release(&r->tx[w->id]);
	return NULL;
}

static void *
race_consumer(void *p)
{
	struct race *r = p;
	struct ocq_rx rx;
	void *v;

	if (ocq_rx_open(&rx, r->ch))
		return NULL;
	while (ocq_recv(&rx, &v) == 0)
		if (atomic_fetch_add(&r->got[DEC_P(v)][DEC_I(v)], 1) != 0)
			atomic_fetch_add(&r->errors, 1);
	ocq_rx_release(&rx);
	return NULL;
}

static bool
close_race_once(enum ocq_topo topo, unsigned np, unsigned nc, uint32_t *seed)
{
	struct race *r = calloc(1, sizeof(*r));
	struct race_w w[3];
	pthread_t pt[3], ct[3];
	bool ok = true;

	r->np = np;
	if (ocq_chan_create(&r->ch, topo, 1 + rnd(seed) % 8) ||
	    ocq_chan_with_producers(r->ch, np, r->tx))
		return false;
	for (unsigned i = 0; i < nc; i++)
		pthread_create(&ct[i], NULL, race_consumer, r);
	for (unsigned i = 0; i < np; i++) {
		w[i] = (struct race_w){r, i};
		pthread_create(&pt[i], NULL, race_producer, &w[i]);
	}
	usleep(rnd(seed) % 500);
	ocq_chan_close(r->ch);
	for (unsigned i = 0; i < np; i++)
		pthread_join(pt[i], NULL);
	for (unsigned i = 0; i < nc; i++)
		pthread_join(ct[i], NULL);
	for (unsigned p = 0; p < np; p++)
		for (unsigned i = 0; i < 4096; i++)
			if (atomic_load(&r->sent[p][i]) != atomic_load(&r->got[p][i]))
				ok = false;
	if (atomic_load(&r->errors))
		ok = false;
	ocq_chan_destroy(r->ch);
	free(r);
	stress_tick();
	return ok;
}

static void
test_close_race(void)
{
	uint32_t seed = 12345;
	unsigned bad = 0, runs = 0;

	stress_current = "close race";
	for (int i = 0; i < 100; i++) {
		bad += !close_race_once(OCQ_MPMC, 3, 2, &seed);
		bad += !close_race_once(OCQ_SPSC, 1, 1, &seed);
		bad += !close_race_once(OCQ_MPSC, 3, 1, &seed);
		bad += !close_race_once(OCQ_SPMC, 1, 3, &seed);
		runs += 4;
	}
	stress_tap(bad == 0, "close race: %u runs, sent == received exactly once, refused never"
		      " received, all threads end; %u failed",
	    runs, bad);
}

/* --- lost wake-ups ------------------------------------------------------- */

struct pingpong {
	struct ocq_chan *a, *b;
	struct ocq_tx ta, tb;
	struct ocq_rx ra, rb;
	unsigned rounds;
};

static void *
ponger(void *p)
{
	struct pingpong *pp = p;
	void *v;

	while (ocq_recv(&pp->ra, &v) == 0) {
		if (ocq_send(&pp->tb, v) != 0)
			break;
		stress_tick();
	}
	ocq_tx_release(&pp->tb);
	return NULL;
}

static bool
pingpong_run(unsigned rounds)
{
	struct pingpong pp = {.rounds = rounds};
	pthread_t t;
	bool ok = true;
	void *v;

	if (ocq_chan_create(&pp.a, OCQ_SPSC, 1) || ocq_chan_create(&pp.b, OCQ_SPSC, 1) ||
	    ocq_chan_with_producers(pp.a, 1, &pp.ta) || ocq_chan_with_producers(pp.b, 1, &pp.tb) ||
	    ocq_rx_open(&pp.ra, pp.a) || ocq_rx_open(&pp.rb, pp.b))
		return false;
	pthread_create(&t, NULL, ponger, &pp);
	for (uintptr_t i = 1; i <= rounds; i++) {
		if (ocq_send(&pp.ta, (void *)i) || ocq_recv(&pp.rb, &v) || (uintptr_t)v != i) {
			ok = false;
			break;
		}
	}
	ocq_tx_release(&pp.ta);
	pthread_join(t, NULL);
	ok = ok && ocq_recv(&pp.rb, &v) == OCQ_CLOSED;
	ocq_rx_release(&pp.ra);
	ocq_rx_release(&pp.rb);
	ocq_chan_destroy(pp.a);
	ocq_chan_destroy(pp.b);
	return ok;
}

struct sleepy {
	struct ocq_chan *ch;
	_Atomic uint64_t got;
};

static void *
sleepy_consumer(void *p)
{
	struct sleepy *s = p;
	struct ocq_rx rx;
	void *v;

	if (ocq_rx_open(&rx, s->ch))
		return NULL;
	while (ocq_recv(&rx, &v) == 0) {
		atomic_fetch_add(&s->got, 1);
		stress_tick();
	}
	ocq_rx_release(&rx);
	return NULL;
}

/* Consumers that keep falling asleep: items trickle in one by one, with
 * pauses long enough for every consumer to reach the futex. */
static bool
sleepy_run(unsigned items)
{
	struct sleepy s = {0};
	struct ocq_tx tx;
	pthread_t t[4];

	if (ocq_chan_create(&s.ch, OCQ_MPMC, 2) || ocq_chan_with_producers(s.ch, 1, &tx))
		return false;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, sleepy_consumer, &s);
	for (uintptr_t i = 1; i <= items; i++) {
		if (ocq_send(&tx, (void *)i))
			return false;
		if (i % 64 == 0)
			usleep(200);
		else if (i % 4 == 0)
			sched_yield();
	}
	ocq_tx_release(&tx);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ocq_chan_destroy(s.ch);
	return atomic_load(&s.got) == items;
}

static void
test_lost_wakeup(void)
{
	stress_current = "lost wake-up: ping-pong";
	stress_tap(pingpong_run(items_per_run * 2), "lost wake-up: %u blocking ping-pong round trips",
	    items_per_run * 2);
	stress_current = "lost wake-up: sleepy consumers";
	stress_tap(sleepy_run(items_per_run), "lost wake-up: %u items to 4 consumers that keep sleeping",
	    items_per_run);
}

/* --- ordered delivery ---------------------------------------------------- */

struct ordered {
	struct ocq_chan *ch;
	struct ocq_tx tx[MAXT];
	unsigned count[MAXT];
	uint32_t seed[MAXT];
};

struct ordered_w {
	struct ordered *o;
	unsigned id;
};

static void *
ordered_producer(void *p)
{
	struct ordered_w *w = p;
	struct ordered *o = w->o;

	for (unsigned i = 0; i < o->count[w->id]; i++) {
		if (ocq_send(&o->tx[w->id], ENC(w->id, i)))
			break;
		if (rnd(&o->seed[w->id]) % 16 == 0)
			sched_yield();
		if ((i & 255) == 0)
			stress_tick();
	}
	ocq_tx_release(&o->tx[w->id]);
	return NULL;
}

static bool
ordered_run(unsigned np, size_t window, uint32_t *seed)
{
	struct ordered o = {0};
	struct ordered_w w[MAXT];
	pthread_t t[MAXT];
	struct ocq_rx rx;
	struct ocq_reorder r;
	bool ok = true;
	unsigned want_p = 0, want_i = 0;
	void *v;

	if (ocq_chan_create(&o.ch, OCQ_MPSC, 1 + rnd(seed) % 16) ||
	    ocq_chan_with_producers(o.ch, np, o.tx) || ocq_rx_open(&rx, o.ch) ||
	    ocq_reorder_init(&r, &rx, window))
		return false;
	for (unsigned i = 0; i < np; i++) {
		o.count[i] = rnd(seed) % (items_per_run / np + 1);
		o.seed[i] = rnd(seed) | 1;
		w[i] = (struct ordered_w){&o, i};
		pthread_create(&t[i], NULL, ordered_producer, &w[i]);
	}
	while (ocq_recv_ordered(&r, &v) == 0) {
		while (want_p < np && want_i == o.count[want_p]) {
			want_p++;
			want_i = 0;
		}
		if (DEC_P(v) != want_p || DEC_I(v) != want_i) {
			ok = false;
			break;
		}
		want_i++;
	}
	for (unsigned i = 0; i < np; i++)
		pthread_join(t[i], NULL);
	while (want_p < np && want_i == o.count[want_p]) {
		want_p++;
		want_i = 0;
	}
	ok = ok && want_p == np && r.cap == window;
	ocq_reorder_destroy(&r);
	ocq_rx_release(&rx);
	ocq_chan_destroy(o.ch);
	return ok;
}

static void
test_ordered(void)
{
	static const size_t windows[] = {1, 8, 64};
	uint32_t seed = 777;
	unsigned bad = 0, runs = 0;

	stress_current = "ordered";
	for (int rep = 0; rep < 5; rep++)
		for (size_t k = 0; k < 3; k++)
			for (unsigned np = 1; np <= MAXT; np *= 2) {
				runs++;
				bad += !ordered_run(np, windows[k], &seed);
			}
	stress_tap(bad == 0, "ordered delivery: %u runs, 1..8 ranges, windows 1/8/64, exact total"
		      " order, memory never past the window; %u failed",
	    runs, bad);
}

/* --- the unbounded intrusive MPSC ---------------------------------------- */

struct lnode {
	struct ocq_node n;
	unsigned p, i;
};

struct listrun {
	struct ocq_mpscq q;
	struct lnode *nodes[4];
	unsigned per;
};

struct list_w {
	struct listrun *l;
	unsigned id;
};

static void *
list_producer(void *p)
{
	struct list_w *w = p;

	for (unsigned i = 0; i < w->l->per; i++) {
		w->l->nodes[w->id][i] = (struct lnode){.p = w->id, .i = i};
		ocq_mpscq_push(&w->l->q, &w->l->nodes[w->id][i].n);
		if ((i & 1023) == 0)
			stress_tick();
	}
	return NULL;
}

static void
test_list(void)
{
	struct listrun l;
	struct list_w w[4];
	pthread_t t[4];
	unsigned next[4] = {0}, total = 0;
	bool ok = true;

	stress_current = "mpscq";
	ocq_mpscq_init(&l.q);
	l.per = items_per_run;
	for (unsigned i = 0; i < 4; i++) {
		l.nodes[i] = calloc(l.per, sizeof(struct lnode));
		w[i] = (struct list_w){&l, i};
		pthread_create(&t[i], NULL, list_producer, &w[i]);
	}
	while (total < 4 * l.per) {
		struct ocq_node *n;
		int rc = ocq_mpscq_pop(&l.q, &n);

		if (rc) {
			sched_yield();
			continue;
		}
		struct lnode *ln = (struct lnode *)n;

		if (ln->p >= 4 || ln->i != next[ln->p]) {
			ok = false;
			break;
		}
		next[ln->p]++;
		total++;
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ok = ok && ocq_mpscq_empty(&l.q);
	for (unsigned i = 0; i < 4; i++)
		free(l.nodes[i]);
	stress_tap(ok, "unbounded intrusive MPSC: 4 producers x %u nodes, exactly once, FIFO per"
		" producer",
	    items_per_run);
}

/* --- one shared sender, many threads ------------------------------------- */

struct shared {
	struct ocq_tx *tx;
	unsigned id;
	unsigned per;
};

static void *
shared_producer(void *p)
{
	struct shared *s = p;

	for (unsigned i = 0; i < s->per; i++) {
		if (ocq_send(s->tx, ENC(s->id, i)))
			break;
		if ((i & 255) == 0)
			stress_tick();
	}
	return NULL;
}

static void
test_shared_sender(void)
{
	struct ocq_chan *ch;
	struct ocq_tx tx;
	struct shared s[4];
	pthread_t t[4];
	struct ocq_rx rx;
	unsigned next[4] = {0}, total = 0;
	bool ok = true;
	void *v;

	stress_current = "shared sender";
	if (ocq_chan_create(&ch, OCQ_MPSC, 8) || ocq_chan_shared_sender(ch, &tx) ||
	    ocq_rx_open(&rx, ch)) {
		stress_tap(false, "shared sender: set-up");
		return;
	}
	for (unsigned i = 0; i < 4; i++) {
		s[i] = (struct shared){&tx, i, items_per_run / 4};
		pthread_create(&t[i], NULL, shared_producer, &s[i]);
	}
	while (total < 4 * (items_per_run / 4) && ocq_recv(&rx, &v) == 0) {
		unsigned p = DEC_P(v), i = DEC_I(v);

		if (p >= 4 || i != next[p]) {
			ok = false;
			break;
		}
		next[p]++;
		total++;
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ocq_tx_release(&tx);
	ok = ok && ocq_recv(&rx, &v) == OCQ_CLOSED;
	ocq_rx_release(&rx);
	ocq_chan_destroy(ch);
	stress_tap(ok, "shared sender: 4 threads through one handle, exactly once, FIFO per thread");
}

/* --- drain_parallel ------------------------------------------------------ */

static int
drain_sum(void *item, void *arg)
{
	atomic_fetch_add((_Atomic uint64_t *)arg, (uintptr_t)item);
	stress_tick();
	return 0;
}

struct dprod {
	struct ocq_tx *tx;
	unsigned n;
};

static void *
drain_producer(void *p)
{
	struct dprod *d = p;

	for (uintptr_t i = 1; i <= d->n; i++)
		if (ocq_send(d->tx, (void *)i))
			break;
	ocq_tx_release(d->tx);
	return NULL;
}

static void
test_drain(void)
{
	struct ocq_chan *ch;
	struct ocq_tx tx[2];
	struct dprod d[2];
	pthread_t t[2];
	_Atomic uint64_t sum = 0;
	uint64_t n = items_per_run, want = n * (n + 1);
	int rc;

	stress_current = "drain_parallel";
	if (ocq_chan_create(&ch, OCQ_MPMC, 16) || ocq_chan_with_producers(ch, 2, tx)) {
		stress_tap(false, "drain_parallel: set-up");
		return;
	}
	for (int i = 0; i < 2; i++) {
		d[i] = (struct dprod){&tx[i], (unsigned)n};
		pthread_create(&t[i], NULL, drain_producer, &d[i]);
	}
	rc = ocq_drain_parallel(ch, 3, drain_sum, &sum);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	stress_tap(rc == 0 && atomic_load(&sum) == want,
	    "drain_parallel: 3 drainers, 2 live producers, every item once (sum %" PRIu64
	    " want %" PRIu64 ")",
	    (uint64_t)atomic_load(&sum), want);
	ocq_chan_destroy(ch);
}

int
main(void)
{
	const char *e = getenv("OCQ_STRESS_ITEMS");

	if (e && atoi(e) > 64)
		items_per_run = (unsigned)atoi(e);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..15\n");
	stress_watchdog_start();
	test_matrix(false);
	test_matrix(true);
	test_close_race();
	test_lost_wakeup();
	test_ordered();
	test_list();
	test_shared_sender();
	test_drain();
	return stress_failed ? 1 : 0;
}
