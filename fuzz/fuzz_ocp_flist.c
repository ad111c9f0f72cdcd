/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for ocproto/flist.h. The input is decoded as a file list
 * with options taken from its first two bytes; every decoded entry must
 * satisfy the decoder's promises (a safe name, a known type, bounded
 * lengths) and re-encode, and the re-encoded list must decode to the same
 * entries. The rest is then read as uid/gid lists. Any violation traps.
 *
 * Input: byte 0 bits pick -o -g -D -l -H --numeric-ids, -c (16 bytes) and
 * varint flags; byte 1 picks the protocol (30 + b % 3) and inc_recurse.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ocproto/err.h"
#include "ocproto/flist.h"
#include "ocproto/negotiate.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define MAXE 32

static struct ocp_fentry a[MAXE], b[MAXE];
static uint8_t enc[MAXE * 2200 + 16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocp_flist_opts o = {0};
	struct ocp_flist_state st, es, ds;
	struct ocp_idname ids[8];
	size_t off = 0, n = 0, eo = 0, i, k;
	bool id0;
	int r;

	if (size < 2)
		return 0;
	o.owner = data[0] & 1;
	o.group = data[0] & 2;
	o.devices = o.specials = data[0] & 4;
	o.links = data[0] & 8;
	o.hard_links = data[0] & 16;
	o.numeric_ids = data[0] & 32;
	o.csum_len = data[0] & 64 ? 16 : 0;
	o.compat = (data[0] & 128 ? OCP_CF_VARINT_FLIST_FLAGS : 0) | OCP_CF_ID0_NAMES |
		   (data[1] & 4 ? OCP_CF_INC_RECURSE : 0) | (data[1] & 8 ? OCP_CF_SAFE_FLIST : 0);
	o.protocol = 30 + data[1] % 3;
	id0 = data[1] & 16;
	data += 2;
	size -= 2;
	CHECK(ocp_flist_init(&st, &o) == 0);
	while (n < MAXE && !ocp_flist_done(&st)) {
		r = ocp_flist_dec(&st, data + off, size - off, a, &a[n]);
		CHECK(r == 0 || (r > 0 && (size_t)r <= size - off) || ocp_is_proto_err(r));
		if (r <= 0)
			break;
		off += (size_t)r;
		if (ocp_flist_done(&st))
			break;
		CHECK(a[n].name_len > 0 && a[n].name_len <= OCP_FLIST_NAME_MAX);
		CHECK(strlen(a[n].name) == a[n].name_len && a[n].name[0] != '/');
		CHECK(!strstr(a[n].name, "..") || strcmp(a[n].name, "..") != 0);
		CHECK(a[n].mtime_nsec <= OCP_FLIST_NSEC_MAX && a[n].size >= 0);
		CHECK(!a[n].hlinked || o.hard_links);
		CHECK(a[n].hlink_first < (int32_t)n);
		n++;
	}
	/* Re-encode what decoded and decode it again: same entries. */
	CHECK(ocp_flist_init(&es, &o) == 0);
	for (i = 0; i < n; i++) {
		/* Names inline only when the input had them and inc_recurse allows. */
		r = ocp_flist_enc(&es, enc + eo, sizeof(enc) - eo, &a[i]);
		CHECK(r > 0);
		eo += (size_t)r;
	}
	r = ocp_flist_enc_end(&es, enc + eo, sizeof(enc) - eo, 0);
	CHECK(r > 0);
	eo += (size_t)r;
	CHECK(ocp_flist_init(&ds, &o) == 0);
	for (i = 0, k = 0; !ocp_flist_done(&ds); k++) {
		r = ocp_flist_dec(&ds, enc + i, eo - i, b, &b[k]);
		CHECK(r > 0);
		i += (size_t)r;
		if (ocp_flist_done(&ds))
			break;
		CHECK(!strcmp(a[k].name, b[k].name) && a[k].mode == b[k].mode);
		CHECK(a[k].mtime == b[k].mtime && a[k].uid == b[k].uid && a[k].gid == b[k].gid);
		CHECK(a[k].hlink_first == b[k].hlink_first && a[k].link_len == b[k].link_len);
	}
	CHECK(k == n && i == eo);
	/* Sort and clean what we have; clean must not drop everything. */
	if (n) {
		struct ocp_fentry *v[MAXE];

		for (i = 0; i < n; i++)
			v[i] = &a[i];
		CHECK(ocp_flist_sort(v, n) == 0);
		for (i = 1; i < n; i++)
			CHECK(ocp_flist_cmp(v[i - 1], v[i]) <= 0);
		CHECK(ocp_flist_clean(v, n) < n);
	}
	r = ocp_flist_dec_idlist(data + off, size - off, id0, ids, 8, &k);
	CHECK(r == 0 || r > 0 || ocp_is_proto_err(r));
	if (r > 0)
		CHECK(k <= 8);
	return 0;
}
