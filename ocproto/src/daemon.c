/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Daemon line protocol; see ocproto/daemon.h for the rules. Written from
 * upstream's behaviour and checked against a real `rsync --daemon`
 * (tests/unit/test_ocp_daemon.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ocproto/daemon.h"
#include "ocproto/err.h"

#define GREETING_PREFIX "@RSYNCD: "
#define PREFIX_LEN	(sizeof(GREETING_PREFIX) - 1)

static const uint8_t auth_default[] = {OCP_CSUM_SHA512, OCP_CSUM_SHA256, OCP_CSUM_SHA1,
				       OCP_CSUM_MD5, OCP_CSUM_MD4};

static bool
is_auth_digest(int t)
{
	return memchr(auth_default, t, sizeof(auth_default)) != NULL;
}

void
ocp_auth_digests_default(struct ocp_namelist *out)
{
	memcpy(out->id, auth_default, sizeof(auth_default));
	out->n = sizeof(auth_default);
}

/* snprintf into out; -ENOBUFS when it does not fit. */
static int
fits(int n, size_t cap)
{
	return n < 0 ? -EINVAL : (size_t)n >= cap ? -ENOBUFS : n;
}

int
ocp_greeting_encode(char *out, size_t cap, int protocol, int sub,
		    const struct ocp_namelist *digests)
{
	size_t n;
	int rc;

	if (protocol < 0 || sub < 0 || (digests && digests->n > OCP_NAMELIST_MAX))
		return -EINVAL;
	rc = fits(snprintf(out, cap, GREETING_PREFIX "%d.%d", protocol, sub), cap);
	if (rc < 0)
		return rc;
	n = (size_t)rc;
	for (unsigned i = 0; digests && i < digests->n; i++) {
		if (!is_auth_digest(digests->id[i]))
			return -EINVAL;
		rc =
		    fits(snprintf(out + n, cap - n, " %s", ocp_csum_name(digests->id[i])), cap - n);
		if (rc < 0)
			return rc;
		n += (size_t)rc;
	}
	rc = fits(snprintf(out + n, cap - n, "\n"), cap - n);
	return rc < 0 ? rc : (int)(n + (size_t)rc);
}

/* Read a small decimal number at line[*i]; false when there is none. */
static bool
get_num(const char *line, size_t len, size_t *i, int *v)
{
	size_t start = *i;
	int x = 0;

	while (*i < len && line[*i] >= '0' && line[*i] <= '9' && *i - start < 6)
		x = x * 10 + (line[(*i)++] - '0');
	if (*i == start || (*i < len && line[*i] >= '0' && line[*i] <= '9'))
		return false;
	*v = x;
	return true;
}

int
ocp_greeting_parse(const char *line, size_t len, struct ocp_greeting *g)
{
	struct ocp_greeting v = {0};
	size_t i = PREFIX_LEN;
	bool has_sub = false;

	if (len < PREFIX_LEN || memcmp(line, GREETING_PREFIX, PREFIX_LEN) != 0)
		return OCP_EPROTO;
	if (!get_num(line, len, &i, &v.protocol))
		return OCP_EPROTO;
	if (i < len && line[i] == '.') {
		i++;
		has_sub = get_num(line, len, &i, &v.sub);
	}
	if (!has_sub && v.protocol >= 30)
		return OCP_EPROTO; /* upstream: "omitted the subprotocol value" */
	/* As upstream, the list is whatever follows the first space. */
	while (i < len && line[i] != ' ')
		i++;
	if (i < len) {
		v.has_digests = true;
		for (i++; i < len;) {
			size_t j = i;
			int t;

			while (j < len && line[j] != ' ')
				j++;
			t = ocp_csum_by_name(line + i, j - i);
			if (t >= 0 && is_auth_digest(t) && v.digests.n < OCP_NAMELIST_MAX &&
			    !memchr(v.digests.id, t, v.digests.n))
				v.digests.id[v.digests.n++] = (uint8_t)t;
			i = j + 1;
		}
	} else if (v.protocol > 31) {
		return OCP_EPROTO; /* upstream: "omitted the digest name list" */
	}
	*g = v;
	return 0;
}

int
ocp_daemon_protocol(int ours, int our_sub, const struct ocp_greeting *peer)
{
	int p = ours;

	if (peer->protocol < 20 || peer->protocol > 40)
		return OCP_EVERSION;
	if (ours > peer->protocol)
		p = peer->protocol - (peer->sub != 0);
	else if (ours == peer->protocol)
		p = ours - (peer->sub != our_sub);
	else
		p = ours - (our_sub != 0);
	return p < OCP_PROTOCOL_MIN || p > OCP_PROTOCOL_MAX ? OCP_EVERSION : p;
}

int
ocp_auth_digest_choose(const struct ocp_namelist *ours, const struct ocp_greeting *peer)
{
	struct ocp_namelist md5 = {.n = 1, .id = {OCP_CSUM_MD5}};

	return ocp_nstr_choose(ours, peer->has_digests ? &peer->digests : &md5);
}

/* Does line[0..len) start with the NUL-terminated s? */
static bool
starts(const char *line, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(line, s, n) == 0;
}

enum ocp_dline
ocp_dline_classify(const char *line, size_t len, const char **arg, size_t *arglen)
{
	enum ocp_dline k = OCP_DLINE_TEXT;
	size_t skip = 0;

	if (len == 11 && starts(line, len, "@RSYNCD: OK")) {
		k = OCP_DLINE_OK;
		skip = len;
	} else if (len == 13 && starts(line, len, "@RSYNCD: EXIT")) {
		k = OCP_DLINE_EXIT;
		skip = len;
	} else if (starts(line, len, "@RSYNCD: AUTHREQD ")) {
		k = OCP_DLINE_AUTHREQD;
		skip = 18;
	} else if (starts(line, len, "@ERROR")) {
		k = OCP_DLINE_ERROR;
		skip = starts(line, len, "@ERROR: ") ? 8 : 6;
	}
	if (arg)
		*arg = line + skip;
	if (arglen)
		*arglen = len - skip;
	return k;
}

int
ocp_modlist_encode(char *out, size_t cap, const char *name, const char *comment)
{
	return fits(snprintf(out, cap, "%-15s\t%s\n", name, comment), cap);
}

int
ocp_modlist_parse(const char *line, size_t len, const char **name, size_t *name_len,
		  const char **comment, size_t *comment_len)
{
	const char *tab = memchr(line, '\t', len);
	size_t n;

	if (!tab)
		return OCP_EPROTO;
	n = (size_t)(tab - line);
	while (n > 0 && line[n - 1] == ' ')
		n--;
	*name = line;
	*name_len = n;
	*comment = tab + 1;
	*comment_len = len - (size_t)(tab - line) - 1;
	return 0;
}

/* --- line accumulator ------------------------------------------------------ */

int
ocp_linebuf_init(struct ocp_linebuf *lb, size_t max)
{
	if (max < 1 || max > OCP_DAEMON_LINE_MAX)
		return -EINVAL;
	lb->len = 0;
	lb->max = max;
	lb->err = 0;
	return 0;
}

int
ocp_linebuf_feed(struct ocp_linebuf *lb, const uint8_t *in, size_t len, const char **line,
		 size_t *line_len)
{
	size_t i;

	*line = NULL;
	if (lb->err)
		return lb->err;
	for (i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (c == '\n') {
			lb->buf[lb->len] = '\0';
			*line = lb->buf;
			*line_len = lb->len;
			lb->len = 0;
			return (int)(i + 1);
		}
		if (c == '\0')
			return lb->err = OCP_EPROTO;
		if (c == '\r')
			continue;
		if (lb->len >= lb->max)
			return lb->err = OCP_ELINE;
		lb->buf[lb->len++] = (char)c;
	}
	return (int)i;
}

/* --- authentication -------------------------------------------------------- */

int
ocp_base64_encode(char *out, size_t cap, const uint8_t *in, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = (len * 8 + 5) / 6, o = 0;

	if (cap < n + 1)
		return -ENOBUFS;
	/* Three bytes make four characters; a short tail makes two or three. */
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		for (int k = 0; k < 4 && o < n; k++)
			out[o++] = b64[(v >> (18 - 6 * k)) & 0x3F];
	}
	out[o] = '\0';
	return (int)o;
}

/* base64(digest(a || b)) into out. */
static int
digest_b64(char *out, size_t cap, enum ocp_csum digest, const void *a, size_t alen, const void *b,
	   size_t blen)
{
	uint8_t sum[OCP_CSUM_DIGEST_MAX];
	struct ocp_csum_ctx c;
	int rc;

	if (!is_auth_digest(digest))
		return -EINVAL;
	rc = ocp_csum_begin(&c, digest);
	if (rc == 0)
		rc = ocp_csum_update(&c, a, alen);
	if (rc == 0)
		rc = ocp_csum_update(&c, b, blen);
	if (rc == 0)
		rc = ocp_csum_end(&c, sum);
	ocp_csum_free(&c);
	if (rc < 0)
		return rc;
	return ocp_base64_encode(out, cap, sum, (size_t)rc);
}

int
ocp_auth_challenge(char *out, size_t cap, enum ocp_csum digest, const uint8_t *random, size_t len)
{
	return digest_b64(out, cap, digest, random, len, "", 0);
}

int
ocp_auth_response(char *out, size_t cap, enum ocp_csum digest, const char *user,
		  const char *password, const char *challenge)
{
	char hash[OCP_B64_DIGEST_MAX + 1];
	int rc = digest_b64(hash, sizeof(hash), digest, password, strlen(password), challenge,
			    strlen(challenge));

	if (rc < 0)
		return rc;
	return fits(snprintf(out, cap, "%s %s", user, hash), cap);
}

int
ocp_auth_verify(const char *line, size_t len, enum ocp_csum digest, const char *password,
		const char *challenge, const char **user, size_t *user_len)
{
	char want[OCP_B64_DIGEST_MAX + 1];
	const char *sp = memchr(line, ' ', len);
	const char *got;
	size_t glen;
	unsigned diff = 0;
	int rc;

	if (!sp)
		return OCP_EPROTO;
	rc = digest_b64(want, sizeof(want), digest, password, strlen(password), challenge,
			strlen(challenge));
	if (rc < 0)
		return rc;
	*user = line;
	*user_len = (size_t)(sp - line);
	got = sp + 1;
	glen = len - *user_len - 1;
	if (glen != (size_t)rc)
		return -EACCES;
	for (size_t i = 0; i < glen; i++)
		diff |= (unsigned)(got[i] ^ want[i]);
	return diff ? -EACCES : 0;
}

/* --- server arguments ------------------------------------------------------ */

int
ocp_enc_args(uint8_t *out, size_t cap, const char *const *argv, size_t argc)
{
	size_t n = 0;

	if (argc > OCP_DAEMON_ARGS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]);

		if (l == 0 || l > OCP_DAEMON_LINE_MAX)
			return -EINVAL;
		if (cap - n < l + 1)
			return -ENOBUFS;
		memcpy(out + n, argv[i], l + 1);
		n += l + 1;
	}
	if (cap - n < 1)
		return -ENOBUFS;
	out[n++] = 0;
	return (int)n;
}

int
ocp_dec_args(const uint8_t *buf, size_t len, const char **argv, size_t max_args, size_t *argc)
{
	size_t i = 0, n = 0;

	if (max_args > OCP_DAEMON_SERVER_ARGS_MAX)
		return -EINVAL;
	while (i < len) {
		const uint8_t *z =
		    memchr(buf + i, 0,
			   len - i < OCP_DAEMON_LINE_MAX + 1 ? len - i : OCP_DAEMON_LINE_MAX + 1);

		if (!z)
			return len - i > OCP_DAEMON_LINE_MAX ? OCP_ETOOLONG : 0;
		if (z == buf + i) {
			*argc = n;
			return (int)(i + 1);
		}
		if (n == max_args)
			return OCP_ETOOLONG;
		argv[n++] = (const char *)buf + i;
		i = (size_t)(z - buf) + 1;
	}
	return 0;
}
