/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ocproto/negotiate.h: capability strings, compat flags,
 * name lists and the choice rule, protocol choice and the server's setup.
 *
 * Vectors marked "capture" are real rsync 3.5.0 bytes, recorded by a fake
 * remote shell (`-e rsh.sh`: logs the server command, runs it locally with
 * `tee` on both pipes):
 *   n_z:    rsync -az -e rsh.sh zs/ localhost:zd/   (push, compressing)
 *           server command `rsync --server -logDtprze.iLsfxCIvu . zd/`
 *   n_pull: rsync -a -e rsh.sh localhost:zs/ zd/     (pull)
 *           server command `rsync --server --sender -logDtpre.iLsfxCIvu . zs/`
 *   d_neg:  rsync -c --no-whole-file --checksum-seed=305419896 src/f
 *           localhost:dst/f (one file, no recursion: compat 0x1fe)
 *   cap4c:  rsync localhost::mod/a_size7f dst/ through `rsync --daemon` over
 *           the remote shell (server args "-e.LsfxCIvu", compat 0x1fe)
 * "derived" vectors follow from upstream's rules in compat.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ocproto/csum.h"
#include "ocproto/err.h"
#include "ocproto/int.h"
#include "ocproto/negotiate.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* capture n_z, server to client after the version: compat, lists, seed. */
static const char nz_s2c_hex[] = "81ff"
				 "23787868313238207878683320787868363420"
				 "6d6435206d64342073686131206e6f6e65"
				 "187a737464206c7a34207a6c696278207a6c6962206e6f6e65"
				 "0939066b";
/* capture n_z, client to server after the version: its two lists. */
static const char nz_c2s_hex[] = "1e7878683132382078786833207878683634206d6435206d6434207368613113"
				 "7a737464206c7a34207a6c696278207a6c6962";
/* capture n_pull, server to client after the version (not compressing). */
static const char npull_s2c_hex[] = "81ff2378786831323820787868332078786836342"
				    "06d6435206d64342073686131206e6f6e65c93c066b";

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned x;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &x), 1);
		out[i] = (uint8_t)x;
	}
	return n;
}

static void
test_caps(void **state)
{
	char s[OCP_CAPS_STR_MAX];
	uint32_t caps;

	(void)state;
	/* capture: rsync 3.5.0 clients send these clusters. */
	assert_int_equal(ocp_caps_parse("-logDtprze.iLsfxCIvu", &caps), 0);
	assert_int_equal(caps, OCP_CF_ALL);
	assert_int_equal(ocp_caps_parse("-logDtpre.iLsfxCIvu", &caps), 0);
	assert_int_equal(caps, 0x1ff);
	assert_int_equal(ocp_caps_parse("-e.LsfxCIvu", &caps), 0);
	assert_int_equal(caps, 0x1fe);
	assert_int_equal(ocp_caps_encode(s, sizeof(s), 0x1ff), 11);
	assert_string_equal(s, "e.iLsfxCIvu");
	assert_int_equal(ocp_caps_encode(s, sizeof(s), 0x1fe), 10);
	assert_string_equal(s, "e.LsfxCIvu");
	/* derived: unknown letters are ignored, a pre-release version is skipped. */
	assert_int_equal(ocp_caps_parse("-e31.0vQ", &caps), 0);
	assert_int_equal(caps, OCP_CF_VARINT_FLIST_FLAGS);
	assert_int_equal(ocp_caps_parse("-e.", &caps), 0);
	assert_int_equal(caps, 0);
	assert_int_equal(ocp_caps_encode(s, sizeof(s), 0), 2);
	assert_string_equal(s, "e.");
	assert_int_equal(ocp_caps_parse("-logDtpr", &caps), -ENOENT);
	assert_int_equal(ocp_caps_parse("--server", &caps), OCP_EPROTO);
	assert_int_equal(ocp_caps_parse("e.iL", &caps), OCP_EPROTO);
	assert_int_equal(ocp_caps_encode(s, 11, 0x1ff), -ENOBUFS);
	assert_int_equal(ocp_caps_encode(s, sizeof(s), 0x200), -EINVAL);
}

static void
test_compat(void **state)
{
	uint8_t b[8];
	uint32_t f;

	(void)state;
	/* capture: caps iLsfxCIvu give 0x1ff, written 81 ff; LsfxCIvu give 0x1fe. */
	assert_int_equal(ocp_compat_server(0x1ff, OCP_CF_ALL), 0x1ff);
	assert_int_equal(ocp_compat_server(0x1fe, OCP_CF_ALL), 0x1fe);
	assert_int_equal(ocp_enc_compat(b, sizeof(b), 0x1ff), 2);
	assert_memory_equal(b, ((uint8_t[]){0x81, 0xff}), 2);
	assert_int_equal(ocp_dec_compat(b, 2, 0x1ff, &f), 2);
	assert_int_equal(f, 0x1ff);
	assert_int_equal(ocp_dec_compat(b, 1, 0x1ff, &f), 0);
	/* derived: the server's own symlink bits need no offer; others do. */
	assert_int_equal(ocp_compat_server(OCP_CF_VARINT_FLIST_FLAGS, OCP_CF_ALL),
			 OCP_CF_VARINT_FLIST_FLAGS | OCP_CF_SERVER_OWN);
	assert_int_equal(ocp_dec_compat(b, 2, OCP_CF_ALL & ~OCP_CF_SERVER_OWN, &f), 2);
	f = 7;
	assert_int_equal(ocp_dec_compat(b, 2, OCP_CF_ALL & ~OCP_CF_INC_RECURSE, &f), OCP_ECOMPAT);
	assert_int_equal(f, 7);
	assert_int_equal(ocp_enc_varint(b, sizeof(b), 0x200), 2);
	assert_int_equal(ocp_dec_compat(b, 2, OCP_CF_ALL, &f), OCP_ECOMPAT);
	assert_int_equal(ocp_enc_varint(b, sizeof(b), -1), 5);
	assert_int_equal(ocp_dec_compat(b, 5, OCP_CF_ALL, &f), OCP_ECOMPAT);
	assert_int_equal(ocp_enc_compat(b, sizeof(b), 0x400), -EINVAL);
	assert_int_equal(ocp_dec_compat((const uint8_t[]){0xff}, 1, OCP_CF_ALL, &f), OCP_EOVERFLOW);
}

static void
test_protocol(void **state)
{
	(void)state;
	assert_int_equal(ocp_protocol_choose(32, 32), 32);
	assert_int_equal(ocp_protocol_choose(32, 31), 31);
	assert_int_equal(ocp_protocol_choose(31, 32), 31);
	assert_int_equal(ocp_protocol_choose(32, 40), 32);
	assert_int_equal(ocp_protocol_choose(32, 30), 30);
	assert_int_equal(ocp_protocol_choose(32, 29), OCP_EVERSION);
	assert_int_equal(ocp_protocol_choose(32, 19), OCP_EVERSION);
	assert_int_equal(ocp_protocol_choose(32, 41), OCP_EVERSION);
	assert_int_equal(ocp_protocol_choose(29, 32), OCP_EVERSION);
	assert_int_equal(ocp_protocol_choose(33, 33), OCP_EVERSION);
}

static void
test_namelists(void **state)
{
	uint8_t b[300], w[300];
	struct ocp_namelist cl, sl, x;
	size_t n;

	(void)state;
	/* capture n_z: the client's lists, then the server's (with "none"). */
	n = unhex(nz_c2s_hex, w, sizeof(w));
	assert_int_equal(ocp_namelist_default(OCP_NSTR_CHECKSUM, false, &cl), 0);
	assert_int_equal(ocp_enc_namelist(b, sizeof(b), OCP_NSTR_CHECKSUM, &cl), 31);
	assert_int_equal(ocp_namelist_default(OCP_NSTR_COMPRESS, false, &x), 0);
	assert_int_equal(ocp_enc_namelist(b + 31, sizeof(b) - 31, OCP_NSTR_COMPRESS, &x), 20);
	assert_int_equal(n, 51);
	assert_memory_equal(b, w, n);
	assert_int_equal(ocp_dec_namelist(w, n, OCP_NSTR_CHECKSUM, &x), 31);
	assert_int_equal(x.n, 6);
	assert_memory_equal(x.id, cl.id, 6);
	for (size_t k = 0; k < 31; k++)
		assert_int_equal(ocp_dec_namelist(w, k, OCP_NSTR_CHECKSUM, &x), 0);

	n = unhex(nz_s2c_hex, w, sizeof(w));
	assert_int_equal(ocp_namelist_default(OCP_NSTR_CHECKSUM, true, &sl), 0);
	assert_int_equal(ocp_enc_namelist(b, sizeof(b), OCP_NSTR_CHECKSUM, &sl), 36);
	assert_memory_equal(b, w + 2, 36);
	assert_int_equal(ocp_namelist_default(OCP_NSTR_COMPRESS, true, &x), 0);
	assert_int_equal(ocp_enc_namelist(b, sizeof(b), OCP_NSTR_COMPRESS, &x), 25);
	assert_memory_equal(b, w + 38, 25);

	/* capture: both sides then use xxh128 (the default) and zstd. */
	assert_int_equal(ocp_nstr_choose(&cl, &sl), OCP_CSUM_XXH128);
	assert_int_equal(ocp_nstr_choose(&sl, &cl), OCP_CSUM_XXH128);

	/* derived: our order wins, the peer's order does not matter. */
	x = (struct ocp_namelist){.n = 3, .id = {OCP_CSUM_SHA1, OCP_CSUM_MD4, OCP_CSUM_MD5}};
	assert_int_equal(ocp_nstr_choose(&cl, &x), OCP_CSUM_MD5);
	assert_int_equal(ocp_nstr_choose(&x, &cl), OCP_CSUM_SHA1);
	x = (struct ocp_namelist){.n = 1, .id = {OCP_CSUM_NONE}};
	assert_int_equal(ocp_nstr_choose(&cl, &x), OCP_ENOMATCH); /* client lists omit none */
	assert_int_equal(ocp_nstr_choose(&sl, &x), OCP_CSUM_NONE);
	x.n = 0;
	assert_int_equal(ocp_nstr_choose(&sl, &x), OCP_ENOMATCH);

	/* derived: unknown names skipped, repeats and aliases dropped, case ignored. */
	static const char odd[] = "foo MD5  xxhash md5 xxh64 bar";
	b[0] = sizeof(odd) - 1;
	memcpy(b + 1, odd, sizeof(odd) - 1);
	assert_int_equal(ocp_dec_namelist(b, sizeof(odd), OCP_NSTR_CHECKSUM, &x), (int)sizeof(odd));
	assert_int_equal(x.n, 2);
	assert_int_equal(x.id[0], OCP_CSUM_MD5);
	assert_int_equal(x.id[1], OCP_CSUM_XXH64);
	/* sha256 is an auth digest, not a transfer checksum. */
	memcpy(b, "\x06sha256", 7);
	assert_int_equal(ocp_dec_namelist(b, 7, OCP_NSTR_CHECKSUM, &x), 7);
	assert_int_equal(x.n, 0);
	/* A list longer than upstream's 255-byte buffer is refused from its header. */
	assert_int_equal(ocp_dec_namelist((const uint8_t[]){0x81, 0x00}, 2, OCP_NSTR_CHECKSUM, &x),
			 OCP_ETOOLONG);
	x = (struct ocp_namelist){.n = 1, .id = {OCP_CSUM_SHA512}};
	assert_int_equal(ocp_enc_namelist(b, sizeof(b), OCP_NSTR_CHECKSUM, &x), -EINVAL);
	assert_int_equal(ocp_enc_namelist(b, 10, OCP_NSTR_CHECKSUM, &cl), -ENOBUFS);
	assert_string_equal(ocp_nstr_name(OCP_NSTR_COMPRESS, OCP_COMPRESS_ZLIBX), "zlibx");
	assert_null(ocp_nstr_name(OCP_NSTR_COMPRESS, OCP_COMPRESS_COUNT));
}

static void
test_setup(void **state)
{
	uint8_t w[128], b[128];
	struct ocp_setup s, t;
	size_t n;

	(void)state;
	/* capture n_z: compat 0x1ff, both server lists, seed 0x6b063909. */
	n = unhex(nz_s2c_hex, w, sizeof(w));
	for (size_t k = 0; k < n; k++)
		assert_int_equal(ocp_dec_setup(w, k, OCP_CF_ALL, true, &s), 0);
	assert_int_equal(ocp_dec_setup(w, n, OCP_CF_ALL, true, &s), (int)n);
	assert_int_equal(s.compat, 0x1ff);
	assert_int_equal(s.seed, 0x6b063909);
	assert_int_equal(s.csums.n, 7);
	assert_int_equal(s.compress.n, 5);
	assert_int_equal(s.compress.id[0], OCP_COMPRESS_ZSTD);
	assert_int_equal(ocp_enc_setup(b, sizeof(b), &s, true), (int)n);
	assert_memory_equal(b, w, n);
	assert_int_equal(ocp_enc_setup(b, n - 1, &s, true), -ENOBUFS);

	/* capture n_pull: no compression list. */
	n = unhex(npull_s2c_hex, w, sizeof(w));
	assert_int_equal(ocp_dec_setup(w, n, OCP_CF_ALL, false, &s), (int)n);
	assert_int_equal(s.seed, 0x6b063cc9);
	assert_int_equal(s.compress.n, 0);

	/* capture d_neg: compat 0x1fe (no incremental recursion), seed 0x12345678. */
	n = unhex("81fe237878683132382078786833207878683634206d6435206d6434207368613120"
		  "6e6f6e6578563412",
		  w, sizeof(w));
	assert_int_equal(ocp_dec_setup(w, n, 0x1fe, false, &s), (int)n);
	assert_int_equal(s.seed, 0x12345678);
	/* Offering less than the server answered is an error. */
	assert_int_equal(ocp_dec_setup(w, n, 0x1fe & ~OCP_CF_ID0_NAMES, false, &s), OCP_ECOMPAT);

	/* derived: without varint flist flags no lists are sent. */
	t = (struct ocp_setup){.compat = OCP_CF_SERVER_OWN, .seed = -5};
	assert_int_equal(ocp_enc_setup(b, sizeof(b), &t, true), 5);
	assert_int_equal(ocp_dec_setup(b, 5, 0, true, &s), 5);
	assert_int_equal(s.seed, -5);
	assert_int_equal(s.csums.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_caps),     cmocka_unit_test(test_compat),
	    cmocka_unit_test(test_protocol), cmocka_unit_test(test_namelists),
	    cmocka_unit_test(test_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
