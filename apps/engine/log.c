/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Per-file output lines (upstream log.c log_item(), maybe_log_item()) in
 * the format the user chose: --out-format, "%i %n%L" for -i, "%n%L" for
 * -v. Only the client prints; a server's lines would go to a log file,
 * which we do not keep.
 */
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/engine/session.h"

const char *
oce_stdout_format(const struct oce_opts *o)
{
	if (o->out_format)
		return o->out_format;
	if (o->itemize)
		return OCE_FORMAT_ITEMIZE;
	if (o->info[OCE_INFO_NAME] >= 1)
		return OCE_FORMAT_VERBOSE;
	return NULL;
}

/* Expand fmt for it and print the line (one at a time across threads). */
static void
print_formatted(struct oce_session *s, const char *fmt, const struct oce_logitem *it,
		const struct oce_logctx *ctx)
{
	char line[8192];
	FILE *cap;
	int n;

	if (s->o->quiet)
		return; /* upstream's rwrite() drops FINFO/FCLIENT lines under -q */
	n = oce_out_format(line, sizeof(line), fmt, it, ctx);
	if (n < 0)
		n = (int)strlen(line);
	if (!s->am_server && (cap = oce_capture_file())) {
		/* held back (session.h); the capture is this thread's own */
		oce_log_write(cap, line, (size_t)n, false);
		return;
	}
	pthread_mutex_lock(&s->log_lock);
	if (s->needs_nl) {
		fputc('\n', s->out);
		s->needs_nl = 0;
	}
	oce_log_write(s->out, line, (size_t)n, false);
	fflush(s->out);
	pthread_mutex_unlock(&s->log_lock);
}

int
oce_format_has_i(const struct oce_opts *o)
{
	const char *f = oce_stdout_format(o);

	if (!f)
		return 0;
	/* A server is told "-ii" as --log-format=%i%I (upstream stdout_format_has_i). */
	if (o->server && oce_format_has(f, 'I'))
		return 2;
	if (oce_format_has(f, 'i'))
		return o->itemize > 1 ? 2 : 1;
	return 0;
}

/* What an item line's escapes take from the session (struct oce_logctx). */
static void
item_ctx(const struct oce_session *s, struct oce_logctx *ctx)
{
	*ctx = (struct oce_logctx){0};
	ctx->am_sender = s->am_sender;
	ctx->local_server = s->local;
	ctx->preserve_mtimes = s->o->times;
	ctx->receiver_symlink_times = s->compat & OCP_CF_SYMLINK_TIMES;
	ctx->always_checksum = s->o->checksum;
	ctx->sum_len = s->csum_len;
	ctx->pid = s->dmod && s->dmod->log_pid ? s->dmod->log_pid : (long)getpid();
	ctx->now = time(NULL);
}

/* A daemon's "transfer logging" line for an item (upstream log_formatted(FLOG, ...)). */
static void
dlog_formatted(struct oce_session *s, const char *fmt, const struct oce_logitem *it)
{
	const struct oce_daemon_mod *d = s->dmod;
	struct oce_logctx ctx;
	char line[8192];
	int n;

	/* %o ("send", "recv", "del.") follows from am_sender and the item's flags */
	item_ctx(s, &ctx);
	ctx.local_server = false;
	ctx.am_daemon = true;
	ctx.module = d->module;
	ctx.module_path = d->module_path;
	ctx.auth_user = d->user;
	ctx.host = d->host;
	ctx.addr = d->addr;
	n = oce_out_format(line, sizeof(line), fmt, it, &ctx);
	if (n < 0)
		n = (int)strlen(line);
	oce_dlog(s, line, (size_t)n);
}

/* Does this session log transferred items (a daemon's "transfer logging")? */
static const char *
dlog_format(const struct oce_session *s)
{
	const struct oce_daemon_mod *d = s->dmod;

	return d && d->log && d->log_format && *d->log_format ? d->log_format : NULL;
}

static void
item_of(struct oce_session *s, const struct oce_file *f, uint32_t iflags, const char *hlink,
	struct oce_logitem *it)
{
	it->name = f->name;
	it->mode = f->mode;
	it->size = f->size;
	it->mtime = f->mtime;
	it->uid = f->uid;
	it->gid = f->gid;
	it->have_uid = s->o->owner;
	it->have_gid = s->o->group;
	it->iflags = iflags;
	it->symlink = f->link;
	it->hlink = hlink;
	/* %f in a daemon's log: the path within the module (upstream's curr_dir part) */
	if (s->dmod)
		it->dir = s->am_sender ? (f->root < s->nroots ? s->roots[f->root] : NULL) : s->dest;
}

void
oce_log_item_xfer(struct oce_session *s, const struct oce_file *f, uint32_t iflags, const char *hlink,
		  uint64_t data_read, uint64_t data_written)
{
	const char *fmt = oce_stdout_format(s->o), *dfmt = dlog_format(s);
	struct oce_logctx ctx = {0};
	struct oce_logitem it = {0};

	if (dfmt) {
		item_of(s, f, iflags, hlink, &it);
		it.bytes_read = (int64_t)data_read;
		it.bytes_written = (int64_t)data_written;
		dlog_formatted(s, dfmt, &it);
	}
	if (s->am_server || !fmt)
		return;
	item_ctx(s, &ctx);
	item_of(s, f, iflags, hlink, &it);
	it.bytes_read = (int64_t)data_read;
	it.bytes_written = (int64_t)data_written;
	print_formatted(s, fmt, &it, &ctx);
}

void
oce_log_item(struct oce_session *s, const struct oce_file *f, uint32_t iflags, const char *hlink)
{
	oce_log_item_xfer(s, f, iflags, hlink, 0, 0);
}

void
oce_maybe_log_item(struct oce_session *s, const struct oce_file *f, uint32_t iflags,
		   const char *xname)
{
	uint32_t sig = iflags & OCE_ITEM_SIGNIFICANT;
	int has_i = oce_format_has_i(s->o);
	bool see = has_i && (sig || (xname && *xname) || has_i > 1 ||
			     (s->o->info[OCE_INFO_NAME] >= 2));
	bool local_change = (iflags & OCE_ITEM_LOCAL_CHANGE) && sig;

	if (s->am_server) {
		/* a daemon logs what its log format shows of it (upstream maybe_log_item()) */
		const char *dfmt = dlog_format(s);

		if (dfmt && !s->o->dry_run && (sig || (xname && *xname)) && oce_format_has(dfmt, 'i')) {
			struct oce_logitem it = {0};

			item_of(s, f, iflags, xname, &it);
			dlog_formatted(s, dfmt, &it);
		}
		return;
	}
	if (see || local_change || (xname && *xname) || (S_ISDIR(f->mode) && sig))
		oce_log_item(s, f, iflags, xname);
}

void
oce_dlog_delete(struct oce_session *s, const char *name, mode_t mode)
{
	const char *fmt = dlog_format(s);
	struct oce_logitem it = {0};

	if (!fmt || s->o->dry_run)
		return;
	if (!oce_format_has(fmt, 'i') && !oce_format_has(fmt, 'o'))
		fmt = OCE_FORMAT_DELETE;
	it.name = name;
	it.mode = mode;
	it.iflags = OCE_ITEM_DELETED;
	it.dir = s->dest;
	dlog_formatted(s, fmt, &it);
}

void
oce_log_delete(struct oce_session *s, const char *name, mode_t mode)
{
	const char *fmt = oce_stdout_format(s->o);
	struct oce_logctx ctx = {0};
	struct oce_logitem it = {0};

	if (s->o->info[OCE_INFO_DEL] < 1 && !fmt)
		return;
	if (!fmt || (!strstr(fmt, "%i") && !strstr(fmt, "%o")))
		fmt = OCE_FORMAT_DELETE;
	ctx.am_sender = s->am_sender;
	ctx.local_server = s->local;
	ctx.preserve_mtimes = s->o->times;
	it.name = name;
	it.mode = mode;
	it.iflags = OCE_ITEM_DELETED;
	print_formatted(s, fmt, &it, &ctx);
}
