/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config (proxy sections): $.listeners and $.tcp compile into the documented
 * struct values (defaults and explicit ones), l4_listener_lookup() finds a
 * listener by local address and port and nothing else, every refusal names
 * its JSON path, and tcp.capacity is startup-only.
 * Documents are written with single quotes and turned into JSON by json_of().
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

#include "dataplane/config/config.h"
#include "dataplane/l4/l4.h"
#include "dataplane/tcp/tcp.h"
#include "config_fixture.h"
#include "test_eal.h"

#define HEAD                                                                                \
	"{'version': 1, 'interfaces': [{'name': 'client', 'port': 'p0', 'ipv4': "           \
	"['10.10.1.1/24'], 'ipv6': ['fd00:10:1::1/64']}, {'name': 'server', 'port': 'p1', " \
	"'ipv4': ['10.10.2.1/24'], 'ipv6': ['fd00:10:2::1/64']}]"

/* cart: TCP 80 (-> 8080), TCP 443, UDP 53; dns: UDP only; cart6: full-NAT from fd00:10:2::1. */
#define SERVICES                                                                               \
	", 'services': ["                                                                      \
	"{'name': 'cart', 'namespace': 'shop', 'vip': '10.96.0.10', 'ports': [{'port': 53, "   \
	"'protocol': 'udp'}, {'port': 80, 'target_port': 8080}, {'port': 443}], 'endpoints': " \
	"[{'address': '10.10.2.10'}]}, "                                                       \
	"{'name': 'dns', 'namespace': 'kube', 'vip': '10.96.0.53', 'ports': [{'port': 53, "    \
	"'protocol': 'udp'}], 'endpoints': [{'address': '10.10.2.53'}]}, "                     \
	"{'name': 'cart6', 'namespace': 'shop', 'vip': 'fd00:96::10', 'ports': [{'port': 80, " \
	"'target_port': 9090}], 'nat': 'fullnat', 'snat': ['fd00:10:2::1'], 'endpoints': "     \
	"[{'address': 'fd00:10:2::10'}]}]"

/* A valid listener; tests splice fields in front of its closing brace. */
#define LSN_OPEN                                                                       \
	"{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', 'port': 8000, " \
	"'cluster': 'cart'"
#define LSN	  LSN_OPEN "}"
#define DOC_OPEN  HEAD SERVICES ", 'listeners': ["
#define DOC_CLOSE "]}"
/* A document with the services and one listener object @p l. */
#define WITH(l) DOC_OPEN l DOC_CLOSE

static const char two_doc[] = HEAD SERVICES
	", 'tcp': {'capacity': 4096}, 'listeners': [" LSN ", "
	"{'name': 'edge6', 'type': 'tcp_proxy', 'address': 'fd00:10:1::1', 'port': 9443, "
	"'cluster': 'shop/cart', 'cluster_port': 443, 'connect_timeout_ms': 250, "
	"'idle_timeout_s': 0, 'max_connections': 100, 'tcp': {'congestion': 'newreno', "
	"'nodelay': false, 'ecn': true, 'rcvbuf': 4096, 'sndbuf': 67108864, 'syn_backlog': 1, "
	"'keepalive': {'idle_s': 60}}}]}";

static void test_two_listeners(void **state)
{
	struct cfg_snapshot *s = compile_ok(two_doc);
	const struct cfg_listener *l;

	(void)state;
	assert_int_equal(s->n_listeners, 2);
	assert_non_null(s->listener_hash);
	assert_int_equal(s->tcp.capacity, 4096);
	assert_int_equal(s->startup.tcp_capacity, 4096);

	/* Everything omitted takes its default. */
	l = &s->listeners[0];
	assert_string_equal(l->name, "edge");
	assert_int_equal(l->type, CFG_LISTENER_TCP_PROXY);
	assert_int_equal(l->family, 4);
	assert_memory_equal(l->addr, a4("10.10.1.1"), 16);
	assert_int_equal(l->port, 8000);
	assert_int_equal(l->service, 0);
	/* The first TCP port (ports[0] is UDP) and its target port. */
	assert_int_equal(l->service_port, 1);
	assert_int_equal(l->target_port, 8080);
	assert_int_equal(l->connect_timeout_ms, 5000);
	assert_int_equal(l->idle_timeout_s, 3600);
	assert_int_equal(l->max_connections, 0);
	assert_int_equal(l->tcp.congestion, TCP_CC_CUBIC);
	assert_true(l->tcp.nodelay);
	assert_false(l->tcp.ecn);
	assert_int_equal(l->tcp.rcvbuf, 262144);
	assert_int_equal(l->tcp.sndbuf, 262144);
	assert_int_equal(l->tcp.syn_backlog, 1024);
	assert_int_equal(l->tcp.keepalive_idle_s, 0);

	/* Everything given. */
	l = &s->listeners[1];
	assert_string_equal(l->name, "edge6");
	assert_int_equal(l->family, 6);
	assert_memory_equal(l->addr, a6("fd00:10:1::1"), 16);
	assert_int_equal(l->port, 9443);
	assert_int_equal(l->service, 0);
	assert_int_equal(l->service_port, 2);
	assert_int_equal(l->target_port, 443);
	assert_int_equal(l->connect_timeout_ms, 250);
	assert_int_equal(l->idle_timeout_s, 0);
	assert_int_equal(l->max_connections, 100);
	assert_int_equal(l->tcp.congestion, TCP_CC_NEWRENO);
	assert_false(l->tcp.nodelay);
	assert_true(l->tcp.ecn);
	assert_int_equal(l->tcp.rcvbuf, 4096);
	assert_int_equal(l->tcp.sndbuf, 67108864);
	assert_int_equal(l->tcp.syn_backlog, 1);
	assert_int_equal(l->tcp.keepalive_idle_s, 60);
	assert_int_equal(l->tcp.keepalive_interval_s, 75);
	assert_int_equal(l->tcp.keepalive_probes, 9);
	cfg_snapshot_free(s);
}

static void test_defaults(void **state)
{
	struct cfg_snapshot *s = compile_ok(HEAD "}");

	(void)state;
	assert_int_equal(s->n_listeners, 0);
	assert_null(s->listeners);
	assert_null(s->listener_hash);
	assert_int_equal(l4_listener_lookup(s, 4, a4("10.10.1.1"), htons(8000)), -1);
	assert_int_equal(s->tcp.capacity, 65536);
	assert_int_equal(s->startup.tcp_capacity, 65536);
	cfg_snapshot_free(s);

	/* An empty keepalive object turns keepalive on with Linux's timers. */
	s = compile_ok(WITH(LSN_OPEN ", 'tcp': {'keepalive': {}}}"));
	assert_int_equal(s->listeners[0].tcp.keepalive_idle_s, 7200);
	assert_int_equal(s->listeners[0].tcp.keepalive_interval_s, 75);
	assert_int_equal(s->listeners[0].tcp.keepalive_probes, 9);
	cfg_snapshot_free(s);

	/* A service found by plain name when it is not the first; cluster_port picks the
	 * port, and a listener below 1024 on a full-NAT source address is fine. */
	s = compile_ok(WITH("{'name': 'e', 'type': 'tcp_proxy', 'address': 'fd00:10:2::1', "
			    "'port': 80, 'cluster': 'cart6', 'cluster_port': 80, 'tcp': {}}"));
	assert_int_equal(s->listeners[0].service, 2);
	assert_int_equal(s->listeners[0].service_port, 0);
	assert_int_equal(s->listeners[0].target_port, 9090);
	assert_int_equal(s->listeners[0].tcp.congestion, TCP_CC_CUBIC);
	cfg_snapshot_free(s);
}

static void test_lookup(void **state)
{
	struct cfg_snapshot *s = compile_ok(two_doc);

	(void)state;
	assert_int_equal(l4_listener_lookup(s, 4, a4("10.10.1.1"), htons(8000)), 0);
	assert_int_equal(l4_listener_lookup(s, 6, a6("fd00:10:1::1"), htons(9443)), 1);
	/* Wrong port, port in host byte order, wrong address, the other family. */
	assert_int_equal(l4_listener_lookup(s, 4, a4("10.10.1.1"), htons(8001)), -1);
	assert_int_equal(l4_listener_lookup(s, 4, a4("10.10.1.1"), 8000), -1);
	assert_int_equal(l4_listener_lookup(s, 4, a4("10.10.2.1"), htons(8000)), -1);
	assert_int_equal(l4_listener_lookup(s, 6, a6("fd00:10:1::1"), htons(8000)), -1);
	assert_int_equal(l4_listener_lookup(s, 4, a6("fd00:10:1::1"), htons(9443)), -1);
	/* The IPv4 address's bytes as an IPv6 address are not the listener. */
	assert_int_equal(l4_listener_lookup(s, 6, a4("10.10.1.1"), htons(8000)), -1);
	/* A listener is not a VIP, and a VIP is not a listener. */
	assert_int_equal(l4_service_lookup(s, 4, a4("10.10.1.1"), htons(8000), IPPROTO_TCP).service,
			 -1);
	assert_int_equal(l4_listener_lookup(s, 4, a4("10.96.0.10"), htons(80)), -1);
	cfg_snapshot_free(s);
}

static void test_tcp_capacity_startup(void **state)
{
	struct cfg_snapshot *prev = compile_ok(HEAD ", 'tcp': {'capacity': 2048}}");
	struct cfg_snapshot *s;

	(void)state;
	expect_error_prev(HEAD "}", prev, "$.tcp.capacity", "cannot change while running");
	expect_error_prev(HEAD ", 'tcp': {'capacity': 4096}}", prev, "$.tcp.capacity",
			  "cannot change while running");
	/* Listeners are live: adding some with the same capacity is accepted. */
	s = compile_ok_prev(HEAD SERVICES ", 'tcp': {'capacity': 2048}, 'listeners': [" LSN "]}",
			    prev);
	assert_int_equal(s->n_listeners, 1);
	assert_int_equal(s->startup.tcp_capacity, 2048);
	cfg_snapshot_free(s);
	cfg_snapshot_free(prev);
}

static void test_listener_errors(void **state)
{
	char many[16384];
	size_t o;

	(void)state;
	/* The array and its items. */
	expect_error(HEAD ", 'listeners': {}}", "$.listeners", "expected an array of 0..256");
	o = (size_t)snprintf(many, sizeof(many), "%s", HEAD ", 'listeners': [");
	for (int i = 0; i < 257; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s{}", i == 0 ? "" : ", ");
	snprintf(many + o, sizeof(many) - o, "]}");
	expect_error(many, "$.listeners", "0..256 listeners, got 257");
	expect_error(WITH("1"), "$.listeners[0]", "expected a listener object, got 1");
	expect_error(WITH(LSN_OPEN ", 'colour': 'red'}"), "$.listeners[0].colour",
		     "unknown field; expected one of: name, type, address, port, cluster");

	/* name, type */
	expect_error(WITH("{'type': 'tcp_proxy'}"), "$.listeners[0].name",
		     "required field missing");
	expect_error(WITH("{'name': 'a b'}"), "$.listeners[0].name", "got \"a b\"");
	expect_error(DOC_OPEN LSN ", " LSN DOC_CLOSE, "$.listeners[1].name",
		     "a name no other listener has, got \"edge\"");
	expect_error(WITH("{'name': 'edge'}"), "$.listeners[0].type",
		     "required field missing; expected \"tcp_proxy\"");
	expect_error(WITH("{'name': 'edge', 'type': 'grpc'}"), "$.listeners[0].type",
		     "expected \"tcp_proxy\" or \"http\", got \"grpc\"");

	/* address, port */
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy'}"), "$.listeners[0].address",
		     "required field missing");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.300'}"),
		     "$.listeners[0].address", "got \"10.10.1.300\"");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.2'}"),
		     "$.listeners[0].address",
		     "an address of one of our interfaces, got \"10.10.1.2\"");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.96.0.10'}"),
		     "$.listeners[0].address", "an address of one of our interfaces");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1'}"),
		     "$.listeners[0].port",
		     "required field missing; expected an integer in 1..60999");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
			  "'port': '80'}"),
		     "$.listeners[0].port", "got \"80\"");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
			  "'port': 0}"),
		     "$.listeners[0].port",
		     "1..60999 (61000 and up are the node's health-check source ports), got 0");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
			  "'port': 61000}"),
		     "$.listeners[0].port",
		     "expected an integer in 1..60999 (61000 and up are the node's health-check "
		     "source ports), got 61000");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': 'fd00:10:2::1', "
			  "'port': 1024}"),
		     "$.listeners[0].port",
		     "expected a port below 1024 on a full-NAT source address (1024..60999 are "
		     "full-NAT source ports of $.services[2].snat[0]), got 1024");
	expect_error(DOC_OPEN LSN ", {'name': 'edge2', 'type': 'tcp_proxy', 'address': "
				  "'10.10.1.1', 'port': 8000}" DOC_CLOSE,
		     "$.listeners[1]",
		     "expected an address and port no other listener uses, got 10.10.1.1:8000 "
		     "(also $.listeners[0])");
	expect_error(DOC_OPEN "{'name': 'a', 'type': 'tcp_proxy', 'address': 'fd00:10:1::1', "
			      "'port': 80, 'cluster': 'cart'}, {'name': 'b', 'type': "
			      "'tcp_proxy', 'address': 'fd00:10:1::1', 'port': 80}" DOC_CLOSE,
		     "$.listeners[1]", "got [fd00:10:1::1]:80 (also $.listeners[0])");

	/* cluster, cluster_port */
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
			  "'port': 8000}"),
		     "$.listeners[0].cluster", "required field missing");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
			  "'port': 8000, 'cluster': 'kart'}"),
		     "$.listeners[0].cluster",
		     "expected the name or \"<namespace>/<name>\" of a service in $.services, got "
		     "\"kart\"");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
			  "'port': 8000, 'cluster': 'kube/cart'}"),
		     "$.listeners[0].cluster", "got \"kube/cart\"");
	expect_error(WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
			  "'port': 8000, 'cluster': 7}"),
		     "$.listeners[0].cluster", "got 7");
	expect_error(
		WITH("{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
		     "'port': 8000, 'cluster': 'kube/dns'}"),
		"$.listeners[0].cluster",
		"expected a service with a TCP port (this one has UDP only), got \"kube/dns\"");
	expect_error(WITH(LSN_OPEN ", 'cluster_port': 53}"), "$.listeners[0].cluster_port",
		     "expected a TCP port of service shop/cart (80, 443), got 53");
	expect_error(WITH(LSN_OPEN ", 'cluster_port': 0}"), "$.listeners[0].cluster_port",
		     "1..65535, got 0");

	/* timeouts and limits */
	expect_error(WITH(LSN_OPEN ", 'connect_timeout_ms': 0}"),
		     "$.listeners[0].connect_timeout_ms", "1..600000, got 0");
	expect_error(WITH(LSN_OPEN ", 'connect_timeout_ms': 600001}"),
		     "$.listeners[0].connect_timeout_ms", "got 600001");
	expect_error(WITH(LSN_OPEN ", 'idle_timeout_s': 86401}"), "$.listeners[0].idle_timeout_s",
		     "0..86400, got 86401");
	expect_error(WITH(LSN_OPEN ", 'idle_timeout_s': -1}"), "$.listeners[0].idle_timeout_s",
		     "got -1");
	expect_error(WITH(LSN_OPEN ", 'max_connections': 16777217}"),
		     "$.listeners[0].max_connections", "0..16777216, got 16777217");
	expect_error(WITH(LSN_OPEN ", 'max_connections': '10'}"), "$.listeners[0].max_connections",
		     "got \"10\"");

	/* tcp */
	expect_error(WITH(LSN_OPEN ", 'tcp': []}"), "$.listeners[0].tcp",
		     "expected an object, got an array");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'cc': 'cubic'}}"), "$.listeners[0].tcp.cc",
		     "unknown field; expected one of: congestion, nodelay, ecn, rcvbuf, sndbuf, "
		     "syn_backlog, keepalive");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'congestion': 'bbr'}}"),
		     "$.listeners[0].tcp.congestion",
		     "expected \"newreno\" or \"cubic\", got \"bbr\"");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'nodelay': 1}}"), "$.listeners[0].tcp.nodelay",
		     "expected true or false, got 1");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'ecn': 'yes'}}"), "$.listeners[0].tcp.ecn",
		     "expected true or false, got \"yes\"");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'rcvbuf': 4095}}"), "$.listeners[0].tcp.rcvbuf",
		     "4096..67108864, got 4095");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'sndbuf': 67108865}}"), "$.listeners[0].tcp.sndbuf",
		     "4096..67108864, got 67108865");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'syn_backlog': 0}}"),
		     "$.listeners[0].tcp.syn_backlog", "1..1048576, got 0");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'keepalive': true}}"), "$.listeners[0].tcp.keepalive",
		     "expected an object, got true");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'keepalive': {'time': 5}}}"),
		     "$.listeners[0].tcp.keepalive.time",
		     "unknown field; expected one of: idle_s, interval_s, probes");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'keepalive': {'idle_s': 0}}}"),
		     "$.listeners[0].tcp.keepalive.idle_s", "1..86400, got 0");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'keepalive': {'interval_s': 3601}}}"),
		     "$.listeners[0].tcp.keepalive.interval_s", "1..3600, got 3601");
	expect_error(WITH(LSN_OPEN ", 'tcp': {'keepalive': {'probes': 256}}}"),
		     "$.listeners[0].tcp.keepalive.probes", "1..255, got 256");
	/* The second listener's path when the first is fine. */
	expect_error(DOC_OPEN LSN
		     ", {'name': 'b', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
		     "'port': 8001, 'cluster': 'cart', 'tcp': {'rcvbuf': 1}}" DOC_CLOSE,
		     "$.listeners[1].tcp.rcvbuf", "got 1");
}

static void test_tcp_errors(void **state)
{
	(void)state;
	expect_error(HEAD ", 'tcp': 1}", "$.tcp", "expected an object, got 1");
	expect_error(HEAD ", 'tcp': {'connections': 1}}", "$.tcp.connections",
		     "unknown field; expected one of: capacity");
	expect_error(HEAD ", 'tcp': {'capacity': 1023}}", "$.tcp.capacity",
		     "1024..16777216, got 1023");
	expect_error(HEAD ", 'tcp': {'capacity': 16777217}}", "$.tcp.capacity", "got 16777217");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_listeners),	cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_lookup),		cmocka_unit_test(test_tcp_capacity_startup),
		cmocka_unit_test(test_listener_errors), cmocka_unit_test(test_tcp_errors),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
