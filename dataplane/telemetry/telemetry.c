/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: interned labels, the per-worker series tables, recording on the
 * worker, merging and the Prometheus exposition (telemetry.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "../log/log.h"
#include "telemetry_internal.h"

/* Istio's standard buckets (istio.io "Standard Metrics"; Envoy's stats_config of the mesh). */
const uint64_t telem_dur_bounds_us[TELEM_DUR_BUCKETS] = {
	500,	  1000,	     5000,	10000,	    25000,	   50000,    100000,
	250000,	  500000,    1000000,	2500000,    5000000,	   10000000, 30000000,
	60000000, 300000000, 600000000, 1800000000, 3600000000ULL,
};
const uint64_t telem_bytes_bounds[TELEM_BYTES_BUCKETS] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};
const char *const telem_rf_names[TELEM_RF_COUNT] = {"UH", "UF", "UO", "URX", "UT", "UC",
						    "DC", "NR", "FI", "DI",  "UPE"};

struct telem_global *telem_g;

unsigned int telem_bucket(const uint64_t *bounds, unsigned int n, uint64_t v)
{
	unsigned int i = 0;

	while (i < n && v > bounds[i])
		i++;
	return i;
}

/*
 * ---- interned labels ----
 * Written under telem_intern_lock (the control thread compiling a snapshot,
 * a worker meeting a peer identity no workload has), read by anyone: an id
 * is published (release) after its label is written, and a label never
 * changes or goes.
 */

#define TELEM_INTERN_SLOTS (2 * TELEM_LABELS_MAX)

static struct telem_label telem_labels[TELEM_LABELS_MAX];
static uint32_t telem_n_labels;			       /* under the lock */
static uint32_t telem_intern_hash[TELEM_INTERN_SLOTS]; /* id + 1; release stores */
static pthread_mutex_t telem_intern_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t telem_fnv(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;
}

const struct telem_label *telem_label_get(uint32_t id)
{
	return &telem_labels[id];
}

/* The slot of (a, b, c): the one holding it, or the empty one where it goes. */
static uint32_t telem_intern_slot(uint32_t i, const char *a, const char *b, const char *c)
{
	uint32_t v;

	for (; (v = __atomic_load_n(&telem_intern_hash[i], __ATOMIC_ACQUIRE)) != 0;
	     i = (i + 1) % TELEM_INTERN_SLOTS) {
		const struct telem_label *l = &telem_labels[v - 1];

		if (strcmp(l->a, a) == 0 && strcmp(l->b, b) == 0 && strcmp(l->c, c) == 0)
			break;
	}
	return i;
}

int64_t telem_label_intern(const char *a, const char *b, const char *c)
{
	uint64_t h = telem_fnv(telem_fnv(telem_fnv(0xcbf29ce484222325ULL, a), b), c);
	uint32_t i = telem_intern_slot((uint32_t)(h % TELEM_INTERN_SLOTS), a, b, c), id;
	struct telem_label *l;
	int64_t r;

	if ((id = __atomic_load_n(&telem_intern_hash[i], __ATOMIC_ACQUIRE)) != 0)
		return id - 1; /* the common case: no lock */
	pthread_mutex_lock(&telem_intern_lock);
	i = telem_intern_slot(i, a, b, c); /* another thread may have taken it meanwhile */
	if ((id = telem_intern_hash[i]) != 0) {
		r = id - 1;
	} else if ((id = telem_n_labels) >= TELEM_LABELS_MAX) {
		r = -ENOSPC;
	} else {
		l = &telem_labels[id];
		snprintf(l->a, sizeof(l->a), "%s", a);
		snprintf(l->b, sizeof(l->b), "%s", b);
		snprintf(l->c, sizeof(l->c), "%s", c);
		telem_n_labels = id + 1;
		__atomic_store_n(&telem_intern_hash[i], id + 1, __ATOMIC_RELEASE);
		r = id;
	}
	pthread_mutex_unlock(&telem_intern_lock);
	return r;
}

void telem_labels_init(void)
{
	if (telem_n_labels != 0)
		return;
	telem_label_intern("unknown", "unknown", "unknown");
	telem_label_intern("unknown", "unknown", "");
	telem_label_intern("overflow", "overflow", "overflow");
}

uint32_t telem_wl_label(const struct cfg_snapshot *snap, int32_t wl)
{
	const struct telem_snap *ts = snap != NULL ? snap->telemetry : NULL;

	if (ts == NULL || wl < 0 || (uint32_t)wl >= snap->n_workloads)
		return TELEM_ID_UNKNOWN;
	return ts->wl_peer[wl];
}

uint32_t telem_peer_label(const struct cfg_snapshot *snap, int32_t wl, const char *peer_id)
{
	uint32_t id = telem_wl_label(snap, wl);
	const char *ns, *end;
	char nsbuf[64] = "unknown";
	int64_t r;

	if (peer_id == NULL || peer_id[0] == '\0' || strcmp(telem_label_get(id)->c, peer_id) == 0)
		return id;
	/* the certificate names another identity than the address's workload: the
	 * principal is the certificate's, the namespace its /ns/<ns>/, the workload
	 * unknown (Istio's labels without the peer's metadata) */
	if ((ns = strstr(peer_id, "/ns/")) != NULL) {
		ns += 4;
		end = strchr(ns, '/');
		snprintf(nsbuf, sizeof(nsbuf), "%.*s",
			 (int)(end != NULL ? end - ns : (long)strlen(ns)), ns);
	}
	r = telem_label_intern("unknown", nsbuf, peer_id);
	return r < 0 ? TELEM_ID_UNKNOWN : (uint32_t)r;
}

uint32_t telem_svc_label(const struct cfg_snapshot *snap, int32_t svc)
{
	const struct telem_snap *ts = snap != NULL ? snap->telemetry : NULL;

	if (ts == NULL || svc < 0 || (uint32_t)svc >= snap->n_services)
		return TELEM_ID_NO_SVC;
	return ts->svc_label[svc];
}

/* ---- the worker's series table ---- */

static uint32_t telem_key_hash(const struct telem_key *k)
{
	uint64_t w[2], h;

	memcpy(w, k, sizeof(w));
	h = w[0] * 0x9e3779b97f4a7c15ULL ^ (w[1] + 0x632be59bd9b4e019ULL);
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(h ^ h >> 32);
}

/* The series of @p k: found, added, or the overflow series when the table is full. */
static struct telem_series *telem_series_get(struct telem_worker *tw, const struct telem_key *k)
{
	uint32_t i = telem_key_hash(k) & tw->hash_mask, v;
	struct telem_series *s;

	for (; (v = tw->hash[i]) != 0; i = (i + 1) & tw->hash_mask)
		if (memcmp(&tw->series[v - 1].key, k, sizeof(*k)) == 0)
			return &tw->series[v - 1];
	if (unlikely(tw->n == tw->cap)) {
		stats_inc(tw->stats, STAT_TELEMETRY_SERIES_OVERFLOW);
		return &tw->series[tw->cap];
	}
	s = &tw->series[tw->n];
	s->key = *k;
	tw->hash[i] = tw->n + 1;
	/* readers see the key before the series counts */
	__atomic_store_n(&tw->n, tw->n + 1, __ATOMIC_RELEASE);
	return s;
}

struct telem_worker *telem_worker_get(unsigned int worker_id, struct stats_block *stats)
{
	if (telem_g == NULL || worker_id >= telem_g->n_workers)
		return NULL;
	telem_g->w[worker_id].stats = stats;
	return &telem_g->w[worker_id];
}

/* Copy @p v into @p out[size] (NUL-terminated, cut to fit). @return whether it was cut. */
static bool telem_copy(char *out, size_t size, const char *p, uint32_t len)
{
	size_t n = RTE_MIN((size_t)len, size - 1);

	if (n > 0)
		memcpy(out, p, n);
	out[n] = '\0';
	return n < len;
}

void telem_http_begin(struct telem_worker *tw, const struct cfg_snapshot *snap,
		      struct telem_http *t, const struct telem_head *h, uint32_t client,
		      uint16_t client_port, uint32_t src, uint8_t security, uint64_t now_us)
{
	const struct telem_snap *ts = snap->telemetry;
	struct telem_log_rec *r = &t->rec;
	size_t n;

	t->active = tw != NULL;
	t->log = false;
	t->security = security;
	t->grpc = 0;
	t->src = src;
	t->dst = TELEM_ID_UNKNOWN;
	t->svc = TELEM_ID_NO_SVC;
	t->start_us = now_us;
	t->trace.active = false;
	t->span = false;
	t->attempts = 0;
	if (tw != NULL)
		telem_trace_start(tw, snap, h, &t->trace);
	if (t->trace.active && t->trace.sampled && ts != NULL && ts->trace.url[0] != '\0') {
		t->span = true;
		t->sp.client = client;
		telem_copy(t->sp.method, sizeof(t->sp.method), h->method.p, h->method.len);
		telem_copy(t->sp.path, sizeof(t->sp.path), h->path.p, h->path.len);
	}
	if (tw == NULL || ts == NULL || !ts->log.enabled ||
	    (ts->log.sample_ppm < 1000000 && lb_rand32(&tw->rng) % 1000000 >= ts->log.sample_ppm))
		return;
	t->log = true;
	r->client = client;
	r->client_port = client_port;
	telem_copy(r->method, sizeof(r->method), h->method.p, h->method.len);
	r->truncated = telem_copy(r->path, sizeof(r->path), h->path.p, h->path.len);
	n = strlen(r->path);
	if (h->query.len > 0 && n + 1 < sizeof(r->path)) {
		r->path[n] = '?';
		r->truncated |= telem_copy(r->path + n + 1, sizeof(r->path) - n - 1, h->query.p,
					   h->query.len);
	}
	telem_copy(r->authority, sizeof(r->authority), h->authority.p, h->authority.len);
	telem_copy(r->request_id, sizeof(r->request_id), h->request_id.p, h->request_id.len);
	memcpy(r->protocol, "HTTP/1.0", sizeof("HTTP/1.0"));
	r->protocol[7] = (char)('0' + h->version_minor % 10);
	r->trace_id[0] = '\0';
	if (t->trace.active)
		telem_hex(t->trace.trace_id, 16, r->trace_id);
	/* n_headers <= TELEM_LOG_HEADERS (the config's bound); said again for -O3's bounds check */
	for (uint32_t k = 0; k < ts->log.n_headers && k < TELEM_LOG_HEADERS; k++) {
		const char *name = ts->log.headers[k];
		size_t nl = strlen(name);

		r->hdr[k][0] = '\0';
		for (uint32_t i = 0; i < h->n_headers; i++)
			if (h->headers[i][0].len == nl &&
			    strncasecmp(h->headers[i][0].p, name, nl) == 0) {
				telem_copy(r->hdr[k], sizeof(r->hdr[k]), h->headers[i][1].p,
					   h->headers[i][1].len);
				break;
			}
	}
}

void telem_http_request_id(struct telem_http *t, const char *id, uint32_t len)
{
	if (t->log)
		telem_copy(t->rec.request_id, sizeof(t->rec.request_id), id, len);
}

/* Add one observation of @p v to the histogram @p b (bounds @p bounds[n]) and its sum. */
static void telem_observe(uint64_t *b, uint64_t *sum, const uint64_t *bounds, unsigned int n,
			  uint64_t v)
{
	telem_add(&b[telem_bucket(bounds, n, v)], 1);
	telem_add(sum, v);
}

void telem_http_end(struct telem_worker *tw, const struct cfg_snapshot *snap, struct telem_http *t,
		    unsigned int status, uint32_t flags, uint64_t req_bytes, uint64_t resp_bytes,
		    uint32_t upstream, uint16_t upstream_port, const char *route, uint64_t now_us)
{
	const struct telem_snap *ts = snap != NULL ? snap->telemetry : NULL;
	const uint64_t dur = now_us > t->start_us ? now_us - t->start_us : 0;
	struct telem_key k = {
		.src = t->src,
		.dst = t->dst,
		.svc = t->svc,
		.code = (uint16_t)status,
		.flags = (uint16_t)(flags & ((1u << TELEM_RF_COUNT) - 1)),
		.grpc = t->grpc,
		.security = t->security,
		.kind = TELEM_KIND_HTTP,
	};
	struct telem_series *s;
	struct telem_log_rec *r = &t->rec;
	void *slot;

	if (!t->active)
		return;
	t->active = false;
	s = telem_series_get(tw, &k);
	telem_add(&s->requests, 1);
	telem_observe(s->dur, &s->dur_sum_us, telem_dur_bounds_us, TELEM_DUR_BUCKETS, dur);
	telem_observe(s->reqb, &s->reqb_sum, telem_bytes_bounds, TELEM_BYTES_BUCKETS, req_bytes);
	telem_observe(s->respb, &s->respb_sum, telem_bytes_bounds, TELEM_BYTES_BUCKETS, resp_bytes);
	if (t->span) {
		t->sp.svc = k.svc;
		telem_span_push(tw, t, TELEM_SPAN_SERVER, status, k.flags, upstream, upstream_port,
				now_us);
		if (t->attempts > 0)
			telem_span_push(tw, t, TELEM_SPAN_CLIENT, status, k.flags, upstream,
					upstream_port, now_us);
	}
	if (!t->log || ts == NULL || (!ts->log.all && status >= 200 && status < 300))
		return;
	r->start_us = t->start_us;
	r->duration_us = dur;
	r->req_bytes = req_bytes;
	r->resp_bytes = resp_bytes;
	r->upstream = upstream;
	r->upstream_port = upstream_port;
	r->status = (uint16_t)status;
	r->flags = k.flags;
	r->src_peer = k.src;
	r->dst_peer = k.dst;
	r->dst_svc = k.svc;
	r->security = k.security;
	telem_copy(r->route, sizeof(r->route), route != NULL ? route : "",
		   route != NULL ? (uint32_t)strlen(route) : 0);
	if (unlikely((slot = telem_ring_reserve(&tw->log)) == NULL)) {
		stats_inc(tw->stats, STAT_ACCESS_LOG_RING_FULL);
		return;
	}
	memcpy(slot, r, sizeof(*r));
	telem_ring_commit(&tw->log);
}

uint32_t telem_tcp_open(struct telem_worker *tw, const struct cfg_snapshot *snap, uint32_t src,
			int32_t dst_svc, int32_t dst_wl, uint8_t security)
{
	struct telem_key k = {
		.src = src,
		.dst = telem_wl_label(snap, dst_wl),
		.svc = telem_svc_label(snap, dst_svc),
		.security = security,
		.kind = TELEM_KIND_TCP,
	};
	struct telem_series *s;

	if (tw == NULL)
		return 0;
	s = telem_series_get(tw, &k);
	telem_add(&s->tcp_opened, 1);
	return (uint32_t)(s - tw->series) + 1;
}

void telem_tcp_bytes(struct telem_worker *tw, uint32_t h, uint64_t received, uint64_t sent)
{
	if (tw == NULL || h == 0)
		return;
	if (received != 0)
		telem_add(&tw->series[h - 1].tcp_received, received);
	if (sent != 0)
		telem_add(&tw->series[h - 1].tcp_sent, sent);
}

void telem_tcp_close(struct telem_worker *tw, uint32_t h)
{
	if (tw != NULL && h != 0)
		telem_add(&tw->series[h - 1].tcp_closed, 1);
}

/* ---- readers ---- */

static int telem_key_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct telem_series *)a)->key,
		      &((const struct telem_series *)b)->key, sizeof(struct telem_key));
}

static void telem_series_sum(struct telem_series *to, const struct telem_series *from)
{
	const uint64_t *f = &from->requests;
	uint64_t *t = &to->requests;
	const size_t n = (sizeof(*from) - offsetof(struct telem_series, requests)) / sizeof(*f);

	for (size_t i = 0; i < n; i++)
		t[i] += telem_read(&f[i]);
}

struct telem_series *telem_merge(unsigned int *n)
{
	size_t total = 0, m = 0;
	struct telem_series *all;

	*n = 0;
	if (telem_g == NULL)
		return calloc(1, sizeof(*all));
	for (unsigned int i = 0; i < telem_g->n_workers; i++)
		total += __atomic_load_n(&telem_g->w[i].n, __ATOMIC_ACQUIRE) + 1;
	all = calloc(total + 1, sizeof(*all));
	if (all == NULL)
		return NULL;
	for (unsigned int i = 0; i < telem_g->n_workers; i++) {
		const struct telem_worker *tw = &telem_g->w[i];
		uint32_t k = __atomic_load_n(&tw->n, __ATOMIC_ACQUIRE);

		/* no more than counted above: a series added since waits for the next read */
		k = RTE_MIN(k, (uint32_t)(total - m - 1));
		for (uint32_t j = 0; j < k; j++) {
			all[m].key = tw->series[j].key;
			telem_series_sum(&all[m++], &tw->series[j]);
		}
		all[m].key = (struct telem_key){TELEM_ID_OVERFLOW,
						TELEM_ID_OVERFLOW,
						TELEM_ID_OVERFLOW,
						0,
						0,
						0,
						0,
						0xff,
						0};
		telem_series_sum(&all[m++], &tw->series[tw->cap]);
	}
	qsort(all, m, sizeof(*all), telem_key_cmp);
	for (size_t i = 0; i < m; i++) {
		if (*n > 0 && memcmp(&all[*n - 1].key, &all[i].key, sizeof(all[i].key)) == 0) {
			const uint64_t *f = &all[i].requests;
			uint64_t *t = &all[*n - 1].requests;

			for (size_t w = 0;
			     w < (sizeof(all[i]) - offsetof(struct telem_series, requests)) /
					 sizeof(*f);
			     w++)
				t[w] += f[w];
		} else {
			all[(*n)++] = all[i];
		}
	}
	return all;
}

/* The response flags as Envoy writes them: "UH,UF" or "-". */
static void telem_flags_str(uint32_t flags, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (unsigned int i = 0; i < TELEM_RF_COUNT; i++)
		if (flags & (1u << i))
			o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "",
					      telem_rf_names[i]);
	if (o == 0)
		snprintf(out, len, "-");
}

/*
 * Istio's label set of merged series @p s. Names come from config and are
 * validated there (letters, digits, '-', '_', '.', '/', ':'), so they need no
 * escaping in the exposition.
 */
static void telem_labels_str(const struct telem_series *s, const char *reporter, char *out,
			     size_t len)
{
	const struct telem_label *src = telem_label_get(s->key.src);
	const struct telem_label *dst = telem_label_get(s->key.dst);
	const struct telem_label *svc = telem_label_get(s->key.svc);
	char flags[64], grpc[8];
	int n;

	telem_flags_str(s->key.flags, flags, sizeof(flags));
	grpc[0] = '\0';
	if (s->key.grpc != 0)
		snprintf(grpc, sizeof(grpc), "%u", s->key.grpc - 1u);
	n = snprintf(out, len,
		     "reporter=\"%s\",source_workload=\"%s\",source_workload_namespace=\"%s\","
		     "source_principal=\"%s\",destination_workload=\"%s\","
		     "destination_workload_namespace=\"%s\",destination_principal=\"%s\","
		     "destination_service=\"%s\",destination_service_name=\"%s\","
		     "destination_service_namespace=\"%s\",",
		     reporter, src->a, src->b,
		     (s->key.security & TELEM_SEC_DOWN_MTLS) ? src->c : "unknown", dst->a, dst->b,
		     (s->key.security & TELEM_SEC_UP_MTLS) ? dst->c : "unknown", svc->a, svc->b,
		     svc->c);
	if (n < 0 || (size_t)n >= len)
		return;
	if (s->key.kind != TELEM_KIND_TCP)
		n += snprintf(out + n, len - (size_t)n,
			      "response_code=\"%u\",grpc_response_status=\"%s\",", s->key.code,
			      grpc);
	if ((size_t)n < len)
		snprintf(out + n, len - (size_t)n,
			 "response_flags=\"%s\",connection_security_policy=\"%s\"", flags,
			 (s->key.security & TELEM_SEC_DOWN_MTLS) ? "mutual_tls" : "none");
}

static void telem_histogram(struct log_buf *b, const char *name, const char *labels,
			    const uint64_t *buckets, const uint64_t *bounds, unsigned int n,
			    uint64_t sum, double scale)
{
	uint64_t cum = 0;

	for (unsigned int i = 0; i < n; i++) {
		cum += buckets[i];
		log_buf_printf(b, "%s_bucket{%s,le=\"%g\"} %" PRIu64 "\n", name, labels,
			       (double)bounds[i] / scale, cum);
	}
	cum += buckets[n];
	log_buf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", name, labels, cum);
	log_buf_printf(b, "%s_sum{%s} %.17g\n", name, labels, (double)sum / scale);
	log_buf_printf(b, "%s_count{%s} %" PRIu64 "\n", name, labels, cum);
}

enum telem_family {
	TF_REQUESTS,
	TF_DURATION,
	TF_REQ_BYTES,
	TF_RESP_BYTES,
	TF_TCP_OPENED,
	TF_TCP_CLOSED,
	TF_TCP_SENT,
	TF_TCP_RECEIVED,
	TF_MAX,
};

static const struct {
	const char *name, *type, *help;
} telem_families[TF_MAX] = {
	[TF_REQUESTS] = {"istio_requests_total", "counter", "Requests the proxy finished"},
	[TF_DURATION] = {"istio_request_duration_milliseconds", "histogram",
			 "Request duration, head parsed to response done"},
	[TF_REQ_BYTES] = {"istio_request_bytes", "histogram", "Request sizes, head and body"},
	[TF_RESP_BYTES] = {"istio_response_bytes", "histogram", "Response sizes, head and body"},
	[TF_TCP_OPENED] = {"istio_tcp_connections_opened_total", "counter",
			   "TCP proxy connections opened"},
	[TF_TCP_CLOSED] = {"istio_tcp_connections_closed_total", "counter",
			   "TCP proxy connections closed"},
	[TF_TCP_SENT] = {"istio_tcp_sent_bytes_total", "counter",
			 "Bytes the TCP proxy sent to clients"},
	[TF_TCP_RECEIVED] = {"istio_tcp_received_bytes_total", "counter",
			     "Bytes the TCP proxy received from clients"},
};

void telem_render_metrics(const struct cfg_snapshot *snap, struct log_buf *b)
{
	const struct telem_snap *ts = snap != NULL ? snap->telemetry : NULL;
	const char *reporter =
		ts != NULL && ts->reporter == TELEM_REPORTER_DESTINATION ? "destination" : "source";
	struct telem_series *all;
	unsigned int n;
	char labels[2048];

	all = telem_merge(&n);
	if (all == NULL) {
		b->failed = true;
		return;
	}
	for (unsigned int f = 0; f < TF_MAX && telem_g != NULL; f++) {
		const bool tcp = f >= TF_TCP_OPENED;

		log_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", telem_families[f].name,
			       telem_families[f].help, telem_families[f].name,
			       telem_families[f].type);
		for (unsigned int i = 0; i < n; i++) {
			const struct telem_series *s = &all[i];

			if (tcp ? (s->key.kind == TELEM_KIND_HTTP ||
				   (s->key.kind == 0xff && s->tcp_opened == 0))
				: (s->key.kind == TELEM_KIND_TCP ||
				   (s->key.kind == 0xff && s->requests == 0)))
				continue;
			if (s->key.kind == 0xff) {
				/* the overflow series renders as an HTTP or a TCP one */
				struct telem_series o = *s;

				o.key.kind = tcp ? TELEM_KIND_TCP : TELEM_KIND_HTTP;
				telem_labels_str(&o, reporter, labels, sizeof(labels));
			} else {
				telem_labels_str(s, reporter, labels, sizeof(labels));
			}
			switch (f) {
			case TF_REQUESTS:
				log_buf_printf(b, "%s{%s} %" PRIu64 "\n", telem_families[f].name,
					       labels, s->requests);
				break;
			case TF_DURATION:
				telem_histogram(b, telem_families[f].name, labels, s->dur,
						telem_dur_bounds_us, TELEM_DUR_BUCKETS,
						s->dur_sum_us, 1000.0);
				break;
			case TF_REQ_BYTES:
				telem_histogram(b, telem_families[f].name, labels, s->reqb,
						telem_bytes_bounds, TELEM_BYTES_BUCKETS,
						s->reqb_sum, 1.0);
				break;
			case TF_RESP_BYTES:
				telem_histogram(b, telem_families[f].name, labels, s->respb,
						telem_bytes_bounds, TELEM_BYTES_BUCKETS,
						s->respb_sum, 1.0);
				break;
			default: {
				const uint64_t v[] = {s->tcp_opened, s->tcp_closed, s->tcp_sent,
						      s->tcp_received};

				log_buf_printf(b, "%s{%s} %" PRIu64 "\n", telem_families[f].name,
					       labels, v[f - TF_TCP_OPENED]);
			}
			}
		}
	}
	if (telem_g != NULL) {
		log_buf_printf(b,
			       "# HELP meshdp_access_log_lines_total Access log lines the logger "
			       "thread wrote\n# TYPE meshdp_access_log_lines_total counter\n"
			       "meshdp_access_log_lines_total %" PRIu64 "\n",
			       telem_read(&telem_g->lines));
		log_buf_printf(b,
			       "# HELP meshdp_access_log_write_errors_total Access log lines the "
			       "output refused\n# TYPE meshdp_access_log_write_errors_total "
			       "counter\nmeshdp_access_log_write_errors_total %" PRIu64 "\n",
			       telem_read(&telem_g->write_errors));
		log_buf_printf(
			b,
			"# HELP meshdp_security_event_lines_total Security event lines the "
			"logger thread wrote\n# TYPE meshdp_security_event_lines_total "
			"counter\nmeshdp_security_event_lines_total %" PRIu64 "\n"
			"# HELP meshdp_security_event_write_errors_total Security event lines "
			"the sink refused\n# TYPE meshdp_security_event_write_errors_total "
			"counter\nmeshdp_security_event_write_errors_total %" PRIu64 "\n",
			telem_read(&telem_g->sev_lines), telem_read(&telem_g->sev_write_errors));
		log_buf_printf(
			b,
			"# HELP meshdp_spans_exported_total Spans the collector accepted\n"
			"# TYPE meshdp_spans_exported_total counter\n"
			"meshdp_spans_exported_total %" PRIu64 "\n"
			"# HELP meshdp_span_export_failures_total Spans dropped: the collector "
			"failed or refused them\n# TYPE meshdp_span_export_failures_total "
			"counter\nmeshdp_span_export_failures_total %" PRIu64 "\n",
			telem_read(&telem_g->spans_sent),
			telem_read(&telem_g->span_export_failures));
	}
	free(all);
}

unsigned int telem_top(struct telem_top_row *out, unsigned int max)
{
	unsigned int n, rows = 0;
	struct telem_series *all = telem_merge(&n);

	if (all == NULL)
		return 0;
	/* sorted by key: a service's series are adjacent only per source, so search */
	for (unsigned int i = 0; i < n; i++) {
		const struct telem_series *s = &all[i];
		const struct telem_label *l;
		unsigned int r;
		char name[sizeof(out->service)];

		if (s->key.kind != TELEM_KIND_HTTP)
			continue;
		l = telem_label_get(s->key.svc);
		snprintf(name, sizeof(name), "%s", l->a);
		for (r = 0; r < rows && strcmp(out[r].service, name) != 0; r++)
			;
		if (r == rows) {
			if (rows == max)
				continue;
			memset(&out[r], 0, sizeof(out[r]));
			memcpy(out[r].service, name, sizeof(name));
			rows++;
		}
		out[r].requests += s->requests;
		if (s->key.code >= 500 || s->key.code == 0)
			out[r].errors += s->requests;
		for (unsigned int k = 0; k <= TELEM_DUR_BUCKETS; k++)
			out[r].dur[k] += s->dur[k];
	}
	free(all);
	return rows;
}

/* ---- life ---- */

int telem_ring_init(struct telem_ring *r, uint32_t n, uint32_t size)
{
	r->mask = n - 1;
	r->size = size;
	r->prod = r->cons = 0;
	r->slots = calloc(n, size);
	return r->slots != NULL ? 0 : -ENOMEM;
}

void telem_ring_free(struct telem_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

int telem_init(unsigned int n_workers, uint32_t max_series, uint32_t ring_size)
{
	struct telem_global *g;
	struct timespec t;
	uint32_t slots = 1;

	telem_labels_init();
	if (telem_g != NULL)
		return -EBUSY;
	while (slots < 2 * max_series)
		slots <<= 1;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return -ENOMEM;
	g->n_workers = n_workers;
	g->w = aligned_alloc(64, RTE_ALIGN_CEIL(n_workers * sizeof(*g->w), 64));
	if (g->w == NULL) {
		free(g);
		return -ENOMEM;
	}
	memset(g->w, 0, n_workers * sizeof(*g->w));
	for (unsigned int i = 0; i < n_workers; i++) {
		struct telem_worker *tw = &g->w[i];

		tw->cap = max_series;
		tw->hash_mask = slots - 1;
		tw->hash = calloc(slots, sizeof(*tw->hash));
		tw->series = calloc(max_series + 1, sizeof(*tw->series));
		tw->rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		tw->id = (uint16_t)i;
		if (tw->hash == NULL || tw->series == NULL ||
		    telem_ring_init(&tw->log, ring_size, sizeof(struct telem_log_rec)) != 0 ||
		    telem_ring_init(&tw->spans, ring_size, sizeof(struct telem_span)) != 0 ||
		    telem_ring_init(&tw->sev, TELEM_SEV_RING, sizeof(struct telem_sev_rec)) != 0) {
			telem_g = g;
			telem_free();
			return -ENOMEM;
		}
	}
	g->tsc_per_us = RTE_MAX(rte_get_tsc_hz() / 1000000, (uint64_t)1);
	clock_gettime(CLOCK_REALTIME, &t);
	g->unix_offset_us = (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000 -
			    rte_rdtsc() / g->tsc_per_us;
	telem_g = g;
	return 0;
}

int telem_start(const struct cfg_snapshot *snap, unsigned int n_workers, char *err, size_t errlen)
{
	const struct telem_snap *ts = snap->telemetry;
	int rc = telem_init(n_workers, ts->max_series, ts->log.ring_size);

	if (rc != 0) {
		snprintf(err, errlen, "telemetry: %s", strerror(-rc));
		return rc;
	}
	/* the security event sink is open from the start: the crash handler writes to it */
	rc = telem_sev_sink_set(ts->sev.output, ts->sev.path);
	if (rc != 0)
		snprintf(err, errlen, "telemetry: security events: cannot open %s: %s",
			 ts->sev.path, strerror(-rc));
	if (rc == 0)
		rc = telem_logger_start(err, errlen);
	if (rc == 0)
		rc = telem_exporter_start(err, errlen);
	if (rc != 0)
		telem_free();
	return rc;
}

void telem_stop(void)
{
	telem_exporter_stop();
	telem_logger_stop();
}

void telem_free(void)
{
	struct telem_global *g = telem_g;

	if (g == NULL)
		return;
	telem_stop();
	for (unsigned int i = 0; i < g->n_workers; i++) {
		free(g->w[i].hash);
		free(g->w[i].series);
		telem_ring_free(&g->w[i].log);
		telem_ring_free(&g->w[i].spans);
		telem_ring_free(&g->w[i].sev);
	}
	free(g->w);
	free(g);
	telem_g = NULL;
	telem_sev_sink_close();
}
