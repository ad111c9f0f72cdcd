/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * --files-from: the sender reading its list of names (upstream io.c
 * read_line()), and the receiving side forwarding a list it holds to a
 * sending peer while the file list comes back (upstream io.c
 * start_filesfrom_forwarding() and forward_filesfrom_data()).
 *
 * Who reads what, as upstream decides (main.c, options.c):
 *   the list is where the sender is: the sender reads it itself, '#' and ';'
 *     lines and empty lines skipped, lines ended by CR or LF (NUL with --from0);
 *   the list is on the receiving side: the receiver forwards it, each name
 *     '\0'-terminated and an empty name last, and the sender reads it from
 *     the socket as it is, comments included.
 *
 * Concurrency: a reader belongs to the sender's thread. A forwarder runs
 * its own thread that owns the socket's write half until
 * oce_ff_forward_finish(); meanwhile the caller only reads the socket.
 */
#ifndef OCE_FILESFROM_H
#define OCE_FILESFROM_H

#include <stdbool.h>
#include <stddef.h>

#include "apps/engine/session.h"

/* Names from s->ff_fd or, when s->ff_from_peer, from the socket. */
struct oce_ff_reader {
	struct oce_session *s;
	int fd;
	bool from_peer, eol_nulls, dump_comments, eof;
	size_t pos, len;
	char buf[4096];
};

/* Start reading the session's list source. */
void oce_ff_reader_init(struct oce_ff_reader *rd, struct oce_session *s);

/*
 * The next name into buf (cap bytes, cut to fit as upstream cuts it).
 * Returns its length (> 0), 0 at the end of the list, or a negative error
 * (a socket that closes before the empty name that ends the list).
 */
int oce_ff_read_name(struct oce_ff_reader *rd, char *buf, size_t cap);

/*
 * Open o->files_from for reading ("-" is a duplicate of stdin), printing
 * upstream's message on failure. Returns the owned descriptor, or -1.
 */
int oce_ff_open(const struct oce_opts *o);

struct oce_ff_fwd;

/*
 * Forward the names read from fd (owned from here) to the peer on a
 * thread of its own, through the write half of s->io; the caller goes on
 * reading the file list. Refused for protocol 30, which sends the names
 * outside the multiplexed stream. Returns 0 or a negative error.
 */
int oce_ff_forward_start(struct oce_session *s, int fd, struct oce_ff_fwd **out);

/*
 * Wait for the forwarder (stop it first when abort: the caller failed and
 * will not read on) and give s->io its write half back. Frees fw. Returns
 * the forwarder's error, or 0.
 */
int oce_ff_forward_finish(struct oce_session *s, struct oce_ff_fwd *fw, bool abort);

#endif /* OCE_FILESFROM_H */
