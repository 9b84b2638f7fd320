/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The secrets section's audit (cfg_section.audit; dataplane/audit/audit.h):
 * certificate lifetimes and what the loader enforced on each identity.
 * Control thread.
 */
#include <stdio.h>
#include <time.h>

#include "../audit/audit.h"
#include "secrets_internal.h"

#define SECRETS_AUDIT_LIFETIME_H 24   /* SM-DR13's "short-lived": a day, as Istio's default */
#define SECRETS_AUDIT_EXPIRY_S	 3600 /* an identity closer than this to its end is a WARN */

static void secrets_audit_identity(const struct secrets_snap *ss, struct audit_report *r,
				   uint32_t i, int64_t now)
{
	const struct secret *s = &ss->ids[i];
	int64_t lifetime_h = (s->not_after - s->not_before) / 3600;
	char path[64];

	snprintf(path, sizeof(path), "$.secrets.identities[%u]", i);
	audit_finding(r, "SM-DR12", AUDIT_PASS, path,
		      "identity %s (%s) chains to trust domain %s's bundle and is not self-signed",
		      s->name, s->spiffe_id, s->trust_domain);
	audit_finding(r, "SM-DR15", AUDIT_PASS, path,
		      "identity %s is a leaf: not a CA, no keyCertSign, one SPIFFE ID", s->name);
	if (lifetime_h > (int64_t)ss->max_lifetime_hours)
		audit_finding(r, "SM-DR13", AUDIT_FAIL, path,
			      "identity %s's certificate lives %lld h, over max_lifetime_hours %u "
			      "(accepted because on_long_lifetime is warn)",
			      s->name, (long long)lifetime_h, ss->max_lifetime_hours);
	else if (s->not_after - now < SECRETS_AUDIT_EXPIRY_S)
		audit_finding(
			r, "SM-DR13", AUDIT_WARN, path,
			"identity %s's certificate (serial %s) expires in %lld s: is rotation "
			"working?",
			s->name, s->serial, (long long)(s->not_after - now));
	else
		audit_finding(r, "SM-DR13", AUDIT_PASS, path,
			      "identity %s's certificate lives %lld h and has %lld h left", s->name,
			      (long long)lifetime_h, (long long)((s->not_after - now) / 3600));
}

void secrets_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	const struct secrets_snap *ss = snap->secrets;
	int64_t now = (int64_t)time(NULL);

	if (ss == NULL)
		return;
	if (ss->max_lifetime_hours > SECRETS_AUDIT_LIFETIME_H)
		audit_finding(r, "SM-DR13", AUDIT_WARN, "$.secrets.max_lifetime_hours",
			      "certificates may live %u h, longer than a day",
			      ss->max_lifetime_hours);
	if (!ss->refuse_long)
		audit_finding(r, "SM-DR13", AUDIT_WARN, "$.secrets.on_long_lifetime",
			      "a certificate over max_lifetime_hours is only warned about, not "
			      "refused");
	for (uint32_t i = 0; i < ss->n_ids; i++)
		secrets_audit_identity(ss, r, i, now);
}
