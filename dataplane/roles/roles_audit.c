/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The roles section's audit (cfg_section.audit; dataplane/audit/audit.h):
 * SM-DR28, who may change what and whether it is recorded. Without $.roles
 * the audit's own check of control.group reports. Control thread.
 */
#include "../audit/audit.h"
#include "roles_internal.h"

void roles_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	const struct roles_snap *rs = snap->roles;
	unsigned int by_role[ROLES_ADMIN + 1] = {0};

	if (rs == NULL)
		return;
	for (uint32_t i = 0; i < rs->n_bindings; i++)
		by_role[rs->bindings[i].role]++;
	audit_finding(r, "SM-DR28", AUDIT_PASS, "$.roles.bindings",
		      "control-socket peers have roles: %u admin, %u operator (scoped to "
		      "namespaces or services), %u viewer bindings; root is admin, others are "
		      "refused",
		      by_role[ROLES_ADMIN], by_role[ROLES_OPERATOR], by_role[ROLES_VIEWER]);
	if (rs->audit_log[0] == '\0')
		audit_finding(r, "SM-DR28", AUDIT_WARN, "$.roles.audit_log",
			      "admin actions are recorded in the daemon's log only: no audit_log "
			      "file");
	else
		audit_finding(r, "SM-DR28", AUDIT_PASS, "$.roles.audit_log",
			      "every change and every refused command is recorded in %s",
			      rs->audit_log);
}
