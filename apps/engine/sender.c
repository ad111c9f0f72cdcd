/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sender role (upstream sender.c send_files()): read the generator's
 * requests in order, and answer each with the file's delta against the
 * block sums it carries, then the whole-file checksum. Items the
 * generator only reports (no transfer) are echoed back, as upstream does,
 * so both sides log them in the same place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/progress.h"
#include "apps/engine/recvside.h" /* OCE_BASIS_* */
#include "apps/engine/fs.h"
#include "apps/engine/session.h"
#include "apps/engine/srcmap.h"
#include "apps/engine/util.h"
#include "ocproto/delta.h"
#include "ocproto/err.h"
#include "ocpool/ocpool.h"

/* Token format for the negotiated compressor. */
enum ocp_tok_fmt
oce_tok_fmt(enum ocp_compress c)
{
	switch (c) {
	case OCP_COMPRESS_ZLIB:
		return OCP_TOK_ZLIB;
	case OCP_COMPRESS_ZLIBX:
		return OCP_TOK_ZLIBX;
	case OCP_COMPRESS_LZ4:
		return OCP_TOK_LZ4;
	case OCP_COMPRESS_ZSTD:
		return OCP_TOK_ZSTD;
	default:
		return OCP_TOK_PLAIN;
	}
}

int
oce_read_item(struct oce_session *s, int32_t *ndx, uint16_t *iflags, uint8_t *basis, char *xname,
	      size_t xcap)
{
	int r;

	for (;;) {
		r = ocp_io_read_ndx(s->io, &s->ndx_in, ndx);
		if (r)
			return r;
		if (*ndx == OCE_NDX_DONE)
			return 0;
		if (*ndx == OCE_NDX_DEL_STATS) {
			int32_t v[5];

			for (int i = 0; i < 5 && !r; i++) {
				r = ocp_io_read_varint(s->io, &v[i]);
				if (!r && (v[i] < 0 || v[i] > 1 << 30))
					r = OCP_EPROTO;
			}
			if (r)
				return r;
			/*
			 * The receiving side's generator counted these itself and the
			 * sender only echoes them back; taking them here would race
			 * with the generator thread that reads its own counts.
			 */
			if (!s->am_sender)
				continue;
			s->st.deleted_dirs = v[1];
			s->st.deleted_symlinks = v[2];
			s->st.deleted_devices = v[3];
			s->st.deleted_specials = v[4];
			s->st.deleted_files = v[0] + v[1] + v[2] + v[3] + v[4];
			if (s->am_sender && s->am_server) {
				r = oce_write_del_stats(s, s->io);
				if (r)
					return r;
			}
			continue;
		}
		if (*ndx < 0) {
			oce_rerror(s, "Invalid file index: %d (%d - %d) [%s]", *ndx, OCE_NDX_DONE,
				   (int)s->fl.n - 1, oce_who(s));
			s->exit_code = RERR_PROTOCOL;
			return OCP_EPROTO;
		}
		break;
	}
	r = oce_io_read_shortint(s->io, iflags);
	if (r)
		return r;
	/* Upstream looks the index up only after reading its flags (flist_for_ndx()). */
	if ((size_t)*ndx >= s->fl.n) {
		oce_rerror(s, "File-list index %d not in %d - %d (read_ndx_and_attrs) [%s]", *ndx,
			   -1, (int)s->fl.n - 1, oce_who(s));
		s->exit_code = RERR_PROTOCOL;
		return OCP_EPROTO;
	}
	*basis = 0x80; /* FNAMECMP_FNAME */
	if (*iflags & OCE_ITEM_BASIS_TYPE_FOLLOWS) {
		r = oce_io_read_byte(s->io, basis);
		if (r)
			return r;
	}
	xname[0] = '\0';
	if (*iflags & OCE_ITEM_XNAME_FOLLOWS) {
		uint8_t b[2];
		size_t len;

		r = oce_io_read_byte(s->io, &b[0]);
		if (!r && (b[0] & 0x80))
			r = oce_io_read_byte(s->io, &b[1]);
		if (r)
			return r;
		len = b[0] & 0x80 ? (size_t)(b[0] & 0x7F) << 8 | b[1] : b[0];
		if (len >= xcap) {
			oce_error(s, "xname too long (%zu)", len);
			s->exit_code = RERR_PROTOCOL;
			return OCP_ETOOLONG;
		}
		r = ocp_io_read(s->io, xname, len);
		if (r)
			return r;
		xname[len] = '\0';
	}
	if (s->fl.v[*ndx]->removed) {
		oce_error(s, "refusing transfer of cleared file index %d", *ndx);
		s->exit_code = RERR_PROTOCOL;
		return OCP_EPROTO;
	}
	return 0;
}

int
oce_write_item_attrs(struct oce_session *s, struct ocp_io *io, uint16_t iflags, uint8_t basis,
		     const char *xname)
{
	int r = oce_io_write_shortint(io, iflags);

	(void)s;
	if (!r && (iflags & OCE_ITEM_BASIS_TYPE_FOLLOWS))
		r = oce_io_write_byte(io, basis);
	if (!r && (iflags & OCE_ITEM_XNAME_FOLLOWS)) {
		size_t len = strlen(xname);
		uint8_t b[2];

		if (len > 0x7FFF)
			return -EINVAL;
		if (len > 0x7F) {
			b[0] = (uint8_t)(0x80 | len >> 8);
			b[1] = (uint8_t)len;
			r = ocp_io_write_data(io, b, 2);
		} else {
			b[0] = (uint8_t)len;
			r = ocp_io_write_data(io, b, 1);
		}
		if (!r)
			r = ocp_io_write_data(io, xname, len);
	}
	return r;
}

int
oce_write_item(struct oce_session *s, struct ocp_io *io, int32_t ndx, uint16_t iflags,
	       uint8_t basis, const char *xname)
{
	int r = ocp_io_write_ndx(io, &s->ndx_out, ndx);

	return r ? r : oce_write_item_attrs(s, io, iflags, basis, xname);
}

int
oce_write_del_stats(struct oce_session *s, struct ocp_io *io)
{
	const struct oce_counters *c = &s->st;
	int32_t v[5] = {(int32_t)(c->deleted_files - c->deleted_dirs - c->deleted_symlinks -
				  c->deleted_devices - c->deleted_specials),
			(int32_t)c->deleted_dirs, (int32_t)c->deleted_symlinks,
			(int32_t)c->deleted_devices, (int32_t)c->deleted_specials};
	int r = ocp_io_write_ndx(io, &s->ndx_out, OCE_NDX_DEL_STATS);

	for (int i = 0; i < 5 && !r; i++)
		r = ocp_io_write_varint(io, v[i]);
	return r;
}

/*
 * Read a sum head and its block sums (upstream receive_sums()). With
 * head_only (--append) no block sums follow: only sig->head is filled.
 */
static int
read_sig(struct oce_session *s, struct ocp_sig *sig, bool head_only)
{
	uint8_t head[OCP_SUM_HEAD_SIZE], *buf;
	struct ocp_sum_head h;
	size_t per, len;
	int r = ocp_io_read(s->io, head, sizeof(head));

	if (r)
		return r;
	r = ocp_dec_sum_head(head, sizeof(head), s->protocol, s->csum_len, &h);
	if (r < 0) {
		oce_error(s, "Invalid checksum length or count from the peer");
		s->exit_code = RERR_PROTOCOL;
		return r;
	}
	if (head_only) {
		sig->head = h;
		return 0;
	}
	per = 4 + (size_t)h.s2length;
	if ((uint64_t)h.count * per > OCP_DELTA_DEF_SIG_MAX) {
		oce_error(s, "too many block sums (%d)", h.count);
		s->exit_code = RERR_PROTOCOL;
		return OCP_ETOOLONG;
	}
	len = sizeof(head) + (size_t)h.count * per;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, head, sizeof(head));
	r = ocp_io_read(s->io, buf + sizeof(head), len - sizeof(head));
	if (!r) {
		r = ocp_sig_dec(sig, buf, len, s->protocol, s->csum, s->seed, s->seed_fix, 0);
		r = r > 0 ? 0 : r == 0 ? OCP_ESIG : r;
	}
	free(buf);
	return r;
}

struct xfer_out {
	struct oce_session *s;
	struct ocp_io *io;
};

static int
xfer_write(void *arg, const uint8_t *buf, size_t len)
{
	struct xfer_out *x = arg;

	return ocp_io_write_data(x->io, buf, len);
}

/*
 * Tokens go to the encoder, and the bytes they cover, which are the file
 * from start to end in order, to the whole-file sum: one pass over the
 * data while the matcher has it in cache, not a second one afterwards.
 * With --append the tokens start at the appended part, which is where the
 * sum starts too (ocp_match_sum_from()); --append-verify sums from 0, so
 * its first bytes would have to be fed to the sum before matching.
 */
struct emit_sum {
	struct ocp_tok_enc *enc;
	struct ocp_csum_ctx sum;
	const uint8_t *map; /* a mapped file, or NULL */
	size_t dropped;	    /* map[0, dropped) has been given back */
};

/*
 * Pages of a mapped file the matcher has gone past are given back every
 * DROP_STEP, so the resident set stays near that instead of the file's
 * size. The matcher still reads the last byte of a matched block when it
 * restarts its rolling sum there; DROP_SLACK keeps well clear of that.
 */
#define DROP_STEP  (1u << 20)
#define DROP_SLACK (256u << 10) /* twice the largest block (128 KiB) */

static void
drop_behind(struct emit_sum *e, const uint8_t *done)
{
	size_t upto = (size_t)(done - e->map);

	if (upto < e->dropped + DROP_STEP + DROP_SLACK)
		return;
	upto = (upto - DROP_SLACK) / DROP_STEP * DROP_STEP;
	/* A read-only private file mapping: the pages come back from the
	 * page cache if anything did touch them again. */
	madvise((void *)(e->map + e->dropped), upto - e->dropped, MADV_DONTNEED);
	e->dropped = upto;
}

/* The bytes a token covers, literal data then a matched block, into the whole-file sum. */
static int
sum_token(struct ocp_csum_ctx *c, const uint8_t *lit, size_t lit_len, const uint8_t *blk,
	  size_t blk_len)
{
	int r = lit_len ? ocp_csum_update(c, lit, lit_len) : 0;

	if (!r && blk && blk_len)
		r = ocp_csum_update(c, blk, blk_len);
	return r;
}

static int
emit_and_sum(void *arg, const uint8_t *lit, size_t lit_len, int32_t token, const uint8_t *blk,
	     size_t blk_len)
{
	struct emit_sum *e = arg;
	int r = sum_token(&e->sum, lit, lit_len, blk, blk_len);

	if (!r)
		r = ocp_tok_enc_put(e->enc, lit, lit_len, token, blk, blk_len);
	if (!r && e->map)
		drop_behind(e, blk && blk_len ? blk + blk_len : lit + lit_len);
	return r;
}

/*
 * Files up to this size are read into one buffer kept across files; larger
 * ones are mapped. Mapping a small file cost an mmap, madvise and munmap
 * and its page faults, where one read does.
 */
#define SEND_READ_MAX (256 * 1024)

struct read_buf {
	uint8_t *p;
	size_t cap;
};

/*
 * Read size bytes of fd into rb. A file that shrank, or a read that
 * failed, reads as zeros from there on, with *read_err set (ENODATA, or
 * the read's errno), as upstream's map_ptr(). 0, or -ENOMEM.
 */
static int
read_small(struct read_buf *rb, int fd, size_t size, int *read_err)
{
	size_t got = 0;

	*read_err = 0;
	if (size > rb->cap) {
		uint8_t *n = realloc(rb->p, size);

		if (!n)
			return -ENOMEM;
		rb->p = n;
		rb->cap = size;
	}
	while (got < size) {
		ssize_t n = read(fd, rb->p + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*read_err = n ? errno : ENODATA;
			break;
		}
		got += (size_t)n;
	}
	memset(rb->p + got, 0, size - got);
	return 0;
}

/*
 * Open the source safely: below its root, no symlink, still a regular file.
 * A daemon session without chroot opens it beneath the module root instead
 * (fs.h, oce_open_confined()), as rsync 3.5.0's sender_open_confined(): a
 * directory symlink on the way that leads out of the module, or with -L a
 * link that does (absolute, or climbing out), is ELOOP.
 */
static int
open_source(struct oce_session *s, const struct oce_file *f, struct stat *st)
{
	int fd;

	if (oce_confine_fd(s) >= 0) {
		char path[PATH_MAX];

		if (snprintf(path, sizeof(path), "%s/%s", s->roots[f->root], f->name) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		fd = oce_open_confined(oce_confine_fd(s), path, O_RDONLY | O_NOFOLLOW);
		if (fd == -ELOOP &&
		    (s->o->copy_links || oce_follow_unsafe_link(s, s->root_fds[f->root], f->name)))
			fd = oce_open_confined(oce_confine_fd(s), path, O_RDONLY);
		if (fd < 0)
			return fd;
		goto opened;
	}
	fd = openat(s->root_fds[f->root], f->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	/* -L, or a link --copy-unsafe-links listed as its referent. */
	if (fd < 0 && errno == ELOOP &&
	    (s->o->copy_links || oce_follow_unsafe_link(s, s->root_fds[f->root], f->name)))
		fd = openat(s->root_fds[f->root], f->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
opened:
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* emit_and_sum(), with a progress line as the data goes (upstream matched()). */
struct prog_emit {
	struct oce_session *s;
	void *enc;
	int64_t ofs, size;
};

static int
prog_put(void *arg, const uint8_t *lit, size_t lit_len, int32_t token, const uint8_t *blk,
	 size_t blk_len)
{
	struct prog_emit *pe = arg;
	int r = emit_and_sum(pe->enc, lit, lit_len, token, blk, blk_len);

	pe->ofs += (int64_t)lit_len + (token >= 0 ? (int64_t)blk_len : 0);
	if (!r && (lit_len || token >= 0))
		oce_progress_show(pe->s, pe->ofs, pe->size);
	return r;
}

/* Tell the receiving side that file ndx is not coming (MSG_NO_SEND). */
static int
no_send(struct oce_session *s, int32_t ndx)
{
	if (s->protocol < 30)
		return 0;
	return ocp_io_write_msg(s->io, OCP_MSG_NO_SEND,
				(uint8_t[]){(uint8_t)ndx, (uint8_t)(ndx >> 8), (uint8_t)(ndx >> 16),
					    (uint8_t)(ndx >> 24)},
				4);
}

/*
 * The source would not open (err, a negative errno): a warning and a
 * transfer error (code 23 at a daemon's client) as upstream's, naming it
 * as upstream's full_fname() does (from the module root and " (in
 * MODULE)" in a daemon), then MSG_NO_SEND; the file is not logged. 1, or
 * the write's error.
 */
static int
open_failed(struct oce_session *s, const struct oce_file *f, int32_t ndx, int err)
{
	char dir[PATH_MAX], full[PATH_MAX + 64];
	int r;

	oce_full_fname(s, full, sizeof(full), oce_abs_dir(dir, sizeof(dir), NULL, s->roots[f->root]),
		       f->name);
	if (err == -ENOENT) {
		oce_sender_io_error(s, OCE_IOERR_VANISHED);
		oce_warning(s, "file has vanished: %s", full);
	} else {
		oce_sender_io_error(s, OCE_IOERR_GENERAL);
		oce_rsyserr_xfer(s, -err, "send_files failed to open %s", full);
	}
	r = no_send(s, ndx);
	return r ? r : 1;
}

/*
 * One requested file: 0 sent, 1 not sent after all (told with
 * MSG_NO_SEND), or an error. *read_err: the file came up short while it
 * was read (0: it did not); its whole-file sum went out spoilt, and the
 * caller reports it after the file's log line (read_errors()).
 */
static int
send_one(struct oce_session *s, struct ocp_tok_enc *enc, struct read_buf *rb, struct oce_file *f,
	 int32_t ndx, uint16_t iflags, uint8_t basis, const char *xname, int *read_err)
{
	const struct oce_opts *o = s->o;
	struct emit_sum es = {.enc = enc};
	struct ocp_sig sig = {0};
	struct ocp_match_stats ms = {0};
	/*
	 * Upstream send_files(): --append[-verify] holds for a file's first
	 * send only (the redo pass sends full sums and rewrites it in place),
	 * and the receiver updates its basis in place when that basis is the
	 * destination itself (before protocol 29: when it made no backup).
	 */
	struct ocp_match_opts mo = {
		.append = f->sent ? OCP_APPEND_OFF : (enum ocp_append)o->append,
		.updating_basis = o->inplace && (s->protocol >= 29 ? basis == OCE_BASIS_FNAME
								   : !o->backup || f->sent),
		/* Bounded false alarms, as the reference rsync 3.5.0 (Debian's) matches:
		 * a hostile signature cannot make us compute a strong sum per byte. */
		.bound_false_alarms = true,
		/* the -vv "total:" line counts what upstream's matcher counts */
		.upstream_counts = o->debug[OCE_DEBUG_DELTASUM] >= 1,
	};
	struct stat st;
	uint8_t sum[OCP_CSUM_DIGEST_MAX], head[OCP_SUM_HEAD_SIZE];
	const uint8_t *data = NULL;
	struct oce_srcmap map = {.slot = -1};
	size_t from, kept;
	int fd, r;

	*read_err = 0;
	r = read_sig(s, &sig, mo.append != OCP_APPEND_OFF);
	if (r)
		return r;
	if (mo.append)
		mo.append_len = ocp_sum_head_flength(&sig.head);
	fd = open_source(s, f, &st);
	if (fd < 0) {
		ocp_sig_free(&sig);
		return open_failed(s, f, ndx, fd);
	}
	if (mo.append && st.st_size < f->size) {
		/* It shrank since the file list: appending would make no sense. */
		oce_warning(s, "skipped diminished file: \"%s/%s\"", s->roots[f->root], f->name);
		close(fd);
		ocp_sig_free(&sig);
		r = no_send(s, ndx);
		return r ? r : 1;
	}
	if (st.st_size > 0 && st.st_size <= SEND_READ_MAX) {
		r = read_small(rb, fd, (size_t)st.st_size, read_err);
		if (r)
			goto out;
		data = rb->p;
	} else if (st.st_size > 0) {
		r = oce_srcmap_map(&map, fd, (size_t)st.st_size);
		if (r)
			goto out;
		madvise((void *)map.p, (size_t)st.st_size, MADV_SEQUENTIAL);
		data = map.p;
		es.map = map.p;
	}
	r = oce_write_item(s, s->io, ndx, iflags, basis, xname);
	if (!r) {
		ocp_enc_sum_head(head, sizeof(head), &sig.head);
		r = ocp_io_write_data(s->io, head, sizeof(head));
	}
	oce_progress_name(s, f, iflags);
	from = ocp_match_sum_from(&mo, (size_t)st.st_size);
	kept = mo.append ? (mo.append_len < (uint64_t)st.st_size ? (size_t)mo.append_len
								  : (size_t)st.st_size)
			 : 0;
	if (!r)
		r = ocp_csum_begin(&es.sum, s->csum);
	/* The sum is fed from the tokens as they go; --append-verify's sum
	 * also covers the kept prefix, which the matcher does not emit. */
	if (!r && from < kept)
		r = ocp_csum_update(&es.sum, data + from, kept - from);
	if (!r) {
		struct prog_emit pe = {s, &es, 0, st.st_size};
		bool prog = oce_progress_on(s);

		r = ocp_delta_match_ex(mo.append ? NULL : &sig, data ? data : (const uint8_t *)"",
				       (size_t)st.st_size, &mo, prog ? prog_put : emit_and_sum,
				       prog ? (void *)&pe : (void *)&es, &ms);
	}
	if (!r)
		r = ocp_csum_end(&es.sum, sum);
	/* a file that came up short: a sum that makes the receiver ask again */
	if (r >= 0 && map.p)
		*read_err = oce_srcmap_status(&map, fd);
	if (r >= 0 && *read_err)
		oce_srcmap_spoil_sum(sum, (size_t)s->csum_len);
	if (r >= 0)
		r = ocp_io_write_data(s->io, sum, (size_t)s->csum_len);
	s->st.literal_data += (int64_t)ms.literal;
	s->st.matches += (int64_t)ms.matches;
	s->st.hash_hits += (int64_t)ms.hash_hits;
	s->st.false_alarms += (int64_t)ms.false_alarms;
	/* Appending sends no blocks: the kept prefix is not matched data. */
	if (!mo.append)
		s->st.matched_data += st.st_size - (int64_t)ms.literal;
	if (r >= 0)
		oce_progress_end(s, st.st_size);
out:
	oce_srcmap_unmap(&map);
	close(fd);
	ocp_csum_free(&es.sum);
	ocp_sig_free(&sig);
	return r;
}

/*
 * After the log line of a file that came up short while it was sent: the
 * error upstream's send_files() reports once it unmaps the file (its
 * receiver gets the spoilt sum and asks again).
 */
static void
read_errors(struct oce_session *s, const struct oce_file *f, int err)
{
	char dir[PATH_MAX], full[PATH_MAX + 64];

	if (!err)
		return;
	oce_sender_io_error(s, OCE_IOERR_GENERAL);
	oce_full_fname(s, full, sizeof(full), oce_abs_dir(dir, sizeof(dir), NULL, s->roots[f->root]),
		       f->name);
	oce_rsyserr_xfer(s, err, "read errors mapping %s", full);
}

/* --- The match stage ------------------------------------------------------
 *
 * Matching a file against its block sums, and its whole-file sum, are the
 * sender's CPU work; reading requests and writing tokens are its I/O. With
 * a pool, a requested file of a middling size is matched on a worker while
 * this thread reads the next requests, and its tokens are recorded. They
 * are replayed into the token encoder here, in request order, so the
 * stream is the same bytes as when every file is sent in turn (the token
 * encoder and compressor keep state across files, and only this thread
 * uses them). Anything else that writes (an item without transfer, an
 * error, the end of a phase) first sends every file before it, and so does
 * a read that would wait (ocp_io_set_wait_hook()): the peer never waits
 * for bytes held here while we wait for its.
 *
 * Off with OC_RSYNC_ASYNC=0, on one CPU, and with --progress (whose lines
 * follow the matching as it goes).
 */

/* Below this a file is sent in turn: the hand-over would cost more than it saves. */
#define STAGE_MIN (64 * 1024)
/* Above this it is sent in turn, its pages dropped behind the matcher. */
#define STAGE_MAX (8 * 1024 * 1024)
/* Files matched or waiting to be sent, per worker. */
#define STAGE_DEPTH 2

/* One call of the matcher's emit(), kept for the replay. */
struct tok_rec {
	const uint8_t *lit, *blk;
	size_t lit_len, blk_len;
	int32_t token;
};

struct mjob {
	struct mjob *next;
	struct stage *stg;
	struct oce_file *f;
	int32_t ndx;
	uint16_t iflags;
	uint8_t basis;
	char *xname;
	struct ocp_sig sig;
	uint64_t sig_bytes; /* the data bytes its signature took on the wire (%c) */
	struct ocp_match_opts mo;
	enum ocp_csum csum;
	int fd;
	struct stat st;
	struct read_buf rb;
	struct oce_srcmap map;
	int read_err; /* as send_one()'s */
	struct tok_rec *rec;
	size_t nrec, rec_cap;
	struct ocp_csum_ctx sum;
	struct ocp_match_stats ms;
	uint8_t digest[OCP_CSUM_DIGEST_MAX];
	int r;
	bool done; /* under stg->mu */
};

struct stage {
	struct oce_session *s;
	struct ocp_tok_enc *enc;
	struct ocpool *pool;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct mjob *head, *tail;
	size_t n, depth;
	bool off;
};

static int
rec_put(void *arg, const uint8_t *lit, size_t lit_len, int32_t token, const uint8_t *blk,
	size_t blk_len)
{
	struct mjob *j = arg;
	int r = sum_token(&j->sum, lit, lit_len, blk, blk_len);

	if (r)
		return r;
	if (j->nrec == j->rec_cap) {
		size_t cap = j->rec_cap ? 2 * j->rec_cap : 64;
		struct tok_rec *n = realloc(j->rec, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		j->rec = n;
		j->rec_cap = cap;
	}
	j->rec[j->nrec++] = (struct tok_rec){lit, blk, lit_len, blk_len, token};
	return 0;
}

/* On a worker: read or map the file, match it, sum it. */
static int
mjob_run(void *arg)
{
	struct mjob *j = arg;
	struct stage *stg = j->stg;
	size_t size = (size_t)j->st.st_size;
	const uint8_t *data = (const uint8_t *)"";
	int r = 0;

	if (size > 0 && size <= SEND_READ_MAX) {
		r = read_small(&j->rb, j->fd, size, &j->read_err);
		data = j->rb.p;
	} else if (size > 0) {
		r = oce_srcmap_map(&j->map, j->fd, size);
		if (!r)
			data = j->map.p;
	}
	if (!r)
		r = ocp_csum_begin(&j->sum, j->csum);
	if (!r)
		r = ocp_delta_match_ex(&j->sig, data, size, &j->mo, rec_put, j, &j->ms);
	if (!r) {
		r = ocp_csum_end(&j->sum, j->digest);
		if (r > 0)
			r = 0; /* (the digest's length) */
	}
	if (!r && j->map.p)
		j->read_err = oce_srcmap_status(&j->map, j->fd);
	if (!r && j->read_err)
		oce_srcmap_spoil_sum(j->digest, (size_t)stg->s->csum_len);
	pthread_mutex_lock(&stg->mu);
	j->r = r;
	j->done = true;
	pthread_cond_broadcast(&stg->cv);
	pthread_mutex_unlock(&stg->mu);
	return 0;
}

static void
mjob_free(struct mjob *j)
{
	oce_srcmap_unmap(&j->map);
	if (j->fd >= 0)
		close(j->fd);
	ocp_csum_free(&j->sum);
	ocp_sig_free(&j->sig);
	free(j->rb.p);
	free(j->rec);
	free(j->xname);
	free(j);
}

/* Send the oldest file of the stage, waiting for its match; then as send_one() and the loop after it. */
static int
stage_send_head(struct stage *stg)
{
	struct oce_session *s = stg->s;
	struct mjob *j = stg->head;
	uint8_t head[OCP_SUM_HEAD_SIZE];
	uint64_t out0;
	int r;

	pthread_mutex_lock(&stg->mu);
	while (!j->done)
		pthread_cond_wait(&stg->cv, &stg->mu);
	pthread_mutex_unlock(&stg->mu);
	stg->head = j->next;
	if (!stg->head)
		stg->tail = NULL;
	stg->n--;
	r = j->r;
	out0 = s->io->data_out;
	if (!r)
		r = oce_write_item(s, s->io, j->ndx, j->iflags, j->basis, j->xname);
	if (!r) {
		ocp_enc_sum_head(head, sizeof(head), &j->sig.head);
		r = ocp_io_write_data(s->io, head, sizeof(head));
	}
	for (size_t i = 0; i < j->nrec && !r; i++) {
		const struct tok_rec *t = &j->rec[i];

		r = ocp_tok_enc_put(stg->enc, t->lit, t->lit_len, t->token, t->blk, t->blk_len);
	}
	if (!r)
		r = ocp_io_write_data(s->io, j->digest, (size_t)s->csum_len);
	s->st.literal_data += (int64_t)j->ms.literal;
	s->st.matches += (int64_t)j->ms.matches;
	s->st.hash_hits += (int64_t)j->ms.hash_hits;
	s->st.false_alarms += (int64_t)j->ms.false_alarms;
	s->st.matched_data += j->st.st_size - (int64_t)j->ms.literal;
	if (!r) {
		if (!oce_progress_logged_before(s))
			oce_log_item_xfer(s, j->f, j->iflags, NULL, j->sig_bytes, s->io->data_out - out0);
		read_errors(s, j->f, j->read_err);
		j->f->sent = true;
	}
	mjob_free(j);
	return r;
}

/* Send every file of the stage, in order. */
static int
stage_flush(struct stage *stg)
{
	int r = 0;

	while (stg->head && !r)
		r = stage_send_head(stg);
	return r;
}

/* A read is about to wait for the peer: what we hold goes first. */
static int
stage_wait_hook(void *arg)
{
	return stage_flush(arg);
}

static void
stage_init(struct stage *stg, struct oce_session *s, struct ocp_tok_enc *enc)
{
	memset(stg, 0, sizeof(*stg));
	stg->s = s;
	stg->enc = enc;
	stg->off = oce_env_off("OC_RSYNC_ASYNC") || oce_progress_on(s) || ocpool_cpu_count() < 2;
}

/* Whether file f, requested with iflags, goes through the stage (starting its pool). */
static bool
stage_takes(struct stage *stg, const struct oce_file *f)
{
	struct ocpool_config pc;
	unsigned w;

	if (stg->off || f->size < STAGE_MIN || f->size > STAGE_MAX || stg->s->o->append)
		return false;
	if (stg->pool)
		return true;
	w = ocpool_cpu_count();
	if (w > 8)
		w = 8;
	ocpool_config_init(&pc);
	pc.workers = w;
	pc.queue_capacity = (STAGE_DEPTH + 1) * w;
	if (pthread_mutex_init(&stg->mu, NULL)) {
		stg->off = true;
		return false;
	}
	if (pthread_cond_init(&stg->cv, NULL) || ocpool_create(&stg->pool, &pc)) {
		pthread_mutex_destroy(&stg->mu);
		stg->pool = NULL;
		stg->off = true;
		return false;
	}
	stg->depth = STAGE_DEPTH * w;
	ocp_io_set_wait_hook(stg->s->io, stage_wait_hook, stg);
	return true;
}

/*
 * send_one() through the stage: the sums are read and the file opened here,
 * then matched on the pool. 0 (queued, or sent), 1 (not sent after all),
 * or an error.
 */
static int
stage_add(struct stage *stg, struct oce_file *f, int32_t ndx, uint16_t iflags, uint8_t basis,
	  const char *xname)
{
	struct oce_session *s = stg->s;
	const struct oce_opts *o = s->o;
	struct mjob *j = calloc(1, sizeof(*j));
	int r;

	if (!j)
		return -ENOMEM;
	j->stg = stg;
	j->f = f;
	j->ndx = ndx;
	j->iflags = iflags;
	j->basis = basis;
	j->fd = -1;
	j->map.slot = -1; /* (nothing mapped: see oce_srcmap_unmap()) */
	j->csum = s->csum;
	/* as send_one(), without --append (stage_takes()) */
	j->mo = (struct ocp_match_opts){
		.updating_basis = o->inplace && (s->protocol >= 29 ? basis == OCE_BASIS_FNAME
								   : !o->backup || f->sent),
		.bound_false_alarms = true,
		.upstream_counts = o->debug[OCE_DEBUG_DELTASUM] >= 1,
	};
	j->xname = strdup(xname);
	j->sig_bytes = s->io->data_in;
	r = j->xname ? read_sig(s, &j->sig, false) : -ENOMEM;
	j->sig_bytes = s->io->data_in - j->sig_bytes;
	if (!r) {
		j->fd = open_source(s, f, &j->st);
		if (j->fd < 0) {
			int e = j->fd;

			mjob_free(j);
			r = stage_flush(stg);
			return r ? r : open_failed(s, f, ndx, e);
		}
	}
	if (r) {
		mjob_free(j);
		return r;
	}
	if (stg->tail)
		stg->tail->next = j;
	else
		stg->head = j;
	stg->tail = j;
	stg->n++;
	r = ocpool_submit(stg->pool, mjob_run, j, NULL);
	if (r) {
		/* no worker took it: match it here */
		mjob_run(j);
		r = 0;
	}
	while (!r && stg->n > stg->depth)
		r = stage_send_head(stg);
	return r;
}

static void
stage_end(struct stage *stg)
{
	if (!stg->pool)
		return;
	ocp_io_set_wait_hook(stg->s->io, NULL, NULL);
	/* after an error, files still on the stage are dropped once matched */
	ocpool_shutdown(stg->pool, OCPOOL_DRAIN, NULL);
	ocpool_destroy(stg->pool);
	while (stg->head) {
		struct mjob *j = stg->head;

		stg->head = j->next;
		mjob_free(j);
	}
	pthread_cond_destroy(&stg->cv);
	pthread_mutex_destroy(&stg->mu);
}

int
oce_sender_run(struct oce_session *s)
{
	struct ocp_tok_enc *enc = NULL;
	struct xfer_out xo = {s, s->io};
	int32_t saved_io_error = __atomic_load_n(&s->io_error, __ATOMIC_RELAXED);
	int phase = 0, max_phase = 2, level, r;
	struct read_buf rb = {0};
	struct stage stg;
	char xname[4096];

	level = s->compress_least ? OCP_TOK_LEVEL_LEAST : s->o->compress_level > 0 ? s->o->compress_level : 0;
	r = ocp_tok_enc_new(&enc, oce_tok_fmt(s->compress), level, s->protocol, xfer_write, &xo);
	if (r)
		return r;
	stage_init(&stg, s, enc);
	for (;;) {
		int32_t ndx;
		uint16_t iflags;
		uint8_t basis;
		struct oce_file *f;
		uint64_t in0, out0;
		int read_err;

		r = oce_read_item(s, &ndx, &iflags, &basis, xname, sizeof(xname));
		if (r)
			break;
		f = ndx >= 0 ? s->fl.v[ndx] : NULL;
		if ((iflags & OCE_ITEM_TRANSFER) && f && S_ISREG(f->mode) && phase < 2 &&
		    !s->o->dry_run && stage_takes(&stg, f)) {
			if (!f->sent && (iflags & OCE_ITEM_IS_NEW))
				s->st.created_files++;
			s->st.xferred_files++;
			s->st.total_transferred_size += f->size;
			r = stage_add(&stg, f, ndx, iflags, basis, xname);
			if (r == 1)
				r = 0;
			if (r)
				break;
			continue;
		}
		/* everything else keeps its place after the files on the stage */
		r = stage_flush(&stg);
		if (r)
			break;
		if (ndx == OCE_NDX_DONE) {
			oce_progress_done(s);
			if (++phase > max_phase)
				break;
			r = ocp_io_write_ndx(s->io, &s->ndx_out, OCE_NDX_DONE);
			if (r)
				break;
			continue;
		}
		if (!(iflags & OCE_ITEM_TRANSFER)) {
			oce_maybe_log_item(s, f, iflags, xname);
			r = oce_write_item(s, s->io, ndx, iflags, basis, xname);
			if (r)
				break;
			if (iflags & OCE_ITEM_IS_NEW)
				oce_count_created(&s->st, f->mode);
			continue;
		}
		if (phase == 2) {
			oce_error(s, "got transfer request in phase 2 [sender]");
			s->exit_code = RERR_PROTOCOL;
			r = OCP_EPROTO;
			break;
		}
		if (!S_ISREG(f->mode)) {
			oce_error(s, "refusing to send a non-regular file: %s", f->name);
			s->exit_code = RERR_PROTOCOL;
			r = OCP_EPROTO;
			break;
		}
		if (!f->sent && (iflags & OCE_ITEM_IS_NEW))
			s->st.created_files++;
		s->st.xferred_files++;
		s->st.total_transferred_size += f->size;
		if (s->o->dry_run) {
			oce_log_item(s, f, iflags, NULL);
			r = oce_write_item(s, s->io, ndx, iflags, basis, xname);
			if (r)
				break;
			continue;
		}
		oce_progress_file(s, ndx);
		in0 = s->io->data_in;
		out0 = s->io->data_out;
		r = send_one(s, enc, &rb, f, ndx, iflags, basis, xname, &read_err);
		if (r == 1) {
			r = 0;
			continue; /* not sent after all (upstream's continue) */
		}
		if (r)
			break;
		if (!oce_progress_logged_before(s))
			oce_log_item_xfer(s, f, iflags, NULL, s->io->data_in - in0, s->io->data_out - out0);
		read_errors(s, f, read_err);
		f->sent = true;
	}
	if (!r)
		r = stage_flush(&stg);
	stage_end(&stg);
	if (!r && __atomic_load_n(&s->io_error, __ATOMIC_RELAXED) != saved_io_error) {
		int32_t v = __atomic_load_n(&s->io_error, __ATOMIC_RELAXED);

		r = ocp_io_write_msg(s->io, OCP_MSG_IO_ERROR,
				     (uint8_t[]){(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
						 (uint8_t)(v >> 24)},
				     4);
	}
	/* upstream match_report(): after the files, before the last NDX_DONE */
	if (!r && s->o->debug[OCE_DEBUG_DELTASUM] >= 1)
		oce_info(s, "total: matches=%d  hash_hits=%d  false_alarms=%d data=%lld",
			 (int)s->st.matches, (int)s->st.hash_hits, (int)s->st.false_alarms,
			 (long long)s->st.literal_data);
	if (!r)
		r = ocp_io_write_ndx(s->io, &s->ndx_out, OCE_NDX_DONE);
	if (!r)
		r = ocp_io_flush(s->io);
	ocp_tok_enc_free(enc);
	free(rb.p);
	return r;
}
