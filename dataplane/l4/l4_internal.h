/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * l4 private: the runtime objects that l4.c binds to a snapshot and that
 * l4_show.c reads for meshctl and the metrics. Only files of dataplane/l4
 * include this header.
 */
#ifndef MESHDP_L4_INTERNAL_H
#define MESHDP_L4_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_ring.h>

#include "../endpoint/endpoint.h"
#include "../lb/lb.h"
#include "../limit/limit.h"
#include "l4.h"

/* One worker's shares of a service's packet-rate buckets (see limit.h): written
 * by that worker only, a cache line apart from the other workers'. */
struct l4_limit_share {
	struct limit_share svc_pkt;
	struct limit_src_cache src_pkt;
} __attribute__((aligned(64)));

/* Runtime of one service, per snapshot. Built by the control thread before
 * publish; maglev is swapped by RCU later (l4_control_tick), the rest is
 * read-only after publish except the atomics noted. */
struct l4_svc_rt {
	struct lb_maglev *maglev; /* rcu_dereference(); control thread replaces it */
	struct lb_backend *backends;
	struct ep_state **eps;
	uint8_t *usable;       /* control thread: usability the table was built with */
	int64_t *rr;	       /* [n_workers][n]: smooth WRR state per worker */
	struct ep_group group; /* ejected count: workers (atomic) */
	struct ep_limits limits;
	uint64_t hc_interval_tsc; /* 0: no active checks */
	uint64_t hc_timeout_tsc;
	struct limit_bucket svc_conn; /* service-scope buckets: workers (CAS) */
	struct limit_bucket svc_pkt;
	struct limit_rate_tsc svc_conn_rate, svc_pkt_rate, src_conn_rate, src_pkt_rate;
	/* per-source buckets, NULL without a source limit; l4_control_tick() removes
	 * idle sources */
	struct limit_table *src_table;
	struct l4_limit_share *shares; /* [n_workers] with a packet limit, else NULL */
	bool limit_svc_conn, limit_svc_pkt, limit_src_conn, limit_src_pkt;
	uint8_t limit_svc_reset, limit_src_reset;
};

struct l4_snap_rt {
	struct l4_global *g;
	uint32_t n_services;
	struct l4_svc_rt *svc; /* [n_services] */
	/* For steering (more than one worker): which (address, port, protocol)
	 * are endpoints, and the full-NAT source addresses. */
	struct rte_hash *ep_hash; /* struct l4_ep_key -> present; NULL: none */
	uint32_t n_snat;
	uint32_t *snat;		 /* IPv4, network byte order */
	struct flow_timeouts to; /* flows.timeouts_s in TSC cycles */
	/* VIP address (IPv4, network order) -> 1 + index of a service on it: TCP
	 * to a VIP's undeclared port is reset when that service says so. */
	struct rte_hash *vip_addrs;
	/* Health answers: endpoints by the probe slot of their state (the answer's
	 * destination port - L4_HC_PORT_BASE). hc_first[slot] and hc_next[i] are
	 * indexes into snap->endpoints, UINT32_MAX ends a chain. The schedule and
	 * the probe in flight live in the endpoint's state, not here, so that they
	 * survive config swaps. */
	uint32_t *hc_first; /* [L4_HC_PORT_SLOTS] */
	uint32_t *hc_next;  /* [snap->n_endpoints] */
};

/* Key of l4_snap_rt.ep_hash; zeroed before filling. */
struct l4_ep_key {
	uint32_t addr; /* network byte order */
	uint16_t port; /* network byte order */
	uint8_t proto;
	uint8_t pad;
};

struct l4_global {
	struct ep_registry *eps;
	uint16_t n_workers;
	uint64_t tsc_hz;
	/* Hand-off: a worker that receives a packet of a flow another worker
	 * owns passes the whole frame to it (multi-producer, single-consumer). */
	struct rte_ring *handoff[RTE_MAX_LCORE];
	uint64_t handoff_flag;	 /* mbuf dynflag: "already handed off once" */
	uint64_t limit_sweep_at; /* control thread: TSC of the next per-source limit sweep */
};

#endif
