/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Source file mappings that survive the file shrinking (srcmap.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/engine/srcmap.h"

/*
 * Enough for every sender thread of a busy daemon; past that a mapping
 * waits for a slot (slot_cv) rather than going unprotected.
 */
#define NSLOTS 512

struct slot {
	_Atomic uintptr_t start; /* 0: free, 1: being taken; set last, cleared first */
	_Atomic size_t len;	 /* bytes mapped, whole pages */
	atomic_int err;		 /* set by the handler */
};

static struct slot slots[NSLOTS];
static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_cv = PTHREAD_COND_INITIALIZER;
static int slots_waiting;
static struct sigaction old_bus;
static size_t page_size;

/*
 * A SIGBUS in a registered mapping: the rest of it becomes zero pages
 * (mmap is a plain system call, safe here), the error is noted, and the
 * faulting read runs again and reads zeros. Anything else goes to the
 * handler found at installation.
 */
static void
bus_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int e = errno;

	for (int i = 0; i < NSLOTS; i++) {
		uintptr_t st = atomic_load_explicit(&slots[i].start, memory_order_acquire);
		size_t len = atomic_load_explicit(&slots[i].len, memory_order_relaxed);

		if (st > 1 && a >= st && a - st < len) {
			uintptr_t pg = a & ~(uintptr_t)(page_size - 1);

			if (mmap((void *)pg, st + len - pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				 -1, 0) != MAP_FAILED) {
				atomic_store_explicit(&slots[i].err, ENODATA, memory_order_relaxed);
				errno = e;
				return;
			}
		}
	}
	if (old_bus.sa_flags & SA_SIGINFO) {
		if (old_bus.sa_sigaction) {
			old_bus.sa_sigaction(sig, si, uc);
			return;
		}
	} else if (old_bus.sa_handler != SIG_DFL && old_bus.sa_handler != SIG_IGN) {
		old_bus.sa_handler(sig);
		return;
	}
	/* the default action: back to it, and the fault happens again */
	signal(SIGBUS, SIG_DFL);
	errno = e;
}

/*
 * Ours in place, chaining to what was there. Checked at each mapping, not
 * once: code that sets its own SIGBUS handler later (a test harness, a
 * library) would otherwise take the faults meant for us.
 */
static pthread_mutex_t bus_mu = PTHREAD_MUTEX_INITIALIZER;

static bool
bus_install(void)
{
	struct sigaction sa, cur;
	bool ok = true;

	pthread_mutex_lock(&bus_mu);
	if (!page_size) {
		long ps = sysconf(_SC_PAGESIZE);

		page_size = ps > 0 ? (size_t)ps : 4096;
	}
	if (sigaction(SIGBUS, NULL, &cur)) {
		ok = false;
	} else if (!((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == bus_handler)) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = bus_handler;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		old_bus = cur;
		ok = !sigaction(SIGBUS, &sa, NULL);
	}
	pthread_mutex_unlock(&bus_mu);
	return ok;
}

/* A free slot for start..start+len, published, or -1. */
static int
slot_try(uintptr_t start, size_t len)
{
	for (int i = 0; i < NSLOTS; i++) {
		uintptr_t zero = 0;

		if (atomic_load_explicit(&slots[i].start, memory_order_relaxed))
			continue;
		/* claimed with a placeholder, the length set, then published */
		if (atomic_compare_exchange_strong(&slots[i].start, &zero, (uintptr_t)1)) {
			atomic_store_explicit(&slots[i].err, 0, memory_order_relaxed);
			atomic_store_explicit(&slots[i].len, len, memory_order_relaxed);
			atomic_store_explicit(&slots[i].start, start, memory_order_release);
			return i;
		}
	}
	return -1;
}

static int
slot_take(uintptr_t start, size_t len)
{
	int i = slot_try(start, len);

	if (i >= 0)
		return i;
	/* counted as waiting before the last look, so a release after it wakes us */
	pthread_mutex_lock(&slot_mu);
	slots_waiting++;
	while ((i = slot_try(start, len)) < 0)
		pthread_cond_wait(&slot_cv, &slot_mu);
	slots_waiting--;
	pthread_mutex_unlock(&slot_mu);
	return i;
}

int
oce_srcmap_map(struct oce_srcmap *m, int fd, size_t len)
{
	void *p;

	m->p = NULL;
	m->len = 0;
	m->slot = -1;
	if (!bus_install())
		return -ENOTSUP;
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	m->p = p;
	m->len = len;
	m->slot = slot_take((uintptr_t)p, (len + page_size - 1) & ~(page_size - 1));
	return 0;
}

int
oce_srcmap_status(const struct oce_srcmap *m, int fd)
{
	struct stat st;
	int e = m->slot >= 0 ? atomic_load_explicit(&slots[m->slot].err, memory_order_relaxed) : 0;

	if (e)
		return e;
	if (!fstat(fd, &st) && st.st_size >= 0 && (uint64_t)st.st_size < m->len)
		return ENODATA;
	return 0;
}

void
oce_srcmap_unmap(struct oce_srcmap *m)
{
	if (m->slot >= 0) {
		/* (the length first: once start is 0 another thread may take the slot) */
		atomic_store_explicit(&slots[m->slot].len, 0, memory_order_relaxed);
		atomic_store_explicit(&slots[m->slot].start, 0, memory_order_release);
		pthread_mutex_lock(&slot_mu);
		if (slots_waiting)
			pthread_cond_broadcast(&slot_cv);
		pthread_mutex_unlock(&slot_mu);
	}
	if (m->p)
		munmap((void *)m->p, m->len);
	m->p = NULL;
	m->len = 0;
	m->slot = -1;
}

void
oce_srcmap_spoil_sum(uint8_t *sum, size_t len)
{
	size_t i = 0;

	while (i < len && sum[i] == 0)
		i++;
	memset(sum, 0, len);
	if (len && i == len)
		sum[len - 1]++;
}
