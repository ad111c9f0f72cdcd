/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto integer codecs: the scalar encodings of rsync's wire protocol
 * (upstream io.c and io.h): int32, shortint, longint, varint, varlong, the
 * protocol-switched varint30/varlong30, the file-list index (ndx) codec and
 * vstrings. Sans-I/O: nothing here reads or writes a descriptor.
 *
 * Decoders: `ocp_dec_*(const uint8_t *buf, size_t len, ..., T *out)`
 *   > 0  the value was decoded from the first N bytes of buf; *out is set.
 *   = 0  buf holds a valid but incomplete prefix: call again with more bytes.
 *        Every encoding is at least one byte long, so 0 is never a success.
 *   < 0  OCP_E* (see err.h) when the bytes can never become valid, detected
 *        as early as possible (often from the first byte alone); -EINVAL for
 *        a bad argument from the caller (e.g. min_bytes out of 1..8).
 *   On 0 or < 0 neither *out nor any ndx state is modified.
 *
 * Encoders: `ocp_enc_*(uint8_t *out, size_t cap, ...)` write at most cap
 *   bytes and return the count written (> 0), -ENOBUFS when cap is too small
 *   (nothing useful is written and no state changes) or -EINVAL / -ERANGE
 *   for values the wire format cannot carry. The OCP_*_MAX macros give the
 *   largest output, so a buffer of that size never fails with -ENOBUFS.
 *
 * Decoders accept every byte string upstream rsync 3.5.0's writers produce
 * and, like upstream's readers, some non-minimal forms (for example a varint
 * with a redundant extra byte). They are stricter than upstream's readers
 * only where upstream silently drops bits or accepts forms no writer makes;
 * each such case is listed on the function.
 *
 * Concurrency: all functions are reentrant; an ocp_ndx_state belongs to one
 * stream direction and must not be shared between threads without locking.
 */
#ifndef OCPROTO_INT_H
#define OCPROTO_INT_H

#include <stddef.h>
#include <stdint.h>

#define OCP_INT32_SIZE	    4	   /* int32, little-endian */
#define OCP_SHORTINT_SIZE   2	   /* uint16, little-endian */
#define OCP_LONGINT_MAX	    12	   /* 0xFFFFFFFF marker + int64 */
#define OCP_VARINT_MAX	    5	   /* prefix byte + 4 value bytes */
#define OCP_VARLONG_MAX	    9	   /* prefix byte + 8 value bytes */
#define OCP_NDX_MAX	    6	   /* 0xFF, 0xFE, then 4 bytes */
#define OCP_VSTRING_HDR_MAX 2	   /* length header of a vstring */
#define OCP_VSTRING_LEN_MAX 0x7FFF /* longest vstring payload */

/* Special file-list indexes (upstream rsync.h NDX_*). */
#define OCP_NDX_DONE	     (-1)
#define OCP_NDX_FLIST_EOF    (-2)
#define OCP_NDX_DEL_STATS    (-3)
#define OCP_NDX_FLIST_OFFSET (-101)

/* Write v as 4 bytes little-endian; mirrors upstream `write_int()`. */
int ocp_enc_int32(uint8_t *out, size_t cap, int32_t v);
/* Read a 4-byte little-endian int32; mirrors upstream `read_int()`. */
int ocp_dec_int32(const uint8_t *buf, size_t len, int32_t *v);

/* Write v as 2 bytes little-endian; mirrors upstream `write_shortint()`. */
int ocp_enc_shortint(uint8_t *out, size_t cap, uint16_t v);
/* Read a 2-byte little-endian uint16; mirrors upstream `read_shortint()`. */
int ocp_dec_shortint(const uint8_t *buf, size_t len, uint16_t *v);

/*
 * Write v as 4 bytes when 0 <= v <= INT32_MAX, else as 0xFFFFFFFF and 8 bytes
 * little-endian (12 in all); mirrors upstream `write_longint()`.
 */
int ocp_enc_longint(uint8_t *out, size_t cap, int64_t v);
/*
 * Read a longint; mirrors upstream `read_longint()`. Stricter than upstream:
 * a 4-byte form with the sign bit set (other than the 0xFFFFFFFF marker) is
 * OCP_EPROTO, since writers send every negative value in the 12-byte form.
 */
int ocp_dec_longint(const uint8_t *buf, size_t len, int64_t *v);

/*
 * Write v in 1 to 5 bytes: the count of leading 1-bits in the first byte says
 * how many little-endian bytes follow; mirrors upstream `write_varint()`.
 */
int ocp_enc_varint(uint8_t *out, size_t cap, int32_t v);
/*
 * Read a varint; mirrors upstream `read_varint()`. A first byte of 0xF8 or
 * more is OCP_EOVERFLOW, as upstream; stricter than upstream, a 5-byte form
 * whose first byte carries value bits (0xF1..0xF7) is OCP_EOVERFLOW too,
 * where upstream drops those bits.
 */
int ocp_dec_varint(const uint8_t *buf, size_t len, int32_t *v);

/*
 * Write v as a varlong of at least min_bytes (1..8) bytes: a prefix byte that
 * holds the top value byte, then min_bytes - 1 + extra low bytes; mirrors
 * upstream `write_varlong(f, x, min_bytes)` (rsync uses 3 for sizes and 4
 * for times), byte for byte for min_bytes >= 3, where every int64 fits. For
 * min_bytes 1 and 2, values needing more than 6 extra bytes give -ERANGE
 * (upstream would emit bytes its own reader misreads).
 */
int ocp_enc_varlong(uint8_t *out, size_t cap, int64_t v, unsigned min_bytes);
/*
 * Read a varlong of at least min_bytes (1..8) bytes; mirrors upstream
 * `read_varlong()`. More than 9 bytes in all is OCP_EOVERFLOW, as upstream;
 * stricter than upstream, so is a 9-byte form whose prefix byte carries
 * value bits beyond 64 bits (upstream drops them).
 */
int ocp_dec_varlong(const uint8_t *buf, size_t len, unsigned min_bytes, int64_t *v);

/* varint for protocol >= 30, int32 before; mirrors upstream `write_varint30()`. */
int ocp_enc_varint30(uint8_t *out, size_t cap, int protocol, int32_t v);
/* Read what ocp_enc_varint30() writes; mirrors upstream `read_varint30()`. */
int ocp_dec_varint30(const uint8_t *buf, size_t len, int protocol, int32_t *v);

/*
 * varlong(min_bytes) for protocol >= 30, longint before (min_bytes is then
 * still checked but unused); mirrors upstream `write_varlong30()`.
 */
int ocp_enc_varlong30(uint8_t *out, size_t cap, int protocol, int64_t v, unsigned min_bytes);
/* Read what ocp_enc_varlong30() writes; mirrors upstream `read_varlong30()`. */
int ocp_dec_varlong30(const uint8_t *buf, size_t len, int protocol, unsigned min_bytes, int64_t *v);

/*
 * Per-direction state of the file-list index codec: the last positive and
 * the last negated negative index sent (or received) on one stream. Keep one
 * for what you write and one for what you read; fields are private.
 */
struct ocp_ndx_state {
	int protocol;
	int32_t prev_positive;
	int32_t prev_negative;
};

/* Reset st for a new stream of the given protocol version. */
void ocp_ndx_init(struct ocp_ndx_state *st, int protocol);

/*
 * Write file-list index ndx (>= 0, or negative special/offset values, not
 * INT32_MIN) and update st; mirrors upstream `write_ndx()`. Protocol >= 30:
 * 0x00 for NDX_DONE; otherwise an optional 0xFF (negative) then a delta of
 * 1..253 in one byte, 0xFE + 2 bytes for 0 or 254..0x7FFF, or 0xFE + 4 bytes
 * of the absolute value with the top bit set. Before 30: a plain int32.
 */
int ocp_enc_ndx(uint8_t *out, size_t cap, struct ocp_ndx_state *st, int32_t ndx);
/*
 * Read a file-list index and update st; mirrors upstream `read_ndx()`.
 * A result above INT32_MAX is OCP_EOVERFLOW, as upstream. Stricter than
 * upstream: a 0xFF-marked value of 0 or 1 is OCP_EPROTO (writers send
 * NDX_DONE as 0x00 and never mark zero negative).
 */
int ocp_dec_ndx(const uint8_t *buf, size_t len, struct ocp_ndx_state *st, int32_t *ndx);

/*
 * Write a vstring: one length byte, or 0x80|hi, lo when slen > 0x7F, then the
 * slen bytes of s; slen above OCP_VSTRING_LEN_MAX is -EINVAL. Returns header
 * plus payload length; mirrors upstream `write_vstring()`.
 */
int ocp_enc_vstring(uint8_t *out, size_t cap, const void *s, size_t slen);
/*
 * Read a vstring whose payload may be at most max_len bytes; a longer one is
 * OCP_ETOOLONG as soon as the header is complete. On success *s points into
 * buf (not NUL-terminated) and *slen is its length; the return value counts
 * header and payload. Mirrors upstream `read_vstring()`.
 */
int ocp_dec_vstring(const uint8_t *buf, size_t len, size_t max_len, const uint8_t **s,
		    size_t *slen);

#endif /* OCPROTO_INT_H */
