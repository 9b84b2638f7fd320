/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * authz: peer authentication scopes and authorization policies, as Istio's
 * PeerAuthentication and AuthorizationPolicy (SM-DR19; docs/CONFIG.md
 * "Peer authentication and authorization").
 *
 * One config section (authz_cfg_section) owns $.peer_authentication and
 * $.authorization and compiles after the proxy's (it reads the listeners'
 * tls blocks and the services):
 *   - peer_authentication: the mTLS mode (strict / permissive / disable) of
 *     the mesh, of a namespace, of one runtime identity (a SPIFFE ID a
 *     listener serves with); the most specific wins, and a listener's own
 *     tls.mtls (a port-level setting) wins over all of them. The section
 *     writes the effective mode into the listeners' tls blocks before the
 *     proxies build their TLS contexts.
 *   - authorization: allow / deny / audit policies scoped to the mesh, a
 *     namespace or one service of a namespace, compiled per destination
 *     service into a rule set (struct authz_set) whose decision is a few hash
 *     lookups per request dimension and bitset ANDs (authz.c), never a walk
 *     of every rule.
 *
 * Decision for a request to service S: the deny rules that apply to S are
 * checked first (one match: denied); audit rules that match are counted and
 * logged; then, when any allow policy applies to S, the request needs an
 * allow rule that matches (else denied: "no allow rule"); with none it is
 * allowed.
 *
 * Request principals ("iss/sub" of a verified JWT) are an indexed dimension
 * like source principals; JWT claims (when: request.auth.claims[NAME]) are
 * checked on the candidate clauses, like headers. dataplane/jwt verifies the
 * token and fills struct authz_request with them.
 *
 * The scope model (name, namespace, selector.service: mesh, namespace or one
 * service) is shared with dataplane/jwt's request-authentication policies:
 * authz_scope_parse() and authz_scope_applies().
 *
 * Threads: compile on the control thread; authz_check() on a worker, with
 * the snapshot it runs; denials are counted per worker (STAT_AUTHZ_*) and per
 * policy (node-wide atomics kept by policy name across swaps), and handed to
 * the control thread through a lock-free ring, which logs them rate-limited
 * (authz_commands.c).
 */
#ifndef MESHDP_AUTHZ_H
#define MESHDP_AUTHZ_H

#include <stdbool.h>
#include <stdint.h>

#include "../config/config.h"
#include "../control/control.h"
#include "../router/router.h"
#include "../stats/stats.h"

struct log_buf;

/** What a decision looks at. HTTP fields are empty on a TCP connection (http false). */
struct authz_request {
	const char *principal; /* the peer's verified SPIFFE ID, NUL-terminated; "" or NULL: none */
	uint8_t family;	       /* of addr: 4 or 6 */
	const uint8_t *addr;   /* the client's address, network order (4 or 16 bytes) */
	uint16_t port;	       /* the destination (listener) port, host order */
	bool http;
	/* as the router sees them (router.h): Host (a port after ':' is ignored),
	 * method, path without the query, headers [n_headers][name, value] */
	struct router_str host, method, path;
	const struct router_str (*headers)[2];
	uint32_t n_headers;
	/* a verified JWT (dataplane/jwt): "iss/sub" (NULL or "": none) and its
	 * claims [name, value], an array claim one row per string element */
	const char *request_principal;
	const struct router_str (*claims)[2];
	uint32_t n_claims;
};

enum authz_verdict {
	AUTHZ_ALLOW = 0,
	AUTHZ_DENY,
};

/** A decision and why. */
struct authz_decision {
	enum authz_verdict verdict;
	/* index of the deciding policy in the snapshot (a deny, or the allow that
	 * matched); -1: no policy decided (no allow policy applies, or none of the
	 * allow rules matched: verdict says which) */
	int32_t policy;
	uint32_t n_audit; /* audit policies that matched (counted and logged) */
};

/**
 * Decide for @p rq to service @p service (an index into snap->services) with
 * the rule set compiled for it, without counting. Any thread holding @p snap.
 */
void authz_decide(const struct cfg_snapshot *snap, uint32_t service, const struct authz_request *rq,
		  struct authz_decision *d);

/**
 * authz_decide(), counted (per worker into @p stats, per policy node-wide)
 * and, for denials and audits, handed to the control thread's log.
 * Worker. @return true: allowed.
 */
bool authz_check(const struct cfg_snapshot *snap, uint32_t service, const struct authz_request *rq,
		 struct stats_block *stats);

/** Does any authorization policy apply to @p service? (Callers may skip building a request.) */
bool authz_active(const struct cfg_snapshot *snap, uint32_t service);

/** The Prometheus series of the policies' counters (admin's /metrics). Any thread holding @p snap. */
void authz_render_metrics(const struct cfg_snapshot *snap, struct log_buf *b);

enum authz_scope {
	AUTHZ_SCOPE_MESH = 0,
	AUTHZ_SCOPE_NAMESPACE,
	AUTHZ_SCOPE_SERVICE,
};

#define AUTHZ_KEY_MAX (2 * CFG_NAME_MAX + 2) /* "<namespace>/<name>", "mesh/<name>" */

/** Where a policy applies: the mesh, a namespace, or one service of a namespace. */
struct authz_scope_sel {
	char name[CFG_NAME_MAX];
	char ns[CFG_NAME_MAX];	    /* "" for the mesh */
	char service[CFG_NAME_MAX]; /* selector.service; "" */
	char key[AUTHZ_KEY_MAX];    /* "<namespace>/<name>", "mesh/<name>" */
	uint8_t scope;		    /* enum authz_scope */
};

/**
 * The members "name" (required), "namespace" and "selector" {"service"} of
 * policy object @p o at @p path into @p sel (the caller checks @p o's other
 * members); the selected service must exist in @p snap. Control thread.
 * @return 0, or -EINVAL with @p err naming the member.
 */
int authz_scope_parse(const struct json_t *o, const char *path, const struct cfg_snapshot *snap,
		      struct authz_scope_sel *sel, struct cfg_error *err);

/** Does a policy scoped by @p sel apply to service @p service (an index into snap->services)? */
bool authz_scope_applies(const struct authz_scope_sel *sel, const struct cfg_snapshot *snap,
			 uint32_t service);

/** $.peer_authentication and $.authorization (dataplane/subsystems.c). */
extern const struct cfg_section authz_cfg_section;

/** authn (effective mTLS modes), authz (policies and their counters); the denial log's tick. */
extern const struct control_cmd_set authz_commands;

#endif
