/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * grpc_web: gRPC-Web (PROTOCOL-WEB.md of grpc/grpc) to gRPC, for browsers.
 * http2_upstream.c sends a gRPC-Web request to its HTTP/2 endpoint as gRPC
 * (content-type application/grpc[+proto], te: trailers; the -text variant's
 * base64 body decoded) and turns the endpoint's trailers into the trailer
 * frame gRPC-Web clients read at the end of the body (flag byte 0x80, a
 * 4-byte big-endian length, the fields as "name:value\r\n" lines; base64
 * again for -text). These are its codecs: streaming base64 both ways (a
 * group cut between two calls is carried over) and the trailer frame. Pure:
 * any thread; output written into mbufs of the given pool.
 */
#include <errno.h>
#include <string.h>

#include <rte_mbuf.h>

#include "proxy_internal.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint8_t grpc_web_kind(struct http_view v, struct http_view *suffix)
{
	uint8_t kind;
	uint32_t k;

	if (v.len >= 25 &&
	    http_view_eq_nocase((struct http_view){v.p, 25}, "application/grpc-web-text", 25)) {
		kind = GRPC_WEB_TEXT;
		k = 25;
	} else if (v.len >= 20 &&
		   http_view_eq_nocase((struct http_view){v.p, 20}, "application/grpc-web", 20)) {
		kind = GRPC_WEB_BINARY;
		k = 20;
	} else {
		return GRPC_WEB_NONE;
	}
	if (k < v.len && v.p[k] != '+' && v.p[k] != ';')
		return GRPC_WEB_NONE; /* application/grpc-webfoo */
	*suffix = (struct http_view){v.p + k, v.len - k};
	return kind;
}

static int b64_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int grpc_web_decode(struct grpc_web_b64 *st, const uint8_t *in, uint32_t len,
		    struct rte_mempool *pool, struct rte_mbuf **out)
{
	uint8_t buf[192];
	uint32_t n = 0;

	for (uint32_t i = 0; i < len; i++) {
		if (in[i] == '\r' || in[i] == '\n')
			continue;
		st->carry[st->n++] = in[i];
		if (st->n < 4)
			continue;
		st->n = 0;
		/* a padded group may end a segment: the next one starts afresh */
		{
			int a = b64_val(st->carry[0]), b = b64_val(st->carry[1]);
			int c = st->carry[2] == '=' ? 0 : b64_val(st->carry[2]);
			int d = st->carry[3] == '=' ? 0 : b64_val(st->carry[3]);

			if (a < 0 || b < 0 || c < 0 || d < 0 ||
			    (st->carry[2] == '=' && st->carry[3] != '='))
				return -EINVAL;
			buf[n++] = (uint8_t)(a << 2 | b >> 4);
			if (st->carry[2] != '=')
				buf[n++] = (uint8_t)(b << 4 | c >> 2);
			if (st->carry[3] != '=')
				buf[n++] = (uint8_t)(c << 6 | d);
		}
		if (n + 3 > sizeof(buf)) {
			if (hp_put(pool, out, buf, n) != 0)
				return -ENOMEM;
			n = 0;
		}
	}
	return n > 0 ? hp_put(pool, out, buf, n) : 0;
}

int grpc_web_encode(struct grpc_web_b64 *st, const uint8_t *in, uint32_t len, bool final,
		    struct rte_mempool *pool, struct rte_mbuf **out)
{
	char buf[256];
	uint32_t n = 0;

	for (uint32_t i = 0; i < len; i++) {
		st->carry[st->n++] = in[i];
		if (st->n < 3)
			continue;
		st->n = 0;
		buf[n++] = b64[st->carry[0] >> 2];
		buf[n++] = b64[(st->carry[0] & 3) << 4 | st->carry[1] >> 4];
		buf[n++] = b64[(st->carry[1] & 15) << 2 | st->carry[2] >> 6];
		buf[n++] = b64[st->carry[2] & 63];
		if (n + 4 > sizeof(buf)) {
			if (hp_put(pool, out, buf, n) != 0)
				return -ENOMEM;
			n = 0;
		}
	}
	if (final && st->n > 0) { /* the rest, padded (RFC 4648 4) */
		uint8_t b1 = st->n > 1 ? st->carry[1] : 0;

		buf[n++] = b64[st->carry[0] >> 2];
		buf[n++] = b64[(st->carry[0] & 3) << 4 | b1 >> 4];
		buf[n++] = st->n > 1 ? b64[(b1 & 15) << 2] : '=';
		buf[n++] = '=';
		st->n = 0;
	}
	return n > 0 ? hp_put(pool, out, buf, n) : 0;
}

int grpc_web_trailer_frame(const struct rte_mbuf *lines, struct rte_mempool *pool,
			   struct rte_mbuf **out)
{
	uint32_t len = lines != NULL ? lines->pkt_len : 0;
	uint8_t hdr[5] = {0x80, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			  (uint8_t)len};
	int rc = hp_put(pool, out, hdr, sizeof(hdr));

	for (const struct rte_mbuf *seg = lines; rc == 0 && seg != NULL; seg = seg->next)
		rc = hp_put(pool, out, rte_pktmbuf_mtod(seg, const void *), seg->data_len);
	return rc;
}
