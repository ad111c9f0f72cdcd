/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to apps/engine/options*.c: the option ids the popt tables return,
 * the tables themselves, and the parsers of option values they share.
 * Concurrency: constant tables and reentrant functions only.
 */
#ifndef OCE_OPTIONS_PRIV_H
#define OCE_OPTIONS_PRIV_H

#include <popt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "apps/engine/opts.h"

/* What poptGetNextOpt() returns for each row of the tables. */
enum {
	OPT_HELP = 1000,
	OPT_VERSION,
	OPT_VERBOSE,
	OPT_NO_VERBOSE,
	OPT_INFO,
	OPT_DEBUG,
	OPT_QUIET,
	OPT_MOTD,
	OPT_NO_MOTD,
	OPT_STATS,
	OPT_HUMAN,
	OPT_NO_HUMAN,
	OPT_DRY_RUN,
	OPT_ARCHIVE,
	OPT_RECURSIVE,
	OPT_NO_RECURSIVE,
	OPT_NO_INC_RECURSIVE,
	OPT_DIRS,
	OPT_NO_DIRS,
	OPT_PERMS,
	OPT_NO_PERMS,
	OPT_EXECUTABILITY,
	OPT_TIMES,
	OPT_NO_TIMES,
	OPT_ATIMES,
	OPT_NO_ATIMES,
	OPT_OMIT_DIR_TIMES,
	OPT_NO_OMIT_DIR_TIMES,
	OPT_MODIFY_WINDOW,
	OPT_OWNER,
	OPT_NO_OWNER,
	OPT_GROUP,
	OPT_NO_GROUP,
	OPT_D,
	OPT_NO_D,
	OPT_DEVICES,
	OPT_NO_DEVICES,
	OPT_SPECIALS,
	OPT_NO_SPECIALS,
	OPT_LINKS,
	OPT_NO_LINKS,
	OPT_COPY_LINKS,
	OPT_COPY_UNSAFE_LINKS,
	OPT_SAFE_LINKS,
	OPT_COPY_DIRLINKS,
	OPT_KEEP_DIRLINKS,
	OPT_HARD_LINKS,
	OPT_NO_HARD_LINKS,
	OPT_RELATIVE,
	OPT_NO_RELATIVE,
	OPT_IMPLIED_DIRS,
	OPT_NO_IMPLIED_DIRS,
	OPT_IGNORE_TIMES,
	OPT_SIZE_ONLY,
	OPT_ONE_FS,
	OPT_NO_ONE_FS,
	OPT_UPDATE,
	OPT_EXISTING,
	OPT_IGNORE_EXISTING,
	OPT_MAX_SIZE,
	OPT_MIN_SIZE,
	OPT_SPARSE,
	OPT_NO_SPARSE,
	OPT_INPLACE,
	OPT_NO_INPLACE,
	OPT_APPEND,
	OPT_APPEND_VERIFY,
	OPT_NO_APPEND,
	OPT_DELETE,
	OPT_DELETE_BEFORE,
	OPT_DELETE_DURING,
	OPT_DELETE_DELAY,
	OPT_DELETE_AFTER,
	OPT_DELETE_EXCLUDED,
	OPT_MAX_DELETE,
	OPT_F,
	OPT_FILTER,
	OPT_EXCLUDE,
	OPT_INCLUDE,
	OPT_EXCLUDE_FROM,
	OPT_INCLUDE_FROM,
	OPT_CVS_EXCLUDE,
	OPT_WHOLE_FILE,
	OPT_NO_WHOLE_FILE,
	OPT_CHECKSUM,
	OPT_NO_CHECKSUM,
	OPT_CHECKSUM_CHOICE,
	OPT_BLOCK_SIZE,
	OPT_COMPARE_DEST,
	OPT_COPY_DEST,
	OPT_LINK_DEST,
	OPT_COMPRESS,
	OPT_OLD_COMPRESS,
	OPT_NEW_COMPRESS,
	OPT_NO_COMPRESS,
	OPT_COMPRESS_CHOICE,
	OPT_COMPRESS_LEVEL,
	OPT_P,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_PARTIAL,
	OPT_NO_PARTIAL,
	OPT_PARTIAL_DIR,
	OPT_OUT_FORMAT,
	OPT_ITEMIZE,
	OPT_NO_ITEMIZE,
	OPT_BWLIMIT,
	OPT_NO_BWLIMIT,
	OPT_BACKUP,
	OPT_NO_BACKUP,
	OPT_BACKUP_DIR,
	OPT_SUFFIX,
	OPT_FILES_FROM,
	OPT_FROM0,
	OPT_NO_FROM0,
	OPT_NUMERIC_IDS,
	OPT_LIST_ONLY,
	OPT_METRICS_FILE,
	OPT_MKPATH,
	OPT_REFLINK,
	OPT_NO_REFLINK,
	OPT_FSYNC,
	OPT_NO_MKPATH,
	OPT_NO_NUMERIC_IDS,
	OPT_TIMEOUT,
	OPT_NO_TIMEOUT,
	OPT_CONTIMEOUT,
	OPT_NO_CONTIMEOUT,
	OPT_RSH,
	OPT_RSYNC_PATH,
	OPT_TEMP_DIR,
	OPT_ADDRESS,
	OPT_PORT,
	OPT_PASSWORD_FILE,
	OPT_REMOTE_OPTION,
	OPT_PROTOCOL,
	OPT_CHECKSUM_SEED,
	OPT_SERVER,
	OPT_SENDER,
	OPT_DAEMON,
	OPT_NOOP,
	/* daemon-mode table */
	OPT_CONFIG,
	OPT_DPARAM,
	OPT_IPV4,
	OPT_IPV6,
	OPT_DETACH,
	OPT_NO_DETACH,
	OPT_LOG_FILE,
	OPT_LOG_FILE_FORMAT,
	OPT_SOCKOPTS,
	OPT_DAEMON_BWLIMIT,
	OPT_DAEMON_HELP,
	OPT_REFUSED_BASE = 2000, /* + index in oce__refused_opts[] */
};

/*
 * Upstream options we do not implement: (id, long name, short letter, kind).
 * A row's argument kind matches upstream's so a missing argument is still
 * reported by popt before the refusal.
 */
#define REFUSED_OPTIONS(X)                                                                         \
	X(STDERR, "stderr", 0, POPT_ARG_STRING)                                                    \
	X(MSGS2STDERR, "msgs2stderr", 0, POPT_ARG_NONE)                                            \
	X(NO_MSGS2STDERR, "no-msgs2stderr", 0, POPT_ARG_NONE)                                      \
	X(INC_RECURSIVE, "inc-recursive", 0, POPT_ARG_NONE)                                        \
	X(I_R, "i-r", 0, POPT_ARG_NONE)                                                            \
	X(OLD_DIRS, "old-dirs", 0, POPT_ARG_NONE)                                                  \
	X(OLD_D, "old-d", 0, POPT_ARG_NONE)                                                        \
	X(ACLS, "acls", 'A', POPT_ARG_NONE)                                                        \
	X(XATTRS, "xattrs", 'X', POPT_ARG_NONE)                                                    \
	X(OPEN_NOATIME, "open-noatime", 0, POPT_ARG_NONE)                                          \
	X(CRTIMES, "crtimes", 'N', POPT_ARG_NONE)                                                  \
	X(OMIT_LINK_TIMES, "omit-link-times", 'J', POPT_ARG_NONE)                                  \
	X(SUPER, "super", 0, POPT_ARG_NONE)                                                        \
	X(NO_SUPER, "no-super", 0, POPT_ARG_NONE)                                                  \
	X(FAKE_SUPER, "fake-super", 0, POPT_ARG_NONE)                                              \
	X(COPY_DEVICES, "copy-devices", 0, POPT_ARG_NONE)                                          \
	X(WRITE_DEVICES, "write-devices", 0, POPT_ARG_NONE)                                        \
	X(DROP_D, "drop-D", 0, POPT_ARG_NONE)                                                      \
	X(CONFINE_ROOT, "confine-root", 0, POPT_ARG_STRING)                                        \
	X(INSECURE_LINKS, "insecure-links", 0, POPT_ARG_NONE)                                      \
	X(MUNGE_LINKS, "munge-links", 0, POPT_ARG_NONE)                                            \
	X(CHMOD, "chmod", 0, POPT_ARG_STRING)                                                      \
	X(MAX_ALLOC, "max-alloc", 0, POPT_ARG_STRING)                                              \
	X(PREALLOCATE, "preallocate", 0, POPT_ARG_NONE)                                            \
	X(DELETE_MISSING, "delete-missing-args", 0, POPT_ARG_NONE)                                 \
	X(IGNORE_MISSING, "ignore-missing-args", 0, POPT_ARG_NONE)                                 \
	X(REMOVE_SENT, "remove-sent-files", 0, POPT_ARG_NONE)                                      \
	X(REMOVE_SOURCE, "remove-source-files", 0, POPT_ARG_NONE)                                  \
	X(FORCE, "force", 0, POPT_ARG_NONE)                                                        \
	X(IGNORE_ERRORS, "ignore-errors", 0, POPT_ARG_NONE)                                        \
	X(FUZZY, "fuzzy", 'y', POPT_ARG_NONE)                                                      \
	X(SKIP_COMPRESS, "skip-compress", 0, POPT_ARG_STRING)                                      \
	X(COMPRESS_THREADS, "compress-threads", 0, POPT_ARG_STRING)                                \
	X(ZT, "zt", 0, POPT_ARG_STRING)                                                            \
	X(DELAY_UPDATES, "delay-updates", 0, POPT_ARG_NONE)                                        \
	X(PRUNE_EMPTY_DIRS, "prune-empty-dirs", 'm', POPT_ARG_NONE)                                \
	X(LOG_FILE, "log-file", 0, POPT_ARG_STRING)                                                \
	X(LOG_FILE_FORMAT, "log-file-format", 0, POPT_ARG_STRING)                                  \
	X(READ_BATCH, "read-batch", 0, POPT_ARG_STRING)                                            \
	X(WRITE_BATCH, "write-batch", 0, POPT_ARG_STRING)                                          \
	X(ONLY_WRITE_BATCH, "only-write-batch", 0, POPT_ARG_STRING)                                \
	X(OLD_ARGS, "old-args", 0, POPT_ARG_NONE)                                                  \
	X(SECLUDED_ARGS, "secluded-args", 's', POPT_ARG_NONE)                                      \
	X(PROTECT_ARGS, "protect-args", 0, POPT_ARG_NONE)                                          \
	X(TRUST_SENDER, "trust-sender", 0, POPT_ARG_NONE)                                          \
	X(USERMAP, "usermap", 0, POPT_ARG_STRING)                                                  \
	X(GROUPMAP, "groupmap", 0, POPT_ARG_STRING)                                                \
	X(CHOWN, "chown", 0, POPT_ARG_STRING)                                                      \
	X(STOP_AFTER, "stop-after", 0, POPT_ARG_STRING)                                            \
	X(TIME_LIMIT, "time-limit", 0, POPT_ARG_STRING)                                            \
	X(STOP_AT, "stop-at", 0, POPT_ARG_STRING)                                                  \
	X(ICONV, "iconv", 0, POPT_ARG_STRING)                                                      \
	X(EIGHT_BIT, "8-bit-output", '8', POPT_ARG_NONE)                                           \
	X(QSORT, "qsort", 0, POPT_ARG_NONE)                                                        \
	X(COPY_AS, "copy-as", 0, POPT_ARG_STRING)                                                  \
	X(SOCKOPTS, "sockopts", 0, POPT_ARG_STRING)                                                \
	X(EARLY_INPUT, "early-input", 0, POPT_ARG_STRING)                                          \
	X(BLOCKING_IO, "blocking-io", 0, POPT_ARG_NONE)                                            \
	X(NO_BLOCKING_IO, "no-blocking-io", 0, POPT_ARG_NONE)                                      \
	X(OUTBUF, "outbuf", 0, POPT_ARG_STRING)

enum {
#define X(id, l, s, k) R_##id,
	REFUSED_OPTIONS(X)
#undef X
	    R_COUNT
};

struct oce__refused {
	const char *name;
	char short_name;
};

/* Upstream long_options[] (every option rsync 3.5.0 has) and long_daemon_options[]. */
extern const struct poptOption oce__long_options[];
extern const struct poptOption oce__daemon_options[];
/* Names of the refused rows, by id - OPT_REFUSED_BASE. */
extern const struct oce__refused oce__refused_opts[R_COUNT];

/* A level set by --info/--debug outranks the ones -v, --stats... imply. */
enum { OCE__PRIO_DEFAULT = 0, OCE__PRIO_USER = 2 };

/* Who set each output level (upstream output_struct.priority). */
struct oce__prio {
	uint8_t info[OCE_INFO_COUNT];
	uint8_t debug[OCE_DEBUG_COUNT];
};

/* "oc-rsync: <message>\n" on stderr. */
void oce__say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Apply an --info (info true) or --debug word list at priority prio, as
 * upstream parse_output_words(): "NAME", "NAME<n>", "ALL<n>", "NONE",
 * "HELP", case-insensitive, comma-separated. Returns 0; 1 when HELP printed
 * the help text to stdout; -1 on an unknown word (message printed; a server
 * ignores unknown words instead).
 */
int oce__parse_words(struct oce_opts *o, struct oce__prio *p, bool info, const char *str,
		     uint8_t prio);
/* Upstream set_output_verbosity(): each -v level adds its words at default priority. */
void oce__set_verbosity(struct oce_opts *o, struct oce__prio *p, int level);

/*
 * A size with an optional unit, as upstream parse_size_arg() (see there
 * for the grammar). Returns 0 and *out, or -1 after printing upstream's
 * message naming --name.
 */
int oce__parse_size(const char *arg, char def_suf, const char *name, int64_t min_value,
		    int64_t max_value, bool unlimited_0, int64_t *out);

/* An --exclude (include false) / --include text as a rule appended to sv. 0 or -ENOMEM. */
int oce__push_pattern(struct oce_strv *sv, const char *pat, bool include);
/* The rules of an --exclude-from / --include-from file f. 0 or -ENOMEM. */
int oce__read_patterns(FILE *f, bool from0, bool include, struct oce_strv *sv);

/* Normalize a directory name in place (upstream clean_fname(), collapsing ".."). */
void oce__clean_dir(char *name);
/*
 * Split "[USER@]HOST:PATH" or "HOST::PATH" (upstream check_for_hostspec()).
 * Returns 1 with *host (caller frees) and *path set, 0 when s is a local
 * path, -ENOMEM.
 */
int oce__split_hostspec(const char *s, char **host, const char **path);

#endif /* OCE_OPTIONS_PRIV_H */
