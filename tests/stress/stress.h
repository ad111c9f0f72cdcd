/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared by the stress programs: TAP output and a progress watchdog. Work
 * calls stress_tick() as it goes; if the count stops moving for
 * STRESS_WATCHDOG_SECONDS, the watchdog prints a failing TAP line naming
 * the running test and exits, so a deadlock or lost wake-up fails the run
 * instead of hanging CI.
 */
#ifndef STRESS_H
#define STRESS_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define STRESS_WATCHDOG_SECONDS 60

static _Atomic uint64_t stress_progress;
static const char *stress_current = "start";
static int stress_count, stress_failed;

static inline void
stress_tick(void)
{
	atomic_fetch_add_explicit(&stress_progress, 1, memory_order_relaxed);
}

/* One TAP result line. */
static void __attribute__((format(printf, 2, 3)))
stress_tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++stress_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		stress_failed++;
}

static void *
stress_watchdog(void *arg)
{
	uint64_t last = (uint64_t)-1;
	int still = 0;

	(void)arg;
	for (;;) {
		sleep(1);
		uint64_t now = atomic_load(&stress_progress);

		still = now == last ? still + 1 : 0;
		last = now;
		if (still >= STRESS_WATCHDOG_SECONDS) {
			printf("not ok %d - watchdog: no progress for %d s in %s (deadlock or lost "
			       "wake-up)\n",
			       ++stress_count, STRESS_WATCHDOG_SECONDS, stress_current);
			fflush(stdout);
			_exit(1);
		}
	}
	return NULL;
}

/* Start the watchdog thread (it ends with the process). */
static inline void
stress_watchdog_start(void)
{
	pthread_t t;

	pthread_create(&t, NULL, stress_watchdog, NULL);
	pthread_detach(t);
}

#endif /* STRESS_H */
