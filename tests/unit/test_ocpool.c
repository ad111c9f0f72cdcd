/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ocpool: submit family, join statuses, exact drop counts, shutdown modes
 * and latency, watchdog, blocking hint, parallel helpers, configuration. */
#include <stdarg.h>
#include <stddef.h>
#include <semaphore.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define OCPOOL_IMPLEMENTATION
#include "ocpool/ocpool.h"

#include "tests/unit/ocpool_gate.h"

static void *
open_gate_later(void *arg)
{
	usleep(20000);
	open_gate(arg);
	return NULL;
}

static void
wait_entered(struct gate *g, int n)
{
	while (atomic_load(&g->entered) < n)
		usleep(100);
}

static int
square(void *arg)
{
	intptr_t v = (intptr_t)arg;

	return (int)(v * v % 1000);
}

static struct ocpool *
fixed(unsigned workers, size_t cap)
{
	struct ocpool_config c;
	struct ocpool *p;

	ocpool_config_init(&c);
	c.workers = workers;
	c.queue_capacity = cap;
	assert_int_equal(ocpool_create(&p, &c), 0);
	return p;
}

static void
t_join_statuses(void **state)
{
	struct ocpool *p = fixed(3, 64);
	struct ocpool_job *j[500];

	(void)state;
	for (intptr_t i = 0; i < 500; i++)
		assert_int_equal(ocpool_submit(p, square, (void *)i, &j[i]), 0);
	for (intptr_t i = 0; i < 500; i++) {
		int st = -1;

		assert_int_equal(ocpool_join(j[i], &st), 0);
		assert_int_equal(st, (int)(i * i % 1000));
	}
	struct ocpool_metrics m;

	ocpool_get_metrics(p, &m);
	assert_int_equal(m.completed, 500);
	assert_int_equal(m.dropped, 0);
	assert_int_equal(m.workers, 3);
	ocpool_destroy(p);
}

static void
t_try_submit_counts_drops(void **state)
{
	struct ocpool *p = fixed(1, 4);
	struct gate g = {0};
	struct ocpool_job *gj, *q[4];
	struct ocpool_metrics m;
	struct ocpool_job *none = (void *)1;

	(void)state;
	assert_int_equal(ocpool_submit(p, wait_gate, &g, &gj), 0);
	wait_entered(&g, 1);
	for (intptr_t i = 0; i < 4; i++)
		assert_int_equal(ocpool_try_submit(p, square, (void *)i, &q[i]), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ocpool_try_submit(p, square, NULL, &none), -EAGAIN);
	assert_null(none);
	uint64_t t0 = now_ns();

	assert_int_equal(ocpool_submit_timeout(p, square, NULL, NULL, 20000000), -ETIMEDOUT);
	assert_true(now_ns() - t0 >= 20000000);
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.dropped, 3); /* a timed-out submit is not a drop */
	assert_int_equal(m.queued, 4);
	assert_int_equal(m.busy, 1);
	open_gate(&g);
	int st;

	assert_int_equal(ocpool_join(gj, &st), 0);
	assert_int_equal(st, 7);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ocpool_join(q[i], NULL), 0);
	ocpool_destroy(p);
}

static void
t_shutdown_cancel_exact(void **state)
{
	struct ocpool *p = fixed(2, 16);
	struct gate g = {0};
	struct ocpool_job *gj[2], *q[10];
	size_t dropped = 99;
	int st;

	(void)state;
	for (int i = 0; i < 2; i++)
		assert_int_equal(ocpool_submit(p, wait_gate, &g, &gj[i]), 0);
	wait_entered(&g, 2);
	for (intptr_t i = 0; i < 10; i++)
		assert_int_equal(ocpool_submit(p, square, (void *)i, &q[i]), 0);
	/* the gate opens while shutdown waits: running jobs finish, queued
	 * ones are dropped, and joins see which */
	pthread_t t;

	pthread_create(&t, NULL, open_gate_later, &g);
	assert_int_equal(ocpool_shutdown(p, OCPOOL_CANCEL, &dropped), 0);
	pthread_join(t, NULL);
	assert_int_equal(dropped, 10);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ocpool_join(gj[i], &st), 0);
		assert_int_equal(st, 7);
	}
	for (int i = 0; i < 10; i++) {
		assert_int_equal(ocpool_join(q[i], &st), 0);
		assert_int_equal(st, -ECANCELED);
	}
	assert_int_equal(ocpool_submit(p, square, NULL, NULL), -ESHUTDOWN);
	assert_int_equal(ocpool_shutdown(p, OCPOOL_DRAIN, NULL), -EALREADY);
	ocpool_destroy(p);
}

static void
t_shutdown_drain_runs_all(void **state)
{
	struct ocpool *p = fixed(2, 1000);
	struct ocpool_job *q[300];
	size_t dropped = 99;

	(void)state;
	for (intptr_t i = 0; i < 300; i++)
		assert_int_equal(ocpool_submit(p, square, (void *)i, &q[i]), 0);
	assert_int_equal(ocpool_shutdown(p, OCPOOL_DRAIN, &dropped), 0);
	assert_int_equal(dropped, 0);
	for (intptr_t i = 0; i < 300; i++) {
		int st;

		assert_int_equal(ocpool_join(q[i], &st), 0);
		assert_int_equal(st, (int)(i * i % 1000));
	}
	ocpool_destroy(p);
}

static _Atomic uint64_t last_end;

static int
sleep_then_stamp(void *arg)
{
	usleep((useconds_t)(uintptr_t)arg);
	atomic_store(&last_end, now_ns());
	return 0;
}

/* Shutdown returns right after the last running job ends: no polling. */
static void
t_shutdown_latency(void **state)
{
	(void)state;
	for (int round = 0; round < 5; round++) {
		struct ocpool *p = fixed(4, 16);
		uint64_t done, lag;

		for (int i = 0; i < 4; i++)
			assert_int_equal(ocpool_submit(p, sleep_then_stamp,
						       (void *)(uintptr_t)(20000 + 10000 * i), NULL),
					 0);
		usleep(5000);
		assert_int_equal(ocpool_shutdown(p, OCPOOL_DRAIN, NULL), 0);
		done = now_ns();
		lag = done - atomic_load(&last_end);
		print_message("# shutdown returned %.3f ms after the last job ended\n", lag / 1e6);
		assert_true(lag < 10000000);
		ocpool_destroy(p);
	}
}

struct overdue_seen {
	_Atomic int calls;
	_Atomic bool replaced;
};

static void
on_overdue(void *ctx, const struct ocpool_overdue *o)
{
	struct overdue_seen *s = ctx;

	atomic_store(&s->replaced, o->replaced);
	atomic_fetch_add(&s->calls, 1); /* last: the test waits for it */
}

static int
spin_until_cancelled(void *arg)
{
	uint64_t t0 = now_ns();

	(void)arg;
	while (!ocpool_cancelled()) {
		if (now_ns() - t0 > 5000000000ull)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return -ECANCELED;
}

static void
t_watchdog(void **state)
{
	struct ocpool_config c;
	struct ocpool *p;
	struct overdue_seen seen = {0};
	struct ocpool_job *slow, *fast;
	struct ocpool_metrics m;
	int st;
	uint64_t t0 = now_ns();

	(void)state;
	ocpool_config_init(&c);
	c.workers = 1;
	c.on_overdue = on_overdue;
	c.overdue_ctx = &seen;
	assert_int_equal(ocpool_create(&p, &c), 0);
	assert_int_equal(ocpool_submit_budget(p, spin_until_cancelled, NULL, 50000000, &slow), 0);
	/* a job queued behind the stuck one runs on the replacement */
	assert_int_equal(ocpool_submit(p, square, (void *)3, &fast), 0);
	assert_int_equal(ocpool_join(fast, &st), 0);
	assert_int_equal(st, 9);
	assert_int_equal(ocpool_join(slow, &st), 0);
	assert_int_equal(st, -ECANCELED);
	assert_true(now_ns() - t0 >= 50000000);
	/* the watchdog sets the cancel flag before it calls on_overdue, so
	 * the job can end first (it did under TSan) */
	for (int i = 0; i < 5000 && atomic_load(&seen.calls) == 0; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&seen.calls), 1);
	assert_true(atomic_load(&seen.replaced));
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.watchdog_fired, 1);
	assert_int_equal(m.workers, 1); /* the replacement, or the old one, not both */
	/* a job within its budget is never cancelled */
	assert_int_equal(ocpool_submit_budget(p, square, (void *)4, 1000000000, &fast), 0);
	assert_int_equal(ocpool_join(fast, &st), 0);
	assert_int_equal(st, 16);
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.watchdog_fired, 1);
	ocpool_destroy(p);
}

static int
blocking_sleep(void *arg)
{
	ocpool_blocking_begin();
	usleep((useconds_t)(uintptr_t)arg);
	ocpool_blocking_end();
	return 0;
}

static int
log_count;
static void
count_log(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	log_count++;
}

static void
t_blocking_hint(void **state)
{
	struct ocpool_config c;
	struct ocpool *p;
	struct ocpool_metrics m;
	struct ocpool_job *j[3];

	(void)state;
	for (int env = 0; env < 2; env++) {
		if (env)
			setenv("OC_RSYNC_ADAPTIVE_THREADS", "0", 1);
		ocpool_config_init(&c);
		c.mode = OCPOOL_ADAPTIVE;
		c.min = 2;
		c.max = 6;
		c.log = count_log;
		log_count = 0;
		assert_int_equal(ocpool_create(&p, &c), 0);
		ocpool_get_metrics(p, &m);
		assert_int_equal(m.workers, 2);
		/* two workers block; the third job waits for them */
		for (int i = 0; i < 3; i++)
			assert_int_equal(ocpool_submit(p, blocking_sleep, (void *)200000, &j[i]), 0);
		usleep(50000);
		ocpool_get_metrics(p, &m);
		if (env) {
			assert_int_equal(m.workers, 2); /* pinned at its initial size */
			assert_int_equal(log_count, 1); /* says so once, at creation */
		} else {
			assert_true(m.workers >= 3);	/* grew at once, not after 5 s */
			assert_true(log_count >= 1);	/* and said why */
			assert_true(m.resizes >= 1);
		}
		for (int i = 0; i < 3; i++)
			assert_int_equal(ocpool_join(j[i], NULL), 0);
		ocpool_destroy(p);
		unsetenv("OC_RSYNC_ADAPTIVE_THREADS");
	}
}

static sem_t gate_entered, gate_open;

static int
blocking_gate(void *arg)
{
	(void)arg;
	ocpool_blocking_begin();
	sem_post(&gate_entered);
	while (sem_wait(&gate_open) && errno == EINTR)
		;
	ocpool_blocking_end();
	return 0;
}

static int
return_seven(void *arg)
{
	(void)arg;
	return 7;
}

/*
 * A job submitted while every worker is inside a blocking hint gets a
 * worker at once (a daemon session arriving while the others wait on their
 * clients), not at the controller's starvation rule half a second later.
 */
static void
t_blocking_hint_submit(void **state)
{
	struct ocpool_config c;
	struct ocpool *p;
	struct ocpool_metrics m;
	struct ocpool_job *a, *b;
	int st = 0;

	(void)state;
	sem_init(&gate_entered, 0, 0);
	sem_init(&gate_open, 0, 0);
	ocpool_config_init(&c);
	c.mode = OCPOOL_ADAPTIVE;
	c.min = 1;
	c.max = 4;
	assert_int_equal(ocpool_create(&p, &c), 0);
	assert_int_equal(ocpool_submit(p, blocking_gate, NULL, &a), 0);
	while (sem_wait(&gate_entered) && errno == EINTR)
		;
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.workers, 1);
	assert_int_equal(ocpool_submit(p, return_seven, NULL, &b), 0);
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.workers, 2); /* added by the submit itself */
	assert_int_equal(ocpool_join(b, &st), 0);
	assert_int_equal(st, 7); /* done while the first still waits */
	sem_post(&gate_open);
	assert_int_equal(ocpool_join(a, NULL), 0);
	ocpool_destroy(p);
	sem_destroy(&gate_entered);
	sem_destroy(&gate_open);
}

static _Atomic uint64_t pfor_sum;

static int
pfor_add(size_t i, void *arg)
{
	(void)arg;
	atomic_fetch_add(&pfor_sum, i);
	return i == 777 ? -EIO : 0;
}

static int
pfor_nested(void *arg)
{
	/* from inside a job, with every worker possibly busy */
	return ocpool_parallel_for(arg, 1000, pfor_add, NULL);
}

static void
t_parallel_for(void **state)
{
	struct ocpool *p = fixed(3, 8);
	struct ocpool_job *j[3];

	(void)state;
	atomic_store(&pfor_sum, 0);
	assert_int_equal(ocpool_parallel_for(p, 100000, pfor_add, NULL), -EIO);
	assert_int_equal(atomic_load(&pfor_sum), (uint64_t)100000 * 99999 / 2);
	atomic_store(&pfor_sum, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ocpool_submit(p, pfor_nested, p, &j[i]), 0);
	for (int i = 0; i < 3; i++) {
		int st;

		assert_int_equal(ocpool_join(j[i], &st), 0);
		assert_int_equal(st, -EIO);
	}
	assert_int_equal(atomic_load(&pfor_sum), (uint64_t)3 * 1000 * 999 / 2);
	assert_int_equal(ocpool_parallel_for(p, 0, pfor_add, NULL), 0);
	ocpool_destroy(p);
}

static int
drain_add(void *item, void *arg)
{
	atomic_fetch_add((_Atomic uint64_t *)arg, (uintptr_t)item);
	return 0;
}

static void
t_drain_chan_and_batch(void **state)
{
	struct ocpool *p = fixed(2, 1024);
	struct ocq_chan *ch;
	struct ocq_tx tx;
	_Atomic uint64_t sum = 0;
	void *args[700];
	struct ocpool_metrics m;

	(void)state;
	assert_int_equal(ocq_chan_create(&ch, OCQ_MPMC, 2000), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 1, &tx), 0);
	for (uintptr_t i = 1; i <= 1500; i++)
		assert_int_equal(ocq_send(&tx, (void *)i), 0);
	ocq_tx_release(&tx);
	assert_int_equal(ocpool_drain_chan(p, ch, 2, drain_add, &sum), 0);
	assert_int_equal(atomic_load(&sum), 1500 * 1501 / 2);
	ocq_chan_destroy(ch);

	for (int i = 0; i < 700; i++)
		args[i] = (void *)(intptr_t)i;
	assert_int_equal(ocpool_submit_batch(p, square, args, 700), 0);
	assert_int_equal(ocpool_shutdown(p, OCPOOL_DRAIN, NULL), 0);
	ocpool_get_metrics(p, &m);
	assert_int_equal(m.dropped, 0);
	ocpool_destroy(p);
}

/* Job A of a pair: waits (at most 2 s) until its partner B has run. */
static int
wait_partner(void *arg)
{
	_Atomic uint32_t *flag = arg;
	struct timespec dl = ocq_deadline_after(2000000000ull);

	while (atomic_load(flag) == 0)
		if (ocq__futex_wait(flag, 0, &dl) == -ETIMEDOUT)
			return atomic_load(flag) ? 0 : -ETIMEDOUT;
	return 0;
}

static int
wake_partner(void *arg)
{
	_Atomic uint32_t *flag = arg;

	atomic_store(flag, 1);
	ocq__futex_wake(flag, INT_MAX);
	return 0;
}

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * The idle policy (ocpool_idle.h): a submit wakes nobody while a worker
 * spins, and the spinner covers what is left after it takes a job. So job
 * A, which blocks until job B (submitted just after it) has run, must
 * always find B started by another worker, whether the pool's idle
 * workers were spinning, parking or asleep. Then: idle workers sleep
 * instead of spinning (a few ms of CPU over 200 ms at most).
 */
static void
t_idle_wakes(void **state)
{
	struct ocpool *p = fixed(8, 64);
	double cpu0;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		_Atomic uint32_t flag = 0;
		struct ocpool_job *a, *b;
		int st = -1;

		if (round % 64 == 0)
			usleep(500); /* every worker parks */
		assert_int_equal(ocpool_submit(p, wait_partner, &flag, &a), 0);
		if (round & 1)
			usleep(round % 7 * 10);
		assert_int_equal(ocpool_submit(p, wake_partner, &flag, &b), 0);
		assert_int_equal(ocpool_join(a, &st), 0);
		assert_int_equal(st, 0);
		assert_int_equal(ocpool_join(b, NULL), 0);
	}
	usleep(50000);
	cpu0 = cpu_ms();
	usleep(200000);
	cpu0 = cpu_ms() - cpu0;
	print_message("# 8 idle workers used %.2f ms of CPU in 200 ms\n", cpu0);
	assert_true(cpu0 < 20);
	ocpool_destroy(p);
}

static void
t_config(void **state)
{
	struct ocpool_config c;
	unsigned n = ocpool_cpu_count();
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	ocpool_config_init(&c);
	assert_int_equal(ocpool_config_parse(&c, "adaptive"), 0);
	assert_int_equal(c.mode, OCPOOL_ADAPTIVE);
	assert_int_equal(ocpool_config_parse(&c, "6"), 0);
	assert_int_equal(c.mode, OCPOOL_FIXED);
	assert_int_equal(c.workers, 6);
	assert_int_equal(ocpool_config_parse(&c, "0"), -EINVAL);
	assert_int_equal(ocpool_config_parse(&c, "-2"), -EINVAL);
	assert_int_equal(ocpool_config_parse(&c, "4x"), -EINVAL);
	assert_int_equal(ocpool_config_parse(&c, ""), -EINVAL);
	assert_int_equal(ocpool_config_parse(&c, NULL), -EINVAL);
	assert_true(n >= 1 && (long)n <= online);

	struct ocpool *p;

	ocpool_config_init(&c);
	c.mode = OCPOOL_ADAPTIVE;
	c.min = 5;
	c.max = 3;
	assert_int_equal(ocpool_create(&p, &c), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_join_statuses),
		cmocka_unit_test(t_try_submit_counts_drops),
		cmocka_unit_test(t_shutdown_cancel_exact),
		cmocka_unit_test(t_shutdown_drain_runs_all),
		cmocka_unit_test(t_shutdown_latency),
		cmocka_unit_test(t_watchdog),
		cmocka_unit_test(t_blocking_hint),
		cmocka_unit_test(t_blocking_hint_submit),
		cmocka_unit_test(t_parallel_for),
		cmocka_unit_test(t_drain_chan_and_batch),
		cmocka_unit_test(t_idle_wakes),
		cmocka_unit_test(t_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
