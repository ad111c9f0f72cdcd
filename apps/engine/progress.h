/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * --progress and --info=progress2 on the client (upstream progress.c
 * show_progress(), end_progress(), set_current_file_index()): an interim
 * "\r...  " line at most once a second from a five-second rate history, and
 * the file's final line with (xfr#N, to-chk=R/T). The line format itself is
 * report.c's. Only a client prints; every call is a no-op on a server.
 *
 * Concurrency: called by the one thread that moves file data (the sender, or
 * the receiver thread); lines are written under the session's log lock.
 */
#ifndef OCE_PROGRESS_H
#define OCE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct oce_session;
struct oce_file;

/* Is per-file progress shown (info progress >= 1 on a client)? */
bool oce_progress_on(const struct oce_session *s);
/* The file the next lines are about: its sorted index, or -1 for "after the last". */
void oce_progress_file(struct oce_session *s, int32_t ndx);
/* ofs of size bytes done (upstream show_progress()). */
void oce_progress_show(struct oce_session *s, int64_t ofs, int64_t size);
/* The final line of a file of size bytes, or progress2's whole-run line (end_progress()). */
void oce_progress_end(struct oce_session *s, int64_t size);
/* Before a file's data moves: its name, where upstream prints it (log_before_transfer). */
void oce_progress_name(struct oce_session *s, const struct oce_file *f, uint32_t iflags);
/* Was the item logged by oce_progress_name() (so not again after its data)? */
bool oce_progress_logged_before(const struct oce_session *s);
/* NDX_DONE seen: progress2 prints its line again for the run so far. */
void oce_progress_done(struct oce_session *s);
/* End a line a progress line left open (before the summary, and at exit, as upstream). */
void oce_progress_close_line(struct oce_session *s);

#endif /* OCE_PROGRESS_H */
