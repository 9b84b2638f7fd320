/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * authz: $.authorization and $.peer_authentication refused at the exact path
 * for each mistake;
 * the compiler and matcher on a matrix of rules: allow, deny and audit at
 * mesh, namespace and service scope, wildcards (prefix / suffix principals,
 * paths, hosts), namespaces from the SPIFFE ID, IP blocks, ports, headers,
 * not_* fields, deny before allow, allow-default-deny, TCP connections
 * against HTTP-only rules, counters per worker and per policy (kept across
 * a swap), and 10,000 rules checked against the rule family's oracle; peer
 * authentication: the most specific scope wins, a listener's own tls.mtls
 * wins over all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certs_fixture.h"
#include "config_fixture.h"
#include "dataplane/audit/audit.h"
#include "dataplane/authz/authz_internal.h"
#include "dataplane/tls/tls.h"
#include "test_eal.h"

/* services: shop/web (0), shop/cart (1), bank/vault (2) */
static const char base[] =
	"'version': 1, 'interfaces': [{'name': 'eth0', 'port': 'p0', 'ipv4': ['10.10.1.1/24']}], "
	"'services': ["
	"{'name': 'web', 'namespace': 'shop', 'vip': '10.96.0.10', 'ports': [{'port': 80}], "
	"'endpoints': [{'address': '10.10.1.10'}]}, "
	"{'name': 'cart', 'namespace': 'shop', 'vip': '10.96.0.11', 'ports': [{'port': 80}], "
	"'endpoints': [{'address': '10.10.1.11'}]}, "
	"{'name': 'vault', 'namespace': 'bank', 'vip': '10.96.0.12', 'ports': [{'port': 80}], "
	"'endpoints': [{'address': '10.10.1.12'}]}]";

enum { WEB, CART, VAULT };

static const char *doc_with(const char *authz)
{
	static char buf[16384];

	snprintf(buf, sizeof(buf), "{%s, 'authorization': %s}", base, authz);
	return buf;
}

static struct authz_request req(const char *principal, const char *method, const char *path)
{
	static uint8_t addr[4] = {10, 10, 1, 50};
	struct authz_request r = {
		.principal = principal,
		.family = 4,
		.addr = addr,
		.port = 8080,
		.http = method != NULL,
	};

	if (method != NULL) {
		r.method = (struct router_str){method, (uint32_t)strlen(method)};
		r.path = (struct router_str){path, (uint32_t)strlen(path)};
		r.host = (struct router_str){"api.example.com", 15};
	}
	return r;
}

/* The verdict for @p rq to @p svc; *policy the deciding policy's key ("" none). */
static enum authz_verdict decide(const struct cfg_snapshot *s, uint32_t svc,
				 const struct authz_request *rq, const char **policy)
{
	struct authz_decision d;

	authz_decide(s, svc, rq, &d);
	if (policy != NULL)
		*policy = d.policy >= 0 ? s->authz->policies[d.policy].key : "";
	return d.verdict;
}

static void expect(const struct cfg_snapshot *s, uint32_t svc, const char *principal,
		   const char *method, const char *path, enum authz_verdict want,
		   const char *want_policy)
{
	struct authz_request rq = req(principal, method, path);
	const char *pol;
	enum authz_verdict v = decide(s, svc, &rq, &pol);

	if (v != want || (want_policy != NULL && strcmp(pol, want_policy) != 0)) {
		print_error(
			"service %u principal %s %s %s: got %s by \"%s\", wanted %s by \"%s\"\n",
			svc, principal, method ? method : "(tcp)", path ? path : "",
			v == AUTHZ_ALLOW ? "allow" : "deny", pol,
			want == AUTHZ_ALLOW ? "allow" : "deny", want_policy ? want_policy : "*");
		fail();
	}
}

#define P_SHOP_FE "spiffe://cluster.local/ns/shop/sa/frontend"
#define P_SHOP_BE "spiffe://cluster.local/ns/shop/sa/backend"
#define P_BANK	  "spiffe://cluster.local/ns/bank/sa/teller"
#define P_OTHER	  "spiffe://other.test/ns/shop/sa/frontend"

/* The result of the audit finding on SM-DR19 at @p path ("" none). */
static const char *finding(const struct cfg_snapshot *s, const char *path, const char *needle)
{
	static char result[16];
	json_t *a = audit_snapshot(s), *f;
	size_t i;

	assert_non_null(a);
	result[0] = '\0';
	json_array_foreach(json_object_get(a, "findings"), i, f)
	{
		if (strcmp(json_string_value(json_object_get(f, "requirement")), "SM-DR19") != 0 ||
		    strcmp(json_string_value(json_object_get(f, "path")), path) != 0 ||
		    strstr(json_string_value(json_object_get(f, "reason")), needle) == NULL)
			continue;
		snprintf(result, sizeof(result), "%s",
			 json_string_value(json_object_get(f, "result")));
	}
	json_decref(a);
	return result;
}

static void test_refusals(void **state)
{
	(void)state;
	expect_error(doc_with("[{'name': 'a', 'rules': [{'from': [{'source': "
			      "{'request_principals': ['a*b']}}]}]}]"),
		     "$.authorization[0].rules[0].from[0].source.request_principals[0]",
		     "'*' only first or last");
	expect_error(doc_with("[{'name': 'a', 'rules': [{'when': [{'key': "
			      "'request.auth.claims[]', 'values': ['x']}]}]}]"),
		     "$.authorization[0].rules[0].when[0].key", "request.auth.claims[NAME]");
	expect_error(doc_with("[{'name': 'a', 'rules': [{'when': [{'key': "
			      "'request.auth.other', 'values': ['x']}]}]}]"),
		     "$.authorization[0].rules[0].when[0].key", "request.auth.principal");
	expect_error(doc_with("[{'name': 'a', 'rules': [{'when': [{'key': 'connection.sni', "
			      "'values': ['x']}]}]}]"),
		     "$.authorization[0].rules[0].when[0].key", "request.headers[NAME]");
	expect_error(doc_with("[{'name': 'a', 'rules': [{'when': [{'key': "
			      "'request.headers[x-a]'}]}]}]"),
		     "$.authorization[0].rules[0].when[0]", "\"values\" or \"not_values\"");
	expect_error(doc_with("[{'name': 'a', 'rules': [{'when': [{'values': ['x']}]}]}]"),
		     "$.authorization[0].rules[0].when[0].key", "required");
	expect_error(doc_with("[{'name': 'a', 'action': 'log'}]"), "$.authorization[0].action",
		     NULL);
	expect_error(doc_with("[{'name': 'a', 'selector': {'service': 'web'}}]"),
		     "$.authorization[0].selector", "needs the policy's \"namespace\"");
	expect_error(doc_with("[{'name': 'a', 'namespace': 'bank', 'selector': {'service': "
			      "'web'}}]"),
		     "$.authorization[0].selector.service", "no service \"web\"");
	expect_error(doc_with("[{'name': 'a', 'rules': [{'to': [{'operation': {'paths': "
			      "['/a*b']}}]}]}]"),
		     "$.authorization[0].rules[0].to[0].operation.paths[0]", "'*' only first");
	expect_error(doc_with("[{'name': 'a', 'rules': [{'to': [{'operation': {'ports': "
			      "[70000]}}]}]}]"),
		     "$.authorization[0].rules[0].to[0].operation.ports[0]", NULL);
	expect_error(doc_with("[{'name': 'a', 'rules': [{'from': [{'source': {'ip_blocks': "
			      "['10.1.2.3/8']}}]}]}]"),
		     "$.authorization[0].rules[0].from[0].source.ip_blocks[0]", NULL);
	expect_error(doc_with("[{'name': 'a', 'rules': [{'from': [{'source': {'users': "
			      "['x']}}]}]}]"),
		     "$.authorization[0].rules[0].from[0].source.users", "unknown field");
	expect_error(doc_with("[{'name': 'a', 'rules': [{'from': [{'principals': ['x']}]}]}]"),
		     "$.authorization[0].rules[0].from[0].principals", "unknown field");
	expect_error(doc_with("[{'name': 'a'}, {'name': 'a'}]"), "$.authorization[1].name",
		     "no other policy");
	expect_error(doc_with("[{'name': 'a', 'rules': [{'from': [{'source': {'principals': "
			      "[]}}]}]}]"),
		     "$.authorization[0].rules[0].from[0].source.principals", NULL);
}

static const char *pa_doc(const char *pa)
{
	static char buf[16384];

	snprintf(buf, sizeof(buf), "{%s, 'peer_authentication': %s}", base, pa);
	return buf;
}

static void test_peer_auth_refusals(void **state)
{
	(void)state;
	expect_error(pa_doc("[{'name': 'm'}]"), "$.peer_authentication[0].mtls", "required");
	expect_error(pa_doc("[{'name': 'm', 'mtls': {'mode': 'STRICTER'}}]"),
		     "$.peer_authentication[0].mtls.mode", NULL);
	expect_error(pa_doc("[{'name': 'm', 'namespace': 'shop', 'selector': {'identity': "
			    "'spiffe://cluster.local/ns/bank/sa/x'}, 'mtls': {'mode': 'strict'}}]"),
		     "$.peer_authentication[0].selector.identity", "is not the entry's");
	expect_error(pa_doc("[{'name': 'm', 'namespace': 'shop', 'selector': {'identity': "
			    "'web'}, 'mtls': {'mode': 'strict'}}]"),
		     "$.peer_authentication[0].selector.identity", "SPIFFE ID");
	expect_error(pa_doc("[{'name': 'm', 'mtls': {'mode': 'strict'}}, {'name': 'n', 'mtls': "
			    "{'mode': 'disable'}}]"),
		     "$.peer_authentication[1]", "at most one entry per scope");
}

/* Every action at every scope, and how they combine. */
static void test_scopes(void **state)
{
	struct cfg_snapshot *s;

	(void)state;
	s = compile_ok(doc_with(
		/* mesh: deny other trust domains; audit DELETE */
		"[{'name': 'no-foreign', 'action': 'deny', 'rules': [{'from': [{'source': "
		"{'principals': ['spiffe://other.test/*']}}]}]}, "
		"{'name': 'watch-delete', 'action': 'audit', 'rules': [{'to': [{'operation': "
		"{'methods': ['DELETE']}}]}]}, "
		/* namespace shop: allow its own namespace only */
		"{'name': 'shop-only', 'namespace': 'shop', 'rules': [{'from': [{'source': "
		"{'namespaces': ['shop']}}]}]}, "
		/* service shop/cart: deny the frontend's writes */
		"{'name': 'cart-ro', 'namespace': 'shop', 'selector': {'service': 'cart'}, "
		"'action': 'deny', 'rules': [{'from': [{'source': {'principals': ['" P_SHOP_FE
		"']}}], 'to': [{'operation': {'methods': ['POST', 'PUT']}}]}]}, "
		/* namespace bank: audit everything, allow tellers on /accounts/ */
		"{'name': 'bank-audit', 'namespace': 'bank', 'action': 'audit', 'rules': [{}]}, "
		"{'name': 'tellers', 'namespace': 'bank', 'selector': {'service': 'vault'}, "
		"'rules': [{'from': [{'source': {'principals': ['*/sa/teller']}}], 'to': "
		"[{'operation': {'paths': ['/accounts/*']}}]}]}]"));
	/* shop/web: mesh deny + shop allow */
	expect(s, WEB, P_SHOP_FE, "GET", "/", AUTHZ_ALLOW, "shop/shop-only");
	expect(s, WEB, P_SHOP_BE, "POST", "/x", AUTHZ_ALLOW, "shop/shop-only");
	expect(s, WEB, P_BANK, "GET", "/", AUTHZ_DENY, ""); /* no allow rule matched */
	expect(s, WEB, "", "GET", "/", AUTHZ_DENY, "");	    /* no identity: no namespace */
	expect(s, WEB, P_OTHER, "GET", "/", AUTHZ_DENY, "mesh/no-foreign"); /* deny first */
	/* shop/cart: the service's deny on top */
	expect(s, CART, P_SHOP_FE, "GET", "/items", AUTHZ_ALLOW, "shop/shop-only");
	expect(s, CART, P_SHOP_FE, "POST", "/items", AUTHZ_DENY, "shop/cart-ro");
	expect(s, CART, P_SHOP_BE, "POST", "/items", AUTHZ_ALLOW, "shop/shop-only");
	/* bank/vault: suffix principal and prefix path */
	expect(s, VAULT, P_BANK, "GET", "/accounts/42", AUTHZ_ALLOW, "bank/tellers");
	expect(s, VAULT, P_BANK, "GET", "/admin", AUTHZ_DENY, "");
	expect(s, VAULT, P_SHOP_FE, "GET", "/accounts/42", AUTHZ_DENY, "");
	expect(s, VAULT, "spiffe://other.test/ns/bank/sa/teller", "GET", "/accounts/1", AUTHZ_DENY,
	       "mesh/no-foreign");
	/* audits count but do not decide */
	{
		struct authz_request rq = req(P_SHOP_FE, "DELETE", "/x");
		struct authz_decision d;

		authz_decide(s, WEB, &rq, &d);
		assert_int_equal(d.verdict, AUTHZ_ALLOW);
		assert_int_equal(d.n_audit, 1);
		rq = req(P_BANK, "DELETE", "/accounts/1");
		authz_decide(s, VAULT, &rq, &d);
		assert_int_equal(d.verdict, AUTHZ_ALLOW);
		assert_int_equal(d.n_audit, 2); /* the mesh's and the namespace's */
		rq = req(P_BANK, "GET", "/accounts/1");
		authz_decide(s, VAULT, &rq, &d);
		assert_int_equal(d.n_audit, 1);
	}
	cfg_snapshot_free(s);

	/* only audit and deny policies: no default deny */
	s = compile_ok(doc_with("[{'name': 'd', 'namespace': 'bank', 'action': 'deny', 'rules': "
				"[{'to': [{'operation': {'paths': ['*.php']}}]}]}, "
				"{'name': 'a', 'action': 'audit', 'rules': [{}]}]"));
	expect(s, VAULT, P_BANK, "GET", "/index.php", AUTHZ_DENY, "bank/d");
	expect(s, VAULT, P_BANK, "GET", "/index.html", AUTHZ_ALLOW, "");
	expect(s, WEB, "", "GET", "/index.php", AUTHZ_ALLOW, ""); /* another namespace */
	assert_string_equal(finding(s, "$.authorization", "cover 3 of 3 services (0 deny"), "PASS");
	cfg_snapshot_free(s);

	/* an allow policy without rules allows nothing; rules: [{}] allows everything */
	s = compile_ok(doc_with("[{'name': 'nothing', 'namespace': 'shop'}, "
				"{'name': 'all', 'namespace': 'bank', 'rules': [{}]}]"));
	expect(s, WEB, P_SHOP_FE, "GET", "/", AUTHZ_DENY, "");
	expect(s, WEB, P_SHOP_FE, NULL, NULL, AUTHZ_DENY, "");
	expect(s, VAULT, "", "GET", "/", AUTHZ_ALLOW, "bank/all");
	expect(s, VAULT, "", NULL, NULL, AUTHZ_ALLOW, "bank/all");
	assert_true(authz_active(s, CART));
	cfg_snapshot_free(s);

	/* no policy at all: everything allowed, nothing active */
	s = compile_ok(doc_with("[]"));
	assert_false(authz_active(s, WEB));
	expect(s, WEB, "", "GET", "/", AUTHZ_ALLOW, "");
	cfg_snapshot_free(s);
}

/* Every action at every scope, one path each: which service each applies to. */
static void test_action_scope_matrix(void **state)
{
	static const char *const scopes[] = {"m", "n", "s"};
	static const char *const actions[] = {"allow", "deny", "audit"};
	char pol[4096], path[16], key[32];
	size_t o = 0;
	struct cfg_snapshot *s;

	(void)state;
	o += (size_t)snprintf(pol + o, sizeof(pol) - o, "[");
	for (int sc = 0; sc < 3; sc++)
		for (int a = 0; a < 3; a++)
			o += (size_t)snprintf(
				pol + o, sizeof(pol) - o,
				"%s{'name': '%s-%s'%s%s, 'action': '%s', 'rules': [{'to': "
				"[{'operation': {'paths': ['/%s-%s']}}]}]}",
				o > 1 ? ", " : "", scopes[sc], actions[a],
				sc > 0 ? ", 'namespace': 'shop'" : "",
				sc == 2 ? ", 'selector': {'service': 'web'}" : "", actions[a],
				scopes[sc], actions[a]);
	snprintf(pol + o, sizeof(pol) - o, "]");
	s = compile_ok(doc_with(pol));
	for (uint32_t svc = WEB; svc <= VAULT; svc++)
		for (int sc = 0; sc < 3; sc++)
			for (int a = 0; a < 3; a++) {
				/* mesh policies apply to all three, shop's to web and cart, the
				 * selector's to web */
				bool applies = sc == 0 || (sc == 1 && svc != VAULT) ||
					       (sc == 2 && svc == WEB);
				struct authz_request rq;
				struct authz_decision d;

				snprintf(path, sizeof(path), "/%s-%s", scopes[sc], actions[a]);
				snprintf(key, sizeof(key), "%s/%s-%s", sc ? "shop" : "mesh",
					 scopes[sc], actions[a]);
				rq = req(P_SHOP_FE, "GET", path);
				authz_decide(s, svc, &rq, &d);
				/* the mesh's allow policy makes every service deny by default */
				if (applies && a == 0) {
					assert_int_equal(d.verdict, AUTHZ_ALLOW);
					assert_string_equal(s->authz->policies[d.policy].key, key);
				} else if (applies && a == 1) {
					assert_int_equal(d.verdict, AUTHZ_DENY);
					assert_string_equal(s->authz->policies[d.policy].key, key);
				} else {
					assert_int_equal(d.verdict, AUTHZ_DENY);
					assert_int_equal(d.policy, -1);
				}
				assert_int_equal(d.n_audit, applies && a == 2 ? 1 : 0);
			}
	cfg_snapshot_free(s);
}

/* Wildcards, negations, hosts, ports, IP blocks, headers; TCP against HTTP-only rules. */
static void test_fields(void **state)
{
	struct authz_request rq;
	struct cfg_snapshot *s;
	const struct router_str hdr[2][2] = {
		{{"X-Tenant", 8}, {"acme-eu", 7}},
		{{"user-agent", 10}, {"curl/8", 6}},
	};
	static uint8_t other_addr[4] = {192, 168, 7, 9};

	(void)state;
	s = compile_ok(doc_with(
		"[{'name': 'd-ip', 'action': 'deny', 'rules': [{'from': [{'source': {'ip_blocks': "
		"['192.168.0.0/16'], 'not_ip_blocks': ['192.168.7.0/24']}}]}]}, "
		"{'name': 'd-admin', 'action': 'deny', 'rules': [{'to': [{'operation': {'paths': "
		"['/admin*']}}]}]}, "
		"{'name': 'a-fe', 'namespace': 'shop', 'rules': [{'from': [{'source': "
		"{'principals': ['spiffe://cluster.local/ns/shop/*'], 'not_principals': "
		"['" P_SHOP_BE
		"']}}], 'to': [{'operation': {'hosts': ['*.EXAMPLE.com'], 'not_paths': "
		"['/private/*']}}]}, "
		"{'from': [{'source': {'principals': ['" P_SHOP_BE "']}}], 'when': [{'key': "
		"'request.headers[x-tenant]', 'values': ['acme-*']}, {'key': 'destination.port', "
		"'values': ['8080']}]}]}, "
		"{'name': 'a-tcp', 'namespace': 'bank', 'rules': [{'from': [{'source': "
		"{'namespaces': ['bank']}}], 'to': [{'operation': {'ports': [8080]}}]}, "
		"{'to': [{'operation': {'methods': ['GET']}}]}]}]"));
	expect(s, WEB, P_SHOP_FE, "GET", "/shop", AUTHZ_ALLOW, "shop/a-fe");
	expect(s, WEB, P_SHOP_FE, "GET", "/private/x", AUTHZ_DENY, "");
	expect(s, WEB, P_SHOP_FE, "GET", "/admin/x", AUTHZ_DENY, "mesh/d-admin");
	expect(s, WEB, P_SHOP_BE, "GET", "/shop", AUTHZ_DENY, ""); /* not_principals, no header */
	rq = req(P_SHOP_BE, "GET", "/shop");
	rq.headers = hdr;
	rq.n_headers = 2;
	assert_int_equal(decide(s, WEB, &rq, NULL), AUTHZ_ALLOW);
	rq.port = 9090; /* destination.port */
	assert_int_equal(decide(s, WEB, &rq, NULL), AUTHZ_DENY);
	rq = req(P_SHOP_FE, "GET", "/shop");
	rq.host = (struct router_str){"API.example.com:8080", 20}; /* case, port ignored */
	assert_int_equal(decide(s, WEB, &rq, NULL), AUTHZ_ALLOW);
	rq.host = (struct router_str){"example.org", 11};
	assert_int_equal(decide(s, WEB, &rq, NULL), AUTHZ_DENY);
	/* ip blocks: 192.168/16 denied but 192.168.7/24 */
	rq = req(P_SHOP_FE, "GET", "/shop");
	rq.addr = (const uint8_t *)"\xc0\xa8\x01\x01";
	assert_int_equal(decide(s, WEB, &rq, NULL), AUTHZ_DENY);
	rq.addr = other_addr;
	assert_int_equal(decide(s, WEB, &rq, NULL), AUTHZ_ALLOW);
	/* TCP: an allow rule with an HTTP field does not match; a deny rule's HTTP field is
	 * ignored (it matches on the rest: d-admin denies every connection) */
	expect(s, VAULT, P_BANK, NULL, NULL, AUTHZ_DENY, "mesh/d-admin");
	cfg_snapshot_free(s);
	s = compile_ok(doc_with("[{'name': 'a-tcp', 'namespace': 'bank', 'rules': [{'from': "
				"[{'source': {'namespaces': ['bank']}}], 'to': [{'operation': "
				"{'ports': [8080]}}]}, {'to': [{'operation': {'methods': "
				"['GET']}}]}]}]"));
	expect(s, VAULT, P_BANK, NULL, NULL, AUTHZ_ALLOW, "bank/a-tcp");
	expect(s, VAULT, P_SHOP_FE, NULL, NULL, AUTHZ_DENY, ""); /* the GET rule is HTTP only */
	expect(s, VAULT, P_SHOP_FE, "GET", "/", AUTHZ_ALLOW, "bank/a-tcp");
	rq = req(P_BANK, NULL, NULL);
	rq.port = 9000;
	assert_int_equal(decide(s, VAULT, &rq, NULL), AUTHZ_DENY);
	cfg_snapshot_free(s);
}

/* authz_check(): counted per worker and per policy; counts survive a swap by policy key. */
static void test_counters(void **state)
{
	const char *pol = "[{'name': 'cnt-deny', 'namespace': 'shop', 'action': 'deny', 'rules': "
			  "[{'to': [{'operation': {'paths': ['/x']}}]}]}, {'name': 'cnt-allow', "
			  "'namespace': 'shop', 'rules': [{'to': [{'operation': {'paths': "
			  "['/y']}}]}]}, {'name': 'cnt-audit', 'namespace': 'shop', 'action': "
			  "'audit', 'rules': [{}]}]";
	static struct stats_block st;
	struct cfg_snapshot *s, *s2;
	struct authz_request rq;
	struct authz_event ev[8];
	struct authz_policy_rt *rt[3];

	(void)state;
	while (authz_event_take(ev, RTE_DIM(ev)) != 0)
		;
	s = compile_ok(doc_with(pol));
	for (int i = 0; i < 3; i++)
		rt[i] = s->authz->policies[i].rt;
	rq = req(P_SHOP_FE, "GET", "/x");
	assert_false(authz_check(s, WEB, &rq, &st));
	rq = req(P_SHOP_FE, "GET", "/y");
	assert_true(authz_check(s, WEB, &rq, &st));
	assert_true(authz_check(s, CART, &rq, &st));
	rq = req(P_SHOP_FE, "GET", "/z");
	assert_false(authz_check(s, WEB, &rq, &st));
	assert_true(authz_check(s, VAULT, &rq, &st)); /* no policy: not counted */
	assert_int_equal(stats_read(&st, STAT_AUTHZ_DENIED_POLICY), 1);
	assert_int_equal(stats_read(&st, STAT_AUTHZ_DENIED_NO_ALLOW), 1);
	assert_int_equal(stats_read(&st, STAT_AUTHZ_ALLOWED), 2);
	assert_int_equal(stats_read(&st, STAT_AUTHZ_AUDITED), 3); /* the deny's comes first */
	assert_int_equal(rt[0]->denied, 1);
	assert_int_equal(rt[1]->allowed, 2);
	assert_int_equal(rt[2]->audited, 3);
	/* the control thread's log gets a record per denial and audit */
	assert_int_equal(authz_event_take(ev, RTE_DIM(ev)), 5);
	assert_string_equal(ev[0].policy, "shop/cnt-deny");
	assert_string_equal(ev[0].service, "shop/web");
	assert_string_equal(ev[0].path, "/x");
	assert_string_equal(ev[0].principal, P_SHOP_FE);
	/* a new snapshot with the same policies keeps counting where the old stopped */
	s2 = compile_ok_prev(doc_with(pol), s);
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(s2->authz->policies[i].rt, rt[i]);
	cfg_snapshot_free(s);
	rq = req(P_SHOP_FE, "GET", "/x");
	assert_false(authz_check(s2, CART, &rq, &st));
	assert_int_equal(rt[0]->denied, 2);
	cfg_snapshot_free(s2);
	while (authz_event_take(ev, RTE_DIM(ev)) != 0)
		;
}

/*
 * 10,000 rules in one allow policy: rule i allows principal "p<i>" on paths
 * "/r<i>/" + "*"; every 7th rule's principal is a prefix "p<i>x*", every 11th a
 * suffix "*q<i>". Plus 100 deny rules on exact paths "/r<i>/deny". Checked
 * against the family's oracle for 20,000 requests.
 */
#define BIG_RULES 10000

static const char *big_principal(unsigned int i, char *buf, size_t size)
{
	if (i % 7 == 0)
		snprintf(buf, size, "p%ux*", i);
	else if (i % 11 == 0)
		snprintf(buf, size, "*q%u", i);
	else
		snprintf(buf, size, "p%u", i);
	return buf;
}

static void test_ten_thousand(void **state)
{
	size_t cap = CFG_TEXT_MAX, len = 0;
	char *doc = malloc(cap), pr[32], path[64], who[48];
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;
	uint64_t rng = 88172645463325252ull;
	unsigned int allowed = 0, denied = 0;

	(void)state;
	assert_non_null(doc);
	len += (size_t)snprintf(doc + len, cap - len, "{%s", json_of(base));
	len += (size_t)snprintf(doc + len, cap - len,
				", \"authorization\": [{\"name\": \"deny-some\", \"namespace\": "
				"\"shop\", \"action\": \"deny\", \"rules\": [");
	for (unsigned int i = 0; i < 100; i++)
		len += (size_t)snprintf(doc + len, cap - len,
					"%s{\"to\":[{\"operation\":{\"paths\":[\"/r%u/deny\"]}}]}",
					i ? "," : "", i * 97);
	len += (size_t)snprintf(doc + len, cap - len,
				"]}, {\"name\": \"big\", \"namespace\": \"shop\", \"rules\": [");
	for (unsigned int i = 0; i < BIG_RULES; i++)
		len += (size_t)snprintf(doc + len, cap - len,
					"%s{\"from\":[{\"source\":{\"principals\":[\"%s\"]}}],"
					"\"to\":[{\"operation\":{\"paths\":[\"/r%u/*\"]}}]}",
					i ? "," : "", big_principal(i, pr, sizeof(pr)), i);
	len += (size_t)snprintf(doc + len, cap - len, "]}]}");
	assert_true(len < cap - 1);
	if (cfg_compile(doc, len, test_ports, 2, NULL, &s, &err) != 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	assert_int_equal(s->authz->sets[s->authz->set_of[WEB]].n_clauses, BIG_RULES + 100);
	for (unsigned int n = 0; n < 20000; n++) {
		unsigned int i, j, want;
		struct authz_request rq;
		const char *pol;
		bool deny_path;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		i = (unsigned int)(rng % BIG_RULES);
		j = (rng >> 20) % 4 == 0 ? (unsigned int)((rng >> 24) % BIG_RULES) : i;
		/* the principal that rule i names, or a near miss */
		if (i % 7 == 0)
			snprintf(who, sizeof(who), "p%ux%s", i, (rng >> 40) % 2 ? "tail" : "");
		else if (i % 11 == 0)
			snprintf(who, sizeof(who), "%sq%u", (rng >> 40) % 2 ? "head-" : "", i);
		else
			snprintf(who, sizeof(who), "p%u%s", i, (rng >> 40) % 5 == 0 ? "0" : "");
		deny_path = (rng >> 50) % 8 == 0 && j % 97 == 0 && j / 97 < 100;
		snprintf(path, sizeof(path), deny_path ? "/r%u/deny" : "/r%u/item", j);
		rq = req(who, "GET", path);
		/* the oracle: which rules' principal patterns match who, on path /r<j>/ */
		{
			char exp[32];
			bool hit;

			big_principal(j, exp, sizeof(exp));
			if (exp[0] == '*')
				hit = strlen(who) >= strlen(exp + 1) &&
				      strcmp(who + strlen(who) - strlen(exp + 1), exp + 1) == 0;
			else if (exp[strlen(exp) - 1] == '*')
				hit = strncmp(who, exp, strlen(exp) - 1) == 0;
			else
				hit = strcmp(who, exp) == 0;
			want = deny_path ? AUTHZ_DENY : hit ? AUTHZ_ALLOW : AUTHZ_DENY;
		}
		if (decide(s, WEB, &rq, &pol) != want) {
			print_error("request %u: %s %s: wanted %s\n", n, who, path,
				    want == AUTHZ_ALLOW ? "allow" : "deny");
			fail();
		}
		if (deny_path)
			assert_string_equal(pol, "shop/deny-some");
		allowed += want == AUTHZ_ALLOW;
		denied += want == AUTHZ_DENY;
	}
	/* both outcomes were exercised many times */
	assert_true(allowed > 5000 && denied > 2000);
	cfg_snapshot_free(s);
	free(doc);
}

/* ---- peer authentication ---- */

static char pki[64];

static const char *pa_listener_doc(const char *pa, const char *tls2)
{
	static char buf[16384];

	snprintf(buf, sizeof(buf),
		 "{%s, 'secrets': {'identities': ["
		 "{'name': 'web', 'cert': '%s/web.pem', 'key': '%s/web.key'}, "
		 "{'name': 'cart', 'cert': '%s/cart.pem', 'key': '%s/cart.key'}, "
		 "{'name': 'vault', 'cert': '%s/vault.pem', 'key': '%s/vault.key'}], "
		 "'trust_domains': [{'name': 'cluster.local', 'bundle': '%s/ca.pem'}]}, "
		 "'listeners': ["
		 "{'name': 'l-web', 'type': 'tcp_proxy', 'address': '10.10.1.1', 'port': 8001, "
		 "'cluster': 'shop/web', 'tls': {'secret': 'web'}}, "
		 "{'name': 'l-cart', 'type': 'tcp_proxy', 'address': '10.10.1.1', 'port': 8002, "
		 "'cluster': 'shop/cart', 'tls': {'secret': 'cart', 'sni': [{'names': "
		 "['vault.test'], 'secret': 'vault'}]}}, "
		 "{'name': 'l-vault', 'type': 'tcp_proxy', 'address': '10.10.1.1', 'port': 8003, "
		 "'cluster': 'bank/vault', 'tls': %s}, "
		 "{'name': 'l-plain', 'type': 'tcp_proxy', 'address': '10.10.1.1', 'port': 8004, "
		 "'cluster': 'bank/vault'}]%s%s}",
		 base, pki, pki, pki, pki, pki, pki, pki,
		 tls2 != NULL ? tls2 : "{'secret': 'vault'}",
		 pa != NULL ? ", 'peer_authentication': " : "", pa != NULL ? pa : "");
	return buf;
}

static uint8_t mode_of(const struct cfg_snapshot *s, uint32_t listener, int32_t sni)
{
	const struct tls_server_conf *c = tls_cfg_listener_get(s, listener);

	assert_non_null(c);
	return sni < 0 ? c->def.mtls : c->sni[sni].mtls;
}

static void test_peer_auth(void **state)
{
	struct cfg_snapshot *s, *s2;

	(void)state;
	/* none: the TLS default, strict */
	s = compile_ok(pa_listener_doc(NULL, NULL));
	assert_int_equal(mode_of(s, 0, -1), TLS_MTLS_STRICT);
	assert_int_equal(s->authz->n_authn, 4);
	assert_int_equal(s->authz->authn[0].source, -2);
	cfg_snapshot_free(s);
	/* mesh permissive, shop disable, the vault identity strict */
	s = compile_ok(pa_listener_doc(
		"[{'name': 'mesh', 'mtls': {'mode': 'permissive'}}, "
		"{'name': 'shop', 'namespace': 'shop', 'mtls': {'mode': 'disable'}}, "
		"{'name': 'vault', 'namespace': 'bank', 'selector': {'identity': "
		"'spiffe://cluster.local/ns/bank/sa/vault'}, 'mtls': {'mode': 'strict'}}]",
		"{'secret': 'web'}"));
	assert_int_equal(mode_of(s, 0, -1), TLS_MTLS_DISABLE); /* web: shop's */
	assert_int_equal(mode_of(s, 1, -1), TLS_MTLS_DISABLE); /* cart: shop's */
	assert_int_equal(mode_of(s, 1, 0), TLS_MTLS_STRICT);   /* cart's SNI vault: its own */
	assert_int_equal(mode_of(s, 2, -1), TLS_MTLS_DISABLE); /* l-vault with web's id */
	assert_int_equal(s->authz->authn[2].source, 2);	       /* the identity entry */
	assert_int_equal(s->authz->authn[2].scope, AUTHZ_SCOPE_SERVICE);
	/* meshctl audit: the identity's strict passes, the namespace's disable warns */
	assert_string_equal(finding(s, "$.peer_authentication[2].mtls.mode", "mTLS strict"),
			    "PASS");
	assert_string_equal(finding(s, "$.peer_authentication[1].mtls.mode", "l-web"), "WARN");
	cfg_snapshot_free(s);
	/* bank permissive; a listener's own mtls wins; mesh strict elsewhere */
	s = compile_ok(pa_listener_doc("[{'name': 'mesh', 'mtls': {'mode': 'strict'}}, "
				       "{'name': 'bank', 'namespace': 'bank', 'mtls': {'mode': "
				       "'permissive'}}]",
				       "{'secret': 'vault', 'mtls': 'disable'}"));
	assert_int_equal(mode_of(s, 0, -1), TLS_MTLS_STRICT);
	assert_int_equal(mode_of(s, 1, 0), TLS_MTLS_PERMISSIVE); /* SNI vault: bank's */
	assert_int_equal(mode_of(s, 2, -1), TLS_MTLS_DISABLE);	 /* the listener's own */
	assert_int_equal(s->authz->authn[3].source, -1);
	/* a swap that changes a scope's mode changes the listener's tls block */
	s2 = compile_ok_prev(pa_listener_doc("[{'name': 'mesh', 'mtls': {'mode': 'permissive'}}]",
					     "{'secret': 'vault', 'mtls': 'disable'}"),
			     s);
	assert_int_equal(mode_of(s2, 0, -1), TLS_MTLS_PERMISSIVE);
	assert_true(memcmp(tls_cfg_listener_get(s, 0), tls_cfg_listener_get(s2, 0),
			   sizeof(struct tls_server_conf)) != 0);
	cfg_snapshot_free(s2);
	cfg_snapshot_free(s);
}

static int group_setup(void **state)
{
	(void)state;
	test_eal_init();
	if (certs_dir(pki, sizeof(pki), "authz") != 0 ||
	    run("%s %s leaf web spiffe://cluster.local/ns/shop/sa/web >/dev/null && "
		"%s %s leaf cart spiffe://cluster.local/ns/shop/sa/cart >/dev/null && "
		"%s %s leaf vault spiffe://cluster.local/ns/bank/sa/vault >/dev/null",
		CERTS_SH, pki, CERTS_SH, pki, CERTS_SH, pki) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return run("rm -rf %s", pki) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),     cmocka_unit_test(test_peer_auth_refusals),
		cmocka_unit_test(test_scopes),	     cmocka_unit_test(test_action_scope_matrix),
		cmocka_unit_test(test_fields),	     cmocka_unit_test(test_counters),
		cmocka_unit_test(test_ten_thousand), cmocka_unit_test(test_peer_auth),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
