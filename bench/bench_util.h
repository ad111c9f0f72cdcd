/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_util.h - small helpers shared by the benchmark programs (each
 * bench/bench_*.c is its own program, so shared code lives in a header).
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static inline void
cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v[0..n) in place; returns its median. */
static double
median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
json_num(FILE *f, double x)
{
	if (x == x)
		fprintf(f, "%.6g", x);
	else
		fprintf(f, "null");
}

#endif /* BENCH_UTIL_H */
