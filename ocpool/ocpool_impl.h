/* SPDX-License-Identifier: MIT */
/*
 * ocpool_impl.h - the implementation behind ocpool.h. Included by ocpool.h
 * when OCPOOL_IMPLEMENTATION is defined (in exactly one .c file); not meant
 * to be included directly.
 *
 * Layout. Jobs travel as pointers through an MPMC ocq channel fed by one
 * shared sender. Each worker keeps its statistics on its own cache line
 * (single writer, no atomic read-modify-write per job); the monitor thread
 * sums them. One monitor thread per pool sleeps on an eventcount until the
 * next controller tick (adaptive pools) or the next job budget expiry, so a
 * fixed pool without budgets never wakes it. The watchdog touches worker
 * memory only, never a job that may already be freed: the cancel flag is a
 * bit in the worker's `watch` word, set by CAS on the running job's number.
 */
#ifndef OCPOOL_IMPL_H
#define OCPOOL_IMPL_H

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>

#include "ocpool_idle.h"

#define OCPOOL__OVERDUE ((uint64_t)1 << 63)
#define OCPOOL__FREELIST 1024

struct ocpool_job {
	struct ocpool *pool;
	ocpool_fn fn;
	void *arg;
	uint64_t budget_ns;
	_Atomic uint32_t done; /* futex word for ocpool_join() */
	_Atomic int refs;      /* 2 while joinable: worker + joiner */
	int status;
};

struct ocpool__worker {
	OCQ__ALIGNED struct ocpool *pool;
	pthread_t tid;
	/* written by this worker only */
	_Atomic uint64_t cur_start; /* ns; 0 while idle */
	_Atomic uint64_t busy_acc;  /* ns of finished jobs */
	_Atomic uint64_t completed;
	_Atomic uint64_t last_end;
	_Atomic uint64_t watch; /* job number while a budget job runs, | OVERDUE */
	_Atomic uint64_t cur_budget;
	_Atomic(ocpool_fn) cur_fn;
	_Atomic(void *) cur_arg;
	uint64_t jobno;
	/* monitor's bookkeeping and list state, under pool->lock */
	uint64_t seen_busy;
	bool counted;
	bool exited;
	struct ocpool__worker *next;
};

struct ocpool {
	struct ocq_chan *q;
	struct ocq_tx tx;
	struct ocq_rx anchor; /* keeps the channel open while workers come and go */
	struct ocpool__idle idle; /* idle workers: spin, park, wake (ocpool_idle.h) */
	struct ocpool_config cfg;
	struct ocpool_ctl_params ctl;
	struct ocpool_ctl_state cst;
	bool adaptive;	       /* resizing on (adaptive mode and not disabled by env) */
	unsigned max_threads;  /* threads including overdue ones */
	pthread_mutex_t lock;  /* worker list and counts: cold paths only */
	struct ocpool__worker *workers;
	unsigned threads;  /* live worker threads */
	unsigned counted;  /* of those, counting as workers */
	unsigned retiring; /* retire tokens in the queue */
	unsigned target;
	_Atomic unsigned blocked;
	_Atomic uint64_t dropped, resizes, wd_fired, cancelled_total;
	_Atomic bool cancelling, stopping, shut;
	struct ocq_ec mon_ec;
	pthread_t monitor;
	struct ocq_mpmc freelist;
	/* monitor's previous sample */
	uint64_t s_completed, s_queued, s_running, s_cpu, s_dropped;
	uint64_t m_busy, m_time; /* for ocpool_get_metrics utilization */
	char retire_token;
};

static _Thread_local struct ocpool__worker *ocpool__self;

static uint64_t
ocpool__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The per-job clock for busy time: CLOCK_MONOTONIC_COARSE costs a few ns
 * where CLOCK_MONOTONIC costs ~25 (two reads were half of an empty job's
 * cost). Its tick is coarse, but the expected difference of two coarse
 * readings is the true duration, so busy time summed over many jobs stays
 * unbiased, which is all the controller and the metrics use it for.
 */
static uint64_t
ocpool__now_coarse(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
ocpool__cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void __attribute__((format(printf, 2, 3)))
ocpool__log(struct ocpool *p, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!p->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->cfg.log(p->cfg.log_ctx, buf);
}

/* --- CPU count: affinity mask and cgroup quota --------------------------- */

/* cgroup v2 cpu.max of dir and its ancestors: the tightest quota, or 0. */
static unsigned
ocpool__cgroup2_cpus(const char *rel)
{
	char path[600], dir[512];
	unsigned best = 0;

	if (strlen(rel) >= sizeof(dir))
		return 0;
	memcpy(dir, rel, strlen(rel) + 1);
	for (;;) {
		FILE *f;
		char quota[32];
		unsigned long long period;

		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max", dir);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%31s %llu", quota, &period) == 2 && strcmp(quota, "max") &&
			    period) {
				unsigned long long q = strtoull(quota, NULL, 10);
				unsigned n = (unsigned)((q + period - 1) / period);

				if (n && (!best || n < best))
					best = n;
			}
			fclose(f);
		}
		char *slash = strrchr(dir, '/');

		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	return best;
}

unsigned
ocpool_cpu_count(void)
{
	cpu_set_t set;
	unsigned n = 0, q = 0;
	FILE *f;
	char line[512];

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = (unsigned)CPU_COUNT(&set);
	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n = c > 0 ? (unsigned)c : 1;
	}
	f = fopen("/proc/self/cgroup", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "0::", 3) == 0) {
				q = ocpool__cgroup2_cpus(line + 3);
				break;
			}
		}
		fclose(f);
	}
	if (!q) {
		/* cgroup v1 */
		long long quota = -1, period = 0;
		FILE *a = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r");
		FILE *b = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r");

		if (a && b && fscanf(a, "%lld", &quota) == 1 && fscanf(b, "%lld", &period) == 1 &&
		    quota > 0 && period > 0)
			q = (unsigned)((quota + period - 1) / period);
		if (a)
			fclose(a);
		if (b)
			fclose(b);
	}
	return q && q < n ? q : n;
}

/* --- configuration ------------------------------------------------------- */

void
ocpool_config_init(struct ocpool_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = OCPOOL_FIXED;
}

int
ocpool_config_parse(struct ocpool_config *c, const char *value)
{
	char *end;
	unsigned long n;

	if (!value)
		return -EINVAL;
	if (strcmp(value, "adaptive") == 0) {
		c->mode = OCPOOL_ADAPTIVE;
		c->workers = 0;
		return 0;
	}
	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno || end == value || *end || n == 0 || n > 4096 || value[0] == '-')
		return -EINVAL;
	c->mode = OCPOOL_FIXED;
	c->workers = (unsigned)n;
	return 0;
}

/* --- jobs ------------------------------------------------------------------ */

static struct ocpool_job *
ocpool__job_new(struct ocpool *p)
{
	void *j;

	if (ocq_mpmc_try_pop(&p->freelist, &j) == 0)
		return j;
	return malloc(sizeof(struct ocpool_job));
}

static void
ocpool__job_free(struct ocpool *p, struct ocpool_job *j)
{
	if (ocq_mpmc_try_push(&p->freelist, j) != 0)
		free(j);
}

/* Drop one reference; the last one frees. */
static void
ocpool__job_unref(struct ocpool *p, struct ocpool_job *j)
{
	if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1)
		ocpool__job_free(p, j);
}

/* Record a job's end and wake its joiner. */
static void
ocpool__job_finish(struct ocpool *p, struct ocpool_job *j, int status)
{
	/* refs is 1 for a job nobody joins and never changes: no RMW needed */
	if (atomic_load_explicit(&j->refs, memory_order_relaxed) == 1) {
		ocpool__job_free(p, j);
		return;
	}
	j->status = status;
	/* publishes status; pairs with the joiner's acquire of done */
	atomic_store_explicit(&j->done, 1, memory_order_release);
	ocq__futex_wake(&j->done, 1);
	ocpool__job_unref(p, j);
}

int
ocpool_join(struct ocpool_job *j, int *status)
{
	if (!j)
		return -EINVAL;
	while (atomic_load_explicit(&j->done, memory_order_acquire) == 0)
		ocq__futex_wait(&j->done, 0, NULL);
	if (status)
		*status = j->status;
	ocpool__job_unref(j->pool, j);
	return 0;
}

/* --- workers -------------------------------------------------------------- */

static void *ocpool__worker_main(void *arg);

/* Start one worker; caller holds p->lock. Returns 0 or -errno. */
static int
ocpool__spawn(struct ocpool *p)
{
	struct ocpool__worker *w = ocq__alloc_lines(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	w->pool = p;
	w->counted = true;
	rc = pthread_create(&w->tid, NULL, ocpool__worker_main, w);
	if (rc) {
		free(w);
		return -rc;
	}
	w->next = p->workers;
	p->workers = w;
	p->threads++;
	ocpool__idle_threads(&p->idle, p->threads);
	p->counted++;
	return 0;
}

/* Run one job on worker w. Returns true when the watchdog declared it overdue. */
static bool
ocpool__run(struct ocpool *p, struct ocpool__worker *w, struct ocpool_job *j)
{
	/* a budget needs a precise start; busy time only needs an unbiased one */
	uint64_t start = j->budget_ns ? ocpool__now() : ocpool__now_coarse(), end;
	bool overdue = false;
	int status;

	atomic_store_explicit(&w->cur_start, start, memory_order_relaxed);
	if (j->budget_ns) {
		w->jobno = (w->jobno + 1) & ~OCPOOL__OVERDUE;
		if (!w->jobno)
			w->jobno = 1;
		atomic_store_explicit(&w->cur_budget, j->budget_ns, memory_order_relaxed);
		atomic_store_explicit(&w->cur_fn, j->fn, memory_order_relaxed);
		atomic_store_explicit(&w->cur_arg, j->arg, memory_order_relaxed);
		/* publishes the fields above; pairs with the monitor's acquire */
		atomic_store_explicit(&w->watch, w->jobno, memory_order_seq_cst);
		ocq_ec_notify(&p->mon_ec, 1);
	}
	status = j->fn(j->arg);
	end = j->budget_ns ? ocpool__now() : ocpool__now_coarse();
	if (end < start)
		end = start; /* coarse and precise clocks differ by under a tick */
	atomic_store_explicit(&w->busy_acc, atomic_load_explicit(&w->busy_acc, memory_order_relaxed) +
						     (end - start),
			      memory_order_relaxed);
	atomic_store_explicit(&w->cur_start, 0, memory_order_relaxed);
	atomic_store_explicit(&w->completed,
			      atomic_load_explicit(&w->completed, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&w->last_end, end, memory_order_relaxed);
	if (j->budget_ns)
		overdue = atomic_exchange_explicit(&w->watch, 0, memory_order_seq_cst) &
			  OCPOOL__OVERDUE;
	ocpool__job_finish(p, j, status);
	return overdue;
}

/* After an overdue job: keep working if the pool is short, else leave. */
static bool
ocpool__overdue_stays(struct ocpool *p, struct ocpool__worker *w)
{
	bool stay;

	pthread_mutex_lock(&p->lock);
	stay = p->counted < p->target && !atomic_load(&p->stopping);
	if (stay) {
		w->counted = true;
		p->counted++;
	}
	pthread_mutex_unlock(&p->lock);
	return stay;
}

static void *
ocpool__worker_main(void *arg)
{
	struct ocpool__worker *w = arg;
	struct ocpool *p = w->pool;
	struct ocq_rx rx;
	void *item;

	ocpool__self = w;
	if (ocq_rx_open(&rx, p->q) != 0)
		goto out;
	for (;;) {
		int rc = ocq_try_recv(&rx, &item);

		if (rc == -EAGAIN)
			rc = ocpool__idle_wait(&p->idle, p->q, &rx, &item);
		if (rc)
			break; /* closed and drained */
		if (item == &p->retire_token) {
			pthread_mutex_lock(&p->lock);
			p->retiring--;
			if (w->counted) {
				w->counted = false;
				p->counted--;
			}
			pthread_mutex_unlock(&p->lock);
			break;
		}
		if (atomic_load_explicit(&p->cancelling, memory_order_acquire)) {
			atomic_fetch_add(&p->cancelled_total, 1);
			ocpool__job_finish(p, item, -ECANCELED);
			continue;
		}
		if (ocpool__run(p, w, item) && !ocpool__overdue_stays(p, w))
			break;
	}
	ocq_rx_release(&rx);
out:
	pthread_mutex_lock(&p->lock);
	w->exited = true;
	p->threads--;
	ocpool__idle_threads(&p->idle, p->threads);
	if (w->counted) {
		w->counted = false;
		p->counted--;
	}
	pthread_mutex_unlock(&p->lock);
	ocq_ec_notify(&p->mon_ec, 1); /* let the monitor join us */
	return NULL;
}

bool
ocpool_cancelled(void)
{
	struct ocpool__worker *w = ocpool__self;

	return w && (atomic_load_explicit(&w->watch, memory_order_acquire) & OCPOOL__OVERDUE);
}

/* --- resizing ------------------------------------------------------------- */

/* Move the worker count toward target; caller holds p->lock. */
static void
ocpool__resize(struct ocpool *p, unsigned target, const char *why)
{
	unsigned have = p->counted - p->retiring, before = have;

	p->target = target;
	while (have < target && p->threads < p->max_threads && ocpool__spawn(p) == 0)
		have++;
	while (have > target) {
		if (ocq_try_send(&p->tx, &p->retire_token) != 0)
			break;
		ocpool__idle_notify(&p->idle, p->q);
		p->retiring++;
		have--;
	}
	if (have != before) {
		atomic_fetch_add(&p->resizes, 1);
		ocpool__log(p, "ocpool: %s %u -> %u workers (%s)", have > before ? "grow" : "shrink",
			    before, have, why);
	}
}

void
ocpool_blocking_begin(void)
{
	struct ocpool__worker *w = ocpool__self;
	struct ocpool *p;

	if (!w)
		return;
	p = w->pool;
	atomic_fetch_add(&p->blocked, 1);
	if (!p->adaptive)
		return;
	pthread_mutex_lock(&p->lock);
	/* this worker is about to sleep: if work waits for it, replace it now */
	if (ocq_chan_len(p->q) > 0 && p->counted - p->retiring < p->ctl.max)
		ocpool__resize(p, p->counted - p->retiring + 1, "blocking hint");
	pthread_mutex_unlock(&p->lock);
}

void
ocpool_blocking_end(void)
{
	struct ocpool__worker *w = ocpool__self;

	if (w)
		atomic_fetch_sub(&w->pool->blocked, 1);
}

/* --- the monitor: controller ticks, watchdog, reaping --------------------- */

/* Join and free exited workers; caller holds p->lock. */
static void
ocpool__reap(struct ocpool *p)
{
	struct ocpool__worker **pp = &p->workers;

	while (*pp) {
		struct ocpool__worker *w = *pp;

		if (w->exited) {
			*pp = w->next;
			pthread_join(w->tid, NULL);
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

/* Fire the watchdog on overdue jobs; returns the next expiry (0: none).
 * Caller holds p->lock. */
static uint64_t
ocpool__watchdog(struct ocpool *p, uint64_t now)
{
	uint64_t next = 0;

	for (struct ocpool__worker *w = p->workers; w; w = w->next) {
		uint64_t watch = atomic_load_explicit(&w->watch, memory_order_seq_cst);
		uint64_t start, budget, due;

		if (!watch || (watch & OCPOOL__OVERDUE))
			continue;
		start = atomic_load_explicit(&w->cur_start, memory_order_relaxed);
		budget = atomic_load_explicit(&w->cur_budget, memory_order_relaxed);
		due = start + budget;
		if (now < due) {
			if (!next || due < next)
				next = due;
			continue;
		}
		struct ocpool_overdue o = {
			.fn = atomic_load_explicit(&w->cur_fn, memory_order_relaxed),
			.arg = atomic_load_explicit(&w->cur_arg, memory_order_relaxed),
			.budget_ns = budget,
			.running_ns = now - start,
		};

		/* claim this very job: fails if it ended meanwhile */
		if (!atomic_compare_exchange_strong(&w->watch, &watch, watch | OCPOOL__OVERDUE))
			continue;
		atomic_fetch_add(&p->wd_fired, 1);
		if (w->counted) {
			w->counted = false;
			p->counted--;
		}
		if (p->threads < p->max_threads && !atomic_load(&p->stopping) &&
		    ocpool__spawn(p) == 0)
			o.replaced = true;
		ocpool__log(p, "ocpool: job over its %llu ms budget after %llu ms%s",
			    (unsigned long long)(budget / 1000000),
			    (unsigned long long)(o.running_ns / 1000000),
			    o.replaced ? "; replacement worker started" : "");
		if (p->cfg.on_overdue)
			p->cfg.on_overdue(p->cfg.overdue_ctx, &o);
	}
	return next;
}

/* One controller sample; caller holds p->lock. */
static void
ocpool__control(struct ocpool *p, uint64_t now)
{
	struct ocpool_ctl_sample s = {.now_ns = now};
	struct ocpool_ctl_decision d;
	uint64_t completed = 0, busy_delta = 0, last_end = 0, cpu = ocpool__cpu_ns();
	uint64_t queued = ocq_chan_len(p->q), running = 0, dropped = atomic_load(&p->dropped);

	for (struct ocpool__worker *w = p->workers; w; w = w->next) {
		uint64_t st = atomic_load_explicit(&w->cur_start, memory_order_relaxed);
		uint64_t total = atomic_load_explicit(&w->busy_acc, memory_order_relaxed) +
				 (st && st < now ? now - st : 0);

		if (total > w->seen_busy)
			busy_delta += total - w->seen_busy;
		w->seen_busy = total;
		completed += atomic_load_explicit(&w->completed, memory_order_relaxed);
		if (atomic_load_explicit(&w->last_end, memory_order_relaxed) > last_end)
			last_end = atomic_load_explicit(&w->last_end, memory_order_relaxed);
		if (st && w->counted)
			s.busy++;
		running += st != 0;
	}
	s.workers = p->counted - p->retiring;
	s.busy_ns = busy_delta;
	s.cpu_ns = cpu - p->s_cpu;
	s.completed = completed - p->s_completed;
	/* arrivals, without a shared counter on the submit path */
	s.submitted = s.completed + (queued + running) - (p->s_queued + p->s_running) +
		      (dropped - p->s_dropped);
	if ((int64_t)s.submitted < 0)
		s.submitted = 0;
	s.queued = queued;
	s.last_completion_ns = last_end;
	p->s_cpu = cpu;
	p->s_completed = completed;
	p->s_queued = queued;
	p->s_running = running;
	p->s_dropped = dropped;

	ocpool_ctl_step(&p->ctl, &p->cst, &s, &d);
	if (d.target != s.workers) {
		char why[160];

		snprintf(why, sizeof(why), "%s; utilization %.0f%%, demand %.1f, CPU %.0f%%",
			 ocpool_reason_name(d.reason), d.utilization * 100, d.demand, d.cpu * 100);
		ocpool__resize(p, d.target, why);
	}
}

static void *
ocpool__monitor_main(void *arg)
{
	struct ocpool *p = arg;
	uint64_t tick = p->cfg.tick_ns ? p->cfg.tick_ns : 250000000ull;
	uint64_t next_tick = ocpool__now() + tick;

	for (;;) {
		/* register first, then look: a budget job that starts after
		 * the scan below bumps the epoch and the wait returns */
		uint32_t key = ocq_ec_prepare(&p->mon_ec);
		uint64_t now, next_due, wake;
		struct timespec dl;

		if (atomic_load_explicit(&p->stopping, memory_order_seq_cst)) {
			ocq_ec_cancel(&p->mon_ec);
			break;
		}
		now = ocpool__now();
		pthread_mutex_lock(&p->lock);
		ocpool__reap(p);
		next_due = ocpool__watchdog(p, now);
		if (p->adaptive && now >= next_tick) {
			ocpool__control(p, now);
			next_tick = now + tick;
		}
		pthread_mutex_unlock(&p->lock);

		wake = p->adaptive ? next_tick : 0;
		if (next_due && (!wake || next_due < wake))
			wake = next_due;
		if (wake)
			dl = ocq_deadline_after(wake > now ? wake - now : 0);
		ocq_ec_wait(&p->mon_ec, key, wake ? &dl : NULL);
	}
	return NULL;
}

/* --- create, submit, shutdown --------------------------------------------- */

int
ocpool_create(struct ocpool **out, const struct ocpool_config *c)
{
	struct ocpool *p;
	unsigned ncpu = ocpool_cpu_count(), start;
	const char *env;
	int rc;

	*out = NULL;
	p = ocq__alloc_lines(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *c;
	ocpool_ctl_defaults(&p->ctl, ncpu);
	if (c->mode == OCPOOL_ADAPTIVE) {
		if (c->min)
			p->ctl.min = c->min;
		if (c->max)
			p->ctl.max = c->max;
		if (p->ctl.max < p->ctl.min)
			goto einval;
		start = c->workers ? c->workers : p->ctl.min;
		if (start < p->ctl.min)
			start = p->ctl.min;
		if (start > p->ctl.max)
			start = p->ctl.max;
		p->max_threads = p->ctl.max;
		env = getenv("OC_RSYNC_ADAPTIVE_THREADS");
		p->adaptive = !(env && strcmp(env, "0") == 0);
		if (!p->adaptive)
			ocpool__log(p, "ocpool: adaptive resizing off (OC_RSYNC_ADAPTIVE_THREADS=0); "
				       "%u workers",
				    start);
	} else {
		start = c->workers ? c->workers : ncpu;
		p->max_threads = c->max ? c->max : 2 * start;
		if (p->max_threads < start)
			goto einval;
	}
	p->target = start;
	rc = ocq_chan_create(&p->q, OCQ_MPMC, c->queue_capacity ? c->queue_capacity : 1024);
	if (rc)
		goto fail_free;
	if ((rc = ocq_chan_shared_sender(p->q, &p->tx)) || (rc = ocq_rx_open(&p->anchor, p->q)))
		goto fail_chan;
	rc = ocq_mpmc_init(&p->freelist, OCPOOL__FREELIST);
	if (rc)
		goto fail_chan;
	pthread_mutex_init(&p->lock, NULL);
	ocq_ec_init(&p->mon_ec);
	ocpool__idle_init(&p->idle, ncpu);
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < start && rc == 0; i++)
		rc = ocpool__spawn(p);
	pthread_mutex_unlock(&p->lock);
	if (rc == 0)
		rc = -pthread_create(&p->monitor, NULL, ocpool__monitor_main, p);
	if (rc) {
		/* the workers started so far end when the channel closes */
		ocq_chan_close(p->q);
		ocpool__idle_wake_all(&p->idle);
		pthread_mutex_lock(&p->lock);
		for (struct ocpool__worker *w = p->workers; w; w = w->next)
			w->exited = true;
		ocpool__reap(p);
		pthread_mutex_unlock(&p->lock);
		ocq_mpmc_destroy(&p->freelist);
		goto fail_chan;
	}
	*out = p;
	return 0;
einval:
	rc = -EINVAL;
	goto fail_free;
fail_chan:
	ocq_chan_destroy(p->q);
fail_free:
	free(p);
	return rc;
}

/* The submit family's core. A refusal of a non-blocking submit counts as a
 * drop when count_drop is set (internal helper jobs do not count). */
static int
ocpool__submit(struct ocpool *p, ocpool_fn fn, void *arg, uint64_t budget_ns,
	       struct ocpool_job **join, const struct timespec *dl, bool block, bool count_drop)
{
	struct ocpool_job *j;
	int rc;

	if (join)
		*join = NULL;
	if (atomic_load_explicit(&p->shut, memory_order_acquire))
		return -ESHUTDOWN;
	j = ocpool__job_new(p);
	if (!j)
		return -ENOMEM;
	j->pool = p;
	j->fn = fn;
	j->arg = arg;
	j->budget_ns = budget_ns;
	atomic_store_explicit(&j->done, 0, memory_order_relaxed);
	atomic_store_explicit(&j->refs, join ? 2 : 1, memory_order_relaxed);
	rc = ocq__send(&p->tx, j, dl, block);
	if (rc) {
		ocpool__job_free(p, j);
		if (rc == -EAGAIN && count_drop)
			atomic_fetch_add(&p->dropped, 1);
		return rc == OCQ_CLOSED ? -ESHUTDOWN : rc;
	}
	ocpool__idle_notify(&p->idle, p->q);
	/*
	 * Every worker sits inside a blocking hint (a job that waits on I/O
	 * for long, as a daemon session does): the job would wait for the
	 * controller's starvation rule, so add a worker now, as the hint
	 * itself does when it finds work queued.
	 */
	if (p->adaptive && atomic_load_explicit(&p->blocked, memory_order_acquire) > 0) {
		pthread_mutex_lock(&p->lock);
		if (atomic_load(&p->blocked) >= p->counted - p->retiring &&
		    p->counted - p->retiring < p->ctl.max && ocq_chan_len(p->q) > 0)
			ocpool__resize(p, p->counted - p->retiring + 1, "blocking hint");
		pthread_mutex_unlock(&p->lock);
	}
	if (join)
		*join = j;
	return 0;
}

int
ocpool_submit(struct ocpool *p, ocpool_fn fn, void *arg, struct ocpool_job **join)
{
	return ocpool__submit(p, fn, arg, 0, join, NULL, true, false);
}

int
ocpool_try_submit(struct ocpool *p, ocpool_fn fn, void *arg, struct ocpool_job **join)
{
	return ocpool__submit(p, fn, arg, 0, join, NULL, false, true);
}

int
ocpool_submit_timeout(struct ocpool *p, ocpool_fn fn, void *arg, struct ocpool_job **join,
		      uint64_t timeout_ns)
{
	struct timespec dl = ocq_deadline_after(timeout_ns);

	return ocpool__submit(p, fn, arg, 0, join, &dl, true, false);
}

int
ocpool_submit_budget(struct ocpool *p, ocpool_fn fn, void *arg, uint64_t budget_ns,
		     struct ocpool_job **join)
{
	return ocpool__submit(p, fn, arg, budget_ns, join, NULL, true, false);
}

int
ocpool_submit_batch(struct ocpool *p, ocpool_fn fn, void *const *args, size_t n)
{
	struct ocpool_job *jobs[OCQ__BURST_CHUNK];
	size_t done = 0;

	if (atomic_load_explicit(&p->shut, memory_order_acquire))
		return -ESHUTDOWN;
	while (done < n) {
		size_t k = n - done < OCQ__BURST_CHUNK ? n - done : OCQ__BURST_CHUNK, sent = 0;

		for (size_t i = 0; i < k; i++) {
			jobs[i] = ocpool__job_new(p);
			if (!jobs[i]) {
				while (i--)
					ocpool__job_free(p, jobs[i]);
				return -ENOMEM;
			}
			*jobs[i] = (struct ocpool_job){.pool = p, .fn = fn, .arg = args[done + i]};
			atomic_init(&jobs[i]->refs, 1);
		}
		while (sent < k) {
			long r = ocq_send_burst(&p->tx, (void *const *)jobs + sent, k - sent);

			if (r < 0) {
				for (size_t i = sent; i < k; i++)
					ocpool__job_free(p, jobs[i]);
				return r == OCQ_CLOSED ? -ESHUTDOWN : (int)r;
			}
			sent += (size_t)r;
			ocpool__idle_notify(&p->idle, p->q);
		}
		done += k;
	}
	return 0;
}

int
ocpool_shutdown(struct ocpool *p, enum ocpool_stop how, size_t *dropped)
{
	uint64_t before = atomic_load(&p->cancelled_total);
	void *item;

	if (dropped)
		*dropped = 0;
	if (atomic_exchange(&p->shut, true))
		return -EALREADY;
	if (how == OCPOOL_CANCEL)
		atomic_store_explicit(&p->cancelling, true, memory_order_release);
	atomic_store_explicit(&p->stopping, true, memory_order_seq_cst);
	ocq_ec_notify_all(&p->mon_ec);
	pthread_join(p->monitor, NULL);

	/* close, then wake every parked worker for good; with DRAIN they run
	 * what is left */
	ocq_tx_release(&p->tx);
	ocpool__idle_wake_all(&p->idle);
	if (how == OCPOOL_CANCEL) {
		while (ocq_try_recv(&p->anchor, &item) == 0) {
			if (item != &p->retire_token) {
				atomic_fetch_add(&p->cancelled_total, 1);
				ocpool__job_finish(p, item, -ECANCELED);
			}
		}
	}
	pthread_mutex_lock(&p->lock);
	for (struct ocpool__worker *w = p->workers; w; w = w->next)
		w->exited = true; /* every thread is joined below, running or not */
	struct ocpool__worker *list = p->workers;

	p->workers = NULL;
	pthread_mutex_unlock(&p->lock);
	while (list) {
		struct ocpool__worker *next = list->next;

		pthread_join(list->tid, NULL);
		free(list);
		list = next;
	}
	ocq_rx_release(&p->anchor);
	if (dropped)
		*dropped = (size_t)(atomic_load(&p->cancelled_total) - before);
	return 0;
}

void
ocpool_destroy(struct ocpool *p)
{
	void *j;

	if (!p)
		return;
	ocpool_shutdown(p, OCPOOL_DRAIN, NULL);
	while (ocq_mpmc_try_pop(&p->freelist, &j) == 0)
		free(j);
	ocq_mpmc_destroy(&p->freelist);
	ocq_ec_destroy(&p->mon_ec);
	pthread_mutex_destroy(&p->lock);
	ocq_chan_destroy(p->q);
	free(p);
}

void
ocpool_get_metrics(struct ocpool *p, struct ocpool_metrics *m)
{
	uint64_t now = ocpool__now(), busy = 0;

	memset(m, 0, sizeof(*m));
	m->queued = ocq_chan_len(p->q);
	pthread_mutex_lock(&p->lock);
	m->workers = p->counted - p->retiring;
	m->threads = p->threads;
	for (struct ocpool__worker *w = p->workers; w; w = w->next) {
		uint64_t st = atomic_load_explicit(&w->cur_start, memory_order_relaxed);

		m->completed += atomic_load_explicit(&w->completed, memory_order_relaxed);
		busy += atomic_load_explicit(&w->busy_acc, memory_order_relaxed) +
			(st && st < now ? now - st : 0);
		if (st && !w->exited)
			m->busy++;
	}
	if (p->m_time && now > p->m_time && m->workers)
		m->utilization = (double)(busy - p->m_busy) / ((double)(now - p->m_time) * m->workers);
	p->m_busy = busy;
	p->m_time = now;
	pthread_mutex_unlock(&p->lock);
	m->idle = m->threads > m->busy ? m->threads - m->busy : 0;
	m->dropped = atomic_load(&p->dropped) + atomic_load(&p->cancelled_total);
	m->resizes = atomic_load(&p->resizes);
	m->watchdog_fired = atomic_load(&p->wd_fired);
}

/* --- parallel helpers ----------------------------------------------------- */

struct ocpool__pfor {
	int (*fn)(size_t i, void *arg);
	void *arg;
	size_t n, chunk;
	_Atomic size_t next;
	_Atomic size_t left; /* chunks not yet finished */
	_Atomic int err;
	_Atomic uint32_t finished;
	_Atomic int refs;
};

static void
ocpool__pfor_unref(struct ocpool__pfor *f)
{
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
		free(f);
}

/* Take chunks until none are left. */
static void
ocpool__pfor_work(struct ocpool__pfor *f)
{
	for (;;) {
		size_t lo = atomic_fetch_add(&f->next, f->chunk), hi;

		if (lo >= f->n)
			return;
		hi = lo + f->chunk < f->n ? lo + f->chunk : f->n;
		for (size_t i = lo; i < hi; i++) {
			int e = f->fn(i, f->arg), zero = 0;

			if (e)
				atomic_compare_exchange_strong(&f->err, &zero, e);
		}
		if (atomic_fetch_sub(&f->left, 1) == 1) {
			atomic_store_explicit(&f->finished, 1, memory_order_release);
			ocq__futex_wake(&f->finished, INT_MAX);
		}
	}
}

static int
ocpool__pfor_job(void *arg)
{
	ocpool__pfor_work(arg);
	ocpool__pfor_unref(arg);
	return 0;
}

int
ocpool_parallel_for(struct ocpool *p, size_t n, int (*fn)(size_t i, void *arg), void *arg)
{
	struct ocpool__pfor *f;
	unsigned helpers;
	int err;

	if (n == 0)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	helpers = p->counted;
	pthread_mutex_unlock(&p->lock);
	f->fn = fn;
	f->arg = arg;
	f->n = n;
	f->chunk = n / ((size_t)(helpers + 1) * 4) + 1;
	atomic_init(&f->left, (n + f->chunk - 1) / f->chunk);
	atomic_init(&f->refs, 1);
	for (unsigned i = 0; i < helpers && (size_t)i + 1 < atomic_load(&f->left); i++) {
		atomic_fetch_add(&f->refs, 1);
		if (ocpool__submit(p, ocpool__pfor_job, f, 0, NULL, NULL, false, false) != 0) {
			atomic_fetch_sub(&f->refs, 1);
			break; /* the queue is full: the caller does more itself */
		}
	}
	ocpool__pfor_work(f);
	while (atomic_load_explicit(&f->finished, memory_order_acquire) == 0)
		ocq__futex_wait(&f->finished, 0, NULL);
	err = atomic_load(&f->err);
	ocpool__pfor_unref(f);
	return err;
}

struct ocpool__drain {
	struct ocq_chan *ch;
	ocq_drain_fn fn;
	void *arg;
};

static int
ocpool__drain_job(void *arg)
{
	struct ocpool__drain *d = arg;
	struct ocq_rx rx;
	void *item;
	int first = 0;

	if (ocq_rx_open(&rx, d->ch))
		return -EBUSY;
	while (ocq_recv(&rx, &item) == 0) {
		int e = d->fn(item, d->arg);

		if (e && !first)
			first = e;
	}
	ocq_rx_release(&rx);
	return first;
}

int
ocpool_drain_chan(struct ocpool *p, struct ocq_chan *ch, unsigned n, ocq_drain_fn fn, void *arg)
{
	struct ocpool__drain d = {ch, fn, arg};
	struct ocpool_job **jobs;
	int first = 0, rc = 0;
	unsigned started = 0;

	if (n == 0 || (ch->sc && n > 1))
		return -EINVAL;
	jobs = calloc(n, sizeof(*jobs));
	if (!jobs)
		return -ENOMEM;
	for (; started < n; started++) {
		rc = ocpool_submit(p, ocpool__drain_job, &d, &jobs[started]);
		if (rc)
			break;
	}
	for (unsigned i = 0; i < started; i++) {
		int st;

		ocpool_join(jobs[i], &st);
		if (st && !first)
			first = st;
	}
	free(jobs);
	if (started == 0)
		return rc;
	return first;
}

#endif /* OCPOOL_IMPL_H */
