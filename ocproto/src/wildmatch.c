/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shell-style pattern matching with rsync's rules (see ocp_wildmatch() in
 * ocproto/filter.h). The matcher returns one of four results so that a
 * failed '*' can tell its callers to stop trying: NO_MATCH, MATCH, FAIL_ALL
 * (the text ran out: no later start can succeed) and FAIL_TO_STAR2 (a
 * single '*' hit a '/': only an enclosing "**" may retry). This keeps
 * patterns with many stars polynomial instead of exponential.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "ocproto/filter.h"

enum { NO_MATCH = 0, MATCH = 1, FAIL_ALL = -1, FAIL_TO_STAR2 = -2 };

/* Is c in the named class name[0..n)? -1 for an unknown class name. */
static int
in_class(const unsigned char *name, size_t n, unsigned c)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} classes[] = {
	    {"alnum", isalnum}, {"alpha", isalpha}, {"blank", isblank}, {"cntrl", iscntrl},
	    {"digit", isdigit}, {"graph", isgraph}, {"lower", islower}, {"print", isprint},
	    {"punct", ispunct}, {"space", isspace}, {"upper", isupper}, {"xdigit", isxdigit},
	};
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strlen(classes[i].name) == n && !memcmp(classes[i].name, name, n))
			return c < 128 && classes[i].fn((int)c) ? 1 : 0;
	}
	return -1;
}

/*
 * Match a bracket class starting just after '[' at *pp against c; on
 * return *pp is at the closing ']'. Returns 1/0 for member or not, or
 * FAIL_ALL for an unterminated or malformed class.
 */
static int
match_class(const unsigned char **pp, unsigned c)
{
	const unsigned char *p = *pp;
	bool negate = false, hit = false;
	unsigned prev = 0, pc = *p;

	if (pc == '!' || pc == '^') {
		negate = true;
		pc = *++p;
	}
	do {
		if (!pc)
			return FAIL_ALL;
		if (pc == '\\') {
			pc = *++p;
			if (!pc)
				return FAIL_ALL;
			hit |= c == pc;
		} else if (pc == '-' && prev && p[1] && p[1] != ']') {
			pc = *++p;
			if (pc == '\\') {
				pc = *++p;
				if (!pc)
					return FAIL_ALL;
			}
			hit |= c >= prev && c <= pc;
			pc = 0;
		} else if (pc == '[' && p[1] == ':') {
			const unsigned char *s = p + 2, *e = s;
			int r;

			while (*e && *e != ']')
				e++;
			if (!*e)
				return FAIL_ALL;
			if (e == s || e[-1] != ':') {
				/* Not "[:name:]": a literal '[' in the set. */
				hit |= c == '[';
			} else {
				r = in_class(s, (size_t)(e - s - 1), c);
				if (r < 0)
					return FAIL_ALL;
				hit |= r;
				p = e;
				pc = 0;
			}
		} else {
			hit |= c == pc;
		}
		prev = pc;
		pc = *++p;
	} while (pc != ']');
	*pp = p;
	return hit != negate;
}

static int
dowild(const unsigned char *p, const unsigned char *t)
{
	for (; *p; p++, t++) {
		unsigned pc = *p, tc = *t;
		bool star2;
		int r;

		if (!tc && pc != '*')
			return FAIL_ALL;
		switch (pc) {
		case '\\':
			pc = *++p;
			if (tc != pc)
				return NO_MATCH;
			continue;
		default:
			if (tc != pc)
				return NO_MATCH;
			continue;
		case '?':
			if (tc == '/')
				return NO_MATCH;
			continue;
		case '[':
			p++;
			r = match_class(&p, tc);
			if (r < 0)
				return r;
			if (!r || tc == '/')
				return NO_MATCH;
			continue;
		case '*':
			star2 = p[1] == '*';
			while (p[1] == '*')
				p++;
			p++;
			if (!*p)
				return star2 || !strchr((const char *)t, '/') ? MATCH : NO_MATCH;
			for (;; t++) {
				if (!*t)
					return FAIL_ALL;
				r = dowild(p, t);
				if (r != NO_MATCH) {
					if (!star2 || r != FAIL_TO_STAR2)
						return r;
				} else if (!star2 && *t == '/') {
					return FAIL_TO_STAR2;
				}
			}
		}
	}
	return *t ? NO_MATCH : MATCH;
}

bool
ocp_wildmatch(const char *pattern, const char *text)
{
	return dowild((const unsigned char *)pattern, (const unsigned char *)text) == MATCH;
}

/*
 * Match as upstream's wildmatch_array() does on an already joined text:
 * where > 0 matches only the last `where` path elements, where < 0 also
 * retries after every '/', 0 matches the whole text.
 */
bool
ocp__wildmatch_where(const char *pattern, const char *text, int where)
{
	const unsigned char *p = (const unsigned char *)pattern;
	const unsigned char *t = (const unsigned char *)text;
	int r;

	if (where > 0) {
		const char *s = text + strlen(text);

		while (s > text) {
			if (*--s == '/' && !--where)
				break;
		}
		if (where > 1)
			return false;
		t = (const unsigned char *)(where ? text : s + 1);
	}
	r = dowild(p, t);
	if (r != MATCH && where < 0 && r != FAIL_ALL) {
		while (*t) {
			if (*t++ == '/') {
				r = dowild(p, t);
				if (r != NO_MATCH && r != FAIL_TO_STAR2)
					break;
			}
		}
	}
	return r == MATCH;
}
