/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Turning a refused TCP segment into a reset back to its sender. Parsing and the
 * NAT rewrite with incremental checksums are in l4_internal.h, as static inline:
 * they are on the per-packet path of l4.c and l4_flow.c and must stay inlined
 * there; what is here is only for refusals and health answers, off that path.
 */

#include <rte_ip.h>
#include <rte_tcp.h>

#include "l4_internal.h"

/* Turn a refused TCP packet into an RST|ACK back to its sender (RFC 9293 3.10.7.1). */
enum stats_id l4_reset(struct l4_pkt *p, struct rte_mbuf *m)
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
