/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * router: the HTTP route tables of the snapshot ($.route_configs, Envoy RDS-like)
 * and the request -> route decision of an HTTP listener (type "http").
 *
 * A route config is a list of virtual hosts; a virtual host owns domains and an
 * ordered list of routes; a route has a match (path exact / prefix / regex,
 * methods, headers, query parameters) and an action (a cluster, weighted
 * clusters, a redirect or a direct response) with its policies (rewrites,
 * header edits, timeouts, retries, fault injection). router_config.c compiles
 * the section into the snapshot; router.c matches.
 *
 * Life: compiled by cfg_compile() (control thread), read by workers through the
 * snapshot, freed with it. Every pointer in the structs below points into the
 * snapshot's router part and is valid only while the snapshot is (for a worker:
 * until its next rcu_quiescent_state()). A request that outlives that (an
 * upstream try, a retry back-off) copies what it needs and re-resolves its
 * cluster by key in the current snapshot (router_cluster_resolve()).
 *
 * Matching, in this order (router_select()):
 *   1. virtual host by Host (or :authority), port stripped, case-insensitive:
 *      exact domains (hash), then suffix wildcards "*.x" / "*x" longest first,
 *      then prefix wildcards "x.*" / "x*" longest first, then "*". A wildcard
 *      never matches an empty part ("*.a.b" does not match ".a.b").
 *   2. the virtual host's routes in document order; the first whose every
 *      condition holds wins. No virtual host or no route: NULL (the caller
 *      answers 404). A virtual host of ROUTER_INDEX_MIN routes or more gets a
 *      path index, with the same result: case-sensitive exact paths in a hash,
 *      case-sensitive prefixes in a hash per distinct prefix length (at most
 *      ROUTER_INDEX_MAX_LENS lengths), the other routes in a list; a lookup
 *      hashes the path once, collects the routes whose path condition holds
 *      from each, and tries them in document order.
 * Path conditions see the path without the query; header names compare
 * case-insensitively, values and query parameters byte for byte (no
 * percent-decoding); a header or query condition holds when some instance of
 * the name satisfies it ("invert" negates the whole condition). Regexes are
 * PCRE2 searches (anchor with ^ and $), JIT-compiled where the platform allows,
 * with a match limit; a regex that fails (limit hit) does not match and is
 * counted (router_regex_failed).
 *
 * CORS (router_cors()): a virtual host's or a route's policy decides, from the
 * Origin and whether the request is a preflight, which header fields the
 * proxy answers a preflight with or adds to the response; the proxy applies
 * them (dataplane/proxy/http_proxy.c, hp_cors()).
 *
 * Threads: router_select() and the helpers marked "any thread" run on workers
 * (no allocation, no locks); the rest on the control thread.
 *
 * RFCs: RFC 9110 (methods are case-sensitive tokens, header names are not;
 * Host / :authority; redirect codes 301, 302, 303, 307, 308), RFC 3986 (path,
 * query, authority syntax), RFC 6454 (serialized origins); the WHATWG Fetch
 * standard's CORS protocol (preflight, access-control-* fields). Partial: no percent-decoding or path normalisation
 * before matching (the HTTP codec's job, where it does it).
 */
#ifndef MESHDP_ROUTER_H
#define MESHDP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "../stats/stats.h"

/* Limits of $.route_configs (docs/CONFIG.md). */
#define ROUTER_MAX_CONFIGS	  256
#define ROUTER_MAX_VHOSTS	  1024	   /* per route config */
#define ROUTER_MAX_DOMAINS	  256	   /* per virtual host */
#define ROUTER_MAX_ROUTES	  16384	   /* per virtual host */
#define ROUTER_MAX_METHODS	  16	   /* per route */
#define ROUTER_MAX_CONDITIONS	  16	   /* header or query conditions per route */
#define ROUTER_MAX_QUERY_PARAMS	  32	   /* a route's declared query parameters */
#define ROUTER_MAX_WEIGHTED	  64	   /* clusters of a weighted_clusters action */
#define ROUTER_MAX_HEADER_EDITS	  32	   /* entries of a *_headers_add or *_headers_remove */
#define ROUTER_MAX_STATUS_CODES	  16	   /* retriable_status_codes */
#define ROUTER_HOST_MAX		  255	   /* a domain, a Host without its port */
#define ROUTER_STR_MAX		  1024	   /* a path, prefix, regex, header value, rewrite */
#define ROUTER_BODY_MAX		  65536	   /* a direct response body */
#define ROUTER_KEY_MAX		  128	   /* a cluster key, l4_service.key (L4_KEY_MAX) */
#define ROUTER_PERCENT_SCALE	  1000000u /* fault percentages are stored per million */
#define ROUTER_DEFAULT_TIMEOUT_MS 15000
#define ROUTER_INDEX_MIN	  16 /* routes in a virtual host from which the path index is built */
#define ROUTER_INDEX_MAX_LENS	  32 /* distinct prefix lengths the index takes; more: listed */

/* Limits of a cors policy (docs/CONFIG.md). */
#define ROUTER_MAX_CORS_ORIGINS 64    /* entries of a cors policy's allow_origins */
#define ROUTER_MAX_CORS_NAMES	64    /* entries of allow_methods, allow_headers, expose_headers */
#define ROUTER_CORS_LIST_MAX	512   /* one of those lists, joined with ", " */
#define ROUTER_CORS_ORIGIN_MAX	512   /* a longer Origin is never allowed */
#define ROUTER_CORS_MAX_AGE_S	86400 /* max_age_s */
#define ROUTER_CORS_FIELDS	6     /* header fields router_cors() gives at most */

/** A byte string: a view, not NUL-terminated unless said. */
struct router_str {
	const char *p;
	uint32_t len;
};

/** What a route matches on: views into the request (the router copies nothing). */
struct router_request {
	struct router_str method;
	struct router_str host;	 /* Host or :authority as received; the router strips the port */
	struct router_str path;	 /* without the query */
	struct router_str query; /* after the '?', without it; len 0: none */
	const struct router_str (*headers)[2]; /* [n_headers] {name, value} pairs */
	uint32_t n_headers;
};

/** The config section $.route_configs (router_config.c); subsystems.c runs it after l4. */
extern const struct cfg_section router_cfg_section;

/** meshctl http routes, http route-test (router_commands.c; control thread). */
struct control_cmd_set;
extern const struct control_cmd_set router_commands;

/* ---- the compiled tables (read by the HTTP proxy) ---- */

enum router_action {
	ROUTER_ACTION_CLUSTER,	/* clusters[0] */
	ROUTER_ACTION_WEIGHTED, /* clusters[0..n_clusters), router_pick_cluster() */
	ROUTER_ACTION_REDIRECT, /* redirect; router_redirect_location() */
	ROUTER_ACTION_DIRECT,	/* direct: answer status and body */
};

/** A cluster: one of the L4 services, and which of its ports. */
struct router_cluster {
	/* l4_service.key, "<namespace>/<name>" (NUL-terminated): stable across
	 * snapshots, what an in-flight request keeps to re-resolve the service */
	const char *key;
	uint32_t service;     /* index into snap->services of the route's snapshot */
	uint8_t port_idx;     /* index into that service's ports[] */
	uint16_t port;	      /* that port (host order): "port", default the first TCP port */
	uint16_t target_port; /* its target_port, the upstream port of endpoints without one */
	uint32_t weight;      /* weighted_clusters: this cluster's weight; 1 for "cluster" */
	uint32_t cum;	      /* weights of this and the earlier clusters, for the pick */
};

/** One header to add: "append" true adds a line, false replaces every line of the name. */
struct router_header_add {
	struct router_str name;	 /* as configured (a token), NUL-terminated */
	struct router_str value; /* NUL-terminated; no CR, LF or NUL */
	bool append;
};

/** Header edits of a route or a virtual host, on requests or on responses. */
struct router_headers {
	uint32_t n_add;
	uint32_t n_remove;
	const struct router_header_add *add;
	const struct router_str *remove; /* lower-case names, NUL-terminated */
};

/* retry_on conditions (struct router_retry.on). */
#define ROUTER_RETRY_5XX \
	0x01u /* any 5xx response, and everything connect-failure and reset cover */
#define ROUTER_RETRY_GATEWAY_ERROR   0x02u /* 502, 503, 504, and connect-failure, reset */
#define ROUTER_RETRY_RESET	     0x04u /* the upstream reset or closed before a response */
#define ROUTER_RETRY_CONNECT_FAILURE 0x08u /* the upstream connect failed or timed out */
#define ROUTER_RETRY_STATUS_CODES    0x10u /* a status in status[] ("retriable-status-codes") */
/* gRPC (Envoy's retry_on names): the grpc-status of a trailers-only response */
#define ROUTER_RETRY_GRPC_CANCELLED	     0x20u  /* 1 CANCELLED */
#define ROUTER_RETRY_GRPC_DEADLINE_EXCEEDED  0x40u  /* 4 DEADLINE_EXCEEDED */
#define ROUTER_RETRY_GRPC_RESOURCE_EXHAUSTED 0x80u  /* 8 RESOURCE_EXHAUSTED */
#define ROUTER_RETRY_GRPC_INTERNAL	     0x100u /* 13 INTERNAL */
#define ROUTER_RETRY_GRPC_UNAVAILABLE	     0x200u /* 14 UNAVAILABLE */
#define ROUTER_RETRY_CONDITIONS		     10	    /* retry_on names, in bit order */

/** A route's retry policy; num_retries 0 (no retry_policy): no retries. */
struct router_retry {
	uint32_t on;		     /* ROUTER_RETRY_* */
	uint32_t num_retries;	     /* retries after the first try (default 1 with a policy) */
	uint32_t per_try_timeout_ms; /* 0: each try may use what is left of timeout_ms */
	uint32_t backoff_base_ms;    /* exponential back-off with full jitter, Envoy's */
	uint32_t backoff_max_ms;     /* default 10 * base */
	bool previous_hosts;	     /* retry_host_predicate "previous_hosts": another endpoint */
	uint8_t n_status;
	uint16_t status[ROUTER_MAX_STATUS_CODES];
};

/** Fault injection (Istio's VirtualService fault); a percentage 0 disables its part. */
struct router_fault {
	uint32_t delay_ms;
	uint32_t delay_ppm; /* per million requests */
	uint16_t abort_status;
	uint32_t abort_ppm;
};

struct router_redirect {
	struct router_str scheme;	  /* "http", "https"; len 0: the request's */
	struct router_str host;		  /* len 0: the request's (port stripped) */
	uint16_t port;			  /* 0: the request's, dropped when the scheme changes */
	struct router_str path;		  /* len 0: keep (after prefix_rewrite) */
	struct router_str prefix_rewrite; /* replaces the matched prefix; len 0: none */
	uint16_t code;			  /* 301, 302, 303, 307, 308 */
	bool strip_query;
};

struct router_direct {
	uint16_t status;	/* 200..599 */
	struct router_str body; /* may be empty */
};

/*
 * A CORS policy (Fetch standard, "CORS protocol"; like Envoy's CorsPolicy) of a
 * route or a virtual host; a route's, when it has one, replaces its virtual
 * host's (router_cors_policy()).
 */
struct router_cors_origin; /* private: router_internal.h */
struct router_cors {
	bool enabled;		/* "cors" given */
	bool any_origin;	/* an allow_origins entry {"exact": "*"} (never with credentials) */
	bool allow_credentials; /* access-control-allow-credentials: true */
	uint32_t n_origins;
	const struct router_cors_origin *origins;
	struct router_str allow_methods;  /* joined with ", ", NUL-terminated; len 0: not sent */
	struct router_str allow_headers;  /* the same */
	struct router_str expose_headers; /* the same */
	struct router_str max_age;	  /* max_age_s in decimal; len 0: not sent */
};

struct router_match; /* private: router_internal.h */
struct router_index; /* private: router_internal.h */
struct router_vhost;

/** One route: its match (private) and its action and policies (read by the proxy). */
struct router_route {
	const struct router_match *match;
	const struct router_vhost *vhost; /* the virtual host it belongs to */
	uint32_t index;			  /* position in vhost->routes */
	char name[CFG_NAME_MAX];	  /* optional "name"; "" when not given */
	uint8_t action;			  /* enum router_action */
	uint32_t n_clusters;		  /* CLUSTER: 1, WEIGHTED: 1..ROUTER_MAX_WEIGHTED */
	const struct router_cluster *clusters;
	uint32_t total_weight; /* WEIGHTED: the weights' sum ("total_weight", default 100) */
	struct router_redirect redirect;
	struct router_direct direct;
	struct router_str prefix_rewrite; /* cluster actions: replaces the matched prefix */
	struct router_str host_rewrite;	  /* cluster actions: the upstream Host; len 0: keep */
	struct router_headers request_headers;
	struct router_headers response_headers;
	uint32_t timeout_ms;	  /* whole request, all tries; 0: none; default 15000 */
	uint32_t idle_timeout_ms; /* no bytes either way this long ends the stream; 0: none */
	struct router_retry retry;
	struct router_fault fault;
	struct router_cors cors; /* enabled false: the virtual host's applies */
	/* "query_params": the query parameter names the route declares (request
	 * inspection, dataplane/inspect, reports any other); NULL: none declared */
	const struct router_str *query_params;
	uint32_t n_query_params;
};

/** A virtual host: domains, routes, and header edits applied after the route's. */
struct router_vhost {
	char name[CFG_NAME_MAX]; /* unique in its route config */
	uint32_t index;		 /* position in config->vhosts */
	uint32_t n_domains;
	const struct router_str *domains; /* lower-case, as written ("*.shop.example") */
	uint32_t n_routes;
	const struct router_route *routes;
	struct router_headers request_headers;
	struct router_headers response_headers;
	struct router_cors cors; /* for its routes without their own */
	const struct router_config *config;
	const struct router_index *path_index; /* private: a long route list's index; NULL: none */
};

/** A route config's retry budget: retries at once <= max(min, percent of active requests). */
struct router_retry_budget {
	bool enabled; /* "retry_budget" given */
	uint32_t budget_percent;
	uint32_t min_retry_concurrency;
};

struct router_domains; /* private: the compiled domain tables */

struct router_config {
	char name[CFG_NAME_MAX]; /* unique among route configs; listeners name it */
	uint32_t index;		 /* position in $.route_configs */
	uint32_t n_vhosts;
	const struct router_vhost *vhosts;
	struct router_retry_budget retry_budget;
	const struct router_domains *domains;
};

/* ---- lookups ---- */

/** @return the number of route configs in @p snap. Any thread. */
uint32_t router_config_count(const struct cfg_snapshot *snap);

/** @return route config @p rc of @p snap, NULL when out of range. Any thread. */
const struct router_config *router_config_get(const struct cfg_snapshot *snap, uint32_t rc);

/**
 * The route config named @p name (NUL-terminated), for listeners of type http.
 * @return its index, or -1. Any thread (the proxy's section calls it while compiling).
 */
int32_t router_route_config_find(const struct cfg_snapshot *snap, const char *name);

/**
 * The service whose l4_service.key is @p key (NUL-terminated), by hash.
 * @return its index into snap->services, or -1. Any thread.
 */
int32_t router_service_by_key(const struct cfg_snapshot *snap, const char *key);

/**
 * Re-resolve a cluster copied from an older snapshot in @p snap: the service by
 * @p key, the port by number @p port (a TCP port of that service).
 * @return 0 with *@p service, *@p port_idx and *@p target_port set, or -ENOENT
 *         (the service is gone or no longer has that port). Any thread.
 */
int router_cluster_resolve(const struct cfg_snapshot *snap, const char *key, uint16_t port,
			   uint32_t *service, uint8_t *port_idx, uint16_t *target_port);

/* ---- per-worker state and the decision ---- */

/** A worker's scratch for matching (PCRE2 match data and context) and its counters. */
struct router_worker;

/**
 * Control thread: the scratch of one worker (or of the control thread itself,
 * with @p stats NULL: nothing counted).
 * @return NULL on ENOMEM.
 */
struct router_worker *router_worker_create(struct stats_block *stats);

/** Control thread, once the worker stopped. NULL: nothing. */
void router_worker_free(struct router_worker *rw);

/**
 * The route for @p req on route config @p rc (the listener's index) of @p snap.
 * Counts router_no_vhost / router_no_route when it returns NULL.
 * @param rw the calling thread's scratch (router_worker_create())
 * @return the route, valid while @p snap is, or NULL (answer 404). The thread
 *         that owns @p rw.
 */
const struct router_route *router_select(const struct cfg_snapshot *snap, uint32_t rc,
					 const struct router_request *req,
					 struct router_worker *rw);

/**
 * The virtual host of @p host (port stripped here) on route config @p rc, as
 * router_select() picks it. @return it or NULL. Any thread.
 */
const struct router_vhost *router_vhost_select(const struct cfg_snapshot *snap, uint32_t rc,
					       struct router_str host);

/* ---- applying a route (any thread, no allocation) ---- */

/**
 * The cluster of a CLUSTER or WEIGHTED route: for WEIGHTED the one whose
 * cumulative weight range holds @p rnd % total_weight (the caller's random
 * number, so a test can drive the split). @return NULL for other actions.
 */
const struct router_cluster *router_pick_cluster(const struct router_route *r, uint32_t rnd);

/**
 * The upstream path of a cluster route: @p path with the matched prefix
 * replaced by prefix_rewrite ("/" if that leaves it empty).
 * @return the length written to @p buf, 0 when the route rewrites nothing (use
 *         @p path), or -ENOSPC when @p len is too small.
 */
int router_rewrite_path(const struct router_route *r, struct router_str path, char *buf,
			size_t len);

/**
 * The Location of a REDIRECT route for @p req, received over @p scheme
 * ("http" or "https"): scheme://host[:port]path[?query], NUL-terminated.
 * @return its length, -EINVAL for another action, or -ENOSPC.
 */
int router_redirect_location(const struct router_route *r, const struct router_request *req,
			     const char *scheme, char *buf, size_t len);

/**
 * Whether a try that ended in response @p status may be retried under @p rp
 * (5xx, gateway-error, retriable-status-codes). Resets and connect failures are
 * the caller's to check against rp->on (router_retry_on_failure()).
 */
bool router_retry_status(const struct router_retry *rp, unsigned int status);

/** Whether a try that failed without a response may be retried (@p connect: it never connected). */
bool router_retry_on_failure(const struct router_retry *rp, bool connect);

/** Does the policy retry a gRPC response with grpc-status @p code (trailers-only)? */
bool router_retry_grpc(const struct router_retry *rp, unsigned int code);

/** The retry_on names, index = bit (ROUTER_RETRY_*). */
extern const char *const router_retry_names[ROUTER_RETRY_CONDITIONS + 1];

/**
 * The back-off before retry @p attempt (1 for the first retry): a random
 * duration in [0, min(backoff_max_ms, backoff_base_ms * 2^(attempt-1))] from
 * @p rnd ("full jitter", as Envoy). @return milliseconds.
 */
uint32_t router_retry_backoff_ms(const struct router_retry *rp, uint32_t attempt, uint32_t rnd);

/** Whether a fault with rate @p ppm (per million) applies, for a random @p rnd. */
static inline bool router_fault_hit(uint32_t ppm, uint32_t rnd)
{
	return ppm != 0 && rnd % ROUTER_PERCENT_SCALE < ppm;
}

/* ---- CORS (any thread, no allocation) ---- */

/** What router_cors() made of a request; each but NONE is counted. */
enum router_cors_result {
	ROUTER_CORS_NONE,	      /* no policy, or no Origin: the request goes on untouched */
	ROUTER_CORS_PREFLIGHT,	      /* an allowed preflight: answer it here with the fields */
	ROUTER_CORS_PREFLIGHT_DENIED, /* a preflight from an origin not allowed: answer it
				       * here, without CORS fields (only Vary) */
	ROUTER_CORS_ALLOWED,	      /* a request from an allowed origin: the fields go on
				       * its response, replacing the upstream's */
	ROUTER_CORS_DENIED,	      /* a request from an origin not allowed: its response
				       * carries no CORS fields (only Vary) */
};

/** The CORS policy that applies to @p r: its own, else its virtual host's; NULL: none. */
const struct router_cors *router_cors_policy(const struct router_route *r);

/**
 * The CORS decision for @p req on route @p r. A preflight is an OPTIONS
 * request with Origin and Access-Control-Request-Method. An Origin is allowed
 * when it is the only one and an allow_origins entry matches it: exact and
 * suffix compare case-insensitively, a regex must match the whole value.
 * @param fields out: the response's header fields {lower-case name, value}, at
 *        most ROUTER_CORS_FIELDS; the values point into @p req and the
 *        snapshot (the caller copies what must outlive either)
 * @param n_fields out: how many
 * @return the decision; counted as router_cors_preflight, _preflight_denied,
 *         _allowed, _denied. The thread that owns @p rw.
 */
enum router_cors_result router_cors(const struct router_route *r, const struct router_request *req,
				    struct router_worker *rw,
				    struct router_str fields[ROUTER_CORS_FIELDS][2],
				    uint32_t *n_fields);

/** The strip of @p host's ":port" (IPv6 literals keep their brackets). Any thread. */
struct router_str router_host_strip_port(struct router_str host);

/** "cluster", "weighted_clusters", "redirect", "direct_response"; "?" out of range. */
const char *router_action_name(unsigned int action);

#endif
