/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the daemon's handshake may block on, done away from the event loop.
 *
 * A reverse look-up of the client, the forward look-ups "hosts allow" names
 * ask for, the groups of a user ("auth users = @group") and the secrets file
 * can each take as long as a resolver, NSS or a file server takes; done by
 * the loop itself they would stall every other client's handshake. So the
 * loop forks, once at start, a helper process ("lookup helper") that does
 * them on a few threads of its own (an ocpool) and answers over a
 * SOCK_SEQPACKET pair: one request, one reply, each one message.
 *
 * Why a process and not threads in the loop: sessions are forked from the
 * loop, and forking a process whose threads may be inside NSS leaves their
 * locks held in the child (and TSan refuses threads in such a child). The
 * loop stays single-threaded; the helper never forks.
 *
 * Requests carry everything they need (the module's rules and file names as
 * strings, not pointers), so a config reloaded on SIGHUP needs nothing from
 * the helper. The same work runs in place (oce_lk_run()) where one process
 * serves one connection (inetd, a remote shell, OC_RSYNC_DAEMON_ASYNC=0), or
 * when the helper is gone.
 */
#ifndef OCE_DAEMON_SRV_LOOKUP_H
#define OCE_DAEMON_SRV_LOOKUP_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "apps/daemon/access.h"
#include "ocproto/daemon.h"

enum oce_lk_kind {
	OCE_LK_NAME,   /* the reverse look-up only */
	OCE_LK_MODULE, /* (look-up, then) "hosts allow" / "hosts deny" */
	OCE_LK_AUTH,   /* (look-up, then) the challenge response against the secrets */
};

/* The strings a request carries after its head, in this order. */
enum { LKS_ALLOW, LKS_DENY, LKS_USERS, LKS_SECRETS, LKS_RESPONSE, LKS_N };

struct oce_lk_req {
	uint64_t id;	       /* the loop's, echoed in the reply */
	uint8_t kind;	       /* enum oce_lk_kind */
	bool lookup;	       /* reverse look-up of ss first (host is an output) */
	bool use_host;	       /* MODULE: the rules see the name ("reverse lookup") */
	bool forward_lookup;   /* MODULE: the module's "forward lookup" */
	bool strict_modes;     /* AUTH: the module's "strict modes" */
	int digest;	       /* AUTH: enum ocp_csum */
	socklen_t sl;	       /* 0: no address to look up (the name is UNKNOWN) */
	struct sockaddr_storage ss;
	char addr[OCE_DACC_ADDR_MAX];
	char host[NI_MAXHOST]; /* without lookup: the name known already, or "" */
	char challenge[OCP_B64_DIGEST_MAX + 1];
	uint32_t len[LKS_N];   /* each string's length; the bytes follow, NUL after each */
};

struct oce_lk_rep {
	uint64_t id;
	char host[NI_MAXHOST]; /* the name looked up ("UNKNOWN" when none), or the one given */
	bool allowed;	       /* MODULE */
	char matched[256];     /* MODULE: upstream's name for an address matched by name */
	int auth_r;	       /* AUTH: oce_dauth_server()'s result */
	char user[256];	       /* AUTH */
	int read_only;	       /* AUTH */
	char err[160];	       /* AUTH: why refused */
	uint32_t loglen;       /* log lines (each with '\n') follow */
};

/* A request with its strings, built by the loop (oce_lk_req_*()). */
struct oce_lk_msg {
	struct oce_lk_req rq;
	char *strs; /* the strings, each NUL-terminated, LKS_* order */
	size_t slen;
	int nstr;   /* how many are set */
};

/* Add m's next string (NULL as ""), in LKS_* order; 0, -EINVAL (all set) or -ENOMEM. */
int oce_lk_msg_add(struct oce_lk_msg *m, const char *s);
void oce_lk_msg_free(struct oce_lk_msg *m);

/*
 * The peer's address as a sockaddr (for the look-up): a socket's peer, or
 * over a remote shell (ofd >= 0) the address the environment gave. 0 when
 * there is none.
 */
socklen_t oce_lk_peer(int fd, int ofd, const char *addr, struct sockaddr_storage *ss);

/*
 * The peer's name as upstream's client_name(): reverse look-up confirmed by
 * a forward one, else "UNKNOWN". Blocks as long as the resolver.
 */
void oce_lk_name(const struct sockaddr_storage *ss, socklen_t sl, const char *addr, char *host,
		 size_t cap);

/* Forward look-up for the access rules (oce_dacc_resolve_fn). */
int oce_lk_resolve(void *ctx, const char *name, char (*addrs)[OCE_DACC_ADDR_MAX], size_t max);

/*
 * Do the work of one request, here (blocking): fills rep; *log gets the
 * access check's log lines (malloc'd, each ending '\n'; NULL when none).
 */
void oce_lk_run(const struct oce_lk_msg *m, struct oce_lk_rep *rep, char **log);

/* The helper process, as the loop sees it. */
struct oce_lk {
	int fd;	   /* non-blocking; -1: none (or gone) */
	pid_t pid; /* 0: none */
};

/*
 * Fork the helper with `workers` threads. 0, or -errno (then lk->fd is -1
 * and everything runs in place).
 */
int oce_lk_start(struct oce_lk *lk, unsigned workers);

/* Send m: 0, -EAGAIN when the helper's socket is full, or -errno (gone). */
int oce_lk_send(struct oce_lk *lk, const struct oce_lk_msg *m);

/*
 * One reply, if any: 1 (rep and *log set, as oce_lk_run()), 0 when none is
 * waiting, -errno when the helper is gone.
 */
int oce_lk_recv(struct oce_lk *lk, struct oce_lk_rep *rep, char **log);

/* Stop the helper (what it still works on is for clients no longer served) and reap it. */
void oce_lk_stop(struct oce_lk *lk);

#endif /* OCE_DAEMON_SRV_LOOKUP_H */
