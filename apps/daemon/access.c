/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * hosts allow / hosts deny (access.h). Addresses are parsed with
 * getaddrinfo(AI_NUMERICHOST), as upstream does, so that the same spellings
 * are accepted ("127.1", scope ids); with that flag it does no lookups.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "apps/daemon/access.h"
#include "ocproto/filter.h"

#define MAX_RESOLVED 64

static void say(struct oce_dacc_peer *peer, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct oce_dacc_peer *peer, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!peer->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	peer->log(peer->ctx, line);
}

static void
lower(char *s)
{
	for (; *s; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	}
}

/* Upstream iwildmatch(): the token is lowercase already, fold the name. */
static bool
iwildmatch(const char *tok, const char *host)
{
	char buf[1024];

	if (strlen(host) >= sizeof(buf))
		return false;
	strcpy(buf, host);
	lower(buf);
	return ocp_wildmatch(tok, buf);
}

static bool
match_hostname(struct oce_dacc_peer *peer, const char *tok, bool deny)
{
	const char *host = peer->host ? peer->host : OCE_DACC_UNDETERMINED;
	char addrs[MAX_RESOLVED][OCE_DACC_ADDR_MAX];
	int n, i;

	if (!*host)
		return false;
	if (tok[0] == '@' && tok[1])
		return peer->netgroup && peer->netgroup(peer->ctx, tok + 1, host);
	if (iwildmatch(tok, host))
		return true;
	if (!peer->forward_lookup)
		return false;
	/* only a plain name is looked up, not an address or a pattern */
	if (!tok[strspn(tok, ".0123456789")] || tok[strcspn(tok, ":/*?[")])
		return false;
	n = peer->resolve ? peer->resolve(peer->ctx, tok, addrs, MAX_RESOLVED) : -1;
	if (n < 0)
		return deny; /* cannot prove it is not the denied host */
	if (n > MAX_RESOLVED)
		n = MAX_RESOLVED;
	for (i = 0; i < n; i++) {
		addrs[i][OCE_DACC_ADDR_MAX - 1] = '\0';
		if (peer->addr && !strcmp(peer->addr, addrs[i])) {
			if (!peer->host)
				snprintf(peer->matched_name, sizeof(peer->matched_name), "%s", tok);
			return true;
		}
	}
	return false;
}

static void
make_mask(unsigned char *mask, long bits, int addrlen)
{
	int w = (int)(bits >> 3), b = (int)(bits & 7);

	memset(mask, 0, 16);
	memset(mask, 0xff, (size_t)(w < addrlen ? w : addrlen));
	if (w < addrlen)
		mask[w] = (unsigned char)(0xff << (8 - b));
}

static bool
match_address(struct oce_dacc_peer *peer, const char *token)
{
	struct addrinfo hints, *resa = NULL, *rest = NULL;
	unsigned char mask[16];
	const unsigned char *a, *t;
	char tok[1024];
	char *p;
	int gai, addrlen, i;
	long bits;
	bool ret = false;

	if (!peer->addr || !*peer->addr || strlen(token) >= sizeof(tok))
		return false;
	strcpy(tok, token);
	p = strchr(tok, '/');
	if (p)
		*p = '\0';
	/* a host name is not an address */
	if (tok[strspn(tok, ".0123456789")] && !strchr(tok, ':'))
		return false;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = PF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(peer->addr, NULL, &hints, &resa) != 0)
		return false;
	gai = getaddrinfo(tok, NULL, &hints, &rest);
	if (p)
		*p++ = '/';
	if (gai != 0) {
		say(peer, "error matching address %s: %s", tok, gai_strerror(gai));
		freeaddrinfo(resa);
		return false;
	}
	if (rest->ai_family != resa->ai_family)
		goto out;

	if (resa->ai_family == AF_INET) {
		a = (const unsigned char *)&((struct sockaddr_in *)resa->ai_addr)->sin_addr;
		t = (const unsigned char *)&((struct sockaddr_in *)rest->ai_addr)->sin_addr;
		addrlen = 4;
	} else if (resa->ai_family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)resa->ai_addr;
		struct sockaddr_in6 *st = (struct sockaddr_in6 *)rest->ai_addr;

		a = (const unsigned char *)&sa->sin6_addr;
		t = (const unsigned char *)&st->sin6_addr;
		addrlen = 16;
		if (st->sin6_scope_id && sa->sin6_scope_id != st->sin6_scope_id)
			goto out;
	} else {
		say(peer, "unknown family %u", (unsigned)rest->ai_family);
		goto out;
	}

	bits = -1;
	if (p) {
		if (inet_pton(resa->ai_family, p, mask) <= 0) {
			char *ep = NULL;

			bits = strtol(p, &ep, 10);
			if (!*p || *ep) {
				say(peer, "malformed mask in %s", tok);
				goto out;
			}
			if (bits == 0) {
				ret = true; /* "/0" admits every address of the family */
				goto out;
			}
			if (bits < 0 || bits > (long)addrlen * 8) {
				say(peer, "malformed mask in %s", tok);
				goto out;
			}
		}
	} else {
		bits = 128;
	}
	if (bits >= 0)
		make_mask(mask, bits, addrlen);

	ret = true;
	for (i = 0; i < addrlen; i++) {
		if ((a[i] ^ t[i]) & mask[i]) {
			ret = false;
			break;
		}
	}
out:
	freeaddrinfo(resa);
	freeaddrinfo(rest);
	return ret;
}

bool
oce_dacc_match_token(const char *token, bool deny, struct oce_dacc_peer *peer)
{
	return match_hostname(peer, token, deny) || match_address(peer, token);
}

/* Does any token of list match? Fails closed (true) without memory. */
static bool
list_match(const char *list, bool deny, struct oce_dacc_peer *peer)
{
	char *copy = strdup(list), *tok, *save = NULL;
	bool hit = false;

	if (!copy)
		return deny;
	lower(copy);
	for (tok = strtok_r(copy, " ,\t", &save); tok && !hit; tok = strtok_r(NULL, " ,\t", &save))
		hit = oce_dacc_match_token(tok, deny, peer);
	free(copy);
	return hit;
}

bool
oce_dacc_allow(const char *allow, const char *deny, struct oce_dacc_peer *peer)
{
	peer->matched_name[0] = '\0';
	if (allow && !*allow)
		allow = NULL;
	if (deny && !*deny)
		deny = NULL;
	if (allow) {
		if (list_match(allow, false, peer))
			return true;
		if (!deny)
			return false;
	}
	if (deny && list_match(deny, true, peer))
		return false;
	return true;
}

bool
oce_dacc_proxy_peer(const char *list, struct oce_dacc_peer *peer)
{
	bool saved = peer->forward_lookup, hit;

	peer->matched_name[0] = '\0';
	if (!list || !*list)
		return false;
	peer->forward_lookup = false;
	hit = list_match(list, false, peer);
	peer->forward_lookup = saved;
	return hit;
}

int
oce_dacc_denied_line(char *buf, size_t cap, const char *module, bool listed, const char *host,
		     const char *addr)
{
	if (!listed)
		return snprintf(buf, cap, "@ERROR: Unknown module '%s'\n", module);
	return snprintf(buf, cap, "@ERROR: access denied to %s from %s (%s)\n", module,
			host ? host : OCE_DACC_UNDETERMINED, addr);
}
