/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Integer codecs of rsync's wire protocol; see ocproto/int.h for the rules
 * and the return convention. Written from the protocol description, checked
 * against bytes captured from rsync 3.5.0 (tests/unit/test_ocp_int.c).
 */
#include <errno.h>
#include <string.h>

#include "ocproto/err.h"
#include "ocproto/int.h"

/* The largest count of extra bytes a prefix byte can announce. */
#define VAR_EXTRA_MAX 6

/* Convert without relying on implementation-defined out-of-range casts. */
static int32_t
u32_to_s32(uint32_t u)
{
	return u <= INT32_MAX ? (int32_t)u : -(int32_t)(UINT32_MAX - u) - 1;
}

static int64_t
u64_to_s64(uint64_t u)
{
	return u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

static void
put_le32(uint8_t *out, uint32_t v)
{
	out[0] = (uint8_t)v;
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)(v >> 16);
	out[3] = (uint8_t)(v >> 24);
}

static uint32_t
get_le32(const uint8_t *buf)
{
	return (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
	       (uint32_t)buf[3] << 24;
}

int
ocp_enc_int32(uint8_t *out, size_t cap, int32_t v)
{
	if (cap < OCP_INT32_SIZE)
		return -ENOBUFS;
	put_le32(out, (uint32_t)v);
	return OCP_INT32_SIZE;
}

int
ocp_dec_int32(const uint8_t *buf, size_t len, int32_t *v)
{
	if (len < OCP_INT32_SIZE)
		return 0;
	*v = u32_to_s32(get_le32(buf));
	return OCP_INT32_SIZE;
}

int
ocp_enc_shortint(uint8_t *out, size_t cap, uint16_t v)
{
	if (cap < OCP_SHORTINT_SIZE)
		return -ENOBUFS;
	out[0] = (uint8_t)v;
	out[1] = (uint8_t)(v >> 8);
	return OCP_SHORTINT_SIZE;
}

int
ocp_dec_shortint(const uint8_t *buf, size_t len, uint16_t *v)
{
	if (len < OCP_SHORTINT_SIZE)
		return 0;
	*v = (uint16_t)(buf[0] | buf[1] << 8);
	return OCP_SHORTINT_SIZE;
}

int
ocp_enc_longint(uint8_t *out, size_t cap, int64_t v)
{
	uint64_t u = (uint64_t)v;

	if (v >= 0 && v <= INT32_MAX)
		return ocp_enc_int32(out, cap, (int32_t)v);
	if (cap < OCP_LONGINT_MAX)
		return -ENOBUFS;
	put_le32(out, UINT32_MAX);
	put_le32(out + 4, (uint32_t)u);
	put_le32(out + 8, (uint32_t)(u >> 32));
	return OCP_LONGINT_MAX;
}

int
ocp_dec_longint(const uint8_t *buf, size_t len, int64_t *v)
{
	uint32_t first;

	if (len < OCP_INT32_SIZE)
		return 0;
	first = get_le32(buf);
	if (first != UINT32_MAX) {
		if (first > INT32_MAX)
			return OCP_EPROTO;
		*v = first;
		return OCP_INT32_SIZE;
	}
	if (len < OCP_LONGINT_MAX)
		return 0;
	*v = u64_to_s64((uint64_t)get_le32(buf + 4) | (uint64_t)get_le32(buf + 8) << 32);
	return OCP_LONGINT_MAX;
}

/*
 * Extra bytes announced by a varint/varlong prefix byte: its leading 1-bits,
 * except that 0xFC..0xFF all announce 6 and keep their low two bits as value
 * bits (upstream's `int_byte_extra[]` table has the same shape).
 */
static unsigned
var_extra(uint8_t ch)
{
	unsigned n = 0;

	while (n < VAR_EXTRA_MAX && (ch & (0x80u >> n)))
		n++;
	return n;
}

/* The prefix bits for `extra` extra bytes: that many leading 1-bits. */
static uint8_t
var_prefix(unsigned extra)
{
	return (uint8_t)(0xFF00u >> extra);
}

/* The top value byte must be below this to share the prefix byte. */
static unsigned
var_room(unsigned extra)
{
	return extra < VAR_EXTRA_MAX ? 1u << (7 - extra) : 1u << 2;
}

/*
 * Shared writer of varint (width 4, min_bytes 1) and varlong (width 8): the
 * low min_bytes - 1 + extra bytes follow a prefix byte carrying the rest.
 */
static int
enc_var(uint8_t *out, size_t cap, uint64_t v, unsigned min_bytes, unsigned width)
{
	uint8_t b[8];
	unsigned n, extra, i;
	size_t total;

	for (i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	for (n = width; n > min_bytes && b[n - 1] == 0; n--)
		;
	extra = n - min_bytes;
	if (extra <= VAR_EXTRA_MAX && b[n - 1] < var_room(extra)) {
		total = n;
		if (cap < total)
			return -ENOBUFS;
		out[0] = var_prefix(extra) | b[n - 1];
	} else if (extra + 1 <= VAR_EXTRA_MAX) {
		total = n + 1;
		if (cap < total)
			return -ENOBUFS;
		out[0] = var_prefix(extra + 1);
	} else {
		return -ERANGE;
	}
	memcpy(out + 1, b, total - 1);
	return (int)total;
}

/*
 * Shared reader: the prefix byte announces `extra` bytes beyond min_bytes;
 * its remaining bits are the most significant value byte, which for a
 * full-width form lies past `width` bytes and so must be zero.
 */
static int
dec_var(const uint8_t *buf, size_t len, unsigned min_bytes, unsigned width, uint64_t *v)
{
	unsigned extra, total, i;
	uint64_t u = 0;
	uint8_t top;

	if (len == 0)
		return 0;
	extra = var_extra(buf[0]);
	total = min_bytes + extra;
	if (total > width + 1)
		return OCP_EOVERFLOW;
	top = buf[0] & (uint8_t)((1u << (8 - extra)) - 1);
	if (total == width + 1 && top != 0)
		return OCP_EOVERFLOW;
	if (len < total)
		return 0;
	for (i = 1; i < total; i++)
		u |= (uint64_t)buf[i] << (8 * (i - 1));
	if (total <= width)
		u |= (uint64_t)top << (8 * (total - 1));
	*v = u;
	return (int)total;
}

int
ocp_enc_varint(uint8_t *out, size_t cap, int32_t v)
{
	return enc_var(out, cap, (uint32_t)v, 1, 4);
}

int
ocp_dec_varint(const uint8_t *buf, size_t len, int32_t *v)
{
	uint64_t u;
	int n = dec_var(buf, len, 1, 4, &u);

	if (n > 0)
		*v = u32_to_s32((uint32_t)u);
	return n;
}

int
ocp_enc_varlong(uint8_t *out, size_t cap, int64_t v, unsigned min_bytes)
{
	if (min_bytes < 1 || min_bytes > 8)
		return -EINVAL;
	return enc_var(out, cap, (uint64_t)v, min_bytes, 8);
}

int
ocp_dec_varlong(const uint8_t *buf, size_t len, unsigned min_bytes, int64_t *v)
{
	uint64_t u;
	int n;

	if (min_bytes < 1 || min_bytes > 8)
		return -EINVAL;
	n = dec_var(buf, len, min_bytes, 8, &u);
	if (n > 0)
		*v = u64_to_s64(u);
	return n;
}

int
ocp_enc_varint30(uint8_t *out, size_t cap, int protocol, int32_t v)
{
	if (protocol < 30)
		return ocp_enc_int32(out, cap, v);
	return ocp_enc_varint(out, cap, v);
}

int
ocp_dec_varint30(const uint8_t *buf, size_t len, int protocol, int32_t *v)
{
	if (protocol < 30)
		return ocp_dec_int32(buf, len, v);
	return ocp_dec_varint(buf, len, v);
}

int
ocp_enc_varlong30(uint8_t *out, size_t cap, int protocol, int64_t v, unsigned min_bytes)
{
	if (min_bytes < 1 || min_bytes > 8)
		return -EINVAL;
	if (protocol < 30)
		return ocp_enc_longint(out, cap, v);
	return ocp_enc_varlong(out, cap, v, min_bytes);
}

int
ocp_dec_varlong30(const uint8_t *buf, size_t len, int protocol, unsigned min_bytes, int64_t *v)
{
	if (min_bytes < 1 || min_bytes > 8)
		return -EINVAL;
	if (protocol < 30)
		return ocp_dec_longint(buf, len, v);
	return ocp_dec_varlong(buf, len, min_bytes, v);
}

void
ocp_ndx_init(struct ocp_ndx_state *st, int protocol)
{
	/* Upstream's starting points: the first index 0 is a delta of 1. */
	st->protocol = protocol;
	st->prev_positive = -1;
	st->prev_negative = 1;
}

int
ocp_enc_ndx(uint8_t *out, size_t cap, struct ocp_ndx_state *st, int32_t ndx)
{
	uint8_t b[OCP_NDX_MAX];
	int32_t mag, *prev;
	int64_t diff;
	size_t n = 0;

	if (st->protocol < 30)
		return ocp_enc_int32(out, cap, ndx);
	if (ndx == INT32_MIN)
		return -EINVAL;
	if (ndx == OCP_NDX_DONE) {
		/* A bare zero byte, leaving both previous values alone. */
		if (cap < 1)
			return -ENOBUFS;
		out[0] = 0;
		return 1;
	}
	if (ndx >= 0) {
		mag = ndx;
		prev = &st->prev_positive;
	} else {
		b[n++] = 0xFF;
		mag = -ndx;
		prev = &st->prev_negative;
	}
	/* int64 so that e.g. INT32_MAX - (-1) cannot overflow. */
	diff = (int64_t)mag - *prev;
	if (diff > 0 && diff < 0xFE) {
		b[n++] = (uint8_t)diff;
	} else if (diff < 0 || diff > 0x7FFF) {
		b[n++] = 0xFE;
		b[n++] = (uint8_t)(mag >> 24) | 0x80;
		b[n++] = (uint8_t)mag;
		b[n++] = (uint8_t)(mag >> 8);
		b[n++] = (uint8_t)(mag >> 16);
	} else {
		b[n++] = 0xFE;
		b[n++] = (uint8_t)(diff >> 8);
		b[n++] = (uint8_t)diff;
	}
	if (cap < n)
		return -ENOBUFS;
	memcpy(out, b, n);
	*prev = mag;
	return (int)n;
}

int
ocp_dec_ndx(const uint8_t *buf, size_t len, struct ocp_ndx_state *st, int32_t *ndx)
{
	int32_t *prev = &st->prev_positive;
	size_t pos = 0;
	uint32_t mag;
	int neg = 0;

	if (st->protocol < 30)
		return ocp_dec_int32(buf, len, ndx);
	if (len < 1)
		return 0;
	if (buf[0] == 0) {
		*ndx = OCP_NDX_DONE;
		return 1;
	}
	if (buf[0] == 0xFF) {
		neg = 1;
		prev = &st->prev_negative;
		pos = 1;
		if (len < 2)
			return 0;
	}
	if (buf[pos] == 0xFE) {
		if (len < pos + 3)
			return 0;
		if (buf[pos + 1] & 0x80) {
			/* Absolute value: top byte (less its flag), then low three. */
			if (len < pos + 5)
				return 0;
			mag = (uint32_t)(buf[pos + 1] & 0x7F) << 24 | buf[pos + 2] |
			      (uint32_t)buf[pos + 3] << 8 | (uint32_t)buf[pos + 4] << 16;
			pos += 5;
		} else {
			/* Big-endian delta, unlike every other field. */
			mag = ((uint32_t)buf[pos + 1] << 8 | buf[pos + 2]) + (uint32_t)*prev;
			pos += 3;
		}
	} else {
		mag = buf[pos] + (uint32_t)*prev;
		pos += 1;
	}
	if (mag > INT32_MAX)
		return OCP_EOVERFLOW;
	if (neg && mag <= 1)
		return OCP_EPROTO;
	*prev = (int32_t)mag;
	*ndx = neg ? -(int32_t)mag : (int32_t)mag;
	return (int)pos;
}

int
ocp_enc_vstring(uint8_t *out, size_t cap, const void *s, size_t slen)
{
	size_t hdr = slen > 0x7F ? 2 : 1;

	if (slen > OCP_VSTRING_LEN_MAX)
		return -EINVAL;
	if (cap < hdr + slen)
		return -ENOBUFS;
	if (hdr == 2)
		out[0] = 0x80 | (uint8_t)(slen >> 8);
	out[hdr - 1] = (uint8_t)slen;
	if (slen)
		memcpy(out + hdr, s, slen);
	return (int)(hdr + slen);
}

int
ocp_dec_vstring(const uint8_t *buf, size_t len, size_t max_len, const uint8_t **s, size_t *slen)
{
	size_t hdr = 1, n;

	if (len < 1)
		return 0;
	n = buf[0];
	if (n & 0x80) {
		if (len < 2)
			return 0;
		n = (n & 0x7F) << 8 | buf[1];
		hdr = 2;
	}
	if (n > max_len)
		return OCP_ETOOLONG;
	if (len < hdr + n)
		return 0;
	*s = buf + hdr;
	*slen = n;
	return (int)(hdr + n);
}
