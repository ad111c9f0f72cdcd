/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for apps/engine/fs.h on a scratch tree under $TMPDIR:
 * confinement (a symlinked parent pointing outside, "..", absolute paths)
 * with openat2 and with the O_NOFOLLOW walk, upstream temp names, commit,
 * attribute order and nanosecond times, the sparse writer, removal, the
 * source-side open, and a fault-injecting system call table (ENOSPC, short
 * writes, EINTR, EEXIST).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "apps/engine/fs.h"

/* --- scratch tree ----------------------------------------------------------- */

struct fx {
	bool openat2; /* the mode this run tests */
	bool skip;    /* openat2 wanted, kernel lacks it */
	char base[PATH_MAX];
	char root[PATH_MAX + 8];
	char outside[PATH_MAX + 8];
	struct oce_root r;
};

static void
path_join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);

	assert_true(n > 0 && (size_t)n < cap);
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX * 2];
	FILE *f;

	path_join(p, sizeof p, dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Contents of dir/name (or "" when missing) into out. */
static void
get_file(const char *dir, const char *name, char *out, size_t cap)
{
	char p[PATH_MAX * 2];
	size_t n = 0;
	FILE *f;

	path_join(p, sizeof p, dir, name);
	out[0] = '\0';
	f = fopen(p, "r");
	if (!f)
		return;
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

static bool
exists(const char *dir, const char *name)
{
	char p[PATH_MAX * 2];
	struct stat st;

	path_join(p, sizeof p, dir, name);
	return lstat(p, &st) == 0;
}

static bool
kernel_has_openat2(const char *dir)
{
	struct oce_root r;
	bool has;

	if (oce_root_open(&r, dir, false, NULL) < 0)
		return false;
	has = r.use_openat2;
	oce_root_close(&r);
	return has;
}

/* The fixture of a test, or a skip when it is the openat2 run on a kernel
 * without openat2. */
static struct fx *
fx_get(void **state)
{
	struct fx *fx = *state;

	if (fx->skip)
		skip();
	return fx;
}

static int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	const char *tmp = getenv("TMPDIR");

	if (!fx)
		return -1;
	fx->openat2 = *state != NULL;
	snprintf(fx->base, sizeof fx->base, "%s/oce_fs.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->base))
		return -1;
	snprintf(fx->root, sizeof fx->root, "%s/root", fx->base);
	snprintf(fx->outside, sizeof fx->outside, "%s/outside", fx->base);
	if (mkdir(fx->root, 0755) < 0 || mkdir(fx->outside, 0755) < 0)
		return -1;
	if (oce_root_open(&fx->r, fx->root, false, NULL) < 0)
		return -1;
	fx->skip = fx->openat2 && !fx->r.use_openat2;
	fx->r.use_openat2 = fx->openat2;
	*state = fx;
	return 0;
}

static int
rm_rf(const char *path)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	return system(cmd);
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	if (!fx)
		return 0;
	oce_root_close(&fx->r);
	rm_rf(fx->base);
	free(fx);
	return 0;
}

/* An escape hatch inside the root: root/evil -> ../outside. */
static void
plant_evil(struct fx *fx)
{
	char p[PATH_MAX * 2];

	path_join(p, sizeof p, fx->root, "evil");
	assert_int_equal(symlink(fx->outside, p), 0);
}

static bool
refused(int rc)
{
	return rc == -ELOOP || rc == -ENOTDIR || rc == -EXDEV;
}

/* --- fault-injecting table ------------------------------------------------------ */

struct fake {
	unsigned writes;      /* write/pwrite calls so far */
	unsigned enospc_at;   /* fail this write call (1-based) with ENOSPC; 0: never */
	bool short_writes;    /* accept 1, 2, 3, 1, ... bytes */
	bool eintr;	      /* fail every other write call with EINTR */
	bool zero_write;      /* write returns 0 */
	unsigned eexist_left; /* fail this many O_EXCL opens with EEXIST */
	unsigned opens;
	bool fail_rename;
	const char *swap_dir; /* on opening this directory for reading, first */
	const char *swap_to;  /* ...replace it with a symlink to swap_to */
	char log[64];	      /* O, T, M per fchownat, utimensat, fchmodat */
	size_t nlog;
	unsigned pwrites;
};

static bool
write_fault(struct fake *f, size_t *len)
{
	unsigned n = ++f->writes;

	if (f->eintr && (n & 1)) {
		errno = EINTR;
		return true;
	}
	if (f->enospc_at && n == f->enospc_at) {
		errno = ENOSPC;
		return true;
	}
	if (f->short_writes && *len > (n % 3) + 1)
		*len = (n % 3) + 1;
	return false;
}

static ssize_t
fake_write(void *ctx, int fd, const void *buf, size_t len)
{
	struct fake *f = ctx;

	if (write_fault(f, &len))
		return -1;
	if (f->zero_write)
		return 0;
	return write(fd, buf, len);
}

static ssize_t
fake_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
	struct fake *f = ctx;

	f->pwrites++;
	if (write_fault(f, &len))
		return -1;
	return pwrite(fd, buf, len, off);
}

static int
fake_openat(void *ctx, int dirfd, const char *path, int flags, mode_t mode)
{
	struct fake *f = ctx;

	f->opens++;
	/* The race a hostile peer or local user would try: the directory is
	 * swapped for a symlink between our stat and our open. */
	if (f->swap_dir && !strcmp(path, f->swap_dir) && (flags & O_DIRECTORY) &&
	    !(flags & O_PATH)) {
		if (renameat(dirfd, path, dirfd, "swapped-away") < 0 ||
		    symlinkat(f->swap_to, dirfd, path) < 0)
			return -1;
		f->swap_dir = NULL;
	}
	if ((flags & O_EXCL) && f->eexist_left) {
		f->eexist_left--;
		errno = EEXIST;
		return -1;
	}
	return openat(dirfd, path, flags, mode);
}

static int
fake_renameat(void *ctx, int od, const char *o, int nd, const char *n)
{
	struct fake *f = ctx;

	if (f->fail_rename) {
		errno = EIO;
		return -1;
	}
	return renameat(od, o, nd, n);
}

static void
logc(struct fake *f, char c)
{
	if (f->nlog + 1 < sizeof f->log)
		f->log[f->nlog++] = c;
	f->log[f->nlog] = '\0';
}

static int
fake_fchownat(void *ctx, int d, const char *p, uid_t u, gid_t g, int fl)
{
	logc(ctx, 'O');
	return fchownat(d, p, u, g, fl);
}

static int
fake_utimensat(void *ctx, int d, const char *p, const struct timespec ts[2], int fl)
{
	logc(ctx, 'T');
	return utimensat(d, p, ts, fl);
}

static int
fake_fchmodat(void *ctx, int d, const char *p, mode_t m, int fl)
{
	logc(ctx, 'M');
	return oce_fs_sys_default.fchmodat(NULL, d, p, m, fl);
}

static struct oce_fs_sys
fake_table(struct fake *f)
{
	struct oce_fs_sys t = oce_fs_sys_default;

	t.write = fake_write;
	t.pwrite = fake_pwrite;
	t.openat = fake_openat;
	t.renameat = fake_renameat;
	t.fchownat = fake_fchownat;
	t.utimensat = fake_utimensat;
	t.fchmodat = fake_fchmodat;
	t.ctx = f;
	return t;
}

/* --- tests: names ----------------------------------------------------------------- */

static void
test_path_check(void **state)
{
	static const char *const good[] = {".",	      "a",     "a/b", "a/b/",
					   ".hidden", "a/..b", "...", "a/b.c/d"};
	static const char *const bad[] = {"",	    "/",    "/a",  "..",    "../a", "a/..",
					  "a/../b", "a//b", "./a", "a/./b", "a/.",  "//"};
	char big[PATH_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof *good; i++)
		assert_int_equal(oce_path_check(good[i]), 0);
	for (i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(oce_path_check(bad[i]), -EINVAL);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(oce_path_check(big), -EINVAL);
}

/* --- tests: roots and confinement ------------------------------------------------- */

static void
test_root_open_create(void **state)
{
	struct fx *fx = fx_get(state);
	char p[PATH_MAX * 2], q[PATH_MAX * 3];
	struct oce_root r;
	struct stat st;

	path_join(p, sizeof p, fx->base, "newdest");
	assert_int_equal(oce_root_open(&r, p, false, NULL), -ENOENT);
	assert_int_equal(r.fd, -1);
	assert_int_equal(oce_root_open(&r, p, true, NULL), 0);
	assert_true(r.fd >= 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	oce_root_close(&r);
	oce_root_close(&r);
	assert_int_equal(r.fd, -1);

	/* Only the last component is created, as rsync does. */
	path_join(q, sizeof q, fx->base, "missing/deeper");
	assert_int_equal(oce_root_open(&r, q, true, NULL), -ENOENT);
	assert_false(exists(fx->base, "missing"));

	put_file(fx->base, "plain", "x");
	path_join(q, sizeof q, fx->base, "plain");
	assert_int_equal(oce_root_open(&r, q, true, NULL), -ENOTDIR);
}

static void
test_open_beneath_basic(void **state)
{
	struct fx *fx = fx_get(state);
	struct stat st, rst;
	char got[64];
	int fd;

	assert_int_equal(oce_mkdir_beneath(&fx->r, "d", 0755), 0);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "d/e", 0755), 0);
	fd = oce_open_beneath(&fx->r, "d/e/f", O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	get_file(fx->root, "d/e/f", got, sizeof got);
	assert_string_equal(got, "hello");
	fd = oce_open_beneath(&fx->r, "d/e/f", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	/* "", "." and a trailing slash name directories below or at the root. */
	assert_int_equal(stat(fx->root, &rst), 0);
	fd = oce_open_beneath(&fx->r, ".", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_ino, rst.st_ino);
	close(fd);
	fd = oce_open_beneath(&fx->r, "", O_PATH, 0);
	assert_true(fd >= 0);
	close(fd);
	fd = oce_open_beneath(&fx->r, "d/e/", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(oce_open_beneath(&fx->r, "d/e/f/", O_RDONLY, 0), -ENOTDIR);
	assert_int_equal(oce_open_beneath(&fx->r, "d/nope", O_RDONLY, 0), -ENOENT);
	assert_int_equal(oce_open_beneath(&fx->r, "d/e/f/g", O_RDONLY, 0), -ENOTDIR);

	assert_int_equal(oce_lstat_beneath(&fx->r, "d/e/f", &st), 0);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(oce_lstat_beneath(&fx->r, ".", &st), 0);
	assert_int_equal(st.st_ino, rst.st_ino);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/e/", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

/* Every entry point refuses to go through root/evil -> outside. */
static void
test_symlinked_parent_refused(void **state)
{
	struct fx *fx = fx_get(state);
	char name[256];
	struct stat st;
	const char *leaf;
	int fd, dfd;

	plant_evil(fx);
	put_file(fx->outside, "secret", "outside");

	assert_true(refused(oce_open_beneath(&fx->r, "evil/x", O_WRONLY | O_CREAT, 0644)));
	assert_true(refused(oce_open_beneath(&fx->r, "evil/secret", O_RDONLY, 0)));
	assert_true(refused(oce_open_beneath(&fx->r, "evil/", O_RDONLY, 0)));
	assert_true(refused(oce_open_parent(&fx->r, "evil/secret", &leaf)));
	assert_true(refused(oce_lstat_beneath(&fx->r, "evil/secret", &st)));
	assert_true(refused(oce_readlink_beneath(&fx->r, "evil/secret", name, sizeof name)));
	assert_true(refused(oce_tmpfile(&fx->r, "evil/x", -1, &dfd, &fd, name)));
	assert_int_equal(fd, -1);
	assert_int_equal(dfd, -1);
	assert_true(refused(oce_mkdir_beneath(&fx->r, "evil/d", 0755)));
	assert_true(refused(oce_symlink_beneath(&fx->r, "t", "evil/l")));
	assert_true(refused(oce_mknod_beneath(&fx->r, "evil/p", S_IFIFO | 0600, 0)));
	assert_true(refused(oce_unlink_beneath(&fx->r, "evil/secret", false)));
	assert_true(refused(oce_unlink_beneath(&fx->r, "evil/secret", true)));
	put_file(fx->root, "mine", "m");
	assert_true(refused(oce_link_beneath(&fx->r, "mine", "evil/hl")));
	assert_true(refused(oce_link_beneath(&fx->r, "evil/secret", "stolen")));

	/* Nothing happened outside, and the secret is still there. */
	assert_false(exists(fx->outside, "x"));
	assert_false(exists(fx->outside, "d"));
	assert_false(exists(fx->outside, "l"));
	assert_false(exists(fx->outside, "p"));
	assert_false(exists(fx->outside, "hl"));
	assert_false(exists(fx->root, "stolen"));
	assert_true(exists(fx->outside, "secret"));

	/* A symlink to a directory inside the root is not followed either. */
	assert_int_equal(oce_mkdir_beneath(&fx->r, "real", 0755), 0);
	assert_int_equal(oce_symlink_beneath(&fx->r, "real", "alias"), 0);
	assert_true(refused(oce_open_beneath(&fx->r, "alias/f", O_WRONLY | O_CREAT, 0644)));
	assert_false(exists(fx->root, "real/f"));
}

static void
test_symlink_leaf_not_followed(void **state)
{
	struct fx *fx = fx_get(state);
	char p[PATH_MAX * 2];
	struct stat st;
	int fd;

	put_file(fx->outside, "target", "T");
	path_join(p, sizeof p, fx->root, "lnk");
	assert_int_equal(symlink(fx->outside, p), 0);
	path_join(p, sizeof p, fx->root, "flnk");
	assert_int_equal(symlink("../outside/target", p), 0);
	path_join(p, sizeof p, fx->root, "dangling");
	assert_int_equal(symlink("../outside/created", p), 0);

	assert_int_equal(oce_open_beneath(&fx->r, "flnk", O_RDONLY, 0), -ELOOP);
	assert_int_equal(oce_open_beneath(&fx->r, "flnk", O_WRONLY | O_TRUNC, 0), -ELOOP);
	fd = oce_open_beneath(&fx->r, "dangling", O_WRONLY | O_CREAT, 0644);
	assert_true(fd == -ELOOP || fd == -EEXIST);
	assert_false(exists(fx->outside, "created"));
	/* O_PATH opens the link itself. */
	fd = oce_open_beneath(&fx->r, "flnk", O_PATH, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstatat(fd, "", &st, AT_EMPTY_PATH), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(fd);
	assert_int_equal(oce_lstat_beneath(&fx->r, "lnk", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(oce_lstat_beneath(&fx->r, "lnk/", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void
test_dotdot_and_absolute_refused(void **state)
{
	struct fx *fx = fx_get(state);
	const char *leaf;
	struct stat st;
	char abs[PATH_MAX * 2];

	put_file(fx->outside, "secret", "s");
	path_join(abs, sizeof abs, fx->outside, "secret");
	assert_int_equal(oce_mkdir_beneath(&fx->r, "a", 0755), 0);
	assert_int_equal(oce_open_beneath(&fx->r, "../outside/secret", O_RDONLY, 0), -EXDEV);
	assert_int_equal(oce_open_beneath(&fx->r, "a/../../outside/secret", O_RDONLY, 0), -EXDEV);
	assert_int_equal(oce_open_beneath(&fx->r, "a/..", O_RDONLY, 0), -EXDEV);
	assert_int_equal(oce_open_beneath(&fx->r, abs, O_RDONLY, 0), -EXDEV);
	assert_int_equal(oce_open_parent(&fx->r, "../x", &leaf), -EXDEV);
	assert_int_equal(oce_lstat_beneath(&fx->r, "..", &st), -EXDEV);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "../made", 0755), -EXDEV);
	assert_int_equal(oce_unlink_beneath(&fx->r, "../outside", true), -EXDEV);
	assert_int_equal(oce_unlink_beneath(&fx->r, abs, false), -EXDEV);
	assert_false(exists(fx->base, "made"));
	assert_true(exists(fx->outside, "secret"));
}

static void
test_open_parent(void **state)
{
	struct fx *fx = fx_get(state);
	struct stat st, want;
	const char *rel = "a/b/c", *leaf = NULL;
	char p[PATH_MAX * 2];
	int fd;

	assert_int_equal(oce_mkdir_beneath(&fx->r, "a", 0755), 0);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "a/b", 0755), 0);
	fd = oce_open_parent(&fx->r, rel, &leaf);
	assert_true(fd >= 0);
	assert_ptr_equal(leaf, rel + 4);
	path_join(p, sizeof p, fx->root, "a/b");
	assert_int_equal(stat(p, &want), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_ino, want.st_ino);
	/* Usable as a dirfd for creating the leaf. */
	assert_int_equal(mkdirat(fd, leaf, 0700), 0);
	close(fd);
	assert_true(exists(fx->root, "a/b/c"));

	fd = oce_open_parent(&fx->r, "top", &leaf);
	assert_true(fd >= 0 && fd != fx->r.fd);
	assert_string_equal(leaf, "top");
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(stat(fx->root, &want), 0);
	assert_int_equal(st.st_ino, want.st_ino);
	close(fd);

	assert_int_equal(oce_open_parent(&fx->r, "", &leaf), -EINVAL);
	assert_int_equal(oce_open_parent(&fx->r, ".", &leaf), -EINVAL);
	assert_int_equal(oce_open_parent(&fx->r, "a/", &leaf), -EINVAL);
	assert_int_equal(oce_open_parent(&fx->r, "nope/x", &leaf), -ENOENT);
}

/* --- tests: temp files and commit ----------------------------------------------------- */

static bool
is_alnum6(const char *x)
{
	int i;

	for (i = 0; i < 6; i++) {
		char c = x[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return x[6] == '\0';
}

/* Make a temp file for rel, check the name is want + ".XXXXXX", close it. */
static void
check_tmpname(struct fx *fx, const char *rel, int tmpdir_fd, const char *want)
{
	char name[256];
	size_t n = strlen(want);
	struct stat st;
	int dfd, fd;

	assert_int_equal(oce_tmpfile(&fx->r, rel, tmpdir_fd, &dfd, &fd, name), 0);
	assert_true(strlen(name) == n + 7 && strlen(name) <= NAME_MAX);
	assert_memory_equal(name, want, n);
	assert_int_equal(name[n], '.');
	assert_true(is_alnum6(name + n + 1));
	assert_int_equal(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_int_equal(unlinkat(dfd, name, 0), 0);
	close(fd);
	close(dfd);
}

static void
test_tmpfile_names(void **state)
{
	struct fx *fx = fx_get(state);
	char leaf255[256], want[256], rel[300], utf[256];
	char t1[256], t2[256], p[PATH_MAX * 2];
	struct stat st, dst;
	int dfd1, fd1, dfd2, fd2, tfd;

	assert_int_equal(oce_mkdir_beneath(&fx->r, "sub", 0755), 0);
	check_tmpname(fx, "file.txt", -1, ".file.txt");
	check_tmpname(fx, "sub/file.txt", -1, ".file.txt");
	check_tmpname(fx, ".hidden", -1, ".hidden");
	check_tmpname(fx, "dot.", -1, ".dot");

	/* A 255-byte leaf is cut to 246 bytes: 1 + 246 + 7 = 254. */
	memset(leaf255, 'a', 255);
	leaf255[255] = '\0';
	snprintf(rel, sizeof rel, "sub/%s", leaf255);
	memset(want, 'a', 247);
	want[0] = '.';
	want[247] = '\0';
	check_tmpname(fx, rel, -1, want);

	/* The cut falls inside a two-byte UTF-8 character: drop its first byte. */
	memset(utf, 'b', 245);
	strcpy(utf + 245, "\xc3\xa9\xc3\xa9\xc3\xa9");
	want[0] = '.';
	memset(want + 1, 'b', 245);
	want[246] = '\0';
	check_tmpname(fx, utf, -1, want);

	/* In a temp dir there is no leading dot, and the file lands there. */
	path_join(p, sizeof p, fx->base, "tmpdir");
	assert_int_equal(mkdir(p, 0700), 0);
	tfd = open(p, O_PATH | O_DIRECTORY);
	assert_true(tfd >= 0);
	check_tmpname(fx, "sub/.rc", tfd, ".rc");
	check_tmpname(fx, "sub/data.bin", tfd, "data.bin");
	/* rel's own directory need not exist when a temp dir is used. */
	check_tmpname(fx, "not/yet/made", tfd, "made");
	assert_int_equal(oce_tmpfile(&fx->r, "sub/data.bin", tfd, &dfd1, &fd1, t1), 0);
	assert_int_equal(fstat(dfd1, &dst), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(dst.st_ino, st.st_ino);
	assert_true(dfd1 != tfd);
	close(fd1);
	close(dfd1);
	close(tfd);

	/* The directory of rel holds the file, and names differ between calls. */
	assert_int_equal(oce_tmpfile(&fx->r, "sub/x", -1, &dfd1, &fd1, t1), 0);
	assert_int_equal(oce_tmpfile(&fx->r, "sub/x", -1, &dfd2, &fd2, t2), 0);
	assert_string_not_equal(t1, t2);
	assert_true(dfd1 != fx->r.fd && dfd2 != fx->r.fd);
	snprintf(rel, sizeof rel, "sub/%s", t1);
	assert_true(exists(fx->root, rel));
	close(fd1);
	close(fd2);
	close(dfd1);
	close(dfd2);

	assert_int_equal(oce_tmpfile(&fx->r, ".", -1, &dfd1, &fd1, t1), -EINVAL);
	assert_int_equal(oce_tmpfile(&fx->r, "nodir/x", -1, &dfd1, &fd1, t1), -ENOENT);
}

/*
 * oce_tmpfile_borrow(): the root's own descriptor at the top, else the
 * thread's cached parent, the same one for files of one directory; given
 * back, it stays open and usable (a second borrow still works, a lookup
 * in another directory still works), and a directory it does not cache
 * comes back owned and is closed by the release.
 */
static void
test_tmpfile_borrow(void **state)
{
	struct fx *fx = fx_get(state);
	char t1[256], t2[256], rel[300];
	struct stat st;
	int dfd1, fd1, dfd2, fd2, dfd3, fd3;

	assert_int_equal(oce_mkdir_beneath(&fx->r, "bd", 0755), 0);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "other", 0755), 0);
	assert_int_equal(oce_tmpfile_borrow(&fx->r, "top", -1, &dfd1, &fd1, t1), 0);
	assert_int_equal(dfd1, fx->r.fd);
	assert_true(exists(fx->root, t1));
	oce_dirfd_release(&fx->r, dfd1);
	assert_int_equal(fcntl(fx->r.fd, F_GETFD), FD_CLOEXEC);
	close(fd1);

	assert_int_equal(oce_tmpfile_borrow(&fx->r, "bd/a", -1, &dfd1, &fd1, t1), 0);
	/* while it is held, a look-up elsewhere does not take it away */
	assert_int_equal(oce_lstat_beneath(&fx->r, "other", &st), 0);
	assert_int_equal(oce_tmpfile_borrow(&fx->r, "bd/b", -1, &dfd2, &fd2, t2), 0);
	assert_int_equal(dfd2, dfd1);
	/* a directory the cache cannot take meanwhile: owned, closed on release */
	assert_int_equal(oce_tmpfile_borrow(&fx->r, "other/c", -1, &dfd3, &fd3, t2), 0);
	assert_true(dfd3 != dfd1);
	oce_dirfd_release(&fx->r, dfd3);
	assert_int_equal(fcntl(dfd3, F_GETFD), -1);
	oce_dirfd_release(&fx->r, dfd2);
	oce_dirfd_release(&fx->r, dfd1);
	/* still open, and the files are in bd */
	assert_true(fcntl(dfd1, F_GETFD) >= 0);
	snprintf(rel, sizeof rel, "bd/%s", t1);
	assert_true(exists(fx->root, rel));
	assert_int_equal(oce_commit(&fx->r, dfd1, t1, "bd/a"), 0);
	assert_true(exists(fx->root, "bd/a"));
	close(fd1);
	close(fd2);
	close(fd3);
	/* a failure gives the borrowed directory back too */
	assert_int_equal(oce_tmpfile_borrow(&fx->r, "nodir/x", -1, &dfd1, &fd1, t1), -ENOENT);
	assert_int_equal(oce_tmpfile_borrow(&fx->r, "bd/d", -1, &dfd1, &fd1, t1), 0);
	oce_dirfd_release(&fx->r, dfd1);
	close(fd1);
}

static void
test_tmpfile_retries_on_collision(void **state)
{
	struct fx *fx = fx_get(state);
	struct fake f = {.eexist_left = 3};
	struct oce_fs_sys t = fake_table(&f);
	struct oce_root r;
	char name[256];
	int dfd, fd;

	assert_int_equal(oce_root_open(&r, fx->root, false, &t), 0);
	r.use_openat2 = fx->openat2;
	assert_int_equal(oce_tmpfile(&r, "f", -1, &dfd, &fd, name), 0);
	assert_int_equal(f.eexist_left, 0);
	close(fd);
	close(dfd);
	f.eexist_left = 1000;
	assert_int_equal(oce_tmpfile(&r, "f", -1, &dfd, &fd, name), -EEXIST);
	assert_int_equal(fd, -1);
	assert_int_equal(dfd, -1);
	oce_root_close(&r);
}

static void
test_commit(void **state)
{
	struct fx *fx = fx_get(state);
	struct fake f = {0};
	struct oce_fs_sys t = fake_table(&f);
	struct oce_root r;
	char name[256], got[64], rel[300];
	int dfd, fd;

	assert_int_equal(oce_mkdir_beneath(&fx->r, "d", 0755), 0);
	put_file(fx->root, "d/f", "old contents");
	assert_int_equal(oce_tmpfile(&fx->r, "d/f", -1, &dfd, &fd, name), 0);
	assert_int_equal(oce_write_all(fx->r.sys, fd, "new", 3), 0);
	close(fd);

	/* A failed rename leaves the old file whole. */
	assert_int_equal(oce_root_open(&r, fx->root, false, &t), 0);
	r.use_openat2 = fx->openat2;
	f.fail_rename = true;
	assert_int_equal(oce_commit(&r, dfd, name, "d/f"), -EIO);
	get_file(fx->root, "d/f", got, sizeof got);
	assert_string_equal(got, "old contents");
	oce_root_close(&r);

	assert_int_equal(oce_commit(&fx->r, dfd, name, "d/f"), 0);
	get_file(fx->root, "d/f", got, sizeof got);
	assert_string_equal(got, "new");
	snprintf(rel, sizeof rel, "d/%s", name);
	assert_false(exists(fx->root, rel));
	close(dfd);

	/* Top-level name, and a commit refused through a symlinked parent. */
	assert_int_equal(oce_tmpfile(&fx->r, "top", -1, &dfd, &fd, name), 0);
	close(fd);
	assert_int_equal(oce_commit(&fx->r, dfd, name, "top"), 0);
	assert_true(exists(fx->root, "top"));
	close(dfd);
	plant_evil(fx);
	assert_int_equal(oce_tmpfile(&fx->r, "x", -1, &dfd, &fd, name), 0);
	close(fd);
	assert_true(refused(oce_commit(&fx->r, dfd, name, "evil/x")));
	assert_false(exists(fx->outside, "x"));
	close(dfd);
}

/* --- tests: writing ------------------------------------------------------------------ */

static void
fill_pattern(char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (char)('a' + i % 26);
}

static void
test_write_all_faults(void **state)
{
	struct fx *fx = fx_get(state);
	struct fake f = {.short_writes = true, .eintr = true};
	struct oce_fs_sys t = fake_table(&f);
	char buf[1000], got[1100];
	int fd;

	fill_pattern(buf, sizeof buf);
	fd = oce_open_beneath(&fx->r, "w", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(oce_write_all(&t, fd, buf, sizeof buf), 0);
	/* 1000 bytes at 1..3 a call, plus one EINTR before each. */
	assert_true(f.writes >= 2 * (sizeof buf / 3));
	assert_int_equal(pread(fd, got, sizeof got, 0), (ssize_t)sizeof buf);
	assert_memory_equal(got, buf, sizeof buf);

	/* ENOSPC on the second call comes back as -ENOSPC after one short write. */
	f = (struct fake){.short_writes = true, .enospc_at = 2};
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(oce_write_all(&t, fd, buf, sizeof buf), -ENOSPC);
	assert_int_equal(f.writes, 2);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 2);

	f = (struct fake){.zero_write = true};
	assert_int_equal(oce_write_all(&t, fd, buf, sizeof buf), -EIO);
	f = (struct fake){0};
	assert_int_equal(oce_write_all(&t, fd, buf, 0), 0);
	assert_int_equal(f.writes, 0);
	close(fd);
}

enum { SP_LEN = 3 * 1024 * 1024 };

/* Data with two holes: [0,4K) text, [4K,1M+4K) zeros, 4K text, then zeros. */
static char *
sparse_image(void)
{
	char *b = calloc(1, SP_LEN);

	assert_non_null(b);
	fill_pattern(b, 4096);
	fill_pattern(b + 4096 + (1 << 20), 4096);
	/* A short interior zero run stays data. */
	memset(b + 4096 + (1 << 20) + 100, 0, 200);
	return b;
}

static void
write_image(struct oce_sparse *w, const char *img, size_t chunk)
{
	size_t off;

	for (off = 0; off < SP_LEN; off += chunk)
		assert_int_equal(
		    oce_sparse_write(w, img + off, off + chunk > SP_LEN ? SP_LEN - off : chunk), 0);
	assert_int_equal(w->off, SP_LEN);
	assert_int_equal(oce_sparse_finish(w), 0);
}

static void
check_image(int fd, const char *img)
{
	char *got = malloc(SP_LEN);
	struct stat st;

	assert_non_null(got);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, SP_LEN);
	assert_int_equal(pread(fd, got, SP_LEN, 0), SP_LEN);
	assert_memory_equal(got, img, SP_LEN);
	free(got);
}

static void
test_sparse_writer(void **state)
{
	struct fx *fx = fx_get(state);
	struct fake f = {0};
	struct oce_fs_sys t = fake_table(&f);
	struct oce_sparse w;
	char *img = sparse_image();
	char tiny[3000] = {0};
	struct stat st;
	int fd;

	/* Sparse, in 32 KiB pieces like the receiver's tokens: holes stay holes. */
	fd = oce_open_beneath(&fx->r, "sparse", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	oce_sparse_init(&w, NULL, fd, true);
	write_image(&w, img, 32768);
	check_image(fd, img);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((off_t)st.st_blocks * 512 < 64 * 1024);
	close(fd);

	/* Not sparse: the same bytes, every block allocated. */
	fd = oce_open_beneath(&fx->r, "dense", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	oce_sparse_init(&w, NULL, fd, false);
	write_image(&w, img, 32768);
	check_image(fd, img);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((off_t)st.st_blocks * 512 >= SP_LEN);
	close(fd);

	/* Odd piece sizes, through the fault table with short writes and EINTR. */
	fd = oce_open_beneath(&fx->r, "odd", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	f = (struct fake){.eintr = true};
	oce_sparse_init(&w, &t, fd, true);
	write_image(&w, img, 777);
	check_image(fd, img);
	close(fd);

	/* Interior zero runs: under 1 KiB one write, from 1 KiB on two. */
	fd = oce_open_beneath(&fx->r, "runs", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	tiny[0] = 'x';
	tiny[1000] = 'y';
	f = (struct fake){0};
	oce_sparse_init(&w, &t, fd, true);
	assert_int_equal(oce_sparse_write(&w, tiny, 1001), 0);
	assert_int_equal(f.pwrites, 1);
	tiny[1000] = 0;
	tiny[2999] = 'z';
	assert_int_equal(oce_sparse_write(&w, tiny, 3000), 0);
	assert_int_equal(f.pwrites, 3);
	/* All zeros: nothing written, length still counted. */
	memset(tiny, 0, sizeof tiny);
	assert_int_equal(oce_sparse_write(&w, tiny, sizeof tiny), 0);
	assert_int_equal(f.pwrites, 3);
	assert_int_equal(oce_sparse_finish(&w), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 1001 + 3000 + 3000);
	assert_int_equal(pread(fd, tiny, 1, 1001 + 2999), 1);
	assert_int_equal(tiny[0], 'z');

	/* ENOSPC is passed up. */
	f = (struct fake){.enospc_at = 1};
	tiny[0] = 'q';
	assert_int_equal(oce_sparse_write(&w, tiny, 10), -ENOSPC);
	close(fd);
	free(img);
}

/* --- tests: attributes ------------------------------------------------------------- */

static struct oce_meta
meta_times(mode_t mode, time_t sec, long nsec)
{
	struct oce_meta m = {.mode = mode, .set_perms = true, .set_mtime = true};

	m.mtime.tv_sec = sec;
	m.mtime.tv_nsec = nsec;
	return m;
}

static void
test_set_meta_basic(void **state)
{
	struct fx *fx = fx_get(state);
	struct fake f = {0};
	struct oce_fs_sys t = fake_table(&f);
	struct oce_meta m = meta_times(S_IFREG | 0751, 1500000000, 123456789);
	struct oce_root r;
	struct stat st;

	put_file(fx->root, "f", "x");
	assert_int_equal(oce_root_open(&r, fx->root, false, &t), 0);
	r.use_openat2 = fx->openat2;
	m.set_atime = true;
	m.atime.tv_sec = 1400000000;
	m.atime.tv_nsec = 5;
	assert_int_equal(oce_set_meta(&r, "f", NULL, &m), 0);
	assert_string_equal(f.log, "TM");
	assert_int_equal(oce_lstat_beneath(&r, "f", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	assert_int_equal(st.st_mtim.tv_sec, 1500000000);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	assert_int_equal(st.st_atim.tv_sec, 1400000000);
	assert_int_equal(st.st_atim.tv_nsec, 5);

	/* Already right: no call at all, with cur given or read here. */
	f.nlog = 0;
	f.log[0] = '\0';
	assert_int_equal(oce_set_meta(&r, "f", &st, &m), 0);
	assert_int_equal(oce_set_meta(&r, "f", NULL, &m), 0);
	assert_string_equal(f.log, "");

	/* Only mtime differs: atime is left alone (UTIME_OMIT). */
	m.set_atime = false;
	m.mtime.tv_nsec = 1;
	assert_int_equal(oce_set_meta(&r, "f", NULL, &m), 0);
	assert_string_equal(f.log, "T");
	assert_int_equal(oce_lstat_beneath(&r, "f", &st), 0);
	assert_int_equal(st.st_mtim.tv_nsec, 1);
	assert_int_equal(st.st_atim.tv_sec, 1400000000);

	/* Flags off: nothing applied. */
	m = (struct oce_meta){.mode = S_IFREG | 0600};
	assert_int_equal(oce_set_meta(&r, "f", NULL, &m), 0);
	assert_int_equal(oce_lstat_beneath(&r, "f", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);

	/* The root itself. */
	m = meta_times(S_IFDIR | 0711, 1234567890, 42);
	assert_int_equal(oce_set_meta(&r, ".", NULL, &m), 0);
	assert_int_equal(stat(fx->root, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(st.st_mtim.tv_nsec, 42);
	assert_int_equal(oce_set_meta(&r, "missing", NULL, &m), -ENOENT);
	oce_root_close(&r);
}

static void
test_set_meta_symlink(void **state)
{
	struct fx *fx = fx_get(state);
	struct oce_meta m = meta_times(S_IFLNK | 0700, 1000000000, 999);
	struct stat st, tst;
	char p[PATH_MAX * 2];

	put_file(fx->outside, "target", "t");
	path_join(p, sizeof p, fx->outside, "target");
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(stat(p, &tst), 0);
	assert_int_equal(oce_symlink_beneath(&fx->r, p, "ln"), 0);
	assert_int_equal(oce_set_meta(&fx->r, "ln", NULL, &m), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "ln", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mtim.tv_nsec, 999);
	/* The target kept its mode and times. */
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_mtim.tv_sec, tst.st_mtim.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, tst.st_mtim.tv_nsec);
}

/* Ownership first, times, then the mode; setuid survives the chown. */
static void
test_set_meta_owner_order(void **state)
{
	struct fx *fx = fx_get(state);
	struct fake f = {0};
	struct oce_fs_sys t = fake_table(&f);
	struct oce_meta m = meta_times(S_IFREG | 04755, 1600000000, 7);
	struct stat st;
	int dfd, fd;
	char name[256];

	if (geteuid() != 0)
		skip();
	assert_int_equal(oce_tmpfile(&fx->r, "suid", -1, &dfd, &fd, name), 0);
	assert_int_equal(fchmod(fd, 04755), 0);
	close(fd);
	m.set_owner = m.set_group = true;
	m.uid = 4321;
	m.gid = 8765;
	assert_int_equal(oce_set_meta_at(&t, dfd, name, NULL, &m), 0);
	assert_string_equal(f.log, "OTM");
	assert_int_equal(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_uid, 4321);
	assert_int_equal(st.st_gid, 8765);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(st.st_mtim.tv_nsec, 7);
	assert_int_equal(oce_commit(&fx->r, dfd, name, "suid"), 0);
	close(dfd);

	/* Group only: the owner is passed as "unchanged". */
	f = (struct fake){0};
	m = (struct oce_meta){.set_group = true, .gid = 99};
	assert_int_equal(oce_set_meta(&fx->r, "suid", NULL, &m), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "suid", &st), 0);
	assert_int_equal(st.st_uid, 4321);
	assert_int_equal(st.st_gid, 99);

	/* lchown semantics on a symlink. */
	assert_int_equal(oce_symlink_beneath(&fx->r, "suid", "ln"), 0);
	m = (struct oce_meta){.set_owner = true, .uid = 555};
	assert_int_equal(oce_set_meta(&fx->r, "ln", NULL, &m), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "ln", &st), 0);
	assert_int_equal(st.st_uid, 555);
	assert_int_equal(oce_lstat_beneath(&fx->r, "suid", &st), 0);
	assert_int_equal(st.st_uid, 4321);
}

/* --- tests: creating and removing -------------------------------------------------- */

static void
test_create_nodes(void **state)
{
	struct fx *fx = fx_get(state);
	char buf[64];
	struct stat st, st2;
	mode_t old = umask(022);
	ssize_t n;

	assert_int_equal(oce_mkdir_beneath(&fx->r, "d", 0777), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "d", 0777), -EEXIST);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "d/sub/", 0700), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/sub", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* A symlink's target is stored, never resolved. */
	assert_int_equal(oce_symlink_beneath(&fx->r, "../../../etc/passwd", "d/l"), 0);
	n = readlinkat(fx->r.fd, "d/l", buf, sizeof buf - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "../../../etc/passwd");
	memset(buf, 'x', sizeof buf);
	assert_int_equal(oce_readlink_beneath(&fx->r, "d/l", buf, sizeof buf), n);
	assert_string_equal(buf, "../../../etc/passwd");
	assert_int_equal(oce_readlink_beneath(&fx->r, "d/l", buf, (size_t)n), -ENAMETOOLONG);
	assert_int_equal(oce_readlink_beneath(&fx->r, "d/l", buf, (size_t)n + 1), n);
	assert_int_equal(oce_readlink_beneath(&fx->r, "d", buf, sizeof buf), -EINVAL);
	assert_int_equal(oce_readlink_beneath(&fx->r, "d/none", buf, sizeof buf), -ENOENT);

	/* Hard links: to a file, and to a symlink itself. */
	put_file(fx->root, "d/f", "data");
	assert_int_equal(oce_link_beneath(&fx->r, "d/f", "hl"), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/f", &st), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "hl", &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(st2.st_nlink, 2);
	assert_int_equal(oce_link_beneath(&fx->r, "d/l", "d/sub/l2"), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/sub/l2", &st2), 0);
	assert_true(S_ISLNK(st2.st_mode));
	assert_int_equal(oce_link_beneath(&fx->r, "nope", "x"), -ENOENT);

	assert_int_equal(oce_mknod_beneath(&fx->r, "d/fifo", S_IFIFO | 0640, 0), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/fifo", &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(oce_mknod_beneath(&fx->r, "d/sock", S_IFSOCK | 0600, 0), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/sock", &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	if (geteuid() == 0) {
		assert_int_equal(oce_mknod_beneath(&fx->r, "d/null", S_IFCHR | 0666, makedev(1, 3)),
				 0);
		assert_int_equal(oce_lstat_beneath(&fx->r, "d/null", &st), 0);
		assert_true(S_ISCHR(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(1, 3));
	}
	umask(old);
}

static void
test_unlink(void **state)
{
	struct fx *fx = fx_get(state);
	char p[PATH_MAX * 2];

	put_file(fx->outside, "keep", "k");
	put_file(fx->root, "f", "x");
	assert_int_equal(oce_unlink_beneath(&fx->r, "f", false), 0);
	assert_false(exists(fx->root, "f"));
	assert_int_equal(oce_unlink_beneath(&fx->r, "f", false), -ENOENT);

	assert_int_equal(oce_mkdir_beneath(&fx->r, "empty", 0755), 0);
	assert_int_equal(oce_unlink_beneath(&fx->r, "empty/", false), 0);
	assert_false(exists(fx->root, "empty"));

	/* A tree with files, a deep chain, a fifo, and symlinks pointing out. */
	assert_int_equal(oce_mkdir_beneath(&fx->r, "t", 0755), 0);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "t/a", 0755), 0);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "t/a/b", 0755), 0);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "t/a/b/c", 0700), 0);
	put_file(fx->root, "t/a/b/c/f1", "1");
	put_file(fx->root, "t/a/f2", "2");
	assert_int_equal(oce_mknod_beneath(&fx->r, "t/a/fifo", S_IFIFO | 0600, 0), 0);
	path_join(p, sizeof p, fx->root, "t/out");
	assert_int_equal(symlink(fx->outside, p), 0);
	path_join(p, sizeof p, fx->root, "t/a/out2");
	assert_int_equal(symlink("../../../outside/keep", p), 0);
	assert_int_equal(oce_unlink_beneath(&fx->r, "t", false), -ENOTEMPTY);
	assert_true(exists(fx->root, "t/a/f2"));
	assert_int_equal(oce_unlink_beneath(&fx->r, "t", true), 0);
	assert_false(exists(fx->root, "t"));
	assert_true(exists(fx->outside, "keep"));

	/* A symlink to a directory is removed itself, even with recursive. */
	path_join(p, sizeof p, fx->root, "dl");
	assert_int_equal(symlink(fx->outside, p), 0);
	assert_int_equal(oce_unlink_beneath(&fx->r, "dl", true), 0);
	assert_false(exists(fx->root, "dl"));
	assert_true(exists(fx->outside, "keep"));

	assert_int_equal(oce_unlink_beneath(&fx->r, ".", true), -EINVAL);
	assert_int_equal(oce_unlink_beneath(&fx->r, "", true), -EINVAL);
	assert_true(exists(fx->base, "root"));
}

/* A directory swapped for a symlink mid-removal is not followed. */
static void
test_unlink_swap_race(void **state)
{
	struct fx *fx = fx_get(state);
	struct fake f = {0};
	struct oce_fs_sys t = fake_table(&f);
	struct oce_root r;
	int rc;

	put_file(fx->outside, "keep", "k");
	assert_int_equal(oce_mkdir_beneath(&fx->r, "t", 0755), 0);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "t/victim", 0755), 0);
	put_file(fx->root, "t/victim/v", "v");
	assert_int_equal(oce_root_open(&r, fx->root, false, &t), 0);
	r.use_openat2 = fx->openat2;
	f.swap_dir = "victim";
	f.swap_to = fx->outside;
	rc = oce_unlink_beneath(&r, "t", true);
	assert_true(refused(rc));
	assert_null(f.swap_dir);
	assert_true(exists(fx->outside, "keep"));
	oce_root_close(&r);
}

/* --- tests: source side -------------------------------------------------------------- */

static void
test_open_source(void **state)
{
	struct fx *fx = fx_get(state);
	char p[PATH_MAX * 2], q[PATH_MAX * 2], buf[16];
	struct stat a, b;
	int dfd, fd;

	put_file(fx->outside, "a", "AAAA");
	put_file(fx->outside, "b", "BBBB");
	dfd = open(fx->outside, O_PATH | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(fstatat(dfd, "a", &a, 0), 0);
	assert_int_equal(fstatat(dfd, "b", &b, 0), 0);

	fd = oce_open_source(NULL, dfd, "a", &a);
	assert_true(fd >= 0);
	/* read-only; O_NONBLOCK may stay set, a regular file ignores it */
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof buf), 4);
	assert_memory_equal(buf, "AAAA", 4);
	close(fd);
	fd = oce_open_source(&oce_fs_sys_default, dfd, "a", NULL);
	assert_true(fd >= 0);
	close(fd);

	/* Swapped after the walk: b renamed over a. */
	path_join(p, sizeof p, fx->outside, "b");
	path_join(q, sizeof q, fx->outside, "a");
	assert_int_equal(rename(p, q), 0);
	assert_int_equal(oce_open_source(NULL, dfd, "a", &a), -ESTALE);
	fd = oce_open_source(NULL, dfd, "a", &b);
	assert_true(fd >= 0);
	close(fd);

	/* A symlink is refused; a fifo neither hangs nor is accepted. */
	path_join(p, sizeof p, fx->outside, "ln");
	assert_int_equal(symlink("a", p), 0);
	assert_int_equal(oce_open_source(NULL, dfd, "ln", NULL), -ELOOP);
	path_join(p, sizeof p, fx->outside, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(oce_open_source(NULL, dfd, "fifo", NULL), -ESTALE);
	assert_int_equal(oce_open_source(NULL, dfd, ".", NULL), -ESTALE);
	assert_int_equal(oce_open_source(NULL, dfd, "none", NULL), -ENOENT);
	close(dfd);
}

/* --- runner -------------------------------------------------------------------------- */

static struct CMUnitTest
fx_case(const char *name, CMUnitTestFunction fn, void *mode)
{
	struct CMUnitTest t = {name, fn, fx_setup, fx_teardown, mode};

	return t;
}

/* Each test twice: the O_NOFOLLOW walk, then openat2 (skipped without it). */
/*
 * The parent kept open between lookups: a directory removed through
 * oce_unlink_beneath() and made again is looked up anew, so an entry
 * created in the new one is found (the old descriptor would say ENOENT),
 * as is one replaced behind our back after oce_fs_changed(). Two parents
 * held at once (a hard link across directories) both stay valid.
 */
static void
test_parent_cache(void **state)
{
	struct fx *fx = fx_get(state);
	char path[PATH_MAX + 16];
	struct stat st;

	assert_int_equal(oce_mkdir_beneath(&fx->r, "d", 0755), 0);
	put_file(fx->root, "d/a", "1");
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/a", &st), 0);
	assert_int_equal(oce_unlink_beneath(&fx->r, "d", true), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/a", &st), -ENOENT);
	assert_int_equal(oce_mkdir_beneath(&fx->r, "d", 0755), 0);
	put_file(fx->root, "d/b", "2");
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/b", &st), 0);
	assert_int_equal(st.st_size, 1);

	/* Swapped by someone else: seen once we are told. */
	snprintf(path, sizeof path, "%s/d", fx->root);
	assert_int_equal(rm_rf(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	put_file(fx->root, "d/c", "33");
	oce_fs_changed();
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/c", &st), 0);
	assert_int_equal(st.st_size, 2);

	/* Two parents in use at once. */
	assert_int_equal(oce_mkdir_beneath(&fx->r, "e", 0755), 0);
	assert_int_equal(oce_link_beneath(&fx->r, "d/c", "e/c2"), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "e/c2", &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/c", &st), 0);
	assert_int_equal(oce_link_beneath(&fx->r, "e/c2", "d/c3"), 0);
	assert_int_equal(oce_lstat_beneath(&fx->r, "d/c3", &st), 0);
	assert_int_equal(st.st_nlink, 3);
}

#define BOTH(fn) fx_case(#fn "/walk", fn, NULL), fx_case(#fn "/openat2", fn, &on)

int
main(void)
{
	static int on = 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_check),
	    BOTH(test_root_open_create),
	    BOTH(test_parent_cache),
	    BOTH(test_open_beneath_basic),
	    BOTH(test_symlinked_parent_refused),
	    BOTH(test_symlink_leaf_not_followed),
	    BOTH(test_dotdot_and_absolute_refused),
	    BOTH(test_open_parent),
	    BOTH(test_tmpfile_names),
	    BOTH(test_tmpfile_borrow),
	    BOTH(test_tmpfile_retries_on_collision),
	    BOTH(test_commit),
	    BOTH(test_write_all_faults),
	    BOTH(test_sparse_writer),
	    BOTH(test_set_meta_basic),
	    BOTH(test_set_meta_symlink),
	    BOTH(test_set_meta_owner_order),
	    BOTH(test_create_nodes),
	    BOTH(test_unlink),
	    BOTH(test_unlink_swap_race),
	    BOTH(test_open_source),
	};

	/* Say which confinement modes actually ran. */
	fprintf(stderr, "openat2 %s\n", kernel_has_openat2("/") ? "available" : "missing");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
