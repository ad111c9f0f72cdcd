/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the protocol-free local copy: the pipeline (local_pipe.c) that
 * local.c's generator hooks feed. Every line the copy prints is an event
 * with a sequence number taken on the generator's thread, in the order
 * rsync prints them; copies run on an ocpool pool and one reporter thread
 * prints the events in sequence order (a reorder buffer). With
 * OC_RSYNC_ASYNC=0 (or one CPU) there are no threads: each event is
 * printed, and each copy made, when the generator asks.
 *
 * Concurrency: every function here is called from the generator's thread
 * only.
 */
#ifndef OCE_LOCAL_PRIV_H
#define OCE_LOCAL_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "apps/engine/recvside.h"
#include "apps/engine/session.h"

struct oce_local;

/* An item logged whatever its flags (a transfer: upstream's log_item(), not maybe_log_item()). */
#define OCE_LOCAL_ALWAYS (1u << 31)

int oce_local_new(struct oce_session *s, struct oce_local **out);
/* Does it copy on a pool, with a reporter thread (not OC_RSYNC_ASYNC=0)? */
bool oce_local_threaded(const struct oce_local *l);
/* From here on the generator thread's message lines are events too. */
int oce_local_start(struct oce_local *l);
/* Wait for everything, stop the threads, free. Returns the first error. */
int oce_local_free(struct oce_local *l);

/* An item line (iflags may carry OCE_LOCAL_ALWAYS); counts a created entry. */
int oce_local_emit_item(struct oce_local *l, struct oce_file *f, uint32_t iflags, const char *xname);
/* A deletion line ("deleting x" or its -i form). */
int oce_local_emit_delete(struct oce_local *l, const char *name, mode_t mode);
/* Copy f into place (temp file, rename, attributes), then its item line. */
int oce_local_copy(struct oce_local *l, struct oce_recvside *rs, struct oce_file *f, int32_t ndx,
		   uint32_t iflags, const struct stat *basis);
/* -c: compare f with its destination st (on a worker), then copy it or log it unchanged. */
int oce_local_check(struct oce_local *l, struct oce_recvside *rs, struct oce_file *f,
		    const struct stat *st);
/* Count f as transferred (any thread). */
void oce_local_count_xfer(struct oce_session *s, const struct oce_file *f);
/*
 * The generator is at entry ndx: take later entries' destination lstats
 * ahead on the pool, and pass the point where upstream's generator first
 * pushes out its queued items.
 */
void oce_local_before_entry(struct oce_local *l, struct oce_recvside *rs, size_t ndx);
/*
 * Around the walk: compare each directory's regular files with the
 * destination dest (when it exists) on the pool as the walk reads them;
 * the end waits for that. forget: the comparisons are not to be used
 * (the owners and groups were mapped to others since). stream: the list
 * is streamed (s->fl.stream, set up after this): the generator takes each
 * comparison as it meets its entries, and the end comes after it.
 */
void oce_local_walk_begin(struct oce_local *l, const char *dest, bool stream);
void oce_local_walk_end(struct oce_local *l);
void oce_local_walk_forget(struct oce_local *l);
/*
 * A streamed list (s->fl.stream): is there an entry ndx? Waits for the
 * walk, letting the printing catch up when the walk waits for entries to
 * be done with. 1, 0 at the end, or a negative error.
 */
int oce_local_more(struct oce_local *l, size_t ndx);
/* Every copy so far is in place and every line so far printed. */
int oce_local_flush(struct oce_local *l);

#endif /* OCE_LOCAL_PRIV_H */
