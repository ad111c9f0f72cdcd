/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Opening a path from rsyncd.conf (lock file, secrets file) as a root
 * daemon without letting someone else's symlink redirect it: upstream
 * 3.5.0 follows a symlink only when root or the daemon's own user owns it,
 * at every component. We walk the path one component at a time with
 * openat(O_NOFOLLOW); a symlink met on the way is checked with fstatat()
 * in the directory already opened, and its target is spliced into the rest
 * of the walk. There is no window between the check and the use: each step
 * opens relative to a descriptor of the directory that was checked.
 */
#include "apps/daemon/srv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 40 /* as the kernel's own limit on nested symlinks */

/* Is the symlink name in dfd one we may follow? */
static bool
trusted_link(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return false;
	return S_ISLNK(st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid());
}

/* Replace the component at rest[0..len) by the link's target: 0 or -errno. */
static int
splice_link(int *dfd, const char *name, char *rest, size_t len, size_t cap)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(*dfd, name, target, sizeof(target) - 1);
	size_t tail = strlen(rest + len);

	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	target[n] = '\0';
	if ((size_t)n + tail + 2 > cap)
		return -ENAMETOOLONG;
	/* rest becomes target + "/" + what followed the component */
	memmove(rest + n + 1, rest + len, tail + 1);
	memcpy(rest, target, (size_t)n);
	rest[n] = tail ? '/' : '\0';
	if (target[0] == '/') {
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (root < 0)
			return -errno;
		close(*dfd);
		*dfd = root;
	}
	return 0;
}

int
oce_open_trusted(const char *path, int flags, mode_t mode)
{
	char buf[PATH_MAX * 2], *rest = buf;
	int dfd, links = 0, r;

	if (!*path) {
		errno = ENOENT;
		return -1;
	}
	if (strlen(path) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, path);
	dfd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	for (;;) {
		size_t len;
		bool last;
		char save;
		int fd;

		while (*rest == '/')
			rest++;
		len = strcspn(rest, "/");
		last = !rest[len] || !rest[len + strspn(rest + len, "/")];
		if (!len) {
			/* the path ends in "/" (or is "/"): the directory itself */
			fd = openat(dfd, ".", flags & ~O_CREAT, mode);
			r = fd < 0 ? -errno : fd;
			break;
		}
		save = rest[len];
		rest[len] = '\0';
		if (last)
			fd = openat(dfd, rest, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		else
			fd = openat(dfd, rest, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			rest[len] = save;
			if (last) {
				r = fd;
				break;
			}
			close(dfd);
			dfd = fd;
			rest += len;
			continue;
		}
		/* O_NOFOLLOW meeting a symlink: ELOOP, or ENOTDIR with O_DIRECTORY */
		r = -errno;
		if (r == -ELOOP || r == -ENOTDIR) {
			struct stat st;

			if (fstatat(dfd, rest, &st, AT_SYMLINK_NOFOLLOW))
				break;
			if (!S_ISLNK(st.st_mode))
				break; /* a file where a directory should be: ENOTDIR */
			if (!trusted_link(dfd, rest)) {
				r = -ELOOP;
				break;
			}
		} else {
			break;
		}
		if (++links > MAX_LINKS) {
			r = -ELOOP;
			break;
		}
		rest[len] = save;
		{
			char name[NAME_MAX + 1];

			if (len > NAME_MAX) {
				r = -ENAMETOOLONG;
				break;
			}
			memcpy(name, rest, len);
			name[len] = '\0';
			r = splice_link(&dfd, name, rest, len, sizeof(buf) - (size_t)(rest - buf));
		}
		if (r)
			break;
	}
	close(dfd);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}
