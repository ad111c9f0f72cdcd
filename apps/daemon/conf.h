/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rsyncd.conf for the future oc-rsyncd: a sans-I/O parser that turns the
 * text of a config file (and the files its &include / &merge directives
 * name, read through caller-supplied file operations) into an immutable
 * snapshot. Mirrors upstream params.c (the lexer: sections, `name = value`,
 * comments, trailing-backslash continuation) and loadparm.c (the parameter
 * table, the global defaults copied into each module when it is opened,
 * the ]push/]pop scoping of &include).
 *
 * Snapshot model: everything a parsed config holds (module array, strings)
 * lives in one arena owned by the struct oce_dconf; oce_dconf_free() releases
 * it whole. A snapshot is never written after oce_dconf_parse*() returns, so
 * any number of threads may read it at once; a SIGHUP reload builds a new
 * one and swaps a pointer (e.g. rcu_xchg_pointer), freeing the old after a
 * grace period.
 *
 * %VAR% references are kept verbatim: upstream expands them when a value is
 * used, with the connection's environment, which is not this module's job.
 *
 * Concurrency: parsing is reentrant (no global state); a snapshot is
 * read-only and may be shared freely.
 */
#ifndef OCE_DAEMON_CONF_H
#define OCE_DAEMON_CONF_H

#include <stdbool.h>
#include <stddef.h>

/* A yes/no/unset parameter (upstream BOOL3). */
#define OCE_DCONF_UNSET (-1)

/* Parameters per module; the global section sets their defaults. */
struct oce_dmodule {
	const char *name;
	/*
	 * strings: a module's own value, else the global default as it stood
	 * at the end of the file (upstream lp_*() reads it then), else NULL
	 * (upstream's lp_*() would give "")
	 */
	const char *path;
	const char *temp_dir;
	const char *comment;
	const char *lock_file;
	const char *auth_users;
	const char *auth_digest;
	const char *secrets_file;
	const char *hosts_allow;
	const char *hosts_deny;
	const char *refuse_options;
	const char *exclude;
	const char *include;
	const char *filter;
	const char *exclude_from;
	const char *include_from;
	const char *incoming_chmod;
	const char *outgoing_chmod;
	const char *log_file;
	const char *log_format;
	const char *dont_compress;
	const char *pre_xfer_exec;
	const char *post_xfer_exec;
	const char *early_exec;
	const char *name_converter;
	const char *charset;
	const char *syslog_tag;
	const char *uid;
	const char *gid;
	int max_connections;
	int max_verbosity;
	int timeout;
	int syslog_facility;
	/* 0 = adaptive (the default), else a fixed count */
	int transfer_worker_threads;
	bool read_only;
	bool write_only;
	bool list;
	bool strict_modes;
	bool transfer_logging;
	bool forward_lookup;
	bool reverse_lookup;
	bool ignore_errors;
	bool ignore_nonreadable;
	bool fake_super;
	bool insecure_links;
	/* OCE_DCONF_UNSET, 0 or 1 */
	int use_chroot;
	int munge_symlinks;
	int numeric_ids;
	int open_noatime;
};

/* Daemon-wide parameters (upstream's Globals). */
struct oce_dglobals {
	const char *address;
	const char *daemon_chroot;
	const char *daemon_uid;
	const char *daemon_gid;
	const char *motd_file;
	const char *pid_file;
	const char *socket_options;
	const char *proxy_protocol_hosts;
	int listen_backlog; /* ours: 1024 by default (upstream 5) */
	int port;	    /* 0: the default 873 */
	bool proxy_protocol;
};

struct oce_dconf_arena;

/* A parsed config: immutable once returned. Fields are read directly. */
struct oce_dconf {
	struct oce_dconf_arena *arena;
	struct oce_dglobals g;
	/* the global section's module defaults (upstream lp_*(-1)) */
	struct oce_dmodule defaults;
	const struct oce_dmodule *modules;
	size_t n_modules;
};

/* Log callback: one line of text without '\n', upstream's FLOG wording. */
typedef void (*oce_dconf_log_fn)(void *ctx, const char *line);

/*
 * File operations for &include / &merge and oce_dconf_load(). read gives a
 * malloc'd buffer (*len bytes, caller frees) or a negative errno; kind gives
 * 'f' (regular), 'd' (directory), '?' (other) or a negative errno; list
 * gives the names in a directory as a malloc'd array of malloc'd strings.
 */
struct oce_dconf_fs {
	int (*read)(void *ctx, const char *path, char **buf, size_t *len);
	int (*kind)(void *ctx, const char *path);
	int (*list)(void *ctx, const char *dir, char ***names, size_t *n);
	void *ctx;
};

/* Plain POSIX file operations (open/read, stat, readdir). */
extern const struct oce_dconf_fs oce_dconf_posix_fs;

struct oce_dconf_opts {
	const struct oce_dconf_fs *fs; /* NULL: &include/&merge fail */
	oce_dconf_log_fn log;	       /* NULL: messages dropped */
	void *log_ctx;
	/* --dparam overrides, "name=value", applied when the global section ends */
	const char *const *dparams;
	size_t n_dparams;
};

/* How deep &include / &merge may nest (upstream has no bound). */
#define OCE_DCONF_INCLUDE_DEPTH 16

/*
 * Parse text[0..len) as rsyncd.conf; name is used to resolve nothing but
 * appears in messages. On success *out owns a new snapshot. Returns 0,
 * -EINVAL when upstream's pm_process() would fail (empty or unterminated
 * section name, a '/' in a module name, an empty parameter name, a failed
 * or unknown directive), -ENOMEM.
 */
int oce_dconf_parse(const char *name, const char *text, size_t len,
		    const struct oce_dconf_opts *opts, struct oce_dconf **out);
/* Read path through opts->fs and parse it; also -errno from the read. */
int oce_dconf_load(const char *path, const struct oce_dconf_opts *opts, struct oce_dconf **out);
/* Release a snapshot and everything in it (NULL is fine). */
void oce_dconf_free(struct oce_dconf *cfg);

/*
 * The module named exactly name (case-sensitive, as upstream lp_number()),
 * or NULL.
 */
const struct oce_dmodule *oce_dconf_module(const struct oce_dconf *cfg, const char *name);

/*
 * Case-insensitive comparison that ignores all whitespace, as upstream
 * strwiEQ() (parameter and section names). Underscores are NOT ignored.
 */
bool oce_dconf_name_eq(const char *a, const char *b);

/*
 * Parse a boolean as upstream set_boolean(): yes/true/1, no/false/0 (and,
 * when allow_unset, unset/-1 -> OCE_DCONF_UNSET). Returns 0, 1, -1 or -EINVAL.
 */
int oce_dconf_parse_bool(const char *v, bool allow_unset);

/*
 * Split a list the way upstream conf_strtok() does: on whitespace and
 * commas, or on commas alone (trimming blanks) when the list starts with a
 * comma. Calls fn for each non-empty token (NUL-terminated copy); stops and
 * returns fn's value when non-zero. Returns 0 or -ENOMEM.
 */
int oce_dconf_tokens(const char *list, int (*fn)(void *ctx, const char *tok), void *ctx);

/* rsync 3.5.0's default "dont compress" list. */
extern const char oce_dconf_default_dont_compress[];

#endif /* OCE_DAEMON_CONF_H */
