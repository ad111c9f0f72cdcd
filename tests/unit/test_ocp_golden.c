/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Golden vectors: whole sessions of the real rsync 3.5.0, captured by
 * tests/golden/capture.sh (see tests/golden/README.md), walked with every
 * ocproto decoder that applies and re-encoded byte for byte where our
 * encoders cover the bytes.
 *
 * Per scenario: the protocol version ints, the compat flags, the name lists
 * and the seed (piecewise and with ocp_dec_setup()), re-encoded; both
 * directions demultiplexed to the end (whole and in 7-byte pieces), every
 * frame header re-encoded, no control message; the negotiated checksum and
 * compressor equal what the command line asked for; the filter-list
 * terminator of a pull; the generator's stream walked completely (ndx
 * values re-encoded, iflags, sum heads); the basis's signature rebuilt by
 * ocp_sig_gen() and compared byte for byte; the changed file's token stream
 * decoded and applied to the regenerated basis (= the new file), its file
 * checksum checked with the negotiated algorithm, and the stream reproduced
 * by our matcher and token encoder. For the file-list scenarios the whole
 * list, the uid/gid name lists and every file's data are decoded, compared
 * with the tree's manifest, and re-encoded.
 *
 * The files are read from tests/golden/ relative to the working directory
 * (the repo root under `make test-unit`), or from $OCP_GOLDEN_DIR.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "ocproto/csum.h"
#include "ocproto/delta.h"
#include "ocproto/err.h"
#include "ocproto/filter.h"
#include "ocproto/flist.h"
#include "ocproto/int.h"
#include "ocproto/mux.h"
#include "ocproto/negotiate.h"
#include "ocproto/token.h"
#include "tests/golden/ocgen.h"

#define PROTO 32
/* Upstream rsync.h ITEM_* bits of the iflags after an ndx. */
#define ITEM_BASIS_TYPE_FOLLOWS (1u << 11)
#define ITEM_XNAME_FOLLOWS	(1u << 12)
#define ITEM_TRANSFER		(1u << 15)

/* The contents capture.sh generates (tests/golden/ocgen.h). */
#define F_SEED	 1
#define F_SIZE	 262144
#define BIG_SEED 2
#define BIG_SIZE 3145728

enum tree { T_BASIC, T_RICH, T_DELTA };

struct scenario {
	const char *name;
	enum tree tree;
	const char *csum; /* what the scenario must negotiate */
	const char *comp; /* NULL: no compression */
};

static const struct scenario scenarios[] = {
    {"push", T_BASIC, "xxh128", NULL},
    {"pull", T_BASIC, "xxh128", NULL},
    {"push_z", T_BASIC, "xxh128", "zstd"},
    {"pull_z", T_BASIC, "xxh128", "zstd"},
    {"push_z_zstd", T_BASIC, "xxh128", "zstd"},
    {"push_z_lz4", T_BASIC, "xxh128", "lz4"},
    {"push_z_zlibx", T_BASIC, "xxh128", "zlibx"},
    {"push_z_zlib", T_BASIC, "xxh128", "zlib"},
    {"cs_md5", T_BASIC, "md5", NULL},
    {"cs_xxh128", T_BASIC, "xxh128", NULL},
    {"cs_xxh3", T_BASIC, "xxh3", NULL},
    {"cs_xxh64", T_BASIC, "xxh64", NULL},
    {"cs_md4", T_BASIC, "md4", NULL},
    {"flist_rich", T_RICH, "xxh128", NULL},
    {"flist_rich_numeric", T_RICH, "xxh128", NULL},
    {"delta", T_DELTA, "xxh128", NULL},
};

#define MAXE 64
static struct ocp_fentry ents[MAXE];

struct buf {
	uint8_t *p;
	size_t n;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	uint8_t *q = realloc(b->p, b->n + n + 1);

	assert_non_null(q);
	b->p = q;
	if (p && n)
		memcpy(b->p + b->n, p, n);
	else if (n)
		memset(b->p + b->n, 0, n);
	b->n += n;
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static int
buf_write(void *arg, const uint8_t *p, size_t n)
{
	buf_add(arg, p, n);
	return 0;
}

static void
load(const char *name, const char *ext, struct buf *b)
{
	const char *dir = getenv("OCP_GOLDEN_DIR");
	char path[512];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", dir && *dir ? dir : "tests/golden", name, ext);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the repo root)", path);
	assert_int_equal(fstat(fileno(f), &st), 0);
	b->n = (size_t)st.st_size;
	b->p = malloc(b->n + 1);
	assert_non_null(b->p);
	assert_int_equal(fread(b->p, 1, b->n, f), b->n);
	b->p[b->n] = 0;
	fclose(f);
}

/* What the .args file says: "client: rsync ..." and "server: rsync --server ...". */
struct args {
	char client[2048], server[2048];
	bool pull, compressing;
	char csum[16], comp[16]; /* --checksum-choice / --compress-choice, or "" */
	uint32_t caps;		 /* the server argv's -e.<letters> */
	int32_t seed;
	bool numeric_ids;
};

static void
opt_value(const char *line, const char *opt, char *out, size_t cap)
{
	const char *p = strstr(line, opt);
	size_t n = 0;

	out[0] = 0;
	if (!p)
		return;
	p += strlen(opt);
	while (p[n] && p[n] != ' ' && p[n] != '\n' && n + 1 < cap)
		n++;
	memcpy(out, p, n);
	out[n] = 0;
}

static void
parse_args(const char *name, struct args *a)
{
	struct buf b = {0};
	char *s, *e, tok[64];

	memset(a, 0, sizeof(*a));
	load(name, "args", &b);
	s = strstr((char *)b.p, "client: ");
	e = strstr((char *)b.p, "server: ");
	assert_non_null(s);
	assert_non_null(e);
	assert_true(e > s);
	snprintf(a->client, sizeof(a->client), "%.*s", (int)(e - s - 8), s + 8);
	snprintf(a->server, sizeof(a->server), "%s", e + 8);
	buf_free(&b);

	a->pull = strstr(a->server, " --sender ") != NULL;
	assert_true(a->pull == (strstr(a->client, " localhost:src/ ") != NULL));
	opt_value(a->client, "--checksum-choice=", a->csum, sizeof(a->csum));
	opt_value(a->client, "--compress-choice=", a->comp, sizeof(a->comp));
	opt_value(a->client, "--checksum-seed=", tok, sizeof(tok));
	assert_true(tok[0] != 0);
	a->seed = (int32_t)strtol(tok, NULL, 10);
	a->numeric_ids = strstr(a->client, " --numeric-ids") != NULL;
	/* -z in the client's first short-option cluster */
	opt_value(a->client, "rsync -", tok, sizeof(tok));
	a->compressing = strchr(tok, 'z') != NULL || a->comp[0];
	/* the server's cluster with the capabilities */
	opt_value(a->server, "--server ", tok, sizeof(tok));
	if (strcmp(tok, "--sender") == 0)
		opt_value(a->server, "--sender ", tok, sizeof(tok));
	assert_int_equal(ocp_caps_parse(tok, &a->caps), 0);
}

/* One session's decoded state. */
struct sess {
	struct args a;
	struct buf raw[2]; /* 0: c2s, 1: s2c */
	size_t mux_start[2];
	struct buf data[2]; /* demultiplexed DATA */
	uint32_t compat;
	enum ocp_csum csum;
	enum ocp_compress comp;
};

static void
check_list(const struct ocp_namelist *got, enum ocp_nstr_kind kind, bool server)
{
	struct ocp_namelist want;

	assert_int_equal(ocp_namelist_default(kind, server, &want), 0);
	assert_int_equal(got->n, want.n);
	assert_memory_equal(got->id, want.id, want.n);
}

/* Version ints, compat flags, name lists and seed; leaves mux_start[] set. */
static void
handshake(struct sess *s)
{
	const struct buf *c = &s->raw[0], *v = &s->raw[1];
	uint8_t enc[512];
	size_t co = 0, so = 0, eo = 0;
	int32_t ver;
	int r;
	bool send_cs = !s->a.csum[0], send_comp = s->a.compressing && !s->a.comp[0];
	struct ocp_namelist ccs = {0}, ccomp = {0}, scs = {0}, scomp = {0};

	/* protocol versions */
	assert_int_equal(ocp_dec_int32(c->p, c->n, &ver), 4);
	assert_int_equal(ver, PROTO);
	assert_int_equal(ocp_dec_int32(v->p, v->n, &ver), 4);
	assert_int_equal(ver, PROTO);
	assert_int_equal(ocp_enc_int32(enc, sizeof(enc), PROTO), 4);
	assert_memory_equal(enc, c->p, 4);
	assert_memory_equal(enc, v->p, 4);
	assert_int_equal(ocp_protocol_choose(PROTO, ver), PROTO);
	co = so = 4;

	/* server: compat, lists, seed */
	r = ocp_dec_compat(v->p + so, v->n - so, s->a.caps, &s->compat);
	assert_true(r > 0);
	so += (size_t)r;
	assert_int_equal(s->compat, ocp_compat_server(s->a.caps, OCP_CF_ALL));
	eo = (size_t)ocp_enc_compat(enc, sizeof(enc), s->compat);
	assert_true(s->compat & OCP_CF_VARINT_FLIST_FLAGS);
	if (send_cs) {
		r = ocp_dec_namelist(v->p + so, v->n - so, OCP_NSTR_CHECKSUM, &scs);
		assert_true(r > 0);
		so += (size_t)r;
		check_list(&scs, OCP_NSTR_CHECKSUM, true);
		eo += (size_t)ocp_enc_namelist(enc + eo, sizeof(enc) - eo, OCP_NSTR_CHECKSUM, &scs);
	}
	if (send_comp) {
		r = ocp_dec_namelist(v->p + so, v->n - so, OCP_NSTR_COMPRESS, &scomp);
		assert_true(r > 0);
		so += (size_t)r;
		check_list(&scomp, OCP_NSTR_COMPRESS, true);
		eo += (size_t)ocp_enc_namelist(enc + eo, sizeof(enc) - eo, OCP_NSTR_COMPRESS,
					       &scomp);
	}
	assert_int_equal(ocp_dec_int32(v->p + so, v->n - so, &ver), 4);
	assert_int_equal(ver, s->a.seed);
	so += 4;
	eo += (size_t)ocp_enc_int32(enc + eo, sizeof(enc) - eo, s->a.seed);
	assert_int_equal(eo, so - 4);
	assert_memory_equal(enc, v->p + 4, eo);

	/* the same bytes through ocp_dec_setup() / ocp_enc_setup() when both
	 * kinds of list that are sent are the ones it handles */
	if (send_cs) {
		struct ocp_setup st;

		r = ocp_dec_setup(v->p + 4, v->n - 4, s->a.caps, send_comp, &st);
		assert_int_equal(r, (int)(so - 4));
		assert_int_equal(st.compat, s->compat);
		assert_int_equal(st.seed, s->a.seed);
		assert_int_equal(st.csums.n, scs.n);
		assert_int_equal(st.compress.n, scomp.n);
		assert_int_equal(ocp_enc_setup(enc, sizeof(enc), &st, send_comp), r);
		assert_memory_equal(enc, v->p + 4, (size_t)r);
	}

	/* client: its lists */
	if (send_cs) {
		r = ocp_dec_namelist(c->p + co, c->n - co, OCP_NSTR_CHECKSUM, &ccs);
		assert_true(r > 0);
		check_list(&ccs, OCP_NSTR_CHECKSUM, false);
		assert_int_equal(ocp_enc_namelist(enc, sizeof(enc), OCP_NSTR_CHECKSUM, &ccs), r);
		assert_memory_equal(enc, c->p + co, (size_t)r);
		co += (size_t)r;
	}
	if (send_comp) {
		r = ocp_dec_namelist(c->p + co, c->n - co, OCP_NSTR_COMPRESS, &ccomp);
		assert_true(r > 0);
		check_list(&ccomp, OCP_NSTR_COMPRESS, false);
		assert_int_equal(ocp_enc_namelist(enc, sizeof(enc), OCP_NSTR_COMPRESS, &ccomp), r);
		assert_memory_equal(enc, c->p + co, (size_t)r);
		co += (size_t)r;
	}

	/* what was negotiated: upstream picks the client's first choice the
	 * server lists, or takes the name fixed on the command line */
	if (send_cs) {
		r = ocp_nstr_choose(&ccs, &scs);
		assert_true(r >= 0);
	} else {
		r = ocp_csum_by_name(s->a.csum, strlen(s->a.csum));
		assert_true(r > 0);
	}
	s->csum = (enum ocp_csum)r;
	s->comp = OCP_COMPRESS_NONE;
	if (send_comp) {
		r = ocp_nstr_choose(&ccomp, &scomp);
		assert_true(r > 0);
		s->comp = (enum ocp_compress)r;
	} else if (s->a.compressing) {
		for (r = 1; r < OCP_COMPRESS_COUNT; r++)
			if (strcmp(ocp_nstr_name(OCP_NSTR_COMPRESS, r), s->a.comp) == 0)
				break;
		assert_true(r < OCP_COMPRESS_COUNT);
		s->comp = (enum ocp_compress)r;
	}
	s->mux_start[0] = co;
	s->mux_start[1] = so;
}

/* Demultiplex one direction; every header re-encoded; no control message. */
static void
demux(struct sess *s, int dir)
{
	const uint8_t *p = s->raw[dir].p + s->mux_start[dir];
	size_t n = s->raw[dir].n - s->mux_start[dir], off = 0;
	struct ocp_demux d;
	struct ocp_demux_event ev;
	struct buf pieces = {0};
	size_t frames = 0;

	/* frame by frame */
	while (off < n) {
		enum ocp_msg code;
		uint32_t len;
		uint8_t hdr[OCP_MUX_HDR_SIZE];

		assert_int_equal(ocp_mux_hdr_decode(p + off, n - off, &code, &len), OCP_MUX_HDR_SIZE);
		assert_int_equal(ocp_mux_hdr_encode(hdr, sizeof(hdr), code, len), OCP_MUX_HDR_SIZE);
		assert_memory_equal(hdr, p + off, OCP_MUX_HDR_SIZE);
		assert_int_equal(code, OCP_MSG_DATA); /* these sessions send no messages */
		assert_true(len <= n - off - OCP_MUX_HDR_SIZE);
		off += OCP_MUX_HDR_SIZE + len;
		frames++;
	}
	assert_int_equal(off, n);
	assert_true(frames > 0);

	/* the demultiplexer, whole */
	assert_int_equal(ocp_demux_init(&d, 0), 0);
	for (off = 0; off < n;) {
		int r = ocp_demux_next(&d, p + off, n - off, &ev);

		assert_true(r > 0);
		off += (size_t)r;
		if (ev.kind == OCP_DEMUX_MSG)
			fail_msg("%s: unexpected %s", s->a.client, ocp_msg_name(ev.code));
		if (ev.kind == OCP_DEMUX_DATA)
			buf_add(&s->data[dir], ev.data, ev.len);
	}
	assert_true(ocp_demux_idle(&d));

	/* and in 7-byte pieces: the same DATA */
	assert_int_equal(ocp_demux_init(&d, 0), 0);
	for (off = 0; off < n;) {
		size_t k = n - off < 7 ? n - off : 7, used = 0;

		while (used < k) {
			int r = ocp_demux_next(&d, p + off + used, k - used, &ev);

			assert_true(r > 0);
			used += (size_t)r;
			assert_true(ev.kind != OCP_DEMUX_MSG);
			if (ev.kind == OCP_DEMUX_DATA)
				buf_add(&pieces, ev.data, ev.len);
		}
		off += k;
	}
	assert_true(ocp_demux_idle(&d));
	assert_int_equal(pieces.n, s->data[dir].n);
	assert_memory_equal(pieces.p, s->data[dir].p, pieces.n);
	buf_free(&pieces);
}

static enum ocp_tok_fmt
tok_fmt(enum ocp_compress c)
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

/* A sum head the generator sent, where it is in the generator's stream. */
struct gen_item {
	int32_t ndx;
	struct ocp_sum_head head;
	size_t off; /* of the head in data[] */
};

/*
 * Walk the generator's stream (s2c in a push, c2s after the filter list in
 * a pull) to its end: ndx (re-encoded), iflags, optional basis type and
 * xname, and for a transfer the sum head and block sums. Returns the
 * transfers in items[].
 */
static size_t
walk_generator(struct sess *s, size_t start, struct gen_item *items, size_t cap)
{
	const struct buf *g = &s->data[s->a.pull ? 0 : 1];
	struct ocp_ndx_state rd, wr;
	size_t off = start, n = 0, dones = 0;
	int xlen = ocp_csum_len(s->csum);

	ocp_ndx_init(&rd, PROTO);
	ocp_ndx_init(&wr, PROTO);
	while (off < g->n) {
		int32_t ndx;
		uint16_t iflags;
		uint8_t enc[OCP_NDX_MAX];
		int r = ocp_dec_ndx(g->p + off, g->n - off, &rd, &ndx);

		assert_true(r > 0);
		assert_int_equal(ocp_enc_ndx(enc, sizeof(enc), &wr, ndx), r);
		assert_memory_equal(enc, g->p + off, (size_t)r);
		off += (size_t)r;
		if (ndx == OCP_NDX_DONE) {
			dones++;
			continue;
		}
		assert_true(ndx >= 0);
		assert_int_equal(ocp_dec_shortint(g->p + off, g->n - off, &iflags), 2);
		off += 2;
		if (iflags & ITEM_BASIS_TYPE_FOLLOWS)
			off++;
		if (iflags & ITEM_XNAME_FOLLOWS) {
			const uint8_t *x;
			size_t xl;

			r = ocp_dec_vstring(g->p + off, g->n - off, 4096, &x, &xl);
			assert_true(r > 0);
			off += (size_t)r;
		}
		if (iflags & ITEM_TRANSFER) {
			struct ocp_sum_head h;
			uint8_t he[OCP_SUM_HEAD_SIZE];

			assert_int_equal(ocp_dec_sum_head(g->p + off, g->n - off, PROTO, xlen, &h),
					 OCP_SUM_HEAD_SIZE);
			assert_int_equal(ocp_enc_sum_head(he, sizeof(he), &h), OCP_SUM_HEAD_SIZE);
			assert_memory_equal(he, g->p + off, OCP_SUM_HEAD_SIZE);
			assert_true(n < cap);
			items[n].ndx = ndx;
			items[n].head = h;
			items[n].off = off;
			n++;
			off += OCP_SUM_HEAD_SIZE + (size_t)h.count * (4 + (size_t)h.s2length);
			assert_true(off <= g->n);
		}
	}
	assert_int_equal(off, g->n);
	assert_true(dones >= 3); /* one per phase and the goodbye */
	return n;
}

struct apply_ctx {
	struct ocp_delta_apply ap;
	struct buf out;
};

static int
sink_lit(void *arg, const uint8_t *p, size_t n)
{
	return ocp_delta_apply_literal(&((struct apply_ctx *)arg)->ap, p, n);
}

static int
sink_blk(void *arg, int32_t idx, const uint8_t **p, size_t *n)
{
	return ocp_delta_apply_block(&((struct apply_ctx *)arg)->ap, idx, p, n);
}

/*
 * The changed file: signature bytes vs ocp_sig_gen(), token stream decoded
 * and applied, file checksum, and the token stream re-encoded.
 */
static void
check_delta(struct sess *s, const struct gen_item *it, uint64_t seed, size_t basis_len)
{
	const struct buf *g = &s->data[s->a.pull ? 0 : 1], *snd = &s->data[s->a.pull ? 1 : 0];
	uint8_t *basis = malloc(basis_len), *new = malloc(basis_len + OCGEN_INSERT);
	size_t new_len, sig_len, off, tok_len;
	struct ocp_sum_head h;
	struct ocp_sig sig, sig2;
	struct buf enc = {0};
	struct ocp_tok_dec *d;
	struct ocp_tok_enc *e;
	struct apply_ctx ac = {0};
	struct ocp_basis_mem bm;
	const struct ocp_tok_sink sink = {sink_lit, sink_blk, &ac};
	const uint8_t *p;
	uint8_t sum[OCP_CSUM_DIGEST_MAX];
	int xlen = ocp_csum_len(s->csum);
	bool seed_fix = (s->compat & OCP_CF_CHKSUM_SEED_FIX) != 0;

	assert_non_null(basis);
	assert_non_null(new);
	ocgen_fill(seed, basis, basis_len);
	new_len = ocgen_mutate(seed, basis, basis_len, new);

	/* the signature: head from the block-size rule, sums from ocp_sig_gen() */
	assert_int_equal(ocp_sum_sizes((int64_t)basis_len, PROTO, 0, xlen, false, &h), 0);
	assert_memory_equal(&h, &it->head, sizeof(h));
	assert_int_equal(ocp_sig_gen(&sig, basis, basis_len, &h, s->csum, s->a.seed, seed_fix), 0);
	sig_len = ocp_sig_enc_size(&sig);
	assert_true(it->off + sig_len <= g->n);
	buf_add(&enc, NULL, sig_len);
	assert_int_equal(ocp_sig_enc(&sig, enc.p, enc.n), (int)sig_len);
	assert_memory_equal(enc.p, g->p + it->off, sig_len);
	buf_free(&enc);
	assert_int_equal(ocp_sig_dec(&sig2, g->p + it->off, sig_len, PROTO, s->csum, s->a.seed,
				     seed_fix, 0),
			 (int)sig_len);
	assert_memory_equal(sig2.sum1, sig.sum1, (size_t)h.count * 4);
	assert_memory_equal(sig2.sum2, sig.sum2, (size_t)h.count * (size_t)h.s2length);
	ocp_sig_free(&sig2);

	/* the sender echoes the head before the file's tokens */
	p = memmem(snd->p, snd->n, g->p + it->off, OCP_SUM_HEAD_SIZE);
	assert_non_null(p);
	off = (size_t)(p - snd->p) + OCP_SUM_HEAD_SIZE;

	/* decode and apply */
	bm.data = basis;
	bm.len = basis_len;
	assert_int_equal(ocp_delta_apply_init(&ac.ap, &h, ocp_basis_mem_read, &bm, buf_write,
					      &ac.out, basis_len * 2),
			 0);
	assert_int_equal(ocp_tok_dec_new(&d, tok_fmt(s->comp), PROTO, 0), 0);
	assert_int_equal(ocp_tok_dec_start(d, h.count), 0);
	tok_len = 0;
	while (!ocp_tok_dec_done(d)) {
		int r = ocp_tok_dec_feed(d, snd->p + off + tok_len, snd->n - off - tok_len, &sink);

		if (r < 0)
			fail_msg("%s: token decoder: %s", s->a.client, ocp_strerror(r));
		assert_true(r > 0 || ocp_tok_dec_done(d));
		tok_len += (size_t)r;
	}
	ocp_tok_dec_free(d);
	ocp_delta_apply_free(&ac.ap);
	assert_int_equal(ac.out.n, new_len);
	assert_memory_equal(ac.out.p, new, new_len);
	buf_free(&ac.out);

	/* the whole-file checksum after the tokens, of the negotiated kind */
	assert_true(off + tok_len + (size_t)xlen <= snd->n);
	assert_int_equal(ocp_csum_file(s->csum, new, new_len, sum), xlen);
	assert_memory_equal(sum, snd->p + off + tok_len, (size_t)xlen);

	/* our matcher and token encoder produce the same stream */
	assert_int_equal(ocp_tok_enc_new(&e, tok_fmt(s->comp), 0, PROTO, buf_write, &enc), 0);
	assert_int_equal(ocp_delta_match(&sig, new, new_len, ocp_tok_enc_put, e, NULL), 0);
	ocp_tok_enc_free(e);
	assert_int_equal(enc.n, tok_len);
	assert_memory_equal(enc.p, snd->p + off, tok_len);
	buf_free(&enc);

	ocp_sig_free(&sig);
	free(basis);
	free(new);
}

static void
sess_free(struct sess *s)
{
	for (int i = 0; i < 2; i++) {
		buf_free(&s->raw[i]);
		buf_free(&s->data[i]);
	}
}

static void
open_session(const struct scenario *sc, struct sess *s)
{
	memset(s, 0, sizeof(*s));
	parse_args(sc->name, &s->a);
	load(sc->name, "c2s", &s->raw[0]);
	load(sc->name, "s2c", &s->raw[1]);
	handshake(s);
	demux(s, 0);
	demux(s, 1);

	/* what was asked for is what was negotiated */
	assert_string_equal(ocp_csum_name(s->csum), sc->csum);
	if (s->a.csum[0])
		assert_string_equal(ocp_csum_name(s->csum), s->a.csum);
	if (sc->comp) {
		assert_true(s->a.compressing);
		assert_string_equal(ocp_nstr_name(OCP_NSTR_COMPRESS, (int)s->comp), sc->comp);
	} else {
		assert_false(s->a.compressing);
		assert_int_equal(s->comp, OCP_COMPRESS_NONE);
	}
	if (s->a.comp[0])
		assert_string_equal(ocp_nstr_name(OCP_NSTR_COMPRESS, (int)s->comp), s->a.comp);
}

/* A pull's client starts its data with the filter list: here just its end. */
static size_t
check_filter_end(struct sess *s)
{
	struct ocp_filter_dec_state st;
	const uint8_t *t;
	size_t tl;
	uint8_t enc[4];

	if (!s->a.pull)
		return 0;
	ocp_filter_dec_init(&st, 0);
	assert_int_equal(ocp_filter_dec(&st, s->data[0].p, s->data[0].n, &t, &tl), 4);
	assert_true(st.done);
	assert_int_equal(tl, 0);
	assert_int_equal(ocp_filter_enc_end(enc, sizeof(enc)), 4);
	assert_memory_equal(enc, s->data[0].p, 4);
	return 4;
}

static void
run_transfer_scenario(const struct scenario *sc)
{
	struct sess s;
	struct gen_item items[64];
	size_t n, i, found = 0;

	open_session(sc, &s);
	n = walk_generator(&s, check_filter_end(&s), items, 64);
	for (i = 0; i < n; i++) {
		if (items[i].head.count == 0)
			continue; /* a new file: no basis, all literal */
		found++;
		if (sc->tree == T_DELTA)
			check_delta(&s, &items[i], BIG_SEED, BIG_SIZE);
		else
			check_delta(&s, &items[i], F_SEED, F_SIZE);
	}
	assert_int_equal(found, 1);
	{
		/* the top-level file list (incremental recursion: the sub-list
		 * of sub/ that follows later is not decoded) */
		static const char *const want_basic[] = {".", "f", "h.txt", "sub"};
		static const char *const want_delta[] = {".", "big"};
		const char *const *want = sc->tree == T_DELTA ? want_delta : want_basic;
		size_t nwant = sc->tree == T_DELTA ? 2 : 4, off = 0, k = 0;
		const struct buf *snd = &s.data[s.a.pull ? 1 : 0];
		struct ocp_flist_state ds, es;
		struct ocp_flist_opts o = {0};
		uint8_t enc[2048];

		o.protocol = PROTO;
		o.compat = s.compat;
		o.owner = o.group = o.devices = o.specials = o.links = true;
		assert_true(s.compat & OCP_CF_INC_RECURSE);
		assert_int_equal(ocp_flist_init(&ds, &o), 0);
		assert_int_equal(ocp_flist_init(&es, &o), 0);
		while (!ocp_flist_done(&ds)) {
			int r = ocp_flist_dec(&ds, snd->p + off, snd->n - off, ents, &ents[k]);

			if (r <= 0)
				fail_msg("%s: entry %zu: %s", sc->name, k, ocp_strerror(r));
			if (ocp_flist_done(&ds)) {
				assert_int_equal(ocp_flist_enc_end(&es, enc, sizeof(enc), 0), r);
			} else {
				assert_int_equal(ocp_flist_enc(&es, enc, sizeof(enc), &ents[k]), r);
				size_t w;

				/* wire order is the sender's readdir order */
				assert_true(k < nwant);
				for (w = 0; w < nwant; w++)
					if (want[w] && strcmp(ents[k].name, want[w]) == 0)
						break;
				if (w == nwant)
					fail_msg("%s: unexpected entry %s", sc->name, ents[k].name);
				/* capture.sh: every entry at T0, 2020-01-02 03:04:05 UTC */
				assert_int_equal(ents[k].mtime, 1577934245);
				assert_int_equal(ents[k].uid, 0);
				assert_int_equal(ents[k].gid, 0);
				if (strcmp(ents[k].name, "f") == 0)
					assert_int_equal(ents[k].size, F_SIZE + OCGEN_INSERT - OCGEN_DELETE);
				if (strcmp(ents[k].name, "big") == 0)
					assert_int_equal(ents[k].size, BIG_SIZE + OCGEN_INSERT - OCGEN_DELETE);
				if (strcmp(ents[k].name, "h.txt") == 0)
					assert_int_equal(ents[k].size, 1000);
				assert_int_equal(ents[k].mode, ents[k].name[0] == '.' || ents[k].name[0] == 's' ? 040755u : 0100644u);
				k++;
			}
			assert_memory_equal(enc, snd->p + off, (size_t)r);
			off += (size_t)r;
		}
		assert_int_equal(k, nwant);
	}
	assert_true(n >= (sc->tree == T_DELTA ? 1u : 4u)); /* f, h.txt, sub/b.bin, sub/c */
	if (sc->tree == T_BASIC && s.comp == OCP_COMPRESS_NONE) {
		/* the new files go as plain literals: their bytes are in the
		 * sender's stream, each followed by its end marker (int32 0) */
		const struct buf *snd = &s.data[s.a.pull ? 1 : 0];
		static const struct {
			uint64_t seed;
			size_t len;
		} nf[] = {{3, 1000}, {4, 5000}};

		for (i = 0; i < 2; i++) {
			uint8_t *c = malloc(nf[i].len + 4), *at;

			assert_non_null(c);
			ocgen_fill(nf[i].seed, c, nf[i].len);
			memset(c + nf[i].len, 0, 4);
			at = memmem(snd->p, snd->n, c, nf[i].len + 4);
			assert_non_null(at);
			assert_true(at - snd->p >= 4);
			/* the literal's int32 length right before it */
			assert_int_equal(at[-4] | at[-3] << 8 | at[-2] << 16 | at[-1] << 24,
					 (int)nf[i].len);
			free(c);
		}
	}
	sess_free(&s);
}

static void
test_transfers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (scenarios[i].tree == T_RICH)
			continue;
		print_message("# %s\n", scenarios[i].name);
		run_transfer_scenario(&scenarios[i]);
	}
}


/* Check decoded entries against the manifest capture.sh wrote from the tree. */
static void
check_manifest(const struct ocp_fentry *e, size_t n, bool numeric)
{
	struct buf m = {0};
	char *line, *save = NULL;
	size_t lines = 0;

	load("flist_rich", "manifest", &m);
	for (line = strtok_r((char *)m.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[8] = {0}, *t = line;
		size_t k, i;
		uint32_t type;

		for (k = 0; k < 8; k++) {
			f[k] = t;
			t = strchr(t, '\t');
			if (!t)
				break;
			*t++ = 0;
		}
		assert_true(k >= 6);
		lines++;
		for (i = 0; i < n; i++)
			if (strcmp(e[i].name, f[0]) == 0)
				break;
		if (i == n)
			fail_msg("%s: not in the decoded list", f[0]);
		switch (f[1][0]) {
		case 'f': type = S_IFREG; break;
		case 'd': type = S_IFDIR; break;
		case 'l': type = S_IFLNK; break;
		case 'c': type = S_IFCHR; break;
		case 'b': type = S_IFBLK; break;
		case 'p': type = S_IFIFO; break;
		default: fail_msg("type %s", f[1]); return;
		}
		assert_int_equal(e[i].mode & S_IFMT, type);
		if (type != S_IFLNK) /* rsync sends no symlink permissions */
			assert_int_equal(e[i].mode & 07777, strtoul(f[2], NULL, 8));
		if (type == S_IFREG || type == S_IFDIR || type == S_IFLNK)
			assert_int_equal(e[i].size, strtoll(f[3], NULL, 10));
		else
			assert_int_equal(e[i].size, 0);
		assert_int_equal(e[i].uid, strtoul(f[4], NULL, 10));
		assert_int_equal(e[i].gid, strtoul(f[5], NULL, 10));
		assert_int_equal(e[i].mtime, strtoll(f[6], NULL, 10));
		if (type == S_IFLNK) {
			assert_true(k == 7);
			assert_string_equal(e[i].link, f[7]);
		}
		if (!numeric && e[i].uid == 4242 && i > 0 &&
		    (e[i].xflags & OCP_XMIT_USER_NAME_FOLLOWS))
			assert_string_equal(e[i].user, "ocgold");
	}
	assert_int_equal(lines + 1, n); /* plus the transfer root "." */
	assert_string_equal(e[0].name, ".");
	buf_free(&m);
}

static void
check_idlist(const uint8_t *p, size_t len, size_t *off, bool id0, bool want_ocgold)
{
	struct ocp_idname ids[16];
	size_t n = 0, i;
	uint8_t enc[1024];
	int r = ocp_flist_dec_idlist(p + *off, len - *off, id0, ids, 16, &n);
	bool seen = false;

	assert_true(r > 0);
	for (i = 0; i < n; i++)
		if (ids[i].id == 4242 && strcmp(ids[i].name, "ocgold") == 0)
			seen = true;
	assert_true(seen == want_ocgold);
	if (id0) {
		assert_true(n >= 1);
		assert_int_equal(ids[n - 1].id, 0);
		assert_string_equal(ids[n - 1].name, "root");
	}
	assert_int_equal(ocp_flist_enc_idlist(enc, sizeof(enc), ids, id0 ? n - 1 : n, id0,
					      id0 ? ids[n - 1].name : NULL),
			 r);
	assert_memory_equal(enc, p + *off, (size_t)r);
	*off += (size_t)r;
}

static void
test_flist(void **state)
{
	(void)state;
	for (size_t si = 0; si < sizeof(scenarios) / sizeof(scenarios[0]); si++) {
		const struct scenario *sc = &scenarios[si];
		struct sess s;
		struct gen_item items[64];
		struct ocp_flist_state ds, es;
		struct ocp_flist_opts o;
		const struct buf *d;
		uint8_t enc[2048];
		size_t off = 0, n = 0, ni, i;
		int r;

		if (sc->tree != T_RICH)
			continue;
		print_message("# %s\n", sc->name);
		open_session(sc, &s);
		assert_true(s.a.pull);
		ni = walk_generator(&s, check_filter_end(&s), items, 64);
		for (i = 0; i < ni; i++)
			assert_int_equal(items[i].head.count, 0); /* nothing at the receiver */

		memset(&o, 0, sizeof(o));
		o.protocol = PROTO;
		o.compat = s.compat;
		o.owner = o.group = o.devices = o.specials = o.links = o.hard_links = true;
		o.numeric_ids = s.a.numeric_ids;
		assert_false(s.compat & OCP_CF_INC_RECURSE);
		assert_int_equal(ocp_flist_init(&ds, &o), 0);
		assert_int_equal(ocp_flist_init(&es, &o), 0);
		d = &s.data[1];
		while (!ocp_flist_done(&ds)) {
			assert_true(n < MAXE);
			r = ocp_flist_dec(&ds, d->p + off, d->n - off, ents, &ents[n]);
			if (r <= 0)
				fail_msg("%s: entry %zu at %zu: %s", sc->name, n, off, ocp_strerror(r));
			if (ocp_flist_done(&ds)) {
				assert_int_equal(ocp_flist_enc_end(&es, enc, sizeof(enc), 0), r);
			} else {
				assert_int_equal(ocp_flist_enc(&es, enc, sizeof(enc), &ents[n]), r);
				n++;
			}
			assert_memory_equal(enc, d->p + off, (size_t)r);
			off += (size_t)r;
		}
		assert_int_equal(ocp_flist_io_error(&ds), 0);
		if (!s.a.numeric_ids) {
			bool id0 = (s.compat & OCP_CF_ID0_NAMES) != 0;

			check_idlist(d->p, d->n, &off, id0, true); /* uids */
			check_idlist(d->p, d->n, &off, id0, true); /* gids */
		}
		check_manifest(ents, n, s.a.numeric_ids);
		/* hard links: three names, one group */
		{
			size_t hl = 0;

			for (i = 0; i < n; i++)
				if (ents[i].hlinked)
					hl++;
			assert_int_equal(hl, 3);
		}
		sess_free(&s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_transfers),
	    cmocka_unit_test(test_flist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
