/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A source file mapped for the sender's matcher, safe against the file
 * shrinking meanwhile (a log rotated, a file truncated by its writer).
 *
 * A plain mapping raises SIGBUS on the first page past the new end of
 * file, which kills the process. Here every live mapping is registered; a
 * SIGBUS inside one replaces the pages from the faulting one to the end of
 * the mapping with zero pages and notes the error, so the matcher reads
 * zeros there, as upstream's map_ptr() gives zeros after a short read().
 * oce_srcmap_status() then says the file came up short (ENODATA, or the
 * read's errno), and the sender sends a whole-file sum that cannot match,
 * so the receiver asks for the file again (upstream match_sums()).
 *
 * A SIGBUS at an address outside every registered mapping goes to the
 * handler that was there before (or the default action): real faults
 * still crash.
 *
 * Concurrency: any thread may map and unmap; registrations are lock-free
 * slots the handler scans. When all slots are taken, oce_srcmap_map()
 * waits for one.
 */
#ifndef OCE_SRCMAP_H
#define OCE_SRCMAP_H

#include <stddef.h>
#include <stdint.h>

struct oce_srcmap {
	const uint8_t *p; /* the file's bytes (len of them) */
	size_t len;
	int slot;
};

/* Map len (> 0) bytes of fd read-only. 0 or -errno. */
int oce_srcmap_map(struct oce_srcmap *m, int fd, size_t len);

/*
 * 0 while every byte read so far was the file's, else a positive errno:
 * ENODATA when the file is now shorter than len (a SIGBUS was caught, or
 * fstat says so: a shrink within the last page raises none).
 */
int oce_srcmap_status(const struct oce_srcmap *m, int fd);

/* Unregister and unmap (nothing for a map that failed). */
void oce_srcmap_unmap(struct oce_srcmap *m);

/*
 * The whole-file sum to send for a file whose read came up short: one that
 * cannot be the sum of what was sent (upstream: all zero bits, or ...01 if
 * the real sum was all zeros).
 */
void oce_srcmap_spoil_sum(uint8_t *sum, size_t len);

#endif
