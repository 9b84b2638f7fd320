/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net: IPv6 (RFC 8200) validation and forwarding, ICMPv6 (RFC 4443) echo and
 * errors, NDP (RFC 4861) NS/NA for our addresses and next-hop resolution.
 * No extension headers are delivered locally (only ICMPv6 directly), no RS/RA,
 * no redirects. A DAD NS (unspecified source) for our address is defended with
 * an NA to all-nodes (RFC 4861 7.2.4).
 */
#include <errno.h>
#include <string.h>

#include <rte_ip.h>

#include "net_internal.h"

#define NET_IPPROTO_ICMPV6   58
#define ICMP6_DST_UNREACH    1
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED  3
#define ICMP6_ECHO_REQUEST   128
#define ICMP6_ECHO_REPLY     129
#define ND_NEIGHBOR_SOLICIT  135
#define ND_NEIGHBOR_ADVERT   136
#define ND_OPT_SOURCE_LLADDR 1
#define ND_OPT_TARGET_LLADDR 2
#define ND_NA_FLAG_ROUTER    0x80
#define ND_NA_FLAG_SOLICITED 0x40
#define ND_NA_FLAG_OVERRIDE  0x20
#define NET_HOP_DEFAULT	     64
#define NET_ICMP6_QUOTE_MAX  (1280 - 40 - 8) /* RFC 4443 2.4(c): fit the minimum MTU */

/* NS and NA share this layout (RFC 4861 4.3 / 4.4), options follow. */
struct net_nd_msg {
	uint8_t type;
	uint8_t code;
	uint16_t cksum;
	uint8_t flags; /* NA: R S O; NS: reserved */
	uint8_t reserved[3];
	uint8_t target[16];
} __rte_packed;

struct net_nd_opt_lla {
	uint8_t type;
	uint8_t len; /* units of 8 bytes */
	uint8_t mac[RTE_ETHER_ADDR_LEN];
} __rte_packed;

/* An NS or NA with one link-layer address option, from the IPv6 header on. */
#define NET_ND_LEN \
	(sizeof(struct rte_ipv6_hdr) + sizeof(struct net_nd_msg) + sizeof(struct net_nd_opt_lla))

static const uint8_t net_all_nodes[16] = {0xff, 0x02, [15] = 0x01};

static bool net_ip6_is_mcast(const uint8_t *a)
{
	return a[0] == 0xff;
}

static bool net_ip6_is_unspec(const uint8_t *a)
{
	static const uint8_t z[16];

	return memcmp(a, z, 16) == 0;
}

static bool net_ip6_is_loopback(const uint8_t *a)
{
	static const uint8_t lo[16] = {[15] = 1};

	return memcmp(a, lo, 16) == 0;
}

static bool net_ip6_is_linklocal(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static bool net_ip6_is_solnode(const uint8_t *a)
{
	static const uint8_t p[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	return memcmp(a, p, 13) == 0;
}

static void net_ip6_solnode(uint8_t out[16], const uint8_t *target)
{
	static const uint8_t p[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	memcpy(out, p, 13);
	memcpy(out + 13, target + 13, 3);
}

/* @return true if @p a is one of @p ifc's addresses (link-local included). */
static bool net_ip6_is_ours(const struct cfg_iface *ifc, const uint8_t *a)
{
	if (memcmp(a, ifc->ipv6_link_local, 16) == 0)
		return true;
	for (uint8_t i = 0; i < ifc->n_ipv6; i++)
		if (memcmp(a, ifc->ipv6[i].addr, 16) == 0)
			return true;
	return false;
}

/* @return true if @p a is a multicast group @p ifc listens to (all-nodes, our solicited-node). */
static bool net_ip6_is_our_group(const struct cfg_iface *ifc, const uint8_t *a)
{
	if (memcmp(a, net_all_nodes, 16) == 0)
		return true;
	if (!net_ip6_is_solnode(a))
		return false;
	if (memcmp(a + 13, ifc->ipv6_link_local + 13, 3) == 0)
		return true;
	for (uint8_t i = 0; i < ifc->n_ipv6; i++)
		if (memcmp(a + 13, ifc->ipv6[i].addr + 13, 3) == 0)
			return true;
	return false;
}

enum stats_id net_ipv6_check(const struct rte_ipv6_hdr *ip, uint32_t len)
{
	if (len < sizeof(*ip))
		return STAT_DROP_IPV6_TRUNCATED;
	if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6)
		return STAT_DROP_IPV6_BAD_VERSION;
	if (sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len) > len)
		return STAT_DROP_IPV6_TRUNCATED;
	return NET_CHECK_OK;
}

/* Full ICMPv6 checksum of a single-segment message; ip->payload_len must be set. */
static uint16_t net_icmp6_cksum(const struct rte_ipv6_hdr *ip, const void *icmp)
{
	uint32_t s = rte_ipv6_phdr_cksum(ip, 0);

	s = __rte_raw_cksum(icmp, rte_be_to_cpu_16(ip->payload_len), s);
	return (uint16_t)~__rte_raw_cksum_reduce(s);
}

static void net_icmp6_error(struct net_worker *nw, const struct rte_mbuf *m,
			    const struct net_rx *rx, uint8_t type, uint8_t code, uint32_t info,
			    uint64_t now_tsc)
{
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv6_hdr *);
	const struct cfg_iface *ifc = rx->ifc;
	struct rte_ipv6_hdr *eip;
	struct rte_mbuf *e;
	uint32_t quote;
	uint8_t *icmp;
	uint16_t c;

	/* RFC 4443 2.4(e): not about errors or link-layer group frames; never to :: */
	if (rx->l2_group || net_ip6_is_unspec(ip->src_addr) || net_ip6_is_mcast(ip->src_addr))
		return;
	if (ip->proto == NET_IPPROTO_ICMPV6) {
		if (rte_pktmbuf_data_len(m) < sizeof(*ip) + 1 ||
		    *((const uint8_t *)(ip + 1)) < ICMP6_ECHO_REQUEST)
			return;
	}
	quote = RTE_MIN(rte_pktmbuf_pkt_len(m), (uint32_t)NET_ICMP6_QUOTE_MAX);
	e = net_icmp_error_alloc(nw, m, sizeof(*eip), quote, type, code, info, now_tsc);
	if (e == NULL)
		return;
	eip = rte_pktmbuf_mtod(e, struct rte_ipv6_hdr *);
	icmp = (uint8_t *)(eip + 1);
	eip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	eip->payload_len = rte_cpu_to_be_16((uint16_t)(8 + quote));
	eip->proto = NET_IPPROTO_ICMPV6;
	eip->hop_limits = NET_HOP_DEFAULT;
	memcpy(eip->src_addr, ifc->n_ipv6 ? ifc->ipv6[0].addr : ifc->ipv6_link_local, 16);
	memcpy(eip->dst_addr, ip->src_addr, 16);
	c = net_icmp6_cksum(eip, icmp);
	memcpy(icmp + 2, &c, 2);
	stats_inc(nw->stats, STAT_ICMP6_ERRORS_OUT);
	/* routed back via the ingress link, as for IPv4 (see net_icmp4_error()) */
	net_send(nw, ifc, e, &rx->src, RTE_ETHER_TYPE_IPV6);
}

/*
 * Write an NS or NA from @p ifc (RFC 4861 4.3 / 4.4) at @p ip, with our MAC as
 * its one option (source link-layer address in an NS, target in an NA), and
 * its checksum. @p src, @p dst and @p target must not overlap the frame.
 */
static void net_nd_fill(struct rte_ipv6_hdr *ip, const struct cfg_iface *ifc, const uint8_t *src,
			const uint8_t *dst, uint8_t type, uint8_t flags, const uint8_t *target)
{
	struct net_nd_msg *nd = (struct net_nd_msg *)(ip + 1);
	struct net_nd_opt_lla *opt = (struct net_nd_opt_lla *)(nd + 1);

	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(sizeof(*nd) + sizeof(*opt));
	ip->proto = NET_IPPROTO_ICMPV6;
	ip->hop_limits = 255;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
	memset(nd, 0, sizeof(*nd));
	nd->type = type;
	nd->flags = flags;
	memcpy(nd->target, target, 16);
	opt->type = type == ND_NEIGHBOR_SOLICIT ? ND_OPT_SOURCE_LLADDR : ND_OPT_TARGET_LLADDR;
	opt->len = 1;
	memcpy(opt->mac, ifc->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	nd->cksum = net_icmp6_cksum(ip, nd);
}

/*
 * Walk NDP options (RFC 4861 4.6). @return false if malformed; @p lla gets the
 * link-layer address option of type @p want, if present.
 */
static bool net_nd_options(const uint8_t *o, uint32_t n, uint8_t want, const uint8_t **lla)
{
	*lla = NULL;
	while (n > 0) {
		uint32_t olen;

		if (n < 2 || o[1] == 0)
			return false;
		olen = (uint32_t)o[1] * 8;
		if (olen > n)
			return false;
		if (o[0] == want && olen >= sizeof(struct net_nd_opt_lla))
			*lla = o + 2;
		o += olen;
		n -= olen;
	}
	return true;
}

static void net_ndp_ns(struct net_worker *nw, struct rte_mbuf *m, const struct net_rx *rx)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);
	uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
	struct net_nd_msg *ns = (struct net_nd_msg *)(ip + 1);
	const struct cfg_iface *ifc = rx->ifc;
	struct rte_ether_addr dmac, smac;
	uint8_t target[16], dst[16];
	const uint8_t *lla;
	bool dad = net_ip6_is_unspec(ip->src_addr);

	if (ip->hop_limits != 255 || ns->code != 0 || plen < sizeof(*ns) ||
	    net_ip6_is_mcast(ns->target) ||
	    !net_nd_options((const uint8_t *)(ns + 1), plen - sizeof(*ns), ND_OPT_SOURCE_LLADDR,
			    &lla) ||
	    (dad && (lla != NULL || !net_ip6_is_solnode(ip->dst_addr)))) {
		net_drop(nw, m, STAT_DROP_NDP_MALFORMED);
		return;
	}
	if (!net_ip6_is_ours(ifc, ns->target)) {
		net_drop(nw, m, STAT_DROP_NDP_NOT_FOR_US);
		return;
	}
	stats_inc(nw->stats, STAT_NDP_NS_IN);
	if (lla != NULL) {
		struct neigh_key key;

		memcpy(&smac, lla, sizeof(smac));
		neigh_key6(&key, ifc->port_id, ifc->vlan, ip->src_addr);
		net_post(nw, &key, &smac, NEIGH_EV_CONFIRM);
		dmac = smac;
	} else {
		dmac = rx->src;
	}
	memcpy(target, ns->target, 16);
	if (dad) {
		memcpy(dst, net_all_nodes, 16);
		rte_ether_addr_copy(&(struct rte_ether_addr){{0x33, 0x33, 0, 0, 0, 1}}, &dmac);
	} else {
		memcpy(dst, ip->src_addr, 16);
	}

	/* The advertisement, in place (RFC 4861 7.2.4). */
	if (net_reset_len(m, NET_ND_LEN) != 0) {
		net_drop(nw, m, STAT_DROP_NO_HEADROOM);
		return;
	}
	net_nd_fill(ip, ifc, target, dst, ND_NEIGHBOR_ADVERT,
		    ND_NA_FLAG_ROUTER | ND_NA_FLAG_OVERRIDE | (dad ? 0 : ND_NA_FLAG_SOLICITED),
		    target);
	stats_inc(nw->stats, STAT_NDP_NA_OUT);
	net_send(nw, ifc, m, &dmac, RTE_ETHER_TYPE_IPV6);
}

static void net_ndp_na(struct net_worker *nw, struct rte_mbuf *m, const struct net_rx *rx)
{
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv6_hdr *);
	uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
	const struct net_nd_msg *na = (const struct net_nd_msg *)(ip + 1);
	struct rte_ether_addr mac;
	struct neigh_key key;
	const uint8_t *lla;
	bool solicited;

	if (ip->hop_limits != 255 || na->code != 0 || plen < sizeof(*na) ||
	    net_ip6_is_mcast(na->target) ||
	    !net_nd_options((const uint8_t *)(na + 1), plen - sizeof(*na), ND_OPT_TARGET_LLADDR,
			    &lla)) {
		net_drop(nw, m, STAT_DROP_NDP_MALFORMED);
		return;
	}
	solicited = (na->flags & ND_NA_FLAG_SOLICITED) != 0;
	if (solicited && net_ip6_is_mcast(ip->dst_addr)) {
		net_drop(nw, m, STAT_DROP_NDP_MALFORMED);
		return;
	}
	/* Without the option (allowed for unicast solicitations) the L2 source is the owner. */
	if (lla != NULL)
		memcpy(&mac, lla, sizeof(mac));
	else
		mac = rx->src;
	neigh_key6(&key, rx->ifc->port_id, rx->ifc->vlan, na->target);
	/* Solicited: what we asked for; unsolicited only refreshes (RFC 4861 7.2.5). */
	net_post(nw, &key, &mac, solicited ? NEIGH_EV_CONFIRM : NEIGH_EV_UPDATE);
	net_drop(nw, m, STAT_NDP_NA_IN);
}

static void net_ipv6_local(struct net_worker *nw, struct rte_mbuf *m, const struct net_rx *rx,
			   bool group)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);
	uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
	uint8_t *icmp = (uint8_t *)(ip + 1);
	uint16_t sum, old_word, new_word;
	uint32_t s;
	uint8_t a[16];

	stats_inc(nw->stats, STAT_IPV6_LOCAL);
	if (ip->proto != NET_IPPROTO_ICMPV6) {
		net_drop(nw, m, STAT_DROP_IPV6_LOCAL_PROTO);
		return;
	}
	if (plen < 8 || rte_pktmbuf_data_len(m) < sizeof(*ip) + 8) {
		net_drop(nw, m, STAT_DROP_ICMP6_TRUNCATED);
		return;
	}
	if (rte_raw_cksum_mbuf(m, sizeof(*ip), plen, &sum) != 0) {
		net_drop(nw, m, STAT_DROP_ICMP6_TRUNCATED);
		return;
	}
	s = (uint32_t)rte_ipv6_phdr_cksum(ip, 0) + sum;
	if (__rte_raw_cksum_reduce(s) != 0xffff) {
		net_drop(nw, m, STAT_DROP_ICMP6_BAD_CHECKSUM);
		return;
	}
	switch (icmp[0]) {
	case ND_NEIGHBOR_SOLICIT:
	case ND_NEIGHBOR_ADVERT:
		/* NDP messages are small; options are parsed in the first segment */
		if (m->nb_segs != 1) {
			net_drop(nw, m, STAT_DROP_NDP_MALFORMED);
			return;
		}
		if (icmp[0] == ND_NEIGHBOR_SOLICIT)
			net_ndp_ns(nw, m, rx);
		else
			net_ndp_na(nw, m, rx);
		return;
	case ICMP6_ECHO_REQUEST:
		/* a reply to a group would need a unicast source chosen: not served */
		if (icmp[1] != 0 || group)
			break;
		memcpy(a, ip->src_addr, 16);
		memcpy(ip->src_addr, ip->dst_addr, 16);
		memcpy(ip->dst_addr, a, 16);
		ip->hop_limits = NET_HOP_DEFAULT;
		memcpy(&old_word, icmp, 2);
		icmp[0] = ICMP6_ECHO_REPLY;
		memcpy(&new_word, icmp, 2);
		memcpy(&sum, icmp + 2, 2);
		sum = net_cksum_adjust(sum, old_word, new_word);
		memcpy(icmp + 2, &sum, 2);
		stats_inc(nw->stats, STAT_ICMP6_ECHO_REPLIES);
		net_send(nw, rx->ifc, m, &rx->src, RTE_ETHER_TYPE_IPV6);
		return;
	default:
		break;
	}
	net_drop(nw, m, STAT_DROP_ICMP6_UNHANDLED);
}

static void net_ipv6_fwd(struct net_worker *nw, const struct cfg_snapshot *snap, struct rte_mbuf *m,
			 const struct net_rx *rx, const struct cfg_nexthop *nh, uint64_t now_tsc)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);
	const struct cfg_iface *out = &snap->ifaces[nh->iface];
	uint16_t mtu = out->mtu ? out->mtu : RTE_ETHER_MTU;

	if (rx->l2_group) {
		net_drop(nw, m, STAT_DROP_IPV6_BAD_DST);
		return;
	}
	/* RFC 4291 2.5.6: packets with a link-local source are never forwarded */
	if (net_ip6_is_linklocal(ip->src_addr) || net_ip6_is_unspec(ip->src_addr)) {
		net_drop(nw, m, STAT_DROP_IPV6_BAD_SRC);
		return;
	}
	if (ip->hop_limits <= 1) {
		net_icmp6_error(nw, m, rx, ICMP6_TIME_EXCEEDED, 0, 0, now_tsc);
		net_drop(nw, m, STAT_DROP_IPV6_HOP_LIMIT);
		return;
	}
	if (sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len) > mtu) {
		net_icmp6_error(nw, m, rx, ICMP6_PACKET_TOO_BIG, 0, mtu, now_tsc);
		net_drop(nw, m, STAT_DROP_IPV6_TOO_BIG);
		return;
	}
	ip->hop_limits--;
	stats_inc(nw->stats, STAT_IPV6_FORWARDED);
	net_forward(nw, snap, out, m, 6, nh->type == CFG_NH_GATEWAY ? nh->gw6 : ip->dst_addr,
		    now_tsc);
}

void net_ipv6_input(struct net_worker *nw, const struct cfg_snapshot *snap, struct rte_mbuf *m,
		    const struct net_rx *rx, uint64_t now_tsc)
{
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv6_hdr *);
	uint32_t plen = rte_pktmbuf_pkt_len(m);
	const struct cfg_nexthop *nh = NULL;
	uint32_t nhi, tot;
	enum stats_id r;

	stats_inc(nw->stats, STAT_IPV6_RX);
	if (unlikely(rte_pktmbuf_data_len(m) < RTE_MIN(plen, (uint32_t)sizeof(*ip)))) {
		net_drop(nw, m, STAT_DROP_IPV6_TRUNCATED);
		return;
	}
	r = net_ipv6_check(ip, plen);
	if (unlikely(r != NET_CHECK_OK)) {
		net_drop(nw, m, r);
		return;
	}
	tot = sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);
	if (plen > tot && rte_pktmbuf_trim(m, (uint16_t)(plen - tot)) != 0) {
		net_drop(nw, m, STAT_DROP_IPV6_TRUNCATED);
		return;
	}
	if (net_ip6_is_mcast(ip->src_addr) || net_ip6_is_loopback(ip->src_addr)) {
		net_drop(nw, m, STAT_DROP_IPV6_BAD_SRC);
		return;
	}
	/* The unspecified source is legal only for DAD solicitations (RFC 4861 7.1.1). */
	if (net_ip6_is_unspec(ip->src_addr) &&
	    (ip->proto != NET_IPPROTO_ICMPV6 || tot <= sizeof(*ip) ||
	     rte_pktmbuf_data_len(m) <= sizeof(*ip) ||
	     *((const uint8_t *)(ip + 1)) != ND_NEIGHBOR_SOLICIT ||
	     !net_ip6_is_solnode(ip->dst_addr))) {
		net_drop(nw, m, STAT_DROP_IPV6_BAD_SRC);
		return;
	}
	if (net_ip6_is_mcast(ip->dst_addr)) {
		if (!net_ip6_is_our_group(rx->ifc, ip->dst_addr)) {
			net_drop(nw, m, STAT_DROP_IPV6_BAD_DST);
			return;
		}
		net_ipv6_local(nw, m, rx, true);
		return;
	}
	if (net_ip6_is_unspec(ip->dst_addr) || net_ip6_is_loopback(ip->dst_addr)) {
		net_drop(nw, m, STAT_DROP_IPV6_BAD_DST);
		return;
	}
	if (net_ip6_is_linklocal(ip->dst_addr)) {
		if (memcmp(ip->dst_addr, rx->ifc->ipv6_link_local, 16) != 0) {
			net_drop(nw, m, STAT_DROP_IPV6_BAD_DST);
			return;
		}
		net_ipv6_local(nw, m, rx, false);
		return;
	}
	nhi = cfg_route6(snap, ip->dst_addr);
	if (nhi != 0 && nhi < snap->n_nexthops)
		nh = &snap->nexthops[nhi];
	if (nh != NULL && nh->type == CFG_NH_LOCAL) {
		net_ipv6_local(nw, m, rx, false);
		return;
	}
	if (nh == NULL || (nh->type != CFG_NH_CONNECTED && nh->type != CFG_NH_GATEWAY) ||
	    nh->iface >= snap->n_ifaces) {
		net_icmp6_error(nw, m, rx, ICMP6_DST_UNREACH, 0, 0, now_tsc);
		net_drop(nw, m, STAT_DROP_IPV6_NO_ROUTE);
		return;
	}
	/* The L4 path enforces mesh policies for IPv4 only so far: in mesh mode,
	 * forwarding IPv6 would bypass them (SM-DR1/2/8), so it is refused. */
	if (unlikely(snap->mode == CFG_MODE_MESH)) {
		net_drop(nw, m, STAT_DROP_IPV6_MESH_UNSUPPORTED);
		return;
	}
	net_ipv6_fwd(nw, snap, m, rx, nh, now_tsc);
}

/*
 * Send a neighbour solicitation for @p target on @p ifc: to its solicited-node
 * group, or unicast to @p unicast (a probe). Source: the interface's link-local
 * address (RFC 4861 7.2.2 allows any of ours), with the source link-layer option.
 * Counts NDP_NS_OUT for multicast solicitations; the caller counts probes.
 */
int net_ndp_solicit(struct net_worker *nw, const struct cfg_iface *ifc, const uint8_t target[16],
		    const struct rte_ether_addr *unicast)
{
	struct rte_ether_addr dmac;
	struct rte_mbuf *m;
	uint8_t dst[16];

	m = net_alloc(nw, NET_ND_LEN);
	if (m == NULL)
		return -ENOMEM;
	if (unicast != NULL) {
		memcpy(dst, target, 16);
		dmac = *unicast;
	} else {
		net_ip6_solnode(dst, target);
		dmac = (struct rte_ether_addr){
			{0x33, 0x33, 0xff, target[13], target[14], target[15]}};
	}
	net_nd_fill(rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *), ifc, ifc->ipv6_link_local, dst,
		    ND_NEIGHBOR_SOLICIT, 0, target);
	if (unicast == NULL)
		stats_inc(nw->stats, STAT_NDP_NS_OUT);
	net_send(nw, ifc, m, &dmac, RTE_ETHER_TYPE_IPV6);
	return 0;
}
