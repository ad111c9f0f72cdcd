/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon loop's readiness backends behind one small table: io_uring
 * (one-shot poll requests re-armed after each report, so the loop sees
 * level-triggered readiness exactly as with epoll) and epoll.
 *
 * pollb_open() picks io_uring unless OC_RSYNC_IO_BACKEND=epoll, and falls
 * back to epoll when the ring cannot be set up (an old kernel, io_uring
 * disabled by sysctl or a seccomp filter). Not thread-safe: one loop owns it.
 */
#ifndef OC_DAEMON_SRV_POLLB_H
#define OC_DAEMON_SRV_POLLB_H

#include <stdbool.h>
#include <stdint.h>

#define PB_IN  1u
#define PB_OUT 2u
#define PB_ERR 4u

struct pollev {
	void *tag;
	uint32_t events; /* PB_IN / PB_OUT / PB_ERR */
};

struct pollb {
	const struct pollb_ops *ops;
	void *priv;
};

struct pollb_ops {
	const char *name;
	int (*init)(struct pollb *p);
	/* add (mod false) or change (mod true) the interest in fd */
	int (*set)(struct pollb *p, int fd, uint32_t events, void *tag, bool mod);
	int (*del)(struct pollb *p, int fd);
	/* up to max events, waiting at most timeout_ms; count or -errno */
	int (*wait)(struct pollb *p, struct pollev *ev, int max, int timeout_ms);
	/* also right in a forked child: drops its reference only */
	void (*fini)(struct pollb *p);
};

extern const struct pollb_ops pollb_epoll_ops, pollb_uring_ops;

/*
 * Set up the backend named by OC_RSYNC_IO_BACKEND ("io_uring", the default,
 * or "epoll"); io_uring falls back to epoll when it cannot start. 0 or -errno.
 */
int pollb_open(struct pollb *p);
/* epoll, whatever the environment says (a connection's own thread). */
int pollb_open_epoll(struct pollb *p);

#endif
