/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A growable output buffer with the writer signature ocproto's apply and
 * token paths take (ocp_out_write_fn), shared by the unit tests and the
 * fuzz targets. Running out of memory is returned as -ENOMEM, which those
 * paths pass up, so a test sees it as a failed call.
 */
#ifndef TESTS_OBUF_H
#define TESTS_OBUF_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct obuf {
	uint8_t *b;
	size_t n, cap;
};

static inline int
obuf_write(void *arg, const uint8_t *p, size_t n)
{
	struct obuf *o = arg;

	if (o->n + n > o->cap) {
		size_t cap = (o->n + n) * 2;
		uint8_t *b = realloc(o->b, cap);

		if (!b)
			return -ENOMEM;
		o->b = b;
		o->cap = cap;
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
	return 0;
}

#endif /* TESTS_OBUF_H */
