/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * oc-rsyncd: the rsync daemon, as `oc-rsync --daemon` (upstream's
 * `rsync --daemon`). Takes the daemon options (--no-detach, --port,
 * --address, --config, --dparam, ...) and runs apps/daemon/srv.h.
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/daemon/srv.h"
#include "apps/engine/errcode.h"
#include "apps/engine/opts.h"

int
main(int argc, char **argv)
{
	char **av = calloc((size_t)argc + 2, sizeof(*av));
	struct oce_opts o;
	int code = 0, n = 0;

	setlocale(LC_CTYPE, "");
	signal(SIGPIPE, SIG_IGN);
	if (!av)
		return RERR_MALLOC;
	/* As `oc-rsync --daemon ARGS`: the daemon option table, whatever comes. */
	av[n++] = argv[0];
	av[n++] = "--daemon";
	for (int i = 1; i < argc; i++)
		av[n++] = argv[i];
	switch (oce_opts_parse(&o, n, av, &code)) {
	case OCE_PARSE_EXIT_OK:
		oce_opts_free(&o);
		free(av);
		return 0;
	case OCE_PARSE_ERROR:
		oce_opts_free(&o);
		free(av);
		return code;
	case OCE_PARSE_RUN:
		break;
	}
	code = oce_daemon_main(&o);
	oce_opts_free(&o);
	free(av);
	return code;
}
