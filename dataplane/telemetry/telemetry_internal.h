/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: private types shared by telemetry.c (series, labels),
 * telemetry_log.c (rings, logger), telemetry_config.c and telemetry_commands.c.
 */
#ifndef MESHDP_TELEMETRY_INTERNAL_H
#define MESHDP_TELEMETRY_INTERNAL_H

#include <stdio.h>

#include <rte_branch_prediction.h>

#include "../lb/lb.h"
#include "telemetry.h"

#define TELEM_LABEL_LEN	  256  /* one interned string */
#define TELEM_LABELS_MAX  8192 /* interned label sets for the process's life */
#define TELEM_MASK_MAX	  8    /* $.telemetry.access_log.mask_headers */
#define TELEM_ID_UNKNOWN  0    /* the peer nobody knows: "unknown" everywhere */
#define TELEM_ID_NO_SVC	  1    /* no destination service (a local answer) */
#define TELEM_ID_OVERFLOW 2    /* the overflow series' labels */
#define TELEM_KIND_HTTP	  0
#define TELEM_KIND_TCP	  1

enum telem_log_format_kind { TELEM_LOG_CLF, TELEM_LOG_JSON };
enum telem_log_output { TELEM_OUT_STDOUT, TELEM_OUT_FILE, TELEM_OUT_SYSLOG };
enum telem_reporter { TELEM_REPORTER_SOURCE, TELEM_REPORTER_DESTINATION };

/*
 * An interned label set: for a peer (workload), its name, namespace and
 * SPIFFE principal; for a destination service, its FQDN, name and namespace.
 */
struct telem_label {
	char a[192], b[64], c[TELEM_LABEL_LEN];
};

/* The compiled $.telemetry (snap->telemetry). */
struct telem_snap {
	uint8_t reporter;    /* enum telem_reporter */
	uint32_t max_series; /* startup */
	uint32_t *wl_peer;   /* [n_workloads] label id of each workload */
	uint32_t *svc_label; /* [n_services] label id of each service */
	struct {
		bool enabled;
		uint32_t sample_ppm; /* traces nobody decided, per million */
		bool otlp;	     /* url takes OTLP/HTTP JSON, else Zipkin v2 JSON */
		char url[256];	     /* zipkin_url or otlp_url; "": spans are not exported */
	} trace;
	struct {
		bool enabled;
		bool all;	     /* every request, not only non-2xx */
		uint8_t format;	     /* enum telem_log_format_kind */
		uint8_t output;	     /* enum telem_log_output */
		uint32_t sample_ppm; /* of the requests the filter takes, per million */
		uint32_t ring_size;  /* startup */
		char path[256];
		uint32_t n_headers, n_mask;
		char headers[TELEM_LOG_HEADERS][TELEM_NAME_LEN];
		char mask[TELEM_MASK_MAX][TELEM_NAME_LEN];
	} log;
	struct {
		bool enabled;
		uint8_t output;	     /* enum telem_log_output */
		uint32_t rate_per_s; /* records per second per worker */
		char path[256];
	} sev; /* $.telemetry.security_events */
};

/* A series key: small integers only. */
struct telem_key {
	uint32_t src, dst, svc; /* label ids */
	uint16_t code;		/* response code; 0 none */
	uint16_t flags;		/* response flags */
	uint8_t grpc;		/* grpc-status + 1; 0 none */
	uint8_t security;	/* TELEM_SEC_* */
	uint8_t kind;		/* TELEM_KIND_* */
	uint8_t pad;
};

/* One series: written by its worker only (relaxed stores), read by anyone. */
struct telem_series {
	struct telem_key key;
	uint64_t requests;
	uint64_t dur[TELEM_DUR_BUCKETS + 1]; /* per bucket (not cumulative); last: +Inf */
	uint64_t dur_sum_us;
	uint64_t reqb[TELEM_BYTES_BUCKETS + 1], reqb_sum;
	uint64_t respb[TELEM_BYTES_BUCKETS + 1], respb_sum;
	uint64_t tcp_opened, tcp_closed, tcp_received, tcp_sent;
};

/*
 * A single-producer single-consumer ring of fixed-size records, the way every
 * worker hands records to a non-worker thread (access log, spans, security
 * events): the worker fills telem_ring_reserve()'s slot and publishes it with
 * telem_ring_commit() (release), never waiting; the consumer reads
 * [cons, telem_ring_prod()) and gives the slots back with telem_ring_release().
 */
struct telem_ring {
	uint32_t mask;				    /* slots - 1 (a power of two) */
	uint32_t size;				    /* bytes of one record */
	uint8_t *slots;				    /* [mask + 1] records */
	uint32_t prod __attribute__((aligned(64))); /* worker: release store */
	uint32_t cons __attribute__((aligned(64))); /* consumer: release store */
};

/** @p n slots of @p size bytes. @return 0 or -ENOMEM. */
int telem_ring_init(struct telem_ring *r, uint32_t n, uint32_t size);
void telem_ring_free(struct telem_ring *r);

/** Producer: the next free slot, or NULL when the ring is full. */
static inline void *telem_ring_reserve(struct telem_ring *r)
{
	if (unlikely(r->prod - __atomic_load_n(&r->cons, __ATOMIC_ACQUIRE) > r->mask))
		return NULL;
	return r->slots + (size_t)(r->prod & r->mask) * r->size;
}

/** Producer: publish the slot telem_ring_reserve() gave. */
static inline void telem_ring_commit(struct telem_ring *r)
{
	__atomic_store_n(&r->prod, r->prod + 1, __ATOMIC_RELEASE);
}

/** Consumer: the producer's index (records [r->cons, it) are readable). */
static inline uint32_t telem_ring_prod(const struct telem_ring *r)
{
	return __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE);
}

/** Consumer: record @p i (r->cons <= i < telem_ring_prod()). */
static inline const void *telem_ring_at(const struct telem_ring *r, uint32_t i)
{
	return r->slots + (size_t)(i & r->mask) * r->size;
}

/** Consumer: slots before @p cons are free again. */
static inline void telem_ring_release(struct telem_ring *r, uint32_t cons)
{
	__atomic_store_n(&r->cons, cons, __ATOMIC_RELEASE);
}

#define TELEM_SEV_RING 512 /* security event records per worker */

struct telem_worker {
	uint32_t cap;		     /* series in the table; series[cap] is the overflow one */
	uint32_t n;		     /* series in use (release store by the worker) */
	uint32_t hash_mask;	     /* slots - 1 */
	uint32_t *hash;		     /* series index + 1; 0: empty */
	struct telem_series *series; /* [cap + 1] */
	struct stats_block *stats;
	uint64_t rng;
	struct telem_ring log; /* struct telem_log_rec: the worker produces, the logger consumes */
	struct telem_ring spans; /* struct telem_span (same size): to the exporter */
	struct telem_ring sev;	 /* struct telem_sev_rec (TELEM_SEV_RING): to the logger */
	/* the security events' token bucket (worker only): micro-tokens, refilled
	 * at rate_per_s per second up to one second's worth */
	uint64_t sev_tokens, sev_last_us;
	uint16_t id; /* the worker's index */
} __attribute__((aligned(64)));

struct telem_global {
	unsigned int n_workers;
	struct telem_worker *w;	 /* [n_workers] */
	uint64_t unix_offset_us; /* wall clock = worker clock + this */
	uint64_t tsc_per_us;
	uint64_t lines, write_errors;		   /* the logger's (relaxed atomics) */
	uint64_t sev_lines, sev_write_errors;	   /* the logger's, security events */
	uint64_t spans_sent, span_export_failures; /* the exporter's (relaxed atomics) */
};

extern struct telem_global *telem_g;

/*
 * An interned label set. Any thread may read one whose id it got through a
 * snapshot, a published series or telem_label_intern(): it was written before.
 */
const struct telem_label *telem_label_get(uint32_t id);
/** Control thread: intern the fixed ids (TELEM_ID_*) first, once. */
void telem_labels_init(void);
/** Any thread: the id of (a, b, c), interned. @return the id, or -ENOSPC. */
int64_t telem_label_intern(const char *a, const char *b, const char *c);

static inline void telem_add(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static inline uint64_t telem_read(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/** @p n bytes as 2 * @p n lower-case hex digits and a NUL into @p out. */
void telem_hex(const uint8_t *p, uint32_t n, char *out);

/** Merge every worker's series by key into a malloc'd array (*n of them). */
struct telem_series *telem_merge(unsigned int *n);

/*
 * One span as JSON into @p out (@p len bytes): a Zipkin v2 span, or with
 * @p otlp an OTLP span (inside TELEM_OTLP_OPEN ... TELEM_OTLP_CLOSE). Any
 * thread. @return its length, or -1 when it does not fit.
 */
int telem_span_json(const struct telem_span *sp, uint64_t unix_offset_us, bool otlp, char *out,
		    size_t len);
/* An OTLP/HTTP JSON body (ExportTraceServiceRequest) around its spans. */
#define TELEM_OTLP_OPEN                                                                           \
	"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":" \
	"{\"stringValue\":\"meshdp\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"meshdp\"},"       \
	"\"spans\":["
#define TELEM_OTLP_CLOSE "]}]}]}"

/*
 * The security event sink (telemetry_sev.c): open @p output (enum
 * telem_log_output: stdout, the O_APPEND file @p path; syslog: lines go to
 * syslog(3), crash lines to stderr) unless it is open already, and make it the
 * crash handler's. Control thread before the logger starts, then the logger
 * thread only, offline (it may block). @return 0 or -errno (a file that does
 * not open: said once, the previous sink stays).
 */
int telem_sev_sink_set(uint8_t output, const char *path);
/* Logger, offline: follow the settings (@p output 0xff: none), then format and
 * write what the security event rings hold. @return records written. */
unsigned int telem_sev_round(uint8_t output, const char *path);
/* Close the sink (telem_free()). */
void telem_sev_sink_close(void);

/** The logger thread (telemetry_log.c). */
int telem_logger_start(char *err, size_t errlen);
void telem_logger_stop(void);

/** The span exporter thread (telemetry_export.c). */
int telem_exporter_start(char *err, size_t errlen);
void telem_exporter_stop(void);

/** Worker: queue the server or the client span of request @p t (telemetry_trace.c). */
void telem_span_push(struct telem_worker *tw, const struct telem_http *t, enum telem_span_kind kind,
		     unsigned int status, uint32_t flags, uint32_t upstream, uint16_t upstream_port,
		     uint64_t now_us);

#endif
