/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ocproto/mux.h: header vectors, validation of codes and
 * fixed lengths, and the demultiplexer under every chunking.
 *
 * Vectors marked "capture" are real rsync 3.5.0 bytes, recorded by a fake
 * remote shell (`-e rsh.sh`: runs the server command locally with `tee` on
 * both pipes) during:
 *   cap1: rsync -a --list-only localhost:src1/
 *   cap4a: rsync -a --stderr=client localhost:/nonexistent dst/  (exit 23)
 *   cap4b: rsync -av --delete --remove-source-files --stderr=client
 *          src4/ localhost:dst4/  (server deletes olddir/f, olddir, stale)
 *   cap4c: rsync localhost::mod/a_size7f dst/ through `rsync --daemon` over
 *          the remote shell, module option `timeout = 300`
 *   cap4d: rsync -a --stderr=client -M--debug=flist2,send1 localhost:src4/ dst/
 * Streams start right after the handshake (version, compat flags, checksum
 * lists, seed). The rest are "derived" from the framing rule.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ocproto/err.h"
#include "ocproto/int.h"
#include "ocproto/mux.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* capture: cap4b, server (receiver) to client (sender). */
static const uint8_t cap4b_s2c[] = {
    0x08, 0x00, 0x00, 0x6c, 0x6f, 0x6c, 0x64, 0x64, 0x69, 0x72, 0x2f, 0x66, 0x07, 0x00, 0x00,
    0x6c, 0x6f, 0x6c, 0x64, 0x64, 0x69, 0x72, 0x00, 0x05, 0x00, 0x00, 0x6c, 0x73, 0x74, 0x61,
    0x6c, 0x65, 0x26, 0x00, 0x00, 0x07, 0x03, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xa0, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
    0x00, 0x00, 0x6b, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x6b, 0x03, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x07, 0x00, 0x0a, 0x00, 0x00, 0x07, 0x00, 0x00, 0xff, 0x02, 0x02, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x07, 0x00,
};

/* capture: cap4d, server (sender) to client, MSG_INFO among DATA frames. */
static const char cap4d_s2c_hex[] =
    "1f0000097365727665725f73656e646572207374617274696e67207069643d3339380a"
    "1a0000095b73656e6465725d206d616b655f66696c65282e2c2a2c30290a"
    "1400000973656e645f66696c655f6c69737420646f6e650a"
    "1400000973656e645f66696c6573207374617274696e670a"
    "24000007ac01012e0000106b462b01f036526b12ed4100000004726f6f740004726f6f740000ff01"
    "2200000973656e645f66696c657328302c202f746d702f6f63706361702f737263342f2e290a"
    "1300000973656e645f66696c65732070686173653d310a"
    "04000007010060001300000973656e645f66696c65732070686173653d320a"
    "1400000973656e642066696c65732066696e69736865640a"
    "02000007000010000007001b0000130100000000010000000000";

/* capture: cap4a, server to client (ERROR_XFER) and client to server. */
static const char cap4a_s2c_hex[] =
    "5a0000087273796e633a205b73656e6465725d206c696e6b5f7374617420222f746d702f"
    "6f63706361702f6e6f6e6578697374656e7422206661696c65643a204e6f207375636820"
    "66696c65206f72206469726563746f7279202832290a040000070000ff01";
static const char cap4a_c2s_hex[] = "04000007000000000400005d17000000";

/* Turn a hex string into a heap buffer of exactly the bytes it names. */
static uint8_t *
unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *b = malloc(n ? n : 1);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		unsigned x;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &x), 1);
		b[i] = (uint8_t)x;
	}
	*len = n;
	return b;
}

/* Everything a demultiplexer produced, in order. */
struct transcript {
	uint8_t data[1 << 18]; /* concatenated DATA payload */
	size_t dlen;
	struct {
		enum ocp_msg code;
		size_t len;
		size_t at; /* dlen when the message arrived */
		uint8_t payload[OCP_MUX_MSG_MAX];
	} msg[64];
	size_t nmsg;
	int err;
};

static void
record(struct transcript *t, const struct ocp_demux_event *ev)
{
	switch (ev->kind) {
	case OCP_DEMUX_NONE:
		assert_int_equal(ev->len, 0);
		break;
	case OCP_DEMUX_DATA:
		assert_int_equal(ev->code, OCP_MSG_DATA);
		assert_true(ev->len > 0);
		assert_true(t->dlen + ev->len <= sizeof(t->data));
		memcpy(t->data + t->dlen, ev->data, ev->len);
		t->dlen += ev->len;
		break;
	case OCP_DEMUX_MSG:
		assert_true(t->nmsg < NELEM(t->msg));
		assert_int_not_equal(ev->code, OCP_MSG_DATA);
		assert_true(ev->len == 0 ? ev->data == NULL : ev->data != NULL);
		t->msg[t->nmsg].code = ev->code;
		t->msg[t->nmsg].len = ev->len;
		t->msg[t->nmsg].at = t->dlen;
		if (ev->len)
			memcpy(t->msg[t->nmsg].payload, ev->data, ev->len);
		t->nmsg++;
		break;
	}
}

/*
 * Demultiplex stream cut at the given chunk sizes (cycled); each chunk is an
 * exact-size heap copy so ASan catches reads past it. Returns the transcript.
 */
static struct transcript *
run(const uint8_t *stream, size_t len, const size_t *chunks, size_t nchunks, size_t cap)
{
	struct transcript *t = calloc(1, sizeof(*t));
	struct ocp_demux d;
	size_t pos = 0, ci = 0;

	assert_non_null(t);
	assert_int_equal(ocp_demux_init(&d, cap), 0);
	while (pos < len && !t->err) {
		size_t n = chunks[ci++ % nchunks], off = 0;
		uint8_t *chunk;

		if (n > len - pos)
			n = len - pos;
		chunk = malloc(n);
		assert_non_null(chunk);
		memcpy(chunk, stream + pos, n);
		while (off < n) {
			struct ocp_demux_event ev;
			int rc = ocp_demux_next(&d, chunk + off, n - off, &ev);

			if (rc < 0) {
				t->err = rc;
				assert_int_equal(ev.kind, OCP_DEMUX_NONE);
				break;
			}
			assert_true(rc > 0 && (size_t)rc <= n - off);
			if (ev.kind == OCP_DEMUX_DATA)
				assert_true(ev.data >= chunk + off &&
					    ev.data + ev.len <= chunk + off + (size_t)rc);
			record(t, &ev);
			off += (size_t)rc;
		}
		free(chunk);
		pos += n;
	}
	if (!t->err)
		assert_true(ocp_demux_idle(&d));
	return t;
}

static void
assert_same(const struct transcript *a, const struct transcript *b)
{
	assert_int_equal(a->err, b->err);
	assert_int_equal(a->dlen, b->dlen);
	assert_memory_equal(a->data, b->data, a->dlen);
	assert_int_equal(a->nmsg, b->nmsg);
	for (size_t i = 0; i < a->nmsg; i++) {
		assert_int_equal(a->msg[i].code, b->msg[i].code);
		assert_int_equal(a->msg[i].len, b->msg[i].len);
		assert_int_equal(a->msg[i].at, b->msg[i].at);
		assert_memory_equal(a->msg[i].payload, b->msg[i].payload, a->msg[i].len);
	}
}

/* All at once, one byte at a time, and every two-piece split must agree. */
static struct transcript *
run_all_chunkings(const uint8_t *stream, size_t len, size_t cap)
{
	static const size_t odd[] = {3, 1, 7, 2, 5, 11, 4};
	struct transcript *whole = run(stream, len, &len, 1, cap);
	struct transcript *t = run(stream, len, (const size_t[]){1}, 1, cap);

	assert_same(whole, t);
	free(t);
	t = run(stream, len, odd, NELEM(odd), cap);
	assert_same(whole, t);
	free(t);
	for (size_t cut = 1; cut < len; cut++) {
		t = run(stream, len, (const size_t[]){cut, len}, 2, cap);
		assert_same(whole, t);
		free(t);
	}
	return whole;
}

static void
test_header_vectors(void **state)
{
	static const struct {
		uint8_t hdr[4];
		enum ocp_msg code;
		uint32_t len;
	} vs[] = {
	    {{0x61, 0x01, 0x00, 0x07}, OCP_MSG_DATA, 353},	  /* capture: cap1 */
	    {{0x5a, 0x00, 0x00, 0x08}, OCP_MSG_ERROR_XFER, 90},	  /* capture: cap4a */
	    {{0x04, 0x00, 0x00, 0x5d}, OCP_MSG_ERROR_EXIT, 4},	  /* capture: cap4a */
	    {{0x04, 0x00, 0x00, 0x28}, OCP_MSG_IO_TIMEOUT, 4},	  /* capture: cap4c */
	    {{0x08, 0x00, 0x00, 0x6c}, OCP_MSG_DELETED, 8},	  /* capture: cap4b */
	    {{0x04, 0x00, 0x00, 0x6b}, OCP_MSG_SUCCESS, 4},	  /* capture: cap4b */
	    {{0x14, 0x00, 0x00, 0x09}, OCP_MSG_INFO, 20},	  /* capture: cap4d */
	    {{0x00, 0x00, 0x00, 0x31}, OCP_MSG_NOOP, 0},	  /* derived */
	    {{0x04, 0x00, 0x00, 0x10}, OCP_MSG_REDO, 4},	  /* derived */
	    {{0x08, 0x00, 0x00, 0x11}, OCP_MSG_STATS, 8},	  /* derived */
	    {{0x04, 0x00, 0x00, 0x1d}, OCP_MSG_IO_ERROR, 4},	  /* derived */
	    {{0x04, 0x00, 0x00, 0x6d}, OCP_MSG_NO_SEND, 4},	  /* derived */
	    {{0x00, 0x00, 0x00, 0x5d}, OCP_MSG_ERROR_EXIT, 0},	  /* derived */
	    {{0xff, 0xff, 0xff, 0x07}, OCP_MSG_DATA, 0xFFFFFF},	  /* derived */
	    {{0x03, 0x02, 0x01, 0x0b}, OCP_MSG_WARNING, 0x10203}, /* derived */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(vs); i++) {
		uint8_t out[4];
		enum ocp_msg code = OCP_MSG_NOOP;
		uint32_t len = 7;

		assert_int_equal(ocp_mux_hdr_encode(out, sizeof(out), vs[i].code, vs[i].len), 4);
		assert_memory_equal(out, vs[i].hdr, 4);
		assert_int_equal(ocp_mux_hdr_decode(vs[i].hdr, 4, &code, &len), 4);
		assert_int_equal(code, vs[i].code);
		assert_int_equal(len, vs[i].len);
		for (size_t k = 0; k < 4; k++)
			assert_int_equal(ocp_mux_hdr_decode(vs[i].hdr, k, &code, &len), 0);
		assert_int_equal(ocp_mux_hdr_encode(out, 3, vs[i].code, vs[i].len), -ENOBUFS);
	}
}

static void
test_header_validation(void **state)
{
	enum ocp_msg code = OCP_MSG_NOOP;
	uint32_t len = 99;
	uint8_t out[32];
	unsigned known = 0;

	(void)state;
	/* Every tag byte: valid exactly for the 18 codes upstream knows. */
	for (unsigned tag = 0; tag < 256; tag++) {
		int c = (int)tag - OCP_MUX_BASE;
		uint8_t h[4] = {0x04, 0x00, 0x00, (uint8_t)tag};
		int rc = ocp_mux_hdr_decode(h, 4, &code, &len);

		if (!ocp_msg_name(c)) {
			assert_int_equal(rc, OCP_EMSGCODE);
			assert_int_equal(ocp_mux_hdr_encode(out, 4, c, 4), -EINVAL);
			continue;
		}
		known++;
		assert_int_equal(ocp_mux_check(c, 4),
				 c == OCP_MSG_NOOP || c == OCP_MSG_STATS ? OCP_EMSGLEN : 0);
		assert_int_equal(rc, ocp_mux_check(c, 4) ? OCP_EMSGLEN : 4);
	}
	assert_int_equal(known, 18);
	assert_string_equal(ocp_msg_name(OCP_MSG_IO_TIMEOUT), "MSG_IO_TIMEOUT");
	assert_null(ocp_msg_name(-1));

	/* Unframed data: upstream says "unexpected tag -7" or similar. */
	code = OCP_MSG_NOOP;
	len = 99;
	assert_int_equal(ocp_mux_hdr_decode((const uint8_t[]){0, 0, 0, 0}, 4, &code, &len),
			 OCP_EMSGCODE);
	assert_int_equal(ocp_mux_hdr_decode((const uint8_t *)"@RSY", 4, &code, &len), OCP_EMSGCODE);
	assert_int_equal(code, OCP_MSG_NOOP);
	assert_int_equal(len, 99);

	/* Fixed lengths. */
	assert_int_equal(ocp_mux_check(OCP_MSG_REDO, 3), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_REDO, 5), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_IO_ERROR, 0), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_IO_TIMEOUT, 8), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_NO_SEND, 1), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_NOOP, 0), 0);
	assert_int_equal(ocp_mux_check(OCP_MSG_NOOP, 1), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_ERROR_EXIT, 0), 0);
	assert_int_equal(ocp_mux_check(OCP_MSG_ERROR_EXIT, 2), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_ERROR_EXIT, 8), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_STATS, 8), 0);
	assert_int_equal(ocp_mux_check(OCP_MSG_STATS, 4), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_SUCCESS, 20), 0);
	assert_int_equal(ocp_mux_check(OCP_MSG_SUCCESS, 8), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(OCP_MSG_INFO, 0), 0);
	assert_int_equal(ocp_mux_check(OCP_MSG_DATA, OCP_MUX_LEN_MAX), 0);
	assert_int_equal(ocp_mux_check(OCP_MSG_DATA, OCP_MUX_LEN_MAX + 1), OCP_EMSGLEN);
	assert_int_equal(ocp_mux_check(11, 0), OCP_EMSGCODE);
	assert_int_equal(ocp_mux_hdr_decode((const uint8_t[]){0x03, 0, 0, 0x10}, 4, &code, &len),
			 OCP_EMSGLEN);

	/* Encoders refuse what decoders refuse. */
	assert_int_equal(ocp_mux_hdr_encode(out, 4, OCP_MSG_DATA, OCP_MUX_LEN_MAX + 1), -EINVAL);
	assert_int_equal(ocp_mux_hdr_encode(out, 4, OCP_MSG_NOOP, 1), -EINVAL);
	assert_int_equal(ocp_mux_msg_encode(out, sizeof(out), OCP_MSG_REDO, "abc", 3), -EINVAL);
	assert_int_equal(ocp_mux_msg_encode(out, 7, OCP_MSG_REDO, "abcd", 4), -ENOBUFS);
	assert_int_equal(ocp_mux_msg_encode(out, 8, OCP_MSG_REDO, "abcd", 4), 8);
	assert_memory_equal(out, ((uint8_t[]){0x04, 0x00, 0x00, 0x10, 'a', 'b', 'c', 'd'}), 8);
	assert_int_equal(ocp_mux_msg_encode(out, 4, OCP_MSG_NOOP, NULL, 0), 4);
}

static void
test_demux_capture_cap4b(void **state)
{
	struct transcript *t;

	(void)state;
	t = run_all_chunkings(cap4b_s2c, sizeof(cap4b_s2c), 0);
	assert_int_equal(t->err, 0);
	assert_int_equal(t->nmsg, 5);
	assert_int_equal(t->msg[0].code, OCP_MSG_DELETED);
	assert_int_equal(t->msg[0].len, 8);
	assert_memory_equal(t->msg[0].payload, "olddir/f", 8);
	/* A deleted directory keeps its trailing NUL. */
	assert_int_equal(t->msg[1].len, 7);
	assert_memory_equal(t->msg[1].payload, "olddir", 7);
	assert_memory_equal(t->msg[2].payload, "stale", 5);
	for (int i = 0; i < 3; i++)
		assert_int_equal(t->msg[i].at, 0);
	for (int i = 3; i < 5; i++) {
		int32_t ndx;

		assert_int_equal(t->msg[i].code, OCP_MSG_SUCCESS);
		assert_int_equal(t->msg[i].at, 38);
		assert_int_equal(ocp_dec_int32(t->msg[i].payload, t->msg[i].len, &ndx), 4);
		assert_int_equal(ndx, i - 1);
	}
	/* DATA: ndx 2, flags, empty sum head; ndx 3, ...; then the done/stats tail. */
	assert_int_equal(t->dlen, 50);
	assert_memory_equal(t->data, ((uint8_t[]){0x03, 0x00, 0xa0}), 3);
	assert_memory_equal(t->data + 38, ((uint8_t[]){0x00, 0x00, 0x00, 0xff, 0x02}), 5);
	free(t);
}

static void
test_demux_capture_text_messages(void **state)
{
	size_t len;
	uint8_t *s;
	struct transcript *t;

	(void)state;
	s = unhex(cap4d_s2c_hex, &len);
	t = run_all_chunkings(s, len, 0);
	assert_int_equal(t->err, 0);
	assert_int_equal(t->nmsg, 8);
	for (size_t i = 0; i < t->nmsg; i++) {
		assert_int_equal(t->msg[i].code, OCP_MSG_INFO);
		assert_int_equal(t->msg[i].payload[t->msg[i].len - 1], '\n');
	}
	assert_memory_equal(t->msg[2].payload, "send_file_list done\n", 20);
	/* The flist (flags 0x2C01 varint first) arrives after four messages. */
	assert_int_equal(t->msg[4].at, 36);
	assert_memory_equal(t->data, ((uint8_t[]){0xac, 0x01, 0x01, '.'}), 4);
	free(t);
	free(s);

	s = unhex(cap4a_s2c_hex, &len);
	t = run_all_chunkings(s, len, 0);
	assert_int_equal(t->nmsg, 1);
	assert_int_equal(t->msg[0].code, OCP_MSG_ERROR_XFER);
	assert_int_equal(t->msg[0].len, 90);
	assert_memory_equal(t->msg[0].payload, "rsync: [sender] link_stat", 25);
	assert_int_equal(t->dlen, 4);
	free(t);
	/* A control payload one byte over the cap is refused, at any split. */
	t = run_all_chunkings(s, len, 89);
	assert_int_equal(t->err, OCP_ETOOLONG);
	assert_int_equal(t->nmsg, 0);
	free(t);
	free(s);

	s = unhex(cap4a_c2s_hex, &len);
	t = run_all_chunkings(s, len, 0);
	assert_int_equal(t->nmsg, 1);
	assert_int_equal(t->msg[0].code, OCP_MSG_ERROR_EXIT);
	assert_memory_equal(t->msg[0].payload, ((uint8_t[]){23, 0, 0, 0}), 4);
	assert_int_equal(t->dlen, 4);
	free(t);
	free(s);
}

static void
test_demux_errors_are_sticky(void **state)
{
	static const uint8_t bad[] = {0x01, 0x00, 0x00, 0x07, 0x41, 0x20, 0x20,
				      0x20, 0x20, 0x01, 0x00, 0x00, 0x07, 0x42};
	struct ocp_demux d;
	struct ocp_demux_event ev;
	int rc;

	(void)state;
	assert_int_equal(ocp_demux_init(&d, 0), 0);
	assert_int_equal(ocp_demux_next(&d, bad, sizeof(bad), &ev), 5);
	assert_int_equal(ev.kind, OCP_DEMUX_DATA);
	assert_int_equal(ev.len, 1);
	assert_int_equal(ev.data[0], 'A');
	assert_true(ocp_demux_idle(&d));
	rc = ocp_demux_next(&d, bad + 5, sizeof(bad) - 5, &ev);
	assert_int_equal(rc, OCP_EMSGCODE);
	assert_int_equal(ev.kind, OCP_DEMUX_NONE);
	assert_false(ocp_demux_idle(&d));
	/* Valid bytes after an error do not revive the stream. */
	assert_int_equal(ocp_demux_next(&d, bad, sizeof(bad), &ev), OCP_EMSGCODE);
	assert_int_equal(ocp_demux_next(&d, bad, 0, &ev), OCP_EMSGCODE);

	/* A fixed-length violation, fed one byte at a time. */
	assert_int_equal(ocp_demux_init(&d, 0), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ocp_demux_next(&d, (const uint8_t[]){0x05, 0, 0} + i, 1, &ev), 1);
	assert_false(ocp_demux_idle(&d));
	assert_int_equal(ocp_demux_next(&d, (const uint8_t[]){0x10}, 1, &ev), OCP_EMSGLEN);

	/* Caps outside [OCP_MUX_MSG_FIXED_MAX, OCP_MUX_MSG_MAX] are refused. */
	assert_int_equal(ocp_demux_init(&d, OCP_MUX_MSG_FIXED_MAX - 1), -EINVAL);
	assert_int_equal(ocp_demux_init(&d, OCP_MUX_MSG_MAX + 1), -EINVAL);
	assert_int_equal(ocp_demux_init(&d, OCP_MUX_MSG_FIXED_MAX), 0);
	/* Empty input is no progress and no event. */
	assert_int_equal(ocp_demux_next(&d, NULL, 0, &ev), 0);
	assert_int_equal(ev.kind, OCP_DEMUX_NONE);
	assert_true(ocp_demux_idle(&d));
}

static void
test_demux_limits(void **state)
{
	static uint8_t stream[OCP_MUX_HDR_SIZE * 4 + OCP_MUX_MSG_MAX + 1 + 100000];
	static uint8_t payload[100000];
	size_t len = 0;
	struct transcript *t;
	int n;

	(void)state;
	/* Zero-length DATA (keep-alive) and NOOP; a message at the default cap;
	 * a DATA frame larger than any chunk. */
	n = ocp_mux_msg_encode(stream + len, sizeof(stream) - len, OCP_MSG_DATA, NULL, 0);
	len += (size_t)n;
	n = ocp_mux_msg_encode(stream + len, sizeof(stream) - len, OCP_MSG_NOOP, NULL, 0);
	len += (size_t)n;
	memset(payload, 'w', OCP_MUX_MSG_MAX);
	n = ocp_mux_msg_encode(stream + len, sizeof(stream) - len, OCP_MSG_WARNING, payload,
			       OCP_MUX_MSG_MAX);
	assert_int_equal(n, 4 + OCP_MUX_MSG_MAX);
	len += (size_t)n;
	for (size_t i = 0; i < 100000; i++)
		payload[i] = (uint8_t)(i * 7);
	n = ocp_mux_msg_encode(stream + len, sizeof(stream) - len, OCP_MSG_DATA, payload, 100000);
	len += (size_t)n;
	assert_int_equal(len, sizeof(stream) - 1);

	t = run(stream, len, &len, 1, 0);
	assert_int_equal(t->err, 0);
	assert_int_equal(t->nmsg, 2);
	assert_int_equal(t->msg[0].code, OCP_MSG_NOOP);
	assert_int_equal(t->msg[0].len, 0);
	assert_int_equal(t->msg[1].len, OCP_MUX_MSG_MAX);
	assert_int_equal(t->msg[1].payload[OCP_MUX_MSG_MAX - 1], 'w');
	assert_int_equal(t->dlen, 100000);
	assert_int_equal(t->data[99999], (uint8_t)(99999 * 7));
	free(t);
	t = run(stream, len, (const size_t[]){1000, 1, 4096}, 3, 0);
	assert_int_equal(t->nmsg, 2);
	assert_int_equal(t->dlen, 100000);
	free(t);

	/* One byte over the default cap: the header is enough to refuse it. */
	assert_int_equal(ocp_mux_hdr_encode(stream, 4, OCP_MSG_ERROR, OCP_MUX_MSG_MAX + 1), 4);
	t = run(stream, 4, (const size_t[]){4}, 1, 0);
	assert_int_equal(t->err, OCP_ETOOLONG);
	free(t);
	/* ... and the caller learns its tag and length (upstream's "multiplexing overflow 3:5120") */
	{
		struct ocp_demux d;
		struct ocp_demux_event ev;
		size_t blen = 0;

		assert_int_equal(ocp_demux_init(&d, 0), 0);
		assert_false(ocp_demux_overflowed(&d, &blen));
		assert_int_equal(ocp_demux_next(&d, stream, 4, &ev), OCP_ETOOLONG);
		assert_true(ocp_demux_overflowed(&d, &blen));
		assert_int_equal(blen, OCP_MUX_MSG_MAX + 1);
		assert_int_equal(ocp_demux_bad_tag(&d), OCP_MSG_ERROR);
		/* a bad header is not an overflow */
		stream[3] = 0;
		assert_int_equal(ocp_demux_init(&d, 0), 0);
		assert_true(ocp_demux_next(&d, stream, 4, &ev) < 0);
		assert_false(ocp_demux_overflowed(&d, &blen));
	}
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x9E3779B97F4A7C15ull;
}

static void
test_demux_random_streams(void **state)
{
	static const int codes[] = {
	    OCP_MSG_DATA,    OCP_MSG_DATA,     OCP_MSG_DATA,	   OCP_MSG_INFO,
	    OCP_MSG_ERROR,   OCP_MSG_DELETED,  OCP_MSG_REDO,	   OCP_MSG_NOOP,
	    OCP_MSG_STATS,   OCP_MSG_SUCCESS,  OCP_MSG_ERROR_EXIT, OCP_MSG_IO_TIMEOUT,
	    OCP_MSG_NO_SEND, OCP_MSG_IO_ERROR, OCP_MSG_LOG,	   OCP_MSG_ERROR_UTF8,
	};
	static uint8_t stream[40000];
	static struct transcript want;

	(void)state;
	for (int round = 0; round < 200; round++) {
		size_t len = 0, chunks[8];
		struct transcript *t;

		memset(&want, 0, sizeof(want));
		for (int f = 0; f < 20; f++) {
			int code = codes[rng() % NELEM(codes)];
			size_t plen = rng() % 600;
			uint8_t payload[600];
			int n;

			if (ocp_mux_check(code, plen) != 0)
				plen = code == OCP_MSG_NOOP ? 0 : code == OCP_MSG_STATS ? 8 : 4;
			for (size_t i = 0; i < plen; i++)
				payload[i] = (uint8_t)rng();
			n = ocp_mux_msg_encode(stream + len, sizeof(stream) - len, code, payload,
					       plen);
			assert_true(n > 0);
			len += (size_t)n;
			if (code == OCP_MSG_DATA) {
				memcpy(want.data + want.dlen, payload, plen);
				want.dlen += plen;
			} else {
				want.msg[want.nmsg].code = (enum ocp_msg)code;
				want.msg[want.nmsg].len = plen;
				want.msg[want.nmsg].at = want.dlen;
				memcpy(want.msg[want.nmsg].payload, payload, plen);
				want.nmsg++;
			}
		}
		for (size_t i = 0; i < NELEM(chunks); i++)
			chunks[i] = 1 + rng() % (rng() % 2 ? 8 : 700);
		t = run(stream, len, chunks, NELEM(chunks), 0);
		assert_same(&want, t);
		free(t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_vectors),
	    cmocka_unit_test(test_header_validation),
	    cmocka_unit_test(test_demux_capture_cap4b),
	    cmocka_unit_test(test_demux_capture_text_messages),
	    cmocka_unit_test(test_demux_errors_are_sticky),
	    cmocka_unit_test(test_demux_limits),
	    cmocka_unit_test(test_demux_random_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
