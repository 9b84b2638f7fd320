/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * l4: the packet path of mesh mode, driven with synthetic IPv4 packets against a
 * snapshot compiled from a real config: DNAT and full-NAT rewrites (addresses,
 * ports, and checksums that still verify), the reply path restoring the VIP,
 * connect results feeding the endpoint breaker, SM-DR1/2/8 refusals with their
 * counters, resets for refused TCP, the rate limit, and flow expiry settling
 * the endpoint's active count.
 *
 * Every test gets a fixture of its own (struct fx, built by fx_setup and freed by
 * fx_teardown): a fresh snapshot, l4_global (endpoint and limit state), worker
 * and counters, so no test depends on what another one left behind. Time is the
 * fixture's synthetic clock f->now (TSC cycles): tests advance it with
 * fx_advance_ms(); nothing reads the real clock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <inttypes.h>
#include <jansson.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/config/config.h"
#include "dataplane/endpoint/endpoint.h"
#include "dataplane/l4/l4.h"
#include "dataplane/proxy/proxy.h"
#include "net_fixture.h"
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
	" \"mesh\": {\"prefixes\": [\"10.10.0.0/16\", \"10.30.0.0/24\", \"10.40.0.0/15\"]},"
	" \"workloads\": [{\"name\": \"fe\", \"namespace\": \"shop\", \"service\": \"fe\","
	"   \"prefixes\": [\"10.10.1.2/32\", \"10.40.0.0/15\"]}],"
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
	"   \"health\": {\"interval_ms\": 0}},"
	"  {\"name\": \"multi\", \"namespace\": \"shop\", \"vip\": \"10.30.0.40\","
	"   \"ports\": [{\"port\": 80}], \"endpoints\": [{\"address\": \"10.10.2.21\"},"
	"    {\"address\": \"10.10.2.22\"}, {\"address\": \"10.10.2.23\"}],"
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
	"   \"service\": \"fe\"}, \"to\": {\"external\": \"partner\"}},"
	"  {\"name\": \"e\", \"action\": \"allow\", \"from\": {\"namespace\": \"shop\","
	"   \"service\": \"fe\"}, \"to\": {\"service\": \"multi\"}}],"
	" \"limits\": [{\"name\": \"l\", \"service\": \"lim\", \"scope\": \"service\","
	"   \"connections_per_s\": 1, \"burst\": 2, \"action\": \"drop\"},"
	"  {\"name\": \"s\", \"service\": \"fn\", \"scope\": \"source\","
	"   \"packets_per_s\": 1, \"burst\": 4, \"action\": \"drop\"}],"
	" \"listeners\": [{\"name\": \"px\", \"type\": \"tcp_proxy\", \"address\": \"10.10.1.1\","
	"   \"port\": 8000, \"cluster\": \"web\"}]}";

/* The mbuf pool outlives the fixtures: every test frees what it allocates. */
static struct rte_mempool *pool;

struct fx {
	struct cfg_snapshot *snap;
	struct l4_global *g;
	struct l4_worker lw;
	struct net_worker nw; /* for l4_timer(): its pool and counters */
	struct stats_block stats;
	uint64_t hz;  /* TSC cycles per second */
	uint64_t now; /* the synthetic clock handed to l4_input() and l4_timer() */
};

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

/* l4_input() at the fixture's clock. */
static enum stats_id run(struct fx *f, struct rte_mbuf *m)
{
	return l4_input(&f->lw, f->snap, m, f->now);
}

static void fx_advance_ms(struct fx *f, uint64_t ms)
{
	f->now += ms * f->hz / 1000;
}

/* l4_timer() at the fixture's clock, @p n times (aging has a budget per call). */
static void fx_timer(struct fx *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		l4_timer(&f->lw, &f->nw, f->snap, f->now);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cfg_error err;

	assert_non_null(f);
	if (cfg_compile(doc, sizeof(doc) - 1, ports, 2, NULL, &f->snap, &err) != 0)
		fail_msg("%s", err.msg);
	f->g = l4_global_create(1);
	assert_non_null(f->g);
	assert_int_equal(l4_bind(f->g, f->snap, err.msg, sizeof(err.msg)), 0);
	f->snap->generation = 1;
	assert_int_equal(l4_worker_init(&f->lw, f->g, &f->stats, 0, 1, 4096, SOCKET_ID_ANY), 0);
	f->nw.stats = &f->stats;
	f->nw.pool = pool;
	f->hz = rte_get_tsc_hz();
	/* l4_bind() stamped its state with the TSC: the clock starts after that and
	 * from then on moves only when a test moves it */
	f->now = rte_rdtsc();
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	l4_worker_release(&f->lw);
	cfg_snapshot_free(f->snap);
	l4_global_free(f->g);
	free(f);
	/* every mbuf is back: a test that leaked one would starve the ones after it */
	assert_int_equal(rte_mempool_in_use_count(pool), 0);
	return 0;
}

/* l4_upstream_open() to service "multi" (index 3, three endpoints) from fe's 10.10.1.2:@p cport. */
static int upstream(struct fx *f, uint16_t cport, const struct l4_pick_opts *o)
{
	struct l4_upstream up;
	enum stats_id why = l4_upstream_open(&f->lw, f->snap, 3, 0, 80, ip4("10.10.1.2"),
					     rte_cpu_to_be_16(cport), ip4("10.10.1.1"),
					     rte_cpu_to_be_16(8000), o, f->now, &up);

	assert_int_equal(why, NET_CHECK_OK);
	assert_int_equal(up.service, 3);
	l4_upstream_result(&f->lw, f->snap, &up, true, f->now); /* no longer pending */
	l4_upstream_close(&up);
	return (int)up.endpoint;
}

/* The pick options: a request hash decides a Maglev pick whatever the 5-tuple;
 * least_request never takes the busiest of three; round robin and random. */
static void test_upstream_pick(void **state)
{
	struct fx *f = *state;
	const struct l4_service *sv = &f->snap->services[3];
	struct l4_pick_opts o = {.policy = L4_PICK_SERVICE, .hashed = true, .hash = 12345};
	unsigned int seen[3] = {0}, hashes[3] = {0};
	int first;

	assert_string_equal(sv->key, "shop/multi");
	/* the 5-tuple alone spreads over the three */
	for (uint16_t p = 0; p < 300; p++)
		seen[upstream(f, (uint16_t)(40000 + p), NULL)]++;
	assert_true(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
	/* one hash: one endpoint, whatever the client port */
	first = upstream(f, 40000, &o);
	for (uint16_t p = 1; p < 100; p++)
		assert_int_equal(upstream(f, (uint16_t)(40000 + p), &o), first);
	/* other hashes reach the others */
	for (uint32_t h = 0; h < 300; h++) {
		o.hash = h * 0x9e3779b1u;
		hashes[upstream(f, 40000, &o)]++;
	}
	assert_true(hashes[0] > 0 && hashes[1] > 0 && hashes[2] > 0);

	/* least_request: endpoint 0 busy, so two choices never take it */
	struct ep_state *busy = sv->endpoints[0].rt;

	__atomic_add_fetch(&busy->active, 50, __ATOMIC_RELAXED);
	memset(seen, 0, sizeof(seen));
	o = (struct l4_pick_opts){.policy = L4_PICK_LEAST_REQUEST};
	for (uint64_t k = 0; k < 300; k++) {
		o.rand = k * 0x9e3779b97f4a7c15ull;
		seen[upstream(f, 40000, &o)]++;
	}
	assert_int_equal(seen[0], 0);
	assert_true(seen[1] > 50 && seen[2] > 50);
	/* random takes it as often as the others, within reason */
	memset(seen, 0, sizeof(seen));
	o.policy = L4_PICK_RANDOM;
	for (uint64_t k = 0; k < 300; k++) {
		o.rand = k * 0x9e3779b97f4a7c15ull;
		seen[upstream(f, 40000, &o)]++;
	}
	assert_true(seen[0] > 50 && seen[1] > 50 && seen[2] > 50);
	__atomic_sub_fetch(&busy->active, 50, __ATOMIC_RELAXED);
	/* round robin: each in turn */
	memset(seen, 0, sizeof(seen));
	o.policy = L4_PICK_ROUND_ROBIN;
	for (uint16_t k = 0; k < 30; k++)
		seen[upstream(f, 40000, &o)]++;
	assert_int_equal(seen[0], 10);
	assert_int_equal(seen[1], 10);
	assert_int_equal(seen[2], 10);
}

static void test_dnat_both_ways(void **state)
{
	struct fx *f = *state;
	struct ep_state *ep = f->snap->services[0].endpoints[0].rt;
	struct rte_mbuf *m;

	m = pkt(IPPROTO_TCP, "10.10.1.2", 40000, "10.30.0.10", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	assert_tuple(m, "10.10.1.2", 40000, "10.10.2.11", 8080); /* DNAT: client kept */
	assert_checksums(m);
	rte_pktmbuf_free(m);
	assert_int_equal(ep->active, 1);
	assert_int_equal(ep->pending, 1);

	/* the endpoint's SYN-ACK comes back from the VIP and settles the connect */
	m = pkt(IPPROTO_TCP, "10.10.2.11", 8080, "10.10.1.2", 40000,
		RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	assert_tuple(m, "10.30.0.10", 80, "10.10.1.2", 40000);
	assert_checksums(m);
	rte_pktmbuf_free(m);
	assert_int_equal(ep->pending, 0);
	assert_int_equal(ep->active, 1);
	assert_int_equal(f->stats.c[STAT_L4_CONNECTS_OK], 1);

	/* data and the close: TIME_WAIT releases the connection slot */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 40000, "10.30.0.10", 80,
		RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	assert_tuple(m, "10.10.1.2", 40000, "10.10.2.11", 8080);
	rte_pktmbuf_free(m);
	m = pkt(IPPROTO_TCP, "10.10.2.11", 8080, "10.10.1.2", 40000,
		RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	rte_pktmbuf_free(m);
	m = pkt(IPPROTO_TCP, "10.10.1.2", 40000, "10.30.0.10", 80, RTE_TCP_ACK_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	rte_pktmbuf_free(m);
	assert_int_equal(ep->active, 0);
}

static void test_fullnat_udp(void **state)
{
	struct fx *f = *state;
	struct rte_mbuf *m;
	uint16_t snat_port;

	m = pkt(IPPROTO_UDP, "10.10.1.2", 5353, "10.30.0.30", 53, 0);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	/* full-NAT: the source becomes the SNAT address and one of our ports */
	assert_tuple(m, "10.10.2.1", 0, "10.10.2.12", 53);
	snat_port = rte_be_to_cpu_16(((struct rte_udp_hdr *)(iph(m) + 1))->src_port);
	assert_true(snat_port >= 1024 && snat_port < 61000);
	assert_checksums(m);
	rte_pktmbuf_free(m);

	m = pkt(IPPROTO_UDP, "10.10.2.12", 53, "10.10.2.1", snat_port, 0);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	assert_tuple(m, "10.30.0.30", 53, "10.10.1.2", 5353);
	assert_checksums(m);
	rte_pktmbuf_free(m);

	/* the endpoint's port unreachable about the NATed datagram reaches the
	 * client as if the VIP had sent it, quoting the client's own datagram */
	m = icmp_unreachable("10.10.2.12", "10.10.2.1", "10.10.2.1", snat_port, "10.10.2.12", 53);
	assert_int_equal(run(f, m), NET_CHECK_OK);
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
	assert_int_equal(f->stats.c[STAT_L4_ICMP_TRANSLATED], 1);
}

static void test_refusals(void **state)
{
	struct fx *f = *state;
	struct rte_mbuf *m;
	struct rte_tcp_hdr *t;

	/* SM-DR2: a source no workload holds; reject "reset" turns it into an RST */
	m = pkt(IPPROTO_TCP, "10.10.1.9", 41000, "10.30.0.10", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	assert_tuple(m, "10.30.0.10", 80, "10.10.1.9", 41000);
	t = (struct rte_tcp_hdr *)(iph(m) + 1);
	assert_int_equal(t->tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(rte_be_to_cpu_32(t->recv_ack), 1000 + 4 + 1);
	assert_checksums(m);
	rte_pktmbuf_free(m);
	assert_int_equal(f->stats.c[STAT_DROP_L4_POLICY_DENIED], 1);
	assert_int_equal(f->stats.c[STAT_L4_RESETS_OUT], 1);

	/* SM-DR1: a port the VIP does not declare; its service resets refused TCP */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41005, "10.30.0.10", 81, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	assert_tuple(m, "10.30.0.10", 81, "10.10.1.2", 41005);
	assert_int_equal(((struct rte_tcp_hdr *)(iph(m) + 1))->tcp_flags,
			 RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	rte_pktmbuf_free(m);
	assert_int_equal(f->stats.c[STAT_DROP_L4_UNDECLARED], 1);

	/* SM-DR1: straight to an endpoint, bypassing the VIP */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41001, "10.10.2.11", 8080, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(f, m), STAT_DROP_L4_UNDECLARED);
	rte_pktmbuf_free(m);

	/* SM-DR8: egress to a declared external service passes, elsewhere not */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41002, "198.51.100.10", 443, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	assert_tuple(m, "10.10.1.2", 41002, "198.51.100.10", 443); /* no NAT */
	rte_pktmbuf_free(m);
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41003, "198.51.100.10", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(f, m), STAT_DROP_L4_EGRESS_DENIED);
	rte_pktmbuf_free(m);

	/* a mid-stream segment of a flow nobody knows */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 41004, "10.30.0.10", 80, RTE_TCP_ACK_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK); /* reset, as the service says */
	assert_int_equal(f->stats.c[STAT_DROP_L4_NO_FLOW], 1);
	rte_pktmbuf_free(m);
}

/* A SYN from the frontend to @p vip:80 from @p sport: what l4_input() said. */
static enum stats_id syn(struct fx *f, const char *vip, uint16_t sport)
{
	struct rte_mbuf *m = pkt(IPPROTO_TCP, "10.10.1.2", sport, vip, 80, RTE_TCP_SYN_FLAG);
	enum stats_id r = run(f, m);

	rte_pktmbuf_free(m); /* passed on, turned into a reset, or refused: ours to free */
	return r;
}

static void test_rate_limit(void **state)
{
	struct fx *f = *state;
	int passed = 0, limited = 0;

	/* 1 connection/s with a burst of 2: two of five connects at one instant pass */
	for (uint16_t i = 0; i < 5; i++) {
		enum stats_id r = syn(f, "10.30.0.20", (uint16_t)(42000 + i));

		if (r == NET_CHECK_OK)
			passed++;
		else if (r == STAT_DROP_L4_RATE_LIMITED)
			limited++;
	}
	assert_int_equal(passed, 2);
	assert_int_equal(limited, 3);
	/* the bucket refills at one connection per second, not sooner */
	fx_advance_ms(f, 999);
	assert_int_equal(syn(f, "10.30.0.20", 42010), STAT_DROP_L4_RATE_LIMITED);
	fx_advance_ms(f, 1);
	assert_int_equal(syn(f, "10.30.0.20", 42011), NET_CHECK_OK);
	assert_int_equal(syn(f, "10.30.0.20", 42012), STAT_DROP_L4_RATE_LIMITED);
	/* idle for long: it holds its burst, no more */
	fx_advance_ms(f, 60000);
	assert_int_equal(syn(f, "10.30.0.20", 42020), NET_CHECK_OK);
	assert_int_equal(syn(f, "10.30.0.20", 42021), NET_CHECK_OK);
	assert_int_equal(syn(f, "10.30.0.20", 42022), STAT_DROP_L4_RATE_LIMITED);
}

/* A datagram from 10.10.1.2:@p sport to the full-NAT service "fn". */
static enum stats_id datagram(struct fx *f, uint16_t sport)
{
	struct rte_mbuf *m = pkt(IPPROTO_UDP, "10.10.1.2", sport, "10.30.0.30", 53, 0);
	enum stats_id r = run(f, m);

	rte_pktmbuf_free(m);
	return r;
}

static void test_source_packet_limit(void **state)
{
	struct fx *f = *state;
	int passed = 0;

	/* 1 packet/s per source, burst 4, on "fn": of 10 datagrams of one flow at
	 * one instant four pass */
	for (int i = 0; i < 10; i++) {
		enum stats_id r = datagram(f, 5353);

		if (r == NET_CHECK_OK)
			passed++;
		else
			assert_int_equal(r, STAT_DROP_L4_RATE_LIMITED);
	}
	assert_int_equal(passed, 4);
	/* a second flow from the same address shares its bucket */
	assert_int_equal(datagram(f, 5354), STAT_DROP_L4_RATE_LIMITED);
	/* one second later the source has one packet again, for either flow */
	fx_advance_ms(f, 1000);
	assert_int_equal(datagram(f, 5354), NET_CHECK_OK);
	assert_int_equal(datagram(f, 5353), STAT_DROP_L4_RATE_LIMITED);
}

/* A datagram to "fn" from source number @p i (< 2^17) of 10.40.0.0/15. */
static enum stats_id datagram_from(struct fx *f, uint32_t i)
{
	char src[16];
	struct rte_mbuf *m;
	enum stats_id r;

	snprintf(src, sizeof(src), "10.%u.%u.%u", 40 + (i >> 16), (i >> 8) & 255, i & 255);
	m = pkt(IPPROTO_UDP, src, 5353, "10.30.0.30", 53, 0);
	r = run(f, m);
	rte_pktmbuf_free(m);
	return r;
}

/* Sources in fn's per-source limit table. */
static int64_t fn_sources(struct fx *f)
{
	struct l4_svc_view v;

	assert_string_equal(f->snap->services[1].key, "shop/fn");
	assert_int_equal(l4_service_view(&f->snap->services[1], f->now, &v), 0);
	return v.limit_sources;
}

static void test_source_table_expiry(void **state)
{
	struct fx *f = *state;
	uint64_t full, refused = 0;
	uint32_t i = 0;

	/* Fill fn's per-source table (the product's 65536 sources) from one-shot
	 * sources: each is admitted (a new source's bucket is full) and leaves a
	 * bucket that refills in 1 s. The endpoint's breaker (1024 connections) and
	 * the flow table (4096) fill long before: those datagrams are admitted by the
	 * limit and then refused by the breaker or for want of a flow. A new
	 * source can also be refused a little before the table is full, when its
	 * probe window is full (limit.h). */
	for (; fn_sources(f) < 65536 && i < (1u << 17); i++) {
		enum stats_id r = datagram_from(f, i);

		assert_true(r == NET_CHECK_OK || r == STAT_DROP_L4_BREAKER_OPEN ||
			    r == STAT_DROP_L4_FLOW_TABLE_FULL || r == STAT_DROP_L4_RATE_LIMITED);
		/* the verdict is net's to count: l4 counts only why */
		refused += r == STAT_DROP_L4_RATE_LIMITED;
	}
	assert_int_equal(fn_sources(f), 65536);
	assert_int_equal(refused, f->stats.c[STAT_L4_LIMIT_TABLE_FULL]);
	/* full: a new source is refused, counted as such */
	full = f->stats.c[STAT_L4_LIMIT_TABLE_FULL];
	assert_int_equal(datagram_from(f, i), STAT_DROP_L4_RATE_LIMITED);
	assert_int_equal(f->stats.c[STAT_L4_LIMIT_TABLE_FULL], full + 1);
	/* the tick removes nobody whose bucket is not full yet (refills at +1 s)... */
	l4_control_tick(f->g, f->snap, f->now);
	assert_int_equal(fn_sources(f), 65536);
	/* ...nor one full for less than the idle time (a second) */
	fx_advance_ms(f, 1500);
	l4_control_tick(f->g, f->snap, f->now);
	assert_int_equal(fn_sources(f), 65536);
	assert_int_equal(datagram_from(f, i), STAT_DROP_L4_RATE_LIMITED);
	assert_int_equal(f->stats.c[STAT_L4_LIMIT_TABLE_FULL], full + 2);
	/* a tick within the sweep period does not scan again */
	fx_advance_ms(f, 900);
	l4_control_tick(f->g, f->snap, f->now);
	assert_int_equal(fn_sources(f), 65536);
	/* at the next sweep every source has been full for over a second: all go,
	 * and new sources are admitted again, the table no longer full */
	fx_advance_ms(f, 100);
	l4_control_tick(f->g, f->snap, f->now);
	assert_int_equal(fn_sources(f), 0);
	for (uint32_t k = 0; k < 100; k++)
		assert_int_not_equal(datagram_from(f, i + k), STAT_DROP_L4_RATE_LIMITED);
	assert_int_equal(f->stats.c[STAT_L4_LIMIT_TABLE_FULL], full + 2);
	assert_int_equal(fn_sources(f), 100);
	/* a source that was removed comes back with a full bucket: its burst of 4 */
	for (int k = 0; k < 4; k++)
		assert_int_not_equal(datagram_from(f, 0), STAT_DROP_L4_RATE_LIMITED);
	assert_int_equal(datagram_from(f, 0), STAT_DROP_L4_RATE_LIMITED);
}

/* The endpoint 10.10.2.11:8080 answers the connect from @p sport with @p flags. */
static void answer(struct fx *f, uint16_t sport, uint8_t flags)
{
	struct rte_mbuf *m = pkt(IPPROTO_TCP, "10.10.2.11", 8080, "10.10.1.2", sport, flags);

	assert_int_equal(run(f, m), NET_CHECK_OK); /* on to the client, from the VIP */
	assert_tuple(m, "10.30.0.10", 80, "10.10.1.2", sport);
	rte_pktmbuf_free(m);
}

static void test_connect_failures_eject(void **state)
{
	struct fx *f = *state;
	struct ep_state *ep = f->snap->services[0].endpoints[0].rt;

	/* two refused connects in a row eject the only endpoint */
	for (uint16_t i = 0; i < 2; i++) {
		assert_int_equal(syn(f, "10.30.0.10", (uint16_t)(43000 + i)), NET_CHECK_OK);
		answer(f, (uint16_t)(43000 + i), RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	}
	assert_int_equal(ep_breaker_state(ep), EP_EJECTED);
	assert_int_equal(ep->active, 0);
	/* while ejected (base_ejection_ms 10000) new connections find no endpoint and
	 * are reset (the service's "reject") */
	assert_int_equal(syn(f, "10.30.0.10", 43010), NET_CHECK_OK);
	assert_int_equal(f->stats.c[STAT_DROP_L4_NO_ENDPOINT], 1);
	fx_advance_ms(f, 9999);
	assert_int_equal(syn(f, "10.30.0.10", 43011), NET_CHECK_OK);
	assert_int_equal(f->stats.c[STAT_DROP_L4_NO_ENDPOINT], 2);
	assert_int_equal(ep->active, 0);
	/* the ejection is over: one connection is the half-open probe, the next is
	 * refused while the probe is in flight */
	fx_advance_ms(f, 2);
	assert_int_equal(syn(f, "10.30.0.10", 43020), NET_CHECK_OK);
	assert_int_equal(ep_breaker_state(ep), EP_HALF_OPEN);
	assert_int_equal(ep->pending, 1);
	assert_int_equal(syn(f, "10.30.0.10", 43021), NET_CHECK_OK);
	assert_int_equal(f->stats.c[STAT_DROP_L4_NO_ENDPOINT], 3);
	/* the probe connects: the breaker closes and admits again */
	answer(f, 43020, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(ep_breaker_state(ep), EP_CLOSED);
	assert_int_equal(ep->pending, 0);
	assert_int_equal(syn(f, "10.30.0.10", 43022), NET_CHECK_OK);
	assert_int_equal(ep->active, 2);
	assert_int_equal(f->stats.c[STAT_DROP_L4_NO_ENDPOINT], 3);
}

static void test_expiry_releases(void **state)
{
	struct fx *f = *state;
	struct ep_state *ep = f->snap->services[2].endpoints[0].rt;

	assert_int_equal(syn(f, "10.30.0.20", 44000), NET_CHECK_OK);
	assert_int_equal(ep->active, 1);
	assert_int_equal(flow_table_count(f->lw.flows), 1);
	/* never answered: at the configured 2 s SYN timeout (the default is 30 s) the
	 * connect counts as failed and the slot is freed */
	fx_advance_ms(f, 1000);
	fx_timer(f, 8);
	assert_int_equal(ep->active, 1); /* 1 s: still there */
	assert_int_equal(flow_table_count(f->lw.flows), 1);
	fx_advance_ms(f, 2000);
	fx_timer(f, 8);
	assert_int_equal(ep->active, 0); /* 3 s: expired */
	assert_int_equal(ep->pending, 0);
	assert_int_equal(ep->total_failures, 1);
	assert_int_equal(flow_table_count(f->lw.flows), 0);
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
	struct fx *f = *state;
	struct rte_mbuf *m;

	f->lw.local_tcp = fake_local_tcp;
	f->lw.local_tcp_icmp = fake_local_icmp;
	local_tcp_calls = local_icmp_calls = 0;
	assert_int_equal(
		run(f, pkt(IPPROTO_TCP, "10.10.1.2", 40000, "10.10.1.1", 8000, RTE_TCP_SYN_FLAG)),
		NET_L4_CONSUMED);
	assert_int_equal(local_tcp_calls, 1);
	/* to a VIP: never offered to the stack */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 40001, "10.30.0.10", 80, RTE_TCP_SYN_FLAG);
	assert_int_equal(run(f, m), NET_CHECK_OK);
	rte_pktmbuf_free(m);
	assert_int_equal(local_tcp_calls, 1);
	/* local, but not the stack's: the L4 path decides as before */
	m = pkt(IPPROTO_TCP, "10.10.1.2", 40002, "10.10.1.1", 9999, RTE_TCP_SYN_FLAG);
	assert_int_not_equal(run(f, m), NET_L4_CONSUMED);
	rte_pktmbuf_free(m);
	assert_int_equal(local_tcp_calls, 2);
	/* fragmentation needed about a segment the stack sent */
	assert_int_equal(run(f, icmp_tcp(4, 1000, "10.10.2.1", 40001, "10.10.2.11", 8080)),
			 NET_L4_CONSUMED);
	assert_int_equal(local_icmp_calls, 1);
	assert_int_equal(local_icmp_mtu, 1000);
	/* port unreachable: a hard error, mtu 0 */
	assert_int_equal(run(f, icmp_tcp(3, 0, "10.10.2.1", 40001, "10.10.2.11", 8080)),
			 NET_L4_CONSUMED);
	assert_int_equal(local_icmp_calls, 2);
	assert_int_equal(local_icmp_mtu, 0);
	/* about UDP, or about a segment that did not come from us: not the stack's */
	m = icmp_unreachable("10.10.2.11", "10.10.2.1", "10.10.2.1", 40001, "10.10.2.11", 8080);
	assert_int_not_equal(run(f, m), NET_L4_CONSUMED);
	rte_pktmbuf_free(m);
	m = icmp_tcp(4, 1000, "10.10.1.2", 40001, "10.10.2.11", 8080);
	assert_int_not_equal(run(f, m), NET_L4_CONSUMED);
	rte_pktmbuf_free(m);
	assert_int_equal(local_icmp_calls, 2);
}

/* Two workers on a snapshot of their own (test_steering*). */
struct two_workers {
	struct l4_global *g;
	struct stats_block st[2];
	struct l4_worker w[2];
	struct cfg_snapshot *s;
};

static void two_workers_init(struct two_workers *t, const struct cfg_snapshot *base)
{
	struct cfg_error err;

	memset(t, 0, sizeof(*t));
	t->g = l4_global_create(2);
	assert_non_null(t->g);
	/* compiled against the first snapshot: it shares its FIBs (the test EAL is small) */
	assert_int_equal(cfg_compile(doc, sizeof(doc) - 1, ports, 2, base, &t->s, &err), 0);
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
	struct fx *f = *state;
	struct two_workers tw;
	struct stats_block *st2 = tw.st;
	struct l4_worker *w2 = tw.w;
	struct cfg_snapshot *s2;
	struct rte_mbuf *m;
	int owner = -1;

	two_workers_init(&tw, f->snap);
	s2 = tw.s;
	/* the request: one worker keeps it (the owner), the other hands it over */
	for (int i = 0; i < 2; i++) {
		m = pkt(IPPROTO_TCP, "10.10.1.2", 45000, "10.30.0.10", 80, RTE_TCP_SYN_FLAG);
		if (l4_input(&w2[i], s2, m, f->now) == NET_L4_CONSUMED) {
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
		if (l4_input(&w2[i], s2, m, f->now) != NET_L4_CONSUMED) {
			assert_int_equal(i, owner);
			assert_tuple(m, "10.30.0.10", 80, "10.10.1.2", 45000);
			rte_pktmbuf_free(m);
		}
	}
	m = icmp_unreachable("10.10.2.11", "10.10.1.2", "10.10.1.2", 45000, "10.10.2.11", 8080);
	/* quoted as UDP by the helper: the owner is computed alike, the flow is TCP */
	if (l4_input(&w2[1 - owner], s2, m, f->now) != NET_L4_CONSUMED)
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
	struct fx *f = *state;
	enum { N = 48 };
	struct two_workers tw;
	struct rte_mbuf *m[N];
	enum stats_id v[N];
	uint32_t nh[N];
	unsigned int mine = 0, theirs = 0;

	two_workers_init(&tw, f->snap);
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
	l4_input_burst(&tw.w[0], tw.s, m, N, v, nh, f->now);
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

/* ---- health checks across config swaps (own snapshots, synthetic clock) ---- */

static const char doc_hc[] =
	"{\"version\": 1, \"mode\": \"mesh\","
	" \"interfaces\": [{\"name\": \"c\", \"port\": \"p0\", \"ipv4\": [\"10.10.1.1/24\"]},"
	"  {\"name\": \"s\", \"port\": \"p1\", \"ipv4\": [\"10.10.2.1/24\"]}],"
	" \"mesh\": {\"prefixes\": [\"10.10.0.0/16\", \"10.30.0.0/24\"]},"
	" \"services\": ["
	"  {\"name\": \"hc\", \"namespace\": \"shop\", \"vip\": \"10.30.0.40\","
	"   \"ports\": [{\"port\": 80, \"target_port\": 8080}],"
	"   \"endpoints\": [{\"address\": \"10.10.2.21\"}, {\"address\": \"10.10.2.22\"}],"
	"   \"health\": {\"interval_ms\": 1000, \"timeout_ms\": 500,"
	"    \"healthy_threshold\": 1, \"unhealthy_threshold\": 3}}]}";

struct hc_probe {
	uint16_t sport;
	uint32_t seq;
	uint64_t gen; /* the snapshot it was sent under */
};

/* The health probes worker 0 queued on port 1 (the endpoints' side), by
 * destination: up (10.10.2.21) and down (10.10.2.22); frees every frame. */
static void hc_collect(struct net_worker *nw, uint64_t gen, struct hc_probe *up, bool *up_sent,
		       unsigned int *down_probes)
{
	for (uint16_t i = 0; i < nw->out[1].n; i++) {
		struct rte_mbuf *f = nw->out[1].pkts[i];
		const struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod_offset(f, const struct rte_ipv4_hdr *, 14);
		const struct rte_tcp_hdr *t = (const struct rte_tcp_hdr *)(ip + 1);

		if (rte_pktmbuf_data_len(f) >= 14 + sizeof(*ip) + sizeof(*t) &&
		    ip->next_proto_id == IPPROTO_TCP && t->tcp_flags == RTE_TCP_SYN_FLAG) {
			if (ip->dst_addr == ip4("10.10.2.21")) {
				up->sport = rte_be_to_cpu_16(t->src_port);
				up->seq = rte_be_to_cpu_32(t->sent_seq);
				up->gen = gen;
				*up_sent = true;
			} else if (ip->dst_addr == ip4("10.10.2.22")) {
				(*down_probes)++;
			}
		}
		rte_pktmbuf_free(f);
	}
	nw->out[1].n = 0;
	for (uint16_t i = 0; i < nw->out[0].n; i++)
		rte_pktmbuf_free(nw->out[0].pkts[i]);
	nw->out[0].n = 0;
}

static struct cfg_snapshot *hc_swap(struct l4_global *hg, struct cfg_snapshot *cur)
{
	struct cfg_snapshot *next = NULL;
	struct cfg_error err;

	/* compiled against the running one: it shares its FIBs (the test EAL is small) */
	if (cfg_compile(doc_hc, sizeof(doc_hc) - 1, ports, 2, cur, &next, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(l4_bind(hg, next, err.msg, sizeof(err.msg)), 0);
	next->generation = cur != NULL ? cur->generation + 1 : 1;
	if (cur != NULL) {
		cfg_snapshot_free(cur); /* "after the grace period" */
		l4_after_publish(hg);
	}
	return next;
}

/*
 * A config swap every 50 ms (synthetic time, 5 s): the endpoint that never
 * answers is still marked unhealthy within interval x unhealthy_threshold + one
 * interval, and the other one's answers, each given after the swap that followed
 * its probe, are all counted (the probe in flight survives the swap).
 */
static void test_health_across_swaps(void **state)
{
	static const struct rte_ether_addr mac = {{0x02, 0, 0, 0, 0, 0x21}};
	const uint64_t hz = rte_get_tsc_hz(), ms = hz / 1000, t0 = rte_rdtsc();
	struct l4_global *hg = l4_global_create(1);
	struct rte_mempool *hpool;
	struct neigh_table *neigh;
	struct net_worker *nw;
	struct l4_worker hw;
	struct stats_block hst;
	struct cfg_snapshot *cur = NULL;
	struct neigh_key k;
	struct hc_probe up = {0};
	bool up_sent = false;
	unsigned int down_probes = 0, answered = 0;
	uint64_t unhealthy_at = 0;

	(void)state;
	memset(&hst, 0, sizeof(hst));
	assert_non_null(hg);
	assert_int_equal(net_fixture_create("l4hc", 1023, 64, &hpool, &neigh, &nw), 0);
	assert_int_equal(net_worker_init(nw, &hst, neigh, hpool, hz, 1000), 0);
	neigh_key4(&k, 1, 0, ip4("10.10.2.21"));
	assert_int_equal(neigh_update(neigh, &k, &mac, t0), 0);
	neigh_key4(&k, 1, 0, ip4("10.10.2.22"));
	assert_int_equal(neigh_update(neigh, &k, &mac, t0), 0);
	cur = hc_swap(hg, NULL);
	assert_int_equal(l4_worker_init(&hw, hg, &hst, 0, 1, 1024, SOCKET_ID_ANY), 0);
	for (uint64_t t = 1; t <= 5000; t++) {
		const uint64_t now = t0 + t * ms;
		const struct ep_state *down;

		if (t % 50 == 0)
			cur = hc_swap(hg, cur);
		/* the up endpoint answers its probe once a swap has come between */
		if (up_sent && up.gen != cur->generation) {
			struct rte_mbuf *m = pkt(IPPROTO_TCP, "10.10.2.21", 8080, "10.10.2.1",
						 up.sport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
			struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(iph(m) + 1);

			th->recv_ack = rte_cpu_to_be_32(up.seq + 1);
			th->cksum = 0;
			th->cksum = rte_ipv4_udptcp_cksum(iph(m), th);
			/* answered with a reset (the check is over), not a flow */
			assert_int_equal(l4_input(&hw, cur, m, now), NET_CHECK_OK);
			rte_pktmbuf_free(m);
			up_sent = false;
			answered++;
		}
		l4_timer(&hw, nw, cur, now);
		hc_collect(nw, cur->generation, &up, &up_sent, &down_probes);
		down = cur->services[0].endpoints[1].rt;
		if (unhealthy_at == 0 && down->health == EP_HEALTH_UNHEALTHY)
			unhealthy_at = t;
	}
	print_message("    unhealthy after %u ms (%u probes), %u answers counted\n",
		      (unsigned int)unhealthy_at, down_probes, answered);
	assert_true(down_probes >= 3);
	assert_int_not_equal(unhealthy_at, 0);
	assert_true(unhealthy_at <= 1000 * 3 + 1000);
	/* the up endpoint: probed every interval, every answer counted */
	assert_true(answered >= 4);
	assert_int_equal(hst.c[STAT_L4_HEALTH_OK], answered);
	assert_int_equal(((const struct ep_state *)cur->services[0].endpoints[0].rt)->health,
			 EP_HEALTH_HEALTHY);
	l4_worker_release(&hw);
	cfg_snapshot_free(cur);
	l4_global_free(hg);
	net_worker_release(nw);
}

/*
 * The health scan is budgeted: with 1000 endpoints all due, one l4_timer() call
 * sends at most 256 probes (the rest follow in the next calls of the pass).
 */
static void test_health_scan_budget(void **state)
{
	const uint64_t hz = rte_get_tsc_hz(), t0 = rte_rdtsc();
	struct l4_global *hg = l4_global_create(1);
	struct cfg_snapshot *s2 = NULL;
	struct rte_mempool *hpool;
	struct neigh_table *neigh;
	struct net_worker *nw;
	struct l4_worker hw;
	struct stats_block hst;
	struct cfg_error err;
	uint64_t sent = 0, most = 0;
	json_t *j = json_loads(doc_hc, 0, NULL), *eps = json_array(), *sv;
	char *text;

	(void)state;
	memset(&hst, 0, sizeof(hst));
	assert_non_null(hg);
	assert_non_null(j);
	for (int i = 0; i < 1000; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.10.2.%d", 10 + i % 200);
		json_array_append_new(
			eps, json_pack("{s:s, s:i}", "address", a, "port", 8000 + i / 200));
	}
	sv = json_array_get(json_object_get(j, "services"), 0);
	json_object_set_new(sv, "endpoints", eps);
	json_object_set_new(sv, "lb", json_string("round_robin"));
	text = json_dumps(j, 0);
	json_decref(j);
	assert_non_null(text);
	if (cfg_compile(text, strlen(text), ports, 2, NULL, &s2, &err) != 0)
		fail_msg("%s", err.msg);
	free(text);
	assert_int_equal(l4_bind(hg, s2, err.msg, sizeof(err.msg)), 0);
	s2->generation = 1;
	assert_int_equal(net_fixture_create("l4hb", 2047, 64, &hpool, &neigh, &nw), 0);
	assert_int_equal(net_worker_init(nw, &hst, neigh, hpool, hz, 1000), 0);
	assert_int_equal(l4_worker_init(&hw, hg, &hst, 0, 1, 1024, SOCKET_ID_ANY), 0);
	/* the first pass schedules every endpoint within one interval (1 s) */
	for (int i = 0; i < 8; i++)
		l4_timer(&hw, nw, s2, t0);
	/* two intervals later all are due */
	for (int i = 0; i < 6; i++) {
		uint64_t before = hst.c[STAT_L4_HEALTH_PROBES];

		l4_timer(&hw, nw, s2, t0 + 2 * hz);
		most = RTE_MAX(most, hst.c[STAT_L4_HEALTH_PROBES] - before);
		for (uint16_t p = 0; p < 2; p++) {
			for (uint16_t k = 0; k < nw->out[p].n; k++)
				rte_pktmbuf_free(nw->out[p].pkts[k]);
			nw->out[p].n = 0;
		}
	}
	sent = hst.c[STAT_L4_HEALTH_PROBES];
	print_message("    %" PRIu64 " probes, at most %" PRIu64 " in one call\n", sent, most);
	assert_int_equal(most, 256);
	assert_int_equal(sent, 1 + 1000); /* endpoint 0 at t0, then the whole pass */
	l4_worker_release(&hw);
	net_worker_release(nw);
	cfg_snapshot_free(s2);
	l4_global_free(hg);
}

/* ---- connect results across swaps ---- */

static const char doc_ej[] =
	"{\"version\": 1, \"mode\": \"mesh\","
	" \"interfaces\": [{\"name\": \"c\", \"port\": \"p0\", \"ipv4\": [\"10.10.1.1/24\"]},"
	"  {\"name\": \"s\", \"port\": \"p1\", \"ipv4\": [\"10.10.2.1/24\"]}],"
	" \"flows\": {\"capacity\": 4096},"
	" \"mesh\": {\"prefixes\": [\"10.10.0.0/16\", \"10.30.0.0/24\"]},"
	" \"workloads\": [{\"name\": \"fe\", \"namespace\": \"shop\", \"service\": \"fe\","
	"   \"prefixes\": [\"10.10.1.2/32\"]}],"
	" \"services\": ["
	"  {\"name\": \"ej\", \"namespace\": \"shop\", \"vip\": \"10.30.0.60\","
	"   \"ports\": [{\"port\": 80, \"target_port\": 8080}],"
	"   \"endpoints\": [{\"address\": \"10.10.2.31\"}],"
	"   \"breaker\": {\"consecutive_failures\": 2, \"base_ejection_ms\": 10000,"
	"    \"max_ejection_percent\": 100},"
	"   \"health\": {\"interval_ms\": 0}}],"
	" \"policies\": [{\"name\": \"a\", \"action\": \"allow\", \"from\": {\"namespace\":"
	"   \"shop\", \"service\": \"fe\"}, \"to\": {\"service\": \"ej\"}}]}";

/*
 * Connects refused after a config swap still count towards ejection: each SYN
 * goes out under one snapshot and its RST comes back under the next (a swap
 * between every packet), and two refusals in a row eject the endpoint.
 */
static void test_connect_failures_across_swaps(void **state)
{
	struct fx *f = *state;
	struct l4_global *eg = l4_global_create(1);
	struct cfg_snapshot *cur = NULL, *next;
	struct stats_block est;
	struct l4_worker ew;
	struct cfg_error err;
	struct rte_mbuf *m;

	memset(&est, 0, sizeof(est));
	assert_non_null(eg);
	assert_int_equal(l4_worker_init(&ew, eg, &est, 0, 1, 1024, SOCKET_ID_ANY), 0);
	for (uint64_t gen = 1; gen <= 5; gen++) {
		const uint16_t cport = (uint16_t)(46000 + (gen + 1) / 2);

		if (cfg_compile(doc_ej, sizeof(doc_ej) - 1, ports, 2, f->snap, &next, &err) != 0)
			fail_msg("%s", err.msg);
		assert_int_equal(l4_bind(eg, next, err.msg, sizeof(err.msg)), 0);
		next->generation = gen;
		if (cur != NULL) {
			cfg_snapshot_free(cur);
			l4_after_publish(eg);
		}
		cur = next;
		if (gen == 5)
			break;
		if (gen % 2 == 1) { /* the SYN */
			m = pkt(IPPROTO_TCP, "10.10.1.2", cport, "10.30.0.60", 80,
				RTE_TCP_SYN_FLAG);
			assert_int_equal(l4_input(&ew, cur, m, f->now), NET_CHECK_OK);
		} else { /* its RST, one swap later */
			m = pkt(IPPROTO_TCP, "10.10.2.31", 8080, "10.10.1.2", cport,
				RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
			assert_int_equal(l4_input(&ew, cur, m, f->now), NET_CHECK_OK);
		}
		rte_pktmbuf_free(m);
	}
	assert_int_equal(est.c[STAT_L4_CONNECTS_FAILED], 2);
	assert_int_equal(ep_breaker_state(cur->services[0].endpoints[0].rt), EP_EJECTED);
	l4_worker_release(&ew);
	cfg_snapshot_free(cur);
	l4_global_free(eg);
}

/* ---- listeners across swaps: objects from the control thread, generations ---- */

/* Does @p pw's stack listen on 10.10.1.1:@p port? (A second listener there is refused.) */
static bool listening_on(struct proxy_worker *pw, uint16_t port)
{
	static const struct tcp_callbacks none;
	struct tcp_addr a = {.family = 4};
	struct tcp_listener *l;

	a.v4 = ip4("10.10.1.1");
	l = tcp_listen(proxy_tcp_stack(pw), &a, port, NULL, &none, NULL);
	if (l == NULL) {
		assert_int_equal(rte_errno, EEXIST);
		return true;
	}
	tcp_unlisten(l);
	return false;
}

static struct cfg_snapshot *px_snapshot(const struct cfg_snapshot *base, struct proxy_global *pg,
					const char *text, const struct cfg_snapshot *prev,
					uint64_t generation)
{
	struct cfg_snapshot *s2 = NULL;
	struct cfg_error err;

	if (cfg_compile(text, strlen(text), ports, 2, base, &s2, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(proxy_bind(pg, s2, prev, err.msg, sizeof(err.msg)), 0);
	s2->generation = generation;
	return s2;
}

/*
 * The worker's listeners follow the snapshot's generation, not its address: a
 * new snapshot that sits where the old one was (a worker that slept through
 * the free and the next compile can meet that) still moves the listener from
 * port 8000 to 8001. The listener objects come from proxy_bind() on this
 * (the control) thread; the worker only starts and stops them.
 */
static void test_listeners_follow_generation(void **state)
{
	struct fx *f = *state;
	static const uint8_t secret[16];
	struct net_worker *nw = rte_zmalloc("px_nw", sizeof(*nw), RTE_CACHE_LINE_SIZE);
	char *doc8001 = strdup(doc), *p8000;
	struct cfg_snapshot *a, *b, *c, tmp;
	struct proxy_global *pg;
	struct proxy_worker *pw;
	struct stats_block pst;
	struct l4_worker pl4;

	memset(&pst, 0, sizeof(pst));
	assert_non_null(nw);
	assert_non_null(doc8001);
	p8000 = strstr(doc8001, "\"port\": 8000");
	assert_non_null(p8000);
	memcpy(p8000, "\"port\": 8001", 12);
	nw->pool = pool;
	nw->stats = &pst;
	nw->tsc_hz = rte_get_tsc_hz();
	assert_int_equal(l4_worker_init(&pl4, f->g, &pst, 0, 1, 1024, SOCKET_ID_ANY), 0);
	pw = proxy_worker_create(nw, &pl4, &pst, 0, 64, SOCKET_ID_ANY, secret, 0);
	assert_non_null(pw);
	pg = proxy_global_create(&pw, 1);
	assert_non_null(pg);

	a = px_snapshot(f->snap, pg, doc, NULL, 1);
	assert_false(listening_on(pw, 8000)); /* built, not started */
	proxy_begin(pw, a, f->now);
	assert_true(listening_on(pw, 8000));

	/* generation 2 at generation 1's address */
	b = px_snapshot(f->snap, pg, doc8001, a, 2);
	tmp = *a;
	*a = *b;
	*b = tmp;
	proxy_begin(pw, a, f->now);
	assert_false(listening_on(pw, 8000));
	assert_true(listening_on(pw, 8001));
	/* the same generation again: nothing moves */
	proxy_begin(pw, a, f->now);
	assert_true(listening_on(pw, 8001));

	/* an unchanged listener keeps its object: generation 3 starts nothing new */
	c = px_snapshot(f->snap, pg, doc8001, a, 3);
	cfg_snapshot_free(b); /* generation 1's content: its 8000 object goes */
	proxy_begin(pw, c, f->now);
	assert_true(listening_on(pw, 8001));
	assert_int_equal(pst.c[STAT_PROXY_LISTEN_FAILED], 0);
	/* a snapshot bound and freed without publish (validate) changes nothing */
	cfg_snapshot_free(px_snapshot(f->snap, pg, doc, c, 0));
	proxy_begin(pw, c, f->now);
	assert_true(listening_on(pw, 8001));
	assert_false(listening_on(pw, 8000));

	cfg_snapshot_free(a);
	cfg_snapshot_free(c); /* its object is running: an orphan until the worker goes */
	proxy_worker_free(pw);
	proxy_global_free(pg);
	l4_worker_release(&pl4);
	rte_free(nw);
	free(doc8001);
}

int main(void)
{
#define FX_TEST(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		FX_TEST(test_upstream_pick),
		FX_TEST(test_dnat_both_ways),
		FX_TEST(test_fullnat_udp),
		FX_TEST(test_refusals),
		FX_TEST(test_rate_limit),
		FX_TEST(test_source_packet_limit),
		FX_TEST(test_source_table_expiry),
		FX_TEST(test_connect_failures_eject),
		FX_TEST(test_expiry_releases),
		FX_TEST(test_local_tcp_hooks),
		FX_TEST(test_steering),
		FX_TEST(test_steering_burst),
		cmocka_unit_test(test_health_across_swaps),
		cmocka_unit_test(test_health_scan_budget),
		FX_TEST(test_connect_failures_across_swaps),
		FX_TEST(test_listeners_follow_generation),
	};

	test_eal_init();
	pool = rte_pktmbuf_pool_create("l4test", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	assert_non_null(pool);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
