/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The receiving side's socket writer (wout.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apps/engine/wout.h"
#include "ocproto/mux.h"

/* What travels through the channel: bytes that are whole frames. */
struct wblk {
	size_t len;
	uint8_t b[];
};

static void
wout_fail(struct oce_wout *w, int err)
{
	int none = 0;

	/* the first error is the one that counts; the close wakes blocked producers */
	atomic_compare_exchange_strong(&w->err, &none, err);
	ocq_chan_close(w->ch);
}

/*
 * Wait for the next block. With --timeout, a link that has carried nothing
 * for half of it gets an empty MSG_DATA frame, as upstream's generator
 * sends one while it waits for its receiver (maybe_send_keepalive()): our
 * generator then waits on its channel, not on the socket, and the sending
 * peer, blocked or idle, would otherwise see no input until it timed out.
 * Only between whole frames: everything gathered has been flushed.
 */
static int
wout_wait(struct oce_wout *w, void **item)
{
	for (;;) {
		int64_t now, due;
		int r;

		if (!w->lull_ms || atomic_load(&w->err))
			return ocq_recv(&w->rx, item);
		now = w->sys->now_ms(w->sys->ctx);
		due = w->out.last_out + w->lull_ms;
		if (now < due) {
			r = ocq_recv_timeout(&w->rx, item, (uint64_t)(due - now) * 1000000u);
			if (r != -ETIMEDOUT)
				return r;
			continue;
		}
		{
			uint8_t hdr[OCP_MUX_HDR_SIZE];
			int e = ocp_mux_hdr_encode(hdr, sizeof(hdr), OCP_MSG_DATA, 0);

			e = e < 0 ? e : ocp_io_write_data(&w->out, hdr, sizeof(hdr));
			if (!e)
				e = ocp_io_flush(&w->out);
			if (e)
				wout_fail(w, e);
			else
				w->ka_bytes += sizeof(hdr);
		}
	}
}

static void *
wout_thread(void *arg)
{
	struct oce_wout *w = arg;
	void *item;

	for (;;) {
		int r = ocq_try_recv(&w->rx, &item);

		if (r) {
			/* Nothing queued: what was gathered goes out before the wait. */
			if (!atomic_load(&w->err)) {
				int e = ocp_io_flush(&w->out);

				if (e)
					wout_fail(w, e);
			}
			if (wout_wait(w, &item))
				break; /* closed, and nothing left */
		}
		struct wblk *b = item;

		if (!atomic_load_explicit(&w->err, memory_order_relaxed)) {
			int e = ocp_io_write_data(&w->out, b->b, b->len);

			if (e)
				wout_fail(w, e);
		}
		free(b);
	}
	if (!atomic_load(&w->err)) {
		int e = ocp_io_flush(&w->out);

		if (e)
			wout_fail(w, e);
	}
	return NULL;
}

/* Queue len bytes through tx; block says whether a full channel is waited for. */
static int
wout_put(struct oce_wout *w, struct ocq_tx *tx, const void *buf, size_t len, bool block, uint8_t *hdr)
{
	struct wblk *b;
	int e = atomic_load(&w->err);
	size_t h = hdr ? OCP_MUX_HDR_SIZE : 0;

	if (e)
		return e;
	b = malloc(sizeof(*b) + h + len);
	if (!b)
		return -ENOMEM;
	b->len = h + len;
	if (h)
		memcpy(b->b, hdr, h);
	memcpy(b->b + h, buf, len);
	if ((block ? ocq_send(tx, b) : ocq_try_send(tx, b)) == 0)
		return 0;
	free(b);
	e = atomic_load(&w->err);
	if (e)
		return e;
	return block || ocq_chan_is_closed(w->ch) ? -EPIPE : -EAGAIN;
}

/* gio's write(2): the bytes are whole frames; the writer takes them. */
static ssize_t
hook_write(void *ctx, int fd, const void *buf, size_t len)
{
	struct oce_wout *w = ctx;
	int e;

	(void)fd;
	e = wout_put(w, &w->tx[0], buf, len, true, NULL);
	if (e) {
		errno = -e;
		return -1;
	}
	return (ssize_t)len;
}

static ssize_t
hook_read(void *ctx, int fd, void *buf, size_t len)
{
	const struct ocp_io_sys *sys = ((struct oce_wout *)ctx)->sys;

	return sys->read(sys->ctx, fd, buf, len);
}

static int
hook_poll(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	const struct ocp_io_sys *sys = ((struct oce_wout *)ctx)->sys;

	return sys->poll(sys->ctx, fds, nfds, timeout_ms);
}

static int64_t
hook_now(void *ctx)
{
	const struct ocp_io_sys *sys = ((struct oce_wout *)ctx)->sys;

	return sys->now_ms(sys->ctx);
}

int
oce_wout_start(struct oce_wout *w, struct ocp_io *gio)
{
	int r;

	memset(w, 0, sizeof(*w));
	r = ocq_chan_create(&w->ch, OCQ_MPSC, OCE_WOUT_DEPTH);
	if (!r)
		r = ocq_chan_with_producers(w->ch, 2, w->tx);
	if (!r)
		r = ocq_rx_open(&w->rx, w->ch);
	if (r) {
		if (w->ch)
			ocq_chan_destroy(w->ch);
		return r;
	}
	w->gio = gio;
	w->sys = gio->sys;
	w->bwlimit = gio->bwlimit;
	w->hook = (struct ocp_io_sys){hook_read, hook_write, hook_poll, hook_now, w};
	ocp_io_init(&w->out, -1, gio->fd_out, gio->sys);
	ocp_io_set_timeout(&w->out, ocp_io_timeout(gio));
	ocp_io_set_bwlimit(&w->out, w->bwlimit);
	/*
	 * w->out's lull starts now (ocp_io_init()), not at gio's last write: the
	 * generator is about to write, and a receiving side that has only read
	 * the file list for a while must not greet the split with a keep-alive.
	 */
	w->lull_ms = gio->mux_out ? ocp_io_timeout(gio) * 500LL : 0;
	r = -pthread_create(&w->thread, NULL, wout_thread, w);
	if (r) {
		ocq_tx_release(&w->tx[0]);
		ocq_tx_release(&w->tx[1]);
		ocq_rx_release(&w->rx);
		ocq_chan_destroy(w->ch);
		return r;
	}
	/* From here the generator's writes are queued, and paced by the writer. */
	gio->sys = &w->hook;
	ocp_io_set_bwlimit(gio, 0);
	return 0;
}

int
oce_wout_msg(struct oce_wout *w, enum ocp_msg code, const void *payload, size_t len)
{
	uint8_t hdr[OCP_MUX_HDR_SIZE];
	int r = ocp_mux_hdr_encode(hdr, sizeof(hdr), code, len);

	if (r < 0)
		return r;
	return wout_put(w, &w->tx[1], payload, len, false, hdr);
}

int
oce_wout_close(struct oce_wout *w, int wait_s)
{
	struct ocp_io *gio = w->gio;

	if (w->joined)
		return atomic_load(&w->err);
	if (gio->sys == &w->hook) {
		int e = ocp_io_flush(gio);

		if (e && !atomic_load(&w->err))
			wout_fail(w, e);
		/* Everything queued before the close is still written. */
		ocq_chan_close(w->ch);
		/* gio keeps the hook: its writes now fail (EPIPE), never reach the socket beside the writer */
	}
	if (wait_s > 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_s;
		if (pthread_timedjoin_np(w->thread, NULL, &ts))
			return -ETIMEDOUT;
	} else {
		pthread_join(w->thread, NULL);
	}
	w->joined = true;
	return atomic_load(&w->err);
}

int
oce_wout_stop(struct oce_wout *w, int wait_s)
{
	struct ocp_io *gio = w->gio;
	int e;

	if (w->stopped)
		return atomic_load(&w->err);
	e = oce_wout_close(w, wait_s);
	if (!w->joined)
		return e;
	w->stopped = true;
	gio->sys = w->sys;
	ocp_io_set_bwlimit(gio, w->bwlimit);
	gio->last_out = w->out.last_out;
	gio->bytes_out += w->ka_bytes;
	ocq_tx_release(&w->tx[0]);
	ocq_tx_release(&w->tx[1]);
	ocq_rx_release(&w->rx);
	ocq_chan_destroy(w->ch);
	return e;
}
