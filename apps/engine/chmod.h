/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * --chmod style mode rules (upstream chmod.c's language): comma-separated
 * clauses "[D|F][ugoa...](+|-|=)[rwxXst...]", "[D|F][ugoa...](+|-|=)(u|g|o)"
 * (copy another class's bits) or "[D|F]NNNN" (octal). Used for a daemon
 * module's "incoming chmod" and "outgoing chmod".
 *
 * Concurrency: a parsed list is immutable; any thread may apply it.
 */
#ifndef OCE_CHMOD_H
#define OCE_CHMOD_H

#include <sys/types.h>

struct oce_chmod;

/*
 * Parse text; clauses without a class are limited by umask_bits, as
 * chmod(1) does. Returns the list, or NULL on a syntax error or no memory
 * (errno EINVAL or ENOMEM).
 */
struct oce_chmod *oce_chmod_parse(const char *text, mode_t umask_bits);
void oce_chmod_free(struct oce_chmod *c);
/* mode changed by every clause in turn; the file type bits are kept. */
mode_t oce_chmod_apply(const struct oce_chmod *c, mode_t mode);

#endif /* OCE_CHMOD_H */
