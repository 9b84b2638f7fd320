/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy: the config section $.clusters (struct cfg_section proxy_cluster_section),
 * the L7 options of the services that HTTP routes send requests to, as Envoy's
 * cluster or Istio's DestinationRule trafficPolicy: request-level circuit
 * breakers, what counts as a failure for the endpoint's breaker (outlier
 * detection), and the per-worker upstream connection pool. Endpoints, health,
 * balancer and ejection times stay the service's ($.services[].lb, .breaker,
 * .health; dataplane/l4). A service without an entry gets the defaults.
 *
 * Registered in dataplane/subsystems.c after proxy_cfg_section, which
 * allocates snap->proxy_l7. docs/CONFIG.md ("Clusters") is the schema. Control
 * thread only.
 */
#include <errno.h>
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
	    (rc = tls_cfg_parse_client(o, path, snap, &c->tls, err)) != 0)
		return rc;
	return 0;
}

static int proxy_cluster_compile(struct cfg_snapshot *snap, const json_t *root,
				 const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	static const char *const keys[] = {
		"service", "circuit_breakers", "outlier_detection", "pool", "tls", NULL};
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
};
