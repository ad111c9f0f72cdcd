/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ocproto/csum.h: the weak rolling sum against a naive
 * reference, strong sums against known answers and against rsync 3.5.0,
 * the block-size rule and sum-head validation.
 *
 * Vectors marked "capture" are real rsync 3.5.0 bytes, recorded by a fake
 * remote shell (`-e rsh.sh`: runs the server command locally with `tee` on
 * both pipes) while pushing a modified file over its basis:
 *   rsync -c --no-whole-file --checksum-seed=305419896 --checksum-choice=X
 *         -e rsh.sh src/f localhost:dst/f      (X = each transfer checksum)
 * basis = 600000 bytes of lcg_fill(seed 1); new = basis with bytes
 * 300000..300099 xor 0x55, then "INSERTED" inserted at offset 100000. From
 * each capture: the generator's sum head and block sums (server to client;
 * 782 blocks, kept as the first two, the last and an md5 of all of them),
 * the file-list checksum and the whole-file sum after the token stream
 * (client to server; both equal the full digest of `new`).
 * Vectors marked "debug" are rsync 3.5.0's own `--debug=deltasum2` lines
 * ("count= rem= blength= s2length=") for local transfers of files of those
 * sizes. "KAT" are published known answers; "derived" follow from the rule.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include <cmocka.h>

#include "ocproto/csum.h"
#include "ocproto/err.h"

#define NELEM(a)     (sizeof(a) / sizeof((a)[0]))
#define BASIS_LEN    600000
#define NEW_LEN	     (BASIS_LEN + 8)
#define CAPTURE_SEED 0x12345678 /* --checksum-seed=305419896 */

/* The capture files' bytes: x = x * 1103515245 + 12345, byte = x >> 16. */
static void
lcg_fill(uint8_t *b, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (uint8_t)(x >> 16);
	}
}

static uint8_t *
make_basis(void)
{
	uint8_t *b = malloc(BASIS_LEN);

	assert_non_null(b);
	lcg_fill(b, BASIS_LEN, 1);
	return b;
}

static uint8_t *
make_new(const uint8_t *basis)
{
	uint8_t *n = malloc(NEW_LEN);

	assert_non_null(n);
	memcpy(n, basis, 100000);
	memcpy(n + 100000, "INSERTED", 8);
	memcpy(n + 100008, basis + 100000, BASIS_LEN - 100000);
	for (size_t i = 300000; i < 300100; i++)
		n[i + 8 * (i >= 100000)] ^= 0x55;
	return n;
}

static void
unhex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned x;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &x), 1);
		out[i] = (uint8_t)x;
	}
}

static void
assert_hex(const uint8_t *got, const char *hex)
{
	uint8_t want[OCP_CSUM_DIGEST_MAX * 8];
	size_t n = strlen(hex) / 2;

	assert_true(n <= sizeof(want));
	unhex(hex, want, n);
	assert_memory_equal(got, want, n);
}

/* --- weak sum ------------------------------------------------------------- */

/* Upstream's definition, one byte at a time. */
static uint32_t
naive_csum1(const uint8_t *p, size_t len)
{
	uint32_t s1 = 0, s2 = 0;

	for (size_t i = 0; i < len; i++) {
		s1 += (uint32_t)(int32_t)(int8_t)p[i];
		s2 += s1;
	}
	return (s1 & 0xffff) | (s2 << 16);
}

/*
 * XXH3 and XXH128 (our AVX2 build on CPUs that have it) against
 * libxxhash: one-shot with seeds over every length up to 2 KiB and some
 * large ones, and streamed in uneven pieces.
 */
static void
test_xxh3_vs_lib(void **state)
{
	size_t big = (1u << 20) + 333;
	uint8_t *b = malloc(big), out[16];
	struct ocp_csum_ctx c;

	(void)state;
	assert_non_null(b);
	srand(11);
	for (size_t i = 0; i < big; i++)
		b[i] = (uint8_t)rand();
	for (size_t len = 0; len <= big; len = len < 2048 ? len + 1 : len * 3 + 7) {
		int32_t seed = (int32_t)(len * 2654435761u);
		XXH128_hash_t h = XXH3_128bits_withSeed(b, len, (uint64_t)(int64_t)seed);
		uint64_t h64 = XXH3_64bits_withSeed(b, len, (uint64_t)(int64_t)seed);

		assert_int_equal(ocp_csum2(OCP_CSUM_XXH128, b, len, seed, false, out), 16);
		for (int k = 0; k < 8; k++) {
			assert_int_equal(out[k], (uint8_t)(h.low64 >> (8 * k)));
			assert_int_equal(out[8 + k], (uint8_t)(h.high64 >> (8 * k)));
		}
		assert_int_equal(ocp_csum2(OCP_CSUM_XXH3, b, len, seed, false, out), 8);
		for (int k = 0; k < 8; k++)
			assert_int_equal(out[k], (uint8_t)(h64 >> (8 * k)));
	}
	for (int t = 0; t < 2; t++) {
		enum ocp_csum ty = t ? OCP_CSUM_XXH128 : OCP_CSUM_XXH3;
		XXH128_hash_t h = XXH3_128bits(b, big);
		uint64_t h64 = XXH3_64bits(b, big);
		size_t off = 0, step = 1;

		assert_int_equal(ocp_csum_begin(&c, ty), 0);
		while (off < big) {
			size_t n = step < big - off ? step : big - off;

			assert_int_equal(ocp_csum_update(&c, b + off, n), 0);
			off += n;
			step = step * 7 % 70001 + 1;
		}
		assert_int_equal(ocp_csum_end(&c, out), t ? 16 : 8);
		ocp_csum_free(&c);
		for (int k = 0; k < 8; k++)
			assert_int_equal(out[k], (uint8_t)((t ? h.low64 : h64) >> (8 * k)));
		if (t)
			for (int k = 0; k < 8; k++)
				assert_int_equal(out[8 + k], (uint8_t)(h.high64 >> (8 * k)));
	}
	free(b);
}

static void
test_csum1_vs_naive(void **state)
{
	uint8_t buf[4096];

	(void)state;
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t len = 0; len <= 300; len++)
		assert_int_equal(ocp_csum1(buf, len), naive_csum1(buf, len));
	for (size_t off = 0; off < 40; off++)
		assert_int_equal(ocp_csum1(buf + off, sizeof(buf) - off),
				 naive_csum1(buf + off, sizeof(buf) - off));
	/* The vector path at its extremes (largest and smallest bytes, where
	 * pairwise products are largest) and over lengths where the sums
	 * wrap modulo 2^32 many times. */
	{
		static const uint8_t fills[] = {0x7f, 0x80, 0xff, 0x00};
		size_t big = (3u << 20) + 31;
		uint8_t *b = malloc(big);

		assert_non_null(b);
		for (size_t f = 0; f < sizeof(fills); f++) {
			memset(b, fills[f], big);
			assert_int_equal(ocp_csum1(b, big), naive_csum1(b, big));
			assert_int_equal(ocp_csum1(b + 1, 16384), naive_csum1(b + 1, 16384));
		}
		for (size_t i = 0; i < big; i++)
			b[i] = (uint8_t)rand();
		assert_int_equal(ocp_csum1(b, big), naive_csum1(b, big));
		free(b);
	}
	/* Derived: signed bytes; 0x80 counts as -128, not 128. */
	assert_int_equal(ocp_csum1((const uint8_t[]){0x80}, 1), 0xff80ff80u);
	assert_int_equal(ocp_csum1((const uint8_t[]){1, 2, 3}, 3), (6u << 16 | 6u) + (4u << 16));
	/* capture: the first block of the basis, weak sum 0xe9ab065d. */
	{
		uint8_t *b = make_basis();

		assert_int_equal(ocp_csum1(b, 768), 0xe9ab065du);
		free(b);
	}
}

static void
test_rsum_roll(void **state)
{
	uint8_t buf[3000];
	struct ocp_rsum r;

	(void)state;
	srand(11);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t win = 1; win <= 700; win += 233) {
		ocp_rsum_init(&r, buf, win);
		assert_int_equal(ocp_rsum_value(&r), naive_csum1(buf, win));
		for (size_t k = 0; k + win < sizeof(buf); k++) {
			ocp_rsum_roll(&r, buf[k], buf[k + win]);
			assert_int_equal(ocp_rsum_value(&r), naive_csum1(buf + k + 1, win));
		}
	}
}

/* --- strong sums ---------------------------------------------------------- */

static void
test_kat(void **state)
{
	uint8_t out[OCP_CSUM_DIGEST_MAX];

	(void)state;
	/* KAT: RFC 1320, RFC 1321, FIPS 180 for "abc"; xxHash's empty-input values. */
	assert_int_equal(ocp_csum_file(OCP_CSUM_MD4, "abc", 3, out), 16);
	assert_hex(out, "a448017aaf21d8525fc10ae87aa6729d");
	assert_int_equal(ocp_csum_file(OCP_CSUM_MD5, "abc", 3, out), 16);
	assert_hex(out, "900150983cd24fb0d6963f7d28e17f72");
	assert_int_equal(ocp_csum_file(OCP_CSUM_SHA1, "abc", 3, out), 20);
	assert_hex(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_int_equal(ocp_csum_file(OCP_CSUM_SHA256, "abc", 3, out), 32);
	assert_hex(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(ocp_csum_file(OCP_CSUM_XXH64, "", 0, out), 8);
	assert_hex(out, "99e9d85137db46ef"); /* 0xEF46DB3751D8E999, little-endian */
	assert_int_equal(ocp_csum_file(OCP_CSUM_XXH3, "", 0, out), 8);
	assert_hex(out, "c294d3380580062d"); /* 0x2D06800538D394C2 */
	assert_int_equal(ocp_csum_file(OCP_CSUM_XXH128, "", 0, out), 16);
	/* 0x99AA06D3014798D86001C324468D497F, low half first. */
	assert_hex(out, "7f498d4624c30160d8984701d306aa99");
	assert_int_equal(ocp_csum_file(OCP_CSUM_NONE, "abc", 3, out), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(ocp_csum_file((enum ocp_csum)99, "", 0, out), -EINVAL);
}

/* One capture: the digest's block sums and the full-file digest of `new`. */
struct xfer_vec {
	enum ocp_csum type;
	const char *first2;  /* weak + strong of blocks 0 and 1 */
	const char *last;    /* weak + strong of block 781 */
	const char *all_md5; /* md5 over the 782 * 6 captured bytes */
	const char *filesum; /* flist checksum == whole-file sum */
};

static const struct xfer_vec xfer_vecs[] = {
    {OCP_CSUM_XXH128, "5d06abe9d5135d08d9327c4f", "b6fce6bc01cb",
     "76f227b879b03e2fa121c0ca400c2339", "e0f0f1db78c80d70996deb8173746151"},
    {OCP_CSUM_XXH3, "5d06abe9d5135d08d9327c4f", "b6fce6bc66c4", "253a7fb58b0fb6c2fa9a20eaba440a6f",
     "e0f0f1db78c80d70"},
    {OCP_CSUM_XXH64, "5d06abe905425d08d932816f", "b6fce6bc641c", "8206ed9eecfb9bf56f33f4177b297c38",
     "d59e8e3e8a55311b"},
    {OCP_CSUM_MD5, "5d06abe94b095d08d9321a12", "b6fce6bc2117", "826e783d326a4336fdec6284773b6662",
     "3a71bb29f7e1812f17ac5b84d33862d0"},
    {OCP_CSUM_MD4, "5d06abe909e65d08d9327288", "b6fce6bcd124", "039268423b135ce9ccdc57f830a88787",
     "82c4ce805df7f8bb2389ed48c6b439be"},
    {OCP_CSUM_SHA1, "5d06abe94e965d08d9324e3a", "b6fce6bcc136", "0845c411a7f7098676cd279da39a8e89",
     "78c29e54b2d12479959a23bb9bd499f8223b417f"},
};

/* capture: the sum head of every capture, count 782, blength 768, s2length 2, remainder 192. */
static const char capture_head[] = "0e0300000003000002000000c0000000";

static void
test_block_sums_vs_rsync(void **state)
{
	uint8_t *basis = make_basis();
	uint8_t *sect = malloc(782 * 6);
	uint8_t head[OCP_SUM_HEAD_SIZE], sum[OCP_CSUM_DIGEST_MAX];
	struct ocp_sum_head h;

	(void)state;
	assert_non_null(sect);
	for (size_t v = 0; v < NELEM(xfer_vecs); v++) {
		const struct xfer_vec *x = &xfer_vecs[v];

		assert_int_equal(ocp_sum_sizes(BASIS_LEN, 32, 0, ocp_csum_len(x->type), false, &h),
				 0);
		assert_int_equal(ocp_enc_sum_head(head, sizeof(head), &h), 16);
		assert_hex(head, capture_head);
		for (int32_t i = 0; i < h.count; i++) {
			size_t off = (size_t)i * (size_t)h.blength;
			size_t n = i == h.count - 1 && h.remainder ? (size_t)h.remainder
								   : (size_t)h.blength;
			uint32_t w = ocp_csum1(basis + off, n);
			uint8_t *p = sect + (size_t)i * (4 + (size_t)h.s2length);

			for (int k = 0; k < 4; k++)
				p[k] = (uint8_t)(w >> (8 * k));
			assert_int_equal(
			    ocp_csum2(x->type, basis + off, n, CAPTURE_SEED, true, sum),
			    ocp_csum_len(x->type));
			memcpy(p + 4, sum, (size_t)h.s2length);
		}
		assert_hex(sect, x->first2);
		assert_hex(sect + 781 * 6, x->last);
		assert_int_equal(ocp_csum_file(OCP_CSUM_MD5, sect, 782 * 6, sum), 16);
		assert_hex(sum, x->all_md5);
	}
	free(sect);
	free(basis);
}

static void
test_file_sums_vs_rsync(void **state)
{
	uint8_t *basis = make_basis(), *nw = make_new(basis);
	uint8_t sum[OCP_CSUM_DIGEST_MAX];
	struct ocp_csum_ctx c;

	(void)state;
	for (size_t v = 0; v < NELEM(xfer_vecs); v++) {
		const struct xfer_vec *x = &xfer_vecs[v];
		int len = ocp_csum_len(x->type);

		assert_int_equal(ocp_csum_file(x->type, nw, NEW_LEN, sum), len);
		assert_hex(sum, x->filesum);
		/* The same sum fed in uneven pieces. */
		memset(sum, 0, sizeof(sum));
		assert_int_equal(ocp_csum_begin(&c, x->type), 0);
		for (size_t off = 0, step = 1; off < NEW_LEN; off += step, step = step * 3 + 1) {
			size_t n = NEW_LEN - off < step ? NEW_LEN - off : step;

			assert_int_equal(ocp_csum_update(&c, nw + off, n), 0);
		}
		assert_int_equal(ocp_csum_end(&c, sum), len);
		ocp_csum_free(&c);
		ocp_csum_free(&c);
		assert_hex(sum, x->filesum);
	}
	free(nw);
	free(basis);
}

static void
test_seed_rules(void **state)
{
	uint8_t *b = make_basis();
	uint8_t a[OCP_CSUM_DIGEST_MAX], z[OCP_CSUM_DIGEST_MAX];
	struct ocp_csum_ctx c;

	(void)state;
	/* derived (Python hashlib): md5 without the seed fix hashes data then seed. */
	assert_int_equal(ocp_csum2(OCP_CSUM_MD5, b, 768, CAPTURE_SEED, false, a), 16);
	assert_hex(a, "4550");
	/* derived: seed 0 adds nothing, so the block sum is the plain digest. */
	for (enum ocp_csum t = OCP_CSUM_MD4; t <= OCP_CSUM_XXH128; t++) {
		assert_int_equal(ocp_csum2(t, b, 768, 0, true, a), ocp_csum_len(t));
		assert_int_equal(ocp_csum_file(t, b, 768, z), ocp_csum_len(t));
		assert_memory_equal(a, z, (size_t)ocp_csum_len(t));
	}
	/* derived: md4 appends the seed, so it equals md4(data || seed LE). */
	assert_int_equal(ocp_csum_begin(&c, OCP_CSUM_MD4), 0);
	assert_int_equal(ocp_csum_update(&c, b, 768), 0);
	assert_int_equal(ocp_csum_update(&c, (const uint8_t[]){0x78, 0x56, 0x34, 0x12}, 4), 0);
	assert_int_equal(ocp_csum_end(&c, z), 16);
	ocp_csum_free(&c);
	assert_int_equal(ocp_csum2(OCP_CSUM_MD4, b, 768, CAPTURE_SEED, true, a), 16);
	assert_memory_equal(a, z, 16);
	/* derived: a negative seed is sign-extended to 64 bits for xxh. */
	assert_int_equal(ocp_csum2(OCP_CSUM_XXH64, b, 768, -2, true, a), 8);
	assert_int_equal(ocp_csum2(OCP_CSUM_XXH64, b, 768, 0x7ffffffe, true, z), 8);
	assert_memory_not_equal(a, z, 8);
	/* Only transfer checksums make block sums. */
	assert_int_equal(ocp_csum2(OCP_CSUM_NONE, b, 10, 1, true, a), -EINVAL);
	assert_int_equal(ocp_csum2(OCP_CSUM_SHA256, b, 10, 1, true, a), -EINVAL);
	free(b);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(ocp_csum_name(OCP_CSUM_XXH128), "xxh128");
	assert_null(ocp_csum_name(OCP_CSUM_COUNT));
	assert_int_equal(ocp_csum_by_name("XXHASH", 6), OCP_CSUM_XXH64);
	assert_int_equal(ocp_csum_by_name("md5x", 3), OCP_CSUM_MD5);
	assert_int_equal(ocp_csum_by_name("md", 2), -1);
	assert_int_equal(ocp_csum_len(OCP_CSUM_SHA512), 64);
	assert_int_equal(ocp_csum_len((enum ocp_csum) - 1), -EINVAL);
}

/* --- block sizes and sum heads --------------------------------------------- */

static void
test_sum_sizes(void **state)
{
	/* debug: rsync 3.5.0 --debug=deltasum2, default checksum (xxh128). */
	static const struct {
		int64_t len;
		int32_t count, rem, blength, s2length;
	} v[] = {
	    {1, 1, 1, 700, 2},
	    {1000, 2, 300, 700, 2},
	    {490000, 700, 0, 700, 2},
	    {490001, 701, 1, 700, 2},
	    {600000, 782, 192, 768, 2},
	    {10000000, 3165, 1760, 3160, 2},
	    {123456789, 11119, 2517, 11104, 3},
	    {3000000000, 54777, 28032, 54768, 4},
	};
	struct ocp_sum_head h;

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		assert_int_equal(ocp_sum_sizes(v[i].len, 32, 0, 16, false, &h), 0);
		assert_int_equal(h.count, v[i].count);
		assert_int_equal(h.remainder, v[i].rem);
		assert_int_equal(h.blength, v[i].blength);
		assert_int_equal(h.s2length, v[i].s2length);
	}
	/* debug: -B 2048 on 16 MiB sits one bit below a third strong-sum byte. */
	assert_int_equal(ocp_sum_sizes(16777216, 32, 2048, 16, false, &h), 0);
	assert_true(h.count == 8192 && h.remainder == 0 && h.blength == 2048 && h.s2length == 2);
	assert_int_equal(ocp_sum_sizes(16777215, 32, 4096, 16, false, &h), 0);
	assert_true(h.count == 4096 && h.remainder == 4095 && h.s2length == 2);
	/* debug: -B 1000 on 100000 bytes; xxh64 on 100000000 bytes. */
	assert_int_equal(ocp_sum_sizes(100000, 32, 1000, 16, false, &h), 0);
	assert_true(h.count == 100 && h.remainder == 0 && h.blength == 1000 && h.s2length == 2);
	assert_int_equal(ocp_sum_sizes(100000000, 32, 0, 8, false, &h), 0);
	assert_true(h.count == 10000 && h.blength == 10000 && h.s2length == 3);
	/* derived: a 64 GiB file hits the 128 KiB cap; s2length is capped by the digest. */
	assert_int_equal(ocp_sum_sizes((int64_t)1 << 36, 32, 0, 16, false, &h), 0);
	assert_int_equal(h.blength, OCP_MAX_BLOCK_SIZE);
	assert_int_equal(h.count, 1 << 19);
	assert_int_equal(ocp_sum_sizes((int64_t)1 << 62, 30, 0, 2, false, &h), -EOVERFLOW);
	assert_int_equal(ocp_sum_sizes((int64_t)1 << 40, 32, 0, 2, false, &h), 0);
	assert_int_equal(h.s2length, 2);
	/* derived: the redo phase sends full sums, at most 16 bytes. */
	assert_int_equal(ocp_sum_sizes(1000, 32, 0, 20, true, &h), 0);
	assert_int_equal(h.s2length, 16);
	assert_int_equal(ocp_sum_sizes(1000, 32, 0, 8, true, &h), 0);
	assert_int_equal(h.s2length, 8);
	/* derived: an empty file has no blocks. */
	assert_int_equal(ocp_sum_sizes(0, 32, 0, 16, false, &h), 0);
	assert_true(h.count == 0 && h.remainder == 0 && h.blength == 700);
	assert_int_equal(ocp_sum_sizes(-1, 32, 0, 16, false, &h), -EINVAL);
	assert_int_equal(ocp_sum_sizes(1, 32, 0, 0, false, &h), -EINVAL);
}

static void
test_sum_head(void **state)
{
	uint8_t b[OCP_SUM_HEAD_SIZE];
	struct ocp_sum_head h = {0}, g;

	(void)state;
	/* capture: the xxh128 capture's head, read at every truncation. */
	unhex(capture_head, b, sizeof(b));
	for (size_t n = 0; n < sizeof(b); n++)
		assert_int_equal(ocp_dec_sum_head(b, n, 32, 16, &h), 0);
	assert_int_equal(ocp_dec_sum_head(b, sizeof(b), 32, 16, &h), 16);
	assert_true(h.count == 782 && h.blength == 768 && h.s2length == 2 && h.remainder == 192);
	assert_int_equal(ocp_enc_sum_head(b, 15, &h), -ENOBUFS);

	/* derived: each limit (CVE-2024-12084, CVE-2024-12085), detected early. */
#define HEAD(c, bl, s2, r)                                                                         \
	do {                                                                                       \
		g = (struct ocp_sum_head){c, bl, s2, r};                                           \
		assert_int_equal(ocp_enc_sum_head(b, sizeof(b), &g), 16);                          \
	} while (0)
	HEAD(-1, 700, 2, 0);
	assert_int_equal(ocp_dec_sum_head(b, 4, 32, 16, &h), OCP_ESUMHEAD);
	HEAD(1, OCP_MAX_BLOCK_SIZE + 1, 2, 0);
	assert_int_equal(ocp_dec_sum_head(b, 8, 32, 16, &h), OCP_ESUMHEAD);
	assert_int_equal(ocp_dec_sum_head(b, 16, 29, 16, &h), 16); /* 1<<29 before 30 */
	HEAD(1, 0, 2, 0);
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 16, &h), OCP_ESUMHEAD);
	HEAD(0, 0, 0, 0);
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 16, &h), 16);
	HEAD(5, 700, 17, 0);
	assert_int_equal(ocp_dec_sum_head(b, 12, 32, 16, &h), OCP_ESUMHEAD);
	HEAD(5, 700, 9, 0);
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 8, &h), OCP_ESUMHEAD);
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 16, &h), 16);
	HEAD(5, 700, -1, 0);
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 16, &h), OCP_ESUMHEAD);
	HEAD(5, 700, 2, 701);
	memset(&h, 0x5a, sizeof(h));
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 16, &h), OCP_ESUMHEAD);
	assert_int_equal(h.count, 0x5a5a5a5a); /* untouched on error */
	HEAD(5, 700, 2, -1);
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 16, &h), OCP_ESUMHEAD);
	HEAD(5, 700, 2, 700);
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 16, &h), 16);
#undef HEAD
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 0, &h), -EINVAL);
	assert_int_equal(ocp_dec_sum_head(b, 16, 32, 65, &h), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csum1_vs_naive),
	    cmocka_unit_test(test_xxh3_vs_lib),
	    cmocka_unit_test(test_rsum_roll),
	    cmocka_unit_test(test_kat),
	    cmocka_unit_test(test_block_sums_vs_rsync),
	    cmocka_unit_test(test_file_sums_vs_rsync),
	    cmocka_unit_test(test_seed_rules),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_sum_sizes),
	    cmocka_unit_test(test_sum_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
