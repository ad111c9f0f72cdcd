/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto token streams (upstream token.c): how the sender's literal runs
 * and block references travel, plain or compressed with zlib, zlibx, zstd
 * or lz4 inside the shared flag-byte framing (END, TOKEN_LONG,
 * TOKENRUN_LONG, DEFLATED_DATA, TOKEN_REL, TOKENRUN_REL).
 *
 * Sans-I/O: the encoder writes through a caller callback; the decoder takes
 * whatever bytes the caller has and hands literals and block references to
 * a sink. Decoders reject negative or overflowing tokens, runs past the
 * block count, unknown flags, bad compressed data, and cap the output of
 * any one compressed unit (decompression bombs).
 *
 * Concurrency: an encoder or decoder is a session-long object (zstd keeps
 * one context for the whole session, as upstream) used by one thread at a
 * time; different objects are independent.
 */
#ifndef OCPROTO_TOKEN_H
#define OCPROTO_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocproto/delta.h"

/* Token stream formats (upstream CPRES_*). */
enum ocp_tok_fmt {
	OCP_TOK_PLAIN = 0, /* no compression */
	OCP_TOK_ZLIB,	   /* raw deflate; matched data feeds both histories */
	OCP_TOK_ZLIBX,	   /* raw deflate without the history feeding */
	OCP_TOK_ZSTD,	   /* one zstd stream per session, flushed per token */
	OCP_TOK_LZ4,	   /* each chunk an independent lz4 block */
	OCP_TOK_FMT_COUNT
};

#define OCP_TOK_MAX_DATA     16383 /* upstream MAX_DATA_COUNT: largest DEFLATED_DATA payload */
#define OCP_TOK_UNIT_MAX     (2 + OCP_TOK_MAX_DATA) /* longest unit the decoder needs whole */
#define OCP_TOK_DEF_UNIT_OUT (64u << 20) /* default cap on one unit's decompressed bytes */

struct ocp_tok_enc;
struct ocp_tok_dec;

/* A level for ocp_tok_enc_new(): zlib's least (stored blocks), as a daemon's
 * "dont compress = *" asks (upstream's per-file default level, which only
 * its deflate takes; zstd and lz4 keep their level). */
#define OCP_TOK_LEVEL_LEAST (-1)

/*
 * New encoder for fmt writing through write(arg, ...). level 0 picks
 * upstream's default (zlib 6, zstd 3; ignored otherwise), or
 * OCP_TOK_LEVEL_LEAST; protocol (30..32)
 * selects upstream's pre-31 zlib history quirk. 0, -EINVAL, -ENOMEM.
 */
int ocp_tok_enc_new(struct ocp_tok_enc **out, enum ocp_tok_fmt fmt, int level, int protocol,
		    ocp_out_write_fn write, void *arg);
/* Release an encoder (NULL is fine). */
void ocp_tok_enc_free(struct ocp_tok_enc *e);
/*
 * Send lit_len literal bytes then token (a block index, OCP_TOKEN_NONE, or
 * OCP_TOKEN_END which closes the file); blk[0..blk_len) is the matched
 * block's data (zlib feeds it to the history). Mirrors upstream
 * `send_token()`; has the shape of ocp_delta_emit_fn, with the encoder as
 * arg. 0, the writer's error, -EINVAL or OCP_EDECOMP when the compressor fails.
 */
int ocp_tok_enc_put(void *enc, const uint8_t *lit, size_t lit_len, int32_t token,
		    const uint8_t *blk, size_t blk_len);

/* Where a decoder delivers a file's content. */
struct ocp_tok_sink {
	/* Literal bytes, in order. 0 or a negative error that stops decoding. */
	int (*literal)(void *arg, const uint8_t *data, size_t len);
	/* Block idx (0 <= idx < count): output it and return its bytes (zlib history). */
	int (*block)(void *arg, int32_t idx, const uint8_t **data, size_t *len);
	void *arg;
};

/*
 * New decoder for fmt. max_unit_out caps the bytes one compressed unit may
 * expand to (0: OCP_TOK_DEF_UNIT_OUT). 0, -EINVAL, -ENOMEM.
 */
int ocp_tok_dec_new(struct ocp_tok_dec **out, enum ocp_tok_fmt fmt, int protocol,
		    size_t max_unit_out);
/* Release a decoder (NULL is fine). */
void ocp_tok_dec_free(struct ocp_tok_dec *d);
/* Begin a file whose signature had count blocks (0 <= count). 0 or -EINVAL. */
int ocp_tok_dec_start(struct ocp_tok_dec *d, int32_t count);
/*
 * Decode from buf[0..len), delivering to sink; mirrors upstream
 * `recv_token()` and `see_token()`. Returns the bytes consumed (only whole
 * units; keep the rest and call again with more, a buffer of
 * OCP_TOK_UNIT_MAX always makes progress), or OCP_ETOKEN, OCP_EDECOMP,
 * OCP_ESIG or the sink's error. Stops after the file's end marker.
 */
int ocp_tok_dec_feed(struct ocp_tok_dec *d, const uint8_t *buf, size_t len,
		     const struct ocp_tok_sink *sink);
/* Has the current file's end marker been decoded? */
bool ocp_tok_dec_done(const struct ocp_tok_dec *d);

/*
 * Length of the unit that starts buf in format fmt, read from its header
 * alone: > 0, 0 when the header itself is incomplete, or OCP_ETOKEN. Lets a
 * caller gather exactly one unit that a frame boundary cuts, and no byte of
 * what follows the stream.
 */
int ocp_tok_unit_len(enum ocp_tok_fmt fmt, const uint8_t *buf, size_t len);

#endif /* OCPROTO_TOKEN_H */
