/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for apps/daemon/srv.h oce_dsess_path(): a daemon client's path
 * argument kept below the module, as upstream's glob_expand_module() +
 * sanitize_path() leave it (the escape cases are also compared with
 * rsync --daemon in tests/interop/daemon_server.bats), and
 * oce_open_trusted(): which symlinks a root daemon follows to its lock and
 * secrets files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Open p as the daemon would; what it holds ("" when the open failed: errno). */
static int
open_read(const char *p, char *out, size_t cap)
{
	int fd = oce_open_trusted(p, O_RDONLY, 0);
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return errno;
	n = read(fd, out, cap - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return 0;
}

static void
test_trusted(void **state)
{
	char dir[] = "/tmp/oce_trust.XXXXXX", p[512], q[512], got[64];
	uid_t other = 65534;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/real", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/real/f", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("data", f);
	fclose(f);
	/* our own links, relative and absolute, in the middle and at the end */
	snprintf(p, sizeof(p), "%s/mid", dir);
	assert_int_equal(symlink("real", p), 0);
	snprintf(p, sizeof(p), "%s/leaf", dir);
	snprintf(q, sizeof(q), "%s/real/f", dir);
	assert_int_equal(symlink(q, p), 0);
	snprintf(p, sizeof(p), "%s/mid/f", dir);
	assert_int_equal(open_read(p, got, sizeof(got)), 0);
	assert_string_equal(got, "data");
	snprintf(p, sizeof(p), "%s/leaf", dir);
	assert_int_equal(open_read(p, got, sizeof(got)), 0);
	assert_string_equal(got, "data");
	snprintf(p, sizeof(p), "%s/mid/../mid//f", dir);
	assert_int_equal(open_read(p, got, sizeof(got)), 0);
	assert_string_equal(got, "data");
	/* a file where a directory should be, a loop, a missing name */
	snprintf(p, sizeof(p), "%s/real/f/x", dir);
	assert_int_equal(open_read(p, got, sizeof(got)), ENOTDIR);
	snprintf(p, sizeof(p), "%s/loop", dir);
	assert_int_equal(symlink("loop", p), 0);
	assert_int_equal(open_read(p, got, sizeof(got)), ELOOP);
	snprintf(p, sizeof(p), "%s/none", dir);
	assert_int_equal(open_read(p, got, sizeof(got)), ENOENT);
	/* O_CREAT through our own link to the directory */
	snprintf(p, sizeof(p), "%s/mid/new", dir);
	int fd = oce_open_trusted(p, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* someone else's links are refused, wherever they are */
	if (geteuid() == 0) {
		snprintf(p, sizeof(p), "%s/mid", dir);
		assert_int_equal(lchown(p, other, other), 0);
		snprintf(p, sizeof(p), "%s/leaf", dir);
		assert_int_equal(lchown(p, other, other), 0);
		snprintf(p, sizeof(p), "%s/mid/f", dir);
		assert_int_equal(open_read(p, got, sizeof(got)), ELOOP);
		snprintf(p, sizeof(p), "%s/leaf", dir);
		assert_int_equal(open_read(p, got, sizeof(got)), ELOOP);
		snprintf(p, sizeof(p), "%s/mid/evil", dir);
		assert_true(oce_open_trusted(p, O_RDWR | O_CREAT, 0600) < 0);
		assert_int_equal(errno, ELOOP);
		snprintf(p, sizeof(p), "%s/real/evil", dir);
		assert_int_equal(access(p, F_OK), -1);
	}
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_trusted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
