/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * audit: a compliant document audits without a FAIL, and each weakness of a
 * deliberately weak one is reported with its requirement, result and JSON
 * path: router mode, a policy from anyone, egress to every address, a
 * plaintext listener, permissive and disabled mTLS, a cluster in plaintext or
 * without breakers, no health checks, long certificate lifetimes only
 * warned about, a control group without roles. Requirements a data plane can
 * check that nothing meets get a WARN; an unknown requirement is a FAIL.
 * Certificates come from tools/certs.sh (CERTS_SH) in a mkdtemp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/audit/audit.h"
#include "dataplane/config/config.h"
#include "certs_fixture.h"
#include "config_fixture.h"
#include "test_eal.h"

static char dir[64];

static int group_setup(void **state)
{
	(void)state;
	test_eal_init();
	if (certs_dir(dir, sizeof(dir), "audit") != 0 ||
	    run("%s %s leaf edge spiffe://cluster.local/ns/shop/sa/edge >/dev/null", CERTS_SH,
		dir) != 0 ||
	    run("%s %s leaf old spiffe://cluster.local/ns/shop/sa/old --hours 48 >/dev/null",
		CERTS_SH, dir) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return run("rm -rf %s", dir) == 0 ? 0 : -1;
}

/*
 * A mesh document: service shop/web behind an mTLS tcp_proxy listener that
 * originates TLS to it, shop/db behind a second listener, an external
 * service, the secrets; @p weak selects every weakness at once.
 */
static const char *audit_doc(bool weak)
{
	static char buf[8192];
	char ids[512], db_tls[256];

	snprintf(ids, sizeof(ids),
		 "{'name': 'edge', 'cert': '%s/edge.pem', 'key': '%s/edge.key'}%s%s%s%s%s", dir,
		 dir, weak ? ", {'name': 'old', 'cert': '" : "", weak ? dir : "",
		 weak ? "/old.pem', 'key': '" : "", weak ? dir : "", weak ? "/old.key'}" : "");
	snprintf(db_tls, sizeof(db_tls),
		 ", 'tls': {'secret': 'edge', 'mtls': 'strict', 'allowed_peers': "
		 "['spiffe://cluster.local/ns/shop/sa/frontend']}");
	snprintf(
		buf, sizeof(buf),
		"{'version': 1, 'control': {'group': '%s'}, 'mode': 'mesh', "
		"'interfaces': [{'name': 'client', 'port': 'p0', 'ipv4': ['10.10.1.1/24']}, "
		"{'name': 'server', 'port': 'p1', 'ipv4': ['10.10.2.1/24']}], "
		"'mesh': {'prefixes': ['10.10.0.0/16', '10.96.0.0/24']}, "
		"'workloads': [{'name': 'frontend', 'namespace': 'shop', 'service': 'frontend', "
		"'prefixes': ['10.10.1.2/32']}], "
		"'services': [{'name': 'web', 'namespace': 'shop', 'vip': '10.96.0.10', 'ports': "
		"[{'port': 80}], 'endpoints': [{'address': '10.10.2.10'}], 'health': "
		"{'interval_ms': %d}}, "
		"{'name': 'db', 'namespace': 'shop', 'vip': '10.96.0.11', 'ports': [{'port': "
		"5432}], "
		"'endpoints': [{'address': '10.10.2.11'}]}], "
		"'external_services': [{'name': 'pay', 'prefixes': ['%s'], 'ports': [443]}], "
		"'policies': [{'name': 'fe-web', 'action': 'allow', 'from': %s, 'to': {'service': "
		"'web'}}, {'name': 'fe-db', 'action': 'allow', 'from': {'namespace': 'shop', "
		"'service': 'frontend'}, 'to': {'service': 'db'}}, {'name': 'fe-pay', 'action': "
		"'allow', 'from': {'namespace': 'shop', 'service': 'frontend'}, 'to': "
		"{'external': 'pay'}}], "
		"'secrets': {%s'identities': [%s], 'trust_domains': [{'name': 'cluster.local', "
		"'bundle': '%s/ca.pem'}]}, "
		"'listeners': [{'name': 'edge', 'type': 'tcp_proxy', 'address': '10.10.1.1', "
		"'port': 8443, 'cluster': 'shop/web', 'tls': {'secret': 'edge', 'mtls': '%s', "
		"'allowed_peers': ['spiffe://cluster.local/ns/shop/sa/frontend']}}, "
		"{'name': 'db', 'type': 'tcp_proxy', 'address': '10.10.1.1', 'port': 5432, "
		"'cluster': 'shop/db'%s}], "
		"'clusters': [{'service': 'shop/web', 'circuit_breakers': {'max_requests': %d}%s}, "
		"{'service': 'shop/db', 'tls': {'secret': 'edge', "
		"'expected_peer': 'spiffe://cluster.local/ns/shop/sa/db'}}]%s}",
		weak ? "meshdp" : "", weak ? 0 : 1000, weak ? "0.0.0.0/0" : "192.0.2.10/32",
		weak ? "{'namespace': '*', 'service': '*'}"
		     : "{'namespace': 'shop', 'service': 'frontend'}",
		weak ? "'on_long_lifetime': 'warn', " : "", ids, dir,
		weak ? "permissive" : "strict", weak ? "" : db_tls, weak ? 0 : 100,
		weak ? ""
		     : ", 'tls': {'secret': 'edge', 'expected_peer': "
		       "'spiffe://cluster.local/ns/shop/sa/web'}",
		weak ? ", 'telemetry': {'security_events': {'enabled': false}}, "
		       "'request_inspection': {'mode': 'off', 'duplicate_parameters': 'off'}"
		     : "");
	return buf;
}

static json_t *audit_of(const char *doc, struct cfg_snapshot **snap)
{
	json_t *report;

	*snap = compile_ok(doc);
	report = audit_snapshot(*snap);
	assert_non_null(report);
	return report;
}

/* The number of findings on @p req with @p result at @p path (NULL: any path). */
static unsigned int count(const json_t *report, const char *req, const char *result,
			  const char *path)
{
	const json_t *f;
	unsigned int n = 0;
	size_t i;

	json_array_foreach(json_object_get(report, "findings"), i, f)
	{
		if (strcmp(json_string_value(json_object_get(f, "requirement")), req) == 0 &&
		    strcmp(json_string_value(json_object_get(f, "result")), result) == 0 &&
		    (path == NULL ||
		     strcmp(json_string_value(json_object_get(f, "path")), path) == 0))
			n++;
	}
	return n;
}

static void print_report(const json_t *report)
{
	char *s = json_dumps(report, JSON_INDENT(1));

	print_message("%s\n", s);
	free(s);
}

/* The compliant document: no FAIL; the checkable requirements it meets PASS. */
static void test_compliant(void **state)
{
	struct cfg_snapshot *snap;
	json_t *r = audit_of(audit_doc(false), &snap);

	(void)state;
	if (json_integer_value(json_object_get(r, "fail")) != 0)
		print_report(r);
	assert_int_equal(json_integer_value(json_object_get(r, "fail")), 0);
	assert_int_equal(count(r, "SM-DR1", "PASS", "$.mode"), 1);
	assert_int_equal(count(r, "SM-DR2", "PASS", "$.policies"), 1);
	assert_int_equal(count(r, "SM-DR2", "WARN", NULL), 0);
	assert_int_equal(count(r, "SM-DR8", "PASS", "$.external_services"), 1);
	assert_int_equal(count(r, "SM-DR9", "PASS", "$.clusters[0].circuit_breakers"), 1);
	assert_int_equal(count(r, "SM-DR9", "WARN", "$.clusters[1].circuit_breakers"), 1);
	assert_int_equal(count(r, "SM-DR12", "PASS", "$.secrets.identities[0]"), 1);
	assert_int_equal(count(r, "SM-DR13", "PASS", "$.secrets.identities[0]"), 1);
	assert_int_equal(count(r, "SM-DR14", "PASS", "$.listeners[0].tls.drain_window_s"), 1);
	assert_int_equal(count(r, "SM-DR15", "PASS", "$.secrets.identities[0]"), 1);
	assert_int_equal(count(r, "SM-DR16", "PASS", "$.listeners[0].tls"), 1);
	assert_int_equal(count(r, "SM-DR16", "PASS", "$.listeners[1].tls"), 1);
	assert_int_equal(count(r, "SM-DR17", "PASS", "$.clusters[0].tls.expected_peer"), 1);
	assert_int_equal(count(r, "SM-DR17", "PASS", "$.clusters[1].tls.expected_peer"), 1);
	assert_int_equal(count(r, "SM-DR23", "PASS", "$.admin.listen"), 1);
	assert_int_equal(count(r, "SM-DR26", "PASS", "$.services"), 1);
	assert_int_equal(count(r, "SM-DR28", "PASS", "$.control.group"), 1);
	/* telemetry's defaults: non-2xx logged, Istio metrics, no tracing */
	assert_int_equal(count(r, "SM-DR22", "PASS", "$.telemetry.access_log"), 1);
	assert_int_equal(count(r, "SM-DR23", "PASS", "$.telemetry.metrics"), 1);
	assert_int_equal(count(r, "SM-DR24", "WARN", "$.telemetry.tracing.enabled"), 1);
	/* security events on, request inspection detecting (the defaults) */
	assert_int_equal(count(r, "SM-DR21", "PASS", "$.telemetry.security_events"), 1);
	assert_int_equal(count(r, "SM-DR21", "PASS", "$.request_inspection.mode"), 1);
	assert_int_equal(count(r, "SM-DR21", "WARN", NULL), 0);
	/* what nothing in the document meets yet */
	assert_int_equal(count(r, "SM-DR20", "WARN", "$"), 1);
	/* the counts add up */
	assert_int_equal(json_integer_value(json_object_get(r, "pass")) +
				 json_integer_value(json_object_get(r, "warn")) +
				 json_integer_value(json_object_get(r, "fail")),
			 json_array_size(json_object_get(r, "findings")));
	json_decref(r);
	cfg_snapshot_free(snap);
}

/* The weak document: each weakness at its path. */
static void test_weak(void **state)
{
	struct cfg_snapshot *snap;
	json_t *r = audit_of(audit_doc(true), &snap);

	(void)state;
	assert_int_equal(count(r, "SM-DR2", "WARN", "$.policies[0]"), 1);
	assert_int_equal(count(r, "SM-DR21", "FAIL", "$.telemetry.security_events.enabled"), 1);
	assert_int_equal(count(r, "SM-DR21", "FAIL", "$.request_inspection.mode"), 1);
	assert_int_equal(count(r, "SM-DR21", "WARN", "$.request_inspection.duplicate_parameters"),
			 1);
	assert_int_equal(count(r, "SM-DR21", "PASS", NULL), 0);
	assert_int_equal(count(r, "SM-DR8", "FAIL", "$.external_services[0].prefixes[0]"), 1);
	assert_int_equal(count(r, "SM-DR8", "PASS", NULL), 0);
	assert_int_equal(count(r, "SM-DR9", "WARN", "$.clusters[0].circuit_breakers"), 1);
	assert_int_equal(count(r, "SM-DR13", "WARN", "$.secrets.on_long_lifetime"), 1);
	assert_int_equal(count(r, "SM-DR13", "FAIL", "$.secrets.identities[1]"), 1);
	assert_int_equal(count(r, "SM-DR16", "FAIL", "$.listeners[1]"), 1);
	assert_int_equal(count(r, "SM-DR16", "WARN", "$.clusters[0]"), 1);
	assert_int_equal(count(r, "SM-DR17", "PASS", "$.clusters[1].tls.expected_peer"), 1);
	assert_int_equal(count(r, "SM-DR19", "WARN", "$.listeners[0].tls"), 1);
	assert_int_equal(count(r, "SM-DR26", "WARN", "$.services[0].health.interval_ms"), 1);
	assert_int_equal(count(r, "SM-DR28", "WARN", "$.control.group"), 1);
	/* egress, the long-lived certificate, the plaintext listener, no security event log,
	 * no request inspection */
	assert_int_equal(json_integer_value(json_object_get(r, "fail")), 5);
	json_decref(r);
	cfg_snapshot_free(snap);
}

/* Router mode: no allow-lists, no egress control. */
static void test_router_mode(void **state)
{
	struct cfg_snapshot *snap;
	json_t *r = audit_of(json_of("{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', "
				     "'ipv4': ['10.0.0.1/24']}]}"),
			     &snap);

	(void)state;
	assert_int_equal(count(r, "SM-DR1", "FAIL", "$.mode"), 1);
	assert_int_equal(count(r, "SM-DR8", "FAIL", "$.mode"), 1);
	/* nothing configured for mTLS: the requirement is reported, not skipped */
	assert_int_equal(count(r, "SM-DR16", "WARN", "$"), 1);
	json_decref(r);
	cfg_snapshot_free(snap);
}

/* $.roles answers SM-DR28 for a control group; without an audit_log file, a WARN. */
static void test_roles(void **state)
{
	struct cfg_snapshot *snap;
	json_t *r = audit_of(json_of("{'version': 1, 'control': {'group': 'daemon'}, 'roles': "
				     "{'bindings': [{'uid': 1001, 'role': 'operator', 'scope': "
				     "['shop']}, {'user': 'root', 'role': 'admin'}]}}"),
			     &snap);

	(void)state;
	assert_int_equal(count(r, "SM-DR28", "WARN", "$.control.group"), 0);
	assert_int_equal(count(r, "SM-DR28", "PASS", "$.roles.bindings"), 1);
	assert_int_equal(count(r, "SM-DR28", "WARN", "$.roles.audit_log"), 1);
	json_decref(r);
	cfg_snapshot_free(snap);
}

/* SM-DR10: an HTTP listener with outbound_policy registry_only is an egress gateway. */
static void test_egress_gateway(void **state)
{
#define EGRESS_DOC(hosts)                                                                       \
	"{'version': 1, 'interfaces': [{'name': 'a', 'port': 'p0', 'ipv4': ['10.0.0.1/24']}], " \
	"'services': [{'name': 'api', 'namespace': 'external', 'vip': '10.96.0.50', 'ports': "  \
	"[{'port': 80}], 'endpoints': [{'address': '10.0.0.50'}]}], 'external_services': "      \
	"[{'name': 'api', 'prefixes': ['10.0.0.50/32'], 'ports': [80]" hosts "}], "             \
	"'route_configs': [{'name': 'rc', 'virtual_hosts': [{'name': 'v', 'domains': ['*'], "   \
	"'routes': [{'match': {'prefix': '/'}, 'cluster': 'external/api'}]}]}], 'listeners': "  \
	"[{'name': 'out', 'type': 'http', 'address': '10.0.0.1', 'port': 80, 'route_config': "  \
	"'rc', 'http': {'outbound_policy': 'registry_only'}}, {'name': 'in', 'type': 'http', "  \
	"'address': '10.0.0.1', 'port': 81, 'route_config': 'rc'}]}"
	struct cfg_snapshot *snap;
	json_t *r = audit_of(
		json_of(EGRESS_DOC(", 'hosts': ['api.example.com', '*.cdn.example.com']")), &snap);

	(void)state;
	assert_int_equal(count(r, "SM-DR10", "PASS", "$.listeners[0].http.outbound_policy"), 1);
	assert_int_equal(count(r, "SM-DR10", "PASS", "$.listeners[1].http.outbound_policy"), 0);
	assert_int_equal(count(r, "SM-DR10", "WARN", "$"), 0);
	json_decref(r);
	cfg_snapshot_free(snap);
	/* a gateway no host is declared for refuses everything */
	r = audit_of(json_of(EGRESS_DOC("")), &snap);
	assert_int_equal(count(r, "SM-DR10", "WARN", "$.listeners[0].http.outbound_policy"), 1);
	json_decref(r);
	cfg_snapshot_free(snap);
	/* no egress gateway at all: reported, not skipped */
	r = audit_of(json_of("{'version': 1}"), &snap);
	assert_int_equal(count(r, "SM-DR10", "WARN", "$"), 1);
	json_decref(r);
	cfg_snapshot_free(snap);
#undef EGRESS_DOC
}

static int probe_compile(struct cfg_snapshot *snap, const struct json_t *root,
			 const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	(void)snap, (void)root, (void)ctx, (void)err;
	return 0;
}

static void probe_free(struct cfg_snapshot *snap)
{
	(void)snap;
}

static void probe_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	(void)snap;
	audit_finding(r, "SM-DR99", AUDIT_PASS, "$.probe", "a typo in a section's hook");
}

/* A finding on a requirement the audit does not know is a FAIL naming it. */
static void test_unknown_requirement(void **state)
{
	static const char *const probe_keys[] = {"probe", NULL};
	static const struct cfg_section probe = {.name = "probe",
						 .keys = probe_keys,
						 .compile = probe_compile,
						 .free = probe_free,
						 .audit = probe_audit};
	const struct cfg_section *table[CFG_MAX_SECTIONS];
	const struct cfg_section *const *live;
	struct cfg_snapshot *snap;
	unsigned int n;
	json_t *r;

	(void)state;
	live = cfg_sections_get(&n);
	assert_true(n < CFG_MAX_SECTIONS);
	memcpy(table, live, n * sizeof(*table));
	table[n] = &probe;
	assert_int_equal(cfg_sections_set(table, n + 1), 0);
	snap = compile_ok("{'version': 1}");
	r = audit_snapshot(snap);
	assert_int_equal(count(r, "SM-DR99", "FAIL", "$.probe"), 1);
	assert_int_equal(count(r, "SM-DR99", "PASS", NULL), 0);
	json_decref(r);
	cfg_snapshot_free(snap);
	meshdp_sections_register();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compliant),      cmocka_unit_test(test_weak),
		cmocka_unit_test(test_router_mode),    cmocka_unit_test(test_roles),
		cmocka_unit_test(test_egress_gateway), cmocka_unit_test(test_unknown_requirement),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
