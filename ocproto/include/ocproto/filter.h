/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto filter rules (upstream exclude.c parse_rule_tok(), add_rule(),
 * rule_matches(), get_rule_prefix(), send_filter_list(), recv_filter_list();
 * lib/wildmatch.c): parse one rule in its short or long form, match rules
 * against paths with upstream's wildmatch, and encode/decode the filter list
 * a client sends (int32 length + rule text, ended by int32 0). Merge files
 * are parsed as rules but never opened: this module does no I/O.
 *
 * Return convention as in int.h; OCP_EFILTER for a bad rule or a list past
 * its rule cap, OCP_ETOOLONG for an over-long rule.
 *
 * Concurrency: all functions are reentrant; a struct ocp_filter_dec_state
 * belongs to one stream.
 */
#ifndef OCPROTO_FILTER_H
#define OCPROTO_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OCP_FILTER_LINE_MAX  5119  /* longest rule on the wire (upstream BIGPATHBUFLEN - 1) */
#define OCP_FILTER_RULES_MAX 10000 /* default cap on rules in one list */

/* Rule kinds, by their one-character prefix. */
enum ocp_filter_kind {
	OCP_FR_INCLUDE = '+',
	OCP_FR_EXCLUDE = '-',
	OCP_FR_PROTECT = 'P',
	OCP_FR_RISK = 'R',
	OCP_FR_HIDE = 'H',
	OCP_FR_SHOW = 'S',
	OCP_FR_DIR_MERGE = ':',
	OCP_FR_MERGE = '.',
	OCP_FR_CLEAR = '!',
};

/* Modifier and pattern flags of a parsed rule (upstream FILTRULE_*). */
#define OCP_FRF_ABS_PATH     (1u << 0)	/* '/' */
#define OCP_FRF_NEGATE	     (1u << 1)	/* '!' */
#define OCP_FRF_CVS_IGNORE   (1u << 2)	/* 'C' */
#define OCP_FRF_EXCLUDE_SELF (1u << 3)	/* 'e' */
#define OCP_FRF_NO_INHERIT   (1u << 4)	/* 'n' */
#define OCP_FRF_WORD_SPLIT   (1u << 5)	/* 'w' */
#define OCP_FRF_XATTR	     (1u << 6)	/* 'x' */
#define OCP_FRF_SENDER_SIDE  (1u << 7)	/* 's', or the H and S kinds */
#define OCP_FRF_RECV_SIDE    (1u << 8)	/* 'r', or the P and R kinds */
#define OCP_FRF_PERISHABLE   (1u << 9)	/* 'p' */
#define OCP_FRF_NO_PREFIXES  (1u << 10) /* '-' or '+' on a merge rule */
#define OCP_FRF_NP_INCLUDE   (1u << 11) /* '+' on a merge rule */
#define OCP_FRF_DIRECTORY    (1u << 12) /* pattern ended with '/' */
#define OCP_FRF_WILD	     (1u << 13) /* pattern has '*', '?' or '[' */
#define OCP_FRF_WILD2	     (1u << 14) /* pattern has "**" */
#define OCP_FRF_WILD2_PREFIX (1u << 15) /* pattern starts with "**" */
#define OCP_FRF_WILD3_SUFFIX (1u << 16) /* pattern ends with "***" */

/* One parsed rule; pattern is NUL-terminated, without a trailing '/'. */
struct ocp_filter_rule {
	enum ocp_filter_kind kind;
	uint32_t flags;
	unsigned slash_cnt;
	size_t pattern_len;
	char pattern[OCP_FILTER_LINE_MAX + 1];
};

/* The CVS default ignore list that `-C` expands to (upstream DEFAULT_CVSIGNORE). */
extern const char ocp_filter_cvs_default[];

/*
 * Parse one rule ("- *.o", "exclude,/ foo", "+! bar/", "P x", ":n- .rules",
 * "!", "-C") of len bytes; mirrors upstream `parse_rule_tok()` and the
 * pattern analysis of `add_rule()` for a rule from the command line or the
 * wire (no merge-file template). Returns 0 or OCP_EFILTER (unknown kind,
 * bad modifier, missing pattern, trailing text after '!'), OCP_ETOOLONG.
 */
int ocp_filter_parse(const char *text, size_t len, struct ocp_filter_rule *out);

/*
 * Write r as upstream puts it on the wire for protocol 30+: the prefix
 * ("+ ", "-/! ", ":n- ", ...), the pattern and '/' for a directory rule,
 * NUL-terminated. Returns its length, -ENOBUFS, or -EINVAL for a CLEAR
 * rule or a kind that has no wire prefix. Mirrors `get_rule_prefix()`.
 */
int ocp_filter_rule_text(const struct ocp_filter_rule *r, char *out, size_t cap);

/*
 * Does r's pattern match path name (relative, no leading '/'; is_dir for
 * directories)? Returns true when it matches, negation applied. Mirrors
 * upstream `rule_matches()`, with the transfer root as the anchor.
 */
bool ocp_filter_match(const struct ocp_filter_rule *r, const char *name, bool is_dir);

/*
 * As ocp_filter_match(), with curdir the absolute directory name is relative
 * to: a rule with the '/' modifier (OCP_FRF_ABS_PATH) and a slash or "**"
 * then matches curdir + "/" + name, as upstream does with its curr_dir.
 * curdir NULL or "/" is the same as ocp_filter_match().
 */
bool ocp_filter_match_in(const struct ocp_filter_rule *r, const char *curdir, const char *name,
			 bool is_dir);

/*
 * Walk rules[0..n) in order and return the first include-like (+1) or
 * exclude-like (-1) rule that matches name, or 0 when none does. Only
 * +, -, H, S (and P, R when receiver is true) take part; merge and clear
 * rules are skipped. Mirrors upstream `check_filter()`.
 */
int ocp_filter_check(const struct ocp_filter_rule *rules, size_t n, const char *name, bool is_dir,
		     bool receiver);

/*
 * Match text against pattern with `*` (no '/'), `**` (anything), `?`,
 * `[...]` classes (ranges, `!`/`^` negation, `[:alpha:]` and friends) and
 * backslash escapes; mirrors upstream `wildmatch()`, including its abort
 * rules that keep patterns like "**********a" polynomial.
 */
bool ocp_wildmatch(const char *pattern, const char *text);

/* Write one wire rule: int32 len then len bytes of text (1..OCP_FILTER_LINE_MAX). */
int ocp_filter_enc(uint8_t *out, size_t cap, const char *text, size_t len);
/* Write the int32 0 that ends a filter list. */
int ocp_filter_enc_end(uint8_t *out, size_t cap);

/* Per-stream state of the filter-list decoder. */
struct ocp_filter_dec_state {
	size_t count;	  /* rules decoded so far */
	size_t max_rules; /* cap; more is OCP_EFILTER */
	bool done;
};

/* Start a list decoder allowing at most max_rules rules (0: OCP_FILTER_RULES_MAX). */
void ocp_filter_dec_init(struct ocp_filter_dec_state *st, size_t max_rules);

/*
 * Decode the next wire rule: *text points into buf (not NUL-terminated) and
 * *tlen is its length; at the end marker *tlen is 0 and st->done is set.
 * A length above OCP_FILTER_LINE_MAX or negative is OCP_ETOOLONG, a rule
 * past the cap OCP_EFILTER. Mirrors upstream `recv_filter_list()`.
 */
int ocp_filter_dec(struct ocp_filter_dec_state *st, const uint8_t *buf, size_t len,
		   const uint8_t **text, size_t *tlen);

#endif /* OCPROTO_FILTER_H */
