/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ocproto/io.h over socketpairs and pipes, with a
 * fault-injecting syscall table: EINTR on every call, 1-byte reads, 1..3
 * byte writes, and a fake clock so timeouts and keep-alives need no waiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ocproto/err.h"
#include "ocproto/int.h"
#include "ocproto/io.h"
#include "ocproto/mux.h"

/* Fault injection over real descriptors. */
struct fake {
	bool eintr;	  /* fail every other call with EINTR */
	size_t max_read;  /* 0: no limit */
	bool short_write; /* accept 1, 2, 3, 1, ... bytes */
	bool fake_clock;
	int64_t now;
	unsigned calls, writes;
	unsigned nread, nwrite, npoll; /* per-kind call counts */
};

/* Fail the first, third, ... call of each kind (*count) with EINTR. */
static bool
inject_eintr(struct fake *f, unsigned *count)
{
	f->calls++;
	if (f->eintr && ((*count)++ & 1) == 0) {
		errno = EINTR;
		return true;
	}
	return false;
}

static ssize_t
fake_read(void *ctx, int fd, void *buf, size_t len)
{
	struct fake *f = ctx;

	if (inject_eintr(f, &f->nread))
		return -1;
	if (f->max_read && len > f->max_read)
		len = f->max_read;
	return read(fd, buf, len);
}

static ssize_t
fake_write(void *ctx, int fd, const void *buf, size_t len)
{
	struct fake *f = ctx;

	if (inject_eintr(f, &f->nwrite))
		return -1;
	if (f->short_write) {
		size_t n = 1 + f->writes++ % 3;

		if (len > n)
			len = n;
	}
	return write(fd, buf, len);
}

static int
fake_poll(void *ctx, struct pollfd *fds, nfds_t n, int timeout_ms)
{
	struct fake *f = ctx;
	int r;

	if (inject_eintr(f, &f->npoll))
		return -1;
	if (!f->fake_clock)
		return poll(fds, n, timeout_ms);
	/* Never sleep: report "nothing ready" and let the clock jump instead. */
	r = poll(fds, n, 0);
	if (r == 0)
		f->now += timeout_ms < 0 ? 1000 : timeout_ms;
	return r;
}

static int64_t
fake_now(void *ctx)
{
	struct fake *f = ctx;

	if (f->fake_clock)
		return f->now;
	return ocp_io_sys_default.now_ms(NULL);
}

static void
fake_sys(struct ocp_io_sys *sys, struct fake *f)
{
	sys->read = fake_read;
	sys->write = fake_write;
	sys->poll = fake_poll;
	sys->now_ms = fake_now;
	sys->ctx = f;
}

/* Message handler recording each message and how much data preceded it. */
struct seen {
	int n;
	enum ocp_msg code[8];
	size_t at[8];
	char text[8][64];
	size_t *data_so_far;
	int fail_with;
};

static int
record_msg(void *arg, enum ocp_msg code, const uint8_t *payload, size_t len)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->code[s->n] = code;
		s->at[s->n] = s->data_so_far ? *s->data_so_far : 0;
		memcpy(s->text[s->n], payload, len < 63 ? len : 63);
		s->text[s->n][len < 63 ? len : 63] = '\0';
	}
	s->n++;
	return s->fail_with;
}

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
fill_pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed + (i >> 8));
}

/* Allocated: struct ocp_io is ~75 KiB, too big to keep several on a stack. */
static struct ocp_io *
new_io(int fd_in, int fd_out, const struct ocp_io_sys *sys)
{
	struct ocp_io *io = malloc(sizeof(*io));

	assert_non_null(io);
	assert_int_equal(ocp_io_init(io, fd_in, fd_out, sys), 0);
	return io;
}

static void
test_raw_round_trip_pipe(void **state)
{
	int p[2];
	struct ocp_io *w, *r;
	struct ocp_ndx_state ws, rs;
	char buf[6] = {0};
	int32_t i32, n1, n2;
	int64_t l;

	(void)state;
	assert_int_equal(pipe(p), 0);
	w = new_io(-1, p[1], NULL);
	r = new_io(p[0], -1, NULL);
	ocp_ndx_init(&ws, 31);
	ocp_ndx_init(&rs, 31);
	assert_int_equal(ocp_io_write_data(w, "hello", 5), 0);
	assert_int_equal(ocp_io_write_int32(w, -123456), 0);
	assert_int_equal(ocp_io_write_varint(w, 0x123456), 0);
	assert_int_equal(ocp_io_write_varlong(w, 0x123456789aLL, 3), 0);
	assert_int_equal(ocp_io_write_ndx(w, &ws, 5), 0);
	assert_int_equal(ocp_io_write_ndx(w, &ws, 40000), 0);
	/* Raw mode refuses control messages. */
	assert_int_equal(ocp_io_write_msg(w, OCP_MSG_INFO, "x", 1), -EINVAL);
	assert_int_equal(ocp_io_flush(w), 0);
	close(p[1]);

	assert_int_equal(ocp_io_read(r, buf, 5), 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(ocp_io_read_int32(r, &i32), 0);
	assert_int_equal(i32, -123456);
	assert_int_equal(ocp_io_read_varint(r, &i32), 0);
	assert_int_equal(i32, 0x123456);
	assert_int_equal(ocp_io_read_varlong(r, 3, &l), 0);
	assert_int_equal(l, 0x123456789aLL);
	assert_int_equal(ocp_io_read_ndx(r, &rs, &n1), 0);
	assert_int_equal(ocp_io_read_ndx(r, &rs, &n2), 0);
	assert_int_equal(n1, 5);
	assert_int_equal(n2, 40000);
	/* Clean EOF: read_some says 0, an exact read says "closed". */
	assert_int_equal(ocp_io_read_some(r, buf, 1), 0);
	assert_int_equal(ocp_io_read(r, buf, 1), OCP_ECLOSED);
	close(p[0]);
	free(w);
	free(r);
}

/* The bytes on the wire: DATA frames of at most OCP_IO_BUF_SIZE, in order. */
static void
test_mux_wire_format(void **state)
{
	int sv[2];
	struct ocp_io *w;
	static uint8_t data[40000], wire[41000];
	size_t got = 0, off = 0;
	ssize_t n;
	struct {
		enum ocp_msg code;
		uint32_t len;
	} want[] = {{OCP_MSG_DATA, OCP_IO_BUF_SIZE},
		    {OCP_MSG_DATA, 40000 - OCP_IO_BUF_SIZE},
		    {OCP_MSG_INFO, 3},
		    {OCP_MSG_DATA, 2}};

	(void)state;
	pair(sv);
	fill_pattern(data, sizeof(data), 1);
	w = new_io(-1, sv[0], NULL);
	assert_int_equal(ocp_io_start_mux_out(w), 0);
	/* In pieces, so frames are cut by the buffer, not by the calls. */
	for (size_t i = 0; i < sizeof(data); i += 1000)
		assert_int_equal(ocp_io_write_data(w, data + i, 1000), 0);
	assert_int_equal(ocp_io_write_msg(w, OCP_MSG_INFO, "hi\n", 3), 0);
	assert_int_equal(ocp_io_write_data(w, "ab", 2), 0);
	assert_int_equal(ocp_io_write_msg(w, OCP_MSG_DATA, "ab", 2), -EINVAL);
	assert_int_equal(ocp_io_write_msg(w, OCP_MSG_NOOP, "x", 1), -EINVAL);
	assert_int_equal(ocp_io_flush(w), 0);
	close(sv[0]);
	while ((n = read(sv[1], wire + got, sizeof(wire) - got)) > 0)
		got += (size_t)n;
	assert_int_equal(got, 40000 + 3 + 2 + 4 * OCP_MUX_HDR_SIZE);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		enum ocp_msg code;
		uint32_t len;

		assert_int_equal(ocp_mux_hdr_decode(wire + off, got - off, &code, &len),
				 OCP_MUX_HDR_SIZE);
		assert_int_equal(code, want[i].code);
		assert_int_equal(len, want[i].len);
		off += OCP_MUX_HDR_SIZE + len;
	}
	assert_int_equal(off, got);
	assert_memory_equal(wire + OCP_MUX_HDR_SIZE, data, OCP_IO_BUF_SIZE);
	close(sv[1]);
	free(w);
}

struct mixed {
	int fd;
	const struct ocp_io_sys *sys;
	const uint8_t *data; /* 3000 bytes */
	int rc;
	int step; /* the step that failed, for the report */
};

/*
 * Write a mixed stream: raw int32, then framed data, messages and a varint.
 * Runs in its own thread because tiny writes fill a socket buffer quickly.
 */
static void *
mixed_writer(void *arg)
{
	struct mixed *m = arg;
	struct ocp_io *w = malloc(sizeof(*w));
	int rc = -ENOMEM;

	if (!w)
		goto out;
	ocp_io_init(w, -1, m->fd, m->sys);
	m->step = 0;
	if ((rc = ocp_io_write_int32(w, 31)) != 0) /* raw, like the version */
		goto out;
	m->step++;
	if ((rc = ocp_io_start_mux_out(w)) != 0)
		goto out;
	m->step++;
	if ((rc = ocp_io_write_data(w, m->data, 1000)) != 0)
		goto out;
	m->step++;
	if ((rc = ocp_io_write_msg(w, OCP_MSG_WARNING, "careful\n", 8)) != 0)
		goto out;
	m->step++;
	if ((rc = ocp_io_write_msg(w, OCP_MSG_NOOP, NULL, 0)) != 0)
		goto out;
	m->step++;
	if ((rc = ocp_io_write_data(w, m->data + 1000, 2000)) != 0)
		goto out;
	m->step++;
	if ((rc = ocp_io_write_msg(w, OCP_MSG_ERROR, "oops\n", 5)) != 0)
		goto out;
	m->step++;
	if ((rc = ocp_io_write_varint(w, 77777)) != 0)
		goto out;
	m->step++;
	rc = ocp_io_flush(w);
out:
	free(w);
	close(m->fd);
	m->rc = rc;
	return NULL;
}

/*
 * A mixed stream read back through ocp_io under the given faults: data,
 * messages and integers arrive in order.
 */
static void
mux_round_trip(struct fake *fw, struct fake *fr)
{
	int sv[2];
	struct ocp_io_sys sw, sr;
	struct ocp_io *r;
	static uint8_t data[3000], back[3000];
	struct seen seen = {0};
	struct mixed m;
	pthread_t th;
	size_t so_far = 0;
	int32_t v;
	int k;

	pair(sv);
	fake_sys(&sw, fw);
	fake_sys(&sr, fr);
	fill_pattern(data, sizeof(data), 7);
	m = (struct mixed){.fd = sv[0], .sys = &sw, .data = data};
	assert_int_equal(pthread_create(&th, NULL, mixed_writer, &m), 0);
	r = new_io(sv[1], -1, &sr);
	seen.data_so_far = &so_far;
	ocp_io_set_msg_handler(r, record_msg, &seen);
	assert_int_equal(ocp_io_set_timeout(r, 10), 0);
	assert_int_equal(ocp_io_read_int32(r, &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(ocp_io_start_mux_in(r, 0), 0);
	while (so_far < sizeof(back)) {
		k = ocp_io_read_some(r, back + so_far, sizeof(back) - so_far);
		assert_true(k > 0);
		so_far += (size_t)k;
	}
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(ocp_io_read_varint(r, &v), 0);
	assert_int_equal(v, 77777);
	assert_int_equal(ocp_io_read_some(r, back, 1), 0);
	pthread_join(th, NULL);
	assert_int_equal(m.rc, 0);
	/* NOOP swallowed; the others in place relative to the data. */
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.code[0], OCP_MSG_WARNING);
	assert_int_equal(seen.at[0], 1000);
	assert_string_equal(seen.text[0], "careful\n");
	assert_int_equal(seen.code[1], OCP_MSG_ERROR);
	assert_int_equal(seen.at[1], 3000);
	assert_string_equal(seen.text[1], "oops\n");
	close(sv[1]);
	free(r);
}

static void
test_mux_round_trip_plain(void **state)
{
	struct fake fw = {0}, fr = {0};

	(void)state;
	mux_round_trip(&fw, &fr);
}

static void
test_mux_round_trip_faults(void **state)
{
	struct fake fw = {.eintr = true, .short_write = true};
	struct fake fr = {.eintr = true, .max_read = 1};

	(void)state;
	mux_round_trip(&fw, &fr);
	assert_true(fw.writes > 1000); /* the short writes did happen */
	assert_true(fr.calls > 3000);
}

/* Raw bytes the reader buffered ahead are parsed as frames after the switch. */
static void
test_switch_keeps_buffered_bytes(void **state)
{
	int sv[2];
	struct ocp_io *w, *r;
	struct seen seen = {0};
	int32_t v;
	char buf[4] = {0};

	(void)state;
	pair(sv);
	w = new_io(-1, sv[0], NULL);
	r = new_io(sv[1], -1, NULL);
	assert_int_equal(ocp_io_write_int32(w, 0x01020304), 0);
	assert_int_equal(ocp_io_start_mux_out(w), 0);
	assert_int_equal(ocp_io_write_msg(w, OCP_MSG_INFO, "i", 1), 0);
	assert_int_equal(ocp_io_write_data(w, "xyz", 3), 0);
	assert_int_equal(ocp_io_flush(w), 0);
	ocp_io_set_msg_handler(r, record_msg, &seen);
	assert_int_equal(ocp_io_read_int32(r, &v), 0);
	assert_int_equal(v, 0x01020304);
	assert_int_equal(ocp_io_start_mux_in(r, 0), 0);
	assert_int_equal(ocp_io_read(r, buf, 3), 0);
	assert_string_equal(buf, "xyz");
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.code[0], OCP_MSG_INFO);
	close(sv[0]);
	close(sv[1]);
	free(w);
	free(r);
}

/* Feed raw bytes, close, and read them through a multiplexed ocp_io. */
static int
read_after(const uint8_t *bytes, size_t n, size_t want, struct seen *seen)
{
	int sv[2], r;
	struct ocp_io *io;
	uint8_t buf[64];

	pair(sv);
	assert_int_equal(write(sv[0], bytes, n), (ssize_t)n);
	close(sv[0]);
	io = new_io(sv[1], -1, NULL);
	ocp_io_set_msg_handler(io, seen ? record_msg : NULL, seen);
	assert_int_equal(ocp_io_start_mux_in(io, 0), 0);
	r = ocp_io_read(io, buf, want);
	/* Errors are sticky. */
	if (r)
		assert_int_equal(ocp_io_read(io, buf, 1), r);
	close(sv[1]);
	free(io);
	return r;
}

static void
test_eof_and_bad_streams(void **state)
{
	/* DATA frame of 10 with only 3 payload bytes. */
	static const uint8_t mid_data[] = {10, 0, 0, 7, 'a', 'b', 'c'};
	/* INFO frame of 5 cut after 2 bytes. */
	static const uint8_t mid_msg[] = {2, 0, 0, 7, 'o', 'k', 5, 0, 0, 9, 'h', 'e'};
	/* Half a header. */
	static const uint8_t mid_hdr[] = {2, 0, 0, 7, 'o', 'k', 5, 0};
	/* Whole frames, but fewer data bytes than wanted. */
	static const uint8_t short_stream[] = {2, 0, 0, 7, 'o', 'k'};
	/* An unframed int32 31: rsync's "unexpected tag -7". */
	static const uint8_t unframed[] = {31, 0, 0, 0};
	static const uint8_t info[] = {1, 0, 0, 9, '!', 2, 0, 0, 7, 'o', 'k'};
	struct seen seen = {0};
	struct ocp_io *io;
	uint8_t buf[16];
	int sv[2];

	(void)state;
	/* read_some: the 3 bytes, then "closed" rather than a clean 0. */
	pair(sv);
	assert_int_equal(write(sv[0], mid_data, sizeof(mid_data)), (ssize_t)sizeof(mid_data));
	close(sv[0]);
	io = new_io(sv[1], -1, NULL);
	assert_int_equal(ocp_io_start_mux_in(io, 0), 0);
	assert_int_equal(ocp_io_read_some(io, buf, sizeof(buf)), 3);
	assert_int_equal(ocp_io_read_some(io, buf, sizeof(buf)), OCP_ECLOSED);
	close(sv[1]);
	free(io);

	assert_int_equal(read_after(mid_data, sizeof(mid_data), 10, NULL), OCP_ECLOSED);
	assert_int_equal(read_after(mid_msg, sizeof(mid_msg), 3, NULL), OCP_ECLOSED);
	assert_int_equal(read_after(mid_hdr, sizeof(mid_hdr), 3, NULL), OCP_ECLOSED);
	assert_int_equal(read_after(short_stream, sizeof(short_stream), 3, NULL), OCP_ECLOSED);
	assert_int_equal(read_after(unframed, sizeof(unframed), 1, NULL), OCP_EMSGCODE);
	assert_int_equal(read_after(short_stream, sizeof(short_stream), 2, NULL), 0);
	/* No handler: a text message is refused; a failing handler's code wins. */
	assert_int_equal(read_after(info, sizeof(info), 2, NULL), OCP_EMSGCODE);
	seen.fail_with = -ECANCELED;
	assert_int_equal(read_after(info, sizeof(info), 2, &seen), -ECANCELED);
	assert_int_equal(seen.n, 1);
}

static void
test_io_timeout_message(void **state)
{
	/* MSG_IO_TIMEOUT (33 + 7 = 0x28) of 7 s, then 1 data byte. */
	static const uint8_t t7[] = {4, 0, 0, 0x28, 7, 0, 0, 0, 1, 0, 0, 7, 'z'};
	static const uint8_t neg[] = {4, 0, 0, 0x28, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 7, 'z'};
	static const uint8_t short2[] = {2, 0, 0, 0x28, 7, 0, 1, 0, 0, 7, 'z'};
	int sv[2];
	struct ocp_io *io;
	struct seen seen = {0};
	char c;

	(void)state;
	for (int start = 0; start <= 30; start += 30) {
		pair(sv);
		assert_int_equal(write(sv[0], t7, sizeof(t7)), (ssize_t)sizeof(t7));
		io = new_io(sv[1], -1, NULL);
		assert_int_equal(ocp_io_set_timeout(io, start), 0);
		ocp_io_set_msg_handler(io, record_msg, &seen);
		assert_int_equal(ocp_io_start_mux_in(io, 0), 0);
		assert_int_equal(ocp_io_read(io, &c, 1), 0);
		assert_int_equal(c, 'z');
		/* Unset or longer timeouts drop to the peer's; shorter ones stay. */
		assert_int_equal(ocp_io_timeout(io), 7);
		close(sv[0]);
		close(sv[1]);
		free(io);
	}
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.code[1], OCP_MSG_IO_TIMEOUT);

	pair(sv);
	assert_int_equal(write(sv[0], t7, sizeof(t7)), (ssize_t)sizeof(t7));
	io = new_io(sv[1], -1, NULL);
	assert_int_equal(ocp_io_set_timeout(io, 3), 0);
	ocp_io_set_msg_handler(io, record_msg, &seen);
	assert_int_equal(ocp_io_start_mux_in(io, 0), 0);
	assert_int_equal(ocp_io_read(io, &c, 1), 0);
	assert_int_equal(ocp_io_timeout(io), 3);
	assert_int_equal(ocp_io_set_timeout(io, -1), -EINVAL);
	close(sv[0]);
	close(sv[1]);
	free(io);

	/* A timeout of -1 or 0 would switch ours off: ignored, the data after it reads. */
	assert_int_equal(read_after(neg, sizeof(neg), 1, &seen), 0);
	/* MSG_IO_TIMEOUT carries exactly 4 bytes. */
	assert_int_equal(read_after(short2, sizeof(short2), 1, &seen), OCP_EMSGLEN);
}

/* A silent peer: -ETIMEDOUT once the timeout has passed, not before. */
static void
test_timeout_fake_clock(void **state)
{
	int sv[2];
	struct fake f = {.fake_clock = true, .now = 5000, .eintr = true};
	struct ocp_io_sys sys;
	struct ocp_io *io;
	char c;

	(void)state;
	pair(sv);
	fake_sys(&sys, &f);
	io = new_io(sv[1], -1, &sys);
	assert_int_equal(ocp_io_set_timeout(io, 1), 0);
	assert_int_equal(ocp_io_read(io, &c, 1), -ETIMEDOUT);
	assert_true(f.now >= 6000);
	assert_true(f.now < 6100);
	assert_int_equal(ocp_io_read_some(io, &c, 1), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
	free(io);
}

static void
test_timeout_real_clock(void **state)
{
	int sv[2];
	struct ocp_io *io;
	int64_t t0, dt;
	char c;

	(void)state;
	pair(sv);
	io = new_io(sv[1], -1, NULL);
	assert_int_equal(ocp_io_start_mux_in(io, 0), 0);
	assert_int_equal(ocp_io_set_timeout(io, 1), 0);
	t0 = ocp_io_sys_default.now_ms(NULL);
	assert_int_equal(ocp_io_read(io, &c, 1), -ETIMEDOUT);
	dt = ocp_io_sys_default.now_ms(NULL) - t0;
	assert_true(dt >= 990);
	assert_true(dt < 1500);
	close(sv[0]);
	close(sv[1]);
	free(io);
}

/*
 * A reader waiting with timeout 4 s sends one keep-alive at 2 s (half the
 * timeout), an empty MSG_DATA frame as rsync 3.1+ sends, and times out at
 * 4 s; the peer's reader takes it as no data at all.
 */
static void
test_keepalive(void **state)
{
	static const uint8_t noop[] = {0, 0, 0, OCP_MUX_BASE + OCP_MSG_DATA};
	int sv[2];
	struct fake f = {.fake_clock = true, .now = 100};
	struct ocp_io_sys sys;
	struct ocp_io *a, *b;
	struct seen seen = {0};
	uint8_t peek[16];
	char c[3] = {0};

	(void)state;
	pair(sv);
	fake_sys(&sys, &f);
	a = new_io(sv[0], sv[0], &sys);
	b = new_io(sv[1], sv[1], NULL);
	assert_int_equal(ocp_io_start_mux_out(a), 0);
	assert_int_equal(ocp_io_start_mux_in(a, 0), 0);
	assert_int_equal(ocp_io_set_timeout(a, 4), 0);
	assert_int_equal(ocp_io_read(a, c, 1), -ETIMEDOUT);
	assert_int_equal(f.now, 4100);
	assert_int_equal(recv(sv[1], peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT), 4);
	assert_memory_equal(peek, noop, 4);

	/* A's writer still works; B sees only the data. */
	assert_int_equal(ocp_io_write_data(a, "ok", 2), 0);
	assert_int_equal(ocp_io_flush(a), 0);
	ocp_io_set_msg_handler(b, record_msg, &seen);
	assert_int_equal(ocp_io_start_mux_in(b, 0), 0);
	assert_int_equal(ocp_io_read(b, c, 2), 0);
	assert_string_equal(c, "ok");
	assert_int_equal(seen.n, 0);
	close(sv[0]);
	close(sv[1]);
	free(a);
	free(b);
}

/* Held keep-alives (a receiving side before its split) are not sent; released, they are. */
static void
test_keepalive_held(void **state)
{
	static const uint8_t ka[] = {0, 0, 0, OCP_MUX_BASE + OCP_MSG_DATA};
	int sv[2];
	struct fake f = {.fake_clock = true, .now = 100};
	struct ocp_io_sys sys;
	struct ocp_io *a;
	uint8_t peek[16];
	char c;

	(void)state;
	pair(sv);
	fake_sys(&sys, &f);
	a = new_io(sv[0], sv[0], &sys);
	assert_int_equal(ocp_io_start_mux_out(a), 0);
	assert_int_equal(ocp_io_start_mux_in(a, 0), 0);
	assert_int_equal(ocp_io_set_timeout(a, 4), 0);
	ocp_io_hold_keepalive(a, true);
	assert_int_equal(ocp_io_read(a, &c, 1), -ETIMEDOUT);
	assert_int_equal(recv(sv[1], peek, sizeof(peek), MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	free(a);
	a = new_io(sv[0], sv[0], &sys);
	assert_int_equal(ocp_io_start_mux_out(a), 0);
	assert_int_equal(ocp_io_start_mux_in(a, 0), 0);
	assert_int_equal(ocp_io_set_timeout(a, 4), 0);
	ocp_io_hold_keepalive(a, true);
	ocp_io_hold_keepalive(a, false);
	assert_int_equal(ocp_io_read(a, &c, 1), -ETIMEDOUT);
	assert_int_equal(recv(sv[1], peek, sizeof(peek), MSG_DONTWAIT), 4);
	assert_memory_equal(peek, ka, 4);
	close(sv[0]);
	close(sv[1]);
	free(a);
}

/* No keep-alive without a timeout or before multiplexed output. */
static void
test_no_keepalive_when_raw(void **state)
{
	int sv[2];
	struct fake f = {.fake_clock = true};
	struct ocp_io_sys sys;
	struct ocp_io *a;
	uint8_t peek[4];
	char c;

	(void)state;
	pair(sv);
	fake_sys(&sys, &f);
	a = new_io(sv[0], sv[0], &sys);
	assert_int_equal(ocp_io_set_timeout(a, 2), 0);
	assert_int_equal(ocp_io_read(a, &c, 1), -ETIMEDOUT);
	assert_int_equal(recv(sv[1], peek, sizeof(peek), MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	close(sv[0]);
	close(sv[1]);
	free(a);
}

/* Pending data is flushed before a read waits, so request/reply works. */
static void
test_flush_before_wait(void **state)
{
	int sv[2];
	struct ocp_io *a, *b;
	int32_t v;

	(void)state;
	pair(sv);
	a = new_io(sv[0], sv[0], NULL);
	b = new_io(sv[1], sv[1], NULL);
	/* A bounded wait, so a missing flush fails instead of hanging. */
	assert_int_equal(ocp_io_set_timeout(a, 2), 0);
	assert_int_equal(ocp_io_write_int32(a, 41), 0);
	assert_int_equal(ocp_io_flush(a), 0);
	assert_int_equal(ocp_io_write_int32(b, 1), 0);
	assert_int_equal(ocp_io_read_int32(b, &v), 0); /* flushes b's int */
	assert_int_equal(v, 41);
	assert_int_equal(ocp_io_read_int32(a, &v), 0);
	assert_int_equal(v, 1);
	close(sv[0]);
	close(sv[1]);
	free(a);
	free(b);
}

/* The wait hook (ocp_io_set_wait_hook()): counts its calls, writes once. */
struct hook_rec {
	struct ocp_io *io;
	int calls;
};

static int
hook_write(void *arg)
{
	struct hook_rec *h = arg;

	h->calls++;
	return ocp_io_write_int32(h->io, 100 + h->calls);
}

/*
 * Not called while input is there to read; called once before a read
 * waits, and what it writes reaches the peer before the wait, so a peer
 * that answers only after seeing it does answer.
 */
static void
test_wait_hook(void **state)
{
	int sv[2];
	struct ocp_io *a, *b;
	struct hook_rec h;
	int32_t v;

	(void)state;
	pair(sv);
	a = new_io(sv[0], sv[0], NULL);
	b = new_io(sv[1], sv[1], NULL);
	h = (struct hook_rec){a, 0};
	assert_int_equal(ocp_io_set_timeout(a, 2), 0);
	ocp_io_set_wait_hook(a, hook_write, &h);
	/* input already on the socket: read without a call */
	assert_int_equal(ocp_io_write_int32(b, 5), 0);
	assert_int_equal(ocp_io_flush(b), 0);
	assert_int_equal(ocp_io_read_int32(a, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(h.calls, 0);
	/* nothing there: the hook runs once, its int is flushed, the peer answers */
	if (fork() == 0) {
		struct ocp_io *c = new_io(sv[1], sv[1], NULL);
		int32_t w;

		ocp_io_set_timeout(c, 2);
		_exit(ocp_io_read_int32(c, &w) || ocp_io_write_int32(c, w + 1000) || ocp_io_flush(c));
	}
	assert_int_equal(ocp_io_read_int32(a, &v), 0);
	assert_int_equal(h.calls, 1);
	assert_int_equal(v, 1101);
	/* without the hook the same read would time out: nothing is written */
	ocp_io_set_wait_hook(a, NULL, NULL);
	assert_int_equal(ocp_io_set_timeout(a, 1), 0);
	assert_int_equal(ocp_io_read_int32(a, &v), -ETIMEDOUT);
	assert_int_equal(h.calls, 1);
	{
		int st = -1;

		assert_true(wait(&st) > 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	close(sv[0]);
	close(sv[1]);
	free(a);
	free(b);
}

struct late_reader {
	int fd;
	size_t n;
};

/* Write an int at once, then read n bytes only after a pause. */
static void *
late_reader(void *arg)
{
	struct late_reader *lr = arg;
	uint8_t buf[4096], v[4];
	size_t got = 0;

	ocp_enc_int32(v, sizeof(v), 7);
	if (write(lr->fd, v, sizeof(v)) != (ssize_t)sizeof(v))
		return NULL;
	usleep(200 * 1000);
	while (got < lr->n) {
		ssize_t r = read(lr->fd, buf, sizeof(buf));

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return NULL;
}

/*
 * The flush before a read has to wait for the peer, and takes in the
 * peer's bytes meanwhile: the read must return them rather than wait for
 * more (it hung: both sides waiting, seen with an rsync receiver).
 */
static void
test_input_absorbed_by_flush(void **state)
{
	enum { N = 30000 };
	int sv[2], small = 4096;
	uint8_t *data = calloc(1, N);
	struct late_reader lr;
	struct ocp_io *a;
	pthread_t th;
	int32_t v = 0;

	(void)state;
	assert_non_null(data);
	pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	a = new_io(sv[0], sv[0], NULL);
	assert_int_equal(ocp_io_set_timeout(a, 3), 0);
	lr = (struct late_reader){.fd = sv[1], .n = N};
	assert_int_equal(pthread_create(&th, NULL, late_reader, &lr), 0);
	usleep(50 * 1000); /* the int is on its way before the flush starts */
	assert_int_equal(ocp_io_write_data(a, data, N), 0);
	assert_int_equal(ocp_io_read_int32(a, &v), 0);
	assert_int_equal(v, 7);
	pthread_join(th, NULL);
	close(sv[0]);
	close(sv[1]);
	free(a);
	free(data);
}

struct bulk {
	int fd;
	size_t n;
	const uint8_t *data;
	int rc;
};

static void *
bulk_writer(void *arg)
{
	struct bulk *bk = arg;
	struct ocp_io *io = malloc(sizeof(*io));

	if (!io) {
		bk->rc = -ENOMEM;
		return NULL;
	}
	ocp_io_init(io, -1, bk->fd, NULL);
	bk->rc = ocp_io_start_mux_out(io);
	for (size_t off = 0; !bk->rc && off < bk->n; off += 7777)
		bk->rc =
		    ocp_io_write_data(io, bk->data + off, bk->n - off < 7777 ? bk->n - off : 7777);
	if (!bk->rc)
		bk->rc = ocp_io_flush(io);
	free(io);
	return NULL;
}

/* Non-blocking descriptors: EAGAIN is met by polling on both sides. */
static void
test_nonblocking_bulk(void **state)
{
	enum { N = 1 << 20 };
	int sv[2], small = 4096;
	uint8_t *data = malloc(N), *back = malloc(N);
	struct bulk bk;
	pthread_t th;
	struct ocp_io *r;

	(void)state;
	assert_non_null(data);
	assert_non_null(back);
	fill_pattern(data, N, 3);
	pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	bk = (struct bulk){.fd = sv[0], .n = N, .data = data};
	assert_int_equal(pthread_create(&th, NULL, bulk_writer, &bk), 0);
	r = new_io(sv[1], -1, NULL);
	assert_int_equal(ocp_io_set_timeout(r, 10), 0);
	assert_int_equal(ocp_io_start_mux_in(r, 0), 0);
	assert_int_equal(ocp_io_read(r, back, N), 0);
	pthread_join(th, NULL);
	assert_int_equal(bk.rc, 0);
	assert_memory_equal(back, data, N);
	close(sv[0]);
	close(sv[1]);
	free(r);
	free(data);
	free(back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_raw_round_trip_pipe),
	    cmocka_unit_test(test_mux_wire_format),
	    cmocka_unit_test(test_mux_round_trip_plain),
	    cmocka_unit_test(test_mux_round_trip_faults),
	    cmocka_unit_test(test_switch_keeps_buffered_bytes),
	    cmocka_unit_test(test_eof_and_bad_streams),
	    cmocka_unit_test(test_io_timeout_message),
	    cmocka_unit_test(test_timeout_fake_clock),
	    cmocka_unit_test(test_timeout_real_clock),
	    cmocka_unit_test(test_keepalive),
	    cmocka_unit_test(test_keepalive_held),
	    cmocka_unit_test(test_no_keepalive_when_raw),
	    cmocka_unit_test(test_flush_before_wait),
	    cmocka_unit_test(test_wait_hook),
	    cmocka_unit_test(test_nonblocking_bulk),
	    cmocka_unit_test(test_input_absorbed_by_flush),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
