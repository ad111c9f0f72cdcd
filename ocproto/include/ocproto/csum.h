/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto checksums (upstream checksum.c, generator.c, io.c): the rolling
 * weak checksum of the delta algorithm, the strong checksums with upstream's
 * seed rules for block sums and whole-file sums, the block-size rule and the
 * checksum header ("sum head") codec with its validation.
 *
 * Strong digests come from OpenSSL (md4, md5, sha1, sha256, sha512; md4 from
 * OpenSSL's legacy provider, loaded into a private library context so the
 * process's default context is left alone) and libxxhash (xxh64, xxh3,
 * xxh128). An algorithm the crypto library cannot provide gives OCP_ENOTSUP.
 *
 * Concurrency: all functions are reentrant and thread-safe (the one-time
 * md4 provider setup is guarded by pthread_once); a struct ocp_csum_ctx or
 * struct ocp_rsum belongs to one thread at a time.
 */
#ifndef OCPROTO_CSUM_H
#define OCPROTO_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Checksum algorithms; the first seven are the transfer checksums. */
enum ocp_csum {
	OCP_CSUM_NONE = 0, /* "none": no strong checksum, one zero byte */
	OCP_CSUM_MD4,	   /* "md4" */
	OCP_CSUM_MD5,	   /* "md5" */
	OCP_CSUM_SHA1,	   /* "sha1" */
	OCP_CSUM_XXH64,	   /* "xxh64" (alias "xxhash") */
	OCP_CSUM_XXH3,	   /* "xxh3": XXH3 64-bit */
	OCP_CSUM_XXH128,   /* "xxh128": XXH3 128-bit */
	OCP_CSUM_SHA256,   /* "sha256": daemon authentication only */
	OCP_CSUM_SHA512,   /* "sha512": daemon authentication only */
	OCP_CSUM_COUNT
};

#define OCP_CSUM_DIGEST_MAX 64	   /* sha512, the longest digest */
#define OCP_BLOCK_SIZE	    700	   /* upstream BLOCK_SIZE: smallest default block */
#define OCP_MAX_BLOCK_SIZE  131072 /* upstream MAX_BLOCK_SIZE, protocol >= 30 */
#define OCP_SUM_LENGTH	    16	   /* upstream SUM_LENGTH: full strong sum */
#define OCP_SHORT_SUM_LEN   2	   /* upstream SHORT_SUM_LENGTH */
#define OCP_SUM_HEAD_SIZE   16	   /* four int32 */

/* Upstream name of t ("md5", ...), or NULL when t is not a valid value. */
const char *ocp_csum_name(enum ocp_csum t);
/* The algorithm called name[0..len) (case-insensitive, "xxhash" = xxh64), or -1. */
int ocp_csum_by_name(const char *name, size_t len);
/* Digest length of t in bytes (1 for NONE); mirrors upstream `csum_len_for_type()`. -EINVAL if
 * invalid. */
int ocp_csum_len(enum ocp_csum t);

/*
 * Weak checksum of buf[0..len): s1 = sum of the bytes read as *signed* chars,
 * s2 = sum of the running s1, result (s1 & 0xffff) | (s2 << 16); mirrors
 * upstream `get_checksum1()`.
 */
uint32_t ocp_csum1(const void *buf, size_t len);

/* Rolling form of ocp_csum1() over a window of fixed length. */
struct ocp_rsum {
	uint32_t s1, s2;
	uint32_t len;
};

/* Start a rolling sum over buf[0..len) (len <= UINT32_MAX). */
void ocp_rsum_init(struct ocp_rsum *r, const void *buf, size_t len);
/* Slide the window one byte: drop `out` (its first byte), append `in`. O(1). */
void ocp_rsum_roll(struct ocp_rsum *r, uint8_t out, uint8_t in);
/* The checksum of the current window, as ocp_csum1() would give. */
static inline uint32_t
ocp_rsum_value(const struct ocp_rsum *r)
{
	return (r->s1 & 0xffff) | (r->s2 << 16);
}

/*
 * Strong checksum of one block, as the generator sends and the sender
 * matches; mirrors upstream `get_checksum2()`. A seed of 0 adds nothing;
 * otherwise its 4 little-endian bytes are hashed: md5 before the data when
 * seed_fix (CF_CHKSUM_SEED_FIX) is set, after it when not; sha1 before the
 * data; md4 after the data (upstream's built-in md4, which rsync uses when
 * OpenSSL's default context lacks md4). xxh64/xxh3/xxh128 use the seed,
 * sign-extended to 64 bits, as their hash seed; xxh128 is written low half
 * first. Writes ocp_csum_len(t) bytes to out; returns that length, -EINVAL
 * or OCP_ENOTSUP.
 */
int ocp_csum2(enum ocp_csum t, const void *buf, size_t len, int32_t seed, bool seed_fix,
	      uint8_t *out);

/*
 * Incremental whole-file checksum (the `-c` file-list sum and the sum sent
 * after each file's token stream); mirrors upstream `sum_init()`,
 * `sum_update()`, `sum_end()` and `file_checksum()` for protocol >= 30,
 * where no seed enters these sums. Fields are private.
 */
struct ocp_csum_ctx {
	enum ocp_csum type;
	void *impl; /* EVP_MD_CTX or XXH state, owned by the context */
};

/* Start a sum of type t; 0, -EINVAL, -ENOMEM or OCP_ENOTSUP. Release with ocp_csum_free(). */
int ocp_csum_begin(struct ocp_csum_ctx *c, enum ocp_csum t);
/* Feed len bytes; 0 or -EIO when the crypto library fails. */
int ocp_csum_update(struct ocp_csum_ctx *c, const void *buf, size_t len);
/* Write the digest (ocp_csum_len() bytes) and return its length, or -EIO. Frees nothing. */
int ocp_csum_end(struct ocp_csum_ctx *c, uint8_t *out);
/* Release what ocp_csum_begin() allocated; safe on a zeroed or freed context. */
void ocp_csum_free(struct ocp_csum_ctx *c);
/* One-shot whole-file sum of buf[0..len); mirrors upstream `file_checksum()`. */
int ocp_csum_file(enum ocp_csum t, const void *buf, size_t len, uint8_t *out);

/* The checksum header that precedes a file's block sums (upstream `sum_struct`). */
struct ocp_sum_head {
	int32_t count;	   /* number of blocks */
	int32_t blength;   /* block length */
	int32_t s2length;  /* bytes of strong sum sent per block */
	int32_t remainder; /* length of the last, short block (0 if none) */
};

/*
 * Block length, strong-sum length and block count for a basis file of len
 * bytes; mirrors upstream `sum_sizes_sqroot()`. blength is about sqrt(len),
 * rounded down to a multiple of 8, at least 700 and at most 128 KiB (1<<29
 * before protocol 30), or block_size when that is non-zero (--block-size).
 * s2length grows with len (at least 2) unless full_sum (the redo phase),
 * and never exceeds min(16, xfer_sum_len). Returns 0, -EINVAL for len < 0,
 * xfer_sum_len < 1 or block_size < 0, or -EOVERFLOW when count exceeds int32.
 */
int ocp_sum_sizes(int64_t len, int protocol, int32_t block_size, int xfer_sum_len, bool full_sum,
		  struct ocp_sum_head *out);

/* Write h as four int32; mirrors upstream `write_sum_head()`. 16 or -ENOBUFS. */
int ocp_enc_sum_head(uint8_t *out, size_t cap, const struct ocp_sum_head *h);
/*
 * Read and validate a sum head; mirrors upstream `read_sum_head()` with its
 * CVE-2024-12084 / CVE-2024-12085 checks: count >= 0 and count * (4 +
 * s2length) fits in size_t; 0 <= blength <= OCP_MAX_BLOCK_SIZE (1<<29 before
 * protocol 30); blength > 0 when count > 0; 0 <= s2length <= xfer_sum_len
 * (the negotiated digest length, 1..64); 0 <= remainder <= blength. Returns
 * 16, 0 for need more, OCP_ESUMHEAD, or -EINVAL for a bad xfer_sum_len.
 * On any result but 16, *h is untouched.
 */
int ocp_dec_sum_head(const uint8_t *buf, size_t len, int protocol, int xfer_sum_len,
		     struct ocp_sum_head *h);

#endif /* OCPROTO_CSUM_H */
