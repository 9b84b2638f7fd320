/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * worker: the run-to-completion poll loop of one worker lcore.
 *
 * Each iteration: read the live config snapshot, rx_burst every port's queue
 * owned by this worker, hand the frames to net_input(), transmit what net queued
 * (buffered: a port's output is flushed once tx_burst frames wait or drain_us
 * passed), run net_timer() and l4_timer() every drain interval, then
 * rcu_quiescent_state().
 * When the tune says CFG_IDLE_SLEEP, idle_polls empty iterations put the worker
 * RCU-offline for idle_sleep_us. The loop counts itself in the worker's stats
 * (worker_loops, worker_idle_sleeps), so busy/idle ratios show in meshctl stats.
 *
 * Threads: worker_main() runs on its worker lcore; worker_stop() and the read
 * accessors run on the control thread (or the admin HTTP thread).
 */
#ifndef MESHDP_WORKER_H
#define MESHDP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "../l4/l4.h"
#include "../net/net.h"
#include "../stats/stats.h"

struct worker {
	struct net_worker net;
	struct l4_worker l4;
	unsigned int id; /* 0..n-1 */
	unsigned int lcore_id;
	uint16_t queue_id; /* RX and TX queue this worker owns on every port */
	uint16_t n_ports;
	uint16_t port_ids[CFG_MAX_PORTS];
} __rte_cache_aligned;

/** All workers, their counters in one array so that summing reads them in order. */
struct worker_set {
	unsigned int n;
	struct worker *w;	   /* [n] */
	struct stats_block *stats; /* [n], w[i].net.stats == &stats[i] */
};

/**
 * Allocate @p n workers on the EAL worker lcores, each owning queue i of every
 * port in @p port_ids and a flow table of @p flow_capacity flows for the L4
 * path. Control thread, before the ports start.
 * @return 0 or a negative errno.
 */
int worker_set_init(struct worker_set *ws, unsigned int n, const uint16_t *port_ids,
		    uint16_t n_ports, struct neigh_table *neigh, struct rte_mempool *pool,
		    struct l4_global *l4, uint32_t flow_capacity);

/** Launch every worker on its lcore. */
int worker_set_launch(struct worker_set *ws);

/** Ask every worker to stop and wait for them; releases what they held. */
void worker_set_stop(struct worker_set *ws);

/** Free the set (after worker_set_stop()). */
void worker_set_free(struct worker_set *ws);

/** Sum counter @p id over all workers. */
uint64_t worker_set_stat(const struct worker_set *ws, enum stats_id id);

#endif
