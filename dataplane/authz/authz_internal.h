/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * authz: the compiled form (private to dataplane/authz).
 *
 * A policy's rules are flattened into clauses: one per (from entry, to entry)
 * pair of a rule, each a conjunction of conditions, the values of one
 * condition a disjunction (Istio's semantics). A rule set (struct
 * authz_set) holds the clauses of every policy that applies to a group of
 * services (the mesh's, a namespace's, one service's), numbered 0..n-1.
 *
 * The positive conditions of each request dimension (principal, source
 * namespace, host, method, path, port) are indexed per set: a hash of
 * patterns (exact, prefix*, *suffix) to posting lists of clauses, the
 * distinct prefix and suffix lengths, and the clauses without a condition on
 * the dimension ("any"). A request's matching clauses per dimension are
 * "any" plus the postings of at most 1 + #prefix lengths + #suffix lengths
 * lookups; the dimensions' bitsets are ANDed. IP blocks are a list of
 * distinct prefixes. Negative conditions (not_*), headers, and the source
 * IP blocks' clauses are checked only on the candidate clauses that remain.
 */
#ifndef MESHDP_AUTHZ_INTERNAL_H
#define MESHDP_AUTHZ_INTERNAL_H

#include <stdatomic.h>

#include "../l4/l4.h"
#include "authz.h"

#define AUTHZ_MAX_POLICIES   16384
#define AUTHZ_MAX_RULES	     16384 /* per policy */
#define AUTHZ_MAX_VALUES     4096  /* per condition */
#define AUTHZ_MAX_CLAUSES    65536 /* per rule set */
#define AUTHZ_MAX_PEER_AUTH  4096
#define AUTHZ_VALUE_MAX	     256
#define AUTHZ_LOG_RING	     1024 /* denial records waiting for the control thread */
#define AUTHZ_LOG_PER_SECOND 20	  /* denial log lines per second; the rest summed */

enum authz_action {
	AUTHZ_ACT_ALLOW = 0,
	AUTHZ_ACT_DENY,
	AUTHZ_ACT_AUDIT,
};

/* Request dimensions with an index; the order is struct authz_cond's kind. */
enum authz_dim {
	AUTHZ_DIM_PRINCIPAL = 0,
	AUTHZ_DIM_NAMESPACE,
	AUTHZ_DIM_HOST,
	AUTHZ_DIM_METHOD,
	AUTHZ_DIM_PATH,
	AUTHZ_DIM_PORT,
	AUTHZ_DIM_REQ_PRINCIPAL, /* a verified JWT's "iss/sub" */
	AUTHZ_DIM_N,
	AUTHZ_DIM_IP = AUTHZ_DIM_N, /* a prefix list, not an index */
	AUTHZ_DIM_HEADER,	    /* residual only */
	AUTHZ_DIM_CLAIM,	    /* residual only: a JWT claim (name in header[]) */
};

enum authz_pat_type {
	AUTHZ_PAT_EXACT = 0,
	AUTHZ_PAT_PREFIX, /* "abc*" */
	AUTHZ_PAT_SUFFIX, /* "*abc" */
	AUTHZ_PAT_ANY,	  /* "*" */
};

struct authz_pat {
	uint8_t type; /* enum authz_pat_type */
	uint32_t len;
	char *s; /* without the '*'; lower case for hosts */
};

/* One condition of a clause: a dimension, its values (any one matches), negated or not. */
struct authz_cond {
	uint8_t dim; /* enum authz_dim */
	bool negate;
	char header[64]; /* AUTHZ_DIM_HEADER: the name, lower case; AUTHZ_DIM_CLAIM: the claim's */
	uint32_t n_pats;
	struct authz_pat *pats;
	uint32_t n_prefixes; /* AUTHZ_DIM_IP */
	struct cfg_prefix *prefixes;
};

/* One conjunction of a policy's rule. */
struct authz_clause {
	uint32_t policy; /* index into authz_snap.policies */
	uint8_t action;	 /* enum authz_action */
	bool http_only;	 /* has a host, method, path or header condition */
	uint32_t n_conds;
	struct authz_cond *conds; /* all of them (positive ones are also indexed) */
	uint32_t n_residual;
	uint32_t *residual; /* indexes into conds[] checked on candidates */
};

/* Node-wide counters of one policy, kept by its key for the process's life. */
struct authz_policy_rt {
	_Atomic uint64_t allowed; /* requests an allow policy's rule let through */
	_Atomic uint64_t denied;  /* requests a deny policy refused */
	_Atomic uint64_t audited; /* requests an audit policy's rule matched */
	char key[AUTHZ_KEY_MAX];
	struct authz_policy_rt *next; /* control thread: the global list */
} __rte_cache_aligned;

struct authz_policy {
	char name[CFG_NAME_MAX];
	char ns[CFG_NAME_MAX];	    /* "" for the mesh */
	char service[CFG_NAME_MAX]; /* selector.service; "" */
	char key[AUTHZ_KEY_MAX];    /* "<namespace>/<name>", "mesh/<name>" */
	uint8_t action;		    /* enum authz_action */
	uint8_t scope;		    /* enum authz_scope */
	uint32_t n_rules;
	struct authz_policy_rt *rt;
};

/* An index entry: a pattern of one dimension and the clauses that name it. */
struct authz_entry {
	uint32_t hash;
	uint8_t type; /* enum authz_pat_type: EXACT, PREFIX or SUFFIX */
	uint32_t len;
	const char *s;
	uint32_t n_post, cap_post;
	uint32_t *post;
};

struct authz_dim_index {
	bool used;     /* some clause has a positive condition here */
	uint64_t *any; /* clauses without one (or with "*") */
	uint32_t mask; /* table size - 1 */
	uint32_t n;    /* entries */
	struct authz_entry *tab;
	uint32_t n_plen, n_slen;
	uint32_t *plen, *slen; /* distinct prefix / suffix lengths, ascending */
};

struct authz_ip_entry {
	struct cfg_prefix pfx;
	uint32_t n_post, cap_post;
	uint32_t *post;
};

struct authz_set {
	uint32_t n_clauses, words;
	struct authz_clause *clauses;
	uint64_t *deny, *allow, *audit; /* clauses by action */
	bool has_allow;			/* an allow policy applies (even without rules) */
	bool has_deny, has_audit;	/* some clause of that action: else its pass is skipped */
	struct authz_dim_index dims[AUTHZ_DIM_N];
	bool ip_used;
	uint64_t *ip_any;
	uint32_t n_ip;
	struct authz_ip_entry *ip;
};

/* A listener identity's effective mTLS mode and where it came from (meshctl authn). */
struct authz_authn_row {
	uint32_t listener;
	int32_t sni; /* -1: the default identity */
	char identity[256];
	uint8_t mode;	/* enum tls_mtls */
	int32_t source; /* index into $.peer_authentication; -1 listener's own; -2 default */
	uint8_t scope;	/* of that entry */
};

struct authz_snap {
	uint32_t n_policies;
	struct authz_policy *policies;
	uint32_t n_sets;
	struct authz_set *sets;
	int32_t *set_of; /* [n_services]: set index, -1 none */
	uint32_t n_authn;
	struct authz_authn_row *authn;
};

/* A denial (or an audit match) on its way to the control thread's log. */
struct authz_event {
	uint8_t action; /* enum authz_action of the deciding policy; AUTHZ_ACT_ALLOW: no allow rule */
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	char policy[AUTHZ_KEY_MAX];
	char service[L4_KEY_MAX];
	char principal[160];
	char method[16];
	char path[96];
} __attribute__((aligned(8))); /* a ring element's size is a multiple of 4 */

/* authz_audit.c: SM-DR19 findings (cfg_section.audit) */
struct audit_report;
void authz_audit(const struct cfg_snapshot *snap, struct audit_report *r);

/* authz.c */
void authz_ring_init(void);
void authz_event_post(const struct authz_event *ev);
unsigned int authz_event_take(struct authz_event *out, unsigned int max);
uint64_t authz_events_lost(void);
bool authz_pat_match(const struct authz_pat *p, const char *s, uint32_t len);
uint32_t authz_hash(uint8_t type, const char *s, uint32_t len);
const char *authz_action_name(uint8_t action);

#endif
