/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the HTTP/1.1 codec: good requests and responses of every
 * framing, pipelining, chunked bodies with extensions and trailers,
 * 100-continue, Upgrade, CONNECT, HTTP/1.0 persistence; every refusal with its
 * own error code and counter (and a check that the table covers every code);
 * every message parsed whole, split at every byte, split at every pair of
 * bytes (one request) and one byte per mbuf gives the same verdict; the
 * serializer round-trips with edits; chunk framing; the chain cuts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/http/http.h"
#include "dataplane/stats/stats.h"
#include "http_fixture.h"
#include "test_eal.h"

static struct rte_mempool *pool;
static char scratch[HFX_SCRATCH];

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

/* ---- helpers ---- */

/* the verdict of @p d parsed whole (one mbuf per 2000 bytes); the caller frees it */
static char *verdict(enum http_kind kind, enum http_method req, const uint8_t *d, size_t n,
		     const uint32_t *cuts, unsigned int ncuts, struct hfx_result *res)
{
	struct hfx_buf out = {0};
	struct hfx_result r;

	hfx_run(pool, kind, req, NULL, d, n, cuts, ncuts, &out, &r);
	assert_true(r.views_ok);
	assert_true(r.write_ok);
	assert_true(r.leak_ok);
	if (res)
		*res = r;
	return out.p;
}

static void expect_in(const char *hay, const char *needle)
{
	if (!strstr(hay, needle)) {
		print_error("verdict %s\nlacks %s\n", hay, needle);
		fail();
	}
}

/* parse a head from one mbuf holding @p s (@p n bytes); the parser and the mbuf are the caller's */
static int headn(struct http_parser *p, enum http_kind kind, struct stats_block *st, const char *s,
		 uint32_t n, struct rte_mbuf **m)
{
	http_parser_init(p, kind, NULL, scratch, sizeof(scratch), st);
	*m = hfx_mbuf(pool, (const uint8_t *)s, n);
	return http_parse_head(p, *m, 0);
}

static int head1(struct http_parser *p, enum http_kind kind, struct stats_block *st, const char *s,
		 struct rte_mbuf **m)
{
	return headn(p, kind, st, s, (uint32_t)strlen(s), m);
}

static bool view_is(struct http_view v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

/* ---- good requests ---- */

static void test_get(void **state)
{
	(void)state;
	static const char req[] = "GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\n"
				  "User-Agent:  t/1 \r\nAccept: */*\r\n\r\n";
	struct http_parser p;
	struct rte_mbuf *m;

	assert_int_equal(head1(&p, HTTP_REQUEST, NULL, req, &m), 1);
	const struct http_msg *g = &p.msg;
	assert_int_equal(g->method, HTTP_M_GET);
	assert_true(view_is(g->method_name, "GET"));
	assert_true(view_is(g->target, "/a/b?x=1&y"));
	assert_true(view_is(g->path, "/a/b"));
	assert_true(view_is(g->query, "x=1&y"));
	assert_true(view_is(g->authority, "example.com"));
	assert_int_equal(g->target_form, HTTP_TARGET_ORIGIN);
	assert_int_equal(g->version, 11);
	assert_int_equal(g->framing, HTTP_BODY_NONE);
	assert_true(g->flags & HTTP_F_KEEP_ALIVE);
	assert_int_equal(g->nheaders, 3);
	assert_int_equal(g->known[HTTP_H_HOST], 0);
	assert_int_equal(g->known[HTTP_H_CONTENT_LENGTH], HTTP_NO_HEADER);
	assert_true(view_is(g->headers[1].name, "User-Agent"));
	assert_true(view_is(g->headers[1].value, "t/1")); /* OWS trimmed */
	assert_int_equal(g->head_len, sizeof(req) - 1);
	assert_int_equal(g->split_lines, 0);
	/* zero copy: the views point into the mbuf */
	assert_ptr_equal(g->headers[0].value.p, rte_pktmbuf_mtod(m, char *) + 31);
	/* no body: the body call says the message ended */
	struct http_body_out bo;
	assert_int_equal(http_parse_body(&p, m, g->head_len, &bo, NULL, 0), 1);
	assert_int_equal(bo.raw, 0);
	assert_int_equal(http_parse_eof(&p), 0);
	rte_pktmbuf_free(m);
}

static void test_post_length_pipelined(void **state)
{
	(void)state;
	static const char in[] = "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
				 "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
				 "PUT /3 HTTP/1.1\r\nHost: h\r\ncontent-length: 0\r\n\r\n";
	struct hfx_result r;
	char *v = verdict(HTTP_REQUEST, 0, S(in), NULL, 0, &r);

	assert_int_equal(r.err, 0);
	assert_int_equal(r.nmsgs, 3);
	expect_in(v, "\"target\":\"/up\"");
	expect_in(v, "\"framing\":\"length\",\"content_length\":5");
	expect_in(v, "\"body\":\"hello\"}");
	expect_in(v, "\"target\":\"/2\"");
	expect_in(v, "\"method\":\"PUT\"");
	free(v);
}

static void test_chunked_request(void **state)
{
	(void)state;
	static const char in[] = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
				 "5;a=b;c=\"q\\\"x\" ; d \r\nhello\r\n"
				 "06\r\n world\r\n"
				 "0\r\nX-Sum: 1\r\nX-Other: two words\r\n\r\n"
				 "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
	struct hfx_result r;
	char *v = verdict(HTTP_REQUEST, 0, S(in), NULL, 0, &r);

	assert_int_equal(r.err, 0);
	assert_int_equal(r.nmsgs, 2);
	expect_in(v, "\"framing\":\"chunked\"");
	expect_in(v, "\"trailers\":true,\"body\":\"hello world\"");
	expect_in(v, "\"target\":\"/next\"");
	free(v);

	/* the raw count covers the framing: what a zero-copy proxy forwards */
	struct http_parser p;
	struct rte_mbuf *m;
	struct http_body_out bo;
	assert_int_equal(head1(&p, HTTP_REQUEST, NULL, in, &m), 1);
	uint32_t body = p.msg.head_len;
	assert_int_equal(http_parse_head(&p, m, 0), 1); /* again, in the body: the same head */
	assert_int_equal(p.msg.head_len, body);
	assert_int_equal(http_parse_body(&p, m, body, &bo, NULL, 0), 1);
	assert_int_equal(bo.data, 11);
	assert_true(bo.trailer_done);
	const char *next = strstr(in, "GET /next");
	assert_int_equal(body + bo.raw, next - in);
	rte_pktmbuf_free(m);
}

static void test_chunked_slices(void **state)
{
	(void)state;
	static const char in[] = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n";
	struct http_parser p;
	struct rte_mbuf *m;
	struct http_body_out bo;
	struct http_slice sl[2];

	assert_int_equal(head1(&p, HTTP_REQUEST, NULL, in, &m), 1);
	uint32_t off = p.msg.head_len;
	/* two slices per call: the call stops before the third chunk's data */
	assert_int_equal(http_parse_body(&p, m, off, &bo, sl, 2), 0);
	assert_int_equal(bo.nslices, 2);
	assert_int_equal(sl[0].len, 3);
	assert_memory_equal(rte_pktmbuf_mtod_offset(sl[0].m, char *, sl[0].off), "abc", 3);
	assert_memory_equal(rte_pktmbuf_mtod_offset(sl[1].m, char *, sl[1].off), "de", 2);
	off += (uint32_t)bo.raw;
	assert_int_equal(http_parse_body(&p, m, off, &bo, sl, 2), 1);
	assert_int_equal(bo.nslices, 1);
	assert_memory_equal(rte_pktmbuf_mtod_offset(sl[0].m, char *, sl[0].off), "f", 1);
	assert_int_equal(off + bo.raw, sizeof(in) - 1);
	rte_pktmbuf_free(m);
}

static void test_expect_upgrade_connect(void **state)
{
	(void)state;
	struct http_parser p;
	struct rte_mbuf *m;

	assert_int_equal(head1(&p, HTTP_REQUEST, NULL,
			       "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
			       "Content-Length: 3\r\n\r\n",
			       &m),
			 1);
	assert_true(p.msg.flags & HTTP_F_EXPECT_CONTINUE);
	assert_int_equal(p.msg.known[HTTP_H_EXPECT], 1);
	rte_pktmbuf_free(m);
	/* Expect is ignored in HTTP/1.0 (RFC 9110 10.1.1) */
	assert_int_equal(
		head1(&p, HTTP_REQUEST, NULL,
		      "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &m),
		1);
	assert_false(p.msg.flags & HTTP_F_EXPECT_CONTINUE);
	rte_pktmbuf_free(m);

	assert_int_equal(head1(&p, HTTP_REQUEST, NULL,
			       "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
			       "Upgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n",
			       &m),
			 1);
	assert_true(p.msg.flags & HTTP_F_UPGRADE);
	assert_int_equal(p.msg.known[HTTP_H_UPGRADE], 2);
	rte_pktmbuf_free(m);
	/* Upgrade without the Connection option is not an upgrade */
	assert_int_equal(head1(&p, HTTP_REQUEST, NULL,
			       "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: ws\r\n\r\n", &m),
			 1);
	assert_false(p.msg.flags & HTTP_F_UPGRADE);
	rte_pktmbuf_free(m);

	assert_int_equal(head1(&p, HTTP_REQUEST, NULL,
			       "CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n",
			       &m),
			 1);
	assert_true(p.msg.flags & HTTP_F_CONNECT);
	assert_int_equal(p.msg.method, HTTP_M_CONNECT);
	assert_int_equal(p.msg.target_form, HTTP_TARGET_AUTHORITY);
	assert_true(view_is(p.msg.authority, "db.example:5432"));
	rte_pktmbuf_free(m);
}

static void test_target_forms(void **state)
{
	(void)state;
	struct http_parser p;
	struct rte_mbuf *m;

	assert_int_equal(head1(&p, HTTP_REQUEST, NULL,
			       "GET http://h.example:8080/p/q?z=1 HTTP/1.1\r\nHost: other\r\n\r\n",
			       &m),
			 1);
	assert_int_equal(p.msg.target_form, HTTP_TARGET_ABSOLUTE);
	assert_true(view_is(p.msg.authority, "h.example:8080")); /* wins over Host */
	assert_true(view_is(p.msg.path, "/p/q"));
	assert_true(view_is(p.msg.query, "z=1"));
	rte_pktmbuf_free(m);

	assert_int_equal(head1(&p, HTTP_REQUEST, NULL,
			       "GET http://h.example HTTP/1.1\r\nHost: x\r\n\r\n", &m),
			 1);
	assert_true(view_is(p.msg.path, "/"));
	rte_pktmbuf_free(m);

	assert_int_equal(head1(&p, HTTP_REQUEST, NULL, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &m),
			 1);
	assert_int_equal(p.msg.target_form, HTTP_TARGET_ASTERISK);
	assert_int_equal(p.msg.method, HTTP_M_OPTIONS);
	rte_pktmbuf_free(m);

	/* an unknown method is a token like any other */
	assert_int_equal(head1(&p, HTTP_REQUEST, NULL, "PURGE /x HTTP/1.1\r\nHost: h\r\n\r\n", &m),
			 1);
	assert_int_equal(p.msg.method, HTTP_M_OTHER);
	assert_true(view_is(p.msg.method_name, "PURGE"));
	rte_pktmbuf_free(m);

	/* empty lines before the request line are skipped (RFC 9112 2.2); Host may be empty */
	assert_int_equal(
		head1(&p, HTTP_REQUEST, NULL, "\r\n\r\nGET / HTTP/1.1\r\nHost:\r\n\r\n", &m), 1);
	assert_int_equal(p.msg.head_len, 4 + 16 + 7 + 2);
	assert_int_equal(p.msg.authority.len, 0);
	rte_pktmbuf_free(m);
}

static void test_persistence(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool ka;
	} cases[] = {
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, CLOSE\r\n\r\n", false},
		{"GET / HTTP/1.0\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
		{"GET / HTTP/1.2\r\nHost: h\r\n\r\n", true}, /* 1.x above 1: as 1.1 */
	};
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		struct http_parser p;
		struct rte_mbuf *m;
		assert_int_equal(head1(&p, HTTP_REQUEST, NULL, cases[i].in, &m), 1);
		if (!!(p.msg.flags & HTTP_F_KEEP_ALIVE) != cases[i].ka) {
			print_error("case %u: keep-alive %d\n", i, !cases[i].ka);
			fail();
		}
		rte_pktmbuf_free(m);
	}
}

/* ---- responses ---- */

static void test_responses(void **state)
{
	(void)state;
	static const struct {
		enum http_method req;
		const char *in;
		const char *expect[3];
		unsigned int nmsgs;
	} cases[] = {
		{HTTP_M_GET,
		 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
		 {"\"status\":200", "\"reason\":\"OK\"", "\"body\":\"hi\""},
		 1},
		{HTTP_M_GET,
		 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		 {"\"framing\":\"chunked\"", "\"body\":\"hi\"", "\"keep_alive\":true"},
		 1},
		{HTTP_M_GET,
		 "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		 {"\"framing\":\"chunked\"", "\"body\":\"\"", NULL},
		 1},
		{HTTP_M_GET,
		 "HTTP/1.1 200 OK\r\n\r\nuntil the end",
		 {"\"framing\":\"close\"", "\"keep_alive\":false", "\"body\":\"until the end\""},
		 1},
		{HTTP_M_GET,
		 "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz",
		 {"\"framing\":\"close\"", "\"body\":\"zz\"", NULL},
		 1},
		{HTTP_M_HEAD,
		 "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n",
		 {"\"framing\":\"none\"", "\"keep_alive\":true", NULL},
		 1},
		{HTTP_M_GET,
		 "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n"
		 "Content-Length: 9\r\n\r\n",
		 {"\"status\":204", "\"status\":304", "\"framing\":\"none\""},
		 2},
		{HTTP_M_PUT,
		 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
		 {"\"status\":100", "\"status\":201", NULL},
		 2},
		{HTTP_M_GET,
		 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\n\r\n\x81\x05hello",
		 {"\"framing\":\"tunnel\"", "\"body\":\"\\u0081\\u0005hello\"", NULL},
		 1},
		{HTTP_M_CONNECT,
		 "HTTP/1.1 200 Connection established\r\n\r\nraw",
		 {"\"framing\":\"tunnel\"", "\"body\":\"raw\"", NULL},
		 1},
		{HTTP_M_GET,
		 "HTTP/1.0 200\r\nContent-Length: 1\r\n\r\nx",
		 {"\"reason\":\"\"", "\"keep_alive\":false", "\"version\":\"1.0\""},
		 1},
		{HTTP_M_GET,
		 "HTTP/1.1 404 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		 {"\"status\":404", "\"keep_alive\":false", NULL},
		 1},
	};
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		struct hfx_result r;
		char *v = verdict(HTTP_RESPONSE, cases[i].req, (const uint8_t *)cases[i].in,
				  strlen(cases[i].in), NULL, 0, &r);
		if (r.err || r.nmsgs != cases[i].nmsgs) {
			print_error("case %u: %s\n", i, v);
			fail();
		}
		for (unsigned int k = 0; k < 3 && cases[i].expect[k]; k++)
			expect_in(v, cases[i].expect[k]);
		free(v);
	}
}

/* ---- refusals ---- */

struct bad_case {
	enum http_kind kind;
	const char *in;
	uint32_t len; /* some hold a NUL */
	enum http_error err;
};

#define RQ(s, e)                                           \
	{                                                  \
		HTTP_REQUEST, s, sizeof(s) - 1, HTTP_E_##e \
	}
#define RS(s, e)                                            \
	{                                                   \
		HTTP_RESPONSE, s, sizeof(s) - 1, HTTP_E_##e \
	}
#define H11 "GET / HTTP/1.1\r\nHost: h\r\n"
#define P11 "POST / HTTP/1.1\r\nHost: h\r\n"
#define CH  P11 "Transfer-Encoding: chunked\r\n\r\n"

static const struct bad_case bad_cases[] = {
	/* request line */
	RQ("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", BAD_REQUEST_LINE),
	RQ("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", BAD_REQUEST_LINE),
	RQ(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", BAD_REQUEST_LINE),
	RQ("GET /\r\n\r\n", BAD_REQUEST_LINE), /* HTTP/0.9 */
	RQ("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", BAD_REQUEST_LINE),
	RQ("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", BAD_METHOD),
	RQ("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", BAD_TARGET),
	RQ("GET /a\xff HTTP/1.1\r\nHost: h\r\n\r\n", BAD_TARGET),
	RQ("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", BAD_TARGET),
	RQ("GET * HTTP/1.1\r\nHost: h\r\n\r\n", BAD_TARGET),
	RQ("CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", BAD_TARGET),
	RQ("CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n", BAD_TARGET),
	RQ("GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", BAD_TARGET),
	RQ("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", BAD_TARGET),
	RQ("GET x HTTP/1.1\r\nHost: h\r\n\r\n", BAD_TARGET),
	RQ("GET / HTTX/1.1\r\nHost: h\r\n\r\n", BAD_VERSION),
	RQ("GET / HTTP/1.10\r\nHost: h\r\n\r\n", BAD_VERSION),
	RQ("GET / http/1.1\r\nHost: h\r\n\r\n", BAD_VERSION),
	RQ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", UNSUPPORTED_VERSION),
	RQ("GET / HTTP/0.9\r\nHost: h\r\n\r\n", UNSUPPORTED_VERSION),
	/* line endings and bytes */
	RQ("GET / HTTP/1.1\nHost: h\r\n\r\n", BARE_LF),
	RQ(H11 "X: y\n\r\n", BARE_LF),
	RQ(H11 "\n", BARE_LF),
	RQ("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", BARE_LF),
	RQ("GET / HTTP/1.1\rHost: h\r\n\r\n", BARE_CR),
	RQ(H11 "X: a\rb\r\n\r\n", BARE_CR),
	RQ(H11 "X\r: b\r\n\r\n", BARE_CR),
	RQ(H11 "X: a\x00"
	       "b\r\n\r\n",
	   CTL_CHAR),
	RQ(H11 "X: a\x7f\r\n\r\n", CTL_CHAR),
	RQ(H11 "X: a\x0b"
	       "b\r\n\r\n",
	   CTL_CHAR),
	/* header lines */
	RQ(H11 "X: a\r\n b\r\n\r\n", OBS_FOLD),
	RQ(H11 "X: a\r\n\tb\r\n\r\n", OBS_FOLD),
	RQ(H11 "Transfer-Encoding : chunked\r\n\r\n", WS_BEFORE_COLON),
	RQ(H11 "Content-Length\t: 0\r\n\r\n", WS_BEFORE_COLON),
	RQ(H11 ": empty\r\n\r\n", BAD_HEADER_NAME),
	RQ(H11 "X(y): z\r\n\r\n", BAD_HEADER_NAME),
	RQ(H11 "X\x80: z\r\n\r\n", BAD_HEADER_NAME),
	RQ(H11 "NoColon\r\n\r\n", NO_COLON),
	/* framing: smuggling */
	RQ(P11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", CL_AND_TE),
	RQ(P11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", CL_AND_TE),
	RQ(P11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", DUP_CONTENT_LENGTH),
	RQ(P11 "Content-Length: 5, 5\r\n\r\n", DUP_CONTENT_LENGTH),
	RQ(P11 "Content-Length: 5\r\ncontent-length: 6\r\n\r\n", DUP_CONTENT_LENGTH),
	RQ(P11 "Content-Length: +5\r\n\r\n", BAD_CONTENT_LENGTH),
	RQ(P11 "Content-Length: -1\r\n\r\n", BAD_CONTENT_LENGTH),
	RQ(P11 "Content-Length: 5a\r\n\r\n", BAD_CONTENT_LENGTH),
	RQ(P11 "Content-Length: 0x5\r\n\r\n", BAD_CONTENT_LENGTH),
	RQ(P11 "Content-Length: 5 5\r\n\r\n", BAD_CONTENT_LENGTH),
	RQ(P11 "Content-Length:\r\n\r\n", BAD_CONTENT_LENGTH),
	RQ(P11 "Content-Length: 99999999999999999999\r\n\r\n", BAD_CONTENT_LENGTH),
	RQ(P11 "Transfer-Encoding: chunked \r\n\r\n", BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding: ,chunked\r\n\r\n", BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding: chunked,\r\n\r\n", BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding: chunked, identity\r\n\r\n", BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding: identity\r\n\r\n", BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding: chunked, chunked\r\n\r\n", BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	   BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding: chunked;q=1\r\n\r\n", BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding: \"chunked\"\r\n\r\n", BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding:\r\n\r\n", BAD_TRANSFER_ENCODING),
	RQ(P11 "Transfer-Encoding: xchunked\r\n\r\n", UNSUPPORTED_TRANSFER_CODING),
	RQ(P11 "Transfer-Encoding: gzip, chunked\r\n\r\n", UNSUPPORTED_TRANSFER_CODING),
	RQ(P11 "Transfer-Encoding: gzip\r\n\r\n", UNSUPPORTED_TRANSFER_CODING),
	RQ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", TE_IN_HTTP10),
	RQ("GET / HTTP/1.1\r\n\r\n", BAD_HOST),
	RQ(H11 "Host: h\r\n\r\n", BAD_HOST),
	RQ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", BAD_HOST),
	RQ("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", BAD_HOST),
	RQ("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", BAD_HOST),
	/* chunked bodies */
	RQ(CH "zz\r\n", BAD_CHUNK_SIZE),
	RQ(CH "\r\n", BAD_CHUNK_SIZE),
	RQ(CH "-5\r\n", BAD_CHUNK_SIZE),
	RQ(CH "0x5\r\n", BAD_CHUNK_SIZE),
	RQ(CH "5g\r\n", BAD_CHUNK_SIZE),
	RQ(CH "1000000000000000\r\n", BAD_CHUNK_SIZE),
	RQ(CH "5;\r\nhello\r\n0\r\n\r\n", BAD_CHUNK_EXT),
	RQ(CH "5;a=\r\nhello\r\n0\r\n\r\n", BAD_CHUNK_EXT),
	RQ(CH "5 x\r\nhello\r\n0\r\n\r\n", BAD_CHUNK_EXT),
	RQ(CH "5;a=\"b\r\n", BAD_CHUNK_EXT),
	RQ(CH "5;a=b c\r\n", BAD_CHUNK_EXT),
	RQ(CH "5;a\x01\r\n", BAD_CHUNK_EXT),
	RQ(CH "5\r\nhelloX\r\n", BAD_CHUNK_DATA),
	RQ(CH "5\r\nhello\n0\r\n\r\n", BARE_LF),
	RQ(CH "5\nhello\r\n", BARE_LF),
	RQ(CH "5\rhello\r\n", BARE_CR),
	RQ(CH "0\r\nX : y\r\n\r\n", WS_BEFORE_COLON),
	RQ(CH "0\r\n folded\r\n\r\n", OBS_FOLD),
	RQ(CH "0\r\n(x): y\r\n\r\n", BAD_TRAILER),
	RQ(CH "0\r\nX: \x01\r\n\r\n", CTL_CHAR),
	RQ(CH "0\r\nX: y\r\r\n", BARE_CR),
	/* truncation (the end of the stream comes after these bytes) */
	RQ(P11 "Content-Length: 10\r\n\r\nhello", TRUNCATED),
	RQ(CH "5\r\nhel", TRUNCATED),
	RQ("GET / HTTP/1.1\r\nHost: h\r\n", TRUNCATED),
	/* responses */
	RS("HTTP/1.1 2000 OK\r\n\r\n", BAD_STATUS_LINE),
	RS("HTTP/1.1 099 Low\r\n\r\n", BAD_STATUS_LINE),
	RS("HTTP/1.1 600 High\r\n\r\n", BAD_STATUS_LINE),
	RS("HTTP/1.1 20x OK\r\n\r\n", BAD_STATUS_LINE),
	RS("HTTP/1.1 200OK\r\n\r\n", BAD_STATUS_LINE),
	RS("HTTP/1.1 200 O\x01K\r\n\r\n", CTL_CHAR),
	RS("HTTP/1.1  200 OK\r\n\r\n", BAD_STATUS_LINE),
	RS("HTTP/1.1\r\n\r\n", BAD_STATUS_LINE),
	RS("\r\nHTTP/1.1 200 OK\r\n\r\n", BAD_STATUS_LINE), /* empty lines: requests only */
	RS("HTTP/1.x 200 OK\r\n\r\n", BAD_VERSION),
	RS("HTTP/1.1 200 OK\rX\r\n\r\n", BARE_CR),
	RS("HTTP/3.0 200 OK\r\n\r\n", UNSUPPORTED_VERSION),
	RS("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", CL_AND_TE),
	RS("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", BAD_TRANSFER_ENCODING),
	RS("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", TE_IN_HTTP10),
};

/* a refusal that needs limits or sizes the table cannot hold */
static int run_big(enum http_error e, struct stats_block *st)
{
	static char big[70 * 1024];
	struct http_parser p;
	struct http_limits lim = {0};
	char *s = big;
	char small_scratch[64];
	int r;

	switch (e) {
	case HTTP_E_URI_TOO_LONG:
		s += sprintf(s, "GET /");
		memset(s, 'a', 17000);
		s += 17000;
		s += sprintf(s, " HTTP/1.1\r\nHost: h\r\n\r\n");
		break;
	case HTTP_E_HEAD_TOO_LARGE:
		s += sprintf(s, H11);
		for (int i = 0; i < 70; i++) {
			s += sprintf(s, "X-%d: ", i);
			memset(s, 'v', 900);
			s += 900;
			s += sprintf(s, "\r\n");
		}
		s += sprintf(s, "\r\n");
		break;
	case HTTP_E_TOO_MANY_HEADERS:
		s += sprintf(s, H11);
		for (int i = 0; i < 100; i++)
			s += sprintf(s, "X-%d: v\r\n", i);
		s += sprintf(s, "\r\n");
		break;
	case HTTP_E_CHUNK_LINE_TOO_LONG:
		s += sprintf(s, CH "5;");
		memset(s, 'e', 5000);
		s += 5000;
		s += sprintf(s, "\r\nhello\r\n0\r\n\r\n");
		break;
	case HTTP_E_TRAILER_TOO_LARGE:
		s += sprintf(s, CH "0\r\n");
		for (int i = 0; i < 70; i++) {
			s += sprintf(s, "T-%d: ", i);
			memset(s, 'v', 900);
			s += 900;
			s += sprintf(s, "\r\n");
		}
		s += sprintf(s, "\r\n");
		break;
	case HTTP_E_SCRATCH_FULL:
		s += sprintf(s, H11 "X-Long: ");
		memset(s, 'v', 100);
		s += 100;
		s += sprintf(s, "\r\n\r\n");
		break;
	default:
		return 0;
	}
	uint32_t n = (uint32_t)(s - big), cuts[64], nc = 0;
	if (e == HTTP_E_SCRATCH_FULL)
		cuts[nc++] = 30; /* X-Long's line crosses an mbuf boundary */
	struct rte_mbuf *chain = NULL;
	for (uint32_t at = 0, ci = 0; at < n;) {
		uint32_t end = RTE_MIN(n, at + 2000);
		if (ci < nc && cuts[ci] < end)
			end = cuts[ci++];
		hfx_append(&chain, hfx_mbuf(pool, (const uint8_t *)big + at, end - at));
		at = end;
	}
	if (e == HTTP_E_SCRATCH_FULL)
		http_parser_init(&p, HTTP_REQUEST, &lim, small_scratch, sizeof(small_scratch), st);
	else
		http_parser_init(&p, HTTP_REQUEST, &lim, scratch, sizeof(scratch), st);
	r = http_parse_head(&p, chain, 0);
	if (r == 1) {
		struct http_body_out bo;
		r = http_parse_body(&p, chain, p.msg.head_len, &bo, NULL, 0);
	}
	rte_pktmbuf_free(chain);
	return r;
}

static void test_refusals(void **state)
{
	(void)state;
	bool covered[HTTP_E_MAX] = {false};
	struct stats_block st;

	for (unsigned int i = 0; i < RTE_DIM(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct hfx_result r;
		memset(&st, 0, sizeof(st));
		char *v = verdict(c->kind, HTTP_M_GET, (const uint8_t *)c->in, c->len, NULL, 0, &r);
		if (r.err != -(int)c->err) {
			print_error("case %u (%s): %s, want %s\n", i, c->in, v,
				    http_error_name(c->err));
			fail();
		}
		free(v);
		/* the same input with counters: the refusal's counter, once */
		struct http_parser p;
		struct rte_mbuf *m;
		int rr = headn(&p, c->kind, &st, c->in, c->len, &m);
		if (rr == 1) {
			struct http_body_out bo;
			rr = http_parse_body(&p, m, p.msg.head_len, &bo, NULL, 0);
			if (rr >= 0)
				rr = http_parse_eof(&p);
		} else if (rr == 0) {
			rr = http_parse_eof(&p);
		}
		assert_int_equal(rr, -(int)c->err);
		enum stats_id id = STAT_HTTP_SPLIT_LINES + c->err; /* the list's order */
		assert_string_equal(stats_name(id), http_error_name(c->err));
		assert_int_equal(stats_read(&st, id), 1);
		/* a refused parser stays refused */
		assert_int_equal(http_parse_head(&p, m, 0), -(int)c->err);
		rte_pktmbuf_free(m);
		covered[c->err] = true;
	}
	for (int e = 1; e < HTTP_E_MAX; e++) {
		if (covered[e])
			continue;
		memset(&st, 0, sizeof(st));
		int r = run_big((enum http_error)e, &st);
		if (r != -e) {
			print_error("no test refuses with %s (got %d)\n", http_error_name(e), r);
			fail();
		}
		assert_int_equal(stats_read(&st, STAT_HTTP_SPLIT_LINES + e), 1);
	}
	assert_int_equal(http_error_status(-HTTP_E_URI_TOO_LONG), 414);
	assert_int_equal(http_error_status(-HTTP_E_HEAD_TOO_LARGE), 431);
	assert_int_equal(http_error_status(-HTTP_E_TOO_MANY_HEADERS), 431);
	assert_int_equal(http_error_status(-HTTP_E_UNSUPPORTED_TRANSFER_CODING), 501);
	assert_int_equal(http_error_status(-HTTP_E_UNSUPPORTED_VERSION), 505);
	assert_int_equal(http_error_status(-HTTP_E_CL_AND_TE), 400);
	assert_string_equal(http_error_name(-HTTP_E_OBS_FOLD), "http_obs_fold");
	assert_string_equal(http_error_name(0), "ok");
}

/* the limits at their edges: exactly at the limit passes, one more byte is refused */
static void test_limits(void **state)
{
	(void)state;
	static char buf[4096];
	struct http_limits lim = {.max_start_line = 64, .max_head = 256, .max_headers = 3};
	struct hfx_buf out = {0};
	struct hfx_result r;

	/* start line of 64 bytes with CRLF */
	int n = sprintf(buf, "GET /%0*d HTTP/1.1\r\nHost: h\r\n\r\n", 64 - 16, 0);
	hfx_run(pool, HTTP_REQUEST, 0, &lim, (uint8_t *)buf, (size_t)n, NULL, 0, &out, &r);
	assert_int_equal(r.err, 0);
	free(out.p);
	out = (struct hfx_buf){0};
	n = sprintf(buf, "GET /%0*d HTTP/1.1\r\nHost: h\r\n\r\n", 64 - 16 + 1, 0);
	hfx_run(pool, HTTP_REQUEST, 0, &lim, (uint8_t *)buf, (size_t)n, NULL, 0, &out, &r);
	assert_int_equal(r.err, -HTTP_E_URI_TOO_LONG);
	free(out.p);
	out = (struct hfx_buf){0};
	n = sprintf(buf, H11 "A: 1\r\nB: 2\r\n\r\n");
	hfx_run(pool, HTTP_REQUEST, 0, &lim, (uint8_t *)buf, (size_t)n, NULL, 0, &out, &r);
	assert_int_equal(r.err, 0);
	free(out.p);
	out = (struct hfx_buf){0};
	n = sprintf(buf, H11 "A: 1\r\nB: 2\r\nC: 3\r\n\r\n");
	hfx_run(pool, HTTP_REQUEST, 0, &lim, (uint8_t *)buf, (size_t)n, NULL, 0, &out, &r);
	assert_int_equal(r.err, -HTTP_E_TOO_MANY_HEADERS);
	free(out.p);
	/* a head of exactly 256 bytes, then 257 */
	for (int extra = 0; extra < 2; extra++) {
		out = (struct hfx_buf){0};
		n = sprintf(buf, H11 "X: %0*d\r\n\r\n", 256 - 25 - 7 + extra, 0);
		assert_int_equal(n, 256 + extra);
		hfx_run(pool, HTTP_REQUEST, 0, &lim, (uint8_t *)buf, (size_t)n, NULL, 0, &out, &r);
		assert_int_equal(r.err, extra ? -HTTP_E_HEAD_TOO_LARGE : 0);
		free(out.p);
	}
}

/* ---- splits: every cut gives the verdict of the whole ---- */

static const struct {
	enum http_kind kind;
	enum http_method req;
	const char *in;
} split_cases[] = {
	{HTTP_REQUEST, 0,
	 "GET /index.html?lang=en HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 "
	 "(X11; Linux x86_64)\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: "
	 "en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"
	 "Cookie: a=1; b=2\r\n\r\n"},
	{HTTP_REQUEST, 0,
	 "\r\nPOST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "5;a=b;c=\"q\\\"x\"\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n"
	 "PUT /p HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbodyGET / HTTP/1.0\r\n\r\n"},
	{HTTP_RESPONSE, HTTP_M_GET,
	 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	 "Content-Type: text/plain\r\n\r\na\r\n0123456789\r\n0\r\n\r\n"},
	{HTTP_RESPONSE, HTTP_M_GET, "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nto the end"},
	{HTTP_REQUEST, 0, CH "5\r\nhelloX\r\n"},
	{HTTP_REQUEST, 0, H11 "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{HTTP_REQUEST, 0, H11 "X: a\r\n b\r\n\r\n"},
	{HTTP_REQUEST, 0, "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"},
};

static void test_splits(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(split_cases); i++) {
		const uint8_t *d = (const uint8_t *)split_cases[i].in;
		uint32_t n = (uint32_t)strlen(split_cases[i].in);
		enum http_kind kind = split_cases[i].kind;
		enum http_method req = split_cases[i].req;
		struct hfx_result r;
		char *whole = verdict(kind, req, d, n, NULL, 0, &r);
		assert_int_equal(r.split_lines, 0);
		for (uint32_t c = 1; c < n; c++) {
			char *v = verdict(kind, req, d, n, &c, 1, NULL);
			if (strcmp(v, whole)) {
				print_error("case %u cut at %u:\n%s\nwhole:\n%s\n", i, c, v, whole);
				fail();
			}
			free(v);
		}
		uint32_t *cuts = malloc(n * sizeof(*cuts));
		for (uint32_t c = 1; c < n; c++)
			cuts[c - 1] = c;
		char *v = verdict(kind, req, d, n, cuts, n - 1, &r);
		assert_string_equal(v, whole);
		if (i ==
		    0) /* every line crossed mbufs: all were copied but the last, "\r" + "\n" */
			assert_int_equal(r.split_lines, 8);
		free(v);
		free(cuts);
		free(whole);
	}
	/* every pair of cuts of the first request */
	const uint8_t *d = (const uint8_t *)split_cases[1].in;
	uint32_t n = (uint32_t)strlen(split_cases[1].in);
	char *whole = verdict(HTTP_REQUEST, 0, d, n, NULL, 0, NULL);
	for (uint32_t a = 1; a < n; a++)
		for (uint32_t b = a + 1; b < n; b++) {
			uint32_t cuts[2] = {a, b};
			char *v = verdict(HTTP_REQUEST, 0, d, n, cuts, 2, NULL);
			if (strcmp(v, whole)) {
				print_error("cuts %u %u:\n%s\n", a, b, v);
				fail();
			}
			free(v);
		}
	free(whole);
}

/* a head arriving in pieces: the scan resumes where it stopped, and data appended to the last mbuf counts */
static void test_incremental(void **state)
{
	(void)state;
	static const char req[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_parser p;
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	http_parser_init(&p, HTTP_REQUEST, NULL, scratch, sizeof(scratch), NULL);
	struct http_body_out bo;
	assert_int_equal(http_parse_body(&p, m, 0, &bo, NULL, 0), 1); /* no message yet */
	for (uint32_t i = 0; i < sizeof(req) - 1; i++) {
		*rte_pktmbuf_mtod_offset(m, char *, i) = req[i];
		m->data_len++;
		m->pkt_len++;
		int r = http_parse_head(&p, m, 0);
		assert_int_equal(r, i == sizeof(req) - 2 ? 1 : 0);
		if (r == 0) /* inside the head: no body byte */
			assert_int_equal(http_parse_body(&p, m, 0, &bo, NULL, 0), 0);
	}
	assert_int_equal(p.msg.split_lines, 0);
	assert_true(view_is(p.msg.headers[0].value, "h"));
	rte_pktmbuf_free(m);
}

/* ---- serializer ---- */

static char *flatten(struct rte_mbuf *m, uint32_t *n)
{
	char *s = malloc(m->pkt_len + 1);
	uint32_t k = 0;
	for (struct rte_mbuf *x = m; x; x = x->next) {
		memcpy(s + k, rte_pktmbuf_mtod(x, char *), x->data_len);
		k += x->data_len;
	}
	assert_int_equal(k, m->pkt_len);
	s[k] = '\0';
	*n = k;
	return s;
}

static void test_write_request(void **state)
{
	(void)state;
	static const char in[] =
		"GET http://front.example/old/p?q=1 HTTP/1.1\r\nHost: front.example\r\n"
		"User-Agent: ua\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
		"Keep-Alive: timeout=5\r\nTE: trailers\r\nAccept: */*\r\n\r\n";
	struct http_parser p;
	struct rte_mbuf *m, *out;
	static const struct http_view rm[] = {{"user-agent", 10}};
	static const struct http_header add[] = {{{"x-forwarded-for", 15}, {"10.0.0.1", 8}},
						 {{"x-request-id", 12}, {"abc-123", 7}}};
	struct http_edit ed = {.remove = rm,
			       .nremove = 1,
			       .add = add,
			       .nadd = 2,
			       .path = {"/new/p?q=1", 10},
			       .authority = {"backend:8080", 12},
			       .drop_hop_by_hop = true};

	assert_int_equal(head1(&p, HTTP_REQUEST, NULL, in, &m), 1);
	assert_int_equal(http_write_head(&p.msg, &ed, pool, &out), 0);
	rte_pktmbuf_free(m);
	uint32_t n;
	char *s = flatten(out, &n);
	assert_string_equal(s, "GET /new/p?q=1 HTTP/1.1\r\nHost: backend:8080\r\nAccept: */*\r\n"
			       "x-forwarded-for: 10.0.0.1\r\nx-request-id: abc-123\r\n\r\n");
	/* and it parses again */
	struct http_parser q;
	struct rte_mbuf *m2;
	assert_int_equal(head1(&q, HTTP_REQUEST, NULL, s, &m2), 1);
	assert_true(view_is(q.msg.path, "/new/p"));
	assert_true(view_is(q.msg.authority, "backend:8080"));
	assert_int_equal(q.msg.nheaders, 4);
	rte_pktmbuf_free(m2);
	rte_pktmbuf_free(out);
	free(s);

	/* no edits: absolute form becomes origin form with its authority as Host */
	assert_int_equal(head1(&p, HTTP_REQUEST, NULL, in, &m), 1);
	assert_int_equal(http_write_head(&p.msg, NULL, pool, &out), 0);
	s = flatten(out, &n);
	assert_non_null(
		strstr(s, "GET /old/p?q=1 HTTP/1.1\r\nHost: front.example\r\nUser-Agent: ua\r\n"));
	assert_null(strstr(s + 30, "Host:"));
	rte_pktmbuf_free(out);
	free(s);

	/* more Connection options than gathered at once: the fields they name go all the same */
	static char many[2048];
	int k = sprintf(many, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close");
	for (int i = 0; i < 20; i++)
		k += sprintf(many + k, ", x-%d", i);
	k += sprintf(many + k, "\r\nConnection: x-last\r\n");
	for (int i = 0; i < 20; i++)
		k += sprintf(many + k, "X-%d: v\r\n", i);
	sprintf(many + k, "X-Last: v\r\nX-Kept: v\r\n\r\n");
	struct http_parser q2;
	struct rte_mbuf *m3;
	struct http_edit hop = {.drop_hop_by_hop = true};
	assert_int_equal(head1(&q2, HTTP_REQUEST, NULL, many, &m3), 1);
	assert_int_equal(http_write_head(&q2.msg, &hop, pool, &out), 0);
	s = flatten(out, &n);
	assert_string_equal(s, "GET / HTTP/1.1\r\nHost: h\r\nX-Kept: v\r\n\r\n");
	free(s);
	rte_pktmbuf_free(out);
	rte_pktmbuf_free(m3);

	/* an edit with CRLF in it is refused */
	static const struct http_header evil[] = {{{"x", 1}, {"a\r\nInjected: 1", 14}}};
	struct http_edit bad = {.add = evil, .nadd = 1};
	assert_int_equal(http_write_head(&p.msg, &bad, pool, &out), -EINVAL);
	static const struct http_header evil2[] = {{{"x y", 3}, {"a", 1}}};
	bad.add = evil2;
	assert_int_equal(http_write_head(&p.msg, &bad, pool, &out), -EINVAL);
	rte_pktmbuf_free(m);
}

/* every message of the split cases: parse, write with no edit, parse again: the same verdict */
/*
 * What an HTTP/1.0 client's request and response become through the proxy
 * (http_proxy.c): the request goes up as HTTP/1.1 with a Host and without the
 * client's Connection; a chunked response comes down as its data alone (no
 * transfer-encoding, delimited by the close).
 */
static void test_http10_proxying(void **state)
{
	(void)state;
	static const char ka[] = "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
				   "Content-Type: text/plain\r\n\r\n"
				   "3\r\nabc\r\n3;ext=1\r\ndef\r\n0\r\nX-T: 1\r\n\r\n";
	static const struct http_view rm[] = {{"transfer-encoding", 17}};
	static const struct http_header close[] = {{{"connection", 10}, {"close", 5}}};
	struct http_parser p, q;
	struct rte_mbuf *m, *m2, *out, *data = NULL;
	struct http_body_out bo;
	struct http_slice sl[4];
	uint32_t n, off;
	char *str;

	/* 1.0 with keep-alive persists; without it, it does not */
	assert_int_equal(head1(&p, HTTP_REQUEST, NULL, ka, &m), 1);
	assert_int_equal(p.msg.version, 10);
	assert_true(p.msg.flags & HTTP_F_KEEP_ALIVE);
	assert_int_equal(p.msg.authority.len, 0);
	struct http_edit up = {
		.authority = {"10.0.0.1:80", 11}, .drop_hop_by_hop = true, .version = 11};
	assert_int_equal(http_write_head(&p.msg, &up, pool, &out), 0);
	rte_pktmbuf_free(m);
	str = flatten(out, &n);
	assert_string_equal(str, "GET /a HTTP/1.1\r\nHost: 10.0.0.1:80\r\n\r\n");
	assert_int_equal(head1(&q, HTTP_REQUEST, NULL, str, &m2), 1); /* a valid 1.1 request */
	assert_int_equal(q.msg.version, 11);
	rte_pktmbuf_free(m2);
	rte_pktmbuf_free(out);
	free(str);
	assert_int_equal(head1(&p, HTTP_REQUEST, NULL, "GET / HTTP/1.0\r\n\r\n", &m), 1);
	assert_false(p.msg.flags & HTTP_F_KEEP_ALIVE);
	rte_pktmbuf_free(m);

	/* the chunked response: head without transfer-encoding, then the data alone */
	assert_int_equal(head1(&p, HTTP_RESPONSE, NULL, resp, &m), 1);
	assert_int_equal(p.msg.framing, HTTP_BODY_CHUNKED);
	struct http_edit down = {.remove = rm, .nremove = 1, .add = close, .nadd = 1};
	assert_int_equal(http_write_head(&p.msg, &down, pool, &out), 0);
	str = flatten(out, &n);
	assert_string_equal(str, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				 "connection: close\r\n\r\n");
	rte_pktmbuf_free(out);
	free(str);
	off = p.msg.head_len;
	assert_int_equal(http_parse_body(&p, m, off, &bo, sl, RTE_DIM(sl)), 1);
	assert_int_equal(bo.nslices, 2);
	assert_int_equal(off + bo.raw, sizeof(resp) - 1);
	assert_int_equal(http_slices_copy(sl, bo.nslices, pool, &data), 0);
	str = flatten(data, &n);
	assert_int_equal(n, 6);
	assert_memory_equal(str, "abcdef", 6);
	free(str);
	rte_pktmbuf_free(data);
	/* no slices: no chain */
	assert_int_equal(http_slices_copy(sl, 0, pool, &data), 0);
	assert_null(data);
	rte_pktmbuf_free(m);
}

static void test_write_roundtrip(void **state)
{
	(void)state;
	const char *const heads[] = {
		split_cases[0].in,
		"POST /c HTTP/1.0\r\nContent-Length: 0\r\nX-Empty:\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nSet-Cookie: a=b\r\n\r\n",
		"HTTP/1.0 404 \r\n\r\n",
	};
	for (unsigned int i = 0; i < RTE_DIM(heads); i++) {
		enum http_kind kind = heads[i][0] == 'H' ? HTTP_RESPONSE : HTTP_REQUEST;
		struct http_parser p;
		struct rte_mbuf *m, *out;
		uint32_t n;
		assert_int_equal(head1(&p, kind, NULL, heads[i], &m), 1);
		assert_int_equal(http_write_head(&p.msg, NULL, pool, &out), 0);
		char *s = flatten(out, &n);
		char *a = verdict(kind, HTTP_M_GET, (const uint8_t *)heads[i], strlen(heads[i]),
				  NULL, 0, NULL);
		char *b = verdict(kind, HTTP_M_GET, (const uint8_t *)s, n, NULL, 0, NULL);
		/* the written head differs only in spacing after the colon */
		if (strcmp(a, b)) {
			print_error("%s\nwritten as\n%s\n", heads[i], s);
			fail();
		}
		free(a);
		free(b);
		free(s);
		rte_pktmbuf_free(out);
		rte_pktmbuf_free(m);
	}

	/* a head larger than one mbuf is written as a chain */
	static char big[10000];
	int n = sprintf(big, H11);
	for (int k = 0; k < 50; k++)
		n += sprintf(big + n, "X-%02d: %0100d\r\n", k, k);
	n += sprintf(big + n, "\r\n");
	struct http_parser p;
	struct rte_mbuf *out, *chain = NULL;
	for (int at = 0; at < n; at += 1500)
		hfx_append(&chain,
			   hfx_mbuf(pool, (uint8_t *)big + at, (uint32_t)RTE_MIN(1500, n - at)));
	http_parser_init(&p, HTTP_REQUEST, NULL, scratch, sizeof(scratch), NULL);
	assert_int_equal(http_parse_head(&p, chain, 0), 1);
	assert_int_equal(http_write_head(&p.msg, NULL, pool, &out), 0);
	assert_true(out->nb_segs > 1);
	uint32_t len;
	char *s = flatten(out, &len);
	assert_int_equal(len, (uint32_t)n);
	assert_memory_equal(s, big, (size_t)n);
	free(s);
	rte_pktmbuf_free(out);
	rte_pktmbuf_free(chain);
}

static void test_chunk_header(void **state)
{
	(void)state;
	char buf[HTTP_CHUNK_HDR_MAX];
	uint32_t n;

	n = http_chunk_header(buf, 0x1a2b, false);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "1a2b\r\n", 6);
	n = http_chunk_header(buf, 1, true);
	assert_memory_equal(buf, "\r\n1\r\n", n);
	n = http_chunk_header(buf, 0, true);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "\r\n0\r\n\r\n", 7);
	n = http_chunk_header(buf, UINT64_MAX, true);
	assert_int_equal(n, 2 + 16 + 2);
	assert_memory_equal(buf, "\r\nffffffffffffffff\r\n", n);

	/* a body re-chunked with them parses back to the same data */
	static char msg[512];
	int k = sprintf(msg, CH);
	const char *parts[] = {"abc", "defghijklmnopqrstuvwxyz0123", "!"};
	for (unsigned int i = 0; i < 3; i++) {
		k += (int)http_chunk_header(msg + k, strlen(parts[i]), i > 0);
		k += sprintf(msg + k, "%s", parts[i]);
	}
	k += (int)http_chunk_header(msg + k, 0, true);
	struct hfx_result r;
	char *v = verdict(HTTP_REQUEST, 0, (uint8_t *)msg, (size_t)k, NULL, 0, &r);
	assert_int_equal(r.err, 0);
	expect_in(v, "\"body\":\"abcdefghijklmnopqrstuvwxyz0123!\"");
	free(v);
}

/* ---- chain cuts ---- */

static struct rte_mbuf *chain_of(const char *s, uint32_t piece)
{
	struct rte_mbuf *c = NULL;
	uint32_t n = (uint32_t)strlen(s);
	for (uint32_t at = 0; at < n; at += piece)
		hfx_append(&c, hfx_mbuf(pool, (const uint8_t *)s + at, RTE_MIN(piece, n - at)));
	return c;
}

/* Trailer lines kept as slices (http_parser_keep_trailers()), the input cut
 * into pieces of every size: the slices fill up and the calls go on. */
static void test_chunked_trailers_kept(void **state)
{
	(void)state;
	static const char in[] = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-Other: two words\r\n\r\n"
				 "GET /next HTTP/1.1\r\n";
	static const char want[] = "X-Sum: 1\r\nX-Other: two words\r\n";
	const uint32_t n = sizeof(in) - 1, next = (uint32_t)(strstr(in, "GET /next") - in);

	for (uint32_t piece = 1; piece <= n; piece++) {
		struct rte_mbuf *c = chain_of(in, piece);
		struct http_trailer_out tr = {0};
		struct http_parser p;
		struct http_body_out bo;
		char got[128];
		uint32_t off, glen = 0, calls = 0;
		int r = 0;

		http_parser_init(&p, HTTP_REQUEST, NULL, scratch, sizeof(scratch), NULL);
		http_parser_keep_trailers(&p, &tr);
		assert_int_equal(http_parse_head(&p, c, 0), 1);
		off = p.msg.head_len;
		while (r == 0) {
			r = http_parse_body(&p, c, off, &bo, NULL, 0);
			assert_true(r >= 0);
			for (uint32_t i = 0; i < tr.n; i++) {
				assert_true(glen + tr.s[i].len <= sizeof(got));
				memcpy(got + glen,
				       rte_pktmbuf_mtod_offset(tr.s[i].m, char *, tr.s[i].off),
				       tr.s[i].len);
				glen += tr.s[i].len;
			}
			tr.n = 0;
			off += (uint32_t)bo.raw;
			assert_true(++calls < 200);
		}
		assert_int_equal(off, next);
		assert_int_equal(glen, sizeof(want) - 1);
		assert_memory_equal(got, want, glen);
		assert_true(p.msg.flags & HTTP_F_TRAILERS);
		rte_pktmbuf_free(c);
	}
	/* not asked for: nothing kept (a parser re-initialised forgets it) */
	{
		struct rte_mbuf *c = chain_of(in, 7);
		struct http_parser p;
		struct http_body_out bo;

		http_parser_init(&p, HTTP_REQUEST, NULL, scratch, sizeof(scratch), NULL);
		assert_int_equal(http_parse_head(&p, c, 0), 1);
		assert_int_equal(http_parse_body(&p, c, p.msg.head_len, &bo, NULL, 0), 1);
		assert_int_equal(p.msg.head_len + bo.raw, next);
		rte_pktmbuf_free(c);
	}
}

static void test_chain_cuts(void **state)
{
	(void)state;
	static const char s[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	const uint32_t n = sizeof(s) - 1;
	unsigned int avail = rte_mempool_avail_count(pool);

	for (uint32_t piece = 1; piece <= n; piece += 5)
		for (uint32_t cut = 1; cut <= n; cut++) {
			struct rte_mbuf *c = chain_of(s, piece), *rest;
			uint32_t len;
			assert_int_equal(http_chain_split(c, cut, pool, &rest), 0);
			char *a = flatten(c, &len);
			assert_int_equal(len, cut);
			assert_memory_equal(a, s, cut);
			unsigned int segs = 0;
			for (struct rte_mbuf *x = c; x; x = x->next)
				segs++;
			assert_int_equal(c->nb_segs, segs);
			if (cut == n) {
				assert_null(rest);
			} else {
				char *b = flatten(rest, &len);
				assert_int_equal(len, n - cut);
				assert_memory_equal(b, s + cut, n - cut);
				segs = 0;
				for (struct rte_mbuf *x = rest; x; x = x->next)
					segs++;
				assert_int_equal(rest->nb_segs, segs);
				/* no shared buffer */
				for (struct rte_mbuf *x = rest; x; x = x->next)
					for (struct rte_mbuf *y = c; y; y = y->next)
						assert_ptr_not_equal(x->buf_addr, y->buf_addr);
				free(b);
				rte_pktmbuf_free(rest);
			}
			free(a);
			rte_pktmbuf_free(c);

			c = chain_of(s, piece);
			struct rte_mbuf *d = http_chain_drop(c, cut);
			if (cut == n) {
				assert_null(d);
			} else {
				char *b = flatten(d, &len);
				assert_int_equal(len, n - cut);
				assert_memory_equal(b, s + cut, n - cut);
				free(b);
				rte_pktmbuf_free(d);
			}
		}
	struct rte_mbuf *c = chain_of(s, 7), *rest;
	assert_int_equal(http_chain_split(c, 0, pool, &rest), -EINVAL);
	assert_int_equal(http_chain_split(c, n + 1, pool, &rest), -EINVAL);
	rte_pktmbuf_free(c);
	assert_int_equal(rte_mempool_avail_count(pool), avail);
}

static int setup(void **state)
{
	(void)state;
	pool = rte_pktmbuf_pool_create("test_http", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	return pool ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rte_mempool_free(pool);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_post_length_pipelined),
		cmocka_unit_test(test_chunked_request),
		cmocka_unit_test(test_chunked_slices),
		cmocka_unit_test(test_chunked_trailers_kept),
		cmocka_unit_test(test_expect_upgrade_connect),
		cmocka_unit_test(test_target_forms),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_splits),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_write_request),
		cmocka_unit_test(test_http10_proxying),
		cmocka_unit_test(test_write_roundtrip),
		cmocka_unit_test(test_chunk_header),
		cmocka_unit_test(test_chain_cuts),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
