/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Exit-code texts and the closing error line; see errcode.h. */
#include "apps/engine/errcode.h"

#include <stddef.h>

static const struct {
	int code;
	const char *text;
} rerr_texts[] = {
	{RERR_SYNTAX, "syntax or usage error"},
	{RERR_PROTOCOL, "protocol incompatibility"},
	{RERR_FILESELECT, "errors selecting input/output files, dirs"},
	{RERR_UNSUPPORTED, "requested action not supported"},
	{RERR_STARTCLIENT, "error starting client-server protocol"},
	{RERR_SOCKETIO, "error in socket IO"},
	{RERR_FILEIO, "error in file IO"},
	{RERR_STREAMIO, "error in rsync protocol data stream"},
	{RERR_MESSAGEIO, "errors with program diagnostics"},
	{RERR_IPC, "error in IPC code"},
	{RERR_CRASHED, "sibling process crashed"},
	{RERR_TERMINATED, "sibling process terminated abnormally"},
	{RERR_SIGNAL1, "received SIGUSR1"},
	{RERR_SIGNAL, "received SIGINT, SIGTERM, or SIGHUP"},
	{RERR_WAITCHILD, "waitpid() failed"},
	{RERR_MALLOC, "error allocating core memory buffers"},
	{RERR_PARTIAL, "some files/attrs were not transferred (see previous errors)"},
	{RERR_VANISHED, "some files vanished before they could be transferred"},
	{RERR_DEL_LIMIT, "the --max-delete limit stopped deletions"},
	{RERR_TIMEOUT, "timeout in data send/receive"},
	{RERR_CONTIMEOUT, "timeout waiting for daemon connection"},
	{RERR_CMD_FAILED, "remote shell failed"},
	{RERR_CMD_KILLED, "remote shell killed"},
	{RERR_CMD_RUN, "remote command could not be run"},
	{RERR_CMD_NOTFOUND, "remote command not found"},
};

const char *
oce_rerr_text(int code)
{
	for (size_t i = 0; i < sizeof(rerr_texts) / sizeof(rerr_texts[0]); i++)
		if (rerr_texts[i].code == code)
			return rerr_texts[i].text;
	return "unexplained error";
}

void
oce_print_exit(FILE *f, int code, const char *file, int line, const char *role)
{
	if (code == RERR_OK)
		return;
	/* Vanished files are only a warning (upstream log_exit()). */
	fprintf(f, "%s %s: %s (code %d) at %s(%d) [%s=%s]\n", OCE_PROG,
		code == RERR_VANISHED ? "warning" : "error", oce_rerr_text(code), code, file, line,
		role, OCE_VERSION);
	fflush(f);
}
