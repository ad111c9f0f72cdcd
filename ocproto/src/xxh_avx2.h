/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to csum.c: XXH3 (64 and 128 bits) built from xxhash.h for AVX2,
 * used in place of libxxhash's when the CPU has AVX2. Same results; see
 * xxh_avx2.c. The streaming state comes from, and stays with, these
 * functions.
 */
#ifndef OCP_XXH_AVX2_H
#define OCP_XXH_AVX2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) /* clang: no GCC target pragma */
#define OCP_HAVE_XXH_AVX2 1

/* Whether the CPU runs AVX2 (checked once). */
bool ocp_xxh_avx2_usable(void);
uint64_t ocp_xxh3_64_avx2(const void *p, size_t n, uint64_t seed);
/* low then high 64 bits, as XXH128_hash_t */
void ocp_xxh128_avx2(const void *p, size_t n, uint64_t seed, uint64_t out[2]);
/* Streaming, unseeded (the whole-file sums): NULL on no memory. */
void *ocp_xxh3_state_avx2(bool is128);
int ocp_xxh3_update_avx2(void *st, bool is128, const void *p, size_t n);
void ocp_xxh3_digest_avx2(void *st, bool is128, uint64_t out[2]);
void ocp_xxh3_free_avx2(void *st);
#endif

#endif /* OCP_XXH_AVX2_H */
