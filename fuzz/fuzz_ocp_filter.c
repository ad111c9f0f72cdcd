/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for ocproto/filter.h. The input is read as a wire filter
 * list; each rule that parses must print back (ocp_filter_rule_text) to a
 * rule that parses to the same kind, flags and pattern, and is matched
 * against a few paths. The raw input is also split at its first NUL into a
 * wildmatch pattern and text, which must return in bounded time (libFuzzer's
 * timeout catches blow-ups such as "**********a"). Any violation traps.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ocproto/err.h"
#include "ocproto/filter.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ocp_filter_rule r1, r2;
static char text[OCP_FILTER_LINE_MAX + 32];
static char pat[4096], txt[4096];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {"a", "a/b", "d1/sub/f.o", "x/y/z/", ".hidden"};
	struct ocp_filter_dec_state st;
	const uint8_t *t, *nul;
	size_t off = 0, tl, i, pl;
	int r;

	ocp_filter_dec_init(&st, 64);
	while (!st.done) {
		r = ocp_filter_dec(&st, data + off, size - off, &t, &tl);
		CHECK(r == 0 || r > 0 || ocp_is_proto_err(r));
		if (r <= 0)
			break;
		off += (size_t)r;
		if (st.done)
			break;
		if (ocp_filter_parse((const char *)t, tl, &r1) != 0)
			continue;
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			(void)ocp_filter_match(&r1, paths[i], i == 4);
		r = ocp_filter_rule_text(&r1, text, sizeof(text));
		if (r < 0)
			continue;
		CHECK(ocp_filter_parse(text, (size_t)r, &r2) == 0);
		CHECK(r2.pattern_len == r1.pattern_len && !strcmp(r2.pattern, r1.pattern));
		CHECK((r1.flags & OCP_FRF_DIRECTORY) == (r2.flags & OCP_FRF_DIRECTORY));
	}
	nul = memchr(data, 0, size);
	pl = nul ? (size_t)(nul - data) : size;
	if (pl >= sizeof(pat))
		return 0;
	memcpy(pat, data, pl);
	pat[pl] = '\0';
	tl = nul ? size - pl - 1 : 0;
	if (tl >= sizeof(txt))
		return 0;
	if (tl)
		memcpy(txt, nul + 1, tl);
	txt[tl] = '\0';
	txt[strnlen(txt, tl)] = '\0';
	(void)ocp_wildmatch(pat, txt);
	return 0;
}
