/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for ocproto/int.h. Every decoder reads the input; what
 * decodes must re-encode (no longer than it came) and decode to the same
 * value; what is malformed must be an OCP_E* code. The input is then read as
 * a stream of ndx values with state, and its first 8 bytes as an int64 fed
 * to every encoder. Any violation traps.
 *
 * Input: byte 0 picks the protocol for the ndx stream (29 + b % 4) and the
 * varlong min_bytes (1 + b / 4 % 8); the decoders see the rest.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocproto/err.h"
#include "ocproto/int.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

/* A decoder result is a byte count within limits, "need more", or OCP_E*. */
static void
check_rc(int rc, size_t len, size_t max)
{
	CHECK(rc == 0 || ocp_is_proto_err(rc) ||
	      (rc > 0 && (size_t)rc <= len && (size_t)rc <= max));
}

static void
fuzz_scalars(const uint8_t *buf, size_t len, unsigned min_bytes)
{
	uint8_t out[OCP_LONGINT_MAX];
	int32_t a, b;
	int64_t x, y;
	uint16_t s, t;
	int rc, n;

	rc = ocp_dec_int32(buf, len, &a);
	check_rc(rc, len, OCP_INT32_SIZE);
	if (rc > 0) {
		CHECK(ocp_enc_int32(out, sizeof(out), a) == 4 && memcmp(out, buf, 4) == 0);
	}

	rc = ocp_dec_shortint(buf, len, &s);
	check_rc(rc, len, OCP_SHORTINT_SIZE);
	if (rc > 0) {
		CHECK(ocp_enc_shortint(out, sizeof(out), s) == 2);
		CHECK(ocp_dec_shortint(out, 2, &t) == 2 && s == t);
	}

	rc = ocp_dec_longint(buf, len, &x);
	check_rc(rc, len, OCP_LONGINT_MAX);
	if (rc > 0) {
		n = ocp_enc_longint(out, sizeof(out), x);
		CHECK(n > 0 && n <= rc);
		CHECK(ocp_dec_longint(out, (size_t)n, &y) == n && x == y);
	}

	rc = ocp_dec_varint(buf, len, &a);
	check_rc(rc, len, OCP_VARINT_MAX);
	if (rc > 0) {
		n = ocp_enc_varint(out, sizeof(out), a);
		CHECK(n > 0 && n <= rc);
		CHECK(ocp_dec_varint(out, (size_t)n, &b) == n && a == b);
	}

	rc = ocp_dec_varlong(buf, len, min_bytes, &x);
	check_rc(rc, len, OCP_VARLONG_MAX);
	if (rc > 0) {
		n = ocp_enc_varlong(out, sizeof(out), x, min_bytes);
		CHECK(n > 0 && n <= rc);
		CHECK(ocp_dec_varlong(out, (size_t)n, min_bytes, &y) == n && x == y);
	}
	/* A shorter input never succeeds where the full one asked for more. */
	if (rc == 0 && len > 0)
		CHECK(ocp_dec_varlong(buf, len - 1, min_bytes, &x) == 0);
}

static void
fuzz_vstring(const uint8_t *buf, size_t len)
{
	uint8_t *out;
	const uint8_t *s, *s2;
	size_t slen, slen2, max = len ? buf[0] * 128u : 0;
	int rc, n;

	rc = ocp_dec_vstring(buf, len, max, &s, &slen);
	check_rc(rc, len, OCP_VSTRING_HDR_MAX + OCP_VSTRING_LEN_MAX);
	if (rc <= 0)
		return;
	CHECK(slen <= max && s >= buf && s + slen == buf + rc);
	out = malloc(slen + OCP_VSTRING_HDR_MAX);
	CHECK(out != NULL);
	n = ocp_enc_vstring(out, slen + OCP_VSTRING_HDR_MAX, s, slen);
	CHECK(n > 0 && n <= rc);
	CHECK(ocp_dec_vstring(out, (size_t)n, slen, &s2, &slen2) == n);
	CHECK(slen2 == slen && memcmp(s, s2, slen) == 0);
	free(out);
}

/* Decode an ndx stream; each value, re-encoded from the same state, must
 * decode to itself and leave writer and reader states equal. */
static void
fuzz_ndx(const uint8_t *buf, size_t len, int protocol)
{
	struct ocp_ndx_state rd, wr, chk;
	uint8_t out[OCP_NDX_MAX];
	size_t pos = 0;

	ocp_ndx_init(&rd, protocol);
	while (pos < len) {
		int32_t v, w;
		int rc, n;

		wr = rd;
		chk = rd;
		rc = ocp_dec_ndx(buf + pos, len - pos, &rd, &v);
		check_rc(rc, len - pos, OCP_NDX_MAX);
		if (rc <= 0) {
			CHECK(memcmp(&rd, &wr, sizeof(rd)) == 0);
			break;
		}
		n = ocp_enc_ndx(out, sizeof(out), &wr, v);
		CHECK(n > 0);
		CHECK(ocp_dec_ndx(out, (size_t)n, &chk, &w) == n && v == w);
		CHECK(memcmp(&chk, &wr, sizeof(wr)) == 0);
		CHECK(memcmp(&rd, &wr, sizeof(wr)) == 0);
		pos += (size_t)rc;
	}
}

/* Every encoder takes any value (or refuses it cleanly) and round-trips. */
static void
fuzz_encoders(const uint8_t *buf, size_t len, unsigned min_bytes)
{
	uint8_t out[OCP_LONGINT_MAX];
	uint64_t u = 0;
	int64_t v, y;
	int32_t w;
	int n;

	for (size_t i = 0; i < 8 && i < len; i++)
		u |= (uint64_t)buf[i] << (8 * i);
	memcpy(&v, &u, sizeof(v));
	n = ocp_enc_longint(out, sizeof(out), v);
	CHECK(n > 0 && ocp_dec_longint(out, (size_t)n, &y) == n && y == v);
	n = ocp_enc_varlong(out, sizeof(out), v, min_bytes);
	/* Only min_bytes 1 and 2 run out of room: past 2^50 and 2^58. */
	if (n == -ERANGE)
		CHECK(min_bytes <= 2 && u >> (min_bytes == 1 ? 50 : 58) != 0);
	else
		CHECK(n > 0 && ocp_dec_varlong(out, (size_t)n, min_bytes, &y) == n && y == v);
	n = ocp_enc_varint(out, sizeof(out), (int32_t)(uint32_t)u);
	CHECK(n > 0 && ocp_dec_varint(out, (size_t)n, &w) == n && w == (int32_t)(uint32_t)u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned cfg, min_bytes;

	if (size < 1)
		return 0;
	cfg = data[0];
	min_bytes = 1 + cfg / 4 % 8;
	data++;
	size--;
	fuzz_scalars(data, size, min_bytes);
	fuzz_vstring(data, size);
	fuzz_ndx(data, size, 29 + (int)(cfg % 4));
	fuzz_encoders(data, size, min_bytes);
	return 0;
}
