/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: Istio's standard metrics (SM-DR23) and access logs (SM-DR22) of
 * the terminating proxies.
 *
 * Metrics. Each worker keeps its own table of series (struct telem_worker):
 * a series is one label set, keyed by small integers (the interned ids of the
 * source peer, destination peer and destination service, the response code
 * and flags, the gRPC status and the security policy), found by one hash
 * lookup on that key; its counters and fixed-bucket histograms are plain
 * 64-bit words only that worker writes (relaxed stores, as stats.h). The
 * table holds at most $.telemetry.metrics.max_series series; a label set
 * beyond that goes to the worker's overflow series (labels "overflow") and
 * counts telemetry_series_overflow. The admin thread (GET /metrics) and the
 * control thread (meshctl top) read every worker's table and sum it; series
 * are never removed, so a reader sees a prefix of the table published by a
 * release store of its length.
 *
 * Label strings (workload names, namespaces, SPIFFE principals, service
 * names) are interned by the control thread when it compiles the telemetry
 * section (telemetry_config.c): each workload and service of the snapshot
 * gets an id stable for the life of the process, the same in every snapshot
 * that has the same names, so series survive config swaps.
 *
 * Access logs. A worker that finishes a request the log wants (every non-2xx
 * by default, or all; sampled) writes one fixed-size struct telem_log_rec
 * into its single-producer single-consumer ring; a full ring counts
 * access_log_ring_full and drops the record, it never waits. The logger
 * thread (telem_start(): its own pthread, neither a worker nor the control
 * thread) drains the rings, masks secrets (Authorization, Cookie, bearer
 * tokens, token query parameters, the configured headers) and writes Common
 * Log Format or JSON lines to stdout, a file or syslog.
 *
 * Threads: telem_start() / telem_stop() / telem_free() and the config section on the control
 * thread; telem_worker_get() on the control thread before the workers start;
 * telem_http_*() and telem_tcp_*() on the owning worker only; the readers
 * (telem_render_metrics(), telem_top()) on any thread.
 */
#ifndef MESHDP_TELEMETRY_H
#define MESHDP_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "../log/log.h"
#include "../stats/stats.h"

/* Istio's fixed buckets: request duration in milliseconds, sizes in bytes. */
#define TELEM_DUR_BUCKETS   19
#define TELEM_BYTES_BUCKETS 10
extern const uint64_t telem_dur_bounds_us[TELEM_DUR_BUCKETS];  /* 0.5 ms ... 1 h */
extern const uint64_t telem_bytes_bounds[TELEM_BYTES_BUCKETS]; /* 1 B ... 1 GB */

/**
 * Envoy's response flags, bit i named telem_rf_names[i]: the bits the HTTP
 * engine gathers in a request (http_proxy.c HP_RF_*, the same order).
 */
#define TELEM_RF_COUNT 11
extern const char *const telem_rf_names[TELEM_RF_COUNT];

/** The connection's security, a label and a key field (bits may combine). */
#define TELEM_SEC_DOWN_MTLS 0x1 /* the client presented a verified certificate */
#define TELEM_SEC_UP_MTLS   0x2 /* the upstream connection is mTLS (origination) */

/** Bucket of @p v in @p bounds[n] (upper bounds, inclusive); n: above them all. */
unsigned int telem_bucket(const uint64_t *bounds, unsigned int n, uint64_t v);

/* ---- access log records ---- */

#define TELEM_LOG_HEADERS 4   /* $.telemetry.access_log.headers: at most this many */
#define TELEM_LOG_HDR_LEN 128 /* bytes of each logged header value kept */
#define TELEM_LOG_PATH	  256 /* bytes of the request target kept */
#define TELEM_NAME_LEN	  64  /* configured header names */

/** One request as the logger thread formats it; fixed size, copied into a ring slot. */
struct telem_log_rec {
	uint64_t start_us; /* the worker's microsecond clock (TSC); the logger makes it wall time */
	uint64_t duration_us; /* head parsed -> response done (or the session's end) */
	uint64_t req_bytes, resp_bytes;
	uint32_t client, upstream;	      /* network order; upstream 0: none */
	uint16_t client_port, upstream_port;  /* host order */
	uint16_t status;		      /* 0: no response went out */
	uint16_t flags;			      /* response flags (telem_rf_names) */
	uint32_t src_peer, dst_peer, dst_svc; /* label ids */
	uint8_t security;		      /* TELEM_SEC_* */
	uint8_t truncated;		      /* the path did not fit (JSON: path_truncated) */
	char method[16];
	char path[TELEM_LOG_PATH];
	char authority[96];
	char request_id[40];
	char trace_id[33]; /* hex; "" without tracing */
	char route[CFG_NAME_MAX];
	char protocol[12];
	char hdr[TELEM_LOG_HEADERS][TELEM_LOG_HDR_LEN]; /* configured headers; "" absent */
};

/* ---- the worker's side ---- */

struct telem_worker;

/**
 * Worker @p worker_id's telemetry (NULL when telem_start() did not run:
 * recording is then skipped). @p stats: that worker's counter block, for the
 * refusals. Control thread, before the worker starts.
 */
struct telem_worker *telem_worker_get(unsigned int worker_id, struct stats_block *stats);

/** A string the caller keeps valid for the duration of a call. */
struct telem_str {
	const char *p;
	uint32_t len;
};

/** What a request head gives the log: the fields it logs, and all headers to pick from. */
struct telem_head {
	struct telem_str method, path, query, authority, request_id;
	uint8_t version_minor;
	const struct telem_str (*headers)[2]; /* [n_headers] name, value */
	uint32_t n_headers;
};

/* ---- trace context (SM-DR24: extraction, creation, propagation) ---- */

enum telem_trace_format {
	TELEM_TRACE_NONE,      /* created here */
	TELEM_TRACE_W3C,       /* traceparent */
	TELEM_TRACE_B3_SINGLE, /* b3 */
	TELEM_TRACE_B3_MULTI,  /* x-b3-traceid, x-b3-spanid, ... */
};

/** A request's trace context. */
struct telem_trace {
	bool active;	       /* tracing is on and the context is set */
	bool sampled, decided; /* decided: the client said sampled or not */
	uint8_t format;	       /* enum telem_trace_format: how it came */
	uint8_t trace_id[16];  /* a 64-bit B3 id sits in the last 8 bytes */
	uint8_t parent_id[8];  /* the client's span; zero for a trace started here */
	uint8_t span_id[8];    /* the proxy's server span */
	uint8_t client_id
		[8]; /* the proxy's client span (child of span_id): the upstream's parent */
};

/**
 * Worker: take the trace context of head @p h (W3C first, then B3 single,
 * then B3 multi; an invalid one counts as absent), or start one; sampling by
 * the client's decision, else by $.telemetry.tracing.sample_percent; fresh
 * span ids for the proxy's server and client spans. Nothing when tracing is
 * off (t->active false).
 */
void telem_trace_start(struct telem_worker *tw, const struct cfg_snapshot *snap,
		       const struct telem_head *h, struct telem_trace *t);

/** Header names the proxy replaces upstream (any incoming one is dropped). */
#define TELEM_TRACE_NAMES 7
extern const char *const telem_trace_names[TELEM_TRACE_NAMES];

/** The headers to send upstream: name[i]: val[i] (len[i] bytes), i < the count returned. */
struct telem_trace_out {
	const char *name[5];
	char val[5][72];
	uint32_t len[5];
	char trace[33], span[17], parent[17];
};

/**
 * Fill @p o for @p t: traceparent, and the B3 form the client used, with the
 * proxy's client span as the upstream's parent. @return headers.
 */
unsigned int telem_trace_headers(const struct telem_trace *t, struct telem_trace_out *o);

enum telem_span_kind {
	TELEM_SPAN_SERVER, /* the request as the proxy took it: head parsed to response done */
	TELEM_SPAN_CLIENT, /* the request sent upstream: first try to response done */
};

/** A finished request's span, as the exporter sends it. */
struct telem_span {
	uint8_t trace_id[16], span_id[8], parent_id[8];
	uint64_t start_us, duration_us; /* the worker's clock */
	uint32_t client, upstream;	/* network order */
	uint16_t upstream_port, status;
	uint16_t flags;
	uint8_t kind;	  /* enum telem_span_kind */
	uint8_t attempts; /* tries upstream (client spans; retries are attempts - 1) */
	uint32_t svc;	  /* label id */
	char method[16];
	char path[96];
};

/** One HTTP request in flight, embedded in the engine's session. */
struct telem_http {
	bool active;	  /* between telem_http_begin() and telem_http_end() */
	bool log;	  /* the access log takes this request (sampled in, enabled) */
	uint8_t security; /* TELEM_SEC_* */
	uint8_t grpc;	  /* grpc-status + 1; 0: none */
	/* label ids (telem_wl_label(), telem_svc_label()), resolved under the
	 * snapshot of the moment: a request may outlive it */
	uint32_t src, dst, svc;
	uint64_t start_us;
	struct telem_trace trace;
	bool span;	      /* the trace is sampled and spans are exported */
	uint8_t attempts;     /* tries upstream so far (telem_http_try()) */
	uint64_t up_start_us; /* the first try's start: the client span's */
	struct telem_span sp; /* filled at begin (method, path) and end */
	struct telem_log_rec rec;
};

/** The label id of workload @p wl of @p snap (-1 or out of range: "unknown"). */
uint32_t telem_wl_label(const struct cfg_snapshot *snap, int32_t wl);

/**
 * Any thread: the label id of a peer at an address of workload @p wl that
 * presented SPIFFE ID @p peer_id ("" or NULL: no certificate). The
 * workload's labels when its principal is @p peer_id or there is no
 * certificate; else the certificate's principal and namespace with an
 * unknown workload, interned on first sight (TELEM_ID_UNKNOWN when the label
 * table is full).
 */
uint32_t telem_peer_label(const struct cfg_snapshot *snap, int32_t wl, const char *peer_id);

/** The label id of service @p svc of @p snap (-1 or out of range: no service). */
uint32_t telem_svc_label(const struct cfg_snapshot *snap, int32_t svc);

/**
 * Worker: a request head was parsed (@p now_us, the worker's clock). Copies
 * what the log needs when the snapshot's access log is on and the request is
 * sampled in. @p tw NULL: nothing.
 */
void telem_http_begin(struct telem_worker *tw, const struct cfg_snapshot *snap,
		      struct telem_http *t, const struct telem_head *h, uint32_t client,
		      uint16_t client_port, uint32_t src, uint8_t security, uint64_t now_us);

/**
 * Worker: a try upstream starts (@p now_us). The first one opens the
 * request's client span; telem_http_end() closes it.
 */
static inline void telem_http_try(struct telem_http *t, uint64_t now_us)
{
	if (t->attempts++ == 0)
		t->up_start_us = now_us;
	if (t->attempts == 0)
		t->attempts = UINT8_MAX; /* saturates */
}

/** Worker: the request id the proxy generated (the request had none). */
void telem_http_request_id(struct telem_http *t, const char *id, uint32_t len);

/**
 * Worker: the request ended (response done, or the session is over): record
 * it in the series of its labels, queue its spans (the server span, and the
 * client span when it went upstream) when it is sampled and, when the log
 * takes it, its record. @p status 0: no response. @p route: the route's name ("" none).
 */
void telem_http_end(struct telem_worker *tw, const struct cfg_snapshot *snap, struct telem_http *t,
		    unsigned int status, uint32_t flags, uint64_t req_bytes, uint64_t resp_bytes,
		    uint32_t upstream, uint16_t upstream_port, const char *route, uint64_t now_us);

/**
 * Worker: a TCP proxy connection opened (from peer label @p src, from
 * telem_peer_label(), to service @p dst_svc, endpoint workload @p dst_wl). @return the
 * series handle for telem_tcp_bytes() / telem_tcp_close() (0: none).
 */
uint32_t telem_tcp_open(struct telem_worker *tw, const struct cfg_snapshot *snap, uint32_t src,
			int32_t dst_svc, int32_t dst_wl, uint8_t security);

/** Worker: bytes the proxy received from the client / sent to it on series @p h. */
void telem_tcp_bytes(struct telem_worker *tw, uint32_t h, uint64_t received, uint64_t sent);

/** Worker: the connection of series @p h closed. */
void telem_tcp_close(struct telem_worker *tw, uint32_t h);

/* ---- security events (SM-DR21; telemetry_sev.c) ---- */

/*
 * The kinds of security event: X(ENUM, name). The name is the "kind" of the
 * JSON line and the suffix of the worker counter security_event_<name>
 * (crash has none: the process that writes it is dying).
 */
#define TELEM_SEV_KINDS(X)                                                                       \
	X(INVALID_REQUEST, invalid_request) /* the HTTP parser refused the request */            \
	X(EXTRA_PARAMETER, extra_parameter) /* duplicate or undeclared parameters */             \
	X(TOKEN_INVALID, token_invalid)	    /* a bearer token was refused */                     \
	X(TOKEN_REPLAY, token_replay)	    /* a token's jti was seen before */                  \
	X(INJECTION_SQL, injection_sql)	    /* request inspection (dataplane/inspect) */         \
	X(INJECTION_SCRIPT, injection_script)                                                    \
	X(INJECTION_TRAVERSAL, injection_traversal)                                              \
	X(INJECTION_CRLF, injection_crlf)                                                        \
	X(AUTHZ_DENIED, authz_denied) /* an authorization policy denied (HTTP 403, TCP reset) */ \
	X(CRASH, crash)		      /* the crash handler (telem_crash_install()) */

enum telem_sev_kind {
#define TELEM_SEV_ENUM(e, n) TELEM_SEV_##e,
	TELEM_SEV_KINDS(TELEM_SEV_ENUM)
#undef TELEM_SEV_ENUM
		TELEM_SEV_MAX
};

/** The kind's name ("injection_sql"); "unknown" out of range. */
const char *telem_sev_name(unsigned int kind);

#define TELEM_SEV_PATH	 192 /* bytes of path?query kept */
#define TELEM_SEV_DETAIL 96  /* bytes of the detail kept */

/** One event as the logger thread formats it; fixed size, copied into a ring slot. */
struct telem_sev_rec {
	uint64_t time_us;     /* the worker's clock */
	uint32_t client;      /* network order; 0: unknown */
	uint16_t client_port; /* host order */
	uint16_t worker;
	uint8_t kind;	   /* enum telem_sev_kind */
	uint8_t truncated; /* path did not fit */
	char listener[CFG_NAME_MAX];
	char service[2 * CFG_NAME_MAX]; /* "namespace/name"; "" none */
	char method[16];
	char path[TELEM_SEV_PATH];
	char detail[TELEM_SEV_DETAIL];
	char trace_id[33]; /* hex; "" none */
};

/** Where an event happened, as the emitter knows it (strings live for the call). */
struct telem_sev_ctx {
	uint32_t client;		      /* network order */
	uint16_t client_port;		      /* host order */
	const char *listener;		      /* NUL-terminated; NULL: none */
	int32_t service;		      /* index into snap->services; -1: none */
	struct telem_str method, path, query; /* len 0: none */
	const uint8_t *trace_id;	      /* 16 bytes; NULL: no trace */
};

/**
 * Worker: record a security event of @p kind with @p detail (a short text,
 * cut at TELEM_SEV_DETAIL - 1 bytes; NULL: none) at @p now_us (the worker's
 * clock). Counts security_event_<kind>; when the snapshot's
 * telemetry.security_events is enabled and the worker's token bucket
 * (rate_per_s, burst one second's worth) has a token, copies one fixed-size
 * record into the worker's ring for the logger thread (ring full:
 * security_event_ring_full; no token: security_events_suppressed). Never
 * blocks, never formats. @p tw NULL: nothing.
 */
void telem_sev_emit(struct telem_worker *tw, const struct cfg_snapshot *snap,
		    enum telem_sev_kind kind, const struct telem_sev_ctx *c, const char *detail,
		    uint64_t now_us);

/**
 * Format @p r as one JSON line (no newline) into @p buf, the path's secrets
 * masked (telem_mask()). Exported for the unit tests; the logger's own
 * formatting. @return the length, or -1 when it does not fit.
 */
int telem_sev_format(const struct telem_sev_rec *r, uint64_t unix_us, char *buf, size_t len);

/** Tests and the logger: format and write the security events the rings hold to @p fd. */
unsigned int telem_sev_drain(int fd);

/**
 * Control thread, once, after rte_eal_init() and telem_start(): on SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE and SIGABRT write a "crash" line (signal, fault
 * address, lcore, time) to the security event sink with write(2) only (a file
 * or stdout, opened before; syslog: stderr), then put back the handler that
 * was there before (the default, or one DPDK or a sanitizer installed) and
 * raise the signal again, so the process dies as it would have (core dump).
 * @return 0 or a negative errno.
 */
int telem_crash_install(void);

/* ---- the process's side ---- */

/**
 * Control thread, after the first snapshot compiled and before the workers
 * are created: allocate @p n_workers series tables and log rings as its
 * telemetry section says (max_series, ring_size: startup settings) and start
 * the logger thread. @return 0 or a negative errno (@p err says why).
 */
int telem_start(const struct cfg_snapshot *snap, unsigned int n_workers, char *err, size_t errlen);

/**
 * Control thread, after the workers stopped and before the live snapshot is
 * freed: the logger thread writes what the rings hold and stops.
 */
void telem_stop(void);

/**
 * Control thread, after the workers' proxies were freed (ending their sessions
 * records them): free the tables and rings (telem_stop() first if needed).
 */
void telem_free(void);

/**
 * Any thread: the Istio metrics summed over workers, Prometheus text
 * exposition 0.0.4, appended to @p b (nothing without telem_start();
 * b->failed on ENOMEM). The caller reads the live snapshot (reporter):
 * online as an RCU reader, or the only thread.
 */
void telem_render_metrics(const struct cfg_snapshot *snap, struct log_buf *b);

/** The merged series of one destination service, for meshctl top. */
struct telem_top_row {
	char service[192];	   /* the FQDN */
	uint64_t requests, errors; /* errors: 5xx and requests without a response */
	uint64_t dur[TELEM_DUR_BUCKETS + 1];
};

/**
 * Any thread: up to @p max rows, one per destination service, into @p out.
 * @return rows written (services beyond @p max are left out).
 */
unsigned int telem_top(struct telem_top_row *out, unsigned int max);

/**
 * Mask the secrets of one logged value in place: the whole value of an
 * Authorization / Cookie / configured header (@p header masked), the token
 * after "Bearer ", the values of access_token, id_token, token, api_key
 * query parameters (@p query); @p s has @p size bytes. Exported for the unit
 * tests.
 */
void telem_mask(char *s, size_t size, bool whole, bool query);

/**
 * Format @p r as one log line (no newline) into @p buf: @p json false:
 * Common Log Format; true: JSON with the context fields. Header values are
 * masked as the snapshot's access log says (telem_mask()). Exported for the
 * unit tests; the logger thread's own formatting. @return the length, or
 * -1 when it does not fit.
 */
int telem_log_format(const struct telem_log_rec *r, const struct cfg_snapshot *snap, bool json,
		     uint64_t unix_us, char *buf, size_t len);

/**
 * Tests: create @p n_workers tables of @p max_series series and @p ring_size
 * log records without the logger thread; telem_log_drain() then plays it.
 */
int telem_init(unsigned int n_workers, uint32_t max_series, uint32_t ring_size);

/** Tests and the logger: format and write what the rings hold to @p out. @return records. */
unsigned int telem_log_drain(const struct cfg_snapshot *snap, void *out_file);

/** The telemetry section ($.telemetry; telemetry_config.c), after l4's. */
extern const struct cfg_section telem_cfg_section;

struct control_cmd_set;
/** meshctl top (telemetry_commands.c; control thread). */
extern const struct control_cmd_set telem_commands;

#endif
