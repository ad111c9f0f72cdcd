/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Filter rule tests: parse forms, wildmatch (cases from upstream's
 * documented wildmatch behaviour), rule matching checked against what the
 * real rsync 3.5.0 lists with the same rules, and the wire list against
 * captured client streams (fake remote shell tee, /tmp/ocfl/capf.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ocproto/err.h"
#include "ocproto/filter.h"

/* Captured: rsync 3.5.0 pull `-a --no-i-r --delete` with the rules of e1[] in test_wire_captures() given as --exclude/--include/-f, plus -f "P prot" -f "R risk" (receiver-only, so not sent) and -F: the client-to-server filter list. */
static const uint8_t v_ft1[] = {
	0x05, 0x00, 0x00, 0x00, 0x2d, 0x20, 0x2a, 0x2e, 0x6f, 0x05, 0x00, 0x00, 0x00, 0x2b, 0x20, 0x64,
	0x31, 0x2f, 0x06, 0x00, 0x00, 0x00, 0x2d, 0x20, 0x6e, 0x6e, 0x2a, 0x2f, 0x06, 0x00, 0x00, 0x00,
	0x2d, 0x20, 0x2f, 0x62, 0x69, 0x67, 0x06, 0x00, 0x00, 0x00, 0x2d, 0x21, 0x20, 0x78, 0x2e, 0x79,
	0x07, 0x00, 0x00, 0x00, 0x2d, 0x73, 0x20, 0x66, 0x69, 0x66, 0x6f, 0x07, 0x00, 0x00, 0x00, 0x2b,
	0x73, 0x20, 0x73, 0x6f, 0x63, 0x6b, 0x08, 0x00, 0x00, 0x00, 0x2d, 0x2f, 0x20, 0x2f, 0x63, 0x68,
	0x72, 0x32, 0x0c, 0x00, 0x00, 0x00, 0x2b, 0x20, 0x2a, 0x2a, 0x2f, 0x73, 0x75, 0x62, 0x2f, 0x2a,
	0x2a, 0x2a, 0x0a, 0x00, 0x00, 0x00, 0x3a, 0x6e, 0x2d, 0x20, 0x2e, 0x72, 0x75, 0x6c, 0x65, 0x73,
	0x10, 0x00, 0x00, 0x00, 0x3a, 0x20, 0x2f, 0x2e, 0x72, 0x73, 0x79, 0x6e, 0x63, 0x2d, 0x66, 0x69,
	0x6c, 0x74, 0x65, 0x72, 0x00, 0x00, 0x00, 0x00,
};
/* rsync 3.5.0 pull `-a --no-i-r --delete --delete-excluded --exclude "*.o" -f "H fifo" -f "P prot" --include x/`: client->server filter list */
static const uint8_t v_ft2[] = {
	0x06, 0x00, 0x00, 0x00, 0x2d, 0x73, 0x20, 0x2a, 0x2e, 0x6f, 0x07, 0x00, 0x00, 0x00, 0x2d, 0x73,
	0x20, 0x66, 0x69, 0x66, 0x6f, 0x05, 0x00, 0x00, 0x00, 0x2b, 0x73, 0x20, 0x78, 0x2f, 0x00, 0x00,
	0x00, 0x00,
};
/* rsync 3.5.0 push `-a --no-i-r --delete -C`: client->server filter list with the expanded CVS defaults */
static const uint8_t v_ftcvs[] = {
	0x0d, 0x00, 0x00, 0x00, 0x3a, 0x43, 0x20, 0x2e, 0x63, 0x76, 0x73, 0x69, 0x67, 0x6e, 0x6f, 0x72,
	0x65, 0x06, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x52, 0x43, 0x53, 0x07, 0x00, 0x00, 0x00, 0x2d,
	0x70, 0x20, 0x53, 0x43, 0x43, 0x53, 0x06, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x43, 0x56, 0x53,
	0x0a, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x43, 0x56, 0x53, 0x2e, 0x61, 0x64, 0x6d, 0x09, 0x00,
	0x00, 0x00, 0x2d, 0x70, 0x20, 0x52, 0x43, 0x53, 0x4c, 0x4f, 0x47, 0x0b, 0x00, 0x00, 0x00, 0x2d,
	0x70, 0x20, 0x63, 0x76, 0x73, 0x6c, 0x6f, 0x67, 0x2e, 0x2a, 0x07, 0x00, 0x00, 0x00, 0x2d, 0x70,
	0x20, 0x74, 0x61, 0x67, 0x73, 0x07, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x54, 0x41, 0x47, 0x53,
	0x0e, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2e, 0x6d, 0x61, 0x6b, 0x65, 0x2e, 0x73, 0x74, 0x61,
	0x74, 0x65, 0x0f, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2e, 0x6e, 0x73, 0x65, 0x5f, 0x64, 0x65,
	0x70, 0x69, 0x6e, 0x66, 0x6f, 0x05, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x7e, 0x05, 0x00,
	0x00, 0x00, 0x2d, 0x70, 0x20, 0x23, 0x2a, 0x06, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2e, 0x23,
	0x2a, 0x05, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2c, 0x2a, 0x06, 0x00, 0x00, 0x00, 0x2d, 0x70,
	0x20, 0x5f, 0x24, 0x2a, 0x05, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x24, 0x08, 0x00, 0x00,
	0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x6f, 0x6c, 0x64, 0x08, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20,
	0x2a, 0x2e, 0x62, 0x61, 0x6b, 0x08, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x42, 0x41,
	0x4b, 0x09, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x6f, 0x72, 0x69, 0x67, 0x08, 0x00,
	0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x72, 0x65, 0x6a, 0x09, 0x00, 0x00, 0x00, 0x2d, 0x70,
	0x20, 0x2e, 0x64, 0x65, 0x6c, 0x2d, 0x2a, 0x06, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e,
	0x61, 0x08, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x6f, 0x6c, 0x62, 0x06, 0x00, 0x00,
	0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x6f, 0x08, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e,
	0x6f, 0x62, 0x6a, 0x07, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x73, 0x6f, 0x08, 0x00,
	0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x65, 0x78, 0x65, 0x06, 0x00, 0x00, 0x00, 0x2d, 0x70,
	0x20, 0x2a, 0x2e, 0x5a, 0x08, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x65, 0x6c, 0x63,
	0x07, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2a, 0x2e, 0x6c, 0x6e, 0x07, 0x00, 0x00, 0x00, 0x2d,
	0x70, 0x20, 0x63, 0x6f, 0x72, 0x65, 0x08, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2e, 0x73, 0x76,
	0x6e, 0x2f, 0x08, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20, 0x2e, 0x67, 0x69, 0x74, 0x2f, 0x07, 0x00,
	0x00, 0x00, 0x2d, 0x70, 0x20, 0x2e, 0x68, 0x67, 0x2f, 0x08, 0x00, 0x00, 0x00, 0x2d, 0x70, 0x20,
	0x2e, 0x62, 0x7a, 0x72, 0x2f, 0x00, 0x00, 0x00, 0x00,
};

/* Captured: `rsync -r --list-only --no-i-r RULES t/` (rsync 3.5.0) over the tree of paths[]: which names it lists. */
static const char *const r0[] = { "- *.o", NULL };
static const char *const l0[] = { "*star", ".", "[ab]", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "deep/a/b/d", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r1[] = { "- /d1/sub", NULL };
static const char *const l1[] = { "*star", ".", "[ab]", "a.o", "b.c", "core", "d1", "d1/x.o", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "deep/a/b/d", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r2[] = { "- sub/", NULL };
static const char *const l2[] = { "*star", ".", "[ab]", "a.o", "b.c", "core", "d1", "d1/x.o", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "deep/a/b/d", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "x.y", "x.y/q", NULL };
static const char *const r3[] = { "+ */", "+ *.txt", "- *", NULL };
static const char *const l3[] = { ".", "d1", "d1/sub", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "keep", "keep/k2", "keep/k2/z.txt", "sub", "x.y", NULL };
static const char *const r4[] = { "- **/b/*", NULL };
static const char *const l4[] = { "*star", ".", "[ab]", "a.o", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "deep/a", "deep/a/b", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r5[] = { "-! *.c", NULL };
static const char *const l5[] = { ".", "b.c", NULL };
static const char *const r6[] = { "+ d1/***", "- *", NULL };
static const char *const l6[] = { ".", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", NULL };
static const char *const r7[] = { "- [ab]*", NULL };
static const char *const l7[] = { "*star", ".", "[ab]", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r8[] = { "- \\[ab\\]", NULL };
static const char *const l8[] = { "*star", ".", "a.o", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "deep/a/b/d", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r9[] = { "-C", NULL };
static const char *const l9[] = { "*star", ".", "[ab]", "b.c", "d1", "d1/sub", "d1/sub/f", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "deep/a/b/d", "keep", "keep/k2", "keep/k2/z.txt", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r10[] = { "- deep/*/b", NULL };
static const char *const l10[] = { "*star", ".", "[ab]", "a.o", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "deep/a", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r11[] = { "- a/b/", NULL };
static const char *const l11[] = { "*star", ".", "[ab]", "a.o", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "deep/a", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r12[] = { "- *star", NULL };
static const char *const l12[] = { ".", "[ab]", "a.o", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "deep/a/b/d", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r13[] = { "- **.txt", NULL };
static const char *const l13[] = { "*star", ".", "[ab]", "a.o", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "deep/a", "deep/a/b", "deep/a/b/d", "foo~", "keep", "keep/k2", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r14[] = { "- /keep/**/z*", NULL };
static const char *const l14[] = { "*star", ".", "[ab]", "a.o", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "deep/a/b/d", "foo~", "keep", "keep/k2", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r15[] = { "- [[:digit:][:punct:]]*", NULL };
static const char *const l15[] = { ".", "a.o", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "deep/a/b/d", "foo~", "keep", "keep/k2", "keep/k2/z.txt", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const r16[] = { "- b/d", "- a/*.txt", "- k2/z.*", NULL };
static const char *const l16[] = { "*star", ".", "[ab]", "a.o", "b.c", "core", "d1", "d1/sub", "d1/sub/f", "d1/sub/g.o", "d1/x.o", "deep", "deep/a", "deep/a/b", "deep/a/b/c.txt", "foo~", "keep", "keep/k2", "keep/y.bak", "sub", "sub/h", "x.y", "x.y/q", NULL };
static const char *const *const cases[][2] = {
	{ r0, l0 },
	{ r1, l1 },
	{ r2, l2 },
	{ r3, l3 },
	{ r4, l4 },
	{ r5, l5 },
	{ r6, l6 },
	{ r7, l7 },
	{ r8, l8 },
	{ r9, l9 },
	{ r10, l10 },
	{ r11, l11 },
	{ r12, l12 },
	{ r13, l13 },
	{ r14, l14 },
	{ r15, l15 },
	{ r16, l16 },
};

/* The tree the rsync runs above listed; a trailing '/' marks a directory. */
static const char *const paths[] = {
	"*star", "[ab]", "a.o", "b.c", "core", "d1/", "d1/sub/", "d1/sub/f", "d1/sub/g.o",
	"d1/x.o", "deep/", "deep/a/", "deep/a/b/", "deep/a/b/c.txt", "deep/a/b/d", "foo~",
	"keep/", "keep/k2/", "keep/k2/z.txt", "keep/y.bak", "sub/", "sub/h", "x.y/", "x.y/q",
};

static struct ocp_filter_rule rules[64];

static size_t
parse_rules(const char *const *texts)
{
	size_t n = 0, i;

	for (i = 0; texts[i]; i++) {
		if (!strcmp(texts[i], "-C")) {
			/* -C expands to the default CVS excludes. */
			char words[512], *w, *save = NULL;

			strcpy(words, ocp_filter_cvs_default);
			for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
				char t[64];

				snprintf(t, sizeof(t), "-p %s", w);
				assert_int_equal(ocp_filter_parse(t, strlen(t), &rules[n]), 0);
				n++;
			}
			continue;
		}
		assert_int_equal(ocp_filter_parse(texts[i], strlen(texts[i]), &rules[n]), 0);
		n++;
	}
	return n;
}

static bool
listed(const char *const *list, const char *name)
{
	for (; *list; list++) {
		if (!strcmp(*list, name))
			return true;
	}
	return false;
}

/* rsync's traversal: a path is listed unless it or a parent directory is excluded. */
static void
test_match_like_rsync(void **state)
{
	size_t c, i;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = parse_rules(cases[c][0]);

		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			char name[64], *slash;
			bool dir, want, got = true;
			size_t len;

			strcpy(name, paths[i]);
			len = strlen(name);
			dir = name[len - 1] == '/';
			if (dir)
				name[len - 1] = '\0';
			/* Check each ancestor directory, then the path itself. */
			for (slash = strchr(name, '/'); slash && got; slash = strchr(slash + 1, '/')) {
				*slash = '\0';
				got = ocp_filter_check(rules, n, name, true, false) >= 0;
				*slash = '/';
			}
			if (got)
				got = ocp_filter_check(rules, n, name, dir, false) >= 0;
			want = listed(cases[c][1], name);
			if (got != want)
				fail_msg("case %zu (%s): %s: rsync %d, ocproto %d", c, cases[c][0][0],
					 name, want, got);
		}
	}
}

static void
test_parse_forms(void **state)
{
	static const struct {
		const char *text;
		int kind;
		uint32_t flags;
		const char *pattern;
	} ok[] = {
		{ "- *.o", '-', OCP_FRF_WILD, "*.o" },
		{ "+ d1/", '+', OCP_FRF_DIRECTORY, "d1" },
		{ "exclude foo", '-', 0, "foo" },
		{ "include,/ /x", '+', OCP_FRF_ABS_PATH, "/x" },
		{ "exclude_bar", '-', 0, "bar" },
		{ "-! x.y", '-', OCP_FRF_NEGATE, "x.y" },
		{ "-,! x.y", '-', OCP_FRF_NEGATE, "x.y" },
		{ "H fifo", 'H', OCP_FRF_SENDER_SIDE, "fifo" },
		{ "show x", 'S', OCP_FRF_SENDER_SIDE, "x" },
		{ "P prot", 'P', OCP_FRF_RECV_SIDE, "prot" },
		{ "risk r", 'R', OCP_FRF_RECV_SIDE, "r" },
		{ "-s x", '-', OCP_FRF_SENDER_SIDE, "x" },
		{ "+rp y", '+', OCP_FRF_RECV_SIDE | OCP_FRF_PERISHABLE, "y" },
		{ "-x user.*", '-', OCP_FRF_XATTR | OCP_FRF_WILD, "user.*" },
		{ ":n- .rules", ':', OCP_FRF_NO_INHERIT | OCP_FRF_NO_PREFIXES, ".rules" },
		{ "dir-merge,+e .r", ':', OCP_FRF_NO_PREFIXES | OCP_FRF_NP_INCLUDE | OCP_FRF_EXCLUDE_SELF, ".r" },
		{ ".w f", '.', OCP_FRF_WORD_SPLIT, "f" },
		{ "merge f", '.', 0, "f" },
		{ ":C", ':', OCP_FRF_CVS_IGNORE | OCP_FRF_NO_PREFIXES, "" },
		{ "-C", '-', OCP_FRF_CVS_IGNORE, "" },
		{ "!", '!', 0, "" },
		{ "clear", '!', 0, "" },
		{ "+ **/sub/***", '+', OCP_FRF_WILD | OCP_FRF_WILD2 | OCP_FRF_WILD2_PREFIX | OCP_FRF_WILD3_SUFFIX, "**/sub/***" },
		{ "- /", '-', 0, "/" },
	};
	static const char *const bad[] = {
		"x foo", "+foo", "-", "- ", "! x", "!x", "+e foo", ":! x", "Ps x", "Hr x", "S,C x",
		":-+ x", "exclusive x", "",
	};
	struct ocp_filter_rule r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int e = ocp_filter_parse(ok[i].text, strlen(ok[i].text), &r);

		if (e)
			fail_msg("%s: %d", ok[i].text, e);
		assert_int_equal(r.kind, ok[i].kind);
		if ((r.flags & ok[i].flags) != ok[i].flags)
			fail_msg("%s: flags %#x want %#x", ok[i].text, r.flags, ok[i].flags);
		assert_string_equal(r.pattern, ok[i].pattern);
	}
	assert_int_equal(ocp_filter_parse("- a/b/c", 7, &r), 0);
	assert_int_equal(r.slash_cnt, 2);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int e = ocp_filter_parse(bad[i], strlen(bad[i]), &r);

		if (e != OCP_EFILTER)
			fail_msg("'%s' gave %d", bad[i], e);
	}
}

static void
test_wildmatch(void **state)
{
	static const struct {
		const char *p, *t;
		bool m;
	} c[] = {
		{ "foo", "foo", 1 }, { "bar", "foo", 0 }, { "", "", 1 }, { "???", "foo", 1 },
		{ "??", "foo", 0 }, { "*", "foo", 1 }, { "f*", "foo", 1 }, { "*f", "foo", 0 },
		{ "*foo*", "foo", 1 }, { "*ob*a*r*", "foobar", 1 }, { "*ab", "aaaaaaabababab", 1 },
		{ "foo\\*", "foo*", 1 }, { "foo\\*bar", "foobar", 0 }, { "f\\\\oo", "f\\oo", 1 },
		{ "*[al]?", "ball", 1 }, { "[ten]", "ten", 0 }, { "**[!te]", "ten", 1 },
		{ "**[!ten]", "ten", 0 }, { "t[a-g]n", "ten", 1 }, { "t[!a-g]n", "ten", 0 },
		{ "t[!a-g]n", "ton", 1 }, { "t[^a-g]n", "ton", 1 }, { "a[]]b", "a]b", 1 },
		{ "a[]-]b", "a-b", 1 }, { "a[]-]b", "a]b", 1 }, { "a[]-]b", "aab", 0 },
		{ "a[]a-]b", "aab", 1 }, { "]", "]", 1 }, { "foo*bar", "foo/baz/bar", 0 },
		{ "foo**bar", "foo/baz/bar", 1 }, { "foo?bar", "foo/bar", 0 },
		{ "foo[/]bar", "foo/bar", 0 }, { "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo/bar", 0 },
		{ "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo-bar", 1 }, { "**/foo", "foo", 0 },
		{ "**/foo", "usr/foo", 1 }, { "**/foo", "bar/baz/foo", 1 }, { "*/foo", "bar/baz/foo", 0 },
		{ "**/bar*", "foo/bar/baz", 0 }, { "**/bar/*", "deep/foo/bar/baz", 1 },
		{ "**/bar/**", "deep/foo/bar/baz/", 1 }, { "**/bar/*", "deep/foo/bar", 0 },
		{ "*/bar/**", "foo/bar/baz/x", 1 }, { "[[:alpha:]][[:digit:]][[:upper:]]", "a1B", 1 },
		{ "[[:digit:][:upper:][:space:]]", "a", 0 }, { "[[:digit:][:upper:][:space:]]", "A", 1 },
		{ "[[:digit:][:upper:][:spaci:]]", "1", 0 }, { "[a-c[:digit:]x-z]", "5", 1 },
		{ "[[:xdigit:]]", "j", 0 }, { "[\\]]", "]", 1 }, { "[!]-]", "]", 0 },
		{ "a[c-c]st", "acrt", 0 }, { "a[c-c]rt", "acrt", 1 }, { "[!a]", "/", 0 },
		{ "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", 1 },
		{ "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1", 0 },
		{ "usr/*/*/*/*/*/*/12/*/*/*/m/*/*/*", "usr/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1", 1 },
		{ "**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", 1 },
		{ "**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz", 0 },
		{ "[abc", "a", 0 }, { "a\\", "a", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (ocp_wildmatch(c[i].p, c[i].t) != c[i].m)
			fail_msg("wildmatch(\"%s\", \"%s\") != %d", c[i].p, c[i].t, c[i].m);
	}
}

/* Many stars against a long non-matching text stay fast (no backtracking blow-up). */
static void
test_wildmatch_bounded(void **state)
{
	char text[4097], pat[200];
	clock_t t0 = clock();
	size_t i;

	(void)state;
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_false(ocp_wildmatch("**********b", text));
	for (i = 0; i + 2 < sizeof(pat); i += 2)
		memcpy(pat + i, "*a", 2);
	pat[i] = 'b';
	pat[i + 1] = '\0';
	assert_false(ocp_wildmatch(pat, text));
	for (i = 0; i < sizeof(text) - 1; i += 3)
		text[i] = '/';
	assert_false(ocp_wildmatch("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
}

/* Decode a captured list, parse each rule, and rebuild the exact bytes. */
static void
wire_roundtrip(const uint8_t *v, size_t len, const char *const *expect)
{
	struct ocp_filter_dec_state st;
	static uint8_t out[1024];
	size_t off = 0, oo = 0, k = 0;

	ocp_filter_dec_init(&st, 0);
	while (!st.done) {
		const uint8_t *t;
		size_t tl;
		char text[OCP_FILTER_LINE_MAX + 1];
		struct ocp_filter_rule r;
		int n = ocp_filter_dec(&st, v + off, len - off, &t, &tl);

		assert_true(n > 0);
		off += (size_t)n;
		if (st.done)
			break;
		if (expect[k]) {
			assert_int_equal(tl, strlen(expect[k]));
			assert_memory_equal(t, expect[k], tl);
			k++;
		}
		assert_int_equal(ocp_filter_parse((const char *)t, tl, &r), 0);
		assert_int_equal(ocp_filter_rule_text(&r, text, sizeof(text)), (int)tl);
		assert_memory_equal(text, t, tl);
		n = ocp_filter_enc(out + oo, sizeof(out) - oo, text, tl);
		assert_true(n > 0);
		oo += (size_t)n;
	}
	oo += (size_t)ocp_filter_enc_end(out + oo, sizeof(out) - oo);
	assert_int_equal(off, len);
	assert_int_equal(oo, len);
	assert_memory_equal(out, v, len);
}

static void
test_wire_captures(void **state)
{
	static const char *const e1[] = {
		"- *.o", "+ d1/", "- nn*/", "- /big", "-! x.y", "-s fifo", "+s sock", "-/ /chr2",
		"+ **/sub/***", ":n- .rules", ": /.rsync-filter", NULL,
	};
	static const char *const e2[] = { "-s *.o", "-s fifo", "+s x/", NULL };
	static const char *const e3[] = { ":C .cvsignore", "-p RCS", "-p SCCS", NULL };

	(void)state;
	wire_roundtrip(v_ft1, sizeof(v_ft1), e1);
	wire_roundtrip(v_ft2, sizeof(v_ft2), e2);
	wire_roundtrip(v_ftcvs, sizeof(v_ftcvs), e3);
}

/* The captured -C list is exactly our CVS default list, word for word. */
static void
test_cvs_default(void **state)
{
	char expect[512] = "";
	struct ocp_filter_dec_state st;
	size_t off = 0;
	const uint8_t *t;
	size_t tl;
	int n;

	(void)state;
	ocp_filter_dec_init(&st, 0);
	n = ocp_filter_dec(&st, v_ftcvs, sizeof(v_ftcvs), &t, &tl); /* ":C .cvsignore" */
	off = (size_t)n;
	while ((n = ocp_filter_dec(&st, v_ftcvs + off, sizeof(v_ftcvs) - off, &t, &tl)) > 0 && !st.done) {
		off += (size_t)n;
		if (*expect)
			strcat(expect, " ");
		strncat(expect, (const char *)t + 3, tl - 3);
	}
	assert_string_equal(expect, ocp_filter_cvs_default);
}

static void
test_wire_limits(void **state)
{
	struct ocp_filter_dec_state st;
	uint8_t buf[64] = { 0xff, 0x13, 0, 0 }; /* 5119 + 1 = 0x1400 would be too long */
	const uint8_t *t;
	size_t tl;
	int i;

	(void)state;
	ocp_filter_dec_init(&st, 0);
	buf[0] = 0x00;
	buf[1] = 0x14;
	assert_int_equal(ocp_filter_dec(&st, buf, sizeof(buf), &t, &tl), OCP_ETOOLONG);
	buf[0] = 0xff;
	buf[1] = 0xff;
	buf[2] = 0xff;
	buf[3] = 0xff;
	assert_int_equal(ocp_filter_dec(&st, buf, sizeof(buf), &t, &tl), OCP_ETOOLONG);
	/* A rule that is not all there yet: need more. */
	assert_int_equal(ocp_filter_enc(buf, sizeof(buf), "- x", 3), 7);
	assert_int_equal(ocp_filter_dec(&st, buf, 6, &t, &tl), 0);
	assert_int_equal(ocp_filter_dec(&st, buf, 3, &t, &tl), 0);
	/* The rule cap. */
	ocp_filter_dec_init(&st, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(ocp_filter_dec(&st, buf, 7, &t, &tl), 7);
	assert_int_equal(ocp_filter_dec(&st, buf, 7, &t, &tl), OCP_EFILTER);
	assert_int_equal(ocp_filter_enc(buf, 6, "- x", 3), -ENOBUFS);
	assert_int_equal(ocp_filter_enc(buf, sizeof(buf), "", 0), -EINVAL);
}

/*
 * A rule with the '/' modifier and a slash sees the whole path below the
 * directory names are relative to (upstream prepends curr_dir), as a rule
 * anchored in a per-directory file does; without a slash it still matches
 * the last element only.
 */
static void
test_match_in_dir(void **state)
{
	struct ocp_filter_rule r;

	(void)state;
	assert_int_equal(ocp_filter_parse("-/ /top/src/sub/x", 17, &r), 0);
	assert_true(ocp_filter_match_in(&r, "/top/src", "sub/x", false));
	assert_false(ocp_filter_match_in(&r, "/top/other", "sub/x", false));
	assert_false(ocp_filter_match(&r, "sub/x", false));
	assert_int_equal(ocp_filter_parse("-/ src/*/x", 10, &r), 0);
	assert_true(ocp_filter_match_in(&r, "/top", "src/sub/x", false));
	assert_false(ocp_filter_match_in(&r, "/top", "src/sub/y", false));
	assert_int_equal(ocp_filter_parse("-/ x", 4, &r), 0);
	assert_true(ocp_filter_match_in(&r, "/top", "a/b/x", false));
	/* the root as the directory adds nothing */
	assert_int_equal(ocp_filter_parse("-/ /a/x", 7, &r), 0);
	assert_true(ocp_filter_match_in(&r, "/", "a/x", false));
	assert_true(ocp_filter_match_in(&r, NULL, "a/x", false));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),   cmocka_unit_test(test_wildmatch),
		cmocka_unit_test(test_wildmatch_bounded), cmocka_unit_test(test_match_like_rsync),
		cmocka_unit_test(test_wire_captures), cmocka_unit_test(test_cvs_default),
		cmocka_unit_test(test_wire_limits),	  cmocka_unit_test(test_match_in_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
