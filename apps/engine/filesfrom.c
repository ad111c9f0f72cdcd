/* SPDX-License-Identifier: GPL-3.0-or-later */
/* --files-from: reading the list and forwarding it; see filesfrom.h. */
#include "apps/engine/filesfrom.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/util.h"

#define FF_CHUNK 4096 /* bytes read from the list per forwarded piece */

void
oce_ff_reader_init(struct oce_ff_reader *rd, struct oce_session *s)
{
	memset(rd, 0, offsetof(struct oce_ff_reader, buf));
	rd->s = s;
	rd->fd = s->ff_fd;
	rd->from_peer = s->ff_from_peer;
	/* A forwarded list arrives '\0'-separated and is taken as it is. */
	rd->eol_nulls = rd->from_peer || s->o->from0;
	rd->dump_comments = !rd->from_peer;
}

/* One byte of the list: 1, 0 at its end, or a negative error. */
static int
next_byte(struct oce_ff_reader *rd, char *c)
{
	if (rd->from_peer) {
		uint8_t b;
		int r = oce_io_read_byte(rd->s->io, &b);

		if (r)
			return r;
		*c = (char)b;
		return 1;
	}
	if (rd->pos == rd->len) {
		ssize_t n;

		if (rd->eof)
			return 0;
		do
			n = read(rd->fd, rd->buf, sizeof(rd->buf));
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			/* A read error ends the list, as upstream's safe_read() would end it. */
			rd->eof = true;
			return 0;
		}
		rd->pos = 0;
		rd->len = (size_t)n;
	}
	*c = rd->buf[rd->pos++];
	return 1;
}

int
oce_ff_read_name(struct oce_ff_reader *rd, char *buf, size_t cap)
{
	size_t n;
	int r;
	char c = 0;

	for (;;) {
		n = 0;
		while ((r = next_byte(rd, &c)) > 0) {
			bool eol = rd->eol_nulls ? c == '\0' : c == '\r' || c == '\n';

			if (eol) {
				if (rd->dump_comments && n == 0)
					continue; /* an empty line is skipped, not the end */
				break;
			}
			if (n < cap - 1)
				buf[n++] = c;
		}
		if (r < 0)
			return r;
		buf[n] = '\0';
		if (!rd->dump_comments || (buf[0] != '#' && buf[0] != ';'))
			return (int)n;
	}
}

int
oce_ff_open(const struct oce_opts *o)
{
	int fd = strcmp(o->files_from, "-") ? open(o->files_from, O_RDONLY | O_CLOEXEC)
					    : fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		fprintf(stderr, "%s: failed to open files-from file %s: %s\n", OCE_PROG,
			o->files_from, strerror(errno));
	return fd;
}

struct oce_ff_fwd {
	struct oce_session *s;
	struct ocp_io wio;
	int fd;
	int err;
	pthread_t thread;
};

/*
 * Turn a piece of the list into what goes on the wire, in place: line ends
 * become '\0' (unless the list is already '\0'-separated), and empty names
 * are dropped, including across pieces (*last is the previous byte sent).
 * Returns the new length.
 */
static size_t
pack_names(char *buf, size_t n, bool eol_nulls, char *last)
{
	size_t t = 0;

	for (size_t i = 0; i < n; i++) {
		char c = buf[i];

		if (!eol_nulls && (c == '\n' || c == '\r'))
			c = '\0';
		if (!c && !*last)
			continue;
		buf[t++] = c;
		*last = c;
	}
	return t;
}

static void *
forward_main(void *arg)
{
	struct oce_ff_fwd *fw = arg;
	bool eol_nulls = fw->s->o->from0;
	char buf[FF_CHUNK], last = '\0';
	int r = 0;

	while (!r) {
		ssize_t n = read(fw->fd, buf, sizeof(buf));
		size_t m;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* End the last name if it is open, then the empty name. */
			r = ocp_io_write_data(&fw->wio, "\0\0", last ? 2 : 1);
			break;
		}
		m = pack_names(buf, (size_t)n, eol_nulls, &last);
		if (m)
			r = ocp_io_write_data(&fw->wio, buf, m);
		/* The sender waits for each name: do not hold them back. */
		if (!r)
			r = ocp_io_flush(&fw->wio);
	}
	if (!r)
		r = ocp_io_flush(&fw->wio);
	fw->err = r;
	return NULL;
}

int
oce_ff_forward_start(struct oce_session *s, int fd, struct oce_ff_fwd **out)
{
	struct oce_ff_fwd *fw;
	int r;

	*out = NULL;
	if (s->protocol < 31) {
		close(fd);
		oce_error(
		    s, "--files-from with a list on the receiving side needs protocol 31 or later");
		s->exit_code = RERR_UNSUPPORTED;
		return -ENOTSUP;
	}
	fw = calloc(1, sizeof(*fw));
	if (!fw) {
		close(fd);
		return -ENOMEM;
	}
	fw->s = s;
	fw->fd = fd;
	r = ocp_io_split(s->io, &fw->wio);
	if (!r) {
		r = -pthread_create(&fw->thread, NULL, forward_main, fw);
		if (r)
			ocp_io_rejoin(s->io, &fw->wio);
	}
	if (r) {
		close(fd);
		free(fw);
		return r;
	}
	*out = fw;
	return 0;
}

int
oce_ff_forward_finish(struct oce_session *s, struct oce_ff_fwd *fw, bool abort)
{
	int r;

	if (abort)
		pthread_cancel(fw->thread);
	pthread_join(fw->thread, NULL);
	r = ocp_io_rejoin(s->io, &fw->wio);
	if (!abort && fw->err)
		r = fw->err;
	close(fw->fd);
	free(fw);
	return abort ? 0 : r;
}
