/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HTTP/1.1 serializer: a head (with edits) into fresh mbufs, chunk
 * framing for re-chunked bodies, and the mbuf chain cuts a proxy needs to
 * forward a body without its head or the next pipelined message. See http.h.
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>

#include "http.h"
#include "http_internal.h"

/*
 * Sequential writes into a chain of mbufs from one pool: ptr / room are the
 * free tail of the last mbuf, whose data_len (and the head's pkt_len) are
 * brought up to date when it is left and by wr_end().
 */
struct wr {
	struct rte_mempool *pool;
	struct rte_mbuf *head, *tail;
	char *ptr;
	uint32_t room;
	bool oom;
};

static void wr_close_tail(struct wr *w)
{
	if (w->tail) {
		uint16_t used = (uint16_t)(w->ptr - rte_pktmbuf_mtod(w->tail, char *));
		w->head->pkt_len += used - w->tail->data_len;
		w->tail->data_len = used;
	}
}

static void wr_grow(struct wr *w, const char *s, uint32_t n)
{
	while (n && !w->oom) {
		if (w->room == 0) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
			if (unlikely(!m)) {
				w->oom = true;
				return;
			}
			wr_close_tail(w);
			if (w->tail) {
				w->tail->next = m;
				w->head->nb_segs++;
			} else {
				w->head = m;
			}
			w->tail = m;
			w->ptr = rte_pktmbuf_mtod(m, char *);
			w->room = rte_pktmbuf_tailroom(m);
			continue;
		}
		uint32_t k = RTE_MIN(n, w->room);
		memcpy(w->ptr, s, k);
		w->ptr += k;
		w->room -= k;
		s += k;
		n -= k;
	}
}

static inline void wr_put(struct wr *w, const char *s, uint32_t n)
{
	if (likely(n <= w->room)) {
		memcpy(w->ptr, s, n);
		w->ptr += n;
		w->room -= n;
		return;
	}
	wr_grow(w, s, n);
}

/* the chain written, lengths set; NULL (everything freed) when an allocation failed */
static struct rte_mbuf *wr_end(struct wr *w)
{
	wr_close_tail(w);
	if (unlikely(w->oom)) {
		rte_pktmbuf_free(w->head);
		return NULL;
	}
	return w->head;
}

static inline void wr_view(struct wr *w, struct http_view v)
{
	wr_put(w, v.p, v.len);
}

#define WR_LIT(w, lit) wr_put((w), (lit), sizeof(lit) - 1)

static bool view_clean(struct http_view v)
{
	for (uint32_t i = 0; i < v.len; i++)
		if (v.p[i] == '\r' || v.p[i] == '\n' || v.p[i] == '\0')
			return false;
	return true;
}

static bool token_ok(struct http_view v)
{
	if (!v.len)
		return false;
	for (uint32_t i = 0; i < v.len; i++)
		if (!(http_cls[(uint8_t)v.p[i]] & C_TCHAR))
			return false;
	return true;
}

/* a header name of a parsed message (tchar) is @p lc (lower case) */
static inline bool is(struct http_view name, const char *lc, uint32_t len)
{
	return name.len == len && http_name_is(name.p, lc, len);
}

/*
 * The options of a message's Connection headers other than close, keep-alive
 * and upgrade, gathered once per head written (the fields they name are
 * hop-by-hop); beyond CONN_TOKENS_MAX the headers are searched again.
 */
#define CONN_TOKENS_MAX 16

struct conn_tokens {
	struct http_view t[CONN_TOKENS_MAX];
	uint32_t n;
	bool overflow;
};

/* calls f(tok, arg) for each non-empty member of a comma-separated list until f says true */
static bool list_any(struct http_view v, bool (*f)(struct http_view tok, void *arg), void *arg)
{
	for (uint32_t s = 0; s <= v.len;) {
		uint32_t e = s;
		while (e < v.len && v.p[e] != ',')
			e++;
		uint32_t a = s, b = e;
		while (a < b && (v.p[a] == ' ' || v.p[a] == '\t'))
			a++;
		while (b > a && (v.p[b - 1] == ' ' || v.p[b - 1] == '\t'))
			b--;
		if (b > a && f((struct http_view){v.p + a, b - a}, arg))
			return true;
		s = e + 1;
	}
	return false;
}

static bool gather_token(struct http_view tok, void *arg)
{
	struct conn_tokens *ct = arg;
	if (is(tok, "close", 5) || is(tok, "keep-alive", 10) || is(tok, "upgrade", 7))
		return false;
	if (ct->n < CONN_TOKENS_MAX)
		ct->t[ct->n++] = tok;
	else
		ct->overflow = true;
	return false;
}

static bool token_names(struct http_view tok, void *arg)
{
	const struct http_view *name = arg;
	return http_view_eq_nocase(*name, tok.p, tok.len);
}

static void conn_tokens(const struct http_msg *msg, struct conn_tokens *ct)
{
	ct->n = 0;
	ct->overflow = false;
	if (msg->known[HTTP_H_CONNECTION] == HTTP_NO_HEADER)
		return;
	for (uint32_t i = msg->known[HTTP_H_CONNECTION]; i < msg->nheaders; i++)
		if (is(msg->headers[i].name, "connection", 10))
			list_any(msg->headers[i].value, gather_token, ct);
}

static bool named_by_connection(const struct http_msg *msg, const struct conn_tokens *ct,
				struct http_view name)
{
	for (uint32_t i = 0; i < ct->n; i++)
		if (http_view_eq_nocase(name, ct->t[i].p, ct->t[i].len))
			return true;
	if (!ct->overflow)
		return false;
	for (int i = http_msg_find(msg, "connection", 10, 0); i >= 0;
	     i = http_msg_find(msg, "connection", 10, (uint32_t)i + 1))
		if (list_any(msg->headers[i].value, token_names, &name))
			return true;
	return false;
}

static bool removed(const struct http_edit *ed, struct http_view name)
{
	for (uint32_t i = 0; i < ed->nremove; i++)
		if (http_view_eq_nocase(name, ed->remove[i].p, ed->remove[i].len))
			return true;
	return false;
}

/* the hop-by-hop fields of RFC 9110 7.6.1 (Transfer-Encoding and Content-Length stay) */
static bool hop_by_hop(const struct http_msg *msg, const struct http_edit *ed,
		       const struct conn_tokens *ct, struct http_view name)
{
	switch (name.len) {
	case 2:
		if (is(name, "te", 2))
			return true;
		break;
	case 7:
		if (is(name, "trailer", 7))
			return true;
		if (is(name, "upgrade", 7))
			return !ed->keep_upgrade;
		break;
	case 10:
		if (is(name, "connection", 10) || is(name, "keep-alive", 10))
			return true;
		break;
	case 16:
		if (is(name, "proxy-connection", 16))
			return true;
		break;
	}
	return (ct->n || ct->overflow) && named_by_connection(msg, ct, name);
}

int http_write_head(const struct http_msg *msg, const struct http_edit *ed,
		    struct rte_mempool *pool, struct rte_mbuf **out)
{
	static const struct http_edit none;
	struct wr w = {.pool = pool};
	struct conn_tokens ct = {0};
	char buf[8];

	if (!ed)
		ed = &none;
	if (!view_clean(ed->path) || !view_clean(ed->authority))
		return -EINVAL;
	for (uint32_t i = 0; i < ed->nadd; i++)
		if (!token_ok(ed->add[i].name) || !view_clean(ed->add[i].value))
			return -EINVAL;
	uint8_t version = ed->version ? ed->version : msg->version;
	const char *vers = version == 10 ? "HTTP/1.0" : "HTTP/1.1";
	bool new_host = false;

	if (msg->kind == HTTP_REQUEST) {
		wr_view(&w, msg->method_name);
		WR_LIT(&w, " ");
		if (ed->path.len) {
			wr_view(&w, ed->path);
		} else if (msg->target_form == HTTP_TARGET_ABSOLUTE) {
			wr_view(&w, msg->path);
			/* the '?' when the target had one (query then points into it) */
			if (msg->query.p > msg->target.p &&
			    msg->query.p <= msg->target.p + msg->target.len) {
				WR_LIT(&w, "?");
				wr_view(&w, msg->query);
			}
		} else {
			wr_view(&w, msg->target);
		}
		WR_LIT(&w, " ");
		wr_put(&w, vers, 8);
		WR_LIT(&w, "\r\n");
		/* Host first: the edit's authority, or an absolute-form target's (RFC 9112 3.2.2) */
		struct http_view host = ed->authority;
		if (!host.len && msg->target_form == HTTP_TARGET_ABSOLUTE)
			host = msg->authority;
		if (host.len) {
			new_host = true;
			WR_LIT(&w, "Host: ");
			wr_view(&w, host);
			WR_LIT(&w, "\r\n");
		}
	} else {
		wr_put(&w, vers, 8);
		buf[0] = ' ';
		buf[1] = (char)('0' + msg->status / 100);
		buf[2] = (char)('0' + msg->status / 10 % 10);
		buf[3] = (char)('0' + msg->status % 10);
		buf[4] = ' ';
		wr_put(&w, buf, 5);
		wr_view(&w, msg->reason);
		WR_LIT(&w, "\r\n");
	}
	if (ed->drop_hop_by_hop)
		conn_tokens(msg, &ct);
	for (uint32_t i = 0; i < msg->nheaders; i++) {
		const struct http_header *h = &msg->headers[i];
		if (new_host && msg->known[HTTP_H_HOST] == i)
			continue;
		if ((ed->nremove && removed(ed, h->name)) ||
		    (ed->drop_hop_by_hop && hop_by_hop(msg, ed, &ct, h->name)))
			continue;
		wr_view(&w, h->name);
		WR_LIT(&w, ": ");
		wr_view(&w, h->value);
		WR_LIT(&w, "\r\n");
	}
	for (uint32_t i = 0; i < ed->nadd; i++) {
		wr_view(&w, ed->add[i].name);
		WR_LIT(&w, ": ");
		wr_view(&w, ed->add[i].value);
		WR_LIT(&w, "\r\n");
	}
	WR_LIT(&w, "\r\n");
	*out = wr_end(&w);
	return *out ? 0 : -ENOMEM;
}

int http_head_fields(const struct http_msg *msg, const struct http_edit *ed,
		     int (*f)(void *arg, struct http_view name, struct http_view value), void *arg)
{
	struct conn_tokens ct = {0};
	int rc;

	if (ed->drop_hop_by_hop)
		conn_tokens(msg, &ct);
	for (uint32_t i = 0; i < msg->nheaders; i++) {
		const struct http_header *h = &msg->headers[i];

		if ((ed->nremove && removed(ed, h->name)) ||
		    (ed->drop_hop_by_hop && hop_by_hop(msg, ed, &ct, h->name)))
			continue;
		if ((rc = f(arg, h->name, h->value)) != 0)
			return rc;
	}
	for (uint32_t i = 0; i < ed->nadd; i++)
		if ((rc = f(arg, ed->add[i].name, ed->add[i].value)) != 0)
			return rc;
	return 0;
}

uint32_t http_chunk_header(char *buf, uint64_t len, bool after_data)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t n = 0;

	if (after_data) {
		buf[n++] = '\r';
		buf[n++] = '\n';
	}
	int digits = 1;
	while (digits < 16 && (len >> (4 * digits)))
		digits++;
	for (int i = digits - 1; i >= 0; i--)
		buf[n++] = hex[(len >> (4 * i)) & 0xf];
	buf[n++] = '\r';
	buf[n++] = '\n';
	if (len == 0) {
		buf[n++] = '\r';
		buf[n++] = '\n';
	}
	return n;
}

int http_chain_split(struct rte_mbuf *chain, uint32_t n, struct rte_mempool *pool,
		     struct rte_mbuf **rest)
{
	if (n == 0 || n > chain->pkt_len)
		return -EINVAL;
	uint32_t total = chain->pkt_len, base = 0;
	uint16_t segs = 1;
	struct rte_mbuf *m = chain, *r;
	while (base + m->data_len < n) {
		base += m->data_len;
		m = m->next;
		segs++;
	}
	/* m holds byte n - 1: the cut is after its first k bytes; the bytes after
	 * it in m are copied (usually the start of a next pipelined message, short) */
	uint32_t k = n - base;
	if (k == m->data_len) {
		r = m->next;
	} else {
		struct wr w = {.pool = pool};
		wr_put(&w, rte_pktmbuf_mtod_offset(m, const char *, k), m->data_len - k);
		r = wr_end(&w);
		if (unlikely(!r))
			return -ENOMEM;
		w.tail->next = m->next;
		m->data_len = (uint16_t)k;
	}
	m->next = NULL;
	chain->pkt_len = n;
	chain->nb_segs = segs;
	if (r) {
		uint16_t rs = 0;
		for (struct rte_mbuf *x = r; x; x = x->next)
			rs++;
		r->pkt_len = total - n;
		r->nb_segs = rs;
	}
	*rest = r;
	return 0;
}

struct rte_mbuf *http_chain_drop(struct rte_mbuf *chain, uint32_t n)
{
	uint32_t total = chain->pkt_len;
	uint16_t segs = chain->nb_segs;

	if (n >= total) {
		rte_pktmbuf_free(chain);
		return NULL;
	}
	while (n >= chain->data_len) {
		struct rte_mbuf *next = chain->next;
		n -= chain->data_len;
		total -= chain->data_len;
		chain->next = NULL;
		rte_pktmbuf_free_seg(chain);
		chain = next;
		segs--;
	}
	chain->data_off += (uint16_t)n;
	chain->data_len -= (uint16_t)n;
	chain->pkt_len = total - n;
	chain->nb_segs = segs;
	return chain;
}

int http_slices_copy(const struct http_slice *slices, uint32_t n, struct rte_mempool *pool,
		     struct rte_mbuf **out)
{
	struct wr w = {.pool = pool};

	for (uint32_t i = 0; i < n; i++)
		wr_put(&w, rte_pktmbuf_mtod_offset(slices[i].m, const char *, slices[i].off),
		       slices[i].len);
	*out = wr_end(&w);
	return w.oom ? -ENOMEM : 0;
}
