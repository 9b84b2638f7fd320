/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy (L7): HTTP listeners' options and $.clusters compile into the
 * documented values (defaults and explicit ones), and every refusal names its
 * JSON path. Documents are written with single quotes (json_of()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/config/config.h"
#include "dataplane/proxy/proxy_internal.h"
#include "config_fixture.h"
#include "test_eal.h"

#define HEAD                                                                                  \
	"{'version': 1, 'interfaces': [{'name': 'client', 'port': 'p0', 'ipv4': "             \
	"['10.10.1.1/24']}, {'name': 'server', 'port': 'p1', 'ipv4': ['10.10.2.1/24']}], "    \
	"'services': [{'name': 'web', 'namespace': 'shop', 'vip': '10.96.0.10', 'ports': "    \
	"[{'port': 80}], 'endpoints': [{'address': '10.10.2.10'}]}, {'name': 'api', "         \
	"'namespace': 'shop', 'vip': '10.96.0.11', 'ports': [{'port': 80}], 'endpoints': "    \
	"[{'address': '10.10.2.11'}]}], 'route_configs': [{'name': 'main', 'virtual_hosts': " \
	"[{'name': 'all', 'domains': ['*'], 'routes': [{'match': {'prefix': '/'}, "           \
	"'cluster': 'web'}]}]}]"
#define HLSN_OPEN                                                                 \
	"{'name': 'edge', 'type': 'http', 'address': '10.10.1.1', 'port': 8000, " \
	"'route_config': 'main'"
#define LSNS(l)	    HEAD ", 'listeners': [" l "]}"
#define CLUSTERS(c) HEAD ", 'clusters': [" c "]}"

static const struct proxy_l7_cfg *l7_of(const struct cfg_snapshot *s)
{
	return s->proxy_l7;
}

static void test_http_listener(void **state)
{
	struct cfg_snapshot *s = compile_ok(LSNS(HLSN_OPEN "}"));
	const struct proxy_http_opts *h;

	(void)state;
	assert_int_equal(s->n_listeners, 1);
	assert_int_equal(s->listeners[0].type, CFG_LISTENER_HTTP);
	h = &l7_of(s)->http[0];
	assert_string_equal(h->route_config, "main");
	assert_int_equal(h->max_request_headers, 60 * 1024);
	assert_int_equal(h->request_timeout_ms, 0);
	assert_false(h->allow_connect);
	assert_int_equal(h->xff, PROXY_XFF_APPEND);
	assert_true(h->request_id);
	assert_string_equal(h->server_name, "meshdp");
	cfg_snapshot_free(s);

	s = compile_ok(LSNS(HLSN_OPEN ", 'http': {'max_request_headers_kb': 8, "
				      "'request_timeout_ms': 2500, 'allow_connect': true, 'xff': "
				      "'overwrite', 'request_id': false, 'server_name': ''}}"));
	h = &l7_of(s)->http[0];
	assert_int_equal(h->max_request_headers, 8 * 1024);
	assert_int_equal(h->request_timeout_ms, 2500);
	assert_true(h->allow_connect);
	assert_int_equal(h->xff, PROXY_XFF_OVERWRITE);
	assert_false(h->request_id);
	assert_string_equal(h->server_name, "");
	cfg_snapshot_free(s);
}

static void test_http_listener_errors(void **state)
{
	(void)state;
	expect_error(LSNS("{'name': 'edge', 'type': 'http', 'address': '10.10.1.1', 'port': 8000}"),
		     "$.listeners[0].route_config", "required field missing");
	expect_error(LSNS("{'name': 'edge', 'type': 'http', 'address': '10.10.1.1', 'port': 8000, "
			  "'route_config': 'other'}"),
		     "$.listeners[0].route_config",
		     "the name of one of $.route_configs, got \"other\"");
	expect_error(LSNS(HLSN_OPEN ", 'cluster': 'web'}"), "$.listeners[0].cluster",
		     "expected no cluster on an http listener");
	expect_error(LSNS(HLSN_OPEN ", 'http': {'xff': 'prepend'}}"), "$.listeners[0].http.xff",
		     "got \"prepend\"");
	expect_error(LSNS(HLSN_OPEN ", 'http': {'max_request_headers_kb': 0}}"),
		     "$.listeners[0].http.max_request_headers_kb", "1..96");
	expect_error(LSNS(HLSN_OPEN ", 'http': {'gzip': true}}"), "$.listeners[0].http.gzip",
		     "unknown field");
	/* A tcp_proxy listener still needs its cluster. */
	expect_error(LSNS("{'name': 'e', 'type': 'tcp_proxy', 'address': '10.10.1.1', 'port': 1}"),
		     "$.listeners[0].cluster", "required field missing");
}

static void test_clusters(void **state)
{
	struct cfg_snapshot *s = compile_ok(HEAD "}");
	const struct proxy_cluster *c;

	(void)state;
	/* No entry: both services get the defaults. */
	assert_int_equal(l7_of(s)->n_clusters, 0);
	for (uint32_t i = 0; i < 2; i++) {
		c = &l7_of(s)->by_service[i];
		assert_int_equal(c->service, i);
		assert_int_equal(c->max_requests, 0);
		assert_int_equal(c->max_pending_requests, 0);
		assert_int_equal(c->max_retries, 3);
		assert_int_equal(c->outlier, PROXY_OUTLIER_GATEWAY);
		assert_int_equal(c->max_idle_per_endpoint, 64);
		assert_int_equal(c->max_requests_per_connection, 0);
		assert_int_equal(c->idle_timeout_s, 60);
	}
	cfg_snapshot_free(s);

	s = compile_ok(CLUSTERS("{'service': 'shop/api', 'circuit_breakers': {'max_requests': 10, "
				"'max_pending_requests': 5, 'max_retries': 0}, "
				"'outlier_detection': {'failures': '5xx'}, 'pool': "
				"{'max_idle_per_endpoint': 0, 'max_requests_per_connection': 100, "
				"'idle_timeout_s': 5}}"));
	assert_int_equal(l7_of(s)->n_clusters, 1);
	assert_int_equal(l7_of(s)->by_service[0].max_retries, 3); /* web: defaults */
	c = &l7_of(s)->by_service[1];
	assert_int_equal(c->service, 1);
	assert_int_equal(c->max_requests, 10);
	assert_int_equal(c->max_pending_requests, 5);
	assert_int_equal(c->max_retries, 0);
	assert_int_equal(c->outlier, PROXY_OUTLIER_5XX);
	assert_int_equal(c->max_idle_per_endpoint, 0);
	assert_int_equal(c->max_requests_per_connection, 100);
	assert_int_equal(c->idle_timeout_s, 5);
	cfg_snapshot_free(s);
}

static void test_cluster_errors(void **state)
{
	(void)state;
	expect_error(CLUSTERS("{}"), "$.clusters[0].service", "required field missing");
	expect_error(CLUSTERS("{'service': 'cart'}"), "$.clusters[0].service", "got \"cart\"");
	expect_error(CLUSTERS("{'service': 'web'}, {'service': 'shop/web'}"),
		     "$.clusters[1].service", "no other cluster names");
	expect_error(CLUSTERS("{'service': 'web', 'lb': 'x'}"), "$.clusters[0].lb",
		     "unknown field");
	expect_error(CLUSTERS("{'service': 'web', 'outlier_detection': {'failures': 'any'}}"),
		     "$.clusters[0].outlier_detection.failures", "got \"any\"");
	expect_error(CLUSTERS("{'service': 'web', 'pool': {'idle_timeout_s': 0}}"),
		     "$.clusters[0].pool.idle_timeout_s", "1..86400");
	expect_error(CLUSTERS("{'service': 'web', 'circuit_breakers': {'max_requests': -1}}"),
		     "$.clusters[0].circuit_breakers.max_requests", "got -1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_listener),
		cmocka_unit_test(test_http_listener_errors),
		cmocka_unit_test(test_clusters),
		cmocka_unit_test(test_cluster_errors),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
