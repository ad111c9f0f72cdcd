/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to the receiving side (generator.c, receiver.c): the state the
 * generator and the receiver share, and how the receiver talks to the
 * generator. Upstream's receiver is a child process that sends the
 * generator "done" marks, redo requests and messages over a pipe; here it
 * is a thread sending the same events over an ocq SPSC channel, or, with
 * OC_RSYNC_RECEIVER_ASYNC=0, a step function the generator calls itself.
 */
#ifndef OCE_RECVSIDE_H
#define OCE_RECVSIDE_H

#include <limits.h>
#include <pthread.h>

#include "apps/engine/fs.h"
#include "apps/engine/session.h"
#include "ocq/ocq.h"

enum oce_ev_kind {
	OCE_EV_DONE,   /* the receiver finished a phase (upstream MSG_DONE) */
	OCE_EV_REDO,   /* resend ndx with full sums (upstream MSG_REDO) */
	OCE_EV_MSG,    /* a line for the client (server only) */
	OCE_EV_FAILED, /* the receiver stopped with an error */
};

struct oce_ev {
	enum oce_ev_kind kind;
	int32_t ndx;
	enum ocp_msg code;
	size_t len;
	char text[]; /* OCE_EV_MSG */
};

/* The basis the generator names with ITEM_BASIS_TYPE_FOLLOWS (upstream FNAMECMP_*);
 * 0 .. OCE_MAX_ALT_DEST-1 are the alternate destination directories. */
#define OCE_BASIS_FNAME	      0x80
#define OCE_BASIS_PARTIAL_DIR 0x81
#define OCE_BASIS_BACKUP      0x82
#define OCE_BASIS_FUZZY	      0x83 /* never asked for: oc-rsync has no --fuzzy */

/* A name below one of the receiver's roots. */
struct oce_place {
	const struct oce_root *root;
	char rel[PATH_MAX];
};

/*
 * A local copy without the protocol (apps/engine/local/): the generator
 * hands what it would have written to the socket to these instead. Each
 * returns 0 or a negative error that ends the run.
 */
struct oce_recvside;
struct oce_wout;
struct oce_local_ops {
	/* an entry settled without data (upstream's sender logs and counts it) */
	int (*item)(struct oce_recvside *rs, struct oce_file *f, uint32_t iflags, const char *xname);
	/* a regular file to copy; basis: the existing destination's stat, or NULL */
	int (*xfer)(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, uint32_t iflags,
		    const struct stat *basis);
	/*
	 * -c: a regular file whose destination (st) is to be compared by sum;
	 * oce_gen_local_settle() then says what to do (NULL: compared here)
	 */
	int (*check)(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, const struct stat *st);
	/* an entry deleted (upstream's log_delete()) */
	void (*deleted)(struct oce_recvside *rs, const char *name, mode_t mode);
	/* every copy handed over so far is in place (before links and directory times) */
	int (*flush)(struct oce_recvside *rs);
	/*
	 * (optional) the generator is about to take entry ndx (the one before
	 * is done): the hook may set pf_name/pf_st to that entry's destination
	 * lstat, taken ahead on another thread, which dest_lstat() then uses
	 * once
	 */
	void (*before_entry)(struct oce_recvside *rs, size_t ndx);
	/*
	 * (a streamed list, s->fl.stream) is there an entry ndx? Waits for
	 * the walk; 1 yes, 0 the list ended, or a negative error
	 */
	int (*more)(struct oce_recvside *rs, size_t ndx);
};

struct oce_recvside {
	bool del_warned; /* generator: "IO error encountered -- skipping file deletion" said */
	struct oce_session *s;
	const struct oce_local_ops *lops; /* NULL: the protocol */
	void *larg;			  /* the local copy's own state */
	/*
	 * A successful lstat of pf_name's destination taken ahead (lops->
	 * prefetch): it stays true while the generator reaches it, since what
	 * the generator does to earlier entries never touches a later entry's
	 * existing destination (a type change removes only the entry itself
	 * and names not in the list). Failures are never taken ahead.
	 */
	const char *pf_name;
	const struct stat *pf_st;
	struct oce_root root;
	/* the user's directories beside the destination (fd -1 when unused) */
	struct oce_root tmp_root;  /* --temp-dir */
	bool backup_failed;	   /* a backup could not be made: the run ends */
	int tmp_err;		   /* --temp-dir leads out of the module: every temp file fails so */
	struct oce_root pdir_root; /* an absolute --partial-dir, made on first use */
	struct oce_root bak_root;  /* --backup-dir, made on first use */
	pthread_mutex_t bak_lock;
	struct oce_root alt[OCE_MAX_ALT_DEST]; /* --link-dest, --copy-dest, --compare-dest */
	int nalt;
	char *curr_dir;		/* destination dir, absolute (names in messages) */
	const char *solo;	/* single file under a new name (upstream local_name) */
	const char *parent_ok; /* last parent dir found in the list (check_parent) */
	char *solo_buf;
	bool threaded;
	bool whole_file;
	struct gen_ahead *ahead; /* generator.c: sums made ahead on a pool, or NULL */

	/* receiver -> generator */
	struct ocq_chan *ch;
	struct ocq_tx tx;
	struct ocq_rx rx;
	struct oce_ev **fifo;	/* sequential: events not yet seen; threaded: not yet sent */
	size_t fifo_n, fifo_cap;

	/* generator */
	struct ocp_io *wio;	/* where the generator writes */
	struct oce_wout *wout;	/* the socket's writer thread (threaded, unless OC_RSYNC_WRITER_ASYNC=0) */
	int msgdone;
	int32_t *redo;
	size_t nredo, redo_cap;
	uint64_t items_written;	/* sequential mode: items the sender must answer */
	bool gen_redo_phase;

	/* receiver */
	int rphase;
	uint64_t items_read;
	bool recv_done;
	bool goodbye_due; /* stats read, the sender's last NDX_DONE not yet */
	int recv_err;
	bool gen_failed;	/* (atomic) generator gave up first: receiver's EOF no news */
	bool recv_failed;	/* generator's: the receiver reported its own failure */
	struct ocp_tok_dec *dec;
	int keep_dirfd;		/* where the signal handler keeps a partial file, or -1 */
	pthread_t thread;
};

/*
 * The receiving side of a local copy without the protocol: the
 * destination opened as oce_receiving_run() opens it, then the generator
 * with ops doing the sender's part. Returns 0 or a negative error.
 */
int oce_local_receiving(struct oce_session *s, const struct oce_local_ops *ops, void *arg);

/*
 * A local copy's deferred -c check (any thread): compare f with its
 * destination st as the generator would. With OCE_ITEM_TRANSFER in the
 * result the file is to be copied, under those item flags; otherwise it is
 * unchanged, its attributes are set now, and *show says whether its line
 * goes to the log (upstream itemize() sending it).
 */
uint32_t oce_gen_local_settle(struct oce_recvside *rs, const struct oce_file *f, const struct stat *st,
			      bool *show);

/* generator.c */
int oce_generate_files(struct oce_recvside *rs);
/* Handle one event from the receiver (upstream check_for_finished_files()). */
int oce_gen_event(struct oce_recvside *rs, struct oce_ev *ev);

/* receiver.c */
/* name below the destination as upstream's full_fname() shows it (quoted, absolute), in buf. */
const char *oce_dest_fname(const struct oce_recvside *rs, const char *name, char *buf, size_t cap);
/*
 * Report that step of setting attributes on full (as oce_dest_fname()
 * shows a name) failed with err, in upstream set_file_attrs()' words, and
 * count it as an I/O error (code 23 at the end).
 */
void oce_meta_failed(struct oce_session *s, enum oce_meta_step step, int err, const char *full);
/* Process one item from the sender; sets rs->recv_done at the end. */
int oce_recv_step(struct oce_recvside *rs);
/* Queue an event for the generator. */
int oce_recv_event(struct oce_recvside *rs, enum oce_ev_kind kind, int32_t ndx);
/*
 * Wait for one event from the receiver and handle it (upstream
 * wait_for_receiver()); in sequential mode runs the receiver instead.
 */
int oce_wait_for_receiver(struct oce_recvside *rs);
/* Sequential mode: let the receiver answer everything written so far. */
int oce_catch_up(struct oce_recvside *rs);

/* generator.c helpers used by the receiver */
/* finish.c */
/* Copy in to out from their file positions to the end: 0 or -errno. */
int oce_copy_fd(int in, int out);
int oce_finish_open(struct oce_recvside *rs);
void oce_finish_close(struct oce_recvside *rs);
bool oce_partial_name(struct oce_recvside *rs, const char *name, struct oce_place *p);
int oce_partial_dir(struct oce_recvside *rs, const struct oce_place *p, bool create);
int oce_make_backup(struct oce_recvside *rs, const char *name, bool prefer_rename);
/* Copy the regular file src to a new dst (one already there is replaced): 0 or -errno. */
int oce_copy_file(const struct oce_root *from, const char *src, const struct oce_root *to, const char *dst,
		  mode_t mode);
/*
 * The backup --inplace -b makes before the file is overwritten: always a
 * copy, never a link. 1 made, 0 failed (reported), -1 name is gone.
 */
int oce_backup_copy(struct oce_recvside *rs, const char *name);
/* Open name's backup for reading (the FNAMECMP_BACKUP basis): fd or -errno. */
int oce_open_backup(struct oce_recvside *rs, const char *name);
int oce_finish_transfer(struct oce_recvside *rs, const struct oce_file *f, const struct oce_place *dest,
			int tmp_dirfd, const char *tmpname, const struct oce_place *partial,
			bool ok_to_set_time, bool overwriting_basis);
/* The same, the mode without -p following basis (the stat of a regular basis file, or NULL). */
int oce_finish_transfer_ex(struct oce_recvside *rs, const struct oce_file *f, const struct oce_place *dest,
			   int tmp_dirfd, const char *tmpname, const struct oce_place *partial,
			   bool ok_to_set_time, bool overwriting_basis, const struct stat *basis);
/*
 * oce_finish_transfer_ex() in two steps for a temp file finished on one
 * thread and put in place on another (the local copy), or with its
 * attributes set before the close (a received file): the attributes
 * through its open fd (0 or -errno, *step the failing one), then the rest,
 * given that result to report (0: nothing to report). No --inplace,
 * --backup or --partial-dir.
 */
int oce_finish_meta_fd(struct oce_recvside *rs, const struct oce_file *f, int fd, const struct stat *basis,
		       enum oce_meta_step *step);
int oce_finish_commit(struct oce_recvside *rs, const struct oce_file *f, const struct oce_place *dest,
		      int tmp_dirfd, const char *tmpname, const struct stat *basis, int meta_err,
		      enum oce_meta_step step);
void oce_inflight_set(int tmp_dirfd, int fd, const char *tmpname, int keep_dirfd, const char *keep_leaf,
		      mode_t mode, bool zero_mtime);
void oce_inflight_clear(void);
/* The in-flight temp file's descriptor is about to be closed: the handler must not use it. */
void oce_inflight_forget_fd(void);
/*
 * Worker threads that write temp files of their own (the local-copy pool)
 * each hold a slot: the temp file a thread creates while tracking
 * (oce_fs_track_tmp()) is named in its slot, and a signal removes it. A
 * thread takes a slot with oce_inflight_worker() (false: none left, its
 * files are then not covered) and empties it once its file is in place
 * or removed. A thread that names its file in the record instead (the
 * receiver) takes a slot of its own on its first temp file, for the
 * creation only, so that a handler on another thread waits out its
 * openat(). The handler marks every slot, free ones included.
 */
bool oce_inflight_worker(void);
void oce_inflight_worker_clear(void);
/*
 * Whole temp files waiting their turn to be renamed into place (the local
 * copy commits in list order): one table per process, walked by the
 * signal handler, which removes every file an entry names. A worker puts
 * its finished temp file in an entry (then clears its slot); the thread
 * that commits or drops the file takes the entry back first.
 */
struct oce_pending {
	_Atomic int state; /* free, named, or the handler's */
	int dirfd;
	char name[NAME_MAX + 2];
};
void oce_pending_table(struct oce_pending *tab, size_t n);
void oce_pending_put(struct oce_pending *p, int dirfd, const char *name);
void oce_pending_take(struct oce_pending *p);
void oce_catch_signals(void);
/* Undo oce_catch_signals(): default actions, no temp-file record (a daemon). */
void oce_uncatch_signals(void);

void oce_meta_for(const struct oce_session *s, const struct oce_file *f, const struct stat *cur,
		  struct oce_meta *m);

#endif /* OCE_RECVSIDE_H */
