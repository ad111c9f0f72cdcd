/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Command-line parsing (upstream options.c parse_arguments()); see opts.h.
 * One switch turns the ids the popt tables (options_table.c) return into
 * struct oce_opts; then settle() applies upstream's implications and checks
 * in upstream's order, so the first error reported is upstream's first.
 * All state of a parse is in struct pstate: nothing is global.
 */
#include "apps/engine/options_priv.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apps/engine/errcode.h"
#include "ocproto/negotiate.h"

#define MAX_BLOCK_SIZE (1 << 17) /* upstream MAX_BLOCK_SIZE, protocol 30+ */

/* One parse: upstream's intermediate globals, kept off the struct. */
struct pstate {
	struct oce_opts *o;
	poptContext pc;
	int argc;
	char **argv;
	int exit_code;
	int recurse;   /* 0; 1 from -a; 2 from -r (kept with --files-from) */
	int xfer_dirs; /* -1 unset, 0 --no-d, 2 -d */
	int relative;  /* -1 unset */
	bool del_plain, del_before, del_after;
	int del_during; /* 1 --delete-during / --del, 2 --delete-delay */
	int version_cnt;
	int atimes;
	int F_cnt;
	struct oce__prio prio;
};

int
oce_strv_push(struct oce_strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 2) * sizeof(*v));
	char *d;

	if (!v)
		return -ENOMEM;
	sv->v = v;
	d = strdup(s);
	if (!d) {
		sv->v[sv->n] = NULL;
		return -ENOMEM;
	}
	sv->v[sv->n++] = d;
	sv->v[sv->n] = NULL; /* keep it usable as an argv */
	return 0;
}

void
oce_strv_free(struct oce_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

void
oce_opts_init(struct oce_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->human = 1;
	o->whole_file = -1;
	o->max_size = -1;
	o->min_size = -1;
	o->compress_level = -1;
	o->max_delete = -1;
	o->implied_dirs = true;
}

void
oce_opts_free(struct oce_opts *o)
{
	char **strs[] = {&o->out_format,      &o->checksum_choice,
			 &o->compress_choice, &o->files_from,
			 &o->filesfrom_host,  &o->partial_dir,
			 &o->temp_dir,	      &o->backup_dir,
			 &o->suffix,	      &o->rsh,
			 &o->rsync_path,      &o->address,
			 &o->password_file,   &o->config,
			 &o->log_file,	      &o->log_file_format,
			 &o->sockopts,	      &o->metrics_file};
	struct oce_strv *vs[] = {&o->filters, &o->alt_dest, &o->remote_opts, &o->dparams, &o->args};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
		oce_strv_free(vs[i]);
}

static enum oce_parse_result
fail_at(struct pstate *ps, int code, int line)
{
	ps->exit_code = code;
	fflush(stdout);
	oce_print_exit(stderr, code, __FILE__, line, ps->o->server ? "server" : "client");
	return OCE_PARSE_ERROR;
}

#define FAIL(ps, code) fail_at(ps, code, __LINE__)

static enum oce_parse_result
no_memory(struct pstate *ps)
{
	fputs(OCE_PROG ": out of memory in option parsing\n", stderr);
	return FAIL(ps, RERR_MALLOC);
}

/* popt's own wording for errors it would have found itself. */
static enum oce_parse_result
popt_fail(struct pstate *ps, int err)
{
	oce__say("%s%s: %s", ps->o->server ? "on remote machine: " : "",
		 poptBadOption(ps->pc, POPT_BADOPTION_NOALIAS), poptStrerror(err));
	return FAIL(ps, RERR_SYNTAX);
}

/* An integer option, checked as popt checks POPT_ARG_INT (base 0, no trailing junk). */
static int
get_int(struct pstate *ps, const char *arg, int *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 0);
	if (*end) {
		popt_fail(ps, POPT_ERROR_BADNUMBER);
		return -1;
	}
	if (errno == ERANGE || v > INT_MAX || v < INT_MIN) {
		popt_fail(ps, POPT_ERROR_OVERFLOW);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
set_str(char **dst, const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

/* --exclude-from / --include-from FILE ("-": stdin), read where it stands. */
static enum oce_parse_result
read_patterns(struct pstate *ps, const char *fname, bool include)
{
	FILE *f = strcmp(fname, "-") == 0 ? stdin : fopen(fname, "rb");
	int rc;

	if (!f) {
		int e = errno;

		oce__say("[client] failed to open %sclude file %s: %s (%d)", include ? "in" : "ex",
			 fname, strerror(e), e);
		return FAIL(ps, RERR_FILEIO);
	}
	rc = oce__read_patterns(f, ps->o->from0, include, &ps->o->filters);
	if (f != stdin)
		fclose(f);
	return rc ? no_memory(ps) : OCE_PARSE_RUN;
}

static enum oce_parse_result
refuse(struct pstate *ps, int idx)
{
	if (oce__refused_opts[idx].short_name)
		oce__say("--%s (-%c): not supported", oce__refused_opts[idx].name,
			 oce__refused_opts[idx].short_name);
	else
		oce__say("--%s: not supported", oce__refused_opts[idx].name);
	return FAIL(ps, RERR_SYNTAX);
}

static const char *
alt_dest_name(enum oce_altdest t)
{
	return t == OCE_ALT_COMPARE ? "--compare-dest"
	       : t == OCE_ALT_COPY  ? "--copy-dest"
				    : "--link-dest";
}

static enum oce_parse_result
add_alt_dest(struct pstate *ps, enum oce_altdest t, const char *dir)
{
	struct oce_opts *o = ps->o;

	if (o->alt_dest_type && o->alt_dest_type != t) {
		oce__say("ERROR: the %s option conflicts with the %s option", alt_dest_name(t),
			 alt_dest_name(o->alt_dest_type));
		return FAIL(ps, RERR_SYNTAX);
	}
	o->alt_dest_type = t;
	if (o->alt_dest.n >= OCE_MAX_ALT_DEST) {
		oce__say("ERROR: at most %d %s args may be specified", OCE_MAX_ALT_DEST,
			 alt_dest_name(t));
		return FAIL(ps, RERR_SYNTAX);
	}
	return oce_strv_push(&o->alt_dest, dir) ? no_memory(ps) : OCE_PARSE_RUN;
}

/* Options that only set or clear one flag. */
static const struct {
	int id;
	size_t off;
	bool val;
} flag_opts[] = {
    {OPT_MOTD, offsetof(struct oce_opts, no_motd), false},
    {OPT_NO_MOTD, offsetof(struct oce_opts, no_motd), true},
    {OPT_STATS, offsetof(struct oce_opts, stats), true},
    {OPT_LIST_ONLY, offsetof(struct oce_opts, list_only_opt), true},
    {OPT_MKPATH, offsetof(struct oce_opts, mkpath), true},
    {OPT_FSYNC, offsetof(struct oce_opts, fsync), true},
    {OPT_NO_MKPATH, offsetof(struct oce_opts, mkpath), false},
    {OPT_DRY_RUN, offsetof(struct oce_opts, dry_run), true},
    {OPT_PERMS, offsetof(struct oce_opts, perms), true},
    {OPT_NO_PERMS, offsetof(struct oce_opts, perms), false},
    {OPT_EXECUTABILITY, offsetof(struct oce_opts, executability), true},
    {OPT_TIMES, offsetof(struct oce_opts, times), true},
    {OPT_NO_TIMES, offsetof(struct oce_opts, times), false},
    {OPT_OMIT_DIR_TIMES, offsetof(struct oce_opts, omit_dir_times), true},
    {OPT_NO_OMIT_DIR_TIMES, offsetof(struct oce_opts, omit_dir_times), false},
    {OPT_OWNER, offsetof(struct oce_opts, owner), true},
    {OPT_NO_OWNER, offsetof(struct oce_opts, owner), false},
    {OPT_GROUP, offsetof(struct oce_opts, group), true},
    {OPT_NO_GROUP, offsetof(struct oce_opts, group), false},
    {OPT_DEVICES, offsetof(struct oce_opts, devices), true},
    {OPT_NO_DEVICES, offsetof(struct oce_opts, devices), false},
    {OPT_SPECIALS, offsetof(struct oce_opts, specials), true},
    {OPT_NO_SPECIALS, offsetof(struct oce_opts, specials), false},
    {OPT_LINKS, offsetof(struct oce_opts, links), true},
    {OPT_NO_LINKS, offsetof(struct oce_opts, links), false},
    {OPT_COPY_LINKS, offsetof(struct oce_opts, copy_links), true},
    {OPT_COPY_UNSAFE_LINKS, offsetof(struct oce_opts, copy_unsafe_links), true},
    {OPT_SAFE_LINKS, offsetof(struct oce_opts, safe_links), true},
    {OPT_COPY_DIRLINKS, offsetof(struct oce_opts, copy_dirlinks), true},
    {OPT_KEEP_DIRLINKS, offsetof(struct oce_opts, keep_dirlinks), true},
    {OPT_IGNORE_TIMES, offsetof(struct oce_opts, ignore_times), true},
    {OPT_SIZE_ONLY, offsetof(struct oce_opts, size_only), true},
    {OPT_UPDATE, offsetof(struct oce_opts, update), true},
    {OPT_EXISTING, offsetof(struct oce_opts, existing), true},
    {OPT_IGNORE_EXISTING, offsetof(struct oce_opts, ignore_existing), true},
    {OPT_SPARSE, offsetof(struct oce_opts, sparse), true},
    {OPT_NO_SPARSE, offsetof(struct oce_opts, sparse), false},
    {OPT_INPLACE, offsetof(struct oce_opts, inplace), true},
    {OPT_NO_INPLACE, offsetof(struct oce_opts, inplace), false},
    {OPT_DELETE_EXCLUDED, offsetof(struct oce_opts, delete_excluded), true},
    {OPT_CHECKSUM, offsetof(struct oce_opts, checksum), true},
    {OPT_NO_CHECKSUM, offsetof(struct oce_opts, checksum), false},
    {OPT_PROGRESS, offsetof(struct oce_opts, progress), true},
    {OPT_NO_PROGRESS, offsetof(struct oce_opts, progress), false},
    {OPT_PARTIAL, offsetof(struct oce_opts, partial), true},
    {OPT_NO_PARTIAL, offsetof(struct oce_opts, partial), false},
    {OPT_BACKUP, offsetof(struct oce_opts, backup), true},
    {OPT_NO_BACKUP, offsetof(struct oce_opts, backup), false},
    {OPT_FROM0, offsetof(struct oce_opts, from0), true},
    {OPT_NO_FROM0, offsetof(struct oce_opts, from0), false},
    {OPT_NUMERIC_IDS, offsetof(struct oce_opts, numeric_ids), true},
    {OPT_NO_NUMERIC_IDS, offsetof(struct oce_opts, numeric_ids), false},
    {OPT_SERVER, offsetof(struct oce_opts, server), true},
};

/* One option of the main table; arg is its argument ("" when it takes none). */
static enum oce_parse_result
handle_opt(struct pstate *ps, int id, const char *arg)
{
	struct oce_opts *o = ps->o;
	int64_t size;
	int n, rc = 0;

	for (size_t i = 0; i < sizeof(flag_opts) / sizeof(flag_opts[0]); i++) {
		if (flag_opts[i].id == id) {
			*(bool *)((char *)o + flag_opts[i].off) = flag_opts[i].val;
			return OCE_PARSE_RUN;
		}
	}
	switch (id) {
	case OPT_HELP:
		oce_print_usage(stdout);
		return OCE_PARSE_EXIT_OK;
	case OPT_VERSION:
		ps->version_cnt++;
		break;
	case OPT_VERBOSE:
		o->verbose++;
		break;
	case OPT_NO_VERBOSE:
		o->verbose = 0;
		break;
	case OPT_INFO:
	case OPT_DEBUG:
		rc = oce__parse_words(o, &ps->prio, id == OPT_INFO, arg, OCE__PRIO_USER);
		if (rc > 0)
			return OCE_PARSE_EXIT_OK;
		if (rc < 0)
			return FAIL(ps, RERR_SYNTAX);
		break;
	case OPT_QUIET:
		o->quiet++;
		break;
	case OPT_HUMAN:
		o->human++;
		break;
	case OPT_NO_HUMAN:
		o->human = 0;
		break;
	case OPT_ARCHIVE:
		if (!ps->recurse)
			ps->recurse = 1;
		o->links = o->perms = o->times = o->group = o->owner = true;
		o->devices = o->specials = true;
		break;
	case OPT_RECURSIVE:
		ps->recurse = 2;
		break;
	case OPT_NO_INC_RECURSIVE:
		o->no_inc_recurse = true;
		break;
	case OPT_NO_RECURSIVE:
		ps->recurse = 0;
		break;
	case OPT_DIRS:
		ps->xfer_dirs = 2;
		break;
	case OPT_NO_DIRS:
		ps->xfer_dirs = 0;
		break;
	case OPT_ATIMES:
		if (++ps->atimes > 1) {
			oce__say("-UU: not supported (it means --open-noatime too)");
			return FAIL(ps, RERR_SYNTAX);
		}
		o->atimes = true;
		break;
	case OPT_NO_ATIMES:
		ps->atimes = 0;
		o->atimes = false;
		break;
	case OPT_MODIFY_WINDOW:
		if (get_int(ps, arg, &o->modify_window))
			return OCE_PARSE_ERROR;
		o->modify_window_set = true;
		break;
	case OPT_D:
		o->devices = o->specials = true;
		break;
	case OPT_NO_D:
		o->devices = o->specials = false;
		break;
	case OPT_HARD_LINKS:
		o->hard_links_count++;
		o->hard_links = true;
		break;
	case OPT_NO_HARD_LINKS:
		o->hard_links_count = 0;
		o->hard_links = false;
		break;
	case OPT_RELATIVE:
		ps->relative = 1;
		break;
	case OPT_NO_RELATIVE:
		ps->relative = 0;
		break;
	case OPT_IMPLIED_DIRS:
		o->implied_dirs = true;
		break;
	case OPT_NO_IMPLIED_DIRS:
		o->implied_dirs = false;
		break;
	case OPT_ONE_FS:
		o->one_file_system++;
		break;
	case OPT_NO_ONE_FS:
		o->one_file_system = 0;
		break;
	case OPT_MAX_SIZE:
	case OPT_MIN_SIZE:
		if (oce__parse_size(arg, 'b', id == OPT_MAX_SIZE ? "max-size" : "min-size", 0, -1,
				    false, &size))
			return FAIL(ps, RERR_SYNTAX);
		*(id == OPT_MAX_SIZE ? &o->max_size : &o->min_size) = size;
		break;
	case OPT_APPEND:
		/* A client sends --append twice for --append-verify. */
		o->append = o->server ? o->append + 1 : 1;
		break;
	case OPT_APPEND_VERIFY:
		o->append = 2;
		break;
	case OPT_NO_APPEND:
		o->append = 0;
		break;
	case OPT_DELETE:
		ps->del_plain = true;
		break;
	case OPT_DELETE_BEFORE:
		ps->del_before = true;
		break;
	case OPT_DELETE_DURING:
		ps->del_during = 1;
		break;
	case OPT_DELETE_DELAY:
		ps->del_during = 2;
		break;
	case OPT_DELETE_AFTER:
		ps->del_after = true;
		break;
	case OPT_MAX_DELETE:
		if (get_int(ps, arg, &n))
			return OCE_PARSE_ERROR;
		o->max_delete = n < 0 ? 0 : n; /* negative means "no deletions" */
		break;
	case OPT_F:
		if (++ps->F_cnt == 1)
			rc = oce_strv_push(&o->filters, ": /.rsync-filter");
		else if (ps->F_cnt == 2)
			rc = oce_strv_push(&o->filters, "- .rsync-filter");
		o->filter_F = ps->F_cnt;
		break;
	case OPT_FILTER:
		if (*arg)
			rc = oce_strv_push(&o->filters, arg);
		break;
	case OPT_EXCLUDE:
	case OPT_INCLUDE:
		rc = oce__push_pattern(&o->filters, arg, id == OPT_INCLUDE);
		break;
	case OPT_EXCLUDE_FROM:
	case OPT_INCLUDE_FROM:
		if (*arg)
			return read_patterns(ps, arg, id == OPT_INCLUDE_FROM);
		break;
	case OPT_CVS_EXCLUDE:
		o->cvs_exclude = 1;
		break;
	case OPT_WHOLE_FILE:
		o->whole_file = 1;
		break;
	case OPT_NO_WHOLE_FILE:
		o->whole_file = 0;
		break;
	case OPT_CHECKSUM_CHOICE:
		rc = set_str(&o->checksum_choice, arg);
		break;
	case OPT_BLOCK_SIZE: {
		int64_t max = o->protocol && o->protocol < 30 ? (1 << 29) : MAX_BLOCK_SIZE;

		if (oce__parse_size(arg, 'b', "block-size", 0, max, false, &size))
			return FAIL(ps, RERR_SYNTAX);
		o->block_size = (int32_t)size;
		break;
	}
	case OPT_COMPARE_DEST:
		return add_alt_dest(ps, OCE_ALT_COMPARE, arg);
	case OPT_COPY_DEST:
		return add_alt_dest(ps, OCE_ALT_COPY, arg);
	case OPT_LINK_DEST:
		return add_alt_dest(ps, OCE_ALT_LINK, arg);
	case OPT_COMPRESS:
		o->compress++;
		break;
	case OPT_OLD_COMPRESS:
		rc = set_str(&o->compress_choice, "zlib");
		break;
	case OPT_NEW_COMPRESS:
		rc = set_str(&o->compress_choice, "zlibx");
		break;
	case OPT_NO_COMPRESS:
		o->compress = 0;
		rc = set_str(&o->compress_choice, NULL);
		break;
	case OPT_COMPRESS_CHOICE:
		rc = set_str(&o->compress_choice, arg);
		break;
	case OPT_REFLINK:
		if (!arg || !*arg || !strcmp(arg, "auto")) {
			o->reflink = OCE_REFLINK_AUTO;
		} else if (!strcmp(arg, "always")) {
			o->reflink = OCE_REFLINK_ALWAYS;
		} else if (!strcmp(arg, "never")) {
			o->reflink = OCE_REFLINK_NEVER;
		} else {
			fprintf(stderr, "--reflink: WHEN is auto, always or never, not \"%s\"\n", arg);
			return FAIL(ps, RERR_SYNTAX);
		}
		break;
	case OPT_NO_REFLINK:
		o->reflink = OCE_REFLINK_NEVER;
		break;
	case OPT_COMPRESS_LEVEL:
		if (get_int(ps, arg, &o->compress_level))
			return OCE_PARSE_ERROR;
		o->compress_level_set = true;
		break;
	case OPT_P:
		o->progress = o->partial = true;
		break;
	case OPT_PARTIAL_DIR:
		rc = set_str(&o->partial_dir, arg);
		break;
	case OPT_OUT_FORMAT:
		rc = set_str(&o->out_format, arg);
		break;
	case OPT_ITEMIZE:
		o->itemize++;
		break;
	case OPT_NO_ITEMIZE:
		o->itemize = 0;
		break;
	case OPT_BWLIMIT:
		if (oce__parse_size(arg, 'K', "bwlimit", 512, -1, true, &size))
			return FAIL(ps, RERR_SYNTAX);
		/* Upstream keeps whole KiB, rounded: that is the rate it enforces. */
		o->bwlimit = (size + 512) / 1024 * 1024;
		break;
	case OPT_NO_BWLIMIT:
		o->bwlimit = 0;
		break;
	case OPT_BACKUP_DIR:
		rc = set_str(&o->backup_dir, arg);
		break;
	case OPT_SUFFIX:
		rc = set_str(&o->suffix, arg);
		break;
	case OPT_FILES_FROM:
		rc = set_str(&o->files_from, arg);
		break;
	case OPT_TIMEOUT:
		if (get_int(ps, arg, &o->timeout))
			return OCE_PARSE_ERROR;
		break;
	case OPT_NO_TIMEOUT:
		o->timeout = 0;
		break;
	case OPT_CONTIMEOUT:
		if (get_int(ps, arg, &o->contimeout))
			return OCE_PARSE_ERROR;
		break;
	case OPT_NO_CONTIMEOUT:
		o->contimeout = 0;
		break;
	case OPT_RSH:
		rc = set_str(&o->rsh, arg);
		break;
	case OPT_RSYNC_PATH:
		rc = set_str(&o->rsync_path, arg);
		break;
	case OPT_TEMP_DIR:
		rc = set_str(&o->temp_dir, arg);
		break;
	case OPT_ADDRESS:
		rc = set_str(&o->address, arg);
		break;
	case OPT_PORT:
		if (get_int(ps, arg, &o->port))
			return OCE_PARSE_ERROR;
		break;
	case OPT_PASSWORD_FILE:
		rc = set_str(&o->password_file, arg);
		break;
	case OPT_REMOTE_OPTION:
		if (*arg != '-') {
			oce__say("Remote option must start with a dash: %s", arg);
			return FAIL(ps, RERR_SYNTAX);
		}
		rc = oce_strv_push(&o->remote_opts, arg);
		break;
	case OPT_PROTOCOL:
		if (get_int(ps, arg, &o->protocol))
			return OCE_PARSE_ERROR;
		if (o->protocol < OCP_PROTOCOL_MIN || o->protocol > OCP_PROTOCOL_MAX) {
			oce__say(
			    "--protocol=%d: not supported (oc-rsync speaks protocols %d to %d)",
			    o->protocol, OCP_PROTOCOL_MIN, OCP_PROTOCOL_MAX);
			return FAIL(ps, RERR_SYNTAX);
		}
		break;
	case OPT_CHECKSUM_SEED:
		if (get_int(ps, arg, &n))
			return OCE_PARSE_ERROR;
		o->checksum_seed = n;
		o->checksum_seed_set = true;
		break;
	case OPT_SENDER:
		if (!o->server) {
			oce_print_usage(stderr);
			return FAIL(ps, RERR_SYNTAX);
		}
		o->sender = true;
		break;
	case OPT_IPV4:
		o->ip_family = 4; /* daemon sockets, and "-4" for ssh */
		break;
	case OPT_IPV6:
		o->ip_family = 6;
		break;
	case OPT_NOOP:
		break;
	default:
		if (id >= OPT_REFUSED_BASE && id < OPT_REFUSED_BASE + R_COUNT)
			return refuse(ps, id - OPT_REFUSED_BASE);
		return popt_fail(ps, POPT_ERROR_BADOPT);
	}
	return rc ? no_memory(ps) : OCE_PARSE_RUN;
}

static enum oce_parse_result
copy_args(struct pstate *ps)
{
	const char **rest = poptGetArgs(ps->pc);

	for (; rest && *rest; rest++)
		if (oce_strv_push(&ps->o->args, *rest))
			return no_memory(ps);
	return OCE_PARSE_RUN;
}

/*
 * Daemon mode (upstream: any of --daemon, --config, --dparam, --detach,
 * --no-detach): the whole command line is parsed again with the daemon
 * table, whose options mean other things (--bwlimit is whole KiB, -M is
 * --dparam, -h is --help).
 */
static enum oce_parse_result
parse_daemon(struct pstate *ps)
{
	struct oce_opts *o = ps->o;
	int opt, n;

	/* Daemon options mean other things: start from a clean struct. */
	oce_opts_free(o);
	oce_opts_init(o);
	ps->pc =
	    poptGetContext(OCE_PROG, ps->argc, (const char **)ps->argv, oce__daemon_options, 0);
	if (!ps->pc)
		return no_memory(ps);
	while ((opt = poptGetNextOpt(ps->pc)) != -1) {
		char *arg = opt >= 0 ? poptGetOptArg(ps->pc) : NULL;
		int rc = 0;

		switch (opt) {
		case OPT_DAEMON_HELP:
			free(arg);
			oce_print_daemon_usage(stdout);
			return OCE_PARSE_EXIT_OK;
		case OPT_DPARAM:
			if (!strchr(arg, '=')) {
				fprintf(stderr, "--dparam value is missing an '=': %s\n", arg);
				free(arg);
				goto usage_hint;
			}
			rc = oce_strv_push(&o->dparams, arg);
			break;
		case OPT_ADDRESS:
			rc = set_str(&o->address, arg);
			break;
		case OPT_CONFIG:
			rc = set_str(&o->config, arg);
			break;
		case OPT_LOG_FILE:
			rc = set_str(&o->log_file, arg);
			break;
		case OPT_LOG_FILE_FORMAT:
			rc = set_str(&o->log_file_format, arg);
			break;
		case OPT_METRICS_FILE:
			rc = set_str(&o->metrics_file, arg);
			break;
		case OPT_SOCKOPTS:
			rc = set_str(&o->sockopts, arg);
			break;
		case OPT_TEMP_DIR:
			rc = set_str(&o->temp_dir, arg);
			break;
		case OPT_DAEMON:
			o->daemon = true;
			break;
		case OPT_IPV4:
			o->ip_family = 4;
			break;
		case OPT_IPV6:
			o->ip_family = 6;
			break;
		case OPT_DETACH:
			o->no_detach = false;
			break;
		case OPT_NO_DETACH:
			o->no_detach = true;
			break;
		case OPT_SERVER:
			o->server = true;
			break;
		case OPT_VERBOSE:
			o->verbose++;
			break;
		case OPT_NO_VERBOSE:
			o->verbose = 0;
			break;
		case OPT_DAEMON_BWLIMIT:
		case OPT_PORT:
		case OPT_PROTOCOL:
			if (get_int(ps, arg, &n)) {
				free(arg);
				return OCE_PARSE_ERROR;
			}
			if (opt == OPT_DAEMON_BWLIMIT)
				o->bwlimit = (int64_t)n * 1024;
			else if (opt == OPT_PORT)
				o->port = n;
			else
				o->protocol = n;
			break;
		default:
			oce__say("%s: %s (in daemon mode)",
				 poptBadOption(ps->pc, POPT_BADOPTION_NOALIAS), poptStrerror(opt));
			free(arg);
			goto usage_hint;
		}
		free(arg);
		if (rc)
			return no_memory(ps);
	}
	if (!o->daemon) {
		fprintf(stderr, "Daemon option(s) used without --daemon.\n");
		goto usage_hint;
	}
	return copy_args(ps);

usage_hint:
	fprintf(stderr,
		"(Type \"" OCE_PROG " --daemon --help\" for assistance with daemon mode.)\n");
	return FAIL(ps, RERR_SYNTAX);
}

static bool
name_in(const char *name, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && strncasecmp(name, *list, len) == 0)
			return true;
	return false;
}

/* Upstream parse_checksum_choice() at option time: names checked, "auto" dropped. */
static enum oce_parse_result
check_checksum_choice(struct pstate *ps)
{
	static const char *const names[] = {"xxh128", "xxh3", "xxh64", "xxhash", "md5",
					    "md4",    "sha1", "none",  "auto",	 NULL};
	struct oce_opts *o = ps->o;
	const char *cc = o->checksum_choice, *comma;

	if (!cc)
		return OCE_PARSE_RUN;
	if (strcasecmp(cc, "auto") == 0 || strcasecmp(cc, "auto,auto") == 0) {
		set_str(&o->checksum_choice, NULL);
		return OCE_PARSE_RUN;
	}
	comma = strchr(cc, ',');
	for (const char *p = cc; p;) {
		const char *end = p == cc && comma ? comma : p + strlen(p);

		if (!name_in(p, (size_t)(end - p), names)) {
			fprintf(stderr, "unknown checksum name: %s\n", p);
			return FAIL(ps, RERR_UNSUPPORTED);
		}
		p = p == cc && comma ? comma + 1 : NULL;
	}
	/* No transfer checksum means no delta: whole files. */
	if (strncasecmp(cc, "none", 4) == 0 && (cc[4] == '\0' || cc[4] == ','))
		o->whole_file = 1;
	return OCE_PARSE_RUN;
}

/* Upstream's compress-choice handling at option time (parse_compress_choice(0)). */
static enum oce_parse_result
check_compress_choice(struct pstate *ps)
{
	static const char *const names[] = {"zstd", "lz4", "zlibx", "zlib", "none", NULL};
	struct oce_opts *o = ps->o;

	if (!o->compress_choice && o->compress > 1 && set_str(&o->compress_choice, "zlibx"))
		return no_memory(ps);
	if (!o->compress_choice)
		return OCE_PARSE_RUN;
	if (strcasecmp(o->compress_choice, "auto") == 0) {
		set_str(&o->compress_choice, NULL);
		return OCE_PARSE_RUN;
	}
	if (!name_in(o->compress_choice, strlen(o->compress_choice), names)) {
		fprintf(stderr, "unknown compress name: %s\n", o->compress_choice);
		return FAIL(ps, RERR_UNSUPPORTED);
	}
	return OCE_PARSE_RUN;
}

/* Backup options after parsing (upstream parse_arguments(), backup part). */
static enum oce_parse_result
settle_backup(struct pstate *ps)
{
	struct oce_opts *o = ps->o;
	bool dir_is_dest = false;

	/* The default follows --backup-dir as given, before "." is dropped below. */
	if (!o->suffix && set_str(&o->suffix, o->backup_dir ? "" : "~"))
		return no_memory(ps);
	if (o->backup_dir) {
		char *d = o->backup_dir;

		while (d[0] == '.' && d[1] == '/')
			d += 2;
		if (d[0] == '.' && d[1] == '\0')
			d++;
		memmove(o->backup_dir, d, strlen(d) + 1);
		o->backup = true; /* --backup-dir implies --backup */
		if (!*o->backup_dir) {
			dir_is_dest = true;
			set_str(&o->backup_dir, NULL);
		}
	}
	if (strchr(o->suffix, '/')) {
		oce__say("--suffix cannot contain slashes: %s", o->suffix);
		return FAIL(ps, RERR_SYNTAX);
	}
	if (o->backup_dir)
		return OCE_PARSE_RUN;
	if (!*o->suffix && (!o->server || !o->sender)) {
		oce__say("--suffix cannot be empty %s",
			 dir_is_dest ? "when --backup-dir is the same as the dest dir"
				     : "without a --backup-dir");
		return FAIL(ps, RERR_SYNTAX);
	}
	/* Deleting must not remove the backups it keeps beside the files. */
	if (o->backup && o->delete_mode && !o->delete_excluded && !o->server) {
		char *rule;
		int rc;

		if (asprintf(&rule, "P *%s", o->suffix) < 0)
			return no_memory(ps);
		rc = oce_strv_push(&o->filters, rule);
		free(rule);
		if (rc)
			return no_memory(ps);
	}
	if (o->backup)
		o->omit_dir_times = true; /* implied, and then not sent as -O */
	return OCE_PARSE_RUN;
}

/* Output options after parsing: --out-format default, --progress levels. */
static enum oce_parse_result
settle_output(struct pstate *ps)
{
	struct oce_opts *o = ps->o;
	bool log_before = false;

	oce__set_verbosity(o, &ps->prio, o->verbose);
	if (o->stats)
		oce__parse_words(o, &ps->prio, true, o->verbose > 1 ? "stats3" : "stats2",
				 OCE__PRIO_DEFAULT);
	if (o->out_format) {
		if (!oce_format_has(o->out_format, 'b') && !oce_format_has(o->out_format, 'c') &&
		    !oce_format_has(o->out_format, 'C'))
			log_before = !o->server;
	} else if (o->itemize) {
		if (set_str(&o->out_format, "%i %n%L"))
			return no_memory(ps);
		log_before = !o->server;
	}
	if (o->progress && !o->server) {
		if (!log_before && o->info[OCE_INFO_NAME] == 0)
			oce__parse_words(o, &ps->prio, true, "name", OCE__PRIO_DEFAULT);
		oce__parse_words(o, &ps->prio, true, "FLIST2,PROGRESS", OCE__PRIO_DEFAULT);
	}
	if (o->info[OCE_INFO_NAME] >= 1 && !o->out_format && set_str(&o->out_format, "%n%L"))
		return no_memory(ps);
	return OCE_PARSE_RUN;
}

/* What upstream decides after its option loop, in its order. */
static enum oce_parse_result
settle(struct pstate *ps)
{
	struct oce_opts *o = ps->o;
	enum oce_parse_result r;
	int when;

	if (ps->version_cnt) {
		oce_print_version(stdout, ps->version_cnt > 1 && !o->server);
		return OCE_PARSE_EXIT_OK;
	}
	if ((r = check_checksum_choice(ps)) != OCE_PARSE_RUN)
		return r;
	/* Old rsyncs had -h for --help: alone, it still is. */
	if (o->human > 1 && ps->argc == 2 && !o->server) {
		oce_print_usage(stdout);
		return OCE_PARSE_EXIT_OK;
	}
	if ((r = check_compress_choice(ps)) != OCE_PARSE_RUN)
		return r;
	if ((r = copy_args(ps)) != OCE_PARSE_RUN)
		return r;
	if (o->files_from) {
		if (ps->recurse == 1) /* -a's recursion, not an explicit -r */
			ps->recurse = 0;
		if (ps->xfer_dirs < 0)
			ps->xfer_dirs = 1;
	}
	o->list_only = o->list_only_opt || (o->args.n < 2 && !o->server);
	o->recursive = ps->recurse != 0;
	o->dirs_opt = ps->xfer_dirs == 2 && !o->recursive; /* -r makes upstream forget -d */
	o->dirs = o->recursive || (ps->xfer_dirs < 0 ? o->list_only : ps->xfer_dirs > 0);
	o->relative = ps->relative < 0 ? o->files_from != NULL : ps->relative != 0;
	if (!o->relative)
		o->implied_dirs = false;

	when = ps->del_before + !!ps->del_during + ps->del_after;
	if (when > 1) {
		oce__say("You may not combine multiple --delete-WHEN options.");
		return FAIL(ps, RERR_SYNTAX);
	}
	if (ps->del_before)
		o->delete_mode = OCE_DEL_BEFORE;
	else if (ps->del_during)
		o->delete_mode = ps->del_during == 2 ? OCE_DEL_DELAY : OCE_DEL_DURING;
	else if (ps->del_after)
		o->delete_mode = OCE_DEL_AFTER;
	else if (ps->del_plain || o->delete_excluded) {
		/* The peer is told "--delete"; protocol 30+ means during. */
		o->delete_plain = true;
		o->delete_mode = OCE_DEL_DURING;
	}
	if (o->delete_mode && !o->dirs) {
		oce__say("--delete does not work without --recursive (-r) or --dirs (-d).");
		return FAIL(ps, RERR_SYNTAX);
	}
	if ((r = settle_backup(ps)) != OCE_PARSE_RUN)
		return r;
	if ((r = settle_output(ps)) != OCE_PARSE_RUN)
		return r;

	if (o->append) {
		if (o->whole_file > 0) {
			oce__say("--append cannot be used with --whole-file");
			return FAIL(ps, RERR_SYNTAX);
		}
		o->inplace = true;
	}
	if (o->inplace) {
		if (o->partial_dir) {
			oce__say("--%s cannot be used with --partial-dir",
				 o->append ? "append" : "inplace");
			return FAIL(ps, RERR_SYNTAX);
		}
		o->partial = false; /* in-place writing keeps partial data anyway */
	} else {
		const char *env = getenv("RSYNC_PARTIAL_DIR");

		if (o->partial && !o->partial_dir && !o->server && env && *env &&
		    set_str(&o->partial_dir, env))
			return no_memory(ps);
		if (o->partial_dir) {
			if (*o->partial_dir)
				oce__clean_dir(o->partial_dir);
			if (!*o->partial_dir || strcmp(o->partial_dir, ".") == 0)
				set_str(&o->partial_dir, NULL);
			o->partial = true;
		}
	}

	if (o->files_from) {
		const char *path;
		char *host = NULL;
		int hs;

		if (o->args.n > 2 || (!o->server && o->args.n == 1)) {
			oce_print_usage(stderr);
			return FAIL(ps, RERR_SYNTAX);
		}
		hs = strcmp(o->files_from, "-") ? oce__split_hostspec(o->files_from, &host, &path)
						: 0;
		if (hs < 0)
			return no_memory(ps);
		if (hs > 0) {
			char *p = strdup(path);

			if (!p) {
				free(host);
				return no_memory(ps);
			}
			free(o->files_from);
			o->files_from = p;
			o->filesfrom_host = host;
			if (o->server) {
				oce__say(
				    "The --files-from sent to the server cannot specify a host.");
				return FAIL(ps, RERR_SYNTAX);
			}
			if (strcmp(o->files_from, "-") == 0) {
				oce__say("Invalid --files-from remote filename");
				return FAIL(ps, RERR_SYNTAX);
			}
		}
	}

	/* The 'e' of a server's option cluster carries the client's capabilities. */
	if (o->server && o->rsh) {
		char *cluster;
		int rc;

		if (asprintf(&cluster, "-e%s", o->rsh) < 0)
			return no_memory(ps);
		rc = ocp_caps_parse(cluster, &o->caps);
		free(cluster);
		o->caps_seen = rc == 0;
		set_str(&o->rsh, NULL);
	}
	return OCE_PARSE_RUN;
}

bool
oce_opts_compress_requested(const struct oce_opts *o)
{
	if (o->compress_choice)
		return strcasecmp(o->compress_choice, "none") != 0;
	return o->compress > 0 || o->compress_level_set;
}

enum oce_parse_result
oce_opts_parse(struct oce_opts *o, int argc, char **argv, int *exit_code)
{
	struct pstate ps = {
	    .o = o,
	    .argc = argc,
	    .argv = argv,
	    .xfer_dirs = -1,
	    .relative = -1,
	};
	enum oce_parse_result r = OCE_PARSE_RUN;
	int opt;

	oce_opts_init(o);
	*exit_code = 0;
	if (argc < 1) {
		oce__say("argc is zero!");
		r = FAIL(&ps, RERR_SYNTAX);
		goto out;
	}
	/*
	 * popt gives an optional argument the next word when "=" is missing,
	 * so `--reflink SRC DST` would read SRC as WHEN: a bare --reflink
	 * (before any "--") means auto, as cp's does.
	 */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--reflink"))
			argv[i] = (char *)"--reflink=auto";
	ps.pc = poptGetContext(OCE_PROG, argc, (const char **)argv, oce__long_options, 0);
	if (!ps.pc) {
		r = no_memory(&ps);
		goto out;
	}
	while ((opt = poptGetNextOpt(ps.pc)) != -1) {
		char *arg;

		if (opt < 0) {
			r = popt_fail(&ps, opt);
			goto out;
		}
		if (opt == OPT_DAEMON) {
			free(poptGetOptArg(ps.pc));
			poptFreeContext(ps.pc);
			r = parse_daemon(&ps);
			goto out;
		}
		arg = poptGetOptArg(ps.pc);
		r = handle_opt(&ps, opt, arg ? arg : "");
		free(arg);
		if (r != OCE_PARSE_RUN)
			goto out;
	}
	r = settle(&ps);
out:
	if (ps.pc)
		poptFreeContext(ps.pc);
	if (r == OCE_PARSE_ERROR)
		*exit_code = ps.exit_code ? ps.exit_code : RERR_SYNTAX;
	return r;
}
