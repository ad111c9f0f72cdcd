/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Where a received file ends up, as upstream decides it: the temporary file
 * renamed into place after a backup of the old one (rsync.c
 * finish_transfer(), backup.c make_backup()), the --partial-dir names
 * (util1.c partial_dir_fname(), handle_partial_dir()), the directories the
 * user names beside the destination (--temp-dir, --backup-dir, --partial-dir,
 * --link-dest and friends), and what is kept of a file when the transfer
 * stops half way (cleanup.c with --partial).
 *
 * The user's own directories are opened relative to the destination (the
 * directory upstream runs in) and may be reached through symlinks, since the
 * user chose them; names below them come from the file list and are resolved
 * without following any symlink, as everything below the destination is.
 * In a daemon module that is not its own chroot the client chose them, not
 * the operator: there they are resolved inside the module (confined_open()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/recvside.h"

/*
 * A daemon module that is not a chroot of its own (upstream sanitize_paths):
 * the session has already made these paths name places inside the module
 * (srv_session.c), but a symlink on the way -- one the module holds,
 * pointing out -- would still lead elsewhere, and the daemon may be root.
 * Upstream 3.5.0 refuses such a way out for --backup-dir, --partial-dir and
 * the basis directories; for --temp-dir it writes its temp files through
 * the symlink before it fails, which we do not.
 */
static bool
confined(const struct oce_recvside *rs)
{
	return rs->s->sanitize_links && oce_daemon_module_dir(rs->s) && rs->curr_dir;
}

/*
 * path (absolute, or relative to the destination) as a name relative to the
 * module's directory, ".." taken away by name; -EXDEV when it is not inside.
 */
static int
module_rel(const struct oce_recvside *rs, const char *path, char *out, size_t cap)
{
	const char *mod = oce_daemon_module_dir(rs->s);
	char full[PATH_MAX];
	size_t ml = strlen(mod), n = 0;
	const char *p;

	if (snprintf(full, sizeof(full), "%s%s%s", *path == '/' ? "" : rs->curr_dir, *path == '/' ? "" : "/",
		     path) >= (int)sizeof(full))
		return -ENAMETOOLONG;
	/* a lexical clean: "." goes, ".." takes the name before it (none above "/") */
	for (p = full; *p;) {
		const char *q = strchrnul(p, '/');
		size_t len = (size_t)(q - p);

		if (!len || (len == 1 && p[0] == '.')) {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n && out[n - 1] != '/')
				n--;
			if (n)
				n--;
		} else {
			if (n + 1 + len + 1 > cap)
				return -ENAMETOOLONG;
			out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = *q ? q + 1 : q;
	}
	out[n] = '\0';
	if (strncmp(out, mod, ml) || (out[ml] && out[ml] != '/'))
		return -EXDEV;
	p = out + ml + (out[ml] == '/');
	memmove(out, *p ? p : ".", strlen(*p ? p : ".") + 1);
	return 0;
}

/*
 * A directory below the module's descriptor, through no symlink at all:
 * upstream 3.5.0 refuses one that stays inside the module too.
 */
static int
beneath_dir(int mfd, const char *rel)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = -1;

#ifdef SYS_openat2
	for (int i = 0; i < 8; i++) {
		fd = syscall(SYS_openat2, mfd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -errno;
#endif
	{
		/* no openat2: the walk of fs.c, which refuses symlinks too */
		struct oce_root m = {.fd = mfd, .use_openat2 = false, .sys = &oce_fs_sys_default};

		(void)how;
		(void)fd;
		return oce_open_beneath(&m, rel, O_PATH | O_DIRECTORY, 0);
	}
}

/*
 * Open path as confined() wants it; with mode, missing directories are
 * made (all of them with all, else the last one only). An O_PATH
 * descriptor or -errno (-EXDEV, -ELOOP: the way leads out).
 */
static int
confined_open(const struct oce_recvside *rs, const char *path, mode_t mode, bool all)
{
	const char *mod = oce_daemon_module_dir(rs->s);
	char rel[PATH_MAX];
	int mfd, fd, r = module_rel(rs, path, rel, sizeof(rel));

	if (r)
		return r;
	mfd = open(*mod ? mod : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	fd = beneath_dir(mfd, rel);
	if (fd == -ENOENT && mode && strcmp(rel, ".")) {
		char *end = rel + strlen(rel);

		r = 0;
		for (char *p = all ? strchr(rel, '/') : NULL;; p = strchr(p + 1, '/')) {
			char *cut = p ? p : end, *slash;
			int pfd, e;

			*cut = '\0';
			slash = strrchr(rel, '/');
			if (slash)
				*slash = '\0';
			pfd = beneath_dir(mfd, slash ? rel : ".");
			if (slash)
				*slash = '/';
			if (pfd < 0) {
				r = pfd;
			} else {
				e = mkdirat(pfd, slash ? slash + 1 : rel, mode);
				if (e < 0 && errno != EEXIST)
					r = -errno;
				close(pfd);
			}
			if (p)
				*p = '/';
			if (r || !p)
				break;
		}
		fd = r ? r : beneath_dir(mfd, rel);
	}
	close(mfd);
	return fd;
}

/* Open path (relative to the destination, or absolute) as a root. */
static int
user_root(struct oce_recvside *rs, struct oce_root *r, const char *path, bool create)
{
	int fd;

	if (confined(rs)) {
		fd = confined_open(rs, path, create ? 0700 : 0, false);
		if (fd < 0)
			return fd;
		r->fd = fd;
		r->use_openat2 = rs->root.use_openat2;
		r->sys = rs->root.sys;
		return 0;
	}
	fd = openat(rs->root.fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(rs->root.fd, path, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(rs->root.fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	r->fd = fd;
	r->use_openat2 = rs->root.use_openat2;
	r->sys = rs->root.sys;
	return 0;
}

/* mkdir -p of path relative to the destination (upstream make_path()). */
static int
make_path(struct oce_recvside *rs, const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdirat(rs->root.fd, buf, 0777) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			return 0;
	}
}

int
oce_finish_open(struct oce_recvside *rs)
{
	const struct oce_opts *o = rs->s->o;
	int r;

	rs->tmp_root.fd = rs->pdir_root.fd = rs->bak_root.fd = -1;
	pthread_mutex_init(&rs->bak_lock, NULL);
	if (o->temp_dir) {
		struct stat st;

		/* upstream do_recv(): the temp-dir is stat()ed (followed) before the transfer */
		r = fstatat(rs->root.fd, o->temp_dir, &st, 0) ? -errno : 0;
		if (!r && !S_ISDIR(st.st_mode)) {
			oce_rerror(rs->s, "The temp-dir is not a directory: %s", o->temp_dir);
			rs->s->exit_code = RERR_SYNTAX;
			return -ENOTDIR;
		}
		if (r == -ENOENT) {
			oce_rerror(rs->s, "The temp-dir does not exist: %s", o->temp_dir);
			rs->s->exit_code = RERR_SYNTAX;
			return r;
		}
		if (!r)
			r = user_root(rs, &rs->tmp_root, o->temp_dir, false);
		if (!r && !oce_daemon_module_dir(rs->s) && *o->temp_dir != '/') {
			/*
			 * Upstream 3.5.0 makes its temp files in a relative --temp-dir
			 * with a resolver that refuses ".." (every file fails with
			 * EINVAL) and symlinks (it writes the temp file through one,
			 * then fails to rename it with ELOOP). We fail as it does,
			 * before writing anything. Not in a chrooted module, where it
			 * uses a plain mkstemp(); the other modules are confined().
			 */
			int fd = oce_open_beneath(&rs->root, o->temp_dir, O_PATH | O_DIRECTORY, 0);

			if (fd >= 0)
				close(fd);
			else
				rs->tmp_err = fd == -EXDEV ? EINVAL : ELOOP;
		}
		if (r && confined(rs) && (r == -EXDEV || r == -ELOOP)) {
			/* a way out of the module: each temp file fails, nothing is written there */
			rs->tmp_err = ELOOP;
			r = 0;
		}
		if (r) {
			oce_rerror(rs->s, "Failed to stat temp-dir %s: %s", o->temp_dir, strerror(-r));
			rs->s->exit_code = RERR_FILEIO;
			return r;
		}
	}
	if (o->backup_dir) {
		const char *bd = o->backup_dir;
		struct stat st;
		int len;

		while (bd[0] == '.' && bd[1] == '/')
			bd += 2;
		len = (int)strlen(bd);
		while (len > 1 && bd[len - 1] == '/')
			len--;
		if (fstatat(rs->root.fd, o->backup_dir, &st, 0) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				/* upstream's rprintf(FERROR): no program name */
				oce_rerror(rs->s, "The backup-dir is not a directory: %.*s", len, bd);
				rs->s->exit_code = RERR_SYNTAX;
				return -ENOTDIR;
			}
			if (o->info[OCE_INFO_BACKUP] >= 1)
				oce_info(rs->s, "backup_dir is %.*s", len, bd);
		} else if (errno != ENOENT) {
			oce_rerror(rs->s, "Failed to stat %.*s: %s", len, bd, strerror(errno));
			rs->s->exit_code = RERR_FILEIO;
			return -errno;
		} else if (o->info[OCE_INFO_BACKUP] >= 1) {
			oce_info(rs->s, "(new) backup_dir is %.*s", len, bd);
		}
	}
	/* An absolute partial-dir that is there already may hold partial files to go on from. */
	if (o->partial_dir && *o->partial_dir == '/') {
		struct oce_root pr = {.fd = -1};

		if ((confined(rs) ? user_root(rs, &pr, o->partial_dir, false)
				  : oce_root_open_confined(&pr, oce_confine_fd(rs->s), o->partial_dir, false, rs->root.sys)) == 0)
			rs->pdir_root = pr;
	}
	for (size_t i = 0; i < o->alt_dest.n && i < OCE_MAX_ALT_DEST; i++) {
		/* A missing one is never a match; upstream warns about it. */
		int r = user_root(rs, &rs->alt[rs->nalt], o->alt_dest.v[i], false);

		if (r) {
			/*
			 * upstream warns after a plain stat(): "is not a dir" only for
			 * something there; in a module one that leads out is just
			 * never used
			 */
			struct stat st;

			rs->alt[rs->nalt].fd = -1;
			r = fstatat(rs->root.fd, o->alt_dest.v[i], &st, 0) ? -ENOENT
			    : S_ISDIR(st.st_mode)			      ? 0
									      : -ENOTDIR;
		}
		if (r) {
			const char *opt = o->alt_dest_type == OCE_ALT_LINK   ? "--link-dest"
					  : o->alt_dest_type == OCE_ALT_COPY ? "--copy-dest"
									     : "--compare-dest";
			char here[PATH_MAX] = "", fdpath[64];
			ssize_t n;

			rs->alt[rs->nalt].fd = -1;
			/* Shown as upstream shows it: a relative one joined to the destination. */
			snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", rs->root.fd);
			/* in a module upstream's names stay as the session made them */
			n = o->alt_dest.v[i][0] == '/' || confined(rs) ? -1 : readlink(fdpath, here, sizeof(here) - 1);
			here[n > 0 ? n : 0] = '\0';
			/* no /proc (a chroot): the destination as we named it */
			if (n < 0 && o->alt_dest.v[i][0] != '/' && !confined(rs) && rs->curr_dir)
				snprintf(here, sizeof(here), "%s", rs->curr_dir);
			oce_warning(rs->s, "%s arg %s: %s%s%s", opt, r == -ENOTDIR ? "is not a dir" : "does not exist",
				    here, *here ? "/" : "", o->alt_dest.v[i]);
		}
		rs->nalt++;
	}
	return 0;
}

void
oce_finish_close(struct oce_recvside *rs)
{
	oce_root_close(&rs->tmp_root);
	oce_root_close(&rs->pdir_root);
	oce_root_close(&rs->bak_root);
	for (int i = 0; i < rs->nalt; i++)
		oce_root_close(&rs->alt[i]);
	pthread_mutex_destroy(&rs->bak_lock);
}

bool
oce_partial_name(struct oce_recvside *rs, const char *name, struct oce_place *p)
{
	const char *pd = rs->s->o->partial_dir;
	const char *leaf = strrchr(name, '/');

	if (!pd)
		return false;
	leaf = leaf ? leaf + 1 : name;
	if (*pd == '/') {
		p->root = &rs->pdir_root;
		return snprintf(p->rel, sizeof(p->rel), "%s", leaf) < (int)sizeof(p->rel);
	}
	p->root = &rs->root;
	return snprintf(p->rel, sizeof(p->rel), "%.*s%s/%s", (int)(leaf - name), name, pd, leaf) <
	       (int)sizeof(p->rel);
}

int
oce_partial_dir(struct oce_recvside *rs, const struct oce_place *p, bool create)
{
	const char *pd = rs->s->o->partial_dir;
	char dir[PATH_MAX];
	char *slash;
	struct stat st;
	int r;

	if (!pd)
		return 0; /* --partial alone keeps the file in its own place */
	if (*pd == '/') {
		/* One absolute directory for every partial file; never removed. */
		if (!create || rs->pdir_root.fd >= 0)
			return 0;
		if (confined(rs))
			return user_root(rs, &rs->pdir_root, pd, true);
		if (mkdir(pd, 0700) < 0 && errno != EEXIST)
			return -errno;
		r = oce_root_open_confined(&rs->pdir_root, oce_confine_fd(rs->s), pd, false, rs->root.sys);
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", p->rel);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	if (!create)
		return oce_unlink_beneath(&rs->root, dir, false), 0;
	r = oce_lstat_beneath(&rs->root, dir, &st);
	if (r == 0 && !S_ISDIR(st.st_mode)) {
		r = oce_unlink_beneath(&rs->root, dir, false);
		if (r)
			return r;
		r = -ENOENT;
	}
	if (r == -ENOENT)
		r = oce_mkdir_beneath(&rs->root, dir, 0700);
	return r == -EEXIST ? 0 : r;
}

/* --- backups ---------------------------------------------------------------- */

/*
 * Make the directories above rel in the backup tree, each with the
 * attributes of its twin in the destination (upstream copy_valid_path()).
 */
static int
backup_dirs(struct oce_recvside *rs, const char *rel)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", rel);
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		struct stat st, twin;
		int r;

		*p = '\0';
		r = oce_lstat_beneath(&rs->bak_root, buf, &st);
		if (r == 0 && !S_ISDIR(st.st_mode)) {
			r = oce_unlink_beneath(&rs->bak_root, buf, true);
			if (r)
				return r;
			r = -ENOENT;
		}
		if (r == -ENOENT) {
			r = oce_mkdir_beneath(&rs->bak_root, buf, 0777);
			if (r && r != -EEXIST) {
				oce_error(rs->s, "backup mkdir %s failed: %s (%d)", buf, strerror(-r), -r);
				return r;
			}
			if (!oce_lstat_beneath(&rs->root, buf, &twin)) {
				struct oce_meta m = {.mode = twin.st_mode, .uid = twin.st_uid, .gid = twin.st_gid,
						     .mtime = twin.st_mtim, .set_perms = true,
						     .set_owner = rs->s->am_root, .set_group = true,
						     .set_mtime = true};

				m.atime.tv_nsec = UTIME_OMIT;
				oce_set_meta(&rs->bak_root, buf, NULL, &m);
			}
		} else if (r) {
			return r;
		}
		*p = '/';
	}
	return 0;
}

int
oce_copy_fd(int in, int out)
{
	char buf[1 << 16];
	bool plain = false;

	for (;;) {
		ssize_t n;

		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			/* Not between these two files (another filesystem, old kernel): copy by hand. */
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			n = read(in, buf, sizeof(buf));
			if (n > 0) {
				int r = oce_write_all(&oce_fs_sys_default, out, buf, (size_t)n);

				if (r)
					return r;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
	}
}

/* Copy the regular file src (below the destination) to a new file dst. */
static int
copy_file(const struct oce_root *from, const char *src, const struct oce_root *to, const char *dst,
	  mode_t mode)
{
	const char *leaf;
	int in = oce_open_beneath(from, src, O_RDONLY, 0);
	int dfd, out, r = 0;

	if (in < 0)
		return in;
	dfd = oce_open_parent(to, dst, &leaf);
	if (dfd < 0) {
		close(in);
		return dfd;
	}
	unlinkat(dfd, leaf, 0);
	out = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0700);
	r = out < 0 ? -errno : oce_copy_fd(in, out);
	if (out >= 0 && close(out) < 0 && !r)
		r = -errno;
	if (r && out >= 0)
		unlinkat(dfd, leaf, 0);
	close(dfd);
	close(in);
	return r;
}

int
oce_copy_file(const struct oce_root *from, const char *src, const struct oce_root *to, const char *dst,
	      mode_t mode)
{
	return copy_file(from, src, to, dst, mode);
}

/* Where the backup of name goes; false when the name does not fit. */
static bool
backup_place(struct oce_recvside *rs, const char *name, struct oce_place *p, char *shown, size_t cap)
{
	const struct oce_opts *o = rs->s->o;
	const char *suffix = o->suffix ? o->suffix : (o->backup_dir ? "" : "~");
	const char *bd = o->backup_dir;

	p->root = bd ? &rs->bak_root : &rs->root;
	if (snprintf(p->rel, sizeof(p->rel), "%s%s", name, suffix) >= (int)sizeof(p->rel)) {
		oce_error(rs->s, "backup filename too long");
		return false;
	}
	while (bd && bd[0] == '.' && bd[1] == '/')
		bd += 2;
	snprintf(shown, cap, "%s%s%s", bd && *bd && strcmp(bd, ".") ? bd : "",
		 bd && *bd && strcmp(bd, ".") && bd[strlen(bd) - 1] != '/' ? "/" : "", p->rel);
	return true;
}

/* The backup tree exists (made on first use, as upstream get_backup_name()). */
static int
backup_root(struct oce_recvside *rs)
{
	const char *bd = rs->s->o->backup_dir;
	int r = 0;

	if (!bd)
		return 0;
	pthread_mutex_lock(&rs->bak_lock);
	if (rs->bak_root.fd < 0 && confined(rs)) {
		r = confined_open(rs, bd, 0777, true);
		if (r >= 0) {
			rs->bak_root.fd = r;
			rs->bak_root.use_openat2 = rs->root.use_openat2;
			rs->bak_root.sys = rs->root.sys;
			r = 0;
		} else if (r != -EXDEV && r != -ELOOP) {
			/* a way out fails silently, as upstream's make_backup() does */
			oce_error(rs->s, "backup mkdir %s failed: %s (%d)", bd, strerror(-r), -r);
		}
	} else if (rs->bak_root.fd < 0) {
		r = make_path(rs, bd);
		if (!r)
			r = user_root(rs, &rs->bak_root, bd, false);
		if (r)
			oce_error(rs->s, "backup mkdir %s failed: %s (%d)", bd, strerror(-r), -r);
	}
	pthread_mutex_unlock(&rs->bak_lock);
	return r;
}

/* Link or rename name to its backup (upstream link_or_rename()): 2 linked, 1 renamed, 0 not. */
static int
link_or_rename(struct oce_recvside *rs, const char *name, const struct oce_place *b, bool prefer_rename,
	       const struct stat *st)
{
	const char *l1, *l2;
	int d1 = oce_open_parent(&rs->root, name, &l1), d2, ret = 0, err = 0;

	if (d1 < 0)
		return errno = -d1, 0;
	d2 = oce_open_parent(b->root, b->rel, &l2);
	if (d2 < 0) {
		close(d1);
		return errno = -d2, 0;
	}
	if (!prefer_rename) {
		if (linkat(d1, l1, d2, l2, 0) == 0)
			ret = 2;
		else if (!S_ISREG(st->st_mode) || errno == EEXIST || errno == EISDIR)
			err = errno;
	}
	if (!ret && !err) {
		if (renameat(d1, l1, d2, l2) == 0) {
			oce_fs_changed(); /* name may have been a directory */
			if (st->st_nlink > 1 && !S_ISDIR(st->st_mode))
				unlinkat(d1, l1, 0);
			ret = 1;
		} else {
			err = errno;
		}
	}
	close(d1);
	close(d2);
	errno = err;
	return ret;
}

int
oce_make_backup(struct oce_recvside *rs, const char *name, bool prefer_rename)
{
	struct oce_session *s = rs->s;
	struct oce_place b;
	char shown[PATH_MAX + 64];
	struct stat st, bst;
	int ret;

	if (oce_lstat_beneath(&rs->root, name, &st))
		return 3;
	if (backup_root(rs) || !backup_place(rs, name, &b, shown, sizeof(shown)))
		return 0;
	if (s->o->backup_dir && backup_dirs(rs, b.rel))
		return 0;
	if (S_ISLNK(st.st_mode) && s->o->links && s->o->safe_links) {
		char target[PATH_MAX];
		ssize_t n = oce_readlink_beneath(&rs->root, name, target, sizeof(target));

		if (n <= 0 || oce_unsafe_symlink(target, name)) {
			if (s->o->info[OCE_INFO_SYMSAFE] >= 1)
				oce_info(s, "not backing up unsafe symlink \"%s\" -> \"%s\"", name,
					 n > 0 ? target : "");
			return 2;
		}
	}
	ret = link_or_rename(rs, name, &b, prefer_rename, &st);
	if (!ret && (errno == EEXIST || errno == EISDIR) && !oce_lstat_beneath(b.root, b.rel, &bst)) {
		if (oce_unlink_beneath(b.root, b.rel, true))
			return 0;
		ret = link_or_rename(rs, name, &b, prefer_rename, &st);
	}
	if (!ret) {
		int r;

		if (!S_ISREG(st.st_mode)) {
			if (s->o->info[OCE_INFO_NONREG] >= 1)
				oce_info(s, "make_bak: skipping non-regular file %s", name);
			return 3;
		}
		r = copy_file(&rs->root, name, b.root, b.rel, st.st_mode);
		if (r) {
			oce_error(s, "keep_backup failed: \"%s\" -> \"%s\": %s (%d)", name, b.rel, strerror(-r),
				  -r);
			return 0;
		}
		struct oce_meta m = {.mode = st.st_mode, .uid = st.st_uid, .gid = st.st_gid,
				     .mtime = st.st_mtim, .set_perms = true, .set_owner = s->am_root,
				     .set_group = true, .set_mtime = true};

		m.atime.tv_nsec = UTIME_OMIT;
		oce_set_meta(b.root, b.rel, NULL, &m);
		ret = 2;
	}
	if (s->o->info[OCE_INFO_BACKUP] >= 1)
		oce_info(s, "backed up %s to %s", name, shown);
	return ret;
}

int
oce_backup_copy(struct oce_recvside *rs, const char *name)
{
	struct oce_session *s = rs->s;
	struct oce_place b;
	struct oce_meta m = {0};
	char shown[PATH_MAX + 64];
	struct stat st;
	int r;

	if (oce_lstat_beneath(&rs->root, name, &st))
		return -1;
	if (backup_root(rs) || !backup_place(rs, name, &b, shown, sizeof(shown)))
		return 0;
	if (s->o->backup_dir && backup_dirs(rs, b.rel))
		return 0;
	/* A link would share the data about to be overwritten: always a copy. */
	r = oce_unlink_beneath(b.root, b.rel, false);
	if (r && r != -ENOENT) {
		oce_error(s, "unlink \"%s\": %s (%d)", shown, strerror(-r), -r);
		return 0;
	}
	r = copy_file(&rs->root, name, b.root, b.rel, 0600);
	if (r) {
		oce_error(s, "open \"%s\": %s (%d)", shown, strerror(-r), -r);
		return 0;
	}
	/* Upstream set_file_attrs() with the original's entry: the mode always,
	 * the rest as the options keep them. */
	m.mode = st.st_mode;
	m.uid = st.st_uid;
	m.gid = st.st_gid;
	m.mtime = st.st_mtim;
	m.atime.tv_nsec = UTIME_OMIT;
	m.set_perms = true;
	m.set_owner = s->o->owner && s->am_root;
	m.set_group = s->o->group;
	m.set_mtime = s->o->times;
	oce_set_meta(b.root, b.rel, NULL, &m);
	if (s->o->info[OCE_INFO_BACKUP] >= 1)
		oce_info(s, "backed up %s to %s", name, shown);
	return 1;
}

int
oce_open_backup(struct oce_recvside *rs, const char *name)
{
	struct oce_place b;
	char shown[PATH_MAX + 64];

	if (backup_root(rs) || !backup_place(rs, name, &b, shown, sizeof(shown)))
		return -ENOENT;
	return oce_open_beneath(b.root, b.rel, O_RDONLY, 0);
}

/* --- putting the new file in place ------------------------------------------ */

/* Copy a temp file that cannot be renamed (another filesystem) next to rel, then rename. */
static int
commit_by_copy(struct oce_recvside *rs, int tmp_dirfd, const char *tmpname, const struct oce_place *dest,
	       const struct oce_meta *m)
{
	struct oce_root from = {.fd = tmp_dirfd, .use_openat2 = rs->root.use_openat2, .sys = rs->root.sys};
	char name2[NAME_MAX + 2];
	int dfd, fd, in, r;

	r = oce_tmpfile(dest->root, dest->rel, -1, &dfd, &fd, name2);
	if (r)
		return r;
	in = oce_open_beneath(&from, tmpname, O_RDONLY, 0);
	r = in < 0 ? in : 0;
	if (!r) {
		r = oce_copy_fd(in, fd);
		close(in);
	}
	close(fd);
	if (!r)
		oce_set_meta_at(rs->root.sys, dfd, name2, NULL, m);
	if (!r)
		r = oce_commit(dest->root, dfd, name2, dest->rel);
	if (r)
		unlinkat(dfd, name2, 0);
	else
		unlinkat(tmp_dirfd, tmpname, 0);
	close(dfd);
	return r;
}

void
oce_meta_failed(struct oce_session *s, enum oce_meta_step step, int err, const char *full)
{
	switch (step) {
	case OCE_META_STAT:
		oce_rsyserr_xfer(s, err, "stat %s failed", full);
		break;
	case OCE_META_CHOWN:
	case OCE_META_CHGRP:
		oce_rsyserr_xfer(s, err, "%s %s failed", step == OCE_META_CHOWN ? "chown" : "chgrp", full);
		break;
	case OCE_META_TIMES:
		oce_rsyserr_xfer(s, err, "failed to set times on %s", full);
		break;
	case OCE_META_PERMS:
	case OCE_META_NONE:
		oce_rsyserr_xfer(s, err, "failed to set permissions on %s", full);
		break;
	}
	__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
}

/* The temp file's name as upstream's fnametmp holds it: in --temp-dir, else beside the file. */
static const char *
tmp_shown(struct oce_recvside *rs, const struct oce_file *f, const char *tmpname, char *full, size_t cap)
{
	char tmp[PATH_MAX];
	const char *name = rs->solo ? "" : f->name, *slash = strrchr(name, '/');

	if (rs->s->o->temp_dir)
		snprintf(tmp, sizeof(tmp), "%s/%s", rs->s->o->temp_dir, tmpname);
	else
		snprintf(tmp, sizeof(tmp), "%.*s%s", slash ? (int)(slash - name + 1) : 0, name, tmpname);
	return oce_dest_fname(rs, tmp, full, cap);
}

int
oce_finish_transfer(struct oce_recvside *rs, const struct oce_file *f, const struct oce_place *dest,
		    int tmp_dirfd, const char *tmpname, const struct oce_place *partial, bool ok_to_set_time,
		    bool overwriting_basis)
{
	return oce_finish_transfer_ex(rs, f, dest, tmp_dirfd, tmpname, partial, ok_to_set_time,
				      overwriting_basis, NULL);
}

/* The attributes a just-written temp file gets (oce_finish_transfer_ex()). */
static void
finish_meta(struct oce_session *s, const struct oce_file *f, const struct stat *basis, bool ok_to_set_time,
	    struct oce_meta *m)
{
	struct oce_meta fresh;

	/* Without -p an existing basis keeps its permissions (upstream recv_files()' dest_mode()). */
	oce_meta_for(s, f, basis, m);
	/* The data was just written, so its mtime is new whatever the basis's
	 * was: no same-time shortcut (upstream stats the written file). */
	oce_meta_for(s, f, NULL, &fresh);
	m->set_mtime = fresh.set_mtime;
	m->set_perms = true;
	if (!ok_to_set_time)
		m->set_mtime = false;
}

static int commit_tmp(struct oce_recvside *rs, const struct oce_file *f, const struct oce_place *dest,
		      int tmp_dirfd, const char *tmpname, const struct oce_place *partial,
		      const struct oce_meta *m, int meta_err, enum oce_meta_step step);

int
oce_finish_transfer_ex(struct oce_recvside *rs, const struct oce_file *f, const struct oce_place *dest,
		       int tmp_dirfd, const char *tmpname, const struct oce_place *partial,
		       bool ok_to_set_time, bool overwriting_basis, const struct stat *basis)
{
	struct oce_session *s = rs->s;
	struct oce_meta m;
	int r;

	finish_meta(s, f, basis, ok_to_set_time, &m);
	if (s->o->inplace) {
		enum oce_meta_step step;
		char full[PATH_MAX + 2];

		r = oce_set_meta_ex(dest->root, dest->rel, NULL, &m, &step);
		if (r)
			oce_meta_failed(s, step, -r, oce_dest_fname(rs, dest->rel, full, sizeof(full)));
		return 1;
	}
	if (s->o->backup && overwriting_basis && dest->root == &rs->root &&
	    !oce_make_backup(rs, dest->rel, false)) {
		s->exit_code = RERR_FILEIO;
		rs->backup_failed = true;
		return 0;
	}
	{
		enum oce_meta_step step;

		r = oce_set_meta_at_ex(rs->root.sys, tmp_dirfd, tmpname, NULL, &m, &step);
		return commit_tmp(rs, f, dest, tmp_dirfd, tmpname, partial, &m, r, step);
	}
}

int
oce_finish_meta_fd(struct oce_recvside *rs, const struct oce_file *f, int fd, const struct stat *basis,
		   enum oce_meta_step *step)
{
	struct oce_meta m;

	finish_meta(rs->s, f, basis, true, &m);
	return oce_set_meta_fd(rs->root.sys, fd, NULL, &m, step);
}

int
oce_finish_commit(struct oce_recvside *rs, const struct oce_file *f, const struct oce_place *dest,
		  int tmp_dirfd, const char *tmpname, const struct stat *basis, int meta_err,
		  enum oce_meta_step step)
{
	struct oce_meta m;

	finish_meta(rs->s, f, basis, true, &m);
	return commit_tmp(rs, f, dest, tmp_dirfd, tmpname, NULL, &m, meta_err, step);
}

/*
 * The end of oce_finish_transfer_ex(): report a failed attribute (meta_err,
 * at step) and put the temp file in place all the same, as upstream does.
 */
static int
commit_tmp(struct oce_recvside *rs, const struct oce_file *f, const struct oce_place *dest, int tmp_dirfd,
	   const char *tmpname, const struct oce_place *partial, const struct oce_meta *m, int meta_err,
	   enum oce_meta_step step)
{
	struct oce_session *s = rs->s;
	int r;

	if (meta_err) {
		char full[PATH_MAX + 2];

		oce_meta_failed(s, step, -meta_err, tmp_shown(rs, f, tmpname, full, sizeof(full)));
	}
	r = oce_commit(dest->root, tmp_dirfd, tmpname, dest->rel);
	if (r == -EXDEV)
		r = commit_by_copy(rs, tmp_dirfd, tmpname, dest, m);
	if (r) {
		char full[PATH_MAX + 2];

		oce_rsyserr_xfer(s, -r, "rename %s -> \"%s\"", tmp_shown(rs, f, tmpname, full, sizeof(full)),
			    dest->rel);
		__atomic_fetch_or(&s->io_error, OCE_IOERR_GENERAL, __ATOMIC_RELAXED);
		if (!partial || oce_commit(partial->root, tmp_dirfd, tmpname, partial->rel))
			unlinkat(tmp_dirfd, tmpname, 0);
		return 0;
	}
	return 1;
}

/* --- a transfer cut short ------------------------------------------------------ */

/*
 * The file being received when a signal stops the process. Two records
 * and a published pointer: the receiver fills the one not published and
 * then publishes it, so the handler, which may run on any thread, always
 * sees a whole record or none, and a temp file is covered from just
 * before it is created (oce_inflight_naming(), fd -1) until it has been
 * renamed or removed. Once the handler has taken the pointer (DYING), a
 * receiver that would publish again waits for the exit instead.
 */
struct inflight_rec {
	int tmp_dirfd, fd; /* fd -1: nothing to fix up before a rename */
	char tmpname[NAME_MAX + 2];
	int keep_dirfd; /* -1: remove the temp file */
	char keep_leaf[NAME_MAX + 1];
	mode_t mode;
	bool zero_mtime;
};

static struct inflight_rec inflight_recs[2];
static _Atomic(struct inflight_rec *) inflight_cur;
/*
 * Whether the record is kept: only where oce_catch_signals() put the
 * handler that reads it. A daemon has no such handler (its signals go to
 * its loop), and its sessions, threads of one process, would share the
 * one record.
 */
static atomic_bool inflight_on;
#define INFLIGHT_DYING (&inflight_recs[0] + 2) /* never a record: a sentinel */

static void
inflight_publish(struct inflight_rec *next)
{
	struct inflight_rec *old = atomic_load(&inflight_cur);

	while (old == INFLIGHT_DYING || !atomic_compare_exchange_weak(&inflight_cur, &old, next))
		if (old == INFLIGHT_DYING)
			pause(); /* the handler is ending the process */
}

static struct inflight_rec *
inflight_free_rec(void)
{
	struct inflight_rec *cur = atomic_load(&inflight_cur);

	while (cur == INFLIGHT_DYING) {
		pause(); /* the handler may be reading either record */
		cur = atomic_load(&inflight_cur);
	}
	return cur == &inflight_recs[0] ? &inflight_recs[1] : &inflight_recs[0];
}

void
oce_inflight_set(int tmp_dirfd, int fd, const char *tmpname, int keep_dirfd, const char *keep_leaf,
		 mode_t mode, bool zero_mtime)
{
	struct inflight_rec *r;

	if (!atomic_load_explicit(&inflight_on, memory_order_relaxed))
		return;
	r = inflight_free_rec();
	r->tmp_dirfd = tmp_dirfd;
	r->fd = fd;
	snprintf(r->tmpname, sizeof(r->tmpname), "%s", tmpname);
	r->keep_dirfd = keep_dirfd;
	snprintf(r->keep_leaf, sizeof(r->keep_leaf), "%s", keep_leaf ? keep_leaf : "");
	r->mode = mode;
	r->zero_mtime = zero_mtime;
	inflight_publish(r);
}

/*
 * Worker slots: FREE, OWNED (a thread's, no file), CREATING (its thread is
 * naming and creating a temp file), NAMED (a temp file by that name
 * exists), DYING (the handler has it). The handler waits out CREATING, so
 * a file made while it runs is not missed; a worker that finds its slot
 * DYING removes what it made and stops.
 */
enum { SLOT_FREE, SLOT_OWNED, SLOT_CREATING, SLOT_NAMED, SLOT_DYING, SLOT_GONE };
#define INFLIGHT_SLOTS 64

static struct {
	_Atomic int state;
	int dirfd;
	char name[NAME_MAX + 2];
} inflight_slots[INFLIGHT_SLOTS];
static _Thread_local int my_slot = -1;
/*
 * This thread's slot covers only the creation of its temp files: the one
 * record (receiver, single-thread copy) names them once they exist, and
 * says what --partial keeps, which a slot cannot.
 */
static _Thread_local bool slot_for_record;

bool
oce_inflight_worker(void)
{
	if (my_slot >= 0)
		return true;
	for (int i = 0; i < INFLIGHT_SLOTS; i++) {
		int want = SLOT_FREE;

		if (atomic_compare_exchange_strong(&inflight_slots[i].state, &want, SLOT_OWNED)) {
			my_slot = i;
			return true;
		}
		/*
		 * The handler marks every slot, free ones too, so that none is
		 * taken behind its back (kill.bats left a 0-byte temp file of a
		 * worker that took a slot the handler had passed).
		 */
		if (want == SLOT_DYING)
			for (;;)
				pause();
	}
	return false;
}

/* Set our slot's state; a handler holding it ends the process. */
static void
slot_move(int to)
{
	_Atomic int *st = &inflight_slots[my_slot].state;
	int cur = atomic_load(st);

	for (;;) {
		if (cur == SLOT_DYING)
			for (;;)
				pause(); /* the handler is ending the process */
		if (atomic_compare_exchange_weak(st, &cur, to))
			return;
	}
}

void
oce_inflight_worker_clear(void)
{
	if (my_slot >= 0)
		slot_move(SLOT_OWNED);
}

/* After the attempt to create the temp file named in our slot. */
static void
oce_inflight_made(bool made)
{
	int cur = SLOT_CREATING;

	if (my_slot < 0)
		return;
	/* a record user's file is named by the record, published before it was made */
	if (atomic_compare_exchange_strong(&inflight_slots[my_slot].state, &cur,
					   made && !slot_for_record ? SLOT_NAMED : SLOT_OWNED))
		return;
	/* DYING: the handler did not see this file; it is ours to remove, then say so */
	if (made)
		unlinkat(inflight_slots[my_slot].dirfd, inflight_slots[my_slot].name, 0);
	atomic_store(&inflight_slots[my_slot].state, SLOT_GONE);
	for (;;)
		pause();
}

/* A temp file is about to be created under this name: a signal from now on removes it. */
/*
 * A thread that names its files in the record takes a slot as well, for the
 * creation only: the handler may run on another thread while this one is
 * in openat(), and only a slot in CREATING makes it wait for the outcome.
 * Without a slot (all taken) the record alone covers the file, minus that
 * window.
 */
static void
oce_inflight_naming(int tmp_dirfd, const char *tmpname)
{
	if (my_slot < 0 && oce_inflight_worker())
		slot_for_record = true;
	if (my_slot < 0 || slot_for_record)
		oce_inflight_set(tmp_dirfd, -1, tmpname, -1, NULL, 0, false);
	if (my_slot >= 0) {
		/* the name is written while the slot says OWNED, which the handler does not read */
		inflight_slots[my_slot].dirfd = tmp_dirfd;
		snprintf(inflight_slots[my_slot].name, sizeof(inflight_slots[my_slot].name), "%s",
			 tmpname);
		slot_move(SLOT_CREATING);
	}
}

void
oce_inflight_forget_fd(void)
{
	struct inflight_rec *cur = atomic_load(&inflight_cur), *r;

	if (!atomic_load_explicit(&inflight_on, memory_order_relaxed) || !cur ||
	    cur == INFLIGHT_DYING || cur->fd < 0)
		return;
	r = inflight_free_rec();
	*r = *cur;
	r->fd = -1;
	inflight_publish(r);
}

void
oce_inflight_clear(void)
{
	if (atomic_load_explicit(&inflight_on, memory_order_relaxed))
		inflight_publish(NULL);
}

/* The table of oce_pending entries (recvside.h): set once, never freed. */
static _Atomic(struct oce_pending *) pending_tab;
static _Atomic size_t pending_n;

void
oce_pending_table(struct oce_pending *tab, size_t n)
{
	atomic_store(&pending_n, n);
	atomic_store(&pending_tab, tab);
}

void
oce_pending_put(struct oce_pending *p, int dirfd, const char *name)
{
	int cur = SLOT_FREE;

	/* the fields are written while the entry says FREE, which the handler does not read */
	p->dirfd = dirfd;
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (!atomic_compare_exchange_strong(&p->state, &cur, SLOT_NAMED))
		for (;;)
			pause(); /* DYING: the handler is ending the process */
}

void
oce_pending_take(struct oce_pending *p)
{
	int cur = SLOT_NAMED;

	if (!atomic_compare_exchange_strong(&p->state, &cur, SLOT_FREE) && cur == SLOT_DYING)
		for (;;)
			pause(); /* the handler has removed the file and ends the process */
}

/* Async-signal-safe: keep (rename) or remove the temp file of the file in flight. */
static void
inflight_cleanup(void)
{
	struct inflight_rec *r = atomic_exchange(&inflight_cur, INFLIGHT_DYING);

	/* the workers' temp files first: each slot that names one */
	for (int i = 0; i < INFLIGHT_SLOTS; i++) {
		int cur = atomic_load(&inflight_slots[i].state);

		/*
		 * A file being made: wait until it is there or not. Its thread
		 * may be off the CPU for a while on a loaded machine (kill.bats
		 * saw a 0-byte temp file left after 1000 yields), so the wait is
		 * in time, up to 2 s, not in yields.
		 */
		for (int ms = 0; cur == SLOT_CREATING && i != my_slot && ms < 2000; ms++) {
			struct timespec ts = {0, 1000000};

			nanosleep(&ts, NULL);
			cur = atomic_load(&inflight_slots[i].state);
		}
		/* FREE too: a thread must not take this slot once it has been passed */
		while (cur != SLOT_DYING &&
		       !atomic_compare_exchange_weak(&inflight_slots[i].state, &cur, SLOT_DYING))
			;
		if (cur == SLOT_NAMED)
			unlinkat(inflight_slots[i].dirfd, inflight_slots[i].name, 0);
		/*
		 * Still CREATING: its openat() may not have returned. When the
		 * slot is this very thread's, the handler interrupted it there
		 * and the name (O_EXCL, random) is removed now; another thread
		 * removes what it made and says GONE, which is waited for
		 * (bounded) before the process ends under it.
		 */
		if (cur == SLOT_CREATING) {
			unlinkat(inflight_slots[i].dirfd, inflight_slots[i].name, 0);
			for (int ms = 0; i != my_slot && ms < 2000 &&
					 atomic_load(&inflight_slots[i].state) != SLOT_GONE;
			     ms++) {
				struct timespec ts = {0, 1000000};

				nanosleep(&ts, NULL);
			}
			unlinkat(inflight_slots[i].dirfd, inflight_slots[i].name, 0);
		}
	}
	/* then the whole temp files waiting for their turn */
	{
		struct oce_pending *tab = atomic_load(&pending_tab);
		size_t n = tab ? atomic_load(&pending_n) : 0;

		for (size_t i = 0; i < n; i++) {
			int cur = SLOT_NAMED;

			if (atomic_compare_exchange_strong(&tab[i].state, &cur, SLOT_DYING))
				unlinkat(tab[i].dirfd, tab[i].name, 0);
			else if (cur == SLOT_FREE)
				atomic_compare_exchange_strong(&tab[i].state, &cur, SLOT_DYING);
		}
	}
	if (!r || r == INFLIGHT_DYING)
		return;
	if (r->keep_dirfd >= 0 && r->fd >= 0) {
		struct timespec ts[2] = {{0, UTIME_OMIT}, {0, 0}};

		fchmod(r->fd, r->mode & 07777);
		if (r->zero_mtime)
			futimens(r->fd, ts);
		if (renameat(r->tmp_dirfd, r->tmpname, r->keep_dirfd, r->keep_leaf) == 0)
			return;
	}
	unlinkat(r->tmp_dirfd, r->tmpname, 0);
}

static void
on_signal(int sig)
{
	static const char msg[] = " error: received SIGINT, SIGTERM, or SIGHUP (code 20)\n";
	static atomic_flag entered = ATOMIC_FLAG_INIT;

	(void)sig;
	/* One signal may reach several threads (a process-group kill): one ends it. */
	if (atomic_flag_test_and_set(&entered))
		for (;;)
			pause();
	inflight_cleanup();
	if (write(STDERR_FILENO, OCE_PROG, sizeof(OCE_PROG) - 1) > 0)
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(RERR_SIGNAL);
}

/* SIGINT, SIGTERM and SIGHUP to handler; the temp-file record kept or not. */
static void
signals_to(void (*handler)(int), bool keep_record)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	oce_fs_tmp_hook = keep_record ? oce_inflight_naming : NULL;
	oce_fs_tmp_done_hook = keep_record ? oce_inflight_made : NULL;
	atomic_store(&inflight_on, keep_record);
}

void
oce_catch_signals(void)
{
	signals_to(on_signal, true);
}

void
oce_uncatch_signals(void)
{
	signals_to(SIG_DFL, false);
}
