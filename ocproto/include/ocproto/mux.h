/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto multiplex framing (upstream io.c): after the protocol-30+ handshake
 * both directions carry frames of a 4-byte little-endian header
 * `((OCP_MUX_BASE + code) << 24) | length` followed by `length` payload bytes.
 * Code OCP_MSG_DATA carries the data stream; every other code is a control
 * message. This header offers header encode/decode with validation and a
 * sans-I/O demultiplexer fed arbitrary chunks of the byte stream.
 *
 * Return convention as in int.h: decoders give bytes consumed (> 0), 0 for
 * "need more bytes", or a negative OCP_E* code; encoders give bytes written,
 * or -EINVAL / -ENOBUFS.
 *
 * Concurrency: stateless functions are reentrant; one struct ocp_demux
 * belongs to one stream and one thread at a time.
 */
#ifndef OCPROTO_MUX_H
#define OCPROTO_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OCP_MUX_BASE	 7	  /* upstream MPLEX_BASE */
#define OCP_MUX_HDR_SIZE 4	  /* frame header bytes */
#define OCP_MUX_LEN_MAX	 0xFFFFFF /* 24-bit payload length */
/*
 * Default and largest control-message payload the demultiplexer accepts:
 * upstream reads text messages into a BIGPATHBUFLEN (5120) buffer and
 * rejects any of 5120 bytes or more.
 */
#define OCP_MUX_MSG_MAX 5119
/* The longest fixed-size control message (MSG_SUCCESS in local mode). */
#define OCP_MUX_MSG_FIXED_MAX 20

/* Message codes (upstream rsync.h `enum msgcode`); all others are invalid. */
enum ocp_msg {
	OCP_MSG_DATA = 0,	  /* data stream bytes */
	OCP_MSG_ERROR_XFER = 1,	  /* text: transfer error */
	OCP_MSG_INFO = 2,	  /* text: information */
	OCP_MSG_ERROR = 3,	  /* text: error (protocol 30+) */
	OCP_MSG_WARNING = 4,	  /* text: warning (protocol 30+) */
	OCP_MSG_ERROR_SOCKET = 5, /* text: sibling logging */
	OCP_MSG_LOG = 6,	  /* text: sibling logging, log file only */
	OCP_MSG_CLIENT = 7,	  /* text: sibling logging, client only */
	OCP_MSG_ERROR_UTF8 = 8,	  /* text: sibling logging */
	OCP_MSG_REDO = 9,	  /* int32 index to reprocess; length 4 */
	OCP_MSG_STATS = 10,	  /* int64 total_read for the generator; length 8 */
	OCP_MSG_IO_ERROR = 22,	  /* int32 IOERR_* bits; length 4 */
	OCP_MSG_IO_TIMEOUT = 33,  /* int32 daemon timeout in seconds; length 4 */
	OCP_MSG_NOOP = 42,	  /* protocol-30 keep-alive; length 0 */
	OCP_MSG_ERROR_EXIT = 86,  /* optional int32 exit code; length 0 or 4 */
	OCP_MSG_SUCCESS = 100,	  /* int32 index (+ dev, ino locally); length 4 or 20 */
	OCP_MSG_DELETED = 101,	  /* name deleted on the receiving side */
	OCP_MSG_NO_SEND = 102,	  /* int32 index the sender could not open; length 4 */
};

/* The upstream name ("MSG_INFO", ...) of a code, or NULL if it is not valid. */
const char *ocp_msg_name(int code);

/*
 * Check a (code, length) pair as upstream `read_a_msg()` does without role
 * knowledge: 0 if valid, OCP_EMSGCODE for an unknown code, OCP_EMSGLEN for a
 * length above OCP_MUX_LEN_MAX or wrong for a fixed-size code (REDO,
 * IO_ERROR, IO_TIMEOUT, NO_SEND: 4; NOOP: 0; ERROR_EXIT: 0 or 4; STATS: 8;
 * SUCCESS: 4 or 20). Which side may send which code is left to the caller.
 */
int ocp_mux_check(int code, size_t len);

/*
 * Write the frame header for `len` payload bytes of `code` into out.
 * Returns OCP_MUX_HDR_SIZE, -EINVAL if ocp_mux_check() refuses the pair, or
 * -ENOBUFS. Mirrors the header upstream `send_msg()` writes.
 */
int ocp_mux_hdr_encode(uint8_t *out, size_t cap, int code, size_t len);

/*
 * Write a whole frame (header and a copy of payload) into out. Returns
 * OCP_MUX_HDR_SIZE + len, -EINVAL or -ENOBUFS as ocp_mux_hdr_encode().
 */
int ocp_mux_msg_encode(uint8_t *out, size_t cap, int code, const void *payload, size_t len);

/*
 * Read and validate a frame header from buf: returns OCP_MUX_HDR_SIZE with
 * *code and *len set, 0 if fewer than 4 bytes are given, or the error of
 * ocp_mux_check() (unframed data shows up as OCP_EMSGCODE, as upstream's
 * "unexpected tag"). Mirrors the header parsing of upstream `read_a_msg()`.
 */
int ocp_mux_hdr_decode(const uint8_t *buf, size_t len, enum ocp_msg *code, uint32_t *plen);

/* What one ocp_demux_next() call produced. */
enum ocp_demux_kind {
	OCP_DEMUX_NONE = 0, /* input used up with nothing complete yet */
	OCP_DEMUX_DATA,	    /* a piece of a DATA frame's payload */
	OCP_DEMUX_MSG,	    /* one whole control message */
};

struct ocp_demux_event {
	enum ocp_demux_kind kind;
	enum ocp_msg code; /* OCP_MSG_DATA for DATA pieces */
	/*
	 * DATA: points into the caller's input buffer. MSG: points into the
	 * demultiplexer and stays valid until the next call on it. NULL when
	 * len is 0.
	 */
	const uint8_t *data;
	size_t len;
};

/*
 * Demultiplexer state: fixed size, no heap. Fields are private; use the
 * functions below.
 */
struct ocp_demux {
	int err;	   /* sticky error, 0 while healthy */
	int state;	   /* header, data or message */
	size_t msg_cap;	   /* largest control payload accepted */
	uint32_t want;	   /* payload bytes of the current frame */
	uint32_t have;	   /* bytes of header or message collected */
	enum ocp_msg code; /* code of the current frame */
	uint8_t hdr[OCP_MUX_HDR_SIZE];
	uint8_t msg[OCP_MUX_MSG_MAX];
};

/*
 * Prepare d for a new stream. msg_cap limits control-message payloads: 0 for
 * OCP_MUX_MSG_MAX, else between OCP_MUX_MSG_FIXED_MAX and OCP_MUX_MSG_MAX
 * (-EINVAL otherwise). Returns 0.
 */
int ocp_demux_init(struct ocp_demux *d, size_t msg_cap);

/*
 * After OCP_EMSGCODE: the tag of the header that caused it (its fourth
 * byte less MPLEX_BASE, as upstream's "unexpected tag N"; may be negative
 * for unframed data). Meaningless after any other result.
 */
int ocp_demux_bad_tag(const struct ocp_demux *d);

/*
 * Did the stream fail on a control payload above msg_cap (upstream's
 * "multiplexing overflow TAG:LEN", code 12)? Then *len is the length its
 * header announced, and ocp_demux_bad_tag() gives its tag.
 */
bool ocp_demux_overflowed(const struct ocp_demux *d, size_t *len);

/*
 * Consume bytes from buf until one event completes or buf is used up, and
 * describe it in *ev (kind OCP_DEMUX_NONE if nothing completed). Returns the
 * bytes consumed: > 0 whenever len > 0, 0 when len is 0. Zero-length DATA
 * frames (upstream's keep-alive) produce no event. A DATA frame may arrive as
 * several DATA events. Errors: OCP_EMSGCODE, OCP_EMSGLEN for a bad header,
 * OCP_ETOOLONG for a control payload above msg_cap; an error is sticky and
 * every later call returns it. Feed the unconsumed rest in the next call.
 */
int ocp_demux_next(struct ocp_demux *d, const uint8_t *buf, size_t len, struct ocp_demux_event *ev);

/* True when d is between frames, so the stream may end here cleanly. */
bool ocp_demux_idle(const struct ocp_demux *d);

#endif /* OCPROTO_MUX_H */
