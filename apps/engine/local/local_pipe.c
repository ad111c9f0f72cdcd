/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The local copy's pipeline (local_priv.h): events numbered on the
 * generator's thread, copies on an ocpool pool, one reporter printing in
 * number order.
 *
 *   generator --(item, deletion, message events)----------------> MPSC --> reporter
 *       \--(copy jobs)--> ocpool workers --(finished copies)-----> MPSC -/   (reorder
 *                                                                            buffer)
 *
 * Order: each event takes the next sequence number when the generator
 * makes it, which is the order rsync prints in. The reporter keeps events
 * that arrive early (a copy that finished before an earlier, larger one)
 * in a ring indexed by number and prints from the lowest unprinted number
 * up as far as it can. The generator stays at most WINDOW numbers ahead of
 * the printing, so the ring and the copies in flight stay bounded.
 *
 * Commit order: a worker leaves its finished temp file for the reporter,
 * which applies attributes and renames it when it prints the item, that is
 * in list order. A write error (a full disk) therefore stops the run where
 * upstream's receiver stops: the copies after the failing one that other
 * workers already made are removed, not put in place, and the destination
 * ends as rsync leaves it. At most STAGED copies are open at once (each
 * holds its directory open until its turn).
 */
#define OCPOOL_IMPLEMENTATION
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "apps/engine/errcode.h"
#include "apps/engine/fs.h"
#include "apps/engine/local/local_priv.h"
#include "apps/engine/util.h"
#include "ocpool/ocpool.h"
#include "ocq/ocq.h"

/* Events the generator may be ahead of the printing. */
#define WINDOW 4096
/* Copies handed to workers and not yet put in place (or dropped). */
#define STAGED 256

/*
 * Destination lstats taken ahead of the generator (oce_local_before_entry()):
 * batches of PF_B entries, up to PF_AHEAD batches ahead, in PF_NBUF buffers.
 */
#define PF_B 128
#define PF_AHEAD 8
#define PF_NBUF (PF_AHEAD + 2)

/* A streamed list: its comparisons queued ahead, and the retire marks kept. */
#define DQ_CAP 4096
#define MARKS 1024
enum { PF_FREE, PF_QUEUED, PF_DONE };

struct pf_batch {
	struct oce_recvside *rs;
	size_t batch;	/* entries batch * PF_B on (generator's) */
	size_t cnt;	/* how many of them (a streamed list may end sooner for now) */
	int state;	/* (atomic) PF_* */
	unsigned hits;	/* entries found */
	bool ok[PF_B];
	struct stat st[PF_B];
};

/*
 * Whole temp files waiting for their turn (finish.c walks it), by the
 * copy's number % STAGED: at most STAGED copies are open and they end in
 * the order they were made, so a slot is free again when its number
 * comes round (one the size of the window would be 1 MiB, all of it
 * touched in a long run).
 */
static struct oce_pending staged_tab[STAGED];

/*
 * LEV_ITEM, LEV_COPY and LEV_CHECK print item lines, which upstream's
 * generator queues as data for the sender to log; LEV_DELETE and LEV_TEXT
 * are its messages, which go out ahead of queued data. LEV_FLUSH: the
 * point where the queued data goes out (see hold_item()).
 */
enum lev_kind { LEV_ITEM, LEV_DELETE, LEV_TEXT, LEV_COPY, LEV_CHECK, LEV_FLUSH };

struct lev {
	uint64_t seq;
	enum lev_kind kind;
	struct oce_local *l;
	struct oce_file *f;
	uint32_t iflags;
	mode_t mode;		/* LEV_DELETE */
	enum ocp_msg code;	/* LEV_TEXT */
	/* LEV_COPY */
	struct oce_recvside *rs;
	struct stat basis;
	bool has_basis;
	bool logged;		/* the copy is made: its item line goes out */
	bool log_first;		/* ... before its error lines (the receiver failed after the sender logged) */
	bool relog;		/* ... and again after them: the file was copied a second time */
	bool show;		/* LEV_CHECK found it unchanged: its line goes out */
	int err;		/* the copy failed so that the run must stop */
	bool staged;		/* a whole temp file waits in staged_tab for its turn */
	unsigned slot;		/* copies: its place in staged_tab */
	int meta_err;		/* staged: its attributes failed to set (-errno) at meta_step */
	enum oce_meta_step meta_step;
	int tmp_dirfd;		/* staged: its directory and name */
	char tmpname[NAME_MAX + 2];
	char *msgs;		/* error lines of the copy, printed before anything of it */
	size_t msgs_len;
	char text[];		/* xname, deleted name or message line */
};

struct oce_local {
	struct oce_session *s;
	bool async;
	uint64_t next_seq;	/* generator: the next number to give */
	int err;		/* generator: first copy failure seen */
	/* (atomic) a clone from this source device was refused: auto skips it (copy_data()) */
	uint64_t noclone_dev;
	bool noclone;

	/* async */
	struct ocpool *pool;
	struct ocq_chan *ch;
	struct ocq_tx tx;	/* shared: the generator and every worker send */
	struct ocq_rx rx;
	pthread_t reporter;
	bool reporter_up;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t printed;	/* (lock) events printed so far */
	unsigned copies_open;	/* (lock) copies submitted, not yet committed or dropped */
	uint64_t copies_made;	/* generator's: copies submitted so far (their staged_tab slots) */
	/*
	 * (lock) The generator waits (cond) until printed >= wake_printed and
	 * copies_open <= wake_copies; the reporter signals only then, so a full
	 * window drains by a quarter before the generator runs again instead of
	 * waking it for every printed line.
	 */
	bool waiting;
	uint64_t wake_printed;
	unsigned wake_copies;
	int copy_err;		/* (lock) first copy failure, for the generator */
	/* message lines caught on the generator thread, not sent yet (log_lock held then) */
	struct lev **pend;
	size_t npend, pend_cap;

	/*
	 * Without incremental recursion the item lines wait in held (the
	 * printer's: the reporter's, or the generator's with one thread) for a
	 * LEV_FLUSH, and messages overtake them (hold_item()); wire_bytes is
	 * the generator's.
	 */
	bool hold;
	struct oce_capture held;
	size_t wire_bytes;	/* what the items since the last flush would take on the wire */

	/*
	 * The destination compared during the walk (oce_local_walk_dir()):
	 * droot is it, opened read-only if it exists; dchk_open (lock) the
	 * jobs not done; dchk_used that the generator may take dest_same.
	 */
	struct oce_root droot;
	bool droot_open;
	unsigned dchk_open;
	pthread_cond_t dchk_cond;
	bool dchk_used;
	struct stat synth;	/* generator's: the stat a dest_same entry stands for */
	/* a streamed list's comparisons, in list order (walk thread to generator) */
	struct ocq_spsc dq;
	bool dq_up;
	struct dchk *dcur;	/* generator's: the one at hand */
	/* generator's, a streamed list: where events stood at every 64th entry (stream_retire()) */
	struct mark {
		size_t ndx;
		uint64_t seq;
	} marks[MARKS];
	size_t mk_head, mk_n;

	/* destination lstats taken ahead (generator's; batches' state atomic) */
	struct pf_batch *pf;	/* PF_NBUF buffers */
	size_t pf_next;		/* the next batch to ask for */
	unsigned pf_misses;	/* batches in a row that found nothing (a new tree) */

	/* reporter: the reorder ring */
	uint64_t rep_next;	/* the number to print next */
	bool rep_stopped;	/* a copy failed: the later ones are dropped */
	struct lev **ring;
	size_t ring_cap;	/* power of two */
};

static struct lev *
lev_new(struct oce_local *l, enum lev_kind kind, const char *text, size_t len)
{
	struct lev *e = calloc(1, sizeof(*e) + len + 1);

	if (!e)
		return NULL;
	e->kind = kind;
	e->l = l;
	if (text)
		memcpy(e->text, text, len);
	e->text[len] = '\0';
	return e;
}

static void
lev_free(struct lev *e)
{
	free(e->msgs);
	free(e);
}

/* Print one event (the reporter, or the generator itself when not async). */
static void print_event_now(struct oce_session *s, struct lev *e);

static void
print_event(struct oce_session *s, struct lev *e)
{
	struct oce_local *l = e->l;
	bool item = l->hold && (e->kind == LEV_ITEM || e->kind == LEV_COPY || e->kind == LEV_CHECK);
	struct oce_capture *old = item ? oce_capture_set(&l->held) : NULL;

	print_event_now(s, e);
	if (item)
		oce_capture_set(old);
}

static void
print_event_now(struct oce_session *s, struct lev *e)
{
	switch (e->kind) {
	case LEV_FLUSH:
		oce_capture_release(s, &e->l->held);
		break;
	case LEV_ITEM:
		if (e->iflags & OCE_LOCAL_ALWAYS)
			oce_log_item(s, e->f, e->iflags & ~OCE_LOCAL_ALWAYS, NULL);
		else
			oce_maybe_log_item(s, e->f, e->iflags, e->text);
		break;
	case LEV_DELETE:
		oce_log_delete(s, e->text, e->mode);
		break;
	case LEV_TEXT:
		oce_emit_line(s, e->code, e->text, strlen(e->text));
		break;
	case LEV_CHECK:
		if (e->show)
			oce_maybe_log_item(s, e->f, e->iflags, NULL);
		/* when it was copied, as a copy */
		__attribute__((fallthrough));
	case LEV_COPY:
		if (e->logged && e->log_first)
			oce_log_item(s, e->f, e->iflags, NULL);
		if (e->msgs_len)
			oce_emit_line(s, OCP_MSG_ERROR, e->msgs, e->msgs_len);
		if (e->logged && (!e->log_first || e->relog))
			oce_log_item(s, e->f, e->iflags, NULL);
		break;
	}
}

/*
 * An error line of a copy ("oc-rsync: ..."), kept with it until it is
 * printed; copy_warn() a warning line, which upstream prints bare.
 */
static void __attribute__((format(printf, 3, 0)))
copy_vmsg(struct lev *e, bool prefix, const char *fmt, va_list ap)
{
	char line[PATH_MAX * 2 + 256];
	int n = prefix ? snprintf(line, sizeof(line), "%s: ", OCE_PROG) : 0;
	char *m;

	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	m = realloc(e->msgs, e->msgs_len + (size_t)n);
	if (!m)
		return;
	memcpy(m + e->msgs_len, line, (size_t)n);
	e->msgs = m;
	e->msgs_len += (size_t)n;
}

static void __attribute__((format(printf, 2, 3)))
copy_warn(struct lev *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	copy_vmsg(e, false, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
copy_msg(struct lev *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	copy_vmsg(e, true, fmt, ap);
	va_end(ap);
}

/* What copy_data() returns when the source ended before the size it had at the open. */
#define COPY_SHORT 1

/* size bytes with read and write: a copy that shares no extent (COPY_SHORT: the file shrank). */
static int
copy_bytes(int in, int out, off_t size)
{
	char buf[1 << 16];

	while (size > 0) {
		ssize_t n = read(in, buf, size < (off_t)sizeof(buf) ? (size_t)size : sizeof(buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return COPY_SHORT;
		r = oce_write_all(&oce_fs_sys_default, out, buf, (size_t)n);
		if (r)
			return r;
		size -= n;
	}
	return 0;
}

/*
 * The source's data as upstream's sender sends it: the size it found when
 * it opened the file (a file that grows since is cut there; one that
 * shrinks ends short, COPY_SHORT). copy_file_range keeps the data in the kernel; the
 * length known, no call is spent finding the end. --reflink (opts.h): a
 * clone first (AUTO, ALWAYS), or the bytes themselves (NEVER).
 * -EOPNOTSUPP from ALWAYS: this file system (or pair of them) cannot clone.
 */
static int
copy_data(struct oce_local *l, int in, const struct stat *sst, int out, int reflink)
{
	off_t size = sst->st_size;
	/*
	 * auto: once a clone from this source device was refused, the rest
	 * go straight to copy_file_range (which clones by itself where it
	 * can): no failing ioctl per file on tmpfs or ext4.
	 */
	bool try_clone = size > 0 && (reflink == OCE_REFLINK_ALWAYS ||
				      !__atomic_load_n(&l->noclone, __ATOMIC_RELAXED) ||
				      __atomic_load_n(&l->noclone_dev, __ATOMIC_RELAXED) != (uint64_t)sst->st_dev);

	/* copy_file_range clones by itself on XFS and Btrfs: the bytes by hand */
	if (reflink == OCE_REFLINK_NEVER)
		return copy_bytes(in, out, size);
	if (try_clone && ioctl(out, FICLONE, in) == 0) {
		/* the whole file as it is now: cut what grew after the open */
		struct stat st;

		if (fstat(out, &st) == 0 && st.st_size > size && ftruncate(out, size) < 0)
			return -errno;
		return 0;
	}
	if (try_clone) {
		bool unsupported = errno == EXDEV || errno == EINVAL || errno == ENOTTY ||
				   errno == EOPNOTSUPP || errno == ENOSYS;

		if (reflink == OCE_REFLINK_ALWAYS)
			return unsupported ? -EOPNOTSUPP : -errno;
		if (unsupported) {
			__atomic_store_n(&l->noclone_dev, (uint64_t)sst->st_dev, __ATOMIC_RELAXED);
			__atomic_store_n(&l->noclone, true, __ATOMIC_RELAXED);
		}
	}
	while (size > 0) {
		size_t want = size < (1 << 30) ? (size_t)size : (size_t)1 << 30;
		ssize_t n = copy_file_range(in, NULL, out, NULL, want, 0);

		if (n < 0 && errno == EINTR)
			continue;
		/* Not between these two files (another filesystem, old kernel): by hand. */
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
			return oce_copy_fd(in, out);
		if (n < 0)
			return -errno;
		if (n == 0)
			return COPY_SHORT;
		size -= n;
	}
	return 0;
}

/*
 * A source that shrank while it was copied, as upstream's two sides handle
 * it: its sender reports the read error (and the run ends with code 23),
 * its receiver finds the spoilt sum, discards the update and asks again,
 * and the second send has the size the file has now. Here the second copy
 * follows at once (upstream's comes at the end of the first pass), from
 * the start of the same open file into the emptied temp file; a second
 * short copy fails the file, the old one kept. Returns copy_data()'s
 * codes, COPY_SHORT for a file given up.
 */
static int
copy_again(struct lev *e, int in, int out, const char *name)
{
	struct oce_session *s = e->l->s;
	const char *fmt = oce_stdout_format(s->o);
	char dir[PATH_MAX], full[PATH_MAX + 64];
	struct stat st;
	int r;

	oce_full_fname(s, full, sizeof(full), oce_abs_dir(dir, sizeof(dir), NULL, s->roots[e->f->root]),
		       e->f->name);
	oce_sender_io_error(s, OCE_IOERR_GENERAL);
	copy_msg(e, "[sender] read errors mapping %s: %s (%d)", full, strerror(ENODATA), ENODATA);
	e->log_first = true;
	if (s->o->info[OCE_INFO_NAME] >= 1 || (fmt && strstr(fmt, "%i")))
		copy_warn(e, "WARNING: %s failed verification -- update discarded (will try again).", name);
	if (fstat(in, &st) < 0 || lseek(in, 0, SEEK_SET) < 0 || ftruncate(out, 0) < 0 ||
	    lseek(out, 0, SEEK_SET) < 0)
		return -errno;
	/* the second send, counted as upstream's sender counts it */
	oce_local_count_xfer(s, e->f);
	__atomic_fetch_add(&s->st.literal_data, st.st_size, __ATOMIC_RELAXED);
	r = copy_data(e->l, in, &st, out, s->o->reflink);
	if (r == COPY_SHORT) {
		copy_msg(e, "[sender] read errors mapping %s: %s (%d)", full, strerror(ENODATA), ENODATA);
		copy_warn(e, "ERROR: %s failed verification -- update discarded.", name);
	} else if (!r) {
		e->relog = true;
	}
	return r;
}

/*
 * The copy itself, as the sender and receiver between them make it: the
 * source opened as the walk saw it (not a symlink or another file put in
 * its place), its data copied with copy_file_range into a temp file named
 * as upstream names one, the item line logged, then attributes and rename
 * (finish.c, the receiver's own code).
 */
static void
copy_one(struct lev *e)
{
	struct oce_session *s = e->l->s;
	struct oce_recvside *rs = e->rs;
	const struct oce_file *f = e->f;
	const char *name = rs->solo ? rs->solo : f->name;
	struct oce_place dest = {.root = &rs->root};
	char tmpname[NAME_MAX + 2] = "";
	struct stat expect = {0}, sst;
	int in, dfd = -1, fd = -1, r;
	bool track = !e->l->async;

	snprintf(dest.rel, sizeof(dest.rel), "%s", name);
	expect.st_dev = (dev_t)f->dev;
	expect.st_ino = (ino_t)f->ino;
	in = oce_open_source_st(&oce_fs_sys_default, s->root_fds[f->root], f->name, &expect, &sst);
	if (in < 0) {
		char dir[PATH_MAX], full[PATH_MAX + 64];

		/* the sender's lines, as sender.c words them */
		oce_full_fname(s, full, sizeof(full), oce_abs_dir(dir, sizeof(dir), NULL, s->roots[f->root]),
			       f->name);
		if (in == -ENOENT) {
			oce_sender_io_error(s, OCE_IOERR_VANISHED);
			copy_warn(e, "file has vanished: %s", full);
		} else {
			oce_sender_io_error(s, OCE_IOERR_GENERAL);
			copy_msg(e, "[sender] send_files failed to open %s: %s (%d)", full, strerror(-in), -in);
		}
		return;
	}
	/*
	 * The temp file's name is known to the signal handler from just before
	 * it is created: in the one record on a single thread, in this worker's
	 * slot on the pool (kill.bats SIGTERMs local copies at random points).
	 */
	if (!track)
		oce_inflight_worker();
	oce_fs_track_tmp(true);
	tmpname[0] = '\0';
	r = rs->tmp_err ? -rs->tmp_err : oce_tmpfile(&rs->root, name, rs->tmp_root.fd, &dfd, &fd, tmpname);
	oce_fs_track_tmp(false);
	if (r) {
		if (track)
			oce_inflight_clear();
		else
			oce_inflight_worker_clear();
		char full[PATH_MAX + 2];
		const char *slash = strrchr(name, '/');
		char tmp[PATH_MAX];

		if (s->o->temp_dir && tmpname[0])
			snprintf(tmp, sizeof(tmp), "%s/%s", s->o->temp_dir, tmpname);
		else if (s->o->temp_dir)
			snprintf(tmp, sizeof(tmp), "%s/%s.XXXXXX", s->o->temp_dir, slash ? slash + 1 : name);
		else
			snprintf(tmp, sizeof(tmp), "%.*s%s", slash ? (int)(slash - name + 1) : 0, name,
				 tmpname[0] ? tmpname : slash ? slash + 1 : name);
		copy_msg(e, "[receiver] mkstemp %s failed: %s (%d)", oce_dest_fname(rs, tmp, full, sizeof(full)),
			 strerror(-r), -r);
		__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
		/* upstream's sender sent the file and logged it before the receiver failed */
		e->logged = e->log_first = true;
		close(in);
		return;
	}
	if (track)
		oce_inflight_set(dfd, fd, tmpname, -1, NULL, f->mode, true);
	r = copy_data(e->l, in, &sst, fd, s->o->reflink);
	if (r == COPY_SHORT)
		r = copy_again(e, in, fd, name);
	close(in);
	if (track)
		oce_inflight_forget_fd();
	else if (!r)
		/* through the fd, here in parallel; the reporter only renames */
		e->meta_err = oce_finish_meta_fd(rs, f, fd, e->has_basis && S_ISREG(e->basis.st_mode) ? &e->basis : NULL,
						 &e->meta_step);
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r == -EOPNOTSUPP && s->o->reflink == OCE_REFLINK_ALWAYS) {
		char full[PATH_MAX + 2];

		/* Not a write error: this file fails (code 23), the run goes on. */
		copy_msg(e, "[receiver] failed to clone %s (--reflink=always): %s (%d)",
			 oce_dest_fname(rs, name, full, sizeof(full)), strerror(-r), -r);
		unlinkat(dfd, tmpname, 0);
		__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
	} else if (r == COPY_SHORT) {
		/* short twice: copy_again() has said so; the old file stays */
		unlinkat(dfd, tmpname, 0);
		e->logged = true;
	} else if (r) {
		char full[PATH_MAX + 2];

		/* Upstream receive_data(): the destination's name, not the temp file's. */
		copy_msg(e, "[receiver] write failed on %s: %s (%d)",
			 oce_dest_fname(rs, name, full, sizeof(full)), strerror(-r), -r);
		unlinkat(dfd, tmpname, 0);
		e->err = RERR_FILEIO;
	} else if (!track) {
		/* Its turn comes in the reporter (commit_staged()); the handler sees it meanwhile. */
		e->logged = true;
		e->staged = true;
		e->tmp_dirfd = dfd;
		snprintf(e->tmpname, sizeof(e->tmpname), "%s", tmpname);
		oce_pending_put(&staged_tab[e->slot], dfd, tmpname);
		oce_inflight_worker_clear();
		return;
	} else {
		/* Upstream logs before the rename. */
		e->logged = true;
		oce_finish_transfer_ex(rs, f, &dest, dfd, tmpname, NULL, true, true,
				       e->has_basis && S_ISREG(e->basis.st_mode) ? &e->basis : NULL);
	}
	if (track)
		oce_inflight_clear();
	else
		oce_inflight_worker_clear();
	close(dfd);
}

/*
 * The reporter's part of a staged copy, in list order: after a failed copy
 * the file is dropped; otherwise its item line, then attributes and the
 * rename (finish.c), as upstream's receiver does them.
 */
static void
commit_staged(struct oce_local *l, struct lev *e)
{
	struct oce_place dest = {.root = &e->rs->root};
	const char *name = e->rs->solo ? e->rs->solo : e->f->name;

	if (l->rep_stopped) {
		unlinkat(e->tmp_dirfd, e->tmpname, 0);
	} else {
		print_event(l->s, e);
		snprintf(dest.rel, sizeof(dest.rel), "%s", name);
		oce_finish_commit(e->rs, e->f, &dest, e->tmp_dirfd, e->tmpname,
				  e->has_basis && S_ISREG(e->basis.st_mode) ? &e->basis : NULL, e->meta_err, e->meta_step);
	}
	/* after the rename: a signal meanwhile removes a name that is gone, not a file */
	oce_pending_take(&staged_tab[e->slot]);
	close(e->tmp_dirfd);
}

void
oce_local_count_xfer(struct oce_session *s, const struct oce_file *f)
{
	__atomic_fetch_add(&s->st.xferred_files, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->st.total_transferred_size, f->size, __ATOMIC_RELAXED);
}

/* A -c comparison, then the copy when the sums differ. */
static void
check_one(struct lev *e)
{
	struct oce_session *s = e->l->s;

	e->iflags = oce_gen_local_settle(e->rs, e->f, &e->basis, &e->show);
	if (!(e->iflags & OCE_ITEM_TRANSFER))
		return;
	oce_local_count_xfer(s, e->f);
	if (s->o->dry_run) {
		e->logged = true;
		return;
	}
	__atomic_fetch_add(&s->st.literal_data, e->f->size, __ATOMIC_RELAXED);
	copy_one(e);
}

/* ---- async: reporter ------------------------------------------------------ */

static int
ring_put(struct oce_local *l, struct lev *e)
{
	while (e->seq - l->rep_next >= l->ring_cap) {
		size_t cap = l->ring_cap * 2;
		struct lev **v = calloc(cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < l->ring_cap; i++) {
			struct lev *x = l->ring[i];

			if (x)
				v[x->seq & (cap - 1)] = x;
		}
		free(l->ring);
		l->ring = v;
		l->ring_cap = cap;
	}
	l->ring[e->seq & (l->ring_cap - 1)] = e;
	return 0;
}

/* (lock held) Wake the generator if what it waits for has come (or always). */
static void
wake_generator(struct oce_local *l, bool always)
{
	if (l->waiting && (always || (l->printed >= l->wake_printed && l->copies_open <= l->wake_copies))) {
		l->waiting = false;
		pthread_cond_signal(&l->cond);
	}
}

/*
 * (lock held) Sleep until printed >= printed_at and copies_open <= copies_at,
 * or (stop_on_err) a copy failed.
 */
static void
wait_reporter(struct oce_local *l, uint64_t printed_at, unsigned copies_at, bool stop_on_err)
{
	while (!(l->printed >= printed_at && l->copies_open <= copies_at) && !(stop_on_err && l->copy_err)) {
		l->waiting = true;
		l->wake_printed = printed_at;
		l->wake_copies = copies_at;
		pthread_cond_wait(&l->cond, &l->lock);
	}
	l->waiting = false;
}

static void *
reporter_main(void *arg)
{
	struct oce_local *l = arg;
	void *item;

	/* what it prints of a copy (and finish.c's messages) is the receiver's */
	oce_set_role("receiver");
	while (ocq_recv(&l->rx, &item) == 0) {
		struct lev *e = item;
		uint64_t before = l->rep_next;
		unsigned done = 0;
		int err = 0;

		if (ring_put(l, e)) {
			/* no memory for the ring: out of order beats lost */
			if (e->staged)
				commit_staged(l, e);
			else
				print_event(l->s, e);
			pthread_mutex_lock(&l->lock);
			if (e->kind == LEV_COPY || e->kind == LEV_CHECK)
				l->copies_open--;
			wake_generator(l, false);
			pthread_mutex_unlock(&l->lock);
			lev_free(e);
			continue;
		}
		while ((e = l->ring[l->rep_next & (l->ring_cap - 1)]) != NULL) {
			l->ring[l->rep_next & (l->ring_cap - 1)] = NULL;
			if (e->staged)
				commit_staged(l, e);
			else if (!(l->rep_stopped && (e->kind == LEV_COPY || e->kind == LEV_CHECK)))
				print_event(l->s, e);
			if (e->kind == LEV_COPY || e->kind == LEV_CHECK)
				done++;
			if (e->err && !err)
				err = e->err;
			if (e->err)
				l->rep_stopped = true;
			lev_free(e);
			l->rep_next++;
		}
		if (l->rep_next != before || err) {
			pthread_mutex_lock(&l->lock);
			l->copies_open -= done;
			l->printed = l->rep_next;
			if (err && !l->copy_err)
				l->copy_err = err;
			wake_generator(l, err != 0);
			pthread_mutex_unlock(&l->lock);
		}
	}
	return NULL;
}

static int
copy_job(void *arg)
{
	struct lev *e = arg;
	struct oce_local *l = e->l;

	if (e->kind == LEV_CHECK)
		check_one(e);
	else
		copy_one(e);
	/* The channel stays open until every job has ended (oce_local_free()). */
	ocq_send(&l->tx, e);
	return 0;
}

/* ---- the generator's side ------------------------------------------------- */

/* Message lines caught on the generator thread: numbered now, sent at the next event. */
static void
msg_hook(void *arg, enum ocp_msg code, const char *line, size_t len)
{
	struct oce_local *l = arg;
	struct lev *e = lev_new(l, LEV_TEXT, line, len);

	if (!e)
		return;
	e->code = code;
	if (l->npend == l->pend_cap) {
		size_t cap = l->pend_cap ? l->pend_cap * 2 : 16;
		struct lev **v = realloc(l->pend, cap * sizeof(*v));

		if (!v) {
			free(e);
			return;
		}
		l->pend = v;
		l->pend_cap = cap;
	}
	e->seq = l->next_seq++;
	l->pend[l->npend++] = e;
}

static void
send_pending(struct oce_local *l)
{
	struct lev **v;
	size_t n;

	if (!l->npend)
		return;
	/*
	 * Taken under log_lock, as the hook appends while holding it, but
	 * sent after: a full channel waits for the reporter, which may need
	 * log_lock to print.
	 */
	pthread_mutex_lock(&l->s->log_lock);
	v = l->pend;
	n = l->npend;
	l->pend = NULL;
	l->npend = l->pend_cap = 0;
	pthread_mutex_unlock(&l->s->log_lock);
	for (size_t i = 0; i < n; i++)
		ocq_send(&l->tx, v[i]);
	free(v);
}

/* A failed copy (async: reported by the reporter) ends the run, as upstream's receiver does. */
static int
check_copy_err(struct oce_local *l)
{
	int err = l->async ? __atomic_load_n(&l->copy_err, __ATOMIC_ACQUIRE) : l->err;

	if (!err)
		return 0;
	l->s->exit_code = err;
	return -EIO;
}

/* Number e and hand it on, staying within WINDOW of the printing. */
static int
send_ev(struct oce_local *l, struct lev *e, bool copy)
{
	int r;

	send_pending(l);
	pthread_mutex_lock(&l->lock);
	if (l->next_seq - l->printed >= WINDOW || (copy && l->copies_open >= STAGED))
		wait_reporter(l, l->next_seq > WINDOW * 3 / 4 ? l->next_seq - WINDOW * 3 / 4 : 0,
			      copy ? STAGED - STAGED / 4 : UINT_MAX, true);
	if (copy)
		l->copies_open++;
	pthread_mutex_unlock(&l->lock);
	if (copy)
		e->slot = (unsigned)(l->copies_made++ % STAGED);
	e->seq = l->next_seq++;
	r = copy ? ocpool_submit(l->pool, copy_job, e, NULL) : ocq_send(&l->tx, e);
	if (r) {
		if (copy) {
			pthread_mutex_lock(&l->lock);
			l->copies_open--;
			pthread_mutex_unlock(&l->lock);
		}
		lev_free(e);
		return r < 0 ? r : -EIO;
	}
	return check_copy_err(l);
}

static int hold_item(struct oce_local *l, size_t bytes);

static int
emit(struct oce_local *l, struct lev *e)
{
	if (!e)
		return -ENOMEM;
	if (l->async)
		return send_ev(l, e, false);
	l->next_seq++;
	print_event(l->s, e);
	lev_free(e);
	return 0;
}

int
oce_local_emit_item(struct oce_local *l, struct oce_file *f, uint32_t iflags, const char *xname)
{
	/* a transfer (OCE_LOCAL_ALWAYS, -n) asks for a checksum header too */
	int r = hold_item(l, (iflags & OCE_LOCAL_ALWAYS ? 19 : 3) + (xname ? strlen(xname) + 1 : 0));
	struct lev *e = r ? NULL : lev_new(l, LEV_ITEM, xname, xname ? strlen(xname) : 0);

	if (r)
		return r;

	if (e) {
		e->f = f;
		e->iflags = iflags;
	}
	return emit(l, e);
}

int
oce_local_emit_delete(struct oce_local *l, const char *name, mode_t mode)
{
	struct lev *e = lev_new(l, LEV_DELETE, name, strlen(name));

	if (e)
		e->mode = mode;
	return emit(l, e);
}

int
oce_local_copy(struct oce_local *l, struct oce_recvside *rs, struct oce_file *f, int32_t ndx,
	       uint32_t iflags, const struct stat *basis)
{
	int r = hold_item(l, 19);
	struct lev *e = r ? NULL : lev_new(l, LEV_COPY, NULL, 0);
	const char *old;

	(void)ndx;
	if (r)
		return r;
	if (!e)
		return -ENOMEM;
	e->f = f;
	e->iflags = iflags;
	e->rs = rs;
	if (basis) {
		e->basis = *basis;
		e->has_basis = true;
	}
	__atomic_fetch_add(&l->s->st.literal_data, f->size, __ATOMIC_RELAXED);
	if (l->async)
		return send_ev(l, e, true);
	l->next_seq++;
	old = oce_set_role("receiver");
	copy_one(e);
	print_event(l->s, e);
	oce_set_role(old);
	if (e->err && !l->err)
		l->err = e->err;
	lev_free(e);
	return check_copy_err(l);
}

int
oce_local_check(struct oce_local *l, struct oce_recvside *rs, struct oce_file *f, const struct stat *st)
{
	int r = hold_item(l, 19);
	struct lev *e = r ? NULL : lev_new(l, LEV_CHECK, NULL, 0);
	const char *old;

	if (r)
		return r;
	if (!e)
		return -ENOMEM;
	e->f = f;
	e->rs = rs;
	e->basis = *st;
	e->has_basis = true;
	if (l->async)
		return send_ev(l, e, true);
	l->next_seq++;
	old = oce_set_role("receiver");
	check_one(e);
	print_event(l->s, e);
	oce_set_role(old);
	if (e->err && !l->err)
		l->err = e->err;
	lev_free(e);
	return check_copy_err(l);
}

static int
pf_job(void *arg)
{
	struct pf_batch *b = arg;
	const struct oce_flist *fl = &b->rs->s->fl;
	size_t first = b->batch * PF_B, n = b->cnt;

	b->hits = 0;
	for (size_t k = n; k < PF_B; k++)
		b->ok[k] = false;
	for (size_t k = 0; k < n; k++) {
		b->ok[k] = oce_lstat_beneath(&b->rs->root, fl->v[first + k]->name, &b->st[k]) == 0;
		b->hits += b->ok[k];
	}
	__atomic_store_n(&b->state, PF_DONE, __ATOMIC_RELEASE);
	return 0;
}

/*
 * A no-change run spends its time in two lstats per entry, the walk's of
 * the source and the generator's of the destination, one after the other.
 * Here the pool takes the destination's ahead, in batches: the generator
 * finds most entries already looked at. Only successes are used (see
 * struct oce_recvside); a tree that is new (batches that find nothing) is
 * probed only every 16th batch.
 */
static void
prefetch(struct oce_local *l, struct oce_recvside *rs, size_t ndx)
{
	const struct oce_flist *fl = &l->s->fl;
	size_t k = ndx / PF_B, avail;
	struct pf_batch *b;

	if (!l->async || rs->solo)
		return;
	avail = fl->stream ? oce_flist_stream_avail(fl) : fl->n;
	if (ndx % PF_B == 0) {
		if (!l->pf && !(l->pf = calloc(PF_NBUF, sizeof(*l->pf))))
			return;
		b = &l->pf[(k + PF_NBUF - 1) % PF_NBUF];
		if (k && b->batch == k - 1 && __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == PF_DONE)
			l->pf_misses = b->hits ? 0 : l->pf_misses + 1;
		if (l->pf_next <= k)
			l->pf_next = k + 1;
		while (l->pf_next <= k + PF_AHEAD && l->pf_next * PF_B < avail) {
			b = &l->pf[l->pf_next % PF_NBUF];
			if (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == PF_QUEUED)
				break; /* still at an older batch: try again later */
			b->cnt = avail - l->pf_next * PF_B < PF_B ? avail - l->pf_next * PF_B : PF_B;
			b->batch = l->pf_next++;
			if (l->pf_misses >= 2 && b->batch % 16) {
				b->state = PF_FREE;
				continue;
			}
			b->rs = rs;
			__atomic_store_n(&b->state, PF_QUEUED, __ATOMIC_RELAXED);
			if (ocpool_submit(l->pool, pf_job, b, NULL)) {
				b->state = PF_FREE;
				break;
			}
		}
	}
	if (!l->pf)
		return;
	b = &l->pf[k % PF_NBUF];
	if (b->batch != k)
		return;
	if (ndx % PF_B == 0 && __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == PF_QUEUED) {
		unsigned open;

		/* Being taken, or queued behind copies: wait only in the first case. */
		pthread_mutex_lock(&l->lock);
		open = l->copies_open;
		pthread_mutex_unlock(&l->lock);
		while (!open && __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == PF_QUEUED)
			sched_yield();
	}
	if (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != PF_DONE || !b->ok[ndx % PF_B])
		return;
	rs->pf_name = fl->v[ndx]->name;
	rs->pf_st = &b->st[ndx % PF_B];
}

/*
 * A directory's regular files, their destinations to compare
 * (walk_dir_job()). With a streamed list the generator takes the jobs in
 * order from dq, waits for the one covering entries start..end-1 when it
 * gets there, and frees it.
 */
struct dchk {
	struct oce_local *l;
	size_t start, end;
	int done;	/* (atomic) streamed: compared */
	size_t n;
	struct oce_file *v[];
};

/*
 * What the generator would find unchanged, with nothing to set: a regular
 * file of the same size, mtime to the ns, permissions, owner and group.
 */
static bool
dest_same(const struct stat *st, const struct oce_file *f)
{
	return S_ISREG(st->st_mode) && st->st_size == f->size && st->st_mtim.tv_sec == f->mtime &&
	       st->st_mtim.tv_nsec == (long)f->mtime_nsec && (st->st_mode & 07777) == (f->mode & 07777) &&
	       st->st_uid == f->uid && st->st_gid == f->gid;
}

static int
walk_dir_job(void *arg)
{
	struct dchk *j = arg;
	struct oce_local *l = j->l;
	struct stat st;
	char dir[PATH_MAX];
	const char *slash = strrchr(j->v[0]->name, '/');

	/* a directory the destination does not have costs one lstat */
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - j->v[0]->name) : 1,
		 slash ? j->v[0]->name : ".");
	if (!oce_lstat_beneath(&l->droot, dir, &st) && S_ISDIR(st.st_mode)) {
		for (size_t i = 0; i < j->n; i++) {
			struct oce_file *f = j->v[i];

			if (!oce_lstat_beneath(&l->droot, f->name, &st) && dest_same(&st, f))
				f->dest_same = true;
		}
	}
	if (l->dq_up) {
		/* the generator frees it, once past it */
		pthread_mutex_lock(&l->lock);
		__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
		l->dchk_open--;
		pthread_cond_broadcast(&l->dchk_cond);
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	free(j);
	pthread_mutex_lock(&l->lock);
	if (!--l->dchk_open)
		pthread_cond_signal(&l->dchk_cond);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

/*
 * A no-change run is two lstats an entry, the walk's of the source and
 * the generator's of the destination, one phase after the other. When
 * the destination exists, each directory's regular files are compared
 * with their destinations on the pool as soon as the walk has read them,
 * while it goes on; the generator then takes an identical one as it is
 * (oce_local_before_entry()) instead of an lstat. Only "identical" is
 * kept, so what the generator does to earlier entries cannot make it
 * wrong (see struct oce_recvside's pf_name).
 */
static void
walk_dir(void *arg, struct oce_file *const *v, size_t n)
{
	struct oce_local *l = arg;
	struct dchk *j = malloc(sizeof(*j) + n * sizeof(j->v[0]));

	if (!j)
		return;
	j->l = l;
	j->n = 0;
	for (size_t i = 0; i < n; i++)
		if (S_ISREG(v[i]->mode))
			j->v[j->n++] = v[i];
	if (!j->n) {
		free(j);
		return;
	}
	j->start = (size_t)j->v[0]->wire_ndx;
	j->end = (size_t)j->v[j->n - 1]->wire_ndx + 1;
	j->done = 0;
	/* streamed: a job the generator cannot find is not made (nothing is found the same) */
	if (l->dq_up && ocq_spsc_try_push(&l->dq, j)) {
		free(j);
		return;
	}
	pthread_mutex_lock(&l->lock);
	l->dchk_open++;
	pthread_mutex_unlock(&l->lock);
	if (ocpool_submit(l->pool, walk_dir_job, j, NULL)) {
		pthread_mutex_lock(&l->lock);
		l->dchk_open--;
		if (l->dq_up) {
			/* in dq: the generator finds it done (nothing compared) and frees it */
			__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&l->lock);
			return;
		}
		pthread_mutex_unlock(&l->lock);
		free(j);
	}
}

void
oce_local_walk_begin(struct oce_local *l, const char *dest, bool stream)
{
	const struct oce_opts *o = l->s->o;

	/* only where the generator's view of an entry is its lstat alone */
	if (!l->async || o->checksum || o->hard_links || o->ignore_times || o->size_only || o->update ||
	    o->dry_run || o->delete_mode == OCE_DEL_BEFORE)
		return;
	if (oce_root_open(&l->droot, dest, false, NULL))
		return;
	if (stream) {
		if (ocq_spsc_init(&l->dq, DQ_CAP)) {
			close(l->droot.fd);
			return;
		}
		l->dq_up = true;
		l->dchk_used = true; /* entry by entry, as the generator meets them (stream_dchk()) */
	}
	l->droot_open = true;
	l->s->walk_dir_fn = walk_dir;
	l->s->walk_dir_arg = l;
}

/* (generator) Wait for the comparison j to be done. */
static void
dchk_wait(struct oce_local *l, struct dchk *j)
{
	if (__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&l->lock);
	while (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&l->dchk_cond, &l->lock);
	pthread_mutex_unlock(&l->lock);
}

/* (generator, streamed list) Entry ndx's comparison, if it has one, is done. */
static void
stream_dchk(struct oce_local *l, size_t ndx)
{
	struct dchk *j = l->dcur;

	while (!j || ndx >= j->end) {
		void *x;

		if (j) {
			dchk_wait(l, j);
			free(j);
		}
		j = NULL;
		/* a job is queued before its entries are published: none left covers ndx */
		if (ocq_spsc_try_pop(&l->dq, &x))
			break;
		j = x;
	}
	l->dcur = j;
	if (j && ndx >= j->start)
		dchk_wait(l, j);
}

/*
 * (generator, streamed list) Every 64th entry, note how many events were
 * numbered before it; once those are printed, the entries before it are
 * done with (nothing of theirs is read again) and go back to the list.
 */
static void
stream_retire(struct oce_local *l, size_t ndx)
{
	uint64_t printed;
	size_t upto = 0;

	if (ndx % 64)
		return;
	if (l->mk_n < MARKS) {
		struct mark *m = &l->marks[(l->mk_head + l->mk_n++) % MARKS];

		m->ndx = ndx;
		m->seq = l->next_seq;
	}
	pthread_mutex_lock(&l->lock);
	printed = l->printed;
	pthread_mutex_unlock(&l->lock);
	while (l->mk_n && l->marks[l->mk_head].seq <= printed) {
		upto = l->marks[l->mk_head].ndx;
		l->mk_head = (l->mk_head + 1) % MARKS;
		l->mk_n--;
	}
	if (upto)
		oce_flist_stream_retire(&l->s->fl, upto);
}

int
oce_local_more(struct oce_local *l, size_t ndx)
{
	int w;

	while ((w = oce_flist_stream_wait(&l->s->fl, ndx)) < 0) {
		/* the walk waits for entries to be done with: let all so far be printed */
		int r = oce_local_flush(l);

		if (r)
			return r;
		l->mk_n = 0;
		oce_flist_stream_retire(&l->s->fl, ndx);
	}
	return w;
}

void
oce_local_walk_end(struct oce_local *l)
{
	l->s->walk_dir_fn = NULL;
	if (!l->droot_open)
		return;
	pthread_mutex_lock(&l->lock);
	while (l->dchk_open)
		pthread_cond_wait(&l->dchk_cond, &l->lock);
	pthread_mutex_unlock(&l->lock);
	l->dchk_used = true;
	if (l->dq_up) {
		void *x;

		free(l->dcur);
		l->dcur = NULL;
		while (!ocq_spsc_try_pop(&l->dq, &x))
			free(x);
		ocq_spsc_destroy(&l->dq);
		l->dq_up = false;
	}
}

void
oce_local_walk_forget(struct oce_local *l)
{
	/* the comparison was with the walk's owners and groups */
	l->dchk_used = false;
}

/* The items held so far go out now (a LEV_FLUSH in sequence). */
static int
push_items(struct oce_local *l)
{
	l->wire_bytes = 0;
	return emit(l, lev_new(l, LEV_FLUSH, NULL, 0));
}

/*
 * Without incremental recursion upstream's generator queues each item (an
 * index, the flags, and for a file it asks for a checksum header) as data
 * for the sender, which logs it when it reads it, while the generator's
 * messages (deletions, infos) go out ahead of queued data. So a message
 * prints before the items queued since the data last went out: when the
 * 32 KiB buffer filled, after every 200th entry (where, without --timeout,
 * its loop pushes out whatever is queued), and at the end. This models
 * those points with the bytes each item would take; call it before the
 * item's event.
 */
#define PUSH_BUF (32 * 1024 - 4)

static int
hold_item(struct oce_local *l, size_t bytes)
{
	int r = 0;

	if (!l->hold)
		return 0;
	if (l->wire_bytes && l->wire_bytes + bytes > PUSH_BUF)
		r = push_items(l);
	l->wire_bytes += bytes;
	return r;
}

void
oce_local_before_entry(struct oce_local *l, struct oce_recvside *rs, size_t ndx)
{
	struct oce_file *f = l->s->fl.v[ndx];

	if (l->s->fl.stream) {
		stream_retire(l, ndx);
		if (l->dq_up)
			stream_dchk(l, ndx);
	}
	if (l->hold && ndx && (ndx - 1) % 200 == 0 && l->wire_bytes)
		push_items(l);
	if (l->dchk_used) {
		/* compared during the walk: nothing is taken ahead here */
		if (f->dest_same && !rs->solo) {
			memset(&l->synth, 0, sizeof(l->synth));
			l->synth.st_mode = f->mode;
			l->synth.st_size = f->size;
			l->synth.st_mtim.tv_sec = f->mtime;
			l->synth.st_mtim.tv_nsec = (long)f->mtime_nsec;
			l->synth.st_atim = l->synth.st_mtim;
			l->synth.st_uid = f->uid;
			l->synth.st_gid = f->gid;
			l->synth.st_nlink = 1;
			rs->pf_name = f->name;
			rs->pf_st = &l->synth;
		}
		return;
	}
	prefetch(l, rs, ndx);
}

int
oce_local_flush(struct oce_local *l)
{
	if (l->hold && l->wire_bytes)
		push_items(l);
	if (!l->async)
		return check_copy_err(l);
	send_pending(l);
	pthread_mutex_lock(&l->lock);
	wait_reporter(l, l->next_seq, UINT_MAX, false);
	pthread_mutex_unlock(&l->lock);
	return check_copy_err(l);
}

int
oce_local_new(struct oce_session *s, struct oce_local **out)
{
	struct oce_local *l = calloc(1, sizeof(*l));
	struct ocpool_config pc;
	int r;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->s = s;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	pthread_cond_init(&l->dchk_cond, NULL);
	l->droot.fd = -1;
	*out = l;
	l->async = !oce_env_off("OC_RSYNC_ASYNC") && ocpool_cpu_count() > 1;
	if (!l->async)
		return 0;
	oce_pending_table(staged_tab, STAGED);
	l->ring_cap = 2 * WINDOW;
	l->ring = calloc(l->ring_cap, sizeof(*l->ring));
	if (!l->ring)
		return -ENOMEM;
	ocpool_config_init(&pc);
	pc.queue_capacity = WINDOW;
	r = ocpool_create(&l->pool, &pc);
	if (!r)
		r = ocq_chan_create(&l->ch, OCQ_MPSC, 1024);
	if (!r)
		r = ocq_chan_shared_sender(l->ch, &l->tx);
	if (!r)
		r = ocq_rx_open(&l->rx, l->ch);
	if (!r)
		s->walk_pool = l->pool; /* the walk lstats wide directories on it too (flist.c) */
	if (!r)
		r = -pthread_create(&l->reporter, NULL, reporter_main, l);
	if (!r)
		l->reporter_up = true;
	return r;
}

bool
oce_local_threaded(const struct oce_local *l)
{
	return l->async;
}

int
oce_local_start(struct oce_local *l)
{
	l->hold = !l->s->local_inc;
	if (l->async)
		oce_set_msg_hook(l->s, msg_hook, l);
	return 0;
}

int
oce_local_free(struct oce_local *l)
{
	int r = 0;

	if (!l)
		return 0;
	if (l->async) {
		if (l->reporter_up) {
			r = oce_local_flush(l);
			oce_set_msg_hook(l->s, NULL, NULL);
			send_pending(l);
		}
		if (l->pool) {
			l->s->walk_pool = NULL;
			ocpool_shutdown(l->pool, OCPOOL_DRAIN, NULL);
			ocpool_destroy(l->pool);
		}
		if (l->ch)
			ocq_tx_release(&l->tx); /* the last sender: the reporter drains and ends */
		if (l->reporter_up)
			pthread_join(l->reporter, NULL);
		if (l->ch) {
			ocq_rx_release(&l->rx);
			ocq_chan_destroy(l->ch);
		}
		for (size_t i = 0; l->ring && i < l->ring_cap; i++)
			if (l->ring[i])
				lev_free(l->ring[i]);
	}
	/* what an error left held goes out, as upstream flushes at exit */
	oce_capture_release(l->s, &l->held);
	free(l->ring);
	free(l->pend);
	free(l->pf);
	if (l->droot_open)
		close(l->droot.fd);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	pthread_cond_destroy(&l->dchk_cond);
	free(l);
	return r;
}
