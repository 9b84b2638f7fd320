/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tls: the BIO under every SSL object, on mbuf chains. Read: the ciphertext
 * mbufs tcp_recv() returns are consumed in place (taken from the stack only as
 * OpenSSL asks for bytes, so the TCP window follows the reader); write: records
 * fill whole mbufs of the worker's pool, sent with tcp_send() by
 * tls_bio_flush() after each SSL call. Worker only.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/bio.h>

#include "tls_internal.h"

static BIO_METHOD *tls_bio_meth;
static pthread_once_t tls_bio_once = PTHREAD_ONCE_INIT;

/* Unlink and free the head segment of @p *chain, now empty. */
static void tls_bio_pop(struct rte_mbuf **chain)
{
	struct rte_mbuf *m = *chain, *next = m->next;

	if (next != NULL) {
		next->pkt_len = m->pkt_len - m->data_len;
		next->nb_segs = (uint16_t)(m->nb_segs - 1);
	}
	m->next = NULL;
	m->nb_segs = 1;
	m->pkt_len = m->data_len;
	rte_pktmbuf_free_seg(m);
	*chain = next;
}

static int tls_bio_read(BIO *b, char *buf, int len)
{
	struct tls_conn *c = BIO_get_data(b);
	int n = 0;

	BIO_clear_retry_flags(b);
	while (n < len) {
		struct rte_mbuf *m;
		uint16_t k;

		if (c->rx == NULL) {
			if (c->tcp == NULL ||
			    (c->rx = tcp_recv(c->tcp, (uint32_t)(len - n))) == NULL)
				break;
		}
		m = c->rx;
		if (m->data_len == 0) {
			tls_bio_pop(&c->rx);
			continue;
		}
		k = (uint16_t)RTE_MIN((int)m->data_len, len - n);
		memcpy(buf + n, rte_pktmbuf_mtod(m, const char *), k);
		rte_pktmbuf_adj(m, k);
		n += k;
		if (m->data_len == 0)
			tls_bio_pop(&c->rx);
	}
	if (n > 0)
		return n;
	if (c->tcp != NULL && !tcp_recv_eof(c->tcp))
		BIO_set_retry_read(b);
	return c->tcp == NULL || tcp_recv_eof(c->tcp) ? 0 : -1;
}

static int tls_bio_write(BIO *b, const char *buf, int len)
{
	struct tls_conn *c = BIO_get_data(b);
	int n = 0;

	BIO_clear_retry_flags(b);
	while (n < len) {
		struct rte_mbuf *m = c->tx_last;
		uint16_t room = m != NULL ? rte_pktmbuf_tailroom(m) : 0, k;

		if (room == 0) {
			m = rte_pktmbuf_alloc(c->tw->pool);
			if (unlikely(m == NULL)) {
				stats_inc(c->tw->stats, STAT_TLS_DROP_NOMEM);
				return -1; /* fatal for OpenSSL: the connection fails */
			}
			m->data_off =
				0; /* records need no headroom: the stack's headers go in front */
			if (c->tx == NULL) {
				c->tx = m;
			} else {
				c->tx_last->next = m;
				c->tx->nb_segs++;
			}
			c->tx_last = m;
			room = rte_pktmbuf_tailroom(m);
		}
		k = (uint16_t)RTE_MIN((int)room, len - n);
		memcpy(rte_pktmbuf_mtod_offset(m, char *, m->data_len), buf + n, k);
		m->data_len = (uint16_t)(m->data_len + k);
		c->tx->pkt_len += k;
		n += k;
	}
	return n;
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls_conn *c = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH: /* records leave with tls_bio_flush() after the SSL call */
		return 1;
	case BIO_CTRL_EOF:
		return c->rx == NULL && (c->tcp == NULL || tcp_recv_eof(c->tcp));
	case BIO_CTRL_PENDING:
		return c->rx != NULL ? (long)c->rx->pkt_len : 0;
	case BIO_CTRL_WPENDING:
		return c->tx != NULL ? (long)c->tx->pkt_len : 0;
	default:
		return 0;
	}
}

static int tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void tls_bio_meth_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "meshdp-mbuf");

	if (m == NULL || BIO_meth_set_write(m, tls_bio_write) != 1 ||
	    BIO_meth_set_read(m, tls_bio_read) != 1 || BIO_meth_set_ctrl(m, tls_bio_ctrl) != 1 ||
	    BIO_meth_set_create(m, tls_bio_create) != 1) {
		BIO_meth_free(m);
		return;
	}
	tls_bio_meth = m;
}

BIO *tls_bio_new(struct tls_conn *c)
{
	BIO *b;

	pthread_once(&tls_bio_once, tls_bio_meth_init);
	if (tls_bio_meth == NULL || (b = BIO_new(tls_bio_meth)) == NULL)
		return NULL;
	BIO_set_data(b, c);
	return b;
}

void tls_bio_flush(struct tls_conn *c)
{
	struct rte_mbuf *m = c->tx;

	if (m == NULL)
		return;
	c->tx = c->tx_last = NULL;
	if (c->tcp == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	tcp_send(c->tcp, m); /* owns m; -EPIPE after shutdown drops the records */
}

void tls_bio_drop(struct tls_conn *c)
{
	rte_pktmbuf_free(c->rx);
	rte_pktmbuf_free(c->tx);
	c->rx = c->tx = c->tx_last = NULL;
}
