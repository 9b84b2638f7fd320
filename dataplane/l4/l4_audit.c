/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The L4 section's audit (cfg_section.audit; dataplane/audit/audit.h): mode,
 * allow-lists, egress and health checks as compiled. Control thread.
 */
#include <stdio.h>
#include <string.h>

#include "../audit/audit.h"
#include "l4.h"

static bool l4_policy_from_anyone(const struct l4_policy *p)
{
	return strcmp(p->from_ns, "*") == 0 && strcmp(p->from_service, "*") == 0;
}

/* SM-DR1, SM-DR2: mesh mode, and each service allowed only to named workloads. */
static void l4_audit_allow_lists(const struct cfg_snapshot *snap, struct audit_report *r)
{
	unsigned int open = 0, unreachable = 0;
	char path[64];

	if (snap->mode != CFG_MODE_MESH) {
		audit_finding(r, "SM-DR1", AUDIT_FAIL, "$.mode",
			      "mode is router: nothing is refused, policies are not enforced");
		return;
	}
	audit_finding(r, "SM-DR1", AUDIT_PASS, "$.mode",
		      "mesh mode: inside the mesh only the %u service VIPs' declared ports are "
		      "reachable, and only as policies allow",
		      snap->n_services);
	for (uint32_t i = 0; i < snap->n_policies; i++) {
		const struct l4_policy *p = &snap->policies[i];

		if (p->deny || !l4_policy_from_anyone(p) || p->to_external)
			continue;
		snprintf(path, sizeof(path), "$.policies[%u]", i);
		audit_finding(r, "SM-DR2", AUDIT_WARN, path,
			      "policy %s allows every workload to reach service %s", p->name,
			      snap->services[p->target].key);
		open++;
	}
	for (uint32_t s = 0; s < snap->n_services; s++) {
		bool allowed = false;

		for (uint32_t i = 0; i < snap->n_policies && !allowed; i++)
			allowed = !snap->policies[i].deny && !snap->policies[i].to_external &&
				  snap->policies[i].target == s;
		if (allowed)
			continue;
		snprintf(path, sizeof(path), "$.services[%u]", s);
		audit_finding(r, "SM-DR2", AUDIT_WARN, path,
			      "no policy allows service %s: no workload can reach it",
			      snap->services[s].key);
		unreachable++;
	}
	if (open == 0 && unreachable == 0 && snap->n_services > 0)
		audit_finding(r, "SM-DR2", AUDIT_PASS, "$.policies",
			      "each of the %u services is reachable only from the workloads its "
			      "%u policies name",
			      snap->n_services, snap->n_policies);
}

/* SM-DR8: egress default-deny; external services that are the whole internet. */
static void l4_audit_egress(const struct cfg_snapshot *snap, struct audit_report *r)
{
	bool weak = false;
	char path[80];

	if (snap->mode != CFG_MODE_MESH) {
		audit_finding(r, "SM-DR8", AUDIT_FAIL, "$.mode",
			      "mode is router: traffic leaves the mesh unchecked");
		return;
	}
	for (uint32_t e = 0; e < snap->n_externals; e++) {
		const struct l4_external *x = &snap->externals[e];

		for (unsigned int k = 0; k < x->n_prefixes; k++) {
			if (x->prefixes[k].len != 0)
				continue;
			snprintf(path, sizeof(path), "$.external_services[%u].prefixes[%u]", e, k);
			audit_finding(r, "SM-DR8", AUDIT_FAIL, path,
				      "external service %s is every address: egress is open",
				      x->name);
			weak = true;
		}
	}
	for (uint32_t i = 0; i < snap->n_policies; i++) {
		const struct l4_policy *p = &snap->policies[i];

		if (p->deny || !p->to_external || !l4_policy_from_anyone(p))
			continue;
		snprintf(path, sizeof(path), "$.policies[%u]", i);
		audit_finding(r, "SM-DR8", AUDIT_WARN, path,
			      "policy %s lets every workload reach external service %s", p->name,
			      snap->externals[p->target].name);
		weak = true;
	}
	if (!weak)
		audit_finding(r, "SM-DR8", AUDIT_PASS, "$.external_services",
			      "egress is default-deny: %u external services declared, each reached "
			      "only as policies allow",
			      snap->n_externals);
}

/* SM-DR26: active health checks on every service with endpoints. */
static void l4_audit_health(const struct cfg_snapshot *snap, struct audit_report *r)
{
	unsigned int checked = 0;
	char path[64];

	for (uint32_t s = 0; s < snap->n_services; s++) {
		const struct l4_service *sv = &snap->services[s];

		if (sv->n_endpoints == 0)
			continue;
		if (sv->health.interval_ms != 0) {
			checked++;
			continue;
		}
		snprintf(path, sizeof(path), "$.services[%u].health.interval_ms", s);
		audit_finding(r, "SM-DR26", AUDIT_WARN, path,
			      "service %s has no active health checks: a dead endpoint is found "
			      "only by failed connections",
			      sv->key);
	}
	if (checked > 0)
		audit_finding(r, "SM-DR26", AUDIT_PASS, "$.services",
			      "%u services' endpoints are health-checked", checked);
}

void l4_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	l4_audit_allow_lists(snap, r);
	l4_audit_egress(snap, r);
	l4_audit_health(snap, r);
}
