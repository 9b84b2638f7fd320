/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http_dump: the HTTP/1.1 parser's verdict on files, for the differential
 * test against h11 (tests/unit/http_h11_diff.py). Each argument is
 * "req:FILE" (a stream of requests) or "resp:METHOD:FILE" (responses to
 * requests of METHOD); each file is parsed whole as one stream ending there
 * (tests/unit/http_fixture.h), and one line "FILE<TAB>VERDICT-JSON" printed.
 * Exit status 0, or 2 on a usage or file error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/http/http.h"
#include "http_fixture.h"
#include "test_eal.h"

static enum http_method method_named(const char *s)
{
	for (int m = 1; m < HTTP_M_MAX; m++)
		if (!strcmp(s, http_method_name((enum http_method)m)))
			return (enum http_method)m;
	return HTTP_M_OTHER;
}

static int dump(struct rte_mempool *pool, const char *arg)
{
	static uint8_t buf[1 << 20];
	enum http_kind kind = HTTP_REQUEST;
	enum http_method req = HTTP_M_GET;
	char method[16];
	const char *path;

	if (!strncmp(arg, "req:", 4)) {
		path = arg + 4;
	} else if (!strncmp(arg, "resp:", 5) && strchr(arg + 5, ':')) {
		const char *c = strchr(arg + 5, ':');
		size_t n = (size_t)(c - (arg + 5));
		if (n >= sizeof(method))
			return -1;
		memcpy(method, arg + 5, n);
		method[n] = '\0';
		kind = HTTP_RESPONSE;
		req = method_named(method);
		path = c + 1;
	} else {
		return -1;
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct hfx_buf out = {0};
	struct hfx_result r;
	hfx_run(pool, kind, req, NULL, buf, n, NULL, 0, &out, &r);
	printf("%s\t%s\n", path, out.p);
	free(out.p);
	return r.views_ok && r.write_ok && r.leak_ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: http_dump req:FILE | resp:METHOD:FILE ...\n");
		return 2;
	}
	test_eal_init();
	struct rte_mempool *pool = rte_pktmbuf_pool_create(
		"http_dump", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (!pool)
		return 2;
	for (int i = 1; i < argc; i++)
		if (dump(pool, argv[i])) {
			fprintf(stderr, "http_dump: %s: bad argument or file\n", argv[i]);
			return 2;
		}
	return 0;
}
