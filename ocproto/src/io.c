/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto I/O layer: buffered, multiplexed reads and writes over a descriptor
 * with keep-alives and timeouts. See io.h and docs/design/ocproto.md.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ocproto/err.h"
#include "ocproto/io.h"

static ssize_t
sys_read(void *ctx, int fd, void *buf, size_t len)
{
	(void)ctx;
	return read(fd, buf, len);
}

static ssize_t
sys_write(void *ctx, int fd, const void *buf, size_t len)
{
	(void)ctx;
	return write(fd, buf, len);
}

static int
sys_poll(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	(void)ctx;
	return poll(fds, nfds, timeout_ms);
}

static int64_t
sys_now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct ocp_io_sys ocp_io_sys_default = {
    .read = sys_read,
    .write = sys_write,
    .poll = sys_poll,
    .now_ms = sys_now_ms,
    .ctx = NULL,
};

static int64_t
io_now(struct ocp_io *io)
{
	return io->sys->now_ms(io->sys->ctx);
}

int
ocp_io_init(struct ocp_io *io, int fd_in, int fd_out, const struct ocp_io_sys *sys)
{
	io->sys = sys ? sys : &ocp_io_sys_default;
	io->fd_in = fd_in;
	io->fd_out = fd_out;
	io->mux_in = false;
	io->mux_out = false;
	io->in_eof = false;
	io->rerr = 0;
	io->werr = 0;
	io->timeout_s = 0;
	io->last_out = io_now(io);
	io->on_msg = NULL;
	io->msg_arg = NULL;
	io->on_wait = NULL;
	io->wait_arg = NULL;
	io->in_pos = 0;
	io->in_len = 0;
	io->dpend = NULL;
	io->dlen = 0;
	io->out_len = 0;
	io->bytes_in = 0;
	io->bytes_out = 0;
	io->data_in = 0;
	io->data_out = 0;
	io->bwlimit = 0;
	io->bw_prior_us = 0;
	io->bw_owed = 0;
	io->ka_held = false;
	return ocp_demux_init(&io->dmx, 0);
}

void
ocp_io_set_bwlimit(struct ocp_io *io, int64_t kib)
{
	io->bwlimit = kib > 0 ? kib : 0;
	io->bw_prior_us = 0;
	io->bw_owed = 0;
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * After n bytes went out: what was written beyond the rate since the last
 * look is slept off once it is worth a tenth of a second; what the sleep
 * overshot is credited to the next round.
 */
static void
bw_sleep(struct ocp_io *io, size_t n)
{
	int64_t start = now_us(), slept, sleep_us;
	struct timespec ts;

	io->bw_owed += (int64_t)n;
	if (io->bw_prior_us) {
		io->bw_owed -= (start - io->bw_prior_us) * io->bwlimit / (1000000 / 1024);
		if (io->bw_owed < 0)
			io->bw_owed = 0;
	}
	sleep_us = io->bw_owed * (1000000 / 1024) / io->bwlimit;
	if (sleep_us < 1000000 / 10) {
		io->bw_prior_us = start;
		return;
	}
	ts.tv_sec = sleep_us / 1000000;
	ts.tv_nsec = (sleep_us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	io->bw_prior_us = now_us();
	slept = io->bw_prior_us - start;
	io->bw_owed = (sleep_us - slept) * io->bwlimit / (1000000 / 1024);
}

int
ocp_io_set_timeout(struct ocp_io *io, int seconds)
{
	if (seconds < 0)
		return -EINVAL;
	io->timeout_s = seconds;
	return 0;
}

int
ocp_io_timeout(const struct ocp_io *io)
{
	return io->timeout_s;
}

void
ocp_io_set_msg_handler(struct ocp_io *io, ocp_io_msg_fn fn, void *arg)
{
	io->on_msg = fn;
	io->msg_arg = arg;
}

void
ocp_io_set_wait_hook(struct ocp_io *io, ocp_io_wait_fn fn, void *arg)
{
	io->on_wait = fn;
	io->wait_arg = arg;
}

/*
 * Milliseconds poll() may sleep before `deadline` (-1 when there is none),
 * capped to what an int holds.
 */
static int
ms_until(int64_t now, int64_t deadline)
{
	int64_t d;

	if (deadline < 0)
		return -1;
	d = deadline - now;
	if (d < 0)
		return 0;
	return d > INT_MAX ? INT_MAX : (int)d;
}

/*
 * Read whatever the input descriptor has into the free tail of inbuf, without
 * waiting. Called while a write waits, so two peers that both write before
 * reading do not deadlock (upstream reads while it writes for the same
 * reason). The tail only grows, so pointers into inbuf stay valid.
 */
static void
absorb_input(struct ocp_io *io)
{
	size_t room = sizeof(io->inbuf) - io->in_len;
	ssize_t n;

	if (!room || io->in_eof || io->rerr)
		return;
	do
		n = io->sys->read(io->sys->ctx, io->fd_in, io->inbuf + io->in_len, room);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		io->in_len += (size_t)n;
		io->bytes_in += (uint64_t)n;
	} else if (n == 0)
		io->in_eof = true;
	else if (errno != EAGAIN && errno != EWOULDBLOCK)
		io->rerr = -errno;
}

/*
 * Write all of buf, retrying EINTR and short writes and polling on EAGAIN.
 * A wait with no progress for the timeout fails with -ETIMEDOUT. Errors are
 * sticky for the write direction. Mirrors upstream `writefd_unbuffered()`.
 */
static int
write_all(struct ocp_io *io, const uint8_t *buf, size_t len)
{
	int64_t progress = io_now(io);

	if (io->werr)
		return io->werr;
	while (len) {
		size_t cap = len;
		ssize_t n;

		if (io->bwlimit) {
			size_t most = (size_t)io->bwlimit * 128;

			if (most < 512)
				most = 512;
			if (cap > most)
				cap = most;
		}
		n = io->sys->write(io->sys->ctx, io->fd_out, buf, cap);
		if (n > 0) {
			io->bytes_out += (uint64_t)n;
			buf += n;
			len -= (size_t)n;
			if (io->bwlimit)
				bw_sleep(io, (size_t)n);
			progress = io_now(io);
			io->last_out = progress;
			continue;
		}
		if (n == 0) {
			io->werr = -EIO;
			return io->werr;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			io->werr = -errno;
			return io->werr;
		}
		for (;;) {
			struct pollfd p[2] = {{.fd = io->fd_out, .events = POLLOUT}};
			bool want_in = io->fd_in >= 0 && !io->in_eof && !io->rerr &&
				       io->in_len < sizeof(io->inbuf);
			int64_t now = io_now(io);
			int64_t deadline = io->timeout_s ? progress + io->timeout_s * 1000LL : -1;
			int r;

			if (deadline >= 0 && now >= deadline) {
				io->werr = -ETIMEDOUT;
				return io->werr;
			}
			if (want_in) {
				p[1].fd = io->fd_in;
				p[1].events = POLLIN;
			}
			r = io->sys->poll(io->sys->ctx, p, want_in ? 2 : 1,
					  ms_until(now, deadline));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				io->werr = -errno;
				return io->werr;
			}
			if (want_in && p[1].revents)
				absorb_input(io);
			if (p[0].revents)
				break;
		}
	}
	return 0;
}

int
ocp_io_flush(struct ocp_io *io)
{
	size_t n = io->out_len;
	int r;

	if (io->werr)
		return io->werr;
	if (!n)
		return 0;
	if (io->mux_out) {
		r = ocp_mux_hdr_encode(io->outbuf, OCP_MUX_HDR_SIZE, OCP_MSG_DATA, n);
		if (r < 0)
			return r;
		r = write_all(io, io->outbuf, OCP_MUX_HDR_SIZE + n);
	} else {
		r = write_all(io, io->outbuf + OCP_MUX_HDR_SIZE, n);
	}
	if (r == 0)
		io->out_len = 0;
	return r;
}

void
ocp_io_discard_output(struct ocp_io *io)
{
	io->out_len = 0;
}

int
ocp_io_start_mux_out(struct ocp_io *io)
{
	int r = ocp_io_flush(io);

	if (r == 0)
		io->mux_out = true;
	return r;
}

int
ocp_io_start_mux_in(struct ocp_io *io, size_t msg_cap)
{
	int r = ocp_demux_init(&io->dmx, msg_cap);

	if (r == 0)
		io->mux_in = true;
	return r;
}

int
ocp_io_write_data(struct ocp_io *io, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (io->werr)
		return io->werr;
	io->data_out += len;
	while (len) {
		size_t n = OCP_IO_BUF_SIZE - io->out_len;
		int r;

		if (n > len)
			n = len;
		memcpy(io->outbuf + OCP_MUX_HDR_SIZE + io->out_len, p, n);
		io->out_len += n;
		p += n;
		len -= n;
		if (io->out_len == OCP_IO_BUF_SIZE) {
			r = ocp_io_flush(io);
			if (r)
				return r;
		}
	}
	return 0;
}

int
ocp_io_write_msg(struct ocp_io *io, enum ocp_msg code, const void *payload, size_t len)
{
	int r;

	if (!io->mux_out || code == OCP_MSG_DATA || len > OCP_MUX_MSG_MAX)
		return -EINVAL;
	r = ocp_mux_msg_encode(io->msgbuf, sizeof(io->msgbuf), code, payload, len);
	if (r < 0)
		return r;
	/* Data queued before the message must reach the peer before it. */
	r = ocp_io_flush(io);
	if (r)
		return r;
	return write_all(io, io->msgbuf, OCP_MUX_HDR_SIZE + len);
}

int
ocp_io_write_msg_ahead(struct ocp_io *io, enum ocp_msg code, const void *payload, size_t len)
{
	int r;

	if (!io->mux_out || code == OCP_MSG_DATA || len > OCP_MUX_MSG_MAX)
		return -EINVAL;
	/* Pending data is framed only when flushed, so a whole message frame
	 * may go first without cutting anything. */
	r = ocp_mux_msg_encode(io->msgbuf, sizeof(io->msgbuf), code, payload, len);
	if (r < 0)
		return r;
	return write_all(io, io->msgbuf, OCP_MUX_HDR_SIZE + len);
}

/*
 * When the next keep-alive is due (now_ms), or -1 when none is sent: only
 * with a timeout and multiplexed output, not while held
 * (ocp_io_hold_keepalive()), after half the timeout without writing
 * (upstream's allowed_lull, kept in milliseconds here).
 */
static int64_t
keepalive_due(const struct ocp_io *io)
{
	if (!io->mux_out || !io->timeout_s || io->fd_out < 0 || io->ka_held)
		return -1;
	return io->last_out + io->timeout_s * 500LL;
}

void
ocp_io_hold_keepalive(struct ocp_io *io, bool hold)
{
	io->ka_held = hold;
}

/*
 * Keep a silent-looking link alive as rsync 3.1 and later do: pending data
 * if there is any, else an empty MSG_DATA frame, which every rsync version
 * takes without forwarding it anywhere (the protocol-30 MSG_NOOP is
 * forwarded by the peer's receiver, and makes a peer's sender answer with
 * one of its own). Whole frames only are ever written, so frame
 * boundaries are safe. Returns 0 or a write error. Mirrors upstream
 * `maybe_send_keepalive()`.
 */
static int
maybe_keepalive(struct ocp_io *io, int64_t now)
{
	int64_t due = keepalive_due(io);
	uint8_t hdr[OCP_MUX_HDR_SIZE];
	int r;

	if (due < 0 || now < due)
		return 0;
	if (io->out_len)
		return ocp_io_flush(io);
	r = ocp_mux_hdr_encode(hdr, sizeof(hdr), OCP_MSG_DATA, 0);
	if (r < 0)
		return r;
	return write_all(io, hdr, sizeof(hdr));
}

/*
 * Get more input into inbuf: returns the count of new bytes, 0 at EOF, or an
 * error. Pending output is flushed first (the peer may be waiting for it).
 * Waits with poll(); while waiting sends keep-alives, and fails with
 * -ETIMEDOUT when no byte arrives for the timeout. Mirrors the reading half
 * of upstream `perform_io()` with `check_timeout()`.
 */
static int
fill(struct ocp_io *io)
{
	size_t old;
	int64_t progress;
	int r;

	if (io->rerr)
		return io->rerr;
	if (io->fd_in < 0)
		return -EBADF;
	/*
	 * What was unread before the flush: a flush that has to wait reads
	 * input meanwhile (absorb_input()), and those bytes are new input to
	 * return, not a reason to wait for more (which can wait forever).
	 */
	old = io->in_len - io->in_pos;
	if (io->out_len) {
		r = ocp_io_flush(io);
		if (r)
			return r;
	}
	/* Nothing unread is referenced now: slide what is left to the front. */
	if (io->in_pos) {
		memmove(io->inbuf, io->inbuf + io->in_pos, io->in_len - io->in_pos);
		io->in_len -= io->in_pos;
		io->in_pos = 0;
	}
	progress = io_now(io);
	for (bool hooked = !io->on_wait;;) {
		struct pollfd p = {.fd = io->fd_in, .events = POLLIN};
		int64_t now, deadline, ka;
		ssize_t n;

		/* A write below may have absorbed input already. */
		if (io->in_len > old)
			return (int)(io->in_len - old);
		if (io->rerr)
			return io->rerr;
		if (io->in_eof)
			return 0;
		/* About to wait: the hook's turn first, once (ocp_io_set_wait_hook()). */
		if (!hooked) {
			do
				r = io->sys->poll(io->sys->ctx, &p, 1, 0);
			while (r < 0 && errno == EINTR);
			if (r == 0) {
				hooked = true;
				r = io->on_wait(io->wait_arg);
				if (!r && io->out_len)
					r = ocp_io_flush(io);
				if (r) {
					io->rerr = r;
					return r;
				}
				continue;
			}
		}
		now = io_now(io);
		deadline = io->timeout_s ? progress + io->timeout_s * 1000LL : -1;
		if (deadline >= 0 && now >= deadline) {
			io->rerr = -ETIMEDOUT;
			return io->rerr;
		}
		r = maybe_keepalive(io, now);
		if (r)
			return r;
		ka = keepalive_due(io);
		if (ka >= 0 && ka < deadline)
			deadline = ka;
		r = io->sys->poll(io->sys->ctx, &p, 1, ms_until(now, deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			io->rerr = -errno;
			return io->rerr;
		}
		if (r == 0)
			continue;
		do
			n = io->sys->read(io->sys->ctx, io->fd_in, io->inbuf + io->in_len,
					  sizeof(io->inbuf) - io->in_len);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			io->in_len += (size_t)n;
			io->bytes_in += (uint64_t)n;
		} else if (n == 0) {
			io->in_eof = true;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			io->rerr = -errno;
			return io->rerr;
		}
	}
}

/*
 * Act on one control message: MSG_NOOP is dropped, MSG_IO_TIMEOUT lowers
 * our timeout to the peer's (as upstream, only if ours is unset or longer),
 * and everything but NOOP is passed to the handler. Mirrors the message
 * half of upstream `read_a_msg()`.
 */
static int
handle_msg(struct ocp_io *io, const struct ocp_demux_event *ev)
{
	if (ev->code == OCP_MSG_NOOP)
		return 0;
	if (ev->code == OCP_MSG_IO_TIMEOUT) {
		int32_t t;

		if (ev->len != OCP_INT32_SIZE ||
		    ocp_dec_int32(ev->data, ev->len, &t) != OCP_INT32_SIZE)
			return OCP_EMSGLEN;
		/* A peer may only shorten our timeout: 0 or less would turn it
		 * off, and a huge one overflow the wait; both are ignored, as
		 * upstream does since its 2026 fixes. */
		if (t > 0 && t <= 86400 && (!io->timeout_s || io->timeout_s > t))
			io->timeout_s = t;
	}
	if (!io->on_msg)
		return OCP_EMSGCODE;
	return io->on_msg(io->msg_arg, ev->code, ev->data, ev->len);
}

int
ocp_io_read_some(struct ocp_io *io, void *buf, size_t len)
{
	const uint8_t *p;
	int n;

	if (len > INT_MAX)
		len = INT_MAX;
	if (!len)
		return -EINVAL;
	n = ocp_io_peek(io, &p);
	if (n <= 0)
		return n;
	if ((size_t)n > len)
		n = (int)len;
	memcpy(buf, p, (size_t)n);
	ocp_io_consume(io, (size_t)n);
	return n;
}

int
ocp_io_split(struct ocp_io *io, struct ocp_io *wio)
{
	int r = ocp_io_flush(io);

	if (r)
		return r;
	ocp_io_init(wio, -1, io->fd_out, io->sys);
	wio->mux_out = io->mux_out;
	wio->timeout_s = io->timeout_s;
	wio->last_out = io->last_out;
	wio->bwlimit = io->bwlimit;
	io->fd_out = -1;
	return 0;
}

int
ocp_io_rejoin(struct ocp_io *io, struct ocp_io *wio)
{
	int r = ocp_io_flush(wio);

	io->fd_out = wio->fd_out;
	io->mux_out = wio->mux_out;
	io->last_out = wio->last_out;
	io->bytes_out += wio->bytes_out;
	io->data_out += wio->data_out;
	if (!io->werr)
		io->werr = wio->werr;
	wio->fd_out = -1;
	return r;
}

int
ocp_io_peek(struct ocp_io *io, const uint8_t **p)
{
	int r;

	for (;;) {
		if (io->dlen) {
			*p = io->dpend;
			return io->dlen > INT_MAX ? INT_MAX : (int)io->dlen;
		}
		/*
		 * A reset (a peer that exited with our data unread) does not take
		 * back what it sent before: that may say why it went (upstream's
		 * MSG_ERROR_EXIT), so it is read first.
		 */
		if (io->rerr && !(io->rerr == -ECONNRESET && io->in_pos < io->in_len))
			return io->rerr;
		while (io->in_pos < io->in_len) {
			struct ocp_demux_event ev;

			if (!io->mux_in) {
				size_t n = io->in_len - io->in_pos;

				*p = io->inbuf + io->in_pos;
				return n > INT_MAX ? INT_MAX : (int)n;
			}
			r = ocp_demux_next(&io->dmx, io->inbuf + io->in_pos,
					   io->in_len - io->in_pos, &ev);
			if (r < 0) {
				io->rerr = r;
				return r;
			}
			io->in_pos += (size_t)r;
			if (ev.kind == OCP_DEMUX_DATA) {
				io->dpend = ev.data;
				io->dlen = ev.len;
				if (io->dlen)
					break;
			} else if (ev.kind == OCP_DEMUX_MSG) {
				r = handle_msg(io, &ev);
				if (r == OCP_IO_BREAK)
					return r; /* the handler's wish, not an error */
				if (r) {
					io->rerr = r;
					return r;
				}
			}
		}
		if (io->dlen)
			continue;
		r = fill(io);
		if (r < 0)
			return r;
		if (r == 0) {
			if (io->mux_in && !ocp_demux_idle(&io->dmx)) {
				io->rerr = OCP_ECLOSED;
				return io->rerr;
			}
			return 0;
		}
	}
}

void
ocp_io_consume(struct ocp_io *io, size_t n)
{
	if (io->dlen) {
		if (n > io->dlen)
			n = io->dlen;
		io->dpend += n;
		io->dlen -= n;
		io->data_in += n;
	} else if (!io->mux_in) {
		if (n > io->in_len - io->in_pos)
			n = io->in_len - io->in_pos;
		io->in_pos += n;
		io->data_in += n;
	}
}

int
ocp_io_read(struct ocp_io *io, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		int r = ocp_io_read_some(io, p, len);

		if (r == 0) {
			io->rerr = OCP_ECLOSED;
			return io->rerr;
		}
		if (r < 0)
			return r;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int
ocp_io_read_int32(struct ocp_io *io, int32_t *v)
{
	uint8_t b[OCP_INT32_SIZE];
	int r = ocp_io_read(io, b, sizeof(b));

	if (r)
		return r;
	r = ocp_dec_int32(b, sizeof(b), v);
	return r < 0 ? r : 0;
}

/* What a variable-length read decodes; one per int.h decoder. */
enum var_kind { VAR_INT, VAR_LONG, VAR_NDX };

/*
 * Read a variable-length integer one byte at a time until its decoder says
 * it is complete (the decoders need no more than their *_MAX bytes).
 */
static int
read_var(struct ocp_io *io, enum var_kind kind, unsigned min_bytes, struct ocp_ndx_state *st,
	 void *out)
{
	uint8_t b[OCP_VARLONG_MAX];
	size_t n = 0;
	int r;

	while (n < sizeof(b)) {
		r = ocp_io_read(io, b + n, 1);
		if (r)
			return r;
		n++;
		if (kind == VAR_INT)
			r = ocp_dec_varint(b, n, out);
		else if (kind == VAR_LONG)
			r = ocp_dec_varlong(b, n, min_bytes, out);
		else
			r = ocp_dec_ndx(b, n, st, out);
		if (r)
			return r < 0 ? r : 0;
	}
	return OCP_EPROTO;
}

int
ocp_io_read_varint(struct ocp_io *io, int32_t *v)
{
	return read_var(io, VAR_INT, 0, NULL, v);
}

int
ocp_io_read_varlong(struct ocp_io *io, unsigned min_bytes, int64_t *v)
{
	if (min_bytes < 1 || min_bytes > 8)
		return -EINVAL;
	return read_var(io, VAR_LONG, min_bytes, NULL, v);
}

int
ocp_io_read_ndx(struct ocp_io *io, struct ocp_ndx_state *st, int32_t *ndx)
{
	return read_var(io, VAR_NDX, 0, st, ndx);
}

/* Queue an encoder's output (r bytes in b, or its error). */
static int
write_enc(struct ocp_io *io, const uint8_t *b, int r)
{
	return r < 0 ? r : ocp_io_write_data(io, b, (size_t)r);
}

int
ocp_io_write_int32(struct ocp_io *io, int32_t v)
{
	uint8_t b[OCP_INT32_SIZE];

	return write_enc(io, b, ocp_enc_int32(b, sizeof(b), v));
}

int
ocp_io_write_varint(struct ocp_io *io, int32_t v)
{
	uint8_t b[OCP_VARINT_MAX];

	return write_enc(io, b, ocp_enc_varint(b, sizeof(b), v));
}

int
ocp_io_write_varlong(struct ocp_io *io, int64_t v, unsigned min_bytes)
{
	uint8_t b[OCP_VARLONG_MAX];

	return write_enc(io, b, ocp_enc_varlong(b, sizeof(b), v, min_bytes));
}

int
ocp_io_write_ndx(struct ocp_io *io, struct ocp_ndx_state *st, int32_t ndx)
{
	uint8_t b[OCP_NDX_MAX];

	return write_enc(io, b, ocp_enc_ndx(b, sizeof(b), st, ndx));
}
