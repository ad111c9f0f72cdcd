/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_util.h - small helpers shared by the benchmark programs (each
 * bench/bench_*.c is its own program, so shared code lives in a header).
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

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

static inline void
json_num(FILE *f, double x)
{
	if (x == x)
		fprintf(f, "%.6g", x);
	else
		fprintf(f, "null");
}

/* mkdir -p dir: 0 or -errno. */
static inline int
bench_mkdir_p(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0777) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0777) && errno != EEXIST)
		return -errno;
	return 0;
}

/* --- host load: how much of the CPUs other processes took ----------------- */

/* CPU seconds every task on the machine has used since boot (/proc/stat:
 * all columns but idle and iowait), or NAN when it cannot be read. */
static inline double
bench_host_busy_s(void)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8];
	char line[512];
	double secs = NAN;

	if (!f)
		return secs;
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8)
		/* user nice system idle iowait irq softirq steal */
		secs = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
		       (double)sysconf(_SC_CLK_TCK);
	fclose(f);
	return secs;
}

static inline double
bench_tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* CPU seconds (user + system) of this process plus its reaped children, so
 * programs the benchmark runs (and waits for) do not count as "others". */
static inline double
bench_own_cpu_s(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return bench_tv_s(self.ru_utime) + bench_tv_s(self.ru_stime) + bench_tv_s(kids.ru_utime) +
	       bench_tv_s(kids.ru_stime);
}

static inline double
bench_mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A stretch of time over which bench_host_others() measures other processes. */
struct bench_host_window {
	double busy, own, wall;
};

static inline void
bench_host_begin(struct bench_host_window *w)
{
	w->busy = bench_host_busy_s();
	w->own = bench_own_cpu_s();
	w->wall = bench_mono_s();
}

/* Share (0..1) of the machine's online CPUs that processes other than this
 * one and its reaped children used since bench_host_begin(w); NAN if unknown. */
static inline double
bench_host_others(const struct bench_host_window *w)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	double busy = bench_host_busy_s() - w->busy, own = bench_own_cpu_s() - w->own;
	double wall = bench_mono_s() - w->wall, x;

	if (busy != busy || wall <= 0)
		return NAN;
	x = (busy - own) / (wall * (double)(online > 0 ? online : 1));
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

#endif /* BENCH_UTIL_H */
