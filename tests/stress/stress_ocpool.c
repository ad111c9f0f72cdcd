/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocpool stress, printing TAP: four threads each run create / submit /
 * destroy cycles on pools of their own, 100,000 cycles in all (scale with
 * OCPOOL_STRESS_CYCLES). Every cycle checks exact accounting: try_submit
 * on a full queue refuses exactly as often as the test makes it, a
 * cancelling shutdown reports exactly the jobs whose joins see -ECANCELED,
 * every other job ran once with its own status, and metrics agree. A
 * watchdog fails the run if progress stops (deadlock). Run under TSan and
 * ASan (leaks) in CI.
 */
#include <inttypes.h>
#include <stdio.h>

#define OCPOOL_IMPLEMENTATION
#include "ocpool/ocpool.h"
#include "stress.h"

#define THREADS 4
static unsigned cycles = 100000;

struct gate {
	_Atomic uint32_t open;
	_Atomic uint32_t entered;
};

static int
gate_job(void *arg)
{
	struct gate *g = arg;

	atomic_store(&g->entered, 1);
	ocq__futex_wake(&g->entered, INT_MAX);
	while (!atomic_load(&g->open))
		ocq__futex_wait(&g->open, 0, NULL);
	return 1000;
}

static int
ident(void *arg)
{
	return (int)(intptr_t)arg;
}

struct result {
	uint64_t cycles, errors, drops_checked, cancels_checked;
	char first_error[160];
};

static void
fail(struct result *r, const char *what, uint64_t cycle)
{
	if (!r->errors)
		snprintf(r->first_error, sizeof(r->first_error), "%s (cycle %" PRIu64 ")", what,
			 cycle);
	r->errors++;
}

/* One cycle: a pool whose workers are all held by gates, a full queue,
 * refused submits, then a drain or a cancel. */
static void
cycle(struct result *r, uint64_t n)
{
	struct ocpool_config c;
	struct ocpool *p;
	struct gate g = {0};
	struct ocpool_job *gj, *q[3];
	struct ocpool_metrics m;
	unsigned refused = (unsigned)(n % 4), cancelled = 0, ran = 0;
	bool cancel = n & 1;
	size_t dropped = 0;

	ocpool_config_init(&c);
	c.queue_capacity = 3;
	if (n % 5 == 0) {
		c.mode = OCPOOL_ADAPTIVE;
		c.min = 1;
		c.max = 1;
	} else {
		c.workers = 1;
	}
	if (ocpool_create(&p, &c)) {
		fail(r, "create", n);
		return;
	}
	if (ocpool_submit(p, gate_job, &g, &gj)) {
		fail(r, "submit gate", n);
		goto out;
	}
	while (!atomic_load(&g.entered))
		ocq__futex_wait(&g.entered, 0, NULL);
	for (intptr_t i = 0; i < 3; i++)
		if (ocpool_submit(p, ident, (void *)(i + 1), &q[i]))
			fail(r, "submit", n);
	for (unsigned i = 0; i < refused; i++)
		if (ocpool_try_submit(p, ident, NULL, NULL) != -EAGAIN)
			fail(r, "try_submit on a full queue did not refuse", n);
	ocpool_get_metrics(p, &m);
	if (m.dropped != refused)
		fail(r, "drop count after refusals", n);
	r->drops_checked++;

	atomic_store(&g.open, 1);
	ocq__futex_wake(&g.open, INT_MAX);
	if (ocpool_shutdown(p, cancel ? OCPOOL_CANCEL : OCPOOL_DRAIN, &dropped))
		fail(r, "shutdown", n);
	int st;

	if (ocpool_join(gj, &st) || st != 1000)
		fail(r, "gate job status", n);
	for (intptr_t i = 0; i < 3; i++) {
		if (ocpool_join(q[i], &st))
			fail(r, "join", n);
		else if (st == -ECANCELED)
			cancelled++;
		else if (st == i + 1)
			ran++;
		else
			fail(r, "job status", n);
	}
	if (dropped != cancelled || ran + cancelled != 3 || (!cancel && cancelled))
		fail(r, "cancel accounting", n);
	ocpool_get_metrics(p, &m);
	if (m.dropped != refused + cancelled)
		fail(r, "metrics after shutdown", n);
	r->cancels_checked += cancel;
out:
	ocpool_destroy(p);
	r->cycles++;
	stress_tick();
}

static void *
runner(void *arg)
{
	struct result *r = arg;

	for (uint64_t n = 0; n < cycles / THREADS; n++)
		cycle(r, n);
	return NULL;
}

int
main(void)
{
	struct result r[THREADS] = {0};
	pthread_t t[THREADS];
	uint64_t total = 0, errors = 0, drops = 0, cancels = 0;
	const char *e = getenv("OCPOOL_STRESS_CYCLES");

	if (e && atoi(e) >= THREADS)
		cycles = (unsigned)atoi(e);
	printf("1..2\n");
	fflush(stdout);
	stress_current = "create/submit/destroy cycles";
	stress_watchdog_start();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, runner, &r[i]);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += r[i].cycles;
		errors += r[i].errors;
		drops += r[i].drops_checked;
		cancels += r[i].cancels_checked;
		if (r[i].errors)
			printf("# thread %d: %" PRIu64 " errors, first: %s\n", i, r[i].errors,
			       r[i].first_error);
	}
	stress_tap(total == cycles / THREADS * THREADS,
		   "%" PRIu64 " create/submit/destroy cycles on %d concurrent pools, no deadlock",
		   total, THREADS);
	stress_tap(errors == 0,
		   "exact accounting: %" PRIu64 " refusal counts and %" PRIu64
		   " cancelling shutdowns checked, %" PRIu64 " mismatches",
		   drops, cancels, errors);
	return stress_failed ? 1 : 0;
}
