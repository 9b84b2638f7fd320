/* SPDX-License-Identifier: BSD-3-Clause */
/* net: RFC 826 ARP for Ethernet / IPv4: answer for our addresses, learn, resolve. */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>

#include "net_internal.h"

static uint32_t net_prefix_mask(uint8_t len)
{
	return len == 0 ? 0 : rte_cpu_to_be_32(~0u << (32 - (len > 32 ? 32 : len)));
}

static bool net_arp_on_link(const struct cfg_iface *ifc, uint32_t ip)
{
	if (ip == 0)
		return false;
	for (uint8_t i = 0; i < ifc->n_ipv4; i++) {
		uint32_t mask = net_prefix_mask(ifc->ipv4[i].len);

		if (((ip ^ ifc->ipv4[i].addr) & mask) == 0)
			return true;
	}
	return false;
}

static bool net_arp_is_ours(const struct cfg_iface *ifc, uint32_t ip)
{
	for (uint8_t i = 0; i < ifc->n_ipv4; i++)
		if (ifc->ipv4[i].addr == ip)
			return true;
	return false;
}

void net_arp_input(struct net_worker *nw, struct rte_mbuf *m, const struct net_rx *rx)
{
	const struct cfg_iface *ifc = rx->ifc;
	struct rte_arp_hdr *arp;
	struct neigh_key key;
	uint32_t sip, tip;
	uint16_t op;
	bool ours;

	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*arp))) {
		net_drop(nw, m, STAT_DROP_ARP_MALFORMED);
		return;
	}
	arp = rte_pktmbuf_mtod(m, struct rte_arp_hdr *);
	op = rte_be_to_cpu_16(arp->arp_opcode);
	if (unlikely(arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
		     arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
		     arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4 ||
		     (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) ||
		     rte_is_multicast_ether_addr(&arp->arp_data.arp_sha) ||
		     rte_is_zero_ether_addr(&arp->arp_data.arp_sha))) {
		net_drop(nw, m, STAT_DROP_ARP_MALFORMED);
		return;
	}
	sip = arp->arp_data.arp_sip;
	tip = arp->arp_data.arp_tip;
	if (unlikely(!net_arp_on_link(ifc, sip))) {
		net_drop(nw, m, STAT_DROP_ARP_OFF_LINK);
		return;
	}
	ours = net_arp_is_ours(ifc, tip);
	neigh_key4(&key, ifc->port_id, ifc->vlan, sip);

	if (op == RTE_ARP_OP_REPLY) {
		/* A reply that names us confirms; others only refresh (RFC 826 merge flag). */
		net_post(nw, &key, &arp->arp_data.arp_sha,
			 ours ? NEIGH_EV_CONFIRM : NEIGH_EV_UPDATE);
		net_drop(nw, m, STAT_ARP_REPLIES_IN);
		return;
	}
	if (!ours) {
		net_post(nw, &key, &arp->arp_data.arp_sha, NEIGH_EV_UPDATE);
		net_drop(nw, m, STAT_DROP_ARP_NOT_FOR_US);
		return;
	}
	stats_inc(nw->stats, STAT_ARP_REQUESTS_IN);
	net_post(nw, &key, &arp->arp_data.arp_sha, NEIGH_EV_CONFIRM);

	/* Answer in place: drop padding, swap sender and target. */
	if (unlikely(net_reset_len(m, sizeof(*arp)) != 0)) {
		net_drop(nw, m, STAT_DROP_NO_HEADROOM);
		return;
	}
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = sip;
	arp->arp_data.arp_sha = ifc->mac;
	arp->arp_data.arp_sip = tip;
	stats_inc(nw->stats, STAT_ARP_REPLIES_OUT);
	net_send(nw, ifc, m, &arp->arp_data.arp_tha, RTE_ETHER_TYPE_ARP);
}

/*
 * Send an ARP request for @p tip (network order) on @p ifc: broadcast, or unicast
 * to @p unicast (a probe of a stale entry). The sender address is the interface
 * address on the target's subnet, else its first address. Counts ARP_REQUESTS_OUT
 * for broadcasts; the caller counts probes. @return 0 or a negative errno.
 */
int net_arp_request(struct net_worker *nw, const struct cfg_iface *ifc, uint32_t tip,
		    const struct rte_ether_addr *unicast)
{
	static const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	struct rte_arp_hdr *arp;
	struct rte_mbuf *m;
	uint32_t sip;

	if (ifc->n_ipv4 == 0)
		return -EADDRNOTAVAIL;
	sip = ifc->ipv4[0].addr;
	for (uint8_t i = 0; i < ifc->n_ipv4; i++) {
		if (((tip ^ ifc->ipv4[i].addr) & net_prefix_mask(ifc->ipv4[i].len)) == 0) {
			sip = ifc->ipv4[i].addr;
			break;
		}
	}
	m = net_alloc(nw, sizeof(*arp));
	if (m == NULL)
		return -ENOMEM;
	arp = rte_pktmbuf_mtod(m, struct rte_arp_hdr *);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = ifc->mac;
	arp->arp_data.arp_sip = sip;
	memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
	arp->arp_data.arp_tip = tip;
	if (unicast == NULL)
		stats_inc(nw->stats, STAT_ARP_REQUESTS_OUT);
	net_send(nw, ifc, m, unicast != NULL ? unicast : &bcast, RTE_ETHER_TYPE_ARP);
	return 0;
}
