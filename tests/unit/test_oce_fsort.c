/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the engine's file list sort (oce_files_sort(), the
 * natural merge sort behind flist_sort()): against a plain stable
 * insertion sort on ocp_flist_key_cmp(), for lists shaped as a walk gives
 * them (directories read newest first, in order end to end, shuffled,
 * with equal names) and for random ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "apps/engine/session.h"

#define MAXN 3000

static struct oce_file files[MAXN];
static char names[MAXN][32];

static void
set_file(size_t i, const char *name, bool dir)
{
	const char *slash;

	snprintf(names[i], sizeof(names[i]), "%s", name);
	memset(&files[i], 0, sizeof(files[i]));
	files[i].name = names[i];
	files[i].name_len = (uint32_t)strlen(names[i]);
	slash = strrchr(names[i], '/');
	files[i].item_at = slash ? (uint32_t)(slash - names[i]) + 1 : 0;
	files[i].mode = dir ? S_IFDIR | 0755 : S_IFREG | 0644;
}

static int
ref_cmp(const struct oce_file *a, const struct oce_file *b)
{
	struct ocp_flist_key x, y;

	x.s = (const unsigned char *)a->name;
	x.name_len = a->name_len;
	x.dir = S_ISDIR(a->mode);
	x.len = x.dir ? (a->name_len == 1 && a->name[0] == '.' ? 0 : a->name_len + 1) : a->name_len;
	x.item_at = x.dir ? x.len : a->item_at;
	y.s = (const unsigned char *)b->name;
	y.name_len = b->name_len;
	y.dir = S_ISDIR(b->mode);
	y.len = y.dir ? (b->name_len == 1 && b->name[0] == '.' ? 0 : b->name_len + 1) : b->name_len;
	y.item_at = y.dir ? y.len : b->item_at;
	return ocp_flist_key_cmp(&x, &y);
}

/* Sort v both ways and compare pointer by pointer (stability included). */
static void
check_sort(struct oce_file **v, size_t n)
{
	struct oce_file **want = malloc((n ? n : 1) * sizeof(*want));

	assert_non_null(want);
	memcpy(want, v, n * sizeof(*v));
	for (size_t i = 1; i < n; i++) {
		struct oce_file *t = want[i];
		size_t j = i;

		while (j > 0 && ref_cmp(t, want[j - 1]) < 0) {
			want[j] = want[j - 1];
			j--;
		}
		want[j] = t;
	}
	assert_int_equal(oce_files_sort(v, n), 0);
	for (size_t i = 0; i < n; i++)
		if (v[i] != want[i])
			fail_msg("n=%zu: position %zu holds \"%s\", want \"%s\"", n, i, v[i]->name,
				 want[i]->name);
	free(want);
}

/* A tree as a walk lists it: the top's entries, then each directory's, each newest first. */
static size_t
make_walk(struct oce_file **v, size_t ndirs, size_t nfiles, bool newest_first)
{
	size_t k = 0;
	char nm[32];

	for (size_t d = 0; d < ndirs; d++) {
		size_t dd = newest_first ? ndirs - 1 - d : d;

		snprintf(nm, sizeof(nm), "d%03zu", dd);
		set_file(k, nm, true);
		v[k] = &files[k];
		k++;
	}
	for (size_t d = 0; d < ndirs; d++)
		for (size_t f = 0; f < nfiles; f++) {
			size_t ff = newest_first ? nfiles - 1 - f : f;

			snprintf(nm, sizeof(nm), "d%03zu/f%03zu", d, ff);
			set_file(k, nm, false);
			v[k] = &files[k];
			k++;
		}
	return k;
}

static void
test_walk_shapes(void **state)
{
	struct oce_file *v[MAXN];
	size_t n;

	(void)state;
	n = make_walk(v, 20, 50, true);
	check_sort(v, n);
	n = make_walk(v, 20, 50, false);
	check_sort(v, n);
	/* directories in order, files newest first: runs that join end to end */
	n = make_walk(v, 30, 40, true);
	for (size_t a = 0, b = 29; a < b; a++, b--) {
		struct oce_file *t = v[a];

		v[a] = v[b];
		v[b] = t;
	}
	check_sort(v, n);
	/* whole list reversed */
	for (size_t a = 0, b = n - 1; a < b; a++, b--) {
		struct oce_file *t = v[a];

		v[a] = v[b];
		v[b] = t;
	}
	check_sort(v, n);
	check_sort(v, 0);
	check_sort(v, 1);
}

static void
test_random_lists(void **state)
{
	static const char *const parts[] = {"a", "b", "a.b", "a-b", "B", "z", ".", "a b", "\xc3\xa9"};
	struct oce_file *v[MAXN];
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(rand_r(&seed) % 400);

		for (size_t i = 0; i < n; i++) {
			char nm[32] = "";
			int depth = 1 + rand_r(&seed) % 3;

			for (int d = 0; d < depth; d++) {
				const char *p = parts[rand_r(&seed) % (sizeof(parts) / sizeof(parts[0]))];

				if (d)
					strncat(nm, "/", sizeof(nm) - strlen(nm) - 1);
				strncat(nm, p, sizeof(nm) - strlen(nm) - 1);
			}
			set_file(i, nm, rand_r(&seed) % 3 == 0);
			v[i] = &files[i];
		}
		/* sometimes sorted or reversed stretches, as walks give */
		if (round % 3 == 1 && n > 1) {
			size_t a = (size_t)rand_r(&seed) % n, b = a + (size_t)rand_r(&seed) % (n - a);

			check_sort(v, n); /* v is sorted now */
			for (; a < b; a++, b--) {
				struct oce_file *t = v[a];

				v[a] = v[b];
				v[b] = t;
			}
		}
		check_sort(v, n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_walk_shapes),
	    cmocka_unit_test(test_random_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
