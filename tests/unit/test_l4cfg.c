/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config (L4 sections): a full mesh document compiles, every lookup helper
 * answers from the snapshot, the policy matrix follows the documented rules,
 * defaults are applied, every refusal names its JSON path, and
 * cfg_snapshot_free() hands the runtime objects back through l4_rt_free.
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
#include "config_fixture.h"
#include "test_eal.h"

#define HEAD                                                                                \
	"{'version': 1, 'interfaces': [{'name': 'client', 'port': 'p0', 'ipv4': "           \
	"['10.10.1.1/24'], 'ipv6': ['fd00:10:1::1/64']}, {'name': 'server', 'port': 'p1', " \
	"'ipv4': ['10.10.2.1/24'], 'ipv6': ['fd00:10:2::1/64']}]"

/* One valid service; tests splice fields in front of its closing brace. */
#define SVC_OPEN                                                                         \
	"{'name': 'cart', 'namespace': 'shop', 'vip': '10.96.0.10', 'ports': [{'port': " \
	"80}], 'endpoints': [{'address': '10.10.2.10'}]"
#define SVC SVC_OPEN "}"
#define WL                                                                     \
	"'workloads': [{'name': 'web', 'namespace': 'shop', 'service': 'fe', " \
	"'prefixes': ['10.10.1.0/24']}]"

static const char full_doc[] = HEAD
	", 'mode': 'mesh', "
	"'mesh': {'prefixes': ['10.10.0.0/16', 'fd00:10::/32']}, "
	"'control_plane': {'prefixes': ['10.10.9.0/24', 'fd00:99::/64']}, "
	"'workloads': ["
	"{'name': 'web', 'namespace': 'shop', 'service': 'frontend', 'prefixes': "
	"['10.10.1.0/24', 'fd00:10:1::/64']}, "
	"{'name': 'web-canary', 'namespace': 'shop', 'service': 'canary', 'prefixes': "
	"['10.10.1.128/25']}, "
	"{'name': 'batch', 'namespace': 'ops', 'service': 'jobs', 'prefixes': ['10.10.3.0/24']}], "
	"'services': ["
	"{'name': 'cart', 'namespace': 'shop', 'vip': '10.96.0.10', 'ports': [{'port': 80, "
	"'target_port': 8080}, {'port': 443}, {'port': 53, 'protocol': 'udp'}], 'endpoints': "
	"[{'address': '10.10.2.10'}, {'address': '10.10.2.11', 'port': 9090, 'weight': 5, "
	"'labels': {'version': 'v2', 'zone': 'a'}}]}, "
	"{'name': 'cart6', 'namespace': 'shop', 'vip': 'fd00:96::10', 'ports': [{'port': 80}], "
	"'nat': 'fullnat', 'snat': ['fd00:10:2::1'], 'lb': 'round_robin', 'maglev_size': 251, "
	"'reject': 'reset', 'endpoints': [{'address': 'fd00:10:2::10', 'port': 8080}], "
	"'breaker': {'max_connections': 10, 'max_pending': 1, 'consecutive_failures': 2, "
	"'base_ejection_ms': 1000, 'max_ejection_percent': 100}, 'health': {'interval_ms': 0, "
	"'timeout_ms': 100, 'healthy_threshold': 1, 'unhealthy_threshold': 4, 'port': 9000}}], "
	"'external_services': ["
	"{'name': 'github', 'prefixes': ['140.82.112.0/20'], 'ports': [443]}, "
	"{'name': 'github-ssh', 'prefixes': ['140.82.112.0/20'], 'ports': [22]}, "
	"{'name': 'dns', 'prefixes': ['8.8.8.8/32', '2001:4860:4860::8888/128'], 'ports': [53], "
	"'protocol': 'udp'}, "
	"{'name': 'web-out', 'prefixes': ['0.0.0.0/0'], 'ports': [80, 8080]}], "
	"'policies': ["
	"{'name': 'no-canary', 'action': 'deny', 'from': {'namespace': 'shop', 'service': "
	"'canary'}, 'to': {'service': 'cart', 'ports': [443]}}, "
	"{'name': 'shop-cart', 'action': 'allow', 'from': {'namespace': 'shop', 'service': '*'}, "
	"'to': {'service': 'cart'}}, "
	"{'name': 'anyone-dns', 'action': 'allow', 'from': {'namespace': '*', 'service': '*'}, "
	"'to': {'service': 'cart', 'ports': [53]}}, "
	"{'name': 'jobs-cart6', 'action': 'allow', 'from': {'namespace': 'ops', 'service': "
	"'jobs'}, 'to': {'service': 'cart6'}}, "
	"{'name': 'fe-github', 'action': 'allow', 'from': {'namespace': '*', 'service': "
	"'frontend'}, 'to': {'external': 'github'}}, "
	"{'name': 'jobs-web', 'action': 'allow', 'from': {'namespace': 'ops', 'service': '*'}, "
	"'to': {'external': 'web-out', 'ports': [8080]}}], "
	"'limits': ["
	"{'name': 'cart-src', 'service': 'cart', 'scope': 'source', 'connections_per_s': 100}, "
	"{'name': 'cart-all', 'service': 'cart', 'scope': 'service', 'packets_per_s': 10000, "
	"'burst': 500, 'action': 'reset'}], "
	"'flows': {'capacity': 4096, 'timeouts_s': {'syn': 5, 'udp': 60}}}";

static void assert_ref(struct l4_service_ref r, int service, int port)
{
	assert_int_equal(r.service, service);
	assert_int_equal(r.port, port);
}

static void test_full_document(void **state)
{
	struct cfg_snapshot *s = compile_ok(full_doc);
	const struct l4_service *cart, *cart6;

	(void)state;
	assert_int_equal(s->mode, CFG_MODE_MESH);
	assert_int_equal(s->n_services, 2);
	assert_int_equal(s->n_endpoints, 3);
	assert_int_equal(s->n_workloads, 3);
	assert_int_equal(s->n_externals, 4);
	assert_int_equal(s->n_policies, 6);
	assert_int_equal(s->n_limits, 2);
	assert_int_equal(s->n_mesh_prefixes, 2);
	assert_int_equal(s->n_cp_prefixes, 2);

	cart = &s->services[0];
	cart6 = &s->services[1];
	assert_string_equal(cart->name, "cart");
	assert_string_equal(cart->ns, "shop");
	assert_string_equal(cart->key, "shop/cart");
	assert_int_equal(cart->family, 4);
	assert_memory_equal(cart->vip, a4("10.96.0.10"), 16);
	assert_int_equal(cart->n_ports, 3);
	assert_int_equal(cart->ports[0].port, 80);
	assert_int_equal(cart->ports[0].target_port, 8080);
	assert_int_equal(cart->ports[0].protocol, IPPROTO_TCP);
	assert_int_equal(cart->ports[1].target_port, 443);
	assert_int_equal(cart->ports[2].protocol, IPPROTO_UDP);
	assert_int_equal(cart->n_endpoints, 2);
	assert_ptr_equal(cart->endpoints, &s->endpoints[0]);
	assert_ptr_equal(cart6->endpoints, &s->endpoints[2]);
	assert_string_equal(cart->endpoints[0].key, "shop/cart/10.10.2.10:*");
	assert_int_equal(cart->endpoints[0].port, 0);
	assert_int_equal(cart->endpoints[1].port, 9090);
	assert_int_equal(cart->endpoints[1].weight, 5);
	assert_int_equal(cart->endpoints[1].service, 0);
	assert_string_equal(cart->endpoints[1].key, "shop/cart/10.10.2.11:9090");
	assert_int_equal(cart->endpoints[1].n_labels, 2);
	assert_string_equal(cart->endpoints[1].labels[0].key, "version");
	assert_string_equal(cart->endpoints[1].labels[0].value, "v2");
	assert_string_equal(cart->endpoints[1].labels[1].key, "zone");
	assert_int_equal(cart->limit_source, 0);
	assert_int_equal(cart->limit_service, 1);
	assert_null(cart->rt);

	assert_int_equal(cart6->family, 6);
	assert_int_equal(cart6->lb, L4_LB_ROUND_ROBIN);
	assert_int_equal(cart6->nat, L4_NAT_FULLNAT);
	assert_int_equal(cart6->reject, L4_REJECT_RESET);
	assert_int_equal(cart6->maglev_size, 251);
	assert_int_equal(cart6->n_snat, 1);
	assert_memory_equal(cart6->snat[0], a6("fd00:10:2::1"), 16);
	assert_string_equal(cart6->endpoints[0].key, "shop/cart6/[fd00:10:2::10]:8080");
	assert_int_equal(cart6->endpoints[0].service, 1);
	assert_int_equal(cart6->breaker.max_connections, 10);
	assert_int_equal(cart6->breaker.max_pending, 1);
	assert_int_equal(cart6->breaker.consecutive_failures, 2);
	assert_int_equal(cart6->breaker.base_ejection_ms, 1000);
	assert_int_equal(cart6->breaker.max_ejection_percent, 100);
	assert_int_equal(cart6->health.interval_ms, 0);
	assert_int_equal(cart6->health.timeout_ms, 100);
	assert_int_equal(cart6->health.unhealthy_threshold, 4);
	assert_int_equal(cart6->health.port, 9000);
	assert_int_equal(cart6->limit_source, -1);
	assert_int_equal(cart6->limit_service, -1);

	assert_int_equal(s->limits[0].service, 0);
	assert_int_equal(s->limits[0].scope, L4_LIMIT_SOURCE);
	assert_int_equal(s->limits[0].reject, L4_REJECT_DROP);
	assert_int_equal(s->limits[0].connections_per_s, 100);
	assert_int_equal(s->limits[0].connections_burst, 100);
	assert_int_equal(s->limits[0].packets_per_s, 0);
	assert_int_equal(s->limits[1].scope, L4_LIMIT_SERVICE);
	assert_int_equal(s->limits[1].reject, L4_REJECT_RESET);
	assert_int_equal(s->limits[1].packets_burst, 500);
	assert_int_equal(s->limits[1].connections_burst, 500);

	assert_int_equal(s->flows.capacity, 4096);
	assert_int_equal(s->startup.flow_capacity, 4096);
	assert_int_equal(s->flows.syn_s, 5);
	assert_int_equal(s->flows.udp_s, 60);
	assert_int_equal(s->flows.established_s, 3600);
	assert_int_equal(s->flows.udp_assured_s, 180);
	cfg_snapshot_free(s);
}

static void test_service_lookup(void **state)
{
	struct cfg_snapshot *s = compile_ok(full_doc);

	(void)state;
	assert_ref(l4_service_lookup(s, 4, a4("10.96.0.10"), htons(80), IPPROTO_TCP), 0, 0);
	assert_ref(l4_service_lookup(s, 4, a4("10.96.0.10"), htons(443), IPPROTO_TCP), 0, 1);
	assert_ref(l4_service_lookup(s, 4, a4("10.96.0.10"), htons(53), IPPROTO_UDP), 0, 2);
	/* Wrong protocol, wrong port, wrong address, wrong family. */
	assert_ref(l4_service_lookup(s, 4, a4("10.96.0.10"), htons(53), IPPROTO_TCP), -1, -1);
	assert_ref(l4_service_lookup(s, 4, a4("10.96.0.10"), htons(81), IPPROTO_TCP), -1, -1);
	assert_ref(l4_service_lookup(s, 4, a4("10.96.0.10"), 80, IPPROTO_TCP), -1, -1);
	assert_ref(l4_service_lookup(s, 4, a4("10.96.0.11"), htons(80), IPPROTO_TCP), -1, -1);
	assert_ref(l4_service_lookup(s, 6, a6("fd00:96::10"), htons(80), IPPROTO_TCP), 1, 0);
	assert_ref(l4_service_lookup(s, 6, a6("fd00:96::10"), htons(80), IPPROTO_UDP), -1, -1);
	assert_ref(l4_service_lookup(s, 6, a6("fd00:96::11"), htons(80), IPPROTO_TCP), -1, -1);
	/* The IPv4 VIP's bytes as an IPv6 address are not the VIP. */
	assert_ref(l4_service_lookup(s, 6, a4("10.96.0.10"), htons(80), IPPROTO_TCP), -1, -1);
	cfg_snapshot_free(s);
}

static void test_prefix_lookups(void **state)
{
	struct cfg_snapshot *s = compile_ok(full_doc);

	(void)state;
	/* Workloads: longest prefix wins. */
	assert_int_equal(l4_workload_of(s, 4, a4("10.10.1.5")), 0);
	assert_int_equal(l4_workload_of(s, 4, a4("10.10.1.200")), 1);
	assert_int_equal(l4_workload_of(s, 4, a4("10.10.1.127")), 0);
	assert_int_equal(l4_workload_of(s, 4, a4("10.10.3.1")), 2);
	assert_int_equal(l4_workload_of(s, 4, a4("10.10.4.1")), -1);
	assert_int_equal(l4_workload_of(s, 6, a6("fd00:10:1::5")), 0);
	assert_int_equal(l4_workload_of(s, 6, a6("fd00:10:2::5")), -1);

	/* External services: prefix, then port and protocol, falling back to shorter prefixes. */
	assert_int_equal(l4_external_of(s, 4, a4("140.82.112.5"), htons(443), IPPROTO_TCP), 0);
	assert_int_equal(l4_external_of(s, 4, a4("140.82.127.255"), htons(22), IPPROTO_TCP), 1);
	assert_int_equal(l4_external_of(s, 4, a4("140.82.112.5"), htons(443), IPPROTO_UDP), -1);
	assert_int_equal(l4_external_of(s, 4, a4("140.82.112.5"), htons(80), IPPROTO_TCP), 3);
	assert_int_equal(l4_external_of(s, 4, a4("140.82.112.5"), htons(8443), IPPROTO_TCP), -1);
	assert_int_equal(l4_external_of(s, 4, a4("140.82.128.1"), htons(443), IPPROTO_TCP), -1);
	assert_int_equal(l4_external_of(s, 4, a4("8.8.8.8"), htons(53), IPPROTO_UDP), 2);
	assert_int_equal(l4_external_of(s, 4, a4("8.8.8.8"), htons(53), IPPROTO_TCP), -1);
	assert_int_equal(l4_external_of(s, 4, a4("8.8.4.4"), htons(53), IPPROTO_UDP), -1);
	assert_int_equal(l4_external_of(s, 4, a4("1.1.1.1"), htons(8080), IPPROTO_TCP), 3);
	assert_int_equal(l4_external_of(s, 6, a6("2001:4860:4860::8888"), htons(53), IPPROTO_UDP),
			 2);
	assert_int_equal(l4_external_of(s, 6, a6("2001:4860:4860::8844"), htons(53), IPPROTO_UDP),
			 -1);

	assert_true(l4_in_mesh(s, 4, a4("10.10.2.10")));
	assert_false(l4_in_mesh(s, 4, a4("10.11.0.1")));
	assert_true(l4_in_mesh(s, 6, a6("fd00:10:2::10")));
	assert_false(l4_in_mesh(s, 6, a6("fd01::1")));
	assert_true(l4_in_control_plane(s, 4, a4("10.10.9.9")));
	assert_false(l4_in_control_plane(s, 4, a4("10.10.8.1")));
	assert_true(l4_in_control_plane(s, 6, a6("fd00:99::1")));
	assert_false(l4_in_control_plane(s, 6, a6("fd00:98::1")));
	cfg_snapshot_free(s);
}

static void test_policy_matrix(void **state)
{
	struct cfg_snapshot *s = compile_ok(full_doc);
	enum { WEB, CANARY, BATCH, UNKNOWN = -1 };
	enum { CART, CART6 };
	enum { GITHUB, GITHUB_SSH, DNS, WEB_OUT };

	(void)state;
	/* Namespace shop, any service, may use every port of cart. */
	assert_true(l4_policy_allows_service(s, WEB, CART, 80));
	assert_true(l4_policy_allows_service(s, WEB, CART, 443));
	assert_true(l4_policy_allows_service(s, WEB, CART, 53));
	assert_false(l4_policy_allows_service(s, WEB, CART, 9999));
	/* The deny (listed first) overrides the allow, on its port only. */
	assert_true(l4_policy_allows_service(s, CANARY, CART, 80));
	assert_false(l4_policy_allows_service(s, CANARY, CART, 443));
	assert_true(l4_policy_allows_service(s, CANARY, CART, 53));
	/* "*"/"*" reaches everyone, the unknown source included; nothing else does. */
	assert_false(l4_policy_allows_service(s, BATCH, CART, 80));
	assert_true(l4_policy_allows_service(s, BATCH, CART, 53));
	assert_true(l4_policy_allows_service(s, UNKNOWN, CART, 53));
	assert_false(l4_policy_allows_service(s, UNKNOWN, CART, 80));
	assert_true(l4_policy_allows_service(s, BATCH, CART6, 80));
	assert_false(l4_policy_allows_service(s, WEB, CART6, 80));
	assert_false(l4_policy_allows_service(s, UNKNOWN, CART6, 80));
	/* Externals: wildcard namespace, specific service. */
	assert_true(l4_policy_allows_external(s, WEB, GITHUB, 443));
	assert_false(l4_policy_allows_external(s, CANARY, GITHUB, 443));
	assert_false(l4_policy_allows_external(s, UNKNOWN, GITHUB, 443));
	assert_false(l4_policy_allows_external(s, WEB, GITHUB_SSH, 22));
	assert_false(l4_policy_allows_external(s, WEB, DNS, 53));
	/* Per-port restriction on an external. */
	assert_true(l4_policy_allows_external(s, BATCH, WEB_OUT, 8080));
	assert_false(l4_policy_allows_external(s, BATCH, WEB_OUT, 80));
	/* Index form and out-of-range arguments. */
	assert_int_equal(l4_policy_mask(s, CANARY, CART), 0x5);
	assert_int_equal(l4_policy_mask(s, BATCH, s->n_services + WEB_OUT), 0x2);
	assert_int_equal(l4_policy_mask(s, 3, CART), 0);
	assert_int_equal(l4_policy_mask(s, -2, CART), 0);
	assert_false(l4_policy_allows_service(s, WEB, 2, 80));
	assert_false(l4_policy_allows_service(s, WEB, -1, 80));
	assert_false(l4_policy_allows_external(s, WEB, 4, 443));
	cfg_snapshot_free(s);
}

static void test_defaults_and_router_mode(void **state)
{
	struct cfg_snapshot *s = compile_ok(HEAD "}");
	const struct l4_service *sv;

	(void)state;
	assert_int_equal(s->mode, CFG_MODE_ROUTER);
	assert_int_equal(s->n_services, 0);
	assert_null(s->vip_hash);
	assert_null(s->policy);
	assert_int_equal(s->flows.capacity, 1048576);
	assert_int_equal(s->startup.flow_capacity, 1048576);
	assert_int_equal(s->flows.syn_s, 30);
	assert_int_equal(s->flows.established_s, 3600);
	assert_int_equal(s->flows.fin_s, 120);
	assert_int_equal(s->flows.time_wait_s, 120);
	assert_int_equal(s->flows.close_s, 10);
	assert_int_equal(s->flows.udp_s, 30);
	assert_int_equal(s->flows.udp_assured_s, 180);
	assert_int_equal(s->flows.icmp_s, 30);
	assert_ref(l4_service_lookup(s, 4, a4("10.96.0.10"), htons(80), IPPROTO_TCP), -1, -1);
	assert_int_equal(l4_workload_of(s, 4, a4("10.10.1.5")), -1);
	assert_int_equal(l4_external_of(s, 4, a4("8.8.8.8"), htons(53), IPPROTO_UDP), -1);
	assert_false(l4_in_mesh(s, 4, a4("10.10.1.5")));
	assert_false(l4_in_control_plane(s, 6, a6("fd00::1")));
	assert_false(l4_policy_allows_service(s, -1, 0, 80));
	cfg_snapshot_free(s);

	s = compile_ok(HEAD ", 'services': [" SVC "]}");
	sv = &s->services[0];
	assert_int_equal(s->mode, CFG_MODE_ROUTER);
	assert_int_equal(sv->lb, L4_LB_MAGLEV);
	assert_int_equal(sv->nat, L4_NAT_DNAT);
	assert_int_equal(sv->reject, L4_REJECT_DROP);
	assert_int_equal(sv->maglev_size, 65537);
	assert_int_equal(sv->n_snat, 0);
	assert_int_equal(sv->ports[0].protocol, IPPROTO_TCP);
	assert_int_equal(sv->ports[0].target_port, 80);
	assert_int_equal(sv->endpoints[0].weight, 1);
	assert_int_equal(sv->endpoints[0].port, 0);
	assert_int_equal(sv->endpoints[0].n_labels, 0);
	assert_int_equal(sv->breaker.max_connections, 1024);
	assert_int_equal(sv->breaker.max_pending, 128);
	assert_int_equal(sv->breaker.consecutive_failures, 5);
	assert_int_equal(sv->breaker.base_ejection_ms, 30000);
	assert_int_equal(sv->breaker.max_ejection_percent, 50);
	assert_int_equal(sv->health.interval_ms, 1000);
	assert_int_equal(sv->health.timeout_ms, 500);
	assert_int_equal(sv->health.healthy_threshold, 2);
	assert_int_equal(sv->health.unhealthy_threshold, 3);
	assert_int_equal(sv->health.port, 0);
	assert_int_equal(sv->limit_source, -1);
	assert_int_equal(sv->limit_service, -1);
	/* No policies: the matrix exists and allows nothing. */
	assert_non_null(s->policy);
	assert_false(l4_policy_allows_service(s, -1, 0, 80));
	assert_ref(l4_service_lookup(s, 4, a4("10.96.0.10"), htons(80), IPPROTO_TCP), 0, 0);
	cfg_snapshot_free(s);
}

static int rt_freed;

static void fake_rt_free(struct cfg_snapshot *snap)
{
	/* Called first: services, endpoints and their rt pointers are still there. */
	assert_int_equal(snap->n_services, 1);
	assert_ptr_equal(snap->services[0].rt, &rt_freed);
	assert_ptr_equal(snap->services[0].endpoints[0].rt, &rt_freed);
	assert_ptr_equal(snap->l4_rt, &rt_freed);
	assert_non_null(snap->vip_hash);
	rt_freed++;
}

static void test_rt_free(void **state)
{
	struct cfg_snapshot *s = compile_ok(HEAD ", 'services': [" SVC "]}");

	(void)state;
	rt_freed = 0;
	s->l4_rt = &rt_freed;
	s->services[0].rt = &rt_freed;
	s->services[0].endpoints[0].rt = &rt_freed;
	s->l4_rt_free = fake_rt_free;
	cfg_snapshot_free(s);
	assert_int_equal(rt_freed, 1);

	/* Without a callback nothing is called. */
	s = compile_ok(HEAD ", 'services': [" SVC "]}");
	cfg_snapshot_free(s);
	assert_int_equal(rt_freed, 1);
}

static void test_flow_capacity_startup(void **state)
{
	struct cfg_snapshot *prev = compile_ok(HEAD ", 'flows': {'capacity': 2048}}");
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;

	(void)state;
	expect_error_prev(HEAD "}", prev, "$.flows.capacity", "cannot change while running");
	expect_error_prev(HEAD ", 'flows': {'capacity': 4096}}", prev, "$.flows.capacity",
			  "cannot change while running");
	/* Timeouts are live. */
	assert_int_equal(compile_json(json_of(HEAD ", 'flows': {'capacity': 2048, 'timeouts_s': "
						   "{'established': 60}}}"),
				      prev, &s, &err),
			 0);
	assert_int_equal(s->flows.established_s, 60);
	cfg_snapshot_free(s);
	cfg_snapshot_free(prev);
}

static void test_service_errors(void **state)
{
	(void)state;
	expect_error(HEAD ", 'services': [" SVC_OPEN ", 'colour': 'red'}]}", "$.services[0].colour",
		     "unknown field; expected one of: name, namespace, vip");
	expect_error(HEAD ", 'services': [" SVC_OPEN ", 'vip': '10.96.0.300'}]}", "$", "duplicate");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.300', 'ports': [{'port': 80}], 'endpoints': [{'address': "
			  "'10.10.2.10'}]}]}",
		     "$.services[0].vip", "got \"10.96.0.300\"");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'224.0.0.1', 'ports': [{'port': 80}], 'endpoints': [{'address': "
			  "'10.10.2.10'}]}]}",
		     "$.services[0].vip", "unicast");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.10.2.1', 'ports': [{'port': 80}], 'endpoints': [{'address': "
			  "'10.10.2.10'}]}]}",
		     "$.services[0].vip", "not one of our interface addresses");
	expect_error(HEAD ", 'services': [" SVC ", " SVC "]}", "$.services[1].name",
		     "a name no other service has, got \"cart\"");
	expect_error(HEAD ", 'services': [" SVC ", {'name': 'cart2', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 81}, {'port': 80}], 'endpoints': "
			  "[{'address': '10.10.2.10'}]}]}",
		     "$.services[1].ports[1]",
		     "got 10.96.0.10:80/tcp (also $.services[0].ports[0])");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 80}, {'port': 80}], 'endpoints': "
			  "[{'address': '10.10.2.10'}]}]}",
		     "$.services[0].ports[1]", "also $.services[0].ports[0]");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 0}], 'endpoints': [{'address': "
			  "'10.10.2.10'}]}]}",
		     "$.services[0].ports[0].port", "1..65535, got 0");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 80, 'protocol': 'sctp'}], "
			  "'endpoints': [{'address': '10.10.2.10'}]}]}",
		     "$.services[0].ports[0].protocol", "expected \"tcp\" or \"udp\"");
	expect_error(HEAD ", 'services': [" SVC_OPEN ", 'nat': 'fullnat'}]}", "$.services[0].snat",
		     "required field missing");
	expect_error(HEAD ", 'services': [" SVC_OPEN ", 'snat': ['10.10.2.1']}]}",
		     "$.services[0].snat", "without \"nat\": \"fullnat\"");
	expect_error(HEAD ", 'services': [" SVC_OPEN
			  ", 'nat': 'fullnat', 'snat': ['fd00:10:2::1']}]}",
		     "$.services[0].snat[0]", "expected an IPv4 address (a.b.c.d), like the vip");
	expect_error(HEAD ", 'services': [" SVC_OPEN
			  ", 'nat': 'fullnat', 'snat': ['10.10.2.99']}]}",
		     "$.services[0].snat[0]", "an address of one of our interfaces");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 80}], 'endpoints': [{'address': "
			  "'fd00:10:2::10'}]}]}",
		     "$.services[0].endpoints[0].address", "IPv4 address");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 80}], 'endpoints': [{'address': "
			  "'10.10.2.10', 'port': 80}, {'address': '10.10.2.10', 'port': 80}]}]}",
		     "$.services[0].endpoints[1]",
		     "got 10.10.2.10:80 (also $.services[0].endpoints[0]");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 80}], 'endpoints': [{'address': "
			  "'10.10.2.10', 'port': 80}, {'address': '10.10.2.10'}]}]}",
		     "$.services[0].endpoints[1]", "got 10.10.2.10:*");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 80}], 'endpoints': [{'address': "
			  "'10.10.2.10', 'weight': 0}]}]}",
		     "$.services[0].endpoints[0].weight", "1..1000, got 0");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 80}], 'endpoints': []}]}",
		     "$.services[0].endpoints", "1..1024 endpoints, got 0");
	expect_error(HEAD ", 'services': [" SVC_OPEN ", 'maglev_size': 65536}]}",
		     "$.services[0].maglev_size", "a prime in 251..655373 (e.g. 65537), got 65536");
	expect_error(HEAD ", 'services': [" SVC_OPEN ", 'maglev_size': 7}]}",
		     "$.services[0].maglev_size", "251..655373, got 7");
	expect_error(HEAD ", 'services': [" SVC_OPEN ", 'lb': 'random'}]}", "$.services[0].lb",
		     "expected \"maglev\", \"round_robin\" or \"least_connections\"");
	expect_error(HEAD ", 'services': [" SVC_OPEN
			  ", 'breaker': {'max_ejection_percent': 101}}]}",
		     "$.services[0].breaker.max_ejection_percent", "0..100, got 101");
	expect_error(HEAD ", 'services': [" SVC_OPEN ", 'health': {'interval': 5}}]}",
		     "$.services[0].health.interval", "unknown field");
	expect_error(HEAD ", 'services': [" SVC_OPEN
			  ", 'health': {'interval_ms': 100, 'timeout_ms': 200}}]}",
		     "$.services[0].health.timeout_ms", "at most interval_ms (100), got 200");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 80}], 'endpoints': [{'address': "
			  "'10.10.2.10', 'labels': {'a b': 'x'}}]}]}",
		     "$.services[0].endpoints[0].labels.a?b", "label key");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'namespace': 'shop', 'vip': "
			  "'10.96.0.10', 'ports': [{'port': 80}], 'endpoints': [{'address': "
			  "'10.10.2.10', 'labels': {'a': 1}}]}]}",
		     "$.services[0].endpoints[0].labels.a", "got 1");
	expect_error(HEAD ", 'services': [{'name': 'cart', 'vip': '10.96.0.10', 'ports': "
			  "[{'port': 80}], 'endpoints': [{'address': '10.10.2.10'}]}]}",
		     "$.services[0].namespace", "required field missing");
	expect_error(HEAD ", 'services': {}}", "$.services", "expected an array of 0..1024");
}

static void test_other_errors(void **state)
{
	(void)state;
	expect_error(HEAD ", 'mode': 'bridge'}", "$.mode",
		     "expected \"router\" or \"mesh\", got \"bridge\"");
	expect_error(HEAD ", 'mode': 1}", "$.mode", "got 1");
	expect_error(HEAD ", 'mesh': {'prefixes': ['10.10.0.1/16']}}", "$.mesh.prefixes[0]",
		     "no host bits set (10.10.0.0/16)");
	expect_error(HEAD ", 'mesh': {'prefix': []}}", "$.mesh.prefix", "unknown field");
	expect_error(HEAD ", 'control_plane': {'prefixes': 'x'}}", "$.control_plane.prefixes",
		     "expected an array");
	expect_error(HEAD ", 'workloads': [{'name': 'a', 'namespace': 'n', 'service': 's', "
			  "'prefixes': ['10.10.1.0/24']}, {'name': 'b', 'namespace': 'n', "
			  "'service': 's', 'prefixes': ['10.10.3.0/24', '10.10.1.0/24']}]}",
		     "$.workloads[1].prefixes[1]",
		     "no other workload has, got 10.10.1.0/24 (also $.workloads[0].prefixes[0])");
	expect_error(HEAD ", 'workloads': [{'name': 'a', 'namespace': 'n', 'service': 's'}]}",
		     "$.workloads[0].prefixes", "required field missing");
	expect_error(HEAD ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
			  "'ports': [443, 443]}]}",
		     "$.external_services[0].ports[1]", "not already in this list");
	expect_error(HEAD ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
			  "'ports': [70000]}]}",
		     "$.external_services[0].ports[0]", "1..65535, got 70000");
	/* Policies. */
	expect_error(HEAD ", " WL ", 'services': [" SVC "], 'policies': [{'name': 'p', 'action': "
			  "'allow', 'from': {'namespace': '*', 'service': '*'}, 'to': "
			  "{'service': 'kart'}}]}",
		     "$.policies[0].to.service", "a service in $.services, got \"kart\"");
	expect_error(HEAD ", " WL ", 'services': [" SVC "], 'external_services': [{'name': 'x', "
			  "'prefixes': ['1.2.3.0/24'], 'ports': [443]}], 'policies': [{'name': "
			  "'p', 'action': 'allow', 'from': {'namespace': '*', 'service': '*'}, "
			  "'to': {'service': 'cart', 'external': 'x'}}]}",
		     "$.policies[0].to", "exactly one of \"service\" or \"external\", got both");
	expect_error(HEAD ", " WL ", 'services': [" SVC "], 'policies': [{'name': 'p', 'action': "
			  "'allow', 'from': {'namespace': '*', 'service': '*'}, 'to': {}}]}",
		     "$.policies[0].to", "got neither");
	expect_error(HEAD ", " WL ", 'services': [" SVC "], 'policies': [{'name': 'p', 'action': "
			  "'allow', 'from': {'namespace': 'shpo', 'service': '*'}, 'to': "
			  "{'service': 'cart'}}]}",
		     "$.policies[0].from.namespace", "namespace of a workload");
	expect_error(HEAD ", " WL ", 'services': [" SVC "], 'policies': [{'name': 'p', 'action': "
			  "'allow', 'from': {'namespace': '*', 'service': 'cart'}, 'to': "
			  "{'service': 'cart'}}]}",
		     "$.policies[0].from.service", "got \"cart\"");
	expect_error(HEAD ", 'workloads': [{'name': 'a', 'namespace': 'n1', 'service': 's1', "
			  "'prefixes': ['10.10.1.0/24']}, {'name': 'b', 'namespace': 'n2', "
			  "'service': 's2', 'prefixes': ['10.10.3.0/24']}], 'services': [" SVC
			  "], 'policies': [{'name': 'p', 'action': 'deny', 'from': {'namespace': "
			  "'n1', 'service': 's2'}, 'to': {'service': 'cart'}}]}",
		     "$.policies[0].from", "that one workload has together");
	expect_error(HEAD ", " WL ", 'services': [" SVC "], 'policies': [{'name': 'p', 'action': "
			  "'allow', 'from': {'namespace': '*', 'service': '*'}, 'to': {'service': "
			  "'cart', 'ports': [443]}}]}",
		     "$.policies[0].to.ports[0]", "a port of the target (80), got 443");
	expect_error(HEAD ", " WL ", 'services': [" SVC "], 'policies': [{'name': 'p', 'action': "
			  "'permit', 'from': {'namespace': '*', 'service': '*'}, 'to': {'service': "
			  "'cart'}}]}",
		     "$.policies[0].action", "expected \"allow\" or \"deny\"");
	expect_error(HEAD ", " WL ", 'services': [" SVC "], 'policies': [{'name': 'p', 'action': "
			  "'allow', 'from': {'namespace': '*'}, 'to': {'service': 'cart'}}]}",
		     "$.policies[0].from.service", "required field missing");
	/* Limits. */
	expect_error(HEAD ", 'services': [" SVC "], 'limits': [{'name': 'l', 'service': 'kart', "
			  "'scope': 'source', 'connections_per_s': 10}]}",
		     "$.limits[0].service", "got \"kart\"");
	expect_error(HEAD ", 'services': [" SVC "], 'limits': [{'name': 'l', 'service': 'cart', "
			  "'scope': 'source'}]}",
		     "$.limits[0]", "got neither");
	expect_error(HEAD ", 'services': [" SVC "], 'limits': [{'name': 'l', 'service': 'cart', "
			  "'scope': 'source', 'packets_per_s': 0, 'connections_per_s': 0}]}",
		     "$.limits[0]", "above 0");
	expect_error(HEAD ", 'services': [" SVC "], 'limits': [{'name': 'l', 'service': 'cart', "
			  "'scope': 'source', 'connections_per_s': 10}, {'name': 'm', 'service': "
			  "'cart', 'scope': 'service', 'connections_per_s': 10}, {'name': 'n', "
			  "'service': 'cart', 'scope': 'source', 'packets_per_s': 5}]}",
		     "$.limits[2].scope",
		     "at most one \"source\" limit per service, got a second "
		     "for service cart (also $.limits[0])");
	expect_error(HEAD ", 'services': [" SVC "], 'limits': [{'name': 'l', 'service': 'cart', "
			  "'scope': 'global', 'connections_per_s': 10}]}",
		     "$.limits[0].scope", "\"source\" or \"service\"");
	expect_error(HEAD ", 'services': [" SVC "], 'limits': [{'name': 'l', 'service': 'cart', "
			  "'connections_per_s': 10}]}",
		     "$.limits[0].scope", "required field missing");
	/* Flows. */
	expect_error(HEAD ", 'flows': {'capacity': 10}}", "$.flows.capacity", "got 10");
	expect_error(HEAD ", 'flows': {'timeouts_s': {'tcp': 10}}}", "$.flows.timeouts_s.tcp",
		     "unknown field; expected one of: syn, established");
	expect_error(HEAD ", 'flows': {'timeouts_s': {'syn': 0}}}", "$.flows.timeouts_s.syn",
		     "got 0");
}

/* Egress gateways' view of external services: hosts, then ports, most specific name first. */
static void test_external_hosts(void **state)
{
	struct cfg_snapshot *s = compile_ok(
		HEAD ", 'external_services': ["
		     "{'name': 'api', 'prefixes': ['10.10.3.0/24'], 'ports': [80, 8080], "
		     "'hosts': ['api.example.com', '*.cdn.example.com']}, "
		     "{'name': 'api-tls', 'prefixes': ['10.10.3.0/24'], 'ports': [443], "
		     "'hosts': ['api.example.com']}, "
		     "{'name': 'edge', 'prefixes': ['10.10.4.10/32'], 'ports': [81], "
		     "'hosts': ['img.cdn.example.com']}, "
		     "{'name': 'l4only', 'prefixes': ['10.10.5.0/24'], 'ports': [80]}]}");
	const char *h;

	(void)state;
	assert_int_equal(s->n_ext_hosts, 4);
	assert_int_equal(s->externals[0].n_hosts, 2);
	assert_int_equal(s->externals[3].n_hosts, 0);
#define BY_HOST(name, port) l4_external_by_host(s, name, (uint32_t)strlen(name), port)
	assert_int_equal(BY_HOST("api.example.com", 80), 0);
	assert_int_equal(BY_HOST("API.Example.COM", 8080), 0); /* any case */
	assert_int_equal(BY_HOST("api.example.com", 443), 1);  /* another service, same name */
	assert_int_equal(BY_HOST("api.example.com", 81), L4_EXT_PORT_UNKNOWN);
	assert_int_equal(BY_HOST("x.cdn.example.com", 80), 0);
	assert_int_equal(BY_HOST("a.b.cdn.example.com", 8080), 0); /* any depth */
	assert_int_equal(BY_HOST("cdn.example.com", 80), L4_EXT_HOST_UNKNOWN);
	/* the exact name decides for its host, even where the wildcard has the port */
	assert_int_equal(BY_HOST("img.cdn.example.com", 81), 2);
	assert_int_equal(BY_HOST("img.cdn.example.com", 80), L4_EXT_PORT_UNKNOWN);
	assert_int_equal(BY_HOST("example.com", 80), L4_EXT_HOST_UNKNOWN);
	assert_int_equal(BY_HOST("evil-api.example.com", 80), L4_EXT_HOST_UNKNOWN);
	assert_int_equal(BY_HOST("api.example.com.evil", 80), L4_EXT_HOST_UNKNOWN);
	h = "api.example.comX";
	assert_int_equal(l4_external_by_host(s, h, 15, 80), 0); /* the length, not the NUL */
	assert_int_equal(BY_HOST("", 80), L4_EXT_HOST_UNKNOWN);
	assert_int_equal(BY_HOST(".cdn.example.com", 80), L4_EXT_HOST_UNKNOWN); /* empty part */
	assert_int_equal(l4_external_by_host(s, "api.example.com\0x", 17, 80), L4_EXT_HOST_UNKNOWN);
#undef BY_HOST
	assert_true(l4_external_has_addr(s, 0, 4, a4("10.10.3.77")));
	assert_false(l4_external_has_addr(s, 0, 4, a4("10.10.4.10")));
	assert_true(l4_external_has_addr(s, 2, 4, a4("10.10.4.10")));
	assert_false(l4_external_has_addr(s, 2, 4, a4("10.10.4.11")));
	assert_false(l4_external_has_addr(s, 9, 4, a4("10.10.3.77")));
	cfg_snapshot_free(s);

	expect_error(HEAD ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
			  "'ports': [80], 'hosts': []}]}",
		     "$.external_services[0].hosts", "1..16");
	expect_error(HEAD ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
			  "'ports': [80], 'hosts': ['a.b', 'Api.example.com']}]}",
		     "$.external_services[0].hosts[1]", "a DNS name in lower case");
	expect_error(HEAD ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
			  "'ports': [80], 'hosts': ['a..b']}]}",
		     "$.external_services[0].hosts[0]", "got \"a..b\"");
	expect_error(HEAD ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
			  "'ports': [80], 'hosts': ['*']}]}",
		     "$.external_services[0].hosts[0]", "got \"*\"");
	expect_error(HEAD ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
			  "'ports': [80], 'hosts': ['a.*.b']}]}",
		     "$.external_services[0].hosts[0]", "a DNS name");
	expect_error(HEAD ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
			  "'ports': [80], 'hosts': ['-a.b']}]}",
		     "$.external_services[0].hosts[0]", "a DNS name");
	expect_error(HEAD ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
			  "'ports': [80], 'hosts': [7]}]}",
		     "$.external_services[0].hosts[0]", "got 7");
	expect_error(HEAD
		     ", 'external_services': [{'name': 'x', 'prefixes': ['1.2.3.0/24'], "
		     "'ports': [80]}, {'name': 'y', 'prefixes': ['1.2.4.0/24'], 'ports': [80], "
		     "'hosts': ['a.b', 'c.d', 'a.b']}]}",
		     "$.external_services[1].hosts[2]", "not already in this list");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_document),
		cmocka_unit_test(test_service_lookup),
		cmocka_unit_test(test_prefix_lookups),
		cmocka_unit_test(test_policy_matrix),
		cmocka_unit_test(test_defaults_and_router_mode),
		cmocka_unit_test(test_rt_free),
		cmocka_unit_test(test_flow_capacity_startup),
		cmocka_unit_test(test_service_errors),
		cmocka_unit_test(test_other_errors),
		cmocka_unit_test(test_external_hosts),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
