/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target of the L2/L3 path: one raw Ethernet frame per input through
 * net_input() and net_timer() against a snapshot that cfg_compile() builds from
 * a small document (two ports, one VLAN interface, IPv4 and IPv6, gateway and
 * blackhole routes) and one known neighbour. Everything net sends or holds is
 * freed afterwards, and a leak of mbufs aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "dataplane/net/net.h"
#include "net_fixture.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_TSC_HZ 10000 /* fake clock: 1 tick = 100 us, so retrans_ms 100 = 1000 ticks */

static struct rte_mempool *pool;
static struct cfg_snapshot *snap;
static struct neigh_table *neigh;
static struct net_worker *nw;
static struct stats_block stats;
static uint64_t now = 1000000;

static const struct cfg_port_info fz_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
	{.name = "p1", .port_id = 1, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x02}}},
};

/* The addresses tests/fuzz/corpus/make_packet_corpus.py writes frames for. */
static const char fz_config[] =
	"{\"version\": 1,\n"
	" \"interfaces\": [\n"
	"  {\"name\": \"eth0\", \"port\": \"p0\", \"ipv4\": [\"10.0.0.1/24\"],"
	" \"ipv6\": [\"2001:db8::1/64\"]},\n"
	"  {\"name\": \"eth1\", \"port\": \"p1\", \"ipv4\": [\"10.1.0.1/24\"],"
	" \"ipv6\": [\"2001:db8:1::1/64\"]},\n"
	"  {\"name\": \"eth1.100\", \"port\": \"p1\", \"vlan\": 100,"
	" \"ipv4\": [\"10.2.0.1/24\"], \"ipv6\": [\"2001:db8:2::1/64\"]}],\n"
	" \"routes\": [\n"
	"  {\"prefix\": \"172.16.0.0/12\", \"via\": \"10.1.0.254\"},\n"
	"  {\"prefix\": \"2001:db8:100::/48\", \"via\": \"2001:db8:1::fe\"},\n"
	"  {\"prefix\": \"192.0.2.0/24\", \"blackhole\": true}],\n"
	" \"neighbour\": {\"retrans_ms\": 100, \"probes\": 2}}\n";

static void build(void)
{
	struct cfg_error err;
	struct neigh_key k;

	if (cfg_compile(fz_config, strlen(fz_config), fz_ports, RTE_DIM(fz_ports), NULL, &snap,
			&err) != 0) {
		fprintf(stderr, "fuzz_packet config: %s\n", err.msg);
		abort();
	}
	neigh_key4(&k, 1, 0, rte_cpu_to_be_32(RTE_IPV4(10, 1, 0, 5)));
	neigh_update(neigh, &k, &(struct rte_ether_addr){{0x02, 0xbb, 0, 0, 0, 5}}, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	test_eal_init();
	if (net_fixture_create("fz", 1023, 64, &pool, &neigh, &nw) != 0)
		abort();
	build();
	if (net_worker_init(nw, &stats, neigh, pool, FZ_TSC_HZ, 1000) != 0)
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
