/* SPDX-License-Identifier: GPL-3.0-or-later */
/* File-list entry codec and uid/gid name lists; see ocproto/flist.h. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ocproto/err.h"
#include "ocproto/flist.h"
#include "ocproto/int.h"
#include "ocproto/negotiate.h"

/* Flag bits a protocol 30-32 peer may send in an entry without atimes/crtimes. */
#define KNOWN_XFLAGS 0x3FFFu

int
ocp_flist_init(struct ocp_flist_state *st, const struct ocp_flist_opts *opts)
{
	if (!st || !opts || opts->protocol < OCP_PROTOCOL_MIN ||
	    opts->protocol > OCP_PROTOCOL_MAX || opts->csum_len < 0 ||
	    opts->csum_len > OCP_FLIST_SUM_MAX)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->opts = *opts;
	return 0;
}

static bool
varint_flags(const struct ocp_flist_state *st)
{
	return st->opts.compat & OCP_CF_VARINT_FLIST_FLAGS;
}

static bool
is_device(uint32_t mode)
{
	return S_ISCHR(mode) || S_ISBLK(mode);
}

static bool
is_special(uint32_t mode)
{
	return S_ISFIFO(mode) || S_ISSOCK(mode);
}

static bool
valid_type(uint32_t mode)
{
	return S_ISREG(mode) || S_ISDIR(mode) || S_ISLNK(mode) || is_device(mode) ||
	       is_special(mode);
}

/* Does this entry carry device numbers on the wire? */
static bool
sends_rdev(const struct ocp_flist_opts *o, uint32_t mode)
{
	return (o->devices && is_device(mode)) ||
	       (o->specials && is_special(mode) && o->protocol < 31);
}

/*
 * A name we accept from a peer: non-empty, relative, no NUL, no empty,
 * "." or ".." component (except the lone "." of the transfer root).
 * Stricter than upstream's clean_fname(), which rewrites "a//b" and "a/./b"
 * that no upstream sender produces. With -R (relative) one leading '/' is
 * allowed, as upstream's recv_file_entry() allows it then.
 */
static int
check_name(const char *s, size_t len, bool relative)
{
	size_t i, start = 0;

	if (relative && len > 1 && s[0] == '/') {
		s++;
		len--;
	}
	if (len == 0)
		return OCP_EUNSAFE;
	if (s[0] == '/')
		return OCP_EUNSAFE;
	if (memchr(s, '\0', len))
		return OCP_EUNSAFE;
	if (len == 1 && s[0] == '.')
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (i == start || (i - start == 1 && s[start] == '.') ||
		    (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return OCP_EUNSAFE;
		start = i + 1;
	}
	return 0;
}

/* Output cursor for the encoder. */
struct wr {
	uint8_t *p;
	size_t cap, n;
	int err;
};

static void
wr_res(struct wr *w, int r)
{
	if (w->err)
		return;
	if (r < 0)
		w->err = r;
	else
		w->n += (size_t)r;
}

static void
wr_bytes(struct wr *w, const void *s, size_t len)
{
	if (w->err)
		return;
	if (w->cap - w->n < len) {
		w->err = -ENOBUFS;
		return;
	}
	memcpy(w->p + w->n, s, len);
	w->n += len;
}

static void
wr_byte(struct wr *w, uint8_t b)
{
	wr_bytes(w, &b, 1);
}

#define WR(w, fn, ...) wr_res((w), fn((w)->p + (w)->n, (w)->cap - (w)->n, __VA_ARGS__))

static void
wr_flags(struct wr *w, const struct ocp_flist_state *st, uint32_t xf, uint32_t mode)
{
	if (varint_flags(st)) {
		WR(w, ocp_enc_varint, (int32_t)(xf ? xf : OCP_XMIT_EXTENDED_FLAGS));
		return;
	}
	if (!xf && !S_ISDIR(mode))
		xf |= OCP_XMIT_TOP_DIR;
	if ((xf & 0xFF00u) || !xf) {
		xf |= OCP_XMIT_EXTENDED_FLAGS;
		WR(w, ocp_enc_shortint, (uint16_t)xf);
	} else {
		wr_byte(w, (uint8_t)xf);
	}
}

/*
 * An entry is coded on a copy of the state, committed when it is whole.
 * Only the part above lastname is copied (the name changes only at the
 * commit, and is read from the state itself until then): 1 KiB less to
 * move twice per entry.
 */
#define STATE_HEAD offsetof(struct ocp_flist_state, lastname)

static void
state_begin(struct ocp_flist_state *ns, const struct ocp_flist_state *st)
{
	memcpy(ns, st, STATE_HEAD);
}

static void
state_commit(struct ocp_flist_state *st, struct ocp_flist_state *ns, const char *name, size_t len)
{
	memcpy(st, ns, STATE_HEAD);
	memcpy(st->lastname, name, len + 1);
	st->lastname_len = len;
}

/* Zero, or copy, the bytes of an entry from offset a up to offset b. */
static inline void
zero_span(struct ocp_fentry *e, size_t a, size_t b)
{
	memset((char *)e + a, 0, b - a);
}

static inline void
copy_span(struct ocp_fentry *dst, const struct ocp_fentry *src, size_t a, size_t b)
{
	memcpy((char *)dst + a, (const char *)src + a, b - a);
}

#define AT(f) offsetof(struct ocp_fentry, f)

/* A zeroed entry as far as anyone reads it: the strings empty, not wiped (2.6 KiB). */
static void
fentry_clear(struct ocp_fentry *e)
{
	e->name[0] = e->user[0] = e->group[0] = e->link[0] = '\0';
	zero_span(e, AT(name_len), AT(user));
	zero_span(e, AT(user_len), AT(group));
	zero_span(e, AT(group_len), AT(link));
	zero_span(e, AT(link_len), sizeof(*e));
}

/* *dst = *src, but only the strings' bytes up to their terminators. */
static void
fentry_copy(struct ocp_fentry *dst, const struct ocp_fentry *src)
{
	memcpy(dst->name, src->name, src->name_len + 1);
	copy_span(dst, src, AT(name_len), AT(user));
	memcpy(dst->user, src->user, src->user_len + 1);
	copy_span(dst, src, AT(user_len), AT(group));
	memcpy(dst->group, src->group, src->group_len + 1);
	copy_span(dst, src, AT(group_len), AT(link));
	memcpy(dst->link, src->link, src->link_len + 1);
	copy_span(dst, src, AT(link_len), sizeof(*dst));
}

#undef AT

int
ocp_flist_enc(struct ocp_flist_state *st, uint8_t *out, size_t cap, const struct ocp_fentry *e)
{
	const struct ocp_flist_opts *o = &st->opts;
	struct wr w = {out, cap, 0, 0};
	struct ocp_flist_state ns;
	uint32_t xf = 0;
	size_t l1 = 0, l2;
	bool user_follows = false, group_follows = false, abbrev;

	if (st->done || e->name_len != strnlen(e->name, sizeof(e->name)) ||
	    e->name_len > OCP_FLIST_NAME_MAX || check_name(e->name, e->name_len, o->relative) ||
	    !valid_type(e->mode) ||
	    e->mtime_nsec > OCP_FLIST_NSEC_MAX || e->size < 0 || e->link_len > OCP_FLIST_LINK_MAX ||
	    e->user_len > OCP_FLIST_IDNAME_MAX || e->group_len > OCP_FLIST_IDNAME_MAX)
		return -EINVAL;
	if (e->hlinked && (!o->hard_links || S_ISDIR(e->mode) || e->hlink_first >= st->count ||
			   e->hlink_first < -1))
		return -EINVAL;
	state_begin(&ns, st);

	if (S_ISDIR(e->mode)) {
		if (e->top_dir)
			xf |= OCP_XMIT_TOP_DIR;
		if (e->no_content_dir)
			xf |= OCP_XMIT_NO_CONTENT_DIR;
	}
	if (e->mode == ns.mode)
		xf |= OCP_XMIT_SAME_MODE;
	else
		ns.mode = e->mode;
	if (o->devices && is_device(e->mode)) {
		if (e->rdev_major == ns.rdev_major)
			xf |= OCP_XMIT_SAME_RDEV_MAJOR;
		else
			ns.rdev_major = e->rdev_major;
	} else if (o->specials && is_special(e->mode) && o->protocol < 31) {
		xf |= OCP_XMIT_SAME_RDEV_MAJOR;
	}
	if (!o->owner || (e->uid == ns.uid && st->lastname_len)) {
		xf |= OCP_XMIT_SAME_UID;
	} else {
		ns.uid = e->uid;
		if (!o->numeric_ids && (o->compat & OCP_CF_INC_RECURSE) && e->user_len) {
			xf |= OCP_XMIT_USER_NAME_FOLLOWS;
			user_follows = true;
		}
	}
	if (!o->group || (e->gid == ns.gid && st->lastname_len)) {
		xf |= OCP_XMIT_SAME_GID;
	} else {
		ns.gid = e->gid;
		if (!o->numeric_ids && (o->compat & OCP_CF_INC_RECURSE) && e->group_len) {
			xf |= OCP_XMIT_GROUP_NAME_FOLLOWS;
			group_follows = true;
		}
	}
	if (e->mtime == ns.mtime)
		xf |= OCP_XMIT_SAME_TIME;
	else
		ns.mtime = e->mtime;
	if (e->mtime_nsec && o->protocol >= 31)
		xf |= OCP_XMIT_MOD_NSEC;
	abbrev = e->hlinked && e->hlink_first >= 0;
	if (e->hlinked) {
		xf |= OCP_XMIT_HLINKED;
		if (!abbrev)
			xf |= OCP_XMIT_HLINK_FIRST;
	}

	while (l1 < st->lastname_len && l1 < 255 && l1 < e->name_len &&
	       e->name[l1] == st->lastname[l1])
		l1++;
	l2 = e->name_len - l1;
	if (l1)
		xf |= OCP_XMIT_SAME_NAME;
	if (l2 > 255)
		xf |= OCP_XMIT_LONG_NAME;

	wr_flags(&w, st, xf, e->mode);
	if (xf & OCP_XMIT_SAME_NAME)
		wr_byte(&w, (uint8_t)l1);
	if (xf & OCP_XMIT_LONG_NAME)
		WR(&w, ocp_enc_varint30, o->protocol, (int32_t)l2);
	else
		wr_byte(&w, (uint8_t)l2);
	wr_bytes(&w, e->name + l1, l2);

	if (abbrev) {
		WR(&w, ocp_enc_varint, e->hlink_first);
		goto done;
	}
	WR(&w, ocp_enc_varlong30, o->protocol, e->size, 3);
	if (!(xf & OCP_XMIT_SAME_TIME))
		WR(&w, ocp_enc_varlong, e->mtime, 4);
	if (xf & OCP_XMIT_MOD_NSEC)
		WR(&w, ocp_enc_varint, (int32_t)e->mtime_nsec);
	if (!(xf & OCP_XMIT_SAME_MODE))
		WR(&w, ocp_enc_int32, (int32_t)e->mode);
	if (o->owner && !(xf & OCP_XMIT_SAME_UID)) {
		WR(&w, ocp_enc_varint, (int32_t)e->uid);
		if (user_follows) {
			wr_byte(&w, (uint8_t)e->user_len);
			wr_bytes(&w, e->user, e->user_len);
		}
	}
	if (o->group && !(xf & OCP_XMIT_SAME_GID)) {
		WR(&w, ocp_enc_varint, (int32_t)e->gid);
		if (group_follows) {
			wr_byte(&w, (uint8_t)e->group_len);
			wr_bytes(&w, e->group, e->group_len);
		}
	}
	if (sends_rdev(o, e->mode)) {
		bool dev = is_device(e->mode);

		if (!(xf & OCP_XMIT_SAME_RDEV_MAJOR))
			WR(&w, ocp_enc_varint30, o->protocol, (int32_t)e->rdev_major);
		WR(&w, ocp_enc_varint, dev ? (int32_t)e->rdev_minor : 0);
	}
	if (o->links && S_ISLNK(e->mode)) {
		WR(&w, ocp_enc_varint30, o->protocol, (int32_t)e->link_len);
		wr_bytes(&w, e->link, e->link_len);
	}
	if (o->csum_len && S_ISREG(e->mode))
		wr_bytes(&w, e->sum, (size_t)o->csum_len);
done:
	if (w.err)
		return w.err;
	ns.count++;
	state_commit(st, &ns, e->name, e->name_len);
	return (int)w.n;
}

int
ocp_flist_enc_end(struct ocp_flist_state *st, uint8_t *out, size_t cap, int32_t io_error)
{
	struct wr w = {out, cap, 0, 0};

	if (st->done || io_error < 0)
		return -EINVAL;
	if (varint_flags(st)) {
		WR(&w, ocp_enc_varint, 0);
		WR(&w, ocp_enc_varint, io_error);
	} else if (io_error) {
		if (st->opts.protocol < 31 && !(st->opts.compat & OCP_CF_SAFE_FLIST))
			return -EINVAL;
		WR(&w, ocp_enc_shortint, OCP_XMIT_EXTENDED_FLAGS | OCP_XMIT_IO_ERROR_ENDLIST);
		WR(&w, ocp_enc_varint, io_error);
	} else {
		wr_byte(&w, 0);
	}
	if (w.err)
		return w.err;
	st->done = true;
	st->io_error = io_error & OCP_IOERR_VALID_MASK;
	return (int)w.n;
}

/* Input cursor for the decoder: r < 0 error, r == 0 need more. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	int r;
};

static bool
rd_ok(struct rd *r, int res)
{
	if (r->r <= 0)
		return false;
	if (res <= 0) {
		r->r = res;
		return false;
	}
	r->off += (size_t)res;
	return true;
}

#define RD(r, fn, ...) rd_ok((r), fn((r)->p + (r)->off, (r)->len - (r)->off, __VA_ARGS__))

static const uint8_t *
rd_bytes(struct rd *r, size_t n)
{
	const uint8_t *s;

	if (r->r <= 0)
		return NULL;
	if (r->len - r->off < n) {
		r->r = 0;
		return NULL;
	}
	s = r->p + r->off;
	r->off += n;
	return s;
}

static bool
rd_byte(struct rd *r, uint8_t *b)
{
	const uint8_t *s = rd_bytes(r, 1);

	if (s)
		*b = *s;
	return s != NULL;
}

static void
rd_fail(struct rd *r, int err)
{
	if (r->r > 0)
		r->r = err;
}

/* Read flags; sets *end for the end marker. Returns false when r->r says why. */
static bool
rd_flags(struct rd *r, struct ocp_flist_state *st, uint32_t *xf, bool *end, int32_t *io_error)
{
	int32_t v;
	uint8_t b;

	*end = false;
	if (varint_flags(st)) {
		if (!RD(r, ocp_dec_varint, &v))
			return false;
		*xf = (uint32_t)v;
		if (v == 0) {
			*end = true;
			return RD(r, ocp_dec_varint, io_error);
		}
		return true;
	}
	if (!rd_byte(r, &b))
		return false;
	if (b == 0) {
		*end = true;
		*io_error = 0;
		return true;
	}
	*xf = b;
	if (b & OCP_XMIT_EXTENDED_FLAGS) {
		if (!rd_byte(r, &b))
			return false;
		*xf |= (uint32_t)b << 8;
	}
	if (*xf == (OCP_XMIT_EXTENDED_FLAGS | OCP_XMIT_IO_ERROR_ENDLIST)) {
		if (st->opts.protocol < 31 && !(st->opts.compat & OCP_CF_SAFE_FLIST)) {
			rd_fail(r, OCP_EFLIST);
			return false;
		}
		*end = true;
		return RD(r, ocp_dec_varint, io_error);
	}
	return true;
}

/* Read a name-follows byte string into dst (NUL-terminated). */
static void
rd_idname(struct rd *r, char *dst, size_t *dlen)
{
	uint8_t n;
	const uint8_t *s;

	if (!rd_byte(r, &n))
		return;
	s = rd_bytes(r, n);
	if (!s)
		return;
	memcpy(dst, s, n);
	dst[n] = '\0';
	*dlen = n;
}

/* Check the flag bits against the options before reading the rest. */
static int
check_xflags(const struct ocp_flist_opts *o, uint32_t xf)
{
	if (xf & ~KNOWN_XFLAGS)
		return OCP_EFLIST;
	if ((xf & OCP_XMIT_HLINKED) && !o->hard_links)
		return OCP_EFLIST;
	if ((xf & OCP_XMIT_HLINK_FIRST) && !(xf & OCP_XMIT_HLINKED))
		return OCP_EFLIST;
	if ((xf & OCP_XMIT_MOD_NSEC) && o->protocol < 31)
		return OCP_EFLIST;
	if ((xf & OCP_XMIT_USER_NAME_FOLLOWS) &&
	    (!o->owner || o->numeric_ids || (xf & OCP_XMIT_SAME_UID)))
		return OCP_EFLIST;
	if ((xf & OCP_XMIT_GROUP_NAME_FOLLOWS) &&
	    (!o->group || o->numeric_ids || (xf & OCP_XMIT_SAME_GID)))
		return OCP_EFLIST;
	return 0;
}

/* Everything after the name of a non-abbreviated entry. */
static void
rd_attrs(struct rd *r, struct ocp_flist_state *ns, uint32_t xf, struct ocp_fentry *e)
{
	const struct ocp_flist_opts *o = &ns->opts;
	int32_t v;
	const uint8_t *s;

	if (!RD(r, ocp_dec_varlong30, o->protocol, 3, &e->size))
		return;
	if (e->size < 0)
		return rd_fail(r, OCP_EFLIST);
	if (!(xf & OCP_XMIT_SAME_TIME) && !RD(r, ocp_dec_varlong, 4, &ns->mtime))
		return;
	e->mtime = ns->mtime;
	if (xf & OCP_XMIT_MOD_NSEC) {
		if (!RD(r, ocp_dec_varint, &v))
			return;
		if (v < 0 || v > OCP_FLIST_NSEC_MAX)
			return rd_fail(r, OCP_EFLIST);
		e->mtime_nsec = (uint32_t)v;
	}
	if (!(xf & OCP_XMIT_SAME_MODE)) {
		if (!RD(r, ocp_dec_int32, &v))
			return;
		ns->mode = (uint32_t)v;
	}
	e->mode = ns->mode;
	if (!valid_type(e->mode)) {
		ns->bad_type = true;
		ns->bad_mode = e->mode;
		return rd_fail(r, OCP_EFLIST);
	}
	/*
	 * A symlink without -l, or a device or special without -D, still comes
	 * (its link or device numbers do not): rsync 3.5.0's sender lists every
	 * type, and its receiver skips the ones it is not to keep.
	 */
	if ((xf & OCP_XMIT_HLINKED) && S_ISDIR(e->mode))
		return rd_fail(r, OCP_EFLIST);
	if (o->owner && !(xf & OCP_XMIT_SAME_UID)) {
		if (!RD(r, ocp_dec_varint, &v))
			return;
		ns->uid = (uint32_t)v;
		if (xf & OCP_XMIT_USER_NAME_FOLLOWS)
			rd_idname(r, e->user, &e->user_len);
	}
	e->uid = ns->uid;
	if (o->group && !(xf & OCP_XMIT_SAME_GID)) {
		if (!RD(r, ocp_dec_varint, &v))
			return;
		ns->gid = (uint32_t)v;
		if (xf & OCP_XMIT_GROUP_NAME_FOLLOWS)
			rd_idname(r, e->group, &e->group_len);
	}
	e->gid = ns->gid;
	if (sends_rdev(o, e->mode)) {
		if (!(xf & OCP_XMIT_SAME_RDEV_MAJOR)) {
			if (!RD(r, ocp_dec_varint30, o->protocol, &v))
				return;
			ns->rdev_major = (uint32_t)v;
		}
		if (!RD(r, ocp_dec_varint, &v))
			return;
		if (is_device(e->mode)) {
			e->rdev_major = ns->rdev_major;
			e->rdev_minor = (uint32_t)v;
		}
	}
	if (is_device(e->mode) || is_special(e->mode))
		e->size = 0;
	if (o->links && S_ISLNK(e->mode)) {
		if (!RD(r, ocp_dec_varint30, o->protocol, &v))
			return;
		if (v < 0 || v > OCP_FLIST_LINK_MAX)
			return rd_fail(r, OCP_ETOOLONG);
		s = rd_bytes(r, (size_t)v);
		if (!s)
			return;
		memcpy(e->link, s, (size_t)v);
		e->link[v] = '\0';
		e->link_len = (size_t)v;
	}
	if (o->csum_len && S_ISREG(e->mode)) {
		s = rd_bytes(r, (size_t)o->csum_len);
		if (s)
			memcpy(e->sum, s, (size_t)o->csum_len);
	}
}

int
ocp_flist_dec(struct ocp_flist_state *st, const uint8_t *buf, size_t len,
	      const struct ocp_fentry *prev, struct ocp_fentry *out)
{
	struct rd r = {buf, len, 0, 1};
	struct ocp_flist_state ns;
	struct ocp_fentry tmp, *e = &tmp;
	uint32_t xf = 0;
	int32_t io_error = 0;
	uint8_t l1 = 0;
	int32_t l2 = 0;
	bool end;
	const uint8_t *s;
	int err;

	if (st->done || !out)
		return -EINVAL;
	state_begin(&ns, st);
	if (!rd_flags(&r, &ns, &xf, &end, &io_error))
		return r.r;
	if (end) {
		if (io_error < 0)
			return OCP_EFLIST;
		st->done = true;
		st->io_error = io_error & OCP_IOERR_VALID_MASK;
		return (int)r.off;
	}
	err = check_xflags(&ns.opts, xf);
	if (err)
		return err;
	if ((xf & OCP_XMIT_SAME_NAME) && !rd_byte(&r, &l1))
		return r.r;
	if (xf & OCP_XMIT_LONG_NAME) {
		if (!RD(&r, ocp_dec_varint30, ns.opts.protocol, &l2))
			return r.r;
	} else {
		uint8_t b;

		if (!rd_byte(&r, &b))
			return r.r;
		l2 = b;
	}
	if (l1 > ns.lastname_len)
		return OCP_EFLIST;
	if (l2 < 0 || (size_t)l2 + l1 > OCP_FLIST_NAME_MAX)
		return OCP_ETOOLONG;
	s = rd_bytes(&r, (size_t)l2);
	if (!s)
		return r.r;
	fentry_clear(e);
	memcpy(e->name, st->lastname, l1);
	memcpy(e->name + l1, s, (size_t)l2);
	e->name_len = l1 + (size_t)l2;
	e->name[e->name_len] = '\0';
	err = check_name(e->name, e->name_len, ns.opts.relative);
	if (err)
		return err;
	e->xflags = xf;
	e->hlink_first = -1;
	e->hlinked = xf & OCP_XMIT_HLINKED;

	if ((xf & OCP_XMIT_HLINKED) && !(xf & OCP_XMIT_HLINK_FIRST)) {
		const struct ocp_fentry *f;
		int32_t first;

		if (!RD(&r, ocp_dec_varint, &first))
			return r.r;
		if (first < 0 || first >= ns.count)
			return OCP_EFLIST;
		f = prev ? &prev[first] : ns.lookup ? ns.lookup(ns.lookup_arg, first) : NULL;
		if (!f)
			return OCP_EFLIST;
		e->hlink_first = first;
		e->size = f->size;
		e->mtime = ns.mtime = f->mtime;
		e->mtime_nsec = f->mtime_nsec;
		e->mode = ns.mode = f->mode;
		e->uid = ns.uid = f->uid;
		e->gid = ns.gid = f->gid;
		e->rdev_major = f->rdev_major;
		e->rdev_minor = f->rdev_minor;
		if (ns.opts.devices && is_device(e->mode))
			ns.rdev_major = e->rdev_major;
		memcpy(e->link, f->link, sizeof(e->link));
		e->link_len = f->link_len;
		memcpy(e->sum, f->sum, sizeof(e->sum));
		if (S_ISDIR(e->mode) || !f->hlinked)
			return OCP_EFLIST;
	} else {
		rd_attrs(&r, &ns, xf, e);
		if (r.r < 0 && ns.bad_type) {
			/* The stream is dead anyway: keep what the message needs. */
			st->bad_type = true;
			st->bad_mode = ns.bad_mode;
			memcpy(st->lastname, e->name, e->name_len + 1);
			st->lastname_len = e->name_len;
		}
		if (r.r <= 0)
			return r.r;
	}
	if (S_ISDIR(e->mode)) {
		e->top_dir = xf & OCP_XMIT_TOP_DIR;
		e->no_content_dir = xf & OCP_XMIT_NO_CONTENT_DIR;
	}
	ns.count++;
	state_commit(st, &ns, e->name, e->name_len);
	fentry_copy(out, &tmp);
	return (int)r.off;
}

int
ocp_flist_check_ndx(int32_t ndx)
{
	if (ndx <= OCP_NDX_FLIST_OFFSET || ndx == OCP_NDX_FLIST_EOF)
		return OCP_EINCREC;
	return 0;
}

int
ocp_flist_enc_idlist(uint8_t *out, size_t cap, const struct ocp_idname *ids, size_t n,
		     bool id0_names, const char *id0_name)
{
	struct wr w = {out, cap, 0, 0};
	size_t i, l0 = id0_name ? strlen(id0_name) : 0;

	if (l0 > OCP_FLIST_IDNAME_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!ids[i].id || !ids[i].name_len)
			continue;
		if (ids[i].name_len > OCP_FLIST_IDNAME_MAX || ids[i].id > INT32_MAX)
			return -EINVAL;
		WR(&w, ocp_enc_varint, (int32_t)ids[i].id);
		wr_byte(&w, (uint8_t)ids[i].name_len);
		wr_bytes(&w, ids[i].name, ids[i].name_len);
	}
	WR(&w, ocp_enc_varint, 0);
	if (id0_names) {
		wr_byte(&w, (uint8_t)l0);
		wr_bytes(&w, id0_name, l0);
	}
	return w.err ? w.err : (int)w.n;
}

int
ocp_flist_dec_idlist(const uint8_t *buf, size_t len, bool id0_names, struct ocp_idname *ids,
		     size_t cap, size_t *n)
{
	struct rd r = {buf, len, 0, 1};
	size_t cnt = 0;
	int32_t id;

	for (;;) {
		struct ocp_idname tmp = {0};

		if (!RD(&r, ocp_dec_varint, &id))
			return r.r;
		if (id == 0 && !id0_names)
			break;
		rd_idname(&r, tmp.name, &tmp.name_len);
		if (r.r <= 0)
			return r.r;
		if (id != 0 && !tmp.name_len)
			return OCP_EFLIST;
		if (cnt == cap)
			return OCP_ETOOLONG;
		tmp.id = (uint32_t)id;
		ids[cnt++] = tmp;
		if (id == 0)
			break;
	}
	*n = cnt;
	return (int)r.off;
}
