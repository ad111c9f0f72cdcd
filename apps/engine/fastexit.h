/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * oce_fast_exit(): _exit() for the processes that end that way (forked
 * children, the parent a daemon leaves behind, the post-xfer waiter).
 * _exit() skips the atexit handlers, and gcov writes its counters from
 * one, so a coverage build (make coverage passes -DOC_COVERAGE) writes
 * them first; otherwise it is plain _exit(). Not for signal handlers:
 * writing the counters allocates and locks, so the handler in finish.c
 * keeps plain _exit() and its run goes uncounted.
 */
#ifndef OCE_FASTEXIT_H
#define OCE_FASTEXIT_H

#include <unistd.h>

#ifdef OC_COVERAGE
void __gcov_dump(void);
/* set once the counters were written before a chroot (oce_cov_chroot()) */
__attribute__((weak)) int oce_cov_dumped;
#endif

static inline _Noreturn void
oce_fast_exit(int status)
{
#ifdef OC_COVERAGE
	if (!oce_cov_dumped)
		__gcov_dump();
#endif
	_exit(status);
}

/*
 * Just before a chroot: gcov would write its counters to the same absolute
 * paths inside the new root, that is into the module. A coverage build
 * writes them now and not again; what runs inside the chroot is not
 * counted.
 */
static inline void
oce_cov_chroot(void)
{
#ifdef OC_COVERAGE
	__gcov_dump();
	oce_cov_dumped = 1;
#endif
}

#endif
