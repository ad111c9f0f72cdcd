/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bump allocator for config snapshots: many small allocations, one free.
 * Chunks are malloc'd as needed and never moved, so pointers stay valid
 * until oce_arena_free(). Not thread-safe while allocating; the finished
 * contents are read-only and may be shared.
 */
#ifndef OCE_DAEMON_ARENA_H
#define OCE_DAEMON_ARENA_H

#include <stddef.h>

struct oce_dconf_arena;

/* A new empty arena, or NULL without memory. */
struct oce_dconf_arena *oce_arena_new(void);
/* size bytes aligned for any object, or NULL without memory. */
void *oce_arena_alloc(struct oce_dconf_arena *a, size_t size);
/* A NUL-terminated copy of s[0..len), or NULL without memory. */
char *oce_arena_strndup(struct oce_dconf_arena *a, const char *s, size_t len);
/* Free every chunk and the arena itself (NULL is fine). */
void oce_arena_free(struct oce_dconf_arena *a);

#endif /* OCE_DAEMON_ARENA_H */
