/* SPDX-License-Identifier: MIT */
/*
 * ocpool.h - fixed and adaptive thread pools on an ocq MPMC channel.
 *
 * Use: in exactly one .c file, `#define OCPOOL_IMPLEMENTATION` before
 * `#include "ocpool/ocpool.h"`; elsewhere include it plainly. Needs ocq/
 * beside ocpool/ (the two folders vendor together), C11, -pthread, -lm.
 *
 * What it gives: bounded submit (blocking, non-blocking with a drop count,
 * timed, batched), join handles carrying the job's int status, parallel_for,
 * an adaptive size (ocpool_ctl.h) with a blocking hint and a starvation rule,
 * a watchdog for jobs that run past their budget (cooperative cancel, no
 * pthread_cancel), metrics, and shutdown that drains or cancels and returns
 * as soon as the last running job ends. No globals beyond one thread-local
 * pointer to the calling worker: pools never interfere.
 *
 * Concurrency contract:
 *
 *   | call                                   | may run concurrently with          |
 *   |----------------------------------------|------------------------------------|
 *   | submit family, join, parallel_for,     | everything except shutdown/destroy |
 *   | metrics                                | of the same pool                   |
 *   | ocpool_cancelled, blocking_begin/_end  | anything (inside a job)            |
 *   | ocpool_shutdown, ocpool_destroy        | nothing on the same pool; not from |
 *   |                                        | inside one of its jobs             |
 *
 * Ownership: a join handle is owned by the submitter until ocpool_join()
 * frees it; every joinable job must be joined exactly once.
 */
#ifndef OCPOOL_H
#define OCPOOL_H

#include "../ocq/ocq.h"
#include "ocpool_ctl.h"

struct ocpool;
struct ocpool_job;

/* A job: returns its status, which ocpool_join() hands back. */
typedef int (*ocpool_fn)(void *arg);

enum ocpool_mode {
	OCPOOL_FIXED,
	OCPOOL_ADAPTIVE,
};

/* Passed to the watchdog callback for a job past its budget. */
struct ocpool_overdue {
	ocpool_fn fn;
	void *arg;
	uint64_t budget_ns;
	uint64_t running_ns;
	bool replaced; /* a replacement worker was started */
};

struct ocpool_config {
	enum ocpool_mode mode;
	unsigned workers;      /* fixed: the size (0: CPUs); adaptive: start (0: min) */
	unsigned min, max;     /* adaptive bounds (0: [max(2, n/2), 4n]); fixed: max
				* threads incl. watchdog replacements (0: 2 x size) */
	size_t queue_capacity; /* jobs waiting at most (0: 1024) */
	uint64_t tick_ns;      /* adaptive sample period (0: 250 ms) */
	void (*log)(void *ctx, const char *msg);
	void *log_ctx;
	void (*on_overdue)(void *ctx, const struct ocpool_overdue *o);
	void *overdue_ctx;
};

struct ocpool_metrics {
	size_t queued;
	unsigned workers; /* counting workers */
	unsigned threads; /* live threads, including overdue ones */
	unsigned busy, idle;
	double utilization; /* busy time / (workers x time) since the last call */
	uint64_t completed, dropped, resizes, watchdog_fired;
};

enum ocpool_stop {
	OCPOOL_DRAIN,  /* run every queued job, then stop */
	OCPOOL_CANCEL, /* drop queued jobs (joins see -ECANCELED), finish running ones */
};

/* Defaults: fixed, one worker per usable CPU, queue of 1024. */
void ocpool_config_init(struct ocpool_config *c);
/* Parse "adaptive" or a worker count N >= 1. Returns 0 or -EINVAL. */
int ocpool_config_parse(struct ocpool_config *c, const char *value);
/* CPUs this process may use: affinity mask and cgroup CPU quota. */
unsigned ocpool_cpu_count(void);

/*
 * Start a pool. An adaptive pool stays at its initial size when the
 * environment has OC_RSYNC_ADAPTIVE_THREADS=0. Returns 0, -EINVAL, -ENOMEM,
 * or -errno from pthread_create.
 */
int ocpool_create(struct ocpool **out, const struct ocpool_config *c);

/*
 * Queue fn(arg), waiting while the queue is full. join (may be NULL) gets a
 * handle for ocpool_join(). Returns 0, -ESHUTDOWN, -ENOMEM.
 */
int ocpool_submit(struct ocpool *p, ocpool_fn fn, void *arg, struct ocpool_job **join);
/* As submit, but -EAGAIN at once when full; the refusal counts as a drop. */
int ocpool_try_submit(struct ocpool *p, ocpool_fn fn, void *arg, struct ocpool_job **join);
/* As submit, waiting at most timeout_ns; -ETIMEDOUT after. */
int ocpool_submit_timeout(struct ocpool *p, ocpool_fn fn, void *arg, struct ocpool_job **join,
			  uint64_t timeout_ns);
/*
 * As submit, with a run-time budget: past budget_ns of running, the watchdog
 * reports the job, sets its cancel flag (ocpool_cancelled()), stops counting
 * its worker, and may start one replacement within the upper bound.
 */
int ocpool_submit_budget(struct ocpool *p, ocpool_fn fn, void *arg, uint64_t budget_ns,
			 struct ocpool_job **join);
/* Queue fn(args[i]) for every i, waiting as needed, one wake-up per burst. */
int ocpool_submit_batch(struct ocpool *p, ocpool_fn fn, void *const *args, size_t n);

/* Wait for a job and free its handle; *status (may be NULL) gets its result. */
int ocpool_join(struct ocpool_job *j, int *status);

/*
 * Run fn(i, arg) for i in [0, n) on the pool and the calling thread, and
 * wait. Safe to call from inside a job (the caller does the work if no
 * worker is free). Returns 0 or the first non-zero fn result.
 */
int ocpool_parallel_for(struct ocpool *p, size_t n, int (*fn)(size_t i, void *arg), void *arg);

/*
 * Drain an ocq channel on up to n pool workers (ocq_drain_parallel's
 * contract, on the pool's threads instead of new ones): fn sees every item
 * until the channel is closed and empty. Returns 0, the first fn error, or
 * -EINVAL (n > 1 on a single-consumer channel).
 */
int ocpool_drain_chan(struct ocpool *p, struct ocq_chan *ch, unsigned n, ocq_drain_fn fn,
		      void *arg);

/* Inside a job: true once the watchdog has cancelled the running job. */
bool ocpool_cancelled(void);
/* Inside a job, around a call that may block for long: lets an adaptive pool
 * add a worker at once instead of waiting for its controller. */
void ocpool_blocking_begin(void);
void ocpool_blocking_end(void);

void ocpool_get_metrics(struct ocpool *p, struct ocpool_metrics *m);

/*
 * Stop the pool: drain or cancel the queue, wait for running jobs, join
 * every thread. Returns 0 (or -EALREADY); *dropped (may be NULL) gets the
 * number of queued jobs cancelled. Submits after this fail with -ESHUTDOWN.
 */
int ocpool_shutdown(struct ocpool *p, enum ocpool_stop how, size_t *dropped);
/* Shut down (draining) if needed and free the pool. */
void ocpool_destroy(struct ocpool *p);

#ifdef OCPOOL_IMPLEMENTATION
#include "ocpool_impl.h"
#endif

#endif /* OCPOOL_H */
