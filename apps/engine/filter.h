/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The engine's filter rules (upstream exclude.c): the rule list a session
 * matches names against, with merge files read where they stand ('.'),
 * per-directory merge files (':', -F) read as the walk enters each
 * directory and inherited below it, and the CVS ignore list of -C (its
 * defaults, $HOME/.cvsignore, $CVSIGNORE and each directory's .cvsignore).
 * Single rules are parsed and matched by ocproto (ocproto/filter.h); this
 * module holds the lists, the templates merge files give their rules, and
 * the file reading ocproto does not do.
 *
 * Concurrency: the state belongs to one session and is used by one thread
 * at a time (the sender's walk, or the generator on the receiving side).
 */
#ifndef OCE_FILTER_H
#define OCE_FILTER_H

#include <stdbool.h>

struct oce_session;
struct oce_filters;

/*
 * Create the session's rule state and parse its command-line rules
 * (o->filters, in order; '.' merge files are read now, as upstream's option
 * parser does). Prints the error and sets s->exit_code on a bad rule.
 * Returns 0 or a negative error.
 */
int oce_filter_init(struct oce_session *s, bool with_cmdline);
void oce_filter_free(struct oce_session *s);

/* Add one rule text as a command-line rule (used for the --partial-dir rule). */
int oce_filter_add(struct oce_session *s, const char *text);

/*
 * Client: send the rules the other side needs and mark the ones that only
 * apply there; add -C's rules where upstream does (send_filter_list()).
 */
int oce_filter_send(struct oce_session *s, bool to_peer);
/* Server: parse one rule text that came from the client (recv_filter_list()). */
int oce_filter_recv_rule(struct oce_session *s, const char *text);
/* Server: after the list, the rules -C adds on this side. */
int oce_filter_recv_done(struct oce_session *s);

/*
 * The walk (sender) or the deletion pass (receiving side) enters directory
 * dname (relative to root, "." for root itself): read the per-directory
 * merge files there. root is the transfer root as the process names it;
 * rules anchored with '/' match below its absolute path.
 * oce_filter_push() returns what oce_filter_pop() restores (NULL is valid).
 * oce_filter_chdir() is upstream's change_local_filter_dir(): it pops the
 * levels at depth and deeper first; dname NULL pops everything.
 */
void *oce_filter_push(struct oce_session *s, const char *root, const char *dname);
void oce_filter_pop(struct oce_session *s, void *saved);
void oce_filter_chdir(struct oce_session *s, const char *root, const char *dname, int depth);

/* OCP_EFILTER once a per-directory file held a bad rule (printed, exit code set), else 0. */
int oce_filter_status(const struct oce_session *s);

/* The depth oce_filter_chdir() wants for a directory name: "." 0, "a" 1, "a/b" 2. */
int oce_filter_depth(const char *dname);

/* -1 excluded, 1 included, 0 no rule matched (upstream check_filter()). */
int oce_filter_check(const struct oce_session *s, const char *name, bool is_dir);
/*
 * The same with no_perishable: 'p' rules (and -C's defaults at protocol 30+)
 * are skipped, as upstream's ignore_perishable while it empties a directory
 * it deletes (delete_dir_contents()), so they do not keep it.
 */
int oce_filter_check_ex(const struct oce_session *s, const char *name, bool is_dir,
			bool no_perishable);

/*
 * A daemon module's rules (upstream daemon_filter_list), parsed into their
 * own list as upstream's rsync_module() does: filter, include from,
 * include, exclude from, exclude. A '/' anywhere anchors a rule at the
 * module's root and an excluded "dir/" hides all below it. The files are
 * read from fps (closed here). Returns 0 or a negative error (printed).
 */
struct oce_daemon_mod;
int oce_filter_daemon(struct oce_session *s, const struct oce_daemon_mod *d);
/* The transfer root names are relative to, as a path below the module's root. */
void oce_filter_daemon_dir(struct oce_session *s, const char *root);
/* -1 when the module's rules exclude name, else 0. */
int oce_filter_daemon_check(const struct oce_session *s, const char *name, bool is_dir);
/* Is a directory of path (all but its last part when skip_last) excluded by the module? */
bool oce_filter_daemon_path(const struct oce_session *s, const char *path, bool skip_last);

/* Does the module exclude path (absolute below its root, or relative to it)? */
bool oce_filter_daemon_hides(const struct oce_session *s, const char *path, bool is_dir);

/* Does the session have any rule at all? */
bool oce_filter_any(const struct oce_session *s);

#endif /* OCE_FILTER_H */
