/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The adaptive controller, tested by simulation with an injected clock.
 *
 * The simulated pool is a fluid model sampled every 250 ms (the pool's
 * tick): jobs arrive at a rate, wait in a queue, and run on W workers; a
 * job needs cpu_s of CPU and io_s of waiting; when busy workers want more
 * CPU than the machine's n CPUs, they time-share and jobs stretch. The
 * controller sees exactly what the real pool measures: worker count, busy
 * workers, busy time, process CPU time, submitted and completed counts,
 * queue depth, time of the last completion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ocpool/ocpool_ctl.h"

#define TICK_NS 250000000ull
#define SEC 1000000000ull

struct sim {
	struct ocpool_ctl_params p;
	struct ocpool_ctl_state st;
	uint64_t now;
	unsigned w;
	double queue, busy, last_completion;
	double sub_acc, done_acc; /* fractional jobs carried to the next tick */
	unsigned resizes;
	unsigned max_w;
	uint32_t noise;
	FILE *trace; /* OCPOOL_SIM_CSV=dir: one CSV per scenario, for the plot */
	double t0;
};

struct load {
	double rate;  /* jobs per second */
	double cpu_s; /* CPU per job */
	double io_s;  /* waiting per job */
	double jitter;
};

static void
sim_init(struct sim *s, unsigned ncpu, unsigned start_workers)
{
	memset(s, 0, sizeof(*s));
	ocpool_ctl_defaults(&s->p, ncpu);
	s->w = start_workers;
	s->max_w = start_workers;
	s->noise = 1;
}

static double
jitter(struct sim *s, double amp)
{
	s->noise = s->noise * 1103515245u + 12345u;
	return 1.0 + amp * ((double)(s->noise >> 16 & 0x7fff) / 16384.0 - 1.0);
}

/* Advance one tick under a load; returns the decision taken. */
static struct ocpool_ctl_decision
sim_tick(struct sim *s, const struct load *l)
{
	double dt = (double)TICK_NS / 1e9, frac, share = 1.0, dur, guess, cap, done, cpu;
	double arrivals = l->rate * dt * (l->jitter ? jitter(s, l->jitter) : 1.0);
	double avail = s->queue + arrivals;
	struct ocpool_ctl_sample smp;
	struct ocpool_ctl_decision d;
	uint64_t nsub, ndone;

	/* busy workers want frac of a CPU each; past n CPUs they time-share
	 * and every job's CPU part stretches */
	frac = l->cpu_s + l->io_s > 0 ? l->cpu_s / (l->cpu_s + l->io_s) : 0;
	guess = avail * (l->cpu_s + l->io_s) / dt;
	if (guess > s->w)
		guess = s->w;
	if (guess * frac > s->p.ncpu)
		share = s->p.ncpu / (guess * frac);
	dur = l->io_s + l->cpu_s / share;
	cap = s->w * dt / dur;
	done = avail < cap ? avail : cap;
	s->busy = done * dur / dt;
	if (s->busy > s->w)
		s->busy = s->w;
	s->queue = avail - done;
	cpu = s->busy * l->cpu_s / dur;
	s->now += TICK_NS;

	s->sub_acc += arrivals;
	nsub = (uint64_t)s->sub_acc;
	s->sub_acc -= (double)nsub;
	s->done_acc += done;
	ndone = (uint64_t)s->done_acc;
	s->done_acc -= (double)ndone;
	if (ndone)
		s->last_completion = (double)s->now;

	smp = (struct ocpool_ctl_sample){
		.now_ns = s->now,
		.workers = s->w,
		.busy = (unsigned)(s->busy + 0.5),
		.busy_ns = (uint64_t)(s->busy * dt * 1e9),
		.cpu_ns = (uint64_t)(cpu * dt * 1e9),
		.submitted = nsub,
		.completed = ndone,
		.queued = (uint64_t)(s->queue + 0.5),
		.last_completion_ns = (uint64_t)s->last_completion,
	};
	ocpool_ctl_step(&s->p, &s->st, &smp, &d);
	if (s->trace)
		fprintf(s->trace, "%.2f,%u,%.3f,%.2f,%.1f,%.3f\n", (double)s->now / 1e9 - s->t0,
			s->w, s->busy / s->w, d.demand, s->queue, d.cpu);
	if (d.target != s->w) {
		s->resizes++;
		s->w = d.target;
		if (s->w > s->max_w)
			s->max_w = s->w;
	}
	return d;
}

/* Start a CSV trace of this scenario if OCPOOL_SIM_CSV names a folder. */
static void
sim_trace(struct sim *s, const char *name)
{
	const char *dir = getenv("OCPOOL_SIM_CSV");
	char path[512];

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.csv", dir, name);
	s->trace = fopen(path, "w");
	if (s->trace)
		fprintf(s->trace, "t,workers,utilization,demand,queue,cpu\n");
}

static void
sim_end(struct sim *s)
{
	if (s->trace)
		fclose(s->trace);
	s->trace = NULL;
}

static void
sim_run(struct sim *s, const struct load *l, double seconds)
{
	for (double t = 0; t < seconds; t += (double)TICK_NS / 1e9)
		sim_tick(s, l);
}

/* measured utilization right now: busy workers over workers */
static double
sim_util(const struct sim *s)
{
	return s->busy / s->w;
}

static void
t_step_cpu_to_io_reaches_band(void **state)
{
	struct sim s;
	/* 6 CPUs' worth of CPU-bound work on 8 CPUs, then the same rate of
	 * jobs that mostly wait: 12.3 workers' worth of demand */
	struct load cpu = {600, 0.010, 0, 0}, io = {600, 0.0005, 0.020, 0};
	double t_in_band = -1;

	(void)state;
	sim_init(&s, 8, 4);
	sim_trace(&s, "step_cpu_to_io");
	sim_run(&s, &cpu, 120);
	assert_true(s.w <= 9);
	for (double t = 0; t < 60; t += 0.25) {
		sim_tick(&s, &io);
		double u = sim_util(&s);

		if (t_in_band < 0 && u >= 0.60 && u <= 0.85 && s.queue < 1)
			t_in_band = t + 0.25;
	}
	sim_end(&s);
	printf("# cpu->io step: in band after %.2f s, %u workers, utilization %.2f\n",
	       t_in_band, s.w, sim_util(&s));
	assert_true(t_in_band >= 0);
	assert_true(t_in_band <= 2 * 5.0); /* two grow periods */
	assert_true(sim_util(&s) >= 0.60 && sim_util(&s) <= 0.85);
}

static void
t_constant_load_is_quiet(void **state)
{
	static const struct load loads[] = {
		{400, 0.0005, 0.020, 0.05}, /* I/O-bound, ~8 workers */
		{300, 0.010, 0, 0.05},	    /* CPU-bound, 3 CPUs' worth */
		{50, 0.002, 0.200, 0.05},   /* slow waits, ~10 workers */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		struct sim s;
		char name[32];

		sim_init(&s, 8, 4);
		snprintf(name, sizeof(name), "constant_%zu", i);
		sim_trace(&s, name);
		sim_run(&s, &loads[i], 600);
		sim_end(&s);
		printf("# constant load %zu: %u resizes in 600 s, %u workers, utilization %.2f\n",
		       i, s.resizes, s.w, sim_util(&s));
		assert_true(s.resizes <= 2);
	}
}

static void
t_cpu_bound_never_oversubscribes(void **state)
{
	static const unsigned cpus[] = {1, 2, 4, 8, 16};

	(void)state;
	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		unsigned n = cpus[i];
		struct sim s;
		/* three times what the CPUs can do: the queue only grows */
		struct load l = {300.0 * n, 0.010, 0, 0.1};
		/* and long CPU-bound jobs that trip the starvation timer */
		struct load slow = {1.0 * n, 2.0, 0, 0};

		char name[32];

		sim_init(&s, n, 2);
		s.w = s.p.min;
		s.max_w = s.w;
		snprintf(name, sizeof(name), "cpu_bound_%u", n);
		sim_trace(&s, name);
		sim_run(&s, &l, 300);
		sim_run(&s, &slow, 300);
		sim_end(&s);
		printf("# cpu-bound on %u CPUs: at most %u workers\n", n, s.max_w);
		assert_true(s.max_w <= n + 1 || s.max_w == s.p.min);
	}
}

/* However the idle moment falls against the shrink cadence, the pool is
 * back at its lower bound within 35 s. */
static void
t_idle_returns_to_lower_bound(void **state)
{
	struct load busy = {800, 0.0005, 0.020, 0}, idle = {0, 0.0005, 0.020, 0};
	double worst = 0;

	(void)state;
	/* the pool grows at about 5 s; going idle between 6 s and 40 s puts
	 * the idle moment at every phase of the 30 s shrink cadence */
	for (double busy_s = 6; busy_s <= 40; busy_s += 0.5) {
		struct sim s;
		double t_min = -1;

		sim_init(&s, 8, 4);
		if (busy_s == 6)
			sim_trace(&s, "idle");
		sim_run(&s, &busy, busy_s);
		assert_true(s.w > s.p.min);
		for (double t = 0; t < 120; t += 0.25) {
			sim_tick(&s, &idle);
			if (t_min < 0 && s.w == s.p.min)
				t_min = t + 0.25;
		}
		sim_end(&s);
		assert_true(t_min >= 0);
		if (t_min > worst)
			worst = t_min;
	}
	printf("# idle: at the lower bound within %.2f s, worst case over 69 idle start times\n",
	       worst);
	assert_true(worst <= 35.0);
}

static void
t_starvation_adds_one_at_once(void **state)
{
	struct sim s;
	/* jobs that block for 20 s: every worker busy, nothing completes */
	struct load stuck = {2, 0.0001, 20.0, 0};
	unsigned before;
	struct ocpool_ctl_decision d;

	(void)state;
	sim_init(&s, 8, 4);
	sim_run(&s, &(struct load){400, 0.0005, 0.020, 0}, 30);
	before = s.w;
	sim_run(&s, &(struct load){0, 0.0005, 0.020, 0}, 0.5);
	for (int i = 0; i < 200; i++) {
		d = sim_tick(&s, &stuck);
		if (d.reason == OCPOOL_STARVED)
			break;
	}
	assert_int_equal(d.reason, OCPOOL_STARVED);
	assert_true(s.w >= 1);
	(void)before;
}

static void
t_bounds_and_defaults(void **state)
{
	struct ocpool_ctl_params p;

	(void)state;
	ocpool_ctl_defaults(&p, 1);
	assert_int_equal(p.min, 2);
	assert_int_equal(p.max, 4);
	ocpool_ctl_defaults(&p, 2);
	assert_int_equal(p.min, 2);
	assert_int_equal(p.max, 8);
	ocpool_ctl_defaults(&p, 16);
	assert_int_equal(p.min, 8);
	assert_int_equal(p.max, 64);
	assert_int_equal(p.grow_every_ns, 5 * SEC);
	assert_int_equal(p.shrink_every_ns, 30 * SEC);

	/* demand far past max never pushes past it; once the backlog has
	 * drained, no demand never goes below min */
	struct sim s;
	sim_init(&s, 2, 2);
	sim_run(&s, &(struct load){20, 0.00001, 1.0, 0}, 120);
	assert_int_equal(s.w, s.p.max);
	assert_int_equal(s.max_w, s.p.max);
	sim_run(&s, &(struct load){0, 0.00001, 1.0, 0}, 1200);
	assert_true(s.queue < 1);
	assert_int_equal(s.w, s.p.min);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_step_cpu_to_io_reaches_band),
		cmocka_unit_test(t_constant_load_is_quiet),
		cmocka_unit_test(t_cpu_bound_never_oversubscribes),
		cmocka_unit_test(t_idle_returns_to_lower_bound),
		cmocka_unit_test(t_starvation_adds_one_at_once),
		cmocka_unit_test(t_bounds_and_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
