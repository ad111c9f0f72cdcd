/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One daemon session, in a thread of the transfer pool or in a forked
 * child; see srv.h. Mirrors the part of
 * upstream rsync_module() after authentication: the module's uid and gid,
 * "use chroot", the change into the module, the server arguments (module
 * name stripped from paths, paths kept below the module), "refuse
 * options", the module's "timeout", then the engine's server side.
 *
 * "@RSYNCD: OK" has already gone out (the loop sends it before reading the
 * arguments), so a failure here is told the way upstream tells a failed
 * option parse: the protocol is set up and the lines go as MSG_ERROR.
 */
#include "apps/daemon/srv.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apps/daemon/refuse.h"
#include "apps/engine/errcode.h"
#include "apps/engine/fastexit.h"
#include "apps/engine/fs.h"
#include "apps/engine/session.h"
#include "apps/engine/util.h"

/* How long a finished session waits for its client to hang up. */
#define LINGER_MS 10000

/*
 * upstream sanitize_path(): leading slashes and "." parts go; ".." may
 * climb depth levels at the start, any other ".." is dropped with the
 * part before it. A malloc'd string ("." when nothing is left) or NULL.
 */
static char *
sanitize(const char *p, int depth)
{
	char *t = malloc(strlen(p) + 2), *out, *start;

	if (!t)
		return NULL;
	out = start = t;
	while (*p) {
		if (*p == '/') {
			p++;
			continue;
		}
		if (p[0] == '.' && (p[1] == '/' || !p[1])) {
			p++;
			continue;
		}
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2])) {
			if (depth <= 0 || out != start) {
				p += 2;
				if (out != start)
					for (--out; out > start && out[-1] != '/'; out--)
						;
				continue;
			}
			depth--;
			start = out + 3;
		}
		while (*p && (*out++ = *p++) != '/')
			;
	}
	if (out == t)
		*out++ = '.';
	*out = '\0';
	return t;
}

char *
oce_dsess_path(const char *module, const char *arg)
{
	size_t ml = strlen(module);

	/* upstream strips the module name itself, so "mod/x" is "/x" */
	if (!strncmp(arg, module, ml))
		arg += ml;
	return sanitize(arg, 0);
}

/*
 * A path argument for a session chrooted at the module root, where
 * upstream leaves sanitize_paths off: the module name is stripped and the
 * path only cleaned (".." collapsed), so "mod/x" stays "/x", which the
 * chroot makes the module's x, and messages name it so ("created
 * directory /x"). A relative path (the bare module name) is sanitized as
 * elsewhere.
 */
static char *
chroot_path(const char *module, const char *arg)
{
	size_t ml = strlen(module);
	char *t, *a;

	if (!strncmp(arg, module, ml))
		arg += ml;
	t = sanitize(arg, 0);
	if (!t || *arg != '/')
		return t;
	if (asprintf(&a, "/%s", strcmp(t, ".") ? t : "") < 0)
		a = NULL;
	free(t);
	return a;
}

/* How many directory levels a sanitized path goes down. */
static int
path_depth(const char *p)
{
	int n = 0;

	while (*p == '/')
		p++;
	if (!*p || !strcmp(p, "."))
		return 0;
	for (; *p; p++)
		if (*p == '/' && p[1])
			n++;
	return n + 1;
}

/*
 * Sanitize an option's path in place; an absolute one is taken from the
 * module's root (root: that directory as this process sees it), as
 * upstream's sanitize_path() with a NULL rootdir does.
 */
static int
resanitize(char **field, int depth, const char *root)
{
	char *p;

	if (!*field)
		return 0;
	p = sanitize(*field, **field == '/' ? 0 : depth);
	if (!p)
		return -1;
	if (**field == '/') {
		char *a;

		if (asprintf(&a, "%s/%s", strcmp(root, "/") ? root : "", p) < 0) {
			free(p);
			return -1;
		}
		free(p);
		p = a;
	}
	free(*field);
	*field = p;
	return 0;
}

/*
 * The paths a client's options name on this side stay inside the module
 * too (upstream parse_arguments() with sanitize_paths): --files-from from
 * the module root, the others from the destination, which is depth levels
 * down.
 */
static int
sanitize_opts(struct oce_opts *o, int depth)
{
	char root[4096];

	if (!getcwd(root, sizeof(root)))
		return -1;
	if (o->files_from && strcmp(o->files_from, "-") && resanitize(&o->files_from, 0, root))
		return -1;
	/* upstream: --temp-dir and --backup-dir at parse time (no ".." kept), the others later */
	if (resanitize(&o->partial_dir, depth, root) || resanitize(&o->temp_dir, 0, root) ||
	    resanitize(&o->backup_dir, 0, root))
		return -1;
	for (size_t i = 0; i < o->alt_dest.n; i++)
		if (resanitize(&o->alt_dest.v[i], depth, root))
			return -1;
	return 0;
}

/* Write an @ERROR line before the protocol starts (the socket is blocking here). */
static void
say(int fd, const char *line)
{
	size_t len = strlen(line), off = 0;

	while (off < len) {
		ssize_t n = write(fd, line + off, len - off);

		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

/* (the _r look-ups: sessions that are threads look names up at the same time as the loop) */
static bool
name_to_uid(const char *name, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long v = strtoul(name, &end, 10);

	if (*name && !*end) {
		*uid = (uid_t)v;
		return true;
	}
	oce_forkgate_enter();
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res))
		res = NULL;
	oce_forkgate_leave();
	if (!res)
		return false;
	*uid = res->pw_uid;
	return true;
}

static bool
name_to_gid(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char *end;
	unsigned long v = strtoul(name, &end, 10);
	size_t cap = 4096;
	char *buf = NULL;
	int rc;

	if (*name && !*end) {
		*gid = (gid_t)v;
		return true;
	}
	/* a group's member list may be long: grow the buffer as getgrnam_r asks */
	do {
		char *nb = realloc(buf, cap);

		if (!nb) {
			free(buf);
			return false;
		}
		buf = nb;
		oce_forkgate_enter();
		rc = getgrnam_r(name, &gr, buf, cap, &res);
		oce_forkgate_leave();
		cap *= 2;
	} while (rc == ERANGE && cap <= (1u << 24));
	free(buf);
	if (rc || !res)
		return false;
	*gid = gr.gr_gid;
	return true;
}

struct gids {
	gid_t v[64];
	int n;
	const char *bad;
	char badbuf[256];
};

static int
add_gid(void *ctx, const char *tok)
{
	struct gids *g = ctx;

	if (g->n == 64)
		return 0;
	if (!name_to_gid(tok, &g->v[g->n])) {
		snprintf(g->badbuf, sizeof(g->badbuf), "%s", tok);
		g->bad = g->badbuf;
		return 1;
	}
	g->n++;
	return 0;
}

const char *
oce_dsess_precheck(const struct oce_dconf *cfg, const struct oce_dmodule *m, char *buf, size_t cap)
{
	bool am_root = geteuid() == 0;
	const char *uname = m->uid && *m->uid ? m->uid : am_root ? "nobody" : NULL;
	struct gids g = {0};
	struct stat st;
	uid_t uid;

	/* the daemon's own ids change who we are first: leave it all to the session */
	if ((cfg->g.daemon_chroot && *cfg->g.daemon_chroot) ||
	    (cfg->g.daemon_uid && *cfg->g.daemon_uid))
		return NULL;
	if (uname && !name_to_uid(uname, &uid)) {
		snprintf(buf, cap, "@ERROR: invalid uid %s\n", uname);
		return buf;
	}
	if (m->gid && *m->gid)
		oce_dconf_tokens(m->gid, add_gid, &g);
	if (g.bad) {
		snprintf(buf, cap, "@ERROR: invalid gid %s\n", g.bad);
		return buf;
	}
	if (!m->path || !*m->path) {
		snprintf(buf, cap, "@ERROR: no path setting.\n");
		return buf;
	}
	/* an "include from" / "exclude from" that cannot be read: upstream ends without a word */
	for (int i = 0; i < 2; i++) {
		const char *f = i ? m->exclude_from : m->include_from;
		int fd;

		if (!f || !*f)
			continue;
		fd = open(f, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return "";
		close(fd);
	}
	if (stat(m->path, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(buf, cap, "@ERROR: chdir failed\n");
		return buf;
	}
	return NULL;
}

/*
 * Does "dont compress" name every file? Upstream 3.5.0 reads the list
 * once per session and no longer changes the level file by file: only a
 * word "*" has an effect, the least compression for the whole session.
 */
static bool
dont_compress_all(const char *list)
{
	for (const char *p = list; p && *p;) {
		size_t n;

		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (n == 1 && *p == '*')
			return true;
		p += n;
	}
	return false;
}

/*
 * What entering module m changes, decided as upstream's rsync_module()
 * does once the daemon's own chroot and ids are in place: the user to
 * become (the module's "uid"; as root "nobody" when unset), the groups,
 * and whether to chroot ("use chroot"; unset: when chroot("/") works, or
 * for a "/./" path). NULL, or the @ERROR line for a name that does not
 * resolve or a missing path.
 */
struct idplan {
	const char *uname; /* the user to become, or NULL */
	uid_t uid;
	struct gids g;	   /* the groups to take (g.n 0: none) */
	bool am_root;
	bool use_chroot;
};

static const char *
plan_ids(const struct oce_dmodule *m, struct idplan *p, char *errbuf, size_t cap)
{
	const char *path = m->path;

	memset(p, 0, sizeof(*p));
	p->am_root = geteuid() == 0;
	p->uname = m->uid && *m->uid ? m->uid : p->am_root ? "nobody" : NULL;
	if (p->uname && !name_to_uid(p->uname, &p->uid)) {
		snprintf(errbuf, cap, "@ERROR: invalid uid %s\n", p->uname);
		return errbuf;
	}
	if (m->gid && *m->gid) {
		oce_dconf_tokens(m->gid, add_gid, &p->g);
	} else if (p->am_root && !name_to_gid("nobody", &p->g.v[0]) &&
		   !name_to_gid("nogroup", &p->g.v[0])) {
		p->g.bad = "nobody";
	} else if (p->am_root) {
		p->g.n = 1;
	}
	if (p->g.bad) {
		snprintf(errbuf, cap, "@ERROR: invalid gid %s\n", p->g.bad);
		return errbuf;
	}
	if (!path || !*path) {
		snprintf(errbuf, cap, "@ERROR: no path setting.\n");
		return errbuf;
	}
	if (m->use_chroot < 0)
		/* unset: chroot when we can (upstream tries chroot("/"), which changes nothing) */
		p->use_chroot = strstr(path, "/./") || chroot("/") == 0;
	else
		p->use_chroot = m->use_chroot;
	return NULL;
}

/* Whether the process already has the groups the plan sets (setgid, and setgroups as root). */
static bool
have_groups(const struct idplan *p)
{
	gid_t cur[64];
	int n;

	if (!p->g.n)
		return true;
	if (getegid() != p->g.v[0] || getgid() != p->g.v[0])
		return false;
	if (!p->am_root)
		return true;
	n = getgroups(64, cur);
	if (n < 0)
		return false;
	/* the same set, the primary group counting as present */
	for (int i = 0; i < n; i++) {
		bool in = false;

		for (int j = 0; j < p->g.n && !in; j++)
			in = cur[i] == p->g.v[j];
		if (!in)
			return false;
	}
	for (int j = 1; j < p->g.n; j++) {
		bool in = false;

		for (int i = 0; i < n && !in; i++)
			in = cur[i] == p->g.v[j];
		if (!in && p->g.v[j] != p->g.v[0])
			return false;
	}
	return true;
}

/* Whether the plan changes nothing a thread of the daemon cannot change alone. */
static bool
plan_is_threadable(const struct idplan *p)
{
	return !p->use_chroot && (!p->uname || (p->uid == geteuid() && p->uid == getuid())) &&
	       have_groups(p);
}

bool
oce_dsess_needs_process(const struct oce_dconf *cfg, const struct oce_dmodule *m)
{
	struct idplan p;
	char e[512];

	if ((cfg->g.daemon_chroot && *cfg->g.daemon_chroot) ||
	    (cfg->g.daemon_uid && *cfg->g.daemon_uid) || (cfg->g.daemon_gid && *cfg->g.daemon_gid))
		return true;
	/* a failure is told by the session, as before */
	return plan_ids(m, &p, e, sizeof(e)) || !plan_is_threadable(&p);
}

/*
 * Enter the module: ids, chroot, chdir, then drop privileges. Returns NULL
 * or the @ERROR line to send. A session that is a thread only changes its
 * own working directory (its fs state is its own: unshare(CLONE_FS)); the
 * loop chose a thread because nothing else changes, which is checked again.
 * mdir gets the module root as the session sees it, for messages.
 */
static const char *
enter_module(const struct oce_dsess *d, struct oce_daemon_mod *dm, char *mdir, size_t mcap,
	     char *errbuf, size_t cap)
{
	const struct oce_dmodule *m = d->mod;
	const struct oce_dconf *cfg = d->cfg;
	struct idplan p;
	const char *path = m->path, *e;
	char *outer = NULL;
	const char *inner = NULL;

	/* The daemon's own chroot and ids first, as upstream's start_daemon() does. */
	if (!d->in_thread) {
		if (cfg->g.daemon_chroot && *cfg->g.daemon_chroot)
			oce_cov_chroot();
		if (cfg->g.daemon_chroot && *cfg->g.daemon_chroot &&
		    (chroot(cfg->g.daemon_chroot) || chdir("/"))) {
			snprintf(errbuf, cap, "@ERROR: daemon chroot failed\n");
			return errbuf;
		}
		if (cfg->g.daemon_gid && *cfg->g.daemon_gid) {
			gid_t dg;

			if (!name_to_gid(cfg->g.daemon_gid, &dg) || setgid(dg)) {
				snprintf(errbuf, cap, "@ERROR: invalid daemon gid %s\n",
					 cfg->g.daemon_gid);
				return errbuf;
			}
		}
		if (cfg->g.daemon_uid && *cfg->g.daemon_uid) {
			uid_t du;

			if (!name_to_uid(cfg->g.daemon_uid, &du) || setuid(du)) {
				snprintf(errbuf, cap, "@ERROR: invalid daemon uid %s\n",
					 cfg->g.daemon_uid);
				return errbuf;
			}
		}
	}
	e = plan_ids(m, &p, errbuf, cap);
	if (e)
		return e;
	if (d->in_thread && !plan_is_threadable(&p)) {
		/* a name now resolves to other ids than when the loop chose: fail closed */
		snprintf(errbuf, cap, "@ERROR: setuid failed\n");
		return errbuf;
	}
	if (p.use_chroot) {
		const char *dot = strstr(path, "/./");

		outer = strdup(path);
		if (!outer) {
			snprintf(errbuf, cap, "@ERROR: chroot failed\n");
			return errbuf;
		}
		if (dot) {
			outer[dot - path] = '\0';
			inner = dot + 2;
		} else {
			inner = "/";
		}
		oce_cov_chroot();
		if (chroot(outer) || chdir(inner)) {
			free(outer);
			snprintf(errbuf, cap, "@ERROR: chroot failed\n");
			return errbuf;
		}
		free(outer);
	} else if (chdir(path)) {
		snprintf(errbuf, cap, "@ERROR: chdir failed\n");
		return errbuf;
	}
	if (!getcwd(mdir, mcap))
		snprintf(mdir, mcap, "%s", path);
	if (!strcmp(mdir, "/"))
		mdir[0] = '\0';
	dm->module_dir = mdir;
	/* upstream: sanitize_paths when the module is not the root; munging then by default */
	dm->sanitize = !p.use_chroot || (inner && strcmp(inner, "/"));
	/*
	 * "numeric ids": on by default in a chroot (whose passwd and group
	 * files are rarely the host's) unless a name converter is set, off
	 * otherwise (upstream rsync_module(); the client's --numeric-ids
	 * comes on top, below)
	 */
	dm->ids_by_number = p.use_chroot ? m->numeric_ids != 0 && !(m->name_converter && *m->name_converter)
					 : m->numeric_ids == 1;
	dm->compress_least = dont_compress_all(m->dont_compress);
	/*
	 * No chroot at the module root: the module root bounds what the
	 * session's path arguments reach through symlinks (rsync 3.5.0's
	 * secure_relpath_active(); fs.h). Opened here, as root, before the
	 * ids change; the cwd is that root.
	 */
	if (dm->sanitize) {
		dm->confine_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dm->confine_fd < 0) {
			snprintf(errbuf, cap, "@ERROR: chdir failed\n");
			return errbuf;
		}
	}
	dm->munge = m->munge_symlinks < 0 ? dm->sanitize : m->munge_symlinks;
	if (dm->munge) {
		struct stat st;

		if (!stat("/rsyncd-munged", &st) && S_ISDIR(st.st_mode)) {
			snprintf(errbuf, cap, "@ERROR: daemon security issue -- contact admin\n");
			return errbuf;
		}
	}
	if (d->in_thread)
		return NULL; /* the ids are already these (plan_is_threadable()) */
	if (p.g.n) {
		if (setgid(p.g.v[0]) || (p.am_root && setgroups((size_t)p.g.n, p.g.v))) {
			snprintf(errbuf, cap, "@ERROR: setgid failed\n");
			return errbuf;
		}
	}
	if (p.uname && (setuid(p.uid) || seteuid(p.uid))) {
		snprintf(errbuf, cap, "@ERROR: setuid failed\n");
		return errbuf;
	}
	return NULL;
}

static void
ref_log(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

/*
 * Parse the server arguments with the option parser, collecting what it
 * prints (a daemon's client gets it on the socket). Returns the parser's
 * verdict; *text gets its messages without the closing "rsync error:"
 * line (malloc'd, or NULL).
 */
static enum oce_parse_result
parse_args(struct oce_opts *o, int argc, char **argv, int *code, char **text)
{
	int mfd = memfd_create("oc-rsyncd-args", MFD_CLOEXEC), saved = dup(2);
	enum oce_parse_result pr;

	*text = NULL;
	if (mfd >= 0 && saved >= 0)
		dup2(mfd, 2);
	pr = oce_opts_parse(o, argc, argv, code);
	fflush(stderr);
	if (mfd >= 0 && saved >= 0) {
		off_t len = lseek(mfd, 0, SEEK_END);
		char *buf = len > 0 ? malloc((size_t)len + 1) : NULL;

		dup2(saved, 2);
		if (buf && pread(mfd, buf, (size_t)len, 0) == len) {
			char *e;

			buf[len] = '\0';
			e = strstr(buf, "rsync error:");
			if (e && (e == buf || e[-1] == '\n'))
				*e = '\0';
			*text = buf;
		} else {
			free(buf);
		}
	}
	if (mfd >= 0)
		close(mfd);
	if (saved >= 0)
		close(saved);
	return pr;
}

/*
 * Close the socket without losing what we sent: closing with unread input
 * makes the kernel reset the connection, and the client may then never
 * read our last error lines. So half-close and read until the client hangs
 * up, for a bounded time (upstream's noop_io_until_death()).
 */
static void
linger_close(int fd)
{
	int64_t end;
	struct timespec ts;
	char buf[4096];

	shutdown(fd, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + LINGER_MS;
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int64_t now;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
	close(fd);
}

/* Open the module's "include from" / "exclude from" files; NULL or the message. */
static const char *
open_filter_files(const struct oce_dmodule *m, struct oce_daemon_mod *dm, char *buf, size_t cap)
{
	const struct {
		const char *name;
		FILE **fp;
		const char *what;
	} f[] = {
	    {m->include_from, &dm->include_from_fp, "in"},
	    {m->exclude_from, &dm->exclude_from_fp, "ex"},
	};

	dm->filter = m->filter;
	dm->include = m->include;
	dm->exclude = m->exclude;
	dm->include_from = m->include_from;
	dm->exclude_from = m->exclude_from;
	dm->incoming_chmod = m->incoming_chmod;
	dm->outgoing_chmod = m->outgoing_chmod;
	for (size_t i = 0; i < 2; i++) {
		if (!f[i].name || !*f[i].name)
			continue;
		*f[i].fp = fopen(f[i].name, "rbe");
		if (!*f[i].fp) {
			int e = errno;

			snprintf(buf, cap, "%s: [daemon] failed to open %sclude file %s: %s (%d)",
				 OCE_PROG, f[i].what, f[i].name, strerror(e), e);
			dm->fail_code = RERR_FILEIO;
			return buf;
		}
	}
	return NULL;
}

/* Upstream's RSYNC_* variables of the exec hooks (rsync_module()), through set. */
static void
hook_vars(const struct oce_dmodule *m, const char *addr, const char *host, const char *user,
	  void (*set)(void *ctx, const char *name, const char *val), void *ctx)
{
	char full[4096];
	const char *path = m->path && *m->path ? m->path : ".";

	set(ctx, "RSYNC_MODULE_NAME", m->name);
	set(ctx, "RSYNC_HOST_NAME", host ? host : "");
	set(ctx, "RSYNC_HOST_ADDR", addr ? addr : "");
	set(ctx, "RSYNC_USER_NAME", user ? user : "");
	/* the whole path, a "/./" in it too, cleaned as upstream's normalize_path() */
	set(ctx, "RSYNC_MODULE_PATH", oce_abs_dir(full, sizeof(full), NULL, path));
}

static void
set_env(void *ctx, const char *name, const char *val)
{
	(void)ctx;
	setenv(name, val, 1);
}

void
oce_dsess_hook_env(const struct oce_dmodule *m, const char *addr, const char *host,
		   const char *user)
{
	hook_vars(m, addr, host, user, set_env, NULL);
}

/*
 * The environment a session's exec hooks get: the daemon's own plus the
 * RSYNC_* variables, built as a list rather than with setenv(), which a
 * session that is a thread must not call (the environment is the
 * process's, and getenv() in other threads does not lock).
 */
struct henv {
	char **v; /* NULL-terminated */
	size_t n, cap;
	bool bad;
};

static void
henv_set(void *ctx, const char *name, const char *val)
{
	struct henv *e = ctx;
	size_t nl = strlen(name);
	char *kv;

	if (e->bad)
		return;
	if (asprintf(&kv, "%s=%s", name, val) < 0) {
		e->bad = true;
		return;
	}
	for (size_t i = 0; i < e->n; i++) {
		if (!strncmp(e->v[i], name, nl) && e->v[i][nl] == '=') {
			free(e->v[i]);
			e->v[i] = kv;
			return;
		}
	}
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		char **nv = realloc(e->v, cap * sizeof(*nv));

		if (!nv) {
			free(kv);
			e->bad = true;
			return;
		}
		e->v = nv;
		e->cap = cap;
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

static void
henv_free(struct henv *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* A copy of from (NULL-terminated "NAME=value" strings). */
static void
henv_from(struct henv *e, char *const *from)
{
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; from && from[i]; i++) {
		const char *eq = strchr(from[i], '=');
		char name[256];

		if (!eq || (size_t)(eq - from[i]) >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - from[i]), from[i]);
		henv_set(e, name, eq + 1);
	}
}

/*
 * Start "sh -c cmd" with environment envp, stdin /dev/null, stdout out
 * (-1: ours), in directory cwd (-1: ours), with a soft open-files limit of
 * at most nofile (0: ours), default signal dispositions and none blocked.
 * The child calls only async-signal-safe functions (the daemon has
 * threads). A pid, or -1.
 */
static pid_t
spawn_sh(const char *cmd, char *const *envp, int out, int cwd, unsigned long nofile)
{
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[] = {"sh", "-c", (char *)cmd, NULL};
		struct sigaction sa;
		sigset_t none;
		int in = open("/dev/null", O_RDONLY);

		if (in > 0) {
			dup2(in, 0);
			close(in);
		}
		if (out >= 0 && out != 1)
			dup2(out, 1);
		if (cwd >= 0 && fchdir(cwd))
			_exit(127);
		if (nofile) {
			struct rlimit rl;

			if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur > nofile) {
				rl.rlim_cur = nofile;
				setrlimit(RLIMIT_NOFILE, &rl);
			}
		}
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		for (int sig = 1; sig < 32; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				sigaction(sig, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve("/bin/sh", argv, envp);
		_exit(127);
	}
	return pid;
}

int
oce_dsess_wait(pid_t pid)
{
	int st;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

/* "post-xfer exec" with the session's end: wait status st (upstream's RSYNC_RAW_STATUS). */
static int
post_xfer_run(const struct oce_dsess *d, struct henv *env, int st, int cwd)
{
	char num[32];
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;

	snprintf(num, sizeof(num), "%d", st);
	henv_set(env, "RSYNC_RAW_STATUS", num);
	snprintf(num, sizeof(num), "%d", status);
	henv_set(env, "RSYNC_EXIT_STATUS", num);
	if (env->bad || oce_dsess_wait(spawn_sh(d->mod->post_xfer_exec, env->v, -1, cwd, d->hook_nofile)) < 0)
		status = -1;
	return status;
}

/*
 * "post-xfer exec" for a session in a process of its own: this process
 * waits for the session, which goes on in a child, then runs the command
 * with its exit status, as upstream's rsync_module() does before it enters
 * the module. Returns only in the child (0), or -1 when it cannot fork.
 */
static int
post_xfer_fork(const struct oce_dsess *d, struct henv *env)
{
	pid_t pid = fork();

	if (pid <= 0)
		return pid < 0 ? -1 : 0;
	close(d->fd);
	oce_fast_exit(post_xfer_run(d, env, oce_dsess_wait(pid), -1));
}

/* The client's words after ".", joined (upstream's request, which stops past 1024); its length. */
static size_t
dsess_request(const struct oce_dsess *d, char *req, size_t cap)
{
	size_t rlen = 0;
	bool after_dot = false;

	req[0] = '\0';
	for (size_t i = 0; i < d->argc; i++) {
		if (!after_dot) {
			after_dot = !strcmp(d->argv[i], ".");
			continue;
		}
		if (rlen >= 1024)
			break;
		rlen += (size_t)snprintf(req + rlen, cap - rlen, "%s%s", rlen ? " " : "", d->argv[i]);
		if (rlen >= cap)
			rlen = cap - 1;
	}
	return rlen;
}

/*
 * "pre-xfer exec": run the command with the request and the arguments in
 * RSYNC_REQUEST and RSYNC_ARG<n> and its output caught. NULL when it
 * succeeds, else upstream's message (in buf): the wait status and, after
 * a ':', what the command printed.
 */
static const char *
pre_xfer_run(const struct oce_dsess *d, const struct henv *env, char **argv, size_t argc,
	     char *buf, size_t cap)
{
	char req[1100], text[4096];
	size_t rlen = dsess_request(d, req, sizeof(req)), off, n = 0;
	int out[2], st;
	ssize_t got;
	struct henv pe;
	pid_t pid;

	henv_from(&pe, env->v);
	henv_set(&pe, "RSYNC_REQUEST", rlen ? req : "(NONE)");
	/* the arguments as the session parses them, "rsyncd" first; an empty one ends them */
	for (size_t i = 0; i < argc && *argv[i]; i++) {
		char name[32];

		snprintf(name, sizeof(name), "RSYNC_ARG%zu", i);
		henv_set(&pe, name, argv[i]);
	}
	if (pe.bad || pipe2(out, O_CLOEXEC)) {
		henv_free(&pe);
		goto failed;
	}
	pid = spawn_sh(d->mod->pre_xfer_exec, pe.v, out[1], -1, d->hook_nofile);
	henv_free(&pe);
	close(out[1]);
	if (pid < 0) {
		close(out[0]);
		goto failed;
	}
	off = (size_t)snprintf(buf, cap, "pre-xfer exec returned failure (");
	while (n < sizeof(text) - 1 &&
	       ((got = read(out[0], text + n, sizeof(text) - 1 - n)) > 0 || (got < 0 && errno == EINTR)))
		if (got > 0)
			n += (size_t)got;
	close(out[0]);
	text[n] = '\0';
	/* CR LF becomes LF, as upstream reads it */
	for (char *cr = text; (cr = strstr(cr, "\r\n")) != NULL;)
		memmove(cr, cr + 1, strlen(cr));
	st = oce_dsess_wait(pid);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return NULL;
	if (st != -1 && !WIFEXITED(st))
		st = 1 << 8; /* upstream's hook process ends with 1 then */
	snprintf(buf + off, cap - off, "%d)%s\n%s", st, *text ? ":" : "", text);
	return buf;
failed:
	snprintf(buf, cap, "pre-xfer exec returned failure (-1): %s\n", strerror(errno));
	return buf;
}

/* The first module parameter set that sessions cannot honour yet, or NULL. */
static const char *
unsupported_param(const struct oce_dmodule *m)
{
	const struct {
		const char *name;
		const char *val;
	} p[] = {
	    {"name converter", m->name_converter},
	};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (p[i].val && *p[i].val)
			return p[i].name;
	return NULL;
}

/* A line of the daemon's log file from the session (upstream's FLOG before the transfer). */
static void __attribute__((format(printf, 2, 3)))
slog(const struct oce_dsess *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	oce_dlog_vto(d->log, d->log_pid, fmt, ap);
	va_end(ap);
}

int
oce_dsess_run(const struct oce_dsess *d)
{
	const struct oce_dmodule *m = d->mod;
	struct oce_daemon_mod dm = {0};
	struct oce_opts o;
	struct oce_dref ref;
	struct henv env;
	char errbuf[512], refmsg[512], fail[1024], prebuf[5120], mdir[4096];
	const char *what, *pre_err = NULL;
	char **argv;
	size_t argc = 0, dot_at = 0;
	char *ptext = NULL;
	bool hooks, post_here = false, parsed = false, lingered = false;
	int code = 0, r, home = -1;
	enum oce_parse_result pr;
	const char *e;

	/* The engine sets the socket non-blocking itself; @ERROR lines want it blocking. */
	fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) & ~O_NONBLOCK);
	if (d->ofd != d->fd)
		fcntl(d->ofd, F_SETFL, fcntl(d->ofd, F_GETFL) & ~O_NONBLOCK);
	dm.protocol = d->protocol;
	dm.read_only = d->read_only;
	dm.write_only = m->write_only;
	dm.log = d->log;
	dm.log_format = m->transfer_logging ? m->log_format : NULL;
	dm.host = d->host;
	dm.addr = d->addr;
	dm.user = d->user;
	dm.module = m->name;
	dm.module_path = m->path;
	dm.confine_fd = -1;
	dm.log_pid = d->log_pid;
	dm.in_thread = d->in_thread;
	dm.bytes_in = d->bytes_in;
	dm.bytes_out = d->bytes_out;
	what = unsupported_param(m);
	/* "rsyncd" for argv[0], then the client's words; paths after "." stay below the module */
	argv = calloc(d->argc + 2, sizeof(*argv));
	if (!argv)
		return RERR_MALLOC;
	argv[argc++] = "rsyncd";
	for (size_t i = 0; i < d->argc; i++) {
		if (dot_at) {
			argv[argc] = oce_dsess_path(m->name, d->argv[i]);
			if (!argv[argc]) {
				r = RERR_MALLOC;
				goto out;
			}
			argc++;
		} else {
			argv[argc++] = d->argv[i];
			if (!strcmp(d->argv[i], "."))
				dot_at = argc;
		}
	}
	/*
	 * The exec hooks run as the daemon runs, before the module is
	 * entered (upstream rsync_module()); not for a module refused below.
	 */
	henv_from(&env, environ);
	hook_vars(m, d->addr, d->host, d->user, henv_set, &env);
	hooks = !what &&
		((m->pre_xfer_exec && *m->pre_xfer_exec) || (m->post_xfer_exec && *m->post_xfer_exec)) &&
		!getenv("RSYNC_NO_XFER_EXEC");
	if (hooks) {
		char num[32];

		snprintf(num, sizeof(num), "%ld", d->log_pid ? d->log_pid : (long)getpid());
		henv_set(&env, "RSYNC_PID", num);
		if (m->post_xfer_exec && *m->post_xfer_exec) {
			if (d->in_thread) {
				/* run after the session, from where the daemon stands */
				post_here = true;
				home = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
			} else if (post_xfer_fork(d, &env) < 0) {
				pre_err = "@ERROR: fork failed";
			}
		}
		if (!pre_err && m->pre_xfer_exec && *m->pre_xfer_exec)
			pre_err = pre_xfer_run(d, &env, argv, argc, prebuf, sizeof(prebuf));
	}
	/*
	 * The module's filter files are read where the daemon stands, before
	 * the chroot, as upstream's rsync_module() parses them; a missing one
	 * ends the session (upstream: a fatal error before "@RSYNCD: OK").
	 */
	e = open_filter_files(m, &dm, errbuf, sizeof(errbuf));
	if (!e)
		e = enter_module(d, &dm, mdir, sizeof(mdir), errbuf, sizeof(errbuf));
	if (!e && !dm.sanitize) {
		/* chrooted at the module root: the paths as upstream keeps them there */
		for (size_t i = dot_at; dot_at && i < argc; i++) {
			free(argv[i]);
			argv[i] = chroot_path(m->name, d->argv[i - 1]);
			if (!argv[i]) {
				for (size_t j = i + 1; j < argc; j++)
					free(argv[j]);
				argc = i;
				r = RERR_MALLOC;
				goto out;
			}
		}
	}
	if (e) {
		/* upstream says this before its OK; ours is out, so it is a protocol error line */
		snprintf(fail, sizeof(fail), "%.*s", (int)strcspn(e, "\n"), e);
		dm.fail_msg = fail;
		dm.fail_code = dm.fail_code ? dm.fail_code : RERR_FILESELECT;
	}
	/*
	 * Module settings not carried out yet fail closed: serving a module
	 * without its name converter would hand out what the operator meant
	 * to be mapped.
	 */
	if (!dm.fail_msg && what) {
		snprintf(fail, sizeof(fail), "%s: module %s: \"%s\" is not supported yet", OCE_PROG,
			 m->name, what);
		dm.fail_msg = fail;
		dm.fail_code = RERR_SYNTAX;
	}
	/* A failed pre-xfer exec is told before a bad option (upstream's err_msg). */
	if (!dm.fail_msg && pre_err) {
		dm.fail_msg = pre_err;
		dm.fail_code = RERR_UNSUPPORTED;
	}
	oce_dref_init(&ref, m->refuse_options, m->charset && *m->charset, ref_log, NULL);
	if (!dm.fail_msg &&
	    oce_dref_check(&ref, argc - 1, (const char *const *)argv + 1, refmsg, sizeof(refmsg)) ==
		OCE_DREF_REFUSED) {
		snprintf(fail, sizeof(fail), "%s: %s", OCE_PROG, refmsg);
		dm.fail_msg = fail;
		dm.fail_code = RERR_UNSUPPORTED;
	}
	pr = parse_args(&o, (int)argc, argv, &code, &ptext);
	parsed = true;
	if (!dm.fail_msg && pr != OCE_PARSE_RUN) {
		snprintf(fail, sizeof(fail), "%s", ptext && *ptext ? ptext : "unknown option");
		dm.fail_msg = fail;
		dm.fail_code = RERR_UNSUPPORTED;
	}
	free(ptext);
	/* Only a server may run here, whatever the client sent. */
	if (!dm.fail_msg && (!o.server || o.daemon)) {
		say(d->ofd, "@ERROR: protocol startup error\n");
		r = RERR_PROTOCOL;
		goto out;
	}
	/* upstream sanitize_paths: not in a module that is the chroot's root itself */
	if (dm.sanitize && sanitize_opts(&o, !o.sender && o.args.n > 1 ? path_depth(o.args.v[o.args.n - 1]) : 0)) {
		r = RERR_MALLOC;
		goto out;
	}
	if (o.numeric_ids)
		dm.ids_by_number = false; /* the client's own: no lists at all */
	/* "max verbosity": the client's -v cannot make the daemon say more (upstream rsync_module()) */
	oce_opts_limit_verbosity(&o, m->max_verbosity);
	if (m->timeout > 0 && (!o.timeout || m->timeout < o.timeout))
		o.timeout = m->timeout;
	if (!dm.fail_msg) {
		char req[1100];

		if (!dsess_request(d, req, sizeof(req)))
			snprintf(req, sizeof(req), "(NONE)");
		if (d->user && *d->user)
			slog(d, "rsync %s %s from %s@%s (%s)", o.sender ? "on" : "to", req, d->user, d->host,
			     d->addr);
		else
			slog(d, "rsync %s %s from %s (%s)", o.sender ? "on" : "to", req, d->host, d->addr);
	}
	r = oce_server_daemon(&o, d->fd, d->ofd, &dm);
	if (d->ofd == d->fd) {
		linger_close(d->fd); /* a socket; a remote shell's pipes just close */
		lingered = true;
	}
out:
	if (d->ofd == d->fd && !lingered)
		close(d->fd);
	if (parsed)
		oce_opts_free(&o);
	if (post_here)
		post_xfer_run(d, &env, r << 8, home); /* a thread's end, as a process's exit(r) */
	if (home >= 0)
		close(home);
	henv_free(&env);
	if (dm.confine_fd >= 0)
		close(dm.confine_fd);
	if (dm.include_from_fp)
		fclose(dm.include_from_fp);
	if (dm.exclude_from_fp)
		fclose(dm.exclude_from_fp);
	for (size_t i = dot_at; dot_at && i < argc; i++)
		free(argv[i]);
	free(argv);
	return r;
}
