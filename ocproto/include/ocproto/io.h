/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto I/O layer (upstream io.c): the one part of ocproto that touches a
 * file descriptor. It buffers reads and writes, frames outgoing bytes as
 * MSG_DATA and control messages once multiplexing is on, feeds incoming
 * bytes through struct ocp_demux, hands control messages to a callback,
 * sends MSG_NOOP keep-alives and enforces the I/O timeout.
 *
 * Every read, write, poll and clock reading goes through a struct
 * ocp_io_sys table (SQLite's aSyscall idea) so tests can inject EINTR, short
 * writes, EOF and time.
 *
 * Errors: 0 (or a byte count where stated) on success, else a negative errno
 * or OCP_E* code. Apps map them to upstream exit codes:
 *   -ETIMEDOUT      no progress for the timeout     RERR_TIMEOUT  (30)
 *   OCP_ECLOSED     EOF where bytes were due        RERR_STREAMIO (12)
 *   OCP_EMSG*, OCP_ETOOLONG, other -errno           RERR_STREAMIO (12)
 * After an error a direction is unusable: the error is sticky and every
 * later call in that direction returns it again.
 *
 * Memory: a struct ocp_io is fixed-size (about 75 KiB: two OCP_IO_BUF_SIZE
 * buffers, one control frame, the demultiplexer); nothing is allocated and
 * no peer-supplied length sizes a buffer.
 *
 * Concurrency: a struct ocp_io belongs to one thread at a time; reads and
 * writes on it must not run concurrently (reading may write keep-alives and
 * writing may buffer input). Different ocp_io objects are independent.
 */
#ifndef OCPROTO_IO_H
#define OCPROTO_IO_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ocproto/int.h"
#include "ocproto/mux.h"

/*
 * Size of the input buffer and the largest MSG_DATA payload we send per
 * frame: upstream's IO_BUFFER_SIZE (32 KiB). Smaller frames are sent when
 * the caller flushes or a control message must keep its place.
 */
#define OCP_IO_BUF_SIZE (32 * 1024)

/*
 * System calls used by ocp_io, with the semantics of read(2), write(2) and
 * poll(2) (-1 and errno on failure); now_ms returns a monotonic clock in
 * milliseconds. ctx is passed to every call.
 */
struct ocp_io_sys {
	ssize_t (*read)(void *ctx, int fd, void *buf, size_t len);
	ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
	int (*poll)(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms);
	int64_t (*now_ms)(void *ctx);
	void *ctx;
};

/* The real system calls; now_ms reads CLOCK_MONOTONIC. */
extern const struct ocp_io_sys ocp_io_sys_default;

/*
 * Receives one control message (never MSG_DATA or MSG_NOOP; MSG_IO_TIMEOUT
 * after it has been applied). payload is valid only during the call. Return
 * 0 to go on, or a negative code that the pending read returns (sticky).
 * The handler may write (ocp_io_write_*) but must not read from io.
 */
typedef int (*ocp_io_msg_fn)(void *arg, enum ocp_msg code, const uint8_t *payload, size_t len);

/*
 * Called when a read is about to wait for the peer: nothing is buffered
 * and the descriptor has nothing either. The hook may write (what it
 * writes is flushed before the wait) but must not read. Return 0 to go on
 * and wait, or a negative code that the read returns (sticky).
 */
typedef int (*ocp_io_wait_fn)(void *arg);

/* One connection; fields are private. Both directions start raw. */
struct ocp_io {
	const struct ocp_io_sys *sys;
	int fd_in, fd_out;
	bool mux_in, mux_out;
	bool in_eof;
	int rerr, werr;	  /* sticky errors per direction */
	int timeout_s;	  /* 0: none */
	int64_t last_out; /* now_ms of the last bytes written */
	ocp_io_msg_fn on_msg;
	void *msg_arg;
	ocp_io_wait_fn on_wait;
	void *wait_arg;
	size_t in_pos, in_len; /* unread bytes: inbuf[in_pos, in_len) */
	const uint8_t *dpend;  /* DATA bytes demuxed but not yet returned */
	size_t dlen;
	size_t out_len; /* pending data at outbuf + OCP_MUX_HDR_SIZE */
	uint64_t bytes_in, bytes_out; /* raw bytes read and written (upstream total_read/written) */
	uint64_t data_in, data_out;   /* of which data, without the frames (upstream total_data_*) */
	int64_t bwlimit;	/* KiB/s, 0: no limit (upstream bwlimit) */
	int64_t bw_prior_us;	/* when the limiter last looked, 0: never */
	int64_t bw_owed;	/* bytes written faster than the rate allows */
	bool ka_held;		/* no keep-alives for now (ocp_io_hold_keepalive()) */
	struct ocp_demux dmx;
	uint8_t inbuf[OCP_IO_BUF_SIZE];
	uint8_t outbuf[OCP_MUX_HDR_SIZE + OCP_IO_BUF_SIZE];
	uint8_t msgbuf[OCP_MUX_HDR_SIZE + OCP_MUX_MSG_MAX];
};

/*
 * Set up io over fd_in and fd_out (may be equal; -1 for a direction not
 * used), raw both ways, no timeout, no message handler. sys NULL means
 * ocp_io_sys_default; sys must outlive io. The caller keeps ownership of
 * the descriptors. Returns 0.
 */
int ocp_io_init(struct ocp_io *io, int fd_in, int fd_out, const struct ocp_io_sys *sys);

/*
 * Set the I/O timeout in seconds (0: none, negative: -EINVAL). Returns 0.
 * Mirrors upstream `set_io_timeout()`.
 */
int ocp_io_set_timeout(struct ocp_io *io, int seconds);

/*
 * Limit what io writes to kib KiB a second (0: no limit): writes are cut to
 * kib * 128 bytes (at least 512) and each is followed by a sleep that
 * keeps the average at the rate. Mirrors upstream `sleep_for_bwlimit()`.
 */
void ocp_io_set_bwlimit(struct ocp_io *io, int64_t kib);

/* The current I/O timeout in seconds (MSG_IO_TIMEOUT may have lowered it). */
int ocp_io_timeout(const struct ocp_io *io);

/* Route incoming control messages to fn(arg, ...); fn NULL refuses them. */
void ocp_io_set_msg_handler(struct ocp_io *io, ocp_io_msg_fn fn, void *arg);
/*
 * Call fn(arg) before a read waits for input (NULL: no hook). A pipeline
 * that holds output back while it reads ahead hands it over there, so the
 * peer is never left waiting for bytes we hold while we wait for its.
 */
void ocp_io_set_wait_hook(struct ocp_io *io, ocp_io_wait_fn fn, void *arg);
/*
 * Hold keep-alives back (hold true) or let them go again. Upstream's
 * receiving side sends none until it has split into generator and
 * receiver: while it still reads the file list, a keep-alive would reach a
 * sender that reads nothing yet (rsync before 3.1.0 dies of it).
 */
void ocp_io_hold_keepalive(struct ocp_io *io, bool hold);
/*
 * What a handler returns for "handled, and stop the read that is waiting":
 * the read returns it (not a sticky error) with the message consumed and
 * no data byte taken; the caller decides whether to read again.
 */
#define OCP_IO_BREAK (-4199)

/*
 * Flush raw output, then frame everything written from now on. Returns 0
 * or the flush error. Mirrors upstream `io_start_multiplex_out()`.
 */
int ocp_io_start_mux_out(struct ocp_io *io);

/*
 * Parse input as frames from now on, including bytes already buffered.
 * msg_cap as ocp_demux_init() (0: OCP_MUX_MSG_MAX). Returns 0 or -EINVAL.
 * Mirrors upstream `io_start_multiplex_in()`.
 */
int ocp_io_start_mux_in(struct ocp_io *io, size_t msg_cap);

/*
 * Queue len bytes of the data stream, writing full OCP_IO_BUF_SIZE frames
 * (or raw chunks) as the buffer fills. Returns 0 or an error.
 * Mirrors upstream `write_buf()`.
 */
int ocp_io_write_data(struct ocp_io *io, const void *buf, size_t len);

/*
 * Send one control message: pending data is flushed first so the message
 * keeps its place in the stream, then the frame is written whole. Needs
 * multiplexed output (-EINVAL otherwise, or for a pair ocp_mux_check()
 * refuses, MSG_DATA, or len above OCP_MUX_MSG_MAX). Mirrors upstream
 * `send_msg()`.
 */
int ocp_io_write_msg(struct ocp_io *io, enum ocp_msg code, const void *payload, size_t len);

/*
 * As ocp_io_write_msg(), but the message goes out ahead of data still in
 * the buffer, as every message does in upstream (perform_io() empties the
 * message buffer before the data buffer). For messages whose place among
 * the data does not matter but whose timing the peer shows, such as
 * MSG_DELETED: rsync's sender logs a deletion before the files whose
 * indexes were queued ahead of it.
 */
int ocp_io_write_msg_ahead(struct ocp_io *io, enum ocp_msg code, const void *payload, size_t len);

/* Write all pending data. Returns 0 or an error. Mirrors upstream `io_flush()`. */
int ocp_io_flush(struct ocp_io *io);

/*
 * Forget output not yet written, so that reads (which flush first) can go
 * on after a write error: a peer that stopped reading may still have said
 * why it stopped.
 */
void ocp_io_discard_output(struct ocp_io *io);

/*
 * Read up to len (> 0) data-stream bytes, waiting only if none are buffered.
 * Pending output is flushed before waiting, and keep-alives are sent while
 * waiting. Returns the count (> 0), 0 on EOF between frames, OCP_ECLOSED on
 * EOF inside a frame, or an error.
 */
int ocp_io_read_some(struct ocp_io *io, void *buf, size_t len);

/*
 * Read exactly len data-stream bytes. Returns 0, OCP_ECLOSED on any EOF
 * first, or an error. Mirrors upstream `read_buf()`.
 */
int ocp_io_read(struct ocp_io *io, void *buf, size_t len);

/*
 * Point *p at the buffered data-stream bytes that follow (waiting for at
 * least one as ocp_io_read_some() does) without taking them. Returns how
 * many are contiguous at *p (> 0), 0 on EOF between frames, or an error.
 * Lets sans-I/O decoders work in place; ocp_io_consume() then takes the
 * bytes they used. A frame or buffer boundary may cut an item: when the
 * decoder needs more than is contiguous, gather the item elsewhere.
 */
int ocp_io_peek(struct ocp_io *io, const uint8_t **p);
/* Take n bytes of what ocp_io_peek() showed (at most that many). */
void ocp_io_consume(struct ocp_io *io, size_t n);

/*
 * Give the write half of io to wio (uninitialised), so one thread can read
 * io while another writes wio: pending output is flushed, wio takes the
 * output descriptor, framing state and timeout, and io keeps input only.
 * Returns 0 or the flush error.
 */
int ocp_io_split(struct ocp_io *io, struct ocp_io *wio);

/*
 * Undo ocp_io_split() once the writing thread is done with wio: wio is
 * flushed, and io takes back the output descriptor, framing state and the
 * byte count (wio's bytes are added to io's). wio is left without output.
 * Returns the flush error, which io's output then keeps (sticky), or 0.
 */
int ocp_io_rejoin(struct ocp_io *io, struct ocp_io *wio);

/* Typed reads over int.h: 0 or an error (decode errors as int.h). */
int ocp_io_read_int32(struct ocp_io *io, int32_t *v);
int ocp_io_read_varint(struct ocp_io *io, int32_t *v);
int ocp_io_read_varlong(struct ocp_io *io, unsigned min_bytes, int64_t *v);
/* Mirrors upstream `read_ndx()`; st is the read direction's state. */
int ocp_io_read_ndx(struct ocp_io *io, struct ocp_ndx_state *st, int32_t *ndx);

/* Typed writes over int.h: 0 or an error. */
int ocp_io_write_int32(struct ocp_io *io, int32_t v);
int ocp_io_write_varint(struct ocp_io *io, int32_t v);
int ocp_io_write_varlong(struct ocp_io *io, int64_t v, unsigned min_bytes);
/* Mirrors upstream `write_ndx()`; st is the write direction's state. */
int ocp_io_write_ndx(struct ocp_io *io, struct ocp_ndx_state *st, int32_t ndx);

#endif /* OCPROTO_IO_H */
