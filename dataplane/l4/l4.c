/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The L4 path's entry points and lifetime: the process-wide and per-worker state
 * (create, init, release), binding runtime objects to a snapshot and the control
 * thread's tick (l4_bind(), l4_after_publish(), l4_control_tick()), and the
 * per-burst path (l4_input_burst(), l4_input_chunk()) with the worker's timer.
 * The established-flow fast path it inlines (l4_established(), parsing and the
 * NAT rewrite) lives in l4_internal.h so that l4_flow.c inlines the same code; the
 * rest of the work is split by concern: l4_flow.c (new flows), l4_icmp.c (packets
 * without ports), l4_steer.c (which worker owns a flow), l4_health.c (active
 * checks), l4_upstream.c (the proxies' API), l4_nat.c (resets).
 */

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_mbuf_dyn.h>
#include <rte_malloc.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <urcu-qsbr.h>

#include "../endpoint/endpoint.h"
#include "../lb/lb.h"
#include "../limit/limit.h"
#include "../log/log.h"
#include "l4.h"

#include "l4_internal.h"

struct l4_global *l4_global_create(uint16_t n_workers)
{
	struct l4_global *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->eps = ep_registry_create(L4_HC_PORT_SLOTS);
	if (g->eps == NULL) {
		free(g);
		return NULL;
	}
	g->n_workers = n_workers ? n_workers : 1;
	g->tsc_hz = rte_get_tsc_hz();
	if (g->n_workers > 1) {
		static const struct rte_mbuf_dynflag handed = {.name = "meshdp_l4_handoff"};
		int bit = rte_mbuf_dynflag_register(&handed);

		if (bit < 0) {
			ep_registry_free(g->eps);
			free(g);
			return NULL;
		}
		g->handoff_flag = 1ULL << bit;
	}
	return g;
}

void l4_global_free(struct l4_global *g)
{
	if (g == NULL)
		return;
	for (unsigned int i = 0; i < RTE_MAX_LCORE; i++) {
		struct rte_mbuf *m;

		if (g->handoff[i] == NULL)
			continue;
		while (rte_ring_dequeue(g->handoff[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(g->handoff[i]);
	}
	ep_registry_free(g->eps);
	free(g);
}

/* ---- control thread: binding runtime objects to a snapshot ---- */

/* Keeps the names of the tables bound to snapshots unique in the process (DPDK
 * names are global); control thread only. */
static unsigned int l4_name_seq;

static void l4_svc_rt_free(struct l4_svc_rt *rt)
{
	if (rt->maglev != NULL) {
		lb_maglev_free(rt->maglev);
		free(rt->maglev);
	}
	limit_table_free(rt->src_table);
	rte_free(rt->shares);
	free(rt->backends);
	free(rt->eps);
	free(rt->usable);
	free(rt->rr);
}

/* Frees what l4_bind() built and drops the snapshot's references to endpoint
 * states (they stay in the registry while another snapshot or a flow holds them). */
static void l4_rt_free(struct cfg_snapshot *snap)
{
	struct l4_snap_rt *srt = snap->l4_rt;

	if (srt == NULL)
		return;
	for (uint32_t i = 0; i < srt->n_services; i++) {
		for (uint32_t k = 0; srt->svc[i].eps != NULL && k < snap->services[i].n_endpoints;
		     k++)
			ep_registry_put(srt->g->eps, srt->svc[i].eps[k]);
		l4_svc_rt_free(&srt->svc[i]);
	}
	for (uint32_t i = 0; i < snap->n_listeners; i++)
		ep_registry_put(srt->g->eps, snap->listeners[i].rt);
	rte_free(srt->svc);
	free(srt->hc_first);
	free(srt->hc_next);
	rte_hash_free(srt->ep_hash);
	rte_hash_free(srt->vip_addrs);
	free(srt->snat);
	free(srt);
	snap->l4_rt = NULL;
}

static uint64_t l4_ms_tsc(const struct l4_global *g, uint64_t ms)
{
	return ms * g->tsc_hz / 1000;
}

static int l4_bind_limits(struct l4_global *g, const struct cfg_snapshot *snap,
			  const struct l4_service *sv, struct l4_svc_rt *rt)
{
	char name[32];

	if (sv->limit_service >= 0) {
		const struct l4_limit *l = &snap->limits[sv->limit_service];

		rt->limit_svc_reset = l->reject == L4_REJECT_RESET;
		if (l->connections_per_s != 0) {
			rt->limit_svc_conn = true;
			if (limit_rate_init(&rt->svc_conn_rate, l->connections_per_s,
					    l->connections_burst, g->tsc_hz) != 0)
				return -EINVAL;
		}
		if (l->packets_per_s != 0) {
			rt->limit_svc_pkt = true;
			if (limit_rate_init(&rt->svc_pkt_rate, l->packets_per_s, l->packets_burst,
					    g->tsc_hz) != 0)
				return -EINVAL;
		}
	}
	if (sv->limit_source >= 0) {
		const struct l4_limit *l = &snap->limits[sv->limit_source];

		rt->limit_src_reset = l->reject == L4_REJECT_RESET;
		if (l->connections_per_s != 0) {
			rt->limit_src_conn = true;
			if (limit_rate_init(&rt->src_conn_rate, l->connections_per_s,
					    l->connections_burst, g->tsc_hz) != 0)
				return -EINVAL;
		}
		if (l->packets_per_s != 0) {
			rt->limit_src_pkt = true;
			if (limit_rate_init(&rt->src_pkt_rate, l->packets_per_s, l->packets_burst,
					    g->tsc_hz) != 0)
				return -EINVAL;
		}
		snprintf(name, sizeof(name), "l4lim%u", l4_name_seq++);
		rt->src_table = limit_table_create(name, L4_LIMIT_SOURCES, SOCKET_ID_ANY);
		if (rt->src_table == NULL)
			return -ENOMEM;
	}
	if (rt->limit_svc_pkt || rt->limit_src_pkt) {
		/* packet limits are taken through per-worker shares (limit.h) */
		limit_rate_shares(&rt->svc_pkt_rate, g->n_workers);
		limit_rate_shares(&rt->src_pkt_rate, g->n_workers);
		rt->shares = rte_zmalloc("l4_limit_share", sizeof(*rt->shares) * g->n_workers,
					 RTE_CACHE_LINE_SIZE);
		if (rt->shares == NULL)
			return -ENOMEM;
	}
	return 0;
}

static int l4_bind_service(struct l4_global *g, struct cfg_snapshot *snap, struct l4_service *sv,
			   struct l4_svc_rt *rt, char *err, size_t errlen)
{
	const uint64_t now = rte_rdtsc();
	uint32_t n = sv->n_endpoints;
	int rc;

	rt->backends = calloc(n, sizeof(*rt->backends));
	rt->eps = calloc(n, sizeof(*rt->eps));
	rt->usable = calloc(n, 1);
	rt->rr = calloc((size_t)n * g->n_workers, sizeof(*rt->rr));
	rt->maglev = calloc(1, sizeof(*rt->maglev));
	if (rt->backends == NULL || rt->eps == NULL || rt->usable == NULL || rt->rr == NULL ||
	    rt->maglev == NULL)
		return -ENOMEM;
	rt->limits = (struct ep_limits){
		.max_connections = sv->breaker.max_connections,
		.max_pending = sv->breaker.max_pending,
		.consecutive_failures = sv->breaker.consecutive_failures,
		.base_ejection_tsc = l4_ms_tsc(g, sv->breaker.base_ejection_ms),
		.max_ejection_percent = sv->breaker.max_ejection_percent,
		.healthy_threshold = sv->health.healthy_threshold,
		.unhealthy_threshold = sv->health.unhealthy_threshold,
	};
	rt->hc_interval_tsc = l4_ms_tsc(g, sv->health.interval_ms);
	rt->hc_timeout_tsc = l4_ms_tsc(g, sv->health.timeout_ms);
	for (uint32_t i = 0; i < n; i++) {
		struct l4_endpoint *ep = &sv->endpoints[i];

		rt->eps[i] = ep_registry_get(g->eps, ep->key);
		if (rt->eps[i] == NULL)
			return -ENOMEM;
		ep->rt = rt->eps[i];
		rt->usable[i] = ep_usable(rt->eps[i], now);
		rt->backends[i] = (struct lb_backend){
			.key = ep->key, .weight = ep->weight, .usable = rt->usable[i]};
	}
	ep_group_init(&rt->group, rt->eps, n);
	if (sv->lb == L4_LB_MAGLEV) {
		rc = lb_maglev_build(rt->maglev, sv->maglev_size, rt->backends, (uint16_t)n);
		if (rc == -EINVAL)
			snprintf(err, errlen,
				 "service %s: cannot build its Maglev table (maglev_size %u for %u "
				 "endpoints; expected a prime of at least the endpoint count)",
				 sv->key, sv->maglev_size, n);
		if (rc != 0)
			return rc;
	}
	sv->rt = rt;
	rc = l4_bind_limits(g, snap, sv, rt);
	if (rc == -EINVAL)
		snprintf(err, errlen, "service %s: a rate limit the token bucket cannot hold",
			 sv->key);
	return rc;
}

/* Health answers name their endpoint by probe slot (the destination port):
 * chain the snapshot's endpoints by the slot of their state. */
static int l4_bind_health(const struct cfg_snapshot *snap, struct l4_snap_rt *srt)
{
	srt->hc_first = malloc(sizeof(*srt->hc_first) * L4_HC_PORT_SLOTS);
	srt->hc_next = malloc(sizeof(*srt->hc_next) * RTE_MAX(snap->n_endpoints, 1u));
	if (srt->hc_first == NULL || srt->hc_next == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < L4_HC_PORT_SLOTS; i++)
		srt->hc_first[i] = UINT32_MAX;
	for (uint32_t i = snap->n_endpoints; i-- > 0;) {
		const struct ep_state *st = snap->endpoints[i].rt;

		srt->hc_next[i] = srt->hc_first[st->probe.slot];
		srt->hc_first[st->probe.slot] = i;
	}
	return 0;
}

/* VIP addresses, for refusing undeclared ports the way their service says. */
static int l4_bind_vips(const struct cfg_snapshot *snap, struct l4_snap_rt *srt)
{
	struct rte_hash_parameters hp = {0};
	char name[RTE_HASH_NAMESIZE];

	snprintf(name, sizeof(name), "l4vip%u", l4_name_seq++);
	hp.name = name;
	hp.entries = RTE_MAX(snap->n_services * 2, 64u);
	hp.key_len = sizeof(uint32_t);
	hp.hash_func = rte_jhash;
	hp.socket_id = SOCKET_ID_ANY;
	srt->vip_addrs = rte_hash_create(&hp);
	if (srt->vip_addrs == NULL)
		return -ENOMEM;
	for (uint32_t s = 0; s < snap->n_services; s++) {
		uint32_t vip;

		if (snap->services[s].family != 4)
			continue;
		memcpy(&vip, snap->services[s].vip, 4);
		if (rte_hash_lookup(srt->vip_addrs, &vip) >= 0)
			continue; /* the first service on a VIP decides */
		if (rte_hash_add_key_data(srt->vip_addrs, &vip, (void *)(uintptr_t)(s + 1)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The tables l4_owner() needs: every (endpoint address, port, protocol) and the
 * full-NAT source addresses. */
static int l4_bind_steering(const struct cfg_snapshot *snap, struct l4_snap_rt *srt)
{
	struct rte_hash_parameters hp = {0};
	char name[RTE_HASH_NAMESIZE];
	uint32_t n_keys = 0, n_snat = 0;

	for (uint32_t s = 0; s < snap->n_services; s++) {
		n_keys += snap->services[s].n_endpoints * snap->services[s].n_ports;
		n_snat += snap->services[s].n_snat;
	}
	snprintf(name, sizeof(name), "l4ep%u", l4_name_seq++);
	hp.name = name;
	hp.entries = RTE_MAX(n_keys * 2, 64u);
	hp.key_len = sizeof(struct l4_ep_key);
	hp.hash_func = rte_jhash;
	hp.socket_id = SOCKET_ID_ANY;
	srt->ep_hash = rte_hash_create(&hp);
	srt->snat = calloc(RTE_MAX(n_snat, 1u), sizeof(*srt->snat));
	if (srt->ep_hash == NULL || srt->snat == NULL)
		return -ENOMEM;
	for (uint32_t s = 0; s < snap->n_services; s++) {
		const struct l4_service *sv = &snap->services[s];

		if (sv->family != 4)
			continue;
		for (uint32_t i = 0; i < sv->n_snat; i++)
			memcpy(&srt->snat[srt->n_snat++], sv->snat[i], 4);
		for (uint32_t e = 0; e < sv->n_endpoints; e++) {
			for (uint8_t k = 0; k < sv->n_ports; k++) {
				const struct l4_endpoint *ep = &sv->endpoints[e];
				struct l4_ep_key key = {0};

				memcpy(&key.addr, ep->addr, 4);
				key.port = rte_cpu_to_be_16(ep->port ? ep->port
								     : sv->ports[k].target_port);
				key.proto = sv->ports[k].protocol;
				if (rte_hash_add_key(srt->ep_hash, &key) < 0)
					return -ENOMEM;
			}
		}
	}
	return 0;
}

int l4_bind(struct l4_global *g, struct cfg_snapshot *snap, char *err, size_t errlen)
{
	struct l4_snap_rt *srt;
	int rc;

	snprintf(err, errlen, "out of memory binding the L4 path");
	if (snap->mode != CFG_MODE_MESH && snap->n_services == 0)
		return 0; /* nothing of the L4 path runs */
	srt = calloc(1, sizeof(*srt));
	if (srt == NULL)
		return -ENOMEM;
	srt->svc = rte_zmalloc("l4_svc_rt", sizeof(*srt->svc) * RTE_MAX(snap->n_services, 1u),
			       RTE_CACHE_LINE_SIZE);
	if (srt->svc == NULL) {
		free(srt);
		return -ENOMEM;
	}
	srt->g = g;
	srt->n_services = snap->n_services;
	srt->to = (struct flow_timeouts){
		.syn = l4_ms_tsc(g, 1000ull * snap->flows.syn_s),
		.established = l4_ms_tsc(g, 1000ull * snap->flows.established_s),
		.fin = l4_ms_tsc(g, 1000ull * snap->flows.fin_s),
		.time_wait = l4_ms_tsc(g, 1000ull * snap->flows.time_wait_s),
		.close = l4_ms_tsc(g, 1000ull * snap->flows.close_s),
		.udp = l4_ms_tsc(g, 1000ull * snap->flows.udp_s),
		.udp_assured = l4_ms_tsc(g, 1000ull * snap->flows.udp_assured_s),
		.icmp = l4_ms_tsc(g, 1000ull * snap->flows.icmp_s),
	};
	snap->l4_rt = srt;
	snap->l4_rt_free = l4_rt_free;
	for (uint32_t i = 0; i < snap->n_services; i++) {
		rc = l4_bind_service(g, snap, &snap->services[i], &srt->svc[i], err, errlen);
		if (rc != 0)
			return rc; /* the caller frees the snapshot, which frees srt */
	}
	/* each listener's connection count, node-wide, kept across swaps by name */
	for (uint32_t i = 0; i < snap->n_listeners; i++) {
		char key[L4_KEY_MAX];

		snprintf(key, sizeof(key), "listener/%s", snap->listeners[i].name);
		snap->listeners[i].rt = ep_registry_get(g->eps, key);
		if (snap->listeners[i].rt == NULL)
			return -ENOMEM;
	}
	rc = l4_bind_vips(snap, srt);
	if (rc == 0)
		rc = l4_bind_health(snap, srt);
	if (rc != 0)
		return rc;
	return g->n_workers > 1 ? l4_bind_steering(snap, srt) : 0;
}

void l4_after_publish(struct l4_global *g)
{
	ep_registry_sweep(g->eps);
}

/*
 * Control thread, at most every L4_LIMIT_SWEEP_MS: remove the idle sources of
 * every per-source table. @return sources removed; their slots wait for
 * l4_limits_reclaim() after a grace period.
 *
 * Workers may still hold such a source: a slot they found before the removal
 * stays valid memory until the reclaim (the grace period waits for them), and
 * their share caches (struct limit_src_cache) hold a copy of the key and units
 * already taken from the bucket, never a pointer into the table. Units held for
 * a removed source are spent from the cache as before, or, when the cache slot
 * goes to another source, given back to nothing (the source is gone; giving
 * back to its full bucket would have been a no-op too). A source seen again
 * after its removal is inserted with full buckets: what it had.
 */
static unsigned int l4_limits_expire(struct l4_global *g, const struct l4_snap_rt *srt,
				     uint64_t now)
{
	unsigned int n = 0;

	if ((int64_t)(now - g->limit_sweep_at) < 0)
		return 0;
	g->limit_sweep_at = now + l4_ms_tsc(g, L4_LIMIT_SWEEP_MS);
	for (uint32_t s = 0; s < srt->n_services; s++)
		if (srt->svc[s].src_table != NULL)
			n += limit_table_expire(srt->svc[s].src_table, now,
						l4_ms_tsc(g, L4_LIMIT_IDLE_MS));
	return n;
}

/* Control thread, a grace period after l4_limits_expire(): free the slots. */
static void l4_limits_reclaim(const struct l4_snap_rt *srt)
{
	for (uint32_t s = 0; s < srt->n_services; s++)
		if (srt->svc[s].src_table != NULL)
			limit_table_reclaim(srt->svc[s].src_table);
}

void l4_control_tick(struct l4_global *g, const struct cfg_snapshot *snap, uint64_t now)
{
	const struct l4_snap_rt *srt = snap->l4_rt;
	struct lb_maglev *old[64];
	unsigned int n_old = 0, n_expired;
	bool sweep;

	if (srt == NULL)
		return;
	for (uint32_t s = 0; s < srt->n_services && n_old < RTE_DIM(old); s++) {
		const struct l4_service *sv = &snap->services[s];
		struct l4_svc_rt *rt = &srt->svc[s];
		struct lb_maglev *fresh;
		bool changed = false;

		for (uint32_t i = 0; i < sv->n_endpoints; i++) {
			uint8_t u = ep_usable(rt->eps[i], now);

			changed |= u != rt->usable[i];
			rt->usable[i] = u;
			rt->backends[i].usable = u;
		}
		if (!changed || sv->lb != L4_LB_MAGLEV)
			continue;
		fresh = calloc(1, sizeof(*fresh));
		if (fresh == NULL || lb_maglev_build(fresh, sv->maglev_size, rt->backends,
						     (uint16_t)sv->n_endpoints) != 0) {
			free(fresh);
			LOG(WARNING, "service %s: cannot rebuild its Maglev table", sv->key);
			continue;
		}
		old[n_old++] = rcu_xchg_pointer(&rt->maglev, fresh);
		LOG(INFO, "service %s: endpoints changed usability, Maglev table rebuilt", sv->key);
	}
	n_expired = l4_limits_expire(g, srt, now);
	/* endpoint state left by a config change: freed once idle, at the second
	 * sweep that finds it so (consecutive sweeps a grace period apart) */
	sweep = ep_registry_has_unused(g->eps);
	if (n_old == 0 && n_expired == 0 && !sweep)
		return;
	/* one grace period for all of it: no worker still reads an old Maglev table,
	 * a removed source's slot or an endpoint state the last sweep marked */
	synchronize_rcu();
	for (unsigned int i = 0; i < n_old; i++) {
		lb_maglev_free(old[i]);
		free(old[i]);
	}
	if (n_expired != 0)
		l4_limits_reclaim(srt);
	if (sweep)
		ep_registry_sweep(g->eps);
}

/* ---- worker ---- */

int l4_worker_init(struct l4_worker *lw, struct l4_global *g, struct stats_block *stats,
		   uint16_t worker_id, uint16_t n_workers, uint32_t flow_capacity, int socket_id)
{
	char name[24];

	static unsigned int seq; /* table names stay unique across re-creations */

	memset(lw, 0, sizeof(*lw));
	snprintf(name, sizeof(name), "flows%u_%u", worker_id, seq++);
	lw->flows = flow_table_create(name, flow_capacity, socket_id);
	if (lw->flows == NULL)
		return -ENOMEM;
	lw->g = g;
	lw->stats = stats;
	lw->tsc_hz = rte_get_tsc_hz();
	lw->worker_id = worker_id;
	lw->n_workers = n_workers;
	flow_timeouts_default(&lw->to, lw->tsc_hz);
	if (n_workers > 1 && g->handoff[worker_id] == NULL) {
		snprintf(name, sizeof(name), "l4ho%u_%u", worker_id, seq);
		g->handoff[worker_id] =
			rte_ring_create(name, L4_HANDOFF_RING, socket_id, RING_F_SC_DEQ);
		if (g->handoff[worker_id] == NULL) {
			l4_worker_release(lw);
			return -ENOMEM;
		}
	}
	return 0;
}

void l4_worker_release(struct l4_worker *lw)
{
	flow_table_free(lw->flows);
	lw->flows = NULL;
}

/* Does packet @p p need to know whether its destination is the node's? (The
 * local TCP check and health-check answers to steer; see l4_input_chunk().) */
static inline bool l4_wants_local(const struct l4_pkt *p, bool steer, bool local)
{
	uint16_t dp;

	if (local && p->ip->next_proto_id == IPPROTO_TCP)
		return true;
	dp = rte_be_to_cpu_16(l4_rd16(p->dport));
	return steer && dp >= L4_HC_PORT_BASE && dp < L4_HC_PORT_BASE + L4_HC_PORT_SLOTS;
}

static void l4_input_chunk(struct l4_worker *lw, const struct cfg_snapshot *snap,
			   struct rte_mbuf **pkts, uint16_t n, enum stats_id *verdict, uint32_t *nh,
			   uint64_t now_tsc)
{
	struct l4_pkt p[L4_BURST];
	struct flow_tuple4 keys[L4_BURST];
	struct flow_entry *hit[L4_BURST];
	struct l4_steer st[L4_BURST];
	uint32_t dst[L4_BURST], dst0[L4_BURST];
	uint16_t owner[L4_BURST], si[L4_BURST], fi[L4_BURST];
	int8_t parsed[L4_BURST];
	uint8_t dir[L4_BURST], slot[L4_BURST];
	uint64_t removals;
	uint16_t nk = 0, ns = 0, nf = 0;
	bool changed = false;
	/* the same for the whole burst (read once: the local_tcp call below
	 * would make the compiler reload them for every packet) */
	const bool multi = lw->n_workers > 1;
	const bool local = lw->local_tcp != NULL && snap->n_listeners > 0;
	const uint64_t handed = multi ? lw->g->handoff_flag : 0;

	/* pass 1: parse; what steering and the local TCP check need, gathered */
	for (uint16_t i = 0; i < n; i++) {
		const bool steer = multi && !(pkts[i]->ol_flags & handed);
		struct rte_ipv4_hdr *in;
		uint8_t *inl4;

		nh[i] = NET_NH_UNKNOWN;
		parsed[i] = (int8_t)l4_parse(pkts[i], &p[i]);
		if (parsed[i] != 0 || p[i].sport == NULL) {
			/* an ICMP error belongs to the flow of the packet it quotes,
			 * which travelled the other way */
			if (steer && parsed[i] == 0 && l4_icmp_quote(&p[i], pkts[i], &in, &inl4)) {
				st[ns] = (struct l4_steer){.src = in->dst_addr,
							   .dst = in->src_addr,
							   .sport = l4_rd16(inl4 + 2),
							   .dport = l4_rd16(inl4),
							   .proto = in->next_proto_id,
							   .local = -1};
				si[ns++] = i;
			}
			continue;
		}
		if (l4_wants_local(&p[i], steer, local)) {
			dst[nf] = p[i].ip->dst_addr;
			fi[nf++] = i;
		}
		if (steer) {
			st[ns] = (struct l4_steer){.src = p[i].ip->src_addr,
						   .dst = p[i].ip->dst_addr,
						   .sport = l4_rd16(p[i].sport),
						   .dport = l4_rd16(p[i].dport),
						   .proto = p[i].ip->next_proto_id,
						   .local = -1};
			si[ns++] = i;
		}
	}
	/* the FIB once for the packets that need it; net reuses the answers */
	if (nf != 0) {
		uint32_t hop[L4_BURST];

		cfg_route4_bulk(snap, dst, hop, nf);
		for (uint16_t j = 0; j < nf; j++) {
			nh[fi[j]] = hop[j];
			dst0[fi[j]] = dst[j];
		}
	}
	if (ns != 0) {
		for (uint16_t j = 0; j < ns; j++)
			if (nh[si[j]] != NET_NH_UNKNOWN && st[j].dst == dst0[si[j]])
				st[j].local = l4_nh_local(snap, nh[si[j]]);
		l4_owners(lw, snap, st, ns, owner);
	}
	/* pass 2: hand off what another worker owns, key the rest */
	for (uint16_t i = 0, j = 0; i < n; i++) {
		const bool steered = j < ns && si[j] == i;
		const uint16_t own = steered ? owner[j++] : lw->worker_id;

		if (own != lw->worker_id) {
			verdict[i] = l4_handoff(lw, pkts[i], own);
			nh[i] = NET_NH_UNKNOWN;
			continue;
		}
		if (parsed[i] != 0 || p[i].sport == NULL) {
			verdict[i] = l4_portless(lw, snap, &p[i], pkts[i], parsed[i], now_tsc);
			continue;
		}
		if (local && p[i].ip->next_proto_id == IPPROTO_TCP &&
		    l4_nh_local(snap, nh[i]) == 1 &&
		    lw->local_tcp(lw->local_tcp_ctx, pkts[i], now_tsc)) {
			verdict[i] = NET_L4_CONSUMED;
			nh[i] = NET_NH_UNKNOWN;
			continue;
		}
		flow_tuple4(&keys[nk], p[i].ip->src_addr, p[i].ip->dst_addr, l4_rd16(p[i].sport),
			    l4_rd16(p[i].dport), p[i].ip->next_proto_id, 0);
		slot[nk++] = (uint8_t)i;
	}
	if (nk != 0) {
		/* one bulk lookup for the established traffic of the whole burst */
		flow_lookup_bulk4(lw->flows, keys, nk, hit, dir);
		removals = flow_table_removals(lw->flows);
	}
	/* pass 3: act; once the burst created a flow, the remaining misses may
	 * be hits now, and once it removed one, any remaining lookup may be
	 * stale: those are done again one by one */
	for (uint16_t j = 0; j < nk; j++) {
		uint16_t i = slot[j];

		struct flow_entry *e;

		if (unlikely(changed) &&
		    (hit[j] == NULL || flow_table_removals(lw->flows) != removals))
			hit[j] = flow_lookup4(lw->flows, &keys[j], &dir[j]);
		e = hit[j];
		if (likely(e != NULL) && !l4_reopens(&p[i], e, dir[j]))
			verdict[i] = l4_established(lw, snap, &p[i], e, dir[j], now_tsc);
		else
			verdict[i] =
				l4_decide(lw, snap, &p[i], pkts[i], e, dir[j], now_tsc, &changed);
	}
	/* a next hop looked up above holds if the packet goes on to where it was
	 * going (no NAT rewrote the destination) */
	for (uint16_t j = 0; j < nf; j++) {
		const uint16_t i = fi[j];

		if (nh[i] != NET_NH_UNKNOWN &&
		    (verdict[i] != NET_CHECK_OK || p[i].ip->dst_addr != dst0[i]))
			nh[i] = NET_NH_UNKNOWN;
	}
}

void l4_input_burst(void *ctx, const struct cfg_snapshot *snap, struct rte_mbuf **pkts, uint16_t n,
		    enum stats_id *verdict, uint32_t *nh, uint64_t now_tsc)
{
	for (uint16_t done = 0; done < n; done += L4_BURST)
		l4_input_chunk(ctx, snap, pkts + done,
			       (uint16_t)RTE_MIN((unsigned int)(n - done), L4_BURST),
			       verdict + done, nh + done, now_tsc);
}

enum stats_id l4_input(void *ctx, const struct cfg_snapshot *snap, struct rte_mbuf *m,
		       uint64_t now_tsc)
{
	enum stats_id v;
	uint32_t nh;

	l4_input_burst(ctx, snap, &m, 1, &v, &nh, now_tsc);
	return v;
}

void l4_timer(struct l4_worker *lw, struct net_worker *nw, const struct cfg_snapshot *snap,
	      uint64_t now_tsc)
{
	struct l4_expire_ctx x = {.lw = lw, .snap = snap, .now = now_tsc};
	unsigned int n;

	if (lw->flows == NULL)
		return;
	n = flow_expire(lw->flows, now_tsc, L4_EXPIRE_BUDGET, l4_on_expire, &x);
	if (n != 0)
		stats_add(lw->stats, STAT_L4_FLOWS_EXPIRED, n);
	if (lw->worker_id == 0 && snap->mode == CFG_MODE_MESH && snap->l4_rt != NULL)
		l4_health_scan(lw, nw, snap, now_tsc);
}
