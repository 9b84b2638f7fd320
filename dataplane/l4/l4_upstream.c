/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The upstream API for the proxies (l4.h): an endpoint for a connection the
 * proxy opens, through the same policy, balancer and breaker as a new service
 * flow (l4_upstream_open()), its connect result and close, and the connection
 * limit of a listener (l4_listener_admit() / l4_listener_release()).
 */

#include <string.h>

#include "l4_internal.h"

enum stats_id l4_upstream_open(struct l4_worker *lw, const struct cfg_snapshot *snap,
			       uint32_t service, uint8_t port_idx, uint16_t target_port,
			       uint32_t client, uint16_t client_port, uint32_t local,
			       uint16_t local_port, const struct l4_pick_opts *pick,
			       uint64_t now_tsc, struct l4_upstream *up)
{
	const struct l4_service *sv = &snap->services[service];
	struct l4_svc_rt *rt = sv->rt;
	int workload = l4_workload_of(snap, 4, &client);
	enum ep_admit adm;
	uint16_t idx;

	memset(up, 0, sizeof(*up));
	if (!((l4_policy_mask(snap, workload, service) >> port_idx) & 1))
		return STAT_DROP_L4_POLICY_DENIED;
	if (rt == NULL || sv->family != 4)
		return STAT_DROP_L4_NO_ENDPOINT;
	idx = l4_admit(lw, sv, rt,
		       lb_flow_hash4(client, local, client_port, local_port, IPPROTO_TCP), pick,
		       now_tsc, &adm);
	if (idx == LB_NONE)
		return adm == EP_REFUSE_MAX_CONN || adm == EP_REFUSE_MAX_PENDING
			       ? STAT_DROP_L4_BREAKER_OPEN
			       : STAT_DROP_L4_NO_ENDPOINT;
	up->ep = rt->eps[idx];
	up->service = service;
	up->endpoint = idx;
	up->probe = adm == EP_ADMIT_PROBE;
	memcpy(&up->addr, sv->endpoints[idx].addr, 4);
	up->port =
		rte_cpu_to_be_16(sv->endpoints[idx].port ? sv->endpoints[idx].port : target_port);
	up->source = l4_source_for(snap, up->addr);
	return NET_CHECK_OK;
}

void l4_upstream_result(struct l4_worker *lw, const struct cfg_snapshot *snap,
			struct l4_upstream *up, bool ok, uint64_t now_tsc)
{
	static const struct ep_limits no_ejection;
	struct l4_svc_rt *rt = l4_svc_of(snap, up->service, up->endpoint, up->ep);

	if (up->ep == NULL)
		return;
	if (ok) {
		ep_connect_ok(up->ep, up->probe, rt ? &rt->group : NULL);
		stats_inc(lw->stats, STAT_L4_CONNECTS_OK);
	} else {
		ep_connect_failed(up->ep, rt ? &rt->limits : &no_ejection, now_tsc, up->probe,
				  rt ? &rt->group : NULL);
		stats_inc(lw->stats, STAT_L4_CONNECTS_FAILED);
	}
	up->probe = false;
}

void l4_upstream_close(struct l4_upstream *up)
{
	if (up->ep != NULL)
		ep_conn_closed(up->ep);
	up->ep = NULL;
}

void *l4_listener_admit(const struct cfg_listener *cl)
{
	struct ep_state *s = cl->rt;
	uint32_t n;

	if (s == NULL)
		return NULL;
	n = __atomic_add_fetch(&s->active, 1, __ATOMIC_RELAXED);
	if (cl->max_connections != 0 && n > cl->max_connections) {
		__atomic_sub_fetch(&s->active, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	return s;
}

void l4_listener_release(void *slot)
{
	struct ep_state *s = slot;

	if (s != NULL)
		__atomic_sub_fetch(&s->active, 1, __ATOMIC_RELAXED);
}
