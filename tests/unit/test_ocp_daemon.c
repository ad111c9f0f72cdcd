/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ocproto/daemon.h: greetings, status lines, module listing,
 * the line accumulator, authentication and server arguments.
 *
 * Vectors marked "capture" are real rsync 3.5.0 bytes, from `rsync --daemon`
 * (config: module `pub` "public files", module `secure` "needs a password"
 * with `auth users = alice` and secrets `alice:s3cret-pw`, module `hidden`
 * with `list = no`) reached through a fake remote shell that runs the daemon
 * command locally and tees both pipes:
 *   dm_auth:    RSYNC_PASSWORD=s3cret-pw rsync alice@localhost::secure/g dd/
 *   dm_badpw:   the same with RSYNC_PASSWORD=wrong
 *   dm_list:    rsync localhost::
 *   dm_unknown: rsync localhost::nosuch/ dd/
 * Vectors marked "daemon" come from a Python driver speaking to the same
 * daemon (`rsync --server --daemon .` on pipes) with a chosen client
 * greeting: it records the daemon's challenge, sends our answer and the
 * daemon's verdict was "@RSYNCD: OK" for each (md4's answer computed by
 * this library, the others by Python's hashlib), or the @ERROR text shown.
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

#include "ocproto/daemon.h"
#include "ocproto/err.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PASSWORD "s3cret-pw"

/* capture: both sides' greeting. */
static const char greeting[] = "@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\n";

static void
test_greeting(void **state)
{
	char out[128];
	struct ocp_namelist d;
	struct ocp_greeting g;

	(void)state;
	ocp_auth_digests_default(&d);
	assert_int_equal(ocp_greeting_encode(out, sizeof(out), 32, 0, &d), strlen(greeting));
	assert_string_equal(out, greeting);
	assert_int_equal(ocp_greeting_encode(out, sizeof(out), 31, 0, NULL), 14);
	assert_string_equal(out, "@RSYNCD: 31.0\n");
	assert_int_equal(ocp_greeting_encode(out, 20, 32, 0, &d), -ENOBUFS);

	assert_int_equal(ocp_greeting_parse(greeting, strlen(greeting) - 1, &g), 0);
	assert_true(g.protocol == 32 && g.sub == 0 && g.has_digests);
	assert_int_equal(g.digests.n, 5);
	assert_memory_equal(g.digests.id, d.id, 5);
	/* daemon: "@RSYNCD: 31.0" is accepted (md5 is then used). */
	assert_int_equal(ocp_greeting_parse("@RSYNCD: 31.0", 13, &g), 0);
	assert_false(g.has_digests);
	assert_int_equal(ocp_auth_digest_choose(&d, &g), OCP_CSUM_MD5);
	/* daemon: "@ERROR: your client omitted the digest name list". */
	assert_int_equal(ocp_greeting_parse("@RSYNCD: 32.0", 13, &g), OCP_EPROTO);
	/* daemon: "@ERROR: your client omitted the subprotocol value". */
	assert_int_equal(ocp_greeting_parse("@RSYNCD: 32", 11, &g), OCP_EPROTO);
	/* daemon: "foo bar" only: "does not support one of our daemon-auth checksums". */
	assert_int_equal(ocp_greeting_parse("@RSYNCD: 32.0 foo bar", 21, &g), 0);
	assert_true(g.has_digests && g.digests.n == 0);
	assert_int_equal(ocp_auth_digest_choose(&d, &g), OCP_ENOMATCH);
	/* daemon: a client listing "md4 sha1" is challenged with sha1 (27 characters). */
	assert_int_equal(ocp_greeting_parse("@RSYNCD: 32.0 md4 sha1", 22, &g), 0);
	assert_int_equal(ocp_auth_digest_choose(&d, &g), OCP_CSUM_SHA1);
	/* derived: old protocols need no subprotocol; garbage is refused. */
	assert_int_equal(ocp_greeting_parse("@RSYNCD: 29", 11, &g), 0);
	assert_int_equal(g.protocol, 29);
	assert_int_equal(ocp_greeting_parse("@RSYNCD: x", 10, &g), OCP_EPROTO);
	assert_int_equal(ocp_greeting_parse("@RSYNCD:32.0", 12, &g), OCP_EPROTO);
	assert_int_equal(ocp_greeting_parse("hello", 5, &g), OCP_EPROTO);
	assert_int_equal(ocp_greeting_parse("@RSYNCD: 99999999.0 md5", 23, &g), OCP_EPROTO);
}

static void
test_daemon_protocol(void **state)
{
	struct ocp_greeting g = {.protocol = 32, .sub = 0};

	(void)state;
	assert_int_equal(ocp_daemon_protocol(32, 0, &g), 32);
	g.sub = 1; /* a pre-release peer of the same version costs one */
	assert_int_equal(ocp_daemon_protocol(32, 0, &g), 31);
	g = (struct ocp_greeting){.protocol = 31, .sub = 0};
	assert_int_equal(ocp_daemon_protocol(32, 0, &g), 31);
	g.sub = 3;
	assert_int_equal(ocp_daemon_protocol(32, 0, &g), 30);
	g = (struct ocp_greeting){.protocol = 40};
	assert_int_equal(ocp_daemon_protocol(32, 0, &g), 32);
	g.protocol = 29;
	assert_int_equal(ocp_daemon_protocol(32, 0, &g), OCP_EVERSION);
	g = (struct ocp_greeting){.protocol = 30, .sub = 1};
	assert_int_equal(ocp_daemon_protocol(32, 0, &g), OCP_EVERSION);
}

static void
test_lines(void **state)
{
	const char *arg, *name, *comment;
	size_t alen, nlen, clen;
	char out[64];

	(void)state;
	/* capture dm_auth, dm_badpw, dm_unknown, dm_list. */
	static const char authreqd[] = "@RSYNCD: AUTHREQD DmmzCjtHOAeeC/svGcWHKg1x3jXLO326m30MvVwb1"
				       "X1S9LFwppiTyg0EGWaH/MiAEJHXRHAwB+j55Y5tnWqQ9A";
	assert_int_equal(ocp_dline_classify(authreqd, strlen(authreqd), &arg, &alen),
			 OCP_DLINE_AUTHREQD);
	assert_int_equal(alen, 86);
	assert_memory_equal(arg, "DmmzCjtHOA", 10);
	assert_int_equal(ocp_dline_classify("@RSYNCD: OK", 11, &arg, &alen), OCP_DLINE_OK);
	assert_int_equal(ocp_dline_classify("@RSYNCD: EXIT", 13, NULL, NULL), OCP_DLINE_EXIT);
	static const char err[] = "@ERROR: auth failed on module secure";
	assert_int_equal(ocp_dline_classify(err, strlen(err), &arg, &alen), OCP_DLINE_ERROR);
	assert_int_equal(alen, strlen("auth failed on module secure"));
	assert_memory_equal(arg, "auth failed", 11);
	static const char unk[] = "@ERROR: Unknown module 'nosuch'";
	assert_int_equal(ocp_dline_classify(unk, strlen(unk), &arg, &alen), OCP_DLINE_ERROR);
	assert_memory_equal(arg, "Unknown module 'nosuch'", alen);
	assert_int_equal(ocp_dline_classify("@RSYNCD: OKAY", 13, NULL, NULL), OCP_DLINE_TEXT);
	assert_int_equal(ocp_dline_classify("@ERRORx", 7, &arg, &alen), OCP_DLINE_ERROR);
	assert_int_equal(alen, 1);
	assert_int_equal(ocp_dline_classify("welcome", 7, NULL, NULL), OCP_DLINE_TEXT);

	assert_int_equal(ocp_modlist_encode(out, sizeof(out), "pub", "public files"), 29);
	assert_string_equal(out, "pub            \tpublic files\n");
	assert_int_equal(ocp_modlist_encode(out, sizeof(out), "secure", "needs a password"), 33);
	assert_string_equal(out, "secure         \tneeds a password\n");
	assert_int_equal(ocp_modlist_parse(out, 32, &name, &nlen, &comment, &clen), 0);
	assert_int_equal(nlen, 6);
	assert_memory_equal(name, "secure", 6);
	assert_int_equal(clen, 16);
	assert_memory_equal(comment, "needs a password", 16);
	assert_int_equal(ocp_modlist_parse("motd", 4, &name, &nlen, &comment, &clen), OCP_EPROTO);
	assert_int_equal(ocp_modlist_encode(out, 10, "pub", "public files"), -ENOBUFS);
}

static void
test_linebuf(void **state)
{
	/* capture dm_list: the listing a daemon sends after its greeting. */
	static const char listing[] = "@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\n"
				      "pub            \tpublic files\n"
				      "secure         \tneeds a password\n"
				      "@RSYNCD: EXIT\n";
	static const char *const want[] = {"@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4",
					   "pub            \tpublic files",
					   "secure         \tneeds a password", "@RSYNCD: EXIT"};
	struct ocp_linebuf *lb = malloc(sizeof(*lb));
	const char *line;
	size_t llen, n = strlen(listing);
	uint8_t big[40];

	(void)state;
	assert_non_null(lb);
	/* Whole, then one byte at a time, then in chunks of 7. */
	for (size_t chunk = n; chunk >= 1; chunk = chunk == n ? 1 : chunk == 1 ? 7 : 0) {
		size_t got = 0, off = 0;

		assert_int_equal(ocp_linebuf_init(lb, OCP_DAEMON_LINE_MAX), 0);
		while (off < n) {
			size_t take = n - off < chunk ? n - off : chunk;
			int rc = ocp_linebuf_feed(lb, (const uint8_t *)listing + off, take, &line,
						  &llen);

			assert_true(rc > 0 && (size_t)rc <= take);
			off += (size_t)rc;
			if (line) {
				assert_true(got < NELEM(want));
				assert_int_equal(llen, strlen(want[got]));
				assert_string_equal(line, want[got]);
				got++;
			}
		}
		assert_int_equal(got, NELEM(want));
		if (chunk == 7)
			break;
	}
	/* derived: '\r' is dropped (and not counted), as upstream's read_line_old() does. */
	assert_int_equal(ocp_linebuf_init(lb, 10), 0);
	assert_int_equal(
	    ocp_linebuf_feed(lb, (const uint8_t *)"@RSYNCD: OK\r\nx", 14, &line, &llen), OCP_ELINE);
	assert_int_equal(ocp_linebuf_init(lb, 11), 0);
	assert_int_equal(
	    ocp_linebuf_feed(lb, (const uint8_t *)"@RSYNCD: OK\r\nx", 14, &line, &llen), 13);
	assert_string_equal(line, "@RSYNCD: OK");
	/* derived: an over-long line fails as soon as it passes the cap; errors stick. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(ocp_linebuf_init(lb, 32), 0);
	assert_int_equal(ocp_linebuf_feed(lb, big, 32, &line, &llen), 32);
	assert_null(line);
	assert_int_equal(ocp_linebuf_feed(lb, big, 1, &line, &llen), OCP_ELINE);
	assert_int_equal(ocp_linebuf_feed(lb, (const uint8_t *)"\n", 1, &line, &llen), OCP_ELINE);
	assert_int_equal(ocp_linebuf_init(lb, 32), 0);
	assert_int_equal(ocp_linebuf_feed(lb, (const uint8_t *)"ab\0c\n", 5, &line, &llen),
			 OCP_EPROTO);
	assert_int_equal(ocp_linebuf_init(lb, 0), -EINVAL);
	assert_int_equal(ocp_linebuf_init(lb, OCP_DAEMON_LINE_MAX + 1), -EINVAL);
	free(lb);
}

static void
test_base64(void **state)
{
	char out[16];

	(void)state;
	/* derived: RFC 4648 vectors without the padding. */
	static const char *const v[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	for (size_t i = 0; i < NELEM(v); i++) {
		assert_int_equal(ocp_base64_encode(out, sizeof(out), (const uint8_t *)"foobar", i),
				 strlen(v[i]));
		assert_string_equal(out, v[i]);
	}
	assert_int_equal(ocp_base64_encode(out, 3, (const uint8_t *)"foo", 3), -ENOBUFS);
	assert_int_equal(ocp_base64_encode(out, 5, (const uint8_t *)"foo", 3), 4);
}

static void
test_auth(void **state)
{
	/* capture dm_auth (sha512) and daemon (the rest): challenge, accepted answer. */
	static const struct {
		enum ocp_csum d;
		const char *challenge, *answer;
	} v[] = {
	    {OCP_CSUM_SHA512,
	     "DmmzCjtHOAeeC/svGcWHKg1x3jXLO326m30MvVwb1X1S9LFwppiTyg0EGWaH/"
	     "MiAEJHXRHAwB+j55Y5tnWqQ9A",
	     "6Sn6f3rWIVSaxPBZjQ+MO9hQw31e2ty6U5cYfHIw68QpP+8xOqqrC5rqGid818TeksXe+"
	     "dTXuF41SpxXlcPYzQ"},
	    {OCP_CSUM_SHA256, "txhnQUxvzIB2pv54DTSXS6bf3Ke6M1C533NH1j/wylU",
	     "H2GLK4nC4PHDwhVJUpffj+CgX925FrcPIx8jZxSomfM"},
	    {OCP_CSUM_SHA1, "uh2b6nx7EBuOkK7AQTFUX/RlBZw", "JyYh33283NuyQzVzBEhR2wm7wJ0"},
	    {OCP_CSUM_SHA1, "2jDljxqR7lP6Q2vCRaxEHInQ8/8", "dFuv7o6NT6j8zKthCvf8AAN2qek"},
	    {OCP_CSUM_MD5, "Y6+BkF/Y8Ql4Zg2ylUsI9Q", "7aK8edA6Obgb9uqTKlJ86A"},
	    {OCP_CSUM_MD5, "K146f+UCLntv+p/HOdOpuQ", "IqcsL4IqFeSr3n9TFOrO+Q"},
	    {OCP_CSUM_MD4, "/Ve8ySJKzv+XxUn6dcTTKQ", "WKt611Lbf9g9MZywoWf1cA"},
	};
	char out[128], line[128];
	const char *user;
	size_t ulen;

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		int n = snprintf(line, sizeof(line), "alice %s", v[i].answer);

		assert_int_equal(
		    ocp_auth_response(out, sizeof(out), v[i].d, "alice", PASSWORD, v[i].challenge),
		    n);
		assert_string_equal(out, line);
		assert_int_equal(ocp_auth_verify(line, (size_t)n, v[i].d, PASSWORD, v[i].challenge,
						 &user, &ulen),
				 0);
		assert_int_equal(ulen, 5);
		assert_memory_equal(user, "alice", 5);
		/* The challenge length says which digest the daemon chose. */
		assert_int_equal(strlen(v[i].challenge), strlen(v[i].answer));
	}
	/* capture dm_badpw: the answer for "wrong", refused by the daemon. */
	static const char bad_ch[] =
	    "7kUrY9ZhLeInsiNbXKIR/Pcbt08O/Eyua4URK1BIImbcCbEV3b9KhWwYRUxeNL6"
	    "SCToR2eQZzmq7/7KNDNWx6w";
	static const char bad[] = "alice EVpBmFyq8+WTTFU9Bf3+/XAdpjzS8udYtl8kc1KAtD74vC2niCriaYzXl"
				  "MzGbIzJ0e44shcV9rvEaoIjDHh5jA";
	assert_int_equal(
	    ocp_auth_response(out, sizeof(out), OCP_CSUM_SHA512, "alice", "wrong", bad_ch),
	    strlen(bad));
	assert_string_equal(out, bad);
	assert_int_equal(
	    ocp_auth_verify(bad, strlen(bad), OCP_CSUM_SHA512, PASSWORD, bad_ch, &user, &ulen),
	    -EACCES);
	assert_int_equal(ocp_auth_verify("alice", 5, OCP_CSUM_MD5, PASSWORD, "x", &user, &ulen),
			 OCP_EPROTO);
	assert_int_equal(ocp_auth_verify("a b", 3, OCP_CSUM_MD5, PASSWORD, "x", &user, &ulen),
			 -EACCES);
	assert_int_equal(ocp_auth_response(out, sizeof(out), OCP_CSUM_XXH64, "a", "b", "c"),
			 -EINVAL);
	assert_int_equal(ocp_auth_response(out, 20, OCP_CSUM_SHA512, "alice", "p", "c"), -ENOBUFS);
	/* derived: a challenge is the unpadded base64 of the digest of the random bytes. */
	assert_int_equal(
	    ocp_auth_challenge(out, sizeof(out), OCP_CSUM_MD5, (const uint8_t *)"abc", 3), 22);
	assert_string_equal(out, "kAFQmDzST7DWlj99KOF/cg");
}

static void
test_args(void **state)
{
	/* capture dm_auth: the client's server arguments after "@RSYNCD: OK". */
	static const char wire[] = "--server\0--sender\0-e.LsfxCIvu\0.\0secure/g\0";
	static const char *const want[] = {"--server", "--sender", "-e.LsfxCIvu", ".", "secure/g"};
	const char *argv[OCP_DAEMON_ARGS_MAX];
	uint8_t buf[64], *big;
	size_t argc, n = sizeof(wire);

	(void)state;
	assert_int_equal(ocp_enc_args(buf, sizeof(buf), want, NELEM(want)), (int)n);
	assert_memory_equal(buf, wire, n);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(ocp_dec_args(buf, k, argv, NELEM(argv), &argc), 0);
	assert_int_equal(ocp_dec_args(buf, n, argv, NELEM(argv), &argc), (int)n);
	assert_int_equal(argc, NELEM(want));
	for (size_t i = 0; i < argc; i++)
		assert_string_equal(argv[i], want[i]);
	assert_int_equal(ocp_enc_args(buf, n - 1, want, NELEM(want)), -ENOBUFS);
	assert_int_equal(ocp_enc_args(buf, sizeof(buf), (const char *const[]){""}, 1), -EINVAL);
	assert_int_equal(ocp_dec_args(buf, n, argv, 4, &argc), OCP_ETOOLONG);

	/* derived: upstream's 1000-argument limit, and the line cap per argument. */
	big = malloc(8000);
	assert_non_null(big);
	for (size_t i = 0; i < 1001; i++) {
		big[2 * i] = 'a';
		big[2 * i + 1] = 0;
	}
	big[2002] = 0;
	assert_int_equal(ocp_dec_args(big, 2003, argv, OCP_DAEMON_ARGS_MAX, &argc), OCP_ETOOLONG);
	assert_int_equal(ocp_dec_args(big + 2, 2001, argv, OCP_DAEMON_ARGS_MAX, &argc), 2001);
	assert_int_equal(argc, 1000);
	assert_int_equal(ocp_enc_args(buf, sizeof(buf), argv, 1001), -EINVAL);
	memset(big, 'x', 8000);
	assert_int_equal(ocp_dec_args(big, OCP_DAEMON_LINE_MAX, argv, 10, &argc), 0);
	assert_int_equal(ocp_dec_args(big, OCP_DAEMON_LINE_MAX + 1, argv, 10, &argc), OCP_ETOOLONG);
	assert_int_equal(ocp_dec_args(big, 10, argv, OCP_DAEMON_SERVER_ARGS_MAX + 1, &argc), -EINVAL);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_greeting), cmocka_unit_test(test_daemon_protocol),
	    cmocka_unit_test(test_lines),    cmocka_unit_test(test_linebuf),
	    cmocka_unit_test(test_base64),   cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
