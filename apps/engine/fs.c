/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Confined filesystem access for the engine; see fs.h for the contract.
 *
 * Confinement rests on two rules: every lookup of a peer-supplied path
 * starts at the root's descriptor, and no component of it is followed if it
 * is a symlink. openat2() enforces both in the kernel; where it is missing
 * we open one component at a time with O_NOFOLLOW, so a symlink planted in
 * the destination fails the walk instead of redirecting it.
 */
#include "apps/engine/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Interior zero runs shorter than this are written, not skipped: upstream
 * rsync.h SPARSE_WRITE_SIZE, the hole granularity rsync has always used. */
#define OCE_SPARSE_MIN_HOLE 1024

/* Upstream receiver.c TMPNAME_SUFFIX; the X's become random characters. */
#define OCE_TMP_SUFFIX	   ".XXXXXX"
#define OCE_TMP_SUFFIX_LEN 7
#define OCE_TMP_TRIES	   100

/* Glibc 2.36 headers predate fchmodat2 (Linux 6.6); its number is the common
 * one on these architectures. Elsewhere glibc's fchmodat emulation is used. */
#if defined(__NR_fchmodat2)
#define OCE_NR_FCHMODAT2 __NR_fchmodat2
#elif (defined(__x86_64__) && !defined(__ILP32__)) || defined(__aarch64__) || defined(__i386__)
#define OCE_NR_FCHMODAT2 452
#endif

/* --- the default system call table ---------------------------------------- */

static int
sys_openat(void *ctx, int dirfd, const char *path, int flags, mode_t mode)
{
	(void)ctx;
	return openat(dirfd, path, flags, mode);
}

static ssize_t
sys_write(void *ctx, int fd, const void *buf, size_t len)
{
	(void)ctx;
	return write(fd, buf, len);
}

static ssize_t
sys_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
	(void)ctx;
	return pwrite(fd, buf, len, off);
}

static ssize_t
sys_read(void *ctx, int fd, void *buf, size_t len)
{
	(void)ctx;
	return read(fd, buf, len);
}

static ssize_t
sys_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
	(void)ctx;
	return pread(fd, buf, len, off);
}

static int
sys_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd);
}

static int
sys_renameat(void *ctx, int olddirfd, const char *old, int newdirfd, const char *new)
{
	(void)ctx;
	return renameat(olddirfd, old, newdirfd, new);
}

static int
sys_unlinkat(void *ctx, int dirfd, const char *path, int flags)
{
	(void)ctx;
	return unlinkat(dirfd, path, flags);
}

static int
sys_mkdirat(void *ctx, int dirfd, const char *path, mode_t mode)
{
	(void)ctx;
	return mkdirat(dirfd, path, mode);
}

static int
sys_symlinkat(void *ctx, const char *target, int dirfd, const char *path)
{
	(void)ctx;
	return symlinkat(target, dirfd, path);
}

static int
sys_linkat(void *ctx, int olddirfd, const char *old, int newdirfd, const char *new, int flags)
{
	(void)ctx;
	return linkat(olddirfd, old, newdirfd, new, flags);
}

static int
sys_mknodat(void *ctx, int dirfd, const char *path, mode_t mode, dev_t dev)
{
	(void)ctx;
	return mknodat(dirfd, path, mode, dev);
}

static int
sys_fchownat(void *ctx, int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	(void)ctx;
	return path ? fchownat(dirfd, path, uid, gid, flags) : fchown(dirfd, uid, gid);
}

/*
 * fchmodat2 does AT_SYMLINK_NOFOLLOW in the kernel; glibc's fchmodat
 * emulates it through /proc and answers EOPNOTSUPP without /proc, so the
 * real syscall is tried first.
 */
static int
sys_fchmodat(void *ctx, int dirfd, const char *path, mode_t mode, int flags)
{
	(void)ctx;
	if (!path)
		return fchmod(dirfd, mode);
#ifdef OCE_NR_FCHMODAT2
	if (flags & AT_SYMLINK_NOFOLLOW) {
		long rc = syscall(OCE_NR_FCHMODAT2, dirfd, path, mode, flags);

		if (rc == 0 || errno != ENOSYS)
			return (int)rc;
	}
#endif
	return fchmodat(dirfd, path, mode, flags);
}

static int
sys_utimensat(void *ctx, int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	(void)ctx;
	return path ? utimensat(dirfd, path, ts, flags) : futimens(dirfd, ts);
}

static int
sys_fsync(void *ctx, int fd)
{
	(void)ctx;
	return fsync(fd);
}

static int
sys_ftruncate(void *ctx, int fd, off_t len)
{
	(void)ctx;
	return ftruncate(fd, len);
}

static int
sys_fstatat(void *ctx, int dirfd, const char *path, struct stat *st, int flags)
{
	(void)ctx;
	return path ? fstatat(dirfd, path, st, flags) : fstat(dirfd, st);
}

static ssize_t
sys_readlinkat(void *ctx, int dirfd, const char *path, char *buf, size_t len)
{
	(void)ctx;
	return readlinkat(dirfd, path, buf, len);
}

const struct oce_fs_sys oce_fs_sys_default = {
    .openat = sys_openat,
    .write = sys_write,
    .pwrite = sys_pwrite,
    .read = sys_read,
    .pread = sys_pread,
    .close = sys_close,
    .renameat = sys_renameat,
    .unlinkat = sys_unlinkat,
    .mkdirat = sys_mkdirat,
    .symlinkat = sys_symlinkat,
    .linkat = sys_linkat,
    .mknodat = sys_mknodat,
    .fchownat = sys_fchownat,
    .fchmodat = sys_fchmodat,
    .utimensat = sys_utimensat,
    .ftruncate = sys_ftruncate,
    .fsync = sys_fsync,
    .fstatat = sys_fstatat,
    .readlinkat = sys_readlinkat,
    .ctx = NULL,
};

/* --- helpers ---------------------------------------------------------------- */

/* -errno after a failed call; a table that forgot to set errno still fails. */
static int
neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static void
close_keep_errno(const struct oce_fs_sys *sys, int fd)
{
	int e = errno;

	sys->close(sys->ctx, fd);
	errno = e;
}

/*
 * Refuse what could leave the root before any lookup: an absolute path or a
 * ".." component (openat2 would also refuse an escaping "..", the walk would
 * not, so both refuse all of them alike). Returns 0 or -errno.
 */
static int
rel_confinable(const char *rel)
{
	const char *p = rel;

	if (!rel)
		return -EINVAL;
	if (strlen(rel) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (*rel == '/')
		return -EXDEV;
	while (*p) {
		const char *q = strchrnul(p, '/');

		if (q - p == 2 && p[0] == '.' && p[1] == '.')
			return -EXDEV;
		p = *q ? q + 1 : q;
	}
	return 0;
}

/* The kernel may answer EAGAIN when a concurrent rename makes it unsure the
 * lookup stayed beneath; a few retries settle that. */
#define OCE_OPENAT2_RETRIES 8

static int
openat2_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
	    .flags = (uint64_t)(unsigned)flags,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = -1;
	int i;

	/* openat2 rejects a mode without O_CREAT/O_TMPFILE, unlike openat. */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = mode;
#ifdef SYS_openat2
	for (i = 0; i < OCE_OPENAT2_RETRIES; i++) {
		fd = syscall(SYS_openat2, dirfd, *rel ? rel : ".", &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd >= 0 ? (int)fd : neg_errno();
#else
	(void)dirfd;
	(void)rel;
	(void)how;
	(void)i;
	(void)fd;
	return -ENOSYS;
#endif
}

/*
 * Open rel from r->fd one component at a time. Intermediate components are
 * opened O_PATH|O_DIRECTORY|O_NOFOLLOW, which fails on a symlink (ENOTDIR)
 * and on anything else that is not a directory; "." and empty components
 * are skipped. A trailing '/' makes the leaf need to be a directory, as in
 * the kernel's own lookup.
 */
static int
walk_beneath(const struct oce_root *r, const char *rel, int flags, mode_t mode)
{
	const struct oce_fs_sys *sys = r->sys;
	char buf[PATH_MAX];
	char *p, *leaf = NULL;
	int cur = r->fd, fd;
	size_t len = strlen(rel);

	memcpy(buf, rel, len + 1);
	if (len && buf[len - 1] == '/')
		flags |= O_DIRECTORY;
	for (p = buf; *p;) {
		char *q = strchrnul(p, '/');
		char *next = *q ? q + 1 : q;

		*q = '\0';
		if (!*p || (p[0] == '.' && !p[1])) {
			p = next;
			continue;
		}
		if (leaf) {
			fd = sys->openat(sys->ctx, cur, leaf,
					 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
			if (fd < 0) {
				fd = neg_errno();
				goto out;
			}
			if (cur != r->fd)
				sys->close(sys->ctx, cur);
			cur = fd;
		}
		leaf = p;
		p = next;
	}
	fd = sys->openat(sys->ctx, cur, leaf ? leaf : ".", flags, mode);
	if (fd < 0)
		fd = neg_errno();
out:
	if (cur != r->fd)
		sys->close(sys->ctx, cur);
	return fd;
}

/*
 * Copy rel into buf without trailing slashes and split it: *leaf is the
 * last component ("." for "" and "."), and the return value says whether
 * buf now holds a parent directory (a slash was cut) or the leaf stands
 * alone in the root. Returns 1, 0 or -errno.
 */
static int
split_leaf(const char *rel, char *buf, const char **leaf)
{
	char *slash;
	size_t len;
	int rc = rel_confinable(rel);

	if (rc < 0)
		return rc;
	len = strlen(rel);
	memcpy(buf, rel, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (!len) {
		*leaf = ".";
		return 0;
	}
	slash = strrchr(buf, '/');
	if (!slash) {
		*leaf = buf;
		return 0;
	}
	*slash = '\0';
	*leaf = slash + 1;
	return 1;
}

/*
 * The last confined parent directory each thread opened, kept open: the
 * file list is sorted by directory, so consecutive entries share their
 * parent, and reopening it (openat2 + close) per entry cost more than the
 * lstat the entry needed. A cached descriptor is only reused while
 * dir_gen is unchanged; everything that can remove or move a directory
 * below a root bumps it (oce_unlink_beneath, oce_root_close,
 * oce_fs_changed()), so a directory replaced by this process is never
 * used through its old descriptor. Only roots on the default system call
 * table use it, so tests that count or fail calls see every open. The
 * descriptor is closed when the thread exits.
 */
struct dircache {
	const struct oce_root *root;
	int rootfd;
	int fd; /* -1: empty */
	int busy; /* handed out by parent_of(), not yet released */
	unsigned gen;
	char dir[PATH_MAX];
};

static atomic_uint dir_gen;
static _Thread_local struct dircache tdc = {.fd = -1};
static pthread_key_t dc_key;
static pthread_once_t dc_once = PTHREAD_ONCE_INIT;

static void
dc_drop(struct dircache *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->busy = 0;
	c->root = NULL;
}

static void
dc_thread_exit(void *p)
{
	dc_drop(p);
}

static void
dc_key_make(void)
{
	if (pthread_key_create(&dc_key, dc_thread_exit))
		dc_key = (pthread_key_t)-1;
}

void
oce_fs_changed(void)
{
	atomic_fetch_add_explicit(&dir_gen, 1, memory_order_acq_rel);
}

/* The cached descriptor of dir below r, or -1. */
static int
dc_lookup(const struct oce_root *r, const char *dir)
{
	struct dircache *c = &tdc;

	if (c->fd < 0)
		return -1;
	if (c->busy)
		return c->root == r && c->rootfd == r->fd && !strcmp(c->dir, dir) &&
		       c->gen == atomic_load_explicit(&dir_gen, memory_order_acquire) ? c->fd : -1;
	if (c->root != r || c->rootfd != r->fd ||
	    c->gen != atomic_load_explicit(&dir_gen, memory_order_acquire) || strcmp(c->dir, dir)) {
		dc_drop(c);
		return -1;
	}
	return c->fd;
}

/* Keep fd (dir below r, opened at generation gen) in this thread's cache. */
static void
dc_store(const struct oce_root *r, const char *dir, int fd, unsigned gen)
{
	struct dircache *c = &tdc;
	size_t len = strlen(dir);

	pthread_once(&dc_once, dc_key_make);
	if (c->busy || len >= sizeof(c->dir) || dc_key == (pthread_key_t)-1 || pthread_setspecific(dc_key, c))
		return;
	dc_drop(c);
	c->root = r;
	c->rootfd = r->fd;
	c->gen = gen;
	memcpy(c->dir, dir, len + 1);
	c->fd = fd;
}

/*
 * Split rel into a confined parent directory and a leaf (in buf). *dfd is
 * r->fd itself when rel has one component (no open needed), or this
 * thread's cached descriptor of the parent: callers release it with
 * parent_done(), never close(). Returns 0 or -errno.
 */
static int
parent_of(const struct oce_root *r, const char *rel, char *buf, const char **leaf, int *dfd)
{
	int rc = split_leaf(rel, buf, leaf);
	bool cache = r->sys == &oce_fs_sys_default;
	unsigned gen = 0;

	*dfd = r->fd;
	if (rc <= 0)
		return rc;
	if (cache) {
		rc = dc_lookup(r, buf);
		if (rc >= 0) {
			tdc.busy++;
			*dfd = rc;
			return 0;
		}
		gen = atomic_load_explicit(&dir_gen, memory_order_acquire);
	}
	rc = oce_open_beneath(r, buf, O_PATH | O_DIRECTORY, 0);
	if (rc < 0)
		return rc;
	*dfd = rc;
	if (cache) {
		dc_store(r, buf, rc, gen);
		if (rc == tdc.fd)
			tdc.busy++;
	}
	return 0;
}

static void
parent_done(const struct oce_root *r, int dfd)
{
	if (dfd < 0 || dfd == r->fd)
		return;
	if (dfd == tdc.fd && tdc.busy)
		tdc.busy--;
	else
		close_keep_errno(r->sys, dfd);
}

/* --- roots and confined lookups ----------------------------------------------- */

/* Whether openat2 works here: missing (ENOSYS), or refused by a seccomp
 * filter (EPERM) in containers that predate it, both mean "walk". */
static bool
openat2_works(const struct oce_fs_sys *sys, int dirfd)
{
	int fd = openat2_beneath(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);

	if (fd < 0)
		return false;
	sys->close(sys->ctx, fd);
	return true;
}

int
oce_open_confined(int confine_fd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(unsigned)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = -1;

	if (confine_fd < 0 || *path == '/') {
		/* a session's path arguments are relative (sanitized); others are not confined */
		fd = openat(AT_FDCWD, path, flags | O_CLOEXEC);
		return fd >= 0 ? (int)fd : neg_errno();
	}
#ifdef SYS_openat2
	for (int i = 0; i < OCE_OPENAT2_RETRIES; i++) {
		fd = syscall(SYS_openat2, confine_fd, *path ? path : ".", &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	if (fd < 0 && errno == ENOSYS)
		fd = openat(AT_FDCWD, path, flags | O_CLOEXEC); /* pre-5.6 kernel: as before */
#else
	(void)how;
	fd = openat(AT_FDCWD, path, flags | O_CLOEXEC);
#endif
	if (fd >= 0)
		return (int)fd;
	/* openat2 says EXDEV for a way out; upstream's walk refuses it with ELOOP */
	return errno == EXDEV ? -ELOOP : neg_errno();
}

int
oce_mkdir_confined(int confine_fd, const char *path)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/'), *leaf = slash ? slash + 1 : path;
	int pfd, rc;

	if (snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - path) : 1,
		     slash ? path : ".") >= (int)sizeof(parent))
		return -ENAMETOOLONG;
	pfd = oce_open_confined(confine_fd, parent, O_PATH | O_DIRECTORY);
	if (pfd < 0)
		return pfd;
	rc = mkdirat(pfd, leaf, 0777) < 0 ? neg_errno() : 0;
	close(pfd);
	return rc;
}

int
oce_root_open(struct oce_root *r, const char *path, bool create, const struct oce_fs_sys *sys)
{
	return oce_root_open_confined(r, -1, path, create, sys);
}

int
oce_root_open_confined(struct oce_root *r, int confine_fd, const char *path, bool create,
		       const struct oce_fs_sys *sys)
{
	int fd, mk = 0;

	r->fd = -1;
	r->use_openat2 = false;
	r->sys = sys ? sys : &oce_fs_sys_default;
	sys = r->sys;
	if (confine_fd >= 0) {
		/* a daemon session outside a chroot: the module root bounds the root too */
		fd = oce_open_confined(confine_fd, path, O_PATH | O_DIRECTORY);
		if (fd == -ENOENT && create) {
			mk = oce_mkdir_confined(confine_fd, path);
			if (mk < 0 && mk != -EEXIST)
				return mk;
			fd = oce_open_confined(confine_fd, path, O_PATH | O_DIRECTORY);
		}
		if (fd < 0)
			return mk ? mk : fd;
	} else {
		fd = sys->openat(sys->ctx, AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd < 0 && errno == ENOENT && create) {
			if (sys->mkdirat(sys->ctx, AT_FDCWD, path, 0777) < 0) {
				if (errno != EEXIST)
					return neg_errno();
				mk = -EEXIST;
			}
			fd = sys->openat(sys->ctx, AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC,
					 0);
		}
		/*
		 * mkdir found something there that is no directory to open (a
		 * dangling symlink): upstream reports the mkdir's EEXIST.
		 */
		if (fd < 0)
			return mk ? mk : neg_errno();
	}
	r->fd = fd;
	r->use_openat2 = openat2_works(sys, fd);
	/* A root may reuse the address and descriptor number of one closed
	 * earlier: no kept parent of that one may pass for this one's. */
	oce_fs_changed();
	return 0;
}

void
oce_root_close(struct oce_root *r)
{
	if (r->fd >= 0) {
		if (tdc.root == r)
			dc_drop(&tdc);
		r->sys->close(r->sys->ctx, r->fd);
	}
	r->fd = -1;
	oce_fs_changed();
}

int
oce_open_beneath(const struct oce_root *r, const char *rel, int flags, mode_t mode)
{
	int rc = rel_confinable(rel);

	if (rc < 0)
		return rc;
	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (r->use_openat2)
		return openat2_beneath(r->fd, rel, flags, mode);
	return walk_beneath(r, rel, flags, mode);
}

int
oce_open_parent(const struct oce_root *r, const char *rel, const char **leaf)
{
	const char *slash, *name;
	char buf[PATH_MAX];
	size_t len;
	int rc = rel_confinable(rel);

	if (rc < 0)
		return rc;
	len = strlen(rel);
	if (!len || rel[len - 1] == '/')
		return -EINVAL;
	slash = strrchr(rel, '/');
	name = slash ? slash + 1 : rel;
	if (name[0] == '.' && !name[1])
		return -EINVAL;
	if (slash) {
		memcpy(buf, rel, (size_t)(slash - rel));
		buf[slash - rel] = '\0';
	} else {
		buf[0] = '\0';
	}
	rc = oce_open_beneath(r, buf, O_PATH | O_DIRECTORY, 0);
	if (rc >= 0)
		*leaf = name;
	return rc;
}

int
oce_lstat_beneath(const struct oce_root *r, const char *rel, struct stat *st)
{
	char buf[PATH_MAX];
	const char *leaf;
	int dfd, rc;

	rc = parent_of(r, rel, buf, &leaf, &dfd);
	if (rc < 0)
		return rc;
	rc = r->sys->fstatat(r->sys->ctx, dfd, leaf, st, AT_SYMLINK_NOFOLLOW) < 0 ? neg_errno() : 0;
	parent_done(r, dfd);
	return rc;
}

ssize_t
oce_readlink_beneath(const struct oce_root *r, const char *rel, char *buf, size_t len)
{
	char pbuf[PATH_MAX];
	const char *leaf;
	ssize_t n;
	int dfd, rc;

	if (!len)
		return -ENAMETOOLONG;
	rc = parent_of(r, rel, pbuf, &leaf, &dfd);
	if (rc < 0)
		return rc;
	n = r->sys->readlinkat(r->sys->ctx, dfd, leaf, buf, len);
	if (n < 0)
		n = neg_errno();
	else if ((size_t)n >= len)
		n = -ENAMETOOLONG; /* readlink truncates silently */
	else
		buf[n] = '\0';
	parent_done(r, dfd);
	return n;
}

/* --- temporary files -------------------------------------------------------- */

/*
 * Build the name as upstream get_tmpname() does for a name of NAME_MAX bytes
 * at most (the *at calls here never need the directory in the same
 * buffer). Returns where the ".XXXXXX" suffix starts.
 */
static char *
tmpname_build(char *out, const char *leaf, bool in_tmpdir)
{
	/* Upstream keeps the -1 for the leading dot even in a tmpdir. */
	const size_t maxname = NAME_MAX - 1 - OCE_TMP_SUFFIX_LEN;
	const char *f = leaf;
	size_t len = 0, added;
	char *suf;

	if (!in_tmpdir) {
		/* A dot file would otherwise get two leading dots. */
		if (*f == '.')
			f++;
		out[len++] = '.';
	}
	added = strnlen(f, maxname - 1);
	memcpy(out + len, f, added);
	suf = out + len + added;
	/* A cut that lands inside a multi-byte character drops its start too. */
	if ((unsigned char)f[added] & 0x80) {
		while (suf > out && ((unsigned char)suf[-1] & 0x80))
			suf--;
	}
	if (suf > out && suf[-1] == '.')
		suf--;
	memcpy(suf, OCE_TMP_SUFFIX, OCE_TMP_SUFFIX_LEN + 1);
	return suf;
}

/*
 * Six characters of mkstemp's alphabet, from a per-thread generator seeded
 * once from getrandom() (a getrandom() per temp file was one more system
 * call per received file). Guessable names are harmless: O_EXCL keeps a
 * planted file from being used, and a clash only costs a retry. Without
 * getrandom() (seccomp, very early boot) the seed comes from the clock,
 * pid and thread.
 */
static void
tmpname_fill(char *x, unsigned attempt)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static _Thread_local uint64_t state;
	static _Thread_local bool seeded;
	uint64_t v;
	int i;

	if (!seeded) {
		if (getrandom(&state, sizeof state, GRND_NONBLOCK) != (ssize_t)sizeof state) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			state = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
				((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)&state;
		}
		seeded = true;
	}
	/* splitmix64 */
	state += 0x9e3779b97f4a7c15u + attempt;
	v = state;
	v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9u;
	v = (v ^ (v >> 27)) * 0x94d049bb133111ebu;
	v ^= v >> 31;
	for (i = 0; i < 6; i++, v >>= 8)
		x[i] = alphabet[(v & 0xff) % (sizeof alphabet - 1)];
}

void (*oce_fs_tmp_hook)(int dirfd, const char *name);
void (*oce_fs_tmp_done_hook)(bool made);
static _Thread_local bool track_tmp;

void
oce_fs_track_tmp(bool on)
{
	track_tmp = on;
}

static int tmpfile_in(const struct oce_root *r, const char *rel, int tmpdir_fd, int *dirfd, int *fd,
		      char *tmpname, bool borrow);

int
oce_tmpfile(const struct oce_root *r, const char *rel, int tmpdir_fd, int *dirfd, int *fd,
	    char *tmpname)
{
	return tmpfile_in(r, rel, tmpdir_fd, dirfd, fd, tmpname, false);
}

int
oce_tmpfile_borrow(const struct oce_root *r, const char *rel, int tmpdir_fd, int *dirfd, int *fd,
		   char *tmpname)
{
	return tmpfile_in(r, rel, tmpdir_fd, dirfd, fd, tmpname, true);
}

void
oce_dirfd_release(const struct oce_root *r, int dirfd)
{
	if (dirfd < 0 || dirfd == r->fd)
		return;
	if (dirfd == tdc.fd && tdc.busy)
		tdc.busy--;
	else
		close(dirfd);
}

static int
tmpfile_in(const struct oce_root *r, const char *rel, int tmpdir_fd, int *dirfd, int *fd,
	   char *tmpname, bool borrow)
{
	const struct oce_fs_sys *sys = r->sys;
	char buf[PATH_MAX];
	const char *leaf;
	char *suf;
	int dfd, rc, f = -1;
	unsigned i;

	*dirfd = -1;
	*fd = -1;
	/* A temp dir needs only the leaf's name; rel's directory may not exist. */
	if (tmpdir_fd >= 0) {
		rc = split_leaf(rel, buf, &leaf);
		dfd = r->fd;
	} else {
		rc = parent_of(r, rel, buf, &leaf, &dfd);
	}
	if (rc < 0)
		return rc;
	if (leaf[0] == '.' && !leaf[1]) {
		parent_done(r, dfd);
		return -EINVAL;
	}
	/*
	 * The caller owns *dirfd, so a borrowed directory is duplicated;
	 * unless it borrows too (oce_tmpfile_borrow()): the root itself, or
	 * this thread's cached parent, held busy until oce_dirfd_release().
	 */
	if (borrow && tmpdir_fd < 0 && (dfd == r->fd || dfd == tdc.fd)) {
		/* kept as it is */
	} else if (dfd == r->fd) {
		int base = tmpdir_fd >= 0 ? tmpdir_fd : r->fd;

		dfd = sys->openat(sys->ctx, base, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (dfd < 0)
			return neg_errno();
	} else if (dfd == tdc.fd) {
		int own = fcntl(dfd, F_DUPFD_CLOEXEC, 0);

		parent_done(r, dfd);
		if (own < 0)
			return neg_errno();
		dfd = own;
	}
	suf = tmpname_build(tmpname, leaf, tmpdir_fd >= 0);
	for (i = 0; i < OCE_TMP_TRIES; i++) {
		tmpname_fill(suf + 1, i);
		if (track_tmp && oce_fs_tmp_hook)
			oce_fs_tmp_hook(dfd, tmpname);
		f = sys->openat(sys->ctx, dfd, tmpname,
				O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (track_tmp && oce_fs_tmp_done_hook) {
			int e = errno;

			oce_fs_tmp_done_hook(f >= 0);
			errno = e;
		}
		if (f >= 0 || errno != EEXIST)
			break;
	}
	if (f < 0) {
		rc = neg_errno();
		if (borrow)
			oce_dirfd_release(r, dfd);
		else
			close_keep_errno(sys, dfd);
		return rc;
	}
	*dirfd = dfd;
	*fd = f;
	return 0;
}

int
oce_commit(const struct oce_root *r, int tmp_dirfd, const char *tmpname, const char *rel)
{
	char buf[PATH_MAX];
	const char *leaf;
	int dfd, rc;

	rc = parent_of(r, rel, buf, &leaf, &dfd);
	if (rc < 0)
		return rc;
	if (r->sys->renameat(r->sys->ctx, tmp_dirfd, tmpname, dfd, leaf) < 0)
		rc = neg_errno();
	parent_done(r, dfd);
	return rc;
}

/* --- writing -------------------------------------------------------------------- */

int
oce_write_all(const struct oce_fs_sys *sys, int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = sys->write(sys->ctx, fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		/* No progress on a non-empty write would loop forever. */
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
pwrite_all(const struct oce_fs_sys *sys, int fd, const char *p, size_t len, off_t off)
{
	while (len) {
		ssize_t n = sys->pwrite(sys->ctx, fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

void
oce_sparse_init(struct oce_sparse *w, const struct oce_fs_sys *sys, int fd, bool sparse)
{
	w->sys = sys ? sys : &oce_fs_sys_default;
	w->fd = fd;
	w->off = 0;
	w->sparse = sparse;
	w->inplace = false;
	w->old_len = w->hole = w->hole_len = 0;
}

void
oce_sparse_inplace(struct oce_sparse *w, off_t old_len)
{
	w->inplace = true;
	w->old_len = old_len;
}

/* Zero [off, off + len) of a file that may have data there (upstream do_punch_hole()). */
static int
punch_hole(struct oce_sparse *w, off_t off, off_t len)
{
	static const char zeros[4096];

	if (fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0 ||
	    fallocate(w->fd, FALLOC_FL_ZERO_RANGE, off, len) == 0)
		return 0;
	while (len > 0) {
		size_t n = len > (off_t)sizeof(zeros) ? sizeof(zeros) : (size_t)len;
		int rc = pwrite_all(w->sys, w->fd, zeros, n, off);

		if (rc < 0)
			return rc;
		off += (off_t)n;
		len -= (off_t)n;
	}
	return 0;
}

/* In place: a zero run at off, held back until data follows. */
static void
hold_hole(struct oce_sparse *w, off_t off, size_t len)
{
	if (!len)
		return;
	if (!w->hole_len)
		w->hole = off;
	w->hole_len += (off_t)len;
}

/* In place: the held run becomes a hole (punched where old data may be), then
 * buf goes to off, written or (write false) already there. */
static int
put_span(struct oce_sparse *w, off_t off, const char *buf, size_t len, bool write)
{
	if (w->hole_len) {
		int rc = w->hole < w->old_len ? punch_hole(w, w->hole, w->hole_len) : 0;

		w->hole_len = 0;
		if (rc < 0)
			return rc;
	}
	return write ? pwrite_all(w->sys, w->fd, buf, len, off) : 0;
}

/* oce_sparse_write() and oce_sparse_skip() in place with sparse: the same
 * hole rules as a fresh file. */
static int
sparse_inplace(struct oce_sparse *w, const char *p, size_t len, bool write)
{
	size_t i = 0, start, end = len;
	int rc;

	while (i < len && !p[i])
		i++;
	while (end > i && !p[end - 1])
		end--;
	hold_hole(w, w->off, i);
	start = i;
	while (i < end) {
		size_t z = 1;

		if (p[i]) {
			i++;
			continue;
		}
		while (i + z < end && !p[i + z])
			z++;
		if (z >= OCE_SPARSE_MIN_HOLE) {
			rc = put_span(w, w->off + (off_t)start, p + start, i - start, write);
			if (rc < 0)
				return rc;
			hold_hole(w, w->off + (off_t)i, z);
			start = i + z;
		}
		i += z;
	}
	if (end > start) {
		rc = put_span(w, w->off + (off_t)start, p + start, end - start, write);
		if (rc < 0)
			return rc;
	}
	hold_hole(w, w->off + (off_t)end, len - end);
	w->off += (off_t)len;
	return 0;
}

int
oce_sparse_skip(struct oce_sparse *w, const void *buf, size_t len)
{
	if (w->sparse && w->inplace)
		return sparse_inplace(w, buf, len, false);
	w->off += (off_t)len;
	return 0;
}

/*
 * Upstream write_sparse(): leading and trailing zero runs of any length are
 * holes (they may join holes in the neighbouring calls), interior runs only
 * from OCE_SPARSE_MIN_HOLE bytes on; everything between is written in one go.
 */
int
oce_sparse_write(struct oce_sparse *w, const void *buf, size_t len)
{
	const char *p = buf;
	size_t i = 0, start, end = len;
	int rc;

	if (!w->sparse) {
		rc = pwrite_all(w->sys, w->fd, p, len, w->off);
		if (rc == 0)
			w->off += (off_t)len;
		return rc;
	}
	if (w->inplace)
		return sparse_inplace(w, p, len, true);
	while (i < len && !p[i])
		i++;
	while (end > i && !p[end - 1])
		end--;
	start = i;
	while (i < end) {
		size_t z = 1;

		if (p[i]) {
			i++;
			continue;
		}
		while (i + z < end && !p[i + z])
			z++;
		if (z >= OCE_SPARSE_MIN_HOLE) {
			rc = pwrite_all(w->sys, w->fd, p + start, i - start, w->off + (off_t)start);
			if (rc < 0)
				return rc;
			start = i + z;
		}
		i += z;
	}
	if (end > start) {
		rc = pwrite_all(w->sys, w->fd, p + start, end - start, w->off + (off_t)start);
		if (rc < 0)
			return rc;
	}
	w->off += (off_t)len;
	return 0;
}

int
oce_sparse_finish(struct oce_sparse *w)
{
	if (!w->sparse)
		return 0;
	if (w->inplace && w->hole_len) {
		/* Upstream sparse_end() in place: a trailing run is punched out whatever the old length. */
		int rc = punch_hole(w, w->hole, w->hole_len);

		w->hole_len = 0;
		if (rc < 0)
			return rc;
	}
	if (w->sys->ftruncate(w->sys->ctx, w->fd, w->off) < 0)
		return neg_errno();
	return 0;
}

/* --- attributes ---------------------------------------------------------------- */

static bool
ts_equal(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

int
oce_set_meta_at(const struct oce_fs_sys *sys, int dirfd, const char *name, const struct stat *cur,
		const struct oce_meta *m)
{
	return oce_set_meta_at_ex(sys, dirfd, name, cur, m, NULL);
}

/*
 * oce_set_meta_at_ex() on name in dirfd, or with name NULL on the open
 * file dirfd itself (the table's path-NULL calls: fstat, fchown, futimens,
 * fchmod; no lookup, and never a symlink, as only regular files are opened).
 */
static int
set_meta(const struct oce_fs_sys *sys, int dirfd, const char *name, const struct stat *cur,
	 const struct oce_meta *m, enum oce_meta_step *step)
{
	struct stat st;
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
	bool new_uid, new_gid;
	enum oce_meta_step dummy;

	if (!step)
		step = &dummy;
	*step = OCE_META_STAT;
	if (!sys)
		sys = &oce_fs_sys_default;
	if (cur)
		st = *cur;
	else if (sys->fstatat(sys->ctx, dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return neg_errno();

	new_uid = m->set_owner && st.st_uid != m->uid;
	new_gid = m->set_group && st.st_gid != m->gid;
	if (new_uid || new_gid) {
		uid_t u = new_uid ? m->uid : (uid_t)-1;
		gid_t g = new_gid ? m->gid : (gid_t)-1;

		*step = new_uid ? OCE_META_CHOWN : OCE_META_CHGRP;
		if (sys->fchownat(sys->ctx, dirfd, name, u, g, AT_SYMLINK_NOFOLLOW) < 0)
			return neg_errno();
		/* The kernel clears setuid/setgid on chown; re-read so the mode
		 * comparison below sees that and puts them back. */
		if ((st.st_mode & (S_ISUID | S_ISGID)) &&
		    sys->fstatat(sys->ctx, dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return neg_errno();
	}

	if (m->set_mtime && !ts_equal(&st.st_mtim, &m->mtime))
		ts[1] = m->mtime;
	if (m->set_atime && !ts_equal(&st.st_atim, &m->atime))
		ts[0] = m->atime;
	*step = OCE_META_TIMES;
	if ((ts[0].tv_nsec != UTIME_OMIT || ts[1].tv_nsec != UTIME_OMIT) &&
	    sys->utimensat(sys->ctx, dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return neg_errno();

	/* A symlink's own mode means nothing on Linux, and chmod on its path
	 * would change the target. */
	*step = OCE_META_PERMS;
	if (m->set_perms && !S_ISLNK(st.st_mode) && (st.st_mode & 07777) != (m->mode & 07777)) {
		int rc = sys->fchmodat(sys->ctx, dirfd, name, m->mode & 07777, AT_SYMLINK_NOFOLLOW);

		/* Only without both fchmodat2 and /proc: the leaf was a
		 * non-link when stat'ed, so take the plain call. */
		if (rc < 0 && name && (errno == EOPNOTSUPP || errno == ENOTSUP))
			rc = sys->fchmodat(sys->ctx, dirfd, name, m->mode & 07777, 0);
		if (rc < 0)
			return neg_errno();
	}
	*step = OCE_META_NONE;
	return 0;
}

int
oce_set_meta_at_ex(const struct oce_fs_sys *sys, int dirfd, const char *name, const struct stat *cur,
		   const struct oce_meta *m, enum oce_meta_step *step)
{
	return set_meta(sys, dirfd, name, cur, m, step);
}

int
oce_set_meta_fd(const struct oce_fs_sys *sys, int fd, const struct stat *cur, const struct oce_meta *m,
		enum oce_meta_step *step)
{
	return set_meta(sys, fd, NULL, cur, m, step);
}

int
oce_set_meta(const struct oce_root *r, const char *rel, const struct stat *cur,
	     const struct oce_meta *m)
{
	return oce_set_meta_ex(r, rel, cur, m, NULL);
}

int
oce_set_meta_ex(const struct oce_root *r, const char *rel, const struct stat *cur,
		const struct oce_meta *m, enum oce_meta_step *step)
{
	char buf[PATH_MAX];
	const char *leaf;
	int dfd, rc;

	if (step)
		*step = OCE_META_STAT;
	rc = parent_of(r, rel, buf, &leaf, &dfd);
	if (rc < 0)
		return rc;
	rc = oce_set_meta_at_ex(r->sys, dfd, leaf, cur, m, step);
	parent_done(r, dfd);
	return rc;
}

/* --- creating and removing ------------------------------------------------------ */

int
oce_mkdir_beneath(const struct oce_root *r, const char *rel, mode_t mode)
{
	char buf[PATH_MAX];
	const char *leaf;
	int dfd, rc;

	rc = parent_of(r, rel, buf, &leaf, &dfd);
	if (rc < 0)
		return rc;
	if (r->sys->mkdirat(r->sys->ctx, dfd, leaf, mode & 07777) < 0)
		rc = neg_errno();
	parent_done(r, dfd);
	return rc;
}

int
oce_mkpath_beneath(const struct oce_root *r, const char *rel)
{
	char path[PATH_MAX];
	size_t len = strlen(rel);
	struct stat st;
	char *last;
	int made = 0, rc = 0;

	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, rel, len + 1);
	last = strrchr(path, '/');
	if (!last || last == path)
		return 0;
	*last = '\0';
	if (oce_lstat_beneath(r, path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	*last = '/';
	for (char *p = path + 1; !rc && (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		rc = oce_mkdir_beneath(r, path, 0777);
		if (!rc)
			made++;
		else if (rc == -EEXIST && oce_lstat_beneath(r, path, &st) == 0)
			rc = S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
		*p = '/';
	}
	return rc ? rc : made;
}

int
oce_symlink_beneath(const struct oce_root *r, const char *target, const char *rel)
{
	char buf[PATH_MAX];
	const char *leaf;
	int dfd, rc;

	rc = parent_of(r, rel, buf, &leaf, &dfd);
	if (rc < 0)
		return rc;
	if (r->sys->symlinkat(r->sys->ctx, target, dfd, leaf) < 0)
		rc = neg_errno();
	parent_done(r, dfd);
	return rc;
}

int
oce_link_beneath(const struct oce_root *r, const char *old_rel, const char *new_rel)
{
	char obuf[PATH_MAX], nbuf[PATH_MAX];
	const char *oleaf, *nleaf;
	int odfd, ndfd, rc;

	rc = parent_of(r, old_rel, obuf, &oleaf, &odfd);
	if (rc < 0)
		return rc;
	rc = parent_of(r, new_rel, nbuf, &nleaf, &ndfd);
	if (rc < 0) {
		parent_done(r, odfd);
		return rc;
	}
	/* flags 0: a symlink old_rel is linked itself, never followed. */
	if (r->sys->linkat(r->sys->ctx, odfd, oleaf, ndfd, nleaf, 0) < 0)
		rc = neg_errno();
	parent_done(r, ndfd);
	parent_done(r, odfd);
	return rc;
}

int
oce_mknod_beneath(const struct oce_root *r, const char *rel, mode_t mode, dev_t dev)
{
	char buf[PATH_MAX];
	const char *leaf;
	int dfd, rc;

	rc = parent_of(r, rel, buf, &leaf, &dfd);
	if (rc < 0)
		return rc;
	if (r->sys->mknodat(r->sys->ctx, dfd, leaf, mode, dev) < 0)
		rc = neg_errno();
	parent_done(r, dfd);
	return rc;
}

/*
 * Empty and remove directory name in dfd. Each level holds one open
 * directory, so depth is bounded by the descriptor limit (EMFILE), not the
 * stack. Keeps going after a failure so as much as possible is removed, as
 * upstream delete.c delete_dir_contents() does, and returns the first error.
 */
static int
remove_tree_at(const struct oce_fs_sys *sys, int dfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = sys->openat(sys->ctx, dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return neg_errno();
	d = fdopendir(fd);
	if (!d) {
		rc = neg_errno();
		sys->close(sys->ctx, fd);
		return rc;
	}
	while ((errno = 0, de = readdir(d))) {
		const char *n = de->d_name;
		bool is_dir = de->d_type == DT_DIR;
		int sub = 0;

		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;

			if (sys->fstatat(sys->ctx, fd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
				sub = neg_errno();
			is_dir = !sub && S_ISDIR(st.st_mode);
		}
		if (!sub && is_dir)
			sub = remove_tree_at(sys, fd, n);
		else if (!sub && sys->unlinkat(sys->ctx, fd, n, 0) < 0)
			sub = neg_errno();
		if (sub < 0 && sub != -ENOENT && !rc)
			rc = sub;
	}
	if (errno && !rc)
		rc = neg_errno();
	closedir(d);
	if (sys->unlinkat(sys->ctx, dfd, name, AT_REMOVEDIR) < 0 && !rc)
		rc = neg_errno();
	return rc;
}

int
oce_unlink_beneath(const struct oce_root *r, const char *rel, bool recursive)
{
	const struct oce_fs_sys *sys = r->sys;
	char buf[PATH_MAX];
	const char *leaf;
	struct stat st;
	int dfd, rc;

	rc = parent_of(r, rel, buf, &leaf, &dfd);
	if (rc < 0)
		return rc;
	if (leaf[0] == '.' && !leaf[1]) {
		rc = -EINVAL; /* the root itself is never removed */
	} else if (sys->fstatat(sys->ctx, dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = neg_errno();
	} else if (!S_ISDIR(st.st_mode)) {
		if (sys->unlinkat(sys->ctx, dfd, leaf, 0) < 0)
			rc = neg_errno();
	} else if (recursive) {
		rc = remove_tree_at(sys, dfd, leaf);
	} else if (sys->unlinkat(sys->ctx, dfd, leaf, AT_REMOVEDIR) < 0) {
		rc = neg_errno();
	}
	parent_done(r, dfd);
	/* A directory may be gone now: no cached descriptor may stand for it. */
	oce_fs_changed();
	return rc;
}

/* --- source side ------------------------------------------------------------------ */

int
oce_open_source(const struct oce_fs_sys *sys, int dirfd, const char *path,
		const struct stat *expect)
{
	struct stat st;

	return oce_open_source_st(sys, dirfd, path, expect, &st);
}

int
oce_open_source_st(const struct oce_fs_sys *sys, int dirfd, const char *path,
		   const struct stat *expect, struct stat *out)
{
	struct stat st;
	int fd, rc;

	if (!sys)
		sys = &oce_fs_sys_default;
	fd = sys->openat(sys->ctx, dirfd, path,
			 O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return neg_errno();
	if (sys->fstatat(sys->ctx, fd, "", &st, AT_EMPTY_PATH) < 0) {
		rc = neg_errno();
		goto fail;
	}
	if (!S_ISREG(st.st_mode) ||
	    (expect && (st.st_dev != expect->st_dev || st.st_ino != expect->st_ino))) {
		rc = -ESTALE;
		goto fail;
	}
	/*
	 * O_NONBLOCK was only there so that a FIFO put in the file's place
	 * cannot block the open; a regular file ignores it (open(2)), so it
	 * stays set: two system calls fewer per file sent.
	 */
	*out = st;
	return fd;
fail:
	sys->close(sys->ctx, fd);
	return rc;
}

/* --- peer names ------------------------------------------------------------------- */

int
oce_path_check(const char *rel)
{
	const char *p = rel;

	if (!rel || !*rel || *rel == '/' || strlen(rel) >= PATH_MAX)
		return -EINVAL;
	if (rel[0] == '.' && !rel[1])
		return 0;
	while (*p) {
		const char *q = strchrnul(p, '/');
		size_t n = (size_t)(q - p);

		/* Upstream clean_fname() leaves no "." or empty components, so
		 * one from the peer is malformed, not merely odd. */
		if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		p = *q ? q + 1 : q;
	}
	return 0;
}
