/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Token stream encoder and decoder (upstream token.c), plain and with the
 * zlib, zlibx, zstd and lz4 compressors. See ocproto/token.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include "ocproto/err.h"
#include "ocproto/int.h"
#include "ocproto/token.h"

/* Flag bytes of the compressed framing (upstream token.c). */
#define END_FLAG      0x00
#define TOKEN_LONG    0x20
#define TOKENRUN_LONG 0x21
#define DEFLATED_DATA 0x40
#define TOKEN_REL     0x80
#define TOKENRUN_REL  0xc0

#define MAX_TOKEN_INDEX 0x7ffffffe
#define AVAIL_OUT(n)	((n)*1001 / 1000 + 16) /* deflate's worst-case room */
#define OBUF_SIZE	(LZ4_COMPRESSBOUND(OCP_CHUNK_SIZE) + 2)
#define DBUF_SIZE	(1u << 17) /* >= AVAIL_OUT(CHUNK), 2 * ZSTD_DStreamOutSize(), LZ4 bound */

struct ocp_tok_enc {
	enum ocp_tok_fmt fmt;
	int level;
	int protocol;
	ocp_out_write_fn write;
	void *arg;
	int32_t last_token; /* -1: at a file start */
	int32_t run_start;
	int32_t last_run_end;
	bool flush_pending; /* the previous put was literal-only */
	bool z_ready;
	z_stream z;
	ZSTD_CCtx *zc;
	uint8_t obuf[OBUF_SIZE];
};

struct ocp_tok_dec {
	enum ocp_tok_fmt fmt;
	int protocol;
	size_t max_unit_out;
	int32_t count;
	bool done;
	bool inflated; /* zlib: data since the last flag; a sync point is due */
	bool z_ready;
	int32_t rx_token;
	int32_t rx_run;	 /* tokens of the current run still to deliver */
	int64_t residue; /* plain: literal bytes still to come */
	size_t unit_out; /* bytes produced by the current unit */
	z_stream z;
	ZSTD_DCtx *zd;
	uint8_t dbuf[DBUF_SIZE];
};

/* ---- encoder ---------------------------------------------------------------- */

int
ocp_tok_enc_new(struct ocp_tok_enc **out, enum ocp_tok_fmt fmt, int level, int protocol,
		ocp_out_write_fn write, void *arg)
{
	struct ocp_tok_enc *e;

	if ((unsigned)fmt >= OCP_TOK_FMT_COUNT || !write || (level < 0 && level != OCP_TOK_LEVEL_LEAST))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fmt = fmt;
	e->protocol = protocol;
	e->write = write;
	e->arg = arg;
	e->last_token = -1;
	if (fmt == OCP_TOK_ZLIB || fmt == OCP_TOK_ZLIBX) {
		e->level = level == OCP_TOK_LEVEL_LEAST ? Z_NO_COMPRESSION : level ? level : 6;
		if (e->level > 9)
			e->level = 9;
		if (deflateInit2(&e->z, e->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			goto fail;
		e->z_ready = true;
	} else if (fmt == OCP_TOK_ZSTD) {
		/* (upstream's zstd takes the session's level: "least" changes nothing) */
		e->level = level > 0 ? level : ZSTD_CLEVEL_DEFAULT;
		e->zc = ZSTD_createCCtx();
		if (!e->zc ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(e->zc, ZSTD_c_compressionLevel, e->level)))
			goto fail;
	}
	*out = e;
	return 0;
fail:
	ocp_tok_enc_free(e);
	return -ENOMEM;
}

void
ocp_tok_enc_free(struct ocp_tok_enc *e)
{
	if (!e)
		return;
	if (e->z_ready)
		deflateEnd(&e->z);
	ZSTD_freeCCtx(e->zc);
	free(e);
}

static int
put_int32(struct ocp_tok_enc *e, int32_t v)
{
	uint8_t b[4];

	ocp_enc_int32(b, sizeof(b), v);
	return e->write(e->arg, b, 4);
}

/* Plain tokens; mirrors upstream `simple_send_token()`. */
static int
plain_put(struct ocp_tok_enc *e, const uint8_t *lit, size_t nb, int32_t token)
{
	int rc;

	for (size_t off = 0; off < nb;) {
		size_t n1 = nb - off < OCP_CHUNK_SIZE ? nb - off : OCP_CHUNK_SIZE;

		rc = put_int32(e, (int32_t)n1);
		if (!rc)
			rc = e->write(e->arg, lit + off, n1);
		if (rc)
			return rc;
		off += n1;
	}
	return token == OCP_TOKEN_NONE ? 0 : put_int32(e, -(token + 1));
}

/* Write the finished run [run_start, last_token] relative to the previous run. */
static int
put_run(struct ocp_tok_enc *e)
{
	int32_t r = e->run_start - e->last_run_end, n = e->last_token - e->run_start;
	uint8_t b[7];
	size_t p = 0;

	if (r >= 0 && r <= 63) {
		b[p++] = (uint8_t)((n == 0 ? TOKEN_REL : TOKENRUN_REL) + r);
	} else {
		b[p++] = n == 0 ? TOKEN_LONG : TOKENRUN_LONG;
		ocp_enc_int32(b + p, 4, e->run_start);
		p += 4;
	}
	if (n != 0) {
		b[p++] = (uint8_t)n;
		b[p++] = (uint8_t)(n >> 8);
	}
	return e->write(e->arg, b, p);
}

/* Write obuf[2..2+n) as one DEFLATED_DATA unit. */
static int
put_data(struct ocp_tok_enc *e, size_t n)
{
	e->obuf[0] = (uint8_t)(DEFLATED_DATA + (n >> 8));
	e->obuf[1] = (uint8_t)n;
	return e->write(e->arg, e->obuf, n + 2);
}

/* Deflate the literal; mirrors the data part of upstream `send_deflated_token()`. */
static int
zlib_data(struct ocp_tok_enc *e, const uint8_t *lit, size_t nb, int32_t token)
{
	z_stream *z = &e->z;
	int flush = Z_NO_FLUSH, rc;

	z->avail_in = 0;
	z->avail_out = 0;
	do {
		if (z->avail_in == 0 && nb != 0) {
			size_t n = nb < OCP_CHUNK_SIZE ? nb : OCP_CHUNK_SIZE;

			z->next_in = (Bytef *)lit;
			z->avail_in = (uInt)n;
			lit += n;
			nb -= n;
		}
		if (z->avail_out == 0) {
			z->next_out = e->obuf + 2;
			z->avail_out = OCP_TOK_MAX_DATA;
			if (flush != Z_NO_FLUSH) {
				/* The 4 bytes held back last round may not be the final ones. */
				memcpy(z->next_out, e->obuf + OCP_TOK_MAX_DATA - 2, 4);
				z->next_out += 4;
				z->avail_out -= 4;
			}
		}
		if (nb == 0 && token != OCP_TOKEN_NONE)
			flush = Z_SYNC_FLUSH;
		if (deflate(z, flush) != Z_OK)
			return OCP_EDECOMP;
		if (nb == 0 || z->avail_out == 0) {
			int n = OCP_TOK_MAX_DATA - (int)z->avail_out;

			/* A sync flush ends in 00 00 FF FF, which the receiver re-creates. */
			if (flush != Z_NO_FLUSH)
				n -= 4;
			if (n > 0 && (rc = put_data(e, (size_t)n)))
				return rc;
		}
	} while (nb != 0 || z->avail_out == 0);
	return 0;
}

/* Add a matched block to the deflate history without sending anything. */
static int
zlib_see(struct ocp_tok_enc *e, const uint8_t *blk, size_t toklen)
{
	z_stream *z = &e->z;

	do {
		size_t n1 = toklen > 0xffff ? 0xffff : toklen;

		toklen -= n1;
		z->next_in = (Bytef *)blk;
		z->avail_in = (uInt)n1;
		/* Before protocol 31 upstream fed the first 64 KiB again. */
		if (e->protocol >= 31)
			blk += n1;
		do {
			z->next_out = e->obuf;
			z->avail_out = AVAIL_OUT(OCP_CHUNK_SIZE);
			if (deflate(z, Z_SYNC_FLUSH) != Z_OK)
				return OCP_EDECOMP;
		} while (z->avail_in != 0 || z->avail_out == 0);
	} while (toklen > 0);
	return 0;
}

/* One zstd pass over the literal, flushed unless literal-only; mirrors `send_zstd_token()`. */
static int
zstd_data(struct ocp_tok_enc *e, const uint8_t *lit, size_t nb, int32_t token)
{
	ZSTD_inBuffer in = {lit, nb, 0};
	ZSTD_EndDirective mode = token != OCP_TOKEN_NONE ? ZSTD_e_flush : ZSTD_e_continue;
	bool finished;
	int rc;

	do {
		ZSTD_outBuffer out = {e->obuf + 2, OCP_TOK_MAX_DATA, 0};
		size_t r = ZSTD_compressStream2(e->zc, &out, &in, mode);

		if (ZSTD_isError(r))
			return OCP_EDECOMP;
		finished = mode == ZSTD_e_flush ? r == 0 : in.pos == in.size;
		if (out.pos && (rc = put_data(e, out.pos)))
			return rc;
	} while (!finished);
	return 0;
}

/* Independent lz4 blocks of at most 16383 input bytes; mirrors `send_compressed_token()`. */
static int
lz4_data(struct ocp_tok_enc *e, const uint8_t *lit, size_t nb)
{
	int avail_in = 0, avail_out = 0, rc;

	do {
		if (avail_out == 0)
			avail_in = (int)(nb < OCP_TOK_MAX_DATA ? nb : OCP_TOK_MAX_DATA);
		else
			avail_in /= 2;
		avail_out = LZ4_compress_default((const char *)lit, (char *)e->obuf + 2, avail_in,
						 OBUF_SIZE - 2);
		if (avail_out <= 0)
			return OCP_EDECOMP;
		if (avail_out <= OCP_TOK_MAX_DATA) {
			rc = put_data(e, (size_t)avail_out);
			if (rc)
				return rc;
			avail_out = 0;
			nb -= (size_t)avail_in;
			lit += avail_in;
		}
	} while (nb != 0);
	return 0;
}

int
ocp_tok_enc_put(void *enc, const uint8_t *lit, size_t nb, int32_t token, const uint8_t *blk,
		size_t blk_len)
{
	struct ocp_tok_enc *e = enc;
	int rc = 0;

	if (token < OCP_TOKEN_NONE || (token >= 0 && (!blk || !blk_len)) || nb > INT32_MAX)
		return -EINVAL;
	if (e->fmt == OCP_TOK_PLAIN)
		return plain_put(e, lit, nb, token);

	/* Runs of consecutive blocks go out as one token with a count. */
	if (e->last_token == -1) {
		if (e->fmt == OCP_TOK_ZLIB || e->fmt == OCP_TOK_ZLIBX)
			deflateReset(&e->z);
		e->last_run_end = 0;
		e->run_start = token;
		e->flush_pending = false;
	} else if (e->last_token == OCP_TOKEN_NONE) {
		e->run_start = token;
	} else if (nb != 0 || token != e->last_token + 1 || token >= e->run_start + 65536) {
		rc = put_run(e);
		if (rc)
			return rc;
		e->last_run_end = e->last_token;
		e->run_start = token;
	}
	e->last_token = token;

	if (nb != 0 || e->flush_pending) {
		switch (e->fmt) {
		case OCP_TOK_ZLIB:
		case OCP_TOK_ZLIBX:
			rc = zlib_data(e, lit, nb, token);
			break;
		case OCP_TOK_ZSTD:
			rc = zstd_data(e, lit, nb, token);
			break;
		default:
			rc = lz4_data(e, lit, nb);
			break;
		}
		if (rc)
			return rc;
		e->flush_pending = token == OCP_TOKEN_NONE;
	}
	if (token == OCP_TOKEN_END) {
		uint8_t end = END_FLAG;

		return e->write(e->arg, &end, 1);
	}
	if (token >= 0 && e->fmt == OCP_TOK_ZLIB)
		return zlib_see(e, blk, blk_len);
	return 0;
}

/* ---- decoder ---------------------------------------------------------------- */

int
ocp_tok_dec_new(struct ocp_tok_dec **out, enum ocp_tok_fmt fmt, int protocol, size_t max_unit_out)
{
	struct ocp_tok_dec *d;

	if ((unsigned)fmt >= OCP_TOK_FMT_COUNT)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fmt = fmt;
	d->protocol = protocol;
	d->max_unit_out = max_unit_out ? max_unit_out : OCP_TOK_DEF_UNIT_OUT;
	d->done = true;
	if (fmt == OCP_TOK_ZLIB || fmt == OCP_TOK_ZLIBX) {
		if (inflateInit2(&d->z, -15) != Z_OK)
			goto fail;
		d->z_ready = true;
	} else if (fmt == OCP_TOK_ZSTD) {
		d->zd = ZSTD_createDCtx();
		if (!d->zd)
			goto fail;
	}
	*out = d;
	return 0;
fail:
	ocp_tok_dec_free(d);
	return -ENOMEM;
}

void
ocp_tok_dec_free(struct ocp_tok_dec *d)
{
	if (!d)
		return;
	if (d->z_ready)
		inflateEnd(&d->z);
	ZSTD_freeDCtx(d->zd);
	free(d);
}

int
ocp_tok_dec_start(struct ocp_tok_dec *d, int32_t count)
{
	if (count < 0)
		return -EINVAL;
	d->count = count;
	d->done = false;
	d->inflated = false;
	d->rx_token = 0;
	d->rx_run = 0;
	d->residue = 0;
	if (d->z_ready)
		inflateReset(&d->z);
	return 0;
}

bool
ocp_tok_dec_done(const struct ocp_tok_dec *d)
{
	return d->done;
}

/* Deliver n decompressed bytes, counting them against the per-unit cap. */
static int
emit_out(struct ocp_tok_dec *d, const struct ocp_tok_sink *sink, size_t n)
{
	if (n > d->max_unit_out - d->unit_out)
		return OCP_EDECOMP;
	d->unit_out += n;
	return n ? sink->literal(sink->arg, d->dbuf, n) : 0;
}

/* Feed a block's bytes to inflate's history as fake stored blocks; mirrors `see_deflate_token()`.
 */
static int
zlib_see_block(struct ocp_tok_dec *d, const uint8_t *buf, size_t len)
{
	z_stream *z = &d->z;
	uint8_t hdr[5] = {0};
	size_t blklen = 0;
	int r;

	z->avail_in = 0;
	do {
		if (z->avail_in == 0 && len != 0) {
			if (blklen == 0) {
				blklen = len > 0xffff ? 0xffff : len;
				hdr[1] = (uint8_t)blklen;
				hdr[2] = (uint8_t)(blklen >> 8);
				hdr[3] = (uint8_t)~hdr[1];
				hdr[4] = (uint8_t)~hdr[2];
				z->next_in = hdr;
				z->avail_in = 5;
			} else {
				z->next_in = (Bytef *)buf;
				z->avail_in = (uInt)blklen;
				/* Before protocol 31 upstream fed the first 64 KiB again. */
				if (d->protocol >= 31)
					buf += blklen;
				len -= blklen;
				blklen = 0;
			}
		}
		z->next_out = d->dbuf;
		z->avail_out = DBUF_SIZE;
		r = inflate(z, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR)
			return OCP_EDECOMP;
	} while (len || z->avail_out == 0);
	return 0;
}

/* After deflated data and before the next flag: drain, check the sync point, re-add 00 00 FF FF. */
static int
zlib_sync(struct ocp_tok_dec *d, const struct ocp_tok_sink *sink)
{
	static const uint8_t sync[4] = {0, 0, 0xff, 0xff};
	z_stream *z = &d->z;
	int r, rc;

	for (;;) {
		z->avail_in = 0;
		z->next_out = d->dbuf;
		z->avail_out = DBUF_SIZE;
		r = inflate(z, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR)
			return OCP_EDECOMP;
		if (r == Z_BUF_ERROR || z->avail_out == DBUF_SIZE)
			break;
		rc = emit_out(d, sink, DBUF_SIZE - z->avail_out);
		if (rc)
			return rc;
	}
	if (!inflateSyncPoint(z))
		return OCP_EDECOMP;
	z->next_in = (Bytef *)sync;
	z->avail_in = 4;
	z->next_out = d->dbuf;
	z->avail_out = DBUF_SIZE;
	r = inflate(z, Z_SYNC_FLUSH);
	if ((r != Z_OK && r != Z_BUF_ERROR) || z->avail_out != DBUF_SIZE)
		return OCP_EDECOMP;
	d->inflated = false;
	return 0;
}

/* Decompress one DEFLATED_DATA payload and deliver its bytes. */
static int
unit_data(struct ocp_tok_dec *d, const uint8_t *p, size_t n, const struct ocp_tok_sink *sink)
{
	int rc;

	d->unit_out = 0;
	if (d->fmt == OCP_TOK_ZLIB || d->fmt == OCP_TOK_ZLIBX) {
		z_stream *z = &d->z;

		z->next_in = (Bytef *)p;
		z->avail_in = (uInt)n;
		while (z->avail_in) {
			z->next_out = d->dbuf;
			z->avail_out = DBUF_SIZE;
			if (inflate(z, Z_NO_FLUSH) != Z_OK)
				return OCP_EDECOMP;
			rc = emit_out(d, sink, DBUF_SIZE - z->avail_out);
			if (rc)
				return rc;
		}
		d->inflated = true;
		return 0;
	}
	if (d->fmt == OCP_TOK_ZSTD) {
		ZSTD_inBuffer in = {p, n, 0};

		for (;;) {
			ZSTD_outBuffer out = {d->dbuf, DBUF_SIZE, 0};
			size_t r = ZSTD_decompressStream(d->zd, &out, &in);

			if (ZSTD_isError(r))
				return OCP_EDECOMP;
			rc = emit_out(d, sink, out.pos);
			if (rc)
				return rc;
			if (in.pos == in.size && out.pos < DBUF_SIZE)
				return 0;
		}
	}
	rc = LZ4_decompress_safe((const char *)p, (char *)d->dbuf, (int)n,
				 LZ4_COMPRESSBOUND(OCP_CHUNK_SIZE));
	if (rc < 0)
		return OCP_EDECOMP;
	return emit_out(d, sink, (size_t)rc);
}

/* Deliver block rx_token (already checked against count). */
static int
deliver_block(struct ocp_tok_dec *d, const struct ocp_tok_sink *sink)
{
	const uint8_t *data = NULL;
	size_t len = 0;
	int rc = sink->block(sink->arg, d->rx_token, &data, &len);

	if (rc)
		return rc;
	if (d->fmt == OCP_TOK_ZLIB && len)
		return zlib_see_block(d, data, len);
	return 0;
}

/* One plain unit from buf: >0 consumed, 0 need more, <0 error. */
static int
plain_unit(struct ocp_tok_dec *d, const uint8_t *buf, size_t len, const struct ocp_tok_sink *sink)
{
	int32_t v;
	int rc;

	if (d->residue) {
		size_t n = (uint64_t)d->residue < len ? (size_t)d->residue : len;

		if (n > OCP_CHUNK_SIZE)
			n = OCP_CHUNK_SIZE;
		if (!n)
			return 0;
		rc = sink->literal(sink->arg, buf, n);
		if (rc)
			return rc;
		d->residue -= (int64_t)n;
		return (int)n;
	}
	if (ocp_dec_int32(buf, len, &v) <= 0)
		return 0;
	if (v == 0) {
		d->done = true;
	} else if (v > 0) {
		d->residue = v;
	} else {
		if (v == INT32_MIN || -(v + 1) >= d->count)
			return OCP_ETOKEN;
		d->rx_token = -(v + 1);
		rc = deliver_block(d, sink);
		if (rc)
			return rc;
	}
	return 4;
}

/* One compressed-framing unit from buf: >0 consumed, 0 need more, <0 error. */
static int
framed_unit(struct ocp_tok_dec *d, const uint8_t *buf, size_t len, const struct ocp_tok_sink *sink)
{
	uint8_t flag = buf[0];
	bool has_run;
	size_t need;
	int32_t tok;
	int rc;

	if ((flag & 0xc0) == DEFLATED_DATA) {
		if (len < 2)
			return 0;
		need = 2 + ((size_t)(flag & 0x3f) << 8) + buf[1];
		if (len < need)
			return 0;
		rc = unit_data(d, buf + 2, need - 2, sink);
		return rc ? rc : (int)need;
	}
	if (d->inflated) {
		rc = zlib_sync(d, sink);
		if (rc)
			return rc;
	}
	if (flag == END_FLAG) {
		d->done = true;
		return 1;
	}
	if (flag & TOKEN_REL) {
		has_run = flag & 0x40;
		need = 1 + (has_run ? 2 : 0);
		if (len < need)
			return 0;
		if (d->rx_token > MAX_TOKEN_INDEX - (flag & 0x3f))
			return OCP_ETOKEN;
		tok = d->rx_token + (flag & 0x3f);
	} else if (flag == TOKEN_LONG || flag == TOKENRUN_LONG) {
		has_run = flag & 1;
		need = 5 + (has_run ? 2 : 0);
		if (len < need)
			return 0;
		ocp_dec_int32(buf + 1, 4, &tok);
		if (tok < 0 || tok > MAX_TOKEN_INDEX)
			return OCP_ETOKEN;
	} else {
		return OCP_ETOKEN;
	}
	if (tok >= d->count)
		return OCP_ETOKEN;
	if (has_run) {
		int32_t run = buf[need - 2] | buf[need - 1] << 8;

		if (run <= 0 || tok > MAX_TOKEN_INDEX - run || tok + run >= d->count)
			return OCP_ETOKEN;
		d->rx_run = run;
	}
	d->rx_token = tok;
	rc = deliver_block(d, sink);
	return rc ? rc : (int)need;
}

int
ocp_tok_unit_len(enum ocp_tok_fmt fmt, const uint8_t *buf, size_t len)
{
	uint8_t flag;

	if (fmt == OCP_TOK_PLAIN) {
		int32_t n;

		if (len < 4)
			return 0;
		ocp_dec_int32(buf, 4, &n);
		if (n > OCP_CHUNK_SIZE)
			return OCP_ETOKEN;
		return n > 0 ? 4 + n : 4;
	}
	if (!len)
		return 0;
	flag = buf[0];
	if ((flag & 0xc0) == DEFLATED_DATA) {
		if (len < 2)
			return 0;
		return 2 + ((flag & 0x3f) << 8) + buf[1];
	}
	if (flag == END_FLAG)
		return 1;
	if (flag & TOKEN_REL)
		return flag & 0x40 ? 3 : 1;
	if (flag == TOKEN_LONG)
		return 5;
	if (flag == TOKENRUN_LONG)
		return 7;
	return OCP_ETOKEN;
}

int
ocp_tok_dec_feed(struct ocp_tok_dec *d, const uint8_t *buf, size_t len,
		 const struct ocp_tok_sink *sink)
{
	size_t used = 0;
	int rc;

	if (len > INT32_MAX)
		len = INT32_MAX;
	while (!d->done) {
		if (d->rx_run > 0) {
			d->rx_token++;
			d->rx_run--;
			rc = deliver_block(d, sink);
			if (rc)
				return rc;
			continue;
		}
		if (used == len)
			break;
		if (d->fmt == OCP_TOK_PLAIN)
			rc = plain_unit(d, buf + used, len - used, sink);
		else
			rc = framed_unit(d, buf + used, len - used, sink);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		used += (size_t)rc;
	}
	return (int)used;
}
