/* SPDX-License-Identifier: MIT */
/*
 * ocq_base.h - shared pieces of ocq: error codes, cache-line layout, backoff,
 * futex and deadline helpers. Nothing here is a queue; the queue headers
 * include it. Header-only: every function is static inline.
 *
 * Concurrency contract: every helper here is safe to call from any thread.
 */
#ifndef OCQ_BASE_H
#define OCQ_BASE_H

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* A send or receive on a closed channel (receivers: closed *and* drained). */
#define OCQ_CLOSED (-EPIPE)

/* Destructive interference size on the machines we target (x86-64, arm64). */
#define OCQ_CACHELINE 64
#define OCQ__ALIGNED _Alignas(OCQ_CACHELINE)

#define OCQ__INLINE static inline __attribute__((always_inline))
#define OCQ__UNUSED __attribute__((unused))
#define OCQ__LIKELY(x) __builtin_expect(!!(x), 1)
#define OCQ__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* One CPU relaxation hint inside a spin loop. */
OCQ__INLINE void
ocq__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	_mm_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * Exponential backoff for contended retries (after crossbeam's Backoff):
 * spin() for a lost CAS race, snooze() while waiting on another thread's
 * progress, which yields the CPU once spinning stops paying.
 */
struct ocq__backoff {
	unsigned step;
};

#define OCQ__SPIN_LIMIT 6
#define OCQ__YIELD_LIMIT 10

OCQ__INLINE void
ocq__backoff_spin(struct ocq__backoff *b)
{
	unsigned n = 1u << (b->step < OCQ__SPIN_LIMIT ? b->step : OCQ__SPIN_LIMIT);

	for (unsigned i = 0; i < n; i++)
		ocq__cpu_relax();
	if (b->step <= OCQ__SPIN_LIMIT)
		b->step++;
}

OCQ__INLINE void
ocq__backoff_snooze(struct ocq__backoff *b)
{
	if (b->step <= OCQ__SPIN_LIMIT) {
		for (unsigned i = 0; i < (1u << b->step); i++)
			ocq__cpu_relax();
	} else {
		sched_yield();
	}
	if (b->step <= OCQ__YIELD_LIMIT)
		b->step++;
}

/* True once snooze() has given up spinning: time to block instead. */
OCQ__INLINE bool
ocq__backoff_done(const struct ocq__backoff *b)
{
	return b->step > OCQ__YIELD_LIMIT;
}

/* Smallest power of two >= x (x >= 1, x <= 2^63). */
OCQ__INLINE uint64_t
ocq__pow2_ceil(uint64_t x)
{
	return x <= 1 ? 1 : (uint64_t)1 << (64 - __builtin_clzll(x - 1));
}

/* Zeroed memory aligned to a cache line; NULL on failure or overflow. */
static inline void *
ocq__alloc_lines(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	size = (n * size + OCQ_CACHELINE - 1) & ~(size_t)(OCQ_CACHELINE - 1);
	if (!size)
		size = OCQ_CACHELINE;
	if (posix_memalign(&p, OCQ_CACHELINE, size))
		return NULL;
	memset(p, 0, size);
	return p;
}

/* --- deadlines: absolute CLOCK_MONOTONIC times -------------------------- */

/* The deadline timeout_ns from now. */
static inline struct timespec
ocq_deadline_after(uint64_t timeout_ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(timeout_ns / 1000000000u);
	ts.tv_nsec += (long)(timeout_ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* True when the deadline (NULL: none) has passed. */
static inline bool
ocq__deadline_passed(const struct timespec *dl)
{
	struct timespec now;

	if (!dl)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > dl->tv_sec || (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec);
}

/* --- futex -------------------------------------------------------------- */

/*
 * Sleep while *addr == val, until woken or the absolute CLOCK_MONOTONIC
 * deadline (NULL: none). Returns 0 (woken, or the value already differed,
 * or a signal), or -ETIMEDOUT. Spurious returns are allowed: callers loop.
 */
static inline int
ocq__futex_wait(_Atomic uint32_t *addr, uint32_t val, const struct timespec *dl)
{
	long r = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_BITSET_PRIVATE, val, dl, NULL,
			 FUTEX_BITSET_MATCH_ANY);

	if (r == -1 && errno == ETIMEDOUT)
		return -ETIMEDOUT;
	return 0;
}

/* Wake up to n sleepers on addr. */
static inline void
ocq__futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

#endif /* OCQ_BASE_H */
