/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the token decoders of ocproto/token.h: arbitrary
 * bytes in every format must end in done, need-more or an error, never a
 * crash, an out-of-range block index or output beyond the per-unit cap;
 * feeding the same bytes in small pieces must give the same outcome and
 * the same output as feeding them whole.
 *
 * Input: byte 0 picks the format (b % 5) and the piece size (1 + b / 5 % 16),
 * byte 1 the block count; the rest is the stream.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ocproto/err.h"
#include "ocproto/token.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define UNIT_CAP (256u << 10)

struct tally {
	uint64_t lit, blocks, sum;
	int32_t count;
};

static int
on_lit(void *arg, const uint8_t *data, size_t len)
{
	struct tally *t = arg;

	CHECK(len <= UNIT_CAP);
	t->lit += len;
	for (size_t i = 0; i < len; i++)
		t->sum = t->sum * 31 + data[i];
	return 0;
}

static int
on_block(void *arg, int32_t idx, const uint8_t **data, size_t *len)
{
	static const uint8_t blk[300];
	struct tally *t = arg;

	CHECK(idx >= 0 && idx < t->count);
	t->blocks++;
	t->sum = t->sum * 31 + (uint64_t)idx;
	*data = blk;
	*len = 1 + (size_t)idx % sizeof(blk);
	return 0;
}

/* Decode in pieces of `piece` bytes; returns done (1), need more (0) or an error. */
static int
run(enum ocp_tok_fmt fmt, int32_t count, const uint8_t *p, size_t n, size_t piece, struct tally *t)
{
	struct ocp_tok_dec *d;
	struct ocp_tok_sink sink = {on_lit, on_block, t};
	size_t pos = 0, avail = 0;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	t->count = count;
	if (ocp_tok_dec_new(&d, fmt, 31, UNIT_CAP))
		return -1;
	ocp_tok_dec_start(d, count);
	while (!ocp_tok_dec_done(d)) {
		avail = avail + piece < n - pos ? avail + piece : n - pos;
		rc = ocp_tok_dec_feed(d, p + pos, avail, &sink);
		if (rc < 0)
			break;
		CHECK((size_t)rc <= avail);
		pos += (size_t)rc;
		avail -= (size_t)rc;
		if (rc == 0 && avail == n - pos)
			break;
		rc = 0;
	}
	if (rc >= 0)
		rc = ocp_tok_dec_done(d);
	ocp_tok_dec_free(d);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally a, b;
	enum ocp_tok_fmt fmt;
	int ra, rb;

	if (size < 2 || size > 65536)
		return 0;
	fmt = (enum ocp_tok_fmt)(data[0] % 5);
	ra = run(fmt, data[1], data + 2, size - 2, size, &a);
	rb = run(fmt, data[1], data + 2, size - 2, 1 + data[0] / 5 % 16, &b);
	CHECK(ra == 1 || ra == 0 || ocp_is_proto_err(ra));
	CHECK(ra == rb);
	CHECK(a.lit == b.lit && a.blocks == b.blocks && a.sum == b.sum);
	return 0;
}
