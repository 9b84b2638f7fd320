/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: Istio's buckets, series per label set summed over workers, the
 * cardinality cap, the telemetry config section, masking, Common Log Format
 * and JSON records, the access log ring and its full counter; the security
 * event log (records, token bucket, ring full, JSON lines) and the crash
 * handler (a fault and a sent SIGSEGV, in a child).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config_fixture.h"
#include "dataplane/l4/l4.h"
#include "dataplane/telemetry/telemetry_internal.h"
#include "test_eal.h"

#define HEAD                                                                                   \
	"{'version': 1, 'interfaces': [{'name': 'client', 'port': 'p0', 'ipv4': "              \
	"['10.10.1.1/24']}, {'name': 'server', 'port': 'p1', 'ipv4': ['10.10.2.1/24']}], "     \
	"'mode': 'mesh', 'workloads': [{'name': 'web', 'namespace': 'shop', 'service': 'fe', " \
	"'prefixes': ['10.10.1.0/24']}, {'name': 'cart-v1', 'namespace': 'shop', 'service': "  \
	"'cart', 'prefixes': ['10.10.2.0/24']}], 'services': [{'name': 'cart', 'namespace': "  \
	"'shop', 'vip': '10.96.0.10', 'ports': [{'port': 80}], 'endpoints': [{'address': "     \
	"'10.10.2.10'}]}]"

#define N_WORKERS 2

/* telem_render_metrics() into a fresh buffer: the text, or NULL. */
static char *render_metrics(const struct cfg_snapshot *s)
{
	struct log_buf b;

	if (log_buf_init(&b, 4096) != 0)
		return NULL;
	telem_render_metrics(s, &b);
	return log_buf_take(&b);
}

static struct stats_block *stats;

static int setup(void **state)
{
	(void)state;
	stats = aligned_alloc(64, N_WORKERS * sizeof(*stats));
	if (stats == NULL)
		return -1;
	memset(stats, 0, N_WORKERS * sizeof(*stats));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	telem_free();
	free(stats);
	return 0;
}

static struct telem_worker *worker(unsigned int i)
{
	struct telem_worker *tw = telem_worker_get(i, &stats[i]);

	assert_non_null(tw);
	return tw;
}

/* One request of @p status from the web workload to service cart, @p dur_us long. */
static void request(struct telem_worker *tw, const struct cfg_snapshot *snap, unsigned int status,
		    uint64_t dur_us, uint64_t req_bytes, uint64_t resp_bytes,
		    const struct telem_head *h)
{
	static const struct telem_head empty = {.method = {"GET", 3}, .path = {"/", 1}};
	struct telem_http t;
	uint32_t client = htonl(0x0a0a0102);

	telem_http_begin(tw, snap, &t, h != NULL ? h : &empty, client, 40000,
			 telem_wl_label(snap, l4_workload_of(snap, 4, &client)), 0, 1000);
	t.svc = telem_svc_label(snap, 0);
	t.dst = telem_wl_label(snap, 1);
	telem_http_end(tw, snap, &t, status, 0, req_bytes, resp_bytes, htonl(0x0a0a020a), 80, "r1",
		       1000 + dur_us);
}

/* The value of the first sample of @p metric whose line holds @p needle (NULL: any); -1: none. */
static double sample(const char *text, const char *metric, const char *needle)
{
	const size_t ml = strlen(metric);

	for (const char *p = text; (p = strstr(p, metric)) != NULL; p++) {
		const char *end = strchr(p, '\n'), *hit, *sp;

		if (end == NULL)
			end = p + strlen(p);
		if ((p != text && p[-1] != '\n') || p[ml] != '{')
			continue;
		hit = needle != NULL ? strstr(p, needle) : p;
		if (hit == NULL || hit > end)
			continue;
		for (sp = end; sp > p && sp[-1] != ' '; sp--)
			;
		return strtod(sp, NULL);
	}
	return -1;
}

static void test_buckets(void **state)
{
	(void)state;
	assert_int_equal(telem_bucket(telem_dur_bounds_us, TELEM_DUR_BUCKETS, 0), 0);
	assert_int_equal(telem_bucket(telem_dur_bounds_us, TELEM_DUR_BUCKETS, 500), 0);
	assert_int_equal(telem_bucket(telem_dur_bounds_us, TELEM_DUR_BUCKETS, 501), 1);
	assert_int_equal(telem_bucket(telem_dur_bounds_us, TELEM_DUR_BUCKETS, 7000), 3);
	assert_int_equal(telem_bucket(telem_dur_bounds_us, TELEM_DUR_BUCKETS, 3600000000ULL), 18);
	assert_int_equal(telem_bucket(telem_dur_bounds_us, TELEM_DUR_BUCKETS, 3600000001ULL), 19);
	assert_int_equal(telem_bucket(telem_bytes_bounds, TELEM_BYTES_BUCKETS, 1), 0);
	assert_int_equal(telem_bucket(telem_bytes_bounds, TELEM_BYTES_BUCKETS, 2), 1);
	assert_int_equal(telem_bucket(telem_bytes_bounds, TELEM_BYTES_BUCKETS, 1000000000), 9);
	assert_int_equal(telem_bucket(telem_bytes_bounds, TELEM_BYTES_BUCKETS, 1000000001), 10);
}

static void test_config(void **state)
{
	struct cfg_snapshot *s, *s2;

	(void)state;
	s = compile_ok(HEAD ", 'telemetry': {'metrics': {'max_series': 64, 'reporter': "
			    "'destination'}, 'access_log': {'format': 'json', 'filter': 'all', "
			    "'sample_percent': 12.5, 'output': 'file', 'path': '/tmp/x.log', "
			    "'headers': ['User-Agent', 'authorization'], 'mask_headers': "
			    "['x-api-key'], 'ring_size': 128}}}");
	assert_non_null(s->telemetry);
	cfg_snapshot_free(s);
	s = compile_ok(HEAD "}");
	expect_error(HEAD ", 'telemetry': {'metric': {}}}", "$.telemetry.metric", "unknown");
	expect_error(HEAD ", 'telemetry': {'metrics': {'max_series': 8}}}",
		     "$.telemetry.metrics.max_series", NULL);
	expect_error(HEAD ", 'telemetry': {'metrics': {'reporter': 'both'}}}",
		     "$.telemetry.metrics.reporter", NULL);
	expect_error(HEAD ", 'telemetry': {'metrics': {'trust_domain': 'a b'}}}",
		     "$.telemetry.metrics.trust_domain", NULL);
	expect_error(HEAD ", 'telemetry': {'access_log': {'ring_size': 100}}}",
		     "$.telemetry.access_log", "power of two");
	expect_error(HEAD ", 'telemetry': {'access_log': {'sample_percent': 101}}}",
		     "$.telemetry.access_log.sample_percent", "0..100");
	expect_error(HEAD ", 'telemetry': {'access_log': {'output': 'file'}}}",
		     "$.telemetry.access_log.path", "absolute");
	expect_error(HEAD ", 'telemetry': {'access_log': {'path': '/tmp/a'}}}",
		     "$.telemetry.access_log.path", "only output");
	expect_error(HEAD ", 'telemetry': {'access_log': {'headers': ['a b']}}}",
		     "$.telemetry.access_log.headers[0]", "header name");
	expect_error(HEAD ", 'telemetry': {'access_log': {'headers': ['a', 'b', 'c', 'd', 'e']}}}",
		     "$.telemetry.access_log.headers", NULL);
	/* startup settings stay */
	expect_error_prev(HEAD ", 'telemetry': {'metrics': {'max_series': 2048}}}", s,
			  "$.telemetry.metrics.max_series", "restart");
	expect_error_prev(HEAD ", 'telemetry': {'access_log': {'ring_size': 64}}}", s,
			  "$.telemetry.access_log.ring_size", "restart");
	/* the same names intern to the same ids across snapshots */
	s2 = compile_ok_prev(HEAD ", 'telemetry': {'access_log': {'enabled': false}}}", s);
	assert_int_equal(telem_wl_label(s, 0), telem_wl_label(s2, 0));
	assert_int_equal(telem_svc_label(s, 0), telem_svc_label(s2, 0));
	assert_int_not_equal(telem_wl_label(s, 0), telem_wl_label(s, 1));
	assert_int_not_equal(telem_wl_label(s, -1), telem_wl_label(s, 0));
	cfg_snapshot_free(s2);
	cfg_snapshot_free(s);
}

static void test_series_merge(void **state)
{
	struct cfg_snapshot *s;
	char *text;

	(void)state;
	assert_int_equal(telem_init(N_WORKERS, 16, 64), 0);
	s = compile_ok(HEAD "}");
	request(worker(0), s, 200, 300, 100, 5000, NULL);
	request(worker(0), s, 200, 7000, 100, 5000, NULL);
	request(worker(1), s, 200, 2000000, 100, 5000, NULL);
	request(worker(1), s, 503, 100, 100, 20, NULL);
	text = render_metrics(s);
	assert_non_null(text);
	/* the three 200s are one series, summed over both workers */
	assert_true(sample(text, "istio_requests_total", "response_code=\"200\"") == 3);
	assert_true(sample(text, "istio_requests_total", "response_code=\"503\"") == 1);
	assert_non_null(strstr(text,
			       "istio_requests_total{reporter=\"source\",source_workload="
			       "\"web\",source_workload_namespace=\"shop\",source_principal="
			       "\"unknown\",destination_workload=\"cart-v1\","
			       "destination_workload_namespace=\"shop\",destination_principal="
			       "\"unknown\",destination_service=\"cart.shop.svc.cluster.local\","
			       "destination_service_name=\"cart\",destination_service_namespace="
			       "\"shop\",response_code=\"200\",grpc_response_status=\"\","
			       "response_flags=\"-\",connection_security_policy=\"none\"} 3\n"));
	/* cumulative buckets: 300 us <= 0.5 ms; 7 ms <= 10; 2 s <= 2.5 s */
	assert_true(sample(text, "istio_request_duration_milliseconds_bucket",
			   "response_code=\"200\",grpc_response_status=\"\",response_flags=\"-\","
			   "connection_security_policy=\"none\",le=\"0.5\"") == 1);
	assert_true(sample(text, "istio_request_duration_milliseconds_bucket",
			   "response_code=\"200\",grpc_response_status=\"\",response_flags=\"-\","
			   "connection_security_policy=\"none\",le=\"10\"") == 2);
	assert_true(sample(text, "istio_request_duration_milliseconds_bucket",
			   "response_code=\"200\",grpc_response_status=\"\",response_flags=\"-\","
			   "connection_security_policy=\"none\",le=\"1000\"") == 2);
	assert_true(sample(text, "istio_request_duration_milliseconds_bucket",
			   "response_code=\"200\",grpc_response_status=\"\",response_flags=\"-\","
			   "connection_security_policy=\"none\",le=\"2500\"") == 3);
	assert_true(sample(text, "istio_request_duration_milliseconds_bucket",
			   "response_code=\"200\",grpc_response_status=\"\",response_flags=\"-\","
			   "connection_security_policy=\"none\",le=\"+Inf\"") == 3);
	assert_true(sample(text, "istio_request_duration_milliseconds_sum", "code=\"200\"") ==
		    2007.3);
	assert_true(sample(text, "istio_request_duration_milliseconds_count", "code=\"200\"") == 3);
	assert_true(sample(text, "istio_response_bytes_sum", "code=\"200\"") == 15000);
	assert_true(sample(text, "istio_response_bytes_bucket",
			   "code=\"200\",grpc_response_"
			   "status=\"\",response_flags=\"-\","
			   "connection_security_policy="
			   "\"none\",le=\"1000\"") == 0);
	assert_true(sample(text, "istio_response_bytes_bucket",
			   "code=\"200\",grpc_response_"
			   "status=\"\",response_flags=\"-\","
			   "connection_security_policy="
			   "\"none\",le=\"10000\"") == 3);
	free(text);

	/* meshctl top's rows: per service, errors are the 5xx */
	struct telem_top_row rows[4];

	assert_int_equal(telem_top(rows, 4), 1);
	assert_string_equal(rows[0].service, "cart.shop.svc.cluster.local");
	assert_int_equal(rows[0].requests, 4);
	assert_int_equal(rows[0].errors, 1);
	assert_int_equal(rows[0].dur[0], 2);

	/* TCP: opened, bytes both ways, closed */
	uint32_t h = telem_tcp_open(worker(1), s, telem_wl_label(s, 0), 0, 1, TELEM_SEC_DOWN_MTLS);

	assert_int_not_equal(h, 0);
	telem_tcp_bytes(worker(1), h, 1000, 50);
	telem_tcp_bytes(worker(1), h, 24, 0);
	text = render_metrics(s);
	assert_true(sample(text, "istio_tcp_connections_opened_total", NULL) == 1);
	assert_true(sample(text, "istio_tcp_connections_closed_total", NULL) == 0);
	assert_true(sample(text, "istio_tcp_received_bytes_total", NULL) == 1024);
	assert_true(sample(text, "istio_tcp_sent_bytes_total", NULL) == 50);
	assert_non_null(strstr(text, "source_principal=\"spiffe://cluster.local/ns/shop/sa/fe\""));
	assert_non_null(strstr(text, "connection_security_policy=\"mutual_tls\""));
	free(text);
	telem_tcp_close(worker(1), h);
	text = render_metrics(s);
	assert_true(sample(text, "istio_tcp_connections_closed_total", NULL) == 1);
	free(text);
	cfg_snapshot_free(s);
}

static void test_cardinality_cap(void **state)
{
	struct cfg_snapshot *s;
	char *text;

	(void)state;
	assert_int_equal(telem_init(N_WORKERS, 16, 64), 0);
	s = compile_ok(HEAD ", 'telemetry': {'access_log': {'enabled': false}}}");
	/* 20 label sets (response codes) on one worker: 16 series, 4 into the overflow one */
	for (unsigned int i = 0; i < 20; i++)
		request(worker(0), s, 200 + i, 100, 10, 10, NULL);
	request(worker(0), s, 200, 100, 10, 10, NULL); /* a known series still counts in it */
	assert_int_equal(stats_read(&stats[0], STAT_TELEMETRY_SERIES_OVERFLOW), 4);
	text = render_metrics(s);
	assert_true(sample(text, "istio_requests_total", "response_code=\"200\"") == 2);
	assert_true(sample(text, "istio_requests_total", "response_code=\"215\"") == 1);
	assert_true(sample(text, "istio_requests_total", "response_code=\"216\"") == -1);
	assert_true(sample(text, "istio_requests_total", "source_workload=\"overflow\"") == 4);
	free(text);
	cfg_snapshot_free(s);
}

static void test_masking(void **state)
{
	char v[128];

	(void)state;
	snprintf(v, sizeof(v), "Bearer eyJhbGciOiJIUzI1NiJ9.secret.sig");
	telem_mask(v, sizeof(v), true, false);
	assert_string_equal(v, "Bearer ***");
	snprintf(v, sizeof(v), "session=abc123; theme=dark");
	telem_mask(v, sizeof(v), true, false);
	assert_string_equal(v, "***");
	snprintf(v, sizeof(v), "x bearer tok123 y");
	telem_mask(v, sizeof(v), false, false);
	assert_string_equal(v, "x bearer *** y");
	snprintf(v, sizeof(v), "/a?x=1&access_token=s3cr3t&token=t&y=2");
	telem_mask(v, sizeof(v), false, true);
	assert_string_equal(v, "/a?x=1&access_token=***&token=***&y=2");
	snprintf(v, sizeof(v), "/a?mytoken=visible");
	telem_mask(v, sizeof(v), false, true);
	assert_string_equal(v, "/a?mytoken=visible");
}

static void test_log_records(void **state)
{
	static const struct telem_str hdrs[][2] = {
		{{"Authorization", 13}, {"Bearer SECRETTOKEN1", 19}},
		{{"user-agent", 10}, {"curl/7.88", 9}},
		{{"x-api-key", 9}, {"SECRETKEY2", 10}},
		{{"cookie", 6}, {"sid=SECRETCOOKIE3", 17}},
	};
	const struct telem_head h = {
		.method = {"POST", 4},
		.path = {"/cart/add", 9},
		.query = {"access_token=SECRETQ4&n=1", 25},
		.authority = {"shop.example", 12},
		.request_id = {"rid-1", 5},
		.version_minor = 1,
		.headers = hdrs,
		.n_headers = 4,
	};
	struct cfg_snapshot *s, *sj;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	json_t *j, *hj;
	char line[4096];

	(void)state;
	assert_int_equal(telem_init(N_WORKERS, 16, 64), 0);
	s = compile_ok(HEAD
		       ", 'telemetry': {'access_log': {'headers': ['authorization', "
		       "'user-agent', 'x-api-key', 'cookie'], 'mask_headers': ['X-Api-Key']}}}");
	sj = compile_ok_prev(HEAD ", 'telemetry': {'access_log': {'format': 'json', 'headers': "
				  "['authorization', 'user-agent', 'x-api-key', 'cookie'], "
				  "'mask_headers': ['X-Api-Key']}}}",
			     s);
	/* 2xx are not logged by default; 404 and 503 are */
	request(worker(0), s, 200, 1500, 10, 10, &h);
	request(worker(0), s, 404, 1500, 123, 9, &h);
	request(worker(1), s, 503, 2500, 123, 0, &h);
	f = open_memstream(&buf, &len);
	assert_int_equal(telem_log_drain(s, f), 2);
	fclose(f);
	/* Common Log Format: host ident authuser [date] "request" status bytes */
	assert_non_null(strstr(buf, "10.10.1.2 - - ["));
	assert_non_null(strstr(buf, "] \"POST /cart/add?access_token=***&n=1 HTTP/1.1\" 404 9\n"));
	assert_non_null(strstr(buf, "\"POST /cart/add?access_token=***&n=1 HTTP/1.1\" 503 -\n"));
	assert_null(strstr(buf, "SECRET"));
	free(buf);

	request(worker(1), s, 404, 2500, 123, 9, &h);
	assert_int_equal(telem_log_drain(sj, (f = open_memstream(&buf, &len))), 1);
	fclose(f);
	assert_null(strstr(buf, "SECRET"));
	assert_int_equal(sscanf(buf, "%4095[^\n]", line), 1);
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(j, "path")),
			    "/cart/add?access_token=***&n=1");
	assert_int_equal(json_integer_value(json_object_get(j, "response_code")), 404);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_received")), 123);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_sent")), 9);
	assert_true(json_real_value(json_object_get(j, "duration_ms")) == 2.5);
	assert_string_equal(json_string_value(json_object_get(j, "x_request_id")), "rid-1");
	assert_string_equal(json_string_value(json_object_get(j, "route_name")), "r1");
	assert_string_equal(json_string_value(json_object_get(j, "upstream_host")),
			    "10.10.2.10:80");
	assert_string_equal(json_string_value(json_object_get(j, "downstream_remote_address")),
			    "10.10.1.2:40000");
	assert_string_equal(json_string_value(json_object_get(j, "source_workload")), "web");
	assert_string_equal(json_string_value(json_object_get(j, "destination_service")),
			    "cart.shop.svc.cluster.local");
	hj = json_object_get(j, "headers");
	assert_string_equal(json_string_value(json_object_get(hj, "authorization")), "Bearer ***");
	assert_string_equal(json_string_value(json_object_get(hj, "user-agent")), "curl/7.88");
	assert_string_equal(json_string_value(json_object_get(hj, "x-api-key")), "***");
	assert_string_equal(json_string_value(json_object_get(hj, "cookie")), "***");
	assert_null(json_object_get(j, "path_truncated"));
	json_decref(j);
	free(buf);

	/* a target longer than the record keeps its start and says it was cut */
	char longpath[600];
	struct telem_head hl = h;

	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	hl.path = (struct telem_str){longpath, sizeof(longpath)};
	request(worker(0), s, 404, 100, 1, 1, &hl);
	assert_int_equal(telem_log_drain(sj, (f = open_memstream(&buf, &len))), 1);
	fclose(f);
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "path_truncated")));
	assert_int_equal(strlen(json_string_value(json_object_get(j, "path"))), TELEM_LOG_PATH - 1);
	json_decref(j);
	free(buf);
	cfg_snapshot_free(sj);
	cfg_snapshot_free(s);
}

static void test_ring_full(void **state)
{
	struct cfg_snapshot *s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(telem_init(N_WORKERS, 16, 64), 0);
	s = compile_ok(HEAD ", 'telemetry': {'access_log': {'filter': 'all'}}}");
	for (unsigned int i = 0; i < 70; i++)
		request(worker(0), s, 200, 100, 1, 1, NULL);
	assert_int_equal(stats_read(&stats[0], STAT_ACCESS_LOG_RING_FULL), 6);
	f = open_memstream(&buf, &len);
	assert_int_equal(telem_log_drain(s, f), 64);
	fclose(f);
	free(buf);
	/* room again, and sampling at 0 % logs nothing */
	request(worker(0), s, 200, 100, 1, 1, NULL);
	cfg_snapshot_free(s);
	s = compile_ok(HEAD
		       ", 'telemetry': {'access_log': {'filter': 'all', 'sample_percent': 0}}}");
	for (unsigned int i = 0; i < 10; i++)
		request(worker(0), s, 500, 100, 1, 1, NULL);
	f = open_memstream(&buf, &len);
	assert_int_equal(telem_log_drain(s, f), 1);
	fclose(f);
	free(buf);
	assert_int_equal(stats_read(&stats[0], STAT_ACCESS_LOG_RING_FULL), 6);
	cfg_snapshot_free(s);
}

/* The trace context of a head with headers @p hdrs[n] under @p snap. */
static struct telem_trace trace_of(const struct cfg_snapshot *snap,
				   const struct telem_str (*hdrs)[2], uint32_t n,
				   struct telem_trace_out *o, unsigned int *n_out)
{
	const struct telem_head h = {
		.method = {"GET", 3}, .path = {"/", 1}, .headers = hdrs, .n_headers = n};
	struct telem_trace t;

	telem_trace_start(worker(0), snap, &h, &t);
	*n_out = telem_trace_headers(&t, o);
	return t;
}

#define HDR(n, v)                        \
	{                                \
		{n, sizeof(n) - 1},      \
		{                        \
			v, sizeof(v) - 1 \
		}                        \
	}

static void test_trace(void **state)
{
	static const struct telem_str w3c[][2] = {
		HDR("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
		HDR("tracestate", "congo=t61rcWkgMzE")};
	static const struct telem_str w3c_bad[][2] = {
		HDR("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")};
	static const struct telem_str w3c_zero[][2] = {
		HDR("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")};
	static const struct telem_str b3[][2] = {
		HDR("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0-05e3ac9a4f6e3b90")};
	static const struct telem_str b3m[][2] = {HDR("X-B3-TraceId", "463ac35c9f6413ad"),
						  HDR("X-B3-SpanId", "a2fb4a1d1a96d312"),
						  HDR("X-B3-Sampled", "1")};
	static const struct telem_str b3_deny[][2] = {HDR("b3", "0")};
	struct cfg_snapshot *s, *off, *none;
	struct telem_trace_out o;
	struct telem_trace t;
	char hex[17];
	unsigned int n;

	(void)state;
	assert_int_equal(telem_init(N_WORKERS, 16, 64), 0);
	s = compile_ok(HEAD
		       ", 'telemetry': {'tracing': {'enabled': true, 'sample_percent': 100}}}");
	/* W3C: trace id kept, the client's span the server span's parent, the
	 * proxy's client span the upstream's parent, the decision kept */
	t = trace_of(s, w3c, 2, &o, &n);
	assert_true(t.active && t.sampled && t.format == TELEM_TRACE_W3C);
	assert_int_equal(n, 1);
	assert_string_equal(o.name[0], "traceparent");
	assert_string_equal(o.trace, "4bf92f3577b34da6a3ce929d0e0e4736");
	telem_hex(t.parent_id, 8, hex);
	assert_string_equal(hex, "00f067aa0ba902b7");
	telem_hex(t.span_id, 8, hex);
	assert_string_equal(o.parent, hex);
	telem_hex(t.client_id, 8, hex);
	assert_string_equal(o.span, hex);
	assert_memory_not_equal(t.span_id, t.client_id, 8);
	assert_string_not_equal(o.span, "00f067aa0ba902b7");
	assert_int_equal(o.len[0], 55);
	assert_memory_equal(o.val[0], "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36);
	assert_string_equal(o.val[0] + 36, strcat(strcpy((char[32]){0}, o.span), "-01"));
	/* invalid ones (upper case, a zero trace id) start a new trace */
	t = trace_of(s, w3c_bad, 1, &o, &n);
	assert_true(t.active && t.format == TELEM_TRACE_NONE);
	assert_string_not_equal(o.trace, "4bf92f3577b34da6a3ce929d0e0e4736");
	telem_hex(t.parent_id, 8, hex);
	assert_string_equal(hex, "0000000000000000"); /* a root server span */
	t = trace_of(s, w3c_zero, 1, &o, &n);
	assert_true(t.format == TELEM_TRACE_NONE && t.sampled);
	/* B3 single: not sampled, kept; propagated as b3 too */
	t = trace_of(s, b3, 1, &o, &n);
	assert_true(t.format == TELEM_TRACE_B3_SINGLE && !t.sampled && t.decided);
	assert_int_equal(n, 2);
	assert_string_equal(o.trace, "80f198ee56343ba864fe8b2a57d3eff7");
	assert_string_equal(o.name[1], "b3");
	assert_memory_equal(o.val[1], "80f198ee56343ba864fe8b2a57d3eff7-", 33);
	assert_memory_equal(o.val[1] + 33, o.span, 16);
	assert_memory_equal(o.val[1] + 49, "-0-", 3);
	assert_string_equal(o.val[1] + 52, o.parent); /* the server span */
	telem_hex(t.parent_id, 8, hex);
	assert_string_equal(hex, "e457b5a2e4d86bd1");
	assert_memory_equal(o.val[0] + 53, "00", 2);
	/* B3 multi with a 64-bit trace id: in the low 8 bytes */
	t = trace_of(s, b3m, 3, &o, &n);
	assert_true(t.format == TELEM_TRACE_B3_MULTI && t.sampled);
	assert_int_equal(n, 5);
	assert_string_equal(o.trace, "0000000000000000463ac35c9f6413ad");
	assert_string_equal(o.name[3], "x-b3-parentspanid");
	telem_hex(t.span_id, 8, hex);
	assert_string_equal(o.val[3], hex);
	telem_hex(t.parent_id, 8, hex);
	assert_string_equal(hex, "a2fb4a1d1a96d312");
	assert_string_equal(o.val[4], "1");
	/* "b3: 0": a new trace, not sampled */
	t = trace_of(s, b3_deny, 1, &o, &n);
	assert_true(t.format == TELEM_TRACE_NONE && !t.sampled);
	/* sampling by rate: 0 % samples none of the undecided */
	off = compile_ok(HEAD
			 ", 'telemetry': {'tracing': {'enabled': true, 'sample_percent': 0}}}");
	for (int i = 0; i < 20; i++)
		assert_false(trace_of(off, NULL, 0, &o, &n).sampled);
	assert_true(trace_of(off, w3c, 2, &o, &n).sampled); /* the client's decision wins */
	/* a sampled request with an exporter configured queues its server span
	 * and, once it went upstream, its client span (all tries in one) */
	cfg_snapshot_free(off);
	off = compile_ok(HEAD ", 'telemetry': {'tracing': {'enabled': true, 'zipkin_url': "
			      "'http://127.0.0.1:9/api/v2/spans'}}}");
	{
		const struct telem_head h = {
			.method = {"GET", 3}, .path = {"/p", 2}, .headers = w3c, .n_headers = 2};
		struct telem_http th;

		const struct telem_span *sp = (const struct telem_span *)worker(0)->spans.slots;

		telem_http_begin(worker(0), off, &th, &h, htonl(0x0a0a0102), 1, 0, 0, 10);
		assert_true(th.span);
		telem_http_try(&th, 12);
		telem_http_try(&th, 15); /* a retry */
		telem_http_end(worker(0), off, &th, 200, 0, 1, 1, htonl(0x0a0a0202), 8080, "", 20);
		assert_int_equal(worker(0)->spans.prod, 2);
		assert_int_equal(sp[0].kind, TELEM_SPAN_SERVER);
		assert_memory_equal(sp[0].trace_id, th.trace.trace_id, 16);
		assert_memory_equal(sp[0].parent_id, th.trace.parent_id, 8);
		assert_memory_equal(sp[0].span_id, th.trace.span_id, 8);
		assert_int_equal(sp[0].start_us, 10);
		assert_int_equal(sp[0].duration_us, 10);
		assert_string_equal(sp[0].path, "/p");
		assert_int_equal(sp[1].kind, TELEM_SPAN_CLIENT);
		assert_memory_equal(sp[1].trace_id, th.trace.trace_id, 16);
		assert_memory_equal(sp[1].parent_id, th.trace.span_id, 8);
		assert_memory_equal(sp[1].span_id, th.trace.client_id, 8);
		assert_int_equal(sp[1].start_us, 12);
		assert_int_equal(sp[1].duration_us, 8);
		assert_int_equal(sp[1].attempts, 2);
		assert_int_equal(sp[1].upstream_port, 8080);
		/* a local answer: no try, no client span */
		telem_http_begin(worker(0), off, &th, &h, htonl(0x0a0a0102), 1, 0, 0, 30);
		telem_http_end(worker(0), off, &th, 404, 0, 1, 1, 0, 0, "", 31);
		assert_int_equal(worker(0)->spans.prod, 3);
		assert_int_equal(sp[2].kind, TELEM_SPAN_SERVER);
	}
	expect_error(HEAD ", 'telemetry': {'tracing': {'zipkin_url': 'ftp://x'}}}",
		     "$.telemetry.tracing.zipkin_url", "http://");
	expect_error(HEAD ", 'telemetry': {'tracing': {'otlp_url': 'ftp://x'}}}",
		     "$.telemetry.tracing.otlp_url", "http://");
	expect_error(HEAD ", 'telemetry': {'tracing': {'otlp_url': 'http://a/v1/traces', "
			  "'zipkin_url': 'http://a/api/v2/spans'}}}",
		     "$.telemetry.tracing.otlp_url", "not both");
	cfg_snapshot_free(off);
	off = compile_ok(HEAD ", 'telemetry': {'tracing': {'enabled': true, 'otlp_url': "
			      "'http://127.0.0.1:9/v1/traces'}}}");
	{
		const struct telem_head h = {
			.method = {"GET", 3}, .path = {"/p", 2}, .headers = w3c, .n_headers = 2};
		struct telem_http th;

		telem_http_begin(worker(0), off, &th, &h, htonl(0x0a0a0102), 1, 0, 0, 10);
		assert_true(th.span); /* an OTLP collector takes spans as well */
		telem_http_end(worker(0), off, &th, 200, 0, 1, 1, 0, 0, "", 20);
		assert_int_equal(worker(0)->spans.prod, 4);
	}
	none = compile_ok(HEAD "}");
	assert_false(trace_of(none, w3c, 2, &o, &n).active);
	assert_int_equal(n, 0);
	cfg_snapshot_free(none);
	cfg_snapshot_free(off);
	cfg_snapshot_free(s);
}

/* An attribute's string value in an OTLP span's attributes; NULL: absent. */
static const char *otlp_attr(const json_t *span, const char *key)
{
	size_t i;
	json_t *a;

	json_array_foreach(
		json_object_get(span, "attributes"), i,
		a) if (strcmp(json_string_value(json_object_get(a, "key")), key) ==
		       0) return json_string_value(json_object_get(json_object_get(a, "value"),
								   "stringValue"));
	return NULL;
}

/* Spans as Zipkin v2 and as OTLP/HTTP JSON: the ids, times and attributes. */
static void test_span_json(void **state)
{
	struct telem_span sp = {
		.trace_id = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d,
			     0x0e, 0x0e, 0x47, 0x36},
		.span_id = {0xa2, 0xfb, 0x4a, 0x1d, 0x1a, 0x96, 0xd3, 0x12},
		.parent_id = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		.start_us = 1000,
		.duration_us = 250,
		.client = htonl(0x0a0a0102),
		.upstream = htonl(0x0a0a020a),
		.upstream_port = 8000,
		.status = 503,
		.method = "POST",
		.path = "/a\"b?token=x",
	};
	struct cfg_snapshot *snap;
	char buf[4096], one[1024];
	json_t *z, *o, *spans, *x;
	const char *svc;
	int n;

	(void)state;
	assert_int_equal(telem_init(N_WORKERS, 16, 64), 0);
	snap = compile_ok(HEAD "}");
	sp.svc = telem_svc_label(snap, 0);
	svc = telem_label_get(sp.svc)->a;
	assert_true(strlen(svc) > 0);
	/* Zipkin v2: one span of the array */
	n = telem_span_json(&sp, 1700000000000000ULL, false, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	z = json_loads(buf, 0, NULL);
	assert_non_null(z);
	assert_string_equal(json_string_value(json_object_get(z, "traceId")),
			    "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(json_string_value(json_object_get(z, "id")), "a2fb4a1d1a96d312");
	assert_string_equal(json_string_value(json_object_get(z, "parentId")), "00f067aa0ba902b7");
	assert_string_equal(json_string_value(json_object_get(z, "kind")), "SERVER");
	assert_int_equal(json_integer_value(json_object_get(z, "timestamp")), 1700000000001000LL);
	assert_int_equal(json_integer_value(json_object_get(z, "duration")), 250);
	x = json_object_get(z, "tags");
	assert_string_equal(json_string_value(json_object_get(x, "http.status_code")), "503");
	assert_string_equal(json_string_value(json_object_get(x, "http.path")), "/a_b");
	assert_string_equal(json_string_value(json_object_get(x, "upstream_host")),
			    "10.10.2.10:8000");
	assert_string_equal(json_string_value(json_object_get(x, "upstream_cluster")), svc);
	assert_null(json_object_get(x, "attempts"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(z, "remoteEndpoint"), "ipv4")),
		"10.10.1.2");
	json_decref(z);
	/* a client span: its remote end the endpoint, its tries counted */
	sp.kind = TELEM_SPAN_CLIENT;
	sp.attempts = 3;
	assert_true(telem_span_json(&sp, 1700000000000000ULL, false, buf, sizeof(buf)) > 0);
	z = json_loads(buf, 0, NULL);
	assert_non_null(z);
	assert_string_equal(json_string_value(json_object_get(z, "kind")), "CLIENT");
	x = json_object_get(z, "remoteEndpoint");
	assert_string_equal(json_string_value(json_object_get(x, "ipv4")), "10.10.2.10");
	assert_int_equal(json_integer_value(json_object_get(x, "port")), 8000);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(z, "tags"), "attempts")), "3");
	json_decref(z);
	assert_true(telem_span_json(&sp, 1700000000000000ULL, true, buf, sizeof(buf)) > 0);
	z = json_loads(buf, 0, NULL);
	assert_non_null(z);
	assert_int_equal(json_integer_value(json_object_get(z, "kind")), 3);
	assert_string_equal(otlp_attr(z, "net.peer.ip"), "10.10.2.10");
	assert_string_equal(otlp_attr(z, "attempts"), "3");
	json_decref(z);
	sp.kind = TELEM_SPAN_SERVER;
	sp.attempts = 0;
	/* OTLP: a batch of two (the second a root span) in its ExportTraceServiceRequest */
	n = telem_span_json(&sp, 1700000000000000ULL, true, one, sizeof(one));
	assert_true(n > 0);
	strcpy(buf, TELEM_OTLP_OPEN);
	strcat(buf, one);
	memset(sp.parent_id, 0, sizeof(sp.parent_id));
	sp.upstream = 0;
	assert_true(telem_span_json(&sp, 1700000000000000ULL, true, one, sizeof(one)) > 0);
	strcat(strcat(strcat(buf, ","), one), TELEM_OTLP_CLOSE);
	o = json_loads(buf, 0, NULL);
	assert_non_null(o);
	x = json_array_get(json_object_get(o, "resourceSpans"), 0);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(
				json_array_get(json_object_get(json_object_get(x, "resource"),
							       "attributes"),
					       0),
				"value"),
			"stringValue")),
		"meshdp");
	spans = json_object_get(json_array_get(json_object_get(x, "scopeSpans"), 0), "spans");
	assert_int_equal(json_array_size(spans), 2);
	x = json_array_get(spans, 0);
	assert_string_equal(json_string_value(json_object_get(x, "traceId")),
			    "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(json_string_value(json_object_get(x, "spanId")), "a2fb4a1d1a96d312");
	assert_string_equal(json_string_value(json_object_get(x, "parentSpanId")),
			    "00f067aa0ba902b7");
	assert_string_equal(json_string_value(json_object_get(x, "name")), "POST");
	assert_int_equal(json_integer_value(json_object_get(x, "kind")), 2);
	assert_string_equal(json_string_value(json_object_get(x, "startTimeUnixNano")),
			    "1700000000001000000");
	assert_string_equal(json_string_value(json_object_get(x, "endTimeUnixNano")),
			    "1700000000001250000");
	assert_string_equal(otlp_attr(x, "http.status_code"), "503");
	assert_string_equal(otlp_attr(x, "http.path"), "/a_b");
	assert_string_equal(otlp_attr(x, "upstream_host"), "10.10.2.10:8000");
	assert_string_equal(otlp_attr(x, "upstream_cluster"), svc);
	assert_string_equal(otlp_attr(x, "net.peer.ip"), "10.10.1.2");
	x = json_array_get(spans, 1);
	assert_null(json_object_get(x, "parentSpanId"));
	assert_null(otlp_attr(x, "upstream_host"));
	json_decref(o);
	/* too small a buffer: refused, not cut */
	assert_int_equal(telem_span_json(&sp, 0, true, one, 100), -1);
	cfg_snapshot_free(snap);
}

/* The source labels of a peer: its workload's, or its certificate's principal. */
static void test_peer_label(void **state)
{
	struct cfg_snapshot *s;
	uint32_t wl0, other, again;
	const struct telem_label *l;

	(void)state;
	assert_int_equal(telem_init(N_WORKERS, 16, 64), 0);
	s = compile_ok(HEAD "}");
	wl0 = telem_wl_label(s, 0);
	l = telem_label_get(wl0);
	/* no certificate, or the workload's own identity: the workload's labels */
	assert_int_equal(telem_peer_label(s, 0, ""), wl0);
	assert_int_equal(telem_peer_label(s, 0, NULL), wl0);
	assert_int_equal(telem_peer_label(s, 0, l->c), wl0);
	/* another identity than the address's workload: the certificate's */
	other = telem_peer_label(s, 0, "spiffe://mesh.test/ns/billing/sa/pay");
	assert_int_not_equal(other, wl0);
	l = telem_label_get(other);
	assert_string_equal(l->a, "unknown");
	assert_string_equal(l->b, "billing");
	assert_string_equal(l->c, "spiffe://mesh.test/ns/billing/sa/pay");
	again = telem_peer_label(s, -1, "spiffe://mesh.test/ns/billing/sa/pay");
	assert_int_equal(again, other); /* interned once */
	l = telem_label_get(telem_peer_label(s, -1, "spiffe://mesh.test/weird"));
	assert_string_equal(l->b, "unknown");
	cfg_snapshot_free(s);
}

/* The security events one drain writes, as JSON objects (a jansson array). */
static json_t *sev_lines(void)
{
	FILE *f = tmpfile();
	json_t *arr = json_array();
	char line[4096];

	assert_non_null(f);
	telem_sev_drain(fileno(f));
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e);

		if (o == NULL)
			fail_msg("not JSON: %s (%s)", line, e.text);
		json_array_append_new(arr, o);
	}
	fclose(f);
	return arr;
}

static const char *jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "(none)";
}

/*
 * Security events (SM-DR21): the section's defaults and refusals; records
 * land in the worker's ring with their context, the token bucket suppresses
 * what exceeds rate_per_s (counted) and refills with time, a full ring is
 * counted, a disabled log still counts by kind, the logger's JSON escapes
 * control bytes and masks tokens in the path.
 */
static void test_security_events(void **state)
{
	static const uint8_t tid[16] = {0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xcd};
	struct telem_sev_ctx c = {
		.client = htonl(0x0a0a0102),
		.client_port = 40000,
		.listener = "http",
		.service = 0,
		.method = {"GET", 3},
		.path = {"/a\r\nb", 5},
		.query = {"x=1&token=SECRET", 16},
		.trace_id = tid,
	};
	struct cfg_snapshot *s;
	const struct telem_snap *ts;
	json_t *lines;

	(void)state;
	s = compile_ok(HEAD "}");
	ts = s->telemetry;
	assert_true(ts->sev.enabled);
	assert_int_equal(ts->sev.rate_per_s, 50);
	assert_int_equal(ts->sev.output, TELEM_OUT_STDOUT);
	cfg_snapshot_free(s);
	expect_error(HEAD ", 'telemetry': {'security_events': {'output': 'file'}}}",
		     "$.telemetry.security_events.path", "absolute path");
	expect_error(HEAD ", 'telemetry': {'security_events': {'path': '/tmp/x'}}}",
		     "$.telemetry.security_events.path", "only output \"file\"");
	expect_error(HEAD ", 'telemetry': {'security_events': {'rate_per_s': 0}}}",
		     "$.telemetry.security_events.rate_per_s", NULL);
	expect_error(HEAD ", 'telemetry': {'security_events': {'output': 'kafka'}}}",
		     "$.telemetry.security_events.output", NULL);
	expect_error(HEAD ", 'telemetry': {'security_events': {'rate': 5}}}",
		     "$.telemetry.security_events.rate", "unknown");
	expect_error(HEAD ", 'telemetry': {'access_log': {'output': 'file', 'path': '/tmp/l'}, "
			  "'security_events': {'output': 'file', 'path': '/tmp/l'}}}",
		     "$.telemetry.security_events.path", "access log");
	assert_string_equal(telem_sev_name(TELEM_SEV_INJECTION_SQL), "injection_sql");
	assert_string_equal(telem_sev_name(TELEM_SEV_CRASH), "crash");
	assert_string_equal(telem_sev_name(TELEM_SEV_MAX), "unknown");

	assert_int_equal(telem_init(N_WORKERS, 16, 64), 0);
	s = compile_ok(HEAD ", 'telemetry': {'security_events': {'rate_per_s': 5}}}");
	/* a burst: one second's worth (5) land, the rest is suppressed, all are counted */
	for (unsigned int i = 0; i < 8; i++)
		telem_sev_emit(worker(1), s, TELEM_SEV_INJECTION_SQL, &c, "union select in query",
			       1000000 + i);
	assert_int_equal(stats_read(&stats[1], STAT_SECURITY_EVENT_INJECTION_SQL), 8);
	assert_int_equal(stats_read(&stats[1], STAT_SECURITY_EVENTS_SUPPRESSED), 3);
	assert_int_equal(worker(1)->sev.prod, 5);
	/* 400 ms later: two tokens again */
	for (unsigned int i = 0; i < 3; i++)
		telem_sev_emit(worker(1), s, TELEM_SEV_AUTHZ_DENIED, &c, NULL, 1400010 + i);
	assert_int_equal(stats_read(&stats[1], STAT_SECURITY_EVENT_AUTHZ_DENIED), 3);
	assert_int_equal(stats_read(&stats[1], STAT_SECURITY_EVENTS_SUPPRESSED), 4);
	assert_int_equal(worker(1)->sev.prod, 7);
	lines = sev_lines();
	assert_int_equal(json_array_size(lines), 7);
	{
		const json_t *o = json_array_get(lines, 0);

		assert_string_equal(jstr(o, "kind"), "injection_sql");
		assert_int_equal(json_integer_value(json_object_get(o, "worker")), 1);
		assert_string_equal(jstr(o, "client"), "10.10.1.2:40000");
		assert_string_equal(jstr(o, "listener"), "http");
		assert_string_equal(jstr(o, "service"), "shop/cart");
		assert_string_equal(jstr(o, "method"), "GET");
		/* control bytes come back escaped (and so as they were), the token masked */
		assert_string_equal(jstr(o, "path"), "/a\r\nb?x=1&token=***");
		assert_string_equal(jstr(o, "detail"), "union select in query");
		assert_string_equal(jstr(o, "trace_id"), "ab0102030405060708090a0b0c0d0ecd");
		assert_int_equal(strlen(jstr(o, "time")), strlen("2026-01-01T00:00:00.000Z"));
		assert_string_equal(jstr(json_array_get(lines, 6), "kind"), "authz_denied");
		assert_string_equal(jstr(json_array_get(lines, 6), "detail"), "");
	}
	json_decref(lines);
	cfg_snapshot_free(s);

	/* a full ring: TELEM_SEV_RING land, the rest counted, none waits */
	s = compile_ok(HEAD ", 'telemetry': {'security_events': {'rate_per_s': 100000}}}");
	c.trace_id = NULL;
	c.service = -1;
	for (unsigned int i = 0; i < TELEM_SEV_RING + 10; i++)
		telem_sev_emit(worker(0), s, TELEM_SEV_INVALID_REQUEST, &c, "x", 5000000);
	assert_int_equal(stats_read(&stats[0], STAT_SECURITY_EVENT_RING_FULL), 10);
	assert_int_equal(stats_read(&stats[0], STAT_SECURITY_EVENT_INVALID_REQUEST),
			 TELEM_SEV_RING + 10);
	lines = sev_lines();
	assert_int_equal(json_array_size(lines), TELEM_SEV_RING);
	assert_null(json_object_get(json_array_get(lines, 0), "trace_id"));
	assert_string_equal(jstr(json_array_get(lines, 0), "service"), "");
	json_decref(lines);
	cfg_snapshot_free(s);

	/* the log off: counted by kind, nothing recorded, nothing suppressed */
	s = compile_ok(HEAD ", 'telemetry': {'security_events': {'enabled': false}}}");
	telem_sev_emit(worker(0), s, TELEM_SEV_EXTRA_PARAMETER, &c, "dup", 6000000);
	assert_int_equal(stats_read(&stats[0], STAT_SECURITY_EVENT_EXTRA_PARAMETER), 1);
	assert_int_equal(worker(0)->sev.prod, TELEM_SEV_RING);
	assert_int_equal(stats_read(&stats[0], STAT_SECURITY_EVENTS_SUPPRESSED), 0);
	cfg_snapshot_free(s);
}

/*
 * The crash handler, in a child: a fault and a sent signal each write one
 * crash line to the security event file, and the child still dies of the
 * signal (the handler before it, the default, runs again).
 */
static void crash_child(const char *path, bool fault)
{
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct rlimit none = {0, 0};
		static char doc[20000];
		struct cfg_snapshot *s = NULL;
		volatile uintptr_t addr = 16;
		struct cfg_error err;

		setrlimit(RLIMIT_CORE, &none); /* no core file of the test on the disk */
		signal(SIGSEGV, SIG_DFL); /* not cmocka's: the handler before ours is the default */
		snprintf(doc, sizeof(doc),
			 "%s, \"telemetry\": {\"security_events\": {\"output\": \"file\", "
			 "\"path\": \"%s\"}}}",
			 json_of(HEAD), path);
		if (compile_json(doc, NULL, &s, &err) != 0 ||
		    telem_sev_sink_set(((const struct telem_snap *)s->telemetry)->sev.output,
				       ((const struct telem_snap *)s->telemetry)->sev.path) != 0 ||
		    telem_crash_install() != 0)
			_exit(3);
		if (fault)
			*(volatile int *)addr = 1;
		else
			raise(SIGSEGV);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
}

static void test_crash_handler(void **state)
{
	char path[] = "/tmp/meshdp-crash-XXXXXX", line[512];
	json_t *o;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	crash_child(path, false);
	crash_child(path, true);
	f = fopen(path, "r");
	assert_non_null(f);
	for (int k = 0; k < 2; k++) {
		assert_non_null(fgets(line, sizeof(line), f));
		o = json_loads(line, 0, NULL);
		if (o == NULL)
			fail_msg("not JSON: %s", line);
		assert_string_equal(jstr(o, "kind"), "crash");
		assert_int_equal(json_integer_value(json_object_get(o, "signal")), SIGSEGV);
		assert_string_equal(jstr(o, "signal_name"), "SIGSEGV");
		assert_true(json_is_true(json_object_get(o, "sent")) == (k == 0));
		if (k == 0) /* raise(): sent by the child itself */
			assert_int_equal(json_integer_value(json_object_get(o, "sender_pid")),
					 json_integer_value(json_object_get(o, "pid")));
		else /* the fault: its address */
			assert_string_equal(jstr(o, "address"), "0x10");
		assert_int_equal(strlen(jstr(o, "time")), strlen("2026-01-01T00:00:00.000Z"));
		json_decref(o);
	}
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup_teardown(test_series_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cardinality_cap, setup, teardown),
		cmocka_unit_test(test_masking),
		cmocka_unit_test_setup_teardown(test_log_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_span_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_security_events, setup, teardown),
		cmocka_unit_test(test_crash_handler),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
