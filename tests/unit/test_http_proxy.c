/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy (L7): HTTP listeners' options and $.clusters compile into the
 * documented values (defaults and explicit ones), and every refusal names its
 * JSON path; clusters' lb_policy and hash_policy, the Cookie header parsing
 * and the request hashes the hash_policy gives. Documents are written with
 * single quotes (json_of()).
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
	assert_int_equal(h->outbound, PROXY_OUTBOUND_ALLOW_ANY);
	cfg_snapshot_free(s);

	s = compile_ok(LSNS(HLSN_OPEN ", 'http': {'outbound_policy': 'registry_only'}}"));
	assert_int_equal(l7_of(s)->http[0].outbound, PROXY_OUTBOUND_REGISTRY_ONLY);
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

static void test_http2_options(void **state)
{
	struct cfg_snapshot *s = compile_ok(LSNS(HLSN_OPEN "}"));
	const struct proxy_h2_opts *o = &l7_of(s)->http[0].h2;

	(void)state;
	assert_false(o->enabled);
	assert_int_equal(o->lim.max_concurrent_streams, 100);
	assert_int_equal(o->lim.max_header_list_size, 65536);
	assert_int_equal(o->lim.initial_window_size, 65535);
	assert_int_equal(o->lim.connection_window, 1048576);
	assert_int_equal(o->lim.max_resets_per_s, 100);
	assert_int_equal(o->lim.max_control_per_s, 100);
	assert_int_equal(o->lim.max_empty_data_per_s, 100);
	assert_int_equal(o->lim.window_stall_ms, 10000);
	cfg_snapshot_free(s);

	s = compile_ok(LSNS(HLSN_OPEN
			    ", 'http': {'http2': {'enabled': true, "
			    "'max_concurrent_streams': 500, 'max_header_list_size': 8192, "
			    "'initial_window_size': 1048576, 'connection_window': 8388608, "
			    "'max_resets_per_s': 10, 'max_control_frames_per_s': 20, "
			    "'max_empty_data_per_s': 30, 'window_stall_timeout_ms': 2500}}}"));
	o = &l7_of(s)->http[0].h2;
	assert_true(o->enabled);
	assert_int_equal(o->lim.max_concurrent_streams, 500);
	assert_int_equal(o->lim.max_header_list_size, 8192);
	assert_int_equal(o->lim.initial_window_size, 1048576);
	assert_int_equal(o->lim.connection_window, 8388608);
	assert_int_equal(o->lim.max_resets_per_s, 10);
	assert_int_equal(o->lim.max_control_per_s, 20);
	assert_int_equal(o->lim.max_empty_data_per_s, 30);
	assert_int_equal(o->lim.window_stall_ms, 2500);
	cfg_snapshot_free(s);
	expect_error(LSNS(HLSN_OPEN ", 'http': {'http2': {'window_stall_timeout_ms': 50}}}"),
		     "$.listeners[0].http.http2.window_stall_timeout_ms", "100..3600000");

	expect_error(LSNS(HLSN_OPEN ", 'http': {'http2': {'max_concurrent_streams': 0}}}"),
		     "$.listeners[0].http.http2.max_concurrent_streams", "1..10000");
	expect_error(LSNS(HLSN_OPEN ", 'http': {'http2': {'max_header_list_size': 100}}}"),
		     "$.listeners[0].http.http2.max_header_list_size", "1024..1048576");
	expect_error(LSNS(HLSN_OPEN ", 'http': {'http2': {'initial_window_size': 1000}}}"),
		     "$.listeners[0].http.http2.initial_window_size", "65535..16777216");
	expect_error(LSNS(HLSN_OPEN ", 'http': {'http2': {'enabled': 'yes'}}}"),
		     "$.listeners[0].http.http2.enabled", "got \"yes\"");
	expect_error(LSNS(HLSN_OPEN ", 'http': {'http2': {'push': true}}}"),
		     "$.listeners[0].http.http2.push", "unknown field");
	expect_error(LSNS(HLSN_OPEN ", 'http': {'http2': true}}"), "$.listeners[0].http.http2",
		     "object");
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
	expect_error(LSNS(HLSN_OPEN ", 'http': {'outbound_policy': 'REGISTRY_ONLY'}}"),
		     "$.listeners[0].http.outbound_policy", "\"allow_any\" or \"registry_only\"");
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

static void test_cluster_balancer(void **state)
{
	struct cfg_snapshot *s = compile_ok(HEAD "}");
	const struct proxy_cluster *c;

	(void)state;
	/* no entry: the service's lb, no hash policy */
	assert_int_equal(l7_of(s)->by_service[0].lb_policy, L4_PICK_SERVICE);
	assert_int_equal(l7_of(s)->by_service[0].n_hash, 0);
	cfg_snapshot_free(s);

	s = compile_ok(
		CLUSTERS("{'service': 'web', 'lb_policy': 'maglev', 'hash_policy': "
			 "[{'header': 'x-user'}, {'cookie': 'session'}, {'source_ip': true}]}, "
			 "{'service': 'api', 'lb_policy': 'least_request'}"));
	c = &l7_of(s)->by_service[0];
	assert_int_equal(c->lb_policy, L4_PICK_MAGLEV);
	assert_int_equal(c->n_hash, 3);
	assert_int_equal(c->hash[0].kind, PROXY_HASH_HEADER);
	assert_string_equal(c->hash[0].name, "x-user");
	assert_int_equal(c->hash[0].len, 6);
	assert_int_equal(c->hash[1].kind, PROXY_HASH_COOKIE);
	assert_string_equal(c->hash[1].name, "session");
	assert_int_equal(c->hash[2].kind, PROXY_HASH_SOURCE_IP);
	assert_int_equal(l7_of(s)->by_service[1].lb_policy, L4_PICK_LEAST_REQUEST);
	cfg_snapshot_free(s);

	/* the service's Maglev (its default lb) with a hash policy and no lb_policy */
	s = compile_ok(CLUSTERS("{'service': 'web', 'hash_policy': [{'cookie': 'sid'}]}, "
				"{'service': 'api', 'lb_policy': 'random'}"));
	assert_int_equal(l7_of(s)->by_service[0].lb_policy, L4_PICK_SERVICE);
	assert_int_equal(l7_of(s)->by_service[0].n_hash, 1);
	assert_int_equal(l7_of(s)->by_service[1].lb_policy, L4_PICK_RANDOM);
	cfg_snapshot_free(s);
	s = compile_ok(CLUSTERS("{'service': 'web', 'lb_policy': 'round_robin'}"));
	assert_int_equal(l7_of(s)->by_service[0].lb_policy, L4_PICK_ROUND_ROBIN);
	cfg_snapshot_free(s);
}

/* A round-robin service: like HEAD with "lb": "round_robin" on shop/web. */
#define RR_HEAD                                                                         \
	"{'version': 1, 'interfaces': [{'name': 'server', 'port': 'p1', 'ipv4': "       \
	"['10.10.2.1/24']}], 'services': [{'name': 'web', 'namespace': 'shop', 'vip': " \
	"'10.96.0.10', 'lb': 'round_robin', 'ports': [{'port': 80}], 'endpoints': "     \
	"[{'address': '10.10.2.10'}]}], 'clusters': ["

static void test_cluster_balancer_errors(void **state)
{
	(void)state;
	expect_error(CLUSTERS("{'service': 'web', 'lb_policy': 'ring_hash'}"),
		     "$.clusters[0].lb_policy", "\"maglev\" is the consistent hash");
	expect_error(CLUSTERS("{'service': 'web', 'hash_policy': []}"), "$.clusters[0].hash_policy",
		     "1..4");
	expect_error(
		CLUSTERS("{'service': 'web', 'hash_policy': [{'header': 'a'}, {'header': 'b'}, "
			 "{'header': 'c'}, {'header': 'd'}, {'header': 'e'}]}"),
		"$.clusters[0].hash_policy", "1..4");
	expect_error(
		CLUSTERS("{'service': 'web', 'hash_policy': [{'header': 'a', 'cookie': 'b'}]}"),
		"$.clusters[0].hash_policy[0]", "exactly one of");
	expect_error(CLUSTERS("{'service': 'web', 'hash_policy': [{'query': 'a'}]}"),
		     "$.clusters[0].hash_policy[0].query", "unknown field");
	expect_error(CLUSTERS("{'service': 'web', 'hash_policy': [{'header': 'x user'}]}"),
		     "$.clusters[0].hash_policy[0].header", "a header name");
	expect_error(CLUSTERS("{'service': 'web', 'hash_policy': [{'cookie': ''}]}"),
		     "$.clusters[0].hash_policy[0].cookie", "a cookie name");
	expect_error(CLUSTERS("{'service': 'web', 'hash_policy': [{'source_ip': false}]}"),
		     "$.clusters[0].hash_policy[0].source_ip", "expected true");
	expect_error(CLUSTERS("{'service': 'web', 'lb_policy': 'least_request', "
			      "'hash_policy': [{'header': 'x-user'}]}"),
		     "$.clusters[0].hash_policy", "needs a consistent hash");
	expect_error(RR_HEAD "{'service': 'web', 'lb_policy': 'maglev'}]}",
		     "$.clusters[0].lb_policy", "needs \"lb\": \"maglev\"");
	expect_error(RR_HEAD "{'service': 'web', 'hash_policy': [{'source_ip': true}]}]}",
		     "$.clusters[0].hash_policy", "needs a consistent hash");
}

static void test_cookie_find(void **state)
{
	static const char h[] = "a=1; session=abc;  x=; sessionx=no;bare; session2 = q ";
	struct http_view v;

	(void)state;
	assert_true(proxy_cookie_find(h, sizeof(h) - 1, "session", 7, &v));
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.p, "abc", 3);
	assert_true(proxy_cookie_find(h, sizeof(h) - 1, "a", 1, &v));
	assert_int_equal(v.len, 1);
	assert_memory_equal(v.p, "1", 1);
	assert_true(proxy_cookie_find(h, sizeof(h) - 1, "x", 1, &v));
	assert_int_equal(v.len, 0);
	assert_true(proxy_cookie_find(h, sizeof(h) - 1, "session2", 8, &v));
	assert_int_equal(v.len, 1);
	assert_memory_equal(v.p, "q", 1);
	assert_false(proxy_cookie_find(h, sizeof(h) - 1, "bare", 4, &v));
	assert_false(proxy_cookie_find(h, sizeof(h) - 1, "Session", 7, &v)); /* names are exact */
	assert_false(proxy_cookie_find(h, sizeof(h) - 1, "sess", 4, &v));
	assert_false(proxy_cookie_find("", 0, "a", 1, &v));
	/* the length bounds the search: "a=1" cut before its value still has "a" */
	assert_true(proxy_cookie_find(h, 2, "a", 1, &v));
	assert_int_equal(v.len, 0);
}

static void hdr(struct http_msg *m, const char *name, const char *value)
{
	m->headers[m->nheaders++] = (struct http_header){{name, (uint32_t)strlen(name)},
							 {value, (uint32_t)strlen(value)}};
}

static void test_request_hash(void **state)
{
	struct cfg_snapshot *s = compile_ok(CLUSTERS(
		"{'service': 'web', 'hash_policy': [{'header': 'x-user'}, {'cookie': 'session'}]}, "
		"{'service': 'api', 'hash_policy': [{'cookie': 'session'}, {'source_ip': true}]}"));
	const struct proxy_cluster *web = &l7_of(s)->by_service[0];
	const struct proxy_cluster *api = &l7_of(s)->by_service[1];
	struct http_msg a = {0}, b = {0}, c = {0}, none = {0};
	uint32_t ha, hb, hc, h2;

	(void)state;
	hdr(&a, "Host", "web");
	hdr(&a, "X-User", "alice"); /* names in any case */
	hdr(&b, "x-user", "bob");
	hdr(&c, "cookie", "theme=dark");
	hdr(&c, "Cookie", "session=alice; lang=en"); /* a second Cookie header */
	assert_true(proxy_request_hash(web, &a, 0x0a0a0102, &ha));
	assert_true(proxy_request_hash(web, &b, 0x0a0a0102, &hb));
	assert_true(proxy_request_hash(web, &c, 0x0a0a0102, &hc));
	assert_int_not_equal(ha, hb);
	/* the hash is the value's: the same from another client, and the cookie
	 * "alice" hashes as the header "alice" */
	assert_true(proxy_request_hash(web, &a, 0x0a0a0199, &h2));
	assert_int_equal(ha, h2);
	assert_int_equal(ha, hc);
	/* the first entry present wins: x-user before the cookie */
	hdr(&b, "cookie", "session=alice");
	assert_true(proxy_request_hash(web, &b, 0, &h2));
	assert_int_equal(h2, hb);
	/* nothing present: no hash (the 5-tuple then) */
	assert_false(proxy_request_hash(web, &none, 0x0a0a0102, &h2));
	/* source_ip as the fallback: by client address */
	assert_true(proxy_request_hash(api, &none, 0x0a0a0102, &h2));
	assert_true(proxy_request_hash(api, &none, 0x0a0a0102, &hb));
	assert_int_equal(h2, hb);
	assert_true(proxy_request_hash(api, &none, 0x0a0a0103, &hb));
	assert_int_not_equal(h2, hb);
	assert_true(proxy_request_hash(api, &c, 0x0a0a0103, &hb));
	assert_int_equal(hb, hc);
	cfg_snapshot_free(s);
}

/* $.clusters[].protocol and .http2; the ALPN that makes HTTP/2 of auto */
static void test_cluster_protocol(void **state)
{
	struct cfg_snapshot *s = compile_ok(HEAD "}");
	const struct proxy_cluster *c;

	(void)state;
	assert_int_equal(l7_of(s)->by_service[0].protocol, PROXY_UP_HTTP1);
	assert_false(proxy_cluster_h2(&l7_of(s)->by_service[0]));
	cfg_snapshot_free(s);
	s = compile_ok(
		CLUSTERS("{'service': 'web', 'protocol': 'http2', 'http2': "
			 "{'max_concurrent_streams': 50, 'initial_window_size': 1048576, "
			 "'connection_window': 4194304}}, {'service': 'api', 'protocol': 'auto'}"));
	c = &l7_of(s)->by_service[0];
	assert_int_equal(c->protocol, PROXY_UP_HTTP2);
	assert_true(proxy_cluster_h2(c));
	assert_int_equal(c->h2.max_concurrent_streams, 50);
	assert_int_equal(c->h2.initial_window_size, 1048576);
	assert_int_equal(c->h2.connection_window, 4194304);
	c = &l7_of(s)->by_service[1];
	assert_int_equal(c->protocol, PROXY_UP_AUTO);
	assert_false(proxy_cluster_h2(c)); /* auto without tls: HTTP/1.1 */
	cfg_snapshot_free(s);
	expect_error(CLUSTERS("{'service': 'web', 'protocol': 'h3'}"), "$.clusters[0].protocol",
		     "got \"h3\"");
	expect_error(CLUSTERS("{'service': 'web', 'http2': {'max_concurrent_streams': 5}}"),
		     "$.clusters[0].http2", "needs \"protocol\": \"http2\"");
	expect_error(CLUSTERS("{'service': 'web', 'protocol': 'http2', 'http2': {'window': 5}}"),
		     "$.clusters[0].http2.window", "unknown field");
}

/* A head parsed from @p text into @p p (its mbuf in *@p m). */
static const struct http_msg *grpc_head(struct http_parser *p, char *scratch, size_t cap,
					struct rte_mempool *pool, struct rte_mbuf **m,
					const char *text)
{
	*m = rte_pktmbuf_alloc(pool);
	assert_non_null(*m);
	memcpy(rte_pktmbuf_append(*m, (uint16_t)strlen(text)), text, strlen(text));
	http_parser_init(p, HTTP_REQUEST, NULL, scratch, (uint32_t)cap, NULL);
	assert_int_equal(http_parse_head(p, *m, 0), 1);
	return &p->msg;
}

static struct rte_mempool *test_pool(void)
{
	static struct rte_mempool *mp;

	if (mp == NULL)
		mp = rte_pktmbuf_pool_create("t_grpc", 1023, 0, 0, 2048, SOCKET_ID_ANY);
	assert_non_null(mp);
	return mp;
}

static void test_grpc_helpers(void **state)
{
	static struct http_parser p;
	char scratch[1024], buf[256];
	struct http_header out[HP_LOCAL_HDRS], in = {{"access-control-allow-origin", 27}, {"*", 1}};
	struct rte_mbuf *m;
	const struct http_msg *msg;
	uint32_t n;

	(void)state;
	msg = grpc_head(
		&p, scratch, sizeof(scratch), test_pool(), &m,
		"POST /a.B/C HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc+proto\r\n"
		"grpc-timeout: 250m\r\ncontent-length: 0\r\n\r\n");
	assert_int_equal(proxy_grpc_request(msg), PROXY_GRPC);
	assert_int_equal(proxy_grpc_timeout_ms(msg), 250);
	assert_int_equal(proxy_grpc_status(msg), -1);
	rte_pktmbuf_free(m);
	msg = grpc_head(&p, scratch, sizeof(scratch), test_pool(), &m,
			"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc-web-text\r\n"
			"grpc-timeout: 3S\r\ngrpc-status: 14\r\n\r\n");
	assert_int_equal(proxy_grpc_request(msg), PROXY_GRPC_WEB);
	assert_int_equal(proxy_grpc_timeout_ms(msg), 3000);
	assert_int_equal(proxy_grpc_status(msg), 14);
	rte_pktmbuf_free(m);
	/* not gRPC; a malformed or 9-digit timeout is none; sub-ms rounds up */
	msg = grpc_head(&p, scratch, sizeof(scratch), test_pool(), &m,
			"GET / HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpcfoo\r\n"
			"grpc-timeout: 123456789m\r\n\r\n");
	assert_int_equal(proxy_grpc_request(msg), PROXY_GRPC_NONE);
	assert_int_equal(proxy_grpc_timeout_ms(msg), 0);
	rte_pktmbuf_free(m);
	msg = grpc_head(&p, scratch, sizeof(scratch), test_pool(), &m,
			"GET / HTTP/1.1\r\nhost: x\r\ngrpc-timeout: 5u\r\n\r\n");
	assert_int_equal(proxy_grpc_timeout_ms(msg), 1);
	rte_pktmbuf_free(m);
	msg = grpc_head(&p, scratch, sizeof(scratch), test_pool(), &m,
			"GET / HTTP/1.1\r\nhost: x\r\ngrpc-timeout: 5x\r\n\r\n");
	assert_int_equal(proxy_grpc_timeout_ms(msg), 0);
	rte_pktmbuf_free(m);
	/* a local reply: the fields it had, the gRPC type, status and message (encoded) */
	n = proxy_grpc_local(PROXY_GRPC, 503, "no healthy upstream 100%\n", 25, &in, 1, out, buf,
			     sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(out[0].name.p, "access-control-allow-origin", 27);
	assert_memory_equal(out[1].value.p, "application/grpc", out[1].value.len);
	assert_int_equal(out[1].value.len, 16);
	assert_memory_equal(out[2].name.p, "grpc-status", 11);
	assert_memory_equal(out[2].value.p, "14", 2);
	assert_int_equal(out[3].value.len, 26);
	assert_memory_equal(out[3].value.p, "no healthy upstream 100%25", 26);
	n = proxy_grpc_local(PROXY_GRPC_WEB, 504, "upstream request timeout", 24, NULL, 0, out, buf,
			     sizeof(buf));
	assert_int_equal(n, 3);
	assert_memory_equal(out[0].value.p, "application/grpc-web+proto", 26);
	assert_memory_equal(out[1].value.p, "4", 1);
	n = proxy_grpc_local(PROXY_GRPC, 403, "RBAC: access denied", 19, NULL, 0, out, buf,
			     sizeof(buf));
	assert_memory_equal(out[1].value.p, "7", 1);
	n = proxy_grpc_local(PROXY_GRPC, 404, "no route", 8, NULL, 0, out, buf, sizeof(buf));
	assert_memory_equal(out[1].value.p, "12", 2);
	assert_int_equal(n, 3);
}

/* The bytes of chain @p m, NUL-terminated, into @p buf. */
static const char *chain_str(const struct rte_mbuf *m, char *buf, size_t cap)
{
	size_t k = 0;

	for (; m != NULL; m = m->next) {
		assert_true(k + m->data_len < cap);
		memcpy(buf + k, rte_pktmbuf_mtod(m, const char *), m->data_len);
		k += m->data_len;
	}
	buf[k] = '\0';
	return buf;
}

static void test_grpc_web_codecs(void **state)
{
	struct grpc_web_b64 e = {0}, d = {0};
	struct rte_mbuf *out = NULL, *lines = NULL, *frame = NULL;
	struct http_view suffix;
	char buf[512];

	(void)state;
	assert_int_equal(
		grpc_web_kind((struct http_view){"application/grpc-web+proto", 26}, &suffix),
		GRPC_WEB_BINARY);
	assert_int_equal(suffix.len, 6);
	assert_int_equal(
		grpc_web_kind((struct http_view){"application/grpc-web-text", 25}, &suffix),
		GRPC_WEB_TEXT);
	assert_int_equal(suffix.len, 0);
	assert_int_equal(grpc_web_kind((struct http_view){"application/grpc", 16}, &suffix),
			 GRPC_WEB_NONE);
	assert_int_equal(grpc_web_kind((struct http_view){"application/grpc-webx", 21}, &suffix),
			 GRPC_WEB_NONE);
	/* encoding in pieces cut anywhere gives the one-shot encoding */
	assert_int_equal(
		grpc_web_encode(&e, (const uint8_t *)"hello w", 7, false, test_pool(), &out), 0);
	assert_int_equal(grpc_web_encode(&e, (const uint8_t *)"orld", 4, true, test_pool(), &out),
			 0);
	assert_string_equal(chain_str(out, buf, sizeof(buf)), "aGVsbG8gd29ybGQ=");
	rte_pktmbuf_free(out);
	out = NULL;
	/* decoding in pieces, padded segments one after another */
	assert_int_equal(grpc_web_decode(&d, (const uint8_t *)"aGVsbG8gd2", 10, test_pool(), &out),
			 0);
	assert_int_equal(grpc_web_decode(&d, (const uint8_t *)"9ybGQ=YQ==", 10, test_pool(), &out),
			 0);
	assert_string_equal(chain_str(out, buf, sizeof(buf)), "hello worlda");
	rte_pktmbuf_free(out);
	out = NULL;
	assert_int_equal(grpc_web_decode(&d, (const uint8_t *)"a$==", 4, test_pool(), &out),
			 -EINVAL);
	rte_pktmbuf_free(out);
	/* the trailer frame: 0x80, the length, the lines */
	assert_non_null(lines = rte_pktmbuf_alloc(test_pool()));
	memcpy(rte_pktmbuf_append(lines, 16), "grpc-status: 0\r\n", 16);
	assert_int_equal(grpc_web_trailer_frame(lines, test_pool(), &frame), 0);
	chain_str(frame, buf, sizeof(buf));
	assert_int_equal(frame->pkt_len, 21);
	assert_memory_equal(buf, "\x80\0\0\0\x10grpc-status: 0\r\n", 21);
	rte_pktmbuf_free(frame);
	rte_pktmbuf_free(lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_listener),
		cmocka_unit_test(test_http_listener_errors),
		cmocka_unit_test(test_http2_options),
		cmocka_unit_test(test_clusters),
		cmocka_unit_test(test_cluster_errors),
		cmocka_unit_test(test_cluster_balancer),
		cmocka_unit_test(test_cluster_balancer_errors),
		cmocka_unit_test(test_cookie_find),
		cmocka_unit_test(test_request_hash),
		cmocka_unit_test(test_cluster_protocol),
		cmocka_unit_test(test_grpc_helpers),
		cmocka_unit_test(test_grpc_web_codecs),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
