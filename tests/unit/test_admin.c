/* SPDX-License-Identifier: BSD-3-Clause */
/* admin: the Prometheus exposition and the loopback HTTP endpoint. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "dataplane/admin/admin.h"
#include "dataplane/secrets/secrets.h"
#include "dataplane/endpoint/endpoint.h"
#include "test_eal.h"

#define N_WORKERS 2

static struct worker_set ws;

static int setup(void **state)
{
	(void)state;
	ws.n = N_WORKERS;
	ws.w = NULL; /* the exposition reads only the counters */
	ws.stats = aligned_alloc(RTE_CACHE_LINE_SIZE, N_WORKERS * sizeof(struct stats_block));
	if (ws.stats == NULL)
		return -1;
	memset(ws.stats, 0, N_WORKERS * sizeof(struct stats_block));
	stats_add(&ws.stats[0], STAT_RX_FRAMES, 12345);
	stats_add(&ws.stats[1], STAT_RX_FRAMES, 7);
	stats_add(&ws.stats[1], STAT_DROP_IPV4_BAD_CHECKSUM, 3);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ws.stats);
	return 0;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static void test_render_counters(void **state)
{
	char *m = admin_render_metrics(&ws, NULL, 0, NULL);
	char want[256];

	(void)state;
	assert_non_null(m);
	assert_true(has_line(m, "# TYPE meshdp_rx_frames_total counter"));
	snprintf(want, sizeof(want), "# HELP meshdp_rx_frames_total %s",
		 stats_help(STAT_RX_FRAMES));
	assert_true(has_line(m, want));
	assert_true(has_line(m, "meshdp_rx_frames_total{worker=\"0\"} 12345"));
	assert_true(has_line(m, "meshdp_rx_frames_total{worker=\"1\"} 7"));
	assert_true(has_line(m, "meshdp_drop_ipv4_bad_checksum_total{worker=\"0\"} 0"));
	assert_true(has_line(m, "meshdp_drop_ipv4_bad_checksum_total{worker=\"1\"} 3"));
	/* every counter of counters.def has its HELP and TYPE */
	for (unsigned int id = 0; id < STAT_MAX; id++) {
		snprintf(want, sizeof(want), "# TYPE meshdp_%s_total counter", stats_name(id));
		assert_true(has_line(m, want));
	}
	/* port metrics are declared even with no port; gauges */
	assert_true(has_line(m, "# TYPE meshdp_port_rx_packets_total counter"));
	assert_null(strstr(m, "meshdp_port_rx_packets_total{"));
	assert_true(has_line(m, "meshdp_workers 2"));
	assert_true(has_line(m, "meshdp_neighbours 0"));
	assert_true(has_line(m, "meshdp_up 1"));
	assert_true(has_line(m, "# TYPE meshdp_config_generation gauge"));
	free(m);
}

/*
 * Every line is a HELP/TYPE comment or "name{labels} value" with a valid name,
 * and every sample's metric has its HELP and TYPE before it.
 * @return the number of samples.
 */
static unsigned int check_syntax(const char *text)
{
	char *m = strdup(text), *save = NULL, last_type[128] = "";
	regex_t sample, comment;
	unsigned int samples = 0;

	assert_non_null(m);
	assert_int_equal(m[strlen(m) - 1], '\n');
	assert_int_equal(regcomp(&sample,
				 "^meshdp_[a-zA-Z0-9_:]*(\\{[a-z]+=\"([^\"\\\\]|\\\\.)*\""
				 "(,[a-z]+=\"([^\"\\\\]|\\\\.)*\")*\\})? [0-9]+$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	assert_int_equal(regcomp(&comment,
				 "^# (HELP meshdp_[a-zA-Z0-9_:]* .+|TYPE meshdp_[a-zA-Z0-9_:]* "
				 "(counter|gauge))$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	for (char *l = strtok_r(m, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#') {
			if (regexec(&comment, l, 0, NULL, 0) != 0)
				fail_msg("bad comment line: %s", l);
			if (strncmp(l, "# TYPE ", 7) == 0)
				sscanf(l + 7, "%127s", last_type);
		} else {
			size_t n = strcspn(l, "{ ");

			if (regexec(&sample, l, 0, NULL, 0) != 0)
				fail_msg("bad sample line: %s", l);
			if (strlen(last_type) != n || strncmp(l, last_type, n) != 0)
				fail_msg("sample without its TYPE right before: %s", l);
			samples++;
		}
	}
	regfree(&sample);
	regfree(&comment);
	free(m);
	return samples;
}

static void test_render_syntax(void **state)
{
	char *m = admin_render_metrics(&ws, NULL, 0, NULL);

	(void)state;
	assert_non_null(m);
	/* one per worker per counter, one per secrets counter, plus 4 gauges and TCP
	 * connections by state: no flow table, no snapshot */
	assert_int_equal(check_syntax(m),
			 STAT_MAX * N_WORKERS + SECRETS_STAT_MAX + 4 + TCP_STATE_MAX);
	free(m);
}

static void test_render_generation(void **state)
{
	static struct cfg_snapshot snap;
	char *m;

	(void)state;
	snap.generation = 42;
	cfg_live = &snap;
	m = admin_render_metrics(&ws, NULL, 0, NULL);
	cfg_live = NULL;
	assert_non_null(m);
	assert_true(has_line(m, "meshdp_config_generation 42"));
	free(m);
	m = admin_render_metrics(&ws, NULL, 0, NULL);
	assert_true(has_line(m, "meshdp_config_generation 0"));
	free(m);
}

/* A small mesh: one service with two endpoints (one with its own port and a
 * label) and a per-source limit; a second, idle service. */
static const char mesh_doc[] =
	"{\"version\": 1, \"interfaces\": ["
	"{\"name\": \"client\", \"port\": \"p0\", \"ipv4\": [\"10.10.1.1/24\"]},"
	"{\"name\": \"server\", \"port\": \"p1\", \"ipv4\": [\"10.10.2.1/24\"]}],"
	"\"mode\": \"mesh\", \"mesh\": {\"prefixes\": [\"10.10.0.0/16\"]},"
	"\"services\": ["
	"{\"name\": \"cart\", \"namespace\": \"shop\", \"vip\": \"10.96.0.10\","
	" \"ports\": [{\"port\": 80, \"target_port\": 8080}],"
	" \"endpoints\": [{\"address\": \"10.10.2.10\"},"
	" {\"address\": \"10.10.2.11\", \"port\": 9090, \"labels\": {\"version\": \"v2\"}}]},"
	"{\"name\": \"idle\", \"namespace\": \"ops\", \"vip\": \"10.96.0.11\","
	" \"ports\": [{\"port\": 53, \"protocol\": \"udp\"}],"
	" \"endpoints\": [{\"address\": \"10.10.2.20\"}]}],"
	"\"limits\": [{\"name\": \"cart-src\", \"service\": \"cart\", \"scope\": \"source\","
	" \"connections_per_s\": 100}]}";

static const struct cfg_port_info mesh_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
	{.name = "p1", .port_id = 1, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x02}}},
};

/* Service and endpoint series follow the endpoint states; flow tables per worker. */
static void test_render_services(void **state)
{
	struct cfg_snapshot *snap = NULL;
	struct l4_global *g = l4_global_create(1);
	struct cfg_error err;
	struct ep_state *e0, *e1;
	struct flow_table *ft = flow_table_create("admflows", 64, SOCKET_ID_ANY);
	struct flow_key fwd, rev;
	struct worker *w;
	char *m;

	(void)state;
	assert_non_null(g);
	assert_non_null(ft);
	if (cfg_compile(mesh_doc, strlen(mesh_doc), mesh_ports, 2, NULL, &snap, &err) != 0)
		fail_msg("mesh config: %s", err.msg);
	assert_int_equal(l4_bind(g, snap, err.msg, sizeof(err.msg)), 0);
	e0 = snap->services[0].endpoints[0].rt;
	e1 = snap->services[0].endpoints[1].rt;
	assert_non_null(e0);
	assert_non_null(e1);
	e0->active = 3;
	e0->total_connections = 10;
	e0->total_failures = 2;
	e0->total_ejections = 1;
	e1->health = EP_HEALTH_UNHEALTHY;
	e1->breaker = ((rte_rdtsc() + rte_get_tsc_hz() * 60) & ~(uint64_t)3) | EP_EJECTED;
	e1->total_connections = 4;

	/* worker 1 has a flow table holding one flow; worker 0 has none */
	w = aligned_alloc(RTE_CACHE_LINE_SIZE, N_WORKERS * sizeof(*w));
	assert_non_null(w);
	memset(w, 0, N_WORKERS * sizeof(*w));
	w[1].l4.flows = ft;
	flow_key4(&fwd, htonl(0x0a0a0102), htonl(0x0a60000a), htons(40000), htons(80), IPPROTO_TCP,
		  0);
	flow_key4(&rev, htonl(0x0a0a020a), htonl(0x0a0a0102), htons(8080), htons(40000),
		  IPPROTO_TCP, 0);
	assert_int_equal(flow_insert(ft, &fwd, &rev, rte_rdtsc(), NULL), 0);
	ws.w = w;

	cfg_live = snap;
	m = admin_render_metrics(&ws, NULL, 0, NULL);
	cfg_live = NULL;
	ws.w = NULL;
	assert_non_null(m);

	assert_true(has_line(m, "# TYPE meshdp_service_active_connections gauge"));
	assert_true(has_line(m, "meshdp_service_active_connections{service=\"shop/cart\"} 3"));
	assert_true(has_line(m, "meshdp_service_active_connections{service=\"ops/idle\"} 0"));
	assert_true(
		has_line(m, "meshdp_service_endpoints{service=\"shop/cart\",state=\"usable\"} 1"));
	assert_true(has_line(
		m, "meshdp_service_endpoints{service=\"shop/cart\",state=\"unusable\"} 1"));
	assert_true(
		has_line(m, "meshdp_service_endpoints{service=\"ops/idle\",state=\"usable\"} 1"));

	assert_true(has_line(m, "# TYPE meshdp_endpoint_connections_total counter"));
	assert_true(has_line(m, "meshdp_endpoint_connections_total{service=\"shop/cart\","
				"endpoint=\"10.10.2.10:*\"} 10"));
	assert_true(has_line(m, "meshdp_endpoint_connections_total{service=\"shop/cart\","
				"endpoint=\"10.10.2.11:9090\"} 4"));
	assert_true(has_line(m, "meshdp_endpoint_connect_failures_total{service=\"shop/cart\","
				"endpoint=\"10.10.2.10:*\"} 2"));
	assert_true(has_line(m, "meshdp_endpoint_ejections_total{service=\"shop/cart\","
				"endpoint=\"10.10.2.10:*\"} 1"));
	assert_true(has_line(m, "# TYPE meshdp_endpoint_active_connections gauge"));
	assert_true(has_line(m, "meshdp_endpoint_active_connections{service=\"shop/cart\","
				"endpoint=\"10.10.2.10:*\"} 3"));
	assert_true(has_line(m, "meshdp_endpoint_healthy{service=\"shop/cart\","
				"endpoint=\"10.10.2.10:*\"} 1"));
	assert_true(has_line(m, "meshdp_endpoint_healthy{service=\"shop/cart\","
				"endpoint=\"10.10.2.11:9090\"} 0"));
	assert_true(has_line(m, "meshdp_endpoint_ejected{service=\"shop/cart\","
				"endpoint=\"10.10.2.10:*\"} 0"));
	assert_true(has_line(m, "meshdp_endpoint_ejected{service=\"shop/cart\","
				"endpoint=\"10.10.2.11:9090\"} 1"));

	assert_true(has_line(m, "# TYPE meshdp_flows gauge"));
	assert_true(has_line(m, "meshdp_flows{worker=\"1\"} 1"));
	assert_null(strstr(m, "meshdp_flows{worker=\"0\"}"));
	assert_true(has_line(m, "# TYPE meshdp_flow_inserts_total counter"));
	assert_true(has_line(m, "meshdp_flow_inserts_total{worker=\"1\"} 1"));
	assert_true(has_line(m, "meshdp_flow_expired_total{worker=\"1\"} 0"));
	assert_true(has_line(m, "meshdp_flow_table_full_total{worker=\"1\"} 0"));

	/* without TCP stacks every state is there, at 0 */
	assert_true(has_line(m, "# TYPE meshdp_tcp_connections gauge"));
	assert_true(has_line(m, "meshdp_tcp_connections{state=\"established\"} 0"));
	assert_true(has_line(m, "meshdp_tcp_connections{state=\"time_wait\"} 0"));

	/* 2 services * 3 + 3 endpoints * 6 + 4 flow series on top of the usual */
	assert_int_equal(check_syntax(m),
			 STAT_MAX * N_WORKERS + SECRETS_STAT_MAX + 4 + TCP_STATE_MAX + 6 + 18 + 4);
	free(m);
	free(w);
	flow_table_free(ft);
	cfg_snapshot_free(snap);
	l4_global_free(g);
}

/* Port counters come from ethdev: one sample per port, label values escaped. */
static void test_render_ports(void **state)
{
	struct cfg_port_info ports[2] = {{.name = "p0"}, {.name = "we\"ird"}};
	uint16_t pid;
	char *m;

	(void)state;
	assert_int_equal(rte_dev_probe("net_null_admin0"), 0);
	assert_int_equal(rte_eth_dev_get_port_by_name("net_null_admin0", &pid), 0);
	ports[0].port_id = pid;
	ports[1].port_id = pid;
	m = admin_render_metrics(&ws, ports, 2, NULL);
	assert_non_null(m);
	assert_true(has_line(m, "# TYPE meshdp_port_rx_missed_total counter"));
	assert_true(has_line(m, "meshdp_port_rx_packets_total{port=\"p0\"} 0"));
	assert_true(has_line(m, "meshdp_port_tx_bytes_total{port=\"p0\"} 0"));
	assert_true(has_line(m, "meshdp_port_rx_nombuf_total{port=\"we\\\"ird\"} 0"));
	free(m);
	rte_eth_dev_close(pid);
}

static void test_listen_refused(void **state)
{
	static const char *const bad[] = {
		"0.0.0.0:9901",	   "10.0.0.1:9901", "[::]:9901",
		"[fd00::1]:9901",  "127.0.0.1",	    "127.0.0.1:",
		"127.0.0.1:70000", "127.0.0.1:-1",  "localhost:80",
		"[::1]9901",	   "[::1",	    "",
		"127.0.0.1:80x",   "::1:9901",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (admin_start(bad[i], &ws, NULL, 0, NULL, err, sizeof(err)) != NULL)
			fail_msg("listen '%s' was accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(admin_start("10.1.2.3:9901", &ws, NULL, 0, NULL, err, sizeof(err)) == NULL,
			 1);
	assert_non_null(strstr(err, "non-loopback"));
	admin_stop(NULL);
}

/* A port nobody listens on, for the admin server (tiny race, loopback only). */
static uint16_t free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* Send @p req to 127.0.0.1:@p port and return the whole response (malloc'd). */
static char *http(uint16_t port, const char *req)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 5};
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t r;

	assert_non_null(buf);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (len + 1 < cap && (r = read(fd, buf + len, cap - len - 1)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
	return buf;
}

static void test_http(void **state)
{
	static struct cfg_snapshot snap;
	uint16_t port = free_port();
	char listen[32], err[256] = "";
	struct admin *a;
	char *r;

	(void)state;
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	a = admin_start(listen, &ws, NULL, 0, NULL, err, sizeof(err));
	if (a == NULL)
		fail_msg("admin_start(%s): %s", listen, err);

	r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, " 200 "));
	assert_non_null(strstr(r, "text/plain; version=0.0.4"));
	assert_non_null(strstr(r, "\nmeshdp_rx_frames_total{worker=\"0\"} 12345\n"));
	assert_non_null(strstr(r, "\nmeshdp_up 1\n"));
	free(r);

	r = http(port, "GET /ready HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, " 503 "));
	free(r);
	snap.generation = 1;
	cfg_live = &snap;
	r = http(port, "GET /ready HTTP/1.0\r\n\r\n");
	cfg_live = NULL;
	assert_non_null(strstr(r, " 200 "));
	assert_non_null(strstr(r, "\r\n\r\nready"));
	free(r);

	r = http(port, "GET /nope HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, " 404 "));
	free(r);
	r = http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	assert_non_null(strstr(r, " 405 "));
	free(r);

	/* a second server on the same port fails cleanly */
	assert_null(admin_start(listen, &ws, NULL, 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot listen"));
	admin_stop(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_counters),
		cmocka_unit_test(test_render_syntax),
		cmocka_unit_test(test_render_generation),
		cmocka_unit_test(test_render_services),
		cmocka_unit_test(test_render_ports),
		cmocka_unit_test(test_listen_refused),
		cmocka_unit_test(test_http),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
