/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_ocpool.c - ocpool side by side with a mutex + condvar thread pool
 * written the usual way (C-Thread-Pool's design, reimplemented here), in one
 * run, so every number shares the machine's state of the moment.
 *
 *   throughput  empty jobs from one (and two) submitting threads at 1, 2, 4
 *               and 8 workers: jobs per second, every job counted
 *   latency     submit-to-start at the same worker counts, jobs submitted in
 *               bursts (one per worker) with idle gaps, so workers sleep
 *   adaptive    CPU-bound and sleeping phases with a fixed amount of work:
 *               the adaptive pool's wall time against fixed pools of 1..32
 *
 * Nothing is pinned: each pool places its threads as it likes. Within a
 * case, round i runs every pool once, back to back, and ratios pair those
 * runs. bench/README.md (section "ocpool") says how to read the output.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define OCPOOL_IMPLEMENTATION
#include "ocpool/ocpool.h"
#include "bench_util.h"

#define LINE	  64
#define QCAP	  1024 /* ocpool's default queue; the bounded mutex pool gets the same */
#define MAX_RUNS  25
#define MAX_SLOTS 256 /* per-thread job counters; later threads share one */
#define BATCH	  64  /* ocpool_submit_batch() call size in the batch row */
#define NWORKERS  4
#define MAX_TP	  24
#define MAX_LAT	  8
#define MAX_TL	  2048 /* adaptive timeline samples */

/* latency: a burst of one job per worker, then this idle gap */
#define GAP_NS 200000
/* adaptive case: the CPU job's work and the sleeping job's range */
#define CPU_JOB_NS   1000000
#define SLEEP_MIN_MS 5
#define SLEEP_SPAN   16 /* sleeps are 5..20 ms */

#define BENCH_INLINE static inline __attribute__((always_inline))

extern char **environ;

static const unsigned worker_counts[NWORKERS] = {1, 2, 4, 8};

enum impl {
	IM_OCPOOL,
	IM_OCPOOL_BATCH,
	IM_MUTEX,     /* C-Thread-Pool's design, queue bounded at QCAP like ocpool's */
	IM_MUTEX_UNB, /* the same, unbounded, exactly as C-Thread-Pool queues */
	NIMPL,
};

static const char *const impl_name[NIMPL] = {"ocpool", "ocpool batch64", "mutex pool",
					     "mutex unbounded"};

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void
die(const char *what, int err)
{
	fprintf(stderr, "bench_ocpool: %s: %s\n", what, strerror(err));
	exit(1);
}

/* --- per-thread job counters ----------------------------------------------- */

/*
 * Every job bumps a counter only its own thread writes (a load and a store,
 * no read-modify-write), so counting costs both pools the same and does not
 * make the job a contention point. The totals must equal what was submitted.
 */
struct slot {
	_Alignas(LINE) _Atomic uint64_t n;
};

struct counters {
	_Alignas(LINE) _Atomic unsigned used;
	_Alignas(LINE) _Atomic uint64_t shared; /* threads beyond MAX_SLOTS */
	struct slot slot[MAX_SLOTS];
};

static _Thread_local struct counters *tl_ctrs;
static _Thread_local _Atomic uint64_t *tl_count;

static struct counters *
counters_new(void)
{
	struct counters *c = aligned_alloc(LINE, sizeof(*c));

	if (!c)
		die("allocating counters", ENOMEM);
	memset(c, 0, sizeof(*c));
	return c;
}

BENCH_INLINE void
count_job(struct counters *c)
{
	if (tl_ctrs != c) {
		unsigned i = atomic_fetch_add_explicit(&c->used, 1, memory_order_relaxed);

		tl_ctrs = c;
		tl_count = i < MAX_SLOTS ? &c->slot[i].n : NULL;
	}
	if (tl_count)
		atomic_store_explicit(tl_count,
				      atomic_load_explicit(tl_count, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&c->shared, 1, memory_order_relaxed);
}

/* Exact once the pool's threads are joined; a lower bound while they run. */
static uint64_t
counters_total(struct counters *c)
{
	unsigned used = atomic_load_explicit(&c->used, memory_order_relaxed);
	uint64_t sum = atomic_load_explicit(&c->shared, memory_order_relaxed);

	for (unsigned i = 0; i < used && i < MAX_SLOTS; i++)
		sum += atomic_load_explicit(&c->slot[i].n, memory_order_relaxed);
	return sum;
}

/* --- the mutex pool: C-Thread-Pool's design, written afresh ---------------- */

/*
 * The design of github.com/Pithikos/C-Thread-Pool: a linked-list job queue
 * behind one mutex; a binary semaphore (mutex, condvar, flag) "has_jobs"
 * that a push posts and that a worker re-posts after taking a job while
 * more wait, so wake-ups chain from worker to worker; one malloc per job,
 * freed by the worker after running it; a count of working threads under a
 * second mutex, kept on every job, so wait() can sleep until the queue is
 * empty and nobody works. Two departures, neither on the per-job path:
 * destroy wakes workers by passing the semaphore on (C-Thread-Pool
 * re-broadcasts once a second), and a queue bound is optional (cap = 0 is
 * C-Thread-Pool's unbounded queue; cap > 0 adds a not_full condvar so the
 * submitter waits like ocpool_submit() does).
 */
struct mp_job {
	struct mp_job *next;
	ocpool_fn fn;
	void *arg;
};

struct mp_bsem {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int v;
};

struct mpool {
	pthread_mutex_t qlock; /* the queue */
	pthread_cond_t not_full;
	struct mp_job *front, *rear;
	size_t len, cap;
	struct mp_bsem has_jobs;
	pthread_mutex_t cnt_lock; /* working count */
	pthread_cond_t all_idle;
	unsigned working;
	_Atomic bool keepalive;
	unsigned nthreads;
	pthread_t *tid;
};

static void
bsem_init(struct mp_bsem *s)
{
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->v = 0;
}

static void
bsem_destroy(struct mp_bsem *s)
{
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

static void
bsem_post(struct mp_bsem *s)
{
	pthread_mutex_lock(&s->lock);
	s->v = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void
bsem_wait(struct mp_bsem *s)
{
	pthread_mutex_lock(&s->lock);
	while (s->v != 1)
		pthread_cond_wait(&s->cond, &s->lock);
	s->v = 0;
	pthread_mutex_unlock(&s->lock);
}

/* Take the front job, or NULL; re-post has_jobs while more wait. */
static struct mp_job *
mp_pull(struct mpool *p)
{
	struct mp_job *j;

	pthread_mutex_lock(&p->qlock);
	j = p->front;
	if (j) {
		p->front = j->next;
		if (!p->front)
			p->rear = NULL;
		p->len--;
		if (p->len)
			bsem_post(&p->has_jobs);
	}
	pthread_mutex_unlock(&p->qlock);
	if (j && p->cap)
		pthread_cond_signal(&p->not_full);
	return j;
}

static void *
mp_worker(void *arg)
{
	struct mpool *p = arg;

	for (;;) {
		struct mp_job *j;

		bsem_wait(&p->has_jobs);
		if (!atomic_load_explicit(&p->keepalive, memory_order_acquire)) {
			bsem_post(&p->has_jobs); /* pass the stop on to the next sleeper */
			break;
		}
		pthread_mutex_lock(&p->cnt_lock);
		p->working++;
		pthread_mutex_unlock(&p->cnt_lock);
		j = mp_pull(p);
		if (j) {
			j->fn(j->arg);
			free(j);
		}
		pthread_mutex_lock(&p->cnt_lock);
		if (--p->working == 0)
			pthread_cond_signal(&p->all_idle);
		pthread_mutex_unlock(&p->cnt_lock);
	}
	return NULL;
}

static void mp_free(struct mpool *p);

/* Start n workers; cap 0 is an unbounded queue. Returns 0 or -errno. */
static int
mp_create(struct mpool **out, unsigned n, size_t cap)
{
	struct mpool *p = calloc(1, sizeof(*p));
	int rc = 0;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->tid = calloc(n, sizeof(*p->tid));
	if (!p->tid) {
		free(p);
		return -ENOMEM;
	}
	p->cap = cap;
	pthread_mutex_init(&p->qlock, NULL);
	pthread_cond_init(&p->not_full, NULL);
	pthread_mutex_init(&p->cnt_lock, NULL);
	pthread_cond_init(&p->all_idle, NULL);
	bsem_init(&p->has_jobs);
	atomic_init(&p->keepalive, true);
	for (; p->nthreads < n; p->nthreads++) {
		rc = pthread_create(&p->tid[p->nthreads], NULL, mp_worker, p);
		if (rc) {
			mp_free(p);
			return -rc;
		}
	}
	*out = p;
	return 0;
}

/* Queue fn(arg): one malloc, append, post has_jobs. Returns 0 or -ENOMEM. */
static int
mp_submit(struct mpool *p, ocpool_fn fn, void *arg)
{
	struct mp_job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->next = NULL;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&p->qlock);
	while (p->cap && p->len == p->cap)
		pthread_cond_wait(&p->not_full, &p->qlock);
	if (p->rear)
		p->rear->next = j;
	else
		p->front = j;
	p->rear = j;
	p->len++;
	bsem_post(&p->has_jobs);
	pthread_mutex_unlock(&p->qlock);
	return 0;
}

/* Sleep until the queue is empty and no worker runs a job. */
static void
mp_wait(struct mpool *p)
{
	pthread_mutex_lock(&p->cnt_lock);
	for (;;) {
		size_t len;

		pthread_mutex_lock(&p->qlock);
		len = p->len;
		pthread_mutex_unlock(&p->qlock);
		if (!len && !p->working)
			break;
		pthread_cond_wait(&p->all_idle, &p->cnt_lock);
	}
	pthread_mutex_unlock(&p->cnt_lock);
}

/* Stop and join every worker (after mp_wait: nothing is queued). */
static void
mp_stop(struct mpool *p)
{
	atomic_store_explicit(&p->keepalive, false, memory_order_release);
	bsem_post(&p->has_jobs);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->tid[i], NULL);
	p->nthreads = 0;
}

static void
mp_free(struct mpool *p)
{
	if (!p)
		return;
	mp_stop(p);
	while (p->front) {
		struct mp_job *j = p->front;

		p->front = j->next;
		free(j);
	}
	bsem_destroy(&p->has_jobs);
	pthread_cond_destroy(&p->all_idle);
	pthread_mutex_destroy(&p->cnt_lock);
	pthread_cond_destroy(&p->not_full);
	pthread_mutex_destroy(&p->qlock);
	free(p->tid);
	free(p);
}

/* --- one pool of either kind ----------------------------------------------- */

struct pool {
	enum impl im;
	struct ocpool *oc;
	struct mpool *mp;
};

static int
pool_start(struct pool *p, enum impl im, unsigned workers)
{
	struct ocpool_config cfg;

	p->im = im;
	p->oc = NULL;
	p->mp = NULL;
	if (im == IM_MUTEX || im == IM_MUTEX_UNB)
		return mp_create(&p->mp, workers, im == IM_MUTEX ? QCAP : 0);
	ocpool_config_init(&cfg);
	cfg.mode = OCPOOL_FIXED;
	cfg.workers = workers;
	cfg.queue_capacity = QCAP;
	return ocpool_create(&p->oc, &cfg);
}

static int
pool_submit(struct pool *p, ocpool_fn fn, void *arg)
{
	return p->mp ? mp_submit(p->mp, fn, arg) : ocpool_submit(p->oc, fn, arg, NULL);
}

/* Wait until every submitted job has run and every worker has exited. */
static void
pool_finish(struct pool *p)
{
	if (p->mp) {
		mp_wait(p->mp);
		mp_stop(p->mp);
	} else {
		ocpool_shutdown(p->oc, OCPOOL_DRAIN, NULL);
	}
}

static void
pool_free(struct pool *p)
{
	if (p->mp)
		mp_free(p->mp);
	else
		ocpool_destroy(p->oc);
	p->mp = NULL;
	p->oc = NULL;
}

/* --- statistics ------------------------------------------------------------ */

struct stat3 {
	double v[MAX_RUNS];
	unsigned n;
	double med, min, max;
};



static void
summarize(struct stat3 *s)
{
	double v[MAX_RUNS];

	if (!s->n) {
		s->med = s->min = s->max = __builtin_nan("");
		return;
	}
	memcpy(v, s->v, s->n * sizeof(*v));
	s->med = median(v, s->n);
	s->min = v[0];
	s->max = v[s->n - 1];
}

/* Median of the per-round ratios a[i] / b[i]: round i ran both back to back. */
static double
paired_ratio(const struct stat3 *a, const struct stat3 *b)
{
	double q[MAX_RUNS];
	unsigned n = 0;

	for (unsigned i = 0; i < a->n && i < b->n; i++)
		if (b->v[i] > 0)
			q[n++] = a->v[i] / b->v[i];
	return n ? median(q, n) : __builtin_nan("");
}

/* --- the benchmark's state ------------------------------------------------- */

struct tp_result {
	unsigned workers, submitters;
	enum impl im;
	uint64_t jobs; /* per run, after calibration */
	struct stat3 mjps;
	const char *error;
};

struct lat_result {
	unsigned workers;
	enum impl im;
	uint64_t samples; /* per run */
	struct stat3 p50, p99, period;
	const char *error;
};

struct fixed_run {
	char name[24];
	unsigned workers; /* 0: the adaptive pool */
	double wall_s;	  /* completed: the wall time; stopped: when it was stopped */
	bool stopped;
	uint64_t done;
	unsigned end_workers, peak_workers;
	uint64_t resizes;
	const char *error;
};

struct tl_sample {
	float t;
	unsigned short workers, threads;
	unsigned queued;
};

struct bench {
	const char *out;
	bool quick;
	unsigned runs, ncpu;
	double tp_target_s;
	unsigned bursts;
	unsigned cpu_jobs, sleep_jobs; /* per adaptive phase */
	unsigned ad_min, ad_max;
	uint64_t spin_iters;
	double others[3];   /* host: other processes' CPU share per section */
	double probe_ns[3]; /* host: one cache line's one-way trip between two CPUs */
	double busy0, own0, wall0;
	struct tp_result tp[MAX_TP];
	unsigned ntp;
	struct lat_result lat[MAX_LAT];
	unsigned nlat;
	struct fixed_run ad[8];
	unsigned nad;
	int best_fixed; /* index into ad[], -1: none completed */
	struct tl_sample tl[MAX_TL];
	unsigned ntl;
	bool adaptive_off; /* OC_RSYNC_ADAPTIVE_THREADS=0 in the environment */
	unsigned failures;
};

static void
fail(struct bench *b, const char **slot, const char *what, int rc)
{
	*slot = what;
	b->failures++;
	fprintf(stderr, "bench_ocpool: %s (%s)\n", what, rc ? strerror(rc < 0 ? -rc : rc) : "-");
}

/* --- throughput: empty jobs ------------------------------------------------ */

static int
empty_job(void *arg)
{
	count_job(arg);
	return 0;
}

struct tp_run {
	struct pool pool;
	struct counters *ctrs;
	pthread_barrier_t start;
	uint64_t per_submitter;
};

struct tp_sub {
	pthread_t tid;
	struct tp_run *run;
	int err;
};

static void *
tp_submitter(void *arg)
{
	struct tp_sub *s = arg;
	struct tp_run *r = s->run;
	uint64_t n = r->per_submitter;

	pthread_barrier_wait(&r->start);
	if (r->pool.im == IM_OCPOOL_BATCH) {
		void *args[BATCH];

		for (unsigned i = 0; i < BATCH; i++)
			args[i] = r->ctrs;
		for (uint64_t done = 0; done < n && !s->err;) {
			size_t k = n - done < BATCH ? (size_t)(n - done) : BATCH;

			s->err = ocpool_submit_batch(r->pool.oc, empty_job, args, k);
			done += k;
		}
		return NULL;
	}
	for (uint64_t i = 0; i < n && !s->err; i++)
		s->err = pool_submit(&r->pool, empty_job, r->ctrs);
	return NULL;
}

/*
 * One run: n empty jobs from `submitters` threads. The clock runs from the
 * start barrier until every job has run and the pool's threads are joined
 * (ocpool_shutdown with DRAIN; the mutex pool's wait, then stop). Returns 0
 * with *secs, or -errno; -EPROTO when the job count is wrong.
 */
static int
tp_measure(enum impl im, unsigned workers, unsigned submitters, uint64_t n, double *secs)
{
	struct tp_run r = {.per_submitter = n / submitters};
	struct tp_sub sub[2];
	uint64_t t0, t1, got;
	int rc;

	r.ctrs = counters_new();
	rc = pool_start(&r.pool, im, workers);
	if (rc) {
		free(r.ctrs);
		return rc;
	}
	pthread_barrier_init(&r.start, NULL, submitters + 1);
	for (unsigned i = 0; i < submitters; i++) {
		sub[i] = (struct tp_sub){.run = &r};
		if ((rc = pthread_create(&sub[i].tid, NULL, tp_submitter, &sub[i])))
			die("pthread_create", rc);
	}
	pthread_barrier_wait(&r.start);
	t0 = now_ns();
	for (unsigned i = 0; i < submitters; i++) {
		pthread_join(sub[i].tid, NULL);
		if (sub[i].err)
			rc = sub[i].err;
	}
	pool_finish(&r.pool);
	t1 = now_ns();
	got = counters_total(r.ctrs);
	pool_free(&r.pool);
	pthread_barrier_destroy(&r.start);
	free(r.ctrs);
	if (rc)
		return rc;
	if (got != r.per_submitter * submitters) {
		fprintf(stderr, "bench_ocpool: %s, %u workers: %llu of %llu jobs ran\n",
			impl_name[im], workers, (unsigned long long)got,
			(unsigned long long)(r.per_submitter * submitters));
		return -EPROTO;
	}
	*secs = (double)(t1 - t0) / 1e9;
	return 0;
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
 * The warm-up doubles as calibration: one run of 20,000 jobs (more if that
 * was too quick to time), then the count that makes a run last about
 * tp_target_s at the rate seen.
 */
static int
tp_calibrate(const struct bench *b, struct tp_result *r)
{
	uint64_t n = 20000, cap = (uint64_t)1 << 26;
	double secs = 0, want;
	int rc;

	for (;;) {
		rc = tp_measure(r->im, r->workers, r->submitters, n, &secs);
		if (rc)
			return rc;
		if (secs >= b->tp_target_s / 8 || n >= cap)
			break;
		n *= 4;
	}
	want = (double)n / secs * b->tp_target_s;
	if (want > (double)cap)
		want = (double)cap;
	if (want < 20000)
		want = 20000;
	r->jobs = round_count((uint64_t)want, r->submitters);
	return 0;
}

static void print_tp_row(const struct bench *b, const struct tp_result *r);

static void
tp_case(struct bench *b, unsigned workers, unsigned submitters)
{
	static const enum impl list[] = {IM_OCPOOL, IM_OCPOOL_BATCH, IM_MUTEX, IM_MUTEX_UNB};
	struct tp_result *rs = &b->tp[b->ntp];
	const unsigned n = sizeof(list) / sizeof(list[0]);
	int rc;

	if (b->ntp + n > MAX_TP)
		die("too many throughput cases", EOVERFLOW);
	b->ntp += n;
	for (unsigned i = 0; i < n; i++) {
		rs[i] =
		    (struct tp_result){.workers = workers, .submitters = submitters, .im = list[i]};
		if ((rc = tp_calibrate(b, &rs[i])))
			fail(b, &rs[i].error, "throughput warm-up failed", rc);
	}
	for (unsigned round = 0; round < b->runs; round++) {
		for (unsigned i = 0; i < n; i++) {
			struct tp_result *r = &rs[i];
			double secs;

			if (r->error)
				continue;
			if ((rc = tp_measure(r->im, workers, submitters, r->jobs, &secs))) {
				fail(b, &r->error, "throughput run failed", rc);
				continue;
			}
			r->mjps.v[r->mjps.n++] = (double)r->jobs / secs / 1e6;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		summarize(&rs[i].mjps);
		print_tp_row(b, &rs[i]);
	}
}

static const struct tp_result *
tp_find(const struct bench *b, unsigned workers, unsigned submitters, enum impl im)
{
	for (unsigned i = 0; i < b->ntp; i++) {
		const struct tp_result *r = &b->tp[i];

		if (r->workers == workers && r->submitters == submitters && r->im == im &&
		    !r->error)
			return r;
	}
	return NULL;
}

/* ocpool (single submits) over the row's pool, paired by round. */
static double
tp_ratio(const struct bench *b, unsigned workers, unsigned submitters, enum impl peer)
{
	const struct tp_result *o = tp_find(b, workers, submitters, IM_OCPOOL);
	const struct tp_result *p = tp_find(b, workers, submitters, peer);

	return o && p ? paired_ratio(&o->mjps, &p->mjps) : __builtin_nan("");
}

/* --- latency: submit to start ---------------------------------------------- */

struct lat_slot {
	uint64_t t_sub;
	uint64_t t_run;
};

static int
lat_job(void *arg)
{
	struct lat_slot *s = arg;

	s->t_run = now_ns();
	return 0;
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double
pct(const uint64_t *v, size_t n, double p)
{
	size_t k = (size_t)(p * (double)n + 0.999999);

	return (double)v[k ? k - 1 : 0];
}

/*
 * One run: `bursts` times, submit one job per worker back to back, each
 * stamped just before its submit, then sleep GAP_NS so every worker goes
 * idle (ocpool's workers spin for microseconds, then sleep on a futex; the
 * mutex pool's sleep at once). The job stamps its first instruction.
 * Returns 0 with p50, p99 (us) and the mean burst period (us), or -errno.
 */
static int
lat_measure(enum impl im, unsigned workers, unsigned bursts, double *p50, double *p99,
	    double *period)
{
	size_t n = (size_t)bursts * workers;
	struct lat_slot *slots = calloc(n, sizeof(*slots));
	uint64_t *lat = calloc(n, sizeof(*lat)), t0, t1 = 0;
	struct pool pool;
	int rc;

	if (!slots || !lat) {
		free(slots);
		free(lat);
		return -ENOMEM;
	}
	rc = pool_start(&pool, im, workers);
	if (rc)
		goto out;
	sleep_ns(20000000); /* let every worker start and go to sleep */
	t0 = now_ns();
	for (unsigned k = 0; k < bursts && !rc; k++) {
		for (unsigned j = 0; j < workers && !rc; j++) {
			struct lat_slot *s = &slots[(size_t)k * workers + j];

			s->t_sub = now_ns();
			rc = pool_submit(&pool, lat_job, s);
		}
		t1 = now_ns();
		sleep_ns(GAP_NS);
	}
	pool_finish(&pool);
	pool_free(&pool);
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!slots[i].t_run || slots[i].t_run < slots[i].t_sub) {
			rc = -EPROTO;
			goto out;
		}
		lat[i] = slots[i].t_run - slots[i].t_sub;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	*p50 = pct(lat, n, 0.50) / 1e3;
	*p99 = pct(lat, n, 0.99) / 1e3;
	*period = bursts > 1 ? (double)(t1 - t0) / 1e3 / (bursts - 1) : 0;
out:
	free(slots);
	free(lat);
	return rc;
}

static void print_lat_row(const struct bench *b, const struct lat_result *r);

static void
lat_case(struct bench *b, unsigned workers)
{
	static const enum impl list[] = {IM_OCPOOL, IM_MUTEX};
	const unsigned n = sizeof(list) / sizeof(list[0]);
	struct lat_result *rs = &b->lat[b->nlat];
	double p50, p99, period;
	int rc;

	if (b->nlat + n > MAX_LAT)
		die("too many latency cases", EOVERFLOW);
	b->nlat += n;
	for (unsigned i = 0; i < n; i++) {
		rs[i] = (struct lat_result){
		    .workers = workers, .im = list[i], .samples = (uint64_t)b->bursts * workers};
		/* warm-up: a quarter-length run, discarded */
		if ((rc = lat_measure(list[i], workers, b->bursts / 4 + 1, &p50, &p99, &period)))
			fail(b, &rs[i].error, "latency warm-up failed", rc);
	}
	for (unsigned round = 0; round < b->runs; round++) {
		for (unsigned i = 0; i < n; i++) {
			struct lat_result *r = &rs[i];

			if (r->error)
				continue;
			if ((rc = lat_measure(r->im, workers, b->bursts, &p50, &p99, &period))) {
				fail(b, &r->error, "latency run failed", rc);
				continue;
			}
			r->p50.v[r->p50.n++] = p50;
			r->p99.v[r->p99.n++] = p99;
			r->period.v[r->period.n++] = period;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		summarize(&rs[i].p50);
		summarize(&rs[i].p99);
		summarize(&rs[i].period);
		print_lat_row(b, &rs[i]);
	}
}

static const struct lat_result *
lat_find(const struct bench *b, unsigned workers, enum impl im)
{
	for (unsigned i = 0; i < b->nlat; i++)
		if (b->lat[i].workers == workers && b->lat[i].im == im && !b->lat[i].error)
			return &b->lat[i];
	return NULL;
}

/* --- adaptive vs fixed: CPU-bound and sleeping phases ---------------------- */

/* Burn CPU for `iters` rounds of xorshift; the asm keeps the loop. */
static void
spin(uint64_t iters)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (uint64_t i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		__asm__ __volatile__("" : "+r"(x));
	}
}

static uint64_t
thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * Iterations worth CPU_JOB_NS of this thread's CPU time. CPU time, not wall
 * time, so a busy host does not inflate the work; the median of 7 tries.
 */
static uint64_t
spin_calibrate(void)
{
	const uint64_t probe = 1000000;
	double per[7];

	spin(probe); /* warm up the frequency governor and the caches */
	for (int i = 0; i < 7; i++) {
		uint64_t t0 = thread_cpu_ns();

		spin(probe);
		per[i] = (double)(thread_cpu_ns() - t0) / (double)probe;
	}
	return (uint64_t)((double)CPU_JOB_NS / median(per, 7));
}

struct ad_job {
	struct counters *ctrs;
	uint64_t spin_iters; /* CPU job: this much work */
	unsigned sleep_ms;   /* sleeping job: this long, inside a blocking hint */
};

static int
ad_job_fn(void *arg)
{
	struct ad_job *j = arg;

	if (j->sleep_ms) {
		ocpool_blocking_begin();
		sleep_ns((uint64_t)j->sleep_ms * 1000000u);
		ocpool_blocking_end();
	} else {
		spin(j->spin_iters);
	}
	count_job(j->ctrs);
	return 0;
}

/* The work, the same for every pool: CPU, sleep, CPU, sleep. */
static struct ad_job *
ad_jobs(const struct bench *b, struct counters *c, size_t *n)
{
	size_t total = 2 * ((size_t)b->cpu_jobs + b->sleep_jobs), k = 0;
	struct ad_job *jobs = calloc(total, sizeof(*jobs));
	uint32_t x = 2463534242u;

	if (!jobs)
		die("allocating jobs", ENOMEM);
	for (int phase = 0; phase < 4; phase++) {
		bool cpu = phase % 2 == 0;
		unsigned m = cpu ? b->cpu_jobs : b->sleep_jobs;

		for (unsigned i = 0; i < m; i++, k++) {
			jobs[k].ctrs = c;
			if (cpu) {
				jobs[k].spin_iters = b->spin_iters;
				continue;
			}
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			jobs[k].sleep_ms = SLEEP_MIN_MS + x % SLEEP_SPAN;
		}
	}
	*n = total;
	return jobs;
}

static void
ad_sample(struct bench *b, struct ocpool *p, uint64_t t0, struct fixed_run *r, bool timeline)
{
	struct ocpool_metrics m;

	ocpool_get_metrics(p, &m);
	if (m.workers > r->peak_workers)
		r->peak_workers = m.workers;
	if (timeline && b->ntl < MAX_TL)
		b->tl[b->ntl++] = (struct tl_sample){(float)((double)(now_ns() - t0) / 1e9),
						     (unsigned short)m.workers,
						     (unsigned short)m.threads, (unsigned)m.queued};
}

/*
 * One pool through the whole workload. The clock runs from the first submit
 * until the last job has finished (the per-thread counters reach the total),
 * not counting create and shutdown. A run still going at limit_s is stopped
 * (it cannot be the best); it then reports the time it was stopped at.
 */
static void
ad_run(struct bench *b, struct fixed_run *r, double limit_s)
{
	struct counters *c = counters_new();
	struct ocpool_config cfg;
	struct ocpool_metrics m;
	struct ocpool *p;
	struct ad_job *jobs;
	uint64_t t0, t, next_sample, limit = (uint64_t)(limit_s * 1e9);
	size_t n, i = 0;
	bool timeline = r->workers == 0;
	int rc;

	jobs = ad_jobs(b, c, &n);
	ocpool_config_init(&cfg);
	cfg.queue_capacity = QCAP;
	if (r->workers) {
		cfg.mode = OCPOOL_FIXED;
		cfg.workers = r->workers;
	} else {
		cfg.mode = OCPOOL_ADAPTIVE;
		cfg.min = b->ad_min;
		cfg.max = b->ad_max;
	}
	if ((rc = ocpool_create(&p, &cfg))) {
		fail(b, &r->error, "ocpool_create failed", rc);
		free(jobs);
		free(c);
		return;
	}
	t0 = now_ns();
	next_sample = t0;
	while (i < n) {
		t = now_ns();
		if (t - t0 >= limit) {
			r->stopped = true;
			break;
		}
		if (t >= next_sample) {
			ad_sample(b, p, t0, r, timeline);
			next_sample = t + 100000000u;
		}
		rc = ocpool_submit_timeout(p, ad_job_fn, &jobs[i], NULL, 20000000u);
		if (rc == 0)
			i++;
		else if (rc != -ETIMEDOUT)
			break;
	}
	while (!r->stopped && !(rc && rc != -ETIMEDOUT)) {
		t = now_ns();
		if (counters_total(c) >= n)
			break;
		if (t - t0 >= limit) {
			r->stopped = true;
			break;
		}
		if (t >= next_sample) {
			ad_sample(b, p, t0, r, timeline);
			next_sample = t + 100000000u;
		}
		sleep_ns(1000000);
	}
	t = now_ns();
	r->wall_s = (double)(t - t0) / 1e9;
	ocpool_get_metrics(p, &m);
	r->end_workers = m.workers;
	r->resizes = m.resizes;
	if (m.workers > r->peak_workers)
		r->peak_workers = m.workers;
	ocpool_shutdown(p, r->stopped ? OCPOOL_CANCEL : OCPOOL_DRAIN, NULL);
	ocpool_destroy(p);
	r->done = counters_total(c);
	if (rc && rc != -ETIMEDOUT)
		fail(b, &r->error, "submit failed", rc);
	else if (!r->stopped && r->done != n)
		fail(b, &r->error, "wrong number of jobs ran", EPROTO);
	free(jobs);
	free(c);
}

static void print_ad_row(const struct bench *b, const struct fixed_run *r);

/*
 * Fixed pools from the largest down, each stopped once it is slower than
 * the best so far (it cannot be the best then), then the adaptive pool,
 * stopped at 1.5x the best fixed (the target is 1.10x).
 */
static void
ad_case(struct bench *b)
{
	static const unsigned sizes[] = {32, 16, 8, 4, 2, 1};
	double first_cap = b->quick ? 20 : 120;

	b->best_fixed = -1;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct fixed_run *r = &b->ad[b->nad++];
		double limit = b->best_fixed < 0 ? first_cap : b->ad[b->best_fixed].wall_s;

		*r = (struct fixed_run){.workers = sizes[s]};
		snprintf(r->name, sizeof(r->name), "fixed %u", sizes[s]);
		ad_run(b, r, limit);
		if (!r->error && !r->stopped &&
		    (b->best_fixed < 0 || r->wall_s < b->ad[b->best_fixed].wall_s))
			b->best_fixed = (int)(r - b->ad);
	}
	struct fixed_run *a = &b->ad[b->nad++];

	*a = (struct fixed_run){.workers = 0};
	snprintf(a->name, sizeof(a->name), "adaptive %u..%u", b->ad_min, b->ad_max);
	ad_run(b, a, b->best_fixed < 0 ? first_cap : 1.5 * b->ad[b->best_fixed].wall_s);
	for (unsigned i = 0; i < b->nad; i++)
		print_ad_row(b, &b->ad[i]);
}

/* Adaptive over the best fixed; a lower bound when the adaptive run was stopped. */
static double
ad_ratio(const struct bench *b)
{
	const struct fixed_run *a = &b->ad[b->nad - 1];

	if (b->nad == 0 || b->best_fixed < 0 || a->error)
		return __builtin_nan("");
	return a->wall_s / b->ad[b->best_fixed].wall_s;
}

/* --- host check ------------------------------------------------------------ */

static double
ts_sec(time_t s, long ns)
{
	return (double)s + (double)ns / 1e9;
}

/* Seconds all tasks ran on this machine's CPUs (/proc/stat), or NAN. */
static double
cpus_busy(void)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8];
	char line[512];
	double secs = __builtin_nan("");

	if (!f)
		return secs;
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8)
		/* user nice system idle iowait irq softirq steal: all but idle, iowait */
		secs = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
		       (double)sysconf(_SC_CLK_TCK);
	fclose(f);
	return secs;
}

static double
own_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ts_sec(ru.ru_utime.tv_sec, ru.ru_utime.tv_usec * 1000) +
	       ts_sec(ru.ru_stime.tv_sec, ru.ru_stime.tv_usec * 1000);
}


/* Two threads pinned to two CPUs pass one cache line back and forth. */
struct probe {
	_Alignas(LINE) _Atomic uint32_t turn;
	_Alignas(LINE) uint32_t trips;
	uint64_t ns;
};

static void *
probe_a(void *arg)
{
	struct probe *p = arg;
	uint64_t t0 = now_ns();

	for (uint32_t i = 0; i < p->trips; i++) {
		atomic_store_explicit(&p->turn, 2 * i + 1, memory_order_release);
		while (atomic_load_explicit(&p->turn, memory_order_acquire) != 2 * i + 2)
			cpu_pause();
	}
	p->ns = now_ns() - t0;
	return NULL;
}

static void *
probe_b(void *arg)
{
	struct probe *p = arg;

	for (uint32_t i = 0; i < p->trips; i++) {
		while (atomic_load_explicit(&p->turn, memory_order_acquire) != 2 * i + 1)
			cpu_pause();
		atomic_store_explicit(&p->turn, 2 * i + 2, memory_order_release);
	}
	return NULL;
}

/*
 * The host check: ns for one cache line to go from one CPU to another, the
 * median of three tries, on the first two CPUs this process may use (only
 * these probe threads are pinned). NAN with fewer than two CPUs.
 */
static double
probe(void)
{
	void *(*const fn[2])(void *) = {probe_a, probe_b};
	cpu_set_t mask, one;
	int cpu[2], n = 0;
	double v[3];

	if (sched_getaffinity(0, sizeof(mask), &mask))
		return __builtin_nan("");
	for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &mask))
			cpu[n++] = i;
	if (n < 2)
		return __builtin_nan("");
	for (int t = 0; t < 3; t++) {
		struct probe *p = aligned_alloc(LINE, sizeof(*p));
		pthread_t tid[2];

		if (!p)
			return __builtin_nan("");
		memset(p, 0, sizeof(*p));
		p->trips = 20000;
		for (int k = 0; k < 2; k++) {
			pthread_attr_t attr;
			int rc;

			pthread_attr_init(&attr);
			CPU_ZERO(&one);
			CPU_SET(cpu[k], &one);
			pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
			rc = pthread_create(&tid[k], &attr, fn[k], p);
			pthread_attr_destroy(&attr);
			if (rc)
				die("pthread_create", rc);
		}
		pthread_join(tid[0], NULL);
		pthread_join(tid[1], NULL);
		v[t] = (double)p->ns / (2.0 * p->trips);
		free(p);
	}
	return median(v, 3);
}

static void
section_begin(struct bench *b, int k)
{
	b->probe_ns[k] = probe();
	if (b->probe_ns[k] == b->probe_ns[k])
		printf("\nhost check: one cache line took %.0f ns from one CPU to the other\n",
		       b->probe_ns[k]);
	b->busy0 = cpus_busy();
	b->own0 = own_cpu();
	b->wall0 = (double)now_ns() / 1e9;
}

static void
section_end(struct bench *b, int k)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	double busy = cpus_busy() - b->busy0, own = own_cpu() - b->own0;
	double wall = (double)now_ns() / 1e9 - b->wall0;
	double x = (busy - own) / (wall * (double)(online > 0 ? online : 1));

	b->others[k] = x < 0 ? 0 : x;
	if (x == x)
		printf("host: other processes used %.0f%% of the machine's %ld CPUs during this "
		       "table\n",
		       100 * b->others[k], online);
}

/* --- printing -------------------------------------------------------------- */

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
fmt_ratio(char *buf, size_t size, double x)
{
	if (x == x)
		snprintf(buf, size, "%.2fx", x);
	else
		snprintf(buf, size, "--");
}

static void
print_tp_header(const struct bench *b, unsigned submitters)
{
	printf("\nEmpty-job throughput, %u submitting thread%s: million jobs/s, higher is better;\n"
	       "ocpool/this = ocpool (one submit per job) over this row, paired by round\n"
	       "(above 1: ocpool is faster). Median, min and max of %u interleaved rounds\n"
	       "after one warm-up run each; the clock stops when every job has run and the\n"
	       "pool's threads are joined\n\n",
	       submitters, submitters == 1 ? "" : "s", b->runs);
	printf("%-8s %-16s %8s %8s %8s %7s %12s\n", "workers", "impl", "median", "min", "max",
	       "jobs", "ocpool/this");
}

static void
print_tp_row(const struct bench *b, const struct tp_result *r)
{
	char n[16], cell[16];

	printf("%-8u %-16s ", r->workers, impl_name[r->im]);
	if (r->error) {
		printf("%s\n", r->error);
		return;
	}
	fmt_count(n, sizeof(n), r->jobs);
	if (r->im == IM_OCPOOL)
		snprintf(cell, sizeof(cell), "--");
	else
		fmt_ratio(cell, sizeof(cell), tp_ratio(b, r->workers, r->submitters, r->im));
	printf("%8.2f %8.2f %8.2f %7s %12s\n", r->mjps.med, r->mjps.min, r->mjps.max, n, cell);
	fflush(stdout);
}

static void
print_lat_header(const struct bench *b)
{
	printf("\nSubmit-to-start latency, paced load: a burst of one job per worker, then a\n"
	       "%d us idle gap (workers go to sleep), %u bursts per run; from just before\n"
	       "the submit to the job's first instruction (CLOCK_MONOTONIC). Microseconds,\n"
	       "LOWER is better; each run's p50 and p99, median (min..max) over %u rounds;\n"
	       "o/this = ocpool over this row, paired by round (below 1: ocpool is faster)\n\n",
	       GAP_NS / 1000, b->bursts, b->runs);
	printf("%-8s %-12s %8s %17s %8s %17s %8s %8s %7s\n", "workers", "impl", "p50", "(min..max)",
	       "p99", "(min..max)", "p50o/th", "p99o/th", "period");
}

static void
print_lat_row(const struct bench *b, const struct lat_result *r)
{
	const struct lat_result *o = lat_find(b, r->workers, IM_OCPOOL);
	char mm50[24], mm99[24], c50[16], c99[16];

	printf("%-8u %-12s ", r->workers, impl_name[r->im]);
	if (r->error) {
		printf("%s\n", r->error);
		return;
	}
	snprintf(mm50, sizeof(mm50), "(%.1f..%.1f)", r->p50.min, r->p50.max);
	snprintf(mm99, sizeof(mm99), "(%.1f..%.1f)", r->p99.min, r->p99.max);
	if (r->im == IM_OCPOOL || !o) {
		snprintf(c50, sizeof(c50), "--");
		snprintf(c99, sizeof(c99), "--");
	} else {
		fmt_ratio(c50, sizeof(c50), paired_ratio(&o->p50, &r->p50));
		fmt_ratio(c99, sizeof(c99), paired_ratio(&o->p99, &r->p99));
	}
	printf("%8.1f %17s %8.1f %17s %8s %8s %5.0fus\n", r->p50.med, mm50, r->p99.med, mm99, c50,
	       c99, r->period.med);
	fflush(stdout);
}

static void
print_ad_header(const struct bench *b)
{
	printf("\nAdaptive vs fixed sizes: four phases, CPU / sleep / CPU / sleep: %u jobs of\n"
	       "~%d ms CPU, then %u jobs that sleep %d..%d ms inside ocpool_blocking_begin/end,\n"
	       "twice; the same work for every pool, one run each. Wall time from the first\n"
	       "submit to the last job's end, LOWER is better. Fixed pools run from 32 down;\n"
	       "one still going when it passes the best so far is stopped (it cannot be the\n"
	       "best). The adaptive pool (min %u, max %u, starting at min) runs last and is\n"
	       "stopped at 1.5x the best fixed.%s\n\n",
	       b->cpu_jobs, CPU_JOB_NS / 1000000, b->sleep_jobs, SLEEP_MIN_MS,
	       SLEEP_MIN_MS + SLEEP_SPAN - 1, b->ad_min, b->ad_max,
	       b->adaptive_off ? "\nNOTE: OC_RSYNC_ADAPTIVE_THREADS=0 is set: the adaptive pool "
				 "will not resize."
			       : "");
	printf("%-16s %9s %10s %8s %8s %8s\n", "pool", "wall s", "/best", "end wkr", "peak wkr",
	       "resizes");
}

static void
print_ad_row(const struct bench *b, const struct fixed_run *r)
{
	char wall[24], rel[24];

	printf("%-16s ", r->name);
	if (r->error) {
		printf("%s\n", r->error);
		return;
	}
	snprintf(wall, sizeof(wall), "%s%.2f", r->stopped ? ">" : "", r->wall_s);
	if (b->best_fixed >= 0 && &b->ad[b->best_fixed] == r)
		snprintf(rel, sizeof(rel), "best");
	else if (b->best_fixed >= 0)
		snprintf(rel, sizeof(rel), "%s%.2fx", r->stopped ? ">" : "",
			 r->wall_s / b->ad[b->best_fixed].wall_s);
	else
		snprintf(rel, sizeof(rel), "--");
	printf("%9s %10s %8u %8u %8llu%s\n", wall, rel, r->end_workers, r->peak_workers,
	       (unsigned long long)r->resizes, r->stopped ? "  (stopped)" : "");
	fflush(stdout);
}

/* --- targets --------------------------------------------------------------- */

struct target {
	char text[96];
	double ratio;
	double limit;
	bool at_most;
};

static bool
target_met(const struct target *t)
{
	return t->ratio == t->ratio && (t->at_most ? t->ratio <= t->limit : t->ratio >= t->limit);
}

/* Throughput: ocpool >= 1.5x each mutex pool variant at every worker count;
 * adaptive: wall time <= 1.10x the best fixed size. */
static unsigned
targets(const struct bench *b, struct target *t)
{
	static const enum impl peers[] = {IM_MUTEX, IM_MUTEX_UNB};
	unsigned n = 0;

	for (unsigned w = 0; w < NWORKERS; w++) {
		for (unsigned k = 0; k < 2; k++) {
			t[n] = (struct target){.limit = 1.5,
					       .ratio = tp_ratio(b, worker_counts[w], 1, peers[k])};
			snprintf(t[n].text, sizeof(t[n].text),
				 "throughput %u worker%s: ocpool >= 1.5x %s", worker_counts[w],
				 worker_counts[w] == 1 ? " " : "s", impl_name[peers[k]]);
			n++;
		}
	}
	t[n] = (struct target){.limit = 1.10, .at_most = true, .ratio = ad_ratio(b)};
	if (b->best_fixed >= 0)
		snprintf(t[n].text, sizeof(t[n].text),
			 "adaptive wall time <= 1.10x best fixed (%s)", b->ad[b->best_fixed].name);
	else
		snprintf(t[n].text, sizeof(t[n].text), "adaptive wall time <= 1.10x best fixed");
	return n + 1;
}

static void
print_targets(const struct bench *b)
{
	struct target t[2 * NWORKERS + 1];
	unsigned n = targets(b, t);
	const struct fixed_run *a = b->nad ? &b->ad[b->nad - 1] : NULL;
	double others = 0;

	printf("\ntargets (throughput: median of per-round ocpool/peer, higher is better;\n"
	       "adaptive: wall time over the best fixed size's, lower is better)\n\n");
	for (unsigned i = 0; i < n; i++) {
		bool lower_bound = i == n - 1 && a && a->stopped;

		if (t[i].ratio == t[i].ratio)
			printf("  %-56s %s%5.2fx  %s\n", t[i].text, lower_bound ? ">" : " ",
			       t[i].ratio, target_met(&t[i]) ? "MET" : "NOT MET");
		else
			printf("  %-56s %7s  NOT MET (not measured)\n", t[i].text, "--");
	}
	for (int k = 0; k < 3; k++)
		others = b->others[k] > others ? b->others[k] : others;
	if (others > 0.10)
		printf("\ncaution: the host was busy (other processes used up to %.0f%% of the "
		       "CPUs);\nabsolute numbers are low and noisy. Re-run on a quiet machine "
		       "before\ntrusting a close call.\n",
		       100 * others);
}

/* --- JSON ------------------------------------------------------------------ */


static void
json_stat(FILE *f, const char *name, const struct stat3 *s)
{
	fprintf(f, "\"%s\": {\"median\": ", name);
	json_num(f, s->med);
	fprintf(f, ", \"min\": ");
	json_num(f, s->min);
	fprintf(f, ", \"max\": ");
	json_num(f, s->max);
	fprintf(f, ", \"runs\": [");
	for (unsigned i = 0; i < s->n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_num(f, s->v[i]);
	}
	fprintf(f, "]}");
}

static void
json_tp(FILE *f, const struct bench *b)
{
	fprintf(f, "  \"throughput\": {\n    \"unit\": \"million jobs/s\", \"better\": \"higher\","
		   "\n    \"job\": \"empty (bumps a per-thread counter)\",\n    \"rows\": [\n");
	for (unsigned i = 0; i < b->ntp; i++) {
		const struct tp_result *r = &b->tp[i];

		fprintf(f, "      {\"workers\": %u, \"submitters\": %u, \"impl\": \"%s\", ",
			r->workers, r->submitters, impl_name[r->im]);
		if (r->error) {
			fprintf(f, "\"error\": \"%s\"}", r->error);
		} else {
			fprintf(f, "\"jobs_per_run\": %llu, ", (unsigned long long)r->jobs);
			json_stat(f, "mjobs_per_s", &r->mjps);
			fprintf(f, "}");
		}
		fprintf(f, "%s\n", i + 1 < b->ntp ? "," : "");
	}
	fprintf(f, "    ],\n    \"ratios\": [\n");
	for (unsigned i = 0, first = 1; i < b->ntp; i++) {
		const struct tp_result *r = &b->tp[i];

		if (r->im == IM_OCPOOL)
			continue;
		fprintf(f,
			"%s      {\"workers\": %u, \"submitters\": %u, \"ocpool\": \"ocpool\", "
			"\"peer\": \"%s\", \"ratio\": ",
			first ? "" : ",\n", r->workers, r->submitters, impl_name[r->im]);
		json_num(f, tp_ratio(b, r->workers, r->submitters, r->im));
		fprintf(f, "}");
		first = 0;
	}
	fprintf(f, "\n    ]\n  },\n");
}

static void
json_lat(FILE *f, const struct bench *b)
{
	fprintf(f,
		"  \"latency\": {\n    \"unit\": \"us\", \"better\": \"lower\", \"load\": "
		"\"bursts of one job per worker, then an idle gap\",\n    \"gap_us\": %d, "
		"\"bursts_per_run\": %u,\n    \"rows\": [\n",
		GAP_NS / 1000, b->bursts);
	for (unsigned i = 0; i < b->nlat; i++) {
		const struct lat_result *r = &b->lat[i];
		const struct lat_result *o = lat_find(b, r->workers, IM_OCPOOL);

		fprintf(f, "      {\"workers\": %u, \"impl\": \"%s\", ", r->workers,
			impl_name[r->im]);
		if (r->error) {
			fprintf(f, "\"error\": \"%s\"}", r->error);
		} else {
			fprintf(f, "\"samples_per_run\": %llu, ", (unsigned long long)r->samples);
			json_stat(f, "p50_us", &r->p50);
			fprintf(f, ", ");
			json_stat(f, "p99_us", &r->p99);
			fprintf(f, ", ");
			json_stat(f, "burst_period_us", &r->period);
			if (r->im != IM_OCPOOL && o) {
				fprintf(f, ", \"ocpool_over_this_p50\": ");
				json_num(f, paired_ratio(&o->p50, &r->p50));
				fprintf(f, ", \"ocpool_over_this_p99\": ");
				json_num(f, paired_ratio(&o->p99, &r->p99));
			}
			fprintf(f, "}");
		}
		fprintf(f, "%s\n", i + 1 < b->nlat ? "," : "");
	}
	fprintf(f, "    ]\n  },\n");
}

static void
json_ad(FILE *f, const struct bench *b)
{
	fprintf(
	    f,
	    "  \"adaptive\": {\n    \"phases\": [{\"kind\": \"cpu\", \"jobs\": %u, "
	    "\"cpu_ms\": %d}, {\"kind\": \"sleep\", \"jobs\": %u, \"sleep_ms\": [%d, %d]}, "
	    "{\"kind\": \"cpu\", \"jobs\": %u, \"cpu_ms\": %d}, {\"kind\": \"sleep\", \"jobs\": "
	    "%u, \"sleep_ms\": [%d, %d]}],\n    \"spin_iters_per_cpu_job\": %llu,\n"
	    "    \"adaptive_min\": %u, \"adaptive_max\": %u, \"adaptive_resizing_off\": %s,\n"
	    "    \"unit\": \"s\", \"better\": \"lower\",\n    \"pools\": [\n",
	    b->cpu_jobs, CPU_JOB_NS / 1000000, b->sleep_jobs, SLEEP_MIN_MS,
	    SLEEP_MIN_MS + SLEEP_SPAN - 1, b->cpu_jobs, CPU_JOB_NS / 1000000, b->sleep_jobs,
	    SLEEP_MIN_MS, SLEEP_MIN_MS + SLEEP_SPAN - 1, (unsigned long long)b->spin_iters,
	    b->ad_min, b->ad_max, b->adaptive_off ? "true" : "false");
	for (unsigned i = 0; i < b->nad; i++) {
		const struct fixed_run *r = &b->ad[i];

		fprintf(f, "      {\"pool\": \"%s\", \"mode\": \"%s\", ", r->name,
			r->workers ? "fixed" : "adaptive");
		if (r->workers)
			fprintf(f, "\"workers\": %u, ", r->workers);
		if (r->error) {
			fprintf(f, "\"error\": \"%s\"}", r->error);
		} else {
			fprintf(f, "\"wall_s\": ");
			json_num(f, r->wall_s);
			fprintf(f,
				", \"stopped\": %s, \"jobs_done\": %llu, \"end_workers\": %u, "
				"\"peak_workers\": %u, \"resizes\": %llu}",
				r->stopped ? "true" : "false", (unsigned long long)r->done,
				r->end_workers, r->peak_workers, (unsigned long long)r->resizes);
		}
		fprintf(f, "%s\n", i + 1 < b->nad ? "," : "");
	}
	fprintf(f, "    ],\n    \"best_fixed\": ");
	if (b->best_fixed >= 0)
		fprintf(f, "\"%s\"", b->ad[b->best_fixed].name);
	else
		fprintf(f, "null");
	fprintf(f, ",\n    \"adaptive_over_best\": ");
	json_num(f, ad_ratio(b));
	fprintf(f, ",\n    \"adaptive_timeline\": {\"columns\": [\"t_s\", \"workers\", "
		   "\"threads\", \"queued\"], \"rows\": [");
	for (unsigned i = 0; i < b->ntl; i++)
		fprintf(f, "%s[%.2f, %u, %u, %u]", i ? ", " : "", b->tl[i].t, b->tl[i].workers,
			b->tl[i].threads, b->tl[i].queued);
	fprintf(f, "]}\n  },\n");
}

static int
write_json(const struct bench *b, const char *path)
{
	static const char *const section[] = {"throughput", "latency", "adaptive"};
	struct target t[2 * NWORKERS + 1];
	unsigned nt = targets(b, t);
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f,
		"{\n  \"bench\": \"ocpool\",\n  \"cpus\": %u,\n  \"runs\": %u,\n  \"quick\": %s,\n"
		"  \"queue_capacity\": %d,\n  \"pinned\": false,\n  \"host_other_cpu_share\": {",
		b->ncpu, b->runs, b->quick ? "true" : "false", QCAP);
	for (int k = 0; k < 3; k++) {
		fprintf(f, "%s\"%s\": ", k ? ", " : "", section[k]);
		json_num(f, b->others[k]);
	}
	fprintf(f, "},\n  \"host_probe_ns\": {");
	for (int k = 0; k < 3; k++) {
		fprintf(f, "%s\"%s\": ", k ? ", " : "", section[k]);
		json_num(f, b->probe_ns[k]);
	}
	fprintf(f, "},\n");
	json_tp(f, b);
	json_lat(f, b);
	json_ad(f, b);
	fprintf(f, "  \"targets\": [\n");
	for (unsigned i = 0; i < nt; i++) {
		fprintf(f, "    {\"target\": \"%s\", \"op\": \"%s\", \"limit\": %g, \"ratio\": ",
			t[i].text, t[i].at_most ? "<=" : ">=", t[i].limit);
		json_num(f, t[i].ratio);
		fprintf(f, ", \"met\": %s}%s\n", target_met(&t[i]) ? "true" : "false",
			i + 1 < nt ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return fclose(f) ? -errno : 0;
}

/* --- plot ------------------------------------------------------------------ */

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

static void
gp_stat(FILE *f, const struct stat3 *s)
{
	if (s && s->n)
		fprintf(f, " %.4g %.4g %.4g", s->med, s->min, s->max);
	else
		fprintf(f, " NaN NaN NaN");
}

/*
 * Write <out>/ocpool.gp (data inline, so it can be re-run by hand) and run
 * gnuplot on it: throughput bars, latency bars, adaptive wall times.
 * Returns 0, 1 when gnuplot is not installed, or -errno.
 */
static int
plot(const struct bench *b, const char *gp_path, const char *svg_path)
{
	static const enum impl tp_series[] = {IM_OCPOOL, IM_OCPOOL_BATCH, IM_MUTEX, IM_MUTEX_UNB};
	char *argv[] = {"gnuplot", (char *)gp_path, NULL};
	FILE *f = fopen(gp_path, "w");
	pid_t pid;
	int rc, st;

	if (!f)
		return -errno;
	fprintf(f, "# written by bench_ocpool; re-run with: gnuplot %s\n", gp_path);
	fprintf(f, "set terminal svg size 1000,1350 dynamic enhanced font 'sans,12' "
		   "background rgb 'white'\nset output ");
	gp_string(f, svg_path);
	fprintf(f, "\n$tp << EOD\n");
	for (unsigned w = 0; w <= NWORKERS; w++) {
		unsigned workers = w < NWORKERS ? worker_counts[w] : 4, subs = w < NWORKERS ? 1 : 2;

		fprintf(f, "\"%u w%s\"", workers, subs == 2 ? ", 2 subm." : "");
		for (size_t i = 0; i < sizeof(tp_series) / sizeof(tp_series[0]); i++) {
			const struct tp_result *r = tp_find(b, workers, subs, tp_series[i]);

			gp_stat(f, r ? &r->mjps : NULL);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "EOD\n$lat << EOD\n");
	for (unsigned w = 0; w < NWORKERS; w++) {
		const struct lat_result *o = lat_find(b, worker_counts[w], IM_OCPOOL);
		const struct lat_result *m = lat_find(b, worker_counts[w], IM_MUTEX);

		fprintf(f, "\"%u w\"", worker_counts[w]);
		gp_stat(f, o ? &o->p50 : NULL);
		gp_stat(f, m ? &m->p50 : NULL);
		gp_stat(f, o ? &o->p99 : NULL);
		gp_stat(f, m ? &m->p99 : NULL);
		fprintf(f, "\n");
	}
	/* kind: 1 fixed and completed, 2 fixed and stopped, 3 adaptive */
	fprintf(f, "EOD\n$ad << EOD\n");
	for (unsigned i = 0; i < b->nad; i++) {
		const struct fixed_run *r = &b->ad[i];

		fprintf(f, "\"%s\" ", r->workers ? r->name : "adaptive");
		if (r->error)
			fprintf(f, "NaN 0\n");
		else
			fprintf(f, "%.4g %d\n", r->wall_s, !r->workers ? 3 : r->stopped ? 2 : 1);
	}
	fprintf(f, "EOD\n");
	fprintf(f, "set multiplot layout 3,1\nset grid ytics\nset key outside right top\n"
		   "set style data histogram\nset style histogram errorbars gap 1 lw 1\n"
		   "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset logscale y\n");
	fprintf(f,
		"set title 'Empty-job throughput, %u CPUs, pools unpinned: median of %u runs, "
		"whiskers min..max'\nset ylabel 'million jobs per second (log)'\n",
		b->ncpu, b->runs);
	fprintf(f, "plot $tp using 2:3:4:xtic(1) title 'ocpool', '' using 5:6:7 title 'ocpool "
		   "batch64', '' using 8:9:10 title 'mutex pool (bounded)', '' using 11:12:13 "
		   "title 'mutex pool (unbounded)'\n");
	fprintf(f,
		"set title 'Submit-to-start latency, a burst of one job per worker, then a "
		"%d us idle gap: median of %u runs, whiskers min..max'\n"
		"set ylabel 'microseconds (log), lower is better'\n",
		GAP_NS / 1000, b->runs);
	fprintf(f, "plot $lat using 2:3:4:xtic(1) title 'ocpool p50', '' using 5:6:7 title "
		   "'mutex pool p50', '' using 8:9:10 title 'ocpool p99', '' using 11:12:13 title "
		   "'mutex pool p99'\n");
	fprintf(f,
		"unset logscale y\nset key below\nset yrange [0:*]\nset boxwidth 0.6\nset xrange "
		"[-0.6:%.1f]\n"
		"set title 'CPU / sleep / CPU / sleep phases, the same work for each pool: wall "
		"time, one run each'\nset ylabel 'seconds, lower is better'\n",
		b->nad - 0.4);
	fprintf(f,
		"plot $ad using 0:($3 == 1 ? $2 : NaN):xtic(1) with boxes title 'fixed', "
		"'' using 0:($3 == 2 ? $2 : NaN) with boxes fill pattern 4 title 'fixed, stopped "
		"once slower than the best (lower bound)', '' using 0:($3 == 3 ? $2 : NaN) with "
		"boxes title 'adaptive'\nunset multiplot\n");
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

/* --- driver ---------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: bench_ocpool [--out DIR] [--quick] [--runs N]\n"
		"  --out DIR  write ocpool.json, ocpool.gp and ocpool.svg into DIR (default "
		"build/bench)\n"
		"  --quick    short runs for a smoke test (3 runs unless --runs is given)\n"
		"  --runs N   measured runs per throughput and latency case, 1..%d (default 5)\n",
		MAX_RUNS);
}

static void
run_all(struct bench *b)
{
	section_begin(b, 0);
	print_tp_header(b, 1);
	for (unsigned w = 0; w < NWORKERS; w++)
		tp_case(b, worker_counts[w], 1);
	print_tp_header(b, 2);
	tp_case(b, 4, 2);
	section_end(b, 0);

	section_begin(b, 1);
	print_lat_header(b);
	for (unsigned w = 0; w < NWORKERS; w++)
		lat_case(b, worker_counts[w]);
	section_end(b, 1);

	section_begin(b, 2);
	print_ad_header(b);
	ad_case(b);
	section_end(b, 2);
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
	const char *env = getenv("OC_RSYNC_ADAPTIVE_THREADS");
	int runs = 0, c, rc;
	uint64_t t0;

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
	b->ncpu = ocpool_cpu_count();
	b->tp_target_s = b->quick ? 0.02 : 0.15;
	b->bursts = b->quick ? 150 : 1000;
	/* about 2 s per phase at the best size: CPU phases keep every CPU busy
	 * for that long, sleeping phases take that long on 32 workers */
	b->cpu_jobs = (b->quick ? 200 : 2000) * b->ncpu;
	b->sleep_jobs = b->quick ? 500 : 5000;
	b->ad_min = b->ncpu / 2 > 2 ? b->ncpu / 2 : 2; /* ocpool's default lower bound */
	b->ad_max = 32;				       /* the largest fixed size tried */
	b->adaptive_off = env && strcmp(env, "0") == 0;
	if ((rc = bench_mkdir_p(b->out)))
		die(b->out, -rc);
	snprintf(json, sizeof(json), "%s/ocpool.json", b->out);
	snprintf(gp, sizeof(gp), "%s/ocpool.gp", b->out);
	snprintf(svg, sizeof(svg), "%s/ocpool.svg", b->out);

	b->spin_iters = spin_calibrate();
	printf("bench_ocpool: %u CPUs usable; pools unpinned; queue capacity %d (ocpool and the\n"
	       "bounded mutex pool); %u rounds; CPU job = %llu spin iterations (~%d ms)%s\n",
	       b->ncpu, QCAP, b->runs, (unsigned long long)b->spin_iters, CPU_JOB_NS / 1000000,
	       b->quick ? " (quick)" : "");
	t0 = now_ns();
	run_all(b);
	print_targets(b);
	printf("\nmeasured in %.0f s\n", (double)(now_ns() - t0) / 1e9);

	if ((rc = write_json(b, json)))
		die(json, -rc);
	printf("\nwrote %s\n", json);
	rc = plot(b, gp, svg);
	if (rc == 1)
		printf("gnuplot not found: skipped %s (data and script are in %s)\n", svg, gp);
	else if (rc)
		fprintf(stderr, "bench_ocpool: gnuplot failed on %s: %s\n", gp, strerror(-rc));
	else
		printf("wrote %s\n", svg);
	if (b->failures)
		fprintf(stderr, "bench_ocpool: %u case(s) failed verification or setup\n",
			b->failures);
	rc = b->failures ? 1 : 0;
	free(b);
	return rc;
}
