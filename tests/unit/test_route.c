/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: what the compiled FIBs answer. Every next-hop type for IPv4 and IPv6,
 * longest prefix match, no route, link-local, and bulk == single lookups.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/config/config.h"
#include "test_eal.h"

static const struct cfg_port_info test_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
	{.name = "p1", .port_id = 1, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x02}}},
};

static const char route_doc[] =
	"{\"version\": 1,\n"
	" \"interfaces\": [\n"
	"  {\"name\": \"client\", \"port\": \"p0\", \"ipv4\": [\"10.10.1.1/24\", "
	"\"192.168.7.1/31\", \"172.16.0.1/32\"], \"ipv6\": [\"fd00:10:1::1/64\"]},\n"
	"  {\"name\": \"server\", \"port\": \"p1\", \"ipv4\": [\"10.10.2.1/24\"], "
	"\"ipv6\": [\"fd00:10:2::1/64\"]}],\n"
	" \"routes\": [\n"
	"  {\"prefix\": \"10.20.0.0/16\", \"via\": \"10.10.2.2\"},\n"
	"  {\"prefix\": \"10.20.5.0/24\", \"blackhole\": true},\n"
	"  {\"prefix\": \"10.20.5.128/25\", \"via\": \"10.10.1.9\"},\n"
	"  {\"prefix\": \"10.30.0.0/16\", \"interface\": \"client\"},\n"
	"  {\"prefix\": \"0.0.0.0/0\", \"via\": \"10.10.2.254\"},\n"
	"  {\"prefix\": \"fd00:20::/48\", \"via\": \"fd00:10:2::2\"},\n"
	"  {\"prefix\": \"fd00:20:0:5::/64\", \"blackhole\": true},\n"
	"  {\"prefix\": \"fd00:30::/32\", \"interface\": \"client\"}]}\n";

static struct cfg_snapshot *snap;

static int setup(void **state)
{
	struct cfg_error err;

	(void)state;
	if (cfg_compile(route_doc, strlen(route_doc), test_ports, 2, NULL, &snap, &err) != 0) {
		print_error("compile: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cfg_snapshot_free(snap);
	return 0;
}

static uint32_t ip4(const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static const struct cfg_nexthop *lookup4(const char *s)
{
	uint32_t i = cfg_route4(snap, ip4(s));

	assert_true(i > 0 && i < snap->n_nexthops);
	assert_int_equal(snap->nexthops[i].family, 4);
	return &snap->nexthops[i];
}

static const struct cfg_nexthop *lookup6(const char *s)
{
	uint8_t a[16];
	uint32_t i;

	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	i = cfg_route6(snap, a);
	assert_true(i > 0 && i < snap->n_nexthops);
	assert_int_equal(snap->nexthops[i].family, 6);
	return &snap->nexthops[i];
}

static void test_v4_types(void **state)
{
	const struct cfg_nexthop *nh;

	(void)state;
	nh = lookup4("10.10.1.1");
	assert_int_equal(nh->type, CFG_NH_LOCAL);
	assert_int_equal(nh->iface, 0);
	nh = lookup4("10.10.2.1");
	assert_int_equal(nh->type, CFG_NH_LOCAL);
	assert_int_equal(nh->iface, 1);
	nh = lookup4("10.10.1.77");
	assert_int_equal(nh->type, CFG_NH_CONNECTED);
	assert_int_equal(nh->iface, 0);
	nh = lookup4("10.10.1.0");
	assert_int_equal(nh->type, CFG_NH_CONNECTED);
	nh = lookup4("10.10.1.255");
	assert_int_equal(nh->type, CFG_NH_BROADCAST);
	assert_int_equal(nh->iface, 0);
	nh = lookup4("10.10.2.255");
	assert_int_equal(nh->type, CFG_NH_BROADCAST);
	assert_int_equal(nh->iface, 1);
	nh = lookup4("10.20.1.1");
	assert_int_equal(nh->type, CFG_NH_GATEWAY);
	assert_int_equal(nh->iface, 1);
	assert_int_equal(nh->gw4, ip4("10.10.2.2"));
	nh = lookup4("10.20.5.9");
	assert_int_equal(nh->type, CFG_NH_BLACKHOLE);
	nh = lookup4("10.30.200.1");
	assert_int_equal(nh->type, CFG_NH_CONNECTED);
	assert_int_equal(nh->iface, 0);
	/* /31: both addresses usable, no broadcast; /32: only the local entry. */
	nh = lookup4("192.168.7.0");
	assert_int_equal(nh->type, CFG_NH_CONNECTED);
	nh = lookup4("192.168.7.1");
	assert_int_equal(nh->type, CFG_NH_LOCAL);
	nh = lookup4("172.16.0.1");
	assert_int_equal(nh->type, CFG_NH_LOCAL);
	/* Everything else follows the default route. */
	nh = lookup4("8.8.8.8");
	assert_int_equal(nh->type, CFG_NH_GATEWAY);
	assert_int_equal(nh->gw4, ip4("10.10.2.254"));
}

static void test_v4_longest_prefix(void **state)
{
	const struct cfg_nexthop *nh;

	(void)state;
	/* /16 gateway < /24 blackhole < /25 gateway on the other interface. */
	assert_int_equal(lookup4("10.20.4.255")->type, CFG_NH_GATEWAY);
	assert_int_equal(lookup4("10.20.5.127")->type, CFG_NH_BLACKHOLE);
	nh = lookup4("10.20.5.128");
	assert_int_equal(nh->type, CFG_NH_GATEWAY);
	assert_int_equal(nh->iface, 0);
	assert_int_equal(nh->gw4, ip4("10.10.1.9"));
	assert_int_equal(lookup4("10.20.6.0")->type, CFG_NH_GATEWAY);
	assert_int_equal(lookup4("10.20.6.0")->iface, 1);
}

static void test_no_route(void **state)
{
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;
	const char *doc = "{\"version\": 1, \"interfaces\": [{\"name\": \"a\", \"port\": \"p0\", "
			  "\"ipv4\": [\"10.10.1.1/24\"], \"ipv6\": [\"fd00:10:1::1/64\"]}]}";
	uint8_t a6[16];

	(void)state;
	assert_int_equal(cfg_compile(doc, strlen(doc), test_ports, 2, NULL, &s, &err), 0);
	assert_int_equal(cfg_route4(s, ip4("8.8.8.8")), 0);
	assert_int_equal(cfg_route4(s, ip4("10.10.2.1")), 0);
	assert_int_not_equal(cfg_route4(s, ip4("10.10.1.2")), 0);
	inet_pton(AF_INET6, "2001:db8::1", a6);
	assert_int_equal(cfg_route6(s, a6), 0);
	inet_pton(AF_INET6, "fd00:10:1::2", a6);
	assert_int_not_equal(cfg_route6(s, a6), 0);
	cfg_snapshot_free(s);

	/* In the main snapshot the IPv6 table has no default route. */
	inet_pton(AF_INET6, "2001:db8::1", a6);
	assert_int_equal(cfg_route6(snap, a6), 0);
}

static void test_v6_types(void **state)
{
	const struct cfg_nexthop *nh;
	uint8_t gw[16];

	(void)state;
	nh = lookup6("fd00:10:1::1");
	assert_int_equal(nh->type, CFG_NH_LOCAL);
	assert_int_equal(nh->iface, 0);
	nh = lookup6("fd00:10:2::abcd");
	assert_int_equal(nh->type, CFG_NH_CONNECTED);
	assert_int_equal(nh->iface, 1);
	nh = lookup6("fd00:20:0:1::1");
	assert_int_equal(nh->type, CFG_NH_GATEWAY);
	assert_int_equal(nh->iface, 1);
	inet_pton(AF_INET6, "fd00:10:2::2", gw);
	assert_memory_equal(nh->gw6, gw, 16);
	/* Longest prefix: the /64 blackhole inside the /48. */
	assert_int_equal(lookup6("fd00:20:0:5::1")->type, CFG_NH_BLACKHOLE);
	assert_int_equal(lookup6("fd00:20:0:6::1")->type, CFG_NH_GATEWAY);
	nh = lookup6("fd00:30:1::1");
	assert_int_equal(nh->type, CFG_NH_CONNECTED);
	assert_int_equal(nh->iface, 0);
}

static void test_link_local(void **state)
{
	const struct cfg_nexthop *nh;
	uint8_t other[16];

	(void)state;
	/* 02:00:00:00:00:02 -> fe80::ff:fe00:2 (the universal/local bit flipped). */
	nh = lookup6("fe80::ff:fe00:2");
	assert_int_equal(nh->type, CFG_NH_LOCAL);
	assert_int_equal(nh->iface, 1);
	nh = lookup6("fe80::ff:fe00:1");
	assert_int_equal(nh->type, CFG_NH_LOCAL);
	assert_int_equal(nh->iface, 0);
	/* fe80::/64 is not routed: a neighbour's link-local address has no route. */
	inet_pton(AF_INET6, "fe80::1234", other);
	assert_int_equal(cfg_route6(snap, other), 0);
}

static void test_bulk_equals_single(void **state)
{
	enum { N = 300 };
	uint32_t dst[N], nh[N];
	uint32_t seed = 12345;

	(void)state;
	for (unsigned int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		/* Mostly inside 10.0.0.0/8 so every entry type shows up. */
		dst[i] = htonl(i % 3 == 0 ? seed : (0x0a000000u | (seed & 0x003fffffu)));
	}
	dst[0] = ip4("10.10.1.1");
	dst[1] = ip4("10.10.1.255");
	dst[2] = ip4("10.20.5.1");
	dst[299] = ip4("10.20.5.200");
	cfg_route4_bulk(snap, dst, nh, N);
	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(nh[i], cfg_route4(snap, dst[i]));
	assert_int_equal(snap->nexthops[nh[0]].type, CFG_NH_LOCAL);
	assert_int_equal(snap->nexthops[nh[1]].type, CFG_NH_BROADCAST);
	assert_int_equal(snap->nexthops[nh[2]].type, CFG_NH_BLACKHOLE);
	assert_int_equal(snap->nexthops[nh[299]].type, CFG_NH_GATEWAY);
	/* Odd lengths, including one and zero. */
	nh[0] = 0xdead;
	cfg_route4_bulk(snap, dst + 1, nh, 1);
	assert_int_equal(nh[0], cfg_route4(snap, dst[1]));
	nh[0] = 0xdead;
	cfg_route4_bulk(snap, dst, nh, 0);
	assert_int_equal(nh[0], 0xdead);
}

/* A swap that changes no route shares the FIBs; the last snapshot frees them. */
static void test_fib_shared_across_swaps(void **state)
{
	char *tuned = malloc(strlen(route_doc) + 64);
	const char *other = "{\"version\": 1, \"interfaces\": [{\"name\": \"a\", \"port\": "
			    "\"p0\", \"ipv4\": [\"10.10.1.1/24\"]}]}";
	struct cfg_snapshot *a = NULL, *b = NULL, *c = NULL;
	struct cfg_error err;

	(void)state;
	assert_non_null(tuned);
	assert_int_equal(cfg_compile(route_doc, strlen(route_doc), test_ports, 2, NULL, &a, &err),
			 0);
	/* same routes, another node name: shared */
	sprintf(tuned, "{\"node\": {\"name\": \"b\"}, %s", route_doc + 1);
	assert_int_equal(cfg_compile(tuned, strlen(tuned), test_ports, 2, a, &b, &err), 0);
	assert_ptr_equal(b->fib4, a->fib4);
	assert_ptr_equal(b->fib6, a->fib6);
	/* other routes: a FIB of its own */
	assert_int_equal(cfg_compile(other, strlen(other), test_ports, 2, b, &c, &err), 0);
	assert_ptr_not_equal(c->fib4, b->fib4);
	/* the first owner goes; the sharer still routes */
	cfg_snapshot_free(a);
	assert_int_equal(b->nexthops[cfg_route4(b, ip4("10.20.1.1"))].type, CFG_NH_GATEWAY);
	cfg_snapshot_free(b);
	cfg_snapshot_free(c);
	free(tuned);
}

static void test_route_list(void **state)
{
	unsigned int v4 = 0, v6 = 0, blackholes = 0;

	(void)state;
	/* v4: 10.10.1.1/24 (3) + 192.168.7.1/31 (2) + 172.16.0.1/32 (1) + 10.10.2.1/24 (3)
	 * + 5 routes; v6: 2 x (local, connected) + 2 link-local + 3 routes. */
	for (uint32_t i = 0; i < snap->n_routes; i++) {
		const struct cfg_route *r = &snap->routes[i];

		assert_true(r->nexthop > 0 && r->nexthop < snap->n_nexthops);
		v4 += r->family == 4;
		v6 += r->family == 6;
		blackholes += snap->nexthops[r->nexthop].type == CFG_NH_BLACKHOLE;
	}
	assert_int_equal(v4, 14);
	assert_int_equal(v6, 9);
	assert_int_equal(blackholes, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_types),   cmocka_unit_test(test_v4_longest_prefix),
		cmocka_unit_test(test_no_route),   cmocka_unit_test(test_v6_types),
		cmocka_unit_test(test_link_local), cmocka_unit_test(test_bulk_equals_single),
		cmocka_unit_test(test_route_list), cmocka_unit_test(test_fib_shared_across_swaps),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
