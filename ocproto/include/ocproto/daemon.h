/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto daemon line protocol (upstream clientserver.c, authenticate.c,
 * compat.c output_daemon_greeting() / negotiate_daemon_auth(), io.c
 * read_line_old() / read_args()): the `@RSYNCD:` greeting, the status lines,
 * module listings, a sans-I/O line accumulator with a length cap, challenge
 * and response for password authentication, and the NUL-separated server
 * argument list that follows `@RSYNCD: OK` (protocol >= 30).
 *
 * Lines are passed without their '\n'. Encoders write NUL-terminated text
 * (with the '\n' where the wire has one) and return its length without the
 * NUL, or -ENOBUFS / -EINVAL. Parsers return 0 or a negative OCP_E* code.
 *
 * Concurrency: every function is reentrant; a struct ocp_linebuf belongs to
 * one stream and one thread at a time.
 */
#ifndef OCPROTO_DAEMON_H
#define OCPROTO_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocproto/csum.h"
#include "ocproto/negotiate.h"

/* Longest line upstream reads: a BIGPATHBUFLEN (5120) buffer less the NUL. */
#define OCP_DAEMON_LINE_MAX 5119
/* Most server arguments a client sends (upstream MAX_ARGS). */
#define OCP_DAEMON_ARGS_MAX 1000
/*
 * Most argument lines a daemon takes after the module (upstream read_args():
 * MAX_DAEMON_ARGS, 16 * MAX_ARGS, counting its own argv[0] "rsyncd" and
 * refusing the line that would fill the last slot).
 */
#define OCP_DAEMON_SERVER_ARGS_MAX (16 * OCP_DAEMON_ARGS_MAX - 2)
/* Longest base64 text of a digest: sha512, 64 bytes, unpadded. */
#define OCP_B64_DIGEST_MAX 86

/* A parsed `@RSYNCD: <protocol>.<sub> [digest ...]` greeting. */
struct ocp_greeting {
	int protocol;
	int sub;		     /* 0 when absent (allowed before protocol 30) */
	bool has_digests;	     /* false when the list was omitted */
	struct ocp_namelist digests; /* enum ocp_csum ids, peer's order */
};

/* rsync 3.5.0's auth digest list, "sha512 sha256 sha1 md5 md4". */
void ocp_auth_digests_default(struct ocp_namelist *out);

/*
 * Write "@RSYNCD: <protocol>.<sub>[ <digests>]\n" (digests NULL: no list, as
 * before protocol 32); mirrors upstream `output_daemon_greeting()`.
 */
int ocp_greeting_encode(char *out, size_t cap, int protocol, int sub,
			const struct ocp_namelist *digests);
/*
 * Parse a greeting line; mirrors upstream `exchange_protocols()`: OCP_EPROTO
 * when it does not start "@RSYNCD: <int>", when the ".<sub>" is missing at
 * protocol >= 30, or when the digest list is missing above protocol 31.
 * Unknown digest names are skipped.
 */
int ocp_greeting_parse(const char *line, size_t len, struct ocp_greeting *g);
/*
 * Protocol to use after the greetings; mirrors upstream
 * `exchange_protocols()` (a subprotocol mismatch costs one version).
 * Returns it, or OCP_EVERSION when below 30 or the peer is outside 20..40.
 */
int ocp_daemon_protocol(int ours, int our_sub, const struct ocp_greeting *peer);
/*
 * The auth digest: our most preferred that the peer listed, or md5 when the
 * peer sent no list (protocol 30/31); mirrors `negotiate_daemon_auth()`.
 * Returns an enum ocp_csum or OCP_ENOMATCH.
 */
int ocp_auth_digest_choose(const struct ocp_namelist *ours, const struct ocp_greeting *peer);

/* What a server's line is, as upstream's client loop in `start_inband_exchange()` sees it. */
enum ocp_dline {
	OCP_DLINE_TEXT,	    /* motd or module listing line */
	OCP_DLINE_OK,	    /* "@RSYNCD: OK" */
	OCP_DLINE_EXIT,	    /* "@RSYNCD: EXIT" (end of a module listing) */
	OCP_DLINE_AUTHREQD, /* "@RSYNCD: AUTHREQD <challenge>"; arg = challenge */
	OCP_DLINE_ERROR,    /* "@ERROR..."; arg = text after "@ERROR: " (or "@ERROR") */
};
/* Classify a line; *arg / *arglen (may be NULL) get the argument. */
enum ocp_dline ocp_dline_classify(const char *line, size_t len, const char **arg, size_t *arglen);

/* Write a module listing line "%-15s\t%s\n"; mirrors upstream `send_listing()`. */
int ocp_modlist_encode(char *out, size_t cap, const char *name, const char *comment);
/*
 * Split a listing line at its first tab: the name (trailing blanks removed)
 * and the comment, both pointing into line. OCP_EPROTO without a tab.
 */
int ocp_modlist_parse(const char *line, size_t len, const char **name, size_t *name_len,
		      const char **comment, size_t *comment_len);

/*
 * Sans-I/O line accumulator: collects bytes up to '\n', dropping '\r' as
 * upstream `read_line_old()` does. Fields are private.
 */
struct ocp_linebuf {
	size_t len;
	size_t max;
	int err;
	char buf[OCP_DAEMON_LINE_MAX + 1];
};

/* Start empty; lines longer than max bytes (1..OCP_DAEMON_LINE_MAX) fail. */
int ocp_linebuf_init(struct ocp_linebuf *lb, size_t max);
/*
 * Consume bytes until a line ends or in is used up; returns the count used
 * (> 0 for non-empty input). When a line ended, *line points at it (NUL-
 * terminated, valid until the next call) and *line_len is its length, else
 * *line is NULL. Errors (sticky): OCP_ELINE for a line over max, OCP_EPROTO
 * for a NUL byte (upstream ends the session there).
 */
int ocp_linebuf_feed(struct ocp_linebuf *lb, const uint8_t *in, size_t len, const char **line,
		     size_t *line_len);

/* Unpadded base64 of in[0..len) as upstream's `base64_encode(..., 0)`; NUL-terminated. */
int ocp_base64_encode(char *out, size_t cap, const uint8_t *in, size_t len);
/*
 * The server's challenge: base64 of digest(random[0..len)); mirrors
 * upstream `gen_challenge()` given the random bytes.
 */
int ocp_auth_challenge(char *out, size_t cap, enum ocp_csum digest, const uint8_t *random,
		       size_t len);
/*
 * The client's answer "<user> <base64(digest(password + challenge))>"
 * without a newline; mirrors upstream `auth_client()` / `generate_hash()`.
 * digest is sha512, sha256, sha1, md5 or md4 (-EINVAL otherwise; OCP_ENOTSUP
 * when the crypto library lacks it).
 */
int ocp_auth_response(char *out, size_t cap, enum ocp_csum digest, const char *user,
		      const char *password, const char *challenge);
/*
 * Server side: check a client's answer line "<user> <hash>" for password;
 * returns 0 when it matches (comparing in constant time), -EACCES when not,
 * OCP_EPROTO when the line has no space. *user / *user_len get the name.
 */
int ocp_auth_verify(const char *line, size_t len, enum ocp_csum digest, const char *password,
		    const char *challenge, const char **user, size_t *user_len);

/*
 * Write the server arguments: each NUL-terminated, then an empty one; mirrors
 * upstream `start_inband_exchange()` for protocol >= 30. -EINVAL for an empty
 * argument (it would end the list) or more than OCP_DAEMON_ARGS_MAX.
 * Returns bytes written (binary, not a C string).
 */
int ocp_enc_args(uint8_t *out, size_t cap, const char *const *argv, size_t argc);
/*
 * Read server arguments; the strings are NUL-terminated in buf and argv[i]
 * points at them. At most max_args (<= OCP_DAEMON_SERVER_ARGS_MAX, argv's size)
 * arguments, each at most OCP_DAEMON_LINE_MAX bytes, else OCP_ETOOLONG.
 * Returns bytes consumed with the final empty argument, or 0 for need more.
 */
int ocp_dec_args(const uint8_t *buf, size_t len, const char **argv, size_t max_args, size_t *argc);

#endif /* OCPROTO_DAEMON_H */
