/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ocq channels: handle rules, close semantics, timeouts, bursts, eventfd
 * readiness, ordered delivery, drain_parallel, and the intrusive MPSC list. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include "ocq/ocq.h"

#define P(x) ((void *)(uintptr_t)(x))
#define U(p) ((uintptr_t)(p))

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
t_topology_rules(void **state)
{
	struct ocq_chan *ch;
	struct ocq_tx tx[2], extra;
	struct ocq_rx rx1, rx2;

	(void)state;
	assert_int_equal(ocq_chan_create(&ch, OCQ_SPSC, 0), -EINVAL);
	assert_int_equal(ocq_chan_create(&ch, (enum ocq_topo)9, 4), -EINVAL);

	assert_int_equal(ocq_chan_create(&ch, OCQ_SPSC, 4), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 2, tx), -EINVAL);
	assert_int_equal(ocq_chan_with_producers(ch, 1, tx), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 1, tx + 1), -EBUSY);
	assert_int_equal(ocq_tx_clone(&tx[0], &extra), -EBUSY);
	assert_int_equal(ocq_rx_open(&rx1, ch), 0);
	assert_int_equal(ocq_rx_open(&rx2, ch), -EBUSY);
	ocq_tx_release(&tx[0]);
	ocq_rx_release(&rx1);
	ocq_chan_destroy(ch);

	assert_int_equal(ocq_chan_create(&ch, OCQ_MPMC, 4), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 2, tx), 0);
	assert_int_equal(ocq_tx_clone(&tx[0], &extra), 0);
	assert_int_equal(ocq_rx_open(&rx1, ch), 0);
	assert_int_equal(ocq_rx_open(&rx2, ch), 0);
	/* three senders: the channel stays open until the last goes */
	ocq_tx_release(&tx[0]);
	ocq_tx_release(&tx[0]); /* twice is harmless */
	ocq_tx_release(&extra);
	assert_false(ocq_chan_is_closed(ch));
	ocq_tx_release(&tx[1]);
	assert_true(ocq_chan_is_closed(ch));
	ocq_rx_release(&rx1);
	ocq_rx_release(&rx2);
	ocq_chan_destroy(ch);

	/* a shared sender: multi-producer only, and instead of handles */
	assert_int_equal(ocq_chan_create(&ch, OCQ_SPMC, 4), 0);
	assert_int_equal(ocq_chan_shared_sender(ch, &extra), -EINVAL);
	ocq_chan_destroy(ch);
	assert_int_equal(ocq_chan_create(&ch, OCQ_MPMC, 4), 0);
	assert_int_equal(ocq_chan_shared_sender(ch, &extra), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 1, tx), -EBUSY);
	assert_int_equal(ocq_chan_shared_sender(ch, &tx[0]), -EBUSY);
	assert_int_equal(ocq_send(&extra, P(1)), 0);
	ocq_tx_release(&extra);
	assert_true(ocq_chan_is_closed(ch));
	ocq_chan_destroy(ch);
}

/* Items sent before the close are all received, then OCQ_CLOSED. */
static void
t_close_drains(void **state)
{
	for (int topo = OCQ_SPSC; topo <= OCQ_MPMC; topo++) {
		struct ocq_chan *ch;
		struct ocq_tx tx;
		struct ocq_rx rx;
		void *v;

		(void)state;
		assert_int_equal(ocq_chan_create(&ch, (enum ocq_topo)topo, 3), 0);
		assert_int_equal(ocq_chan_with_producers(ch, 1, &tx), 0);
		assert_int_equal(ocq_rx_open(&rx, ch), 0);
		for (int i = 0; i < 3; i++)
			assert_int_equal(ocq_try_send(&tx, P(i + 1)), 0);
		assert_int_equal(ocq_try_send(&tx, P(9)), -EAGAIN);
		assert_int_equal(ocq_chan_len(ch), 3);
		ocq_chan_close(ch);
		assert_int_equal(ocq_try_send(&tx, P(9)), OCQ_CLOSED);
		assert_int_equal(ocq_send(&tx, P(9)), OCQ_CLOSED);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(ocq_recv(&rx, &v), 0);
			assert_int_equal(U(v), i + 1);
		}
		assert_int_equal(ocq_recv(&rx, &v), OCQ_CLOSED);
		assert_int_equal(ocq_try_recv(&rx, &v), OCQ_CLOSED);
		ocq_tx_release(&tx);
		ocq_rx_release(&rx);
		ocq_chan_destroy(ch);
	}
}

/* Releasing the last receiver closes the channel for senders. */
static void
t_last_receiver_closes(void **state)
{
	struct ocq_chan *ch;
	struct ocq_tx tx;
	struct ocq_rx rx;

	(void)state;
	assert_int_equal(ocq_chan_create(&ch, OCQ_MPSC, 2), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 1, &tx), 0);
	assert_int_equal(ocq_rx_open(&rx, ch), 0);
	assert_int_equal(ocq_send(&tx, P(1)), 0);
	ocq_rx_release(&rx);
	assert_int_equal(ocq_send(&tx, P(2)), OCQ_CLOSED);
	ocq_tx_release(&tx);
	ocq_chan_destroy(ch);
}

static void
t_timeouts(void **state)
{
	struct ocq_chan *ch;
	struct ocq_tx tx;
	struct ocq_rx rx;
	void *v;
	uint64_t t0;

	(void)state;
	assert_int_equal(ocq_chan_create(&ch, OCQ_SPSC, 1), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 1, &tx), 0);
	assert_int_equal(ocq_rx_open(&rx, ch), 0);
	t0 = now_ns();
	assert_int_equal(ocq_recv_timeout(&rx, &v, 30000000), -ETIMEDOUT);
	assert_true(now_ns() - t0 >= 30000000);
	assert_int_equal(ocq_send_timeout(&tx, P(5), 1000000), 0);
	t0 = now_ns();
	assert_int_equal(ocq_send_timeout(&tx, P(6), 30000000), -ETIMEDOUT);
	assert_true(now_ns() - t0 >= 30000000);
	assert_int_equal(ocq_recv_timeout(&rx, &v, 1000000), 0);
	assert_int_equal(U(v), 5);
	ocq_tx_release(&tx);
	assert_int_equal(ocq_recv_timeout(&rx, &v, 1000000000), OCQ_CLOSED);
	ocq_rx_release(&rx);
	ocq_chan_destroy(ch);
}

struct closer {
	struct ocq_chan *ch;
	unsigned delay_us;
};

static void *
close_later(void *p)
{
	struct closer *c = p;

	usleep(c->delay_us);
	ocq_chan_close(c->ch);
	return NULL;
}

/* A receiver asleep on an empty channel and a sender asleep on a full one
 * both wake when a third thread closes it. */
static void
t_close_wakes_sleepers(void **state)
{
	struct ocq_chan *a, *b;
	struct ocq_tx ta, tb;
	struct ocq_rx ra, rb;
	struct closer ca, cb;
	pthread_t t1, t2;
	void *v;

	(void)state;
	assert_int_equal(ocq_chan_create(&a, OCQ_SPSC, 1), 0);
	assert_int_equal(ocq_chan_create(&b, OCQ_MPMC, 1), 0);
	assert_int_equal(ocq_chan_with_producers(a, 1, &ta), 0);
	assert_int_equal(ocq_chan_with_producers(b, 1, &tb), 0);
	assert_int_equal(ocq_rx_open(&ra, a), 0);
	assert_int_equal(ocq_rx_open(&rb, b), 0);
	assert_int_equal(ocq_send(&tb, P(1)), 0);
	ca = (struct closer){a, 50000};
	cb = (struct closer){b, 50000};
	pthread_create(&t1, NULL, close_later, &ca);
	pthread_create(&t2, NULL, close_later, &cb);
	assert_int_equal(ocq_recv(&ra, &v), OCQ_CLOSED);
	assert_int_equal(ocq_send(&tb, P(2)), OCQ_CLOSED);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(ocq_recv(&rb, &v), 0);
	assert_int_equal(U(v), 1);
	assert_int_equal(ocq_recv(&rb, &v), OCQ_CLOSED);
	ocq_tx_release(&ta);
	ocq_tx_release(&tb);
	ocq_rx_release(&ra);
	ocq_rx_release(&rb);
	ocq_chan_destroy(a);
	ocq_chan_destroy(b);
}

static void
t_bursts(void **state)
{
	struct ocq_chan *ch;
	struct ocq_tx tx;
	struct ocq_rx rx;
	void *in[200], *out[200];
	long n, got = 0;

	(void)state;
	for (int i = 0; i < 200; i++)
		in[i] = P(i);
	assert_int_equal(ocq_chan_create(&ch, OCQ_MPMC, 150), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 1, &tx), 0);
	assert_int_equal(ocq_rx_open(&rx, ch), 0);
	/* more than a chunk, more than fits: exactly the capacity goes in */
	assert_int_equal(ocq_try_send_burst(&tx, in, 200), 150);
	assert_int_equal(ocq_try_send_burst(&tx, in + 150, 50), -EAGAIN);
	n = ocq_try_recv_burst(&rx, out, 100);
	assert_int_equal(n, 100);
	assert_int_equal(ocq_send_burst(&tx, in + 150, 50), 50);
	while (got < 100) {
		n = ocq_recv_burst(&rx, out + 100 + got, 100 - (size_t)got);
		assert_true(n > 0);
		got += n;
	}
	for (int i = 0; i < 200; i++)
		assert_int_equal(U(out[i]), i);
	assert_int_equal(ocq_try_recv_burst(&rx, out, 10), -EAGAIN);
	ocq_tx_release(&tx);
	assert_int_equal(ocq_recv_burst(&rx, out, 10), OCQ_CLOSED);
	assert_int_equal(ocq_try_send_burst(&tx, in, 0), 0);
	ocq_rx_release(&rx);
	ocq_chan_destroy(ch);
}

static int
readable(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* The eventfd fires only when armed, and arming reports what is ready. */
static void
t_eventfd(void **state)
{
	struct ocq_chan *ch;
	struct ocq_tx tx;
	struct ocq_rx rx;
	void *v;
	int rfd, wfd;

	(void)state;
	assert_int_equal(ocq_chan_create(&ch, OCQ_MPSC, 1), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 1, &tx), 0);
	assert_int_equal(ocq_rx_open(&rx, ch), 0);
	rfd = ocq_rx_eventfd(&rx);
	wfd = ocq_tx_eventfd(&tx);
	assert_true(rfd >= 0 && wfd >= 0 && rfd != wfd);
	assert_int_equal(ocq_rx_eventfd(&rx), rfd);

	/* not armed: a send leaves the fd quiet */
	assert_int_equal(ocq_send(&tx, P(1)), 0);
	assert_false(readable(rfd, 0));
	assert_int_equal(ocq_recv(&rx, &v), 0);

	/* armed on empty: quiet until a send */
	assert_int_equal(ocq_rx_arm(&rx), 0);
	assert_false(readable(rfd, 0));
	assert_int_equal(ocq_send(&tx, P(2)), 0);
	assert_true(readable(rfd, 0));
	ocq_eventfd_ack(rfd);
	assert_false(readable(rfd, 0));
	/* arming with an item queued says "ready now" */
	assert_int_equal(ocq_rx_arm(&rx), 1);

	/* the send side: full, armed, a receive makes room */
	assert_int_equal(ocq_try_send(&tx, P(3)), -EAGAIN);
	assert_int_equal(ocq_tx_arm(&tx), 0);
	assert_false(readable(wfd, 0));
	assert_int_equal(ocq_recv(&rx, &v), 0);
	assert_int_equal(U(v), 2);
	assert_true(readable(wfd, 0));
	ocq_eventfd_ack(wfd);

	/* close makes an armed receive end readable */
	ocq_eventfd_ack(rfd);
	assert_int_equal(ocq_rx_arm(&rx), 0);
	ocq_tx_release(&tx);
	assert_true(readable(rfd, 0));
	assert_int_equal(ocq_rx_arm(&rx), 1);
	assert_int_equal(ocq_try_recv(&rx, &v), OCQ_CLOSED);
	ocq_rx_release(&rx);
	ocq_chan_destroy(ch);
}

/* Ordered delivery, single-threaded: later ranges are held back until the
 * earlier ones end, and non-head senders are refused past the window. */
static void
t_reorder_basic(void **state)
{
	struct ocq_chan *ch;
	struct ocq_tx tx[3];
	struct ocq_rx rx;
	struct ocq_reorder o;
	void *v;

	(void)state;
	assert_int_equal(ocq_chan_create(&ch, OCQ_MPSC, 16), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 3, tx), 0);
	assert_int_equal(ocq_rx_open(&rx, ch), 0);
	assert_int_equal(ocq_reorder_init(&o, &rx, 2), 0);

	assert_int_equal(ocq_try_send(&tx[2], P(20)), 0);
	assert_int_equal(ocq_try_send(&tx[1], P(10)), 0);
	/* window of 2 used up by ranges 1 and 2 */
	assert_int_equal(ocq_try_send(&tx[2], P(21)), -EAGAIN);
	assert_int_equal(ocq_try_send(&tx[0], P(0)), 0);
	assert_int_equal(ocq_try_send(&tx[0], P(1)), 0);
	ocq_tx_release(&tx[0]);
	assert_int_equal(ocq_recv_ordered(&o, &v), 0);
	assert_int_equal(U(v), 0);
	assert_int_equal(ocq_recv_ordered(&o, &v), 0);
	assert_int_equal(U(v), 1);
	assert_int_equal(ocq_recv_ordered(&o, &v), 0);
	assert_int_equal(U(v), 10);
	/* range 1 is current now: it sends without credits */
	assert_int_equal(ocq_try_send(&tx[1], P(11)), 0);
	assert_int_equal(ocq_try_send(&tx[2], P(21)), 0);
	ocq_tx_release(&tx[1]);
	ocq_tx_release(&tx[2]);
	assert_int_equal(ocq_recv_ordered(&o, &v), 0);
	assert_int_equal(U(v), 11);
	assert_int_equal(ocq_recv_ordered(&o, &v), 0);
	assert_int_equal(U(v), 20);
	assert_int_equal(ocq_recv_ordered(&o, &v), 0);
	assert_int_equal(U(v), 21);
	assert_int_equal(ocq_recv_ordered(&o, &v), OCQ_CLOSED);
	assert_int_equal(o.cap, 2); /* never grew past the window */
	ocq_reorder_destroy(&o);
	ocq_rx_release(&rx);
	ocq_chan_destroy(ch);

	/* ordering needs a single consumer and ranged senders */
	assert_int_equal(ocq_chan_create(&ch, OCQ_MPMC, 4), 0);
	assert_int_equal(ocq_rx_open(&rx, ch), 0);
	assert_int_equal(ocq_reorder_init(&o, &rx, 2), -EINVAL);
	ocq_rx_release(&rx);
	ocq_chan_destroy(ch);
}

static int
add_item(void *item, void *arg)
{
	atomic_fetch_add((_Atomic uint64_t *)arg, U(item));
	return U(item) == 77 ? -EIO : 0;
}

static void
t_drain_parallel(void **state)
{
	struct ocq_chan *ch;
	struct ocq_tx tx;
	_Atomic uint64_t sum = 0;
	uint64_t want = 0;

	(void)state;
	assert_int_equal(ocq_chan_create(&ch, OCQ_MPMC, 1000), 0);
	assert_int_equal(ocq_chan_with_producers(ch, 1, &tx), 0);
	for (uintptr_t i = 1; i <= 1000; i++) {
		assert_int_equal(ocq_send(&tx, P(i)), 0);
		want += i;
	}
	ocq_tx_release(&tx);
	/* every item reaches fn despite the error on 77, which is reported */
	assert_int_equal(ocq_drain_parallel(ch, 4, add_item, &sum), -EIO);
	assert_int_equal(atomic_load(&sum), want);
	ocq_chan_destroy(ch);

	assert_int_equal(ocq_chan_create(&ch, OCQ_MPSC, 4), 0);
	assert_int_equal(ocq_drain_parallel(ch, 2, add_item, &sum), -EINVAL);
	ocq_chan_destroy(ch);
}

struct lnode {
	struct ocq_node n;
	int v;
};

static void
t_mpscq(void **state)
{
	struct ocq_mpscq q;
	struct lnode nodes[5];
	struct ocq_node *out = NULL;

	(void)state;
	ocq_mpscq_init(&q);
	assert_true(ocq_mpscq_empty(&q));
	assert_int_equal(ocq_mpscq_pop(&q, &out), -EAGAIN);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 5; i++) {
			nodes[i].v = i + round;
			ocq_mpscq_push(&q, &nodes[i].n);
		}
		assert_false(ocq_mpscq_empty(&q));
		for (int i = 0; i < 5; i++) {
			assert_int_equal(ocq_mpscq_pop(&q, &out), 0);
			assert_int_equal(((struct lnode *)out)->v, i + round);
		}
		assert_int_equal(ocq_mpscq_pop(&q, &out), -EAGAIN);
		assert_true(ocq_mpscq_empty(&q));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_topology_rules),   cmocka_unit_test(t_close_drains),
		cmocka_unit_test(t_last_receiver_closes), cmocka_unit_test(t_timeouts),
		cmocka_unit_test(t_close_wakes_sleepers), cmocka_unit_test(t_bursts),
		cmocka_unit_test(t_eventfd),	      cmocka_unit_test(t_reorder_basic),
		cmocka_unit_test(t_drain_parallel),   cmocka_unit_test(t_mpscq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
