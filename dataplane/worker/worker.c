/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <urcu-qsbr.h>

#include "../config/config.h"
#include "worker.h"

/* ICMP errors one worker may send per second (Linux's icmp_ratelimit is 1/ms). */
#define WORKER_ICMP_RATE 1000

/* Set by the control thread to end every worker loop. */
static int worker_stopping;

/*
 * Transmit what net queued for @p port_id. What the TX queue does not take
 * stays queued for the next call (back-pressure rather than loss); only when
 * net's output array for the port is full does net drop, counted as
 * drop_tx_full, so a stuck port holds at most NET_OUT_MAX frames.
 */
static uint16_t worker_flush(struct worker *w, uint16_t port_id)
{
	struct net_out *o = &w->net.out[port_id];
	uint16_t sent;

	if (o->n == 0)
		return 0;
	sent = rte_eth_tx_burst(port_id, w->queue_id, o->pkts, o->n);
	stats_add(w->net.stats, STAT_TX_FRAMES, sent);
	if (sent != o->n)
		memmove(o->pkts, &o->pkts[sent], (o->n - sent) * sizeof(o->pkts[0]));
	o->n -= sent;
	return sent;
}

/* @return the frames the ports took */
static unsigned int worker_flush_all(struct worker *w)
{
	unsigned int sent = 0;

	for (uint16_t i = 0; i < w->n_ports; i++)
		sent += worker_flush(w, w->port_ids[i]);
	return sent;
}

/*
 * Up to @p max connections of the worker's TCP stack in @p state (-1: any).
 * The walk goes on past the last one that fits only to learn whether another
 * one matches; it is bounded by the stack's capacity.
 */
static unsigned int worker_tcp_conns(struct worker *w, int32_t state, struct tcp_conn_info *out,
				     unsigned int max, bool *more)
{
	struct tcp_stack *ts = w->proxy != NULL ? proxy_tcp_stack(w->proxy) : NULL;
	struct tcp_conn_info spare;
	uint32_t cursor = 0;
	unsigned int n = 0;

	*more = false;
	if (ts == NULL)
		return 0;
	for (;;) {
		struct tcp_conn_info *slot = n < max ? &out[n] : &spare;

		if (tcp_conns_dump(ts, slot, 1, &cursor) == 0)
			break;
		if (state >= 0 && slot->state != (enum tcp_state)state)
			continue;
		if (n == max) {
			*more = true;
			break;
		}
		n++;
	}
	return n;
}

void worker_mailbox_serve(struct worker *w, const struct cfg_snapshot *snap, uint64_t now)
{
	struct worker_mailbox *mb = &w->mbox;
	uint32_t posted = 1;
	bool more = false;

	if (__atomic_load_n(&mb->req, __ATOMIC_RELAXED) != 2) {
		if (!__atomic_compare_exchange_n(&mb->req, &posted, 2, false, __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			return; /* withdrawn by the control thread, or none */
		memset(&mb->dump, 0, sizeof(mb->dump));
	}
	switch (mb->kind) {
	case WORKER_REQ_FLOWS:
		if (!l4_flows_dump(&w->l4, snap, mb->filter, mb->out, mb->max, now,
				   WORKER_DUMP_BUDGET, &mb->dump))
			return; /* the next step at the next loop iteration */
		mb->count = mb->dump.n;
		more = mb->dump.more;
		break;
	case WORKER_REQ_TCP_CONNS:
		mb->count = worker_tcp_conns(w, mb->filter, mb->out, mb->max, &more);
		break;
	case WORKER_REQ_TLS_CONNS:
		mb->count = proxy_tls_conns(w->proxy, mb->out, mb->max, &more);
		break;
	default:
		mb->count = 0;
		break;
	}
	mb->more = more;
	__atomic_store_n(&mb->req, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&mb->done, 1, __ATOMIC_RELEASE);
}

/*
 * The poll loop. One iteration is one QSBR quiescent state: the snapshot pointer
 * read at its top is not used after rcu_quiescent_state(), and not while offline.
 *
 * Busy CPU accounting: the TSC read at the top of an iteration closes the
 * previous one, whose cycles go to worker_busy_cycles when it received or
 * sent a frame, else to worker_idle_cycles (sleeps are idle: the cycles up
 * to a sleep are charged before it, one more TSC read). Timer work that
 * sends nothing counts as idle; timer work that queues frames is busy by the
 * flush that sends them. Busy CPU per request = delta busy / TSC Hz / delta
 * requests.
 */
static int worker_main(void *arg)
{
	struct worker *w = arg;
	struct rte_mbuf *pkts[256];
	const uint64_t hz = rte_get_tsc_hz();
	uint64_t last_drain = rte_rdtsc();
	uint64_t prev = last_drain;
	bool busy = false;
	uint32_t idle = 0;

	rcu_register_thread();
	__atomic_store_n(&w->mbox.running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&worker_stopping, __ATOMIC_RELAXED)) {
		const struct cfg_snapshot *snap = cfg_snapshot_get();
		const struct cfg_tune *tune = &snap->tune;
		const uint64_t now = rte_rdtsc();
		unsigned int got = 0, sent = 0;

		stats_add(w->net.stats, busy ? STAT_WORKER_BUSY_CYCLES : STAT_WORKER_IDLE_CYCLES,
			  now - prev);
		prev = now;
		proxy_begin(w->proxy, snap, now);

		for (uint16_t i = 0; i < w->n_ports; i++) {
			uint16_t port_id = w->port_ids[i];
			uint16_t n = rte_eth_rx_burst(port_id, w->queue_id, pkts, tune->rx_burst);

			if (n == 0)
				continue;
			got += n;
			stats_add(w->net.stats, STAT_RX_FRAMES, n);
			net_input(&w->net, snap, port_id, pkts, n, now);
		}
		/* frames of flows this worker owns, received by another one */
		got += l4_handoff_poll(&w->l4, &w->net, snap, now);
		/* a flow listing in progress: one budgeted step per iteration */
		if (unlikely(__atomic_load_n(&w->mbox.req, __ATOMIC_RELAXED) == 2))
			worker_mailbox_serve(w, snap, now);

		if (now - last_drain >= tune->drain_us * hz / 1000000) {
			net_timer(&w->net, snap, now);
			l4_timer(&w->l4, &w->net, snap, now);
			proxy_timer(w->proxy, now);
			if (unlikely(__atomic_load_n(&w->mbox.req, __ATOMIC_RELAXED) == 1))
				worker_mailbox_serve(w, snap, now);
			sent = worker_flush_all(w);
			last_drain = now;
		} else {
			/* Under load, wait for full TX bursts; when the RX side saw
			 * less than a full burst the traffic is light and holding
			 * frames back would only add latency. */
			const uint16_t want = got < tune->rx_burst ? 1 : tune->tx_burst;

			for (uint16_t i = 0; i < w->n_ports; i++)
				if (w->net.out[w->port_ids[i]].n >= want)
					sent += worker_flush(w, w->port_ids[i]);
		}

		stats_inc(w->net.stats, STAT_WORKER_LOOPS);
		busy = got != 0 || sent != 0;
		if (got != 0) {
			idle = 0;
		} else if (tune->idle == CFG_IDLE_SLEEP && ++idle >= tune->idle_polls) {
			const uint32_t sleep_us = tune->idle_sleep_us;

			/* Send what waits before sleeping (queued frames and
			 * packets waiting for a next hop hold no snapshot). */
			if (worker_flush_all(w) != 0 || busy) {
				const uint64_t t = rte_rdtsc();

				stats_add(w->net.stats, STAT_WORKER_BUSY_CYCLES, t - prev);
				prev = t;
			}
			busy = false; /* the sleep is idle */
			rcu_thread_offline();
			usleep(sleep_us);
			rcu_thread_online();
			stats_inc(w->net.stats, STAT_WORKER_IDLE_SLEEPS);
			continue; /* online again: re-read the snapshot */
		}
		rcu_quiescent_state();
	}
	worker_flush_all(w);
	__atomic_store_n(&w->mbox.running, 0, __ATOMIC_RELEASE);
	rcu_unregister_thread();
	return 0;
}

int worker_set_init(struct worker_set *ws, unsigned int n, const uint16_t *port_ids,
		    uint16_t n_ports, struct neigh_table *neigh, struct rte_mempool *pool,
		    struct l4_global *l4, uint32_t flow_capacity, uint32_t tcp_capacity)
{
	unsigned int lcore_id, i = 0;
	uint8_t secret[16]; /* one for all workers: a SYN cookie may come back to another */
	uint64_t tcp_mem;

	for (unsigned int k = 0; k < sizeof(secret); k += 8) {
		uint64_t r = rte_rand();

		memcpy(secret + k, &r, 8);
	}

	memset(ws, 0, sizeof(*ws));
	if (n == 0 || n > RTE_MAX_LCORE || n_ports > CFG_MAX_PORTS)
		return -EINVAL;
	ws->w = rte_zmalloc("workers", sizeof(*ws->w) * n, RTE_CACHE_LINE_SIZE);
	ws->stats = rte_zmalloc("worker_stats", sizeof(*ws->stats) * n, RTE_CACHE_LINE_SIZE);
	if (ws->w == NULL || ws->stats == NULL) {
		worker_set_free(ws);
		return -ENOMEM;
	}
	ws->n = n;
	/* the TCP stacks' buffers (tcp.h "Memory"): half of what the ports'
	 * receive rings left in the pool, shared by the workers; the other half
	 * stays for frames being received and sent */
	tcp_mem = (uint64_t)rte_mempool_avail_count(pool) * pool->elt_size / 2 / n;
	RTE_LCORE_FOREACH_WORKER(lcore_id)
	{
		struct worker *w = &ws->w[i];
		int rc;

		if (i == n)
			break;
		w->id = i;
		w->lcore_id = lcore_id;
		w->queue_id = (uint16_t)i;
		w->n_ports = n_ports;
		memcpy(w->port_ids, port_ids, n_ports * sizeof(port_ids[0]));
		rc = net_worker_init(&w->net, &ws->stats[i], neigh, pool, rte_get_tsc_hz(),
				     WORKER_ICMP_RATE);
		if (rc == 0)
			rc = l4_worker_init(&w->l4, l4, &ws->stats[i], (uint16_t)i, (uint16_t)n,
					    flow_capacity, (int)rte_lcore_to_socket_id(lcore_id));
		if (rc == 0) {
			w->proxy = proxy_worker_create(
				&w->net, &w->l4, &ws->stats[i], (uint16_t)i, tcp_capacity,
				(int)rte_lcore_to_socket_id(lcore_id), secret, tcp_mem);
			if (w->proxy == NULL)
				rc = -rte_errno;
		}
		if (rc != 0) {
			worker_set_free(ws);
			return rc;
		}
		w->net.l4_hook = l4_input_burst;
		w->net.l4_ctx = &w->l4;
		i++;
	}
	if (i != n) {
		worker_set_free(ws);
		return -ENODEV;
	}
	{
		struct proxy_worker *pws[RTE_MAX_LCORE];

		for (i = 0; i < n; i++)
			pws[i] = ws->w[i].proxy;
		ws->proxy = proxy_global_create(pws, n);
	}
	if (ws->proxy == NULL) {
		worker_set_free(ws);
		return -ENOMEM;
	}
	return 0;
}

int worker_set_launch(struct worker_set *ws)
{
	__atomic_store_n(&worker_stopping, 0, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < ws->n; i++) {
		int rc = rte_eal_remote_launch(worker_main, &ws->w[i], ws->w[i].lcore_id);

		if (rc != 0) {
			worker_set_stop(ws);
			return rc;
		}
	}
	return 0;
}

void worker_set_stop(struct worker_set *ws)
{
	__atomic_store_n(&worker_stopping, 1, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	for (unsigned int i = 0; i < ws->n; i++) {
		/* the proxy's connections first: their RSTs are not sent */
		proxy_worker_free(ws->w[i].proxy);
		ws->w[i].proxy = NULL;
		net_worker_release(&ws->w[i].net);
	}
}

void worker_set_free(struct worker_set *ws)
{
	for (unsigned int i = 0; ws->w != NULL && i < ws->n; i++) {
		proxy_worker_free(ws->w[i].proxy);
		l4_worker_release(&ws->w[i].l4);
	}
	proxy_global_free(ws->proxy);
	rte_free(ws->w);
	rte_free(ws->stats);
	memset(ws, 0, sizeof(*ws));
}

/* Control thread: is worker @p w's request answered? Withdraws it when @p give_up
 * and the worker has not claimed it. @return 1 answered, 0 not yet, -1 withdrawn. */
static int worker_mailbox_poll(struct worker *w, bool give_up)
{
	uint32_t posted = 1;

	if (__atomic_load_n(&w->mbox.done, __ATOMIC_ACQUIRE))
		return 1;
	if (give_up && __atomic_compare_exchange_n(&w->mbox.req, &posted, 0, false,
						   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return -1;
	return 0;
}

int worker_set_dump(struct worker_set *ws, enum worker_req_kind kind, int32_t filter,
		    void *const *out, unsigned int max, unsigned int *count, bool *more,
		    unsigned int timeout_ms, unsigned int *failed)
{
	unsigned int waited_ms = 0, left = 0;
	bool posted[RTE_MAX_LCORE] = {false};
	int rc = 0;

	*failed = 0;
	if (ws->n > RTE_MAX_LCORE)
		return -EINVAL;
	for (unsigned int i = 0; i < ws->n; i++) {
		struct worker_mailbox *mb = &ws->w[i].mbox;

		*failed = i;
		if (!__atomic_load_n(&mb->running, __ATOMIC_ACQUIRE))
			return -ESRCH;
		if (__atomic_load_n(&mb->req, __ATOMIC_ACQUIRE) != 0)
			return -EBUSY;
	}
	for (unsigned int i = 0; i < ws->n; i++) {
		struct worker_mailbox *mb = &ws->w[i].mbox;

		mb->done = 0;
		mb->kind = kind;
		mb->filter = filter;
		mb->max = max;
		mb->out = out[i];
		mb->count = 0;
		mb->more = false;
		__atomic_store_n(&mb->req, 1, __ATOMIC_RELEASE);
		posted[i] = true;
		left++;
	}
	/*
	 * Poll with 1 ms sleeps. This blocks the control thread (the socket and
	 * the 100 ms ticks) for as long as the slowest worker takes to reach its
	 * next drain tick, normally well under a millisecond, at most timeout_ms
	 * for a worker that does not pick the request up.
	 */
	while (left > 0) {
		bool give_up = waited_ms >= timeout_ms;

		for (unsigned int i = 0; i < ws->n; i++) {
			int r;

			if (!posted[i])
				continue;
			r = worker_mailbox_poll(&ws->w[i], give_up);
			if (r == 0)
				continue;
			posted[i] = false;
			left--;
			if (r == 1) {
				count[i] = ws->w[i].mbox.count;
				more[i] = ws->w[i].mbox.more;
			} else {
				count[i] = 0;
				more[i] = false;
				if (rc == 0) {
					*failed = i;
					rc = -ETIMEDOUT;
				}
			}
		}
		if (left > 0) {
			usleep(1000);
			waited_ms++;
		}
	}
	return rc;
}

void worker_tcp_state_counts(const struct worker *w, uint32_t *counts)
{
	if (w == NULL || w->proxy == NULL) {
		memset(counts, 0, TCP_STATE_MAX * sizeof(*counts));
		return;
	}
	tcp_state_counts(proxy_tcp_stack(w->proxy), counts);
}

uint64_t worker_set_stat(const struct worker_set *ws, enum stats_id id)
{
	return stats_sum(ws->stats, ws->n, id);
}
