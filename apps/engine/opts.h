/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The option model of oc-rsync (upstream options.c): every option the
 * client and the --server side understand, parsed with libpopt from a
 * table that mirrors rsync's (short clusters, --no-OPTION, -a expansion,
 * --info/--debug flags), plus the builder of the server argument vector
 * that a client sends to its remote side (upstream server_options()).
 *
 * An option rsync has and we do not implement is parsed and refused with
 * "not supported" (exit RERR_SYNTAX), never ignored.
 *
 * Ownership: a struct oce_opts owns every string and array it points to;
 * oce_opts_free() releases them. Concurrency: none; parse once at start,
 * then the struct is read-only and may be shared by every thread.
 */
#ifndef OCE_OPTS_H
#define OCE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Whether the engine carries out --inplace and --append/--append-verify.
 * The one switch for both the refusal in client.c (unsupported_option())
 * and the -VV capability list, so the two never disagree: set to 1 when
 * the receiver implements the mode.
 */
#define OCE_CAN_INPLACE 1
#define OCE_CAN_APPEND	1

/* --info categories (upstream options.c info_words), in upstream's order. */
enum oce_info {
	OCE_INFO_BACKUP,
	OCE_INFO_COPY,
	OCE_INFO_DEL,
	OCE_INFO_FLIST,
	OCE_INFO_MISC,
	OCE_INFO_MOUNT,
	OCE_INFO_NAME,
	OCE_INFO_NONREG,
	OCE_INFO_PROGRESS,
	OCE_INFO_REMOVE,
	OCE_INFO_SKIP,
	OCE_INFO_STATS,
	OCE_INFO_SYMSAFE,
	OCE_INFO_COUNT
};

/* --debug categories (upstream options.c debug_words), in upstream's order. */
enum oce_debug {
	OCE_DEBUG_ACL,
	OCE_DEBUG_BACKUP,
	OCE_DEBUG_BIND,
	OCE_DEBUG_CHDIR,
	OCE_DEBUG_CONNECT,
	OCE_DEBUG_CMD,
	OCE_DEBUG_DEL,
	OCE_DEBUG_DELTASUM,
	OCE_DEBUG_DUP,
	OCE_DEBUG_EXIT,
	OCE_DEBUG_FILTER,
	OCE_DEBUG_FLIST,
	OCE_DEBUG_FUZZY,
	OCE_DEBUG_GENR,
	OCE_DEBUG_HASH,
	OCE_DEBUG_HLINK,
	OCE_DEBUG_ICONV,
	OCE_DEBUG_IO,
	OCE_DEBUG_NSTR,
	OCE_DEBUG_OWN,
	OCE_DEBUG_PROTO,
	OCE_DEBUG_RECV,
	OCE_DEBUG_SEND,
	OCE_DEBUG_TIME,
	OCE_DEBUG_COUNT
};

/* When deletions happen (upstream delete_before/during/after/delay). */
enum oce_delete {
	OCE_DEL_NONE = 0,
	OCE_DEL_BEFORE,
	OCE_DEL_DURING,
	OCE_DEL_DELAY,
	OCE_DEL_AFTER,
};

/* Kind of the alternate-basis directories (upstream alt_dest_type). */
enum oce_altdest {
	OCE_ALT_NONE = 0,
	OCE_ALT_COMPARE, /* --compare-dest */
	OCE_ALT_COPY,	 /* --copy-dest */
	OCE_ALT_LINK,	 /* --link-dest */
};

#define OCE_MAX_ALT_DEST 20 /* upstream MAX_BASIS_DIRS */

/* A growable list of owned strings. */
struct oce_strv {
	char **v;
	size_t n;
};

struct oce_opts {
	/* what the user sees */
	int verbose;		 /* -v count */
	int quiet;		 /* -q count */
	int itemize;		 /* -i count */
	char *out_format;	 /* --out-format (NULL: none) */
	bool stats;		 /* --stats */
	bool progress;		 /* --progress */
	int human;		 /* upstream human_readable: 1 by default, +1 per -h, --no-h 0 */
	uint8_t info[OCE_INFO_COUNT];   /* levels after -v, --info, --stats... */
	uint8_t debug[OCE_DEBUG_COUNT]; /* levels after --debug */
	uint32_t info_user;	 /* bit (1u << OCE_INFO_*) for each level --info set: these go to the server */
	bool debug_user;	 /* --debug set a level */

	/* what is transferred */
	bool dry_run;		 /* -n */
	bool recursive;		 /* -r */
	bool no_inc_recurse;	 /* --no-i-r (only a local copy's output depends on it) */
	bool dirs;		 /* -d, or implied by -r, --files-from, listing (upstream xfer_dirs) */
	bool dirs_opt;		 /* -d given without -r (sent to the server as 'd') */
	bool list_only;		 /* fewer than two paths, or --list-only: list instead of copy (upstream list_only) */
	bool fsync;		 /* --fsync: each received file is fsync'ed before it is put in place */
	bool mkpath;		 /* --mkpath: the destination's missing parents are made */
	/*
	 * --reflink[=WHEN] (ours; rsync has no such option): how a local copy
	 * writes data. AUTO clones with FICLONE where the file system can,
	 * else copies (copy_file_range, which may clone by itself); ALWAYS
	 * clones or fails the file; NEVER copies the bytes (read and write).
	 */
	enum { OCE_REFLINK_AUTO, OCE_REFLINK_ALWAYS, OCE_REFLINK_NEVER } reflink;
	bool list_only_opt;	 /* --list-only given (upstream list_only > 1): the server is told */
	bool relative;		 /* -R */
	bool implied_dirs;	 /* -R's parents created from the list (off: --no-implied-dirs, or no -R) */
	bool links;		 /* -l */
	bool copy_links;	 /* -L */
	bool copy_dirlinks;	 /* -k */
	bool keep_dirlinks;	 /* -K */
	bool safe_links;	 /* --safe-links */
	bool copy_unsafe_links;	 /* --copy-unsafe-links */
	bool hard_links;	 /* -H */
	int hard_links_count;	 /* -H count: -HH is only echoed to the server */
	bool perms;		 /* -p */
	bool executability;	 /* -E */
	bool times;		 /* -t */
	bool atimes;		 /* -U */
	bool omit_dir_times;	 /* -O, also implied by -b without --backup-dir (not sent then) */
	bool owner;		 /* -o */
	bool group;		 /* -g */
	bool numeric_ids;	 /* --numeric-ids */
	bool devices;		 /* --devices (-D) */
	bool specials;		 /* --specials (-D) */
	int one_file_system;	 /* -x count */

	/* how files are compared and sent */
	bool checksum;		 /* -c */
	char *checksum_choice;	 /* --checksum-choice / --cc (NULL: negotiate) */
	int whole_file;		 /* -W 1, --no-whole-file 0, default -1 (decided later) */
	bool ignore_times;	 /* -I */
	bool size_only;		 /* --size-only */
	int modify_window;	 /* --modify-window (default 0) */
	bool modify_window_set;	 /* --modify-window given (then sent to the server, even 0) */
	bool update;		 /* -u */
	bool existing;		 /* --existing */
	bool ignore_existing;	 /* --ignore-existing */
	int64_t max_size;	 /* --max-size in bytes (-1: none) */
	int64_t min_size;	 /* --min-size in bytes (-1: none) */
	int32_t block_size;	 /* -B (0: automatic) */
	int32_t checksum_seed;	 /* --checksum-seed (0: time-based) */
	bool checksum_seed_set;
	int protocol;		 /* --protocol (0: ours, 32) */

	/* compression */
	int compress;		 /* -z count */
	int compress_level;	 /* --compress-level (-1: default) */
	bool compress_level_set; /* --compress-level given (levels may be negative for zstd) */
	char *compress_choice;	 /* --compress-choice / --zc (NULL: negotiate) */

	/* deletion */
	enum oce_delete delete_mode; /* --delete* (--delete alone: DURING for protocol 30+) */
	bool delete_plain;	 /* only --delete/--delete-excluded: the server is sent "--delete" */
	bool delete_excluded;	 /* --delete-excluded */
	int max_delete;		 /* --max-delete (-1: no limit) */

	/* filters: rule texts in command-line order, as sent on the wire */
	struct oce_strv filters;  /* --exclude x is "- x", --include "+ x", -f text as given */
	int cvs_exclude;	  /* -C */
	int filter_F;		  /* -F count */
	char *files_from;	  /* --files-from path (NULL: none; "-": stdin), without a host */
	char *filesfrom_host;	  /* [USER@]HOST of a remote --files-from=HOST:PATH (NULL: local) */
	bool from0;		  /* --from0 */

	/* how files are written */
	bool inplace;		  /* --inplace */
	bool partial;		  /* --partial (also set by --partial-dir) */
	char *partial_dir;	  /* --partial-dir */
	int append;		  /* --append 1, --append-verify 2 */
	bool sparse;		  /* -S */
	char *temp_dir;		  /* -T */
	bool backup;		  /* -b */
	char *backup_dir;	  /* --backup-dir */
	char *suffix;		  /* --suffix (default "~", "" with --backup-dir) */
	enum oce_altdest alt_dest_type;
	struct oce_strv alt_dest; /* --link-dest/--copy-dest/--compare-dest dirs */

	/* transport */
	int64_t bwlimit;	  /* --bwlimit in bytes per second (0: none) */
	int timeout;		  /* --timeout seconds (0: none) */
	int contimeout;		  /* --contimeout seconds (0: none) */
	char *rsh;		  /* -e / --rsh (NULL: RSYNC_RSH or "ssh") */
	char *rsync_path;	  /* --rsync-path (NULL: "rsync") */
	struct oce_strv remote_opts; /* -M / --remote-option */
	int port;		  /* --port (0: default 873) */
	char *address;		  /* --address (bind address) */
	char *password_file;	  /* --password-file */
	bool no_motd;		  /* --no-motd */

	/* role */
	bool server;		  /* --server */
	bool sender;		  /* --sender (with --server: this side sends) */
	bool daemon;		  /* --daemon */
	/* daemon mode only (parsed with upstream's daemon option table) */
	char *config;		  /* --config */
	struct oce_strv dparams;  /* --dparam / -M "NAME=VALUE" overrides */
	bool no_detach;		  /* --no-detach */
	char *log_file;		  /* --log-file */
	char *log_file_format;	  /* --log-file-format */
	char *metrics_file;	  /* oc-rsyncd --metrics-file (ours): written on SIGUSR1 and at exit */
	char *sockopts;		  /* --sockopts */
	int ip_family;		  /* 0, or 4 / 6 for -4 / -6 (also the client's: daemon sockets, ssh) */
	uint32_t caps;		  /* server: capabilities from the client's -e. (OCP_CF_*) */
	bool caps_seen;		  /* server: the client sent an -e cluster */
	bool local_server;	  /* the forked server of a local copy */

	/* non-option arguments (sources then destination; server: "." and paths) */
	struct oce_strv args;
};

/* What oce_opts_parse() asks the caller to do. */
enum oce_parse_result {
	OCE_PARSE_RUN = 0,	/* go on with the transfer */
	OCE_PARSE_EXIT_OK,	/* --help or --version printed: exit 0 */
	OCE_PARSE_ERROR,	/* a message went to stderr: exit with *exit_code */
};

/* Set every field to its default (what parsing an empty command line gives). */
void oce_opts_init(struct oce_opts *o);

/*
 * Parse argv (as main() got it; argv[0] is skipped, messages say "oc-rsync") into
 * *o, applying upstream's implications (-a = -rlptgoD, --delete alone means
 * --delete-during, --partial-dir implies --partial, -v raising --info
 * levels, ...). --help and --version print to stdout. Errors print
 * "<prog>: <message>" and rsync's "rsync error: syntax or usage error
 * (code 1)" line to stderr and set *exit_code (1 = RERR_SYNTAX, also for an
 * option we refuse as not supported; as upstream, 4 for an unknown
 * --checksum-choice / --compress-choice name and 11 for an unreadable
 * --exclude-from file). Server mode (--server) accepts the cluster and long
 * options upstream's server_options() produces; the cluster's 'e' carries
 * the client's capabilities (caps, caps_seen), not --rsh. Any of --daemon,
 * --config, --dparam, --detach, --no-detach switches to upstream's daemon
 * option table. Always call oce_opts_free() afterwards.
 */
enum oce_parse_result oce_opts_parse(struct oce_opts *o, int argc, char **argv, int *exit_code);
/*
 * A daemon module's "max verbosity" (upstream limit_output_verbosity()):
 * no --info or --debug level above what -v given level times would set.
 */
void oce_opts_limit_verbosity(struct oce_opts *o, int level);

/*
 * Build the argument vector the client sends to its server (upstream
 * server_options()): "--server", "--sender" when the server is to send, the
 * short cluster with "e.<caps>", long options, then "." ; the caller adds
 * paths. caps is the capability set to advertise (OCP_CF_*). *out is a
 * NULL-terminated, heap-allocated vector the caller frees with
 * oce_strv_free(). Returns 0 or -ENOMEM.
 */
int oce_server_args(const struct oce_opts *o, bool server_sends, uint32_t caps, struct oce_strv *out);

/*
 * Quote arg for the remote shell as upstream safe_arg() does for an option
 * argument: backslashes before shell and wildcard characters, prefixed by
 * "opt=" when opt is non-empty. Returns a new string (caller frees) or NULL.
 */
char *oce_safe_arg(const char *opt, const char *arg);
/*
 * The same for a path sent after ".": wildcards stay live, a leading '-'
 * becomes "./-" and a leading '~' is escaped when the peer must not expand
 * it (upstream safe_arg(NULL, ...)). client_sends: this side is the sender.
 */
char *oce_safe_path_arg(const struct oce_opts *o, bool client_sends, const char *path);

/* Does the --out-format text use escape esc (upstream log_format_has())? */
bool oce_format_has(const char *format, char esc);

/*
 * Did the options ask for compression (-z, --compress-choice other than
 * "none", or --compress-level)? The algorithm and level are settled by
 * negotiation, as upstream's parse_compress_choice() at setup time.
 */
bool oce_opts_compress_requested(const struct oce_opts *o);

/* Upstream's upper-case name of an --info / --debug category ("NAME"). */
const char *oce_info_name(enum oce_info i);
const char *oce_debug_name(enum oce_debug i);

/* `oc-rsync --version` text, or the JSON of -VV (upstream print_rsync_version()). */
void oce_print_version(FILE *f, bool json);
/* `oc-rsync --help` (upstream usage()) and `--daemon --help` (daemon_usage()). */
void oce_print_usage(FILE *f);
void oce_print_daemon_usage(FILE *f);

/* Append a copy of s. Returns 0 or -ENOMEM. */
int oce_strv_push(struct oce_strv *sv, const char *s);
void oce_strv_free(struct oce_strv *sv);
void oce_opts_free(struct oce_opts *o);

#endif /* OCE_OPTS_H */
