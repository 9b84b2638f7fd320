/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The audit (audit.h): the requirement table, findings, the checks that belong
 * to no section, and the run over every section's hook. Control thread only.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../control/control.h"
#include "audit.h"

/*
 * SM-DR1 to SM-DR28. "checked": a data plane's configuration can meet or miss
 * it, so a report says something about it even when no section did; the others
 * are the control plane's (the CA, the config store) or are met by how meshdp
 * is built whatever the document says (docs/NIST.md).
 */
static const struct {
	const char *id;
	const char *title;
	bool checked;
} audit_reqs[] = {
	{"SM-DR1", "allow-lists for service-to-service traffic", true},
	{"SM-DR2", "reachability by namespace, service and identity", true},
	{"SM-DR3", "protocol translation", false},
	{"SM-DR4", "extensibility", false},
	{"SM-DR5", "configuration changes without losing traffic", false},
	{"SM-DR6", "an identity for every workload", false},
	{"SM-DR7", "ingress gateway", false},
	{"SM-DR8", "egress default-deny with declared external services", true},
	{"SM-DR9", "resilience: timeouts, retries, circuit breakers, outlier detection", true},
	{"SM-DR10", "egress gateway", true},
	{"SM-DR11", "identities issued by the mesh's certificate authority", false},
	{"SM-DR12", "no self-signed workload certificates", true},
	{"SM-DR13", "short-lived certificates", true},
	{"SM-DR14", "rotation without stale sessions", true},
	{"SM-DR15", "workload certificates cannot act as CAs", true},
	{"SM-DR16", "mutual TLS between services", true},
	{"SM-DR17", "secure naming", true},
	{"SM-DR18", "the peer's verified identity available to authorization", false},
	{"SM-DR19", "peer authentication modes and scopes", true},
	{"SM-DR20", "request authentication (end-user tokens)", true},
	{"SM-DR21", "security event log", true},
	{"SM-DR22", "access logs of non-2xx responses", true},
	{"SM-DR23", "metrics", true},
	{"SM-DR24", "distributed tracing", true},
	{"SM-DR25", "configuration from a robust store", false},
	{"SM-DR26", "health checks", true},
	{"SM-DR27", "CORS at the edge", false},
	{"SM-DR28", "administrative roles", true},
};

#define AUDIT_N_REQS RTE_DIM(audit_reqs)

struct audit_report {
	json_t *by_req[AUDIT_N_REQS + 1]; /* findings per requirement; the last: unknown ones */
	unsigned int count[3];		  /* by enum audit_result */
	bool oom;
};

static const char *const audit_result_names[] = {"PASS", "WARN", "FAIL"};

static int audit_req_index(const char *req)
{
	for (unsigned int i = 0; i < AUDIT_N_REQS; i++)
		if (strcmp(audit_reqs[i].id, req) == 0)
			return (int)i;
	return -1;
}

void audit_finding(struct audit_report *r, const char *req, enum audit_result result,
		   const char *path, const char *fmt, ...)
{
	int idx = audit_req_index(req);
	const char *title = idx >= 0 ? audit_reqs[idx].title : "unknown requirement";
	char reason[512];
	va_list ap;
	json_t *f;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (idx < 0) {
		result = AUDIT_FAIL;
		idx = (int)AUDIT_N_REQS;
	}
	f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "requirement", req, "title", title, "result",
		      audit_result_names[result], "path", path, "reason", reason);
	if (f == NULL || json_array_append_new(r->by_req[idx], f) != 0) {
		r->oom = true;
		return;
	}
	r->count[result]++;
}

/* What belongs to no section: the admin endpoint and the control socket. */
static void audit_core(const struct cfg_snapshot *snap, struct audit_report *r)
{
	const struct cfg_startup *st = &snap->startup;

	if (st->admin_listen[0] == '\0')
		audit_finding(r, "SM-DR23", AUDIT_WARN, "$.admin.listen",
			      "the admin HTTP endpoint is off: nothing serves /metrics");
	else
		audit_finding(r, "SM-DR23", AUDIT_PASS, "$.admin.listen",
			      "Prometheus metrics on %s/metrics (loopback only, read-only)",
			      st->admin_listen);
	if (st->control_group[0] == '\0')
		audit_finding(r, "SM-DR28", AUDIT_PASS, "$.control.group",
			      "only root may use the control socket %s", st->control_socket);
	else if (snap->roles == NULL)
		audit_finding(r, "SM-DR28", AUDIT_WARN, "$.control.group",
			      "every member of group %s may run every command on %s: no $.roles "
			      "limits what each may change",
			      st->control_group, st->control_socket);
}

json_t *audit_snapshot(const struct cfg_snapshot *snap)
{
	struct audit_report r = {.oom = false};
	const struct cfg_section *const *sections;
	unsigned int n_sections;
	json_t *findings = NULL, *out = NULL;

	for (unsigned int i = 0; i <= AUDIT_N_REQS; i++)
		if ((r.by_req[i] = json_array()) == NULL)
			goto done;
	audit_core(snap, &r);
	sections = cfg_sections_get(&n_sections);
	for (unsigned int i = 0; i < n_sections; i++)
		if (sections[i]->audit != NULL)
			sections[i]->audit(snap, &r);
	for (unsigned int i = 0; i < AUDIT_N_REQS; i++)
		if (audit_reqs[i].checked && json_array_size(r.by_req[i]) == 0)
			audit_finding(&r, audit_reqs[i].id, AUDIT_WARN, "$",
				      "nothing in this configuration meets it");
	if (r.oom || (findings = json_array()) == NULL)
		goto done;
	for (unsigned int i = 0; i <= AUDIT_N_REQS; i++)
		if (json_array_extend(findings, r.by_req[i]) != 0)
			goto done;
	out = json_pack("{s:O, s:I, s:I, s:I}", "findings", findings, "pass",
			(json_int_t)r.count[AUDIT_PASS], "warn", (json_int_t)r.count[AUDIT_WARN],
			"fail", (json_int_t)r.count[AUDIT_FAIL]);
done:
	json_decref(findings);
	for (unsigned int i = 0; i <= AUDIT_N_REQS; i++)
		json_decref(r.by_req[i]);
	return out;
}
