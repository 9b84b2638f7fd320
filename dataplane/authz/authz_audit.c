/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The authz section's audit (cfg_section.audit; dataplane/audit/audit.h):
 * SM-DR19, the identities whose mTLS mode a peer_authentication entry sets
 * (strict passes, permissive and disable warn, at the entry's path) and the
 * services the authorization policies cover. Nothing is reported for a
 * document without either member. Control thread.
 */
#include <string.h>

#include "../audit/audit.h"
#include "../tls/tls.h"
#include "authz_internal.h"

void authz_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	static const char *const modes[] = {"strict", "permissive", "disable"};
	const struct authz_snap *as = snap->authz;
	uint32_t covered = 0, default_deny = 0;
	char path[64];

	if (as == NULL)
		return;
	for (uint32_t i = 0; i < as->n_authn; i++) {
		const struct authz_authn_row *row = &as->authn[i];

		if (row->source < 0)
			continue; /* the listener's own mode: the proxy section reports it */
		snprintf(path, sizeof(path), "$.peer_authentication[%d].mtls.mode", row->source);
		audit_finding(r, "SM-DR19", row->mode == TLS_MTLS_STRICT ? AUDIT_PASS : AUDIT_WARN,
			      path, "listener %s, identity %s: mTLS %s",
			      snap->listeners[row->listener].name, row->identity,
			      modes[row->mode % 3]);
	}
	if (as->n_policies == 0)
		return;
	for (uint32_t s = 0; as->set_of != NULL && s < snap->n_services; s++) {
		if (as->set_of[s] < 0)
			continue;
		covered++;
		default_deny += as->sets[as->set_of[s]].has_allow;
	}
	audit_finding(r, "SM-DR19", covered == snap->n_services ? AUDIT_PASS : AUDIT_WARN,
		      "$.authorization",
		      "%u authorization policies cover %u of %u services (%u deny what no allow "
		      "rule matches)",
		      as->n_policies, covered, snap->n_services, default_deny);
}
