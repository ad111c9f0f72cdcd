/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for ocproto/daemon.h. The input is fed to the line
 * accumulator whole and in an input-chosen chunking (both runs must yield
 * the same lines, each within the cap and free of '\n', '\r' and NUL); each
 * line is parsed as a greeting, classified and split as a listing line; the
 * input is also read as a server-argument list, which must re-encode to the
 * same bytes. Any violation traps.
 *
 * Input: byte 0 picks the line cap (16 << b % 9, at most the upstream cap)
 * and the chunk size (1 + b / 9); the rest is the stream.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocproto/daemon.h"
#include "ocproto/err.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static void
check_line(const char *line, size_t len)
{
	struct ocp_greeting g;
	const char *a, *b;
	size_t al, bl;
	int rc;

	CHECK(strlen(line) == len);
	CHECK(!memchr(line, '\n', len) && !memchr(line, '\r', len));
	rc = ocp_greeting_parse(line, len, &g);
	CHECK(rc == 0 || rc == OCP_EPROTO);
	if (rc == 0) {
		struct ocp_namelist ours;
		char out[256];
		int p = ocp_daemon_protocol(32, 0, &g), c;

		CHECK(p == OCP_EVERSION || (p >= 30 && p <= 32));
		ocp_auth_digests_default(&ours);
		c = ocp_auth_digest_choose(&ours, &g);
		CHECK(c == OCP_ENOMATCH || ocp_csum_len(c) > 0);
		CHECK(ocp_greeting_encode(out, sizeof(out), g.protocol, g.sub,
					  g.has_digests ? &g.digests : NULL) > 0);
	}
	(void)ocp_dline_classify(line, len, &a, &al);
	CHECK(a >= line && a + al == line + len);
	rc = ocp_modlist_parse(line, len, &a, &al, &b, &bl);
	CHECK(rc == 0 || rc == OCP_EPROTO);
	if (rc == 0)
		CHECK(al < len && b + bl == line + len);
}

/* Feed in chunks of `chunk`; return the number of lines and an FNV hash of them. */
static int
run(const uint8_t *buf, size_t len, size_t max, size_t chunk, uint64_t *hash)
{
	struct ocp_linebuf *lb = malloc(sizeof(*lb));
	size_t off = 0;
	int lines = 0, rc = 0;

	CHECK(lb != NULL);
	CHECK(ocp_linebuf_init(lb, max) == 0);
	*hash = 1469598103934665603ull;
	while (off < len) {
		size_t take = len - off < chunk ? len - off : chunk;
		const char *line;
		size_t ll;

		rc = ocp_linebuf_feed(lb, buf + off, take, &line, &ll);
		if (rc < 0) {
			CHECK(rc == OCP_ELINE || rc == OCP_EPROTO);
			CHECK(ocp_linebuf_feed(lb, buf, 1, &line, &ll) == rc);
			break;
		}
		CHECK(rc > 0 && (size_t)rc <= take);
		off += (size_t)rc;
		if (line) {
			CHECK(ll <= max);
			check_line(line, ll);
			for (size_t i = 0; i <= ll; i++)
				*hash = (*hash ^ (uint8_t)line[i]) * 1099511628211ull;
			lines++;
		}
	}
	free(lb);
	return rc < 0 ? rc : lines;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char **argv;
	size_t max, chunk, argc;
	uint64_t h1, h2;
	int rc;

	if (size < 1)
		return 0;
	max = (size_t)16 << data[0] % 9;
	if (max > OCP_DAEMON_LINE_MAX)
		max = OCP_DAEMON_LINE_MAX;
	chunk = 1 + data[0] / 9;
	data++;
	size--;
	CHECK(run(data, size, max, size ? size : 1, &h1) == run(data, size, max, chunk, &h2));
	CHECK(h1 == h2);

	argv = malloc(OCP_DAEMON_ARGS_MAX * sizeof(*argv));
	CHECK(argv != NULL);
	rc = ocp_dec_args(data, size, argv, OCP_DAEMON_ARGS_MAX, &argc);
	CHECK(rc == 0 || rc == OCP_ETOOLONG || (rc > 0 && (size_t)rc <= size));
	if (rc > 0) {
		uint8_t *out = malloc((size_t)rc);

		CHECK(out != NULL);
		CHECK(ocp_enc_args(out, (size_t)rc, argv, argc) == rc);
		CHECK(memcmp(out, data, (size_t)rc) == 0);
		free(out);
	}
	free(argv);
	return 0;
}
