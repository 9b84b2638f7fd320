/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * roles: config.apply_namespace, an operator's way to change its namespace.
 * The request's document holds some of workloads, services, policies and
 * clusters, every entry of the namespace given; each member it has replaces
 * that namespace's entries of the live document (members it lacks stay as
 * they are), and the merged document goes through control_apply_text(), the
 * path config.apply takes. An entry's namespace: a workload's or service's
 * own, a policy's or cluster's service's. Policies to external services are
 * egress and stay an admin's. An operator scoped to single services of the
 * namespace may change only entries of those services. Control thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "../config/config_json.h"
#include "roles_internal.h"

/* Services first: the other members' entries belong where their services do. */
static const char *const roles_ns_members[] = {"services", "workloads", "policies", "clusters"};

/* The namespace and name of the service @p ref ("name" or "ns/name") in @p services. */
static bool roles_service_of(const json_t *services, const char *ref, const char **ns,
			     const char **name)
{
	const char *slash = ref != NULL ? strchr(ref, '/') : NULL;
	const json_t *sv;
	size_t i;

	json_array_foreach(services, i, sv)
	{
		const char *sn = json_string_value(json_object_get(sv, "name"));
		const char *sns = json_string_value(json_object_get(sv, "namespace"));

		if (sn == NULL || sns == NULL)
			continue;
		if (slash != NULL ? strncmp(ref, sns, (size_t)(slash - ref)) == 0 &&
					    sns[slash - ref] == '\0' && strcmp(slash + 1, sn) == 0
				  : strcmp(ref, sn) == 0) {
			*ns = sns;
			*name = sn;
			return true;
		}
	}
	return false;
}

/*
 * The namespace an entry of @p member belongs to (NULL: none, e.g. an egress
 * policy) and, for entries of one service, that service's name in *@p svc.
 */
static const char *roles_entry_ns(const char *member, const json_t *e, const json_t *services,
				  const char **svc)
{
	const char *ns = NULL, *ref = NULL;

	*svc = NULL;
	if (strcmp(member, "workloads") == 0)
		return json_string_value(json_object_get(e, "namespace"));
	if (strcmp(member, "services") == 0) {
		*svc = json_string_value(json_object_get(e, "name"));
		return json_string_value(json_object_get(e, "namespace"));
	}
	if (strcmp(member, "policies") == 0)
		ref = json_string_value(json_object_get(json_object_get(e, "to"), "service"));
	else
		ref = json_string_value(json_object_get(e, "service"));
	if (ref == NULL || !roles_service_of(services, ref, &ns, svc))
		return NULL;
	return ns;
}

static bool roles_array_has(const json_t *arr, const json_t *e)
{
	const json_t *x;
	size_t i;

	json_array_foreach(arr, i, x)
	{
		if (json_equal(x, e))
			return true;
	}
	return false;
}

/*
 * An operator scoped to services only: every entry of @p member that the
 * merge adds, changes or removes must be of a service in scope.
 */
static json_t *roles_check_services(const struct roles_grant *g, const char *ns, const char *member,
				    const json_t *before, const json_t *after,
				    const json_t *services_before, const json_t *services_after)
{
	const json_t *sides[2][2] = {{before, services_before}, {after, services_after}};
	const json_t *e;
	size_t i;

	for (int s = 0; s < 2; s++) {
		json_array_foreach(sides[s][0], i, e)
		{
			const char *svc, *ens = roles_entry_ns(member, e, sides[s][1], &svc);

			if (ens == NULL || strcmp(ens, ns) != 0 || roles_array_has(sides[!s][0], e))
				continue;
			if (svc == NULL || !roles_scope_covers(g, ns, svc))
				return ctl_reply_error(
					"config.apply_namespace: permission denied: %s %s %s of "
					"namespace %s is outside the operator's scope (%s)",
					s == 0 ? "removing or changing" : "adding or changing",
					member, svc != NULL ? svc : "(not of one service)", ns,
					g->source);
		}
	}
	return NULL;
}

/*
 * Replace namespace @p ns's entries of @p member in @p doc by @p frag's.
 * @return an error reply, or NULL.
 */
static json_t *roles_merge_member(json_t *doc, const json_t *frag, const char *member,
				  const char *ns, const json_t *services_before,
				  const struct roles_grant *g, unsigned int *n_entries)
{
	const json_t *want = json_object_get(frag, member);
	json_t *have = json_object_get(doc, member), *merged, *e, *err;
	const json_t *services_after;
	size_t i;

	if (want == NULL)
		return NULL;
	if (!json_is_array(want))
		return ctl_reply_error("config.apply_namespace: $.%s: expected an array", member);
	merged = json_array();
	if (merged == NULL)
		return ctl_reply_error("config.apply_namespace: out of memory");
	/* the namespace's services decide where the other members' entries belong */
	services_after = strcmp(member, "services") == 0 ? NULL : json_object_get(doc, "services");
	json_array_foreach(have, i, e)
	{
		const char *svc, *ens = roles_entry_ns(member, e, services_before, &svc);

		if (ens == NULL || strcmp(ens, ns) != 0)
			json_array_append(merged, e);
	}
	json_array_foreach(want, i, e)
	{
		const char *svc, *ens;

		if (strcmp(member, "policies") == 0 &&
		    json_object_get(json_object_get(e, "to"), "external") != NULL) {
			json_decref(merged);
			return ctl_reply_error("config.apply_namespace: $.policies[%zu]: a policy "
					       "to an external service is egress, an admin's "
					       "change (config apply)",
					       i);
		}
		ens = roles_entry_ns(member, e, services_after != NULL ? services_after : want,
				     &svc);
		if (ens == NULL || strcmp(ens, ns) != 0) {
			json_decref(merged);
			return ctl_reply_error(
				"config.apply_namespace: $.%s[%zu]: expected an entry "
				"of namespace %s, got one of %s",
				member, i, ns, ens != NULL ? ens : "no namespace");
		}
		json_array_append(merged, e);
		(*n_entries)++;
	}
	err = roles_scope_covers(g, ns, NULL)
		      ? NULL
		      : roles_check_services(g, ns, member, have, merged, services_before,
					     services_after != NULL ? services_after : merged);
	if (err == NULL)
		json_object_set(doc, member, merged);
	json_decref(merged);
	return err;
}

static json_t *roles_cmd_apply_namespace(struct control *c, json_t *req,
					 const struct control_peer *peer)
{
	const struct cfg_snapshot *live = cfg_live;
	json_t *frag = NULL, *before = NULL, *doc = NULL, *reply = NULL, *extra;
	const char *ns, *text, *key;
	unsigned int n_entries = 0;
	struct roles_grant g;
	json_error_t jerr;
	char *merged;
	json_t *v;
	size_t len;

	ns = control_arg_string(req, "config.apply_namespace", "namespace", NULL, &reply);
	if (ns == NULL)
		return reply;
	text = control_arg_string(req, "config.apply_namespace", "text", &len, &reply);
	if (text == NULL)
		return reply;
	if (!cfg_valid_name(ns))
		return ctl_reply_error("config.apply_namespace: \"%.64s\" is not a namespace name",
				       ns);
	if (live == NULL || live->text == NULL)
		return ctl_reply_error("config.apply_namespace: no configuration is live");
	roles_grant_of(live->roles, peer, &g);
	frag = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (frag == NULL || !json_is_object(frag)) {
		reply = ctl_reply_error("config.apply_namespace: %s at line %d column %d",
					frag == NULL ? jerr.text : "expected a JSON object",
					jerr.line, jerr.column);
		goto out;
	}
	json_object_foreach(frag, key, v)
	{
		bool known = false;

		for (unsigned int m = 0; m < RTE_DIM(roles_ns_members); m++)
			known |= strcmp(key, roles_ns_members[m]) == 0;
		if (!known) {
			reply = ctl_reply_error("config.apply_namespace: $.%.64s: a namespace's "
						"document holds only services, workloads, policies "
						"and clusters",
						key);
			goto out;
		}
	}
	before = json_loadb(live->text, live->text_len, 0, &jerr);
	doc = json_loadb(live->text, live->text_len, 0, &jerr);
	if (before == NULL || doc == NULL) {
		reply = ctl_reply_error("config.apply_namespace: the live document does not parse");
		goto out;
	}
	for (unsigned int m = 0; m < RTE_DIM(roles_ns_members) && reply == NULL; m++)
		reply = roles_merge_member(doc, frag, roles_ns_members[m], ns,
					   json_object_get(before, "services"), &g, &n_entries);
	if (reply != NULL)
		goto out;
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
	json_decref(before);
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
