/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The protocol-free local copy (local.h): which options it takes, the
 * session set up as the protocol would have left it, and the sender's part
 * of the work (logging items, copying files) done for the generator.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/filter.h"
#include "apps/engine/local/local.h"
#include "apps/engine/local/local_priv.h"
#include "apps/engine/recvside.h"
#include "ocproto/negotiate.h"

/* What the protocol path advertises (client.c OCE_OUR_CAPS). */
#define LOCAL_CAPS (OCP_CF_ALL & ~OCP_CF_INC_RECURSE)

/* A filter rule this path takes: a plain --exclude/--include pattern. */
static bool
plain_rule(const char *r)
{
	return (r[0] == '-' || r[0] == '+') && r[1] == ' ' && r[2] && strcmp(r + 2, "!");
}

/*
 * Would upstream's local copy recurse incrementally? Its receiver turns
 * that off for --delete-before/-after/-delay (set_allow_inc_recurse()).
 */
static bool
inc_recurse(const struct oce_opts *o)
{
	return o->recursive && !o->no_inc_recurse && o->delete_mode != OCE_DEL_BEFORE &&
	       o->delete_mode != OCE_DEL_AFTER && o->delete_mode != OCE_DEL_DELAY;
}

/*
 * The options this path reproduces exactly, field by field against the
 * defaults: anything else set sends the copy down the protocol path. A
 * field added to struct oce_opts must be added here to be taken.
 */
bool
oce_local_wanted(const struct oce_opts *o, const struct oce_session *s)
{
	const char *env = getenv("OC_RSYNC_LOCAL");

	/* OC_RSYNC_LOCAL=0: the protocol path, as two processes of rsync would run it */
	if (env && !strcmp(env, "0"))
		return false;
	/*
	 * Fault injection (tests only) reaches the receiving side's file-system
	 * table, which this path's copies do not write through yet.
	 */
	env = getenv("OC_RSYNC_FAULT");
	if (env && *env)
		return false;
	if (s->ff_fd >= 0 || s->ff_from_peer || o->files_from || o->filesfrom_host)
		return false;
	/* what the user sees: -v, -i, -q, --stats, -h; no custom --info/--debug */
	/* -v's and -i's own formats are the only --out-format taken (%b, %c need wire bytes) */
	if ((o->out_format && strcmp(o->out_format, OCE_FORMAT_VERBOSE) &&
	     strcmp(o->out_format, OCE_FORMAT_ITEMIZE)) ||
	    o->progress || o->info_user || o->debug_user || o->verbose > 1)
		return false;
	/*
	 * what is transferred: without -l and -D symlinks and specials are
	 * listed and the generator skips them with a message; upstream's
	 * overtakes the item lines, so the protocol path it is
	 */
	if (!o->links || !o->devices || !o->specials)
		return false;
	/*
	 * -H: with incremental recursion upstream gives a group's data to its
	 * first member and links the others as it meets them; the generator
	 * does what upstream does with the whole list (the last member gets
	 * the data, the others are linked at the end)
	 */
	if (o->hard_links && inc_recurse(o))
		return false;
	if (o->list_only || o->relative || o->copy_links || o->copy_dirlinks || o->keep_dirlinks ||
	    o->safe_links || o->copy_unsafe_links || o->executability || o->atimes ||
	    o->omit_dir_times || o->one_file_system)
		return false;
	/* how files are compared and sent */
	/* (--size-only, -u, --existing, --ignore-existing, --max/min-size and
	 * --modify-window are the generator's and are taken) */
	if (o->checksum_choice || o->whole_file == 0 || o->block_size || o->checksum_seed_set ||
	    o->protocol)
		return false;
	if (o->compress || o->compress_level_set || o->compress_choice)
		return false;
	/* deletion: --delete and its timings (the generator's), no --delete-excluded */
	if (o->delete_excluded || o->max_delete >= 0)
		return false;
	/* filters: plain --exclude / --include rules only */
	if (o->cvs_exclude || o->filter_F)
		return false;
	for (size_t i = 0; i < o->filters.n; i++)
		if (!plain_rule(o->filters.v[i]))
			return false;
	/* how files are written */
	if (o->mkpath || o->fsync)
		return false;
	if (o->inplace || o->partial || o->partial_dir || o->append || o->sparse || o->temp_dir ||
	    o->backup || o->backup_dir || o->alt_dest_type != OCE_ALT_NONE || o->alt_dest.n)
		return false;
	/* transport: nothing that a local copy would pass on */
	if (o->bwlimit || o->timeout || o->contimeout || o->rsh || o->rsync_path ||
	    o->remote_opts.n || o->port || o->address || o->password_file)
		return false;
	if (o->server || o->daemon)
		return false;
	return true;
}

/* The sender's view of an item it did not have to send (sender.c). */
static int
l_item(struct oce_recvside *rs, struct oce_file *f, uint32_t iflags, const char *xname)
{
	if (iflags & OCE_ITEM_IS_NEW)
		oce_count_created(&rs->s->st, f->mode);
	return oce_local_emit_item(rs->larg, f, iflags, xname);
}

static int
l_xfer(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, uint32_t iflags,
       const struct stat *basis)
{
	struct oce_local *l = rs->larg;
	struct oce_session *s = rs->s;

	if (iflags & OCE_ITEM_IS_NEW)
		s->st.created_files++;
	oce_local_count_xfer(s, f);
	if (s->o->dry_run)
		return oce_local_emit_item(l, f, iflags | OCE_LOCAL_ALWAYS, NULL);
	return oce_local_copy(l, rs, f, ndx, iflags, basis);
}

static int
l_check(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, const struct stat *st)
{
	(void)ndx;
	return oce_local_check(rs->larg, rs, f, st);
}

static void
l_deleted(struct oce_recvside *rs, const char *name, mode_t mode)
{
	oce_local_emit_delete(rs->larg, name, mode);
}

static int
l_flush(struct oce_recvside *rs)
{
	return oce_local_flush(rs->larg);
}

static void
l_before_entry(struct oce_recvside *rs, size_t ndx)
{
	oce_local_before_entry(rs->larg, rs, ndx);
}

static int
l_more(struct oce_recvside *rs, size_t ndx)
{
	return oce_local_more(rs->larg, ndx);
}

static const struct oce_local_ops local_ops = {
	.item = l_item,
	.xfer = l_xfer,
	.check = l_check,
	.deleted = l_deleted,
	.flush = l_flush,
	.before_entry = l_before_entry,
	.more = l_more,
};

/* What negotiation between two of us would pick (proto.c recv_choice()). */
static void
local_checksum(struct oce_session *s)
{
	struct ocp_namelist cli, srv;
	int cs = OCP_CSUM_MD5;

	if (ocp_namelist_default(OCP_NSTR_CHECKSUM, false, &cli) >= 0 &&
	    ocp_namelist_default(OCP_NSTR_CHECKSUM, true, &srv) >= 0) {
		int r = ocp_nstr_choose(&srv, &cli);

		if (r >= 0)
			cs = r;
	}
	s->csum = (enum ocp_csum)cs;
	s->csum_len = ocp_csum_len(s->csum);
}

/*
 * Is the list walked while the generator works, a directory at a time
 * (oce_flist_stream_start())? With threads, one source, and none of what
 * needs the whole list first: -c (sums made in the walk), -H (groups),
 * --delete (the generator looks names up in the list), filters (the walk
 * and the generator's deletions would share their per-directory state).
 * OC_RSYNC_STREAM=0 turns it off.
 */
static bool
streams(const struct oce_session *s, const struct oce_local *l, int nsrc)
{
	const struct oce_opts *o = s->o;
	const char *env = getenv("OC_RSYNC_STREAM");

	if (env && !strcmp(env, "0"))
		return false;
	return oce_local_threaded(l) && s->local_inc && nsrc == 1 && !o->checksum && !o->hard_links &&
	       o->delete_mode == OCE_DEL_NONE && !oce_filter_any(s);
}

/*
 * The streamed run: the walk's thread speaks as the sender (its role), and
 * the session as the receiving side from the start, as below once the
 * list is in.
 */
static int
run_streamed(struct oce_session *s, struct oce_local *l, int nsrc, char **paths)
{
	int r, jr;

	oce_local_walk_begin(l, paths[nsrc], true);
	s->am_sender = false;
	r = oce_flist_stream_start(s, nsrc, paths);
	if (!r)
		r = oce_local_start(l);
	/* what setting up the destination looks at: whether there is more than one entry */
	if (!r && oce_flist_stream_wait(&s->fl, 1) >= 0) {
		s->fl.n = oce_flist_stream_avail(&s->fl);
		if (s->fl.n) {
			s->dest = strdup(paths[nsrc]);
			r = s->dest ? oce_local_receiving(s, &local_ops, l) : -ENOMEM;
		}
	}
	jr = oce_flist_stream_join(s, r != 0);
	if (!r)
		r = jr;
	oce_local_walk_end(l);
	return r;
}

int
oce_local_run(struct oce_session *s, int nsrc, char **paths)
{
	const struct oce_opts *o = s->o;
	struct oce_local *l;
	int r;

	/* The session as the protocol would have left the client's. */
	s->local = true;
	s->am_sender = true;
	s->protocol = OCP_PROTOCOL_MAX;
	s->compat = ocp_compat_server(LOCAL_CAPS, LOCAL_CAPS);
	s->seed_fix = s->compat & OCP_CF_CHKSUM_SEED_FIX;
	local_checksum(s);
	s->local_inc = inc_recurse(o);
	r = oce_local_new(s, &l);
	if (r)
		goto out;
	if (streams(s, l, nsrc)) {
		r = run_streamed(s, l, nsrc, paths);
		goto ran;
	}
	oce_set_role("sender");
	oce_local_walk_begin(l, paths[nsrc], false);
	r = oce_flist_send(s, nsrc, paths);
	oce_set_role(NULL);
	/* the comparisons are done before the owners and groups are mapped */
	oce_local_walk_end(l);
	if (!r && oce_flist_map_ids(s))
		oce_local_walk_forget(l);
	if (!r)
		r = oce_local_start(l);
	if (!r && s->fl.n) {
		s->dest = strdup(paths[nsrc]);
		/* Its messages are tagged as the receiving side's ([Receiver], [generator]). */
		s->am_sender = false;
		r = s->dest ? oce_local_receiving(s, &local_ops, l) : -ENOMEM;
	}
ran:
	{
		int fr = oce_local_free(l);

		if (!r)
			r = fr;
	}
	/*
	 * The closing line is the sender's, unless the receiving side failed;
	 * a failed write stops upstream's receiver process, whose line it is.
	 */
	if (!r)
		s->am_sender = true;
	else if (s->exit_code == RERR_FILEIO)
		oce_set_role("receiver");
	/*
	 * What the wire would have carried besides the list, near enough (the
	 * interop suites mask these counts): per file sent, its index, item
	 * flags and sum head from the generator, and those, the data with
	 * its token headers and the whole-file sum back from the sender.
	 */
	s->st.total_written += s->st.literal_data + s->st.literal_data / 32768 * 4 +
			       s->st.xferred_files * (24 + s->csum_len);
	s->st.total_read = 19 * s->st.xferred_files + 3;
out:
	oce_report_failure(s, r);
	if (!r)
		oce_print_client_summary(s);
	return oce_final_code(s, r);
}
