/* SPDX-License-Identifier: BSD-3-Clause */
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

#define L4_HC_PORT_SLOTS  4096u
#define L4_SNAT_TRIES	  64u
#define L4_PICK_TRIES	  8u /* endpoints tried when the first choice refuses */
#define L4_EXPIRE_BUDGET  256u
#define L4_LIMIT_SOURCES  65536u
#define L4_HEALTH_TICK_US 10000u /* a pass over the endpoints starts at most this often */
#define L4_HEALTH_BUDGET  256u	 /* endpoints one l4_timer() call looks at */
#define L4_BURST	  64u	 /* packets per l4_input_burst() call, at most (NET_BURST) */
#define L4_STEER_BULK_MIN 4u	 /* steering's table lookups go in bulk from this many keys */
#define L4_HANDOFF_RING	  4096u
#define L4_HANDOFF_BURST  32u

/*
 * Per-source limit tables are swept once a second (l4_control_tick()): a source
 * whose buckets have all been full for L4_LIMIT_IDLE_MS is removed, and its slot
 * is free for a new source after the grace period that follows. Removing a full
 * bucket loses nothing (a source seen again starts with a full bucket, exactly
 * what it had), so the idle time is not about correctness: it only keeps a
 * source that comes back within a second (a client within its rate) from being
 * removed and inserted again at every sweep. Any longer would only make the table
 * slower to give slots back after a flood of one-shot (spoofed) sources: as it
 * is, a source's slot is free at most its bucket's refill time + 2 s after its
 * last packet, so new sources are refused (l4_limit_table_full) only while they
 * arrive faster than about L4_LIMIT_SOURCES per 2 s plus refill time.
 */
#define L4_LIMIT_SWEEP_MS 1000u
#define L4_LIMIT_IDLE_MS  1000u

/*
 * "Not for this handler": what l4_reset(), l4_icmp_error() and
 * l4_health_answer() return to let the caller go on. Distinct from every
 * stats_id and from NET_L4_CONSUMED (which is STAT_MAX): a handler that
 * consumed the mbuf must never be mistaken for one that did not.
 */
#define L4_NOT_MINE ((enum stats_id)(STAT_MAX + 1))

/* struct flow_entry.flags */
#define L4_FLOW_NAT	0x01 /* rewrite packets from the flow's keys */
#define L4_FLOW_PENDING 0x02 /* the endpoint has not answered the SYN yet */
#define L4_FLOW_PROBE	0x04 /* the connection is its endpoint's half-open probe */
#define L4_FLOW_SERVICE 0x08 /* a service flow: e->ep is its endpoint's state */
#define L4_FLOW_ACTIVE	0x10 /* counted in the endpoint's active connections */
#define L4_FLOW_DNAT	0x20 /* DNAT rewrite held in the entry: nat_*[0] endpoint, [1] VIP */

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

/* What one packet looks like to the L4 path. */
struct l4_pkt {
	struct rte_ipv4_hdr *ip;
	void *l4;	/* TCP / UDP / ICMP header, NULL for other protocols */
	uint8_t *csum;	/* the L4 checksum field, NULL when there is none to fix */
	uint8_t *sport; /* port fields (ICMP echo: the identifier for both); */
	uint8_t *dport; /* read and written with l4_rd16() / l4_wr16() */
	uint8_t tcp_flags;
	bool pseudo; /* the L4 checksum covers the IP addresses (TCP, UDP) */
};

/* 16-bit fields of packed headers, which may sit at any alignment. */
#define L4_FIELD(hdr, type, member) ((uint8_t *)(hdr) + offsetof(type, member))

static inline uint16_t l4_rd16(const uint8_t *f)
{
	uint16_t v;

	memcpy(&v, f, sizeof(v));
	return v;
}

static inline void l4_wr16(uint8_t *f, uint16_t v)
{
	memcpy(f, &v, sizeof(v));
}

static int l4_parse(struct rte_mbuf *m, struct l4_pkt *p)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	uint32_t hl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	uint32_t len = rte_pktmbuf_data_len(m);

	*p = (struct l4_pkt){.ip = ip};
	if (rte_be_to_cpu_16(ip->fragment_offset) &
	    (RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG))
		return -EPROTO; /* fragments carry no (or not all the) L4 header */
	switch (ip->next_proto_id) {
	case IPPROTO_TCP: {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)((uint8_t *)ip + hl);

		if (len < hl + sizeof(*t))
			return -EINVAL;
		p->l4 = t;
		p->csum = L4_FIELD(t, struct rte_tcp_hdr, cksum);
		p->sport = L4_FIELD(t, struct rte_tcp_hdr, src_port);
		p->dport = L4_FIELD(t, struct rte_tcp_hdr, dst_port);
		p->tcp_flags = t->tcp_flags;
		p->pseudo = true;
		return 0;
	}
	case IPPROTO_UDP: {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)((uint8_t *)ip + hl);

		if (len < hl + sizeof(*u))
			return -EINVAL;
		p->l4 = u;
		p->csum = u->dgram_cksum != 0 ? L4_FIELD(u, struct rte_udp_hdr, dgram_cksum) : NULL;
		p->sport = L4_FIELD(u, struct rte_udp_hdr, src_port);
		p->dport = L4_FIELD(u, struct rte_udp_hdr, dst_port);
		p->pseudo = true;
		return 0;
	}
	case IPPROTO_ICMP: {
		struct rte_icmp_hdr *c = (struct rte_icmp_hdr *)((uint8_t *)ip + hl);

		if (len < hl + sizeof(*c))
			return -EINVAL;
		p->l4 = c;
		if (c->icmp_type == RTE_IP_ICMP_ECHO_REQUEST ||
		    c->icmp_type == RTE_IP_ICMP_ECHO_REPLY) {
			p->csum = L4_FIELD(c, struct rte_icmp_hdr, icmp_cksum);
			p->sport = L4_FIELD(c, struct rte_icmp_hdr, icmp_ident);
			p->dport = p->sport;
		}
		return 0;
	}
	default:
		return 0;
	}
}

/*
 * RFC 1624 terms of one changed 32-bit value: ~old + new as 32-bit words,
 * unfolded. As 2^16 = 1 modulo 0xffff this is the sum of the 16-bit terms
 * ~old_hi + ~old_lo + new_hi + new_lo once folded, in two operations.
 */
static inline uint64_t l4_csum_delta32(uint32_t old, uint32_t new)
{
	return (uint64_t)(uint32_t)~old + new;
}

static inline uint64_t l4_csum_delta16(uint16_t old, uint16_t new)
{
	return (uint64_t)(uint16_t)~old + new;
}

/* HC' = ~(~HC + deltas), folded once: the same as applying them one by one.
 * At most a few 32-bit terms: the sum stays below 2^36, three folds suffice. */
static inline uint16_t l4_csum_apply(uint16_t csum, uint64_t delta)
{
	uint64_t s = (uint64_t)(uint16_t)~csum + delta;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Rewrite addresses and ports (network order) with incremental checksums.
 * Inlined: it is most of the established-flow fast path. */
static __rte_always_inline void l4_rewrite(struct l4_pkt *p, uint32_t src, uint32_t dst,
					   uint16_t sport, uint16_t dport)
{
	struct rte_ipv4_hdr *ip = p->ip;
	uint64_t d_ip = 0, d_l4 = 0;

	if (ip->src_addr != src) {
		d_ip += l4_csum_delta32(ip->src_addr, src);
		ip->src_addr = src;
	}
	if (ip->dst_addr != dst) {
		d_ip += l4_csum_delta32(ip->dst_addr, dst);
		ip->dst_addr = dst;
	}
	if (d_ip != 0) {
		ip->hdr_checksum = l4_csum_apply(ip->hdr_checksum, d_ip);
		if (p->pseudo)
			d_l4 = d_ip;
	}
	if (p->sport != NULL && p->sport != p->dport) {
		uint16_t old = l4_rd16(p->sport);

		if (old != sport) {
			d_l4 += l4_csum_delta16(old, sport);
			l4_wr16(p->sport, sport);
		}
		old = l4_rd16(p->dport);
		if (old != dport) {
			d_l4 += l4_csum_delta16(old, dport);
			l4_wr16(p->dport, dport);
		}
	}
	if (p->csum == NULL)
		return;
	if (d_l4 != 0)
		l4_wr16(p->csum, l4_csum_apply(l4_rd16(p->csum), d_l4));
	/* UDP: a computed checksum of 0 is sent as 0xffff (RFC 768) */
	if (l4_rd16(p->csum) == 0 && ip->next_proto_id == IPPROTO_UDP)
		l4_wr16(p->csum, 0xffff);
}

/* Make the packet the mirror image of @p k: what the other side expects to see. */
static __rte_always_inline void l4_rewrite_to_mirror(struct l4_pkt *p, const struct flow_tuple4 *k)
{
	l4_rewrite(p, k->dst, k->src, k->dport, k->sport);
}

/* Turn a refused TCP packet into an RST|ACK back to its sender (RFC 9293 3.10.7.1). */
static enum stats_id l4_reset(struct l4_pkt *p, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = p->ip;
	struct rte_tcp_hdr *t = p->l4;
	uint32_t hl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	uint32_t seg = rte_be_to_cpu_16(ip->total_length) - hl - (uint32_t)(t->data_off >> 4) * 4;
	uint32_t ack = rte_be_to_cpu_32(t->sent_seq) + seg +
		       ((t->tcp_flags & RTE_TCP_SYN_FLAG) != 0) +
		       ((t->tcp_flags & RTE_TCP_FIN_FLAG) != 0);
	uint32_t a = ip->src_addr;
	uint16_t port = t->src_port;

	if (t->tcp_flags & RTE_TCP_RST_FLAG)
		return L4_NOT_MINE; /* never answer a reset */
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	t->src_port = t->dst_port;
	t->dst_port = port;
	t->sent_seq = (t->tcp_flags & RTE_TCP_ACK_FLAG) ? t->recv_ack : 0;
	t->recv_ack = rte_cpu_to_be_32(ack);
	t->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	t->data_off = (sizeof(*t) / 4) << 4;
	t->rx_win = 0;
	t->tcp_urp = 0;
	if (rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - hl - sizeof(*t))) != 0)
		return L4_NOT_MINE;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(hl + sizeof(*t)));
	ip->time_to_live = 65; /* net forwards it and takes one off */
	ip->fragment_offset = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	t->cksum = 0;
	t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	return NET_CHECK_OK;
}

/* A refusal: count it, and answer TCP with a reset when the config says so. */
static enum stats_id l4_refuse(struct l4_worker *lw, struct l4_pkt *p, struct rte_mbuf *m,
			       enum stats_id why, bool reset)
{
	if (reset && p->ip->next_proto_id == IPPROTO_TCP && l4_reset(p, m) == NET_CHECK_OK) {
		stats_inc(lw->stats, why);
		stats_inc(lw->stats, STAT_L4_RESETS_OUT);
		return NET_CHECK_OK;
	}
	return why;
}

/* An endpoint for a new connection whose 5-tuple hashes to @p h (Maglev's key). */
static uint16_t l4_pick(struct l4_worker *lw, const struct l4_service *sv, struct l4_svc_rt *rt,
			uint32_t h, uint32_t attempt)
{
	uint16_t n = (uint16_t)sv->n_endpoints;

	switch (sv->lb) {
	case L4_LB_MAGLEV: {
		const struct lb_maglev *mg = rcu_dereference(rt->maglev);

		return lb_maglev_lookup(mg, h + attempt * 0x9e3779b9u);
	}
	case L4_LB_ROUND_ROBIN:
		return lb_pick_rr(&rt->rr[(size_t)lw->worker_id * n], rt->backends, n);
	default: {
		uint32_t active[L4_MAX_SVC_ENDPOINTS];

		for (uint16_t i = 0; i < n; i++)
			active[i] = __atomic_load_n(&rt->eps[i]->active, __ATOMIC_RELAXED);
		return lb_pick_least(rt->backends, active, n);
	}
	}
}

/*
 * Pick an endpoint and pass its breaker (max connections / pending, ejection):
 * up to L4_PICK_TRIES choices. @return the endpoint's index, or LB_NONE with
 * the last refusal in *adm.
 */
static uint16_t l4_admit(struct l4_worker *lw, const struct l4_service *sv, struct l4_svc_rt *rt,
			 uint32_t hash, uint64_t now, enum ep_admit *adm)
{
	*adm = EP_REFUSE_EJECTED;
	for (uint32_t t = 0; t < L4_PICK_TRIES; t++) {
		uint16_t idx = l4_pick(lw, sv, rt, hash, t);

		if (idx == LB_NONE || idx >= sv->n_endpoints)
			break;
		*adm = ep_admit(rt->eps[idx], &rt->limits, now);
		if (*adm == EP_ADMIT || *adm == EP_ADMIT_PROBE)
			return idx;
	}
	return LB_NONE;
}

static bool l4_limits_admit(struct l4_worker *lw, struct l4_svc_rt *rt, const struct l4_pkt *p,
			    bool new_conn, uint64_t now, bool *reset)
{
	struct l4_limit_share *sh = rt->shares != NULL ? &rt->shares[lw->worker_id] : NULL;
	struct limit_key key;
	int r;

	if (rt->limit_svc_pkt &&
	    !limit_take_share(&rt->svc_pkt, &sh->svc_pkt, &rt->svc_pkt_rate, now)) {
		*reset = rt->limit_svc_reset;
		return false;
	}
	if (new_conn && rt->limit_svc_conn &&
	    !limit_take(&rt->svc_conn, &rt->svc_conn_rate, now, 1)) {
		*reset = rt->limit_svc_reset;
		return false;
	}
	if (rt->src_table == NULL)
		return true;
	limit_key4(&key, p->ip->src_addr);
	if (rt->limit_src_pkt) {
		r = limit_table_take_share(rt->src_table, &sh->src_pkt, &key, &rt->src_pkt_rate,
					   now);
		if (r != 1) {
			if (r == -ENOSPC)
				stats_inc(lw->stats, STAT_L4_LIMIT_TABLE_FULL);
			*reset = rt->limit_src_reset;
			return false;
		}
	}
	if (new_conn && rt->limit_src_conn) {
		r = limit_table_take(rt->src_table, &key, LIMIT_CONN, &rt->src_conn_rate, now, 1);
		if (r != 1) {
			if (r == -ENOSPC)
				stats_inc(lw->stats, STAT_L4_LIMIT_TABLE_FULL);
			*reset = rt->limit_src_reset;
			return false;
		}
	}
	return true;
}

/* Full-NAT: a source port of this worker's share for which the reply key is free. */
static int l4_snat_port(struct l4_worker *lw, struct flow_tuple4 *rev)
{
	const uint32_t span = (L4_HC_PORT_BASE - L4_SNAT_PORT_MIN) / lw->n_workers;

	for (uint32_t t = 0; t < L4_SNAT_TRIES; t++) {
		uint32_t slot = lw->snat_cursor++ % span;
		uint16_t port = (uint16_t)(L4_SNAT_PORT_MIN + slot * lw->n_workers + lw->worker_id);

		rev->dport = rte_cpu_to_be_16(port);
		if (flow_lookup4(lw->flows, rev, NULL) == NULL)
			return 0;
	}
	return -EADDRINUSE;
}

/* The flow timeouts of the live configuration (built-in defaults without L4 sections). */
static const struct flow_timeouts *l4_timeouts(const struct l4_worker *lw,
					       const struct cfg_snapshot *snap)
{
	const struct l4_snap_rt *srt = snap->l4_rt;

	return srt != NULL ? &srt->to : &lw->to;
}

/*
 * The runtime of service @p service in @p snap if its endpoint @p endpoint is
 * still @p ep (NULL when not): a connect result that arrives after a config swap
 * moves the breaker under the new snapshot's limits as long as the endpoint kept
 * its place. The state is alive (the flow or connection holds it), so no other
 * endpoint's state can have its address.
 */
static struct l4_svc_rt *l4_svc_of(const struct cfg_snapshot *snap, uint32_t service,
				   uint32_t endpoint, const struct ep_state *ep)
{
	const struct l4_snap_rt *srt = snap->l4_rt;
	struct l4_svc_rt *rt;

	if (srt == NULL || service >= srt->n_services)
		return NULL;
	rt = &srt->svc[service];
	if (endpoint >= snap->services[service].n_endpoints || rt->eps[endpoint] != ep)
		return NULL;
	return rt;
}

static void l4_connect_result(struct l4_worker *lw, const struct cfg_snapshot *snap,
			      struct flow_entry *e, bool ok, uint64_t now)
{
	static const struct ep_limits no_ejection; /* all 0: outlier detection off */
	struct l4_svc_rt *rt = l4_svc_of(snap, e->service, e->endpoint, e->ep);
	const bool probe = e->flags & L4_FLOW_PROBE;

	e->flags &= (uint8_t) ~(L4_FLOW_PENDING | L4_FLOW_PROBE);
	if (!ok) /* a failed connect releases its admission (active) itself */
		e->flags &= (uint8_t)~L4_FLOW_ACTIVE;
	if (ok) {
		ep_connect_ok(e->ep, probe, rt ? &rt->group : NULL);
		stats_inc(lw->stats, STAT_L4_CONNECTS_OK);
	} else {
		ep_connect_failed(e->ep, rt ? &rt->limits : &no_ejection, now, probe,
				  rt ? &rt->group : NULL);
		stats_inc(lw->stats, STAT_L4_CONNECTS_FAILED);
	}
}

/* Track a packet of a known flow; connect results feed the endpoint's breaker. */
static __rte_always_inline void l4_track(struct l4_worker *lw, const struct cfg_snapshot *snap,
					 struct flow_entry *e, uint8_t dir, const struct l4_pkt *p,
					 uint64_t now)
{
	int after;

	flow_count(e, dir, rte_be_to_cpu_16(p->ip->total_length));
	if (e->proto == IPPROTO_UDP) {
		flow_udp_update(lw->flows, e, dir, now, l4_timeouts(lw, snap));
		return;
	}
	if (e->proto != IPPROTO_TCP) {
		flow_icmp_update(lw->flows, e, dir, now, l4_timeouts(lw, snap));
		return;
	}
	after = flow_tcp_update(lw->flows, e, dir, p->tcp_flags, now, l4_timeouts(lw, snap));
	if (after < 0)
		return;
	if ((e->flags & L4_FLOW_PENDING) && dir == FLOW_DIR_REV) {
		if (after == FLOW_TCP_SYN_RECV)
			l4_connect_result(lw, snap, e, true, now);
		else if (after == FLOW_TCP_CLOSED)
			l4_connect_result(lw, snap, e, false, now);
	}
	/* A connection in TIME_WAIT or reset no longer counts against the
	 * endpoint's max_connections, though its flow lingers for a while. */
	if ((e->flags & L4_FLOW_ACTIVE) && !(e->flags & L4_FLOW_PENDING) &&
	    (after == FLOW_TCP_TIME_WAIT || after == FLOW_TCP_CLOSED)) {
		e->flags &= (uint8_t)~L4_FLOW_ACTIVE;
		ep_conn_closed(e->ep);
	}
}

struct l4_expire_ctx {
	struct l4_worker *lw;
	const struct cfg_snapshot *snap;
	uint64_t now;
};

/* A flow leaves the table: settle its endpoint admission. */
static void l4_on_expire(struct flow_entry *e, void *arg)
{
	struct l4_expire_ctx *x = arg;

	if (!(e->flags & L4_FLOW_SERVICE))
		return;
	if (e->flags & L4_FLOW_PENDING) /* the SYN was never answered */
		l4_connect_result(x->lw, x->snap, e, false, x->now);
	if (e->flags & L4_FLOW_ACTIVE)
		ep_conn_closed(e->ep);
}

static bool l4_flow_finished(const struct flow_entry *e)
{
	return e->proto == IPPROTO_TCP &&
	       (e->state == FLOW_TCP_TIME_WAIT || e->state == FLOW_TCP_CLOSED);
}

/* Settle a flow's endpoint accounting and remove it before its time. */
static void l4_flow_replace(struct l4_worker *lw, const struct cfg_snapshot *snap,
			    struct flow_entry *e, uint64_t now)
{
	struct l4_expire_ctx x = {.lw = lw, .snap = snap, .now = now};

	l4_on_expire(e, &x);
	flow_remove(lw->flows, e);
	stats_inc(lw->stats, STAT_L4_FLOWS_REPLACED);
}

/*
 * Insert a new flow. A key may still belong to a finished TCP connection (the
 * same client port reused towards another VIP of the same endpoint leaves the
 * same reply tuple): that flow gives way. A live one does not, as the endpoint
 * could not tell the two connections apart.
 */
static int l4_flow_insert(struct l4_worker *lw, const struct cfg_snapshot *snap,
			  const struct flow_tuple4 *fwd, const struct flow_tuple4 *rev,
			  uint64_t now, struct flow_entry **e)
{
	int rc = flow_insert4(lw->flows, fwd, rev, now, e);
	bool freed = false;

	if (rc != -EEXIST)
		return rc;
	for (int i = 0; i < 2; i++) {
		struct flow_entry *old = flow_lookup4(lw->flows, i ? rev : fwd, NULL);

		if (old != NULL && l4_flow_finished(old)) {
			l4_flow_replace(lw, snap, old, now);
			freed = true;
		}
	}
	return freed ? flow_insert4(lw->flows, fwd, rev, now, e) : rc;
}

/* A new flow to service @p ref: policy, limits, endpoint, NAT, insert. */
static enum stats_id l4_new_service_flow(struct l4_worker *lw, const struct cfg_snapshot *snap,
					 struct l4_service_ref ref, struct l4_pkt *p,
					 struct rte_mbuf *m, uint64_t now)
{
	const struct l4_service *sv = &snap->services[ref.service];
	struct l4_svc_rt *rt = sv->rt;
	const struct l4_service_port *sp = &sv->ports[ref.port];
	const bool reset = sv->reject == L4_REJECT_RESET;
	int workload = l4_workload_of(snap, 4, &p->ip->src_addr);
	struct flow_tuple4 fwd, rev;
	struct flow_entry *e;
	enum ep_admit adm = EP_REFUSE_EJECTED;
	bool limit_reset = false;
	uint16_t idx = LB_NONE, eport;
	uint32_t eaddr;
	int rc;

	if (!((l4_policy_mask(snap, workload, (uint32_t)ref.service) >> ref.port) & 1))
		return l4_refuse(lw, p, m, STAT_DROP_L4_POLICY_DENIED, reset);
	if (p->ip->next_proto_id == IPPROTO_TCP &&
	    (p->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) != RTE_TCP_SYN_FLAG)
		return l4_refuse(lw, p, m, STAT_DROP_L4_NO_FLOW, reset);
	if (rt == NULL)
		return STAT_DROP_L4_NO_ENDPOINT;
	if (!l4_limits_admit(lw, rt, p, true, now, &limit_reset))
		return l4_refuse(lw, p, m, STAT_DROP_L4_RATE_LIMITED, limit_reset);
	idx = l4_admit(lw, sv, rt,
		       lb_flow_hash4(p->ip->src_addr, p->ip->dst_addr, l4_rd16(p->sport),
				     l4_rd16(p->dport), p->ip->next_proto_id),
		       now, &adm);
	if (idx == LB_NONE)
		return l4_refuse(lw, p, m,
				 adm == EP_REFUSE_MAX_CONN || adm == EP_REFUSE_MAX_PENDING
					 ? STAT_DROP_L4_BREAKER_OPEN
					 : STAT_DROP_L4_NO_ENDPOINT,
				 reset);

	memcpy(&eaddr, sv->endpoints[idx].addr, 4);
	eport = rte_cpu_to_be_16(sv->endpoints[idx].port ? sv->endpoints[idx].port
							 : sp->target_port);
	flow_tuple4(&fwd, p->ip->src_addr, p->ip->dst_addr, l4_rd16(p->sport), l4_rd16(p->dport),
		    p->ip->next_proto_id, 0);
	if (sv->nat == L4_NAT_FULLNAT) {
		uint32_t snat;

		memcpy(&snat, sv->snat[lw->snat_cursor % sv->n_snat], 4);
		flow_tuple4(&rev, eaddr, snat, eport, 0, p->ip->next_proto_id, 0);
		if (l4_snat_port(lw, &rev) != 0) {
			ep_connect_failed(rt->eps[idx], &(struct ep_limits){0}, now, false, NULL);
			ep_conn_closed(rt->eps[idx]);
			return STAT_DROP_L4_SNAT_EXHAUSTED;
		}
	} else {
		flow_tuple4(&rev, eaddr, p->ip->src_addr, eport, l4_rd16(p->sport),
			    p->ip->next_proto_id, 0);
	}
	rc = l4_flow_insert(lw, snap, &fwd, &rev, now, &e);
	if (rc != 0) {
		/* undo the admission: nothing was sent */
		ep_connect_ok(rt->eps[idx], adm == EP_ADMIT_PROBE, &rt->group);
		ep_conn_closed(rt->eps[idx]);
		return rc == -ENOSPC ? STAT_DROP_L4_FLOW_TABLE_FULL : STAT_DROP_L4_NO_FLOW;
	}
	e->ep = rt->eps[idx];
	e->service = (uint32_t)ref.service;
	e->endpoint = idx;
	e->flags = L4_FLOW_NAT | L4_FLOW_SERVICE | L4_FLOW_ACTIVE |
		   (adm == EP_ADMIT_PROBE ? L4_FLOW_PROBE : 0) |
		   (p->ip->next_proto_id == IPPROTO_TCP ? L4_FLOW_PENDING : 0);
	if (sv->nat == L4_NAT_DNAT) {
		e->flags |= L4_FLOW_DNAT;
		e->nat_addr[0] = eaddr;
		e->nat_port[0] = eport;
		e->nat_addr[1] = p->ip->dst_addr;
		e->nat_port[1] = l4_rd16(p->dport);
	}
	if (p->ip->next_proto_id != IPPROTO_TCP) /* datagrams: admitted is connected */
		ep_connect_ok(e->ep, adm == EP_ADMIT_PROBE, &rt->group);
	stats_inc(lw->stats, STAT_L4_FLOWS_NEW);
	l4_track(lw, snap, e, FLOW_DIR_FWD, p, now);
	l4_rewrite_to_mirror(p, &rev);
	return NET_CHECK_OK;
}

/* A new flow that is not to a service: control plane, egress, or refused. */
/* Would the service on @p p's destination address (a VIP) reset refused TCP? */
static bool l4_vip_resets(const struct cfg_snapshot *snap, const struct l4_pkt *p)
{
	const struct l4_snap_rt *srt = snap->l4_rt;
	void *data;

	if (srt == NULL || srt->vip_addrs == NULL ||
	    rte_hash_lookup_data(srt->vip_addrs, &p->ip->dst_addr, &data) < 0)
		return false;
	return snap->services[(uintptr_t)data - 1].reject == L4_REJECT_RESET;
}

static enum stats_id l4_new_other_flow(struct l4_worker *lw, const struct cfg_snapshot *snap,
				       struct l4_pkt *p, struct rte_mbuf *m, uint64_t now)
{
	const uint8_t proto = p->ip->next_proto_id;
	struct flow_tuple4 fwd, rev;
	struct flow_entry *e;
	int workload, ext, rc;

	if (l4_in_control_plane(snap, 4, &p->ip->src_addr) ||
	    l4_in_control_plane(snap, 4, &p->ip->dst_addr)) {
		stats_inc(lw->stats, STAT_L4_CONTROL_PLANE);
		return NET_CHECK_OK;
	}
	if (l4_in_mesh(snap, 4, &p->ip->dst_addr)) /* SM-DR1: mesh traffic goes through services */
		return l4_refuse(lw, p, m, STAT_DROP_L4_UNDECLARED, l4_vip_resets(snap, p));
	/* SM-DR8: leaving the mesh needs an external service and a policy */
	if (p->sport == NULL || (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return STAT_DROP_L4_EGRESS_DENIED;
	ext = l4_external_of(snap, 4, &p->ip->dst_addr, l4_rd16(p->dport), proto);
	workload = l4_workload_of(snap, 4, &p->ip->src_addr);
	if (ext < 0 ||
	    !l4_policy_allows_external(snap, workload, ext, rte_be_to_cpu_16(l4_rd16(p->dport))))
		return STAT_DROP_L4_EGRESS_DENIED;
	if (proto == IPPROTO_TCP &&
	    (p->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) != RTE_TCP_SYN_FLAG)
		return STAT_DROP_L4_NO_FLOW;
	flow_tuple4(&fwd, p->ip->src_addr, p->ip->dst_addr, l4_rd16(p->sport), l4_rd16(p->dport),
		    proto, 0);
	flow_tuple4(&rev, fwd.dst, fwd.src, fwd.dport, fwd.sport, proto, 0);
	rc = l4_flow_insert(lw, snap, &fwd, &rev, now, &e);
	if (rc != 0)
		return rc == -ENOSPC ? STAT_DROP_L4_FLOW_TABLE_FULL : STAT_DROP_L4_NO_FLOW;
	stats_inc(lw->stats, STAT_L4_FLOWS_NEW);
	stats_inc(lw->stats, STAT_L4_EGRESS_FLOWS);
	l4_track(lw, snap, e, FLOW_DIR_FWD, p, now);
	return NET_CHECK_OK;
}

static uint32_t l4_source_for(const struct cfg_snapshot *snap, uint32_t dst);

/* Is next hop @p nhi (a FIB answer) the node itself? 1 yes, 0 no (int8_t, as in
 * struct l4_steer). */
static inline int8_t l4_nh_local(const struct cfg_snapshot *snap, uint32_t nhi)
{
	return nhi != 0 && nhi < snap->n_nexthops && snap->nexthops[nhi].type == CFG_NH_LOCAL;
}

static bool l4_is_local(const struct cfg_snapshot *snap, uint32_t dst)
{
	return l4_nh_local(snap, cfg_route4(snap, dst)) == 1;
}

/* An answer to one of our health probes (TCP to a node address, probe port)?
 * @return L4_NOT_MINE when it is not one. */
static enum stats_id l4_health_answer(struct l4_worker *lw, const struct cfg_snapshot *snap,
				      struct l4_pkt *p, struct rte_mbuf *m);

/*
 * An ICMP error (unreachable, time exceeded, parameter problem) about a packet
 * of a NATed flow is translated like the flow's packets (RFC 5508 4.2): the
 * quoted packet gets the addresses and ports its sender used, the outer
 * destination becomes that sender. @return L4_NOT_MINE when it is not about a flow.
 */
/*
 * The packet an ICMP error (unreachable, time exceeded, parameter problem)
 * quotes, when it is TCP or UDP with its ports: @p in and @p inl4 point at its
 * IP and L4 headers. @return false for anything else.
 */
static bool l4_icmp_quote(const struct l4_pkt *p, const struct rte_mbuf *m,
			  struct rte_ipv4_hdr **in, uint8_t **inl4)
{
	const struct rte_ipv4_hdr *ip = p->ip;
	const uint32_t hl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	struct rte_icmp_hdr *icmp = p->l4;
	uint32_t inhl, icmp_len;

	if (ip->next_proto_id != IPPROTO_ICMP || icmp == NULL ||
	    (icmp->icmp_type != 3 && icmp->icmp_type != 11 && icmp->icmp_type != 12))
		return false;
	icmp_len = rte_be_to_cpu_16(ip->total_length) - hl;
	*in = (struct rte_ipv4_hdr *)(icmp + 1);
	if (icmp_len < sizeof(*icmp) + sizeof(**in) + 8 || rte_pktmbuf_data_len(m) < hl + icmp_len)
		return false;
	inhl = (uint32_t)((*in)->version_ihl & 0xf) * 4;
	if (inhl < sizeof(**in) || icmp_len < sizeof(*icmp) + inhl + 8 ||
	    ((*in)->next_proto_id != IPPROTO_TCP && (*in)->next_proto_id != IPPROTO_UDP))
		return false;
	*inl4 = (uint8_t *)*in + inhl;
	return true;
}

static enum stats_id l4_icmp_error(struct l4_worker *lw, struct l4_pkt *p, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = p->ip;
	const uint32_t hl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	struct rte_icmp_hdr *icmp = p->l4;
	struct rte_ipv4_hdr *in;
	uint8_t *inl4, dir;
	uint32_t icmp_len, want_src, want_dst, new_dst;
	struct flow_key k, fwd, rev;
	const struct flow_key *sender, *target;
	struct flow_entry *e;

	if (!l4_icmp_quote(p, m, &in, &inl4))
		return L4_NOT_MINE;
	icmp_len = rte_be_to_cpu_16(ip->total_length) - hl;
	/* the quoted packet went the other way: look up its reverse */
	flow_key4(&k, in->dst_addr, in->src_addr, l4_rd16(inl4 + 2), l4_rd16(inl4),
		  in->next_proto_id, 0);
	e = flow_lookup(lw->flows, &k, &dir);
	if (e == NULL || !(e->flags & L4_FLOW_NAT) ||
	    flow_entry_keys(lw->flows, e, &fwd, &rev) != 0)
		return L4_NOT_MINE;
	/* the quote must look as its sender sent it: a reply quoted by the client
	 * side becomes the endpoint's (rev), a request quoted by the endpoint side
	 * becomes the client's (fwd) */
	sender = dir == FLOW_DIR_FWD ? &rev : &fwd;
	target = dir == FLOW_DIR_FWD ? &fwd : &rev; /* the other side, where the error came from */
	memcpy(&want_src, sender->src, 4);
	memcpy(&want_dst, sender->dst, 4);
	in->src_addr = want_src;
	in->dst_addr = want_dst;
	l4_wr16(inl4, sender->sport);
	l4_wr16(inl4 + 2, sender->dport);
	if (in->next_proto_id == IPPROTO_UDP)
		l4_wr16(inl4 + 6, 0); /* the quoted UDP checksum cannot be fixed from 8 bytes */
	in->hdr_checksum = 0;
	in->hdr_checksum = rte_ipv4_cksum(in);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
	/* outer: to the sender; an error from the NATed peer itself comes from
	 * the address the sender talked to */
	new_dst = want_src;
	if (memcmp(&ip->src_addr, target->src, 4) == 0)
		memcpy(&ip->src_addr, sender->dst, 4);
	ip->dst_addr = new_dst;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	stats_inc(lw->stats, STAT_L4_ICMP_TRANSLATED);
	return NET_CHECK_OK;
}

/* A packet the flow table cannot help with: fragments, no ports, ICMP errors. */
/*
 * An ICMP destination unreachable about a TCP segment this node's stack sent
 * (the proxy's connections): for the stack (RFC 5927, RFC 1191). @return true
 * when the stack took it.
 */
static bool l4_icmp_local_tcp(struct l4_worker *lw, const struct cfg_snapshot *snap,
			      struct l4_pkt *p, struct rte_mbuf *m, uint64_t now_tsc)
{
	const struct rte_icmp_hdr *icmp = p->l4;
	struct rte_ipv4_hdr *in;
	uint8_t *inl4;
	uint32_t mtu = 0;

	if (lw->local_tcp_icmp == NULL || snap->n_listeners == 0 ||
	    !l4_icmp_quote(p, m, &in, &inl4) || icmp->icmp_type != 3 ||
	    in->next_proto_id != IPPROTO_TCP || !l4_is_local(snap, in->src_addr))
		return false;
	if (icmp->icmp_code == 4) /* fragmentation needed: the next hop's MTU */
		mtu = rte_be_to_cpu_16(l4_rd16((const uint8_t *)icmp + 6));
	else if (icmp->icmp_code > 3)
		return false; /* other codes are soft errors (RFC 1122 4.2.3.9) */
	if (icmp->icmp_code == 4 && mtu == 0)
		return false; /* a pre-RFC 1191 router: nothing to go by */
	return lw->local_tcp_icmp(
		lw->local_tcp_ctx, in,
		rte_pktmbuf_data_len(m) -
			(uint32_t)((uint8_t *)in - rte_pktmbuf_mtod(m, uint8_t *)),
		mtu, now_tsc);
}

static enum stats_id l4_portless(struct l4_worker *lw, const struct cfg_snapshot *snap,
				 struct l4_pkt *p, struct rte_mbuf *m, int parsed, uint64_t now_tsc)
{
	enum stats_id r;

	if (parsed != 0) {
		/* fragments and truncated headers: only control-plane traffic passes */
		if (l4_in_control_plane(snap, 4, &p->ip->src_addr) ||
		    l4_in_control_plane(snap, 4, &p->ip->dst_addr))
			return NET_CHECK_OK;
		return STAT_DROP_L4_FRAGMENT;
	}
	if (l4_icmp_local_tcp(lw, snap, p, m, now_tsc)) {
		rte_pktmbuf_free(m);
		return NET_L4_CONSUMED;
	}
	r = l4_icmp_error(lw, p, m);
	if (r != L4_NOT_MINE)
		return r;
	/* no ports: ICMP other than echo, other protocols. Control-plane
	 * traffic and ICMP to the node pass; the rest is undeclared. */
	if (l4_in_control_plane(snap, 4, &p->ip->src_addr) ||
	    l4_in_control_plane(snap, 4, &p->ip->dst_addr) ||
	    (p->ip->next_proto_id == IPPROTO_ICMP && l4_is_local(snap, p->ip->dst_addr)))
		return NET_CHECK_OK;
	return STAT_DROP_L4_UNDECLARED;
}

/* A bare SYN on a flow past its handshake (see l4_decide()). */
static inline bool l4_reopens(const struct l4_pkt *p, const struct flow_entry *e, uint8_t dir)
{
	return dir == FLOW_DIR_FWD && p->ip->next_proto_id == IPPROTO_TCP &&
	       (p->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG &&
	       e->state != FLOW_TCP_SYN_SENT && e->state != FLOW_TCP_SYN_RECV &&
	       e->state != FLOW_ST_NONE;
}

/*
 * A packet of a flow the table knows (not a bare SYN reopening a finished
 * one): the per-packet rate limits, tracking and the NAT rewrite. Inlined into
 * the burst loop, as nearly every packet takes this way.
 */
static __rte_always_inline enum stats_id l4_established(struct l4_worker *lw,
							const struct cfg_snapshot *snap,
							struct l4_pkt *p, struct flow_entry *e,
							uint8_t dir, uint64_t now_tsc)
{
	if (dir == FLOW_DIR_FWD && (e->flags & L4_FLOW_SERVICE)) {
		/* packets-per-second limits hold for established flows too (the
		 * flags first: the endpoint check reads two more lines) */
		const struct l4_snap_rt *srt = snap->l4_rt;
		struct l4_svc_rt *rt =
			srt != NULL && e->service < srt->n_services ? &srt->svc[e->service] : NULL;
		bool reset;

		if (rt != NULL && (rt->limit_svc_pkt || rt->limit_src_pkt) &&
		    l4_svc_of(snap, e->service, e->endpoint, e->ep) == rt &&
		    !l4_limits_admit(lw, rt, p, false, now_tsc, &reset))
			return STAT_DROP_L4_RATE_LIMITED;
	}
	l4_track(lw, snap, e, dir, p, now_tsc);
	if (e->flags & L4_FLOW_DNAT) {
		/* the common case, from the entry itself: forward packets go to
		 * the endpoint, replies come from the VIP */
		if (dir == FLOW_DIR_FWD)
			l4_rewrite(p, p->ip->src_addr, e->nat_addr[0], l4_rd16(p->sport),
				   e->nat_port[0]);
		else
			l4_rewrite(p, e->nat_addr[1], p->ip->dst_addr, e->nat_port[1],
				   l4_rd16(p->dport));
	} else if (e->flags & L4_FLOW_NAT) {
		/* full-NAT: forward packets become the mirror of the reply
		 * key, replies the mirror of the forward key (read in place) */
		const struct flow_tuple4 *other = flow_entry_tuple4(lw->flows, e, dir ^ 1);

		if (likely(other != NULL))
			l4_rewrite_to_mirror(p, other);
	}
	return NET_CHECK_OK;
}

/*
 * One packet with ports, given what the flow table said (@p e NULL: a miss).
 * @p changed is set when the table gained or lost a flow, which makes other
 * lookups of the same burst stale.
 */
static __rte_noinline enum stats_id l4_decide(struct l4_worker *lw, const struct cfg_snapshot *snap,
					      struct l4_pkt *p, struct rte_mbuf *m,
					      struct flow_entry *e, uint8_t dir, uint64_t now_tsc,
					      bool *changed)
{
	struct l4_service_ref ref;
	uint64_t flows_before;
	enum stats_id r;

	if (e != NULL && l4_reopens(p, e, dir)) {
		/* A bare SYN on a flow past its handshake: the client reuses the
		 * ports of a connection it considers finished (closing, reset, in
		 * TIME_WAIT). That is a new connection, to be balanced, admitted and
		 * counted anew: an ejected endpoint must not get it through the old
		 * flow. (A SYN during the handshake is a retransmission.) */
		l4_flow_replace(lw, snap, e, now_tsc);
		*changed = true;
		e = NULL;
	}
	if (e != NULL)
		return l4_established(lw, snap, p, e, dir, now_tsc);
	if (p->ip->next_proto_id == IPPROTO_TCP) {
		r = l4_health_answer(lw, snap, p, m);
		if (r != L4_NOT_MINE)
			return r;
	}
	flows_before = flow_table_count(lw->flows);
	ref = l4_service_lookup(snap, 4, &p->ip->dst_addr, l4_rd16(p->dport), p->ip->next_proto_id);
	if (ref.service >= 0)
		r = l4_new_service_flow(lw, snap, ref, p, m, now_tsc);
	else if (p->ip->next_proto_id == IPPROTO_ICMP && l4_is_local(snap, p->ip->dst_addr))
		r = NET_CHECK_OK; /* ICMP echo to the node itself */
	else
		r = l4_new_other_flow(lw, snap, p, m, now_tsc);
	if (flow_table_count(lw->flows) != flows_before)
		*changed = true;
	return r;
}

/* What steering needs of a packet: its flow's tuple, network byte order. */
struct l4_steer {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	int8_t local; /* dst is the node's (FIB): 1, 0, or -1 not looked up yet */
};

/*
 * The workers that own the flows of @p n packets (steering, for more than one
 * worker), computed from each packet alone so that both directions of a flow
 * agree:
 *   health-check answers: any worker (their state is shared);
 *   replies to a full-NAT source port: the worker whose share the port is;
 *   to a VIP: by the client's (address, port), the source;
 *   from an endpoint: by the client's (address, port), the destination (DNAT);
 *   anything else: a symmetric hash of both (address, port) pairs.
 * The VIP and endpoint tables are searched in bulk, once each for the burst.
 */
static void l4_owners(const struct l4_worker *lw, const struct cfg_snapshot *snap,
		      const struct l4_steer *st, uint16_t n, uint16_t *owner)
{
	const struct l4_snap_rt *srt = snap->l4_rt;
	struct l4_vip_key vk[L4_BURST];
	struct l4_ep_key ek[L4_BURST];
	const void *kp[L4_BURST];
	void *data[L4_BURST];
	int32_t pos[L4_BURST];
	/* packets to look up (vi, ei) and their key among the distinct ones (vof, eof):
	 * a run of packets of one VIP or one endpoint, as a burst mostly is, costs
	 * one lookup */
	uint16_t vi[L4_BURST], vof[L4_BURST], ei[L4_BURST], eof[L4_BURST];
	uint16_t nv = 0, nvk = 0, ne = 0, nek = 0;
	uint64_t hits = 0;

	for (uint16_t i = 0; i < n; i++) {
		const uint16_t dp = rte_be_to_cpu_16(st[i].dport);
		bool snat = false;

		if (dp >= L4_HC_PORT_BASE && dp < L4_HC_PORT_BASE + L4_HC_PORT_SLOTS &&
		    (st[i].local >= 0 ? st[i].local == 1 : l4_is_local(snap, st[i].dst))) {
			owner[i] = lw->worker_id;
			continue;
		}
		if (srt != NULL && dp >= L4_SNAT_PORT_MIN && dp < L4_HC_PORT_BASE)
			for (uint32_t k = 0; k < srt->n_snat && !snat; k++)
				snat = srt->snat[k] == st[i].dst;
		if (snat) {
			owner[i] = (uint16_t)((dp - L4_SNAT_PORT_MIN) % lw->n_workers);
			continue;
		}
		if (nv == 0 || st[vi[nv - 1]].dst != st[i].dst ||
		    st[vi[nv - 1]].dport != st[i].dport || st[vi[nv - 1]].proto != st[i].proto) {
			memset(&vk[nvk], 0, sizeof(vk[nvk]));
			memcpy(vk[nvk].addr, &st[i].dst, 4);
			vk[nvk].port_be = st[i].dport;
			vk[nvk].proto = st[i].proto;
			vk[nvk].family = 4;
			kp[nvk] = &vk[nvk];
			nvk++;
		}
		vof[nv] = nvk - 1;
		vi[nv++] = i;
	}
	/* in bulk when the burst is worth it: below L4_STEER_BULK_MIN keys the bulk
	 * call's fixed cost is more than the single lookups' */
	if (nvk >= L4_STEER_BULK_MIN && snap->vip_hash != NULL)
		rte_hash_lookup_bulk_data(snap->vip_hash, kp, nvk, &hits, data);
	else if (snap->vip_hash != NULL)
		for (uint16_t k = 0; k < nvk; k++)
			hits |= (uint64_t)(rte_hash_lookup_data(snap->vip_hash, kp[k], &data[k]) >=
					   0)
				<< k;
	for (uint16_t j = 0; j < nv; j++) {
		const uint16_t i = vi[j];

		if ((hits >> vof[j]) & 1) {
			owner[i] = (uint16_t)(rte_jhash_2words(st[i].src, st[i].sport, 0) %
					      lw->n_workers);
			continue;
		}
		if (ne == 0 || st[ei[ne - 1]].src != st[i].src ||
		    st[ei[ne - 1]].sport != st[i].sport || st[ei[ne - 1]].proto != st[i].proto) {
			memset(&ek[nek], 0, sizeof(ek[nek]));
			ek[nek].addr = st[i].src;
			ek[nek].port = st[i].sport;
			ek[nek].proto = st[i].proto;
			kp[nek] = &ek[nek];
			nek++;
		}
		eof[ne] = nek - 1;
		ei[ne++] = i;
	}
	if (ne == 0)
		return;
	if (srt != NULL && srt->ep_hash != NULL && nek >= L4_STEER_BULK_MIN)
		rte_hash_lookup_bulk(srt->ep_hash, kp, nek, pos);
	else if (srt != NULL && srt->ep_hash != NULL)
		for (uint16_t k = 0; k < nek; k++)
			pos[k] = rte_hash_lookup(srt->ep_hash, kp[k]);
	else
		for (uint16_t k = 0; k < nek; k++)
			pos[k] = -ENOENT;
	for (uint16_t j = 0; j < ne; j++) {
		const struct l4_steer *t = &st[ei[j]];

		owner[ei[j]] =
			(uint16_t)((pos[eof[j]] >= 0
					    ? rte_jhash_2words(t->dst, t->dport, 0)
					    : rte_jhash_2words(t->src, t->sport, 0) ^
						      rte_jhash_2words(t->dst, t->dport, 0)) %
				   lw->n_workers);
	}
}

/* l4_owners() for one flow. Addresses and ports in network byte order. */
static uint16_t l4_owner(const struct l4_worker *lw, const struct cfg_snapshot *snap, uint32_t src,
			 uint16_t sport, uint32_t dst, uint16_t dport, uint8_t proto)
{
	const struct l4_steer st = {.src = src,
				    .dst = dst,
				    .sport = sport,
				    .dport = dport,
				    .proto = proto,
				    .local = -1};
	uint16_t owner;

	l4_owners(lw, snap, &st, 1, &owner);
	return owner;
}

/*
 * Pass a frame to the worker that owns its flow. The L2 header net parsed off
 * is still in front of the data: put it back, so the owner runs the frame
 * through net_input() as if it had received it. @return the verdict.
 */
static enum stats_id l4_handoff(struct l4_worker *lw, struct rte_mbuf *m, uint16_t owner)
{
	struct rte_ring *r = lw->g->handoff[owner];

	if (m->l2_len == RTE_ETHER_HDR_LEN && m->vlan_tci != 0)
		m->ol_flags |= RTE_MBUF_F_RX_VLAN_STRIPPED; /* net cleared it */
	if (r == NULL || rte_pktmbuf_prepend(m, m->l2_len) == NULL)
		return STAT_DROP_L4_HANDOFF_FULL;
	m->ol_flags |= lw->g->handoff_flag;
	if (rte_ring_mp_enqueue(r, m) != 0)
		return STAT_DROP_L4_HANDOFF_FULL;
	stats_inc(lw->stats, STAT_L4_HANDOFF_OUT);
	return NET_L4_CONSUMED;
}

unsigned int l4_handoff_poll(struct l4_worker *lw, struct net_worker *nw,
			     const struct cfg_snapshot *snap, uint64_t now_tsc)
{
	struct rte_mbuf *pkts[L4_HANDOFF_BURST];
	struct rte_ring *r = lw->g != NULL ? lw->g->handoff[lw->worker_id] : NULL;
	unsigned int n;

	if (r == NULL)
		return 0;
	n = rte_ring_sc_dequeue_burst(r, (void **)pkts, L4_HANDOFF_BURST, NULL);
	for (unsigned int i = 0; i < n; i++)
		net_input(nw, snap, pkts[i]->port, &pkts[i], 1, now_tsc);
	stats_add(lw->stats, STAT_L4_HANDOFF_IN, n);
	return n;
}

enum stats_id l4_upstream_open(struct l4_worker *lw, const struct cfg_snapshot *snap,
			       uint32_t service, uint8_t port_idx, uint16_t target_port,
			       uint32_t client, uint16_t client_port, uint32_t local,
			       uint16_t local_port, uint64_t now_tsc, struct l4_upstream *up)
{
	const struct l4_service *sv = &snap->services[service];
	struct l4_svc_rt *rt = sv->rt;
	int workload = l4_workload_of(snap, 4, &client);
	enum ep_admit adm;
	uint16_t idx;

	memset(up, 0, sizeof(*up));
	if (!((l4_policy_mask(snap, workload, service) >> port_idx) & 1))
		return STAT_DROP_L4_POLICY_DENIED;
	if (rt == NULL || sv->family != 4)
		return STAT_DROP_L4_NO_ENDPOINT;
	idx = l4_admit(lw, sv, rt,
		       lb_flow_hash4(client, local, client_port, local_port, IPPROTO_TCP), now_tsc,
		       &adm);
	if (idx == LB_NONE)
		return adm == EP_REFUSE_MAX_CONN || adm == EP_REFUSE_MAX_PENDING
			       ? STAT_DROP_L4_BREAKER_OPEN
			       : STAT_DROP_L4_NO_ENDPOINT;
	up->ep = rt->eps[idx];
	up->service = service;
	up->endpoint = idx;
	up->probe = adm == EP_ADMIT_PROBE;
	memcpy(&up->addr, sv->endpoints[idx].addr, 4);
	up->port =
		rte_cpu_to_be_16(sv->endpoints[idx].port ? sv->endpoints[idx].port : target_port);
	up->source = l4_source_for(snap, up->addr);
	return NET_CHECK_OK;
}

void l4_upstream_result(struct l4_worker *lw, const struct cfg_snapshot *snap,
			struct l4_upstream *up, bool ok, uint64_t now_tsc)
{
	static const struct ep_limits no_ejection;
	struct l4_svc_rt *rt = l4_svc_of(snap, up->service, up->endpoint, up->ep);

	if (up->ep == NULL)
		return;
	if (ok) {
		ep_connect_ok(up->ep, up->probe, rt ? &rt->group : NULL);
		stats_inc(lw->stats, STAT_L4_CONNECTS_OK);
	} else {
		ep_connect_failed(up->ep, rt ? &rt->limits : &no_ejection, now_tsc, up->probe,
				  rt ? &rt->group : NULL);
		stats_inc(lw->stats, STAT_L4_CONNECTS_FAILED);
	}
	up->probe = false;
}

void l4_upstream_close(struct l4_upstream *up)
{
	if (up->ep != NULL)
		ep_conn_closed(up->ep);
	up->ep = NULL;
}

void *l4_listener_admit(const struct cfg_listener *cl)
{
	struct ep_state *s = cl->rt;
	uint32_t n;

	if (s == NULL)
		return NULL;
	n = __atomic_add_fetch(&s->active, 1, __ATOMIC_RELAXED);
	if (cl->max_connections != 0 && n > cl->max_connections) {
		__atomic_sub_fetch(&s->active, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	return s;
}

void l4_listener_release(void *slot)
{
	struct ep_state *s = slot;

	if (s != NULL)
		__atomic_sub_fetch(&s->active, 1, __ATOMIC_RELAXED);
}

uint16_t l4_tcp_owner(const struct l4_worker *lw, const struct cfg_snapshot *snap, uint32_t local,
		      uint16_t lport, uint32_t remote, uint16_t rport)
{
	if (lw->n_workers <= 1)
		return lw->worker_id;
	return l4_owner(lw, snap, remote, rport, local, lport, IPPROTO_TCP);
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

/* ---- active health checks (SM-DR26): SYN, then SYN-ACK (healthy) or RST ---- */

/* The probe source port of an endpoint: its state's slot, the same across swaps. */
static uint16_t l4_hc_port(const struct l4_endpoint *ep)
{
	const struct ep_state *st = ep->rt;

	return (uint16_t)(L4_HC_PORT_BASE + st->probe.slot);
}

static uint16_t l4_hc_target_port(const struct l4_service *sv, const struct l4_endpoint *ep)
{
	if (sv->health.port != 0)
		return sv->health.port;
	return ep->port ? ep->port : sv->ports[0].target_port;
}

/* The node's address towards @p dst: the first IPv4 address of the egress interface. */
static uint32_t l4_source_for(const struct cfg_snapshot *snap, uint32_t dst)
{
	uint32_t nhi = cfg_route4(snap, dst);
	const struct cfg_nexthop *nh;

	if (nhi == 0 || nhi >= snap->n_nexthops)
		return 0;
	nh = &snap->nexthops[nhi];
	if (nh->iface >= snap->n_ifaces || snap->ifaces[nh->iface].n_ipv4 == 0)
		return 0;
	return snap->ifaces[nh->iface].ipv4[0].addr;
}

static enum stats_id l4_health_answer(struct l4_worker *lw, const struct cfg_snapshot *snap,
				      struct l4_pkt *p, struct rte_mbuf *m)
{
	const struct l4_snap_rt *srt = snap->l4_rt;
	const struct rte_tcp_hdr *t = p->l4;
	const uint16_t dport = rte_be_to_cpu_16(l4_rd16(p->dport));
	const uint16_t sport = rte_be_to_cpu_16(l4_rd16(p->sport));
	const bool answer = (t->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG)) != 0;
	const uint32_t ack = rte_be_to_cpu_32(t->recv_ack);
	bool mine = false;

	if (dport < L4_HC_PORT_BASE || dport >= L4_HC_PORT_BASE + L4_HC_PORT_SLOTS || srt == NULL ||
	    srt->hc_first == NULL)
		return L4_NOT_MINE;
	/* the slot names the endpoints whose probes use the port; the answer must
	 * come from one of them and acknowledge its probe in flight (which may have
	 * been sent under an earlier snapshot: the probe lives in the state) */
	for (uint32_t i = srt->hc_first[dport - L4_HC_PORT_BASE]; i != UINT32_MAX;
	     i = srt->hc_next[i]) {
		const struct l4_endpoint *ep = &snap->endpoints[i];
		const struct l4_service *sv = &snap->services[ep->service];
		struct ep_state *st = ep->rt;
		struct l4_svc_rt *rt = sv->rt;
		uint32_t addr, one = 1;
		bool ok;

		memcpy(&addr, ep->addr, 4);
		if (addr != p->ip->src_addr || sport != l4_hc_target_port(sv, ep))
			continue;
		mine = true;
		if (!answer || rt == NULL ||
		    ack != __atomic_load_n(&st->probe.seq, __ATOMIC_RELAXED) + 1 ||
		    !__atomic_compare_exchange_n(&st->probe.inflight, &one, 0, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		ok = !(t->tcp_flags & RTE_TCP_RST_FLAG);
		ep_health_report(st, &rt->limits, ok);
		stats_inc(lw->stats, ok ? STAT_L4_HEALTH_OK : STAT_L4_HEALTH_FAILED);
		break;
	}
	if (!mine)
		return L4_NOT_MINE;
	/* Anything else from the endpoint to a probe port (a late SYN-ACK, a
	 * challenge ACK) is answered like a closed port would be, with a reset,
	 * so the endpoint does not keep a half-open connection; and the SYN-ACK
	 * of a successful check is closed the same way. */
	if (!(t->tcp_flags & RTE_TCP_RST_FLAG) && l4_reset(p, m) == NET_CHECK_OK)
		return NET_CHECK_OK;
	rte_pktmbuf_free(m);
	return NET_L4_CONSUMED;
}

static void l4_health_send(struct net_worker *nw, const struct cfg_snapshot *snap,
			   const struct l4_service *sv, const struct l4_endpoint *ep,
			   struct ep_probe *pr, uint64_t now)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(nw->pool);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *t;
	uint32_t dst;

	if (m == NULL)
		return;
	memcpy(&dst, ep->addr, 4);
	ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(m, sizeof(*ip) + sizeof(*t));
	if (ip == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	t = (struct rte_tcp_hdr *)(ip + 1);
	memset(ip, 0, sizeof(*ip) + sizeof(*t));
	pr->seq = (uint32_t)rte_rdtsc();
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*t));
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = l4_source_for(snap, dst);
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	t->src_port = rte_cpu_to_be_16(l4_hc_port(ep));
	t->dst_port = rte_cpu_to_be_16(l4_hc_target_port(sv, ep));
	t->sent_seq = rte_cpu_to_be_32(pr->seq);
	t->data_off = (sizeof(*t) / 4) << 4;
	t->tcp_flags = RTE_TCP_SYN_FLAG;
	t->rx_win = rte_cpu_to_be_16(1024);
	t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	pr->sent_tsc = now;
	__atomic_store_n(&pr->inflight, 1, __ATOMIC_RELEASE);
	stats_inc(nw->stats, STAT_L4_HEALTH_PROBES);
	net_output4(nw, snap, m, now);
}

/* Worker 0, endpoint @p i of @p snap: time out its probe in flight, send the next
 * one when it is due. */
static void l4_health_visit(struct l4_worker *lw, struct net_worker *nw,
			    const struct cfg_snapshot *snap, uint32_t i, uint64_t now)
{
	const struct l4_endpoint *ep = &snap->endpoints[i];
	const struct l4_service *sv = &snap->services[ep->service];
	struct l4_svc_rt *rt = sv->rt;
	struct ep_state *st = ep->rt;
	struct ep_probe *pr = &st->probe;
	uint32_t one = 1;

	if (rt == NULL || rt->hc_interval_tsc == 0 || sv->family != 4)
		return;
	if (now - pr->sent_tsc > rt->hc_timeout_tsc &&
	    __atomic_compare_exchange_n(&pr->inflight, &one, 0, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED)) {
		ep_health_report(st, &rt->limits, false);
		stats_inc(lw->stats, STAT_L4_HEALTH_FAILED);
	}
	/* a new endpoint: spread the first probes over one interval; an interval
	 * that became shorter applies at once */
	if (pr->next_tsc == 0 || (int64_t)(pr->next_tsc - now) > (int64_t)rt->hc_interval_tsc)
		pr->next_tsc = now + rt->hc_interval_tsc * i / RTE_MAX(snap->n_endpoints, 1u);
	if ((int64_t)(now - pr->next_tsc) < 0 || __atomic_load_n(&pr->inflight, __ATOMIC_ACQUIRE))
		return;
	pr->next_tsc = now + rt->hc_interval_tsc;
	l4_health_send(nw, snap, sv, ep, pr, now);
}

/*
 * Worker 0: a pass over the snapshot's endpoints starts every L4_HEALTH_TICK_US
 * and looks at L4_HEALTH_BUDGET endpoints per call, so that a large snapshot
 * does not stall the worker. The cursor is an index into whatever snapshot is
 * live: after a swap the pass goes on in the new array (an endpoint may wait
 * for the next pass, its schedule is in its state).
 */
static void l4_health_scan(struct l4_worker *lw, struct net_worker *nw,
			   const struct cfg_snapshot *snap, uint64_t now)
{
	uint32_t budget = L4_HEALTH_BUDGET;

	if (lw->health_cursor >= snap->n_endpoints) {
		if ((int64_t)(now - lw->next_health_tsc) < 0)
			return;
		lw->next_health_tsc = now + lw->tsc_hz / (1000000 / L4_HEALTH_TICK_US);
		lw->health_cursor = 0;
	}
	while (lw->health_cursor < snap->n_endpoints && budget-- > 0)
		l4_health_visit(lw, nw, snap, lw->health_cursor++, now);
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
