/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-inspectbench: what request inspection (dataplane/inspect) costs a
 * clean request.
 *
 * Runs inspect_request() (mode detect, the default headers user-agent and
 * referer, duplicate parameters detected) over a mix of ordinary requests --
 * API paths, search queries with percent-encoding and '+', a browser's
 * user-agent and referer, 9 header lines -- --iters times, and prints ns and
 * TSC cycles per request; with --attack, over requests that each carry one
 * injection pattern (the events go nowhere: no telemetry worker). For
 * instructions per request, run it under callgrind:
 *   valgrind --tool=callgrind --toggle-collect=inspect_request \
 *       meshdp-inspectbench --iters 2000
 * and divide the Ir of the collected functions by the requests it prints
 * (bench/README.md, "Request inspection").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dataplane/config/config.h"
#include "dataplane/inspect/inspect.h"
#include "dataplane/subsystems.h"

#define S(x)                     \
	{                        \
		x, sizeof(x) - 1 \
	}

struct req {
	struct telem_str path, query;
};

static const struct req clean[] = {
	{S("/api/v1/users/12345"), S("fields=name,email")},
	{S("/search"), S("q=select+a+car&page=2&sort=price")},
	{S("/static/js/app.3f9a1c.min.js"), S("")},
	{S("/o'reilly/books/learning-c"), S("lang=en")},
	{S("/api/v2/orders"), S("status=open&from=2024-01-01&to=2024-12-31&limit=50")},
	{S("/products/union-jack-flag"), S("ref=home%2Fbanner&utm_source=mail")},
	{S("/cart/items/991"), S("")},
	{S("/search"), S("q=100%25+cotton+t-shirt&size=m")},
};

static const struct req attacks[] = {
	{S("/api/users"), S("id=1%27%20or%20%271%27%3D%271")},
	{S("/search"), S("q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")},
	{S("/files/..%2f..%2fetc/passwd"), S("")},
	{S("/r"), S("u=%0d%0aSet-Cookie:x")},
};

static const struct telem_str headers[][2] = {
	{S("Host"), S("shop.example.com")},
	{S("User-Agent"), S("Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 "
			    "Firefox/115.0")},
	{S("Accept"), S("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")},
	{S("Accept-Language"), S("en-US,en;q=0.5")},
	{S("Accept-Encoding"), S("gzip, deflate, br")},
	{S("Referer"), S("https://shop.example.com/search?q=select+a+car&page=1")},
	{S("Cookie"), S("session=abc123def456; theme=dark")},
	{S("X-Request-Id"), S("0f8fad5b-d9cb-469f-a165-70867728950e")},
	{S("Connection"), S("keep-alive")},
};

int main(int argc, char **argv)
{
	static const char doc[] = "{\"version\": 1}";
	char *eal[] = {"inspectbench", "--no-huge",	      "-m", "256", "--no-pci",
		       "--no-shconf",  "--log-level=*:error", "-l", "0",   NULL};
	unsigned long iters = 200000, blocked = 0;
	const struct req *set = clean;
	size_t n_set = RTE_DIM(clean);
	const struct telem_sev_ctx ctx = {.service = -1, .method = S("GET")};
	struct cfg_snapshot *snap = NULL;
	struct stats_block *stats;
	struct cfg_error err;
	uint64_t t0, t1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--attack")) {
			set = attacks;
			n_set = RTE_DIM(attacks);
		} else {
			fprintf(stderr, "usage: meshdp-inspectbench [--iters N] [--attack]\n");
			return 2;
		}
	}
	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	meshdp_sections_register();
	if (cfg_compile(doc, strlen(doc), NULL, 0, NULL, &snap, &err) != 0) {
		fprintf(stderr, "config: %s\n", err.msg);
		return 1;
	}
	stats = aligned_alloc(64, sizeof(*stats));
	if (stats == NULL)
		return 1;
	memset(stats, 0, sizeof(*stats));
	t0 = rte_rdtsc();
	for (unsigned long it = 0; it < iters; it++)
		for (size_t k = 0; k < n_set; k++) {
			const struct inspect_request rq = {
				.path = set[k].path,
				.query = set[k].query,
				.headers = headers,
				.n_headers = RTE_DIM(headers),
			};

			blocked += inspect_request(snap, &rq, NULL, &ctx, stats, it);
		}
	t1 = rte_rdtsc();
	printf("requests %lu (%s), %.1f ns and %.0f cycles per request, %lu refused\n",
	       iters * n_set, set == clean ? "clean" : "attacks",
	       (double)(t1 - t0) * 1e9 / (double)rte_get_tsc_hz() / (double)(iters * n_set),
	       (double)(t1 - t0) / (double)(iters * n_set), blocked);
	free(stats);
	cfg_snapshot_free(snap);
	rte_eal_cleanup();
	return 0;
}
