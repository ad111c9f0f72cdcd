/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Path rules of sender arguments and --files-from names; see relpath.h. */
#include "apps/engine/relpath.h"

#include <errno.h>
#include <string.h>

size_t
oce_clean_fname(char *name, unsigned flags)
{
	char *t = name;
	const char *f = name;
	bool anchored = *f == '/';

	if (anchored)
		*t++ = *f++;
	while (*f) {
		if (*f == '/') {
			f++;
			continue;
		}
		if (*f == '.') {
			if (f[1] == '/') {
				f += 2;
				continue;
			}
			if (!f[1] && (flags & OCE_CFN_DROP_TRAILING_DOT_DIR))
				break;
		}
		/* One component, with the slash after it. */
		while (*f && (*t++ = *f++) != '/')
			;
	}
	if (t > name + anchored && t[-1] == '/' && !(flags & OCE_CFN_KEEP_TRAILING_SLASH))
		t--;
	if (t == name)
		*t++ = '.';
	*t = '\0';
	return (size_t)(t - name);
}

static bool
is_dot_dot(const char *p)
{
	return p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2]);
}

void
oce_sanitize_path(char *p, bool keep_dot_dirs)
{
	const char *f = p;
	char *t = p;

	if (!keep_dot_dirs)
		while (f[0] == '.' && f[1] == '/')
			f += 2;
	while (*f) {
		if (*f == '/') {
			f++;
			continue;
		}
		if (!keep_dot_dirs && f[0] == '.' && (f[1] == '/' || !f[1])) {
			f++;
			continue;
		}
		if (is_dot_dot(f)) {
			/* Nothing may climb above the source directory: ".." takes
			 * back the component before it, or vanishes at the top. */
			f += 2;
			if (t != p) {
				t--;
				while (t > p && t[-1] != '/')
					t--;
			}
			continue;
		}
		while (*f && (*t++ = *f++) != '/')
			;
	}
	if (t == p)
		*t++ = '.';
	*t = '\0';
}

/* Upstream's handling of a trailing "/", "/." or "/.." without -R. */
static int
split_plain(char *buf, size_t cap, struct oce_arg_split *a)
{
	size_t len = strlen(buf);
	char *p;

	if (!len || buf[len - 1] == '/') {
		if (len == 2 && buf[0] == '.') {
			buf[--len] = '\0'; /* "./" is ".", not "./." */
		} else {
			if (len + 2 > cap)
				return -ENAMETOOLONG;
			buf[len++] = '.';
			buf[len] = '\0';
		}
		a->type = OCE_NAME_DOTDIR;
	} else if (len > 1 && buf[len - 1] == '.' && buf[len - 2] == '.' &&
		   (len == 2 || buf[len - 3] == '/')) {
		if (len + 3 > cap)
			return -ENAMETOOLONG;
		memcpy(buf + len, "/.", 3);
		a->type = OCE_NAME_DOTDIR;
	} else if (buf[len - 1] == '.' && (len == 1 || buf[len - 2] == '/')) {
		a->type = OCE_NAME_DOTDIR;
	}
	p = strrchr(buf, '/');
	if (p) {
		*p = '\0';
		a->dir = p == buf ? "/" : buf;
		a->fn = p + 1;
	}
	return 0;
}

static int
split_relative(char *buf, struct oce_arg_split *a)
{
	char *p = strstr(buf, "/./"), *fn = buf;
	size_t len;

	if (p) {
		*p = '\0';
		if (p == buf) {
			a->dir = "/";
		} else {
			oce_clean_fname(buf, 0);
			a->dir = buf;
		}
		for (fn = p + 3; *fn == '/'; fn++)
			;
	}
	a->dot_prefix = fn[0] == '.' && fn[1] == '/' && fn[2];
	len = oce_clean_fname(fn, OCE_CFN_KEEP_TRAILING_SLASH | OCE_CFN_DROP_TRAILING_DOT_DIR);
	a->fn = fn;
	if (len == 1) {
		if (fn[0] == '/') {
			a->fn = "/.";
			a->type = OCE_NAME_DOTDIR;
		} else if (fn[0] == '.') {
			a->type = OCE_NAME_DOTDIR;
		}
	} else if (fn[len - 1] == '/') {
		fn[--len] = '\0';
		a->type = len == 1 && fn[0] == '.' ? OCE_NAME_DOTDIR : OCE_NAME_SLASH_ENDING;
	}
	/* ".." in the part that is sent would climb out of the destination. */
	for (p = fn; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p[2] == '/' || !p[2]) && (p == fn || p[-1] == '/'))
			return -EINVAL;
	return 0;
}

int
oce_split_arg(char *buf, size_t cap, bool relative, struct oce_arg_split *a)
{
	int r;

	a->dir = NULL;
	a->fn = buf;
	a->type = OCE_NAME_NORMAL;
	a->dot_prefix = false;
	r = relative ? split_relative(buf, a) : split_plain(buf, cap, a);
	if (r)
		return r;
	if (!*a->fn) {
		a->fn = ".";
		a->type = OCE_NAME_DOTDIR;
	}
	return 0;
}
