/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * audit: the live configuration (or a candidate document) checked against the
 * requirements NIST SP 800-204A sets for a service mesh's data plane (SM-DR1 to
 * SM-DR28; docs/NIST.md lists them all and says which the control plane owns).
 *
 * Each config section audits its own part through its cfg_section.audit hook
 * (config.h): l4 the allow-lists and egress, proxy the listeners' mTLS and the
 * clusters' secure naming and breakers, secrets the certificate lifetimes, roles
 * who may change what. audit.c adds what belongs to no section (the control
 * socket, the admin endpoint) and, for every requirement a data plane can check
 * that no section reported on, a WARN saying nothing in the document meets it.
 * A finding is PASS, WARN or FAIL with its reason and the JSON path it is about.
 *
 * Control thread only: `meshctl audit [FILE] [--json]` (audit_commands.c).
 */
#ifndef MESHDP_AUDIT_H
#define MESHDP_AUDIT_H

#include <jansson.h>

#include <rte_common.h>

#include "../config/config.h"

enum audit_result {
	AUDIT_PASS,
	AUDIT_WARN, /* weaker than the requirement asks, or not configured */
	AUDIT_FAIL, /* the requirement is not met */
};

struct audit_report;

/**
 * Add a finding on requirement @p req ("SM-DR16", one of docs/NIST.md's) about
 * the config at JSON path @p path ("$" for the whole document), with the reason
 * given by @p fmt. A requirement the audit does not know is recorded as a FAIL
 * naming it (a section's typo must not pass unnoticed).
 */
void audit_finding(struct audit_report *r, const char *req, enum audit_result result,
		   const char *path, const char *fmt, ...) __rte_format_printf(5, 6);

/**
 * Audit @p snap: every section's hook, the checks of no section, the
 * requirements nobody reported on.
 * @return {"findings": [{"requirement", "title", "result", "path", "reason"}...],
 *         "pass": n, "warn": n, "fail": n}, findings in requirement order; NULL on
 *         allocation failure.
 */
json_t *audit_snapshot(const struct cfg_snapshot *snap);

/** audit [text]: the live config, or the document given, unapplied (audit_commands.c). */
extern const struct control_cmd_set audit_commands;

#endif
