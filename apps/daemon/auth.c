/* SPDX-License-Identifier: GPL-3.0-or-later */
/* auth users and secrets file (auth.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/daemon/auth.h"
#include "apps/daemon/conf.h"
#include "ocproto/daemon.h"
#include "ocproto/filter.h"

/* Upstream reads the secrets file with fgets() into 1024 bytes. */
#define SECRET_LINE 1024

struct rule_walk {
	const char *user;
	oce_dauth_groups_fn groups;
	void *ctx;
	const char *names[OCE_DAUTH_GROUPS_MAX];
	int n_names; /* -1 until looked up */
	struct oce_dauth_rule *out;
};

static char
lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ":deny" (any word starting with d), ":ro", ":rw"; anything else is none. */
static char
rule_opt(const char *o)
{
	char c = lc(o[0]);

	if (c == 'r') {
		c = lc(o[1]);
		return c == 'o' ? 'r' : c == 'w' ? 'w' : 0;
	}
	return c == 'd' ? 'd' : 0;
}

static int
one_rule(void *ctx, const char *token)
{
	struct rule_walk *w = ctx;
	char tok[1024];
	char *colon, opt = 0;
	int j;

	snprintf(tok, sizeof(tok), "%s", token);
	colon = strchr(tok, ':');
	if (colon) {
		*colon = '\0';
		opt = rule_opt(colon + 1);
	}
	if (tok[0] != '@') {
		if (!ocp_wildmatch(tok, w->user))
			return 0;
		w->out->matched = true;
		w->out->opt = opt;
		return 1;
	}
	if (w->n_names < 0) {
		int n = w->groups ? w->groups(w->ctx, w->user, w->names, OCE_DAUTH_GROUPS_MAX) : -1;

		w->n_names = n < 0 ? 0 : n > OCE_DAUTH_GROUPS_MAX ? OCE_DAUTH_GROUPS_MAX : n;
	}
	for (j = 0; j < w->n_names; j++) {
		if (w->names[j] && ocp_wildmatch(tok + 1, w->names[j])) {
			w->out->matched = true;
			w->out->opt = opt;
			w->out->group = w->names[j];
			return 1;
		}
	}
	return 0;
}

int
oce_dauth_rule(const char *auth_users, const char *user, oce_dauth_groups_fn groups, void *ctx,
	       struct oce_dauth_rule *out)
{
	struct rule_walk w = {
	    .user = user, .groups = groups, .ctx = ctx, .n_names = -1, .out = out};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = oce_dconf_tokens(auth_users, one_rule, &w);
	return rc < 0 ? rc : 0;
}

const char *
oce_dauth_secrets_mode(bool strict, mode_t mode, uid_t owner, uid_t my_uid)
{
	if (!strict)
		return NULL;
	if (mode & 06)
		return "secrets file must not be other-accessible (see strict modes option)";
	if (my_uid == 0 && owner != 0)
		return "secrets file must be owned by root when running as root (see strict modes)";
	return NULL;
}

/* Does "name:" start s? */
static bool
keyed(const char *s, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(s, name, n) && s[n] == ':';
}

const char *
oce_dauth_check_secret(const char *secrets, size_t len, const char *user, const char *group,
		       enum ocp_csum digest, const char *challenge, const char *hash)
{
	const char *err = "secret not found";
	char line[SECRET_LINE], resp[OCP_B64_DIGEST_MAX + 8];
	size_t pos = 0, hlen = strlen(hash);

	if (*user == '#')
		return "invalid username"; /* a comment line must never match */
	if (hlen > OCP_B64_DIGEST_MAX) {
		/* no digest is this long, so it cannot match any password */
		hash = "";
		hlen = 0;
	}
	/* ocp_auth_verify() wants "<user> <hash>"; the user part is not compared */
	resp[0] = '-';
	resp[1] = ' ';
	memcpy(resp + 2, hash, hlen + 1);

	while ((user || group) && pos < len) {
		const char *name, *s, *uname;
		size_t n = 0, ulen;
		bool is_group;
		char *e;

		/* an fgets() of at most SECRET_LINE - 1 bytes, through a '\n' */
		while (pos < len && n < SECRET_LINE - 1) {
			line[n++] = secrets[pos++];
			if (line[n - 1] == '\n')
				break;
		}
		line[n] = '\0';
		/* strtok(line, "\n\r"): the first run without CR or LF */
		s = line + strspn(line, "\r\n");
		if (!*s)
			continue;
		e = (char *)s + strcspn(s, "\r\n");
		*e = '\0';
		is_group = *s == '@';
		if (is_group)
			s++;
		name = is_group ? group : user;
		if (!name || !keyed(s, name))
			continue;
		if (!ocp_auth_verify(resp, 2 + hlen, digest, s + strlen(name) + 1, challenge,
				     &uname, &ulen)) {
			err = NULL;
			break;
		}
		err = "password mismatch";
		if (is_group)
			group = NULL;
		else
			user = NULL;
	}
	memset(line, 0, sizeof(line));
	return err;
}

int
oce_dauth_server(const struct oce_dauth_req *req, struct oce_dauth_result *res)
{
	struct oce_dauth_rule rule;
	const char *sp;
	char *user, *hash;
	size_t ulen;
	int rc;

	res->user[0] = '\0';
	res->read_only = -1;
	res->err = NULL;
	if (!req->auth_users || !*req->auth_users)
		return 0;
	sp = memchr(req->response, ' ', req->response_len);
	if (!sp) {
		res->err = "invalid challenge response";
		return -EACCES;
	}
	/* the line is text: a NUL ends it, as it does upstream's strings */
	ulen = (size_t)(sp - req->response);
	user = strndup(req->response, ulen);
	hash = strndup(sp + 1, req->response_len - ulen - 1);
	if (!user || !hash) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(res->user, sizeof(res->user), "%s", user);
	rc = oce_dauth_rule(req->auth_users, user, req->groups, req->ctx, &rule);
	if (rc < 0)
		goto out;
	rc = -EACCES;
	if (!rule.matched)
		res->err = "no matching rule";
	else if (rule.opt == 'd')
		res->err = "denied by rule";
	else if (!req->secrets)
		res->err = "no secrets file";
	else if (req->secrets_mode_err)
		res->err = "ignoring secrets file";
	else
		res->err = oce_dauth_check_secret(req->secrets, req->secrets_len, user, rule.group,
						  req->digest, req->challenge, hash);
	if (!res->err) {
		rc = 0;
		if (rule.opt == 'r')
			res->read_only = 1;
		else if (rule.opt == 'w')
			res->read_only = 0;
	}
out:
	if (hash)
		memset(hash, 0, strlen(hash));
	free(user);
	free(hash);
	return rc;
}

/* Strength rank, 0 strongest, of an auth digest; -1 for others. */
static int
digest_rank(enum ocp_csum d)
{
	static const enum ocp_csum order[] = {OCP_CSUM_SHA512, OCP_CSUM_SHA256, OCP_CSUM_SHA1,
					      OCP_CSUM_MD5, OCP_CSUM_MD4};

	for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++) {
		if (order[i] == d)
			return i;
	}
	return -1;
}

int
oce_dauth_digest_floor(const char *floor, enum ocp_csum negotiated)
{
	int want, got;

	if (!floor || !*floor)
		return 0;
	want = ocp_csum_by_name(floor, strlen(floor));
	want = want < 0 ? -1 : digest_rank((enum ocp_csum)want);
	if (want < 0)
		return -EINVAL;
	got = digest_rank(negotiated);
	return got < 0 || got > want ? -EACCES : 0;
}
