/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for apps/engine/wout.h, the receiving side's socket writer:
 * the generator's io and a second thread both reach the socket through
 * it, every frame arrives whole, each producer's bytes keep their order,
 * and a peer that stops reading or goes away ends both producers' writes
 * with the error, not a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "apps/engine/wout.h"
#include "ocproto/mux.h"

/* Everything one end of a socketpair received, read on a thread of its own. */
struct sink {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	pthread_t t;
};

static void *
sink_run(void *arg)
{
	struct sink *k = arg;

	for (;;) {
		ssize_t n;

		if (k->cap - k->len < 65536) {
			k->cap = k->cap ? k->cap * 2 : 1 << 20;
			k->buf = realloc(k->buf, k->cap);
		}
		n = read(k->fd, k->buf + k->len, k->cap - k->len);
		if (n <= 0)
			break;
		k->len += (size_t)n;
	}
	return NULL;
}

/* The frames of a received stream: joined data, and the messages in order. */
struct frames {
	uint8_t *data;
	size_t dlen;
	int ncodes[128];
	int nempty; /* empty MSG_DATA frames: keep-alives */
	char msgs[4096][32];
	int nmsgs;
};

static void
split_frames(const struct sink *k, struct frames *f)
{
	size_t pos = 0;

	memset(f, 0, sizeof(*f));
	f->data = malloc(k->len + 1);
	while (pos < k->len) {
		uint32_t hdr;
		size_t len;
		int tag;

		assert_true(k->len - pos >= 4);
		hdr = (uint32_t)k->buf[pos] | (uint32_t)k->buf[pos + 1] << 8 | (uint32_t)k->buf[pos + 2] << 16 |
		      (uint32_t)k->buf[pos + 3] << 24;
		tag = (int)(hdr >> 24) - 7;
		len = hdr & 0xffffff;
		pos += 4;
		assert_true(tag >= 0 && tag < 128);
		assert_true(k->len - pos >= len); /* no frame cut short */
		if (tag == OCP_MSG_DATA) {
			f->nempty += len == 0;
			memcpy(f->data + f->dlen, k->buf + pos, len);
			f->dlen += len;
		} else {
			f->ncodes[tag]++;
			assert_true(f->nmsgs < 4096 && len < 32);
			memcpy(f->msgs[f->nmsgs], k->buf + pos, len);
			f->msgs[f->nmsgs++][len] = 0;
		}
		pos += len;
	}
}

struct rig {
	int sv[2];
	struct ocp_io gio;
	struct oce_wout w;
	struct sink k;
};

static void
rig_up(struct rig *g)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g->sv), 0);
	ocp_io_init(&g->gio, -1, g->sv[0], NULL);
	assert_int_equal(ocp_io_start_mux_out(&g->gio), 0);
	g->k.fd = g->sv[1];
}

static void
rig_down(struct rig *g)
{
	close(g->sv[0]);
	if (g->k.t)
		pthread_join(g->k.t, NULL);
	close(g->sv[1]);
	free(g->k.buf);
}

/* The second producer: numbered lines, retried while the channel is full. */
struct second {
	struct oce_wout *w;
	int n;
	int sent;
};

static void *
second_run(void *arg)
{
	struct second *p = arg;

	for (int i = 0; i < p->n; i++) {
		char line[32];
		int len = snprintf(line, sizeof(line), "line %d\n", i);
		int r;

		while ((r = oce_wout_msg(p->w, OCP_MSG_INFO, line, (size_t)len)) == -EAGAIN)
			sched_yield();
		if (r)
			break;
		p->sent++;
	}
	return NULL;
}

static void
test_two_producers(void **state)
{
	struct rig g;
	struct second p;
	struct frames *f = malloc(sizeof(*f));
	pthread_t t;
	uint8_t *want;
	size_t total = 0;

	(void)state;
	rig_up(&g);
	assert_int_equal(pthread_create(&g.k.t, NULL, sink_run, &g.k), 0);
	assert_int_equal(oce_wout_start(&g.w, &g.gio), 0);
	p = (struct second){.w = &g.w, .n = 3000};
	assert_int_equal(pthread_create(&t, NULL, second_run, &p), 0);
	/* the generator: data of every size, with its own messages in between */
	want = malloc(8 << 20);
	for (int i = 0; total < (7 << 20); i++) {
		size_t n = (size_t)(i * 7919) % 70000 + 1;

		for (size_t j = 0; j < n; j++)
			want[total + j] = (uint8_t)((total + j) * 131 + (total + j) / 251);
		assert_int_equal(ocp_io_write_data(&g.gio, want + total, n), 0);
		total += n;
		if (i % 50 == 0)
			assert_int_equal(ocp_io_write_msg(&g.gio, OCP_MSG_WARNING, "gen\n", 4), 0);
		if (i % 17 == 0)
			assert_int_equal(ocp_io_flush(&g.gio), 0);
	}
	assert_int_equal(ocp_io_flush(&g.gio), 0);
	pthread_join(t, NULL);
	assert_int_equal(p.sent, p.n);
	assert_int_equal(oce_wout_stop(&g.w, 0), 0);
	/* the io has its own table back, and bytes written through it count */
	assert_ptr_equal(g.gio.sys, &ocp_io_sys_default);
	assert_true(g.gio.bytes_out > total);
	close(g.sv[0]);
	g.sv[0] = -1;
	pthread_join(g.k.t, NULL);
	g.k.t = 0;
	split_frames(&g.k, f);
	assert_int_equal(f->dlen, total);
	assert_memory_equal(f->data, want, total);
	assert_int_equal(f->ncodes[OCP_MSG_INFO], p.n);
	/* the second producer's lines in its order */
	for (int i = 0, next = 0; i < f->nmsgs; i++) {
		char line[32];

		if (strncmp(f->msgs[i], "line ", 5))
			continue;
		snprintf(line, sizeof(line), "line %d\n", next++);
		assert_string_equal(f->msgs[i], line);
	}
	free(want);
	free(f->data);
	free(f);
	close(g.sv[1]);
	free(g.k.buf);
}

/* A line queued after the generator's flush went into the channel arrives after that data. */
static void
test_causal_order(void **state)
{
	struct rig g;
	struct frames *f = malloc(sizeof(*f));

	(void)state;
	rig_up(&g);
	assert_int_equal(pthread_create(&g.k.t, NULL, sink_run, &g.k), 0);
	assert_int_equal(oce_wout_start(&g.w, &g.gio), 0);
	assert_int_equal(ocp_io_write_data(&g.gio, "abc", 3), 0);
	assert_int_equal(ocp_io_flush(&g.gio), 0);
	assert_int_equal(oce_wout_msg(&g.w, OCP_MSG_INFO, "x\n", 2), 0);
	/* buffered, not flushed: the line goes ahead of it */
	assert_int_equal(ocp_io_write_data(&g.gio, "def", 3), 0);
	assert_int_equal(oce_wout_msg(&g.w, OCP_MSG_INFO, "y\n", 2), 0);
	assert_int_equal(oce_wout_stop(&g.w, 0), 0);
	close(g.sv[0]);
	pthread_join(g.k.t, NULL);
	assert_int_equal(g.k.len, 4 + 3 + 4 + 2 + 4 + 2 + 4 + 3);
	assert_memory_equal(g.k.buf + 4, "abc", 3);
	assert_memory_equal(g.k.buf + 11, "x\n", 2);
	assert_memory_equal(g.k.buf + 17, "y\n", 2);
	assert_memory_equal(g.k.buf + 23, "def", 3);
	free(f);
	close(g.sv[1]);
	free(g.k.buf);
}

/* The peer goes away: the error reaches both producers and oce_wout_stop(). */
static void
test_peer_gone(void **state)
{
	struct rig g;
	static uint8_t chunk[65536];
	int r = 0;

	(void)state;
	rig_up(&g);
	close(g.sv[1]);
	g.sv[1] = -1;
	assert_int_equal(oce_wout_start(&g.w, &g.gio), 0);
	for (int i = 0; i < 1000 && !r; i++)
		r = ocp_io_write_data(&g.gio, chunk, sizeof(chunk));
	assert_int_equal(r, -EPIPE);
	r = 0;
	for (int i = 0; i < 100 && !r; i++)
		r = oce_wout_msg(&g.w, OCP_MSG_INFO, "z\n", 2);
	assert_int_equal(r, -EPIPE);
	assert_int_equal(oce_wout_stop(&g.w, 0), -EPIPE);
	close(g.sv[0]);
}

/* A peer that stops reading: with a timeout the writer gives up, and the blocked generator wakes. */
static void
test_peer_stalls(void **state)
{
	struct rig g;
	static uint8_t chunk[65536];
	int r = 0;

	(void)state;
	rig_up(&g);
	/* the timeout is kept while a write waits in poll(), as on the engine's sockets */
	fcntl(g.sv[0], F_SETFL, O_NONBLOCK);
	ocp_io_set_timeout(&g.gio, 1);
	assert_int_equal(oce_wout_start(&g.w, &g.gio), 0);
	for (int i = 0; i < 10000 && !r; i++)
		r = ocp_io_write_data(&g.gio, chunk, sizeof(chunk));
	assert_int_equal(r, -ETIMEDOUT);
	assert_int_equal(oce_wout_stop(&g.w, 0), -ETIMEDOUT);
	rig_down(&g);
}

/* Without a timeout, a bounded stop leaves a stalled writer running and says so. */
static void
test_stop_bounded(void **state)
{
	struct rig g;
	static uint8_t chunk[65536];

	(void)state;
	rig_up(&g);
	assert_int_equal(oce_wout_start(&g.w, &g.gio), 0);
	/* more than the socket and the channel hold: the writer blocks */
	for (int i = 0; i < 8; i++)
		assert_int_equal(ocp_io_write_data(&g.gio, chunk, sizeof(chunk)), 0);
	assert_int_equal(oce_wout_stop(&g.w, 1), -ETIMEDOUT);
	assert_false(g.w.stopped);
	/* freeing the peer's side ends it */
	shutdown(g.sv[0], SHUT_WR);
	assert_int_equal(oce_wout_stop(&g.w, 0), -EPIPE);
	assert_true(g.w.stopped);
	rig_down(&g);
}

/* After a close a late second producer is refused, not served from freed memory. */
static void
test_close_then_late_line(void **state)
{
	struct rig g;

	(void)state;
	rig_up(&g);
	assert_int_equal(pthread_create(&g.k.t, NULL, sink_run, &g.k), 0);
	assert_int_equal(oce_wout_start(&g.w, &g.gio), 0);
	assert_int_equal(ocp_io_write_data(&g.gio, "abc", 3), 0);
	assert_int_equal(oce_wout_close(&g.w, 2), 0);
	assert_true(g.w.joined);
	assert_false(g.w.stopped);
	assert_int_equal(oce_wout_msg(&g.w, OCP_MSG_INFO, "late\n", 5), -EPIPE);
	assert_int_equal(ocp_io_write_msg(&g.gio, OCP_MSG_INFO, "gen\n", 4), -EPIPE);
	assert_int_equal(oce_wout_stop(&g.w, 0), 0);
	close(g.sv[0]);
	g.sv[0] = -1;
	pthread_join(g.k.t, NULL);
	g.k.t = 0;
	/* what was buffered before the close went out, and nothing after */
	assert_int_equal(g.k.len, 4 + 3);
	assert_memory_equal(g.k.buf + 4, "abc", 3);
	close(g.sv[1]);
	free(g.k.buf);
}

/*
 * An idle link with --timeout gets empty MSG_DATA frames from the writer,
 * half the timeout apart (the generator is waiting on its channel, not on
 * the socket); without a timeout it gets none.
 */
static void
test_keepalive_when_idle(void **state)
{
	for (int timeout = 0; timeout <= 1; timeout++) {
		struct rig g;
		struct frames f;
		struct timespec idle = {1, 300000000}; /* 1.3 s: two lulls of 0.5 s */
		uint64_t before;

		(void)state;
		rig_up(&g);
		ocp_io_set_timeout(&g.gio, timeout);
		assert_int_equal(pthread_create(&g.k.t, NULL, sink_run, &g.k), 0);
		assert_int_equal(oce_wout_start(&g.w, &g.gio), 0);
		assert_int_equal(ocp_io_write_data(&g.gio, "abc", 3), 0);
		assert_int_equal(ocp_io_flush(&g.gio), 0);
		nanosleep(&idle, NULL);
		before = g.gio.bytes_out;
		assert_int_equal(oce_wout_stop(&g.w, 0), 0);
		close(g.sv[0]);
		g.sv[0] = -1;
		pthread_join(g.k.t, NULL);
		g.k.t = 0;
		split_frames(&g.k, &f);
		assert_int_equal(f.dlen, 3);
		assert_memory_equal(f.data, "abc", 3);
		if (timeout) {
			/* two due; a third at most on a slow machine that stopped late */
			assert_true(f.nempty >= 1 && f.nempty <= 3);
			/* counted as sent, as upstream counts its keep-alives */
			assert_int_equal(g.gio.bytes_out - before, (uint64_t)f.nempty * 4);
		} else {
			assert_int_equal(f.nempty, 0);
		}
		free(f.data);
		close(g.sv[1]);
		free(g.k.buf);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_producers), cmocka_unit_test(test_causal_order),
		cmocka_unit_test(test_peer_gone),     cmocka_unit_test(test_peer_stalls),
		cmocka_unit_test(test_stop_bounded),  cmocka_unit_test(test_close_then_late_line),
		cmocka_unit_test(test_keepalive_when_idle),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
