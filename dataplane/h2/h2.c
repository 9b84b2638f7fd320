/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * h2: nghttp2 server sessions driven by memory (mem_recv / mem_send), with
 * the per-connection abuse limits of h2.h. See h2.h for the contract.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "h2.h"

#define H2_DEF_STREAMS	   100
#define H2_DEF_HDR_LIST	   65536
#define H2_DEF_WINDOW	   65535
#define H2_DEF_CONN_WINDOW (1u << 20)
#define H2_DEF_PER_S	   100
#define H2_DEF_STALL_MS	   10000
#define H2_DEF_CONTS	   8  /* CONTINUATION frames after a HEADERS (nghttp2's own default) */
#define H2_HDR_OVERHEAD	   32 /* per field, RFC 9113 6.5.2 */
#define H2_WINDOW_US	   1000000ull
#define H2_MIN(a, b)	   ((a) < (b) ? (a) : (b))
#define H2_FIELDS_MAX	   128 /* fields of a head or trailer section we send */

/* One per-second budget (rapid reset, control frames, empty DATA). */
struct h2_rate {
	uint64_t start_us;
	uint32_t n;
};

struct h2_conn {
	nghttp2_session *s;
	nghttp2_mem mem;
	size_t mem_bytes; /* what nghttp2 holds (the allocator's count) */
	const struct h2_callbacks *cb;
	void *arg;
	struct stats_block *stats;
	struct h2_limits lim;
	uint64_t now_us;
	struct h2_rate resets, control, empty;
	struct h2_stall stall; /* DATA waiting on a closed connection window */
	uint32_t hdr_bytes;    /* the header block being decoded, as 6.5.2 counts */
	bool hdr_dropped;      /* ... over the limit: its fields are not passed on */
	bool goaway;
	bool failed;	    /* a limit or a connection error: nothing more is read */
	bool calm;	    /* a limit: GOAWAY ENHANCE_YOUR_CALM once nghttp2 returned */
	bool client;	    /* an upstream connection (h2_client_create()) */
	bool peer_goaway;   /* the peer sent GOAWAY: no new stream */
	bool peer_settings; /* the peer's first SETTINGS came (its stream limit is known) */
};

/* ---- the allocator: a size word before each block, so frees are counted ---- */

#define H2_MEM_HDR 16 /* keeps malloc's alignment */

static void *h2_malloc(size_t size, void *ud)
{
	struct h2_conn *c = ud;
	uint8_t *p = malloc(size + H2_MEM_HDR);

	if (p == NULL)
		return NULL;
	memcpy(p, &size, sizeof(size));
	c->mem_bytes += size;
	return p + H2_MEM_HDR;
}

static void h2_free(void *ptr, void *ud)
{
	struct h2_conn *c = ud;
	uint8_t *p = ptr;
	size_t size;

	if (p == NULL)
		return;
	p -= H2_MEM_HDR;
	memcpy(&size, p, sizeof(size));
	c->mem_bytes -= size;
	free(p);
}

static void *h2_calloc(size_t n, size_t size, void *ud)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	p = h2_malloc(n * size, ud);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

static void *h2_realloc(void *ptr, size_t size, void *ud)
{
	uint8_t *p = ptr, *np;
	size_t old;

	if (p == NULL)
		return h2_malloc(size, ud);
	if (size == 0) {
		h2_free(ptr, ud);
		return NULL;
	}
	memcpy(&old, p - H2_MEM_HDR, sizeof(old));
	np = h2_malloc(size, ud);
	if (np == NULL)
		return NULL;
	memcpy(np, p, old < size ? old : size);
	h2_free(ptr, ud);
	return np;
}

/* ---- limits ---- */

/* Count one event against @p r; @return true when it goes over @p max in the current second. */
static bool h2_rate_over(struct h2_conn *c, struct h2_rate *r, uint32_t max)
{
	if (c->now_us - r->start_us >= H2_WINDOW_US) {
		r->start_us = c->now_us;
		r->n = 0;
	}
	return ++r->n > max;
}

/*
 * Close the connection over a limit: nothing more read, GOAWAY
 * ENHANCE_YOUR_CALM queued by h2_conn_recv() once nghttp2 returned (from
 * inside a callback nghttp2 1.52 asserts on it for some frames: the callback
 * fails the read instead).
 */
static void h2_calm(struct h2_conn *c, enum stats_id why)
{
	if (c->failed)
		return;
	c->failed = true;
	c->calm = true;
	c->goaway = true;
	stats_inc(c->stats, why);
}

/* ---- nghttp2 callbacks ---- */

static int h2_on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2_conn *c = ud;
	void *st;

	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	c->hdr_bytes = 0;
	c->hdr_dropped = false;
	if (c->client || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* a response's stream is ours; request trailers: the trailer callback */
	stats_inc(c->stats, STAT_H2_STREAMS);
	st = c->cb->stream_open(c->arg, f->hd.stream_id);
	if (st == NULL) {
		stats_inc(c->stats, STAT_H2_STREAMS_REFUSED);
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id,
					  NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
	return 0;
}

static int h2_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
			size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct h2_conn *c = ud;
	void *st;

	bool trailer;

	(void)flags;
	if (f->hd.type != NGHTTP2_HEADERS || c->hdr_dropped)
		return 0;
	/* the server side's trailers: a HEADERS after the request head */
	trailer = !c->client && f->headers.cat == NGHTTP2_HCAT_HEADERS;
	if (!c->client && f->headers.cat != NGHTTP2_HCAT_REQUEST && !trailer)
		return 0;
	if (trailer && c->cb->trailer == NULL)
		return 0;
	st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (st == NULL)
		return 0;
	c->hdr_bytes += (uint32_t)(nlen + vlen + H2_HDR_OVERHEAD);
	if (c->hdr_bytes > c->lim.max_header_list_size)
		c->hdr_dropped = true;
	else if (trailer)
		c->cb->trailer(c->arg, st, name, nlen, value, vlen);
	else if (c->cb->header(c->arg, st, name, nlen, value, vlen) != 0)
		c->hdr_dropped = true;
	return 0;
}

static int h2_on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2_conn *c = ud;
	void *st = f->hd.stream_id != 0 ? nghttp2_session_get_stream_user_data(s, f->hd.stream_id)
					: NULL;

	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		if (st == NULL)
			break;
		if (c->client || f->headers.cat == NGHTTP2_HCAT_REQUEST) {
			unsigned int fl = 0;

			if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
				fl |= H2_HDRS_END_STREAM;
			if (c->hdr_dropped) {
				fl |= H2_HDRS_TOO_LARGE;
				stats_inc(c->stats, STAT_H2_HEADERS_TOO_LARGE);
			}
			c->cb->headers_done(c->arg, st, fl);
			if (c->client && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
				c->cb->end_stream(c->arg, st);
		} else if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
			c->cb->end_stream(c->arg, st); /* after trailers */
		}
		break;
	case NGHTTP2_DATA:
		if (f->hd.length == 0 && !(f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
		    h2_rate_over(c, &c->empty, c->lim.max_empty_data_per_s)) {
			h2_calm(c, STAT_H2_EMPTY_DATA_FLOOD_CLOSED);
			break;
		}
		if (st != NULL && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
			c->cb->end_stream(c->arg, st);
		break;
	case NGHTTP2_GOAWAY:
		if (c->client) {
			c->peer_goaway = true;
			stats_inc(c->stats, STAT_H2_UP_GOAWAYS);
		}
		break;
	case NGHTTP2_RST_STREAM:
		stats_inc(c->stats, c->client ? STAT_H2_UP_RESETS : STAT_H2_RESETS_RECEIVED);
		if (h2_rate_over(c, &c->resets, c->lim.max_resets_per_s))
			h2_calm(c, STAT_H2_RAPID_RESET_CLOSED);
		break;
	case NGHTTP2_SETTINGS:
		if (!(f->hd.flags & NGHTTP2_FLAG_ACK))
			c->peer_settings = true;
		/* fall through */
	case NGHTTP2_PING:
		if (!(f->hd.flags & NGHTTP2_FLAG_ACK) &&
		    h2_rate_over(c, &c->control, c->lim.max_control_per_s))
			h2_calm(c, STAT_H2_CONTROL_FLOOD_CLOSED);
		break;
	default:
		break;
	}
	return c->calm ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int h2_on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *p,
			    size_t len, void *ud)
{
	struct h2_conn *c = ud;
	void *st = nghttp2_session_get_stream_user_data(s, id);

	(void)flags;
	if (st != NULL)
		c->cb->data(c->arg, st, p, len);
	else /* a stream refused or gone: its bytes open the windows at once */
		nghttp2_session_consume(s, id, len);
	return 0;
}

static int h2_on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct h2_conn *c = ud;
	void *st = nghttp2_session_get_stream_user_data(s, id);

	if (st != NULL) {
		nghttp2_session_set_stream_user_data(s, id, NULL);
		c->cb->closed(c->arg, st, code);
	}
	return 0;
}

static int h2_on_invalid_frame(nghttp2_session *s, const nghttp2_frame *f, int err, void *ud)
{
	struct h2_conn *c = ud;

	(void)s;
	(void)f;
	(void)err;
	stats_inc(c->stats, STAT_H2_STREAM_ERRORS);
	return 0;
}

static ssize_t h2_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
		       nghttp2_data_source *src, void *ud)
{
	struct h2_conn *c = ud;
	/* the stream's pointer, not the provider's: a stream its user forgot reads nothing */
	void *st = nghttp2_session_get_stream_user_data(s, id);
	bool eof = false;
	size_t n;

	(void)src;
	if (st == NULL)
		return NGHTTP2_ERR_DEFERRED;
	if (c->cb->send_data != NULL) { /* DATA without a copy: h2_send_data() */
		n = c->cb->read(c->arg, st, NULL, len, &eof);
		if (n > 0 || eof)
			*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	} else {
		n = c->cb->read(c->arg, st, buf, len, &eof);
	}
	h2_stall_sent(&c->stall, n); /* what the connection's window let go */
	if (eof) {
		const struct h2_field *f = NULL;
		size_t nf = c->cb->trailers != NULL ? c->cb->trailers(c->arg, st, &f) : 0;
		nghttp2_nv nv[H2_FIELDS_MAX];

		*flags |= NGHTTP2_DATA_FLAG_EOF;
		/* trailers end the stream instead (nghttp2 allows them from here) */
		if (nf > 0) {
			for (size_t i = 0; i < nf && i < H2_FIELDS_MAX; i++)
				nv[i] = (nghttp2_nv){(uint8_t *)f[i].name, (uint8_t *)f[i].value,
						     f[i].nlen, f[i].vlen, NGHTTP2_NV_FLAG_NONE};
			if (nghttp2_submit_trailer(s, id, nv, H2_MIN(nf, H2_FIELDS_MAX)) == 0)
				*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
		}
	} else if (n == 0) {
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

/* A DATA frame whose read said NO_COPY: its user sends header and bytes. */
static int h2_send_data(nghttp2_session *s, nghttp2_frame *f, const uint8_t *hd, size_t len,
			nghttp2_data_source *src, void *ud)
{
	struct h2_conn *c = ud;
	void *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	int rc;

	(void)src;
	if (st == NULL || f->data.padlen > 0) /* no padding is asked for */
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	rc = c->cb->send_data(c->arg, st, hd, len);
	if (rc == -EAGAIN)
		return NGHTTP2_ERR_WOULDBLOCK;
	return rc == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

/* ---- the API ---- */

static nghttp2_session_callbacks *h2_callbacks_get(void)
{
	static nghttp2_session_callbacks *cbs; /* built once; read-only after */
	nghttp2_session_callbacks *n;

	if (__atomic_load_n(&cbs, __ATOMIC_ACQUIRE) != NULL)
		return cbs;
	if (nghttp2_session_callbacks_new(&n) != 0)
		return NULL;
	nghttp2_session_callbacks_set_on_begin_headers_callback(n, h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(n, h2_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(n, h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(n, h2_on_data_chunk);
	nghttp2_session_callbacks_set_send_data_callback(n, h2_send_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(n, h2_on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(n, h2_on_invalid_frame);
	{
		nghttp2_session_callbacks *exp = NULL;

		if (!__atomic_compare_exchange_n(&cbs, &exp, n, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			nghttp2_session_callbacks_del(n); /* another worker built it first */
	}
	return cbs;
}

static uint32_t h2_def(uint32_t v, uint32_t d)
{
	return v != 0 ? v : d;
}

/* A session of either side with the limits, allocator and options of this layer. */
static struct h2_conn *h2_session_new(const struct h2_limits *lim, const struct h2_callbacks *cb,
				      void *arg, struct stats_block *stats, bool client)
{
	nghttp2_session_callbacks *cbs = h2_callbacks_get();
	struct h2_conn *c;
	nghttp2_option *opt;
	nghttp2_settings_entry iv[4];
	size_t n_iv = 0;
	int rc;

	if (cbs == NULL || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->cb = cb;
	c->arg = arg;
	c->stats = stats;
	c->client = client;
	c->lim.max_concurrent_streams = h2_def(lim->max_concurrent_streams, H2_DEF_STREAMS);
	c->lim.max_header_list_size = h2_def(lim->max_header_list_size, H2_DEF_HDR_LIST);
	c->lim.initial_window_size = h2_def(lim->initial_window_size, H2_DEF_WINDOW);
	c->lim.connection_window = h2_def(lim->connection_window, H2_DEF_CONN_WINDOW);
	c->lim.max_resets_per_s = h2_def(lim->max_resets_per_s, H2_DEF_PER_S);
	c->lim.max_control_per_s = h2_def(lim->max_control_per_s, H2_DEF_PER_S);
	c->lim.max_empty_data_per_s = h2_def(lim->max_empty_data_per_s, H2_DEF_PER_S);
	c->lim.window_stall_ms = h2_def(lim->window_stall_ms, H2_DEF_STALL_MS);
	c->mem = (nghttp2_mem){.mem_user_data = c,
			       .malloc = h2_malloc,
			       .free = h2_free,
			       .calloc = h2_calloc,
			       .realloc = h2_realloc};
	if (nghttp2_option_new(&opt) != 0) {
		free(c);
		return NULL;
	}
	/* the windows follow what the next hop consumed (h2_stream_consume()) */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* ours count first: nghttp2's own reset limit (the CVE-2023-44487 fix)
	 * stays as a backstop above it */
	nghttp2_option_set_stream_reset_rate_limit(opt, 2ull * c->lim.max_resets_per_s + 100,
						   2ull * c->lim.max_resets_per_s + 100);
	/* a client sends one stream before the peer's SETTINGS say how many it
	 * takes, and queues the others (nghttp2 holds HEADERS over the limit):
	 * none is refused for going over a limit it did not know */
	if (client)
		nghttp2_option_set_peer_max_concurrent_streams(opt, 1);
	/* the CONTINUATION flood fix (CVE-2024-28182, in Debian's 1.52.0-1+deb12u2):
	 * mem_recv fails with NGHTTP2_ERR_TOO_MANY_CONTINUATIONS, counted below */
	nghttp2_option_set_max_continuations(opt, H2_DEF_CONTS);
	if (client)
		rc = nghttp2_session_client_new3(&c->s, cbs, c, opt, &c->mem);
	else
		rc = nghttp2_session_server_new3(&c->s, cbs, c, opt, &c->mem);
	nghttp2_option_del(opt);
	if (rc != 0) {
		free(c);
		return NULL;
	}
	if (client) /* no server push (RFC 9113 8.4) */
		iv[n_iv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_ENABLE_PUSH, 0};
	else
		iv[n_iv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
						      c->lim.max_concurrent_streams};
	iv[n_iv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
					      c->lim.initial_window_size};
	iv[n_iv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
					      c->lim.max_header_list_size};
	if (nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, n_iv) != 0 ||
	    nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0,
						  (int32_t)c->lim.connection_window) != 0) {
		h2_conn_free(c);
		return NULL;
	}
	if (!client) /* a client's is counted by its user once it speaks HTTP/2 */
		stats_inc(stats, STAT_H2_CONNECTIONS);
	return c;
}

struct h2_conn *h2_conn_create(const struct h2_limits *lim, const struct h2_callbacks *cb,
			       void *arg, struct stats_block *stats)
{
	return h2_session_new(lim, cb, arg, stats, false);
}

struct h2_conn *h2_client_create(const struct h2_limits *lim, const struct h2_callbacks *cb,
				 void *arg, struct stats_block *stats)
{
	return h2_session_new(lim, cb, arg, stats, true);
}

void h2_conn_free(struct h2_conn *c)
{
	if (c == NULL)
		return;
	nghttp2_session_del(c->s);
	free(c);
}

int h2_conn_recv(struct h2_conn *c, const uint8_t *p, size_t len, uint64_t now_us)
{
	ssize_t rv;

	c->now_us = now_us;
	if (c->failed)
		return -1;
	rv = nghttp2_session_mem_recv(c->s, p, len);
	if (rv == NGHTTP2_ERR_FLOODED)
		h2_calm(c, STAT_H2_CONTROL_FLOOD_CLOSED);
	else if (rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
		h2_calm(c, STAT_H2_CONTINUATION_FLOOD_CLOSED);
	if (c->calm) {
		nghttp2_session_terminate_session(c->s, NGHTTP2_ENHANCE_YOUR_CALM);
		return -1;
	}
	if (rv < 0) {
		c->failed = true;
		c->goaway = true;
		stats_inc(c->stats,
			  c->client ? STAT_H2_UP_PROTOCOL_ERRORS : STAT_H2_PROTOCOL_ERRORS);
		/* a GOAWAY when the session can still send one (not after a bad preface) */
		if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
			nghttp2_session_terminate_session(c->s, NGHTTP2_PROTOCOL_ERROR);
		return -1;
	}
	return c->failed ? -1 : 0;
}

ssize_t h2_conn_send(struct h2_conn *c, const uint8_t **data)
{
	ssize_t n = nghttp2_session_mem_send(c->s, data);

	return n < 0 ? -1 : n;
}

bool h2_conn_done(const struct h2_conn *c)
{
	return !nghttp2_session_want_read(c->s) && !nghttp2_session_want_write(c->s);
}

int h2_conn_upgrade(struct h2_conn *c, const uint8_t *settings, size_t len, bool head, void *st)
{
	if (nghttp2_session_upgrade2(c->s, settings, len, head, NULL) != 0 ||
	    nghttp2_session_set_stream_user_data(c->s, 1, st) != 0)
		return -1;
	stats_inc(c->stats, STAT_H2_STREAMS);
	return 0;
}

void h2_conn_drain(struct h2_conn *c)
{
	if (c->goaway)
		return;
	c->goaway = true;
	stats_inc(c->stats, STAT_H2_GOAWAY_DRAIN);
	nghttp2_submit_goaway(c->s, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(c->s), NGHTTP2_NO_ERROR, NULL,
			      0);
}

size_t h2_conn_mem(const struct h2_conn *c)
{
	return c->mem_bytes;
}

static size_t h2_nv_fill(nghttp2_nv *nv, size_t k, size_t cap, const struct h2_field *f, size_t n);

/* A response header block: :status (its digits in @p st) and @p n fields of @p f. */
static size_t h2_nv_status(nghttp2_nv nv[1 + H2_FIELDS_MAX], char st[4], unsigned int status,
			   const struct h2_field *f, size_t n)
{
	st[0] = (char)('0' + status / 100 % 10);
	st[1] = (char)('0' + status / 10 % 10);
	st[2] = (char)('0' + status % 10);
	st[3] = 0;
	nv[0] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)st, 7, 3, NGHTTP2_NV_FLAG_NONE};
	return h2_nv_fill(nv, 1, 1 + H2_FIELDS_MAX, f, n);
}

int h2_respond(struct h2_conn *c, int32_t id, unsigned int status, const struct h2_field *f,
	       size_t n, bool body)
{
	nghttp2_nv nv[1 + H2_FIELDS_MAX];
	nghttp2_data_provider dp = {.read_callback = h2_read};
	char st[4];
	size_t k = h2_nv_status(nv, st, status, f, n);

	dp.source.ptr = nghttp2_session_get_stream_user_data(c->s, id);
	return nghttp2_submit_response(c->s, id, nv, k, body ? &dp : NULL) == 0 ? 0 : -1;
}

int h2_informational(struct h2_conn *c, int32_t id, unsigned int status, const struct h2_field *f,
		     size_t n)
{
	nghttp2_nv nv[1 + H2_FIELDS_MAX];
	char st[4];
	size_t k;

	if (status < 100 || status > 199 || status == 101) /* no 101 in HTTP/2 (RFC 9113 8.6) */
		return -1;
	k = h2_nv_status(nv, st, status, f, n);
	return nghttp2_submit_headers(c->s, NGHTTP2_FLAG_NONE, id, NULL, nv, k, NULL) >= 0 ? 0 : -1;
}

void h2_stream_resume(struct h2_conn *c, int32_t id)
{
	nghttp2_session_resume_data(c->s, id);
}

void h2_stream_consume(struct h2_conn *c, int32_t id, size_t n)
{
	if (n > 0)
		nghttp2_session_consume(c->s, id, n);
}

void h2_stream_reset(struct h2_conn *c, int32_t id, uint32_t code)
{
	nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, id, code);
}

/* nghttp2_nv of @p n fields (at most @p cap), after @p k already in @p nv. */
static size_t h2_nv_fill(nghttp2_nv *nv, size_t k, size_t cap, const struct h2_field *f, size_t n)
{
	for (size_t i = 0; i < n && k < cap; i++)
		nv[k++] = (nghttp2_nv){(uint8_t *)f[i].name, (uint8_t *)f[i].value, f[i].nlen,
				       f[i].vlen, NGHTTP2_NV_FLAG_NONE};
	return k;
}

int32_t h2_request(struct h2_conn *c, const struct h2_field *f, size_t n, bool body, void *st)
{
	nghttp2_nv nv[H2_FIELDS_MAX];
	nghttp2_data_provider dp = {.read_callback = h2_read};
	size_t k = h2_nv_fill(nv, 0, H2_FIELDS_MAX, f, n);
	int32_t id;

	if (k < n || c->peer_goaway || c->failed)
		return -1;
	dp.source.ptr = st;
	id = nghttp2_submit_request(c->s, NULL, nv, k, body ? &dp : NULL, st);
	if (id < 0)
		return -1;
	stats_inc(c->stats, STAT_H2_UP_STREAMS);
	return id;
}

bool h2_conn_can_open(const struct h2_conn *c, uint32_t open)
{
	/* before the peer's SETTINGS, streams wait on the connection (up to our own limit) */
	uint32_t max = c->peer_settings ? nghttp2_session_get_remote_settings(
						  c->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
					: c->lim.max_concurrent_streams;

	return !c->peer_goaway && !c->failed && !c->goaway && open < max &&
	       nghttp2_session_check_request_allowed(c->s) != 0;
}

bool h2_conn_peer_goaway(const struct h2_conn *c)
{
	return c->peer_goaway || c->failed;
}

void h2_stream_forget(struct h2_conn *c, int32_t id)
{
	nghttp2_session_set_stream_user_data(c->s, id, NULL);
}

void h2_stall_sent(struct h2_stall *st, size_t n)
{
	if (st->since_us == 0 || n == 0)
		return;
	st->sent = (uint32_t)H2_MIN((size_t)st->sent + n, (size_t)H2_STALL_PROGRESS);
	if (st->sent == H2_STALL_PROGRESS)
		*st = (struct h2_stall){0}; /* it moved */
}

/*
 * Stall clock @p st at @p now_us, DATA waiting (@p pending) behind a window
 * of @p window bytes: started by a window that lets less than
 * H2_STALL_PROGRESS go (a check may come just after a WINDOW_UPDATE of a few
 * bytes, before they went), ended by nothing waiting (progress ends it in
 * h2_stall_sent()). @return true: past the limit (the clock is zeroed).
 */
static bool h2_stall_over(const struct h2_conn *c, struct h2_stall *st, bool pending,
			  int32_t window, uint64_t now_us)
{
	if (!pending) {
		*st = (struct h2_stall){0};
		return false;
	}
	if (st->since_us == 0) {
		if (window < H2_STALL_PROGRESS)
			*st = (struct h2_stall){.since_us = now_us != 0 ? now_us : 1};
		return false;
	}
	if (now_us - st->since_us < (uint64_t)c->lim.window_stall_ms * 1000)
		return false;
	*st = (struct h2_stall){0};
	return true;
}

bool h2_stream_stall_check(struct h2_conn *c, int32_t id, bool pending, struct h2_stall *st,
			   uint64_t now_us)
{
	if (c->failed ||
	    !h2_stall_over(c, st, pending, nghttp2_session_get_stream_remote_window_size(c->s, id),
			   now_us))
		return false;
	stats_inc(c->stats, STAT_H2_WINDOW_STALL_RESETS);
	nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
	return true;
}

bool h2_conn_stall_check(struct h2_conn *c, bool pending, uint64_t now_us)
{
	if (c->failed)
		return true;
	if (!h2_stall_over(c, &c->stall, pending, nghttp2_session_get_remote_window_size(c->s),
			   now_us))
		return false;
	h2_calm(c, STAT_H2_WINDOW_STALL_CLOSED);
	nghttp2_session_terminate_session(c->s, NGHTTP2_ENHANCE_YOUR_CALM);
	return true;
}
