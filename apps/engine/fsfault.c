/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fault injection for tests: OC_RSYNC_FAULT makes chosen calls of the
 * receiving side's system call table (struct oce_fs_sys) fail, so a test
 * can check what a full disk, a dying disk or a refused rename does to the
 * destination and to the exit code. Always compiled in; without the
 * variable oce_fs_sys_active() is oce_fs_sys_default itself, and nothing
 * here runs after the first look at the environment.
 *
 *   OC_RSYNC_FAULT=RULE[,RULE...]
 *   RULE = CALL:ERR[:after=N][:times=M][:path=TEXT]
 *
 * CALL is a slot of the table (openat, write, pwrite, read, pread, close,
 * renameat, unlinkat, mkdirat, symlinkat, linkat, mknodat, fchownat,
 * fchmodat, utimensat, ftruncate, fsync, fstatat, readlinkat); "write" also covers
 * pwrite and "read" pread, since received data goes out with pwrite where
 * upstream uses write; fchownat, fchmodat, utimensat and fstatat also cover
 * their forms on an open file (fchown, fchmod, futimens, fstat), which a
 * temp file's attributes are set with before it is closed. ERR is an errno name (ENOSPC, EIO, ...) or number,
 * or "short": write and read then move half the bytes asked for (at least
 * one), which the engine must loop over. after=N lets the first N matching
 * calls through, times=M fails M calls and then lets the rest through
 * (default: every call from then on). path=TEXT only matches calls whose
 * path (for descriptors, the file they are open on, from /proc/self/fd)
 * contains TEXT. A rule that does not parse ends the program with exit 1,
 * so a mistyped test cannot pass by injecting nothing.
 *
 * Counters are atomic: the generator and receiver threads share the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/fs.h"

enum fcall {
	F_OPENAT,
	F_WRITE,
	F_READ,
	F_CLOSE,
	F_RENAMEAT,
	F_UNLINKAT,
	F_MKDIRAT,
	F_SYMLINKAT,
	F_LINKAT,
	F_MKNODAT,
	F_FCHOWNAT,
	F_FCHMODAT,
	F_UTIMENSAT,
	F_FTRUNCATE,
	F_FSYNC,
	F_FSTATAT,
	F_READLINKAT,
	F_NCALLS
};

static const char *const call_names[] = {
    [F_OPENAT] = "openat",	 [F_WRITE] = "write",	    [F_READ] = "read",
    [F_CLOSE] = "close",	 [F_RENAMEAT] = "renameat", [F_UNLINKAT] = "unlinkat",
    [F_MKDIRAT] = "mkdirat",	 [F_SYMLINKAT] = "symlinkat", [F_LINKAT] = "linkat",
    [F_MKNODAT] = "mknodat",	 [F_FCHOWNAT] = "fchownat", [F_FCHMODAT] = "fchmodat",
    [F_UTIMENSAT] = "utimensat", [F_FTRUNCATE] = "ftruncate", [F_FSYNC] = "fsync",
    [F_FSTATAT] = "fstatat",
    [F_READLINKAT] = "readlinkat",
};

static const struct {
	const char *name;
	int err;
} errno_names[] = {
    {"ENOSPC", ENOSPC}, {"EIO", EIO},	  {"EDQUOT", EDQUOT}, {"EFBIG", EFBIG},
    {"EXDEV", EXDEV},	{"EMFILE", EMFILE}, {"ENFILE", ENFILE}, {"EACCES", EACCES},
    {"EPERM", EPERM},	{"EROFS", EROFS}, {"ENOENT", ENOENT}, {"EINTR", EINTR},
    {"EAGAIN", EAGAIN}, {"ENOMEM", ENOMEM}, {"EBUSY", EBUSY}, {"ETXTBSY", ETXTBSY},
    {"ENOTDIR", ENOTDIR}, {"EISDIR", EISDIR}, {"EEXIST", EEXIST}, {"ELOOP", ELOOP},
};

#define FAULT_SHORT	(-1) /* err: move half the bytes */
#define FAULT_MAX_RULES 8

struct fault_rule {
	enum fcall call;
	int err;
	unsigned long after, times; /* times 0: no limit */
	char path[PATH_MAX];
	atomic_ulong seen;
};

static struct fault_rule rules[FAULT_MAX_RULES];
static int nrules;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;
static const struct oce_fs_sys *active = &oce_fs_sys_default;
static const struct oce_fs_sys fault_sys;

static void
bad_spec(const char *spec, const char *why)
{
	fprintf(stderr, "%s: bad OC_RSYNC_FAULT \"%s\": %s\n", OCE_PROG, spec, why);
	exit(RERR_SYNTAX);
}

static int
parse_err(const char *s)
{
	char *end;
	long v;

	if (!strcmp(s, "short"))
		return FAULT_SHORT;
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (!strcmp(s, errno_names[i].name))
			return errno_names[i].err;
	v = strtol(s, &end, 10);
	return *s && !*end && v > 0 && v < 4096 ? (int)v : 0;
}

/* One RULE, in place (rule is cut at its ':'s). */
static void
parse_rule(const char *spec, char *rule)
{
	struct fault_rule *fr;
	char *save = NULL, *tok;
	int i;

	if (nrules == FAULT_MAX_RULES)
		bad_spec(spec, "too many rules");
	fr = &rules[nrules];
	tok = strtok_r(rule, ":", &save);
	for (i = 0; i < F_NCALLS; i++)
		if (tok && !strcmp(tok, call_names[i]))
			break;
	/* pwrite and pread are spelled as the table spells them too. */
	if (tok && !strcmp(tok, "pwrite"))
		i = F_WRITE;
	else if (tok && !strcmp(tok, "pread"))
		i = F_READ;
	if (i == F_NCALLS)
		bad_spec(spec, "unknown call");
	fr->call = (enum fcall)i;
	tok = strtok_r(NULL, ":", &save);
	fr->err = tok ? parse_err(tok) : 0;
	if (!fr->err)
		bad_spec(spec, "unknown error");
	if (fr->err == FAULT_SHORT && fr->call != F_WRITE && fr->call != F_READ)
		bad_spec(spec, "short is for write and read");
	while ((tok = strtok_r(NULL, ":", &save))) {
		char *end;

		if (!strncmp(tok, "after=", 6)) {
			fr->after = strtoul(tok + 6, &end, 10);
		} else if (!strncmp(tok, "times=", 6)) {
			fr->times = strtoul(tok + 6, &end, 10);
		} else if (!strncmp(tok, "path=", 5) && strlen(tok + 5) < sizeof(fr->path)) {
			strcpy(fr->path, tok + 5);
			end = tok + strlen(tok);
		} else {
			bad_spec(spec, "unknown qualifier");
			return;
		}
		if (*end || end == tok + 6)
			bad_spec(spec, "bad number");
	}
	nrules++;
}

static void
fault_init(void)
{
	const char *spec = getenv("OC_RSYNC_FAULT");
	char *copy, *save = NULL, *rule;

	if (!spec || !*spec)
		return;
	copy = strdup(spec);
	if (!copy)
		bad_spec(spec, "out of memory");
	for (rule = strtok_r(copy, ",", &save); rule; rule = strtok_r(NULL, ",", &save))
		parse_rule(spec, rule);
	free(copy);
	if (nrules)
		active = &fault_sys;
}

const struct oce_fs_sys *
oce_fs_sys_active(void)
{
	pthread_once(&fault_once, fault_init);
	return active;
}

/* The file fd is open on, for path= rules. */
static bool
fd_path_has(int fd, const char *text)
{
	char link[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

/*
 * Whether this call fails, and how (*err). p1 and p2 are the paths it
 * names, or fd the descriptor it works on (-1: none).
 */
static bool
hit(enum fcall call, const char *p1, const char *p2, int fd, int *err)
{
	for (int i = 0; i < nrules; i++) {
		struct fault_rule *fr = &rules[i];
		unsigned long n;

		if (fr->call != call)
			continue;
		if (fr->path[0] && !((p1 && strstr(p1, fr->path)) || (p2 && strstr(p2, fr->path)) ||
				     (fd >= 0 && fd_path_has(fd, fr->path))))
			continue;
		n = atomic_fetch_add_explicit(&fr->seen, 1, memory_order_relaxed);
		if (n < fr->after || (fr->times && n - fr->after >= fr->times))
			continue;
		*err = fr->err;
		return true;
	}
	return false;
}

#define D (&oce_fs_sys_default)
#define FAIL_IF(call, p1, p2, fd)                                                                  \
	do {                                                                                       \
		int e_;                                                                            \
		if (hit(call, p1, p2, fd, &e_)) {                                                  \
			errno = e_;                                                                \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

static int
f_openat(void *ctx, int dirfd, const char *path, int flags, mode_t mode)
{
	FAIL_IF(F_OPENAT, path, NULL, -1);
	return D->openat(ctx, dirfd, path, flags, mode);
}

/* A write or read that fails, or (short) moves half of len. */
static bool
io_hit(enum fcall call, int fd, size_t *len, int *err)
{
	if (!hit(call, NULL, NULL, fd, err))
		return false;
	if (*err != FAULT_SHORT)
		return true;
	if (*len > 1)
		*len /= 2;
	return false;
}

static ssize_t
f_write(void *ctx, int fd, const void *buf, size_t len)
{
	int e;

	if (io_hit(F_WRITE, fd, &len, &e)) {
		errno = e;
		return -1;
	}
	return D->write(ctx, fd, buf, len);
}

static ssize_t
f_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
	int e;

	if (io_hit(F_WRITE, fd, &len, &e)) {
		errno = e;
		return -1;
	}
	return D->pwrite(ctx, fd, buf, len, off);
}

static ssize_t
f_read(void *ctx, int fd, void *buf, size_t len)
{
	int e;

	if (io_hit(F_READ, fd, &len, &e)) {
		errno = e;
		return -1;
	}
	return D->read(ctx, fd, buf, len);
}

static ssize_t
f_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
	int e;

	if (io_hit(F_READ, fd, &len, &e)) {
		errno = e;
		return -1;
	}
	return D->pread(ctx, fd, buf, len, off);
}

static int
f_close(void *ctx, int fd)
{
	int e;

	/* close(2) releases the descriptor even when it reports an error. */
	if (hit(F_CLOSE, NULL, NULL, fd, &e)) {
		D->close(ctx, fd);
		errno = e;
		return -1;
	}
	return D->close(ctx, fd);
}

static int
f_renameat(void *ctx, int olddirfd, const char *old, int newdirfd, const char *new)
{
	FAIL_IF(F_RENAMEAT, old, new, -1);
	return D->renameat(ctx, olddirfd, old, newdirfd, new);
}

static int
f_unlinkat(void *ctx, int dirfd, const char *path, int flags)
{
	FAIL_IF(F_UNLINKAT, path, NULL, -1);
	return D->unlinkat(ctx, dirfd, path, flags);
}

static int
f_mkdirat(void *ctx, int dirfd, const char *path, mode_t mode)
{
	FAIL_IF(F_MKDIRAT, path, NULL, -1);
	return D->mkdirat(ctx, dirfd, path, mode);
}

static int
f_symlinkat(void *ctx, const char *target, int dirfd, const char *path)
{
	FAIL_IF(F_SYMLINKAT, path, NULL, -1);
	return D->symlinkat(ctx, target, dirfd, path);
}

static int
f_linkat(void *ctx, int olddirfd, const char *old, int newdirfd, const char *new, int flags)
{
	FAIL_IF(F_LINKAT, old, new, -1);
	return D->linkat(ctx, olddirfd, old, newdirfd, new, flags);
}

static int
f_mknodat(void *ctx, int dirfd, const char *path, mode_t mode, dev_t dev)
{
	FAIL_IF(F_MKNODAT, path, NULL, -1);
	return D->mknodat(ctx, dirfd, path, mode, dev);
}

static int
f_fchownat(void *ctx, int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	FAIL_IF(F_FCHOWNAT, path, NULL, path ? -1 : dirfd);
	return D->fchownat(ctx, dirfd, path, uid, gid, flags);
}

static int
f_fchmodat(void *ctx, int dirfd, const char *path, mode_t mode, int flags)
{
	FAIL_IF(F_FCHMODAT, path, NULL, path ? -1 : dirfd);
	return D->fchmodat(ctx, dirfd, path, mode, flags);
}

static int
f_utimensat(void *ctx, int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	FAIL_IF(F_UTIMENSAT, path, NULL, path ? -1 : dirfd);
	return D->utimensat(ctx, dirfd, path, ts, flags);
}

static int
f_ftruncate(void *ctx, int fd, off_t len)
{
	FAIL_IF(F_FTRUNCATE, NULL, NULL, fd);
	return D->ftruncate(ctx, fd, len);
}

static int
f_fsync(void *ctx, int fd)
{
	FAIL_IF(F_FSYNC, NULL, NULL, fd);
	return D->fsync(ctx, fd);
}

static int
f_fstatat(void *ctx, int dirfd, const char *path, struct stat *st, int flags)
{
	FAIL_IF(F_FSTATAT, path, NULL, path && *path ? -1 : dirfd);
	return D->fstatat(ctx, dirfd, path, st, flags);
}

static ssize_t
f_readlinkat(void *ctx, int dirfd, const char *path, char *buf, size_t len)
{
	FAIL_IF(F_READLINKAT, path, NULL, -1);
	return D->readlinkat(ctx, dirfd, path, buf, len);
}

static const struct oce_fs_sys fault_sys = {
    .openat = f_openat,
    .write = f_write,
    .pwrite = f_pwrite,
    .read = f_read,
    .pread = f_pread,
    .close = f_close,
    .renameat = f_renameat,
    .unlinkat = f_unlinkat,
    .mkdirat = f_mkdirat,
    .symlinkat = f_symlinkat,
    .linkat = f_linkat,
    .mknodat = f_mknodat,
    .fchownat = f_fchownat,
    .fchmodat = f_fchmodat,
    .utimensat = f_utimensat,
    .ftruncate = f_ftruncate,
    .fsync = f_fsync,
    .fstatat = f_fstatat,
    .readlinkat = f_readlinkat,
    .ctx = NULL,
};
