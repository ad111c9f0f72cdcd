/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for apps/daemon/srv.h oce_dsess_path(): a daemon client's path
 * argument kept below the module, as upstream's glob_expand_module() +
 * sanitize_path() leave it (the escape cases are also compared with
 * rsync --daemon in tests/interop/daemon_server.bats).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apps/daemon/srv.h"

static void
check(const char *mod, const char *arg, const char *want)
{
	char *got = oce_dsess_path(mod, arg);

	assert_non_null(got);
	if (strcmp(got, want))
		fail_msg("path(\"%s\", \"%s\"): got \"%s\" want \"%s\"", mod, arg, got, want);
	free(got);
}

static void
test_paths(void **state)
{
	(void)state;
	check("ro", "ro", ".");
	check("ro", "ro/", ".");
	check("ro", "ro/sub", "sub");
	check("ro", "ro/sub/", "sub/");
	check("ro", "ro/sub/../deep/", "deep/");
	check("ro", "ro/../../../../etc/hostname", "etc/hostname");
	check("ro", "ro//etc/hostname", "etc/hostname");
	check("ro", "ro/./a/./b", "a/b");
	check("ro", "ro/a/../../..", ".");
	check("ro", "ro/a..b/..c", "a..b/..c");
	/* upstream strips the name as a plain prefix */
	check("ro", "rowdy/x", "wdy/x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
