/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A driver of the HTTP/1.1 parser shared by test_http.c, fuzz_http1.c and
 * http_dump.c: it feeds bytes cut into mbufs at given places, one mbuf at a
 * time as a proxy receives them (appending to the chain, parsing heads and
 * bodies, dropping consumed bytes with http_chain_drop() as a proxy forwards
 * them), then the end of the stream, and writes what it parsed as one JSON
 * object (the "verdict"):
 *   {"messages":[{"method":"GET","target":"/","path":"/","query":"","authority":"h",
 *     "version":"1.1","status":0,"reason":"","headers":[["Host","h"]],
 *     "framing":"none","keep_alive":true,"flags":["expect"],"body":"..."}],
 *    "error":null,"status":0}
 * "error" names the refusal (http_error_name()) and "status" its answer.
 * The views of every head are checked to lie inside the mbufs or the scratch,
 * and every head is written back (http_write_head(), no edit) and parsed again.
 */
#ifndef MESHDP_HTTP_FIXTURE_H
#define MESHDP_HTTP_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "dataplane/http/http.h"

#define HFX_SCRATCH (64 * 1024)
#define HFX_SLICES  4 /* few, so that a body takes several calls */

struct hfx_buf {
	char *p;
	size_t len, cap;
};

static inline void hfx_put(struct hfx_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q)
			abort();
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void hfx_puts(struct hfx_buf *b, const char *s)
{
	hfx_put(b, s, strlen(s));
}

/* a JSON string of arbitrary bytes: bytes >= 0x80 as \u00XX (latin-1, as Python decodes them) */
static inline void hfx_str(struct hfx_buf *b, const char *s, size_t n)
{
	char e[8];
	hfx_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			hfx_put(b, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(e, sizeof(e), "\\u%04x", c);
			hfx_put(b, e, 6);
		} else {
			hfx_put(b, (const char *)&c, 1);
		}
	}
	hfx_put(b, "\"", 1);
}

static inline void hfx_view(struct hfx_buf *b, struct http_view v)
{
	hfx_str(b, v.p, v.len);
}

/* every view of a head lies inside the data of one mbuf of @p chain or in @p scratch, or is "/" */
static inline bool hfx_view_ok(const struct rte_mbuf *chain, const char *scratch,
			       struct http_view v)
{
	if (v.len == 0 || (v.p >= scratch && v.p + v.len <= scratch + HFX_SCRATCH))
		return true;
	for (const struct rte_mbuf *m = chain; m; m = m->next) {
		const char *d = rte_pktmbuf_mtod(m, const char *);
		if (v.p >= d && v.p + v.len <= d + m->data_len)
			return true;
	}
	return v.len == 1 && v.p[0] == '/'; /* the "/" of an empty path */
}

static inline bool hfx_msg_ok(const struct rte_mbuf *chain, const char *scratch,
			      const struct http_msg *m)
{
	const struct http_view v[] = {m->method_name, m->target,    m->path,
				      m->query,	      m->authority, m->reason};
	bool ok = true;
	for (unsigned int i = 0; ok && i < RTE_DIM(v); i++)
		ok = hfx_view_ok(chain, scratch, v[i]);
	for (uint32_t i = 0; ok && i < m->nheaders; i++)
		ok = hfx_view_ok(chain, scratch, m->headers[i].name) &&
		     hfx_view_ok(chain, scratch, m->headers[i].value);
	for (int k = 0; ok && k < HTTP_H_KNOWN_MAX; k++)
		ok = m->known[k] == HTTP_NO_HEADER || m->known[k] < m->nheaders;
	return ok;
}

static inline void hfx_head(struct hfx_buf *b, const struct http_msg *m)
{
	static const char *const framing[] = {"none", "length", "chunked", "close", "tunnel"};
	char num[32];

	hfx_puts(b, "{\"method\":");
	hfx_view(b, m->method_name);
	hfx_puts(b, ",\"target\":");
	hfx_view(b, m->target);
	hfx_puts(b, ",\"path\":");
	hfx_view(b, m->path);
	hfx_puts(b, ",\"query\":");
	hfx_view(b, m->query);
	hfx_puts(b, ",\"authority\":");
	hfx_view(b, m->authority);
	snprintf(num, sizeof(num), ",\"version\":\"1.%d\"", m->version == 10 ? 0 : 1);
	hfx_puts(b, num);
	snprintf(num, sizeof(num), ",\"status\":%u", m->status);
	hfx_puts(b, num);
	hfx_puts(b, ",\"reason\":");
	hfx_view(b, m->reason);
	hfx_puts(b, ",\"headers\":[");
	for (uint32_t i = 0; i < m->nheaders; i++) {
		hfx_puts(b, i ? ",[" : "[");
		hfx_view(b, m->headers[i].name);
		hfx_puts(b, ",");
		hfx_view(b, m->headers[i].value);
		hfx_puts(b, "]");
	}
	hfx_puts(b, "],\"framing\":\"");
	hfx_puts(b, framing[m->framing]);
	hfx_puts(b, "\"");
	if (m->framing == HTTP_BODY_LENGTH) {
		snprintf(num, sizeof(num), ",\"content_length\":%llu",
			 (unsigned long long)m->content_length);
		hfx_puts(b, num);
	}
	hfx_puts(b,
		 (m->flags & HTTP_F_KEEP_ALIVE) ? ",\"keep_alive\":true" : ",\"keep_alive\":false");
	hfx_puts(b, ",\"flags\":[");
	static const char *const fl[] = {"expect", "upgrade", "connect", "trailers"};
	static const uint32_t fb[] = {HTTP_F_EXPECT_CONTINUE, HTTP_F_UPGRADE, HTTP_F_CONNECT,
				      HTTP_F_TRAILERS};
	bool first = true;
	for (unsigned int i = 0; i < 3; i++) /* trailers: known only at the body's end */
		if (m->flags & fb[i]) {
			hfx_puts(b, first ? "\"" : ",\"");
			hfx_puts(b, fl[i]);
			hfx_puts(b, "\"");
			first = false;
		}
	hfx_puts(b, "]");
}

/*
 * The serializer's round trip: @p m written with no edit parses back to the
 * same head (origin, authority and asterisk forms: an absolute-form target is
 * written in origin form on purpose). @return false when it does not.
 */
static inline bool hfx_roundtrip(struct rte_mempool *pool, enum http_kind kind,
				 enum http_method req, const struct http_limits *lim,
				 const struct http_msg *m)
{
	static char scratch2[HFX_SCRATCH];
	struct hfx_buf a = {0}, b = {0};
	struct rte_mbuf *out;
	bool ok;

	if (m->target_form == HTTP_TARGET_ABSOLUTE)
		return true;
	if (http_write_head(m, NULL, pool, &out))
		return false;
	struct http_parser *q = malloc(sizeof(*q));
	if (!q)
		abort();
	/* the written head may be longer than the parsed one (": " after each name) */
	struct http_limits big = lim ? *lim : (struct http_limits){0};
	big.max_head = big.max_start_line = HFX_SCRATCH;
	http_parser_init(q, kind, &big, scratch2, sizeof(scratch2), NULL);
	http_parser_set_request(q, req);
	ok = http_parse_head(q, out, 0) == 1 && q->msg.head_len == out->pkt_len;
	if (ok) {
		hfx_head(&a, m);
		hfx_head(&b, &q->msg);
		ok = strcmp(a.p, b.p) == 0;
	}
	free(a.p);
	free(b.p);
	free(q);
	rte_pktmbuf_free(out);
	return ok;
}

/* the result of a run, beside its JSON */
struct hfx_result {
	int err;	    /* 0 or -HTTP_E_x */
	unsigned int nmsgs; /* heads parsed */
	unsigned int split_lines;
	bool views_ok; /* every view inside the input / scratch */
	bool write_ok; /* every head written with no edit parses back the same */
	bool leak_ok;  /* every mbuf back in the pool at the end */
};

/* the input's bytes [a, b) in one new mbuf */
static inline struct rte_mbuf *hfx_mbuf(struct rte_mempool *pool, const uint8_t *d, uint32_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	if (!m || n > rte_pktmbuf_tailroom(m))
		abort();
	memcpy(rte_pktmbuf_mtod(m, void *), d, n);
	m->data_len = (uint16_t)n;
	m->pkt_len = n;
	return m;
}

static inline void hfx_append(struct rte_mbuf **chain, struct rte_mbuf *m)
{
	if (!*chain) {
		*chain = m;
		return;
	}
	struct rte_mbuf *t = rte_pktmbuf_lastseg(*chain);
	t->next = m;
	(*chain)->pkt_len += m->pkt_len;
	(*chain)->nb_segs++;
}

/*
 * Run the parser over @p d (@p n bytes) cut after each of @p cuts (ascending
 * offsets; pieces longer than 2000 bytes are cut further), each piece one
 * mbuf from @p pool fed in turn; responses answer @p req. Writes the verdict
 * into @p out (the caller frees out->p). @p lim NULL: the defaults.
 */
static inline void hfx_run(struct rte_mempool *pool, enum http_kind kind, enum http_method req,
			   const struct http_limits *lim, const uint8_t *d, size_t n,
			   const uint32_t *cuts, unsigned int ncuts, struct hfx_buf *out,
			   struct hfx_result *res)
{
	static char scratch[HFX_SCRATCH];
	struct http_parser *p = malloc(sizeof(*p));
	struct http_slice sl[HFX_SLICES];
	struct rte_mbuf *chain = NULL;
	struct hfx_buf body = {0};
	unsigned int avail0 = rte_mempool_avail_count(pool);
	uint32_t off = 0; /* in chain: the head's start, or the body's next byte */
	bool in_body = false;
	int r = 0;
	size_t at = 0;
	unsigned int ci = 0;

	if (!p)
		abort();
	*res = (struct hfx_result){.views_ok = true, .write_ok = true};
	http_parser_init(p, kind, lim, scratch, sizeof(scratch), NULL);
	http_parser_set_request(p, req);
	hfx_puts(out, "{\"messages\":[");
	for (;;) {
		/* the next piece */
		if (at < n) {
			size_t end = n;
			while (ci < ncuts && cuts[ci] <= at)
				ci++;
			if (ci < ncuts && cuts[ci] < end)
				end = cuts[ci];
			if (end - at > 2000)
				end = at + 2000;
			hfx_append(&chain, hfx_mbuf(pool, d + at, (uint32_t)(end - at)));
			at = end;
		}
		bool last = at >= n;
		for (;;) {
			if (!in_body) {
				r = http_parse_head(p, chain, off);
				if (r <= 0)
					break;
				if (!hfx_msg_ok(chain, scratch, &p->msg))
					res->views_ok = false;
				if (!hfx_roundtrip(pool, kind, req, lim, &p->msg))
					res->write_ok = false;
				hfx_puts(out, res->nmsgs ? "," : "");
				hfx_head(out, &p->msg);
				res->nmsgs++;
				res->split_lines += p->msg.split_lines;
				off += p->msg.head_len;
				in_body = true;
				body.len = 0;
				hfx_put(&body, "", 0);
			}
			struct http_body_out bo;
			r = http_parse_body(p, chain, off, &bo, sl, HFX_SLICES);
			if (r < 0)
				break;
			for (uint32_t i = 0; i < bo.nslices; i++)
				hfx_put(&body,
					rte_pktmbuf_mtod_offset(sl[i].m, const char *, sl[i].off),
					sl[i].len);
			off += (uint32_t)bo.raw;
			/* forward what is consumed: drop it from the chain */
			if (chain && off) {
				chain = http_chain_drop(chain, off);
				off = 0;
			}
			if (r == 1) {
				hfx_puts(out, (p->msg.flags & HTTP_F_TRAILERS)
						      ? ",\"trailers\":true"
						      : ",\"trailers\":false");
				hfx_puts(out, ",\"body\":");
				hfx_str(out, body.p, body.len);
				hfx_puts(out, "}");
				in_body = false;
				if (!chain)
					break;
				continue;
			}
			if (bo.nslices < HFX_SLICES)
				break;
		}
		if (r < 0 || last)
			break;
	}
	if (r >= 0) {
		r = http_parse_eof(p);
		if (r == 1) {
			hfx_puts(out, ",\"trailers\":false,\"body\":");
			hfx_str(out, body.p, body.len);
			hfx_puts(out, "}");
			r = 0;
		}
	}
	if (r < 0 && in_body) { /* refused inside a body: close the message's object */
		hfx_puts(out, ",\"body\":null}");
	}
	hfx_puts(out, "],\"error\":");
	if (r < 0) {
		char st[32];
		hfx_puts(out, "\"");
		hfx_puts(out, http_error_name(r));
		snprintf(st, sizeof(st), "\",\"status\":%d}", http_error_status(r));
		hfx_puts(out, st);
	} else {
		hfx_puts(out, "null,\"status\":0}");
	}
	res->err = r < 0 ? r : 0;
	rte_pktmbuf_free(chain);
	free(body.p);
	free(p);
	res->leak_ok = rte_mempool_avail_count(pool) == avail0;
}

#endif
