/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy private: the L7 part of the snapshot (HTTP listener options and
 * $.clusters, in snap->proxy_l7), and what the files of dataplane/proxy share
 * at run time (listener objects, the worker's proxy). Only files of
 * dataplane/proxy include this header.
 */
#ifndef MESHDP_PROXY_INTERNAL_H
#define MESHDP_PROXY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <rte_mempool.h>

#include "../h2/h2.h"
#include "../http/http.h"
#include "../telemetry/telemetry.h"
#include "../tls/tls.h"
#include "proxy.h"

/* ---- config: snap->proxy_l7 (proxy_config.c, proxy_cluster.c) ---- */

/** What an HTTP listener does with x-forwarded-for. */
enum proxy_xff {
	PROXY_XFF_APPEND,    /* add the client's address to what the client sent */
	PROXY_XFF_OVERWRITE, /* replace it with the client's address */
	PROXY_XFF_NONE,	     /* leave the header as the client sent it */
};

#define PROXY_SERVER_NAME_MAX 64

/** $.listeners[i].http.http2: HTTP/2 from clients (h2c prior knowledge, TLS ALPN "h2"). */
struct proxy_h2_opts {
	bool enabled;
	struct h2_limits lim;
};

/** $.listeners[i].http, and the route_config of an HTTP listener. */
struct proxy_http_opts {
	char route_config[CFG_NAME_MAX];
	uint32_t max_request_headers; /* bytes of a request head */
	uint32_t request_timeout_ms;  /* a whole request head must arrive within; 0: none */
	uint8_t xff;		      /* enum proxy_xff */
	bool allow_connect;	      /* CONNECT is refused (405) unless set */
	bool request_id;	      /* add x-request-id when the client sent none */
	uint8_t outbound;	      /* enum proxy_outbound */
	char server_name[PROXY_SERVER_NAME_MAX]; /* "server" of local responses; "": none */
	struct proxy_h2_opts h2;
};

/** http.outbound_policy (Istio's outboundTrafficPolicy mode). */
enum proxy_outbound {
	PROXY_OUTBOUND_ALLOW_ANY,     /* the routes decide, as on any listener */
	PROXY_OUTBOUND_REGISTRY_ONLY, /* an egress gateway: only hosts external services declare */
};

/** What fails a request for the endpoint's breaker (outlier detection). */
enum proxy_outlier {
	PROXY_OUTLIER_GATEWAY, /* connect failures, resets, timeouts, 502 / 503 / 504 */
	PROXY_OUTLIER_5XX,     /* those and every other 5xx */
	PROXY_OUTLIER_CONNECT, /* connect failures only, as a tcp_proxy listener */
};

/** What a hash_policy entry hashes. */
enum proxy_hash_kind {
	PROXY_HASH_HEADER,    /* the first value of a request header */
	PROXY_HASH_COOKIE,    /* the value of a cookie in the Cookie header(s) */
	PROXY_HASH_SOURCE_IP, /* the client's address */
};

#define PROXY_HASH_MAX	    4  /* hash_policy entries */
#define PROXY_HASH_NAME_MAX 64 /* a header or cookie name, with its NUL */

/** One $.clusters[i].hash_policy entry. */
struct proxy_hash_policy {
	uint8_t kind; /* enum proxy_hash_kind */
	uint8_t len;  /* of name */
	char name[PROXY_HASH_NAME_MAX];
};

/** $.clusters[i].protocol: what the exchanges speak to the endpoints. */
enum proxy_up_proto {
	PROXY_UP_HTTP1 = 0, /* HTTP/1.1 (ALPN http/1.1 over TLS) */
	PROXY_UP_HTTP2,	    /* HTTP/2 (h2c prior knowledge; ALPN h2 over TLS) */
	PROXY_UP_AUTO, /* over TLS, ALPN h2 and http/1.1, the endpoint's choice; else HTTP/1.1 */
};

/** $.clusters[i]: the L7 options of one service (defaults for a service without). */
struct proxy_cluster {
	uint32_t service; /* index into snap->services */
	int32_t index;	  /* its place in $.clusters; -1: a service without an entry */
	/* circuit_breakers, per node (0: no limit) */
	uint32_t max_requests;	       /* requests in flight to the cluster */
	uint32_t max_pending_requests; /* requests waiting for an upstream connection */
	uint32_t max_retries;	       /* retries in flight */
	uint8_t outlier;	       /* enum proxy_outlier */
	/* pool, per worker and endpoint */
	uint32_t max_idle_per_endpoint;	      /* idle connections kept; 0: none kept */
	uint32_t max_requests_per_connection; /* 0: unlimited */
	uint32_t idle_timeout_s;	      /* an idle pooled connection is closed after */
	struct tls_client_conf tls;	      /* TLS to the endpoints (origination) */
	/* the balancer of HTTP requests: lb_policy (enum l4_pick_policy; L4_PICK_SERVICE:
	 * the service's lb) and hash_policy (the first entry the request has gives
	 * the Maglev hash; none: the connection's 5-tuple) */
	uint8_t lb_policy;
	uint8_t n_hash;
	struct proxy_hash_policy hash[PROXY_HASH_MAX];
	uint8_t protocol;    /* enum proxy_up_proto */
	struct h2_limits h2; /* http2: the upstream connections' (max_concurrent_streams: ours) */
};

/* Does @p c speak HTTP/2 to its endpoints? */
static inline bool proxy_cluster_h2(const struct proxy_cluster *c)
{
	return c->protocol == PROXY_UP_HTTP2 || (c->protocol == PROXY_UP_AUTO && c->tls.enabled);
}

struct proxy_l7_cfg {
	uint32_t n_listeners;
	struct proxy_http_opts *http; /* [n_listeners]; meaningful for HTTP listeners */
	uint32_t n_clusters;	      /* entries in $.clusters */
	/* [n_services]: each service's cluster entry, the defaults for one without */
	struct proxy_cluster *by_service;
};

/** The audit hook of $.clusters, for listeners and clusters both (proxy_audit.c). */
void proxy_audit(const struct cfg_snapshot *snap, struct audit_report *r);

/** The defaults of a cluster entry (a service without one gets these). */
void proxy_cluster_defaults(struct proxy_cluster *c, uint32_t service);

/**
 * The value of cookie @p name (@p nlen bytes, compared exactly) in a Cookie
 * header value @p p of @p len bytes: "name=value" pairs separated by ';' and
 * optional whitespace (RFC 6265 section 5.4, leniently). No allocation; *@p out
 * points into @p p. @return true when found.
 */
bool proxy_cookie_find(const char *p, uint32_t len, const char *name, uint32_t nlen,
		       struct http_view *out);

/**
 * The hash_policy of @p cl applied to request @p msg from @p client (network
 * order): the hash of the first entry the request carries (a header, a
 * cookie in any Cookie header, the source address). Any thread, no allocation.
 * @return true with *@p hash set; false when no entry applies.
 */
bool proxy_request_hash(const struct proxy_cluster *cl, const struct http_msg *msg, uint32_t client,
			uint32_t *hash);

/* ---- run time, shared by tcp_proxy.c and http_proxy.c ---- */

#define PROXY_PORT_MIN 32768u /* upstream source ports (below the health-check range) */
#define PROXY_PORT_MAX (L4_HC_PORT_BASE - 1u)
#define PROXY_SNAT_MAX 64u /* full-NAT source addresses remembered for RST decisions */

/* Lifecycle of a listener object (struct proxy_listener.state). */
enum proxy_listener_state {
	PROXY_LISTENER_FRESH = 0, /* built, never started */
	PROXY_LISTENER_RUNNING,	  /* started by its worker: listening, or retired with sessions */
	PROXY_LISTENER_DONE,	  /* its worker is done with it for good */
};

/*
 * A listener as one worker runs it. The control thread builds it (with its TCP
 * listener object) when it binds a snapshot, and hands the same object on to the
 * next snapshot while the listener does not change, so the worker only starts
 * and stops listeners at a swap, never allocates, frees or logs. Sessions point
 * at it, so one that the config dropped lives on (retired) until its last
 * session ends. Written by the control thread before publish (everything above
 * "worker"), then read-only but for the fields marked.
 */
struct proxy_listener {
	char name[CFG_NAME_MAX];
	struct proxy_worker *pw;
	struct tcp_listener *tl;
	struct tls_ctx *tls;	/* the listener's tls block, built with it; NULL: plain TCP */
	struct tls_ctx *up_tls; /* its cluster's tls block (origination); NULL: plain TCP */
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint8_t type; /* enum cfg_listener_type */
	struct tcp_params params;
	struct proxy_http_opts http; /* CFG_LISTENER_HTTP */
	uint64_t connect_timeout_us;
	uint64_t idle_timeout_us; /* 0: none */
	/* control thread: snapshots that hold it; a link in proxy_global.orphans
	 * once none does while its worker still runs it */
	uint32_t refs;
	LIST_ENTRY(proxy_listener) orphan;
	/* its worker: enum proxy_listener_state (release stores; the control
	 * thread frees the object once no snapshot holds it and it is not RUNNING) */
	uint32_t state;
	bool listening;			 /* worker: started and not retired */
	uint32_t active;		 /* worker: sessions */
	uint64_t want_gen;		 /* worker: the last generation whose snapshot has it */
	LIST_ENTRY(proxy_listener) link; /* worker: in pw->listeners while RUNNING */
};

/* Per snapshot (proxy_bind()): the listener objects and what the proxies need
 * of the snapshot besides. */
struct proxy_snap_rt {
	struct proxy_global *pg;
	uint32_t n_listeners;
	uint32_t n_snat;		 /* > PROXY_SNAT_MAX: more than fit */
	uint32_t snat[PROXY_SNAT_MAX];	 /* full-NAT source addresses (distinct), network order */
	struct hp_cluster_rt **clusters; /* [n_services]: request counts of each (http_proxy.c) */
	struct hp_up_tls **up_tls;	 /* [n_services]: the tls block's build; NULL: plain */
	struct proxy_listener *pl[];	 /* [worker * n_listeners + listener]; NULL: not served */
};

struct proxy_global {
	unsigned int n_workers;
	struct proxy_worker **pw; /* [n_workers] */
	LIST_HEAD(, proxy_listener) orphans;
	struct hp_cluster_rt *clusters; /* every service key ever bound (http_proxy.c) */
	struct hp_up_tls *up_tls;	/* every build of a tls block still held (http_proxy.c) */
	uint64_t up_tls_builds;		/* builds made: their ids */
};

struct proxy_worker {
	struct tcp_stack *tcp;
	struct tls_worker *tls; /* the TLS connections of the stack (dataplane/tls) */
	struct net_worker *nw;
	struct l4_worker *lw;
	struct stats_block *stats;
	struct rte_mempool *sessions;
	const struct cfg_snapshot *snap; /* this loop iteration's */
	/* the generation of the snapshot the listeners follow: a snapshot is
	 * recognised by its generation, as a new one may sit at the address of an
	 * old one this worker slept through; 0: none yet */
	uint64_t bound_gen;
	uint64_t now_tsc;
	uint64_t tsc_per_us;
	uint16_t worker_id;
	LIST_HEAD(, proxy_listener) listeners; /* started (listening or retired) */
	struct hp_worker *http;		       /* the HTTP listeners' engine (http_proxy.c) */
	struct telem_worker *telem;	       /* its series and access log ring; NULL: none */
};

static inline uint64_t proxy_us(const struct proxy_worker *pw, uint64_t tsc)
{
	return tsc / pw->tsc_per_us;
}

/* Worker: a session of @p pl ended; a retired listener is done with its last one. */
static inline void proxy_listener_put(struct proxy_listener *pl)
{
	pl->active--;
	if (!pl->listening && pl->active == 0) {
		LIST_REMOVE(pl, link);
		__atomic_store_n(&pl->state, PROXY_LISTENER_DONE, __ATOMIC_RELEASE);
	}
}

/* One side of a session: a TCP connection, or a TLS one; both NULL once over.
 * tcp_proxy's sessions and the HTTP engine's client side drive either through
 * these. */
struct proxy_end {
	struct tcp_conn *tcp;
	struct tls_conn *tls;
};

static inline bool proxy_end_open(const struct proxy_end *e)
{
	return e->tcp != NULL || e->tls != NULL;
}

static inline uint32_t proxy_end_space(const struct proxy_end *e)
{
	return e->tls != NULL ? tls_send_space(e->tls) : tcp_send_space(e->tcp);
}

static inline struct rte_mbuf *proxy_end_recv(struct proxy_end *e, uint32_t max)
{
	return e->tls != NULL ? tls_recv(e->tls, max) : tcp_recv(e->tcp, max);
}

static inline int proxy_end_send(struct proxy_end *e, struct rte_mbuf *m)
{
	return e->tls != NULL ? tls_send(e->tls, m) : tcp_send(e->tcp, m);
}

static inline bool proxy_end_eof(const struct proxy_end *e)
{
	return e->tls != NULL ? tls_recv_eof(e->tls) : tcp_recv_eof(e->tcp);
}

static inline void proxy_end_shutdown(struct proxy_end *e)
{
	if (e->tls != NULL)
		tls_shutdown(e->tls);
	else
		tcp_shutdown(e->tcp);
}

static inline void proxy_end_abort(struct proxy_end *e)
{
	if (e->tls != NULL)
		tls_abort(e->tls);
	else if (e->tcp != NULL)
		tcp_abort(e->tcp);
	e->tls = NULL;
	e->tcp = NULL;
}

static inline void proxy_end_set_timer(struct proxy_end *e, uint64_t us)
{
	if (e->tls != NULL)
		tls_set_timer(e->tls, us);
	else
		tcp_set_timer(e->tcp, us);
}

/* close_notify (TLS), FIN and forget: no callback runs after this. */
static inline void proxy_end_close(struct proxy_end *e)
{
	if (e->tls != NULL)
		tls_close(e->tls);
	else if (e->tcp != NULL)
		tcp_close(e->tcp);
	e->tls = NULL;
	e->tcp = NULL;
}

/*
 * tcp_proxy.c: move what @p from received to @p to, as far as @p to's send
 * buffer takes it (back-pressure: the rest waits in @p from's receive queue);
 * pass the FIN (or close_notify) on once everything before it went.
 * @return bytes moved.
 */
uint32_t proxy_end_move(struct proxy_end *from, struct proxy_end *to, bool *fin_passed);

/* http_proxy.c */
struct hp_worker;
struct hp_cluster_rt;
struct hp_up_tls;
/* Control thread, in proxy_bind(): each service's request counts, by key, and
 * the client ctx of its tls block. @return 0 or -errno with @p err filled. */
int hp_bind(struct proxy_global *pg, struct proxy_snap_rt *rt, const struct cfg_snapshot *snap,
	    char *err, size_t errlen);
/* Control thread, in the snapshot's free: let go of what hp_bind() took. */
void hp_unbind(struct proxy_global *pg, struct proxy_snap_rt *rt, const struct cfg_snapshot *snap);
/* Worker, at a swap: upstream TLS connections whose tls block was rebuilt close
 * within the drain window (at a request boundary when busy). */
void hp_follow(struct proxy_worker *pw);
/* Control thread: free the request counts (no snapshot left). */
void hp_global_free(struct proxy_global *pg);
/* Control thread: the HTTP engine of @p pw (its sessions, upstream connections, pool). */
struct hp_worker *hp_worker_create(struct proxy_worker *pw, uint32_t tcp_capacity);
/* After the worker's TCP stack was freed (its closed callbacks ended every session). */
void hp_worker_free(struct hp_worker *hw);
/* The callbacks of an HTTP listener's TCP listener. */
extern const struct tcp_callbacks hp_listener_cbs;
/* The callbacks of an HTTP listener with a tls block (the TLS layer's, with the
 * engine's accept), filled by hp_callbacks_init() (control thread, once, before
 * any worker runs). */
extern struct tcp_callbacks hp_tls_listener_cbs;
void hp_callbacks_init(void);

/*
 * http_proxy.c <-> http2_proxy.c. An exchange (struct hp_session: a request,
 * its tries, its response) answers on a downstream through these, with @p d
 * its hp_session.dd: the session's own HTTP/1.1 connection, or one stream of
 * an HTTP/2 connection. Worker only. done and reset end the exchange's use of
 * the downstream; HTTP/1.1's keep the session (next request, or closed),
 * HTTP/2's give the exchange back (hp_exchange_free()).
 */
struct hp_session;
struct hp2_conn;
struct hp2_worker;

/* header fields a local response adds at most (Location, CORS, WWW-Authenticate) */
#define HP_LOCAL_HDRS 12u

struct hp_down_ops {
	/* the downstream frames bodies itself (HTTP/2): 1xx only through
	 * informational, no tunnel; a
	 * chunked response body comes as it came (the downstream removes the
	 * coding, and sends the trailer section as trailers) */
	bool framed;
	/* request bytes in HTTP/1.1 framing (head, then body), up to about @p max */
	struct rte_mbuf *(*recv)(void *d, uint32_t max);
	bool (*eof)(void *d);	    /* no more request bytes will come */
	bool (*open)(void *d);	    /* the client can still be answered */
	uint32_t (*space)(void *d); /* response body bytes it takes now */
	/* the final response head with @p ed applied; @return bytes written or -errno */
	int (*head)(void *d, const struct http_msg *msg, const struct http_edit *ed);
	/* a local response (text/plain @p body; @p hdrs: at most HP_LOCAL_HDRS more
	 * header fields, names in lower case; @p close: the connection closes after
	 * it); @return bytes written or -errno */
	int (*local)(void *d, unsigned int status, const char *body, uint32_t len,
		     const struct http_header *hdrs, uint32_t n_hdrs, bool close);
	void (*send)(void *d, struct rte_mbuf *m); /* response body bytes (owned by it) */
	void (*done)(void *d);			   /* the response is whole */
	void (*reset)(void *d);			   /* the exchange ends abnormally */
	void (*timer)(void *d, uint64_t us);	   /* the exchange's timer in @p us; 0: none */
	/* optional (HTTP/2): instead of a reset, end a response whose body
	 * started with the trailer fields @p lines ("name: value\r\n" each,
	 * copied), as done does; @return 0, or -1 (nothing done: reset it) */
	int (*grpc_end)(void *d, const char *lines, uint32_t len);
	/* optional (HTTP/2, framed): a 1xx response head before the final one */
	void (*informational)(void *d, const struct http_msg *msg);
};

/* http_proxy.c: write @p len bytes at the end of chain *@p m, adding mbufs from
 * @p pool (the HTTP/1.1 and HTTP/2 sides, gRPC-Web). @return 0 or -ENOMEM. */
int hp_put(struct rte_mempool *pool, struct rte_mbuf **m, const void *p, uint32_t len);
/* http_proxy.c: append chain @p m to *@p chain (NULL: @p m is the chain). */
void hp_chain_append(struct rte_mbuf **chain, struct rte_mbuf *m);

#define HP_TRAILER_MAX (16 * 1024) /* a trailer section passed on as HTTP/2 trailers */
/* Not allowed in trailers (RFC 9110 6.5.1): the connection-specific fields
 * (RFC 9113 8.2.2), content-length, host (http2_proxy.c). */
bool hp_trailer_forbidden(struct http_view name);
/* The "name: value" CRLF lines of @p tr (a trailer section) as HTTP/2
 * fields in @p f (at most @p max; they point into @p buf), names in lower
 * case, forbidden ones dropped. @return how many. */
size_t hp_trailer_fields(const struct rte_mbuf *tr, char buf[HP_TRAILER_MAX], struct h2_field *f,
			 size_t max);

/* http_proxy.c: a free exchange for a stream of connection session @p cs
 * (its listener, addresses, peer identity), answering on @p ops / @p d; NULL
 * when none is free. */
struct hp_session *hp_exchange_open(struct hp_session *cs, const struct hp_down_ops *ops, void *d);
/* Drive it (its request bytes came, its downstream drained). */
void hp_exchange_kick(struct hp_session *x);
/* Its timer expired. */
void hp_exchange_timer(struct hp_session *x);
/* The client reset it: counted as a downstream reset, ended (its done / reset op runs). */
void hp_exchange_reset(struct hp_session *x);
/* Back to the free list (from a done or reset op). */
void hp_exchange_free(struct hp_session *x);

/*
 * http_proxy.c <-> http2_upstream.c: a try to an HTTP/2 cluster is a stream
 * (struct hp2u_stream) of a connection shared by the worker's tries to the
 * endpoint; the try's struct hp_upconn points at it and the exchange writes
 * its request and reads its response in HTTP/1.1 framing, as to an HTTP/1.1
 * endpoint. Worker only.
 */
struct hp_upconn;
struct hp2u_worker;
struct hp2u_stream;

/** What a try needs of its endpoint's connection. */
struct hp2u_target {
	uint32_t addr, source; /* network order */
	uint16_t port;	       /* network order */
	const void *key;       /* the tls block's build (NULL: plain): connections are per key */
	struct tls_ctx *tls;   /* NULL: h2c with prior knowledge */
	const struct tcp_params *params;
	const struct h2_limits *lim;
	uint32_t max_streams; /* per connection; 0: as the endpoint's SETTINGS say */
	uint64_t connect_timeout_us, idle_us;
	bool fallback_h1; /* protocol auto: an endpoint that chooses ALPN http/1.1 gets it */
};

struct hp2u_worker *hp2u_worker_create(struct proxy_worker *pw, uint32_t n);
void hp2u_worker_free(struct hp2u_worker *w);
/* A stream for try @p u on a connection to @p t's endpoint (taken, or opened:
 * *@p reused false). *@p connected: the connection is up (else
 * hp_up_h2_connected() comes). @return NULL: out of streams or connections. */
struct hp2u_stream *hp2u_open(struct hp2u_worker *w, const struct hp2u_target *t,
			      struct hp_upconn *u, bool *connected, bool *reused);
void hp2u_send(struct hp2u_stream *st, struct rte_mbuf *m);	  /* request bytes (taken) */
uint32_t hp2u_space(const struct hp2u_stream *st);		  /* request bytes it takes now */
struct rte_mbuf *hp2u_recv(struct hp2u_stream *st, uint32_t max); /* response bytes */
bool hp2u_eof(const struct hp2u_stream *st);		  /* no more response bytes will come */
void hp2u_set_timer(struct hp2u_stream *st, uint64_t us); /* hp_up_h2_timer() in @p us; 0: none */
/* The try is done with it (a stream still open is reset CANCEL). */
void hp2u_close(struct hp2u_stream *st);
/* http_proxy.c, called outside nghttp2: the connection of @p u's stream is up;
 * something happened on the stream; its timer expired; the connection failed
 * before it was up (the stream is gone). */
void hp_up_h2_connected(struct hp_upconn *u);
void hp_up_h2_event(struct hp_upconn *u);
void hp_up_h2_timer(struct hp_upconn *u);
void hp_up_h2_gone(struct hp_upconn *u);
/* Protocol auto, inside the handshake callback of TLS connection @p t (made
 * with build @p key) whose endpoint chose HTTP/1.1: the try of @p u takes it
 * as its HTTP/1.1 connection. */
void hp_up_h2_adopt(struct hp_upconn *u, struct tls_conn *t, const void *key);
/* The try of @p u waited on such a connection (its stream is gone): it starts
 * again over HTTP/1.1, not a failure. */
void hp_up_h2_fallback(struct hp_upconn *u, const void *key);
/* Each connection whose tls build was replaced drains within the new build's
 * drain window: its streams finish, no new one comes (hp_follow()). */
void hp2u_follow(struct hp2u_worker *w);
/* The ctx of the build that replaced tls build @p key (the latest), or NULL
 * while @p key is current (http_proxy.c). */
const struct tls_ctx *hp_up_tls_successor(const void *key);
/* An HTTP/2 connection made with tls build @p key holds it (@p hold), or lets it go. */
void hp_up_tls_hold(const void *key, bool hold);

/* proxy_grpc.c (any thread, no allocation) */
enum proxy_grpc_kind {
	PROXY_GRPC_NONE = 0,
	PROXY_GRPC,	/* content-type application/grpc[+...] */
	PROXY_GRPC_WEB, /* application/grpc-web[-text][+...] */
};
/* What @p msg is (enum proxy_grpc_kind). */
uint8_t proxy_grpc_request(const struct http_msg *msg);
/* Its grpc-timeout in ms (rounded up); 0: none or malformed. */
uint64_t proxy_grpc_timeout_ms(const struct http_msg *msg);
/* The grpc-status of @p msg's head (a trailers-only response), or -1. */
int proxy_grpc_status(const struct http_msg *msg);
/* A local reply @p status / @p why for a gRPC client (@p kind): into @p out (room for
 * HP_LOCAL_HDRS) the fields @p in (but content-type), content-type
 * application/grpc (grpc-web+proto), grpc-status and grpc-message (written into @p buf);
 * answered as HTTP 200 without a body. @return the fields in @p out. */
uint32_t proxy_grpc_local(uint8_t kind, unsigned int status, const char *why, uint32_t len,
			  const struct http_header *in, uint32_t n_in, struct http_header *out,
			  char *buf, size_t cap);

/* grpc_web.c: gRPC-Web's codecs (any thread; output appended to chains of @p pool) */
enum grpc_web_kind {
	GRPC_WEB_NONE = 0,
	GRPC_WEB_BINARY, /* application/grpc-web[+proto] */
	GRPC_WEB_TEXT,	 /* application/grpc-web-text[+proto]: the body in base64 */
};
/* The kind of content-type value @p v; *@p suffix: what follows the type ("+proto"). */
uint8_t grpc_web_kind(struct http_view v, struct http_view *suffix);
/* Streaming base64: a group cut between calls waits in carry. */
struct grpc_web_b64 {
	uint8_t carry[4];
	uint8_t n;
};
/* Decode @p len base64 bytes onto *@p out. @return 0, -EINVAL (not base64), -ENOMEM. */
int grpc_web_decode(struct grpc_web_b64 *st, const uint8_t *in, uint32_t len,
		    struct rte_mempool *pool, struct rte_mbuf **out);
/* Encode @p len bytes onto *@p out; @p final: the carried rest too, padded. @return 0 or -ENOMEM. */
int grpc_web_encode(struct grpc_web_b64 *st, const uint8_t *in, uint32_t len, bool final,
		    struct rte_mempool *pool, struct rte_mbuf **out);
/* The trailer frame of field @p lines ("name: value\r\n" each) onto *@p out. @return 0 or -ENOMEM. */
int grpc_web_trailer_frame(const struct rte_mbuf *lines, struct rte_mempool *pool,
			   struct rte_mbuf **out);

/* http2_proxy.c: the streams' objects of a worker (at most @p n at a time). */
struct hp2_worker *hp2_worker_create(uint32_t n);
void hp2_worker_free(struct hp2_worker *w);
/* @return 1 when @p rx starts with the HTTP/2 client preface, 0 when it is a
 * start of it (or NULL), -1 when it is not. */
int hp2_preface(const struct rte_mbuf *rx);
/* Connection session @p cs speaks HTTP/2 on @p down from now on; @p rx (taken):
 * what it received so far. @return the connection, NULL when out of memory. */
struct hp2_conn *hp2_start(struct hp2_worker *w, struct hp_session *cs, struct proxy_listener *pl,
			   struct proxy_end *down, struct rte_mbuf *rx);
/* Upgrade: h2c: stream 1 is the request whose HTTP/1.1 head is @p head (taken),
 * @p settings its decoded HTTP2-Settings. Right after hp2_start(). @return 0 or -1. */
int hp2_upgrade(struct hp2_conn *c, const uint8_t *settings, size_t len, struct rte_mbuf *head,
		bool head_only);
/* Read, decode, start and feed streams, send. @return false: close the connection. */
bool hp2_process(struct hp2_conn *c);
/* The connection's timer (its streams', idle, drain). @return false: close it. */
bool hp2_timer(struct hp2_conn *c);
/* Graceful drain: GOAWAY, the streams in flight finish. */
void hp2_drain(struct hp2_conn *c);
/* The connection is gone: its exchanges are reset, everything freed. */
void hp2_free(struct hp2_conn *c);

#endif
