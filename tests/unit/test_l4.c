/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * l4: the packet path of mesh mode, driven with synthetic IPv4 packets against a
 * snapshot compiled from a real config: DNAT and full-NAT rewrites (addresses,
 * ports, and checksums that still verify), the reply path restoring the VIP,
 * connect results feeding the endpoint breaker, SM-DR1/2/8 refusals with their
 * counters, resets for refused TCP, the rate limit, and flow expiry settling
 * the endpoint's active count.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/config/config.h"
#include "dataplane/endpoint/endpoint.h"
#include "dataplane/l4/l4.h"
#include "test_eal.h"

static const struct cfg_port_info ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
	{.name = "p1", .port_id = 1, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x02}}},
};

static const char doc[] =
	"{\"version\": 1, \"mode\": \"mesh\","
	" \"interfaces\": [{\"name\": \"c\", \"port\": \"p0\", \"ipv4\": [\"10.10.1.1/24\"]},"
	"  {\"name\": \"s\", \"port\": \"p1\", \"ipv4\": [\"10.10.2.1/24\"]}],"
	" \"flows\": {\"capacity\": 4096, \"timeouts_s\": {\"syn\": 2}},"
	" \"mesh\": {\"prefixes\": [\"10.10.0.0/16\", \"10.30.0.0/24\"]},"
	" \"workloads\": [{\"name\": \"fe\", \"namespace\": \"shop\", \"service\": \"fe\","
	"   \"prefixes\": [\"10.10.1.2/32\"]}],"
	" \"services\": ["
	"  {\"name\": \"web\", \"namespace\": \"shop\", \"vip\": \"10.30.0.10\","
	"   \"ports\": [{\"port\": 80, \"target_port\": 8080}], \"reject\": \"reset\","
	"   \"endpoints\": [{\"address\": \"10.10.2.11\"}],"
	"   \"breaker\": {\"consecutive_failures\": 2, \"base_ejection_ms\": 10000,"
	"    \"max_ejection_percent\": 100},"
	"   \"health\": {\"interval_ms\": 0}},"
	"  {\"name\": \"fn\", \"namespace\": \"shop\", \"vip\": \"10.30.0.30\","
	"   \"ports\": [{\"port\": 53, \"protocol\": \"udp\"}], \"nat\": \"fullnat\","
	"   \"snat\": [\"10.10.2.1\"], \"endpoints\": [{\"address\": \"10.10.2.12\"}],"
	"   \"health\": {\"interval_ms\": 0}},"
	"  {\"name\": \"lim\", \"namespace\": \"shop\", \"vip\": \"10.30.0.20\","
	"   \"ports\": [{\"port\": 80}], \"endpoints\": [{\"address\": \"10.10.2.13\"}],"
	"   \"health\": {\"interval_ms\": 0}}],"
	" \"external_services\": [{\"name\": \"partner\", \"prefixes\": [\"198.51.100.10/32\"],"
	"   \"ports\": [443]}],"
	" \"policies\": ["
	"  {\"name\": \"a\", \"action\": \"allow\", \"from\": {\"namespace\": \"shop\","
	"   \"service\": \"fe\"}, \"to\": {\"service\": \"web\"}},"
	"  {\"name\": \"b\", \"action\": \"allow\", \"from\": {\"namespace\": \"shop\","
	"   \"service\": \"fe\"}, \"to\": {\"service\": \"fn\"}},"
	"  {\"name\": \"c\", \"action\": \"allow\", \"from\": {\"namespace\": \"shop\","
	"   \"service\": \"fe\"}, \"to\": {\"service\": \"lim\"}},"
	"  {\"name\": \"d\", \"action\": \"allow\", \"from\": {\"namespace\": \"shop\","
	"   \"service\": \"fe\"}, \"to\": {\"external\": \"partner\"}}],"
	" \"limits\": [{\"name\": \"l\", \"service\": \"lim\", \"scope\": \"service\","
	"   \"connections_per_s\": 1, \"burst\": 2, \"action\": \"drop\"},"
	"  {\"name\": \"s\", \"service\": \"fn\", \"scope\": \"source\","
	"   \"packets_per_s\": 1, \"burst\": 4, \"action\": \"drop\"}],"
	" \"listeners\": [{\"name\": \"px\", \"type\": \"tcp_proxy\", \"address\": \"10.10.1.1\","
	"   \"port\": 8000, \"cluster\": \"web\"}]}";

static struct rte_mempool *pool;
static struct cfg_snapshot *snap;
static struct l4_global *g;
static struct l4_worker lw;
static struct stats_block stats;

static uint32_t ip4(const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* An IPv4 TCP or UDP packet, data at the IP header as net hands it to l4. */
static struct rte_mbuf *pkt(uint8_t proto, const char *src, uint16_t sport, const char *dst,
			    uint16_t dport, uint8_t flags)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	size_t l4len =
		proto == IPPROTO_TCP ? sizeof(struct rte_tcp_hdr) : sizeof(struct rte_udp_hdr);
	struct rte_ipv4_hdr *ip;

	assert_non_null(m);
	/* (through mtod: gcc's -Warray-bounds does not see that cmocka's assert stops) */
	assert_non_null(rte_pktmbuf_append(m, (uint16_t)(sizeof(*ip) + l4len + 4)));
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	memset(ip, 0, sizeof(*ip) + l4len + 4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4len + 4));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = ip4(src);
	ip->dst_addr = ip4(dst);
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);

		t->src_port = rte_cpu_to_be_16(sport);
		t->dst_port = rte_cpu_to_be_16(dport);
		t->sent_seq = rte_cpu_to_be_32(1000);
		t->recv_ack = (flags & RTE_TCP_ACK_FLAG) ? rte_cpu_to_be_32(5001) : 0;
		t->data_off = (sizeof(*t) / 4) << 4;
		t->tcp_flags = flags;
		t->rx_win = rte_cpu_to_be_16(1000);
		memcpy(t + 1, "data", 4);
		t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	} else {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);

		u->src_port = rte_cpu_to_be_16(sport);
		u->dst_port = rte_cpu_to_be_16(dport);
		u->dgram_len = rte_cpu_to_be_16((uint16_t)(l4len + 4));
		memcpy(u + 1, "data", 4);
		u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	}
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return m;
}

/* ICMP port unreachable from @p src to @p dst quoting a UDP datagram. */
static struct rte_mbuf *icmp_unreachable(const char *src, const char *dst, const char *qsrc,
					 uint16_t qsport, const char *qdst, uint16_t qdport)
{
	struct rte_mbuf *q = pkt(IPPROTO_UDP, qsrc, qsport, qdst, qdport, 0);
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint16_t qlen = (uint16_t)(sizeof(struct rte_ipv4_hdr) + 8);
	struct rte_ipv4_hdr *ip;
	uint8_t *icmp;

	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, (uint16_t)(sizeof(*ip) + 8 + qlen)));
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	memset(ip, 0, sizeof(*ip) + 8);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + 8 + qlen));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = ip4(src);
	ip->dst_addr = ip4(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp = (uint8_t *)(ip + 1);
	icmp[0] = 3; /* destination unreachable */
	icmp[1] = 3; /* port unreachable */
	memcpy(icmp + 8, rte_pktmbuf_mtod(q, void *), qlen);
	rte_pktmbuf_free(q);
	icmp[2] = icmp[3] = 0;
	{
		uint16_t c = (uint16_t)~rte_raw_cksum(icmp, 8u + qlen);

		memcpy(icmp + 2, &c, 2);
	}
	return m;
}

static struct rte_ipv4_hdr *iph(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
}

/* Both checksums of a (rewritten) packet verify. */
static void assert_checksums(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = iph(m);

	assert_int_equal(rte_ipv4_cksum(ip), 0);
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, ip + 1), 0);
}

static void assert_tuple(struct rte_mbuf *m, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport)
{
	struct rte_ipv4_hdr *ip = iph(m);
	const struct rte_tcp_hdr *t = (const struct rte_tcp_hdr *)(ip + 1);

	assert_int_equal(ip->src_addr, ip4(src));
	assert_int_equal(ip->dst_addr, ip4(dst));
	if (sport != 0)
		assert_int_equal(rte_be_to_cpu_16(t->src_port), sport);
	assert_int_equal(rte_be_to_cpu_16(t->dst_port), dport);
}

static enum stats_id run(struct rte_mbuf *m)
{
	return l4_input(&lw, snap, m, rte_rdtsc());
}

static int setup(void **state)
{
	struct cfg_error err;

	(void)state;
	pool = rte_pktmbuf_pool_create("l4test", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	assert_non_null(pool);
	if (cfg_compile(doc, sizeof(doc) - 1, ports, 2, NULL, &snap, &err) != 0)
		fail_msg("%s", err.msg);
	g = l4_global_create(1);
	assert_non_null(g);
	assert_int_equal(l4_bind(g, snap, err.msg, sizeof(err.msg)), 0);
	snap->generation = 1;
	assert_int_equal(l4_worker_init(&lw, g, &stats, 0, 1, 4096, SOCKET_ID_ANY), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	l4_worker_release(&lw);
	cfg_snapshot_free(snap);
	l4_global_free(g);
	rte_mempool_free(pool);
	return 0;
}

static void test_dnat_both_ways(void **state)
{
	struct ep_state *ep = snap->services[0].endpoints[0].rt;
	struct rte_mbuf *m;

	(void)state;
	m = pkt(IPPROTO_TCP, "10.10.1.2", 40000, "10.30.0.10", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	assert_tuple(m, "10.10.1.2", 40000, "10.10.2.11", 8080); /* DNAT: client kept */
	assert_checksums(m);
	rte_pktmbuf_free(m);
	assert_int_equal(ep->active, 1);
	assert_int_equal(ep->pending, 1);

	/* the endpoint's SYN-ACK comes back from the VIP and settles the connect */
	m = pkt(IPPROTO_TCP, "10.10.2.11", 8080, "10.10.1.2", 40000,
		RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	assert_tuple(m, "10.30.0.10", 80, "10.10.1.2", 40000);
	assert_checksums(m);
	rte_pktmbuf_free(m);
	assert_int_equal(ep->pending, 0);
	assert_int_equal(ep->active, 1);
	assert_int_equal(stats.c[STAT_L4_CONNECTS_OK], 1);

	/* data and the close: TIME_WAIT releases the connection slot */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 40000, "10.30.0.10", 80,
		RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	assert_tuple(m, "10.10.1.2", 40000, "10.10.2.11", 8080);
	rte_pktmbuf_free(m);
	m = pkt(IPPROTO_TCP, "10.10.2.11", 8080, "10.10.1.2", 40000,
		RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	rte_pktmbuf_free(m);
	m = pkt(IPPROTO_TCP, "10.10.1.2", 40000, "10.30.0.10", 80, RTE_TCP_ACK_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	rte_pktmbuf_free(m);
	assert_int_equal(ep->active, 0);
}

static void test_fullnat_udp(void **state)
{
	struct rte_mbuf *m;
	uint16_t snat_port;

	(void)state;
	m = pkt(IPPROTO_UDP, "10.10.1.2", 5353, "10.30.0.30", 53, 0);
	assert_int_equal(run(m), NET_CHECK_OK);
	/* full-NAT: the source becomes the SNAT address and one of our ports */
	assert_tuple(m, "10.10.2.1", 0, "10.10.2.12", 53);
	snat_port = rte_be_to_cpu_16(((struct rte_udp_hdr *)(iph(m) + 1))->src_port);
	assert_true(snat_port >= 1024 && snat_port < 61000);
	assert_checksums(m);
	rte_pktmbuf_free(m);

	m = pkt(IPPROTO_UDP, "10.10.2.12", 53, "10.10.2.1", snat_port, 0);
	assert_int_equal(run(m), NET_CHECK_OK);
	assert_tuple(m, "10.30.0.30", 53, "10.10.1.2", 5353);
	assert_checksums(m);
	rte_pktmbuf_free(m);

	/* the endpoint's port unreachable about the NATed datagram reaches the
	 * client as if the VIP had sent it, quoting the client's own datagram */
	m = icmp_unreachable("10.10.2.12", "10.10.2.1", "10.10.2.1", snat_port, "10.10.2.12", 53);
	assert_int_equal(run(m), NET_CHECK_OK);
	{
		struct rte_ipv4_hdr *ip = iph(m);
		struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *)((uint8_t *)(ip + 1) + 8);
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(in + 1);

		assert_int_equal(ip->src_addr, ip4("10.30.0.30"));
		assert_int_equal(ip->dst_addr, ip4("10.10.1.2"));
		assert_int_equal(in->src_addr, ip4("10.10.1.2"));
		assert_int_equal(in->dst_addr, ip4("10.30.0.30"));
		assert_int_equal(rte_be_to_cpu_16(u->src_port), 5353);
		assert_int_equal(rte_be_to_cpu_16(u->dst_port), 53);
		assert_int_equal(rte_ipv4_cksum(ip), 0);
		assert_int_equal(rte_ipv4_cksum(in), 0);
		assert_int_equal(
			rte_raw_cksum(ip + 1, rte_be_to_cpu_16(ip->total_length) - sizeof(*ip)),
			0xffff);
	}
	rte_pktmbuf_free(m);
	assert_int_equal(stats.c[STAT_L4_ICMP_TRANSLATED], 1);
}

static void test_refusals(void **state)
{
	struct rte_mbuf *m;
	struct rte_tcp_hdr *t;

	(void)state;
	/* SM-DR2: a source no workload holds; reject "reset" turns it into an RST */
	m = pkt(IPPROTO_TCP, "10.10.1.9", 41000, "10.30.0.10", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	assert_tuple(m, "10.30.0.10", 80, "10.10.1.9", 41000);
	t = (struct rte_tcp_hdr *)(iph(m) + 1);
	assert_int_equal(t->tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(rte_be_to_cpu_32(t->recv_ack), 1000 + 4 + 1);
	assert_checksums(m);
	rte_pktmbuf_free(m);
	assert_int_equal(stats.c[STAT_DROP_L4_POLICY_DENIED], 1);
	assert_int_equal(stats.c[STAT_L4_RESETS_OUT], 1);

	/* SM-DR1: a port the VIP does not declare; its service resets refused TCP */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41005, "10.30.0.10", 81, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	assert_tuple(m, "10.30.0.10", 81, "10.10.1.2", 41005);
	assert_int_equal(((struct rte_tcp_hdr *)(iph(m) + 1))->tcp_flags,
			 RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	rte_pktmbuf_free(m);
	assert_int_equal(stats.c[STAT_DROP_L4_UNDECLARED], 1);

	/* SM-DR1: straight to an endpoint, bypassing the VIP */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41001, "10.10.2.11", 8080, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(m), STAT_DROP_L4_UNDECLARED);
	rte_pktmbuf_free(m);

	/* SM-DR8: egress to a declared external service passes, elsewhere not */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41002, "198.51.100.10", 443, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	assert_tuple(m, "10.10.1.2", 41002, "198.51.100.10", 443); /* no NAT */
	rte_pktmbuf_free(m);
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41003, "198.51.100.10", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(m), STAT_DROP_L4_EGRESS_DENIED);
	rte_pktmbuf_free(m);

	/* a mid-stream segment of a flow nobody knows */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41004, "10.30.0.10", 80, RTE_TCP_ACK_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK); /* reset, as the service says */
	assert_int_equal(stats.c[STAT_DROP_L4_NO_FLOW], 1);
	rte_pktmbuf_free(m);
}

static void test_rate_limit(void **state)
{
	int passed = 0, limited = 0;

	(void)state;
	/* 1 connection/s with a burst of 2: two of five quick connects pass */
	for (uint16_t i = 0; i < 5; i++) {
		struct rte_mbuf *m = pkt(IPPROTO_TCP, "10.10.1.2", (uint16_t)(42000 + i),
					 "10.30.0.20", 80, RTE_TCP_SYN_FLAG);
		enum stats_id r = run(m);

		if (r == NET_CHECK_OK)
			passed++;
		else if (r == STAT_DROP_L4_RATE_LIMITED) /* net counts and frees it */
			limited++;
		rte_pktmbuf_free(m);
	}
	assert_int_equal(passed, 2);
	assert_int_equal(limited, 3);
}

static void test_source_packet_limit(void **state)
{
	int passed = 0;

	(void)state;
	/* 1 packet/s per source, burst 4, on "fn": of 10 datagrams of one flow
	 * (test_fullnat_udp spent one token of this source already) three pass */
	for (int i = 0; i < 10; i++) {
		struct rte_mbuf *m = pkt(IPPROTO_UDP, "10.10.1.2", 5353, "10.30.0.30", 53, 0);
		enum stats_id r = run(m);

		if (r == NET_CHECK_OK)
			passed++;
		else
			assert_int_equal(r, STAT_DROP_L4_RATE_LIMITED);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(passed, 3);
	/* a second flow from the same address shares its bucket */
	{
		struct rte_mbuf *m = pkt(IPPROTO_UDP, "10.10.1.2", 5354, "10.30.0.30", 53, 0);

		assert_int_equal(run(m), STAT_DROP_L4_RATE_LIMITED);
		rte_pktmbuf_free(m);
	}
}

static void test_connect_failures_eject(void **state)
{
	struct ep_state *ep = snap->services[0].endpoints[0].rt;
	struct rte_mbuf *m;

	(void)state;
	/* two refused connects in a row eject the only endpoint */
	for (uint16_t i = 0; i < 2; i++) {
		m = pkt(IPPROTO_TCP, "10.10.1.2", (uint16_t)(43000 + i), "10.30.0.10", 80,
			RTE_TCP_SYN_FLAG);
		assert_int_equal(run(m), NET_CHECK_OK);
		rte_pktmbuf_free(m);
		m = pkt(IPPROTO_TCP, "10.10.2.11", 8080, "10.10.1.2", (uint16_t)(43000 + i),
			RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
		assert_int_equal(run(m), NET_CHECK_OK); /* the RST goes back to the client */
		assert_tuple(m, "10.30.0.10", 80, "10.10.1.2", (uint16_t)(43000 + i));
		rte_pktmbuf_free(m);
	}
	assert_int_equal(ep_breaker_state(ep), EP_EJECTED);
	assert_int_equal(ep->active, 0);
	/* the next connection finds no endpoint and is reset */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 43010, "10.30.0.10", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	assert_int_equal(((struct rte_tcp_hdr *)(iph(m) + 1))->tcp_flags,
			 RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	rte_pktmbuf_free(m);
	assert_true(stats.c[STAT_DROP_L4_NO_ENDPOINT] >= 1);
}

static void test_expiry_releases(void **state)
{
	struct ep_state *ep = snap->services[2].endpoints[0].rt;
	struct net_worker nw = {0};
	uint64_t far = rte_rdtsc() + 100000 * rte_get_tsc_hz();
	struct rte_mbuf *m;
	uint32_t active;

	(void)state;
	nw.stats = &stats;
	nw.pool = pool;
	sleep(2); /* the rate limit of "lim" admits again */
	/* the unanswered connects of the earlier tests are older than the
	 * configured 2 s SYN timeout (the default is 30 s): they go now */
	for (int i = 0; i < 8; i++)
		l4_timer(&lw, &nw, snap, rte_rdtsc() + rte_get_tsc_hz() / 8);
	assert_int_equal(ep->active, 0);
	active = ep->active;
	m = pkt(IPPROTO_TCP, "10.10.1.2", 44000, "10.30.0.20", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	rte_pktmbuf_free(m);
	assert_int_equal(ep->active, active + 1);
	/* never answered: at expiry the connect counts as failed, the slot is freed */
	l4_timer(&lw, &nw, snap, rte_rdtsc() + rte_get_tsc_hz());
	assert_int_equal(ep->active, active + 1); /* 1 s: still there */
	for (int i = 0; i < 8; i++)
		l4_timer(&lw, &nw, snap, rte_rdtsc() + 3 * rte_get_tsc_hz());
	assert_int_equal(ep->active, active); /* 3 s: expired */
	for (int i = 0; i < 64 && flow_table_count(lw.flows) != 0; i++)
		l4_timer(&lw, &nw, snap, far + (uint64_t)i * rte_get_tsc_hz());
	assert_int_equal(flow_table_count(lw.flows), 0);
	assert_int_equal(ep->active, 0);
	assert_int_equal(ep->pending, 0);
	assert_true(ep->total_failures >= 1);
}

/*
 * Two workers: whichever worker receives them, a DNAT flow's request, its
 * reply and an ICMP error about it all end up at the same owner (the other
 * worker hands them over through the owner's ring).
 */
/* What the proxy's hooks were offered (test_local_tcp_hooks). */
static unsigned int local_tcp_calls, local_icmp_calls;
static uint32_t local_icmp_mtu;

static bool fake_local_tcp(void *ctx, struct rte_mbuf *m, uint64_t now_tsc)
{
	const struct rte_tcp_hdr *t = (const struct rte_tcp_hdr *)(iph(m) + 1);

	(void)ctx;
	(void)now_tsc;
	local_tcp_calls++;
	if (rte_be_to_cpu_16(t->dst_port) != 8000)
		return false; /* not the stack's: the L4 path goes on */
	rte_pktmbuf_free(m);
	return true;
}

static bool fake_local_icmp(void *ctx, const void *quoted, uint32_t len, uint32_t mtu,
			    uint64_t now_tsc)
{
	const struct rte_ipv4_hdr *q = quoted;

	(void)ctx;
	(void)now_tsc;
	assert_true(len >= sizeof(*q) + 8);
	assert_int_equal(q->src_addr, ip4("10.10.2.1"));
	local_icmp_calls++;
	local_icmp_mtu = mtu;
	return true;
}

/* ICMP "fragmentation needed" (or another unreachable @p code) quoting TCP. */
static struct rte_mbuf *icmp_tcp(uint8_t code, uint16_t mtu, const char *qsrc, uint16_t qsport,
				 const char *qdst, uint16_t qdport)
{
	struct rte_mbuf *m = icmp_unreachable(qdst, qsrc, qsrc, qsport, qdst, qdport);
	uint8_t *icmp = (uint8_t *)(iph(m) + 1);
	uint16_t c;

	icmp[1] = code;
	icmp[6] = (uint8_t)(mtu >> 8);
	icmp[7] = (uint8_t)mtu;
	icmp[8 + 9] = IPPROTO_TCP; /* the quoted header's protocol */
	icmp[2] = icmp[3] = 0;
	c = (uint16_t)~rte_raw_cksum(icmp, rte_pktmbuf_data_len(m) - sizeof(struct rte_ipv4_hdr));
	memcpy(icmp + 2, &c, 2);
	return m;
}

/* TCP to a local address goes to the node's stack first; ICMP errors about
 * its segments too; nothing else does. */
static void test_local_tcp_hooks(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	lw.local_tcp = fake_local_tcp;
	lw.local_tcp_icmp = fake_local_icmp;
	local_tcp_calls = local_icmp_calls = 0;
	assert_int_equal(
		run(pkt(IPPROTO_TCP, "10.10.1.2", 40000, "10.10.1.1", 8000, RTE_TCP_SYN_FLAG)),
		NET_L4_CONSUMED);
	assert_int_equal(local_tcp_calls, 1);
	/* to a VIP: never offered to the stack */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 40001, "10.30.0.10", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(m), NET_CHECK_OK);
	rte_pktmbuf_free(m);
	assert_int_equal(local_tcp_calls, 1);
	/* local, but not the stack's: the L4 path decides as before */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 40002, "10.10.1.1", 9999, RTE_TCP_SYN_FLAG);
	assert_int_not_equal(run(m), NET_L4_CONSUMED);
	rte_pktmbuf_free(m);
	assert_int_equal(local_tcp_calls, 2);
	/* fragmentation needed about a segment the stack sent */
	assert_int_equal(run(icmp_tcp(4, 1000, "10.10.2.1", 40001, "10.10.2.11", 8080)),
			 NET_L4_CONSUMED);
	assert_int_equal(local_icmp_calls, 1);
	assert_int_equal(local_icmp_mtu, 1000);
	/* port unreachable: a hard error, mtu 0 */
	assert_int_equal(run(icmp_tcp(3, 0, "10.10.2.1", 40001, "10.10.2.11", 8080)),
			 NET_L4_CONSUMED);
	assert_int_equal(local_icmp_calls, 2);
	assert_int_equal(local_icmp_mtu, 0);
	/* about UDP, or about a segment that did not come from us: not the stack's */
	m = icmp_unreachable("10.10.2.11", "10.10.2.1", "10.10.2.1", 40001, "10.10.2.11", 8080);
	assert_int_not_equal(run(m), NET_L4_CONSUMED);
	rte_pktmbuf_free(m);
	m = icmp_tcp(4, 1000, "10.10.1.2", 40001, "10.10.2.11", 8080);
	assert_int_not_equal(run(m), NET_L4_CONSUMED);
	rte_pktmbuf_free(m);
	assert_int_equal(local_icmp_calls, 2);
	lw.local_tcp = NULL;
	lw.local_tcp_icmp = NULL;
}

/* Two workers on a snapshot of their own (test_steering*). */
struct two_workers {
	struct l4_global *g;
	struct stats_block st[2];
	struct l4_worker w[2];
	struct cfg_snapshot *s;
};

static void two_workers_init(struct two_workers *t)
{
	struct cfg_error err;

	memset(t, 0, sizeof(*t));
	t->g = l4_global_create(2);
	assert_non_null(t->g);
	/* compiled against the first snapshot: it shares its FIBs (the test EAL is small) */
	assert_int_equal(cfg_compile(doc, sizeof(doc) - 1, ports, 2, snap, &t->s, &err), 0);
	assert_int_equal(l4_bind(t->g, t->s, err.msg, sizeof(err.msg)), 0);
	for (uint16_t i = 0; i < 2; i++)
		assert_int_equal(
			l4_worker_init(&t->w[i], t->g, &t->st[i], i, 2, 4096, SOCKET_ID_ANY), 0);
}

static void two_workers_free(struct two_workers *t)
{
	for (uint16_t i = 0; i < 2; i++)
		l4_worker_release(&t->w[i]);
	cfg_snapshot_free(t->s);
	l4_global_free(t->g); /* frees what waits in the rings */
}

static void test_steering(void **state)
{
	struct two_workers tw;
	struct stats_block *st2 = tw.st;
	struct l4_worker *w2 = tw.w;
	struct cfg_snapshot *s2;
	struct rte_mbuf *m;
	int owner = -1;

	(void)state;
	two_workers_init(&tw);
	s2 = tw.s;
	/* the request: one worker keeps it (the owner), the other hands it over */
	for (int i = 0; i < 2; i++) {
		m = pkt(IPPROTO_TCP, "10.10.1.2", 45000, "10.30.0.10", 80, RTE_TCP_SYN_FLAG);
		if (l4_input(&w2[i], s2, m, rte_rdtsc()) == NET_L4_CONSUMED) {
			assert_int_equal(st2[i].c[STAT_L4_HANDOFF_OUT], 1);
		} else {
			assert_int_equal(owner, -1);
			owner = i;
			rte_pktmbuf_free(m);
		}
	}
	assert_true(owner == 0 || owner == 1);
	/* the reply and an ICMP error about the request follow it */
	for (int i = 0; i < 2; i++) {
		m = pkt(IPPROTO_TCP, "10.10.2.11", 8080, "10.10.1.2", 45000,
			RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
		if (l4_input(&w2[i], s2, m, rte_rdtsc()) != NET_L4_CONSUMED) {
			assert_int_equal(i, owner);
			assert_tuple(m, "10.30.0.10", 80, "10.10.1.2", 45000);
			rte_pktmbuf_free(m);
		}
	}
	m = icmp_unreachable("10.10.2.11", "10.10.1.2", "10.10.1.2", 45000, "10.10.2.11", 8080);
	/* quoted as UDP by the helper: the owner is computed alike, the flow is TCP */
	if (l4_input(&w2[1 - owner], s2, m, rte_rdtsc()) != NET_L4_CONSUMED)
		fail_msg("the ICMP error was not handed to the flow's owner");
	/* the owner's ring holds exactly what the other worker passed on */
	assert_int_equal(st2[1 - owner].c[STAT_L4_HANDOFF_OUT], 3);
	assert_int_equal(st2[owner].c[STAT_L4_HANDOFF_OUT], 0);
	two_workers_free(&tw);
}

/*
 * Steering a whole burst at once (l4_owners(): the VIP and endpoint tables
 * searched in bulk) agrees packet by packet with the rule for a VIP: the
 * owner is the hash of the client's (address, port). The requests a worker
 * keeps are DNATed, so net gets no next hop for them (NET_NH_UNKNOWN).
 */
static void test_steering_burst(void **state)
{
	enum { N = 48 };
	struct two_workers tw;
	struct rte_mbuf *m[N];
	enum stats_id v[N];
	uint32_t nh[N];
	unsigned int mine = 0, theirs = 0;

	(void)state;
	two_workers_init(&tw);
	/* requests to the VIP, runs of them, then each one's reply from the
	 * endpoint (DNAT: the owner is by the client's address and port too) */
	for (int i = 0; i < N; i++) {
		uint16_t cport = (uint16_t)(46000 + i / 2);

		if (i % 2 == 0 || i < N / 2)
			m[i] = pkt(IPPROTO_TCP, "10.10.1.2", (uint16_t)(46000 + i), "10.30.0.10",
				   80, RTE_TCP_SYN_FLAG);
		else
			m[i] = pkt(IPPROTO_TCP, "10.10.2.11", 8080, "10.10.1.2", cport,
				   RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	}
	l4_input_burst(&tw.w[0], tw.s, m, N, v, nh, rte_rdtsc());
	for (int i = 0; i < N; i++) {
		const bool reply = !(i % 2 == 0 || i < N / 2);
		const uint16_t cport = reply ? (uint16_t)(46000 + i / 2) : (uint16_t)(46000 + i);
		uint16_t owner =
			(uint16_t)(rte_jhash_2words(inet_addr("10.10.1.2"), htons(cport), 0) % 2);

		if (owner == 1) {
			assert_int_equal(v[i], NET_L4_CONSUMED);
			theirs++;
			continue;
		}
		assert_int_not_equal(v[i], NET_L4_CONSUMED);
		if (!reply) {
			assert_int_equal(v[i], NET_CHECK_OK);
			assert_int_equal(nh[i], NET_NH_UNKNOWN);
			/* DNATed */
			assert_int_not_equal(iph(m[i])->dst_addr, ip4("10.30.0.10"));
		}
		mine++;
		rte_pktmbuf_free(m[i]);
	}
	assert_true(mine > 0 && theirs > 0);
	assert_int_equal(tw.st[0].c[STAT_L4_HANDOFF_OUT], theirs);
	two_workers_free(&tw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dnat_both_ways),
		cmocka_unit_test(test_fullnat_udp),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_source_packet_limit),
		cmocka_unit_test(test_connect_failures_eject),
		cmocka_unit_test(test_expiry_releases),
		cmocka_unit_test(test_local_tcp_hooks),
		cmocka_unit_test(test_steering),
		cmocka_unit_test(test_steering_burst),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
