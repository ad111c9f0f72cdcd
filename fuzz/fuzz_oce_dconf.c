/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for apps/daemon/: the rsyncd.conf parser with &include /
 * &merge served from memory, then each module's hosts lists, auth users and
 * refuse options through their matchers. A successful parse must give
 * NUL-terminated names, paths without a trailing '/' (but "/"),
 * modules findable by their own names and the same result when parsed
 * again; anything else traps.
 *
 * Input: pieces separated by 0xff bytes: the main file, then
 * /f/1.conf, /f/d/2.conf and /f/d/3.inc (a directory /f/d holds the last two).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/daemon/access.h"
#include "apps/daemon/auth.h"
#include "apps/daemon/conf.h"
#include "apps/daemon/refuse.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define NPIECES 4

struct pieces {
	const char *p[NPIECES];
	size_t n[NPIECES];
};

static const char *const names[NPIECES] = {"/f/main.conf", "/f/1.conf", "/f/d/2.conf",
					   "/f/d/3.inc"};

static int
fz_read(void *ctx, const char *path, char **buf, size_t *len)
{
	const struct pieces *pc = ctx;

	for (int i = 0; i < NPIECES; i++) {
		if (!strcmp(path, names[i])) {
			*buf = malloc(pc->n[i] + 1);
			if (!*buf)
				return -ENOMEM;
			memcpy(*buf, pc->p[i], pc->n[i]);
			*len = pc->n[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int
fz_kind(void *ctx, const char *path)
{
	(void)ctx;
	if (!strcmp(path, "/f/d") || !strcmp(path, "/f/d/") || !strcmp(path, "/f"))
		return 'd';
	for (int i = 0; i < NPIECES; i++) {
		if (!strcmp(path, names[i]))
			return 'f';
	}
	return -ENOENT;
}

static int
fz_list(void *ctx, const char *dir, char ***out, size_t *n)
{
	const char *const f[] = {"3.inc", "2.conf", "."};
	const char *const top[] = {"1.conf", "main.conf", "d"};
	const char *const *src = strncmp(dir, "/f/d", 4) ? top : f;
	char **v = calloc(3, sizeof(*v));

	(void)ctx;
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < 3; i++)
		v[i] = strdup(src[i]);
	*out = v;
	*n = 3;
	return 0;
}

static void
fz_log(void *ctx, const char *line)
{
	(void)ctx;
	CHECK(strlen(line) < 1024);
}

static int
fz_resolve(void *ctx, const char *name, char (*addrs)[OCE_DACC_ADDR_MAX], size_t max)
{
	(void)ctx;
	if (max < 1 || name[0] < 'm')
		return -1;
	strcpy(addrs[0], "10.1.2.3");
	return 1;
}

static int
fz_groups(void *ctx, const char *user, const char **out, size_t max)
{
	(void)ctx;
	(void)user;
	if (max < 2)
		return 0;
	out[0] = "staff";
	out[1] = "wheel";
	return 2;
}

/* The module's lists through the access, auth and refuse matchers. */
static void
check_lists(const struct oce_dmodule *m)
{
	static const char *const argv[] = {
	    "--server", "-logDtprze.iLsfxC", "--delete-after", "--partial-dir=.", "--inplace", ".",
	    "m/"};
	struct oce_dacc_peer peer = {.addr = "10.1.2.3",
				     .host = "host.example",
				     .forward_lookup = true,
				     .resolve = fz_resolve,
				     .log = fz_log};
	struct oce_dauth_rule rule;
	struct oce_dref ref;
	char msg[256];

	(void)oce_dacc_allow(m->hosts_allow, m->hosts_deny, &peer);
	peer.addr = "fe80::1";
	peer.host = NULL;
	(void)oce_dacc_allow(m->hosts_allow, m->hosts_deny, &peer);
	CHECK(oce_dauth_rule(m->auth_users, "joe", fz_groups, NULL, &rule) == 0);
	CHECK(!rule.group || !strcmp(rule.group, "staff") || !strcmp(rule.group, "wheel"));
	oce_dref_init(&ref, m->refuse_options, m->charset != NULL, fz_log, NULL);
	switch (oce_dref_check(&ref, sizeof(argv) / sizeof(argv[0]), argv, msg, sizeof(msg))) {
	case OCE_DREF_REFUSED:
		CHECK(!strncmp(msg, "The server is configured to refuse --", 37));
		break;
	case OCE_DREF_OK:
	case OCE_DREF_OTHER:
		break;
	default:
		CHECK(0);
	}
}

static void
check_module(const struct oce_dconf *cfg, const struct oce_dmodule *m)
{
	const struct oce_dmodule *found;
	size_t len;

	/* a header cannot hold '/', but "name = a/b" may rename a module */
	CHECK(m->name);
	found = oce_dconf_module(cfg, m->name);
	CHECK(found && !strcmp(found->name, m->name));
	if (m->path) {
		len = strlen(m->path);
		CHECK(len <= 1 || m->path[len - 1] != '/');
	}
	check_lists(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pieces pc = {{0}, {0}};
	struct oce_dconf_fs fs = {fz_read, fz_kind, fz_list, &pc};
	struct oce_dconf_opts o = {.fs = &fs, .log = fz_log};
	struct oce_dconf *a = NULL, *b = NULL;
	const char *p = (const char *)data, *end = p + size;
	int ra, rb;

	for (int i = 0; i < NPIECES; i++) {
		const char *e = memchr(p, 0xff, (size_t)(end - p));

		if (!e || i == NPIECES - 1)
			e = end;
		pc.p[i] = p;
		pc.n[i] = (size_t)(e - p);
		p = e < end ? e + 1 : end;
	}

	ra = oce_dconf_load("/f/main.conf", &o, &a);
	rb = oce_dconf_load("/f/main.conf", &o, &b);
	CHECK(ra == rb);
	CHECK(ra == 0 || ra == -EINVAL || ra == -ENOMEM);
	if (ra == 0) {
		CHECK(a->n_modules == b->n_modules);
		for (size_t i = 0; i < a->n_modules; i++) {
			CHECK(!strcmp(a->modules[i].name, b->modules[i].name));
			check_module(a, &a->modules[i]);
		}
		check_lists(&a->defaults);
	}
	oce_dconf_free(a);
	oce_dconf_free(b);
	return 0;
}
