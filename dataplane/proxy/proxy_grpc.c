/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy_grpc: what the HTTP engine knows of gRPC (the gRPC over HTTP/2
 * protocol, PROTOCOL-HTTP2.md of grpc/grpc; gRPC-Web's, PROTOCOL-WEB.md): a
 * gRPC (or gRPC-Web) request by its content-type, its deadline (grpc-timeout: at most 8 digits and a unit,
 * H M S m u n), the grpc-status of a trailers-only response, and the local
 * replies a gRPC client can read: HTTP 200 with content-type
 * application/grpc, grpc-status and grpc-message (percent-encoded) and no
 * body, a trailers-only response (the codes as Envoy maps HTTP statuses,
 * but 504, a timeout of meshdp's, is DEADLINE_EXCEEDED). Pure functions: any
 * thread, no allocation.
 */
#include <stdio.h>
#include <string.h>

#include "proxy_internal.h"

/* gRPC status codes (grpc/include/grpcpp/impl/codegen/status_code_enum.h) */
enum {
	GRPC_OK = 0,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
	GRPC_UNKNOWN = 2,
};

static bool grpc_ctype_prefix(const struct http_msg *msg, const char *p, uint32_t len)
{
	int i = http_msg_find(msg, "content-type", 12, 0);
	const struct http_view *v;

	if (i < 0)
		return false;
	v = &msg->headers[i].value;
	/* "application/grpc" alone, or followed by "+proto", ";..." and the like */
	return v->len >= len && http_view_eq_nocase((struct http_view){v->p, len}, p, len) &&
	       (v->len == len || v->p[len] == '+' || v->p[len] == ';' || v->p[len] == '-');
}

uint8_t proxy_grpc_request(const struct http_msg *msg)
{
	if (grpc_ctype_prefix(msg, "application/grpc-web", 20) ||
	    grpc_ctype_prefix(msg, "application/grpc-web-text", 25))
		return PROXY_GRPC_WEB;
	return grpc_ctype_prefix(msg, "application/grpc", 16) ? PROXY_GRPC : PROXY_GRPC_NONE;
}

uint64_t proxy_grpc_timeout_ms(const struct http_msg *msg)
{
	int i = http_msg_find(msg, "grpc-timeout", 12, 0);
	const struct http_view *v;
	uint64_t n = 0, ms;

	if (i < 0)
		return 0;
	v = &msg->headers[i].value;
	if (v->len < 2 || v->len > 9)
		return 0; /* TimeoutValue is at most 8 digits */
	for (uint32_t k = 0; k + 1 < v->len; k++) {
		if (v->p[k] < '0' || v->p[k] > '9')
			return 0;
		n = n * 10 + (uint64_t)(v->p[k] - '0');
	}
	switch (v->p[v->len - 1]) {
	case 'H':
		ms = n * 3600000;
		break;
	case 'M':
		ms = n * 60000;
		break;
	case 'S':
		ms = n * 1000;
		break;
	case 'm':
		ms = n;
		break;
	case 'u':
		ms = (n + 999) / 1000;
		break;
	case 'n':
		ms = (n + 999999) / 1000000;
		break;
	default:
		return 0;
	}
	return ms != 0 ? ms : 1; /* a deadline below 1 ms is still one */
}

int proxy_grpc_status(const struct http_msg *msg)
{
	int i = http_msg_find(msg, "grpc-status", 11, 0);
	const struct http_view *v;
	int code = 0;

	if (i < 0)
		return -1;
	v = &msg->headers[i].value;
	if (v->len == 0 || v->len > 3)
		return -1;
	for (uint32_t k = 0; k < v->len; k++) {
		if (v->p[k] < '0' || v->p[k] > '9')
			return -1;
		code = code * 10 + (v->p[k] - '0');
	}
	return code;
}

/* The gRPC code of a local reply's HTTP status. */
static unsigned int grpc_code(unsigned int status)
{
	switch (status) {
	case 400:
		return GRPC_INTERNAL;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
		return GRPC_UNIMPLEMENTED;
	case 429:
		return GRPC_RESOURCE_EXHAUSTED;
	case 502:
	case 503:
		return GRPC_UNAVAILABLE;
	case 504:
	case 408:
		return GRPC_DEADLINE_EXCEEDED;
	default:
		return status < 300 ? GRPC_OK : GRPC_UNKNOWN;
	}
}

uint32_t proxy_grpc_local(uint8_t kind, unsigned int status, const char *why, uint32_t len,
			  const struct http_header *in, uint32_t n_in, struct http_header *out,
			  char *buf, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	uint32_t n = 0, k;
	size_t used;
	int w;

	/* the fields the reply had (CORS, Location...), but a content-type of theirs */
	for (uint32_t i = 0; i < n_in && n < HP_LOCAL_HDRS - 3; i++)
		if (!http_view_eq_nocase(in[i].name, "content-type", 12))
			out[n++] = in[i];
	out[n++] = kind == PROXY_GRPC_WEB
			   ? (struct http_header){{"content-type", 12},
						  {"application/grpc-web+proto", 26}}
			   : (struct http_header){{"content-type", 12}, {"application/grpc", 16}};
	w = snprintf(buf, cap, "%u", grpc_code(status));
	out[n++] = (struct http_header){{"grpc-status", 11}, {buf, (uint32_t)w}};
	used = (size_t)w;
	/* grpc-message: percent-encoded (PROTOCOL-HTTP2.md), the trailing LF dropped */
	while (len > 0 && (why[len - 1] == '\n' || why[len - 1] == '\r'))
		len--;
	k = 0;
	for (uint32_t i = 0; i < len && used + k + 3 < cap; i++) {
		unsigned char c = (unsigned char)why[i];

		if (c >= 0x20 && c <= 0x7e && c != '%') {
			buf[used + k++] = (char)c;
		} else {
			buf[used + k++] = '%';
			buf[used + k++] = hex[c >> 4];
			buf[used + k++] = hex[c & 15];
		}
	}
	if (k > 0)
		out[n++] = (struct http_header){{"grpc-message", 12}, {buf + used, k}};
	return n;
}
