/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One transfer session of the engine: everything a role needs, in one
 * struct passed down (no globals), so several sessions can run in one
 * process (the daemon runs many).
 *
 * The roles mirror upstream rsync's: the sender (sender.c) walks and sends
 * the file list and answers block-sum requests with deltas; on the
 * receiving side the generator (generator.c) compares the list with the
 * destination and asks for what differs, and the receiver (receiver.c)
 * rebuilds files into temporary names and renames them into place. Upstream
 * runs generator and receiver as two processes; here they are two threads
 * joined by an ocq channel (OC_RSYNC_RECEIVER_ASYNC=0: one thread in lock
 * step), and the bytes on the wire are the same either way.
 *
 * Concurrency: a session is driven by the threads of one transfer; fields
 * say which thread owns them. Errors are negative errno or OCP_E* codes;
 * the exit code a role decides on is kept in `exit_code`.
 */
#ifndef OCE_SESSION_H
#define OCE_SESSION_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "apps/engine/opts.h"
#include "apps/engine/report.h"
#include "ocproto/csum.h"
#include "ocproto/filter.h"
#include "ocproto/flist.h"
#include "ocproto/int.h"
#include "ocproto/io.h"
#include "ocproto/negotiate.h"
#include "ocproto/token.h"

/* One file-list entry, compact (the wire form ocp_fentry is 2.6 KiB). */
struct oce_file {
	char *name;	  /* wire name, relative; owned (one allocation with link) */
	char *link;	  /* symlink target or NULL */
	uint32_t mode;
	uint32_t uid, gid;
	uint32_t name_len;   /* strlen(name) */
	int64_t size;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t rdev_major, rdev_minor;
	int32_t hlink_first; /* wire index of the group's first entry, -1 if none */
	int32_t wire_ndx;    /* position in wire order */
	uint16_t root;	     /* sender: index of the source root it came from */
	bool top_dir, no_content_dir, hlinked, removed;
	bool dest_same;	     /* local copy: the destination was found identical during the walk */
	bool implied;	     /* receiver: a -R parent sent only for its attributes (upstream FLAG_IMPLIED_DIR) */
	bool sent;	     /* sender: delta sent once (a second request is a redo) */
	bool redo;	     /* receiver: whole-file sum mismatched, asked again */
	uint8_t requested;   /* generator asked the sender for it (__atomic: the receiver checks) */
	bool skip_group;     /* receiver: a group we may not give (upstream FLAG_SKIP_GROUP) */
	bool skip_contents;  /* generator: directory could not be created */
	bool dir_created;    /* generator: the destination itself, just made */
	bool perms_tweaked;  /* generator: given u+rwx until touch_up_dirs() sets mode */
	int32_t hl_leader;   /* generator: sorted index of the group member that gets the data */
	bool parent_skipped; /* generator: below such a directory */
	uint32_t item_at;    /* bytes of name up to its last slash (0 without one) */
	uint64_t dev, ino;   /* sender: identity from the walk, checked on open */
	uint8_t *sum;	     /* -c file checksum or NULL */
};

/* The file list, in sorted order (indexes on the wire refer to it). */
struct oce_flist {
	struct oce_file **v; /* sorted */
	size_t n, cap;
	struct oce_file **wire; /* the same entries in wire order */
	struct ocp_idname *uids, *gids; /* receiver: names from the id lists */
	size_t nuids, ngids;
	/* where the entries live: blocks freed with the list (flist.c) */
	void *blocks;	  /* newest block; each starts with a struct oce_fblock */
	char *blk_next;	  /* free space in the newest block */
	size_t blk_left;
	/* a local copy's list published as it is walked (oce_flist_stream_start()), or NULL */
	struct oce_fstream *stream;
	bool sums;	  /* some entry has a -c sum to free */
};

/* Statistics, counted as upstream's `struct stats`. */
struct oce_counters {
	int64_t total_read, total_written;
	int64_t total_size, total_transferred_size;
	int64_t literal_data, matched_data;
	int64_t flist_size, flist_buildtime, flist_xfertime;
	int64_t num_files, num_reg, num_dirs, num_symlinks, num_devices, num_specials;
	int64_t created_files, created_dirs, created_symlinks, created_devices, created_specials;
	int64_t deleted_files, deleted_dirs, deleted_symlinks, deleted_devices, deleted_specials;
	int64_t xferred_files;
	int64_t total_written_extra; /* bytes the generator's write half sent */
	/* sender, for the -vv "total:" line (upstream match.c's totals) */
	int64_t matches, hash_hits, false_alarms;
};

struct ocpool;

struct oce_session {
	const struct oce_opts *o;
	bool am_server, am_sender;
	bool local;		/* both ends in this process (local copy) */
	/* (optional) a pool the walk may lstat a directory's entries on (flist.c) */
	struct ocpool *walk_pool;
	/* (optional) called with each directory's entries once the walk has read them */
	void (*walk_dir_fn)(void *arg, struct oce_file *const *v, size_t n);
	void *walk_dir_arg;
	bool local_inc;		/* protocol-free local copy that rsync would run with
				 * incremental recursion: its -v list line is rsync's */
	bool sanitize_links;	/* daemon module without chroot: received link targets kept inside */
	bool munge_links;	/* daemon "munge symlinks": targets stored behind OCE_MUNGE_PREFIX */
	bool ids_by_number;	/* daemon "numeric ids" (oce_daemon_mod): no names in or out */
	bool compress_least;	/* daemon "dont compress = *" (oce_daemon_mod) */
	bool msgs_to_peer;	/* daemon server: errors go to the client too (upstream msgs2stderr 0) */
	int protocol;
	int daemon_protocol;	/* > 0: agreed in the @RSYNCD: greeting, no binary version exchange */
	const struct oce_daemon_mod *dmod; /* a daemon session: the module (its log file) */
	uint32_t compat;	/* negotiated OCP_CF_* flags */
	enum ocp_csum csum;	/* transfer checksum */
	int csum_len;		/* its digest length (whole-file sum) */
	enum ocp_compress compress;
	int32_t seed;
	bool seed_fix;

	/*
	 * The socket. io is used by the thread that reads and, in the
	 * sequential modes, also writes. In the threaded receiving side the
	 * generator writes through io_w (same fd, write half only).
	 */
	struct ocp_io *io;
	struct ocp_io *io_w;
	struct ocp_ndx_state ndx_in, ndx_out;

	struct oce_flist fl;
	struct oce_filters *flt; /* filter rules (filter.c), NULL: none yet */
	/* a daemon module's "outgoing chmod" (sender) or "incoming chmod" (receiver) */
	struct oce_chmod *dchmod;
	struct oce_progress *prog; /* --progress state (progress.c), NULL: none yet */
	int needs_nl;		/* client: a progress line is open; end it before the next line (log_lock) */

	/* sender: source roots ("dir" part of each argument), with an open fd */
	char **roots;
	int *root_fds;
	size_t nroots;

	/* sender: where --files-from names come from (upstream filesfrom_fd) */
	int ff_fd;		/* the list file or stdin, owned; -1: none */
	bool ff_from_peer;	/* names arrive on the socket, '\0'-separated */

	/* receiving side: the destination */
	char *dest;		/* destination path as given */
	const char *solo_name;	/* single file to a new name (upstream local_name) */

	struct oce_counters st;
	int32_t io_error;	/* IOERR_* bits */
	/*
	 * The IOERR_* bits of the sending side: its walk and the files it
	 * could not open (ours, or received from the peer). What makes the
	 * generator skip deletions (upstream's generator only has these).
	 */
	int32_t sender_io_error;
	int64_t skipped_deletes; /* past --max-delete */
	mode_t umask;		/* the process umask, read once at start */
	bool am_root;		/* may set owners and make devices */
	int exit_code;		/* RERR_* to exit with */
	/*
	 * Sequential receiving side: MSG_NO_SEND answers a request as an item
	 * would (no_sends counts them), and while oce_catch_up() waits for an
	 * answer (seq_wait) it breaks that wait (OCP_IO_BREAK), for no item
	 * follows it.
	 */
	uint64_t no_sends;
	bool seq_wait;
	bool peer_exit;		/* the peer sent MSG_ERROR_EXIT: end quietly with its code */
	bool exit_shown;	/* the closing error line is out (the receiver thread's) */
	uint64_t split_in;	/* bytes read when the receiving side split (upstream's fork) */
	FILE *out;		/* where info lines go (stdout; server: none) */
	FILE *err;		/* where error lines go (stderr) */
	pthread_mutex_t log_lock; /* one line at a time from several threads */
	int64_t start_ms;
	uint64_t setup_in, setup_out; /* socket bytes of the protocol set-up, not counted */
	/* A thread that does not own the socket routes its lines here (server). */
	void (*msg_hook)(void *arg, enum ocp_msg code, const char *line, size_t len);
	void *msg_hook_arg;
	pthread_t msg_hook_thread;
};

/* What a daemon's "munge symlinks" puts before a link target (upstream SYMLINK_PREFIX). */
#define OCE_MUNGE_PREFIX "/rsyncd-munged/"

/* IOERR_* bits (upstream rsync.h). */
#define OCE_IOERR_GENERAL   (1 << 0)
#define OCE_IOERR_VANISHED  (1 << 1)
#define OCE_IOERR_DEL_LIMIT (1 << 2)

/* An error of the sending side (any thread): counts for the exit code and against deletions. */
#define oce_sender_io_error(s, bits)                                                    \
	do {                                                                            \
		int32_t b_ = (bits);                                                    \
		__atomic_fetch_or(&(s)->io_error, b_, __ATOMIC_RELAXED);                \
		__atomic_fetch_or(&(s)->sender_io_error, b_, __ATOMIC_RELAXED);         \
	} while (0)

/* Special indexes (upstream NDX_*). */
#define OCE_NDX_DONE	  (-1)
#define OCE_NDX_FLIST_EOF (-2)
#define OCE_NDX_DEL_STATS (-3)

/* --- session.c ------------------------------------------------------------ */
void oce_session_init(struct oce_session *s, const struct oce_opts *o);
void oce_session_free(struct oce_session *s);
/* Print an info line (stdout, or MSG_INFO to the client when a server). */
void oce_info(struct oce_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Print a whole message line (ending in '\n') as code asks: stdout for
 * MSG_INFO, stderr otherwise (a server: to the client), or to the
 * calling thread's message hook. The printing behind oce_info() and
 * oce_error().
 */
void oce_emit_line(struct oce_session *s, enum ocp_msg code, const char *line, size_t len);
/*
 * A line of a daemon's log file f (NULL: none): date, [pid], line (one
 * newline added); pid 0 is this process's.
 */
void oce_dlog_to(FILE *f, long pid, const char *line, size_t len);
/* The same, formatted (cut at 4 KiB). */
void oce_dlog_vto(FILE *f, long pid, const char *fmt, va_list ap);
/* A line of a daemon session's log file (upstream FLOG): date, [pid], line; no-op without one. */
void oce_dlog(struct oce_session *s, const char *line, size_t len);
void oce_dlogf(struct oce_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Info lines held back instead of printed: while a thread has a capture
 * set (oce_capture_set(), returns the one it replaces), its stdout lines
 * go into it; oce_capture_release() prints what it holds.
 */
struct oce_capture {
	FILE *f;	/* open_memstream() over buf, opened on first use */
	char *buf;
	size_t len;
};
struct oce_capture *oce_capture_set(struct oce_capture *c);
/* The capture set on this thread, opened, or NULL (none, or no memory). */
FILE *oce_capture_file(void);
void oce_capture_release(struct oce_session *s, struct oce_capture *c);
/* Print an error line ("oc-rsync: ..." on stderr, or MSG_ERROR to the client). */
void oce_error(struct oce_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error line without our name, as upstream's rprintf(FERROR, ...). */
void oce_rerror(struct oce_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same as a transfer error (upstream FERROR_XFER: the client ends with code 23). */
void oce_rerror_xfer(struct oce_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "oc-rsync: [role] <text>: <strerror> (errnum)", as upstream's rsyserr(). */
void oce_rsyserr(struct oce_session *s, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The same as a transfer error, upstream's rsyserr(FERROR_XFER, ...): over
 * a daemon connection, where errors travel as messages, the client ends
 * with code 23 for it (over a remote shell the server's exit code says so).
 */
void oce_rsyserr_xfer(struct oce_session *s, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The calling thread's role tag (upstream who_am_i()); see session.c. */
const char *oce_who(const struct oce_session *s);
/* Set the calling thread's role ("generator", "receiver", NULL); returns the old one. */
const char *oce_set_role(const char *role);
/*
 * dir made absolute (against base, or the working directory when base is
 * NULL) and cleaned of "//", "." and ".." lexically, as upstream keeps its
 * curr_dir. Returns out.
 */
const char *oce_abs_dir(char *out, size_t cap, const char *base, const char *dir);
/*
 * name as upstream's full_fname() shows it: quoted, and prefixed with dir
 * (absolute; NULL: the working directory) unless it is absolute itself.
 */
const char *oce_full_fname(const struct oce_session *s, char *out, size_t cap, const char *dir,
			   const char *name);
/* Route the calling thread's lines through fn (NULL: back to normal). */
void oce_set_msg_hook(struct oce_session *s, void (*fn)(void *, enum ocp_msg, const char *, size_t),
		      void *arg);
/* Print a warning line (no exit-code effect). */
void oce_warning(struct oce_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Count a created entry by type, as upstream's stats.created_*. */
void oce_count_created(struct oce_counters *c, uint32_t mode);
/*
 * Report a role's failure r as upstream words it ("connection unexpectedly
 * closed (N bytes received so far) [role]", "unexpected tag N [role]", ...),
 * unless a message was printed already (s->exit_code set).
 */
void oce_report_failure(struct oce_session *s, int r);
/* Map an engine/ocproto error to upstream's exit code. */
int oce_exit_code_for(int err);
/* Milliseconds on the monotonic clock. */
int64_t oce_now_ms(void);
/* Info level test, as upstream INFO_GTE(). */
static inline bool
oce_info_gte(const struct oce_session *s, enum oce_info i, int level)
{
	return s->o->info[i] >= level;
}

/* --- proto.c: everything before and after the file exchange ------------- */
/* Version, compat flags, name lists and seed (upstream setup_protocol()). */
int oce_setup_protocol(struct oce_session *s);
/* Client to server filter list (upstream send_filter_list()/recv_filter_list()). */
int oce_send_filter_list(struct oce_session *s);
int oce_recv_filter_list(struct oce_session *s);
/* Compile o->filters (and -F's rules) into s->flt. */
int oce_filters_build(struct oce_session *s);
/* Is name excluded by the session's rules? */
bool oce_excluded(const struct oce_session *s, const char *name, bool is_dir);
/* The stats block the server sender writes and the client receiver reads. */
int oce_send_stats(struct oce_session *s);
int oce_recv_stats(struct oce_session *s);
/* Final NDX_DONE exchange (upstream read_final_goodbye()). */
int oce_read_final_goodbye(struct oce_session *s);
/* Control-message handler for the socket (errors, info, io_error...). */
int oce_on_msg(void *arg, enum ocp_msg code, const uint8_t *payload, size_t len);

/* --- flist.c ------------------------------------------------------------- */
/* Sender: walk the arguments and send the list (upstream send_file_list()). */
int oce_flist_send(struct oce_session *s, int argc, char **argv);
/* Receiver: read the list (upstream recv_file_list()). */
int oce_flist_recv(struct oce_session *s);
void oce_flist_free(struct oce_flist *fl);
/* Sort v[0..n) stably into rsync's file list order (flist_sort()'s sort; for tests). */
int oce_files_sort(struct oce_file **v, size_t n);
/* The wire-format options of this session's list. */
void oce_flist_opts(const struct oce_session *s, struct ocp_flist_opts *fo);
/*
 * The list's owners and groups as this side is to set them (by the id
 * lists' names, FLAG_SKIP_GROUP for groups we are not in); a local copy
 * without the protocol has no id lists and gets only the skip marks.
 * True when an owner or group changed.
 */
bool oce_flist_map_ids(struct oce_session *s);
/* Index of the entry named name (sorted search), or -1. */
int32_t oce_flist_find(const struct oce_flist *fl, const char *name, bool is_dir);

/*
 * A local copy's list walked on a thread of its own while the generator
 * works (rsync's incremental recursion keeps its memory small the same
 * way): each directory is read, its entries sorted and published in the
 * list's final order, depth first, so entry i of s->fl.v is final once it
 * is published. Only for one source with no -R, -H, -c, --delete, filters
 * or --files-from: the caller checks. The generator takes entry i once
 * oce_flist_stream_wait() says it is there and tells with
 * oce_flist_stream_retire() that the entries below some index are done
 * with: their memory goes back (directories are kept, for their times at
 * the end), and the walk stays at most a window ahead of that point.
 * s->fl.n is only set by oce_flist_stream_join(); until then
 * oce_flist_stream_avail() tells how many there are.
 */
int oce_flist_stream_start(struct oce_session *s, int argc, char **argv);
/* 1: entry i is there; 0: the walk ended before it; -1: the walk waits for a retire. */
int oce_flist_stream_wait(struct oce_flist *fl, size_t i);
/* How many entries are published (any thread). */
size_t oce_flist_stream_avail(const struct oce_flist *fl);
/* (generator) Entries below upto are done with. */
void oce_flist_stream_retire(struct oce_flist *fl, size_t upto);
/* The directories published, in list order (once the walk has ended). */
struct oce_file *const *oce_flist_stream_dirs(const struct oce_flist *fl, size_t *n);
/* Stop the walk if cancel, wait for it, set s->fl.n; the walk's result. */
int oce_flist_stream_join(struct oce_session *s, bool cancel);

/* --- log.c: per-file lines ------------------------------------------------- */
/* The client's per-file format (--out-format, -i, -v), or NULL for none. */
const char *oce_stdout_format(const struct oce_opts *o);
/* Upstream stdout_format_has_i: 0, 1 (-i) or 2 (-ii). */
int oce_format_has_i(const struct oce_opts *o);
/* Print f's line in that format (upstream log_item()); hlink is %L's " => x". */
void oce_log_item(struct oce_session *s, const struct oce_file *f, uint32_t iflags, const char *hlink);
/*
 * The same for a file whose data went over the wire: the data bytes (frames
 * left out) that its transfer read and wrote, for %b and %c (upstream counts
 * from remember_initial_stats(), just after the file's index and flags).
 */
void oce_log_item_xfer(struct oce_session *s, const struct oce_file *f, uint32_t iflags, const char *hlink,
		       uint64_t data_read, uint64_t data_written);
/* Print it only when the flags make it worth showing (upstream maybe_log_item()). */
void oce_maybe_log_item(struct oce_session *s, const struct oce_file *f, uint32_t iflags,
			const char *xname);

/* Report a deletion (upstream log_delete()): "deleting x" or the -i form. */
void oce_log_delete(struct oce_session *s, const char *name, mode_t mode);
/* The same in a daemon's log file, with "transfer logging" (upstream log_delete()'s FLOG). */
void oce_dlog_delete(struct oce_session *s, const char *name, mode_t mode);

/* --- util.c (engine-level) ------------------------------------------------ */
/* Does a symlink at name pointing to target leave the tree (upstream unsafe_symlink())? */
bool oce_unsafe_symlink(const char *target, const char *name);
/* Is name (below dirfd) a symlink that --copy-unsafe-links turns into its referent? */
bool oce_follow_unsafe_link(const struct oce_session *s, int dirfd, const char *name);
/* The -c / whole-file checksum of name below dirfd, with s->csum. Returns its length or -errno. */
int oce_file_checksum(struct oce_session *s, int dirfd, const char *name, uint8_t *out);

/* --- roles ---------------------------------------------------------------- */
int oce_sender_run(struct oce_session *s);	   /* upstream send_files() */
/* Token format for a compressor. */
enum ocp_tok_fmt oce_tok_fmt(enum ocp_compress c);
/*
 * Read the next index and its attributes (upstream read_ndx_and_attrs()):
 * NDX_DONE is returned as is, delete stats are absorbed (and echoed by a
 * server sender), anything else is checked against the list.
 */
int oce_read_item(struct oce_session *s, int32_t *ndx, uint16_t *iflags, uint8_t *basis, char *xname,
		  size_t xcap);
/* Write ndx and its attributes (upstream write_ndx_and_attrs()). */
int oce_write_item(struct oce_session *s, struct ocp_io *io, int32_t ndx, uint16_t iflags,
		   uint8_t basis, const char *xname);
/* The attributes alone (iflags, basis type, xname). */
int oce_write_item_attrs(struct oce_session *s, struct ocp_io *io, uint16_t iflags, uint8_t basis,
			 const char *xname);
/* NDX_DEL_STATS and the five counts (upstream write_del_stats()). */
int oce_write_del_stats(struct oce_session *s, struct ocp_io *io);
int oce_receiving_run(struct oce_session *s);	   /* upstream do_recv() */

/* --- client.c / server.c ---------------------------------------------------- */
/* Run the server side over fds (upstream start_server()); returns an exit code. */
int oce_server_main(const struct oce_opts *o, int fd_in, int fd_out);
/* What a daemon module imposes on a session it runs (apps/daemon/). */
struct oce_daemon_mod {
	int protocol;	 /* agreed in the @RSYNCD: greeting */
	bool read_only;	 /* refuse to receive */
	bool write_only; /* refuse to send */
	bool sanitize;	 /* not chrooted: keep received symlink targets inside */
	bool munge;	 /* "munge symlinks" */
	/*
	 * "numeric ids" in effect without the client's --numeric-ids
	 * (upstream's numeric_ids = -1): the id lists still go both ways, as
	 * the client expects them, but without names, and names received
	 * are not used: owners and groups are kept as numbers
	 */
	bool ids_by_number;
	/*
	 * "dont compress" names every file ("*"): with -z the data goes out
	 * at the format's least compression (upstream 3.5.0 applies the list
	 * per session only, and only that word changes anything)
	 */
	bool compress_least;
	/*
	 * The module's own filter rules (upstream rsync_module()): "filter",
	 * "include" and "exclude" texts, and the "include from" / "exclude
	 * from" files opened before the chroot (their opener closes them).
	 */
	const char *filter, *include, *exclude;
	const char *include_from, *exclude_from;
	FILE *include_from_fp, *exclude_from_fp;
	/* "incoming chmod" / "outgoing chmod" (upstream daemon_chmod_modes) */
	const char *incoming_chmod, *outgoing_chmod;
	/*
	 * Set when the session cannot run (the module could not be entered,
	 * an option was refused): once the protocol is up, these lines go to
	 * the client as errors and the session ends with fail_code.
	 */
	const char *fail_msg;
	int fail_code;
	/*
	 * The daemon's "log file" (NULL: none): every message of the session
	 * goes there too, as upstream's rwrite() logs them, and with
	 * "transfer logging" (log_format non-NULL: the module's "log format")
	 * a line per file; host, addr, user, module and module_path fill its
	 * %h %a %u %m %P.
	 */
	FILE *log;
	const char *log_format;
	const char *host, *addr, *user, *module, *module_path;
	/*
	 * The session's own, as the module was entered: module_dir is the
	 * module root as the session sees it ("" for "/"), which names in
	 * messages are shown from; confine_fd the root it opens its path
	 * arguments beneath when sanitize is set (fs.h), else unused; log_pid
	 * the number its log lines and %p show (the process's, or the
	 * thread's when the session is a thread of the daemon).
	 */
	const char *module_dir;
	int confine_fd;
	long log_pid;
	bool in_thread; /* a thread of the daemon: nothing may be left to process exit */
	/* where the bytes the session read and wrote go at its end (NULL: nowhere) */
	uint64_t *bytes_in, *bytes_out;
};
/*
 * The module root directory of a daemon session as it sees it ("" for "/"),
 * or NULL outside a daemon (or before the module was entered).
 */
static inline const char *
oce_daemon_module_dir(const struct oce_session *s)
{
	return s->dmod ? s->dmod->module_dir : NULL;
}
/* The module root a daemon session's path arguments resolve beneath (fs.h), or -1. */
static inline int
oce_confine_fd(const struct oce_session *s)
{
	return s->dmod && s->dmod->sanitize ? s->dmod->confine_fd : -1;
}
/* oce_server_main() for a daemon session over a socket (d: the module's rules). */
int oce_server_daemon(const struct oce_opts *o, int fd_in, int fd_out, const struct oce_daemon_mod *d);
/* The client's --stats block and closing lines (upstream output_summary()). */
void oce_print_client_summary(struct oce_session *s);
/* The exit code a role ends with after r and io_error (upstream exit_cleanup()). */
int oce_final_code(const struct oce_session *s, int r);
/* Run the client side (upstream client_run()); returns an exit code. */
int oce_client_run(struct oce_session *s, int fd_in, int fd_out, int argc, char **argv);

#endif /* OCE_SESSION_H */
