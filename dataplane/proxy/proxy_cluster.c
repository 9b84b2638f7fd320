/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy: the config section $.clusters (struct cfg_section proxy_cluster_section),
 * the L7 options of the services that HTTP routes send requests to, as Envoy's
 * cluster or Istio's DestinationRule trafficPolicy: request-level circuit
 * breakers, what counts as a failure for the endpoint's breaker (outlier
 * detection), the per-worker upstream connection pool, and the balancer of
 * HTTP requests (lb_policy, hash_policy; proxy_hash.c hashes requests).
 * Endpoints, health, ejection times and the Maglev table stay the service's
 * ($.services[].lb, .breaker, .health; dataplane/l4). A service without an
 * entry gets the defaults.
 *
 * Registered in dataplane/subsystems.c after proxy_cfg_section, which
 * allocates snap->proxy_l7. docs/CONFIG.md ("Clusters") is the schema. Control
 * thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config_json.h"
#include "proxy_internal.h"

/* Defaults; docs/CONFIG.md lists the same values. */
#define DEF_MAX_RETRIES	      3 /* Envoy's */
#define DEF_POOL_IDLE	      64
#define DEF_POOL_IDLE_S	      60
#define CLUSTER_LIMIT_MAX     16777216u
#define CLUSTER_POOL_IDLE_MAX 65536u

void proxy_cluster_defaults(struct proxy_cluster *c, uint32_t service)
{
	memset(c, 0, sizeof(*c));
	c->service = service;
	c->index = -1;
	c->max_retries = DEF_MAX_RETRIES;
	c->outlier = PROXY_OUTLIER_GATEWAY;
	c->max_idle_per_endpoint = DEF_POOL_IDLE;
	c->idle_timeout_s = DEF_POOL_IDLE_S;
}

/* "service": "<namespace>/<name>" or a service name, as a listener's "cluster". */
static int cluster_service(const struct cfg_snapshot *s, const json_t *o, const char *path,
			   uint32_t *out, struct cfg_error *err)
{
	char pp[CFG_JPATH_LEN];
	json_t *v = json_object_get(o, "service");
	const char *name;

	cfg_path_key(pp, path, "service");
	if (v == NULL)
		return cfg_fail(err, pp,
				"required field missing; expected the name or "
				"\"<namespace>/<name>\" of a service in $.services");
	name = json_is_string(v) ? json_string_value(v) : "";
	for (uint32_t k = 0; k < s->n_services; k++)
		if (strcmp(strchr(name, '/') != NULL ? s->services[k].key : s->services[k].name,
			   name) == 0) {
			*out = k;
			return 0;
		}
	return cfg_fail_got(err, pp,
			    "the name or \"<namespace>/<name>\" of a service in $.services", v);
}

/* An HTTP token (RFC 9110 5.6.2): a header or cookie name. */
static bool cluster_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s) != NULL))
			return false;
	return true;
}

/* $.clusters[i].hash_policy: [{"header": N} | {"cookie": N} | {"source_ip": true}, ...]. */
static int parse_hash_policy(const json_t *o, const char *path, struct proxy_cluster *c,
			     struct cfg_error *err)
{
	static const char *const hkeys[] = {"header", "cookie", "source_ip", NULL};
	char ap[CFG_JPATH_LEN];
	json_t *arr, *h;
	int rc;

	cfg_path_key(ap, path, "hash_policy");
	rc = cfg_get_array(o, "hash_policy", path, 1, PROXY_HASH_MAX, false, "hash policies", &arr,
			   err);
	for (size_t i = 0; rc == 0 && arr != NULL && i < json_array_size(arr); i++) {
		struct proxy_hash_policy *hp = &c->hash[i];
		char ip[CFG_JPATH_LEN], kp[CFG_JPATH_LEN];
		const char *key;
		json_t *v;

		if ((rc = cfg_get_item(arr, i, ap, "a hash policy object", hkeys, &h, ip, err)) !=
		    0)
			return rc;
		if (json_object_size(h) != 1)
			return cfg_fail(err, ip,
					"expected exactly one of \"header\", \"cookie\" or "
					"\"source_ip\"");
		key = json_object_iter_key(json_object_iter(h));
		v = json_object_get(h, key);
		cfg_path_key(kp, ip, key);
		if (strcmp(key, "source_ip") == 0) {
			if (!json_is_true(v))
				return cfg_fail_got(err, kp, "true", v);
			hp->kind = PROXY_HASH_SOURCE_IP;
		} else {
			hp->kind =
				strcmp(key, "header") == 0 ? PROXY_HASH_HEADER : PROXY_HASH_COOKIE;
			if (!json_is_string(v) || !cluster_token(json_string_value(v)) ||
			    strlen(json_string_value(v)) >= sizeof(hp->name))
				return cfg_fail_got(
					err, kp,
					hp->kind == PROXY_HASH_HEADER
						? "a header name (an HTTP token of 1..63 bytes)"
						: "a cookie name (an HTTP token of 1..63 bytes)",
					v);
			snprintf(hp->name, sizeof(hp->name), "%s", json_string_value(v));
			hp->len = (uint8_t)strlen(hp->name);
		}
		c->n_hash++;
	}
	return rc;
}

/* $.clusters[i].protocol and .http2 (the upstream HTTP/2 connections' limits). */
static int parse_protocol(const json_t *o, const char *path, struct proxy_cluster *c,
			  struct cfg_error *err)
{
	/* Index = enum proxy_up_proto. */
	static const char *const protos[] = {"http1", "http2", "auto", NULL};
	static const char *const hkeys[] = {"max_concurrent_streams", "initial_window_size",
					    "connection_window", "max_header_list_size", NULL};
	char hp[CFG_JPATH_LEN];
	json_t *h;
	int rc;

	cfg_path_key(hp, path, "http2");
	if ((rc = cfg_get_enum(o, "protocol", path, protos, PROXY_UP_HTTP1, false, &c->protocol,
			       err)) != 0 ||
	    (rc = cfg_get_section(o, "http2", path, &h, err)) != 0 ||
	    (h != NULL && (rc = cfg_check_keys(h, hp, hkeys, err)) != 0) ||
	    (rc = cfg_get_u32(h, "max_concurrent_streams", hp, 0, 1u << 20, 0,
			      &c->h2.max_concurrent_streams, err)) != 0 ||
	    (rc = cfg_get_u32(h, "initial_window_size", hp, 0, 0x7fffffffu, 0,
			      &c->h2.initial_window_size, err)) != 0 ||
	    (rc = cfg_get_u32(h, "connection_window", hp, 0, 0x7fffffffu, 0,
			      &c->h2.connection_window, err)) != 0 ||
	    (rc = cfg_get_u32(h, "max_header_list_size", hp, 0, 1u << 24, 0,
			      &c->h2.max_header_list_size, err)) != 0)
		return rc;
	if (h != NULL && !proxy_cluster_h2(c))
		return cfg_fail(err, hp,
				"an http2 block needs \"protocol\": \"http2\" (or \"auto\" with a "
				"tls block)");
	return 0;
}

/* $.clusters[i].lb_policy and .hash_policy; a consistent hash needs the service's Maglev table. */
static int parse_balancer(const struct cfg_snapshot *snap, const json_t *o, const char *path,
			  struct proxy_cluster *c, struct cfg_error *err)
{
	/* Index + 1 = enum l4_pick_policy. */
	static const char *const policies[] = {"maglev", "round_robin", "least_request", "random",
					       NULL};
	bool maglev_svc = snap->services[c->service].lb == L4_LB_MAGLEV;
	char lp[CFG_JPATH_LEN], hp[CFG_JPATH_LEN];
	const json_t *v;
	uint8_t p;
	int rc;

	cfg_path_key(lp, path, "lb_policy");
	cfg_path_key(hp, path, "hash_policy");
	v = json_object_get(o, "lb_policy");
	if (json_is_string(v) && strcmp(json_string_value(v), "ring_hash") == 0)
		return cfg_fail(err, lp,
				"\"ring_hash\" is not implemented: \"maglev\" is the consistent "
				"hash (same keys reach the same endpoint, only a lost endpoint's "
				"keys move); use \"lb_policy\": \"maglev\" with \"hash_policy\"");
	if ((rc = cfg_get_enum(o, "lb_policy", path, policies, UINT8_MAX, false, &p, err)) != 0)
		return rc;
	c->lb_policy = p == UINT8_MAX ? L4_PICK_SERVICE : (uint8_t)(p + 1);
	if (c->lb_policy == L4_PICK_MAGLEV && !maglev_svc)
		return cfg_fail(err, lp,
				"\"maglev\" uses the service's Maglev table: service %s needs "
				"\"lb\": \"maglev\"",
				snap->services[c->service].key);
	if ((rc = parse_hash_policy(o, path, c, err)) != 0)
		return rc;
	if (c->n_hash > 0 &&
	    !(c->lb_policy == L4_PICK_MAGLEV || (c->lb_policy == L4_PICK_SERVICE && maglev_svc)))
		return cfg_fail(err, hp,
				"a hash policy needs a consistent hash: lb_policy \"maglev\" or "
				"no lb_policy on a service with \"lb\": \"maglev\"");
	return 0;
}

static int parse_cluster(const struct cfg_snapshot *snap, const json_t *o, const char *path,
			 struct proxy_cluster *c, struct cfg_error *err)
{
	static const char *const bkeys[] = {"max_requests", "max_pending_requests", "max_retries",
					    NULL};
	static const char *const okeys[] = {"failures", NULL};
	static const char *const pkeys[] = {"max_idle_per_endpoint", "max_requests_per_connection",
					    "idle_timeout_s", NULL};
	/* Index = enum proxy_outlier. */
	static const char *const failures[] = {"gateway_error", "5xx", "connect_failure", NULL};
	char bp[CFG_JPATH_LEN], op[CFG_JPATH_LEN], pp[CFG_JPATH_LEN];
	json_t *b, *od, *pool;
	int rc;

	cfg_path_key(bp, path, "circuit_breakers");
	cfg_path_key(op, path, "outlier_detection");
	cfg_path_key(pp, path, "pool");
	if ((rc = cfg_get_section(o, "circuit_breakers", path, &b, err)) != 0 ||
	    (b != NULL && (rc = cfg_check_keys(b, bp, bkeys, err)) != 0) ||
	    (rc = cfg_get_u32(b, "max_requests", bp, 0, CLUSTER_LIMIT_MAX, 0, &c->max_requests,
			      err)) != 0 ||
	    (rc = cfg_get_u32(b, "max_pending_requests", bp, 0, CLUSTER_LIMIT_MAX, 0,
			      &c->max_pending_requests, err)) != 0 ||
	    (rc = cfg_get_u32(b, "max_retries", bp, 0, CLUSTER_LIMIT_MAX, DEF_MAX_RETRIES,
			      &c->max_retries, err)) != 0 ||
	    (rc = cfg_get_section(o, "outlier_detection", path, &od, err)) != 0 ||
	    (od != NULL && (rc = cfg_check_keys(od, op, okeys, err)) != 0) ||
	    (rc = cfg_get_enum(od, "failures", op, failures, PROXY_OUTLIER_GATEWAY, false,
			       &c->outlier, err)) != 0 ||
	    (rc = cfg_get_section(o, "pool", path, &pool, err)) != 0 ||
	    (pool != NULL && (rc = cfg_check_keys(pool, pp, pkeys, err)) != 0) ||
	    (rc = cfg_get_u32(pool, "max_idle_per_endpoint", pp, 0, CLUSTER_POOL_IDLE_MAX,
			      DEF_POOL_IDLE, &c->max_idle_per_endpoint, err)) != 0 ||
	    (rc = cfg_get_u32(pool, "max_requests_per_connection", pp, 0, CLUSTER_LIMIT_MAX, 0,
			      &c->max_requests_per_connection, err)) != 0 ||
	    (rc = cfg_get_u32(pool, "idle_timeout_s", pp, 1, 86400, DEF_POOL_IDLE_S,
			      &c->idle_timeout_s, err)) != 0 ||
	    (rc = tls_cfg_parse_client(o, path, snap, &c->tls, err)) != 0 ||
	    (rc = parse_protocol(o, path, c, err)) != 0 ||
	    (rc = parse_balancer(snap, o, path, c, err)) != 0)
		return rc;
	return 0;
}

static int proxy_cluster_compile(struct cfg_snapshot *snap, const json_t *root,
				 const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	static const char *const keys[] = {
		"service",   "circuit_breakers", "outlier_detection", "pool",  "tls",
		"lb_policy", "hash_policy",	 "protocol",	      "http2", NULL};
	struct proxy_l7_cfg *l7 = snap->proxy_l7;
	bool *seen;
	json_t *arr, *o;
	int rc;

	(void)ctx;
	l7->by_service = calloc(snap->n_services ? snap->n_services : 1, sizeof(*l7->by_service));
	seen = calloc(snap->n_services ? snap->n_services : 1, sizeof(*seen));
	if (l7->by_service == NULL || seen == NULL) {
		free(seen);
		return -ENOMEM;
	}
	for (uint32_t k = 0; k < snap->n_services; k++)
		proxy_cluster_defaults(&l7->by_service[k], k);
	rc = cfg_get_array(root, "clusters", "$", 0, L4_MAX_SERVICES, false, "clusters", &arr, err);
	for (size_t i = 0; rc == 0 && arr != NULL && i < json_array_size(arr); i++) {
		char path[CFG_JPATH_LEN];
		uint32_t sv = 0;

		if ((rc = cfg_get_item(arr, i, "$.clusters", "a cluster object", keys, &o, path,
				       err)) != 0 ||
		    (rc = cluster_service(snap, o, path, &sv, err)) != 0)
			break;
		if (seen[sv]) {
			char sp[CFG_JPATH_LEN];

			cfg_path_key(sp, path, "service");
			rc = cfg_fail(err, sp,
				      "expected a service no other cluster names, got \"%s\" again",
				      snap->services[sv].key);
			break;
		}
		seen[sv] = true;
		if ((rc = parse_cluster(snap, o, path, &l7->by_service[sv], err)) != 0)
			break;
		l7->by_service[sv].index = (int32_t)i;
		l7->n_clusters++;
	}
	free(seen);
	return rc;
}

static void proxy_cluster_free(struct cfg_snapshot *snap)
{
	struct proxy_l7_cfg *l7 = snap->proxy_l7;

	if (l7 == NULL)
		return;
	free(l7->by_service);
	l7->by_service = NULL;
}

static const char *const proxy_cluster_keys[] = {"clusters", NULL};

const struct cfg_section proxy_cluster_section = {
	.name = "clusters",
	.keys = proxy_cluster_keys,
	.compile = proxy_cluster_compile,
	.free = proxy_cluster_free,
	.audit = proxy_audit,
};
