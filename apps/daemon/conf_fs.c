/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The POSIX file operations behind oce_dconf_posix_fs: the only place the
 * config code touches the file system, so the parser itself stays sans-I/O
 * and tests and the fuzzer give it files from memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/daemon/conf.h"

/* Config files are small; a bigger one is taken for a mistake. */
#define CONF_MAX (16u << 20)

static int
posix_read(void *ctx, const char *path, char **buf, size_t *len)
{
	struct stat st;
	size_t cap, n = 0;
	char *b;
	int fd, rc = 0;

	(void)ctx;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	cap = S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < CONF_MAX
		  ? (size_t)st.st_size + 1
		  : 4096;
	b = malloc(cap);
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= CONF_MAX) {
				free(b);
				rc = -EFBIG;
				goto out;
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				rc = -ENOMEM;
				goto out;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			free(b);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
out:
	close(fd);
	return rc;
}

static int
posix_kind(void *ctx, const char *path)
{
	struct stat st;

	(void)ctx;
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		return 'f';
	if (S_ISDIR(st.st_mode))
		return 'd';
	return '?';
}

static int
posix_list(void *ctx, const char *dir, char ***names, size_t *n)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t k = 0, cap = 0;
	DIR *d;

	(void)ctx;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
		}
		v[k] = strdup(de->d_name);
		if (!v[k])
			goto nomem;
		k++;
	}
	closedir(d);
	*names = v;
	*n = k;
	return 0;
nomem:
	closedir(d);
	while (k)
		free(v[--k]);
	free(v);
	return -ENOMEM;
}

const struct oce_dconf_fs oce_dconf_posix_fs = {
    .read = posix_read,
    .kind = posix_kind,
    .list = posix_list,
};
