/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The option table behind refuse.c (refuse_table.c). */
#ifndef OCE_DAEMON_REFUSE_PRIV_H
#define OCE_DAEMON_REFUSE_PRIV_H

#include <stddef.h>

#define ARG   1u /* takes an argument */
#define EXACT 2u /* only an exact refuse rule reaches it */

struct oce__dref_row {
	const char *long_name; /* NULL for -D, -F, -P */
	char short_name;
	unsigned flags;
	int group; /* same_refuse_action() class: index of its first row */
};

extern const struct oce__dref_row oce__dref_rows[];
extern const size_t oce__dref_n_rows;

#endif /* OCE_DAEMON_REFUSE_PRIV_H */
