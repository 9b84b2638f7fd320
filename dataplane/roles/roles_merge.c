/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * roles: one namespace's document merged into a configuration document
 * (roles.h, roles_namespace_merge()), for config.apply_namespace and for the
 * namespace keys of a fleet in etcd. A namespace document holds some of
 * services, workloads, policies and clusters, every entry of the namespace
 * given; each member it has replaces that namespace's entries of the document
 * (members it lacks stay as they are). An entry's namespace: a workload's or
 * service's own, a policy's or cluster's service's. Policies to external
 * services are egress and stay an admin's. With an operator's grant scoped to
 * single services of the namespace, only entries of those services may
 * change. Control thread only.
 */
#include <errno.h>
#include <stdio.h>
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
 * @return 0, or -EPERM with @p why filled.
 */
static int roles_check_services(const struct roles_grant *g, const char *ns, const char *member,
				const json_t *before, const json_t *after,
				const json_t *services_before, const json_t *services_after,
				char *why, size_t len)
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
			if (svc == NULL || !roles_scope_covers(g, ns, svc)) {
				snprintf(why, len,
					 "permission denied: %s %s %s of namespace %s is outside "
					 "the operator's scope (%s)",
					 s == 0 ? "removing or changing" : "adding or changing",
					 member, svc != NULL ? svc : "(not of one service)", ns,
					 g->source);
				return -EPERM;
			}
		}
	}
	return 0;
}

/*
 * Replace namespace @p ns's entries of @p member in @p doc by @p frag's.
 * @return 0, or -EINVAL / -EPERM / -ENOMEM with @p why filled.
 */
static int roles_merge_member(json_t *doc, const json_t *frag, const char *member, const char *ns,
			      const json_t *services_before, const struct roles_grant *g,
			      unsigned int *n_entries, char *why, size_t len)
{
	const json_t *want = json_object_get(frag, member);
	json_t *have = json_object_get(doc, member), *merged, *e;
	const json_t *services_after;
	size_t i;
	int rc;

	if (want == NULL)
		return 0;
	if (!json_is_array(want)) {
		snprintf(why, len, "$.%s: expected an array", member);
		return -EINVAL;
	}
	merged = json_array();
	if (merged == NULL) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
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
			snprintf(why, len,
				 "$.policies[%zu]: a policy to an external service is egress, an "
				 "admin's change (config apply)",
				 i);
			return -EINVAL;
		}
		ens = roles_entry_ns(member, e, services_after != NULL ? services_after : want,
				     &svc);
		if (ens == NULL || strcmp(ens, ns) != 0) {
			json_decref(merged);
			snprintf(why, len,
				 "$.%s[%zu]: expected an entry of namespace %s, got one of %s",
				 member, i, ns, ens != NULL ? ens : "no namespace");
			return -EINVAL;
		}
		json_array_append(merged, e);
		(*n_entries)++;
	}
	rc = g == NULL || roles_scope_covers(g, ns, NULL)
		     ? 0
		     : roles_check_services(g, ns, member, have, merged, services_before,
					    services_after != NULL ? services_after : merged, why,
					    len);
	if (rc == 0)
		json_object_set(doc, member, merged);
	json_decref(merged);
	return rc;
}

int roles_namespace_merge(json_t *doc, const json_t *frag, const char *ns,
			  const struct roles_grant *g, unsigned int *n_entries, char *why,
			  size_t len)
{
	json_t *services_before, *v;
	const char *key;
	int rc = 0;

	if (!cfg_valid_name(ns)) {
		snprintf(why, len, "\"%.64s\" is not a namespace name", ns);
		return -EINVAL;
	}
	if (!json_is_object(frag)) {
		snprintf(why, len, "a namespace's document is a JSON object");
		return -EINVAL;
	}
	json_object_foreach((json_t *)frag, key, v)
	{
		bool known = false;

		for (unsigned int m = 0; m < RTE_DIM(roles_ns_members); m++)
			known |= strcmp(key, roles_ns_members[m]) == 0;
		if (!known) {
			snprintf(why, len,
				 "$.%.64s: a namespace's document holds only services, workloads, "
				 "policies and clusters",
				 key);
			return -EINVAL;
		}
	}
	/* the entries' namespaces before the merge, while the members change */
	services_before = json_deep_copy(json_object_get(doc, "services"));
	if (json_object_get(doc, "services") != NULL && services_before == NULL) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	*n_entries = 0;
	for (unsigned int m = 0; m < RTE_DIM(roles_ns_members) && rc == 0; m++)
		rc = roles_merge_member(doc, frag, roles_ns_members[m], ns, services_before, g,
					n_entries, why, len);
	json_decref(services_before);
	return rc;
}
