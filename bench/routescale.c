/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-routescale: the cost of router_select() on large route tables, for
 * bench scenario (r).
 *
 * For each table size N given (default 10, 100, 1000) it compiles a document
 * with one route config, one virtual host and N routes, alternating exact
 * paths ("/e/<i>") and prefixes ("/p/<i>/"), all to one cluster, through
 * cfg_compile() as the daemon does, and then looks up requests that hit the
 * first route, the middle one, the last one, and none (404), each
 * --lookups times (--case NAME: that case only). --any-case makes every route
 * case-insensitive: such routes stay out of the path index, so this is the
 * cost of the linear walk (Envoy's) on the same table. Reported per case: nanoseconds per router_select() (TSC),
 * and the route found (checked). Under callgrind
 * (`valgrind --tool=callgrind --toggle-collect=router_select`), the
 * instructions of router_select() over the calls give the lookup cost without
 * timer noise: bench/run.sh r does that.
 *
 *   meshdp-routescale --no-huge -m 256 -l 0 --no-pci -- --routes 10,100,1000
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dataplane/config/config.h"
#include "dataplane/router/router.h"
#include "dataplane/subsystems.h"

#define RS_MAX_SIZES 8

static const struct cfg_port_info rs_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
};

/* The document for @p n routes (malloc'd). */
static char *rs_doc(uint32_t n, bool any_case)
{
	size_t cap = 4096 + (size_t)n * 128, o = 0;
	char *d = malloc(cap);

	if (d == NULL)
		return NULL;
	o += (size_t)snprintf(
		d + o, cap - o,
		"{\"version\": 1, \"interfaces\": [{\"name\": \"i0\", \"port\": \"p0\", \"ipv4\": "
		"[\"10.10.1.1/24\"]}], \"services\": [{\"name\": \"web\", \"namespace\": \"b\", "
		"\"vip\": \"10.96.0.10\", \"ports\": [{\"port\": 80}], \"endpoints\": "
		"[{\"address\": \"10.10.1.10\"}]}], \"route_configs\": [{\"name\": \"rc\", "
		"\"virtual_hosts\": [{\"name\": \"vh\", \"domains\": [\"*\"], \"routes\": [");
	for (uint32_t i = 0; i < n; i++)
		o += (size_t)snprintf(d + o, cap - o,
				      "%s{\"match\": {\"%s\": \"/%c/%u%s\"%s}, \"cluster\": "
				      "\"web\"}",
				      i ? ", " : "", i % 2 ? "prefix" : "path", i % 2 ? 'p' : 'e',
				      i, i % 2 ? "/" : "",
				      any_case ? ", \"case_sensitive\": false" : "");
	snprintf(d + o, cap - o, "]}]}]}");
	return d;
}

struct rs_case {
	const char *name;
	char path[64];
	int32_t want; /* route index, -1: none */
};

struct rs_opts {
	uint64_t lookups;
	const char *only; /* a case's name, NULL: all */
	bool any_case;
};

static int rs_run(uint32_t n, const struct rs_opts *o, struct router_worker *rw, bool first)
{
	struct cfg_snapshot *snap = NULL;
	struct cfg_error err;
	char *doc = rs_doc(n, o->any_case);
	bool comma = false;
	struct rs_case cases[4] = {
		{"first", "/e/0", 0},
		{"middle", "", (int32_t)(n / 2)},
		{"last", "", (int32_t)(n - 1)},
		{"none", "/none/at/all", -1},
	};
	int rc;

	if (doc == NULL)
		return -1;
	rc = cfg_compile(doc, strlen(doc), rs_ports, 1, NULL, &snap, &err);
	free(doc);
	if (rc != 0) {
		fprintf(stderr, "routescale: %u routes: %s\n", n, err.msg);
		return -1;
	}
	for (unsigned int k = 1; k <= 2; k++) {
		uint32_t i = (uint32_t)cases[k].want;

		snprintf(cases[k].path, sizeof(cases[k].path), i % 2 ? "/p/%u/x" : "/e/%u", i);
	}
	printf("%s{\"routes\": %u, \"cases\": [", first ? "" : ", ", n);
	for (unsigned int k = 0; k < 4; k++) {
		if (o->only != NULL && strcmp(o->only, cases[k].name) != 0)
			continue;
		struct router_request rq = {
			.method = {"GET", 3},
			.host = {"h.example", 9},
			.path = {cases[k].path, (uint32_t)strlen(cases[k].path)},
		};
		const struct router_route *r = NULL;
		uint64_t t0 = rte_rdtsc_precise(), t1;

		for (uint64_t j = 0; j < o->lookups; j++)
			r = router_select(snap, 0, &rq, rw);
		t1 = rte_rdtsc_precise();
		if ((r == NULL ? -1 : (int32_t)r->index) != cases[k].want) {
			fprintf(stderr, "routescale: %s: route %d, expected %d\n", cases[k].path,
				r == NULL ? -1 : (int)r->index, cases[k].want);
			cfg_snapshot_free(snap);
			return -1;
		}
		printf("%s{\"case\": \"%s\", \"path\": \"%s\", \"ns_per_select\": %.1f}",
		       comma ? ", " : "", cases[k].name, cases[k].path,
		       (double)(t1 - t0) * 1e9 / (double)rte_get_tsc_hz() / (double)o->lookups);
		comma = true;
	}
	printf("]}");
	cfg_snapshot_free(snap);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"routes", required_argument, NULL, 'r'},
					     {"lookups", required_argument, NULL, 'n'},
					     {"case", required_argument, NULL, 'c'},
					     {"any-case", no_argument, NULL, 'a'},
					     {NULL, 0, NULL, 0}};
	uint32_t sizes[RS_MAX_SIZES] = {10, 100, 1000};
	unsigned int n_sizes = 3;
	struct rs_opts o = {.lookups = 100000};
	struct router_worker *rw;
	int eal = rte_eal_init(argc, argv), c, rc = 0;

	if (eal < 0) {
		fprintf(stderr, "routescale: rte_eal_init failed\n");
		return 1;
	}
	argc -= eal;
	argv += eal;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *s, *tok, *save = NULL;

		switch (c) {
		case 'r':
			n_sizes = 0;
			s = optarg;
			while ((tok = strtok_r(s, ",", &save)) != NULL && n_sizes < RS_MAX_SIZES) {
				sizes[n_sizes++] = (uint32_t)strtoul(tok, NULL, 10);
				s = NULL;
			}
			break;
		case 'n':
			o.lookups = strtoull(optarg, NULL, 10);
			break;
		case 'c':
			o.only = optarg;
			break;
		case 'a':
			o.any_case = true;
			break;
		default:
			fprintf(stderr, "usage: meshdp-routescale [EAL] -- [--routes N,...] "
					"[--lookups N] [--case first|middle|last|none] "
					"[--any-case]\n");
			return 2;
		}
	}
	meshdp_sections_register();
	rw = router_worker_create(NULL);
	if (rw == NULL || o.lookups == 0)
		return 1;
	printf("{\"lookups\": %" PRIu64 ", \"any_case\": %s, \"sizes\": [", o.lookups,
	       o.any_case ? "true" : "false");
	for (unsigned int i = 0; i < n_sizes && rc == 0; i++) {
		if (sizes[i] < 2 || sizes[i] > ROUTER_MAX_ROUTES) {
			fprintf(stderr, "routescale: %u routes: expected 2..%u\n", sizes[i],
				ROUTER_MAX_ROUTES);
			rc = -1;
			break;
		}
		rc = rs_run(sizes[i], &o, rw, i == 0);
	}
	printf("]}\n");
	router_worker_free(rw);
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
