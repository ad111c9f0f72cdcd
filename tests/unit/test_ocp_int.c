/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ocproto/int.h scalars and vstrings: golden byte vectors,
 * edge values, truncation at every split point and malformed input. The ndx
 * codec has its own file, test_ocp_ndx.c.
 *
 * Vectors marked "capture" were taken from real rsync 3.5.0 byte streams:
 * a fake remote shell (`-e rsh.sh`, which runs the server command locally
 * with `tee` on both pipes) recorded both directions of
 *   cap1: rsync -a --list-only localhost:src1/   (files made with chosen
 *         sizes, mtimes, nanoseconds and uids: the file list carries them as
 *         varlong(3) sizes, varlong(4) mtimes and varint nsec/uid/flags)
 *   cap2: rsync -aW --no-i-r src2/ localhost:dst2/  (40010 files, 9 changed)
 *   cap4: pushes and pulls with --stderr=client, --delete,
 *         --remove-source-files and a daemon module with `timeout = 300`
 *   cap5: cap1 again with --protocol=29 (int32/longint forms)
 * The rest are "derived" from the rules in docs/design/ocproto.md.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ocproto/err.h"
#include "ocproto/int.h"

/* One golden vector: a value and its exact encoding. */
struct vec {
	int64_t value;
	size_t len;
	uint8_t bytes[12];
};

/* clang-format off */
#define V(val, ...) {(val), sizeof((uint8_t[]){__VA_ARGS__}), {__VA_ARGS__}}
/* clang-format on */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A codec seen through int64_t so one checker serves them all. */
struct codec {
	int (*enc)(uint8_t *out, size_t cap, int64_t v);
	int (*dec)(const uint8_t *buf, size_t len, int64_t *v);
};

static int
enc_int32(uint8_t *out, size_t cap, int64_t v)
{
	return ocp_enc_int32(out, cap, (int32_t)v);
}

static int
dec_int32(const uint8_t *buf, size_t len, int64_t *v)
{
	int32_t x;
	int n = ocp_dec_int32(buf, len, &x);

	if (n > 0)
		*v = x;
	return n;
}

static int
enc_short(uint8_t *out, size_t cap, int64_t v)
{
	return ocp_enc_shortint(out, cap, (uint16_t)v);
}

static int
dec_short(const uint8_t *buf, size_t len, int64_t *v)
{
	uint16_t x;
	int n = ocp_dec_shortint(buf, len, &x);

	if (n > 0)
		*v = x;
	return n;
}

static int
enc_varint(uint8_t *out, size_t cap, int64_t v)
{
	return ocp_enc_varint(out, cap, (int32_t)v);
}

static int
dec_varint(const uint8_t *buf, size_t len, int64_t *v)
{
	int32_t x;
	int n = ocp_dec_varint(buf, len, &x);

	if (n > 0)
		*v = x;
	return n;
}

#define VARLONG_ADAPTERS(m)                                                                        \
	static int enc_varlong##m(uint8_t *out, size_t cap, int64_t v)                             \
	{                                                                                          \
		return ocp_enc_varlong(out, cap, v, m);                                            \
	}                                                                                          \
	static int dec_varlong##m(const uint8_t *buf, size_t len, int64_t *v)                      \
	{                                                                                          \
		return ocp_dec_varlong(buf, len, m, v);                                            \
	}
VARLONG_ADAPTERS(1)
VARLONG_ADAPTERS(2)
VARLONG_ADAPTERS(3)
VARLONG_ADAPTERS(4)
VARLONG_ADAPTERS(5)
VARLONG_ADAPTERS(6)
VARLONG_ADAPTERS(7)
VARLONG_ADAPTERS(8)

static const struct codec c_int32 = {enc_int32, dec_int32};
static const struct codec c_short = {enc_short, dec_short};
static const struct codec c_longint = {ocp_enc_longint, ocp_dec_longint};
static const struct codec c_varint = {enc_varint, dec_varint};
static const struct codec c_varlong[9] = {
    {NULL, NULL},
    {enc_varlong1, dec_varlong1},
    {enc_varlong2, dec_varlong2},
    {enc_varlong3, dec_varlong3},
    {enc_varlong4, dec_varlong4},
    {enc_varlong5, dec_varlong5},
    {enc_varlong6, dec_varlong6},
    {enc_varlong7, dec_varlong7},
    {enc_varlong8, dec_varlong8},
};

#define SENTINEL ((int64_t)0x5A5A5A5A5A5A5A5A)

/*
 * Decode buf[0..len) from an exact-size heap copy, so ASan sees any read
 * past the end; returns the decoder's result and the value in *v.
 */
static int
dec_exact(const struct codec *c, const uint8_t *buf, size_t len, int64_t *v)
{
	uint8_t *copy = malloc(len ? len : 1);
	int n;

	assert_non_null(copy);
	if (len)
		memcpy(copy, buf, len);
	*v = SENTINEL;
	n = c->dec(copy, len, v);
	free(copy);
	return n;
}

/* Exact encoding, exact decoding, -ENOBUFS one byte short, and 0 for every
 * truncated prefix with the output left alone. */
static void
check_vectors(const struct codec *c, const struct vec *vs, size_t nv)
{
	for (size_t i = 0; i < nv; i++) {
		const struct vec *t = &vs[i];
		uint8_t out[16], longer[32];
		int64_t v;
		int n;

		memset(out, 0xEE, sizeof(out));
		n = c->enc(out, sizeof(out), t->value);
		assert_int_equal(n, t->len);
		assert_memory_equal(out, t->bytes, t->len);
		assert_int_equal(c->enc(out, t->len - 1, t->value), -ENOBUFS);

		assert_int_equal(dec_exact(c, t->bytes, t->len, &v), t->len);
		assert_true(v == t->value);
		for (size_t k = 0; k < t->len; k++) {
			assert_int_equal(dec_exact(c, t->bytes, k, &v), 0);
			assert_true(v == SENTINEL);
		}
		/* Trailing bytes belong to the next field. */
		memcpy(longer, t->bytes, t->len);
		memset(longer + t->len, 0xFF, sizeof(longer) - t->len);
		assert_int_equal(dec_exact(c, longer, sizeof(longer), &v), t->len);
		assert_true(v == t->value);
	}
}

/* A malformed encoding: the full input gives err, and every prefix either
 * asks for more bytes or already gives err; the output is never touched. */
static void
check_bad(const struct codec *c, const uint8_t *buf, size_t len, int err)
{
	int64_t v;

	assert_int_equal(dec_exact(c, buf, len, &v), err);
	assert_true(v == SENTINEL);
	for (size_t k = 1; k < len; k++) {
		int n = dec_exact(c, buf, k, &v);

		assert_true(n == 0 || n == err);
		assert_true(v == SENTINEL);
	}
}

#define CHECK_BAD(c, err, ...)                                                                     \
	check_bad((c), (const uint8_t[]){__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__}), (err))

/* Encode then decode v; both must succeed and agree. */
static void
check_round_trip(const struct codec *c, int64_t v, int64_t expect)
{
	uint8_t out[16];
	int64_t got;
	int n = c->enc(out, sizeof(out), v);

	assert_true(n > 0);
	assert_int_equal(dec_exact(c, out, (size_t)n, &got), n);
	assert_true(got == expect);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

/* A random value with a random bit length, so every size class appears. */
static uint64_t
rng_value(void)
{
	unsigned bits = (unsigned)(rng() % 65);

	return bits == 64 ? rng() : rng() & ((1ull << bits) - 1);
}

static void
test_int32(void **state)
{
	static const struct vec vs[] = {
	    V(32, 0x20, 0x00, 0x00, 0x00),	  /* capture: cap1 protocol version */
	    V(29, 0x1d, 0x00, 0x00, 0x00),	  /* capture: cap5 protocol version */
	    V(0100644, 0xa4, 0x81, 0x00, 0x00),	  /* capture: cap1 file mode */
	    V(040755, 0xed, 0x41, 0x00, 0x00),	  /* capture: cap1 directory mode */
	    V(-1, 0xff, 0xff, 0xff, 0xff),	  /* capture: cap5 NDX_DONE */
	    V(-2, 0xfe, 0xff, 0xff, 0xff),	  /* capture: cap5 uid 4294967294 */
	    V(300, 0x2c, 0x01, 0x00, 0x00),	  /* capture: cap4 IO_TIMEOUT payload */
	    V(23, 0x17, 0x00, 0x00, 0x00),	  /* capture: cap4 ERROR_EXIT payload */
	    V(0, 0x00, 0x00, 0x00, 0x00),	  /* derived */
	    V(INT32_MAX, 0xff, 0xff, 0xff, 0x7f), /* derived */
	    V(INT32_MIN, 0x00, 0x00, 0x00, 0x80), /* derived */
	};

	(void)state;
	check_vectors(&c_int32, vs, NELEM(vs));
}

static void
test_shortint(void **state)
{
	static const struct vec vs[] = {
	    V(0x800C, 0x0c, 0x80), /* capture: cap2 item flags */
	    V(0xA000, 0x00, 0xa0), /* capture: cap4 item flags */
	    V(0x6000, 0x00, 0x60), /* capture: cap4 item flags */
	    V(0, 0x00, 0x00),	   /* derived */
	    V(0x0100, 0x00, 0x01), /* derived */
	    V(0xFFFF, 0xff, 0xff), /* derived */
	};

	(void)state;
	check_vectors(&c_short, vs, NELEM(vs));
}

static void
test_longint(void **state)
{
	static const struct vec vs[] = {
	    /* capture: cap5 (protocol 29) file sizes and total_size */
	    V(0x100000000, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00),
	    V(0x4000000000, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00),
	    V(0xFFFFFFFFFF, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00),
	    V(0x1410092B554, 0xff, 0xff, 0xff, 0xff, 0x54, 0xb5, 0x92, 0x00, 0x41, 0x01, 0x00,
	      0x00),
	    V(0x3FFF, 0xff, 0x3f, 0x00, 0x00),
	    V(0x123456, 0x56, 0x34, 0x12, 0x00),
	    V(0x800000, 0x00, 0x00, 0x80, 0x00),
	    V(1, 0x01, 0x00, 0x00, 0x00),
	    /* derived */
	    V(0, 0x00, 0x00, 0x00, 0x00),
	    V(INT32_MAX, 0xff, 0xff, 0xff, 0x7f),
	    V((int64_t)INT32_MAX + 1, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00,
	      0x00, 0x00),
	    V(-1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	    V(INT32_MIN, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff),
	    V(INT64_MIN, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80),
	    V(INT64_MAX, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
	};

	(void)state;
	check_vectors(&c_longint, vs, NELEM(vs));
	/* Negative values never travel in the 4-byte form. */
	CHECK_BAD(&c_longint, OCP_EPROTO, 0x00, 0x00, 0x00, 0x80);
	CHECK_BAD(&c_longint, OCP_EPROTO, 0xfe, 0xff, 0xff, 0xff);
	/* A redundant 12-byte form of a small value is accepted. */
	check_round_trip(&c_longint, 5, 5);
	{
		static const uint8_t b[] = {0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0, 0, 0, 0, 0};
		int64_t v;

		assert_int_equal(dec_exact(&c_longint, b, sizeof(b), &v), 12);
		assert_true(v == 5);
	}
}

static void
test_varint(void **state)
{
	static const struct vec vs[] = {
	    /* capture: cap1/cap2 compat flags, flist flags, nsec and uids */
	    V(0x1FF, 0x81, 0xff),
	    V(0x1FE, 0x81, 0xfe),
	    V(0x2C01, 0xac, 0x01),
	    V(0x2012, 0xa0, 0x12),
	    V(0x412, 0x84, 0x12),
	    V(0x12, 0x12),
	    V(0, 0x00),
	    V(2, 0x02),
	    V(127, 0x7f),
	    V(128, 0x80, 0x80),
	    V(16383, 0xbf, 0xff),
	    V(16384, 0xc0, 0x00, 0x40),
	    V(0x123456, 0xd2, 0x56, 0x34),
	    V(881028970, 0xf0, 0x6a, 0x6f, 0x83, 0x34),
	    V(999999999, 0xf0, 0xff, 0xc9, 0x9a, 0x3b),
	    V(INT32_MAX, 0xf0, 0xff, 0xff, 0xff, 0x7f),
	    V(-2, 0xf0, 0xfe, 0xff, 0xff, 0xff),
	    /* derived */
	    V(-1, 0xf0, 0xff, 0xff, 0xff, 0xff),
	    V(INT32_MIN, 0xf0, 0x00, 0x00, 0x00, 0x80),
	    V(0x1FFFFF, 0xdf, 0xff, 0xff),
	    V(0x200000, 0xe0, 0x00, 0x00, 0x20),
	    V(0xFFFFFFF, 0xef, 0xff, 0xff, 0xff),
	    V(0x10000000, 0xf0, 0x00, 0x00, 0x00, 0x10),
	};

	(void)state;
	check_vectors(&c_varint, vs, NELEM(vs));
	/* More than four extra bytes: rejected from the first byte. */
	CHECK_BAD(&c_varint, OCP_EOVERFLOW, 0xf8, 0, 0, 0, 0, 0);
	CHECK_BAD(&c_varint, OCP_EOVERFLOW, 0xfc, 0, 0, 0, 0, 0, 0);
	CHECK_BAD(&c_varint, OCP_EOVERFLOW, 0xff, 0, 0, 0, 0, 0, 0);
	/* Value bits beyond 32 in the prefix byte. */
	CHECK_BAD(&c_varint, OCP_EOVERFLOW, 0xf1, 0, 0, 0, 0);
	CHECK_BAD(&c_varint, OCP_EOVERFLOW, 0xf7, 0xff, 0xff, 0xff, 0xff);
	/* Non-minimal but valid forms decode, as upstream's reader allows. */
	{
		static const uint8_t b[] = {0x80, 0x05};
		int64_t v;

		assert_int_equal(dec_exact(&c_varint, b, sizeof(b), &v), 2);
		assert_true(v == 5);
	}
}

static void
test_varint_all_short_inputs(void **state)
{
	uint8_t b[2], out[OCP_VARINT_MAX];
	int32_t v, w;

	(void)state;
	/* Every 1- and 2-byte input: if it decodes, its value re-encodes. */
	for (unsigned x = 0; x < 0x10000; x++) {
		int n, m;

		b[0] = (uint8_t)(x >> 8);
		b[1] = (uint8_t)x;
		n = ocp_dec_varint(b, 2, &v);
		if (b[0] < 0x80)
			assert_int_equal(n, 1);
		else if (b[0] < 0xC0)
			assert_int_equal(n, 2);
		else if (b[0] <= 0xF0)
			assert_int_equal(n, 0);
		else
			assert_int_equal(n, OCP_EOVERFLOW);
		if (n <= 0)
			continue;
		m = ocp_enc_varint(out, sizeof(out), v);
		assert_true(m > 0 && m <= n);
		assert_int_equal(ocp_dec_varint(out, (size_t)m, &w), m);
		assert_int_equal(v, w);
	}
}

static void
test_varlong3(void **state)
{
	static const struct vec vs[] = {
	    /* capture: cap1 file sizes and cap1/cap4 transfer stats */
	    V(4096, 0x00, 0x00, 0x10),
	    V(0x7F, 0x00, 0x7f, 0x00),
	    V(0x80, 0x00, 0x80, 0x00),
	    V(0x3FFF, 0x00, 0xff, 0x3f),
	    V(0x4000, 0x00, 0x00, 0x40),
	    V(0x123456, 0x12, 0x56, 0x34),
	    V(0x800000, 0x80, 0x00, 0x00, 0x80),
	    V(0x100000000, 0xc1, 0x00, 0x00, 0x00, 0x00),
	    V(0x4000000000, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x40),
	    V(0xFFFFFFFFFF, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff),
	    V(0x1410092B554, 0xe1, 0x54, 0xb5, 0x92, 0x00, 0x41),
	    V(0, 0x00, 0x00, 0x00),
	    V(1, 0x00, 0x01, 0x00),
	    V(20, 0x00, 0x14, 0x00),
	    V(43, 0x00, 0x2b, 0x00),
	    V(216, 0x00, 0xd8, 0x00),
	    V(368, 0x00, 0x70, 0x01),
	    /* derived */
	    V(0x7FFFFF, 0x7f, 0xff, 0xff),
	    V(-1, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	    V(INT64_MIN, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80),
	    V(INT64_MAX, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
	};

	(void)state;
	check_vectors(&c_varlong[3], vs, NELEM(vs));
	/* Value bits past 64 in a 9-byte form. */
	CHECK_BAD(&c_varlong[3], OCP_EOVERFLOW, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0);
	CHECK_BAD(&c_varlong[3], OCP_EOVERFLOW, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0);
	CHECK_BAD(&c_varlong[3], OCP_EOVERFLOW, 0xff, 0, 0, 0, 0, 0, 0, 0, 0);
}

static void
test_varlong4(void **state)
{
	static const struct vec vs[] = {
	    /* capture: cap1 modification times */
	    V(0x6B012879, 0x6b, 0x79, 0x28, 0x01),
	    V(1000000000, 0x3b, 0x00, 0xca, 0x9a),
	    V(1000000005, 0x3b, 0x05, 0xca, 0x9a),
	    V(0, 0x00, 0x00, 0x00, 0x00),
	    V(-1, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	    V(INT32_MIN, 0xf8, 0x00, 0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff),
	    V(INT32_MAX, 0x7f, 0xff, 0xff, 0xff),
	    V(0x100000000, 0x81, 0x00, 0x00, 0x00, 0x00),
	    /* derived */
	    V(0x80000000, 0x80, 0x00, 0x00, 0x00, 0x80),
	    V(INT64_MIN, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80),
	    V(INT64_MAX, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
	};

	(void)state;
	check_vectors(&c_varlong[4], vs, NELEM(vs));
	/* Six extra bytes would make ten in all. */
	CHECK_BAD(&c_varlong[4], OCP_EOVERFLOW, 0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	/* Nine bytes, with a value bit past 64. */
	CHECK_BAD(&c_varlong[4], OCP_EOVERFLOW, 0xf9, 0, 0, 0, 0, 0, 0, 0, 0);
}

static void
test_varlong_min_bytes(void **state)
{
	static const int64_t edges[] = {
	    0,
	    1,
	    0x7F,
	    0x80,
	    0xFF,
	    0x100,
	    0x3FFF,
	    0x4000,
	    0xFFFF,
	    0x10000,
	    0x7FFFFF,
	    0x800000,
	    0xFFFFFF,
	    0x1000000,
	    INT32_MAX,
	    (int64_t)INT32_MAX + 1,
	    0xFFFFFFFF,
	    0x100000000,
	    (int64_t)1 << 47,
	    (int64_t)1 << 48,
	    INT64_MAX,
	    -1,
	    -2,
	    INT32_MIN,
	    INT64_MIN,
	    INT64_MIN + 1,
	};
	uint8_t out[OCP_VARLONG_MAX];
	int64_t v;

	(void)state;
	for (unsigned m = 3; m <= 8; m++) {
		for (size_t i = 0; i < NELEM(edges); i++)
			check_round_trip(&c_varlong[m], edges[i], edges[i]);
		for (int i = 0; i < 20000; i++) {
			int64_t x = (int64_t)rng_value();

			check_round_trip(&c_varlong[m], x, x);
		}
	}
	/* min_bytes 1 and 2 reach 2^50 and 2^58; beyond that is -ERANGE. */
	assert_int_equal(ocp_enc_varlong(out, sizeof(out), (int64_t)1 << 48, 1), 7);
	assert_int_equal(out[0], 0xfd);
	check_round_trip(&c_varlong[1], ((int64_t)1 << 50) - 1, ((int64_t)1 << 50) - 1);
	assert_int_equal(ocp_enc_varlong(out, sizeof(out), (int64_t)1 << 50, 1), -ERANGE);
	check_round_trip(&c_varlong[2], ((int64_t)1 << 58) - 1, ((int64_t)1 << 58) - 1);
	assert_int_equal(ocp_enc_varlong(out, sizeof(out), (int64_t)1 << 58, 2), -ERANGE);
	assert_int_equal(ocp_enc_varlong(out, sizeof(out), -1, 1), -ERANGE);
	for (int i = 0; i < 20000; i++) {
		int64_t x = (int64_t)(rng_value() & (((uint64_t)1 << 50) - 1));

		check_round_trip(&c_varlong[1], x, x);
		check_round_trip(&c_varlong[2], x, x);
	}
	/* min_bytes outside 1..8 is a caller error. */
	assert_int_equal(ocp_enc_varlong(out, sizeof(out), 1, 0), -EINVAL);
	assert_int_equal(ocp_enc_varlong(out, sizeof(out), 1, 9), -EINVAL);
	assert_int_equal(ocp_dec_varlong(out, sizeof(out), 0, &v), -EINVAL);
	assert_int_equal(ocp_dec_varlong(out, sizeof(out), 9, &v), -EINVAL);
}

static void
test_random_round_trips(void **state)
{
	(void)state;
	for (int i = 0; i < 100000; i++) {
		uint64_t u = rng_value();

		check_round_trip(&c_int32, (int32_t)(uint32_t)u, (int32_t)(uint32_t)u);
		check_round_trip(&c_varint, (int32_t)(uint32_t)u, (int32_t)(uint32_t)u);
		check_round_trip(&c_longint, (int64_t)u, (int64_t)u);
		check_round_trip(&c_short, (uint16_t)u, (uint16_t)u);
	}
}

static void
test_varint30_varlong30(void **state)
{
	uint8_t out[OCP_LONGINT_MAX];
	int32_t v32;
	int64_t v64;

	(void)state;
	/* capture: cap1 vs cap5 carry uid 4294967294 and size 2^32 both ways. */
	assert_int_equal(ocp_enc_varint30(out, sizeof(out), 29, -2), 4);
	assert_memory_equal(out, ((uint8_t[]){0xfe, 0xff, 0xff, 0xff}), 4);
	assert_int_equal(ocp_dec_varint30(out, 4, 29, &v32), 4);
	assert_int_equal(v32, -2);
	assert_int_equal(ocp_enc_varint30(out, sizeof(out), 30, -2), 5);
	assert_memory_equal(out, ((uint8_t[]){0xf0, 0xfe, 0xff, 0xff, 0xff}), 5);
	assert_int_equal(ocp_dec_varint30(out, 5, 32, &v32), 5);
	assert_int_equal(v32, -2);

	assert_int_equal(ocp_enc_varlong30(out, sizeof(out), 29, 0x100000000, 3), 12);
	assert_memory_equal(out, ((uint8_t[]){0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0}), 12);
	assert_int_equal(ocp_dec_varlong30(out, 12, 29, 3, &v64), 12);
	assert_true(v64 == 0x100000000);
	assert_int_equal(ocp_enc_varlong30(out, sizeof(out), 31, 0x100000000, 3), 5);
	assert_memory_equal(out, ((uint8_t[]){0xc1, 0, 0, 0, 0}), 5);
	assert_int_equal(ocp_dec_varlong30(out, 5, 31, 3, &v64), 5);
	assert_true(v64 == 0x100000000);
	assert_int_equal(ocp_dec_varlong30(out, 4, 31, 3, &v64), 0);
	assert_int_equal(ocp_enc_varlong30(out, sizeof(out), 29, 1, 0), -EINVAL);
	assert_int_equal(ocp_dec_varlong30(out, 5, 29, 9, &v64), -EINVAL);
}

static void
test_vstring(void **state)
{
	/* capture: cap1, the server's and the client's checksum lists. */
	static const char srv[] = "xxh128 xxh3 xxh64 md5 md4 sha1 none";
	static const char cli[] = "xxh128 xxh3 xxh64 md5 md4 sha1";
	static uint8_t big[2 + OCP_VSTRING_LEN_MAX + 1];
	static uint8_t src[OCP_VSTRING_LEN_MAX + 1];
	uint8_t out[64];
	const uint8_t *s;
	size_t slen;

	(void)state;
	assert_int_equal(ocp_enc_vstring(out, sizeof(out), srv, strlen(srv)), 36);
	assert_int_equal(out[0], 0x23);
	assert_memory_equal(out + 1, srv, 35);
	assert_int_equal(ocp_enc_vstring(out, sizeof(out), cli, strlen(cli)), 31);
	assert_int_equal(out[0], 0x1e);
	assert_int_equal(ocp_dec_vstring(out, 31, 255, &s, &slen), 31);
	assert_int_equal(slen, 30);
	assert_ptr_equal(s, out + 1);
	for (size_t k = 0; k < 31; k++)
		assert_int_equal(ocp_dec_vstring(out, k, 255, &s, &slen), 0);
	assert_int_equal(ocp_enc_vstring(out, 30, cli, strlen(cli)), -ENOBUFS);

	/* derived: empty; 0x7F and 0x80 on each side of the two-byte form. */
	assert_int_equal(ocp_enc_vstring(out, 1, "", 0), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(ocp_dec_vstring(out, 1, 0, &s, &slen), 1);
	assert_int_equal(slen, 0);
	memset(src, 'a', sizeof(src));
	assert_int_equal(ocp_enc_vstring(big, sizeof(big), src, 0x7F), 0x80);
	assert_int_equal(big[0], 0x7f);
	assert_int_equal(ocp_enc_vstring(big, sizeof(big), src, 0x80), 0x82);
	assert_memory_equal(big, ((uint8_t[]){0x80, 0x80}), 2);
	assert_int_equal(ocp_dec_vstring(big, 0x82, 0x80, &s, &slen), 0x82);
	assert_int_equal(slen, 0x80);
	assert_int_equal(ocp_dec_vstring(big, 1, 0x80, &s, &slen), 0);
	assert_int_equal(ocp_dec_vstring(big, 0x81, 0x80, &s, &slen), 0);
	/* Too long for the caller: known from the header alone. */
	assert_int_equal(ocp_dec_vstring(big, 2, 0x7F, &s, &slen), OCP_ETOOLONG);
	assert_int_equal(ocp_enc_vstring(big, sizeof(big), src, 0x7FFF), 0x7FFF + 2);
	assert_memory_equal(big, ((uint8_t[]){0xff, 0xff}), 2);
	assert_int_equal(ocp_dec_vstring(big, sizeof(big), OCP_VSTRING_LEN_MAX, &s, &slen),
			 0x7FFF + 2);
	assert_int_equal(slen, 0x7FFF);
	assert_int_equal(ocp_enc_vstring(big, sizeof(big), src, 0x8000), -EINVAL);
	/* A two-byte header for a short length is accepted, as upstream does. */
	assert_int_equal(ocp_dec_vstring((const uint8_t[]){0x80, 0x01, 'x'}, 3, 10, &s, &slen), 3);
	assert_int_equal(slen, 1);
}

static void
test_strerror(void **state)
{
	static const int codes[] = {OCP_EPROTO, OCP_EOVERFLOW, OCP_ETOOLONG, OCP_EMSGCODE,
				    OCP_EMSGLEN};

	(void)state;
	for (size_t i = 0; i < NELEM(codes); i++) {
		assert_true(ocp_is_proto_err(codes[i]));
		assert_true(codes[i] < -4095);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ocp_strerror(codes[i]), ocp_strerror(codes[j]));
	}
	assert_false(ocp_is_proto_err(-EINVAL));
	assert_false(ocp_is_proto_err(0));
	assert_string_equal(ocp_strerror(OCP_EPROTO), "malformed protocol data");
	assert_string_equal(ocp_strerror(-EINVAL), "Invalid argument");
	assert_string_equal(ocp_strerror(0), "success");
	assert_non_null(ocp_strerror(-5000));
	assert_non_null(ocp_strerror(7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_int32),
	    cmocka_unit_test(test_shortint),
	    cmocka_unit_test(test_longint),
	    cmocka_unit_test(test_varint),
	    cmocka_unit_test(test_varint_all_short_inputs),
	    cmocka_unit_test(test_varlong3),
	    cmocka_unit_test(test_varlong4),
	    cmocka_unit_test(test_varlong_min_bytes),
	    cmocka_unit_test(test_random_round_trips),
	    cmocka_unit_test(test_varint30_varlong30),
	    cmocka_unit_test(test_vstring),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
