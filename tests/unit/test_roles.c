/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * roles: $.roles refused at the exact path for each mistake; grants (root,
 * no $.roles, uid, user, group by the peer's primary group, the highest role
 * of several bindings, scopes gathered from operator bindings); scope
 * coverage of namespaces and services; the guard refusing by role and
 * writing one JSON line per change or refusal to the audit log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataplane/roles/roles_internal.h"
#include "config_fixture.h"
#include "test_eal.h"

static int group_setup(void **state)
{
	(void)state;
	test_eal_init();
	return 0;
}

static const char *roles_doc(const char *roles)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "{'version': 1, 'roles': %s}", roles);
	return buf;
}

static void test_refusals(void **state)
{
	(void)state;
	expect_error(roles_doc("{'bindings': [{'role': 'admin'}]}"), "$.roles.bindings[0]",
		     "one of \"uid\", \"user\" or \"group\"");
	expect_error(roles_doc("{'bindings': [{'uid': 5, 'user': 'root', 'role': 'admin'}]}"),
		     "$.roles.bindings[0]", "got \"uid\" and \"user\"");
	expect_error(roles_doc("{'bindings': [{'user': 'no-such-user-x', 'role': 'admin'}]}"),
		     "$.roles.bindings[0].user", "no user \"no-such-user-x\"");
	expect_error(roles_doc("{'bindings': [{'group': 'no-such-group-x', 'role': 'admin'}]}"),
		     "$.roles.bindings[0].group", "no group");
	expect_error(roles_doc("{'bindings': [{'uid': 5, 'role': 'root'}]}"),
		     "$.roles.bindings[0].role", NULL);
	expect_error(roles_doc("{'bindings': [{'uid': 5, 'role': 'viewer', 'scope': ['shop']}]}"),
		     "$.roles.bindings[0].scope", "only an operator has a scope");
	expect_error(roles_doc("{'bindings': [{'uid': 5, 'role': 'operator'}]}"),
		     "$.roles.bindings[0].scope", NULL);
	expect_error(
		roles_doc("{'bindings': [{'uid': 5, 'role': 'operator', 'scope': ['a/b/c']}]}"),
		"$.roles.bindings[0].scope[0]", "<namespace>/<service>");
	expect_error(roles_doc("{'audit_log': 'rel/path.log'}"), "$.roles.audit_log",
		     "an absolute path");
	expect_error(roles_doc("{'bindings': [], 'extra': 1}"), "$.roles.extra", "unknown field");
}

static const char grants_doc[] =
	"{'audit_log': '%s', 'bindings': [{'uid': 1001, 'role': 'viewer'}, "
	"{'uid': 1002, 'role': 'operator', 'scope': ['shop', 'billing/pay']}, "
	"{'group': 'daemon', 'role': 'operator', 'scope': ['ops']}, "
	"{'uid': 1002, 'role': 'viewer'}, {'user': 'root', 'role': 'viewer'}]}";

static struct cfg_snapshot *compile_grants(const char *log)
{
	char roles[1024];

	snprintf(roles, sizeof(roles), grants_doc, log);
	return compile_ok(roles_doc(roles));
}

static void test_grants(void **state)
{
	struct cfg_snapshot *s = compile_grants("");
	const struct roles_snap *rs = s->roles;
	struct control_peer p = {.uid = 1001, .gid = 4242};
	struct roles_grant g;

	(void)state;
	assert_non_null(rs);
	assert_int_equal(rs->n_bindings, 5);
	/* "user": "root" resolved to uid 0; "group": "daemon" to its gid (1 on Debian) */
	assert_int_equal(rs->bindings[4].id, 0);
	assert_int_equal(rs->bindings[2].subject, ROLES_GID);

	roles_grant_of(NULL, &p, &g);
	assert_int_equal(g.role, ROLES_ADMIN); /* no $.roles */
	p.uid = 0;
	roles_grant_of(rs, &p, &g);
	assert_int_equal(g.role, ROLES_ADMIN); /* root, whatever a binding says */
	assert_string_equal(g.source, "root");
	p.uid = 1001;
	roles_grant_of(rs, &p, &g);
	assert_int_equal(g.role, ROLES_VIEWER);
	assert_false(roles_scope_covers(&g, "shop", NULL));
	p.uid = 1002; /* an operator and a viewer binding: the operator wins */
	roles_grant_of(rs, &p, &g);
	assert_int_equal(g.role, ROLES_OPERATOR);
	assert_int_equal(g.n_scope, 2);
	assert_true(roles_scope_covers(&g, "shop", NULL));
	assert_true(roles_scope_covers(&g, "shop", "web"));
	assert_true(roles_scope_covers(&g, "billing", "pay"));
	assert_false(roles_scope_covers(&g, "billing", "ledger"));
	assert_false(roles_scope_covers(&g, "billing", NULL));
	assert_false(roles_scope_covers(&g, "bill", "pay"));
	p.gid = rs->bindings[2].id; /* by the primary group */
	roles_grant_of(rs, &p, &g);
	assert_int_equal(g.n_scope, 3);
	assert_true(roles_scope_covers(&g, "ops", "anything"));
	p.uid = 1003;
	p.gid = 4242;
	roles_grant_of(rs, &p, &g);
	assert_int_equal(g.role, ROLES_NONE);
	assert_non_null(strstr(g.source, "uid 1003 is bound to no role"));
	cfg_snapshot_free(s);
}

static json_t *ok_reply(void)
{
	return ctl_reply_ok(json_object());
}

/* The guard against the live snapshot: role decisions and the audit log's lines. */
static void test_guard(void **state)
{
	char log[] = "/tmp/meshdp-test-roles-XXXXXX";
	int fd = mkstemp(log);
	struct cfg_snapshot *s, *saved = cfg_live;
	const struct control_cmd read_cmd = {"services", NULL, 0, ""};
	const struct control_cmd write_cmd = {"config.apply", NULL, CONTROL_CMD_WRITE, ""};
	const struct control_cmd ns_cmd = {"config.apply_namespace", NULL,
					   CONTROL_CMD_WRITE | CONTROL_CMD_SCOPED, ""};
	struct control_peer viewer = {.uid = 1001, .gid = 4242}, op = {.uid = 1002, .gid = 4242},
			    nobody = {.uid = 1003, .gid = 4242};
	json_t *shop =
		json_pack("{s:s, s:s}", "cmd", "config.apply_namespace", "namespace", "shop");
	json_t *other =
		json_pack("{s:s, s:s}", "cmd", "config.apply_namespace", "namespace", "other");
	json_t *plain = json_pack("{s:s}", "cmd", "x"), *reply = ok_reply(), *refused;
	char why[256], line[1024];
	FILE *f;
	int n = 0;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	s = compile_grants(log);
	cfg_live = s;
	assert_true(roles_guard.authorize(&viewer, &read_cmd, plain, why, sizeof(why)));
	assert_false(roles_guard.authorize(&viewer, &write_cmd, plain, why, sizeof(why)));
	assert_non_null(strstr(why, "is a viewer"));
	assert_false(roles_guard.authorize(&op, &write_cmd, plain, why, sizeof(why)));
	assert_non_null(strstr(why, "is for admins"));
	assert_true(roles_guard.authorize(&op, &ns_cmd, shop, why, sizeof(why)));
	assert_false(roles_guard.authorize(&op, &ns_cmd, other, why, sizeof(why)));
	assert_non_null(strstr(why, "does not include namespace other"));
	assert_false(roles_guard.authorize(&nobody, &read_cmd, plain, why, sizeof(why)));

	/* a read is not recorded; a change and a refusal are */
	roles_guard.record(&viewer, &read_cmd, plain, reply);
	roles_guard.record(&op, &ns_cmd, shop, reply);
	refused = ctl_reply_error("permission denied: test");
	roles_guard.record(&viewer, &write_cmd, plain, refused);
	f = fopen(log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *rec = json_loads(line, 0, NULL);

		assert_non_null(rec);
		if (n == 0) {
			assert_string_equal(json_string_value(json_object_get(rec, "cmd")),
					    "config.apply_namespace");
			assert_string_equal(json_string_value(json_object_get(rec, "result")),
					    "accepted");
			assert_string_equal(json_string_value(json_object_get(rec, "role")),
					    "operator");
			assert_string_equal(json_string_value(json_object_get(rec, "namespace")),
					    "shop");
		} else {
			assert_string_equal(json_string_value(json_object_get(rec, "result")),
					    "refused");
			assert_string_equal(json_string_value(json_object_get(rec, "reason")),
					    "permission denied: test");
			assert_int_equal(json_integer_value(json_object_get(rec, "uid")), 1001);
		}
		json_decref(rec);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 2);
	cfg_live = saved;
	cfg_snapshot_free(s);
	unlink(log);
	json_decref(shop);
	json_decref(other);
	json_decref(plain);
	json_decref(reply);
	json_decref(refused);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_grants),
		cmocka_unit_test(test_guard),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
