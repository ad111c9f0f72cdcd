/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Filter lists with merge files and the CVS ignore list; see filter.h.
 * The rules follow upstream exclude.c (parse_rule_tok(), add_rule(),
 * parse_filter_str(), parse_filter_file(), push_local_filters(),
 * setup_merge_file(), send_rules(), check_filter()).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/filter_priv.h"
#include "apps/engine/options_priv.h"
#include "apps/engine/session.h"
#include "ocproto/err.h"

static const char cvs_defaults[] =
    "RCS SCCS CVS CVS.adm RCSLOG cvslog.* tags TAGS .make.state .nse_depinfo *~ #* .#* ,* "
    "_$* *$ *.old *.bak *.BAK *.orig *.rej .del-* *.a *.olb *.o *.obj *.so *.exe *.Z *.elc "
    "*.ln core .svn/ .git/ .hg/ .bzr/";

/* ---- messages ------------------------------------------------------------- */

/* A rule's text as a message may show it: a file's contents are not echoed. */
static const char *
shown(struct oce_filters *fs, uint32_t tf, const char *text, char *buf, size_t cap)
{
	if (!fs->in_file && !(tf & FR_FROM_FILE))
		return text;
	if (!fs->src_file)
		snprintf(buf, cap, "<rule from a file read earlier>");
	else if (fs->src_line < 0)
		snprintf(buf, cap, "<rule from %s>", fs->src_file);
	else
		snprintf(buf, cap, "<rule from %s line %d>", fs->src_file, fs->src_line);
	return buf;
}

static int
rule_err(struct oce_filters *fs, const char *msg, const char *text)
{
	char buf[PATH_MAX + 64];

	oce_rerror(fs->s, "%s: %s", msg, shown(fs, 0, text, buf, sizeof(buf)));
	fs->s->exit_code = RERR_SYNTAX;
	return OCP_EFILTER;
}

/* ---- lists -------------------------------------------------------------- */

static void
teardown(struct oce_filters *fs, struct frule *ex)
{
	struct rlist *lp = ex->ml;

	if (!lp)
		return;
	ex->ml = NULL;
	if (lp->tail) {
		lp->tail->next = NULL;
		oce__flt_free_rules(fs, lp->head);
	}
	free(lp->what);
	free(lp);
	oce__flt_free_rules(fs, ex->scanned);
	ex->scanned = NULL;
	for (size_t j = 0; j < fs->nmp; j++) {
		if (fs->mp[j] == ex) {
			fs->mp[j] = NULL;
			break;
		}
	}
	while (fs->nmp && !fs->mp[fs->nmp - 1])
		fs->nmp--;
}

void
oce__flt_free_rules(struct oce_filters *fs, struct frule *e)
{
	while (e) {
		struct frule *next = e->next;

		if (e->r.flags & FR_PERDIR)
			teardown(fs, e);
		free(e);
		e = next;
	}
}

/* Drop this level's own rules, keeping the inherited ones (pop_filter_list()). */
void
oce__flt_pop_list(struct oce_filters *fs, struct rlist *lp)
{
	struct frule *inherited;

	if (!lp->tail)
		return;
	inherited = lp->tail->next;
	lp->tail->next = NULL;
	oce__flt_free_rules(fs, lp->head);
	lp->head = inherited;
	lp->tail = NULL;
}

static void
append(struct rlist *lp, struct frule *e)
{
	if (!lp->tail) {
		e->next = lp->head;
		lp->head = lp->tail = e;
	} else {
		e->next = lp->tail->next;
		lp->tail->next = e;
		lp->tail = e;
	}
}

static const char *
basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Build a rule from its parsed flags and pattern and append it (upstream add_rule()). */
static int
add_rule(struct oce_filters *fs, struct rlist *lp, const char *pat, size_t plen, uint32_t f,
	 int xflags)
{
	const struct oce_session *s = fs->s;
	/* upstream parses a module's rules before the client's options set am_sender */
	bool sender = s->am_sender && !fs->daemon_parse;
	size_t pre = 0, total, slashes = 0, suf = 0;
	struct frule *e;
	char *p;

	if ((xflags & (XF_ANCHORED2ABS | XF_ABS_IF_SLASH)) &&
	    (f & FR_SIDES) == (sender ? OCP_FRF_RECV_SIDE : OCP_FRF_SENDER_SIDE))
		return 0; /* a rule for the other side only, read from a file here */
	if (plen > 1 && pat[plen - 1] == '/') {
		plen--;
		f |= OCP_FRF_DIRECTORY;
	}
	for (size_t i = 0; i < plen; i++)
		slashes += pat[i] == '/';
	if (!(f & (OCP_FRF_ABS_PATH | FR_MERGE)) && (xflags & XF_ANCHORED2ABS) && *pat == '/') {
		/* anchored in a per-directory file: anchored to that directory */
		f |= OCP_FRF_ABS_PATH;
		pre = fs->dirbuf_len - 1;
	} else if (!(f & (OCP_FRF_ABS_PATH | FR_MERGE)) && (xflags & XF_ABS_IF_SLASH) &&
		   (*pat == '/' || slashes)) {
		/* a module's rule with a '/' is matched from the module's root */
		f |= OCP_FRF_ABS_PATH;
	}
	if ((xflags & XF_DIR2WILD3) && (f & OCP_FRF_DIRECTORY) && !(f & FR_INCLUDE)) {
		/* "dir/" in a module: the directory and all below it ("dir/" "***") */
		f &= ~OCP_FRF_DIRECTORY;
		suf = 4;
	}
	total = pre + plen + suf;
	if (total > OCP_FILTER_LINE_MAX)
		return rule_err(fs, "discarding over-long filter", "");
	e = calloc(1, offsetof(struct frule, r) + offsetof(struct ocp_filter_rule, pattern) +
			  total + 1);
	if (!e)
		return -ENOMEM;
	p = e->r.pattern;
	memcpy(p, fs->dirbuf, pre);
	memcpy(p + pre, pat, plen);
	if (suf) {
		memcpy(p + pre + plen, "/***", 4);
		slashes++;
	}
	p[total] = '\0';
	for (size_t i = 0; i < pre; i++)
		slashes += p[i] == '/';
	e->r.pattern_len = total;
	if (strpbrk(p, "*[?")) {
		const char *w2 = strstr(p, "**");

		f |= OCP_FRF_WILD;
		if (w2) {
			f |= OCP_FRF_WILD2;
			if (w2 == p)
				f |= OCP_FRF_WILD2_PREFIX;
			if (total >= 3 && !strcmp(p + total - 3, "***"))
				f |= OCP_FRF_WILD3_SUFFIX;
		}
	}
	e->r.flags = f;
	e->r.kind = f & FR_PERDIR    ? OCP_FR_DIR_MERGE
		    : f & FR_INCLUDE ? OCP_FR_INCLUDE
				     : OCP_FR_EXCLUDE;
	if (f & FR_PERDIR) {
		const char *bn = basename_of(p);

		/* The same file name is merged once, by its first rule. */
		for (size_t i = 0; i < fs->nmp; i++) {
			if (fs->mp[i] && !strcmp(basename_of(fs->mp[i]->r.pattern), bn)) {
				free(e);
				return 0;
			}
		}
		e->ml = calloc(1, sizeof(*e->ml));
		if (!e->ml) {
			free(e);
			return -ENOMEM;
		}
		{
			char buf[PATH_MAX + 64];

			if (asprintf(&e->ml->what, " [per-dir %s]",
				     shown(fs, f, bn, buf, sizeof(buf))) < 0)
				e->ml->what = NULL;
		}
		if (fs->nmp == fs->capmp) {
			struct frule **n = realloc(fs->mp, (fs->capmp + 5) * sizeof(*n));

			if (!n) {
				free(e->ml);
				free(e);
				return -ENOMEM;
			}
			fs->mp = n;
			fs->capmp += 5;
		}
		fs->mp[fs->nmp++] = e;
	} else {
		e->r.slash_cnt = (unsigned)slashes;
	}
	append(lp, e);
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

static const struct {
	const char *word;
	char kind;
} words[] = {
    {"clear", '!'}, {"dir-merge", ':'}, {"exclude", '-'}, {"hide", 'H'}, {"include", '+'},
    {"merge", '.'}, {"protect", 'P'},	{"risk", 'R'},	  {"show", 'S'},
};

/* A long rule name at s: its kind, s left on its last letter or on a ','. */
static char
long_word(const unsigned char **sp)
{
	const unsigned char *s = *sp;

	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		size_t n = strlen(words[k].word);

		if (strncmp((const char *)s, words[k].word, n))
			continue;
		if (isspace(s[n]) || s[n] == '_' || !s[n]) {
			*sp = s + n - 1;
			return words[k].kind;
		}
		if (s[n] == ',') {
			*sp = s + n;
			return words[k].kind;
		}
		return 0;
	}
	return 0;
}

/*
 * The next rule of *sp under template flags tf: 1 with *fl, *pat and *plen
 * set and *sp moved past it, 0 at the end, or a negative error (printed).
 */
static int
parse_tok(struct oce_filters *fs, const char **sp, uint32_t tf, int xflags, uint32_t *fl,
	  const char **pat, size_t *plen)
{
	const unsigned char *s = (const unsigned char *)*sp;
	const char *start;
	uint32_t f;
	size_t len;

	if (tf & OCP_FRF_WORD_SPLIT) {
		while (isspace(*s))
			s++;
		*sp = (const char *)s;
	}
	if (!*s)
		return 0;
	start = *sp;
	f = tf & FR_FROM_CONTAINER;
	if (fs->in_file)
		f |= FR_FROM_FILE;
	if (tf & OCP_FRF_NO_PREFIXES) {
		if (*s == '!' && (tf & OCP_FRF_CVS_IGNORE))
			f |= FR_CLEAR; /* kept only if nothing follows */
	} else if (xflags & XF_OLD_PREFIXES) {
		if (*s == '-' && s[1] == ' ') {
			f &= ~FR_INCLUDE;
			s += 2;
		} else if (*s == '+' && s[1] == ' ') {
			f |= FR_INCLUDE;
			s += 2;
		} else if (*s == '!') {
			f |= FR_CLEAR;
		}
	} else {
		bool side = false;
		char ch;

		if (strchr("cdehimprs", *s)) {
			ch = long_word(&s);
		} else {
			ch = (char)*s;
			if (s[1] == ',')
				s++;
		}
		switch (ch) {
		case ':':
			f |= FR_PERDIR | FR_FINISH | FR_MERGE;
			break;
		case '.':
			f |= FR_MERGE;
			break;
		case '+':
			f |= FR_INCLUDE;
			break;
		case '-':
			break;
		case 'S':
			f |= FR_INCLUDE;
			/* fall through */
		case 'H':
			f |= OCP_FRF_SENDER_SIDE;
			side = true;
			break;
		case 'R':
			f |= FR_INCLUDE;
			/* fall through */
		case 'P':
			f |= OCP_FRF_RECV_SIDE;
			side = true;
			break;
		case '!':
			f |= FR_CLEAR;
			break;
		default:
			return rule_err(fs, "Unknown filter rule", start);
		}
		while (ch != '!' && *++s && *s != ' ' && *s != '_') {
			bool bad = false;

			if ((tf & OCP_FRF_WORD_SPLIT) && isspace(*s)) {
				s--;
				break;
			}
			switch (*s) {
			case '-':
			case '+':
				if (!(f & FR_MERGE) || (f & OCP_FRF_NO_PREFIXES))
					bad = true;
				f |= OCP_FRF_NO_PREFIXES | (*s == '+' ? FR_INCLUDE : 0);
				break;
			case '/':
				f |= OCP_FRF_ABS_PATH;
				break;
			case '!':
				bad = f & FR_MERGE;
				f |= OCP_FRF_NEGATE;
				break;
			case 'C':
				bad = (f & OCP_FRF_NO_PREFIXES) || side;
				f |= OCP_FRF_NO_PREFIXES | OCP_FRF_WORD_SPLIT | OCP_FRF_NO_INHERIT |
				     OCP_FRF_CVS_IGNORE;
				break;
			case 'e':
			case 'n':
			case 'w':
				bad = !(f & FR_MERGE);
				f |= *s == 'e'	 ? OCP_FRF_EXCLUDE_SELF
				     : *s == 'n' ? OCP_FRF_NO_INHERIT
						 : OCP_FRF_WORD_SPLIT;
				break;
			case 'p':
				f |= OCP_FRF_PERISHABLE;
				break;
			case 'r':
			case 's':
				bad = side;
				f |= *s == 'r' ? OCP_FRF_RECV_SIDE : OCP_FRF_SENDER_SIDE;
				break;
			case 'x':
				f |= OCP_FRF_XATTR;
				break;
			default:
				bad = true;
			}
			if (bad) {
				char msg[64], buf[PATH_MAX + 64];

				if (fs->in_file)
					snprintf(msg, sizeof(msg), "invalid modifier");
				else
					snprintf(msg, sizeof(msg),
						 "invalid modifier '%c' at position %d", *s,
						 (int)((const char *)s - start));
				oce_rerror(fs->s, "%s in filter rule: %s", msg,
						shown(fs, 0, start, buf, sizeof(buf)));
				fs->s->exit_code = RERR_SYNTAX;
				return OCP_EFILTER;
			}
		}
		if (*s)
			s++;
	}
	if (tf & FR_SIDES) {
		if (f & FR_SIDES)
			return rule_err(
			    fs, "specified-side merge file contains specified-side filter", start);
		f |= tf & FR_SIDES;
	}
	if (tf & OCP_FRF_WORD_SPLIT) {
		const unsigned char *cp = s;

		while (*cp && !isspace(*cp))
			cp++;
		len = (size_t)(cp - s);
	} else {
		len = strlen((const char *)s);
	}
	if (f & FR_CLEAR) {
		if (!(tf & OCP_FRF_NO_PREFIXES) && !(xflags & XF_OLD_PREFIXES) && len)
			return rule_err(fs, "'!' rule has trailing characters", start);
		if (len > 1)
			f &= ~FR_CLEAR;
	} else if (!len && !(f & OCP_FRF_CVS_IGNORE)) {
		return rule_err(fs, "unexpected end of filter rule", start);
	}
	/* --delete-excluded: a plain rule is for the sending side only. */
	if (fs->s->o->delete_excluded && !fs->daemon_parse && !(f & (FR_SIDES | FR_MERGE)))
		f |= OCP_FRF_SENDER_SIDE;
	*fl = f;
	*pat = (const char *)s;
	*plen = len;
	*sp = (const char *)s + len;
	return 1;
}

/*
 * A merge file's name as it is opened: unchanged when it has no '/' (and
 * no parent scan is running), else cleaned and made absolute below the
 * directory being entered (upstream parse_merge_name()). NULL if too long.
 */
char *
oce__flt_merge_name(struct oce_filters *fs, const char *name, size_t len, char *buf, size_t cap)
{
	char tmp[PATH_MAX];

	if (len >= sizeof(tmp))
		return NULL;
	memcpy(tmp, name, len);
	tmp[len] = '\0';
	if (!fs->parent_scan && *tmp != '/' && (!*tmp || !strchr(tmp + 1, '/'))) {
		snprintf(buf, cap, "%s", tmp);
		return buf;
	}
	oce__clean_dir(tmp);
	if (*tmp == '/') {
		snprintf(buf, cap, "%s", tmp);
	} else {
		if (fs->dirbuf_len + strlen(tmp) >= cap)
			return NULL;
		memcpy(buf, fs->dirbuf, fs->dirbuf_len);
		strcpy(buf + fs->dirbuf_len, tmp);
		oce__clean_dir(buf);
	}
	return buf;
}

static int load_cvs(struct oce_filters *fs, uint32_t f);

/* Every rule of text into lp (upstream parse_filter_str()). */
int
oce__flt_parse_str(struct oce_filters *fs, struct rlist *lp, const char *text, uint32_t tf,
		   int xflags)
{
	char nbuf[PATH_MAX + 2];

	if (!text)
		return 0;
	for (;;) {
		const char *pat = NULL;
		size_t plen = 0;
		uint32_t f = 0;
		int r = parse_tok(fs, &text, tf, xflags, &f, &pat, &plen);

		if (r <= 0)
			return r;
		if (plen >= PATH_MAX) {
			char buf[PATH_MAX + 64];

			oce_rerror(fs->s, "discarding over-long filter: %s",
					shown(fs, 0, "", buf, sizeof(buf)));
			continue;
		}
		if (f & FR_CLEAR) {
			/* this level's rules are freed, inherited ones only left behind */
			oce__flt_pop_list(fs, lp);
			lp->head = NULL;
			continue;
		}
		if (f & FR_MERGE) {
			if (!plen) {
				pat = ".cvsignore";
				plen = 10;
			}
			if (f & OCP_FRF_EXCLUDE_SELF) {
				const char *bn = pat + plen;

				while (bn > pat && bn[-1] != '/')
					bn--;
				r = add_rule(fs, lp, bn, (size_t)(pat + plen - bn),
					     f & FR_FROM_FILE, 0);
				if (r)
					return r;
				f &= ~OCP_FRF_EXCLUDE_SELF;
			}
			if (f & FR_PERDIR) {
				if (fs->parent_scan) {
					const char *n =
					    oce__flt_merge_name(fs, pat, plen, nbuf, sizeof(nbuf));

					r = n ? add_rule(fs, lp, n, strlen(n), f, 0) : 0;
					if (r)
						return r;
					continue;
				}
			} else {
				const char *n =
				    oce__flt_merge_name(fs, pat, plen, nbuf, sizeof(nbuf));

				r = n ? oce__flt_parse_file(fs, lp, n, f, XF_FATAL) : 0;
				if (r)
					return r;
				continue;
			}
		}
		r = add_rule(fs, lp, pat, plen, f, xflags);
		if (!r && (f & OCP_FRF_CVS_IGNORE) && !(f & FR_MERGE))
			r = load_cvs(fs, f);
		if (r)
			return r;
	}
}

static int check_list(const struct oce_filters *fs, const struct rlist *lp, const char *cur,
		      const char *name, bool is_dir, bool no_perishable);

/* Does the module exclude path? It is taken from the module's root. */
static bool
daemon_hides(const struct oce_filters *fs, const char *path, bool is_dir)
{
	char buf[PATH_MAX];
	size_t rl = strlen(fs->droot);
	const char *name = path;

	if (!fs->daemon.head || fs->daemon_parse)
		return false;
	if (*path == '/' && rl > 1 && !strncmp(path, fs->droot, rl) &&
	    (path[rl] == '/' || !path[rl]))
		name = path + rl;
	snprintf(buf, sizeof(buf), "%s", name);
	oce__clean_dir(buf);
	return check_list(fs, &fs->daemon, "/", buf, is_dir, false) < 0;
}

static bool
hidden_by_daemon(const struct oce_filters *fs, const char *fname)
{
	return daemon_hides(fs, fname, false);
}

bool
oce_filter_daemon_hides(const struct oce_session *s, const char *path, bool is_dir)
{
	return s->flt && daemon_hides(s->flt, path, is_dir);
}

/* The rules of file fname under template tf (upstream parse_filter_file()). */
int
oce__flt_parse_file(struct oce_filters *fs, struct rlist *lp, const char *fname, uint32_t tf,
		    int xflags)
{
	const struct oce_opts *o = fs->s->o;
	bool word_split = tf & OCP_FRF_WORD_SPLIT;
	char *line, src[PATH_MAX + 2];
	bool save_in = fs->in_file;
	const char *save_file = fs->src_file;
	int save_line = fs->src_line, r = 0, ch;
	FILE *fp;
	bool given = fs->given_fp != NULL; /* its owner closes it */

	if (!fname || !*fname)
		return 0;
	if (!fs->given_fp && hidden_by_daemon(fs, fname))
		return 0; /* not there, not even an error (upstream parse_filter_file()) */
	if (fs->merge_depth >= MERGE_DEPTH_MAX) {
		char buf[PATH_MAX + 64];

		oce_rerror(fs->s, "[%s] merge-file include depth limit (%d) exceeded at %s",
				fs->s->am_sender ? "sender" : "receiver", MERGE_DEPTH_MAX,
				shown(fs, tf, fname, buf, sizeof(buf)));
		if (xflags & XF_FATAL) {
			fs->s->exit_code = RERR_FILEIO;
			return OCP_EFILTER;
		}
		return 0;
	}
	if (fs->given_fp)
		fp = fs->given_fp;
	else if (!strcmp(fname, "-") && !fs->s->am_server)
		fp = stdin;
	else
		fp = fopen(fname, "rb");
	fs->given_fp = NULL;
	if (!fp) {
		if (xflags & XF_FATAL) {
			int e = errno;
			char buf[PATH_MAX + 64];

			if (fs->in_file || (tf & FR_FROM_FILE))
				oce_rerror(fs->s, "failed to open %sclude file %s",
						tf & FR_INCLUDE ? "in" : "ex",
						shown(fs, tf, fname, buf, sizeof(buf)));
			else
				oce_error(fs->s, "[%s] failed to open %sclude file %s: %s (%d)",
					  fs->s->am_server
					      ? (fs->s->am_sender ? "sender" : "receiver")
					      : "client",
					  tf & FR_INCLUDE ? "in" : "ex", fname, strerror(e), e);
			fs->s->exit_code = RERR_FILEIO;
			return -e;
		}
		return 0;
	}
	line = malloc(LINE_CAP);
	if (!line) {
		if (fp != stdin && !given)
			fclose(fp);
		return -ENOMEM;
	}
	snprintf(src, sizeof(src), "%s", fname);
	fs->merge_depth++;
	fs->in_file = true;
	fs->src_file = src;
	fs->src_line = word_split ? -1 : 0;
	do {
		size_t n = 0;
		bool over = false;

		if (fs->src_line >= 0)
			fs->src_line++;
		while ((ch = getc(fp)) != EOF) {
			if (word_split && isspace(ch))
				break;
			if (o->from0 && !fs->daemon_parse ? ch == '\0' : ch == '\n' || ch == '\r') {
				if (ch == '\r') {
					int nx = getc(fp);

					if (nx == EOF)
						ch = EOF;
					else if (nx != '\n')
						ungetc(nx, fp);
				}
				break;
			}
			if (n < LINE_CAP - 1)
				line[n++] = (char)ch;
			else
				over = true;
		}
		if (over) {
			char buf[PATH_MAX + 64];

			oce_rerror(fs->s, "discarding over-long filter: %s",
					shown(fs, 0, "", buf, sizeof(buf)));
			n = 0;
		}
		line[n] = '\0';
		if (*line && (word_split || (*line != ';' && *line != '#')))
			r = oce__flt_parse_str(fs, lp, line, tf, xflags);
	} while (!r && ch != EOF);
	fs->in_file = save_in;
	fs->src_file = save_file;
	fs->src_line = save_line;
	fs->merge_depth--;
	free(line);
	if (fp != stdin && !given)
		fclose(fp);
	return r;
}

/* -C's list: the defaults, ~/.cvsignore and $CVSIGNORE (upstream get_cvs_excludes()). */
static int
load_cvs(struct oce_filters *fs, uint32_t f)
{
	char path[PATH_MAX];
	const char *home = getenv("HOME");
	uint32_t tf = f & ~(FR_MERGE | FR_PERDIR | FR_FINISH);
	int r;

	if (fs->cvs_loaded)
		return 0;
	fs->cvs_loaded = true;
	r = oce__flt_parse_str(fs, &fs->cvs, cvs_defaults,
			       tf | (fs->s->protocol >= 30 ? OCP_FRF_PERISHABLE : 0), 0);
	if (!r && home && snprintf(path, sizeof(path), "%s/.cvsignore", home) < (int)sizeof(path))
		r = oce__flt_parse_file(fs, &fs->cvs, path, tf, 0);
	if (!r)
		r = oce__flt_parse_str(fs, &fs->cvs, getenv("CVSIGNORE"), tf, 0);
	return r;
}

/* ---- matching ----------------------------------------------------------- */

/* -vv's note of the rule that decided (upstream report_filter_result()). */
static void
report(const struct oce_filters *fs, const struct rlist *lp, const struct frule *e,
       const char *name, bool is_dir)
{
	struct oce_session *s = fs->s;
	bool inc = e->r.flags & FR_INCLUDE, from_file = e->r.flags & FR_FROM_FILE;
	const char *act = s->am_sender ? (inc ? "show" : "hid") : (inc ? "risk" : "protect");

	oce_info(s, "[%s] %sing %s %s because of pattern %s%s%s",
		 s->am_sender ? "sender" : "generator", act, is_dir ? "directory" : "file", name,
		 from_file ? "<rule from a file read earlier>" : e->r.pattern,
		 !from_file && (e->r.flags & OCP_FRF_DIRECTORY) ? "/" : "",
		 lp == &fs->cvs ? " [global CVS]"
		 : lp->what	? lp->what
				: "");
}

/* cur: the directory names are relative to, as absolute rules see it. */
static int
check_list(const struct oce_filters *fs, const struct rlist *lp, const char *cur, const char *name,
	   bool is_dir, bool no_perishable)
{
	for (const struct frule *e = lp->head; e; e = e->next) {
		uint32_t f = e->r.flags;
		int rc;

		if (no_perishable && (f & OCP_FRF_PERISHABLE))
			continue;
		if (f & FR_PERDIR) {
			rc = check_list(fs, e->ml, cur, name, is_dir, no_perishable);
			if (rc)
				return rc;
			continue;
		}
		if (f & OCP_FRF_CVS_IGNORE) {
			rc = check_list(fs, &fs->cvs, cur, name, is_dir, no_perishable);
			if (rc)
				return rc;
			continue;
		}
		/* Sides are settled by elide (send_rules()) and by what is sent: as upstream. */
		if (e->elide == fs->cur_elide)
			continue;
		if (ocp_filter_match_in(&e->r, cur, name, is_dir)) {
			/* the module's rules go to upstream's daemon log only */
			if (fs->s->o->debug[OCE_DEBUG_FILTER] >= 1 && cur != fs->dcur)
				report(fs, lp, e, name, is_dir);
			return f & FR_INCLUDE ? 1 : -1;
		}
	}
	return 0;
}

int
oce_filter_daemon_check(const struct oce_session *s, const char *name, bool is_dir)
{
	const struct oce_filters *fs = s->flt;

	if (!fs || !fs->daemon.head || !*name)
		return 0;
	return check_list(fs, &fs->daemon, fs->dcur, name, is_dir, false) < 0 ? -1 : 0;
}

bool
oce_filter_daemon_path(const struct oce_session *s, const char *path, bool skip_last)
{
	char buf[PATH_MAX];
	char *slash;

	if (!s->flt || !s->flt->daemon.head)
		return false;
	snprintf(buf, sizeof(buf), "%s", path);
	for (slash = buf; (slash = strchr(slash + 1, '/')) != NULL;) {
		*slash = '\0';
		if (oce_filter_daemon_check(s, buf, true) < 0)
			return true;
		*slash = '/';
	}
	return !skip_last && oce_filter_daemon_check(s, buf, true) < 0;
}

void
oce_filter_daemon_dir(struct oce_session *s, const char *root)
{
	struct oce_filters *fs = s->flt;
	char buf[PATH_MAX];

	if (!fs || !fs->daemon.head)
		return;
	snprintf(buf, sizeof(buf), "/%s", root ? root : ".");
	oce__clean_dir(buf);
	if (!strcmp(buf, "/.") || !*buf)
		snprintf(buf, sizeof(buf), "/");
	snprintf(fs->dcur, sizeof(fs->dcur), "%s", buf);
}

int
oce_filter_check(const struct oce_session *s, const char *name, bool is_dir)
{
	return oce_filter_check_ex(s, name, is_dir, false);
}

int
oce_filter_check_ex(const struct oce_session *s, const char *name, bool is_dir, bool no_perishable)
{
	const struct oce_filters *fs = s->flt;

	if (!fs || !*name)
		return 0;
	/* The module's rules first, and only their excludes count (upstream name_is_excluded()). */
	if (fs->daemon.head && check_list(fs, &fs->daemon, fs->dcur, name, is_dir, no_perishable) < 0)
		return -1;
	if (!fs->main.head)
		return 0;
	return check_list(fs, &fs->main, fs->curdir, name, is_dir, no_perishable);
}

int
oce_filter_status(const struct oce_session *s)
{
	return s->flt && s->flt->failed ? OCP_EFILTER : 0;
}

bool
oce_filter_any(const struct oce_session *s)
{
	return s->flt && s->flt->main.head;
}

/* ---- set-up and the wire ------------------------------------------------ */

int
oce_filter_init(struct oce_session *s, bool with_cmdline)
{
	struct oce_filters *fs = s->flt;

	if (!fs) {
		fs = calloc(1, sizeof(*fs));
		if (!fs)
			return -ENOMEM;
		fs->s = s;
		fs->cur_elide = ELIDE_REMOTE;
		fs->cur_depth = -1;
		snprintf(fs->dcur, sizeof(fs->dcur), "/");
		s->flt = fs;
		if (!getcwd(fs->curdir, sizeof(fs->curdir)))
			snprintf(fs->curdir, sizeof(fs->curdir), "/");
		snprintf(fs->root, sizeof(fs->root), ".");
		oce__flt_set_dir(fs, ".");
	}
	for (size_t i = 0; with_cmdline && i < s->o->filters.n; i++) {
		int r = oce__flt_parse_str(fs, &fs->main, s->o->filters.v[i], 0, 0);

		if (r)
			return r;
	}
	return 0;
}

int
oce_filter_daemon(struct oce_session *s, const struct oce_daemon_mod *d)
{
	struct oce_filters *fs;
	const int xf = XF_ABS_IF_SLASH | XF_DIR2WILD3;
	int r = oce_filter_init(s, false);

	if (r)
		return r;
	fs = s->flt;
	if (!getcwd(fs->droot, sizeof(fs->droot)))
		snprintf(fs->droot, sizeof(fs->droot), "/");
	fs->daemon_parse = true;
	r = oce__flt_parse_str(fs, &fs->daemon, d->filter, OCP_FRF_WORD_SPLIT, xf);
	if (!r && d->include_from_fp) {
		fs->given_fp = d->include_from_fp;
		r = oce__flt_parse_file(fs, &fs->daemon, d->include_from, FR_INCLUDE,
					xf | XF_OLD_PREFIXES | XF_FATAL);
	}
	if (!r)
		r = oce__flt_parse_str(fs, &fs->daemon, d->include, FR_INCLUDE | OCP_FRF_WORD_SPLIT,
				       xf | XF_OLD_PREFIXES);
	if (!r && d->exclude_from_fp) {
		fs->given_fp = d->exclude_from_fp;
		r = oce__flt_parse_file(fs, &fs->daemon, d->exclude_from, 0,
					xf | XF_OLD_PREFIXES | XF_FATAL);
	}
	if (!r)
		r = oce__flt_parse_str(fs, &fs->daemon, d->exclude, OCP_FRF_WORD_SPLIT,
				       xf | XF_OLD_PREFIXES);
	fs->daemon_parse = false;
	fs->given_fp = NULL;
	return r;
}

int
oce_filter_add(struct oce_session *s, const char *text)
{
	int r = oce_filter_init(s, false);

	return r ? r : oce__flt_parse_str(s->flt, &s->flt->main, text, 0, 0);
}

void
oce_filter_free(struct oce_session *s)
{
	struct oce_filters *fs = s->flt;

	if (!fs)
		return;
	oce_filter_chdir(s, NULL, NULL, 0);
	oce__flt_free_rules(fs, fs->main.head);
	oce__flt_free_rules(fs, fs->cvs.head);
	oce__flt_free_rules(fs, fs->daemon.head);
	free(fs->mp);
	free(fs);
	s->flt = NULL;
}
