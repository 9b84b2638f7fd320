/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * inspect: each injection class detected in path, query and headers, as
 * sent, percent-encoded, double-encoded, in overlong UTF-8 and in any case;
 * no finding on a list of ordinary paths, queries and header values; values
 * longer than the decode window; duplicate and undeclared parameters and
 * duplicate singleton headers; the section (defaults, refusals) and what a
 * request costs in each mode: security events by kind, block or not, counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_fixture.h"
#include "dataplane/inspect/inspect_internal.h"
#include "dataplane/telemetry/telemetry_internal.h"
#include "test_eal.h"

#define HEAD                                                                               \
	"{'version': 1, 'interfaces': [{'name': 'client', 'port': 'p0', 'ipv4': "          \
	"['10.10.1.1/24']}], 'mode': 'mesh', 'services': [{'name': 'cart', 'namespace': "  \
	"'shop', 'vip': '10.96.0.10', 'ports': [{'port': 80}], 'endpoints': [{'address': " \
	"'10.10.1.10'}]}]"

/* The classes inspect_scan() finds in @p s (a query when @p query). */
static uint32_t scan(const char *s, bool query, struct inspect_hits *h)
{
	memset(h, 0, sizeof(*h));
	return inspect_scan(s, (uint32_t)strlen(s), query, h);
}

static void expect_class(const char *s, bool query, enum inspect_class c)
{
	struct inspect_hits h;
	uint32_t got = scan(s, query, &h);

	if (!(got & (1u << c)))
		fail_msg("\"%s\": class %d not found (found 0x%x)", s, c, got);
}

static void test_classes(void **state)
{
	static const char *const sql[] = {
		"id=1' or '1'='1",
		"id=1%27%20OR%201%3D1--",
		"u=admin'--",
		"u=admin'#",
		"u=x'or'1'='1",
		"q=1 union select password from users",
		"q=1+UNION+ALL+SELECT+1,2",
		"q=1/**/union/**/select/**/1",
		"q=1%2F**%2FUnIoN%2F**%2FsElEcT%2F**%2F1",
		"id=1;--",
		"id=1; drop table users",
		"id=sleep(5)",
		"id=SLEEP (5)",
		"x=benchmark(1000000,md5(1))",
		"id=1 and 1=1",
		"id=1 AND 2>1",
		"q=select * from users",
		"q=select @@version",
		"q=select 1,2,3",
		"q=waitfor delay '0:0:5'",
		"q=information_schema.tables",
		"q=pg_sleep(10)",
		"q=1 into outfile '/tmp/x'",
		"q=/*!50000select*/",
		"id=%2527%2520or%25201%253D1", /* double-encoded */
		"q=xp_cmdshell 'dir'",
	};
	static const char *const script[] = {
		"q=<script>alert(1)</script>",
		"q=%3Cscript%3E",
		"q=%253Cscript%253E", /* double-encoded */
		"q=%3CScRiPt%20src%3Dx%3E",
		"r=javascript:alert(1)",
		"r=JavaScript%3Avoid(0)",
		"q=<img src=x onerror=alert(1)>",
		"q=<svg/onload=alert(1)>",
		"q=\"><iframe src=x>",
		"q=x\" onmouseover=\"go()",
		"q=document.cookie",
		"q=vbscript:msgbox",
		"q=data:text/html;base64,xx",
		"q=</script>",
	};
	static const char *const trav[] = {
		"/../../etc/passwd",   "/static/..%2f..%2fetc/hosts",
		"/a/%2e%2e/%2e%2e/b",  "/a/%2E%2E%2Fb",
		"/a/%252e%252e%252fb", /* double-encoded */
		"/x/%c0%ae%c0%ae/y",   /* overlong UTF-8 */
		"/etc/passwd",	       "/a/..",
		"/a%00.jpg",
	};
	static const char *const trav_q[] = {
		"name=..\\..\\windows\\win.ini", "f=/proc/self/environ", "f=..%5c..%5cboot.ini",
		"f=c:\\windows\\system32",	 "f=C:/WINDOWS/x",
	};
	static const char *const crlf[] = {
		"/a%0d%0aSet-Cookie:x=1", "/a%0D%0Ab", "/r%250d%250a", /* double-encoded */
	};
	struct inspect_hits h;

	(void)state;
	for (size_t i = 0; i < RTE_DIM(sql); i++)
		expect_class(sql[i], true, INSPECT_SQL);
	for (size_t i = 0; i < RTE_DIM(script); i++)
		expect_class(script[i], true, INSPECT_SCRIPT);
	for (size_t i = 0; i < RTE_DIM(trav); i++)
		expect_class(trav[i], false, INSPECT_TRAVERSAL);
	for (size_t i = 0; i < RTE_DIM(trav_q); i++)
		expect_class(trav_q[i], true, INSPECT_TRAVERSAL);
	for (size_t i = 0; i < RTE_DIM(crlf); i++)
		expect_class(crlf[i], false, INSPECT_CRLF);
	expect_class("q=x%0aInjected: 1", true, INSPECT_CRLF);
	/* the first signature of each class, and double encoding noted */
	assert_int_equal(scan("q=1 union select 2&x=<script>", true, &h),
			 (1u << INSPECT_SQL) | (1u << INSPECT_SCRIPT));
	assert_string_equal(h.sig[INSPECT_SQL], "union select");
	assert_string_equal(h.sig[INSPECT_SCRIPT], "<tag");
	assert_false(h.double_encoded);
	scan("/a/%252e%252e%252fb", false, &h);
	assert_true(h.double_encoded);
	assert_string_equal(h.sig[INSPECT_TRAVERSAL], "../");
	/* '+' is a space in a query only */
	assert_int_equal(scan("/1+union+select+2", false, &h), 0);
	expect_class("q=1+union+select+2", true, INSPECT_SQL);
}

static void test_benign(void **state)
{
	static const char *const paths[] = {
		"/",
		"/api/v1/users/123",
		"/o'reilly/books",
		"/search",
		"/static/app.min.js",
		"/files/report..pdf",
		"/a/b.c/d",
		"/blog/2024/01/selecting-a-database",
		"/products/union-jack-flag",
		"/orders/or/and/not",
		"/user/sleepy/benchmarks",
		"/img/onerror.png",
		"/scripts/main.js",
		"/javascript/tutorial",
		"/etc/hosts-file-guide",
		"/wp-content/themes/x/style.css",
		"/docs/select-statement",
		"/a%20b/c%2Fd",
		"/caf%C3%A9",
		"/.well-known/openid-configuration",
		"/v1.2/items/./x",
	};
	static const char *const queries[] = {
		"q=select a car",
		"q=select+a+car",
		"q=rock+%27n%27+roll",
		"q=it%27s+or+nothing",
		"name=O%27Brien",
		"q=union+station",
		"q=and+then+there+were+none",
		"q=sleep+well",
		"sort=name&order=desc",
		"q=1%2B1%3D2",
		"q=100%25+cotton",
		"q=a%26b",
		"email=a%40b.com",
		"redirect=%2Fhome%2Fdashboard",
		"q=select%20from%20list",
		"q=drop+shipping",
		"q=how+to+use+%3B+in+english",
		"q=on+sale&online=yes",
		"q=C%23+tutorial",
		"q=I+%3C3+you",
		"q=a%3Cb+and+b%3Ec",
		"page=2&size=20",
		"q=the+%22or%22+operator",
		"q=%27or%27+is+a+word",
		"q=what+does+1%3D1+mean",
		"q=documentary",
		"q=javascript+tutorial",
		"q=alert+systems",
		"q=eval+board",
		"tags=select,insert,update",
		"q=wait...",
		"v=1.2.3",
		"q=wait+for+delay",
		"q=information+schema",
	};
	static const char *const headers[] = {
		("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
		 "Chrome/120.0 Safari/537.36"),
		"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Dalvik/2.1.0 (Linux; U; Android 9; SM-G960F Build/PPR1.180610.011)",
		"curl/8.5.0",
		"https://shop.example/search?q=select+a+car&page=2",
		"https://shop.example/o'reilly/books",
	};
	struct inspect_hits h;

	(void)state;
	for (size_t i = 0; i < RTE_DIM(paths); i++)
		if (scan(paths[i], false, &h) != 0)
			fail_msg("path \"%s\": found 0x%x", paths[i], h.found);
	for (size_t i = 0; i < RTE_DIM(queries); i++)
		if (scan(queries[i], true, &h) != 0)
			fail_msg("query \"%s\": found 0x%x (sql: %s)", queries[i], h.found,
				 h.sig[INSPECT_SQL] ? h.sig[INSPECT_SQL] : "-");
	for (size_t i = 0; i < RTE_DIM(headers); i++)
		if (scan(headers[i], false, &h) != 0)
			fail_msg("header \"%s\": found 0x%x", headers[i], h.found);
}

/* A value longer than the window: a pattern past it, and one across a window's edge. */
static void test_long_values(void **state)
{
	const size_t len = 3 * INSPECT_WINDOW;
	char *v = malloc(len + 64);
	struct inspect_hits h;

	(void)state;
	assert_non_null(v);
	for (size_t i = 0; i < len; i++)
		v[i] = "%41"[i % 3]; /* "%41%41...": decoded, the window holds 3x the bytes */
	v[len] = '\0';
	assert_int_equal(scan(v, true, &h), 0);
	strcpy(v + len - 30, "%3Cscript%3E");
	assert_int_equal(scan(v, true, &h), 1u << INSPECT_SCRIPT);
	/* across the first window's edge (raw bytes 4089..4100) */
	for (size_t i = 0; i < len; i++)
		v[i] = "%41"[i % 3];
	memcpy(v + INSPECT_WINDOW - 7, "%2f%2e%2e%2f", 12);
	assert_int_equal(scan(v, false, &h), 1u << INSPECT_TRAVERSAL);
	/* nothing encoded: scanned as it came, whatever its length */
	memset(v, 'a', len);
	strcpy(v + len - 20, " union select 1");
	assert_int_equal(scan(v, false, &h), 1u << INSPECT_SQL);
	free(v);
}

static struct stats_block *stats;

static int setup(void **state)
{
	(void)state;
	stats = aligned_alloc(64, sizeof(*stats));
	if (stats == NULL || telem_init(1, 16, 64) != 0)
		return -1;
	memset(stats, 0, sizeof(*stats));
	telem_worker_get(0, stats);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	telem_free();
	free(stats);
	return 0;
}

/* inspect_request() of path @p path, query @p query and headers @p hdr[n] under @p snap. */
static bool request(const struct cfg_snapshot *snap, const char *path, const char *query,
		    const struct telem_str (*hdr)[2], uint32_t n, const struct telem_str *params,
		    uint32_t n_params)
{
	const struct inspect_request rq = {
		.path = {path, (uint32_t)strlen(path)},
		.query = {query, (uint32_t)strlen(query)},
		.headers = hdr,
		.n_headers = n,
		.params = params,
		.n_params = n_params,
	};
	const struct telem_sev_ctx c = {.listener = "http", .service = 0, .method = {"GET", 3}};

	return inspect_request(snap, &rq, telem_worker_get(0, stats), &c, stats, 1000);
}

static uint64_t st(enum stats_id id)
{
	return stats_read(stats, id);
}

static void test_request(void **state)
{
	static const struct telem_str hdrs[][2] = {
		{{"User-Agent", 10}, {"<script>", 8}},
		{{"X-Other", 7}, {"' or 1=1", 8}},
		{{"Referer", 7}, {"https://a/..%2fetc", 18}},
	};
	static const struct telem_str dup_ua[][2] = {
		{{"user-agent", 10}, {"a", 1}},
		{{"Accept", 6}, {"*/*", 3}},
		{{"USER-AGENT", 10}, {"b", 1}},
	};
	static const struct telem_str two_accept[][2] = {
		{{"accept", 6}, {"a", 1}},
		{{"accept", 6}, {"b", 1}},
	};
	static const struct telem_str declared[] = {{"q", 1}, {"page", 4}};
	struct cfg_snapshot *s;
	const struct inspect_snap *is;

	(void)state;
	/* absent: detect, user-agent and referer, duplicates detected */
	s = compile_ok(HEAD "}");
	is = s->inspect;
	assert_int_equal(is->mode, INSPECT_DETECT);
	assert_int_equal(is->dup_mode, INSPECT_DETECT);
	assert_int_equal(is->n_headers, 2);
	assert_string_equal(is->headers[0], "user-agent");
	assert_false(request(s, "/x", "q=1 union select 2", NULL, 0, NULL, 0));
	assert_int_equal(st(STAT_SECURITY_EVENT_INJECTION_SQL), 1);
	assert_int_equal(st(STAT_INSPECT_REQUESTS), 1);
	/* the selected headers only: user-agent (script) and referer (traversal), not x-other */
	assert_false(request(s, "/x", "", hdrs, 3, NULL, 0));
	assert_int_equal(st(STAT_SECURITY_EVENT_INJECTION_SCRIPT), 1);
	assert_int_equal(st(STAT_SECURITY_EVENT_INJECTION_TRAVERSAL), 1);
	assert_int_equal(st(STAT_SECURITY_EVENT_INJECTION_SQL), 1);
	/* one event per class per request, whatever the number of findings */
	assert_false(request(s, "/../a/../b", "f=../c", NULL, 0, NULL, 0));
	assert_int_equal(st(STAT_SECURITY_EVENT_INJECTION_TRAVERSAL), 2);
	/* extra parameters */
	assert_false(request(s, "/x", "id=1&b=2&id=3", NULL, 0, NULL, 0));
	assert_int_equal(st(STAT_SECURITY_EVENT_EXTRA_PARAMETER), 1);
	assert_false(request(s, "/x", "", dup_ua, 3, NULL, 0));
	assert_int_equal(st(STAT_SECURITY_EVENT_EXTRA_PARAMETER), 2);
	assert_false(request(s, "/x", "a=1&b&c=", two_accept, 2, NULL, 0)); /* not singletons */
	assert_false(request(s, "/x", "q=car&page=2", NULL, 0, declared, 2));
	assert_int_equal(st(STAT_SECURITY_EVENT_EXTRA_PARAMETER), 2);
	assert_false(request(s, "/x", "q=car&debug=1", NULL, 0, declared, 2));
	assert_int_equal(st(STAT_SECURITY_EVENT_EXTRA_PARAMETER), 3);
	assert_false(request(s, "/x", "a=1", NULL, 0, declared, 0)); /* declares none */
	assert_int_equal(st(STAT_SECURITY_EVENT_EXTRA_PARAMETER), 4);
	assert_false(request(s, "/x", "%2541=1", NULL, 0, NULL, 0));
	assert_int_equal(st(STAT_INSPECT_DOUBLE_ENCODED), 1);
	{
		char q[INSPECT_PARAMS * 6 + 16];
		size_t o = 0;

		for (unsigned int i = 0; i <= INSPECT_PARAMS; i++)
			o += (size_t)snprintf(q + o, sizeof(q) - o, "p%u=1&", i);
		assert_false(request(s, "/x", q, NULL, 0, NULL, 0));
		assert_int_equal(st(STAT_INSPECT_PARAMS_OVER_LIMIT), 1);
	}
	/* the events landed: one record per event above, with the kind's detail */
	{
		struct telem_worker *tw = telem_worker_get(0, stats);
		const struct telem_sev_rec *r = telem_ring_at(&tw->sev, 0);

		assert_int_equal(tw->sev.prod, 8);
		assert_int_equal(r->kind, TELEM_SEV_INJECTION_SQL);
		assert_string_equal(r->detail, "union select in query");
		assert_string_equal(r->service, "shop/cart");
		r = telem_ring_at(&tw->sev, 1);
		assert_int_equal(r->kind, TELEM_SEV_INJECTION_SCRIPT);
		assert_string_equal(r->detail, "<tag in user-agent");
		r = telem_ring_at(&tw->sev, 4);
		assert_int_equal(r->kind, TELEM_SEV_EXTRA_PARAMETER);
		assert_string_equal(r->detail, "duplicate query parameter \"id\"");
		r = telem_ring_at(&tw->sev, 5);
		assert_string_equal(r->detail, "duplicate header user-agent");
		r = telem_ring_at(&tw->sev, 6);
		assert_string_equal(r->detail, "undeclared query parameter \"debug\"");
	}
	cfg_snapshot_free(s);

	/* block: injection refused; duplicates still only detected */
	s = compile_ok(HEAD ", 'request_inspection': {'mode': 'block', 'headers': []}}");
	assert_int_equal(s->inspect->n_headers, 0);
	assert_true(request(s, "/x", "q=<script>", NULL, 0, NULL, 0));
	assert_false(request(s, "/x", "", hdrs, 3, NULL, 0)); /* no header is scanned */
	assert_false(request(s, "/x", "a=1&a=2", NULL, 0, NULL, 0));
	assert_false(request(s, "/ok", "q=select a car", NULL, 0, NULL, 0));
	cfg_snapshot_free(s);
	s = compile_ok(HEAD ", 'request_inspection': {'mode': 'off', 'duplicate_parameters': "
			    "'block', 'headers': ['X-Other']}}");
	assert_string_equal(s->inspect->headers[0], "x-other");
	assert_false(request(s, "/x", "q=<script>", NULL, 0, NULL, 0));
	assert_true(request(s, "/x", "a=1&a=2", NULL, 0, NULL, 0));
	cfg_snapshot_free(s);
	/* everything off: nothing scanned */
	s = compile_ok(HEAD ", 'request_inspection': {'mode': 'off', 'duplicate_parameters': "
			    "'off'}}");
	{
		uint64_t before = st(STAT_INSPECT_REQUESTS);

		assert_false(request(s, "/../x", "a=1&a=2", NULL, 0, NULL, 0));
		assert_int_equal(st(STAT_INSPECT_REQUESTS), before);
	}
	cfg_snapshot_free(s);
}

static void test_config(void **state)
{
	(void)state;
	expect_error(HEAD ", 'request_inspection': {'mode': 'log'}}", "$.request_inspection.mode",
		     NULL);
	expect_error(HEAD ", 'request_inspection': {'modes': 'block'}}",
		     "$.request_inspection.modes", "unknown");
	expect_error(HEAD ", 'request_inspection': {'headers': ['a b']}}",
		     "$.request_inspection.headers[0]", "header name");
	expect_error(HEAD ", 'request_inspection': {'headers': ['Referer', 'referer']}}",
		     "$.request_inspection.headers[1]", "twice");
	expect_error(HEAD ", 'request_inspection': {'duplicate_parameters': true}}",
		     "$.request_inspection.duplicate_parameters", NULL);
	expect_error(HEAD ", 'request_inspection': []}", "$.request_inspection", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_benign),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test_setup_teardown(test_request, setup, teardown),
		cmocka_unit_test(test_config),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
