/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the TCP stack: two stacks (client A 10.0.0.1, server B
 * 10.0.0.2) joined by a simulated link that the tests may make drop, delay,
 * reorder or duplicate segments, on a clock the tests drive; plus segments
 * written by hand for the paths a well-behaved peer never takes (RFC 5961,
 * PAWS, forged cookies).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include "dataplane/stats/stats.h"
#include "dataplane/tcp/tcp.h"
#include "test_eal.h"

#define LINK_MAX 8192
#define APP_MAX	 8

static struct rte_mempool *pool;

/* ---- the link ---- */

struct frame {
	struct rte_mbuf *m;
	uint64_t at; /* delivery time */
};

/* what the link does to a segment; return true to drop it */
typedef bool (*link_filter)(int dir, struct rte_mbuf *m, void *arg);

struct sim {
	struct tcp_stack *st[2]; /* 0: A (client side), 1: B */
	struct stats_block stats[2];
	struct frame q[2][LINK_MAX]; /* q[i]: toward stack i */
	unsigned int n[2];
	uint64_t now;
	uint64_t delay_us;
	link_filter filter;
	void *filter_arg;
	unsigned int sent[2]; /* segments each stack sent */
	bool swap_next[2];    /* deliver the next two segments in reverse order */
	bool reset_unknown;   /* answer segments no one takes with RST */
	uint32_t tsval[2];    /* the last TSval each stack sent */
};

static struct sim S;

/* a NIC: the receiver gets one contiguous mbuf */
static struct rte_mbuf *linearize(struct rte_mbuf *m)
{
	struct rte_mbuf *c = rte_pktmbuf_alloc(pool);
	const void *src;
	char *p;

	assert_non_null(c);
	p = rte_pktmbuf_append(c, (uint16_t)m->pkt_len);
	assert_non_null(p);
	src = rte_pktmbuf_read(m, 0, m->pkt_len, p);
	assert_non_null(src);
	if (src != p)
		memcpy(p, src, m->pkt_len);
	rte_pktmbuf_free(m);
	return c;
}

static void link_out(int from, struct rte_mbuf *m)
{
	int to = 1 - from;

	S.sent[from]++;
	m = linearize(m);
	{
		/* remember the TSval (options laid out as the stack writes them) */
		const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
		unsigned int ipl = (p[0] >> 4) == 4 ? 20 : 40, thl = (p[ipl + 12] >> 4) * 4u;

		for (unsigned int o = ipl + 20; o + 10 <= ipl + thl; o++)
			if (p[o] == 8 && p[o + 1] == 10) {
				S.tsval[from] = (uint32_t)p[o + 2] << 24 |
						(uint32_t)p[o + 3] << 16 | (uint32_t)p[o + 4] << 8 |
						p[o + 5];
				break;
			}
	}
	if (S.filter != NULL && S.filter(from, m, S.filter_arg)) {
		rte_pktmbuf_free(m);
		return;
	}
	assert_true(S.n[to] < LINK_MAX);
	S.q[to][S.n[to]].m = m;
	S.q[to][S.n[to]].at = S.now + S.delay_us;
	S.n[to]++;
}

static void out_a(void *ctx, struct rte_mbuf *m)
{
	(void)ctx;
	link_out(0, m);
}

static void out_b(void *ctx, struct rte_mbuf *m)
{
	(void)ctx;
	link_out(1, m);
}

/* Deliver what is due. @return frames delivered. */
static unsigned int deliver(void)
{
	unsigned int done = 0;

	for (int to = 0; to < 2; to++) {
		while (S.n[to] > 0 && S.q[to][0].at <= S.now) {
			struct rte_mbuf *m;

			if (S.swap_next[to] && S.n[to] >= 2) {
				struct frame f = S.q[to][0];

				S.q[to][0] = S.q[to][1];
				S.q[to][1] = f;
				S.swap_next[to] = false;
			}
			m = S.q[to][0].m;
			memmove(&S.q[to][0], &S.q[to][1], sizeof(S.q[to][0]) * (S.n[to] - 1));
			S.n[to]--;
			if (!tcp_input(S.st[to], m, S.now)) {
				if (S.reset_unknown)
					tcp_reset_reply(S.st[to], m);
				else
					rte_pktmbuf_free(m);
			}
			done++;
		}
	}
	return done;
}

/* Run the world for @p us microseconds in 100 us steps. */
static void run(uint64_t us)
{
	uint64_t end = S.now + us;

	do {
		while (deliver() > 0)
			;
		S.now += 100;
		tcp_timer(S.st[0], S.now);
		tcp_timer(S.st[1], S.now);
	} while (S.now < end);
	while (deliver() > 0)
		;
}

static uint64_t stat(int i, enum stats_id id)
{
	return S.stats[i].c[id];
}

/* ---- the applications ---- */

struct app {
	struct tcp_conn *c;
	bool accepted, connected, eof, closed;
	enum tcp_close_reason reason;
	uint64_t rx;	     /* bytes received (and checked against the pattern) */
	uint64_t tx;	     /* bytes queued so far */
	uint64_t tx_total;   /* bytes to send */
	bool read;	     /* take data as it comes */
	bool shutdown_after; /* shutdown() once tx_total is queued */
	bool close_on_eof;   /* close() when the peer's FIN arrives */
	unsigned int writable_calls;
	bool bad_data;
};

static struct app apps[2][APP_MAX];

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 8));
}

static void app_push(struct app *a)
{
	while (a->c != NULL && a->tx < a->tx_total && tcp_send_space(a->c) > 0) {
		uint32_t n = (uint32_t)RTE_MIN(a->tx_total - a->tx, (uint64_t)1000 + a->tx % 700);
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *p;

		assert_non_null(m);
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)n);
		for (uint32_t i = 0; i < n; i++)
			p[i] = pattern(a->tx + i);
		assert_int_equal(tcp_send(a->c, m), (int)n);
		a->tx += n;
	}
	if (a->c != NULL && a->tx == a->tx_total && a->shutdown_after) {
		a->shutdown_after = false;
		tcp_shutdown(a->c);
	}
}

static void app_read(struct app *a, struct tcp_conn *c)
{
	struct rte_mbuf *m;

	while ((m = tcp_recv(c, 1u << 20)) != NULL) {
		for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
			const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);

			for (uint16_t i = 0; i < s->data_len; i++)
				if (p[i] != pattern(a->rx + i))
					a->bad_data = true;
			a->rx += s->data_len;
		}
		rte_pktmbuf_free(m);
	}
}

static int cb_accepted(struct tcp_conn *c, void *arg)
{
	struct app *a = &apps[1][(uintptr_t)arg];

	a->c = c;
	a->accepted = true;
	tcp_set_arg(c, a);
	app_push(a);
	return 0;
}

static void cb_connected(struct tcp_conn *c, void *arg)
{
	struct app *a = arg;

	assert_ptr_equal(a->c, c);
	a->connected = true;
	app_push(a);
}

static void cb_readable(struct tcp_conn *c, void *arg)
{
	struct app *a = arg;

	if (a->read)
		app_read(a, c);
	if (tcp_recv_eof(c)) {
		a->eof = true;
		if (a->close_on_eof) {
			a->close_on_eof = false;
			tcp_close(c);
			a->c = NULL;
		}
	}
}

static void cb_writable(struct tcp_conn *c, void *arg)
{
	struct app *a = arg;

	(void)c;
	a->writable_calls++;
	app_push(a);
}

static void cb_closed(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	struct app *a = arg;

	(void)c;
	a->closed = true;
	a->reason = reason;
	a->c = NULL;
}

static const struct tcp_callbacks cbs = {
	.accepted = cb_accepted,
	.connected = cb_connected,
	.readable = cb_readable,
	.writable = cb_writable,
	.closed = cb_closed,
};

static const struct tcp_addr addr_a = {.family = 4, .v4 = RTE_BE32(RTE_IPV4(10, 0, 0, 1))};
static const struct tcp_addr addr_b = {.family = 4, .v4 = RTE_BE32(RTE_IPV4(10, 0, 0, 2))};
static struct tcp_addr addr6_a = {.family = 6, .v6 = {0xfd, 0, [15] = 1}};
static struct tcp_addr addr6_b = {.family = 6, .v6 = {0xfd, 0, [15] = 2}};

static void sim_setup(void)
{
	static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	tcp_output_fn outs[2] = {out_a, out_b};
	uint16_t ports[64];

	for (int i = 0; i < 2; i++) {
		struct tcp_stack_conf conf = {
			.socket_id = 0,
			.worker_id = (uint16_t)i,
			.max_conns = 256,
			.pool = pool,
			.output = outs[i],
			.secret = secret,
			.now_us = S.now,
		};

		conf.stats = &S.stats[i];
		S.st[i] = tcp_stack_create(&conf);
		assert_non_null(S.st[i]);
	}
	for (unsigned int i = 0; i < 64; i++)
		ports[i] = (uint16_t)(40000 + i);
	assert_int_equal(tcp_stack_set_ports(S.st[0], ports, 64), 0);
	assert_int_equal(tcp_stack_set_ports(S.st[1], ports, 64), 0);
}

static int setup(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	memset(apps, 0, sizeof(apps));
	S.now = 1000000;
	S.reset_unknown = true;
	sim_setup();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int to = 0; to < 2; to++)
		for (unsigned int i = 0; i < S.n[to]; i++)
			rte_pktmbuf_free(S.q[to][i].m);
	tcp_stack_free(S.st[0]);
	tcp_stack_free(S.st[1]);
	/* every mbuf came back: no leak in the stack */
	assert_int_equal(rte_mempool_in_use_count(pool), 0);
	return 0;
}

static struct tcp_listener *listen_b(const struct tcp_params *p)
{
	struct tcp_listener *l = tcp_listen(S.st[1], &addr_b, 80, p, &cbs, (void *)(uintptr_t)0);

	assert_non_null(l);
	return l;
}

static struct app *connect_a(unsigned int i, const struct tcp_params *p)
{
	struct app *a = &apps[0][i];

	a->c = tcp_connect(S.st[0], &addr_a, &addr_b, 80, p, &cbs, a, S.now);
	assert_non_null(a->c);
	return a;
}

/* ---- tests ---- */

static void test_handshake(void **state)
{
	struct tcp_conn_info ia, ib;
	struct app *a;
	uint32_t counts[TCP_STATE_MAX];

	(void)state;
	listen_b(NULL);
	a = connect_a(0, NULL);
	tcp_conn_get_info(a->c, &ia);
	assert_int_equal(ia.state, TCP_SYN_SENT);
	run(1000);
	assert_true(a->connected);
	assert_true(apps[1][0].accepted);
	tcp_conn_get_info(a->c, &ia);
	tcp_conn_get_info(apps[1][0].c, &ib);
	assert_int_equal(ia.state, TCP_ESTABLISHED);
	assert_int_equal(ib.state, TCP_ESTABLISHED);
	assert_true(ia.sack && ia.timestamps && ib.sack && ib.timestamps);
	assert_int_equal(ia.mss, 1460);
	assert_int_equal(ia.rcv_wscale, 3); /* 256 KiB buffer */
	assert_int_equal(ib.snd_wscale, 3);
	assert_true(ia.lport >= 40000 && ia.lport < 40064);
	assert_int_equal(ib.rport, ia.lport);
	assert_int_equal(ia.snd_nxt, ib.rcv_nxt);
	assert_int_equal(ib.snd_nxt, ia.rcv_nxt);
	assert_int_equal(stat(0, STAT_TCP_CONNS_CONNECTED), 1);
	assert_int_equal(stat(1, STAT_TCP_CONNS_ACCEPTED), 1);
	assert_int_equal(S.sent[0], 2); /* SYN, ACK */
	assert_int_equal(S.sent[1], 1); /* SYN-ACK */
	tcp_state_counts(S.st[1], counts);
	assert_int_equal(counts[TCP_ESTABLISHED], 1);
}

/* Move @p bytes each way and close cleanly; checks every byte. */
static void transfer(uint64_t bytes_ab, uint64_t bytes_ba, uint64_t max_us)
{
	struct app *a = &apps[0][0], *b = &apps[1][0];

	a->read = b->read = true;
	a->tx_total = bytes_ab;
	b->tx_total = bytes_ba;
	a->shutdown_after = true;
	b->shutdown_after = true;
	if (a->c == NULL)
		connect_a(0, NULL);
	for (uint64_t t = 0; t < max_us && !(a->closed && b->closed); t += 10000) {
		run(10000);
		app_push(a);
		app_push(b);
	}
	assert_false(a->bad_data);
	assert_false(b->bad_data);
	assert_int_equal(b->rx, bytes_ab);
	assert_int_equal(a->rx, bytes_ba);
	assert_true(a->eof && b->eof);
	assert_true(a->closed && b->closed);
	assert_int_equal(a->reason, TCP_CLOSE_NORMAL);
	assert_int_equal(b->reason, TCP_CLOSE_NORMAL);
}

static void test_bulk_both_ways(void **state)
{
	uint32_t counts[TCP_STATE_MAX];

	(void)state;
	listen_b(NULL);
	S.delay_us = 500;
	transfer(3u << 20, 1u << 20, 20000000);
	assert_int_equal(stat(0, STAT_TCP_RETRANSMITS), 0);
	assert_int_equal(stat(1, STAT_TCP_RETRANSMITS), 0);
	assert_int_equal(stat(1, STAT_TCP_BYTES_IN), 3u << 20);
	/* B finished sending first: it waits in TIME_WAIT for 2 MSL, A is gone */
	tcp_state_counts(S.st[1], counts);
	assert_int_equal(counts[TCP_TIME_WAIT], 1);
	assert_int_equal(stat(0, STAT_TCP_CONNS_CLOSED), 1);
	assert_int_equal(stat(1, STAT_TCP_CONNS_CLOSED), 0);
	run(59000000);
	assert_int_equal(stat(1, STAT_TCP_CONNS_CLOSED), 0);
	run(2000000);
	tcp_state_counts(S.st[1], counts);
	assert_int_equal(counts[TCP_TIME_WAIT], 0);
	assert_int_equal(stat(1, STAT_TCP_CONNS_CLOSED), 1);
}

/* drop every n-th data segment from A, once each */
struct dropper {
	unsigned int every, seen, dropped;
	int dir;
};

static bool drop_every(int dir, struct rte_mbuf *m, void *arg)
{
	struct dropper *d = arg;

	if (dir != d->dir || m->pkt_len <= 40 + 32)
		return false;
	if (++d->seen % d->every == 0) {
		d->dropped++;
		return true;
	}
	return false;
}

static void test_loss_sack_recovery(void **state)
{
	struct dropper d = {.every = 20, .dir = 0};

	(void)state;
	listen_b(NULL);
	S.delay_us = 2000;
	S.filter = drop_every;
	S.filter_arg = &d;
	transfer(2u << 20, 0, 60000000);
	assert_true(d.dropped > 10);
	assert_true(stat(0, STAT_TCP_FAST_RECOVERIES) > 0);
	assert_true(stat(0, STAT_TCP_RETRANSMITS) >= d.dropped);
	assert_true(stat(1, STAT_TCP_SACK_BLOCKS_OUT) > 0);
	assert_true(stat(0, STAT_TCP_SACK_BLOCKS_IN) > 0);
	assert_true(stat(1, STAT_TCP_OOO_SEGS) > 0);
	/* SACK recovery repairs without waiting for timeouts */
	assert_true(stat(0, STAT_TCP_RTO) < d.dropped / 4 + 1);
}

struct reorder {
	unsigned int seen;
	bool dup;
};

/* reorder: every 4th segment toward B swaps with the next; dup: every 5th twice */
static bool mangle(int dir, struct rte_mbuf *m, void *arg)
{
	struct reorder *r = arg;

	if (dir != 0)
		return false;
	r->seen++;
	if (r->seen % 4 == 0)
		S.swap_next[1] = true;
	if (r->dup && r->seen % 5 == 0) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);

		assert_non_null(c);
		S.q[1][S.n[1]].m = c;
		S.q[1][S.n[1]].at = S.now + S.delay_us;
		S.n[1]++;
	}
	return false;
}

static void test_reorder_duplicate(void **state)
{
	struct reorder r = {.dup = true};

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	S.filter = mangle;
	S.filter_arg = &r;
	transfer(1u << 20, 64u << 10, 30000000);
	assert_true(stat(1, STAT_TCP_OOO_SEGS) > 0);
	assert_true(stat(1, STAT_DROP_TCP_DUPLICATE) > 0);
}

/* blackhole: drop everything while on */
static bool blackhole(int dir, struct rte_mbuf *m, void *arg)
{
	(void)dir;
	(void)m;
	return *(bool *)arg;
}

static void test_rto_backoff(void **state)
{
	bool hole = false;
	struct app *a;
	struct tcp_conn_info i1, i2;

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	S.filter = blackhole;
	S.filter_arg = &hole;
	a = connect_a(0, NULL);
	run(10000);
	assert_true(a->connected);
	hole = true;
	a->tx_total = 10000;
	app_push(a);
	run(300000);
	tcp_conn_get_info(a->c, &i1);
	assert_true(stat(0, STAT_TCP_RTO) >= 1);
	run(2000000);
	tcp_conn_get_info(a->c, &i2);
	assert_true(i2.rto_us >= 2 * i1.rto_us); /* exponential back-off */
	assert_int_equal(i2.cwnd, i2.mss - 12);	 /* RFC 5681: one segment after an RTO */
	hole = false;
	apps[1][0].read = true;
	run(20000000);
	assert_int_equal(apps[1][0].rx, 10000);
	assert_false(apps[1][0].bad_data);
}

static void test_retransmissions_give_up(void **state)
{
	bool hole = false;
	struct app *a;

	(void)state;
	listen_b(NULL);
	S.filter = blackhole;
	S.filter_arg = &hole;
	a = connect_a(0, NULL);
	run(10000);
	hole = true;
	a->tx_total = 100;
	app_push(a);
	run(30ull * 60 * 1000000);
	assert_true(a->closed);
	assert_int_equal(a->reason, TCP_CLOSE_TIMEOUT);
}

static void test_connect_refused_and_timeout(void **state)
{
	bool hole = true;
	struct app *a;

	(void)state;
	a = connect_a(0, NULL); /* nobody listens on B: RST */
	run(10000);
	assert_true(a->closed);
	assert_int_equal(a->reason, TCP_CLOSE_REFUSED);
	assert_int_equal(stat(0, STAT_TCP_CONNS_FAILED), 1);
	S.filter = blackhole;
	S.filter_arg = &hole;
	a = connect_a(1, NULL);
	run(200000000);
	assert_true(a->closed);
	assert_int_equal(a->reason, TCP_CLOSE_TIMEOUT);
	assert_int_equal(stat(0, STAT_TCP_RETRANSMITS), 5); /* syn_retries */
}

static void test_zero_window(void **state)
{
	struct tcp_params p = {.rcvbuf = 8192};
	struct app *a, *b = &apps[1][0];
	struct tcp_conn_info i;

	(void)state;
	listen_b(&p);
	S.delay_us = 1000;
	a = connect_a(0, NULL);
	run(10000);
	a->tx_total = 100000;
	app_push(a);
	run(5000000); /* B does not read: the window closes */
	tcp_conn_get_info(b->c, &i);
	assert_true(i.recv_queued >= 8192 - 1460 && i.recv_queued <= 8192 + 1460);
	tcp_conn_get_info(a->c, &i);
	assert_int_equal(i.snd_wnd, 0);
	assert_true(stat(0, STAT_TCP_WINDOW_PROBES) >= 2);
	assert_false(a->closed);
	b->read = true;
	app_read(b, b->c); /* the window update gets things going again */
	for (int k = 0; k < 200 && b->rx < 100000; k++) {
		run(10000);
		app_push(a);
	}
	assert_int_equal(b->rx, 100000);
	assert_false(b->bad_data);
}

static void test_close_paths(void **state)
{
	struct app *a, *b = &apps[1][0];
	uint32_t counts[TCP_STATE_MAX];

	(void)state;
	listen_b(NULL);
	/* 1. the server closes first; the client answers with close on EOF */
	a = connect_a(0, NULL);
	a->read = true;
	a->close_on_eof = true;
	run(10000);
	tcp_close(b->c);
	b->c = NULL;
	run(100000);
	assert_true(a->eof);
	tcp_state_counts(S.st[1], counts);
	assert_int_equal(counts[TCP_TIME_WAIT], 1);
	tcp_state_counts(S.st[0], counts);
	assert_int_equal(counts[TCP_LAST_ACK] + counts[TCP_CLOSE_WAIT], 0);
	/* 2. the peer resets: closed(RESET) */
	memset(&apps[1][0], 0, sizeof(apps[1][0]));
	a = connect_a(1, NULL);
	run(10000);
	tcp_abort(apps[1][0].c);
	run(10000);
	assert_true(a->closed);
	assert_int_equal(a->reason, TCP_CLOSE_RESET);
	assert_true(stat(0, STAT_TCP_RESETS_IN) >= 1);
	/* 3. close() with unread data: RST (RFC 1122 4.2.2.13) */
	memset(&apps[1][0], 0, sizeof(apps[1][0]));
	a = connect_a(2, NULL);
	run(10000);
	a->tx_total = 5000;
	app_push(a);
	run(10000);
	assert_true(tcp_recv_queued(apps[1][0].c) > 0);
	tcp_close(apps[1][0].c);
	run(10000);
	assert_true(a->closed);
	assert_int_equal(a->reason, TCP_CLOSE_RESET);
}

static void test_simultaneous_close(void **state)
{
	struct app *a, *b = &apps[1][0];
	uint32_t ca[TCP_STATE_MAX], cb[TCP_STATE_MAX];

	(void)state;
	listen_b(NULL);
	S.delay_us = 5000;
	a = connect_a(0, NULL);
	run(20000);
	tcp_shutdown(a->c);
	tcp_shutdown(b->c); /* both FINs cross on the link: CLOSING on both sides */
	run(6000);
	tcp_state_counts(S.st[0], ca);
	tcp_state_counts(S.st[1], cb);
	assert_int_equal(ca[TCP_CLOSING], 1);
	assert_int_equal(cb[TCP_CLOSING], 1);
	run(20000);
	tcp_state_counts(S.st[0], ca);
	tcp_state_counts(S.st[1], cb);
	assert_int_equal(ca[TCP_TIME_WAIT], 1);
	assert_int_equal(cb[TCP_TIME_WAIT], 1);
	assert_true(a->closed && b->closed);
	assert_int_equal(a->reason, TCP_CLOSE_NORMAL);
}

static void test_simultaneous_open(void **state)
{
	struct app *a = &apps[0][0], *b = &apps[1][1];
	uint16_t pa = 5001, pb = 5002;
	uint32_t counts[TCP_STATE_MAX];

	(void)state;
	S.delay_us = 5000;
	assert_int_equal(tcp_stack_set_ports(S.st[0], &pa, 1), 0);
	assert_int_equal(tcp_stack_set_ports(S.st[1], &pb, 1), 0);
	a->c = tcp_connect(S.st[0], &addr_a, &addr_b, pb, NULL, &cbs, a, S.now);
	b->c = tcp_connect(S.st[1], &addr_b, &addr_a, pa, NULL, &cbs, b, S.now);
	assert_non_null(a->c);
	assert_non_null(b->c);
	run(100000);
	assert_true(a->connected && b->connected);
	tcp_state_counts(S.st[0], counts);
	assert_int_equal(counts[TCP_ESTABLISHED], 1);
	a->tx_total = 3000;
	b->read = true;
	app_push(a);
	run(100000);
	assert_int_equal(b->rx, 3000);
}

static void test_syn_cookies(void **state)
{
	struct tcp_params p = {.syn_backlog = 1};
	bool hole = false;

	(void)state;
	listen_b(&p);
	S.delay_us = 1000;
	/* three SYNs at once: the first takes the backlog, the others get cookies */
	for (unsigned int i = 0; i < 3; i++)
		connect_a(i, NULL);
	run(50000);
	for (unsigned int i = 0; i < 3; i++)
		assert_true(apps[0][i].connected);
	assert_int_equal(stat(1, STAT_TCP_COOKIES_SENT), 2);
	assert_int_equal(stat(1, STAT_TCP_COOKIES_VALID), 2);
	assert_int_equal(stat(1, STAT_TCP_CONNS_ACCEPTED), 3);
	/* data both ways on a cookie connection (window scale, SACK, TS kept) */
	{
		struct app *a = &apps[0][2], *b = &apps[1][0];
		struct tcp_conn_info i;

		tcp_conn_get_info(a->c, &i);
		assert_true(i.sack && i.timestamps);
		assert_int_equal(i.snd_wscale, 3);
		(void)b;
	}
	(void)hole;
}

/* ---- hand-written segments ---- */

/* A segment from A's tuple of @p c to B, as the link would carry it. */
static struct rte_mbuf *forge(const struct tcp_conn_info *from, uint32_t seq, uint32_t ack,
			      uint8_t flags, const uint8_t *opts, unsigned int optlen,
			      uint16_t payload)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	unsigned int hl = 20 + 20 + optlen;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + payload));
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	memset(p, 0, hl + payload);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(hl + payload));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = from->laddr.v4;
	ip->dst_addr = from->raddr.v4;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = rte_cpu_to_be_16(from->lport);
	th->dst_port = rte_cpu_to_be_16(from->rport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((20 + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(1000);
	memcpy(th + 1, opts, optlen);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}

static void test_rfc5961_and_paws(void **state)
{
	struct app *a;
	struct tcp_conn_info ia;
	uint8_t ts_old[12] = {1, 1, 8, 10};
	unsigned int sent;

	(void)state;
	listen_b(NULL);
	a = connect_a(0, NULL);
	run(100000);
	tcp_conn_get_info(a->c, &ia);
	/* an in-window RST that is not exactly rcv_nxt: challenge ACK, no reset */
	sent = S.sent[1];
	assert_true(tcp_input(
		S.st[1], forge(&ia, ia.snd_nxt + 100, 0, RTE_TCP_RST_FLAG, NULL, 0, 0), S.now));
	assert_int_equal(stat(1, STAT_TCP_CHALLENGE_ACKS), 1);
	assert_int_equal(S.sent[1], sent + 1);
	/* a SYN on an established connection: challenge ACK */
	assert_true(
		tcp_input(S.st[1], forge(&ia, ia.snd_nxt, 0, RTE_TCP_SYN_FLAG, NULL, 0, 0), S.now));
	assert_int_equal(stat(1, STAT_TCP_CHALLENGE_ACKS), 2);
	assert_int_equal(stat(1, STAT_DROP_TCP_BAD_SYN), 1);
	/* an ACK for data never sent: dropped */
	assert_true(tcp_input(
		S.st[1], forge(&ia, ia.snd_nxt, ia.rcv_nxt + 100000, RTE_TCP_ACK_FLAG, NULL, 0, 0),
		S.now));
	assert_int_equal(stat(1, STAT_DROP_TCP_BAD_ACK), 1);
	/* PAWS: data with a timestamp older than the last one A sent */
	{
		uint32_t old = rte_cpu_to_be_32(S.tsval[0] - 100000);

		memcpy(ts_old + 4, &old, 4);
	}
	assert_true(tcp_input(S.st[1],
			      forge(&ia, ia.snd_nxt, ia.rcv_nxt, RTE_TCP_ACK_FLAG, ts_old, 12, 10),
			      S.now));
	assert_int_equal(stat(1, STAT_DROP_TCP_PAWS), 1);
	assert_int_equal(tcp_recv_queued(apps[1][0].c), 0);
	/* a bad checksum */
	{
		struct rte_mbuf *m =
			forge(&ia, ia.snd_nxt, ia.rcv_nxt, RTE_TCP_ACK_FLAG, NULL, 0, 4);

		rte_pktmbuf_mtod_offset(m, uint8_t *, 41)[0] ^= 0xff;
		assert_true(tcp_input(S.st[1], m, S.now));
		assert_int_equal(stat(1, STAT_DROP_TCP_BAD_CSUM), 1);
	}
	/* the exact RST ends it */
	run(10000);
	tcp_conn_get_info(a->c, &ia);
	assert_true(
		tcp_input(S.st[1], forge(&ia, ia.snd_nxt, 0, RTE_TCP_RST_FLAG, NULL, 0, 0), S.now));
	assert_true(apps[1][0].closed);
	assert_int_equal(apps[1][0].reason, TCP_CLOSE_RESET);
}

static void test_forged_cookie_ack(void **state)
{
	struct tcp_conn_info fake = {.laddr = addr_a, .raddr = addr_b, .lport = 33333, .rport = 80};
	unsigned int sent;

	(void)state;
	listen_b(NULL);
	sent = S.sent[1];
	assert_true(tcp_input(S.st[1], forge(&fake, 1000, 123456, RTE_TCP_ACK_FLAG, NULL, 0, 0),
			      S.now));
	assert_int_equal(stat(1, STAT_DROP_TCP_BAD_SYN), 1);
	assert_int_equal(stat(1, STAT_TCP_RESETS_OUT), 1);
	assert_int_equal(S.sent[1], sent + 1);
	assert_int_equal(stat(1, STAT_TCP_CONNS_ACCEPTED), 0);
}

static void test_ipv6(void **state)
{
	struct app *a = &apps[0][0], *b = &apps[1][0];

	(void)state;
	assert_non_null(tcp_listen(S.st[1], &addr6_b, 443, NULL, &cbs, (void *)(uintptr_t)0));
	a->c = tcp_connect(S.st[0], &addr6_a, &addr6_b, 443, NULL, &cbs, a, S.now);
	assert_non_null(a->c);
	b->read = true;
	a->tx_total = 200000;
	run(10000);
	assert_true(a->connected);
	app_push(a);
	for (int k = 0; k < 100 && b->rx < 200000; k++) {
		run(10000);
		app_push(a);
	}
	assert_int_equal(b->rx, 200000);
	assert_false(b->bad_data);
	{
		struct tcp_conn_info i;

		tcp_conn_get_info(a->c, &i);
		assert_int_equal(i.mss, 1440);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loss_sack_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rto_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmissions_give_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simultaneous_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simultaneous_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_cookies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc5961_and_paws, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_cookie_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
	};

	test_eal_init();
	pool = rte_pktmbuf_pool_create("test_tcp", 65535, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
