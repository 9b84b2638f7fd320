/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * roles: each peer's grant (its role and scope) under the live $.roles, the
 * guard the control server asks before each command, and the admin audit log
 * it writes after. Control thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>

#include "../log/log.h"
#include "roles_internal.h"

#define ROLES_MAX_GROUPS 256

const char *roles_role_name(enum roles_role role)
{
	static const char *const names[] = {"none", "viewer", "operator", "admin"};

	return role <= ROLES_ADMIN ? names[role] : "none";
}

/* The peer's primary group and its user's supplementary groups. */
static int roles_peer_groups(const struct control_peer *peer, gid_t *groups, int max)
{
	const struct passwd *pw = getpwuid(peer->uid);
	int n = max - 1;

	groups[0] = peer->gid;
	if (pw == NULL || getgrouplist(pw->pw_name, pw->pw_gid, groups + 1, &n) < 0)
		n = pw == NULL ? 0 : max - 1;
	return n + 1;
}

static bool roles_binding_matches(const struct roles_binding *b, const struct control_peer *peer,
				  const gid_t *groups, int n_groups)
{
	if (b->subject == ROLES_UID)
		return b->id == (uint32_t)peer->uid;
	for (int i = 0; i < n_groups; i++)
		if (b->id == (uint32_t)groups[i])
			return true;
	return false;
}

void roles_grant_of(const struct roles_snap *rs, const struct control_peer *peer,
		    struct roles_grant *g)
{
	gid_t groups[ROLES_MAX_GROUPS];
	int n_groups;

	memset(g, 0, sizeof(*g));
	if (rs == NULL || peer->uid == 0) {
		g->role = ROLES_ADMIN;
		snprintf(g->source, sizeof(g->source), "%s", rs == NULL ? "no $.roles" : "root");
		return;
	}
	n_groups = roles_peer_groups(peer, groups, (int)RTE_DIM(groups));
	for (uint32_t i = 0; i < rs->n_bindings; i++) {
		const struct roles_binding *b = &rs->bindings[i];

		if (!roles_binding_matches(b, peer, groups, n_groups))
			continue;
		if (b->role > g->role) {
			g->role = b->role;
			if (b->name[0] != '\0')
				snprintf(g->source, sizeof(g->source),
					 "%s %s, $.roles.bindings[%u]",
					 b->subject == ROLES_UID ? "user" : "group", b->name, i);
			else
				snprintf(g->source, sizeof(g->source),
					 "uid %u, $.roles.bindings[%u]", b->id, i);
		}
		for (unsigned int k = 0;
		     b->role == ROLES_OPERATOR && k < b->n_scope && g->n_scope < ROLES_GRANT_SCOPE;
		     k++)
			g->scope[g->n_scope++] = b->scope[k];
	}
	if (g->role == ROLES_NONE)
		snprintf(g->source, sizeof(g->source), "uid %u is bound to no role in $.roles",
			 (unsigned int)peer->uid);
}

bool roles_scope_covers(const struct roles_grant *g, const char *ns, const char *svc)
{
	size_t nlen = strlen(ns);

	if (g->role == ROLES_ADMIN)
		return true;
	if (g->role != ROLES_OPERATOR)
		return false;
	for (uint32_t i = 0; i < g->n_scope; i++) {
		const char *e = g->scope[i];

		if (strcmp(e, "*") == 0 || strcmp(e, ns) == 0)
			return true;
		if (svc != NULL && strncmp(e, ns, nlen) == 0 && e[nlen] == '/' &&
		    strcmp(e + nlen + 1, svc) == 0)
			return true;
	}
	return false;
}

/* Does @p g reach into namespace @p ns at all (the whole of it or one of its services)? */
static bool roles_scope_touches(const struct roles_grant *g, const char *ns)
{
	size_t nlen = strlen(ns);

	if (roles_scope_covers(g, ns, NULL))
		return true;
	for (uint32_t i = 0; g->role == ROLES_OPERATOR && i < g->n_scope; i++)
		if (strncmp(g->scope[i], ns, nlen) == 0 && g->scope[i][nlen] == '/')
			return true;
	return false;
}

static bool roles_authorize(const struct control_peer *peer, const struct control_cmd *cmd,
			    json_t *req, char *why, size_t len)
{
	const struct cfg_snapshot *live = cfg_live;
	struct roles_grant g;
	const char *ns;

	roles_grant_of(live != NULL ? live->roles : NULL, peer, &g);
	switch (g.role) {
	case ROLES_ADMIN:
		return true;
	case ROLES_NONE:
		snprintf(why, len, "%s", g.source);
		return false;
	case ROLES_VIEWER:
		if (!(cmd->flags & CONTROL_CMD_WRITE))
			return true;
		snprintf(why, len, "uid %u is a viewer (%s): %s changes state",
			 (unsigned int)peer->uid, g.source, cmd->name);
		return false;
	case ROLES_OPERATOR:
		if (!(cmd->flags & CONTROL_CMD_WRITE))
			return true;
		if (!(cmd->flags & CONTROL_CMD_SCOPED)) {
			snprintf(why, len,
				 "uid %u is an operator (%s): %s is for admins; an operator "
				 "changes its namespaces with config apply --namespace",
				 (unsigned int)peer->uid, g.source, cmd->name);
			return false;
		}
		ns = json_string_value(json_object_get(req, "namespace"));
		if (ns == NULL || roles_scope_touches(&g, ns))
			return true; /* no namespace: the command refuses it itself */
		snprintf(why, len,
			 "uid %u is an operator (%s) whose scope does not include namespace %s",
			 (unsigned int)peer->uid, g.source, ns);
		return false;
	}
	return false;
}

/* "2026-12-04T01:02:03.456Z" */
static void roles_now(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

static void roles_record(const struct control_peer *peer, const struct control_cmd *cmd,
			 json_t *req, const json_t *reply)
{
	const struct cfg_snapshot *live = cfg_live;
	const struct roles_snap *rs = live != NULL ? live->roles : NULL;
	bool accepted = reply != NULL && json_is_true(json_object_get(reply, "ok"));
	const struct passwd *pw = getpwuid(peer->uid);
	const char *ns = json_string_value(json_object_get(req, "namespace"));
	struct roles_grant g;
	char when[40], *line;
	json_t *rec;
	int fd;

	if (accepted && !(cmd->flags & CONTROL_CMD_WRITE))
		return;
	roles_grant_of(rs, peer, &g);
	roles_now(when, sizeof(when));
	rec = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s?, s:s, s:s?, s:I}", "time", when, "uid",
			(json_int_t)peer->uid, "user", pw != NULL ? pw->pw_name : "", "role",
			roles_role_name(g.role), "cmd", cmd->name, "namespace", ns, "result",
			accepted ? "accepted" : "refused", "reason",
			accepted	? NULL
			: reply != NULL ? json_string_value(json_object_get(reply, "error"))
					: "out of memory",
			"generation", (json_int_t)(live != NULL ? live->generation : 0));
	line = rec != NULL ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	if (line == NULL) {
		LOG(ERR, "admin audit: out of memory recording %s by uid %u", cmd->name,
		    (unsigned int)peer->uid);
		return;
	}
	LOG(NOTICE, "admin audit: %s", line);
	if (rs != NULL && rs->audit_log[0] != '\0') {
		fd = open(rs->audit_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || dprintf(fd, "%s\n", line) < 0)
			LOG(ERR, "admin audit: cannot write %s: %s", rs->audit_log,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	free(line);
}

const struct control_guard roles_guard = {
	.authorize = roles_authorize,
	.record = roles_record,
};
