/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * oc-rsyncd's accept and handshake loop; see srv.h. What upstream's
 * start_daemon() and rsync_module() do up to "@RSYNCD: OK" and the
 * argument list, one forked process per connection, is done here for every
 * connection at once by one thread with non-blocking sockets: a slow or
 * silent client costs a small struct and a socket, not a process, and is
 * dropped at its absolute handshake deadline.
 *
 * Reads never take more than the current state may consume (the socket is
 * peeked, then exactly the bytes used are read), so when a session is
 * handed to its child the protocol bytes the client sent after its
 * arguments are still in the socket for the engine.
 */
#include "apps/daemon/srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apps/daemon/access.h"
#include "apps/daemon/auth.h"
#include "apps/daemon/srv_lookup.h"
#include "apps/daemon/srv_pollb.h"
#include "apps/engine/errcode.h"
#include "apps/engine/fastexit.h"
#include "apps/engine/recvside.h" /* oce_uncatch_signals() */
#include "apps/engine/session.h"
#include "apps/engine/util.h"
#include "ocpool/ocpool.h"
#include "ocproto/daemon.h"
#include "ocproto/err.h"

#define RSYNC_PORT	   873
#define HANDSHAKE_MAX_S	   60	       /* upstream DAEMON_HANDSHAKE_TIMEOUT */
#define ARGS_MAX_BYTES	   (256 << 10) /* all server arguments of one client */
#define ACCEPT_PAUSE_MS	   100	       /* after EMFILE / ENFILE */
#define OUR_PROTOCOL	   32
#define OUR_SUBPROTOCOL	   0
#define DEFAULT_CONFIG	   "/etc/rsyncd.conf"
#define UPSTREAM_NOFILE	   4096	       /* rsync 3.5.0 raises its soft fd limit to this */
#define TSESS_MAX	   1024	       /* sessions in the transfer pool's threads or queue */
#define TSESS_MAX_THREADS  256	       /* an adaptive pool's bound (sessions wait on I/O) */

/* --- state ------------------------------------------------------------------ */

/* A config snapshot and the connections still holding it (SIGHUP swaps it). */
struct cfgref {
	struct oce_dconf *cfg;
	int refs;
};

enum cstate {
	ST_GREET,  /* waiting for the client's @RSYNCD: line */
	ST_MODULE, /* waiting for the module name (or #list) */
	ST_AUTH,   /* challenge sent, waiting for "<user> <hash>" */
	ST_EARLY,  /* the module's "early exec" runs; no deadline, no input expected */
	ST_ARGS,   /* @RSYNCD: OK sent, reading the NUL-separated arguments */
	ST_WAIT,   /* the lookup helper works for it (struct job); its input waits */
	ST_CLOSE,  /* flushing the last lines, then close */
};

/*
 * "lock file": upstream's claim_connection() write-locks one 4-byte record
 * per connection (slot i at offset 4*i) in the module's lock file, so that
 * every daemon process sharing the file, rsync's own included, shares the
 * "max connections" limit; modules naming the same file share its slots.
 * We hold the records with open-file-description locks on one descriptor
 * per file (the loop's sessions are not processes of their own while they
 * handshake), which conflict with rsync's process locks as they should. An
 * OFD lock never conflicts with its own descriptor, so held[] says which
 * slots this daemon already has.
 */
struct lockfile {
	struct lockfile *next;
	char *path;
	int fd;
	uint8_t *held;
	size_t cap;
};

struct slot {
	struct lockfile *lf; /* NULL: none held */
	int i;
};

struct conn {
	struct conn *prev, *next;
	int fd;
	int ofd;		       /* -1: fd is a socket; else the pipe we write (remote shell) */
	enum cstate st;
	int64_t deadline_ms;	       /* INT64_MAX: none; set with deadline_set() */
	size_t hidx;		       /* its place in the daemon's deadline heap, or NO_HEAP */
	struct cfgref *cref;
	const struct oce_dmodule *mod; /* the module chosen */
	struct slot slot;	       /* its "max connections" slot, if it has a limit */
	char addr[OCE_DACC_ADDR_MAX];
	char host[NI_MAXHOST];	       /* "" until looked up */
	int protocol;
	int digest;		       /* auth digest (enum ocp_csum) or OCP_ENOMATCH */
	char challenge[OCP_B64_DIGEST_MAX + 1];
	char user[256];
	int read_only;		       /* -1: the module's */
	char *out;		       /* lines not yet written */
	size_t olen, ooff, ocap;
	uint32_t interest;	       /* what it is registered for (PB_IN / PB_OUT) */
	pid_t early_pid;	       /* ST_EARLY: the process running "early exec" */
	struct job *job;	       /* ST_WAIT: what the lookup helper does for it */
	uint8_t *abuf;		       /* ST_ARGS: bytes of the arguments so far */
	size_t alen, acap, arg_start, nargs;
	struct ocp_linebuf lb;
};

/* A request to the lookup helper, and the connection waiting for it. */
#define JOB_MAGIC 0x6a6f6221u

struct job {
	uint32_t magic;
	struct job *prev, *next;      /* d->jobs: every job the helper has or is to get */
	struct job *qnext;	      /* d->jq: those its socket had no room for yet */
	struct conn *c;		      /* NULL once the connection is gone */
	const struct oce_dmodule *m;  /* MODULE, AUTH: the module (c's snapshot holds it) */
	struct oce_lk_msg msg;
};

struct child {
	pid_t pid;
	struct slot slot;
	bool orphan; /* an "early exec" whose connection went first: only to be reaped */
};

/*
 * A session run by a thread of the transfer pool (start_session()). The
 * loop owns everything here but s, which the thread reads; the thread
 * sends it back over d->done when the session has ended, and the loop then
 * releases the slot and the snapshot, which only the loop touches.
 */
struct tsess {
	struct tsess *prev, *next; /* d->tsess: every session in a thread */
	struct daemon *d;
	struct oce_dsess s;
	struct cfgref *cref;
	struct slot slot;
	uint8_t *abuf; /* the argument bytes s.argv points into */
	const char **argv;
	uint64_t bytes_in, bytes_out;
	int code;
	char addr[OCE_DACC_ADDR_MAX];
	char host[NI_MAXHOST];
	char user[256];
};

/* Why a connection was turned away before its session (metrics). */
enum why {
	M_PROTOCOL,	/* a bad greeting, command or argument list */
	M_UNKNOWN,	/* unknown module */
	M_HOSTS,	/* hosts allow / hosts deny */
	M_MAXCONN,	/* max connections */
	M_LOCK,		/* lock file could not be opened */
	M_AUTH,		/* authentication */
	M_TIMEOUT,	/* the handshake deadline */
	M_GONE,		/* the client left during the handshake */
	M_OTHER,	/* fork failed and the like */
	M_NWHY
};

static const char *const why_name[M_NWHY] = {
    "protocol", "unknown_module", "hosts", "max_connections", "lock_file",
    "auth",	"timeout",	  "client_gone", "other",
};

/* What --metrics-file shows (SIGUSR1 writes it). */
struct metrics {
	uint64_t accepted;	   /* connections taken on */
	uint64_t listings;	   /* module listings served */
	uint64_t refused[M_NWHY];
	uint64_t sessions;	   /* sessions started (in processes and threads) */
	uint64_t thread_sessions;  /* of those, in a pool thread */
	uint64_t xfer_in;	   /* what the thread sessions read and wrote */
	uint64_t xfer_out;
	uint64_t completed;	   /* sessions that exited 0 */
	uint64_t failed;	   /* sessions that exited otherwise */
	uint64_t bytes_in;	   /* handshake bytes read */
	uint64_t bytes_out;	   /* handshake bytes written */
	int64_t started_ms;	   /* when the loop started */
	int64_t busy_ms;	   /* time spent handling events, not waiting */
};

struct daemon {
	const struct oce_opts *o;
	struct pollb pb;
	int lfd;		/* listening socket */
	int sfd;		/* signalfd */
	bool accept_paused;
	int64_t resume_ms;
	struct cfgref *cref;	/* the current snapshot */
	const char *config_path;
	struct conn *conns;
	/* the connections with a deadline, a min-heap on it (deadline_set()) */
	struct conn **heap;
	size_t hn, hcap;
	struct conn *dead;	/* closed during this batch, freed after it */
	/* the lookup helper (srv_lookup.h) and the jobs it has, or waiting for its socket */
	struct oce_lk lk;
	struct job *jobs;
	struct job *jq, **jq_tail;
	bool lk_out;		/* its socket is polled for room */
	size_t nconns;
	struct child *kids;
	size_t nkids, capkids;
	FILE *log;
	struct lockfile *locks;	/* lock files opened so far, by path */
	struct metrics m;
	/*
	 * OC_RSYNC_DAEMON_ASYNC=0: what the connection processes counted,
	 * added at their exit (metrics_merge()) to a shared mapping the
	 * listener reports with its own. NULL otherwise.
	 */
	struct metrics *shared;
	const char *metrics_path; /* --metrics-file, or NULL */
	bool single;		/* inetd or remote shell: one connection, no listener */
	bool fork_each;		/* OC_RSYNC_DAEMON_ASYNC=0: a thread per connection (the listener) */
	bool conn_thread;	/* that thread's own loop: its session runs here, or is waited for */
	size_t nconnthreads;	/* (listener; __atomic) connection threads running */
	int cdone_fd;		/* (listener) an eventfd each connection thread's end writes */
	int status;		/* single: the session's exit code */
	rlim_t nofile_was;	/* the soft RLIMIT_NOFILE we were started with */
	rlim_t nofile_session;	/* and the one a session child gets (raise_nofile()) */
	/*
	 * The transfer pool ("transfer-worker-threads") and the sessions in
	 * its threads; they come back through done (MPSC, its eventfd in the
	 * poll set). NULL pool: every session is a process.
	 */
	struct ocpool *pool;
	struct ocq_chan *done;
	struct ocq_tx done_tx; /* shared by the pool's threads */
	struct ocq_rx done_rx;
	struct tsess *tsess;
	size_t nthreads;
	int home_fd;		/* the daemon's working directory (O_PATH), where sessions start */
	size_t nearly;		/* connections whose "early exec" runs */
	bool stop;
	bool stop_now;		/* a second SIGTERM: do not wait for the threads' sessions */
};

static char tag_listen, tag_signal, tag_lookup, tag_done, tag_cdone;

/* ---- handshake deadlines: a min-heap, so a round costs O(log n), not a walk ---- */

#define NO_HEAP SIZE_MAX

static void
heap_put(struct daemon *d, size_t i, struct conn *c)
{
	d->heap[i] = c;
	c->hidx = i;
}

static void
heap_up(struct daemon *d, size_t i)
{
	struct conn *c = d->heap[i];

	while (i) {
		size_t p = (i - 1) / 2;

		if (d->heap[p]->deadline_ms <= c->deadline_ms)
			break;
		heap_put(d, i, d->heap[p]);
		i = p;
	}
	heap_put(d, i, c);
}

static void
heap_down(struct daemon *d, size_t i)
{
	struct conn *c = d->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = l;

		if (l >= d->hn)
			break;
		if (l + 1 < d->hn && d->heap[l + 1]->deadline_ms < d->heap[l]->deadline_ms)
			m = l + 1;
		if (d->heap[m]->deadline_ms >= c->deadline_ms)
			break;
		heap_put(d, i, d->heap[m]);
		i = m;
	}
	heap_put(d, i, c);
}

static void
heap_remove(struct daemon *d, struct conn *c)
{
	size_t i = c->hidx;
	struct conn *last;

	if (i == NO_HEAP)
		return;
	c->hidx = NO_HEAP;
	last = d->heap[--d->hn];
	if (last == c)
		return;
	heap_put(d, i, last);
	heap_up(d, i);
	heap_down(d, last->hidx);
}

/* c's handshake deadline becomes ms (INT64_MAX: none). -ENOMEM: not tracked, drop it. */
static int
deadline_set(struct daemon *d, struct conn *c, int64_t ms)
{
	c->deadline_ms = ms;
	if (ms == INT64_MAX) {
		heap_remove(d, c);
		return 0;
	}
	if (c->hidx == NO_HEAP) {
		if (d->hn == d->hcap) {
			size_t cap = d->hcap ? d->hcap * 2 : 256;
			struct conn **h = realloc(d->heap, cap * sizeof(*h));

			if (!h)
				return -ENOMEM;
			d->heap = h;
			d->hcap = cap;
		}
		heap_put(d, d->hn++, c);
	}
	heap_up(d, c->hidx);
	heap_down(d, c->hidx);
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line of the daemon log (upstream's "log file" format: date, [pid]). */
static void __attribute__((format(printf, 2, 3)))
dlog(struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	oce_dlog_vto(d->log, 0, fmt, ap);
	va_end(ap);
}

static void
conf_log(void *ctx, const char *line)
{
	struct daemon *d = ctx;

	if (d->log)
		dlog(d, "%s", line);
	else
		fprintf(stderr, "%s\n", line);
}

static int
load_config(struct daemon *d, struct oce_dconf **out)
{
	struct oce_dconf_opts co = {0};

	co.fs = &oce_dconf_posix_fs;
	co.log = conf_log;
	co.log_ctx = d;
	co.dparams = (const char *const *)d->o->dparams.v;
	co.n_dparams = d->o->dparams.n;
	return oce_dconf_load(d->config_path, &co, out);
}

/*
 * (atomic: with OC_RSYNC_DAEMON_ASYNC=0 each connection's thread holds the
 * snapshot it started with, which the listener's SIGHUP may drop meanwhile)
 */
static void
cref_get(struct cfgref *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

static void
cref_put(struct cfgref *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		oce_dconf_free(c->cfg);
		free(c);
	}
}

/* The handshake bound for a module's "timeout" (upstream daemon_handshake_timeout()). */
static int
handshake_s(int timeout)
{
	return timeout <= 0 || timeout > HANDSHAKE_MAX_S ? HANDSHAKE_MAX_S : timeout;
}

/* --- output ------------------------------------------------------------------ */

static int
out_add(struct conn *c, const char *s, size_t n)
{
	if (c->olen + n > c->ocap) {
		size_t cap = c->ocap ? c->ocap : 256;
		char *p;

		while (cap < c->olen + n)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->ocap = cap;
	}
	memcpy(c->out + c->olen, s, n);
	c->olen += n;
	return 0;
}

static int __attribute__((format(printf, 2, 3)))
out_printf(struct conn *c, const char *fmt, ...)
{
	char buf[OCP_DAEMON_LINE_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return out_add(c, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* --- max connections ------------------------------------------------------- */

#define DEFAULT_LOCK_FILE "/var/run/rsyncd.lock"

static void
slot_release(struct slot *sl)
{
	struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_len = 4};

	if (!sl->lf)
		return;
	fl.l_start = 4 * (off_t)sl->i;
	fcntl(sl->lf->fd, F_OFD_SETLK, &fl);
	sl->lf->held[sl->i] = 0;
	sl->lf = NULL;
}

/*
 * Claim one of module m's "max connections" slots into *sl: 0, 1 when all
 * are taken (here or by another daemon on the same lock file), or -errno
 * when the lock file cannot be opened.
 */
static int
slot_claim(struct daemon *d, const struct oce_dmodule *m, struct slot *sl)
{
	const char *path = m->lock_file && *m->lock_file ? m->lock_file : DEFAULT_LOCK_FILE;
	struct lockfile *lf;

	sl->lf = NULL;
	if (m->max_connections <= 0)
		return 0;
	for (lf = d->locks; lf; lf = lf->next)
		if (!strcmp(lf->path, path))
			break;
	if (!lf) {
		int fd = oce_open_trusted(path, O_RDWR | O_CREAT, 0600);

		if (fd < 0)
			return -errno;
		lf = calloc(1, sizeof(*lf));
		if (!lf || !(lf->path = strdup(path))) {
			free(lf);
			close(fd);
			return -ENOMEM;
		}
		lf->fd = fd;
		lf->next = d->locks;
		d->locks = lf;
	}
	if ((size_t)m->max_connections > lf->cap) {
		uint8_t *h = realloc(lf->held, (size_t)m->max_connections);

		if (!h)
			return -ENOMEM;
		memset(h + lf->cap, 0, (size_t)m->max_connections - lf->cap);
		lf->held = h;
		lf->cap = (size_t)m->max_connections;
	}
	for (int i = 0; i < m->max_connections; i++) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 4};

		if (lf->held[i])
			continue;
		fl.l_start = 4 * (off_t)i;
		if (fcntl(lf->fd, F_OFD_SETLK, &fl))
			continue;
		lf->held[i] = 1;
		sl->lf = lf;
		sl->i = i;
		return 0;
	}
	return 1;
}

static void
locks_free(struct daemon *d)
{
	while (d->locks) {
		struct lockfile *lf = d->locks;

		d->locks = lf->next;
		close(lf->fd);
		free(lf->held);
		free(lf->path);
		free(lf);
	}
}

/* --- connections ------------------------------------------------------------- */

/*
 * Close a connection. Its struct stays until the current batch of events
 * is done (a later event of the batch may name it; it is skipped by fd -1).
 */
static int
grow_kids(struct daemon *d)
{
	size_t cap = d->capkids ? d->capkids * 2 : 16;
	struct child *p = realloc(d->kids, cap * sizeof(*p));

	if (!p)
		return -1;
	d->kids = p;
	d->capkids = cap;
	return 0;
}

static void
conn_drop(struct daemon *d, struct conn *c, bool close_fds)
{
	if (c->fd < 0)
		return;
	heap_remove(d, c);
	d->pb.ops->del(&d->pb, c->fd);
	if (close_fds) {
		close(c->fd);
		if (c->ofd >= 0)
			close(c->ofd);
	}
	c->fd = -1;
	c->ofd = -1;
	c->mod = NULL;
	if (c->early_pid > 0) {
		/* its hook still runs: reaped later as a child of no connection */
		d->nearly--;
		if (d->nkids < d->capkids || grow_kids(d) == 0)
			d->kids[d->nkids++] = (struct child){.pid = c->early_pid, .orphan = true};
		c->early_pid = 0;
	}
	if (c->job) {
		/* the helper's answer is dropped when it comes */
		c->job->c = NULL;
		c->job = NULL;
	}
	slot_release(&c->slot);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->nconns--;
	c->prev = NULL;
	c->next = d->dead;
	d->dead = c;
	/* A freed descriptor may let a paused accept go on. */
	if (d->accept_paused)
		d->resume_ms = 0;
}

static void
conn_free(struct daemon *d, struct conn *c)
{
	conn_drop(d, c, true);
}

static void
bury(struct daemon *d)
{
	while (d->dead) {
		struct conn *c = d->dead;

		d->dead = c->next;
		cref_put(c->cref);
		free(c->out);
		free(c->abuf);
		free(c);
	}
}

/*
 * Poll for what the connection waits for: input until it is closing (a
 * closing client that keeps sending must not wake the loop), output while
 * lines are pending.
 */
static void
conn_interest(struct daemon *d, struct conn *c, bool pending)
{
	uint32_t ev = (c->st == ST_CLOSE || c->st == ST_WAIT ? 0 : PB_IN) | (pending ? PB_OUT : 0);

	if (ev != c->interest) {
		c->interest = ev;
		d->pb.ops->set(&d->pb, c->fd, ev, c, true);
	}
}

/* Write what is pending; 0, 1 when all is out, or -errno. */
static int
conn_flush(struct daemon *d, struct conn *c)
{
	while (c->ooff < c->olen) {
		ssize_t n = c->ofd >= 0 ? write(c->ofd, c->out + c->ooff, c->olen - c->ooff)
				       : send(c->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			conn_interest(d, c, true);
			return 0;
		}
		c->ooff += (size_t)n;
		d->m.bytes_out += (uint64_t)n;
	}
	c->ooff = c->olen = 0;
	conn_interest(d, c, false);
	return 1;
}

/* --- the handshake ------------------------------------------------------------- */

static void
send_motd(struct conn *c)
{
	const char *motd = c->cref->cfg->g.motd_file;
	char buf[4096];
	ssize_t n;
	int fd;

	if (!motd || !*motd)
		return;
	fd = open(motd, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			out_add(c, buf, (size_t)n);
		close(fd);
	}
	out_add(c, "\n", 1);
}

static void
send_listing(struct conn *c)
{
	const struct oce_dconf *cfg = c->cref->cfg;
	char line[OCP_DAEMON_LINE_MAX + 64];

	for (size_t i = 0; i < cfg->n_modules; i++) {
		const struct oce_dmodule *m = &cfg->modules[i];
		int n;

		if (!m->list)
			continue;
		n = ocp_modlist_encode(line, sizeof(line), m->name, m->comment ? m->comment : "");
		if (n > 0)
			out_add(c, line, (size_t)n);
	}
	out_printf(c, "@RSYNCD: EXIT\n");
}

static void
fail(struct conn *c)
{
	c->st = ST_CLOSE;
}

/* Turn c away for a reason the metrics count. */
static void
refuse(struct daemon *d, struct conn *c, enum why why)
{
	if (c->st != ST_CLOSE)
		d->m.refused[why]++;
	fail(c);
}

static void
send_ok(struct daemon *d, struct conn *c)
{
	out_printf(c, "@RSYNCD: OK\n");
	deadline_set(d, c, now_ms() + 1000LL * handshake_s(c->mod->timeout));
	c->st = ST_ARGS;
}

/*
 * The module's "early exec", in a process of its own so that the loop
 * goes on: reap() answers for it once it ends (upstream runs it in the
 * session's process before "@RSYNCD: OK", and its time is not the
 * client's). It gets RSYNC_REQUEST "(NONE)" and no arguments.
 */
static void close_all_but(int *keep, size_t n);
static void kid_end(struct daemon *d, pid_t pid, int st);

/* c's "early exec" ended with wait status st: go on, or refuse. */
static void
early_end(struct daemon *d, struct conn *c, int st)
{
	c->early_pid = 0;
	d->nearly--;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		send_ok(d, c);
	} else {
		dlog(d, "early exec failed for %s (status %d)", c->addr, st);
		out_printf(c, "@ERROR: early exec failed\n");
		c->st = ST_CLOSE;
	}
}

/* In a child: the soft open-files limit upstream's session process would have. */
static void
session_nofile(const struct daemon *d)
{
	struct rlimit rl;

	if (d->nofile_session && !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur > d->nofile_session) {
		rl.rlim_cur = d->nofile_session;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
start_early_exec(struct daemon *d, struct conn *c)
{
	pid_t pid = oce_fork_gated();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;
		char num[32];
		int st, in;

		close(d->lfd);
		close(d->sfd);
		if (d->lk.fd >= 0)
			close(d->lk.fd);
		d->pb.ops->fini(&d->pb);
		for (struct conn *o = d->conns; o; o = o->next)
			close(o->fd);
		if (d->log)
			fclose(d->log);
		/* nothing of the sessions in threads, and their soft open-files limit */
		close_all_but(NULL, 0);
		session_nofile(d);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		oce_dsess_hook_env(c->mod, c->addr, c->host[0] ? c->host : OCE_DACC_UNDETERMINED,
				   c->user);
		snprintf(num, sizeof(num), "%ld", (long)getpid());
		setenv("RSYNC_PID", num, 1);
		setenv("RSYNC_REQUEST", "(NONE)", 1);
		in = open("/dev/null", O_RDONLY);
		if (in > 0) {
			dup2(in, 0);
			close(in);
		}
		st = system(c->mod->early_exec);
		oce_fast_exit(st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	c->early_pid = pid;
	d->nearly++;
	c->st = ST_EARLY;
	deadline_set(d, c, INT64_MAX);
	if (d->conn_thread) {
		/* the connection's own thread: nothing else to do meanwhile, and no SIGCHLD */
		int st = oce_dsess_wait(pid);

		early_end(d, c, st == -1 ? 1 << 8 : st);
	}
	return 0;
}

static void
begin_args(struct daemon *d, struct conn *c)
{
	char buf[512];
	const char *e = oce_dsess_precheck(c->cref->cfg, c->mod, buf, sizeof(buf));

	if (e) {
		out_add(c, e, strlen(e));
		c->st = ST_CLOSE;
		return;
	}
	if (c->mod->early_exec && *c->mod->early_exec && !getenv("RSYNC_NO_XFER_EXEC")) {
		if (start_early_exec(d, c)) {
			dlog(d, "early exec preparation failed: %s", strerror(errno));
			out_printf(c, "@ERROR: early exec preparation failed\n");
			c->st = ST_CLOSE;
		}
		return;
	}
	send_ok(d, c);
}

static void
on_greeting(struct daemon *d, struct conn *c, const char *line, size_t len)
{
	struct ocp_greeting g;
	struct ocp_namelist ours;

	(void)d;
	if (ocp_greeting_parse(line, len, &g) < 0) {
		out_printf(c, "@ERROR: protocol startup error\n");
		refuse(d, c, M_PROTOCOL);
		return;
	}
	c->protocol = ocp_daemon_protocol(OUR_PROTOCOL, OUR_SUBPROTOCOL, &g);
	if (c->protocol < 0) {
		out_printf(c, "@ERROR: protocol startup error\n");
		refuse(d, c, M_PROTOCOL);
		return;
	}
	ocp_auth_digests_default(&ours);
	c->digest = ocp_auth_digest_choose(&ours, &g);
	c->st = ST_MODULE;
}

/* --- look-ups: jobs of the lookup helper (srv_lookup.h) ----------------------- */

static void conn_service(struct daemon *d, struct conn *c);

static void greet(struct daemon *d, struct conn *c);
static void module_go(struct daemon *d, struct conn *c, const struct oce_dmodule *m, bool allowed,
		      const char *matched, bool use_host);
static void auth_go(struct daemon *d, struct conn *c, const struct oce_lk_rep *rep);

/* A request about c; lookup: its name is wanted (not looked up again once known). */
static void
msg_init(struct oce_lk_msg *msg, const struct conn *c, enum oce_lk_kind kind, bool lookup)
{
	memset(msg, 0, sizeof(*msg));
	msg->rq.kind = (uint8_t)kind;
	msg->rq.lookup = lookup && !c->host[0];
	if (msg->rq.lookup)
		msg->rq.sl = oce_lk_peer(c->fd, c->ofd, c->addr, &msg->rq.ss);
	snprintf(msg->rq.addr, sizeof(msg->rq.addr), "%s", c->addr);
	snprintf(msg->rq.host, sizeof(msg->rq.host), "%s", c->host);
	snprintf(msg->rq.challenge, sizeof(msg->rq.challenge), "%s", c->challenge);
}

/* The request's strings (LKS_* order); 0 or -ENOMEM (msg freed). */
static int
msg_strings(struct oce_lk_msg *msg, const char *allow, const char *deny, const char *users,
	    const char *secrets, const char *response)
{
	const char *v[LKS_N] = {allow, deny, users, secrets, response};

	for (int i = 0; i < LKS_N; i++) {
		if (oce_lk_msg_add(msg, v[i])) {
			oce_lk_msg_free(msg);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The work is done (by the helper or here): c goes on from where it waited. */
static void
job_cont(struct daemon *d, struct conn *c, const struct oce_dmodule *m, const struct oce_lk_req *rq,
	 const struct oce_lk_rep *rep, char *log)
{
	if (rq->lookup)
		snprintf(c->host, sizeof(c->host), "%s", rep->host);
	for (char *l = log, *e; l && *l; l = e + 1) {
		e = strchr(l, '\n');
		if (!e)
			break;
		*e = '\0';
		dlog(d, "%s", l);
	}
	switch (rq->kind) {
	case OCE_LK_NAME:
		greet(d, c);
		break;
	case OCE_LK_MODULE:
		c->st = ST_MODULE;
		module_go(d, c, m, rep->allowed, rep->matched, rq->use_host);
		break;
	default:
		c->st = ST_AUTH;
		auth_go(d, c, rep);
	}
}

/* Do msg here (blocking), and go on. */
static void
job_in_place(struct daemon *d, struct conn *c, const struct oce_dmodule *m, struct oce_lk_msg *msg)
{
	struct oce_lk_rep rep;
	char *log = NULL;

	/*
	 * (Not inside the fork gate, util.h: a name look-up may wait seconds
	 * on the network, and every fork and log line would wait with it.
	 * glibc's look-ups by name hold no lock of their own across the call.)
	 */
	oce_lk_run(msg, &rep, &log);
	if (c)
		job_cont(d, c, m, &msg->rq, &rep, log);
	free(log);
	oce_lk_msg_free(msg);
}

static void
job_unlink(struct daemon *d, struct job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		d->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	if (j->c)
		j->c->job = NULL;
	j->magic = 0;
}

/* Poll the helper's socket for room only while requests wait for it. */
static void
lk_interest(struct daemon *d)
{
	bool out = d->jq != NULL;

	if (d->lk.fd >= 0 && out != d->lk_out) {
		d->lk_out = out;
		d->pb.ops->set(&d->pb, d->lk.fd, PB_IN | (out ? PB_OUT : 0), &tag_lookup, true);
	}
}

/*
 * The helper is gone (it should not go; the log says so): what it had is
 * done here, and so is everything after, as before it existed.
 */
static void
lk_lost(struct daemon *d, int err)
{
	struct job *js = d->jobs;

	if (d->lk.fd < 0)
		return;
	dlog(d, "lookup helper lost (%s); name look-ups now run in the loop", strerror(-err));
	d->pb.ops->del(&d->pb, d->lk.fd);
	oce_lk_stop(&d->lk);
	d->jobs = NULL;
	d->jq = NULL;
	d->jq_tail = &d->jq;
	d->lk_out = false;
	while (js) {
		struct job *j = js;
		struct conn *c = j->c;

		js = j->next;
		if (c)
			c->job = NULL;
		j->magic = 0;
		job_in_place(d, c, j->m, &j->msg);
		if (c && c->fd >= 0)
			conn_service(d, c);
		free(j);
	}
}

/* Send what waited for room in the helper's socket. */
static void
lk_flush(struct daemon *d)
{
	while (d->jq) {
		struct job *j = d->jq;
		int r = oce_lk_send(&d->lk, &j->msg);

		if (r == -EAGAIN)
			break;
		if (r) {
			lk_lost(d, r);
			return;
		}
		d->jq = j->qnext;
		if (!d->jq)
			d->jq_tail = &d->jq;
	}
	lk_interest(d);
}

/*
 * c waits (ST_WAIT, its input left unread) while the helper does msg, whose
 * strings this takes; job_cont() goes on when it is back. Without a helper,
 * or for a request too large for it, done here.
 */
static void
job_submit(struct daemon *d, struct conn *c, const struct oce_dmodule *m, struct oce_lk_msg *msg)
{
	struct job *j = d->lk.fd >= 0 ? calloc(1, sizeof(*j)) : NULL;
	int r;

	if (!j) {
		job_in_place(d, c, m, msg);
		return;
	}
	j->magic = JOB_MAGIC;
	j->c = c;
	j->m = m;
	j->msg = *msg;
	j->msg.rq.id = (uint64_t)(uintptr_t)j;
	r = d->jq ? -EAGAIN : oce_lk_send(&d->lk, &j->msg);
	if (r && r != -EAGAIN) {
		*msg = j->msg;
		free(j);
		if (r != -EMSGSIZE)
			lk_lost(d, r);
		job_in_place(d, c, m, msg);
		return;
	}
	if (r == -EAGAIN) {
		*d->jq_tail = j;
		d->jq_tail = &j->qnext;
		lk_interest(d);
	}
	j->next = d->jobs;
	if (d->jobs)
		d->jobs->prev = j;
	d->jobs = j;
	c->job = j;
	c->st = ST_WAIT;
	conn_interest(d, c, c->ooff < c->olen);
}

/* The helper's socket: room for what waits, replies. */
static void
lk_event(struct daemon *d, uint32_t events)
{
	struct oce_lk_rep rep;
	char *log;
	int r;

	if (events & PB_OUT)
		lk_flush(d);
	while (d->lk.fd >= 0 && (r = oce_lk_recv(&d->lk, &rep, &log)) != 0) {
		struct job *j;

		if (r < 0) {
			lk_lost(d, r);
			break;
		}
		j = (struct job *)(uintptr_t)rep.id;
		if (!j || j->magic != JOB_MAGIC) {
			free(log);
			continue; /* (cannot be: one reply per request) */
		}
		if (j->c) {
			struct conn *c = j->c;

			job_unlink(d, j);
			job_cont(d, c, j->m, &j->msg.rq, &rep, log);
			if (c->fd >= 0)
				conn_service(d, c);
		} else {
			job_unlink(d, j);
		}
		free(log);
		oce_lk_msg_free(&j->msg);
		free(j);
	}
	bury(d);
}

/* The helper, for a daemon with a listener (one connection per process does it in place). */
static void
lk_start(struct daemon *d)
{
	int r = oce_lk_start(&d->lk, 4); /* (waiting on resolvers, not computing) */

	if (!r && d->pb.ops->set(&d->pb, d->lk.fd, PB_IN, &tag_lookup, false))
		r = -EIO;
	if (r) {
		oce_lk_stop(&d->lk);
		dlog(d, "lookup helper not started (%s); name look-ups run in the loop", strerror(-r));
		return;
	}
	dlog(d, "lookup helper in process %d", (int)d->lk.pid);
}

/* At the end: the helper and whatever it still had. */
static void
lk_stop(struct daemon *d)
{
	if (d->lk.fd >= 0)
		d->pb.ops->del(&d->pb, d->lk.fd);
	oce_lk_stop(&d->lk);
	while (d->jobs) {
		struct job *j = d->jobs;

		job_unlink(d, j);
		oce_lk_msg_free(&j->msg);
		free(j);
	}
	d->jq = NULL;
	d->jq_tail = &d->jq;
}

static void
on_module(struct daemon *d, struct conn *c, const char *line)
{
	const struct oce_dconf *cfg = c->cref->cfg;
	const struct oce_dmodule *m;
	struct oce_lk_msg msg;
	bool lookup;

	if (!*line || !strcmp(line, "#list")) {
		/* (named at connect when there is a log to show it: greet()) */
		dlog(d, "module-list request from %s (%s)", c->host[0] ? c->host : OCE_DACC_UNDETERMINED,
		     c->addr);
		send_listing(c);
		d->m.listings++;
		fail(c);
		return;
	}
	if (*line == '#') {
		out_printf(c, "@ERROR: Unknown command '%s'\n", line);
		refuse(d, c, M_UNKNOWN);
		return;
	}
	m = oce_dconf_module(cfg, line);
	if (!m) {
		dlog(d, "unknown module '%s' tried from %s (%s)", line,
		     c->host[0] ? c->host : OCE_DACC_UNDETERMINED, c->addr);
		out_printf(c, "@ERROR: Unknown module '%s'\n", line);
		refuse(d, c, M_UNKNOWN);
		return;
	}
	lookup = cfg->defaults.reverse_lookup || m->reverse_lookup;
	/* Rules may name hosts (forward look-ups); no rules and a known name need nothing. */
	if ((lookup && !c->host[0]) || (m->hosts_allow && *m->hosts_allow) ||
	    (m->hosts_deny && *m->hosts_deny)) {
		msg_init(&msg, c, OCE_LK_MODULE, lookup);
		msg.rq.use_host = lookup;
		msg.rq.forward_lookup = m->forward_lookup;
		if (msg_strings(&msg, m->hosts_allow, m->hosts_deny, NULL, NULL, NULL)) {
			out_printf(c, "@ERROR: out of memory\n");
			refuse(d, c, M_OTHER);
			return;
		}
		job_submit(d, c, m, &msg);
		return;
	}
	module_go(d, c, m, true, "", lookup);
}

/* The module chosen, its access rules decided: limits, then auth or the arguments. */
static void
module_go(struct daemon *d, struct conn *c, const struct oce_dmodule *m, bool allowed,
	  const char *matched, bool use_host)
{
	int r;

	if (!allowed) {
		char buf[OCP_DAEMON_LINE_MAX];
		const char *host = use_host ? c->host : *matched ? matched : OCE_DACC_UNDETERMINED;

		dlog(d, "rsync denied on module %s from %s (%s)", m->name, host, c->addr);
		oce_dacc_denied_line(buf, sizeof(buf), m->name, m->list, host, c->addr);
		out_add(c, buf, strlen(buf));
		refuse(d, c, M_HOSTS);
		return;
	}
	if (!d->o->server) /* (upstream: not a daemon over a remote shell) */
		dlog(d, "rsync allowed access on module %s from %s (%s)", m->name,
		     use_host ? c->host : *matched ? matched : OCE_DACC_UNDETERMINED, c->addr);
	r = slot_claim(d, m, &c->slot);
	if (r < 0) {
		dlog(d, "failed to open lock file %s: %s (%d)",
		     m->lock_file && *m->lock_file ? m->lock_file : DEFAULT_LOCK_FILE, strerror(-r), -r);
		out_printf(c, "@ERROR: failed to open lock file\n");
		refuse(d, c, M_LOCK);
		return;
	}
	if (r > 0) {
		dlog(d, "max connections (%d) reached", m->max_connections);
		out_printf(c, "@ERROR: max connections (%d) reached -- try again later\n",
			   m->max_connections);
		refuse(d, c, M_MAXCONN);
		return;
	}
	c->mod = m;
	/* The module's own timeout may tighten the deadline. */
	if (now_ms() + 1000LL * handshake_s(m->timeout) < c->deadline_ms)
		deadline_set(d, c, now_ms() + 1000LL * handshake_s(m->timeout));
	c->read_only = -1;
	if (!m->auth_users || !*m->auth_users) {
		begin_args(d, c);
		return;
	}
	if (c->digest < 0) {
		out_printf(c, "@ERROR: your client does not support one of our daemon-auth "
			      "checksums: sha512 sha256 sha1 md5 md4\n");
		refuse(d, c, M_AUTH);
		return;
	}
	r = oce_dauth_digest_floor(m->auth_digest, (enum ocp_csum)c->digest);
	if (r) {
		/* upstream auth_server()'s two reasons */
		const char *host = c->host[0] ? c->host : OCE_DACC_UNDETERMINED;

		if (r == -EINVAL)
			dlog(d, "auth failed on module %s from %s (%s): the configured 'auth digest = %s' "
				"is not a supported digest on this build", m->name, host, c->addr,
			     m->auth_digest);
		else
			dlog(d, "auth failed on module %s from %s (%s): negotiated auth digest %s is "
				"weaker than the required 'auth digest = %s'", m->name, host, c->addr,
			     ocp_csum_name((enum ocp_csum)c->digest), m->auth_digest);
		out_printf(c, "@ERROR: auth failed on module %s\n", m->name);
		refuse(d, c, M_AUTH);
		return;
	}
	{
		uint8_t rnd[32];

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd) ||
		    ocp_auth_challenge(c->challenge, sizeof(c->challenge), (enum ocp_csum)c->digest,
				       rnd, sizeof(rnd)) < 0) {
			out_printf(c, "@ERROR: auth failed on module %s\n", m->name);
			refuse(d, c, M_AUTH);
			return;
		}
	}
	out_printf(c, "@RSYNCD: AUTHREQD %s\n", c->challenge);
	c->st = ST_AUTH;
}

static void
on_auth(struct daemon *d, struct conn *c, const char *line, size_t len)
{
	const struct oce_dmodule *m = c->mod;
	struct oce_lk_msg msg;

	(void)len; /* (a C string, as upstream reads it) */
	msg_init(&msg, c, OCE_LK_AUTH, false);
	msg.rq.digest = c->digest;
	msg.rq.strict_modes = m->strict_modes;
	if (msg_strings(&msg, NULL, NULL, m->auth_users, m->secrets_file, line)) {
		out_printf(c, "@ERROR: auth failed on module %s\n", m->name);
		refuse(d, c, M_AUTH);
		return;
	}
	job_submit(d, c, m, &msg);
}

/* The challenge response checked (by the helper: secrets file, groups). */
static void
auth_go(struct daemon *d, struct conn *c, const struct oce_lk_rep *rep)
{
	const struct oce_dmodule *m = c->mod;

	if (rep->auth_r) {
		dlog(d, "auth failed on module %s from %s (%s)%s%s: %s", m->name,
		     c->host[0] ? c->host : OCE_DACC_UNDETERMINED, c->addr, rep->user[0] ? " for " : "",
		     rep->user, rep->err);
		out_printf(c, "@ERROR: auth failed on module %s\n", m->name);
		refuse(d, c, M_AUTH);
		return;
	}
	snprintf(c->user, sizeof(c->user), "%s", rep->user);
	c->read_only = rep->read_only;
	begin_args(d, c);
}

/* Hand a ready session to a child process; the loop forgets the socket. */
/*
 * In a session's child: close every descriptor from 3 up but those in
 * keep (-1 entries ignored).
 */
static void
close_all_but(int *keep, size_t n)
{
	unsigned lo = 3;

	/* sorted, so that the gaps between them close in one call each */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)keep[i] : ~0u;

		if (i < n && (keep[i] < 0 || (unsigned)keep[i] < lo))
			continue;
		if (hi > lo && close_range(lo, hi - 1, 0) && errno == ENOSYS) {
			/* (before Linux 5.9) one by one, up to the soft limit */
			struct rlimit rl;
			unsigned top = !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < hi ? (unsigned)rl.rlim_cur : hi;

			for (unsigned fd = lo; fd < top; fd++)
				close((int)fd);
		}
		if (i < n)
			lo = (unsigned)keep[i] + 1;
	}
}

/*
 * A session of connection c to run in a thread (the pool's, or the
 * connection's own with OC_RSYNC_DAEMON_ASYNC=0): it takes c's socket,
 * argument bytes, slot and a reference to its snapshot, and c is gone from
 * the loop (before a thread may close the socket). NULL: no memory, c
 * untouched.
 */
static struct tsess *
tsess_new(struct daemon *d, struct conn *c, const char **argv, size_t argc)
{
	struct tsess *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->d = d;
	snprintf(t->addr, sizeof(t->addr), "%s", c->addr);
	snprintf(t->host, sizeof(t->host), "%s", c->host[0] ? c->host : OCE_DACC_UNDETERMINED);
	snprintf(t->user, sizeof(t->user), "%s", c->user);
	t->abuf = c->abuf;
	t->argv = argv;
	c->abuf = NULL;
	t->cref = c->cref;
	cref_get(t->cref);
	t->slot = c->slot; /* the session holds the slot now */
	c->slot.lf = NULL;
	t->s.cfg = c->cref->cfg;
	t->s.mod = c->mod;
	t->s.fd = t->s.ofd = c->fd;
	t->s.protocol = c->protocol;
	t->s.read_only = c->read_only < 0 ? c->mod->read_only : c->read_only;
	t->s.addr = t->addr;
	t->s.host = t->host;
	t->s.user = t->user;
	t->s.argv = (char **)argv;
	t->s.argc = argc;
	t->s.log = d->log;
	t->s.in_thread = true;
	t->s.hook_nofile = (unsigned long)d->nofile_session;
	t->s.bytes_in = &t->bytes_in;
	t->s.bytes_out = &t->bytes_out;
	dlog(d, "session for module %s from %s (%s) in a thread", c->mod->name, t->host, c->addr);
	conn_drop(d, c, false);
	d->m.sessions++;
	d->m.thread_sessions++;
	return t;
}

/* Run the session on the calling thread; its exit code goes to t->code. */
static void
tsess_exec(struct tsess *t)
{
	t->s.log_pid = (long)gettid();
	/*
	 * Its own working directory, root and umask: the session changes
	 * into its module, which must not move the loop or another session.
	 * Threads the session starts share this one. It starts where the
	 * daemon stands (this thread may have served another module before),
	 * where its exec hooks run, as a forked session's do.
	 */
	if (unshare(CLONE_FS) || fchdir(t->d->home_fd)) {
		char line[128];

		snprintf(line, sizeof(line), "unshare(CLONE_FS) or fchdir failed: %s", strerror(errno));
		oce_dlog_to(t->s.log, t->s.log_pid, line, strlen(line));
		close(t->s.fd);
		t->code = RERR_IPC;
	} else {
		/*
		 * A receiving run leaves its thread tagged "generator" (the
		 * client's last lines say so); this thread may have run one.
		 */
		oce_set_role(NULL);
		t->code = oce_dsess_run(&t->s);
	}
}

/* (the loop's thread) A session has ended: count it, release its slot and snapshot. */
static void
tsess_end(struct daemon *d, struct tsess *t)
{
	if (t->code)
		d->m.failed++;
	else
		d->m.completed++;
	d->m.xfer_in += t->bytes_in;
	d->m.xfer_out += t->bytes_out;
	slot_release(&t->slot);
	cref_put(t->cref);
	free(t->abuf);
	free(t->argv);
	free(t);
	/* its descriptors are free: a paused accept may go on */
	if (d->accept_paused)
		d->resume_ms = 0;
}

/* A pool thread: the session, then back to the loop. */
static int
tsess_run(void *arg)
{
	struct tsess *t = arg;

	ocpool_blocking_begin(); /* it waits on its client for as long as the transfer takes */
	tsess_exec(t);
	ocpool_blocking_end();
	/* the channel has room for every session in flight: this does not wait */
	ocq_send(&t->d->done_tx, t);
	return 0;
}

/*
 * Hand the connection's session to the pool: 0, or -1 to fork it instead.
 * The connection is gone from the loop afterwards either way but -1.
 */
static int
start_thread(struct daemon *d, struct conn *c, const char **argv, size_t argc)
{
	struct tsess *t = tsess_new(d, c, argv, argc);
	int r;

	if (!t)
		return -1;
	t->next = d->tsess;
	if (t->next)
		t->next->prev = t;
	d->tsess = t;
	d->nthreads++;
	/* (room: fewer than TSESS_MAX in flight, the queue's size) */
	r = ocpool_try_submit(d->pool, tsess_run, t, NULL);
	if (r) {
		dlog(d, "transfer pool: %s; closing %s", strerror(-r), t->addr);
		close(t->s.fd);
		t->code = RERR_IPC;
		if (ocq_send(&d->done_tx, t))
			abort(); /* cannot happen: the loop's own channel, with room */
	}
	return 0;
}

/* Sessions back from the pool: their ends counted, their slots and snapshots released. */
static void
tsess_reap(struct daemon *d)
{
	void *item;

	for (;;) {
		while (ocq_try_recv(&d->done_rx, &item) == 0) {
			struct tsess *t = item;

			if (t->prev)
				t->prev->next = t->next;
			else
				d->tsess = t->next;
			if (t->next)
				t->next->prev = t->prev;
			d->nthreads--;
			tsess_end(d, t);
		}
		/* 0: the eventfd will say when there is more; 1: look again now */
		if (ocq_rx_arm(&d->done_rx) != 1)
			return;
	}
}

static void
start_session(struct daemon *d, struct conn *c)
{
	/* as many as upstream's daemon takes (a real client sends < 1000) */
	const char **argv = malloc(OCP_DAEMON_SERVER_ARGS_MAX * sizeof(*argv));
	size_t argc = 0;
	struct oce_dsess s = {0};
	struct child *k;
	pid_t pid;

	if (!argv || ocp_dec_args(c->abuf, c->alen, argv, OCP_DAEMON_SERVER_ARGS_MAX, &argc) <= 0) {
		free(argv);
		fail(c);
		return;
	}
	/* a thread of the pool when nothing but the working directory changes (upstream forks) */
	if (d->pool && d->nthreads < TSESS_MAX && !oce_dsess_needs_process(c->cref->cfg, c->mod) &&
	    start_thread(d, c, argv, argc) == 0)
		return;
	/* OC_RSYNC_DAEMON_ASYNC=0: on this connection's own thread */
	if (d->conn_thread && !oce_dsess_needs_process(c->cref->cfg, c->mod)) {
		struct tsess *t = tsess_new(d, c, argv, argc);

		if (t) {
			tsess_exec(t);
			tsess_end(d, t);
			return;
		}
	}
	if (d->nkids == d->capkids && grow_kids(d)) {
		free(argv);
		fail(c);
		return;
	}
	k = &d->kids[d->nkids];
	/* (the child runs a whole session beside nothing: no lock a thread held, util.h) */
	pid = oce_fork_gated();
	if (pid < 0) {
		out_printf(c, "@ERROR: fork failed\n");
		refuse(d, c, M_OTHER);
		free(argv);
		return;
	}
	if (pid == 0) {
		sigset_t none;

		/* The child keeps only its socket. */
		close(d->lfd);
		close(d->sfd);
		if (d->lk.fd >= 0)
			close(d->lk.fd);
		d->pb.ops->fini(&d->pb);
		for (struct conn *o = d->conns; o; o = o->next)
			if (o != c)
				close(o->fd);
		/*
		 * And whatever the sessions in threads have open: a copy of a
		 * session's socket or pipe held here would keep it open past
		 * that session's end. The daemon's log stays: the session
		 * writes its lines there (upstream's FLOG).
		 */
		{
			int keep[3] = {c->fd, c->ofd, d->log ? fileno(d->log) : -1};

			close_all_but(keep, 3);
		}
		/*
		 * The session and what it runs (pre-xfer exec, ...) get the
		 * soft limit upstream's child would have, not the loop's. The
		 * socket may be numbered above it: open descriptors stay valid.
		 */
		session_nofile(d);
#if OCE_TSAN
		/*
		 * ThreadSanitizer cannot follow a child that starts threads after
		 * a fork beside threads (it kills it): in a TSan build such a
		 * session runs the engine's sequential twins. Other builds keep
		 * their threads (the ASan and plain runs test those).
		 */
		setenv("OC_RSYNC_ASYNC", "0", 1);
#endif
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		s.cfg = c->cref->cfg;
		s.mod = c->mod;
		s.fd = c->fd;
		s.ofd = c->ofd >= 0 ? c->ofd : c->fd;
		s.protocol = c->protocol;
		s.read_only = c->read_only < 0 ? c->mod->read_only : c->read_only;
		s.addr = c->addr;
		s.host = c->host[0] ? c->host : OCE_DACC_UNDETERMINED;
		s.user = c->user;
		s.argv = (char **)argv;
		s.argc = argc;
		s.log = d->log;
		oce_fast_exit(oce_dsess_run(&s));
	}
	k->pid = pid;
	k->orphan = false;
	d->m.sessions++;
	k->slot = c->slot; /* the child holds the slot now */
	c->slot.lf = NULL;
	d->nkids++;
	dlog(d, "session for module %s from %s (%s) in process %d", c->mod->name,
	     c->host[0] ? c->host : OCE_DACC_UNDETERMINED, c->addr, (int)pid);
	conn_free(d, c);
	free(argv);
	/* a connection's thread has no SIGCHLD of its own: it waits for its child here */
	if (d->conn_thread) {
		int st = oce_dsess_wait(pid);

		kid_end(d, pid, st == -1 ? 1 << 8 : st);
	}
}

/* Take argument bytes from in[0..n); how many were used, and whether the list ended. */
static size_t
take_args(struct conn *c, const uint8_t *in, size_t n, bool *done, int *err)
{
	size_t i;

	*done = false;
	*err = 0;
	if (c->alen + n > c->acap) {
		size_t cap = c->acap ? c->acap : 1024;
		uint8_t *p;

		while (cap < c->alen + n)
			cap *= 2;
		if (cap > ARGS_MAX_BYTES + 8192)
			cap = ARGS_MAX_BYTES + 8192;
		p = realloc(c->abuf, cap);
		if (!p) {
			*err = -ENOMEM;
			return 0;
		}
		c->abuf = p;
		c->acap = cap;
	}
	for (i = 0; i < n; i++) {
		/*
		 * Upstream read_line() keeps what its 5120-byte buffer holds
		 * and drops the rest of a longer line: such an argument is
		 * cut, not refused (rsync 3.5.0 then runs with it).
		 */
		if (in[i] != 0 && c->alen - c->arg_start >= OCP_DAEMON_LINE_MAX)
			continue;
		if (c->alen >= c->acap || c->alen >= ARGS_MAX_BYTES) {
			*err = OCP_ETOOLONG;
			return i;
		}
		/* upstream read_args(): "too many daemon arguments" past MAX_DAEMON_ARGS */
		if (in[i] != 0 && c->alen == c->arg_start && c->nargs >= OCP_DAEMON_SERVER_ARGS_MAX) {
			*err = OCP_ETOOLONG;
			return i;
		}
		c->abuf[c->alen++] = in[i];
		if (in[i] == 0) {
			if (c->alen - 1 == c->arg_start) {
				*done = true;
				return i + 1;
			}
			c->arg_start = c->alen;
			c->nargs++;
		}
	}
	return i;
}

/* Readable: peek, run the state machine on what it may consume, read exactly that. */
static void
conn_read(struct daemon *d, struct conn *c)
{
	uint8_t buf[4096];

	while (c->st != ST_CLOSE && c->st != ST_WAIT) {
		/*
		 * A socket is peeked, so that what follows the arguments stays
		 * for the session; a pipe cannot be, and is read a byte at a time
		 * (the handshake is a few lines).
		 */
		ssize_t n = c->ofd >= 0 ? read(c->fd, buf, 1) : recv(c->fd, buf, sizeof(buf), MSG_PEEK);
		size_t used = 0;
		bool ready = false;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			/* gone: nothing more to say */
			c->olen = c->ooff = 0;
			refuse(d, c, M_GONE);
			return;
		}
		if (n < 0)
			return;
		/*
		 * Nothing is due before "@RSYNCD: OK", which waits for the early
		 * exec; input now (left unread it would wake the loop again and
		 * again) ends the connection.
		 */
		if (c->st == ST_EARLY) {
			dlog(d, "input from %s before @RSYNCD: OK", c->addr);
			c->olen = c->ooff = 0;
			refuse(d, c, M_PROTOCOL);
			return;
		}
		if (c->ofd >= 0)
			d->m.bytes_in += (uint64_t)n; /* a pipe's byte is taken already */
		while (used < (size_t)n && c->st != ST_CLOSE && c->st != ST_WAIT && !ready) {
			if (c->st == ST_ARGS) {
				int err;

				used += take_args(c, buf + used, (size_t)n - used, &ready, &err);
				if (err) {
					dlog(d, "too many daemon arguments from %s", c->addr);
					refuse(d, c, M_PROTOCOL);
					return;
				}
			} else {
				const char *line;
				size_t len;
				int r = ocp_linebuf_feed(&c->lb, buf + used, (size_t)n - used, &line, &len);

				if (r < 0) {
					c->olen = c->ooff = 0;
					refuse(d, c, M_PROTOCOL);
					return;
				}
				used += (size_t)r;
				if (!line)
					continue;
				if (c->st == ST_GREET)
					on_greeting(d, c, line, len);
				else if (c->st == ST_MODULE)
					on_module(d, c, line);
				else if (c->st == ST_AUTH)
					on_auth(d, c, line, len);
			}
		}
		/* consume exactly what was used */
		while (used && c->ofd < 0) {
			ssize_t m = recv(c->fd, buf, used, 0);

			if (m <= 0) {
				if (m < 0 && errno == EINTR)
					continue;
				fail(c);
				return;
			}
			used -= (size_t)m;
			d->m.bytes_in += (uint64_t)m;
		}
		if (ready) {
			/* the OK line is out before the args came, but be sure */
			if (conn_flush(d, c) < 0) {
				fail(c);
				return;
			}
			start_session(d, c);
			return;
		}
		if (c->st == ST_CLOSE || c->st == ST_WAIT)
			return;
		if ((size_t)n < sizeof(buf))
			return;
	}
}

/* After a state change: write, and close a finished connection once all is out. */
static void
conn_service(struct daemon *d, struct conn *c)
{
	int r = conn_flush(d, c);

	if (r < 0 || (r == 1 && c->st == ST_CLOSE))
		conn_free(d, c);
}

/* The numeric address of ss into buf: "" when getnameinfo() cannot show it, as upstream. */
static void
show_addr(const struct sockaddr_storage *ss, socklen_t sl, char *buf, size_t cap)
{
	if (!sl || getnameinfo((const struct sockaddr *)ss, sl, buf, cap, NULL, 0, NI_NUMERICHOST))
		buf[0] = '\0';
}

/*
 * Take on a connection (fd non-blocking; ofd -1 for a socket, else the pipe
 * to write) from the client at addr: greet it.
 */
static void
conn_add(struct daemon *d, int fd, int ofd, const char *addr)
{
	struct conn *c;
	int one = 1;

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->ofd = ofd;
	c->hidx = NO_HEAP;
	c->deadline_ms = INT64_MAX; /* upstream bounds only a listener's handshakes */
	c->cref = d->cref;
	cref_get(d->cref);
	c->digest = OCP_ENOMATCH;
	ocp_linebuf_init(&c->lb, OCP_DAEMON_LINE_MAX);
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->nconns++;
	d->m.accepted++;
	if (ofd < 0) {
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		if (deadline_set(d, c, now_ms() + 1000LL * handshake_s(d->cref->cfg->defaults.timeout))) {
			conn_free(d, c); /* (no memory to track it by) */
			return;
		}
	}
	c->st = ST_WAIT;
	c->interest = 0;
	if (d->pb.ops->set(&d->pb, fd, 0, c, false)) {
		conn_free(d, c);
		return;
	}
	/*
	 * Upstream names the client before it greets, for the log's "connect
	 * from" line (when "reverse lookup" is on); with no log to show it,
	 * the name waits until a module asks for it.
	 */
	if (d->log && d->cref->cfg->defaults.reverse_lookup) {
		struct oce_lk_msg msg;

		msg_init(&msg, c, OCE_LK_NAME, true);
		if (!msg_strings(&msg, NULL, NULL, NULL, NULL, NULL)) {
			job_submit(d, c, NULL, &msg);
			if (c->fd >= 0)
				conn_service(d, c);
			return;
		}
	}
	greet(d, c);
	conn_service(d, c);
}

/* Log the connection and greet the client: its greeting is next. */
static void
greet(struct daemon *d, struct conn *c)
{
	char line[256];
	struct ocp_namelist dg;
	int n;

	dlog(d, "connect from %s (%s)", c->host[0] ? c->host : OCE_DACC_UNDETERMINED, c->addr);
	ocp_auth_digests_default(&dg);
	n = ocp_greeting_encode(line, sizeof(line), OUR_PROTOCOL, OUR_SUBPROTOCOL, &dg);
	if (n > 0)
		out_add(c, line, (size_t)n);
	send_motd(c);
	c->st = ST_GREET;
}

static int loop_setup(struct daemon *d);
static int run_loop(struct daemon *d);

/*
 * A connection process's counts, into the listener's shared mapping. The
 * listener counted the accept; the loop's own time is its own.
 */
static void
metrics_merge(struct daemon *d)
{
	struct metrics *sh = d->shared;

	if (!sh)
		return;
	__atomic_fetch_add(&sh->listings, d->m.listings, __ATOMIC_RELAXED);
	for (int i = 0; i < M_NWHY; i++)
		__atomic_fetch_add(&sh->refused[i], d->m.refused[i], __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->sessions, d->m.sessions, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->completed, d->m.completed, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->failed, d->m.failed, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->bytes_in, d->m.bytes_in, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->bytes_out, d->m.bytes_out, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->thread_sessions, d->m.thread_sessions, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->xfer_in, d->m.xfer_in, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->xfer_out, d->m.xfer_out, __ATOMIC_RELAXED);
}

/*
 * OC_RSYNC_DAEMON_ASYNC=0: each connection gets a thread of its own from
 * accept on, which runs its handshake with the same code on a loop of its
 * own (one connection, epoll, no signals: the listener has them), then its
 * session on the same thread, or, when the module changes ids or root, in
 * a forked child it waits for. Its "max connections" records are locked
 * through lock-file descriptors of its own (an open file description does
 * not conflict with itself), and it adds what it counted to the
 * listener's metrics at its end. The listener only accepts, and reaps
 * nothing but its own children.
 */
struct cthread {
	struct daemon *parent;
	struct cfgref *cref; /* a reference taken for the thread */
	int fd;
	char addr[OCE_DACC_ADDR_MAX];
};

static void *
conn_thread_main(void *arg)
{
	struct cthread *ct = arg;
	struct daemon *p = ct->parent;
	struct daemon cd = {0};
	bool open = false;

	cd.o = p->o;
	cd.lfd = cd.sfd = cd.cdone_fd = -1;
	cd.lk.fd = -1;
	cd.jq_tail = &cd.jq;
	cd.cref = ct->cref;
	cd.config_path = p->config_path;
	cd.log = p->log;
	cd.shared = p->shared;
	cd.single = true;
	cd.conn_thread = true;
	cd.nofile_was = p->nofile_was;
	cd.nofile_session = p->nofile_session;
	cd.home_fd = p->home_fd;
	cd.m.started_ms = now_ms();
	open = pollb_open_epoll(&cd.pb) == 0;
	if (open) {
		conn_add(&cd, ct->fd, -1, ct->addr);
		run_loop(&cd);
		metrics_merge(&cd);
	} else {
		dlog(p, "connection from %s: no event loop", ct->addr);
		close(ct->fd);
	}
	while (cd.conns)
		conn_free(&cd, cd.conns);
	bury(&cd);
	free(cd.kids);
	free(cd.heap);
	locks_free(&cd);
	if (open)
		cd.pb.ops->fini(&cd.pb);
	cref_put(cd.cref);
	free(ct);
	__atomic_sub_fetch(&p->nconnthreads, 1, __ATOMIC_ACQ_REL);
	(void)!eventfd_write(p->cdone_fd, 1);
	return NULL;
}

static void
thread_conn(struct daemon *d, int fd, const char *addr)
{
	struct cthread *ct = calloc(1, sizeof(*ct));
	pthread_attr_t at;
	pthread_t th;
	int r;

	d->m.accepted++;
	if (!ct) {
		close(fd);
		return;
	}
	ct->parent = d;
	ct->fd = fd;
	ct->cref = d->cref;
	cref_get(ct->cref);
	snprintf(ct->addr, sizeof(ct->addr), "%s", addr);
	dlog(d, "connection from %s in a thread", addr);
	__atomic_add_fetch(&d->nconnthreads, 1, __ATOMIC_ACQ_REL);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&th, &at, conn_thread_main, ct);
	pthread_attr_destroy(&at);
	if (r) {
		dlog(d, "connection from %s: %s", addr, strerror(r));
		__atomic_sub_fetch(&d->nconnthreads, 1, __ATOMIC_ACQ_REL);
		cref_put(ct->cref);
		free(ct);
		close(fd);
	}
}

static void
accept_some(struct daemon *d)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(d->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: stop asking until one is freed or a while passed. */
				dlog(d, "accept: %s; pausing", strerror(errno));
				d->pb.ops->del(&d->pb, d->lfd);
				d->accept_paused = true;
				d->resume_ms = now_ms() + ACCEPT_PAUSE_MS;
			}
			return;
		}
		char addr[OCE_DACC_ADDR_MAX];

		show_addr(&ss, sl, addr, sizeof(addr));
		if (d->fork_each)
			thread_conn(d, fd, addr);
		else
			conn_add(d, fd, -1, addr);
	}
}

/* --- children and signals ---------------------------------------------------- */

/* A session process (or an orphaned early exec) ended with wait status st. */
static void
kid_end(struct daemon *d, pid_t pid, int st)
{
	for (size_t i = 0; i < d->nkids; i++) {
		if (d->kids[i].pid != pid)
			continue;
		if (d->kids[i].orphan) {
			d->kids[i] = d->kids[--d->nkids];
			return;
		}
		slot_release(&d->kids[i].slot);
		d->kids[i] = d->kids[--d->nkids];
		d->status = WIFEXITED(st) ? WEXITSTATUS(st) : RERR_SIGNAL;
		if (d->status)
			d->m.failed++;
		else
			d->m.completed++;
		return;
	}
}

/* One ended child of the loop's own (helper, early exec, session process): its pid, or 0. */
static pid_t
reap_one(struct daemon *d, int *st)
{
	if (d->lk.pid > 0 && waitpid(d->lk.pid, st, WNOHANG) == d->lk.pid)
		return d->lk.pid;
	for (size_t i = 0; i < d->nkids; i++)
		if (waitpid(d->kids[i].pid, st, WNOHANG) == d->kids[i].pid)
			return d->kids[i].pid;
	if (d->nearly)
		for (struct conn *c = d->conns; c; c = c->next)
			if (c->st == ST_EARLY && c->early_pid > 0 &&
			    waitpid(c->early_pid, st, WNOHANG) == c->early_pid)
				return c->early_pid;
	/* no threads (one connection, inetd or a remote shell): anything else is ours too */
	return d->pool || d->fork_each ? 0 : waitpid(-1, st, WNOHANG);
}

static void
reap(struct daemon *d)
{
	pid_t pid;
	int st;

	/*
	 * Only the children the loop started: a session in a thread waits
	 * for its own exec hooks, which waitpid(-1) here would take from it.
	 */
	while ((pid = reap_one(d, &st)) > 0) {
		if (pid == d->lk.pid) {
			d->lk.pid = 0; /* (reaped) */
			lk_lost(d, -ECHILD);
			continue;
		}
		/* an "early exec" decides whether its connection goes on */
		for (struct conn *c = d->conns; c; c = c->next) {
			if (c->st != ST_EARLY || c->early_pid != pid)
				continue;
			early_end(d, c, st);
			conn_service(d, c);
			break;
		}
		kid_end(d, pid, st);
	}
}

/* The pool is the daemon's: a module's own "transfer-worker-threads" has no effect, and says so. */
static void
pool_param_check(struct daemon *d, const struct oce_dconf *cfg)
{
	for (size_t i = 0; d->pool && i < cfg->n_modules; i++)
		if (cfg->modules[i].transfer_worker_threads != cfg->defaults.transfer_worker_threads)
			dlog(d, "transfer-worker-threads in module %s ignored: set it in the global section",
			     cfg->modules[i].name);
}

static void
reload(struct daemon *d)
{
	struct oce_dconf *cfg;
	struct cfgref *cr;

	if (load_config(d, &cfg)) {
		dlog(d, "reload of %s failed; keeping the old config", d->config_path);
		return;
	}
	cr = calloc(1, sizeof(*cr));
	if (!cr) {
		oce_dconf_free(cfg);
		return;
	}
	cr->cfg = cfg;
	cr->refs = 1;
	if (d->pool && cfg->defaults.transfer_worker_threads != d->cref->cfg->defaults.transfer_worker_threads)
		dlog(d, "transfer-worker-threads changed: the pool keeps its size until a restart");
	cref_put(d->cref);
	d->cref = cr;
	dlog(d, "reloaded %s", d->config_path);
	pool_param_check(d, cfg);
}

/*
 * The metrics, in Prometheus' text format, to --metrics-file (written whole
 * beside it and renamed over it, so a reader never sees half), or as one
 * line to the log when no file was named.
 */
static void
metrics_write(struct daemon *d)
{
	char buf[4096], tmp[PATH_MAX];
	struct metrics all = d->m;
	const struct metrics *m = &all;
	int64_t up = now_ms() - m->started_ms;
	size_t n = 0;
	int fd;

	if (d->shared) {
		const struct metrics *sh = d->shared;

		all.listings += __atomic_load_n(&sh->listings, __ATOMIC_RELAXED);
		for (int i = 0; i < M_NWHY; i++)
			all.refused[i] += __atomic_load_n(&sh->refused[i], __ATOMIC_RELAXED);
		all.sessions += __atomic_load_n(&sh->sessions, __ATOMIC_RELAXED);
		all.completed += __atomic_load_n(&sh->completed, __ATOMIC_RELAXED);
		all.failed += __atomic_load_n(&sh->failed, __ATOMIC_RELAXED);
		all.bytes_in += __atomic_load_n(&sh->bytes_in, __ATOMIC_RELAXED);
		all.bytes_out += __atomic_load_n(&sh->bytes_out, __ATOMIC_RELAXED);
		all.thread_sessions += __atomic_load_n(&sh->thread_sessions, __ATOMIC_RELAXED);
		all.xfer_in += __atomic_load_n(&sh->xfer_in, __ATOMIC_RELAXED);
		all.xfer_out += __atomic_load_n(&sh->xfer_out, __ATOMIC_RELAXED);
	}

#define PUT(...)                                                                                   \
	do {                                                                                       \
		int k_ = snprintf(buf + n, sizeof(buf) - n, __VA_ARGS__);                          \
		if (k_ > 0 && (size_t)k_ < sizeof(buf) - n)                                        \
			n += (size_t)k_;                                                           \
	} while (0)
	PUT("# oc-rsyncd metrics\n");
	PUT("oc_rsyncd_uptime_seconds %.3f\n", up / 1000.0);
	PUT("oc_rsyncd_event_backend{name=\"%s\"} 1\n", d->pb.ops ? d->pb.ops->name : "none");
	PUT("oc_rsyncd_connections_accepted_total %llu\n", (unsigned long long)m->accepted);
	PUT("oc_rsyncd_connections_handshaking %zu\n", d->nconns);
	PUT("oc_rsyncd_connections_active %zu\n",
	    d->nconns + d->nkids + d->nthreads + __atomic_load_n(&d->nconnthreads, __ATOMIC_ACQUIRE));
	PUT("oc_rsyncd_listings_total %llu\n", (unsigned long long)m->listings);
	for (int i = 0; i < M_NWHY; i++)
		PUT("oc_rsyncd_refused_total{reason=\"%s\"} %llu\n", why_name[i],
		    (unsigned long long)m->refused[i]);
	PUT("oc_rsyncd_sessions_started_total %llu\n", (unsigned long long)m->sessions);
	PUT("oc_rsyncd_sessions_completed_total %llu\n", (unsigned long long)m->completed);
	PUT("oc_rsyncd_sessions_failed_total %llu\n", (unsigned long long)m->failed);
	PUT("oc_rsyncd_session_processes %zu\n", d->nkids);
	PUT("oc_rsyncd_session_threads %zu\n", d->nthreads);
	PUT("oc_rsyncd_sessions_in_threads_total %llu\n", (unsigned long long)m->thread_sessions);
	if (d->pool) {
		struct ocpool_metrics pm;

		ocpool_get_metrics(d->pool, &pm);
		PUT("oc_rsyncd_transfer_workers %u\n", pm.workers);
		PUT("oc_rsyncd_transfer_workers_busy %u\n", pm.busy);
		PUT("oc_rsyncd_transfer_queue %zu\n", pm.queued);
		PUT("oc_rsyncd_transfer_utilization %.4f\n", pm.utilization);
	}
	PUT("oc_rsyncd_session_bytes_in_total %llu\n", (unsigned long long)m->xfer_in);
	PUT("oc_rsyncd_session_bytes_out_total %llu\n", (unsigned long long)m->xfer_out);
	PUT("oc_rsyncd_loop_utilization %.4f\n", up > 0 ? (double)m->busy_ms / (double)up : 0.0);
	PUT("oc_rsyncd_handshake_bytes_in_total %llu\n", (unsigned long long)m->bytes_in);
	PUT("oc_rsyncd_handshake_bytes_out_total %llu\n", (unsigned long long)m->bytes_out);
#undef PUT
	if (!d->metrics_path) {
		for (char *p = buf; (p = strchr(p, '\n')) != NULL;)
			*p = ';';
		dlog(d, "metrics: %s", buf);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->metrics_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, n) != (ssize_t)n || close(fd) || rename(tmp, d->metrics_path)) {
		dlog(d, "metrics file %s: %s", d->metrics_path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
	}
}

static void
on_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(d);
			break;
		case SIGHUP:
			reload(d);
			break;
		case SIGUSR1:
			metrics_write(d);
			break;
		default:
			d->stop_now = d->stop;
			d->stop = true;
		}
	}
}

/* --- set-up ------------------------------------------------------------------- */

static int
open_listener(struct daemon *d, const char *address, int port, int backlog)
{
	struct addrinfo hints = {0}, *res = NULL, *a;
	char ps[16];
	int fd = -1, r, one = 1;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	hints.ai_family = d->o->ip_family == 4 ? AF_INET : d->o->ip_family == 6 ? AF_INET6 : AF_UNSPEC;
	snprintf(ps, sizeof(ps), "%d", port);
	r = getaddrinfo(address && *address ? address : NULL, ps, &hints, &res);
	if (r) {
		fprintf(stderr, "%s: getaddrinfo: bind address %s: %s\n", OCE_PROG,
			address ? address : "*", gai_strerror(r));
		return -1;
	}
	/* Upstream listens on each address; one is what a loopback test needs. Prefer IPv6 any. */
	for (a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->ai_family == AF_INET6) {
			int zero = 0;

			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		}
		if (!bind(fd, a->ai_addr, a->ai_addrlen) && !listen(fd, backlog))
			break;
		r = errno;
		close(fd);
		fd = -1;
		errno = r;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "%s: bind() failed: %s (address-family %d)\n", OCE_PROG,
			strerror(errno), hints.ai_family);
	return fd;
}

static void
detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		perror("fork");
		exit(RERR_IPC);
	}
	if (pid > 0)
		oce_fast_exit(0);
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

static int
write_pid_file(const char *path)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static int run_loop(struct daemon *d);

static bool
is_socket(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISSOCK(st.st_mode);
}

/* Signals through a signalfd, and the poll backend watching it. 0 or -errno. */
static int
loop_setup(struct daemon *d)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	r = d->sfd < 0 ? -errno : pollb_open(&d->pb);
	if (!r && d->lfd >= 0)
		r = d->pb.ops->set(&d->pb, d->lfd, PB_IN, &tag_listen, false);
	if (!r)
		r = d->pb.ops->set(&d->pb, d->sfd, PB_IN, &tag_signal, false);
	if (r)
		fprintf(stderr, "%s: event loop set-up failed: %s\n", OCE_PROG, strerror(-r));
	return r;
}

/*
 * Started by inetd, or as a client's RSYNC_CONNECT_PROG: stdin is the
 * connection (upstream checks the same way, first thing). No listener, pid
 * file or detaching; stdout and stderr go to /dev/null, as upstream's, so
 * that nothing but the protocol reaches the socket. The one session still
 * runs in a child; we leave with its exit code.
 */
static int
inetd_main(struct daemon *d)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[OCE_DACC_ADDR_MAX];
	int fd, nul;

	d->single = true;
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
		close(nul);
	}
	fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return RERR_IPC;
	dup2(STDOUT_FILENO, STDIN_FILENO);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl))
		sl = 0;
	if (loop_setup(d)) {
		close(fd);
		return RERR_IPC;
	}
	dlog(d, "%s version %s starting (inetd)", OCE_PROG, "3.5.0");
	show_addr(&ss, sl, addr, sizeof(addr));
	conn_add(d, fd, -1, addr);
	return run_loop(d);
}

/* Is s an IP address (IPv6 with a %scope allowed), as upstream's valid_ipaddr()? */
static bool
is_ipaddr(const char *s)
{
	struct addrinfo hints = {0}, *res = NULL;

	hints.ai_flags = AI_NUMERICHOST;
	if (!*s || getaddrinfo(s, NULL, &hints, &res))
		return false;
	freeaddrinfo(res);
	return true;
}

/*
 * rsync --server --daemon, run by a client's remote shell for host::module
 * with -e: the handshake and the session over stdin and stdout, which are
 * pipes. The client's address comes from the environment the remote shell
 * leaves (REMOTE_HOST, SSH_CONNECTION, SSH_CLIENT, SSH2_CLIENT; "0.0.0.0"
 * when there is none), as upstream's; there is no handshake deadline.
 */
static int
rsh_main(struct daemon *d)
{
	static const char *const vars[] = {"REMOTE_HOST", "SSH_CONNECTION", "SSH_CLIENT",
					   "SSH2_CLIENT"};
	char addr[OCE_DACC_ADDR_MAX] = "0.0.0.0";
	int in, out;

	d->single = true;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v) {
			snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(v, " "), v);
			break;
		}
	}
	if (!is_ipaddr(addr)) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		/* upstream then asks the socket, which a pipe is not */
		if (getpeername(STDIN_FILENO, (struct sockaddr *)&ss, &sl)) {
			dlog(d, "getpeername on fd0 failed: %s (%d)", strerror(errno), errno);
			return RERR_SOCKETIO;
		}
		show_addr(&ss, sl, addr, sizeof(addr));
	}
	/* off 0 and 1, so that nothing else reads or writes the protocol */
	in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (in < 0 || out < 0)
		return RERR_IPC;
	{
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (nul >= 0) {
			dup2(nul, STDIN_FILENO);
			dup2(nul, STDOUT_FILENO);
			close(nul);
		}
	}
	fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
	if (loop_setup(d)) {
		close(in);
		close(out);
		return RERR_IPC;
	}
	conn_add(d, in, out, addr);
	return run_loop(d);
}

/*
 * Every connection in its handshake holds a descriptor in this one process
 * (upstream forks per connection, so its limit is per connection). The
 * usual soft limit of 1024 would stop accepting at about a thousand
 * clients: raise it to the hard limit, which an unprivileged daemon may do.
 * *was and *now are the soft limit before and after, for the log.
 *
 * A session child goes back to what upstream's would have (*session):
 * rsync 3.5.0 raises its soft limit toward 4096 at start (main.c,
 * raise_fd_limit(): only up, never past the hard limit) and its daemon
 * children inherit that. Programs a session runs get it too.
 */
static void
raise_nofile(rlim_t *was, rlim_t *now, rlim_t *session)
{
	struct rlimit rl;
	rlim_t want;

	*was = *now = *session = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	*was = *now = *session = rl.rlim_cur;
	if (rl.rlim_cur < UPSTREAM_NOFILE)
		*session = rl.rlim_max < UPSTREAM_NOFILE ? rl.rlim_max : UPSTREAM_NOFILE;
	want = rl.rlim_max;
	if (want == RLIM_INFINITY) {
		/* the kernel refuses a soft limit above fs.nr_open */
		FILE *f = fopen("/proc/sys/fs/nr_open", "re");
		unsigned long v = 0;

		want = f && fscanf(f, "%lu", &v) == 1 && v ? (rlim_t)v : (rlim_t)1 << 20;
		if (f)
			fclose(f);
	}
	if (want <= rl.rlim_cur)
		return;
	rl.rlim_cur = want;
	if (!setrlimit(RLIMIT_NOFILE, &rl))
		*now = want;
}

/*
 * The transfer pool: "transfer-worker-threads" of the global section, a
 * fixed N or adaptive (2 to TSESS_MAX_THREADS workers; a session is
 * mostly waiting on its client, and the pool adds a worker at once when
 * every one is inside a session: ocpool's blocking hint), its queue the
 * bounded MPMC channel sessions are handed over on. Without it (it could
 * not start) every session is a process, as before.
 */
static void
pool_start(struct daemon *d, const struct oce_dconf *cfg)
{
	struct ocpool_config pc;
	int n = cfg->defaults.transfer_worker_threads, r;

	ocpool_config_init(&pc);
	pc.queue_capacity = TSESS_MAX;
	if (n > 0) {
		pc.mode = OCPOOL_FIXED;
		pc.workers = (unsigned)n;
		pc.max = (unsigned)n;
	} else {
		pc.mode = OCPOOL_ADAPTIVE;
		pc.min = 2;
		pc.workers = 2;
		pc.max = TSESS_MAX_THREADS;
	}
	/* room for every session in flight, so that a thread never waits to report its end */
	r = ocq_chan_create(&d->done, OCQ_MPSC, TSESS_MAX);
	if (!r)
		r = ocq_chan_shared_sender(d->done, &d->done_tx);
	if (!r)
		r = ocq_rx_open(&d->done_rx, d->done);
	if (!r)
		r = ocq_rx_arm(&d->done_rx) < 0 ? -EMFILE : 0;
	if (!r)
		r = d->pb.ops->set(&d->pb, ocq_rx_eventfd(&d->done_rx), PB_IN, &tag_done, false);
	if (!r)
		r = ocpool_create(&d->pool, &pc);
	if (r) {
		dlog(d, "transfer pool: %s; sessions run in processes", strerror(-r));
		if (d->done)
			ocq_chan_destroy(d->done);
		d->done = NULL;
		d->pool = NULL;
		return;
	}
	if (n > 0)
		dlog(d, "transfer pool: %d worker thread%s", n, n == 1 ? "" : "s");
	else
		dlog(d, "transfer pool: adaptive, 2 to %d worker threads", TSESS_MAX_THREADS);
	pool_param_check(d, cfg);
}

static void
pool_stop(struct daemon *d)
{
	if (!d->pool)
		return;
	ocpool_destroy(d->pool);
	d->pool = NULL;
	if (d->pb.ops)
		d->pb.ops->del(&d->pb, ocq_rx_eventfd(&d->done_rx));
	ocq_chan_destroy(d->done);
	d->done = NULL;
}

/* Sessions (and, ASYNC=0, connections) on threads that have not ended. */
static size_t
threads_busy(struct daemon *d)
{
	return d->nthreads + __atomic_load_n(&d->nconnthreads, __ATOMIC_ACQUIRE);
}

static int
run_loop(struct daemon *d)
{
	struct pollev ev[64];

	d->m.started_ms = now_ms();
	while (!d->stop || (threads_busy(d) && !d->stop_now)) {
		int64_t now = now_ms(), next = now + 1000;
		int n;

		if (d->stop && d->lfd >= 0 && threads_busy(d)) {
			/*
			 * Stopping with sessions in threads: no new clients (the
			 * port is free for a new daemon), the handshakes dropped,
			 * and the transfers run to their end, as rsync's session
			 * processes outlive their daemon. A second signal ends
			 * them with the process.
			 */
			dlog(d, "stopping: waiting for %zu session%s in threads", threads_busy(d),
			     threads_busy(d) == 1 ? "" : "s");
			if (!d->accept_paused)
				d->pb.ops->del(&d->pb, d->lfd);
			close(d->lfd);
			d->lfd = -1;
			d->accept_paused = false;
			while (d->conns)
				conn_free(d, d->conns);
			bury(d);
		}

		if (d->accept_paused && now >= d->resume_ms) {
			if (!d->pb.ops->set(&d->pb, d->lfd, PB_IN, &tag_listen, false))
				d->accept_paused = false;
		}
		if (d->accept_paused && d->resume_ms < next)
			next = d->resume_ms;
		/* Absolute deadlines: a client that dawdles is dropped without a word. */
		while (d->hn && d->heap[0]->deadline_ms <= now) {
			struct conn *c = d->heap[0];

			dlog(d, "handshake timeout for %s", c->addr);
			d->m.refused[M_TIMEOUT]++;
			conn_free(d, c); /* (out of the heap) */
			bury(d);
		}
		if (d->hn && d->heap[0]->deadline_ms < next)
			next = d->heap[0]->deadline_ms;
		n = d->pb.ops->wait(&d->pb, ev, 64, (int)(next > now ? next - now : 0));
		if (n < 0) {
			dlog(d, "poll: %s", strerror(-n));
			return RERR_IPC;
		}
		now = now_ms();
		for (int i = 0; i < n; i++) {
			struct conn *c;

			if (ev[i].tag == &tag_listen) {
				accept_some(d);
				continue;
			}
			if (ev[i].tag == &tag_signal) {
				on_signals(d);
				continue;
			}
			if (ev[i].tag == &tag_lookup) {
				lk_event(d, ev[i].events);
				continue;
			}
			if (ev[i].tag == &tag_cdone) {
				ocq_eventfd_ack(d->cdone_fd);
				if (d->accept_paused)
					d->resume_ms = 0;
				continue;
			}
			if (ev[i].tag == &tag_done) {
				ocq_eventfd_ack(ocq_rx_eventfd(&d->done_rx));
				tsess_reap(d);
				continue;
			}
			c = ev[i].tag;
			if (c->fd < 0)
				continue;
			if (ev[i].events & (PB_IN | PB_ERR))
				conn_read(d, c);
			if (c->fd >= 0)
				conn_service(d, c);
		}
		bury(d);
		d->m.busy_ms += now_ms() - now;
		if (d->single && !d->nconns && !d->nkids)
			return d->status;
	}
	return 0;
}

int
oce_daemon_main(const struct oce_opts *o)
{
	struct daemon d = {0};
	struct oce_dconf *cfg = NULL;
	const char *address, *pid_file;
	rlim_t nofile;
	int port, r, code = 0;

	/* (oc-rsync --daemon: its signals go to the loop; no temp-file record shared by sessions) */
	oce_uncatch_signals();
	d.o = o;
	d.lfd = d.sfd = d.home_fd = d.cdone_fd = -1;
	d.lk.fd = -1;
	d.jq_tail = &d.jq;
	/* over a remote shell, a user's own daemon reads rsyncd.conf in its home */
	d.metrics_path = o->metrics_file;
	d.fork_each = getenv("OC_RSYNC_DAEMON_ASYNC") && !strcmp(getenv("OC_RSYNC_DAEMON_ASYNC"), "0");
	if (d.fork_each) {
		/* what the connection processes count comes back through this */
		void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		d.shared = p == MAP_FAILED ? NULL : p;
		if (d.shared)
			memset(d.shared, 0, sizeof(*d.shared));
	}
	d.config_path = o->config	       ? o->config
			: o->server && geteuid() ? "rsyncd.conf"
						 : DEFAULT_CONFIG;
	r = load_config(&d, &cfg);
	if (r) {
		fprintf(stderr, "%s: failed to load config file %s: %s\n", OCE_PROG, d.config_path,
			r == -EINVAL ? "syntax error" : strerror(-r));
		oce_print_exit(stderr, RERR_SYNTAX, __FILE__, __LINE__, "daemon");
		return RERR_SYNTAX;
	}
	d.cref = calloc(1, sizeof(*d.cref));
	if (!d.cref) {
		oce_dconf_free(cfg);
		return RERR_MALLOC;
	}
	d.cref->cfg = cfg;
	d.cref->refs = 1;
	if (o->log_file || (cfg->defaults.log_file && *cfg->defaults.log_file)) {
		d.log = fopen(o->log_file ? o->log_file : cfg->defaults.log_file, "ae");
		if (!d.log)
			fprintf(stderr, "%s: failed to open log-file %s: %s\n", OCE_PROG,
				o->log_file ? o->log_file : cfg->defaults.log_file, strerror(errno));
	}
	raise_nofile(&d.nofile_was, &nofile, &d.nofile_session);
	if (o->server) {
		code = rsh_main(&d);
		goto out;
	}
	if (is_socket(STDIN_FILENO)) {
		code = inetd_main(&d);
		goto out;
	}
	port = o->port ? o->port : cfg->g.port ? cfg->g.port : RSYNC_PORT;
	address = o->address ? o->address : cfg->g.address;
	d.lfd = open_listener(&d, address, port, cfg->g.listen_backlog > 0 ? cfg->g.listen_backlog : 1024);
	if (d.lfd < 0) {
		code = RERR_SOCKETIO;
		goto out;
	}
	if (!o->no_detach)
		detach();
	pid_file = cfg->g.pid_file;
	if (pid_file && *pid_file && (r = write_pid_file(pid_file))) {
		fprintf(stderr, "%s: failed to create pid file %s: %s\n", OCE_PROG, pid_file,
			strerror(-r));
		dlog(&d, "failed to create pid file %s: %s", pid_file, strerror(-r));
		code = RERR_FILEIO;
		pid_file = NULL;
		goto out;
	}
	if (loop_setup(&d)) {
		code = RERR_IPC;
		goto out_pid;
	}
	dlog(&d, "%s version %s starting, listening on port %d", OCE_PROG, "3.5.0", port);
	dlog(&d, "event loop: %s", d.pb.ops->name);
	if (!d.fork_each)
		lk_start(&d);
	/* sessions in threads start where the daemon stands (tsess_exec()) */
	d.home_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* (after the helper's fork: the process has threads from here on) */
	if (d.home_fd < 0)
		dlog(&d, "sessions run in processes: %s", strerror(errno));
	else if (!d.fork_each)
		pool_start(&d, cfg);
	else if ((d.cdone_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
		 d.pb.ops->set(&d.pb, d.cdone_fd, PB_IN, &tag_cdone, false)) {
		fprintf(stderr, "%s: event loop set-up failed: %s\n", OCE_PROG, strerror(errno));
		code = RERR_IPC;
		goto out_pid;
	}
	if (nofile != d.nofile_was)
		dlog(&d, "open files limit raised from %llu to %llu", (unsigned long long)d.nofile_was,
		     (unsigned long long)nofile);
	else
		dlog(&d, "open files limit %llu", (unsigned long long)nofile);
	code = run_loop(&d);
	if (d.metrics_path)
		metrics_write(&d);
	if (threads_busy(&d)) {
		/* a second signal: the threads' sessions end with the process, which they use to the last */
		dlog(&d, "exiting with %zu session%s in threads", threads_busy(&d),
		     threads_busy(&d) == 1 ? "" : "s");
		if (pid_file && *pid_file)
			unlink(pid_file);
		if (d.log)
			fflush(d.log);
		oce_fast_exit(code);
	}
out_pid:
	if (pid_file && *pid_file)
		unlink(pid_file);
out:
	pool_stop(&d);
	lk_stop(&d);
	while (d.conns)
		conn_free(&d, d.conns);
	bury(&d);
	free(d.kids);
	free(d.heap);
	locks_free(&d);
	if (d.pb.ops)
		d.pb.ops->fini(&d.pb);
	if (d.sfd >= 0)
		close(d.sfd);
	if (d.lfd >= 0)
		close(d.lfd);
	if (d.home_fd >= 0)
		close(d.home_fd);
	if (d.cdone_fd >= 0)
		close(d.cdone_fd);
	if (d.log)
		fclose(d.log);
	if (d.shared)
		munmap(d.shared, sizeof(*d.shared));
	cref_put(d.cref);
	return code;
}
