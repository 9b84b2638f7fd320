/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy: the terminating proxies of one worker, on the worker's TCP stack
 * (dataplane/tcp). For now one kind, tcp_proxy (as Envoy's filter of that
 * name): a listener (config "listeners", type "tcp_proxy") accepts the
 * client's connection, an endpoint of the listener's cluster (a service) is
 * chosen by the service's balancer and breaker (dataplane/l4), the proxy
 * connects to it from the node's address towards it, and bytes are spliced
 * both ways without copies (the received mbufs of one connection are sent on
 * the other), with back-pressure (a side is read only as fast as the other
 * side's send buffer drains), half-close in each direction, a connect
 * timeout, an idle timeout and a per-listener connection limit.
 *
 * Listeners follow the live config: the control thread builds each worker's
 * listener objects (and their TCP listeners) when it binds a snapshot
 * (proxy_bind(), before publish), handing unchanged ones on from the running
 * snapshot; at its next loop iteration a worker that sees a new generation
 * starts the snapshot's new listeners and stops those it no longer has, without
 * allocating or logging. Sessions already accepted keep running to their end
 * (drain).
 *
 * Threads: a struct proxy_worker belongs to one worker lcore. IPv4 only (the
 * mesh data path is IPv4-only; IPv6 listeners are accepted by config and
 * refused here with a log line).
 */
#ifndef MESHDP_PROXY_H
#define MESHDP_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "../config/config.h"
#include "../l4/l4.h"
#include "../net/net.h"
#include "../stats/stats.h"
#include "../tcp/tcp.h"

struct proxy_worker;
struct proxy_global;

/**
 * Create a worker's proxy and its TCP stack of @p tcp_capacity connections,
 * and hook it into @p lw (the L4 path offers it TCP to local addresses).
 * @p secret: 16 bytes shared by all workers (ISNs, SYN cookies). @p tcp_mem:
 * the stack's buffer memory limit (tcp_stack_conf.mem_limit; 0: half the
 * pool). Control thread, before the workers start. @return NULL with
 * rte_errno set.
 */
struct proxy_worker *proxy_worker_create(struct net_worker *nw, struct l4_worker *lw,
					 struct stats_block *stats, uint16_t worker_id,
					 uint32_t tcp_capacity, int socket_id,
					 const uint8_t *secret, uint64_t tcp_mem);

/** Abort every connection and free everything (after the worker stopped). */
void proxy_worker_free(struct proxy_worker *pw);

/**
 * Control thread: what binds listener objects for the workers' proxies
 * @p pw[0 .. n-1] (worker i's at index i). @return NULL on ENOMEM.
 */
struct proxy_global *proxy_global_create(struct proxy_worker *const *pw, unsigned int n);

/** Control thread: free it, after every snapshot bound with it was freed. */
void proxy_global_free(struct proxy_global *pg);

/**
 * Control thread, after cfg_compile() and before cfg_publish(): build each
 * worker's listener objects for @p snap, keeping those of @p prev (the live
 * snapshot, or NULL) for listeners that did not change. cfg_snapshot_free()
 * releases them; a snapshot bound and freed without publish (config validate)
 * changes nothing the workers use. @return 0 or -ENOMEM (@p err says so).
 */
int proxy_bind(struct proxy_global *pg, struct cfg_snapshot *snap, const struct cfg_snapshot *prev,
	       char *err, size_t errlen);

/**
 * Control thread, from time to time: free the listener objects no snapshot
 * holds whose workers are done with them (their last session ended).
 */
void proxy_reclaim(struct proxy_global *pg);

/**
 * Worker, at the top of each loop iteration: the snapshot and clock the
 * iteration runs with; listeners are brought in line with a new snapshot.
 */
void proxy_begin(struct proxy_worker *pw, const struct cfg_snapshot *snap, uint64_t now_tsc);

/** Worker, every drain interval: the TCP timers. */
void proxy_timer(struct proxy_worker *pw, uint64_t now_tsc);

/** The worker's TCP stack (meshctl tcp conns / stats, read by its own worker). */
struct tcp_stack *proxy_tcp_stack(struct proxy_worker *pw);

struct tls_conn_info;

/**
 * Worker (its mailbox, for meshctl tls conns): up to @p max of its TLS
 * connections into @p out; @p more says whether some did not fit (@p pw NULL:
 * none). @return how many were written.
 */
unsigned int proxy_tls_conns(struct proxy_worker *pw, struct tls_conn_info *out, unsigned int max,
			     bool *more);

struct control_cmd_set;

/** meshctl tcp stats, tcp conns (proxy_commands.c; control thread). */
extern const struct control_cmd_set proxy_commands;
/** meshctl tls conns (tls_commands.c; control thread): the TLS layer has no
 * control socket of its own, as dataplane/tcp has none. */
extern const struct control_cmd_set tls_commands;
/**
 * The config section of the terminating proxy ($.tcp, $.listeners;
 * dataplane/proxy/proxy_config.c). Registered in dataplane/subsystems.c after
 * l4_cfg_section: a listener's cluster is one of its services.
 */
extern const struct cfg_section proxy_cfg_section;
/**
 * $.clusters, the L7 options of services (dataplane/proxy/proxy_cluster.c).
 * Registered after proxy_cfg_section.
 */
extern const struct cfg_section proxy_cluster_section;

#endif
