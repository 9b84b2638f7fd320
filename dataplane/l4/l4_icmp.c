/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets without ports, which the flow table cannot help with (l4_portless()):
 * fragments and truncated headers, ICMP errors about a NATed flow (translated
 * like the flow's packets, RFC 5508 4.2) or about a TCP segment of the node's own
 * stack (handed to it, RFC 5927 and RFC 1191), and the rest by policy.
 * l4_icmp_quote() also tells steering which flow an ICMP error belongs to.
 */

#include <string.h>

#include "l4_internal.h"

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
bool l4_icmp_quote(const struct l4_pkt *p, const struct rte_mbuf *m, struct rte_ipv4_hdr **in,
		   uint8_t **inl4)
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

enum stats_id l4_portless(struct l4_worker *lw, const struct cfg_snapshot *snap, struct l4_pkt *p,
			  struct rte_mbuf *m, int parsed, uint64_t now_tsc)
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
