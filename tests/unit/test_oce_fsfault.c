/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for OC_RSYNC_FAULT (apps/engine/fsfault.c): the variable is
 * read once, so main() sets it before the first oce_fs_sys_active(); the
 * unset case and a spec that does not parse run in child processes.
 * Also oce_set_meta_at_ex() naming the step that failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "apps/engine/fs.h"

#define SPEC                                                                                       \
	"pwrite:ENOSPC:after=1:times=1,write:short:path=shortfile,renameat:EXDEV:path=zz,"         \
	"utimensat:EIO:path=notime"

static char dir[PATH_MAX];

static int
scratch(const char *name)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

static void
test_active_table(void **state)
{
	(void)state;
	assert_ptr_not_equal(oce_fs_sys_active(), &oce_fs_sys_default);
	/* Read once: later changes to the environment do not count. */
	setenv("OC_RSYNC_FAULT", "", 1);
	assert_ptr_not_equal(oce_fs_sys_active(), &oce_fs_sys_default);
}

/* after=1:times=1: the second pwrite fails, the first and third go through. */
static void
test_after_times(void **state)
{
	const struct oce_fs_sys *sys = oce_fs_sys_active();
	int fd = scratch("data");

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(sys->pwrite(sys->ctx, fd, "ab", 2, 0), 2);
	errno = 0;
	assert_int_equal(sys->pwrite(sys->ctx, fd, "cd", 2, 2), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(sys->pwrite(sys->ctx, fd, "ef", 2, 2), 2);
	close(fd);
}

/* short, only on the file named: half is written, and oce_write_all loops. */
static void
test_short_and_path(void **state)
{
	const struct oce_fs_sys *sys = oce_fs_sys_active();
	int fd = scratch("shortfile"), other = scratch("other");
	struct stat st;

	(void)state;
	assert_true(fd >= 0 && other >= 0);
	assert_int_equal(sys->write(sys->ctx, fd, "abcdefgh", 8), 4);
	assert_int_equal(sys->write(sys->ctx, other, "abcdefgh", 8), 8);
	assert_int_equal(oce_write_all(sys, fd, "12345678", 8), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 12);
	close(fd);
	close(other);
}

static void
test_rename_path(void **state)
{
	const struct oce_fs_sys *sys = oce_fs_sys_active();
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	(void)state;
	close(scratch("a"));
	close(scratch("b"));
	assert_int_equal(sys->renameat(sys->ctx, dfd, "a", dfd, "a2"), 0);
	errno = 0;
	assert_int_equal(sys->renameat(sys->ctx, dfd, "b", dfd, "zz"), -1);
	assert_int_equal(errno, EXDEV);
	close(dfd);
}

/* The step that failed is named, for upstream's message. */
static void
test_meta_step(void **state)
{
	const struct oce_fs_sys *sys = oce_fs_sys_active();
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct oce_meta m = {.mode = S_IFREG | 0640, .set_perms = true, .set_mtime = true};
	enum oce_meta_step step = OCE_META_NONE;

	(void)state;
	m.mtime.tv_sec = 1000000000;
	close(scratch("notime"));
	close(scratch("fine"));
	assert_int_equal(oce_set_meta_at_ex(sys, dfd, "notime", NULL, &m, &step), -EIO);
	assert_int_equal(step, OCE_META_TIMES);
	assert_int_equal(oce_set_meta_at_ex(sys, dfd, "fine", NULL, &m, &step), 0);
	assert_int_equal(step, OCE_META_NONE);
	assert_int_equal(oce_set_meta_at_ex(sys, dfd, "missing", NULL, &m, &step), -ENOENT);
	assert_int_equal(step, OCE_META_STAT);
	close(dfd);
}

/* The same through an open file (path NULL: futimens, fchmod): path= still matches it. */
static void
test_meta_fd(void **state)
{
	const struct oce_fs_sys *sys = oce_fs_sys_active();
	struct oce_meta m = {.mode = S_IFREG | 0640, .set_perms = true, .set_mtime = true};
	enum oce_meta_step step = OCE_META_NONE;
	int bad = scratch("notime-fd"), good = scratch("fine-fd");
	struct stat st;

	(void)state;
	m.mtime.tv_sec = 1000000000;
	assert_true(bad >= 0 && good >= 0);
	assert_int_equal(oce_set_meta_fd(sys, bad, NULL, &m, &step), -EIO);
	assert_int_equal(step, OCE_META_TIMES);
	assert_int_equal(oce_set_meta_fd(sys, good, NULL, &m, &step), 0);
	assert_int_equal(step, OCE_META_NONE);
	assert_int_equal(fstat(good, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	close(bad);
	close(good);
}

static int
child_default(void)
{
	return oce_fs_sys_active() == &oce_fs_sys_default ? 0 : 2;
}

static void
test_unset_and_bad_specs(void **state)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	static const char *const bad[] = {"write", "write:ENOSPACE", "nosuch:EIO", "openat:short",
					  "write:EIO:after=x", "write:EIO:every=2"};

	(void)state;
	assert_true(n > 0);
	self[n] = '\0';
	/* Each check in a new process image, since the variable is read once. */
	for (size_t i = 0; i < sizeof bad / sizeof bad[0] + 1; i++) {
		pid_t pid = fork();
		int st;

		assert_true(pid >= 0);
		if (pid == 0) {
			if (i == sizeof bad / sizeof bad[0])
				unsetenv("OC_RSYNC_FAULT");
			else
				setenv("OC_RSYNC_FAULT", bad[i], 1);
			setenv("FSFAULT_CHILD", "1", 1);
			execl(self, self, (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		/* unset: the default table (0); a bad spec: exit 1 */
		assert_int_equal(WEXITSTATUS(st), i == sizeof bad / sizeof bad[0] ? 0 : 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_active_table),
	    cmocka_unit_test(test_after_times),
	    cmocka_unit_test(test_short_and_path),
	    cmocka_unit_test(test_rename_path),
	    cmocka_unit_test(test_meta_step),
	    cmocka_unit_test(test_meta_fd),
	    cmocka_unit_test(test_unset_and_bad_specs),
	};
	const char *tmp = getenv("TMPDIR");
	int rc;

	/* The child of test_unset_and_bad_specs(): only look at the variable. */
	if (getenv("FSFAULT_CHILD"))
		return child_default();
	snprintf(dir, sizeof dir, "%s/oce_fsfault.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	setenv("OC_RSYNC_FAULT", SPEC, 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd))
			rc = rc ? rc : 1;
	}
	return rc;
}
