/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the L2/L3 path: synthetic frames through net_input() / net_timer()
 * against a snapshot built by hand (no config parser), outputs checked byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/net/net.h"
#include "net_fixture.h"
#include "test_eal.h"

#define TSC_HZ 1000000ull /* fake clock: 1 tick = 1 us */
#define T0     5000000ull

static struct rte_mempool *pool;
static struct cfg_snapshot *snap;
static struct neigh_table *neigh;
static struct net_worker *nw;
static struct stats_block stats;
static unsigned int pool_start;

static const struct rte_ether_addr mac_if0 = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr mac_if1 = {{0x02, 0, 0, 0, 0, 0x02}};
static const struct rte_ether_addr mac_vl = {{0x02, 0, 0, 0, 0, 0x03}};
static const struct rte_ether_addr mac_peer = {{0x02, 0xaa, 0, 0, 0, 0x10}};
static const struct rte_ether_addr mac_nh = {{0x02, 0xbb, 0, 0, 0, 0x20}};
static const struct rte_ether_addr mac_bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

static const uint8_t a6_if0[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t a6_if1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1};
static const uint8_t a6_peer[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
static const uint8_t a6_far[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x77};
static const uint8_t ll_if0[16] = {0xfe, 0x80, [15] = 1};
static const uint8_t ll_peer[16] = {0xfe, 0x80, [15] = 0x10};

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return rte_cpu_to_be_32((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

static uint64_t S(enum stats_id id)
{
	return stats_read(&stats, id);
}

/* Sum of every drop_* counter: each frame ends in exactly one place. */
static uint64_t drops_total(void)
{
	uint64_t n = 0;

	for (int i = 0; i < STAT_MAX; i++)
		if (strncmp(stats_name((enum stats_id)i), "drop_", 5) == 0)
			n += S((enum stats_id)i);
	return n;
}

static unsigned int out_total(void)
{
	unsigned int n = 0;

	for (unsigned int p = 0; p < RTE_MAX_ETHPORTS; p++)
		n += nw->out[p].n;
	return n;
}

static uint8_t *out_frame(uint16_t port, uint16_t i)
{
	assert_true(nw->out[port].n > i);
	return rte_pktmbuf_mtod(nw->out[port].pkts[i], uint8_t *);
}

/* ---- snapshot built by hand ---- */

static void add_iface(uint16_t idx, const char *name, uint16_t port, uint16_t vlan, uint16_t mtu,
		      const struct rte_ether_addr *mac, uint32_t v4, const uint8_t *v6, uint8_t ll)
{
	struct cfg_iface *i = &snap->ifaces[idx];

	snprintf(i->name, sizeof(i->name), "%s", name);
	i->port_id = port;
	i->vlan = vlan;
	i->mtu = mtu;
	i->mac = *mac;
	i->n_ipv4 = 1;
	i->ipv4[0].addr = v4;
	i->ipv4[0].len = 24;
	if (v6 != NULL) {
		i->n_ipv6 = 1;
		memcpy(i->ipv6[0].addr, v6, 16);
		i->ipv6[0].len = 64;
	}
	i->ipv6_link_local[0] = 0xfe;
	i->ipv6_link_local[1] = 0x80;
	i->ipv6_link_local[15] = ll;
	if (vlan == 0) {
		snap->port_iface[port] = (uint8_t)(idx + 1);
	} else {
		snap->vlan_ifaces[snap->n_vlan_ifaces].port_id = port;
		snap->vlan_ifaces[snap->n_vlan_ifaces].vlan = vlan;
		snap->vlan_ifaces[snap->n_vlan_ifaces++].iface = idx;
	}
	snap->n_ifaces = (uint16_t)(idx + 1);
}

enum {
	NH_LOCAL4 = 1,
	NH_IF0,
	NH_IF1,
	NH_VL,
	NH_GW4,
	NH_BCAST0,
	NH_BLACKHOLE,
	NH_LOCAL6,
	NH_IF0_6,
	NH_IF1_6,
	NH_GW6,
	NH_COUNT
};

static void route4(uint32_t be, uint8_t len, uint32_t nh)
{
	assert_int_equal(rte_fib_add(snap->fib4, rte_be_to_cpu_32(be), len, nh), 0);
}

static void route6(const uint8_t *a, uint8_t len, uint32_t nh)
{
	assert_int_equal(rte_fib6_add(snap->fib6, a, len, nh), 0);
}

static void build_snapshot(void)
{
	struct rte_fib_conf c4 = {0};
	struct rte_fib6_conf c6 = {0};
	struct cfg_nexthop *nh;
	static const uint8_t p6_far[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 0};

	snap = calloc(1, sizeof(*snap));
	assert_non_null(snap);
	snap->neigh.reachable_ms = 30000;
	snap->neigh.stale_ms = 60000;
	snap->neigh.retrans_ms = 1000;
	snap->neigh.probes = 3;
	add_iface(0, "eth0", 0, 0, 1500, &mac_if0, ip4(10, 0, 0, 1), a6_if0, 1);
	add_iface(1, "eth1", 1, 0, 1400, &mac_if1, ip4(10, 1, 0, 1), a6_if1, 2);
	add_iface(2, "eth1.100", 1, 100, 1500, &mac_vl, ip4(10, 2, 0, 1), NULL, 3);

	nh = calloc(NH_COUNT, sizeof(*nh));
	nh[NH_LOCAL4] = (struct cfg_nexthop){.type = CFG_NH_LOCAL, .family = 4};
	nh[NH_IF0] = (struct cfg_nexthop){.type = CFG_NH_CONNECTED, .family = 4, .iface = 0};
	nh[NH_IF1] = (struct cfg_nexthop){.type = CFG_NH_CONNECTED, .family = 4, .iface = 1};
	nh[NH_VL] = (struct cfg_nexthop){.type = CFG_NH_CONNECTED, .family = 4, .iface = 2};
	nh[NH_GW4] = (struct cfg_nexthop){
		.type = CFG_NH_GATEWAY, .family = 4, .iface = 1, .gw4 = ip4(10, 1, 0, 254)};
	nh[NH_BCAST0] = (struct cfg_nexthop){.type = CFG_NH_BROADCAST, .family = 4};
	nh[NH_BLACKHOLE] = (struct cfg_nexthop){.type = CFG_NH_BLACKHOLE, .family = 4};
	nh[NH_LOCAL6] = (struct cfg_nexthop){.type = CFG_NH_LOCAL, .family = 6};
	nh[NH_IF0_6] = (struct cfg_nexthop){.type = CFG_NH_CONNECTED, .family = 6, .iface = 0};
	nh[NH_IF1_6] = (struct cfg_nexthop){.type = CFG_NH_CONNECTED, .family = 6, .iface = 1};
	nh[NH_GW6] = (struct cfg_nexthop){.type = CFG_NH_GATEWAY, .family = 6, .iface = 1};
	memcpy(nh[NH_GW6].gw6, a6_far, 16);
	snap->nexthops = nh;
	snap->n_nexthops = NH_COUNT;

	c4.type = RTE_FIB_DIR24_8;
	c4.default_nh = 0;
	c4.max_routes = 64;
	c4.dir24_8.nh_sz = RTE_FIB_DIR24_8_2B;
	c4.dir24_8.num_tbl8 = 64;
	snap->fib4 = rte_fib_create("tnet4", SOCKET_ID_ANY, &c4);
	assert_non_null(snap->fib4);
	c6.type = RTE_FIB6_TRIE;
	c6.default_nh = 0;
	c6.max_routes = 64;
	c6.trie.nh_sz = RTE_FIB6_TRIE_2B;
	c6.trie.num_tbl8 = 256;
	snap->fib6 = rte_fib6_create("tnet6", SOCKET_ID_ANY, &c6);
	assert_non_null(snap->fib6);

	route4(ip4(10, 0, 0, 0), 24, NH_IF0);
	route4(ip4(10, 1, 0, 0), 24, NH_IF1);
	route4(ip4(10, 2, 0, 0), 24, NH_VL);
	route4(ip4(10, 0, 0, 1), 32, NH_LOCAL4);
	route4(ip4(10, 1, 0, 1), 32, NH_LOCAL4);
	route4(ip4(10, 2, 0, 1), 32, NH_LOCAL4);
	route4(ip4(10, 0, 0, 255), 32, NH_BCAST0);
	route4(ip4(172, 16, 0, 0), 12, NH_GW4);
	route4(ip4(192, 0, 2, 0), 24, NH_BLACKHOLE);
	route6(a6_if0, 64, NH_IF0_6);
	route6(a6_if1, 64, NH_IF1_6);
	route6(a6_if0, 128, NH_LOCAL6);
	route6(a6_if1, 128, NH_LOCAL6);
	route6(p6_far, 48, NH_GW6);
}

static int group_setup(void **state)
{
	(void)state;
	test_eal_init();
	if (net_fixture_create("tnet", 2047, 256, &pool, &neigh, &nw) != 0)
		return -1;
	build_snapshot();
	return 0;
}

static int setup(void **state)
{
	struct neigh_event ev;

	(void)state;
	memset(&stats, 0, sizeof(stats));
	neigh_flush(neigh);
	neigh_reclaim(neigh);
	while (rte_ring_dequeue_elem(neigh_mailbox(neigh), &ev, sizeof(ev)) == 0)
		;
	snap->neigh.probes = 3;
	pool_start = rte_mempool_avail_count(pool);
	return net_worker_init(nw, &stats, neigh, pool, TSC_HZ, 1000);
}

static int teardown(void **state)
{
	(void)state;
	net_worker_release(nw);
	/* no mbuf leaks: everything net held or queued is back in the pool */
	assert_int_equal(rte_mempool_avail_count(pool), pool_start);
	return 0;
}

/* ---- frame builders ---- */

static size_t put_eth(uint8_t *p, const struct rte_ether_addr *dst,
		      const struct rte_ether_addr *src, uint16_t vlan, uint16_t type)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)p;

	e->dst_addr = *dst;
	e->src_addr = *src;
	if (vlan == 0) {
		e->ether_type = rte_cpu_to_be_16(type);
		return sizeof(*e);
	}
	e->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
	((struct rte_vlan_hdr *)(e + 1))->vlan_tci = rte_cpu_to_be_16(vlan);
	((struct rte_vlan_hdr *)(e + 1))->eth_proto = rte_cpu_to_be_16(type);
	return sizeof(*e) + 4;
}

static size_t put_arp(uint8_t *p, uint16_t op, const struct rte_ether_addr *sha, uint32_t sip,
		      uint32_t tip)
{
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)p;

	memset(a, 0, sizeof(*a));
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = *sha;
	a->arp_data.arp_sip = sip;
	a->arp_data.arp_tip = tip;
	return sizeof(*a);
}

/* IPv4 header + ICMP echo request (or @p proto with zero payload) of @p payload bytes. */
static size_t put_ip4(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint8_t ttl,
		      uint16_t payload, uint16_t frag)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	uint8_t *l4 = (uint8_t *)(ip + 1);

	memset(ip, 0, sizeof(*ip) + payload);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + payload));
	ip->packet_id = rte_cpu_to_be_16(0x1234);
	ip->fragment_offset = rte_cpu_to_be_16(frag);
	ip->time_to_live = ttl;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (proto == IPPROTO_ICMP && payload >= 8) {
		l4[0] = 8;
		l4[4] = 0x42;
		l4[6] = 0x07;
		for (uint16_t i = 8; i < payload; i++)
			l4[i] = (uint8_t)i;
		uint16_t c = (uint16_t)~rte_raw_cksum(l4, payload);
		memcpy(l4 + 2, &c, 2);
	}
	return sizeof(*ip) + payload;
}

/* IPv6 header + ICMPv6 body of @p len bytes (checksum filled) or other @p proto. */
static size_t put_ip6(uint8_t *p, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		      uint8_t hop, const uint8_t *body, uint16_t len)
{
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)p;
	uint8_t *l4 = (uint8_t *)(ip + 1);

	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(len);
	ip->proto = proto;
	ip->hop_limits = hop;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
	memcpy(l4, body, len);
	if (proto == 58) {
		l4[2] = l4[3] = 0;
		uint16_t c = rte_ipv6_udptcp_cksum(ip, l4);
		memcpy(l4 + 2, &c, 2);
	}
	return sizeof(*ip) + len;
}

static struct rte_mbuf *mk(const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), frame, len);
	return m;
}

static void rx1(uint16_t port, const uint8_t *frame, size_t len, uint64_t now)
{
	struct rte_mbuf *m = mk(frame, len);

	net_input(nw, snap, port, &m, 1, now);
}

/* ARP request from the peer on eth0 for @p tip */
static size_t frame_arp_req(uint8_t *f, uint32_t sip, uint32_t tip)
{
	size_t n = put_eth(f, &mac_bcast, &mac_peer, 0, RTE_ETHER_TYPE_ARP);

	n += put_arp(f + n, RTE_ARP_OP_REQUEST, &mac_peer, sip, tip);
	memset(f + n, 0, 18); /* Ethernet padding to 60 bytes */
	return n + 18;
}

static size_t frame_ip4(uint8_t *f, const struct rte_ether_addr *dmac, uint32_t src, uint32_t dst,
			uint8_t ttl, uint16_t payload, uint16_t frag)
{
	size_t n = put_eth(f, dmac, &mac_peer, 0, RTE_ETHER_TYPE_IPV4);

	return n + put_ip4(f + n, src, dst, IPPROTO_ICMP, ttl, payload, frag);
}

static void assert_ip4_valid(const uint8_t *l3)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;
	struct rte_ipv4_hdr copy = *ip;

	copy.hdr_checksum = 0;
	assert_int_equal(rte_ipv4_cksum(&copy), ip->hdr_checksum);
}

static void assert_eth(const uint8_t *f, const struct rte_ether_addr *dst,
		       const struct rte_ether_addr *src, uint16_t type)
{
	const struct rte_ether_hdr *e = (const struct rte_ether_hdr *)f;

	assert_memory_equal(&e->dst_addr, dst, 6);
	assert_memory_equal(&e->src_addr, src, 6);
	assert_int_equal(rte_be_to_cpu_16(e->ether_type), type);
}

static bool mailbox_has(uint8_t kind, const struct neigh_key *k, const struct rte_ether_addr *mac)
{
	struct neigh_event ev;

	while (rte_ring_dequeue_elem(neigh_mailbox(neigh), &ev, sizeof(ev)) == 0)
		if (ev.kind == kind && memcmp(&ev.key, k, sizeof(*k)) == 0 &&
		    rte_is_same_ether_addr(&ev.mac, mac))
			return true;
	return false;
}

/* ---- ARP ---- */

static void test_arp_request_reply(void **state)
{
	uint8_t f[128];
	size_t n = frame_arp_req(f, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1));
	const struct rte_arp_hdr *a;
	struct neigh_key k;

	(void)state;
	rx1(0, f, n, T0);
	assert_int_equal(nw->out[0].n, 1);
	assert_int_equal(out_total(), 1);
	assert_int_equal(rte_pktmbuf_pkt_len(nw->out[0].pkts[0]), 14 + 28);
	assert_eth(out_frame(0, 0), &mac_peer, &mac_if0, RTE_ETHER_TYPE_ARP);
	a = (const struct rte_arp_hdr *)(out_frame(0, 0) + 14);
	assert_int_equal(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REPLY);
	assert_int_equal(rte_be_to_cpu_16(a->arp_hardware), RTE_ARP_HRD_ETHER);
	assert_int_equal(rte_be_to_cpu_16(a->arp_protocol), RTE_ETHER_TYPE_IPV4);
	assert_memory_equal(&a->arp_data.arp_sha, &mac_if0, 6);
	assert_memory_equal(&a->arp_data.arp_tha, &mac_peer, 6);
	assert_int_equal(a->arp_data.arp_sip, ip4(10, 0, 0, 1));
	assert_int_equal(a->arp_data.arp_tip, ip4(10, 0, 0, 9));
	assert_int_equal(S(STAT_ARP_REQUESTS_IN), 1);
	assert_int_equal(S(STAT_ARP_REPLIES_OUT), 1);
	assert_int_equal(drops_total(), 0);
	neigh_key4(&k, 0, 0, ip4(10, 0, 0, 9));
	assert_true(mailbox_has(NEIGH_EV_CONFIRM, &k, &mac_peer));
}

static void test_arp_refused(void **state)
{
	uint8_t f[128];
	size_t n;

	(void)state;
	n = frame_arp_req(f, ip4(10, 9, 9, 9), ip4(10, 0, 0, 1));
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_ARP_OFF_LINK), 1);
	n = frame_arp_req(f, ip4(10, 0, 0, 9), ip4(10, 0, 0, 77));
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_ARP_NOT_FOR_US), 1);
	/* an address of another interface is not ours on this link */
	n = frame_arp_req(f, ip4(10, 0, 0, 9), ip4(10, 1, 0, 1));
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_ARP_NOT_FOR_US), 2);
	n = frame_arp_req(f, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1));
	f[14 + 5] = 6; /* plen */
	rx1(0, f, n, T0);
	n = frame_arp_req(f, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1));
	f[14 + 7] = 3; /* opcode */
	rx1(0, f, n, T0);
	rx1(0, f, 14 + 20, T0); /* truncated */
	assert_int_equal(S(STAT_DROP_ARP_MALFORMED), 3);
	assert_int_equal(drops_total(), 6);
	assert_int_equal(out_total(), 0);
}

static void test_arp_reply_in(void **state)
{
	uint8_t f[128];
	size_t n = put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_ARP);
	struct neigh_key k;

	(void)state;
	n += put_arp(f + n, RTE_ARP_OP_REPLY, &mac_peer, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1));
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_ARP_REPLIES_IN), 1);
	assert_int_equal(drops_total(), 0);
	assert_int_equal(out_total(), 0);
	neigh_key4(&k, 0, 0, ip4(10, 0, 0, 9));
	assert_true(mailbox_has(NEIGH_EV_CONFIRM, &k, &mac_peer));
}

/* ---- ICMP echo ---- */

static void test_icmp_echo_v4(void **state)
{
	uint8_t f[256];
	size_t n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1), 64, 40, 0);
	const struct rte_ipv4_hdr *ip;
	const uint8_t *icmp;
	uint16_t s;

	(void)state;
	memset(f + n, 0xee, 6); /* trailing L2 padding must be trimmed */
	rx1(0, f, n + 6, T0);
	assert_int_equal(nw->out[0].n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(nw->out[0].pkts[0]), n);
	assert_eth(out_frame(0, 0), &mac_peer, &mac_if0, RTE_ETHER_TYPE_IPV4);
	ip = (const struct rte_ipv4_hdr *)(out_frame(0, 0) + 14);
	assert_ip4_valid((const uint8_t *)ip);
	assert_int_equal(ip->src_addr, ip4(10, 0, 0, 1));
	assert_int_equal(ip->dst_addr, ip4(10, 0, 0, 9));
	icmp = (const uint8_t *)(ip + 1);
	assert_int_equal(icmp[0], 0);
	s = rte_raw_cksum(icmp, 40);
	assert_int_equal(s, 0xffff);
	assert_memory_equal(icmp + 4, f + 34 + 4, 36); /* id, seq, data echoed */
	assert_int_equal(S(STAT_ICMP_ECHO_REPLIES), 1);
	assert_int_equal(drops_total(), 0);
}

static void test_icmp_local_refused(void **state)
{
	uint8_t f[256];
	size_t n;

	(void)state;
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1), 64, 40, 0);
	f[34 + 10] ^= 0xff; /* payload corrupt: ICMP checksum wrong */
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_ICMP_BAD_CHECKSUM), 1);

	n = put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_IPV4);
	n += put_ip4(f + n, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1), IPPROTO_UDP, 64, 20, 0);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_LOCAL_PROTO), 1);

	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1), 64, 40,
		      RTE_IPV4_HDR_MF_FLAG);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_LOCAL_FRAGMENT), 1);

	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1), 64, 40, 0);
	f[34] = 13; /* timestamp request */
	f[36] = f[37] = 0;
	{
		uint16_t c = (uint16_t)~rte_raw_cksum(f + 34, 40);

		memcpy(f + 36, &c, 2);
	}
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_ICMP_UNHANDLED), 1);

	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 0, 0, 255), 64, 40, 0);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_BAD_DST), 1);
	assert_int_equal(drops_total(), 5);
	assert_int_equal(out_total(), 0);
}

/* ---- forwarding ---- */

static void test_forward_v4(void **state)
{
	uint8_t f[256];
	size_t n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 64, 100, 0);
	const struct rte_ipv4_hdr *ip;
	struct neigh_key k;

	(void)state;
	neigh_key4(&k, 1, 0, ip4(10, 1, 0, 5));
	assert_int_equal(neigh_update(neigh, &k, &mac_nh, T0), 0);
	rx1(0, f, n, T0);
	assert_int_equal(nw->out[1].n, 1);
	assert_int_equal(out_total(), 1);
	assert_int_equal(rte_pktmbuf_pkt_len(nw->out[1].pkts[0]), n);
	assert_eth(out_frame(1, 0), &mac_nh, &mac_if1, RTE_ETHER_TYPE_IPV4);
	ip = (const struct rte_ipv4_hdr *)(out_frame(1, 0) + 14);
	assert_int_equal(ip->time_to_live, 63);
	assert_ip4_valid((const uint8_t *)ip);
	assert_memory_equal(out_frame(1, 0) + 34, f + 34, 100);
	assert_int_equal(S(STAT_IPV4_FORWARDED), 1);
	assert_int_equal(drops_total(), 0);

	/* via a gateway: the gateway's MAC */
	neigh_key4(&k, 1, 0, ip4(10, 1, 0, 254));
	assert_int_equal(neigh_update(neigh, &k, &mac_peer, T0), 0);
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(172, 16, 3, 4), 2, 30, 0);
	rx1(0, f, n, T0);
	assert_int_equal(nw->out[1].n, 2);
	assert_eth(out_frame(1, 1), &mac_peer, &mac_if1, RTE_ETHER_TYPE_IPV4);
	assert_int_equal(out_frame(1, 1)[14 + 8], 1);
	assert_ip4_valid(out_frame(1, 1) + 14);
}

static void test_vlan_in_out(void **state)
{
	uint8_t f[256];
	size_t n;
	struct neigh_key k;
	struct rte_mbuf *m;

	(void)state;
	/* tagged ARP request on port 1 VLAN 100: reply tagged */
	n = put_eth(f, &mac_bcast, &mac_peer, 100, RTE_ETHER_TYPE_ARP);
	n += put_arp(f + n, RTE_ARP_OP_REQUEST, &mac_peer, ip4(10, 2, 0, 9), ip4(10, 2, 0, 1));
	rx1(1, f, n, T0);
	assert_int_equal(nw->out[1].n, 1);
	assert_eth(out_frame(1, 0), &mac_peer, &mac_vl, RTE_ETHER_TYPE_VLAN);
	assert_int_equal(rte_be_to_cpu_16(*(uint16_t *)(out_frame(1, 0) + 14)), 100);
	assert_int_equal(rte_be_to_cpu_16(*(uint16_t *)(out_frame(1, 0) + 16)), RTE_ETHER_TYPE_ARP);
	assert_int_equal(out_frame(1, 0)[18 + 7], RTE_ARP_OP_REPLY);

	/* the same request with the tag stripped by the NIC: the reply is tagged too */
	n = put_eth(f, &mac_bcast, &mac_peer, 0, RTE_ETHER_TYPE_ARP);
	n += put_arp(f + n, RTE_ARP_OP_REQUEST, &mac_peer, ip4(10, 2, 0, 9), ip4(10, 2, 0, 1));
	m = mk(f, n);
	m->ol_flags |= RTE_MBUF_F_RX_VLAN_STRIPPED | RTE_MBUF_F_RX_VLAN;
	m->vlan_tci = 100;
	net_input(nw, snap, 1, &m, 1, T0);
	assert_int_equal(nw->out[1].n, 2);
	assert_int_equal(rte_be_to_cpu_16(*(uint16_t *)(out_frame(1, 1) + 12)),
			 RTE_ETHER_TYPE_VLAN);
	assert_int_equal(rte_be_to_cpu_16(*(uint16_t *)(out_frame(1, 1) + 14)), 100);
	assert_int_equal(nw->out[1].pkts[1]->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED, 0);

	/* forwarded from untagged eth0 into VLAN 100: tag inserted */
	neigh_key4(&k, 1, 100, ip4(10, 2, 0, 5));
	assert_int_equal(neigh_update(neigh, &k, &mac_nh, T0), 0);
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 2, 0, 5), 64, 30, 0);
	rx1(0, f, n, T0);
	assert_int_equal(nw->out[1].n, 3);
	assert_int_equal(rte_pktmbuf_pkt_len(nw->out[1].pkts[2]), n + 4);
	assert_eth(out_frame(1, 2), &mac_nh, &mac_vl, RTE_ETHER_TYPE_VLAN);
	assert_int_equal(rte_be_to_cpu_16(*(uint16_t *)(out_frame(1, 2) + 14)), 100);
	assert_int_equal(rte_be_to_cpu_16(*(uint16_t *)(out_frame(1, 2) + 16)),
			 RTE_ETHER_TYPE_IPV4);
	assert_int_equal(out_frame(1, 2)[18 + 8], 63);
	assert_ip4_valid(out_frame(1, 2) + 18);

	/* and back from VLAN 100 to eth0: tag removed */
	neigh_key4(&k, 0, 0, ip4(10, 0, 0, 9));
	assert_int_equal(neigh_update(neigh, &k, &mac_peer, T0), 0);
	n = put_eth(f, &mac_vl, &mac_nh, 100, RTE_ETHER_TYPE_IPV4);
	n += put_ip4(f + n, ip4(10, 2, 0, 5), ip4(10, 0, 0, 9), IPPROTO_ICMP, 64, 30, 0);
	rx1(1, f, n, T0);
	assert_int_equal(nw->out[0].n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(nw->out[0].pkts[0]), n - 4);
	assert_eth(out_frame(0, 0), &mac_peer, &mac_if0, RTE_ETHER_TYPE_IPV4);

	/* unknown VLAN */
	n = put_eth(f, &mac_vl, &mac_nh, 200, RTE_ETHER_TYPE_IPV4);
	n += put_ip4(f + n, ip4(10, 2, 0, 5), ip4(10, 0, 0, 9), IPPROTO_ICMP, 64, 30, 0);
	rx1(1, f, n, T0);
	assert_int_equal(S(STAT_DROP_VLAN_UNKNOWN), 1);
	assert_int_equal(drops_total(), 1);
}

static void test_ttl_exceeded(void **state)
{
	uint8_t f[256];
	size_t n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 1, 100, 0);
	const struct rte_ipv4_hdr *ip;
	const uint8_t *icmp;

	(void)state;
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_TTL_EXCEEDED), 1);
	assert_int_equal(S(STAT_ICMP_ERRORS_OUT), 1);
	assert_int_equal(drops_total(), 1);
	assert_int_equal(out_total(), 1);
	assert_int_equal(nw->out[0].n, 1);
	assert_eth(out_frame(0, 0), &mac_peer, &mac_if0, RTE_ETHER_TYPE_IPV4);
	ip = (const struct rte_ipv4_hdr *)(out_frame(0, 0) + 14);
	assert_ip4_valid((const uint8_t *)ip);
	assert_int_equal(ip->next_proto_id, IPPROTO_ICMP);
	assert_int_equal(ip->src_addr, ip4(10, 0, 0, 1));
	assert_int_equal(ip->dst_addr, ip4(10, 0, 0, 9));
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + 8 + 120);
	icmp = (const uint8_t *)(ip + 1);
	assert_int_equal(icmp[0], 11);
	assert_int_equal(icmp[1], 0);
	assert_int_equal(rte_raw_cksum(icmp, 8 + 120), 0xffff);
	/* the whole original datagram is quoted, header first, as received */
	assert_memory_equal(icmp + 8, f + 14, 120);

	/* no error about an ICMP error */
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 1, 40, 0);
	f[34] = 3;
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_TTL_EXCEEDED), 2);
	assert_int_equal(S(STAT_ICMP_ERRORS_OUT), 1);
	/* nor about a non-first fragment */
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 1, 40, 100);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_ICMP_ERRORS_OUT), 1);
	/* TTL 0 is the same */
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 0, 40, 0);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_TTL_EXCEEDED), 4);
	assert_int_equal(S(STAT_ICMP_ERRORS_OUT), 2);
	assert_int_equal(out_total(), 2);
}

static void test_no_route_and_frag_needed(void **state)
{
	uint8_t f[1600];
	size_t n;
	const uint8_t *icmp;

	(void)state;
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(8, 8, 8, 8), 64, 40, 0);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_NO_ROUTE), 1);
	assert_int_equal(nw->out[0].n, 1);
	icmp = out_frame(0, 0) + 34;
	assert_int_equal(icmp[0], 3);
	assert_int_equal(icmp[1], 0);
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(192, 0, 2, 1), 64, 40, 0);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_NO_ROUTE), 2);
	assert_int_equal(nw->out[0].n, 2);

	/* 1450 bytes to eth1 (MTU 1400) with DF: code 4 with the next-hop MTU */
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 64, 1430,
		      RTE_IPV4_HDR_DF_FLAG);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_FRAG_NEEDED), 1);
	assert_int_equal(nw->out[0].n, 3);
	icmp = out_frame(0, 2) + 34;
	assert_int_equal(icmp[0], 3);
	assert_int_equal(icmp[1], 4);
	assert_int_equal(icmp[6] << 8 | icmp[7], 1400);
	assert_int_equal(
		rte_be_to_cpu_16(
			((const struct rte_ipv4_hdr *)(out_frame(0, 2) + 14))->total_length),
		576);
	assert_int_equal(rte_raw_cksum(icmp, 576 - 20), 0xffff);
	/* without DF: dropped, no error */
	n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 64, 1430, 0);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV4_FRAG_NEEDED), 2);
	assert_int_equal(out_total(), 3);
	assert_int_equal(S(STAT_ICMP_ERRORS_OUT), 3);
	assert_int_equal(drops_total(), 4);
}

static void test_unresolved_then_resolved(void **state)
{
	uint8_t f[256];
	size_t n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 7), 64, 40, 0);
	const struct rte_arp_hdr *a;
	struct neigh_key k;

	(void)state;
	rx1(0, f, n, T0);
	rx1(0, f, n, T0 + 1);
	assert_int_equal(S(STAT_ARP_REQUESTS_OUT), 1);
	assert_int_equal(nw->out[1].n, 1);
	assert_eth(out_frame(1, 0), &mac_bcast, &mac_if1, RTE_ETHER_TYPE_ARP);
	a = (const struct rte_arp_hdr *)(out_frame(1, 0) + 14);
	assert_int_equal(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REQUEST);
	assert_int_equal(a->arp_data.arp_sip, ip4(10, 1, 0, 1));
	assert_int_equal(a->arp_data.arp_tip, ip4(10, 1, 0, 7));
	assert_memory_equal(&a->arp_data.arp_sha, &mac_if1, 6);
	assert_int_equal(nw->pending[0].n + nw->pending[1].n, 2);

	/* still unresolved: the timer holds on */
	net_timer(nw, snap, T0 + 10);
	assert_int_equal(nw->out[1].n, 1);

	neigh_key4(&k, 1, 0, ip4(10, 1, 0, 7));
	assert_int_equal(neigh_update(neigh, &k, &mac_nh, T0 + 20), 0);
	net_timer(nw, snap, T0 + 30);
	assert_int_equal(nw->out[1].n, 3);
	for (int i = 1; i < 3; i++) {
		assert_eth(out_frame(1, (uint16_t)i), &mac_nh, &mac_if1, RTE_ETHER_TYPE_IPV4);
		assert_int_equal(out_frame(1, (uint16_t)i)[14 + 8], 63);
		assert_ip4_valid(out_frame(1, (uint16_t)i) + 14);
	}
	for (int i = 0; i < NET_PENDING_MAX; i++)
		assert_int_equal(nw->pending[i].key.family, 0);
	assert_int_equal(drops_total(), 0);
}

static void test_unresolved_timeout(void **state)
{
	uint8_t f[256];
	size_t n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 8), 64, 40, 0);

	(void)state;
	for (int i = 0; i < NET_PENDING_QLEN + 1; i++)
		rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_NEIGH_QUEUE_FULL), 1);
	net_timer(nw, snap, T0 + 999999);
	assert_int_equal(S(STAT_ARP_REQUESTS_OUT), 1);
	net_timer(nw, snap, T0 + 1000000);
	assert_int_equal(S(STAT_ARP_REQUESTS_OUT), 2);
	net_timer(nw, snap, T0 + 2000000);
	assert_int_equal(S(STAT_ARP_REQUESTS_OUT), 3);
	assert_int_equal(S(STAT_DROP_NEIGH_UNRESOLVED), 0);
	net_timer(nw, snap, T0 + 3000000);
	assert_int_equal(S(STAT_ARP_REQUESTS_OUT), 3);
	assert_int_equal(S(STAT_DROP_NEIGH_UNRESOLVED), NET_PENDING_QLEN);
	assert_int_equal(nw->out[1].n, 3); /* only the requests */
	assert_int_equal(drops_total(), NET_PENDING_QLEN + 1);
}

static void test_pending_full(void **state)
{
	uint8_t f[256];
	size_t n;

	(void)state;
	for (int i = 0; i < NET_PENDING_MAX + 1; i++) {
		n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(172, 16, 0, (uint8_t)i), 64, 20,
			      0);
		rx1(0, f, n, T0); /* all via one gateway: one slot */
	}
	assert_int_equal(S(STAT_DROP_NEIGH_QUEUE_FULL), NET_PENDING_MAX + 1 - NET_PENDING_QLEN);
	for (int i = 0; i < NET_PENDING_MAX + 1; i++) {
		n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, (uint8_t)(i + 2)), 64,
			      20, 0);
		rx1(0, f, n, T0);
	}
	/* one slot is the gateway's: 63 more next hops fit */
	assert_int_equal(S(STAT_DROP_NEIGH_PENDING_FULL), 2);
}

static void test_stale_probe(void **state)
{
	uint8_t f[256];
	size_t n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 64, 40, 0);
	struct neigh_key k;

	(void)state;
	neigh_key4(&k, 1, 0, ip4(10, 1, 0, 5));
	assert_int_equal(neigh_update(neigh, &k, &mac_nh, 1), 0);
	neigh_age(neigh, 100, 10, 1000000);
	assert_int_equal(neigh_lookup(neigh, &k)->state, NEIGH_STALE);
	rx1(0, f, n, T0);
	rx1(0, f, n, T0 + 1);
	/* two forwarded packets, one unicast probe between them */
	assert_int_equal(nw->out[1].n, 3);
	assert_int_equal(S(STAT_NEIGH_PROBES_OUT), 1);
	assert_eth(out_frame(1, 1), &mac_nh, &mac_if1, RTE_ETHER_TYPE_ARP);
	assert_int_equal(S(STAT_ARP_REQUESTS_OUT), 0);
}

/* ---- IPv6 ---- */

static size_t frame_ns(uint8_t *f, const uint8_t *src, const uint8_t *dst,
		       const struct rte_ether_addr *dmac, const uint8_t *target, bool sllao)
{
	uint8_t body[32] = {135, 0};
	size_t n = put_eth(f, dmac, &mac_peer, 0, RTE_ETHER_TYPE_IPV6);

	memcpy(body + 8, target, 16);
	body[24] = 1;
	body[25] = 1;
	memcpy(body + 26, &mac_peer, 6);
	return n + put_ip6(f + n, src, dst, 58, 255, body, sllao ? 32 : 24);
}

static void test_ns_na(void **state)
{
	static const uint8_t sn[16] = {0xff, 0x02, [11] = 1, 0xff, 0, 0, 1};
	const struct rte_ether_addr sn_mac = {{0x33, 0x33, 0xff, 0, 0, 1}};
	uint8_t f[256];
	size_t n = frame_ns(f, a6_peer, sn, &sn_mac, a6_if0, true);
	const struct rte_ipv6_hdr *ip;
	const uint8_t *na;
	struct neigh_key k;

	(void)state;
	rx1(0, f, n, T0);
	assert_int_equal(nw->out[0].n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(nw->out[0].pkts[0]), 14 + 40 + 32);
	assert_eth(out_frame(0, 0), &mac_peer, &mac_if0, RTE_ETHER_TYPE_IPV6);
	ip = (const struct rte_ipv6_hdr *)(out_frame(0, 0) + 14);
	assert_int_equal(ip->hop_limits, 255);
	assert_int_equal(ip->proto, 58);
	assert_int_equal(rte_be_to_cpu_16(ip->payload_len), 32);
	assert_memory_equal(ip->src_addr, a6_if0, 16);
	assert_memory_equal(ip->dst_addr, a6_peer, 16);
	na = (const uint8_t *)(ip + 1);
	assert_int_equal(na[0], 136);
	assert_int_equal(na[1], 0);
	assert_int_equal(na[4], 0xe0); /* R, S, O */
	assert_memory_equal(na + 8, a6_if0, 16);
	assert_int_equal(na[24], 2);
	assert_int_equal(na[25], 1);
	assert_memory_equal(na + 26, &mac_if0, 6);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, na), 0);
	assert_int_equal(S(STAT_NDP_NS_IN), 1);
	assert_int_equal(S(STAT_NDP_NA_OUT), 1);
	neigh_key6(&k, 0, 0, a6_peer);
	assert_true(mailbox_has(NEIGH_EV_CONFIRM, &k, &mac_peer));

	/* for the link-local address, unicast */
	n = frame_ns(f, ll_peer, ll_if0, &mac_if0, ll_if0, true);
	rx1(0, f, n, T0);
	assert_int_equal(nw->out[0].n, 2);
	ip = (const struct rte_ipv6_hdr *)(out_frame(0, 1) + 14);
	assert_memory_equal(ip->src_addr, ll_if0, 16);

	/* refused: not ours, hop limit, bad checksum */
	n = frame_ns(f, a6_peer, a6_if0, &mac_if0, a6_far, true);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_NDP_NOT_FOR_US), 1);
	n = frame_ns(f, a6_peer, a6_if0, &mac_if0, a6_if0, true);
	f[14 + 7] = 64;
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_NDP_MALFORMED), 1);
	n = frame_ns(f, a6_peer, a6_if0, &mac_if0, a6_if0, true);
	f[n - 1] ^= 1;
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_ICMP6_BAD_CHECKSUM), 1);
	/* an option of length 0 */
	n = frame_ns(f, a6_peer, a6_if0, &mac_if0, a6_if0, false);
	{
		uint8_t body[32] = {135, 0};

		memcpy(body + 8, a6_if0, 16);
		body[24] = 1;
		n = 14 + put_ip6(f + 14, a6_peer, a6_if0, 58, 255, body, 32);
	}
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_NDP_MALFORMED), 2);
	assert_int_equal(drops_total(), 4);
	assert_int_equal(out_total(), 2);
}

static void test_na_in(void **state)
{
	uint8_t body[32] = {136, 0, 0, 0, 0x60};
	uint8_t f[256];
	size_t n = put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_IPV6);
	struct neigh_key k;

	(void)state;
	memcpy(body + 8, a6_peer, 16);
	body[24] = 2;
	body[25] = 1;
	memcpy(body + 26, &mac_nh, 6);
	n += put_ip6(f + n, a6_peer, a6_if0, 58, 255, body, 32);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_NDP_NA_IN), 1);
	assert_int_equal(drops_total(), 0);
	assert_int_equal(out_total(), 0);
	neigh_key6(&k, 0, 0, a6_peer);
	assert_true(mailbox_has(NEIGH_EV_CONFIRM, &k, &mac_nh));
}

static void test_icmp6_echo(void **state)
{
	uint8_t body[24] = {128, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
	uint8_t f[256];
	size_t n = put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_IPV6);
	const struct rte_ipv6_hdr *ip;

	(void)state;
	n += put_ip6(f + n, a6_peer, a6_if0, 58, 64, body, sizeof(body));
	rx1(0, f, n, T0);
	assert_int_equal(nw->out[0].n, 1);
	assert_eth(out_frame(0, 0), &mac_peer, &mac_if0, RTE_ETHER_TYPE_IPV6);
	ip = (const struct rte_ipv6_hdr *)(out_frame(0, 0) + 14);
	assert_memory_equal(ip->src_addr, a6_if0, 16);
	assert_memory_equal(ip->dst_addr, a6_peer, 16);
	assert_int_equal(((const uint8_t *)(ip + 1))[0], 129);
	assert_memory_equal((const uint8_t *)(ip + 1) + 4, body + 4, 20);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, ip + 1), 0);
	assert_int_equal(S(STAT_ICMP6_ECHO_REPLIES), 1);

	/* a UDP datagram to us is not served */
	n = 14 + put_ip6(f + 14, a6_peer, a6_if0, 17, 64, body, 8);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV6_LOCAL_PROTO), 1);
	assert_int_equal(drops_total(), 1);
}

static void test_forward_v6(void **state)
{
	uint8_t body[16] = {128};
	uint8_t f[1600];
	size_t n = put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_IPV6);
	const struct rte_ipv6_hdr *ip;
	struct neigh_key k;
	static const uint8_t sn[16] = {0xff, 0x02, [11] = 1, 0xff, 0, 0, 0x77};

	(void)state;
	n += put_ip6(f + n, a6_peer, a6_far, 58, 10, body, sizeof(body));
	rx1(0, f, n, T0);
	/* unresolved: an NS to the solicited-node group, from our link-local */
	assert_int_equal(S(STAT_NDP_NS_OUT), 1);
	assert_int_equal(nw->out[1].n, 1);
	assert_eth(out_frame(1, 0), &(struct rte_ether_addr){{0x33, 0x33, 0xff, 0, 0, 0x77}},
		   &mac_if1, RTE_ETHER_TYPE_IPV6);
	ip = (const struct rte_ipv6_hdr *)(out_frame(1, 0) + 14);
	assert_memory_equal(ip->dst_addr, sn, 16);
	assert_int_equal(ip->src_addr[0], 0xfe);
	assert_int_equal(ip->src_addr[15], 2);
	assert_int_equal(ip->hop_limits, 255);
	assert_int_equal(((const uint8_t *)(ip + 1))[0], 135);
	assert_memory_equal((const uint8_t *)(ip + 1) + 8, a6_far, 16);
	assert_memory_equal((const uint8_t *)(ip + 1) + 26, &mac_if1, 6);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, ip + 1), 0);

	neigh_key6(&k, 1, 0, a6_far);
	assert_int_equal(neigh_update(neigh, &k, &mac_nh, T0), 0);
	net_timer(nw, snap, T0 + 1);
	assert_int_equal(nw->out[1].n, 2);
	assert_eth(out_frame(1, 1), &mac_nh, &mac_if1, RTE_ETHER_TYPE_IPV6);
	assert_int_equal(out_frame(1, 1)[14 + 7], 9);
	assert_int_equal(S(STAT_IPV6_FORWARDED), 1);

	/* hop limit 1: time exceeded */
	n = 14 + put_ip6(f + 14, a6_peer, a6_far, 58, 1, body, sizeof(body));
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV6_HOP_LIMIT), 1);
	assert_int_equal(nw->out[0].n, 1);
	ip = (const struct rte_ipv6_hdr *)(out_frame(0, 0) + 14);
	assert_int_equal(((const uint8_t *)(ip + 1))[0], 3);
	assert_memory_equal(ip->src_addr, a6_if0, 16);
	assert_memory_equal(ip->dst_addr, a6_peer, 16);
	assert_memory_equal((const uint8_t *)(ip + 1) + 8, f + 14, 40 + sizeof(body));
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, ip + 1), 0);

	/* too big for eth1's 1400 */
	{
		static uint8_t big[1400];

		big[0] = 128;
		n = 14 + put_ip6(f + 14, a6_peer, a6_far, 58, 64, big, sizeof(big));
	}
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV6_TOO_BIG), 1);
	assert_int_equal(nw->out[0].n, 2);
	ip = (const struct rte_ipv6_hdr *)(out_frame(0, 1) + 14);
	assert_int_equal(((const uint8_t *)(ip + 1))[0], 2);
	assert_int_equal(rte_be_to_cpu_32(*(const uint32_t *)((const uint8_t *)(ip + 1) + 4)),
			 1400);
	assert_int_equal(rte_be_to_cpu_16(ip->payload_len), 1280 - 40);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, ip + 1), 0);

	/* no route, and link-local destinations that are not ours */
	n = 14 + put_ip6(f + 14, a6_peer, (const uint8_t[16]){0x30, 0x01}, 58, 64, body, 16);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV6_NO_ROUTE), 1);
	n = 14 + put_ip6(f + 14, a6_peer, ll_peer, 58, 64, body, 16);
	rx1(0, f, n, T0);
	assert_int_equal(S(STAT_DROP_IPV6_BAD_DST), 1);
	assert_int_equal(drops_total(), 4);
}

/* ---- malformed input ---- */

struct bad_case {
	const char *what;
	enum stats_id expect;
	size_t len;
	uint8_t f[128];
	uint16_t port;
	unsigned int out; /* frames expected out (an ICMP error) */
};

static void test_malformed(void **state)
{
	static struct bad_case c[32];
	unsigned int nc = 0;
	uint8_t *f;
	size_t n;

	(void)state;
#define CASE(desc, id)             \
	do {                       \
		c[nc].what = desc; \
		c[nc].expect = id; \
		f = c[nc].f;       \
	} while (0)
#define DONE(l) (c[nc++].len = (l))
#define V4(ttl) frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), ttl, 40, 0)

	CASE("truncated eth", STAT_DROP_ETH_TRUNCATED);
	DONE(put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_IPV4) - 1);
	CASE("truncated vlan", STAT_DROP_ETH_TRUNCATED);
	DONE(put_eth(f, &mac_vl, &mac_peer, 100, RTE_ETHER_TYPE_IPV4) - 2);
	CASE("stacked vlan", STAT_DROP_VLAN_STACKED);
	n = put_eth(f, &mac_vl, &mac_peer, 100, RTE_ETHER_TYPE_VLAN);
	DONE(n + 40);
	CASE("unknown ethertype", STAT_DROP_ETH_UNKNOWN_TYPE);
	DONE(put_eth(f, &mac_if0, &mac_peer, 0, 0x88cc) + 46);
	CASE("multicast src mac", STAT_DROP_ETH_BAD_SRC);
	n = V4(64);
	f[6] = 0x01;
	DONE(n);
	CASE("zero src mac", STAT_DROP_ETH_BAD_SRC);
	n = V4(64);
	memset(f + 6, 0, 6);
	DONE(n);
	CASE("not for us", STAT_DROP_ETH_NOT_FOR_US);
	n = V4(64);
	f[5] = 0x99;
	DONE(n);
	CASE("truncated ipv4", STAT_DROP_IPV4_TRUNCATED);
	DONE(14 + 19);
	memcpy(c[nc - 1].f, c[0].f, 14);
	c[nc - 1].f[12] = 0x08;
	c[nc - 1].f[13] = 0x00;
	CASE("bad version", STAT_DROP_IPV4_BAD_VERSION);
	n = V4(64);
	f[14] = 0x65;
	DONE(n);
	CASE("ihl 4", STAT_DROP_IPV4_BAD_IHL);
	n = V4(64);
	f[14] = 0x44;
	DONE(n);
	CASE("total length < ihl", STAT_DROP_IPV4_BAD_LENGTH);
	n = V4(64);
	f[16] = 0;
	f[17] = 16;
	DONE(n);
	CASE("total length > frame", STAT_DROP_IPV4_TRUNCATED);
	n = V4(64);
	DONE(n - 1);
	CASE("bad checksum", STAT_DROP_IPV4_BAD_CHECKSUM);
	n = V4(64);
	f[24] ^= 0x10;
	DONE(n);
	CASE("ttl 0 forward", STAT_DROP_IPV4_TTL_EXCEEDED);
	c[nc].out = 1; /* RFC 1812 5.3.1: time exceeded, like TTL 1 */
	DONE(V4(0));
	CASE("bad src loopback", STAT_DROP_IPV4_BAD_SRC);
	DONE(frame_ip4(f, &mac_if0, ip4(127, 0, 0, 1), ip4(10, 1, 0, 5), 64, 40, 0));
	CASE("bad src multicast", STAT_DROP_IPV4_BAD_SRC);
	DONE(frame_ip4(f, &mac_if0, ip4(224, 0, 0, 1), ip4(10, 1, 0, 5), 64, 40, 0));
	CASE("bad dst multicast", STAT_DROP_IPV4_BAD_DST);
	DONE(frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(224, 0, 0, 5), 64, 40, 0));
	CASE("no iface on port", STAT_DROP_NO_IFACE);
	n = V4(64);
	c[nc].port = 5;
	DONE(n);
	CASE("ipv6 bad version", STAT_DROP_IPV6_BAD_VERSION);
	n = put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_IPV6);
	n += put_ip6(f + n, a6_peer, a6_if0, 58, 64, (const uint8_t[8]){128}, 8);
	f[14] = 0x40;
	DONE(n);
	CASE("ipv6 truncated", STAT_DROP_IPV6_TRUNCATED);
	n = put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_IPV6);
	n += put_ip6(f + n, a6_peer, a6_if0, 58, 64, (const uint8_t[8]){128}, 8);
	DONE(n - 1);
	CASE("ipv6 multicast src", STAT_DROP_IPV6_BAD_SRC);
	n = put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_IPV6);
	DONE(n + put_ip6(f + n, (const uint8_t[16]){0xff, 2, [15] = 1}, a6_if0, 58, 64,
			 (const uint8_t[8]){128}, 8));
	CASE("ipv6 unspecified src, not DAD", STAT_DROP_IPV6_BAD_SRC);
	n = put_eth(f, &mac_if0, &mac_peer, 0, RTE_ETHER_TYPE_IPV6);
	DONE(n +
	     put_ip6(f + n, (const uint8_t[16]){0}, a6_if0, 58, 64, (const uint8_t[8]){128}, 8));
	CASE("ipv6 foreign group", STAT_DROP_IPV6_BAD_DST);
	n = put_eth(f, &(struct rte_ether_addr){{0x33, 0x33, 0, 0, 0, 2}}, &mac_peer, 0,
		    RTE_ETHER_TYPE_IPV6);
	DONE(n + put_ip6(f + n, a6_peer, (const uint8_t[16]){0xff, 2, [15] = 2}, 58, 64,
			 (const uint8_t[8]){128}, 8));

	for (unsigned int i = 0; i < nc; i++) {
		memset(&stats, 0, sizeof(stats));
		net_worker_release(nw);
		rx1(c[i].port, c[i].f, c[i].len, T0);
		if (S(c[i].expect) != 1 || drops_total() != 1 || out_total() != c[i].out)
			fail_msg("case '%s': expected %s once, drops %lu, out %u", c[i].what,
				 stats_name(c[i].expect), (unsigned long)drops_total(),
				 out_total());
	}
#undef CASE
#undef DONE
#undef V4
}

static void test_icmp_rate_limit(void **state)
{
	uint8_t f[256];
	size_t n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 1, 40, 0);

	(void)state;
	assert_int_equal(net_worker_init(nw, &stats, neigh, pool, TSC_HZ, 10), 0); /* burst 2 */
	for (int i = 0; i < 4; i++)
		rx1(0, f, n, T0);
	assert_int_equal(S(STAT_ICMP_ERRORS_OUT), 2);
	assert_int_equal(S(STAT_ICMP_ERRORS_RATELIMITED), 2);
	assert_int_equal(S(STAT_DROP_IPV4_TTL_EXCEEDED), 4);
	/* 100 ms later one token (10/s) is back */
	rx1(0, f, n, T0 + TSC_HZ / 10);
	rx1(0, f, n, T0 + TSC_HZ / 10);
	assert_int_equal(S(STAT_ICMP_ERRORS_OUT), 3);
	assert_int_equal(S(STAT_ICMP_ERRORS_RATELIMITED), 3);
	assert_int_equal(out_total(), 3);
}

static void test_burst_mixed(void **state)
{
	uint8_t f[256];
	struct rte_mbuf *m[70];
	struct neigh_key k;
	size_t n;

	(void)state;
	neigh_key4(&k, 1, 0, ip4(10, 1, 0, 5));
	assert_int_equal(neigh_update(neigh, &k, &mac_nh, T0), 0);
	/* more than one pass of the bulk lookup, ARP interleaved */
	for (int i = 0; i < 70; i++) {
		if (i % 10 == 9)
			n = frame_arp_req(f, ip4(10, 0, 0, 9), ip4(10, 0, 0, 1));
		else
			n = frame_ip4(f, &mac_if0, ip4(10, 0, 0, 9), ip4(10, 1, 0, 5), 64, 20, 0);
		m[i] = mk(f, n);
	}
	net_input(nw, snap, 0, m, 70, T0);
	assert_int_equal(nw->out[1].n, 63);
	assert_int_equal(nw->out[0].n, 7);
	assert_int_equal(S(STAT_IPV4_FORWARDED), 63);
	assert_int_equal(drops_total(), 0);
}

/*
 * net_ipv4_check() verifies option-less headers with a 32-bit-word sum: it must
 * accept exactly the headers whose 16-bit ones'-complement sum (rte_raw_cksum)
 * is 0xffff, and refuse every single-bit corruption of a good one.
 */
static void test_ipv4_check_sum(void **state)
{
	uint8_t h[20];
	unsigned int bad = 0;

	(void)state;
	srand(4242);
	for (unsigned int round = 0; round < 20000; round++) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)h;
		bool good;

		for (unsigned int i = 0; i < sizeof(h); i++)
			h[i] = (uint8_t)rand();
		if (round % 7 == 0)
			memset(h, round % 14 == 0 ? 0xff : 0, sizeof(h));
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16(20 + round % 100);
		if (round % 2 == 0) {
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
		good = rte_raw_cksum(h, sizeof(h)) == 0xffff;
		bad += !good;
		assert_int_equal(net_ipv4_check(ip, 200, 0),
				 good ? NET_CHECK_OK : STAT_DROP_IPV4_BAD_CHECKSUM);
		/* the NIC said good: no software check */
		assert_int_equal(net_ipv4_check(ip, 200, 1), NET_CHECK_OK);
		if (!good)
			continue;
		for (unsigned int bit = 0; bit < 160; bit++) {
			if (bit / 8 < 4)
				continue; /* version, IHL, TOS and length have checks of their own */
			h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(net_ipv4_check(ip, 200, 0), STAT_DROP_IPV4_BAD_CHECKSUM);
			h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	assert_true(bad > 1000); /* both kinds were tried */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arp_request_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_reply_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_local_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan_in_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_exceeded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_route_and_frag_needed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unresolved_then_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unresolved_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ns_na, setup, teardown),
		cmocka_unit_test_setup_teardown(test_na_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp6_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_mixed, setup, teardown),
		cmocka_unit_test(test_ipv4_check_sum),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
