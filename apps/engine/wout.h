/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The receiving side's socket writer: one thread owns the write half of
 * the connection, and the roles that write to it (the generator, the
 * receiver) hand it whole frames through an ocq MPSC channel. Upstream has
 * the same shape in processes: its receiver sends its lines to the
 * generator over a pipe, and one process writes the socket.
 *
 * The generator keeps writing through its struct ocp_io (framing, the
 * 32 KiB data buffer, flush points, keep-alive decisions, byte counts);
 * oce_wout_start() swaps that io's system-call table for one whose write()
 * queues the bytes, so every write the io makes is one or more whole
 * frames and lands in the channel in the order the generator made them.
 * The receiver, a second producer with its own handle, queues its message
 * frames (oce_wout_msg()) without waiting on the generator: they go out
 * ahead of data the generator still buffers, as every message does in
 * upstream (see ocp_io_write_msg_ahead()).
 *
 * The thread writes what it takes with an ocp_io of its own in raw mode,
 * so short writes, EAGAIN, the I/O timeout and --bwlimit pacing are the
 * I/O layer's, and frames that queue up while it writes leave in one
 * write(2). The first write error is kept: the channel closes, both
 * producers' next writes fail with it, and oce_wout_stop() returns it.
 *
 * Concurrency: oce_wout_start() and oce_wout_stop() on the generator's
 * thread; the generator's io on that thread only; oce_wout_msg() on one
 * other thread at a time (the receiver's handle).
 */
#ifndef OCE_WOUT_H
#define OCE_WOUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "ocproto/io.h"
#include "ocq/ocq.h"

/* Frames (or blocks of frames) waiting for the writer: 16 of at most 32 KiB. */
#define OCE_WOUT_DEPTH 16

struct oce_wout {
	struct ocq_chan *ch;
	struct ocq_rx rx;
	struct ocq_tx tx[2];	      /* 0: the generator's io, 1: oce_wout_msg() */
	struct ocp_io *gio;	      /* the generator's io, its sys swapped */
	const struct ocp_io_sys *sys; /* gio's table before the swap */
	int64_t bwlimit;	      /* gio's --bwlimit, applied by the writer instead */
	struct ocp_io_sys hook;	      /* gio's table while the writer runs */
	struct ocp_io out;	      /* the writer's own io: raw, the real descriptor */
	_Atomic int err;	      /* the first write error, or 0 */
	int64_t lull_ms;	      /* a keep-alive after this long without writing, 0: none */
	uint64_t ka_bytes;	      /* bytes of the writer's own keep-alives */
	bool joined;  /* the thread has ended */
	bool stopped; /* and the channel is gone */
	pthread_t thread;
};

/*
 * Start a writer for gio (multiplexed output, the socket's write half,
 * used by the calling thread from now on as before). Returns 0 or a
 * negative errno; on failure gio is as it was.
 */
int oce_wout_start(struct oce_wout *w, struct ocp_io *gio);

/*
 * Queue one control message as a whole frame, from the second producer's
 * thread, without waiting: 0, -EAGAIN when the channel is full (the caller
 * sends it another way), or the writer's error.
 */
int oce_wout_msg(struct oce_wout *w, enum ocp_msg code, const void *payload, size_t len);

/*
 * Flush gio into the channel and close it, and wait at most wait_s seconds
 * (0: no limit) for the writer to write everything queued and end. The
 * channel stays, so a second producer still running (a receiver left
 * behind) fails its sends instead of touching freed memory; gio's writes
 * fail from now on. Returns 0, the first write error, or -ETIMEDOUT with
 * the writer still running.
 */
int oce_wout_close(struct oce_wout *w, int wait_s);

/*
 * oce_wout_close(), then, once the writer has ended, free the channel:
 * gio gets its own table back. A writer still blocked after wait_s (a
 * peer that stopped reading, no --timeout) is left running and
 * -ETIMEDOUT returned; call again to wait for it. Returns 0 or the first
 * write error. Call it once the second producer is done.
 */
int oce_wout_stop(struct oce_wout *w, int wait_s);

#endif /* OCE_WOUT_H */
