/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * etcd: the config section $.etcd (struct cfg_section etcd_cfg_section):
 * endpoints, key prefix, the node's status key name, the cache file, request
 * timeout and back-off. Startup settings: a running daemon refuses a
 * document that changes them. docs/CONFIG.md ("etcd") is the schema.
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audit/audit.h"
#include "../config/config_json.h"
#include "etcd.h"

#define DEF_TIMEOUT_MS	   2000
#define DEF_BACKOFF_MAX_MS 5000

/* "http://host:port" or "https://...", no path: the gateway's paths are added. */
static bool etcd_url_valid(const char *u)
{
	const char *rest = strncmp(u, "http://", 7) == 0    ? u + 7
			   : strncmp(u, "https://", 8) == 0 ? u + 8
							    : NULL;

	return rest != NULL && rest[0] != '\0' && strchr(rest, '/') == NULL &&
	       strchr(rest, ' ') == NULL;
}

static int etcd_parse_endpoints(const json_t *sec, struct etcd_conf *ec, struct cfg_error *err)
{
	char ip[CFG_JPATH_LEN];
	json_t *arr;
	int rc;

	if ((rc = cfg_get_array(sec, "endpoints", "$.etcd", 1, ETCD_MAX_ENDPOINTS, true,
				"etcd endpoints", &arr, err)) != 0)
		return rc;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);

		cfg_path_index(ip, "$.etcd.endpoints", i);
		if (!json_is_string(v) || json_string_length(v) >= ETCD_URL_MAX ||
		    !etcd_url_valid(json_string_value(v)))
			return cfg_fail_got(err, ip, "\"http://HOST:PORT\" (an etcd client URL)",
					    v);
		strcpy(ec->endpoints[ec->n_endpoints++], json_string_value(v));
	}
	return 0;
}

/* "user" and "password_file" (the password is the file's first line), both or neither. */
static int etcd_parse_auth(const json_t *sec, struct etcd_conf *ec, struct cfg_error *err)
{
	char file[CFG_PATH_MAX];
	bool has_user, has_file;
	FILE *f;
	int rc;

	if ((rc = cfg_get_name(sec, "user", "$.etcd", ec->user, "", false, err)) != 0 ||
	    (rc = cfg_get_str(sec, "password_file", "$.etcd", file, sizeof(file), "", NULL, err)) !=
		    0)
		return rc;
	has_user = ec->user[0] != '\0';
	has_file = file[0] != '\0';
	if (has_user != has_file)
		return cfg_fail(err, has_user ? "$.etcd.password_file" : "$.etcd.user",
				"required with \"%s\" (etcd authentication)",
				has_user ? "user" : "password_file");
	if (!has_user)
		return 0;
	if (file[0] != '/')
		return cfg_fail_got(err, "$.etcd.password_file", "an absolute path",
				    json_object_get(sec, "password_file"));
	f = fopen(file, "r");
	if (f == NULL)
		return cfg_fail(err, "$.etcd.password_file", "cannot read %s: %s", file,
				strerror(errno));
	if (fgets(ec->password, sizeof(ec->password), f) == NULL)
		ec->password[0] = '\0';
	fclose(f);
	ec->password[strcspn(ec->password, "\r\n")] = '\0';
	if (ec->password[0] == '\0')
		return cfg_fail(err, "$.etcd.password_file", "%s holds no password", file);
	return 0;
}

static int etcd_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			    const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	static const char *const keys[] = {"endpoints",	 "prefix",	   "node",
					   "cache",	 "user",	   "password_file",
					   "timeout_ms", "backoff_max_ms", NULL};
	struct etcd_conf *ec;
	size_t plen;
	json_t *sec;
	int rc;

	if ((rc = cfg_get_section(root, "etcd", "$", &sec, err)) != 0)
		return rc;
	if (sec != NULL) {
		if ((rc = cfg_check_keys(sec, "$.etcd", keys, err)) != 0)
			return rc;
		if ((ec = calloc(1, sizeof(*ec))) == NULL)
			return -ENOMEM;
		snap->etcd = ec;
		if ((rc = etcd_parse_endpoints(sec, ec, err)) != 0 ||
		    (rc = cfg_get_str(sec, "prefix", "$.etcd", ec->prefix, sizeof(ec->prefix), "",
				      NULL, err)) != 0 ||
		    (rc = cfg_get_name(sec, "node", "$.etcd", ec->node, snap->node_name, false,
				       err)) != 0 ||
		    (rc = cfg_get_str(sec, "cache", "$.etcd", ec->cache, sizeof(ec->cache), "",
				      NULL, err)) != 0 ||
		    (rc = cfg_get_u32(sec, "timeout_ms", "$.etcd", 100, 60000, DEF_TIMEOUT_MS,
				      &ec->timeout_ms, err)) != 0 ||
		    (rc = cfg_get_u32(sec, "backoff_max_ms", "$.etcd", 100, 600000,
				      DEF_BACKOFF_MAX_MS, &ec->backoff_max_ms, err)) != 0)
			return rc;
		plen = strlen(ec->prefix);
		if (ec->prefix[0] != '/' || plen < 2 || ec->prefix[plen - 1] == '/' ||
		    strchr(ec->prefix, ' ') != NULL)
			return json_object_get(sec, "prefix") == NULL
				       ? cfg_fail(err, "$.etcd.prefix",
						  "required; expected the fleet's key prefix")
				       : cfg_fail_got(err, "$.etcd.prefix",
						      "a key prefix \"/name[/name...]\" without "
						      "a trailing /",
						      json_object_get(sec, "prefix"));
		if ((rc = etcd_parse_auth(sec, ec, err)) != 0)
			return rc;
		if (ec->cache[0] != '\0' && ec->cache[0] != '/')
			return cfg_fail_got(err, "$.etcd.cache", "an absolute path or \"\"",
					    json_object_get(sec, "cache"));
	}
	if (ctx->prev != NULL) {
		const struct etcd_conf *a = ctx->prev->etcd, *b = snap->etcd;

		if ((a == NULL) != (b == NULL) || (a != NULL && memcmp(a, b, sizeof(*a)) != 0))
			return cfg_fail(
				err, "$.etcd",
				"cannot change while running (restart meshdp to change it)");
	}
	return 0;
}

/* SM-DR25: the configuration comes from a replicated store. */
static void etcd_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	const struct etcd_conf *e = snap->etcd;

	if (e == NULL)
		return;
	audit_finding(r, "SM-DR25", e->n_endpoints > 1 ? AUDIT_PASS : AUDIT_WARN, "$.etcd",
		      "the fleet's configuration comes from etcd (%s/config) through %u "
		      "endpoint%s%s; the last applied revision is cached %s",
		      e->prefix, e->n_endpoints, e->n_endpoints == 1 ? "" : "s",
		      e->n_endpoints >= 3 ? ""
					  : " (fewer than 3: one member's failure stops updates)",
		      e->cache[0] != '\0' ? e->cache : "nowhere (no $.etcd.cache)");
}

static void etcd_cfg_free(struct cfg_snapshot *snap)
{
	free(snap->etcd);
	snap->etcd = NULL;
}

static const char *const etcd_cfg_keys[] = {"etcd", NULL};

const struct cfg_section etcd_cfg_section = {
	.name = "etcd",
	.keys = etcd_cfg_keys,
	.compile = etcd_cfg_compile,
	.free = etcd_cfg_free,
	.audit = etcd_audit,
};
