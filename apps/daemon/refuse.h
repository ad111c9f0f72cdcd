/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `refuse options` for the future oc-rsyncd; mirrors upstream options.c
 * set_refuse_options() / parse_one_refuse_match() (which options a rule
 * reaches: wildcards, "a" = [ardlptgoD], exact names carrying along the
 * rows that do the same thing, "!name" to accept again, the options a
 * daemon always refuses) and the checks parse_arguments() makes with them
 * (a refused option used; -a with a refused part; -P with --partial or
 * --progress refused; compression, --delete-*, --remove-source-files,
 * --append, --write-devices, --inplace and --partial-dir implying a
 * refused option), in upstream's order.
 *
 * Concurrency: a struct oce_dref is built once per module (or per
 * connection) and then only read; reentrant.
 */
#ifndef OCE_DAEMON_REFUSE_H
#define OCE_DAEMON_REFUSE_H

#include <stdbool.h>
#include <stddef.h>

/* More than upstream's option rows (258 in rsync 3.5.0). */
#define OCE_DREF_ROWS_MAX 300

struct oce_dref {
	bool refused[OCE_DREF_ROWS_MAX];
	/* the rows upstream keeps a note of (-1: not refused) */
	int archive_part, compress, del, delete_before, delete_during;
	int partial, progress, inplace, no_iconv;
};

typedef void (*oce_dref_log_fn)(void *ctx, const char *line);

/*
 * Mark what a daemon module with this "refuse options" value (NULL for
 * none) refuses; have_charset: the module sets "charset" (else --iconv is
 * refused). Rules that match nothing are logged ("No match for
 * refuse-options string ...").
 */
void oce_dref_init(struct oce_dref *r, const char *refuse_options, bool have_charset,
		   oce_dref_log_fn log, void *ctx);

enum oce_dref_verdict {
	OCE_DREF_OK = 0,      /* nothing refused */
	OCE_DREF_REFUSED = 1, /* msg: upstream's error text */
	OCE_DREF_OTHER = 2,   /* another option error comes first (unknown option,
				 missing argument, a conflict): the option parser
				 reports it; msg says which */
};

/*
 * Check the server arguments a client sent (without the program name,
 * e.g. "--server" "-logDtpre.iLsfxCIvu" "--delete" "." "mod/"). On
 * OCE_DREF_REFUSED, msg gets e.g. "The server is configured to refuse
 * --delete\n" or "... --links (-l)\n", which upstream sends as "rsync: "
 * + msg.
 */
enum oce_dref_verdict oce_dref_check(const struct oce_dref *r, size_t argc, const char *const *argv,
				     char *msg, size_t cap);

/* The row index of --name (NULL-safe), or -1: for tests. */
int oce_dref_row(const char *long_name, char short_name);

#endif /* OCE_DAEMON_REFUSE_H */
