/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the file-list index (ndx) codec of ocproto/int.h: golden
 * sequences with state, truncation, malformed input and random sequences.
 *
 * Vectors marked "capture" are real rsync 3.5.0 bytes, recorded by a fake
 * remote shell (`-e rsh.sh`, which runs the server command locally with
 * `tee` on both pipes) during:
 *   cap2: rsync -aW --no-i-r src2/ localhost:dst2/  (40010 files f00000 ..
 *         f40009, nine of them changed: the generator asks for each by ndx;
 *         with --no-i-r index 0 is "." and file k is index k + 1)
 *   cap3: rsync -a src3/ localhost:dst3/  (subdirectories a, b, c with
 *         incremental recursion: the sender announces each sub-list as
 *         FLIST_OFFSET - dir index, then FLIST_EOF)
 *   cap4b: rsync -av --delete --remove-source-files src4/ localhost:dst4/
 *   cap5: rsync -a --protocol=29 --list-only localhost:src1/
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

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

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

/* Encode seq with a fresh state; must give exactly `bytes`, then decode. */
static void
check_ndx_seq(int protocol, const int32_t *seq, size_t n, const uint8_t *bytes, size_t len)
{
	struct ocp_ndx_state wr, rd;
	uint8_t out[256];
	size_t pos = 0;

	ocp_ndx_init(&wr, protocol);
	ocp_ndx_init(&rd, protocol);
	for (size_t i = 0; i < n; i++) {
		int k = ocp_enc_ndx(out + pos, sizeof(out) - pos, &wr, seq[i]);

		assert_true(k > 0);
		pos += (size_t)k;
	}
	assert_int_equal(pos, len);
	assert_memory_equal(out, bytes, len);
	pos = 0;
	for (size_t i = 0; i < n; i++) {
		int32_t v;
		int k = ocp_dec_ndx(bytes + pos, len - pos, &rd, &v);

		assert_true(k > 0);
		assert_int_equal(v, seq[i]);
		pos += (size_t)k;
	}
	assert_int_equal(pos, len);
	assert_memory_equal(&wr, &rd, sizeof(wr));
}

static void
test_ndx_golden(void **state)
{
	/* capture: cap2, generator to sender; flist index k+1 is file f%05d k. */
	static const int32_t seq2[] = {1, 2, 3, 256, 511, 601, 33701, 33702, 40006, -1, -1, -1, -1};
	static const uint8_t bytes2[] = {0x02, 0x01, 0x01, 0xfd, 0xfe, 0x00, 0xff,
					 0x5a, 0xfe, 0x80, 0xa5, 0x83, 0x00, 0x01,
					 0xfe, 0x18, 0xa0, 0x00, 0x00, 0x00, 0x00};
	/* capture: cap3, sender's sub-lists FLIST_OFFSET - dir 1..3, then EOF. */
	static const int32_t seq3[] = {-102, -103, -104, OCP_NDX_FLIST_EOF};
	static const uint8_t bytes3[] = {0xff, 0x65, 0xff, 0x01, 0xff, 0x01,
					 0xff, 0xfe, 0x80, 0x02, 0x00, 0x00};
	/* capture: cap4b (--delete), generator: files 2, 3, three DONEs, DEL_STATS. */
	static const int32_t seq4[] = {2, 3, -1, -1, -1, OCP_NDX_DEL_STATS};
	static const uint8_t bytes4[] = {0x03, 0x01, 0x00, 0x00, 0x00, 0xff, 0x02};
	/* capture: cap5, protocol 29: plain int32. */
	static const int32_t seq5[] = {-1, 7};
	static const uint8_t bytes5[] = {0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x00, 0x00};
	/* derived: 0 and 254 take 0xFE + two big-endian bytes; INT32_MAX. */
	static const int32_t seqd[] = {0, 0, 254, 253 + 254, INT32_MAX, 0, -101, -101};
	static const uint8_t bytesd[] = {0x01, 0xfe, 0x00, 0x00, 0xfe, 0x00, 0xfe, 0xfd,
					 0xfe, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x80, 0x00,
					 0x00, 0x00, 0xff, 0x64, 0xff, 0xfe, 0x00, 0x00};

	(void)state;
	check_ndx_seq(32, seq2, NELEM(seq2), bytes2, sizeof(bytes2));
	check_ndx_seq(32, seq3, NELEM(seq3), bytes3, sizeof(bytes3));
	check_ndx_seq(31, seq4, NELEM(seq4), bytes4, sizeof(bytes4));
	check_ndx_seq(29, seq5, NELEM(seq5), bytes5, sizeof(bytes5));
	check_ndx_seq(30, seqd, NELEM(seqd), bytesd, sizeof(bytesd));
}

static void
test_ndx_truncation_and_errors(void **state)
{
	static const uint8_t stream[] = {0x02, 0xfe, 0x00, 0xff, 0xff, 0x65, 0xfe, 0x80, 0xa5,
					 0x83, 0x00, 0xff, 0xfe, 0x80, 0x02, 0x00, 0x00};
	struct ocp_ndx_state st, before;
	uint8_t out[OCP_NDX_MAX];
	size_t pos = 0;
	int32_t v;

	(void)state;
	ocp_ndx_init(&st, 32);
	/* Each element: every strict prefix needs more and leaves state alone. */
	while (pos < sizeof(stream)) {
		int full;

		before = st;
		full = ocp_dec_ndx(stream + pos, sizeof(stream) - pos, &before, &v);
		assert_true(full > 0);
		for (int k = 0; k < full; k++) {
			struct ocp_ndx_state tmp = st;
			uint8_t *copy = malloc((size_t)k + 1);

			assert_non_null(copy);
			memcpy(copy, stream + pos, (size_t)k);
			v = 12345;
			assert_int_equal(ocp_dec_ndx(copy, (size_t)k, &tmp, &v), 0);
			assert_int_equal(v, 12345);
			assert_memory_equal(&tmp, &st, sizeof(st));
			free(copy);
		}
		st = before;
		pos += (size_t)full;
	}

	/* A 0xFF-marked 1 (NDX_DONE in disguise) and 0 are rejected. */
	ocp_ndx_init(&st, 32);
	before = st;
	assert_int_equal(ocp_dec_ndx((const uint8_t[]){0xff, 0x00}, 2, &st, &v), OCP_EPROTO);
	assert_int_equal(
	    ocp_dec_ndx((const uint8_t[]){0xff, 0xfe, 0x80, 0x01, 0x00, 0x00}, 6, &st, &v),
	    OCP_EPROTO);
	assert_int_equal(
	    ocp_dec_ndx((const uint8_t[]){0xff, 0xfe, 0x80, 0x00, 0x00, 0x00}, 6, &st, &v),
	    OCP_EPROTO);
	/* A delta from the initial -1 of zero wraps past INT32_MAX. */
	assert_int_equal(ocp_dec_ndx((const uint8_t[]){0xfe, 0x00, 0x00}, 3, &st, &v),
			 OCP_EOVERFLOW);
	assert_memory_equal(&st, &before, sizeof(st));
	/* A delta past INT32_MAX. */
	assert_int_equal(ocp_dec_ndx((const uint8_t[]){0xfe, 0xff, 0xff, 0xff, 0xff}, 5, &st, &v),
			 5);
	assert_int_equal(v, INT32_MAX);
	before = st;
	assert_int_equal(ocp_dec_ndx((const uint8_t[]){0x01}, 1, &st, &v), OCP_EOVERFLOW);
	assert_int_equal(ocp_dec_ndx((const uint8_t[]){0xfe, 0x7f, 0xff}, 3, &st, &v),
			 OCP_EOVERFLOW);
	assert_memory_equal(&st, &before, sizeof(st));

	/* Encoder: INT32_MIN has no magnitude; a short buffer changes nothing. */
	ocp_ndx_init(&st, 32);
	before = st;
	assert_int_equal(ocp_enc_ndx(out, sizeof(out), &st, INT32_MIN), -EINVAL);
	assert_int_equal(ocp_enc_ndx(out, 1, &st, 40006), -ENOBUFS);
	assert_int_equal(ocp_enc_ndx(out, 0, &st, -1), -ENOBUFS);
	assert_memory_equal(&st, &before, sizeof(st));
	assert_int_equal(ocp_enc_ndx(out, 5, &st, 40006), 5);
	assert_int_equal(ocp_enc_ndx(out, 1, &st, -40006), -ENOBUFS);
	assert_int_equal(ocp_enc_ndx(out, 6, &st, -40006), 6);
}

static void
test_ndx_random_sequences(void **state)
{
	struct ocp_ndx_state wr, rd;
	uint8_t buf[OCP_NDX_MAX * 64];

	(void)state;
	for (int round = 0; round < 2000; round++) {
		int32_t seq[64], v, last_pos = 0;
		size_t pos = 0, len = 0;
		int proto = 29 + (int)(rng() % 4);

		ocp_ndx_init(&wr, proto);
		ocp_ndx_init(&rd, proto);
		for (int i = 0; i < 64; i++) {
			uint64_t r = rng();
			int32_t x;
			int k;

			switch (r % 5) {
			case 0: /* small forward steps, the common case */
				if (last_pos > INT32_MAX - 300)
					last_pos = 0;
				x = last_pos + (int32_t)((r >> 8) % 300);
				break;
			case 1:
				x = (int32_t)((r >> 8) & INT32_MAX);
				break;
			case 2:
				x = -1 - (int32_t)((r >> 8) % 3);
				break;
			case 3:
				x = OCP_NDX_FLIST_OFFSET - (int32_t)((r >> 8) % 100000);
				break;
			default:
				x = -(int32_t)((r >> 8) & INT32_MAX);
				if (x == 0)
					x = -1;
				break;
			}
			seq[i] = x;
			if (x >= 0)
				last_pos = x;
			k = ocp_enc_ndx(buf + len, sizeof(buf) - len, &wr, x);
			assert_true(k > 0 && k <= OCP_NDX_MAX);
			len += (size_t)k;
		}
		for (int i = 0; i < 64; i++) {
			int k = ocp_dec_ndx(buf + pos, len - pos, &rd, &v);

			assert_true(k > 0);
			assert_int_equal(v, seq[i]);
			pos += (size_t)k;
		}
		assert_int_equal(pos, len);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ndx_golden),
	    cmocka_unit_test(test_ndx_truncation_and_errors),
	    cmocka_unit_test(test_ndx_random_sequences),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
