/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Multiplex framing and the sans-I/O demultiplexer; see ocproto/mux.h.
 * Written from the protocol description and checked against frames captured
 * from rsync 3.5.0 (tests/unit/test_ocp_mux.c).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ocproto/err.h"
#include "ocproto/mux.h"

enum demux_state {
	ST_HDR = 0, /* collecting a frame header */
	ST_DATA,    /* passing DATA payload through */
	ST_MSG,	    /* collecting a control payload */
};

const char *
ocp_msg_name(int code)
{
	switch (code) {
	case OCP_MSG_DATA:
		return "MSG_DATA";
	case OCP_MSG_ERROR_XFER:
		return "MSG_ERROR_XFER";
	case OCP_MSG_INFO:
		return "MSG_INFO";
	case OCP_MSG_ERROR:
		return "MSG_ERROR";
	case OCP_MSG_WARNING:
		return "MSG_WARNING";
	case OCP_MSG_ERROR_SOCKET:
		return "MSG_ERROR_SOCKET";
	case OCP_MSG_LOG:
		return "MSG_LOG";
	case OCP_MSG_CLIENT:
		return "MSG_CLIENT";
	case OCP_MSG_ERROR_UTF8:
		return "MSG_ERROR_UTF8";
	case OCP_MSG_REDO:
		return "MSG_REDO";
	case OCP_MSG_STATS:
		return "MSG_STATS";
	case OCP_MSG_IO_ERROR:
		return "MSG_IO_ERROR";
	case OCP_MSG_IO_TIMEOUT:
		return "MSG_IO_TIMEOUT";
	case OCP_MSG_NOOP:
		return "MSG_NOOP";
	case OCP_MSG_ERROR_EXIT:
		return "MSG_ERROR_EXIT";
	case OCP_MSG_SUCCESS:
		return "MSG_SUCCESS";
	case OCP_MSG_DELETED:
		return "MSG_DELETED";
	case OCP_MSG_NO_SEND:
		return "MSG_NO_SEND";
	}
	return NULL;
}

int
ocp_mux_check(int code, size_t len)
{
	if (!ocp_msg_name(code))
		return OCP_EMSGCODE;
	if (len > OCP_MUX_LEN_MAX)
		return OCP_EMSGLEN;
	switch (code) {
	case OCP_MSG_REDO:
	case OCP_MSG_IO_ERROR:
	case OCP_MSG_IO_TIMEOUT:
	case OCP_MSG_NO_SEND:
		return len == 4 ? 0 : OCP_EMSGLEN;
	case OCP_MSG_NOOP:
		return len == 0 ? 0 : OCP_EMSGLEN;
	case OCP_MSG_ERROR_EXIT:
		return len == 0 || len == 4 ? 0 : OCP_EMSGLEN;
	case OCP_MSG_STATS:
		return len == 8 ? 0 : OCP_EMSGLEN;
	case OCP_MSG_SUCCESS:
		/* 20 (index, dev, ino) only between local siblings upstream. */
		return len == 4 || len == 20 ? 0 : OCP_EMSGLEN;
	}
	return 0;
}

int
ocp_mux_hdr_encode(uint8_t *out, size_t cap, int code, size_t len)
{
	uint32_t h;

	if (ocp_mux_check(code, len) < 0)
		return -EINVAL;
	if (cap < OCP_MUX_HDR_SIZE)
		return -ENOBUFS;
	h = (uint32_t)(OCP_MUX_BASE + code) << 24 | (uint32_t)len;
	out[0] = (uint8_t)h;
	out[1] = (uint8_t)(h >> 8);
	out[2] = (uint8_t)(h >> 16);
	out[3] = (uint8_t)(h >> 24);
	return OCP_MUX_HDR_SIZE;
}

int
ocp_mux_msg_encode(uint8_t *out, size_t cap, int code, const void *payload, size_t len)
{
	int n;

	if (ocp_mux_check(code, len) < 0)
		return -EINVAL;
	if (cap < OCP_MUX_HDR_SIZE + len)
		return -ENOBUFS;
	n = ocp_mux_hdr_encode(out, cap, code, len);
	if (n < 0)
		return n;
	if (len)
		memcpy(out + OCP_MUX_HDR_SIZE, payload, len);
	return (int)(OCP_MUX_HDR_SIZE + len);
}

int
ocp_mux_hdr_decode(const uint8_t *buf, size_t len, enum ocp_msg *code, uint32_t *plen)
{
	uint32_t h;
	int c, err;

	if (len < OCP_MUX_HDR_SIZE)
		return 0;
	h = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
	    (uint32_t)buf[3] << 24;
	/* Bytes below the base make a negative code: always unknown. */
	c = (int)(h >> 24) - OCP_MUX_BASE;
	err = ocp_mux_check(c, h & OCP_MUX_LEN_MAX);
	if (err < 0)
		return err;
	*code = (enum ocp_msg)c;
	*plen = h & OCP_MUX_LEN_MAX;
	return OCP_MUX_HDR_SIZE;
}

int
ocp_demux_init(struct ocp_demux *d, size_t msg_cap)
{
	if (msg_cap != 0 && (msg_cap < OCP_MUX_MSG_FIXED_MAX || msg_cap > OCP_MUX_MSG_MAX))
		return -EINVAL;
	d->err = 0;
	d->state = ST_HDR;
	d->msg_cap = msg_cap ? msg_cap : OCP_MUX_MSG_MAX;
	d->want = 0;
	d->have = 0;
	d->code = OCP_MSG_DATA;
	return 0;
}

/* Record a stream error; every later call reports it again. */
static int
demux_fail(struct ocp_demux *d, int err)
{
	d->err = err;
	return err;
}

/* Fill *ev with the completed control message and go back to headers. */
static void
demux_emit_msg(struct ocp_demux *d, struct ocp_demux_event *ev)
{
	ev->kind = OCP_DEMUX_MSG;
	ev->code = d->code;
	ev->data = d->want ? d->msg : NULL;
	ev->len = d->want;
	d->state = ST_HDR;
	d->have = 0;
}

int
ocp_demux_next(struct ocp_demux *d, const uint8_t *buf, size_t len, struct ocp_demux_event *ev)
{
	size_t used = 0, n;
	uint32_t plen;
	int rc;

	ev->kind = OCP_DEMUX_NONE;
	ev->code = OCP_MSG_DATA;
	ev->data = NULL;
	ev->len = 0;
	if (d->err)
		return d->err;
	/* Keep the count representable in the int we return. */
	if (len > INT_MAX)
		len = INT_MAX;

	while (used < len) {
		switch (d->state) {
		case ST_HDR:
			n = OCP_MUX_HDR_SIZE - d->have;
			if (n > len - used)
				n = len - used;
			memcpy(d->hdr + d->have, buf + used, n);
			d->have += (uint32_t)n;
			used += n;
			if (d->have < OCP_MUX_HDR_SIZE)
				break;
			d->have = 0;
			rc = ocp_mux_hdr_decode(d->hdr, OCP_MUX_HDR_SIZE, &d->code, &plen);
			if (rc < 0)
				return demux_fail(d, rc);
			d->want = plen;
			if (d->code == OCP_MSG_DATA) {
				if (plen)
					d->state = ST_DATA;
				break;
			}
			/* The cap is what keeps a peer from choosing our memory use. */
			if (plen > d->msg_cap)
				return demux_fail(d, OCP_ETOOLONG);
			if (plen == 0) {
				demux_emit_msg(d, ev);
				return (int)used;
			}
			d->state = ST_MSG;
			break;
		case ST_DATA:
			n = d->want;
			if (n > len - used)
				n = len - used;
			ev->kind = OCP_DEMUX_DATA;
			ev->code = OCP_MSG_DATA;
			ev->data = buf + used;
			ev->len = n;
			used += n;
			d->want -= (uint32_t)n;
			if (d->want == 0)
				d->state = ST_HDR;
			return (int)used;
		case ST_MSG:
			n = d->want - d->have;
			if (n > len - used)
				n = len - used;
			memcpy(d->msg + d->have, buf + used, n);
			d->have += (uint32_t)n;
			used += n;
			if (d->have == d->want) {
				demux_emit_msg(d, ev);
				return (int)used;
			}
			break;
		}
	}
	return (int)used;
}

bool
ocp_demux_idle(const struct ocp_demux *d)
{
	return d->err == 0 && d->state == ST_HDR && d->have == 0;
}

bool
ocp_demux_overflowed(const struct ocp_demux *d, size_t *len)
{
	if (d->err != OCP_ETOOLONG)
		return false;
	*len = d->want;
	return true;
}

int
ocp_demux_bad_tag(const struct ocp_demux *d)
{
	return (int)d->hdr[OCP_MUX_HDR_SIZE - 1] - OCP_MUX_BASE;
}
