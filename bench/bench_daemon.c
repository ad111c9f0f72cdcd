/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_daemon.c - oc-rsyncd against `rsync --daemon` (Debian's 3.5.0) on
 * loopback, both started by this program with the same rsyncd.conf on free
 * 127.0.0.1 ports (--no-detach, their own process group, soft
 * RLIMIT_NOFILE 1024 as a login shell gives; stopped at the end of each
 * phase). oc-rsyncd runs twice, on its io_uring and on its epoll backend.
 *
 *   list    C clients at once do greeting + empty module line -> listing ->
 *           EXIT, again and again for a fixed time: sessions per second
 *   greet   one client at a time: connect -> first line received (p50, p99);
 *           the list phase's clients give the same under load
 *   mem     N idle pre-auth connections (greeting exchanged, nothing more):
 *           PSS of every process of the daemon (smaps_rollup) minus the
 *           daemon's PSS before them, divided by N
 *   max     as mem, up to 10,000 connections for oc-rsyncd and a lower cap
 *           for rsync (a process per connection): how many are held
 *   slow    S clients trickle their greeting and module line one byte at a
 *           time while the real `rsync` binary pulls a small module tree
 *
 * Bounded in count and time: every phase has a deadline, every connection a
 * timeout, and nothing but 127.0.0.1 is contacted. Output: a markdown table
 * and CSV in --out (daemon.md, daemon.csv), ratios oc/rsync.
 * bench/README.md (section "oc-rsyncd") says how to read them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "bench/bench_util.h"

extern char **environ;

/* What rsync 3.5.0's client sends first (its protocol and auth digests). */
#define CL_GREETING "@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\n"
/*
 * What a slow client trickles: its greeting, the module, then arguments
 * that never end (no empty one closes the list), so no session starts and
 * at a byte per 100 ms it lasts 9 s, past the legitimate pulls.
 */
#define SLOW_SCRIPT   CL_GREETING "data\n--server\0--sender\0-logDtpre.iLsfxCIvu\0.\0data/d00/f00.bin"
#define MODULE	      "data"
#define GREET_WAIT_S  3.0  /* a connection without a greeting by then has failed */
#define SESSION_MAX_S 10.0 /* a listing session longer than that has failed */
#define LEGIT_MAX_S   15.0 /* a legitimate transfer is killed after that */
#define INFLIGHT      128  /* connections opened but not yet greeted, at most */
#define MAX_DMN	      3
#define MAX_ROUNDS    9
#define START_NOFILE  1024 /* the soft limit the daemons are started with */

enum kind { K_OC, K_RSYNC };

struct hold {
	long target, held, dropped;
	double open_s;	 /* opening them all */
	double base_kib; /* PSS before */
	double kib;	 /* PSS with them held */
	int procs;	 /* processes of the daemon with them held */
	char why[160];	 /* why opening stopped early, "" when it did not */
};

struct dmn {
	const char *label; /* column heading */
	const char *key;   /* CSV column */
	enum kind kind;
	const char *backend; /* OC_RSYNC_IO_BACKEND, NULL for rsync */
	const char *prog;
	pid_t pid;
	int port;
	char log[PATH_MAX + 32], errlog[PATH_MAX + 32];
	/* what it said it runs on, and its fd limit once started */
	char seen_backend[32];
	long nofile;
	/* results */
	double rate[MAX_ROUNDS];
	long list_ok, list_fail;
	double list_cpu_s, list_self_s, list_wall_s; /* daemon's and our CPU in the list runs */
	char list_why[160];
	double *lat_load;
	size_t nlat_load, caplat_load;
	double g_p50, g_p99, gl_p50, gl_p99;
	long g_fail;
	struct hold mem, max;
	double legit_idle_s;
	double legit_s[MAX_ROUNDS];
	int legit_runs, legit_ok;
	char legit_why[200];
	long slow_target, slow_ready, slow_alive, slow_trickling, slow_bytes;
	double slow_cpu_s, slow_s; /* the daemon's CPU over the slow phase, and its length */
	double probe[256];	   /* time to greeting of probes during the trickle */
	size_t nprobe;
	double others; /* the largest share of the CPUs others used in a phase */
};

struct cfg {
	bool quick, keep;
	const char *out;
	char work[PATH_MAX];
	char conf[PATH_MAX + 32];
	char data[PATH_MAX + 32];
	char oc[PATH_MAX + 32];
	const char *rsync;
	int clients;   /* listing clients at once */
	double list_s; /* per round */
	int rounds;
	long greet_n, mem_n, max_oc, max_rsync, slow_n;
	double slow_ms; /* between two bytes of a slow client */
	int legit_runs;
	int backlog; /* "listen backlog" in the config, 0 to leave it out */
	long data_files, data_bytes;
	bool use_epoll, use_uring, use_rsync;
	const char *phases; /* which phases run: names separated by commas */
	char cmdline[1024];
};

/* The daemons' process groups, for the signal handler (this program only). */
static pid_t live_pgid[MAX_DMN];

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench_daemon: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (int i = 0; i < MAX_DMN; i++)
		if (live_pgid[i] > 0)
			kill(-live_pgid[i], SIGKILL);
	exit(1);
}

static void
on_fatal_signal(int sig)
{
	for (int i = 0; i < MAX_DMN; i++)
		if (live_pgid[i] > 0)
			kill(-live_pgid[i], SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --- files --------------------------------------------------------------- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
rm_rf(const char *path)
{
	nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static long tree_files, tree_bytes;

static int
count_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode)) {
		tree_files++;
		tree_bytes += st->st_size;
	}
	return 0;
}

static void
tree_count(const char *dir, long *files, long *bytes)
{
	tree_files = tree_bytes = 0;
	nftw(dir, count_one, 32, FTW_PHYS);
	*files = tree_files;
	*bytes = tree_bytes;
}

static void
write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(text, 1, n, f) != n || fclose(f))
		die("writing %s: %s", path, strerror(errno));
}

/* The module tree: 10 directories of 20 files, 0..8 KiB each, fixed seed. */
static void
make_tree(struct cfg *c)
{
	static char buf[8192];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char path[PATH_MAX + 64];

	if (mkdir(c->data, 0755))
		die("mkdir %s: %s", c->data, strerror(errno));
	for (int d = 0; d < 10; d++) {
		snprintf(path, sizeof(path), "%s/d%02d", c->data, d);
		if (mkdir(path, 0755))
			die("mkdir %s: %s", path, strerror(errno));
		for (int f = 0; f < 20; f++) {
			size_t n;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			n = (size_t)(x % sizeof(buf));
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				buf[i] = (char)x;
			}
			snprintf(path, sizeof(path), "%s/d%02d/f%02d.bin", c->data, d, f);
			write_file(path, buf, n);
		}
	}
	tree_count(c->data, &c->data_files, &c->data_bytes);
}

static void
write_conf(struct cfg *c)
{
	char text[4096], empty[PATH_MAX + 16], bl[64] = "";
	int n;

	snprintf(empty, sizeof(empty), "%s/empty", c->work);
	if (mkdir(empty, 0755))
		die("mkdir %s: %s", empty, strerror(errno));
	if (c->backlog > 0)
		snprintf(bl, sizeof(bl), "listen backlog = %d\n", c->backlog);
	n = snprintf(text, sizeof(text),
		     "# written by bench_daemon: the same for oc-rsyncd and rsync --daemon\n"
		     "use chroot = no\n"
		     "%s"
		     "\n[" MODULE "]\n"
		     "\tpath = %s\n"
		     "\tcomment = bench tree\n"
		     "\tread only = yes\n"
		     "\n[empty]\n"
		     "\tpath = %s\n"
		     "\tcomment = nothing here\n",
		     bl, c->data, empty);
	snprintf(c->conf, sizeof(c->conf), "%s/rsyncd.conf", c->work);
	write_file(c->conf, text, (size_t)n);
}

/* --- /proc ------------------------------------------------------------------ */

/* PSS of one process in KiB, or -1. */
static long
pss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * root and all its descendants (rsync forks one process per connection):
 * how many, their pids in *out (malloc'd).
 */
static size_t
tree_pids(pid_t root, pid_t **out)
{
	size_t cap = 4096, n = 0, k = 0;
	pid_t *pid = malloc(cap * sizeof(*pid)), *ppid = malloc(cap * sizeof(*ppid));
	bool *in = NULL;
	DIR *dir = opendir("/proc");
	struct dirent *e;
	bool more = true;

	if (!pid || !ppid || !dir)
		die("reading /proc: %s", strerror(errno));
	while ((e = readdir(dir))) {
		char path[300], buf[512], *p;
		int fd, p1 = 0;
		ssize_t r;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		/* "pid (comm) S ppid ...": comm may hold anything, so from the last ')' */
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %*c %d", &p1) != 1)
			continue;
		if (n == cap) {
			cap *= 2;
			pid = realloc(pid, cap * sizeof(*pid));
			ppid = realloc(ppid, cap * sizeof(*ppid));
			if (!pid || !ppid)
				die("out of memory");
		}
		pid[n] = (pid_t)atoi(e->d_name);
		ppid[n] = (pid_t)p1;
		n++;
	}
	closedir(dir);
	in = calloc(n ? n : 1, sizeof(*in));
	if (!in)
		die("out of memory");
	while (more) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			if (in[i])
				continue;
			if (pid[i] == root) {
				in[i] = more = true;
				continue;
			}
			for (size_t j = 0; j < n; j++)
				if (in[j] && pid[j] == ppid[i]) {
					in[i] = more = true;
					break;
				}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (in[i])
			pid[k++] = pid[i];
	free(ppid);
	free(in);
	*out = pid;
	return k;
}

/* PSS summed over root's tree in KiB; *procs is how many processes that was. */
static double
tree_pss_kib(pid_t root, int *procs)
{
	pid_t *pid;
	size_t n = tree_pids(root, &pid);
	double sum = 0;

	*procs = 0;
	for (size_t i = 0; i < n; i++) {
		long k = pss_kib(pid[i]);

		if (k >= 0) {
			sum += (double)k;
			(*procs)++;
		}
	}
	free(pid);
	return sum;
}

/*
 * CPU seconds root's tree has used: each live process's own, plus what the
 * ones already reaped left in their parents' cutime/cstime.
 */
static double
tree_cpu_s(pid_t root)
{
	pid_t *pid;
	size_t n = tree_pids(root, &pid);
	double ticks = 0;

	for (size_t i = 0; i < n; i++) {
		char path[64], buf[1024], *p;
		unsigned long long ut, st;
		long long cut, cst;
		ssize_t r;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		p = strrchr(buf, ')');
		/* fields 14..17 of stat(5): utime stime cutime cstime */
		if (p && sscanf(p + 1,
				" %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
				&ut, &st, &cut, &cst) == 4)
			ticks += (double)(ut + st) + (double)(cut + cst);
	}
	free(pid);
	return ticks / (double)sysconf(_SC_CLK_TCK);
}

/* The soft "Max open files" of a process, or -1. */
static long
proc_nofile(pid_t pid)
{
	char path[64], line[256];
	long soft = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Max open files", 14)) {
			sscanf(line + 14, " %ld", &soft);
			break;
		}
	fclose(f);
	return soft;
}

/* --- the daemons ------------------------------------------------------------- */

static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		die("finding a free port: %s", strerror(errno));
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void
loopback(struct sockaddr_in *sa, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/*
 * Connect and wait up to wait_s for the first line; its time in seconds
 * from just before connect(), or -1. The connection is closed after it.
 */
static double
greet_once(int port, double wait_s)
{
	struct sockaddr_in sa;
	char buf[256];
	size_t n = 0;
	double t0, end;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	loopback(&sa, port);
	t0 = bench_mono_s();
	end = t0 + wait_s;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		double left = end - bench_mono_s();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			break;
		r = read(fd, buf + n, sizeof(buf) - n);
		if (r <= 0) {
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			break;
		}
		n += (size_t)r;
		if (memchr(buf, '\n', n)) {
			double t = bench_mono_s() - t0;

			close(fd);
			return t;
		}
		if (n == sizeof(buf))
			break;
	}
	close(fd);
	return -1;
}

/* The daemon's log line "event loop: X", if it has one. */
static void
read_backend(struct dmn *d)
{
	char line[512];
	FILE *f = fopen(d->log, "r");

	snprintf(d->seen_backend, sizeof(d->seen_backend), "%s", d->kind == K_OC ? "?" : "-");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "event loop: ");

		if (p) {
			p += strlen("event loop: ");
			p[strcspn(p, "\r\n")] = '\0';
			snprintf(d->seen_backend, sizeof(d->seen_backend), "%s", p);
		}
	}
	fclose(f);
}

static void
dmn_start(const struct cfg *c, struct dmn *d, int slot)
{
	char port[32], conf[PATH_MAX + 64], logarg[PATH_MAX + 64];
	double end;
	pid_t pid;

	d->port = free_port();
	snprintf(port, sizeof(port), "--port=%d", d->port);
	snprintf(conf, sizeof(conf), "--config=%s", c->conf);
	snprintf(logarg, sizeof(logarg), "--log-file=%s", d->log);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		struct rlimit rl;
		int fd = open(d->errlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		const char *argv[12];
		int n = 0;

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* as a login shell would start it: soft 1024, hard as it is */
		if (!getrlimit(RLIMIT_NOFILE, &rl)) {
			rl.rlim_cur = rl.rlim_max < START_NOFILE ? rl.rlim_max : START_NOFILE;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (d->backend)
			setenv("OC_RSYNC_IO_BACKEND", d->backend, 1);
		else
			unsetenv("OC_RSYNC_IO_BACKEND");
		argv[n++] = d->prog;
		if (d->kind == K_RSYNC)
			argv[n++] = "--daemon";
		argv[n++] = "--no-detach";
		argv[n++] = "--address=127.0.0.1";
		argv[n++] = port;
		argv[n++] = conf;
		argv[n++] = logarg;
		argv[n] = NULL;
		execvp(d->prog, (char **)argv);
		fprintf(stderr, "exec %s: %s\n", d->prog, strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	d->pid = pid;
	live_pgid[slot] = pid;
	end = bench_mono_s() + 5;
	while (greet_once(d->port, 0.5) < 0) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			live_pgid[slot] = 0;
			die("%s exited at start (status %d); see %s", d->label, st, d->errlog);
		}
		if (bench_mono_s() > end)
			die("%s does not answer on port %d; see %s", d->label, d->port, d->errlog);
		sleep_s(0.02);
	}
	d->nofile = proc_nofile(pid);
	read_backend(d);
}

/* SIGTERM to the group, a bounded wait, then SIGKILL; reap what is ours. */
static void
dmn_stop(struct dmn *d, int slot)
{
	double end = bench_mono_s() + 3;
	int st;

	if (d->pid <= 0)
		return;
	kill(-d->pid, SIGTERM);
	while (waitpid(d->pid, &st, WNOHANG) == 0) {
		if (bench_mono_s() > end) {
			fprintf(stderr, "bench_daemon: %s ignored SIGTERM for 3 s; killing it\n",
				d->label);
			kill(-d->pid, SIGKILL);
			waitpid(d->pid, &st, 0);
			break;
		}
		sleep_s(0.005);
	}
	/* rsync's per-connection children, if any are left (we are their subreaper) */
	kill(-d->pid, SIGKILL);
	end = bench_mono_s() + 3;
	while (bench_mono_s() < end) {
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p < 0)
			break; /* ECHILD: nothing left */
		if (p == 0)
			sleep_s(0.005);
	}
	d->pid = 0;
	live_pgid[slot] = 0;
}

/* --- client connections ----------------------------------------------------- */

enum cst {
	C_FREE,
	C_GREET, /* connecting, or waiting for the daemon's greeting */
	C_LIST,	 /* sent greeting + empty module line, reading the listing */
	C_WAIT,	 /* greeted, waiting for the others before trickling */
	C_SLOW,	 /* trickling SLOW_SCRIPT */
	C_IDLE,	 /* greeting exchanged (or script done): holding */
};

struct cl {
	int fd;
	uint8_t st;
	uint8_t sent; /* bytes of SLOW_SCRIPT sent (under 256) */
	uint16_t n;   /* bytes in in[] */
	double t0;    /* just before connect() */
	double next;  /* C_SLOW: when the next byte is due */
	char in[232];
};

struct pool {
	int ep;
	struct sockaddr_in sa;
	struct cl *c;
	long cap;
	long *freel;
	long nfree;
	long count[C_IDLE + 1]; /* connections per state */
};

static void
pool_init(struct pool *p, long cap, int port)
{
	memset(p, 0, sizeof(*p));
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	p->c = calloc((size_t)cap, sizeof(*p->c));
	p->freel = malloc((size_t)cap * sizeof(*p->freel));
	if (p->ep < 0 || !p->c || !p->freel)
		die("setting up %ld clients: %s", cap, strerror(errno));
	p->cap = cap;
	for (long i = cap - 1; i >= 0; i--) {
		p->c[i].fd = -1;
		p->freel[p->nfree++] = i;
	}
	p->count[C_FREE] = cap;
	loopback(&p->sa, port);
}

static void
cl_state(struct pool *p, struct cl *c, enum cst st)
{
	p->count[c->st]--;
	c->st = (uint8_t)st;
	p->count[st]++;
}

static void
cl_close(struct pool *p, long i)
{
	struct cl *c = &p->c[i];

	if (c->st == C_FREE)
		return;
	close(c->fd); /* also takes it out of the epoll set */
	c->fd = -1;
	cl_state(p, c, C_FREE);
	p->freel[p->nfree++] = i;
}

/* Start a connection; its index, or -errno. */
static long
cl_open(struct pool *p)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct cl *c;
	long i;
	int fd, e;

	if (!p->nfree)
		return -ENOSPC;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	i = p->freel[--p->nfree];
	c = &p->c[i];
	c->fd = fd;
	c->n = c->sent = 0;
	c->next = 0;
	cl_state(p, c, C_GREET);
	c->t0 = bench_mono_s();
	if (connect(fd, (struct sockaddr *)&p->sa, sizeof(p->sa)) && errno != EINPROGRESS) {
		e = errno;
		cl_close(p, i);
		return -e;
	}
	ev.data.u64 = (uint64_t)i;
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev)) {
		e = errno;
		cl_close(p, i);
		return -e;
	}
	return i;
}

/*
 * Read what is there into c->in (or throw it away when keep is false):
 * 1 something read, 0 nothing yet, -1 end of stream or error (errno kept,
 * 0 for an orderly end), -2 c->in is full.
 */
static int
cl_read(struct cl *c, bool keep)
{
	char junk[512];
	ssize_t r;

	if (keep && c->n >= sizeof(c->in) - 1)
		return -2;
	if (keep)
		r = read(c->fd, c->in + c->n, sizeof(c->in) - 1 - c->n);
	else
		r = read(c->fd, junk, sizeof(junk));
	if (r > 0) {
		if (keep) {
			c->n += (uint16_t)r;
			c->in[c->n] = '\0';
		}
		return 1;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r == 0)
		errno = 0;
	return -1;
}

static int
cl_send(struct cl *c, const char *s, size_t n)
{
	ssize_t r = send(c->fd, s, n, MSG_NOSIGNAL);

	return r == (ssize_t)n ? 0 : -1;
}

static void
pool_fini(struct pool *p)
{
	for (long i = 0; i < p->cap; i++)
		cl_close(p, i);
	close(p->ep);
	free(p->c);
	free(p->freel);
}

static void
lat_add(struct dmn *d, double s)
{
	if (d->nlat_load == d->caplat_load) {
		d->caplat_load = d->caplat_load ? d->caplat_load * 2 : 4096;
		d->lat_load = realloc(d->lat_load, d->caplat_load * sizeof(double));
		if (!d->lat_load)
			die("out of memory");
	}
	d->lat_load[d->nlat_load++] = s;
}

/* Nearest-rank percentile of v[0..n) (sorted in place), or NAN. */
static double
pctl(double *v, size_t n, double q)
{
	size_t k;

	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

static void
why(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (*buf)
		return; /* the first reason is the one worth reading */
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

/* --- phase: listing sessions per second ---------------------------------------- */

/* Does a finished listing look like one: the module named, then EXIT at the end? */
static bool
listing_ok(const struct cl *c)
{
	static const char exitl[] = "@RSYNCD: EXIT\n";
	size_t el = sizeof(exitl) - 1;

	return c->n > el && !memcmp(c->in + c->n - el, exitl, el) &&
	       strstr(c->in, "\n" MODULE) != NULL;
}

static double
phase_list(const struct cfg *cf, struct dmn *d)
{
	struct pool p;
	struct epoll_event ev[256];
	double start, end, scan = 0, cpu0;
	long ok = 0, active = 0;
	struct rusage ru0, ru1;

	pool_init(&p, cf->clients, d->port);
	cpu0 = tree_cpu_s(d->pid);
	getrusage(RUSAGE_SELF, &ru0);
	start = bench_mono_s();
	end = start + cf->list_s;
	for (;;) {
		double now = bench_mono_s();
		int n;

		while (now < end && active < cf->clients) {
			long i = cl_open(&p);

			if (i < 0) {
				d->list_fail++;
				why(d->list_why, sizeof(d->list_why), "connect: %s",
				    strerror((int)-i));
				break;
			}
			active++;
		}
		if (now >= end)
			break;
		n = epoll_wait(p.ep, ev, 256, 5);
		now = bench_mono_s();
		for (int k = 0; k < n; k++) {
			long i = (long)ev[k].data.u64;
			struct cl *c = &p.c[i];
			int r;

			if (c->st == C_FREE)
				continue;
			while ((r = cl_read(c, true)) > 0) {
				if (c->st == C_GREET && memchr(c->in, '\n', c->n)) {
					lat_add(d, bench_mono_s() - c->t0);
					/* greeting, then the empty module line: a listing */
					if (cl_send(c, CL_GREETING "\n", sizeof(CL_GREETING))) {
						r = -1;
						break;
					}
					cl_state(&p, c, C_LIST);
				}
			}
			if (r == 0)
				continue;
			if (r == -1 && errno == 0 && c->st == C_LIST && listing_ok(c)) {
				if (bench_mono_s() <= end)
					ok++;
			} else {
				d->list_fail++;
				if (r == -2)
					why(d->list_why, sizeof(d->list_why), "answer too long");
				else if (r == -1 && errno)
					why(d->list_why, sizeof(d->list_why), "%s: %s",
					    c->st == C_GREET ? "before the greeting" : "listing",
					    strerror(errno));
				else
					why(d->list_why, sizeof(d->list_why), "bad listing: %.80s",
					    c->in);
			}
			cl_close(&p, i);
			active--;
		}
		if (now - scan > 0.1) {
			scan = now;
			for (long i = 0; i < p.cap; i++)
				if (p.c[i].st != C_FREE && now - p.c[i].t0 > SESSION_MAX_S) {
					d->list_fail++;
					why(d->list_why, sizeof(d->list_why), "session over %.0f s",
					    SESSION_MAX_S);
					cl_close(&p, i);
					active--;
				}
		}
	}
	/* sessions still running at the end do not count */
	d->list_wall_s += bench_mono_s() - start;
	d->list_cpu_s += tree_cpu_s(d->pid) - cpu0;
	getrusage(RUSAGE_SELF, &ru1);
	d->list_self_s += bench_tv_s(ru1.ru_utime) + bench_tv_s(ru1.ru_stime) -
			  bench_tv_s(ru0.ru_utime) - bench_tv_s(ru0.ru_stime);
	pool_fini(&p);
	d->list_ok += ok;
	return (double)ok / cf->list_s;
}

/* --- phase: time to greeting, one client at a time ----------------------------- */

static void
phase_greet(const struct cfg *cf, struct dmn *d)
{
	double *v = malloc((size_t)cf->greet_n * sizeof(*v));
	size_t n = 0;

	if (!v)
		die("out of memory");
	for (long i = 0; i < cf->greet_n; i++) {
		double t = greet_once(d->port, GREET_WAIT_S);

		if (t < 0)
			d->g_fail++;
		else
			v[n++] = t;
	}
	d->g_p50 = pctl(v, n, 0.50);
	d->g_p99 = pctl(v, n, 0.99);
	free(v);
}

/* --- phases: idle connections held, slow clients --------------------------------- */

/*
 * Open up to h->target connections, at most INFLIGHT of them not yet
 * greeted, until one fails or budget_s is over. A greeted connection sends
 * the client greeting (idle) or waits (slow: script false). Returns with
 * them open in p; h->held counts the greeted ones.
 */
static void
open_many(struct pool *p, struct hold *h, double budget_s, bool greet_back)
{
	struct epoll_event ev[256];
	double start = bench_mono_s(), end = start + budget_s, scan = start;
	long opened = 0;
	bool stop = false;

	for (;;) {
		double now = bench_mono_s();
		int n;

		while (!stop && opened < h->target && p->count[C_GREET] < INFLIGHT) {
			long i = cl_open(p);

			if (i < 0) {
				stop = true;
				why(h->why, sizeof(h->why), "connect #%ld: %s", opened + 1,
				    strerror((int)-i));
				break;
			}
			opened++;
		}
		if (p->count[C_GREET] == 0 && (stop || opened == h->target))
			break;
		if (now > end) {
			why(h->why, sizeof(h->why), "time budget of %.0f s over", budget_s);
			break;
		}
		n = epoll_wait(p->ep, ev, 256, 5);
		for (int k = 0; k < n; k++) {
			long i = (long)ev[k].data.u64;
			struct cl *c = &p->c[i];
			int r;

			if (c->st == C_FREE)
				continue;
			if (c->st != C_GREET) {
				/* an idle one woke up: the daemon closed it, or said something */
				r = cl_read(c, false);
				if (r < 0) {
					h->dropped++;
					cl_close(p, i);
				}
				continue;
			}
			while ((r = cl_read(c, true)) > 0 && !memchr(c->in, '\n', c->n))
				;
			if (r > 0) {
				if (greet_back) {
					if (cl_send(c, CL_GREETING, sizeof(CL_GREETING) - 1)) {
						h->dropped++;
						cl_close(p, i);
						continue;
					}
					cl_state(p, c, C_IDLE);
				} else {
					cl_state(p, c, C_WAIT);
				}
				continue;
			}
			if (r == 0)
				continue;
			stop = true;
			why(h->why, sizeof(h->why),
			    "connection #%ld closed before its greeting (%s)",
			    p->count[C_IDLE] + p->count[C_WAIT] + 1,
			    r == -2 ? "long line"
			    : errno ? strerror(errno)
				    : "EOF");
			cl_close(p, i);
		}
		now = bench_mono_s();
		if (now - scan > 0.1) {
			scan = now;
			for (long i = 0; i < p->cap; i++)
				if (p->c[i].st == C_GREET && now - p->c[i].t0 > GREET_WAIT_S) {
					if (!stop)
						why(h->why, sizeof(h->why),
						    "no greeting within %.0f s after %ld held",
						    GREET_WAIT_S,
						    p->count[C_IDLE] + p->count[C_WAIT]);
					stop = true;
					cl_close(p, i);
				}
		}
	}
	for (long i = 0; i < p->cap; i++)
		if (p->c[i].st == C_GREET)
			cl_close(p, i);
	h->open_s = bench_mono_s() - start;
}

/* Serve wake-ups of held connections for secs: a read end is a drop. */
static void
serve_held(struct pool *p, struct hold *h, double secs)
{
	struct epoll_event ev[256];
	double end = bench_mono_s() + secs;

	while (bench_mono_s() < end) {
		int n = epoll_wait(p->ep, ev, 256, 10);

		for (int k = 0; k < n; k++) {
			long i = (long)ev[k].data.u64;

			if (p->c[i].st != C_FREE && cl_read(&p->c[i], false) < 0) {
				h->dropped++;
				cl_close(p, i);
			}
		}
	}
}

static void
phase_hold(struct dmn *d, struct hold *h, double budget_s)
{
	struct pool p;
	double prev = -1, kib = 0;
	int procs = 0;

	h->base_kib = tree_pss_kib(d->pid, &procs);
	pool_init(&p, h->target, d->port);
	open_many(&p, h, budget_s, true);
	/* let the daemon read the greetings, then wait for PSS to settle */
	serve_held(&p, h, 0.3);
	for (int t = 0; t < 15; t++) {
		kib = tree_pss_kib(d->pid, &procs);
		if (prev > 0 && fabs(kib - prev) <= 0.005 * prev)
			break;
		prev = kib;
		serve_held(&p, h, 0.2);
	}
	serve_held(&p, h, 0.1);
	h->kib = kib;
	h->procs = procs;
	h->held = p.count[C_IDLE];
	pool_fini(&p);
}

/* Run the real rsync client: pull the module into dst. Its pid, or -1. */
static pid_t
legit_spawn(const struct cfg *cf, const struct dmn *d, const char *dst, const char *logp)
{
	char src[128];
	const char *argv[] = {cf->rsync, "-a", src, dst, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	snprintf(src, sizeof(src), "rsync://127.0.0.1:%d/" MODULE "/", d->port);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawnp(&pid, cf->rsync, &fa, NULL, (char **)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc ? -1 : pid;
}

/* The transfer's verdict once it exited: 0 when dst is the module tree. */
static int
legit_check(const struct cfg *cf, struct dmn *d, int st, const char *dst)
{
	long files, bytes;

	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		why(d->legit_why, sizeof(d->legit_why), "rsync exited with %d",
		    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return -1;
	}
	tree_count(dst, &files, &bytes);
	if (files != cf->data_files || bytes != cf->data_bytes) {
		why(d->legit_why, sizeof(d->legit_why), "got %ld files / %ld bytes of %ld / %ld",
		    files, bytes, cf->data_files, cf->data_bytes);
		return -1;
	}
	return 0;
}

/* One transfer with nothing else going on; its seconds, or NAN. */
static double
legit_alone(const struct cfg *cf, struct dmn *d)
{
	char dst[PATH_MAX + 32], logp[PATH_MAX + 32];
	double t0 = bench_mono_s(), t = NAN;
	pid_t pid;
	int st;

	snprintf(dst, sizeof(dst), "%s/dst-%s-alone", cf->work, d->key);
	snprintf(logp, sizeof(logp), "%s/legit-%s.log", cf->work, d->key);
	pid = legit_spawn(cf, d, dst, logp);
	if (pid < 0)
		return NAN;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (bench_mono_s() - t0 > LEGIT_MAX_S) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		sleep_s(0.001);
	}
	t = bench_mono_s() - t0;
	if (legit_check(cf, d, st, dst))
		t = NAN;
	rm_rf(dst);
	return t;
}

static void
phase_slow(const struct cfg *cf, struct dmn *d)
{
	static const char script[] = SLOW_SCRIPT;
	const size_t slen = sizeof(script) - 1;
	struct hold h = {.target = cf->slow_n};
	struct epoll_event ev[256];
	struct pool p;
	double go, next_legit, t_legit = 0;
	char dst[PATH_MAX + 32], logp[PATH_MAX + 32];
	pid_t pid = -1;
	int run = 0;
	long k = 0;
	double cpu0, t0, next_probe;

	d->legit_idle_s = legit_alone(cf, d);
	d->slow_target = cf->slow_n;
	cpu0 = tree_cpu_s(d->pid);
	t0 = bench_mono_s();
	pool_init(&p, cf->slow_n, d->port);
	open_many(&p, &h, 30, false);
	d->slow_ready = p.count[C_WAIT];
	if (h.why[0])
		why(d->legit_why, sizeof(d->legit_why), "slow clients: %s", h.why);
	/* all connected: now every one trickles, their bytes spread over the interval */
	go = bench_mono_s();
	for (long i = 0; i < p.cap; i++)
		if (p.c[i].st == C_WAIT) {
			cl_state(&p, &p.c[i], C_SLOW);
			p.c[i].next = go + cf->slow_ms * 1e-3 * (double)k++ / (double)cf->slow_n;
		}
	next_legit = go + 0.3;
	next_probe = go + 0.05;
	snprintf(logp, sizeof(logp), "%s/legit-%s.log", cf->work, d->key);
	while (run < cf->legit_runs) {
		double now = bench_mono_s();
		int n, st;

		if (pid < 0 && now >= next_legit) {
			snprintf(dst, sizeof(dst), "%s/dst-%s-%d", cf->work, d->key, run);
			t_legit = bench_mono_s();
			pid = legit_spawn(cf, d, dst, logp);
			if (pid < 0)
				die("cannot run %s: %s", cf->rsync, strerror(errno));
		}
		if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid) {
			double t = bench_mono_s() - t_legit;

			d->legit_s[run] = t;
			if (!legit_check(cf, d, st, dst))
				d->legit_ok++;
			else
				d->legit_s[run] = NAN;
			rm_rf(dst);
			run++;
			pid = -1;
			next_legit = bench_mono_s();
		} else if (pid > 0 && now - t_legit > LEGIT_MAX_S) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			why(d->legit_why, sizeof(d->legit_why), "killed after %.0f s", LEGIT_MAX_S);
			d->legit_s[run++] = NAN;
			rm_rf(dst);
			pid = -1;
			next_legit = bench_mono_s();
		}
		if (now >= next_probe && d->nprobe < sizeof(d->probe) / sizeof(d->probe[0])) {
			/* one more client, greeted or not; a blocking probe of a few ms at most */
			double t = greet_once(d->port, GREET_WAIT_S);

			d->probe[d->nprobe++] = t < 0 ? GREET_WAIT_S : t;
			next_probe = bench_mono_s() + 0.05;
		}
		n = epoll_wait(p.ep, ev, 256, 1);
		for (int e = 0; e < n; e++) {
			long i = (long)ev[e].data.u64;

			/* "@RSYNCD: OK" after the module line is read and dropped; an end is a drop
			 */
			if (p.c[i].st != C_FREE && cl_read(&p.c[i], false) < 0) {
				h.dropped++;
				cl_close(&p, i);
			}
		}
		now = bench_mono_s();
		for (long i = 0; i < p.cap; i++) {
			struct cl *c = &p.c[i];

			if (c->st != C_SLOW || c->next > now)
				continue;
			if (cl_send(c, script + c->sent, 1)) {
				h.dropped++;
				cl_close(&p, i);
				continue;
			}
			d->slow_bytes++;
			c->sent++;
			c->next += cf->slow_ms * 1e-3;
			if (c->sent == slen)
				cl_state(&p, c, C_IDLE);
		}
	}
	d->legit_runs = run;
	d->slow_alive = p.count[C_SLOW] + p.count[C_IDLE];
	d->slow_trickling = p.count[C_SLOW];
	/* before closing them: rsync's children still hold their CPU time */
	d->slow_cpu_s = tree_cpu_s(d->pid) - cpu0;
	d->slow_s = bench_mono_s() - t0;
	pool_fini(&p);
}

/* --- driver ------------------------------------------------------------------- */

static void
run_phase(const struct cfg *cf, struct dmn *ds, int nd, int round, const char *name,
	  void (*fn)(const struct cfg *, struct dmn *, int))
{
	for (int j = 0; j < nd; j++) {
		int i = (j + round) % nd; /* a different daemon first in every round */
		struct dmn *d = &ds[i];
		struct bench_host_window w;
		double others, t0 = bench_mono_s();

		bench_host_begin(&w);
		dmn_start(cf, d, i);
		fn(cf, d, round);
		dmn_stop(d, i);
		others = bench_host_others(&w);
		if (others == others && others > d->others)
			d->others = others;
		printf("  %-6s %-20s %5.1f s, others %2.0f%%\n", name, d->label,
		       bench_mono_s() - t0, others * 100);
		fflush(stdout);
	}
}

static void
do_mem(const struct cfg *cf, struct dmn *d, int round)
{
	(void)round;
	d->mem.target = cf->mem_n;
	phase_hold(d, &d->mem, 30);
}

static void
do_max(const struct cfg *cf, struct dmn *d, int round)
{
	(void)round;
	d->max.target = d->kind == K_OC ? cf->max_oc : cf->max_rsync;
	phase_hold(d, &d->max, 40);
}

static void
do_greet(const struct cfg *cf, struct dmn *d, int round)
{
	(void)round;
	phase_greet(cf, d);
}

static void
do_list(const struct cfg *cf, struct dmn *d, int round)
{
	d->rate[round] = phase_list(cf, d);
}

static void
do_slow(const struct cfg *cf, struct dmn *d, int round)
{
	(void)round;
	phase_slow(cf, d);
}

static bool
want_phase(const struct cfg *cf, const char *name)
{
	return !cf->phases || strstr(cf->phases, name) != NULL;
}

/* --- report ------------------------------------------------------------------ */

struct row {
	const char *metric, *unit;
	double v[MAX_DMN];
	char text[MAX_DMN][64]; /* shown instead of v when set */
	int ratio;		/* 0 none, 1 oc/rsync */
	const char *target;
	/* 0 no target; else the verdict per oc daemon: 1 PASS, -1 FAIL, 2 n/a */
	int has_target;
	int verdict[MAX_DMN];
};

static double
ratio_of(const struct row *r, int oc, int rs)
{
	if (rs < 0 || !(r->v[rs] > 0) || r->v[oc] != r->v[oc])
		return NAN;
	return r->v[oc] / r->v[rs];
}

static const char *
verdict_s(int v)
{
	return v == 1 ? "PASS" : v == -1 ? "FAIL" : v == 2 ? "n/a" : "";
}

static void
fmt_val(char *buf, size_t n, const struct row *r, int i)
{
	if (r->text[i][0])
		snprintf(buf, n, "%s", r->text[i]);
	else if (r->v[i] != r->v[i])
		snprintf(buf, n, "-");
	else if (fabs(r->v[i]) >= 100)
		snprintf(buf, n, "%.0f", r->v[i]);
	else if (fabs(r->v[i]) >= 10)
		snprintf(buf, n, "%.1f", r->v[i]);
	else
		snprintf(buf, n, "%.3g", r->v[i]);
}

static void
csv_field(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
report(const struct cfg *cf, struct dmn *ds, int nd, struct row *rows, int nrows, FILE *md,
       FILE *csv, const char *header)
{
	int rs = -1, noc = 0, oc[MAX_DMN];
	char buf[128];

	for (int i = 0; i < nd; i++) {
		if (ds[i].kind == K_RSYNC)
			rs = i;
		else
			oc[noc++] = i;
	}
	fputs(header, md);
	fprintf(md, "\n| metric |");
	for (int i = 0; i < nd; i++)
		fprintf(md, " %s |", ds[i].label);
	for (int j = 0; j < noc && rs >= 0; j++)
		fprintf(md, " oc/rsync %s |", ds[oc[j]].backend ? ds[oc[j]].backend : "");
	fprintf(md, " target |");
	for (int j = 0; j < noc; j++)
		fprintf(md, " %s |", ds[oc[j]].backend ? ds[oc[j]].backend : "oc");
	fprintf(md, "\n|---|");
	for (int i = 0; i < nd + (rs >= 0 ? noc : 0) + 1 + noc; i++)
		fprintf(md, "---|");
	fputc('\n', md);

	fprintf(csv, "metric,unit");
	for (int i = 0; i < nd; i++)
		fprintf(csv, ",%s", ds[i].key);
	for (int j = 0; j < noc && rs >= 0; j++)
		fprintf(csv, ",ratio_%s", ds[oc[j]].key);
	fprintf(csv, ",target");
	for (int j = 0; j < noc; j++)
		fprintf(csv, ",verdict_%s", ds[oc[j]].key);
	fputc('\n', csv);

	for (int k = 0; k < nrows; k++) {
		struct row *r = &rows[k];

		fprintf(md, "| %s%s%s%s |", r->metric, r->unit[0] ? " (" : "", r->unit,
			r->unit[0] ? ")" : "");
		csv_field(csv, r->metric);
		fputc(',', csv);
		csv_field(csv, r->unit);
		for (int i = 0; i < nd; i++) {
			fmt_val(buf, sizeof(buf), r, i);
			fprintf(md, " %s |", buf);
			fputc(',', csv);
			/* a number where there is one to compare, else the text */
			if (r->text[i][0] && !((r->ratio || r->has_target) && r->v[i] == r->v[i]))
				csv_field(csv, r->text[i]);
			else if (r->v[i] == r->v[i])
				fprintf(csv, "%.6g", r->v[i]);
		}
		for (int j = 0; j < noc && rs >= 0; j++) {
			double x = r->ratio ? ratio_of(r, oc[j], rs) : NAN;

			if (x == x) {
				fprintf(md, " %.3gx |", x);
				fprintf(csv, ",%.4g", x);
			} else {
				fprintf(md, " |");
				fprintf(csv, ",");
			}
		}
		fprintf(md, " %s |", r->target ? r->target : "");
		fputc(',', csv);
		csv_field(csv, r->target ? r->target : "");
		for (int j = 0; j < noc; j++) {
			const char *v = r->has_target ? verdict_s(r->verdict[oc[j]]) : "";

			fprintf(md, " %s |",
				*v ? (r->verdict[oc[j]] == 1	? "**PASS**"
				      : r->verdict[oc[j]] == -1 ? "**FAIL**"
								: v)
				   : "");
			fprintf(csv, ",%s", v);
		}
		fputc('\n', md);
		fputc('\n', csv);
	}
	(void)cf;
}

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: bench_daemon [--out DIR] [--quick] [--rounds N] [--clients N]\n"
	    "                    [--backends io_uring,epoll] [--no-rsync] [--backlog N]\n"
	    "                    [--oc-rsyncd PATH] [--rsync PATH] [--work DIR] [--keep]\n"
	    "                    [--phases mem,max,greet,list,slow]\n"
	    "  --out DIR        write daemon.md and daemon.csv into DIR (default build/bench)\n"
	    "  --quick          small counts and short phases (a smoke test, ~20 s)\n"
	    "  --rounds N       listing rounds per daemon, 1..%d (default 3, 1 with --quick)\n"
	    "  --clients N      listing clients at once (default 64)\n"
	    "  --backends LIST  oc-rsyncd backends to run: io_uring, epoll or both (default)\n"
	    "  --no-rsync       no rsync --daemon column\n"
	    "  --backlog N      'listen backlog' in the shared config (default 1024; 0 leaves\n"
	    "                   it out: rsync's default is 5)\n"
	    "  --oc-rsyncd PATH default: ../bin/oc-rsyncd beside this program\n"
	    "  --rsync PATH     default: rsync from PATH\n"
	    "  --work DIR       where the work folder goes (default $TMPDIR, else /tmp)\n"
	    "  --keep           keep the work folder (config, logs)\n"
	    "  --phases LIST    only these phases (default all; rows of the others stay empty)\n",
	    MAX_ROUNDS);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},	{"quick", no_argument, NULL, 'q'},
	    {"rounds", required_argument, NULL, 'r'},	{"clients", required_argument, NULL, 'c'},
	    {"backends", required_argument, NULL, 'b'}, {"no-rsync", no_argument, NULL, 'R'},
	    {"backlog", required_argument, NULL, 'B'},	{"oc-rsyncd", required_argument, NULL, 'O'},
	    {"rsync", required_argument, NULL, 's'},	{"work", required_argument, NULL, 'w'},
	    {"keep", no_argument, NULL, 'k'},		{"phases", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},		{NULL, 0, NULL, 0},
	};
	struct cfg cf = {0};
	struct dmn ds[MAX_DMN] = {0};
	const char *workbase = NULL, *tmp = getenv("TMPDIR");
	char exe[PATH_MAX], path[PATH_MAX + 32], header[4096];
	struct rlimit rl;
	struct utsname un;
	struct sigaction sa = {0};
	int nd = 0, rounds = 0, c, rc, hn = 0;
	double t0, wall;
	ssize_t el;
	FILE *md, *csv;

	cf.out = "build/bench";
	cf.rsync = "rsync";
	cf.backlog = 1024;
	cf.clients = 64;
	cf.use_epoll = cf.use_uring = cf.use_rsync = true;
	for (int i = 0, n = 0; i < argc && n < (int)sizeof(cf.cmdline) - 2; i++)
		n += snprintf(cf.cmdline + n, sizeof(cf.cmdline) - (size_t)n, "%s%s", i ? " " : "",
			      argv[i]);
	el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (el > 0) {
		char *slash;

		exe[el] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(cf.oc, sizeof(cf.oc), "%s/../bin/oc-rsyncd", exe);
	} else {
		snprintf(cf.oc, sizeof(cf.oc), "build/bin/oc-rsyncd");
	}
	while ((c = getopt_long(argc, argv, "o:qr:c:b:RB:O:s:w:kp:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			cf.out = optarg;
			break;
		case 'q':
			cf.quick = true;
			break;
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_ROUNDS) {
				usage(stderr);
				return 2;
			}
			break;
		case 'c':
			cf.clients = atoi(optarg);
			if (cf.clients < 1 || cf.clients > 4096) {
				usage(stderr);
				return 2;
			}
			break;
		case 'b':
			cf.use_uring = strstr(optarg, "io_uring") != NULL;
			cf.use_epoll = strstr(optarg, "epoll") != NULL;
			if (!cf.use_uring && !cf.use_epoll) {
				usage(stderr);
				return 2;
			}
			break;
		case 'R':
			cf.use_rsync = false;
			break;
		case 'B':
			cf.backlog = atoi(optarg);
			break;
		case 'O':
			snprintf(cf.oc, sizeof(cf.oc), "%s", optarg);
			break;
		case 's':
			cf.rsync = optarg;
			break;
		case 'w':
			workbase = optarg;
			break;
		case 'k':
			cf.keep = true;
			break;
		case 'p':
			cf.phases = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	cf.rounds = rounds ? rounds : cf.quick ? 1 : 3;
	cf.list_s = cf.quick ? 0.5 : 3;
	cf.greet_n = cf.quick ? 200 : 2000;
	cf.mem_n = cf.quick ? 100 : 1000;
	cf.max_oc = cf.quick ? 2000 : 10000;
	cf.max_rsync = cf.quick ? 100 : 1000;
	cf.slow_n = cf.quick ? 200 : 1000;
	cf.slow_ms = cf.quick ? 25 : 100;
	cf.legit_runs = cf.quick ? 1 : 5;

	if (access(cf.oc, X_OK))
		die("%s: %s (build it with make, or give --oc-rsyncd)", cf.oc, strerror(errno));
	if (cf.use_rsync) {
		int st = -1;
		pid_t pid;
		const char *av[] = {cf.rsync, "--version", NULL};
		posix_spawn_file_actions_t fa;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		if (posix_spawnp(&pid, cf.rsync, &fa, NULL, (char **)av, environ) ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			die("%s does not run; give --rsync PATH or --no-rsync", cf.rsync);
		posix_spawn_file_actions_destroy(&fa);
	}

	/* Our side holds every client socket: up to the hard limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	{
		long room = rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur - 64;
		long need = cf.max_oc > cf.slow_n ? cf.max_oc : cf.slow_n;

		if (room < need) {
			fprintf(stderr,
				"bench_daemon: this program may open %ld files (hard limit): "
				"trying %ld idle connections instead of %ld\n",
				room, room, need);
			cf.max_oc = room < cf.max_oc ? room : cf.max_oc;
			cf.max_rsync = room < cf.max_rsync ? room : cf.max_rsync;
			cf.mem_n = room < cf.mem_n ? room : cf.mem_n;
			cf.slow_n = room < cf.slow_n ? room : cf.slow_n;
		}
	}
	/* rsync's orphaned children come to us, and their CPU time with them */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_fatal_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if ((rc = bench_mkdir_p(cf.out)))
		die("%s: %s", cf.out, strerror(-rc));
	if (!workbase)
		workbase = tmp && *tmp ? tmp : "/tmp";
	snprintf(cf.work, sizeof(cf.work), "%s/bench_daemon.XXXXXX", workbase);
	if (!mkdtemp(cf.work))
		die("mkdtemp %s: %s", cf.work, strerror(errno));
	chmod(cf.work, 0755); /* a daemon running as root reads the module as nobody */
	snprintf(cf.data, sizeof(cf.data), "%s/data", cf.work);
	make_tree(&cf);
	write_conf(&cf);

	if (cf.use_uring)
		ds[nd++] = (struct dmn){.label = "oc-rsyncd io_uring",
					.key = "oc_io_uring",
					.kind = K_OC,
					.backend = "io_uring",
					.prog = cf.oc};
	if (cf.use_epoll)
		ds[nd++] = (struct dmn){.label = "oc-rsyncd epoll",
					.key = "oc_epoll",
					.kind = K_OC,
					.backend = "epoll",
					.prog = cf.oc};
	if (cf.use_rsync)
		ds[nd++] = (struct dmn){
		    .label = "rsync --daemon", .key = "rsync", .kind = K_RSYNC, .prog = cf.rsync};
	for (int i = 0; i < nd; i++) {
		snprintf(ds[i].log, sizeof(ds[i].log), "%s/%s.log", cf.work, ds[i].key);
		snprintf(ds[i].errlog, sizeof(ds[i].errlog), "%s/%s.out", cf.work, ds[i].key);
	}

	uname(&un);
	printf("bench_daemon: %ld CPUs, %s %s; module tree %ld files / %ld bytes; work %s%s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), un.sysname, un.release, cf.data_files, cf.data_bytes,
	       cf.work, cf.quick ? " (quick)" : "");
	fflush(stdout);
	t0 = bench_mono_s();
	if (want_phase(&cf, "mem"))
		run_phase(&cf, ds, nd, 0, "mem", do_mem);
	if (want_phase(&cf, "max"))
		run_phase(&cf, ds, nd, 1, "max", do_max);
	if (want_phase(&cf, "greet"))
		run_phase(&cf, ds, nd, 2, "greet", do_greet);
	for (int r = 0; r < cf.rounds && want_phase(&cf, "list"); r++)
		run_phase(&cf, ds, nd, r, "list", do_list);
	if (want_phase(&cf, "slow"))
		run_phase(&cf, ds, nd, 0, "slow", do_slow);
	wall = bench_mono_s() - t0;

	/* --- the table --- */
	{
		struct row rows[20];
		int nr = 0, row_mem = 0, row_max = 0, row_legit = 0;
		char lbl[5][128], rsync_note[160] = "";
		double maxothers = 0;

		memset(rows, 0, sizeof(rows));
		for (int i = 0; i < nd; i++)
			if (ds[i].others > maxothers)
				maxothers = ds[i].others;

		snprintf(lbl[0], sizeof(lbl[0]),
			 "listing sessions per second, %d clients, median of %d x %.1f s",
			 cf.clients, cf.rounds, cf.list_s);
		rows[nr] = (struct row){.metric = lbl[0],
					.unit = "1/s",
					.ratio = 1,
					.target = ">= 5x rsync",
					.has_target = 1};
		for (int i = 0; i < nd; i++) {
			double v[MAX_ROUNDS];

			memcpy(v, ds[i].rate, sizeof(v));
			rows[nr].v[i] = median(v, (unsigned)cf.rounds);
		}
		nr++;
		rows[nr] =
		    (struct row){.metric = "listing sessions failed", .unit = "", .ratio = 0};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] = (double)ds[i].list_fail;
		nr++;
		rows[nr] = (struct row){
		    .metric = "daemon CPU per listing session", .unit = "us", .ratio = 1};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] =
			    ds[i].list_ok ? 1e6 * ds[i].list_cpu_s / (double)ds[i].list_ok : NAN;
		nr++;
		rows[nr] =
		    (struct row){.metric = "CPU in the listing runs: daemon / load generator",
				 .unit = "% of one CPU",
				 .ratio = 0};
		for (int i = 0; i < nd; i++)
			if (ds[i].list_wall_s > 0)
				snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]), "%.0f / %.0f",
					 100 * ds[i].list_cpu_s / ds[i].list_wall_s,
					 100 * ds[i].list_self_s / ds[i].list_wall_s);
		nr++;
		snprintf(lbl[1], sizeof(lbl[1]), "time to greeting p50, one client at a time (%ld)",
			 cf.greet_n);
		rows[nr] = (struct row){.metric = lbl[1], .unit = "ms", .ratio = 1};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] = ds[i].g_p50 * 1e3;
		nr++;
		rows[nr] = (struct row){.metric = "time to greeting p99, one client at a time",
					.unit = "ms",
					.ratio = 1};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] = ds[i].g_p99 * 1e3;
		nr++;
		rows[nr] = (struct row){.metric = "time to greeting p50, during the listing runs",
					.unit = "ms",
					.ratio = 1};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] = pctl(ds[i].lat_load, ds[i].nlat_load, 0.5) * 1e3;
		nr++;
		rows[nr] = (struct row){.metric = "time to greeting p99, during the listing runs",
					.unit = "ms",
					.ratio = 1};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] = pctl(ds[i].lat_load, ds[i].nlat_load, 0.99) * 1e3;
		nr++;
		snprintf(lbl[2], sizeof(lbl[2]), "PSS per idle pre-auth connection, %ld held",
			 cf.mem_n);
		row_mem = nr;
		rows[nr] = (struct row){.metric = lbl[2],
					.unit = "KiB",
					.ratio = 1,
					.target = "<= 0.1x rsync",
					.has_target = 1};
		for (int i = 0; i < nd; i++) {
			struct hold *h = &ds[i].mem;

			rows[nr].v[i] = h->held ? (h->kib - h->base_kib) / (double)h->held : NAN;
			if (h->held != h->target)
				snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]),
					 "%.3g (%ld held)", rows[nr].v[i], h->held);
		}
		nr++;
		rows[nr] = (struct row){.metric = "daemon PSS: before / with them (processes)",
					.unit = "MiB",
					.ratio = 0};
		for (int i = 0; i < nd; i++)
			snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]), "%.1f / %.1f (%d)",
				 ds[i].mem.base_kib / 1024, ds[i].mem.kib / 1024, ds[i].mem.procs);
		nr++;
		snprintf(lbl[3], sizeof(lbl[3]),
			 "idle connections held, of %ld tried (rsync: %ld, a process each)",
			 cf.max_oc, cf.max_rsync);
		row_max = nr;
		rows[nr] = (struct row){.metric = lbl[3],
					.unit = "",
					.ratio = 0,
					.target = "10,000 within the raised fd limit",
					.has_target = 1};
		for (int i = 0; i < nd; i++) {
			rows[nr].v[i] = (double)ds[i].max.held;
			snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]), "%ld / %ld in %.1f s",
				 ds[i].max.held, ds[i].max.target, ds[i].max.open_s);
		}
		nr++;
		rows[nr] = (struct row){
		    .metric = "PSS per connection at that count", .unit = "KiB", .ratio = 1};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] = ds[i].max.held ? (ds[i].max.kib - ds[i].max.base_kib) /
							     (double)ds[i].max.held
						       : NAN;
		nr++;
		rows[nr] = (struct row){.metric = "open files limit (soft): started with / running",
					.unit = "",
					.ratio = 0};
		for (int i = 0; i < nd; i++)
			snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]), "%d / %ld",
				 START_NOFILE, ds[i].nofile);
		nr++;
		rows[nr] = (struct row){
		    .metric = "legitimate pull of the module, alone", .unit = "s", .ratio = 1};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] = ds[i].legit_idle_s;
		nr++;
		snprintf(
		    lbl[4], sizeof(lbl[4]),
		    "legitimate pull while %ld clients trickle a byte per %.0f ms, worst of %d",
		    cf.slow_n, cf.slow_ms, cf.legit_runs);
		row_legit = nr;
		rows[nr] = (struct row){
		    .metric = lbl[4], .unit = "s", .ratio = 1, .target = "< 2 s", .has_target = 1};
		for (int i = 0; i < nd; i++) {
			double worst = 0;

			for (int k = 0; k < ds[i].legit_runs; k++)
				worst = ds[i].legit_s[k] != ds[i].legit_s[k] || worst != worst
					    ? NAN
					    : fmax(worst, ds[i].legit_s[k]);
			rows[nr].v[i] =
			    ds[i].legit_runs && ds[i].legit_ok == ds[i].legit_runs ? worst : NAN;
			if (rows[nr].v[i] != rows[nr].v[i]) {
				snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]), "failed");
			} else if (ds[i].legit_runs > 1) {
				double v[MAX_ROUNDS];

				memcpy(v, ds[i].legit_s, sizeof(v));
				snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]),
					 "%.3g (median %.3g)", worst,
					 median(v, (unsigned)ds[i].legit_runs));
			}
		}
		nr++;
		rows[nr] = (struct row){
		    .metric = "time to greeting p50 / p99 of probes during the trickle",
		    .unit = "ms",
		    .ratio = 0};
		for (int i = 0; i < nd; i++) {
			double p50 = pctl(ds[i].probe, ds[i].nprobe, 0.5);
			double p99 = pctl(ds[i].probe, ds[i].nprobe, 0.99);

			if (ds[i].nprobe)
				snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]),
					 "%.3g / %.3g (%zu)", p50 * 1e3, p99 * 1e3, ds[i].nprobe);
			else
				snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]), "-");
		}
		nr++;
		rows[nr] = (struct row){
		    .metric =
			"slow clients: greeted / connected / still trickling after the last pull",
		    .unit = "",
		    .ratio = 0};
		for (int i = 0; i < nd; i++)
			snprintf(rows[nr].text[i], sizeof(rows[nr].text[i]),
				 "%ld / %ld / %ld of %ld", ds[i].slow_ready, ds[i].slow_alive,
				 ds[i].slow_trickling, ds[i].slow_target);
		nr++;
		rows[nr] = (struct row){
		    .metric = "daemon CPU while they connect and trickle (share of one CPU)",
		    .unit = "%",
		    .ratio = 1};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] =
			    ds[i].slow_s > 0 ? 100 * ds[i].slow_cpu_s / ds[i].slow_s : NAN;
		nr++;
		rows[nr] = (struct row){
		    .metric = "others' share of the CPUs, worst phase", .unit = "%", .ratio = 0};
		for (int i = 0; i < nd; i++)
			rows[nr].v[i] = ds[i].others * 100;
		nr++;

		/* verdicts, for each oc-rsyncd column */
		{
			int rs = -1;

			for (int i = 0; i < nd; i++)
				if (ds[i].kind == K_RSYNC)
					rs = i;
			for (int i = 0; i < nd; i++) {
				double x;

				if (ds[i].kind != K_OC)
					continue;
				x = ratio_of(&rows[0], i, rs);
				rows[0].verdict[i] = x != x ? 2 : x >= 5 ? 1 : -1;
				x = ratio_of(&rows[row_mem], i, rs);
				rows[row_mem].verdict[i] = x != x ? 2 : x <= 0.1 ? 1 : -1;
				rows[row_max].verdict[i] =
				    cf.max_oc < 10000				       ? 2
				    : ds[i].max.held >= 10000 && ds[i].nofile >= 10000 ? 1
										       : -1;
				rows[row_legit].verdict[i] = rows[row_legit].v[i] < 2 ? 1 : -1;
			}
		}

		if (cf.use_rsync)
			snprintf(rsync_note, sizeof(rsync_note),
				 " rsync forks a process per connection, so it is tried with at "
				 "most %ld idle connections.",
				 cf.max_rsync);
		hn = snprintf(header, sizeof(header),
			      "## oc-rsyncd against rsync --daemon\n\n"
			      "`%s` (%s), %.0f s, %ld CPUs, %s %s; oc-rsyncd event loop as logged:",
			      cf.cmdline,
			      cf.quick ? "quick: small counts, not the issue's numbers" : "full",
			      wall, sysconf(_SC_NPROCESSORS_ONLN), un.sysname, un.release);
		for (int i = 0; i < nd; i++)
			if (ds[i].kind == K_OC)
				hn += snprintf(header + hn, sizeof(header) - (size_t)hn,
					       " %s -> %s;", ds[i].backend, ds[i].seen_backend);
		hn +=
		    snprintf(header + hn, sizeof(header) - (size_t)hn,
			     " config: `use chroot = no`, %s, two modules, logging to a file "
			     "each.\nThe daemons start with a soft open-files limit of %d.%s%s\n",
			     cf.backlog > 0 ? "`listen backlog` set for both" : "default backlog",
			     START_NOFILE, rsync_note,
			     maxothers > 0.10 ? " **Caution: other processes used over 10% of the "
						"CPUs in some phase; rates are low and noisy.**"
					      : "");
		(void)hn;

		snprintf(path, sizeof(path), "%s/daemon.md", cf.out);
		md = fopen(path, "w");
		snprintf(path, sizeof(path), "%s/daemon.csv", cf.out);
		csv = fopen(path, "w");
		if (!md || !csv)
			die("writing into %s: %s", cf.out, strerror(errno));
		report(&cf, ds, nd, rows, nr, md, csv, header);
		fclose(md);
		fclose(csv);
		/* and the same on stdout */
		snprintf(path, sizeof(path), "%s/daemon.md", cf.out);
		md = fopen(path, "r");
		if (md) {
			char line[2048];

			putchar('\n');
			while (fgets(line, sizeof(line), md))
				fputs(line, stdout);
			fclose(md);
		}
		for (int i = 0; i < nd; i++) {
			if (ds[i].list_why[0])
				printf("%s: first listing failure: %s\n", ds[i].label,
				       ds[i].list_why);
			if (ds[i].mem.why[0])
				printf("%s: mem phase stopped opening: %s\n", ds[i].label,
				       ds[i].mem.why);
			if (ds[i].max.why[0])
				printf("%s: max phase stopped opening: %s\n", ds[i].label,
				       ds[i].max.why);
			if (ds[i].legit_why[0])
				printf("%s: legitimate client: %s\n", ds[i].label, ds[i].legit_why);
			if (ds[i].g_fail)
				printf("%s: %ld connections got no greeting in the greet phase\n",
				       ds[i].label, ds[i].g_fail);
			if (ds[i].max.dropped || ds[i].mem.dropped)
				printf("%s: idle connections closed by the daemon: %ld (mem), %ld "
				       "(max)\n",
				       ds[i].label, ds[i].mem.dropped, ds[i].max.dropped);
		}
		printf("\nwrote %s/daemon.md and %s/daemon.csv\n", cf.out, cf.out);
	}
	if (cf.keep)
		printf("work folder kept: %s\n", cf.work);
	else
		rm_rf(cf.work);
	for (int i = 0; i < nd; i++)
		free(ds[i].lat_load);
	return 0;
}
