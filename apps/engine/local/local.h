/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Local copies without the protocol: `oc-rsync SRC... DEST` when no side
 * names a host. Upstream (and our protocol path) runs a sender and a
 * forked receiver over a socket pair; here the sender's file-list walk
 * (flist.c) and the receiving side's generator (generator.c) run in one
 * process, and the generator's transfer requests become plain copies
 * (copy_file_range into a temp file, then rename), done in order or, by
 * default, on a pool of workers with the output put back in rsync's order.
 * See docs/design/local-copy.md.
 *
 * Only options this path reproduces exactly are taken; with any other the
 * caller runs the protocol path as before, silently. OC_RSYNC_LOCAL=0 in
 * the environment always takes the protocol path; OC_RSYNC_ASYNC=0 keeps
 * this path on one thread.
 */
#ifndef OCE_LOCAL_H
#define OCE_LOCAL_H

#include <stdbool.h>

#include "apps/engine/opts.h"
#include "apps/engine/session.h"

/* May this local copy (options o, session s as the client set it up) take the path? */
bool oce_local_wanted(const struct oce_opts *o, const struct oce_session *s);

/*
 * Copy the nsrc sources in paths to paths[nsrc] and print what rsync's
 * client prints. s is the client's session (filters built). Returns the
 * exit code.
 */
int oce_local_run(struct oce_session *s, int nsrc, char **paths);

#endif /* OCE_LOCAL_H */
