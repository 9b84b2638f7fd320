/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net: the L2/L3 data path of one worker. I/O-free: frames come in as mbuf
 * bursts, frames to send are appended to per-port output arrays that the
 * caller (the worker loop, or a unit test) transmits.
 *
 * Implements (partial where noted):
 *   Ethernet II and IEEE 802.1Q (one tag; stacked tags are dropped and counted)
 *   RFC 826  ARP: answers for own addresses, resolves next hops
 *   RFC 791 / RFC 1812  IPv4 validation and forwarding, TTL, no fragmentation
 *            (oversized DF or non-DF packets are answered / dropped and counted)
 *   RFC 1624 incremental checksum update for the TTL decrement
 *   RFC 792  ICMP echo for own addresses; time exceeded, unreachable,
 *            fragmentation needed, rate-limited (token bucket per worker)
 *   RFC 8200 IPv6 validation and forwarding, hop limit
 *   RFC 4443 ICMPv6 echo and errors (time exceeded, unreachable, packet too big)
 *   RFC 4861 NDP: NS/NA for own addresses (incl. the EUI-64 link-local),
 *            next-hop resolution; no RS/RA, no redirects, no DAD
 * Every frame that is not sent on is counted in exactly one drop_* counter.
 *
 * Threads: a struct net_worker belongs to one worker lcore; nothing here takes
 * a lock or allocates from the heap.
 */
#ifndef MESHDP_NET_H
#define MESHDP_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "../config/config.h"
#include "../neigh/neigh.h"
#include "../stats/stats.h"

#define NET_OUT_MAX	 1024 /* frames queued per port before the caller must flush */
#define NET_PENDING_MAX	 64   /* next hops being resolved at once, per worker */
#define NET_PENDING_QLEN 8    /* packets held per next hop while resolving */

/** Frames waiting for transmission on one port. */
struct net_out {
	uint16_t n;
	struct rte_mbuf *pkts[NET_OUT_MAX];
};

/** A next hop being resolved, with the packets waiting for it. */
struct net_pending {
	struct neigh_key key; /* family == 0: slot free */
	uint64_t next_tsc;    /* when to send the next request */
	uint32_t sent;	      /* requests sent so far */
	uint16_t n;
	struct rte_mbuf *pkts[NET_PENDING_QLEN]; /* complete frames, L2 header filled but dst MAC */
};

/**
 * The L4 path's entry (dataplane/l4 registers l4_input_burst here; net does not
 * depend on it). Called in mesh mode with the valid IPv4 packets of a burst
 * (at most 64), data at the IP header, before routing. verdict[i]: NET_CHECK_OK
 * to route packet i (possibly rewritten), NET_L4_CONSUMED when the hook kept or
 * freed it, or the stats_id of a drop. nh[i]: the FIB's next hop
 * (cfg_route4()) for packet i's destination as it leaves the hook, when the
 * hook looked it up (and then did not rewrite the destination), so that net
 * does not search the FIB again; NET_NH_UNKNOWN otherwise.
 */
typedef void (*net_l4_hook)(void *ctx, const struct cfg_snapshot *snap, struct rte_mbuf **pkts,
			    uint16_t n, enum stats_id *verdict, uint32_t *nh, uint64_t now_tsc);
#define NET_NH_UNKNOWN	UINT32_MAX
#define NET_L4_CONSUMED STAT_MAX

/** Per-worker state of the L2/L3 path. */
struct net_worker {
	net_l4_hook l4_hook; /* NULL: no L4 path (router mode only) */
	void *l4_ctx;
	struct stats_block *stats; /* this worker's counters */
	struct neigh_table *neigh; /* shared cache (read) + mailbox (post) */
	struct rte_mempool *pool;  /* for generated frames (replies, ICMP errors, requests) */
	uint64_t tsc_hz;
	/* ICMP error token bucket (RFC 1812 4.3.2.8 / RFC 4443 2.4(f)) */
	uint64_t icmp_tokens;
	uint64_t icmp_last_tsc;
	uint32_t icmp_rate;	   /* errors per second */
	uint32_t icmp_burst;	   /* bucket depth */
	struct neigh_cache ncache; /* this worker's IPv4 next-hop lookups */
	struct net_pending pending[NET_PENDING_MAX];
	uint32_t n_pending; /* slots of pending[] in use: net_timer() skips the scan at 0 */
	struct net_out out[RTE_MAX_ETHPORTS];
};

/**
 * Initialise @p nw. @return 0 or -EINVAL.
 * @param icmp_rate ICMP errors per second this worker may send (burst = rate / 10 + 1).
 */
int net_worker_init(struct net_worker *nw, struct stats_block *stats, struct neigh_table *neigh,
		    struct rte_mempool *pool, uint64_t tsc_hz, uint32_t icmp_rate);

/**
 * Process a burst received on @p port_id. Takes ownership of every mbuf: each is
 * forwarded or answered (appended to nw->out[]), held for neighbour resolution,
 * or freed and counted.
 */
void net_input(struct net_worker *nw, const struct cfg_snapshot *snap, uint16_t port_id,
	       struct rte_mbuf **pkts, uint16_t n, uint64_t now_tsc);

/**
 * Periodic work (call every few hundred microseconds): release packets whose next
 * hop got resolved, resend requests, drop (and count) what timed out.
 */
void net_timer(struct net_worker *nw, const struct cfg_snapshot *snap, uint64_t now_tsc);

/**
 * Send an IPv4 packet this worker built (data at the IP header, checksums done,
 * TTL set): routed by the FIB, neighbour-resolved like forwarded traffic. Takes
 * ownership of @p m (dropped and counted when there is no route).
 */
void net_output4(struct net_worker *nw, const struct cfg_snapshot *snap, struct rte_mbuf *m,
		 uint64_t now_tsc);

/** Free everything held (pending packets and unsent output). Worker shutdown and tests. */
void net_worker_release(struct net_worker *nw);

/*
 * Packet validation, exported for unit tests and the fuzz target. Each returns
 * NET_CHECK_OK when the header is acceptable, or the stats_id of the drop reason
 * (counter 0, worker_loops, is never a drop reason).
 */
#define NET_CHECK_OK ((enum stats_id)0)

/** Validate an IPv4 header of @p len bytes available (sw checksum when !hw_csum_ok). */
enum stats_id net_ipv4_check(const struct rte_ipv4_hdr *ip, uint32_t len, int hw_csum_ok);

/** Validate an IPv6 header of @p len bytes available. */
enum stats_id net_ipv6_check(const struct rte_ipv6_hdr *ip, uint32_t len);

struct control_cmd_set;

/** meshctl routes (net_commands.c; control thread). */
extern const struct control_cmd_set net_commands;
/**
 * The config section of L3 ($.interfaces, $.routes; dataplane/net/net_config.c):
 * fills the snapshot's ifaces, port_iface, vlan_ifaces, nexthops, routes and
 * FIBs. Registered in dataplane/subsystems.c; later sections may use
 * net_is_own_address() on the snapshot it compiled.
 */
extern const struct cfg_section net_cfg_section;

/** Whether @p a (4 or 16 bytes) is one of the snapshot's interface addresses. Control thread. */
bool net_is_own_address(const struct cfg_snapshot *s, uint8_t family, const void *a);

#endif
