/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What runs on the wire before and after the file exchange: protocol set-up
 * (upstream compat.c setup_protocol()), the filter list (exclude.c
 * send_filter_list()/recv_filter_list()), the stats the sender reports
 * (main.c handle_stats()), the delete stats and the final goodbye, and the
 * handler for control messages from the peer.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/filter.h"
#include "apps/engine/session.h"
#include "apps/engine/util.h"
#include "ocproto/err.h"

/* The capabilities we implement: everything but incremental recursion. */
#define OCE_OUR_CAPS (OCP_CF_ALL & ~OCP_CF_INC_RECURSE)

struct nl_ctx {
	enum ocp_nstr_kind kind;
	struct ocp_namelist *l;
};

static int
dec_namelist(void *ctx, const uint8_t *buf, size_t len)
{
	struct nl_ctx *c = ctx;

	return ocp_dec_namelist(buf, len, c->kind, c->l);
}

struct compat_ctx {
	uint32_t advertised, *flags;
};

static int
dec_compat(void *ctx, const uint8_t *buf, size_t len)
{
	struct compat_ctx *c = ctx;

	return ocp_dec_compat(buf, len, c->advertised, c->flags);
}

static int
send_namelist(struct oce_session *s, enum ocp_nstr_kind kind)
{
	struct ocp_namelist l;
	uint8_t buf[OCP_NSTR_MAX + 2];
	int n = ocp_namelist_default(kind, s->am_server, &l);

	if (n < 0)
		return n;
	n = ocp_enc_namelist(buf, sizeof(buf), kind, &l);
	if (n < 0)
		return n;
	return ocp_io_write_data(s->io, buf, (size_t)n);
}

static int
recv_choice(struct oce_session *s, enum ocp_nstr_kind kind, int *choice)
{
	struct ocp_namelist ours, peer;
	struct nl_ctx c = {kind, &peer};
	uint8_t scratch[OCP_NSTR_MAX + 2];
	int r = oce_io_decode(s->io, dec_namelist, &c, scratch, sizeof(scratch));

	if (r)
		return r;
	r = ocp_namelist_default(kind, s->am_server, &ours);
	if (r < 0)
		return r;
	r = ocp_nstr_choose(&ours, &peer);
	if (r < 0)
		return r;
	*choice = r;
	return 0;
}

static int
by_name(enum ocp_nstr_kind kind, const char *name)
{
	for (int id = 0; id < (kind == OCP_NSTR_CHECKSUM ? OCP_CSUM_COUNT : OCP_COMPRESS_COUNT); id++) {
		const char *n = ocp_nstr_name(kind, id);

		if (n && !strcmp(n, name))
			return id;
	}
	if (kind == OCP_NSTR_CHECKSUM && !strcmp(name, "xxhash"))
		return OCP_CSUM_XXH64;
	return OCP_ENOMATCH;
}

int
oce_setup_protocol(struct oce_session *s)
{
	const struct oce_opts *o = s->o;
	int ours = o->protocol ? o->protocol : OCP_PROTOCOL_MAX;
	int32_t peer;
	/* -z, or a compressor or level named without it (upstream parse_compress_choice()). */
	bool strings, zwant = oce_opts_compress_requested(o);
	int r, cs = OCP_CSUM_MD5, cz = OCP_COMPRESS_ZLIB;

	/* A daemon's greeting settled it already (upstream: remote_protocol set). */
	if (s->daemon_protocol) {
		peer = s->daemon_protocol;
		ours = peer;
	} else {
		r = ocp_io_write_int32(s->io, ours);
		if (!r)
			r = ocp_io_flush(s->io);
		if (!r)
			r = ocp_io_read_int32(s->io, &peer);
		if (r)
			return r;
	}
	r = ocp_protocol_choose(ours, peer);
	if (r < 0) {
		/* Upstream's two lines, without our name (a chatty shell start-up is to blame). */
		oce_rerror(s, "protocol version mismatch -- is your shell clean?");
		oce_rerror(s, "(see the rsync manpage for an explanation)");
		s->exit_code = RERR_PROTOCOL;
		return r;
	}
	s->protocol = r;
	ocp_ndx_init(&s->ndx_in, r);
	ocp_ndx_init(&s->ndx_out, r);

	if (s->am_server) {
		uint8_t b[8];

		s->compat = o->caps_seen ? ocp_compat_server(o->caps, OCE_OUR_CAPS) : 0;
		r = ocp_enc_compat(b, sizeof(b), s->compat);
		if (r > 0)
			r = ocp_io_write_data(s->io, b, (size_t)r);
	} else {
		struct compat_ctx c = {OCE_OUR_CAPS, &s->compat};
		uint8_t scratch[8];

		r = oce_io_decode(s->io, dec_compat, &c, scratch, sizeof(scratch));
	}
	if (r < 0)
		return r;

	strings = s->compat & OCP_CF_VARINT_FLIST_FLAGS;
	if (strings) {
		if (!o->checksum_choice)
			r = send_namelist(s, OCP_NSTR_CHECKSUM);
		if (!r && zwant && !o->compress_choice)
			r = send_namelist(s, OCP_NSTR_COMPRESS);
		if (!r)
			r = ocp_io_flush(s->io);
		if (!r && !o->checksum_choice)
			r = recv_choice(s, OCP_NSTR_CHECKSUM, &cs);
		if (!r && zwant && !o->compress_choice)
			r = recv_choice(s, OCP_NSTR_COMPRESS, &cz);
		if (r == OCP_ENOMATCH) {
			oce_error(s, "Failed to negotiate a common checksum or compression");
			s->exit_code = RERR_UNSUPPORTED;
		}
		if (r)
			return r;
	}
	if (o->checksum_choice) {
		cs = by_name(OCP_NSTR_CHECKSUM, o->checksum_choice);
		if (cs < 0) {
			oce_error(s, "unknown checksum name: %s", o->checksum_choice);
			s->exit_code = RERR_UNSUPPORTED;
			return cs;
		}
	}
	if (o->compress_choice) {
		cz = by_name(OCP_NSTR_COMPRESS, o->compress_choice);
		if (cz < 0) {
			oce_error(s, "unknown compress name: %s", o->compress_choice);
			s->exit_code = RERR_UNSUPPORTED;
			return cz;
		}
	}
	s->csum = (enum ocp_csum)cs;
	s->csum_len = ocp_csum_len(s->csum);
	s->compress = zwant ? (enum ocp_compress)cz : OCP_COMPRESS_NONE;
	s->seed_fix = s->compat & OCP_CF_CHKSUM_SEED_FIX;

	/* Upstream's byte counts include the seed written but nothing before it. */
	s->setup_in = s->io->bytes_in - (s->io->in_len - s->io->in_pos);
	s->setup_out = s->io->bytes_out + s->io->out_len;
	if (s->am_server) {
		int32_t seed = o->checksum_seed_set ? o->checksum_seed
						    : (int32_t)(time(NULL) ^ ((uint32_t)getpid() << 6));

		s->seed = seed;
		r = ocp_io_write_int32(s->io, seed);
		if (!r)
			r = ocp_io_flush(s->io);
	} else {
		r = ocp_io_read_int32(s->io, &s->seed);
		/*
		 * Upstream's client reads the seed before it buffers its
		 * input, and counts only buffered reads: not the seed here
		 * ("N bytes received so far", a pushing client's --stats).
		 */
		s->setup_in = s->io->bytes_in - (s->io->in_len - s->io->in_pos);
	}
	return r;
}

/* Does the receiving side want the rules (upstream receiver_wants_list)? */
static bool
receiver_wants_list(const struct oce_session *s)
{
	return s->o->delete_mode != OCE_DEL_NONE && (!s->o->delete_excluded || s->protocol >= 29);
}

int
oce_send_filter_list(struct oce_session *s)
{
	int r = oce_filter_send(s, !s->am_sender || receiver_wants_list(s));

	if (r == OCP_EFILTER && !s->exit_code)
		s->exit_code = RERR_SYNTAX;
	return r;
}

int
oce_recv_filter_list(struct oce_session *s)
{
	bool wanted = s->am_sender || receiver_wants_list(s);

	for (;;) {
		int32_t len;
		char text[OCP_FILTER_LINE_MAX + 1];
		int r;

		if (!wanted)
			break;
		r = ocp_io_read_int32(s->io, &len);
		if (r)
			return r;
		if (len == 0)
			break;
		if (len < 0 || len > OCP_FILTER_LINE_MAX) {
			oce_error(s, "filter rule of %d bytes is out of range", len);
			s->exit_code = RERR_PROTOCOL;
			return OCP_EFILTER;
		}
		r = ocp_io_read(s->io, text, (size_t)len);
		if (r)
			return r;
		text[len] = '\0';
		r = oce_filter_recv_rule(s, text);
		if (r)
			return r;
	}
	return oce_filter_recv_done(s);
}

int
oce_filters_build(struct oce_session *s)
{
	const struct oce_opts *o = s->o;
	int r = oce_filter_init(s, true);

	if (r) {
		if (!s->exit_code)
			s->exit_code = RERR_SYNTAX;
		return r;
	}
	/* A relative --partial-dir is never transferred nor deleted (upstream compat.c). */
	if (o->partial_dir && *o->partial_dir != '/' && !o->inplace && (!s->am_server || s->local)) {
		char rule[PATH_MAX + 8];
		int n = snprintf(rule, sizeof(rule), "-p %s/", o->partial_dir);

		if (n >= (int)sizeof(rule) || oce_filter_add(s, rule)) {
			oce_error(s, "invalid --partial-dir: %s", o->partial_dir);
			s->exit_code = RERR_SYNTAX;
			return OCP_EFILTER;
		}
	}
	return 0;
}

bool
oce_excluded(const struct oce_session *s, const char *name, bool is_dir)
{
	return oce_filter_check(s, name, is_dir) < 0;
}

int
oce_send_stats(struct oce_session *s)
{
	struct ocp_io *io = s->io;
	int64_t v[5] = {(int64_t)(io->bytes_in - s->setup_in - (io->in_len - io->in_pos)),
			(int64_t)(io->bytes_out + io->out_len - s->setup_out), s->st.total_size,
			s->st.flist_buildtime, s->st.flist_xfertime};
	int r = 0;

	for (int i = 0; i < 5 && !r; i++)
		r = ocp_io_write_varlong(io, v[i], 3);
	return r;
}

int
oce_recv_stats(struct oce_session *s)
{
	int64_t v[5];
	int r = 0;

	for (int i = 0; i < 5 && !r; i++) {
		r = ocp_io_read_varlong(s->io, 3, &v[i]);
		if (!r && v[i] < 0)
			r = OCP_EPROTO;
	}
	if (r)
		return r;
	/* The sender's read is our written and the other way round. */
	s->st.total_written = v[0];
	s->st.total_read = v[1];
	s->st.total_size = v[2];
	s->st.flist_buildtime = v[3];
	s->st.flist_xfertime = v[4];
	return 0;
}

int
oce_read_final_goodbye(struct oce_session *s)
{
	int32_t ndx;
	uint16_t iflags;
	uint8_t basis;
	char xname[8];
	int r = oce_read_item(s, &ndx, &iflags, &basis, xname, sizeof(xname));

	if (!r && ndx == OCE_NDX_DONE && s->protocol >= 31) {
		r = ocp_io_write_ndx(s->io, &s->ndx_out, OCE_NDX_DONE);
		if (!r)
			r = ocp_io_flush(s->io);
		if (!r)
			r = oce_read_item(s, &ndx, &iflags, &basis, xname, sizeof(xname));
	}
	if (r)
		return r;
	if (ndx != OCE_NDX_DONE) {
		oce_error(s, "Invalid packet at end of run (%d) [%s]", ndx,
			  s->am_sender ? "sender" : "receiver");
		s->exit_code = RERR_PROTOCOL;
		return OCP_EPROTO;
	}
	return 0;
}

int
oce_on_msg(void *arg, enum ocp_msg code, const uint8_t *payload, size_t len)
{
	struct oce_session *s = arg;
	int32_t v = 0;

	switch (code) {
	case OCP_MSG_INFO:
	case OCP_MSG_CLIENT:
		pthread_mutex_lock(&s->log_lock);
		if (s->needs_nl && len)
			fputc('\n', s->out);
		s->needs_nl = len ? 0 : s->needs_nl;
		fwrite(payload, 1, len, s->out);
		fflush(s->out);
		pthread_mutex_unlock(&s->log_lock);
		return 0;
	case OCP_MSG_ERROR:
	case OCP_MSG_ERROR_XFER:
	case OCP_MSG_WARNING:
	case OCP_MSG_ERROR_SOCKET:
	case OCP_MSG_ERROR_UTF8:
		if (code == OCP_MSG_ERROR_XFER)
			s->exit_code = s->exit_code ? s->exit_code : RERR_PARTIAL;
		pthread_mutex_lock(&s->log_lock);
		if (s->needs_nl && len)
			fputc('\n', s->err);
		s->needs_nl = len ? 0 : s->needs_nl;
		fwrite(payload, 1, len, s->err);
		fflush(s->err);
		pthread_mutex_unlock(&s->log_lock);
		return 0;
	case OCP_MSG_LOG:
		return 0;
	case OCP_MSG_IO_ERROR:
		if (ocp_dec_int32(payload, len, &v) == OCP_INT32_SIZE)
			oce_sender_io_error(s, v & 0x7);
		return 0;
	case OCP_MSG_ERROR_EXIT:
		/*
		 * The peer failed and said so: end with its code, without a
		 * closing line of our own (its line was the one to show).
		 * Upstream's answer to it never reaches a peer that has exited.
		 */
		if (len == 4 && ocp_dec_int32(payload, len, &v) == OCP_INT32_SIZE && v > 0)
			s->exit_code = v;
		s->peer_exit = true;
		return OCP_ECLOSED;
	case OCP_MSG_DELETED:
		if (!s->am_server && len > 0 && len < 4096) {
			char name[4096];
			bool dir = payload[len - 1] == '\0';

			memcpy(name, payload, len);
			name[dir ? len - 1 : len] = '\0';
			oce_log_delete(s, name, dir ? S_IFDIR : S_IFREG);
		}
		return 0;
	case OCP_MSG_NO_SEND:
		/* a request answered without an item: oce_catch_up() must not wait for one */
		s->no_sends++;
		return s->seq_wait ? OCP_IO_BREAK : 0;
	case OCP_MSG_SUCCESS:
	case OCP_MSG_IO_TIMEOUT:
		return 0;
	default:
		return OCP_EMSGCODE;
	}
}
