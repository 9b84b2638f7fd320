/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target of the HTTP/1.1 parser. Input: one byte of mode (bit 0: parse
 * responses, bits 1-3: the request method they answer, bit 4: small limits
 * (start line 64, head 256, 8 headers, chunk line 32)), two bytes seeding the
 * cuts, then the stream. The stream is parsed through the shared driver
 * (tests/unit/http_fixture.h: heads, bodies, slices, the end of the stream,
 * consumed bytes dropped as a proxy does) three ways: whole (one mbuf per
 * 2000 bytes), cut at random places, and one byte per mbuf (streams up to 4
 * KiB). Checked: every view of every head lies inside the mbufs or the
 * scratch, every head written back with http_write_head() parses again to the
 * same fields, every mbuf returns to the pool, and the three verdicts (every field
 * of every message, the bodies, the refusal) are identical; anything else
 * aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/http/http.h"
#include "http_fixture.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

/* UBSan reports and goes on by default: here a report fails the run as ASan's do */
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

#define FZ_MBUFS 8191
#define FZ_MAX	 (64 * 1024)

static struct rte_mempool *pool;
static uint32_t cuts[FZ_MAX];

static char *run(enum http_kind kind, enum http_method req, const struct http_limits *lim,
		 const uint8_t *d, size_t n, const uint32_t *c, unsigned int nc)
{
	struct hfx_buf out = {0};
	struct hfx_result r;

	hfx_run(pool, kind, req, lim, d, n, c, nc, &out, &r);
	if (!r.views_ok || !r.write_ok || !r.leak_ok) {
		fprintf(stderr, "fuzz_http1: %s\n%s\n",
			!r.views_ok   ? "a view outside the input"
			: !r.write_ok ? "a head written back parses differently"
				      : "mbuf leak",
			out.p);
		abort();
	}
	return out.p;
}

static void same(const char *a, const char *b, const char *how)
{
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "fuzz_http1: %s differs from whole:\n%s\n%s\n", how, b, a);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_limits small = {
		.max_start_line = 64, .max_head = 256, .max_headers = 8, .max_chunk_line = 32};

	if (size < 3 || size - 3 > FZ_MAX)
		return 0;
	enum http_kind kind = (data[0] & 1) ? HTTP_RESPONSE : HTTP_REQUEST;
	enum http_method req = (enum http_method)((data[0] >> 1) & 7);
	const struct http_limits *lim = (data[0] & 16) ? &small : NULL;
	uint32_t seed = (uint32_t)data[1] << 8 | data[2];
	const uint8_t *d = data + 3;
	size_t n = size - 3;

	char *whole = run(kind, req, lim, d, n, NULL, 0);
	/* random cuts: gaps of 1 to 64 bytes from a xorshift of the seed */
	unsigned int nc = 0;
	uint32_t x = seed * 2654435761u + 1;
	for (uint32_t at = 0;;) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		at += 1 + (x & 63);
		if (at >= n)
			break;
		cuts[nc++] = at;
	}
	char *v = run(kind, req, lim, d, n, cuts, nc);
	same(v, whole, "random cuts");
	free(v);
	if (n <= 4096) {
		for (uint32_t i = 1; i < n; i++)
			cuts[i - 1] = i;
		v = run(kind, req, lim, d, n, cuts, n ? (unsigned int)n - 1 : 0);
		same(v, whole, "one byte per mbuf");
		free(v);
	}
	free(whole);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	test_eal_init();
	pool = rte_pktmbuf_pool_create("fz_http1", FZ_MBUFS, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL)
		abort();
	return 0;
}
