/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Steering, with more than one worker: which worker owns a flow, computed from a
 * packet alone so that both directions agree (l4_owners(), in bulk for a burst),
 * the hand-off of a frame to its owner over that worker's ring and the owner's
 * poll of it, and the owner of the proxy's TCP connections (l4_tcp_owner()).
 */

#include <errno.h>
#include <string.h>

#include <rte_jhash.h>

#include "l4_internal.h"

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
void l4_owners(const struct l4_worker *lw, const struct cfg_snapshot *snap,
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
enum stats_id l4_handoff(struct l4_worker *lw, struct rte_mbuf *m, uint16_t owner)
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

	if (r == NULL || lw->n_workers <= 1) /* nobody hands off to a lone worker */
		return 0;
	n = rte_ring_sc_dequeue_burst(r, (void **)pkts, L4_HANDOFF_BURST, NULL);
	for (unsigned int i = 0; i < n; i++)
		net_input(nw, snap, pkts[i]->port, &pkts[i], 1, now_tsc);
	stats_add(lw->stats, STAT_L4_HANDOFF_IN, n);
	return n;
}

uint16_t l4_tcp_owner(const struct l4_worker *lw, const struct cfg_snapshot *snap, uint32_t local,
		      uint16_t lport, uint32_t remote, uint16_t rport)
{
	if (lw->n_workers <= 1)
		return lw->worker_id;
	return l4_owner(lw, snap, remote, rport, local, lport, IPPROTO_TCP);
}
