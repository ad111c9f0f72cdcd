/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for apps/engine/relpath.h: cleaning and sanitising names, and
 * splitting sender arguments with and without -R, as upstream's
 * clean_fname(), sanitize_path() and send_file_list() do.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "apps/engine/relpath.h"

#define KEEP OCE_CFN_KEEP_TRAILING_SLASH
#define DROP OCE_CFN_DROP_TRAILING_DOT_DIR

static void
check_clean(const char *in, unsigned flags, const char *want)
{
	char buf[256];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", in);
	n = oce_clean_fname(buf, flags);
	if (strcmp(buf, want))
		fail_msg("clean(\"%s\", %u): got \"%s\" want \"%s\"", in, flags, buf, want);
	assert_int_equal(n, strlen(want));
}

static void
test_clean_fname(void **state)
{
	(void)state;
	check_clean("a//b/./c/", 0, "a/b/c");
	check_clean("a//b/./c/", KEEP, "a/b/c/");
	check_clean("./a", 0, "a");
	check_clean("/a/.", DROP, "/a");
	check_clean("a/.", KEEP | DROP, "a/");
	check_clean("a/.", 0, "a/.");
	check_clean(".", DROP, ".");
	check_clean("./", 0, ".");
	check_clean("", 0, ".");
	check_clean("/", 0, "/");
	check_clean("//x", 0, "/x");
	check_clean("a/../b", 0, "a/../b");
	check_clean("a/.b/..c", 0, "a/.b/..c");
}

static void
check_sanitize(const char *in, bool keep, const char *want)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	oce_sanitize_path(buf, keep);
	if (strcmp(buf, want))
		fail_msg("sanitize(\"%s\", %d): got \"%s\" want \"%s\"", in, keep, buf, want);
}

static void
test_sanitize(void **state)
{
	(void)state;
	check_sanitize("/a/../../b/./c", false, "b/c");
	check_sanitize("/a/../../b/./c", true, "b/./c");
	check_sanitize("x/./y/../z", true, "x/./z");
	check_sanitize("../..", false, ".");
	check_sanitize("", true, ".");
	check_sanitize("./a/", false, "a/");
	check_sanitize("./a/", true, "./a/");
	check_sanitize("//etc//passwd", false, "etc/passwd");
	check_sanitize("a/..b/c..", false, "a/..b/c..");
}

/* Split in (with or without -R); want_dir NULL for none. */
static void
check_split(const char *in, bool rel, int want_r, const char *want_dir, const char *want_fn,
	    enum oce_name_type want_type, bool want_dot)
{
	char buf[256];
	struct oce_arg_split a;
	int r;

	snprintf(buf, sizeof(buf), "%s", in);
	r = oce_split_arg(buf, sizeof(buf), rel, &a);
	if (r != want_r)
		fail_msg("split(\"%s\", %d): returned %d", in, rel, r);
	if (r)
		return;
	if (want_dir ? !a.dir || strcmp(a.dir, want_dir) : a.dir != NULL)
		fail_msg("split(\"%s\", %d): dir \"%s\" want \"%s\"", in, rel, a.dir ? a.dir : "(none)",
			 want_dir ? want_dir : "(none)");
	if (strcmp(a.fn, want_fn))
		fail_msg("split(\"%s\", %d): fn \"%s\" want \"%s\"", in, rel, a.fn, want_fn);
	assert_int_equal(a.type, want_type);
	assert_int_equal(a.dot_prefix, want_dot);
}

static void
test_split_plain(void **state)
{
	(void)state;
	check_split("src/", false, 0, "src", ".", OCE_NAME_DOTDIR, false);
	check_split("./", false, 0, NULL, ".", OCE_NAME_DOTDIR, false);
	check_split("src/..", false, 0, "src/..", ".", OCE_NAME_DOTDIR, false);
	check_split("/", false, 0, "/", ".", OCE_NAME_DOTDIR, false);
	check_split("a/b", false, 0, "a", "b", OCE_NAME_NORMAL, false);
	check_split("/x", false, 0, "/", "x", OCE_NAME_NORMAL, false);
	check_split("x", false, 0, NULL, "x", OCE_NAME_NORMAL, false);
	/* "/./" means nothing without -R. */
	check_split("src/./a", false, 0, "src/.", "a", OCE_NAME_NORMAL, false);
}

static void
test_split_relative(void **state)
{
	char big[8];

	(void)state;
	check_split("src/./a/b/", true, 0, "src", "a/b", OCE_NAME_SLASH_ENDING, false);
	check_split("src/./a/./b", true, 0, "src", "a/b", OCE_NAME_NORMAL, false);
	check_split("/./x", true, 0, "/", "x", OCE_NAME_NORMAL, false);
	check_split("src/./", true, 0, "src", ".", OCE_NAME_DOTDIR, false);
	check_split("src/./.", true, 0, "src", ".", OCE_NAME_DOTDIR, false);
	check_split("a/b", true, 0, NULL, "a/b", OCE_NAME_NORMAL, false);
	check_split("/tmp//src/a", true, 0, NULL, "/tmp/src/a", OCE_NAME_NORMAL, false);
	check_split("src/././a", true, 0, "src", "a", OCE_NAME_NORMAL, true);
	check_split("./a", true, 0, NULL, "a", OCE_NAME_NORMAL, true);
	check_split("./", true, 0, NULL, ".", OCE_NAME_DOTDIR, false);
	check_split("/", true, 0, NULL, "/.", OCE_NAME_DOTDIR, false);
	check_split("src//x/./y", true, 0, "src/x", "y", OCE_NAME_NORMAL, false);
	check_split("a/.", true, 0, NULL, "a", OCE_NAME_SLASH_ENDING, false);
	check_split("src/./a/../b", true, -EINVAL, NULL, "", OCE_NAME_NORMAL, false);
	check_split("src/./..", true, -EINVAL, NULL, "", OCE_NAME_NORMAL, false);
	/* ".." before the "/./" only says where to work. */
	check_split("../src/./a", true, 0, "../src", "a", OCE_NAME_NORMAL, false);
	check_split("a/..b", true, 0, NULL, "a/..b", OCE_NAME_NORMAL, false);
	/* Room for the "/." a trailing ".." needs, without -R. */
	memcpy(big, "abc/..", 7);
	{
		struct oce_arg_split a;

		assert_int_equal(oce_split_arg(big, 8, false, &a), -ENAMETOOLONG);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean_fname),
	    cmocka_unit_test(test_sanitize),
	    cmocka_unit_test(test_split_plain),
	    cmocka_unit_test(test_split_relative),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
