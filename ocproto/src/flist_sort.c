/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Upstream's file-list order and duplicate removal; see ocproto/flist.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ocproto/flist.h"

/*
 * A name is compared as a string of (kind, byte) pairs: a directory reads
 * as "name/" with every byte of kind PATH (the root "." reads as nothing);
 * any other entry reads as its name, PATH up to its last slash and ITEM
 * after. At the first position where both have a byte, a PATH byte sorts
 * after an ITEM byte whatever their values; otherwise bytes compare
 * unsigned, and a name that ends first sorts first. This is the order
 * upstream's f_name_cmp() walks for protocol 29 and later.
 */
enum kind { ITEM, PATH };

void
ocp_flist_key_init(struct ocp_flist_key *w, const char *name, size_t name_len, bool as_dir)
{
	const char *slash;

	w->s = (const unsigned char *)name;
	w->name_len = name_len;
	w->dir = as_dir;
	if (as_dir) {
		bool root = name_len == 1 && name[0] == '.';

		w->len = root ? 0 : name_len + 1;
		w->item_at = w->len;
		return;
	}
	w->len = name_len;
	slash = memrchr(name, '/', name_len);
	w->item_at = slash ? (size_t)(slash - name) + 1 : 0;
}

static unsigned
walk_byte(const struct ocp_flist_key *w, size_t i)
{
	return w->dir && i + 1 == w->len ? '/' : w->s[i];
}

int
ocp_flist_key_cmp(const struct ocp_flist_key *x, const struct ocp_flist_key *y)
{
	const unsigned char *a = x->s, *b = y->s;
	size_t i, lim = x->name_len < y->name_len ? x->name_len : y->name_len;

	/*
	 * Skip the common prefix of real bytes first: there both kinds agree
	 * (before the first ITEM position of either, or after both) and the
	 * bytes are equal, so the walk below would only step over it. (The
	 * root "." reads as nothing at all.)
	 */
	if (x->len < lim)
		lim = x->len;
	if (y->len < lim)
		lim = y->len;
	if (x->item_at != y->item_at) {
		size_t q = x->item_at < y->item_at ? x->item_at : y->item_at;

		if (q < lim)
			lim = q;
	}
	for (i = 0; i < lim && a[i] == b[i]; i++)
		;
	for (;; i++) {
		enum kind kx, ky;
		unsigned cx, cy;

		if (i >= x->len || i >= y->len)
			return (i < x->len) - (i < y->len);
		kx = i < x->item_at ? PATH : ITEM;
		ky = i < y->item_at ? PATH : ITEM;
		if (kx != ky)
			return kx == PATH ? 1 : -1;
		cx = walk_byte(x, i);
		cy = walk_byte(y, i);
		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
}

int
ocp_flist_name_cmp(const char *a, size_t alen, bool adir, const char *b, size_t blen, bool bdir)
{
	struct ocp_flist_key x, y;

	ocp_flist_key_init(&x, a, alen, adir);
	ocp_flist_key_init(&y, b, blen, bdir);
	return ocp_flist_key_cmp(&x, &y);
}

static int
cmp_as(const struct ocp_fentry *a, bool adir, const struct ocp_fentry *b, bool bdir)
{
	return ocp_flist_name_cmp(a->name, a->name_len, adir, b->name, b->name_len, bdir);
}

int
ocp_flist_cmp(const struct ocp_fentry *a, const struct ocp_fentry *b)
{
	return cmp_as(a, S_ISDIR(a->mode), b, S_ISDIR(b->mode));
}

static void
merge_sort(struct ocp_fentry **v, struct ocp_fentry **tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	merge_sort(v, tmp, mid);
	merge_sort(v + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = ocp_flist_cmp(v[j], v[i]) < 0 ? v[j++] : v[i++];
	while (i < mid)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

int
ocp_flist_sort(struct ocp_fentry **v, size_t n)
{
	struct ocp_fentry **tmp;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	merge_sort(v, tmp, n);
	free(tmp);
	return 0;
}

/*
 * Find an active non-directory named like directory d in v[lo..hi]
 * (sorted), comparing d as if it were not a directory; -1 if none.
 */
static long
find_nondir(struct ocp_fentry *const *v, size_t lo, size_t hi, const struct ocp_fentry *d)
{
	size_t a = lo, b = hi + 1, m, k;

	while (a < b) {
		int c;

		m = a + (b - a) / 2;
		c = cmp_as(d, false, v[m], S_ISDIR(v[m]->mode));
		if (c == 0)
			break;
		if (c < 0)
			b = m;
		else
			a = m + 1;
	}
	if (a >= b)
		return -1;
	for (k = m; k >= lo && !cmp_as(d, false, v[k], S_ISDIR(v[k]->mode)); k--) {
		if (!v[k]->removed && !S_ISDIR(v[k]->mode))
			return (long)k;
		if (k == 0)
			break;
	}
	for (k = m + 1; k <= hi && !cmp_as(d, false, v[k], S_ISDIR(v[k]->mode)); k++) {
		if (!v[k]->removed && !S_ISDIR(v[k]->mode))
			return (long)k;
	}
	return -1;
}

size_t
ocp_flist_clean(struct ocp_fentry *const *v, size_t n)
{
	size_t i, prev = 0, low, dropped = 0;
	bool have_prev = false;

	for (i = 0; i < n; i++) {
		if (!v[i]->removed) {
			prev = i;
			have_prev = true;
			break;
		}
	}
	if (!have_prev)
		return 0;
	low = prev;
	for (i = prev + 1; i < n; i++) {
		struct ocp_fentry *e = v[i];
		long j = -1;
		size_t keep, drop;

		if (e->removed)
			continue;
		if (ocp_flist_cmp(e, v[prev]) == 0)
			j = (long)prev;
		else if (S_ISDIR(e->mode))
			j = find_nondir(v, low, prev, e);
		if (j < 0) {
			prev = i;
			continue;
		}
		if (S_ISDIR(e->mode) && !S_ISDIR(v[j]->mode)) {
			keep = i;
			drop = (size_t)j;
		} else {
			keep = (size_t)j;
			drop = i;
		}
		v[drop]->removed = true;
		dropped++;
		if (keep == i)
			prev = i;
	}
	return dropped;
}
