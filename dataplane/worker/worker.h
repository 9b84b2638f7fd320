/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * worker: the run-to-completion poll loop of one worker lcore.
 *
 * Each iteration: read the live config snapshot, rx_burst every port's queue
 * owned by this worker, hand the frames to net_input(), then take the frames
 * other workers handed over (mesh mode, flows this worker owns), transmit what net queued
 * (buffered: a port's output is flushed once tx_burst frames wait, at once when
 * the RX poll returned less than a full burst, and after drain_us at the latest), run net_timer() and l4_timer() every drain interval, then
 * rcu_quiescent_state().
 * When the tune says CFG_IDLE_SLEEP, idle_polls empty iterations put the worker
 * RCU-offline for idle_sleep_us. The loop counts itself in the worker's stats
 * (worker_loops, worker_idle_sleeps) and its TSC cycles as busy (the iteration
 * received or sent a frame) or idle (worker_busy_cycles, worker_idle_cycles),
 * so busy/idle ratios and busy CPU per request show in meshctl stats.
 *
 * Threads: worker_main() runs on its worker lcore; worker_stop() and the read
 * accessors run on the control thread (or the admin HTTP thread).
 *
 * Mailbox: the flow table and the TCP stack belong to their worker, so meshctl's
 * flow and TCP connection listings are requests the worker answers itself
 * (struct worker_mailbox, one mechanism for every kind of request:
 * worker_set_dump()). The TCP stack's state counts
 * are read directly (worker_tcp_state_counts(), relaxed atomics).
 */
#ifndef MESHDP_WORKER_H
#define MESHDP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "../l4/l4.h"
#include "../net/net.h"
#include "../proxy/proxy.h"
#include "../stats/stats.h"

/** What a mailbox request asks the worker for. */
enum worker_req_kind {
	WORKER_REQ_FLOWS,     /* l4_flows_dump(): struct l4_flow_info records */
	WORKER_REQ_TCP_CONNS, /* the proxy's TCP stack: struct tcp_conn_info records */
	WORKER_REQ_TLS_CONNS, /* the proxy's TLS connections: struct tls_conn_info records */
};

/** Flow-table slots a worker's loop iteration visits for a flow listing. */
#define WORKER_DUMP_BUDGET 1024

/**
 * A listing request, picked up by the worker at its next drain tick.
 * req: 0 idle; 1 posted (control thread: fields filled, then a release store);
 * 2 claimed (worker: compare-and-swap 1 -> 2). A flow listing then goes on a
 * step per loop iteration (WORKER_DUMP_BUDGET slots each, progress in dump),
 * so that a table of millions of flows never stalls the worker; once done the
 * worker fills count and more, stores req = 0 and then done = 1 (release). The
 * control thread may withdraw a posted request (CAS 1 -> 0) but must wait for
 * a claimed one, as the worker writes into the control thread's buffer.
 */
struct worker_mailbox {
	uint32_t req;
	uint32_t done;	     /* worker: 1 (release) once count and more are valid */
	uint32_t running;    /* worker: 1 while its loop runs (release stores) */
	uint32_t kind;	     /* control: enum worker_req_kind */
	int32_t filter;	     /* control: flows: service index in the live snapshot;
				     tcp conns: enum tcp_state; -1: all */
	uint32_t max;	     /* control: records out[] holds */
	uint32_t count;	     /* worker: records written */
	bool more;	     /* worker: more records matched than fitted */
	void *out;	     /* control thread's buffer of max records of the kind */
	struct l4_dump dump; /* worker: a flow listing's progress while claimed */
};

struct worker {
	struct net_worker net;
	struct l4_worker l4;
	struct proxy_worker *proxy; /* tcp_proxy listeners and the TCP stack */
	unsigned int id;	    /* 0..n-1 */
	unsigned int lcore_id;
	uint16_t queue_id; /* RX and TX queue this worker owns on every port */
	uint16_t n_ports;
	uint16_t port_ids[CFG_MAX_PORTS];
	struct worker_mailbox mbox __rte_cache_aligned;
} __rte_cache_aligned;

/** All workers, their counters in one array so that summing reads them in order. */
struct worker_set {
	unsigned int n;
	struct worker *w;	    /* [n] */
	struct stats_block *stats;  /* [n], w[i].net.stats == &stats[i] */
	struct proxy_global *proxy; /* binds the proxies' listener objects to snapshots */
};

/**
 * Allocate @p n workers on the EAL worker lcores, each owning queue i of every
 * port in @p port_ids, a flow table of @p flow_capacity flows for the L4
 * path and a TCP stack of @p tcp_capacity connections for the proxies (and
 * ws->proxy, to bind their listeners to snapshots). Control thread, before the ports start.
 * @return 0 or a negative errno.
 */
int worker_set_init(struct worker_set *ws, unsigned int n, const uint16_t *port_ids,
		    uint16_t n_ports, struct neigh_table *neigh, struct rte_mempool *pool,
		    struct l4_global *l4, uint32_t flow_capacity, uint32_t tcp_capacity);

/** Launch every worker on its lcore. */
int worker_set_launch(struct worker_set *ws);

/** Ask every worker to stop and wait for them; releases what they held. */
void worker_set_stop(struct worker_set *ws);

/** Free the set (after worker_set_stop(), and after every snapshot bound with ws->proxy). */
void worker_set_free(struct worker_set *ws);

/**
 * Control thread: ask every worker for up to @p max records of @p kind and
 * wait for the answers: flows (struct l4_flow_info; @p filter a service index
 * of the live snapshot, -1: all) or TCP connections (struct tcp_conn_info,
 * all states but LISTEN; @p filter an enum tcp_state, -1: all; a worker
 * without a TCP stack answers none). The control thread publishes snapshots
 * itself and is busy here, so every worker answers from the live snapshot.
 * out[i] (room for @p max records) and count[i] are worker i's; more[i] says
 * whether it had more.
 * @param timeout_ms how long to wait for a worker that has not picked up its
 *        request; one that has is always waited for (its walk is bounded: a
 *        flow table's capacity / WORKER_DUMP_BUDGET loop iterations)
 * @param failed set to the worker that did not answer, on error
 * @return 0; -ESRCH a worker's loop is not running; -ETIMEDOUT a worker did
 *         not pick up the request in time; -EBUSY a request is still in flight
 */
int worker_set_dump(struct worker_set *ws, enum worker_req_kind kind, int32_t filter,
		    void *const *out, unsigned int max, unsigned int *count, bool *more,
		    unsigned int timeout_ms, unsigned int *failed);

/**
 * Worker lcore (its loop calls this at a drain tick when req is 1, and at every
 * iteration while it is 2): claim the posted request of @p w's mailbox, or take
 * the next step of the claimed one, from @p snap, the snapshot the loop
 * iteration runs with (the control thread publishes none while it waits for
 * the answers). Exported so that tests can stand in for a worker loop.
 */
void worker_mailbox_serve(struct worker *w, const struct cfg_snapshot *snap, uint64_t now);

/**
 * Connections of @p w's TCP stack in each state, into @p counts[TCP_STATE_MAX]
 * (all zero when it has none). Any thread while the workers exist (until
 * worker_set_stop()): relaxed atomic loads, see tcp_state_counts().
 */
void worker_tcp_state_counts(const struct worker *w, uint32_t *counts);

/** Sum counter @p id over all workers. */
uint64_t worker_set_stat(const struct worker_set *ws, enum stats_id id);

struct control_cmd_set;

/** meshctl stats (worker_commands.c; control thread). */
extern const struct control_cmd_set worker_commands;

#endif
