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

#endif
