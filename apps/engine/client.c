/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Starting a transfer (upstream main.c start_server(), client_run(),
 * start_client(), do_cmd()): the --server side over stdin/stdout, and the
 * client over a remote shell or, for a local copy, over a socket pair to a
 * forked server as upstream does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apps/engine/chmod.h"
#include "apps/engine/client.h"
#include "apps/engine/dclient.h"
#include "apps/engine/errcode.h"
#include "apps/engine/fastexit.h"
#include "apps/engine/filter.h"
#include "apps/engine/filesfrom.h"
#include "apps/engine/local/local.h"
#include "apps/engine/progress.h"
#include "apps/engine/session.h"
#include "apps/engine/util.h"
#include "ocproto/err.h"

#define OCE_OUR_CAPS (OCP_CF_ALL & ~OCP_CF_INC_RECURSE)

/*
 * Options the parser accepts (they belong to this list) but the
 * engine does not carry out yet: refused clearly rather than ignored.
 * Returns the option's name, or NULL when everything asked for is done.
 */
static const char *
unsupported_option(const struct oce_opts *o)
{
	if (o->append && !OCE_CAN_APPEND)
		return o->append > 1 ? "--append-verify" : "--append";
	if (o->inplace && !OCE_CAN_INPLACE)
		return "--inplace";
	return NULL;
}

static int
refuse_unsupported(const struct oce_opts *o, const char *role)
{
	const char *what = unsupported_option(o);

	if (!what)
		return 0;
	fprintf(stderr, "%s: %s: not supported yet\n", OCE_PROG, what);
	oce_print_exit(stderr, RERR_SYNTAX, __FILE__, __LINE__, role);
	return RERR_SYNTAX;
}

/* The exit code io_error asks for (upstream exit_cleanup() rules). */
int
oce_final_code(const struct oce_session *s, int r)
{
	if (s->exit_code)
		return s->exit_code;
	if (r)
		return oce_exit_code_for(r);
	if (s->io_error & OCE_IOERR_GENERAL)
		return RERR_PARTIAL;
	if (s->io_error & OCE_IOERR_VANISHED)
		return RERR_VANISHED;
	if (s->io_error & OCE_IOERR_DEL_LIMIT)
		return RERR_DEL_LIMIT;
	return RERR_OK;
}

/* Did this side fail on its own (not told to stop by the peer's MSG_ERROR_EXIT)? */
static bool
failed_here(const struct oce_session *s, int r)
{
	return (s->exit_code || r) && !s->peer_exit;
}

/*
 * After a failure of our own, the receiving side tells the peer the exit
 * code in MSG_ERROR_EXIT, so that it ends quietly with the same code
 * (upstream _exit_cleanup(), protocol 31 on, not for the codes that mean
 * the connection itself is gone). Upstream's sender queues the message but
 * exits without flushing it, so its peer sees the connection close; a
 * remote-shell transfer does not wait for the peer to hang up
 * (noop_io_until_death() returns at once). Only the side that owns the
 * socket's write half can do it.
 */
static void
send_error_exit(struct oce_session *s, int code)
{
	struct ocp_io *io = s->io;
	uint8_t b[4];

	if (s->am_sender || !io || !io->mux_out || io->fd_out < 0 || s->protocol < 31 ||
	    code == RERR_SOCKETIO || code == RERR_STREAMIO || code == RERR_SIGNAL1 ||
	    code == RERR_TIMEOUT)
		return;
	ocp_enc_int32(b, sizeof(b), code);
	if (!ocp_io_write_msg(io, OCP_MSG_ERROR_EXIT, b, sizeof(b)))
		ocp_io_flush(io);
}

/* Did a receiving client get a whole, empty file list (and nothing went wrong)? */
static bool
empty_list_received(const struct oce_session *s)
{
	return s->io && !s->am_sender && !s->local && s->fl.n == 0 && s->setup_in &&
	       !s->exit_code && !s->peer_exit && !s->io->rerr && !s->io->werr;
}

/* MSG_ERROR_EXIT to a peer that may be gone; a write error is reported as upstream's is. */
static void
late_error_exit(struct oce_session *s, int code)
{
	struct ocp_io *io = s->io;
	uint8_t b[4];
	int r;

	if (!io->mux_out || io->fd_out < 0 || s->protocol < 31 || code == RERR_SOCKETIO ||
	    code == RERR_STREAMIO || code == RERR_SIGNAL1 || code == RERR_TIMEOUT)
		return;
	ocp_enc_int32(b, sizeof(b), code);
	r = ocp_io_write_msg(io, OCP_MSG_ERROR_EXIT, b, sizeof(b));
	if (!r)
		r = ocp_io_flush(io);
	if (r < 0 && !ocp_is_proto_err(r))
		oce_rsyserr(s, -r, "write error");
}

/*
 * Our sender lost the connection: the receiver stopped reading (EPIPE) or
 * hung up. Upstream's sender reads while it writes, so a receiver that
 * failed on its own (a full disk) has told it why with MSG_ERROR_EXIT
 * before the pipe broke; upstream answers into the dead pipe ("write
 * error: Broken pipe") and exits quietly with the receiver's code. Look
 * through what the peer sent before it went for that message. Returns r,
 * or OCP_ECLOSED with s->peer_exit set when the message was there.
 */
static int
peer_said_why(struct oce_session *s, int r)
{
	const uint8_t *p;
	int n, t;

	if (!s->am_sender || s->peer_exit || !s->io || !s->io->mux_in || s->protocol < 31 ||
	    (r != -EPIPE && r != OCP_ECLOSED && r != -ECONNRESET))
		return r;
	ocp_io_discard_output(s->io);
	/* The peer is going away: its end closes soon, but never wait long. */
	t = ocp_io_timeout(s->io);
	if (!t || t > 10)
		ocp_io_set_timeout(s->io, 10);
	while ((n = ocp_io_peek(s->io, &p)) > 0)
		ocp_io_consume(s->io, (size_t)n);
	if (!s->peer_exit)
		return r;
	if (r != OCP_ECLOSED)
		oce_rsyserr(s, -r, "write error");
	return OCP_ECLOSED;
}

static int
start_io(struct oce_session *s, int fd_in, int fd_out)
{
	s->io = malloc(sizeof(*s->io));
	if (!s->io)
		return -ENOMEM;
	ocp_io_init(s->io, fd_in, fd_out, NULL);
	ocp_io_set_msg_handler(s->io, oce_on_msg, s);
	if (s->o->timeout)
		ocp_io_set_timeout(s->io, s->o->timeout);
	/* o->bwlimit is whole KiB already; both ends limit what they write. */
	if (s->o->bwlimit)
		ocp_io_set_bwlimit(s->io, s->o->bwlimit / 1024);
	/* the receiving side is silent until it splits (oce_receiving_run()) */
	if (!s->am_sender)
		ocp_io_hold_keepalive(s->io, true);
	fcntl(fd_in, F_SETFL, fcntl(fd_in, F_GETFL) | O_NONBLOCK);
	fcntl(fd_out, F_SETFL, fcntl(fd_out, F_GETFL) | O_NONBLOCK);
	return 0;
}

/*
 * Receive the file list; a --files-from list held on this side goes to the
 * sender meanwhile (upstream start_filesfrom_forwarding()).
 */
static int
recv_flist_forwarding(struct oce_session *s)
{
	struct oce_ff_fwd *fw = NULL;
	int r = 0, r2;

	if (s->ff_fd >= 0) {
		r = oce_ff_forward_start(s, s->ff_fd, &fw);
		s->ff_fd = -1;
	}
	if (!r)
		r = oce_flist_recv(s);
	if (fw) {
		r2 = oce_ff_forward_finish(s, fw, r != 0);
		if (!r)
			r = r2;
	}
	return r;
}

/*
 * The closing "rsync error: ..." line of a server: on stderr (a remote
 * shell passes it on), or, for a daemon session, which has no stderr to
 * the client, as MSG_ERROR on the socket as upstream's log does.
 */
static void
server_exit_line(struct oce_session *s, const struct oce_daemon_mod *d, int code, int line)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!d) {
		oce_print_exit(stderr, code, __FILE__, line, oce_who(s));
		return;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	oce_print_exit(f, code, __FILE__, line, oce_who(s));
	fclose(f);
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len)
		oce_rerror(s, "%s", buf);
	free(buf);
}

int
oce_server_main(const struct oce_opts *o, int fd_in, int fd_out)
{
	return oce_server_daemon(o, fd_in, fd_out, NULL);
}

int
oce_server_daemon(const struct oce_opts *o, int fd_in, int fd_out, const struct oce_daemon_mod *d)
{
	struct oce_session s;
	const char *fail_msg = NULL;
	int fail_code = 0;
	char ubuf[256];
	char **args = o->args.v;
	int argc = (int)o->args.n;
	int r, code;

	if (!d) {
		code = refuse_unsupported(o, o->sender ? "sender" : "receiver");
		if (code)
			return code;
	} else {
		/* A daemon's client hears it on the socket, once the protocol is up. */
		const char *what = d->fail_msg ? NULL : unsupported_option(o);

		fail_msg = d->fail_msg;
		fail_code = d->fail_code;
		if (what) {
			snprintf(ubuf, sizeof(ubuf), "%s: %s: not supported yet", OCE_PROG, what);
			fail_msg = ubuf;
			fail_code = RERR_SYNTAX;
		}
	}
	oce_session_init(&s, o);
	s.am_server = true;
	s.am_sender = o->sender;
	s.local = o->local_server;
	if (d) {
		s.dmod = d;
		s.daemon_protocol = d->protocol;
		s.msgs_to_peer = true;
		s.sanitize_links = d->sanitize;
		s.munge_links = d->munge;
		s.ids_by_number = d->ids_by_number;
		s.compress_least = d->compress_least;
	}
	/* "--files-from=-" names the socket; a path is a list on this machine. */
	if (o->files_from && !strcmp(o->files_from, "-")) {
		s.ff_from_peer = s.am_sender;
	} else if (o->files_from && !d) {
		s.ff_fd = oce_ff_open(o);
		if (s.ff_fd < 0) {
			oce_session_free(&s);
			oce_print_exit(stderr, RERR_SYNTAX, __FILE__, __LINE__, "server");
			return RERR_SYNTAX;
		}
	}
	r = start_io(&s, fd_in, fd_out);
	if (!r)
		r = oce_setup_protocol(&s);
	if (!r)
		r = ocp_io_start_mux_out(s.io);
	/* A daemon tells its client its timeout (upstream start_server()). */
	if (!r && d && o->timeout && s.protocol >= 31) {
		uint8_t b[4];

		ocp_enc_int32(b, sizeof(b), o->timeout);
		r = ocp_io_write_msg(s.io, OCP_MSG_IO_TIMEOUT, b, sizeof(b));
	}
	/* The daemon could not start this session (upstream rsync_module()'s option_error()). */
	if (!r && fail_msg) {
		const char *p = fail_msg, *nl;

		for (; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl)
				nl = p + strlen(p) - 1;
			if (nl >= p)
				oce_rerror(&s, "%.*s", (int)(nl - p + (*nl != '\n')), p);
		}
		s.exit_code = fail_code ? fail_code : RERR_UNSUPPORTED;
		r = -EACCES;
	}
	/* A module's read only / write only (upstream do_server_recv() / do_server_sender()). */
	if (!r && d && (s.am_sender ? d->write_only : d->read_only)) {
		oce_rerror(&s, "ERROR: module is %s", s.am_sender ? "write only" : "read only");
		s.exit_code = RERR_SYNTAX;
		r = -EACCES;
	}
	/* The module's own rules, before the client's (upstream rsync_module()). */
	if (!r && d)
		r = oce_filter_daemon(&s, d);
	/*
	 * Paths the client's options name on this side may not lead into what
	 * the module excludes (upstream parse_arguments() and do_server_recv()).
	 */
	if (!r && d) {
		bool rej = false, syn = false;

		if (o->files_from && strcmp(o->files_from, "-"))
			rej = !*o->files_from || oce_filter_daemon_hides(&s, o->files_from, false);
		if (!s.am_sender && o->temp_dir)
			rej = rej || !*o->temp_dir || oce_filter_daemon_hides(&s, o->temp_dir, true);
		for (size_t i = 0; !rej && !s.am_sender && i < o->alt_dest.n; i++) {
			char path[PATH_MAX];
			const char *a = o->alt_dest.v[i];

			/* a relative one is found from the destination */
			if (*a != '/' && argc > 1 &&
			    snprintf(path, sizeof(path), "%s/%s", args[1], a) < (int)sizeof(path))
				a = path;
			syn = syn || oce_filter_daemon_hides(&s, a, true);
		}
		if (!rej && !s.am_sender && o->partial_dir && *o->partial_dir == '/')
			syn = syn || oce_filter_daemon_hides(&s, o->partial_dir, true);
		if (rej || syn) {
			/* parse_arguments()'s refusal is an option error, do_server_recv()'s not */
			oce_rerror(&s, "%s%sYour options have been rejected by the server.",
				   rej ? OCE_PROG : "", rej ? ": " : "");
			s.exit_code = rej ? RERR_UNSUPPORTED : RERR_SYNTAX;
			r = -EACCES;
		}
		/* the list on this side is opened once it is known to be allowed */
		if (!r && o->files_from && strcmp(o->files_from, "-")) {
			s.ff_fd = open(o->files_from, O_RDONLY | O_CLOEXEC);
			if (s.ff_fd < 0) {
				oce_rerror(&s, "%s: failed to open files-from file %s: %s", OCE_PROG,
					   o->files_from, strerror(errno));
				s.exit_code = RERR_UNSUPPORTED;
				r = -EACCES;
			}
		}
	}
	/*
	 * Its "outgoing chmod" when sending, "incoming chmod" when receiving;
	 * one that does not parse is left out (upstream only logs it).
	 */
	if (!r && d) {
		const char *cm = s.am_sender ? d->outgoing_chmod : d->incoming_chmod;

		if (cm && *cm) {
			mode_t um = umask(0);

			umask(um);
			s.dchmod = oce_chmod_parse(cm, um);
		}
	}
	if (!r)
		r = ocp_io_start_mux_in(s.io, 0);
	if (!r)
		r = oce_recv_filter_list(&s);
	/* The first argument is the directory to work in (upstream's "."). */
	if (!r && argc > 0 && strcmp(args[0], ".") && chdir(args[0])) {
		oce_error(&s, "change_dir#3 \"%s\" failed: %s (%d)", args[0], strerror(errno), errno);
		s.exit_code = RERR_FILESELECT;
		r = -errno;
	}
	if (argc > 0) {
		args++;
		argc--;
	}
	if (!r && s.am_sender) {
		char *dot[] = {"."};

		if (argc == 0 && (o->recursive || o->dirs)) {
			args = dot;
			argc = 1;
		}
		oce_dlogf(&s, "building file list");
		r = oce_flist_send(&s, argc, args);
		if (!r && s.fl.n)
			r = oce_sender_run(&s);
		if (!r && s.fl.n)
			r = oce_send_stats(&s);
		if (!r && s.fl.n)
			r = oce_read_final_goodbye(&s);
	} else if (!r) {
		oce_dlogf(&s, "receiving file list");
		r = recv_flist_forwarding(&s);
		if (!r && argc > 0)
			s.dest = strdup(args[0]);
		if (!r)
			r = oce_receiving_run(&s);
	}
	r = peer_said_why(&s, r);
	oce_report_failure(&s, r);
	code = oce_final_code(&s, r);
	/* upstream log_exit(): the receiving side's counts are whole only at a clean end */
	if ((code == 0 || s.am_sender) && s.io)
		oce_dlogf(&s, "sent %lld bytes  received %lld bytes  total size %lld",
			  (long long)(s.io->bytes_out + s.io->out_len), (long long)s.io->bytes_in,
			  (long long)s.st.total_size);
	/*
	 * A failure of our own ends with the closing line (on stderr, like
	 * every server error); the end of a run with io_error set does not
	 * (upstream's am_server == 2).
	 */
	if (failed_here(&s, r)) {
		if (!s.exit_shown)
			server_exit_line(&s, d, code, __LINE__);
		send_error_exit(&s, code);
	}
	if (s.io) {
		ocp_io_flush(s.io);
		if (d && d->bytes_in)
			*d->bytes_in = s.io->bytes_in;
		if (d && d->bytes_out)
			*d->bytes_out = s.io->bytes_out;
		free(s.io);
	}
	oce_session_free(&s);
	return code;
}

void
oce_print_client_summary(struct oce_session *s)
{
	struct oce_stats st = {0};
	const struct oce_counters *c = &s->st;
	const struct oce_opts *o = s->o;

	oce_progress_close_line(s);
	if (o->quiet || (!o->stats && o->info[OCE_INFO_STATS] < 1))
		return;
	st.total_size = c->total_size;
	st.total_transferred_size = c->total_transferred_size;
	st.total_written = c->total_written;
	st.total_read = c->total_read;
	st.literal_data = c->literal_data;
	st.matched_data = c->matched_data;
	st.flist_buildtime = c->flist_buildtime;
	st.flist_xfertime = c->flist_xfertime;
	st.flist_size = c->flist_size;
	st.num_files = (int)c->num_files;
	st.num_dirs = (int)c->num_dirs;
	st.num_symlinks = (int)c->num_symlinks;
	st.num_devices = (int)c->num_devices;
	st.num_specials = (int)c->num_specials;
	st.created_files = (int)c->created_files;
	st.created_dirs = (int)c->created_dirs;
	st.created_symlinks = (int)c->created_symlinks;
	st.created_devices = (int)c->created_devices;
	st.created_specials = (int)c->created_specials;
	st.deleted_files = (int)c->deleted_files;
	st.deleted_dirs = (int)c->deleted_dirs;
	st.deleted_symlinks = (int)c->deleted_symlinks;
	st.deleted_devices = (int)c->deleted_devices;
	st.deleted_specials = (int)c->deleted_specials;
	st.xferred_files = (int)c->xferred_files;
	if (o->stats || o->info[OCE_INFO_STATS] >= 2)
		oce_print_stats(s->out, &st, o->human, s->protocol);
	oce_print_summary(s->out, &st, o->human, (oce_now_ms() - s->start_ms) / 1000, o->dry_run, false);
	fflush(s->out);
}

int
oce_client_run(struct oce_session *s, int fd_in, int fd_out, int argc, char **argv)
{
	int r = start_io(s, fd_in, fd_out);

	if (!r)
		r = oce_setup_protocol(s);
	if (!r && s->am_sender) {
		r = ocp_io_start_mux_out(s->io);
		if (!r)
			r = ocp_io_start_mux_in(s->io, 0);
		if (!r)
			r = oce_send_filter_list(s);
		if (!r)
			r = oce_flist_send(s, argc, argv);
		if (!r)
			r = ocp_io_flush(s->io);
		if (!r)
			r = oce_sender_run(s);
		/* Upstream counts from after the set-up and before the goodbye. */
		s->st.total_read = (int64_t)(s->io->bytes_in - s->setup_in);
		s->st.total_written = (int64_t)(s->io->bytes_out - s->setup_out);
		if (!r)
			r = oce_read_final_goodbye(s);
	} else if (!r) {
		r = ocp_io_start_mux_in(s->io, 0);
		if (!r)
			r = ocp_io_start_mux_out(s->io);
		if (!r)
			r = oce_send_filter_list(s);
		if (!r)
			r = ocp_io_flush(s->io);
		if (!r)
			r = recv_flist_forwarding(s);
		if (!r && s->fl.n) {
			s->dest = strdup(argc > 0 ? argv[0] : ".");
			r = oce_receiving_run(s);
		}
	}
	r = peer_said_why(s, r);
	oce_report_failure(s, r);
	if (!r)
		oce_print_client_summary(s);
	oce_progress_close_line(s);
	if (failed_here(s, r))
		send_error_exit(s, oce_final_code(s, r));
	return oce_final_code(s, r);
}

/* Split a remote-shell command line into words, honouring quotes as upstream's do_cmd(). */
static int
split_cmd(const char *cmd, struct oce_strv *out)
{
	char *buf = malloc(strlen(cmd) + 1), *w = buf;
	bool in_word = false;
	char q = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (const char *p = cmd;; p++) {
		char c = *p;

		if (!c || (!q && (c == ' ' || c == '\t'))) {
			if (in_word) {
				*w = '\0';
				r = oce_strv_push(out, buf);
				if (r)
					break;
				w = buf;
				in_word = false;
			}
			if (!c)
				break;
			continue;
		}
		in_word = true;
		if (q) {
			if (c == q)
				q = 0;
			else if (c == '\\' && q == '"' && p[1])
				*w++ = *++p;
			else
				*w++ = c;
		} else if (c == '\'' || c == '"') {
			q = c;
		} else if (c == '\\' && p[1]) {
			*w++ = *++p;
		} else {
			*w++ = c;
		}
	}
	free(buf);
	return r;
}

/* Is arg a remote-shell spec "[user@]host:path" (a colon before any slash)? */
static char *
host_split(const char *arg, char **host)
{
	const char *colon = strchr(arg, ':'), *slash = strchr(arg, '/');

	if (!colon || (slash && slash < colon) || colon == arg)
		return NULL;
	if (colon[1] == ':')
		return NULL; /* host::module is a daemon spec */
	*host = strndup(arg, (size_t)(colon - arg));
	return (char *)colon + 1;
}

static pid_t
spawn(char **argv, int *fd_in, int *fd_out)
{
	int to[2], from[2];
	pid_t pid;

	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(to[0], STDIN_FILENO);
		dup2(from[1], STDOUT_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: Failed to exec %s: %s (%d)\n", OCE_PROG, argv[0], strerror(errno), errno);
		oce_fast_exit(RERR_CMD_NOTFOUND);
	}
	close(to[0]);
	close(from[1]);
	*fd_in = from[0];
	*fd_out = to[1];
	return pid;
}

static int
wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return RERR_WAITCHILD;
	if (WIFEXITED(st))
		return WEXITSTATUS(st) == 255 ? RERR_CMD_FAILED : WEXITSTATUS(st);
	return RERR_CMD_KILLED;
}

int
oce_client_main(struct oce_opts *o)
{
	struct oce_session s;
	struct oce_strv cmd = {0};
	char *host = NULL, *hostbuf, *rpath;
	char **paths = o->args.v;
	int n = (int)o->args.n, fd_in = -1, fd_out = -1, code, child_code = 0, ff_fd = -1;
	bool push = false, local = false;
	char **listing = NULL;
	pid_t pid;

	code = refuse_unsupported(o, "client");
	if (code)
		return code;
	if (n < 1) {
		fprintf(stderr, "%s: no source given\n", OCE_PROG);
		oce_print_exit(stderr, RERR_SYNTAX, __FILE__, __LINE__, "client");
		return RERR_SYNTAX;
	}
	/* host::module and rsync:// (a module listing takes one argument). */
	if (oce_dclient_wanted(o))
		return oce_dclient_main(o);
	code = oce_dclient_only_opts(o);
	if (code)
		return code;
	/*
	 * One path lists it (a source with no destination; upstream's list_only),
	 * as does --list-only with a destination, which then goes unused.
	 */
	if (n == 1) {
		static char dot[] = ".";
		char **p2 = calloc(2, sizeof(*p2));

		if (!p2)
			return RERR_MALLOC;
		p2[0] = paths[0];
		p2[1] = dot;
		listing = p2;
		paths = p2;
		n = 2;
	}
	/* A local list is opened first, as upstream's option parser opens it. */
	if (o->files_from && !o->filesfrom_host) {
		ff_fd = oce_ff_open(o);
		if (ff_fd < 0) {
			oce_print_exit(stderr, RERR_SYNTAX, __FILE__, __LINE__, "client");
			return RERR_SYNTAX;
		}
	}
	rpath = host_split(paths[n - 1], &host);
	if (rpath) {
		push = true;
	} else {
		rpath = host_split(paths[0], &host);
		if (!rpath)
			local = true;
	}
	hostbuf = host;
	if (o->filesfrom_host && (local || (*o->filesfrom_host && strcmp(o->filesfrom_host, host)))) {
		fprintf(stderr, "%s\n",
			local ? "--files-from cannot be remote when the transfer is local"
			      : "--files-from hostname is not the same as the transfer hostname");
		oce_print_exit(stderr, RERR_SYNTAX, __FILE__, __LINE__, push || local ? "sender" : "Receiver");
		free(hostbuf);
		return RERR_SYNTAX; /* no local list: ff_fd was not opened */
	}
	oce_session_init(&s, o);
	s.local = local;
	/* Rules are parsed (merge files read) before connecting, as upstream's option parser does. */
	if (oce_filters_build(&s)) {
		code = s.exit_code ? s.exit_code : RERR_SYNTAX;
		goto out;
	}
	/* The sender reads a local list itself; a receiver forwards it. */
	s.ff_fd = ff_fd;
	s.ff_from_peer = o->filesfrom_host && push;
	/* A local copy the protocol-free path can do exactly (apps/engine/local/). */
	if (local && oce_local_wanted(o, &s)) {
		code = oce_local_run(&s, n - 1, paths);
		goto out;
	}
	/* Only the protocol-free local copy clones; saying "always" elsewhere is an error. */
	if (o->reflink == OCE_REFLINK_ALWAYS) {
		fprintf(stderr, "%s: --reflink=always is not supported %s\n", OCE_PROG,
			local ? "with these options (only a local copy the protocol-free path takes clones; see README)"
			      : "for a remote transfer");
		code = RERR_SYNTAX;
		goto out;
	}
	if (local) {
		int sv[2];
		struct oce_opts so = *o;
		char *sargs[2] = {".", paths[n - 1]};

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			code = RERR_IPC;
			goto out;
		}
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			close(sv[0]);
			so.server = true;
			so.sender = false;
			so.local_server = true;
			so.files_from = NULL; /* the list is the sending parent's */
			so.caps = OCE_OUR_CAPS;
			so.caps_seen = true;
			so.args.v = sargs;
			so.args.n = 2;
			oce_fast_exit(oce_server_main(&so, sv[1], sv[1]));
		}
		close(sv[1]);
		fd_in = fd_out = sv[0];
		s.am_sender = true;
		code = oce_client_run(&s, fd_in, fd_out, n - 1, paths);
	} else {
		const char *rsh = o->rsh ? o->rsh : getenv("RSYNC_RSH") ? getenv("RSYNC_RSH") : "ssh";
		struct oce_strv sa = {0};
		char *user = NULL, *at = strrchr(host, '@');

		if (split_cmd(rsh, &cmd)) {
			code = RERR_MALLOC;
			goto out;
		}
		if (at) {
			*at = '\0';
			user = host;
			host = at + 1;
		}
		if (user) {
			oce_strv_push(&cmd, "-l");
			oce_strv_push(&cmd, user);
		}
		if (oce_rsh_family_opt(o, cmd.v[0]))
			oce_strv_push(&cmd, oce_rsh_family_opt(o, cmd.v[0]));
		oce_strv_push(&cmd, host);
		oce_strv_push(&cmd, o->rsync_path ? o->rsync_path : "rsync");
		if (oce_server_args(o, !push, OCE_OUR_CAPS, &sa)) {
			code = RERR_MALLOC;
			goto out;
		}
		for (size_t i = 0; i < sa.n; i++)
			oce_strv_push(&cmd, sa.v[i]);
		oce_strv_free(&sa);
		if (push) {
			oce_strv_push(&cmd, *rpath ? rpath : ".");
		} else {
			for (int i = 0; i < n - 1; i++) {
				char *h2 = NULL, *p = host_split(paths[i], &h2);

				oce_strv_push(&cmd, p ? (*p ? p : ".") : paths[i]);
				free(h2);
			}
		}
		/* execvp wants a NULL after the last word */
		if (oce_strv_push(&cmd, "")) {
			code = RERR_MALLOC;
			goto out;
		}
		free(cmd.v[--cmd.n]);
		cmd.v[cmd.n] = NULL;
		if (o->debug[OCE_DEBUG_CMD] >= 1) {
			fflush(stdout);
			oce_print_argv("opening connection using:", cmd.v, cmd.n);
		}
		pid = spawn(cmd.v, &fd_in, &fd_out);
		if (pid < 0) {
			code = RERR_IPC;
			goto out;
		}
		s.am_sender = push;
		if (push)
			code = oce_client_run(&s, fd_in, fd_out, n - 1, paths);
		else
			code = oce_client_run(&s, fd_in, fd_out, 1, &paths[n - 1]);
	}
	if (empty_list_received(&s)) {
		/*
		 * A server with nothing to send exits at once. Upstream's client
		 * waits for it, prints its closing line, and only then sends its
		 * MSG_ERROR_EXIT, into the connection the server has closed.
		 */
		child_code = wait_child(pid);
		if (!code && child_code)
			code = child_code;
		if (code) {
			oce_print_exit(stderr, code, __FILE__, __LINE__, oce_who(&s));
			s.exit_shown = true;
			late_error_exit(&s, code);
		}
		pid = -1;
	}
	close(fd_in);
	if (fd_out != fd_in)
		close(fd_out);
	if (pid > 0)
		child_code = wait_child(pid);
	if (!code && child_code)
		code = child_code;
out:
	/* After the peer's MSG_ERROR_EXIT, its closing line is the one shown. */
	if (code && !s.peer_exit && !s.exit_shown)
		oce_print_exit(stderr, code, __FILE__, __LINE__, oce_who(&s));
	free(hostbuf);
	if (s.io)
		free(s.io);
	oce_session_free(&s);
	oce_strv_free(&cmd);
	free(listing);
	return code;
}

int
oce_rsh_split(const char *cmd, struct oce_strv *out)
{
	return split_cmd(cmd, out);
}

pid_t
oce_spawn(char **argv, int *fd_in, int *fd_out)
{
	return spawn(argv, fd_in, fd_out);
}

int
oce_wait_child(pid_t pid)
{
	return wait_child(pid);
}

const char *
oce_rsh_family_opt(const struct oce_opts *o, const char *cmd0)
{
	const char *base = cmd0 ? strrchr(cmd0, '/') : NULL;

	base = base ? base + 1 : cmd0;
	if (!o->ip_family || !base || strcmp(base, "ssh"))
		return NULL;
	return o->ip_family == 6 ? "-6" : "-4";
}
