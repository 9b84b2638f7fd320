/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: trace context (SM-DR24, propagation only). A request's context
 * is taken from W3C traceparent (https://www.w3.org/TR/trace-context/) or B3
 * (https://github.com/openzipkin/b3-propagation, single "b3" or the x-b3-*
 * headers), created when absent or invalid, and sent upstream as W3C
 * traceparent and in the B3 form the client used. The proxy makes two spans
 * of a request, as a client and a server of their own would: a server span
 * (the client's span its parent) from the head to the response, and a client
 * span (the server span its parent) from the first try upstream to the
 * response, all tries in it; the upstream sees the client span as its
 * parent. tracestate goes through untouched. A sampled request's spans go
 * into the worker's span ring when it ends (telemetry_export.c sends them).
 * Worker only.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <rte_branch_prediction.h>

#include "telemetry_internal.h"

static int telem_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* W3C: lower case only; B3 ids are lower-hex too */
}

/* @p n hex digits into @p out (n / 2 bytes), right-aligned in @p size bytes. */
static bool telem_unhex(const char *p, uint32_t n, uint8_t *out, uint32_t size)
{
	if (n == 0 || n % 2 != 0 || n / 2 > size)
		return false;
	memset(out, 0, size);
	out += size - n / 2;
	for (uint32_t i = 0; i < n; i += 2) {
		int a = telem_hexval(p[i]), b = telem_hexval(p[i + 1]);

		if (a < 0 || b < 0)
			return false;
		out[i / 2] = (uint8_t)(a << 4 | b);
	}
	return true;
}

static bool telem_zero(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

void telem_hex(const uint8_t *p, uint32_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (uint32_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static const struct telem_str *telem_find(const struct telem_head *h, const char *name)
{
	size_t n = strlen(name);

	for (uint32_t i = 0; i < h->n_headers; i++)
		if (h->headers[i][0].len == n && strncasecmp(h->headers[i][0].p, name, n) == 0)
			return &h->headers[i][1];
	return NULL;
}

/* traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags> */
static bool telem_w3c(const struct telem_str *v, struct telem_trace *t)
{
	uint8_t ver, flags;

	if (v->len < 55 || v->p[2] != '-' || v->p[35] != '-' || v->p[52] != '-' ||
	    !telem_unhex(v->p, 2, &ver, 1) || ver == 0xff || (ver == 0 && v->len != 55) ||
	    !telem_unhex(v->p + 3, 32, t->trace_id, 16) ||
	    !telem_unhex(v->p + 36, 16, t->parent_id, 8) || !telem_unhex(v->p + 53, 2, &flags, 1) ||
	    telem_zero(t->trace_id, 16) || telem_zero(t->parent_id, 8))
		return false;
	t->sampled = flags & 1;
	t->decided = true;
	return true;
}

/* b3: {TraceId}-{SpanId}[-{Sampled}[-{ParentSpanId}]], or a lone "0" / "1" / "d" */
static bool telem_b3_single(const struct telem_str *v, struct telem_trace *t)
{
	const char *p = v->p, *end = v->p + v->len, *dash = memchr(p, '-', v->len), *s;

	if (v->len == 1 && strchr("01d", p[0]) != NULL)
		return false; /* a decision without ids: a new trace with that decision */
	if (dash == NULL || (dash - p != 16 && dash - p != 32) ||
	    !telem_unhex(p, (uint32_t)(dash - p), t->trace_id, 16) || end - dash < 17 ||
	    !telem_unhex(dash + 1, 16, t->parent_id, 8) || telem_zero(t->trace_id, 16))
		return false;
	s = dash + 17;
	t->decided = false;
	if (s < end) {
		if (*s != '-' || s + 1 >= end)
			return false;
		t->sampled = s[1] == '1' || s[1] == 'd';
		t->decided = s[1] == '0' || t->sampled;
	}
	return true;
}

static bool telem_b3_multi(const struct telem_head *h, struct telem_trace *t)
{
	const struct telem_str *tid = telem_find(h, "x-b3-traceid");
	const struct telem_str *sid = telem_find(h, "x-b3-spanid");
	const struct telem_str *smp = telem_find(h, "x-b3-sampled");
	const struct telem_str *flg = telem_find(h, "x-b3-flags");

	if (tid == NULL || sid == NULL || (tid->len != 16 && tid->len != 32) || sid->len != 16 ||
	    !telem_unhex(tid->p, tid->len, t->trace_id, 16) ||
	    !telem_unhex(sid->p, 16, t->parent_id, 8) || telem_zero(t->trace_id, 16))
		return false;
	t->decided = false;
	if (flg != NULL && flg->len == 1 && flg->p[0] == '1') {
		t->sampled = t->decided = true;
	} else if (smp != NULL && smp->len >= 1) {
		t->sampled = smp->p[0] == '1' || smp->p[0] == 't';
		t->decided = t->sampled || smp->p[0] == '0' || smp->p[0] == 'f';
	}
	return true;
}

static void telem_rand_bytes(struct telem_worker *tw, uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i += 4) {
		uint32_t x = lb_rand32(&tw->rng);

		memcpy(p + i, &x, RTE_MIN(4u, n - i));
	}
	if (telem_zero(p, n))
		p[n - 1] = 1; /* all-zero ids are invalid */
}

void telem_trace_start(struct telem_worker *tw, const struct cfg_snapshot *snap,
		       const struct telem_head *h, struct telem_trace *t)
{
	const struct telem_snap *ts = snap->telemetry;
	const struct telem_str *v;

	memset(t, 0, sizeof(*t));
	if (tw == NULL || ts == NULL || !ts->trace.enabled)
		return;
	if ((v = telem_find(h, "traceparent")) != NULL && telem_w3c(v, t))
		t->format = TELEM_TRACE_W3C;
	else if ((v = telem_find(h, "b3")) != NULL && telem_b3_single(v, t))
		t->format = TELEM_TRACE_B3_SINGLE;
	else if (telem_b3_multi(h, t))
		t->format = TELEM_TRACE_B3_MULTI;
	else
		memset(t, 0, sizeof(*t));
	if (t->format == TELEM_TRACE_NONE) {
		telem_rand_bytes(tw, t->trace_id, 16);
		/* "b3: 0|1|d" alone: a decision for the new trace */
		v = telem_find(h, "b3");
		if (v != NULL && v->len == 1 && strchr("01d", v->p[0]) != NULL) {
			t->sampled = v->p[0] != '0';
			t->decided = true;
		}
	}
	if (!t->decided) /* sampling by rate, for the traces nobody decided yet */
		t->sampled = ts->trace.sample_ppm >= 1000000 ||
			     lb_rand32(&tw->rng) % 1000000 < ts->trace.sample_ppm;
	telem_rand_bytes(tw, t->span_id, 8);
	telem_rand_bytes(tw, t->client_id, 8);
	t->active = true;
}

/* Append @p n bytes of @p p to @p out at *@p at. */
static void telem_put(char *out, uint32_t *at, const char *p, uint32_t n)
{
	memcpy(out + *at, p, n);
	*at += n;
}

/* Header @p name with the value @p a [-@p b [-@p c [-@p d]]] (NULL: left out). */
static void telem_trace_header(struct telem_trace_out *o, unsigned int i, const char *name,
			       const char *a, uint32_t na, const char *b, uint32_t nb,
			       const char *c, uint32_t nc, const char *d, uint32_t nd)
{
	uint32_t at = 0;

	telem_put(o->val[i], &at, a, na);
	if (b != NULL) {
		o->val[i][at++] = '-';
		telem_put(o->val[i], &at, b, nb);
	}
	if (c != NULL) {
		o->val[i][at++] = '-';
		telem_put(o->val[i], &at, c, nc);
	}
	if (d != NULL) {
		o->val[i][at++] = '-';
		telem_put(o->val[i], &at, d, nd);
	}
	o->val[i][at] = '\0';
	o->len[i] = at;
	o->name[i] = name;
}

unsigned int telem_trace_headers(const struct telem_trace *t, struct telem_trace_out *o)
{
	const char *flags = t->sampled ? "01" : "00", *b3s = t->sampled ? "1" : "0";

	if (!t->active)
		return 0;
	/* by hand: snprintf was most of a traced request's header cost */
	telem_hex(t->trace_id, 16, o->trace);
	telem_hex(t->client_id, 8, o->span);
	telem_hex(t->span_id, 8, o->parent);
	telem_trace_header(o, 0, "traceparent", "00", 2, o->trace, 32, o->span, 16, flags, 2);
	if (t->format == TELEM_TRACE_B3_SINGLE) {
		telem_trace_header(o, 1, "b3", o->trace, 32, o->span, 16, b3s, 1, o->parent, 16);
		return 2;
	}
	if (t->format == TELEM_TRACE_B3_MULTI) {
		telem_trace_header(o, 1, "x-b3-traceid", o->trace, 32, NULL, 0, NULL, 0, NULL, 0);
		telem_trace_header(o, 2, "x-b3-spanid", o->span, 16, NULL, 0, NULL, 0, NULL, 0);
		telem_trace_header(o, 3, "x-b3-parentspanid", o->parent, 16, NULL, 0, NULL, 0, NULL,
				   0);
		telem_trace_header(o, 4, "x-b3-sampled", b3s, 1, NULL, 0, NULL, 0, NULL, 0);
		return 5;
	}
	return 1;
}

/* The headers the proxy replaces (tracestate passes through). */
const char *const telem_trace_names[TELEM_TRACE_NAMES] = {
	"traceparent",	     "b3",	     "x-b3-traceid", "x-b3-spanid",
	"x-b3-parentspanid", "x-b3-sampled", "x-b3-flags",
};

void telem_span_push(struct telem_worker *tw, const struct telem_http *t, enum telem_span_kind kind,
		     unsigned int status, uint32_t flags, uint32_t upstream, uint16_t upstream_port,
		     uint64_t now_us)
{
	const bool client = kind == TELEM_SPAN_CLIENT;
	struct telem_span *sp = telem_ring_reserve(&tw->spans);

	if (unlikely(sp == NULL)) {
		stats_inc(tw->stats, STAT_TRACE_SPAN_RING_FULL);
		return;
	}
	*sp = t->sp;
	memcpy(sp->trace_id, t->trace.trace_id, sizeof(sp->trace_id));
	memcpy(sp->span_id, client ? t->trace.client_id : t->trace.span_id, sizeof(sp->span_id));
	memcpy(sp->parent_id, client ? t->trace.span_id : t->trace.parent_id,
	       sizeof(sp->parent_id));
	sp->kind = (uint8_t)kind;
	sp->attempts = client ? t->attempts : 0;
	sp->start_us = client ? t->up_start_us : t->start_us;
	sp->duration_us = now_us > sp->start_us ? now_us - sp->start_us : 0;
	sp->upstream = upstream;
	sp->upstream_port = upstream_port;
	sp->status = (uint16_t)status;
	sp->flags = (uint16_t)flags;
	telem_ring_commit(&tw->spans);
}
