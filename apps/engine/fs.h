/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The engine's confined filesystem layer: every path that comes from the
 * peer is opened below a root directory (the destination or a module root)
 * and never outside it, with openat2(RESOLVE_BENEATH) where the kernel has
 * it and a per-component O_NOFOLLOW walk where it does not. Files are
 * written to a temporary name and renamed into place; attributes are
 * applied in upstream rsync's order; source files are opened so that a
 * symlink or a swapped file cannot be sent in place of the listed one.
 *
 * All system calls on files go through a struct oce_fs_sys, so tests can
 * inject ENOSPC, EIO, short writes and EINTR (SQLite's aSyscall pattern).
 *
 * Errors: every function returns 0 (or a descriptor) on success and a
 * negative errno on failure; none prints or exits.
 *
 * Concurrency: a struct oce_root is read-only after oce_root_open() and may
 * be shared by any number of threads (its descriptor is only used as the
 * dirfd of *at calls). Every descriptor a function returns is owned by the
 * caller. oce_sparse is single-owner. Each thread keeps the parent
 * directory of its last lookup open for the next one (see fs.c); the
 * removal functions invalidate it for all threads.
 */
#ifndef OCE_FS_H
#define OCE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/*
 * System calls the engine uses on files, routed through a table so tests can
 * inject faults (ENOSPC/EIO on write, short writes, EINTR). Same semantics as
 * the libc calls (-1 and errno). ctx is passed back to every call.
 * fchownat, fchmodat, utimensat and fstatat with path NULL work on dirfd
 * itself, an open file (fchown, fchmod, futimens, fstat; flags ignored), so
 * a temp file's attributes set through its descriptor go through the
 * table too.
 */
struct oce_fs_sys {
	int (*openat)(void *ctx, int dirfd, const char *path, int flags, mode_t mode);
	ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
	ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, off_t off);
	ssize_t (*read)(void *ctx, int fd, void *buf, size_t len);
	ssize_t (*pread)(void *ctx, int fd, void *buf, size_t len, off_t off);
	int (*close)(void *ctx, int fd);
	int (*renameat)(void *ctx, int olddirfd, const char *old, int newdirfd, const char *new);
	int (*unlinkat)(void *ctx, int dirfd, const char *path, int flags);
	int (*mkdirat)(void *ctx, int dirfd, const char *path, mode_t mode);
	int (*symlinkat)(void *ctx, const char *target, int dirfd, const char *path);
	int (*linkat)(void *ctx, int olddirfd, const char *old, int newdirfd, const char *new,
		      int flags);
	int (*mknodat)(void *ctx, int dirfd, const char *path, mode_t mode, dev_t dev);
	int (*fchownat)(void *ctx, int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
	int (*fchmodat)(void *ctx, int dirfd, const char *path, mode_t mode, int flags);
	int (*utimensat)(void *ctx, int dirfd, const char *path, const struct timespec ts[2],
			 int flags);
	int (*ftruncate)(void *ctx, int fd, off_t len);
	int (*fsync)(void *ctx, int fd);
	int (*fstatat)(void *ctx, int dirfd, const char *path, struct stat *st, int flags);
	ssize_t (*readlinkat)(void *ctx, int dirfd, const char *path, char *buf, size_t len);
	void *ctx;
};

/* The real system calls; ctx is unused. */
extern const struct oce_fs_sys oce_fs_sys_default;

/*
 * The table the receiving side uses: oce_fs_sys_default, or, when the
 * test-only variable OC_RSYNC_FAULT names faults to inject, a table that
 * fails the chosen calls (grammar in fsfault.c; tests/interop/fault.bats).
 * Read once, on the first call; a spec that does not parse exits 1.
 */
const struct oce_fs_sys *oce_fs_sys_active(void);

/*
 * A directory tree we may write below and never outside. openat2 is called
 * directly, not through sys (the table has no slot for it); set use_openat2
 * to false to route every lookup through sys->openat.
 */
struct oce_root {
	int fd;		  /* O_PATH|O_DIRECTORY descriptor of the root, owned */
	bool use_openat2; /* kernel has openat2 with RESOLVE_BENEATH */
	const struct oce_fs_sys *sys;
};

/*
 * Open the root at path (followed as given: the user chose it). With create,
 * a missing root is made with mkdir(path, 0777) -- the last component only,
 * as upstream main.c get_local_name() creates the destination directory.
 * sys NULL means oce_fs_sys_default. Probes openat2 once. Returns 0 or
 * -errno; on failure r->fd is -1.
 */
int oce_root_open(struct oce_root *r, const char *path, bool create, const struct oce_fs_sys *sys);

/*
 * A daemon session that is not chrooted at its module's root (use chroot =
 * no, or a "/./" inner module) keeps the module root as its boundary, as
 * rsync 3.5.0 does (secure_relpath_active()): the roots a session opens from
 * its path arguments -- a sender's source directories and files, a
 * receiver's destination -- resolve beneath it. confine_fd is that module
 * root (O_PATH, the session's: struct oce_daemon_mod), or -1 outside such a
 * session, where these are plain openat(AT_FDCWD) / mkdir calls.
 *
 * Open path (relative to the working directory, the module root in a
 * session) as openat(AT_FDCWD, path, flags) would, but beneath confine_fd:
 * symlinks inside it are followed, one that leads out of it (absolute, or
 * climbing above it) gives -ELOOP, the errno rsync 3.5.0's confined walk
 * reports. Returns an owned fd or -errno.
 */
int oce_open_confined(int confine_fd, const char *path, int flags);
/* mkdir(path, 0777) with its parent opened as oce_open_confined() does. 0 or -errno. */
int oce_mkdir_confined(int confine_fd, const char *path);
/* oce_root_open() with path (and its mkdir) beneath confine_fd, when >= 0. */
int oce_root_open_confined(struct oce_root *r, int confine_fd, const char *path, bool create,
			   const struct oce_fs_sys *sys);
/* Close the root's descriptor (idempotent). */
void oce_root_close(struct oce_root *r);

/*
 * Open rel (relative, from the peer) below the root, following no symlink in
 * any component: openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_MAGICLINKS, or the O_NOFOLLOW walk when use_openat2 is false.
 * O_NOFOLLOW and O_CLOEXEC are always added, so a symlink leaf gives -ELOOP unless
 * flags has O_PATH (then the link itself is opened). rel "" or "." opens the
 * root itself. Absolute paths and ".." components give -EXDEV; a symlink or
 * non-directory in an intermediate component gives -ELOOP or -ENOTDIR.
 * Returns an owned fd or -errno.
 */
int oce_open_beneath(const struct oce_root *r, const char *rel, int flags, mode_t mode);

/*
 * Open the parent directory of rel below the root (O_PATH|O_DIRECTORY,
 * confined as above; usable as the dirfd of any *at call) and set *leaf to
 * the last component inside rel. rel must name something below the root:
 * "", "." and names ending in '/' give -EINVAL. Returns an owned fd or -errno.
 */
int oce_open_parent(const struct oce_root *r, const char *rel, const char **leaf);

/* lstat rel below the root (confined parent, fstatat AT_SYMLINK_NOFOLLOW on
 * the leaf; "" or "." stats the root). Returns 0 or -errno. */
int oce_lstat_beneath(const struct oce_root *r, const char *rel, struct stat *st);

/*
 * Say that a directory below some root may have been removed, renamed or
 * replaced by a call that did not go through this layer's removal
 * functions (which say it themselves), so parent directories kept open
 * for reuse are looked up again.
 */
void oce_fs_changed(void);

/* Read the symlink rel below the root into buf (len bytes, NUL-terminated)
 * through its confined parent. Returns the target's length, -ENAMETOOLONG
 * when it does not fit, or -errno (-EINVAL when rel is not a symlink). */
ssize_t oce_readlink_beneath(const struct oce_root *r, const char *rel, char *buf, size_t len);

/*
 * Create a temporary file for rel, named as upstream receiver.c
 * get_tmpname() names it: ".<leaf>.XXXXXX" in rel's directory (a leading
 * dot of leaf dropped, one trailing dot trimmed, leaf cut so the name stays
 * within NAME_MAX without splitting a UTF-8 sequence), or "<leaf>.XXXXXX"
 * in tmpdir_fd when it is >= 0, with six random [A-Za-z0-9] characters
 * (mkstemp's alphabet). Opened O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC,
 * mode 0600. On success *fd is the file, *dirfd the directory holding it
 * (a new owned descriptor, also when tmpdir_fd is given) and tmpname
 * (>= 256 bytes) its name. Returns 0 or -errno.
 */
/*
 * Told each temp file's directory and name just before oce_tmpfile()
 * creates it, on threads that asked with oce_fs_track_tmp(true) (the
 * receiver's signal handler record; set by oce_catch_signals()).
 */
extern void (*oce_fs_tmp_hook)(int dirfd, const char *name);
/* ... and right after the attempt to create it (made: it exists now). */
extern void (*oce_fs_tmp_done_hook)(bool made);
void oce_fs_track_tmp(bool on);
int oce_tmpfile(const struct oce_root *r, const char *rel, int tmpdir_fd, int *dirfd, int *fd,
		char *tmpname);
/*
 * The same, but *dirfd may be borrowed rather than owned: the root's own
 * descriptor, or the calling thread's cached parent directory, which stays
 * reserved for it. Give it back with oce_dirfd_release(), on the same
 * thread, never close() (it closes a descriptor that was not borrowed).
 * Saves a dup and a close per file.
 */
int oce_tmpfile_borrow(const struct oce_root *r, const char *rel, int tmpdir_fd, int *dirfd, int *fd,
		       char *tmpname);
void oce_dirfd_release(const struct oce_root *r, int dirfd);

/* Rename tmpname in tmp_dirfd onto rel below the root (renameat: rel then
 * holds the old file or the new one, never a torn one). Returns 0 or -errno. */
int oce_commit(const struct oce_root *r, int tmp_dirfd, const char *tmpname, const char *rel);

/* Write all of buf at the file position, looping on short writes and EINTR.
 * A write returning 0 gives -EIO. Returns 0 or -errno. */
int oce_write_all(const struct oce_fs_sys *sys, int fd, const void *buf, size_t len);

/*
 * Writer for received file data, at tracked offsets with pwrite (the file
 * position is not used). With sparse (-S), runs of zeros are skipped instead
 * of written, as upstream fileio.c write_sparse() does in 1 KiB pieces, so
 * they become holes; this assumes a fresh (empty) file, as a temp file is.
 * oce_sparse_finish() then sets the length with ftruncate. off is the
 * number of bytes accepted so far.
 */
struct oce_sparse {
	const struct oce_fs_sys *sys;
	int fd;
	off_t off;
	bool sparse;
	/*
	 * In place (oce_sparse_inplace()): the file may hold old data below
	 * old_len, so a zero run there is punched out rather than skipped; a
	 * run is held back (hole, hole_len) until data follows or the end, so
	 * runs that meet across calls become one hole, as upstream's.
	 */
	bool inplace;
	off_t old_len, hole, hole_len;
};
void oce_sparse_init(struct oce_sparse *w, const struct oce_fs_sys *sys, int fd, bool sparse);
/* Make w write over an existing file that had old_len bytes (--inplace). */
void oce_sparse_inplace(struct oce_sparse *w, off_t old_len);
/* Append buf. Returns 0 or -errno. */
int oce_sparse_write(struct oce_sparse *w, const void *buf, size_t len);
/*
 * In place, buf is already in the file at w->off (a block at its own
 * offset): move past it; with sparse its zero runs are still punched out,
 * as upstream's skip_matched(). Returns 0 or -errno.
 */
int oce_sparse_skip(struct oce_sparse *w, const void *buf, size_t len);
/* With sparse, ftruncate the file to w->off (a trailing hole has no bytes
 * written yet). Returns 0 or -errno. */
int oce_sparse_finish(struct oce_sparse *w);

/* Attributes to apply, and which of them to apply. */
struct oce_meta {
	mode_t mode; /* full st_mode (type + perms); perms applied as mode & 07777 */
	uid_t uid;
	gid_t gid;
	struct timespec mtime, atime;
	bool set_owner, set_group, set_perms, set_mtime, set_atime;
};

/*
 * Apply m to rel below the root in upstream rsync.c set_file_attrs() order:
 * ownership (lchown semantics), then times, then permissions -- chown may
 * clear setuid/setgid, so the mode is re-read after it and set last.
 * Symlinks: fchownat/utimensat with AT_SYMLINK_NOFOLLOW, never chmod. Only
 * what differs from the current state changes; cur is that state (an lstat
 * result) or NULL to lstat here. Times not set are left as they are
 * (UTIME_OMIT). Returns 0 or -errno of the first failing call.
 */
int oce_set_meta(const struct oce_root *r, const char *rel, const struct stat *cur,
		 const struct oce_meta *m);
/* The same on name in dirfd (for example a just-written temp file before
 * oce_commit()); name is a single component. */
int oce_set_meta_at(const struct oce_fs_sys *sys, int dirfd, const char *name,
		    const struct stat *cur, const struct oce_meta *m);

/* Which step of oce_set_meta*() failed: each has its own upstream message. */
enum oce_meta_step {
	OCE_META_NONE,
	OCE_META_STAT,	/* "stat %s failed" */
	OCE_META_CHOWN, /* "chown %s failed" */
	OCE_META_CHGRP, /* "chgrp %s failed" (only the group was to change) */
	OCE_META_TIMES, /* "failed to set times on %s" */
	OCE_META_PERMS, /* "failed to set permissions on %s" */
};
/* oce_set_meta_at() and oce_set_meta() that also say which step failed (*step, may be NULL). */
int oce_set_meta_at_ex(const struct oce_fs_sys *sys, int dirfd, const char *name,
		       const struct stat *cur, const struct oce_meta *m, enum oce_meta_step *step);
int oce_set_meta_ex(const struct oce_root *r, const char *rel, const struct stat *cur,
		    const struct oce_meta *m, enum oce_meta_step *step);
/* The same on the open regular file fd (a temp file still being finished): no lookup. */
int oce_set_meta_fd(const struct oce_fs_sys *sys, int fd, const struct stat *cur, const struct oce_meta *m,
		    enum oce_meta_step *step);

/*
 * Create below the root: a directory (mode & 07777, the kernel applies the
 * umask), a symlink holding target (never resolved here), a hard link to
 * old_rel (both below the root; a symlink old_rel is linked itself, not its
 * target), or a device, fifo or socket node (mode carries the type).
 * Return 0 or -errno (-EEXIST when rel exists).
 */
int oce_mkdir_beneath(const struct oce_root *r, const char *rel, mode_t mode);
/*
 * Make the missing directories leading to rel's last component (mode 0777,
 * less the umask), as upstream util1.c make_path() with MKP_DROP_NAME.
 * Returns how many were made, or -errno (-ENOTDIR when one is in the way).
 */
int oce_mkpath_beneath(const struct oce_root *r, const char *rel);
int oce_symlink_beneath(const struct oce_root *r, const char *target, const char *rel);
int oce_link_beneath(const struct oce_root *r, const char *old_rel, const char *new_rel);
int oce_mknod_beneath(const struct oce_root *r, const char *rel, mode_t mode, dev_t dev);

/*
 * Remove rel below the root: a file, symlink or other non-directory is
 * unlinked; a directory is removed when empty, or with recursive together
 * with everything in it (never following a symlink, one open directory per
 * level). Returns 0 or -errno (-ENOTEMPTY for a full directory without
 * recursive).
 */
int oce_unlink_beneath(const struct oce_root *r, const char *rel, bool recursive);

/*
 * Open a source file for reading so that a symlink or a swapped file is not
 * sent in place of the listed one (CVE-2024-12747): openat(dirfd, path,
 * O_RDONLY|O_NOFOLLOW|O_NOCTTY|O_NONBLOCK|O_CLOEXEC) -- O_NONBLOCK so a fifo
 * swapped in cannot hang us, cleared after the checks -- then fstat. A
 * symlink gives -ELOOP. -ESTALE means the file is not the one the file-list
 * walk saw: not a regular file, or (when expect is not NULL) its st_dev or
 * st_ino differ from expect's. Returns an owned fd or -errno.
 */
int oce_open_source(const struct oce_fs_sys *sys, int dirfd, const char *path,
		    const struct stat *expect);

/* The same, with the open file's fstat in *st (what the sender sends: st_size bytes). */
int oce_open_source_st(const struct oce_fs_sys *sys, int dirfd, const char *path,
		       const struct stat *expect, struct stat *st);

/* Check a name from the peer: relative, non-empty, no ".." component, no
 * empty component except a trailing one ("a/" is fine, "a//b" is not); "."
 * alone is allowed. Returns 0 or -EINVAL. */
int oce_path_check(const char *rel);

#endif /* OCE_FS_H */
