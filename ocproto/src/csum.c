/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Checksums of rsync's delta algorithm; see ocproto/csum.h for the rules.
 * Written from upstream's behaviour and checked against sums captured from
 * rsync 3.5.0 transfers (tests/unit/test_ocp_csum.c).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <xxhash.h>

#include "ocproto/csum.h"
#include "cpu_x86.h"
#include "xxh_avx2.h"
#include "ocproto/err.h"

/* Bytes per step of the weak-sum loop: fixed so the compiler can vectorise it. */
#define CSUM1_LANE 16

static const struct {
	const char *name;
	int len;
} csum_info[OCP_CSUM_COUNT] = {
    [OCP_CSUM_NONE] = {"none", 1},	[OCP_CSUM_MD4] = {"md4", 16},
    [OCP_CSUM_MD5] = {"md5", 16},	[OCP_CSUM_SHA1] = {"sha1", 20},
    [OCP_CSUM_XXH64] = {"xxh64", 8},	[OCP_CSUM_XXH3] = {"xxh3", 8},
    [OCP_CSUM_XXH128] = {"xxh128", 16}, [OCP_CSUM_SHA256] = {"sha256", 32},
    [OCP_CSUM_SHA512] = {"sha512", 64},
};

const char *
ocp_csum_name(enum ocp_csum t)
{
	return (unsigned)t < OCP_CSUM_COUNT ? csum_info[t].name : NULL;
}

int
ocp_csum_by_name(const char *name, size_t len)
{
	if (len == 6 && strncasecmp(name, "xxhash", 6) == 0)
		return OCP_CSUM_XXH64;
	for (int t = 0; t < OCP_CSUM_COUNT; t++) {
		if (strlen(csum_info[t].name) == len &&
		    strncasecmp(name, csum_info[t].name, len) == 0)
			return t;
	}
	return -1;
}

int
ocp_csum_len(enum ocp_csum t)
{
	return (unsigned)t < OCP_CSUM_COUNT ? csum_info[t].len : -EINVAL;
}

/* A byte as upstream's weak sum sees it: a signed char, widened modulo 2^32. */
static inline uint32_t
sbyte(uint8_t b)
{
	return (uint32_t)(int32_t)(int8_t)b;
}

/*
 * On x86-64 with AVX2, inputs of 256 bytes and more take weak_sums_avx2()
 * below, chosen at run time (cpu_x86.h); everything else takes this loop.
 * (Not an ifunc or target_clones: their resolver needs libgcc's CPU
 * probe, which then runs at every start; see cpu_x86.h.)
 */

/* Full 32-bit s1 and s2 of upstream's weak sum over p[0..len). */
static void
weak_sums(const uint8_t *p, size_t len, uint32_t *s1p, uint32_t *s2p)
{
	uint32_t s1 = 0, s2 = 0;
	size_t i = 0;

	/*
	 * Per lane of 16 bytes, s2 grows by 16 * s1 plus the bytes weighted
	 * 16, 15, ..., 1; the inner loop has no carried dependency.
	 */
	for (; i + CSUM1_LANE <= len; i += CSUM1_LANE) {
		uint32_t t1 = 0, t2 = 0;

		for (uint32_t j = 0; j < CSUM1_LANE; j++) {
			uint32_t x = sbyte(p[i + j]);

			t1 += x;
			t2 += (CSUM1_LANE - j) * x;
		}
		s2 += CSUM1_LANE * s1 + t2;
		s1 += t1;
	}
	for (; i < len; i++) {
		s1 += sbyte(p[i]);
		s2 += s1;
	}
	*s1p = s1;
	*s2p = s2;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_WEAK_SUMS_AVX2 1

/*
 * The same sums 32 bytes at a time, in the way Adler-32 is vectorised: a
 * byte b counts as u = b ^ 0x80 = b + 128 (unsigned, so psadbw and pmaddubsw
 * apply) and the 128s are taken off at the end. Over N blocks of 32 bytes,
 * with U the sum of all u, P the sum over blocks of the u-sums of the
 * blocks before it, and W the sum of the u weighted 32, 31, ..., 1 within
 * their block:
 *   s1 = U - 4096 N
 *   s2 = 32 (P - 4096 N (N - 1) / 2) + W - 128 * 528 N
 * all modulo 2^32, as the scalar sums are. About four times the speed of
 * the compiler's vectorisation of the lane loop above.
 */
__attribute__((target("avx2"))) static void
weak_sums_avx2(const uint8_t *p, size_t len, uint32_t *s1p, uint32_t *s2p)
{
	const __m256i flip = _mm256_set1_epi8((char)0x80);
	const __m256i zero = _mm256_setzero_si256();
	const __m256i ones = _mm256_set1_epi16(1);
	const __m256i w = _mm256_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18,
					   17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
	__m256i vs1 = zero, vps = zero, vw = zero;
	size_t n = len / 32, i;
	uint32_t u, ps, wt, s1, s2;
	__m128i t;

	for (i = 0; i < n; i++) {
		__m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 32 * i)), flip);

		vps = _mm256_add_epi32(vps, vs1);
		vs1 = _mm256_add_epi32(vs1, _mm256_sad_epu8(v, zero));
		vw = _mm256_add_epi32(vw, _mm256_madd_epi16(_mm256_maddubs_epi16(v, w), ones));
	}
	t = _mm_add_epi32(_mm256_castsi256_si128(vs1), _mm256_extracti128_si256(vs1, 1));
	u = (uint32_t)_mm_cvtsi128_si32(t) + (uint32_t)_mm_extract_epi32(t, 2);
	t = _mm_add_epi32(_mm256_castsi256_si128(vps), _mm256_extracti128_si256(vps, 1));
	ps = (uint32_t)_mm_cvtsi128_si32(t) + (uint32_t)_mm_extract_epi32(t, 2);
	t = _mm_add_epi32(_mm256_castsi256_si128(vw), _mm256_extracti128_si256(vw, 1));
	t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
	t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
	wt = (uint32_t)_mm_cvtsi128_si32(t);
	s1 = u - 4096u * (uint32_t)n;
	s2 = 32u * (ps - (uint32_t)((uint64_t)n * (n - (n > 0)) / 2 * 4096u)) + wt - 67584u * (uint32_t)n;
	for (i = 32 * n; i < len; i++) {
		s1 += sbyte(p[i]);
		s2 += s1;
	}
	*s1p = s1;
	*s2p = s2;
}

static bool
have_avx2(void)
{
	return ocp_cpu_avx2();
}
#endif

/* Short inputs (the rolling matcher's tail) stay on the plain loop. */
static inline void
weak_sums_any(const uint8_t *p, size_t len, uint32_t *s1p, uint32_t *s2p)
{
#ifdef HAVE_WEAK_SUMS_AVX2
	if (len >= 256 && have_avx2()) {
		weak_sums_avx2(p, len, s1p, s2p);
		return;
	}
#endif
	weak_sums(p, len, s1p, s2p);
}

uint32_t
ocp_csum1(const void *buf, size_t len)
{
	uint32_t s1, s2;

	weak_sums_any(buf, len, &s1, &s2);
	return (s1 & 0xffff) | (s2 << 16);
}

void
ocp_rsum_init(struct ocp_rsum *r, const void *buf, size_t len)
{
	weak_sums_any(buf, len, &r->s1, &r->s2);
	r->len = (uint32_t)len;
}

void
ocp_rsum_roll(struct ocp_rsum *r, uint8_t out, uint8_t in)
{
	uint32_t o = sbyte(out);

	r->s1 += sbyte(in) - o;
	r->s2 += r->s1 - r->len * o;
}

#ifdef OCP_HAVE_XXH_AVX2
/* libxxhash's XXH3, or our AVX2 build of it (xxh_avx2.c) when the CPU has AVX2. */
static inline bool
xxh_fast(void)
{
	return ocp_xxh_avx2_usable();
}
#endif

/* --- OpenSSL digests ------------------------------------------------------ */

/*
 * libcrypto is opened on first use, not linked: only md4, md5 and the sha
 * sums need it (old peers, -c or --checksum-choice with them, daemon
 * auth), and loading it costs every run about half a millisecond of
 * relocations (it is bound now, 3,000 symbols), for each process. Without
 * it those sums are "not supported", as when OpenSSL refuses one.
 */
#define OCP_STR_(x) #x
#define OCP_STR(x)  OCP_STR_(x)
#define OCP_LIBCRYPTO "libcrypto.so." OCP_STR(OPENSSL_VERSION_MAJOR)

static struct {
	__typeof__(&EVP_MD_CTX_new) ctx_new;
	__typeof__(&EVP_MD_CTX_free) ctx_free;
	__typeof__(&EVP_DigestInit_ex) init;
	__typeof__(&EVP_DigestUpdate) update;
	__typeof__(&EVP_DigestFinal_ex) final;
	__typeof__(&EVP_md5) md5;
	__typeof__(&EVP_sha1) sha1;
	__typeof__(&EVP_sha256) sha256;
	__typeof__(&EVP_sha512) sha512;
	__typeof__(&EVP_MD_fetch) fetch;
	__typeof__(&OSSL_LIB_CTX_new) lctx_new;
	__typeof__(&OSSL_LIB_CTX_free) lctx_free;
	__typeof__(&OSSL_PROVIDER_load) prov_load;
	__typeof__(&ERR_clear_error) err_clear;
} ossl;
static bool ossl_ok;
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;

static void
ossl_load(void)
{
	void *h = dlopen(OCP_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
#define OSSL_SYM(field, name)                                  \
	do {                                                   \
		void *p_ = dlsym(h, #name);                    \
		if (!p_)                                       \
			return;                                \
		memcpy(&ossl.field, &p_, sizeof(p_));          \
	} while (0)
	OSSL_SYM(ctx_new, EVP_MD_CTX_new);
	OSSL_SYM(ctx_free, EVP_MD_CTX_free);
	OSSL_SYM(init, EVP_DigestInit_ex);
	OSSL_SYM(update, EVP_DigestUpdate);
	OSSL_SYM(final, EVP_DigestFinal_ex);
	OSSL_SYM(md5, EVP_md5);
	OSSL_SYM(sha1, EVP_sha1);
	OSSL_SYM(sha256, EVP_sha256);
	OSSL_SYM(sha512, EVP_sha512);
	OSSL_SYM(fetch, EVP_MD_fetch);
	OSSL_SYM(lctx_new, OSSL_LIB_CTX_new);
	OSSL_SYM(lctx_free, OSSL_LIB_CTX_free);
	OSSL_SYM(prov_load, OSSL_PROVIDER_load);
	OSSL_SYM(err_clear, ERR_clear_error);
#undef OSSL_SYM
	ossl_ok = true; /* h stays open for the process */
}

static bool
ossl_loaded(void)
{
	pthread_once(&ossl_once, ossl_load);
	return ossl_ok;
}

static pthread_once_t md4_once = PTHREAD_ONCE_INIT;
static EVP_MD *md4_md;

/*
 * md4 lives in OpenSSL 3's legacy provider. Load it into a private library
 * context: loading it into the default one would stop OpenSSL from loading
 * the default provider implicitly for the rest of the process.
 */
static void
md4_setup(void)
{
	OSSL_LIB_CTX *lc = ossl.lctx_new();

	if (!lc)
		goto fail;
	if (!ossl.prov_load(lc, "legacy"))
		goto fail;
	md4_md = ossl.fetch(lc, "MD4", NULL);
	if (md4_md)
		return; /* lc and the provider live as long as the process */
fail:
	ossl.lctx_free(lc);
	ossl.err_clear();
}

static const EVP_MD *
evp_md(enum ocp_csum t)
{
	if (!ossl_loaded())
		return NULL;
	switch (t) {
	case OCP_CSUM_MD4:
		pthread_once(&md4_once, md4_setup);
		return md4_md;
	case OCP_CSUM_MD5:
		return ossl.md5();
	case OCP_CSUM_SHA1:
		return ossl.sha1();
	case OCP_CSUM_SHA256:
		return ossl.sha256();
	case OCP_CSUM_SHA512:
		return ossl.sha512();
	default:
		return NULL;
	}
}

static bool
is_evp(enum ocp_csum t)
{
	return t == OCP_CSUM_MD4 || t == OCP_CSUM_MD5 || t == OCP_CSUM_SHA1 ||
	       t == OCP_CSUM_SHA256 || t == OCP_CSUM_SHA512;
}

/* Start an EVP context for t: OCP_ENOTSUP when OpenSSL refuses it (md4 without legacy, FIPS). */
static int
evp_start(enum ocp_csum t, EVP_MD_CTX **out)
{
	const EVP_MD *md = evp_md(t);
	EVP_MD_CTX *ctx;

	if (!md)
		return OCP_ENOTSUP;
	ctx = ossl.ctx_new();
	if (!ctx)
		return -ENOMEM;
	if (!ossl.init(ctx, md, NULL)) {
		ossl.ctx_free(ctx);
		ossl.err_clear();
		return OCP_ENOTSUP;
	}
	*out = ctx;
	return 0;
}

static void
put_le64(uint8_t *out, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

int
ocp_csum2(enum ocp_csum t, const void *buf, size_t len, int32_t seed, bool seed_fix, uint8_t *out)
{
	/* The seed is an int widened to XXH64_hash_t upstream: sign-extended. */
	uint64_t xseed = (uint64_t)(int64_t)seed;
	uint32_t useed = (uint32_t)seed;
	uint8_t sb[4] = {(uint8_t)useed, (uint8_t)(useed >> 8), (uint8_t)(useed >> 16),
			 (uint8_t)(useed >> 24)};
	EVP_MD_CTX *ctx;
	bool before;
	int rc, ok;

	switch (t) {
	case OCP_CSUM_XXH64:
		put_le64(out, XXH64(buf, len, xseed));
		return 8;
	case OCP_CSUM_XXH3:
#ifdef OCP_HAVE_XXH_AVX2
		if (xxh_fast()) {
			put_le64(out, ocp_xxh3_64_avx2(buf, len, xseed));
			return 8;
		}
#endif
		put_le64(out, XXH3_64bits_withSeed(buf, len, xseed));
		return 8;
	case OCP_CSUM_XXH128: {
		XXH128_hash_t h;

#ifdef OCP_HAVE_XXH_AVX2
		if (xxh_fast()) {
			uint64_t v[2];

			ocp_xxh128_avx2(buf, len, xseed, v);
			put_le64(out, v[0]);
			put_le64(out + 8, v[1]);
			return 16;
		}
#endif
		h = XXH3_128bits_withSeed(buf, len, xseed);
		put_le64(out, h.low64);
		put_le64(out + 8, h.high64);
		return 16;
	}
	case OCP_CSUM_MD4:
		before = false;
		break;
	case OCP_CSUM_MD5:
		before = seed_fix;
		break;
	case OCP_CSUM_SHA1:
		before = true;
		break;
	default:
		return -EINVAL;
	}
	rc = evp_start(t, &ctx);
	if (rc)
		return rc;
	ok = 1;
	if (seed && before)
		ok &= ossl.update(ctx, sb, 4);
	ok &= ossl.update(ctx, buf, len);
	if (seed && !before)
		ok &= ossl.update(ctx, sb, 4);
	ok &= ossl.final(ctx, out, NULL);
	ossl.ctx_free(ctx);
	if (!ok) {
		ossl.err_clear();
		return -EIO;
	}
	return csum_info[t].len;
}

/* --- whole-file sums ------------------------------------------------------ */

int
ocp_csum_begin(struct ocp_csum_ctx *c, enum ocp_csum t)
{
	c->type = t;
	c->impl = NULL;
	if ((unsigned)t >= OCP_CSUM_COUNT)
		return -EINVAL;
	if (is_evp(t)) {
		EVP_MD_CTX *ctx;
		int rc = evp_start(t, &ctx);

		if (rc)
			return rc;
		c->impl = ctx;
		return 0;
	}
	switch (t) {
	case OCP_CSUM_XXH64: {
		XXH64_state_t *s = XXH64_createState();

		if (!s)
			return -ENOMEM;
		XXH64_reset(s, 0);
		c->impl = s;
		return 0;
	}
	case OCP_CSUM_XXH3:
	case OCP_CSUM_XXH128: {
		XXH3_state_t *s;

#ifdef OCP_HAVE_XXH_AVX2
		if (xxh_fast()) {
			c->impl = ocp_xxh3_state_avx2(t == OCP_CSUM_XXH128);
			return c->impl ? 0 : -ENOMEM;
		}
#endif
		s = XXH3_createState();
		if (!s)
			return -ENOMEM;
		if (t == OCP_CSUM_XXH3)
			XXH3_64bits_reset(s);
		else
			XXH3_128bits_reset(s);
		c->impl = s;
		return 0;
	}
	default: /* OCP_CSUM_NONE */
		return 0;
	}
}

int
ocp_csum_update(struct ocp_csum_ctx *c, const void *buf, size_t len)
{
	if (is_evp(c->type)) {
		if (!c->impl || !ossl.update(c->impl, buf, len)) {
			ossl.err_clear();
			return -EIO;
		}
		return 0;
	}
	switch (c->type) {
	case OCP_CSUM_XXH64:
		return XXH64_update(c->impl, buf, len) == XXH_OK ? 0 : -EIO;
	case OCP_CSUM_XXH3:
	case OCP_CSUM_XXH128:
#ifdef OCP_HAVE_XXH_AVX2
		if (xxh_fast())
			return ocp_xxh3_update_avx2(c->impl, c->type == OCP_CSUM_XXH128, buf, len) ? -EIO : 0;
#endif
		if (c->type == OCP_CSUM_XXH3)
			return XXH3_64bits_update(c->impl, buf, len) == XXH_OK ? 0 : -EIO;
		return XXH3_128bits_update(c->impl, buf, len) == XXH_OK ? 0 : -EIO;
	default:
		return 0;
	}
}

int
ocp_csum_end(struct ocp_csum_ctx *c, uint8_t *out)
{
	if (is_evp(c->type)) {
		if (!c->impl || !ossl.final(c->impl, out, NULL)) {
			ossl.err_clear();
			return -EIO;
		}
		return csum_info[c->type].len;
	}
#ifdef OCP_HAVE_XXH_AVX2
	if ((c->type == OCP_CSUM_XXH3 || c->type == OCP_CSUM_XXH128) && xxh_fast()) {
		uint64_t v[2];

		ocp_xxh3_digest_avx2(c->impl, c->type == OCP_CSUM_XXH128, v);
		put_le64(out, v[0]);
		if (c->type == OCP_CSUM_XXH3)
			return 8;
		put_le64(out + 8, v[1]);
		return 16;
	}
#endif
	switch (c->type) {
	case OCP_CSUM_XXH64:
		put_le64(out, XXH64_digest(c->impl));
		return 8;
	case OCP_CSUM_XXH3:
		put_le64(out, XXH3_64bits_digest(c->impl));
		return 8;
	case OCP_CSUM_XXH128: {
		XXH128_hash_t h = XXH3_128bits_digest(c->impl);

		put_le64(out, h.low64);
		put_le64(out + 8, h.high64);
		return 16;
	}
	default: /* upstream's sum_end() writes one zero byte for "none" */
		out[0] = 0;
		return 1;
	}
}

void
ocp_csum_free(struct ocp_csum_ctx *c)
{
	if (!c->impl)
		return;
	if (is_evp(c->type))
		ossl.ctx_free(c->impl);
	else if (c->type == OCP_CSUM_XXH64)
		XXH64_freeState(c->impl);
#ifdef OCP_HAVE_XXH_AVX2
	else if (xxh_fast())
		ocp_xxh3_free_avx2(c->impl);
#endif
	else
		XXH3_freeState(c->impl);
	c->impl = NULL;
}

int
ocp_csum_file(enum ocp_csum t, const void *buf, size_t len, uint8_t *out)
{
	struct ocp_csum_ctx c;
	int rc = ocp_csum_begin(&c, t);

	if (rc == 0)
		rc = ocp_csum_update(&c, buf, len);
	if (rc == 0)
		rc = ocp_csum_end(&c, out);
	ocp_csum_free(&c);
	return rc;
}

/* --- block sizes and the sum head ----------------------------------------- */

/* Largest block length the peer may announce for this protocol. */
static int32_t
max_blength(int protocol)
{
	return protocol < 30 ? (int32_t)1 << 29 : OCP_MAX_BLOCK_SIZE;
}

int
ocp_sum_sizes(int64_t len, int protocol, int32_t block_size, int xfer_sum_len, bool full_sum,
	      struct ocp_sum_head *out)
{
	int max_s2 = xfer_sum_len < OCP_SUM_LENGTH ? xfer_sum_len : OCP_SUM_LENGTH;
	int32_t blength, maxb = max_blength(protocol);
	int64_t count;
	int s2length;

	if (len < 0 || xfer_sum_len < 1 || block_size < 0)
		return -EINVAL;
	if (block_size) {
		blength = block_size;
	} else if (len <= (int64_t)OCP_BLOCK_SIZE * OCP_BLOCK_SIZE) {
		blength = OCP_BLOCK_SIZE;
	} else {
		/* Start from a power of two near sqrt(len), then find bits downwards. */
		int64_t c = 1;

		for (int64_t l = len >> 2; l; l >>= 2)
			c <<= 1;
		if (c >= maxb) {
			blength = maxb;
		} else {
			int64_t b = 0;

			for (; c >= 8; c >>= 1) {
				if ((b | c) * (b | c) <= len)
					b |= c;
			}
			blength = b < OCP_BLOCK_SIZE ? OCP_BLOCK_SIZE : (int32_t)b;
		}
	}

	if (full_sum) {
		s2length = max_s2;
	} else {
		/* Bits wanted: BLOCKSUM_BIAS + 2*log2(len) - log2(blength). */
		int bits = 10;

		for (int64_t l = len >> 1; l; l >>= 1)
			bits += 2;
		for (int32_t c = blength >> 1; c && bits; c >>= 1)
			bits--;
		s2length = (bits + 1 - 32 + 7) / 8;
		if (s2length < OCP_SHORT_SUM_LEN)
			s2length = OCP_SHORT_SUM_LEN;
		if (s2length > max_s2)
			s2length = max_s2;
	}

	out->remainder = (int32_t)(len % blength);
	count = len / blength + (out->remainder != 0);
	if (count > INT32_MAX)
		return -EOVERFLOW;
	out->count = (int32_t)count;
	out->blength = blength;
	out->s2length = s2length;
	return 0;
}

static void
put_le32(uint8_t *out, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static int32_t
get_le32s(const uint8_t *b)
{
	uint32_t u =
	    (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;

	return u <= INT32_MAX ? (int32_t)u : -(int32_t)(UINT32_MAX - u) - 1;
}

int
ocp_enc_sum_head(uint8_t *out, size_t cap, const struct ocp_sum_head *h)
{
	if (cap < OCP_SUM_HEAD_SIZE)
		return -ENOBUFS;
	put_le32(out, (uint32_t)h->count);
	put_le32(out + 4, (uint32_t)h->blength);
	put_le32(out + 8, (uint32_t)h->s2length);
	put_le32(out + 12, (uint32_t)h->remainder);
	return OCP_SUM_HEAD_SIZE;
}

int
ocp_dec_sum_head(const uint8_t *buf, size_t len, int protocol, int xfer_sum_len,
		 struct ocp_sum_head *h)
{
	struct ocp_sum_head v;

	if (xfer_sum_len < 1 || xfer_sum_len > OCP_CSUM_DIGEST_MAX)
		return -EINVAL;
	/* Check each field as soon as its bytes are here, as upstream reads them. */
	if (len >= 4) {
		v.count = get_le32s(buf);
		if (v.count < 0 || (uint64_t)v.count > SIZE_MAX / (4 + (uint64_t)xfer_sum_len))
			return OCP_ESUMHEAD; /* CVE-2024-12084: sizes a later allocation */
	}
	if (len >= 8) {
		v.blength = get_le32s(buf + 4);
		if (v.blength < 0 || v.blength > max_blength(protocol) ||
		    (v.count > 0 && v.blength == 0))
			return OCP_ESUMHEAD;
	}
	if (len >= 12) {
		v.s2length = get_le32s(buf + 8);
		if (v.s2length < 0 || v.s2length > xfer_sum_len)
			return OCP_ESUMHEAD; /* CVE-2024-12084: overflows the sum buffer */
	}
	if (len < OCP_SUM_HEAD_SIZE)
		return 0;
	v.remainder = get_le32s(buf + 12);
	if (v.remainder < 0 || v.remainder > v.blength)
		return OCP_ESUMHEAD; /* CVE-2024-12085: reads past the block */
	*h = v;
	return OCP_SUM_HEAD_SIZE;
}
