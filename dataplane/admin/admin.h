/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin: the loopback admin HTTP endpoint (libmicrohttpd, its own thread).
 *
 *   GET /metrics  Prometheus text exposition 0.0.4: every counter of
 *                 dataplane/stats/counters.def as meshdp_<name>_total{worker="N"},
 *                 port counters as meshdp_port_*{port="NAME"}, gauges (config
 *                 generation, neighbours, workers), per-worker flow tables
 *                 (meshdp_flows{worker}, meshdp_flow_*_total), TCP connections by
 *                 state summed over workers (meshdp_tcp_connections{state}), per service and
 *                 endpoint of the live snapshot meshdp_service_*{service} and
 *                 meshdp_endpoint_*{service,endpoint}; each with HELP and TYPE.
 *   GET /ready    200 once the first config is live.
 *
 * The thread only reads: worker counters, flow table counters and TCP state
 * counts (relaxed atomic loads; main stops this thread before the workers), ethdev stats, the live snapshot (online as an RCU reader while
 * it renders) and the endpoint states it points to.
 */
#ifndef MESHDP_ADMIN_H
#define MESHDP_ADMIN_H

#include <stdint.h>

#include "../config/config.h"
#include "../neigh/neigh.h"
#include "../worker/worker.h"

struct admin;

/**
 * Start serving on @p listen ("ADDR:PORT"; only loopback addresses are accepted).
 * @return NULL with @p err filled on failure.
 */
struct admin *admin_start(const char *listen, const struct worker_set *ws,
			  const struct cfg_port_info *ports, uint16_t n_ports,
			  const struct neigh_table *neigh, char *err, size_t errlen);

/** Stop the HTTP thread and free @p a (NULL is fine). */
void admin_stop(struct admin *a);

/**
 * Render the whole exposition into a malloc'd string (exported for unit tests).
 * @return NULL on allocation failure.
 */
char *admin_render_metrics(const struct worker_set *ws, const struct cfg_port_info *ports,
			   uint16_t n_ports, const struct neigh_table *neigh);

#endif
