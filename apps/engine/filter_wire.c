/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The client's filter list on the wire, and what -C adds on each side
 * (upstream exclude.c send_rules(), send_filter_list(), recv_filter_list());
 * see filter.h.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/filter_priv.h"
#include "apps/engine/options_priv.h"
#include "apps/engine/session.h"
#include "ocproto/err.h"

static int
write_rule(struct oce_session *s, const struct frule *e)
{
	char text[OCP_FILTER_LINE_MAX + 32];
	int n = ocp_filter_rule_text(&e->r, text, sizeof(text));
	int r;

	if (n < 0)
		return n;
	r = ocp_io_write_int32(s->io, n);
	return r ? r : ocp_io_write_data(s->io, text, (size_t)n);
}

/* Mark each rule for its side and send those the peer uses (upstream send_rules()). */
static int
send_rules(struct oce_session *s, struct rlist *lp, bool out)
{
	bool del_ex = s->o->delete_excluded;

	for (struct frule *e = lp->head; e; e = e->next) {
		uint32_t f = e->r.flags;
		uint8_t elide = 0;
		int r;

		if (f & OCP_FRF_SENDER_SIDE)
			elide = s->am_sender ? ELIDE_LOCAL : ELIDE_REMOTE;
		if (f & OCP_FRF_RECV_SIDE)
			elide = elide ? 0 : s->am_sender ? ELIDE_REMOTE : ELIDE_LOCAL;
		else if (del_ex && !elide && (!(f & FR_PERDIR) || (f & OCP_FRF_NO_PREFIXES)))
			elide = s->am_sender ? ELIDE_LOCAL : ELIDE_REMOTE;
		e->elide = elide;
		if (elide == ELIDE_LOCAL)
			continue;
		if ((f & OCP_FRF_CVS_IGNORE) && !(f & FR_MERGE)) {
			/* -C's list goes out expanded, or not at all to a receiver that knows -C */
			bool expand = s->am_sender || s->protocol < 29;

			r = send_rules(s, &s->flt->cvs, out && expand);
			if (r)
				return r;
			if (expand)
				continue;
		}
		if (!out)
			continue;
		r = write_rule(s, e);
		if (r)
			return r;
	}
	return 0;
}

int
oce_filter_send(struct oce_session *s, bool to_peer)
{
	struct oce_filters *fs;
	int r = oce_filter_init(s, false);

	if (r)
		return r;
	fs = s->flt;
	if (s->o->cvs_exclude && s->am_sender) {
		if (s->protocol >= 29)
			r = oce__flt_parse_str(fs, &fs->main, ":C", 0, 0);
		if (!r)
			r = oce__flt_parse_str(fs, &fs->main, "-C", 0, 0);
	}
	if (!r)
		r = send_rules(s, &fs->main, to_peer);
	if (!r && to_peer)
		r = ocp_io_write_int32(s->io, 0);
	if (!r && s->o->cvs_exclude) {
		if (!s->am_sender || s->protocol < 29)
			r = oce__flt_parse_str(fs, &fs->main, ":C", 0, 0);
		if (!r && !s->am_sender)
			r = oce__flt_parse_str(fs, &fs->main, "-C", 0, 0);
	}
	return r;
}

int
oce_filter_recv_rule(struct oce_session *s, const char *text)
{
	int r = oce_filter_init(s, false);

	return r ? r
		 : oce__flt_parse_str(s->flt, &s->flt->main, text, 0,
				      s->protocol >= 29 ? 0 : XF_OLD_PREFIXES);
}

int
oce_filter_recv_done(struct oce_session *s)
{
	struct oce_filters *fs;
	int r = oce_filter_init(s, false);

	if (r || !s->o->cvs_exclude)
		return r;
	fs = s->flt;
	if (s->am_sender || s->protocol < 29)
		r = oce__flt_parse_str(fs, &fs->main, ":C", 0, 0);
	if (!r && s->am_sender)
		r = oce__flt_parse_str(fs, &fs->main, "-C", 0, 0);
	return r;
}
