/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Mode rules in --chmod's language; see chmod.h. Each clause keeps what
 * it says (who, op, bits) and works out its change when applied, since a
 * copy from another class ("g=u") and "X" depend on the mode it meets.
 */
#include "apps/engine/chmod.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>

#define PERM_BITS 07777

struct oce_chmod {
	struct oce_chmod *next;
	char only;	   /* 'D' directories only, 'F' all but directories, or 0 */
	char op;	   /* '+', '-', '=', or '#' for an octal mode */
	unsigned who;	   /* 0100 u, 0010 g, 0001 o, any of them; 0: none given */
	unsigned perm;	   /* rwx as 4 2 1, or the octal mode */
	unsigned special;  /* setuid, setgid, sticky bits the clause names */
	unsigned idbits;   /* the set-id bits its classes own, for '=' with 's' */
	unsigned copy;	   /* the class to copy from (0100, 0010, 0001), or 0 */
	bool keep_x;	   /* 'X': x only for directories and what has an x already */
	mode_t umask_bits; /* limits a clause without a class */
};

void
oce_chmod_free(struct oce_chmod *c)
{
	while (c) {
		struct oce_chmod *n = c->next;

		free(c);
		c = n;
	}
}

/* One clause from *sp up to ',' or the end; false on a syntax error. */
static bool
parse_clause(const char **sp, struct oce_chmod *c)
{
	const char *s = *sp;
	bool have_s = false, have_t = false;

	for (; *s == 'D' || *s == 'F'; s++) {
		if (c->only && c->only != *s)
			return false;
		c->only = *s;
	}
	if (*s >= '0' && *s <= '7') {
		c->op = '#';
		for (; *s >= '0' && *s <= '7'; s++) {
			c->perm = c->perm * 8 + (unsigned)(*s - '0');
			if (c->perm > PERM_BITS)
				return false;
		}
		*sp = s;
		return !*s || *s == ',';
	}
	for (;; s++) {
		if (*s == 'u') {
			c->who |= 0100;
			c->idbits |= S_ISUID;
		} else if (*s == 'g') {
			c->who |= 0010;
			c->idbits |= S_ISGID;
		} else if (*s == 'o') {
			c->who |= 0001;
		} else if (*s == 'a') {
			c->who |= 0111;
			c->idbits |= S_ISUID | S_ISGID;
		} else {
			break;
		}
	}
	if (*s != '+' && *s != '-' && *s != '=')
		return false;
	c->op = *s++;
	for (; *s && *s != ','; s++) {
		if (c->copy)
			return false; /* a copy stands alone */
		switch (*s) {
		case 'r':
			c->perm |= 4;
			break;
		case 'w':
			c->perm |= 2;
			break;
		case 'X':
			c->keep_x = true;
			/* fall through */
		case 'x':
			c->perm |= 1;
			break;
		case 's':
			have_s = true;
			break;
		case 't':
			have_t = true;
			break;
		case 'u':
		case 'g':
		case 'o':
			if (c->perm || have_s || have_t)
				return false;
			c->copy = *s == 'u' ? 0100 : *s == 'g' ? 0010 : 0001;
			break;
		default:
			return false;
		}
	}
	/* 's' sets the set-id bits of the classes named; with none of u, g, a: setuid */
	if (have_s)
		c->special |= c->idbits ? c->idbits : S_ISUID;
	if (have_t)
		c->special |= S_ISVTX;
	*sp = s;
	return true;
}

struct oce_chmod *
oce_chmod_parse(const char *text, mode_t umask_bits)
{
	struct oce_chmod *head = NULL, **tail = &head;
	const char *s = text;

	for (;;) {
		struct oce_chmod *c = calloc(1, sizeof(*c));

		if (!c) {
			oce_chmod_free(head);
			errno = ENOMEM;
			return NULL;
		}
		c->umask_bits = umask_bits;
		*tail = c;
		tail = &c->next;
		if (!parse_clause(&s, c)) {
			oce_chmod_free(head);
			errno = EINVAL;
			return NULL;
		}
		if (!*s)
			return head;
		s++; /* ',' */
	}
}

/* The three bits of class from in mode, given to every class of to. */
static unsigned
spread(mode_t mode, unsigned from, unsigned to)
{
	unsigned bits = 0;

	if (from & 0100)
		bits |= (mode >> 6) & 7;
	if (from & 0010)
		bits |= (mode >> 3) & 7;
	if (from & 0001)
		bits |= mode & 7;
	return to * bits;
}

mode_t
oce_chmod_apply(const struct oce_chmod *c, mode_t mode)
{
	mode_t type = mode & ~(mode_t)PERM_BITS;
	bool dir = S_ISDIR(mode), had_x = mode & 0111;

	mode &= PERM_BITS;
	for (; c; c = c->next) {
		unsigned who = c->who ? c->who : 0111;
		unsigned limit = c->who ? PERM_BITS : ~(unsigned)c->umask_bits;
		unsigned add, set, copied, clear;

		if ((c->only == 'D' && !dir) || (c->only == 'F' && dir))
			continue;
		if (c->op == '#') {
			mode = c->perm;
			continue;
		}
		add = (who * c->perm) & limit;
		/* 'X' holds back only what is set: "-X" takes x away from all */
		set = c->keep_x && !had_x && !dir ? add & ~0111u : add;
		copied = spread(mode, c->copy, who) & limit;
		switch (c->op) {
		case '+':
			mode |= set | c->special | copied;
			break;
		case '-':
			mode &= ~(add | c->special | copied);
			break;
		default:
			clear = who * 7;
			if (c->special)
				clear |= c->idbits;
			if (c->copy)
				clear |= (who & 0100 ? S_ISUID : 0) | (who & 0010 ? S_ISGID : 0) |
					 (who & 0001 ? S_ISVTX : 0);
			mode = (mode & ~clear) | set | c->special | copied;
			break;
		}
	}
	return type | mode;
}
