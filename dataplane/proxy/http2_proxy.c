/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http2_proxy: HTTP/2 clients of the HTTP listeners (http.http2.enabled): a
 * connection whose first bytes are the HTTP/2 preface (h2c with prior
 * knowledge) or whose TLS handshake agreed on ALPN "h2" is handed here by
 * http_proxy.c; dataplane/h2 decodes its frames, and each request stream
 * becomes an exchange of http_proxy.c (struct hp_session) that runs as an
 * HTTP/1.1 request does: routes, clusters, retries, timeouts, breakers, the
 * pool, telemetry. The exchange answers through struct hp_down_ops (hp2_down).
 *
 * Translation to the HTTP/1.1 upstreams (SM-DR3; RFC 9113 8.2.2, 8.3.1): a
 * stream's head is written as an HTTP/1.1 head (request line from :method and
 * :path, Host from :authority, the fields as they came, which nghttp2 already
 * checked free of connection-specific fields) that the exchange parses with
 * the same strict parser as a client's; a body of unknown length goes up
 * chunked. The response head goes down without Connection, Keep-Alive,
 * Transfer-Encoding and the other hop-by-hop fields, names in lower case; a
 * chunked body becomes DATA frames of its data.
 *
 * Flow control follows back-pressure both ways: a stream's received DATA is
 * consumed (its windows opened) only as the exchange takes it, which it does
 * only as fast as the upstream connection's send buffer drains; a response
 * stream buffers at most HP2_OUT_MAX bytes, which the exchange reads from the
 * upstream only as the DATA frames leave (the read callback says DEFERRED when
 * the buffer is empty, and the exchange resumes it).
 *
 * Everything nghttp2 reports is recorded on the stream and acted upon after
 * nghttp2 returns (hp2_work()): exchanges never run inside nghttp2's
 * callbacks, and a stream opened and reset in the same read (rapid reset) never
 * reaches an upstream.
 *
 * Threads: everything here belongs to one worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <rte_mbuf.h>

#include "proxy_internal.h"

#define HP2_OUT_MAX    (64 * 1024) /* response bytes a stream buffers */
#define HP2_RX_MAX     (64 * 1024) /* client bytes read per round */
#define HP2_PSEUDO_MAX 8192	   /* :method, :path, :authority of the block being decoded */
#define HP2_FIELDS_MAX 128	   /* response fields */
#define HP2_NAMES_MAX  (64 * 1024) /* their names in lower case */
#define HP2_CHECK_US   1000000ull  /* the drain check of a quiet connection */

static const char hp2_preface_bytes[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define HP2_PREFACE_LEN 24

struct hp2_stream {
	struct hp2_conn *c;
	struct hp_session *x; /* the exchange; NULL: not started, or done with */
	int32_t id;
	struct rte_mbuf *in;	      /* request bytes in HTTP/1.1 framing, for the exchange */
	uint64_t in_data;	      /* DATA bytes received and not yet consumed */
	struct rte_mbuf *out;	      /* response body for DATA frames */
	uint64_t deadline_us;	      /* the exchange's timer; 0: none */
	struct h2_stall stall;	      /* out waiting on a closed window (h2 layer's) */
	bool line_done;		      /* the request line and Host are written */
	bool head_done;		      /* the request head is complete */
	bool has_length;	      /* the request has content-length */
	bool chunked;		      /* its body goes up chunked */
	bool chunk_open;	      /* a chunk's data was written (its CRLF is due) */
	bool head_only;		      /* a HEAD request */
	bool too_large;		      /* its header list went over the limit */
	bool started;		      /* an exchange was opened (or a local answer sent) */
	bool out_eof;		      /* the response body is whole in out */
	bool closed;		      /* nghttp2 is done with it */
	bool queued;		      /* in c->work */
	bool failed;		      /* out of buffers building its request */
	bool dechunk;		      /* the response body comes chunked: decoded here */
	uint8_t cs;		      /* the chunked decoder's state (enum hp2_chunk) */
	uint64_t crem;		      /* bytes left in the current chunk */
	struct rte_mbuf *tr;	      /* the trailer section's lines, for HTTP/2 trailers */
	struct rte_mbuf *rtr;	      /* the request's trailer lines, for the last chunk */
	bool rtr_dropped;	      /* request trailers came with no chunked body to hold them */
	TAILQ_ENTRY(hp2_stream) link; /* in c->streams, or the free list */
	TAILQ_ENTRY(hp2_stream) work; /* in c->work */
};

TAILQ_HEAD(hp2_stream_list, hp2_stream);

struct hp2_conn {
	struct hp2_worker *w;
	struct hp_session *cs; /* the connection's session (http_proxy.c) */
	struct proxy_listener *pl;
	struct proxy_worker *pw;
	struct proxy_end *down;
	struct h2_conn *h2;
	struct rte_mbuf *rx; /* received before the switch */
	struct hp2_stream_list streams;
	struct hp2_stream_list work; /* streams to act upon after nghttp2 returned */
	uint64_t last_us;	     /* the last byte either way */
	uint64_t timer_at;	     /* the connection's timer; UINT64_MAX: none */
	bool in_lib;		     /* inside h2_conn_recv() / h2_conn_send() */
	struct rte_mbuf *tx;	     /* hp2_flush(): the bytes for the client so far */
	uint32_t tx_room;	     /* ... and what the transport takes beyond them */
	bool failed;		     /* out of buffers: close */
	bool dead;		     /* hp2_free() runs */
	struct http_view method, path, authority;
	struct http_view cookie; /* the cookie crumbs so far, joined (RFC 9113 8.2.3) */
	uint32_t pseudo_used;
	char pseudo[HP2_PSEUDO_MAX];
};

struct hp2_worker {
	struct hp2_stream *streams;
	struct hp2_stream_list free;
	char names[HP2_NAMES_MAX];
	/* the trailers being submitted (nghttp2 copies them at once) */
	struct h2_field tf[HP2_FIELDS_MAX];
	char trailer[HP_TRAILER_MAX];
};

/* The chunked decoder of a response body (RFC 9112 7.1; the exchange's parser
 * checked the bytes already: this only walks them). */
enum hp2_chunk {
	HP2_C_SIZE = 0, /* chunk-size digits */
	HP2_C_EXT,	/* chunk extensions, to the CR */
	HP2_C_SIZE_LF,
	HP2_C_DATA,
	HP2_C_DATA_CR,
	HP2_C_DATA_LF,
	HP2_C_TR,      /* a trailer line's start, or the final CRLF */
	HP2_C_TR_LINE, /* in a trailer line */
	HP2_C_END_LF,
	HP2_C_DONE,
};

static uint64_t hp2_now(const struct hp2_conn *c)
{
	return proxy_us(c->pw, c->pw->now_tsc);
}

static struct stats_block *hp2_stats(const struct hp2_conn *c)
{
	return c->pw->stats;
}

static void hp2_queue(struct hp2_stream *st)
{
	if (!st->queued) {
		st->queued = true;
		TAILQ_INSERT_TAIL(&st->c->work, st, work);
	}
}

/* ---- sending ---- */

/*
 * What nghttp2 has to send goes to the client, as far as its send buffer
 * takes it. Not inside nghttp2 (its callbacks queue, the caller flushes).
 */
static void hp2_flush(struct hp2_conn *c)
{
	struct rte_mempool *pool = c->pw->nw->pool;

	if (c->in_lib || c->dead || !proxy_end_open(c->down))
		return;
	c->in_lib = true;
	for (;;) {
		struct rte_mbuf *m;
		const uint8_t *p;
		ssize_t n;

		/* DATA frames join c->tx from inside h2_conn_send() (hp2_send_data()) */
		c->tx = NULL;
		c->tx_room = proxy_end_space(c->down);
		while (c->tx_room > 0 && (n = h2_conn_send(c->h2, &p)) > 0) {
			if (hp_put(pool, &c->tx, p, (uint32_t)n) != 0) {
				stats_inc(hp2_stats(c), STAT_HTTP_ALLOC_FAILED);
				c->failed = true; /* a frame lost: the connection cannot go on */
				break;
			}
			c->tx_room = (uint32_t)n >= c->tx_room ? 0 : c->tx_room - (uint32_t)n;
		}
		m = c->tx;
		c->tx = NULL;
		if (m == NULL)
			break;
		proxy_end_send(c->down, m);
		c->last_us = hp2_now(c);
		if (c->failed || c->tx_room > 0)
			break;
	}
	c->in_lib = false;
	/* streams whose buffers drained, outside hp2_process(): soon, from the timer */
	if (!TAILQ_EMPTY(&c->work) && c->timer_at > hp2_now(c) + 1) {
		c->timer_at = hp2_now(c) + 1;
		proxy_end_set_timer(c->down, 1);
	}
}

/* ---- the h2 layer's callbacks (inside nghttp2: record, act later) ---- */

static void *hp2_stream_open(void *arg, int32_t id)
{
	struct hp2_conn *c = arg;
	struct hp2_stream *st = TAILQ_FIRST(&c->w->free);

	c->pseudo_used = 0;
	c->method = c->path = c->authority = c->cookie = (struct http_view){NULL, 0};
	if (st == NULL)
		return NULL;
	TAILQ_REMOVE(&c->w->free, st, link);
	memset(st, 0, sizeof(*st));
	st->c = c;
	st->id = id;
	TAILQ_INSERT_TAIL(&c->streams, st, link);
	return st;
}

/* The request line and Host, from the pseudo-headers (before the first field). */
static int hp2_request_line(struct hp2_conn *c, struct hp2_stream *st)
{
	struct rte_mempool *pool = c->pw->nw->pool;
	struct http_view path = c->path.len > 0 ? c->path : c->authority; /* CONNECT */
	int rc = 0;

	st->line_done = true;
	st->head_only = c->method.len == 4 && memcmp(c->method.p, "HEAD", 4) == 0;
	rc |= hp_put(pool, &st->in, c->method.p, c->method.len);
	rc |= hp_put(pool, &st->in, " ", 1);
	rc |= hp_put(pool, &st->in, path.p, path.len);
	rc |= hp_put(pool, &st->in, " HTTP/1.1\r\n", 11);
	if (c->authority.len > 0) { /* RFC 9113 8.3.1: :authority is the Host */
		rc |= hp_put(pool, &st->in, "host: ", 6);
		rc |= hp_put(pool, &st->in, c->authority.p, c->authority.len);
		rc |= hp_put(pool, &st->in, "\r\n", 2);
	}
	return rc;
}

static int hp2_header(void *arg, void *sp, const uint8_t *name, size_t nlen, const uint8_t *value,
		      size_t vlen)
{
	struct hp2_conn *c = arg;
	struct hp2_stream *st = sp;
	struct rte_mempool *pool = c->pw->nw->pool;
	struct http_view *pv = NULL;
	int rc = 0;

	if (nlen > 0 && name[0] == ':') {
		if (nlen == 7 && memcmp(name, ":method", 7) == 0)
			pv = &c->method;
		else if (nlen == 5 && memcmp(name, ":path", 5) == 0)
			pv = &c->path;
		else if (nlen == 10 && memcmp(name, ":authority", 10) == 0)
			pv = &c->authority;
		if (pv == NULL)
			return 0; /* :scheme */
		if (vlen > sizeof(c->pseudo) - c->pseudo_used)
			return -1;
		memcpy(c->pseudo + c->pseudo_used, value, vlen);
		*pv = (struct http_view){c->pseudo + c->pseudo_used, (uint32_t)vlen};
		c->pseudo_used += (uint32_t)vlen;
		return 0;
	}
	if (!st->line_done)
		rc |= hp2_request_line(c, st);
	if (nlen == 6 && memcmp(name, "cookie", 6) == 0) {
		/* crumbs: one Cookie field for HTTP/1.1, joined by "; " (RFC 9113 8.2.3);
		 * the pseudo-headers, all before, are done with the scratch's start */
		uint32_t sep = c->cookie.len > 0 ? 2 : 0;

		if (vlen + sep > sizeof(c->pseudo) - c->pseudo_used)
			return -1;
		if (c->cookie.len == 0)
			c->cookie.p = c->pseudo + c->pseudo_used;
		memcpy(c->pseudo + c->pseudo_used, "; ", sep);
		memcpy(c->pseudo + c->pseudo_used + sep, value, vlen);
		c->pseudo_used += sep + (uint32_t)vlen;
		c->cookie.len += sep + (uint32_t)vlen;
		return 0;
	}
	if (nlen == 4 && memcmp(name, "host", 4) == 0 && c->authority.len > 0)
		return 0; /* :authority wins (RFC 9113 8.3.1) */
	if (nlen == 14 && memcmp(name, "content-length", 14) == 0)
		st->has_length = true;
	rc |= hp_put(pool, &st->in, name, (uint32_t)nlen);
	rc |= hp_put(pool, &st->in, ": ", 2);
	rc |= hp_put(pool, &st->in, value, (uint32_t)vlen);
	rc |= hp_put(pool, &st->in, "\r\n", 2);
	if (rc != 0)
		st->failed = true;
	return 0;
}

static void hp2_headers_done(void *arg, void *sp, unsigned int flags)
{
	struct hp2_conn *c = arg;
	struct hp2_stream *st = sp;
	struct rte_mempool *pool = c->pw->nw->pool;
	int rc = 0;

	if (!st->line_done)
		rc |= hp2_request_line(c, st);
	if (c->cookie.len > 0) {
		rc |= hp_put(pool, &st->in, "cookie: ", 8);
		rc |= hp_put(pool, &st->in, c->cookie.p, c->cookie.len);
		rc |= hp_put(pool, &st->in, "\r\n", 2);
	}
	st->too_large = (flags & H2_HDRS_TOO_LARGE) != 0;
	st->head_done = true;
	if (flags & H2_HDRS_END_STREAM) {
		st->in_data = 0;
	} else if (!st->has_length) {
		/* a body of unknown length: chunked to the HTTP/1.1 upstream */
		st->chunked = true;
		rc |= hp_put(pool, &st->in, "transfer-encoding: chunked\r\n", 28);
	}
	rc |= hp_put(pool, &st->in, "\r\n", 2);
	if (rc != 0)
		st->failed = true;
	hp2_queue(st);
}

static void hp2_data(void *arg, void *sp, const uint8_t *p, size_t len)
{
	struct hp2_conn *c = arg;
	struct hp2_stream *st = sp;
	struct rte_mempool *pool = c->pw->nw->pool;
	char hdr[HTTP_CHUNK_HDR_MAX];
	int rc = 0;

	if (st->started && st->x == NULL) {
		h2_stream_consume(c->h2, st->id, len); /* answered already: dropped */
		return;
	}
	if (st->chunked && len > 0) {
		rc |= hp_put(pool, &st->in, hdr, http_chunk_header(hdr, len, st->chunk_open));
		st->chunk_open = true;
	}
	rc |= hp_put(pool, &st->in, p, (uint32_t)len);
	st->in_data += len;
	if (rc != 0)
		st->failed = true;
	hp2_queue(st);
}

static bool hp2_is_hop(struct http_view name);

/*
 * A request trailer field (RFC 9110 6.5): kept as a chunked trailer line
 * when the body goes up chunked, else dropped (a content-length body has no
 * place for them in HTTP/1.1; counted at the end). Fields that frame or
 * route the message are not allowed in trailers (6.5.1): dropped.
 */
static void hp2_trailer(void *arg, void *sp, const uint8_t *name, size_t nlen, const uint8_t *value,
			size_t vlen)
{
	struct hp2_conn *c = arg;
	struct hp2_stream *st = sp;
	struct rte_mempool *pool = c->pw->nw->pool;
	struct http_view n = {(const char *)name, (uint32_t)nlen};
	int rc = 0;

	if (!st->chunked) {
		st->rtr_dropped = true;
		return;
	}
	if (hp_trailer_forbidden(n))
		return;
	rc |= hp_put(pool, &st->rtr, name, (uint32_t)nlen);
	rc |= hp_put(pool, &st->rtr, ": ", 2);
	rc |= hp_put(pool, &st->rtr, value, (uint32_t)vlen);
	rc |= hp_put(pool, &st->rtr, "\r\n", 2);
	if (rc != 0)
		st->failed = true;
}

static void hp2_end_stream(void *arg, void *sp)
{
	struct hp2_conn *c = arg;
	struct hp2_stream *st = sp;
	struct rte_mempool *pool = c->pw->nw->pool;
	char hdr[HTTP_CHUNK_HDR_MAX];
	int rc = 0;

	if (st->rtr_dropped)
		stats_inc(hp2_stats(c), STAT_H2_REQUEST_TRAILERS_DROPPED);
	if (st->chunked && st->rtr != NULL) {
		/* the last chunk, the trailer section, the CRLF that ends it (RFC 9112 7.1.2) */
		rc |= hp_put(pool, &st->in, st->chunk_open ? "\r\n0\r\n" : "0\r\n",
			     st->chunk_open ? 5 : 3);
		if (rc == 0) {
			hp_chain_append(&st->in, st->rtr);
		} else {
			rte_pktmbuf_free(st->rtr);
		}
		st->rtr = NULL;
		rc |= hp_put(pool, &st->in, "\r\n", 2);
		stats_inc(hp2_stats(c), STAT_H2_REQUEST_TRAILERS);
	} else if (st->chunked) {
		rc |= hp_put(pool, &st->in, hdr, http_chunk_header(hdr, 0, st->chunk_open));
	}
	if (rc != 0)
		st->failed = true;
	hp2_queue(st);
}

static void hp2_closed(void *arg, void *sp, uint32_t code)
{
	struct hp2_stream *st = sp;

	(void)arg;
	(void)code;
	st->closed = true;
	hp2_queue(st);
}

/* The next DATA frame of @p st: how many bytes (nghttp2's window and frame
 * size give @p len), taken by hp2_send_data() without a copy. */
static size_t hp2_read(void *arg, void *sp, uint8_t *buf, size_t len, bool *eof)
{
	struct hp2_stream *st = sp;
	uint32_t have = st->out != NULL ? st->out->pkt_len : 0,
		 n = (uint32_t)RTE_MIN((size_t)have, len);

	(void)arg;
	(void)buf;		      /* NULL: hp2_h2_cbs has send_data */
	h2_stall_sent(&st->stall, n); /* what the window lets go */
	*eof = n == have && st->out_eof;
	return n;
}

/* The DATA frame hp2_read() sized: its header, then its bytes moved from
 * st->out onto the client's chain (split at the frame's end). */
static int hp2_send_data(void *arg, void *sp, const uint8_t *hd, size_t len)
{
	struct hp2_conn *c = arg;
	struct hp2_stream *st = sp;
	struct rte_mempool *pool = c->pw->nw->pool;
	uint32_t have = st->out != NULL ? st->out->pkt_len : 0;
	bool was_full = have >= HP2_OUT_MAX;
	struct rte_mbuf *rest = NULL;

	if (9 + len > c->tx_room)
		return -EAGAIN;
	if (len > have)
		return -1; /* not what read promised */
	if (len > 0 && len < have && http_chain_split(st->out, (uint32_t)len, pool, &rest) != 0)
		return -EAGAIN; /* out of mbufs: again later */
	if (hp_put(pool, &c->tx, hd, 9) != 0) {
		if (rest != NULL) /* undo the split */
			hp_chain_append(&st->out, rest);
		return -EAGAIN;
	}
	if (len > 0) {
		hp_chain_append(&c->tx, st->out);
		st->out = rest;
	}
	c->tx_room -= (uint32_t)(9 + len);
	if (was_full && st->x != NULL)
		hp2_queue(st); /* its exchange may read the upstream again */
	return 0;
}

/*
 * The response's trailer section as HTTP/2 trailers (RFC 9113 8.1): its
 * "name: value" lines (hp_trailer_fields()).
 */
static size_t hp2_trailers(void *arg, void *sp, const struct h2_field **f)
{
	struct hp2_stream *st = sp;
	struct hp2_worker *w = ((struct hp2_conn *)arg)->w;

	*f = w->tf;
	return hp_trailer_fields(st->tr, w->trailer, w->tf, HP2_FIELDS_MAX);
}

size_t hp_trailer_fields(const struct rte_mbuf *tr, char buf[HP_TRAILER_MAX], struct h2_field *f,
			 size_t max)
{
	uint32_t len = tr != NULL ? RTE_MIN(tr->pkt_len, (uint32_t)HP_TRAILER_MAX) : 0;
	const char *p;
	size_t n = 0;

	if (len == 0)
		return 0;
	p = rte_pktmbuf_read(tr, 0, len, buf);
	if (p != buf)
		memcpy(buf, p, len);
	for (uint32_t i = 0; i < len && n < max;) {
		uint32_t e = i, colon = 0, v;

		while (e < len && buf[e] != '\n')
			e++;
		while (colon < e - i && buf[i + colon] != ':')
			colon++;
		v = i + colon + 1;
		while (v < e && (buf[v] == ' ' || buf[v] == '\t'))
			v++;
		if (colon > 0 && colon < e - i) {
			uint32_t vend = e;
			struct http_view name = {buf + i, colon};

			while (vend > v && (buf[vend - 1] == '\r' || buf[vend - 1] == ' ' ||
					    buf[vend - 1] == '\t'))
				vend--;
			for (uint32_t k = 0; k < colon; k++)
				if (buf[i + k] >= 'A' && buf[i + k] <= 'Z')
					buf[i + k] = (char)(buf[i + k] + 32);
			if (!hp_trailer_forbidden(name))
				f[n++] = (struct h2_field){name.p, colon, buf + v, vend - v};
		}
		i = e + 1;
	}
	return n;
}

static const struct h2_callbacks hp2_h2_cbs = {
	.stream_open = hp2_stream_open,
	.header = hp2_header,
	.headers_done = hp2_headers_done,
	.data = hp2_data,
	.trailer = hp2_trailer,
	.end_stream = hp2_end_stream,
	.closed = hp2_closed,
	.read = hp2_read,
	.send_data = hp2_send_data,
	.trailers = hp2_trailers,
};

/* ---- the exchange's downstream ops (struct hp_down_ops) ---- */

static struct rte_mbuf *hp2_recv(void *d, uint32_t max)
{
	struct hp2_stream *st = d;
	struct rte_mbuf *m = st->in, *rest = NULL;
	uint64_t k;

	if (m == NULL)
		return NULL;
	if (m->pkt_len > max) {
		if (http_chain_split(m, max, st->c->pw->nw->pool, &rest) != 0)
			return NULL; /* out of mbufs: later */
	}
	st->in = rest;
	/* the DATA in it goes on: the client may send as much again (framing
	 * bytes make this open the window a little early, never more in all) */
	k = RTE_MIN((uint64_t)m->pkt_len, st->in_data);
	st->in_data -= k;
	h2_stream_consume(st->c->h2, st->id, k);
	hp2_flush(st->c);
	return m;
}

static bool hp2_eof(void *d)
{
	return ((struct hp2_stream *)d)->closed;
}

static bool hp2_open(void *d)
{
	struct hp2_stream *st = d;

	return !st->closed && !st->c->dead;
}

static uint32_t hp2_space(void *d)
{
	struct hp2_stream *st = d;
	uint32_t have = st->out != NULL ? st->out->pkt_len : 0;

	return have < HP2_OUT_MAX ? HP2_OUT_MAX - have : 0;
}

struct hp2_fields {
	struct h2_field f[HP2_FIELDS_MAX];
	size_t n;
	char *names;
	uint32_t used;
	int bytes;
};

bool hp_trailer_forbidden(struct http_view name)
{
	return hp2_is_hop(name) || http_view_eq_nocase(name, "content-length", 14) ||
	       http_view_eq_nocase(name, "host", 4);
}

/* Connection-specific fields (RFC 9113 8.2.2): never in an HTTP/2 message. */
static bool hp2_is_hop(struct http_view name)
{
	static const struct http_view names[] = {
		{"connection", 10}, {"keep-alive", 10},	       {"proxy-connection", 16},
		{"upgrade", 7},	    {"transfer-encoding", 17}, {"te", 2},
	};

	for (size_t i = 0; i < RTE_DIM(names); i++)
		if (http_view_eq_nocase(name, names[i].p, names[i].len))
			return true;
	return false;
}

/*
 * One response field for HTTP/2: lower case, no connection-specific one (the
 * head's hop-by-hop fields are gone already; these are the engine's own
 * additions, as connection: close, and Transfer-Encoding).
 */
static int hp2_field(void *arg, struct http_view name, struct http_view value)
{
	struct hp2_fields *fs = arg;
	char *n;

	if (hp2_is_hop(name))
		return 0;
	if (fs->n >= HP2_FIELDS_MAX || name.len > HP2_NAMES_MAX - fs->used)
		return -ENOBUFS;
	n = fs->names + fs->used;
	for (uint32_t i = 0; i < name.len; i++)
		n[i] = (char)(name.p[i] >= 'A' && name.p[i] <= 'Z' ? name.p[i] + 32 : name.p[i]);
	fs->used += name.len;
	fs->f[fs->n++] = (struct h2_field){n, name.len, value.p, value.len};
	fs->bytes += (int)(name.len + value.len + 4);
	return 0;
}

/* A 1xx before the final response (100 Continue, 103 Early Hints): a HEADERS of its own. */
static void hp2_informational(void *d, const struct http_msg *msg)
{
	static const struct http_edit ed = {.drop_hop_by_hop = true};
	struct hp2_stream *st = d;
	struct hp2_fields fs = {.names = st->c->w->names};

	if (http_head_fields(msg, &ed, hp2_field, &fs) != 0 ||
	    h2_informational(st->c->h2, st->id, msg->status, fs.f, fs.n) != 0)
		return; /* not passed on: the final response still comes */
	hp2_flush(st->c);
}

static int hp2_head(void *d, const struct http_msg *msg, const struct http_edit *ed)
{
	struct hp2_stream *st = d;
	struct hp2_fields fs = {.names = st->c->w->names};
	int rc = http_head_fields(msg, ed, hp2_field, &fs);

	if (rc != 0)
		return rc;
	st->dechunk = msg->framing == HTTP_BODY_CHUNKED;
	/* no body: END_STREAM with the head (a gRPC trailers-only response stays one) */
	if (h2_respond(st->c->h2, st->id, msg->status, fs.f, fs.n,
		       msg->framing != HTTP_BODY_NONE && !(msg->framing == HTTP_BODY_LENGTH &&
							   msg->content_length == 0)) != 0)
		return -EPIPE;
	hp2_flush(st->c);
	return fs.bytes + 16;
}

/* A response made here: @p status, text/plain @p body (dropped for HEAD),
 * @p n_hdrs more fields. */
static int hp2_answer(struct hp2_stream *st, unsigned int status, const char *body, uint32_t len,
		      const struct http_header *hdrs, uint32_t n_hdrs)
{
	const struct proxy_http_opts *h = &st->c->pl->http;
	struct h2_field f[3 + HP_LOCAL_HDRS];
	char cl[16];
	size_t n = 0;
	int k = snprintf(cl, sizeof(cl), "%u", len);
	bool typed = false;

	for (uint32_t i = 0; i < n_hdrs && i < HP_LOCAL_HDRS; i++)
		typed |= http_view_eq_nocase(hdrs[i].name, "content-type", 12);
	f[n++] = (struct h2_field){"content-length", 14, cl, (uint32_t)k};
	if (!typed)
		f[n++] = (struct h2_field){"content-type", 12, "text/plain", 10};
	if (h->server_name[0] != '\0')
		f[n++] = (struct h2_field){"server", 6, h->server_name,
					   (uint32_t)strlen(h->server_name)};
	for (uint32_t i = 0; i < n_hdrs && i < HP_LOCAL_HDRS; i++)
		f[n++] = (struct h2_field){hdrs[i].name.p, hdrs[i].name.len, hdrs[i].value.p,
					   hdrs[i].value.len};
	if (len > 0 && !st->head_only && hp_put(st->c->pw->nw->pool, &st->out, body, len) != 0)
		return -ENOMEM;
	st->out_eof = true;
	if (h2_respond(st->c->h2, st->id, status, f, n, len > 0 && !st->head_only) != 0)
		return -EPIPE;
	hp2_flush(st->c);
	return (int)len + 64;
}

static int hp2_local(void *d, unsigned int status, const char *body, uint32_t len,
		     const struct http_header *hdrs, uint32_t n_hdrs, bool close)
{
	(void)close; /* a stream's answer closes only the stream */
	return hp2_answer(d, status, body, len, hdrs, n_hdrs);
}

/* Walk the chunked bytes of @p m: their data to st->out, the trailer lines to st->tr. */
static int hp2_dechunk(struct hp2_stream *st, const struct rte_mbuf *m)
{
	struct rte_mempool *pool = st->c->pw->nw->pool;

	for (const struct rte_mbuf *seg = m; seg != NULL; seg = seg->next) {
		const char *p = rte_pktmbuf_mtod(seg, const char *);
		uint32_t n = seg->data_len, i = 0;

		while (i < n) {
			char c = p[i];

			switch (st->cs) {
			case HP2_C_DATA: {
				uint32_t k = (uint32_t)RTE_MIN((uint64_t)(n - i), st->crem);

				if (hp_put(pool, &st->out, p + i, k) != 0)
					return -ENOMEM;
				i += k;
				st->crem -= k;
				if (st->crem == 0)
					st->cs = HP2_C_DATA_CR;
				continue;
			}
			case HP2_C_SIZE:
				if (c == '\r')
					st->cs = HP2_C_SIZE_LF;
				else if (c == ';' || c == ' ' || c == '\t')
					st->cs = HP2_C_EXT;
				else
					st->crem = st->crem * 16 +
						   (uint64_t)(c <= '9' ? c - '0'
								       : (c | 0x20) - 'a' + 10);
				break;
			case HP2_C_EXT:
				if (c == '\r')
					st->cs = HP2_C_SIZE_LF;
				break;
			case HP2_C_SIZE_LF:
				st->cs = st->crem != 0 ? HP2_C_DATA : HP2_C_TR;
				break;
			case HP2_C_DATA_CR:
				st->cs = HP2_C_DATA_LF;
				break;
			case HP2_C_DATA_LF:
				st->cs = HP2_C_SIZE;
				break;
			case HP2_C_TR:
				if (c == '\r') {
					st->cs = HP2_C_END_LF;
					break;
				}
				st->cs = HP2_C_TR_LINE;
				/* fall through */
			case HP2_C_TR_LINE:
				if (hp_put(pool, &st->tr, &c, 1) != 0)
					return -ENOMEM;
				if (c == '\n')
					st->cs = HP2_C_TR;
				break;
			case HP2_C_END_LF:
				st->cs = HP2_C_DONE;
				break;
			default: /* after the message: nothing is sent on */
				break;
			}
			i++;
		}
	}
	return 0;
}

static void hp2_send(void *d, struct rte_mbuf *m)
{
	struct hp2_stream *st = d;

	if (st->dechunk) {
		if (hp2_dechunk(st, m) != 0) {
			stats_inc(hp2_stats(st->c), STAT_HTTP_ALLOC_FAILED);
			st->failed = true;
			hp2_queue(st);
		}
		rte_pktmbuf_free(m);
		h2_stream_resume(st->c->h2, st->id);
		hp2_flush(st->c);
		return;
	}
	hp_chain_append(&st->out, m);
	h2_stream_resume(st->c->h2, st->id);
	hp2_flush(st->c);
}

static void hp2_done(void *d)
{
	struct hp2_stream *st = d;
	struct hp_session *x = st->x;

	st->x = NULL;
	st->out_eof = true;
	rte_pktmbuf_free(st->in); /* a body the response did not wait for */
	st->in = NULL;
	h2_stream_consume(st->c->h2, st->id, st->in_data);
	st->in_data = 0;
	h2_stream_resume(st->c->h2, st->id);
	hp_exchange_free(x);
	hp2_flush(st->c);
}

static void hp2_reset(void *d)
{
	struct hp2_stream *st = d;
	struct hp_session *x = st->x;

	st->x = NULL;
	if (!st->closed && !st->c->dead)
		h2_stream_reset(st->c->h2, st->id, H2_INTERNAL_ERROR);
	hp_exchange_free(x);
	hp2_flush(st->c);
}

/* End the response with @p lines as its trailers (a gRPC deadline, http_proxy.c). */
static int hp2_grpc_end(void *d, const char *lines, uint32_t len)
{
	struct hp2_stream *st = d;
	struct rte_mbuf *t = NULL;

	if (hp_put(st->c->pw->nw->pool, &t, lines, len) != 0) {
		rte_pktmbuf_free(t);
		return -1;
	}
	/* the upstream's trailer lines (if some came) give way; its chunks stop here */
	rte_pktmbuf_free(st->tr);
	st->tr = t;
	st->dechunk = false;
	hp2_done(d);
	return 0;
}

static void hp2_timer_set(void *d, uint64_t us)
{
	struct hp2_stream *st = d;
	struct hp2_conn *c = st->c;
	uint64_t now = hp2_now(c);

	st->deadline_us = us != 0 ? now + us : 0;
	if (st->deadline_us != 0 && st->deadline_us < c->timer_at && !c->dead) {
		c->timer_at = st->deadline_us;
		proxy_end_set_timer(c->down, us);
	}
}

static const struct hp_down_ops hp2_down = {
	.framed = true,
	.recv = hp2_recv,
	.eof = hp2_eof,
	.open = hp2_open,
	.space = hp2_space,
	.head = hp2_head,
	.local = hp2_local,
	.send = hp2_send,
	.done = hp2_done,
	.reset = hp2_reset,
	.timer = hp2_timer_set,
	.grpc_end = hp2_grpc_end,
	.informational = hp2_informational,
};

/* ---- the connection ---- */

static void hp2_stream_free(struct hp2_stream *st)
{
	struct hp2_conn *c = st->c;

	if (st->queued)
		TAILQ_REMOVE(&c->work, st, work);
	/* DATA it held still counts against the connection's window: give it back */
	if (!c->dead)
		h2_stream_consume(c->h2, st->id, st->in_data);
	TAILQ_REMOVE(&c->streams, st, link);
	rte_pktmbuf_free(st->in);
	rte_pktmbuf_free(st->out);
	rte_pktmbuf_free(st->tr);
	rte_pktmbuf_free(st->rtr);
	st->in = st->out = st->tr = st->rtr = NULL;
	st->c = NULL;
	TAILQ_INSERT_HEAD(&c->w->free, st, link);
}

/* Act on what nghttp2 recorded and on drained streams, outside nghttp2. */
static void hp2_work(struct hp2_conn *c)
{
	struct hp2_stream *st;

	while (!c->failed && (st = TAILQ_FIRST(&c->work)) != NULL) {
		TAILQ_REMOVE(&c->work, st, work);
		st->queued = false;
		if (st->closed) {
			if (st->x != NULL)
				hp_exchange_reset(st->x); /* the client reset it */
			hp2_stream_free(st);
			continue;
		}
		if (st->failed) {
			stats_inc(hp2_stats(c), STAT_HTTP_ALLOC_FAILED);
			if (st->x != NULL)
				hp_exchange_reset(st->x);
			else
				h2_stream_reset(c->h2, st->id, H2_INTERNAL_ERROR);
			st->started = true;
			continue;
		}
		if (st->head_done && !st->started) {
			st->started = true;
			if (st->too_large) {
				if (hp2_answer(st, 431, "request header fields too large\n", 32,
					       NULL, 0) < 0)
					h2_stream_reset(c->h2, st->id, H2_INTERNAL_ERROR);
				continue;
			}
			st->x = hp_exchange_open(c->cs, &hp2_down, st);
			if (st->x == NULL) {
				stats_inc(hp2_stats(c), STAT_H2_STREAMS_REFUSED);
				h2_stream_reset(c->h2, st->id, H2_REFUSED_STREAM);
				continue;
			}
		}
		if (st->x != NULL)
			hp_exchange_kick(st->x);
	}
}

/* The connection's timer: the earliest stream timer, the idle timeout, the drain check. */
static void hp2_arm(struct hp2_conn *c)
{
	uint64_t now = hp2_now(c), next = now + HP2_CHECK_US;
	struct hp2_stream *st;

	TAILQ_FOREACH(st, &c->streams, link)
	if (st->deadline_us != 0 && st->deadline_us < next)
		next = st->deadline_us;
	if (TAILQ_EMPTY(&c->streams) && c->pl->idle_timeout_us != 0)
		next = RTE_MIN(next, c->last_us + c->pl->idle_timeout_us);
	c->timer_at = next;
	proxy_end_set_timer(c->down, next > now ? next - now : 1);
}

/*
 * Window starvation (RFC 9113 6.9 leaves it to us): a response whose bytes
 * wait in out on a window the client keeps closed holds its exchange, its
 * upstream connection and up to HP2_OUT_MAX bytes; past
 * window_stall_timeout_ms the stream is reset (its closed callback then
 * resets the exchange), or the connection closed when its own window is the
 * one kept closed. Every round, so that a client busy with other frames does
 * not keep it off. @return false when the connection is over.
 */
static bool hp2_stalls(struct hp2_conn *c)
{
	uint64_t now = hp2_now(c);
	struct hp2_stream *st;
	bool any = false;

	TAILQ_FOREACH(st, &c->streams, link)
	{
		bool pending = !st->closed && st->out != NULL && st->out->pkt_len > 0;

		any |= pending;
		h2_stream_stall_check(c->h2, st->id, pending, &st->stall, now);
	}
	return !h2_conn_stall_check(c->h2, any, now);
}

/* After a round: close when nghttp2 is done (or something failed), else re-arm. */
static bool hp2_settle(struct hp2_conn *c)
{
	if (!hp2_stalls(c)) { /* its GOAWAY goes, then the close */
		hp2_flush(c);
		return false;
	}
	hp2_work(c);
	hp2_flush(c);
	if (c->failed || h2_conn_done(c->h2) || proxy_end_eof(c->down))
		return false;
	hp2_arm(c);
	return true;
}

/* Feed @p m (freed) to nghttp2. @return false when the connection is over. */
static bool hp2_feed(struct hp2_conn *c, struct rte_mbuf *m)
{
	uint64_t now = hp2_now(c);
	bool ok = true;

	c->last_us = now;
	c->in_lib = true;
	for (struct rte_mbuf *seg = m; seg != NULL && ok; seg = seg->next)
		ok = h2_conn_recv(c->h2, rte_pktmbuf_mtod(seg, const uint8_t *), seg->data_len,
				  now) == 0;
	c->in_lib = false;
	rte_pktmbuf_free(m);
	return ok;
}

bool hp2_process(struct hp2_conn *c)
{
	struct rte_mbuf *m;
	bool ok = true;

	if (c->rx != NULL) {
		m = c->rx;
		c->rx = NULL;
		ok = hp2_feed(c, m);
		hp2_work(c);
	}
	while (ok && (m = proxy_end_recv(c->down, HP2_RX_MAX)) != NULL) {
		ok = hp2_feed(c, m);
		hp2_work(c);
	}
	if (!ok) { /* a connection error or a limit: its GOAWAY goes, then the close */
		hp2_flush(c);
		return false;
	}
	return hp2_settle(c);
}

bool hp2_timer(struct hp2_conn *c)
{
	uint64_t now = hp2_now(c);
	struct hp2_stream *st, *next;

	for (st = TAILQ_FIRST(&c->streams); st != NULL; st = next) {
		next = TAILQ_NEXT(st, link);
		if (st->x != NULL && st->deadline_us != 0 && st->deadline_us <= now) {
			st->deadline_us = 0;
			hp_exchange_timer(st->x);
		}
	}
	if (!c->pl->listening) /* the listener left the config: drain */
		h2_conn_drain(c->h2);
	if (TAILQ_EMPTY(&c->streams) && c->pl->idle_timeout_us != 0 &&
	    now >= c->last_us + c->pl->idle_timeout_us) {
		stats_inc(hp2_stats(c), STAT_HTTP_IDLE_TIMEOUTS);
		h2_conn_drain(c->h2);
	}
	return hp2_settle(c);
}

int hp2_upgrade(struct hp2_conn *c, const uint8_t *settings, size_t len, struct rte_mbuf *head,
		bool head_only)
{
	struct hp2_stream *st = hp2_stream_open(c, 1);

	if (st == NULL) {
		rte_pktmbuf_free(head);
		return -1;
	}
	st->in = head;
	st->line_done = st->head_done = true;
	st->head_only = head_only;
	if (h2_conn_upgrade(c->h2, settings, len, head_only, st) != 0) {
		hp2_stream_free(st);
		return -1;
	}
	hp2_queue(st);
	return 0;
}

void hp2_drain(struct hp2_conn *c)
{
	h2_conn_drain(c->h2);
}

int hp2_preface(const struct rte_mbuf *rx)
{
	char buf[HP2_PREFACE_LEN];
	uint32_t n;
	const char *p;

	if (rx == NULL)
		return 0;
	n = RTE_MIN(rx->pkt_len, (uint32_t)HP2_PREFACE_LEN);
	p = rte_pktmbuf_read(rx, 0, n, buf);
	if (memcmp(p, hp2_preface_bytes, n) != 0)
		return -1;
	return n == HP2_PREFACE_LEN ? 1 : 0;
}

struct hp2_conn *hp2_start(struct hp2_worker *w, struct hp_session *cs, struct proxy_listener *pl,
			   struct proxy_end *down, struct rte_mbuf *rx)
{
	struct hp2_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->w = w;
	c->cs = cs;
	c->pl = pl;
	c->pw = pl->pw;
	c->down = down;
	c->rx = rx;
	TAILQ_INIT(&c->streams);
	TAILQ_INIT(&c->work);
	c->timer_at = UINT64_MAX;
	c->last_us = hp2_now(c);
	c->h2 = h2_conn_create(&pl->http.h2.lim, &hp2_h2_cbs, c, c->pw->stats);
	if (c->h2 == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void hp2_free(struct hp2_conn *c)
{
	struct hp2_stream *st;

	c->dead = true;
	while ((st = TAILQ_FIRST(&c->streams)) != NULL) {
		st->closed = true;
		if (st->x != NULL)
			hp_exchange_reset(st->x);
		hp2_stream_free(st);
	}
	rte_pktmbuf_free(c->rx);
	h2_conn_free(c->h2);
	free(c);
}

struct hp2_worker *hp2_worker_create(uint32_t n)
{
	struct hp2_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->streams = calloc(n, sizeof(*w->streams));
	if (w->streams == NULL) {
		free(w);
		return NULL;
	}
	TAILQ_INIT(&w->free);
	for (uint32_t i = n; i-- > 0;)
		TAILQ_INSERT_HEAD(&w->free, &w->streams[i], link);
	return w;
}

void hp2_worker_free(struct hp2_worker *w)
{
	if (w == NULL)
		return;
	free(w->streams);
	free(w);
}
