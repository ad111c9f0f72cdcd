/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for ocproto/mux.h: demultiplex arbitrary bytes fed whole
 * and in the chunking the input chooses; both runs must produce the same
 * data, the same messages and the same error, and every event must respect
 * the documented limits. Any violation traps.
 *
 * Input: byte 0 picks the control-message cap (0 = default, else between
 * OCP_MUX_MSG_FIXED_MAX and about 2 KiB); bytes 1..4 are a cycle of chunk
 * sizes (1..256); the rest is the stream.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocproto/err.h"
#include "ocproto/mux.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define CFG_BYTES 5

/* What one run produced: data bytes and a log of messages, both flat. */
struct result {
	uint8_t *data;
	size_t dlen;
	uint8_t *log; /* per message: code, len (4), data offset (4), payload */
	size_t llen;
	int err;
};

static void
put32(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
record(struct result *r, const struct ocp_demux_event *ev, size_t cap)
{
	switch (ev->kind) {
	case OCP_DEMUX_NONE:
		CHECK(ev->len == 0);
		break;
	case OCP_DEMUX_DATA:
		CHECK(ev->code == OCP_MSG_DATA && ev->len > 0 && ev->data);
		memcpy(r->data + r->dlen, ev->data, ev->len);
		r->dlen += ev->len;
		break;
	case OCP_DEMUX_MSG:
		CHECK(ev->code != OCP_MSG_DATA && ev->len <= cap);
		CHECK(ocp_mux_check(ev->code, ev->len) == 0);
		CHECK(ev->len == 0 ? ev->data == NULL : ev->data != NULL);
		r->log[r->llen] = (uint8_t)ev->code;
		put32(r->log + r->llen + 1, ev->len);
		put32(r->log + r->llen + 5, r->dlen);
		if (ev->len)
			memcpy(r->log + r->llen + 9, ev->data, ev->len);
		r->llen += 9 + ev->len;
		break;
	}
}

/* Feed stream in chunks of the given sizes, each an exact heap copy. */
static void
run(const uint8_t *stream, size_t len, const size_t *chunks, size_t nchunks, size_t cap_cfg,
    struct result *r)
{
	size_t cap = cap_cfg ? cap_cfg : OCP_MUX_MSG_MAX;
	struct ocp_demux *d = malloc(sizeof(*d));
	size_t pos = 0, ci = 0;

	CHECK(d && ocp_demux_init(d, cap_cfg) == 0);
	/* Every 4 input bytes hold at most one message (9 + payload logged). */
	r->data = malloc(len + 1);
	r->log = malloc(len / 4 * 9 + len + 1);
	CHECK(r->data && r->log);
	r->dlen = r->llen = 0;
	r->err = 0;
	while (pos < len && !r->err) {
		size_t n = chunks[ci++ % nchunks], off = 0;
		uint8_t *chunk;

		if (n > len - pos)
			n = len - pos;
		chunk = malloc(n);
		CHECK(chunk);
		memcpy(chunk, stream + pos, n);
		while (off < n) {
			struct ocp_demux_event ev;
			int rc = ocp_demux_next(d, chunk + off, n - off, &ev);

			if (rc < 0) {
				CHECK(ocp_is_proto_err(rc) && ev.kind == OCP_DEMUX_NONE);
				CHECK(!ocp_demux_idle(d));
				CHECK(ocp_demux_next(d, chunk, n, &ev) == rc);
				r->err = rc;
				break;
			}
			CHECK(rc > 0 && (size_t)rc <= n - off);
			if (ev.kind == OCP_DEMUX_DATA)
				CHECK(ev.data >= chunk + off &&
				      ev.data + ev.len <= chunk + off + rc);
			record(r, &ev, cap);
			off += (size_t)rc;
		}
		free(chunk);
		pos += n;
	}
	free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole, split;
	size_t chunks[CFG_BYTES - 1], cap = 0, len;
	const uint8_t *stream;

	if (size < CFG_BYTES)
		return 0;
	if (data[0])
		cap = OCP_MUX_MSG_FIXED_MAX + (size_t)data[0] * 8;
	for (size_t i = 0; i < CFG_BYTES - 1; i++)
		chunks[i] = (size_t)data[1 + i] + 1;
	stream = data + CFG_BYTES;
	len = size - CFG_BYTES;

	run(stream, len, &len, 1, cap, &whole);
	run(stream, len, chunks, CFG_BYTES - 1, cap, &split);
	CHECK(whole.err == split.err);
	CHECK(whole.dlen == split.dlen && memcmp(whole.data, split.data, whole.dlen) == 0);
	CHECK(whole.llen == split.llen && memcmp(whole.log, split.log, whole.llen) == 0);
	free(whole.data);
	free(whole.log);
	free(split.data);
	free(split.log);
	return 0;
}
