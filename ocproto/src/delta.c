/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Block signatures, the sender's matcher and the receiver's reconstruction
 * (upstream generator.c, match.c, receiver.c). See ocproto/delta.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ocproto/delta.h"
#include "ocproto/err.h"
#include "ocproto/int.h"

#define TRADITIONAL_TABLESIZE (1u << 16)

static uint32_t
sum_hash(const struct ocp_sig *sig, uint32_t sum)
{
	if (sig->tablesize == TRADITIONAL_TABLESIZE)
		return ((sum & 0xffff) + (sum >> 16)) & 0xffff;
	return sum % sig->tablesize;
}

/* Table sized for a load of about 80% (odd when above 64 Ki), as upstream's build_hash_table(). */
static uint32_t
table_size(int32_t count)
{
	uint32_t n = (uint32_t)(count / 8) * 10 + 11;

	return n < TRADITIONAL_TABLESIZE ? TRADITIONAL_TABLESIZE : n;
}

/* Allocate the per-block arrays and the hash table of a signature with head h. */
static int
sig_alloc(struct ocp_sig *sig, const struct ocp_sum_head *h)
{
	size_t n = (size_t)h->count;

	memset(sig, 0, sizeof(*sig));
	sig->head = *h;
	sig->tablesize = table_size(h->count);
	sig->sum1 = malloc((n ? n : 1) * sizeof(*sig->sum1));
	sig->chain = malloc((n ? n : 1) * sizeof(*sig->chain));
	sig->sum2 = malloc(n * (size_t)h->s2length + 1);
	/* A new file's signature has no blocks and is never searched: a
	 * one-slot table spares a 256 KiB fill per file. */
	sig->table = malloc((n ? (size_t)sig->tablesize : 1) * sizeof(*sig->table));
	if (!sig->sum1 || !sig->chain || !sig->sum2 || !sig->table) {
		ocp_sig_free(sig);
		return -ENOMEM;
	}
	return 0;
}

/* Chain every block into its hash slot; later blocks come first, as upstream. */
static void
sig_index(struct ocp_sig *sig)
{
	if (!sig->head.count) {
		sig->table[0] = -1;
		return;
	}
	memset(sig->table, 0xff, (size_t)sig->tablesize * sizeof(*sig->table));
	for (int32_t i = 0; i < sig->head.count; i++) {
		uint32_t t = sum_hash(sig, sig->sum1[i]);

		sig->chain[i] = sig->table[t];
		sig->table[t] = i;
	}
}

void
ocp_sig_free(struct ocp_sig *sig)
{
	free(sig->sum1);
	free(sig->sum2);
	free(sig->chain);
	free(sig->table);
	sig->sum1 = NULL;
	sig->sum2 = NULL;
	sig->chain = NULL;
	sig->table = NULL;
}

/* Head consistency beyond ocp_dec_sum_head(): no remainder without blocks, none equal to blength.
 */
static bool
head_consistent(const struct ocp_sum_head *h)
{
	if (h->count == 0)
		return h->remainder == 0;
	return h->remainder < h->blength;
}

int
ocp_sig_gen(struct ocp_sig *sig, const uint8_t *basis, size_t len, const struct ocp_sum_head *h,
	    enum ocp_csum t, int32_t seed, bool seed_fix)
{
	uint8_t full[OCP_CSUM_DIGEST_MAX];
	int dlen = ocp_csum_len(t);
	size_t off = 0;
	int rc;

	if (dlen < 0 || h->count < 0 || h->blength < 0 || h->s2length < 0 || h->s2length > dlen ||
	    h->remainder < 0 || (h->count > 0 && h->blength == 0) || !head_consistent(h))
		return -EINVAL;
	if ((uint64_t)(h->count - (h->remainder != 0)) * (uint64_t)h->blength +
		(uint64_t)h->remainder !=
	    (uint64_t)len)
		return -EINVAL;
	rc = sig_alloc(sig, h);
	if (rc < 0)
		return rc;
	sig->csum = t;
	sig->seed = seed;
	sig->seed_fix = seed_fix;
	for (int32_t i = 0; i < h->count; i++) {
		size_t bl = (size_t)ocp_sig_block_len(h, i);

		sig->sum1[i] = ocp_csum1(basis + off, bl);
		rc = ocp_csum2(t, basis + off, bl, seed, seed_fix, full);
		if (rc < 0) {
			ocp_sig_free(sig);
			return rc;
		}
		memcpy(sig->sum2 + (size_t)i * (size_t)h->s2length, full, (size_t)h->s2length);
		off += bl;
	}
	sig_index(sig);
	return 0;
}

size_t
ocp_sig_enc_size(const struct ocp_sig *sig)
{
	return OCP_SUM_HEAD_SIZE + (size_t)sig->head.count * (4 + (size_t)sig->head.s2length);
}

int
ocp_sig_enc(const struct ocp_sig *sig, uint8_t *out, size_t cap)
{
	size_t need = ocp_sig_enc_size(sig), s2 = (size_t)sig->head.s2length, p;

	if (cap < need || need > INT32_MAX)
		return -ENOBUFS;
	p = (size_t)ocp_enc_sum_head(out, cap, &sig->head);
	for (int32_t i = 0; i < sig->head.count; i++) {
		ocp_enc_int32(out + p, 4, (int32_t)sig->sum1[i]);
		memcpy(out + p + 4, sig->sum2 + (size_t)i * s2, s2);
		p += 4 + s2;
	}
	return (int)p;
}

int
ocp_sig_dec(struct ocp_sig *sig, const uint8_t *buf, size_t len, int protocol, enum ocp_csum t,
	    int32_t seed, bool seed_fix, size_t max_bytes)
{
	struct ocp_sum_head h;
	int dlen = ocp_csum_len(t);
	size_t s2, n, need, p, tb;
	int rc;

	if (dlen < 0)
		return -EINVAL;
	rc = ocp_dec_sum_head(buf, len, protocol, dlen, &h);
	if (rc <= 0)
		return rc;
	if (protocol < 30 || !head_consistent(&h))
		return protocol < 30 ? -EINVAL : OCP_ESIG;
	if (!max_bytes)
		max_bytes = OCP_DELTA_DEF_SIG_MAX;
	s2 = (size_t)h.s2length;
	n = (size_t)h.count;
	tb = (size_t)table_size(h.count) * 4;
	if (tb > max_bytes || n > (max_bytes - tb) / (12 + s2))
		return OCP_ETOOLONG;
	need = OCP_SUM_HEAD_SIZE + n * (4 + s2);
	if (need > INT32_MAX)
		return OCP_ETOOLONG;
	if (len < need)
		return 0;
	rc = sig_alloc(sig, &h);
	if (rc < 0)
		return rc;
	sig->csum = t;
	sig->seed = seed;
	sig->seed_fix = seed_fix;
	p = OCP_SUM_HEAD_SIZE;
	for (size_t i = 0; i < n; i++) {
		int32_t v;

		ocp_dec_int32(buf + p, 4, &v);
		sig->sum1[i] = (uint32_t)v;
		memcpy(sig->sum2 + i * s2, buf + p + 4, s2);
		p += 4 + s2;
	}
	sig_index(sig);
	return (int)need;
}

/*
 * The matcher's per-call state: upstream's last_match and the emit target;
 * with updating_basis, private copies of the hash index (entries the
 * receiver has overwritten are unlinked as they are passed) and upstream's
 * SUMFLG_SAME_OFFSET per block.
 */
struct match_ctx {
	const struct ocp_sig *sig;
	const uint8_t *data;
	size_t len;
	size_t last_match;
	ocp_delta_emit_fn emit;
	void *arg;
	struct ocp_match_stats *st;
	bool bound_alarms; /* skip a block after OCP_DELTA_MAX_ALARMS false alarms in a row */
	bool counts;	   /* upstream_counts: hash hits and false alarms */
	uint64_t *filter;  /* bit per hashed weak sum of some block; NULL: none */
	uint32_t fshift;   /* filter index: top bits of the sum times a constant */
	int32_t *table;	   /* updating_basis only */
	int32_t *chain;	   /* updating_basis only */
	uint8_t *same_off; /* updating_basis only: block seen unchanged at its own offset */
};

/* Emit the literal since last_match and token i; mirrors upstream `matched()`. */
static int
matched(struct match_ctx *m, size_t offset, int32_t i)
{
	size_t n = offset - m->last_match, bl = 0;
	int rc;

	if (i >= 0)
		bl = (size_t)ocp_sig_block_len(&m->sig->head, i);
	rc = m->emit(m->arg, m->data + m->last_match, n, i, i >= 0 ? m->data + offset : NULL, bl);
	if (rc)
		return rc;
	m->st->literal += n;
	if (i >= 0)
		m->st->matches++;
	m->last_match = offset + bl;
	return 0;
}

/* Does block i have weak sum `sum`, length l and strong sum equal to the one at off? */
static int
block_equal(struct match_ctx *m, int32_t i, uint32_t sum, size_t l, size_t off, uint8_t *sum2,
	    bool *have2)
{
	const struct ocp_sig *sig = m->sig;
	size_t s2 = (size_t)sig->head.s2length;

	if (sig->sum1[i] != sum || (size_t)ocp_sig_block_len(&sig->head, i) != l)
		return 0;
	if (!*have2) {
		int rc = ocp_csum2(sig->csum, m->data + off, l, sig->seed, sig->seed_fix, sum2);

		if (rc < 0)
			return rc;
		m->st->strong++;
		*have2 = true;
	}
	if (memcmp(sum2, sig->sum2 + (size_t)i * s2, s2) == 0)
		return 1;
	m->st->false_alarms += m->counts;
	return 0;
}

/*
 * Find a block equal to data[off..off+l) with weak sum `sum`: the wanted
 * (next) block first, then the hash chain, at most OCP_DELTA_MAX_CHAIN
 * entries. Returns the index, -1 for none, or a negative error below -1.
 */
static int32_t
find_block(struct match_ctx *m, uint32_t sum, size_t off, size_t l, int32_t want_i)
{
	const struct ocp_sig *sig = m->sig;
	uint8_t sum2[OCP_CSUM_DIGEST_MAX];
	bool have2 = false;
	int32_t i = sig->table[sum_hash(sig, sum)];
	int n = 0, rc;

	if (i < 0)
		return -1;
	if (want_i < sig->head.count) {
		rc = block_equal(m, want_i, sum, l, off, sum2, &have2);
		if (rc)
			return rc < 0 ? (rc == -1 ? -EIO : rc) : want_i;
	}
	for (; i >= 0 && n < OCP_DELTA_MAX_CHAIN; i = sig->chain[i], n++) {
		m->st->candidates++;
		rc = block_equal(m, i, sum, l, off, sum2, &have2);
		if (rc)
			return rc < 0 ? (rc == -1 ? -EIO : rc) : i;
	}
	return -1;
}

static bool block_is(const struct ocp_sig *sig, int32_t i, uint32_t sum, size_t l,
		     const uint8_t *sum2);

/*
 * find_block() in upstream's order, for upstream_counts: the chain from its
 * head, every entry of equal weak sum and length whose strong sum differs
 * counted as a false alarm (at most OCP_DELTA_MAX_CHAIN entries of equal
 * weak sum), then the wanted block preferred over the first match found.
 * The block found is the one find_block() finds.
 */
static int32_t
find_block_counted(struct match_ctx *m, uint32_t sum, size_t off, size_t l, int32_t want_i)
{
	const struct ocp_sig *sig = m->sig;
	uint8_t sum2[OCP_CSUM_DIGEST_MAX];
	bool have2 = false;
	int n = 0, rc;

	for (int32_t i = sig->table[sum_hash(sig, sum)]; i >= 0; i = sig->chain[i]) {
		if (sig->sum1[i] != sum)
			continue;
		if (++n > OCP_DELTA_MAX_CHAIN)
			break;
		m->st->candidates++;
		rc = block_equal(m, i, sum, l, off, sum2, &have2);
		if (rc < 0)
			return rc == -1 ? -EIO : rc;
		if (!rc)
			continue;
		if (i != want_i && want_i < sig->head.count && block_is(sig, want_i, sum, l, sum2))
			i = want_i;
		return i;
	}
	return -1;
}

/* Basis offset of block i. */
static uint64_t
block_off(const struct ocp_sig *sig, int32_t i)
{
	return (uint64_t)i * (uint64_t)sig->head.blength;
}

/* Does block i have weak sum `sum`, length l and the strong sum sum2? */
static bool
block_is(const struct ocp_sig *sig, int32_t i, uint32_t sum, size_t l, const uint8_t *sum2)
{
	size_t s2 = (size_t)sig->head.s2length;

	return sig->sum1[i] == sum && (size_t)ocp_sig_block_len(&sig->head, i) == l &&
	       memcmp(sum2, sig->sum2 + (size_t)i * s2, s2) == 0;
}

/*
 * Upstream's choice once block i matched data[*off..*off+l) with weak sum
 * `sum` and strong sum sum2, when updating the basis: the block at the
 * aligned offset (the first block boundary at or after *off) wins when it
 * holds the same data and either *off is that boundary or the data is a
 * full block of weak sum 0 (zeros) that also lies at the boundary, in
 * which case the match moves forward to the boundary. When a check fails,
 * `sum` and sum2 keep what the failed check computed and i stays the
 * aligned block if it was already taken, as upstream's variables do; the
 * wanted block is then tried with those values.
 */
static int32_t
settle_inplace(struct match_ctx *m, int32_t i, uint32_t sum, uint8_t *sum2, size_t l, size_t *off,
	       int32_t *want_i)
{
	const struct ocp_sig *sig = m->sig;
	uint64_t bl = (uint64_t)sig->head.blength;
	uint64_t aligned = (*off + bl - 1) / bl * bl, ai = aligned / bl;
	int rc;

	if ((*off == aligned || (sum == 0 && l == bl && aligned + l <= m->len)) &&
	    ai < (uint64_t)sig->head.count) {
		if (i != (int32_t)ai) {
			if (!block_is(sig, (int32_t)ai, sum, l, sum2))
				goto want;
			i = (int32_t)ai;
		}
		if (*off != aligned) {
			/* Zeros here and zeros at the boundary: send the gap as literal. */
			sum = ocp_csum1(m->data + aligned, l);
			if (sum != sig->sum1[i])
				goto want;
			rc = ocp_csum2(sig->csum, m->data + aligned, l, sig->seed, sig->seed_fix,
				       sum2);
			if (rc < 0)
				return rc == -1 ? -EIO : rc;
			m->st->strong++;
			if (!block_is(sig, i, sum, l, sum2))
				goto want;
			*off = (size_t)aligned;
		}
		m->same_off[i] = 1;
		*want_i = i;
	}
want:
	if (i != *want_i && *want_i < sig->head.count &&
	    (block_off(sig, *want_i) >= *off || m->same_off[*want_i]) &&
	    block_is(sig, *want_i, sum, l, sum2))
		i = *want_i;
	return i;
}

/*
 * find_block() when updating the basis, in upstream's order: walk the
 * chain, unlinking blocks before *off that were not seen unchanged at their
 * own offset (the receiver has overwritten them), take the first block
 * equal to the data, then settle_inplace(). At most OCP_DELTA_MAX_CHAIN
 * live entries are examined. May move *off forward (zero realignment).
 */
static int32_t
find_block_inplace(struct match_ctx *m, uint32_t sum, size_t *off, size_t l, int32_t *want_i)
{
	const struct ocp_sig *sig = m->sig;
	uint8_t sum2[OCP_CSUM_DIGEST_MAX];
	bool have2 = false;
	int32_t *prev = &m->table[sum_hash(sig, sum)];
	int n = 0, rc;

	for (int32_t i = *prev; i >= 0; i = m->chain[i]) {
		if (block_off(sig, i) < *off && !m->same_off[i]) {
			*prev = m->chain[i];
			continue;
		}
		prev = &m->chain[i];
		if (n++ >= OCP_DELTA_MAX_CHAIN)
			break;
		m->st->candidates++;
		rc = block_equal(m, i, sum, l, *off, sum2, &have2);
		if (rc < 0)
			return rc == -1 ? -EIO : rc;
		if (rc)
			return settle_inplace(m, i, sum, sum2, l, off, want_i);
	}
	return -1;
}

/*
 * A bit set with one bit per block's full weak sum (hashed into about 32
 * bits per block), so the search can tell at most offsets, from a small
 * table, that no block has the weak sum there, which is when find_block()
 * would walk the chain without computing a strong sum and return -1. It
 * replaces the hash table's and the block sums' cache misses at every
 * offset of literal data with one bit test. Not used when updating the
 * basis, where walking the chain also unlinks entries.
 */
static int
filter_build(struct match_ctx *m)
{
	const struct ocp_sig *sig = m->sig;
	uint32_t bits = 12;

	while (bits < 22 && (1u << bits) < (uint32_t)sig->head.count * 32u)
		bits++;
	m->filter = calloc((size_t)1 << (bits - 6), sizeof(*m->filter));
	if (!m->filter)
		return -ENOMEM;
	m->fshift = 32 - bits;
	for (int32_t i = 0; i < sig->head.count; i++) {
		uint32_t b = (sig->sum1[i] * 0x9E3779B1u) >> m->fshift;

		m->filter[b >> 6] |= (uint64_t)1 << (b & 63);
	}
	return 0;
}

static inline bool
filter_may_have(const struct match_ctx *m, uint32_t sum)
{
	uint32_t b = (sum * 0x9E3779B1u) >> m->fshift;

	return m->filter[b >> 6] >> (b & 63) & 1;
}

/* Slide-and-search over the whole of data; mirrors upstream `hash_search()`. */
static int
hash_search(struct match_ctx *m)
{
	const struct ocp_sum_head *h = &m->sig->head;
	const int8_t *sd = (const int8_t *)m->data;
	size_t len = m->len, offset = 0, k, bl = (size_t)h->blength;
	int64_t end = (int64_t)len + 1 - ocp_sig_block_len(h, h->count - 1);
	int32_t want_i = 0;
	uint32_t s1, s2, sum;
	int rc, alarms = 0;

	k = len < bl ? len : bl;
	sum = ocp_csum1(m->data, k);
	s1 = sum & 0xffff;
	s2 = sum >> 16;
	do {
		if (m->filter) {
			/*
			 * Roll through the offsets where nothing can happen: no
			 * block has the weak sum (find_block() would return -1
			 * without a strong sum), the window is whole, and no
			 * literal is due to be flushed. The loop below takes
			 * over at the first offset where any of that changes.
			 */
			size_t lim = (size_t)end, from = offset;

			if (len - k < lim)
				lim = len - k;
			if (offset >= m->last_match && m->last_match + bl + OCP_CHUNK_SIZE < lim)
				lim = m->last_match + bl + OCP_CHUNK_SIZE;
			while (offset < lim && !filter_may_have(m, (s1 & 0xffff) | (s2 << 16))) {
				uint32_t out = (uint32_t)(int32_t)sd[offset];

				s1 += (uint32_t)(int32_t)sd[offset + k] - out;
				s2 += s1 - (uint32_t)k * out;
				offset++;
			}
			if (offset != from) {
				m->st->positions += offset - from;
				alarms = 0;
				if ((int64_t)offset >= end)
					break;
			}
		}
		size_t l = len - offset < bl ? len - offset : bl;
		int32_t i;

		uint64_t strong = m->st->strong;

		m->st->positions++;
		sum = (s1 & 0xffff) | (s2 << 16);
		if (m->counts && (m->table ? m->table : m->sig->table)[sum_hash(m->sig, sum)] >= 0)
			m->st->hash_hits++;
		if (m->filter && !filter_may_have(m, sum)) {
			alarms = 0; /* no strong sum was tried here */
			goto roll;
		}
		if (m->same_off)
			i = find_block_inplace(m, sum, &offset, l, &want_i);
		else if (m->counts)
			i = find_block_counted(m, sum, offset, l, want_i);
		else
			i = find_block(m, sum, offset, l, want_i);
		if (i < -1)
			return i;
		/* A false alarm: the weak sum matched, every strong sum tried did not. */
		alarms = i == -1 && m->st->strong != strong ? alarms + 1 : 0;
		if (i >= 0 || (m->bound_alarms && alarms >= OCP_DELTA_MAX_ALARMS)) {
			size_t skip = bl;

			if (i >= 0) {
				want_i = i + 1;
				rc = matched(m, offset, i);
				if (rc)
					return rc;
				skip = (size_t)ocp_sig_block_len(h, i);
			} else if ((int64_t)(offset + skip) >= end) {
				break; /* no window left to try */
			} else {
				m->st->skips++;
			}
			offset += skip - 1;
			k = len - offset < bl ? len - offset : bl;
			sum = ocp_csum1(m->data + offset, k);
			s1 = sum & 0xffff;
			s2 = sum >> 16;
		}
	roll:
		/* Drop the window's first byte; add the next one if there is one. */
		s1 -= (uint32_t)(int32_t)sd[offset];
		s2 -= (uint32_t)k * (uint32_t)(int32_t)sd[offset];
		if (offset + k < len) {
			s1 += (uint32_t)(int32_t)sd[offset + k];
			s2 += s1;
		} else {
			k--;
		}
		if (offset >= m->last_match && offset - m->last_match >= bl + OCP_CHUNK_SIZE &&
		    end - (int64_t)offset > OCP_CHUNK_SIZE) {
			rc = matched(m, offset - bl, OCP_TOKEN_NONE);
			if (rc)
				return rc;
		}
	} while ((int64_t)++offset < end);
	return matched(m, len, OCP_TOKEN_END);
}

/* Private copies of the hash index for updating_basis; -ENOMEM. */
static int
inplace_index(struct match_ctx *m)
{
	const struct ocp_sig *sig = m->sig;
	size_t n = (size_t)sig->head.count, tb = (size_t)sig->tablesize * sizeof(*m->table);

	m->table = malloc(tb);
	m->chain = malloc(n * sizeof(*m->chain));
	m->same_off = calloc(n, 1);
	if (!m->table || !m->chain || !m->same_off)
		return -ENOMEM;
	memcpy(m->table, sig->table, tb);
	memcpy(m->chain, sig->chain, n * sizeof(*m->chain));
	return 0;
}

int
ocp_delta_match_ex(const struct ocp_sig *sig, const uint8_t *data, size_t len,
		   const struct ocp_match_opts *opts, ocp_delta_emit_fn emit, void *arg,
		   struct ocp_match_stats *stats)
{
	static const struct ocp_match_opts none;
	struct ocp_match_stats dummy;
	struct match_ctx m = {
	    .sig = sig,
	    .data = data,
	    .len = len,
	    .emit = emit,
	    .arg = arg,
	    .st = stats ? stats : &dummy,
	};
	bool search;
	int rc;

	if (!opts)
		opts = &none;
	if ((unsigned)opts->append > OCP_APPEND_VERIFY || (!sig && opts->append == OCP_APPEND_OFF))
		return -EINVAL;
	memset(m.st, 0, sizeof(*m.st));
	m.bound_alarms = opts->bound_false_alarms;
	m.counts = opts->upstream_counts;
	if (opts->append != OCP_APPEND_OFF) {
		/* Upstream clamps a claimed length past our data and drops the block sums. */
		m.last_match = opts->append_len < len ? (size_t)opts->append_len : len;
		search = false;
	} else {
		search = len > 0 && sig->head.count > 0;
	}
	if (search) {
		/* Counting hash hits needs the table at every offset: no filter. */
		rc = opts->updating_basis ? inplace_index(&m) : m.counts ? 0 : filter_build(&m);
		if (!rc)
			rc = hash_search(&m);
		free(m.filter);
		free(m.table);
		free(m.chain);
		free(m.same_off);
		return rc;
	}
	for (size_t j = m.last_match + OCP_CHUNK_SIZE; j < len; j += OCP_CHUNK_SIZE) {
		rc = matched(&m, j, OCP_TOKEN_NONE);
		if (rc)
			return rc;
	}
	return matched(&m, len, OCP_TOKEN_END);
}

int
ocp_delta_match(const struct ocp_sig *sig, const uint8_t *data, size_t len, ocp_delta_emit_fn emit,
		void *arg, struct ocp_match_stats *stats)
{
	return ocp_delta_match_ex(sig, data, len, NULL, emit, arg, stats);
}

int
ocp_basis_mem_read(void *arg, uint64_t off, uint8_t *buf, size_t len)
{
	const struct ocp_basis_mem *b = arg;

	if (off > b->len || len > b->len - off)
		return OCP_ESIG;
	memcpy(buf, b->data + off, len);
	return 0;
}

int
ocp_delta_apply_init_ex(struct ocp_delta_apply *ap, const struct ocp_sum_head *h,
			ocp_basis_read_fn read, void *read_arg, ocp_out_write_fn write,
			void *write_arg, const struct ocp_apply_opts *o)
{
	static const struct ocp_apply_opts none;

	if (!o)
		o = &none;
	if (h->count < 0 || h->blength < 0 || h->blength > OCP_MAX_BLOCK_SIZE || h->s2length < 0 ||
	    h->remainder < 0 || h->remainder > h->blength || (h->count > 0 && h->blength == 0))
		return OCP_ESUMHEAD;
	if (o->max_out && o->start > o->max_out)
		return OCP_ETOOLONG;
	memset(ap, 0, sizeof(*ap));
	ap->head = *h;
	ap->read = read;
	ap->view = o->view;
	ap->read_arg = read_arg;
	ap->write = write;
	ap->skip = o->skip;
	ap->write_arg = write_arg;
	ap->start = o->start;
	ap->max_out = o->max_out;
	ap->blk = malloc((size_t)h->blength + 1);
	return ap->blk ? 0 : -ENOMEM;
}

int
ocp_delta_apply_init(struct ocp_delta_apply *ap, const struct ocp_sum_head *h,
		     ocp_basis_read_fn read, void *read_arg, ocp_out_write_fn write,
		     void *write_arg, uint64_t max_out)
{
	struct ocp_apply_opts o = {.max_out = max_out};

	return ocp_delta_apply_init_ex(ap, h, read, read_arg, write, write_arg, &o);
}

int
ocp_delta_apply_sum_prefix(struct ocp_delta_apply *ap, struct ocp_csum_ctx *sum)
{
	uint8_t *buf = ap->start ? malloc(OCP_CHUNK_SIZE) : NULL;
	uint64_t off = 0;
	int rc = ap->start && !buf ? -ENOMEM : 0;

	while (!rc && off < ap->start) {
		size_t n =
		    ap->start - off < OCP_CHUNK_SIZE ? (size_t)(ap->start - off) : OCP_CHUNK_SIZE;

		rc = ap->read(ap->read_arg, off, buf, n);
		if (rc)
			rc = rc < 0 ? rc : -EIO;
		else
			rc = ocp_csum_update(sum, buf, n);
		off += n;
	}
	free(buf);
	return rc;
}

/* Account for n more output bytes against the cap (which counts from offset 0). */
static int
apply_reserve(struct ocp_delta_apply *ap, size_t n)
{
	uint64_t at = ap->start + ap->written;

	if (ap->max_out && (n > ap->max_out || at > ap->max_out - n))
		return OCP_ETOOLONG;
	ap->written += n;
	return 0;
}

int
ocp_delta_apply_literal(void *arg, const uint8_t *data, size_t len)
{
	struct ocp_delta_apply *ap = arg;
	int rc = apply_reserve(ap, len);

	return rc ? rc : len ? ap->write(ap->write_arg, data, len) : 0;
}

int
ocp_delta_apply_block(void *arg, int32_t idx, const uint8_t **data, size_t *len)
{
	struct ocp_delta_apply *ap = arg;
	uint64_t src, at = ocp_delta_apply_offset(ap);
	size_t bl;
	int rc;

	if (idx < 0 || idx >= ap->head.count)
		return OCP_ESIG;
	bl = (size_t)ocp_sig_block_len(&ap->head, idx);
	rc = apply_reserve(ap, bl);
	if (rc)
		return rc;
	src = (uint64_t)idx * (uint64_t)ap->head.blength;
	if (ap->view) {
		rc = ap->view(ap->read_arg, src, bl, data);
	} else {
		rc = ap->read(ap->read_arg, src, ap->blk, bl);
		*data = ap->blk;
	}
	if (rc)
		return rc < 0 ? rc : -EIO;
	*len = bl;
	if (ap->skip && src == at)
		return ap->skip(ap->write_arg, *data, bl);
	return ap->write(ap->write_arg, *data, bl);
}

void
ocp_delta_apply_free(struct ocp_delta_apply *ap)
{
	free(ap->blk);
	ap->blk = NULL;
}
