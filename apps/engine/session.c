/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Session set-up, logging and error mapping; see session.h. */
#include "apps/engine/session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

static void
emit(struct oce_session *s, enum ocp_msg code, const char *line, size_t len)
{
	if (code == OCP_MSG_INFO && s->o->quiet)
		return; /* upstream's rwrite() drops FINFO under -q, on either side */
	pthread_mutex_lock(&s->log_lock);
	if (s->msg_hook && pthread_equal(s->msg_hook_thread, pthread_self())) {
		s->msg_hook(s->msg_hook_arg, code, line, len);
		pthread_mutex_unlock(&s->log_lock);
		return;
	}
	if (s->am_server) {
		struct ocp_io *io = s->io_w ? s->io_w : s->io;

		if (io && io->mux_out)
			ocp_io_write_msg(io, code, line, len);
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
	emit(s, code, line, (size_t)n);
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
oce_error_plain(struct oce_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, OCP_MSG_ERROR, NULL, fmt, ap);
	va_end(ap);
}

void
oce_warning(struct oce_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, OCP_MSG_WARNING, NULL, fmt, ap);
	va_end(ap);
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
