/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net: IPv4 (RFC 791 / RFC 1812): validation, local delivery (ICMP echo),
 * forwarding with TTL and MTU checks, ICMP errors (RFC 792), rate-limited.
 *
 * A burst is handled in two passes so that the FIB is searched once per burst
 * (cfg_route4_bulk): pass one validates and collects destinations, pass two acts.
 */
#include <string.h>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_prefetch.h>

#include "net_internal.h"

#define NET_ICMP4_QUOTE_MAX    (576 - 20 - 8) /* RFC 1812 4.3.2.3 */
#define NET_TTL_DEFAULT	       64
#define NET_ICMP_DEST_UNREACH  3
#define NET_ICMP_TIME_EXCEEDED 11

/*
 * The ones'-complement sum of a 20-byte IPv4 header, folded to 16 bits: 0xffff
 * when its checksum is right. Five 32-bit words added in 64 bits lose no carry,
 * and 2^16 = 1 modulo 0xffff, so the folded sum equals the sum of the ten
 * 16-bit words that rte_raw_cksum() computes (RFC 1071 1.2: any word size and
 * byte order), in a dozen instructions instead of a loop.
 */
static inline uint16_t net_ipv4_sum20(const struct rte_ipv4_hdr *ip)
{
	uint32_t w[5];
	uint64_t s;

	memcpy(w, ip, sizeof(w));
	s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4]; /* < 2^35 */
	s = (s & 0xffff) + (s >> 16);			/* < 2^20 */
	s = (s & 0xffff) + (s >> 16);			/* < 2^16 + 16 */
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * The checks of net_ipv4_check() in its order. Headers without options (nearly
 * all) take the short way: version and IHL are right by then, and their
 * checksum is verified with net_ipv4_sum20().
 */
static inline enum stats_id net_ipv4_check_inline(const struct rte_ipv4_hdr *ip, uint32_t len,
						  int hw_csum_ok)
{
	uint32_t hl, tot;

	if (unlikely(len < sizeof(*ip)))
		return STAT_DROP_IPV4_TRUNCATED;
	tot = rte_be_to_cpu_16(ip->total_length);
	if (likely(ip->version_ihl == RTE_IPV4_VHL_DEF)) {
		if (unlikely(tot < sizeof(*ip)))
			return STAT_DROP_IPV4_BAD_LENGTH;
		if (unlikely(tot > len))
			return STAT_DROP_IPV4_TRUNCATED;
		if (!hw_csum_ok && unlikely(net_ipv4_sum20(ip) != 0xffff))
			return STAT_DROP_IPV4_BAD_CHECKSUM;
		return NET_CHECK_OK;
	}
	if ((ip->version_ihl >> 4) != 4)
		return STAT_DROP_IPV4_BAD_VERSION;
	hl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	if (hl < sizeof(*ip))
		return STAT_DROP_IPV4_BAD_IHL;
	if (hl > len)
		return STAT_DROP_IPV4_TRUNCATED;
	if (tot < hl)
		return STAT_DROP_IPV4_BAD_LENGTH;
	if (tot > len)
		return STAT_DROP_IPV4_TRUNCATED;
	if (!hw_csum_ok && rte_raw_cksum(ip, hl) != 0xffff)
		return STAT_DROP_IPV4_BAD_CHECKSUM;
	return NET_CHECK_OK;
}

enum stats_id net_ipv4_check(const struct rte_ipv4_hdr *ip, uint32_t len, int hw_csum_ok)
{
	return net_ipv4_check_inline(ip, len, hw_csum_ok);
}

/* 0/8, 127/8, multicast, class E and limited broadcast: from the first octet alone. */
static bool net_ipv4_src_bad(uint32_t be)
{
	const uint8_t a = ((const uint8_t *)&be)[0];

	return a == 0 || a == 127 || a >= 224;
}

static bool net_ipv4_dst_bad(uint32_t be)
{
	return net_ipv4_src_bad(be);
}

/* RFC 1812 5.2.4.1 allows refusing source routes; malformed options are refused too. */
static bool net_ipv4_options_refused(const struct rte_ipv4_hdr *ip)
{
	const uint8_t *o = (const uint8_t *)(ip + 1);
	uint32_t n = (uint32_t)(ip->version_ihl & 0xf) * 4 - sizeof(*ip);

	for (uint32_t i = 0; i < n;) {
		uint8_t type = o[i];

		if (type == RTE_IPV4_HDR_OPT_EOL)
			return false;
		if (type == RTE_IPV4_HDR_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
			return true;
		if (type == 131 || type == 137) /* LSRR, SSRR */
			return true;
		i += o[i + 1];
	}
	return false;
}

static bool net_icmp4_is_error(uint8_t type)
{
	switch (type) {
	case RTE_IP_ICMP_ECHO_REPLY:
	case RTE_IP_ICMP_ECHO_REQUEST:
	case 9:	 /* router advertisement */
	case 10: /* router solicitation */
	case 13:
	case 14:
	case 15:
	case 16:
	case 17:
	case 18:
		return false;
	default:
		return true;
	}
}

/*
 * Send an ICMP error about @p m (data at its IP header; the caller still owns and
 * drops it). Not about ICMP errors, non-first fragments or link-layer group
 * frames (RFC 1812 4.3.2.7). The error is "routed back" by sending it out the
 * ingress interface to the frame's L2 source: that is the router that handed
 * us the packet, or the host itself, so no FIB lookup is needed and it works
 * even when the packet's source has no route. @p info is the word after the
 * checksum (next-hop MTU for code 4).
 */
static void net_icmp4_error(struct net_worker *nw, const struct rte_mbuf *m,
			    const struct net_rx *rx, uint8_t type, uint8_t code, uint32_t info,
			    uint64_t now_tsc)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint32_t hl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	struct rte_ipv4_hdr *eip;
	struct rte_icmp_hdr *icmp;
	struct rte_mbuf *e;
	uint32_t quote;

	if (rx->l2_group || rx->ifc->n_ipv4 == 0 ||
	    (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) != 0)
		return;
	if (ip->next_proto_id == IPPROTO_ICMP) {
		if (rte_pktmbuf_data_len(m) < hl + 1 ||
		    net_icmp4_is_error(*((const uint8_t *)ip + hl)))
			return;
	}
	quote = RTE_MIN(rte_pktmbuf_pkt_len(m), (uint32_t)NET_ICMP4_QUOTE_MAX);
	e = net_icmp_error_alloc(nw, m, sizeof(*eip), quote, type, code, info, now_tsc);
	if (e == NULL)
		return;
	eip = rte_pktmbuf_mtod(e, struct rte_ipv4_hdr *);
	icmp = (struct rte_icmp_hdr *)(eip + 1);

	memset(eip, 0, sizeof(*eip));
	eip->version_ihl = RTE_IPV4_VHL_DEF;
	eip->type_of_service = 0xc0; /* internetwork control, as RFC 1812 4.3.2.5 suggests */
	eip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*eip) + 8 + quote));
	eip->time_to_live = NET_TTL_DEFAULT;
	eip->next_proto_id = IPPROTO_ICMP;
	eip->src_addr = rx->ifc->ipv4[0].addr;
	eip->dst_addr = ip->src_addr;
	eip->hdr_checksum = rte_ipv4_cksum(eip);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + quote);

	stats_inc(nw->stats, STAT_ICMP_ERRORS_OUT);
	net_send(nw, rx->ifc, e, &rx->src, RTE_ETHER_TYPE_IPV4);
}

static void net_ipv4_local(struct net_worker *nw, struct rte_mbuf *m, const struct net_rx *rx)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	uint32_t hl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	uint32_t len = rte_be_to_cpu_16(ip->total_length) - hl;
	struct rte_icmp_hdr *icmp;
	uint16_t sum, old_word, new_word;
	uint32_t a;

	stats_inc(nw->stats, STAT_IPV4_LOCAL);
	if (rte_be_to_cpu_16(ip->fragment_offset) &
	    (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		net_drop(nw, m, STAT_DROP_IPV4_LOCAL_FRAGMENT);
		return;
	}
	if (ip->next_proto_id != IPPROTO_ICMP) {
		net_drop(nw, m, STAT_DROP_IPV4_LOCAL_PROTO);
		return;
	}
	if (len < sizeof(*icmp) || rte_pktmbuf_data_len(m) < hl + sizeof(*icmp)) {
		net_drop(nw, m, STAT_DROP_ICMP_TRUNCATED);
		return;
	}
	if (rte_raw_cksum_mbuf(m, hl, len, &sum) != 0 || sum != 0xffff) {
		net_drop(nw, m, STAT_DROP_ICMP_BAD_CHECKSUM);
		return;
	}
	icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + hl);
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		net_drop(nw, m, STAT_DROP_ICMP_UNHANDLED);
		return;
	}

	/* Echo reply in place. Options are not echoed: move the header over them. */
	if (hl > sizeof(*ip)) {
		uint16_t olen = (uint16_t)(hl - sizeof(*ip));

		memmove((uint8_t *)ip + olen, ip, sizeof(*ip));
		ip = (struct rte_ipv4_hdr *)rte_pktmbuf_adj(m, olen);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + len));
	}
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->time_to_live = NET_TTL_DEFAULT;
	ip->fragment_offset = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	memcpy(&old_word, icmp, 2);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	memcpy(&new_word, icmp, 2);
	icmp->icmp_cksum = net_cksum_adjust(icmp->icmp_cksum, old_word, new_word);
	stats_inc(nw->stats, STAT_ICMP_ECHO_REPLIES);
	net_send(nw, rx->ifc, m, &rx->src, RTE_ETHER_TYPE_IPV4);
}

/* @return 1 when @p m was forwarded (counted per burst by the caller), else 0 */
static unsigned int net_ipv4_act(struct net_worker *nw, const struct cfg_snapshot *snap,
				 struct rte_mbuf *m, const struct net_rx *rx, uint32_t nhi,
				 uint64_t now_tsc)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	const struct cfg_nexthop *nh = NULL;
	const struct cfg_iface *out;
	uint16_t old_word, new_word, mtu;
	uint32_t via;

	if (nhi != 0 && nhi < snap->n_nexthops)
		nh = &snap->nexthops[nhi];
	if (nh != NULL && nh->type == CFG_NH_LOCAL) {
		net_ipv4_local(nw, m, rx);
		return 0;
	}
	if (nh != NULL && nh->type == CFG_NH_BROADCAST) {
		net_drop(nw, m, STAT_DROP_IPV4_BAD_DST);
		return 0;
	}
	if (nh == NULL || (nh->type != CFG_NH_CONNECTED && nh->type != CFG_NH_GATEWAY) ||
	    nh->iface >= snap->n_ifaces) {
		net_icmp4_error(nw, m, rx, NET_ICMP_DEST_UNREACH, 0, 0, now_tsc);
		net_drop(nw, m, STAT_DROP_IPV4_NO_ROUTE);
		return 0;
	}
	/* RFC 1812 5.3.4: no forwarding of unicast packets sent to a link-layer group. */
	if (rx->l2_group) {
		net_drop(nw, m, STAT_DROP_IPV4_BAD_DST);
		return 0;
	}
	if (ip->time_to_live <= 1) {
		net_icmp4_error(nw, m, rx, NET_ICMP_TIME_EXCEEDED, 0, 0, now_tsc);
		net_drop(nw, m, STAT_DROP_IPV4_TTL_EXCEEDED);
		return 0;
	}
	out = &snap->ifaces[nh->iface];
	mtu = out->mtu ? out->mtu : RTE_ETHER_MTU;
	if (rte_be_to_cpu_16(ip->total_length) > mtu) {
		if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))
			net_icmp4_error(nw, m, rx, NET_ICMP_DEST_UNREACH, 4, mtu, now_tsc);
		net_drop(nw, m, STAT_DROP_IPV4_FRAG_NEEDED);
		return 0;
	}
	memcpy(&old_word, &ip->time_to_live, 2);
	ip->time_to_live--;
	memcpy(&new_word, &ip->time_to_live, 2);
	ip->hdr_checksum = net_cksum_adjust(ip->hdr_checksum, old_word, new_word);
	via = nh->type == CFG_NH_GATEWAY ? nh->gw4 : ip->dst_addr;
	net_forward4(nw, snap, out, m, via, now_tsc);
	return 1;
}

void net_ipv4_burst(struct net_worker *nw, const struct cfg_snapshot *snap, struct rte_mbuf **pkts,
		    const struct net_rx *rx, uint16_t n, uint64_t now_tsc)
{
	struct rte_mbuf *ok[NET_BURST];
	const struct net_rx *okrx[NET_BURST];
	uint32_t dst[NET_BURST], nh[NET_BURST];
	unsigned int forwarded = 0;
	uint16_t k = 0;

	stats_add(nw->stats, STAT_IPV4_RX, n);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
		uint32_t plen = rte_pktmbuf_pkt_len(m);
		uint64_t csum = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
		enum stats_id r;

		/* the whole header (up to 60 bytes) must be in the first segment */
		if (unlikely(rte_pktmbuf_data_len(m) < RTE_MIN(plen, 60u))) {
			net_drop(nw, m, STAT_DROP_IPV4_TRUNCATED);
			continue;
		}
		/* Structure first, so a bad length is named as such even when the
		 * NIC (or net_tap) also flagged the checksum it no longer matches. */
		r = net_ipv4_check_inline(ip, plen,
					  csum == RTE_MBUF_F_RX_IP_CKSUM_GOOD ||
						  csum == RTE_MBUF_F_RX_IP_CKSUM_BAD);
		if (r == NET_CHECK_OK && unlikely(csum == RTE_MBUF_F_RX_IP_CKSUM_BAD))
			r = STAT_DROP_IPV4_BAD_CHECKSUM;
		if (unlikely(r != NET_CHECK_OK)) {
			net_drop(nw, m, r);
			continue;
		}
		if (plen > rte_be_to_cpu_16(ip->total_length) &&
		    rte_pktmbuf_trim(m, (uint16_t)(plen - rte_be_to_cpu_16(ip->total_length))) !=
			    0) {
			/* L2 padding spread over segments: not worth handling */
			net_drop(nw, m, STAT_DROP_IPV4_BAD_LENGTH);
			continue;
		}
		if (unlikely(net_ipv4_src_bad(ip->src_addr))) {
			net_drop(nw, m, STAT_DROP_IPV4_BAD_SRC);
			continue;
		}
		if (unlikely(net_ipv4_dst_bad(ip->dst_addr))) {
			net_drop(nw, m, STAT_DROP_IPV4_BAD_DST);
			continue;
		}
		if (unlikely(ip->version_ihl != RTE_IPV4_VHL_DEF && net_ipv4_options_refused(ip))) {
			net_drop(nw, m, STAT_DROP_IPV4_OPTIONS);
			continue;
		}
		ok[k] = m;
		okrx[k++] = &rx[i];
	}
	if (k == 0)
		return;
	if (snap->mode == CFG_MODE_MESH && nw->l4_hook != NULL) {
		/* the L4 path decides (and NATs) the whole burst at once */
		enum stats_id verdict[NET_BURST];
		uint32_t unknown[NET_BURST];
		uint16_t kept = 0, u = 0;

		nw->l4_hook(nw->l4_ctx, snap, ok, k, verdict, nh, now_tsc);
		for (uint16_t i = 0; i < k; i++) {
			if (verdict[i] == NET_L4_CONSUMED)
				continue;
			if (verdict[i] != NET_CHECK_OK) {
				net_drop(nw, ok[i], verdict[i]);
				continue;
			}
			ok[kept] = ok[i];
			okrx[kept] = okrx[i];
			nh[kept] = nh[i];
			/* after the L4 path's NAT: the next hops it did not know */
			if (nh[kept] == NET_NH_UNKNOWN) {
				dst[u] = rte_pktmbuf_mtod(ok[kept], const struct rte_ipv4_hdr *)
						 ->dst_addr;
				unknown[u++] = kept;
			}
			kept++;
		}
		k = kept;
		if (u == k) {
			cfg_route4_bulk(snap, dst, nh, k);
		} else if (u != 0) {
			uint32_t hop[NET_BURST];

			cfg_route4_bulk(snap, dst, hop, u);
			for (uint16_t j = 0; j < u; j++)
				nh[unknown[j]] = hop[j];
		}
	} else {
		for (uint16_t i = 0; i < k; i++)
			dst[i] = rte_pktmbuf_mtod(ok[i], const struct rte_ipv4_hdr *)->dst_addr;
		cfg_route4_bulk(snap, dst, nh, k);
	}
	for (uint16_t i = 0; i < k; i++) {
		if (i + 1 < k && nh[i + 1] < snap->n_nexthops)
			rte_prefetch0(&snap->nexthops[nh[i + 1]]);
		forwarded += net_ipv4_act(nw, snap, ok[i], okrx[i], nh[i], now_tsc);
	}
	stats_add(nw->stats, STAT_IPV4_FORWARDED, forwarded);
}

void net_output4(struct net_worker *nw, const struct cfg_snapshot *snap, struct rte_mbuf *m,
		 uint64_t now_tsc)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint32_t nhi = cfg_route4(snap, ip->dst_addr);
	const struct cfg_nexthop *nh = nhi < snap->n_nexthops ? &snap->nexthops[nhi] : NULL;
	uint32_t via;

	if (nhi == 0 || nh == NULL ||
	    (nh->type != CFG_NH_CONNECTED && nh->type != CFG_NH_GATEWAY) ||
	    nh->iface >= snap->n_ifaces) {
		net_drop(nw, m, STAT_DROP_IPV4_NO_ROUTE);
		return;
	}
	stats_inc(nw->stats, STAT_IPV4_ORIGINATED);
	via = nh->type == CFG_NH_GATEWAY ? nh->gw4 : ip->dst_addr;
	net_forward(nw, snap, &snap->ifaces[nh->iface], m, 4, (const uint8_t *)&via, now_tsc);
}
