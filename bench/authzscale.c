/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-authzscale: the cost of an authorization decision on large policies,
 * for bench/authzscale.sh.
 *
 * For each size N given (default 100, 10000) it compiles, through
 * cfg_compile() as the daemon does, a document with one service, a mesh deny
 * policy (paths "/admin*") and a namespace allow policy of N rules, rule i
 * allowing principal "spiffe://td/n<i>" on paths
 * "/r<i>/" + "*", and decides requests that the first rule allows, the middle
 * one, the last one, none (the default deny) and the deny policy, each
 * --lookups times (--case NAME: that case only). Reported per case:
 * nanoseconds per authz_check() (TSC: the decision, its counters and, for a
 * denial, the log record), the verdict checked. Under callgrind
 * (`valgrind --tool=callgrind --toggle-collect=authz_decide`) the
 * instructions of the decision alone, without timer noise.
 *
 *   meshdp-authzscale --no-huge -m 256 -l 0 --no-pci -- --rules 100,10000
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dataplane/authz/authz.h"
#include "dataplane/config/config.h"
#include "dataplane/subsystems.h"

#define AS_MAX_SIZES 8

static const struct cfg_port_info as_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
};

/* The document for @p n allow rules (malloc'd). */
static char *as_doc(uint32_t n)
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
		"[{\"address\": \"10.10.1.10\"}]}], \"authorization\": [{\"name\": \"no-admin\", "
		"\"action\": \"deny\", \"rules\": [{\"to\": [{\"operation\": {\"paths\": "
		"[\"/admin*\"]}}]}]}, {\"name\": \"big\", \"namespace\": \"b\", \"rules\": [");
	for (uint32_t i = 0; i < n; i++)
		o += (size_t)snprintf(d + o, cap - o,
				      "%s{\"from\":[{\"source\":{\"principals\":"
				      "[\"spiffe://td/n%u\"]}}],\"to\":"
				      "[{\"operation\":{\"paths\":[\"/r%u/*\"]}}]}",
				      i ? "," : "", i, i);
	snprintf(d + o, cap - o, "]}]}");
	return d;
}

struct as_case {
	const char *name;
	uint32_t rule; /* the principal's rule; UINT32_MAX: none */
	bool deny;     /* a path of the deny policy's ("/admin/..."), else "/r<rule>/x" */
	bool allow;
};

static int as_run(uint32_t n, uint64_t lookups, const char *only, bool first)
{
	const struct as_case cases[] = {
		{"first", 0, false, true},    {"middle", n / 2, false, true},
		{"last", n - 1, false, true}, {"none", UINT32_MAX, false, false},
		{"deny", 0, true, false},
	};
	static struct stats_block st;
	static const uint8_t addr[4] = {10, 10, 1, 2};
	struct cfg_snapshot *snap = NULL;
	struct cfg_error err;
	char *doc = as_doc(n);
	bool comma = false;
	int rc;

	if (doc == NULL)
		return -1;
	rc = cfg_compile(doc, strlen(doc), as_ports, 1, NULL, &snap, &err);
	free(doc);
	if (rc != 0) {
		fprintf(stderr, "authzscale: %u rules: %s\n", n, err.msg);
		return -1;
	}
	printf("%s{\"rules\": %u, \"cases\": [", first ? "" : ", ", n);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char principal[96], path[64];
		struct authz_decision d;
		uint64_t t0, t1;
		bool ok = false;

		if (only != NULL && strcmp(only, cases[k].name) != 0)
			continue;
		snprintf(principal, sizeof(principal), "spiffe://td/n%u",
			 cases[k].rule == UINT32_MAX ? n + 1 : cases[k].rule);
		if (cases[k].deny)
			snprintf(path, sizeof(path), "/admin/%u", cases[k].rule);
		else
			snprintf(path, sizeof(path), "/r%u/x",
				 cases[k].rule == UINT32_MAX ? 0 : cases[k].rule);
		struct authz_request rq = {
			.principal = principal,
			.family = 4,
			.addr = addr,
			.port = 8443,
			.http = true,
			.method = {"GET", 3},
			.host = {"h.example", 9},
			.path = {path, (uint32_t)strlen(path)},
		};
		/* one check first, so that the decision callgrind counts (--toggle-collect=
		 * authz_decide) does not include the dynamic linker's first-call lookups */
		ok = authz_check(snap, 0, &rq, &st);
		authz_decide(snap, 0, &rq, &d);
		t0 = rte_rdtsc_precise();
		for (uint64_t j = 1; j < lookups; j++)
			ok = authz_check(snap, 0, &rq, &st);
		t1 = rte_rdtsc_precise();
		if ((d.verdict == AUTHZ_ALLOW) != cases[k].allow ||
		    (lookups > 1 && ok != cases[k].allow)) {
			fprintf(stderr, "authzscale: %u rules, %s: verdict %d, expected %s\n", n,
				cases[k].name, d.verdict, cases[k].allow ? "allow" : "deny");
			cfg_snapshot_free(snap);
			return -1;
		}
		printf("%s{\"case\": \"%s\", \"ns_per_check\": %.1f}", comma ? ", " : "",
		       cases[k].name,
		       lookups > 1 ? (double)(t1 - t0) * 1e9 / (double)rte_get_tsc_hz() /
					     (double)(lookups - 1)
				   : 0.0);
		comma = true;
	}
	printf("]}");
	cfg_snapshot_free(snap);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"rules", required_argument, NULL, 'r'},
					     {"lookups", required_argument, NULL, 'n'},
					     {"case", required_argument, NULL, 'c'},
					     {NULL, 0, NULL, 0}};
	uint32_t sizes[AS_MAX_SIZES] = {100, 10000};
	unsigned int n_sizes = 2;
	uint64_t lookups = 100000;
	const char *only = NULL;
	int eal = rte_eal_init(argc, argv), c, rc = 0;

	if (eal < 0) {
		fprintf(stderr, "authzscale: rte_eal_init failed\n");
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
			while ((tok = strtok_r(s, ",", &save)) != NULL && n_sizes < AS_MAX_SIZES) {
				sizes[n_sizes++] = (uint32_t)strtoul(tok, NULL, 10);
				s = NULL;
			}
			break;
		case 'n':
			lookups = strtoull(optarg, NULL, 10);
			break;
		case 'c':
			only = optarg;
			break;
		default:
			fprintf(stderr, "usage: meshdp-authzscale [EAL] -- [--rules N,...] "
					"[--lookups N] [--case first|middle|last|none|deny]\n");
			return 2;
		}
	}
	meshdp_sections_register();
	if (lookups == 0)
		return 1;
	printf("{\"lookups\": %" PRIu64 ", \"sizes\": [", lookups);
	for (unsigned int i = 0; i < n_sizes && rc == 0; i++) {
		if (sizes[i] < 2 || sizes[i] > 16384) {
			fprintf(stderr, "authzscale: %u rules: expected 2..16384\n", sizes[i]);
			rc = -1;
			break;
		}
		rc = as_run(sizes[i], lookups, only, i == 0);
	}
	printf("]}\n");
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
