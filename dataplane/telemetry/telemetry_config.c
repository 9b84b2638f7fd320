/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: the config section $.telemetry (struct cfg_section
 * telem_cfg_section): metrics (series cap, reporter, trust domain) and the
 * access log (format, filter, sampling, output, logged and masked headers,
 * ring size). It runs after the L4 section and interns the labels of its
 * workloads and services (telemetry_internal.h), so that a worker turns a
 * workload or service index into a label id with one load.
 *
 * docs/CONFIG.md ("Telemetry") is the schema this file enforces. Control
 * thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audit/audit.h"
#include "../config/config_json.h"
#include "../l4/l4.h"
#include "telemetry_internal.h"

/* Defaults; docs/CONFIG.md lists the same values. */
#define DEF_MAX_SERIES	 1024
#define DEF_RING_SIZE	 1024
#define DEF_TRUST_DOMAIN "cluster.local"
#define DEF_SEV_RATE	 50

/* An HTTP token (RFC 9110 5.6.2) of 1..63 bytes, lower-cased into @p out. */
static bool telem_header_name(const char *s, char *out)
{
	size_t n = strlen(s);

	if (n == 0 || n >= TELEM_NAME_LEN)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && !isalnum((unsigned char)s[i]) &&
		    strchr("!#$%&'*+-.^_`|~", s[i]) == NULL)
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	return true;
}

/* $.telemetry.access_log.headers / .mask_headers: arrays of header names. */
static int telem_names(const json_t *o, const char *key, const char *path, size_t max,
		       char (*out)[TELEM_NAME_LEN], uint32_t *n, struct cfg_error *err)
{
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *arr;
	int rc;

	*n = 0;
	cfg_path_key(ap, path, key);
	if ((rc = cfg_get_array(o, key, path, 0, max, false, "header names", &arr, err)) != 0)
		return rc;
	for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);

		cfg_path_index(ip, ap, i);
		if (!json_is_string(v) || !telem_header_name(json_string_value(v), out[i]))
			return cfg_fail_got(err, ip, "a header name (an HTTP token of 1..63 bytes)",
					    v);
		(*n)++;
	}
	return 0;
}

/* "sample_percent": a number in 0..100, kept as parts per million. */
static int telem_sample(const json_t *o, const char *path, uint32_t *ppm, struct cfg_error *err)
{
	char sp[CFG_JPATH_LEN];
	json_t *v = json_object_get(o, "sample_percent");
	double d;

	*ppm = 1000000;
	if (v == NULL)
		return 0;
	cfg_path_key(sp, path, "sample_percent");
	d = json_is_number(v) ? json_number_value(v) : -1;
	if (!json_is_number(v) || d < 0 || d > 100)
		return cfg_fail_got(err, sp, "a number in 0..100", v);
	*ppm = (uint32_t)(d * 10000.0 + 0.5);
	return 0;
}

static int telem_parse_log(struct telem_snap *ts, const json_t *root, const char *tpath,
			   struct cfg_error *err)
{
	static const char *const keys[] = {"enabled",	"format", "filter",  "sample_percent",
					   "output",	"path",	  "headers", "mask_headers",
					   "ring_size", NULL};
	static const char *const formats[] = {"clf", "json", NULL};
	static const char *const filters[] = {"non_2xx", "all", NULL};
	static const char *const outputs[] = {"stdout", "file", "syslog", NULL};
	char lp[CFG_JPATH_LEN], pp[CFG_JPATH_LEN];
	uint8_t filter;
	bool has_path;
	json_t *l;
	int rc;

	cfg_path_key(lp, tpath, "access_log");
	cfg_path_key(pp, lp, "path");
	if ((rc = cfg_get_section(root, "access_log", tpath, &l, err)) != 0 ||
	    (l != NULL && (rc = cfg_check_keys(l, lp, keys, err)) != 0) ||
	    (rc = cfg_get_bool(l, "enabled", lp, true, &ts->log.enabled, err)) != 0 ||
	    (rc = cfg_get_enum(l, "format", lp, formats, TELEM_LOG_CLF, false, &ts->log.format,
			       err)) != 0 ||
	    (rc = cfg_get_enum(l, "filter", lp, filters, 0, false, &filter, err)) != 0 ||
	    (rc = telem_sample(l, lp, &ts->log.sample_ppm, err)) != 0 ||
	    (rc = cfg_get_enum(l, "output", lp, outputs, TELEM_OUT_STDOUT, false, &ts->log.output,
			       err)) != 0 ||
	    (rc = cfg_get_str(l, "path", lp, ts->log.path, sizeof(ts->log.path), "", &has_path,
			      err)) != 0 ||
	    (rc = telem_names(l, "headers", lp, TELEM_LOG_HEADERS, ts->log.headers,
			      &ts->log.n_headers, err)) != 0 ||
	    (rc = telem_names(l, "mask_headers", lp, TELEM_MASK_MAX, ts->log.mask, &ts->log.n_mask,
			      err)) != 0 ||
	    (rc = cfg_get_u32(l, "ring_size", lp, 64, 65536, DEF_RING_SIZE, &ts->log.ring_size,
			      err)) != 0)
		return rc;
	ts->log.all = filter == 1;
	if ((ts->log.ring_size & (ts->log.ring_size - 1)) != 0)
		return cfg_fail(err, lp, "ring_size: expected a power of two in 64..65536, got %u",
				ts->log.ring_size);
	if (ts->log.output == TELEM_OUT_FILE && ts->log.path[0] != '/')
		return cfg_fail(err, pp, "output \"file\" needs an absolute path");
	if (ts->log.output != TELEM_OUT_FILE && has_path)
		return cfg_fail(err, pp, "only output \"file\" takes a path");
	return 0;
}

/*
 * $.telemetry.security_events (SM-DR21): on by default, to stdout, at most
 * rate_per_s records per second per worker. The sink is a startup setting
 * only in that the crash handler keeps the one it had; the logger follows a
 * change at its next round.
 */
static int telem_parse_sev(struct telem_snap *ts, const json_t *t, const char *tpath,
			   struct cfg_error *err)
{
	static const char *const keys[] = {"enabled", "output", "path", "rate_per_s", NULL};
	static const char *const outputs[] = {"stdout", "file", "syslog", NULL};
	char sp[CFG_JPATH_LEN], pp[CFG_JPATH_LEN];
	bool has_path;
	json_t *o;
	int rc;

	cfg_path_key(sp, tpath, "security_events");
	cfg_path_key(pp, sp, "path");
	if ((rc = cfg_get_section(t, "security_events", tpath, &o, err)) != 0 ||
	    (o != NULL && (rc = cfg_check_keys(o, sp, keys, err)) != 0) ||
	    (rc = cfg_get_bool(o, "enabled", sp, true, &ts->sev.enabled, err)) != 0 ||
	    (rc = cfg_get_enum(o, "output", sp, outputs, TELEM_OUT_STDOUT, false, &ts->sev.output,
			       err)) != 0 ||
	    (rc = cfg_get_str(o, "path", sp, ts->sev.path, sizeof(ts->sev.path), "", &has_path,
			      err)) != 0 ||
	    (rc = cfg_get_u32(o, "rate_per_s", sp, 1, 100000, DEF_SEV_RATE, &ts->sev.rate_per_s,
			      err)) != 0)
		return rc;
	if (ts->sev.output == TELEM_OUT_FILE && ts->sev.path[0] != '/')
		return cfg_fail(err, pp, "output \"file\" needs an absolute path");
	if (ts->sev.output != TELEM_OUT_FILE && has_path)
		return cfg_fail(err, pp, "only output \"file\" takes a path");
	if (ts->sev.output == TELEM_OUT_FILE && ts->log.output == TELEM_OUT_FILE &&
	    strcmp(ts->sev.path, ts->log.path) == 0)
		return cfg_fail(err, pp, "expected a file of its own, got the access log's \"%s\"",
				ts->sev.path);
	return 0;
}

/* Intern each workload's and service's labels; the ids go into the snapshot. */
static int telem_intern_all(struct cfg_snapshot *snap, struct telem_snap *ts, const char *td,
			    const char *tpath, struct cfg_error *err)
{
	char principal[TELEM_LABEL_LEN], fqdn[192];
	int64_t id;

	ts->wl_peer = calloc(snap->n_workloads + 1, sizeof(*ts->wl_peer));
	ts->svc_label = calloc(snap->n_services + 1, sizeof(*ts->svc_label));
	if (ts->wl_peer == NULL || ts->svc_label == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < snap->n_workloads; i++) {
		const struct l4_workload *w = &snap->workloads[i];

		snprintf(principal, sizeof(principal), "spiffe://%s/ns/%s/sa/%s", td, w->ns,
			 w->service[0] != '\0' ? w->service : w->name);
		if ((id = telem_label_intern(w->name, w->ns, principal)) < 0)
			goto full;
		ts->wl_peer[i] = (uint32_t)id;
	}
	for (uint32_t i = 0; i < snap->n_services; i++) {
		const struct l4_service *s = &snap->services[i];

		snprintf(fqdn, sizeof(fqdn), "%s.%s.svc.%s", s->name, s->ns, td);
		if ((id = telem_label_intern(fqdn, s->name, s->ns)) < 0)
			goto full;
		ts->svc_label[i] = (uint32_t)id;
	}
	return 0;
full:
	return cfg_fail(err, tpath,
			"more than %u distinct workload and service label sets since start "
			"(restart meshdp)",
			TELEM_LABELS_MAX);
}

static int telem_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			     const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	static const char *const keys[] = {"metrics", "access_log", "tracing", "security_events",
					   NULL};
	static const char *const tkeys[] = {"enabled", "sample_percent", "zipkin_url", "otlp_url",
					    NULL};
	static const char *const mkeys[] = {"max_series", "reporter", "trust_domain", NULL};
	static const char *const reporters[] = {"source", "destination", NULL};
	const struct telem_snap *pts = ctx->prev != NULL ? ctx->prev->telemetry : NULL;
	char mp[CFG_JPATH_LEN], trp[CFG_JPATH_LEN], td[CFG_NAME_MAX * 2];
	char zipkin[sizeof(((struct telem_snap *)0)->trace.url)], otlp[sizeof(zipkin)];
	struct telem_snap *ts;
	json_t *t, *m, *tr;
	int rc;

	ts = calloc(1, sizeof(*ts));
	if (ts == NULL)
		return -ENOMEM;
	snap->telemetry = ts;
	telem_labels_init();
	cfg_path_key(mp, "$.telemetry", "metrics");
	cfg_path_key(trp, "$.telemetry", "tracing");
	if ((rc = cfg_get_section(root, "telemetry", "$", &t, err)) != 0 ||
	    (t != NULL && (rc = cfg_check_keys(t, "$.telemetry", keys, err)) != 0) ||
	    (rc = cfg_get_section(t, "metrics", "$.telemetry", &m, err)) != 0 ||
	    (m != NULL && (rc = cfg_check_keys(m, mp, mkeys, err)) != 0) ||
	    (rc = cfg_get_u32(m, "max_series", mp, 16, 1048576, DEF_MAX_SERIES, &ts->max_series,
			      err)) != 0 ||
	    (rc = cfg_get_enum(m, "reporter", mp, reporters, TELEM_REPORTER_SOURCE, false,
			       &ts->reporter, err)) != 0 ||
	    (rc = cfg_get_str(m, "trust_domain", mp, td, sizeof(td), DEF_TRUST_DOMAIN, NULL,
			      err)) != 0 ||
	    (rc = telem_parse_log(ts, t, "$.telemetry", err)) != 0 ||
	    (rc = telem_parse_sev(ts, t, "$.telemetry", err)) != 0 ||
	    (rc = cfg_get_section(t, "tracing", "$.telemetry", &tr, err)) != 0 ||
	    (tr != NULL && (rc = cfg_check_keys(tr, trp, tkeys, err)) != 0) ||
	    (rc = cfg_get_bool(tr, "enabled", trp, false, &ts->trace.enabled, err)) != 0 ||
	    (rc = telem_sample(tr, trp, &ts->trace.sample_ppm, err)) != 0 ||
	    (rc = cfg_get_str(tr, "zipkin_url", trp, zipkin, sizeof(zipkin), "", NULL, err)) != 0 ||
	    (rc = cfg_get_str(tr, "otlp_url", trp, otlp, sizeof(otlp), "", NULL, err)) != 0)
		return rc;
	if (zipkin[0] != '\0' && otlp[0] != '\0')
		return cfg_fail(err, "$.telemetry.tracing.otlp_url",
				"spans go to one collector: set zipkin_url or otlp_url, not both");
	ts->trace.otlp = otlp[0] != '\0';
	snprintf(ts->trace.url, sizeof(ts->trace.url), "%s", ts->trace.otlp ? otlp : zipkin);
	if (ts->trace.url[0] != '\0' && strncmp(ts->trace.url, "http://", 7) != 0 &&
	    strncmp(ts->trace.url, "https://", 8) != 0)
		return cfg_fail(err,
				ts->trace.otlp ? "$.telemetry.tracing.otlp_url"
					       : "$.telemetry.tracing.zipkin_url",
				"expected an http:// or https:// URL, got \"%s\"", ts->trace.url);
	for (const char *c = td; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-')
			return cfg_fail(err, "$.telemetry.metrics.trust_domain",
					"expected a trust domain (letters, digits, '.', '-'), got "
					"\"%s\"",
					td);
	if (pts != NULL && pts->max_series != ts->max_series)
		return cfg_fail(err, "$.telemetry.metrics.max_series",
				"cannot change while running (restart meshdp to change it)");
	if (pts != NULL && pts->log.ring_size != ts->log.ring_size)
		return cfg_fail(err, "$.telemetry.access_log.ring_size",
				"cannot change while running (restart meshdp to change it)");
	return telem_intern_all(snap, ts, td, "$.telemetry", err);
}

static void telem_cfg_free(struct cfg_snapshot *snap)
{
	struct telem_snap *ts = snap->telemetry;

	if (ts != NULL) {
		free(ts->wl_peer);
		free(ts->svc_label);
	}
	free(ts);
	snap->telemetry = NULL;
}

static const char *const telem_cfg_keys[] = {"telemetry", NULL};

/* SM-DR21 to SM-DR24 (dataplane/audit/audit.h): what the section turns on. */
static void telem_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	const struct telem_snap *t = snap->telemetry;

	if (t == NULL)
		return;
	if (!t->sev.enabled)
		audit_finding(r, "SM-DR21", AUDIT_FAIL, "$.telemetry.security_events.enabled",
			      "the security event log is off: validation errors, injection "
			      "patterns, denials and crashes are counted but not logged");
	else
		audit_finding(r, "SM-DR21", AUDIT_PASS, "$.telemetry.security_events",
			      "security events logged as JSON lines to %s, at most %u per second "
			      "per worker (the rest counted as suppressed)",
			      t->sev.output == TELEM_OUT_FILE	  ? t->sev.path
			      : t->sev.output == TELEM_OUT_SYSLOG ? "syslog"
								  : "stdout",
			      t->sev.rate_per_s);
	if (!t->log.enabled)
		audit_finding(r, "SM-DR22", AUDIT_FAIL, "$.telemetry.access_log.enabled",
			      "access logging is off: no request is logged");
	else
		audit_finding(r, "SM-DR22", AUDIT_PASS, "$.telemetry.access_log",
			      "%s responses are logged (%u per million sampled), tokens, cookies "
			      "and Authorization masked",
			      t->log.all ? "all" : "non-2xx", t->log.sample_ppm);
	if (t->log.enabled && t->log.sample_ppm < 1000000)
		audit_finding(r, "SM-DR22", AUDIT_WARN, "$.telemetry.access_log.sample_percent",
			      "only part of the responses the filter takes are logged");
	audit_finding(r, "SM-DR23", AUDIT_PASS, "$.telemetry.metrics",
		      "Istio's standard request and TCP metrics, at most %u label sets per worker",
		      t->max_series);
	if (!t->trace.enabled)
		audit_finding(r, "SM-DR24", AUDIT_WARN, "$.telemetry.tracing.enabled",
			      "tracing is off: no trace context is taken or propagated");
	else
		audit_finding(r, "SM-DR24", t->trace.url[0] != '\0' ? AUDIT_PASS : AUDIT_WARN,
			      "$.telemetry.tracing",
			      "trace context taken or started and propagated; spans %s",
			      t->trace.url[0] != '\0' ? "exported"
						      : "not exported (no zipkin_url or otlp_url)");
}

const struct cfg_section telem_cfg_section = {
	.name = "telemetry",
	.keys = telem_cfg_keys,
	.compile = telem_cfg_compile,
	.free = telem_cfg_free,
	.audit = telem_audit,
};
