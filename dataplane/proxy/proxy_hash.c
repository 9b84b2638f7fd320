/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy: a cluster's hash_policy at run time, the Maglev key of an HTTP
 * request (proxy_request_hash()), as Envoy's route hash_policy: the first
 * entry the request carries (a header, a cookie, the source address) gives
 * the hash, so requests with the same value reach the same endpoint while it
 * is usable. Workers; no allocation, the values are views into the head.
 */
#include <string.h>

#include <rte_jhash.h>

#include "proxy_internal.h"

#define PROXY_HASH_SEED 0x68617368u /* "hash" */

/*
 * FNV-1a over the bytes, then murmur3's finalizer (Maglev maps the hash by its
 * high bits). Byte by byte: rte_jhash reads whole words, past the end of a
 * view that ends the received data.
 */
static uint32_t proxy_hash_bytes(const char *p, uint32_t len)
{
	uint32_t h = 2166136261u ^ PROXY_HASH_SEED;

	for (uint32_t i = 0; i < len; i++) {
		h ^= (uint8_t)p[i];
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

static bool proxy_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool proxy_cookie_find(const char *p, uint32_t len, const char *name, uint32_t nlen,
		       struct http_view *out)
{
	uint32_t i = 0;

	while (i < len) {
		uint32_t start, eq = UINT32_MAX, end, ne;

		while (i < len && (proxy_ows(p[i]) || p[i] == ';'))
			i++;
		start = i;
		while (i < len && p[i] != ';') {
			if (p[i] == '=' && eq == UINT32_MAX)
				eq = i;
			i++;
		}
		end = i;
		while (end > start && proxy_ows(p[end - 1]))
			end--;
		if (eq == UINT32_MAX || eq >= end)
			continue; /* no '=': not a cookie-pair */
		ne = eq;
		while (ne > start && proxy_ows(p[ne - 1]))
			ne--;
		if (ne - start != nlen || memcmp(p + start, name, nlen) != 0)
			continue;
		eq++;
		while (eq < end && proxy_ows(p[eq]))
			eq++;
		*out = (struct http_view){p + eq, end - eq};
		return true;
	}
	return false;
}

static bool proxy_hash_value(const struct proxy_hash_policy *hp, const struct http_msg *msg,
			     struct http_view *v)
{
	int i;

	if (hp->kind == PROXY_HASH_HEADER) {
		i = http_msg_find(msg, hp->name, hp->len, 0);
		if (i < 0)
			return false;
		*v = msg->headers[i].value;
		return true;
	}
	for (i = http_msg_find(msg, "cookie", 6, 0); i >= 0;
	     i = http_msg_find(msg, "cookie", 6, (uint32_t)i + 1))
		if (proxy_cookie_find(msg->headers[i].value.p, msg->headers[i].value.len, hp->name,
				      hp->len, v))
			return true;
	return false;
}

bool proxy_request_hash(const struct proxy_cluster *cl, const struct http_msg *msg, uint32_t client,
			uint32_t *hash)
{
	for (uint8_t k = 0; k < cl->n_hash; k++) {
		const struct proxy_hash_policy *hp = &cl->hash[k];
		struct http_view v;

		if (hp->kind == PROXY_HASH_SOURCE_IP) {
			*hash = rte_jhash_1word(client, PROXY_HASH_SEED);
			return true;
		}
		if (proxy_hash_value(hp, msg, &v)) {
			*hash = proxy_hash_bytes(v.p, v.len);
			return true;
		}
	}
	return false;
}
