/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Exit codes (upstream errcode.h) and the closing error line that rsync
 * prints before exiting (upstream log.c log_exit() / rerr_names):
 *   "oc-rsync error: <text> (code N) at <file>(<line>) [<role>=<version>]"
 * Concurrency: the functions only read constant tables and write one line.
 */
#ifndef OCE_ERRCODE_H
#define OCE_ERRCODE_H

#include <stdio.h>

enum oce_rerr {
	RERR_OK = 0,
	RERR_SYNTAX = 1,     /* syntax or usage error */
	RERR_PROTOCOL = 2,   /* protocol incompatibility */
	RERR_FILESELECT = 3, /* errors selecting input/output files, dirs */
	RERR_UNSUPPORTED = 4, /* requested action not supported */
	RERR_STARTCLIENT = 5, /* error starting client-server protocol */
	RERR_SOCKETIO = 10,  /* error in socket IO */
	RERR_FILEIO = 11,    /* error in file IO */
	RERR_STREAMIO = 12,  /* error in rsync protocol data stream */
	RERR_MESSAGEIO = 13, /* errors with program diagnostics */
	RERR_IPC = 14,	     /* error in IPC code */
	RERR_CRASHED = 15,   /* sibling crashed */
	RERR_TERMINATED = 16, /* sibling terminated abnormally */
	RERR_SIGNAL1 = 19,   /* status returned when sent SIGUSR1 */
	RERR_SIGNAL = 20,    /* status returned when sent SIGINT, SIGTERM, SIGHUP */
	RERR_WAITCHILD = 21, /* some error returned by waitpid() */
	RERR_MALLOC = 22,    /* error allocating core memory buffers */
	RERR_PARTIAL = 23,   /* partial transfer */
	RERR_VANISHED = 24,  /* file(s) vanished on sender side */
	RERR_DEL_LIMIT = 25, /* skipped some deletes due to --max-delete */
	RERR_TIMEOUT = 30,   /* timeout in data send/receive */
	RERR_CONTIMEOUT = 35, /* timeout waiting for daemon connection */
	RERR_CMD_FAILED = 124,
	RERR_CMD_KILLED = 125,
	RERR_CMD_RUN = 126,
	RERR_CMD_NOTFOUND = 127,
};

/* The program name in messages ("oc-rsync"), and our version string. */
#define OCE_PROG    "oc-rsync"
#define OCE_VERSION "0.1.0"

/* Upstream's text for code, e.g. "syntax or usage error"; "unexplained error" otherwise. */
const char *oce_rerr_text(int code);

/*
 * Print the closing error line for code to f (nothing for RERR_OK), as
 * upstream's log_exit(): "oc-rsync error: <text> (code N) at <file>(<line>)
 * [<role>=<version>]" ("oc-rsync warning: ..." for RERR_VANISHED). role is "client", "server", "sender", "receiver",
 * "generator" or "daemon".
 */
void oce_print_exit(FILE *f, int code, const char *file, int line, const char *role);

#endif /* OCE_ERRCODE_H */
