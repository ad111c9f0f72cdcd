/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * LD_PRELOAD shim that gives rsync 3.5.0 the faults OC_RSYNC_FAULT gives
 * oc-rsync (apps/engine/fsfault.c), so fault.bats can compare the two on
 * the same failure. Same grammar: CALL:ERR[:after=N][:times=M][:path=TEXT],
 * comma-separated. A CALL covers every libc entry point rsync uses for it:
 *
 *   write      write() to a regular file (never a pipe or socket)
 *   renameat   rename(), renameat()
 *   openat     open(), openat() with O_CREAT (files rsync creates)
 *   unlinkat   unlink(), unlinkat()
 *   mkdirat    mkdir(), mkdirat()
 *   fchmodat   chmod(), fchmod(), fchmodat()
 *   fchownat   lchown(), fchownat()
 *   utimensat  utimensat()
 *   ftruncate  ftruncate()
 *   fsync      fsync()
 *
 * ERR is an errno name of the list below or a number; "short" is not
 * offered (rsync's own loops are not ours to test). Built by fault.bats:
 *   cc -shared -fPIC -o faultshim.so faultshim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_RULES 8

struct rule {
	char call[16];
	int err;
	unsigned long after, times;
	char path[PATH_MAX];
	atomic_ulong seen;
};

static struct rule rules[MAX_RULES];
static int nrules = -1;

static const struct {
	const char *name;
	int err;
} names[] = {
    {"ENOSPC", ENOSPC}, {"EIO", EIO},	  {"EDQUOT", EDQUOT}, {"EFBIG", EFBIG},
    {"EXDEV", EXDEV},	{"EMFILE", EMFILE}, {"ENFILE", ENFILE}, {"EACCES", EACCES},
    {"EPERM", EPERM},	{"EROFS", EROFS}, {"ENOENT", ENOENT}, {"EINTR", EINTR},
    {"EAGAIN", EAGAIN}, {"ENOMEM", ENOMEM}, {"EBUSY", EBUSY}, {"ETXTBSY", ETXTBSY},
    {"ENOTDIR", ENOTDIR}, {"EISDIR", EISDIR}, {"EEXIST", EEXIST}, {"ELOOP", ELOOP},
};

static void
parse(void)
{
	const char *spec = getenv("OC_RSYNC_FAULT");
	char *copy, *s1 = NULL, *r;

	nrules = 0;
	if (!spec || !(copy = strdup(spec)))
		return;
	for (r = strtok_r(copy, ",", &s1); r && nrules < MAX_RULES; r = strtok_r(NULL, ",", &s1)) {
		struct rule *ru = &rules[nrules];
		char *s2 = NULL, *t = strtok_r(r, ":", &s2);

		if (!t)
			continue;
		snprintf(ru->call, sizeof(ru->call), "%s", t);
		t = strtok_r(NULL, ":", &s2);
		if (!t)
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(t, names[i].name))
				ru->err = names[i].err;
		if (!ru->err)
			ru->err = atoi(t);
		if (ru->err <= 0)
			continue;
		while ((t = strtok_r(NULL, ":", &s2))) {
			if (!strncmp(t, "after=", 6))
				ru->after = strtoul(t + 6, NULL, 10);
			else if (!strncmp(t, "times=", 6))
				ru->times = strtoul(t + 6, NULL, 10);
			else if (!strncmp(t, "path=", 5))
				snprintf(ru->path, sizeof(ru->path), "%s", t + 5);
		}
		nrules++;
	}
	free(copy);
}

static int
fd_has(int fd, const char *text)
{
	char link[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

/* 0, or the errno this call fails with. */
static int
hit(const char *call, const char *p1, const char *p2, int fd)
{
	if (nrules < 0)
		parse();
	for (int i = 0; i < nrules; i++) {
		struct rule *ru = &rules[i];
		unsigned long n;

		if (strcmp(ru->call, call))
			continue;
		if (ru->path[0] && !((p1 && strstr(p1, ru->path)) || (p2 && strstr(p2, ru->path)) ||
				     (fd >= 0 && fd_has(fd, ru->path))))
			continue;
		n = atomic_fetch_add(&ru->seen, 1);
		if (n < ru->after || (ru->times && n - ru->after >= ru->times))
			continue;
		return ru->err;
	}
	return 0;
}

#define REAL(ret, name, ...)                                                                       \
	static ret (*real_##name)(__VA_ARGS__);                                                    \
	if (!real_##name)                                                                          \
		real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

#define FAIL(e)                                                                                    \
	do {                                                                                       \
		errno = (e);                                                                       \
		return -1;                                                                         \
	} while (0)

ssize_t
write(int fd, const void *buf, size_t len)
{
	struct stat st;
	int e;
	REAL(ssize_t, write, int, const void *, size_t);

	if (nrules)
		if (!fstat(fd, &st) && S_ISREG(st.st_mode) && (e = hit("write", NULL, NULL, fd)))
			FAIL(e);
	return real_write(fd, buf, len);
}

int
rename(const char *a, const char *b)
{
	int e;
	REAL(int, rename, const char *, const char *);

	if ((e = hit("renameat", a, b, -1)))
		FAIL(e);
	return real_rename(a, b);
}

int
renameat(int da, const char *a, int db, const char *b)
{
	int e;
	REAL(int, renameat, int, const char *, int, const char *);

	if ((e = hit("renameat", a, b, -1)))
		FAIL(e);
	return real_renameat(da, a, db, b);
}

int
open(const char *p, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int e;
	REAL(int, open, const char *, int, ...);

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if ((flags & O_CREAT) && (e = hit("openat", p, NULL, -1)))
		FAIL(e);
	return real_open(p, flags, mode);
}

int
openat(int d, const char *p, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int e;
	REAL(int, openat, int, const char *, int, ...);

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if ((flags & O_CREAT) && (e = hit("openat", p, NULL, -1)))
		FAIL(e);
	return real_openat(d, p, flags, mode);
}

int
unlink(const char *p)
{
	int e;
	REAL(int, unlink, const char *);

	if ((e = hit("unlinkat", p, NULL, -1)))
		FAIL(e);
	return real_unlink(p);
}

int
unlinkat(int d, const char *p, int flags)
{
	int e;
	REAL(int, unlinkat, int, const char *, int);

	if ((e = hit("unlinkat", p, NULL, -1)))
		FAIL(e);
	return real_unlinkat(d, p, flags);
}

int
mkdir(const char *p, mode_t m)
{
	int e;
	REAL(int, mkdir, const char *, mode_t);

	if ((e = hit("mkdirat", p, NULL, -1)))
		FAIL(e);
	return real_mkdir(p, m);
}

int
mkdirat(int d, const char *p, mode_t m)
{
	int e;
	REAL(int, mkdirat, int, const char *, mode_t);

	if ((e = hit("mkdirat", p, NULL, -1)))
		FAIL(e);
	return real_mkdirat(d, p, m);
}

int
chmod(const char *p, mode_t m)
{
	int e;
	REAL(int, chmod, const char *, mode_t);

	if ((e = hit("fchmodat", p, NULL, -1)))
		FAIL(e);
	return real_chmod(p, m);
}

int
fchmod(int fd, mode_t m)
{
	int e;
	REAL(int, fchmod, int, mode_t);

	if ((e = hit("fchmodat", NULL, NULL, fd)))
		FAIL(e);
	return real_fchmod(fd, m);
}

int
fchmodat(int d, const char *p, mode_t m, int flags)
{
	int e;
	REAL(int, fchmodat, int, const char *, mode_t, int);

	if ((e = hit("fchmodat", p, NULL, -1)))
		FAIL(e);
	return real_fchmodat(d, p, m, flags);
}

int
lchown(const char *p, uid_t u, gid_t g)
{
	int e;
	REAL(int, lchown, const char *, uid_t, gid_t);

	if ((e = hit("fchownat", p, NULL, -1)))
		FAIL(e);
	return real_lchown(p, u, g);
}

int
fchownat(int d, const char *p, uid_t u, gid_t g, int flags)
{
	int e;
	REAL(int, fchownat, int, const char *, uid_t, gid_t, int);

	if ((e = hit("fchownat", p, NULL, -1)))
		FAIL(e);
	return real_fchownat(d, p, u, g, flags);
}

int
utimensat(int d, const char *p, const struct timespec ts[2], int flags)
{
	int e;
	REAL(int, utimensat, int, const char *, const struct timespec *, int);

	if ((e = hit("utimensat", p, NULL, p ? -1 : d)))
		FAIL(e);
	return real_utimensat(d, p, ts, flags);
}

int
ftruncate(int fd, off_t len)
{
	int e;
	REAL(int, ftruncate, int, off_t);

	if ((e = hit("ftruncate", NULL, NULL, fd)))
		FAIL(e);
	return real_ftruncate(fd, len);
}

int
fsync(int fd)
{
	int e;
	REAL(int, fsync, int);

	if ((e = hit("fsync", NULL, NULL, fd)))
		FAIL(e);
	return real_fsync(fd);
}
