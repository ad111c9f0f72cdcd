/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * oc-rsync: rsync-compatible client, --server side and local copy.
 * Parses the options as rsync does, then hands over to the engine.
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>

#include "apps/daemon/srv.h"
#include "apps/engine/client.h"
#include "apps/engine/recvside.h" /* oce_catch_signals() */
#include "apps/engine/errcode.h"
#include "apps/engine/opts.h"
#include "apps/engine/session.h"

int
main(int argc, char **argv)
{
	struct oce_opts o;
	int code = 0;

	/* Names print as the user's locale allows, as upstream's setlocale(LC_CTYPE). */
	setlocale(LC_CTYPE, "");
	signal(SIGPIPE, SIG_IGN);
	/* From the start, as upstream: a signal removes the temp file in flight (exit 20). */
	oce_catch_signals();
	switch (oce_opts_parse(&o, argc, argv, &code)) {
	case OCE_PARSE_EXIT_OK:
		oce_opts_free(&o);
		return 0;
	case OCE_PARSE_ERROR:
		oce_opts_free(&o);
		return code;
	case OCE_PARSE_RUN:
		break;
	}
	if (o.daemon) {
		code = oce_daemon_main(&o);
	} else if (o.server) {
		code = oce_server_main(&o, 0, 1);
	} else {
		code = oce_client_main(&o);
	}
	oce_opts_free(&o);
	return code;
}
