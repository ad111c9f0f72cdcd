/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Per-directory merge files (upstream exclude.c set_filter_dir(),
 * setup_merge_file(), push_local_filters(), pop_local_filters(),
 * change_local_filter_dir()); see filter.h.
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

/* ---- directories -------------------------------------------------------- */

/* Remember root's absolute name when it changes. */
static void
set_root(struct oce_filters *fs, const char *root)
{
	char abs[PATH_MAX];

	if (!root || !strcmp(root, fs->root))
		return;
	snprintf(fs->root, sizeof(fs->root), "%s", root);
	if (realpath(root, abs))
		snprintf(fs->curdir, sizeof(fs->curdir), "%s", abs);
	else
		snprintf(fs->curdir, sizeof(fs->curdir), "%s", root);
}

/* dirbuf = curdir/dir, cleaned, with a trailing '/' (upstream set_filter_dir()). */
void
oce__flt_set_dir(struct oce_filters *fs, const char *dir)
{
	char *b = fs->dirbuf;
	size_t len;

	if (*dir == '/')
		snprintf(b, PATH_MAX, "%s", dir);
	else if (strlen(fs->curdir) + strlen(dir) + 2 > PATH_MAX)
		snprintf(b, PATH_MAX, "%s", fs->curdir);
	else
		strcat(strcat(strcpy(b, fs->curdir), "/"), dir);
	oce__clean_dir(b);
	len = strlen(b);
	if (len == 1 && *b == '.')
		len = 0;
	if (len != 1 || *b != '/')
		b[len++] = '/';
	b[len] = '\0';
	fs->dirbuf_len = len;
}

/*
 * A per-dir merge rule's first use: a name with a path is cut to its file
 * name, and when that path is a parent of the first directory entered, the
 * file is read in every directory from there down to the parent of this one
 * (upstream setup_merge_file()). Returns true when it scanned.
 */
static bool
setup_merge(struct oce_filters *fs, struct frule *ex, struct rlist *lp)
{
	char nbuf[PATH_MAX + 2], buf[PATH_MAX + 2], *x, *y, *slash;
	char pat[PATH_MAX];
	size_t len;

	x = oce__flt_merge_name(fs, ex->r.pattern, ex->r.pattern_len, nbuf, sizeof(nbuf));
	if (!x || *x != '/')
		return false;
	slash = strrchr(x, '/');
	*slash = '\0';
	snprintf(pat, sizeof(pat), "%s", slash + 1);
	/* the rule keeps only the file name (it is no longer than before) */
	memmove(ex->r.pattern, pat, strlen(pat) + 1);
	ex->r.pattern_len = strlen(pat);
	snprintf(buf, sizeof(buf), "%s", *x ? x : "/");
	oce__clean_dir(buf);
	len = strlen(buf);
	if (len != 1 && len < PATH_MAX - 1) {
		buf[len++] = '/';
		buf[len] = '\0';
	}
	for (x = buf, y = fs->dirbuf; *x && *x == *y; x++, y++)
		;
	if (*x)
		y += strlen(y); /* not a parent of the transfer: no scan */
	fs->parent_scan = true;
	while (*y) {
		char save[PATH_MAX + 2];

		snprintf(save, sizeof(save), "%s", y);
		*y = '\0';
		fs->dirbuf_len = (size_t)(y - fs->dirbuf);
		snprintf(x, sizeof(buf) - (size_t)(x - buf), "%s", pat);
		if (oce__flt_parse_file(fs, lp, buf, ex->r.flags, XF_ANCHORED2ABS))
			fs->failed = true;
		if (ex->r.flags & OCP_FRF_NO_INHERIT) {
			oce__flt_free_rules(fs, lp->head);
			lp->head = NULL;
		}
		lp->tail = NULL;
		strcpy(y, save);
		while ((*x++ = *y++) != '/')
			;
	}
	fs->parent_scan = false;
	/* every level inherits these and none owns them: the rule does */
	ex->scanned = lp->head;
	return true;
}

void *
oce_filter_push(struct oce_session *s, const char *root, const char *dname)
{
	struct oce_filters *fs = s->flt;
	struct saved_lists *sv;

	if (!fs)
		return NULL;
	set_root(fs, root);
	oce__flt_set_dir(fs, dname);
	if (!fs->nmp)
		return NULL;
	sv = calloc(1, sizeof(*sv) + fs->nmp * sizeof(sv->v[0]));
	if (!sv)
		return NULL;
	sv->n = fs->nmp;
	for (size_t i = 0; i < fs->nmp; i++)
		if (fs->mp[i])
			sv->v[i] = *fs->mp[i]->ml;
	/* reading a file may add merge rules: nmp can grow in this loop */
	for (size_t i = 0; i < fs->nmp; i++) {
		struct frule *ex = fs->mp[i];
		struct rlist *lp;

		if (!ex)
			continue;
		lp = ex->ml;
		lp->tail = NULL; /* what was this level's is inherited now */
		if (ex->r.flags & OCP_FRF_NO_INHERIT)
			lp->head = NULL;
		if (ex->r.flags & FR_FINISH) {
			ex->r.flags &= ~FR_FINISH;
			if (setup_merge(fs, ex, lp))
				oce__flt_set_dir(fs, dname);
		}
		if (fs->dirbuf_len + ex->r.pattern_len < PATH_MAX) {
			strcpy(fs->dirbuf + fs->dirbuf_len, ex->r.pattern);
			if (oce__flt_parse_file(fs, lp, fs->dirbuf, ex->r.flags, XF_ANCHORED2ABS))
				fs->failed = true;
		} else {
			__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
			oce_rerror(s,
					"cannot add local filter rules in long-named directory: %s",
					fs->dirbuf);
		}
		fs->dirbuf[fs->dirbuf_len] = '\0';
	}
	return sv;
}

void
oce_filter_pop(struct oce_session *s, void *saved)
{
	struct oce_filters *fs = s->flt;
	struct saved_lists *sv = saved;

	if (!fs)
		return;
	for (size_t i = fs->nmp; i-- > 0;) {
		if (fs->mp[i])
			oce__flt_pop_list(fs, fs->mp[i]->ml);
	}
	if (!sv)
		return;
	for (size_t i = 0; i < sv->n && i < fs->nmp; i++)
		if (fs->mp[i])
			*fs->mp[i]->ml = sv->v[i];
	free(sv);
}

void
oce_filter_chdir(struct oce_session *s, const char *root, const char *dname, int depth)
{
	struct oce_filters *fs = s->flt;

	if (!fs)
		return;
	if (depth > PATH_MAX / 2)
		depth = PATH_MAX / 2;
	for (; fs->cur_depth >= (dname ? depth : 0); fs->cur_depth--) {
		if (fs->levels[fs->cur_depth]) {
			oce_filter_pop(s, fs->levels[fs->cur_depth]);
			fs->levels[fs->cur_depth] = NULL;
		}
	}
	if (!dname)
		return;
	fs->cur_depth = depth;
	fs->levels[depth] = oce_filter_push(s, root, dname);
}

int
oce_filter_depth(const char *dname)
{
	int d = 1;

	if (!strcmp(dname, "."))
		return 0;
	for (const char *p = dname; *p; p++)
		d += *p == '/';
	return d;
}
