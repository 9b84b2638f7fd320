/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Active health checks (SM-DR26): worker 0 sends each checked endpoint a SYN from
 * a probe port of its state's slot (l4_health_scan(), from l4_timer()), and any
 * worker takes the answer (l4_health_answer(), from l4_decide()): a SYN-ACK is
 * healthy, a RST or no answer in time is not; the endpoint is then reset. Also
 * the node's source address towards an endpoint, which the upstream API uses.
 */

#include <string.h>

#include <rte_cycles.h>

#include "l4_internal.h"

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
uint32_t l4_source_for(const struct cfg_snapshot *snap, uint32_t dst)
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

enum stats_id l4_health_answer(struct l4_worker *lw, const struct cfg_snapshot *snap,
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
void l4_health_scan(struct l4_worker *lw, struct net_worker *nw, const struct cfg_snapshot *snap,
		    uint64_t now)
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
