/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the HTTP/2 framing layer (dataplane/h2) against an nghttp2
 * client session, bytes passed by hand both ways: a request's fields (pseudo
 * ones first), body and end reach the callbacks and a response with a body
 * read through the read callback reaches the client, deferred until resumed;
 * the stream window stays shut until the caller consumes the DATA; a header
 * list over the limit is flagged and counted, the connection staying usable;
 * a connection-specific field resets the stream; rapid reset and a PING flood
 * close the connection with GOAWAY ENHANCE_YOUR_CALM and their counters; a
 * drain sends GOAWAY NO_ERROR and lets the open stream finish; the
 * allocator's count goes back to zero-ish after streams end. The client side
 * (h2_client_create()) against this layer's server: a request's fields and
 * body arrive as sent, the response's head and trailers come as two header
 * blocks, the peer's MAX_CONCURRENT_STREAMS and GOAWAY bound new streams
 * while the one in flight finishes, an upstream's RST_STREAM is counted as
 * such. A CONTINUATION flood closes the connection with its counter; a
 * response that a closed stream window keeps from moving is reset after the
 * stall limit, one that a closed connection window keeps closes the
 * connection with GOAWAY, and an opened window ends a stall. A request's
 * trailer section comes through the trailer callback before end_stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nghttp2/nghttp2.h>
#include <rte_common.h>

#include "dataplane/h2/h2.h"
#include "dataplane/stats/stats.h"

/* ---- the server's side: what the callbacks saw ---- */

struct srv_stream {
	int32_t id;
	char fields[4096];
	size_t flen;
	unsigned int hdr_flags;
	bool headers_done, ended, closed;
	char trailers[256];
	size_t tlen;
	uint32_t close_code;
	size_t data;
	const char *body; /* the response body to read */
	size_t body_len, body_off;
	bool body_ready;
	struct h2_stall stall; /* told what the read callback gave, as the proxy does */
};

struct srv {
	struct stats_block st;
	struct h2_conn *c;
	struct srv_stream s[64];
	int n;
};

static void *s_open(void *arg, int32_t id)
{
	struct srv *sv = arg;
	struct srv_stream *ss = &sv->s[sv->n++ % 64];

	memset(ss, 0, sizeof(*ss));
	ss->id = id;
	return ss;
}

static int s_header(void *arg, void *st, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
	struct srv_stream *ss = st;

	(void)arg;
	ss->flen += (size_t)snprintf(ss->fields + ss->flen, sizeof(ss->fields) - ss->flen,
				     "%.*s=%.*s;", (int)nl, n, (int)RTE_MIN(vl, (size_t)64), v);
	return 0;
}

static void s_trailer(void *arg, void *st, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
	struct srv_stream *ss = st;

	(void)arg;
	ss->tlen += (size_t)snprintf(ss->trailers + ss->tlen, sizeof(ss->trailers) - ss->tlen,
				     "%.*s=%.*s;", (int)nl, n, (int)vl, v);
}

static void s_done(void *arg, void *st, unsigned int flags)
{
	struct srv_stream *ss = st;

	(void)arg;
	ss->headers_done = true;
	ss->hdr_flags = flags;
}

static void s_data(void *arg, void *st, const uint8_t *p, size_t len)
{
	(void)arg;
	(void)p;
	((struct srv_stream *)st)->data += len;
}

static void s_end(void *arg, void *st)
{
	(void)arg;
	((struct srv_stream *)st)->ended = true;
}

static void s_closed(void *arg, void *st, uint32_t code)
{
	struct srv_stream *ss = st;

	(void)arg;
	ss->closed = true;
	ss->close_code = code;
}

static size_t s_read(void *arg, void *st, uint8_t *buf, size_t len, bool *eof)
{
	struct srv_stream *ss = st;
	size_t n;

	(void)arg;
	if (!ss->body_ready)
		return 0;
	n = RTE_MIN(len, ss->body_len - ss->body_off);
	memcpy(buf, ss->body + ss->body_off, n);
	ss->body_off += n;
	*eof = ss->body_off == ss->body_len;
	h2_stall_sent(&ss->stall, n);
	return n;
}

static const struct h2_callbacks srv_cbs = {
	.stream_open = s_open,
	.header = s_header,
	.headers_done = s_done,
	.data = s_data,
	.trailer = s_trailer,
	.end_stream = s_end,
	.closed = s_closed,
	.read = s_read,
};

/* ---- the client: an nghttp2 client session ---- */

struct cli {
	nghttp2_session *s;
	int status;
	size_t body;
	bool ended;
	uint32_t rst_code;
	bool got_rst;
	int goaway;	   /* -1: none */
	const uint8_t *up; /* request body to send */
	size_t up_len, up_off;
};

static int c_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *n, size_t nl,
		    const uint8_t *v, size_t vl, uint8_t flags, void *ud)
{
	struct cli *c = ud;

	(void)s;
	(void)f;
	(void)flags;
	if (nl == 7 && memcmp(n, ":status", 7) == 0)
		c->status = atoi((const char *)v) + 0 * (int)vl;
	return 0;
}

static int c_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *p, size_t len,
		  void *ud)
{
	(void)s;
	(void)flags;
	(void)id;
	(void)p;
	((struct cli *)ud)->body += len;
	return 0;
}

static int c_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct cli *c = ud;

	(void)s;
	if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		c->ended = true;
	if (f->hd.type == NGHTTP2_RST_STREAM) {
		c->got_rst = true;
		c->rst_code = f->rst_stream.error_code;
	}
	if (f->hd.type == NGHTTP2_GOAWAY)
		c->goaway = (int)f->goaway.error_code;
	return 0;
}

static ssize_t c_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
		      nghttp2_data_source *src, void *ud)
{
	struct cli *c = ud;
	size_t n = RTE_MIN(len, c->up_len - c->up_off);

	(void)s;
	(void)id;
	(void)src;
	if (c->up == NULL)
		return NGHTTP2_ERR_DEFERRED; /* a body that never comes */
	memcpy(buf, c->up + c->up_off, n);
	c->up_off += n;
	if (c->up_off == c->up_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static void cli_init(struct cli *c)
{
	nghttp2_session_callbacks *cb;

	memset(c, 0, sizeof(*c));
	c->goaway = -1;
	assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_on_header_callback(cb, c_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_frame);
	assert_int_equal(nghttp2_session_client_new(&c->s, cb, c), 0);
	nghttp2_session_callbacks_del(cb);
	assert_int_equal(nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

#define NV(n, v)                                                                               \
	{                                                                                      \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE \
	}

static int32_t cli_get(struct cli *c, const char *path, const nghttp2_nv *extra, size_t n_extra,
		       bool body)
{
	nghttp2_nv nv[16] = {NV(":method", body ? "POST" : "GET"), NV(":scheme", "http"),
			     NV(":path", path), NV(":authority", "shop.example")};
	nghttp2_data_provider dp = {.read_callback = c_read};

	for (size_t i = 0; i < n_extra; i++)
		nv[4 + i] = extra[i];
	return nghttp2_submit_request(c->s, NULL, nv, 4 + n_extra, body ? &dp : NULL, NULL);
}

/* Client -> server until the client has nothing to send. @return the server's last verdict. */
static int to_server(struct cli *c, struct srv *sv, uint64_t now_us)
{
	const uint8_t *p;
	ssize_t n;
	int rc = 0;

	while ((n = nghttp2_session_mem_send(c->s, &p)) > 0)
		if (h2_conn_recv(sv->c, p, (size_t)n, now_us) != 0)
			rc = -1;
	return rc;
}

/* Server -> client until the server has nothing to send. */
static void to_client(struct srv *sv, struct cli *c)
{
	const uint8_t *p;
	ssize_t n;

	while ((n = h2_conn_send(sv->c, &p)) > 0)
		assert_int_equal(nghttp2_session_mem_recv(c->s, p, (size_t)n), n);
}

static void srv_init(struct srv *sv, const struct h2_limits *lim)
{
	memset(sv, 0, sizeof(*sv));
	sv->c = h2_conn_create(lim, &srv_cbs, sv, &sv->st);
	assert_non_null(sv->c);
	assert_int_equal(stats_read(&sv->st, STAT_H2_CONNECTIONS), 1);
}

static void pair_free(struct srv *sv, struct cli *c)
{
	h2_conn_free(sv->c);
	nghttp2_session_del(c->s);
}

/* ---- tests ---- */

static void test_request_response(void **state)
{
	static char body[100000];
	static uint8_t up[30000];
	struct h2_field f[] = {{"content-type", 12, "text/plain", 10}};
	struct srv sv;
	struct cli c;
	struct srv_stream *ss;
	int32_t id;

	(void)state;
	srv_init(&sv, &(struct h2_limits){0});
	cli_init(&c);
	c.up = up;
	c.up_len = sizeof(up);
	id = cli_get(&c, "/a?b=1", (nghttp2_nv[]){NV("x-one", "1")}, 1, true);
	assert_true(id > 0);
	assert_int_equal(to_server(&c, &sv, 1), 0);
	assert_int_equal(sv.n, 1);
	ss = &sv.s[0];
	assert_true(ss->headers_done);
	assert_int_equal(ss->hdr_flags, 0); /* a body follows */
	/* pseudo-headers first, as they came */
	assert_string_equal(
		ss->fields,
		":method=POST;:scheme=http;:path=/a?b=1;:authority=shop.example;x-one=1;");
	assert_int_equal(ss->data, sizeof(up));
	assert_true(ss->ended);
	assert_int_equal(stats_read(&sv.st, STAT_H2_STREAMS), 1);
	/* the response body is deferred until it is ready, then read whole */
	memset(body, 'b', sizeof(body));
	ss->body = body;
	ss->body_len = sizeof(body);
	assert_int_equal(h2_respond(sv.c, id, 200, f, 1, true), 0);
	to_client(&sv, &c);
	assert_int_equal(c.status, 200);
	assert_int_equal(c.body, 0);
	assert_false(c.ended);
	ss->body_ready = true;
	h2_stream_resume(sv.c, id);
	for (int i = 0; i < 10 && !c.ended; i++) {
		to_client(&sv, &c);
		to_server(&c, &sv, 2); /* the client's WINDOW_UPDATEs */
	}
	assert_true(c.ended);
	assert_int_equal(c.body, sizeof(body));
	assert_true(ss->closed);
	assert_int_equal(ss->close_code, H2_NO_ERROR);
	assert_true(h2_conn_mem(sv.c) > 0);
	pair_free(&sv, &c);
}

static void test_window_follows_consume(void **state)
{
	static uint8_t up[200000];
	struct srv sv;
	struct cli c;
	int32_t id;

	(void)state;
	srv_init(&sv,
		 &(struct h2_limits){.initial_window_size = 65535, .connection_window = 131070});
	cli_init(&c);
	c.up = up;
	c.up_len = sizeof(up);
	id = cli_get(&c, "/up", NULL, 0, true);
	to_server(&c, &sv, 1);
	to_client(&sv, &c);
	to_server(&c, &sv, 1);
	/* unconsumed: the client is stuck at one stream window */
	assert_int_equal(sv.s[0].data, 65535);
	assert_int_equal(nghttp2_session_get_stream_remote_window_size(c.s, id), 0);
	h2_stream_consume(sv.c, id, 40000);
	to_client(&sv, &c);
	assert_true(nghttp2_session_get_stream_remote_window_size(c.s, id) > 0);
	to_server(&c, &sv, 1);
	assert_true(sv.s[0].data > 65535);
	assert_true(sv.s[0].data <= 65535 + 40000);
	/* the client resets it: what it held, consumed after the close, opens the
	 * connection's window again */
	nghttp2_submit_rst_stream(c.s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
	to_server(&c, &sv, 1);
	assert_true(sv.s[0].closed);
	assert_int_equal(sv.s[0].close_code, NGHTTP2_CANCEL);
	h2_stream_consume(sv.c, id, sv.s[0].data - 40000);
	to_client(&sv, &c);
	assert_int_equal(nghttp2_session_get_remote_window_size(c.s), 131070);
	pair_free(&sv, &c);
}

static void test_header_list_limit(void **state)
{
	static char big[6000];
	struct srv sv;
	struct cli c;

	(void)state;
	memset(big, 'v', sizeof(big) - 1);
	srv_init(&sv, &(struct h2_limits){.max_header_list_size = 4096});
	cli_init(&c);
	cli_get(&c, "/big", (nghttp2_nv[]){NV("x-big", big)}, 1, false);
	assert_int_equal(to_server(&c, &sv, 1), 0);
	assert_true(sv.s[0].headers_done);
	assert_int_equal(sv.s[0].hdr_flags, H2_HDRS_END_STREAM | H2_HDRS_TOO_LARGE);
	assert_null(strstr(sv.s[0].fields, "x-big"));
	assert_int_equal(stats_read(&sv.st, STAT_H2_HEADERS_TOO_LARGE), 1);
	/* the connection goes on: HPACK stayed in sync */
	cli_get(&c, "/small", (nghttp2_nv[]){NV("x-s", "1")}, 1, false);
	assert_int_equal(to_server(&c, &sv, 1), 0);
	assert_int_equal(sv.s[1].hdr_flags, H2_HDRS_END_STREAM);
	assert_non_null(strstr(sv.s[1].fields, "x-s=1;"));
	assert_int_equal(stats_read(&sv.st, STAT_H2_HEADERS_TOO_LARGE), 1);
	pair_free(&sv, &c);
}

static void test_connection_specific_field(void **state)
{
	struct srv sv;
	struct cli c;
	nghttp2_option *opt;
	nghttp2_session_callbacks *cb;

	(void)state;
	srv_init(&sv, &(struct h2_limits){0});
	cli_init(&c);
	/* a client that does not check what it sends */
	nghttp2_session_del(c.s);
	nghttp2_option_new(&opt);
	nghttp2_option_set_no_http_messaging(opt, 1);
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_frame);
	assert_int_equal(nghttp2_session_client_new2(&c.s, cb, &c, opt), 0);
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	nghttp2_submit_settings(c.s, NGHTTP2_FLAG_NONE, NULL, 0);
	cli_get(&c, "/", (nghttp2_nv[]){NV("connection", "keep-alive")}, 1, false);
	assert_int_equal(to_server(&c, &sv, 1), 0);
	to_client(&sv, &c);
	assert_true(c.got_rst);
	assert_int_equal(c.rst_code, H2_PROTOCOL_ERROR);
	assert_false(sv.n > 0 && sv.s[0].headers_done);
	assert_int_equal(stats_read(&sv.st, STAT_H2_STREAM_ERRORS), 1);
	pair_free(&sv, &c);
}

static void test_rapid_reset(void **state)
{
	struct srv sv;
	struct cli c;
	int rc = 0;

	(void)state;
	srv_init(&sv, &(struct h2_limits){.max_resets_per_s = 20, .max_concurrent_streams = 1000});
	cli_init(&c);
	/* 20 in one second are allowed (each HEADERS sent before its reset, or
	 * the client would drop both) */
	for (int i = 0; i < 20; i++) {
		int32_t id = cli_get(&c, "/", NULL, 0, false);

		assert_int_equal(to_server(&c, &sv, 1000000), 0);
		nghttp2_submit_rst_stream(c.s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
	}
	assert_int_equal(to_server(&c, &sv, 1000000), 0);
	/* a second later, 21 more: over */
	for (int i = 0; i < 21; i++) {
		int32_t id = cli_get(&c, "/", NULL, 0, false);

		rc |= to_server(&c, &sv, 2000001);
		nghttp2_submit_rst_stream(c.s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
	}
	assert_int_equal(rc, 0);
	rc = to_server(&c, &sv, 2000001);
	assert_int_equal(rc, -1);
	assert_int_equal(stats_read(&sv.st, STAT_H2_RESETS_RECEIVED), 41);
	assert_int_equal(stats_read(&sv.st, STAT_H2_RAPID_RESET_CLOSED), 1);
	to_client(&sv, &c);
	assert_int_equal(c.goaway, H2_ENHANCE_YOUR_CALM);
	assert_true(h2_conn_done(sv.c));
	pair_free(&sv, &c);
}

static void test_ping_flood(void **state)
{
	struct srv sv;
	struct cli c;

	(void)state;
	srv_init(&sv, &(struct h2_limits){.max_control_per_s = 50});
	cli_init(&c);
	for (int i = 0; i < 60; i++)
		nghttp2_submit_ping(c.s, NGHTTP2_FLAG_NONE, NULL);
	assert_int_equal(to_server(&c, &sv, 1), -1);
	assert_int_equal(stats_read(&sv.st, STAT_H2_CONTROL_FLOOD_CLOSED), 1);
	to_client(&sv, &c);
	assert_int_equal(c.goaway, H2_ENHANCE_YOUR_CALM);
	pair_free(&sv, &c);
}

static void test_empty_data_flood(void **state)
{
	struct srv sv;
	struct cli c;
	uint8_t out[9 * 40];
	int32_t id;

	(void)state;
	srv_init(&sv, &(struct h2_limits){.max_empty_data_per_s = 30});
	cli_init(&c);
	id = cli_get(&c, "/", NULL, 0, true); /* its body: deferred */
	assert_int_equal(to_server(&c, &sv, 1), 0);
	/* 40 empty DATA frames without END_STREAM on the open stream, by hand */
	for (int i = 0; i < 40; i++) {
		uint8_t *f = out + 9 * i;

		memset(f, 0, 9);
		f[3] = NGHTTP2_DATA;
		f[5] = (uint8_t)(id >> 24);
		f[6] = (uint8_t)(id >> 16);
		f[7] = (uint8_t)(id >> 8);
		f[8] = (uint8_t)id;
	}
	assert_int_equal(h2_conn_recv(sv.c, out, sizeof(out), 1), -1);
	assert_int_equal(stats_read(&sv.st, STAT_H2_EMPTY_DATA_FLOOD_CLOSED), 1);
	to_client(&sv, &c);
	assert_int_equal(c.goaway, H2_ENHANCE_YOUR_CALM);
	pair_free(&sv, &c);
}

static void test_drain(void **state)
{
	static char body[] = "drained\n";
	struct srv sv;
	struct cli c;
	int32_t id;

	(void)state;
	srv_init(&sv, &(struct h2_limits){0});
	cli_init(&c);
	id = cli_get(&c, "/", NULL, 0, false);
	to_server(&c, &sv, 1);
	h2_conn_drain(sv.c);
	assert_int_equal(stats_read(&sv.st, STAT_H2_GOAWAY_DRAIN), 1);
	to_client(&sv, &c);
	assert_int_equal(c.goaway, H2_NO_ERROR);
	assert_false(h2_conn_done(sv.c)); /* the stream is still open */
	sv.s[0].body = body;
	sv.s[0].body_len = strlen(body);
	sv.s[0].body_ready = true;
	assert_int_equal(h2_respond(sv.c, id, 200, NULL, 0, true), 0);
	to_client(&sv, &c);
	assert_true(c.ended);
	assert_int_equal(c.body, strlen(body));
	assert_true(h2_conn_done(sv.c));
	pair_free(&sv, &c);
}

/* ---- the client side: h2_client_create() against this layer's server ---- */

struct up_stream {
	char fields[2048];
	size_t flen;
	int blocks; /* header blocks (the head, then trailers) */
	size_t data;
	bool ended, closed;
	uint32_t close_code;
	const char *body;
	size_t body_len, body_off;
};

static int u_header(void *arg, void *st, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
	struct up_stream *us = st;

	(void)arg;
	us->flen += (size_t)snprintf(us->fields + us->flen, sizeof(us->fields) - us->flen,
				     "%.*s=%.*s;", (int)nl, n, (int)vl, v);
	return 0;
}

static void u_done(void *arg, void *st, unsigned int flags)
{
	struct up_stream *us = st;

	(void)arg;
	(void)flags;
	us->blocks++;
	us->flen += (size_t)snprintf(us->fields + us->flen, sizeof(us->fields) - us->flen, "|");
}

static void u_data(void *arg, void *st, const uint8_t *p, size_t len)
{
	(void)arg;
	(void)p;
	((struct up_stream *)st)->data += len;
}

static void u_end(void *arg, void *st)
{
	(void)arg;
	((struct up_stream *)st)->ended = true;
}

static void u_closed(void *arg, void *st, uint32_t code)
{
	struct up_stream *us = st;

	(void)arg;
	us->closed = true;
	us->close_code = code;
}

static size_t u_read(void *arg, void *st, uint8_t *buf, size_t len, bool *eof)
{
	struct up_stream *us = st;
	size_t n = RTE_MIN(len, us->body_len - us->body_off);

	(void)arg;
	memcpy(buf, us->body + us->body_off, n);
	us->body_off += n;
	*eof = us->body_off == us->body_len;
	return n;
}

static const struct h2_callbacks up_cbs = {
	.header = u_header,
	.headers_done = u_done,
	.data = u_data,
	.end_stream = u_end,
	.closed = u_closed,
	.read = u_read,
};

/* The server's streams answer with trailers (grpc-status) after their body. */
static size_t s_trailers(void *arg, void *st, const struct h2_field **f)
{
	static const struct h2_field t[] = {{"grpc-status", 11, "0", 1},
					    {"grpc-message", 12, "ok", 2}};

	(void)arg;
	(void)st;
	*f = t;
	return RTE_DIM(t);
}

static const struct h2_callbacks srv_trailer_cbs = {
	.stream_open = s_open,
	.header = s_header,
	.headers_done = s_done,
	.data = s_data,
	.end_stream = s_end,
	.closed = s_closed,
	.read = s_read,
	.trailers = s_trailers,
};

/* Move what @p from has to send into @p to, both this layer's, until both are quiet. */
static void shuttle(struct h2_conn *a, struct h2_conn *b)
{
	for (int round = 0; round < 20; round++) {
		bool moved = false;
		const uint8_t *p;
		ssize_t n;

		while ((n = h2_conn_send(a, &p)) > 0) {
			assert_int_equal(h2_conn_recv(b, p, (size_t)n, 1), 0);
			moved = true;
		}
		while ((n = h2_conn_send(b, &p)) > 0) {
			assert_int_equal(h2_conn_recv(a, p, (size_t)n, 1), 0);
			moved = true;
		}
		if (!moved)
			return;
	}
}

static void test_client_request_trailers(void **state)
{
	static char body[5000], rbody[] = "response body";
	struct h2_field f[] = {{":method", 7, "POST", 4},
			       {":scheme", 7, "http", 4},
			       {":authority", 10, "up.test", 7},
			       {":path", 5, "/svc/Method", 11},
			       {"content-type", 12, "application/grpc", 16},
			       {"te", 2, "trailers", 8}};
	struct stats_block cst;
	struct up_stream us = {.body = body, .body_len = sizeof(body)};
	struct h2_conn *cl;
	struct srv sv;
	int32_t id;

	(void)state;
	memset(&cst, 0, sizeof(cst));
	memset(body, 'q', sizeof(body));
	memset(&sv, 0, sizeof(sv));
	sv.c = h2_conn_create(&(struct h2_limits){.max_concurrent_streams = 2}, &srv_trailer_cbs,
			      &sv, &sv.st);
	cl = h2_client_create(&(struct h2_limits){0}, &up_cbs, NULL, &cst);
	assert_non_null(sv.c);
	assert_non_null(cl);
	assert_int_equal(stats_read(&cst, STAT_H2_CONNECTIONS), 0);
	id = h2_request(cl, f, RTE_DIM(f), true, &us);
	assert_int_equal(id, 1);
	assert_int_equal(stats_read(&cst, STAT_H2_UP_STREAMS), 1);
	shuttle(cl, sv.c);
	/* the server saw the request as sent, its whole body and its end */
	assert_int_equal(sv.n, 1);
	assert_string_equal(sv.s[0].fields,
			    ":method=POST;:scheme=http;:authority=up.test;:path=/svc/Method;"
			    "content-type=application/grpc;te=trailers;");
	assert_int_equal(sv.s[0].data, sizeof(body));
	assert_true(sv.s[0].ended);
	h2_stream_consume(sv.c, id, sv.s[0].data);
	/* the peer's MAX_CONCURRENT_STREAMS (2) bounds what may open */
	assert_true(h2_conn_can_open(cl, 1));
	assert_false(h2_conn_can_open(cl, 2));
	/* a response with a body, then trailers */
	sv.s[0].body = rbody;
	sv.s[0].body_len = strlen(rbody);
	sv.s[0].body_ready = true;
	assert_int_equal(h2_respond(sv.c, id, 200, NULL, 0, true), 0);
	shuttle(cl, sv.c);
	assert_int_equal(us.blocks, 2);
	assert_string_equal(us.fields, ":status=200;|grpc-status=0;grpc-message=ok;|");
	assert_int_equal(us.data, strlen(rbody));
	assert_true(us.ended);
	assert_true(us.closed);
	assert_int_equal(us.close_code, H2_NO_ERROR);
	h2_conn_free(cl);
	h2_conn_free(sv.c);
}

static void test_client_goaway(void **state)
{
	struct h2_field f[] = {{":method", 7, "GET", 3},
			       {":scheme", 7, "http", 4},
			       {":authority", 10, "up.test", 7},
			       {":path", 5, "/", 1}};
	static char rbody[] = "after goaway";
	struct stats_block cst;
	struct up_stream us = {0};
	struct h2_conn *cl;
	struct srv sv;
	int32_t id;

	(void)state;
	memset(&cst, 0, sizeof(cst));
	srv_init(&sv, &(struct h2_limits){0});
	cl = h2_client_create(&(struct h2_limits){0}, &up_cbs, NULL, &cst);
	id = h2_request(cl, f, RTE_DIM(f), false, &us);
	assert_true(id > 0);
	shuttle(cl, sv.c);
	assert_true(h2_conn_can_open(cl, 1));
	assert_false(h2_conn_peer_goaway(cl));
	/* a graceful GOAWAY: no new stream, the one in flight finishes */
	h2_conn_drain(sv.c);
	shuttle(cl, sv.c);
	assert_int_equal(stats_read(&cst, STAT_H2_UP_GOAWAYS), 1);
	assert_true(h2_conn_peer_goaway(cl));
	assert_false(h2_conn_can_open(cl, 0));
	assert_int_equal(h2_request(cl, f, RTE_DIM(f), false, &us), -1);
	sv.s[0].body = rbody;
	sv.s[0].body_len = strlen(rbody);
	sv.s[0].body_ready = true;
	assert_int_equal(h2_respond(sv.c, id, 200, NULL, 0, true), 0);
	shuttle(cl, sv.c);
	assert_true(us.ended);
	assert_int_equal(us.data, strlen(rbody));
	h2_conn_free(cl);
	h2_conn_free(sv.c);
}

static void test_client_reset_counted(void **state)
{
	struct h2_field f[] = {{":method", 7, "GET", 3},
			       {":scheme", 7, "http", 4},
			       {":authority", 10, "up.test", 7},
			       {":path", 5, "/", 1}};
	struct stats_block cst;
	struct up_stream us = {0};
	struct h2_conn *cl;
	struct srv sv;
	int32_t id;

	(void)state;
	memset(&cst, 0, sizeof(cst));
	srv_init(&sv, &(struct h2_limits){0});
	cl = h2_client_create(&(struct h2_limits){0}, &up_cbs, NULL, &cst);
	id = h2_request(cl, f, RTE_DIM(f), false, &us);
	shuttle(cl, sv.c);
	h2_stream_reset(sv.c, id, H2_REFUSED_STREAM);
	shuttle(cl, sv.c);
	assert_int_equal(stats_read(&cst, STAT_H2_UP_RESETS), 1);
	assert_int_equal(stats_read(&cst, STAT_H2_RESETS_RECEIVED), 0);
	assert_true(us.closed);
	assert_int_equal(us.close_code, H2_REFUSED_STREAM);
	assert_int_equal(us.blocks, 0);
	h2_conn_free(cl);
	h2_conn_free(sv.c);
}

/* A frame header of @p len payload bytes at @p f (RFC 9113 4.1). */
static void frame_hd(uint8_t *f, uint32_t len, uint8_t type, uint8_t flags, int32_t id)
{
	f[0] = (uint8_t)(len >> 16);
	f[1] = (uint8_t)(len >> 8);
	f[2] = (uint8_t)len;
	f[3] = type;
	f[4] = flags;
	f[5] = (uint8_t)(id >> 24);
	f[6] = (uint8_t)(id >> 16);
	f[7] = (uint8_t)(id >> 8);
	f[8] = (uint8_t)id;
}

static void test_continuation_flood(void **state)
{
	/* a HEADERS without END_HEADERS (":method: GET" indexed), then empty
	 * CONTINUATION frames without END_HEADERS, by hand */
	uint8_t out[10 + 9 * 40];
	struct srv sv;
	struct cli c;

	(void)state;
	srv_init(&sv, &(struct h2_limits){0});
	cli_init(&c);
	assert_int_equal(to_server(&c, &sv, 1), 0); /* the preface and SETTINGS */
	frame_hd(out, 1, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1);
	out[9] = 0x82;
	for (int i = 0; i < 8; i++)
		frame_hd(out + 10 + 9 * i, 0, NGHTTP2_CONTINUATION, 0, 1);
	/* 8 are allowed */
	assert_int_equal(h2_conn_recv(sv.c, out, 10 + 9 * 8, 2), 0);
	assert_int_equal(stats_read(&sv.st, STAT_H2_CONTINUATION_FLOOD_CLOSED), 0);
	for (int i = 0; i < 32; i++)
		frame_hd(out + 10 + 9 * i, 0, NGHTTP2_CONTINUATION, 0, 1);
	assert_int_equal(h2_conn_recv(sv.c, out + 10, 9 * 32, 3), -1);
	assert_int_equal(stats_read(&sv.st, STAT_H2_CONTINUATION_FLOOD_CLOSED), 1);
	assert_int_equal(stats_read(&sv.st, STAT_H2_PROTOCOL_ERRORS), 0);
	assert_int_equal(h2_conn_recv(sv.c, out + 10, 9, 4), -1); /* nothing more is read */
	to_client(&sv, &c);
	assert_int_equal(c.goaway, H2_ENHANCE_YOUR_CALM);
	assert_true(h2_conn_done(sv.c));
	pair_free(&sv, &c);
}

/* The client's SETTINGS_INITIAL_WINDOW_SIZE. */
static void cli_window(struct cli *c, uint32_t w)
{
	nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, w};

	assert_int_equal(nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, &iv, 1), 0);
}

/* A GET of @p path at @p now answered 200 with @p body (@p len bytes) by
 * server stream @p k, what the window allows delivered: its id. */
static int32_t stall_get(struct cli *c, struct srv *sv, unsigned int k, const char *path,
			 const char *body, size_t len, uint64_t now)
{
	int32_t id = cli_get(c, path, NULL, 0, false);

	assert_int_equal(to_server(c, sv, now), 0);
	sv->s[k].body = body;
	sv->s[k].body_len = len;
	sv->s[k].body_ready = true;
	assert_int_equal(h2_respond(sv->c, id, 200, NULL, 0, true), 0);
	to_client(sv, c);
	return id;
}

static void test_window_stall_stream(void **state)
{
	static char body[] = "a body the client never lets through\n";
	static char big[100000];
	struct srv sv;
	struct cli c;
	struct h2_stall *st;
	int32_t id, id2, id3;

	(void)state;
	srv_init(&sv, &(struct h2_limits){.window_stall_ms = 3000});
	cli_init(&c);
	cli_window(&c, 0);
	id = stall_get(&c, &sv, 0, "/", body, strlen(body), 1);
	assert_int_equal(c.status, 200); /* HEADERS are not flow controlled */
	assert_int_equal(c.body, 0);
	st = &sv.s[0].stall;
	/* nothing waits: no stall */
	assert_false(h2_stream_stall_check(sv.c, id, false, st, 1000000));
	assert_int_equal(st->since_us, 0);
	assert_false(h2_stream_stall_check(sv.c, id, true, st, 1000000));
	assert_int_equal(st->since_us, 1000000);
	assert_false(h2_stream_stall_check(sv.c, id, true, st, 3999999));
	assert_false(h2_conn_stall_check(sv.c, true, 3999999)); /* its window is open */
	assert_true(h2_stream_stall_check(sv.c, id, true, st, 4000000));
	assert_int_equal(stats_read(&sv.st, STAT_H2_WINDOW_STALL_RESETS), 1);
	to_client(&sv, &c);
	assert_true(c.got_rst);
	assert_int_equal(c.rst_code, NGHTTP2_CANCEL);
	assert_true(sv.s[0].closed);
	assert_int_equal(sv.s[0].close_code, NGHTTP2_CANCEL);
	/* a window the client opens (WINDOW_UPDATE on the stream) lets the rest
	 * go: nothing waits, the stall is over */
	id2 = stall_get(&c, &sv, 1, "/2", body, strlen(body), 5000000);
	st = &sv.s[1].stall;
	assert_false(h2_stream_stall_check(sv.c, id2, true, st, 5000000));
	assert_int_equal(nghttp2_submit_window_update(c.s, NGHTTP2_FLAG_NONE, id2, 100), 0);
	assert_int_equal(to_server(&c, &sv, 6000000), 0);
	assert_false(h2_stream_stall_check(sv.c, id2, false, st, 9000000));
	assert_int_equal(st->since_us, 0);
	to_client(&sv, &c);
	assert_true(c.ended);
	assert_int_equal(c.body, strlen(body));
	assert_int_equal(stats_read(&sv.st, STAT_H2_WINDOW_STALL_RESETS), 1);
	/* a window opened 10 bytes at a time does not end it */
	memset(big, 'b', sizeof(big));
	id3 = stall_get(&c, &sv, 2, "/3", big, sizeof(big), 10000000);
	st = &sv.s[2].stall;
	assert_false(h2_stream_stall_check(sv.c, id3, true, st, 10000000));
	for (uint64_t t = 11000000; t <= 12000000; t += 1000000) {
		assert_int_equal(nghttp2_submit_window_update(c.s, NGHTTP2_FLAG_NONE, id3, 10), 0);
		assert_int_equal(to_server(&c, &sv, t), 0);
		to_client(&sv, &c); /* the 10 bytes go */
		assert_false(h2_stream_stall_check(sv.c, id3, true, st, t));
		assert_int_equal(st->since_us, 10000000);
	}
	/* the client library gives back what it got, too */
	assert_true(st->sent >= 20 && st->sent < 100);
	assert_true(h2_stream_stall_check(sv.c, id3, true, st, 13000000));
	/* H2_STALL_PROGRESS bytes at once end it */
	id = stall_get(&c, &sv, 3, "/4", big, sizeof(big), 20000000);
	st = &sv.s[3].stall;
	assert_false(h2_stream_stall_check(sv.c, id, true, st, 20000000));
	assert_int_equal(st->since_us, 20000000);
	assert_int_equal(
		nghttp2_submit_window_update(c.s, NGHTTP2_FLAG_NONE, id, H2_STALL_PROGRESS), 0);
	assert_int_equal(to_server(&c, &sv, 21000000), 0);
	to_client(&sv, &c);
	assert_int_equal(st->since_us, 0); /* it moved */
	assert_int_equal(stats_read(&sv.st, STAT_H2_WINDOW_STALL_RESETS), 2);
	assert_int_equal(stats_read(&sv.st, STAT_H2_WINDOW_STALL_CLOSED), 0);
	pair_free(&sv, &c);
}

static void test_window_stall_connection(void **state)
{
	static char body[100000];
	struct srv sv;
	struct cli c;
	int32_t id;

	(void)state;
	srv_init(&sv, &(struct h2_limits){0}); /* the default: 10 s */
	cli_init(&c);
	cli_window(&c, 1u << 20); /* the stream's window is not the limit */
	id = cli_get(&c, "/", NULL, 0, false);
	assert_int_equal(to_server(&c, &sv, 1), 0);
	memset(body, 'w', sizeof(body));
	sv.s[0].body = body;
	sv.s[0].body_len = sizeof(body);
	sv.s[0].body_ready = true;
	assert_int_equal(h2_respond(sv.c, id, 200, NULL, 0, true), 0);
	/* the client takes the bytes but never sends its WINDOW_UPDATEs */
	to_client(&sv, &c);
	assert_int_equal(c.body, 65535);
	assert_false(h2_conn_stall_check(sv.c, false, 1000000));
	assert_false(h2_conn_stall_check(sv.c, true, 1000000));
	assert_false(h2_conn_stall_check(sv.c, true, 10999999));
	assert_true(h2_conn_stall_check(sv.c, true, 11000000));
	assert_int_equal(stats_read(&sv.st, STAT_H2_WINDOW_STALL_CLOSED), 1);
	to_client(&sv, &c);
	assert_int_equal(c.goaway, H2_ENHANCE_YOUR_CALM);
	assert_int_equal(to_server(&c, &sv, 11000001), -1); /* nothing more is read */
	pair_free(&sv, &c);
}

static void test_request_trailers(void **state)
{
	/* by hand: HEADERS (POST, http, /, :authority a), DATA "hi", then a
	 * trailer HEADERS with END_STREAM (x-sum: 42, a literal) */
	static const uint8_t head[] = {0x83, 0x86, 0x84, 0x01, 0x01, 'a'};
	static const uint8_t tr[] = {0x00, 0x05, 'x', '-', 's', 'u', 'm', 0x02, '4', '2'};
	uint8_t out[9 * 3 + sizeof(head) + 2 + sizeof(tr)], *p = out;
	struct srv sv;
	struct cli c;

	(void)state;
	srv_init(&sv, &(struct h2_limits){0});
	cli_init(&c);
	assert_int_equal(to_server(&c, &sv, 1), 0);
	frame_hd(p, sizeof(head), NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1);
	memcpy(p + 9, head, sizeof(head));
	p += 9 + sizeof(head);
	frame_hd(p, 2, NGHTTP2_DATA, 0, 1);
	memcpy(p + 9, "hi", 2);
	p += 11;
	frame_hd(p, sizeof(tr), NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM,
		 1);
	memcpy(p + 9, tr, sizeof(tr));
	assert_int_equal(h2_conn_recv(sv.c, out, sizeof(out), 2), 0);
	assert_int_equal(sv.n, 1);
	assert_string_equal(sv.s[0].fields, ":method=POST;:scheme=http;:path=/;:authority=a;");
	assert_int_equal(sv.s[0].data, 2);
	/* the trailers are not head fields: their own callback, then the end */
	assert_string_equal(sv.s[0].trailers, "x-sum=42;");
	assert_true(sv.s[0].ended);
	assert_int_equal(stats_read(&sv.st, STAT_H2_STREAM_ERRORS), 0);
	pair_free(&sv, &c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_response),
		cmocka_unit_test(test_window_follows_consume),
		cmocka_unit_test(test_header_list_limit),
		cmocka_unit_test(test_connection_specific_field),
		cmocka_unit_test(test_rapid_reset),
		cmocka_unit_test(test_ping_flood),
		cmocka_unit_test(test_empty_data_flood),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_client_request_trailers),
		cmocka_unit_test(test_client_goaway),
		cmocka_unit_test(test_client_reset_counted),
		cmocka_unit_test(test_continuation_flood),
		cmocka_unit_test(test_window_stall_stream),
		cmocka_unit_test(test_window_stall_connection),
		cmocka_unit_test(test_request_trailers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
