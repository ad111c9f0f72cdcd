/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_ocproto.c - ocproto's checksums and delta algorithm side by side
 * with their peers, in one run:
 *
 *   rolling   ocp_csum1, ocp_rsum_roll at every offset, and the matcher's
 *             scan over data that matches nothing, against memcpy of the
 *             same buffer (memory bandwidth)
 *   strong    each strong sum through ocp_csum2 on 700 B and 8 KiB blocks
 *             and ocp_csum_file on the whole buffer, against the same
 *             library called directly the way upstream rsync calls it
 *   delta     ocp_sig_gen + ocp_delta_match on a 256 MiB file with 1% of
 *             its blocks changed, against `rsync --only-write-batch` on the
 *             same pair of files (the headline, target <= 0.7x), and an
 *             ordinary local rsync delta transfer as context
 *
 * Fairness rules, kept here so a reader can check them: both sides use the
 * block size rule of protocol 32 (ocp_sum_sizes) and the strong sum rsync
 * uses for that command (md5 for a batch: upstream negotiates an old-style
 * choice whenever it writes one; xxh128 for a plain local transfer); the
 * files sit on tmpfs when there is room; within a round every side runs
 * once, back to back, and ratios pair those runs. Our delta is rebuilt and
 * compared with the new file, and rsync's batch must be a delta (its size),
 * so a side that skips work fails instead of looking fast.
 * bench/README.md says how to read the output.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/provider.h>
#include <xxhash.h>

#include "ocproto/csum.h"
#include "ocproto/delta.h"
#include "ocproto/err.h"
#include "ocproto/negotiate.h"
#include "bench_util.h"

#define MiB	     (1024u * 1024u)
#define MAX_RUNS     15
#define PROTOCOL     OCP_PROTOCOL_MAX /* rsync 3.5.0 speaks 32 */
#define DATA_SEED    0x6f6370726f746fULL
#define CSUM_SEED    0x5eed1234 /* any non-zero seed: rsync's is time-based */
#define CHANGE_PCT   1		/* percent of blocks changed */
#define CHANGE_BYTES 8		/* at most this many bytes changed per block */
#define DELTA_TARGET 0.7	/* ours / rsync --only-write-batch, at most */
#define BASE_MAX     1024	/* longest folder for the delta files */
#define PATH_LEN     (BASE_MAX + 64)

extern char **environ;

static const enum ocp_csum strong_algs[] = {OCP_CSUM_MD4,   OCP_CSUM_MD5,  OCP_CSUM_SHA1,
					    OCP_CSUM_XXH64, OCP_CSUM_XXH3, OCP_CSUM_XXH128};
#define NALGS  (sizeof(strong_algs) / sizeof(strong_algs[0]))
#define NSIZES 3 /* 700 B blocks, 8 KiB blocks, the whole buffer */
static const size_t block_sizes[NSIZES] = {700, 8192, 0};

struct stat3 {
	double v[MAX_RUNS];
	unsigned n;
	double med, min, max;
};

static void
summarize(struct stat3 *s)
{
	double tmp[MAX_RUNS];

	if (!s->n) {
		s->med = s->min = s->max = NAN;
		return;
	}
	memcpy(tmp, s->v, s->n * sizeof(tmp[0]));
	s->med = median(tmp, s->n);
	s->min = tmp[0];
	s->max = tmp[s->n - 1];
}

/* Median of a[i] / b[i] over the rounds both have. */
static double
paired_ratio(const struct stat3 *a, const struct stat3 *b)
{
	double r[MAX_RUNS];
	unsigned n = a->n < b->n ? a->n : b->n;

	for (unsigned i = 0; i < n; i++)
		r[i] = a->v[i] / b->v[i];
	return n ? median(r, n) : NAN;
}

/* --- throughput cases ------------------------------------------------------ */

enum tkind {
	T_MEMCPY,
	T_CSUM1,  /* ocp_csum1 over pieces of `block` bytes (0: one call) */
	T_ROLL,	  /* ocp_rsum_roll at every offset */
	T_SCAN,	  /* ocp_delta_match over data no block matches */
	T_OCP,	  /* ocp_csum2 per block, or ocp_csum_file when block is 0 */
	T_DIRECT, /* the library called directly, as upstream does */
};

struct tcase {
	enum tkind kind;
	enum ocp_csum alg;
	size_t block;
	const char *name;
	unsigned reps; /* passes over the buffer per measurement */
	const char *error;
	struct stat3 gbs; /* GB/s per round */
};

/* Upstream's get_checksum2() keeps one EVP context and re-inits it per block. */
struct direct {
	EVP_MD_CTX *ctx;
	const EVP_MD *md[OCP_CSUM_COUNT];
	EVP_MD *md4; /* fetched from a private context with the legacy provider */
	OSSL_LIB_CTX *lc;
	OSSL_PROVIDER *legacy;
};

struct tput {
	uint8_t *buf, *dst;
	size_t len;
	struct ocp_sig scan_sig; /* of unrelated data: the scan finds no match */
	struct direct d;
	uint64_t sink;
	struct tcase roll[6];
	unsigned nroll;
	struct tcase strong[NALGS][NSIZES][2]; /* [alg][size][ocp, direct] */
	double others[2];
};

/* --- the delta case ---------------------------------------------------------- */

struct dtimes {
	double read, sig, match, fsum; /* wall seconds */
	double cpu_sig, cpu_match, cpu_all;
};

/* One measured row of the delta table: wall and CPU seconds per round. */
struct drow {
	struct stat3 wall, cpu;
	struct stat3 sys; /* rsync only: the system part of cpu */
};

/* Our rows in the delta table, in the order of our_row_name[]. */
enum { R_SIG, R_MATCH, R_HEAD, R_READ, R_FSUM, R_ALL, R_NOURS };

struct rsync_result {
	long long literal, matched; /* from --stats; -1 when not found */
	long long batch;	    /* batch file bytes; -1 for the plain transfer */
};

struct delta {
	size_t len;
	char dir[BASE_MAX + 32];
	char old_path[PATH_LEN], new_path[PATH_LEN];
	char batch_path[PATH_LEN], batch_sh[PATH_LEN], stats_path[PATH_LEN];
	char src_dir[PATH_LEN], dst_dir[PATH_LEN];
	bool tmpfs;
	uint8_t *old_img, *new_img; /* as generated, kept to restore and check */
	uint8_t *old_buf, *new_buf; /* what our side reads the files into */
	struct ocp_sum_head head;
	int32_t changed;
	struct ocp_match_stats mstats[2];
	struct rsync_result rs[2];
	struct drow ours[2][R_NOURS]; /* [md5, xxh128] */
	struct drow rsync[2];	      /* [--only-write-batch, plain] */
	double others;
};

static const enum ocp_csum delta_alg[2] = {OCP_CSUM_MD5, OCP_CSUM_XXH128};

struct bench {
	const char *out;
	const char *tmp;
	bool quick;
	unsigned runs;
	double target_s;
	char rsync_version[128];
	struct tput t;
	struct delta d;
	unsigned failures;
};

/* The scratch folder, for the exit and signal paths: 2 x 256 MiB of tmpfs
 * must not outlive a failed or interrupted run. */
static struct delta *scratch;

static void
scratch_remove(void)
{
	if (!scratch)
		return;
	unlink(scratch->old_path);
	unlink(scratch->new_path);
	unlink(scratch->batch_path);
	unlink(scratch->batch_sh);
	unlink(scratch->stats_path);
	rmdir(scratch->src_dir);
	rmdir(scratch->dst_dir);
	rmdir(scratch->dir);
	scratch = NULL;
}

static void
on_signal(int sig)
{
	scratch_remove();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
die(const char *what, int err)
{
	fprintf(stderr, "bench_ocproto: %s: %s\n", what, strerror(err));
	exit(1);
}

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* splitmix64: a fixed stream, so every run changes the same bytes. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v = rnd(&seed);

		memcpy(p + i, &v, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)rnd(&seed);
}

static uint8_t *
alloc_touched(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (!p)
		die("allocating buffers", ENOMEM);
	memset(p, 0, len); /* fault the pages in before any clock runs */
	return p;
}

/* --- direct library calls (the strong-sum peers) ----------------------------- */

static int
direct_init(struct direct *d)
{
	memset(d, 0, sizeof(*d));
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx)
		return -ENOMEM;
	d->md[OCP_CSUM_MD5] = EVP_md5();
	d->md[OCP_CSUM_SHA1] = EVP_sha1();
	d->lc = OSSL_LIB_CTX_new();
	if (d->lc)
		d->legacy = OSSL_PROVIDER_load(d->lc, "legacy");
	if (d->legacy)
		d->md4 = EVP_MD_fetch(d->lc, "MD4", NULL);
	d->md[OCP_CSUM_MD4] = d->md4;
	return 0;
}

static void
direct_free(struct direct *d)
{
	EVP_MD_CTX_free(d->ctx);
	EVP_MD_free(d->md4);
	/* freeing the context alone leaves the provider's allocations behind */
	if (d->legacy)
		OSSL_PROVIDER_unload(d->legacy);
	OSSL_LIB_CTX_free(d->lc);
}

static void
put_le64(uint8_t *out, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/*
 * One sum as upstream computes it: block sums seeded (md5 seed first, as
 * with CF_CHKSUM_SEED_FIX; sha1 first; md4 last; xxh as the hash seed),
 * whole-buffer sums unseeded. 0, or -EIO when OpenSSL fails.
 */
static int
direct_sum(struct direct *d, enum ocp_csum t, const uint8_t *p, size_t n, bool seeded, uint8_t *out)
{
	uint64_t xseed = seeded ? (uint64_t)(int64_t)CSUM_SEED : 0;
	uint8_t sb[4] = {(uint8_t)CSUM_SEED, (uint8_t)(CSUM_SEED >> 8), (uint8_t)(CSUM_SEED >> 16),
			 (uint8_t)(CSUM_SEED >> 24)};
	bool before = t != OCP_CSUM_MD4;
	int ok;

	switch (t) {
	case OCP_CSUM_XXH64:
		put_le64(out, XXH64(p, n, xseed));
		return 0;
	case OCP_CSUM_XXH3:
		put_le64(out, XXH3_64bits_withSeed(p, n, xseed));
		return 0;
	case OCP_CSUM_XXH128: {
		XXH128_hash_t h = XXH3_128bits_withSeed(p, n, xseed);

		put_le64(out, h.low64);
		put_le64(out + 8, h.high64);
		return 0;
	}
	default:
		break;
	}
	ok = EVP_DigestInit_ex(d->ctx, d->md[t], NULL);
	if (seeded && before)
		ok &= EVP_DigestUpdate(d->ctx, sb, 4);
	ok &= EVP_DigestUpdate(d->ctx, p, n);
	if (seeded && !before)
		ok &= EVP_DigestUpdate(d->ctx, sb, 4);
	ok &= EVP_DigestFinal_ex(d->ctx, out, NULL);
	return ok ? 0 : -EIO;
}

/* --- throughput: one pass over the buffer per case ---------------------------- */

static int
sink_discard(void *arg, const uint8_t *lit, size_t lit_len, int32_t token, const uint8_t *blk,
	     size_t blk_len)
{
	uint64_t *sink = arg;

	(void)lit;
	(void)blk;
	*sink += lit_len + blk_len + (uint64_t)(token >= 0);
	return 0;
}

/* Pass once over the whole buffer; 0 or a negative error. */
static int
tpass(struct tput *t, const struct tcase *c)
{
	uint8_t out[OCP_CSUM_DIGEST_MAX];
	const uint8_t *p = t->buf;
	size_t len = t->len, bs = c->block;
	int rc = 0;

	switch (c->kind) {
	case T_MEMCPY:
		memcpy(t->dst, p, len);
		t->sink += t->dst[len / 2];
		return 0;
	case T_CSUM1:
		if (!bs) {
			t->sink += ocp_csum1(p, len);
			return 0;
		}
		for (size_t off = 0; off + bs <= len; off += bs)
			t->sink += ocp_csum1(p + off, bs);
		return 0;
	case T_ROLL: {
		struct ocp_rsum r;
		uint32_t acc = 0;

		ocp_rsum_init(&r, p, bs);
		for (size_t i = 0; i + bs < len; i++) {
			ocp_rsum_roll(&r, p[i], p[i + bs]);
			acc ^= ocp_rsum_value(&r);
		}
		t->sink += acc;
		return 0;
	}
	case T_SCAN:
		return ocp_delta_match(&t->scan_sig, p, len, sink_discard, &t->sink, NULL);
	case T_OCP:
		if (!bs) {
			rc = ocp_csum_file(c->alg, p, len, out);
			t->sink += out[0];
			return rc < 0 ? rc : 0;
		}
		for (size_t off = 0; off + bs <= len && rc >= 0; off += bs) {
			rc = ocp_csum2(c->alg, p + off, bs, CSUM_SEED, true, out);
			t->sink += out[0];
		}
		return rc < 0 ? rc : 0;
	case T_DIRECT:
		if (!bs) {
			rc = direct_sum(&t->d, c->alg, p, len, false, out);
			t->sink += out[0];
			return rc;
		}
		for (size_t off = 0; off + bs <= len && !rc; off += bs) {
			rc = direct_sum(&t->d, c->alg, p + off, bs, true, out);
			t->sink += out[0];
		}
		return rc;
	}
	return -EINVAL;
}

/* Bytes one pass covers (whole blocks only for the per-block cases). */
static size_t
tbytes(const struct tput *t, const struct tcase *c)
{
	if (c->kind == T_ROLL)
		return t->len - c->block;
	if ((c->kind == T_CSUM1 || c->kind == T_OCP || c->kind == T_DIRECT) && c->block)
		return t->len / c->block * c->block;
	return t->len;
}

static int
tmeasure(struct tput *t, const struct tcase *c, unsigned reps, double *secs)
{
	double t0 = bench_mono_s();
	int rc;

	for (unsigned i = 0; i < reps; i++) {
		rc = tpass(t, c);
		if (rc)
			return rc;
	}
	*secs = bench_mono_s() - t0;
	return 0;
}

/* Warm up once and choose the passes per measurement so one lasts target_s. */
static void
tcalibrate(struct bench *b, struct tcase *c)
{
	double s;
	int rc;

	if (c->kind == T_DIRECT && c->alg == OCP_CSUM_MD4 && !b->t.d.md4) {
		c->error = "md4 not available";
		return;
	}
	rc = tmeasure(&b->t, c, 1, &s);
	if (rc == OCP_ENOTSUP) {
		c->error = "not supported";
		return;
	}
	if (rc) {
		c->error = "failed";
		b->failures++;
		return;
	}
	c->reps = s >= b->target_s ? 1 : (unsigned)(b->target_s / (s > 1e-6 ? s : 1e-6)) + 1;
	if (c->reps > 1000)
		c->reps = 1000;
}

/* Round r: every case once, in order, so drift hits them all alike. */
static void
tround(struct bench *b, struct tcase *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		double s;

		if (c[i].error)
			continue;
		if (tmeasure(&b->t, &c[i], c[i].reps, &s)) {
			c[i].error = "failed";
			b->failures++;
			continue;
		}
		c[i].gbs.v[c[i].gbs.n++] = (double)tbytes(&b->t, &c[i]) * c[i].reps / s / 1e9;
	}
}

static void
fmt_gbs(char *buf, size_t n, const struct tcase *c)
{
	if (c->error)
		snprintf(buf, n, "%s", c->error);
	else
		snprintf(buf, n, "%.2f (%.2f..%.2f)", c->gbs.med, c->gbs.min, c->gbs.max);
}

static void
fmt_ratio(char *buf, size_t n, double x)
{
	if (x == x)
		snprintf(buf, n, "%.2fx", x);
	else
		snprintf(buf, n, "-");
}

static void
run_rolling(struct bench *b)
{
	struct tput *t = &b->t;
	struct bench_host_window w;
	struct ocp_sum_head h;
	uint8_t *other;
	int rc;

	/* the window of the matcher over a file of this size */
	if ((rc = ocp_sum_sizes((int64_t)t->len, PROTOCOL, 0, 16, false, &h)))
		die("ocp_sum_sizes", -rc);
	other = alloc_touched(t->len);
	fill_random(other, t->len, DATA_SEED ^ 1);
	rc = ocp_sig_gen(&t->scan_sig, other, t->len, &h, OCP_CSUM_XXH128, CSUM_SEED, true);
	free(other);
	if (rc)
		die("ocp_sig_gen", -rc);

	t->roll[0] = (struct tcase){.kind = T_MEMCPY, .name = "memcpy (peer)"};
	t->roll[1] = (struct tcase){.kind = T_CSUM1, .block = 0, .name = "ocp_csum1, one call"};
	t->roll[2] =
	    (struct tcase){.kind = T_CSUM1, .block = 700, .name = "ocp_csum1, 700 B blocks"};
	t->roll[3] =
	    (struct tcase){.kind = T_CSUM1, .block = 8192, .name = "ocp_csum1, 8 KiB blocks"};
	t->roll[4] = (struct tcase){
	    .kind = T_ROLL, .block = (size_t)h.blength, .name = "ocp_rsum_roll, every offset"};
	t->roll[5] = (struct tcase){
	    .kind = T_SCAN, .block = (size_t)h.blength, .name = "matcher scan, no match"};
	t->nroll = 6;

	printf("\nRolling checksum vs memory bandwidth: GB/s over a %zu MiB buffer, HIGHER is "
	       "better;\nmedian (min..max) of %u rounds; x/memcpy = median of per-round ratios.\n"
	       "roll and scan slide a %d B window (the block length for this size) one byte at\n"
	       "a time; scan is ocp_delta_match against a signature of unrelated data, so it\n"
	       "rolls, looks up the hash table and emits literals at every offset.\n\n",
	       t->len / MiB, b->runs, h.blength);
	bench_host_begin(&w);
	for (unsigned i = 0; i < t->nroll; i++)
		tcalibrate(b, &t->roll[i]);
	for (unsigned r = 0; r < b->runs; r++)
		tround(b, t->roll, t->nroll);
	printf("%-30s %-22s %s\n", "case", "GB/s", "x/memcpy");
	for (unsigned i = 0; i < t->nroll; i++) {
		char v[48], x[16];

		summarize(&t->roll[i].gbs);
		fmt_gbs(v, sizeof(v), &t->roll[i]);
		fmt_ratio(x, sizeof(x), i ? paired_ratio(&t->roll[i].gbs, &t->roll[0].gbs) : NAN);
		printf("%-30s %-22s %s\n", t->roll[i].name, v, i ? x : "");
	}
	t->others[0] = bench_host_others(&w);
	if (t->others[0] == t->others[0])
		printf("host: other processes used %.0f%% of the CPUs during this table\n",
		       100 * t->others[0]);
}

static void
run_strong(struct bench *b)
{
	struct tput *t = &b->t;
	struct bench_host_window w;
	struct tcase *flat[NALGS * NSIZES * 2];
	unsigned n = 0;

	for (size_t a = 0; a < NALGS; a++) {
		for (size_t s = 0; s < NSIZES; s++) {
			for (int k = 0; k < 2; k++) {
				struct tcase *c = &t->strong[a][s][k];

				*c = (struct tcase){.kind = k ? T_DIRECT : T_OCP,
						    .alg = strong_algs[a],
						    .block = block_sizes[s],
						    .name = ocp_csum_name(strong_algs[a])};
				flat[n++] = c;
			}
		}
	}
	printf("\nStrong sums: GB/s, HIGHER is better; median of %u rounds. ocp = ocp_csum2 per\n"
	       "block (seeded, as block sums are) or ocp_csum_file on the whole %zu MiB buffer;\n"
	       "lib = the same digest from OpenSSL / libxxhash called directly, one EVP context\n"
	       "re-initialised per block as upstream's get_checksum2() does; ocp/lib = median of\n"
	       "per-round ratios (below 1: ocproto's wrapper costs time). memcpy: %.2f GB/s\n\n",
	       b->runs, t->len / MiB, t->roll[0].gbs.med);
	bench_host_begin(&w);
	for (unsigned i = 0; i < n; i++)
		tcalibrate(b, flat[i]);
	for (unsigned r = 0; r < b->runs; r++)
		for (unsigned i = 0; i < n; i++)
			tround(b, flat[i], 1);
	printf("%-8s | %-23s | %-23s | %-23s\n", "", "700 B blocks", "8 KiB blocks",
	       "whole buffer");
	printf("%-8s |", "sum");
	for (size_t s = 0; s < NSIZES; s++)
		printf(" %6s %6s %8s |", "ocp", "lib", "ocp/lib");
	printf("\n");
	for (size_t a = 0; a < NALGS; a++) {
		printf("%-8s |", ocp_csum_name(strong_algs[a]));
		for (size_t s = 0; s < NSIZES; s++) {
			struct tcase *o = &t->strong[a][s][0], *l = &t->strong[a][s][1];
			char x[16];

			summarize(&o->gbs);
			summarize(&l->gbs);
			fmt_ratio(x, sizeof(x), paired_ratio(&o->gbs, &l->gbs));
			if (o->error)
				printf(" %6s", "-");
			else
				printf(" %6.2f", o->gbs.med);
			if (l->error)
				printf(" %6s", "-");
			else
				printf(" %6.2f", l->gbs.med);
			printf(" %8s |", x);
		}
		printf("\n");
	}
	t->others[1] = bench_host_others(&w);
	if (t->others[1] == t->others[1])
		printf("host: other processes used %.0f%% of the CPUs during this table\n",
		       100 * t->others[1]);
}

/* --- delta: the files ------------------------------------------------------- */

static int
write_file(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/* Read exactly len bytes of path into p: 0, -EIO on a short file, or -errno. */
static int
read_file(const char *path, uint8_t *p, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	close(fd);
	return rc;
}

/* A folder with room for src + dst + rsync's temporary copy + the batch. */
static int
pick_dir(struct bench *b, char *base, size_t n)
{
	const char *cands[] = {b->tmp, getenv("TMPDIR"), "/tmp"};
	unsigned long long need = 3ULL * b->d.len + 64ULL * MiB;

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		struct statvfs sv;
		struct statfs sf;

		if (!cands[i] || strlen(cands[i]) >= n || statvfs(cands[i], &sv))
			continue;
		if ((unsigned long long)sv.f_bavail * sv.f_frsize < need) {
			printf("note: %s has less than %llu MiB free, not used\n", cands[i],
			       need / MiB);
			continue;
		}
		b->d.tmpfs = !statfs(cands[i], &sf) && sf.f_type == TMPFS_MAGIC;
		snprintf(base, n, "%s", cands[i]);
		return 0;
	}
	return -ENOSPC;
}

/*
 * Write the old file (the basis, in dst/) and the new one (src/): random
 * data, then CHANGE_PCT% of the blocks, chosen uniformly without repeats,
 * each get 1..CHANGE_BYTES bytes changed at random places.
 */
static void
delta_setup(struct bench *b)
{
	struct delta *d = &b->d;
	uint64_t s = DATA_SEED;
	int32_t *idx, count;
	char base[BASE_MAX];
	int rc;

	if ((rc = pick_dir(b, base, sizeof(base))))
		die("no folder with room for the delta files (--tmp DIR)", -rc);
	snprintf(d->dir, sizeof(d->dir), "%s/bench_ocproto.XXXXXX", base);
	if (!mkdtemp(d->dir))
		die(d->dir, errno);
	scratch = d;
	snprintf(d->src_dir, sizeof(d->src_dir), "%s/src", d->dir);
	snprintf(d->dst_dir, sizeof(d->dst_dir), "%s/dst", d->dir);
	snprintf(d->new_path, sizeof(d->new_path), "%s/src/file", d->dir);
	snprintf(d->old_path, sizeof(d->old_path), "%s/dst/file", d->dir);
	snprintf(d->batch_path, sizeof(d->batch_path), "%s/batch", d->dir);
	snprintf(d->batch_sh, sizeof(d->batch_sh), "%s/batch.sh", d->dir);
	snprintf(d->stats_path, sizeof(d->stats_path), "%s/stats.txt", d->dir);
	if (mkdir(d->src_dir, 0700) || mkdir(d->dst_dir, 0700))
		die("mkdir", errno);

	if ((rc = ocp_sum_sizes((int64_t)d->len, PROTOCOL, 0, 16, false, &d->head)))
		die("ocp_sum_sizes", -rc);
	d->old_img = alloc_touched(d->len);
	d->new_img = alloc_touched(d->len);
	d->old_buf = alloc_touched(d->len);
	d->new_buf = alloc_touched(d->len);
	fill_random(d->old_img, d->len, DATA_SEED);
	memcpy(d->new_img, d->old_img, d->len);

	count = d->head.count;
	d->changed = count * CHANGE_PCT / 100 ? count * CHANGE_PCT / 100 : 1;
	idx = malloc((size_t)count * sizeof(*idx));
	if (!idx)
		die("allocating", ENOMEM);
	for (int32_t i = 0; i < count; i++)
		idx[i] = i;
	for (int32_t i = 0; i < d->changed; i++) {
		int32_t j = i + (int32_t)(rnd(&s) % (uint64_t)(count - i)), blk = idx[j];
		size_t off = (size_t)blk * (size_t)d->head.blength;
		size_t bl = (size_t)ocp_sig_block_len(&d->head, blk);
		unsigned nb = 1 + (unsigned)(rnd(&s) % CHANGE_BYTES);

		idx[j] = idx[i];
		idx[i] = blk;
		for (unsigned k = 0; k < nb; k++)
			d->new_img[off + rnd(&s) % bl] ^= (uint8_t)(1 + rnd(&s) % 255);
	}
	free(idx);
	if ((rc = write_file(d->old_path, d->old_img, d->len)) ||
	    (rc = write_file(d->new_path, d->new_img, d->len)))
		die("writing the delta files", -rc);
}

/* --- delta: our side ------------------------------------------------------- */

/* The reconstruction check: rebuild the new file from the basis and tokens. */
struct rebuild {
	struct ocp_delta_apply ap;
	uint8_t *out;
	size_t len, cap;
	int err;
};

static int
rebuild_write(void *arg, const uint8_t *buf, size_t len)
{
	struct rebuild *r = arg;

	if (len > r->cap - r->len)
		return -EOVERFLOW;
	memcpy(r->out + r->len, buf, len);
	r->len += len;
	return 0;
}

static int
rebuild_emit(void *arg, const uint8_t *lit, size_t lit_len, int32_t token, const uint8_t *blk,
	     size_t blk_len)
{
	struct rebuild *r = arg;
	const uint8_t *data;
	size_t n;
	int rc = ocp_delta_apply_literal(&r->ap, lit, lit_len);

	if (rc || token < 0)
		return rc;
	rc = ocp_delta_apply_block(&r->ap, token, &data, &n);
	if (!rc && (n != blk_len || memcmp(data, blk, n)))
		rc = -EIO; /* the matcher claimed a block that differs */
	return rc;
}

/*
 * One run of our side with strong sum t: read both files into memory, build
 * the signature of the old, match the new against it, then the whole-file
 * sum of the new (which rsync's sender also computes). verify: emit into a
 * rebuild of the new file and compare it, instead of the counting sink.
 */
static int
ours_once(struct bench *b, enum ocp_csum t, bool verify, struct dtimes *dt,
	  struct ocp_match_stats *st)
{
	struct delta *d = &b->d;
	struct ocp_basis_mem basis = {d->old_buf, d->len};
	uint8_t digest[OCP_CSUM_DIGEST_MAX];
	struct rebuild rb = {0};
	struct ocp_sum_head h;
	struct ocp_sig sig;
	uint64_t sink = 0;
	double w0, w1, w2, w3, w4, c0, c1, c2, c3;
	int rc;

	w0 = bench_mono_s();
	c0 = cpu_now();
	if ((rc = read_file(d->old_path, d->old_buf, d->len)) ||
	    (rc = read_file(d->new_path, d->new_buf, d->len)))
		return rc;
	w1 = bench_mono_s();
	c1 = cpu_now();
	rc = ocp_sum_sizes((int64_t)d->len, PROTOCOL, 0, ocp_csum_len(t), false, &h);
	if (!rc)
		rc = ocp_sig_gen(&sig, d->old_buf, d->len, &h, t, CSUM_SEED, true);
	if (rc)
		return rc;
	w2 = bench_mono_s();
	c2 = cpu_now();
	if (verify) {
		rb.cap = d->len;
		rb.out = malloc(d->len);
		rc = rb.out ? ocp_delta_apply_init(&rb.ap, &sig.head, ocp_basis_mem_read, &basis,
						   rebuild_write, &rb, d->len)
			    : -ENOMEM;
		if (!rc)
			rc = ocp_delta_match(&sig, d->new_buf, d->len, rebuild_emit, &rb, st);
		if (!rc && (rb.len != d->len || memcmp(rb.out, d->new_img, d->len)))
			rc = -EIO;
		ocp_delta_apply_free(&rb.ap);
		free(rb.out);
	} else {
		rc = ocp_delta_match(&sig, d->new_buf, d->len, sink_discard, &sink, st);
	}
	w3 = bench_mono_s();
	c3 = cpu_now();
	if (!rc)
		rc = ocp_csum_file(t, d->new_buf, d->len, digest);
	w4 = bench_mono_s();
	dt->cpu_all = cpu_now() - c0;
	ocp_sig_free(&sig);
	if (rc < 0)
		return rc;
	dt->read = w1 - w0;
	dt->sig = w2 - w1;
	dt->match = w3 - w2;
	dt->fsum = w4 - w3;
	dt->cpu_sig = c2 - c1;
	dt->cpu_match = c3 - c2;
	return 0;
}

static void
ours_record(struct drow *r, const struct dtimes *dt)
{
	unsigned n = r[R_SIG].wall.n;

	r[R_SIG].wall.v[n] = dt->sig;
	r[R_SIG].cpu.v[n] = dt->cpu_sig;
	r[R_MATCH].wall.v[n] = dt->match;
	r[R_MATCH].cpu.v[n] = dt->cpu_match;
	r[R_HEAD].wall.v[n] = dt->sig + dt->match;
	r[R_HEAD].cpu.v[n] = dt->cpu_sig + dt->cpu_match;
	r[R_READ].wall.v[n] = dt->read;
	r[R_READ].cpu.v[n] = NAN;
	r[R_FSUM].wall.v[n] = dt->fsum;
	r[R_FSUM].cpu.v[n] = NAN;
	r[R_ALL].wall.v[n] = dt->read + dt->sig + dt->match + dt->fsum;
	r[R_ALL].cpu.v[n] = dt->cpu_all;
	for (int i = 0; i < R_NOURS; i++)
		r[i].wall.n = r[i].cpu.n = n + 1;
}

/* --- delta: rsync ------------------------------------------------------------ */

/* The number after `key` in rsync's --stats output (digits with commas), or -1. */
static long long
stats_value(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[256];
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)))
			continue;
		v = 0;
		for (const char *p = line + strlen(key); *p && *p != '\n'; p++) {
			if (*p >= '0' && *p <= '9')
				v = v * 10 + (*p - '0');
			else if (*p != ',' && *p != ' ')
				break;
		}
		break;
	}
	fclose(f);
	return v;
}

/*
 * Run argv with stdout into the stats file; the wall time from spawn to
 * reaping it, and the user and system time of it and every process it
 * waited for (rsync's generator and receiver). 0, or -errno / -EIO.
 */
static int
spawn_timed(struct delta *d, char *const argv[], double *wall, double *user, double *sys)
{
	posix_spawn_file_actions_t fa;
	struct rusage r0, r1;
	pid_t pid;
	int rc, st;
	double t0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, d->stats_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	getrusage(RUSAGE_CHILDREN, &r0);
	t0 = bench_mono_s();
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -rc;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*wall = bench_mono_s() - t0;
	getrusage(RUSAGE_CHILDREN, &r1);
	*user = bench_tv_s(r1.ru_utime) - bench_tv_s(r0.ru_utime);
	*sys = bench_tv_s(r1.ru_stime) - bench_tv_s(r0.ru_stime);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/*
 * which 0: `rsync -I --no-whole-file --stats --only-write-batch=B src/file
 * dst/file`; the batch must be a delta. which 1: the same without the
 * batch, an ordinary local delta transfer that rebuilds dst/file, which is
 * then checked (verify) and put back to the old content.
 */
static int
rsync_once(struct bench *b, int which, bool verify, double *wall, double *user, double *sys,
	   const char **why)
{
	struct delta *d = &b->d;
	char batch_opt[PATH_LEN + 32];
	char *argv[] = {"rsync",   "-I",	"--no-whole-file", "--stats",
			batch_opt, d->new_path, d->old_path,	   NULL};
	struct rsync_result *rr = &d->rs[which];
	struct stat sb;
	int rc;

	snprintf(batch_opt, sizeof(batch_opt), "--only-write-batch=%s", d->batch_path);
	if (which == 1)
		memmove(&argv[4], &argv[5], 3 * sizeof(argv[0]));
	unlink(d->batch_path);
	unlink(d->batch_sh);
	rc = spawn_timed(d, argv, wall, user, sys);
	if (rc) {
		*why = "rsync failed";
		return rc;
	}
	rr->literal = stats_value(d->stats_path, "Literal data:");
	rr->matched = stats_value(d->stats_path, "Matched data:");
	rr->batch = -1;
	if (which == 0) {
		if (stat(d->batch_path, &sb)) {
			*why = "no batch file";
			return -errno;
		}
		rr->batch = (long long)sb.st_size;
		/* a whole-file copy would be about len bytes */
		if ((size_t)sb.st_size > d->len / 10) {
			*why = "the batch is not a delta";
			return -EIO;
		}
		return 0;
	}
	if (rr->matched < (long long)(d->len / 2)) {
		*why = "rsync did not transfer a delta";
		return -EIO;
	}
	if (verify) {
		if ((rc = read_file(d->old_path, d->old_buf, d->len)))
			return rc;
		if (memcmp(d->old_buf, d->new_img, d->len)) {
			*why = "rsync's result differs from the new file";
			return -EIO;
		}
	}
	return write_file(d->old_path, d->old_img, d->len);
}

/* --- delta: driver and report ------------------------------------------------ */

static void
delta_fail(struct bench *b, const char *what, const char *why, int rc)
{
	fprintf(stderr, "bench_ocproto: %s: %s (%s)\n", what, why ? why : "failed",
		strerror(rc < 0 ? -rc : rc));
	b->failures++;
}

/* Round -1 is the warm-up and the check of both sides; rounds 0.. are measured. */
static bool
delta_round(struct bench *b, int round)
{
	struct delta *d = &b->d;
	bool verify = round < 0;

	for (int k = 0; k < 2; k++) {
		struct dtimes dt;
		const char *why = NULL;
		double wall, user, sys;
		int rc = ours_once(b, delta_alg[k], verify, &dt, &d->mstats[k]);

		if (rc) {
			delta_fail(b, ocp_csum_name(delta_alg[k]),
				   verify ? "our delta does not rebuild the new file" : NULL, rc);
			return false;
		}
		if (!verify)
			ours_record(d->ours[k], &dt);
		rc = rsync_once(b, k, verify, &wall, &user, &sys, &why);
		if (rc) {
			delta_fail(b, k ? "rsync (plain)" : "rsync --only-write-batch", why, rc);
			return false;
		}
		if (!verify) {
			struct drow *r = &d->rsync[k];

			r->wall.v[r->wall.n++] = wall;
			r->cpu.v[r->cpu.n++] = user + sys;
			r->sys.v[r->sys.n++] = sys;
		}
	}
	return true;
}

static const char *const our_row_name[R_NOURS] = {
    "sig_gen (old, in memory)", "match (new, in memory)", "sig_gen + match",
    "read both files",		"whole-file sum of new",  "all of the above",
};

static void
print_drow(const char *side, const char *name, struct drow *r, const struct stat3 *peer, bool ratio)
{
	char w[48], c[16], x[16];

	summarize(&r->wall);
	summarize(&r->cpu);
	snprintf(w, sizeof(w), "%.3f (%.3f..%.3f)", r->wall.med, r->wall.min, r->wall.max);
	if (r->cpu.med == r->cpu.med)
		snprintf(c, sizeof(c), "%.3f", r->cpu.med);
	else
		snprintf(c, sizeof(c), "-");
	fmt_ratio(x, sizeof(x), ratio ? paired_ratio(&r->wall, peer) : NAN);
	printf("%-6s %-30s %-24s %-7s %s\n", side, name, w, c, ratio ? x : "");
}

static void
run_delta(struct bench *b)
{
	struct delta *d = &b->d;
	struct bench_host_window w;
	double t0 = bench_mono_s();

	delta_setup(b);
	printf("\nDelta, %zu MiB file, %d of %d blocks (%d%%) changed in 1..%d bytes each: "
	       "seconds,\nLOWER is better; median (min..max) of %u rounds after one warm-up "
	       "round that\nalso checks both sides; /rsync = median of per-round ratios "
	       "(our wall over rsync's).\n",
	       d->len / MiB, d->changed, d->head.count, CHANGE_PCT, CHANGE_BYTES, b->runs);
	printf("files: %s (%s); block length %d, strong sum %d of 16 bytes (protocol %d)\n", d->dir,
	       d->tmpfs ? "tmpfs" : "NOT tmpfs: rsync reads through the page cache",
	       d->head.blength, d->head.s2length, PROTOCOL);
	printf("ours:  one thread; sig_gen and match run on both files already in memory\n"
	       "       (read first, and timed on their own in `read both files`);\n"
	       "       ocp_delta_match emits into a sink that only counts.\n"
	       "rsync: the whole command: start-up, its three processes (sender, generator,\n"
	       "       receiver), reading the files, writing the batch or the rebuilt file;\n"
	       "       cpu = user + sys of all of them (RUSAGE_CHILDREN):\n"
	       "         rsync -I --no-whole-file --stats --only-write-batch=DIR/batch "
	       "DIR/src/file DIR/dst/file\n"
	       "         rsync -I --no-whole-file --stats DIR/src/file DIR/dst/file   "
	       "(context rows)\n");
	bench_host_begin(&w);
	for (int r = -1; r < (int)b->runs; r++)
		if (!delta_round(b, r))
			return;
	d->others = bench_host_others(&w);

	for (int k = 0; k < 2; k++) {
		const struct ocp_match_stats *st = &d->mstats[k];
		struct stat3 *peer = &d->rsync[k].wall;

		printf("\n%s\n", k == 0 ? "-- md5: what rsync --only-write-batch uses (target row)"
					: "-- xxh128: what a plain local rsync uses (context)");
		printf("%-6s %-30s %-24s %-7s %s\n", "side", "what", "wall s", "cpu s", "/rsync");
		for (int i = 0; i < R_NOURS; i++)
			print_drow("ours", our_row_name[i], &d->ours[k][i], peer,
				   i == R_HEAD || i == R_ALL);
		print_drow("rsync", k == 0 ? "--only-write-batch" : "local transfer, rebuilds file",
			   &d->rsync[k], peer, false);
		printf("ours:  %llu offsets looked up, %llu chain entries, %llu strong sums, %llu "
		       "blocks\n       matched, %llu literal bytes\n",
		       (unsigned long long)st->positions, (unsigned long long)st->candidates,
		       (unsigned long long)st->strong, (unsigned long long)st->matches,
		       (unsigned long long)st->literal);
		summarize(&d->rsync[k].sys);
		printf(
		    "rsync: literal %lld, matched %lld bytes (--stats); %.3f s of its cpu in the "
		    "kernel",
		    d->rs[k].literal, d->rs[k].matched, d->rsync[k].sys.med);
		if (d->rs[k].batch >= 0)
			printf("; batch file %lld bytes", d->rs[k].batch);
		printf("\n");
	}
	if (d->others == d->others)
		printf("host: other processes used %.0f%% of the CPUs during the delta rounds\n",
		       100 * d->others);
	printf("delta section took %.0f s\n", bench_mono_s() - t0);
}

/* --- targets, JSON ------------------------------------------------------------ */

static double
delta_ratio(const struct bench *b, int k, int row)
{
	return paired_ratio(&b->d.ours[k][row].wall, &b->d.rsync[k].wall);
}

static void
print_targets(const struct bench *b)
{
	double x = delta_ratio(b, 0, R_HEAD), worst = b->d.others;

	printf("\ntargets\n");
	printf("  sig_gen + match <= %.1fx rsync --only-write-batch (md5 both sides): %.2fx  %s\n",
	       DELTA_TARGET, x, x == x && x <= DELTA_TARGET ? "MET" : "NOT MET");
	if (x == x && x > DELTA_TARGET)
		printf("    %.0f%% over the target: %.0f%% of our time would have to go\n",
		       100 * (x / DELTA_TARGET - 1), 100 * (1 - DELTA_TARGET / x));
	printf("    by CPU time instead of wall: %.2fx (ours %.3f s, rsync %.3f s)\n",
	       paired_ratio(&b->d.ours[0][R_HEAD].cpu, &b->d.rsync[0].cpu),
	       b->d.ours[0][R_HEAD].cpu.med, b->d.rsync[0].cpu.med);
	for (int i = 0; i < 2; i++)
		if (b->t.others[i] > worst)
			worst = b->t.others[i];
	if (worst > 0.10)
		printf("\ncaution: other processes took up to %.0f%% of the CPUs during this run;\n"
		       "the absolute numbers are low and noisy, the paired ratios less so.\n",
		       100 * worst);
}

static void
json_stat(FILE *f, const char *key, const struct stat3 *s)
{
	fprintf(f, "\"%s\": {\"median\": ", key);
	json_num(f, s->med);
	fprintf(f, ", \"min\": ");
	json_num(f, s->min);
	fprintf(f, ", \"max\": ");
	json_num(f, s->max);
	fprintf(f, ", \"runs\": [");
	for (unsigned i = 0; i < s->n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_num(f, s->v[i]);
	}
	fprintf(f, "]}");
}

static void
json_tcase(FILE *f, const struct tcase *c, const char *name, size_t block, const char *impl,
	   double ratio, const char *ratio_key, bool last)
{
	fprintf(f, "    {\"case\": \"%s\", \"impl\": \"%s\", \"block\": %zu, ", name, impl, block);
	if (c->error) {
		fprintf(f, "\"error\": \"%s\"}%s\n", c->error, last ? "" : ",");
		return;
	}
	fprintf(f, "\"passes_per_run\": %u, ", c->reps);
	json_stat(f, "GBps", &c->gbs);
	fprintf(f, ", \"%s\": ", ratio_key);
	json_num(f, ratio);
	fprintf(f, "}%s\n", last ? "" : ",");
}

static int
write_json(const struct bench *b, const char *path)
{
	static const char *const row_key[R_NOURS] = {"sig_gen", "match",    "sig_gen_match",
						     "read",	"file_sum", "all"};
	const struct tput *t = &b->t;
	const struct delta *d = &b->d;
	FILE *f = fopen(path, "w");
	double x = delta_ratio(b, 0, R_HEAD);

	if (!f)
		return -errno;
	fprintf(f, "{\n  \"runs\": %u,\n  \"quick\": %s,\n  \"rsync\": \"%s\",\n", b->runs,
		b->quick ? "true" : "false", b->rsync_version);
	fprintf(f, "  \"buffer_bytes\": %zu,\n  \"host_other_cpu_share\": {\"rolling\": ", t->len);
	json_num(f, t->others[0]);
	fprintf(f, ", \"strong\": ");
	json_num(f, t->others[1]);
	fprintf(f, ", \"delta\": ");
	json_num(f, d->others);
	fprintf(f, "},\n  \"rolling\": [\n");
	for (unsigned i = 0; i < t->nroll; i++)
		json_tcase(f, &t->roll[i], t->roll[i].name, t->roll[i].block, "ocproto",
			   i ? paired_ratio(&t->roll[i].gbs, &t->roll[0].gbs) : 1.0,
			   "ratio_to_memcpy", i + 1 == t->nroll);
	fprintf(f, "  ],\n  \"strong\": [\n");
	for (size_t a = 0; a < NALGS; a++)
		for (size_t s = 0; s < NSIZES; s++)
			for (int k = 0; k < 2; k++)
				json_tcase(
				    f, &t->strong[a][s][k], ocp_csum_name(strong_algs[a]),
				    block_sizes[s], k ? "library" : "ocproto",
				    paired_ratio(&t->strong[a][s][0].gbs, &t->strong[a][s][1].gbs),
				    "ratio_ocp_to_library",
				    a + 1 == NALGS && s + 1 == NSIZES && k == 1);
	fprintf(f,
		"  ],\n  \"delta\": {\n    \"file_bytes\": %zu, \"dir\": \"%s\", "
		"\"tmpfs\": %s,\n",
		d->len, d->dir, d->tmpfs ? "true" : "false");
	fprintf(f, "    \"blength\": %d, \"blocks\": %d, \"s2length\": %d, \"protocol\": %d,\n",
		d->head.blength, d->head.count, d->head.s2length, PROTOCOL);
	fprintf(f,
		"    \"changed_blocks\": %d, \"max_bytes_changed_per_block\": %d, "
		"\"data_seed\": %llu,\n",
		d->changed, CHANGE_BYTES, (unsigned long long)DATA_SEED);
	fprintf(f, "    \"sides\": [\n");
	for (int k = 0; k < 2; k++) {
		const struct ocp_match_stats *st = &d->mstats[k];

		fprintf(f, "      {\"strong_sum\": \"%s\", \"rsync_command\": \"%s\",\n",
			ocp_csum_name(delta_alg[k]),
			k ? "rsync -I --no-whole-file --stats SRC DST"
			  : "rsync -I --no-whole-file --stats --only-write-batch=BATCH SRC DST");
		for (int i = 0; i < R_NOURS; i++) {
			fprintf(f, "       \"ours_%s\": {", row_key[i]);
			json_stat(f, "wall_s", &d->ours[k][i].wall);
			fprintf(f, ", ");
			json_stat(f, "cpu_s", &d->ours[k][i].cpu);
			fprintf(f, "},\n");
		}
		fprintf(f, "       \"rsync\": {");
		json_stat(f, "wall_s", &d->rsync[k].wall);
		fprintf(f, ", ");
		json_stat(f, "cpu_s", &d->rsync[k].cpu);
		fprintf(f, ", ");
		json_stat(f, "sys_s", &d->rsync[k].sys);
		fprintf(f, ", \"literal\": %lld, \"matched\": %lld, \"batch_bytes\": %lld},\n",
			d->rs[k].literal, d->rs[k].matched, d->rs[k].batch);
		fprintf(f,
			"       \"match_stats\": {\"positions\": %llu, \"candidates\": %llu, "
			"\"strong\": %llu, \"matches\": %llu, \"literal\": %llu},\n",
			(unsigned long long)st->positions, (unsigned long long)st->candidates,
			(unsigned long long)st->strong, (unsigned long long)st->matches,
			(unsigned long long)st->literal);
		fprintf(f, "       \"ratio_sig_gen_match_to_rsync\": ");
		json_num(f, delta_ratio(b, k, R_HEAD));
		fprintf(f, ", \"ratio_all_to_rsync\": ");
		json_num(f, delta_ratio(b, k, R_ALL));
		fprintf(f, "}%s\n", k ? "" : ",");
	}
	fprintf(f,
		"    ]\n  },\n  \"targets\": [\n    {\"target\": \"ours sig_gen + match <= "
		"0.7x rsync --only-write-batch, md5\", \"op\": \"<=\", \"limit\": %g, "
		"\"ratio\": ",
		DELTA_TARGET);
	json_num(f, x);
	fprintf(f, ", \"met\": %s}\n  ]\n}\n", x == x && x <= DELTA_TARGET ? "true" : "false");
	return fclose(f) ? -errno : 0;
}

/* --- driver ------------------------------------------------------------------- */

static void
rsync_version(struct bench *b)
{
	FILE *p = popen("rsync --version 2>/dev/null", "r");
	char *nl, *r;

	snprintf(b->rsync_version, sizeof(b->rsync_version), "unknown");
	if (!p)
		return;
	if (fgets(b->rsync_version, sizeof(b->rsync_version), p) &&
	    (nl = strchr(b->rsync_version, '\n')))
		*nl = '\0';
	pclose(p);
	/* "rsync  version 3.5.0  protocol version 32": one space between words */
	r = b->rsync_version;
	for (const char *w = r; *w; w++)
		if (*w != ' ' || (r > b->rsync_version && r[-1] != ' '))
			*r++ = *w;
	*r = '\0';
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: bench_ocproto [--out DIR] [--quick] [--runs N] [--tmp DIR]\n"
		"  --out DIR  write ocproto.json into DIR (default build/bench)\n"
		"  --quick    16 MiB buffers and delta file instead of 64 and 256 MiB\n"
		"  --runs N   measured rounds per case, 1..%d (default 3)\n"
		"  --tmp DIR  where the delta files go (default /dev/shm, else $TMPDIR, /tmp)\n",
		MAX_RUNS);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},  {"quick", no_argument, NULL, 'q'},
	    {"runs", required_argument, NULL, 'r'}, {"tmp", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0},
	};
	struct bench *b = calloc(1, sizeof(*b));
	char json[PATH_MAX];
	int runs = 0, c, rc;
	double t0;

	if (!b)
		die("allocating", ENOMEM);
	b->out = "build/bench";
	b->tmp = "/dev/shm";
	while ((c = getopt_long(argc, argv, "o:qr:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			b->out = optarg;
			break;
		case 'q':
			b->quick = true;
			break;
		case 'r':
			runs = atoi(optarg);
			if (runs < 1 || runs > MAX_RUNS) {
				usage(stderr);
				return 2;
			}
			break;
		case 't':
			b->tmp = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	b->runs = runs ? (unsigned)runs : 3;
	b->target_s = b->quick ? 0.02 : 0.1;
	b->t.len = (b->quick ? 16 : 64) * (size_t)MiB;
	b->d.len = (b->quick ? 16 : 256) * (size_t)MiB;
	if ((rc = bench_mkdir_p(b->out)))
		die(b->out, -rc);
	if ((size_t)snprintf(json, sizeof(json), "%s/ocproto.json", b->out) >= sizeof(json))
		die(b->out, ENAMETOOLONG);
	atexit(scratch_remove);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	rsync_version(b);

	b->t.buf = alloc_touched(b->t.len);
	b->t.dst = alloc_touched(b->t.len);
	fill_random(b->t.buf, b->t.len, DATA_SEED ^ 2);
	if ((rc = direct_init(&b->t.d)))
		die("EVP_MD_CTX_new", -rc);
	printf("bench_ocproto: %ld CPUs online; peer %s; %u rounds%s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), b->rsync_version, b->runs,
	       b->quick ? " (quick)" : "");
	t0 = bench_mono_s();
	run_rolling(b);
	run_strong(b);
	ocp_sig_free(&b->t.scan_sig);
	direct_free(&b->t.d);
	free(b->t.buf);
	free(b->t.dst);
	b->t.buf = b->t.dst = NULL;
	run_delta(b);
	scratch_remove();
	print_targets(b);
	printf("\nmeasured in %.0f s (checksum sink %llu)\n", bench_mono_s() - t0,
	       (unsigned long long)(b->t.sink & 0xff));

	if ((rc = write_json(b, json)))
		die(json, -rc);
	printf("wrote %s\n", json);
	if (b->failures)
		fprintf(stderr, "bench_ocproto: %u case(s) failed verification or setup\n",
			b->failures);
	rc = b->failures ? 1 : 0;
	free(b->d.old_img);
	free(b->d.new_img);
	free(b->d.old_buf);
	free(b->d.new_buf);
	free(b);
	return rc;
}
