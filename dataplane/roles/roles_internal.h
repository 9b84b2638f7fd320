/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What roles.c, roles_config.c, roles_commands.c and roles_audit.c share.
 * Control thread only.
 */
#ifndef MESHDP_ROLES_INTERNAL_H
#define MESHDP_ROLES_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "roles.h"

#define ROLES_MAX_BINDINGS 256
#define ROLES_MAX_SCOPE	   32		      /* entries of one operator's scope */
#define ROLES_SCOPE_LEN	   (2 * CFG_NAME_MAX) /* "namespace" or "namespace/service" */
#define ROLES_GRANT_SCOPE  512		      /* scope entries one peer gathers from its bindings */

enum roles_role {
	ROLES_NONE = 0, /* no binding names the peer: refused everything */
	ROLES_VIEWER,
	ROLES_OPERATOR,
	ROLES_ADMIN,
};

enum roles_subject {
	ROLES_UID, /* "uid" or "user" (resolved to its uid when compiled) */
	ROLES_GID, /* "group" (resolved to its gid when compiled) */
};

struct roles_binding {
	uint8_t subject;	 /* enum roles_subject */
	uint8_t role;		 /* enum roles_role */
	uint32_t id;		 /* uid or gid */
	char name[CFG_NAME_MAX]; /* the user or group as written, "" for a bare uid */
	uint8_t n_scope;	 /* operators: namespaces "ns" or services "ns/svc"; "*": all */
	char scope[ROLES_MAX_SCOPE][ROLES_SCOPE_LEN];
};

/** The section's part of the snapshot (snap->roles); absent without $.roles. */
struct roles_snap {
	char audit_log[CFG_PATH_MAX]; /* "": the daemon's log only */
	uint32_t n_bindings;
	struct roles_binding bindings[];
};

/** What a peer may do: its role and, for an operator, the union of its scopes. */
struct roles_grant {
	enum roles_role role;
	char source[96]; /* where the role comes from: "root", "no $.roles", "user alice" */
	uint32_t n_scope;
	const char *scope[ROLES_GRANT_SCOPE]; /* into the snapshot's bindings */
};

/** The grant of @p peer under @p rs (NULL: no $.roles, everyone admin). */
void roles_grant_of(const struct roles_snap *rs, const struct control_peer *peer,
		    struct roles_grant *g);

/** Does @p g's scope cover service @p svc of namespace @p ns (@p svc NULL: the whole namespace)? */
bool roles_scope_covers(const struct roles_grant *g, const char *ns, const char *svc);

/** "viewer", "operator", "admin" or "none". */
const char *roles_role_name(enum roles_role role);

/** The section's audit hook (roles_audit.c; cfg_section.audit). */
void roles_audit(const struct cfg_snapshot *snap, struct audit_report *r);

#endif
