/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: declarative JSON configuration, strict validation, and the immutable
 * snapshot that the workers read.
 *
 * Life of a configuration (docs/ARCHITECTURE.md has the picture):
 *   text --cfg_compile()--> struct cfg_snapshot (validated, FIBs built)
 *        --cfg_publish()--> live: one rcu_xchg_pointer(); the old snapshot is
 *                           freed after synchronize_rcu(), i.e. once every
 *                           worker has passed a QSBR quiescent state.
 * Workers call cfg_snapshot_get() once per loop iteration and hold the pointer
 * only until their next rcu_quiescent_state().
 *
 * Threads: everything except cfg_snapshot_get() runs on the control thread only.
 * The schema is docs/CONFIG.md; errors name the JSON path ("$.interfaces[1].ipv4[0]")
 * and say what was expected.
 */
#ifndef MESHDP_CONFIG_H
#define MESHDP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <urcu-qsbr.h>

#define CFG_VERSION	 1
#define CFG_NAME_MAX	 32
#define CFG_MAX_PORTS	 16
#define CFG_MAX_IFACES	 64
#define CFG_MAX_ADDRS	 8 /* per family per interface */
#define CFG_MAX_ROUTES	 4096
#define CFG_MAX_NEXTHOPS 32767 /* rte_fib 2-byte next hops */
#define CFG_PATH_MAX	 108   /* sun_path */
#define CFG_ERROR_MAX	 512
#define CFG_TEXT_MAX	 (1u << 20) /* largest accepted config document */

/** A port as the port layer brought it up; config refers to ports by name. */
struct cfg_port_info {
	char name[CFG_NAME_MAX];
	uint16_t port_id;
	uint16_t mtu;
	struct rte_ether_addr mac;
};

struct cfg_prefix4 {
	uint32_t addr; /* network byte order */
	uint8_t len;
};

struct cfg_prefix6 {
	uint8_t addr[16];
	uint8_t len;
};

/** An L3 interface: a port, or one VLAN on a port. */
struct cfg_iface {
	char name[CFG_NAME_MAX];
	char port[CFG_NAME_MAX];
	uint16_t port_id;
	uint16_t vlan; /* 0: untagged */
	uint16_t mtu;  /* L3 MTU; defaults to the port's */
	struct rte_ether_addr mac;
	uint8_t n_ipv4;
	uint8_t n_ipv6;
	struct cfg_prefix4 ipv4[CFG_MAX_ADDRS];
	struct cfg_prefix6 ipv6[CFG_MAX_ADDRS];
	uint8_t ipv6_link_local[16]; /* fe80::/64 + modified EUI-64 of mac, always present */
};

enum cfg_nexthop_type {
	CFG_NH_LOCAL = 1, /* one of our addresses: deliver to the node */
	CFG_NH_CONNECTED, /* on-link: the packet's destination is the neighbour */
	CFG_NH_GATEWAY,	  /* via a gateway address on an interface */
	CFG_NH_BLACKHOLE, /* configured discard (counted as no route) */
	CFG_NH_BROADCAST, /* IPv4 subnet broadcast of a connected prefix */
};

/**
 * What a FIB lookup returns: the FIB stores the index into snap->nexthops.
 * Index 0 is reserved and means "no route".
 */
struct cfg_nexthop {
	uint8_t type;	/* enum cfg_nexthop_type */
	uint8_t family; /* 4 or 6 */
	uint16_t iface; /* index into snap->ifaces */
	union {
		uint32_t gw4; /* network byte order, CFG_NH_GATEWAY only */
		uint8_t gw6[16];
	};
};

struct cfg_route {
	uint8_t family;
	union {
		struct cfg_prefix4 dst4;
		struct cfg_prefix6 dst6;
	};
	uint32_t nexthop; /* index into snap->nexthops */
};

enum cfg_idle {
	CFG_IDLE_POLL,	/* busy-poll always: lowest latency, one core at 100% */
	CFG_IDLE_SLEEP, /* after idle_polls empty polls, go RCU-offline and sleep */
};

/** Knobs applied live through the snapshot (meshctl tune KEY=VALUE). */
struct cfg_tune {
	uint16_t rx_burst; /* 1..256, frames per rte_eth_rx_burst */
	uint16_t tx_burst; /* 1..256, frames buffered before rte_eth_tx_burst */
	uint32_t drain_us; /* flush partially filled TX buffers after this long */
	enum cfg_idle idle;
	uint32_t idle_polls;	/* empty polls before sleeping (CFG_IDLE_SLEEP) */
	uint32_t idle_sleep_us; /* sleep length */
};

/** Neighbour cache timers (RFC 4861 names where they exist). */
struct cfg_neigh {
	uint32_t reachable_ms; /* confirmed entry stays REACHABLE this long */
	uint32_t stale_ms;     /* a STALE entry is removed after this long unconfirmed */
	uint32_t retrans_ms;   /* interval between resolution requests */
	uint32_t probes;       /* resolution requests before giving up */
	uint32_t capacity;     /* entries in the shared cache (startup only) */
};

/** Settings read once at startup; a running daemon refuses to change them. */
struct cfg_startup {
	char control_socket[CFG_PATH_MAX];
	char control_group[CFG_NAME_MAX]; /* "" = root only */
	char admin_listen[64];		  /* "127.0.0.1:9901"; "" = admin HTTP off */
	uint32_t neigh_capacity;
};

struct cfg_snapshot {
	uint64_t generation; /* set by cfg_publish(), 0 before */
	char node_name[CFG_NAME_MAX];
	struct cfg_tune tune;
	struct cfg_neigh neigh;
	struct cfg_startup startup;

	uint16_t n_ifaces;
	struct cfg_iface ifaces[CFG_MAX_IFACES];
	/* port_id -> untagged interface index + 1 (0: none) */
	uint8_t port_iface[RTE_MAX_ETHPORTS];
	/* port_id, VLAN -> interface index + 1, for tagged interfaces */
	uint16_t n_vlan_ifaces;
	struct {
		uint16_t port_id;
		uint16_t vlan;
		uint16_t iface;
	} vlan_ifaces[CFG_MAX_IFACES];

	uint32_t n_nexthops;
	struct cfg_nexthop *nexthops; /* [0] is "no route" */
	uint32_t n_routes;
	struct cfg_route *routes; /* every FIB entry, for meshctl routes */
	struct rte_fib *fib4;
	struct rte_fib6 *fib6;

	char *text; /* the document this was compiled from (config show, rollback) */
	size_t text_len;
};

struct cfg_error {
	char msg[CFG_ERROR_MAX]; /* "$.path: expected ..., got ..." */
};

/** The live snapshot. Written only by cfg_publish(); read through cfg_snapshot_get(). */
extern struct cfg_snapshot *cfg_live;

/**
 * The live snapshot, for a worker inside an RCU read-side section (QSBR: between
 * two rcu_quiescent_state() calls). Never NULL once the daemon runs.
 */
static inline const struct cfg_snapshot *cfg_snapshot_get(void)
{
	return rcu_dereference(cfg_live);
}

/** The embedded default configuration (dataplane/config/default.json). */
const char *cfg_default_text(void);

/**
 * Validate @p text and compile it into a new snapshot.
 * @param ports the ports that exist (from the port layer); interfaces name them.
 * @param prev the running snapshot or NULL at startup: startup-only settings must match it.
 * @return 0 and *out on success (caller owns it); -EINVAL with @p err filled on bad
 *         config; -ENOMEM on allocation failure.
 */
int cfg_compile(const char *text, size_t len, const struct cfg_port_info *ports,
		unsigned int n_ports, const struct cfg_snapshot *prev, struct cfg_snapshot **out,
		struct cfg_error *err);

/** Free a snapshot that is not (or no longer) reachable by any reader. */
void cfg_snapshot_free(struct cfg_snapshot *snap);

/**
 * Make @p snap the live snapshot: assigns the next generation, swaps the pointer
 * (rcu_xchg_pointer), waits for a grace period (synchronize_rcu) and frees the
 * previous snapshot. Control thread only; never from a registered QSBR reader.
 */
void cfg_publish(struct cfg_snapshot *snap);

/**
 * Produce the text of the live configuration with one tune knob changed
 * ("rx_burst", "tx_burst", "drain_us", "idle", "idle_polls", "idle_sleep_us").
 * @return a malloc'd document for cfg_compile(), or NULL with @p err filled.
 */
char *cfg_with_tune(const struct cfg_snapshot *snap, const char *key, const char *value,
		    struct cfg_error *err);

/** Look up @p dst (network byte order) in the snapshot's IPv4 FIB. @return next-hop index, 0 = none. */
uint32_t cfg_route4(const struct cfg_snapshot *snap, uint32_t dst);

/** Look up @p dst in the snapshot's IPv6 FIB. @return next-hop index, 0 = none. */
uint32_t cfg_route6(const struct cfg_snapshot *snap, const uint8_t dst[16]);

/** Bulk IPv4 lookup for the fast path: dst[] in network byte order, nh[] out. */
void cfg_route4_bulk(const struct cfg_snapshot *snap, const uint32_t *dst, uint32_t *nh,
		     unsigned int n);

/** @return the interface of a frame received on @p port_id with VLAN @p vlan (0 = untagged), or NULL. */
static inline const struct cfg_iface *cfg_iface_of(const struct cfg_snapshot *snap,
						   uint16_t port_id, uint16_t vlan)
{
	if (vlan == 0)
		return port_id < RTE_MAX_ETHPORTS && snap->port_iface[port_id]
			       ? &snap->ifaces[snap->port_iface[port_id] - 1]
			       : NULL;
	for (uint16_t i = 0; i < snap->n_vlan_ifaces; i++)
		if (snap->vlan_ifaces[i].port_id == port_id && snap->vlan_ifaces[i].vlan == vlan)
			return &snap->ifaces[snap->vlan_ifaces[i].iface];
	return NULL;
}

#endif
