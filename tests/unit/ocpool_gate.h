/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared by the ocpool unit tests (include after ocpool/ocpool.h): a
 * monotonic clock in ns, and a gate jobs can wait on, so a test controls
 * when workers are free.
 */
#ifndef OCPOOL_GATE_H
#define OCPOOL_GATE_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct gate {
	_Atomic uint32_t open;
	_Atomic int entered;
};

/* A job that waits until the gate opens; returns 7. */
static inline int
wait_gate(void *arg)
{
	struct gate *g = arg;

	atomic_fetch_add(&g->entered, 1);
	while (!atomic_load(&g->open))
		ocq__futex_wait(&g->open, 0, NULL);
	return 7;
}

static inline void
open_gate(struct gate *g)
{
	atomic_store(&g->open, 1);
	ocq__futex_wake(&g->open, INT_MAX);
}

#endif /* OCPOOL_GATE_H */
