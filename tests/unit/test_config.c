/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: cfg_compile() accepts the default document and refuses every kind of
 * bad input with a message that starts with the exact JSON path. Documents are
 * written with single quotes and turned into JSON by json_of().
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
#include "dataplane/config/config_json.h"
#include "dataplane/l4/l4.h"
#include "dataplane/proxy/proxy.h"
#include "config_fixture.h"
#include "test_eal.h"

#define IFACES                                                                       \
	"'interfaces': [{'name': 'client', 'port': 'p0', 'ipv4': ['10.10.1.1/24'], " \
	"'ipv6': ['fd00:10:1::1/64']}, {'name': 'server', 'port': 'p1', "            \
	"'ipv4': ['10.10.2.1/24'], 'ipv6': ['fd00:10:2::1/64']}]"

static void test_default_compiles(void **state)
{
	const char *text = cfg_default_text();
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;
	static const uint8_t ll0[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 1};

	(void)state;
	assert_int_equal(compile_json(text, NULL, &s, &err), 0);
	assert_non_null(s);
	assert_string_equal(s->node_name, "meshdp-demo");
	assert_int_equal(s->generation, 0);
	assert_int_equal(s->n_ifaces, 2);
	assert_string_equal(s->ifaces[0].name, "client");
	assert_string_equal(s->ifaces[0].port, "p0");
	assert_string_equal(s->ifaces[1].name, "server");
	assert_int_equal(s->ifaces[1].port_id, 1);
	assert_int_equal(s->ifaces[0].mtu, 1500);
	assert_int_equal(s->ifaces[0].vlan, 0);
	assert_memory_equal(&s->ifaces[1].mac, &test_ports[1].mac, 6);
	assert_memory_equal(s->ifaces[0].ipv6_link_local, ll0, 16);
	assert_int_equal(s->ifaces[0].n_ipv4, 1);
	assert_int_equal(s->ifaces[0].ipv4[0].addr, htonl(0x0a0a0101));
	assert_int_equal(s->ifaces[0].ipv4[0].len, 24);
	assert_int_equal(s->ifaces[1].ipv6[0].len, 64);
	assert_int_equal(s->port_iface[0], 1);
	assert_int_equal(s->port_iface[1], 2);
	assert_ptr_equal(cfg_iface_of(s, 1, 0), &s->ifaces[1]);
	assert_null(cfg_iface_of(s, 1, 7));
	assert_null(cfg_iface_of(s, 5, 0));
	assert_string_equal(s->startup.control_socket, "/run/meshdp/meshdp.sock");
	assert_string_equal(s->startup.admin_listen, "127.0.0.1:9901");
	assert_int_equal(s->startup.neigh_capacity, 65536);
	assert_int_equal(s->neigh.reachable_ms, 30000);
	assert_int_equal(s->neigh.probes, 3);
	assert_int_equal(s->tune.rx_burst, 32);
	assert_int_equal(s->tune.idle, CFG_IDLE_SLEEP);
	assert_int_equal(s->tune.idle_polls, 2000);
	assert_int_equal(s->text_len, strlen(text));
	assert_string_equal(s->text, text);
	assert_non_null(s->fib4);
	assert_non_null(s->fib6);
	/* v4: 2 x (local, connected, broadcast) + 1 route; v6: 2 x (local, connected,
	 * link-local) + 1 route. */
	assert_int_equal(s->n_routes, 14);
	assert_int_equal(s->nexthops[0].type, 0);
	for (uint32_t i = 0; i < s->n_routes; i++)
		assert_true(s->routes[i].nexthop > 0 && s->routes[i].nexthop < s->n_nexthops);
	cfg_snapshot_free(s);
}

static void test_minimal_defaults(void **state)
{
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;

	(void)state;
	assert_int_equal(compile_json(json_of("{'version': 1}"), NULL, &s, &err), 0);
	assert_string_equal(s->node_name, "meshdp");
	assert_int_equal(s->n_ifaces, 0);
	assert_int_equal(s->n_routes, 0);
	assert_string_equal(s->startup.control_socket, "/run/meshdp/meshdp.sock");
	assert_string_equal(s->startup.control_group, "");
	assert_int_equal(s->tune.tx_burst, 32);
	assert_int_equal(s->tune.drain_us, 100);
	assert_int_equal(s->tune.idle_sleep_us, 50);
	assert_int_equal(s->neigh.stale_ms, 60000);
	assert_int_equal(s->neigh.retrans_ms, 1000);
	cfg_snapshot_free(s);

	assert_int_equal(compile_json(json_of("{'version': 1, 'admin': {'listen': ''}, "
					      "'tune': {'idle': 'poll'}, 'interfaces': [{'name': "
					      "'v', 'port': 'p0', 'vlan': 100, 'mtu': 1400}]}"),
				      NULL, &s, &err),
			 0);
	assert_string_equal(s->startup.admin_listen, "");
	assert_int_equal(s->tune.idle, CFG_IDLE_POLL);
	assert_int_equal(s->port_iface[0], 0);
	assert_int_equal(s->n_vlan_ifaces, 1);
	assert_int_equal(s->ifaces[0].mtu, 1400);
	assert_ptr_equal(cfg_iface_of(s, 0, 100), &s->ifaces[0]);
	assert_null(cfg_iface_of(s, 0, 0));
	cfg_snapshot_free(s);
}

static void test_unknown_fields(void **state)
{
	(void)state;
	expect_error("{'version': 1, 'bogus': 1}", "$.bogus", "unknown field");
	expect_error("{'version': 1, 'tune': {'rx_bursts': 1}}", "$.tune.rx_bursts",
		     "expected one of: rx_burst");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'colour': 'red'}]}",
		     "$.interfaces[0].colour", "unknown field");
	expect_error("{'version': 1, 'routes': [{'prefix': '10.0.0.0/8', 'blackhole': true, "
		     "'metric': 1}]}",
		     "$.routes[0].metric", "unknown field");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_error("{'version': 1, 'tune': {'rx_burst': '32'}}", "$.tune.rx_burst",
		     "expected an integer in 1..256, got \"32\"");
	expect_error("{'version': 1, 'tune': {'rx_burst': 1.5}}", "$.tune.rx_burst", "got 1.5");
	expect_error("{'version': 1, 'node': {'name': 7}}", "$.node.name", "got 7");
	expect_error("{'version': 1, 'node': []}", "$.node", "expected an object, got an array");
	expect_error("{'version': 1, 'interfaces': {}}", "$.interfaces", "got an object");
	expect_error("{'version': 1, 'routes': 'none'}", "$.routes", "got \"none\"");
	expect_error("[1, 2]", "$", "expected an object, got an array");
	expect_error("{'version': 1, 'tune': {'idle': 'spin'}}", "$.tune.idle",
		     "expected \"poll\" or \"sleep\", got \"spin\"");
	expect_error("{'version': 1, 'tune': {'rx_burst': 0}}", "$.tune.rx_burst", "got 0");
	expect_error("{'version': 1, 'neighbour': {'probes': 99}}", "$.neighbour.probes", "1..10");
	expect_error("{'version': 1, 'routes': [{'prefix': '10.0.0.0/8', 'blackhole': 1}]}",
		     "$.routes[0].blackhole", "true or false");
	expect_error("{'version': 1, 'control': {'socket': 'relative.sock'}}", "$.control.socket",
		     "absolute path");
}

static void test_bad_addresses(void **state)
{
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;

	(void)state;
	/* The message is the one docs/CONFIG.md shows, byte for byte. */
	assert_int_equal(compile_json(json_of("{'version': 1, 'interfaces': [{'name': 'a', 'port': "
					      "'p0'}, {'name': 'b', 'port': 'p1', 'ipv4': "
					      "['10.0.0.300/24']}]}"),
				      NULL, &s, &err),
			 -EINVAL);
	assert_null(s);
	assert_string_equal(err.msg,
			    "$.interfaces[1].ipv4[0]: expected an IPv4 address with prefix "
			    "length (a.b.c.d/len), got \"10.0.0.300/24\"");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'ipv4': "
		     "['10.0.0.1']}]}",
		     "$.interfaces[0].ipv4[0]", "got \"10.0.0.1\"");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'ipv4': "
		     "['10.0.0.1/33']}]}",
		     "$.interfaces[0].ipv4[0]", NULL);
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'ipv4': "
		     "['10.0.0.0/24']}]}",
		     "$.interfaces[0].ipv4[0]", "host address");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'ipv4': "
		     "['127.0.0.1/8']}]}",
		     "$.interfaces[0].ipv4[0]", "unicast");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'ipv6': "
		     "['10.0.0.1/24']}]}",
		     "$.interfaces[0].ipv6[0]", "IPv6");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'ipv6': "
		     "['fe80::1/64']}]}",
		     "$.interfaces[0].ipv6[0]", "link-local");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'ipv6': "
		     "['fd00::1/64'], 'ipv4': 'x'}]}",
		     "$.interfaces[0].ipv4", "array");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'ipv4': "
		     "['10.0.0.1/24']}, {'name': 'b', 'port': 'p1', 'ipv4': ['10.0.0.1/16']}]}",
		     "$.interfaces[1].ipv4[0]", "$.interfaces[0].ipv4[0]");
	expect_error("{'version': 1, 'admin': {'listen': '0.0.0.0:9901'}}", "$.admin.listen",
		     "loopback");
	expect_error("{'version': 1, 'admin': {'listen': '127.0.0.1:99999'}}", "$.admin.listen",
		     NULL);
	assert_int_equal(compile_json(json_of("{'version': 1, 'admin': {'listen': '[::1]:80'}}"),
				      NULL, &s, &err),
			 0);
	cfg_snapshot_free(s);
}

static void test_bad_prefixes(void **state)
{
	(void)state;
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.0/33', 'via': "
		     "'10.10.2.2'}]}",
		     "$.routes[0].prefix", "expected an IPv4 prefix (a.b.c.d/len), got");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.0', 'via': "
		     "'10.10.2.2'}]}",
		     "$.routes[0].prefix", NULL);
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': 'fd00::/129', 'via': "
		     "'fd00:10:2::2'}]}",
		     "$.routes[0].prefix", "IPv6 prefix");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.0/16', 'via': "
		     "'fd00:10:2::2'}]}",
		     "$.routes[0].via", "IPv4 address");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'via': '10.10.2.2'}]}",
		     "$.routes[0].prefix", "required field missing");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.0/16'}]}",
		     "$.routes[0]", "expected \"via\", \"interface\" or \"blackhole\"");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.0/16', "
		     "'blackhole': true, 'via': '10.10.2.2'}]}",
		     "$.routes[0].via", "blackhole");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.0/16', "
		     "'interface': 'nowhere'}]}",
		     "$.routes[0].interface", "got \"nowhere\"");
}

static void test_host_bits(void **state)
{
	(void)state;
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.1/16', 'via': "
		     "'10.10.2.2'}]}",
		     "$.routes[0].prefix",
		     "expected a prefix with no host bits set (10.20.0.0/16)");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': 'fd00:20::1/48', 'via': "
		     "'fd00:10:2::2'}]}",
		     "$.routes[0].prefix", "(fd00:20::/48)");
}

static void test_duplicates(void **state)
{
	(void)state;
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0'}, {'name': 'a', "
		     "'port': 'p1'}]}",
		     "$.interfaces[1].name", "got \"a\"");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0'}, {'name': 'b', "
		     "'port': 'p0'}]}",
		     "$.interfaces[1].port", "also $.interfaces[0]");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'vlan': 10}, "
		     "{'name': 'b', 'port': 'p1', 'vlan': 10}, {'name': 'c', 'port': 'p0', "
		     "'vlan': 10}]}",
		     "$.interfaces[2].vlan", "port p0 VLAN 10");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.0/16', 'via': "
		     "'10.10.2.2'}, {'prefix': '10.20.0.0/16', 'blackhole': true}]}",
		     "$.routes[1].prefix", "$.routes[0].prefix");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.10.1.0/24', 'via': "
		     "'10.10.2.2'}]}",
		     "$.routes[0].prefix", "$.interfaces[0].ipv4[0]");
	expect_error("{'version': 1, 'version': 1}", "$", "duplicate");
}

static void test_ports_and_vlans(void **state)
{
	(void)state;
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p7'}]}",
		     "$.interfaces[0].port", "expected the name of a port (p0, p1), got \"p7\"");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a'}]}", "$.interfaces[0].port",
		     "required field missing");
	expect_error("{'version': 1, 'interfaces': [{'port': 'p0'}]}", "$.interfaces[0].name",
		     "required field missing");
	expect_error("{'version': 1, 'interfaces': [{'name': 'bad name', 'port': 'p0'}]}",
		     "$.interfaces[0].name", NULL);
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'vlan': 0}]}",
		     "$.interfaces[0].vlan", "1..4094, got 0");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'vlan': 4095}]}",
		     "$.interfaces[0].vlan", "got 4095");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'mtu': 67}]}",
		     "$.interfaces[0].mtu", "68..9000");
	expect_error("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'mtu': 9001}]}",
		     "$.interfaces[0].mtu", "got 9001");
}

static void test_version(void **state)
{
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;

	(void)state;
	assert_int_equal(compile_json(json_of("{'version': 2}"), NULL, &s, &err), -EINVAL);
	assert_string_equal(err.msg, "$.version: expected 1, got 2");
	expect_error("{'version': '1'}", "$.version", "got \"1\"");
	expect_error("{'node': {'name': 'x'}}", "$.version", "required field missing");
}

static void test_via_not_on_link(void **state)
{
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;

	(void)state;
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.0/16', 'via': "
		     "'10.99.0.1'}]}",
		     "$.routes[0].via", "connected subnet");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': 'fd00:20::/48', 'via': "
		     "'fd00:99::1'}]}",
		     "$.routes[0].via", "got \"fd00:99::1\"");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': 'fd00:20::/48', 'via': "
		     "'fe80::1'}]}",
		     "$.routes[0].via", "needs \"interface\"");
	expect_error("{'version': 1, " IFACES ", 'routes': [{'prefix': '10.20.0.0/16', 'via': "
		     "'10.10.2.1'}]}",
		     "$.routes[0].via", "not one of ours");
	/* With "interface" the gateway need not be on a connected subnet. */
	assert_int_equal(compile_json(json_of("{'version': 1, " IFACES
					      ", 'routes': [{'prefix': '10.20.0.0/16', 'via': "
					      "'10.99.0.1', 'interface': 'server'}, {'prefix': "
					      "'fd00:20::/48', 'via': 'fe80::1', 'interface': "
					      "'server'}]}"),
				      NULL, &s, &err),
			 0);
	cfg_snapshot_free(s);
}

static void test_startup_settings(void **state)
{
	struct cfg_snapshot *prev = NULL, *s = NULL;
	struct cfg_error err;

	(void)state;
	assert_int_equal(compile_json(json_of("{'version': 1}"), NULL, &prev, &err), 0);
	assert_int_equal(compile_json(json_of("{'version': 1, 'control': {'socket': "
					      "'/tmp/other.sock'}}"),
				      prev, &s, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "$.control.socket: cannot change while running (restart "
				     "meshdp to change it)");
	expect_error_prev("{'version': 1, 'admin': {'listen': ''}}", prev, "$.admin.listen",
			  "cannot change while running");
	expect_error_prev("{'version': 1, 'neighbour': {'capacity': 1024}}", prev,
			  "$.neighbour.capacity", "cannot change while running");
	expect_error_prev("{'version': 1, 'control': {'group': 'wheel'}}", prev, "$.control.group",
			  "cannot change while running");
	/* Live settings may change. */
	assert_int_equal(compile_json(json_of("{'version': 1, 'tune': {'rx_burst': 8}, "
					      "'neighbour': {'probes': 5}}"),
				      prev, &s, &err),
			 0);
	assert_int_equal(s->tune.rx_burst, 8);
	cfg_snapshot_free(s);
	cfg_snapshot_free(prev);
}

static void test_oversized_and_invalid(void **state)
{
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;
	char *big = malloc(CFG_TEXT_MAX + 2);

	(void)state;
	assert_non_null(big);
	memset(big, ' ', CFG_TEXT_MAX + 1);
	memcpy(big, "{\"version\": 1}", 14);
	big[CFG_TEXT_MAX + 1] = '\0';
	assert_int_equal(cfg_compile(big, CFG_TEXT_MAX + 1, test_ports, 2, NULL, &s, &err),
			 -EINVAL);
	assert_null(s);
	assert_non_null(strstr(err.msg, "$: expected a document of at most 1048576 bytes"));
	free(big);

	expect_error("{\n  'version': 1,\n  'node': }\n", "$", "invalid JSON at line 3, column");
	expect_error("", "$", "invalid JSON at line");
	assert_int_equal(cfg_compile(NULL, 0, test_ports, 2, NULL, &s, &err), -EINVAL);
	/* Embedded NUL bytes are refused, not truncated. */
	assert_int_equal(cfg_compile("{\"version\": 1}\0junk", 19, test_ports, 2, NULL, &s, &err),
			 -EINVAL);
	assert_null(s);
}

static void test_with_tune(void **state)
{
	struct cfg_snapshot *prev = NULL, *s = NULL;
	struct cfg_error err;
	char *text;

	(void)state;
	assert_int_equal(compile_json(cfg_default_text(), NULL, &prev, &err), 0);
	text = cfg_with_tune(prev, "rx_burst", "64", &err);
	assert_non_null(text);
	assert_int_equal(compile_json(text, prev, &s, &err), 0);
	assert_int_equal(s->tune.rx_burst, 64);
	assert_int_equal(s->tune.tx_burst, prev->tune.tx_burst);
	assert_int_equal(s->n_ifaces, 2);
	assert_int_equal(s->n_routes, prev->n_routes);
	free(text);

	text = cfg_with_tune(s, "idle", "poll", &err);
	assert_non_null(text);
	cfg_snapshot_free(s);
	assert_int_equal(compile_json(text, prev, &s, &err), 0);
	assert_int_equal(s->tune.idle, CFG_IDLE_POLL);
	assert_int_equal(s->tune.rx_burst, 64);
	free(text);
	cfg_snapshot_free(s);

	assert_null(cfg_with_tune(prev, "rx_bust", "1", &err));
	assert_non_null(strstr(err.msg, "$.tune.rx_bust: unknown knob; expected one of: rx_burst"));
	assert_null(cfg_with_tune(prev, "rx_burst", "abc", &err));
	assert_string_equal(err.msg,
			    "$.tune.rx_burst: expected a non-negative integer, got \"abc\"");
	assert_null(cfg_with_tune(prev, "drain_us", "-1", &err));
	assert_null(cfg_with_tune(prev, "idle_polls", "99999999999", &err));
	assert_null(cfg_with_tune(prev, "idle", "spin", &err));
	assert_non_null(strstr(err.msg, "$.tune.idle: expected \"poll\" or \"sleep\""));

	/* In range for the parser, out of range for the schema: compile refuses it. */
	text = cfg_with_tune(prev, "rx_burst", "999", &err);
	assert_non_null(text);
	assert_int_equal(compile_json(text, prev, &s, &err), -EINVAL);
	assert_string_equal(err.msg, "$.tune.rx_burst: expected an integer in 1..256, got 999");
	free(text);
	cfg_snapshot_free(prev);

	/* A document without a tune section gains one. */
	assert_int_equal(compile_json(json_of("{'version': 1}"), NULL, &prev, &err), 0);
	text = cfg_with_tune(prev, "idle_sleep_us", "7", &err);
	assert_non_null(text);
	assert_int_equal(compile_json(text, prev, &s, &err), 0);
	assert_int_equal(s->tune.idle_sleep_us, 7);
	free(text);
	cfg_snapshot_free(s);
	cfg_snapshot_free(prev);
}

/* The L4 sections are optional: the default document has none, and a tune keeps them. */
static void test_l4_sections(void **state)
{
	struct cfg_snapshot *prev = NULL, *s = NULL;
	struct cfg_error err;
	char *text;

	(void)state;
	assert_int_equal(compile_json(cfg_default_text(), NULL, &prev, &err), 0);
	assert_int_equal(prev->mode, CFG_MODE_ROUTER);
	assert_int_equal(prev->n_services, 0);
	assert_int_equal(prev->n_workloads, 0);
	assert_int_equal(prev->n_policies, 0);
	assert_null(prev->vip_hash);
	assert_null(prev->policy);
	assert_int_equal(prev->startup.flow_capacity, prev->flows.capacity);
	cfg_snapshot_free(prev);

	assert_int_equal(compile_json(json_of("{'version': 1, " IFACES ", 'mode': 'mesh', "
					      "'services': [{'name': 'web', 'namespace': 'demo', "
					      "'vip': '10.96.0.1', 'ports': [{'port': 80}], "
					      "'endpoints': [{'address': '10.10.2.2'}]}]}"),
				      NULL, &prev, &err),
			 0);
	text = cfg_with_tune(prev, "tx_burst", "8", &err);
	assert_non_null(text);
	assert_int_equal(compile_json(text, prev, &s, &err), 0);
	assert_int_equal(s->tune.tx_burst, 8);
	assert_int_equal(s->mode, CFG_MODE_MESH);
	assert_int_equal(s->n_services, 1);
	assert_string_equal(s->services[0].key, "demo/web");
	assert_string_equal(s->endpoints[0].key, "demo/web/10.10.2.2:*");
	free(text);
	cfg_snapshot_free(s);
	cfg_snapshot_free(prev);

	expect_error("{'version': 1, 'mode': 'proxy'}", "$.mode", "got \"proxy\"");
	expect_error("{'version': 1, 'service': []}", "$.service",
		     "unknown field; expected one of: version");
}

/* Two sections of the test's own around the daemon's, to watch the driver call them. */
static char section_calls[64];

static void section_call(const char *what)
{
	strncat(section_calls, what, sizeof(section_calls) - strlen(section_calls) - 1);
}

static int fake_compile(const char *tag, const char *key, const struct json_t *root,
			struct cfg_error *err)
{
	const json_t *v = json_object_get(root, key);
	char path[CFG_JPATH_LEN];

	section_call(tag);
	cfg_path_key(path, "$", key);
	if (v != NULL && !json_is_integer(v))
		return cfg_fail_got(err, path, "an integer", v);
	return 0;
}

static int fake_a_compile(struct cfg_snapshot *snap, const struct json_t *root,
			  const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	/* Sections run after the ones before them in the table: net filled the interfaces. */
	assert_int_equal(snap->n_ifaces, 1);
	assert_non_null(ctx->ports);
	return fake_compile("Ac", "a", root, err);
}

static int fake_b_compile(struct cfg_snapshot *snap, const struct json_t *root,
			  const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	(void)ctx;
	assert_int_equal(snap->n_services, 1); /* and l4 the services */
	return fake_compile("Bc", "b", root, err);
}

static int fake_a_finish(struct cfg_snapshot *snap, const struct cfg_snapshot *prev,
			 struct cfg_error *err)
{
	(void)snap, (void)prev, (void)err;
	section_call("Af");
	return 0;
}

static void fake_a_free(struct cfg_snapshot *snap)
{
	(void)snap;
	section_call("Ax");
}

static void fake_b_free(struct cfg_snapshot *snap)
{
	(void)snap;
	section_call("Bx");
}

static const char *const fake_a_keys[] = {"a", NULL};
static const char *const fake_b_keys[] = {"b", NULL};
static const struct cfg_section fake_a = {"fake_a", fake_a_keys, fake_a_compile, fake_a_finish,
					  fake_a_free};
static const struct cfg_section fake_b = {"fake_b", fake_b_keys, fake_b_compile, NULL, fake_b_free};

#define SECTIONS_DOC                                                                   \
	"{'version': 1, 'interfaces': [{'name': 'i0', 'port': 'p0', 'ipv4': "          \
	"['10.0.0.1/24']}], 'services': [{'name': 'web', 'namespace': 'demo', 'vip': " \
	"'10.9.0.1', 'ports': [{'port': 80, 'protocol': 'tcp'}], 'endpoints': "        \
	"[{'address': '10.0.0.2'}]}], %s}"

/*
 * The driver runs the sections in table order (compile, then finish), frees
 * them in reverse order (also after a refusal halfway), owns the top-level
 * members of the table's union only, and refuses a table that claims a member
 * twice.
 */
static void test_sections(void **state)
{
	const struct cfg_section *const table[] = {&net_cfg_section, &fake_a, &l4_cfg_section,
						   &proxy_cfg_section, &fake_b};
	const struct cfg_section *const twice[] = {&net_cfg_section, &fake_a, &fake_a};
	const struct cfg_section no_free = {"no_free", fake_b_keys, fake_b_compile, NULL, NULL};
	const struct cfg_section *const nofree[] = {&net_cfg_section, &no_free};
	struct cfg_snapshot *s;
	char doc[1024];

	(void)state;
	/* The daemon's table does not know "a". */
	snprintf(doc, sizeof(doc), SECTIONS_DOC, "'a': 1");
	expect_error(doc, "$.a", "unknown field; expected one of: version");

	assert_int_equal(cfg_sections_set(table, 5), 0);
	section_calls[0] = '\0';
	snprintf(doc, sizeof(doc), SECTIONS_DOC, "'a': 1, 'b': 2");
	s = compile_ok(doc);
	assert_string_equal(section_calls, "AcBcAf");
	cfg_snapshot_free(s);
	assert_string_equal(section_calls, "AcBcAfBxAx");

	/* Refused by the last section: no finish, and every section's free runs. */
	section_calls[0] = '\0';
	snprintf(doc, sizeof(doc), SECTIONS_DOC, "'a': 1, 'b': 'x'");
	expect_error(doc, "$.b", "expected an integer, got \"x\"");
	assert_string_equal(section_calls, "AcBcBxAx");

	/* The top-level check names config's members, then each section's in table order. */
	expect_error("{'version': 1, 'zz': 1}", "$.zz",
		     "expected one of: version, node, control, admin, neighbour, tune, "
		     "interfaces, routes, a, mode");

	/* A section without free(), or a member claimed twice: refused, and nothing
	 * compiles until a table is set. */
	assert_int_equal(cfg_sections_set(nofree, 2), -EINVAL);
	assert_int_equal(cfg_sections_set(twice, 3), -EINVAL);
	expect_error("{'version': 1}", "$", "no config sections are set");
	meshdp_sections_register();
	cfg_snapshot_free(compile_ok("{'version': 1}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_compiles),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_bad_prefixes),
		cmocka_unit_test(test_host_bits),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_ports_and_vlans),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_via_not_on_link),
		cmocka_unit_test(test_startup_settings),
		cmocka_unit_test(test_oversized_and_invalid),
		cmocka_unit_test(test_with_tune),
		cmocka_unit_test(test_l4_sections),
		cmocka_unit_test(test_sections),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
