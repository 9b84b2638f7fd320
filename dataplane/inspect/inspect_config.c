/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * inspect: the config section $.request_inspection (struct cfg_section
 * inspect_cfg_section): mode (detect, block, off; detect when the section is
 * absent), the headers whose values are scanned besides path and query
 * (user-agent and referer by default), and what duplicate or undeclared
 * parameters do. docs/CONFIG.md ("Request inspection") is the schema this
 * file enforces. Control thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../audit/audit.h"
#include "../config/config_json.h"
#include "inspect_internal.h"

static const char *const inspect_modes[] = {"off", "detect", "block", NULL};

/* An HTTP token (RFC 9110 5.6.2) of 1..63 bytes, lower-cased into @p out. */
static bool inspect_header_name(const char *s, char *out, uint32_t *len)
{
	size_t n = strlen(s);

	if (n == 0 || n >= INSPECT_NAME_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && strchr("!#$%&'*+-.^_`|~", s[i]) == NULL)
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[n] = '\0';
	*len = (uint32_t)n;
	return true;
}

static int inspect_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			       const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	static const char *const keys[] = {"mode", "headers", "duplicate_parameters", NULL};
	static const char *const path = "$.request_inspection";
	char hp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	struct inspect_snap *is;
	json_t *o, *arr;
	int rc;

	(void)ctx;
	is = calloc(1, sizeof(*is));
	if (is == NULL)
		return -ENOMEM;
	snap->inspect = is;
	inspect_singletons_index(is);
	cfg_path_key(hp, path, "headers");
	if ((rc = cfg_get_section(root, "request_inspection", "$", &o, err)) != 0 ||
	    (o != NULL && (rc = cfg_check_keys(o, path, keys, err)) != 0) ||
	    (rc = cfg_get_enum(o, "mode", path, inspect_modes, INSPECT_DETECT, false, &is->mode,
			       err)) != 0 ||
	    (rc = cfg_get_enum(o, "duplicate_parameters", path, inspect_modes, INSPECT_DETECT,
			       false, &is->dup_mode, err)) != 0 ||
	    (rc = cfg_get_array(o, "headers", path, 0, INSPECT_MAX_HEADERS, false, "header names",
				&arr, err)) != 0)
		return rc;
	if (arr == NULL) {
		memcpy(is->headers[0], "user-agent", sizeof("user-agent"));
		memcpy(is->headers[1], "referer", sizeof("referer"));
		is->hlen[0] = 10;
		is->hlen[1] = 7;
		is->n_headers = 2;
		return 0;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);

		cfg_path_index(ip, hp, i);
		if (!json_is_string(v) ||
		    !inspect_header_name(json_string_value(v), is->headers[i], &is->hlen[i]))
			return cfg_fail_got(err, ip, "a header name (an HTTP token of 1..63 bytes)",
					    v);
		for (size_t k = 0; k < i; k++)
			if (strcmp(is->headers[k], is->headers[i]) == 0)
				return cfg_fail(err, ip, "header \"%s\" is listed twice",
						is->headers[i]);
		is->n_headers++;
	}
	return 0;
}

static void inspect_cfg_free(struct cfg_snapshot *snap)
{
	free(snap->inspect);
	snap->inspect = NULL;
}

/* SM-DR21 (dataplane/audit/audit.h): what is looked for, and what a finding does. */
static void inspect_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	const struct inspect_snap *is = snap->inspect;

	if (is == NULL)
		return;
	if (is->mode == INSPECT_OFF)
		audit_finding(r, "SM-DR21", AUDIT_FAIL, "$.request_inspection.mode",
			      "request inspection is off: injection patterns are not looked for");
	else
		audit_finding(r, "SM-DR21", AUDIT_PASS, "$.request_inspection.mode",
			      "SQL, script, path traversal and CRLF injection patterns in path, "
			      "query and %u header(s) are %s",
			      is->n_headers,
			      is->mode == INSPECT_BLOCK ? "logged and refused (400)" : "logged");
	if (is->dup_mode == INSPECT_OFF)
		audit_finding(r, "SM-DR21", AUDIT_WARN, "$.request_inspection.duplicate_parameters",
			      "duplicate and undeclared parameters are not looked for");
}

static const char *const inspect_cfg_keys[] = {"request_inspection", NULL};

const struct cfg_section inspect_cfg_section = {
	.name = "request_inspection",
	.keys = inspect_cfg_keys,
	.compile = inspect_cfg_compile,
	.free = inspect_cfg_free,
	.audit = inspect_audit,
};
