/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: the span exporter (SM-DR24). A pthread of its own drains the
 * workers' span rings every 100 ms (or as soon as a batch of 256 is waiting)
 * and POSTs them as one Zipkin v2 JSON array to $.telemetry.tracing.zipkin_url,
 * or as one OTLP/HTTP JSON ExportTraceServiceRequest to otlp_url, with libcurl
 * (a 1 s timeout). It is a QSBR reader online only while it reads
 * the live snapshot's URL and labels into its batch; the POST runs offline, so
 * an unreachable collector costs this thread's time and a counter
 * (meshdp_span_export_failures_total), never a worker's or a grace period.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <urcu-qsbr.h>

#include "telemetry_internal.h"

#define TELEM_SPAN_BATCH     256
#define TELEM_SPAN_JSON	     1024 /* bytes of one span's JSON at most */
#define TELEM_EXPORT_IDLE_US 100000
#define TELEM_EXPORT_TIMEOUT 1000 /* ms */

static pthread_t telem_exporter;
static bool telem_exporter_running;
static uint32_t telem_exporter_quit;

/* One string attribute: Zipkin's tag "KEY":"VALUE", or OTLP's KeyValue. */
static size_t telem_attr(char *out, size_t len, bool otlp, bool first, const char *key,
			 const char *value)
{
	int n = snprintf(out, len,
			 otlp ? "%s{\"key\":\"%s\",\"value\":{\"stringValue\":\"%s\"}}"
			      : "%s\"%s\":\"%s\"",
			 first ? "" : ",", key, value);

	return n < 0 ? len : (size_t)n;
}

/*
 * A span as Zipkin v2 JSON (https://zipkin.io/zipkin-api/#/default/post_spans)
 * or as an OTLP span (opentelemetry-proto's trace.proto in its JSON mapping:
 * ids in hex, kind 2 = SERVER, 3 = CLIENT, times in nanoseconds as strings).
 */
int telem_span_json(const struct telem_span *sp, uint64_t unix_offset_us, bool otlp, char *out,
		    size_t len)
{
	char trace[33], id[17], parent[17], peer[INET_ADDRSTRLEN], up[INET_ADDRSTRLEN + 6];
	char status[8], attempts[4], port[16] = "", path[sizeof(sp->path)];
	const struct telem_label *svc = telem_label_get(sp->svc);
	const bool client = sp->kind == TELEM_SPAN_CLIENT;
	uint64_t start = sp->start_us + unix_offset_us;
	bool root = true;
	size_t o, i = 0;
	int n;

	for (unsigned int k = 0; k < sizeof(sp->parent_id); k++)
		root = root && sp->parent_id[k] == 0;
	telem_hex(sp->trace_id, 16, trace);
	telem_hex(sp->span_id, 8, id);
	telem_hex(sp->parent_id, 8, parent);
	/* the remote end: the client of a server span, the endpoint of a client span */
	inet_ntop(AF_INET, client ? &sp->upstream : &sp->client, peer, sizeof(peer));
	snprintf(status, sizeof(status), "%u", sp->status);
	snprintf(attempts, sizeof(attempts), "%u", sp->attempts);
	if (client)
		snprintf(port, sizeof(port), ",\"port\":%u", sp->upstream_port);
	/* the path: JSON-safe bytes only (the rest as '_'); query strings stay out */
	for (const char *c = sp->path; *c != '\0' && *c != '?' && i + 1 < sizeof(path); c++)
		path[i++] = (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ||
			     (unsigned char)*c >= 0x7f)
				    ? '_'
				    : *c;
	path[i] = '\0';
	if (otlp)
		n = snprintf(
			out, len,
			"{\"traceId\":\"%s\",\"spanId\":\"%s\"%s%s%s,\"name\":\"%s\",\"kind\":%d,"
			"\"startTimeUnixNano\":\"%" PRIu64 "000\",\"endTimeUnixNano\":\"%" PRIu64
			"000\",\"attributes\":[",
			trace, id, root ? "" : ",\"parentSpanId\":\"", root ? "" : parent,
			root ? "" : "\"", sp->method, client ? 3 : 2, start,
			start + sp->duration_us);
	else
		n = snprintf(out, len,
			     "{\"traceId\":\"%s\",\"id\":\"%s\"%s%s%s,\"kind\":\"%s\",\"name\":"
			     "\"%s\",\"timestamp\":%" PRIu64 ",\"duration\":%" PRIu64
			     ",\"localEndpoint\":{\"serviceName\":\"meshdp\"},"
			     "\"remoteEndpoint\":{\"ipv4\":\"%s\"%s},\"tags\":{",
			     trace, id, root ? "" : ",\"parentId\":\"", root ? "" : parent,
			     root ? "" : "\"", client ? "CLIENT" : "SERVER", sp->method, start,
			     sp->duration_us, peer, port);
	if (n < 0 || (size_t)n >= len)
		return -1;
	o = (size_t)n;
	o += telem_attr(out + o, len - o, otlp, true, "http.method", sp->method);
	if (o < len)
		o += telem_attr(out + o, len - o, otlp, false, "http.status_code", status);
	if (o < len)
		o += telem_attr(out + o, len - o, otlp, false, "upstream_cluster", svc->a);
	if (o < len && sp->upstream != 0) {
		inet_ntop(AF_INET, &sp->upstream, up, INET_ADDRSTRLEN);
		snprintf(up + strlen(up), 7, ":%u", sp->upstream_port);
		o += telem_attr(out + o, len - o, otlp, false, "upstream_host", up);
	}
	if (o < len)
		o += telem_attr(out + o, len - o, otlp, false, "http.path", path);
	if (o < len && client)
		o += telem_attr(out + o, len - o, otlp, false, "attempts", attempts);
	if (o < len && otlp) /* Zipkin's remoteEndpoint */
		o += telem_attr(out + o, len - o, otlp, false, "net.peer.ip", peer);
	if (o >= len)
		return -1;
	n = snprintf(out + o, len - o, otlp ? "]}" : "}}");
	return n < 0 || (size_t)n >= len - o ? -1 : (int)(o + (size_t)n);
}

static size_t telem_curl_sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n; /* the collector's answer is not needed */
}

static void *telem_exporter_main(void *arg)
{
	char *buf = arg, url[sizeof(((struct telem_snap *)0)->trace.url)];
	CURL *curl = curl_easy_init();
	bool quit = false;

	rcu_register_thread();
	for (;;) {
		const struct cfg_snapshot *snap;
		const struct telem_snap *ts;
		unsigned int n = 0;
		size_t len;
		long code = 0;
		bool otlp = false;

		if (__atomic_load_n(&telem_exporter_quit, __ATOMIC_ACQUIRE))
			quit = true;
		url[0] = '\0';
		rcu_thread_online();
		snap = rcu_dereference(cfg_live);
		ts = snap != NULL ? snap->telemetry : NULL;
		if (ts != NULL) {
			snprintf(url, sizeof(url), "%s", ts->trace.url);
			otlp = ts->trace.otlp;
		}
		len = otlp ? strlen(TELEM_OTLP_OPEN) : 1;
		memcpy(buf, otlp ? TELEM_OTLP_OPEN : "[", len);
		for (unsigned int w = 0; w < telem_g->n_workers && n < TELEM_SPAN_BATCH; w++) {
			struct telem_worker *tw = &telem_g->w[w];
			uint32_t cons = tw->spans.cons, prod = telem_ring_prod(&tw->spans);

			for (; cons != prod && n < TELEM_SPAN_BATCH; cons++) {
				size_t at = len + (n > 0); /* after the comma */
				int k = telem_span_json(telem_ring_at(&tw->spans, cons),
							telem_g->unix_offset_us, otlp, buf + at,
							TELEM_SPAN_JSON);

				if (k < 0) {
					telem_add(&telem_g->span_export_failures, 1);
					continue;
				}
				if (n > 0)
					buf[len] = ',';
				len = at + (size_t)k;
				n++;
			}
			telem_ring_release(&tw->spans, cons);
		}
		rcu_thread_offline();
		memcpy(buf + len, otlp ? TELEM_OTLP_CLOSE : "]",
		       otlp ? sizeof(TELEM_OTLP_CLOSE) : 2);
		len += otlp ? sizeof(TELEM_OTLP_CLOSE) - 1 : 1;
		if (n > 0 && url[0] != '\0' && curl != NULL) {
			struct curl_slist *h =
				curl_slist_append(NULL, "Content-Type: application/json");

			curl_easy_setopt(curl, CURLOPT_URL, url);
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS, buf);
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
			curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
			curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)TELEM_EXPORT_TIMEOUT);
			curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, telem_curl_sink);
			if (curl_easy_perform(curl) == CURLE_OK)
				curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
			curl_slist_free_all(h);
			telem_add(code >= 200 && code < 300 ? &telem_g->spans_sent
							    : &telem_g->span_export_failures,
				  n);
		} else if (n > 0) {
			telem_add(&telem_g->span_export_failures, n); /* no URL any more */
		}
		if (quit && n == 0)
			break;
		if (n < TELEM_SPAN_BATCH)
			usleep(TELEM_EXPORT_IDLE_US);
	}
	curl_easy_cleanup(curl);
	rcu_unregister_thread();
	free(buf);
	return NULL;
}

int telem_exporter_start(char *err, size_t errlen)
{
	char *buf = malloc(TELEM_SPAN_BATCH * (TELEM_SPAN_JSON + 1) + sizeof(TELEM_OTLP_OPEN) +
			   sizeof(TELEM_OTLP_CLOSE));
	int rc;

	if (buf == NULL) {
		snprintf(err, errlen, "span exporter: out of memory");
		return -ENOMEM;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	__atomic_store_n(&telem_exporter_quit, 0, __ATOMIC_RELEASE);
	rc = pthread_create(&telem_exporter, NULL, telem_exporter_main, buf);
	if (rc != 0) {
		free(buf);
		snprintf(err, errlen, "span exporter: cannot start its thread: %s", strerror(rc));
		return -rc;
	}
	pthread_setname_np(telem_exporter, "meshdp-spans");
	telem_exporter_running = true;
	return 0;
}

void telem_exporter_stop(void)
{
	if (!telem_exporter_running)
		return;
	__atomic_store_n(&telem_exporter_quit, 1, __ATOMIC_RELEASE);
	pthread_join(telem_exporter, NULL);
	telem_exporter_running = false;
	curl_global_cleanup();
}
