/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto delta algorithm (upstream generator.c, match.c, receiver.c): block
 * signatures of a basis, the sender's matcher that turns new data into
 * literal runs and block references, and the receiver's reconstruction.
 *
 * Sans-I/O: data arrives as buffers or through caller callbacks; nothing
 * here opens or reads a descriptor. Signatures from the peer are validated
 * (sum head limits, a cap on the allocation) before anything is allocated.
 *
 * Concurrency: functions are reentrant. A struct ocp_sig is read-only after
 * ocp_sig_gen() / ocp_sig_dec() and may then be shared by threads that only
 * call ocp_delta_match(); a struct ocp_delta_apply belongs to one thread.
 */
#ifndef OCPROTO_DELTA_H
#define OCPROTO_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocproto/csum.h"

#define OCP_CHUNK_SIZE	      32768	   /* upstream CHUNK_SIZE: literal chunking */
#define OCP_DELTA_MAX_CHAIN   1024	   /* upstream MAX_CHAIN_LEN (issue #217) */
#define OCP_DELTA_DEF_SIG_MAX (256u << 20) /* default cap on a parsed table */

/* Token values passed with a literal run (upstream send_token()). */
#define OCP_TOKEN_END  (-1) /* end of file: literal, then the end marker */
#define OCP_TOKEN_NONE (-2) /* literal only, no block reference follows */

/* A block signature table; fields are read-only for callers. */
struct ocp_sig {
	struct ocp_sum_head head;
	enum ocp_csum csum; /* strong sum type */
	int32_t seed;	    /* checksum seed (0: none) */
	bool seed_fix;	    /* CF_CHKSUM_SEED_FIX */
	uint32_t *sum1;	    /* head.count weak sums */
	uint8_t *sum2;	    /* head.count * head.s2length strong-sum bytes */
	int32_t *chain;	    /* match index: next block with the same hash */
	int32_t *table;	    /* match index: first block per hash slot */
	uint32_t tablesize;
};

/* Length of block i (blength, or remainder for a short last block); i must be valid. */
static inline int32_t
ocp_sig_block_len(const struct ocp_sum_head *h, int32_t i)
{
	return i == h->count - 1 && h->remainder ? h->remainder : h->blength;
}

/*
 * Build the signature of basis[0..len) with the head h (usually from
 * ocp_sum_sizes(); h->count blocks must cover len exactly) and the strong
 * sum t seeded as ocp_csum2(); mirrors upstream `generate_and_send_sums()`.
 * 0, -EINVAL (head inconsistent with len), -ENOMEM or a ocp_csum2() error.
 * Free with ocp_sig_free().
 */
int ocp_sig_gen(struct ocp_sig *sig, const uint8_t *basis, size_t len, const struct ocp_sum_head *h,
		enum ocp_csum t, int32_t seed, bool seed_fix);

/* Bytes ocp_sig_enc() writes: 16 + count * (4 + s2length). */
size_t ocp_sig_enc_size(const struct ocp_sig *sig);
/* Write the sum head and block sums as the generator sends them. Count or -ENOBUFS. */
int ocp_sig_enc(const struct ocp_sig *sig, uint8_t *out, size_t cap);

/*
 * Parse a sum head plus block sums from buf; mirrors upstream
 * `receive_sums()`. The head is checked as ocp_dec_sum_head() does, then
 * count * (4 + s2length + 8) must not exceed max_bytes (0: the default
 * OCP_DELTA_DEF_SIG_MAX) else OCP_ETOOLONG. t, seed and seed_fix say how
 * the strong sums were made. Returns bytes consumed, 0 for need more, an
 * OCP_E* code, -EINVAL or -ENOMEM. On success sig owns heap memory.
 */
int ocp_sig_dec(struct ocp_sig *sig, const uint8_t *buf, size_t len, int protocol, enum ocp_csum t,
		int32_t seed, bool seed_fix, size_t max_bytes);

/* Release a signature's memory; safe on a zeroed or freed one. */
void ocp_sig_free(struct ocp_sig *sig);

/*
 * Matcher output, in upstream `matched()` order: lit_len literal bytes from
 * the new data, then the token: a block index (its bytes blk[0..blk_len) in
 * the new data, which equal the basis block), OCP_TOKEN_NONE, or
 * OCP_TOKEN_END exactly once at the end. A non-zero return stops the match.
 */
typedef int (*ocp_delta_emit_fn)(void *arg, const uint8_t *lit, size_t lit_len, int32_t token,
				 const uint8_t *blk, size_t blk_len);

/* Work counters of one ocp_delta_match() call. */
struct ocp_match_stats {
	uint64_t positions;  /* offsets whose weak sum was looked up */
	uint64_t candidates; /* hash-chain entries examined */
	uint64_t strong;     /* strong sums computed over the new data */
	uint64_t matches;    /* blocks matched */
	uint64_t literal;    /* literal bytes emitted */
};

/*
 * Scan data[0..len) against sig and emit literals and block matches;
 * mirrors upstream `match_sums()` / `hash_search()`: the rolling weak sum,
 * a hash lookup, the strong sum to confirm, preference for the block after
 * the previous match, and a literal flush when the backlog passes
 * blength + 32 KiB. At most OCP_DELTA_MAX_CHAIN chain entries are examined
 * per offset (issue #217), so the work is linear in len. stats may be NULL.
 * 0, the first non-zero emit result, -ENOMEM or a checksum error.
 */
int ocp_delta_match(const struct ocp_sig *sig, const uint8_t *data, size_t len,
		    ocp_delta_emit_fn emit, void *arg, struct ocp_match_stats *stats);

/* Read exactly len bytes of the basis at off into buf: 0 or a negative error. */
typedef int (*ocp_basis_read_fn)(void *arg, uint64_t off, uint8_t *buf, size_t len);
/* Write len bytes of the new file: 0 or a negative error. */
typedef int (*ocp_out_write_fn)(void *arg, const uint8_t *buf, size_t len);

/* A basis held in memory, for ocp_basis_mem_read(). */
struct ocp_basis_mem {
	const uint8_t *data;
	size_t len;
};
/* ocp_basis_read_fn over a struct ocp_basis_mem; OCP_ESIG when out of range. */
int ocp_basis_mem_read(void *arg, uint64_t off, uint8_t *buf, size_t len);

/* Receiver-side reconstruction state (upstream `receive_data()`); fields private. */
struct ocp_delta_apply {
	struct ocp_sum_head head;
	ocp_basis_read_fn read;
	void *read_arg;
	ocp_out_write_fn write;
	void *write_arg;
	uint8_t *blk; /* one block of basis */
	uint64_t written;
	uint64_t max_out;
};

/*
 * Prepare to rebuild a file from basis blocks described by h (validated as
 * ocp_dec_sum_head() does for protocol 30+) and literal data. max_out caps
 * the bytes written (0: no cap) else OCP_ETOOLONG. 0, OCP_ESUMHEAD or
 * -ENOMEM; release with ocp_delta_apply_free().
 */
int ocp_delta_apply_init(struct ocp_delta_apply *ap, const struct ocp_sum_head *h,
			 ocp_basis_read_fn read, void *read_arg, ocp_out_write_fn write,
			 void *write_arg, uint64_t max_out);
/* Write literal bytes. 0 or an error (writer's, OCP_ETOOLONG). */
int ocp_delta_apply_literal(void *ap, const uint8_t *data, size_t len);
/*
 * Copy basis block idx to the output and return its bytes in *data / *len
 * (valid until the next call). OCP_ESIG for idx outside 0..count-1.
 */
int ocp_delta_apply_block(void *ap, int32_t idx, const uint8_t **data, size_t *len);
/* Bytes written so far. */
static inline uint64_t
ocp_delta_apply_written(const struct ocp_delta_apply *ap)
{
	return ap->written;
}
/* Release the block buffer; safe twice. */
void ocp_delta_apply_free(struct ocp_delta_apply *ap);

#endif /* OCPROTO_DELTA_H */
