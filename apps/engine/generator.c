/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The generator (upstream generator.c generate_files(), recv_generator(),
 * itemize(), delete_in_dir()): walk the sorted file list against the
 * destination, create directories, symlinks and special files itself,
 * report what changed, delete extraneous files, and ask the sender for
 * each regular file that differs, with the block sums of the old version.
 * Every path goes through the confined fs layer below the destination.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/chmod.h"
#include "apps/engine/filter.h"
#include "apps/engine/recvside.h"
#include "apps/engine/util.h"
#include "ocproto/delta.h"
#include "ocproto/err.h"
#include "ocpool/ocpool.h"

#define CHMOD_BITS 07777

/*
 * Upstream same_time() with --modify-window: by default whole seconds (the
 * nanoseconds are carried and set, but never compared), -1 exact.
 */
static bool
same_mtime(const struct oce_session *s, const struct stat *st, const struct oce_file *f)
{
	int64_t d = (int64_t)st->st_mtim.tv_sec - f->mtime;
	int w = s->o->modify_window;

	if (w == 0)
		return d == 0;
	if (w < 0)
		return d == 0 && (uint32_t)st->st_mtim.tv_nsec == f->mtime_nsec;
	return d <= w && d >= -w;
}

/* Upstream dest_mode(): the mode a file gets when -p is off. */
static mode_t
dest_mode(const struct oce_session *s, mode_t flist_mode, mode_t stat_mode, bool exists)
{
	mode_t dflt = 0777 & ~s->umask;
	mode_t m;

	if (exists) {
		m = (flist_mode & ~CHMOD_BITS) | (stat_mode & CHMOD_BITS);
		if (s->o->executability && S_ISREG(flist_mode)) {
			if (!(flist_mode & 0111))
				m &= ~0111;
			else if (!(stat_mode & 0111))
				m |= (m & 0444) >> 2;
		}
		return m;
	}
	return flist_mode & (~CHMOD_BITS | dflt);
}

void
oce_meta_for(const struct oce_session *s, const struct oce_file *f, const struct stat *cur,
	     struct oce_meta *m)
{
	const struct oce_opts *o = s->o;
	bool is_dir = S_ISDIR(f->mode), is_link = S_ISLNK(f->mode);

	memset(m, 0, sizeof(*m));
	m->mode = o->perms ? f->mode : dest_mode(s, f->mode, cur ? cur->st_mode : 0, cur != NULL);
	m->set_perms = !is_link && (o->perms || o->executability || !cur);
	/* "incoming chmod" again on the mode set, -p or not (upstream set_file_attrs()) */
	if (s->dchmod && !is_link) {
		m->mode = oce_chmod_apply(s->dchmod, m->mode);
		m->set_perms = true;
	}
	m->uid = f->uid;
	m->gid = f->gid;
	m->set_owner = o->owner && s->am_root;
	m->set_group = o->group && !f->skip_group;
	m->mtime.tv_sec = f->mtime;
	m->mtime.tv_nsec = f->mtime_nsec;
	m->set_mtime = o->times && !(is_dir && o->omit_dir_times) &&
		       !(is_link && !(s->compat & OCP_CF_SYMLINK_TIMES));
	/* An existing entry whose mtime counts as the same (same_mtime())
	 * keeps it, as upstream set_file_attrs(); only an unchanged regular
	 * file under -c has its time set exactly (upstream
	 * ATTRS_ACCURATE_TIME). */
	if (m->set_mtime && cur && !(o->checksum && S_ISREG(f->mode)) && same_mtime(s, cur, f))
		m->set_mtime = false;
	m->atime.tv_nsec = UTIME_OMIT;
}

/* The report bits of itemize() for an existing destination entry. */
static uint32_t
report_flags(const struct oce_session *s, const struct oce_file *f, const struct stat *st,
	     uint32_t iflags)
{
	const struct oce_opts *o = s->o;
	bool keep_time = !o->times ? false
			 : S_ISDIR(f->mode) ? !o->omit_dir_times
			 : S_ISLNK(f->mode) ? (s->compat & OCP_CF_SYMLINK_TIMES) != 0
					    : true;

	if (S_ISREG(f->mode) && f->size != st->st_size)
		iflags |= OCE_ITEM_REPORT_SIZE;
	if (keep_time ? !same_mtime(s, st, f)
		      : (iflags & (OCE_ITEM_TRANSFER | OCE_ITEM_LOCAL_CHANGE)) &&
				!(iflags & OCE_ITEM_MATCHED))
		iflags |= OCE_ITEM_REPORT_TIME;
	if (!S_ISLNK(f->mode)) {
		if (o->perms) {
			if ((st->st_mode & CHMOD_BITS) != (f->mode & CHMOD_BITS))
				iflags |= OCE_ITEM_REPORT_PERMS;
		} else if (o->executability &&
			   (!!(st->st_mode & 0111) ^ !!(f->mode & 0111))) {
			iflags |= OCE_ITEM_REPORT_PERMS;
		}
	}
	if (o->owner && s->am_root && f->uid != st->st_uid)
		iflags |= OCE_ITEM_REPORT_OWNER;
	if (o->group && !f->skip_group && f->gid != st->st_gid)
		iflags |= OCE_ITEM_REPORT_GROUP;
	return iflags;
}

/*
 * Upstream itemize(): finish iflags and, when worth it, tell the sender
 * (ndx -1: the index was written already). Returns 0 or a write error.
 */
static int
itemize(struct oce_recvside *rs, const struct oce_file *f, int32_t ndx, const struct stat *st,
	uint32_t iflags, uint8_t basis, const char *xname)
{
	struct oce_session *s = rs->s;
	const struct oce_opts *o = s->o;
	int r = 0;

	if (st)
		iflags = report_flags(s, f, st, iflags);
	else
		iflags |= OCE_ITEM_IS_NEW;
	iflags &= 0xffff;
	if ((iflags & OCE_ITEM_SIGNIFICANT) || o->info[OCE_INFO_NAME] >= 2 || oce_format_has_i(o) > 1 ||
	    (xname && *xname)) {
		/* A local copy: what the sender would do with the item, here. */
		if (rs->lops)
			return rs->lops->item(rs, (struct oce_file *)f, iflags, xname);
		if (ndx >= 0)
			r = ocp_io_write_ndx(rs->wio, &s->ndx_out, ndx);
		if (!r)
			r = oce_write_item_attrs(s, rs->wio, (uint16_t)iflags, basis, xname);
		if (!r && ndx >= 0)
			rs->items_written++;
	}
	return r;
}

static int
dest_lstat(struct oce_recvside *rs, const char *name, struct stat *st)
{
	if (rs->pf_name && name == rs->pf_name) {
		rs->pf_name = NULL;
		*st = *rs->pf_st;
		return 0;
	}
	return oce_lstat_beneath(&rs->root, name, st);
}

static void
count_deleted(struct oce_counters *c, mode_t mode)
{
	c->deleted_files++;
	if (S_ISDIR(mode))
		c->deleted_dirs++;
	else if (S_ISLNK(mode))
		c->deleted_symlinks++;
	else if (S_ISCHR(mode) || S_ISBLK(mode))
		c->deleted_devices++;
	else if (!S_ISREG(mode))
		c->deleted_specials++;
}

/* Say that name was deleted: the client logs it, a server tells the client. */
static void
log_delete(struct oce_recvside *rs, const char *name, mode_t mode)
{
	struct oce_session *s = rs->s;
	size_t len = strlen(name);

	if (rs->lops) {
		rs->lops->deleted(rs, name, mode);
		return;
	}
	if (s->am_server) {
		if (len < PATH_MAX)
			ocp_io_write_msg_ahead(rs->wio, OCP_MSG_DELETED, name,
					       len + (S_ISDIR(mode) ? 1 : 0));
		oce_dlog_delete(s, name, mode);
		return;
	}
	oce_log_delete(s, name, mode);
}

/* Upstream is_backup_file(): name ends with the backup suffix. */
static bool
is_backup_file(const struct oce_opts *o, const char *name)
{
	const char *suffix = o->suffix ? o->suffix : "~";
	size_t n = strlen(name), k = strlen(suffix);

	return k && n > k && !strcmp(name + n - k, suffix);
}

struct dent {
	char *name;
	mode_t mode;
	struct stat st;
};

static int
dent_cmp(const void *a, const void *b)
{
	const struct dent *x = a, *y = b;

	return ocp_flist_name_cmp(x->name, strlen(x->name), S_ISDIR(x->mode), y->name,
				  strlen(y->name), S_ISDIR(y->mode));
}

/* delete_item() flags (upstream DEL_*). */
#define DEL_RECURSE	 (1u << 0) /* a directory goes with all it holds */
#define DEL_DIR_IS_EMPTY (1u << 1) /* its contents are gone already */
#define DEL_FOR_FILE	 (1u << 2) /* making room for a new entry of this kind */
#define DEL_FOR_DIR	 (1u << 3)
#define DEL_FOR_SYMLINK	 (1u << 4)
#define DEL_FOR_DEVICE	 (1u << 5)
#define DEL_FOR_SPECIAL	 (1u << 6)
#define DEL_MAKE_ROOM \
	(DEL_FOR_FILE | DEL_FOR_DIR | DEL_FOR_SYMLINK | DEL_FOR_DEVICE | DEL_FOR_SPECIAL)

enum del_ret { DR_SUCCESS, DR_FAILURE, DR_AT_LIMIT, DR_NOT_EMPTY };

static enum del_ret delete_item(struct oce_recvside *rs, const char *name, mode_t mode,
				unsigned flags);

/* A read-only entry of ours is made writable before it is deleted (upstream
 * DEL_NO_UID_WRITE), so a directory's contents can go too. */
static void
make_writable(struct oce_recvside *rs, const char *name, const struct stat *st)
{
	struct oce_session *s = rs->s;
	int pfd;
	const char *leaf;

	if (s->am_root || (st->st_mode & S_IWUSR) || st->st_uid != geteuid() || s->o->dry_run ||
	    S_ISLNK(st->st_mode))
		return;
	pfd = oce_open_parent(&rs->root, name, &leaf);
	if (pfd < 0)
		return;
	(void)fchmodat(pfd, leaf, (st->st_mode & CHMOD_BITS) | S_IWUSR, 0);
	close(pfd);
}

/*
 * Upstream delete_dir_contents(): empty the directory name (with
 * DEL_RECURSE), or only find out whether it is empty. Entries the filter
 * rules protect stay, and so does the directory. Says "cannot delete
 * non-empty directory" when it has to keep something.
 */
static enum del_ret
delete_dir_contents(struct oce_recvside *rs, const char *name, unsigned flags)
{
	struct oce_session *s = rs->s;
	int fd = oce_open_beneath(&rs->root, name, O_RDONLY | O_DIRECTORY, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	enum del_ret ret = DR_SUCCESS;
	struct dent *v = NULL;
	size_t n = 0;
	struct dirent *de;
	bool recurse;

	if (!d && fd >= 0)
		close(fd);
	while (d && (de = readdir(d))) {
		struct dent *nv;
		struct stat st;
		char *path;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (asprintf(&path, "%s/%s", name, de->d_name) < 0)
			break;
		/* perishable rules do not protect what is inside a deleted dir (upstream) */
		if (oce_filter_check_ex(s, path, S_ISDIR(st.st_mode), true) < 0) {
			free(path);
			ret = DR_NOT_EMPTY;
			continue;
		}
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(path);
			break;
		}
		v = nv;
		v[n].name = path;
		v[n].mode = st.st_mode;
		v[n].st = st;
		n++;
	}
	if (d)
		closedir(d);
	recurse = flags & DEL_RECURSE;
	if (n && !recurse)
		ret = DR_NOT_EMPTY;
	else if (n)
		qsort(v, n, sizeof(*v), dent_cmp);
	/* Our own recursion: the delete_item() calls below do not recurse. */
	flags = (flags & ~(DEL_RECURSE | DEL_MAKE_ROOM)) | DEL_DIR_IS_EMPTY;
	for (size_t i = n; i-- > 0;) {
		if (recurse) {
			make_writable(rs, v[i].name, &v[i].st);
			if (S_ISDIR(v[i].mode) &&
			    delete_dir_contents(rs, v[i].name, flags | DEL_RECURSE) != DR_SUCCESS)
				ret = DR_NOT_EMPTY;
			if (delete_item(rs, v[i].name, v[i].mode, flags) != DR_SUCCESS)
				ret = DR_NOT_EMPTY;
		}
		free(v[i].name);
	}
	free(v);
	if (ret == DR_NOT_EMPTY)
		oce_info(s, "cannot delete non-empty directory: %s", name);
	return ret;
}

/*
 * Upstream delete_item(): remove name, a directory with its contents when
 * DEL_RECURSE says so. Each entry removed counts toward --max-delete and
 * is reported, except the one a DEL_FOR_* caller makes room for.
 */
static enum del_ret
delete_item(struct oce_recvside *rs, const char *name, mode_t mode, unsigned flags)
{
	struct oce_session *s = rs->s;
	enum del_ret ret;
	const char *what;
	int r;

	if (S_ISDIR(mode) && !(flags & DEL_DIR_IS_EMPTY)) {
		ret = delete_dir_contents(rs, name, flags);
		if (ret == DR_NOT_EMPTY || ret == DR_AT_LIMIT)
			goto check_ret;
	}
	if (!(flags & DEL_MAKE_ROOM) && s->o->max_delete >= 0 &&
	    s->st.deleted_files >= s->o->max_delete) {
		s->skipped_deletes++;
		return DR_AT_LIMIT;
	}
	what = S_ISDIR(mode) ? "rmdir" : "unlink";
	if (s->o->dry_run) {
		r = 0;
	} else if (s->o->backup && !S_ISDIR(mode) &&
		   (s->o->backup_dir || !is_backup_file(s->o, name))) {
		/* Deleted files are kept as backups (upstream delete_item()). */
		int b = oce_make_backup(rs, name, true);

		what = "make_backup";
		r = b ? 0 : -EIO;
		if (b == 2) {
			what = "unlink";
			r = oce_unlink_beneath(&rs->root, name, false);
		}
	} else {
		r = oce_unlink_beneath(&rs->root, name, false);
	}
	if (!r || r == -ENOENT) {
		if (!r && !(flags & DEL_MAKE_ROOM)) {
			log_delete(rs, name, mode);
			count_deleted(&s->st, mode);
		}
		ret = DR_SUCCESS;
	} else if (S_ISDIR(mode) && r == -ENOTEMPTY) {
		oce_info(s, "cannot delete non-empty directory: %s", name);
		ret = DR_NOT_EMPTY;
	} else {
		oce_error(s, "delete_file: %s(%s) failed: %s (%d)", what, name, strerror(-r), -r);
		__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
		ret = DR_FAILURE;
	}
check_ret:
	if (ret != DR_SUCCESS && (flags & DEL_MAKE_ROOM)) {
		const char *desc = flags & DEL_FOR_FILE	   ? "regular file"
				   : flags & DEL_FOR_DIR     ? "directory"
				   : flags & DEL_FOR_SYMLINK ? "symlink"
				   : flags & DEL_FOR_DEVICE  ? "device file"
							     : "special file";

		oce_rerror(s, "could not make way for new %s: %s", desc, name);
		__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
	}
	return ret;
}

/* The DEL_FOR_* flag for a new entry of mode (upstream get_del_for_flag()). */
static unsigned
del_for_flag(mode_t mode)
{
	if (S_ISREG(mode))
		return DEL_FOR_FILE;
	if (S_ISDIR(mode))
		return DEL_FOR_DIR;
	if (S_ISLNK(mode))
		return DEL_FOR_SYMLINK;
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return DEL_FOR_DEVICE;
	return DEL_FOR_SPECIAL;
}

/*
 * Clear the way at name (an entry of mode *st) for a new entry of another
 * kind (for_flag, a DEL_FOR_*): recursively only under --delete, as
 * upstream. Returns 0 when the way is clear.
 */
static int
make_room(struct oce_recvside *rs, const char *name, const struct stat *st, unsigned for_flag)
{
	make_writable(rs, name, st);
	return delete_item(rs, name, st->st_mode,
			   (rs->s->o->delete_mode != OCE_DEL_NONE ? DEL_RECURSE : 0) | for_flag) !=
	       DR_SUCCESS;
}

/* Delete what dir holds that the list does not (upstream delete_in_dir()). */
static int
delete_in_dir(struct oce_recvside *rs, const struct oce_file *dirf)
{
	struct oce_session *s = rs->s;
	const char *dname = dirf->name;
	bool dot = !strcmp(dname, ".");
	int fd;
	struct dent *v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	/*
	 * The sending side could not read everything: what it did not list
	 * may well still exist there, so nothing is deleted (upstream says
	 * so once, and --ignore-errors, which we refuse, would go on).
	 */
	if (__atomic_load_n(&s->sender_io_error, __ATOMIC_RELAXED) & OCE_IOERR_GENERAL) {
		if (!rs->del_warned) {
			rs->del_warned = true;
			oce_info(s, "IO error encountered -- skipping file deletion");
		}
		return 0;
	}
	fd = oce_open_beneath(&rs->root, dname, O_RDONLY | O_DIRECTORY, 0);
	oce_filter_chdir(s, s->dest, dname, oce_filter_depth(dname));
	if (oce_filter_status(s)) {
		if (fd >= 0)
			close(fd);
		return oce_filter_status(s);
	}
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		struct dent *nv;
		int32_t i;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (oce_path_join(path, sizeof(path), dot ? NULL : dname, de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		/* Whatever its type: an entry the list has in another type
		 * is replaced by the generator (make_room()), not deleted. */
		i = oce_flist_find(&s->fl, path, S_ISDIR(st.st_mode));
		if (i < 0 || s->fl.v[i]->removed)
			i = oce_flist_find(&s->fl, path, !S_ISDIR(st.st_mode));
		if (i >= 0 && !s->fl.v[i]->removed)
			continue;
		if (oce_excluded(s, path, S_ISDIR(st.st_mode)))
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n].name = strdup(path);
		v[n].mode = st.st_mode;
		v[n].st = st;
		if (v[n].name)
			n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), dent_cmp);
	for (size_t i = n; i-- > 0;) {
		make_writable(rs, v[i].name, &v[i].st);
		delete_item(rs, v[i].name, v[i].mode, DEL_RECURSE);
		free(v[i].name);
	}
	free(v);
	return 0;
}

/* The basis is read this much at a time while its sums are made. */
#define SUMS_CHUNK (1 << 20)
/* A basis this large has the sums of its second half made on a thread of their own. */
#define SUMS_SPLIT_MIN (16 << 20)
/* ... unless they would take more memory than this (4 + s2length bytes a block). */
#define SUMS_SPLIT_MAX_BUF (8 << 20)

/* Where sum_blocks() puts each block's record. */
typedef int (*sum_put_fn)(void *arg, const uint8_t *rec, size_t len);

/*
 * The records (weak sum, strong sum) of blocks first..last-1 of the basis,
 * in order, to put(), reading SUMS_CHUNK (whole blocks) at a time; a basis
 * that reads short sums as zeros.
 */
static int
sum_blocks(const struct oce_session *s, int fd, const struct ocp_sum_head *h, uint64_t size, int32_t first,
	   int32_t last, sum_put_fn put, void *arg)
{
	uint8_t rec[4 + OCP_CSUM_DIGEST_MAX];
	uint64_t pos = (uint64_t)first * (uint64_t)h->blength;
	size_t clen = SUMS_CHUNK / (size_t)h->blength * (size_t)h->blength;
	int32_t i = first;
	uint8_t *buf;
	int r = 0;

	if (clen < (size_t)h->blength)
		clen = (size_t)h->blength;
	if ((uint64_t)clen > size)
		clen = (size_t)size;
	buf = malloc(clen);
	if (!buf)
		return -ENOMEM;
	while (!r && i < last) {
		size_t want = (size_t)(size - pos < clen ? size - pos : clen), got = 0, off = 0;

		while (got < want) {
			ssize_t n = pread(fd, buf + got, want - got, (off_t)(pos + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		memset(buf + got, 0, want - got);
		while (!r && i < last && off < want) {
			size_t bl = (size_t)ocp_sig_block_len(h, i);

			ocp_enc_int32(rec, 4, (int32_t)ocp_csum1(buf + off, bl));
			r = ocp_csum2(s->csum, buf + off, bl, s->seed, s->seed_fix, rec + 4);
			if (r >= 0)
				r = put(arg, rec, 4 + (size_t)h->s2length);
			off += bl;
			i++;
		}
		pos += want;
	}
	free(buf);
	return r < 0 ? r : 0;
}

static int
put_wire(void *arg, const uint8_t *rec, size_t len)
{
	return ocp_io_write_data(arg, rec, len);
}

/* The second half's sums, made beside the first's (send_sums()). */
struct sums_half {
	const struct oce_session *s;
	int fd;
	const struct ocp_sum_head *h;
	uint64_t size;
	int32_t first, last;
	uint8_t *out;
	size_t len;
	int r;
};

static int
put_mem(void *arg, const uint8_t *rec, size_t len)
{
	struct sums_half *sh = arg;

	memcpy(sh->out + sh->len, rec, len);
	sh->len += len;
	return 0;
}

static void *
sums_half_main(void *arg)
{
	struct sums_half *sh = arg;

	sh->r = sum_blocks(sh->s, sh->fd, sh->h, sh->size, sh->first, sh->last, put_mem, sh);
	return NULL;
}

/* --- Look-ahead --------------------------------------------------------------
 *
 * Making a basis's block sums (or with -c its whole-file sum) is the
 * generator's CPU work, one file after another. With a pool, a regular
 * file of AHEAD_MIN..AHEAD_MAX bytes further down the list gets a worker
 * that takes its destination's lstat and, when the quick check will not
 * pass it, makes the sums its request will carry (with -c: the file's
 * sum, and the block sums too when that differs). The generator still
 * takes every step itself, in list order, and writes what it writes when
 * it did before; where the worker's result is for the same file (device,
 * inode, size, mtime and ctime as the generator's own lstat sees them), it
 * uses those bytes instead of making them again. A stale, failed or
 * missing result is made in place, as without a pool, so the wire is the
 * same either way.
 *
 * Off with OC_RSYNC_ASYNC=0 or OC_RSYNC_RECEIVER_ASYNC=0, on one CPU, in a
 * local copy (which has its own pool) and with a streamed list.
 */
#define AHEAD_MIN	 (64 * 1024)
#define AHEAD_MAX	 (64 * 1024 * 1024)
#define AHEAD_PER_WORKER 3
/* how far past the current entry candidates are looked for */
#define AHEAD_SCAN 4096

struct ahead_job {
	struct gen_ahead *ga;
	int32_t ndx;
	bool done; /* under ga->mu */
	bool have_st;
	struct stat st;
	int sum_r; /* > 0: sum holds the file's whole-file sum (-c) */
	uint8_t sum[OCP_CSUM_DIGEST_MAX];
	struct ocp_sum_head h;
	uint8_t *sums; /* the block sums' records (send_sums()), or NULL */
	size_t sums_len;
};

struct gen_ahead {
	struct oce_recvside *rs;
	struct ocpool *pool;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ahead_job *job; /* a ring of n, used from head on, in list order */
	size_t n, head, used;
	size_t scan; /* the next list index to look at */
	bool sums;   /* make block sums (else only -c sums) */
	unsigned workers;
};

/* The same file as the worker saw, unchanged since? */
static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
	       S_ISREG(a->st_mode) && S_ISREG(b->st_mode);
}

/* quick_check_ok() without -c. */
static bool
quick_check_plain(const struct oce_session *s, const struct oce_file *f, const struct stat *st)
{
	if (st->st_size != f->size)
		return false;
	if (s->o->size_only)
		return true;
	if (s->o->ignore_times)
		return false;
	return same_mtime(s, st, f);
}

/* On a worker: what gen_file() will want for entry j->ndx. */
static int
ahead_run(void *arg)
{
	struct ahead_job *j = arg;
	struct gen_ahead *ga = j->ga;
	struct oce_recvside *rs = ga->rs;
	const struct oce_session *s = rs->s;
	const struct oce_opts *o = s->o;
	const struct oce_file *f = s->fl.v[j->ndx];
	const char *name = rs->solo ? rs->solo : f->name;
	bool need = true;
	int fd = -1;

	j->have_st = !oce_lstat_beneath(&rs->root, name, &j->st) && S_ISREG(j->st.st_mode);
	if (!j->have_st || o->ignore_existing)
		goto out;
	if (o->checksum) {
		if (j->st.st_size == f->size) {
			fd = oce_open_beneath(&rs->root, name, O_RDONLY, 0);
			if (fd < 0)
				goto out;
			j->sum_r = oce_file_checksum(rs->s, fd, "", j->sum);
			need = !(j->sum_r > 0 && f->sum && !memcmp(j->sum, f->sum, (size_t)s->csum_len));
		}
	} else {
		need = !quick_check_plain(s, f, &j->st);
	}
	if (need && ga->sums && j->st.st_size > 0 &&
	    ocp_sum_sizes(j->st.st_size, s->protocol, o->block_size, s->csum_len, false, &j->h) >= 0 &&
	    j->h.count > 0) {
		struct sums_half sh = {.s = s, .h = &j->h, .size = (uint64_t)j->st.st_size, .last = j->h.count};

		if (fd < 0)
			fd = oce_open_beneath(&rs->root, name, O_RDONLY, 0);
		sh.fd = fd;
		sh.out = fd >= 0 ? malloc((size_t)j->h.count * (4 + (size_t)j->h.s2length)) : NULL;
		if (sh.out && !sum_blocks(s, fd, &j->h, sh.size, 0, sh.last, put_mem, &sh)) {
			j->sums = sh.out;
			j->sums_len = sh.len;
		} else {
			free(sh.out);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&ga->mu);
	j->done = true;
	pthread_cond_broadcast(&ga->cv);
	pthread_mutex_unlock(&ga->mu);
	return 0;
}

static void
ahead_wait(struct gen_ahead *ga, struct ahead_job *j)
{
	pthread_mutex_lock(&ga->mu);
	while (!j->done)
		pthread_cond_wait(&ga->cv, &ga->mu);
	pthread_mutex_unlock(&ga->mu);
}

/* Is list entry i one gen_file() will take, and big enough to be worth it? */
static bool
ahead_wanted(const struct oce_session *s, size_t i)
{
	const struct oce_file *f = s->fl.v[i];
	const struct oce_opts *o = s->o;

	return S_ISREG(f->mode) && !f->removed && f->size >= AHEAD_MIN && f->size <= AHEAD_MAX &&
	       !(o->hard_links && f->hlinked && f->hl_leader != (int32_t)i) &&
	       !(o->max_size >= 0 && f->size > o->max_size) &&
	       !(o->min_size >= 0 && f->size < o->min_size);
}

static void ahead_end(struct oce_recvside *rs);

/* Before entry i: let go of what is behind it, and give the workers what lies ahead. */
static void
ahead_advance(struct oce_recvside *rs, size_t i)
{
	struct gen_ahead *ga = rs->ahead;
	const struct oce_session *s = rs->s;

	while (ga->used && (size_t)ga->job[ga->head].ndx < i) {
		struct ahead_job *j = &ga->job[ga->head];

		ahead_wait(ga, j);
		free(j->sums);
		ga->head = (ga->head + 1) % ga->n;
		ga->used--;
	}
	if (ga->scan < i)
		ga->scan = i;
	for (; ga->used < ga->n && ga->scan < s->fl.n && ga->scan <= i + AHEAD_SCAN; ga->scan++) {
		struct ahead_job *j;

		if (!ahead_wanted(s, ga->scan))
			continue;
		if (!ga->pool) {
			struct ocpool_config pc;

			ocpool_config_init(&pc);
			pc.workers = ga->workers;
			pc.queue_capacity = ga->n;
			if (ocpool_create(&ga->pool, &pc)) {
				ga->pool = NULL;
				ahead_end(rs); /* (nothing is queued yet) */
				return;
			}
		}
		j = &ga->job[(ga->head + ga->used) % ga->n];
		*j = (struct ahead_job){.ga = ga, .ndx = (int32_t)ga->scan};
		if (ocpool_submit(ga->pool, ahead_run, j, NULL))
			break; /* (the entry is made in place) */
		ga->used++;
	}
}

/* The finished look-ahead of entry ndx, or NULL. */
static const struct ahead_job *
ahead_get(struct oce_recvside *rs, int32_t ndx)
{
	struct gen_ahead *ga = rs->ahead;

	if (!ga)
		return NULL;
	for (size_t k = 0; k < ga->used; k++) {
		struct ahead_job *j = &ga->job[(ga->head + k) % ga->n];

		if (j->ndx == ndx) {
			ahead_wait(ga, j);
			return j;
		}
		if (j->ndx > ndx)
			break;
	}
	return NULL;
}

static void
ahead_start(struct oce_recvside *rs)
{
	const struct oce_session *s = rs->s;
	const struct oce_opts *o = s->o;
	struct gen_ahead *ga;
	unsigned w = ocpool_cpu_count();
	bool sums = !rs->whole_file && !o->dry_run && !o->append && !rs->nalt && !o->partial_dir &&
		    !(o->inplace && o->backup);

	if (oce_env_off("OC_RSYNC_ASYNC") || oce_env_off("OC_RSYNC_RECEIVER_ASYNC") || w < 2 || rs->lops ||
	    s->fl.stream || o->list_only || (!sums && !o->checksum))
		return;
	if (w > 8)
		w = 8;
	ga = calloc(1, sizeof(*ga));
	if (!ga)
		return;
	ga->rs = rs;
	ga->sums = sums;
	ga->workers = w;
	ga->n = AHEAD_PER_WORKER * (size_t)w;
	ga->job = calloc(ga->n, sizeof(*ga->job));
	if (!ga->job || pthread_mutex_init(&ga->mu, NULL)) {
		free(ga->job);
		free(ga);
		return;
	}
	if (pthread_cond_init(&ga->cv, NULL)) {
		pthread_mutex_destroy(&ga->mu);
		free(ga->job);
		free(ga);
		return;
	}
	rs->ahead = ga; /* the pool comes with the first file worth it (ahead_advance()) */
}

static void
ahead_end(struct oce_recvside *rs)
{
	struct gen_ahead *ga = rs->ahead;

	if (!ga)
		return;
	rs->ahead = NULL;
	if (ga->pool) {
		ocpool_shutdown(ga->pool, OCPOOL_DRAIN, NULL);
		ocpool_destroy(ga->pool);
	}
	for (; ga->used; ga->used--, ga->head = (ga->head + 1) % ga->n)
		free(ga->job[ga->head].sums);
	pthread_cond_destroy(&ga->cv);
	pthread_mutex_destroy(&ga->mu);
	free(ga->job);
	free(ga);
}

/*
 * Write the sum head and block sums of the basis (upstream
 * generate_and_send_sums()), a block at a time straight into the output as
 * ocp_sig_enc() would lay them out: no copy of the whole signature, and
 * memory stays at the chunk, not the file's size. A large basis has its
 * second half summed on a thread of its own meanwhile (the sender can
 * match nothing before it has every sum, so they are the delay of a big
 * file's delta); those records wait in memory to go out after the first
 * half's. Read, not mapped: this process has other threads, so every unmap
 * would interrupt the CPUs they run on to flush their TLBs (costly in a
 * VM), and a file that shrinks under us reads short instead of raising
 * SIGBUS; the missing tail sums as zeros, and the whole-file check sorts
 * that out, as upstream's map_ptr() does.
 */
static int
send_sums(struct oce_recvside *rs, int fd, const struct stat *st, bool full, const struct ahead_job *aj)
{
	struct oce_session *s = rs->s;
	struct ocp_sum_head h = {0};
	uint8_t head[OCP_SUM_HEAD_SIZE];
	struct sums_half sh = {0};
	pthread_t tid;
	bool split;
	uint64_t size;
	int r;

	if (fd < 0 || !st || rs->whole_file || st->st_size <= 0) {
		ocp_enc_sum_head(head, sizeof(head), &h);
		return ocp_io_write_data(rs->wio, head, sizeof(head));
	}
	size = (uint64_t)st->st_size;
	r = ocp_sum_sizes(st->st_size, s->protocol, s->o->block_size, s->csum_len, full, &h);
	if (r < 0)
		return r;
	ocp_enc_sum_head(head, sizeof(head), &h);
	r = ocp_io_write_data(rs->wio, head, sizeof(head));
	/* --append: the head alone says how much the receiver keeps. */
	if (r || h.count <= 0 || (s->o->append && !full))
		return r;
	/* made ahead, for this very file and head */
	if (aj && aj->sums && !full && same_file(&aj->st, st) && aj->h.count == h.count &&
	    aj->h.blength == h.blength && aj->h.s2length == h.s2length && aj->h.remainder == h.remainder)
		return ocp_io_write_data(rs->wio, aj->sums, aj->sums_len);
	split = size >= SUMS_SPLIT_MIN && h.count >= 2 &&
		(uint64_t)h.count / 2 * (4 + (uint64_t)h.s2length) <= SUMS_SPLIT_MAX_BUF && ocpool_cpu_count() > 1;
	if (split) {
		sh = (struct sums_half){.s = s, .fd = fd, .h = &h, .size = size, .first = h.count / 2,
					.last = h.count};
		sh.out = malloc((size_t)(sh.last - sh.first) * (4 + (size_t)h.s2length));
		split = sh.out && !pthread_create(&tid, NULL, sums_half_main, &sh);
		if (!split) {
			free(sh.out);
			sh.out = NULL;
		}
	}
	r = sum_blocks(s, fd, &h, size, 0, split ? sh.first : h.count, put_wire, rs->wio);
	if (split) {
		pthread_join(tid, NULL);
		if (!r)
			r = sh.r;
		if (!r)
			r = ocp_io_write_data(rs->wio, sh.out, sh.len);
		free(sh.out);
	}
	return r;
}

/* Upstream quick_check_ok() for a regular file. */
static bool
quick_check_ok(struct oce_recvside *rs, const struct oce_root *root, const char *name,
	       const struct oce_file *f, const struct stat *st, const struct ahead_job *aj)
{
	struct oce_session *s = rs->s;
	uint8_t sum[OCP_CSUM_DIGEST_MAX];

	if (st->st_size != f->size)
		return false;
	if (s->o->checksum) {
		int fd, r;

		/* (summed ahead: the look-ahead's answer for this very file) */
		if (aj && aj->sum_r > 0 && same_file(&aj->st, st))
			return f->sum && !memcmp(aj->sum, f->sum, (size_t)s->csum_len);
		fd = oce_open_beneath(root, name, O_RDONLY, 0);
		if (fd < 0)
			return false;
		r = oce_file_checksum(s, fd, "", sum);
		close(fd);
		return r > 0 && f->sum && !memcmp(sum, f->sum, (size_t)s->csum_len);
	}
	return quick_check_plain(s, f, st);
}

/*
 * Upstream set_file_attrs() with ATTRS_REPORT, for an entry left as it is
 * (a regular file the quick check passes, a link or device already right):
 * at -vv with no %i in the output format, "NAME is uptodate", or the bare
 * name when an attribute is about to change. A dry run says it too.
 */
static void
report_uptodate(struct oce_recvside *rs, const struct oce_file *f, const char *name,
		const struct stat *cur)
{
	struct oce_session *s = rs->s;

	if (s->o->info[OCE_INFO_NAME] < 2 || oce_format_has_i(s->o))
		return;
	if (report_flags(s, f, cur, 0) & (OCE_ITEM_REPORT_TIME | OCE_ITEM_REPORT_PERMS |
					  OCE_ITEM_REPORT_OWNER | OCE_ITEM_REPORT_GROUP))
		oce_info(s, "%s", name);
	else
		oce_info(s, "%s is uptodate", name);
}

static int
set_attrs(struct oce_recvside *rs, const struct oce_file *f, const char *name, const struct stat *cur)
{
	struct oce_meta m;
	enum oce_meta_step step;
	char full[PATH_MAX + 2];
	int r;

	if (rs->s->o->dry_run)
		return 0;
	/*
	 * A directory's time too, as upstream sets it when it meets the
	 * directory (and says so if it cannot); writing its contents changes
	 * it again, so touch_up_dirs() sets it once more at the end.
	 */
	oce_meta_for(rs->s, f, cur, &m);
	r = oce_set_meta_ex(&rs->root, name, cur, &m, &step);
	if (r)
		oce_meta_failed(rs->s, step, -r, oce_dest_fname(rs, name, full, sizeof(full)));
	return 0;
}

/*
 * Upstream try_dests_non() for a directory about to be made: how well the
 * alternate destination directories hold it (0 not at all, 1 there, 3 with
 * the same attributes); *ast is the best one's stat.
 */
static int
alt_dir(struct oce_recvside *rs, const struct oce_file *f, const char *name, struct stat *ast)
{
	int level = 0;
	struct stat st;

	for (int j = 0; j < rs->nalt; j++) {
		if (rs->alt[j].fd < 0 || oce_lstat_beneath(&rs->alt[j], name, &st) || !S_ISDIR(st.st_mode))
			continue;
		if (!level) {
			level = 1;
			*ast = st;
		}
		if (!(report_flags(rs->s, f, &st, 0) & (OCE_ITEM_REPORT_TIME | OCE_ITEM_REPORT_PERMS |
							 OCE_ITEM_REPORT_OWNER | OCE_ITEM_REPORT_GROUP))) {
			*ast = st;
			return 3;
		}
	}
	return level;
}

/*
 * Until its contents are in, a directory must let us write and enter it
 * (upstream's dir_tweaking): one that would lack u+rwx gets it now, and
 * touch_up_dirs() gives it its real mode (kept in f->mode) at the end.
 * Root needs no such help.
 */
static void
tweak_dir_perms(struct oce_recvside *rs, struct oce_file *f, const char *name,
		const struct stat *cur)
{
	struct oce_session *s = rs->s;
	struct oce_meta m, t = {0};
	char full[PATH_MAX + 2];
	int r;

	if (s->am_root || rs->solo)
		return;
	oce_meta_for(s, f, cur, &m);
	if ((m.mode & S_IRWXU) == S_IRWXU)
		return;
	f->mode = (f->mode & S_IFMT) | (m.mode & CHMOD_BITS);
	f->perms_tweaked = true;
	t.mode = m.mode | S_IRWXU;
	t.set_perms = true;
	r = oce_set_meta(&rs->root, name, NULL, &t);
	if (r) {
		oce_rsyserr_xfer(s, -r, "failed to modify permissions on %s",
			    oce_dest_fname(rs, name, full, sizeof(full)));
		__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
	}
}

static int
gen_dir(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, const char *name)
{
	struct oce_session *s = rs->s;
	struct stat st, ast;
	bool exists = dest_lstat(rs, name, &st) == 0;
	bool report_new;
	char full[PATH_MAX + 2];
	int r = 0, level;

	if (exists && !S_ISDIR(st.st_mode)) {
		if (make_room(rs, name, &st, DEL_FOR_DIR)) {
			oce_rerror(s, "*** Skipping any contents from this failed directory ***");
			f->skip_contents = true;
			return 0;
		}
		exists = false;
	}
	/* Deletions go out as messages, which upstream's buffering lets
	 * overtake this directory's own report: do them first. */
	if (s->o->delete_mode == OCE_DEL_DURING && !f->no_content_dir && exists) {
		r = delete_in_dir(rs, f);
		if (r)
			return r;
	}
	report_new = !exists || f->dir_created;
	level = report_new ? alt_dir(rs, f, name, &ast) : 0;
	if (level == 3) {
		/* Up to date in a --link-dest/--copy-dest/--compare-dest dir: made quietly. */
		int has_i = oce_format_has_i(s->o);

		if (has_i && (s->o->info[OCE_INFO_NAME] >= 2 || has_i > 1))
			r = itemize(rs, f, ndx, &ast, OCE_ITEM_LOCAL_CHANGE | OCE_ITEM_MATCHED, 0, NULL);
	} else if (level) {
		r = itemize(rs, f, ndx, &ast, OCE_ITEM_LOCAL_CHANGE, 0, NULL);
	} else {
		r = itemize(rs, f, ndx, report_new ? NULL : &st, report_new ? OCE_ITEM_LOCAL_CHANGE : 0, 0,
			    NULL);
	}
	if (r)
		return r;
	if (!exists && !s->o->dry_run) {
		r = oce_mkdir_beneath(&rs->root, name, (f->mode & CHMOD_BITS) | 0700);
		if (r && r != -EEXIST) {
			oce_rsyserr_xfer(s, -r, "recv_generator: mkdir %s failed",
				    oce_dest_fname(rs, name, full, sizeof(full)));
			oce_rerror(s, "*** Skipping any contents from this failed directory ***");
			__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
			f->skip_contents = true;
			return 0;
		}
	}
	if (!s->o->dry_run) {
		/* The destination we just made gets its mode as a new directory would. */
		const struct stat *cur = exists && !f->dir_created ? &st : NULL;

		set_attrs(rs, f, name, cur);
		tweak_dir_perms(rs, f, name, cur);
	}
	return 0;
}

static int
gen_symlink(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, const char *name)
{
	struct oce_session *s = rs->s;
	struct stat st;
	bool exists = dest_lstat(rs, name, &st) == 0;
	int r;

	if (s->o->safe_links && oce_unsafe_symlink(f->link, f->name)) {
		if (s->o->info[OCE_INFO_NAME] >= 1)
			oce_info(s, "ignoring unsafe symlink \"%s\" -> \"%s\"", name, f->link);
		return 0;
	}
	if (exists && S_ISLNK(st.st_mode)) {
		char cur[PATH_MAX];
		ssize_t n = readlinkat(rs->root.fd, name, cur, sizeof(cur) - 1);
		int pfd;
		const char *leaf;

		/* readlinkat on the root fd with a nested name would follow parents:
		 * read it through the confined parent instead. */
		pfd = oce_open_parent(&rs->root, name, &leaf);
		n = pfd >= 0 ? readlinkat(pfd, leaf, cur, sizeof(cur) - 1) : -1;
		if (pfd >= 0)
			close(pfd);
		if (n >= 0) {
			cur[n] = '\0';
			if (!strcmp(cur, f->link)) {
				report_uptodate(rs, f, name, &st);
				set_attrs(rs, f, name, &st);
				return itemize(rs, f, ndx, &st, 0, 0, NULL);
			}
		}
	}
	/* A directory in the way goes first, in a dry run too (delete_item()
	 * removes nothing then, but lists what it would), as upstream. */
	if (exists && S_ISDIR(st.st_mode)) {
		if (make_room(rs, name, &st, DEL_FOR_SYMLINK))
			return 0;
	} else if (exists && !s->o->dry_run) {
		oce_unlink_beneath(&rs->root, name, false);
	}
	if (!s->o->dry_run) {
		r = oce_symlink_beneath(&rs->root, f->link, name);
		if (r) {
			char full[PATH_MAX + 2];

			oce_rsyserr_xfer(s, -r, "symlink %s -> \"%s\" failed",
				    oce_dest_fname(rs, name, full, sizeof(full)), f->link);
			__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
			return 0;
		}
		set_attrs(rs, f, name, NULL);
	}
	return itemize(rs, f, ndx, exists && S_ISLNK(st.st_mode) ? &st : NULL,
		       OCE_ITEM_LOCAL_CHANGE | OCE_ITEM_REPORT_CHANGE, 0, NULL);
}

static int
gen_special(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, const char *name)
{
	struct oce_session *s = rs->s;
	dev_t rdev = makedev(f->rdev_major, f->rdev_minor);
	struct stat st;
	bool exists = dest_lstat(rs, name, &st) == 0;
	int r;

	if (exists && (st.st_mode & S_IFMT) == (f->mode & S_IFMT) &&
	    (!(S_ISCHR(f->mode) || S_ISBLK(f->mode)) || st.st_rdev == rdev)) {
		report_uptodate(rs, f, name, &st);
		set_attrs(rs, f, name, &st);
		return itemize(rs, f, ndx, &st, 0, 0, NULL);
	}
	if (exists && S_ISDIR(st.st_mode) && make_room(rs, name, &st, del_for_flag(f->mode)))
		return 0; /* a dry run lists what it would delete, as upstream */
	if (exists && (st.st_mode & S_IFMT) != (f->mode & S_IFMT))
		exists = false;
	if (!s->o->dry_run) {
		struct stat cur;

		if (dest_lstat(rs, name, &cur) == 0 && !S_ISDIR(cur.st_mode))
			oce_unlink_beneath(&rs->root, name, false);
		r = oce_mknod_beneath(&rs->root, name, f->mode & (S_IFMT | CHMOD_BITS), rdev);
		if (r) {
			char full[PATH_MAX + 2];

			oce_rsyserr_xfer(s, -r, "mknod %s failed",
				    oce_dest_fname(rs, name, full, sizeof(full)));
			__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
			return 0;
		}
		set_attrs(rs, f, name, NULL);
	}
	return itemize(rs, f, ndx, exists ? &st : NULL,
		       OCE_ITEM_LOCAL_CHANGE | OCE_ITEM_REPORT_CHANGE, 0, NULL);
}

/* Link a hard-link follower to its group's first entry (upstream hard_link_check()). */
static int
gen_hlink(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, const char *name)
{
	struct oce_session *s = rs->s;
	struct oce_file *first = s->fl.v[f->hl_leader];
	struct stat st, fst;
	bool exists = dest_lstat(rs, name, &st) == 0;
	int r;

	if (dest_lstat(rs, first->name, &fst))
		return 0;
	if (exists && st.st_dev == fst.st_dev && st.st_ino == fst.st_ino)
		return itemize(rs, f, ndx, &st, 0, 0, NULL);
	if (!s->o->dry_run) {
		if (exists) {
			if (S_ISDIR(st.st_mode)) {
				if (make_room(rs, name, &st, del_for_flag(f->mode)))
					return 0;
			} else {
				oce_unlink_beneath(&rs->root, name, false);
			}
		}
		r = oce_link_beneath(&rs->root, first->name, name);
		if (r) {
			oce_error(s, "link \"%s\" => %s failed: %s (%d)", name, first->name,
				  strerror(-r), -r);
			__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
			return 0;
		}
	}
	return itemize(rs, f, ndx, exists ? &st : NULL,
		       OCE_ITEM_LOCAL_CHANGE | OCE_ITEM_XNAME_FOLLOWS, 0, first->name);
}

/* Upstream unchanged_attrs() for a regular file. */
static bool
unchanged_attrs(const struct oce_session *s, const struct oce_file *f, const struct stat *st)
{
	return !(report_flags(s, f, st, 0) & (OCE_ITEM_REPORT_TIME | OCE_ITEM_REPORT_PERMS |
					      OCE_ITEM_REPORT_OWNER | OCE_ITEM_REPORT_GROUP));
}

/* Copy the alternate basis to name through a temp file (upstream copy_altdest_file()). */
static int
copy_altdest(struct oce_recvside *rs, const struct oce_root *from, const struct oce_file *f, const char *name)
{
	struct oce_place dest = {.root = &rs->root};
	char tmpname[NAME_MAX + 2];
	int in, dfd, fd, r = 0;

	snprintf(dest.rel, sizeof(dest.rel), "%s", name);
	if (rs->s->o->inplace) {
		/* --inplace: straight into place, no temp file. */
		r = oce_copy_file(from, name, &rs->root, name, 0600);
		if (!r && !oce_finish_transfer(rs, f, &dest, -1, "", NULL, true, false))
			r = -EIO;
		return r;
	}
	in = oce_open_beneath(from, name, O_RDONLY, 0);
	if (in < 0)
		return in;
	r = rs->tmp_err ? -rs->tmp_err : oce_tmpfile(&rs->root, name, rs->tmp_root.fd, &dfd, &fd, tmpname);
	if (r) {
		close(in);
		return r;
	}
	r = oce_copy_fd(in, fd);
	close(in);
	close(fd);
	if (r || !oce_finish_transfer(rs, f, &dest, dfd, tmpname, NULL, true, false)) {
		unlinkat(dfd, tmpname, 0);
		r = r ? r : -EIO;
	}
	close(dfd);
	return r;
}

/*
 * Upstream try_dests_reg(): look for the file in the --link-dest,
 * --copy-dest or --compare-dest directories. Returns -2 when that settled
 * the file, the index of the best basis there, or -1 for none; *ast is
 * that basis's stat.
 */
static int
try_alt_dests(struct oce_recvside *rs, const struct oce_file *f, int32_t ndx, const char *name,
	      const struct stat *real, bool exists, struct stat *ast, int *err)
{
	struct oce_session *s = rs->s;
	const struct oce_opts *o = s->o;
	int has_i = oce_format_has_i(o);
	int best = -1, level = 0, j;
	struct stat st;

	*err = 0;
	for (j = 0; j < rs->nalt; j++) {
		if (rs->alt[j].fd < 0 || oce_lstat_beneath(&rs->alt[j], name, &st) || !S_ISREG(st.st_mode))
			continue;
		if (level == 0) {
			best = j;
			level = 1;
			*ast = st;
		}
		if (!quick_check_ok(rs, &rs->alt[j], name, f, &st, NULL))
			continue;
		if (level == 1) {
			best = j;
			level = 2;
			*ast = st;
		}
		if (unchanged_attrs(s, f, &st)) {
			best = j;
			level = 3;
			*ast = st;
			break;
		}
	}
	if (!level)
		return -1;
	if (level == 3 && o->alt_dest_type != OCE_ALT_COPY) {
		if (exists) {
			if (o->alt_dest_type == OCE_ALT_LINK && real->st_dev == ast->st_dev &&
			    real->st_ino == ast->st_ino)
				return -1;
			if (!o->dry_run && oce_unlink_beneath(&rs->root, name, false))
				return -1;
		}
		if (o->alt_dest_type == OCE_ALT_LINK) {
			int r = 0;

			if (!o->dry_run) {
				int from = oce_open_beneath(&rs->alt[best], name, O_PATH, 0);
				const char *leaf;
				int dfd = from < 0 ? from : oce_open_parent(&rs->root, name, &leaf);

				r = dfd < 0 ? dfd : linkat(from, "", dfd, leaf, AT_EMPTY_PATH) ? -errno : 0;
				if (dfd >= 0)
					close(dfd);
				if (from >= 0)
					close(from);
			}
			if (r)
				goto try_a_copy;
			if (has_i > 1 || o->info[OCE_INFO_NAME] >= 2)
				*err = itemize(rs, f, ndx, ast, OCE_ITEM_LOCAL_CHANGE | OCE_ITEM_XNAME_FOLLOWS, 0, "");
		} else {
			*err = itemize(rs, f, ndx, ast, 0, 0, NULL);
		}
		if (o->info[OCE_INFO_NAME] >= 2 && !has_i)
			oce_info(s, "%s is uptodate", name);
		return -2;
	}
	if (exists)
		return -1;
	if (level >= 2) {
try_a_copy:
		if (!o->dry_run && copy_altdest(rs, &rs->alt[best], f, name))
			return exists ? -1 : -2;
		*err = itemize(rs, f, ndx, ast, OCE_ITEM_LOCAL_CHANGE, 0, NULL);
		if (!has_i && ((o->info[OCE_INFO_NAME] >= 1 && level == 2) ||
			       (o->info[OCE_INFO_NAME] >= 2 && level == 3)))
			oce_info(s, "%s%s", name, level == 3 ? " is uptodate" : "");
		return -2;
	}
	return best;
}

static int
gen_file(struct oce_recvside *rs, struct oce_file *f, int32_t ndx, const char *name, bool redo)
{
	struct oce_session *s = rs->s;
	const struct oce_opts *o = s->o;
	struct stat st, real_st, pst;
	bool exists = dest_lstat(rs, name, &st) == 0, real_exists;
	struct oce_place partial, *pp = NULL;
	const struct oce_root *broot = &rs->root;
	const char *bname = name; /* the basis, below broot */
	uint8_t basis = OCE_BASIS_FNAME;
	uint32_t iflags;
	bool inplace_backup;
	int fd = -1, r;
	const struct ahead_job *aj = redo ? NULL : ahead_get(rs, ndx);

	if (o->max_size >= 0 && f->size > o->max_size) {
		if (o->info[OCE_INFO_SKIP] >= 1)
			oce_info(s, "%s is over max-size", name);
		return 0;
	}
	if (o->min_size >= 0 && f->size < o->min_size) {
		if (o->info[OCE_INFO_SKIP] >= 1)
			oce_info(s, "%s is under min-size", name);
		return 0;
	}
	if (!redo) {
		if (o->existing && !exists)
			return 0;
		if (o->ignore_existing && exists)
			return 0;
		if (o->update && exists && S_ISREG(st.st_mode) &&
		    f->mtime - st.st_mtim.tv_sec < o->modify_window + (o->modify_window >= 0 ? 0 : 1)) {
			if (o->info[OCE_INFO_SKIP] >= 1)
				oce_info(s, "%s is newer", name);
			return 0;
		}
	}
	if (exists && !S_ISREG(st.st_mode)) {
		if (make_room(rs, name, &st, DEL_FOR_FILE))
			return 0;
		exists = false;
	}
	if (rs->nalt && !redo && (!exists || o->alt_dest_type != OCE_ALT_COPY)) {
		struct stat ast;
		int j = try_alt_dests(rs, f, ndx, name, &st, exists, &ast, &r);

		if (j == -2)
			return r;
		if (j >= 0) {
			basis = (uint8_t)j;
			broot = &rs->alt[j];
			st = ast;
			exists = true;
		}
	}
	/* Reported against the basis found, as upstream's real_sx. */
	real_exists = exists;
	real_st = st;
	/* an absolute partial-dir not there yet (nor made by the receiver) holds nothing */
	if (o->partial_dir && oce_partial_name(rs, name, &partial) &&
	    __atomic_load_n(&partial.root->fd, __ATOMIC_ACQUIRE) >= 0 &&
	    !oce_lstat_beneath(partial.root, partial.rel, &pst) && S_ISREG(pst.st_mode))
		pp = &partial;
	if (!exists && !pp)
		goto notify;
	/* A local copy checks -c sums on its workers (oce_gen_local_settle()). */
	if (rs->lops && rs->lops->check && o->checksum && exists && basis == OCE_BASIS_FNAME && !redo &&
	    !pp)
		return rs->lops->check(rs, f, ndx, &st);
	if (exists && basis == OCE_BASIS_FNAME && !redo && !pp && quick_check_ok(rs, broot, bname, f, &st, aj)) {
		report_uptodate(rs, f, name, &st);
		set_attrs(rs, f, name, &st);
		return itemize(rs, f, ndx, &st, 0, 0, NULL);
	}
	if (exists && basis == OCE_BASIS_FNAME && !redo && pp && quick_check_ok(rs, broot, bname, f, &st, aj)) {
		if (!o->dry_run) {
			oce_unlink_beneath(pp->root, pp->rel, false);
			oce_partial_dir(rs, pp, false);
		}
		report_uptodate(rs, f, name, &st);
		set_attrs(rs, f, name, &st);
		return itemize(rs, f, ndx, &st, 0, 0, NULL);
	}
	/* --append: a destination at least as long as the source is left alone
	 * (not on the redo pass, which rewrites the file in place). */
	if (o->append && !redo && exists && st.st_size >= f->size)
		return 0;
	if (pp) {
		st = pst;
		broot = pp->root;
		bname = pp->rel;
		basis = OCE_BASIS_PARTIAL_DIR;
		exists = true;
	}
	if (o->dry_run)
		goto notify;
	/*
	 * --inplace -b: the file is about to be overwritten where it is, so
	 * its backup is a copy made now (not on the redo pass, which would copy
	 * the half-updated file); with block sums the receiver then reads its
	 * blocks from the backup.
	 */
	inplace_backup = o->inplace && o->backup && !redo && exists && basis == OCE_BASIS_FNAME;
	if (rs->whole_file) {
		if (inplace_backup && oce_backup_copy(rs, name) == 0)
			return 0;
		goto notify;
	}
	fd = oce_open_beneath(broot, bname, O_RDONLY, 0);
	if (fd < 0) {
		oce_error(s, "failed to open \"%s\", continuing: %s (%d)", bname, strerror(-fd), -fd);
		exists = false;
		real_exists = false;
		goto notify;
	}
	if (inplace_backup) {
		r = oce_backup_copy(rs, name);
		if (r == 0) {
			close(fd);
			return 0;
		}
		if (r > 0)
			basis = OCE_BASIS_BACKUP;
	}
notify:
	if (rs->lops) {
		/* A local copy: no request, the copy itself (apps/engine/local/). */
		iflags = OCE_ITEM_TRANSFER | (o->checksum ? OCE_ITEM_REPORT_CHANGE : 0);
		iflags = real_exists ? report_flags(s, f, &real_st, iflags) : iflags | OCE_ITEM_IS_NEW;
		r = rs->lops->xfer(rs, f, ndx, iflags & 0xffff, real_exists ? &real_st : NULL);
		goto out;
	}
	/* before the request leaves: the receiver accepts data only for files asked for */
	__atomic_store_n(&f->requested, 1, __ATOMIC_RELEASE);
	r = ocp_io_write_ndx(rs->wio, &s->ndx_out, ndx);
	if (r)
		goto out;
	rs->items_written++;
	iflags = OCE_ITEM_TRANSFER | (o->checksum ? OCE_ITEM_REPORT_CHANGE : 0);
	if (basis != OCE_BASIS_FNAME)
		iflags |= OCE_ITEM_BASIS_TYPE_FOLLOWS;
	r = itemize(rs, f, -1, real_exists ? &real_st : NULL, iflags, basis, NULL);
	if (!r && !o->dry_run)
		r = send_sums(rs, exists ? fd : -1, exists ? &st : NULL, redo,
			      basis == OCE_BASIS_FNAME && broot == &rs->root ? aj : NULL);
	if (!r && !rs->threaded)
		r = oce_catch_up(rs);
out:
	if (fd >= 0)
		close(fd);
	return r;
}

uint32_t
oce_gen_local_settle(struct oce_recvside *rs, const struct oce_file *f, const struct stat *st, bool *show)
{
	struct oce_session *s = rs->s;
	const struct oce_opts *o = s->o;
	const char *name = rs->solo ? rs->solo : f->name;
	uint32_t iflags;

	*show = false;
	if (!quick_check_ok(rs, &rs->root, name, f, st, NULL))
		return report_flags(s, f, st, OCE_ITEM_TRANSFER | OCE_ITEM_REPORT_CHANGE) & 0xffff;
	set_attrs(rs, f, name, st);
	iflags = report_flags(s, f, st, 0) & 0xffff;
	*show = (iflags & OCE_ITEM_SIGNIFICANT) || o->info[OCE_INFO_NAME] >= 2 || oce_format_has_i(o) > 1;
	return iflags;
}

/* Upstream recv_generator(): one entry. */
/*
 * Each parent of a name must be in the file list as a directory, or the
 * list is bad: a symlink "d" followed by "d/x" would have the file written
 * through the link (upstream recv_generator() aborts the same way). The
 * last parent found is remembered, since names come grouped by directory.
 */
static int
check_parent(struct oce_recvside *rs, const struct oce_file *f)
{
	struct oce_session *s = rs->s;
	size_t len = f->item_at ? f->item_at - 1 : 0; /* up to the last slash */
	char dir[PATH_MAX];
	int32_t j;

	/* (a streamed list is our own walk's, each parent before what it holds) */
	if (!f->item_at || rs->solo || s->fl.stream)
		return 0;
	if (rs->parent_ok && !strncmp(rs->parent_ok, f->name, len) && !rs->parent_ok[len])
		return 0;
	if (len >= sizeof(dir))
		return OCP_ETOOLONG;
	memcpy(dir, f->name, len);
	dir[len] = '\0';
	j = oce_flist_find(&s->fl, dir, true);
	if (j >= 0 && S_ISDIR(s->fl.v[j]->mode)) {
		rs->parent_ok = s->fl.v[j]->name;
		return 0;
	}
	oce_rerror(s, "ABORTING due to invalid path from sender: %s", f->name);
	s->exit_code = RERR_PROTOCOL;
	return OCP_EPROTO;
}

static int
gen_one(struct oce_recvside *rs, int32_t ndx, bool redo)
{
	struct oce_session *s = rs->s;
	struct oce_file *f = s->fl.v[ndx];
	const char *name = rs->solo ? rs->solo : f->name;
	int r;

	if (f->removed)
		return 0;
	if (f->parent_skipped)
		return 0;
	if (!redo && (r = check_parent(rs, f)) != 0)
		return r;
	/* The module's rules: what they exclude is not written (upstream recv_generator()). */
	if (strcmp(name, ".") && oce_filter_daemon_check(s, name, S_ISDIR(f->mode)) < 0) {
		oce_rerror_xfer(s, "ERROR: daemon refused to receive %s \"%s\"",
			   S_ISDIR(f->mode) ? "directory" : "file", name);
		__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
		if (S_ISDIR(f->mode)) {
			oce_rerror(s, "*** Skipping any contents from this failed directory ***");
			f->skip_contents = true;
			/* nor are its times touched up at the end (upstream FLAG_MISSING_DIR) */
			f->parent_skipped = true;
		}
		return 0;
	}
	if (s->o->relative && !s->o->implied_dirs && !rs->solo) {
		/* --no-implied-dirs: missing parents are made plainly (upstream make_path()). */
		int e = s->o->dry_run ? 0 : oce_mkpath_beneath(&rs->root, f->name);

		if (e < 0) {
			oce_error(s, "recv_generator: mkdir \"%.*s\" failed: %s (%d)",
				  (int)(strrchr(f->name, '/') - f->name), f->name, strerror(-e), -e);
			__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
		}
		if (f->implied)
			return 0;
	}
	/* --existing makes nothing new of any kind, nor anything below a
	 * missing directory (upstream ignore_non_existing). */
	if (s->o->existing && !redo) {
		struct stat st;

		if (dest_lstat(rs, name, &st) == -ENOENT) {
			if (S_ISDIR(f->mode))
				f->skip_contents = true;
			if (s->o->info[OCE_INFO_SKIP] >= 1)
				oce_info(s, "not creating new %s \"%s\"", S_ISDIR(f->mode) ? "directory" : "file",
					 name);
			return 0;
		}
	}
	if (S_ISDIR(f->mode))
		r = gen_dir(rs, f, ndx, name);
	else if (s->o->hard_links && f->hlinked && f->hl_leader != ndx)
		return 0; /* linked once its group's data is in place */
	else if (S_ISLNK(f->mode) && s->o->links)
		r = gen_symlink(rs, f, ndx, name);
	else if (S_ISREG(f->mode))
		r = gen_file(rs, f, ndx, name, redo);
	else if (((S_ISCHR(f->mode) || S_ISBLK(f->mode)) && s->o->devices && s->am_root) ||
		 ((S_ISFIFO(f->mode) || S_ISSOCK(f->mode)) && s->o->specials))
		r = gen_special(rs, f, ndx, name);
	else {
		if (s->o->info[OCE_INFO_NONREG] >= 1)
			oce_info(s, "skipping non-regular file \"%s\"", name);
		r = 0;
	}
	if (!r && !rs->threaded && !rs->lops)
		r = oce_catch_up(rs);
	return r;
}

int
oce_gen_event(struct oce_recvside *rs, struct oce_ev *ev)
{
	struct oce_session *s = rs->s;
	int r = 0;

	switch (ev->kind) {
	case OCE_EV_DONE:
		rs->msgdone++;
		break;
	case OCE_EV_REDO:
		if (rs->nredo == rs->redo_cap) {
			size_t cap = rs->redo_cap ? rs->redo_cap * 2 : 64;
			int32_t *v = realloc(rs->redo, cap * sizeof(*v));

			if (!v) {
				r = -ENOMEM;
				break;
			}
			rs->redo = v;
			rs->redo_cap = cap;
		}
		rs->redo[rs->nredo++] = ev->ndx;
		break;
	case OCE_EV_MSG:
		r = ocp_io_write_msg_ahead(rs->wio, ev->code, ev->text, ev->len);
		break;
	case OCE_EV_FAILED:
		rs->recv_failed = true;
		r = ev->ndx ? ev->ndx : OCP_ECLOSED;
		break;
	}
	(void)s;
	free(ev);
	return r;
}

/* Re-request files whose whole-file checksum failed (phase 1). */
static int
do_redos(struct oce_recvside *rs)
{
	int r = 0;

	while (!r && rs->nredo) {
		int32_t ndx = rs->redo[0];

		memmove(rs->redo, rs->redo + 1, --rs->nredo * sizeof(*rs->redo));
		r = gen_one(rs, ndx, true);
	}
	return r;
}

/*
 * Pick each hard-link group's leader: the member last in sorted order gets
 * the data and the others are linked to it, as upstream's receiver does
 * (hlink.c: only the last of a group is transferred).
 */
static int
hl_leaders(struct oce_session *s)
{
	int32_t *last = malloc((s->fl.n ? s->fl.n : 1) * sizeof(*last));

	if (!last)
		return -ENOMEM;
	for (size_t i = 0; i < s->fl.n; i++)
		last[i] = -1;
	for (size_t i = 0; i < s->fl.n; i++) {
		struct oce_file *f = s->fl.v[i];

		if (f->hlinked && !f->removed) {
			int32_t g = f->hlink_first >= 0 ? f->hlink_first : f->wire_ndx;

			last[g] = (int32_t)i;
		}
	}
	for (size_t i = 0; i < s->fl.n; i++) {
		struct oce_file *f = s->fl.v[i];

		if (f->hlinked)
			f->hl_leader = last[f->hlink_first >= 0 ? f->hlink_first : f->wire_ndx];
	}
	free(last);
	return 0;
}

/* Followers by their leader's position, then from the last in sorted order back. */
static int
hl_order_cmp(const void *a, const void *b)
{
	const int32_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? 1 : x[1] > y[1] ? -1 : 0;
}

/*
 * Hard-link followers, once the data of every group's leader is in place:
 * group by group in their leaders' order, each group's members from the
 * last back to the first, the order upstream's finish_hard_link() links
 * them in when a leader is done.
 */
static int
do_hlinks(struct oce_recvside *rs)
{
	struct oce_session *s = rs->s;
	int32_t (*v)[2];
	size_t n = 0;
	int r = 0;

	if (!s->o->hard_links)
		return 0;
	v = malloc((s->fl.n ? s->fl.n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->fl.n; i++) {
		struct oce_file *f = s->fl.v[i];

		if (!f->removed && !f->parent_skipped && f->hlinked && f->hl_leader != (int32_t)i &&
		    !S_ISDIR(f->mode)) {
			v[n][0] = f->hl_leader;
			v[n][1] = (int32_t)i;
			n++;
		}
	}
	qsort(v, n, sizeof(*v), hl_order_cmp);
	for (size_t k = 0; k < n && !r; k++)
		r = gen_hlink(rs, s->fl.v[v[k][1]], v[k][1], s->fl.v[v[k][1]]->name);
	free(v);
	return r;
}

/* Directory times and modes last, since writing inside them changed them. */
static void
touch_up_dirs(struct oce_recvside *rs)
{
	struct oce_session *s = rs->s;

	if (s->o->dry_run)
		return;
	/* a streamed list has given back its other entries: its directories are kept apart */
	size_t n = s->fl.n;
	struct oce_file *const *v = s->fl.stream ? oce_flist_stream_dirs(&s->fl, &n) : s->fl.v;

	for (size_t i = n; i-- > 0;) {
		struct oce_file *f = v[i];
		struct oce_meta m;
		struct stat st;

		if (!S_ISDIR(f->mode) || f->removed || f->parent_skipped ||
		    (f->implied && !s->o->implied_dirs))
			continue;
		if (dest_lstat(rs, rs->solo ? rs->solo : f->name, &st) || !S_ISDIR(st.st_mode))
			continue;
		oce_meta_for(s, f, &st, &m);
		m.set_owner = m.set_group = false;
		if (f->perms_tweaked) {
			m.mode = f->mode;
			m.set_perms = true;
		}
		/* What would not take was said when the directory was met (set_attrs()). */
		oce_set_meta(&rs->root, f->name, &st, &m);
	}
}

/*
 * A listing (one path, or --list-only): every entry as a line, in list
 * order, and nothing asked for (upstream recv_generator() with list_only,
 * list_file_entry()). -R parents sent only for their attributes are left
 * out under --no-implied-dirs, as upstream's.
 */
static void
list_entries(struct oce_recvside *rs)
{
	struct oce_session *s = rs->s;
	const struct oce_opts *o = s->o;
	char line[PATH_MAX + 4200];

	for (size_t i = 0; i < s->fl.n; i++) {
		const struct oce_file *f = s->fl.v[i];

		if (f->removed || (f->implied && !o->implied_dirs))
			continue;
		oce_list_line(line, sizeof(line), f->mode, f->size, f->mtime, f->name,
			      o->links && S_ISLNK(f->mode) ? f->link : NULL, o->human);
		oce_info(s, "%s", line);
	}
}

int
oce_generate_files(struct oce_recvside *rs)
{
	struct oce_session *s = rs->s;
	const struct oce_opts *o = s->o;
	bool early_delete = !(o->delete_mode == OCE_DEL_DELAY || o->delete_mode == OCE_DEL_AFTER);
	const char *skip = NULL;
	size_t skip_len = 0;
	int r = 0;

	if (o->hard_links) {
		r = hl_leaders(s);
		if (r)
			return r;
	}
	if (o->list_only)
		list_entries(rs);
	if (o->delete_mode == OCE_DEL_BEFORE && !rs->solo && !o->list_only) {
		for (size_t i = 0; i < s->fl.n; i++) {
			struct oce_file *f = s->fl.v[i];

			if (S_ISDIR(f->mode) && !f->no_content_dir && !f->removed && !r)
				r = delete_in_dir(rs, f);
		}
	}
	/* after a --delete-before pass, as upstream's generate_files() */
	if (o->debug[OCE_DEBUG_FLIST] >= 1 && !o->list_only)
		oce_info(s, "delta-transmission %s",
			 rs->whole_file ? "disabled for local transfer or --whole-file" : "enabled");
	ahead_start(rs);
	for (size_t i = 0; !r && !o->list_only; i++) {
		struct oce_file *f;

		if (s->fl.stream) {
			r = rs->lops->more(rs, i);
			if (r <= 0)
				break;
			r = 0;
		} else if (i >= s->fl.n) {
			break;
		}
		f = s->fl.v[i];
		/*
		 * Below a directory not made (or refused) nothing is made: what
		 * it holds follows it in the list's order, all together (a
		 * streamed list has given back what came before)
		 */
		if (skip && !strncmp(f->name, skip, skip_len) && f->name[skip_len] == '/')
			f->parent_skipped = true;
		else
			skip = NULL;
		if (rs->lops && rs->lops->before_entry)
			rs->lops->before_entry(rs, i);
		if (rs->ahead)
			ahead_advance(rs, i);
		r = gen_one(rs, (int32_t)i, false);
		rs->pf_name = NULL;
		/* (a directory the module refuses is both: skipped, and its contents) */
		if (S_ISDIR(f->mode) && f->skip_contents) {
			skip = f->name; /* (a directory: kept to the end in a streamed list) */
			skip_len = strlen(skip);
		}
		/* Without --timeout upstream's generator pushes out what it
		 * queued after the first entry and then every 200; messages
		 * (deletions, infos) overtake the rest, and a client logs in
		 * that order. (As a client the generator prints its own lines
		 * at once, before the data it queued can come back.) */
		if (!r && s->am_server && !o->timeout && i % 200 == 0)
			r = ocp_io_flush(rs->wio);
	}
	ahead_end(rs);
	if (rs->lops) {
		/* A local copy: no phases, no redo (the copy is checked as it is made). */
		if (!r)
			r = rs->lops->flush(rs);
		if (!r)
			r = do_hlinks(rs);
		if (!r)
			r = rs->lops->flush(rs);
		goto late;
	}
	if (!r)
		r = ocp_io_write_ndx(rs->wio, &s->ndx_out, OCE_NDX_DONE);
	if (!r)
		r = ocp_io_flush(rs->wio);
	/* phase 1: redo requests until the receiver has finished phase 0 */
	while (!r && rs->msgdone < 1) {
		r = oce_wait_for_receiver(rs);
		if (!r)
			r = do_redos(rs);
		if (!r)
			r = ocp_io_flush(rs->wio);
	}
	if (!r)
		r = do_redos(rs);
	/*
	 * Hard-link followers once their group's data is in place: upstream
	 * links each as the receiver reports its first done, a point that
	 * depends on timing; here it is one fixed point for both modes.
	 */
	if (!r)
		r = do_hlinks(rs);
	if (!r && !rs->threaded)
		r = oce_catch_up(rs);
	if (!r)
		r = ocp_io_write_ndx(rs->wio, &s->ndx_out, OCE_NDX_DONE);
	if (!r)
		r = ocp_io_write_ndx(rs->wio, &s->ndx_out, OCE_NDX_DONE); /* no delay-updates */
	if (!r && s->protocol >= 31 && early_delete) {
		if (o->delete_mode != OCE_DEL_NONE)
			r = oce_write_del_stats(s, rs->wio);
		if (!r)
			r = ocp_io_write_ndx(rs->wio, &s->ndx_out, OCE_NDX_DONE);
	}
	if (!r)
		r = ocp_io_flush(rs->wio);
	while (!r && rs->msgdone < 2)
		r = oce_wait_for_receiver(rs);
	while (!r && rs->msgdone == 2)
		r = oce_wait_for_receiver(rs);
late:
	if (!r && (o->delete_mode == OCE_DEL_DELAY || o->delete_mode == OCE_DEL_AFTER) && !rs->solo &&
	    !o->list_only) {
		for (size_t i = 0; i < s->fl.n; i++) {
			struct oce_file *f = s->fl.v[i];

			if (S_ISDIR(f->mode) && !f->no_content_dir && !f->removed && !r)
				r = delete_in_dir(rs, f);
		}
	}
	if (!r && o->max_delete >= 0 && s->skipped_deletes) {
		oce_warning(s, "Deletions stopped due to --max-delete limit (%d skipped)",
			    (int)s->skipped_deletes);
		__atomic_fetch_or(&s->io_error, OCE_IOERR_DEL_LIMIT, __ATOMIC_RELAXED);
	}
	if (!r && s->protocol >= 31 && !rs->lops) {
		if (!early_delete) {
			if (o->delete_mode != OCE_DEL_NONE)
				r = oce_write_del_stats(s, rs->wio);
			if (!r)
				r = ocp_io_write_ndx(rs->wio, &s->ndx_out, OCE_NDX_DONE);
			if (!r)
				r = ocp_io_flush(rs->wio);
		}
		while (!r && rs->msgdone == 3)
			r = oce_wait_for_receiver(rs);
	}
	if (!r && !o->list_only)
		touch_up_dirs(rs);
	return r;
}
