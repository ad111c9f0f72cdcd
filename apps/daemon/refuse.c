/* SPDX-License-Identifier: GPL-3.0-or-later */
/* refuse options (refuse.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apps/daemon/refuse.h"
#include "apps/daemon/refuse_priv.h"
#include "ocproto/filter.h"

static void
say(oce_dref_log_fn log, void *ctx, const char *fmt, const char *arg)
{
	char line[512];

	if (!log)
		return;
	snprintf(line, sizeof(line), fmt, arg);
	log(ctx, line);
}

int
oce_dref_row(const char *long_name, char short_name)
{
	size_t i;

	for (i = 0; i < oce__dref_n_rows; i++) {
		const struct oce__dref_row *o = &oce__dref_rows[i];

		if (long_name ? o->long_name && !strcmp(o->long_name, long_name)
			      : short_name && o->short_name == short_name)
			return (int)i;
	}
	return -1;
}

/* One rule: upstream parse_one_refuse_match(). */
static void
one_rule(struct oce_dref *r, bool negated, const char *ref, oce_dref_log_fn log, void *ctx)
{
	bool wild = strpbrk(ref, "*?[") != NULL, found = false;
	int matched = -1;
	size_t i;

	if (!strcmp(ref, "a") || !strcmp(ref, "archive")) {
		ref = "[ardlptgoD]";
		wild = true;
	}
	for (i = 0; i < oce__dref_n_rows; i++) {
		const struct oce__dref_row *o = &oce__dref_rows[i];
		char sn[2] = {o->short_name, '\0'};

		if (!(o->long_name && ocp_wildmatch(ref, o->long_name)) &&
		    !(sn[0] && ocp_wildmatch(ref, sn)))
			continue;
		/* an exact-only row ignores wildcard rules */
		if (!(o->flags & EXACT) || !wild)
			r->refused[i] = !negated;
		found = true;
		if (!wild) {
			matched = (int)i;
			break;
		}
	}
	if (matched >= 0) {
		for (i = 0; i < oce__dref_n_rows; i++) {
			if ((int)i != matched &&
			    oce__dref_rows[i].group == oce__dref_rows[matched].group)
				r->refused[i] = !negated;
		}
	}
	if (!found)
		say(log, ctx, "No match for refuse-options string \"%s\"", ref);
}

void
oce_dref_init(struct oce_dref *r, const char *refuse_options, bool have_charset,
	      oce_dref_log_fn log, void *ctx)
{
	const char *p = refuse_options ? refuse_options : "";
	char tok[1024];
	size_t i;

	memset(r, 0, sizeof(*r));
	/* accepted only when a rule names them exactly with '!' */
	one_rule(r, false, "copy-devices", log, ctx);
	one_rule(r, false, "write-devices", log, ctx);
	for (;;) {
		size_t n;
		bool negated;
		const char *ref = tok;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		n = strcspn(p, " ");
		if (n >= sizeof(tok))
			n = sizeof(tok) - 1;
		memcpy(tok, p, n);
		tok[n] = '\0';
		p += strcspn(p, " ");
		negated = tok[0] == '!';
		if (negated && tok[1])
			ref++;
		one_rule(r, negated, ref, log, ctx);
	}
	/* what a daemon always refuses, whatever the rules said */
	if (!have_charset)
		one_rule(r, false, "iconv", log, ctx);
	one_rule(r, false, "log-file*", log, ctx);
	one_rule(r, false, "insecure-links", log, ctx);
	/* Linux keeps no creation times, so rsync there has no --crtimes */
	one_rule(r, false, "crtimes", log, ctx);

	r->archive_part = r->compress = r->del = r->delete_before = r->delete_during = -1;
	r->partial = r->progress = r->inplace = r->no_iconv = -1;
	for (i = 0; i < oce__dref_n_rows; i++) {
		const struct oce__dref_row *o = &oce__dref_rows[i];
		const char *l = o->long_name;

		if (!r->refused[i])
			continue;
		if (o->short_name && strchr("rdlptgoD", o->short_name))
			r->archive_part = (int)i;
		else if (o->short_name == 'z')
			r->compress = (int)i;
		else if (o->short_name || !l)
			continue;
		else if (!strcmp(l, "delete"))
			r->del = (int)i;
		else if (!strcmp(l, "delete-before"))
			r->delete_before = (int)i;
		else if (!strcmp(l, "delete-during"))
			r->delete_during = (int)i;
		else if (!strcmp(l, "partial"))
			r->partial = (int)i;
		else if (!strcmp(l, "progress"))
			r->progress = (int)i;
		else if (!strcmp(l, "inplace"))
			r->inplace = (int)i;
		else if (!strcmp(l, "no-iconv"))
			r->no_iconv = (int)i;
	}
}

/* What the checks after the option loop need to know. */
struct state {
	int recurse, xfer_dirs, list_only;
	bool files_from;
	int compress_count;
	const char *compress_choice;
	bool level_given;
	bool iconv;
	int delete_mode, delete_before, delete_during, delete_after, delete_excluded;
	int missing_args, remove_source_files;
	bool sender;
	int append_mode, whole_file, write_devices, inplace, keep_partial, delay_updates;
	const char *partial_dir;
};

static enum oce_dref_verdict
refuse(int row, char *msg, size_t cap)
{
	const struct oce__dref_row *o = &oce__dref_rows[row];

	/* upstream prints a NULL long name (-D, -F, -P) through glibc's "(null)" */
	if (o->short_name)
		snprintf(msg, cap, "The server is configured to refuse --%s (-%c)\n",
			 o->long_name ? o->long_name : "(null)", o->short_name);
	else
		snprintf(msg, cap, "The server is configured to refuse --%s\n", o->long_name);
	return OCE_DREF_REFUSED;
}

static enum oce_dref_verdict
other(char *msg, size_t cap, const char *what, const char *arg)
{
	snprintf(msg, cap, "%s%s\n", what, arg);
	return OCE_DREF_OTHER;
}

static bool
is(const struct oce__dref_row *o, const char *name)
{
	return o->long_name && !strcmp(o->long_name, name);
}

/* Note what one (not refused) option does to the state. */
static void
apply(struct state *s, const struct oce__dref_row *o, const char *arg)
{
	switch (o->short_name) {
	case 'a':
		if (!s->recurse)
			s->recurse = 1;
		return;
	case 'r':
		s->recurse = 2;
		return;
	case 'd':
		s->xfer_dirs = 2;
		return;
	case 'z':
		s->compress_count++;
		return;
	case 'W':
		s->whole_file = 1;
		return;
	case 'P':
		s->keep_partial = 1;
		return;
	default:
		break;
	}
	if (!o->long_name)
		return;
	if (is(o, "no-recursive") || is(o, "no-r"))
		s->recurse = 0;
	else if (is(o, "no-dirs") || is(o, "no-d"))
		s->xfer_dirs = 0;
	else if (is(o, "old-dirs") || is(o, "old-d"))
		s->xfer_dirs = 4;
	else if (is(o, "list-only"))
		s->list_only = 2;
	else if (is(o, "files-from"))
		s->files_from = true;
	else if (is(o, "old-compress"))
		s->compress_choice = "zlib";
	else if (is(o, "new-compress"))
		s->compress_choice = "zlibx";
	else if (is(o, "no-compress") || is(o, "no-z")) {
		s->compress_count = 0;
		s->compress_choice = NULL;
	} else if (is(o, "compress-choice") || is(o, "zc"))
		s->compress_choice = arg;
	else if (is(o, "compress-level") || is(o, "zl"))
		s->level_given = true;
	else if (is(o, "iconv"))
		s->iconv = true;
	else if (is(o, "no-iconv"))
		s->iconv = false;
	else if (is(o, "delete"))
		s->delete_mode = 1;
	else if (is(o, "del") || is(o, "delete-during"))
		s->delete_during = 1;
	else if (is(o, "delete-delay"))
		s->delete_during = 2;
	else if (is(o, "delete-before"))
		s->delete_before = 1;
	else if (is(o, "delete-after"))
		s->delete_after = 1;
	else if (is(o, "delete-excluded"))
		s->delete_excluded = 1;
	else if (is(o, "delete-missing-args"))
		s->missing_args |= 2;
	else if (is(o, "ignore-missing-args"))
		s->missing_args |= 1;
	else if (is(o, "remove-sent-files"))
		s->remove_source_files = 2;
	else if (is(o, "remove-source-files"))
		s->remove_source_files = 1;
	else if (is(o, "sender"))
		s->sender = true;
	else if (is(o, "append"))
		s->append_mode++; /* a server counts them */
	else if (is(o, "append-verify"))
		s->append_mode = 2;
	else if (is(o, "no-append"))
		s->append_mode = 0;
	else if (is(o, "whole-file"))
		s->whole_file = 1;
	else if (is(o, "no-whole-file") || is(o, "no-W"))
		s->whole_file = 0;
	else if (is(o, "write-devices"))
		s->write_devices = 1;
	else if (is(o, "no-write-devices"))
		s->write_devices = 0;
	else if (is(o, "inplace"))
		s->inplace = 1;
	else if (is(o, "no-inplace"))
		s->inplace = 0;
	else if (is(o, "partial") || is(o, "progress"))
		s->keep_partial |= is(o, "partial");
	else if (is(o, "no-partial"))
		s->keep_partial = 0;
	else if (is(o, "partial-dir"))
		s->partial_dir = arg;
	else if (is(o, "delay-updates"))
		s->delay_updates = 1;
	else if (is(o, "no-delay-updates"))
		s->delay_updates = 0;
}

/* Does the option loop's handling of this row refuse it, or an implied one? */
static int
loop_refusal(const struct oce_dref *r, int row)
{
	const struct oce__dref_row *o = &oce__dref_rows[row];

	if (r->refused[row])
		return row;
	if (o->short_name == 'a' && r->archive_part >= 0)
		return r->archive_part;
	if (o->short_name == 'P' && (r->partial >= 0 || r->progress >= 0))
		return r->partial >= 0 ? r->partial : r->progress;
	return -1;
}

static int
find_long(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < oce__dref_n_rows; i++) {
		const char *l = oce__dref_rows[i].long_name;

		if (l && strlen(l) == len && !strncmp(l, name, len))
			return (int)i;
	}
	return -1;
}

/* "." or "" once cleaned, as upstream clean_fname() would leave it. */
static bool
empty_dir_name(const char *p)
{
	const char *s = p;

	if (*s == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (!(n == 0 || (n == 1 && s[0] == '.')))
			return false;
		s += n;
		if (*s)
			s++;
	}
	return true;
}

/* The checks after upstream's option loop, in its order. */
static enum oce_dref_verdict
after_loop(const struct oce_dref *r, struct state *s, char *msg, size_t cap)
{
	const char *choice = s->compress_choice;
	bool compressing;

	if (!choice && s->compress_count > 1)
		choice = "zlibx";
	if (choice && strcasecmp(choice, "auto"))
		compressing = strcasecmp(choice, "none") != 0;
	else
		compressing = s->compress_count > 0;
	if ((compressing || s->level_given) && r->compress >= 0)
		return refuse(r->compress, msg, cap);

	if (r->no_iconv >= 0 && !s->iconv)
		return refuse(r->no_iconv, msg, cap);

	if (s->files_from) {
		if (s->recurse == 1)
			s->recurse = 0;
		if (s->xfer_dirs < 0)
			s->xfer_dirs = 1;
	}
	if (s->xfer_dirs >= 4)
		s->xfer_dirs = s->recurse = 1;
	else if (s->recurse)
		s->xfer_dirs = 1;
	else if (s->xfer_dirs < 0)
		s->xfer_dirs = s->list_only ? 1 : 0;

	if (s->delete_before + !!s->delete_during + s->delete_after > 1)
		return other(msg, cap, "You may not combine multiple --delete-WHEN options.", "");
	if (s->delete_before || s->delete_during || s->delete_after) {
		s->delete_mode = 1;
	} else if (s->delete_mode || s->delete_excluded) {
		/* a refused --delete-before or --delete-during picks the other */
		if (r->delete_before >= 0) {
			if (r->delete_during >= 0)
				return refuse(r->delete_before, msg, cap);
		}
		s->delete_mode = 1;
	}
	if (!s->xfer_dirs && s->delete_mode)
		return other(msg, cap,
			     "--delete does not work without --recursive (-r) or --dirs (-d).", "");
	if (s->missing_args == 3)
		s->missing_args = 2;
	if (r->del >= 0 && (s->delete_mode || s->missing_args == 2))
		return refuse(r->del, msg, cap);
	if (s->remove_source_files && r->del >= 0 && s->sender)
		return refuse(r->del, msg, cap);

	if (s->append_mode) {
		if (s->whole_file > 0)
			return other(msg, cap, "--append cannot be used with --whole-file", "");
		if (r->inplace >= 0)
			return refuse(r->inplace, msg, cap);
		s->inplace = 1;
	}
	if (s->write_devices) {
		if (r->inplace >= 0)
			return refuse(r->inplace, msg, cap);
		s->inplace = 1;
	}
	if (s->delay_updates && !s->partial_dir)
		s->partial_dir = ".~tmp~";
	if (s->inplace) {
		if (s->partial_dir)
			return other(msg, cap, "--inplace cannot be used with --partial-dir", "");
		if (r->partial >= 0)
			return refuse(r->partial, msg, cap);
	} else if (s->partial_dir && empty_dir_name(s->partial_dir) && r->partial >= 0) {
		return refuse(r->partial, msg, cap);
	}
	return OCE_DREF_OK;
}

enum oce_dref_verdict
oce_dref_check(const struct oce_dref *r, size_t argc, const char *const *argv, char *msg,
	       size_t cap)
{
	struct state s = {.xfer_dirs = -1, .whole_file = -1};
	size_t i;
	int bad;

	if (cap)
		msg[0] = '\0';
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			break;
		if (a[0] != '-' || !a[1])
			continue; /* popt goes on past file names */
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			int row = find_long(a + 2, len);
			const char *arg = NULL;

			if (row < 0)
				return other(msg, cap, "unknown option: ", a);
			if (oce__dref_rows[row].flags & ARG) {
				if (eq)
					arg = eq + 1;
				else if (i + 1 < argc)
					arg = argv[++i];
				else
					return other(msg, cap, "missing argument: ", a);
			} else if (eq) {
				return other(msg, cap, "option takes no argument: ", a);
			}
			bad = loop_refusal(r, row);
			if (bad >= 0)
				return refuse(bad, msg, cap);
			apply(&s, &oce__dref_rows[row], arg);
			continue;
		}
		for (const char *c = a + 1; *c; c++) {
			int row = oce_dref_row(NULL, *c);
			const char *arg = NULL;

			if (row < 0) {
				char opt[3] = {'-', *c, '\0'};

				return other(msg, cap, "unknown option: ", opt);
			}
			if (oce__dref_rows[row].flags & ARG) {
				if (c[1])
					arg = c + 1;
				else if (i + 1 < argc)
					arg = argv[++i];
				else
					return other(msg, cap, "missing argument: ", a);
			}
			bad = loop_refusal(r, row);
			if (bad >= 0)
				return refuse(bad, msg, cap);
			apply(&s, &oce__dref_rows[row], arg);
			if (arg)
				break;
		}
	}
	return after_loop(r, &s, msg, cap);
}
