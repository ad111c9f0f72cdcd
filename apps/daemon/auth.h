/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `auth users` and `secrets file` for the future oc-rsyncd; mirrors upstream
 * authenticate.c auth_server() and check_secret() after the challenge was
 * sent: pick the first rule matching the user (a wildcard user name, or
 * @group matched against the user's groups), honour its :deny / :ro / :rw,
 * then check the response against the user's (or the matched group's)
 * password from the secrets file with ocproto's ocp_auth_verify().
 *
 * Sans-I/O: the caller reads the secrets file (and checks its mode with
 * oce_dauth_secrets_mode() on the opened file's fstat) and supplies the
 * user's group names.
 *
 * Concurrency: reentrant; no global state.
 */
#ifndef OCE_DAEMON_AUTH_H
#define OCE_DAEMON_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ocproto/csum.h"

/* Most groups looked at for one user. */
#define OCE_DAUTH_GROUPS_MAX 256

/*
 * The names of the groups user belongs to (upstream getallgroups() +
 * gid_to_group()) into names[0..max); strings stay owned by the callee and
 * must live until the oce_dauth_*() call returns. Returns the count, or a
 * negative value when user is not a real user (then: no groups).
 */
typedef int (*oce_dauth_groups_fn)(void *ctx, const char *user, const char **names, size_t max);

/* The rule that matched a user. */
struct oce_dauth_rule {
	bool matched;
	char opt;	   /* 'd' deny, 'r' read-only, 'w' read-write, 0 none */
	const char *group; /* the user's group an @rule matched, or NULL */
};

/*
 * Find the first rule of auth_users (split as upstream conf_strtok()) that
 * matches user. Returns 0, or -ENOMEM. out->group points into the names
 * the callback gave.
 */
int oce_dauth_rule(const char *auth_users, const char *user, oce_dauth_groups_fn groups, void *ctx,
		   struct oce_dauth_rule *out);

/*
 * "strict modes" for a secrets file with this mode and owner, the daemon
 * running as my_uid: NULL when fine, else the log line upstream writes
 * (the file is then ignored).
 */
const char *oce_dauth_secrets_mode(bool strict, mode_t mode, uid_t owner, uid_t my_uid);

/*
 * Check hash (the base64 the client sent) for user, or for the matched
 * group's "@group:password" line, against secrets[0..len) (the file's
 * text), with the session's digest and challenge. NULL when it matches,
 * else upstream's reason: "invalid username", "secret not found",
 * "password mismatch". Mirrors check_secret() after its file checks.
 */
const char *oce_dauth_check_secret(const char *secrets, size_t len, const char *user,
				   const char *group, enum ocp_csum digest, const char *challenge,
				   const char *hash);

/*
 * The module's "auth digest" floor (NULL or "": none) against the digest
 * the session negotiated; digests rank sha512 > sha256 > sha1 > md5 > md4.
 * Returns 0, -EINVAL when the floor names no auth digest (upstream refuses
 * then too), -EACCES when the negotiated one is weaker. Mirrors the check
 * at the top of auth_server() (auth_digest_rank()).
 */
int oce_dauth_digest_floor(const char *floor, enum ocp_csum negotiated);

struct oce_dauth_req {
	const char *auth_users; /* the module's list; NULL / "": anonymous */
	const char *response;	/* the client's line "<user> <hash>", no '\n' */
	size_t response_len;
	const char *challenge;
	enum ocp_csum digest;
	/* the secrets file's text, or NULL when it could not be opened */
	const char *secrets;
	size_t secrets_len;
	/* the strict-modes verdict on it (oce_dauth_secrets_mode()) */
	const char *secrets_mode_err;
	oce_dauth_groups_fn groups;
	void *ctx;
};

struct oce_dauth_result {
	char user[256];	 /* who authenticated ("" for anonymous) */
	int read_only;	 /* -1: the module's "read only"; else 0 / 1 from :rw / :ro */
	const char *err; /* the reason for the log when refused */
};

/*
 * The whole server-side decision; mirrors auth_server(). Returns 0 when
 * admitted (res->user, res->read_only), -EACCES with res->err ("invalid
 * challenge response", "no matching rule", "denied by rule", "no secrets
 * file", "ignoring secrets file", or a check_secret() reason), -ENOMEM.
 */
int oce_dauth_server(const struct oce_dauth_req *req, struct oce_dauth_result *res);

#endif /* OCE_DAEMON_AUTH_H */
