/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rsyncd.conf parameters (conf.h): upstream loadparm.c's table and rules on
 * top of the lexer in params.c, building an arena-backed snapshot.
 *
 * As upstream: parameters before any module (or in a [global] section) set
 * the globals and the module defaults; a module copies the defaults when it
 * is first opened, so a default changed after a module does not reach it,
 * except that a string the module never had (NULL then and not set by it)
 * reads as the final default; a module named again is continued, not replaced; &include scopes what
 * its file sets (push before, pop after) and leaves the parser in the global section; &merge does
 * not scope.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "apps/daemon/arena.h"
#include "apps/daemon/conf.h"
#include "apps/daemon/conf_priv.h"
#include "ocproto/filter.h"

const char oce_dconf_default_dont_compress[] =
    "*.3g2 *.3gp *.7z *.aac *.ace *.apk *.avi *.bz2 *.deb *.dmg *.ear *.f4v *.flac *.flv "
    "*.gpg *.gz *.iso *.jar *.jpeg *.jpg *.lrz *.lz *.lz4 *.lzma *.lzo *.m1a *.m1v *.m2a "
    "*.m2ts *.m2v *.m4a *.m4b *.m4p *.m4r *.m4v *.mka *.mkv *.mov *.mp1 *.mp2 *.mp3 *.mp4 "
    "*.mpa *.mpeg *.mpg *.mpv *.mts *.odb *.odf *.odg *.odi *.odm *.odp *.ods *.odt *.oga "
    "*.ogg *.ogm *.ogv *.ogx *.opus *.otg *.oth *.otp *.ots *.ott *.oxt *.png *.qt *.rar "
    "*.rpm *.rz *.rzip *.spx *.squashfs *.sxc *.sxd *.sxg *.sxm *.sxw *.sz *.tbz *.tbz2 "
    "*.tgz *.tlz *.ts *.txz *.tzo *.vob *.war *.webm *.webp *.xz *.z *.zip *.zst";

enum ptype { P_STRING, P_PATH, P_INT, P_BOOL, P_BOOL3, P_ENUM, P_WORKERS };

struct parm {
	const char *label;
	enum ptype type;
	bool global;
	size_t off;
};

#define G(l, t, f)                                                                                 \
	{                                                                                          \
		l, t, true, offsetof(struct oce_dglobals, f)                                       \
	}
#define L(l, t, f)                                                                                 \
	{                                                                                          \
		l, t, false, offsetof(struct oce_dmodule, f)                                       \
	}

/* Upstream's names (daemon-parm.txt, '_' shown as ' '), then ours. */
static const struct parm parms[] = {
    G("address", P_STRING, address),
    G("daemon chroot", P_STRING, daemon_chroot),
    G("daemon gid", P_STRING, daemon_gid),
    G("daemon uid", P_STRING, daemon_uid),
    G("motd file", P_STRING, motd_file),
    G("pid file", P_STRING, pid_file),
    G("proxy protocol hosts", P_STRING, proxy_protocol_hosts),
    G("socket options", P_STRING, socket_options),
    G("listen backlog", P_INT, listen_backlog),
    G("port", P_INT, port),
    G("proxy protocol", P_BOOL, proxy_protocol),
    L("auth digest", P_STRING, auth_digest),
    L("auth users", P_STRING, auth_users),
    L("charset", P_STRING, charset),
    L("comment", P_STRING, comment),
    L("dont compress", P_STRING, dont_compress),
    L("early exec", P_STRING, early_exec),
    L("exclude", P_STRING, exclude),
    L("exclude from", P_STRING, exclude_from),
    L("filter", P_STRING, filter),
    L("gid", P_STRING, gid),
    L("hosts allow", P_STRING, hosts_allow),
    L("hosts deny", P_STRING, hosts_deny),
    L("include", P_STRING, include),
    L("include from", P_STRING, include_from),
    L("incoming chmod", P_STRING, incoming_chmod),
    L("lock file", P_STRING, lock_file),
    L("log file", P_STRING, log_file),
    L("log format", P_STRING, log_format),
    L("name", P_STRING, name),
    L("name converter", P_STRING, name_converter),
    L("outgoing chmod", P_STRING, outgoing_chmod),
    L("post-xfer exec", P_STRING, post_xfer_exec),
    L("pre-xfer exec", P_STRING, pre_xfer_exec),
    L("refuse options", P_STRING, refuse_options),
    L("secrets file", P_STRING, secrets_file),
    L("syslog tag", P_STRING, syslog_tag),
    L("uid", P_STRING, uid),
    L("path", P_PATH, path),
    L("temp dir", P_PATH, temp_dir),
    L("max connections", P_INT, max_connections),
    L("max verbosity", P_INT, max_verbosity),
    L("timeout", P_INT, timeout),
    L("syslog facility", P_ENUM, syslog_facility),
    L("fake super", P_BOOL, fake_super),
    L("forward lookup", P_BOOL, forward_lookup),
    L("ignore errors", P_BOOL, ignore_errors),
    L("ignore nonreadable", P_BOOL, ignore_nonreadable),
    L("insecure links", P_BOOL, insecure_links),
    L("list", P_BOOL, list),
    L("read only", P_BOOL, read_only),
    L("reverse lookup", P_BOOL, reverse_lookup),
    L("strict modes", P_BOOL, strict_modes),
    L("transfer logging", P_BOOL, transfer_logging),
    L("write only", P_BOOL, write_only),
    L("munge symlinks", P_BOOL3, munge_symlinks),
    L("numeric ids", P_BOOL3, numeric_ids),
    L("open noatime", P_BOOL3, open_noatime),
    L("use chroot", P_BOOL3, use_chroot),
    L("transfer-worker-threads", P_WORKERS, transfer_worker_threads),
};

static const struct {
	const char *name;
	int value;
} facilities[] = {
    {"auth", LOG_AUTH},	    {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
    {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},		{"kern", LOG_KERN},
    {"lpr", LOG_LPR},	    {"mail", LOG_MAIL},		{"news", LOG_NEWS},
    {"security", LOG_AUTH}, {"syslog", LOG_SYSLOG},	{"user", LOG_USER},
    {"uucp", LOG_UUCP},	    {"local0", LOG_LOCAL0},	{"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},	{"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},	{"local7", LOG_LOCAL7},
};

/* What one global-section state holds: upstream's all_vars. */
struct vars {
	struct oce_dglobals g;
	struct oce_dmodule l;
};

struct loader {
	struct oce_dconf_arena *arena;
	const struct oce_dconf_opts *opts;
	struct vars vars;
	struct vars *stack;
	size_t n_stack, cap_stack;
	struct oce_dmodule *mods;
	size_t n_mods, cap_mods;
	size_t cur;
	bool in_global;
	bool dparams_done;
	int depth;
	int err; /* first -ENOMEM */
};

static void
set_defaults(struct vars *v)
{
	memset(v, 0, sizeof(*v));
	v->g.listen_backlog = 1024;
	v->l.dont_compress = oce_dconf_default_dont_compress;
	v->l.lock_file = "/var/run/rsyncd.lock";
	v->l.log_format = "%o %h [%a] %m (%u) %f %l";
	v->l.syslog_tag = "rsyncd";
	v->l.max_verbosity = 1;
	v->l.syslog_facility = LOG_DAEMON;
	v->l.forward_lookup = true;
	v->l.list = true;
	v->l.read_only = true;
	v->l.reverse_lookup = true;
	v->l.strict_modes = true;
	v->l.munge_symlinks = OCE_DCONF_UNSET;
	v->l.numeric_ids = OCE_DCONF_UNSET;
	v->l.open_noatime = OCE_DCONF_UNSET;
	v->l.use_chroot = OCE_DCONF_UNSET;
}

static void
vsay(struct loader *ld, const char *fmt, va_list ap)
{
	char line[1024];

	if (!ld->opts->log)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	ld->opts->log(ld->opts->log_ctx, line);
}

static void say(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lex_say(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(ld, fmt, ap);
	va_end(ap);
}

static void
lex_say(void *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(ctx, fmt, ap);
	va_end(ap);
}

static bool
ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static char
up(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

bool
oce_dconf_name_eq(const char *a, const char *b)
{
	if (a == b)
		return true;
	if (!a || !b)
		return false;
	for (;;) {
		while (ws(*a))
			a++;
		while (ws(*b))
			b++;
		if (!*a || !*b || up(*a) != up(*b))
			break;
		a++;
		b++;
	}
	return *a == *b;
}

int
oce_dconf_parse_bool(const char *v, bool allow_unset)
{
	if (oce_dconf_name_eq(v, "yes") || oce_dconf_name_eq(v, "true") ||
	    oce_dconf_name_eq(v, "1"))
		return 1;
	if (oce_dconf_name_eq(v, "no") || oce_dconf_name_eq(v, "false") ||
	    oce_dconf_name_eq(v, "0"))
		return 0;
	if (allow_unset && (oce_dconf_name_eq(v, "unset") || oce_dconf_name_eq(v, "-1")))
		return OCE_DCONF_UNSET;
	return -EINVAL;
}

/* atoi() without its undefined overflow: clamp to int. */
static int
to_int(const char *s)
{
	long v = strtol(s, NULL, 10);

	if (v > INT_MAX)
		return INT_MAX;
	if (v < INT_MIN)
		return INT_MIN;
	return (int)v;
}

static int
map_parameter(struct loader *ld, const char *name)
{
	size_t i;

	if (*name == '-')
		return -1;
	for (i = 0; i < sizeof(parms) / sizeof(parms[0]); i++) {
		if (oce_dconf_name_eq(parms[i].label, name))
			return (int)i;
	}
	say(ld, "Unknown Parameter encountered: \"%s\"", name);
	return -1;
}

static const char *
dup_str(struct loader *ld, const char *s, size_t len)
{
	const char *p = oce_arena_strndup(ld->arena, s, len);

	if (!p && !ld->err)
		ld->err = -ENOMEM;
	return p;
}

static void
set_value(struct loader *ld, const struct parm *pm, char *base, const char *value)
{
	void *ptr = base + pm->off;
	size_t len, i;
	int b;

	switch (pm->type) {
	case P_STRING:
		*(const char **)ptr = dup_str(ld, value, strlen(value));
		break;
	case P_PATH:
		len = strlen(value);
		while (len > 1 && value[len - 1] == '/')
			len--;
		*(const char **)ptr = dup_str(ld, value, len);
		break;
	case P_INT:
		*(int *)ptr = to_int(value);
		break;
	case P_BOOL:
	case P_BOOL3:
		b = oce_dconf_parse_bool(value, pm->type == P_BOOL3);
		if (b == -EINVAL) {
			say(ld, "Badly formed boolean in configuration file: \"%s\".", value);
			break;
		}
		if (pm->type == P_BOOL)
			*(bool *)ptr = b;
		else
			*(int *)ptr = b;
		break;
	case P_ENUM:
		for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
			if (!strcasecmp(value, facilities[i].name)) {
				*(int *)ptr = facilities[i].value;
				return;
			}
		}
		if (to_int(value) > 0)
			*(int *)ptr = to_int(value);
		break;
	case P_WORKERS:
		if (!strcasecmp(value, "adaptive")) {
			*(int *)ptr = 0;
		} else {
			char *end;
			long n = strtol(value, &end, 10);

			if (end == value || *end || n < 1 || n > 4096)
				say(ld,
				    "Badly formed transfer-worker-threads in configuration "
				    "file: \"%s\" (adaptive or 1..4096).",
				    value);
			else
				*(int *)ptr = (int)n;
		}
		break;
	}
}

static bool
do_parameter(void *ctx, const char *name, const char *value)
{
	struct loader *ld = ctx;
	const struct parm *pm;
	char *base;
	int n = map_parameter(ld, name);

	if (n < 0) {
		say(ld, "IGNORING unknown parameter \"%s\"", name);
		return true;
	}
	pm = &parms[n];
	if (ld->in_global) {
		base = pm->global ? (char *)&ld->vars.g : (char *)&ld->vars.l;
	} else {
		if (pm->global) {
			say(ld, "Global parameter %s found in module section!", name);
			return true;
		}
		base = (char *)&ld->mods[ld->cur];
	}
	set_value(ld, pm, base, value);
	return !ld->err;
}

/* --dparam values, "name=value" with blanks after the '=' skipped. */
static void
apply_dparams(struct loader *ld)
{
	size_t j;

	ld->dparams_done = true;
	for (j = 0; j < ld->opts->n_dparams && !ld->err; j++) {
		const char *p = ld->opts->dparams[j], *eq = strchr(p, '=');
		char name[256];

		if (!eq || (size_t)(eq - p) >= sizeof(name))
			continue;
		memcpy(name, p, (size_t)(eq - p));
		name[eq - p] = '\0';
		for (eq++; ws(*eq); eq++)
			;
		do_parameter(ld, name, eq);
	}
}

static bool
do_section(void *ctx, const char *name)
{
	struct loader *ld = ctx;
	bool isglobal = oce_dconf_name_eq(name, "global");
	size_t i;

	if (ld->in_global && !isglobal && ld->n_mods == 0 && !ld->dparams_done)
		apply_dparams(ld);
	ld->in_global = isglobal;
	if (isglobal)
		return !ld->err;
	if (strchr(name, '/')) {
		say(ld, "Warning: invalid section name in configuration file: %s", name);
		return false;
	}
	for (i = ld->n_mods; i-- > 0;) {
		if (oce_dconf_name_eq(ld->mods[i].name, name)) {
			ld->cur = i;
			return true;
		}
	}
	if (ld->n_mods == ld->cap_mods) {
		size_t cap = ld->cap_mods ? ld->cap_mods * 2 : 8;
		struct oce_dmodule *m = realloc(ld->mods, cap * sizeof(*m));

		if (!m) {
			ld->err = -ENOMEM;
			return false;
		}
		ld->mods = m;
		ld->cap_mods = cap;
	}
	ld->mods[ld->n_mods] = ld->vars.l;
	ld->mods[ld->n_mods].name = dup_str(ld, name, strlen(name));
	ld->cur = ld->n_mods++;
	return !ld->err;
}

/* The ]push / ]pop / ]reset that upstream's include_config() sends. */
static bool
vars_push(struct loader *ld)
{
	ld->in_global = true;
	if (ld->n_stack == ld->cap_stack) {
		size_t cap = ld->cap_stack ? ld->cap_stack * 2 : 4;
		struct vars *s = realloc(ld->stack, cap * sizeof(*s));

		if (!s) {
			ld->err = -ENOMEM;
			return false;
		}
		ld->stack = s;
		ld->cap_stack = cap;
	}
	ld->stack[ld->n_stack++] = ld->vars;
	return true;
}

static void
vars_restore(struct loader *ld, bool pop)
{
	ld->in_global = true;
	ld->vars = ld->stack[ld->n_stack - 1];
	if (pop)
		ld->n_stack--;
}

static int parse_text(struct loader *ld, const char *text, size_t len);

/* One included file; upstream pm_process() on it. */
static int
process_file(struct loader *ld, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = ld->opts->fs->read(ld->opts->fs->ctx, path, &buf, &len);
	if (rc < 0) {
		say(ld, "unable to open config file \"%s\": %s (%d)", path, strerror(-rc), -rc);
		return 0;
	}
	rc = parse_text(ld, buf, len);
	free(buf);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **names, size_t n)
{
	size_t j;

	for (j = 0; j < n; j++)
		free(names[j]);
	free(names);
}

/* A directory: its *.conf (include) or *.inc (merge) files in name order. */
static int
process_dir(struct loader *ld, const char *dir, bool scoped)
{
	const char *match = scoped ? "*.conf" : "*.inc";
	const struct oce_dconf_fs *fs = ld->opts->fs;
	char **names = NULL, **paths;
	size_t n = 0, k = 0, j;
	size_t dlen = strlen(dir);
	int rc;

	rc = fs->list(fs->ctx, dir, &names, &n);
	if (rc < 0) {
		say(ld, "unable to open config dir \"%s\": %s (%d)", dir, strerror(-rc), -rc);
		return 0;
	}
	paths = calloc(n ? n : 1, sizeof(*paths));
	if (!paths) {
		free_names(names, n);
		ld->err = -ENOMEM;
		return 0;
	}
	for (j = 0; j < n; j++) {
		size_t nl = strlen(names[j]);
		bool slash = dlen && dir[dlen - 1] == '/';

		if (!ocp_wildmatch(match, names[j]))
			continue;
		paths[k] = malloc(dlen + nl + 2);
		if (!paths[k]) {
			ld->err = -ENOMEM;
			break;
		}
		memcpy(paths[k], dir, dlen);
		if (!slash)
			paths[k][dlen] = '/';
		memcpy(paths[k] + dlen + !slash, names[j], nl + 1);
		k++;
	}
	free_names(names, n);
	if (ld->err) {
		free_names(paths, k);
		return 0;
	}
	if (k > 1)
		qsort(paths, k, sizeof(*paths), name_cmp);
	rc = 1;
	for (j = 0; j < k; j++) {
		if (scoped && j == 0 && !vars_push(ld)) {
			rc = 0;
			break;
		}
		if (scoped && j > 0)
			vars_restore(ld, false);
		rc = process_file(ld, paths[j]);
		if (rc != 1)
			break;
	}
	if (scoped && k && !ld->err)
		vars_restore(ld, true);
	free_names(paths, k);
	return rc;
}

static int
do_directive(void *ctx, const char *name, const char *value)
{
	struct loader *ld = ctx;
	bool scoped;
	int kind, rc;

	if (!strcasecmp(name, "&include"))
		scoped = true;
	else if (!strcasecmp(name, "&merge"))
		scoped = false;
	else {
		say(ld, "Unknown directive: %s.", name);
		return 0;
	}
	if (!ld->opts->fs) {
		say(ld, "unable to stat config file \"%s\": %s (%d)", value, strerror(ENOSYS),
		    ENOSYS);
		return 0;
	}
	if (ld->depth >= OCE_DCONF_INCLUDE_DEPTH) {
		say(ld, "config file \"%s\": %s nested too deeply", value, name);
		return 0;
	}
	kind = ld->opts->fs->kind(ld->opts->fs->ctx, value);
	if (kind < 0) {
		say(ld, "unable to stat config file \"%s\": %s (%d)", value, strerror(-kind),
		    -kind);
		return 0;
	}
	ld->depth++;
	if (kind == 'f') {
		if (scoped && !vars_push(ld)) {
			rc = 0;
		} else {
			rc = process_file(ld, value);
			if (scoped)
				vars_restore(ld, true);
		}
	} else if (kind == 'd') {
		rc = process_dir(ld, value, scoped);
	} else {
		rc = 0;
	}
	ld->depth--;
	return ld->err ? 0 : rc;
}

static int
parse_text(struct loader *ld, const char *text, size_t len)
{
	const struct oce__dlex_ops ops = {
	    .section = do_section,
	    .param = do_parameter,
	    .directive = do_directive,
	    .log = lex_say,
	    .ctx = ld,
	};
	int rc = oce__dlex_run(text, len, &ops);

	if (rc < 0 && !ld->err)
		ld->err = rc;
	if (rc == 0 && !ld->err)
		say(ld, "params.c:pm_process() - Failed.  Error returned from params.c:parse().");
	return rc;
}

/*
 * A string a module never set reads as the global default at the end of
 * the file, not the one when the module opened: upstream's lp_*(i) falls
 * back to Vars.l whenever the module's own value is NULL.
 */
static void
inherit_strings(struct oce_dmodule *m, const struct oce_dmodule *defaults)
{
	for (size_t i = 0; i < sizeof(parms) / sizeof(parms[0]); i++) {
		const struct parm *pm = &parms[i];
		const char **dst = (const char **)((char *)m + pm->off);

		if (pm->global || (pm->type != P_STRING && pm->type != P_PATH))
			continue;
		if (!*dst)
			*dst = *(const char *const *)((const char *)defaults + pm->off);
	}
}

static const struct oce_dconf_opts no_opts;

int
oce_dconf_parse(const char *name, const char *text, size_t len, const struct oce_dconf_opts *opts,
		struct oce_dconf **out)
{
	struct loader ld = {.opts = opts ? opts : &no_opts, .in_global = true};
	struct oce_dconf *cfg = NULL;
	struct oce_dmodule *mods;
	int rc;

	(void)name;
	*out = NULL;
	set_defaults(&ld.vars);
	ld.arena = oce_arena_new();
	if (!ld.arena)
		return -ENOMEM;
	rc = parse_text(&ld, text, len);
	if (!ld.err && rc == 1 && !ld.dparams_done)
		apply_dparams(&ld);
	if (ld.err) {
		rc = ld.err;
		goto fail;
	}
	if (rc != 1) {
		rc = -EINVAL;
		goto fail;
	}
	cfg = oce_arena_alloc(ld.arena, sizeof(*cfg));
	mods = oce_arena_alloc(ld.arena, (ld.n_mods ? ld.n_mods : 1) * sizeof(*mods));
	if (!cfg || !mods) {
		rc = -ENOMEM;
		goto fail;
	}
	if (ld.n_mods)
		memcpy(mods, ld.mods, ld.n_mods * sizeof(*mods));
	for (size_t i = 0; i < ld.n_mods; i++)
		inherit_strings(&mods[i], &ld.vars.l);
	cfg->arena = ld.arena;
	cfg->g = ld.vars.g;
	cfg->defaults = ld.vars.l;
	cfg->modules = mods;
	cfg->n_modules = ld.n_mods;
	free(ld.mods);
	free(ld.stack);
	*out = cfg;
	return 0;
fail:
	free(ld.mods);
	free(ld.stack);
	oce_arena_free(ld.arena);
	return rc;
}

int
oce_dconf_load(const char *path, const struct oce_dconf_opts *opts, struct oce_dconf **out)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!opts || !opts->fs)
		return -EINVAL;
	rc = opts->fs->read(opts->fs->ctx, path, &buf, &len);
	if (rc < 0)
		return rc;
	rc = oce_dconf_parse(path, buf, len, opts, out);
	free(buf);
	return rc;
}

void
oce_dconf_free(struct oce_dconf *cfg)
{
	if (cfg)
		oce_arena_free(cfg->arena);
}

const struct oce_dmodule *
oce_dconf_module(const struct oce_dconf *cfg, const char *name)
{
	size_t i;

	for (i = cfg->n_modules; i-- > 0;) {
		if (!strcmp(cfg->modules[i].name, name))
			return &cfg->modules[i];
	}
	return NULL;
}

int
oce_dconf_tokens(const char *list, int (*fn)(void *ctx, const char *tok), void *ctx)
{
	char *copy, *p, *tok, *save = NULL;
	int rc = 0;

	if (!list)
		return 0;
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	p = copy;
	while (ws(*p))
		p++;
	if (*p == ',') {
		for (tok = strtok_r(p + 1, ",", &save); tok && !rc;
		     tok = strtok_r(NULL, ",", &save)) {
			char *e;

			while (ws(*tok))
				tok++;
			e = tok + strlen(tok);
			while (e > tok && ws(e[-1]))
				*--e = '\0';
			if (*tok)
				rc = fn(ctx, tok);
		}
	} else {
		for (tok = strtok_r(p, " ,\t\r\n", &save); tok && !rc;
		     tok = strtok_r(NULL, " ,\t\r\n", &save))
			rc = fn(ctx, tok);
	}
	free(copy);
	return rc;
}
