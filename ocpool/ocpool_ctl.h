/* SPDX-License-Identifier: MIT */
/*
 * ocpool_ctl.h - the adaptive pool's controller: a pure function from what
 * the pool measured to how many workers it should have. No clock, no
 * threads, no globals: the caller passes time in, so the controller is
 * tested by simulation (tests/unit/test_ocpool_ctl.c) and the pool only
 * feeds it samples.
 *
 * Method. Demand is estimated in workers' worth of work by Little's law:
 * jobs arriving per second times their mean service time, plus what it takes
 * to clear the current backlog within one shrink period (a shorter horizon
 * overshoots: the extra workers are idle once the backlog is gone). It is smoothed (EWMA,
 * time constant tau). Utilization is demand / workers. Inside the band
 * [band_lo, band_hi] nothing happens (a dead zone). Outside, the error
 * against the band's middle drives a PI step: the proportional part moves
 * straight to the size that puts utilization at the middle (step
 * proportional to the error), the integral part accumulates error that
 * persists while the cadence holds the size, is clamped, frozen while the
 * size sits at a bound (no wind-up), and consumed by each resize, since the
 * proportional step has just acted on that error.
 * Grows wait grow_every since the last resize, shrinks shrink_every, and a
 * shrink also waits until utilization has stayed below the band for
 * shrink_hold: a shrink taken while the smoothed demand is still falling
 * would be partial and spend the long shrink cadence on it.
 * A grow is refused while the process already uses cpu_ceiling of its CPUs,
 * and capped where the measured CPU per busy worker says more workers
 * would only time-share the CPUs (CPU-bound work stops at n + 1 workers).
 *
 * Concurrency contract: none needed; every function is pure on its
 * arguments. One state per pool, used by one thread.
 */
#ifndef OCPOOL_CTL_H
#define OCPOOL_CTL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ocpool_ctl_params {
	unsigned ncpu;		  /* CPUs this process may use */
	unsigned min, max;	  /* worker bounds */
	double band_lo, band_hi;  /* utilization band (dead zone) */
	double kp, ki;		  /* proportional and integral gains */
	double integral_max;	  /* clamp of the integral term (error x s) */
	double tau_s;		  /* smoothing time constant of the demand */
	double cpu_ceiling;	  /* refuse to grow at this CPU use (0..1) */
	uint64_t grow_every_ns;	  /* at least this long between a resize and a grow */
	uint64_t shrink_every_ns; /* at least this long between a resize and a shrink */
	uint64_t shrink_hold_ns;  /* and below the band at least this long */
	uint64_t starve_ns;	  /* starvation rule: no completion for this long */
};

/* What the pool saw since the previous sample (counters are deltas). */
struct ocpool_ctl_sample {
	uint64_t now_ns;
	unsigned workers;	     /* workers that count (not overdue) */
	unsigned busy;		     /* of those, running a job now */
	uint64_t busy_ns;	     /* job running time summed over workers */
	uint64_t cpu_ns;	     /* process CPU time used */
	uint64_t submitted;	     /* jobs queued */
	uint64_t completed;	     /* jobs finished */
	uint64_t queued;	     /* queue depth now */
	uint64_t last_completion_ns; /* when the latest job finished (0: never) */
};

struct ocpool_ctl_state {
	bool primed;
	uint64_t last_ns;
	uint64_t last_resize_ns;
	double demand;	 /* smoothed, in workers */
	double svc_s;	 /* smoothed mean service time */
	double integral; /* of the error, in error x seconds */
	uint64_t below_since_ns; /* when utilization fell below the band (0: it is not) */
};

enum ocpool_reason {
	OCPOOL_HOLD,
	OCPOOL_GROW,
	OCPOOL_SHRINK,
	OCPOOL_STARVED,
	OCPOOL_CPU_BOUND, /* a grow was wanted and refused for CPU */
};

struct ocpool_ctl_decision {
	unsigned target;
	enum ocpool_reason reason;
	double utilization; /* smoothed demand / workers */
	double demand;	    /* smoothed, in workers */
	double cpu;	    /* share of the process's CPUs used, 0..1+ */
};

/* The parameters this project uses for ncpu CPUs: bounds [max(2, n/2), 4n]. */
static inline void
ocpool_ctl_defaults(struct ocpool_ctl_params *p, unsigned ncpu)
{
	if (ncpu == 0)
		ncpu = 1;
	p->ncpu = ncpu;
	p->min = ncpu / 2 > 2 ? ncpu / 2 : 2;
	p->max = ncpu * 4 > p->min ? ncpu * 4 : p->min;
	p->band_lo = 0.60;
	p->band_hi = 0.85;
	p->kp = 1.0;
	p->ki = 0.05;
	p->integral_max = 1.0;
	p->tau_s = 2.0;
	p->cpu_ceiling = 0.95;
	p->grow_every_ns = 5000000000ull;
	p->shrink_every_ns = 30000000000ull;
	p->shrink_hold_ns = 5000000000ull;
	p->starve_ns = 500000000ull;
}

static inline unsigned
ocpool__clampu(double v, unsigned lo, unsigned hi)
{
	if (!(v > lo))
		return lo;
	if (v > hi)
		return hi;
	return (unsigned)v;
}

/* Reason names for logs. */
static inline const char *
ocpool_reason_name(enum ocpool_reason r)
{
	switch (r) {
	case OCPOOL_GROW:
		return "utilization above band";
	case OCPOOL_SHRINK:
		return "utilization below band";
	case OCPOOL_STARVED:
		return "starvation: queue waiting, all workers busy, no completion";
	case OCPOOL_CPU_BOUND:
		return "grow refused: CPUs saturated";
	default:
		return "hold";
	}
}

/*
 * One controller step. Updates st and fills d; d->target != s->workers
 * means resize now, for d->reason. The first call only primes the state.
 */
static inline void
ocpool_ctl_step(const struct ocpool_ctl_params *p, struct ocpool_ctl_state *st,
		const struct ocpool_ctl_sample *s, struct ocpool_ctl_decision *d)
{
	unsigned w = s->workers ? s->workers : 1;
	double dt, mid = (p->band_lo + p->band_hi) / 2, u, e, target;
	double arrivals, svc, now_demand, alpha, per_busy_cpu;
	bool can_grow, can_shrink;

	d->target = s->workers;
	d->reason = OCPOOL_HOLD;
	if (!st->primed || s->now_ns <= st->last_ns) {
		if (!st->primed) {
			st->primed = true;
			st->last_resize_ns = s->now_ns;
			st->demand = s->busy;
			st->svc_s = 0;
			st->integral = 0;
		}
		st->last_ns = s->now_ns;
		d->demand = st->demand;
		d->utilization = st->demand / w;
		d->cpu = 0;
		return;
	}
	dt = (double)(s->now_ns - st->last_ns) / 1e9;
	st->last_ns = s->now_ns;

	/* mean service time: busy time per completion; jobs longer than the
	 * interval show up as busy time with no completion yet */
	if (s->completed)
		svc = (double)s->busy_ns / 1e9 / (double)s->completed;
	else if (s->busy_ns)
		svc = st->svc_s > dt ? st->svc_s : dt;
	else
		svc = st->svc_s;
	alpha = 1.0 - exp(-dt / p->tau_s);
	if (st->svc_s == 0)
		st->svc_s = svc; /* first measurement: nothing to smooth yet */
	else
		st->svc_s += alpha * (svc - st->svc_s);

	/* Little's law, plus clearing the backlog within one shrink period;
	 * with no completion at all (jobs longer than the interval) the
	 * busy time is the only evidence of demand */
	arrivals = (double)s->submitted / dt;
	now_demand = arrivals * st->svc_s;
	if (!s->completed && now_demand < (double)s->busy_ns / 1e9 / dt)
		now_demand = (double)s->busy_ns / 1e9 / dt;
	now_demand += (double)s->queued * st->svc_s / ((double)p->shrink_every_ns / 1e9);
	st->demand += alpha * (now_demand - st->demand);

	u = st->demand / w;
	d->demand = st->demand;
	d->utilization = u;
	d->cpu = (double)s->cpu_ns / 1e9 / dt / p->ncpu;

	/* the dead zone: inside the band the error is zero */
	e = 0;
	if (u > p->band_hi || u < p->band_lo)
		e = u - mid;
	if ((e > 0 && s->workers < p->max) || (e < 0 && s->workers > p->min))
		st->integral += e * dt;
	if (st->integral > p->integral_max)
		st->integral = p->integral_max;
	if (st->integral < -p->integral_max)
		st->integral = -p->integral_max;
	if (e == 0)
		st->integral *= 1.0 - alpha; /* in band: let a stale bias decay */

	target = w + (p->kp * e + p->ki * st->integral) * w / mid;

	if (e < 0 && !st->below_since_ns)
		st->below_since_ns = s->now_ns;
	else if (e >= 0)
		st->below_since_ns = 0;
	can_grow = s->now_ns - st->last_resize_ns >= p->grow_every_ns;
	can_shrink = s->now_ns - st->last_resize_ns >= p->shrink_every_ns && st->below_since_ns &&
		     s->now_ns - st->below_since_ns >= p->shrink_hold_ns;

	/* starvation: work waits, every worker is busy, nothing finishes */
	if (s->queued && s->busy >= s->workers && s->workers < p->max &&
	    s->last_completion_ns && s->now_ns - s->last_completion_ns >= p->starve_ns &&
	    d->cpu < p->cpu_ceiling) {
		d->target = s->workers + 1;
		d->reason = OCPOOL_STARVED;
		st->last_resize_ns = s->now_ns;
		st->integral = 0;
		return;
	}

	if (e > 0 && target >= w + 1) {
		if (!can_grow)
			return;
		if (d->cpu >= p->cpu_ceiling) {
			d->reason = OCPOOL_CPU_BOUND;
			return;
		}
		/* CPU each busy worker burns; more workers than the CPUs
		 * can feed only time-share them */
		per_busy_cpu = s->busy_ns ? (double)s->cpu_ns / (double)s->busy_ns : 0;
		if (per_busy_cpu > 0.05) {
			double cap = floor(p->ncpu / per_busy_cpu) + 1;

			if (target > cap)
				target = cap > w ? cap : w;
		}
		d->target = ocpool__clampu(ceil(target), p->min, p->max);
		if (d->target > s->workers) {
			d->reason = OCPOOL_GROW;
			st->last_resize_ns = s->now_ns;
			st->integral = 0;
		} else {
			d->target = s->workers;
		}
	} else if (e < 0 && target <= w - 1) {
		if (!can_shrink)
			return;
		d->target = ocpool__clampu(ceil(target), p->min, p->max);
		if (d->target < s->workers) {
			d->reason = OCPOOL_SHRINK;
			st->last_resize_ns = s->now_ns;
			st->integral = 0;
		} else {
			d->target = s->workers;
		}
	}
}

#endif /* OCPOOL_CTL_H */
