/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target of the L2/L3 path: one raw Ethernet frame per input through
 * net_input() and net_timer() against a hand-built snapshot (two ports, one VLAN
 * interface, v4 and v6 routes, one known neighbour). Everything net sends or
 * holds is freed afterwards, and a leak of mbufs aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/net/net.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rte_mempool *pool;
static struct cfg_snapshot *snap;
static struct neigh_table *neigh;
static struct net_worker *nw;
static struct stats_block stats;
static uint64_t now = 1000000;

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static void iface(uint16_t idx, uint16_t port, uint16_t vlan, uint8_t last, uint32_t v4,
		  uint8_t net6)
{
	struct cfg_iface *i = &snap->ifaces[idx];

	i->port_id = port;
	i->vlan = vlan;
	i->mtu = 1500;
	i->mac = (struct rte_ether_addr){{0x02, 0, 0, 0, 0, last}};
	i->n_ipv4 = 1;
	i->ipv4[0].addr = rte_cpu_to_be_32(v4);
	i->ipv4[0].len = 24;
	i->n_ipv6 = 1;
	i->ipv6[0].addr[0] = 0x20;
	i->ipv6[0].addr[1] = 0x01;
	i->ipv6[0].addr[2] = 0x0d;
	i->ipv6[0].addr[3] = 0xb8;
	i->ipv6[0].addr[5] = net6;
	i->ipv6[0].addr[15] = 1;
	i->ipv6[0].len = 64;
	i->ipv6_link_local[0] = 0xfe;
	i->ipv6_link_local[1] = 0x80;
	i->ipv6_link_local[15] = last;
	if (vlan == 0) {
		snap->port_iface[port] = (uint8_t)(idx + 1);
	} else {
		snap->vlan_ifaces[snap->n_vlan_ifaces].port_id = port;
		snap->vlan_ifaces[snap->n_vlan_ifaces].vlan = vlan;
		snap->vlan_ifaces[snap->n_vlan_ifaces++].iface = idx;
	}
	snap->n_ifaces = (uint16_t)(idx + 1);
}

static void build(void)
{
	static struct cfg_nexthop nh[8];
	struct rte_fib_conf c4 = {0};
	struct rte_fib6_conf c6 = {0};
	struct neigh_key k;
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};

	snap = calloc(1, sizeof(*snap));
	if (snap == NULL)
		abort();
	snap->neigh.retrans_ms = 1;
	snap->neigh.probes = 2;
	iface(0, 0, 0, 1, ip4(10, 0, 0, 1), 0);
	iface(1, 1, 0, 2, ip4(10, 1, 0, 1), 1);
	iface(2, 1, 100, 3, ip4(10, 2, 0, 1), 2);
	nh[1] = (struct cfg_nexthop){.type = CFG_NH_LOCAL, .family = 4};
	nh[2] = (struct cfg_nexthop){.type = CFG_NH_CONNECTED, .family = 4, .iface = 0};
	nh[3] = (struct cfg_nexthop){.type = CFG_NH_CONNECTED, .family = 4, .iface = 1};
	nh[4] = (struct cfg_nexthop){.type = CFG_NH_CONNECTED, .family = 4, .iface = 2};
	nh[5] = (struct cfg_nexthop){.type = CFG_NH_BROADCAST, .family = 4};
	nh[6] = (struct cfg_nexthop){.type = CFG_NH_LOCAL, .family = 6};
	nh[7] = (struct cfg_nexthop){.type = CFG_NH_CONNECTED, .family = 6, .iface = 1};
	snap->nexthops = nh;
	snap->n_nexthops = 8;

	c4.type = RTE_FIB_DIR24_8;
	c4.max_routes = 32;
	c4.dir24_8.nh_sz = RTE_FIB_DIR24_8_2B;
	c4.dir24_8.num_tbl8 = 32;
	snap->fib4 = rte_fib_create("fz4", SOCKET_ID_ANY, &c4);
	c6.type = RTE_FIB6_TRIE;
	c6.max_routes = 32;
	c6.trie.nh_sz = RTE_FIB6_TRIE_2B;
	c6.trie.num_tbl8 = 64;
	snap->fib6 = rte_fib6_create("fz6", SOCKET_ID_ANY, &c6);
	if (snap->fib4 == NULL || snap->fib6 == NULL)
		abort();
	rte_fib_add(snap->fib4, ip4(10, 0, 0, 0), 24, 2);
	rte_fib_add(snap->fib4, ip4(10, 1, 0, 0), 24, 3);
	rte_fib_add(snap->fib4, ip4(10, 2, 0, 0), 24, 4);
	rte_fib_add(snap->fib4, ip4(10, 0, 0, 1), 32, 1);
	rte_fib_add(snap->fib4, ip4(10, 1, 0, 1), 32, 1);
	rte_fib_add(snap->fib4, ip4(10, 2, 0, 1), 32, 1);
	rte_fib_add(snap->fib4, ip4(10, 0, 0, 255), 32, 5);
	rte_fib6_add(snap->fib6, snap->ifaces[0].ipv6[0].addr, 128, 6);
	a[5] = 1;
	rte_fib6_add(snap->fib6, a, 48, 7);

	neigh_key4(&k, 1, 0, rte_cpu_to_be_32(ip4(10, 1, 0, 5)));
	neigh_update(neigh, &k, &(struct rte_ether_addr){{0x02, 0xbb, 0, 0, 0, 5}}, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	test_eal_init();
	pool = rte_pktmbuf_pool_create("fz_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	neigh = neigh_create("fz", 64, SOCKET_ID_ANY);
	nw = rte_zmalloc("fz_nw", sizeof(*nw), RTE_CACHE_LINE_SIZE);
	if (pool == NULL || neigh == NULL || nw == NULL)
		abort();
	build();
	if (net_worker_init(nw, &stats, neigh, pool, 1000000, 1000) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int avail = rte_mempool_avail_count(pool);
	struct rte_mbuf *m;
	uint8_t *p;
	uint16_t port;

	if (size < 1 || size > RTE_MBUF_DEFAULT_DATAROOM)
		return 0;
	/* the first byte picks the port and the offload flags, the rest is the frame */
	port = data[0] & 1;
	m = rte_pktmbuf_alloc(pool);
	if (m == NULL)
		abort();
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(size - 1));
	if (size > 1)
		memcpy(p, data + 1, size - 1);
	if (data[0] & 2) {
		m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
		m->vlan_tci = 100;
	}
	if (data[0] & 4)
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	net_input(nw, snap, port, &m, 1, now);
	now += 400;
	net_timer(nw, snap, now);
	now += 4000;
	net_timer(nw, snap, now); /* past retrans x probes: pending frames time out */
	net_worker_release(nw);
	while (rte_ring_count(neigh_mailbox(neigh)) > 0)
		neigh_drain(neigh, now);
	if (rte_mempool_avail_count(pool) != avail) {
		fprintf(stderr, "mbuf leak: %u -> %u\n", avail, rte_mempool_avail_count(pool));
		abort();
	}
	return 0;
}
