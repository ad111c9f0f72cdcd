/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ocpool: the paths test_ocpool.c leaves out: the adaptive controller on a
 * live pool (a starved queue grows it), adaptive sizing switched off by the
 * environment, start-size clamping, refusals after shutdown and of bad
 * arguments, and errors handed back by ocpool_drain_chan(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define OCPOOL_IMPLEMENTATION
#include "ocpool/ocpool.h"

#include "tests/unit/ocpool_gate.h"

static int
ret_arg(void *arg)
{
	return (int)(intptr_t)arg;
}

/* The pool's log lines, kept for the assertions. */
struct logbuf {
	pthread_mutex_t mu;
	char text[4096];
};

static void
log_line(void *ctx, const char *msg)
{
	struct logbuf *b = ctx;
	size_t n;

	pthread_mutex_lock(&b->mu);
	n = strlen(b->text);
	snprintf(b->text + n, sizeof(b->text) - n, "%s\n", msg);
	pthread_mutex_unlock(&b->mu);
}

static bool
log_has(struct logbuf *b, const char *s)
{
	bool yes;

	pthread_mutex_lock(&b->mu);
	yes = strstr(b->text, s) != NULL;
	pthread_mutex_unlock(&b->mu);
	return yes;
}

/*
 * One worker, blocked on a gate without the blocking hint, jobs queued
 * behind it, and a job completed before: after the starvation time
 * (ocpool_ctl.h, 500 ms) the monitor's controller adds a worker, which
 * runs the queued jobs although the gate is still shut.
 */
static void
t_adaptive_starvation_grows(void **state)
{
	struct logbuf lb = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct ocpool_config c;
	struct ocpool_metrics m;
	struct ocpool *p;
	struct ocpool_job *first, *blocked, *queued[2];
	struct gate g = {0};
	uint64_t t0;
	int st;

	(void)state;
	unsetenv("OC_RSYNC_ADAPTIVE_THREADS");
	ocpool_config_init(&c);
	c.mode = OCPOOL_ADAPTIVE;
	c.workers = 1;
	c.min = 1;
	c.max = 3;
	c.tick_ns = 5000000; /* 5 ms */
	c.log = log_line;
	c.log_ctx = &lb;
	assert_int_equal(ocpool_create(&p, &c), 0);
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.workers, 1);

	/* a completion first: starvation means "none since", not "none ever" */
	assert_int_equal(ocpool_submit(p, ret_arg, (void *)3, &first), 0);
	assert_int_equal(ocpool_join(first, &st), 0);
	assert_int_equal(st, 3);

	assert_int_equal(ocpool_submit(p, wait_gate, &g, &blocked), 0);
	while (atomic_load(&g.entered) < 1)
		usleep(100);
	assert_int_equal(ocpool_submit(p, ret_arg, (void *)11, &queued[0]), 0);
	assert_int_equal(ocpool_submit(p, ret_arg, (void *)12, &queued[1]), 0);

	/* the queued jobs finish with the gate still shut: a worker was added */
	t0 = now_ns();
	assert_int_equal(ocpool_join(queued[0], &st), 0);
	assert_int_equal(st, 11);
	assert_int_equal(ocpool_join(queued[1], &st), 0);
	assert_int_equal(st, 12);
	assert_true(now_ns() - t0 < 10000000000ull);
	assert_int_equal(atomic_load(&g.open), 0);
	ocpool_get_metrics(p, &m);
	assert_true(m.resizes >= 1);
	assert_true(m.workers >= 2 && m.workers <= 3);
	assert_true(log_has(&lb, "ocpool: grow 1 -> 2 workers (starvation"));

	open_gate(&g);
	assert_int_equal(ocpool_join(blocked, &st), 0);
	assert_int_equal(st, 7);
	ocpool_destroy(p);
}

/* OC_RSYNC_ADAPTIVE_THREADS=0 keeps an adaptive pool at its start size (and
 * says so); the start size is clamped into [min, max]. */
static void
t_adaptive_off_and_clamps(void **state)
{
	struct logbuf lb = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct ocpool_config c;
	struct ocpool_metrics m;
	struct ocpool *p;
	struct ocpool_job *blocked, *queued;
	struct gate g = {0};
	int st;

	(void)state;
	ocpool_config_init(&c);
	c.mode = OCPOOL_ADAPTIVE;
	c.workers = 9; /* above max: starts at max */
	c.min = 1;
	c.max = 2;
	c.tick_ns = 2000000;
	c.log = log_line;
	c.log_ctx = &lb;
	setenv("OC_RSYNC_ADAPTIVE_THREADS", "0", 1);
	assert_int_equal(ocpool_create(&p, &c), 0);
	unsetenv("OC_RSYNC_ADAPTIVE_THREADS");
	assert_true(log_has(&lb, "adaptive resizing off (OC_RSYNC_ADAPTIVE_THREADS=0); 2 workers"));
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.workers, 2);
	ocpool_destroy(p);

	/* below min: starts at min; and with resizing off, a starved queue
	 * waits instead of growing the pool */
	lb.text[0] = '\0';
	c.workers = 1;
	c.min = 2;
	c.max = 4;
	setenv("OC_RSYNC_ADAPTIVE_THREADS", "0", 1);
	assert_int_equal(ocpool_create(&p, &c), 0);
	unsetenv("OC_RSYNC_ADAPTIVE_THREADS");
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.workers, 2);
	assert_int_equal(ocpool_submit(p, ret_arg, (void *)1, &queued), 0);
	assert_int_equal(ocpool_join(queued, &st), 0);
	assert_int_equal(ocpool_submit(p, wait_gate, &g, &blocked), 0);
	assert_int_equal(ocpool_submit(p, wait_gate, &g, NULL), 0);
	while (atomic_load(&g.entered) < 2)
		usleep(100);
	assert_int_equal(ocpool_submit(p, ret_arg, (void *)5, &queued), 0);
	usleep(700000); /* past the starvation time */
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.resizes, 0);
	assert_int_equal(m.workers, 2);
	assert_int_equal(m.queued, 1);
	assert_false(log_has(&lb, "grow"));
	open_gate(&g);
	assert_int_equal(ocpool_join(queued, &st), 0);
	assert_int_equal(st, 5);
	assert_int_equal(ocpool_join(blocked, &st), 0);
	ocpool_destroy(p);
}

/* Arguments and states the API refuses. */
static void
t_refusals(void **state)
{
	struct ocpool_config c;
	struct ocpool *p;
	void *args[3] = {(void *)1, (void *)2, (void *)3};
	size_t dropped = 99;

	(void)state;
	/* a fixed pool's thread cap below its size */
	ocpool_config_init(&c);
	c.workers = 4;
	c.max = 2;
	assert_int_equal(ocpool_create(&p, &c), -EINVAL);
	assert_null(p);

	assert_int_equal(ocpool_join(NULL, NULL), -EINVAL);
	ocpool_destroy(NULL); /* a no-op, as free(NULL) */

	/* the blocking hint outside a job changes nothing */
	ocpool_blocking_begin();
	ocpool_blocking_end();
	assert_false(ocpool_cancelled());

	c.workers = 1;
	c.max = 0;
	assert_int_equal(ocpool_create(&p, &c), 0);
	assert_int_equal(ocpool_parallel_for(p, 0, NULL, NULL), 0);
	assert_int_equal(ocpool_shutdown(p, OCPOOL_DRAIN, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(ocpool_shutdown(p, OCPOOL_CANCEL, &dropped), -EALREADY);
	assert_int_equal(ocpool_submit(p, ret_arg, NULL, NULL), -ESHUTDOWN);
	assert_int_equal(ocpool_try_submit(p, ret_arg, NULL, NULL), -ESHUTDOWN);
	assert_int_equal(ocpool_submit_batch(p, ret_arg, args, 3), -ESHUTDOWN);
	/* drain_chan's submits fail: it returns their error */
	{
		struct ocq_chan *ch;

		assert_int_equal(ocq_chan_create(&ch, OCQ_MPMC, 8), 0);
		assert_int_equal(ocpool_drain_chan(p, ch, 2, NULL, NULL), -ESHUTDOWN);
		ocq_chan_destroy(ch);
	}
	ocpool_destroy(p);
}

static int
fail_on_odd(void *item, void *arg)
{
	_Atomic int *seen = arg;

	atomic_fetch_add(seen, 1);
	return ((uintptr_t)item & 1) ? -(int)(uintptr_t)item : 0;
}

/* ocpool_drain_chan: n == 0 and n > 1 on a single consumer channel are
 * refused; a consumer already open there makes the job fail with -EBUSY;
 * an item fn fails on is reported (the first error a worker saw), and
 * every item is still seen. */
static void
t_drain_chan_errors(void **state)
{
	struct ocpool_config c;
	struct ocpool *p;
	struct ocq_chan *ch;
	struct ocq_tx tx;
	struct ocq_rx rx;
	_Atomic int seen = 0;
	int rc;

	(void)state;
	ocpool_config_init(&c);
	c.workers = 2;
	assert_int_equal(ocpool_create(&p, &c), 0);

	assert_int_equal(ocq_chan_create(&ch, OCQ_SPSC, 8), 0);
	assert_int_equal(ocpool_drain_chan(p, ch, 0, fail_on_odd, &seen), -EINVAL);
	assert_int_equal(ocpool_drain_chan(p, ch, 2, fail_on_odd, &seen), -EINVAL);
	assert_int_equal(ocq_rx_open(&rx, ch), 0);
	assert_int_equal(ocpool_drain_chan(p, ch, 1, fail_on_odd, &seen), -EBUSY);
	ocq_rx_release(&rx);
	ocq_chan_destroy(ch);

	/* one worker drains a closed channel holding 2, 4, 5, 6: only 5 fails */
	assert_int_equal(ocq_chan_create(&ch, OCQ_MPMC, 8), 0);
	assert_int_equal(ocq_chan_shared_sender(ch, &tx), 0);
	for (uintptr_t v = 2; v <= 6; v++)
		if (v != 3)
			assert_int_equal(ocq_send(&tx, (void *)v), 0);
	ocq_tx_release(&tx);
	rc = ocpool_drain_chan(p, ch, 1, fail_on_odd, &seen);
	assert_int_equal(rc, -5);
	assert_int_equal(atomic_load(&seen), 4);
	ocq_chan_destroy(ch);
	ocpool_destroy(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_adaptive_starvation_grows),
		cmocka_unit_test(t_adaptive_off_and_clamps),
		cmocka_unit_test(t_refusals),
		cmocka_unit_test(t_drain_chan_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
