/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <urcu-qsbr.h>

#include "../config/config.h"
#include "worker.h"

/* ICMP errors one worker may send per second (Linux's icmp_ratelimit is 1/ms). */
#define WORKER_ICMP_RATE 1000

/* Set by the control thread to end every worker loop. */
static int worker_stopping;

/*
 * Transmit what net queued for @p port_id. What the queue does not take stays
 * for the next call, unless @p final: then it is dropped and counted, so a
 * stuck port holds mbufs for one drain interval at most.
 */
static void worker_flush(struct worker *w, uint16_t port_id, bool final)
{
	struct net_out *o = &w->net.out[port_id];
	uint16_t sent;

	if (o->n == 0)
		return;
	sent = rte_eth_tx_burst(port_id, w->queue_id, o->pkts, o->n);
	stats_add(w->net.stats, STAT_TX_FRAMES, sent);
	if (sent == o->n) {
		o->n = 0;
		return;
	}
	if (final) {
		rte_pktmbuf_free_bulk(&o->pkts[sent], o->n - sent);
		stats_add(w->net.stats, STAT_DROP_TX_FULL, o->n - sent);
		o->n = 0;
		return;
	}
	memmove(o->pkts, &o->pkts[sent], (o->n - sent) * sizeof(o->pkts[0]));
	o->n -= sent;
}

static void worker_flush_all(struct worker *w, bool final)
{
	for (uint16_t i = 0; i < w->n_ports; i++)
		worker_flush(w, w->port_ids[i], final);
}

/*
 * The poll loop. One iteration is one QSBR quiescent state: the snapshot pointer
 * read at its top is not used after rcu_quiescent_state(), and not while offline.
 */
static int worker_main(void *arg)
{
	struct worker *w = arg;
	struct rte_mbuf *pkts[256];
	const uint64_t hz = rte_get_tsc_hz();
	uint64_t last_drain = rte_rdtsc();
	uint32_t idle = 0;

	rcu_register_thread();
	while (!__atomic_load_n(&worker_stopping, __ATOMIC_RELAXED)) {
		const struct cfg_snapshot *snap = cfg_snapshot_get();
		const struct cfg_tune *tune = &snap->tune;
		const uint64_t now = rte_rdtsc();
		unsigned int got = 0;

		for (uint16_t i = 0; i < w->n_ports; i++) {
			uint16_t port_id = w->port_ids[i];
			uint16_t n = rte_eth_rx_burst(port_id, w->queue_id, pkts, tune->rx_burst);

			if (n == 0)
				continue;
			got += n;
			stats_add(w->net.stats, STAT_RX_FRAMES, n);
			net_input(&w->net, snap, port_id, pkts, n, now);
		}

		if (now - last_drain >= tune->drain_us * hz / 1000000) {
			net_timer(&w->net, snap, now);
			l4_timer(&w->l4, &w->net, snap, now);
			worker_flush_all(w, true);
			last_drain = now;
		} else {
			for (uint16_t i = 0; i < w->n_ports; i++)
				if (w->net.out[w->port_ids[i]].n >= tune->tx_burst)
					worker_flush(w, w->port_ids[i], false);
		}

		stats_inc(w->net.stats, STAT_WORKER_LOOPS);
		if (got != 0) {
			idle = 0;
		} else if (tune->idle == CFG_IDLE_SLEEP && ++idle >= tune->idle_polls) {
			const uint32_t sleep_us = tune->idle_sleep_us;

			/* Nothing may be held across the offline period: packets
			 * waiting for a next hop stay (they hold no snapshot). */
			worker_flush_all(w, true);
			rcu_thread_offline();
			usleep(sleep_us);
			rcu_thread_online();
			stats_inc(w->net.stats, STAT_WORKER_IDLE_SLEEPS);
			continue; /* online again: re-read the snapshot */
		}
		rcu_quiescent_state();
	}
	worker_flush_all(w, true);
	rcu_unregister_thread();
	return 0;
}

int worker_set_init(struct worker_set *ws, unsigned int n, const uint16_t *port_ids,
		    uint16_t n_ports, struct neigh_table *neigh, struct rte_mempool *pool,
		    struct l4_global *l4, uint32_t flow_capacity)
{
	unsigned int lcore_id, i = 0;

	memset(ws, 0, sizeof(*ws));
	if (n == 0 || n_ports > CFG_MAX_PORTS)
		return -EINVAL;
	ws->w = rte_zmalloc("workers", sizeof(*ws->w) * n, RTE_CACHE_LINE_SIZE);
	ws->stats = rte_zmalloc("worker_stats", sizeof(*ws->stats) * n, RTE_CACHE_LINE_SIZE);
	if (ws->w == NULL || ws->stats == NULL) {
		worker_set_free(ws);
		return -ENOMEM;
	}
	ws->n = n;
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
		if (rc != 0) {
			worker_set_free(ws);
			return rc;
		}
		w->net.l4_hook = l4_input;
		w->net.l4_ctx = &w->l4;
		i++;
	}
	if (i != n) {
		worker_set_free(ws);
		return -ENODEV;
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
	for (unsigned int i = 0; i < ws->n; i++)
		net_worker_release(&ws->w[i].net);
}

void worker_set_free(struct worker_set *ws)
{
	for (unsigned int i = 0; ws->w != NULL && i < ws->n; i++)
		l4_worker_release(&ws->w[i].l4);
	rte_free(ws->w);
	rte_free(ws->stats);
	memset(ws, 0, sizeof(*ws));
}

uint64_t worker_set_stat(const struct worker_set *ws, enum stats_id id)
{
	return stats_sum(ws->stats, ws->n, id);
}
