/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Session set-up, logging and error mapping; see session.h. */
#include "apps/engine/session.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apps/engine/chmod.h"
#include "apps/engine/errcode.h"
#include "apps/engine/filter.h"
#include "apps/engine/util.h"
#include "ocproto/err.h"

void
oce_session_init(struct oce_session *s, const struct oce_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->protocol = OCP_PROTOCOL_MAX;
	s->csum = OCP_CSUM_MD5;
	s->csum_len = 16;
	s->out = stdout;
	s->err = stderr;
	s->ff_fd = -1;
	pthread_mutex_init(&s->log_lock, NULL);
	s->start_ms = oce_now_ms();
}

void
oce_session_free(struct oce_session *s)
{
	oce_flist_free(&s->fl);
	oce_filter_free(s);
	oce_chmod_free(s->dchmod);
	s->dchmod = NULL;
	free(s->prog);
	for (size_t i = 0; i < s->nroots; i++) {
		free(s->roots[i]);
		if (s->root_fds[i] >= 0)
			close(s->root_fds[i]);
	}
	free(s->roots);
	free(s->root_fds);
	free(s->dest);
	if (s->ff_fd >= 0)
		close(s->ff_fd);
	pthread_mutex_destroy(&s->log_lock);
}

int64_t
oce_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Deliver one finished line. A server has no terminal: its lines travel to
 * the client as MSG_INFO / MSG_ERROR frames, which the client prints, as
 * upstream's rwrite() does.
 */
void
oce_set_msg_hook(struct oce_session *s, void (*fn)(void *, enum ocp_msg, const char *, size_t),
		 void *arg)
{
	pthread_mutex_lock(&s->log_lock);
	s->msg_hook = fn;
	s->msg_hook_arg = arg;
	s->msg_hook_thread = pthread_self();
	pthread_mutex_unlock(&s->log_lock);
}

/*
 * The role a line is tagged with (upstream who_am_i()): the sending side is
 * "sender"; the receiving side is "Receiver" until it splits into the
 * generator and the receiver (upstream forks there), whose threads then say
 * "generator" and "receiver". The split is per thread, so the tag is too.
 */
static _Thread_local const char *tls_role;

const char *
oce_set_role(const char *role)
{
	const char *old = tls_role;

	tls_role = role;
	return old;
}

const char *
oce_who(const struct oce_session *s)
{
	if (s->am_sender)
		return "sender";
	return tls_role ? tls_role : "Receiver";
}

/* Is code one of the lines upstream's rwrite() sends to stderr? */
static bool
is_error_code(enum ocp_msg code)
{
	return code == OCP_MSG_ERROR || code == OCP_MSG_ERROR_XFER || code == OCP_MSG_WARNING;
}

static _Thread_local struct oce_capture *tls_capture;

struct oce_capture *
oce_capture_set(struct oce_capture *c)
{
	struct oce_capture *old = tls_capture;

	tls_capture = c;
	return old;
}

FILE *
oce_capture_file(void)
{
	struct oce_capture *c = tls_capture;

	if (c && !c->f)
		c->f = open_memstream(&c->buf, &c->len);
	return c ? c->f : NULL;
}

void
oce_capture_release(struct oce_session *s, struct oce_capture *c)
{
	if (!c->f)
		return;
	fclose(c->f);
	c->f = NULL;
	if (c->len) {
		pthread_mutex_lock(&s->log_lock);
		fwrite(c->buf, 1, c->len, s->out);
		fflush(s->out);
		pthread_mutex_unlock(&s->log_lock);
	}
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
}

void
oce_dlog_to(FILE *f, long pid, const char *line, size_t len)
{
	char ts[32];
	time_t t;
	struct tm tm;

	if (!f)
		return;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	/* (the time zone lock and the daemon's shared FILE: util.h) */
	oce_forkgate_enter();
	t = time(NULL);
	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(f, "%s [%ld] %.*s\n", ts, pid ? pid : (long)getpid(), (int)len, line);
	fflush(f);
	oce_forkgate_leave();
}

/* (log_lock held, or no other thread logs) */
static void
dlog_locked(struct oce_session *s, const char *line, size_t len)
{
	if (s->dmod)
		oce_dlog_to(s->dmod->log, s->dmod->log_pid, line, len);
}

void
oce_dlog(struct oce_session *s, const char *line, size_t len)
{
	if (!s->dmod || !s->dmod->log)
		return;
	pthread_mutex_lock(&s->log_lock);
	dlog_locked(s, line, len);
	pthread_mutex_unlock(&s->log_lock);
}

void
oce_dlog_vto(FILE *f, long pid, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	if (!f)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		n = 0;
	oce_dlog_to(f, pid, line, (size_t)n > sizeof(line) - 1 ? sizeof(line) - 1 : (size_t)n);
}

void
oce_dlogf(struct oce_session *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->dmod || !s->dmod->log)
		return;
	va_start(ap, fmt);
	pthread_mutex_lock(&s->log_lock);
	oce_dlog_vto(s->dmod->log, s->dmod->log_pid, fmt, ap);
	pthread_mutex_unlock(&s->log_lock);
	va_end(ap);
}

void
oce_emit_line(struct oce_session *s, enum ocp_msg code, const char *line, size_t len)
{
	if (code == OCP_MSG_INFO && s->o->quiet)
		return; /* upstream's rwrite() drops FINFO under -q, on either side */
	if (code == OCP_MSG_INFO && !s->am_server && tls_capture) {
		FILE *f = oce_capture_file();

		if (f) {
			fwrite(line, 1, len, f);
			return;
		}
	}
	pthread_mutex_lock(&s->log_lock);
	/*
	 * A server writes errors and warnings to its own stderr, which the
	 * remote shell hands to the user (upstream's default --stderr=errors,
	 * msgs2stderr 2); only info lines travel as messages.
	 */
	if (s->am_server && !s->msgs_to_peer && is_error_code(code)) {
		fwrite(line, 1, len, stderr);
		fflush(stderr);
		pthread_mutex_unlock(&s->log_lock);
		return;
	}
	if (s->msg_hook && pthread_equal(s->msg_hook_thread, pthread_self())) {
		s->msg_hook(s->msg_hook_arg, code, line, len);
		pthread_mutex_unlock(&s->log_lock);
		return;
	}
	if (s->am_server) {
		struct ocp_io *io = s->io_w ? s->io_w : s->io;

		/* a daemon logs every message it sends (upstream rwrite()) */
		dlog_locked(s, line, len);

		/* Ahead of queued data, as upstream's messages go (see
		 * ocp_io_write_msg_ahead()). */
		if (io && io->mux_out)
			ocp_io_write_msg_ahead(io, code, line, len);
		else
			fwrite(line, 1, len, stderr);
	} else {
		FILE *f = code == OCP_MSG_INFO ? s->out : s->err;

		if (s->needs_nl) {
			fputc('\n', f);
			s->needs_nl = 0;
		}
		fwrite(line, 1, len, f);
		fflush(f);
	}
	pthread_mutex_unlock(&s->log_lock);
}

static void
vlog(struct oce_session *s, enum ocp_msg code, const char *prefix, const char *fmt, va_list ap)
{
	char line[4096];
	int n = 0;

	if (prefix)
		n = snprintf(line, sizeof(line), "%s", prefix);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (n == 0 || line[n - 1] != '\n')
		line[n++] = '\n';
	oce_emit_line(s, code, line, (size_t)n);
}

static void __attribute__((format(printf, 3, 4)))
syserr_line(struct oce_session *s, enum ocp_msg code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, code, NULL, fmt, ap);
	va_end(ap);
}

void
oce_info(struct oce_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, OCP_MSG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
oce_error(struct oce_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, OCP_MSG_ERROR, OCE_PROG ": ", fmt, ap);
	va_end(ap);
}

void
oce_rerror(struct oce_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, OCP_MSG_ERROR, NULL, fmt, ap);
	va_end(ap);
}

void
oce_rerror_xfer(struct oce_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, OCP_MSG_ERROR_XFER, NULL, fmt, ap);
	va_end(ap);
}

static void
vsyserr(struct oce_session *s, enum ocp_msg code, int errnum, const char *fmt, va_list ap)
{
	char msg[3072];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* vlog() takes a va_list: go through a small variadic step */
	syserr_line(s, code, "%s: [%s] %s: %s (%d)", OCE_PROG, oce_who(s), msg, strerror(errnum),
		    errnum);
}

void
oce_rsyserr(struct oce_session *s, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyserr(s, OCP_MSG_ERROR, errnum, fmt, ap);
	va_end(ap);
}

void
oce_rsyserr_xfer(struct oce_session *s, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyserr(s, OCP_MSG_ERROR_XFER, errnum, fmt, ap);
	va_end(ap);
}

/* Append the lexically cleaned form of path to out[*n..cap), as upstream's clean_fname(). */
static void
append_clean(char *out, size_t cap, size_t *n, const char *path)
{
	const char *p = path;

	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t len = (size_t)(e - p);

		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* "//" and "/./" add nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (*n > 1 && out[*n - 1] != '/')
				(*n)--;
			if (*n > 1)
				(*n)--;
			out[*n] = '\0';
		} else if (*n + len + 2 < cap) {
			if (*n == 0 || out[*n - 1] != '/')
				out[(*n)++] = '/';
			memcpy(out + *n, p, len);
			*n += len;
			out[*n] = '\0';
		}
		p = *e ? e + 1 : e;
	}
}

const char *
oce_abs_dir(char *out, size_t cap, const char *base, const char *dir)
{
	size_t n = 0;
	char cwd[PATH_MAX];

	out[0] = '\0';
	if (!dir || *dir != '/') {
		if (!base) {
			if (!getcwd(cwd, sizeof(cwd)))
				snprintf(cwd, sizeof(cwd), ".");
			base = cwd;
		}
		if (*base == '/')
			out[n++] = '/', out[n] = '\0';
		append_clean(out, cap, &n, base);
	} else {
		out[n++] = '/';
		out[n] = '\0';
	}
	if (dir)
		append_clean(out, cap, &n, dir);
	if (n == 0)
		out[n++] = '/', out[n] = '\0';
	return out;
}

const char *
oce_full_fname(const struct oce_session *s, char *out, size_t cap, const char *dir,
	       const char *name)
{
	char cwd[PATH_MAX];
	const char *sep, *mdir = oce_daemon_module_dir(s);
	size_t mlen = mdir ? strlen(mdir) : 0;

	if (*name == '/') {
		snprintf(out, cap, "\"%s\"", name);
	} else {
		if (!dir) {
			oce_abs_dir(cwd, sizeof(cwd), NULL, NULL);
			dir = cwd;
		}
		sep = strcmp(dir, "/") ? "/" : "";
		/* upstream: a daemon shows names from the module's root, then " (in MODULE)" */
		if (mlen && !strncmp(dir, mdir, mlen) && (dir[mlen] == '/' || !dir[mlen])) {
			const char *p;

			/* what is left keeps its leading '/', as upstream's curr_dir + module_dirlen */
			dir += mlen;
			for (p = dir; *p == '/'; p++)
				;
			sep = *p ? "/" : "";
		}
		snprintf(out, cap, "\"%s%s%s\"", dir, sep, name);
	}
	if (mdir) {
		size_t n = strlen(out);

		snprintf(out + n, cap > n ? cap - n : 0, " (in %s)", s->dmod->module);
	}
	return out;
}

void
oce_warning(struct oce_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, OCP_MSG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
oce_report_failure(struct oce_session *s, int r)
{
	const char *who = oce_who(s);
	size_t len;

	if (!r || s->exit_code || s->exit_shown)
		return;
	if (r == -ECONNRESET && !s->am_server) {
		/* A socket peer that left our data unread: upstream's read error, code 10. */
		oce_error(s, "[%s] read error: %s (%d)", s->am_sender ? "sender" : "Receiver",
			  strerror(ECONNRESET), ECONNRESET);
		s->exit_code = RERR_SOCKETIO;
		return;
	}
	if (r == OCP_ECLOSED || r == -EPIPE || r == -ECONNRESET) {
		/*
		 * Upstream counts what it read after the protocol set-up (read
		 * unbuffered, uncounted); its generator, a forked process, what
		 * it had read before the fork.
		 */
		uint64_t got = s->io ? s->io->bytes_in : 0;

		if (!strcmp(who, "generator") && s->split_in)
			got = s->split_in;
		got = s->setup_in && got > s->setup_in ? got - s->setup_in : 0;
		oce_rerror(s,
			   "%s: connection unexpectedly closed (%llu bytes received so far) [%s]",
			   OCE_PROG, (unsigned long long)got, who);
	} else if (r == -ETIMEDOUT) {
		oce_rerror(s, "[%s] io timeout after %d seconds -- exiting", who,
			   s->io ? ocp_io_timeout(s->io) : 0);
	} else if (r == OCP_EMSGCODE && s->io) {
		oce_rerror(s, "unexpected tag %d [%s]", ocp_demux_bad_tag(&s->io->dmx), who);
	} else if (r == OCP_ETOOLONG && s->io && ocp_demux_overflowed(&s->io->dmx, &len)) {
		/* a message longer than any of its kind may be: upstream's words, code 12 */
		oce_rerror(s, "multiplexing overflow %d:%zu [%s]", ocp_demux_bad_tag(&s->io->dmx),
			   len, who);
	} else {
		oce_error(s, "%s [%s]", ocp_is_proto_err(r) ? ocp_strerror(r) : strerror(-r), who);
	}
}

int
oce_exit_code_for(int err)
{
	if (err >= 0)
		return RERR_OK;
	switch (err) {
	case -ETIMEDOUT:
		return RERR_TIMEOUT;
	case -ENOMEM:
		return RERR_MALLOC;
	case OCP_EVERSION:
	case OCP_ENOMATCH:
	case OCP_ECOMPAT:
	case OCP_ENOTSUP:
		return RERR_PROTOCOL;
	case OCP_ESUMHEAD:
	case OCP_EFLIST:
	case OCP_EUNSAFE:
	case OCP_EINCREC:
	case OCP_ETOKEN:
	case OCP_ESIG:
		return RERR_PROTOCOL;
	default:
		break;
	}
	if (ocp_is_proto_err(err))
		return RERR_STREAMIO;
	if (err == -EPIPE || err == -ECONNRESET)
		return RERR_STREAMIO;
	return RERR_FILEIO;
}

void
oce_count_created(struct oce_counters *c, uint32_t mode)
{
	c->created_files++;
	if (S_ISDIR(mode))
		c->created_dirs++;
	else if (S_ISLNK(mode))
		c->created_symlinks++;
	else if (S_ISCHR(mode) || S_ISBLK(mode))
		c->created_devices++;
	else if (!S_ISREG(mode))
		c->created_specials++;
}
