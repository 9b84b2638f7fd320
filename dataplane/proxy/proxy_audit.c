/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The proxies' audit (cfg_section.audit of $.clusters, which runs after the
 * listeners are compiled; dataplane/audit/audit.h): how each listener
 * authenticates its clients, whether its upstream is encrypted and named,
 * which HTTP listeners are egress gateways, and the clusters' circuit breakers. Control thread.
 */
#include <stdio.h>

#include "../audit/audit.h"
#include "proxy_internal.h"

static const char *const proxy_audit_types[] = {"tcp_proxy", "http"};

/* SM-DR16 / SM-DR19 / SM-DR2 for one identity (default or SNI entry) of a listener. */
static void proxy_audit_policy(struct audit_report *r, const struct cfg_listener *l,
			       const struct tls_cfg_policy *p, const char *path)
{
	switch (p->mtls) {
	case TLS_MTLS_STRICT:
		audit_finding(r, "SM-DR16", AUDIT_PASS, path,
			      "listener %s requires a client certificate verified against the "
			      "trust bundles (mtls strict)",
			      l->name);
		if (p->n_allowed == 0)
			audit_finding(r, "SM-DR2", AUDIT_WARN, path,
				      "listener %s admits every verified workload: no "
				      "allowed_peers",
				      l->name);
		break;
	case TLS_MTLS_PERMISSIVE:
		audit_finding(r, "SM-DR19", AUDIT_WARN, path,
			      "listener %s is permissive: plaintext and clients without a "
			      "certificate are served",
			      l->name);
		break;
	default:
		audit_finding(r, "SM-DR19", AUDIT_WARN, path,
			      "listener %s asks no client certificate (mtls disable): clients are "
			      "not authenticated",
			      l->name);
		break;
	}
}

static void proxy_audit_listener(const struct cfg_snapshot *snap, struct audit_report *r,
				 uint32_t i)
{
	const struct cfg_listener *l = &snap->listeners[i];
	const struct tls_server_conf *tls = tls_cfg_listener_get(snap, i);
	char path[96];

	snprintf(path, sizeof(path), "$.listeners[%u]", i);
	if (tls == NULL) {
		audit_finding(r, "SM-DR16", AUDIT_FAIL, path,
			      "%s listener %s accepts plaintext: it has no tls block",
			      proxy_audit_types[l->type], l->name);
		return;
	}
	snprintf(path, sizeof(path), "$.listeners[%u].tls", i);
	proxy_audit_policy(r, l, &tls->def, path);
	for (unsigned int k = 0; k < tls->n_sni; k++) {
		snprintf(path, sizeof(path), "$.listeners[%u].tls.sni[%u]", i, k);
		proxy_audit_policy(r, l, &tls->sni[k], path);
	}
	snprintf(path, sizeof(path), "$.listeners[%u].tls.drain_window_s", i);
	audit_finding(r, "SM-DR14", AUDIT_PASS, path,
		      "listener %s closes the connections of a replaced or expiring identity "
		      "within %u s",
		      l->name, tls->drain_window_s);
}

static void proxy_cluster_path(const struct proxy_cluster *cl, const char *member, char *path,
			       size_t len)
{
	if (cl->index < 0)
		snprintf(path, len, "$.clusters");
	else
		snprintf(path, len, "$.clusters[%d]%s", cl->index, member);
}

/* SM-DR16 / SM-DR17: the upstream of a tcp_proxy listener. */
static void proxy_audit_upstream(const struct cfg_snapshot *snap, struct audit_report *r,
				 uint32_t i)
{
	const struct cfg_listener *l = &snap->listeners[i];
	const struct proxy_cluster *cl;
	const char *key;
	char path[96];

	if (l->type == CFG_LISTENER_HTTP) {
		snprintf(path, sizeof(path), "$.listeners[%u]", i);
		audit_finding(r, "SM-DR16", AUDIT_WARN, path,
			      "HTTP listener %s sends requests to endpoints in plaintext (TLS "
			      "origination is built for tcp_proxy listeners only)",
			      l->name);
		return;
	}
	cl = &((const struct proxy_l7_cfg *)snap->proxy_l7)->by_service[l->service];
	key = snap->services[l->service].key;
	if (!cl->tls.enabled) {
		proxy_cluster_path(cl, "", path, sizeof(path));
		audit_finding(r, "SM-DR16", AUDIT_WARN, path,
			      "listener %s connects to service %s's endpoints in plaintext: its "
			      "cluster has no tls block",
			      l->name, key);
		return;
	}
	/* the config requires expected_peer with a tls block: secure naming is on */
	proxy_cluster_path(cl, ".tls.expected_peer", path, sizeof(path));
	audit_finding(r, "SM-DR17", AUDIT_PASS, path, "service %s's endpoints must present %s", key,
		      cl->tls.expected_peer);
}

/* SM-DR9: request-level breakers and outlier detection of the clusters written. */
static void proxy_audit_clusters(const struct cfg_snapshot *snap, struct audit_report *r)
{
	const struct proxy_l7_cfg *l7 = snap->proxy_l7;
	char path[96];

	for (uint32_t s = 0; s < snap->n_services; s++) {
		const struct proxy_cluster *cl = &l7->by_service[s];

		if (cl->index < 0)
			continue;
		proxy_cluster_path(cl, ".circuit_breakers", path, sizeof(path));
		if (cl->max_requests == 0 && cl->max_pending_requests == 0)
			audit_finding(r, "SM-DR9", AUDIT_WARN, path,
				      "cluster %s has no request-level circuit breaker "
				      "(max_requests, max_pending_requests)",
				      snap->services[s].key);
		else
			audit_finding(r, "SM-DR9", AUDIT_PASS, path,
				      "cluster %s: at most %u requests in flight, %u pending, %u "
				      "retries (0: no limit)",
				      snap->services[s].key, cl->max_requests,
				      cl->max_pending_requests, cl->max_retries);
	}
}

/* SM-DR10: HTTP listeners that are egress gateways (outbound_policy registry_only). */
static void proxy_audit_egress(const struct cfg_snapshot *snap, struct audit_report *r, uint32_t i)
{
	const struct cfg_listener *l = &snap->listeners[i];
	char path[96];

	if (l->type != CFG_LISTENER_HTTP ||
	    ((const struct proxy_l7_cfg *)snap->proxy_l7)->http[i].outbound !=
		    PROXY_OUTBOUND_REGISTRY_ONLY)
		return;
	snprintf(path, sizeof(path), "$.listeners[%u].http.outbound_policy", i);
	if (snap->n_ext_hosts == 0)
		audit_finding(r, "SM-DR10", AUDIT_WARN, path,
			      "egress gateway %s refuses every request: no external service "
			      "declares a host",
			      l->name);
	else
		audit_finding(r, "SM-DR10", AUDIT_PASS, path,
			      "egress gateway %s passes only the %u hosts external services "
			      "declare, on their ports, to their addresses",
			      l->name, snap->n_ext_hosts);
}

void proxy_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	for (uint32_t i = 0; i < snap->n_listeners; i++) {
		proxy_audit_listener(snap, r, i);
		proxy_audit_upstream(snap, r, i);
		proxy_audit_egress(snap, r, i);
	}
	proxy_audit_clusters(snap, r);
}
