/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * XXH3 compiled here from xxhash.h's inline implementation with its AVX2
 * kernel. The libxxhash this is built against runs XXH3 at about 5 GB/s
 * on 16 KiB blocks on our x86-64 hosts; this build at about 24. A delta
 * transfer hashes every byte of a big file four times (block sums on
 * both sides, whole-file sums on both sides), so that was the largest
 * single cost after I/O. Results are XXH3's, bit for bit (the unit test
 * compares them with libxxhash's).
 */
#include "cpu_x86.h"
#include "xxh_avx2.h"

#ifdef OCP_HAVE_XXH_AVX2
#pragma GCC target("avx2")
#define XXH_INLINE_ALL
#define XXH_VECTOR 2 /* XXH_AVX2 */
#include <xxhash.h>

bool
ocp_xxh_avx2_usable(void)
{
	return ocp_cpu_avx2();
}

uint64_t
ocp_xxh3_64_avx2(const void *p, size_t n, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, n, seed);
}

void
ocp_xxh128_avx2(const void *p, size_t n, uint64_t seed, uint64_t out[2])
{
	XXH128_hash_t h = XXH3_128bits_withSeed(p, n, seed);

	out[0] = h.low64;
	out[1] = h.high64;
}

void *
ocp_xxh3_state_avx2(bool is128)
{
	XXH3_state_t *s = XXH3_createState();

	if (s) {
		if (is128)
			XXH3_128bits_reset(s);
		else
			XXH3_64bits_reset(s);
	}
	return s;
}

int
ocp_xxh3_update_avx2(void *st, bool is128, const void *p, size_t n)
{
	XXH_errorcode e = is128 ? XXH3_128bits_update(st, p, n) : XXH3_64bits_update(st, p, n);

	return e == XXH_OK ? 0 : -1;
}

void
ocp_xxh3_digest_avx2(void *st, bool is128, uint64_t out[2])
{
	if (is128) {
		XXH128_hash_t h = XXH3_128bits_digest(st);

		out[0] = h.low64;
		out[1] = h.high64;
	} else {
		out[0] = XXH3_64bits_digest(st);
		out[1] = 0;
	}
}

void
ocp_xxh3_free_avx2(void *st)
{
	XXH3_freeState(st);
}
#endif
