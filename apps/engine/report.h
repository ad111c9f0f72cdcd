/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the user reads: itemize strings (%i), --out-format / log-format
 * expansion, rsync's number formatting (-h levels), the --stats block and
 * the closing "sent ... received ..." summary, and --progress lines.
 * Everything mirrors upstream rsync 3.5.0 byte for byte (log.c, main.c,
 * progress.c, lib/compat.c); each function names the upstream one.
 *
 * Concurrency: every function is pure apart from writing into the caller's
 * buffer or FILE *; none keeps state, so any thread may call any function.
 * The only state upstream keeps between calls (the progress2 line width)
 * is passed in and out explicitly.
 *
 * Buffer functions return the length written (without the NUL) or -ENOSPC
 * when the result does not fit in cap (out then holds a truncated,
 * NUL-terminated prefix when cap > 0).
 *
 * Numbers follow the current LC_NUMERIC locale as upstream does: the
 * thousands separator is ',' unless the locale's decimal point is ',',
 * in which case it is '.'.
 */
#ifndef OCE_REPORT_H
#define OCE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * Item flags (upstream rsync.h ITEM_*). The low 16 bits travel on the wire
 * (protocol >= 29); the bits above are local to one process.
 */
#define OCE_ITEM_REPORT_ATIME	    (1u << 0)
#define OCE_ITEM_REPORT_CHANGE	    (1u << 1)
#define OCE_ITEM_REPORT_SIZE	    (1u << 2) /* regular files only */
#define OCE_ITEM_REPORT_TIMEFAIL    (1u << 2) /* symlinks only: same bit */
#define OCE_ITEM_REPORT_TIME	    (1u << 3)
#define OCE_ITEM_REPORT_PERMS	    (1u << 4)
#define OCE_ITEM_REPORT_OWNER	    (1u << 5)
#define OCE_ITEM_REPORT_GROUP	    (1u << 6)
#define OCE_ITEM_REPORT_ACL	    (1u << 7)
#define OCE_ITEM_REPORT_XATTR	    (1u << 8)
#define OCE_ITEM_REPORT_CRTIME	    (1u << 10)
#define OCE_ITEM_BASIS_TYPE_FOLLOWS (1u << 11)
#define OCE_ITEM_XNAME_FOLLOWS	    (1u << 12)
#define OCE_ITEM_IS_NEW		    (1u << 13)
#define OCE_ITEM_LOCAL_CHANGE	    (1u << 14)
#define OCE_ITEM_TRANSFER	    (1u << 15)
#define OCE_ITEM_MISSING_DATA	    (1u << 16) /* local: shown as '?' */
#define OCE_ITEM_DELETED	    (1u << 17) /* local: "*deleting" */
#define OCE_ITEM_MATCHED	    (1u << 18) /* local: generator bookkeeping */

/* Flags that make an item worth showing (upstream SIGNIFICANT_ITEM_FLAGS). */
#define OCE_ITEM_SIGNIFICANT                                                                       \
	(~(OCE_ITEM_BASIS_TYPE_FOLLOWS | OCE_ITEM_XNAME_FOLLOWS | OCE_ITEM_LOCAL_CHANGE))

/* Length of an itemize string such as ">f.st......" (without NUL). */
#define OCE_ITEMIZE_LEN 11

/* Default --out-format for -v (client side) and for -i (upstream options.c). */
#define OCE_FORMAT_VERBOSE "%n%L"
#define OCE_FORMAT_ITEMIZE "%i %n%L"
/* What a deletion prints when the format has neither %o nor %i. */
#define OCE_FORMAT_DELETE "deleting %n"

/*
 * The session facts the formats depend on that are not per file. Zero
 * initialisation gives a plain client receiving with no daemon.
 */
struct oce_logctx {
	bool am_sender;		     /* %o "send", '<' when not local_server */
	bool local_server;	     /* local copy: transfers always show '>' */
	bool am_daemon;		     /* %h %a and the daemon dir in %f */
	bool preserve_mtimes;	     /* -t: 't' rather than 'T' */
	bool receiver_symlink_times; /* peer can set symlink times */
	bool always_checksum;	     /* -c: %C shows the file-list checksum */
	int sum_len;		     /* checksum bytes; %C pads 2*sum_len blanks */
	long pid;		     /* %p */
	int64_t now;		     /* %t, seconds since the epoch */
	const char *module;	     /* %m (daemon only; NULL leaves "%m") */
	const char *module_path;     /* %P */
	const char *auth_user;	     /* %u */
	const char *host;	     /* %h */
	const char *addr;	     /* %a */
};

/*
 * One file as --out-format sees it (upstream struct file_struct plus the
 * log_formatted() arguments). Strings are borrowed; NULL means absent.
 * A deletion is an item whose iflags hold OCE_ITEM_DELETED.
 */
struct oce_logitem {
	const char *name; /* f_name(): path below the transfer root */
	const char *dir;  /* %f prefix: sender's F_PATHNAME or daemon dir */
	mode_t mode;
	int64_t size;		  /* %l */
	int64_t mtime;		  /* %M */
	uint32_t uid, gid;	  /* %U %G */
	bool have_uid;		  /* -o in effect, else %U prints 0 */
	bool have_gid;		  /* -g in effect, else %G prints DEFAULT */
	uint32_t iflags;	  /* OCE_ITEM_* */
	int64_t bytes_written;	  /* this file's share of bytes written */
	int64_t bytes_read;	  /* this file's share of bytes read */
	const char *symlink;	  /* symlink target for " -> " */
	const char *hlink;	  /* hard-link target for " => " */
	const char *file_sum_hex; /* -c checksum of the file, hex */
	const char *xfer_sum_hex; /* whole-file checksum of the transfer, hex */
};

/*
 * Build the 11-character itemize string for iflags and mode, or
 * "*deleting  " for OCE_ITEM_DELETED (upstream log_formatted() %i).
 * A hard link is OCE_ITEM_LOCAL_CHANGE | OCE_ITEM_XNAME_FOLLOWS ('h').
 * Needs cap > OCE_ITEMIZE_LEN.
 */
int oce_itemize_str(char *out, size_t cap, uint32_t iflags, mode_t mode,
		    const struct oce_logctx *ctx);

/*
 * Expand an --out-format / log-format string for one item (upstream
 * log_formatted()): escapes %n %f %L %l %b %c %C %i %o %p %t %M %B %U %G
 * %m %a %h %P %u and %%, each with an optional '-', width and apostrophes
 * (1: thousands separators, 2: units of 1000, 3: units of 1024 for %l %b
 * %c). Unknown escapes stay as written, and so do %h %a outside a daemon
 * and %P %u while their ctx string is NULL (%m prints "" then). No newline
 * is appended and nothing is escaped; pass the result to oce_log_write().
 * Besides -ENOSPC, returns -ENAMETOOLONG for a format over 4096 bytes
 * (upstream: "log-format string is WAY too long!") and -E2BIG when the
 * line outgrows upstream's 5120-byte buffer ("buffer overflow expanding
 * %c -- exiting"); upstream exits with RERR_MESSAGEIO in both cases.
 * The caller sets have_gid false for upstream's FLAG_SKIP_GROUP too, and
 * passes hex checksums as upstream's sum_as_hex() would print them.
 */
int oce_out_format(char *out, size_t cap, const char *fmt, const struct oce_logitem *it,
		   const struct oce_logctx *ctx);

/*
 * Write one message line as upstream rwrite() does: a leading '\r' passes
 * through; control characters other than tab, and a literal "\#ddd", become
 * "\#ooo"; unless allow_8bit (--8-bit-output), so do bytes that are not
 * valid in the locale's charset (iconv check, as upstream); then a '\n' is
 * added. Progress lines are plain ASCII and are written as they are.
 * Returns 0 or -EIO.
 */
int oce_log_write(FILE *f, const char *line, size_t len, bool allow_8bit);

/*
 * Numbers (upstream do_big_num()). human 0: plain digits; 1: thousands
 * separators ("1,234,567"); 2: units of 1000 with two decimals ("1.23M");
 * 3: units of 1024. rsync's default level is 1; -h makes it 2, -hh 3,
 * --no-h 0.
 */
int oce_human_num(char *out, size_t cap, int64_t n, int human);

/* Separators only when human != 0 (upstream comma_num()). */
int oce_comma_num(char *out, size_t cap, int64_t n, int human);

/* A double with digits decimals, in units when human > 1 and |d| >= 1000
 * (upstream do_big_dnum()). */
int oce_human_dnum(char *out, size_t cap, double d, int human, int digits);

/* "rwxr-xr-x"-style mode string with type char, 10 chars (upstream permstring()). */
void oce_permstring(char out[11], mode_t mode);

/* Local time "YYYY/MM/DD hh:mm:ss" (upstream timestring()); returns length. */
int oce_timestring(char *out, size_t cap, int64_t t);

/*
 * One --list-only line (upstream generator.c list_file_entry(), without
 * atime/crtime columns): "drwxr-xr-x          4,096 2024/01/02 03:04:05 name",
 * with " -> target" when symlink is not NULL.
 */
int oce_list_line(char *out, size_t cap, mode_t mode, int64_t size, int64_t mtime, const char *name,
		  const char *symlink, int human);

/* Transfer statistics (upstream struct stats). */
struct oce_stats {
	int64_t total_size;
	int64_t total_transferred_size;
	int64_t total_written; /* "Total bytes sent" */
	int64_t total_read;    /* "Total bytes received" */
	int64_t literal_data;
	int64_t matched_data;
	int64_t flist_buildtime; /* milliseconds; 0 hides both time lines */
	int64_t flist_xfertime;	 /* milliseconds */
	int64_t flist_size;
	int num_files, num_dirs, num_symlinks, num_devices, num_specials;
	int created_files, created_dirs, created_symlinks, created_devices, created_specials;
	int deleted_files, deleted_dirs, deleted_symlinks, deleted_devices, deleted_specials;
	int xferred_files;
};

/*
 * The --stats block (upstream output_summary() at --info=stats2), starting
 * with its blank line and ending before the summary's blank line. The
 * created-files line needs protocol >= 29, the deleted-files line >= 31.
 * num_files/created_files/deleted_files are totals including the other
 * kinds, as upstream counts them. Returns 0 or -EIO.
 */
int oce_print_stats(FILE *f, const struct oce_stats *s, int human, int protocol);

/*
 * The closing lines (upstream output_summary() at --info=stats1):
 *   "\nsent X bytes  received Y bytes  Z bytes/sec\n"
 *   "total size is T  speedup is S[ (DRY RUN)| (BATCH ONLY)]\n"
 * elapsed is endtime - starttime in whole seconds, or negative when unknown
 * ("UNKNOWN" bytes/sec). Returns 0 or -EIO.
 */
int oce_print_summary(FILE *f, const struct oce_stats *s, int human, int64_t elapsed, bool dry_run,
		      bool batch_only);

/*
 * Rate in kB/s as upstream computes it from bytes moved in ms milliseconds
 * (0 ms counts as 1), and the remaining-time estimate for an interim line.
 */
double oce_progress_rate(int64_t bytes, unsigned long ms);
double oce_progress_eta(int64_t ofs, int64_t size, double rate_kbs);

/*
 * One --progress line (upstream rprint_progress()):
 *   "\r%15s %3d%% %7.2f%s %s  "                       interim (done false)
 *   "\r%15s %3d%% %7.2f%s %s (xfr#N, to-chk=R/T)\n"   final (done true)
 * rate_kbs is kB/s (see oce_progress_rate()), secs the ETA for an interim
 * line or the elapsed time for the final one. flist_eof false prints
 * "ir-chk" (incremental recursion still running).
 */
int oce_progress_line(char *out, size_t cap, int64_t ofs, int64_t size, double rate_kbs,
		      double secs, bool done, int xfer_num, int chk_remaining, int chk_total,
		      bool flist_eof, int human);

/*
 * The --info=progress2 variant: ofs/size are whole-transfer totals, and the
 * final-of-file line has no newline but is padded with blanks to the widest
 * such tail seen so far; *last_len carries that width between calls (start
 * at 0). An interim line is as in oce_progress_line().
 */
int oce_progress2_line(char *out, size_t cap, int64_t ofs, int64_t size, double rate_kbs,
		       double secs, bool done, int xfer_num, int chk_remaining, int chk_total,
		       bool flist_eof, int human, int *last_len);

#endif /* OCE_REPORT_H */
