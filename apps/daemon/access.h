/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `hosts allow` / `hosts deny` for the future oc-rsyncd; mirrors upstream
 * access.c allow_access(). A list is split on blanks and commas and
 * lowercased; each token matches the peer when it
 *   - wildmatches the peer's reverse-DNS name (case-insensitively), or
 *   - is `@netgroup` and the caller's netgroup check says so, or
 *   - (with forward lookup on, for a plain host name) resolves to the
 *     peer's address, or
 *   - is an address, optionally with /bits or /dotted-mask, covering the
 *     peer's IPv4 or IPv6 address.
 * An allow list admits what it matches; with no deny list it refuses the
 * rest. A deny list then refuses what it matches; everything else is let in.
 *
 * Name lookups are the caller's (injected), so this stays sans-I/O and
 * testable. A deny-list host name that cannot be resolved counts as a
 * match (fails closed, rsync 3.5.0); in an allow list it does not match.
 *
 * Concurrency: reentrant; no global state.
 */
#ifndef OCE_DAEMON_ACCESS_H
#define OCE_DAEMON_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

/* Room for one textual address (INET6_ADDRSTRLEN). */
#define OCE_DACC_ADDR_MAX 46

/*
 * Forward lookup of name: up to max textual addresses into addrs, compared
 * with the peer's address as text (upstream uses gethostbyname(), so IPv4
 * dotted quads). Returns how many, or a negative value when the name cannot
 * be resolved.
 */
typedef int (*oce_dacc_resolve_fn)(void *ctx, const char *name, char (*addrs)[OCE_DACC_ADDR_MAX],
				   size_t max);
/* Is host in netgroup? (upstream innetgr()) */
typedef bool (*oce_dacc_netgroup_fn)(void *ctx, const char *netgroup, const char *host);
/* One line for the daemon log, upstream's wording. */
typedef void (*oce_dacc_log_fn)(void *ctx, const char *line);

struct oce_dacc_peer {
	const char *addr; /* numeric address of the client */
	/*
	 * Its reverse-DNS name: "UNKNOWN" when that lookup failed (upstream
	 * client_name()), or NULL when it was not done ("reverse lookup = no").
	 */
	const char *host;
	bool forward_lookup;	     /* the module's "forward lookup" */
	oce_dacc_resolve_fn resolve; /* NULL: every name fails to resolve */
	oce_dacc_netgroup_fn netgroup;
	oce_dacc_log_fn log;
	void *ctx; /* for the three callbacks */
	/*
	 * Out: with host NULL, the configured name whose forward lookup gave
	 * the peer's address (upstream then logs that name instead of
	 * UNDETERMINED); else "". */
	char matched_name[256];
};

/* The name upstream shows for a peer whose reverse lookup was not done. */
#define OCE_DACC_UNDETERMINED "UNDETERMINED"

/*
 * May the peer in? allow / deny are the module's lists (NULL or "" for
 * none). Returns true to admit; mirrors upstream allow_access().
 */
bool oce_dacc_allow(const char *allow, const char *deny, struct oce_dacc_peer *peer);

/*
 * Does one token match? For tests and the listing code; deny selects the
 * fail-closed rule for unresolvable names. Mirrors match_hostname() ||
 * match_address(). token must already be lowercase.
 */
bool oce_dacc_match_token(const char *token, bool deny, struct oce_dacc_peer *peer);

/*
 * May a PROXY-protocol header from this peer be trusted? Only when list
 * (the global "proxy protocol hosts") matches it, without forward lookups;
 * an empty or missing list trusts no one. Mirrors allow_proxy_protocol_peer().
 */
bool oce_dacc_proxy_peer(const char *list, struct oce_dacc_peer *peer);

/*
 * The line a refused client gets (with '\n'): "@ERROR: access denied to MOD
 * from HOST (ADDR)", or "@ERROR: Unknown module 'MOD'" for a module that is
 * not listed, so that probing does not reveal it; mirrors rsync_module().
 * host NULL shows as UNDETERMINED. Returns snprintf()'s count.
 */
int oce_dacc_denied_line(char *buf, size_t cap, const char *module, bool listed, const char *host,
			 const char *addr);

#endif /* OCE_DAEMON_ACCESS_H */
