/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * New-flow policy: what happens to the first packet of a flow (and to a bare SYN
 * reopening a finished one), l4_decide(). Service flows go through the policy,
 * the rate limits, the balancer and the endpoint's breaker, then get their NAT
 * keys and a flow entry; other flows are control-plane traffic, egress to an
 * external service, or refused. Also the flow entries' endpoint accounting
 * (connect results, expiry, replacement), which l4_track() and l4_timer() use.
 * The per-packet limits (l4_limits_admit()) and the balancer (l4_admit()) are
 * shared with the established path and the upstream API.
 */

#include <errno.h>
#include <string.h>

#include <urcu-qsbr.h>

#include "l4_internal.h"

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

/* The service's lb as a pick policy. */
static enum l4_pick_policy l4_policy_of(const struct l4_service *sv)
{
	switch (sv->lb) {
	case L4_LB_MAGLEV:
		return L4_PICK_MAGLEV;
	case L4_LB_ROUND_ROBIN:
		return L4_PICK_ROUND_ROBIN;
	default:
		return L4_PICK_SERVICE; /* least connections: the service's own */
	}
}

/* murmur3's 64-bit finalizer: the random bits of try @p attempt. */
static uint64_t l4_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/*
 * An endpoint for a new connection whose 5-tuple hashes to @p h (Maglev's key),
 * or as @p o says (NULL: the service's lb); @p attempt: the choice's number
 * (the breaker refused the ones before).
 */
static uint16_t l4_pick(struct l4_worker *lw, const struct l4_service *sv, struct l4_svc_rt *rt,
			uint32_t h, const struct l4_pick_opts *o, uint32_t attempt)
{
	uint16_t n = (uint16_t)sv->n_endpoints;
	enum l4_pick_policy policy = l4_policy_of(sv);
	uint64_t r = 0;
	uint16_t first, second;

	if (o != NULL) {
		if (o->policy != L4_PICK_SERVICE)
			policy = o->policy;
		if (o->hashed)
			h = o->hash;
		r = l4_mix64(o->rand + attempt * 0x9e3779b97f4a7c15ull);
	}
	/* only a Maglev service has a table (a swap may have changed the service
	 * since the caller chose the policy) */
	if (policy == L4_PICK_MAGLEV && sv->lb != L4_LB_MAGLEV)
		policy = l4_policy_of(sv);
	switch (policy) {
	case L4_PICK_MAGLEV: {
		const struct lb_maglev *mg = rcu_dereference(rt->maglev);

		return lb_maglev_lookup(mg, h + attempt * 0x9e3779b9u);
	}
	case L4_PICK_ROUND_ROBIN:
		return lb_pick_rr(&rt->rr[(size_t)lw->worker_id * n], rt->backends, n);
	case L4_PICK_RANDOM:
		return lb_pick_two(rt->backends, n, r, &second);
	case L4_PICK_LEAST_REQUEST:
		first = lb_pick_two(rt->backends, n, r, &second);
		if (first != LB_NONE &&
		    lb_less_loaded(__atomic_load_n(&rt->eps[second]->active, __ATOMIC_RELAXED),
				   rt->backends[second].weight,
				   __atomic_load_n(&rt->eps[first]->active, __ATOMIC_RELAXED),
				   rt->backends[first].weight))
			return second;
		return first;
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
uint16_t l4_admit(struct l4_worker *lw, const struct l4_service *sv, struct l4_svc_rt *rt,
		  uint32_t hash, const struct l4_pick_opts *pick, uint64_t now, enum ep_admit *adm)
{
	*adm = EP_REFUSE_EJECTED;
	for (uint32_t t = 0; t < L4_PICK_TRIES; t++) {
		uint16_t idx = l4_pick(lw, sv, rt, hash, pick, t);

		if (idx == LB_NONE || idx >= sv->n_endpoints)
			break;
		*adm = ep_admit(rt->eps[idx], &rt->limits, now);
		if (*adm == EP_ADMIT || *adm == EP_ADMIT_PROBE)
			return idx;
	}
	return LB_NONE;
}

bool l4_limits_admit(struct l4_worker *lw, struct l4_svc_rt *rt, const struct l4_pkt *p,
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

void l4_connect_result(struct l4_worker *lw, const struct cfg_snapshot *snap, struct flow_entry *e,
		       bool ok, uint64_t now)
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

/* A flow leaves the table: settle its endpoint admission. */
void l4_on_expire(struct flow_entry *e, void *arg)
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
		       NULL, now, &adm);
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

/*
 * One packet with ports, given what the flow table said (@p e NULL: a miss).
 * @p changed is set when the table gained or lost a flow, which makes other
 * lookups of the same burst stale.
 */
__rte_noinline enum stats_id l4_decide(struct l4_worker *lw, const struct cfg_snapshot *snap,
				       struct l4_pkt *p, struct rte_mbuf *m, struct flow_entry *e,
				       uint8_t dir, uint64_t now_tsc, bool *changed)
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
