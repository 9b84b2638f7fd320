/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * etcd: $.etcd compiled (defaults: node from node.name, timeouts) and refused
 * at the exact path for each mistake; a running daemon refuses a change of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataplane/etcd/etcd.h"
#include "config_fixture.h"
#include "test_eal.h"

static int group_setup(void **state)
{
	(void)state;
	test_eal_init();
	return 0;
}

static const char *etcd_doc(const char *etcd)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "{'version': 1, 'node': {'name': 'n7'}, 'etcd': %s}", etcd);
	return buf;
}

static void test_compile(void **state)
{
	struct cfg_snapshot *s = compile_ok(etcd_doc(
		"{'endpoints': ['http://127.0.0.1:2379', 'https://10.0.0.2:2379'], 'prefix': "
		"'/meshdp/prod', 'cache': '/var/lib/meshdp/cache.json'}"));
	const struct etcd_conf *e = s->etcd;

	(void)state;
	assert_non_null(e);
	assert_int_equal(e->n_endpoints, 2);
	assert_string_equal(e->endpoints[1], "https://10.0.0.2:2379");
	assert_string_equal(e->prefix, "/meshdp/prod");
	assert_string_equal(e->node, "n7"); /* node.name */
	assert_int_equal(e->timeout_ms, 2000);
	assert_int_equal(e->backoff_max_ms, 5000);
	cfg_snapshot_free(s);
	s = compile_ok("{'version': 1}");
	assert_null(s->etcd);
	cfg_snapshot_free(s);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_error(etcd_doc("{'prefix': '/a'}"), "$.etcd.endpoints", NULL);
	expect_error(etcd_doc("{'endpoints': [], 'prefix': '/a'}"), "$.etcd.endpoints", NULL);
	expect_error(etcd_doc("{'endpoints': ['127.0.0.1:2379'], 'prefix': '/a'}"),
		     "$.etcd.endpoints[0]", "an etcd client URL");
	expect_error(etcd_doc("{'endpoints': ['http://h:1/v3'], 'prefix': '/a'}"),
		     "$.etcd.endpoints[0]", NULL);
	expect_error(etcd_doc("{'endpoints': ['http://h:1']}"), "$.etcd.prefix", "required");
	expect_error(etcd_doc("{'endpoints': ['http://h:1'], 'prefix': 'meshdp'}"), "$.etcd.prefix",
		     "without a trailing /");
	expect_error(etcd_doc("{'endpoints': ['http://h:1'], 'prefix': '/meshdp/'}"),
		     "$.etcd.prefix", NULL);
	expect_error(etcd_doc("{'endpoints': ['http://h:1'], 'prefix': '/a', 'cache': 'c.json'}"),
		     "$.etcd.cache", "an absolute path");
	expect_error(etcd_doc("{'endpoints': ['http://h:1'], 'prefix': '/a', 'timeout_ms': 5}"),
		     "$.etcd.timeout_ms", NULL);
	expect_error(etcd_doc("{'endpoints': ['http://h:1'], 'prefix': '/a', 'colour': 1}"),
		     "$.etcd.colour", "unknown field");
	expect_error(etcd_doc("{'endpoints': ['http://h:1'], 'prefix': '/a', 'user': 'n'}"),
		     "$.etcd.password_file", "required with \"user\"");
	expect_error(etcd_doc("{'endpoints': ['http://h:1'], 'prefix': '/a', 'password_file': "
			      "'/x'}"),
		     "$.etcd.user", "required with \"password_file\"");
	expect_error(etcd_doc("{'endpoints': ['http://h:1'], 'prefix': '/a', 'user': 'n', "
			      "'password_file': '/nonexistent/pw'}"),
		     "$.etcd.password_file", "cannot read /nonexistent/pw");
}

/* The password is the file's first line. */
static void test_password_file(void **state)
{
	char path[] = "/tmp/meshdp-test-etcd-XXXXXX", doc[512];
	int fd = mkstemp(path);
	struct cfg_snapshot *s;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\nignored\n", 15), 15);
	close(fd);
	snprintf(doc, sizeof(doc),
		 "{'endpoints': ['http://h:1'], 'prefix': '/a', 'user': 'node', 'password_file': "
		 "'%s'}",
		 path);
	s = compile_ok(etcd_doc(doc));
	assert_string_equal(s->etcd->user, "node");
	assert_string_equal(s->etcd->password, "s3cret");
	cfg_snapshot_free(s);
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	expect_error(etcd_doc(doc), "$.etcd.password_file", "holds no password");
	unlink(path);
}

/* Startup settings: a running daemon refuses another $.etcd, or none. */
static void test_startup_only(void **state)
{
	const char *a = "{'endpoints': ['http://h:1'], 'prefix': '/a'}";
	struct cfg_snapshot *prev = compile_ok(etcd_doc(a)), *same;
	char doc[2048];

	(void)state;
	snprintf(doc, sizeof(doc), "%s", etcd_doc(a));
	same = compile_ok_prev(doc, prev);
	cfg_snapshot_free(same);
	expect_error_prev(etcd_doc("{'endpoints': ['http://h:2'], 'prefix': '/a'}"), prev, "$.etcd",
			  "cannot change while running");
	expect_error_prev("{'version': 1, 'node': {'name': 'n7'}}", prev, "$.etcd",
			  "cannot change while running");
	cfg_snapshot_free(prev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_startup_only),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
