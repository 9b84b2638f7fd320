/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The L4 path's control commands (meshctl services, endpoints, breakers,
 * limits, flows), registered as l4_commands (dataplane/subsystems.c). They read
 * the live snapshot and the endpoint state through l4_show.c's views; flows
 * asks every worker for its table through its mailbox (control_dump()).
 * Control thread.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>

#include "../control/control.h"
#include "l4.h"

static const char *const l4_cmd_lb_names[] = {
	[L4_LB_MAGLEV] = "maglev",
	[L4_LB_ROUND_ROBIN] = "round_robin",
	[L4_LB_LEAST_CONNECTIONS] = "least_connections",
};

static const char *l4_cmd_proto_name(uint8_t proto, char *buf, size_t len)
{
	if (proto == IPPROTO_TCP)
		return "tcp";
	if (proto == IPPROTO_UDP)
		return "udp";
	if (proto == IPPROTO_ICMP)
		return "icmp";
	if (proto == IPPROTO_ICMPV6)
		return "icmpv6";
	snprintf(buf, len, "%u", proto);
	return buf;
}

/* An endpoint's name within its service: its key without "<namespace>/<service>/". */
static const char *l4_cmd_ep_name(const struct l4_service *sv, const struct l4_endpoint *ep)
{
	size_t n = strlen(sv->key);

	return strncmp(ep->key, sv->key, n) == 0 && ep->key[n] == '/' ? ep->key + n + 1 : ep->key;
}

/*
 * The optional "service" argument: a service's "<namespace>/<name>" or its name
 * (names are unique). @return 0 with *idx set (-1 when absent), or -1 with
 * *err_reply set.
 */
static int l4_cmd_arg_service(const struct cfg_snapshot *snap, json_t *req, const char *cmd,
			      int32_t *idx, json_t **err_reply)
{
	json_t *v = json_object_get(req, "service");
	const char *name;

	*idx = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		*err_reply = ctl_reply_error("%s: argument \"service\" must be a string", cmd);
		return -1;
	}
	name = json_string_value(v);
	for (uint32_t i = 0; snap != NULL && i < snap->n_services; i++) {
		if (strcmp(snap->services[i].key, name) == 0 ||
		    strcmp(snap->services[i].name, name) == 0) {
			*idx = (int32_t)i;
			return 0;
		}
	}
	*err_reply = ctl_reply_error("%s: unknown service '%.64s'", cmd, name);
	return -1;
}

static json_t *l4_cmd_services(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;
	const uint64_t now = rte_rdtsc();
	json_t *arr = json_array();

	(void)c;
	(void)req;
	(void)peer;
	for (uint32_t s = 0; snap != NULL && s < snap->n_services; s++) {
		const struct l4_service *sv = &snap->services[s];
		json_t *ports = json_array(), *limits = json_array();
		char vip[INET6_ADDRSTRLEN], pbuf[8];
		struct l4_svc_view v;

		l4_service_view(sv, now, &v);
		control_addr(sv->family, sv->vip, vip, sizeof(vip));
		for (uint8_t p = 0; p < sv->n_ports; p++)
			json_array_append_new(ports,
					      json_pack("{s:I, s:s, s:I}", "port",
							(json_int_t)sv->ports[p].port, "protocol",
							l4_cmd_proto_name(sv->ports[p].protocol,
									  pbuf, sizeof(pbuf)),
							"target_port",
							(json_int_t)sv->ports[p].target_port));
		if (sv->limit_service >= 0)
			json_array_append_new(limits,
					      json_string(snap->limits[sv->limit_service].name));
		if (sv->limit_source >= 0)
			json_array_append_new(limits,
					      json_string(snap->limits[sv->limit_source].name));
		json_array_append_new(
			arr,
			json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:o}",
				  "service", sv->key, "name", sv->name, "namespace", sv->ns, "vip",
				  vip, "ports", ports, "lb",
				  sv->lb < RTE_DIM(l4_cmd_lb_names) ? l4_cmd_lb_names[sv->lb] : "?",
				  "nat", sv->nat == L4_NAT_FULLNAT ? "fullnat" : "dnat",
				  "endpoints", (json_int_t)v.n_endpoints, "usable",
				  (json_int_t)v.usable, "active", (json_int_t)v.active, "limits",
				  limits));
	}
	return ctl_reply_ok(arr);
}

static json_t *l4_cmd_endpoint_json(const struct l4_service *sv, const struct l4_endpoint *ep,
				    uint64_t now)
{
	json_t *labels = json_object();
	char addr[INET6_ADDRSTRLEN];
	struct l4_ep_view v;

	l4_endpoint_view(ep, now, &v);
	control_addr(ep->family, ep->addr, addr, sizeof(addr));
	for (uint8_t l = 0; l < ep->n_labels; l++)
		json_object_set_new(labels, ep->labels[l].key, json_string(ep->labels[l].value));
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, "
			 "s:I, s:I, s:I, s:I, s:b}",
			 "service", sv->key, "endpoint", l4_cmd_ep_name(sv, ep), "address", addr,
			 "port", ep->port ? json_integer(ep->port) : json_null(), "weight",
			 (json_int_t)ep->weight, "labels", labels, "health",
			 l4_health_name(v.health), "health_ok", (json_int_t)v.health_ok,
			 "health_fail", (json_int_t)v.health_fail, "breaker",
			 l4_breaker_name(v.breaker), "ejected_ms", (json_int_t)v.ejected_ms,
			 "consecutive_failures", (json_int_t)v.consecutive_failures, "active",
			 (json_int_t)v.active, "pending", (json_int_t)v.pending, "connections",
			 (json_int_t)v.connections, "failures", (json_int_t)v.failures, "ejections",
			 (json_int_t)v.ejections, "ejection_multiplier",
			 (json_int_t)v.ejection_multiplier, "usable", v.usable);
}

static json_t *l4_cmd_endpoints(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;
	const uint64_t now = rte_rdtsc();
	json_t *arr, *err = NULL;
	int32_t only;

	(void)c;
	(void)peer;
	if (l4_cmd_arg_service(snap, req, "endpoints", &only, &err) < 0)
		return err;
	arr = json_array();
	for (uint32_t s = 0; snap != NULL && s < snap->n_services; s++) {
		const struct l4_service *sv = &snap->services[s];

		if (only >= 0 && (uint32_t)only != s)
			continue;
		for (uint32_t i = 0; i < sv->n_endpoints; i++)
			json_array_append_new(arr,
					      l4_cmd_endpoint_json(sv, &sv->endpoints[i], now));
	}
	return ctl_reply_ok(arr);
}

static json_t *l4_cmd_breakers(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;
	const uint64_t now = rte_rdtsc();
	json_t *arr = json_array();

	(void)c;
	(void)req;
	(void)peer;
	for (uint32_t s = 0; snap != NULL && s < snap->n_services; s++) {
		const struct l4_service *sv = &snap->services[s];
		const struct l4_breaker *b = &sv->breaker;
		json_t *eps = json_array();
		struct l4_svc_view sview;

		l4_service_view(sv, now, &sview);
		for (uint32_t i = 0; i < sv->n_endpoints; i++) {
			const struct l4_endpoint *ep = &sv->endpoints[i];
			struct l4_ep_view v;

			l4_endpoint_view(ep, now, &v);
			json_array_append_new(
				eps,
				json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "endpoint",
					  l4_cmd_ep_name(sv, ep), "state",
					  l4_breaker_name(v.breaker), "consecutive_failures",
					  (json_int_t)v.consecutive_failures, "ejections",
					  (json_int_t)v.ejections, "ejection_multiplier",
					  (json_int_t)v.ejection_multiplier, "ejected_ms",
					  (json_int_t)v.ejected_ms, "active", (json_int_t)v.active,
					  "pending", (json_int_t)v.pending));
		}
		json_array_append_new(
			arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "service",
				       sv->key, "max_connections", (json_int_t)b->max_connections,
				       "max_pending", (json_int_t)b->max_pending,
				       "consecutive_failures", (json_int_t)b->consecutive_failures,
				       "base_ejection_ms", (json_int_t)b->base_ejection_ms,
				       "max_ejection_percent", (json_int_t)b->max_ejection_percent,
				       "n_endpoints", (json_int_t)sv->n_endpoints, "ejected",
				       (json_int_t)sview.ejected, "endpoints", eps));
	}
	return ctl_reply_ok(arr);
}

static json_t *l4_cmd_limits(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;
	const uint64_t now = rte_rdtsc();
	json_t *arr = json_array();

	(void)c;
	(void)req;
	(void)peer;
	for (uint32_t i = 0; snap != NULL && i < snap->n_limits; i++) {
		const struct l4_limit *l = &snap->limits[i];
		const struct l4_service *sv =
			l->service < snap->n_services ? &snap->services[l->service] : NULL;
		json_t *sources = json_null();
		struct l4_svc_view v;

		if (sv != NULL && l->scope == L4_LIMIT_SOURCE &&
		    l4_service_view(sv, now, &v) == 0 && v.limit_sources >= 0) {
			json_decref(sources);
			sources = json_integer(v.limit_sources);
		}
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:o}", "name",
				       l->name, "service", sv ? sv->key : "?", "scope",
				       l->scope == L4_LIMIT_SOURCE ? "source" : "service",
				       "connections_per_s", (json_int_t)l->connections_per_s,
				       "connections_burst", (json_int_t)l->connections_burst,
				       "packets_per_s", (json_int_t)l->packets_per_s,
				       "packets_burst", (json_int_t)l->packets_burst, "action",
				       l->reject == L4_REJECT_RESET ? "reset" : "drop", "sources",
				       sources));
	}
	return ctl_reply_ok(arr);
}

static json_t *l4_cmd_flow_json(const struct cfg_snapshot *snap, unsigned int worker,
				const void *rec)
{
	const struct l4_flow_info *f = rec;
	char fwd_src[INET6_ADDRSTRLEN + 8], fwd_dst[INET6_ADDRSTRLEN + 8];
	char rev_src[INET6_ADDRSTRLEN + 8], rev_dst[INET6_ADDRSTRLEN + 8];
	char fwd[2 * sizeof(fwd_src) + 4], rev[2 * sizeof(rev_src) + 4], pbuf[8];
	const struct l4_service *sv = NULL;
	json_t *jsvc = json_null(), *jext = json_null(), *jep = json_null();

	control_addr_port(f->fwd.family, f->fwd.src, f->fwd.sport, fwd_src, sizeof(fwd_src));
	control_addr_port(f->fwd.family, f->fwd.dst, f->fwd.dport, fwd_dst, sizeof(fwd_dst));
	control_addr_port(f->rev.family, f->rev.src, f->rev.sport, rev_src, sizeof(rev_src));
	control_addr_port(f->rev.family, f->rev.dst, f->rev.dport, rev_dst, sizeof(rev_dst));
	snprintf(fwd, sizeof(fwd), "%s -> %s", fwd_src, fwd_dst);
	snprintf(rev, sizeof(rev), "%s -> %s", rev_src, rev_dst);
	if (f->service >= 0 && (uint32_t)f->service < snap->n_services) {
		sv = &snap->services[f->service];
		jsvc = json_string(sv->key);
		jep = json_string(rev_src); /* the reply comes from the endpoint */
	}
	if (f->external >= 0 && (uint32_t)f->external < snap->n_externals)
		jext = json_string(snap->externals[f->external].name);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I}",
			 "worker", (json_int_t)worker, "proto",
			 l4_cmd_proto_name(f->fwd.proto, pbuf, sizeof(pbuf)), "state",
			 flow_state_name(f->state), "forward", fwd, "reply", rev, "service", jsvc,
			 "endpoint", jep, "external", jext, "packets_fwd", (json_int_t)f->pkts[0],
			 "bytes_fwd", (json_int_t)f->bytes[0], "packets_rev",
			 (json_int_t)f->pkts[1], "bytes_rev", (json_int_t)f->bytes[1], "expires_s",
			 (json_int_t)((f->expires_ms + 999) / 1000));
}

static json_t *l4_cmd_flows(struct control *c, json_t *req, const struct control_peer *peer)
{
	json_t *reply = NULL;
	json_int_t limit;
	int32_t only;

	(void)peer;
	if (l4_cmd_arg_service(cfg_live, req, "flows", &only, &reply) < 0)
		return reply;
	if (control_arg_limit(req, "flows", &limit, &reply) < 0)
		return reply;
	return control_dump(c, "flows", "flows", WORKER_REQ_FLOWS, only, limit,
			    sizeof(struct l4_flow_info), l4_cmd_flow_json);
}

static const struct control_cmd l4_cmds[] = {
	{"services", l4_cmd_services, 0,
	 "L4 services: VIP, ports, balancing, endpoints, connections"},
	{"endpoints", l4_cmd_endpoints, 0,
	 "endpoints with health, breaker and connection counts (service)"},
	{"breakers", l4_cmd_breakers, 0,
	 "circuit breakers: thresholds per service, state per endpoint"},
	{"limits", l4_cmd_limits, 0, "rate limits with their rates, bursts and source tables"},
	{"flows", l4_cmd_flows, 0, "flows of every worker's table (service, limit)"},
};

const struct control_cmd_set l4_commands = {"l4", l4_cmds, RTE_DIM(l4_cmds)};
