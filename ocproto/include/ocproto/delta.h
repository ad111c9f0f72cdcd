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
#define OCP_DELTA_MAX_ALARMS  4		   /* bound_false_alarms: false alarms in a row */

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
	uint64_t skips;	     /* blocks skipped after false alarms (bound_false_alarms) */
	/* with ocp_match_opts.upstream_counts only, else 0: */
	uint64_t hash_hits;    /* offsets whose hash slot held a block (upstream hash_hits) */
	uint64_t false_alarms; /* blocks of equal weak sum and length, other strong sum */
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

/* Upstream append_mode: --append (1) and --append-verify (2). */
enum ocp_append {
	OCP_APPEND_OFF = 0,
	OCP_APPEND = 1,	       /* the whole-file sum covers only the appended bytes */
	OCP_APPEND_VERIFY = 2, /* the whole-file sum covers the kept prefix too */
};

/*
 * The receiver's current length that an append-mode sum head describes:
 * count * blength, less what the short last block lacks. The generator
 * sends only the head (no block sums) for --append; mirrors the flength
 * of upstream `receive_sums()` and `receive_data()`.
 */
static inline uint64_t
ocp_sum_head_flength(const struct ocp_sum_head *h)
{
	uint64_t n = (uint64_t)(uint32_t)h->count * (uint64_t)(uint32_t)h->blength;

	if (h->count > 0 && h->remainder)
		n -= (uint64_t)(h->blength - h->remainder);
	return n;
}

/*
 * Sender modes of ocp_delta_match_ex(); all zero is ocp_delta_match().
 *
 * updating_basis: the receiver rebuilds the file in its basis file itself
 * (upstream `updating_basis_file`: --inplace with the destination as the
 * basis, or an --inplace-partial partial-dir file). Only blocks the
 * receiver has not overwritten yet are used: those at or after the current
 * offset, and those already found unchanged at their own offset; a block
 * at its own offset is preferred, and a run of zeros is realigned onto the
 * basis's block grid.
 *
 * append: upstream `append_mode` > 0. The first append_len bytes (the
 * ocp_sum_head_flength() of the generator's head, clamped to the data's
 * length) are neither matched nor sent; the rest goes as literal data,
 * as upstream does after setting the block count to 0. No block sums are
 * read in this mode, so sig is not used and may be NULL.
 *
 * bound_false_alarms: after OCP_DELTA_MAX_ALARMS offsets in a row whose
 * weak sum matched a block but no strong sum did, skip a block length
 * (those bytes go as literal), as Debian's rsync 3.5.0+ds1-0+deb12u1 does
 * (its fix for CVE-2026-119741, sender CPU spent on crafted sums; not in
 * upstream's 3.5.0 source). Inferred from that binary's output: equal to
 * it without updating_basis; in place, that binary also walks the hash
 * chain differently (it passes some blocks equal to others), which is
 * not modelled. Off by default.
 *
 * upstream_counts: fill the stats' hash_hits and false_alarms as upstream's
 * match.c counts them (its -vv "total:" line). That takes a hash-table
 * probe at every offset and the chain walked in upstream's order, so the
 * search is slower; the tokens are the same.
 */
struct ocp_match_opts {
	bool updating_basis;
	enum ocp_append append;
	uint64_t append_len;
	bool bound_false_alarms;
	bool upstream_counts;
};

/*
 * ocp_delta_match() with the modes of opts (NULL: none); mirrors upstream
 * `match_sums()` and `hash_search()`. With updating_basis the matcher
 * keeps per-call copies of the hash index, so sig stays read-only and
 * shareable. 0, the first non-zero emit result, -EINVAL (no sig outside
 * append mode, or an unknown append value), -ENOMEM or a checksum error.
 */
int ocp_delta_match_ex(const struct ocp_sig *sig, const uint8_t *data, size_t len,
		       const struct ocp_match_opts *opts, ocp_delta_emit_fn emit, void *arg,
		       struct ocp_match_stats *stats);

/*
 * Where the sender's whole-file sum (sent after the tokens) starts in
 * data[0..len): append_len clamped to len for OCP_APPEND, else 0, so the
 * sum is ocp_csum_file(t, data + from, len - from); mirrors the sum_update
 * calls of upstream `match_sums()`. opts may be NULL.
 */
static inline size_t
ocp_match_sum_from(const struct ocp_match_opts *opts, size_t len)
{
	if (!opts || opts->append != OCP_APPEND)
		return 0;
	return opts->append_len < len ? (size_t)opts->append_len : len;
}

/* Read exactly len bytes of the basis at off into buf: 0 or a negative error. */
typedef int (*ocp_basis_read_fn)(void *arg, uint64_t off, uint8_t *buf, size_t len);
/* Write len bytes of the new file: 0 or a negative error. */
typedef int (*ocp_out_write_fn)(void *arg, const uint8_t *buf, size_t len);
/*
 * Point *p at len bytes of the basis at off, held by the caller (valid until
 * the next call, or longer as the caller promises itself): 0 or a negative
 * error. Lets a reader with its own buffer hand blocks over without a copy.
 */
typedef int (*ocp_basis_view_fn)(void *arg, uint64_t off, size_t len, const uint8_t **p);

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
	ocp_basis_view_fn view; /* NULL: read into blk */
	void *read_arg;
	ocp_out_write_fn write;
	ocp_out_write_fn skip; /* NULL unless the output is the basis itself */
	void *write_arg;
	uint8_t *blk;	  /* one block of basis */
	uint64_t start;	  /* output offset of the first token's bytes */
	uint64_t written; /* bytes the tokens produced */
	uint64_t max_out; /* cap on start + written; 0: none */
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

/*
 * Receiver modes of ocp_delta_apply_init_ex(); all zero is
 * ocp_delta_apply_init() with no cap.
 *
 * start: output offset where the tokens begin: ocp_sum_head_flength(h) in
 * append mode (the receiver keeps its first start bytes and writes after
 * them), else 0. Block references still read the basis at idx * blength.
 *
 * skip: non-NULL when the output is the basis file itself (upstream
 * `updating_basis_or_equiv`: --inplace with the destination as basis). A
 * block whose basis offset equals the current output offset is then passed
 * to skip instead of write: those bytes are already in place, so the caller
 * only moves its position (and still feeds its whole-file sum); called
 * with write_arg, as upstream's `skip_matched()`.
 *
 * max_out: cap on start plus the bytes the tokens produce (0: none).
 *
 * view: when set, blocks are taken from view(read_arg, ...) instead of
 * being read into the state's own block buffer; read is still used for
 * the append-verify prefix.
 */
struct ocp_apply_opts {
	uint64_t start;
	ocp_out_write_fn skip;
	uint64_t max_out;
	ocp_basis_view_fn view;
};

/*
 * ocp_delta_apply_init() with the modes of o (NULL: none). 0, OCP_ESUMHEAD,
 * OCP_ETOOLONG (start over max_out) or -ENOMEM; release with
 * ocp_delta_apply_free().
 */
int ocp_delta_apply_init_ex(struct ocp_delta_apply *ap, const struct ocp_sum_head *h,
			    ocp_basis_read_fn read, void *read_arg, ocp_out_write_fn write,
			    void *write_arg, const struct ocp_apply_opts *o);

/*
 * Append-verify: feed basis[0, start) to sum, read through the basis
 * reader in OCP_CHUNK_SIZE pieces, before the first token; mirrors the
 * prefix loop of upstream `receive_data()` (which runs it only when a
 * basis is open). 0, -ENOMEM, the reader's error or the sum's.
 */
int ocp_delta_apply_sum_prefix(struct ocp_delta_apply *ap, struct ocp_csum_ctx *sum);

/* Write literal bytes. 0 or an error (writer's, OCP_ETOOLONG). */
int ocp_delta_apply_literal(void *ap, const uint8_t *data, size_t len);
/*
 * Copy basis block idx to the output (to skip instead when it lands at its
 * own offset, see struct ocp_apply_opts) and return its bytes in *data /
 * *len (valid until the next call). OCP_ESIG for idx outside 0..count-1.
 */
int ocp_delta_apply_block(void *ap, int32_t idx, const uint8_t **data, size_t *len);
/* Bytes the tokens produced so far (literal plus blocks, skipped ones included). */
static inline uint64_t
ocp_delta_apply_written(const struct ocp_delta_apply *ap)
{
	return ap->written;
}
/* Current output offset: start plus the bytes produced. */
static inline uint64_t
ocp_delta_apply_offset(const struct ocp_delta_apply *ap)
{
	return ap->start + ap->written;
}
/* Release the block buffer; safe twice. */
void ocp_delta_apply_free(struct ocp_delta_apply *ap);

#endif /* OCPROTO_DELTA_H */
