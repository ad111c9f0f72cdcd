/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Per-file and whole-transfer progress lines; see progress.h. */
#include "apps/engine/progress.h"

#include <stdlib.h>
#include <string.h>

#include "apps/engine/report.h"
#include "apps/engine/session.h"

#define HISTORY 5 /* seconds of history the interim rate is taken over */

struct mark {
	int64_t ms, ofs;
};

struct oce_progress {
	struct mark start; /* ms 0: no line for this file yet */
	struct mark hist[HISTORY];
	int newest, oldest;
	int32_t cur;  /* sorted index of the current file */
	int last_len; /* progress2: the previous tail's width */
};

bool
oce_progress_on(const struct oce_session *s)
{
	/* -q silences these as upstream's rwrite() drops FINFO/FCLIENT lines */
	return !s->am_server && !s->o->quiet && s->o->info[OCE_INFO_PROGRESS] >= 1;
}

static struct oce_progress *
state(struct oce_session *s)
{
	if (!s->prog)
		s->prog = calloc(1, sizeof(*s->prog));
	return s->prog;
}

void
oce_progress_file(struct oce_session *s, int32_t ndx)
{
	struct oce_progress *p;

	if (!oce_progress_on(s) || !(p = state(s)))
		return;
	p->cur = ndx < 0 ? (int32_t)s->fl.n - 1 : ndx;
}

static void
print(struct oce_session *s, struct oce_progress *p, int64_t ofs, int64_t size, int64_t now,
      bool last)
{
	const struct oce_opts *o = s->o;
	bool p2 = o->info[OCE_INFO_PROGRESS] >= 2;
	char line[256];
	double rate, secs;
	int64_t diff;
	int n, total = (int)s->fl.n;

	if (last) {
		diff = p->start.ms ? now - p->start.ms : 0;
		if (diff <= 0)
			diff = 1;
		rate = oce_progress_rate(ofs - p->start.ofs, (unsigned long)diff);
		secs = (double)diff / 1000.0; /* the final line shows the time taken */
	} else {
		diff = now - p->hist[p->oldest].ms;
		rate = oce_progress_rate(ofs - p->hist[p->oldest].ofs,
					 (unsigned long)(diff > 0 ? diff : 1));
		secs = oce_progress_eta(ofs, size, rate);
	}
	if (p2)
		n = oce_progress2_line(line, sizeof(line), ofs, size, rate, secs, last,
				       (int)s->st.xferred_files, total - p->cur - 1, total, true,
				       o->human, &p->last_len);
	else
		n = oce_progress_line(line, sizeof(line), ofs, size, rate, secs, last,
				      (int)s->st.xferred_files, total - p->cur - 1, total, true,
				      o->human);
	if (n < 0)
		return;
	pthread_mutex_lock(&s->log_lock);
	s->needs_nl = 0;
	fwrite(line, 1, (size_t)n, s->out);
	/* a line left open is ended before whatever is printed next */
	if (!last || p2)
		s->needs_nl = 1;
	fflush(s->out);
	pthread_mutex_unlock(&s->log_lock);
}

void
oce_progress_show(struct oce_session *s, int64_t ofs, int64_t size)
{
	struct oce_progress *p;
	int64_t now;

	if (!oce_progress_on(s) || !(p = state(s)))
		return;
	now = oce_now_ms();
	if (s->o->info[OCE_INFO_PROGRESS] >= 2) {
		ofs = s->st.total_transferred_size - size + ofs;
		size = s->st.total_size;
	}
	if (!p->start.ms) {
		/* data may have started with the previous file's last read */
		struct mark *nw = &p->hist[p->newest];

		if (nw->ms && now - nw->ms <= 1500)
			p->start = (struct mark){nw->ms, 0};
		else
			p->start = (struct mark){now, ofs};
		for (int i = 0; i < HISTORY; i++)
			p->hist[i] = p->start;
	} else {
		if (now - p->hist[p->newest].ms < 1000)
			return;
		p->newest = p->oldest;
		p->oldest = (p->oldest + 1) % HISTORY;
		p->hist[p->newest] = (struct mark){now, ofs};
	}
	print(s, p, ofs, size, now, false);
}

void
oce_progress_end(struct oce_session *s, int64_t size)
{
	struct oce_progress *p;

	if (!oce_progress_on(s) || !(p = state(s)))
		return;
	if (s->o->info[OCE_INFO_PROGRESS] >= 2) {
		print(s, p, s->st.total_transferred_size, s->st.total_size, oce_now_ms(), true);
	} else {
		print(s, p, size, size, oce_now_ms(), true);
		p->start = (struct mark){0, 0};
	}
}

void
oce_progress_done(struct oce_session *s)
{
	oce_progress_file(s, -1);
	if (oce_progress_on(s) && s->o->info[OCE_INFO_PROGRESS] >= 2)
		oce_progress_end(s, 0);
}

void
oce_progress_name(struct oce_session *s, const struct oce_file *f, uint32_t iflags)
{
	const char *fmt = oce_stdout_format(s->o);

	if (!oce_progress_on(s))
		return;
	if (fmt && !oce_format_has(fmt, 'b') && !oce_format_has(fmt, 'c') &&
	    !oce_format_has(fmt, 'C')) {
		oce_log_item(s, f, iflags, NULL);
	} else if (s->o->info[OCE_INFO_NAME] >= 1 && s->o->info[OCE_INFO_PROGRESS] == 1) {
		pthread_mutex_lock(&s->log_lock);
		if (s->needs_nl)
			fputc('\n', s->out);
		s->needs_nl = 0;
		fprintf(s->out, "%s\n", f->name);
		fflush(s->out);
		pthread_mutex_unlock(&s->log_lock);
	}
}

/* Whether the item was already logged before its data moved. */
bool
oce_progress_logged_before(const struct oce_session *s)
{
	const char *fmt = oce_stdout_format(s->o);

	return oce_progress_on(s) && fmt && !oce_format_has(fmt, 'b') &&
	       !oce_format_has(fmt, 'c') && !oce_format_has(fmt, 'C');
}

void
oce_progress_close_line(struct oce_session *s)
{
	pthread_mutex_lock(&s->log_lock);
	if (s->needs_nl && !s->am_server) {
		fputc('\n', s->out);
		fflush(s->out);
	}
	s->needs_nl = 0;
	pthread_mutex_unlock(&s->log_lock);
}
