/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * oc-rsyncd: the daemon's I/O side (srv_*.c), standing on the sans-I/O
 * config and access core of this folder (conf.h, access.h, auth.h,
 * refuse.h) and on ocproto's daemon line codecs.
 *
 * srv_loop.c: one event-loop thread accepts connections and runs the text
 * handshake of every client without blocking (greeting, motd, module
 * listing, module selection, hosts allow/deny, max connections, the auth
 * challenge and the server arguments), under an absolute deadline, behind
 * a small poll-backend table (io_uring or epoll, srv_pollb.h). srv_session.c: a session that
 * is ready runs in a thread of the transfer pool (an ocpool fed over its
 * bounded MPMC queue), or, when its module changes ids or root, in a forked
 * child; it enters the module (chroot, chdir, uid/gid), checks the
 * arguments against "refuse options" and runs the engine's server side on
 * the socket.
 *
 * Unlike the rest of apps/daemon/, these files do I/O and depend on the
 * engine; the fuzz targets leave them out (Makefile: srv_%).
 *
 * srv_lookup.c: a helper process, forked at start, does what may block
 * (name look-ups, groups, the secrets file) for the loop.
 *
 * Concurrency: the loop is one thread and owns every connection, slot and
 * config snapshot; a session in a pool thread reads its struct oce_dsess
 * only, has its own working directory (unshare(CLONE_FS)) and changes no
 * process-wide state, and hands its end back to the loop over an MPSC
 * channel; a session that changes ids or root is a process of its own; the
 * lookup helper has threads of its own and never forks.
 */
#ifndef OCE_DAEMON_SRV_H
#define OCE_DAEMON_SRV_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "apps/daemon/conf.h"
#include "apps/engine/opts.h"

/* Run the daemon as the command line o asks (o->daemon set); an exit code. */
int oce_daemon_main(const struct oce_opts *o);

/* A session the loop hands to a child. */
struct oce_dsess {
	const struct oce_dconf *cfg;
	const struct oce_dmodule *mod;
	int fd;			/* the client socket (over a remote shell: what we read) */
	int ofd;		/* what we write: fd, or stdout over a remote shell */
	int protocol;		/* agreed in the greeting */
	bool read_only;		/* the module's, or :ro / :rw of the auth rule */
	const char *addr;	/* the client's address */
	const char *host;	/* its name, or "UNDETERMINED" */
	const char *user;	/* who authenticated ("" anonymous) */
	char **argv;		/* the server arguments as the client sent them */
	size_t argc;
	FILE *log;		/* the daemon's "log file", or NULL */
	/*
	 * A thread of the daemon rather than a process of its own: it
	 * changes its working directory only (its fs state unshared) and
	 * no process-wide state (ids, root, environment, signals).
	 */
	bool in_thread;
	long log_pid;		/* what its log lines show as [pid] (0: getpid()) */
	unsigned long hook_nofile; /* the soft open-files limit its exec hooks get (0: ours) */
	uint64_t *bytes_in, *bytes_out; /* the session's byte counts at its end (NULL: not kept) */
};

/*
 * Whether a session of module m must run in a process of its own: the
 * daemon's chroot or ids, or the module's chroot, uid or groups, change
 * what a thread cannot change for itself alone (upstream's fork rule).
 */
bool oce_dsess_needs_process(const struct oce_dconf *cfg, const struct oce_dmodule *m);

/*
 * In the forked child, or in a pool thread (in_thread): enter the module
 * and run the transfer; returns the exit code. Messages before the protocol starts go to the client as
 * "@ERROR: ..." lines, as upstream's rsync_module().
 */
int oce_dsess_run(const struct oce_dsess *d);

/*
 * open(2) for a path named in rsyncd.conf (lock file, secrets file), as
 * upstream's open_no_attacker_symlinks(): a symlink anywhere on the path is
 * followed only when root or the daemon's effective user owns it; any other
 * fails with ELOOP. O_NOFOLLOW and O_CLOEXEC are added. An fd, or -1 and errno.
 */
int oce_open_trusted(const char *path, int flags, mode_t mode);

/*
 * Before "@RSYNCD: OK": the failures of entering the module that can be
 * seen from the loop (unknown uid or gid, no path, a path that is not a
 * directory), as the @ERROR line upstream's rsync_module() sends for
 * them, or NULL; "" when upstream just closes (an "include from" or
 * "exclude from" file it cannot open). Name lookups here are local (NSS)
 * and block.
 */
/*
 * Set the RSYNC_* variables upstream's rsync_module() gives the exec hooks
 * (module name and path, the client's address and name, the user).
 */
void oce_dsess_hook_env(const struct oce_dmodule *m, const char *addr, const char *host,
			const char *user);

const char *oce_dsess_precheck(const struct oce_dconf *cfg, const struct oce_dmodule *m, char *buf,
			       size_t cap);

/*
 * Turn a client's path argument into one below the module root (upstream
 * glob_expand_module() + sanitize_path()): the module name is stripped,
 * leading slashes and ".." components go, an empty result is ".". Returns
 * a malloc'd string or NULL.
 */
char *oce_dsess_path(const char *module, const char *arg);

/* waitpid() for pid to its end, through EINTR; the wait status, or -1. */
int oce_dsess_wait(pid_t pid);

#endif /* OCE_DAEMON_SRV_H */
