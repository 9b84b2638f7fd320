/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the TCP stack: two stacks (client A 10.0.0.1, server B
 * 10.0.0.2) joined by a simulated link that the tests may make drop, delay,
 * reorder or duplicate segments, on a clock the tests drive; the link records
 * every segment sent (trace[]: time, flags, sequence numbers, length, window).
 * Plus segments written by hand for the paths a well-behaved peer never takes
 * (RFC 5961, PAWS, forged cookies, the window's edges).
 */
#include <errno.h>
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
#include "dataplane/tcp/tcp_internal.h" /* sizeof(struct tcp_conn), for the guard */
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

/* what the link saw: every segment sent, before the filter */
struct seg_rec {
	uint64_t at; /* S.now when sent */
	uint32_t seq, ack, len;
	uint16_t win, iplen;
	uint8_t from, flags;
	uint8_t ecn; /* the IP ECN field */
};

#define TRACE_MAX 65536

static struct seg_rec trace[TRACE_MAX];
static unsigned int ntrace;

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Header fields of a contiguous IPv4 or IPv6 TCP segment. */
static void seg_parse(const uint8_t *p, struct seg_rec *r)
{
	unsigned int ipl, total, thl;
	const uint8_t *th;

	if ((p[0] >> 4) == 4) {
		ipl = (p[0] & 0xfu) * 4;
		total = (unsigned int)p[2] << 8 | p[3];
		r->ecn = p[1] & 3;
	} else {
		ipl = 40;
		total = 40 + ((unsigned int)p[4] << 8 | p[5]);
		r->ecn = (p[1] >> 4) & 3;
	}
	th = p + ipl;
	thl = (th[12] >> 4) * 4u;
	r->seq = be32_at(th + 4);
	r->ack = be32_at(th + 8);
	r->flags = th[13];
	r->win = (uint16_t)(th[14] << 8 | th[15]);
	r->len = total - ipl - thl;
	r->iplen = (uint16_t)total;
}

static void seg_of(struct rte_mbuf *m, struct seg_rec *r)
{
	seg_parse(rte_pktmbuf_mtod(m, const uint8_t *), r);
}

/* Segments from @p from in the trace since index @p since with all of @p flags set
 * (and, when @p data, a payload). */
static unsigned int count_segs(int from, unsigned int since, uint8_t flags, bool data)
{
	unsigned int n = 0;

	for (unsigned int i = since; i < ntrace; i++)
		if (trace[i].from == from && (trace[i].flags & flags) == flags &&
		    (!data || trace[i].len > 0))
			n++;
	return n;
}

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

/* Put @p m on the link towards stack @p to, due at @p at. */
static void link_put(int to, struct rte_mbuf *m, uint64_t at)
{
	assert_true(S.n[to] < LINK_MAX);
	S.q[to][S.n[to]].m = m;
	S.q[to][S.n[to]].at = at;
	S.n[to]++;
}

/* The same with a copy of @p m (a filter's duplicate or late frame). */
static void link_put_copy(int to, struct rte_mbuf *m, uint64_t at)
{
	struct rte_mbuf *c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);

	assert_non_null(c);
	link_put(to, c, at);
}

static void link_out(int from, struct rte_mbuf *m)
{
	int to = 1 - from;

	S.sent[from]++;
	m = linearize(m);
	if (ntrace < TRACE_MAX) {
		seg_of(m, &trace[ntrace]);
		trace[ntrace].at = S.now;
		trace[ntrace].from = (uint8_t)from;
		ntrace++;
	}
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
	link_put(to, m, S.now + S.delay_us);
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
	unsigned int timer_calls;
	uint64_t timer_at;  /* S.now at the last timer callback */
	uint64_t closed_at; /* S.now at the closed callback */
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
	a->closed_at = S.now;
	a->c = NULL;
}

static void cb_timer(struct tcp_conn *c, void *arg)
{
	struct app *a = arg;

	(void)c;
	a->timer_calls++;
	a->timer_at = S.now;
}

static const struct tcp_callbacks cbs = {
	.accepted = cb_accepted,
	.connected = cb_connected,
	.readable = cb_readable,
	.writable = cb_writable,
	.timer = cb_timer,
	.closed = cb_closed,
};

static const struct tcp_addr addr_a = {.family = 4, .v4 = RTE_BE32(RTE_IPV4(10, 0, 0, 1))};
static const struct tcp_addr addr_b = {.family = 4, .v4 = RTE_BE32(RTE_IPV4(10, 0, 0, 2))};
static struct tcp_addr addr6_a = {.family = 6, .v6 = {0xfd, 0, [15] = 1}};
static struct tcp_addr addr6_b = {.family = 6, .v6 = {0xfd, 0, [15] = 2}};

/* the size of the stacks setup() makes (setup_many() makes bigger ones) */
#define SIM_PORTS_MAX 2048

static uint32_t sim_max_conns = 256;
static uint32_t sim_nports = 64;
static uint64_t sim_mem_limit; /* tcp_stack_conf.mem_limit, 0: the default */

static void sim_setup(void)
{
	static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	tcp_output_fn outs[2] = {out_a, out_b};
	static uint16_t ports[SIM_PORTS_MAX];

	for (int i = 0; i < 2; i++) {
		struct tcp_stack_conf conf = {
			.socket_id = 0,
			.worker_id = (uint16_t)i,
			.max_conns = sim_max_conns,
			.pool = pool,
			.output = outs[i],
			.secret = secret,
			.now_us = S.now,
			.mem_limit = sim_mem_limit,
		};

		conf.stats = &S.stats[i];
		S.st[i] = tcp_stack_create(&conf);
		assert_non_null(S.st[i]);
	}
	for (unsigned int i = 0; i < sim_nports; i++)
		ports[i] = (uint16_t)(40000 + i);
	assert_int_equal(tcp_stack_set_ports(S.st[0], ports, sim_nports), 0);
	assert_int_equal(tcp_stack_set_ports(S.st[1], ports, sim_nports), 0);
}

static int setup(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	memset(apps, 0, sizeof(apps));
	ntrace = 0;
	S.now = 1000000;
	S.reset_unknown = true;
	sim_max_conns = 256;
	sim_nports = 64;
	sim_mem_limit = 0;
	sim_setup();
	return 0;
}

#define TRUESIZE (sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE)

/* stacks that may hold 200 mbufs of buffers (the low-water mark at 150) */
static int setup_tight_mem(void **state)
{
	setup(state);
	tcp_stack_free(S.st[0]);
	tcp_stack_free(S.st[1]);
	sim_mem_limit = 200 * TRUESIZE;
	sim_setup();
	return 0;
}

/* stacks for 2048 connections with 2048 local ports */
static int setup_many(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	memset(apps, 0, sizeof(apps));
	ntrace = 0;
	S.now = 1000000;
	S.reset_unknown = true;
	sim_max_conns = SIM_PORTS_MAX;
	sim_nports = SIM_PORTS_MAX;
	sim_mem_limit = 0;
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
	/* the struct alone is several hundred bytes; the slot is what was allocated */
	assert_true(tcp_conn_footprint(S.st[0]) > 256 && tcp_conn_footprint(S.st[0]) < 4096);
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
	/* real losses: the retransmission is what arrives, nothing is undone */
	assert_int_equal(stat(0, STAT_TCP_SPURIOUS_RECOVERIES), 0);
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
	if (r->dup && r->seen % 5 == 0)
		link_put_copy(1, m, S.now + S.delay_us);
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
	uint8_t *p;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	assert_non_null(rte_pktmbuf_append(m, (uint16_t)(hl + payload)));
	p = rte_pktmbuf_mtod(m, uint8_t *); /* not the append's result: see test_l4.c pkt() */
	ip = (struct rte_ipv4_hdr *)p;
	th = (struct rte_tcp_hdr *)(ip + 1);
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
	if (optlen > 0)
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

/* ---- more link tools ---- */

/* Queue @p n bytes of the pattern on @p a in one tcp_send() (a chain when large). */
static void app_send(struct app *a, uint32_t n)
{
	struct rte_mbuf *head = NULL;
	uint32_t left = n;

	while (left > 0) {
		uint32_t k = RTE_MIN(left, 2000u);
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *p;

		assert_non_null(m);
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)k);
		for (uint32_t i = 0; i < k; i++)
			p[i] = pattern(a->tx + (n - left) + i);
		if (head == NULL)
			head = m;
		else
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
		left -= k;
	}
	assert_int_equal(tcp_send(a->c, head), (int)n);
	a->tx += n;
}

/* The first segment of the trace from index @p since on from @p from that has all
 * of @p flags and, when @p ack_min is not 0, acknowledges at least @p ack_min.
 * @return its index or -1. */
static int find_seg(int from, unsigned int since, uint8_t flags, uint32_t ack_min)
{
	for (unsigned int i = since; i < ntrace; i++)
		if (trace[i].from == from && (trace[i].flags & flags) == flags &&
		    (ack_min == 0 || (int32_t)(trace[i].ack - ack_min) >= 0))
			return (int)i;
	return -1;
}

static void state_counts(int i, uint32_t *counts)
{
	tcp_state_counts(S.st[i], counts);
}

static uint32_t count_state(int i, enum tcp_state s)
{
	uint32_t counts[TCP_STATE_MAX];

	tcp_state_counts(S.st[i], counts);
	return counts[s];
}

/* Overwrite a SACK-permitted option (kind 4, length 2) with two NOPs and fix the
 * TCP checksum: the peer then negotiates no SACK. IPv4 only. */
static void strip_sack_perm(struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + (ip->version_ihl & 0xf) * 4);
	uint8_t *o = (uint8_t *)(th + 1);
	unsigned int olen = (th->data_off >> 4) * 4u - sizeof(*th);

	for (unsigned int i = 0; i < olen;) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= olen || o[i + 1] < 2)
			break;
		if (o[i] == 4 && o[i + 1] == 2) {
			o[i] = o[i + 1] = 1;
			i += 2;
			continue;
		}
		i += o[i + 1];
	}
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
}

/* Drops some first transmissions of A's data; retransmissions always pass. */
struct new_dropper {
	bool no_sack;	    /* strip SACK-permitted from the SYNs */
	unsigned int every; /* drop every n-th new data segment (0: none) */
	unsigned int only;  /* or: drop the n-th new data segment only (1-based, 0: none) */
	unsigned int seen, dropped;
	bool started;
	uint32_t high;	   /* end of the highest data sent so far */
	uint32_t drop_seq; /* the last segment dropped */
	uint64_t drop_at;
};

static bool drop_new(int dir, struct rte_mbuf *m, void *arg)
{
	struct new_dropper *d = arg;
	struct seg_rec r;

	seg_of(m, &r);
	if (d->no_sack && (r.flags & RTE_TCP_SYN_FLAG))
		strip_sack_perm(m);
	if (dir != 0 || r.len == 0)
		return false;
	if (d->started && (int32_t)(r.seq - d->high) < 0)
		return false; /* a retransmission */
	d->started = true;
	d->high = r.seq + r.len;
	d->seen++;
	if ((d->every != 0 && d->seen % d->every == 0) || d->seen == d->only) {
		d->dropped++;
		d->drop_seq = r.seq;
		d->drop_at = S.now;
		return true;
	}
	return false;
}

/* ---- loss recovery ---- */

static void test_newreno_without_sack(void **state)
{
	struct new_dropper d = {.no_sack = true, .every = 40};
	struct tcp_conn_info i;
	struct app *a;

	(void)state;
	listen_b(NULL);
	S.delay_us = 2000;
	S.filter = drop_new;
	S.filter_arg = &d;
	a = connect_a(0, NULL);
	run(10000);
	assert_true(a->connected);
	tcp_conn_get_info(a->c, &i);
	assert_false(i.sack);
	assert_true(i.timestamps);
	tcp_conn_get_info(apps[1][0].c, &i);
	assert_false(i.sack);
	transfer(1u << 20, 0, 30000000);
	assert_true(d.dropped >= 10);
	assert_true(stat(0, STAT_TCP_FAST_RECOVERIES) > 0);
	assert_true(stat(0, STAT_TCP_RETRANSMITS) >= d.dropped);
	assert_true(stat(0, STAT_TCP_DUP_ACKS) >= 3 * stat(0, STAT_TCP_FAST_RECOVERIES));
	/* NewReno repairs every hole with partial ACKs, no timeout */
	assert_int_equal(stat(0, STAT_TCP_RTO), 0);
	/* no SACK blocks either way */
	assert_int_equal(stat(0, STAT_TCP_SACK_BLOCKS_IN), 0);
	assert_int_equal(stat(1, STAT_TCP_SACK_BLOCKS_OUT), 0);
	assert_true(stat(1, STAT_TCP_OOO_SEGS) > 0);
}

static void test_fast_retransmit_one_loss(void **state)
{
	struct new_dropper d = {.only = 3};
	struct app *a, *b = &apps[1][0];
	int k;

	(void)state;
	listen_b(NULL);
	S.delay_us = 2000;
	S.filter = drop_new;
	S.filter_arg = &d;
	a = connect_a(0, NULL);
	run(10000);
	b->read = true;
	app_send(a, 10 * 1448); /* the initial window: ten segments at once */
	run(100000);
	assert_int_equal(d.dropped, 1);
	assert_int_equal(b->rx, 10 * 1448);
	assert_false(b->bad_data);
	/* segments 4..10 each made B say "still waiting for 3": seven dup ACKs */
	assert_true(stat(0, STAT_TCP_DUP_ACKS) >= 3);
	assert_int_equal(stat(0, STAT_TCP_FAST_RECOVERIES), 1);
	assert_int_equal(stat(0, STAT_TCP_RETRANSMITS), 1);
	assert_int_equal(stat(0, STAT_TCP_RTO), 0);
	/* resent one round trip after the loss, long before an RTO (>= 200 ms) */
	for (k = 0; k < (int)ntrace; k++)
		if (trace[k].from == 0 && trace[k].seq == d.drop_seq && trace[k].len > 0 &&
		    trace[k].at > d.drop_at)
			break;
	assert_true(k < (int)ntrace);
	assert_true(trace[k].at - d.drop_at >= 2 * S.delay_us);
	assert_true(trace[k].at - d.drop_at < 4 * S.delay_us);
	assert_int_equal(stat(1, STAT_TCP_OOO_SEGS), 7);
}

/* ---- ACK and send policy ---- */

static void test_delayed_ack(void **state)
{
	struct app *a, *b = &apps[1][0];
	unsigned int since;
	int i;

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	a = connect_a(0, NULL);
	run(100000);
	b->read = true;
	/* one small segment: the ACK waits for the delayed-ACK timer (40 ms) */
	since = ntrace;
	app_send(a, 100);
	run(100000);
	i = find_seg(0, since, 0, 0);
	assert_true(i >= 0 && trace[i].len == 100);
	i = find_seg(1, since, RTE_TCP_ACK_FLAG, trace[i].seq + 100);
	assert_true(i >= 0);
	assert_int_equal(count_segs(1, since, 0, false), 1);
	assert_true(trace[i].at >= trace[since].at + S.delay_us + 40000);
	assert_true(trace[i].at <= trace[since].at + S.delay_us + 41100);
	assert_int_equal(b->rx, 100);
	/* two full segments: ACKed on the second's arrival */
	since = ntrace;
	app_send(a, 2 * 1448);
	assert_int_equal(count_segs(0, since, 0, true), 2);
	run(100000);
	assert_int_equal(count_segs(1, since, 0, false), 1);
	i = find_seg(1, since, RTE_TCP_ACK_FLAG, trace[since + 1].seq + 1448);
	assert_true(i >= 0);
	assert_int_equal(trace[i].at, trace[since].at + S.delay_us);
	assert_int_equal(b->rx, 100 + 2 * 1448);
	assert_false(b->bad_data);
}

/* @p sends tcp_send() calls of 10 bytes, 300 us apart. @return A's data segments. */
static unsigned int tiny_sends(const struct tcp_params *p, unsigned int sends)
{
	struct app *a, *b = &apps[1][0];
	unsigned int since;

	listen_b(NULL);
	S.delay_us = 1000;
	a = connect_a(0, p);
	run(100000);
	b->read = true;
	since = ntrace;
	for (unsigned int k = 0; k < sends; k++) {
		app_send(a, 10);
		run(300);
	}
	run(200000);
	assert_int_equal(b->rx, 10 * sends);
	assert_false(b->bad_data);
	return count_segs(0, since, 0, true);
}

static void test_nagle(void **state)
{
	unsigned int segs;

	(void)state;
	/* the first goes at once; the rest wait for its (delayed) ACK */
	segs = tiny_sends(NULL, 100);
	assert_true(segs >= 2 && segs <= 5);
}

static void test_nodelay(void **state)
{
	struct tcp_params p = {.nodelay = true};

	(void)state;
	assert_int_equal(tiny_sends(&p, 100), 100);
}

/* ---- keep-alive ---- */

static void test_keepalive_dead_peer(void **state)
{
	struct tcp_params p = {
		.keepalive_idle_ms = 1000, .keepalive_intvl_ms = 200, .keepalive_probes = 3};
	bool hole = false;
	struct app *a;
	uint64_t t0;

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	S.filter = blackhole;
	S.filter_arg = &hole;
	a = connect_a(0, &p);
	run(2000); /* SYN-ACK in at 2 ms: A's last arrival */
	assert_true(a->connected);
	t0 = S.now;
	hole = true;
	for (int k = 0; k < 400 && !a->closed; k++)
		run(10000);
	assert_true(a->closed);
	assert_int_equal(a->reason, TCP_CLOSE_KEEPALIVE);
	assert_int_equal(stat(0, STAT_TCP_KEEPALIVE_PROBES), 3);
	/* idle 1 s, then three probes 200 ms apart, then give up 200 ms later */
	assert_true(a->closed_at >= t0 + 1000000 + 3 * 200000 - 1000);
	assert_true(a->closed_at <= t0 + 1000000 + 3 * 200000 + 12000);
	assert_int_equal(count_state(0, TCP_ESTABLISHED), 0);
}

static void test_keepalive_live_peer(void **state)
{
	struct tcp_params p = {
		.keepalive_idle_ms = 1000, .keepalive_intvl_ms = 200, .keepalive_probes = 2};
	struct app *a;
	unsigned int since;

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	a = connect_a(0, &p);
	run(10000);
	since = ntrace;
	run(10000000);
	assert_false(a->closed);
	assert_false(apps[1][0].closed);
	/* a probe a second, each answered (below the window: B ACKs at once) */
	assert_true(stat(0, STAT_TCP_KEEPALIVE_PROBES) >= 8);
	assert_true(stat(0, STAT_TCP_KEEPALIVE_PROBES) <= 10);
	assert_true(count_segs(1, since, RTE_TCP_ACK_FLAG, false) >=
		    stat(0, STAT_TCP_KEEPALIVE_PROBES));
	assert_int_equal(count_state(0, TCP_ESTABLISHED), 1);
	assert_int_equal(count_state(1, TCP_ESTABLISHED), 1);
	/* and the connection still carries data */
	apps[1][0].read = true;
	app_send(a, 5000);
	run(100000);
	assert_int_equal(apps[1][0].rx, 5000);
}

/* ---- closing ---- */

static void test_half_close(void **state)
{
	struct app *a, *b = &apps[1][0];
	struct rte_mbuf *m;

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	a = connect_a(0, NULL);
	a->read = b->read = true;
	run(10000);
	app_send(a, 3000);
	tcp_shutdown(a->c);
	run(100000);
	assert_int_equal(b->rx, 3000);
	assert_true(b->eof);
	assert_int_equal(count_state(0, TCP_FIN_WAIT_2), 1);
	assert_int_equal(count_state(1, TCP_CLOSE_WAIT), 1);
	/* A may not write any more */
	m = rte_pktmbuf_alloc(pool);
	assert_non_null(rte_pktmbuf_append(m, 10));
	assert_int_equal(tcp_send(a->c, m), -EPIPE);
	/* B writes on; A reads */
	b->tx_total = 300000;
	app_push(b);
	for (int k = 0; k < 100 && a->rx < 300000; k++) {
		run(10000);
		app_push(b);
	}
	assert_int_equal(a->rx, 300000);
	assert_false(a->bad_data);
	assert_false(a->eof);
	/* a half-closed connection (not orphaned) stays in FIN_WAIT_2 */
	run(65000000);
	assert_int_equal(count_state(0, TCP_FIN_WAIT_2), 1);
	assert_int_equal(count_state(1, TCP_CLOSE_WAIT), 1);
	b->tx_total += 1000;
	app_push(b);
	tcp_shutdown(b->c);
	assert_int_equal(count_state(1, TCP_LAST_ACK), 1);
	run(100000);
	assert_int_equal(a->rx, 301000);
	assert_true(a->eof);
	assert_true(a->closed && b->closed);
	assert_int_equal(a->reason, TCP_CLOSE_NORMAL);
	assert_int_equal(b->reason, TCP_CLOSE_NORMAL);
	assert_int_equal(count_state(0, TCP_TIME_WAIT), 1);
	assert_int_equal(count_state(1, TCP_TIME_WAIT), 0);
	assert_int_equal(stat(1, STAT_TCP_CONNS_CLOSED), 1);
}

/* drop A's next pure ACK once */
static bool drop_one_ack(int dir, struct rte_mbuf *m, void *arg)
{
	unsigned int *left = arg;
	struct seg_rec r;

	seg_of(m, &r);
	if (dir == 0 && *left > 0 && r.len == 0 && r.flags == RTE_TCP_ACK_FLAG) {
		(*left)--;
		return true;
	}
	return false;
}

static void test_last_ack(void **state)
{
	struct app *a, *b = &apps[1][0];
	unsigned int drops = 0, since;
	int f1, f2;

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	S.filter = drop_one_ack;
	S.filter_arg = &drops;
	a = connect_a(0, NULL);
	b->close_on_eof = true; /* B closes as soon as A's FIN arrives */
	run(10000);
	tcp_shutdown(a->c);
	drops = 1; /* the ACK of B's FIN is lost */
	since = ntrace;
	run(1500);
	assert_int_equal(count_state(1, TCP_LAST_ACK), 1);
	assert_true(b->eof);
	assert_false(b->closed); /* closed by the user: no callback */
	run(100000);
	assert_true(a->eof && a->closed);
	assert_int_equal(a->reason, TCP_CLOSE_NORMAL);
	assert_int_equal(count_state(0, TCP_TIME_WAIT), 1);
	assert_int_equal(count_state(1, TCP_LAST_ACK), 1); /* still waiting */
	assert_int_equal(drops, 0);
	/* B's FIN again after its RTO; A, in TIME_WAIT, ACKs it; B is gone, not in TIME_WAIT */
	run(1000000);
	assert_int_equal(count_segs(1, since, RTE_TCP_FIN_FLAG, false), 2);
	assert_true(stat(1, STAT_TCP_RETRANSMITS) >= 1);
	assert_int_equal(count_state(1, TCP_LAST_ACK), 0);
	assert_int_equal(count_state(1, TCP_TIME_WAIT), 0);
	assert_int_equal(stat(1, STAT_TCP_CONNS_CLOSED), 1);
	assert_int_equal(count_state(0, TCP_TIME_WAIT), 1);
	/* the FIN was resent by the retransmission timer (RTO >= 200 ms) */
	f1 = find_seg(1, since, RTE_TCP_FIN_FLAG, 0);
	f2 = find_seg(1, (unsigned int)f1 + 1, RTE_TCP_FIN_FLAG, 0);
	assert_true(f1 >= 0 && f2 > f1);
	assert_int_equal(trace[f2].seq, trace[f1].seq);
	assert_true(trace[f2].at - trace[f1].at >= 200000);
}

static void test_time_wait_reuse(void **state)
{
	uint16_t port = 41000;
	struct app *a, *b = &apps[1][0];
	struct tcp_conn_info i1, i2;

	(void)state;
	assert_int_equal(tcp_stack_set_ports(S.st[0], &port, 1), 0);
	listen_b(NULL);
	S.delay_us = 1000;
	/* B closes first and ends in TIME_WAIT; A follows from CLOSE_WAIT */
	a = connect_a(0, NULL);
	a->read = true;
	a->close_on_eof = true;
	run(10000);
	tcp_conn_get_info(a->c, &i1);
	tcp_shutdown(b->c);
	run(100000);
	assert_true(a->eof);
	assert_int_equal(count_state(1, TCP_TIME_WAIT), 1);
	assert_int_equal(count_state(0, TCP_LAST_ACK) + count_state(0, TCP_TIME_WAIT), 0);
	/* the same 4-tuple again: the SYN's timestamp is newer, TIME_WAIT gives way */
	run(1000000);
	memset(b, 0, sizeof(*b));
	a = connect_a(1, NULL);
	tcp_conn_get_info(a->c, &i2);
	assert_int_equal(i2.lport, i1.lport);
	run(10000);
	assert_true(a->connected);
	assert_true(b->accepted);
	assert_int_equal(stat(1, STAT_TCP_TIME_WAIT_REUSED), 1);
	assert_int_equal(count_state(1, TCP_TIME_WAIT), 0);
	assert_int_equal(count_state(1, TCP_ESTABLISHED), 1);
	assert_int_equal(stat(1, STAT_TCP_CONNS_ACCEPTED), 2);
	b->read = true;
	app_send(a, 4000);
	run(10000);
	assert_int_equal(b->rx, 4000);
	assert_false(b->bad_data);
}

static void test_orphan_fin_wait_2(void **state)
{
	struct app *a;

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	a = connect_a(0, NULL);
	run(10000);
	tcp_close(a->c); /* B never closes */
	a->c = NULL;
	run(100000);
	assert_int_equal(count_state(0, TCP_FIN_WAIT_2), 1);
	assert_int_equal(count_state(1, TCP_CLOSE_WAIT), 1);
	run(59000000);
	assert_int_equal(count_state(0, TCP_FIN_WAIT_2), 1);
	assert_int_equal(stat(0, STAT_TCP_CONNS_CLOSED), 0);
	run(2000000);
	assert_int_equal(count_state(0, TCP_FIN_WAIT_2), 0);
	assert_int_equal(stat(0, STAT_TCP_CONNS_CLOSED), 1);
	assert_false(a->closed); /* closed by the user: no callback */
	assert_int_equal(count_state(1, TCP_CLOSE_WAIT), 1);
}

/* ---- ICMP ---- */

/* What an ICMP error quotes of a segment A sent: the IPv4 header and 8 bytes of TCP. */
static void quote_of(const struct tcp_conn_info *i, uint32_t seq, uint8_t q[28])
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)q;
	uint16_t sport = rte_cpu_to_be_16(i->lport), dport = rte_cpu_to_be_16(i->rport);
	uint32_t s = rte_cpu_to_be_32(seq);

	memset(q, 0, 28);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(1500);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = i->laddr.v4;
	ip->dst_addr = i->raddr.v4;
	memcpy(q + 20, &sport, 2); /* only 8 bytes of TCP: no struct rte_tcp_hdr */
	memcpy(q + 22, &dport, 2);
	memcpy(q + 24, &s, 4);
}

static void test_pmtu(void **state)
{
	struct app *a, *b = &apps[1][0];
	struct tcp_conn_info i;
	uint8_t q[28];
	unsigned int since;

	(void)state;
	listen_b(NULL);
	S.delay_us = 2000;
	a = connect_a(0, NULL);
	b->read = true;
	run(10000);
	a->tx_total = 200000;
	app_push(a);
	tcp_conn_get_info(a->c, &i);
	assert_true(i.snd_nxt != i.snd_una);
	/* data not in flight: ignored (RFC 5927) */
	quote_of(&i, i.snd_una - 1000, q);
	assert_true(tcp_icmp_error(S.st[0], q, sizeof(q), 1000, S.now));
	assert_int_equal(stat(0, STAT_TCP_PMTU_UPDATES), 0);
	/* an MTU above the path's: nothing */
	quote_of(&i, i.snd_una, q);
	assert_true(tcp_icmp_error(S.st[0], q, sizeof(q), 9000, S.now));
	assert_int_equal(stat(0, STAT_TCP_PMTU_UPDATES), 0);
	since = ntrace;
	assert_true(tcp_icmp_error(S.st[0], q, sizeof(q), 1000, S.now));
	assert_int_equal(stat(0, STAT_TCP_PMTU_UPDATES), 1);
	tcp_conn_get_info(a->c, &i);
	assert_int_equal(i.mss, 1000 - 40);
	for (int k = 0; k < 100 && b->rx < 200000; k++) {
		run(10000);
		app_push(a);
	}
	assert_int_equal(b->rx, 200000);
	assert_false(b->bad_data);
	/* everything A sent since fits the new path MTU, and what was lost is resent */
	assert_true(count_segs(0, since, 0, true) > 100);
	for (unsigned int k = since; k < ntrace; k++)
		if (trace[k].from == 0)
			assert_true(trace[k].iplen <= 1000);
	assert_true(stat(0, STAT_TCP_RETRANSMITS) > 0);
}

static void test_icmp_unreachable(void **state)
{
	bool hole = true;
	struct app *a, *c;
	struct tcp_conn_info i;
	uint8_t q[28];

	(void)state;
	listen_b(NULL);
	S.filter = blackhole;
	S.filter_arg = &hole;
	a = connect_a(0, NULL);
	run(1000);
	tcp_conn_get_info(a->c, &i);
	assert_int_equal(i.state, TCP_SYN_SENT);
	quote_of(&i, i.snd_una, q);
	assert_true(tcp_icmp_error(S.st[0], q, sizeof(q), 0, S.now));
	assert_true(a->closed);
	assert_int_equal(a->reason, TCP_CLOSE_UNREACHABLE);
	assert_int_equal(stat(0, STAT_TCP_CONNS_FAILED), 1);
	assert_int_equal(count_state(0, TCP_SYN_SENT), 0);
	/* on an established connection it is a soft error (RFC 1122 4.2.3.9) */
	hole = false;
	c = connect_a(1, NULL);
	run(10000);
	assert_true(c->connected);
	hole = true;
	app_send(c, 1000);
	tcp_conn_get_info(c->c, &i);
	quote_of(&i, i.snd_una, q);
	assert_true(tcp_icmp_error(S.st[0], q, sizeof(q), 0, S.now));
	assert_false(c->closed);
	assert_int_equal(count_state(0, TCP_ESTABLISHED), 1);
	/* no connection: false */
	i.lport = 1;
	quote_of(&i, 0, q);
	assert_false(tcp_icmp_error(S.st[0], q, sizeof(q), 0, S.now));
}

/* ---- the API ---- */

static void test_user_timer(void **state)
{
	struct app *a;
	uint64_t t0;

	(void)state;
	listen_b(NULL);
	a = connect_a(0, NULL);
	run(10000);
	t0 = S.now;
	tcp_set_timer(a->c, 50000);
	run(49000);
	assert_int_equal(a->timer_calls, 0);
	run(3000);
	assert_int_equal(a->timer_calls, 1);
	assert_true(a->timer_at >= t0 + 50000 && a->timer_at <= t0 + 51100);
	run(500000); /* one-shot */
	assert_int_equal(a->timer_calls, 1);
	/* 0 cancels */
	tcp_set_timer(a->c, 100000);
	run(50000);
	tcp_set_timer(a->c, 0);
	run(500000);
	assert_int_equal(a->timer_calls, 1);
	/* a new delay replaces the old one; a long one goes round the wheel */
	t0 = S.now;
	tcp_set_timer(a->c, 100000);
	tcp_set_timer(a->c, 5000000);
	run(4900000);
	assert_int_equal(a->timer_calls, 1);
	run(200000);
	assert_int_equal(a->timer_calls, 2);
	assert_true(a->timer_at >= t0 + 5000000 && a->timer_at <= t0 + 5001100);
}

static void test_send_buffer_limit(void **state)
{
	struct tcp_params pa = {.sndbuf = 16384}, pb = {.rcvbuf = 8192};
	struct app *a, *b = &apps[1][0];
	struct tcp_conn_info ia, ib;
	unsigned int calls;
	uint64_t tx;

	(void)state;
	listen_b(&pb);
	S.delay_us = 1000;
	a = connect_a(0, &pa);
	run(10000);
	assert_int_equal(tcp_send_space(a->c), 16384);
	a->tx_total = 200000;
	app_push(a);
	run(1000000); /* B does not read: its window closes, A's buffer fills */
	/* writable wakes the writer only once a quarter of the buffer is free */
	assert_true(tcp_send_space(a->c) < 16384 / 4);
	tcp_conn_get_info(a->c, &ia);
	tcp_conn_get_info(b->c, &ib);
	/* what A queued is either still in its buffer or waiting in B's */
	assert_int_equal(ia.send_queued + ib.recv_queued, a->tx);
	assert_true(ia.send_queued > 16384 - 16384 / 4 && ia.send_queued < 16384 + 1700);
	assert_true(ib.recv_queued >= 8192 - 1448);
	assert_int_equal(ia.snd_wnd, 0);
	/* stalled: no more room, no wake-up */
	tx = a->tx;
	calls = a->writable_calls;
	run(1000000);
	assert_int_equal(a->tx, tx);
	assert_int_equal(a->writable_calls, calls);
	/* B reads: ACKs free A's buffer, writable comes and the writer goes on */
	b->read = true;
	app_read(b, b->c);
	run(20000);
	assert_true(a->writable_calls > calls);
	assert_true(a->tx > tx);
	for (int k = 0; k < 500 && b->rx < 200000; k++)
		run(10000);
	assert_int_equal(b->rx, 200000);
	assert_false(b->bad_data);
}

static void test_rst_in_syn_received(void **state)
{
	struct tcp_params p = {.syn_backlog = 1};
	struct tcp_conn_info fake = {.laddr = addr_a, .raddr = addr_b, .lport = 33333, .rport = 80};
	unsigned int since, sent;
	int i;

	(void)state;
	listen_b(&p);
	S.reset_unknown = false;
	since = ntrace;
	assert_true(tcp_input(S.st[1], forge(&fake, 1000, 0, RTE_TCP_SYN_FLAG, NULL, 0, 0), S.now));
	assert_int_equal(count_state(1, TCP_SYN_RECEIVED), 1);
	i = find_seg(1, since, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
	assert_true(i >= 0);
	assert_int_equal(trace[i].ack, 1001);
	/* in the window but not exactly rcv_nxt: challenge ACK */
	sent = S.sent[1];
	assert_true(tcp_input(S.st[1], forge(&fake, 1011, 0, RTE_TCP_RST_FLAG, NULL, 0, 0), S.now));
	assert_int_equal(stat(1, STAT_TCP_CHALLENGE_ACKS), 1);
	assert_int_equal(S.sent[1], sent + 1);
	assert_int_equal(count_state(1, TCP_SYN_RECEIVED), 1);
	/* the exact one: freed, no callback (never accepted) */
	assert_true(tcp_input(S.st[1], forge(&fake, 1001, 0, RTE_TCP_RST_FLAG, NULL, 0, 0), S.now));
	assert_int_equal(count_state(1, TCP_SYN_RECEIVED), 0);
	assert_int_equal(stat(1, STAT_TCP_RESETS_IN), 1);
	assert_int_equal(stat(1, STAT_TCP_CONNS_CLOSED), 1);
	assert_false(apps[1][0].accepted || apps[1][0].closed);
	/* and it left the SYN backlog: the next SYN gets a connection, not a cookie */
	run(10000);
	S.reset_unknown = true;
	connect_a(0, NULL);
	run(10000);
	assert_true(apps[0][0].connected);
	assert_int_equal(stat(1, STAT_TCP_COOKIES_SENT), 0);
}

/* hold A's first SYN back 300 ms; drop B's SYN-ACKs while @p drop_synack */
struct synack_loss {
	bool held;
	unsigned int synacks_dropped;
};

static bool lose_synack(int dir, struct rte_mbuf *m, void *arg)
{
	struct synack_loss *l = arg;
	struct seg_rec r;

	seg_of(m, &r);
	if (dir == 0 && (r.flags & RTE_TCP_SYN_FLAG) && !l->held) {
		/* so that A's SYN retransmission (1 s) comes before B's SYN-ACK timer */
		l->held = true;
		link_put_copy(1, m, S.now + 300000);
		return true;
	}
	if (dir == 1 && (r.flags & RTE_TCP_SYN_FLAG) && l->synacks_dropped == 0) {
		l->synacks_dropped++;
		return true;
	}
	return false;
}

static void test_synack_loss(void **state)
{
	struct synack_loss l = {0};
	struct app *a;
	uint64_t t0 = S.now;

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	S.filter = lose_synack;
	S.filter_arg = &l;
	a = connect_a(0, NULL);
	run(500000);
	assert_int_equal(l.synacks_dropped, 1);
	assert_int_equal(count_state(1, TCP_SYN_RECEIVED), 1);
	assert_false(a->connected);
	run(600000);
	/* A's SYN again at 1 s; B in SYN_RECEIVED answers it with the SYN-ACK again */
	assert_true(a->connected);
	assert_true(apps[1][0].accepted);
	assert_int_equal(stat(0, STAT_TCP_RETRANSMITS), 1);
	assert_int_equal(stat(1, STAT_TCP_RETRANSMITS), 1);
	assert_int_equal(count_segs(1, 0, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, false), 2);
	assert_true(a->c != NULL);
	{
		int i = find_seg(1, 0, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);

		i = find_seg(1, (unsigned int)i + 1, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
		assert_true(i >= 0);
		assert_true(trace[i].at >= t0 + 1000000 + 1000 && trace[i].at < t0 + 1010000);
	}
}

static void test_beyond_window(void **state)
{
	struct tcp_params p = {.rcvbuf = 1000};
	struct app *a;
	struct tcp_conn_info ia, ib;
	unsigned int sent;

	(void)state;
	listen_b(&p);
	a = connect_a(0, NULL);
	run(10000);
	tcp_conn_get_info(a->c, &ia);
	tcp_conn_get_info(apps[1][0].c, &ib);
	assert_int_equal(ib.rcv_wnd, 1000);
	/* wholly beyond the window: dropped, answered with an ACK */
	sent = S.sent[1];
	assert_true(tcp_input(
		S.st[1], forge(&ia, ia.snd_nxt + 1000, ia.rcv_nxt, RTE_TCP_ACK_FLAG, NULL, 0, 100),
		S.now));
	assert_int_equal(stat(1, STAT_DROP_TCP_OUT_OF_WINDOW), 1);
	assert_int_equal(S.sent[1], sent + 1);
	tcp_conn_get_info(apps[1][0].c, &ib);
	assert_int_equal(ib.ooo_queued + ib.recv_queued, 0);
	/* across the right edge, out of order: what fits is kept */
	assert_true(tcp_input(
		S.st[1], forge(&ia, ia.snd_nxt + 900, ia.rcv_nxt, RTE_TCP_ACK_FLAG, NULL, 0, 500),
		S.now));
	tcp_conn_get_info(apps[1][0].c, &ib);
	assert_int_equal(ib.ooo_queued, 100);
	/* in order and too long: trimmed to the window, the FIN with it ignored */
	assert_true(tcp_input(S.st[1],
			      forge(&ia, ia.snd_nxt, ia.rcv_nxt,
				    RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, NULL, 0, 1500),
			      S.now));
	tcp_conn_get_info(apps[1][0].c, &ib);
	assert_int_equal(ib.recv_queued, 1000);
	assert_int_equal(ib.ooo_queued, 0);
	assert_int_equal(ib.rcv_nxt, ia.snd_nxt + 1000);
	assert_int_equal(ib.state, TCP_ESTABLISHED);
	assert_false(tcp_recv_eof(apps[1][0].c));
}

static int cb_refuse(struct tcp_conn *c, void *arg)
{
	(void)c;
	apps[1][(uintptr_t)arg].accepted = true;
	return -1;
}

static void test_accept_refused(void **state)
{
	static const struct tcp_callbacks refuse = {
		.accepted = cb_refuse,
		.readable = cb_readable,
		.closed = cb_closed,
	};
	struct app *a;

	(void)state;
	assert_non_null(tcp_listen(S.st[1], &addr_b, 80, NULL, &refuse, (void *)(uintptr_t)0));
	S.delay_us = 1000;
	a = connect_a(0, NULL);
	run(10000);
	assert_true(apps[1][0].accepted);
	assert_true(a->connected); /* the handshake completed on A's side first */
	assert_true(a->closed);
	assert_int_equal(a->reason, TCP_CLOSE_RESET);
	assert_false(apps[1][0].closed); /* refused: no closed callback on B */
	assert_int_equal(stat(1, STAT_TCP_RESETS_OUT), 1);
	assert_int_equal(stat(1, STAT_TCP_CONNS_CLOSED), 1);
	assert_int_equal(count_state(1, TCP_ESTABLISHED), 0);
	assert_int_equal(count_state(0, TCP_ESTABLISHED), 0);
}

/* ---- many connections ---- */

#define MANY 1000

static struct app many[2][MANY];
static unsigned int many_accepted;

static int cb_accepted_many(struct tcp_conn *c, void *arg)
{
	struct app *b;

	(void)arg;
	assert_true(many_accepted < MANY);
	b = &many[1][many_accepted++];
	b->c = c;
	b->accepted = true;
	b->read = true;
	b->close_on_eof = true;
	tcp_set_arg(c, b);
	return 0;
}

/*
 * Send-queue mbufs of odd sizes: segments are chains whose parts start at odd
 * offsets, and their checksums must still be right (the receiver drops a bad
 * one). DPDK 22.11's rte_raw_cksum_mbuf() gets exactly this wrong.
 */
/* Every n-th data segment from A is held back and let go after 4 others. */
struct holder {
	unsigned int every, seen, countdown, held_back;
	struct rte_mbuf *held;
};

static bool hold_back(int dir, struct rte_mbuf *m, void *arg)
{
	struct holder *h = arg;

	if (dir != 0 || m->pkt_len <= 40 + 32)
		return false;
	if (h->held != NULL && --h->countdown == 0) {
		link_put(1, h->held, S.now + S.delay_us); /* in before m: 4 segments late */
		h->held = NULL;
	}
	if (h->held == NULL && ++h->seen % h->every == 0) {
		h->held = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
		assert_non_null(h->held);
		h->countdown = 5;
		h->held_back++;
		return true;
	}
	return false;
}

/*
 * Reordering, no loss: the first segment held back four segments starts a
 * recovery, the timestamps echoed show the original arrived (RFC 3522), the
 * recovery is undone and DupThresh rises above the displacement (5): the same
 * reordering later starts no recovery at all.
 */
static void test_reorder_undo(void **state)
{
	struct holder h = {.every = 40};

	(void)state;
	listen_b(NULL);
	S.delay_us = 1000;
	S.filter = hold_back;
	S.filter_arg = &h;
	transfer(2u << 20, 0, 30000000);
	rte_pktmbuf_free(h.held);
	assert_true(h.held_back > 10);
	assert_int_equal(stat(0, STAT_TCP_FAST_RECOVERIES), 1);
	assert_int_equal(stat(0, STAT_TCP_SPURIOUS_RECOVERIES), 1);
	assert_int_equal(stat(0, STAT_TCP_DUPTHRESH_RAISED), 1);
	/* at most the last segment held, with too little behind it to bring it
	 * in, goes again on RTO */
	assert_true(stat(0, STAT_TCP_RTO) <= 1);
}

/* The first data segment A sends that ends at @p end: dropped, or with
 * @p late_us, held back that long (everything behind it waits too). */
struct tail {
	uint32_t end;
	uint64_t late_us;
	unsigned int hit;
};

static bool tail_filter(int dir, struct rte_mbuf *m, void *arg)
{
	struct tail *t = arg;
	struct seg_rec r;

	seg_of(m, &r);
	if (dir != 0 || r.len == 0 || r.seq + r.len != t->end || t->hit > 0)
		return false;
	t->hit++;
	if (t->late_us == 0)
		return true;
	link_put_copy(1, m, S.now + S.delay_us + t->late_us);
	return true;
}

/* A sends six more full segments after a warm-up that measured the RTT (no
 * partial segment for Nagle to hold); the link treats the last one by @p t.
 * @p late_after_pto: make it late by the probe timeout plus that much.
 * @return A. */
static struct app *tail_run(struct tail *t, uint64_t late_after_pto)
{
	const uint32_t bytes = 6 * 1448;
	struct app *a, *b = &apps[1][0];
	struct tcp_conn_info i;

	listen_b(NULL);
	S.delay_us = 1000;
	a = connect_a(0, NULL);
	run(10000);
	b->read = true;
	app_send(a, 30000);
	run(100000);
	assert_int_equal(b->rx, 30000);
	tcp_conn_get_info(a->c, &i);
	assert_true(i.srtt_us > 0);
	t->end = i.snd_nxt + bytes;
	if (late_after_pto != 0)
		t->late_us = RTE_MAX(2 * (uint64_t)i.srtt_us, 10000u) + late_after_pto;
	S.filter = tail_filter;
	S.filter_arg = t;
	app_send(a, bytes);
	return a;
}

/*
 * RFC 8985 7: the last segment of a burst is lost, so no duplicate ACK can
 * come. After 2 SRTT (10 ms floor) a probe resends it, the ACK shows it
 * repaired a loss (it echoes the probe's TSval), the window is reduced once,
 * and nothing waits for the 200 ms RTO.
 */
static void test_tlp_tail_loss(void **state)
{
	struct tail t = {0};
	struct tcp_conn_info before, i;
	struct app *a;

	(void)state;
	a = tail_run(&t, 0);
	tcp_conn_get_info(a->c, &before);
	run(150000); /* less than the RTO */
	assert_int_equal(t.hit, 1);
	assert_int_equal(apps[1][0].rx, 30000 + 6 * 1448);
	assert_false(apps[1][0].bad_data);
	assert_int_equal(stat(0, STAT_TCP_TLP_PROBES), 1);
	assert_int_equal(stat(0, STAT_TCP_TLP_RECOVERIES), 1);
	assert_int_equal(stat(0, STAT_TCP_RTO), 0);
	assert_int_equal(stat(0, STAT_TCP_RETRANSMITS), 1);
	tcp_conn_get_info(a->c, &i);
	assert_int_equal(i.snd_una, t.end);
	assert_true(i.cwnd < before.cwnd);
	assert_true(i.ssthresh < before.cwnd);
}

/* The last segment is only late (past the probe timeout, well within the
 * RTO): the probe goes, but the ACK echoes the original's TSval, so no loss
 * is counted and the window stays. */
static void test_tlp_late_not_lost(void **state)
{
	struct tail t = {0};
	struct tcp_conn_info before, after;
	struct app *a;

	(void)state;
	a = tail_run(&t, 5000);
	tcp_conn_get_info(a->c, &before);
	run(150000);
	assert_int_equal(t.hit, 1);
	assert_int_equal(apps[1][0].rx, 30000 + 6 * 1448);
	assert_int_equal(stat(0, STAT_TCP_TLP_PROBES), 1);
	assert_int_equal(stat(0, STAT_TCP_TLP_RECOVERIES), 0);
	assert_int_equal(stat(0, STAT_TCP_RTO), 0);
	tcp_conn_get_info(a->c, &after);
	assert_int_equal(after.snd_una, t.end);
	assert_true(after.cwnd >= before.cwnd);
}

/* ---- ECN (RFC 3168) ---- */

static const struct tcp_params ecn_on = {.ecn = true};

/* Both ends want ECN: ECN-setup SYN (ECE + CWR) and SYN-ACK (ECE), new data
 * ECT(0), nothing else ECN-capable. With the listener not asking: no ECN. */
static void test_ecn_negotiation(void **state)
{
	struct tcp_conn_info ia, ib;
	struct app *a, *b = &apps[1][0];
	int syn, synack;

	(void)state;
	listen_b(&ecn_on);
	a = connect_a(0, &ecn_on);
	run(10000);
	syn = find_seg(0, 0, RTE_TCP_SYN_FLAG, 0);
	synack = find_seg(1, 0, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
	assert_true(syn >= 0 && synack >= 0);
	assert_int_equal(trace[syn].flags & (RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG),
			 RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG);
	assert_int_equal(trace[synack].flags & (RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG),
			 RTE_TCP_ECE_FLAG);
	assert_int_equal(trace[syn].ecn, 0);
	tcp_conn_get_info(a->c, &ia);
	tcp_conn_get_info(b->c, &ib);
	assert_true(ia.ecn && ib.ecn);
	b->read = true;
	app_send(a, 10 * 1448);
	run(100000);
	assert_int_equal(b->rx, 10 * 1448);
	for (unsigned int k = (unsigned int)synack + 1; k < ntrace; k++) {
		assert_int_equal(trace[k].ecn, trace[k].len > 0 ? 2 : 0);
		assert_int_equal(trace[k].flags & (RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG), 0);
	}
}

/* The listener does not ask for ECN: A's SYN offers it, the SYN-ACK declines,
 * and nothing is ECN-capable. */
static void test_ecn_declined(void **state)
{
	struct tcp_conn_info ia, ib;
	struct app *a, *b = &apps[1][0];
	int synack;

	(void)state;
	listen_b(NULL);
	a = connect_a(0, &ecn_on);
	run(10000);
	synack = find_seg(1, 0, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
	assert_true(synack >= 0);
	assert_int_equal(trace[synack].flags & RTE_TCP_ECE_FLAG, 0);
	tcp_conn_get_info(a->c, &ia);
	tcp_conn_get_info(b->c, &ib);
	assert_false(ia.ecn || ib.ecn);
	b->read = true;
	app_send(a, 4 * 1448);
	run(50000);
	assert_int_equal(b->rx, 4 * 1448);
	for (unsigned int k = (unsigned int)synack + 1; k < ntrace; k++)
		assert_int_equal(trace[k].ecn, 0);
}

/* The link marks every tenth new data segment A -> B CE (a queue under an AQM). */
static bool mark_ce(int dir, struct rte_mbuf *m, void *arg)
{
	unsigned int *n = arg;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct seg_rec r;

	seg_of(m, &r);
	if (dir != 0 || r.len == 0 || r.ecn != 2 /* ECT(0) */ || ++*n % 10 != 0)
		return false;
	ip->type_of_service |= 3;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return false;
}

/*
 * RFC 3168 6.1.2-6.1.3: B echoes each CE with ECE until A's CWR; A reduces
 * its window at most once per window of data, says CWR, and retransmits
 * nothing (a mark is not a loss).
 */
static void test_ecn_ce_echo(void **state)
{
	unsigned int seen = 0, ece = 0, cwr = 0;

	(void)state;
	listen_b(&ecn_on);
	connect_a(0, &ecn_on);
	run(10000);
	S.delay_us = 2000;
	S.filter = mark_ce;
	S.filter_arg = &seen;
	transfer(1u << 20, 0, 5000000);
	assert_true(apps[0][0].closed && apps[1][0].closed);
	assert_int_equal(apps[1][0].rx, 1u << 20);
	assert_false(apps[1][0].bad_data);
	for (unsigned int k = 0; k < ntrace; k++) {
		ece += trace[k].from == 1 && (trace[k].flags & RTE_TCP_ECE_FLAG) &&
		       !(trace[k].flags & RTE_TCP_SYN_FLAG);
		cwr += trace[k].from == 0 && (trace[k].flags & RTE_TCP_CWR_FLAG) &&
		       !(trace[k].flags & RTE_TCP_SYN_FLAG);
	}
	assert_true(seen > 50);
	assert_int_equal(stat(1, STAT_TCP_ECN_CE_IN), seen / 10);
	assert_true(ece >= stat(1, STAT_TCP_ECN_CE_IN));
	assert_true(stat(0, STAT_TCP_ECN_REDUCTIONS) > 0);
	assert_true(stat(0, STAT_TCP_ECN_REDUCTIONS) <= stat(1, STAT_TCP_ECN_CE_IN));
	assert_int_equal(cwr, stat(0, STAT_TCP_ECN_REDUCTIONS));
	assert_int_equal(stat(0, STAT_TCP_RETRANSMITS), 0);
	assert_int_equal(stat(0, STAT_TCP_FAST_RECOVERIES), 0);
}

/* A FIN that overtakes the last data is kept until the gap fills: no repeat needed. */
static void test_fin_out_of_order(void **state)
{
	struct app *a, *b = &apps[1][0];
	uint32_t counts[TCP_STATE_MAX];

	(void)state;
	listen_b(NULL);
	S.delay_us = 5000;
	a = connect_a(0, NULL);
	run(20000);
	b->read = true;
	app_send(a, 1000);
	run(1000);	    /* the data is on the link */
	tcp_shutdown(a->c); /* the FIN follows in a segment of its own */
	assert_int_equal(S.n[1], 2);
	S.swap_next[1] = true; /* and arrives first */
	run(6000);
	assert_int_equal(b->rx, 1000);
	assert_true(b->eof);
	tcp_state_counts(S.st[1], counts);
	assert_int_equal(counts[TCP_CLOSE_WAIT], 1);
	run(300000);
	assert_int_equal(stat(0, STAT_TCP_RETRANSMITS), 0);
}

static void test_odd_sized_sends(void **state)
{
	static const uint32_t sizes[] = {1, 3, 13, 333, 1001, 7, 1447, 2001, 5, 65};
	struct app *a, *b = &apps[1][0];
	uint32_t total = 0;

	(void)state;
	listen_b(NULL);
	a = connect_a(0, NULL);
	run(10000);
	b->read = true;
	for (unsigned int r = 0; r < 50; r++)
		for (unsigned int i = 0; i < RTE_DIM(sizes); i++) {
			app_send(a, sizes[i]);
			total += sizes[i];
		}
	run(2000000);
	assert_int_equal(stat(1, STAT_DROP_TCP_BAD_CSUM), 0);
	assert_int_equal(stat(0, STAT_TCP_RETRANSMITS), 0);
	assert_int_equal(b->rx, total);
	assert_false(b->bad_data);
}

/* ---- memory under 1-byte floods (issue 16: tcp.h "Memory") ---- */

/* A's side of the link is cut: B's ACKs do not reach A's stack, whose sequence
 * numbers the forged flood would not match */
static bool drop_from_b(int dir, struct rte_mbuf *m, void *arg)
{
	(void)m;
	(void)arg;
	return dir == 1;
}

/* One forged 1-byte segment of the pattern at stream offset @p off from A's
 * tuple @p ia to B (in the window: B takes it). */
static void flood_byte(const struct tcp_conn_info *ia, uint32_t off)
{
	struct rte_mbuf *m =
		forge(ia, ia->snd_nxt + off, ia->rcv_nxt, RTE_TCP_ACK_FLAG, NULL, 0, 1);
	uint8_t *p = rte_pktmbuf_mtod_offset(m, uint8_t *, 40);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	*p = pattern(off);
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	assert_true(tcp_input(S.st[1], m, S.now));
}

/* A connection A -> B whose reader (B) does not read yet; returns A's view. */
static struct app *flood_setup(struct tcp_conn_info *ia, const struct tcp_params *pb)
{
	struct app *a;

	listen_b(pb);
	a = connect_a(0, NULL);
	run(10000);
	assert_non_null(apps[1][0].c);
	tcp_conn_get_info(a->c, ia);
	S.filter = drop_from_b;
	return a;
}

/* The mbufs a connection's queues may hold at most (tcp.h: 2 x rcvbuf + 16 KB). */
static unsigned int flood_mbufs_max(uint32_t rcvbuf)
{
	return (unsigned int)((2 * rcvbuf + 16384) / TRUESIZE + 1);
}

static void test_flood_in_order(void **state)
{
	const uint32_t n = 60000; /* more than the window: the window must close */
	struct tcp_params pb = {.rcvbuf = 32768};
	struct app *b = &apps[1][0];
	struct tcp_conn_info ia, ib;
	unsigned int base, peak = 0;
	struct tcp_mem_info mi;

	(void)state;
	flood_setup(&ia, &pb);
	base = rte_mempool_in_use_count(pool);
	for (uint32_t k = 0; k < n; k++) {
		flood_byte(&ia, k);
		peak = RTE_MAX(peak, rte_mempool_in_use_count(pool) - base);
	}
	tcp_conn_get_info(b->c, &ib);
	/* the window closed at the buffer: 32 KB taken, the rest refused */
	assert_int_equal(ib.recv_queued, 32768);
	assert_int_equal(ib.rcv_wnd, 0);
	assert_int_equal(stat(1, STAT_DROP_TCP_OUT_OF_WINDOW), n - 32768);
	/* collapsed into ~2 KB buffers: 32768 one-byte segments in a few mbufs
	 * (before: one mbuf each, 32768 of them) */
	assert_true(stat(1, STAT_TCP_RCV_COLLAPSED) >= 32768 - 32768 / 1024);
	assert_true(ib.recv_segs <= 32768 / 1024 + 1);
	assert_true(ib.recv_mem <= ib.recv_segs * TRUESIZE);
	assert_true(peak <= 32768 / 1024 + 8); /* + ACKs on the link */
	tcp_mem_get(S.st[1], &mi);
	assert_int_equal(mi.used, ib.recv_mem + ib.send_mem);
	/* the reader reads: every byte in order, the window opens, the flood goes on */
	b->read = true;
	app_read(b, b->c);
	assert_int_equal(b->rx, 32768);
	assert_false(b->bad_data);
	tcp_mem_get(S.st[1], &mi);
	assert_int_equal(mi.used, 0);
	tcp_conn_get_info(b->c, &ib);
	assert_int_equal(ib.rcv_wnd, 32768);
	for (uint32_t k = 32768; k < 40000; k++)
		flood_byte(&ia, k);
	assert_int_equal(b->rx, 40000);
	assert_false(b->bad_data);
}

static void test_flood_out_of_order(void **state)
{
	const uint32_t n = 30000; /* every other byte: 60 KB of sequence space */
	struct app *b = &apps[1][0];
	struct tcp_conn_info ia, ib;
	const unsigned int max = flood_mbufs_max(256 * 1024);
	unsigned int base, peak = 0;
	struct tcp_mem_info mi;

	(void)state;
	flood_setup(&ia, NULL); /* the default 256 KiB buffer */
	base = rte_mempool_in_use_count(pool);
	/* byte 0 missing, then 1, 3, 5, ...: nothing in order, nothing contiguous */
	for (uint32_t k = 0; k < n; k++) {
		flood_byte(&ia, 1 + 2 * k);
		peak = RTE_MAX(peak, rte_mempool_in_use_count(pool) - base);
	}
	tcp_conn_get_info(b->c, &ib);
	/* held: what the connection's memory bound allows (before: all 30000) */
	assert_true(ib.ooo_segs >= max - 2 && ib.ooo_segs <= max);
	assert_true(peak <= max + 8);
	assert_int_equal(stat(1, STAT_DROP_TCP_OOO_MEMORY), n - ib.ooo_segs);
	assert_int_equal(stat(1, STAT_TCP_OOO_SEGS), ib.ooo_segs);
	tcp_mem_get(S.st[1], &mi);
	assert_int_equal(mi.used, ib.ooo_mem);
	assert_true(mi.peak <= (uint64_t)max * TRUESIZE);
	/* byte 0 in order: the highest out-of-order byte makes room for it */
	b->read = true;
	flood_byte(&ia, 0);
	assert_int_equal(stat(1, STAT_TCP_OOO_PRUNED), 1);
	assert_int_equal(b->rx, 2); /* 0 and 1 */
	/* the holes filled in order: the rest comes out in order */
	for (uint32_t k = 1; k < ib.ooo_segs - 1; k++)
		flood_byte(&ia, 2 * k);
	assert_int_equal(b->rx, 2 * (ib.ooo_segs - 1));
	assert_false(b->bad_data);
	tcp_conn_get_info(b->c, &ib);
	assert_int_equal(ib.ooo_segs, 0);
	tcp_mem_get(S.st[1], &mi);
	assert_true(mi.used <= TRUESIZE);
}

/* frames from B to port @p arg of A are lost (the flooder's ACKs) */
static bool drop_to_port(int dir, struct rte_mbuf *m, void *arg)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	return dir == 1 && (p[22] << 8 | p[23]) == *(const uint16_t *)arg;
}

static void test_flood_stack_pressure(void **state)
{
	struct app *x, *xb = &apps[1][0], *fb = &apps[1][1];
	struct tcp_conn_info ix, iF, ib;
	struct tcp_mem_info mi;
	struct tcp_conn *f;
	uint32_t edge;
	uint16_t fport;

	(void)state;
	listen_b(NULL);
	assert_non_null(tcp_listen(S.st[1], &addr_b, 81, NULL, &cbs, (void *)(uintptr_t)1));
	x = connect_a(0, NULL);
	f = tcp_connect(S.st[0], &addr_a, &addr_b, 81, NULL, &cbs, &apps[0][1], S.now);
	assert_non_null(f);
	apps[0][1].c = f;
	run(10000);
	assert_non_null(xb->c);
	assert_non_null(fb->c);
	tcp_conn_get_info(f, &iF);
	fport = iF.lport;
	S.filter = drop_to_port;
	S.filter_arg = &fport;
	/* one flooder fills the stack with out-of-order bytes up to the low-water mark */
	for (uint32_t k = 0; k < 2000; k++)
		flood_byte(&iF, 1 + 2 * k);
	tcp_mem_get(S.st[1], &mi);
	assert_int_equal(mi.limit, 200 * TRUESIZE);
	assert_int_equal(mi.used, mi.pressure);
	assert_true(mi.peak <= mi.pressure);
	assert_int_equal(stat(1, STAT_TCP_MEM_PRESSURE), 1);
	assert_int_equal(stat(1, STAT_DROP_TCP_OOO_MEMORY), 2000 - 150);
	/* the other connection's windows stop opening: it sends what was
	 * announced, all of it taken (the quarter above the mark is for that),
	 * and then waits with its right edge where it was */
	tcp_conn_get_info(xb->c, &ib);
	edge = ib.rcv_nxt + ib.rcv_wnd;
	xb->read = true;
	x->tx_total = 600000;
	app_push(x);
	for (int k = 0; k < 100; k++) {
		uint32_t e;

		run(10000);
		tcp_conn_get_info(xb->c, &ib);
		/* never back; forward only by the window scaling's rounding up */
		e = ib.rcv_nxt + ib.rcv_wnd;
		assert_true((int32_t)(e - edge) >= 0 && e - edge < 8);
		edge = e;
	}
	assert_int_equal(ib.rcv_wnd, 0);
	assert_int_equal(xb->rx, edge - (ib.irs + 1));
	assert_true(xb->rx < 600000);
	assert_int_equal(stat(1, STAT_DROP_TCP_RCV_MEMORY), 0);
	tcp_mem_get(S.st[1], &mi);
	assert_true(mi.peak <= mi.limit);
	/* the flooder goes: memory comes back, the window opens (the sender's
	 * zero-window probe learns it) and the transfer completes */
	tcp_abort(fb->c);
	fb->c = NULL;
	tcp_mem_get(S.st[1], &mi);
	assert_int_equal(mi.used, 0);
	for (int k = 0; k < 200 && xb->rx < 600000; k++)
		run(10000);
	assert_int_equal(xb->rx, 600000);
	assert_false(xb->bad_data);
	run(100000);
	tcp_conn_get_info(x->c, &ix);
	assert_int_equal(ix.send_queued, 0);
}

/*
 * What a connection costs, guarded: struct tcp_conn stays within
 * TCP_CONN_STRUCT_MAX (exact), the slot (object + table share, measured on
 * the heap by tcp_conn_footprint(), which varies by some 15 % with the
 * heap's state) within TCP_CONN_BYTES_MAX, and an idle established
 * connection holds no buffer memory and no mbuf. A change that grows the
 * connection past a bound fails here: raise it only with a reason (and the
 * figures in docs/ARCHITECTURE.md and bench/README.md).
 */
#define TCP_CONN_STRUCT_MAX 640	 /* 576 now: one cache line of slack */
#define TCP_CONN_BYTES_MAX  1024 /* 809 to 937 measured */

static void test_conn_footprint(void **state)
{
	struct tcp_mem_info mi;
	unsigned int base;

	(void)state;
	listen_b(NULL);
	base = rte_mempool_in_use_count(pool);
	for (unsigned int i = 0; i < APP_MAX; i++)
		connect_a(i, NULL);
	run(10000);
	assert_int_equal(count_state(0, TCP_ESTABLISHED), APP_MAX);
	assert_true(sizeof(struct tcp_conn) <= TCP_CONN_STRUCT_MAX);
	assert_true(tcp_conn_footprint(S.st[0]) <= TCP_CONN_BYTES_MAX);
	assert_true(tcp_conn_footprint(S.st[1]) <= TCP_CONN_BYTES_MAX);
	for (int i = 0; i < 2; i++) {
		tcp_mem_get(S.st[i], &mi);
		assert_int_equal(mi.used, 0);
	}
	assert_int_equal(rte_mempool_in_use_count(pool), base);
}

static void test_many_connections(void **state)
{
	static const struct tcp_callbacks cbs_many = {
		.accepted = cb_accepted_many,
		.connected = cb_connected,
		.readable = cb_readable,
		.writable = cb_writable,
		.closed = cb_closed,
	};
	uint32_t ca[TCP_STATE_MAX], cb[TCP_STATE_MAX];

	(void)state;
	memset(many, 0, sizeof(many));
	many_accepted = 0;
	assert_non_null(tcp_listen(S.st[1], &addr_b, 80, NULL, &cbs_many, NULL));
	S.delay_us = 1000;
	for (unsigned int k = 0; k < MANY; k++) {
		struct app *a = &many[0][k];

		a->read = true;
		a->c = tcp_connect(S.st[0], &addr_a, &addr_b, 80, NULL, &cbs, a, S.now);
		assert_non_null(a->c);
	}
	run(20000);
	state_counts(0, ca);
	state_counts(1, cb);
	assert_int_equal(ca[TCP_ESTABLISHED], MANY);
	assert_int_equal(cb[TCP_ESTABLISHED], MANY);
	assert_int_equal(many_accepted, MANY);
	assert_int_equal(stat(1, STAT_TCP_COOKIES_SENT), 0);
	/* each client sends 3000 bytes and shuts down; each server closes on EOF */
	for (unsigned int k = 0; k < MANY; k++) {
		struct app *a = &many[0][k];

		a->tx_total = 3000;
		a->shutdown_after = true;
		app_push(a);
	}
	run(1000000);
	for (unsigned int k = 0; k < MANY; k++) {
		assert_true(many[0][k].closed);
		assert_int_equal(many[0][k].reason, TCP_CLOSE_NORMAL);
		assert_true(many[0][k].eof);
		assert_int_equal(many[1][k].rx, 3000);
		assert_false(many[1][k].bad_data);
		assert_true(many[1][k].eof);
		assert_false(many[1][k].closed); /* closed by the user */
	}
	state_counts(0, ca);
	state_counts(1, cb);
	assert_int_equal(ca[TCP_TIME_WAIT], MANY);
	for (int s = 0; s < TCP_STATE_MAX; s++)
		assert_int_equal(cb[s], 0);
	assert_int_equal(stat(1, STAT_TCP_CONNS_CLOSED), MANY);
	assert_int_equal(stat(0, STAT_TCP_RETRANSMITS) + stat(1, STAT_TCP_RETRANSMITS), 0);
	assert_int_equal(stat(0, STAT_TCP_RESETS_OUT) + stat(1, STAT_TCP_RESETS_OUT), 0);
	run(61000000);
	state_counts(0, ca);
	for (int s = 0; s < TCP_STATE_MAX; s++)
		assert_int_equal(ca[s], 0);
	assert_int_equal(stat(0, STAT_TCP_CONNS_CLOSED), MANY);
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
		cmocka_unit_test_setup_teardown(test_newreno_without_sack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_retransmit_one_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delayed_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nagle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodelay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_dead_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_live_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_wait_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_fin_wait_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pmtu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_buffer_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst_in_syn_received, setup, teardown),
		cmocka_unit_test_setup_teardown(test_synack_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_beyond_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_undo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tlp_tail_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tlp_late_not_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecn_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecn_declined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecn_ce_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_sized_sends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_stack_pressure, setup_tight_mem,
						teardown),
		cmocka_unit_test_setup_teardown(test_conn_footprint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_connections, setup_many, teardown),
	};

	test_eal_init();
	pool = rte_pktmbuf_pool_create("test_tcp", 65535, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
