/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a struct net_worker needs around it, shared by test_net.c and the
 * fuzz_packet target: an mbuf pool, a neighbour table, and the worker itself
 * (in DPDK memory: its output arrays are too large for a stack). The caller
 * fills the snapshot and calls net_worker_init().
 */
#ifndef MESHDP_NET_FIXTURE_H
#define MESHDP_NET_FIXTURE_H

#include <errno.h>
#include <stdio.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/net/net.h"

/*
 * Create the pool (@p n_mbufs default-sized mbufs), the table (@p neigh_cap
 * entries) and a zeroed worker, named after @p prefix. Once, after EAL init;
 * they live until the process ends. @return 0 or -ENOMEM.
 */
static inline int net_fixture_create(const char *prefix, unsigned int n_mbufs, uint32_t neigh_cap,
				     struct rte_mempool **pool, struct neigh_table **neigh,
				     struct net_worker **nw)
{
	char name[RTE_MEMPOOL_NAMESIZE];

	snprintf(name, sizeof(name), "%s_pool", prefix);
	*pool = rte_pktmbuf_pool_create(name, n_mbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					SOCKET_ID_ANY);
	*neigh = neigh_create(prefix, neigh_cap, SOCKET_ID_ANY);
	snprintf(name, sizeof(name), "%s_nw", prefix);
	*nw = rte_zmalloc(name, sizeof(**nw), RTE_CACHE_LINE_SIZE);
	return *pool != NULL && *neigh != NULL && *nw != NULL ? 0 : -ENOMEM;
}

#endif
