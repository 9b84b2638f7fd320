/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The read side of the L4 path: what meshctl (services, endpoints, breakers,
 * limits, flows) and the Prometheus metrics show. Nothing here writes shared
 * state; endpoint and group fields are read with relaxed atomic loads, so each
 * value is exact on its own but a view is not a consistent snapshot of all of
 * them. The flow dump runs on the owner worker (see l4_flows_dump()).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_cycles.h>

#include "l4_internal.h"

static uint64_t l4_show_ms(uint64_t cycles)
{
	const uint64_t hz = rte_get_tsc_hz();

	return hz ? (cycles / hz) * 1000 + (cycles % hz) * 1000 / hz : 0;
}

const char *l4_health_name(unsigned int health)
{
	static const char *const names[] = {
		[EP_HEALTH_UNKNOWN] = "unknown",
		[EP_HEALTH_HEALTHY] = "healthy",
		[EP_HEALTH_UNHEALTHY] = "unhealthy",
	};

	return health < RTE_DIM(names) ? names[health] : "?";
}

const char *l4_breaker_name(unsigned int breaker)
{
	static const char *const names[] = {
		[EP_CLOSED] = "closed",
		[EP_EJECTED] = "ejected",
		[EP_HALF_OPEN] = "half-open",
	};

	return breaker < RTE_DIM(names) ? names[breaker] : "?";
}

int l4_endpoint_view(const struct l4_endpoint *ep, uint64_t now_tsc, struct l4_ep_view *out)
{
	const struct ep_state *s = ep->rt;
	uint64_t until;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -ENOENT;
	out->health = (uint8_t)__atomic_load_n(&s->health, __ATOMIC_RELAXED);
	out->health_ok = __atomic_load_n(&s->health_ok, __ATOMIC_RELAXED);
	out->health_fail = __atomic_load_n(&s->health_fail, __ATOMIC_RELAXED);
	out->breaker = (uint8_t)ep_breaker_state(s);
	until = ep_ejected_until(s);
	if (out->breaker == EP_EJECTED && (int64_t)(until - now_tsc) > 0)
		out->ejected_ms = l4_show_ms(until - now_tsc);
	out->usable = ep_usable(s, now_tsc);
	out->active = __atomic_load_n(&s->active, __ATOMIC_RELAXED);
	out->pending = __atomic_load_n(&s->pending, __ATOMIC_RELAXED);
	out->consecutive_failures = __atomic_load_n(&s->consecutive_failures, __ATOMIC_RELAXED);
	out->ejection_multiplier = __atomic_load_n(&s->ejections, __ATOMIC_RELAXED);
	out->connections = __atomic_load_n(&s->total_connections, __ATOMIC_RELAXED);
	out->failures = __atomic_load_n(&s->total_failures, __ATOMIC_RELAXED);
	out->ejections = __atomic_load_n(&s->total_ejections, __ATOMIC_RELAXED);
	return 0;
}

int l4_service_view(const struct l4_service *sv, uint64_t now_tsc, struct l4_svc_view *out)
{
	const struct l4_svc_rt *rt = sv->rt;

	memset(out, 0, sizeof(*out));
	out->limit_sources = -1;
	out->n_endpoints = sv->n_endpoints;
	if (rt == NULL)
		return -ENOENT;
	for (uint32_t i = 0; i < sv->n_endpoints; i++) {
		const struct ep_state *s = rt->eps[i];

		out->active += __atomic_load_n(&s->active, __ATOMIC_RELAXED);
		out->usable += ep_usable(s, now_tsc);
	}
	out->ejected = __atomic_load_n(&rt->group.ejected, __ATOMIC_RELAXED);
	if (rt->src_table != NULL)
		out->limit_sources = limit_table_count(rt->src_table);
	return 0;
}

struct l4_dump_ctx {
	struct l4_worker *lw;
	const struct cfg_snapshot *snap;
	int32_t service;
	struct l4_flow_info *out;
	unsigned int max;
	unsigned int n;
	uint64_t now;
};

/*
 * The service of a flow is found again from its forward key (the VIP:port it
 * was addressed to) rather than from e->service, which is an index into the
 * snapshot the flow was created under and may be stale after a swap.
 */
static int l4_dump_one(const struct flow_entry *e, void *arg)
{
	struct l4_dump_ctx *x = arg;
	struct l4_flow_info fi;

	memset(&fi, 0, sizeof(fi));
	if (flow_entry_keys(x->lw->flows, e, &fi.fwd, &fi.rev) != 0)
		return 0;
	fi.service = -1;
	fi.external = -1;
	if (e->ep != NULL)
		fi.service = l4_service_lookup(x->snap, fi.fwd.family, fi.fwd.dst, fi.fwd.dport,
					       fi.fwd.proto)
				     .service;
	else if (fi.fwd.proto == IPPROTO_TCP || fi.fwd.proto == IPPROTO_UDP)
		fi.external = l4_external_of(x->snap, fi.fwd.family, fi.fwd.dst, fi.fwd.dport,
					     fi.fwd.proto);
	if (x->service >= 0 && fi.service != x->service)
		return 0;
	if (x->n == x->max)
		return 1; /* one more match than fits */
	fi.bytes[0] = e->bytes[0];
	fi.bytes[1] = e->bytes[1];
	fi.pkts[0] = e->pkts[0];
	fi.pkts[1] = e->pkts[1];
	fi.state = e->state;
	if ((int64_t)(e->expire - x->now) > 0)
		fi.expires_ms = l4_show_ms(e->expire - x->now);
	x->out[x->n++] = fi;
	return 0;
}

bool l4_flows_dump(struct l4_worker *lw, const struct cfg_snapshot *snap, int32_t service,
		   struct l4_flow_info *out, unsigned int max, uint64_t now_tsc, uint32_t budget,
		   struct l4_dump *d)
{
	struct l4_dump_ctx x = {.lw = lw,
				.snap = snap,
				.service = service,
				.out = out,
				.max = max,
				.n = d->n,
				.now = now_tsc};

	d->more = false;
	if (lw->flows == NULL)
		return true;
	if (flow_walk(lw->flows, &d->cursor, budget, l4_dump_one, &x) != 0)
		d->more = true; /* one more match than fits: done */
	d->n = x.n;
	return d->more || d->cursor == FLOW_WALK_END;
}
