/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The receiver (upstream receiver.c recv_files(), receive_data()) and the
 * receiving side's driver (main.c do_recv()): rebuild each file the sender
 * streams from literal data and blocks of the old version into a temporary
 * file, check the whole-file sum, apply attributes and rename it into
 * place, so the destination holds the old file or the new one, never a
 * torn one. A failed sum asks the generator for a second try (phase 1).
 *
 * The receiver runs as its own thread beside the generator, joined by an
 * ocq SPSC channel; OC_RSYNC_RECEIVER_ASYNC=0 (or OC_RSYNC_ASYNC=0) runs it
 * in lock step on the generator's thread instead. The wire is the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/filter.h"
#include "apps/engine/progress.h"
#include "apps/engine/recvside.h"
#include "apps/engine/wout.h"
#include "apps/engine/util.h"
#include "ocproto/delta.h"
#include "ocproto/err.h"

/* Append ev to a growable list of events. */
static int
ev_append(struct oce_ev ***v, size_t *n, size_t *cap, struct oce_ev *ev)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct oce_ev **nv = realloc(*v, c * sizeof(*nv));

		if (!nv) {
			free(ev);
			return -ENOMEM;
		}
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = ev;
	return 0;
}

/*
 * Hand the generator what the channel takes without waiting, oldest first.
 * The receiver must never block on a full channel while the generator is
 * blocked writing to a sender that waits for the receiver to read: events
 * that do not fit wait in rs->fifo until they do.
 */
static void
flush_pending(struct oce_recvside *rs)
{
	size_t i = 0;

	while (i < rs->fifo_n && ocq_try_send(&rs->tx, rs->fifo[i]) == 0)
		i++;
	memmove(rs->fifo, rs->fifo + i, (rs->fifo_n - i) * sizeof(*rs->fifo));
	rs->fifo_n -= i;
}

static int
push_event(struct oce_recvside *rs, struct oce_ev *ev)
{
	int r = ev_append(&rs->fifo, &rs->fifo_n, &rs->fifo_cap, ev);

	if (!r && rs->threaded)
		flush_pending(rs);
	return r;
}

int
oce_recv_event(struct oce_recvside *rs, enum oce_ev_kind kind, int32_t ndx)
{
	struct oce_ev *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	ev->kind = kind;
	ev->ndx = ndx;
	return push_event(rs, ev);
}

/*
 * A server's receiver thread hands its lines to the socket's writer, as the
 * second producer of its channel; when that is full (or there is no
 * writer) to the generator, which writes them at its next event.
 */
static void
recv_msg_hook(void *arg, enum ocp_msg code, const char *line, size_t len)
{
	struct oce_recvside *rs = arg;
	struct oce_ev *ev;

	if (rs->wout && oce_wout_msg(rs->wout, code, line, len) == 0)
		return;
	ev = calloc(1, sizeof(*ev) + len);
	if (!ev)
		return;
	ev->kind = OCE_EV_MSG;
	ev->code = code;
	ev->len = len;
	memcpy(ev->text, line, len);
	push_event(rs, ev);
}

/* Output of one file: the temporary file plus the running whole-file sum. */
struct out {
	struct oce_recvside *rs;
	struct ocp_delta_apply *ap;
	struct oce_sparse w;
	struct ocp_csum_ctx sum;
	int basis_fd;
	bool discard; /* dry run or no output file */
	/*
	 * Plain output (not sparse, not in place) is written behind in large
	 * pieces instead of one pwrite per token: literal bytes gather in obuf,
	 * and a run of blocks that lie one after another in the basis
	 * read-ahead (ra) is written straight from there. One of the two is
	 * pending at a time, so the file is written in order.
	 */
	uint8_t *obuf;
	size_t olen;
	const uint8_t *run;
	size_t rlen;
	uint8_t *ra;
	uint64_t raoff;
	size_t ralen;
};

#define OUT_BUF_SIZE (256 * 1024)
#define BASIS_RA_SIZE (1024 * 1024)

/* Write what is pending (obuf or the run) to the file. */
static int
out_flush(struct out *o)
{
	int r = 0;

	if (o->olen)
		r = oce_sparse_write(&o->w, o->obuf, o->olen);
	else if (o->rlen)
		r = oce_sparse_write(&o->w, o->run, o->rlen);
	o->olen = 0;
	o->rlen = 0;
	return r;
}

/* out_write() for buffered output: buf is literal data or a block in o->ra. */
static int
out_buffered(struct out *o, const uint8_t *buf, size_t len)
{
	int r;

	if (o->ra && buf >= o->ra && buf + len <= o->ra + o->ralen) {
		if (o->rlen && o->run + o->rlen == buf) {
			o->rlen += len;
			return 0;
		}
		r = out_flush(o);
		o->run = buf;
		o->rlen = len;
		return r;
	}
	if (o->rlen || o->olen + len > OUT_BUF_SIZE) {
		r = out_flush(o);
		if (r)
			return r;
	}
	if (len >= OUT_BUF_SIZE)
		return oce_sparse_write(&o->w, buf, len);
	memcpy(o->obuf + o->olen, buf, len);
	o->olen += len;
	return 0;
}

/* Literal data and matched blocks, counted for --stats as upstream's receiver does. */
static int
count_literal(void *arg, const uint8_t *data, size_t len)
{
	struct out *o = arg;

	o->rs->s->st.literal_data += (int64_t)len;
	return ocp_delta_apply_literal(o->ap, data, len);
}

static int
count_block(void *arg, int32_t idx, const uint8_t **data, size_t *len)
{
	struct out *o = arg;
	int r = ocp_delta_apply_block(o->ap, idx, data, len);

	if (!r)
		o->rs->s->st.matched_data += (int64_t)*len;
	return r;
}

static int
out_write(void *arg, const uint8_t *buf, size_t len)
{
	struct out *o = arg;
	int r = ocp_csum_update(&o->sum, buf, len);

	if (r || o->discard)
		return r;
	if (o->obuf)
		return out_buffered(o, buf, len);
	return oce_sparse_write(&o->w, buf, len);
}

/* In place, a block already at its own offset: summed, not written (upstream skip_matched()). */
static int
out_skip(void *arg, const uint8_t *buf, size_t len)
{
	struct out *o = arg;
	int r = ocp_csum_update(&o->sum, buf, len);

	if (r)
		return r;
	if (o->discard) {
		o->w.off += (off_t)len;
		return 0;
	}
	return oce_sparse_skip(&o->w, buf, len);
}

static int
basis_read(void *arg, uint64_t off, uint8_t *buf, size_t len)
{
	struct out *o = arg;
	size_t got = 0;

	while (got < len) {
		ssize_t n = o->basis_fd >= 0 ? pread(o->basis_fd, buf + got, len - got, (off_t)(off + got)) : 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			/* The basis shrank under us: the sum check will catch it. */
			memset(buf + got, 0, len - got);
			break;
		}
		got += (size_t)n;
	}
	return 0;
}

/*
 * Blocks of the basis from a read-ahead buffer filled BASIS_RA_SIZE at a
 * time (one pread instead of one per block when blocks come in order, as
 * they mostly do); a basis that shrank reads as zeros, as in basis_read().
 * A pending run points into the buffer, so it is written before a refill.
 */
static int
basis_view(void *arg, uint64_t off, size_t len, const uint8_t **p)
{
	struct out *o = arg;
	size_t want = len > BASIS_RA_SIZE ? len : BASIS_RA_SIZE;
	int r;

	if (off >= o->raoff && off - o->raoff <= o->ralen && len <= o->ralen - (off - o->raoff)) {
		*p = o->ra + (off - o->raoff);
		return 0;
	}
	r = out_flush(o);
	if (r)
		return r;
	if (want > BASIS_RA_SIZE) {
		uint8_t *n = realloc(o->ra, want);

		if (!n)
			return -ENOMEM;
		o->ra = n;
	}
	o->ralen = 0;
	o->raoff = off;
	if (o->basis_fd >= 0) {
		/* Only what the file holds: the rest of a short read is not zeroed. */
		while (o->ralen < want) {
			ssize_t n = pread(o->basis_fd, o->ra + o->ralen, want - o->ralen,
					  (off_t)(off + o->ralen));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				break;
			o->ralen += (size_t)n;
		}
	}
	if (o->ralen < len) {
		memset(o->ra + o->ralen, 0, len - o->ralen);
		o->ralen = len;
	}
	*p = o->ra;
	return 0;
}

/*
 * Room to gather one token unit that a frame boundary cuts: a compressed
 * unit, or a plain literal unit, which ocp_tok_unit_len() counts whole
 * (its 4-byte length and up to OCP_CHUNK_SIZE bytes). 2 * OCP_TOK_UNIT_MAX
 * alone is 2 bytes short of the latter, so a full-chunk literal whose
 * length straddled a frame boundary failed as an invalid token.
 */
#define TOKEN_STAGE_SIZE                                                                           \
	(2 * OCP_TOK_UNIT_MAX > 4 + OCP_CHUNK_SIZE ? 2 * OCP_TOK_UNIT_MAX : 4 + OCP_CHUNK_SIZE)

/*
 * Feed the token stream to the decoder until the file's end marker, in
 * place from io's buffer; a unit that a frame boundary cuts is gathered in
 * stage, exactly to its end, so no byte past the stream is taken.
 */
static int
read_tokens(struct oce_recvside *rs, const struct ocp_tok_sink *sink, uint8_t *stage, size_t cap,
	    const uint64_t *done, int64_t size)
{
	struct ocp_io *io = rs->s->io;
	enum ocp_tok_fmt fmt = oce_tok_fmt(rs->s->compress);
	bool prog = oce_progress_on(rs->s);

	while (!ocp_tok_dec_done(rs->dec)) {
		const uint8_t *p;
		size_t have = 0;
		int n, c, need;

		if (prog)
			oce_progress_show(rs->s, (int64_t)*done, size);

		n = ocp_io_peek(io, &p);
		if (n <= 0)
			return n ? n : OCP_ECLOSED;
		c = ocp_tok_dec_feed(rs->dec, p, (size_t)n, sink);
		if (c < 0)
			return c;
		if (c > 0) {
			ocp_io_consume(io, (size_t)c);
			continue;
		}
		/* Gather one unit: its header first, then the rest it announces. */
		for (;;) {
			need = ocp_tok_unit_len(fmt, stage, have);
			if (need < 0)
				return need;
			if (need > 0 && (size_t)need <= have)
				break;
			if ((need ? (size_t)need : have + 1) > cap)
				return OCP_ETOKEN;
			n = ocp_io_peek(io, &p);
			if (n <= 0)
				return n ? n : OCP_ECLOSED;
			c = need ? need - (int)have : 1;
			if (c > n)
				c = n;
			memcpy(stage + have, p, (size_t)c);
			ocp_io_consume(io, (size_t)c);
			have += (size_t)c;
		}
		c = ocp_tok_dec_feed(rs->dec, stage, have, sink);
		if (c < 0)
			return c;
		if ((size_t)c != have)
			return OCP_ETOKEN;
	}
	return 0;
}

/*
 * The basis type comes back from the sender, so a hostile sender picks it:
 * only what our generator can have asked for is accepted (upstream
 * recv_files() refuses a fuzzy basis without --fuzzy and an alternate
 * dir past the list; it has no check for the partial dir and the backup,
 * and crashes or hangs on them, CVE-2024-12086's family). Returns 0 or a
 * protocol error, said and counted.
 */
static int
check_basis(struct oce_recvside *rs, uint16_t iflags, uint8_t basis, const char *xname)
{
	struct oce_session *s = rs->s;
	const struct oce_opts *o = s->o;

	switch (basis) {
	case OCE_BASIS_FNAME:
		return 0;
	case OCE_BASIS_PARTIAL_DIR:
		if (o->partial_dir)
			return 0;
		oce_rerror(s, "invalid basis type 0x%02x: no --partial-dir was given", basis);
		break;
	case OCE_BASIS_BACKUP:
		if (o->inplace && o->backup)
			return 0;
		oce_rerror(s, "invalid basis type 0x%02x: no --inplace backup was asked for", basis);
		break;
	case OCE_BASIS_FUZZY:
		while (xname[0] == '/' || !strncmp(xname, "../", 3))
			xname += xname[0] == '/' ? 1 : 3;
		oce_error(s, "refusing malicious fuzzy operation for %s",
			  iflags & OCE_ITEM_XNAME_FOLLOWS ? xname : "(no name)");
		break;
	default:
		if (basis < rs->nalt)
			return 0;
		oce_rerror(s, "invalid basis_dir index: %d.", basis);
		break;
	}
	s->exit_code = RERR_PROTOCOL;
	return OCP_EPROTO;
}

/* Open the basis the generator named (upstream recv_files()' fnamecmp_type switch). */
static int
open_basis(struct oce_recvside *rs, const char *name, uint8_t basis, const struct oce_place *partial)
{
	struct oce_session *s = rs->s;
	int fd = -1;

	switch (basis) {
	case OCE_BASIS_FNAME:
		return oce_open_beneath(&rs->root, name, O_RDONLY, 0);
	case OCE_BASIS_BACKUP:
		/* --inplace -b: the generator copied the file there first. */
		fd = oce_open_backup(rs, name);
		return fd >= 0 ? fd : oce_open_beneath(&rs->root, name, O_RDONLY, 0);
	case OCE_BASIS_PARTIAL_DIR:
		if (partial)
			fd = oce_open_beneath(partial->root, partial->rel, O_RDONLY, 0);
		/* The partial file went away: fall back to the file itself. */
		return fd >= 0 ? fd : oce_open_beneath(&rs->root, name, O_RDONLY, 0);
	default:
		if (basis >= rs->nalt) {
			oce_rerror(s, "invalid basis_dir index: %d.", basis);
			s->exit_code = RERR_PROTOCOL;
			return OCP_EPROTO;
		}
		if (rs->alt[basis].fd < 0)
			return -ENOENT;
		return oce_open_beneath(&rs->alt[basis], name, O_RDONLY, 0);
	}
}

/* The file being written: a temp file, or the destination itself with --inplace. */
struct dest_file {
	int dirfd, fd;
	char tmpname[NAME_MAX + 2];
	bool inplace;
};

const char *
oce_dest_fname(const struct oce_recvside *rs, const char *name, char *buf, size_t cap)
{
	return oce_full_fname(rs->s, buf, cap, rs->curr_dir, name);
}

/*
 * A read-only destination to update in place (upstream
 * open_readonly_inplace()): owner write access is added just long enough
 * to open it for writing, then the mode is put back before any data comes.
 */
static int
open_readonly_inplace(struct oce_recvside *rs, const char *name)
{
	struct stat st;
	int cfd = oce_open_beneath(&rs->root, name, O_RDONLY, 0);
	int fd, err;

	if (cfd < 0)
		return -EACCES;
	if (fstat(cfd, &st) || !S_ISREG(st.st_mode) || (st.st_mode & S_IWUSR)) {
		close(cfd);
		return -EACCES;
	}
	if (fchmod(cfd, (st.st_mode & 07777) | S_IWUSR)) {
		err = -errno;
		close(cfd);
		return err;
	}
	fd = oce_open_beneath(&rs->root, name, O_WRONLY, 0);
	if (fchmod(cfd, st.st_mode & 07777)) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		fd = err;
	}
	close(cfd);
	return fd;
}

static int
open_output(struct oce_recvside *rs, const char *name, const struct oce_file *f, struct dest_file *d)
{
	struct oce_session *s = rs->s;
	int r;

	if (s->o->inplace) {
		/* --inplace: straight into the destination, no temp file. */
		d->inplace = true;
		d->fd = oce_open_beneath(&rs->root, name, O_WRONLY | O_CREAT, 0600);
		if (d->fd == -EACCES)
			d->fd = open_readonly_inplace(rs, name);
		if (d->fd < 0) {
			oce_error(s, "open \"%s\" failed: %s (%d)", name, strerror(-d->fd), -d->fd);
			return d->fd;
		}
		(void)f;
		return 0;
	}
	d->tmpname[0] = '\0';
	/* d->dirfd may be borrowed: given back with oce_dirfd_release() */
	r = rs->tmp_err ? -rs->tmp_err
			: oce_tmpfile_borrow(&rs->root, name, rs->tmp_root.fd, &d->dirfd, &d->fd, d->tmpname);
	if (r) {
		/* Upstream names the temp file it tried: in --temp-dir, else beside the file. */
		char tmp[PATH_MAX], full[PATH_MAX + 2];
		const char *slash = strrchr(name, '/');

		if (!d->tmpname[0] && rs->tmp_err)
			snprintf(tmp, sizeof(tmp), "%s/%s.XXXXXX", s->o->temp_dir,
				 strrchr(name, '/') ? strrchr(name, '/') + 1 : name);
		else if (!d->tmpname[0])
			snprintf(tmp, sizeof(tmp), "%s", name);
		else if (s->o->temp_dir)
			snprintf(tmp, sizeof(tmp), "%s/%s", s->o->temp_dir, d->tmpname);
		else
			snprintf(tmp, sizeof(tmp), "%.*s%s", slash ? (int)(slash - name + 1) : 0,
				 name, d->tmpname);
		oce_rsyserr_xfer(s, -r, "mkstemp %s failed",
			    oce_dest_fname(rs, tmp, full, sizeof(full)));
	}
	return r;
}

/* Mark the file in flight for the signal handler: what --partial keeps, or nothing. */
static void
track_inflight(struct oce_recvside *rs, const struct oce_file *f, const char *name, const struct dest_file *d,
	       const struct oce_place *partial)
{
	const char *leaf = NULL;
	int keep = -1;

	if (d->inplace)
		return;
	if (rs->s->o->partial && !rs->s->o->partial_dir) {
		keep = oce_open_parent(&rs->root, name, &leaf);
	} else if (partial) {
		struct stat st;
		char dir[PATH_MAX];
		char *slash;

		snprintf(dir, sizeof(dir), "%s", partial->rel);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		/* Only into a partial dir that is already there: no mkdir in a handler. */
		if (partial->root->fd >= 0 &&
		    (!slash || (!oce_lstat_beneath(partial->root, dir, &st) && S_ISDIR(st.st_mode))))
			keep = oce_open_parent(partial->root, partial->rel, &leaf);
	}
	if (keep < 0)
		keep = -1;
	rs->keep_dirfd = keep;
	oce_inflight_set(d->dirfd, d->fd, d->tmpname, keep, leaf, f->mode, !rs->s->o->partial_dir);
}

static void
untrack_inflight(struct oce_recvside *rs)
{
	oce_inflight_clear();
	if (rs->keep_dirfd >= 0)
		close(rs->keep_dirfd);
	rs->keep_dirfd = -1;
}

/*
 * The transfer stopped half way (upstream cleanup.c): with --partial the
 * data so far replaces the file (its time set to 0 so it is not taken for
 * current) or goes into the partial dir; otherwise the temp file goes.
 */
static void
keep_partial(struct oce_recvside *rs, const struct oce_file *f, const char *name, struct dest_file *d,
	     const struct oce_place *partial)
{
	struct oce_session *s = rs->s;
	struct oce_place self;

	if (d->inplace)
		return;
	if (s->o->partial) {
		struct oce_file old = *f;

		if (!partial) {
			self.root = &rs->root;
			snprintf(self.rel, sizeof(self.rel), "%s", name);
			partial = &self;
			old.mtime = 0;
			old.mtime_nsec = 0;
		}
		if (!oce_partial_dir(rs, partial, true) &&
		    oce_finish_transfer(rs, &old, partial, d->dirfd, d->tmpname, NULL, !s->o->partial_dir,
					!s->o->partial_dir)) {
			d->tmpname[0] = '\0';
			return;
		}
	}
	unlinkat(d->dirfd, d->tmpname, 0);
	d->tmpname[0] = '\0';
}

/* Upstream receive_data() plus what recv_files() does with the result. */
static int
receive_file(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, uint16_t iflags, uint8_t basis)
{
	struct oce_session *s = rs->s;
	const struct oce_opts *op = s->o;
	const char *name = rs->solo ? rs->solo : f->name;
	uint8_t head[OCP_SUM_HEAD_SIZE], theirs[OCP_CSUM_DIGEST_MAX], ours[OCP_CSUM_DIGEST_MAX];
	struct ocp_sum_head h;
	struct ocp_delta_apply ap = {0};
	struct out o = {.rs = rs, .basis_fd = -1};
	struct ocp_tok_sink sink;
	struct dest_file d = {.dirfd = -1, .fd = -1};
	struct oce_place pplace, dplace;
	const struct oce_place *partial = NULL;
	struct ocp_apply_opts aopts = {0};
	struct stat bst;
	uint8_t *stage = NULL;
	bool redo = rs->rphase > 0;
	/* --append[-verify] holds for the first pass only; a redo rewrites the file in place. */
	int append = redo ? 0 : op->append;
	const char *fmt = oce_stdout_format(op);
	uint64_t data_in0 = s->io->data_in; /* %b: from here, as upstream's remember_initial_stats() */
	enum oce_meta_step meta_step = OCE_META_NONE;
	bool fd_meta;
	int r, recv_ok, meta_err = 0;

	dplace.root = &rs->root;
	snprintf(dplace.rel, sizeof(dplace.rel), "%s", name);
	if (op->partial_dir && oce_partial_name(rs, name, &pplace))
		partial = &pplace;
	r = ocp_io_read(s->io, head, sizeof(head));
	if (r)
		return r;
	r = ocp_dec_sum_head(head, sizeof(head), s->protocol, s->csum_len, &h);
	if (r < 0) {
		oce_error(s, "Invalid checksum length or count from the sender");
		s->exit_code = RERR_PROTOCOL;
		return r;
	}
	/*
	 * Opened even without block sums: its mode is what the file keeps
	 * without -p. With -p, no blocks, no --append and no --inplace nothing
	 * reads it (finish_meta() takes the sender's mode): a new file's
	 * failing open is saved, one per file of an initial copy.
	 */
	if (h.count == 0 && op->perms && !append && !op->inplace && basis == OCE_BASIS_FNAME)
		o.basis_fd = -ENOENT;
	else
		o.basis_fd = open_basis(rs, name, basis, partial);
	if (o.basis_fd == OCP_EPROTO)
		return OCP_EPROTO;
	if (o.basis_fd >= 0 && (fstat(o.basis_fd, &bst) || !S_ISREG(bst.st_mode))) {
		close(o.basis_fd);
		o.basis_fd = -1;
	}
	if (o.basis_fd < 0)
		o.basis_fd = -1;
	if (append)
		aopts.start = ocp_sum_head_flength(&h);
	o.discard = op->dry_run;
	if (!o.discard) {
		/* the temp file is known to the signal handler from its creation on */
		oce_fs_track_tmp(true);
		r = open_output(rs, name, f, &d);
		oce_fs_track_tmp(false);
		if (r) {
			__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
			o.discard = true;
		} else {
			oce_sparse_init(&o.w, rs->root.sys, d.fd, op->sparse);
			if (d.inplace && op->sparse) {
				/*
				 * Upstream receive_data(): zero runs over old data are
				 * punched out; a whole-file transfer starts from an
				 * empty file instead.
				 */
				off_t old_len = o.basis_fd >= 0 ? bst.st_size : 0;

				if (rs->whole_file && !ftruncate(d.fd, 0))
					old_len = 0;
				oce_sparse_inplace(&o.w, old_len);
			}
			o.w.off = (off_t)aopts.start;
			track_inflight(rs, f, name, &d, partial);
		}
	}
	/* Blocks at their own offset are already there when the output is the basis. */
	if (d.inplace && o.basis_fd >= 0 && (basis == OCE_BASIS_FNAME || basis == OCE_BASIS_BACKUP))
		aopts.skip = out_skip;
	r = ocp_csum_begin(&o.sum, s->csum);
	/* Small new files come in a token or two: no buffers for them. */
	if (!r && !o.discard && !o.w.sparse && !d.inplace && (h.count > 0 || f->size > 4 * OCP_CHUNK_SIZE)) {
		o.obuf = malloc(OUT_BUF_SIZE);
		o.ra = h.count > 0 ? malloc(BASIS_RA_SIZE) : NULL;
		if (!o.obuf || (h.count > 0 && !o.ra))
			r = -ENOMEM;
	}
	if (!r) {
		aopts.view = o.ra ? basis_view : NULL;
		r = ocp_delta_apply_init_ex(&ap, &h, basis_read, &o, out_write, &o, &aopts);
	}
	/* --append-verify: the whole-file sum covers the kept prefix too, when there is a basis. */
	if (!r && append > 1 && o.basis_fd >= 0 && bst.st_size > 0)
		r = ocp_delta_apply_sum_prefix(&ap, &o.sum);
	if (!r)
		r = ocp_tok_dec_start(rs->dec, h.count);
	stage = malloc(TOKEN_STAGE_SIZE);
	if (!r && !stage)
		r = -ENOMEM;
	o.ap = &ap;
	sink.literal = count_literal;
	sink.block = count_block;
	sink.arg = &o;
	oce_progress_file(s, ndx);
	oce_progress_name(s, f, iflags);
	if (!r)
		r = read_tokens(rs, &sink, stage, TOKEN_STAGE_SIZE, &ap.written, f->size);
	if (!r)
		oce_progress_end(s, f->size);
	if (!r)
		r = ocp_io_read(s->io, theirs, (size_t)s->csum_len);
	if (o.obuf) {
		/* Also after an error: a kept partial file holds what arrived. */
		int fr = out_flush(&o);

		if (!r)
			r = fr;
	}
	if (!r)
		r = ocp_csum_end(&o.sum, ours) < 0 ? -EIO : 0;
	if (!r && !o.discard)
		r = oce_sparse_finish(&o.w);
	/* --fsync: upstream receive_data() syncs once the data is in, and a failure ends the run. */
	if (!r && !o.discard && s->o->fsync && d.fd >= 0 &&
	    rs->root.sys->fsync(rs->root.sys->ctx, d.fd) < 0) {
		char full[PATH_MAX + 2];
		int e = errno;

		oce_rsyserr(s, e, "fsync failed on %s", oce_dest_fname(rs, name, full, sizeof(full)));
		s->exit_code = RERR_FILEIO;
		keep_partial(rs, f, name, &d, partial);
		r = -e;
		goto out;
	}
	/*
	 * In place the new data may be shorter than the old. Upstream only
	 * reports a failed cut (the data itself is in), and goes on.
	 */
	if (!r && !o.discard && d.inplace &&
	    rs->root.sys->ftruncate(rs->root.sys->ctx, d.fd, (off_t)ocp_delta_apply_offset(&ap)) < 0) {
		char full[PATH_MAX + 2];
		int e = errno;

		oce_rsyserr_xfer(s, e, "ftruncate failed on %s", oce_dest_fname(rs, name, full, sizeof(full)));
		__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
	}
	if (r) {
		if (!ocp_is_proto_err(r) && r != -ENOMEM && !o.discard && d.fd >= 0 && r != OCP_ECLOSED &&
		    r != s->io->rerr) {
			char full[PATH_MAX + 2];

			/* Upstream receive_data(): the destination's name, not the temp file's. */
			oce_rsyserr_xfer(s, -r, "write failed on %s", oce_dest_fname(rs, name, full, sizeof(full)));
			s->exit_code = RERR_FILEIO;
		}
		if (!o.discard)
			keep_partial(rs, f, name, &d, partial);
		goto out;
	}
	recv_ok = !memcmp(ours, theirs, (size_t)s->csum_len);
	/* Logged before the file is put in place, as upstream (a backup note follows it). */
	if (!oce_progress_logged_before(s))
		oce_log_item_xfer(s, f, iflags, NULL, s->io->data_in - data_in0, 0);
	/*
	 * A verified temp file that goes straight into place gets its
	 * attributes through its descriptor before the close, as the local
	 * copy does: no look-up of its name for each of them. --inplace,
	 * --backup (made before them, as upstream) and --partial-dir take the
	 * path route below.
	 */
	fd_meta = recv_ok && !o.discard && d.fd >= 0 && !d.inplace && !op->backup && !partial;
	if (fd_meta)
		meta_err = oce_finish_meta_fd(rs, f, d.fd, o.basis_fd >= 0 ? &bst : NULL, &meta_step);
	if (d.fd >= 0) {
		oce_inflight_forget_fd();
		close(d.fd);
		d.fd = -1;
	}
	if (o.discard) {
		/* nothing was written */
	} else if (fd_meta) {
		if (!oce_finish_commit(rs, f, &dplace, d.dirfd, d.tmpname, o.basis_fd >= 0 ? &bst : NULL,
				       meta_err, meta_step))
			recv_ok = -1;
		d.tmpname[0] = '\0';
	} else if (recv_ok || d.inplace) {
		if (!oce_finish_transfer_ex(rs, f, &dplace, d.dirfd, d.tmpname, partial, recv_ok, true,
					    o.basis_fd >= 0 ? &bst : NULL)) {
			recv_ok = -1;
			/* no backup, no update: the run ends (upstream exit_cleanup(RERR_FILEIO)) */
			if (rs->backup_failed) {
				r = -EIO;
				goto out;
			}
		} else if (basis == OCE_BASIS_PARTIAL_DIR && partial) {
			oce_unlink_beneath(partial->root, partial->rel, false);
			oce_partial_dir(rs, partial, false);
		}
		d.tmpname[0] = '\0';
	} else if (op->partial) {
		const struct oce_place *keep = partial ? partial : &dplace;

		if (oce_partial_dir(rs, keep, true)) {
			oce_error(s, "Unable to create partial-dir for %s -- discarding partial file.", name);
			recv_ok = -1;
		} else if (!oce_finish_transfer_ex(rs, f, keep, d.dirfd, d.tmpname, NULL, false,
						   !op->partial_dir, o.basis_fd >= 0 ? &bst : NULL)) {
			recv_ok = -1;
		} else {
			d.tmpname[0] = '\0';
		}
	}
	if (recv_ok == 0) {
		const char *kept = !op->partial && !op->inplace ? "discarded"
				   : op->partial_dir		 ? "put into partial-dir"
								 : "retained";

		if (!redo) {
			if (op->info[OCE_INFO_NAME] >= 1 || (fmt && strstr(fmt, "%i")))
				oce_warning(s, "WARNING: %s failed verification -- update %s (will try again).",
					    name, kept);
			r = oce_recv_event(rs, OCE_EV_REDO, ndx);
		} else {
			oce_error(s, "ERROR: %s failed verification -- update %s.", name, kept);
			__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
			s->exit_code = s->exit_code ? s->exit_code : RERR_PARTIAL;
		}
	}
out:
	if (d.tmpname[0] && d.dirfd >= 0)
		unlinkat(d.dirfd, d.tmpname, 0);
	/* covered until it is renamed or removed, and before its directory is closed */
	untrack_inflight(rs);
	if (d.fd >= 0)
		close(d.fd);
	oce_dirfd_release(&rs->root, d.dirfd);
	if (o.basis_fd >= 0)
		close(o.basis_fd);
	ocp_csum_free(&o.sum);
	ocp_delta_apply_free(&ap);
	free(o.obuf);
	free(o.ra);
	free(stage);
	return r;
}

/*
 * After the last phase: stats (client), then the goodbye (upstream
 * do_recv()'s child), in two steps. The goodbye is the sender's echo of
 * the generator's last NDX_DONE, which with --delete-after or
 * --delete-delay comes only after the late deletions: the sequential mode
 * runs this from the generator's own wait, so reading on here would wait
 * for a write that the same thread has not made yet.
 */
static int
recv_finish(struct oce_recvside *rs)
{
	struct oce_session *s = rs->s;
	int r = 0;

	if (!s->am_server)
		r = oce_recv_stats(s);
	if (!r)
		r = oce_recv_event(rs, OCE_EV_DONE, 0);
	if (s->protocol >= 31)
		rs->goodbye_due = true;
	else
		rs->recv_done = true;
	return r;
}

static int
recv_goodbye(struct oce_recvside *rs)
{
	struct oce_session *s = rs->s;
	char xname[8];
	int32_t ndx;
	uint16_t iflags;
	uint8_t basis;
	int r;

	rs->goodbye_due = false;
	rs->recv_done = true;
	r = oce_read_item(s, &ndx, &iflags, &basis, xname, sizeof(xname));
	if (!r && ndx != OCE_NDX_DONE) {
		oce_error(s, "Invalid packet at end of run (%d) [receiver]", ndx);
		s->exit_code = RERR_PROTOCOL;
		r = OCP_EPROTO;
	}
	if (!r)
		r = oce_recv_event(rs, OCE_EV_DONE, 0);
	return r;
}

/*
 * The receiver failed on its own. Upstream's receiver is a process: it says
 * why and prints its own closing line; its generator then ends quietly
 * (MSG_ERROR_EXIT between them), or, when the receiver lost the
 * connection, reports that it lost its own link too (exit_shown stays
 * false for that).
 */
static void
recv_failed(struct oce_recvside *rs, int r)
{
	struct oce_session *s = rs->s;
	const char *old;
	int code;

	if (__atomic_load_n(&rs->gen_failed, __ATOMIC_ACQUIRE))
		return;
	old = oce_set_role("receiver");
	oce_report_failure(s, r);
	code = s->exit_code ? s->exit_code : oce_exit_code_for(r);
	if (!s->peer_exit) {
		pthread_mutex_lock(&s->log_lock);
		oce_print_exit(stderr, code, __FILE__, __LINE__, oce_who(s));
		pthread_mutex_unlock(&s->log_lock);
		if (code != RERR_STREAMIO)
			s->exit_shown = true;
	}
	oce_set_role(old);
}

static int recv_step(struct oce_recvside *rs);

int
oce_recv_step(struct oce_recvside *rs)
{
	const char *old = oce_set_role("receiver");
	int r = recv_step(rs);

	oce_set_role(old);
	return r;
}

static int
recv_step(struct oce_recvside *rs)
{
	struct oce_session *s = rs->s;
	char xname[PATH_MAX];
	int32_t ndx;
	uint16_t iflags;
	uint8_t basis;
	struct oce_file *f;
	int r;

	if (rs->goodbye_due)
		return recv_goodbye(rs);
	r = oce_read_item(s, &ndx, &iflags, &basis, xname, sizeof(xname));
	if (r)
		return r;
	if (ndx == OCE_NDX_DONE) {
		oce_progress_done(s);
		if (++rs->rphase > 2)
			return recv_finish(rs);
		return oce_recv_event(rs, OCE_EV_DONE, 0);
	}
	rs->items_read++;
	f = s->fl.v[ndx];
	if (!(iflags & OCE_ITEM_TRANSFER)) {
		oce_maybe_log_item(s, f, iflags, xname);
		if (iflags & OCE_ITEM_IS_NEW)
			oce_count_created(&s->st, f->mode);
		return 0;
	}
	/* the module's excludes hold whatever a sender asks (upstream recv_files()) */
	if (s->flt && strcmp(rs->solo ? rs->solo : f->name, ".") &&
	    oce_filter_daemon_check(s, rs->solo ? rs->solo : f->name, S_ISDIR(f->mode)) < 0) {
		oce_rerror(s, "ERROR: rejecting file transfer request for daemon excluded file: %s",
			   rs->solo ? rs->solo : f->name);
		s->exit_code = RERR_PROTOCOL;
		return OCP_EPROTO;
	}
	if (!__atomic_load_n(&f->requested, __ATOMIC_ACQUIRE)) {
		/* a hostile sender choosing what we write (CVE-2024-12087's family) */
		oce_error(s, "sender sent data for %s, which was not asked for [receiver]", f->name);
		s->exit_code = RERR_PROTOCOL;
		return OCP_EPROTO;
	}
	if (rs->rphase == 2) {
		oce_error(s, "got transfer request in phase 2 [receiver]");
		s->exit_code = RERR_PROTOCOL;
		return OCP_EPROTO;
	}
	if (!S_ISREG(f->mode)) {
		oce_error(s, "sender tried to send data for a non-regular file: %s", f->name);
		s->exit_code = RERR_PROTOCOL;
		return OCP_EPROTO;
	}
	r = check_basis(rs, iflags, basis, xname);
	if (r)
		return r;
	if (rs->rphase == 0 && (iflags & OCE_ITEM_IS_NEW))
		s->st.created_files++;
	s->st.xferred_files++;
	s->st.total_transferred_size += f->size;
	if (s->o->dry_run) {
		oce_log_item(s, f, iflags, NULL);
		return 0;
	}
	return receive_file(rs, f, ndx, iflags, basis);
}

static void *
recv_thread(void *arg)
{
	struct oce_recvside *rs = arg;
	struct oce_session *s = rs->s;
	int r = 0;

	oce_set_role("receiver");
	if (s->am_server)
		oce_set_msg_hook(s, recv_msg_hook, rs);
	while (!r && !rs->recv_done) {
		/*
		 * Before reading on, give the generator what is still pending,
		 * waiting a little: if it is blocked writing to the sender, the
		 * wait times out and reading is what unblocks it; if it is waiting
		 * for these events, they get through.
		 */
		while (rs->fifo_n && ocq_send_timeout(&rs->tx, rs->fifo[0], 10 * 1000 * 1000) == 0) {
			memmove(rs->fifo, rs->fifo + 1, --rs->fifo_n * sizeof(*rs->fifo));
		}
		r = oce_recv_step(rs);
	}
	if (s->am_server)
		oce_set_msg_hook(s, NULL, NULL);
	if (r) {
		recv_failed(rs, r);
		rs->recv_err = r;
		oce_recv_event(rs, OCE_EV_FAILED, r);
	}
	/* Nothing is left to read: now it is safe to wait for room. */
	for (size_t i = 0; i < rs->fifo_n; i++)
		if (ocq_send(&rs->tx, rs->fifo[i]))
			free(rs->fifo[i]);
	rs->fifo_n = 0;
	ocq_tx_release(&rs->tx);
	return NULL;
}

int
oce_wait_for_receiver(struct oce_recvside *rs)
{
	void *item;
	int r;

	if (rs->threaded) {
		r = ocp_io_flush(rs->wio);
		if (r)
			return r;
		r = ocq_recv(&rs->rx, &item);
		if (r)
			return rs->recv_err ? rs->recv_err : OCP_ECLOSED;
		return oce_gen_event(rs, item);
	}
	for (;;) {
		if (rs->fifo_n) {
			struct oce_ev *ev = rs->fifo[0];

			memmove(rs->fifo, rs->fifo + 1, --rs->fifo_n * sizeof(*rs->fifo));
			return oce_gen_event(rs, ev);
		}
		if (rs->recv_done)
			return rs->recv_err ? rs->recv_err : OCP_ECLOSED;
		r = ocp_io_flush(rs->wio);
		if (!r) {
			r = oce_recv_step(rs);
			if (r)
				recv_failed(rs, r);
		}
		if (r) {
			rs->recv_err = r;
			rs->recv_done = true;
			return r;
		}
	}
}

int
oce_catch_up(struct oce_recvside *rs)
{
	int r = 0;

	/* a MSG_NO_SEND answers a request too (the sender could not open the file) */
	if (rs->items_read + rs->s->no_sends >= rs->items_written)
		return 0;
	r = ocp_io_flush(rs->wio);
	while (!r && rs->items_read + rs->s->no_sends < rs->items_written && !rs->recv_done) {
		rs->s->seq_wait = true;
		r = oce_recv_step(rs);
		rs->s->seq_wait = false;
		if (r == OCP_IO_BREAK)
			r = 0; /* it was that answer: count again */
		else if (r)
			recv_failed(rs, r);
	}
	if (r) {
		rs->recv_err = r;
		rs->recv_done = true;
	}
	return r;
}

/* The destination directory as upstream's curr_dir holds it, for messages. */
static int
set_curr_dir(struct oce_recvside *rs, const char *dir)
{
	char buf[PATH_MAX];

	rs->curr_dir = strdup(oce_abs_dir(buf, sizeof(buf), NULL, dir));
	return rs->curr_dir ? 0 : -ENOMEM;
}

/*
 * A dry run into a destination directory that is not there makes none: its
 * root is then an empty directory that is already removed, in which every
 * name is missing, as upstream's generator takes the tree to be.
 */
static int
phantom_root(struct oce_recvside *rs)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/.oc-rsync-dry.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(path))
		return -errno;
	r = oce_root_open(&rs->root, path, false, &oce_fs_sys_default);
	rmdir(path);
	return r;
}

/*
 * --mkpath (upstream make_path()): make the missing directories of path,
 * all of it or all but its last name. How many were made, or -(made + 1)
 * on a failure (errno set). A dry run makes none but counts them.
 */
/* mkdir(2), beneath the module root in a daemon session without chroot (fs.h). */
static int
dest_mkdir(int confine_fd, const char *path)
{
	int r;

	if (confine_fd < 0)
		return mkdir(path, 0777);
	r = oce_mkdir_confined(confine_fd, path);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

static int
make_dest_path(int confine_fd, char *path, bool drop_name, bool dry_run)
{
	char *end, *p;
	int made = 0;

	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (drop_name) {
		end = strrchr(path, '/');
		if (!end || end == path)
			return 0;
		*end = '\0';
	} else {
		end = path + strlen(path);
	}
	/* the deepest part that is there */
	for (p = end;;) {
		struct stat st;

		if (dry_run ? !stat(path, &st) : !dest_mkdir(confine_fd, path)) {
			if (dry_run)
				errno = S_ISDIR(st.st_mode) ? EEXIST : ENOTDIR;
			else {
				made++;
				break;
			}
		}
		if (errno != ENOENT) {
			if (errno != EEXIST || (!stat(path, &st) && !S_ISDIR(st.st_mode)))
				made = -made - 1;
			break;
		}
		for (;;) {
			if (p == path) {
				p = NULL; /* nothing of a relative path is there: from "." */
				goto found;
			}
			if (*--p == '/') {
				if (p == path)
					goto found; /* "/" is there */
				*p = '\0';
				break;
			}
		}
	}
found:
	/* then each missing one below it */
	while (p != end) {
		if (p)
			*p = '/';
		else
			p = path;
		p += strlen(p);
		if (made < 0)
			continue;
		if (dry_run || !dest_mkdir(confine_fd, path))
			made++;
		else
			made = -made - 1;
	}
	if (drop_name)
		*end = '/';
	return made;
}

/*
 * Where the files go (upstream get_local_name()): into dest as a
 * directory (created if missing), or, for a single non-directory, onto
 * dest itself as a new name.
 */
static int
open_dest(struct oce_recvside *rs)
{
	struct oce_session *s = rs->s;
	char *dest = strdup(s->dest && *s->dest ? s->dest : ".");
	size_t len = strlen(dest);
	bool trailing = len > 1 && dest[len - 1] == '/';
	const char *fmt = oce_stdout_format(s->o);
	char fbuf[PATH_MAX + 2];
	struct stat st;
	int r;

	if (!dest)
		return -ENOMEM;
	/* The module's rules name the destination too (upstream get_local_name()). */
	if (s->flt && strcmp(dest, ".")) {
		char clean[PATH_MAX], *sl;

		snprintf(clean, sizeof(clean), "%s", dest);
		sl = strrchr(clean, '/');
		if (sl && (!sl[1] || (sl[1] == '.' && !sl[2])))
			*sl = '\0';
		oce_filter_daemon_dir(s, ".");
		if (strcmp(clean, ".") && (oce_filter_daemon_check(s, clean, false) < 0 ||
					   oce_filter_daemon_check(s, clean, true) < 0)) {
			oce_rerror(s, "ERROR: daemon has excluded destination \"%s\"", dest);
			s->exit_code = RERR_FILESELECT;
			free(dest);
			return OCP_EFILTER;
		}
	}
	r = stat(dest, &st) ? -errno : 0;
	if (s->o->mkpath && r < 0 && (strchr(dest, '/') || s->fl.n > 1)) {
		int made = make_dest_path(oce_confine_fd(s), dest, !(s->fl.n > 1 && !trailing), s->o->dry_run);

		if (made < 0) {
			oce_rsyserr(s, errno, "mkdir %s failed",
				    oce_full_fname(rs->s, fbuf, sizeof(fbuf), NULL, dest));
			s->exit_code = RERR_FILEIO;
			r = -errno;
			goto out;
		}
		if (made && (s->o->info[OCE_INFO_NAME] >= 1 || (fmt && strstr(fmt, "%i")))) {
			char *cut = strrchr(dest, '/');

			if (cut && (s->fl.n == 1 || trailing))
				*cut = '\0';
			oce_info(s, "created %d director%s for %s", made, made == 1 ? "y" : "ies", dest);
			if (cut && (s->fl.n == 1 || trailing))
				*cut = '/';
		}
		if (made)
			r = stat(dest, &st) ? -errno : 0;
	}
	if (r == 0) {
		if (S_ISDIR(st.st_mode)) {
			r = oce_root_open_confined(&rs->root, oce_confine_fd(s), dest, false, oce_fs_sys_active());
			if (r) {
				/* upstream's change_dir#1 (a daemon's confined root refuses a way out) */
				oce_rsyserr(s, -r, "change_dir#1 %s failed",
					    oce_full_fname(rs->s, fbuf, sizeof(fbuf), NULL, dest));
				s->exit_code = RERR_FILESELECT;
				goto out;
			}
			r = set_curr_dir(rs, dest);
			goto out;
		}
		if (s->fl.n > 1) {
			oce_rerror(s, "ERROR: destination must be a directory when copying more than 1 file");
			s->exit_code = RERR_FILESELECT;
			r = -ENOTDIR;
			goto out;
		}
	} else if (r != -ENOENT) {
		oce_rsyserr(s, -r, "ERROR: cannot stat destination %s",
			    oce_full_fname(rs->s, fbuf, sizeof(fbuf), NULL, dest));
		s->exit_code = RERR_FILESELECT;
		goto out;
	}
	if (s->fl.n > 1 || trailing || (s->fl.n == 1 && S_ISDIR(s->fl.v[0]->mode))) {
		while (len > 1 && dest[len - 1] == '/')
			dest[--len] = '\0';
		if (r == 0) {
			oce_rerror(s, "ERROR: destination path is not a directory");
			s->exit_code = RERR_SYNTAX;
			r = -ENOTDIR;
			goto out;
		}
		if (s->o->dry_run)
			r = phantom_root(rs);
		else
			r = oce_root_open_confined(&rs->root, oce_confine_fd(s), dest, true, oce_fs_sys_active());
		if (r) {
			oce_rsyserr(s, -r, "mkdir %s failed",
				    oce_full_fname(rs->s, fbuf, sizeof(fbuf), NULL, dest));
			s->exit_code = RERR_FILEIO;
			goto out;
		}
		r = set_curr_dir(rs, dest);
		if (r)
			goto out;
		if (s->fl.n && !strcmp(s->fl.v[0]->name, "."))
			s->fl.v[0]->dir_created = true;
		if (s->o->info[OCE_INFO_NAME] >= 1 || (fmt && strstr(fmt, "%i")))
			oce_info(s, "created directory %s", dest);
		goto out;
	}
	/* A single file under a new name: the root is its directory. */
	rs->solo_buf = strdup(strrchr(dest, '/') ? strrchr(dest, '/') + 1 : dest);
	if (!rs->solo_buf) {
		r = -ENOMEM;
		goto out;
	}
	rs->solo = rs->solo_buf;
	if (strrchr(dest, '/')) {
		char *slash = strrchr(dest, '/');

		*slash = '\0';
		if (s->o->dry_run && s->o->mkpath && stat(slash == dest ? "/" : dest, &st))
			r = phantom_root(rs); /* --mkpath would have made it (upstream #880) */
		else
			r = oce_root_open_confined(&rs->root, oce_confine_fd(s), slash == dest ? "/" : dest, false,
					  oce_fs_sys_active());
		if (!r)
			r = set_curr_dir(rs, slash == dest ? "/" : dest);
	} else {
		r = oce_root_open_confined(&rs->root, oce_confine_fd(s), ".", false, oce_fs_sys_active());
		if (!r)
			r = set_curr_dir(rs, ".");
	}
	if (r) {
		/* dest is cut at its last slash here, as upstream's dest_path is. */
		oce_rsyserr(s, -r, "change_dir#3 %s failed",
			    oce_full_fname(rs->s, fbuf, sizeof(fbuf), NULL, dest));
		s->exit_code = RERR_FILESELECT;
	}
out:
	if (!r)
		oce_filter_daemon_dir(s, rs->solo && !strcmp(dest, rs->solo) ? "." : dest);
	free(dest);
	return r;
}

/* Join t within secs seconds: true when it has ended. */
static bool
join_for(pthread_t t, int secs)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

/*
 * End the socket's writer once the receiver is done (r: how the run went)
 * and free it: returns its write error, or 0. After a failure the peer may
 * have stopped reading: the writer gets a few seconds, then a daemon's
 * thread shuts the socket's write half to free it, and a process leaves
 * it (and its memory) to exit.
 */
static int
wout_end(struct oce_session *s, struct oce_wout *w, int r)
{
	int e = oce_wout_stop(w, r ? 5 : 0);

	if (!w->stopped && s->dmod && s->dmod->in_thread) {
		shutdown(w->gio->fd_out, SHUT_WR);
		e = oce_wout_stop(w, 0);
	}
	if (w->stopped)
		free(w);
	return e;
}

/* A receiving side for s, nothing opened yet; NULL when out of memory. */
static struct oce_recvside *
recvside_new(struct oce_session *s)
{
	struct oce_recvside *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->s = s;
	rs->root.fd = -1;
	/* oce_finish_close() runs even when open_dest() fails first. */
	rs->tmp_root.fd = rs->pdir_root.fd = rs->bak_root.fd = -1;
	rs->keep_dirfd = -1;
	s->umask = umask(0);
	umask(s->umask);
	s->am_root = geteuid() == 0;
	return rs;
}

/* What recvside_new() and open_dest() gave. */
static void
recvside_free(struct oce_recvside *rs)
{
	oce_finish_close(rs);
	oce_root_close(&rs->root);
	free(rs->solo_buf);
	free(rs->curr_dir);
	free(rs);
}

int
oce_receiving_run(struct oce_session *s)
{
	struct oce_recvside *rs = recvside_new(s);
	struct ocp_io *wio = NULL;
	bool started = false, joined = false;
	int r;

	if (!rs)
		return -ENOMEM;
	rs->whole_file = s->o->whole_file < 0 ? s->local : s->o->whole_file > 0;
	if (s->o->append)
		rs->whole_file = false; /* --append needs the sum head, even locally */
	/* a listing has no destination */
	r = s->o->list_only ? 0 : open_dest(rs);
	if (!r)
		r = oce_finish_open(rs);
	if (r)
		goto out;
	/*
	 * No cap on what one compressed unit expands to: upstream has none
	 * (recv_zstd_token() hands out any amount in buffer-sized pieces), so
	 * a legal zstd unit of 16 KiB that holds more than the codec's
	 * default 64 MiB (RLE blocks reach about 512 MiB) must be taken, as
	 * rsync 3.5.0 takes it (hostile.bats z_big_unit). Memory stays
	 * bounded: the decoder streams its output to the file in DBUF-sized
	 * pieces, and the sender could send the same bytes uncompressed.
	 */
	r = ocp_tok_dec_new(&rs->dec, oce_tok_fmt(s->compress), s->protocol, SIZE_MAX);
	if (r)
		goto out;
	/* Here upstream forks its generator and receiver, which may send keep-alives. */
	ocp_io_hold_keepalive(s->io, false);
	s->split_in = s->io->bytes_in;
	oce_set_role("generator");
	rs->threaded = !oce_env_off("OC_RSYNC_ASYNC") && !oce_env_off("OC_RSYNC_RECEIVER_ASYNC");
	rs->wio = s->io;
	if (rs->threaded) {
		wio = malloc(sizeof(*wio));
		r = wio ? ocp_io_split(s->io, wio) : -ENOMEM;
		if (!r)
			r = ocq_chan_create(&rs->ch, OCQ_SPSC, 1024);
		if (!r)
			r = ocq_chan_with_producers(rs->ch, 1, &rs->tx);
		if (!r)
			r = ocq_rx_open(&rs->rx, rs->ch);
		if (r)
			goto out;
		rs->wio = wio;
		s->io_w = wio;
		if (!oce_env_off("OC_RSYNC_WRITER_ASYNC")) {
			rs->wout = malloc(sizeof(*rs->wout));
			r = rs->wout ? oce_wout_start(rs->wout, wio) : -ENOMEM;
			if (r) {
				free(rs->wout);
				rs->wout = NULL;
				goto out;
			}
		}
		r = -pthread_create(&rs->thread, NULL, recv_thread, rs);
		if (r)
			goto out;
		started = true;
	}
	r = oce_generate_files(rs);
	if (!r)
		r = ocp_io_write_ndx(rs->wio, &s->ndx_out, OCE_NDX_DONE);
	if (!r)
		r = ocp_io_flush(rs->wio);
out:
	if (started && r) {
		__atomic_store_n(&rs->gen_failed, true, __ATOMIC_RELEASE);
		/*
		 * A receiver that failed on its own is ending, not reading: the
		 * input stays open, so that the sender, still writing, does not
		 * hit a closed socket (EPIPE, code 10) before our MSG_ERROR_EXIT
		 * has reached it. Otherwise it may be blocked reading: a socket's
		 * read half is shut to wake it.
		 */
		if (rs->recv_failed || shutdown(s->io->fd_in, SHUT_RD)) {
			if (!join_for(rs->thread, 2)) {
				/*
				 * Still blocked, reading a pipe that only the peer can
				 * close (or handing on its last events): leave it and its
				 * state to process exit. It had two seconds to keep what
				 * --partial asks for. A session that is a thread of a
				 * daemon has no such exit: its socket is shut both ways
				 * and the receiver waited for.
				 */
				if (!(s->dmod && s->dmod->in_thread)) {
					pthread_detach(rs->thread);
					/* what the generator said still goes out, if the peer reads */
					if (rs->wout)
						oce_wout_close(rs->wout, 2); /* kept: the receiver may still send */
					s->io_w = NULL;
					return r;
				}
				shutdown(s->io->fd_in, SHUT_RDWR);
				pthread_join(rs->thread, NULL);
			}
			joined = true;
		}
	}
	if (started) {
		if (!joined)
			pthread_join(rs->thread, NULL);
		for (void *item; ocq_try_recv(&rs->rx, &item) == 0;)
			free(item);
	}
	if (rs->wout) {
		int e = wout_end(s, rs->wout, r);

		if (!r)
			r = e;
		rs->wout = NULL;
	}
	if (!r && rs->recv_err)
		r = rs->recv_err;
	if (rs->ch) {
		ocq_rx_release(&rs->rx);
		ocq_chan_destroy(rs->ch);
	}
	if (wio)
		s->st.total_written_extra = (int64_t)wio->bytes_out;
	/*
	 * After a failure the socket is whole again (the receiver is joined),
	 * so MSG_ERROR_EXIT can still tell the sender how we ended.
	 */
	if (wio && r && s->io->fd_out < 0)
		ocp_io_rejoin(s->io, wio);
	s->io_w = NULL;
	free(wio);
	for (size_t i = 0; i < rs->fifo_n; i++)
		free(rs->fifo[i]);
	free(rs->fifo);
	free(rs->redo);
	ocp_tok_dec_free(rs->dec);
	recvside_free(rs);
	return r;
}

int
oce_local_receiving(struct oce_session *s, const struct oce_local_ops *ops, void *arg)
{
	struct oce_recvside *rs = recvside_new(s);
	int r;

	if (!rs)
		return -ENOMEM;
	rs->lops = ops;
	rs->larg = arg;
	rs->whole_file = true;
	r = open_dest(rs);
	if (!r)
		r = oce_finish_open(rs);
	if (!r) {
		oce_set_role("generator");
		r = oce_generate_files(rs);
		oce_set_role(NULL);
	}
	recvside_free(rs);
	return r;
}
