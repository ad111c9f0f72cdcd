/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The client's entry point (upstream main.c start_client()): decide the
 * transport from the arguments (local copy, remote shell), start the peer
 * and run the transfer. Returns the exit code to exit with.
 */
#ifndef OCE_CLIENT_H
#define OCE_CLIENT_H

#include "apps/engine/opts.h"

int oce_client_main(struct oce_opts *o);

#endif /* OCE_CLIENT_H */
