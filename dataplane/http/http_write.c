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

/* sequential writes into a chain of mbufs from one pool */
struct wr {
	struct rte_mempool *pool;
	struct rte_mbuf *head, *tail;
	bool oom;
};

static void wr_put(struct wr *w, const char *s, uint32_t n)
{
	while (n && !w->oom) {
		uint16_t room = w->tail ? rte_pktmbuf_tailroom(w->tail) : 0;
		if (room == 0) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
			if (unlikely(!m)) {
				w->oom = true;
				return;
			}
			if (w->tail) {
				w->tail->next = m;
				w->head->nb_segs++;
			} else {
				w->head = m;
			}
			w->tail = m;
			continue;
		}
		uint32_t k = RTE_MIN(n, (uint32_t)room);
		memcpy(rte_pktmbuf_mtod_offset(w->tail, char *, w->tail->data_len), s, k);
		w->tail->data_len += k;
		w->head->pkt_len += k;
		s += k;
		n -= k;
	}
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
	static const char extra[] = "!#$%&'*+-.^_`|~";
	if (!v.len)
		return false;
	for (uint32_t i = 0; i < v.len; i++) {
		char c = v.p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c && strchr(extra, c))))
			return false;
	}
	return true;
}

/* is @p name one of the comma-separated tokens of a Connection header of @p msg? */
static bool named_by_connection(const struct http_msg *msg, struct http_view name)
{
	for (int i = http_msg_find(msg, "connection", 10, 0); i >= 0;
	     i = http_msg_find(msg, "connection", 10, (uint32_t)i + 1)) {
		struct http_view v = msg->headers[i].value;
		uint32_t s = 0;
		while (s < v.len) {
			uint32_t e = s;
			while (e < v.len && v.p[e] != ',')
				e++;
			uint32_t a = s, b = e;
			while (a < b && (v.p[a] == ' ' || v.p[a] == '\t'))
				a++;
			while (b > a && (v.p[b - 1] == ' ' || v.p[b - 1] == '\t'))
				b--;
			if (http_view_eq_nocase(name, v.p + a, b - a))
				return true;
			s = e + 1;
		}
	}
	return false;
}

static bool hop_by_hop(const struct http_msg *msg, const struct http_edit *ed,
		       struct http_view name)
{
	static const struct {
		const char *s;
		uint32_t n;
	} hop[] = {{"connection", 10}, {"keep-alive", 10}, {"proxy-connection", 16},
		   {"te", 2},	       {"trailer", 7},	   {"upgrade", 7}};
	for (unsigned int i = 0; i < RTE_DIM(hop); i++)
		if (http_view_eq_nocase(name, hop[i].s, hop[i].n))
			return !(i == 5 && ed->keep_upgrade);
	if (http_view_eq_nocase(name, "transfer-encoding", 17) ||
	    http_view_eq_nocase(name, "content-length", 14))
		return false;
	return named_by_connection(msg, name);
}

static bool removed(const struct http_edit *ed, struct http_view name)
{
	for (uint32_t i = 0; i < ed->nremove; i++)
		if (http_view_eq_nocase(name, ed->remove[i].p, ed->remove[i].len))
			return true;
	return false;
}

int http_write_head(const struct http_msg *msg, const struct http_edit *ed,
		    struct rte_mempool *pool, struct rte_mbuf **out)
{
	static const struct http_edit none;
	struct wr w = {.pool = pool};
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
	for (uint32_t i = 0; i < msg->nheaders; i++) {
		const struct http_header *h = &msg->headers[i];
		if (new_host && msg->known[HTTP_H_HOST] == i)
			continue;
		if (removed(ed, h->name) || (ed->drop_hop_by_hop && hop_by_hop(msg, ed, h->name)))
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
	if (unlikely(w.oom)) {
		rte_pktmbuf_free(w.head);
		return -ENOMEM;
	}
	*out = w.head;
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
		if (unlikely(w.oom)) {
			rte_pktmbuf_free(w.head);
			return -ENOMEM;
		}
		r = w.head;
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
