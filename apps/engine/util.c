/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Engine helpers; see util.h. */
#include "apps/engine/util.h"

#include <fcntl.h>
#include <stdbool.h>

#include "apps/engine/session.h"

#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "ocproto/err.h"
#include "ocproto/int.h"

int
oce_io_decode(struct ocp_io *io, oce_dec_fn dec, void *ctx, uint8_t *scratch, size_t cap)
{
	size_t have = 0;

	for (;;) {
		const uint8_t *p;
		int n = ocp_io_peek(io, &p);
		int r;

		if (n == 0)
			return OCP_ECLOSED;
		if (n < 0)
			return n;
		if (!have) {
			r = dec(ctx, p, (size_t)n);
			if (r > 0) {
				ocp_io_consume(io, (size_t)r);
				return 0;
			}
			if (r < 0)
				return r;
		}
		if (have >= cap)
			return OCP_ETOOLONG;
		scratch[have++] = p[0];
		ocp_io_consume(io, 1);
		r = dec(ctx, scratch, have);
		if (r > 0)
			return 0;
		if (r < 0)
			return r;
	}
}

int
oce_io_write_shortint(struct ocp_io *io, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	return ocp_io_write_data(io, b, 2);
}

int
oce_io_write_byte(struct ocp_io *io, uint8_t v)
{
	return ocp_io_write_data(io, &v, 1);
}

int
oce_io_read_shortint(struct ocp_io *io, uint16_t *v)
{
	uint8_t b[2];
	int r = ocp_io_read(io, b, 2);

	if (!r)
		*v = (uint16_t)(b[0] | b[1] << 8);
	return r;
}

int
oce_io_read_byte(struct ocp_io *io, uint8_t *v)
{
	return ocp_io_read(io, v, 1);
}

int
oce_path_join(char *out, size_t cap, const char *a, const char *b)
{
	size_t la, lb, sep;

	/* Called per directory entry: plain copies, no format parsing. */
	if (!a || !*a || (a[0] == '.' && !a[1]))
		a = "";
	if (!b)
		b = "";
	la = strlen(a);
	lb = strlen(b);
	sep = la && lb && a[la - 1] != '/';
	if (la + sep + lb >= cap) {
		/* What snprintf left: as much as fits, terminated. */
		if (cap)
			snprintf(out, cap, "%s%s%s", a, sep ? "/" : "", b);
		return -ENAMETOOLONG;
	}
	memcpy(out, a, la);
	out[la] = '/';
	memcpy(out + la + sep, b, lb + 1);
	return 0;
}

bool
oce_unsafe_symlink(const char *target, const char *name)
{
	int depth = 0;
	const char *p;

	size_t len;

	if (!target || !*target || *target == '/')
		return true;
	/*
	 * A ".." anywhere but in the leading run is unsafe whatever the depth
	 * says, and so is a trailing "/.." (rsync 3.5.0, after CVE-2024-12088:
	 * counting alone let "a/../../x" style targets through).
	 */
	for (p = target; !strncmp(p, "../", 3);)
		for (p += 3; *p == '/'; p++)
			;
	if (strstr(p, "/../"))
		return true;
	len = strlen(target);
	if (len > 3 && !strcmp(target + len - 3, "/.."))
		return true;
	/* The link's own directory depth below the transfer root. */
	for (p = name; (p = strchr(p, '/')) != NULL; p++)
		depth++;
	for (p = target; *p;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return true;
		} else if (n && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p = *e ? e + 1 : e;
	}
	return false;
}

bool
oce_follow_unsafe_link(const struct oce_session *s, int dirfd, const char *name)
{
	char target[PATH_MAX];
	ssize_t n;

	if (!s->o->copy_unsafe_links)
		return false;
	n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return oce_unsafe_symlink(target, name);
}

int
oce_file_checksum(struct oce_session *s, int dirfd, const char *name, uint8_t *out)
{
	struct ocp_csum_ctx c;
	uint8_t buf[64 * 1024];
	/* An empty name: dirfd is the file itself, open for reading at its start. */
	int fd = *name ? openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : dup(dirfd);
	int r;

	if (fd < 0)
		return -errno;
	r = ocp_csum_begin(&c, s->csum);
	while (r == 0) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0) {
			r = ocp_csum_end(&c, out);
			break;
		}
		r = ocp_csum_update(&c, buf, (size_t)n);
	}
	ocp_csum_free(&c);
	close(fd);
	return r;
}

/* Upstream print_child_argv(): words that need it quoted, then the count. */
void
oce_print_argv(const char *prefix, char *const *argv, size_t argc)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,.-_=+@/";

	printf("%s ", prefix);
	for (size_t i = 0; i < argc; i++)
		printf(strspn(argv[i], plain) == strlen(argv[i]) ? "%s " : "\"%s\" ", argv[i]);
	printf(" (%zu args)\n", argc);
	fflush(stdout);
}

bool
oce_env_off(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "0");
}

/* ---- the fork gate (util.h) ------------------------------------------------ */

/*
 * A count of threads inside, and a flag that shuts the gate, under a mutex
 * that the forking thread holds across fork(): the child starts with the
 * mutex held by itself (its only thread) and nobody inside.
 */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static unsigned gate_inside; /* (gate_mu) */
static bool gate_shut;	     /* (gate_mu) a fork waits for those inside; no one enters */

void
oce_forkgate_enter(void)
{
	pthread_mutex_lock(&gate_mu);
	while (gate_shut)
		pthread_cond_wait(&gate_cv, &gate_mu);
	gate_inside++;
	pthread_mutex_unlock(&gate_mu);
}

void
oce_forkgate_leave(void)
{
	pthread_mutex_lock(&gate_mu);
	if (--gate_inside == 0 && gate_shut)
		pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

pid_t
oce_fork_gated(void)
{
	pid_t pid;
	int e;

	pthread_mutex_lock(&gate_mu);
	while (gate_shut) /* another thread's fork */
		pthread_cond_wait(&gate_cv, &gate_mu);
	gate_shut = true;
	while (gate_inside)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pid = fork();
	e = errno;
	if (pid == 0)
		pthread_cond_init(&gate_cv, NULL); /* (the parent's waiters are not here) */
	gate_shut = false;
	if (pid != 0)
		pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	errno = e;
	return pid;
}
