/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The client side of rsync daemon transfers; see dclient.h. The text
 * protocol pieces (greeting, line classes, auth answer, argument list) are
 * ocproto/daemon.h's; this file does the I/O, the messages and the choices
 * upstream's start_client() makes before and after them.
 */
#include "apps/engine/dclient.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apps/engine/client.h"
#include "apps/engine/errcode.h"
#include "apps/engine/fastexit.h"
#include "apps/engine/filesfrom.h"
#include "apps/engine/session.h"
#include "apps/engine/util.h"
#include "ocproto/daemon.h"
#include "ocproto/err.h"

#define OCE_OUR_CAPS	 (OCP_CF_ALL & ~OCP_CF_INC_RECURSE)
#define RSYNC_PORT	 873
#define URL_PREFIX	 "rsync://"
#define DAEMON_LINE_BUF	 5120 /* upstream BIGPATHBUFLEN: lines and the password file */
#define PROXY_BUF	 1024 /* upstream PROXY_BUF_SIZE */

/* What the command line asks for, settled before any connection. */
struct dreq {
	bool push;
	char *host;	      /* [user@]host as given, brackets of an IPv6 literal dropped */
	const char *user;     /* points into host, or NULL */
	const char *machine;  /* the host part */
	int port;	      /* -1: default, else the port */
	int env_port;	      /* $RSYNC_PORT for a remote shell (upstream env_port) */
	char **remote;	      /* module paths (pull: every source; push: the destination) */
	int nremote;
	char **local;	      /* local sources (push) or the destination (pull) */
	int nlocal;
	const char *role;     /* "sender" or "Receiver", for messages */
};

/* One connection to a daemon, in the text phase. */
struct dconn {
	int fd_in, fd_out;
	pid_t pid;	      /* remote shell, or -1 (socket, connect program) */
	int timeout;	      /* --timeout seconds, 0: none */
	struct ocp_linebuf lb;
	struct ocp_greeting peer;
	char peer_line[OCP_DAEMON_LINE_MAX + 1];
	int protocol;
};

/* An error line, after whatever went to stdout (the two may share a file). */
static void __attribute__((format(printf, 1, 2)))
derr(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/*
 * Split "[user@]host..." as upstream's parse_hostspec(): url says the text
 * followed "rsync://" (a path may then start with '/' or be missing, and a
 * ":port" may follow the host). Returns the [user@]host (heap) and sets
 * *rest just past the host's ':' or '/', or NULL when str is no host spec.
 */
static char *
parse_host(const char *str, bool url, const char **rest, int *port)
{
	const char *s, *host_start = str;
	size_t hostlen = 0, userlen = 0;
	bool have_len = false;
	char *ret;

	for (s = str;; s++) {
		if (!*s) {
			if (!url)
				return NULL;
			if (!have_len)
				hostlen = (size_t)(s - host_start);
			break;
		}
		if (*s == ':' || *s == '/') {
			if (!have_len)
				hostlen = (size_t)(s - host_start);
			if (*s++ == '/') {
				if (!url)
					return NULL;
			} else if (url) {
				*port = atoi(s);
				while (isdigit((unsigned char)*s))
					s++;
				if (*s && *s++ != '/')
					return NULL;
			}
			break;
		}
		if (*s == '@') {
			userlen = (size_t)(s - str) + 1;
			host_start = s + 1;
		} else if (*s == '[') {
			if (s != host_start++)
				return NULL;
			while (*s && *s != ']' && *s != '/')
				s++;
			hostlen = (size_t)(s - host_start);
			have_len = true;
			if (*s != ']' || (s[1] && s[1] != '/' && s[1] != ':') || !hostlen)
				return NULL;
		}
	}
	*rest = s;
	ret = malloc(userlen + hostlen + 1);
	if (!ret)
		return NULL;
	memcpy(ret, str, userlen);
	memcpy(ret + userlen, host_start, hostlen);
	ret[userlen + hostlen] = '\0';
	return ret;
}

/*
 * Upstream check_for_hostspec(): the path of a "HOST:PATH", "HOST::PATH" or
 * "rsync://HOST[:PORT]/PATH" argument, or NULL. *port becomes 0 for a
 * remote-shell spec; a daemon spec keeps a port already set (--port) or
 * takes the URL's, else -1 (the default).
 */
static const char *
hostspec(const char *s, char **host, int *port)
{
	const char *path;

	if (!strncasecmp(s, URL_PREFIX, strlen(URL_PREFIX))) {
		*host = parse_host(s + strlen(URL_PREFIX), true, &path, port);
		if (*host) {
			if (!*port)
				*port = -1;
			return path;
		}
	}
	*host = parse_host(s, false, &path, NULL);
	if (!*host)
		return NULL;
	if (*path == ':') {
		if (!*port)
			*port = -1;
		return path + 1;
	}
	*port = 0;
	return path;
}

bool
oce_dclient_wanted(const struct oce_opts *o)
{
	char **a = o->args.v, *h = NULL;
	int n = (int)o->args.n, port = o->port;
	const char *p;

	if (n < 1)
		return false;
	p = hostspec(a[0], &h, &port);
	free(h);
	if (p)
		return port != 0;
	if (n < 2)
		return false;
	port = o->port;
	p = hostspec(a[n - 1], &h, &port);
	free(h);
	return p && port != 0;
}

/* Settle who sends, the host, port and paths (upstream start_client()). */
static int
plan(const struct oce_opts *o, struct dreq *rq)
{
	char **a = o->args.v, *h = NULL;
	int n = (int)o->args.n, port = o->port, dport;
	const char *p;
	char *at;

	memset(rq, 0, sizeof(*rq));
	rq->remote = calloc((size_t)n + 1, sizeof(char *));
	if (!rq->remote)
		return RERR_MALLOC;
	p = hostspec(a[0], &rq->host, &port);
	if (p) {
		rq->push = false;
		rq->remote[0] = (char *)p;
		rq->nremote = n;
		if (n > 1 && a[n - 1][0] != ':') {
			dport = 0;
			if (hostspec(a[n - 1], &h, &dport)) {
				free(h);
				derr("The source and destination cannot both be remote.\n");
				return RERR_SYNTAX;
			}
			rq->nremote = n - 1;
			rq->local = &a[n - 1];
			rq->nlocal = 1;
		}
		/* Further sources name the same daemon, or none (upstream "::path"). */
		for (int i = 1; i < rq->nremote; i++) {
			dport = port;
			p = hostspec(a[i], &h, &dport);
			if (!p) {
				derr("Unexpected local arg: %s\n"
				     "If arg is a remote file/dir, prefix it with a colon (:).\n",
				     a[i]);
				return RERR_SYNTAX;
			}
			if (*h && strcmp(h, rq->host)) {
				free(h);
				derr("All source args must come from the same machine.\n");
				return RERR_SYNTAX;
			}
			free(h);
			if (dport != port) {
				derr("%s\n", !dport ? "All source args must use the same hostspec format."
						    : "All source args must use the same port number.");
				return RERR_SYNTAX;
			}
			rq->remote[i] = (char *)p;
		}
	} else {
		rq->push = true;
		port = o->port;
		p = hostspec(a[n - 1], &rq->host, &port);
		rq->remote[0] = (char *)p;
		rq->nremote = 1;
		rq->local = a;
		rq->nlocal = n - 1;
		for (int i = 0; i < rq->nlocal; i++) {
			if (!a[i][0]) {
				derr("Empty source arg specified.\n");
				return RERR_SYNTAX;
			}
			dport = port;
			if (i && hostspec(a[i], &h, &dport)) {
				free(h);
				derr("Unexpected remote arg: %s\n", a[i]);
				return RERR_SYNTAX;
			}
		}
	}
	rq->role = rq->push ? "sender" : "Receiver";
	if (o->filesfrom_host && *o->filesfrom_host && strcmp(o->filesfrom_host, rq->host)) {
		derr("--files-from hostname is not the same as the transfer hostname\n");
		return RERR_SYNTAX;
	}
	rq->env_port = o->port;
	if (port < 0)
		port = RSYNC_PORT;
	else
		rq->env_port = port;
	rq->port = port;
	at = strrchr(rq->host, '@');
	if (at) {
		*at = '\0';
		rq->user = rq->host;
		rq->machine = at + 1;
	} else {
		rq->machine = rq->host;
	}
	return 0;
}

/* --- connecting ----------------------------------------------------------- */

/* connect() bounded by --contimeout (upstream connect_polled() with its alarm). */
static int
connect_bounded(int s, const struct sockaddr *sa, socklen_t len, int contimeout)
{
	struct pollfd pfd = {.fd = s, .events = POLLOUT};
	int64_t deadline = contimeout > 0 ? oce_now_ms() + (int64_t)contimeout * 1000 : 0;
	int err = 0, fl = fcntl(s, F_GETFL);
	socklen_t elen = sizeof(err);

	fcntl(s, F_SETFL, fl | O_NONBLOCK);
	if (connect(s, sa, len) == 0)
		goto done;
	if (errno != EINPROGRESS && errno != EINTR)
		return -1;
	for (;;) {
		int wait = 100, rc;

		if (deadline && oce_now_ms() >= deadline) {
			errno = ETIMEDOUT;
			return -2;
		}
		rc = poll(&pfd, 1, wait);
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc <= 0)
			continue;
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			return -1;
		if (err) {
			errno = err;
			return -1;
		}
		break;
	}
done:
	fcntl(s, F_SETFL, fl);
	return 0;
}

/* Bind to --address before connecting (upstream try_bind_local()). */
static int
bind_local(int s, int family, const char *addr)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res, *r;
	int e = getaddrinfo(addr, NULL, &hints, &res);

	if (e) {
		derr("%s: getaddrinfo %s: %s\n", OCE_PROG, addr, gai_strerror(e));
		return -1;
	}
	for (r = res; r; r = r->ai_next)
		if (!bind(s, r->ai_addr, r->ai_addrlen)) {
			freeaddrinfo(res);
			return 0;
		}
	freeaddrinfo(res);
	return -1;
}

/* $RSYNC_PROXY, "[USER:PASS@]HOST:PORT", split (upstream open_socket_out()). */
struct proxy {
	char buf[PROXY_BUF];
	const char *host, *port, *user, *pass;
};

static int
proxy_parse(const char *env, struct proxy *px)
{
	char *at, *colon;

	snprintf(px->buf, sizeof(px->buf), "%s", env);
	px->host = px->buf;
	px->user = px->pass = NULL;
	at = strrchr(px->buf, '@');
	if (at) {
		*at++ = '\0';
		colon = strchr(px->buf, ':');
		if (!colon) {
			derr("invalid proxy specification: should be USER:PASS@HOST:PORT\n");
			return -1;
		}
		*colon = '\0';
		px->user = px->buf;
		px->pass = colon + 1;
		px->host = at;
	}
	colon = strchr(px->host, ':');
	if (!colon) {
		derr("invalid proxy specification: should be HOST:PORT\n");
		return -1;
	}
	*colon = '\0';
	/* upstream keeps at most 9 characters of the port */
	if (strlen(colon + 1) > 9)
		colon[10] = '\0';
	px->port = colon + 1;
	return 0;
}

/* One header line of the proxy's answer, '\n' kept; -1 after a message. */
static int
proxy_line(int s, const struct dreq *rq, char *buf, size_t cap, const char *too_long)
{
	size_t n = 0;

	while (n < cap - 1) {
		errno = 0;
		if (read(s, buf + n, 1) != 1) {
			derr("%s: [%s] failed to read from proxy: %s (%d)\n", OCE_PROG, rq->role,
			     strerror(errno), errno);
			return -1;
		}
		if (buf[n++] == '\n') {
			buf[n] = '\0';
			return (int)n;
		}
	}
	derr("%s\n", too_long);
	return -1;
}

/*
 * Ask an HTTP proxy for a tunnel to the daemon with CONNECT, with Basic
 * proxy authorization when $RSYNC_PROXY names a user (upstream
 * establish_proxy_connection()).
 */
static int
proxy_connect(int s, const struct dreq *rq, const struct proxy *px)
{
	char req[PROXY_BUF], auth[PROXY_BUF], line[PROXY_BUF];
	const char *p;
	int n;

	for (p = rq->machine; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
			derr("invalid control character in proxy CONNECT host\n");
			return -1;
		}
	auth[0] = '\0';
	if (px->user && px->pass) {
		char up[PROXY_BUF];
		size_t ul = (size_t)snprintf(up, sizeof(up), "%s:%s", px->user, px->pass);

		if (ul >= sizeof(up) || (ul * 8 + 5) / 6 >= PROXY_BUF - 3) {
			derr("authentication information is too long\n");
			return -1;
		}
		n = ocp_base64_encode(auth, sizeof(auth) - 3, (const uint8_t *)up, ul);
		memset(up, 0, sizeof(up));
		if (n < 0)
			return -1;
		while (n % 4) /* padded, as HTTP Basic wants */
			auth[n++] = '=';
		auth[n] = '\0';
	}
	n = snprintf(req, sizeof(req), "CONNECT %s:%d HTTP/1.0%s%s\r\n\r\n", rq->machine, rq->port,
		     auth[0] ? "\r\nProxy-Authorization: Basic " : "", auth);
	memset(auth, 0, sizeof(auth));
	if (n <= 0 || n >= (int)sizeof(req)) {
		derr("proxy CONNECT request too long\n");
		return -1;
	}
	if (write(s, req, (size_t)n) != n) {
		derr("%s: [%s] failed to write to proxy: %s (%d)\n", OCE_PROG, rq->role, strerror(errno),
		     errno);
		return -1;
	}
	n = proxy_line(s, rq, line, sizeof(line), "proxy response line too long");
	if (n < 0)
		return -1;
	line[--n] = '\0';
	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	p = line + 5;
	if (strncmp(line, "HTTP/", 5) == 0) {
		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
		while (*p == ' ')
			p++;
	}
	if (strncmp(line, "HTTP/", 5) || *p != '2') {
		derr("bad response from proxy -- %s\n", line);
		return -1;
	}
	/* the rest of the header, up to its empty line */
	for (;;) {
		n = proxy_line(s, rq, line, sizeof(line), "proxy response header line too long");
		if (n < 0)
			return -1;
		if (!strcmp(line, "\n") || !strcmp(line, "\r\n"))
			return 0;
	}
}

/* A TCP connection to host:port, every address tried (upstream open_socket_out()). */
static int
open_tcp(const struct oce_opts *o, const struct dreq *rq, int *code)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *r;
	char portbuf[16], numeric[NI_MAXHOST];
	const char *env = getenv("RSYNC_PROXY"), *h = rq->machine;
	struct proxy px;
	bool proxied = env && *env;
	int s = -1, e, nres = 0, *errs;

	*code = RERR_SOCKETIO;
	if (o->ip_family)
		hints.ai_family = o->ip_family == 6 ? AF_INET6 : AF_INET;
	snprintf(portbuf, sizeof(portbuf), "%d", rq->port);
	if (proxied) {
		if (proxy_parse(env, &px))
			return -1;
		h = px.host;
		snprintf(portbuf, sizeof(portbuf), "%s", px.port);
		if (o->debug[OCE_DEBUG_CONNECT] >= 1) {
			printf("connection via http proxy %s port %s\n", h, portbuf);
			fflush(stdout);
		}
	}
	e = getaddrinfo(h, portbuf, &hints, &res);
	if (e) {
		derr("%s: getaddrinfo: %s %s: %s\n", OCE_PROG, h, portbuf, gai_strerror(e));
		return -1;
	}
	for (r = res; r; r = r->ai_next)
		nres++;
	errs = calloc((size_t)nres, sizeof(int));
	if (!errs) {
		freeaddrinfo(res);
		*code = RERR_MALLOC;
		return -1;
	}
	e = 0;
	for (r = res; r; r = r->ai_next, e++) {
		int rc;

		s = socket(r->ai_family, r->ai_socktype | SOCK_CLOEXEC, r->ai_protocol);
		if (s < 0)
			continue;
		if (o->address && bind_local(s, r->ai_family, o->address)) {
			close(s);
			s = -1;
			continue;
		}
		rc = connect_bounded(s, r->ai_addr, r->ai_addrlen, o->contimeout);
		if (rc == -2) {
			close(s);
			freeaddrinfo(res);
			free(errs);
			*code = RERR_CONTIMEOUT;
			return -1;
		}
		if (rc) {
			errs[e] = errno;
			close(s);
			s = -1;
			continue;
		}
		if (proxied && proxy_connect(s, rq, &px)) {
			close(s);
			s = -1;
			continue;
		}
		break;
	}
	if (s < 0) {
		e = 0;
		for (r = res; r; r = r->ai_next, e++) {
			if (!errs[e])
				continue;
			if (getnameinfo(r->ai_addr, r->ai_addrlen, numeric, sizeof(numeric), NULL, 0,
					NI_NUMERICHOST))
				snprintf(numeric, sizeof(numeric), "*getnameinfo failure*");
			derr("%s: [%s] failed to connect to %s (%s): %s (%d)\n", OCE_PROG, rq->role, h,
			     numeric, strerror(errs[e]), errs[e]);
		}
	}
	freeaddrinfo(res);
	free(errs);
	return s;
}

/*
 * May host stand for %H in $RSYNC_CONNECT_PROG? Only characters that stay
 * data through a nested shell, and none of the first characters that change
 * a word's meaning (upstream shell_unsafe_connect_host()).
 */
static bool
connect_host_safe(const char *h)
{
	if (!*h || strchr("-+~%", *h))
		return false;
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && !strchr("._:-%+~", *h))
			return false;
	return true;
}

/*
 * $RSYNC_CONNECT_PROG with "%H" replaced by the host in single quotes and
 * "%%" by "%" (upstream open_socket_out_wrapped()). NULL on no memory.
 */
static char *
connect_prog_cmd(const char *prog, const char *host)
{
	size_t cap = strlen(prog) + 1, hl = strlen(host) + 2;
	char *out, *t;

	/* connect_host_safe() let no quote through: '...' needs no escapes. */
	for (const char *f = prog; *f; f++)
		if (*f == '%')
			cap += hl;
	out = t = malloc(cap);
	if (!out)
		return NULL;
	for (const char *f = prog; *f; f++) {
		if (*f == '%' && f[1] == '%') {
			*t++ = *++f;
		} else if (*f == '%' && f[1] == 'H') {
			f++;
			*t++ = '\'';
			for (const char *h = host; *h; h++)
				*t++ = *h;
			*t++ = '\'';
		} else {
			*t++ = *f;
		}
	}
	*t = '\0';
	return out;
}

/*
 * A connected pair of TCP sockets on 127.0.0.1, as upstream's
 * socketpair_tcp(): a program that exits without reading what was sent
 * resets the connection, and the client sees that as rsync's does.
 */
static int
tcp_pair(int sv[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int l, e;

	sv[0] = sv[1] = -1;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		goto fail;
	sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sv[1] < 0 || connect(sv[1], (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	sv[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (sv[0] < 0)
		goto fail;
	close(l);
	return 0;
fail:
	e = errno;
	close(l);
	if (sv[1] >= 0)
		close(sv[1]);
	errno = e;
	return -1;
}

/*
 * Run prog through the shell on one end of a socket pair (upstream
 * sock_exec(); $RSYNC_SHELL replaces sh). Not waited for, as upstream.
 */
static int
sock_exec(const char *prog)
{
	const char *sh = getenv("RSYNC_SHELL");
	int sv[2];
	pid_t pid;

	if (tcp_pair(sv)) {
		derr("%s: socketpair_tcp failed: %s (%d)\n", OCE_PROG, strerror(errno), errno);
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0) {
			fprintf(stderr, "Failed to run \"%s\"\n", prog);
			oce_fast_exit(1);
		}
		if (sh)
			execlp(sh, sh, "-c", prog, (char *)NULL);
		else
			execl("/bin/sh", "sh", "-c", prog, (char *)NULL);
		oce_fast_exit(1);
	}
	close(sv[1]);
	return sv[0];
}

/* Socket, connect program or remote shell; fills c's descriptors. */
static int
dconnect(const struct oce_opts *o, const struct dreq *rq, struct dconn *c)
{
	const char *prog = getenv("RSYNC_CONNECT_PROG");
	int code = RERR_SOCKETIO;

	c->pid = -1;
	if (o->rsh) {
		struct oce_strv cmd = {0};
		bool dash_l = false;
		char portbuf[16];

		if (oce_rsh_split(o->rsh, &cmd))
			return RERR_MALLOC;
		for (size_t i = 0; i + 1 < cmd.n; i++)
			if (!strcmp(cmd.v[i], "-l") && cmd.v[i + 1][0] != '-')
				dash_l = true;
		if (rq->user && !dash_l) {
			oce_strv_push(&cmd, "-l");
			oce_strv_push(&cmd, rq->user);
		}
		if (oce_rsh_family_opt(o, cmd.n ? cmd.v[0] : NULL))
			oce_strv_push(&cmd, oce_rsh_family_opt(o, cmd.v[0]));
		oce_strv_push(&cmd, rq->machine);
		oce_strv_push(&cmd, o->rsync_path ? o->rsync_path : "rsync");
		oce_strv_push(&cmd, "--server");
		oce_strv_push(&cmd, "--daemon");
		if (oce_strv_push(&cmd, ".") || oce_strv_push(&cmd, "")) {
			oce_strv_free(&cmd);
			return RERR_MALLOC;
		}
		free(cmd.v[--cmd.n]);
		cmd.v[cmd.n] = NULL;
		/* The far side learns the port it would have been reached on. */
		snprintf(portbuf, sizeof(portbuf), "%d", rq->env_port);
		setenv("RSYNC_PORT", portbuf, 1);
		if (o->debug[OCE_DEBUG_CMD] >= 1)
			oce_print_argv("opening connection using:", cmd.v, cmd.n);
		fflush(stdout);
		c->pid = oce_spawn(cmd.v, &c->fd_in, &c->fd_out);
		oce_strv_free(&cmd);
		return c->pid < 0 ? RERR_IPC : 0;
	}
	if (prog && strchr(prog, '%') && !connect_host_safe(rq->machine)) {
		derr("unsafe host characters for RSYNC_CONNECT_PROG\n");
		return RERR_SOCKETIO;
	}
	if (o->debug[OCE_DEBUG_CONNECT] >= 1) {
		printf("%sopening tcp connection to %s port %d\n",
		       prog ? "Using RSYNC_CONNECT_PROG instead of " : "", rq->machine, rq->port);
		fflush(stdout);
	}
	if (prog) {
		char *cmd = strchr(prog, '%') ? connect_prog_cmd(prog, rq->machine) : strdup(prog);

		if (!cmd)
			return RERR_MALLOC;
		if (o->debug[OCE_DEBUG_CMD] >= 1) {
			printf("Running socket program: \"%s\"\n", cmd);
			fflush(stdout);
		}
		c->fd_in = sock_exec(cmd);
		free(cmd);
		if (c->fd_in < 0)
			return RERR_IPC;
	} else {
		c->fd_in = open_tcp(o, rq, &code);
		if (c->fd_in < 0)
			return code;
	}
	c->fd_out = c->fd_in;
	return 0;
}

/* --- the text phase --------------------------------------------------------- */

/* Write all of buf; a message and an exit code on failure. */
static int
dwrite(struct dconn *c, const struct dreq *rq, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(c->fd_out, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			derr("%s: [%s] safe_write failed to write %zu bytes to fd %d: %s (%d)\n", OCE_PROG,
			     rq->role, len, c->fd_out, strerror(errno), errno);
			return RERR_STREAMIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read one line, a byte at a time as upstream's read_line_old() does: the
 * binary protocol follows "@RSYNCD: OK" on the same stream, and nothing of
 * it may be read here. Returns 1 with *line set, 0 at EOF (or a line that
 * is too long or holds a NUL, which upstream treats the same), or an exit
 * code (negated) after a message.
 */
static int
dread_line(struct dconn *c, const struct dreq *rq, const char **line, size_t *len)
{
	for (;;) {
		uint8_t b;
		ssize_t n;
		int r;

		if (c->timeout) {
			struct pollfd pfd = {.fd = c->fd_in, .events = POLLIN};

			r = poll(&pfd, 1, c->timeout * 1000);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0) {
				derr("[%s] io timeout after %d seconds -- exiting\n", rq->role, c->timeout);
				return -RERR_TIMEOUT;
			}
		}
		n = read(c->fd_in, &b, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			derr("%s: [%s] safe_read failed to read 1 bytes: %s (%d)\n", OCE_PROG, rq->role,
			     strerror(errno), errno);
			return -RERR_STREAMIO;
		}
		if (n == 0)
			return 0;
		r = ocp_linebuf_feed(&c->lb, &b, 1, line, len);
		if (r < 0)
			return 0;
		if (*line)
			return 1;
	}
}

/* Exchange greetings and settle the protocol (upstream exchange_protocols()). */
static int
greet(const struct oce_opts *o, const struct dreq *rq, struct dconn *c)
{
	struct ocp_namelist ours;
	char out[128];
	const char *line;
	size_t len;
	int n, r, ours_proto = o->protocol ? o->protocol : OCP_PROTOCOL_MAX;

	ocp_auth_digests_default(&ours);
	n = ocp_greeting_encode(out, sizeof(out), ours_proto, 0, &ours);
	if (n < 0)
		return RERR_MALLOC;
	r = dwrite(c, rq, out, (size_t)n);
	if (r)
		return r;
	r = dread_line(c, rq, &line, &len);
	if (r < 0)
		return -r;
	if (r == 0) {
		derr("%s: did not see server greeting\n", OCE_PROG);
		return RERR_STARTCLIENT;
	}
	memcpy(c->peer_line, line, len + 1);
	r = ocp_greeting_parse(line, len, &c->peer);
	if (r) {
		int proto, sub = -1;

		/* Tell apart what upstream's sscanf()-based parse tells apart. */
		if (sscanf(line, "@RSYNCD: %d.%d", &proto, &sub) < 1)
			derr("%s: server sent \"%s\" rather than greeting\n", OCE_PROG, line);
		else if (sub < 0 && proto >= 30)
			derr("%s: the server omitted the subprotocol value: %s\n", OCE_PROG, line);
		else
			derr("%s: the server omitted the digest name list: %s\n", OCE_PROG, line);
		return RERR_STARTCLIENT;
	}
	r = ocp_daemon_protocol(ours_proto, 0, &c->peer);
	if (r < 0) {
		derr("%s: protocol version mismatch -- is your shell clean?\n"
		     "(protocol %d is not supported; we speak %d to %d)\n",
		     OCE_PROG, c->peer.protocol, OCP_PROTOCOL_MIN, OCP_PROTOCOL_MAX);
		return RERR_PROTOCOL;
	}
	c->protocol = r;
	return 0;
}

/*
 * Is any component of path a symlink owned by someone other than root or
 * us? Someone could point it at a file whose first line would then go to
 * the daemon (upstream refuses such a path with ELOOP; unlike upstream,
 * the links' targets are not walked in turn).
 */
static bool
planted_symlink(const char *path)
{
	char part[4096];
	size_t len = strlen(path);
	struct stat st;

	if (!len || len >= sizeof(part))
		return false;
	memcpy(part, path, len + 1);
	for (char *p = part + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (!lstat(part, &st) && S_ISLNK(st.st_mode) && st.st_uid != 0 && st.st_uid != geteuid())
			return true;
		*p = c;
		if (!c)
			return false;
	}
}

/*
 * The password (upstream getpassf()): the first line of --password-file
 * ("-": stdin), else $RSYNC_PASSWORD, else asked for on the terminal.
 * Returns 0 with *pass (heap) or an exit code after a message.
 */
static int
password(const struct oce_opts *o, const struct dreq *rq, char **pass)
{
	const char *f = o->password_file, *env;
	char buf[512], *p;
	ssize_t n;

	*pass = NULL;
	if (f && !strcmp(f, "-")) {
		n = fgets(buf, sizeof(buf), stdin) ? (ssize_t)strlen(buf) : -1;
	} else if (f) {
		struct stat st;
		int fd;

		/* Its first line goes to the daemon: see planted_symlink(). */
		if (planted_symlink(f)) {
			derr("refusing to follow a symlink owned by an untrusted user; use "
			     "--insecure-links locally or \"insecure links = yes\" in a daemon module "
			     "ONLY if every path component is trusted\n");
			errno = ELOOP;
			goto open_failed;
		}
		fd = open(f, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
		open_failed:
			derr("%s: [%s] could not open password file %s: %s (%d)\n", OCE_PROG, rq->role, f,
			     strerror(errno), errno);
			return RERR_SYNTAX;
		}
		if (fstat(fd, &st)) {
			derr("%s: [%s] fstat(%s): %s (%d)\n", OCE_PROG, rq->role, f, strerror(errno), errno);
			close(fd);
			return RERR_SYNTAX;
		}
		if (st.st_mode & 06) {
			derr("ERROR: password file must not be other-accessible\n");
			close(fd);
			return RERR_SYNTAX;
		}
		if (geteuid() == 0 && st.st_uid != 0) {
			derr("ERROR: password file must be owned by root when running as root\n");
			close(fd);
			return RERR_SYNTAX;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	} else if ((env = getenv("RSYNC_PASSWORD"))) {
		*pass = strdup(env);
		return *pass ? 0 : RERR_MALLOC;
	} else {
		fflush(stdout);
		p = getpass("Password: ");
		*pass = strdup(p ? p : "");
		return *pass ? 0 : RERR_MALLOC;
	}
	if (n > 0) {
		char *save = NULL;

		buf[n] = '\0';
		p = strtok_r(buf, "\n\r", &save);
		if (p) {
			*pass = strdup(p);
			return *pass ? 0 : RERR_MALLOC;
		}
	}
	derr("ERROR: failed to read a password from %s\n", f);
	return RERR_SYNTAX;
}

/* Answer "@RSYNCD: AUTHREQD <challenge>" (upstream auth_client()). */
static int
authenticate(const struct oce_opts *o, const struct dreq *rq, struct dconn *c, const char *user,
	     const char *challenge, size_t clen)
{
	struct ocp_namelist ours;
	char ch[OCP_DAEMON_LINE_MAX + 1], answer[OCP_DAEMON_LINE_MAX + 2], *pass;
	int digest, n, r;

	if (!user || !*user)
		user = "nobody";
	ocp_auth_digests_default(&ours);
	digest = ocp_auth_digest_choose(&ours, &c->peer);
	if (digest < 0) {
		const char *list = strchr(c->peer_line + 9, ' ');

		derr("Failed to negotiate a daemon auth choice.\nServer list: %s\n"
		     "Client list: sha512 sha256 sha1 md5 md4\n",
		     list ? list + 1 : "");
		return RERR_UNSUPPORTED;
	}
	r = password(o, rq, &pass);
	if (r)
		return r;
	memcpy(ch, challenge, clen);
	ch[clen] = '\0';
	n = ocp_auth_response(answer, sizeof(answer) - 1, (enum ocp_csum)digest, user, pass, ch);
	memset(pass, 0, strlen(pass));
	free(pass);
	if (n < 0) {
		derr("%s: [%s] cannot answer the daemon's challenge: %s\n", OCE_PROG, rq->role,
		     ocp_is_proto_err(n) ? ocp_strerror(n) : strerror(-n));
		return RERR_UNSUPPORTED;
	}
	answer[n++] = '\n';
	r = dwrite(c, rq, answer, (size_t)n);
	memset(answer, 0, sizeof(answer));
	return r;
}

/*
 * A path argument as the daemon gets it (upstream start_inband_exchange()):
 * the bare module name gains a '/', a leading '-' a "./", and a space before
 * "<module>/" is bracketed so that the daemon cannot split the argument there.
 */
static char *
daemon_path_arg(const char *arg, const char *mod, size_t modlen)
{
	char pat[DAEMON_LINE_BUF];
	size_t extra = arg[0] == '-' ? 2 : 0, plen;
	const char *p;
	char *out, *t;

	if (!strncmp(arg, mod, modlen) && arg[modlen] == '\0') {
		out = malloc(modlen + 2);
		if (out) {
			memcpy(out, mod, modlen);
			memcpy(out + modlen, "/", 2);
		}
		return out;
	}
	plen = (size_t)snprintf(pat, sizeof(pat), " %.*s/", (int)modlen, mod);
	for (p = strstr(arg, pat); p; p = strstr(p + 1, pat))
		extra += 2;
	out = t = malloc(strlen(arg) + extra + 1);
	if (!out)
		return NULL;
	if (arg[0] == '-') {
		*t++ = '.';
		*t++ = '/';
	}
	for (p = arg; *p;) {
		if (*p == ' ' && !strncmp(p, pat, plen)) {
			*t++ = '[';
			*t++ = *p++;
			*t++ = ']';
		} else {
			*t++ = *p++;
		}
	}
	*t = '\0';
	return out;
}

/*
 * Everything between the greeting and the binary protocol (upstream
 * start_inband_exchange()). Returns 0 to go on with the transfer, -1 when
 * the daemon ended a module listing (exit 0), or an exit code.
 */
static int
inband(const struct oce_opts *o, const struct dreq *rq, struct dconn *c)
{
	struct oce_strv sa = {0};
	const char *modpath = rq->remote[0], *slash, *line, *arg, *user = rq->user;
	size_t modlen, len, arglen;
	uint8_t *abuf = NULL;
	int r, n;

	if (modpath[0] == '/') {
		derr("ERROR: The remote path must start with a module name\n");
		return RERR_STARTCLIENT;
	}
	slash = strchr(modpath, '/');
	modlen = slash ? (size_t)(slash - modpath) : strlen(modpath);
	if (!user)
		user = getenv("USER");
	if (!user)
		user = getenv("LOGNAME");

	r = greet(o, rq, c);
	if (r)
		return r;

	/* The server's arguments, sent once the daemon says OK. */
	if (oce_server_args(o, !rq->push, OCE_OUR_CAPS, &sa))
		return RERR_MALLOC;
	for (int i = 0; i < rq->nremote; i++) {
		char *a = daemon_path_arg(rq->remote[i], modpath, modlen);

		if (!a || oce_strv_push(&sa, a)) {
			free(a);
			oce_strv_free(&sa);
			return RERR_MALLOC;
		}
		free(a);
	}
	if (sa.n > OCP_DAEMON_ARGS_MAX - 1) {
		derr("internal: args[] overflowed in do_cmd()\n");
		oce_strv_free(&sa);
		return RERR_SYNTAX;
	}
	if (o->debug[OCE_DEBUG_CMD] >= 1)
		oce_print_argv("sending daemon args:", sa.v, sa.n);

	{
		char mline[DAEMON_LINE_BUF + 2];

		n = snprintf(mline, sizeof(mline), "%.*s\n", (int)modlen, modpath);
		r = dwrite(c, rq, mline, (size_t)n);
	}
	while (!r) {
		r = dread_line(c, rq, &line, &len);
		if (r < 0) {
			r = -r;
			break;
		}
		if (r == 0) {
			derr("%s: didn't get server startup line\n", OCE_PROG);
			r = RERR_STARTCLIENT;
			break;
		}
		r = 0;
		switch (ocp_dline_classify(line, len, &arg, &arglen)) {
		case OCP_DLINE_AUTHREQD:
			r = authenticate(o, rq, c, user, arg, arglen);
			continue;
		case OCP_DLINE_OK:
			break;
		case OCP_DLINE_EXIT:
			/* The end of a module listing: nothing to transfer. */
			r = -1;
			break;
		case OCP_DLINE_ERROR:
			derr("%s\n", line);
			r = RERR_STARTCLIENT;
			break;
		case OCP_DLINE_TEXT:
			/* A motd line or a listing line; nothing tells them apart. */
			if (!o->no_motd) {
				fwrite(line, 1, len, stdout);
				putchar('\n');
			}
			continue;
		}
		break;
	}
	fflush(stdout);
	if (r) {
		oce_strv_free(&sa);
		return r;
	}

	/* Protocol 30+: each argument NUL-terminated, then an empty one. */
	{
		size_t cap = 1;

		for (size_t i = 0; i < sa.n; i++)
			cap += strlen(sa.v[i]) + 1;
		abuf = malloc(cap);
		n = abuf ? ocp_enc_args(abuf, cap, (const char *const *)sa.v, sa.n) : -ENOMEM;
	}
	oce_strv_free(&sa);
	if (n < 0) {
		free(abuf);
		derr("%s: [%s] cannot send the server arguments: %s\n", OCE_PROG, rq->role,
		     strerror(-n));
		return n == -ENOMEM ? RERR_MALLOC : RERR_SYNTAX;
	}
	r = dwrite(c, rq, abuf, (size_t)n);
	free(abuf);
	return r;
}

int
oce_dclient_only_opts(const struct oce_opts *o)
{
	const char *msg = NULL;

	if (o->password_file)
		msg = "The --password-file option may only be used when accessing an rsync daemon.";
	else if (o->contimeout)
		msg = "The --contimeout option may only be used when connecting to an rsync daemon.";
	if (!msg)
		return 0;
	derr("%s\n", msg);
	oce_print_exit(stderr, RERR_SYNTAX, __FILE__, __LINE__, "client");
	return RERR_SYNTAX;
}

static void
dreq_free(struct dreq *rq)
{
	free(rq->host);
	free(rq->remote);
}

int
oce_dclient_main(struct oce_opts *o)
{
	struct dreq rq;
	struct dconn c;
	struct oce_session s;
	int code, ff_fd = -1, child_code;
	bool session = false;

	memset(&c, 0, sizeof(c));
	c.fd_in = c.fd_out = -1;
	c.pid = -1;
	c.timeout = o->timeout;
	ocp_linebuf_init(&c.lb, OCP_DAEMON_LINE_MAX);
	code = plan(o, &rq);
	if (code)
		goto out;
	if (!o->rsh && rq.remote[0][0] == '/') {
		derr("ERROR: The remote path must start with a module name not a /\n");
		code = RERR_STARTCLIENT;
		goto out;
	}
	if (o->rsh) {
		/* Upstream's checks for any transport other than a daemon socket. */
		if (o->contimeout) {
			derr("The --contimeout option may only be used when connecting to an rsync daemon.\n");
			code = RERR_SYNTAX;
			goto out;
		}
		if (rq.machine[0] == '-') {
			derr("Invalid remote host: hostnames may not start with '-'.\n");
			code = RERR_SYNTAX;
			goto out;
		}
	}
	/* A local list is opened first, as upstream's option parser opens it. */
	if (o->files_from && !o->filesfrom_host) {
		ff_fd = oce_ff_open(o);
		if (ff_fd < 0) {
			code = RERR_SYNTAX;
			goto out;
		}
	}
	code = dconnect(o, &rq, &c);
	if (code)
		goto out;
	code = inband(o, &rq, &c);
	if (code == -1) {
		code = RERR_OK;
		goto out;
	}
	if (code)
		goto out;

	oce_session_init(&s, o);
	session = true;
	s.daemon_protocol = c.protocol;
	s.am_sender = rq.push;
	s.ff_fd = ff_fd;
	s.ff_from_peer = o->filesfrom_host && rq.push;
	ff_fd = -1;
	if (rq.push)
		code = oce_client_run(&s, c.fd_in, c.fd_out, rq.nlocal, rq.local);
	else
		code = oce_client_run(&s, c.fd_in, c.fd_out, 1, rq.nlocal ? rq.local : (char *[]){"."});
out:
	/* The peer's own exit line has been printed already (upstream: a negative line). */
	if (code && !(session && s.peer_exit && code == s.exit_code))
		oce_print_exit(stderr, code, __FILE__, __LINE__, rq.push ? "sender" : "Receiver");
	/* A failing client stops its remote shell's rsync as upstream's exit_cleanup() does. */
	if (code && c.pid > 0)
		kill(c.pid, SIGUSR1);
	if (c.fd_in >= 0)
		close(c.fd_in);
	if (c.fd_out >= 0 && c.fd_out != c.fd_in)
		close(c.fd_out);
	if (c.pid > 0) {
		child_code = oce_wait_child(c.pid);
		if (!code && session && child_code) {
			code = child_code;
			oce_print_exit(stderr, code, __FILE__, __LINE__, rq.push ? "sender" : "Receiver");
		}
	}
	if (ff_fd >= 0)
		close(ff_fd);
	if (session) {
		free(s.io);
		oce_session_free(&s);
	}
	dreq_free(&rq);
	return code;
}
