/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The client's entry point (upstream main.c start_client()): decide the
 * transport from the arguments (local copy, remote shell), start the peer
 * and run the transfer. Returns the exit code to exit with.
 */
#ifndef OCE_CLIENT_H
#define OCE_CLIENT_H

#include <sys/types.h>

#include "apps/engine/opts.h"

int oce_client_main(struct oce_opts *o);

/* For the daemon client (dclient.c), which starts its remote shell the same way: */
/* split a -e command into words as the remote-shell client does; 0 or -ENOMEM */
int oce_rsh_split(const char *cmd, struct oce_strv *out);
/* start argv (NULL-terminated) on a pair of pipes; its pid, or -1 */
pid_t oce_spawn(char **argv, int *fd_in, int *fd_out);
/* wait for it; the exit code it gives the transfer (upstream wait_process()) */
int oce_wait_child(pid_t pid);
/* "-4" / "-6" for -4 / -6 when the remote shell is ssh (upstream do_cmd()), else NULL */
const char *oce_rsh_family_opt(const struct oce_opts *o, const char *cmd0);

#endif /* OCE_CLIENT_H */
