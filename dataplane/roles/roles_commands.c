/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * roles: config.apply_namespace, an operator's way to change its namespace:
 * the request's namespace document merged into the live document
 * (roles_namespace_merge(), with the caller's grant) and applied through
 * control_apply_text(), the path config.apply takes. Control thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "../config/config_json.h"
#include "roles_internal.h"

static json_t *roles_cmd_apply_namespace(struct control *c, json_t *req,
					 const struct control_peer *peer)
{
	const struct cfg_snapshot *live = cfg_live;
	json_t *frag = NULL, *doc = NULL, *reply = NULL, *extra;
	const char *ns, *text;
	char why[512];
	unsigned int n_entries = 0;
	struct roles_grant g;
	json_error_t jerr;
	char *merged;
	size_t len;

	ns = control_arg_string(req, "config.apply_namespace", "namespace", NULL, &reply);
	if (ns == NULL)
		return reply;
	text = control_arg_string(req, "config.apply_namespace", "text", &len, &reply);
	if (text == NULL)
		return reply;
	if (live == NULL || live->text == NULL)
		return ctl_reply_error("config.apply_namespace: no configuration is live");
	roles_grant_of(live->roles, peer, &g);
	frag = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (frag == NULL) {
		reply = ctl_reply_error("config.apply_namespace: %s at line %d column %d",
					jerr.text, jerr.line, jerr.column);
		goto out;
	}
	doc = json_loadb(live->text, live->text_len, 0, &jerr);
	if (doc == NULL) {
		reply = ctl_reply_error("config.apply_namespace: the live document does not parse");
		goto out;
	}
	if (roles_namespace_merge(doc, frag, ns, &g, &n_entries, why, sizeof(why)) != 0) {
		reply = ctl_reply_error("config.apply_namespace: %s", why);
		goto out;
	}
	merged = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (merged == NULL) {
		reply = ctl_reply_error("config.apply_namespace: out of memory");
		goto out;
	}
	extra = json_pack("{s:s, s:I}", "namespace", ns, "entries", (json_int_t)n_entries);
	reply = control_apply_text(c, "config.apply_namespace", merged, strlen(merged), peer,
				   extra);
	free(merged);
out:
	json_decref(frag);
	json_decref(doc);
	return reply;
}

static const struct control_cmd roles_cmds[] = {
	{"config.apply_namespace", roles_cmd_apply_namespace,
	 CONTROL_CMD_WRITE | CONTROL_CMD_SCOPED,
	 "merge one namespace's services, workloads, policies and clusters into the live "
	 "configuration (namespace, text)"},
};

const struct control_cmd_set roles_commands = {"roles", roles_cmds, RTE_DIM(roles_cmds)};
