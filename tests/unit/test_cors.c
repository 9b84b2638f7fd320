/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * router CORS (SM-DR27): a cors policy of a virtual host or a route compiles
 * into its origin matchers and joined lists, router_cors() allows the origins
 * it should (exact and suffix case-insensitively, regexes whole-value only)
 * and no other, builds the preflight's and the actual response's header
 * fields as the Fetch standard reads them, counts each decision, lets a
 * route's policy replace its virtual host's, and every refusal of the section
 * names its JSON path.
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
#include "dataplane/router/router.h"
#include "config_fixture.h"
#include "test_eal.h"

#define HEAD                                                                      \
	"{'version': 1, 'interfaces': [{'name': 'client', 'port': 'p0', 'ipv4': " \
	"['10.10.1.1/24']}, {'name': 'server', 'port': 'p1', 'ipv4': ['10.10.2.1/24']}]"
#define SERVICES                                                                             \
	", 'services': [{'name': 'web', 'namespace': 'shop', 'vip': '10.96.0.10', 'ports': " \
	"[{'port': 80}], 'endpoints': [{'address': '10.10.2.10'}]}]"

/* One route config "rc", one virtual host for every domain with @p vh_extra
 * members, and @p routes. */
#define DOC(vh_extra, routes)                                                                 \
	HEAD SERVICES ", 'route_configs': [{'name': 'rc', 'virtual_hosts': [{'name': 'all', " \
		      "'domains': ['*'], " vh_extra "'routes': [" routes "]}]}]}"
/* A route on @p prefix to web, with @p extra members. */
#define RT(prefix, extra) \
	"{'name': '" prefix "', 'match': {'prefix': '/" prefix "'}, " extra "'cluster': 'web'}"

/* The policy of most tests: every member. */
#define FULL                                                                               \
	"'cors': {'allow_origins': [{'exact': 'https://App.Example'}, {'suffix': "         \
	"'.shop.example'}, {'regex': 'https://pr-[0-9]+\\\\.preview\\\\.example'}], "      \
	"'allow_methods': ['GET', 'PUT', 'DELETE'], 'allow_headers': ['x-token', "         \
	"'content-type'], 'expose_headers': ['x-request-id'], 'allow_credentials': true, " \
	"'max_age_s': 600}, "

static struct router_worker *rw;
static struct stats_block rw_stats;

struct fields {
	enum router_cors_result res;
	uint32_t n;
	struct router_str f[ROUTER_CORS_FIELDS][2];
};

/* router_cors() for @p method on "/" + @p path with the @p n header lines "name: value". */
static struct fields run(const struct cfg_snapshot *s, const char *method, const char *path,
			 const char *const *lines, uint32_t n)
{
	struct router_str h[8][2];
	struct router_request rq = {
		.method = {method, (uint32_t)strlen(method)},
		.host = {"h", 1},
		.path = {path, (uint32_t)strlen(path)},
		.headers = (const struct router_str(*)[2])h,
		.n_headers = n,
	};
	const struct router_route *r;
	struct fields out;

	assert_true(n <= 8);
	for (uint32_t i = 0; i < n; i++) {
		const char *colon = strchr(lines[i], ':');

		h[i][0] = (struct router_str){lines[i], (uint32_t)(colon - lines[i])};
		h[i][1] = (struct router_str){colon + 2, (uint32_t)strlen(colon + 2)};
	}
	r = router_select(s, 0, &rq, rw);
	assert_non_null(r);
	out.res = router_cors(r, &rq, rw, out.f, &out.n);
	return out;
}

/* The value of field @p name, NULL when absent. */
static const char *field(const struct fields *f, const char *name)
{
	static char buf[ROUTER_CORS_LIST_MAX + 1];

	for (uint32_t i = 0; i < f->n; i++)
		if (f->f[i][0].len == strlen(name) &&
		    memcmp(f->f[i][0].p, name, f->f[i][0].len) == 0) {
			snprintf(buf, sizeof(buf), "%.*s", (int)f->f[i][1].len, f->f[i][1].p);
			return buf;
		}
	return NULL;
}

/* An actual GET of @p path from @p origin: whether it is allowed (and the fields say so). */
static bool allowed_at(const struct cfg_snapshot *s, const char *path, const char *origin)
{
	char line[700];
	const char *l[1] = {line};
	struct fields f;

	snprintf(line, sizeof(line), "Origin: %s", origin);
	f = run(s, "GET", path, l, 1);
	assert_true(f.res == ROUTER_CORS_ALLOWED || f.res == ROUTER_CORS_DENIED);
	if (f.res == ROUTER_CORS_ALLOWED)
		assert_string_equal(field(&f, "access-control-allow-origin"), origin);
	else
		assert_null(field(&f, "access-control-allow-origin"));
	return f.res == ROUTER_CORS_ALLOWED;
}

static bool allowed(const struct cfg_snapshot *s, const char *origin)
{
	return allowed_at(s, "/a", origin);
}

static void test_origin_kinds(void **state)
{
	struct cfg_snapshot *s = compile_ok(DOC(FULL, RT("a", "")));
	char long_origin[600];

	(void)state;
	/* exact: case-insensitive, whole value */
	assert_true(allowed(s, "https://app.example"));
	assert_true(allowed(s, "HTTPS://APP.EXAMPLE"));
	assert_false(allowed(s, "https://app.example.evil"));
	assert_false(allowed(s, "http://app.example"));
	assert_false(allowed(s, "https://app.example:8443"));
	assert_false(allowed(s, "https://xapp.example"));
	/* suffix */
	assert_true(allowed(s, "https://a.shop.example"));
	assert_true(allowed(s, "http://b.c.SHOP.example"));
	assert_false(allowed(s, "https://shop.example"));
	assert_false(allowed(s, "https://a.shop.example.evil"));
	/* regex: anchored at both ends, caseless */
	assert_true(allowed(s, "https://pr-12.preview.example"));
	assert_true(allowed(s, "https://PR-7.preview.example"));
	assert_false(allowed(s, "https://pr-12.preview.example.evil"));
	assert_false(allowed(s, "xhttps://pr-12.preview.example"));
	assert_false(allowed(s, "https://pr-x.preview.example"));
	/* odd origins */
	assert_false(allowed(s, "null"));
	assert_false(allowed(s, ""));
	memset(long_origin, 'a', sizeof(long_origin) - 1);
	memcpy(long_origin, "https://", 8);
	strcpy(long_origin + sizeof(long_origin) - 1 - 13, ".shop.example");
	assert_int_equal(strlen(long_origin), sizeof(long_origin) - 1);
	assert_false(allowed(s, long_origin)); /* longer than ROUTER_CORS_ORIGIN_MAX */
	cfg_snapshot_free(s);
}

static void test_preflight(void **state)
{
	struct cfg_snapshot *s = compile_ok(DOC(FULL, RT("a", "")));
	const char *ok[] = {"Origin: https://app.example", "Access-Control-Request-Method: PUT",
			    "access-control-request-headers: x-token"};
	const char *bad[] = {"origin: https://evil.example", "access-control-request-method: PUT"};
	struct fields f;

	(void)state;
	memset(&rw_stats, 0, sizeof(rw_stats));
	f = run(s, "OPTIONS", "/a", ok, 3);
	assert_int_equal(f.res, ROUTER_CORS_PREFLIGHT);
	assert_int_equal(f.n, 6);
	assert_string_equal(field(&f, "vary"), "Origin");
	assert_string_equal(field(&f, "access-control-allow-origin"), "https://app.example");
	assert_string_equal(field(&f, "access-control-allow-credentials"), "true");
	assert_string_equal(field(&f, "access-control-allow-methods"), "GET, PUT, DELETE");
	assert_string_equal(field(&f, "access-control-allow-headers"), "x-token, content-type");
	assert_string_equal(field(&f, "access-control-max-age"), "600");
	assert_null(field(&f, "access-control-expose-headers"));
	/* a disallowed origin: Vary alone */
	f = run(s, "OPTIONS", "/a", bad, 2);
	assert_int_equal(f.res, ROUTER_CORS_PREFLIGHT_DENIED);
	assert_int_equal(f.n, 1);
	assert_string_equal(field(&f, "vary"), "Origin");
	/* OPTIONS without Access-Control-Request-Method is an actual request */
	f = run(s, "OPTIONS", "/a", ok, 1);
	assert_int_equal(f.res, ROUTER_CORS_ALLOWED);
	/* so is another method with it */
	f = run(s, "POST", "/a", ok, 2);
	assert_int_equal(f.res, ROUTER_CORS_ALLOWED);
	assert_null(field(&f, "access-control-allow-methods"));
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_CORS_PREFLIGHT), 1);
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_CORS_PREFLIGHT_DENIED), 1);
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_CORS_ALLOWED), 2);
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_CORS_DENIED), 0);
	cfg_snapshot_free(s);
}

static void test_actual(void **state)
{
	struct cfg_snapshot *s = compile_ok(DOC(FULL, RT("a", "")));
	const char *ok[] = {"Origin: https://a.shop.example"};
	const char *two[] = {"Origin: https://a.shop.example", "Origin: https://app.example"};
	const char *none[] = {"x-other: 1"};
	struct fields f;

	(void)state;
	memset(&rw_stats, 0, sizeof(rw_stats));
	f = run(s, "GET", "/a", ok, 1);
	assert_int_equal(f.res, ROUTER_CORS_ALLOWED);
	assert_int_equal(f.n, 4);
	assert_string_equal(field(&f, "vary"), "Origin");
	assert_string_equal(field(&f, "access-control-allow-origin"), "https://a.shop.example");
	assert_string_equal(field(&f, "access-control-allow-credentials"), "true");
	assert_string_equal(field(&f, "access-control-expose-headers"), "x-request-id");
	assert_null(field(&f, "access-control-max-age"));
	/* two Origins: neither */
	f = run(s, "GET", "/a", two, 2);
	assert_int_equal(f.res, ROUTER_CORS_DENIED);
	assert_int_equal(f.n, 1);
	/* no Origin: untouched, not counted */
	f = run(s, "GET", "/a", none, 1);
	assert_int_equal(f.res, ROUTER_CORS_NONE);
	assert_int_equal(f.n, 0);
	f = run(s, "GET", "/a", NULL, 0);
	assert_int_equal(f.res, ROUTER_CORS_NONE);
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_CORS_ALLOWED), 1);
	assert_int_equal(stats_read(&rw_stats, STAT_ROUTER_CORS_DENIED), 1);
	cfg_snapshot_free(s);
}

static void test_any_origin(void **state)
{
	struct cfg_snapshot *s = compile_ok(DOC(
		"",
		RT("a", "'cors': {'allow_origins': [{'exact': '*'}], 'allow_headers': ['*']}, ")));
	const char *pf[] = {"Origin: https://anything.example",
			    "Access-Control-Request-Method: PUT"};
	struct fields f;

	(void)state;
	f = run(s, "OPTIONS", "/a", pf, 2);
	assert_int_equal(f.res, ROUTER_CORS_PREFLIGHT);
	assert_string_equal(field(&f, "access-control-allow-origin"), "*");
	assert_string_equal(field(&f, "access-control-allow-headers"), "*");
	assert_null(field(&f, "access-control-allow-credentials"));
	assert_null(field(&f, "access-control-allow-methods"));
	assert_null(field(&f, "access-control-max-age"));
	f = run(s, "GET", "/a", pf, 1);
	assert_int_equal(f.res, ROUTER_CORS_ALLOWED);
	assert_int_equal(f.n, 2); /* vary, allow-origin */
	assert_string_equal(field(&f, "access-control-allow-origin"), "*");
	cfg_snapshot_free(s);
}

static void test_route_overrides_vhost(void **state)
{
	struct cfg_snapshot *s = compile_ok(DOC(
		"'cors': {'allow_origins': [{'exact': 'https://vh.example'}]}, ",
		RT("own",
		   "'cors': {'allow_origins': [{'exact': "
		   "'https://route.example'}]}, ") ", " RT("inherit",
							   "") ", "
							       "{'name': 'ok', 'match': {'prefix': "
							       "'/ok'}, 'direct_response': "
							       "{'status': 200}}"));
	const char *l[1] = {"Origin: https://vh.example"};
	const struct router_config *rc = router_config_get(s, 0);
	struct fields f;

	(void)state;
	assert_ptr_equal(router_cors_policy(&rc->vhosts[0].routes[0]),
			 &rc->vhosts[0].routes[0].cors);
	assert_ptr_equal(router_cors_policy(&rc->vhosts[0].routes[1]), &rc->vhosts[0].cors);
	assert_false(allowed_at(s, "/own", "https://vh.example"));
	assert_true(allowed_at(s, "/own", "https://route.example"));
	assert_true(allowed_at(s, "/inherit", "https://vh.example"));
	assert_false(allowed_at(s, "/inherit", "https://route.example"));
	assert_true(allowed_at(s, "/ok", "https://vh.example")); /* every action */
	cfg_snapshot_free(s);
	/* no policy anywhere: untouched */
	s = compile_ok(DOC("", RT("a", "")));
	rc = router_config_get(s, 0);
	assert_null(router_cors_policy(&rc->vhosts[0].routes[0]));
	f = run(s, "GET", "/a", l, 1);
	assert_int_equal(f.res, ROUTER_CORS_NONE);
	assert_int_equal(f.n, 0);
	cfg_snapshot_free(s);
}

#define VP "$.route_configs[0].virtual_hosts[0].cors"
#define RP "$.route_configs[0].virtual_hosts[0].routes[0].cors"
/* A route whose cors policy is {@p m} */
#define RC_(m) DOC("", RT("a", "'cors': {" m "}, "))
#define O1     "'allow_origins': [{'exact': 'https://a.example'}]"
/* A header name of 200 bytes: @p c (one letter) repeated */
#define LONG_NAME(c)                                                                              \
	"'" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
		c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
			c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
				c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
					c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
						c c c c c c c c c c c c c c c c c c c "'"

static void test_errors(void **state)
{
	(void)state;
	/* structure */
	expect_error(DOC("'cors': 1, ", RT("a", "")), VP, "expected an object");
	expect_error(RC_(""), RP ".allow_origins", "required field missing");
	expect_error(RC_("'allow_origins': []"), RP ".allow_origins", "got 0");
	expect_error(RC_(O1 ", 'allow_origin': []"), RP ".allow_origin", "unknown field");
	expect_error(RC_("'allow_origins': [{}]"), RP ".allow_origins[0]",
		     "expected one of exact, suffix, regex; got none");
	expect_error(RC_("'allow_origins': [{'exact': 'https://a.example', 'suffix': '.b'}]"),
		     RP ".allow_origins[0].suffix", "got both exact and suffix");
	expect_error(RC_("'allow_origins': [{'prefix': 'https://a'}]"),
		     RP ".allow_origins[0].prefix", "unknown field");
	/* origins */
	expect_error(RC_("'allow_origins': [{'exact': 'https://a.example/'}]"),
		     RP ".allow_origins[0].exact",
		     "expected an origin: \"*\", \"null\" or scheme://host[:port] without a path "
		     "(\"https://app.example\"), got \"https://a.example/\"");
	expect_error(RC_("'allow_origins': [{'exact': 'a.example'}]"), RP ".allow_origins[0].exact",
		     "got \"a.example\"");
	expect_error(RC_("'allow_origins': [{'exact': 'https://a.example:0'}]"),
		     RP ".allow_origins[0].exact", "got \"https://a.example:0\"");
	expect_error(RC_("'allow_origins': [{'exact': 'https://a.example:65536'}]"),
		     RP ".allow_origins[0].exact", "got \"https://a.example:65536\"");
	expect_error(RC_("'allow_origins': [{'exact': 'https://'}]"), RP ".allow_origins[0].exact",
		     "got \"https://\"");
	expect_error(RC_("'allow_origins': [{'suffix': '*.a.example'}]"),
		     RP ".allow_origins[0].suffix",
		     "expected the end of an origin (\".example.com\"): visible ASCII without '/' "
		     "or '*', got \"*.a.example\"");
	expect_error(RC_("'allow_origins': [{'suffix': ''}]"), RP ".allow_origins[0].suffix",
		     "got \"\"");
	expect_error(RC_("'allow_origins': [{'regex': 'https://(a'}]"),
		     RP ".allow_origins[0].regex",
		     "expected a regular expression PCRE2 compiles, got \"https://(a\"");
	cfg_snapshot_free(compile_ok(RC_("'allow_origins': [{'exact': 'null'}, {'exact': "
					 "'http://[::1]:8080'}, {'exact': 'app+x.y-z://h_1:1'}]")));
	/* lists */
	expect_error(RC_(O1 ", 'allow_methods': ['GET', 'P T']"), RP ".allow_methods[1]",
		     "expected a method (an RFC 9110 token: \"PUT\") or \"*\", got \"P T\"");
	expect_error(RC_(O1 ", 'allow_headers': [1]"), RP ".allow_headers[0]",
		     "expected a header name (an RFC 9110 token) or \"*\", got 1");
	expect_error(RC_(O1 ", 'expose_headers': []"), RP ".expose_headers", "got 0");
	expect_error(RC_(O1 ", 'allow_headers': [" LONG_NAME("a") ", " LONG_NAME(
			     "b") ", " LONG_NAME("c") "]"),
		     RP ".allow_headers", "expected at most 512 bytes once joined with \", \"");
	/* max age */
	expect_error(RC_(O1 ", 'max_age_s': 86401"), RP ".max_age_s", "0..86400, got 86401");
	expect_error(RC_(O1 ", 'max_age_s': '60'"), RP ".max_age_s", "got \"60\"");
	/* credentials */
	expect_error(RC_("'allow_origins': [{'exact': '*'}], 'allow_credentials': true"),
		     RP ".allow_credentials",
		     "expected false with the allow_origins entry {\"exact\": \"*\"} (browsers "
		     "refuse credentials from any origin: list the origins)");
	expect_error(RC_(O1 ", 'allow_headers': ['*'], 'allow_credentials': true"),
		     RP ".allow_credentials", "with credentials \"*\" is a literal name");
	expect_error(RC_(O1 ", 'allow_credentials': 'yes'"), RP ".allow_credentials",
		     "got \"yes\"");
	cfg_snapshot_free(compile_ok(RC_("'allow_origins': [{'exact': '*'}], 'allow_methods': "
					 "['*'], 'expose_headers': ['*']")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_kinds),
		cmocka_unit_test(test_preflight),
		cmocka_unit_test(test_actual),
		cmocka_unit_test(test_any_origin),
		cmocka_unit_test(test_route_overrides_vhost),
		cmocka_unit_test(test_errors),
	};
	int rc;

	test_eal_init();
	rw = router_worker_create(&rw_stats);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	router_worker_free(rw);
	return rc;
}
