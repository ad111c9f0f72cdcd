/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the sum-head codec and block-size rule of
 * ocproto/csum.h. An accepted head must satisfy every limit upstream's
 * read_sum_head() enforces (CVE-2024-12084, CVE-2024-12085) and re-encode to
 * the same bytes; a head from ocp_sum_sizes() for any length must be
 * accepted; the rolling weak sum must agree with a fresh one. Traps on any
 * violation.
 *
 * Input: byte 0 picks the protocol (29 + b % 4) and the digest length
 * (1 + b / 4 % 64); the rest is a sum head, then data for the weak sum.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ocproto/csum.h"
#include "ocproto/err.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocp_sum_head h, g;
	uint8_t out[OCP_SUM_HEAD_SIZE];
	int protocol, dlen, rc;
	uint64_t bits = 0;
	int64_t flen;

	if (size < 1)
		return 0;
	protocol = 29 + data[0] % 4;
	dlen = 1 + data[0] / 4 % 64;
	data++;
	size--;

	rc = ocp_dec_sum_head(data, size, protocol, dlen, &h);
	CHECK(rc == 0 || rc == OCP_ESUMHEAD || rc == OCP_SUM_HEAD_SIZE);
	CHECK(rc != 0 || size < OCP_SUM_HEAD_SIZE);
	if (rc == OCP_SUM_HEAD_SIZE) {
		CHECK(h.count >= 0 && h.blength >= 0 && h.s2length >= 0 && h.remainder >= 0);
		CHECK(h.blength <= (protocol < 30 ? 1 << 29 : OCP_MAX_BLOCK_SIZE));
		CHECK(h.count == 0 || h.blength > 0);
		CHECK(h.s2length <= dlen && h.remainder <= h.blength);
		CHECK(ocp_enc_sum_head(out, sizeof(out), &h) == OCP_SUM_HEAD_SIZE);
		CHECK(memcmp(out, data, OCP_SUM_HEAD_SIZE) == 0);
	}

	for (size_t i = 0; i < 8 && i < size; i++)
		bits = bits << 8 | data[i];
	flen = (int64_t)(bits >> 2); /* any length up to 2^62 */
	rc = ocp_sum_sizes(flen, protocol, 0, dlen, size & 1, &g);
	CHECK(rc == 0 || rc == -EOVERFLOW);
	if (rc == 0) {
		CHECK(ocp_enc_sum_head(out, sizeof(out), &g) == OCP_SUM_HEAD_SIZE);
		CHECK(ocp_dec_sum_head(out, sizeof(out), protocol, dlen, &h) == OCP_SUM_HEAD_SIZE);
		CHECK((int64_t)(g.count - (g.remainder != 0)) * g.blength + g.remainder == flen);
	}

	if (size > 1) {
		size_t win = 1 + data[0] % (size - 1) / 2;
		struct ocp_rsum r;

		if (win < size) {
			ocp_rsum_init(&r, data, win);
			for (size_t k = 0; k + win < size; k++)
				ocp_rsum_roll(&r, data[k], data[k + win]);
			CHECK(ocp_rsum_value(&r) == ocp_csum1(data + size - win, win));
		}
	}
	return 0;
}
