/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The L2/L3 path's control command (meshctl routes): every entry of the live
 * snapshot's compiled routing table, registered as net_commands
 * (dataplane/subsystems.c). Control thread.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "../control/control.h"
#include "net.h"

static const char *const net_cmd_nh_types[] = {
	[CFG_NH_LOCAL] = "local",	  [CFG_NH_CONNECTED] = "connected",
	[CFG_NH_GATEWAY] = "gateway",	  [CFG_NH_BLACKHOLE] = "blackhole",
	[CFG_NH_BROADCAST] = "broadcast",
};

static json_t *net_cmd_routes(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;
	json_t *arr = json_array();

	(void)c;
	(void)req;
	(void)peer;
	for (uint32_t i = 0; snap != NULL && i < snap->n_routes; i++) {
		const struct cfg_route *r = &snap->routes[i];
		const struct cfg_nexthop *nh =
			r->nexthop < snap->n_nexthops ? &snap->nexthops[r->nexthop] : NULL;
		char addr[INET6_ADDRSTRLEN], prefix[INET6_ADDRSTRLEN + 8], via[INET6_ADDRSTRLEN];
		const char *type = "none";
		json_t *iface = json_null(), *jvia = json_null();

		if (r->family == 4) {
			inet_ntop(AF_INET, &r->dst4.addr, addr, sizeof(addr));
			snprintf(prefix, sizeof(prefix), "%s/%u", addr, r->dst4.len);
		} else {
			inet_ntop(AF_INET6, r->dst6.addr, addr, sizeof(addr));
			snprintf(prefix, sizeof(prefix), "%s/%u", addr, r->dst6.len);
		}
		if (nh != NULL && r->nexthop != 0) {
			if (nh->type < RTE_DIM(net_cmd_nh_types) && net_cmd_nh_types[nh->type])
				type = net_cmd_nh_types[nh->type];
			if (nh->type != CFG_NH_BLACKHOLE && nh->iface < snap->n_ifaces)
				iface = json_string(snap->ifaces[nh->iface].name);
			if (nh->type == CFG_NH_GATEWAY) {
				if (nh->family == 4)
					inet_ntop(AF_INET, &nh->gw4, via, sizeof(via));
				else
					inet_ntop(AF_INET6, nh->gw6, via, sizeof(via));
				jvia = json_string(via);
			}
		}
		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:o, s:o}", "prefix", prefix, "type",
						type, "interface", iface, "via", jvia));
	}
	return ctl_reply_ok(arr);
}

static const struct control_cmd net_cmds[] = {
	{"routes", net_cmd_routes, 0, "the compiled routing table"},
};

const struct control_cmd_set net_commands = {"net", net_cmds, RTE_DIM(net_cmds)};
