/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Look-ups off the event loop, in a helper process; see srv_lookup.h. */
#include "apps/daemon/srv_lookup.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apps/daemon/auth.h"
#include "apps/daemon/srv.h"
#include "apps/engine/util.h"
#include "ocpool/ocpool.h"

#define SECRETS_MAX (1 << 20)
/* A request's strings at most (rules of a few thousand names); larger ones run in place. */
#define LK_STR_MAX (60u << 10)
/* A reply's log lines at most (the rest is cut). */
#define LK_LOG_MAX (16u << 10)
/* Both ends' socket buffers: many requests queued while the resolver is slow. */
#define LK_SOCKBUF (1 << 20)

/* ---- the work itself ---------------------------------------------------------- */

int
oce_lk_msg_add(struct oce_lk_msg *m, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *p;

	if (m->nstr >= LKS_N)
		return -EINVAL;
	p = realloc(m->strs, m->slen + n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + m->slen, s ? s : "", n + 1);
	m->strs = p;
	m->slen += n + 1;
	m->rq.len[m->nstr++] = (uint32_t)n;
	return 0;
}

void
oce_lk_msg_free(struct oce_lk_msg *m)
{
	free(m->strs);
	m->strs = NULL;
	m->slen = 0;
	m->nstr = 0;
}

socklen_t
oce_lk_peer(int fd, int ofd, const char *addr, struct sockaddr_storage *ss)
{
	socklen_t sl = sizeof(*ss);

	if (ofd >= 0) {
		/* over a remote shell: the address the environment gave, if any */
		struct addrinfo hints = {0}, *res = NULL;

		hints.ai_flags = AI_NUMERICHOST;
		hints.ai_socktype = SOCK_STREAM;
		if (!strcmp(addr, "0.0.0.0") || getaddrinfo(addr, NULL, &hints, &res))
			return 0;
		if (res->ai_addrlen > sizeof(*ss)) {
			freeaddrinfo(res);
			return 0;
		}
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		sl = res->ai_addrlen;
		freeaddrinfo(res);
		return sl;
	}
	return getpeername(fd, (struct sockaddr *)ss, &sl) ? 0 : sl;
}

void
oce_lk_name(const struct sockaddr_storage *ss, socklen_t sl, const char *addr, char *host, size_t cap)
{
	struct addrinfo hints = {0}, *res = NULL;
	char name[NI_MAXHOST];
	bool ok = false;

	snprintf(host, cap, "UNKNOWN");
	if (!sl || getnameinfo((const struct sockaddr *)ss, sl, name, sizeof(name), NULL, 0, NI_NAMEREQD))
		return;
	hints.ai_family = ss->ss_family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res))
		return;
	for (struct addrinfo *a = res; a && !ok; a = a->ai_next) {
		char t[OCE_DACC_ADDR_MAX];

		if (!getnameinfo(a->ai_addr, a->ai_addrlen, t, sizeof(t), NULL, 0, NI_NUMERICHOST))
			ok = !strcmp(t, addr);
	}
	freeaddrinfo(res);
	if (ok)
		snprintf(host, cap, "%s", name);
}

int
oce_lk_resolve(void *ctx, const char *name, char (*addrs)[OCE_DACC_ADDR_MAX], size_t max)
{
	struct addrinfo hints = {0}, *res = NULL;
	int n = 0;

	(void)ctx;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res))
		return -1;
	for (struct addrinfo *a = res; a && (size_t)n < max; a = a->ai_next)
		if (!getnameinfo(a->ai_addr, a->ai_addrlen, addrs[n], OCE_DACC_ADDR_MAX, NULL, 0,
				 NI_NUMERICHOST))
			n++;
	freeaddrinfo(res);
	return n;
}

/* The names of a user's groups (upstream getallgroups() + gid_to_group()). */
struct grp_names {
	char names[64][64];
};

static int
groups_cb(void *ctx, const char *user, const char **names, size_t max)
{
	struct grp_names *g = ctx;
	struct passwd pwb, *pw = NULL;
	struct group grb, *gr;
	char buf[16384];
	gid_t gids[64];
	int n = 64, k = 0;

	/* (the _r forms: the helper runs several of these at once) */
	if (getpwnam_r(user, &pwb, buf, sizeof(buf), &pw) || !pw)
		return -1;
	if (getgrouplist(user, pw->pw_gid, gids, &n) < 0)
		n = 64;
	for (int i = 0; i < n && (size_t)k < max && k < 64; i++) {
		if (getgrgid_r(gids[i], &grb, buf, sizeof(buf), &gr) || !gr)
			continue;
		snprintf(g->names[k], sizeof(g->names[k]), "%s", gr->gr_name);
		names[k] = g->names[k];
		k++;
	}
	return k;
}

/* Read the secrets file (NULL when it cannot be opened) and its strict-modes verdict. */
static char *
read_secrets(const char *path, bool strict, size_t *len, const char **mode_err)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	*mode_err = NULL;
	*len = 0;
	if (!path || !*path)
		return NULL;
	fd = oce_open_trusted(path, O_RDONLY, 0);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_size > SECRETS_MAX) {
		close(fd);
		return NULL;
	}
	*mode_err = oce_dauth_secrets_mode(strict, st.st_mode, st.st_uid, geteuid());
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

struct logbuf {
	char *p;
	size_t n;
};

static void
log_add(void *ctx, const char *line)
{
	struct logbuf *lb = ctx;
	size_t k = strlen(line);
	char *p;

	if (lb->n + k + 1 > LK_LOG_MAX || !(p = realloc(lb->p, lb->n + k + 2)))
		return;
	memcpy(p + lb->n, line, k);
	lb->n += k;
	p[lb->n++] = '\n';
	p[lb->n] = '\0';
	lb->p = p;
}

/* The strings of m, split (each NUL-terminated in place). */
static void
split(const struct oce_lk_msg *m, const char *s[LKS_N])
{
	size_t off = 0;

	for (int i = 0; i < LKS_N; i++) {
		s[i] = off < m->slen ? m->strs + off : "";
		off += m->rq.len[i] + 1;
	}
}

void
oce_lk_run(const struct oce_lk_msg *m, struct oce_lk_rep *rep, char **log)
{
	const struct oce_lk_req *rq = &m->rq;
	struct logbuf lb = {0};
	const char *s[LKS_N];

	memset(rep, 0, sizeof(*rep));
	rep->id = rq->id;
	split(m, s);
	if (rq->lookup)
		oce_lk_name(&rq->ss, rq->sl, rq->addr, rep->host, sizeof(rep->host));
	else
		snprintf(rep->host, sizeof(rep->host), "%s", rq->host);
	if (rq->kind == OCE_LK_MODULE) {
		struct oce_dacc_peer peer = {0};

		peer.addr = rq->addr;
		peer.host = rq->use_host ? rep->host : NULL;
		peer.forward_lookup = rq->forward_lookup;
		peer.resolve = oce_lk_resolve;
		peer.log = log_add;
		peer.ctx = &lb;
		rep->allowed = oce_dacc_allow(s[LKS_ALLOW], s[LKS_DENY], &peer);
		snprintf(rep->matched, sizeof(rep->matched), "%s", peer.matched_name);
	} else if (rq->kind == OCE_LK_AUTH) {
		struct oce_dauth_req req = {0};
		struct oce_dauth_result res = {0};
		struct grp_names gn;
		char *secrets;

		req.auth_users = s[LKS_USERS];
		req.response = s[LKS_RESPONSE];
		req.response_len = rq->len[LKS_RESPONSE];
		req.challenge = rq->challenge;
		req.digest = (enum ocp_csum)rq->digest;
		secrets = read_secrets(s[LKS_SECRETS], rq->strict_modes, &req.secrets_len,
				       &req.secrets_mode_err);
		req.secrets = secrets;
		req.groups = groups_cb;
		req.ctx = &gn;
		rep->auth_r = oce_dauth_server(&req, &res);
		free(secrets);
		snprintf(rep->user, sizeof(rep->user), "%s", res.user);
		/* refused once the line had a user: the log names who (upstream auth_server()) */
		if (rep->auth_r && !rep->user[0] && strchr(s[LKS_RESPONSE], ' '))
			snprintf(rep->user, sizeof(rep->user), "%.*s",
				 (int)(strchr(s[LKS_RESPONSE], ' ') - s[LKS_RESPONSE]), s[LKS_RESPONSE]);
		rep->read_only = res.read_only;
		snprintf(rep->err, sizeof(rep->err), "%s", res.err ? res.err : "error");
	}
	rep->loglen = (uint32_t)lb.n;
	*log = lb.p;
}

/* ---- the helper process ------------------------------------------------------ */

struct task {
	int fd;
	struct oce_lk_msg m;
};

/* (a helper thread) */
static int
task_run(void *arg)
{
	struct task *t = arg;
	struct oce_lk_rep *rep;
	char *log = NULL;
	uint8_t *msg = malloc(sizeof(*rep) + LK_LOG_MAX);

	if (msg) {
		rep = (struct oce_lk_rep *)msg;
		oce_lk_run(&t->m, rep, &log);
		if (log)
			memcpy(msg + sizeof(*rep), log, rep->loglen);
		/* one message each: SOCK_SEQPACKET keeps them whole, whoever sends */
		while (send(t->fd, msg, sizeof(*rep) + rep->loglen, MSG_NOSIGNAL) < 0 && errno == EINTR)
			;
	}
	free(log);
	free(msg);
	oce_lk_msg_free(&t->m);
	free(t);
	return 0;
}

/* A request as received: its strings where its lengths say, each NUL-terminated. */
static bool
req_ok(const uint8_t *b, size_t n)
{
	const struct oce_lk_req *rq = (const struct oce_lk_req *)b;
	size_t off = sizeof(*rq);

	if (n < sizeof(*rq) || rq->kind > OCE_LK_AUTH || rq->sl > sizeof(rq->ss))
		return false;
	for (int i = 0; i < LKS_N; i++) {
		if (rq->len[i] > LK_STR_MAX || off + rq->len[i] + 1 > n || b[off + rq->len[i]])
			return false;
		off += rq->len[i] + 1;
	}
	return off == n && memchr(rq->addr, 0, sizeof(rq->addr)) && memchr(rq->host, 0, sizeof(rq->host)) &&
	       memchr(rq->challenge, 0, sizeof(rq->challenge));
}

static void __attribute__((noreturn))
helper_main(int fd, unsigned workers)
{
	struct ocpool_config pc;
	struct ocpool *pool = NULL;
	size_t cap = sizeof(struct oce_lk_req) + LK_STR_MAX + 1;
	uint8_t *buf = malloc(cap);

	ocpool_config_init(&pc);
	pc.workers = workers;
	pc.queue_capacity = 4096;
	if (ocpool_create(&pool, &pc))
		pool = NULL; /* one at a time, then */
	while (buf) {
		ssize_t n = recv(fd, buf, cap, 0);
		struct task *t;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the loop is gone, or stopped us */
		if (!req_ok(buf, (size_t)n))
			continue; /* (not from our loop: no answer) */
		t = calloc(1, sizeof(*t));
		if (!t)
			continue;
		t->fd = fd;
		memcpy(&t->m.rq, buf, sizeof(t->m.rq));
		t->m.slen = (size_t)n - sizeof(t->m.rq);
		t->m.strs = malloc(t->m.slen);
		if (!t->m.strs) {
			free(t);
			continue;
		}
		memcpy(t->m.strs, buf + sizeof(t->m.rq), t->m.slen);
		if (!pool || ocpool_submit(pool, task_run, t, NULL))
			task_run(t);
	}
	if (pool) {
		ocpool_shutdown(pool, OCPOOL_DRAIN, NULL);
		ocpool_destroy(pool);
	}
	free(buf);
	_exit(0);
}

int
oce_lk_start(struct oce_lk *lk, unsigned workers)
{
	int sv[2], sz = LK_SOCKBUF;
	pid_t parent = getpid(), pid;

	lk->fd = -1;
	lk->pid = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	for (int i = 0; i < 2; i++) {
		/* (root may pass wmem_max; others get what it allows) */
		if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
			setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		if (setsockopt(sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
			setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	fflush(NULL);
	pid = oce_fork_gated();
	if (pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		sigset_t all;
		struct sigaction ign = {.sa_handler = SIG_IGN};

		/* Only its socket: not the listener, the loop's rings, the clients. */
		if (sv[1] != 3 && dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0U, 0);
		prctl(PR_SET_NAME, "oc-rsyncd-names");
		/* It goes with the daemon, whichever way the daemon goes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		sigaction(SIGHUP, &ign, NULL);
		sigaction(SIGUSR1, &ign, NULL);
		sigaction(SIGPIPE, &ign, NULL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		helper_main(3, workers ? workers : 1);
	}
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK)) {
		int e = errno;

		close(sv[0]);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -e;
	}
	lk->fd = sv[0];
	lk->pid = pid;
	return 0;
}

int
oce_lk_send(struct oce_lk *lk, const struct oce_lk_msg *m)
{
	struct iovec iov[2] = {
	    {(void *)&m->rq, sizeof(m->rq)},
	    {m->strs, m->slen},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

	if (lk->fd < 0)
		return -EPIPE;
	if (m->slen > LK_STR_MAX)
		return -EMSGSIZE;
	for (;;) {
		if (sendmsg(lk->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

int
oce_lk_recv(struct oce_lk *lk, struct oce_lk_rep *rep, char **log)
{
	uint8_t buf[sizeof(*rep) + LK_LOG_MAX];
	ssize_t n;

	*log = NULL;
	if (lk->fd < 0)
		return -EPIPE;
	do
		n = recv(lk->fd, buf, sizeof(buf), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	memcpy(rep, buf, sizeof(*rep) < (size_t)n ? sizeof(*rep) : (size_t)n);
	if ((size_t)n < sizeof(*rep) || (size_t)n != sizeof(*rep) + rep->loglen)
		return -EPROTO;
	rep->host[sizeof(rep->host) - 1] = rep->matched[sizeof(rep->matched) - 1] = '\0';
	rep->user[sizeof(rep->user) - 1] = rep->err[sizeof(rep->err) - 1] = '\0';
	if (rep->loglen) {
		*log = malloc(rep->loglen + 1);
		if (*log) {
			memcpy(*log, buf + sizeof(*rep), rep->loglen);
			(*log)[rep->loglen] = '\0';
		}
	}
	return 1;
}

void
oce_lk_stop(struct oce_lk *lk)
{
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
	if (lk->pid > 0) {
		/* what it still works on is for clients the loop no longer serves */
		kill(lk->pid, SIGTERM);
		while (waitpid(lk->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	lk->pid = 0;
}
