/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * roles: the config section $.roles (struct cfg_section roles_cfg_section):
 * the audit log's path and the bindings of users, uids and groups to roles,
 * users and groups resolved to ids when the document is compiled (a name that
 * does not exist on the node is refused). docs/CONFIG.md ("roles") is the
 * schema. Control thread only.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "../config/config_json.h"
#include "roles_internal.h"

static const char *const roles_names[] = {"viewer", "operator", "admin", NULL};

/* "*", "ns" or "ns/svc", each part a config name. */
static bool roles_scope_valid(const char *s)
{
	char ns[ROLES_SCOPE_LEN];
	const char *slash = strchr(s, '/');

	if (strcmp(s, "*") == 0)
		return true;
	if (slash == NULL)
		return cfg_valid_name(s);
	if ((size_t)(slash - s) >= sizeof(ns))
		return false;
	memcpy(ns, s, (size_t)(slash - s));
	ns[slash - s] = '\0';
	return cfg_valid_name(ns) && cfg_valid_name(slash + 1);
}

static int roles_parse_scope(const json_t *o, const char *path, struct roles_binding *b,
			     struct cfg_error *err)
{
	char sp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *arr = json_object_get(o, "scope");
	int rc;

	cfg_path_key(sp, path, "scope");
	if (b->role != ROLES_OPERATOR) {
		if (arr != NULL)
			return cfg_fail(err, sp,
					"only an operator has a scope (a viewer reads everything, "
					"an admin changes everything)");
		return 0;
	}
	if ((rc = cfg_get_array(o, "scope", path, 1, ROLES_MAX_SCOPE, true,
				"namespaces or namespace/service entries", &arr, err)) != 0)
		return rc;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);

		cfg_path_index(ip, sp, i);
		if (!json_is_string(v) || json_string_length(v) >= ROLES_SCOPE_LEN ||
		    !roles_scope_valid(json_string_value(v)))
			return cfg_fail_got(err, ip,
					    "\"*\", a namespace or \"<namespace>/<service>\"", v);
		strcpy(b->scope[b->n_scope++], json_string_value(v));
	}
	return 0;
}

/* Exactly one of uid, user, group; names resolved to ids. */
static int roles_parse_subject(const json_t *o, const char *path, struct roles_binding *b,
			       struct cfg_error *err)
{
	static const char *const kinds[] = {"uid", "user", "group"};
	const char *kind = NULL;
	char kp[CFG_JPATH_LEN];
	int rc;

	for (unsigned int k = 0; k < RTE_DIM(kinds); k++) {
		if (json_object_get(o, kinds[k]) == NULL)
			continue;
		if (kind != NULL)
			return cfg_fail(err, path,
					"expected one of \"uid\", \"user\" or \"group\", got "
					"\"%s\" and \"%s\"",
					kind, kinds[k]);
		kind = kinds[k];
	}
	if (kind == NULL)
		return cfg_fail(err, path,
				"required: one of \"uid\", \"user\" or \"group\" (who the "
				"binding is for)");
	if (strcmp(kind, "uid") == 0) {
		b->subject = ROLES_UID;
		return cfg_get_u32(o, "uid", path, 0, UINT32_MAX - 1, 0, &b->id, err);
	}
	if ((rc = cfg_get_str(o, kind, path, b->name, sizeof(b->name), "", NULL, err)) != 0)
		return rc;
	cfg_path_key(kp, path, kind);
	if (strcmp(kind, "user") == 0) {
		const struct passwd *pw = getpwnam(b->name);

		if (pw == NULL)
			return cfg_fail(err, kp, "no user \"%s\" on this node", b->name);
		b->subject = ROLES_UID;
		b->id = (uint32_t)pw->pw_uid;
	} else {
		const struct group *gr = getgrnam(b->name);

		if (gr == NULL)
			return cfg_fail(err, kp, "no group \"%s\" on this node", b->name);
		b->subject = ROLES_GID;
		b->id = (uint32_t)gr->gr_gid;
	}
	return 0;
}

static int roles_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			     const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	static const char *const keys[] = {"audit_log", "bindings", NULL};
	static const char *const bkeys[] = {"uid", "user", "group", "role", "scope", NULL};
	struct roles_snap *rs;
	json_t *sec, *arr, *o;
	int rc;

	(void)ctx;
	if ((rc = cfg_get_section(root, "roles", "$", &sec, err)) != 0 || sec == NULL)
		return rc;
	if ((rc = cfg_check_keys(sec, "$.roles", keys, err)) != 0 ||
	    (rc = cfg_get_array(sec, "bindings", "$.roles", 0, ROLES_MAX_BINDINGS, false,
				"bindings", &arr, err)) != 0)
		return rc;
	rs = calloc(1, sizeof(*rs) + json_array_size(arr) * sizeof(rs->bindings[0]));
	if (rs == NULL)
		return -ENOMEM;
	snap->roles = rs;
	if ((rc = cfg_get_str(sec, "audit_log", "$.roles", rs->audit_log, sizeof(rs->audit_log), "",
			      NULL, err)) != 0)
		return rc;
	if (rs->audit_log[0] != '\0' && rs->audit_log[0] != '/')
		return cfg_fail_got(err, "$.roles.audit_log", "an absolute path or \"\"",
				    json_object_get(sec, "audit_log"));
	for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++) {
		struct roles_binding *b = &rs->bindings[i];
		char path[CFG_JPATH_LEN];
		uint8_t role;

		if ((rc = cfg_get_item(arr, i, "$.roles.bindings", "a binding object", bkeys, &o,
				       path, err)) != 0 ||
		    (rc = roles_parse_subject(o, path, b, err)) != 0 ||
		    (rc = cfg_get_enum(o, "role", path, roles_names, 0, true, &role, err)) != 0)
			return rc;
		b->role = (uint8_t)(ROLES_VIEWER + role);
		if ((rc = roles_parse_scope(o, path, b, err)) != 0)
			return rc;
		rs->n_bindings++;
	}
	return 0;
}

static void roles_cfg_free(struct cfg_snapshot *snap)
{
	free(snap->roles);
	snap->roles = NULL;
}

static const char *const roles_cfg_keys[] = {"roles", NULL};

const struct cfg_section roles_cfg_section = {
	.name = "roles",
	.keys = roles_cfg_keys,
	.compile = roles_cfg_compile,
	.free = roles_cfg_free,
	.audit = roles_audit,
};
