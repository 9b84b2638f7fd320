/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http_proxy: the engine of listeners of type "http" (HTTP/1.1; over TLS when
 * the listener has a tls block: the client's side is a struct proxy_end, as a
 * tcp_proxy session's, its SPIFFE ID goes up as x-forwarded-client-cert, and a
 * connection whose identity rotated closes at a request boundary; HTTP/2
 * clients where http.http2 allows, in http2_proxy.c).
 *
 * A request and its tries (an exchange) answer through struct hp_down_ops
 * (proxy_internal.h): on HTTP/1.1 the session is its own downstream (hp1_*),
 * on HTTP/2 each stream gets an exchange of its own whose downstream is the
 * stream; everything from routing on is the same code for both.
 *
 * A session is one client connection. Its requests are served one after
 * another, in order (pipelined ones wait in the session's receive chain):
 *   head parsed (dataplane/http) -> route (dataplane/router): 404, direct
 *   response, redirect, fault abort answered here; else the route's cluster
 *   (a service) and its policies are copied into the session (a request
 *   outlives the loop iteration whose snapshot it was routed under; the
 *   service is re-resolved by its stable key at every try) -> the head is
 *   re-serialized with the route's edits, x-forwarded-for and x-request-id
 *   -> a try: the service's balancer, breaker and health pick an endpoint
 *   (l4_upstream_open(), so the policy matrix must allow the client as for
 *   tcp_proxy), an idle connection to it from the worker's pool or a new
 *   one -> head and body go up (the body's mbufs move as they came, framing
 *   included), the response head comes back, edited, and its body moves
 *   down the same way; each direction is read only as fast as the other
 *   side's send buffer drains -> the upstream connection returns to the
 *   pool when both sides allow it, and the next request is parsed.
 * A try fails by connect failure, reset before the response, per-try
 * timeout or a retriable status; the route's retry policy then schedules the
 * next try after an exponential back-off with jitter, within the route
 * timeout, the retry budget and the cluster's max_retries. Only requests whose
 * whole body had arrived with the head and is at most HP_RETRY_BODY bytes are
 * retried (a copy of head and body is kept until the response starts).
 *
 * An egress listener (http.outbound_policy "registry_only") routes a head
 * only when an external service declares its authority's host and port
 * (hp_egress_check(); else 502 NR), and each try's endpoint must lie inside
 * that service's prefixes. An HTTP/1.0 client gets 1.0 framing back: a
 * chunked response as its data alone, then the close; no 1xx.
 *
 * Endpoint admission is per request: the endpoint's breaker counts active
 * requests (so the service's least_connections balancer is least-request),
 * a request that fails as the cluster's outlier_detection says feeds the
 * endpoint's consecutive failures (ejection), any other result closes that
 * count. Request-level breakers (max_requests, max_pending_requests,
 * max_retries) are node-wide atomics per cluster (struct hp_cluster_rt).
 *
 * Objects: sessions and upstream connections come from per-worker free lists
 * filled at start (the control thread allocates them); response heads and
 * local responses are written into mbufs of the port's pool. Threads: a
 * struct hp_worker and everything it points to belongs to one worker, but
 * struct hp_cluster_rt (shared atomics) and the listener objects (tcp_proxy.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "../authz/authz.h"
#include "../http/http.h"
#include "../inspect/inspect.h"
#include "../jwt/jwt.h"
#include "../lb/lb.h"
#include "../router/router.h"
#include "proxy_internal.h"

#define HP_SCRATCH	  8192	      /* per parser: head lines split across mbufs */
#define HP_RX_MAX	  (64 * 1024) /* client bytes read ahead of what goes up */
#define HP_RETRY_BODY	  (64 * 1024) /* largest body kept for retries */
#define HP_ARENA	  2048	      /* strings a request copies from its route */
#define HP_RESP_EDITS	  (2 * ROUTER_MAX_HEADER_EDITS)
#define HP_REQ_EDITS	  (4 * ROUTER_MAX_HEADER_EDITS + 8)
#define HP_POOL_BUCKETS	  1024u
#define HP_H1_MEMO_US	  (60ull * 1000000) /* an endpoint that chose HTTP/1.1: for so long */
#define HP_XFF_MAX	  512
#define HP_REQUEST_ID_LEN 36

/*
 * Envoy's response flags, gathered in the request and counted when it ends
 * (http_rf_<flag>: requests that ended with that flag), one bit per entry of
 * hp_rf_stats[].
 */
#define HP_RF_UH  0x001u /* no healthy upstream */
#define HP_RF_UF  0x002u /* upstream connect failure */
#define HP_RF_UO  0x004u /* upstream overflow (circuit breaker) */
#define HP_RF_URX 0x008u /* retries exhausted (or refused by budget / max_retries) */
#define HP_RF_UT  0x010u /* upstream request timeout */
#define HP_RF_UC  0x020u /* upstream connection termination */
#define HP_RF_DC  0x040u /* downstream connection termination */
#define HP_RF_NR  0x080u /* no route */
#define HP_RF_FI  0x100u /* fault injected (abort) */
#define HP_RF_DI  0x200u /* delay injected */
#define HP_RF_UPE 0x400u /* upstream protocol error (bad response) */

static const enum stats_id hp_rf_stats[] = {
	STAT_HTTP_RF_UH, STAT_HTTP_RF_UF, STAT_HTTP_RF_UO,  STAT_HTTP_RF_URX,
	STAT_HTTP_RF_UT, STAT_HTTP_RF_UC, STAT_HTTP_RF_DC,  STAT_HTTP_RF_NR,
	STAT_HTTP_RF_FI, STAT_HTTP_RF_DI, STAT_HTTP_RF_UPE,
};
/* the metrics and logs name the flags by these bits (telemetry.h) */
_Static_assert(RTE_DIM(hp_rf_stats) == TELEM_RF_COUNT && HP_RF_UPE == 1u << (TELEM_RF_COUNT - 1),
	       "HP_RF_* bits are telem_rf_names[] in order");

enum hp_state {
	HP_HEAD,     /* waiting for (or parsing) a request head */
	HP_WAIT,     /* a fault delay or a retry back-off runs (the session timer) */
	HP_UPSTREAM, /* a try: connecting, sending, waiting for or forwarding the response */
	HP_TUNNEL,   /* after 101 or a 2xx to CONNECT: bytes both ways */
	HP_H2,	     /* the connection speaks HTTP/2: its streams are exchanges (http2_proxy.c) */
};

/* Why a try failed (hp_try_failed()). */
enum hp_fail {
	HP_FAIL_CONNECT, /* connect refused, unreachable or timed out */
	HP_FAIL_RESET,	 /* the connection ended before a whole response head */
	HP_FAIL_TIMEOUT, /* the per-try timeout */
	HP_FAIL_STATUS,	 /* a retriable status */
	HP_FAIL_PROTO,	 /* a response the codec refused */
	HP_FAIL_GRPC,	 /* a retriable grpc-status (a trailers-only response) */
};

/*
 * Node-wide request counts of one cluster (a service by key), for its
 * circuit breakers and the retry budget. Created by the control thread at
 * proxy_bind() for each service, kept by key for the life of the process (a
 * request in flight may hold it across swaps), written by every worker
 * (atomics).
 */
struct hp_cluster_rt {
	uint32_t rq_active;  /* requests routed to it and not finished */
	uint32_t rq_pending; /* of those, waiting for an upstream connection */
	uint32_t rq_retries; /* retries in flight */
	char key[L4_KEY_MAX];
	struct hp_cluster_rt *next; /* control thread: the list in the global */
	struct hp_up_tls *tls_last; /* control thread: the last build of its tls block (a ref) */
} __attribute__((aligned(64)));

/*
 * The client ctx of a cluster's tls block (origination), built by the control
 * thread at hp_bind() and kept by the snapshots (rt->up_tls) and the upstream
 * connections made with it. When a later snapshot rebuilds the block (another
 * identity, another expected peer...), @c next is the build that replaced it:
 * pooled connections of a replaced build are never reused and close within
 * the drain window (hp_follow()). Freed by the control thread (hp_reclaim())
 * once nothing holds it.
 */
struct hp_up_tls {
	struct tls_ctx *ctx;
	struct tls_ctx *ctx_h1;	 /* protocol auto: ALPN http/1.1 only, to endpoints that chose it */
	uint64_t id;		 /* unique per build (the workers' HTTP/1.1 memo names it) */
	uint32_t refs;		 /* atomic: snapshots, connections, tls_last, the build before */
	struct hp_up_tls *next;	 /* the build that replaced it (a ref); written before publish */
	struct hp_up_tls *chain; /* control thread: every build, in pg->up_tls */
};

struct hp_session;

/* An upstream connection: serving a session's try, or idle in the pool. */
struct hp_upconn {
	struct hp_worker *hw;
	struct proxy_end end; /* TCP, or TLS when the cluster has a tls block */
	struct hp_up_tls *ut; /* the tls block's build it was made with (a ref); NULL: plain */
	struct hp_session *s; /* NULL: idle in the pool */
	uint32_t addr;	      /* the endpoint, network order */
	uint16_t port;	      /* network order */
	bool connected;	      /* TCP connected, and TLS handshake done */
	bool fin_passed;      /* tunnels: the endpoint's FIN was passed on */
	bool retired;	      /* its build was replaced: closing (hp_follow()) */
	uint32_t requests;    /* requests it carried */
	/* an HTTP/2 cluster's try: its stream (end unused) */
	struct hp2u_stream *h2s;
	LIST_ENTRY(hp_upconn) link;	/* idle: in its pool bucket; else in the free list */
	LIST_ENTRY(hp_upconn) tls_link; /* with ut: in hw->tls_upconns */
};

/*
 * An exchange: one request, its tries and its response. On HTTP/1.1 it is also
 * the client connection, whose requests it serves in turn; an HTTP/2
 * connection (state HP_H2) gives each stream an exchange of its own, whose
 * downstream is the stream (dn, dd: struct hp_down_ops).
 */
struct hp_session {
	struct hp_worker *hw;
	struct proxy_listener *pl;
	void *slot;		/* the listener's node-wide connection count */
	struct proxy_end down;	/* the client's connection (TCP, or TLS on a tls listener) */
	struct hp_upconn *up;	/* the try's connection */
	uint8_t state;		/* enum hp_state */
	uint32_t client, local; /* network order */
	uint16_t client_port, local_port;
	uint8_t client_txt_len;
	char client_txt[INET_ADDRSTRLEN]; /* the client's address in text, for x-forwarded-for */
	uint64_t last_us;		  /* the last byte moved either way */
	uint64_t head_start_us;	  /* the first byte of the head in progress (request_timeout_ms) */
	bool close_after;	  /* close the client connection after this response */
	bool down_fin_passed;	  /* tunnels: the client's FIN was passed on */
	bool busy;		  /* hp_process() runs for it */
	bool again;		  /* something happened while it ran: go round once more */
	uint32_t gen;		  /* bumped when the session ends (kept across reuse) */
	char peer_id[TLS_ID_MAX]; /* the client's SPIFFE ID (TLS listeners); "": none */

	/* the downstream (struct hp_down_ops) */
	const struct hp_down_ops *dn; /* where the exchange answers */
	void *dd;		      /* dn's argument: the session itself, or its stream */
	struct hp2_conn *h2;	      /* HP_H2: the connection's streams */
	bool alpn_h2;		      /* TLS agreed on "h2" */

	/* from the client: byte 0 is the next unconsumed byte of the request */
	struct rte_mbuf *rx;
	struct http_parser req;
	bool req_body_done;
	bool http10; /* the request is HTTP/1.0: so is the framing of its response */
	enum http_method method;

	/* the request's route, copied */
	/* egress listeners: the external service that declares the Host (index in
	 * the snapshot of egress_gen; by name in a later one); else -1 */
	int32_t egress_ext;
	uint64_t egress_gen;
	char egress_name[CFG_NAME_MAX];
	char cluster_key[ROUTER_KEY_MAX];
	uint16_t cluster_port;
	struct hp_cluster_rt *crt; /* NULL: not routed to a cluster */
	uint8_t outlier;	   /* enum proxy_outlier of the cluster */
	uint32_t pool_max_idle, pool_max_requests;
	uint64_t pool_idle_us;
	struct router_retry retry;
	struct router_retry_budget budget;
	uint32_t max_retries; /* the cluster's breakers */
	uint32_t max_pending;
	uint64_t deadline_us; /* route timeout; 0: none */
	uint64_t wake_us;     /* HP_WAIT: when the next try starts */
	uint32_t attempt;     /* tries started */
	uint32_t flags;	      /* HP_RF_* */
	bool retrying;	      /* a retry holds rq_retries */
	bool pending;	      /* the try holds rq_pending (no connection yet) */
	struct l4_upstream ups;
	struct l4_pick_opts pick; /* the cluster's lb_policy, the request's hash_policy hash */
	struct rte_mbuf *held;	  /* head + whole body, for retries; NULL: not retriable */
	struct rte_mbuf *out;	  /* what the try sends first (head, and the body so far) */
	uint32_t n_resp_add, n_resp_remove;
	struct http_header resp_add[HP_RESP_EDITS];
	struct http_view resp_remove[HP_RESP_EDITS];
	/* the route's CORS fields for the request (hp_cors()), on local answers too */
	uint32_t n_cors;
	struct http_header cors[ROUTER_CORS_FIELDS];
	uint32_t arena_used;
	char arena[HP_ARENA];

	/* what the request's metrics and access log record (dataplane/telemetry) */
	struct telem_http tm;
	uint64_t tm_req_bytes, tm_resp_bytes;
	uint32_t tm_upstream;	   /* the last try's endpoint, network order; 0: none */
	uint16_t tm_upstream_port; /* host order */
	uint16_t tm_status;	   /* the final response's status; 0: none went out */
	char tm_route[CFG_NAME_MAX];

	/* from the endpoint */
	struct rte_mbuf *urx;
	struct http_parser resp;
	bool resp_started; /* a response head (not 1xx) went to the client */
	bool resp_close;   /* the response runs until close or says close */
	bool dechunk; /* a chunked response to an HTTP/1.0 client: its data only, until close */

	/* a gRPC request (proxy_grpc.c): local replies are grpc-status ones */
	uint8_t grpc;		  /* enum proxy_grpc_kind */
	uint64_t grpc_timeout_ms; /* its grpc-timeout; 0: none */

	char req_scratch[HP_SCRATCH];
	char resp_scratch[HP_SCRATCH];
	LIST_ENTRY(hp_session) link; /* in the free list */
};

struct hp_worker {
	struct proxy_worker *pw;
	struct router_worker *rw;
	struct rte_mempool *pool; /* mbufs for heads and local responses */
	struct hp_session *sessions;
	struct hp_upconn *upconns;
	uint32_t n_sessions, n_upconns;
	LIST_HEAD(, hp_session) free_sessions;
	LIST_HEAD(, hp_upconn) free_upconns;
	LIST_HEAD(, hp_upconn) idle[HP_POOL_BUCKETS];
	LIST_HEAD(, hp_upconn) tls_upconns; /* the live ones with a tls block */
	/* by pool bucket: the last TLS connection whose handshake completed, whose
	 * session a new one to the same endpoint and build resumes */
	struct hp_upconn *resume[HP_POOL_BUCKETS];
	/* by pool bucket: an endpoint of an auto cluster that chose ALPN http/1.1
	 * (http2_upstream.c), spoken to over HTTP/1.1 until @c until_us */
	struct hp_h1_memo {
		uint64_t build; /* hp_up_tls.id */
		uint64_t until_us;
		uint32_t addr;
		uint16_t port;
	} h1_memo[HP_POOL_BUCKETS];
	uint64_t rng;
	struct hp2_worker *h2; /* the HTTP/2 streams (http2_proxy.c) */
	/* the HTTP/2 upstream connections (http2_upstream.c) */
	struct hp2u_worker *h2u;
};

/* ---- small helpers ---- */

static uint64_t hp_now(const struct hp_worker *hw)
{
	return proxy_us(hw->pw, hw->pw->now_tsc);
}

static struct stats_block *hp_stats(const struct hp_worker *hw)
{
	return hw->pw->stats;
}

/* The worker's generator: weighted splits, fault percentages, jitter, picks. */
static uint32_t hp_rand(struct hp_worker *hw)
{
	return lb_rand32(&hw->rng);
}

static uint32_t hp_atomic_inc(uint32_t *v)
{
	return __atomic_add_fetch(v, 1, __ATOMIC_RELAXED);
}

static void hp_atomic_dec(uint32_t *v)
{
	__atomic_sub_fetch(v, 1, __ATOMIC_RELAXED);
}

void hp_chain_append(struct rte_mbuf **chain, struct rte_mbuf *m)
{
	struct rte_mbuf *last;

	if (*chain == NULL) {
		*chain = m;
		return;
	}
	last = rte_pktmbuf_lastseg(*chain);
	last->next = m;
	(*chain)->pkt_len += m->pkt_len;
	(*chain)->nb_segs = (uint16_t)((*chain)->nb_segs + m->nb_segs);
}

/*
 * Take the first @p n bytes of *@p chain as a chain of their own (*@p chain
 * keeps the rest, NULL when nothing is left). @return it (NULL for n 0 or
 * when out of mbufs: nothing changed then, *@p err -ENOMEM).
 */
static struct rte_mbuf *hp_chain_take(struct hp_worker *hw, struct rte_mbuf **chain, uint32_t n,
				      int *err)
{
	struct rte_mbuf *head = *chain, *rest = NULL;

	*err = 0;
	if (n == 0 || head == NULL)
		return NULL;
	if (n >= head->pkt_len) {
		*chain = NULL;
		return head;
	}
	if ((*err = http_chain_split(head, n, hw->pool, &rest)) != 0)
		return NULL;
	*chain = rest;
	return head;
}

/* Copy @p len bytes into the session's arena. @return the copy, NULL when it is full. */
static const char *hp_arena_put(struct hp_session *s, const char *p, uint32_t len)
{
	char *d;

	if (s->arena_used + len > sizeof(s->arena))
		return NULL;
	d = s->arena + s->arena_used;
	memcpy(d, p, len);
	s->arena_used += len;
	return d;
}

/* ---- sessions and upstream connections: free lists ---- */

static struct hp_upconn *hp_upconn_get(struct hp_worker *hw)
{
	struct hp_upconn *u = LIST_FIRST(&hw->free_upconns);

	if (u == NULL)
		return NULL;
	LIST_REMOVE(u, link);
	memset(u, 0, sizeof(*u));
	u->hw = hw;
	return u;
}

static uint32_t hp_bucket(uint32_t addr, uint16_t port);

static void hp_upconn_put(struct hp_upconn *u)
{
	if (u->ut != NULL) {
		struct hp_upconn **r = &u->hw->resume[hp_bucket(u->addr, u->port)];

		if (*r == u)
			*r = NULL;
		LIST_REMOVE(u, tls_link);
		__atomic_sub_fetch(&u->ut->refs, 1, __ATOMIC_RELEASE);
		u->ut = NULL;
	}
	LIST_INSERT_HEAD(&u->hw->free_upconns, u, link);
}

static uint32_t hp_bucket(uint32_t addr, uint16_t port)
{
	return (rte_be_to_cpu_32(addr) * 2654435761u ^ port) % HP_POOL_BUCKETS;
}

/* An idle pooled connection to @p addr:@p port (network order) made with @p ut
 * (NULL: plain TCP), taken out of the pool. */
static struct hp_upconn *hp_pool_take(struct hp_worker *hw, uint32_t addr, uint16_t port,
				      const struct hp_up_tls *ut)
{
	struct hp_upconn *u;

	LIST_FOREACH(u, &hw->idle[hp_bucket(addr, port)], link)
	if (u->addr == addr && u->port == port && u->ut == ut) {
		LIST_REMOVE(u, link);
		return u;
	}
	return NULL;
}

/* Close an upstream connection gracefully (FIN) and recycle the object. */
static void hp_upconn_close(struct hp_upconn *u)
{
	if (u->h2s != NULL) {
		hp2u_close(u->h2s);
		u->h2s = NULL;
	}
	proxy_end_close(&u->end);
	hp_upconn_put(u);
}

/* Reset an upstream connection (RST) and recycle the object. */
static void hp_upconn_abort(struct hp_upconn *u)
{
	if (u->h2s != NULL) {
		hp2u_close(u->h2s);
		u->h2s = NULL;
	}
	proxy_end_abort(&u->end);
	hp_upconn_put(u);
}

/* The try's connection, or its HTTP/2 stream (http2_upstream.c). */
static void hp_up_send(struct hp_upconn *u, struct rte_mbuf *m)
{
	if (u->h2s != NULL)
		hp2u_send(u->h2s, m);
	else
		proxy_end_send(&u->end, m);
}

static uint32_t hp_up_space(const struct hp_upconn *u)
{
	return u->h2s != NULL ? hp2u_space(u->h2s) : proxy_end_space(&u->end);
}

static struct rte_mbuf *hp_up_recv(struct hp_upconn *u, uint32_t max)
{
	return u->h2s != NULL ? hp2u_recv(u->h2s, max) : proxy_end_recv(&u->end, max);
}

static void hp_up_set_timer(struct hp_upconn *u, uint64_t us)
{
	if (u->h2s != NULL)
		hp2u_set_timer(u->h2s, us);
	else
		proxy_end_set_timer(&u->end, us);
}

/* Has the endpoint closed (close_notify or FIN), with nothing left to read before? */
static bool hp_up_eof(const struct hp_upconn *u)
{
	if (u->h2s != NULL)
		return hp2u_eof(u->h2s);
	return u->end.tls != NULL ? tls_recv_eof(u->end.tls)
				  : tcp_recv_eof(u->end.tcp) && tcp_recv_queued(u->end.tcp) == 0;
}

/* Could @p u (TLS) serve another request: its build current, not draining? */
static bool hp_up_tls_current(const struct hp_upconn *u)
{
	return u->ut == NULL || (__atomic_load_n(&u->ut->next, __ATOMIC_ACQUIRE) == NULL &&
				 !tls_draining(u->end.tls));
}

/*
 * The try is over and @p u may serve another request: keep it idle in the
 * pool (its endpoint's bucket) unless the pool for that endpoint is full.
 */
static void hp_pool_put(struct hp_session *s, struct hp_upconn *u)
{
	struct hp_worker *hw = s->hw;
	uint32_t n = 0;
	struct hp_upconn *o;

	LIST_FOREACH(o, &hw->idle[hp_bucket(u->addr, u->port)], link)
	n += o->addr == u->addr && o->port == u->port && o->ut == u->ut;
	if (n >= s->pool_max_idle ||
	    (s->pool_max_requests != 0 && u->requests >= s->pool_max_requests)) {
		hp_upconn_close(u);
		return;
	}
	u->s = NULL;
	proxy_end_set_timer(&u->end, s->pool_idle_us);
	LIST_INSERT_HEAD(&hw->idle[hp_bucket(u->addr, u->port)], u, link);
}

/* ---- local responses ---- */

/* Write @p len bytes at the end of chain *@p m, adding mbufs from @p pool. @return 0 or -ENOMEM. */
int hp_put(struct rte_mempool *pool, struct rte_mbuf **m, const void *p, uint32_t len)
{
	const uint8_t *src = p;

	while (len > 0) {
		struct rte_mbuf *last = *m != NULL ? rte_pktmbuf_lastseg(*m) : NULL;
		/* the tail of a buffer that is ours alone (not one shared, attached
		 * or external: a received segment moved onto the chain may be) */
		uint32_t room = last != NULL && RTE_MBUF_DIRECT(last) &&
						rte_mbuf_refcnt_read(last) == 1
					? rte_pktmbuf_tailroom(last)
					: 0,
			 n;
		char *d;

		if (room == 0) {
			struct rte_mbuf *nm = rte_pktmbuf_alloc(pool);

			if (nm == NULL)
				return -ENOMEM;
			hp_chain_append(m, nm);
			continue;
		}
		n = RTE_MIN(room, len);
		d = rte_pktmbuf_append(last, (uint16_t)n);
		memcpy(d, src, n);
		if (last != *m)
			(*m)->pkt_len += n;
		src += n;
		len -= n;
	}
	return 0;
}

static const char *hp_reason(unsigned int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return status < 300   ? "OK"
		       : status < 400 ? "Redirect"
		       : status < 500 ? "Client Error"
				      : "Server Error";
	}
}

/* A response went to the client: count it by class. */
static void hp_count_response(struct hp_worker *hw, unsigned int status, bool local)
{
	static const enum stats_id all[] = {STAT_HTTP_RESPONSES_1XX, STAT_HTTP_RESPONSES_2XX,
					    STAT_HTTP_RESPONSES_3XX, STAT_HTTP_RESPONSES_4XX,
					    STAT_HTTP_RESPONSES_5XX};
	static const enum stats_id mine[] = {STAT_HTTP_LOCAL_2XX, STAT_HTTP_LOCAL_2XX,
					     STAT_HTTP_LOCAL_3XX, STAT_HTTP_LOCAL_4XX,
					     STAT_HTTP_LOCAL_5XX}; /* the proxy makes no 1xx */
	unsigned int k = status / 100;

	if (k < 1 || k > 5)
		return;
	stats_inc(hp_stats(hw), all[k - 1]);
	if (local)
		stats_inc(hp_stats(hw), mine[k - 1]);
}

static void hp_session_end(struct hp_session *s);
static void hp_request_done(struct hp_session *s);
static void hp_process(struct hp_session *s);
static const struct hp_down_ops hp1_down;
static void hp_h2_start(struct hp_session *s);
static bool hp_h2c_upgrade(struct hp_session *s);

/*
 * A TLS client connection whose identity rotated (or expires) closes after the
 * response in flight, which says "connection: close" when its head is still to go.
 */
static void hp_drain_check(struct hp_session *s)
{
	if (!s->close_after && s->down.tls != NULL && tls_draining(s->down.tls)) {
		s->close_after = true;
		stats_inc(hp_stats(s->hw), STAT_HTTP_TLS_DRAIN_CLOSED);
	}
}

/*
 * Answer the request in progress here: @p status, @p body, @p n_hdrs more
 * header fields (at most HP_LOCAL_HDRS, names in lower case). The connection closes after it when the request asked so, when
 * @p close, or when the request's body was not read (it would be taken for
 * the next request).
 */
static void hp_local_reply(struct hp_session *s, unsigned int status, const char *body,
			   uint32_t body_len, const struct http_header *hdrs, uint32_t n_hdrs,
			   bool close)
{
	struct hp_worker *hw = s->hw;
	struct http_header gh[HP_LOCAL_HDRS];
	char gbuf[256];
	int n;

	if (s->grpc) { /* HTTP 200, the status in grpc-status (proxy_grpc.c) */
		n_hdrs = proxy_grpc_local(s->grpc, status, body, body_len, hdrs, n_hdrs, gh, gbuf,
					  sizeof(gbuf));
		hdrs = gh;
		status = 200;
		body = "";
		body_len = 0;
		stats_inc(hp_stats(hw), STAT_HTTP_GRPC_LOCAL_REPLIES);
	}
	hp_drain_check(s);
	close = close || s->close_after || !s->req_body_done;
	stats_inc(hp_stats(hw), STAT_HTTP_LOCAL_RESPONSES);
	hp_count_response(hw, status, true);
	n = s->dn->local(s->dd, status, body, body_len, hdrs, n_hdrs, close);
	if (n < 0) {
		stats_inc(hp_stats(hw), STAT_HTTP_ALLOC_FAILED);
		hp_session_end(s);
		return;
	}
	s->tm_status = (uint16_t)status;
	s->tm_resp_bytes += (uint64_t)n;
	s->last_us = hp_now(hw);
	s->close_after = close;
	hp_request_done(s);
}

/* Does a local response's extra field set its content-type (else text/plain)? */
static bool hp_local_typed(const struct http_header *hdrs, uint32_t n)
{
	for (uint32_t i = 0; i < n && i < HP_LOCAL_HDRS; i++)
		if (http_view_eq_nocase(hdrs[i].name, "content-type", 12))
			return true;
	return false;
}

/* HTTP/1.1: the local response's head and body on the session's connection. */
static int hp1_local(void *d, unsigned int status, const char *body, uint32_t body_len,
		     const struct http_header *hdrs, uint32_t n_hdrs, bool close)
{
	struct hp_session *s = d;
	struct rte_mbuf *m = NULL;
	char head[512 + 4096];
	size_t n;

	n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 %u %s\r\ncontent-length: %u\r\n%s%s%s%s",
			     status, hp_reason(status), body_len,
			     hp_local_typed(hdrs, n_hdrs) ? "" : "content-type: text/plain\r\n",
			     s->pl->http.server_name[0] != '\0' ? "server: " : "",
			     s->pl->http.server_name,
			     s->pl->http.server_name[0] != '\0' ? "\r\n" : "");
	for (uint32_t i = 0; i < n_hdrs && i < HP_LOCAL_HDRS && n < sizeof(head); i++)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "%.*s: %.*s\r\n",
				      (int)hdrs[i].name.len, hdrs[i].name.p, (int)hdrs[i].value.len,
				      hdrs[i].value.p);
	if (n < sizeof(head))
		n += (size_t)snprintf(head + n, sizeof(head) - n, "%s\r\n",
				      close	  ? "connection: close\r\n"
				      : s->http10 ? "connection: keep-alive\r\n"
						  : "");
	if (n >= sizeof(head) || hp_put(s->hw->pool, &m, head, (uint32_t)n) != 0 ||
	    (body_len > 0 && s->method != HTTP_M_HEAD &&
	     hp_put(s->hw->pool, &m, body, body_len) != 0)) {
		rte_pktmbuf_free(m);
		return -ENOMEM;
	}
	n = (int)m->pkt_len;
	proxy_end_send(&s->down, m);
	return n;
}

/* A local error status with a one-line body naming it. */
static void hp_local_error(struct hp_session *s, unsigned int status, uint32_t flag,
			   const char *what)
{
	char body[160];
	int n = snprintf(body, sizeof(body), "%s\n", what);

	s->flags |= flag;
	hp_local_reply(s, status, body, (uint32_t)n, s->cors, s->n_cors, false);
}

/* ---- the request's end ---- */

/* Give back what the request held: breaker counts, admission, kept mbufs. */
static void hp_release_request(struct hp_session *s)
{
	if (s->tm.active)
		telem_http_end(s->hw->pw->telem, s->hw->pw->snap, &s->tm, s->tm_status, s->flags,
			       s->tm_req_bytes, s->tm_resp_bytes, s->tm_upstream,
			       s->tm_upstream_port, s->tm_route, hp_now(s->hw));
	s->tm_req_bytes = s->tm_resp_bytes = 0;
	s->tm_upstream = 0;
	s->tm_upstream_port = s->tm_status = 0;
	s->tm_route[0] = '\0';
	for (uint32_t i = 0; s->flags != 0 && i < RTE_DIM(hp_rf_stats); i++)
		if (s->flags & (1u << i))
			stats_inc(hp_stats(s->hw), hp_rf_stats[i]);
	if (s->crt != NULL) {
		hp_atomic_dec(&s->crt->rq_active);
		if (s->pending)
			hp_atomic_dec(&s->crt->rq_pending);
		if (s->retrying)
			hp_atomic_dec(&s->crt->rq_retries);
	}
	s->crt = NULL;
	s->pending = s->retrying = false;
	l4_upstream_close(&s->ups);
	if (s->up != NULL) {
		hp_upconn_abort(s->up);
		s->up = NULL;
	}
	rte_pktmbuf_free(s->held);
	rte_pktmbuf_free(s->out);
	rte_pktmbuf_free(s->urx);
	s->held = s->out = s->urx = NULL;
	s->arena_used = s->n_resp_add = s->n_resp_remove = s->n_cors = 0;
	s->attempt = s->flags = 0;
	s->deadline_us = s->wake_us = 0;
	s->grpc = PROXY_GRPC_NONE;
	s->grpc_timeout_ms = 0;
	s->resp_started = s->resp_close = s->dechunk = false;
}

/* The exchange is over: its upstream connection is gone, its downstream goes now (by RST). */
static void hp_session_end(struct hp_session *s)
{
	hp_release_request(s);
	s->dn->reset(s->dd);
}

void hp_exchange_free(struct hp_session *s)
{
	rte_pktmbuf_free(s->rx);
	s->rx = NULL;
	s->gen++;
	LIST_INSERT_HEAD(&s->hw->free_sessions, s, link);
}

/* HTTP/1.1: the client connection is over (its HTTP/2 streams with it). */
static void hp1_reset(void *d)
{
	struct hp_session *s = d;

	if (s->h2 != NULL) {
		hp2_free(s->h2);
		s->h2 = NULL;
	}
	proxy_end_abort(&s->down);
	l4_listener_release(s->slot);
	proxy_listener_put(s->pl);
	stats_inc(hp_stats(s->hw), STAT_HTTP_DOWNSTREAM_CX_CLOSED);
	hp_exchange_free(s);
}

/*
 * A gRPC response whose body started outlived its deadline (grpc-timeout or
 * the route's): on an HTTP/2 client it ends with trailers grpc-status 4
 * (DEADLINE_EXCEEDED) rather than a reset, so the client's library reports
 * the deadline; the endpoint's stream or connection is aborted as for a reset.
 */
static void hp_grpc_deadline(struct hp_session *s)
{
	static const char tr[] = "grpc-status: 4\r\ngrpc-message: upstream request timeout\r\n";

	s->flags |= HP_RF_UT;
	hp_release_request(s);
	if (s->dn->grpc_end(s->dd, tr, sizeof(tr) - 1) != 0) {
		stats_inc(hp_stats(s->hw), STAT_HTTP_ALLOC_FAILED);
		s->dn->reset(s->dd);
		return;
	}
	stats_inc(hp_stats(s->hw), STAT_HTTP_GRPC_DEADLINE_TRAILERS);
}

/* The request is answered (its response went to the client whole). */
static void hp_request_done(struct hp_session *s)
{
	hp_release_request(s);
	s->dn->done(s->dd);
}

/* HTTP/1.1: the next request may be parsed, or the connection closes after what was queued. */
static void hp1_done(void *d)
{
	struct hp_session *s = d;

	s->state = HP_HEAD;
	s->head_start_us = 0;
	if (s->close_after) {
		proxy_end_close(&s->down);
		hp_session_end(s);
		return;
	}
	hp_process(s);
}

/* ---- tries ---- */

static void hp_try_start(struct hp_session *s);

/* May the failed try be retried? Counts the refusals of the budget and max_retries. */
static bool hp_can_retry(struct hp_session *s, enum hp_fail why, unsigned int status)
{
	struct hp_worker *hw = s->hw;
	const struct router_retry *rp = &s->retry;
	uint32_t allowed;

	if (s->held == NULL || s->attempt > rp->num_retries)
		return false;
	switch (why) {
	case HP_FAIL_STATUS:
		if (!router_retry_status(rp, status))
			return false;
		break;
	case HP_FAIL_GRPC:
		if (!router_retry_grpc(rp, status))
			return false;
		break;
	case HP_FAIL_CONNECT:
		if (!router_retry_on_failure(rp, true))
			return false;
		break;
	default:
		if (!router_retry_on_failure(rp, false))
			return false;
		break;
	}
	if (s->retrying)
		return true; /* holds its retry slot from the first retry on */
	allowed = s->max_retries;
	if (s->budget.enabled) {
		uint32_t active = __atomic_load_n(&s->crt->rq_active, __ATOMIC_RELAXED);
		uint32_t b = (uint32_t)((uint64_t)active * s->budget.budget_percent / 100);

		b = RTE_MAX(b, s->budget.min_retry_concurrency);
		allowed = RTE_MIN(allowed, b);
	}
	if (hp_atomic_inc(&s->crt->rq_retries) > allowed) {
		hp_atomic_dec(&s->crt->rq_retries);
		stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_RQ_RETRY_OVERFLOW);
		s->flags |= HP_RF_URX;
		return false;
	}
	s->retrying = true;
	return true;
}

/* Does this result count against the endpoint (outlier detection)? */
static bool hp_outlier_failure(const struct hp_session *s, enum hp_fail why, unsigned int status)
{
	switch (why) {
	case HP_FAIL_CONNECT:
		return true;
	case HP_FAIL_GRPC: /* the endpoint answered: its service's status, not its health */
		return false;
	case HP_FAIL_STATUS:
		if (s->outlier == PROXY_OUTLIER_5XX)
			return status >= 500;
		return s->outlier == PROXY_OUTLIER_GATEWAY && status >= 502 && status <= 504;
	default:
		return s->outlier != PROXY_OUTLIER_CONNECT;
	}
}

/* Tell the endpoint's breaker how the try went. */
static void hp_try_result(struct hp_session *s, bool failed)
{
	struct proxy_worker *pw = s->hw->pw;

	if (s->ups.ep == NULL || pw->snap == NULL)
		return;
	l4_upstream_result(pw->lw, pw->snap, &s->ups, !failed, pw->now_tsc);
	if (failed)
		s->ups.ep = NULL; /* a failure releases the admission */
}

/* The session timer: the earliest of the deadlines that apply now. */
static void hp_arm(struct hp_session *s)
{
	const struct proxy_listener *pl = s->pl;
	uint64_t now = hp_now(s->hw), next = UINT64_MAX;

	if (s->state == HP_H2 || !s->dn->open(s->dd))
		return; /* an HTTP/2 connection's timer is its streams' (http2_proxy.c) */
	if (pl->idle_timeout_us != 0)
		next = s->last_us + pl->idle_timeout_us;
	if (s->state == HP_HEAD && s->head_start_us != 0 && pl->http.request_timeout_ms != 0)
		next = RTE_MIN(next, s->head_start_us + pl->http.request_timeout_ms * 1000ull);
	if ((s->state == HP_UPSTREAM || s->state == HP_WAIT) && s->deadline_us != 0)
		next = RTE_MIN(next, s->deadline_us);
	if (s->state == HP_WAIT)
		next = RTE_MIN(next, s->wake_us);
	s->dn->timer(s->dd, next == UINT64_MAX ? 0 : next > now ? next - now : 1);
}

/* The try has its connection or stream: it no longer holds rq_pending. */
static void hp_try_unpend(struct hp_session *s)
{
	if (s->pending) {
		hp_atomic_dec(&s->crt->rq_pending);
		s->pending = false;
	}
}

/*
 * The try failed before a response reached the client: retry when the
 * policy allows, else answer with the status Envoy would.
 */
static void hp_try_failed(struct hp_session *s, enum hp_fail why, unsigned int status)
{
	struct hp_worker *hw = s->hw;
	uint64_t now = hp_now(hw);

	if (s->up != NULL) {
		hp_upconn_abort(s->up);
		s->up = NULL;
	}
	hp_try_unpend(s);
	rte_pktmbuf_free(s->urx);
	s->urx = NULL;
	rte_pktmbuf_free(s->out);
	s->out = NULL;
	hp_try_result(s, hp_outlier_failure(s, why, status));
	l4_upstream_close(&s->ups);
	if (hp_can_retry(s, why, status)) {
		uint32_t ms = router_retry_backoff_ms(&s->retry, s->attempt, hp_rand(hw));

		s->wake_us = now + (uint64_t)ms * 1000;
		if (s->deadline_us == 0 || s->wake_us < s->deadline_us) {
			stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_RQ_RETRY);
			s->state = HP_WAIT;
			hp_arm(s);
			return;
		}
	} else if (s->attempt > 1) {
		s->flags |= HP_RF_URX;
	}
	switch (why) {
	case HP_FAIL_CONNECT:
		hp_local_error(s, 503, HP_RF_UF, "upstream connect error");
		break;
	case HP_FAIL_TIMEOUT:
		stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_RQ_PER_TRY_TIMEOUT);
		hp_local_error(s, 504, HP_RF_UT, "upstream request timeout");
		break;
	case HP_FAIL_PROTO:
		hp_local_error(s, 502, HP_RF_UPE, "upstream protocol error");
		break;
	default: /* a reset; a retriable status is forwarded when it is not retried */
		hp_local_error(s, 503, HP_RF_UC,
			       "upstream connect error or disconnect/reset before headers");
		break;
	}
}

static const struct tcp_callbacks hp_up_cbs;
static const struct tls_callbacks hp_up_tls_cbs;

/* The try cannot start: too many requests pending, or no connection object free. */
static void hp_try_overflow(struct hp_session *s)
{
	stats_inc(hp_stats(s->hw), STAT_HTTP_RQ_OVERFLOW);
	hp_try_result(s, false);
	hp_local_error(s, 503, HP_RF_UO, "upstream overflow");
}

/* The request waits for a connection or a stream: it is pending
 * (max_pending_requests). @return false: one too many, answered 503. */
static bool hp_try_pending(struct hp_session *s)
{
	if (s->pending)
		return true;
	s->pending = true;
	if (hp_atomic_inc(&s->crt->rq_pending) > s->max_pending && s->max_pending != 0) {
		hp_try_overflow(s);
		return false;
	}
	return true;
}

/* Has @p addr:@p port (network order), an endpoint of @p ut's auto cluster, chosen HTTP/1.1 lately? */
static bool hp_h1_memo_has(const struct hp_worker *hw, uint32_t addr, uint16_t port,
			   const struct hp_up_tls *ut)
{
	const struct hp_h1_memo *m = &hw->h1_memo[hp_bucket(addr, port)];

	return ut != NULL && m->build == ut->id && m->addr == addr && m->port == port &&
	       hp_now(hw) < m->until_us;
}

static void hp_h1_memo_set(struct hp_worker *hw, uint32_t addr, uint16_t port,
			   const struct hp_up_tls *ut)
{
	struct hp_h1_memo *m = &hw->h1_memo[hp_bucket(addr, port)];

	m->build = ut->id;
	m->addr = addr;
	m->port = port;
	m->until_us = hp_now(hw) + HP_H1_MEMO_US;
}

/*
 * The try's endpoint speaks HTTP/1.1: an idle pooled connection to it, or a
 * new one (an auto cluster's endpoint known to choose HTTP/1.1 is offered
 * ALPN http/1.1 alone). Also a try that started again after its HTTP/2
 * connection turned out HTTP/1.1 (it may hold rq_pending already).
 */
static void hp_try_h1(struct hp_session *s, struct hp_up_tls *ut)
{
	struct hp_worker *hw = s->hw;
	struct proxy_worker *pw = hw->pw;
	struct tcp_addr laddr = {.family = 4}, raddr = {.family = 4};
	struct hp_upconn *u = hp_pool_take(hw, s->ups.addr, s->ups.port, ut);

	if (u != NULL) {
		stats_inc(hp_stats(hw), STAT_HTTP_POOL_REUSED);
		hp_try_unpend(s);
		u->s = s;
		u->requests++;
		s->up = u;
		hp_up_set_timer(u, s->retry.per_try_timeout_ms * 1000ull);
		hp_process(s);
		return;
	}
	if (!hp_try_pending(s))
		return;
	u = hp_upconn_get(hw);
	if (u == NULL) {
		hp_try_overflow(s);
		return;
	}
	laddr.v4 = s->ups.source;
	raddr.v4 = s->ups.addr;
	u->s = s;
	u->addr = s->ups.addr;
	u->port = s->ups.port;
	u->requests = 1;
	if (ut != NULL)
		u->end.tls = tls_connect(pw->tls, ut->ctx_h1 != NULL ? ut->ctx_h1 : ut->ctx,
					 pw->tcp, &laddr, &raddr, rte_be_to_cpu_16(s->ups.port),
					 &s->pl->params, &hp_up_tls_cbs, u, hp_now(hw));
	else
		u->end.tcp = tcp_connect(pw->tcp, &laddr, &raddr, rte_be_to_cpu_16(s->ups.port),
					 &s->pl->params, &hp_up_cbs, u, hp_now(hw));
	if (!proxy_end_open(&u->end)) {
		hp_upconn_put(u);
		stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_CX_CONNECT_FAIL);
		hp_try_failed(s, HP_FAIL_CONNECT, 0);
		return;
	}
	if (ut != NULL) {
		const struct hp_upconn *r = hw->resume[hp_bucket(u->addr, u->port)];

		u->ut = ut;
		__atomic_add_fetch(&ut->refs, 1, __ATOMIC_RELAXED);
		LIST_INSERT_HEAD(&hw->tls_upconns, u, tls_link);
		/* session resumption per worker and endpoint: a live connection's session */
		if (r != NULL && r->ut == ut && r->addr == u->addr && r->port == u->port)
			tls_resume_from(u->end.tls, r->end.tls);
	}
	s->up = u;
	stats_inc(hp_stats(hw), STAT_HTTP_POOL_CONNECTS);
	/* the TLS handshake is part of the connect: a failed one is a connect failure */
	proxy_end_set_timer(&u->end, s->pl->connect_timeout_us);
}

/*
 * The try's endpoint speaks HTTP/2 (the cluster's protocol): a stream on the
 * worker's connection to it (http2_upstream.c), or on a new one.
 */
static void hp_try_h2(struct hp_session *s, uint32_t service, struct hp_up_tls *ut)
{
	struct hp_worker *hw = s->hw;
	const struct proxy_cluster *cl =
		&((const struct proxy_l7_cfg *)hw->pw->snap->proxy_l7)->by_service[service];
	struct hp2u_target t = {
		.addr = s->ups.addr,
		.source = s->ups.source,
		.port = s->ups.port,
		.key = ut,
		.tls = ut != NULL ? ut->ctx : NULL,
		.params = &s->pl->params,
		.lim = &cl->h2,
		.max_streams = cl->h2.max_concurrent_streams,
		.connect_timeout_us = s->pl->connect_timeout_us,
		.idle_us = s->pool_idle_us,
		.fallback_h1 = cl->protocol == PROXY_UP_AUTO,
	};
	struct hp_upconn *u = hp_upconn_get(hw);
	bool connected = false, reused = false;

	if (u == NULL || (u->h2s = hp2u_open(hw->h2u, &t, u, &connected, &reused)) == NULL) {
		if (u != NULL)
			hp_upconn_put(u);
		stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_CX_CONNECT_FAIL);
		hp_try_failed(s, HP_FAIL_CONNECT, 0);
		return;
	}
	u->s = s;
	u->addr = s->ups.addr;
	u->port = s->ups.port;
	u->requests = 1;
	s->up = u;
	if (reused)
		stats_inc(hp_stats(hw), STAT_HTTP_POOL_REUSED);
	if (connected) {
		u->connected = true;
		hp_up_set_timer(u, s->retry.per_try_timeout_ms * 1000ull);
		hp_process(s);
		return;
	}
	(void)hp_try_pending(s);
}

/* Start a try: re-resolve the cluster, pick and admit an endpoint, take or open a connection. */
static void hp_try_start(struct hp_session *s)
{
	struct hp_worker *hw = s->hw;
	struct proxy_worker *pw = hw->pw;
	const struct cfg_snapshot *snap = pw->snap;
	const struct proxy_cluster *cl;
	uint16_t cport = s->client_port, target_port;
	struct l4_pick_opts pick;
	struct hp_up_tls *ut;
	enum stats_id why;
	uint32_t service;
	uint8_t port_idx;

	s->attempt++;
	s->state = HP_UPSTREAM;
	if (router_cluster_resolve(snap, s->cluster_key, s->cluster_port, &service, &port_idx,
				   &target_port) != 0) {
		stats_inc(hp_stats(hw), STAT_HTTP_NO_HEALTHY_UPSTREAM);
		hp_local_error(s, 503, HP_RF_UH, "no healthy upstream");
		return;
	}
	/* another host for a retry: the balancer's hash sees another client port (or
	 * another request hash) */
	pick = s->pick;
	pick.rand = (uint64_t)hp_rand(hw) << 32 | hp_rand(hw);
	if (s->attempt > 1 && s->retry.previous_hosts) {
		cport = (uint16_t)(cport ^ rte_cpu_to_be_16((uint16_t)(s->attempt * 40503u)));
		pick.hash += s->attempt * 0x9e3779b1u;
	}
	why = l4_upstream_open(pw->lw, snap, service, port_idx, target_port, s->client, cport,
			       s->local, s->local_port, &pick, pw->now_tsc, &s->ups);
	if (why == STAT_DROP_L4_POLICY_DENIED) {
		stats_inc(hp_stats(hw), STAT_HTTP_POLICY_DENIED);
		hp_local_error(s, 403, 0, "RBAC: access denied");
		return;
	}
	if (why == STAT_DROP_L4_BREAKER_OPEN) {
		stats_inc(hp_stats(hw), STAT_HTTP_RQ_OVERFLOW);
		hp_local_error(s, 503, HP_RF_UO, "upstream overflow");
		return;
	}
	if (why != NET_CHECK_OK || s->ups.source == 0) {
		l4_upstream_close(&s->ups);
		stats_inc(hp_stats(hw), STAT_HTTP_NO_HEALTHY_UPSTREAM);
		hp_local_error(s, 503, HP_RF_UH, "no healthy upstream");
		return;
	}
	if (s->egress_ext >= 0 && snap->generation != s->egress_gen) { /* swapped since */
		int e = l4_external_find(snap, s->egress_name);

		s->egress_ext = e >= 0 ? e : -2; /* gone: no endpoint is its address any more */
		s->egress_gen = snap->generation;
	}
	if (s->egress_ext != -1 &&
	    (s->egress_ext < 0 ||
	     !l4_external_has_addr(snap, (uint32_t)s->egress_ext, 4, &s->ups.addr))) {
		/* an egress gateway reaches only the addresses the Host's service declares */
		l4_upstream_close(&s->ups);
		stats_inc(hp_stats(hw), STAT_HTTP_EGRESS_UNDECLARED_ENDPOINT);
		hp_local_error(s, 502, HP_RF_NR,
			       "egress: the cluster's endpoint is not an address of the "
			       "external service that declares this host");
		return;
	}
	if (s->held != NULL) {
		rte_pktmbuf_free(s->out);
		s->out = rte_pktmbuf_copy(s->held, hw->pool, 0, UINT32_MAX);
		if (s->out == NULL) {
			stats_inc(hp_stats(hw), STAT_HTTP_ALLOC_FAILED);
			hp_try_result(s, false);
			hp_local_error(s, 503, 0, "out of buffers");
			return;
		}
	}
	http_parser_init(&s->resp, HTTP_RESPONSE, NULL, s->resp_scratch, sizeof(s->resp_scratch),
			 hp_stats(hw));
	http_parser_set_request(&s->resp, s->method);
	s->resp_started = s->resp_close = s->dechunk = false;
	s->tm_upstream = s->ups.addr;
	s->tm_upstream_port = rte_be_to_cpu_16(s->ups.port);
	s->tm.dst = telem_wl_label(snap, l4_workload_of(snap, 4, &s->ups.addr));
	telem_http_try(&s->tm, hp_now(hw));
	stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_RQ);
	/* the cluster's tls block as this snapshot built it: a TLS and a plain
	 * connection (or two builds) to one endpoint are never each other's */
	ut = ((const struct proxy_snap_rt *)snap->proxy_rt)->up_tls[service];
	cl = &((const struct proxy_l7_cfg *)snap->proxy_l7)->by_service[service];
	if (proxy_cluster_h2(cl) &&
	    !(cl->protocol == PROXY_UP_AUTO && hp_h1_memo_has(hw, s->ups.addr, s->ups.port, ut))) {
		hp_try_h2(s, service, ut);
		return;
	}
	hp_try_h1(s, ut);
}

/* ---- the response ---- */

/* The response is whole at the client: the connection goes back to the pool or closes. */
static void hp_response_done(struct hp_session *s)
{
	struct hp_upconn *u = s->up;
	bool reuse = u->h2s == NULL && !s->resp_close && s->req_body_done && s->urx == NULL &&
		     (s->resp.msg.flags & HTTP_F_KEEP_ALIVE) && !proxy_end_eof(&u->end);

	s->up = NULL;
	if (u->h2s != NULL) { /* the stream is done; its connection stays (http2_upstream.c) */
		hp_upconn_close(u);
		hp_request_done(s);
		return;
	}
	if (reuse && !hp_up_tls_current(u)) { /* rotated: closes at this request boundary */
		stats_inc(hp_stats(s->hw), STAT_HTTP_POOL_TLS_DRAIN_CLOSED);
		reuse = false;
	}
	if (reuse)
		hp_pool_put(s, u);
	else
		hp_upconn_close(u);
	hp_request_done(s);
}

/* Write the final response head, edited, to the client. @return 0 or -ENOMEM. */
static int hp_send_response_head(struct hp_session *s, bool tunnel)
{
	struct hp_worker *hw = s->hw;
	const struct http_msg *msg = &s->resp.msg;
	struct http_header add[HP_RESP_EDITS + 1];
	struct http_view rm[HP_RESP_EDITS + 1];
	struct http_edit ed = {0};
	uint32_t n = s->n_resp_add, nrm = s->n_resp_remove;
	int rc;

	s->resp_close = msg->framing == HTTP_BODY_CLOSE;
	memcpy(rm, s->resp_remove, nrm * sizeof(rm[0]));
	/* HTTP/1.0 has no chunked coding (RFC 9112 7.1): the data alone, delimited by the
	 * close; HTTP/2 frames the data itself (http2_proxy.c decodes the chunks it is
	 * sent, and their trailer section becomes HTTP/2 trailers) */
	s->dechunk = s->http10 && msg->framing == HTTP_BODY_CHUNKED;
	if (s->dechunk) { /* the upstream connection may still be reused */
		rm[nrm++] = (struct http_view){"transfer-encoding", 17};
		s->close_after = true;
	}
	if (s->resp_close)
		s->close_after = true;
	if (!tunnel)
		hp_drain_check(s);
	memcpy(add, s->resp_add, n * sizeof(add[0]));
	if (tunnel)
		add[n++] = (struct http_header){{"connection", 10}, {"upgrade", 7}};
	else if (s->close_after)
		add[n++] = (struct http_header){{"connection", 10}, {"close", 5}};
	else if (s->http10) /* a 1.0 client takes the connection as closing without it */
		add[n++] = (struct http_header){{"connection", 10}, {"keep-alive", 10}};
	ed.remove = rm;
	ed.nremove = nrm;
	ed.add = add;
	ed.nadd = n;
	ed.drop_hop_by_hop = true;
	ed.keep_upgrade = tunnel;
	if ((rc = s->dn->head(s->dd, msg, &ed)) < 0)
		return rc;
	s->tm_status = msg->status;
	s->tm_resp_bytes += (uint64_t)rc;
	hp_count_response(hw, msg->status, false);
	return 0;
}

/* HTTP/1.1: the response head, serialized, on the session's connection. */
static int hp1_head(void *d, const struct http_msg *msg, const struct http_edit *ed)
{
	struct hp_session *s = d;
	struct rte_mbuf *m;
	int rc;

	if ((rc = http_write_head(msg, ed, s->hw->pool, &m)) != 0)
		return rc;
	rc = (int)m->pkt_len;
	proxy_end_send(&s->down, m);
	return rc;
}

/* Bytes both ways after a 101 (or a 2xx to CONNECT), as tcp_proxy splices them. */
static void hp_tunnel_pump(struct hp_session *s)
{
	if (proxy_end_open(&s->down) && s->up != NULL) {
		struct proxy_end *up = &s->up->end;

		if (proxy_end_move(&s->down, up, &s->down_fin_passed) > 0)
			s->last_us = hp_now(s->hw);
		if (proxy_end_move(up, &s->down, &s->up->fin_passed) > 0)
			s->last_us = hp_now(s->hw);
	}
}

/* Enter the tunnel: what came with the heads goes first. */
static void hp_tunnel_start(struct hp_session *s)
{
	stats_inc(hp_stats(s->hw), STAT_HTTP_UPGRADES);
	s->state = HP_TUNNEL;
	proxy_end_set_timer(&s->up->end, 0);
	if (s->urx != NULL) {
		proxy_end_send(&s->down, s->urx);
		s->urx = NULL;
	}
	if (s->rx != NULL) {
		proxy_end_send(&s->up->end, s->rx);
		s->rx = NULL;
	}
	hp_try_result(s, false);
	hp_tunnel_pump(s);
}

/* A gRPC status in the response head (a trailers-only response) goes into the metrics. */
static void hp_grpc_status(struct hp_session *s, const struct http_msg *msg)
{
	int i = http_msg_find(msg, "grpc-status", 11, 0);
	const struct http_view *v;
	unsigned int code = 0;

	if (i < 0)
		return;
	v = &msg->headers[i].value;
	for (uint32_t k = 0; k < v->len && k < 3 && v->p[k] >= '0' && v->p[k] <= '9'; k++)
		code = code * 10 + (unsigned int)(v->p[k] - '0');
	if (v->len > 0 && v->len <= 3 && code < 255)
		s->tm.grpc = (uint8_t)(code + 1);
}

/*
 * A response head arrived (r == 1 from the parser): 1xx passes through,
 * a retriable status may start the next try, a final one goes to the client.
 * @return true when the caller may go on with the body.
 */
static bool hp_response_head(struct hp_session *s)
{
	struct hp_worker *hw = s->hw;
	const struct http_msg *msg = &s->resp.msg;
	unsigned int status = msg->status;
	struct rte_mbuf *head;
	int err;

	if (status < 200 && msg->framing != HTTP_BODY_TUNNEL) {
		/* 100 Continue and friends: to the client as they came, then the next head */
		head = hp_chain_take(hw, &s->urx, msg->head_len, &err);
		if (head == NULL) {
			hp_try_failed(s, HP_FAIL_PROTO, 0);
			return false;
		}
		if (s->http10) { /* never a 1xx to an HTTP/1.0 client (RFC 9110 15.2) */
			rte_pktmbuf_free(head);
		} else if (s->dn->framed) { /* HTTP/2: a HEADERS of its own (the
					       * head's fields point into head) */
			if (s->dn->informational != NULL) {
				s->dn->informational(s->dd, msg);
				hp_count_response(hw, status, false);
			}
			rte_pktmbuf_free(head);
		} else {
			s->tm_resp_bytes += head->pkt_len;
			proxy_end_send(&s->down, head);
			hp_count_response(hw, status, false);
		}
		http_parser_init(&s->resp, HTTP_RESPONSE, NULL, s->resp_scratch,
				 sizeof(s->resp_scratch), hp_stats(hw));
		http_parser_set_request(&s->resp, s->method);
		return true;
	}
	if (hp_can_retry(s, HP_FAIL_STATUS, status)) {
		hp_try_failed(s, HP_FAIL_STATUS, status);
		return false;
	}
	if (s->grpc && msg->framing != HTTP_BODY_CHUNKED && proxy_grpc_status(msg) > 0 &&
	    hp_can_retry(s, HP_FAIL_GRPC, (unsigned int)proxy_grpc_status(msg))) {
		/* a trailers-only gRPC response whose grpc-status the policy retries */
		stats_inc(hp_stats(hw), STAT_HTTP_GRPC_RETRIABLE_STATUS);
		hp_try_failed(s, HP_FAIL_GRPC, (unsigned int)proxy_grpc_status(msg));
		return false;
	}
	if (msg->framing == HTTP_BODY_TUNNEL && s->dn->framed) {
		/* no tunnel on an HTTP/2 stream (the request asked for none) */
		stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_BAD_RESPONSE);
		hp_try_failed(s, HP_FAIL_PROTO, 0);
		return false;
	}
	if (s->attempt > 1 && router_retry_status(&s->retry, status))
		s->flags |= HP_RF_URX; /* the last try's answer goes to the client */
	hp_try_result(s, hp_outlier_failure(s, HP_FAIL_STATUS, status));
	hp_try_unpend(s);
	hp_up_set_timer(s->up, 0);
	hp_grpc_status(s, msg);
	rte_pktmbuf_free(s->held); /* the response starts: no more tries */
	s->held = NULL;
	if (hp_send_response_head(s, msg->framing == HTTP_BODY_TUNNEL) != 0) {
		stats_inc(hp_stats(hw), STAT_HTTP_ALLOC_FAILED);
		hp_try_failed(s, HP_FAIL_PROTO, 0);
		return false;
	}
	s->resp_started = true;
	head = hp_chain_take(hw, &s->urx, msg->head_len, &err);
	rte_pktmbuf_free(head);
	if (err != 0) {
		hp_session_end(s);
		return false;
	}
	if (msg->framing == HTTP_BODY_TUNNEL) {
		hp_tunnel_start(s);
		return false;
	}
	return true;
}

/*
 * The chunk data of the @p o->raw bytes at the front of *@p chain (@p slices:
 * where they are), copied into a chain of their own; the bytes are dropped
 * from *@p chain. @return it (NULL when no data: *@p err 0, or out of mbufs).
 */
static struct rte_mbuf *hp_dechunk(struct hp_worker *hw, struct rte_mbuf **chain,
				   const struct http_body_out *o, const struct http_slice *slices,
				   int *err)
{
	struct rte_mbuf *out = NULL, *raw;

	*err = http_slices_copy(slices, o->nslices, hw->pool, &out);
	if (*err == 0) {
		raw = hp_chain_take(hw, chain, (uint32_t)o->raw, err);
		rte_pktmbuf_free(raw);
	}
	if (*err != 0) {
		rte_pktmbuf_free(out);
		return NULL;
	}
	return out;
}

/*
 * The endpoint's side of a try: read the response (as fast as the client's
 * send buffer drains once the body flows), parse, forward.
 */
static void hp_pump_response(struct hp_session *s)
{
	struct hp_worker *hw = s->hw;
	struct hp_upconn *u = s->up;
	struct http_slice slices[32];
	struct http_body_out o;
	struct rte_mbuf *m;
	int r, err;

	for (;;) {
		uint32_t space = s->resp_started ? s->dn->space(s->dd) : HP_RX_MAX;
		uint32_t have = s->urx != NULL ? s->urx->pkt_len : 0;

		if (space > have && (m = hp_up_recv(u, space - have)) != NULL) {
			hp_chain_append(&s->urx, m);
			s->last_us = hp_now(hw);
		}
		if (!s->resp_started) {
			if (s->urx == NULL) {
				if (hp_up_eof(u)) /* closed before a byte of response */
					goto eof;
				return;
			}
			r = http_parse_head(&s->resp, s->urx, 0);
			if (r < 0) {
				stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_BAD_RESPONSE);
				hp_try_failed(s, HP_FAIL_PROTO, 0);
				return;
			}
			if (r == 0) {
				if (hp_up_eof(u))
					goto eof;
				return;
			}
			if (!hp_response_head(s))
				return;
			u = s->up;
			continue;
		}
		if (s->urx == NULL) {
			if (hp_up_eof(u))
				goto eof;
			return;
		}
		r = http_parse_body(&s->resp, s->urx, 0, &o, s->dechunk ? slices : NULL,
				    s->dechunk ? RTE_DIM(slices) : 0);
		if (r < 0) {
			stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_BAD_RESPONSE);
			hp_session_end(s); /* part of the response went: reset both */
			return;
		}
		m = s->dechunk ? hp_dechunk(hw, &s->urx, &o, slices, &err)
			       : hp_chain_take(hw, &s->urx, (uint32_t)o.raw, &err);
		if (err != 0) {
			stats_inc(hp_stats(hw), STAT_HTTP_ALLOC_FAILED);
			hp_session_end(s);
			return;
		}
		if (m != NULL) {
			s->tm_resp_bytes += m->pkt_len;
			s->dn->send(s->dd, m);
		}
		if (r == 1) {
			if (s->urx !=
			    NULL) { /* bytes after the response: not a connection to reuse */
				rte_pktmbuf_free(s->urx);
				s->urx = NULL;
				s->resp_close = true;
			}
			hp_response_done(s);
			return;
		}
		if (s->dn->space(s->dd) == 0)
			return; /* the client's writable callback goes on */
	}
eof:
	if (!s->resp_started) {
		stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_RESET_BEFORE_RESPONSE);
		hp_try_failed(s, HP_FAIL_RESET, 0);
		return;
	}
	if (http_parse_eof(&s->resp) == 1) {
		s->resp_close = true;
		hp_response_done(s);
		return;
	}
	stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_BAD_RESPONSE);
	hp_session_end(s); /* the response was cut short: the client learns it by RST */
}

/* Read what the client sent, up to HP_RX_MAX ahead. */
static void hp_read_down(struct hp_session *s)
{
	uint32_t have = s->rx != NULL ? s->rx->pkt_len : 0;
	struct rte_mbuf *m;

	if (have < HP_RX_MAX && (m = s->dn->recv(s->dd, HP_RX_MAX - have)) != NULL) {
		hp_chain_append(&s->rx, m);
		s->last_us = hp_now(s->hw);
	}
}

/* The client's side of a try: head (and body so far) first, then the body as it comes. */
static void hp_pump_request(struct hp_session *s)
{
	struct hp_worker *hw = s->hw;
	struct hp_upconn *c = s->up;
	struct http_body_out o;
	struct rte_mbuf *m;
	int r, err;

	if (s->out != NULL) {
		hp_up_send(c, s->out);
		s->out = NULL;
	}
	for (;;) {
		/* read again each round: a drained rx may be all that held the client back */
		hp_read_down(s);
		if (s->req_body_done || s->rx == NULL || hp_up_space(c) == 0)
			break;
		r = http_parse_body(&s->req, s->rx, 0, &o, NULL, 0);
		if (r < 0) {
			stats_inc(hp_stats(hw), STAT_HTTP_BAD_REQUESTS);
			if (!s->resp_started) {
				s->close_after = true;
				if (s->up != NULL) {
					hp_upconn_abort(s->up);
					s->up = NULL;
				}
				hp_local_reply(s, (unsigned int)http_error_status(r),
					       "bad request\n", 12, NULL, 0, true);
			} else {
				hp_session_end(s);
			}
			return;
		}
		m = hp_chain_take(hw, &s->rx, (uint32_t)o.raw, &err);
		if (err != 0) {
			stats_inc(hp_stats(hw), STAT_HTTP_ALLOC_FAILED);
			hp_session_end(s);
			return;
		}
		if (m != NULL) {
			s->tm_req_bytes += m->pkt_len;
			hp_up_send(c, m);
		}
		if (r == 1) {
			s->req_body_done = true;
			break;
		}
		if (o.raw == 0)
			break;
	}
}

/* ---- the request head: route, edits, body ---- */

/* Copy a route's (or virtual host's) response edits into the session. */
static void hp_copy_resp_edits(struct hp_session *s, const struct router_headers *h)
{
	for (uint32_t i = 0; i < h->n_remove && s->n_resp_remove < HP_RESP_EDITS; i++) {
		const char *p = hp_arena_put(s, h->remove[i].p, h->remove[i].len);

		if (p == NULL) {
			stats_inc(hp_stats(s->hw), STAT_HTTP_EDITS_DROPPED);
			continue;
		}
		s->resp_remove[s->n_resp_remove++] = (struct http_view){p, h->remove[i].len};
	}
	for (uint32_t i = 0; i < h->n_add && s->n_resp_add < HP_RESP_EDITS; i++) {
		const struct router_header_add *a = &h->add[i];
		const char *n = hp_arena_put(s, a->name.p, a->name.len);
		const char *v = n != NULL ? hp_arena_put(s, a->value.p, a->value.len) : NULL;

		if (v == NULL || (!a->append && s->n_resp_remove >= HP_RESP_EDITS)) {
			stats_inc(hp_stats(s->hw), STAT_HTTP_EDITS_DROPPED);
			continue;
		}
		if (!a->append)
			s->resp_remove[s->n_resp_remove++] = (struct http_view){n, a->name.len};
		s->resp_add[s->n_resp_add++] =
			(struct http_header){{n, a->name.len}, {v, a->value.len}};
	}
}

/* The request edits of one router_headers into @p ed's arrays (sized HP_REQ_EDITS). */
static void hp_req_edits(const struct router_headers *h, struct http_view *rm,
			 struct http_header *add, struct http_edit *ed)
{
	for (uint32_t i = 0; i < h->n_remove && ed->nremove < HP_REQ_EDITS; i++)
		rm[ed->nremove++] = (struct http_view){h->remove[i].p, h->remove[i].len};
	for (uint32_t i = 0; i < h->n_add && ed->nadd < HP_REQ_EDITS; i++) {
		const struct router_header_add *a = &h->add[i];

		if (!a->append && ed->nremove < HP_REQ_EDITS)
			rm[ed->nremove++] = (struct http_view){a->name.p, a->name.len};
		add[ed->nadd++] =
			(struct http_header){{a->name.p, a->name.len}, {a->value.p, a->value.len}};
	}
}

/*
 * A version 4 UUID (RFC 9562 5.4) in its 36-character text form at @p out
 * (not NUL-terminated): 122 random bits, version 4, variant 10. By hand, not
 * snprintf: it is on every request.
 */
static void hp_request_id(char *out)
{
	static const char hex[16] = "0123456789abcdef";
	uint64_t v[2] = {rte_rand(), rte_rand()};
	unsigned int o = 0;

	v[0] = (v[0] & ~0xf000ull) | 0x4000ull;	      /* version: the 13th digit */
	v[1] = (v[1] & ~(3ull << 62)) | (2ull << 62); /* variant: the 17th digit's top bits */
	for (unsigned int w = 0; w < 2; w++)
		for (int i = 60; i >= 0; i -= 4) {
			if (o == 8 || o == 13 || o == 18 || o == 23)
				out[o++] = '-';
			out[o++] = hex[(v[w] >> i) & 0xf];
		}
}

/*
 * Write the request head for the cluster: the route's rewrites and edits,
 * x-forwarded-for, x-request-id, no hop-by-hop fields, HTTP/1.1 (the pool
 * keeps connections alive). @return 0 and *@p out, or a negative errno.
 */
static int hp_write_request(struct hp_session *s, const struct router_route *r,
			    const struct jwt_outcome *jo, struct rte_mbuf **out)
{
	const struct http_msg *msg = &s->req.msg;
	const struct proxy_http_opts *h = &s->pl->http;
	struct http_view rm[HP_REQ_EDITS + 3 + TELEM_TRACE_NAMES + JWT_MAX_REMOVE];
	struct http_header
		add[HP_REQ_EDITS + 4 + RTE_DIM(((struct telem_trace_out *)0)->name) + JWT_MAX_OUT];
	struct telem_trace_out tr;
	struct http_edit ed = {.remove = rm, .add = add};
	char path[ROUTER_STR_MAX * 2 + 2], xff[HP_XFF_MAX], rid[HP_REQUEST_ID_LEN + 1];
	char xfcc[TLS_ID_MAX + 4], host[INET_ADDRSTRLEN + 8], query[ROUTER_STR_MAX * 2];
	struct router_str q = {msg->query.p, msg->query.len};
	int n;

	hp_req_edits(&r->request_headers, rm, add, &ed);
	hp_req_edits(&r->vhost->request_headers, rm, add, &ed);
	/* request authentication (dataplane/jwt): the token and forged claim headers go */
	for (uint32_t i = 0; i < jo->n_remove; i++)
		rm[ed.nremove++] = jo->remove[i];
	if (jo->token_header.p != NULL)
		rm[ed.nremove++] = jo->token_header;
	for (uint32_t i = 0; i < jo->n_add; i++)
		add[ed.nadd++] = jo->add[i];
	n = router_rewrite_path(r, (struct router_str){msg->path.p, msg->path.len}, path,
				ROUTER_STR_MAX * 2);
	if (n < 0)
		return n;
	if (jo->strip_param.p != NULL) {
		int ql = jwt_strip_param(q, jo->strip_param, query, sizeof(query));

		if (ql < 0 || (n == 0 && msg->path.len > ROUTER_STR_MAX * 2))
			return -E2BIG;
		q = (struct router_str){query, (uint32_t)ql};
		if (n == 0) {
			memcpy(path, msg->path.p, msg->path.len);
			n = (int)msg->path.len;
		}
	}
	if (n > 0) {
		if (q.len > 0 && (size_t)n + 1 + q.len < sizeof(path)) {
			path[n++] = '?';
			memcpy(path + n, q.p, q.len);
			n += (int)q.len;
		}
		ed.path = (struct http_view){path, (uint32_t)n};
	}
	if (r->host_rewrite.len > 0) {
		ed.authority = (struct http_view){r->host_rewrite.p, r->host_rewrite.len};
	} else if (msg->authority.len == 0) {
		/* HTTP/1.0 without Host: HTTP/1.1 needs one; the address the client reached */
		char local[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &s->local, local, sizeof(local));
		n = snprintf(host, sizeof(host), "%s:%u", local, rte_be_to_cpu_16(s->local_port));
		ed.authority = (struct http_view){host, (uint32_t)n};
	}
	if (h->xff != PROXY_XFF_NONE) {
		uint32_t len = 0;

		for (int i = http_msg_find(msg, "x-forwarded-for", 15, 0);
		     h->xff == PROXY_XFF_APPEND && i >= 0;
		     i = http_msg_find(msg, "x-forwarded-for", 15, (uint32_t)i + 1)) {
			const struct http_view *v = &msg->headers[i].value;

			if (len + v->len + 2 + s->client_txt_len >= sizeof(xff))
				break; /* too long to keep: the client's own address at least */
			memcpy(xff + len, v->p, v->len);
			len += v->len;
			xff[len++] = ',';
			xff[len++] = ' ';
		}
		memcpy(xff + len, s->client_txt, s->client_txt_len);
		len += s->client_txt_len;
		rm[ed.nremove++] = (struct http_view){"x-forwarded-for", 15};
		add[ed.nadd++] = (struct http_header){{"x-forwarded-for", 15}, {xff, len}};
	}
	if (s->pl->tls != NULL) {
		/* Envoy's SANITIZE_SET: never the client's own, the verified peer's URI */
		rm[ed.nremove++] = (struct http_view){"x-forwarded-client-cert", 23};
		if (s->peer_id[0] != '\0') {
			n = snprintf(xfcc, sizeof(xfcc), "URI=%s", s->peer_id);
			add[ed.nadd++] = (struct http_header){{"x-forwarded-client-cert", 23},
							      {xfcc, (uint32_t)n}};
		}
	}
	if (h->request_id && http_msg_find(msg, "x-request-id", 12, 0) < 0) {
		hp_request_id(rid);
		add[ed.nadd++] =
			(struct http_header){{"x-request-id", 12}, {rid, HP_REQUEST_ID_LEN}};
		telem_http_request_id(&s->tm, rid, HP_REQUEST_ID_LEN);
	}
	if (s->tm.trace.active) {
		/* the proxy's span is the upstream's parent */
		unsigned int k = telem_trace_headers(&s->tm.trace, &tr);

		for (unsigned int i = 0; i < TELEM_TRACE_NAMES; i++)
			rm[ed.nremove++] = (struct http_view){
				telem_trace_names[i], (uint32_t)strlen(telem_trace_names[i])};
		for (unsigned int i = 0; i < k; i++)
			add[ed.nadd++] = (struct http_header){
				{tr.name[i], (uint32_t)strlen(tr.name[i])}, {tr.val[i], tr.len[i]}};
	}
	if (msg->flags & HTTP_F_UPGRADE) {
		ed.keep_upgrade = true;
		add[ed.nadd++] = (struct http_header){{"connection", 10}, {"upgrade", 7}};
	}
	ed.drop_hop_by_hop = true;
	ed.version = 11;
	return http_write_head(msg, &ed, s->hw->pool, out);
}

/*
 * The route sends the request to cluster @p rc (s->pick set by hp_route()): copy
 * what the tries need, write the head, take the body.
 */
static void hp_to_cluster(struct hp_session *s, const struct router_route *r,
			  const struct router_cluster *rc, struct rte_mbuf *head)
{
	struct hp_worker *hw = s->hw;
	const struct cfg_snapshot *snap = hw->pw->snap;
	const struct proxy_snap_rt *rt = snap->proxy_rt;
	const struct proxy_l7_cfg *l7 = snap->proxy_l7;
	const struct proxy_cluster *cl;
	struct rte_mbuf *body = NULL;
	struct http_body_out o;
	uint64_t now = hp_now(hw);
	int rb = 1, err;

	cl = &l7->by_service[rc->service];
	s->tm.svc = telem_svc_label(snap, (int32_t)rc->service);
	{
		const size_t n = strnlen(rc->key, sizeof(s->cluster_key) - 1);

		memcpy(s->cluster_key, rc->key, n);
		s->cluster_key[n] = '\0';
	}
	s->cluster_port = rc->port;
	s->crt = rt->clusters[rc->service];
	s->outlier = cl->outlier;
	s->pool_max_idle = cl->max_idle_per_endpoint;
	s->pool_max_requests = cl->max_requests_per_connection;
	s->pool_idle_us = (uint64_t)cl->idle_timeout_s * 1000000;
	s->max_retries = cl->max_retries;
	s->max_pending = cl->max_pending_requests;
	s->retry = r->retry;
	s->budget = r->vhost->config->retry_budget;
	s->deadline_us = r->timeout_ms != 0 ? now + (uint64_t)r->timeout_ms * 1000 : 0;
	/* the client's gRPC deadline, when it is the nearer (the smaller wins) */
	if (s->grpc_timeout_ms != 0 && (s->deadline_us == 0 || s->grpc_timeout_ms < r->timeout_ms))
		s->deadline_us = now + s->grpc_timeout_ms * 1000;
	hp_copy_resp_edits(s, &r->response_headers);
	hp_copy_resp_edits(s, &r->vhost->response_headers);
	if (hp_atomic_inc(&s->crt->rq_active) > cl->max_requests && cl->max_requests != 0) {
		rte_pktmbuf_free(head);
		stats_inc(hp_stats(hw), STAT_HTTP_RQ_OVERFLOW);
		hp_local_error(s, 503, HP_RF_UO, "upstream overflow");
		return;
	}
	/* the body that came with the head: whole and small, it is kept for retries */
	if (!s->req_body_done) {
		rb = http_parse_body(&s->req, s->rx, 0, &o, NULL, 0);
		if (rb < 0) {
			rte_pktmbuf_free(head);
			stats_inc(hp_stats(hw), STAT_HTTP_BAD_REQUESTS);
			hp_local_reply(s, (unsigned int)http_error_status(rb), "bad request\n", 12,
				       NULL, 0, true);
			return;
		}
		body = hp_chain_take(hw, &s->rx, (uint32_t)o.raw, &err);
		if (err != 0) {
			rte_pktmbuf_free(head);
			stats_inc(hp_stats(hw), STAT_HTTP_ALLOC_FAILED);
			hp_local_error(s, 503, 0, "out of buffers");
			return;
		}
		s->req_body_done = rb == 1;
	}
	if (body != NULL) {
		s->tm_req_bytes += body->pkt_len;
		hp_chain_append(&head, body);
	}
	if (rb == 1 && s->retry.num_retries > 0 && head->pkt_len <= HP_RETRY_BODY + 65536)
		s->held = head;
	else
		s->out = head;
	if (router_fault_hit(r->fault.abort_ppm, hp_rand(hw))) {
		stats_inc(hp_stats(hw), STAT_HTTP_FAULT_ABORTS);
		hp_local_error(s, r->fault.abort_status, HP_RF_FI, "fault filter abort");
		return;
	}
	if (router_fault_hit(r->fault.delay_ppm, hp_rand(hw))) {
		stats_inc(hp_stats(hw), STAT_HTTP_FAULT_DELAYS);
		s->flags |= HP_RF_DI;
		s->state = HP_WAIT;
		s->wake_us = now + (uint64_t)r->fault.delay_ms * 1000;
		return;
	}
	hp_try_start(s);
}

/*
 * Egress listeners (outbound_policy registry_only, Istio's REGISTRY_ONLY): the
 * external service that declares the request's host and port (the
 * authority's, else the scheme's default), in s->egress_ext. @return 0, or -1
 * after writing the refusal's body into @p why (@p len bytes) and counting it.
 */
static int hp_egress_check(struct hp_session *s, struct router_str authority, char *why, size_t len)
{
	struct router_str host = router_host_strip_port(authority);
	uint32_t port = s->pl->tls != NULL ? 443 : 80;
	int e;

	if (host.len < authority.len) {
		port = 0;
		for (uint32_t i = host.len + 1; i < authority.len && port <= 65535; i++)
			port = port * 10 + (uint32_t)(authority.p[i] - '0');
		if (host.len + 1 == authority.len || port > 65535)
			port = 0; /* no external service declares port 0 */
	}
	e = l4_external_by_host(s->hw->pw->snap, host.p, host.len, (uint16_t)port);
	if (e >= 0) {
		s->egress_ext = e;
		s->egress_gen = s->hw->pw->snap->generation;
		snprintf(s->egress_name, sizeof(s->egress_name), "%s",
			 s->hw->pw->snap->externals[e].name);
		return 0;
	}
	if (e == L4_EXT_PORT_UNKNOWN) {
		stats_inc(hp_stats(s->hw), STAT_HTTP_EGRESS_UNDECLARED_PORT);
		snprintf(why, len,
			 "egress: port %u of host \"%.*s\" is not declared by any external "
			 "service\n",
			 port, (int)RTE_MIN(host.len, 200u), host.p);
	} else {
		stats_inc(hp_stats(s->hw), STAT_HTTP_EGRESS_UNDECLARED_HOST);
		snprintf(why, len,
			 "egress: host \"%.*s\" is not declared by any external service\n",
			 (int)RTE_MIN(host.len, 200u), host.p);
	}
	return -1;
}

_Static_assert(sizeof(struct telem_str) == sizeof(struct http_view) &&
		       offsetof(struct telem_str, len) == offsetof(struct http_view, len) &&
		       sizeof(struct http_header) == 2 * sizeof(struct telem_str) &&
		       offsetof(struct http_header, value) == sizeof(struct telem_str),
	       "a header is a (name, value) pair of telem_str");

/*
 * The request's metrics and log record start: its head (@p msg NULL: one the
 * codec refused, logged with what is known) and the client's labels.
 */
static void hp_telem_begin(struct hp_session *s, const struct http_msg *msg)
{
	struct hp_worker *hw = s->hw;
	const struct cfg_snapshot *snap = hw->pw->snap;
	struct telem_head h = {.method = {"-", 1}, .path = {"-", 1}, .version_minor = 1};
	int rid;

	if (hw->pw->telem == NULL)
		return;
	if (msg != NULL) {
		rid = http_msg_find(msg, "x-request-id", 12, 0);
		h = (struct telem_head){
			.method = {msg->method_name.p, msg->method_name.len},
			.path = {msg->path.p, msg->path.len},
			.query = {msg->query.p, msg->query.len},
			.authority = {msg->authority.p, msg->authority.len},
			.version_minor = (uint8_t)(msg->version % 10),
			/* the same layout (the assertions above): no copy per request */
			.headers = (const struct telem_str(*)[2])msg->headers,
			.n_headers = msg->nheaders,
		};
		if (rid >= 0)
			h.request_id = (struct telem_str){msg->headers[rid].value.p,
							  msg->headers[rid].value.len};
		s->tm_req_bytes = msg->head_len;
	}
	telem_http_begin(hw->pw->telem, snap, &s->tm, &h, s->client,
			 rte_be_to_cpu_16(s->client_port),
			 telem_peer_label(snap, l4_workload_of(snap, 4, &s->client), s->peer_id),
			 s->peer_id[0] != '\0' ? TELEM_SEC_DOWN_MTLS : 0, hp_now(hw));
}

/*
 * Where a security event of this exchange happened: the client, the listener,
 * @p service (-1: none), the head @p msg (NULL: one the codec refused) and
 * its trace.
 */
static void hp_sev_ctx(const struct hp_session *s, const struct http_msg *msg, int32_t service,
		       struct telem_sev_ctx *c)
{
	*c = (struct telem_sev_ctx){
		.client = s->client,
		.client_port = rte_be_to_cpu_16(s->client_port),
		.listener = s->pl->name,
		.service = service,
		.method = {"-", 1},
		.trace_id = s->tm.active && s->tm.trace.active ? s->tm.trace.trace_id : NULL,
	};
	if (msg != NULL) {
		c->method = (struct telem_str){msg->method_name.p, msg->method_name.len};
		c->path = (struct telem_str){msg->path.p, msg->path.len};
		c->query = (struct telem_str){msg->query.p, msg->query.len};
	}
}

/* A security event of @p kind about this exchange (telemetry.h, telem_sev_emit()). */
static void hp_sev(const struct hp_session *s, const struct http_msg *msg, enum telem_sev_kind kind,
		   int32_t service, const char *detail)
{
	struct telem_sev_ctx c;

	hp_sev_ctx(s, msg, service, &c);
	telem_sev_emit(s->hw->pw->telem, s->hw->pw->snap, kind, &c, detail, hp_now(s->hw));
}

/*
 * Request inspection (dataplane/inspect) of the head in s->req.msg, routed to
 * @p r (NULL: none) and @p rcl's service: findings are security events.
 * @return true when the request is refused (block mode).
 */
static bool hp_inspect(struct hp_session *s, const struct router_request *rq,
		       const struct router_route *r, const struct router_cluster *rcl)
{
	const struct http_msg *msg = &s->req.msg;
	const struct inspect_request ir = {
		.path = {rq->path.p, rq->path.len},
		.query = {rq->query.p, rq->query.len},
		/* the same layout (the assertions above hp_telem_begin()) */
		.headers = (const struct telem_str(*)[2])msg->headers,
		.n_headers = msg->nheaders,
		.params = r != NULL ? (const struct telem_str *)r->query_params : NULL,
		.n_params = r != NULL ? r->n_query_params : 0,
	};
	struct telem_sev_ctx c;

	_Static_assert(sizeof(struct router_str) == sizeof(struct telem_str),
		       "a route's declared parameters are telem_str");
	hp_sev_ctx(s, msg, rcl != NULL ? (int32_t)rcl->service : -1, &c);
	return inspect_request(s->hw->pw->snap, &ir, s->hw->pw->telem, &c, hp_stats(s->hw),
			       hp_now(s->hw));
}

/*
 * The destination service's request authentication (dataplane/jwt): false is
 * 401. Bearer tokens count only over TLS or from a loopback client.
 */
static bool hp_authenticated(struct hp_session *s, uint32_t service,
			     const struct router_request *rq, struct jwt_outcome *jo)
{
	struct jwt_request jr = {
		.headers = rq->headers,
		.n_headers = rq->n_headers,
		.query = rq->query,
		.secure = s->pl->tls != NULL || ((const uint8_t *)&s->client)[0] == 127,
	};

	char detail[64];

	if (jwt_check(s->hw->pw->snap, service, &jr, jo, hp_stats(s->hw)))
		return true;
	snprintf(detail, sizeof(detail), "token refused: %s (401)", jwt_reason_name(jo->reason));
	hp_sev(s, &s->req.msg,
	       jo->reason == JWT_R_REPLAY ? TELEM_SEV_TOKEN_REPLAY : TELEM_SEV_TOKEN_INVALID,
	       (int32_t)service, detail);
	return false;
}

/* The destination service's authorization policies (dataplane/authz), per request: false is 403. */
static bool hp_authorized(struct hp_session *s, uint32_t service, const struct router_request *rq,
			  const struct jwt_outcome *jo)
{
	struct authz_request ar = {
		.principal = s->peer_id,
		.family = 4,
		.addr = (const uint8_t *)&s->client,
		.port = rte_be_to_cpu_16(s->local_port),
		.http = true,
		.host = rq->host,
		.method = rq->method,
		.path = rq->path,
		.headers = rq->headers,
		.n_headers = rq->n_headers,
		.request_principal = jo->principal,
		.claims = (const struct router_str(*)[2])jo->claims,
		.n_claims = jo->n_claims,
	};

	if (authz_check(s->hw->pw->snap, service, &ar, hp_stats(s->hw)))
		return true;
	hp_sev(s, &s->req.msg, TELEM_SEV_AUTHZ_DENIED, (int32_t)service,
	       "an authorization policy denied the request (403)");
	return false;
}

/*
 * The route's CORS decision for the request (router_cors()): its header fields
 * copied into the session's arena (the request head and the snapshot they
 * point into may be gone when they go out) as s->cors, for local answers
 * (a preflight's, a direct response, a redirect, an error); for a response from
 * a cluster also as response edits that replace the upstream's own CORS
 * fields. @return the decision.
 */
static enum router_cors_result hp_cors(struct hp_session *s, const struct router_route *r,
				       const struct router_request *rq)
{
	static const struct http_view owned[] = {
		{"access-control-allow-origin", 27},
		{"access-control-allow-credentials", 32},
		{"access-control-expose-headers", 29},
	};
	struct router_str f[ROUTER_CORS_FIELDS][2];
	uint32_t n;
	static_assert(ROUTER_CORS_FIELDS + 1 <= HP_LOCAL_HDRS, "CORS fields and a Location fit");
	enum router_cors_result res = router_cors(r, rq, s->hw->rw, f, &n);

	for (uint32_t i = 0; i < n; i++) {
		const char *v = hp_arena_put(s, f[i][1].p, f[i][1].len);

		if (unlikely(v == NULL)) {
			stats_inc(hp_stats(s->hw), STAT_HTTP_EDITS_DROPPED);
			continue;
		}
		s->cors[s->n_cors++] =
			(struct http_header){{f[i][0].p, f[i][0].len}, {v, f[i][1].len}};
	}
	if ((res != ROUTER_CORS_ALLOWED && res != ROUTER_CORS_DENIED) ||
	    (r->action != ROUTER_ACTION_CLUSTER && r->action != ROUTER_ACTION_WEIGHTED))
		return res;
	for (uint32_t i = 0; i < RTE_DIM(owned) && s->n_resp_remove < HP_RESP_EDITS; i++)
		s->resp_remove[s->n_resp_remove++] = owned[i];
	for (uint32_t i = 0; i < s->n_cors; i++) {
		if (unlikely(s->n_resp_add >= HP_RESP_EDITS)) {
			stats_inc(hp_stats(s->hw), STAT_HTTP_EDITS_DROPPED);
			continue;
		}
		s->resp_add[s->n_resp_add++] = s->cors[i];
	}
	return res;
}

/* A whole request head is in s->req.msg: route it and act. */
static void hp_route(struct hp_session *s)
{
	struct hp_worker *hw = s->hw;
	const struct cfg_snapshot *snap = hw->pw->snap;
	const struct http_msg *msg = &s->req.msg;
	struct router_str hdrs[HTTP_MAX_HEADERS][2];
	struct router_request rq;
	const struct router_route *r = NULL;
	const struct router_cluster *rcl = NULL;
	const struct proxy_cluster *cl;
	struct rte_mbuf *head = NULL, *old;
	enum router_cors_result cors = ROUTER_CORS_NONE;
	bool preflight;
	struct jwt_outcome jo;
	char loc[2048];
	int32_t rc;
	int n = 0, err;

	stats_inc(hp_stats(hw), STAT_HTTP_REQUESTS);
	s->egress_ext = -1;
	hp_telem_begin(s, msg);
	s->method = msg->method;
	s->http10 = msg->version == 10;
	s->close_after = !(msg->flags & HTTP_F_KEEP_ALIVE);
	s->req_body_done = msg->framing == HTTP_BODY_NONE;
	s->head_start_us = 0;
	s->grpc = proxy_grpc_request(msg);
	s->grpc_timeout_ms = s->grpc ? proxy_grpc_timeout_ms(msg) : 0;
	for (uint16_t i = 0; i < msg->nheaders; i++) {
		hdrs[i][0] = (struct router_str){msg->headers[i].name.p, msg->headers[i].name.len};
		hdrs[i][1] =
			(struct router_str){msg->headers[i].value.p, msg->headers[i].value.len};
	}
	rq = (struct router_request){
		.method = {msg->method_name.p, msg->method_name.len},
		.host = {msg->authority.p, msg->authority.len},
		.path = {msg->path.p, msg->path.len},
		.query = {msg->query.p, msg->query.len},
		.headers = (const struct router_str(*)[2])hdrs,
		.n_headers = msg->nheaders,
	};
	rc = router_route_config_find(snap, s->pl->http.route_config);
	if ((msg->flags & HTTP_F_CONNECT) && (!s->pl->http.allow_connect || s->dn->framed)) {
		stats_inc(hp_stats(hw), STAT_HTTP_CONNECT_REFUSED);
		n = -405;
	} else if (s->pl->http.outbound == PROXY_OUTBOUND_REGISTRY_ONLY &&
		   hp_egress_check(s, rq.host, loc, sizeof(loc)) != 0) {
		n = -502;
	} else if (rc >= 0) {
		r = router_select(snap, (uint32_t)rc, &rq, hw->rw);
	}
	if (r != NULL) {
		snprintf(s->tm_route, sizeof(s->tm_route), "%s", r->name);
		cors = hp_cors(s, r, &rq);
	}
	/* answered here, before authorization: a preflight carries no credentials */
	preflight = cors == ROUTER_CORS_PREFLIGHT || cors == ROUTER_CORS_PREFLIGHT_DENIED;
	if (r != NULL && r->action == ROUTER_ACTION_REDIRECT) {
		n = router_redirect_location(r, &rq, s->pl->tls != NULL ? "https" : "http", loc,
					     sizeof(loc));
		if (n < 0)
			n = -500;
	}
	if (r != NULL && !preflight &&
	    (r->action == ROUTER_ACTION_CLUSTER || r->action == ROUTER_ACTION_WEIGHTED)) {
		/* the cluster now: its hash_policy reads the head, whose views go below */
		rcl = router_pick_cluster(r, hp_rand(hw));
		if (!hp_authenticated(s, rcl->service, &rq, &jo))
			n = -401;
		else if (!hp_authorized(s, rcl->service, &rq, &jo))
			n = -403;
		cl = &((const struct proxy_l7_cfg *)snap->proxy_l7)->by_service[rcl->service];
		s->pick = (struct l4_pick_opts){.policy = cl->lb_policy};
		s->pick.hashed = proxy_request_hash(cl, msg, s->client, &s->pick.hash);
		err = hp_write_request(s, r, &jo, &head);
		if (err != 0) {
			stats_inc(hp_stats(hw), STAT_HTTP_ALLOC_FAILED);
			n = -500;
		}
	}
	if (n >= 0 && hp_inspect(s, &rq, r, rcl))
		n = -400;
	/* the head's bytes (and the views into them) are done with */
	old = hp_chain_take(hw, &s->rx, msg->head_len, &err);
	rte_pktmbuf_free(old);
	if (err != 0) {
		rte_pktmbuf_free(head);
		stats_inc(hp_stats(hw), STAT_HTTP_ALLOC_FAILED);
		hp_session_end(s);
		return;
	}
	if (n == -405) {
		/* what follows a refused CONNECT is the client's tunnel, never a request */
		s->close_after = true;
		hp_local_error(s, 405, 0, "CONNECT is not allowed on this listener");
	} else if (n == -502) {
		s->flags |= HP_RF_NR;
		hp_local_reply(s, 502, loc, (uint32_t)strlen(loc), NULL, 0, false);
	} else if (n == -401) {
		struct http_header lh[ROUTER_CORS_FIELDS + 1];

		memcpy(lh, s->cors, s->n_cors * sizeof(lh[0]));
		lh[s->n_cors] = (struct http_header){
			{"www-authenticate", 16},
			{"Bearer realm=\"meshdp\", error=\"invalid_token\"", 44}};
		rte_pktmbuf_free(head);
		hp_local_reply(s, 401, "Jwt verification fails\n", 23, lh, s->n_cors + 1, false);
	} else if (n == -403) {
		rte_pktmbuf_free(head);
		hp_local_error(s, 403, 0, "RBAC: access denied");
	} else if (n == -400) {
		rte_pktmbuf_free(head);
		stats_inc(hp_stats(hw), STAT_HTTP_INSPECT_BLOCKED);
		hp_local_error(s, 400, 0, "request refused");
	} else if (n == -500) {
		rte_pktmbuf_free(head);
		hp_local_error(s, 500, 0, "internal error");
	} else if (r == NULL) {
		stats_inc(hp_stats(hw), STAT_HTTP_NO_ROUTE);
		hp_local_error(s, 404, HP_RF_NR, "no route");
	} else if (cors == ROUTER_CORS_PREFLIGHT) {
		hp_local_reply(s, 200, "", 0, s->cors, s->n_cors, false);
	} else if (cors == ROUTER_CORS_PREFLIGHT_DENIED) {
		hp_local_reply(s, 403, "CORS: origin not allowed\n", 25, s->cors, s->n_cors, false);
	} else if (r->action == ROUTER_ACTION_DIRECT) {
		stats_inc(hp_stats(hw), STAT_HTTP_DIRECT_RESPONSES);
		hp_local_reply(s, r->direct.status, r->direct.body.p, r->direct.body.len, s->cors,
			       s->n_cors, false);
	} else if (r->action == ROUTER_ACTION_REDIRECT) {
		struct http_header lh[ROUTER_CORS_FIELDS + 1];

		memcpy(lh, s->cors, s->n_cors * sizeof(lh[0]));
		lh[s->n_cors] = (struct http_header){{"location", 8}, {loc, (uint32_t)strlen(loc)}};
		stats_inc(hp_stats(hw), STAT_HTTP_REDIRECTS);
		hp_local_reply(s, r->redirect.code, "", 0, lh, s->n_cors + 1, false);
	} else {
		hp_to_cluster(s, r, rcl, head);
	}
}

/* ---- the session's driver ---- */

/* HP_HEAD: parse the next request head. @return true to go on (a request started). */
static bool hp_step_head(struct hp_session *s)
{
	struct hp_worker *hw = s->hw;
	int r;

	hp_read_down(s);
	if (s->head_start_us == 0 && s->dn == &hp1_down && s->pl->http.h2.enabled) {
		int p = s->alpn_h2 ? 1 : hp2_preface(s->rx);

		if (p == 0 && !proxy_end_eof(&s->down))
			return false; /* the start of the HTTP/2 preface: wait for the rest */
		if (p == 1) {
			hp_h2_start(s);
			return false;
		}
	}
	if (s->rx == NULL) {
		if (s->dn->eof(s->dd)) { /* between requests: a clean close */
			proxy_end_close(&s->down);
			hp_session_end(s);
		}
		return false;
	}
	if (s->head_start_us == 0) {
		s->head_start_us = hp_now(hw);
		s->http10 = false;
		http_parser_init(&s->req, HTTP_REQUEST,
				 &(struct http_limits){.max_head = s->pl->http.max_request_headers},
				 s->req_scratch, sizeof(s->req_scratch), hp_stats(hw));
	}
	r = http_parse_head(&s->req, s->rx, 0);
	if (r == 0 && s->dn->eof(s->dd))
		r = http_parse_eof(&s->req) < 0 ? -HTTP_E_TRUNCATED : 0;
	if (r == 0) {
		if (s->dn->eof(s->dd)) {
			proxy_end_close(&s->down);
			hp_session_end(s);
		}
		return false;
	}
	if (r < 0) {
		stats_inc(hp_stats(hw), STAT_HTTP_BAD_REQUESTS);
		hp_telem_begin(s, NULL);
		{
			char why[64];

			snprintf(why, sizeof(why), "%s (%d)", http_error_name(r),
				 http_error_status(r));
			hp_sev(s, NULL, TELEM_SEV_INVALID_REQUEST, -1, why);
		}
		s->method = HTTP_M_OTHER;
		s->req_body_done = false; /* the stream is lost: close after the answer */
		hp_local_error(s, (unsigned int)http_error_status(r), 0, http_error_name(r));
		return false;
	}
	if (s->pl->http.h2.enabled && s->dn == &hp1_down && hp_h2c_upgrade(s))
		return false;
	hp_route(s);
	return false;
}

static bool hp_alive(const struct hp_session *s, uint32_t gen)
{
	return s->gen == gen;
}

/*
 * Drive the session as far as it goes now. Every callback comes here; a
 * callback that arrives while it runs (a send that completes a connect...)
 * is folded into the running call.
 */
static void hp_process(struct hp_session *s)
{
	uint32_t gen = s->gen;

	if (s->busy) {
		s->again = true;
		return;
	}
	s->busy = true;
	do {
		s->again = false;
		switch (s->state) {
		case HP_HEAD:
			hp_step_head(s);
			break;
		case HP_UPSTREAM:
			if (s->dn->open(s->dd) && s->up != NULL && s->up->connected)
				hp_pump_request(s);
			if (hp_alive(s, gen) && s->state == HP_UPSTREAM && s->up != NULL &&
			    s->up->connected)
				hp_pump_response(s);
			break;
		case HP_TUNNEL:
			hp_tunnel_pump(s);
			break;
		case HP_H2:
			if (!hp2_process(s->h2)) { /* the connection is over */
				proxy_end_close(&s->down);
				hp_session_end(s);
			}
			break;
		default:
			break;
		}
	} while (hp_alive(s, gen) && s->again);
	if (!hp_alive(s, gen))
		return;
	s->busy = false;
	hp_arm(s);
}

/* ---- the downstreams: the session's HTTP/1.1 connection, HTTP/2 streams ---- */

static struct rte_mbuf *hp1_recv(void *d, uint32_t max)
{
	return proxy_end_recv(&((struct hp_session *)d)->down, max);
}

static bool hp1_eof(void *d)
{
	return proxy_end_eof(&((struct hp_session *)d)->down);
}

static bool hp1_open(void *d)
{
	return proxy_end_open(&((struct hp_session *)d)->down);
}

static uint32_t hp1_space(void *d)
{
	return proxy_end_space(&((struct hp_session *)d)->down);
}

static void hp1_send(void *d, struct rte_mbuf *m)
{
	proxy_end_send(&((struct hp_session *)d)->down, m);
}

static void hp1_timer(void *d, uint64_t us)
{
	proxy_end_set_timer(&((struct hp_session *)d)->down, us);
}

static const struct hp_down_ops hp1_down = {
	.framed = false,
	.recv = hp1_recv,
	.eof = hp1_eof,
	.open = hp1_open,
	.space = hp1_space,
	.head = hp1_head,
	.local = hp1_local,
	.send = hp1_send,
	.done = hp1_done,
	.reset = hp1_reset,
	.timer = hp1_timer,
};

/* The client spoke the HTTP/2 preface (or TLS agreed on h2): its bytes go to the streams. */
static void hp_h2_start(struct hp_session *s)
{
	s->h2 = hp2_start(s->hw->h2, s, s->pl, &s->down, s->rx);
	if (s->h2 == NULL) {
		stats_inc(hp_stats(s->hw), STAT_HTTP_ALLOC_FAILED);
		hp_session_end(s);
		return;
	}
	s->rx = NULL; /* the connection's now */
	s->state = HP_H2;
	s->again = true;
}

/* base64url without padding (RFC 4648 5), as HTTP2-Settings is. @return bytes, or -1. */
static int hp_base64url(struct http_view v, uint8_t *out, uint32_t cap)
{
	uint32_t acc = 0, bits = 0, n = 0;

	for (uint32_t i = 0; i < v.len; i++) {
		char ch = v.p[i];
		uint32_t d = ch >= 'A' && ch <= 'Z'   ? (uint32_t)(ch - 'A')
			     : ch >= 'a' && ch <= 'z' ? (uint32_t)(ch - 'a' + 26)
			     : ch >= '0' && ch <= '9' ? (uint32_t)(ch - '0' + 52)
			     : ch == '-'	      ? 62
			     : ch == '_'	      ? 63
						      : 64;

		if (d == 64)
			return ch == '=' ? (int)n : -1;
		acc = acc << 6 | d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)n;
}

/*
 * Upgrade: h2c (RFC 7540 3.2, deprecated by RFC 9113 3.1 but what curl --http2
 * sends on http://): a plaintext request without a body, HTTP2-Settings in
 * Connection, is answered 101 and served as stream 1 of the HTTP/2
 * connection the session becomes. @return true when taken (else it goes on as
 * HTTP/1.1, the upgrade not passed up).
 */
static bool hp_h2c_upgrade(struct hp_session *s)
{
	static const char sw[] = "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\n"
				 "upgrade: h2c\r\n\r\n";
	const struct http_msg *msg = &s->req.msg;
	struct hp_worker *hw = s->hw;
	struct http_edit ed = {.drop_hop_by_hop = true};
	struct rte_mbuf *head = NULL, *m = NULL;
	uint8_t settings[512];
	int n, i = msg->known[HTTP_H_UPGRADE] != HTTP_NO_HEADER ? msg->known[HTTP_H_UPGRADE] : -1;

	if (!(msg->flags & HTTP_F_UPGRADE) || msg->framing != HTTP_BODY_NONE ||
	    s->pl->tls != NULL || i < 0 || !http_view_eq_nocase(msg->headers[i].value, "h2c", 3) ||
	    (i = http_msg_find(msg, "http2-settings", 14, 0)) < 0 ||
	    (n = hp_base64url(msg->headers[i].value, settings, sizeof(settings))) < 0)
		return false;
	/* the head for stream 1, without Upgrade, Connection and what it names */
	if (http_write_head(msg, &ed, hw->pool, &head) != 0 ||
	    hp_put(hw->pool, &m, sw, sizeof(sw) - 1) != 0) {
		rte_pktmbuf_free(head);
		rte_pktmbuf_free(m);
		return false;
	}
	proxy_end_send(&s->down, m);
	s->rx = http_chain_drop(s->rx, msg->head_len);
	stats_inc(hp_stats(hw), STAT_H2_UPGRADES);
	hp_h2_start(s);
	if (s->h2 == NULL) {
		rte_pktmbuf_free(head);
		return true;
	}
	if (hp2_upgrade(s->h2, settings, (size_t)n, head, msg->method == HTTP_M_HEAD) != 0) {
		stats_inc(hp_stats(hw), STAT_HTTP_BAD_REQUESTS);
		proxy_end_abort(&s->down);
		hp_session_end(s);
	}
	return true;
}

struct hp_session *hp_exchange_open(struct hp_session *cs, const struct hp_down_ops *ops, void *d)
{
	struct hp_worker *hw = cs->hw;
	struct hp_session *x = LIST_FIRST(&hw->free_sessions);
	uint32_t gen;

	if (x == NULL)
		return NULL;
	LIST_REMOVE(x, link);
	gen = x->gen;
	memset(x, 0, offsetof(struct hp_session, req_scratch));
	x->gen = gen;
	x->hw = hw;
	x->pl = cs->pl;
	x->dn = ops;
	x->dd = d;
	x->state = HP_HEAD;
	x->client = cs->client;
	x->client_port = cs->client_port;
	memcpy(x->client_txt, cs->client_txt, sizeof(x->client_txt));
	x->client_txt_len = cs->client_txt_len;
	x->local = cs->local;
	x->local_port = cs->local_port;
	memcpy(x->peer_id, cs->peer_id, sizeof(x->peer_id));
	x->last_us = hp_now(hw);
	return x;
}

void hp_exchange_kick(struct hp_session *x)
{
	hp_process(x);
}

static void hp_down_timer(struct tcp_conn *c, void *arg);

void hp_exchange_timer(struct hp_session *x)
{
	hp_down_timer(NULL, x);
}

void hp_exchange_reset(struct hp_session *x)
{
	x->flags |= HP_RF_DC;
	stats_inc(hp_stats(x->hw), STAT_HTTP_DOWNSTREAM_RQ_RESET);
	hp_session_end(x);
}

/* ---- callbacks: the client's connection ---- */

static void hp_down_event(struct tcp_conn *c, void *arg)
{
	(void)c;
	hp_process(arg);
}

/* The session timer: route timeout, back-off or fault delay over, head timeout, idle timeout. */
static void hp_down_timer(struct tcp_conn *c, void *arg)
{
	struct hp_session *s = arg;
	struct hp_worker *hw = s->hw;
	const struct proxy_listener *pl = s->pl;
	uint64_t now = hp_now(hw);
	uint32_t gen = s->gen;

	(void)c;
	if (s->state == HP_H2) {
		if (!hp2_timer(s->h2)) {
			proxy_end_close(&s->down);
			hp_session_end(s);
		}
		return;
	}
	if ((s->state == HP_UPSTREAM || s->state == HP_WAIT) && s->deadline_us != 0 &&
	    now >= s->deadline_us) {
		stats_inc(hp_stats(hw), STAT_HTTP_UPSTREAM_RQ_TIMEOUT);
		if (s->resp_started && s->grpc && s->dn->grpc_end != NULL) {
			hp_grpc_deadline(s);
			return;
		}
		if (s->resp_started) {
			hp_session_end(s); /* part of the response went: reset both */
			return;
		}
		if (s->up != NULL) {
			hp_upconn_abort(s->up);
			s->up = NULL;
		}
		hp_try_result(s, s->outlier != PROXY_OUTLIER_CONNECT);
		hp_local_error(s, 504, HP_RF_UT, "upstream request timeout");
	} else if (s->state == HP_WAIT && now >= s->wake_us) {
		hp_try_start(s);
	} else if (s->state == HP_HEAD && s->head_start_us != 0 &&
		   pl->http.request_timeout_ms != 0 &&
		   now >= s->head_start_us + pl->http.request_timeout_ms * 1000ull) {
		stats_inc(hp_stats(hw), STAT_HTTP_REQUEST_HEAD_TIMEOUTS);
		s->req_body_done = false;
		hp_local_error(s, 408, 0, "request timeout");
	} else if (pl->idle_timeout_us != 0 && now >= s->last_us + pl->idle_timeout_us) {
		stats_inc(hp_stats(hw), STAT_HTTP_IDLE_TIMEOUTS);
		if (s->state == HP_HEAD && s->rx == NULL) {
			proxy_end_close(&s->down);
		}
		hp_session_end(s);
		return;
	}
	if (hp_alive(s, gen))
		hp_process(s);
}

/* The client's connection is over (closed by the client, reset, timed out; @p normal: by FIN). */
static void hp_down_gone(struct hp_session *s, bool normal)
{
	s->down = (struct proxy_end){0};
	if (s->state == HP_TUNNEL && normal && s->up != NULL)
		return; /* the endpoint's side finishes on its own */
	if (s->state != HP_TUNNEL && s->state != HP_H2 && (s->state != HP_HEAD || s->rx != NULL)) {
		s->flags |= HP_RF_DC;
		stats_inc(hp_stats(s->hw), STAT_HTTP_DOWNSTREAM_RQ_RESET);
	}
	hp_session_end(s);
}

static void hp_down_closed(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	(void)c;
	hp_down_gone(arg, reason == TCP_CLOSE_NORMAL);
}

/* ---- callbacks: the client's TLS connection (listeners with a tls block) ---- */

/* The handshake is done: keep the client's SPIFFE ID for the requests. */
static int hp_down_tls_done(struct tls_conn *c, void *arg)
{
	struct hp_session *s = arg;
	struct tls_conn_info ti;

	tls_conn_info(c, &ti);
	memcpy(s->peer_id, ti.peer_id, sizeof(s->peer_id));
	s->alpn_h2 = strcmp(ti.alpn, "h2") == 0;
	return 0; /* the TLS layer's writable callback drives the session */
}

static void hp_down_tls_event(struct tls_conn *c, void *arg)
{
	(void)c;
	hp_process(arg);
}

static void hp_down_tls_timer(struct tls_conn *c, void *arg)
{
	hp_down_timer(tls_tcp(c), arg);
}

/*
 * The connection's identity was rotated (or its certificate expires) and its
 * drain point came: close now between requests, else after the response in
 * flight (SM-DR14: HTTP closes at a request boundary).
 */
static void hp_down_tls_drain(struct tls_conn *c, void *arg)
{
	struct hp_session *s = arg;

	if (s->state == HP_H2) {
		hp2_drain(s->h2); /* GOAWAY: the streams in flight finish */
		hp_process(s);
	} else if (!s->busy && s->state == HP_HEAD && s->rx == NULL) {
		stats_inc(hp_stats(s->hw), STAT_HTTP_TLS_DRAIN_CLOSED);
		proxy_end_close(&s->down);
		hp_session_end(s);
	} else if (s->state == HP_TUNNEL) {
		tls_shutdown(c); /* no request boundary in a tunnel: close_notify, FIN */
	} else {
		hp_drain_check(s);
	}
}

static void hp_down_tls_closed(struct tls_conn *c, void *arg, enum tls_close_reason reason)
{
	(void)c;
	hp_down_gone(arg, reason == TLS_CLOSE_NORMAL);
}

static const struct tls_callbacks hp_down_tls_cbs = {
	.handshake_done = hp_down_tls_done,
	.readable = hp_down_tls_event,
	.writable = hp_down_tls_event,
	.timer = hp_down_tls_timer,
	.drain = hp_down_tls_drain,
	.closed = hp_down_tls_closed,
};

/* A client connection completed its TCP handshake on HTTP listener @p arg. */
static int hp_accepted(struct tcp_conn *c, void *arg)
{
	struct proxy_listener *pl = arg;
	struct proxy_worker *pw = pl->pw;
	struct hp_worker *hw = pw->http;
	struct tcp_conn_info ci;
	struct hp_session *s;
	void *slot;
	int32_t li;
	uint32_t gen;

	tcp_conn_get_info(c, &ci);
	li = l4_listener_lookup(pw->snap, 4, &ci.laddr.v4, rte_cpu_to_be_16(ci.lport));
	if (li < 0 || !pl->listening) {
		stats_inc(pw->stats, STAT_PROXY_REFUSED_NO_LISTENER);
		return -1;
	}
	slot = l4_listener_admit(&pw->snap->listeners[li]);
	if (slot == NULL) {
		stats_inc(pw->stats, STAT_PROXY_REFUSED_LIMIT);
		return -1;
	}
	s = LIST_FIRST(&hw->free_sessions);
	if (s == NULL) {
		l4_listener_release(slot);
		stats_inc(pw->stats, STAT_PROXY_REFUSED_LIMIT);
		return -1;
	}
	LIST_REMOVE(s, link);
	gen = s->gen;
	memset(s, 0, offsetof(struct hp_session, req_scratch));
	s->gen = gen;
	s->hw = hw;
	s->pl = pl;
	s->slot = slot;
	s->dn = &hp1_down;
	s->dd = s;
	if (pl->tls != NULL) {
		/* requests wait for the handshake: tls_recv() has nothing before */
		s->down.tls = tls_accept(pw->tls, pl->tls, c, &hp_down_tls_cbs, s);
		if (s->down.tls == NULL) {
			l4_listener_release(slot);
			LIST_INSERT_HEAD(&hw->free_sessions, s, link);
			return -1; /* counted by the TLS layer */
		}
	} else {
		s->down.tcp = c;
		tcp_set_arg(c, s);
	}
	s->state = HP_HEAD;
	s->client = ci.raddr.v4;
	s->client_port = rte_cpu_to_be_16(ci.rport);
	inet_ntop(AF_INET, &s->client, s->client_txt, sizeof(s->client_txt));
	s->client_txt_len = (uint8_t)strlen(s->client_txt);
	s->local = ci.laddr.v4;
	s->local_port = rte_cpu_to_be_16(ci.lport);
	s->last_us = hp_now(hw);
	pl->active++;
	stats_inc(pw->stats, STAT_HTTP_DOWNSTREAM_CX);
	hp_arm(s);
	return 0;
}

const struct tcp_callbacks hp_listener_cbs = {
	.accepted = hp_accepted,
	.readable = hp_down_event,
	.writable = hp_down_event,
	.timer = hp_down_timer,
	.closed = hp_down_closed,
};

struct tcp_callbacks hp_tls_listener_cbs;

void hp_callbacks_init(void)
{
	tls_tcp_callbacks(&hp_tls_listener_cbs, hp_accepted);
}

/* ---- callbacks: upstream connections ---- */

static void hp_up_connected(struct tcp_conn *c, void *arg)
{
	struct hp_upconn *u = arg;
	struct hp_session *s = u->s;

	(void)c;
	u->connected = true;
	hp_try_unpend(s);
	hp_up_set_timer(u, s->retry.per_try_timeout_ms * 1000ull);
	hp_process(s);
}

/* Idle in the pool: has the endpoint closed it, or sent what nobody asked for? */
static bool hp_up_idle_broken(struct hp_upconn *u)
{
	struct rte_mbuf *m;

	if (u->end.tls == NULL)
		return tcp_recv_queued(u->end.tcp) > 0 || tcp_recv_eof(u->end.tcp);
	m = tls_recv(u->end.tls, 1); /* records that carry no data (tickets) give none */
	rte_pktmbuf_free(m);
	return m != NULL || tls_recv_eof(u->end.tls);
}

static void hp_up_event(struct tcp_conn *c, void *arg)
{
	struct hp_upconn *u = arg;

	(void)c;
	if (u->s != NULL) {
		hp_process(u->s);
		return;
	}
	if (hp_up_idle_broken(u)) {
		stats_inc(hp_stats(u->hw), STAT_HTTP_POOL_IDLE_CLOSED);
		LIST_REMOVE(u, link);
		hp_upconn_close(u);
	}
}

/* The connect timeout, the per-try timeout, or a pooled connection's idle timeout. */
static void hp_up_timer(struct tcp_conn *c, void *arg)
{
	struct hp_upconn *u = arg;
	struct hp_session *s = u->s;

	(void)c;
	if (s == NULL) {
		stats_inc(hp_stats(u->hw), STAT_HTTP_POOL_IDLE_CLOSED);
		LIST_REMOVE(u, link);
		hp_upconn_close(u);
		return;
	}
	if (!u->connected) {
		stats_inc(hp_stats(u->hw), STAT_HTTP_UPSTREAM_CX_CONNECT_FAIL);
		hp_try_failed(s, HP_FAIL_CONNECT, 0);
	} else {
		hp_try_failed(s, HP_FAIL_TIMEOUT, 0);
	}
}

static void hp_up_closed(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	struct hp_upconn *u = arg;
	struct hp_session *s = u->s;

	(void)c;
	if (s == NULL) { /* idle in the pool */
		stats_inc(hp_stats(u->hw), STAT_HTTP_POOL_IDLE_CLOSED);
		LIST_REMOVE(u, link);
		hp_upconn_put(u);
		return;
	}
	s->up = NULL;
	hp_upconn_put(u);
	if (s->hw->pw->snap == NULL) { /* the worker is being freed */
		hp_session_end(s);
		return;
	}
	if (s->state == HP_TUNNEL) {
		if (reason != TCP_CLOSE_NORMAL || !proxy_end_open(&s->down))
			hp_session_end(s);
		return;
	}
	if (!u->connected) {
		stats_inc(hp_stats(s->hw), STAT_HTTP_UPSTREAM_CX_CONNECT_FAIL);
		hp_try_failed(s, HP_FAIL_CONNECT, 0);
	} else if (!s->resp_started) {
		stats_inc(hp_stats(s->hw), STAT_HTTP_UPSTREAM_RESET_BEFORE_RESPONSE);
		hp_try_failed(s, HP_FAIL_RESET, 0);
	} else {
		hp_session_end(s); /* the response was cut: the client learns it by RST */
	}
}

void hp_up_tls_hold(const void *key, bool hold)
{
	struct hp_up_tls *ut = (struct hp_up_tls *)(uintptr_t)key;

	if (hold)
		__atomic_add_fetch(&ut->refs, 1, __ATOMIC_RELAXED);
	else
		__atomic_sub_fetch(&ut->refs, 1, __ATOMIC_RELEASE);
}

/* http2_upstream.c's events for the try of @p u (outside nghttp2). */
void hp_up_h2_connected(struct hp_upconn *u)
{
	hp_up_connected(NULL, u);
}

void hp_up_h2_event(struct hp_upconn *u)
{
	hp_process(u->s);
}

void hp_up_h2_timer(struct hp_upconn *u)
{
	hp_up_timer(NULL, u);
}

void hp_up_h2_gone(struct hp_upconn *u)
{
	u->h2s = NULL; /* freed by http2_upstream.c */
	hp_up_closed(NULL, u, TCP_CLOSE_RESET);
}

static int hp_up_tls_done(struct tls_conn *c, void *arg);

void hp_up_h2_adopt(struct hp_upconn *u, struct tls_conn *t, const void *key)
{
	struct hp_up_tls *ut = (struct hp_up_tls *)(uintptr_t)key;
	struct hp_worker *hw = u->hw;

	u->h2s = NULL; /* released by http2_upstream.c */
	u->end.tls = t;
	u->ut = ut;
	__atomic_add_fetch(&ut->refs, 1, __ATOMIC_RELAXED);
	LIST_INSERT_HEAD(&hw->tls_upconns, u, tls_link);
	tls_set_callbacks(t, &hp_up_tls_cbs, u);
	hp_h1_memo_set(hw, u->addr, u->port, ut);
	(void)hp_up_tls_done(t, u);
}

void hp_up_h2_fallback(struct hp_upconn *u, const void *key)
{
	struct hp_session *s = u->s;

	u->h2s = NULL; /* released by http2_upstream.c */
	s->up = NULL;
	hp_upconn_put(u);
	stats_inc(hp_stats(s->hw), STAT_H2_UP_FALLBACK_RESTARTED);
	hp_try_h1(s, (struct hp_up_tls *)(uintptr_t)key);
}

static const struct tcp_callbacks hp_up_cbs = {
	.connected = hp_up_connected,
	.readable = hp_up_event,
	.writable = hp_up_event,
	.timer = hp_up_timer,
	.closed = hp_up_closed,
};

/* ---- callbacks: upstream TLS connections (clusters with a tls block) ---- */

/* The handshake is done and the endpoint is the cluster's identity: connected. */
static int hp_up_tls_done(struct tls_conn *c, void *arg)
{
	struct hp_upconn *u = arg;

	(void)c;
	if (!u->retired)
		u->hw->resume[hp_bucket(u->addr, u->port)] = u;
	hp_up_connected(NULL, arg);
	return 0;
}

static void hp_up_tls_event(struct tls_conn *c, void *arg)
{
	(void)c;
	hp_up_event(NULL, arg);
}

static void hp_up_tls_timer(struct tls_conn *c, void *arg)
{
	(void)c;
	hp_up_timer(NULL, arg);
}

/*
 * Its identity was replaced (hp_follow()) or a certificate expires: an idle
 * one closes now, a busy one after its response (hp_up_tls_current()).
 */
static void hp_up_tls_drain(struct tls_conn *c, void *arg)
{
	struct hp_upconn *u = arg;

	(void)c;
	if (u->s != NULL)
		return;
	stats_inc(hp_stats(u->hw), STAT_HTTP_POOL_TLS_DRAIN_CLOSED);
	LIST_REMOVE(u, link);
	hp_upconn_close(u);
}

/* A failed handshake (secure naming included) ends here before connected: a connect failure. */
static void hp_up_tls_closed(struct tls_conn *c, void *arg, enum tls_close_reason reason)
{
	(void)c;
	hp_up_closed(NULL, arg, reason == TLS_CLOSE_NORMAL ? TCP_CLOSE_NORMAL : TCP_CLOSE_RESET);
}

static const struct tls_callbacks hp_up_tls_cbs = {
	.handshake_done = hp_up_tls_done,
	.readable = hp_up_tls_event,
	.writable = hp_up_tls_event,
	.timer = hp_up_tls_timer,
	.drain = hp_up_tls_drain,
	.closed = hp_up_tls_closed,
};

/* The latest build of the tls block @p ut was made for (@p ut itself when current). */
static const struct hp_up_tls *hp_up_tls_latest(const struct hp_up_tls *ut)
{
	const struct hp_up_tls *n;

	while ((n = __atomic_load_n(&ut->next, __ATOMIC_ACQUIRE)) != NULL)
		ut = n;
	return ut;
}

const struct tls_ctx *hp_up_tls_successor(const void *key)
{
	const struct hp_up_tls *ut = key, *now = hp_up_tls_latest(ut);

	return now != ut ? now->ctx : NULL;
}

void hp_follow(struct proxy_worker *pw)
{
	struct hp_upconn *u;

	LIST_FOREACH(u, &pw->http->tls_upconns, tls_link)
	{
		const struct hp_up_tls *now = hp_up_tls_latest(u->ut);

		if (now == u->ut || u->retired)
			continue;
		u->retired = true;
		tls_conn_retire(u->end.tls, now->ctx);
	}
	hp2u_follow(pw->http->h2u);
}

/* ---- set-up ---- */

struct hp_worker *hp_worker_create(struct proxy_worker *pw, uint32_t tcp_capacity)
{
	struct hp_worker *hw = calloc(1, sizeof(*hw));

	if (hw == NULL)
		return NULL;
	hw->pw = pw;
	hw->pool = pw->nw->pool;
	hw->rng = rte_rdtsc() | 1;
	hw->n_sessions = tcp_capacity / 2 + 1;
	hw->n_upconns = tcp_capacity / 2 + 1;
	/* calloc: pages are touched only as sessions get used */
	hw->sessions = calloc(hw->n_sessions, sizeof(*hw->sessions));
	hw->upconns = calloc(hw->n_upconns, sizeof(*hw->upconns));
	hw->rw = router_worker_create(pw->stats);
	hw->h2 = hp2_worker_create(hw->n_sessions);
	hw->h2u = hp2u_worker_create(pw, hw->n_sessions);
	if (hw->sessions == NULL || hw->upconns == NULL || hw->rw == NULL || hw->h2 == NULL ||
	    hw->h2u == NULL) {
		hp_worker_free(hw);
		return NULL;
	}
	LIST_INIT(&hw->free_sessions);
	LIST_INIT(&hw->free_upconns);
	LIST_INIT(&hw->tls_upconns);
	for (uint32_t i = 0; i < HP_POOL_BUCKETS; i++)
		LIST_INIT(&hw->idle[i]);
	for (uint32_t i = hw->n_sessions; i-- > 0;)
		LIST_INSERT_HEAD(&hw->free_sessions, &hw->sessions[i], link);
	for (uint32_t i = hw->n_upconns; i-- > 0;)
		LIST_INSERT_HEAD(&hw->free_upconns, &hw->upconns[i], link);
	return hw;
}

void hp_worker_free(struct hp_worker *hw)
{
	if (hw == NULL)
		return;
	router_worker_free(hw->rw);
	hp2_worker_free(hw->h2);
	hp2u_worker_free(hw->h2u);
	free(hw->sessions);
	free(hw->upconns);
	free(hw);
}

/* ---- the control thread's side: cluster counts by key ---- */

/* Drop a hold on @p ut (control thread, or a worker for a connection's). */
static void hp_up_tls_put(struct hp_up_tls *ut)
{
	__atomic_sub_fetch(&ut->refs, 1, __ATOMIC_RELEASE);
}

/* Control thread: free the builds nothing holds any more (a freed one lets go of its successor). */
static void hp_reclaim(struct proxy_global *pg)
{
	bool freed;

	do {
		struct hp_up_tls **pp = &pg->up_tls, *ut;

		freed = false;
		while ((ut = *pp) != NULL) {
			if (__atomic_load_n(&ut->refs, __ATOMIC_ACQUIRE) != 0) {
				pp = &ut->chain;
				continue;
			}
			*pp = ut->chain;
			if (ut->next != NULL)
				hp_up_tls_put(ut->next);
			tls_ctx_free(ut->ctx);
			tls_ctx_free(ut->ctx_h1);
			free(ut);
			freed = true;
		}
	} while (freed);
}

/* What HTTP origination asks of cluster @p cl: its block, and unless it lists
 * protocols ALPN h2 (protocol http2), h2 and http/1.1 (auto) or http/1.1. */
static void hp_up_tls_conf(const struct proxy_cluster *cl, struct tls_client_conf *out)
{
	*out = cl->tls;
	if (out->n_alpn == 0) {
		if (proxy_cluster_h2(cl))
			snprintf(out->alpn[out->n_alpn++], sizeof(out->alpn[0]), "h2");
		if (cl->protocol != PROXY_UP_HTTP2)
			snprintf(out->alpn[out->n_alpn++], sizeof(out->alpn[0]), "http/1.1");
	}
}

/* Protocol auto: @p conf without h2, for the endpoints that chose HTTP/1.1
 * (http/1.1 when that leaves nothing). */
static void hp_up_tls_conf_h1(const struct tls_client_conf *conf, struct tls_client_conf *out)
{
	*out = *conf;
	out->n_alpn = 0;
	for (uint8_t i = 0; i < conf->n_alpn; i++)
		if (strcmp(conf->alpn[i], "h2") != 0)
			memcpy(out->alpn[out->n_alpn++], conf->alpn[i], sizeof(out->alpn[0]));
	if (out->n_alpn == 0)
		snprintf(out->alpn[out->n_alpn++], sizeof(out->alpn[0]), "http/1.1");
}

/*
 * Control thread: the build of service @p i's tls block for @p snap (NULL when
 * it has none): the last one when it is still what the block asks for, else a
 * new one that replaces it. @return 0 or -errno with @p err filled.
 */
static int hp_up_tls_bind(struct proxy_global *pg, struct hp_cluster_rt *c,
			  const struct cfg_snapshot *snap, uint32_t i, struct hp_up_tls **out,
			  char *err, size_t errlen)
{
	const struct proxy_l7_cfg *l7 = snap->proxy_l7;
	struct hp_up_tls *o = c->tls_last, *ut;
	struct tls_client_conf conf;
	int rc;

	*out = NULL;
	if (l7 == NULL || l7->by_service == NULL || !l7->by_service[i].tls.enabled)
		return 0;
	hp_up_tls_conf(&l7->by_service[i], &conf);
	if (o != NULL && tls_ctx_same_cluster(o->ctx, snap, &conf)) {
		ut = o;
	} else {
		if ((ut = calloc(1, sizeof(*ut))) == NULL)
			return -ENOMEM;
		char why[200];

		rc = tls_ctx_for_cluster(snap, &conf, snap->services[i].key, &ut->ctx, why,
					 sizeof(why));
		if (rc == 0 && l7->by_service[i].protocol == PROXY_UP_AUTO) {
			struct tls_client_conf h1;

			hp_up_tls_conf_h1(&conf, &h1);
			rc = tls_ctx_for_cluster(snap, &h1, snap->services[i].key, &ut->ctx_h1, why,
						 sizeof(why));
			if (rc != 0)
				tls_ctx_free(ut->ctx);
		}
		if (rc != 0) {
			snprintf(err, errlen, "cluster %s (TLS): %s", snap->services[i].key, why);
			free(ut);
			return rc;
		}
		ut->id = ++pg->up_tls_builds;
		ut->refs = 1; /* tls_last's */
		ut->chain = pg->up_tls;
		pg->up_tls = ut;
		c->tls_last = ut;
		if (o != NULL) {
			__atomic_add_fetch(&ut->refs, 1, __ATOMIC_RELAXED); /* o's */
			__atomic_store_n(&o->next, ut, __ATOMIC_RELEASE);
			hp_up_tls_put(o);
		}
	}
	__atomic_add_fetch(&ut->refs, 1, __ATOMIC_RELAXED); /* the snapshot's */
	*out = ut;
	return 0;
}

int hp_bind(struct proxy_global *pg, struct proxy_snap_rt *rt, const struct cfg_snapshot *snap,
	    char *err, size_t errlen)
{
	const uint32_t n = snap->n_services ? snap->n_services : 1;

	hp_reclaim(pg);
	rt->clusters = calloc(n, sizeof(*rt->clusters));
	rt->up_tls = calloc(n, sizeof(*rt->up_tls));
	if (rt->clusters == NULL || rt->up_tls == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < snap->n_services; i++) {
		struct hp_cluster_rt *c;
		int rc;

		for (c = pg->clusters; c != NULL; c = c->next)
			if (strcmp(c->key, snap->services[i].key) == 0)
				break;
		if (c == NULL) {
			c = aligned_alloc(64, sizeof(*c));
			if (c == NULL) {
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			memset(c, 0, sizeof(*c));
			snprintf(c->key, sizeof(c->key), "%s", snap->services[i].key);
			c->next = pg->clusters;
			pg->clusters = c;
		}
		rt->clusters[i] = c;
		if ((rc = hp_up_tls_bind(pg, c, snap, i, &rt->up_tls[i], err, errlen)) != 0)
			return rc;
	}
	return 0;
}

void hp_unbind(struct proxy_global *pg, struct proxy_snap_rt *rt, const struct cfg_snapshot *snap)
{
	for (uint32_t i = 0; rt->up_tls != NULL && i < snap->n_services; i++)
		if (rt->up_tls[i] != NULL)
			hp_up_tls_put(rt->up_tls[i]);
	free(rt->up_tls);
	free(rt->clusters);
	rt->up_tls = NULL;
	rt->clusters = NULL;
	hp_reclaim(pg);
}

void hp_global_free(struct proxy_global *pg)
{
	struct hp_cluster_rt *c, *next;

	for (c = pg->clusters; c != NULL; c = next) {
		next = c->next;
		if (c->tls_last != NULL)
			hp_up_tls_put(c->tls_last);
		free(c);
	}
	pg->clusters = NULL;
	hp_reclaim(pg);
}
