/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net: helpers shared by net.c (Ethernet, output, neighbour resolution, timer),
 * arp.c, ipv4.c and ipv6.c. Not for other subsystems.
 *
 * Convention inside net: after net.c has parsed the L2 header, the mbuf's data
 * starts at the L3 header (rte_pktmbuf_adj); whatever goes out gets a fresh L2
 * header prepended by net_l2_prepend(), so replies on a VLAN interface carry the
 * tag whether the NIC stripped it on receive or not.
 * Multi-segment frames: every header net reads or writes must lie in the first
 * segment; checksums over payloads use rte_raw_cksum_mbuf().
 */
#ifndef MESHDP_NET_INTERNAL_H
#define MESHDP_NET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "net.h"

#define NET_BURST 64 /* frames handled per pass of net_input() */

/* What the L2 parser learned about a received frame. */
struct net_rx {
	const struct cfg_iface *ifc; /* ingress interface */
	struct rte_ether_addr src;   /* L2 source: where replies and ICMP errors go */
	bool l2_group;		     /* L2 destination was broadcast or multicast */
};

/* Count one frame that ends here and free it. */
static inline void net_drop(struct net_worker *nw, struct rte_mbuf *m, enum stats_id why)
{
	stats_inc(nw->stats, why);
	rte_pktmbuf_free(m);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on 16-bit words as they lie in memory. */
static inline uint16_t net_cksum_adjust(uint16_t cksum, uint16_t old_word, uint16_t new_word)
{
	uint32_t s = (uint32_t)(uint16_t)~cksum + (uint16_t)~old_word + new_word;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* net.c */
struct rte_mbuf *net_alloc(struct net_worker *nw, uint16_t len);
bool net_icmp_allow(struct net_worker *nw, uint64_t now_tsc);
struct rte_mbuf *net_icmp_error_alloc(struct net_worker *nw, const struct rte_mbuf *m,
				      uint16_t ip_len, uint32_t quote, uint8_t type, uint8_t code,
				      uint32_t info, uint64_t now_tsc);
int net_reset_len(struct rte_mbuf *m, uint16_t len);
void net_send(struct net_worker *nw, const struct cfg_iface *ifc, struct rte_mbuf *m,
	      const struct rte_ether_addr *dst, uint16_t ether_type);
void net_forward(struct net_worker *nw, const struct cfg_snapshot *snap,
		 const struct cfg_iface *out, struct rte_mbuf *m, uint8_t family,
		 const uint8_t *nh_addr, uint64_t now_tsc);
void net_forward4_unresolved(struct net_worker *nw, const struct cfg_snapshot *snap,
			     const struct cfg_iface *out, struct rte_mbuf *m, uint32_t nh,
			     uint64_t now_tsc);
void net_probe_stale(struct net_worker *nw, const struct cfg_snapshot *snap,
		     const struct cfg_iface *out, const struct neigh_entry *e,
		     const struct rte_ether_addr *mac, uint64_t now_tsc);
uint64_t net_ms_to_tsc(const struct net_worker *nw, uint32_t ms);
void net_post(struct net_worker *nw, const struct neigh_key *key, const struct rte_ether_addr *mac,
	      enum neigh_event_kind kind);

/* arp.c */
void net_arp_input(struct net_worker *nw, struct rte_mbuf *m, const struct net_rx *rx);
int net_arp_request(struct net_worker *nw, const struct cfg_iface *ifc, uint32_t tip,
		    const struct rte_ether_addr *unicast);

/* ipv4.c */
void net_ipv4_burst(struct net_worker *nw, const struct cfg_snapshot *snap, struct rte_mbuf **pkts,
		    const struct net_rx *rx, uint16_t n, uint64_t now_tsc);

/* ipv6.c */
void net_ipv6_input(struct net_worker *nw, const struct cfg_snapshot *snap, struct rte_mbuf *m,
		    const struct net_rx *rx, uint64_t now_tsc);
int net_ndp_solicit(struct net_worker *nw, const struct cfg_iface *ifc, const uint8_t target[16],
		    const struct rte_ether_addr *unicast);

/* --- output, inline on the forward path (net.c, ipv4.c) --- */

static inline void net_out_push(struct net_worker *nw, uint16_t port, struct rte_mbuf *m)
{
	struct net_out *o;

	if (unlikely(port >= RTE_MAX_ETHPORTS)) {
		net_drop(nw, m, STAT_DROP_NO_IFACE);
		return;
	}
	o = &nw->out[port];
	if (unlikely(o->n >= NET_OUT_MAX)) {
		net_drop(nw, m, STAT_DROP_TX_FULL);
		return;
	}
	o->pkts[o->n++] = m;
}

/* Prepend the L2 header of @p ifc (with its 802.1Q tag, if any). */
static inline int net_l2_prepend(struct rte_mbuf *m, const struct cfg_iface *ifc,
				 const struct rte_ether_addr *dst, uint16_t ether_type)
{
	uint16_t hl = ifc->vlan ? sizeof(struct rte_ether_hdr) + sizeof(struct rte_vlan_hdr)
				: sizeof(struct rte_ether_hdr);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, hl);

	if (unlikely(eth == NULL))
		return -ENOSPC;
	eth->dst_addr = *dst;
	eth->src_addr = ifc->mac;
	if (ifc->vlan) {
		struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		vh->vlan_tci = rte_cpu_to_be_16(ifc->vlan & 0xfff);
		vh->eth_proto = rte_cpu_to_be_16(ether_type);
	} else {
		eth->ether_type = rte_cpu_to_be_16(ether_type);
	}
	/* Receive offload flags must not leak into transmit; keep the buffer kind. */
	m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
	m->vlan_tci = 0;
	m->l2_len = hl;
	return 0;
}

/* net_send(), inlined into net_forward4(): every forwarded frame goes this way. */
static __rte_always_inline void net_send_inline(struct net_worker *nw, const struct cfg_iface *ifc,
						struct rte_mbuf *m,
						const struct rte_ether_addr *dst,
						uint16_t ether_type)
{
	if (unlikely(net_l2_prepend(m, ifc, dst, ether_type) != 0)) {
		net_drop(nw, m, STAT_DROP_NO_HEADROOM);
		return;
	}
	net_out_push(nw, ifc->port_id, m);
}

/*
 * net_forward() of an IPv4 packet to next hop @p nh (network order), inline:
 * a resolved next hop (every frame of the forward path) costs no call; an
 * unresolved one is held by net_forward4_unresolved().
 */
static __rte_always_inline void net_forward4(struct net_worker *nw, const struct cfg_snapshot *snap,
					     const struct cfg_iface *out, struct rte_mbuf *m,
					     uint32_t nh, uint64_t now_tsc)
{
	const struct neigh_entry *e =
		neigh_lookup4_cached(nw->neigh, &nw->ncache, out->port_id, out->vlan, nh);
	struct rte_ether_addr mac;

	if (unlikely(e == NULL)) {
		net_forward4_unresolved(nw, snap, out, m, nh, now_tsc);
		return;
	}
	neigh_entry_mac(e, &mac);
	net_send_inline(nw, out, m, &mac, RTE_ETHER_TYPE_IPV4);
	if (unlikely(__atomic_load_n(&e->state, __ATOMIC_RELAXED) == NEIGH_STALE))
		net_probe_stale(nw, snap, out, e, &mac, now_tsc);
}

#endif
