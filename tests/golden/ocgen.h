/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Deterministic content for the golden captures (tests/golden/capture.sh
 * compiles this into a tiny tool; tests/unit/test_ocp_golden.c includes it
 * to regenerate the basis and new files of the delta scenarios instead of
 * committing megabytes). Change nothing here without re-capturing.
 */
#ifndef OCGEN_H
#define OCGEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* xorshift64* */
static inline uint64_t
ocgen_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t
ocgen_seed(uint64_t seed)
{
	return seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
}

/* Fill buf[0..len) with the bytes of stream `seed`. */
static inline void
ocgen_fill(uint64_t seed, uint8_t *buf, size_t len)
{
	uint64_t s = ocgen_seed(seed);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = ocgen_next(&s);
		for (size_t j = 0; j < 8 && i + j < len; j++)
			buf[i + j] = (uint8_t)(v >> (8 * j));
	}
}

/* Extra bytes ocgen_mutate() may add: one insertion. */
#define OCGEN_INSERT 333
#define OCGEN_DELETE 222

/*
 * The "new" version of basis[0..len) (len >= 4096): about 1% of the bytes
 * overwritten in scattered 1 KiB runs (one per 100 KiB, at least one), 333 bytes inserted at len/3 and
 * 222 removed at 2*len/3. out must hold len + OCGEN_INSERT bytes; returns
 * the new length (len + 111).
 */
static inline size_t
ocgen_mutate(uint64_t seed, const uint8_t *basis, size_t len, uint8_t *out)
{
	uint64_t s = ocgen_seed(seed ^ 0xA5A5A5A5u);
	size_t n = 0, ins = len / 3, del = 2 * len / 3;
	memcpy(out, basis, ins);
	n = ins;
	for (size_t i = 0; i < OCGEN_INSERT; i++)
		out[n++] = (uint8_t)ocgen_next(&s);
	memcpy(out + n, basis + ins, del - ins);
	n += del - ins;
	memcpy(out + n, basis + del + OCGEN_DELETE, len - del - OCGEN_DELETE);
	n += len - del - OCGEN_DELETE;
	size_t runs = n / 102400 + 1;
	for (size_t r = 0; r < runs; r++) {
		size_t p = (size_t)(ocgen_next(&s) % (n - 1024));
		for (size_t j = 0; j < 1024; j++)
			out[p + j] = (uint8_t)ocgen_next(&s);
	}
	return n;
}

#endif /* OCGEN_H */
