/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ocproto/delta.h: signature generation and parsing, the
 * matcher (exact reconstruction after inserts, deletes and changes; linear
 * work on 200,000 identical blocks), and rejection of tampered signatures
 * and block references. The match order against real rsync is checked in
 * test_ocp_token.c, where matcher plus encoder reproduce captured streams.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ocproto/delta.h"
#include "ocproto/err.h"
#include "tests/obuf.h"

static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void
fill(uint32_t seed, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd(&seed) >> 11);
}

/* Matcher output applied straight to an apply state (no token stream). */
static int
emit_apply(void *arg, const uint8_t *lit, size_t n, int32_t token, const uint8_t *blk, size_t blen)
{
	const uint8_t *data;
	size_t len;
	int rc = ocp_delta_apply_literal(arg, lit, n);

	if (rc || token < 0)
		return rc;
	rc = ocp_delta_apply_block(arg, token, &data, &len);
	if (!rc && (len != blen || memcmp(data, blk, len)))
		rc = -EBADMSG;
	return rc;
}

static void
test_sig_round_trip(void **state)
{
	static uint8_t basis[100000];
	struct ocp_sum_head h;
	struct ocp_sig a, b;
	uint8_t *wire;
	size_t n;

	(void)state;
	fill(1, basis, sizeof(basis));
	assert_int_equal(ocp_sum_sizes(sizeof(basis), 31, 0, 16, false, &h), 0);
	assert_int_equal(ocp_sig_gen(&a, basis, sizeof(basis), &h, OCP_CSUM_MD5, 7, true), 0);
	n = ocp_sig_enc_size(&a);
	assert_int_equal(n, 16 + (size_t)h.count * (4 + (size_t)h.s2length));
	wire = malloc(n);
	assert_non_null(wire);
	assert_int_equal(ocp_sig_enc(&a, wire, n - 1), -ENOBUFS);
	assert_int_equal(ocp_sig_enc(&a, wire, n), (int)n);
	assert_int_equal(a.sum1[3], ocp_csum1(basis + 3 * h.blength, (size_t)h.blength));
	assert_int_equal(ocp_sig_dec(&b, wire, n - 1, 31, OCP_CSUM_MD5, 7, true, 0), 0);
	assert_int_equal(ocp_sig_dec(&b, wire, n, 31, OCP_CSUM_MD5, 7, true, 0), (int)n);
	assert_memory_equal(&a.head, &b.head, sizeof(a.head));
	assert_memory_equal(a.sum1, b.sum1, (size_t)h.count * 4);
	assert_memory_equal(a.sum2, b.sum2, (size_t)h.count * (size_t)h.s2length);
	/* tampered: strong length above md5's 16, remainder without blocks, cap */
	wire[8] = 17;
	assert_int_equal(ocp_sig_dec(&b, wire, n, 31, OCP_CSUM_MD5, 7, true, 0) < 0, 1);
	assert_int_equal(ocp_sig_dec(&b, wire, n, 31, OCP_CSUM_MD5, 7, true, 0), OCP_ESUMHEAD);
	wire[8] = (uint8_t)h.s2length;
	assert_int_equal(ocp_sig_dec(&b, wire, n, 31, OCP_CSUM_MD5, 7, true, 4096), OCP_ETOOLONG);
	memcpy(wire, "\0\0\0\0\0\4\0\0\2\0\0\0\5\0\0\0", 16);
	assert_int_equal(ocp_sig_dec(&b, wire, 16, 31, OCP_CSUM_MD5, 7, true, 0), OCP_ESIG);
	memcpy(wire, "\1\0\0\0\0\4\0\0\2\0\0\0\0\4\0\0", 16);
	assert_int_equal(ocp_sig_dec(&b, wire, n, 31, OCP_CSUM_MD5, 7, true, 0), OCP_ESIG);
	/* a count that would need 2^31 * 20 bytes is refused before allocating */
	memcpy(wire, "\xff\xff\xff\x7f\0\4\0\0\x10\0\0\0\0\0\0\0", 16);
	assert_int_equal(ocp_sig_dec(&b, wire, 16, 31, OCP_CSUM_MD5, 7, true, 0), OCP_ETOOLONG);
	/* a head that does not cover the basis */
	h.count--;
	assert_int_equal(ocp_sig_gen(&b, basis, sizeof(basis), &h, OCP_CSUM_MD5, 7, true), -EINVAL);
	ocp_sig_free(&a);
	ocp_sig_free(&b);
	ocp_sig_free(&b);
	free(wire);
}

/* Rebuild new from old through signature, matcher and apply; return literal bytes. */
static uint64_t
rebuild(const uint8_t *old, size_t olen, const uint8_t *nw, size_t nlen, int32_t bs)
{
	struct ocp_basis_mem bm = {old, olen};
	struct ocp_match_stats st;
	struct ocp_delta_apply ap;
	struct ocp_sum_head h;
	struct obuf out = {0};
	struct ocp_sig sig;

	assert_int_equal(ocp_sum_sizes((int64_t)olen, 31, bs, 16, false, &h), 0);
	assert_int_equal(ocp_sig_gen(&sig, old, olen, &h, OCP_CSUM_XXH3, 99, true), 0);
	assert_int_equal(ocp_delta_apply_init(&ap, &h, ocp_basis_mem_read, &bm, obuf_write, &out, 0),
			 0);
	assert_int_equal(ocp_delta_match(&sig, nw, nlen, emit_apply, &ap, &st), 0);
	assert_int_equal(out.n, nlen);
	if (nlen)
		assert_memory_equal(out.b, nw, nlen);
	assert_int_equal(st.literal + st.matches * 0 <= nlen, 1);
	ocp_delta_apply_free(&ap);
	ocp_sig_free(&sig);
	free(out.b);
	return st.literal;
}

static void
test_match_edits(void **state)
{
	const size_t olen = 300000;
	uint8_t *old = malloc(olen), *nw = malloc(olen + 200000);
	uint32_t x = 12345;

	(void)state;
	assert_non_null(old);
	assert_non_null(nw);
	fill(5, old, olen);
	for (int round = 0; round < 12; round++) {
		size_t nlen = 0, pos = 0;
		uint64_t lit;

		/* copy, insert, delete and overwrite ranges at random */
		while (pos < olen) {
			size_t n = 1 + rnd(&x) % 20000;

			if (n > olen - pos)
				n = olen - pos;
			memcpy(nw + nlen, old + pos, n);
			nlen += n;
			pos += n;
			switch (rnd(&x) % 4) {
			case 0:
				fill(rnd(&x), nw + nlen, n = rnd(&x) % 3000), nlen += n;
				break;
			case 1:
				pos += rnd(&x) % 3000;
				break;
			case 2:
				if (nlen > 100)
					nw[nlen - 1 - rnd(&x) % 100] ^= 0x5a;
				break;
			}
		}
		lit = rebuild(old, olen, nw, nlen, round % 3 ? 0 : 512);
		assert_true(lit < nlen / 2); /* most of the file was matched */
	}
	/* edge cases: empty old, empty new, tiny files, new shorter than a block */
	assert_int_equal(rebuild(old, 0, nw, 5000, 0), 5000);
	assert_int_equal(rebuild(old, olen, nw, 0, 0), 0);
	assert_int_equal(rebuild(old, 10, old, 10, 0), 0);
	rebuild(old, 1000, old + 3, 600, 0);
	/* a long literal is sent in pieces (upstream's flush at blength + 32 KiB) */
	fill(77, nw, 200000);
	assert_int_equal(rebuild(old, olen, nw, 200000, 0), 200000);
	free(old);
	free(nw);
}

static int
emit_count(void *arg, const uint8_t *lit, size_t n, int32_t token, const uint8_t *blk, size_t blen)
{
	(void)lit;
	(void)n;
	(void)blk;
	(void)blen;
	/* consecutive blocks, as upstream's preference for the next block gives */
	if (token >= 0 && token != (*(int32_t *)arg)++)
		return -EBADMSG;
	return 0;
}

static int
emit_any(void *arg, const uint8_t *lit, size_t n, int32_t token, const uint8_t *blk, size_t blen)
{
	(void)lit;
	(void)n;
	(void)blk;
	(void)blen;
	*(int32_t *)arg += token >= 0;
	return 0;
}

/* 200,000 identical blocks: every position must cost O(1) chain work (issue #217). */
static void
test_identical_blocks(void **state)
{
	const int32_t count = 200000, bl = 16;
	const size_t len = (size_t)count * bl;
	struct ocp_sum_head h = {count, bl, 2, 0};
	struct ocp_match_stats st;
	uint8_t *zero = calloc(1, len);
	struct ocp_sig sig;
	int32_t nmatch = 0;

	(void)state;
	assert_non_null(zero);
	assert_int_equal(ocp_sig_gen(&sig, zero, len, &h, OCP_CSUM_MD5, 0, true), 0);
	assert_int_equal(ocp_delta_match(&sig, zero, len, emit_count, &nmatch, &st), 0);
	assert_int_equal(nmatch, count);
	assert_int_equal(st.matches, (uint64_t)count);
	assert_true(st.candidates <= 2 * st.positions);
	assert_true(st.strong <= 2 * st.positions);
	/* decoys with the all-zero weak sum but other bytes force chain walks */
	for (size_t i = 1000; i + 3 < len; i += 4099) {
		zero[i] = 1;
		zero[i + 1] = 0xfe;
		zero[i + 2] = 1;
	}
	nmatch = INT32_MIN;
	assert_int_equal(ocp_delta_match(&sig, zero, len, emit_any, &nmatch, &st), 0);
	nmatch -= INT32_MIN;
	assert_true(nmatch > count / 2);
	assert_true(st.positions <= len);
	assert_true(st.candidates <=
		    st.positions * 2 + (len / 4099 + 1) * 16 * OCP_DELTA_MAX_CHAIN);
	assert_true(st.candidates >= OCP_DELTA_MAX_CHAIN); /* the decoys did hit the cap */
	ocp_sig_free(&sig);
	free(zero);
}

static int
fail_write(void *arg, const uint8_t *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return -ENOSPC;
}

static void
test_apply_rejects(void **state)
{
	static const uint8_t old[1000];
	struct ocp_basis_mem bm = {old, sizeof(old)}, shortb = {old, 900};
	struct ocp_sum_head h = {2, 700, 2, 300}, bad = {2, 700, 2, 701};
	struct ocp_delta_apply ap;
	struct obuf out = {0};
	const uint8_t *d;
	size_t n;

	(void)state;
	assert_int_equal(
	    ocp_delta_apply_init(&ap, &bad, ocp_basis_mem_read, &bm, obuf_write, &out, 0),
	    OCP_ESUMHEAD);
	assert_int_equal(
	    ocp_delta_apply_init(&ap, &h, ocp_basis_mem_read, &bm, obuf_write, &out, 1500), 0);
	assert_int_equal(ocp_delta_apply_block(&ap, 2, &d, &n), OCP_ESIG);
	assert_int_equal(ocp_delta_apply_block(&ap, -1, &d, &n), OCP_ESIG);
	assert_int_equal(ocp_delta_apply_block(&ap, 1, &d, &n), 0);
	assert_int_equal(n, 300);
	assert_int_equal(ocp_delta_apply_block(&ap, 0, &d, &n), 0);
	assert_int_equal(n, 700);
	assert_int_equal(ocp_delta_apply_block(&ap, 0, &d, &n), OCP_ETOOLONG);
	assert_int_equal(ocp_delta_apply_literal(&ap, old, 501), OCP_ETOOLONG);
	assert_int_equal(ocp_delta_apply_written(&ap), 1000);
	ocp_delta_apply_free(&ap);
	/* a basis shorter than the head says; a failing writer */
	assert_int_equal(
	    ocp_delta_apply_init(&ap, &h, ocp_basis_mem_read, &shortb, fail_write, NULL, 0), 0);
	assert_int_equal(ocp_delta_apply_block(&ap, 1, &d, &n), OCP_ESIG);
	assert_int_equal(ocp_delta_apply_block(&ap, 0, &d, &n), -ENOSPC);
	ocp_delta_apply_free(&ap);
	ocp_delta_apply_free(&ap);
	free(out.b);
}

/* A running hash of the matcher's output: literal bytes and tokens. */
static int
emit_hash(void *arg, const uint8_t *lit, size_t n, int32_t token, const uint8_t *blk, size_t blen)
{
	uint64_t *h = arg;

	(void)blk;
	for (size_t i = 0; i < n; i++)
		*h = (*h ^ lit[i]) * 0x100000001b3ull;
	*h = (*h ^ (uint32_t)token) * 0x100000001b3ull;
	*h = (*h ^ blen) * 0x100000001b3ull;
	return 0;
}

/*
 * upstream_counts: the same output, and the counts upstream's -vv "total:"
 * line reports. A block changed by +1, -2, +1 in three bytes in a row keeps
 * its weak sum (a false alarm where the search reaches it at its start).
 */
static void
test_upstream_counts(void **state)
{
	static uint8_t old[120000], nw[120000];
	struct ocp_match_opts mo = {.upstream_counts = true};
	struct ocp_match_stats a, b;
	struct ocp_sum_head h;
	struct ocp_sig sig;
	uint64_t ha = 0, hb = 0;
	int tweaks = 0;

	(void)state;
	fill(5, old, sizeof(old));
	for (size_t i = 0; i < sizeof(old); i++)
		old[i] %= 100; /* no byte wraps below */
	memcpy(nw, old, sizeof(nw));
	assert_int_equal(ocp_sum_sizes(sizeof(old), 31, 1000, 16, false, &h), 0);
	for (size_t off = 5000; off + 3 < sizeof(nw); off += 10000, tweaks++) {
		nw[off] += 1;
		nw[off + 1] -= 2;
		nw[off + 2] += 1;
	}
	/* tweak the starts of blocks, where a match before leaves the search */
	assert_int_equal(5000 % h.blength, 0);
	assert_int_equal(ocp_sig_gen(&sig, old, sizeof(old), &h, OCP_CSUM_MD5, 3, true), 0);
	assert_int_equal(ocp_delta_match(&sig, nw, sizeof(nw), emit_hash, &ha, &a), 0);
	assert_int_equal(ocp_delta_match_ex(&sig, nw, sizeof(nw), &mo, emit_hash, &hb, &b), 0);
	assert_int_equal(ha, hb);
	assert_int_equal(a.matches, b.matches);
	assert_int_equal(a.literal, b.literal);
	assert_int_equal(a.hash_hits, 0);
	assert_int_equal(a.false_alarms, 0);
	assert_int_equal(b.false_alarms >= (uint64_t)tweaks, 1);
	/* a match and a false alarm are never at the same offset */
	assert_int_equal(b.hash_hits >= b.matches + (uint64_t)tweaks, 1);
	ocp_sig_free(&sig);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sig_round_trip),
	    cmocka_unit_test(test_match_edits),
	    cmocka_unit_test(test_identical_blocks),
	    cmocka_unit_test(test_apply_rejects),
	    cmocka_unit_test(test_upstream_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
