/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The rsyncd.conf lexer. It keeps upstream params.c's exact state machine
 * (one shared buffer, an insertion index and a separate "end of string"
 * index that lags behind trailing blanks), because the quirks of that
 * machine are visible in parsed values: where whitespace is collapsed,
 * which blanks survive a continuation, which lines are errors and which are
 * only skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/daemon/conf_priv.h"

#define LEX_EOF (-1)

struct lex {
	const unsigned char *p, *end;
	char *buf;
	size_t cap;
	const struct oce__dlex_ops *ops;
	bool nomem;
};

/* isspace() in the C locale, which is what upstream runs under. */
static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int
lx_get(struct lex *l)
{
	return l->p < l->end ? *l->p++ : LEX_EOF;
}

/* Skip blanks but not a newline; the first other character (or EOF). */
static int
eat_ws(struct lex *l)
{
	int c;

	do
		c = lx_get(l);
	while (c != '\n' && c != LEX_EOF && is_space(c));
	return c;
}

/* Skip to the end of the line; returns the '\n', EOF or NUL that ended it. */
static int
eat_comment(struct lex *l)
{
	int c;

	do
		c = lx_get(l);
	while (c != '\n' && c > 0);
	return c;
}

/*
 * Where the backslash is when the last non-blank before pos is one, else
 * -1 (upstream Continuation()).
 */
static long
continuation(const char *buf, long pos)
{
	pos--;
	while (pos >= 0 && is_space((unsigned char)buf[pos]))
		pos--;
	return pos >= 0 && buf[pos] == '\\' ? pos : -1;
}

/* Room for index i and a NUL after it. */
static bool
room(struct lex *l, long i)
{
	char *nb;
	size_t ncap;

	if ((size_t)i + 2 <= l->cap)
		return true;
	ncap = l->cap ? l->cap * 2 : 1024;
	while (ncap < (size_t)i + 2)
		ncap *= 2;
	nb = realloc(l->buf, ncap);
	if (!nb) {
		l->nomem = true;
		return false;
	}
	l->buf = nb;
	l->cap = ncap;
	return true;
}

/* After the '[': read the name up to ']' and hand it over. */
static bool
section(struct lex *l)
{
	long i = 0, end = 0;
	int c = eat_ws(l);

	while (c > 0) {
		if (!room(l, i) || !room(l, end))
			return false;
		switch (c) {
		case ']':
			l->buf[end] = '\0';
			if (end == 0) {
				l->ops->log(
				    l->ops->ctx,
				    "params.c:Section() - Empty section name in config file.");
				return false;
			}
			if (!l->ops->section(l->ops->ctx, l->buf))
				return false;
			eat_comment(l);
			return true;
		case '\n':
			i = continuation(l->buf, i);
			if (i < 0) {
				l->buf[end] = '\0';
				l->ops->log(
				    l->ops->ctx,
				    "params.c:Section() - Badly formed line in config file: %s",
				    l->buf);
				return false;
			}
			end = i > 0 && l->buf[i - 1] == ' ' ? i - 1 : i;
			c = lx_get(l);
			break;
		default:
			if (is_space(c)) {
				l->buf[end] = ' ';
				i = end + 1;
				c = eat_ws(l);
			} else {
				l->buf[i++] = (char)c;
				end = i;
				c = lx_get(l);
			}
		}
	}
	if (!room(l, end))
		return false;
	l->buf[end] = '\0';
	l->ops->log(l->ops->ctx, "params.c:Section() - Unexpected EOF in the config file: %s",
		    l->buf);
	return false;
}

/*
 * A parameter (or &directive) line whose first character c was already
 * read. Returns what the callback returned (1 / true to go on), 1 for the
 * lines upstream skips with a message, 0 for a fatal error.
 */
static int
parameter(struct lex *l, int c, bool directive)
{
	long i = 0, end = 0, vstart = 0;
	int rc;

	while (vstart == 0) {
		if (!room(l, i) || !room(l, end))
			return 0;
		switch (c) {
		case '=':
			if (end == 0) {
				l->ops->log(l->ops->ctx, "params.c:Parameter() - Invalid parameter "
							 "name in config file.");
				return 0;
			}
			l->buf[end++] = '\0';
			i = vstart = end;
			c = eat_ws(l);
			break;
		case '\n':
			i = continuation(l->buf, i);
			if (i < 0) {
				l->buf[end] = '\0';
				l->ops->log(l->ops->ctx,
					    "params.c:Parameter() - Ignoring badly formed line in "
					    "config file: %s",
					    l->buf);
				return 1;
			}
			end = i > 0 && l->buf[i - 1] == ' ' ? i - 1 : i;
			c = lx_get(l);
			break;
		case 0:
		case LEX_EOF:
			l->buf[i] = '\0';
			l->ops->log(l->ops->ctx,
				    "params.c:Parameter() - Unexpected end-of-file at: %s", l->buf);
			return 1;
		case ' ':
		case '\t':
			/* a directive's name ends at its first blank; '=' is optional */
			if (l->buf[0] == '&') {
				l->buf[end++] = '\0';
				i = vstart = end;
				c = eat_ws(l);
				if (c == '=')
					c = eat_ws(l);
				break;
			}
			/* fall through */
		default:
			if (is_space(c)) {
				l->buf[end] = ' ';
				i = end + 1;
				c = eat_ws(l);
			} else {
				l->buf[i++] = (char)c;
				end = i;
				c = lx_get(l);
			}
		}
	}

	while (c > 0) {
		if (!room(l, i))
			return 0;
		switch (c) {
		case '\r':
			c = lx_get(l);
			break;
		case '\n':
			i = continuation(l->buf, i);
			if (i < 0) {
				c = 0;
			} else {
				/* the backslash itself ends the kept text */
				end = i;
				c = lx_get(l);
			}
			break;
		default:
			/* blanks do not move end, so trailing ones are dropped */
			l->buf[i++] = (char)c;
			if (!is_space(c))
				end = i;
			c = lx_get(l);
		}
	}
	if (!room(l, end))
		return 0;
	l->buf[end] = '\0';

	if (directive)
		return l->ops->directive(l->ops->ctx, l->buf, l->buf + vstart);
	rc = l->ops->param(l->ops->ctx, l->buf, l->buf + vstart);
	return rc;
}

static int
scan(struct lex *l)
{
	int c = eat_ws(l), rc;

	while (c > 0) {
		switch (c) {
		case '\n':
			c = eat_ws(l);
			break;
		case ';':
		case '#':
			c = eat_comment(l);
			break;
		case '[':
			if (!section(l))
				return 0;
			c = eat_ws(l);
			break;
		case '\\':
			/* a stray backslash at the start of a line is skipped */
			c = eat_ws(l);
			break;
		case '&':
			rc = parameter(l, c, true);
			if (rc != 1)
				return rc;
			c = eat_ws(l);
			break;
		default:
			if (!parameter(l, c, false))
				return 0;
			c = eat_ws(l);
			break;
		}
	}
	return 1;
}

int
oce__dlex_run(const char *text, size_t len, const struct oce__dlex_ops *ops)
{
	struct lex l = {
	    .p = (const unsigned char *)text,
	    .end = (const unsigned char *)text + len,
	    .ops = ops,
	};
	int rc;

	rc = scan(&l);
	free(l.buf);
	return l.nomem ? -ENOMEM : rc;
}
