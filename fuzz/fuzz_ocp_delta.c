/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Differential libFuzzer target for ocproto/delta.h and token.h: from an
 * input-chosen old file and an edit script, build the new file, then
 * signature, signature wire round trip, match, token encode in the chosen
 * format, decode and apply. The result must equal the new file exactly.
 *
 * Input: byte 0 picks the format (b % 5) and block size (0: the sqrt rule,
 * else 8 << b / 5 % 8); bytes 1-2 the old length; then the old bytes; then
 * the script: an op byte >= 0x80 copies (op & 0x7f) * 8 + 1 old bytes from
 * the 2-byte offset that follows, else the next (op + 1) bytes are inserted.
 */
#include <stdlib.h>
#include <string.h>

#include "ocproto/delta.h"
#include "ocproto/err.h"
#include "ocproto/token.h"
#include "tests/obuf.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define NEW_MAX (1u << 17)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t nw[NEW_MAX];
	struct obuf wire = {0}, out = {0}, sigw = {0};
	struct ocp_sig sig, sig2;
	struct ocp_sum_head h;
	struct ocp_tok_enc *e;
	struct ocp_tok_dec *d;
	struct ocp_delta_apply ap;
	enum ocp_tok_fmt fmt;
	size_t olen, nlen = 0, p;
	const uint8_t *old;
	int32_t bs;

	if (size < 3)
		return 0;
	fmt = (enum ocp_tok_fmt)(data[0] % 5);
	bs = data[0] / 5 % 9 ? 8 << (data[0] / 5 % 9 - 1) : 0;
	olen = (size_t)(data[1] | data[2] << 8);
	if (olen > size - 3)
		olen = size - 3;
	old = data + 3;
	for (p = 3 + olen; p < size;) {
		uint8_t op = data[p++];
		size_t n, off;

		if (op & 0x80) {
			if (p + 2 > size || olen == 0)
				break;
			off = (size_t)(data[p] | data[p + 1] << 8) % olen;
			p += 2;
			n = (size_t)(op & 0x7f) * 8 + 1;
			if (n > olen - off)
				n = olen - off;
			if (nlen + n > NEW_MAX)
				break;
			memcpy(nw + nlen, old + off, n);
		} else {
			n = (size_t)op + 1 < size - p ? (size_t)op + 1 : size - p;
			memcpy(nw + nlen, data + p, n);
			p += n;
		}
		nlen += n;
	}

	CHECK(ocp_sum_sizes((int64_t)olen, 31, bs, 16, true, &h) == 0);
	CHECK(ocp_sig_gen(&sig, old, olen, &h, OCP_CSUM_MD5, 1234, true) == 0);
	sigw.cap = ocp_sig_enc_size(&sig);
	sigw.b = malloc(sigw.cap + 1);
	CHECK(sigw.b);
	CHECK(ocp_sig_enc(&sig, sigw.b, sigw.cap) == (int)sigw.cap);
	CHECK(ocp_sig_dec(&sig2, sigw.b, sigw.cap, 31, OCP_CSUM_MD5, 1234, true, 0) ==
	      (int)sigw.cap);
	ocp_sig_free(&sig);

	CHECK(ocp_tok_enc_new(&e, fmt, 0, 31, obuf_write, &wire) == 0);
	CHECK(ocp_delta_match(&sig2, nw, nlen, ocp_tok_enc_put, e, NULL) == 0);
	ocp_tok_enc_free(e);

	struct ocp_basis_mem bm = {old, olen};

	CHECK(ocp_delta_apply_init(&ap, &h, ocp_basis_mem_read, &bm, obuf_write, &out, NEW_MAX) ==
	      0);
	struct ocp_tok_sink sink = {ocp_delta_apply_literal, ocp_delta_apply_block, &ap};

	CHECK(ocp_tok_dec_new(&d, fmt, 31, 0) == 0);
	CHECK(ocp_tok_dec_start(d, h.count) == 0);
	CHECK(ocp_tok_dec_feed(d, wire.b, wire.n, &sink) == (int)wire.n);
	CHECK(ocp_tok_dec_done(d));
	CHECK(out.n == nlen && (nlen == 0 || memcmp(out.b, nw, nlen) == 0));

	ocp_tok_dec_free(d);
	ocp_delta_apply_free(&ap);
	ocp_sig_free(&sig2);
	free(wire.b);
	free(out.b);
	free(sigw.b);
	return 0;
}
