/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack object, its connection table and pool, listeners, and the user
 * API that is not segment processing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_random.h>

#include "tcp_internal.h"

#define TCP_RCVBUF_DEFAULT  (256u * 1024)
#define TCP_SNDBUF_DEFAULT  (256u * 1024)
#define TCP_BACKLOG_DEFAULT 1024
#define TCP_SYN_RETRIES	    5

static const char *const tcp_state_names[] = {
#define TCP_STATE_NAME(e, s) s,
	TCP_STATES(TCP_STATE_NAME)
#undef TCP_STATE_NAME
};

const char *tcp_state_name(enum tcp_state s)
{
	return (unsigned int)s < TCP_STATE_MAX ? tcp_state_names[s] : "?";
}

struct tcp_stack *tcp_stack_create(const struct tcp_stack_conf *conf)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {0};
	struct rte_malloc_socket_stats heap;
	size_t heap_before;
	struct tcp_stack *ts;

	if (conf->max_conns == 0 || conf->pool == NULL || conf->output == NULL ||
	    conf->stats == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (tcp_seq_dynfield_register() < 0)
		return NULL;
	ts = rte_zmalloc_socket("tcp_stack", sizeof(*ts), RTE_CACHE_LINE_SIZE,
				(int)conf->socket_id);
	if (ts == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	/* names are unique per process: tests create several stacks per worker id */
	rte_malloc_get_socket_stats((int)conf->socket_id, &heap);
	heap_before = heap.heap_allocsz_bytes;
	snprintf(name, sizeof(name), "tcp%u_%p", conf->worker_id, (void *)ts);
	hp.name = name;
	hp.entries = RTE_MAX(conf->max_conns, 8u);
	hp.key_len = sizeof(struct tcp_tuple);
	hp.hash_func = rte_hash_crc;
	hp.socket_id = (int)conf->socket_id;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	ts->conns = rte_hash_create(&hp);
	if (ts->conns == NULL)
		goto fail;
	snprintf(name, sizeof(name), "tcc%u_%p", conf->worker_id, (void *)ts);
	/* never DMA'd: no IOVA-contiguous objects needed (saves ~16 % on 4 KB pages) */
	ts->conn_pool = rte_mempool_create(name, conf->max_conns, sizeof(struct tcp_conn), 0, 0,
					   NULL, NULL, NULL, NULL, (int)conf->socket_id,
					   RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET |
						   RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (ts->conn_pool == NULL)
		goto fail;
	/* what a connection costs: the table and the pool, per slot */
	rte_malloc_get_socket_stats((int)conf->socket_id, &heap);
	ts->conn_bytes = (heap.heap_allocsz_bytes - heap_before) / conf->max_conns;
	ts->pool = conf->pool;
	/* by default half the pool: the rest stays for the ports' rings and
	 * what is being sent */
	ts->mem_limit = conf->mem_limit != 0
				? conf->mem_limit
				: (uint64_t)conf->pool->size * conf->pool->elt_size / 2;
	ts->mem_pressure = ts->mem_limit - ts->mem_limit / 4;
	ts->stats = conf->stats;
	ts->output = conf->output;
	ts->output_ctx = conf->output_ctx;
	ts->port_ok = conf->port_ok;
	ts->port_ok_ctx = conf->port_ok_ctx;
	if (conf->secret != NULL)
		memcpy(ts->secret, conf->secret, TCP_SECRET_LEN);
	else
		for (unsigned int i = 0; i < TCP_SECRET_LEN; i += 8) {
			uint64_t r = rte_rand();

			memcpy(ts->secret + i, &r, 8);
		}
	LIST_INIT(&ts->listeners);
	for (unsigned int i = 0; i < TCP_WHEEL_SLOTS; i++)
		LIST_INIT(&ts->wheel[i]);
	ts->now_us = conf->now_us;
	ts->wheel_now = conf->now_us / TCP_WHEEL_TICK_US;
	ts->challenge_tokens = TCP_CHALLENGE_PER_SEC;
	ts->challenge_sec = conf->now_us / 1000000;
	return ts;
fail:
	rte_hash_free(ts->conns);
	rte_free(ts);
	rte_errno = ENOMEM;
	return NULL;
}

/* Abort every connection: closed callbacks run, and may abort others. */
static void tcp_stack_abort_all(struct tcp_stack *ts)
{
	struct tcp_conn **all;
	const void *key;
	void *data;
	uint32_t it, n;

	while ((n = (uint32_t)rte_hash_count(ts->conns)) > 0) {
		all = rte_malloc("tcp_abort_all", sizeof(*all) * n, 0);
		if (all == NULL) {
			/* no memory for the list: one at a time, from the start */
			it = 0;
			if (rte_hash_iterate(ts->conns, &key, &data, &it) < 0)
				return;
			tcp_conn_done(data, TCP_CLOSE_ABORTED);
			tcp_conn_free(data);
			continue;
		}
		/* held, the connections stay valid whatever the callbacks free */
		it = 0;
		for (uint32_t i = 0; i < n && rte_hash_iterate(ts->conns, &key, &data, &it) >= 0;
		     i++) {
			all[i] = data;
			tcp_conn_hold(all[i]);
		}
		for (uint32_t i = 0; i < n; i++) {
			if (!tcp_conn_dead(all[i]))
				tcp_conn_done(all[i], TCP_CLOSE_ABORTED);
			tcp_conn_free(all[i]);
		}
		for (uint32_t i = 0; i < n; i++)
			tcp_conn_release(all[i]);
		rte_free(all);
	}
}

void tcp_stack_free(struct tcp_stack *ts)
{
	struct tcp_listener *l;

	if (ts == NULL)
		return;
	tcp_stack_abort_all(ts);
	while ((l = LIST_FIRST(&ts->listeners)) != NULL)
		tcp_unlisten(l);
	rte_hash_free(ts->conns);
	rte_mempool_free(ts->conn_pool);
	rte_free(ts->ports);
	rte_free(ts);
}

void tcp_mq_append(struct tcp_mq *q, struct rte_mbuf *head, struct rte_mbuf *tail, uint32_t bytes,
		   uint32_t segs, uint32_t mem)
{
	if (head == NULL)
		return;
	tail->next = NULL;
	if (q->tail != NULL)
		q->tail->next = head;
	else
		q->head = head;
	q->tail = tail;
	q->bytes += bytes;
	q->nsegs += segs;
	q->mem += mem;
}

void tcp_mq_purge(struct tcp_mq *q)
{
	struct rte_mbuf *m = q->head;

	while (m != NULL) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	memset(q, 0, sizeof(*q));
}

void tcp_mem_note(struct tcp_stack *ts, uint64_t used)
{
	if (used > ts->mem_peak)
		__atomic_store_n(&ts->mem_peak, used, __ATOMIC_RELAXED);
	if (!ts->in_pressure && used >= ts->mem_pressure) {
		ts->in_pressure = true;
		stats_inc(ts->stats, STAT_TCP_MEM_PRESSURE);
	} else if (ts->in_pressure && used < ts->mem_limit / 2) {
		ts->in_pressure = false;
	}
}

void tcp_mem_get(const struct tcp_stack *ts, struct tcp_mem_info *info)
{
	info->used = __atomic_load_n(&ts->mem_used, __ATOMIC_RELAXED);
	info->peak = __atomic_load_n(&ts->mem_peak, __ATOMIC_RELAXED);
	info->limit = ts->mem_limit;
	info->pressure = ts->mem_pressure;
}

/*
 * The worker is the only writer of state_count[]; other threads read it
 * (tcp_state_counts()), so each element is written with a relaxed atomic
 * store: readers never see a torn value, and the worker pays no lock prefix.
 */
static inline void tcp_state_count_add(struct tcp_stack *ts, unsigned int s, int32_t d)
{
	__atomic_store_n(&ts->state_count[s],
			 __atomic_load_n(&ts->state_count[s], __ATOMIC_RELAXED) + (uint32_t)d,
			 __ATOMIC_RELAXED);
}

struct tcp_conn *tcp_conn_alloc(struct tcp_stack *ts, const struct tcp_tuple *t)
{
	struct tcp_conn *c;

	if (rte_mempool_get(ts->conn_pool, (void **)&c) != 0)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->tuple = *t;
	c->ts = ts;
	if (rte_hash_add_key_data(ts->conns, &c->tuple, c) != 0) {
		rte_mempool_put(ts->conn_pool, c);
		return NULL;
	}
	c->flags = TCP_F_IN_TABLE;
	c->state = TCP_CLOSED;
	tcp_state_count_add(ts, TCP_CLOSED, 1);
	tcp_rtt_init(&c->rtt);
	tcp_board_init(&c->board);
	c->dupthresh = TCP_DUPTHRESH;
	tcp_ooo_init(&c->ooo);
	c->last_rx_us = ts->now_us;
	c->last_tx_us = ts->now_us;
	return c;
}

void tcp_conn_set_state(struct tcp_conn *c, enum tcp_state s)
{
	struct tcp_stack *ts = c->ts;

	tcp_state_count_add(ts, c->state, -1);
	tcp_state_count_add(ts, s, 1);
	if (c->state == TCP_SYN_RECEIVED && (c->flags & TCP_F_HALF_OPEN)) {
		c->flags &= ~TCP_F_HALF_OPEN;
		if (c->listener != NULL)
			c->listener->half_open--;
	}
	c->state = (uint8_t)s;
}

static void tcp_conn_unlink(struct tcp_conn *c)
{
	if (c->flags & TCP_F_IN_TABLE) {
		rte_hash_del_key(c->ts->conns, &c->tuple);
		c->flags &= ~TCP_F_IN_TABLE;
	}
	tcp_timer_remove(c);
	if (c->flags & TCP_F_HALF_OPEN) {
		c->flags &= ~TCP_F_HALF_OPEN;
		if (c->listener != NULL)
			c->listener->half_open--;
	}
}

static void tcp_conn_destroy(struct tcp_conn *c)
{
	struct tcp_stack *ts = c->ts;

	tcp_state_count_add(ts, c->state, -1);
	tcp_mem_charge(ts, -(int64_t)(c->sndq.mem + tcp_rcv_mem(c)));
	tcp_mq_purge(&c->sndq);
	tcp_mq_purge(&c->rcvq);
	tcp_ooo_purge(&c->ooo);
	stats_inc(ts->stats, STAT_TCP_CONNS_CLOSED);
	rte_mempool_put(ts->conn_pool, c);
}

void tcp_conn_free(struct tcp_conn *c)
{
	if (c->flags & TCP_F_FREE_PENDING)
		return;
	tcp_conn_unlink(c);
	c->flags |= TCP_F_FREE_PENDING | TCP_F_USER_GONE;
	if (c->hold == 0)
		tcp_conn_destroy(c);
}

bool tcp_conn_release(struct tcp_conn *c)
{
	if (--c->hold == 0 && (c->flags & TCP_F_FREE_PENDING)) {
		tcp_conn_destroy(c);
		return false;
	}
	return !(c->flags & TCP_F_FREE_PENDING);
}

void tcp_conn_done(struct tcp_conn *c, enum tcp_close_reason reason)
{
	if (!(c->flags & TCP_F_PASSIVE) && c->state == TCP_SYN_SENT)
		stats_inc(c->ts->stats, STAT_TCP_CONNS_FAILED);
	if ((c->flags & (TCP_F_USER_GONE | TCP_F_ESTABLISHED)) != TCP_F_ESTABLISHED) {
		c->flags |= TCP_F_USER_GONE;
		return;
	}
	c->flags |= TCP_F_USER_GONE;
	tcp_conn_hold(c);
	c->cb->closed(c, c->arg, reason);
	tcp_conn_release(c);
}

struct tcp_conn *tcp_conn_lookup(struct tcp_stack *ts, const struct tcp_tuple *t)
{
	void *data;

	if (rte_hash_lookup_data(ts->conns, t, &data) < 0)
		return NULL;
	return data;
}

static bool tcp_addr_matches(const struct tcp_addr *a, const struct tcp_tuple *t)
{
	static const uint8_t zero[16];

	if (a->family != t->family)
		return false;
	if (a->family == 4)
		return a->v4 == 0 || memcmp(&a->v4, t->laddr, 4) == 0;
	return memcmp(a->v6, zero, 16) == 0 || memcmp(a->v6, t->laddr, 16) == 0;
}

struct tcp_listener *tcp_listener_find(struct tcp_stack *ts, const struct tcp_tuple *t)
{
	struct tcp_listener *l, *any = NULL;

	LIST_FOREACH(l, &ts->listeners, link)
	{
		if (l->port != t->lport || !tcp_addr_matches(&l->addr, t))
			continue;
		if ((l->addr.family == 4 && l->addr.v4 != 0) || l->addr.family == 6)
			return l; /* a specific address wins over a wildcard */
		any = l;
	}
	return any;
}

void tcp_conn_apply_params(struct tcp_conn *c, const struct tcp_params *p)
{
	c->rcvbuf = p->rcvbuf != 0 ? p->rcvbuf : TCP_RCVBUF_DEFAULT;
	c->sndbuf = p->sndbuf != 0 ? p->sndbuf : TCP_SNDBUF_DEFAULT;
	if (p->nodelay)
		c->flags |= TCP_F_NODELAY;
	if (p->ecn)
		c->flags |= TCP_F_ECN_OK;
	c->ka_idle_ms = p->keepalive_idle_ms;
	c->ka_intvl_ms = p->keepalive_intvl_ms != 0 ? p->keepalive_intvl_ms : 75000;
	c->ka_probes_max =
		(uint8_t)(p->keepalive_probes != 0 ? RTE_MIN(p->keepalive_probes, 255u) : 9);
	c->syn_retries =
		(uint8_t)(p->syn_retries != 0 ? RTE_MIN(p->syn_retries, 255u) : TCP_SYN_RETRIES);
	/* the smallest shift that lets the buffer be announced (RFC 7323 2.2) */
	c->rcv_wscale = 0;
	while (c->rcv_wscale < TCP_MAX_WSCALE && (c->rcvbuf >> c->rcv_wscale) > 65535)
		c->rcv_wscale++;
	c->cc.algo = p->cc;
}

struct tcp_listener *tcp_listen(struct tcp_stack *ts, const struct tcp_addr *addr, uint16_t port,
				const struct tcp_params *params, const struct tcp_callbacks *cb,
				void *arg)
{
	struct tcp_listener *l;

	LIST_FOREACH(l, &ts->listeners, link)
	if (l->port == rte_cpu_to_be_16(port) && l->addr.family == addr->family &&
	    memcmp(&l->addr, addr, sizeof(*addr)) == 0) {
		rte_errno = EEXIST;
		return NULL;
	}
	l = rte_zmalloc("tcp_listener", sizeof(*l), 0);
	if (l == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	l->ts = ts;
	l->addr = *addr;
	l->port = rte_cpu_to_be_16(port);
	if (params != NULL)
		l->params = *params;
	if (l->params.syn_backlog == 0)
		l->params.syn_backlog = TCP_BACKLOG_DEFAULT;
	l->cb = cb;
	l->arg = arg;
	LIST_INSERT_HEAD(&ts->listeners, l, link);
	return l;
}

void tcp_unlisten(struct tcp_listener *l)
{
	const void *key;
	void *data;
	uint32_t it = 0;

	/* connections keep running; they just forget the listener */
	while (rte_hash_iterate(l->ts->conns, &key, &data, &it) >= 0) {
		struct tcp_conn *c = data;

		if (c->listener == l) {
			if (c->flags & TCP_F_HALF_OPEN)
				l->half_open--;
			c->flags &= ~TCP_F_HALF_OPEN;
			c->listener = NULL;
		}
	}
	LIST_REMOVE(l, link);
	rte_free(l);
}

int tcp_stack_set_ports(struct tcp_stack *ts, const uint16_t *ports, uint32_t n)
{
	uint32_t *p = NULL;

	if (n > 0) {
		p = rte_malloc("tcp_ports", sizeof(*p) * n, 0);
		if (p == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < n; i++)
			p[i] = ports[i];
	}
	rte_free(ts->ports);
	ts->ports = p;
	ts->n_ports = n;
	ts->next_port = n > 0 ? (uint32_t)(rte_rand() % n) : 0;
	return 0;
}

static void tcp_tuple_make(struct tcp_tuple *t, const struct tcp_addr *l, uint16_t lport,
			   const struct tcp_addr *r, uint16_t rport)
{
	memset(t, 0, sizeof(*t));
	t->family = l->family;
	if (l->family == 4) {
		memcpy(t->laddr, &l->v4, 4);
		memcpy(t->raddr, &r->v4, 4);
	} else {
		memcpy(t->laddr, l->v6, 16);
		memcpy(t->raddr, r->v6, 16);
	}
	t->lport = rte_cpu_to_be_16(lport);
	t->rport = rte_cpu_to_be_16(rport);
}

struct tcp_conn *tcp_connect(struct tcp_stack *ts, const struct tcp_addr *laddr,
			     const struct tcp_addr *raddr, uint16_t rport,
			     const struct tcp_params *params, const struct tcp_callbacks *cb,
			     void *arg, uint64_t now_us)
{
	static const struct tcp_params defaults;
	struct tcp_conn *c = NULL;
	struct tcp_tuple t;

	if (laddr->family != raddr->family || (laddr->family != 4 && laddr->family != 6)) {
		rte_errno = EINVAL;
		return NULL;
	}
	ts->now_us = now_us;
	for (uint32_t tries = 0; tries < ts->n_ports && c == NULL; tries++) {
		uint16_t port = (uint16_t)ts->ports[ts->next_port];

		ts->next_port = (ts->next_port + 1) % ts->n_ports;
		if (ts->port_ok != NULL && !ts->port_ok(ts->port_ok_ctx, laddr, port, raddr, rport))
			continue;
		tcp_tuple_make(&t, laddr, port, raddr, rport);
		if (tcp_conn_lookup(ts, &t) != NULL)
			continue;
		c = tcp_conn_alloc(ts, &t);
		if (c == NULL) {
			rte_errno = ENOMEM;
			return NULL;
		}
	}
	if (c == NULL) {
		rte_errno = EADDRNOTAVAIL;
		return NULL;
	}
	tcp_conn_apply_params(c, params != NULL ? params : &defaults);
	c->cb = cb;
	c->arg = arg;
	c->flags |= TCP_F_ESTABLISHED; /* the user holds the handle from now on */
	c->iss = tcp_isn(ts->secret, &c->tuple, now_us);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->recover = c->iss; /* RFC 6582 3.2: "recover" starts at the ISS */
	c->ecn_recover = c->iss;
	c->sndq_seq = c->iss + 1;
	{
		/* RFC 7323 5.4: an offset of its own per connection, yet a keyed
		 * hash of the tuple (as the ISN, RFC 6528) rather than a random
		 * number, so that a new incarnation of the same tuple sends newer
		 * timestamps and the peer may end its TIME_WAIT early (RFC 6191).
		 * 44 bytes: a message apart from the ISN's (40) and cookies' (48). */
		uint8_t msg[sizeof(c->tuple) + 4] = {0};

		memcpy(msg, &c->tuple, sizeof(c->tuple));
		msg[sizeof(c->tuple)] = 'T';
		c->ts_offset = (uint32_t)tcp_siphash(ts->secret, msg, sizeof(msg));
	}
	c->mss = tcp_local_mss(c->tuple.family);
	c->rcv_mss = c->mss;
	tcp_cc_init(&c->cc, c->cc.algo, c->mss);
	tcp_conn_set_state(c, TCP_SYN_SENT);
	tcp_output(c);
	return c;
}

void tcp_set_arg(struct tcp_conn *c, void *arg)
{
	c->arg = arg;
}

uint32_t tcp_send_space(const struct tcp_conn *c)
{
	uint32_t bytes;

	if (c->flags & TCP_F_FIN_QUEUED)
		return 0;
	bytes = c->sndq.bytes < c->sndbuf ? c->sndbuf - c->sndq.bytes : 0;
	/* the memory room in payload terms, at the factor tcp_snd_mem_max()
	 * allows; smaller than the bytes' only when mem > 2 x bytes + slack */
	if (unlikely(c->sndq.mem > 2 * c->sndq.bytes + TCP_MEM_SLACK))
		bytes = RTE_MIN(bytes, c->sndq.mem < tcp_snd_mem_max(c)
					       ? (tcp_snd_mem_max(c) - c->sndq.mem) / 2
					       : 0);
	return bytes;
}

int tcp_send(struct tcp_conn *c, struct rte_mbuf *m)
{
	struct rte_mbuf *seg, *next;
	uint32_t bytes = 0, mem = c->sndq.mem;

	if ((c->flags & (TCP_F_FIN_QUEUED | TCP_F_USER_GONE)) || c->state == TCP_CLOSED ||
	    c->state == TCP_LISTEN) {
		rte_pktmbuf_free(m);
		return -EPIPE;
	}
	/* the chain becomes a list of single segments; empty ones are dropped,
	 * small ones copied into the tail's room (what tcp_proxy moves from a
	 * receive queue of 1-byte segments would pin an mbuf per byte) */
	for (seg = m; seg != NULL; seg = next) {
		struct rte_mbuf *tail = c->sndq.tail;

		next = seg->next;
		seg->next = NULL;
		seg->nb_segs = 1;
		seg->pkt_len = seg->data_len;
		if (seg->data_len == 0) {
			rte_pktmbuf_free_seg(seg);
			continue;
		}
		bytes += seg->data_len;
		if (tail != NULL && tcp_collapse_ok(tail, seg)) {
			uint32_t tail_seq = c->sndq_seq + c->sndq.bytes - tail->data_len;

			c->sndq.bytes += seg->data_len;
			tcp_collapse(tail, seg);
			stats_inc(c->ts->stats, STAT_TCP_SND_COLLAPSED);
			if (c->snd_cursor == NULL &&
			    SEQ_LT(c->snd_nxt, c->sndq_seq + c->sndq.bytes)) {
				/* snd_nxt was at the end of the queue: now in the tail */
				c->snd_cursor = tail;
				c->snd_cursor_seq = tail_seq;
			}
			continue;
		}
		tcp_mq_append(&c->sndq, seg, seg, seg->data_len, 1, tcp_truesize(seg));
		if (c->snd_cursor == NULL) {
			/* snd_nxt was at the end of the queue: it now points into the new data */
			c->snd_cursor = seg;
			c->snd_cursor_seq = c->sndq_seq + c->sndq.bytes - seg->data_len;
		}
	}
	tcp_mem_charge(c->ts, (int64_t)c->sndq.mem - (int64_t)mem);
	if (bytes == 0)
		return 0;
	if (tcp_send_space(c) == 0)
		c->flags |= TCP_F_WANT_WRITE;
	tcp_conn_hold(c);
	tcp_output(c);
	tcp_conn_release(c);
	return (int)bytes;
}

void tcp_conn_maybe_writable(struct tcp_conn *c)
{
	/* wake the writer once a quarter of the buffer is free, not per ACK */
	if ((c->flags & TCP_F_WANT_WRITE) && !(c->flags & TCP_F_USER_GONE) &&
	    tcp_send_space(c) >= c->sndbuf / 4) {
		c->flags &= ~TCP_F_WANT_WRITE;
		if (c->cb->writable != NULL)
			c->cb->writable(c, c->arg);
	}
}

struct rte_mbuf *tcp_recv(struct tcp_conn *c, uint32_t max)
{
	struct rte_mbuf *head = c->rcvq.head, *last = NULL;
	uint32_t bytes = 0, before, after, mem = c->rcvq.mem;
	uint16_t segs = 0;

	if (head == NULL)
		return NULL;
	before = tcp_rcv_window(c);
	while (c->rcvq.head != NULL && (segs == 0 || bytes + c->rcvq.head->data_len <= max) &&
	       segs < UINT16_MAX) {
		struct rte_mbuf *m = c->rcvq.head;

		bytes += m->data_len;
		segs++;
		tcp_mq_unlink_head(&c->rcvq);
		if (last != NULL)
			last->next = m;
		last = m;
	}
	tcp_mem_charge(c->ts, (int64_t)c->rcvq.mem - (int64_t)mem);
	head->nb_segs = segs;
	head->pkt_len = bytes;
	/* RFC 1122 4.2.3.3: announce the opened window once it grew by a
	 * segment or half the buffer (receiver-side SWS avoidance) */
	after = tcp_rcv_window(c);
	if (after >= before + 2u * c->rcv_mss || (before < c->rcvbuf / 2 && after >= c->rcvbuf / 2))
		tcp_send_ack(c);
	return head;
}

uint32_t tcp_recv_queued(const struct tcp_conn *c)
{
	return c->rcvq.bytes;
}

bool tcp_recv_eof(const struct tcp_conn *c)
{
	return (c->flags & TCP_F_FIN_RCVD) && c->rcvq.bytes == 0;
}

void tcp_shutdown(struct tcp_conn *c)
{
	if (c->flags & TCP_F_FIN_QUEUED)
		return;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		break;
	default:
		return;
	}
	c->flags |= TCP_F_FIN_QUEUED;
	c->fin_seq = c->sndq_seq + c->sndq.bytes;
	if (c->state == TCP_SYN_SENT)
		return; /* the FIN goes after the handshake */
	tcp_conn_set_state(c, c->state == TCP_CLOSE_WAIT ? TCP_LAST_ACK : TCP_FIN_WAIT_1);
	tcp_conn_hold(c);
	tcp_output(c);
	tcp_conn_release(c);
}

void tcp_abort(struct tcp_conn *c)
{
	if (c->flags & TCP_F_FREE_PENDING)
		return;
	c->flags |= TCP_F_USER_GONE;
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
		tcp_send_ctl(c, c->snd_nxt, RTE_TCP_RST_FLAG);
		break;
	default:
		break;
	}
	tcp_conn_free(c);
}

void tcp_close(struct tcp_conn *c)
{
	if (c->flags & TCP_F_FREE_PENDING)
		return;
	if (c->state == TCP_SYN_SENT || c->rcvq.bytes > 0 || c->ooo.bytes > 0) {
		/* nothing to finish, or data the user will never read: RST */
		tcp_abort(c);
		return;
	}
	c->flags |= TCP_F_USER_CLOSED | TCP_F_USER_GONE;
	tcp_shutdown(c);
	/* an orphan in FIN_WAIT_2 waits only so long for the peer's FIN */
	if (c->state == TCP_FIN_WAIT_2 && c->ka_at == 0) {
		c->ka_at = c->ts->now_us + TCP_FIN_WAIT_2_US;
		tcp_timer_update(c);
	}
}

void tcp_set_timer(struct tcp_conn *c, uint64_t delay_us)
{
	c->user_at = delay_us != 0 ? c->ts->now_us + delay_us : 0;
	tcp_timer_update(c);
}

static void tcp_addr_of(struct tcp_addr *a, const uint8_t *raw, uint8_t family)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	if (family == 4)
		memcpy(&a->v4, raw, 4);
	else
		memcpy(a->v6, raw, 16);
}

void tcp_conn_get_info(const struct tcp_conn *c, struct tcp_conn_info *info)
{
	memset(info, 0, sizeof(*info));
	tcp_addr_of(&info->laddr, c->tuple.laddr, c->tuple.family);
	tcp_addr_of(&info->raddr, c->tuple.raddr, c->tuple.family);
	info->lport = rte_be_to_cpu_16(c->tuple.lport);
	info->rport = rte_be_to_cpu_16(c->tuple.rport);
	info->state = (enum tcp_state)c->state;
	info->cc = c->cc.algo;
	info->snd_una = c->snd_una;
	info->snd_nxt = c->snd_nxt;
	info->snd_wnd = c->snd_wnd;
	info->rcv_nxt = c->rcv_nxt;
	info->rcv_wnd = c->rcv_adv - c->rcv_nxt;
	info->cwnd = c->cc.cwnd;
	info->ssthresh = c->cc.ssthresh;
	info->srtt_us = c->rtt.srtt_us;
	info->rto_us = tcp_rtt_rto(&c->rtt, c->backoff);
	info->mss = c->mss;
	info->send_queued = c->sndq.bytes;
	info->recv_queued = c->rcvq.bytes;
	info->ooo_queued = c->ooo.bytes;
	info->send_mem = c->sndq.mem;
	info->recv_mem = c->rcvq.mem;
	info->ooo_mem = c->ooo.mem;
	info->send_segs = c->sndq.nsegs;
	info->recv_segs = c->rcvq.nsegs;
	info->ooo_segs = c->ooo.nsegs;
	info->iss = c->iss;
	info->irs = c->irs;
	info->retransmits = c->retransmits;
	info->snd_wscale = c->snd_wscale;
	info->rcv_wscale = c->rcv_wscale;
	info->sack = (c->flags & TCP_F_SACK) != 0;
	info->timestamps = (c->flags & TCP_F_TS) != 0;
	info->in_recovery = (c->flags & TCP_F_RECOVERY) != 0;
	info->ecn = (c->flags & TCP_F_ECN) != 0;
}

uint32_t tcp_conns_dump(struct tcp_stack *ts, struct tcp_conn_info *out, uint32_t max,
			uint32_t *cursor)
{
	const void *key;
	void *data;
	uint32_t n = 0;

	while (n < max && rte_hash_iterate(ts->conns, &key, &data, cursor) >= 0)
		tcp_conn_get_info(data, &out[n++]);
	return n;
}

void tcp_state_counts(const struct tcp_stack *ts, uint32_t *counts)
{
	for (unsigned int s = 0; s < TCP_STATE_MAX; s++)
		counts[s] = __atomic_load_n(&ts->state_count[s], __ATOMIC_RELAXED);
}

size_t tcp_conn_footprint(const struct tcp_stack *ts)
{
	return ts->conn_bytes;
}
