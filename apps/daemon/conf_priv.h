/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Between the rsyncd.conf lexer (params.c) and the parameter loader
 * (conf.c): the lexer calls back for each section header, parameter and
 * &directive, as upstream params.c calls loadparm.c.
 */
#ifndef OCE_DAEMON_CONF_PRIV_H
#define OCE_DAEMON_CONF_PRIV_H

#include <stdbool.h>
#include <stddef.h>

struct oce__dlex_ops {
	/* a "[name]" header; false stops the parse as a failure */
	bool (*section)(void *ctx, const char *name);
	/* a "name = value" line; false stops the parse as a failure */
	bool (*param)(void *ctx, const char *name, const char *value);
	/* a "&name value" line; returns 1 to go on, anything else ends the parse with it */
	int (*directive)(void *ctx, const char *name, const char *value);
	void (*log)(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void *ctx;
};

/*
 * Scan text[0..len); mirrors upstream Parse(). A NUL byte acts where
 * upstream's getc() loops see 0: it ends a name or value (the rest of that
 * line is read as a new line) and, where a line would start, the text. Returns 1 when the whole
 * text was scanned, 0 on a failure (already logged), -ENOMEM.
 */
int oce__dlex_run(const char *text, size_t len, const struct oce__dlex_ops *ops);

#endif /* OCE_DAEMON_CONF_PRIV_H */
