/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Filter rule parsing, matching and the wire list; see ocproto/filter.h. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "ocproto/err.h"
#include "ocproto/filter.h"
#include "ocproto/int.h"

bool ocp__wildmatch_where(const char *pattern, const char *text, int where);

const char ocp_filter_cvs_default[] =
    "RCS SCCS CVS CVS.adm RCSLOG cvslog.* tags TAGS .make.state .nse_depinfo *~ #* .#* ,* "
    "_$* *$ *.old *.bak *.BAK *.orig *.rej .del-* *.a *.olb *.o *.obj *.so *.exe *.Z *.elc "
    "*.ln core .svn/ .git/ .hg/ .bzr/";

static const struct {
	const char *word;
	char kind;
} long_forms[] = {
    {"clear", '!'}, {"dir-merge", ':'}, {"exclude", '-'}, {"hide", 'H'}, {"include", '+'},
    {"merge", '.'}, {"protect", 'P'},	{"risk", 'R'},	  {"show", 'S'},
};

/*
 * A long form: the word, then a space, '_' or the end (position *i on the
 * word's last byte) or ',' and modifiers (*i on the ','). 0 if no match.
 */
static char
long_form(const char *s, size_t len, size_t *i)
{
	size_t k, n;

	for (k = 0; k < sizeof(long_forms) / sizeof(long_forms[0]); k++) {
		n = strlen(long_forms[k].word);
		if (len < n || memcmp(s, long_forms[k].word, n))
			continue;
		if (n == len || isspace((unsigned char)s[n]) || s[n] == '_') {
			*i = n - 1;
			return long_forms[k].kind;
		}
		if (s[n] == ',') {
			*i = n;
			return long_forms[k].kind;
		}
	}
	return 0;
}

static int
modifier(struct ocp_filter_rule *r, char c, bool side_given)
{
	bool merge = r->kind == OCP_FR_MERGE || r->kind == OCP_FR_DIR_MERGE;

	switch (c) {
	case '-':
	case '+':
		if (!merge || (r->flags & OCP_FRF_NO_PREFIXES))
			return OCP_EFILTER;
		r->flags |= OCP_FRF_NO_PREFIXES | (c == '+' ? OCP_FRF_NP_INCLUDE : 0);
		return 0;
	case '/':
		r->flags |= OCP_FRF_ABS_PATH;
		return 0;
	case '!':
		if (merge)
			return OCP_EFILTER;
		r->flags |= OCP_FRF_NEGATE;
		return 0;
	case 'C':
		if ((r->flags & OCP_FRF_NO_PREFIXES) || side_given)
			return OCP_EFILTER;
		r->flags |= OCP_FRF_NO_PREFIXES | OCP_FRF_WORD_SPLIT | OCP_FRF_NO_INHERIT |
			    OCP_FRF_CVS_IGNORE;
		return 0;
	case 'e':
	case 'n':
	case 'w':
		if (!merge)
			return OCP_EFILTER;
		r->flags |= c == 'e'   ? OCP_FRF_EXCLUDE_SELF
			    : c == 'n' ? OCP_FRF_NO_INHERIT
				       : OCP_FRF_WORD_SPLIT;
		return 0;
	case 'p':
		r->flags |= OCP_FRF_PERISHABLE;
		return 0;
	case 'r':
	case 's':
		if (side_given)
			return OCP_EFILTER;
		r->flags |= c == 'r' ? OCP_FRF_RECV_SIDE : OCP_FRF_SENDER_SIDE;
		return 0;
	case 'x':
		r->flags |= OCP_FRF_XATTR;
		return 0;
	}
	return OCP_EFILTER;
}

int
ocp_filter_parse(const char *s, size_t len, struct ocp_filter_rule *r)
{
	size_t i = 0, plen;
	char kind;
	bool side_given = false;
	const char *pat;
	int err;

	if (!s || !r)
		return -EINVAL;
	if (len == 0 || memchr(s, '\0', len))
		return OCP_EFILTER;
	if (len > OCP_FILTER_LINE_MAX)
		return OCP_ETOOLONG;
	memset(r, 0, offsetof(struct ocp_filter_rule, pattern) + 1);
	kind = long_form(s, len, &i);
	if (!kind) {
		kind = s[0];
		if (len > 1 && s[1] == ',')
			i = 1;
	}
	switch (kind) {
	case '+':
	case '-':
	case ':':
	case '.':
	case '!':
		break;
	case 'H':
	case 'S':
		r->flags |= OCP_FRF_SENDER_SIDE;
		side_given = true;
		break;
	case 'P':
	case 'R':
		r->flags |= OCP_FRF_RECV_SIDE;
		side_given = true;
		break;
	default:
		return OCP_EFILTER;
	}
	r->kind = (enum ocp_filter_kind)kind;
	if (kind != '!') {
		while (++i < len && s[i] != ' ' && s[i] != '_') {
			err = modifier(r, s[i], side_given);
			if (err)
				return err;
		}
	}
	if (i < len)
		i++;
	pat = s + i;
	plen = len - i;
	if (kind == '!') {
		if (plen)
			return OCP_EFILTER;
	} else if (!plen && !(r->flags & OCP_FRF_CVS_IGNORE)) {
		return OCP_EFILTER;
	}
	if (plen > 1 && pat[plen - 1] == '/') {
		plen--;
		r->flags |= OCP_FRF_DIRECTORY;
	}
	memcpy(r->pattern, pat, plen);
	r->pattern[plen] = '\0';
	r->pattern_len = plen;
	for (i = 0; i < plen; i++)
		r->slash_cnt += pat[i] == '/';
	if (strpbrk(r->pattern, "*[?")) {
		const char *w2 = strstr(r->pattern, "**");

		r->flags |= OCP_FRF_WILD;
		if (w2) {
			r->flags |= OCP_FRF_WILD2;
			if (w2 == r->pattern)
				r->flags |= OCP_FRF_WILD2_PREFIX;
			if (plen >= 3 && !strcmp(r->pattern + plen - 3, "***"))
				r->flags |= OCP_FRF_WILD3_SUFFIX;
		}
	}
	return 0;
}

int
ocp_filter_rule_text(const struct ocp_filter_rule *r, char *out, size_t cap)
{
	char pre[16];
	size_t n = 0, dl;
	uint32_t f = r->flags;

	switch (r->kind) {
	case OCP_FR_DIR_MERGE:
		pre[n++] = ':';
		break;
	case OCP_FR_MERGE:
	case OCP_FR_CLEAR:
		return -EINVAL;
	case OCP_FR_INCLUDE:
	case OCP_FR_SHOW:
	case OCP_FR_RISK:
		pre[n++] = '+';
		break;
	default:
		pre[n++] = '-';
		break;
	}
	if (f & OCP_FRF_ABS_PATH)
		pre[n++] = '/';
	if (f & OCP_FRF_NEGATE)
		pre[n++] = '!';
	if (f & OCP_FRF_CVS_IGNORE) {
		pre[n++] = 'C';
	} else {
		if (f & OCP_FRF_NO_INHERIT)
			pre[n++] = 'n';
		if (f & OCP_FRF_WORD_SPLIT)
			pre[n++] = 'w';
		if (f & OCP_FRF_NO_PREFIXES)
			pre[n++] = f & OCP_FRF_NP_INCLUDE ? '+' : '-';
	}
	if (f & OCP_FRF_EXCLUDE_SELF)
		pre[n++] = 'e';
	if (f & OCP_FRF_XATTR)
		pre[n++] = 'x';
	if (f & OCP_FRF_SENDER_SIDE)
		pre[n++] = 's';
	if (f & OCP_FRF_RECV_SIDE)
		pre[n++] = 'r';
	if (f & OCP_FRF_PERISHABLE)
		pre[n++] = 'p';
	pre[n++] = ' ';
	dl = f & OCP_FRF_DIRECTORY ? 1 : 0;
	if (n + r->pattern_len + dl + 1 > cap)
		return -ENOBUFS;
	memcpy(out, pre, n);
	memcpy(out + n, r->pattern, r->pattern_len);
	if (dl)
		out[n + r->pattern_len] = '/';
	out[n + r->pattern_len + dl] = '\0';
	return (int)(n + r->pattern_len + dl);
}

/* Literal match of pattern against the joined text, honouring where. */
static bool
lit_where(const char *pattern, const char *text, int where)
{
	if (where > 0) {
		const char *s = text + strlen(text);

		while (s > text) {
			if (*--s == '/' && !--where)
				break;
		}
		if (where > 1)
			return false;
		text = where ? text : s + 1;
	}
	return !strcmp(pattern, text);
}

bool
ocp_filter_match(const struct ocp_filter_rule *r, const char *name, bool is_dir)
{
	return ocp_filter_match_in(r, NULL, name, is_dir);
}

bool
ocp_filter_match_in(const struct ocp_filter_rule *r, const char *curdir, const char *name,
		    bool is_dir)
{
	bool hit = !(r->flags & OCP_FRF_NEGATE);
	const char *pattern = r->pattern, *p;
	char buf[2 * (OCP_FILTER_LINE_MAX + 1) + 4];
	size_t nlen;
	int where;
	bool anchored = false, joined = false;

	if (*name == '/')
		name++;
	if (!*name || (r->flags & OCP_FRF_XATTR))
		return false;
	if (!r->slash_cnt && !(r->flags & OCP_FRF_WILD2)) {
		p = strrchr(name, '/');
		if (p)
			name = p + 1;
	}
	nlen = strlen(name);
	if (nlen > OCP_FILTER_LINE_MAX)
		return false;
	buf[0] = '\0';
	if ((r->flags & OCP_FRF_ABS_PATH) && (r->slash_cnt || (r->flags & OCP_FRF_WILD2)) &&
	    curdir && curdir[0] == '/' && curdir[1]) {
		/* An absolute rule sees the whole path, the directory without its '/' first. */
		if (strlen(curdir) + nlen + 2 > OCP_FILTER_LINE_MAX)
			return false;
		strcpy(buf, curdir + 1);
		strcat(buf, "/");
		joined = true;
	} else if (r->flags & OCP_FRF_WILD2_PREFIX) {
		strcpy(buf, "/");
		joined = true;
	}
	strcat(buf, name);
	if (is_dir) {
		if (r->flags & OCP_FRF_WILD3_SUFFIX) {
			strcat(buf, "/");
			joined = true;
		}
	} else if (r->flags & OCP_FRF_DIRECTORY) {
		return !hit;
	}
	if (*pattern == '/') {
		anchored = true;
		pattern++;
	}
	if (!anchored && r->slash_cnt && !(r->flags & OCP_FRF_WILD2))
		where = (int)r->slash_cnt + 1;
	else if (!anchored && !(r->flags & OCP_FRF_WILD2_PREFIX) && (r->flags & OCP_FRF_WILD2))
		where = -1;
	else
		where = 0;
	if (r->flags & OCP_FRF_WILD) {
		if (ocp__wildmatch_where(pattern, buf, where))
			return hit;
	} else if (joined) {
		if (lit_where(pattern, buf, where))
			return hit;
	} else if (anchored) {
		if (!strcmp(buf, pattern))
			return hit;
	} else {
		size_t l1 = strlen(buf), l2 = strlen(pattern);

		if (l2 <= l1 && !strcmp(buf + l1 - l2, pattern) &&
		    (l1 == l2 || buf[l1 - l2 - 1] == '/'))
			return hit;
	}
	return !hit;
}

int
ocp_filter_check(const struct ocp_filter_rule *rules, size_t n, const char *name, bool is_dir,
		 bool receiver)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct ocp_filter_rule *r = &rules[i];
		uint32_t side = r->flags & (OCP_FRF_SENDER_SIDE | OCP_FRF_RECV_SIDE);

		if (r->kind == OCP_FR_MERGE || r->kind == OCP_FR_DIR_MERGE ||
		    r->kind == OCP_FR_CLEAR || (r->flags & OCP_FRF_CVS_IGNORE))
			continue;
		if (side && !(side & (receiver ? OCP_FRF_RECV_SIDE : OCP_FRF_SENDER_SIDE)))
			continue;
		if (!ocp_filter_match(r, name, is_dir))
			continue;
		return r->kind == OCP_FR_INCLUDE || r->kind == OCP_FR_SHOW || r->kind == OCP_FR_RISK
			   ? 1
			   : -1;
	}
	return 0;
}

int
ocp_filter_enc(uint8_t *out, size_t cap, const char *text, size_t len)
{
	if (len == 0 || len > OCP_FILTER_LINE_MAX)
		return -EINVAL;
	if (cap < OCP_INT32_SIZE + len)
		return -ENOBUFS;
	ocp_enc_int32(out, cap, (int32_t)len);
	memcpy(out + OCP_INT32_SIZE, text, len);
	return (int)(OCP_INT32_SIZE + len);
}

int
ocp_filter_enc_end(uint8_t *out, size_t cap)
{
	return ocp_enc_int32(out, cap, 0);
}

void
ocp_filter_dec_init(struct ocp_filter_dec_state *st, size_t max_rules)
{
	st->count = 0;
	st->max_rules = max_rules ? max_rules : OCP_FILTER_RULES_MAX;
	st->done = false;
}

int
ocp_filter_dec(struct ocp_filter_dec_state *st, const uint8_t *buf, size_t len,
	       const uint8_t **text, size_t *tlen)
{
	int32_t n;
	int r;

	if (st->done)
		return -EINVAL;
	r = ocp_dec_int32(buf, len, &n);
	if (r <= 0)
		return r;
	if (n == 0) {
		st->done = true;
		*text = buf + OCP_INT32_SIZE;
		*tlen = 0;
		return r;
	}
	if (n < 0 || n > OCP_FILTER_LINE_MAX)
		return OCP_ETOOLONG;
	if (st->count >= st->max_rules)
		return OCP_EFILTER;
	if (len - OCP_INT32_SIZE < (size_t)n)
		return 0;
	st->count++;
	*text = buf + OCP_INT32_SIZE;
	*tlen = (size_t)n;
	return OCP_INT32_SIZE + n;
}
