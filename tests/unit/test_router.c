/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * router: $.route_configs compiles into the documented tables, router_select()
 * picks the virtual host and route the schema promises (every match kind,
 * domain precedence, case rules, conditions, regexes), the helpers apply a
 * route (weighted split, rewrites, redirect Location, retry decisions), every
 * refusal names its JSON path, and a route swap leaves the old snapshot's
 * routes intact until it is freed.
 * Documents are written with single quotes and turned into JSON by json_of().
 */
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
#include "dataplane/control/control.h"
#include "dataplane/l4/l4.h"
#include "dataplane/router/router.h"
#include "dataplane/router/router_internal.h"
#include "config_fixture.h"
#include "test_eal.h"

#define HEAD                                                                      \
	"{'version': 1, 'interfaces': [{'name': 'client', 'port': 'p0', 'ipv4': " \
	"['10.10.1.1/24']}, {'name': 'server', 'port': 'p1', 'ipv4': ['10.10.2.1/24']}]"

/* web: TCP 80 (-> 8080) and 443; web2: TCP 80; dns: UDP only. */
#define SERVICES                                                                               \
	", 'services': ["                                                                      \
	"{'name': 'web', 'namespace': 'shop', 'vip': '10.96.0.10', 'ports': [{'port': 80, "    \
	"'target_port': 8080}, {'port': 443}], 'endpoints': [{'address': '10.10.2.10'}]}, "    \
	"{'name': 'web2', 'namespace': 'shop', 'vip': '10.96.0.11', 'ports': [{'port': 80}], " \
	"'endpoints': [{'address': '10.10.2.11'}]}, "                                          \
	"{'name': 'dns', 'namespace': 'kube', 'vip': '10.96.0.53', 'ports': [{'port': 53, "    \
	"'protocol': 'udp'}], 'endpoints': [{'address': '10.10.2.53'}]}]"

#define RC_OPEN	 HEAD SERVICES ", 'route_configs': ["
#define RC_CLOSE "]}"

static struct router_worker *rw;
static struct stats_block rw_stats;

/* A route config around @p vhosts (the inside of its virtual_hosts array). */
#define RC(vhosts) RC_OPEN "{'name': 'shop', 'virtual_hosts': [" vhosts "]}" RC_CLOSE
/* One virtual host for every domain, with @p routes. */
#define VH(routes) "{'name': 'all', 'domains': ['*'], 'routes': [" routes "]}"
/* A route with match @p m and cluster web. */
#define RT(m)	  "{'match': " m ", 'cluster': 'web'}"
#define RTN(n, m) "{'name': '" n "', 'match': " m ", 'cluster': 'web'}"

static struct router_request req(const char *method, const char *host, const char *path)
{
	const char *q = strchr(path, '?');
	struct router_request rq = {
		.method = {method, (uint32_t)strlen(method)},
		.host = {host, (uint32_t)strlen(host)},
		.path = {path, (uint32_t)(q != NULL ? (size_t)(q - path) : strlen(path))},
	};

	if (q != NULL)
		rq.query = (struct router_str){q + 1, (uint32_t)strlen(q + 1)};
	return rq;
}

static const struct router_route *sel(const struct cfg_snapshot *s, const char *host,
				      const char *path)
{
	struct router_request rq = req("GET", host, path);

	return router_select(s, 0, &rq, rw);
}

/* The name of the route chosen for GET @p path on host "h", "-" for none. */
static const char *pick(const struct cfg_snapshot *s, const char *path)
{
	const struct router_route *r = sel(s, "h", path);

	return r == NULL ? "-" : r->name;
}

/* The name of the virtual host chosen for @p host, "-" for none. */
static const char *vh_of(const struct cfg_snapshot *s, const char *host)
{
	const struct router_route *r = sel(s, host, "/");

	return r == NULL ? "-" : r->vhost->name;
}

/* With headers: the route name, "-" for none. */
static const char *pick_h(const struct cfg_snapshot *s, const char *method, const char *path,
			  const struct router_str (*h)[2], uint32_t n)
{
	struct router_request rq = req(method, "h", path);
	const struct router_route *r;

	rq.headers = h;
	rq.n_headers = n;
	r = router_select(s, 0, &rq, rw);
	return r == NULL ? "-" : r->name;
}

#define S(x)                               \
	{                                  \
		x, (uint32_t)sizeof(x) - 1 \
	}

/* The brief's document: every member of the schema. */
static const char full_doc[] = RC_OPEN
	"{'name': 'shop', 'retry_budget': {'budget_percent': 25, 'min_retry_concurrency': 5}, "
	"'virtual_hosts': [{'name': 'web', "
	"'domains': ['shop.example', '*.shop.example', 'shop.*'], "
	"'request_headers_add': [{'name': 'x-vh', 'value': 'web'}], "
	"'response_headers_remove': ['Server'], "
	"'routes': [{'name': 'api', 'match': {'prefix': '/api/', 'methods': ['GET', 'POST'], "
	"'headers': [{'name': 'X-Canary', 'exact': '1', 'invert': false}], "
	"'query': [{'name': 'debug', 'present': true}], 'case_sensitive': false}, "
	"'weighted_clusters': [{'cluster': 'web', 'weight': 90}, {'cluster': 'shop/web2', "
	"'weight': 10}], 'port': 80, 'prefix_rewrite': '/', 'host_rewrite': 'backend.internal', "
	"'request_headers_add': [{'name': 'x-r', 'value': 'a b', 'append': false}], "
	"'request_headers_remove': ['X-Drop'], "
	"'response_headers_add': [{'name': 'x-s', 'value': ''}], "
	"'response_headers_remove': ['x-internal'], 'timeout_ms': 2000, 'idle_timeout_ms': 500, "
	"'retry_policy': {'retry_on': ['5xx', 'gateway-error', 'reset', 'connect-failure', "
	"'retriable-status-codes'], 'num_retries': 2, 'per_try_timeout_ms': 1000, "
	"'retriable_status_codes': [409, 503], 'backoff': {'base_ms': 25, 'max_ms': 250}, "
	"'retry_host_predicate': 'previous_hosts'}, "
	"'fault': {'delay': {'fixed_ms': 100, 'percent': 10}, 'abort': {'status': 503, "
	"'percent': 0.5}}}, "
	"{'name': 'old', 'match': {'path': '/old'}, 'redirect': {'scheme': 'https', 'host': "
	"'New.Example', 'path': '/new', 'code': 308}}, "
	"{'name': 'ok', 'match': {'regex': '^/v[0-9]+/health$'}, 'direct_response': {'status': "
	"200, 'body': 'ok\\n'}}, "
	"{'name': 'tls', 'match': {'prefix': '/'}, 'cluster': 'shop/web', 'port': 443}]}, "
	"{'name': 'other', 'domains': ['*'], 'routes': []}]}" RC_CLOSE;

static void test_compile_full(void **state)
{
	struct cfg_snapshot *s = compile_ok(full_doc);
	const struct router_config *cfg;
	const struct router_vhost *vh;
	const struct router_route *r;

	(void)state;
	assert_int_equal(router_config_count(s), 1);
	assert_int_equal(router_route_config_find(s, "shop"), 0);
	assert_int_equal(router_route_config_find(s, "nope"), -1);
	cfg = router_config_get(s, 0);
	assert_null(router_config_get(s, 1));
	assert_string_equal(cfg->name, "shop");
	assert_true(cfg->retry_budget.enabled);
	assert_int_equal(cfg->retry_budget.budget_percent, 25);
	assert_int_equal(cfg->retry_budget.min_retry_concurrency, 5);
	assert_int_equal(cfg->n_vhosts, 2);
	vh = &cfg->vhosts[0];
	assert_string_equal(vh->name, "web");
	assert_int_equal(vh->n_domains, 3);
	assert_string_equal(vh->domains[1].p, "*.shop.example");
	assert_int_equal(vh->request_headers.n_add, 1);
	assert_string_equal(vh->request_headers.add[0].name.p, "x-vh");
	assert_true(vh->request_headers.add[0].append);
	assert_int_equal(vh->response_headers.n_remove, 1);
	assert_string_equal(vh->response_headers.remove[0].p, "server"); /* lower-cased */
	assert_int_equal(vh->n_routes, 4);
	assert_ptr_equal(vh->config, cfg);

	r = &vh->routes[0];
	assert_ptr_equal(r->vhost, vh);
	assert_int_equal(r->index, 0);
	assert_string_equal(r->name, "api");
	assert_int_equal(r->action, ROUTER_ACTION_WEIGHTED);
	assert_int_equal(r->n_clusters, 2);
	assert_int_equal(r->total_weight, 100);
	assert_string_equal(r->clusters[0].key, "shop/web");
	assert_int_equal(r->clusters[0].service, 0);
	assert_int_equal(r->clusters[0].port, 80);
	assert_int_equal(r->clusters[0].port_idx, 0);
	assert_int_equal(r->clusters[0].target_port, 8080);
	assert_int_equal(r->clusters[0].weight, 90);
	assert_int_equal(r->clusters[0].cum, 90);
	assert_string_equal(r->clusters[1].key, "shop/web2");
	assert_int_equal(r->clusters[1].service, 1);
	assert_int_equal(r->clusters[1].cum, 100);
	assert_string_equal(r->prefix_rewrite.p, "/");
	assert_string_equal(r->host_rewrite.p, "backend.internal");
	assert_int_equal(r->request_headers.n_add, 1);
	assert_string_equal(r->request_headers.add[0].value.p, "a b");
	assert_false(r->request_headers.add[0].append);
	assert_string_equal(r->request_headers.remove[0].p, "x-drop");
	assert_int_equal(r->response_headers.n_add, 1);
	assert_int_equal(r->response_headers.add[0].value.len, 0);
	assert_int_equal(r->response_headers.n_remove, 1);
	assert_int_equal(r->timeout_ms, 2000);
	assert_int_equal(r->idle_timeout_ms, 500);
	assert_int_equal(r->retry.on, ROUTER_RETRY_5XX | ROUTER_RETRY_GATEWAY_ERROR |
					      ROUTER_RETRY_RESET | ROUTER_RETRY_CONNECT_FAILURE |
					      ROUTER_RETRY_STATUS_CODES);
	assert_int_equal(r->retry.num_retries, 2);
	assert_int_equal(r->retry.per_try_timeout_ms, 1000);
	assert_int_equal(r->retry.n_status, 2);
	assert_int_equal(r->retry.status[1], 503);
	assert_int_equal(r->retry.backoff_base_ms, 25);
	assert_int_equal(r->retry.backoff_max_ms, 250);
	assert_true(r->retry.previous_hosts);
	assert_int_equal(r->fault.delay_ms, 100);
	assert_int_equal(r->fault.delay_ppm, 100000);
	assert_int_equal(r->fault.abort_status, 503);
	assert_int_equal(r->fault.abort_ppm, 5000);

	r = &vh->routes[1];
	assert_int_equal(r->action, ROUTER_ACTION_REDIRECT);
	assert_string_equal(r->redirect.scheme.p, "https");
	assert_string_equal(r->redirect.host.p, "new.example");
	assert_string_equal(r->redirect.path.p, "/new");
	assert_int_equal(r->redirect.code, 308);
	assert_int_equal(r->timeout_ms, 0);
	assert_null(router_pick_cluster(r, 0));

	r = &vh->routes[2];
	assert_int_equal(r->action, ROUTER_ACTION_DIRECT);
	assert_int_equal(r->direct.status, 200);
	assert_int_equal(r->direct.body.len, 3);
	assert_memory_equal(r->direct.body.p, "ok\n", 3);

	r = &vh->routes[3];
	assert_int_equal(r->action, ROUTER_ACTION_CLUSTER);
	assert_int_equal(r->clusters[0].port, 443);
	assert_int_equal(r->clusters[0].port_idx, 1);
	assert_int_equal(r->clusters[0].target_port, 443);
	assert_ptr_equal(router_pick_cluster(r, 12345), &r->clusters[0]);
	/* defaults */
	assert_int_equal(r->timeout_ms, ROUTER_DEFAULT_TIMEOUT_MS);
	assert_int_equal(r->idle_timeout_ms, 0);
	assert_int_equal(r->retry.num_retries, 0);
	assert_int_equal(r->retry.on, 0);
	assert_int_equal(r->fault.delay_ppm, 0);
	assert_int_equal(r->fault.abort_ppm, 0);
	assert_int_equal(r->prefix_rewrite.len, 0);
	assert_int_equal(r->request_headers.n_add, 0);

	assert_int_equal(cfg->vhosts[1].n_routes, 0);
	cfg_snapshot_free(s);
}

/* Defaults of a retry policy and a fault given with their required members only. */
static void test_policy_defaults(void **state)
{
	struct cfg_snapshot *s = compile_ok(
		RC(VH("{'match': {'prefix': '/'}, 'cluster': 'web', 'retry_policy': {'retry_on': "
		      "['5xx']}, 'fault': {'abort': {'status': 500}}}")));
	const struct router_route *r = sel(s, "h", "/");

	(void)state;
	assert_non_null(r);
	assert_int_equal(r->retry.on, ROUTER_RETRY_5XX);
	assert_int_equal(r->retry.num_retries, 1);
	assert_int_equal(r->retry.per_try_timeout_ms, 0);
	assert_int_equal(r->retry.backoff_base_ms, 25);
	assert_int_equal(r->retry.backoff_max_ms, 250);
	assert_false(r->retry.previous_hosts);
	assert_int_equal(r->fault.abort_ppm, ROUTER_PERCENT_SCALE);
	assert_int_equal(r->fault.delay_ppm, 0);
	assert_false(router_config_get(s, 0)->retry_budget.enabled);
	cfg_snapshot_free(s);
	/* gRPC conditions: the grpc-status codes they name, and no HTTP status */
	s = compile_ok(RC(VH("{'match': {'prefix': '/'}, 'cluster': 'web', 'retry_policy': "
			     "{'retry_on': ['unavailable', 'resource-exhausted']}}")));
	r = sel(s, "h", "/");
	assert_non_null(r);
	assert_int_equal(r->retry.on,
			 ROUTER_RETRY_GRPC_UNAVAILABLE | ROUTER_RETRY_GRPC_RESOURCE_EXHAUSTED);
	assert_true(router_retry_grpc(&r->retry, 14));
	assert_true(router_retry_grpc(&r->retry, 8));
	assert_false(router_retry_grpc(&r->retry, 4));
	assert_false(router_retry_grpc(&r->retry, 0));
	assert_false(router_retry_status(&r->retry, 503));
	assert_false(router_retry_on_failure(&r->retry, true));
	cfg_snapshot_free(s);
	/* A document without route configs still resolves services by key. */
	s = compile_ok(HEAD SERVICES "}");
	assert_int_equal(router_config_count(s), 0);
	assert_int_equal(router_route_config_find(s, "shop"), -1);
	assert_int_equal(router_service_by_key(s, "shop/web2"), 1);
	assert_null(router_config_get(s, 0));
	cfg_snapshot_free(s);
}

static void test_path_kinds(void **state)
{
	struct cfg_snapshot *s = compile_ok(RC(VH(RTN("exact", "{'path': '/exact'}") ", " RTN(
		"ci",
		"{'path': '/CI', "
		"'case_sensitive': false}") ", " RTN("re",
						     "{'regex': '^/v[0-9]+/'}") ", " RTN("rei",
											 "{'regex':"
											 " '^/Up/"
											 "', "
											 "'case_"
											 "sensitive"
											 "': "
											 "false}") ", " RTN("api",
													    "{'prefix': '/api/'}") ", " RTN("apii",
																	    "{'prefix': '/API2/', 'case_sensitive': false}") ", " RTN("root",
																								      "{'prefix': '/'}"))));

	(void)state;
	assert_string_equal(pick(s, "/exact"), "exact");
	assert_string_equal(pick(s, "/exact/"), "root");
	assert_string_equal(pick(s, "/exac"), "root");
	assert_string_equal(pick(s, "/Exact"), "root");	     /* case-sensitive by default */
	assert_string_equal(pick(s, "/exact?x=1"), "exact"); /* the query is not the path */
	assert_string_equal(pick(s, "/ci"), "ci");
	assert_string_equal(pick(s, "/cI"), "ci");
	assert_string_equal(pick(s, "/v1/x"), "re");
	assert_string_equal(pick(s, "/v123/"), "re");
	assert_string_equal(pick(s, "/v/x"), "root");
	assert_string_equal(pick(s, "/x/v1/"), "root"); /* anchored by ^ */
	assert_string_equal(pick(s, "/V1/x"), "root");
	assert_string_equal(pick(s, "/uP/x"), "rei");
	assert_string_equal(pick(s, "/api/"), "api");
	assert_string_equal(pick(s, "/api/a/b"), "api");
	assert_string_equal(pick(s, "/api"), "root");
	assert_string_equal(pick(s, "/API/x"), "root");
	assert_string_equal(pick(s, "/api2/x"), "apii");
	assert_string_equal(pick(s, "/"), "root");
	assert_string_equal(pick(s, ""), "-"); /* no route matches: 404 */
	cfg_snapshot_free(s);
}

/* Routes are tried in order: an earlier prefix shadows a later exact path. */
static void test_route_order(void **state)
{
	struct cfg_snapshot *s =
		compile_ok(RC(VH(RTN("a", "{'prefix': '/a'}") ", " RTN("ab", "{'path': '/ab'}"))));

	(void)state;
	assert_string_equal(pick(s, "/ab"), "a");
	assert_string_equal(pick(s, "/b"), "-");
	cfg_snapshot_free(s);
}

static void test_domains(void **state)
{
	struct cfg_snapshot *s = compile_ok(RC(
		"{'name': 'exact', 'domains': ['www.shop.example', 'Shop.Example', "
		"'[fd00::1]', "
		"'10.0.0.1'], 'routes': [" RT(
			"{'prefix': '/'}") "]}, "
					   "{'name': 'sfx', 'domains': ['*.shop.example'], "
					   "'routes': [" RT(
						   "{'prefix': '/'}") "]}, "
								      "{'name': "
								      "'sfx_long', "
								      "'domains': "
								      "['*.eu.shop.example'"
								      "], 'routes': [" RT(
									      "{'prefix': "
									      "'/'}") "]}, "
										      "{'"
										      "name"
										      "': "
										      "'das"
										      "h', "
										      "'dom"
										      "ains"
										      "': "
										      "['*-"
										      "api."
										      "exam"
										      "ple'"
										      "], "
										      "'rou"
										      "tes'"
										      ": "
										      "[" RT("{'"
											     "pref"
											     "ix':"
											     " '/"
											     "'}") "]}, "
												   "{'name': 'pfx', 'domains': ['shop.*', 'www.*'], 'routes': [" RT(
													   "{'prefix': '/'}") "]}, "
															      "{'name': 'pfx_long', 'domains': ['shop.eu.*'], 'routes': [" RT(
																      "{'prefix': '/'}") "]}, "
																			 "{'name': 'star', 'domains': ['*'], 'routes': [" RT(
																				 "{'prefix': '/'}") "]}"));

	(void)state;
	/* exact, case-insensitive, port stripped */
	assert_string_equal(vh_of(s, "shop.example"), "exact");
	assert_string_equal(vh_of(s, "SHOP.example:8080"), "exact");
	assert_string_equal(vh_of(s, "www.shop.example"), "exact"); /* exact beats *.shop.example */
	assert_string_equal(vh_of(s, "[fd00::1]:443"), "exact");
	assert_string_equal(vh_of(s, "[FD00::1]"), "exact");
	assert_string_equal(vh_of(s, "10.0.0.1:80"), "exact");
	/* suffix, longest first; a wildcard is never empty */
	assert_string_equal(vh_of(s, "a.shop.example"), "sfx");
	assert_string_equal(vh_of(s, "a.b.shop.example"), "sfx");
	assert_string_equal(vh_of(s, "x.eu.shop.example"), "sfx_long");
	assert_string_equal(vh_of(s, "eu.shop.example"), "sfx");
	assert_string_equal(vh_of(s, ".shop.example"), "star"); /* "*.shop.example" needs a label */
	assert_string_equal(vh_of(s, "my-api.example"), "dash");
	assert_string_equal(vh_of(s, "-api.example"), "star");
	/* suffix beats prefix: "shop.x.shop.example" matches both */
	assert_string_equal(vh_of(s, "shop.x.shop.example"), "sfx");
	/* prefix, longest first */
	assert_string_equal(vh_of(s, "shop.org"), "pfx");
	assert_string_equal(vh_of(s, "Shop.Org:81"), "pfx");
	assert_string_equal(vh_of(s, "shop.eu.org"), "pfx_long");
	assert_string_equal(vh_of(s, "shop."), "star"); /* "shop.*" needs a non-empty rest */
	assert_string_equal(vh_of(s, "www.anything"), "pfx");
	/* the rest */
	assert_string_equal(vh_of(s, "other.example"), "star");
	assert_string_equal(vh_of(s, ""), "star");
	assert_string_equal(vh_of(s, "a.example:80x"), "star"); /* not a port: not stripped */
	cfg_snapshot_free(s);

	/* Without "*", an unknown host has no virtual host; counted. */
	s = compile_ok(RC(
		"{'name': 'a', 'domains': ['a.example'], 'routes': [" RT("{'prefix': '/'}") "]}"));
	memset(&rw_stats, 0, sizeof(rw_stats));
	assert_string_equal(vh_of(s, "b.example"), "-");
	assert_string_equal(vh_of(s, "a.example"), "a");
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_NO_VHOST), 1);
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_NO_ROUTE), 0);
	assert_null(sel(s, "a.example", "x"));
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_NO_ROUTE), 1);
	assert_null(router_vhost_select(s, 1, (struct router_str){"a.example", 9}));
	cfg_snapshot_free(s);
}

static void test_host_strip_port(void **state)
{
	static const char *const cases[][2] = {
		{"a.example:80", "a.example"},
		{"a.example", "a.example"},
		{"a:", "a"},
		{"[::1]:8080", "[::1]"},
		{"[::1]", "[::1]"},
		{"::1", "::1"},
		{"a:b", "a:b"},
		{"[::1", "[::1"},
		{"", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct router_str h = {cases[i][0], (uint32_t)strlen(cases[i][0])};
		struct router_str o = router_host_strip_port(h);

		assert_int_equal(o.len, strlen(cases[i][1]));
		assert_memory_equal(o.p, cases[i][1], o.len);
	}
}

static void test_conditions(void **state)
{
	struct cfg_snapshot *s = compile_ok(RC(VH(RTN(
		"post",
		"{'prefix': '/m', 'methods': "
		"['POST', 'PUT']}") ", " RTN("canary",
					     "{'"
					     "pre"
					     "fix"
					     "': "
					     "'/"
					     "h',"
					     " '"
					     "hea"
					     "der"
					     "s':"
					     " [{"
					     "'na"
					     "me'"
					     ": "
					     "'X-"
					     "Can"
					     "ary"
					     "', "
					     "'ex"
					     "act"
					     "': "
					     "'1'"
					     "}]"
					     "}") ", " RTN("tok",
							   "{'prefix': '/h', 'headers': [{'name': "
							   "'authorization', "
							   "'prefix': 'Bearer '}, {'name': 'x-id', "
							   "'regex': "
							   "'^[0-9]+$'}]}") ", " RTN("nodbg",
										     "{'prefix': "
										     "'/h', "
										     "'headers': "
										     "[{'name': "
										     "'x-debug', "
										     "'present': "
										     "true, "
										     "'invert': "
										     "true}]}") ","
												" " RTN("q",
													"{'"
													"prefi"
													"x': "
													"'/"
													"q', "
													"'quer"
													"y': "
													"[{'"
													"name'"
													": "
													"'debu"
													"g', "
													"'exac"
													"t': "
													"'1'},"
													" {'"
													"name'"
													": "
													"'v', "
													"'pres"
													"ent':"
													" true"
													"}]}") ", " RTN("qre",
															"{'prefix': "
															"'/q', "
															"'query': "
															"[{'name': "
															"'id', "
															"'regex': "
															"'^a'}, "
															"{'name': "
															"'x', "
															"'prefix': "
															"'p', "
															"'invert': "
															"true}]}") ","
																   " " RTN("rest",
																	   "{'prefix': '/'}"))));
	static const struct router_str h_canary[][2] = {{S("x-other"), S("1")},
							{S("x-CANARY"), S("1")}};
	static const struct router_str h_canary2[][2] = {{S("X-Canary"), S("2")},
							 {S("x-canary"), S("1")}};
	static const struct router_str h_canary_bad[][2] = {{S("x-canary"), S("10")},
							    {S("x-debug"), S("")}};
	static const struct router_str h_tok[][2] = {{S("Authorization"), S("Bearer abc")},
						     {S("x-id"), S("123")}};
	static const struct router_str h_tok_bad[][2] = {{S("authorization"), S("Basic abc")},
							 {S("x-id"), S("123")}};
	static const struct router_str h_tok_bad2[][2] = {{S("authorization"), S("Bearer abc")},
							  {S("x-id"), S("12a")}};
	static const struct router_str h_dbg[][2] = {{S("x-debug"), S("")}};

	(void)state;
	/* methods are case-sensitive tokens */
	assert_string_equal(pick_h(s, "POST", "/m", NULL, 0), "post");
	assert_string_equal(pick_h(s, "PUT", "/m", NULL, 0), "post");
	assert_string_equal(pick_h(s, "GET", "/m", NULL, 0), "rest");
	assert_string_equal(pick_h(s, "post", "/m", NULL, 0), "rest");
	/* header names fold, values do not; any instance may match */
	assert_string_equal(pick_h(s, "GET", "/h", h_canary, 2), "canary");
	assert_string_equal(pick_h(s, "GET", "/h", h_canary2, 2), "canary");
	assert_string_equal(pick_h(s, "GET", "/h", h_canary_bad, 2), "rest");
	assert_string_equal(pick_h(s, "GET", "/h", h_tok, 2), "tok");
	assert_string_equal(pick_h(s, "GET", "/h", h_tok_bad, 2), "nodbg");
	assert_string_equal(pick_h(s, "GET", "/h", h_tok_bad2, 2), "nodbg");
	/* invert: the header must be absent */
	assert_string_equal(pick_h(s, "GET", "/h", NULL, 0), "nodbg");
	assert_string_equal(pick_h(s, "GET", "/h", h_dbg, 1), "rest");
	/* query parameters: every condition must hold */
	assert_string_equal(pick(s, "/q?debug=1&v"), "q");
	assert_string_equal(pick(s, "/q?v=&debug=1"), "q");
	assert_string_equal(pick(s, "/q?debug=2&debug=1&v=3"), "q");
	assert_string_equal(pick(s, "/q?debug=1"), "rest");
	assert_string_equal(pick(s, "/q?debug=10&v"), "rest");
	assert_string_equal(pick(s, "/q?Debug=1&v"), "rest"); /* names are case-sensitive */
	assert_string_equal(pick(s, "/q?vv=1&debug=1"), "rest");
	assert_string_equal(pick(s, "/q?id=abc"), "qre");
	assert_string_equal(pick(s, "/q?id=abc&x=pq"), "rest");
	assert_string_equal(pick(s, "/q?id=abc&x=q"), "qre");
	assert_string_equal(pick(s, "/q?&&id=a&"), "qre");
	assert_string_equal(pick(s, "/q?id=ba"), "rest");
	assert_string_equal(pick(s, "/q"), "rest");
	cfg_snapshot_free(s);
}

/* A regex that backtracks without end hits the match limit: no match, counted. */
static void test_regex_limit(void **state)
{
	struct cfg_snapshot *s =
		compile_ok(RC(VH(RTN("bad", "{'regex': '^/(a+)+$'}") ", " RTN("rest", "{'prefix': "
										      "'/'}"))));
	char path[64];

	(void)state;
	memset(&rw_stats, 0, sizeof(rw_stats));
	assert_string_equal(pick(s, "/aaaa"), "bad");
	memset(path, 'a', sizeof(path) - 2);
	path[0] = '/';
	path[sizeof(path) - 2] = 'b';
	path[sizeof(path) - 1] = '\0';
	assert_string_equal(pick(s, path), "rest");
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_REGEX_FAILED), 1);
	cfg_snapshot_free(s);
}

/* A fixed pseudo-random sequence (xorshift32), so that the split is reproducible. */
static uint32_t xs(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void test_weighted(void **state)
{
	struct cfg_snapshot *s = compile_ok(RC(VH(
		"{'name': 'split', 'match': {'prefix': '/a'}, 'weighted_clusters': [{'cluster': "
		"'web', 'weight': 90}, {'cluster': 'shop/web2', 'weight': 10}]}, "
		"{'name': 'zero', 'match': {'prefix': '/b'}, 'total_weight': 1000, "
		"'weighted_clusters': [{'cluster': 'web', 'weight': 0}, {'cluster': 'web2', "
		"'weight': 1}, {'cluster': 'web', 'weight': 0, 'port': 443}, {'cluster': 'web2', "
		"'weight': 999}, {'cluster': 'web', 'weight': 0}]}")));
	const struct router_route *r = sel(s, "h", "/a");
	unsigned int n[2] = {0, 0}, z[5] = {0};
	uint32_t x = 2463534242u;

	(void)state;
	/* the cumulative table's edges */
	assert_ptr_equal(router_pick_cluster(r, 0), &r->clusters[0]);
	assert_ptr_equal(router_pick_cluster(r, 89), &r->clusters[0]);
	assert_ptr_equal(router_pick_cluster(r, 90), &r->clusters[1]);
	assert_ptr_equal(router_pick_cluster(r, 99), &r->clusters[1]);
	assert_ptr_equal(router_pick_cluster(r, 100), &r->clusters[0]);
	assert_ptr_equal(router_pick_cluster(r, UINT32_MAX), &r->clusters[1]); /* 95 */
	for (unsigned int i = 0; i < 100000; i++)
		n[router_pick_cluster(r, xs(&x)) - r->clusters]++;
	/* 90/10 within half a percent over 100,000 picks */
	assert_in_range(n[0], 89500, 90500);
	assert_in_range(n[1], 9500, 10500);

	r = sel(s, "h", "/b");
	assert_int_equal(r->total_weight, 1000);
	assert_int_equal(r->clusters[2].port, 443);
	for (uint32_t i = 0; i < 3000; i++)
		z[router_pick_cluster(r, i) - r->clusters]++;
	/* weight 0 is never picked; 1 of 1000 is picked 3 times in 3 rounds */
	assert_int_equal(z[0], 0);
	assert_int_equal(z[1], 3);
	assert_int_equal(z[2], 0);
	assert_int_equal(z[3], 2997);
	assert_int_equal(z[4], 0);
	cfg_snapshot_free(s);
}

static void test_rewrite(void **state)
{
	struct cfg_snapshot *s = compile_ok(
		RC(VH("{'name': 'p', 'match': {'prefix': '/api/'}, 'cluster': 'web', "
		      "'prefix_rewrite': '/v2/'}, "
		      "{'name': 'strip', 'match': {'prefix': '/strip'}, 'cluster': 'web', "
		      "'prefix_rewrite': '/'}, "
		      "{'name': 'ci', 'match': {'prefix': '/CI/', 'case_sensitive': false}, "
		      "'cluster': 'web', 'prefix_rewrite': '/x/'}, "
		      "{'name': 'e', 'match': {'path': '/exact'}, 'cluster': 'web', "
		      "'prefix_rewrite': '/other'}, "
		      "{'name': 'none', 'match': {'prefix': '/'}, 'cluster': 'web'}")));
	char buf[64];
	const struct router_route *r;
	struct router_str p;
	int n;

	(void)state;
	r = sel(s, "h", "/api/users?x=1");
	p = (struct router_str){"/api/users", 10};
	n = router_rewrite_path(r, p, buf, sizeof(buf));
	assert_int_equal(n, 9);
	assert_memory_equal(buf, "/v2/users", 9);
	assert_int_equal(router_rewrite_path(r, p, buf, 8), -ENOSPC);
	r = sel(s, "h", "/strip");
	n = router_rewrite_path(r, (struct router_str){"/strip", 6}, buf, sizeof(buf));
	assert_int_equal(n, 1);
	assert_memory_equal(buf, "/", 1);
	n = router_rewrite_path(r, (struct router_str){"/strip/a", 8}, buf, sizeof(buf));
	assert_int_equal(n, 3); /* "/" + "/a": the prefix is replaced, nothing more */
	assert_memory_equal(buf, "//a", 3);
	r = sel(s, "h", "/ci/a");
	n = router_rewrite_path(r, (struct router_str){"/ci/a", 5}, buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "/x/a", 4);
	r = sel(s, "h", "/exact");
	n = router_rewrite_path(r, (struct router_str){"/exact", 6}, buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "/other", 6);
	r = sel(s, "h", "/nothing");
	assert_string_equal(r->name, "none");
	assert_int_equal(router_rewrite_path(r, (struct router_str){"/nothing", 8}, buf, 64), 0);
	cfg_snapshot_free(s);
}

static void test_redirect(void **state)
{
	struct cfg_snapshot *s = compile_ok(RC(VH(
		"{'name': 'https', 'match': {'prefix': '/s/'}, 'redirect': {'scheme': 'https'}}, "
		"{'name': 'host', 'match': {'prefix': '/h/'}, 'redirect': {'host': 'b.example', "
		"'code': 302}}, "
		"{'name': 'port', 'match': {'prefix': '/p/'}, 'redirect': {'port': 8443, 'scheme': "
		"'https'}}, "
		"{'name': 'path', 'match': {'prefix': '/x/'}, 'redirect': {'path': '/y', "
		"'strip_query': true}}, "
		"{'name': 'pr', 'match': {'prefix': '/old/'}, 'redirect': {'prefix_rewrite': "
		"'/new/'}}, "
		"{'name': 'dr', 'match': {'prefix': '/d'}, 'direct_response': {'status': 204}}")));
	char loc[128];
	struct router_request rq;
	const struct router_route *r;

#define LOC(host, path, scheme, want)                                                        \
	do {                                                                                 \
		rq = req("GET", host, path);                                                 \
		r = router_select(s, 0, &rq, rw);                                            \
		assert_non_null(r);                                                          \
		assert_int_equal(router_redirect_location(r, &rq, scheme, loc, sizeof(loc)), \
				 (int)strlen(want));                                         \
		assert_string_equal(loc, want);                                              \
	} while (0)
	(void)state;
	LOC("a.example:8080", "/s/a?q=1", "http", "https://a.example/s/a?q=1");
	LOC("a.example:8443", "/s/a", "https", "https://a.example:8443/s/a");
	LOC("a.example:8080", "/h/a", "http", "http://b.example:8080/h/a");
	assert_int_equal(r->redirect.code, 302);
	LOC("a.example", "/p/a", "http", "https://a.example:8443/p/a");
	LOC("a.example", "/x/a?q=1", "http", "http://a.example/y");
	LOC("a.example", "/old/a/b?z", "http", "http://a.example/new/a/b?z");
	LOC("[fd00::1]:80", "/s/", "http", "https://[fd00::1]/s/");
#undef LOC
	rq = req("GET", "a.example", "/s/aaaaaaaa");
	r = router_select(s, 0, &rq, rw);
	assert_int_equal(router_redirect_location(r, &rq, "http", loc, 20), -ENOSPC);
	assert_int_equal(router_redirect_location(r, &rq, "http", loc, 29), 28);
	assert_int_equal(router_redirect_location(r, &rq, "http", loc, 28), -ENOSPC);
	rq = req("GET", "a.example", "/d");
	r = router_select(s, 0, &rq, rw);
	assert_int_equal(r->direct.status, 204);
	assert_int_equal(r->direct.body.len, 0);
	assert_int_equal(router_redirect_location(r, &rq, "http", loc, sizeof(loc)), -EINVAL);
	cfg_snapshot_free(s);
}

static void test_retry_helpers(void **state)
{
	struct router_retry rp = {.on = ROUTER_RETRY_GATEWAY_ERROR};

	(void)state;
	assert_false(router_retry_status(&rp, 500));
	assert_true(router_retry_status(&rp, 502));
	assert_true(router_retry_status(&rp, 504));
	assert_false(router_retry_status(&rp, 505));
	assert_true(router_retry_on_failure(&rp, true));
	assert_true(router_retry_on_failure(&rp, false));
	rp.on = ROUTER_RETRY_5XX;
	assert_true(router_retry_status(&rp, 500));
	assert_true(router_retry_status(&rp, 599));
	assert_false(router_retry_status(&rp, 499));
	rp.on = ROUTER_RETRY_STATUS_CODES;
	rp.n_status = 2;
	rp.status[0] = 409;
	rp.status[1] = 503;
	assert_true(router_retry_status(&rp, 409));
	assert_false(router_retry_status(&rp, 500));
	assert_false(router_retry_on_failure(&rp, true));
	rp.on = ROUTER_RETRY_CONNECT_FAILURE;
	assert_true(router_retry_on_failure(&rp, true));
	assert_false(router_retry_on_failure(&rp, false));
	assert_false(router_retry_status(&rp, 503));
	rp.on = ROUTER_RETRY_RESET;
	assert_false(router_retry_on_failure(&rp, true));
	assert_true(router_retry_on_failure(&rp, false));
	/* back-off: full jitter under min(max, base * 2^(n-1)) */
	rp.backoff_base_ms = 25;
	rp.backoff_max_ms = 250;
	assert_int_equal(router_retry_backoff_ms(&rp, 1, 25), 25);
	assert_int_equal(router_retry_backoff_ms(&rp, 1, 26), 0);
	assert_int_equal(router_retry_backoff_ms(&rp, 2, 50), 50);
	assert_int_equal(router_retry_backoff_ms(&rp, 3, 100), 100);
	assert_int_equal(router_retry_backoff_ms(&rp, 4, 200), 200);
	assert_int_equal(router_retry_backoff_ms(&rp, 5, 250), 250);
	assert_int_equal(router_retry_backoff_ms(&rp, 5, 251), 0);
	assert_int_equal(router_retry_backoff_ms(&rp, 40, UINT32_MAX), UINT32_MAX % 251);
	/* fault draws */
	assert_false(router_fault_hit(0, 0));
	assert_true(router_fault_hit(100000, 99999));
	assert_false(router_fault_hit(100000, 100000));
	assert_true(router_fault_hit(ROUTER_PERCENT_SCALE, UINT32_MAX));
}

static void test_cluster_resolve(void **state)
{
	struct cfg_snapshot *s = compile_ok(HEAD SERVICES "}");
	uint32_t svc = 99;
	uint8_t idx = 99;
	uint16_t tp = 99;

	(void)state;
	assert_int_equal(router_service_by_key(s, "shop/web"), 0);
	assert_int_equal(router_service_by_key(s, "kube/dns"), 2);
	assert_int_equal(router_service_by_key(s, "shop/dns"), -1);
	assert_int_equal(router_service_by_key(s, "web"), -1);
	assert_int_equal(router_cluster_resolve(s, "shop/web", 443, &svc, &idx, &tp), 0);
	assert_int_equal(svc, 0);
	assert_int_equal(idx, 1);
	assert_int_equal(tp, 443);
	assert_int_equal(router_cluster_resolve(s, "shop/web", 80, &svc, &idx, &tp), 0);
	assert_int_equal(tp, 8080);
	assert_int_equal(router_cluster_resolve(s, "shop/web", 81, &svc, &idx, &tp), -ENOENT);
	assert_int_equal(router_cluster_resolve(s, "kube/dns", 53, &svc, &idx, &tp), -ENOENT);
	assert_int_equal(router_cluster_resolve(s, "x/y", 80, &svc, &idx, &tp), -ENOENT);
	cfg_snapshot_free(s);
}

/*
 * A route swap: the second snapshot (compiled with the first as prev, as the
 * daemon does) routes differently; the first's routes stay readable until it
 * is freed, and a cluster copied from it re-resolves by key in the second,
 * where the service moved to another index and its port to another slot.
 */
static void test_swap(void **state)
{
	struct cfg_snapshot *a = compile_ok(RC(VH(RTN("one", "{'prefix': '/'}"))));
	struct cfg_snapshot *b = compile_ok_prev(
		HEAD ", 'services': [{'name': 'dns', 'namespace': 'kube', 'vip': '10.96.0.53', "
		     "'ports': [{'port': 53, 'protocol': 'udp'}], 'endpoints': [{'address': "
		     "'10.10.2.53'}]}, {'name': 'web', 'namespace': 'shop', 'vip': '10.96.0.10', "
		     "'ports': [{'port': 443}, {'port': 80, 'target_port': 9090}], 'endpoints': "
		     "[{'address': '10.10.2.10'}]}], 'route_configs': [{'name': 'shop', "
		     "'virtual_hosts': [" VH("{'name': 'two', 'match': {'prefix': '/'}, "
					     "'direct_response': {'status': 503}}") "]}]}",
		a);
	const struct router_route *ra = sel(a, "h", "/"), *rb = sel(b, "h", "/");
	char key[ROUTER_KEY_MAX];
	uint16_t port, tp;
	uint32_t svc;
	uint8_t idx;

	(void)state;
	assert_string_equal(ra->name, "one");
	assert_string_equal(rb->name, "two");
	assert_int_equal(rb->action, ROUTER_ACTION_DIRECT);
	/* what an in-flight request copies */
	snprintf(key, sizeof(key), "%s", ra->clusters[0].key);
	port = ra->clusters[0].port;
	assert_int_equal(ra->clusters[0].service, 0);
	assert_int_equal(ra->clusters[0].target_port, 8080);
	assert_int_equal(router_cluster_resolve(b, key, port, &svc, &idx, &tp), 0);
	assert_int_equal(svc, 1);
	assert_int_equal(idx, 1);
	assert_int_equal(tp, 9090);
	/* the old snapshot is untouched by the new one */
	assert_string_equal(sel(a, "h", "/x")->name, "one");
	assert_string_equal(ra->clusters[0].key, "shop/web");
	cfg_snapshot_free(a);
	assert_string_equal(sel(b, "h", "/x")->name, "two");
	cfg_snapshot_free(b);
}

/* Path segments the random tables and requests are made of: they share prefixes. */
static const char *const seg[] = {"a", "ab", "api", "b", "A", "Api", "v1", "x"};

static const char *rnd_seg(uint32_t *x)
{
	return seg[xs(x) % (sizeof(seg) / sizeof(seg[0]))];
}

/* "/<seg>/<seg>..." of 1..3 segments, with a trailing '/' at random, into @p buf. */
static void rnd_path(uint32_t *x, char *buf, size_t len)
{
	size_t o = 0;

	for (uint32_t k = 0, n = 1 + xs(x) % 3; k < n; k++)
		o += (size_t)snprintf(buf + o, len - o, "/%s", rnd_seg(x));
	if (xs(x) % 2)
		snprintf(buf + o, len - o, "/");
}

/*
 * A table of @p n random routes (exact and prefix paths with either case
 * rule, regexes, methods, a header condition), for @p requests random
 * requests: router_select() (through the path index) must choose the route
 * the linear walk chooses. @p long_prefixes adds prefixes of 40 lengths, more
 * than the index hashes (ROUTER_INDEX_MAX_LENS): they are then listed.
 */
static void check_index_agrees(uint32_t seed, uint32_t n, bool long_prefixes, uint32_t requests)
{
	size_t cap = 256 + (size_t)n * 200, o;
	char *doc = malloc(cap), path[64];
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;
	const struct router_vhost *vh;
	uint32_t x = seed, hits = 0;

	assert_non_null(doc);
	o = (size_t)snprintf(doc, cap, "%s",
			     RC_OPEN "{'name': 'shop', 'virtual_hosts': "
				     "[{'name': 'all', 'domains': ['*'], 'routes': [");
	for (uint32_t i = 0; i < n; i++) {
		uint32_t kind = xs(&x) % 8;

		if (long_prefixes && i < 40) {
			char p[48];

			memset(p, 'a', sizeof(p));
			p[0] = '/';
			p[i + 2] = '\0';
			o += (size_t)snprintf(doc + o, cap - o, "%s{'match': {'prefix': '%s'",
					      i ? ", " : "", p);
		} else if (kind == 7) {
			o += (size_t)snprintf(doc + o, cap - o, "%s{'match': {'regex': '^/%s/'",
					      i ? ", " : "", rnd_seg(&x));
		} else {
			rnd_path(&x, path, sizeof(path));
			o += (size_t)snprintf(doc + o, cap - o, "%s{'match': {'%s': '%s'%s",
					      i ? ", " : "", kind % 2 ? "prefix" : "path", path,
					      kind == 5 || kind == 6 ? ", 'case_sensitive': false"
								     : "");
		}
		if (xs(&x) % 4 == 0)
			o += (size_t)snprintf(doc + o, cap - o, ", 'methods': ['POST']");
		if (xs(&x) % 4 == 0)
			o += (size_t)snprintf(doc + o, cap - o,
					      ", 'headers': [{'name': 'x-h', 'exact': '1'}]");
		o += (size_t)snprintf(doc + o, cap - o, "}, 'cluster': 'web'}");
	}
	snprintf(doc + o, cap - o, "]}]}" RC_CLOSE);
	for (size_t i = 0; doc[i] != '\0'; i++)
		doc[i] = doc[i] == '\'' ? '"' : doc[i];
	if (compile_json(doc, NULL, &s, &err) != 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	free(doc);
	vh = &router_config_get(s, 0)->vhosts[0];
	assert_int_equal(vh->n_routes, n);
	assert_non_null(vh->path_index);
	for (uint32_t q = 0; q < requests; q++) {
		static const struct router_str hdr[][2] = {{S("X-H"), S("1")}};
		struct router_request rq;
		const struct router_route *r, *want = NULL;

		if (long_prefixes && xs(&x) % 4 == 0) {
			memset(path, 'a', sizeof(path));
			path[0] = '/';
			path[1 + xs(&x) % 50] = '\0';
		} else {
			rnd_path(&x, path, sizeof(path));
		}
		rq = req(xs(&x) % 2 ? "GET" : "POST", "h", path);
		if (xs(&x) % 2) {
			rq.headers = hdr;
			rq.n_headers = 1;
		}
		for (uint32_t i = 0; i < vh->n_routes && want == NULL; i++)
			if (router_route_match(&vh->routes[i], &rq, rw))
				want = &vh->routes[i];
		r = router_select(s, 0, &rq, rw);
		if (r != want) {
			print_error("seed %u, %s %s: route %d, the linear walk's %d\n", seed,
				    rq.method.p, path, r ? (int)r->index : -1,
				    want ? (int)want->index : -1);
			fail();
		}
		hits += r != NULL;
	}
	/* the tables are dense enough that most requests match something */
	assert_true(hits > requests / 2);
	cfg_snapshot_free(s);
}

static void test_index_agrees(void **state)
{
	(void)state;
	for (uint32_t seed = 1; seed <= 8; seed++)
		check_index_agrees(seed * 2654435761u, 16 + seed * 40, false, 5000);
	check_index_agrees(7, 300, true, 20000);
}

/* The index's shape: exact and prefix routes hashed, the rest listed. */
static void test_index_shape(void **state)
{
	struct cfg_snapshot
		*
			s =
				compile_ok(RC(VH(RT("{'path': '/e1'}") ", " RT("{'path': '/e1'}") ", " RT("{'path': '/e2'}") ", " RT(
					"{'prefix': '/p'}") ", " RT("{'prefix': '/p/'}") ", " RT("{"
												 "'"
												 "p"
												 "r"
												 "e"
												 "f"
												 "i"
												 "x"
												 "'"
												 ":"
												 " "
												 "'"
												 "/"
												 "q"
												 "/"
												 "'"
												 "}") ", " RT("{'prefix': '/P', 'case_sensitive': false}") ", " RT("{'regex': 'x'}") ", " RT("{'path': '/a'}") ", " RT("{'path': '/b'}") ", " RT("{'path': '/c'}") ", " RT("{'path': '/d'}") ", " RT("{'path': '/e'}") ", " RT("{'path': '/f'}") ", " RT("{'path': '/g'}") ", " RT("{'path': '/h'}"))));
	const struct router_vhost *vh = &router_config_get(s, 0)->vhosts[0];
	const struct router_index *ix = vh->path_index;

	(void)state;
	assert_int_equal(vh->n_routes, ROUTER_INDEX_MIN);
	assert_non_null(ix);
	assert_int_equal(ix->n_lens, 2); /* 2 and 3 */
	assert_int_equal(ix->lens[0], 2);
	assert_int_equal(ix->lens[1], 3);
	assert_int_equal(ix->max_exact, 3);
	assert_int_equal(ix->n_other, 2);
	assert_int_equal(ix->other[0], 6);
	assert_int_equal(ix->other[1], 7);
	assert_int_equal(sel(s, "h", "/e1")->index, 0);
	assert_int_equal(sel(s, "h", "/p/x")->index, 3);
	assert_int_equal(sel(s, "h", "/q/x")->index, 5);
	assert_int_equal(sel(s, "h", "/Px")->index, 6);
	assert_int_equal(sel(s, "h", "/zx")->index, 7);
	assert_int_equal(sel(s, "h", "/h")->index, 15);
	assert_null(sel(s, "h", "/z"));
	cfg_snapshot_free(s);
	/* a short list: no index */
	s = compile_ok(RC(VH(RT("{'path': '/e1'}") ", " RT("{'path': '/e1'}"))));
	assert_null(router_config_get(s, 0)->vhosts[0].path_index);
	cfg_snapshot_free(s);
}

/* A route config "shop" with one virtual host for "*" holding route @p r. */
#define ONE(r) RC(VH(r))
#define R0     "$.route_configs[0].virtual_hosts[0].routes[0]"
#define V0     "$.route_configs[0].virtual_hosts[0]"

static void test_errors_structure(void **state)
{
	(void)state;
	expect_error(RC_OPEN "1" RC_CLOSE, "$.route_configs[0]",
		     "expected a route config object, got 1");
	expect_error(HEAD ", 'route_configs': {}}", "$.route_configs", "expected an array");
	expect_error(RC_OPEN "{'name': 'a', 'virtual_hosts': [], 'x': 1}" RC_CLOSE,
		     "$.route_configs[0].x",
		     "unknown field; expected one of: name, virtual_hosts, retry_budget");
	expect_error(RC_OPEN "{'virtual_hosts': []}" RC_CLOSE, "$.route_configs[0].name",
		     "required field missing");
	expect_error(RC_OPEN "{'name': 'a'}" RC_CLOSE, "$.route_configs[0].virtual_hosts",
		     "required field missing; expected an array of 1..1024 virtual hosts");
	expect_error(RC_OPEN "{'name': 'a', 'virtual_hosts': []}" RC_CLOSE,
		     "$.route_configs[0].virtual_hosts", "got 0");
	expect_error(RC_OPEN "{'name': 'a', 'virtual_hosts': [" VH("") "]}, {'name': 'a', "
								       "'virtual_hosts': [" VH(
									       "") "]}" RC_CLOSE,
		     "$.route_configs[1].name", "expected a name no other route config has");
	expect_error(RC(VH("") ", " VH("")), "$.route_configs[0].virtual_hosts[1].name",
		     "a name no other virtual host of this route config has");
	expect_error(RC("{'name': 'v', 'domains': ['*'], 'routes': [], 'retry': 1}"), V0 ".retry",
		     "unknown field; expected one of: name, domains, routes");
	expect_error(RC("{'name': 'v', 'domains': ['*']}"), V0 ".routes", "required field missing");
	expect_error(RC("{'name': 'v', 'routes': []}"), V0 ".domains", "required field missing");
	expect_error(RC("{'name': 'v', 'domains': [], 'routes': []}"), V0 ".domains",
		     "expected an array of 1..256 domains, got 0");
	expect_error(ONE("{'match': {'prefix': '/'}, 'cluster': 'web', 'retries': 1}"),
		     R0 ".retries", "unknown field; expected one of: name, match, cluster");
	expect_error(ONE("{'name': 'bad name', 'match': {'prefix': '/'}, 'cluster': 'web'}"),
		     R0 ".name", "expected a name");
	/* retry_budget */
	expect_error(RC_OPEN
		     "{'name': 'a', 'virtual_hosts': [" VH("") "], 'retry_budget': "
							       "{'budget_percent': 0}}" RC_CLOSE,
		     "$.route_configs[0].retry_budget.budget_percent", "1..100, got 0");
	expect_error(RC_OPEN "{'name': 'a', 'virtual_hosts': [" VH("") "], 'retry_budget': "
								       "{'min': 1}}" RC_CLOSE,
		     "$.route_configs[0].retry_budget.min",
		     "unknown field; expected one of: budget_percent, min_retry_concurrency");
}

static void test_errors_domains(void **state)
{
	(void)state;
#define DOM(d) RC("{'name': 'v', 'domains': [" d "], 'routes': []}")
	expect_error(DOM("'a.example:80'"), V0 ".domains[0]",
		     "expected a domain: a host name, \"*.suffix\", \"prefix.*\" or \"*\" (no "
		     "port), got \"a.example:80\"");
	expect_error(DOM("'ok.example', 'a.*.example'"), V0 ".domains[1]", "got \"a.*.example\"");
	expect_error(DOM("'**'"), V0 ".domains[0]", "got \"**\"");
	expect_error(DOM("'*a*'"), V0 ".domains[0]", "got \"*a*\"");
	expect_error(DOM("'a b'"), V0 ".domains[0]", "got \"a b\"");
	expect_error(DOM("''"), V0 ".domains[0]", "got \"\"");
	expect_error(DOM("1"), V0 ".domains[0]", "got 1");
	expect_error(DOM("'[fd00::1'"), V0 ".domains[0]", "got \"[fd00::1\"");
	/* unique across the virtual hosts of a route config, case-insensitively */
	expect_error(RC("{'name': 'a', 'domains': ['x.example', 'Y.example'], 'routes': []}, "
			"{'name': 'b', 'domains': ['z.example', 'y.EXAMPLE'], 'routes': []}"),
		     "$.route_configs[0].virtual_hosts",
		     "expected domains unique across the virtual hosts, got \"y.example\" in "
		     "virtual_hosts[0].domains[1] and virtual_hosts[1].domains[1]");
	expect_error(RC("{'name': 'a', 'domains': ['*'], 'routes': []}, "
			"{'name': 'b', 'domains': ['*'], 'routes': []}"),
		     "$.route_configs[0].virtual_hosts",
		     "got \"*\" in virtual_hosts[0].domains[0] and virtual_hosts[1].domains[0]");
	expect_error(DOM("'*.a', '*.a'"), "$.route_configs[0].virtual_hosts",
		     "got \"*.a\" in virtual_hosts[0].domains[0] and virtual_hosts[0].domains[1]");
#undef DOM
	/* two route configs may serve the same domain */
	cfg_snapshot_free(compile_ok(RC_OPEN "{'name': 'a', 'virtual_hosts': [" VH(
		"") "]}, {'name': 'b', 'virtual_hosts': [" VH("") "]}" RC_CLOSE));
}

static void test_errors_match(void **state)
{
	(void)state;
	expect_error(ONE("{'cluster': 'web'}"), R0 ".match",
		     "required field missing; expected an object with one of prefix, path, regex");
	expect_error(ONE("{'match': [], 'cluster': 'web'}"), R0 ".match", "expected an object");
	expect_error(ONE(RT("{}")), R0 ".match", "expected one of prefix, path, regex; got none");
	expect_error(ONE(RT("{'prefix': '/', 'path': '/a'}")), R0 ".match.path",
		     "expected one of prefix, path, regex, got both prefix and path");
	expect_error(ONE(RT("{'prefix': '/', 'exact': '/a'}")), R0 ".match.exact",
		     "unknown field; expected one of: prefix, path, regex, methods, headers, "
		     "query, case_sensitive");
	expect_error(ONE(RT("{'prefix': 'api'}")), R0 ".match.prefix",
		     "expected a path: '/' then visible ASCII, no '?' or '#', got \"api\"");
	expect_error(ONE(RT("{'path': '/a?b'}")), R0 ".match.path", "got \"/a?b\"");
	expect_error(ONE(RT("{'path': '/a b'}")), R0 ".match.path", "got \"/a b\"");
	expect_error(ONE(RT("{'path': ''}")), R0 ".match.path", "got \"\"");
	expect_error(ONE(RT("{'prefix': 1}")), R0 ".match.prefix", "got 1");
	expect_error(ONE(RT("{'regex': '^/(a'}")), R0 ".match.regex",
		     "expected a regular expression PCRE2 compiles, got \"^/(a\" (missing closing "
		     "parenthesis at offset 4)");
	expect_error(ONE(RT("{'regex': '[z-a]'}")), R0 ".match.regex",
		     "(range out of order in character class at offset 3)");
	expect_error(ONE(RT("{'prefix': '/', 'case_sensitive': 'no'}")), R0 ".match.case_sensitive",
		     "expected true or false");
	/* methods */
	expect_error(ONE(RT("{'prefix': '/', 'methods': []}")), R0 ".match.methods",
		     "expected an array of 1..16 method names, got 0");
	expect_error(ONE(RT("{'prefix': '/', 'methods': ['GET', 'G T']}")), R0 ".match.methods[1]",
		     "expected a method (an RFC 9110 token: \"GET\"), got "
		     "\"G T\"");
	expect_error(ONE(RT("{'prefix': '/', 'methods': ['GET', 'GET']}")), R0 ".match.methods[1]",
		     "expected a method not listed before");
	/* headers and query */
	expect_error(ONE(RT("{'prefix': '/', 'headers': [1]}")), R0 ".match.headers[0]",
		     "expected a header condition object, got 1");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'exact': '1'}]}")),
		     R0 ".match.headers[0].name", "required field missing");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'name': 'a:b', 'exact': '1'}]}")),
		     R0 ".match.headers[0].name",
		     "expected a header name (an RFC 9110 token), got \"a:b\"");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'name': 'a'}]}")), R0 ".match.headers[0]",
		     "expected one of exact, prefix, regex, present; got none");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'name': 'a', 'exact': '1', "
			    "'prefix': '1'}]}")),
		     R0 ".match.headers[0].prefix",
		     "expected one of exact, prefix, regex, present, got both exact and prefix");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'name': 'a', 'suffix': '1'}]}")),
		     R0 ".match.headers[0].suffix", "unknown field; expected one of: name, exact");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'name': 'a', 'present': false}]}")),
		     R0 ".match.headers[0].present",
		     "expected true (false: use \"invert\"), got false");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'name': 'a', 'regex': '('}]}")),
		     R0 ".match.headers[0].regex",
		     "expected a regular expression PCRE2 compiles, got \"(\"");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'name': 'a', 'exact': 'x\\ny'}]}")),
		     R0 ".match.headers[0].exact", "expected a string without control characters");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'name': 'a', 'prefix': ''}]}")),
		     R0 ".match.headers[0].prefix", "got \"\"");
	expect_error(ONE(RT("{'prefix': '/', 'headers': [{'name': 'a', 'present': true, "
			    "'invert': 1}]}")),
		     R0 ".match.headers[0].invert", "expected true or false, got 1");
	expect_error(ONE(RT("{'prefix': '/', 'query': [{'name': 'a', 'regex': '+'}]}")),
		     R0 ".match.query[0].regex", "quantifier does not follow a repeatable item");
	expect_error(ONE(RT("{'prefix': '/', 'query': [{'present': true}]}")),
		     R0 ".match.query[0].name", "required field missing");
	expect_error(ONE(RT("{'prefix': '/', 'query': {}}")), R0 ".match.query",
		     "expected an array of 0..16 query conditions");
}

static void test_errors_actions(void **state)
{
	(void)state;
	expect_error(ONE("{'match': {'prefix': '/'}}"), R0,
		     "expected one action: cluster, weighted_clusters, redirect or "
		     "direct_response; got none");
	expect_error(ONE("{'match': {'prefix': '/'}, 'cluster': 'web', 'direct_response': "
			 "{'status': 200}}"),
		     R0 ".direct_response",
		     "expected one action: cluster, weighted_clusters, redirect or "
		     "direct_response, got both cluster and direct_response");
	/* clusters */
	expect_error(ONE("{'match': {'prefix': '/'}, 'cluster': 'nope'}"), R0 ".cluster",
		     "expected the name or \"<namespace>/<name>\" of a service in $.services, got "
		     "\"nope\"");
	expect_error(ONE("{'match': {'prefix': '/'}, 'cluster': 'kube/web'}"), R0 ".cluster",
		     "got \"kube/web\"");
	expect_error(ONE("{'match': {'prefix': '/'}, 'cluster': 7}"), R0 ".cluster", "got 7");
	expect_error(ONE("{'match': {'prefix': '/'}, 'cluster': 'dns'}"), R0 ".cluster",
		     "expected a service with a TCP port (this one has UDP only), got \"dns\"");
	expect_error(ONE("{'match': {'prefix': '/'}, 'cluster': 'web', 'port': 8080}"), R0 ".port",
		     "expected a TCP port of service shop/web (80, 443), got 8080");
	/* weighted clusters */
	expect_error(ONE("{'match': {'prefix': '/'}, 'weighted_clusters': []}"),
		     R0 ".weighted_clusters", "expected an array of 1..64");
	expect_error(ONE("{'match': {'prefix': '/'}, 'weighted_clusters': [{'cluster': 'web', "
			 "'weight': 90}, {'cluster': 'web2', 'weight': 20}]}"),
		     R0 ".weighted_clusters",
		     "expected weights that sum to 100 (total_weight), got 110");
	expect_error(ONE("{'match': {'prefix': '/'}, 'total_weight': 10, 'weighted_clusters': "
			 "[{'cluster': 'web', 'weight': 5}, {'cluster': 'web2', 'weight': 4}]}"),
		     R0 ".weighted_clusters", "sum to 10 (total_weight), got 9");
	expect_error(ONE("{'match': {'prefix': '/'}, 'weighted_clusters': [{'cluster': 'web', "
			 "'weight': 101}]}"),
		     R0 ".weighted_clusters[0].weight", "0..100, got 101");
	expect_error(ONE("{'match': {'prefix': '/'}, 'weighted_clusters': [{'cluster': 'web'}]}"),
		     R0 ".weighted_clusters[0].weight",
		     "required field missing; expected an integer in 0..100");
	expect_error(ONE("{'match': {'prefix': '/'}, 'weighted_clusters': [{'cluster': 'web', "
			 "'weight': 50}, {'cluster': 'x', 'weight': 50}]}"),
		     R0 ".weighted_clusters[1].cluster", "got \"x\"");
	expect_error(ONE("{'match': {'prefix': '/'}, 'weighted_clusters': [{'weight': 100}]}"),
		     R0 ".weighted_clusters[0].cluster", "required field missing");
	expect_error(ONE("{'match': {'prefix': '/'}, 'weighted_clusters': [{'cluster': 'web', "
			 "'weight': 100, 'w': 1}]}"),
		     R0 ".weighted_clusters[0].w",
		     "unknown field; expected one of: cluster, weight, port");
	expect_error(ONE("{'match': {'prefix': '/'}, 'port': 443, 'weighted_clusters': "
			 "[{'cluster': 'web', 'weight': 50}, {'cluster': 'web2', 'weight': 50}]}"),
		     R0 ".port", "expected a TCP port of service shop/web2 (80), got 443");
	expect_error(ONE("{'match': {'prefix': '/'}, 'weighted_clusters': [{'cluster': 'web', "
			 "'weight': 100, 'port': 81}]}"),
		     R0 ".weighted_clusters[0].port", "(80, 443), got 81");
	expect_error(ONE("{'match': {'prefix': '/'}, 'cluster': 'web', 'total_weight': 100}"),
		     R0 ".total_weight", "expected only with weighted_clusters");
	/* redirect */
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {}}"), R0 ".redirect",
		     "expected at least one of scheme, host, port, path, prefix_rewrite (a "
		     "redirect to the same URL loops)");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'scheme': 'ftp'}}"),
		     R0 ".redirect.scheme", "expected \"http\" or \"https\", got \"ftp\"");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'host': 'a.example:80'}}"),
		     R0 ".redirect.host", "expected a host name or [IPv6] literal without a port");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'host': '*.a'}}"),
		     R0 ".redirect.host", "got \"*.a\"");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'port': 0}}"),
		     R0 ".redirect.port", "1..65535, got 0");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'path': 'x'}}"),
		     R0 ".redirect.path", "got \"x\"");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'path': '/x', "
			 "'prefix_rewrite': '/y'}}"),
		     R0 ".redirect.prefix_rewrite", "expected path or prefix_rewrite, got both");
	expect_error(ONE("{'match': {'regex': '.'}, 'redirect': {'prefix_rewrite': '/y'}}"),
		     R0 ".redirect.prefix_rewrite",
		     "expected a route matching a prefix or a path (the match is a regex)");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'host': 'a', 'code': 200}}"),
		     R0 ".redirect.code", "301..308, got 200");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'host': 'a', 'code': 304}}"),
		     R0 ".redirect.code", "expected 301, 302, 303, 307 or 308, got 304");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'host': 'a', 'strip_query': "
			 "'y'}}"),
		     R0 ".redirect.strip_query", "expected true or false");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'host': 'a', 'query': 1}}"),
		     R0 ".redirect.query", "unknown field; expected one of: scheme, host, port");
	/* direct response */
	expect_error(ONE("{'match': {'prefix': '/'}, 'direct_response': {}}"),
		     R0 ".direct_response.status",
		     "required field missing; expected an integer in 200..599");
	expect_error(ONE("{'match': {'prefix': '/'}, 'direct_response': {'status': 100}}"),
		     R0 ".direct_response.status", "200..599, got 100");
	expect_error(ONE("{'match': {'prefix': '/'}, 'direct_response': {'status': 204, "
			 "'body': 'x'}}"),
		     R0 ".direct_response.body", "expected no body with status 204");
	expect_error(ONE("{'match': {'prefix': '/'}, 'direct_response': {'status': 200, "
			 "'body': 1}}"),
		     R0 ".direct_response.body", "expected a string of at most 65536 bytes, got 1");
	expect_error(ONE("{'match': {'prefix': '/'}, 'direct_response': 1}"), R0 ".direct_response",
		     "expected an object, got 1");
	/* members that only a proxied route may have */
	expect_error(ONE("{'match': {'prefix': '/'}, 'direct_response': {'status': 200}, "
			 "'timeout_ms': 5}"),
		     R0 ".timeout_ms",
		     "expected only with cluster or weighted_clusters (this route's action is "
		     "direct_response)");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'host': 'a'}, 'port': 80}"),
		     R0 ".port", "(this route's action is redirect)");
	expect_error(ONE("{'match': {'prefix': '/'}, 'redirect': {'host': 'a'}, 'retry_policy': "
			 "{'retry_on': ['5xx']}}"),
		     R0 ".retry_policy", "expected only with cluster or weighted_clusters");
}

static void test_errors_policies(void **state)
{
	(void)state;
#define PR(m) ONE("{'match': {'prefix': '/'}, 'cluster': 'web', " m "}")
	/* rewrites */
	expect_error(PR("'prefix_rewrite': 'x'"), R0 ".prefix_rewrite", "got \"x\"");
	expect_error(ONE("{'match': {'regex': '^/a'}, 'cluster': 'web', 'prefix_rewrite': '/'}"),
		     R0 ".prefix_rewrite",
		     "expected a route matching a prefix or a path (the match is a regex)");
	expect_error(PR("'host_rewrite': 'a b'"), R0 ".host_rewrite",
		     "expected a host name or [IPv6] literal, optionally with :port, got \"a b\"");
	expect_error(PR("'host_rewrite': ''"), R0 ".host_rewrite", "got \"\"");
	cfg_snapshot_free(compile_ok(PR("'host_rewrite': 'b.internal:8080'")));
	/* declared query parameters (request inspection) */
	{
		struct cfg_snapshot *q = compile_ok(PR("'query_params': ['q', 'page']"));
		const struct router_route *r = &router_config_get(q, 0)->vhosts[0].routes[0];

		assert_int_equal(r->n_query_params, 2);
		assert_int_equal(r->query_params[1].len, 4);
		assert_memory_equal(r->query_params[1].p, "page", 4);
		cfg_snapshot_free(q);
		q = compile_ok(PR("'query_params': []"));
		r = &router_config_get(q, 0)->vhosts[0].routes[0];
		assert_non_null(r->query_params); /* declares none: any parameter is undeclared */
		assert_int_equal(r->n_query_params, 0);
		cfg_snapshot_free(q);
		q = compile_ok(PR("'timeout_ms': 5"));
		assert_null(router_config_get(q, 0)->vhosts[0].routes[0].query_params);
		cfg_snapshot_free(q);
	}
	expect_error(PR("'query_params': ['a=b']"), R0 ".query_params[0]", "query parameter name");
	expect_error(PR("'query_params': ['']"), R0 ".query_params[0]", "query parameter name");
	expect_error(PR("'query_params': ['a', 'a']"), R0 ".query_params[1]", "declared twice");
	expect_error(PR("'query_params': 'a'"), R0 ".query_params", NULL);
	/* timeouts */
	expect_error(PR("'timeout_ms': 3600001"), R0 ".timeout_ms", "0..3600000, got 3600001");
	expect_error(PR("'idle_timeout_ms': -1"), R0 ".idle_timeout_ms", "got -1");
	/* header edits */
	expect_error(PR("'request_headers_add': [{'name': 'x'}]"),
		     R0 ".request_headers_add[0].value", "required field missing");
	expect_error(PR("'request_headers_add': [{'value': 'x'}]"),
		     R0 ".request_headers_add[0].name", "required field missing");
	expect_error(PR("'request_headers_add': [{'name': 'Host', 'value': 'x'}]"),
		     R0 ".request_headers_add[0].name",
		     "expected a header name (an RFC 9110 token) other than host, content-length");
	expect_error(PR("'response_headers_add': [{'name': 'Transfer-Encoding', 'value': "
			"'chunked'}]"),
		     R0 ".response_headers_add[0].name", "got \"Transfer-Encoding\"");
	expect_error(PR("'request_headers_add': [{'name': 'x', 'value': 'a\\r\\nb: c'}]"),
		     R0 ".request_headers_add[0].value",
		     "expected a header value (no CR, LF, NUL or other controls)");
	expect_error(PR("'request_headers_add': [{'name': 'x', 'value': 'a', 'append': 0}]"),
		     R0 ".request_headers_add[0].append", "expected true or false");
	expect_error(PR("'request_headers_add': [{'name': 'x', 'value': 'a', 'v': 0}]"),
		     R0 ".request_headers_add[0].v",
		     "unknown field; expected one of: name, value, append");
	expect_error(PR("'request_headers_remove': ['ok', 'content-length']"),
		     R0 ".request_headers_remove[1]", "got \"content-length\"");
	expect_error(PR("'response_headers_remove': [3]"), R0 ".response_headers_remove[0]",
		     "got 3");
	expect_error(RC("{'name': 'v', 'domains': ['*'], 'routes': [], 'request_headers_remove': "
			"['Connection']}"),
		     V0 ".request_headers_remove[0]", "got \"Connection\"");
	/* retry policy */
	expect_error(PR("'retry_policy': {}"), R0 ".retry_policy.retry_on",
		     "required field missing; expected an array of 1..10 retry conditions");
	expect_error(PR("'retry_policy': {'retry_on': ['5xx', 'timeout']}"),
		     R0 ".retry_policy.retry_on[1]",
		     "expected \"5xx\", \"gateway-error\", \"reset\", \"connect-failure\", "
		     "\"retriable-status-codes\" or a gRPC status: \"cancelled\", "
		     "\"deadline-exceeded\", \"resource-exhausted\", \"internal\", "
		     "\"unavailable\", got \"timeout\"");
	expect_error(PR("'retry_policy': {'retry_on': ['5xx'], 'num_retries': 11}"),
		     R0 ".retry_policy.num_retries", "0..10, got 11");
	expect_error(PR("'retry_policy': {'retry_on': ['5xx'], 'retriable_status_codes': [503]}"),
		     R0 ".retry_policy.retriable_status_codes",
		     "expected \"retriable-status-codes\" in retry_on with retriable_status_codes");
	expect_error(PR("'retry_policy': {'retry_on': ['retriable-status-codes']}"),
		     R0 ".retry_policy.retriable_status_codes",
		     "required field missing (retry_on has \"retriable-status-codes\")");
	expect_error(PR("'retry_policy': {'retry_on': ['retriable-status-codes'], "
			"'retriable_status_codes': [503, 99]}"),
		     R0 ".retry_policy.retriable_status_codes[1]",
		     "expected a status code in 100..599, got 99");
	expect_error(PR("'timeout_ms': 500, 'retry_policy': {'retry_on': ['5xx'], "
			"'per_try_timeout_ms': 1000}"),
		     R0 ".retry_policy.per_try_timeout_ms",
		     "expected at most the route's timeout_ms (500), got 1000");
	cfg_snapshot_free(compile_ok(PR("'timeout_ms': 0, 'retry_policy': {'retry_on': ['5xx'], "
					"'per_try_timeout_ms': 1000}")));
	expect_error(PR("'retry_policy': {'retry_on': ['5xx'], 'backoff': {'base_ms': 0}}"),
		     R0 ".retry_policy.backoff.base_ms", "1..60000, got 0");
	expect_error(PR("'retry_policy': {'retry_on': ['5xx'], 'backoff': {'base_ms': 100, "
			"'max_ms': 50}}"),
		     R0 ".retry_policy.backoff.max_ms", "100..600000, got 50");
	expect_error(PR("'retry_policy': {'retry_on': ['5xx'], 'backoff': {'jitter': 1}}"),
		     R0 ".retry_policy.backoff.jitter",
		     "unknown field; expected one of: base_ms, max_ms");
	expect_error(PR("'retry_policy': {'retry_on': ['5xx'], 'retry_host_predicate': 'any'}"),
		     R0 ".retry_policy.retry_host_predicate",
		     "expected \"previous_hosts\", got \"any\"");
	expect_error(PR("'retry_policy': {'retry_on': ['5xx'], 'hedge': true}"),
		     R0 ".retry_policy.hedge", "unknown field; expected one of: retry_on");
	/* fault */
	expect_error(PR("'fault': {}"), R0 ".fault", "expected delay, abort or both; got neither");
	expect_error(PR("'fault': {'delay': {'percent': 5}}"), R0 ".fault.delay.fixed_ms",
		     "required field missing; expected an integer in 1..3600000");
	expect_error(PR("'fault': {'delay': {'fixed_ms': 5, 'percent': 101}}"),
		     R0 ".fault.delay.percent",
		     "expected a number in 0..100 (a percentage), got "
		     "101");
	expect_error(PR("'fault': {'delay': {'fixed_ms': 5, 'percent': '5'}}"),
		     R0 ".fault.delay.percent", "got \"5\"");
	expect_error(PR("'fault': {'abort': {'percent': 5}}"), R0 ".fault.abort.status",
		     "required field missing; expected an integer in 200..599");
	expect_error(PR("'fault': {'abort': {'status': 600}}"), R0 ".fault.abort.status",
		     "200..599, got 600");
	expect_error(PR("'fault': {'abort': {'status': 503, 'grpc': 1}}"), R0 ".fault.abort.grpc",
		     "unknown field; expected one of: status, percent");
	expect_error(PR("'fault': {'abort': {'status': 503}, 'x': 1}"), R0 ".fault.x",
		     "unknown field; expected one of: delay, abort");
#undef PR
}

/* Run router command @p name with @p req (consumed) against the live snapshot. */
static json_t *run_cmd(const char *name, json_t *req)
{
	const struct control_peer peer = {.uid = 0};
	json_t *reply = NULL;

	json_object_set_new(req, "cmd", json_string(name));
	for (unsigned int i = 0; i < router_commands.n; i++)
		if (strcmp(router_commands.cmds[i].name, name) == 0)
			reply = router_commands.cmds[i].fn(NULL, req, &peer);
	json_decref(req);
	assert_non_null(reply);
	return reply;
}

static json_t *cmd_ok(const char *name, json_t *req)
{
	json_t *r = run_cmd(name, req);

	if (!json_is_true(json_object_get(r, "ok"))) {
		print_error("%s: %s\n", name, json_string_value(json_object_get(r, "error")));
		fail();
	}
	json_incref(json_object_get(r, "result"));
	json_t *res = json_object_get(r, "result");
	json_decref(r);
	return res;
}

static void cmd_error(const char *name, json_t *req, const char *want)
{
	json_t *r = run_cmd(name, req);

	assert_false(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "error")), want);
	json_decref(r);
}

#define JS(o, k) json_string_value(json_object_get(o, k))
#define JI(o, k) json_integer_value(json_object_get(o, k))

/* meshctl http routes / http route-test, on the control thread against cfg_live. */
static void test_commands(void **state)
{
	struct cfg_snapshot *s = compile_ok(full_doc);
	struct cfg_snapshot *saved = cfg_live;
	json_t *res, *rt, *v;

	(void)state;
	cfg_live = s;
	res = cmd_ok("http_routes", json_object());
	assert_int_equal(JI(res, "regexes"), 1);
	/* this machine's PCRE2 has a JIT: nothing runs in the interpreter */
	assert_int_equal(JI(res, "regexes_interpreted"), 0);
	v = json_array_get(json_object_get(res, "route_configs"), 0);
	assert_string_equal(JS(v, "name"), "shop");
	assert_int_equal(JI(json_object_get(v, "retry_budget"), "budget_percent"), 25);
	v = json_array_get(json_object_get(v, "virtual_hosts"), 0);
	assert_string_equal(JS(v, "name"), "web");
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "domains"), 2)),
			    "shop.*");
	rt = json_array_get(json_object_get(v, "routes"), 0);
	assert_string_equal(JS(rt, "action"), "weighted_clusters");
	assert_string_equal(JS(json_object_get(rt, "match"), "prefix"), "/api/");
	assert_string_equal(JS(json_array_get(json_object_get(rt, "clusters"), 1), "cluster"),
			    "shop/web2");
	assert_int_equal(JI(json_object_get(rt, "retry_policy"), "num_retries"), 2);
	rt = json_array_get(json_object_get(v, "routes"), 2);
	assert_true(json_is_true(json_object_get(json_object_get(rt, "match"), "jit")));
	json_decref(res);
	res = cmd_ok("http_routes", json_pack("{s:s}", "name", "shop"));
	assert_int_equal(json_array_size(json_object_get(res, "route_configs")), 1);
	json_decref(res);
	cmd_error("http_routes", json_pack("{s:s}", "name", "nope"),
		  "http_routes: no route config named 'nope'");
	cmd_error("http_routes", json_pack("{s:i}", "name", 1),
		  "http_routes: argument \"name\" must be a string");

	/* route-test: the weighted route needs its header and query parameter */
	res = cmd_ok("http_route_test",
		     json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "config", "shop", "host",
			       "a.shop.example:8080", "path", "/API/users?debug", "method", "POST",
			       "headers", "x-canary: 1"));
	assert_string_equal(JS(res, "virtual_host"), "web");
	assert_string_equal(JS(json_object_get(res, "route"), "name"), "api");
	assert_string_equal(JS(res, "upstream_path"), "/users");
	json_decref(res);
	res = cmd_ok("http_route_test", json_pack("{s:s, s:s, s:s}", "config", "shop", "host",
						  "shop.example", "path", "/API/users?debug"));
	assert_string_equal(JS(json_object_get(res, "route"), "name"), "tls");
	assert_string_equal(JS(res, "upstream_path"), "/API/users");
	json_decref(res);
	res = cmd_ok("http_route_test", json_pack("{s:s, s:s, s:s}", "config", "shop", "host",
						  "shop.example", "path", "/old?a=1"));
	assert_int_equal(JI(res, "status"), 308);
	assert_string_equal(JS(res, "location"), "https://new.example/new?a=1");
	json_decref(res);
	res = cmd_ok("http_route_test", json_pack("{s:s, s:s, s:s}", "config", "shop", "host",
						  "shop.org", "path", "/v2/health"));
	assert_string_equal(JS(json_object_get(res, "route"), "action"), "direct_response");
	assert_int_equal(JI(res, "status"), 200);
	json_decref(res);
	res = cmd_ok("http_route_test", json_pack("{s:s, s:s, s:s}", "config", "shop", "host",
						  "elsewhere", "path", "/"));
	assert_string_equal(JS(res, "virtual_host"), "other");
	assert_true(json_is_null(json_object_get(res, "route")));
	assert_int_equal(JI(res, "status"), 404);
	assert_string_equal(JS(res, "reason"), "no route");
	json_decref(res);
	cmd_error("http_route_test",
		  json_pack("{s:s, s:s, s:s}", "config", "x", "host", "h", "path", "/"),
		  "http_route_test: no route config named 'x'");
	cmd_error("http_route_test", json_pack("{s:s, s:s}", "config", "shop", "host", "h"),
		  "http_route_test: missing argument \"path\"");
	cmd_error("http_route_test",
		  json_pack("{s:s, s:s, s:s, s:[s]}", "config", "shop", "host", "h", "path", "/",
			    "headers", "novalue"),
		  "http_route_test: header 0 is not \"name:value\"");
	cmd_error("http_route_test",
		  json_pack("{s:s, s:s, s:s, s:i}", "config", "shop", "host", "h", "path", "/",
			    "method", 1),
		  "http_route_test: argument \"method\" must be a string");
	cfg_live = saved;
	cfg_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_full),	 cmocka_unit_test(test_policy_defaults),
		cmocka_unit_test(test_path_kinds),	 cmocka_unit_test(test_route_order),
		cmocka_unit_test(test_domains),		 cmocka_unit_test(test_host_strip_port),
		cmocka_unit_test(test_conditions),	 cmocka_unit_test(test_regex_limit),
		cmocka_unit_test(test_weighted),	 cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_redirect),	 cmocka_unit_test(test_retry_helpers),
		cmocka_unit_test(test_cluster_resolve),	 cmocka_unit_test(test_swap),
		cmocka_unit_test(test_index_agrees),	 cmocka_unit_test(test_index_shape),
		cmocka_unit_test(test_errors_structure), cmocka_unit_test(test_errors_domains),
		cmocka_unit_test(test_errors_match),	 cmocka_unit_test(test_errors_actions),
		cmocka_unit_test(test_errors_policies),	 cmocka_unit_test(test_commands),
	};
	int rc;

	test_eal_init();
	rw = router_worker_create(&rw_stats);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	router_worker_free(rw);
	return rc;
}
