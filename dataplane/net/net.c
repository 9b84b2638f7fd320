/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net: Ethernet / 802.1Q input, output queues, neighbour resolution (pending
 * next hops) and the periodic timer. ARP, IPv4 and IPv6 live in their own files.
 */
#include <errno.h>
#include <string.h>

#include <rte_prefetch.h>

#include "net_internal.h"

#define NET_PREFETCH_AHEAD 4

int net_worker_init(struct net_worker *nw, struct stats_block *stats, struct neigh_table *neigh,
		    struct rte_mempool *pool, uint64_t tsc_hz, uint32_t icmp_rate)
{
	if (nw == NULL || stats == NULL || neigh == NULL || pool == NULL || tsc_hz == 0)
		return -EINVAL;
	memset(nw, 0, sizeof(*nw));
	nw->stats = stats;
	nw->neigh = neigh;
	nw->pool = pool;
	nw->tsc_hz = tsc_hz;
	nw->icmp_rate = icmp_rate;
	nw->icmp_burst = icmp_rate / 10 + 1;
	/* Tokens are kept in units of 1/tsc_hz of an error so that refill is exact. */
	nw->icmp_tokens = (uint64_t)nw->icmp_burst * tsc_hz;
	nw->icmp_last_tsc = 0;
	return 0;
}

uint64_t net_ms_to_tsc(const struct net_worker *nw, uint32_t ms)
{
	return nw->tsc_hz / 1000 * ms;
}

/* A generated frame: one segment of @p len bytes, not initialised. NULL counted. */
struct rte_mbuf *net_alloc(struct net_worker *nw, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(nw->pool);

	if (unlikely(m == NULL || rte_pktmbuf_append(m, len) == NULL)) {
		rte_pktmbuf_free(m);
		stats_inc(nw->stats, STAT_NET_ALLOC_FAILED);
		return NULL;
	}
	return m;
}

/* RFC 1812 4.3.2.8 / RFC 4443 2.4(f): a token bucket per worker. */
bool net_icmp_allow(struct net_worker *nw, uint64_t now_tsc)
{
	uint64_t cap = (uint64_t)nw->icmp_burst * nw->tsc_hz;
	uint64_t elapsed = now_tsc > nw->icmp_last_tsc ? now_tsc - nw->icmp_last_tsc : 0;
	unsigned __int128 t = (unsigned __int128)elapsed * nw->icmp_rate + nw->icmp_tokens;

	nw->icmp_last_tsc = now_tsc > nw->icmp_last_tsc ? now_tsc : nw->icmp_last_tsc;
	nw->icmp_tokens = t > cap ? cap : (uint64_t)t;
	if (nw->icmp_tokens < nw->tsc_hz) {
		stats_inc(nw->stats, STAT_ICMP_ERRORS_RATELIMITED);
		return false;
	}
	nw->icmp_tokens -= nw->tsc_hz;
	return true;
}

/*
 * The part of an ICMP (RFC 792) or ICMPv6 (RFC 4443) error that does not depend
 * on the IP version: the rate limit, the mbuf, the 8-byte ICMP header (type,
 * code, zero checksum, @p info in network order) and the quote, the first
 * @p quote bytes of @p m from its IP header on. The caller has decided that
 * @p m may be answered at all and how much to quote; it writes the IP header
 * into the first @p ip_len bytes and fills the checksums. @return the error,
 * its data at the IP header, or NULL (rate-limited or no mbuf; counted).
 */
struct rte_mbuf *net_icmp_error_alloc(struct net_worker *nw, const struct rte_mbuf *m,
				      uint16_t ip_len, uint32_t quote, uint8_t type, uint8_t code,
				      uint32_t info, uint64_t now_tsc)
{
	struct rte_mbuf *e;
	uint8_t *icmp;
	const void *q;

	if (!net_icmp_allow(nw, now_tsc))
		return NULL;
	e = net_alloc(nw, (uint16_t)(ip_len + 8 + quote));
	if (e == NULL)
		return NULL;
	icmp = rte_pktmbuf_mtod_offset(e, uint8_t *, ip_len);
	icmp[0] = type;
	icmp[1] = code;
	icmp[2] = icmp[3] = 0;
	memcpy(icmp + 4, &(uint32_t){rte_cpu_to_be_32(info)}, 4);
	q = rte_pktmbuf_read(m, 0, quote, icmp + 8);
	if (q != NULL && q != (const void *)(icmp + 8))
		memcpy(icmp + 8, q, quote);
	return e;
}

/* Make @p m one segment of exactly @p len bytes from its current data start. */
int net_reset_len(struct rte_mbuf *m, uint16_t len)
{
	if (m->next != NULL) {
		rte_pktmbuf_free(m->next);
		m->next = NULL;
		m->nb_segs = 1;
	}
	if ((uint32_t)m->data_off + len > m->buf_len)
		return -ENOSPC;
	m->data_len = len;
	m->pkt_len = len;
	return 0;
}

void net_send(struct net_worker *nw, const struct cfg_iface *ifc, struct rte_mbuf *m,
	      const struct rte_ether_addr *dst, uint16_t ether_type)
{
	net_send_inline(nw, ifc, m, dst, ether_type);
}

void net_post(struct net_worker *nw, const struct neigh_key *key, const struct rte_ether_addr *mac,
	      enum neigh_event_kind kind)
{
	if (unlikely(neigh_post(nw->neigh, key, mac, kind) != 0))
		stats_inc(nw->stats, STAT_NEIGH_EVENTS_LOST);
}

static void net_pending_clear(struct net_worker *nw, struct net_pending *p, enum stats_id why)
{
	for (uint16_t i = 0; i < p->n; i++)
		net_drop(nw, p->pkts[i], why);
	memset(p, 0, sizeof(*p));
	nw->n_pending--;
}

static int net_solicit(struct net_worker *nw, const struct cfg_iface *ifc,
		       const struct neigh_key *key, const struct rte_ether_addr *unicast)
{
	if (key->family == 4) {
		uint32_t a;

		memcpy(&a, key->addr, sizeof(a));
		return net_arp_request(nw, ifc, a, unicast);
	}
	return net_ndp_solicit(nw, ifc, key->addr, unicast);
}

/*
 * Hold @p m (L2 header filled but the destination MAC) until its next hop
 * resolves. The first packet for a next hop sends the first request.
 */
static void net_pending_add(struct net_worker *nw, const struct cfg_snapshot *snap,
			    const struct cfg_iface *out, const struct neigh_key *key,
			    struct rte_mbuf *m, uint64_t now_tsc)
{
	struct net_pending *free_slot = NULL;

	for (unsigned int i = 0; i < NET_PENDING_MAX; i++) {
		struct net_pending *p = &nw->pending[i];

		if (p->key.family == 0) {
			if (free_slot == NULL)
				free_slot = p;
			continue;
		}
		if (memcmp(&p->key, key, sizeof(*key)) != 0)
			continue;
		if (p->n >= NET_PENDING_QLEN) {
			net_drop(nw, m, STAT_DROP_NEIGH_QUEUE_FULL);
			return;
		}
		p->pkts[p->n++] = m;
		return;
	}
	if (free_slot == NULL) {
		net_drop(nw, m, STAT_DROP_NEIGH_PENDING_FULL);
		return;
	}
	nw->n_pending++;
	free_slot->key = *key;
	free_slot->pkts[0] = m;
	free_slot->n = 1;
	free_slot->sent = 1;
	free_slot->next_tsc = now_tsc + net_ms_to_tsc(nw, snap->neigh.retrans_ms);
	net_solicit(nw, out, key, NULL);
}

/* A STALE neighbour in use: one worker per retrans interval sends a unicast probe. */
void net_probe_stale(struct net_worker *nw, const struct cfg_snapshot *snap,
		     const struct cfg_iface *out, const struct neigh_entry *e,
		     const struct rte_ether_addr *mac, uint64_t now_tsc)
{
	if (neigh_should_probe(e, now_tsc, net_ms_to_tsc(nw, snap->neigh.retrans_ms)) &&
	    net_solicit(nw, out, &e->key, mac) == 0)
		stats_inc(nw->stats, STAT_NEIGH_PROBES_OUT);
}

void net_forward4_unresolved(struct net_worker *nw, const struct cfg_snapshot *snap,
			     const struct cfg_iface *out, struct rte_mbuf *m, uint32_t nh,
			     uint64_t now_tsc)
{
	static const struct rte_ether_addr unknown = {{0}};
	struct neigh_key key;

	neigh_key4(&key, out->port_id, out->vlan, nh);
	if (unlikely(net_l2_prepend(m, out, &unknown, RTE_ETHER_TYPE_IPV4) != 0)) {
		net_drop(nw, m, STAT_DROP_NO_HEADROOM);
		return;
	}
	net_pending_add(nw, snap, out, &key, m, now_tsc);
}

void net_forward(struct net_worker *nw, const struct cfg_snapshot *snap,
		 const struct cfg_iface *out, struct rte_mbuf *m, uint8_t family,
		 const uint8_t *nh_addr, uint64_t now_tsc)
{
	static const struct rte_ether_addr unknown = {{0}};
	const struct neigh_entry *e;
	struct rte_ether_addr mac;
	struct neigh_key key;

	if (family == 4) {
		uint32_t a;

		memcpy(&a, nh_addr, sizeof(a));
		net_forward4(nw, snap, out, m, a, now_tsc);
		return;
	}
	neigh_key6(&key, out->port_id, out->vlan, nh_addr);
	e = neigh_lookup(nw->neigh, &key);
	if (likely(e != NULL)) {
		neigh_entry_mac(e, &mac);
		net_send(nw, out, m, &mac, RTE_ETHER_TYPE_IPV6);
		if (__atomic_load_n(&e->state, __ATOMIC_RELAXED) == NEIGH_STALE)
			net_probe_stale(nw, snap, out, e, &mac, now_tsc);
		return;
	}
	if (unlikely(net_l2_prepend(m, out, &unknown, RTE_ETHER_TYPE_IPV6) != 0)) {
		net_drop(nw, m, STAT_DROP_NO_HEADROOM);
		return;
	}
	net_pending_add(nw, snap, out, &key, m, now_tsc);
}

void net_timer(struct net_worker *nw, const struct cfg_snapshot *snap, uint64_t now_tsc)
{
	for (unsigned int i = 0; i < NET_PENDING_MAX && nw->n_pending != 0; i++) {
		struct net_pending *p = &nw->pending[i];
		const struct cfg_iface *ifc;
		const struct neigh_entry *e;
		struct rte_ether_addr mac;

		if (p->key.family == 0)
			continue;
		e = neigh_lookup(nw->neigh, &p->key);
		if (e != NULL) {
			neigh_entry_mac(e, &mac);
			for (uint16_t j = 0; j < p->n; j++) {
				struct rte_ether_hdr *eth =
					rte_pktmbuf_mtod(p->pkts[j], struct rte_ether_hdr *);

				eth->dst_addr = mac;
				net_out_push(nw, p->key.port_id, p->pkts[j]);
			}
			memset(p, 0, sizeof(*p));
			nw->n_pending--;
			continue;
		}
		ifc = cfg_iface_of(snap, p->key.port_id, p->key.vlan);
		if (ifc == NULL) {
			/* the interface went away with a config swap */
			net_pending_clear(nw, p, STAT_DROP_NEIGH_UNRESOLVED);
			continue;
		}
		if (now_tsc < p->next_tsc)
			continue;
		if (p->sent >= snap->neigh.probes) {
			net_pending_clear(nw, p, STAT_DROP_NEIGH_UNRESOLVED);
			continue;
		}
		net_solicit(nw, ifc, &p->key, NULL);
		p->sent++;
		p->next_tsc = now_tsc + net_ms_to_tsc(nw, snap->neigh.retrans_ms);
	}
}

void net_worker_release(struct net_worker *nw)
{
	for (unsigned int i = 0; i < NET_PENDING_MAX; i++) {
		struct net_pending *p = &nw->pending[i];

		for (uint16_t j = 0; j < p->n; j++)
			rte_pktmbuf_free(p->pkts[j]);
		memset(p, 0, sizeof(*p));
	}
	nw->n_pending = 0;
	for (unsigned int port = 0; port < RTE_MAX_ETHPORTS; port++) {
		struct net_out *o = &nw->out[port];

		for (uint16_t j = 0; j < o->n; j++)
			rte_pktmbuf_free(o->pkts[j]);
		o->n = 0;
	}
}

static bool net_mac_is_zero(const struct rte_ether_addr *a)
{
	return rte_is_zero_ether_addr(a);
}

/*
 * Parse Ethernet and 802.1Q. @return the EtherType (host order) with the mbuf's
 * data moved to the L3 header and @p rx filled, or 0 when the frame was dropped.
 */
static uint16_t net_l2_input(struct net_worker *nw, const struct cfg_snapshot *snap,
			     uint16_t port_id, const struct cfg_iface *untagged, struct rte_mbuf *m,
			     struct net_rx *rx)
{
	const struct rte_ether_hdr *eth;
	const struct cfg_iface *ifc;
	uint16_t type, vlan = 0, hl = sizeof(struct rte_ether_hdr);
	bool tagged = false;

	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eth))) {
		net_drop(nw, m, STAT_DROP_ETH_TRUNCATED);
		return 0;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	type = rte_be_to_cpu_16(eth->ether_type);
	if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
		tagged = true;
		vlan = m->vlan_tci & 0xfff;
	}
	if (type == RTE_ETHER_TYPE_VLAN) {
		const struct rte_vlan_hdr *vh = (const struct rte_vlan_hdr *)(eth + 1);

		if (unlikely(tagged)) {
			net_drop(nw, m, STAT_DROP_VLAN_STACKED);
			return 0;
		}
		if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*vh))) {
			net_drop(nw, m, STAT_DROP_ETH_TRUNCATED);
			return 0;
		}
		tagged = true;
		vlan = rte_be_to_cpu_16(vh->vlan_tci) & 0xfff;
		type = rte_be_to_cpu_16(vh->eth_proto);
		hl += sizeof(*vh);
	}
	/* IPv4, nearly every frame, is tested first in the type checks below */
	if (type != RTE_ETHER_TYPE_IPV4 &&
	    unlikely(type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ ||
		     type == RTE_ETHER_TYPE_QINQ1 || type == RTE_ETHER_TYPE_QINQ2)) {
		net_drop(nw, m, STAT_DROP_VLAN_STACKED);
		return 0;
	}
	ifc = vlan == 0 ? untagged : cfg_iface_of(snap, port_id, vlan);
	if (unlikely(ifc == NULL)) {
		net_drop(nw, m, tagged ? STAT_DROP_VLAN_UNKNOWN : STAT_DROP_NO_IFACE);
		return 0;
	}
	if (unlikely(rte_is_multicast_ether_addr(&eth->src_addr) ||
		     net_mac_is_zero(&eth->src_addr))) {
		net_drop(nw, m, STAT_DROP_ETH_BAD_SRC);
		return 0;
	}
	rx->l2_group = false;
	if (!rte_is_same_ether_addr(&eth->dst_addr, &ifc->mac)) {
		const uint8_t *d = eth->dst_addr.addr_bytes;

		if (!rte_is_broadcast_ether_addr(&eth->dst_addr) &&
		    !(d[0] == 0x33 && d[1] == 0x33) &&
		    !(d[0] == 0x01 && d[1] == 0x00 && d[2] == 0x5e)) {
			net_drop(nw, m, STAT_DROP_ETH_NOT_FOR_US);
			return 0;
		}
		rx->l2_group = true;
	}
	if (type != RTE_ETHER_TYPE_IPV4 &&
	    unlikely(type != RTE_ETHER_TYPE_ARP && type != RTE_ETHER_TYPE_IPV6)) {
		net_drop(nw, m, STAT_DROP_ETH_UNKNOWN_TYPE);
		return 0;
	}
	rx->ifc = ifc;
	rx->src = eth->src_addr;
	m->l2_len = hl; /* the header stays in front of the data (L4 hand-off puts it back) */
	rte_pktmbuf_adj(m, hl);
	m->ol_flags &= ~RTE_MBUF_F_RX_VLAN_STRIPPED;
	return type;
}

void net_input(struct net_worker *nw, const struct cfg_snapshot *snap, uint16_t port_id,
	       struct rte_mbuf **pkts, uint16_t n, uint64_t now_tsc)
{
	struct rte_mbuf *v4[NET_BURST];
	struct net_rx v4rx[NET_BURST];
	/* every frame of the burst came in on port_id: its untagged interface once */
	const struct cfg_iface *untagged = cfg_iface_of(snap, port_id, 0);
	uint16_t n4 = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct net_rx rx;
		uint16_t type;

		if (i + NET_PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + NET_PREFETCH_AHEAD], void *));
		type = net_l2_input(nw, snap, port_id, untagged, m, &rx);
		switch (type) {
		case RTE_ETHER_TYPE_ARP:
			net_arp_input(nw, m, &rx);
			break;
		case RTE_ETHER_TYPE_IPV6:
			net_ipv6_input(nw, snap, m, &rx, now_tsc);
			break;
		case RTE_ETHER_TYPE_IPV4:
			v4[n4] = m;
			v4rx[n4++] = rx;
			if (n4 == NET_BURST) {
				net_ipv4_burst(nw, snap, v4, v4rx, n4, now_tsc);
				n4 = 0;
			}
			break;
		default:
			break;
		}
	}
	if (n4 > 0)
		net_ipv4_burst(nw, snap, v4, v4rx, n4, now_tsc);
}
