/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon loop's readiness backends; see srv_pollb.h. */
#include "apps/daemon/srv_pollb.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* --- epoll ------------------------------------------------------------------ */

struct ep {
	int fd;
};

static int
ep_init(struct pollb *p)
{
	struct ep *e = malloc(sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->fd = epoll_create1(EPOLL_CLOEXEC);
	if (e->fd < 0) {
		int r = -errno;

		free(e);
		return r;
	}
	p->priv = e;
	return 0;
}

static int
ep_set(struct pollb *p, int fd, uint32_t events, void *tag, bool mod)
{
	struct ep *e = p->priv;
	struct epoll_event ev = {0};

	ev.events = (events & PB_IN ? EPOLLIN : 0) | (events & PB_OUT ? EPOLLOUT : 0);
	ev.data.ptr = tag;
	return epoll_ctl(e->fd, mod ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int
ep_del(struct pollb *p, int fd)
{
	struct ep *e = p->priv;

	return epoll_ctl(e->fd, EPOLL_CTL_DEL, fd, NULL) ? -errno : 0;
}

static int
ep_wait(struct pollb *p, struct pollev *ev, int max, int timeout_ms)
{
	struct ep *e = p->priv;
	struct epoll_event got[64];
	int n;

	if (max > 64)
		max = 64;
	n = epoll_wait(e->fd, got, max, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		ev[i].tag = got[i].data.ptr;
		ev[i].events = (got[i].events & EPOLLIN ? PB_IN : 0) |
			       (got[i].events & EPOLLOUT ? PB_OUT : 0) |
			       (got[i].events & (EPOLLERR | EPOLLHUP) ? PB_ERR : 0);
	}
	return n;
}

static void
ep_fini(struct pollb *p)
{
	struct ep *e = p->priv;

	if (!e)
		return;
	close(e->fd);
	free(e);
	p->priv = NULL;
}

const struct pollb_ops pollb_epoll_ops = {"epoll", ep_init, ep_set, ep_del, ep_wait, ep_fini};

/* --- io_uring ------------------------------------------------------------------ */

/*
 * Each watched descriptor has at most one one-shot poll request in the ring.
 * Its user_data is the descriptor and a generation; a change of interest or
 * a removal bumps the generation (and cancels the request), so a completion
 * that was already on its way is recognised as stale and dropped. A
 * completion disarms its descriptor, which is armed again at the next wait:
 * a descriptor still ready then completes at once, which is level-triggered
 * readiness, as the loop expects (it may leave data or connections for the
 * next round).
 */
#define UR_ENTRIES 1024
#define UR_CANCEL  UINT64_MAX /* the user_data of our poll-remove requests */

struct ur_fd {
	void *tag;
	uint32_t events;
	uint32_t gen;
	bool on;     /* watched */
	bool armed;  /* a poll request is in the ring */
	bool queued; /* listed in todo */
};

struct ur {
	struct io_uring ring;
	struct ur_fd *fds; /* indexed by descriptor */
	size_t cap;
	int *todo;	   /* descriptors to arm at the next wait */
	size_t ntodo;
};

static int
ur_init(struct pollb *p)
{
	struct ur *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	r = io_uring_queue_init(UR_ENTRIES, &u->ring, 0);
	if (r < 0) {
		free(u);
		return r;
	}
	p->priv = u;
	return 0;
}

static struct io_uring_sqe *
ur_sqe(struct ur *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static uint64_t
ur_data(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

/* Take fd's request out of the ring (its completion, if any, is now stale). */
static int
ur_disarm(struct ur *u, int fd)
{
	struct ur_fd *f = &u->fds[fd];
	struct io_uring_sqe *sqe;

	if (f->armed) {
		sqe = ur_sqe(u);
		if (!sqe)
			return -EBUSY;
		io_uring_prep_poll_remove(sqe, ur_data(fd, f->gen));
		io_uring_sqe_set_data64(sqe, UR_CANCEL);
		f->armed = false;
	}
	f->gen++;
	return 0;
}

static int
ur_queue(struct ur *u, int fd)
{
	if (u->fds[fd].queued)
		return 0;
	/* todo never holds a descriptor twice, so cap entries suffice */
	u->todo[u->ntodo++] = fd;
	u->fds[fd].queued = true;
	return 0;
}

static int
ur_set(struct pollb *p, int fd, uint32_t events, void *tag, bool mod)
{
	struct ur *u = p->priv;
	struct ur_fd *f;
	int r;

	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= u->cap) {
		size_t cap = u->cap ? u->cap : 64;
		struct ur_fd *nf;
		int *nt;

		while (cap <= (size_t)fd)
			cap *= 2;
		nf = realloc(u->fds, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		memset(nf + u->cap, 0, (cap - u->cap) * sizeof(*nf));
		u->fds = nf;
		nt = realloc(u->todo, cap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		u->todo = nt;
		u->cap = cap;
	}
	f = &u->fds[fd];
	if (mod != f->on)
		return mod ? -ENOENT : -EEXIST;
	r = ur_disarm(u, fd);
	if (r)
		return r;
	f->tag = tag;
	f->events = events;
	f->on = true;
	return ur_queue(u, fd);
}

static int
ur_del(struct pollb *p, int fd)
{
	struct ur *u = p->priv;
	int r;

	if (fd < 0 || (size_t)fd >= u->cap || !u->fds[fd].on)
		return -ENOENT;
	r = ur_disarm(u, fd);
	u->fds[fd].on = false;
	return r;
}

static int
ur_wait(struct pollb *p, struct pollev *ev, int max, int timeout_ms)
{
	struct ur *u = p->priv;
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int n = 0, r;

	for (size_t i = 0; i < u->ntodo; i++) {
		int fd = u->todo[i];
		struct ur_fd *f = &u->fds[fd];
		struct io_uring_sqe *sqe;

		f->queued = false;
		if (!f->on || f->armed)
			continue;
		sqe = ur_sqe(u);
		if (!sqe) {
			/* keep the rest for the next round */
			memmove(u->todo, u->todo + i, (u->ntodo - i) * sizeof(*u->todo));
			u->ntodo -= i;
			for (size_t j = 0; j < u->ntodo; j++)
				u->fds[u->todo[j]].queued = true;
			goto wait;
		}
		io_uring_prep_poll_add(sqe, fd, (f->events & PB_IN ? POLLIN : 0) |
						    (f->events & PB_OUT ? POLLOUT : 0));
		io_uring_sqe_set_data64(sqe, ur_data(fd, f->gen));
		f->armed = true;
	}
	u->ntodo = 0;
wait:
	if (timeout_ms > 0) {
		struct __kernel_timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};

		r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	} else {
		r = io_uring_submit(&u->ring);
	}
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY)
		return r;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		uint64_t d = io_uring_cqe_get_data64(cqe);
		int fd = (int)(uint32_t)d;
		struct ur_fd *f;

		if (n == max)
			break;
		seen++;
		if (d == UR_CANCEL || (size_t)fd >= u->cap)
			continue;
		f = &u->fds[fd];
		if (!f->on || !f->armed || f->gen != (uint32_t)(d >> 32))
			continue; /* stale: removed or changed since */
		f->armed = false;
		ur_queue(u, fd);
		ev[n].tag = f->tag;
		if (cqe->res < 0) {
			ev[n].events = PB_ERR;
		} else {
			ev[n].events = (cqe->res & POLLIN ? PB_IN : 0) |
				       (cqe->res & POLLOUT ? PB_OUT : 0) |
				       (cqe->res & (POLLERR | POLLHUP) ? PB_ERR : 0);
		}
		n++;
	}
	io_uring_cq_advance(&u->ring, seen);
	return n;
}

static void
ur_fini(struct pollb *p)
{
	struct ur *u = p->priv;

	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	free(u->fds);
	free(u->todo);
	free(u);
	p->priv = NULL;
}

const struct pollb_ops pollb_uring_ops = {"io_uring", ur_init, ur_set, ur_del, ur_wait, ur_fini};

int
pollb_open_epoll(struct pollb *p)
{
	p->priv = NULL;
	p->ops = &pollb_epoll_ops;
	return p->ops->init(p);
}

int
pollb_open(struct pollb *p)
{
	const char *want = getenv("OC_RSYNC_IO_BACKEND");

	p->priv = NULL;
	if (!want || strcmp(want, "epoll")) {
		p->ops = &pollb_uring_ops;
		if (!p->ops->init(p))
			return 0;
	}
	p->ops = &pollb_epoll_ops;
	return p->ops->init(p);
}
