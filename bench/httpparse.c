/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-httpparse: the HTTP/1.1 codec's per-request cost.
 *
 * Parses a typical 300-byte request head (8 header lines, one mbuf) --iters
 * times with one parser, as a keep-alive connection does (the message has no
 * body, so each http_parse_head() starts the next message), then writes it
 * once more per iteration with a proxy's edits (--write: new Host, hop-by-hop
 * fields dropped, x-forwarded-for and x-request-id added) into an mbuf.
 * Prints ns and TSC cycles per request. For instructions per request, run it
 * under callgrind:
 *   valgrind --tool=callgrind --toggle-collect=http_parse_head \
 *       meshdp-httpparse --iters 10000
 * and divide the Ir of the collected functions by --iters (bench/README.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "dataplane/http/http.h"

static const char req[] = "GET /api/v1/users/12345?fields=name,email HTTP/1.1\r\n"
			  "Host: api.example.com\r\n"
			  "User-Agent: curl/7.88.1\r\n"
			  "Accept: application/json\r\n"
			  "Accept-Encoding: gzip, deflate\r\n"
			  "Connection: keep-alive\r\n"
			  "X-Request-Id: 0f8fad5b-d9cb-469f-a165-70867728950e\r\n"
			  "Cookie: session=abc123def456; theme=dark\r\n"
			  "Content-Type: application/json\r\n"
			  "\r\n";

int main(int argc, char **argv)
{
	static char scratch[HTTP_DEFAULT_HEAD];
	unsigned long iters = 1000000;
	bool write = false;
	char *eal[] = {"httpparse",   "--no-huge",	     "-m", "256", "--no-pci",
		       "--no-shconf", "--log-level=*:error", "-l", "0",	  NULL};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--write"))
			write = true;
		else {
			fprintf(stderr, "usage: meshdp-httpparse [--iters N] [--write]\n");
			return 2;
		}
	}
	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	struct rte_mempool *pool =
		rte_pktmbuf_pool_create("httpparse", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	struct rte_mbuf *m = pool ? rte_pktmbuf_alloc(pool) : NULL;
	if (!m)
		return 1;
	uint32_t n = sizeof(req) - 1;
	memcpy(rte_pktmbuf_append(m, (uint16_t)n), req, n);

	static const struct http_header add[] = {{{"x-forwarded-for", 15}, {"10.1.2.3", 8}},
						 {{"x-request-id", 12}, {"0f8fad5b", 8}}};
	const struct http_edit ed = {.add = add,
				     .nadd = 2,
				     .authority = {"users.svc:8080", 14},
				     .drop_hop_by_hop = true};
	struct http_parser p;
	http_parser_init(&p, HTTP_REQUEST, NULL, scratch, sizeof(scratch), NULL);
	uint64_t t0 = rte_rdtsc_precise();
	for (unsigned long i = 0; i < iters; i++) {
		if (http_parse_head(&p, m, 0) != 1 || p.msg.nheaders != 8)
			return 1;
		if (write) {
			struct rte_mbuf *out;
			if (http_write_head(&p.msg, &ed, pool, &out))
				return 1;
			rte_pktmbuf_free(out);
		}
	}
	uint64_t cyc = rte_rdtsc_precise() - t0;
	printf("request %u bytes, %lu iterations%s: %.1f ns, %.0f TSC cycles per request\n", n,
	       iters, write ? " (parse + write)" : " (parse)",
	       (double)cyc * 1e9 / (double)rte_get_tsc_hz() / (double)iters,
	       (double)cyc / (double)iters);
	rte_pktmbuf_free(m);
	return 0;
}
