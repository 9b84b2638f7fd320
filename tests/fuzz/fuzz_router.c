/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: arbitrary requests into router_select() on a fixed route config
 * (every match kind, wildcard domains, a virtual host with the path index and
 * one without). The input is "METHOD\nHOST\nPATH[?QUERY]\nNAME:VALUE\n...":
 * any bytes, NULs included. The route chosen must be the one the linear walk
 * chooses (router_route_match() on each route in order), and applying it
 * (cluster pick, path rewrite, redirect Location into short buffers) must stay
 * inside its buffers. The host also goes to l4_external_by_host() (the
 * egress gateway's registry: external services with exact and wildcard
 * hosts), whose answer must agree with a walk of every declared host.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/config/config.h"
#include "dataplane/l4/l4.h"
#include "dataplane/router/router.h"
#include "dataplane/router/router_internal.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_HEADERS 16

static const struct cfg_port_info fuzz_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
};

/* 20 routes on "*.a.example" (indexed), 4 on the rest; services web, web2. */
static const char fuzz_doc[] =
	"{\"version\": 1, \"interfaces\": [{\"name\": \"i0\", \"port\": \"p0\", \"ipv4\": "
	"[\"10.10.1.1/24\"]}], \"services\": [{\"name\": \"web\", \"namespace\": \"s\", \"vip\": "
	"\"10.96.0.10\", \"ports\": [{\"port\": 80}, {\"port\": 443}], \"endpoints\": "
	"[{\"address\": \"10.10.1.10\"}]}, {\"name\": \"web2\", \"namespace\": \"s\", \"vip\": "
	"\"10.96.0.11\", \"ports\": [{\"port\": 80}], \"endpoints\": [{\"address\": "
	"\"10.10.1.11\"}]}], \"external_services\": [{\"name\": \"e1\", \"prefixes\": "
	"[\"10.20.0.0/16\"], \"ports\": [80, 8080], \"hosts\": [\"a.example\", \"*.a.example\", "
	"\"x.y.a.example\"]}, {\"name\": \"e2\", \"prefixes\": [\"10.21.0.0/16\"], \"ports\": "
	"[443], \"hosts\": [\"a.example\", \"*.b.example\", \"b-c.example\"]}, {\"name\": "
	"\"e3\", \"prefixes\": [\"10.22.0.0/16\"], \"ports\": [80], \"protocol\": \"udp\", "
	"\"hosts\": [\"u.example\"]}], \"route_configs\": [{\"name\": \"rc\", \"virtual_hosts\": ["
	"{\"name\": \"big\", \"domains\": [\"*.a.example\", \"a.example\", \"a.*\"], \"routes\": ["
	"{\"match\": {\"path\": \"/\"}, \"cluster\": \"web\"},"
	"{\"match\": {\"prefix\": \"/api/\", \"methods\": [\"POST\"]}, \"cluster\": \"web\", "
	"\"prefix_rewrite\": \"/\"},"
	"{\"match\": {\"prefix\": \"/api/\", \"headers\": [{\"name\": \"x-c\", \"exact\": "
	"\"1\"}]}, "
	"\"weighted_clusters\": [{\"cluster\": \"web\", \"weight\": 1}, {\"cluster\": \"web2\", "
	"\"weight\": 99}]},"
	"{\"match\": {\"prefix\": \"/API\", \"case_sensitive\": false}, \"cluster\": \"web2\", "
	"\"prefix_rewrite\": \"/x\"},"
	"{\"match\": {\"regex\": \"^/r/(a|b)+$\"}, \"cluster\": \"web\"},"
	"{\"match\": {\"regex\": \"^/(x+x+)+y\"}, \"cluster\": \"web\"},"
	"{\"match\": {\"path\": \"/e\", \"query\": [{\"name\": \"q\", \"present\": true}]}, "
	"\"cluster\": \"web\"},"
	"{\"match\": {\"path\": \"/e\", \"query\": [{\"name\": \"q\", \"regex\": \"^[0-9]+$\", "
	"\"invert\": true}]}, \"cluster\": \"web2\"},"
	"{\"match\": {\"prefix\": \"/h\", \"headers\": [{\"name\": \"h\", \"prefix\": \"v\"}, "
	"{\"name\": \"g\", \"regex\": \"z\"}]}, \"cluster\": \"web\"},"
	"{\"match\": {\"prefix\": \"/h\", \"headers\": [{\"name\": \"h\", \"present\": true, "
	"\"invert\": true}]}, \"direct_response\": {\"status\": 404}},"
	"{\"match\": {\"prefix\": \"/old/\"}, \"redirect\": {\"prefix_rewrite\": \"/new/\"}},"
	"{\"match\": {\"path\": \"/old\"}, \"redirect\": {\"scheme\": \"https\", \"port\": 8443}},"
	"{\"match\": {\"prefix\": \"/s\"}, \"redirect\": {\"host\": \"b.example\", "
	"\"strip_query\": true, \"code\": 307}},"
	"{\"match\": {\"prefix\": \"/p/1\"}, \"cluster\": \"web\"},"
	"{\"match\": {\"prefix\": \"/p/12\"}, \"cluster\": \"web\"},"
	"{\"match\": {\"prefix\": \"/p/123\"}, \"cluster\": \"web\"},"
	"{\"match\": {\"path\": \"/p/1\"}, \"cluster\": \"web2\"},"
	"{\"match\": {\"path\": \"/P/1\", \"case_sensitive\": false}, \"cluster\": \"web2\"},"
	"{\"match\": {\"prefix\": \"/\", \"methods\": [\"GET\"]}, \"cluster\": \"web\", \"port\": "
	"443},"
	"{\"match\": {\"prefix\": \"/\"}, \"direct_response\": {\"status\": 200, \"body\": "
	"\"x\"}}]},"
	"{\"name\": \"small\", \"domains\": [\"*\", \"[fd00::1]\", \"b.*\"], \"routes\": ["
	"{\"match\": {\"prefix\": \"/a\"}, \"cluster\": \"web\", \"prefix_rewrite\": \"/b\"},"
	"{\"match\": {\"regex\": \"[0-9]{3}\"}, \"cluster\": \"web2\"},"
	"{\"match\": {\"path\": \"/\"}, \"redirect\": {\"path\": \"/index\"}},"
	"{\"match\": {\"prefix\": \"/\", \"query\": [{\"name\": \"\\u00ff\", \"exact\": \"\"}]}, "
	"\"cluster\": \"web\"}]}]}]}";

static struct cfg_snapshot *snap;
static struct router_worker *rw;
static struct stats_block fz_stats;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cfg_error err;

	(void)argc;
	(void)argv;
	test_eal_init();
	if (cfg_compile(fuzz_doc, strlen(fuzz_doc), fuzz_ports, 1, NULL, &snap, &err) != 0) {
		fprintf(stderr, "fuzz_router: %s\n", err.msg);
		abort();
	}
	rw = router_worker_create(&fz_stats);
	if (rw == NULL || router_config_get(snap, 0)->vhosts[0].path_index == NULL)
		abort();
	return 0;
}

/* Does declared host @p d (lower case, maybe "*.x") take @p h (@p n bytes, any case)? */
static bool fz_host_takes(const char *d, const char *h, uint32_t n)
{
	size_t dl = strlen(d);

	if (d[0] == '*') /* "*.x": a non-empty part, then ".x" */
		return n > dl - 1 && strncasecmp(h + n - (dl - 1), d + 1, dl - 1) == 0;
	return n == dl && strncasecmp(h, d, n) == 0;
}

/*
 * l4_external_by_host() against the declared hosts: a service it names takes
 * the host on that port; "unknown" means no declared host takes it; "port
 * unknown" means some does, and none of the most specific takers on a TCP port.
 */
static void fz_check_externals(struct router_str host, uint16_t port)
{
	int e = l4_external_by_host(snap, host.p, host.len, port);
	bool any = false;

	for (uint32_t i = 0; i < snap->n_ext_hosts; i++)
		any |= fz_host_takes(snap->ext_hosts[i].name, host.p, host.len);
	if (host.len > L4_HOST_MAX || memchr(host.p, '\0', host.len) != NULL)
		any = false; /* never declared (l4.h) */
	if (e == L4_EXT_HOST_UNKNOWN && any)
		abort();
	if (e == L4_EXT_PORT_UNKNOWN && !any)
		abort();
	if (e >= 0) {
		const struct l4_external *x = &snap->externals[e];
		bool port_ok = false, host_ok = false;

		for (uint8_t k = 0; k < x->n_ports; k++)
			port_ok |= x->ports[k] == port;
		for (uint32_t i = 0; i < snap->n_ext_hosts; i++)
			host_ok |= snap->ext_hosts[i].external == (uint32_t)e &&
				   fz_host_takes(snap->ext_hosts[i].name, host.p, host.len);
		if (!port_ok || !host_ok || x->protocol != IPPROTO_TCP)
			abort();
	}
}

/* The next '\n'-terminated field of [*p, end), or the rest. */
static struct router_str fz_field(const char **p, const char *end)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
	struct router_str f = {s, (uint32_t)((nl != NULL ? nl : end) - s)};

	*p = nl != NULL ? nl + 1 : end;
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *q;
	struct router_str hdrs[FZ_MAX_HEADERS][2];
	struct router_request rq = {0};
	const struct router_route *r, *want = NULL;
	const struct router_vhost *vh;
	char buf[64];

	rq.method = fz_field(&p, end);
	rq.host = fz_field(&p, end);
	rq.path = fz_field(&p, end);
	q = memchr(rq.path.p, '?', rq.path.len);
	if (q != NULL) {
		rq.query = (struct router_str){q + 1, (uint32_t)(rq.path.p + rq.path.len - q - 1)};
		rq.path.len = (uint32_t)(q - rq.path.p);
	}
	while (p < end && rq.n_headers < FZ_MAX_HEADERS) {
		struct router_str line = fz_field(&p, end);
		const char *colon = memchr(line.p, ':', line.len);
		uint32_t n = colon != NULL ? (uint32_t)(colon - line.p) : line.len;

		hdrs[rq.n_headers][0] = (struct router_str){line.p, n};
		hdrs[rq.n_headers][1] = (struct router_str){line.p + n + (colon != NULL),
							    line.len - n - (colon != NULL)};
		rq.n_headers++;
	}
	rq.headers = (const struct router_str(*)[2])hdrs;

	fz_check_externals(rq.host, 80);
	fz_check_externals(rq.host, 443);
	r = router_select(snap, 0, &rq, rw);
	vh = router_vhost_select(snap, 0, rq.host);
	for (uint32_t i = 0; vh != NULL && i < vh->n_routes && want == NULL; i++)
		if (router_route_match(&vh->routes[i], &rq, rw))
			want = &vh->routes[i];
	if (r != want || (r != NULL && r->vhost != vh))
		abort();
	if (r == NULL)
		return 0;
	for (size_t len = 0; len <= sizeof(buf); len += 7) {
		int n = router_rewrite_path(r, rq.path, buf, len);

		if (n > (int)len || (n < 0 && n != -ENOSPC))
			abort();
		n = router_redirect_location(r, &rq, "http", buf, len);
		if (n >= (int)len || (n >= 0 && buf[n] != '\0') ||
		    (n < 0 && n != -ENOSPC && n != -EINVAL))
			abort();
	}
	if ((r->action == ROUTER_ACTION_CLUSTER || r->action == ROUTER_ACTION_WEIGHTED) &&
	    router_pick_cluster(r, size > 0 ? data[0] * 16777619u : 0) == NULL)
		abort();
	return 0;
}
