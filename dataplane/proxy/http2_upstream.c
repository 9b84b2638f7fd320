/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http2_upstream: HTTP/2 to the endpoints of clusters with protocol http2 (or
 * auto over TLS with ALPN h2). One connection per worker and endpoint (and
 * tls build) carries the tries of many exchanges, one stream each, up to the
 * endpoint's SETTINGS_MAX_CONCURRENT_STREAMS (and the cluster's
 * http2.max_concurrent_streams); a try that finds every connection full, or
 * only connections that received GOAWAY, opens another one. A connection that
 * received GOAWAY takes no new stream; its streams in flight finish, and it
 * closes when the last one is gone (streams above the GOAWAY's last id are
 * closed by nghttp2 with REFUSED_STREAM: their exchanges see a reset before
 * the response, which the route's retry policy may retry). An idle connection
 * (no stream) closes after the cluster's pool.idle_timeout_s.
 *
 * The exchange (http_proxy.c) drives a stream as it drives an HTTP/1.1
 * connection (struct hp_upconn with h2s set): it writes its request in
 * HTTP/1.1 framing, as it does for an HTTP/1.1 endpoint, and reads an
 * HTTP/1.1 response. Here the request head is parsed (dataplane/http) and
 * becomes the stream's HEADERS (RFC 9113 8.3.1: :method, :scheme, :authority
 * from Host, :path; the connection-specific fields of 8.2.2 dropped:
 * Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE
 * other than "trailers"; "te: trailers" added to gRPC requests, which
 * require it), and its body (chunked coding removed) becomes DATA. The
 * response head is written as an HTTP/1.1 head (status line, the fields),
 * chunked when the endpoint gave no content-length, and the response's
 * trailers become the chunked trailer section (so an HTTP/1.1 client gets
 * them in its chunked body, and an HTTP/2 client as trailers: http2_proxy.c).
 * A 1xx response is written as a head of its own before the final one.
 *
 * Flow control follows back-pressure both ways: a stream buffers at most
 * HP2U_BUF_MAX request bytes (the exchange writes only while there is room,
 * and nghttp2 takes them only as the endpoint's windows and the connection's
 * send buffer allow); the response's DATA is consumed (the stream's and the
 * connection's windows opened) only as the exchange reads it, which it does
 * only as fast as its client takes it.
 *
 * A cluster with protocol auto offers ALPN h2 and http/1.1: an endpoint that
 * chooses http/1.1 has its new connection handed to the first try waiting on
 * it as an HTTP/1.1 connection (it goes to the HTTP/1.1 pool after), the other
 * waiting tries start again over HTTP/1.1, and the worker remembers for
 * HP_H1_MEMO_US that the endpoint speaks HTTP/1.1 (http_proxy.c), so tries in
 * that time use the HTTP/1.1 pool; the next probe after that finds out again.
 *
 * Exchanges are told of events (connected, readable, drained, timer, gone)
 * only after nghttp2 returned, from the connection's work list.
 *
 * Memory: streams come from a per-worker array (one per exchange, calloc'd:
 * touched when used); a connection and its nghttp2 session are allocated
 * from the heap when it opens, as the downstream's are (ARCHITECTURE.md).
 * Threads: everything here belongs to one worker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <rte_mbuf.h>

#include "proxy_internal.h"

#define HP2U_BUF_MAX  (64 * 1024) /* request bytes a stream buffers */
#define HP2U_RX_MAX   (64 * 1024) /* endpoint bytes read per round */
#define HP2U_FIELDS   (HTTP_MAX_HEADERS + 8)
#define HP2U_SCRATCH  8192 /* request head lines split across mbufs */
#define HP2U_SLICES   32
#define HP2U_CHECK_US 1000000ull

struct hp2u_conn;

struct hp2u_stream {
	struct hp2u_worker *w;
	struct hp2u_conn *c;	/* NULL: its connection is gone (what came stays readable) */
	struct hp_upconn *u;	/* the exchange's try; NULL: free */
	int32_t id;		/* 0: no HEADERS submitted yet */
	struct http_parser req; /* the exchange's HTTP/1.1 request */
	struct rte_mbuf *raw;	/* request bytes not parsed yet */
	struct rte_mbuf *body;	/* request DATA to go */
	struct rte_mbuf *tr;	/* the request's trailer lines (chunked), for its trailers */
	struct rte_mbuf *blk;	/* the response header block being decoded */
	struct rte_mbuf *resp;	/* HTTP/1.1 response bytes for the exchange */
	uint64_t unconsumed;	/* DATA bytes in resp, not yet read by the exchange */
	uint64_t deadline_us;	/* the exchange's timer; 0: none */
	uint16_t status;	/* of the header block being decoded; 0: none (trailers) */
	bool body_eof;		/* the request body is whole in body */
	bool resp_head;		/* the final response head is in resp */
	bool blk_cl;		/* the block has content-length */
	bool chunked;		/* the response goes to the exchange chunked */
	bool chunk_open;	/* a chunk's data was written (its CRLF is due) */
	bool resp_end;		/* the response is whole in resp */
	bool closed;		/* nghttp2 is done with it */
	bool failed;		/* a request the translation refused, or out of buffers */
	bool head_req;		/* a HEAD request */
	uint8_t web;		/* enum grpc_web_kind of the request: translated both ways */
	struct grpc_web_b64 b64_in, b64_out; /* -text: the request's, the response's */
	bool queued;
	bool tell_connected; /* its exchange learns that the connection is up (hp2u_work()) */
	bool tell_timer;     /* its exchange's timer expired */
	TAILQ_ENTRY(hp2u_stream) link; /* in c->streams, or the free list */
	TAILQ_ENTRY(hp2u_stream) work; /* in c->work */
};

TAILQ_HEAD(hp2u_stream_list, hp2u_stream);

struct hp2u_conn {
	struct hp2u_worker *w;
	struct proxy_end end;
	struct h2_conn *h2;
	uint32_t addr; /* network order */
	uint16_t port; /* network order */
	const void *key;
	uint32_t max_streams; /* the cluster's cap (0: the endpoint's) */
	uint32_t open;	      /* streams on it */
	uint64_t connect_deadline_us;
	uint64_t idle_us;
	uint64_t last_us;
	bool https;
	bool fallback; /* auto: an endpoint that chooses ALPN http/1.1 is spoken to so */
	bool h1;       /* it did: the connection went to a try as HTTP/1.1 */
	bool retired;  /* its tls build was replaced: scheduled to drain (hp2u_follow()) */
	bool draining; /* its drain point came: no new stream, closes when the last ends */
	bool connected;
	bool in_lib; /* inside nghttp2 */
	bool busy;   /* hp2u_round() runs */
	bool again;  /* something came while it ran: another turn */
	bool dead;   /* its transport is gone: freed when the round ends */
	struct hp2u_stream_list streams;
	struct hp2u_stream_list work;
	LIST_ENTRY(hp2u_conn) link; /* in w->conns */
};

struct hp2u_worker {
	struct proxy_worker *pw;
	struct hp2u_stream *streams;
	struct hp2u_stream_list free;
	LIST_HEAD(, hp2u_conn) conns;
	char scratch[HP2U_SCRATCH];   /* request heads are parsed whole, one at a time */
	struct http_trailer_out tr;   /* a request body's trailer lines, emptied after each parse */
	char trailer[HP_TRAILER_MAX]; /* the trailers being submitted (nghttp2 copies them) */
	struct h2_field tf[HP2U_FIELDS]; /* their fields */
};

static const struct tcp_callbacks hp2u_tcp_cbs;
static const struct tls_callbacks hp2u_tls_cbs;

static uint64_t hp2u_now(const struct hp2u_worker *w)
{
	return proxy_us(w->pw, w->pw->now_tsc);
}

static struct stats_block *hp2u_stats(const struct hp2u_worker *w)
{
	return w->pw->stats;
}

static struct rte_mempool *hp2u_pool(const struct hp2u_worker *w)
{
	return w->pw->nw->pool;
}

static uint32_t hp2u_len(const struct rte_mbuf *m)
{
	return m != NULL ? m->pkt_len : 0;
}

static void hp2u_queue(struct hp2u_stream *st)
{
	if (!st->queued && st->c != NULL) {
		st->queued = true;
		TAILQ_INSERT_TAIL(&st->c->work, st, work);
	}
}

/* ---- the connection's transport ---- */

static void hp2u_arm(struct hp2u_conn *c);

/* What nghttp2 has to send goes to the endpoint, as far as its send buffer takes it. */
static void hp2u_flush(struct hp2u_conn *c)
{
	struct rte_mempool *pool = hp2u_pool(c->w);

	if (c->in_lib || c->dead || !c->connected || !proxy_end_open(&c->end))
		return;
	c->in_lib = true;
	for (;;) {
		uint32_t room = proxy_end_space(&c->end);
		struct rte_mbuf *m = NULL;
		const uint8_t *p;
		ssize_t n = 0;
		bool lost = false;

		while (room > 0 && (n = h2_conn_send(c->h2, &p)) > 0) {
			if (hp_put(pool, &m, p, (uint32_t)n) != 0) {
				stats_inc(hp2u_stats(c->w), STAT_HTTP_ALLOC_FAILED);
				lost = true; /* a frame lost: the connection cannot go on */
				break;
			}
			room = (uint32_t)n >= room ? 0 : room - (uint32_t)n;
		}
		if (m != NULL) {
			proxy_end_send(&c->end, m);
			c->last_us = hp2u_now(c->w);
		}
		if (lost || n < 0) {
			c->in_lib = false;
			proxy_end_abort(&c->end); /* no closed callback after an abort */
			c->dead = true;
			return;
		}
		if (m == NULL || room > 0)
			break;
	}
	c->in_lib = false;
}

/* Every stream of @p c ends here: those still owned get their exchange told (outside nghttp2). */
static void hp2u_conn_lost(struct hp2u_conn *c)
{
	struct hp2u_stream *st;

	c->dead = true;
	TAILQ_FOREACH(st, &c->streams, link)
	{
		st->closed = true;
		hp2u_queue(st);
	}
}

static void hp2u_stream_release(struct hp2u_stream *st);

/* Tell the exchanges what happened, then free a dead connection. */
static void hp2u_work(struct hp2u_conn *c)
{
	struct hp2u_stream *st;

	while ((st = TAILQ_FIRST(&c->work)) != NULL) {
		TAILQ_REMOVE(&c->work, st, work);
		st->queued = false;
		if (st->u == NULL)
			continue;
		if (!c->connected && c->dead) {
			struct hp_upconn *u = st->u;

			/* never connected: a connect failure for the try, or (the
			 * endpoint chose HTTP/1.1) a try that starts again */
			hp2u_stream_release(st);
			if (c->h1)
				hp_up_h2_fallback(u, c->key);
			else
				hp_up_h2_gone(u);
			continue;
		}
		if (c->dead) { /* what it received stays readable; the rest is its eof */
			TAILQ_REMOVE(&c->streams, st, link);
			c->open--;
			st->c = NULL;
			hp_up_h2_event(st->u);
			continue;
		}
		if (st->tell_connected) {
			st->tell_connected = false;
			hp_up_h2_connected(st->u);
		} else if (st->tell_timer) {
			st->tell_timer = false;
			hp_up_h2_timer(st->u);
		} else {
			hp_up_h2_event(st->u);
		}
	}
}

static void hp2u_read(struct hp2u_conn *c);

/*
 * A round on the connection: read, send, tell the exchanges (which may send
 * more: another turn), then free a dead or finished connection or re-arm its
 * timer. Every event comes here; one that comes while a round runs (an
 * exchange's send from inside hp2u_work()) is folded into it.
 */
static void hp2u_round(struct hp2u_conn *c)
{
	struct hp2u_stream *st;

	if (c->busy) {
		c->again = true;
		return;
	}
	c->busy = true;
	do {
		c->again = false;
		hp2u_read(c);
		hp2u_flush(c);
		hp2u_work(c);
		hp2u_flush(c);
	} while (c->again);
	if (!c->dead && c->open == 0 &&
	    (h2_conn_peer_goaway(c->h2) || h2_conn_done(c->h2) || c->draining)) {
		if (c->draining)
			stats_inc(hp2u_stats(c->w), STAT_HTTP_POOL_TLS_DRAIN_CLOSED);
		proxy_end_close(&c->end);
		c->dead = true;
	}
	if (c->dead) {
		/* every owned stream was told (and detached) in hp2u_work() */
		while ((st = TAILQ_FIRST(&c->streams)) != NULL) {
			TAILQ_REMOVE(&c->streams, st, link);
			st->c = NULL;
		}
		LIST_REMOVE(c, link);
		if (c->key != NULL)
			hp_up_tls_hold(c->key, false);
		h2_conn_free(c->h2);
		free(c);
		return;
	}
	c->busy = false;
	hp2u_arm(c);
}

static void hp2u_arm(struct hp2u_conn *c)
{
	uint64_t now = hp2u_now(c->w), next = now + HP2U_CHECK_US;
	struct hp2u_stream *st;

	if (!c->connected)
		next = RTE_MIN(next, c->connect_deadline_us);
	TAILQ_FOREACH(st, &c->streams, link)
	if (st->deadline_us != 0 && st->deadline_us < next)
		next = st->deadline_us;
	if (c->open == 0 && c->idle_us != 0)
		next = RTE_MIN(next, c->last_us + c->idle_us);
	proxy_end_set_timer(&c->end, next > now ? next - now : 1);
}

static void hp2u_connected(struct hp2u_conn *c)
{
	struct hp2u_stream *st;

	c->connected = true;
	c->last_us = hp2u_now(c->w);
	stats_inc(hp2u_stats(c->w), STAT_H2_UP_CONNECTIONS);
	TAILQ_FOREACH(st, &c->streams, link)
	{
		st->tell_connected = true;
		hp2u_queue(st);
	}
	hp2u_round(c);
}

/* Feed what the endpoint sent to nghttp2. */
static void hp2u_read(struct hp2u_conn *c)
{
	struct hp2u_stream *st;
	struct rte_mbuf *m;
	bool ok = true;

	if (c->dead || !c->connected)
		return;
	while (ok && (m = proxy_end_recv(&c->end, HP2U_RX_MAX)) != NULL) {
		uint64_t now = hp2u_now(c->w);

		c->last_us = now;
		c->in_lib = true;
		for (struct rte_mbuf *seg = m; seg != NULL && ok; seg = seg->next)
			ok = h2_conn_recv(c->h2, rte_pktmbuf_mtod(seg, const uint8_t *),
					  seg->data_len, now) == 0;
		c->in_lib = false;
		rte_pktmbuf_free(m);
	}
	if (!ok) {
		hp2u_flush(c); /* its GOAWAY */
		proxy_end_abort(&c->end);
		hp2u_conn_lost(c);
		return;
	}
	if (proxy_end_eof(&c->end)) {
		proxy_end_close(&c->end);
		hp2u_conn_lost(c);
		return;
	}
	/* a stream whose request drained may take more (few streams: all are told) */
	TAILQ_FOREACH(st, &c->streams, link)
	if (st->u != NULL && !st->body_eof && st->id > 0 && hp2u_len(st->body) < HP2U_BUF_MAX / 2)
		hp2u_queue(st);
}

static void hp2u_timer(struct hp2u_conn *c)
{
	uint64_t now = hp2u_now(c->w);
	struct hp2u_stream *st;

	if (!c->connected && now >= c->connect_deadline_us) {
		/* each try counts its connect failure (hp_up_h2_gone()) */
		proxy_end_abort(&c->end);
		hp2u_conn_lost(c);
		hp2u_round(c);
		return;
	}
	TAILQ_FOREACH(st, &c->streams, link)
	if (st->deadline_us != 0 && st->deadline_us <= now) {
		st->deadline_us = 0;
		st->tell_timer = true;
		hp2u_queue(st);
	}
	if (!c->dead && c->open == 0 && c->idle_us != 0 && now >= c->last_us + c->idle_us) {
		stats_inc(hp2u_stats(c->w), STAT_HTTP_POOL_IDLE_CLOSED);
		proxy_end_close(&c->end);
		c->dead = true;
	}
	hp2u_round(c);
}

static void hp2u_closed(struct hp2u_conn *c)
{
	c->end.tcp = NULL;
	c->end.tls = NULL;
	hp2u_conn_lost(c);
	hp2u_round(c);
}

static void hp2u_tcp_connected(struct tcp_conn *t, void *arg)
{
	(void)t;
	hp2u_connected(arg);
}

static void hp2u_tcp_event(struct tcp_conn *t, void *arg)
{
	(void)t;
	hp2u_round(arg);
}

static void hp2u_tcp_timer(struct tcp_conn *t, void *arg)
{
	(void)t;
	hp2u_timer(arg);
}

static void hp2u_tcp_closed(struct tcp_conn *t, void *arg, enum tcp_close_reason reason)
{
	(void)t;
	(void)reason;
	hp2u_closed(arg);
}

static const struct tcp_callbacks hp2u_tcp_cbs = {
	.connected = hp2u_tcp_connected,
	.readable = hp2u_tcp_event,
	.writable = hp2u_tcp_event,
	.timer = hp2u_tcp_timer,
	.closed = hp2u_tcp_closed,
};

/*
 * TLS: the endpoint must have agreed on h2 (RFC 9113 3.2). An auto cluster's
 * endpoint that chose HTTP/1.1 gets its connection used as such: the first
 * waiting try takes it (hp_up_h2_adopt()), the others start again over
 * HTTP/1.1 (hp2u_work()).
 */
static int hp2u_tls_done(struct tls_conn *t, void *arg)
{
	struct hp2u_conn *c = arg;
	struct hp2u_stream *st = NULL;
	struct tls_conn_info ti;

	tls_conn_info(t, &ti);
	if (strcmp(ti.alpn, "h2") != 0 && c->fallback)
		TAILQ_FOREACH(st, &c->streams, link)
	if (st->u != NULL)
		break;
	if (st != NULL) {
		struct hp_upconn *u = st->u;

		stats_inc(hp2u_stats(c->w), STAT_H2_UP_ALPN_FALLBACK);
		c->end.tls = NULL; /* the try's now */
		c->h1 = true;
		hp2u_stream_release(st);
		hp2u_conn_lost(c);
		hp_up_h2_adopt(u, t, c->key);
		hp2u_round(c);
		return 0;
	}
	if (strcmp(ti.alpn, "h2") != 0) {
		stats_inc(hp2u_stats(c->w), STAT_H2_UP_ALPN_REFUSED);
		/* refused: the TLS layer resets it and calls nothing after, so the
		 * tries fail now (connect failures) */
		c->end.tls = NULL;
		hp2u_conn_lost(c);
		hp2u_round(c);
		return -1;
	}
	hp2u_connected(c);
	return 0;
}

static void hp2u_tls_event(struct tls_conn *t, void *arg)
{
	(void)t;
	hp2u_round(arg);
}

static void hp2u_tls_timer(struct tls_conn *t, void *arg)
{
	(void)t;
	hp2u_timer(arg);
}

/* Rotation or a certificate's expiry: the streams in flight finish, no new one comes. */
static void hp2u_tls_drain(struct tls_conn *t, void *arg)
{
	struct hp2u_conn *c = arg;

	(void)t;
	c->draining = true;
	hp2u_round(c);
}

static void hp2u_tls_closed(struct tls_conn *t, void *arg, enum tls_close_reason reason)
{
	(void)t;
	(void)reason;
	hp2u_closed(arg);
}

static const struct tls_callbacks hp2u_tls_cbs = {
	.handshake_done = hp2u_tls_done,
	.readable = hp2u_tls_event,
	.writable = hp2u_tls_event,
	.timer = hp2u_tls_timer,
	.drain = hp2u_tls_drain,
	.closed = hp2u_tls_closed,
};

/* ---- the h2 layer's callbacks (inside nghttp2: record, act later) ---- */

static int hp2u_header(void *arg, void *sp, const uint8_t *name, size_t nlen, const uint8_t *value,
		       size_t vlen)
{
	struct hp2u_conn *c = arg;
	struct hp2u_stream *st = sp;
	struct rte_mempool *pool = hp2u_pool(c->w);
	int rc = 0;

	if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
		char line[32];
		unsigned int status = 0;

		for (size_t i = 0; i < vlen && i < 3; i++)
			status = status * 10 + (unsigned int)(value[i] - '0');
		st->status = (uint16_t)status;
		rc = hp_put(pool, &st->blk, line,
			    (uint32_t)snprintf(line, sizeof(line), "HTTP/1.1 %03u %s\r\n", status,
					       status < 400 ? "OK" : "Error"));
	} else if (nlen > 0 && name[0] == ':') {
		return 0;
	} else if (st->web != GRPC_WEB_NONE && nlen == 14 &&
		   memcmp(name, "content-length", 14) == 0) {
		return 0; /* the trailer frame goes into the body */
	} else if (st->web != GRPC_WEB_NONE && nlen == 12 &&
		   memcmp(name, "content-type", 12) == 0) {
		/* as Envoy answers gRPC-Web: the type with the encoding of the request's */
		const char *t = st->web == GRPC_WEB_TEXT
					? "content-type: application/grpc-web-text+proto\r\n"
					: "content-type: application/grpc-web+proto\r\n";

		rc |= hp_put(pool, &st->blk, t, (uint32_t)strlen(t));
	} else {
		if (nlen == 14 && memcmp(name, "content-length", 14) == 0)
			st->blk_cl = true;
		rc |= hp_put(pool, &st->blk, name, (uint32_t)nlen);
		rc |= hp_put(pool, &st->blk, ": ", 2);
		rc |= hp_put(pool, &st->blk, value, (uint32_t)vlen);
		rc |= hp_put(pool, &st->blk, "\r\n", 2);
	}
	if (rc != 0)
		st->failed = true;
	return 0;
}

/*
 * gRPC-Web: the response's trailers (@p lines, taken) as the trailer frame,
 * in a chunk of its own onto *@p t; -text: the data's last group first.
 * @return 0 or -ENOMEM.
 */
static int hp2u_web_trailers(struct hp2u_stream *st, struct rte_mbuf *lines, struct rte_mbuf **t)
{
	struct rte_mempool *pool = hp2u_pool(st->w);
	struct rte_mbuf *frame = NULL, *body = NULL;
	char hdr[HTTP_CHUNK_HDR_MAX];
	int rc = grpc_web_trailer_frame(lines, pool, &frame);

	rte_pktmbuf_free(lines);
	if (rc == 0 && st->web == GRPC_WEB_TEXT) {
		struct grpc_web_b64 fresh = {0};

		rc |= grpc_web_encode(&st->b64_out, NULL, 0, true, pool, &body);
		for (struct rte_mbuf *seg = frame; rc == 0 && seg != NULL; seg = seg->next)
			rc |= grpc_web_encode(&fresh, rte_pktmbuf_mtod(seg, const uint8_t *),
					      seg->data_len, seg->next == NULL, pool, &body);
		rte_pktmbuf_free(frame);
	} else {
		body = frame;
	}
	if (rc == 0 && body != NULL) {
		rc |= hp_put(pool, t, hdr, http_chunk_header(hdr, body->pkt_len, st->chunk_open));
		hp_chain_append(t, body);
		st->chunk_open = true;
		body = NULL;
	}
	rte_pktmbuf_free(body);
	stats_inc(hp2u_stats(st->w), STAT_H2_UP_GRPC_WEB_TRAILERS);
	return rc;
}

static void hp2u_headers_done(void *arg, void *sp, unsigned int flags)
{
	struct hp2u_conn *c = arg;
	struct hp2u_stream *st = sp;
	struct rte_mempool *pool = hp2u_pool(c->w);
	struct rte_mbuf *blk = st->blk;
	int rc = 0;

	st->blk = NULL;
	if (st->status >= 100 && st->status < 200) {
		/* 1xx: a head of its own before the final one (the exchange passes it on) */
		if (st->resp_head) {
			rte_pktmbuf_free(blk);
		} else {
			rc |= hp_put(pool, &blk, "\r\n", 2);
			if (blk != NULL)
				hp_chain_append(&st->resp, blk);
		}
	} else if (!st->resp_head && st->status != 0) {
		st->resp_head = true;
		if (flags & H2_HDRS_END_STREAM) {
			if (!st->blk_cl && !st->head_req && st->status != 204 && st->status != 304)
				rc |= hp_put(pool, &blk, "content-length: 0\r\n", 19);
		} else if (!st->blk_cl || st->web != GRPC_WEB_NONE) {
			st->chunked = true;
			rc |= hp_put(pool, &blk, "transfer-encoding: chunked\r\n", 28);
		}
		rc |= hp_put(pool, &blk, "\r\n", 2);
		if (blk != NULL)
			hp_chain_append(&st->resp, blk);
	} else if (st->resp_head && st->chunked && !st->resp_end) {
		/* trailers: the chunked body's trailer section (RFC 9112 7.1.2) */
		struct rte_mbuf *t = NULL;

		if (st->web != GRPC_WEB_NONE) { /* gRPC-Web: a trailer frame ends the body */
			rc |= hp2u_web_trailers(st, blk, &t);
			blk = NULL;
		}
		rc |= hp_put(pool, &t, st->chunk_open ? "\r\n0\r\n" : "0\r\n",
			     st->chunk_open ? 5 : 3);
		if (blk != NULL && rc == 0)
			hp_chain_append(&t, blk);
		else
			rte_pktmbuf_free(blk);
		rc |= hp_put(pool, &t, "\r\n", 2);
		if (t != NULL)
			hp_chain_append(&st->resp, t);
		st->resp_end = true;
		stats_inc(hp2u_stats(c->w), STAT_H2_UP_TRAILERS);
	} else { /* trailers of a response with content-length: HTTP/1.1 has no place */
		rte_pktmbuf_free(blk);
	}
	st->status = 0;
	st->blk_cl = false;
	if (rc != 0)
		st->failed = true;
	hp2u_queue(st);
}

static void hp2u_data(void *arg, void *sp, const uint8_t *p, size_t len)
{
	struct hp2u_conn *c = arg;
	struct hp2u_stream *st = sp;
	struct rte_mempool *pool = hp2u_pool(c->w);
	char hdr[HTTP_CHUNK_HDR_MAX];
	int rc = 0;

	if (st->u == NULL || !st->resp_head || len == 0) {
		h2_stream_consume(c->h2, st->id, len);
		return;
	}
	if (st->web == GRPC_WEB_TEXT) {
		struct rte_mbuf *e = NULL;

		rc |= grpc_web_encode(&st->b64_out, p, (uint32_t)len, false, pool, &e);
		if (e != NULL) {
			rc |= hp_put(pool, &st->resp, hdr,
				     http_chunk_header(hdr, e->pkt_len, st->chunk_open));
			st->chunk_open = true;
			hp_chain_append(&st->resp, e);
		}
		st->unconsumed += len;
		if (rc != 0)
			st->failed = true;
		hp2u_queue(st);
		return;
	}
	if (st->chunked) {
		rc |= hp_put(pool, &st->resp, hdr, http_chunk_header(hdr, len, st->chunk_open));
		st->chunk_open = true;
	}
	rc |= hp_put(pool, &st->resp, p, (uint32_t)len);
	st->unconsumed += len;
	if (rc != 0)
		st->failed = true;
	hp2u_queue(st);
}

static void hp2u_end_stream(void *arg, void *sp)
{
	struct hp2u_conn *c = arg;
	struct hp2u_stream *st = sp;
	char hdr[HTTP_CHUNK_HDR_MAX];

	if (st->resp_head && st->chunked && !st->resp_end) {
		if (st->web != GRPC_WEB_NONE) /* no trailers came: an empty trailer frame */
			st->failed |= hp2u_web_trailers(st, NULL, &st->resp) != 0;
		if (hp_put(hp2u_pool(c->w), &st->resp, hdr,
			   http_chunk_header(hdr, 0, st->chunk_open)) != 0)
			st->failed = true;
	}
	st->resp_end = st->resp_head;
	hp2u_queue(st);
}

static void hp2u_stream_closed(void *arg, void *sp, uint32_t code)
{
	struct hp2u_stream *st = sp;

	(void)arg;
	(void)code;
	st->closed = true;
	hp2u_queue(st);
}

/* The request body for DATA frames. */
static size_t hp2u_body_read(void *arg, void *sp, uint8_t *buf, size_t len, bool *eof)
{
	struct hp2u_stream *st = sp;
	uint32_t n = (uint32_t)RTE_MIN((size_t)hp2u_len(st->body), len);

	(void)arg;
	if (n > 0) {
		const void *src = rte_pktmbuf_read(st->body, 0, n, buf);

		if (src != buf)
			memcpy(buf, src, n);
		st->body = http_chain_drop(st->body, n);
		hp2u_queue(st); /* its exchange may write more */
	}
	*eof = st->body == NULL && st->body_eof;
	return n;
}

/* The request's trailer section (a chunked body's) as HTTP/2 trailers. */
static size_t hp2u_trailers(void *arg, void *sp, const struct h2_field **f)
{
	struct hp2u_stream *st = sp;
	struct hp2u_worker *w = ((struct hp2u_conn *)arg)->w;
	size_t n = hp_trailer_fields(st->tr, w->trailer, w->tf, RTE_DIM(w->tf));

	if (n > 0)
		stats_inc(hp2u_stats(w), STAT_H2_UP_REQUEST_TRAILERS);
	*f = w->tf;
	return n;
}

static const struct h2_callbacks hp2u_h2_cbs = {
	.header = hp2u_header,
	.headers_done = hp2u_headers_done,
	.data = hp2u_data,
	.end_stream = hp2u_end_stream,
	.closed = hp2u_stream_closed,
	.read = hp2u_body_read,
	.trailers = hp2u_trailers,
};

/* ---- the request: HTTP/1.1 from the exchange to HEADERS and DATA ---- */

/* Connection-specific fields (RFC 9113 8.2.2) and Host (it is :authority). */
static bool hp2u_drop_field(const struct http_header *h)
{
	static const struct http_view names[] = {
		{"connection", 10},	   {"keep-alive", 10}, {"proxy-connection", 16},
		{"transfer-encoding", 17}, {"upgrade", 7},     {"host", 4},
	};

	for (size_t i = 0; i < RTE_DIM(names); i++)
		if (http_view_eq_nocase(h->name, names[i].p, names[i].len))
			return true;
	/* TE only as "trailers" (8.2.2) */
	return http_view_eq_nocase(h->name, "te", 2) &&
	       !http_view_eq_nocase(h->value, "trailers", 8);
}

static bool hp2u_is_grpc(const struct http_msg *msg)
{
	int i = http_msg_find(msg, "content-type", 12, 0);

	return i >= 0 && msg->headers[i].value.len >= 16 &&
	       http_view_eq_nocase((struct http_view){msg->headers[i].value.p, 16},
				   "application/grpc", 16);
}

/* The head is whole in st->raw: submit HEADERS. @return 0 or -1 (refused). */
static int hp2u_submit(struct hp2u_stream *st)
{
	struct hp2u_conn *c = st->c;
	const struct http_msg *msg = &st->req.msg;
	struct h2_field f[HP2U_FIELDS];
	char lower[HTTP_MAX_HEADERS][64];
	size_t n = 0;
	bool te = false;
	char ctype[96];
	struct http_view web_suffix = {NULL, 0};
	uint8_t web = GRPC_WEB_NONE;
	int ct;

	if (http_parse_head(&st->req, st->raw, 0) != 1 || (msg->flags & HTTP_F_CONNECT) ||
	    (msg->flags & HTTP_F_UPGRADE)) {
		stats_inc(hp2u_stats(c->w), STAT_H2_UP_REFUSED_REQUESTS);
		return -1;
	}
	st->head_req = msg->method == HTTP_M_HEAD;
	ct = http_msg_find(msg, "content-type", 12, 0);
	if (ct >= 0)
		web = grpc_web_kind(msg->headers[ct].value, &web_suffix);
	st->web = web;
	if (web != GRPC_WEB_NONE)
		stats_inc(hp2u_stats(c->w), STAT_H2_UP_GRPC_WEB_REQUESTS);
	f[n++] = (struct h2_field){":method", 7, msg->method_name.p, msg->method_name.len};
	f[n++] = (struct h2_field){":scheme", 7, c->https ? "https" : "http", c->https ? 5u : 4u};
	f[n++] = (struct h2_field){":authority", 10, msg->authority.p, msg->authority.len};
	f[n++] = (struct h2_field){":path", 5, msg->target.p, msg->target.len};
	for (uint16_t i = 0; i < msg->nheaders && n < HP2U_FIELDS - 1; i++) {
		const struct http_header *h = &msg->headers[i];
		const char *name = h->name.p;

		if (hp2u_drop_field(h))
			continue;
		if (web != GRPC_WEB_NONE && http_view_eq_nocase(h->name, "content-type", 12)) {
			/* gRPC-Web: the request goes up as gRPC */
			uint32_t k = (uint32_t)RTE_MIN((size_t)web_suffix.len, sizeof(ctype) - 16);

			memcpy(ctype, "application/grpc", 16);
			memcpy(ctype + 16, web_suffix.p, k);
			f[n++] = (struct h2_field){"content-type", 12, ctype, 16 + k};
			continue;
		}
		if (web == GRPC_WEB_TEXT && http_view_eq_nocase(h->name, "content-length", 14))
			continue; /* the body shrinks by its base64 decoding */
		te |= h->name.len == 2 && http_view_eq_nocase(h->name, "te", 2);
		/* HTTP/2 field names are lower case (8.2.1) */
		if (h->name.len <= sizeof(lower[0])) {
			for (uint32_t k = 0; k < h->name.len; k++)
				lower[i][k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32
										      : name[k]);
			name = lower[i];
		}
		f[n++] = (struct h2_field){name, h->name.len, h->value.p, h->value.len};
	}
	if (!te && hp2u_is_grpc(msg)) /* gRPC requires it; HTTP/1.1 hops drop it */
		f[n++] = (struct h2_field){"te", 2, "trailers", 8};
	st->id = h2_request(c->h2, f, n, msg->framing != HTTP_BODY_NONE, st);
	if (st->id < 0) {
		st->id = 0;
		return -1;
	}
	st->body_eof = msg->framing == HTTP_BODY_NONE;
	st->raw = http_chain_drop(st->raw, msg->head_len);
	return 0;
}

/* Move the request body in st->raw (its framing removed) into st->body. @return 0 or -1. */
static int hp2u_take_body(struct hp2u_stream *st)
{
	struct http_slice slices[HP2U_SLICES];
	struct http_body_out o;
	struct rte_mbuf *data;
	int r;

	while (st->raw != NULL && !st->body_eof) {
		r = http_parse_body(&st->req, st->raw, 0, &o, slices, HP2U_SLICES);
		for (uint32_t i = 0; r >= 0 && i < st->w->tr.n; i++)
			if (hp_put(hp2u_pool(st->w), &st->tr,
				   rte_pktmbuf_mtod_offset(st->w->tr.s[i].m, const void *,
							   st->w->tr.s[i].off),
				   st->w->tr.s[i].len) != 0)
				r = -1;
		st->w->tr.n = 0;
		if (r < 0)
			return -1;
		data = NULL;
		if (st->web == GRPC_WEB_TEXT) {
			for (uint32_t i = 0; i < o.nslices; i++)
				if (grpc_web_decode(&st->b64_in,
						    rte_pktmbuf_mtod_offset(slices[i].m,
									    const uint8_t *,
									    slices[i].off),
						    slices[i].len, hp2u_pool(st->w), &data) != 0) {
					rte_pktmbuf_free(data);
					return -1;
				}
		} else if (http_slices_copy(slices, o.nslices, hp2u_pool(st->w), &data) != 0) {
			return -1;
		}
		if (data != NULL)
			hp_chain_append(&st->body, data);
		if (o.raw > 0)
			st->raw = http_chain_drop(st->raw, (uint32_t)o.raw);
		if (r == 1)
			st->body_eof = true;
		if (o.raw == 0)
			break;
	}
	if (st->body_eof) { /* bytes after the request are not the endpoint's */
		rte_pktmbuf_free(st->raw);
		st->raw = NULL;
	}
	return 0;
}

/* ---- the exchange's side ---- */

static void hp2u_stream_release(struct hp2u_stream *st)
{
	struct hp2u_conn *c = st->c;

	if (c != NULL) {
		if (st->queued)
			TAILQ_REMOVE(&c->work, st, work);
		TAILQ_REMOVE(&c->streams, st, link);
		c->open--;
		if (!c->dead && st->id > 0) {
			/* nghttp2 forgets it (its id may still see frames), the DATA
			 * it held is given back to the connection's window */
			h2_stream_forget(c->h2, st->id);
			h2_stream_consume(c->h2, st->id, st->unconsumed);
			if (!st->closed)
				h2_stream_reset(c->h2, st->id, H2_CANCEL);
		}
		c->last_us = hp2u_now(c->w);
	}
	rte_pktmbuf_free(st->raw);
	rte_pktmbuf_free(st->body);
	rte_pktmbuf_free(st->blk);
	rte_pktmbuf_free(st->resp);
	rte_pktmbuf_free(st->tr);
	st->raw = st->body = st->blk = st->resp = st->tr = NULL;
	st->queued = false;
	st->u = NULL;
	st->c = NULL;
	TAILQ_INSERT_HEAD(&st->w->free, st, link);
}

/* A connection to @p t's endpoint that takes another stream, or a new one. */
static struct hp2u_conn *hp2u_conn_for(struct hp2u_worker *w, const struct hp2u_target *t)
{
	struct proxy_worker *pw = w->pw;
	struct tcp_addr laddr = {.family = 4}, raddr = {.family = 4};
	struct hp2u_conn *c;

	LIST_FOREACH(c, &w->conns, link)
	if (c->addr == t->addr && c->port == t->port && c->key == t->key && !c->dead &&
	    !c->draining && (t->max_streams == 0 || c->open < t->max_streams) &&
	    h2_conn_can_open(c->h2, c->open))
		return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->w = w;
	c->addr = t->addr;
	c->port = t->port;
	c->key = t->key;
	c->https = t->tls != NULL;
	c->fallback = t->fallback_h1;
	c->idle_us = t->idle_us;
	c->max_streams = t->max_streams;
	c->last_us = hp2u_now(w);
	c->connect_deadline_us = c->last_us + t->connect_timeout_us;
	TAILQ_INIT(&c->streams);
	TAILQ_INIT(&c->work);
	c->h2 = h2_client_create(t->lim, &hp2u_h2_cbs, c, hp2u_stats(w));
	if (c->h2 == NULL) {
		free(c);
		return NULL;
	}
	laddr.v4 = t->source;
	raddr.v4 = t->addr;
	if (t->tls != NULL)
		c->end.tls = tls_connect(pw->tls, t->tls, pw->tcp, &laddr, &raddr,
					 rte_be_to_cpu_16(t->port), t->params, &hp2u_tls_cbs, c,
					 c->last_us);
	else
		c->end.tcp = tcp_connect(pw->tcp, &laddr, &raddr, rte_be_to_cpu_16(t->port),
					 t->params, &hp2u_tcp_cbs, c, c->last_us);
	if (!proxy_end_open(&c->end)) {
		h2_conn_free(c->h2);
		free(c);
		return NULL;
	}
	if (c->key != NULL) /* its build lives as long as the connection */
		hp_up_tls_hold(c->key, true);
	stats_inc(hp2u_stats(w), STAT_HTTP_POOL_CONNECTS);
	LIST_INSERT_HEAD(&w->conns, c, link);
	proxy_end_set_timer(&c->end, t->connect_timeout_us);
	return c;
}

struct hp2u_stream *hp2u_open(struct hp2u_worker *w, const struct hp2u_target *t,
			      struct hp_upconn *u, bool *connected, bool *reused)
{
	struct hp2u_stream *st = TAILQ_FIRST(&w->free);
	struct hp2u_conn *c;

	if (st == NULL)
		return NULL;
	c = hp2u_conn_for(w, t);
	if (c == NULL)
		return NULL;
	*reused = c->connected || c->open > 0;
	TAILQ_REMOVE(&w->free, st, link);
	memset(st, 0, sizeof(*st));
	st->w = w;
	st->c = c;
	st->u = u;
	http_parser_init(&st->req, HTTP_REQUEST, NULL, w->scratch, sizeof(w->scratch),
			 hp2u_stats(w));
	http_parser_keep_trailers(&st->req, &w->tr);
	TAILQ_INSERT_TAIL(&c->streams, st, link);
	c->open++;
	*connected = c->connected;
	return st;
}

void hp2u_send(struct hp2u_stream *st, struct rte_mbuf *m)
{
	struct hp2u_conn *c = st->c;

	if (c == NULL || st->failed || st->body_eof) {
		rte_pktmbuf_free(m); /* its connection is gone, or nothing more is the endpoint's */
		return;
	}
	hp_chain_append(&st->raw, m);
	if (st->id == 0 && hp2u_submit(st) != 0) {
		st->failed = true;
	} else if (hp2u_take_body(st) != 0) {
		stats_inc(hp2u_stats(c->w), STAT_HTTP_ALLOC_FAILED);
		st->failed = true;
	}
	if (st->failed) { /* the exchange sees a reset before the response */
		rte_pktmbuf_free(st->raw);
		st->raw = NULL;
		if (st->id > 0 && !st->closed)
			h2_stream_reset(c->h2, st->id, H2_INTERNAL_ERROR);
		st->closed = true;
		hp2u_queue(st);
	} else if (st->id > 0) {
		h2_stream_resume(c->h2, st->id);
	}
	hp2u_round(c);
}

uint32_t hp2u_space(const struct hp2u_stream *st)
{
	uint32_t have = hp2u_len(st->raw) + hp2u_len(st->body);

	if (st->c == NULL || st->failed)
		return HP2U_BUF_MAX; /* taken and dropped */
	return have < HP2U_BUF_MAX ? HP2U_BUF_MAX - have : 0;
}

struct rte_mbuf *hp2u_recv(struct hp2u_stream *st, uint32_t max)
{
	struct rte_mbuf *m = st->resp, *rest = NULL;
	uint64_t k;

	if (m == NULL || max == 0)
		return NULL;
	if (m->pkt_len > max && http_chain_split(m, max, hp2u_pool(st->w), &rest) != 0)
		return NULL; /* out of mbufs: later */
	st->resp = rest;
	/* the DATA in it went on: the endpoint may send as much again (framing
	 * bytes make this open the window a little early, never more in all) */
	k = RTE_MIN((uint64_t)m->pkt_len, st->unconsumed);
	st->unconsumed -= k;
	if (st->c != NULL && !st->c->dead && st->id > 0 && k > 0) {
		h2_stream_consume(st->c->h2, st->id, k);
		if (!st->c->busy)
			hp2u_flush(st->c);
	}
	return m;
}

bool hp2u_eof(const struct hp2u_stream *st)
{
	return st->resp == NULL && (st->closed || st->failed || st->c == NULL);
}

void hp2u_set_timer(struct hp2u_stream *st, uint64_t us)
{
	struct hp2u_conn *c = st->c;

	if (c == NULL)
		return;
	st->deadline_us = us != 0 ? hp2u_now(c->w) + us : 0;
	if (!c->busy && !c->dead)
		hp2u_arm(c);
}

void hp2u_close(struct hp2u_stream *st)
{
	struct hp2u_conn *c = st->c;

	hp2u_stream_release(st);
	if (c != NULL)
		hp2u_round(c);
}

void hp2u_follow(struct hp2u_worker *w)
{
	struct hp2u_conn *c;

	LIST_FOREACH(c, &w->conns, link)
	{
		const struct tls_ctx *now;

		if (c->retired || c->dead || c->end.tls == NULL ||
		    (now = hp_up_tls_successor(c->key)) == NULL)
			continue;
		c->retired = true;
		tls_conn_retire(c->end.tls, now);
	}
}

struct hp2u_worker *hp2u_worker_create(struct proxy_worker *pw, uint32_t n)
{
	struct hp2u_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->pw = pw;
	w->streams = calloc(n, sizeof(*w->streams)); /* pages touched as streams get used */
	if (w->streams == NULL) {
		free(w);
		return NULL;
	}
	TAILQ_INIT(&w->free);
	LIST_INIT(&w->conns);
	for (uint32_t i = n; i-- > 0;)
		TAILQ_INSERT_HEAD(&w->free, &w->streams[i], link);
	return w;
}

void hp2u_worker_free(struct hp2u_worker *w)
{
	if (w == NULL)
		return;
	/* the TCP stack was freed first: its closed callbacks freed every connection */
	free(w->streams);
	free(w);
}
