/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * roles: who may change what over the control socket (SM-DR28).
 *
 * $.roles binds control-socket peers (SO_PEERCRED uid, user or group) to a
 * role: viewer (commands that change nothing), operator (those, and
 * config.apply_namespace for the namespaces or single services of its scope)
 * or admin (everything). Root is always admin; a peer the socket admits (root
 * or control.group) that no binding names is refused every command. Without
 * $.roles every admitted peer is admin, as before roles existed (meshctl audit
 * warns about a control group then).
 *
 * Every command that changes state, and every refused command, is written to
 * the admin audit log: one JSON line {time, uid, user, role, cmd, namespace,
 * result, reason, generation} to $.roles.audit_log (and the daemon's log).
 *
 * The control server asks through struct control_guard (roles_guard), so
 * control does not depend on roles. Control thread only.
 */
#ifndef MESHDP_ROLES_H
#define MESHDP_ROLES_H

#include "../config/config.h"
#include "../control/control.h"

/** $.roles (roles_config.c). */
extern const struct cfg_section roles_cfg_section;

/** config.apply_namespace (roles_commands.c). */
extern const struct control_cmd_set roles_commands;

struct roles_grant;

/**
 * Merge namespace @p ns's document @p frag into configuration document @p doc
 * (roles_merge.c): each of services, workloads, policies and clusters that
 * @p frag has replaces @p ns's entries of it. @p g: the grant of the operator
 * asking (single-service scopes checked), NULL for none. *@p n_entries the
 * entries @p frag brought.
 * @return 0, or -EINVAL / -EPERM / -ENOMEM with @p why filled.
 */
int roles_namespace_merge(json_t *doc, const json_t *frag, const char *ns,
			  const struct roles_grant *g, unsigned int *n_entries, char *why,
			  size_t len);

/** What control_dispatch() asks before and after each command (roles.c). */
extern const struct control_guard roles_guard;

#endif
