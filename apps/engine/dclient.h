/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The client side of rsync daemon transfers (upstream clientserver.c
 * start_socket_client(), start_inband_exchange(), authenticate.c
 * auth_client(), socket.c open_socket_out_wrapped()): `host::module/path`
 * and `rsync://[user@]host[:port]/module/path`, pushed or pulled over TCP,
 * over $RSYNC_CONNECT_PROG, or over a remote shell (`-e CMD host::module`,
 * which starts `rsync --server --daemon .` on the far side); a module
 * listing when no module is named. After the `@RSYNCD:` exchange the
 * transfer runs as over a remote shell (oce_client_run()).
 */
#ifndef OCE_DCLIENT_H
#define OCE_DCLIENT_H

#include <stdbool.h>

#include "apps/engine/opts.h"

/*
 * Do the arguments ask for a daemon (upstream start_client()'s choice): the
 * first one a daemon spec, or, when the first is local, the last one?
 */
bool oce_dclient_wanted(const struct oce_opts *o);

/* Run a daemon transfer or module listing; returns the exit code. */
int oce_dclient_main(struct oce_opts *o);

/*
 * For any other transfer: refuse --password-file and --contimeout, which
 * only a daemon connection uses (upstream start_client()). Returns 0, or
 * RERR_SYNTAX after rsync's message and closing line.
 */
int oce_dclient_only_opts(const struct oce_opts *o);

#endif /* OCE_DCLIENT_H */
