/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Session negotiation; see ocproto/negotiate.h for the rules. Written from
 * upstream's behaviour and checked against handshakes captured from rsync
 * 3.5.0 (tests/unit/test_ocp_negotiate.c).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "ocproto/csum.h"
#include "ocproto/err.h"
#include "ocproto/int.h"
#include "ocproto/negotiate.h"

/* Capability letters in compat-flag bit order (upstream's order in -e.). */
static const char cap_letters[] = "iLsfxCIvu";

/* Upstream's oldest and newest accepted peer protocol (rsync.h). */
#define UPSTREAM_PROTOCOL_MIN 20
#define UPSTREAM_PROTOCOL_MAX 40

int
ocp_caps_encode(char *out, size_t cap, uint32_t caps)
{
	size_t n = 0;

	if (caps & ~OCP_CF_ALL)
		return -EINVAL;
	if (cap < 3 + (size_t)__builtin_popcount(caps))
		return -ENOBUFS; /* "e.", the letters and the NUL */
	out[n++] = 'e';
	out[n++] = '.';
	for (int i = 0; cap_letters[i]; i++) {
		if (caps & (1u << i))
			out[n++] = cap_letters[i];
	}
	out[n] = '\0';
	return (int)n;
}

int
ocp_caps_parse(const char *arg, uint32_t *caps)
{
	const char *p;
	uint32_t v = 0;

	if (arg[0] != '-' || arg[1] == '-' || arg[1] == '\0')
		return OCP_EPROTO;
	p = strchr(arg + 1, 'e');
	if (!p)
		return -ENOENT;
	/* "." or a pre-release "VER.SUB" precedes the letters. */
	for (p++; (*p >= '0' && *p <= '9') || *p == '.'; p++)
		;
	for (; *p; p++) {
		const char *l = strchr(cap_letters, *p);

		if (l)
			v |= 1u << (l - cap_letters);
	}
	*caps = v;
	return 0;
}

uint32_t
ocp_compat_server(uint32_t client_caps, uint32_t server_caps)
{
	return (client_caps & server_caps & OCP_CF_ALL & ~OCP_CF_SERVER_OWN) |
	       (server_caps & OCP_CF_SERVER_OWN);
}

int
ocp_enc_compat(uint8_t *out, size_t cap, uint32_t flags)
{
	if (flags & ~OCP_CF_ALL)
		return -EINVAL;
	return ocp_enc_varint(out, cap, (int32_t)flags);
}

int
ocp_dec_compat(const uint8_t *buf, size_t len, uint32_t advertised, uint32_t *flags)
{
	int32_t v;
	int rc = ocp_dec_varint(buf, len, &v);

	if (rc <= 0)
		return rc;
	if (v < 0 || ((uint32_t)v & ~(advertised | OCP_CF_SERVER_OWN) & OCP_CF_ALL) ||
	    ((uint32_t)v & ~OCP_CF_ALL))
		return OCP_ECOMPAT;
	*flags = (uint32_t)v;
	return rc;
}

int
ocp_protocol_choose(int ours, int peer)
{
	int v;

	if (peer < UPSTREAM_PROTOCOL_MIN || peer > UPSTREAM_PROTOCOL_MAX)
		return OCP_EVERSION;
	v = ours < peer ? ours : peer;
	return v < OCP_PROTOCOL_MIN || v > OCP_PROTOCOL_MAX ? OCP_EVERSION : v;
}

/* --- name lists ------------------------------------------------------------ */

static const char *const compress_names[OCP_COMPRESS_COUNT] = {
    [OCP_COMPRESS_NONE] = "none", [OCP_COMPRESS_ZLIB] = "zlib", [OCP_COMPRESS_ZLIBX] = "zlibx",
    [OCP_COMPRESS_LZ4] = "lz4",	  [OCP_COMPRESS_ZSTD] = "zstd",
};

/* rsync 3.5.0's preference orders, "none" last. */
static const uint8_t default_csums[] = {OCP_CSUM_XXH128, OCP_CSUM_XXH3, OCP_CSUM_XXH64,
					OCP_CSUM_MD5,	 OCP_CSUM_MD4,	OCP_CSUM_SHA1,
					OCP_CSUM_NONE};
static const uint8_t default_compress[] = {OCP_COMPRESS_ZSTD, OCP_COMPRESS_LZ4, OCP_COMPRESS_ZLIBX,
					   OCP_COMPRESS_ZLIB, OCP_COMPRESS_NONE};

/* Only the transfer checksums take part in negotiation, not sha256/sha512. */
static int
kind_count(enum ocp_nstr_kind kind)
{
	return kind == OCP_NSTR_CHECKSUM ? OCP_CSUM_SHA256 : OCP_COMPRESS_COUNT;
}

const char *
ocp_nstr_name(enum ocp_nstr_kind kind, int id)
{
	if (kind != OCP_NSTR_CHECKSUM && kind != OCP_NSTR_COMPRESS)
		return NULL;
	if (id < 0 || id >= kind_count(kind))
		return NULL;
	return kind == OCP_NSTR_CHECKSUM ? ocp_csum_name(id) : compress_names[id];
}

static int
nstr_by_name(enum ocp_nstr_kind kind, const char *s, size_t len)
{
	if (kind == OCP_NSTR_CHECKSUM) {
		int id = ocp_csum_by_name(s, len);

		return id < kind_count(kind) ? id : -1;
	}
	for (int id = 0; id < OCP_COMPRESS_COUNT; id++) {
		if (strlen(compress_names[id]) == len &&
		    strncasecmp(s, compress_names[id], len) == 0)
			return id;
	}
	return -1;
}

int
ocp_namelist_default(enum ocp_nstr_kind kind, bool server, struct ocp_namelist *out)
{
	const uint8_t *d;
	size_t n;

	if (kind == OCP_NSTR_CHECKSUM) {
		d = default_csums;
		n = sizeof(default_csums);
	} else if (kind == OCP_NSTR_COMPRESS) {
		d = default_compress;
		n = sizeof(default_compress);
	} else {
		return -EINVAL;
	}
	if (!server)
		n--; /* the client never offers "none" */
	memcpy(out->id, d, n);
	out->n = (uint8_t)n;
	return 0;
}

int
ocp_enc_namelist(uint8_t *out, size_t cap, enum ocp_nstr_kind kind, const struct ocp_namelist *l)
{
	char text[OCP_NSTR_MAX + 1];
	size_t n = 0;

	if (l->n > OCP_NAMELIST_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < l->n; i++) {
		const char *name = ocp_nstr_name(kind, l->id[i]);
		size_t nl;

		if (!name)
			return -EINVAL;
		nl = strlen(name);
		if (n + (n > 0) + nl > OCP_NSTR_MAX)
			return -EINVAL;
		if (n > 0)
			text[n++] = ' ';
		memcpy(text + n, name, nl);
		n += nl;
	}
	return ocp_enc_vstring(out, cap, text, n);
}

int
ocp_dec_namelist(const uint8_t *buf, size_t len, enum ocp_nstr_kind kind, struct ocp_namelist *l)
{
	const uint8_t *s;
	size_t slen, i = 0;
	struct ocp_namelist v = {0};
	uint32_t seen = 0;
	int rc;

	if (kind != OCP_NSTR_CHECKSUM && kind != OCP_NSTR_COMPRESS)
		return -EINVAL;
	rc = ocp_dec_vstring(buf, len, OCP_NSTR_MAX, &s, &slen);
	if (rc <= 0)
		return rc;
	while (i < slen) {
		size_t j = i;
		int id;

		while (j < slen && s[j] != ' ')
			j++;
		id = j > i ? nstr_by_name(kind, (const char *)s + i, j - i) : -1;
		if (id >= 0 && !(seen & (1u << id)) && v.n < OCP_NAMELIST_MAX) {
			seen |= 1u << id;
			v.id[v.n++] = (uint8_t)id;
		}
		i = j + 1;
	}
	*l = v;
	return rc;
}

int
ocp_nstr_choose(const struct ocp_namelist *ours, const struct ocp_namelist *peer)
{
	for (unsigned i = 0; i < ours->n && i < OCP_NAMELIST_MAX; i++) {
		for (unsigned j = 0; j < peer->n && j < OCP_NAMELIST_MAX; j++) {
			if (ours->id[i] == peer->id[j])
				return ours->id[i];
		}
	}
	return OCP_ENOMATCH;
}

/* --- the server's setup block ---------------------------------------------- */

int
ocp_enc_setup(uint8_t *out, size_t cap, const struct ocp_setup *s, bool compressing)
{
	size_t n = 0;
	int rc;

	rc = ocp_enc_compat(out, cap, s->compat);
	if (rc < 0)
		return rc;
	n += (size_t)rc;
	if (s->compat & OCP_CF_VARINT_FLIST_FLAGS) {
		rc = ocp_enc_namelist(out + n, cap - n, OCP_NSTR_CHECKSUM, &s->csums);
		if (rc < 0)
			return rc;
		n += (size_t)rc;
		if (compressing) {
			rc = ocp_enc_namelist(out + n, cap - n, OCP_NSTR_COMPRESS, &s->compress);
			if (rc < 0)
				return rc;
			n += (size_t)rc;
		}
	}
	rc = ocp_enc_int32(out + n, cap - n, s->seed);
	if (rc < 0)
		return rc;
	return (int)(n + (size_t)rc);
}

int
ocp_dec_setup(const uint8_t *buf, size_t len, uint32_t advertised, bool compressing,
	      struct ocp_setup *s)
{
	struct ocp_setup v = {0};
	size_t n = 0;
	int rc;

	rc = ocp_dec_compat(buf, len, advertised, &v.compat);
	if (rc <= 0)
		return rc;
	n += (size_t)rc;
	if (v.compat & OCP_CF_VARINT_FLIST_FLAGS) {
		rc = ocp_dec_namelist(buf + n, len - n, OCP_NSTR_CHECKSUM, &v.csums);
		if (rc <= 0)
			return rc;
		n += (size_t)rc;
		if (compressing) {
			rc = ocp_dec_namelist(buf + n, len - n, OCP_NSTR_COMPRESS, &v.compress);
			if (rc <= 0)
				return rc;
			n += (size_t)rc;
		}
	}
	rc = ocp_dec_int32(buf + n, len - n, &v.seed);
	if (rc <= 0)
		return rc;
	*s = v;
	return (int)(n + (size_t)rc);
}
