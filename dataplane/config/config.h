/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: declarative JSON configuration, strict validation, and the immutable
 * snapshot that the workers read. config parses the document, owns the
 * snapshot's lifecycle and compiles its own members (version, node, control,
 * admin, neighbour, tune); every other part is compiled by the subsystem that
 * owns it, behind struct cfg_section ("Config sections" below; the table is
 * dataplane/subsystems.c): interfaces and routes by net, services and policies by
 * l4, listeners by proxy. Section code reads JSON through config_json.h.
 *
 * Life of a configuration (docs/ARCHITECTURE.md has the picture):
 *   text --cfg_compile()--> struct cfg_snapshot (every section validated and
 *                           compiled, FIBs built)
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

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_hash.h>
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

/* Terminating proxy listeners (docs/CONFIG.md "listeners"; proxy_config.c). */
#define CFG_MAX_LISTENERS 256

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
	uint32_t flow_capacity; /* flows.capacity: flow table entries per worker */
	uint32_t tcp_capacity;	/* tcp.capacity: TCP stack connections per worker */
};

/*
 * Types of the L4 and proxy parts that stay here, with reasons: the snapshot
 * holds mode, flows and tcp by value (a pointer would cost the fast path a
 * load); mode is read by net as well as l4; listeners are compiled by proxy but
 * read by l4 too (local TCP steering, connection admission), and l4 cannot
 * include proxy.h. The L4-only types are in dataplane/l4/l4.h.
 */

enum cfg_mode {
	CFG_MODE_ROUTER, /* plain L3 forwarding; policies are not enforced */
	CFG_MODE_MESH,	 /* the L4 path enforces policies (SM-DR1/2) and egress (SM-DR8) */
};

/** An address or prefix of either family. IPv4 lives in addr[0..3], the rest is zero. */
struct cfg_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;	/* prefix length; 32 / 128 for a single address */
	uint8_t addr[16];
};

/** Flow table settings (seconds as configured; the flow table converts). */
struct cfg_flows {
	uint32_t capacity; /* entries per worker; startup only */
	uint32_t syn_s, established_s, fin_s, time_wait_s, close_s;
	uint32_t udp_s, udp_assured_s, icmp_s;
};

/** TCP stack settings ($.tcp). */
struct cfg_tcp {
	uint32_t capacity; /* connections per worker; startup only */
};

enum cfg_listener_type {
	CFG_LISTENER_TCP_PROXY, /* terminate TCP, open a connection to the cluster, relay bytes */
	CFG_LISTENER_HTTP,	/* HTTP/1.1: routes pick a cluster per request (proxy_internal.h) */
};

/** Per-listener TCP options, applied to both the client and the upstream connection. */
struct cfg_listener_tcp {
	uint8_t congestion;	       /* enum tcp_cc_algo (dataplane/tcp/tcp.h) */
	bool nodelay;		       /* true: no Nagle */
	bool ecn;		       /* RFC 3168 ECN: asked for upstream, accepted from clients */
	uint32_t rcvbuf;	       /* bytes, receive buffer per connection */
	uint32_t sndbuf;	       /* bytes, send buffer per connection */
	uint32_t syn_backlog;	       /* half-open connections queued per worker */
	uint32_t keepalive_idle_s;     /* 0: keepalive off ("keepalive" absent) */
	uint32_t keepalive_interval_s; /* between probes, when on */
	uint32_t keepalive_probes;     /* unanswered probes before the connection is dropped */
};

/**
 * A listener: a local address and TCP port where the node terminates
 * connections and relays them to a cluster (a service's endpoints).
 */
struct cfg_listener {
	char name[CFG_NAME_MAX]; /* unique among listeners; stable across snapshots */
	uint8_t type;		 /* enum cfg_listener_type */
	uint8_t family;		 /* 4 or 6 */
	uint8_t addr[16];	 /* one of our interface addresses; IPv4 in addr[0..3] */
	uint16_t port;		 /* host byte order, below the L4 path's own ports (l4.h) */
	uint32_t service;	 /* "cluster": index into snap->services */
	uint8_t service_port;	 /* index into that service's ports[] (a TCP port) */
	/* That port's target_port (host byte order): the upstream port for endpoints
	 * without their own; an endpoint's port, when set, wins. */
	uint16_t target_port;
	uint32_t connect_timeout_ms; /* upstream connect; 1..600000 */
	uint32_t idle_timeout_s;     /* no bytes either way this long closes both; 0: none */
	uint32_t max_connections;    /* concurrent client connections per node; 0: unlimited */
	struct cfg_listener_tcp tcp;
	void *rt; /* runtime state (the node-wide connection count); see l4_bind() */
};

/* The L4 part of the snapshot: defined in dataplane/l4/l4.h, compiled by l4_config.c. */
struct l4_service;
struct l4_endpoint;
struct l4_workload;
struct l4_external;
struct l4_policy;
struct l4_limit;
struct l4_ext_entry;
struct l4_ext_host;
struct authz_snap; /* dataplane/authz/authz_internal.h */
struct jwt_snap;   /* dataplane/jwt/jwt_internal.h */

struct cfg_snapshot {
	uint64_t generation; /* set by cfg_publish(), 0 before */
	char node_name[CFG_NAME_MAX];
	struct cfg_tune tune;
	struct cfg_neigh neigh;
	struct cfg_startup startup;

	/* ---- the net section (dataplane/net/net_config.c) ---- */
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
	/* Who frees fib4/fib6 (dataplane/net/net_config.c): a snapshot whose routes
	 * and next hops equal the previous one's shares its FIBs (a swap that
	 * changes no route costs no FIB rebuild); the last snapshot to go frees
	 * them. Control thread only. */
	struct net_fibs *fibs;

	char *text; /* the document this was compiled from (config show, rollback) */
	size_t text_len;

	/*
	 * ---- the L4 section (dataplane/l4/l4_config.c; the types in l4.h) ----
	 * All of it is empty (and mode is CFG_MODE_ROUTER) for a document without
	 * the L4 members. Arrays are in document order.
	 */
	enum cfg_mode mode;
	struct cfg_flows flows;
	uint32_t n_services;
	struct l4_service *services;
	uint32_t n_endpoints;
	struct l4_endpoint *endpoints; /* all services' endpoints, service by service */
	uint32_t n_workloads;
	struct l4_workload *workloads;
	uint32_t n_externals;
	struct l4_external *externals;
	uint32_t n_policies;
	struct l4_policy *policies;
	uint32_t n_limits;
	struct l4_limit *limits;
	uint32_t n_mesh_prefixes;
	struct cfg_prefix *mesh_prefixes;
	uint32_t n_cp_prefixes;
	struct cfg_prefix *cp_prefixes;

	/* Lookups for a flow's first packet; use the helpers in l4.h. */
	struct rte_hash *vip_hash; /* struct l4_vip_key -> service << 16 | port index */
	struct rte_rib *wl_rib4, *ext_rib4, *mesh_rib4, *cp_rib4; /* NULL when empty */
	struct rte_rib6 *wl_rib6, *ext_rib6, *mesh_rib6, *cp_rib6;
	struct l4_ext_entry *ext_entries; /* ext_rib next hops point here */
	/* external services' hosts (l4_external_by_host()), sorted by name */
	uint32_t n_ext_hosts;
	struct l4_ext_host *ext_hosts;
	/* Policy decisions: row workload + 1 (row 0: unknown source), column a service,
	 * then n_services + an external service; each cell a mask over the target's
	 * ports[] (bit i allows ports[i]). */
	uint32_t policy_cols;
	uint32_t *policy;

	/*
	 * Runtime objects of the L4 path (Maglev tables, endpoint state). The
	 * control thread fills l4_rt, l4_rt_free and each service's and endpoint's
	 * rt after cfg_compile() and before cfg_publish(); nobody writes them after
	 * publish. cfg_snapshot_free() calls proxy_rt_free(snap) and then
	 * l4_rt_free(snap), when set, before any section frees its part, so the
	 * callbacks still see services, endpoints and listeners.
	 */
	void *l4_rt;
	void (*l4_rt_free)(struct cfg_snapshot *snap);

	/* ---- the proxy section (dataplane/proxy/proxy_config.c) ---- */
	struct cfg_tcp tcp;
	uint32_t n_listeners;
	struct cfg_listener *listeners;
	/* struct l4_vip_key (proto IPPROTO_TCP) -> listener index; NULL without listeners */
	struct rte_hash *listener_hash;
	/* The proxies' listener objects, one per worker and listener, built by the
	 * control thread before publish (proxy_bind()); freed like l4_rt. */
	void *proxy_rt;
	void (*proxy_rt_free)(struct cfg_snapshot *snap);
	/* listeners' tls blocks (dataplane/tls/tls_config.c; freed by the proxy section) */
	void *tls_cfg;

	/* ---- the secrets section (dataplane/secrets/secrets_config.c): identities, bundles ---- */
	struct secrets_snap *secrets; /* NULL without $.secrets; read through secrets.h */
	/* HTTP listeners' options and $.clusters (dataplane/proxy/proxy_internal.h) */
	void *proxy_l7;

	/* ---- the router section (dataplane/router/router_config.c; router.h) ---- */
	void *router; /* struct router_table: route configs, the service key hash */

	/* ---- the roles section (dataplane/roles/roles_config.c): control-socket roles ---- */
	struct roles_snap *roles; /* NULL without $.roles: every admitted peer is admin */

	/* ---- the etcd section (dataplane/etcd/etcd_config.c): the fleet's config source ---- */
	struct etcd_conf *etcd; /* NULL without $.etcd */

	/* ---- the telemetry section (dataplane/telemetry/telemetry_config.c) ---- */
	void *telemetry; /* struct telem_snap: labels, log settings */

	/* ---- the request_inspection section (dataplane/inspect/inspect_config.c) ---- */
	struct inspect_snap *inspect; /* read through inspect.h */

	/* ---- the authz section (dataplane/authz/authz_config.c): peer authentication, policies ---- */
	struct authz_snap *authz; /* read through authz.h */
	/* ---- the jwt section (dataplane/jwt/jwt_config.c): request authentication ---- */
	struct jwt_snap *jwt; /* read through jwt.h */
};

struct cfg_error {
	char msg[CFG_ERROR_MAX]; /* "$.path: expected ..., got ..." */
};

/* ---- Config sections ---- */

struct json_t;	     /* jansson's; a section's code includes config_json.h */
struct audit_report; /* dataplane/audit/audit.h */

/** What a section compiles against besides the document. */
struct cfg_compile_ctx {
	const struct cfg_port_info *ports; /* the ports that exist; interfaces name them */
	unsigned int n_ports;
	const struct cfg_snapshot *prev; /* the running snapshot, NULL at startup */
};

#define CFG_MAX_SECTIONS 16
#define CFG_MAX_TOP_KEYS 64 /* top-level members of all sections together */

/**
 * One subsystem's part of the document. The subsystem validates and compiles
 * the top-level members it owns into its part of the snapshot; config parses
 * the JSON, refuses members no section owns, runs the sections in table order
 * and owns the snapshot's lifecycle. A section may read what the sections
 * before it compiled (listeners name services, services' snat addresses must
 * be interface addresses), never what comes after.
 *
 * cfg_compile() calls every compile() in order, then every finish() in order;
 * cfg_snapshot_free() calls every free() in reverse order, so a section's free
 * still sees the parts of the sections before it. Control thread only.
 */
struct cfg_section {
	const char *name;	 /* "net", "l4" ... for messages */
	const char *const *keys; /* top-level members it owns, NULL-terminated */
	/**
	 * Validate and compile the section's members of @p root (a JSON object)
	 * into @p snap.
	 * @return 0, -ENOMEM, or -EINVAL with @p err filled (the message names the JSON path).
	 */
	int (*compile)(struct cfg_snapshot *snap, const struct json_t *root,
		       const struct cfg_compile_ctx *ctx, struct cfg_error *err);
	/**
	 * Optional: once every section compiled, build what is costly to build
	 * (the FIBs), or share it with @p prev when the section is unchanged.
	 * A document refused by any compile() never gets here.
	 */
	int (*finish)(struct cfg_snapshot *snap, const struct cfg_snapshot *prev,
		      struct cfg_error *err);
	/** Free the section's part; safe on a part compiled halfway (or not at all). */
	void (*free)(struct cfg_snapshot *snap);
	/**
	 * Optional: report how the section's part of @p snap meets the NIST SP
	 * 800-204A requirements it can be checked against (dataplane/audit/audit.h,
	 * audit_finding()). Control thread, on a compiled snapshot.
	 */
	void (*audit)(const struct cfg_snapshot *snap, struct audit_report *r);
};

/**
 * Set the sections every later cfg_compile() runs, in order, after config's own
 * (version, node, control, admin, neighbour, tune). Called once at start, by
 * main() and by the test fixtures (dataplane/subsystems.c has the daemon's table);
 * @p sections must outlive every snapshot, and no snapshot compiled with
 * another table may still live (cfg_snapshot_free() runs the current table's
 * free()s). Control thread only.
 * @return 0; -EINVAL (and no sections set) for more than CFG_MAX_SECTIONS
 *         sections, more than CFG_MAX_TOP_KEYS top-level members, a member two
 *         sections claim, or a section without keys, compile() or free().
 */
int cfg_sections_set(const struct cfg_section *const *sections, unsigned int n);

/** The sections of cfg_sections_set(), in order; *@p n of them. */
const struct cfg_section *const *cfg_sections_get(unsigned int *n);

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
 * Runs config's own section and then those of cfg_sections_set().
 * @return 0 and *out on success (caller owns it); -EINVAL with @p err filled on bad
 *         config (or when no sections were set); -ENOMEM on allocation failure.
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
