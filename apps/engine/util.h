/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small helpers shared by the engine's roles: decoding a sans-I/O item
 * straight from a struct ocp_io, and path joining. Reentrant.
 */
#ifndef OCE_UTIL_H
#define OCE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "ocproto/io.h"

/* 1 in a ThreadSanitizer build (gcc says so one way, clang another). */
#if defined(__SANITIZE_THREAD__)
#define OCE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define OCE_TSAN 1
#endif
#endif
#ifndef OCE_TSAN
#define OCE_TSAN 0
#endif

/* A sans-I/O decoder: bytes consumed (> 0), 0 for "need more", or < 0. */
typedef int (*oce_dec_fn)(void *ctx, const uint8_t *buf, size_t len);

/*
 * Decode one item from io with dec: in place from the buffered bytes when
 * the item is contiguous there, else gathered into scratch[0..cap) one byte
 * at a time (an item cut by a frame boundary). dec must leave its state
 * alone when it returns 0. Returns 0, OCP_ECLOSED at EOF, OCP_ETOOLONG past
 * cap, or dec's or io's error.
 */
int oce_io_decode(struct ocp_io *io, oce_dec_fn dec, void *ctx, uint8_t *scratch, size_t cap);

/* Write a vstring / shortint / byte through io (upstream write_vstring() etc.). */
int oce_io_write_shortint(struct ocp_io *io, uint16_t v);
int oce_io_write_byte(struct ocp_io *io, uint8_t v);
int oce_io_read_shortint(struct ocp_io *io, uint16_t *v);
int oce_io_read_byte(struct ocp_io *io, uint8_t *v);

/* "a" + "/" + "b" into out (cap bytes); "." or "" as a is dropped. -ENAMETOOLONG if it does not fit. */
int oce_path_join(char *out, size_t cap, const char *a, const char *b);

/* "PREFIX word \"a word\" ...  (N args)" on stdout, as upstream's -vv shows a command. */
void oce_print_argv(const char *prefix, char *const *argv, size_t argc);
/* Is environment variable name set to "0" (a switch to the sequential twin)? */
bool oce_env_off(const char *name);

/*
 * The fork gate. A daemon forks session processes beside session threads,
 * and a child inherits every lock as it was at the fork: one held by another
 * thread stays held for good. glibc resets malloc's, but not the time zone
 * lock (localtime_r), the name service files' (getpwnam_r ...) or a shared
 * FILE's. Threads make those calls inside the gate (leaf sections, never
 * nested); oce_fork_gated() forks with the gate shut, so the child starts
 * with them free. Without threads it costs an uncontended read lock.
 */
void oce_forkgate_enter(void);
void oce_forkgate_leave(void);
/* fork() with the gate shut; the child's gate is new and open. */
pid_t oce_fork_gated(void);

#endif /* OCE_UTIL_H */
