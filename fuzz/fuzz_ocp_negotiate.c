/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for ocproto/negotiate.h. The input is read as a server's
 * setup block (compat flags, name lists, seed) and as single name lists;
 * what decodes must re-encode and decode to the same values, every prefix
 * of an accepted input must ask for more, and failures must be OCP_E* codes.
 * The input as a C string is also parsed as a capability cluster, whose
 * letters must survive an encode/parse round trip. Any violation traps.
 *
 * Input: byte 0 picks the advertised capabilities (low 7 bits spread over
 * the 9 flags) and whether compression is on (bit 7); the rest is decoded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocproto/err.h"
#include "ocproto/negotiate.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static void
same_list(const struct ocp_namelist *a, const struct ocp_namelist *b)
{
	CHECK(a->n == b->n && memcmp(a->id, b->id, a->n) == 0);
}

static void
fuzz_setup(const uint8_t *buf, size_t len, uint32_t adv, bool z)
{
	struct ocp_setup s, t;
	uint8_t out[1024];
	int rc = ocp_dec_setup(buf, len, adv, z, &s), n;

	CHECK(rc == 0 || ocp_is_proto_err(rc) || (rc > 0 && (size_t)rc <= len));
	if (rc <= 0)
		return;
	CHECK((s.compat & ~(adv | OCP_CF_SERVER_OWN)) == 0);
	CHECK(ocp_dec_setup(buf, (size_t)rc - 1, adv, z, &t) == 0);
	n = ocp_enc_setup(out, sizeof(out), &s, z);
	CHECK(n > 0);
	CHECK(ocp_dec_setup(out, (size_t)n, adv, z, &t) == n);
	CHECK(t.compat == s.compat && t.seed == s.seed);
	same_list(&s.csums, &t.csums);
	same_list(&s.compress, &t.compress);
	if (s.csums.n) {
		struct ocp_namelist ours;
		int c;

		ocp_namelist_default(OCP_NSTR_CHECKSUM, false, &ours);
		c = ocp_nstr_choose(&ours, &s.csums);
		CHECK(c == OCP_ENOMATCH || (c >= 0 && memchr(s.csums.id, c, s.csums.n)));
	}
}

static void
fuzz_lists(const uint8_t *buf, size_t len)
{
	for (int kind = OCP_NSTR_CHECKSUM; kind <= OCP_NSTR_COMPRESS; kind++) {
		struct ocp_namelist l, m;
		uint8_t out[300];
		int rc = ocp_dec_namelist(buf, len, kind, &l), n;

		CHECK(rc == 0 || ocp_is_proto_err(rc) || (rc > 0 && (size_t)rc <= len));
		if (rc <= 0)
			continue;
		n = ocp_enc_namelist(out, sizeof(out), kind, &l);
		CHECK(n > 0 && n <= rc);
		CHECK(ocp_dec_namelist(out, (size_t)n, kind, &m) == n);
		same_list(&l, &m);
	}
}

static void
fuzz_caps(const uint8_t *buf, size_t len)
{
	char *s = malloc(len + 1), enc[OCP_CAPS_STR_MAX + 1];
	uint32_t caps, back;
	int rc;

	CHECK(s != NULL);
	memcpy(s, buf, len);
	s[len] = '\0';
	rc = ocp_caps_parse(s, &caps);
	CHECK(rc == 0 || rc == -ENOENT || rc == OCP_EPROTO);
	if (rc == 0) {
		CHECK((caps & ~OCP_CF_ALL) == 0);
		enc[0] = '-';
		CHECK(ocp_caps_encode(enc + 1, sizeof(enc) - 1, caps) > 0);
		CHECK(ocp_caps_parse(enc, &back) == 0 && back == caps);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t adv;
	bool z;

	if (size < 1)
		return 0;
	adv = (uint32_t)(data[0] & 0x7f) * 0x1ffu / 0x7fu;
	z = data[0] & 0x80;
	fuzz_setup(data + 1, size - 1, adv, z);
	fuzz_setup(data + 1, size - 1, OCP_CF_ALL, z);
	fuzz_lists(data + 1, size - 1);
	fuzz_caps(data + 1, size - 1);
	return 0;
}
