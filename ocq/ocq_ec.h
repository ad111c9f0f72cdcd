/* SPDX-License-Identifier: MIT */
/*
 * ocq_ec.h - an eventcount: lets a thread sleep until "something changed",
 * and costs the side that makes changes one load when nobody sleeps.
 *
 * A waiter takes a key (the epoch), registers, re-checks its condition, and
 * sleeps on the epoch futex only if the condition still fails. A notifier
 * changes the state with a seq_cst store or RMW, then loads `state` with
 * seq_cst: no sleeper, no syscall. The waiter's registration (a seq_cst
 * RMW) followed by its re-check (seq_cst loads), and the notifier's publish
 * followed by its load of `state`, are the two halves of a Dekker pair: all
 * four accesses sit in one total order, so either the notifier sees the
 * registration and bumps the epoch (the sleep then returns at once or is
 * woken), or the re-check sees the change. No standalone fences, so TSan
 * checks these paths as written. docs/design/ocq.md has the full argument.
 *
 * The async surface: an eventfd, created on first use, that a notifier writes
 * only while someone has armed it, for epoll or io_uring loops.
 *
 * Concurrency contract: every call may run in any thread at any time, except
 * init and destroy, which run alone.
 */
#ifndef OCQ_EC_H
#define OCQ_EC_H

#include "ocq_base.h"
#include <sys/eventfd.h>

#define OCQ__EC_ARMED 0x80000000u

struct ocq_ec {
	_Atomic uint32_t epoch; /* futex word; bumped when a notify finds sleepers */
	_Atomic uint32_t state; /* registered sleepers, | OCQ__EC_ARMED */
	_Atomic int efd;	/* eventfd, or -1 before first use */
};

static inline void
ocq_ec_init(struct ocq_ec *ec)
{
	atomic_init(&ec->epoch, 0);
	atomic_init(&ec->state, 0);
	atomic_init(&ec->efd, -1);
}

static inline void
ocq_ec_destroy(struct ocq_ec *ec)
{
	int fd = atomic_load_explicit(&ec->efd, memory_order_relaxed);

	if (fd >= 0)
		close(fd);
	atomic_store_explicit(&ec->efd, -1, memory_order_relaxed);
}

/*
 * Register as a waiter; returns the key for ocq_ec_wait(). After this, check
 * the condition again with seq_cst loads; then ocq_ec_wait() if it still fails, else
 * ocq_ec_cancel(). Every prepare is matched by exactly one wait or cancel.
 */
static inline uint32_t
ocq_ec_prepare(struct ocq_ec *ec)
{
	uint32_t key = atomic_load_explicit(&ec->epoch, memory_order_acquire);

	/* seq_cst: with the caller's seq_cst re-check loads and the
	 * notifier's seq_cst publish + seq_cst load of state, all four
	 * accesses are in one total order, so one side sees the other */
	atomic_fetch_add_explicit(&ec->state, 1, memory_order_seq_cst);
	return key;
}

/* Withdraw a registration without sleeping. */
static inline void
ocq_ec_cancel(struct ocq_ec *ec)
{
	atomic_fetch_sub_explicit(&ec->state, 1, memory_order_relaxed);
}

/*
 * Sleep until a notify after the key was taken, or the absolute monotonic
 * deadline dl (NULL: none). Returns 0 or -ETIMEDOUT; the caller re-checks
 * its condition either way.
 */
static inline int
ocq_ec_wait(struct ocq_ec *ec, uint32_t key, const struct timespec *dl)
{
	int rc = 0;

	/* pairs with the notifier's release bump of the epoch */
	while (atomic_load_explicit(&ec->epoch, memory_order_acquire) == key) {
		if (ocq__futex_wait(&ec->epoch, key, dl) == -ETIMEDOUT) {
			rc = -ETIMEDOUT;
			break;
		}
	}
	atomic_fetch_sub_explicit(&ec->state, 1, memory_order_relaxed);
	return rc;
}

static inline void
ocq__ec_wake(struct ocq_ec *ec, uint32_t st, int n)
{
	if ((st & OCQ__EC_ARMED) &&
	    (atomic_fetch_and_explicit(&ec->state, ~OCQ__EC_ARMED, memory_order_acq_rel) &
	     OCQ__EC_ARMED)) {
		/* the arming thread created the fd before it armed */
		int fd = atomic_load_explicit(&ec->efd, memory_order_acquire);

		if (fd >= 0)
			(void)eventfd_write(fd, 1);
	}
	if (st & ~OCQ__EC_ARMED) {
		atomic_fetch_add_explicit(&ec->epoch, 1, memory_order_release);
		ocq__futex_wake(&ec->epoch, n);
	}
}

/*
 * Wake up to n sleepers (and the armed eventfd). Call right after the change
 * was made visible with a seq_cst store or RMW. Free when nobody waits.
 */
OCQ__INLINE void
ocq_ec_notify(struct ocq_ec *ec, int n)
{
	uint32_t st = atomic_load_explicit(&ec->state, memory_order_seq_cst);

	if (OCQ__UNLIKELY(st != 0))
		ocq__ec_wake(ec, st, n);
}

/* Wake every sleeper (close, shutdown). */
static inline void
ocq_ec_notify_all(struct ocq_ec *ec)
{
	ocq_ec_notify(ec, INT_MAX);
}

/*
 * The eventfd (non-blocking, close-on-exec), created on first call. Returns
 * the fd, owned by the eventcount, or -errno.
 */
static inline int
ocq_ec_eventfd(struct ocq_ec *ec)
{
	int fd = atomic_load_explicit(&ec->efd, memory_order_acquire);
	int expect = -1;

	if (fd >= 0)
		return fd;
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!atomic_compare_exchange_strong_explicit(&ec->efd, &expect, fd, memory_order_acq_rel,
						     memory_order_acquire)) {
		close(fd);
		return expect;
	}
	return fd;
}

/*
 * Arm the eventfd: the next notify writes it. Call ocq_ec_eventfd() first.
 * Like prepare, follow with a re-check of the condition (seq_cst loads); a spurious wake
 * of the fd is harmless.
 */
static inline void
ocq_ec_arm(struct ocq_ec *ec)
{
	atomic_fetch_or_explicit(&ec->state, OCQ__EC_ARMED, memory_order_seq_cst);
}

/* Reset an eventfd after it polled readable (reads and drops its count). */
static inline void
ocq_eventfd_ack(int fd)
{
	eventfd_t v;

	(void)eventfd_read(fd, &v);
}

#endif /* OCQ_EC_H */
