/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * authz: meshctl authn (every TLS listener identity's effective mTLS mode and
 * where it comes from), meshctl authz (the policies, their scope and counts),
 * and the denial log: each control-loop tick takes what the workers posted
 * and logs at most AUTHZ_LOG_PER_SECOND lines a second, the rest summed in
 * one line. Registered as authz_commands (dataplane/subsystems.c). Control
 * thread.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>

#include "../l4/l4.h"
#include "../log/log.h"
#include "../tls/tls.h"
#include "authz_internal.h"

static const char *authz_scope_name(uint8_t scope)
{
	static const char *const names[] = {"mesh", "namespace", "service"};

	return scope < RTE_DIM(names) ? names[scope] : "?";
}

static json_t *authz_cmd_authn(struct control *c, json_t *req, const struct control_peer *peer)
{
	static const char *const modes[] = {"strict", "permissive", "disable"};
	const struct cfg_snapshot *snap = cfg_live;
	const struct authz_snap *as = snap != NULL ? snap->authz : NULL;
	json_t *rows = json_array();

	(void)c;
	(void)req;
	(void)peer;
	for (uint32_t i = 0; as != NULL && rows != NULL && i < as->n_authn; i++) {
		const struct authz_authn_row *r = &as->authn[i];
		const struct cfg_listener *l = &snap->listeners[r->listener];
		char from[64];

		if (r->source == -1)
			snprintf(from, sizeof(from), "listener tls.mtls");
		else if (r->source == -2)
			snprintf(from, sizeof(from), "default");
		else
			snprintf(from, sizeof(from), "peer_authentication[%d] (%s)", r->source,
				 authz_scope_name(r->scope));
		json_array_append_new(
			rows,
			json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "listener", l->name, "service",
				  l->type == CFG_LISTENER_TCP_PROXY ? snap->services[l->service].key
								    : "",
				  "sni", (json_int_t)r->sni, "identity", r->identity, "mode",
				  modes[r->mode % 3], "from", from));
	}
	return ctl_reply_ok(json_pack("{s:o}", "identities", rows));
}

static json_t *authz_cmd_authz(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;
	const struct authz_snap *as = snap != NULL ? snap->authz : NULL;
	json_t *pols = json_array(), *svcs = json_array();

	(void)c;
	(void)req;
	(void)peer;
	for (uint32_t i = 0; as != NULL && pols != NULL && i < as->n_policies; i++) {
		const struct authz_policy *p = &as->policies[i];

		json_array_append_new(
			pols, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "policy",
					p->key, "action", authz_action_name(p->action), "scope",
					authz_scope_name(p->scope), "service", p->service, "rules",
					(json_int_t)p->n_rules, "allowed",
					(json_int_t)atomic_load_explicit(&p->rt->allowed,
									 memory_order_relaxed),
					"denied",
					(json_int_t)atomic_load_explicit(&p->rt->denied,
									 memory_order_relaxed),
					"audited",
					(json_int_t)atomic_load_explicit(&p->rt->audited,
									 memory_order_relaxed)));
	}
	for (uint32_t s = 0;
	     as != NULL && as->set_of != NULL && svcs != NULL && s < snap->n_services; s++) {
		const struct authz_set *set;

		if (as->set_of[s] < 0)
			continue;
		set = &as->sets[as->set_of[s]];
		json_array_append_new(svcs,
				      json_pack("{s:s, s:I, s:b}", "service", snap->services[s].key,
						"clauses", (json_int_t)set->n_clauses,
						"default_deny", set->has_allow));
	}
	return ctl_reply_ok(json_pack("{s:o, s:o, s:I}", "policies", pols, "services", svcs,
				      "log_lost", (json_int_t)authz_events_lost()));
}

/* The denial log, rate-limited: one window per second. */
static void authz_tick(struct control *c, int64_t now_ms)
{
	static int64_t window_ms;
	static uint32_t logged, suppressed;
	struct authz_event ev[32];
	unsigned int n;

	(void)c;
	if (now_ms - window_ms >= 1000) {
		if (suppressed != 0)
			LOG(WARNING,
			    "authz: %" PRIu32 " more denials in the last second not logged",
			    suppressed);
		window_ms = now_ms;
		logged = suppressed = 0;
	}
	while ((n = authz_event_take(ev, RTE_DIM(ev))) != 0)
		for (unsigned int i = 0; i < n; i++) {
			char addr[INET6_ADDRSTRLEN];

			if (logged >= AUTHZ_LOG_PER_SECOND) {
				suppressed++;
				continue;
			}
			logged++;
			inet_ntop(ev[i].family == 6 ? AF_INET6 : AF_INET, ev[i].addr, addr,
				  sizeof(addr));
			LOG(WARNING,
			    "authz: %s %s: service %s port %u from %s principal \"%s\"%s%s%s%s",
			    ev[i].action == AUTHZ_ACT_AUDIT  ? "audit"
			    : ev[i].action == AUTHZ_ACT_DENY ? "denied by"
							     : "denied: no allow rule",
			    ev[i].policy[0] ? ev[i].policy : "-", ev[i].service, ev[i].port, addr,
			    ev[i].principal, ev[i].method[0] ? " " : "", ev[i].method,
			    ev[i].path[0] ? " " : "", ev[i].path);
		}
}

static const struct control_cmd authz_cmds[] = {
	{"authn", authz_cmd_authn, 0,
	 "every TLS listener identity: its effective mTLS mode (strict / permissive / disable) "
	 "and where it comes from (the listener, a peer_authentication scope, the default)"},
	{"authz", authz_cmd_authz, 0,
	 "authorization policies: scope, action, rules, requests allowed / denied / audited; "
	 "the services they apply to"},
};

const struct control_cmd_set authz_commands = {"authz", authz_cmds, RTE_DIM(authz_cmds), authz_tick,
					       NULL};
