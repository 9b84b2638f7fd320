/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * l4 private: the runtime objects that l4.c binds to a snapshot and that
 * l4_show.c reads for meshctl and the metrics, the functions the files of the
 * L4 path call across (grouped by the file that defines them), and the
 * per-packet helpers that must be inlined wherever they are used (parsing, the
 * NAT rewrite with incremental checksums, flow tracking, l4_established()):
 * static inline here rather than calls into another file. Only files of
 * dataplane/l4 include this header.
 */
#ifndef MESHDP_L4_INTERNAL_H
#define MESHDP_L4_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "../endpoint/endpoint.h"
#include "../lb/lb.h"
#include "../limit/limit.h"
#include "l4.h"

#define L4_HC_PORT_SLOTS  4096u
#define L4_SNAT_TRIES	  64u
#define L4_PICK_TRIES	  8u /* endpoints tried when the first choice refuses */
#define L4_EXPIRE_BUDGET  256u
#define L4_LIMIT_SOURCES  65536u
#define L4_HEALTH_TICK_US 10000u /* a pass over the endpoints starts at most this often */
#define L4_HEALTH_BUDGET  256u	 /* endpoints one l4_timer() call looks at */
#define L4_BURST	  64u	 /* packets per l4_input_burst() call, at most (NET_BURST) */
#define L4_STEER_BULK_MIN 4u	 /* steering's table lookups go in bulk from this many keys */
#define L4_HANDOFF_RING	  4096u
#define L4_HANDOFF_BURST  32u

/*
 * Per-source limit tables are swept once a second (l4_control_tick()): a source
 * whose buckets have all been full for L4_LIMIT_IDLE_MS is removed, and its slot
 * is free for a new source after the grace period that follows. Removing a full
 * bucket loses nothing (a source seen again starts with a full bucket, exactly
 * what it had), so the idle time is not about correctness: it only keeps a
 * source that comes back within a second (a client within its rate) from being
 * removed and inserted again at every sweep. Any longer would only make the table
 * slower to give slots back after a flood of one-shot (spoofed) sources: as it
 * is, a source's slot is free at most its bucket's refill time + 2 s after its
 * last packet, so new sources are refused (l4_limit_table_full) only while they
 * arrive faster than about L4_LIMIT_SOURCES per 2 s plus refill time.
 */
#define L4_LIMIT_SWEEP_MS 1000u
#define L4_LIMIT_IDLE_MS  1000u

/*
 * "Not for this handler": what l4_reset(), l4_icmp_error() and
 * l4_health_answer() return to let the caller go on. Distinct from every
 * stats_id and from NET_L4_CONSUMED (which is STAT_MAX): a handler that
 * consumed the mbuf must never be mistaken for one that did not.
 */
#define L4_NOT_MINE ((enum stats_id)(STAT_MAX + 1))

/* struct flow_entry.flags */
#define L4_FLOW_NAT	0x01 /* rewrite packets from the flow's keys */
#define L4_FLOW_PENDING 0x02 /* the endpoint has not answered the SYN yet */
#define L4_FLOW_PROBE	0x04 /* the connection is its endpoint's half-open probe */
#define L4_FLOW_SERVICE 0x08 /* a service flow: e->ep is its endpoint's state */
#define L4_FLOW_ACTIVE	0x10 /* counted in the endpoint's active connections */
#define L4_FLOW_DNAT	0x20 /* DNAT rewrite held in the entry: nat_*[0] endpoint, [1] VIP */

/* One worker's shares of a service's packet-rate buckets (see limit.h): written
 * by that worker only, a cache line apart from the other workers'. */
struct l4_limit_share {
	struct limit_share svc_pkt;
	struct limit_src_cache src_pkt;
} __attribute__((aligned(64)));

/* Runtime of one service, per snapshot. Built by the control thread before
 * publish; maglev is swapped by RCU later (l4_control_tick), the rest is
 * read-only after publish except the atomics noted. */
struct l4_svc_rt {
	struct lb_maglev *maglev; /* rcu_dereference(); control thread replaces it */
	struct lb_backend *backends;
	struct ep_state **eps;
	uint8_t *usable;       /* control thread: usability the table was built with */
	int64_t *rr;	       /* [n_workers][n]: smooth WRR state per worker */
	struct ep_group group; /* ejected count: workers (atomic) */
	struct ep_limits limits;
	uint64_t hc_interval_tsc; /* 0: no active checks */
	uint64_t hc_timeout_tsc;
	struct limit_bucket svc_conn; /* service-scope buckets: workers (CAS) */
	struct limit_bucket svc_pkt;
	struct limit_rate_tsc svc_conn_rate, svc_pkt_rate, src_conn_rate, src_pkt_rate;
	/* per-source buckets, NULL without a source limit; l4_control_tick() removes
	 * idle sources */
	struct limit_table *src_table;
	struct l4_limit_share *shares; /* [n_workers] with a packet limit, else NULL */
	bool limit_svc_conn, limit_svc_pkt, limit_src_conn, limit_src_pkt;
	uint8_t limit_svc_reset, limit_src_reset;
};

struct l4_snap_rt {
	struct l4_global *g;
	uint32_t n_services;
	struct l4_svc_rt *svc; /* [n_services] */
	/* For steering (more than one worker): which (address, port, protocol)
	 * are endpoints, and the full-NAT source addresses. */
	struct rte_hash *ep_hash; /* struct l4_ep_key -> present; NULL: none */
	uint32_t n_snat;
	uint32_t *snat;		 /* IPv4, network byte order */
	struct flow_timeouts to; /* flows.timeouts_s in TSC cycles */
	/* VIP address (IPv4, network order) -> 1 + index of a service on it: TCP
	 * to a VIP's undeclared port is reset when that service says so. */
	struct rte_hash *vip_addrs;
	/* Health answers: endpoints by the probe slot of their state (the answer's
	 * destination port - L4_HC_PORT_BASE). hc_first[slot] and hc_next[i] are
	 * indexes into snap->endpoints, UINT32_MAX ends a chain. The schedule and
	 * the probe in flight live in the endpoint's state, not here, so that they
	 * survive config swaps. */
	uint32_t *hc_first; /* [L4_HC_PORT_SLOTS] */
	uint32_t *hc_next;  /* [snap->n_endpoints] */
};

/* Key of l4_snap_rt.ep_hash; zeroed before filling. */
struct l4_ep_key {
	uint32_t addr; /* network byte order */
	uint16_t port; /* network byte order */
	uint8_t proto;
	uint8_t pad;
};

struct l4_global {
	struct ep_registry *eps;
	uint16_t n_workers;
	uint64_t tsc_hz;
	/* Hand-off: a worker that receives a packet of a flow another worker
	 * owns passes the whole frame to it (multi-producer, single-consumer). */
	struct rte_ring *handoff[RTE_MAX_LCORE];
	uint64_t handoff_flag;	 /* mbuf dynflag: "already handed off once" */
	uint64_t limit_sweep_at; /* control thread: TSC of the next per-source limit sweep */
};

/* What one packet looks like to the L4 path. */
struct l4_pkt {
	struct rte_ipv4_hdr *ip;
	void *l4;	/* TCP / UDP / ICMP header, NULL for other protocols */
	uint8_t *csum;	/* the L4 checksum field, NULL when there is none to fix */
	uint8_t *sport; /* port fields (ICMP echo: the identifier for both); */
	uint8_t *dport; /* read and written with l4_rd16() / l4_wr16() */
	uint8_t tcp_flags;
	bool pseudo; /* the L4 checksum covers the IP addresses (TCP, UDP) */
};

struct l4_expire_ctx {
	struct l4_worker *lw;
	const struct cfg_snapshot *snap;
	uint64_t now;
};

/* What steering needs of a packet: its flow's tuple, network byte order. */
struct l4_steer {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	int8_t local; /* dst is the node's (FIB): 1, 0, or -1 not looked up yet */
};

/* ---- called across the files of the L4 path, by the file that defines them ---- */

/* l4_nat.c */
enum stats_id l4_reset(struct l4_pkt *p, struct rte_mbuf *m);

/* l4_flow.c */
uint16_t l4_admit(struct l4_worker *lw, const struct l4_service *sv, struct l4_svc_rt *rt,
		  uint32_t hash, const struct l4_pick_opts *pick, uint64_t now, enum ep_admit *adm);
bool l4_limits_admit(struct l4_worker *lw, struct l4_svc_rt *rt, const struct l4_pkt *p,
		     bool new_conn, uint64_t now, bool *reset);
void l4_connect_result(struct l4_worker *lw, const struct cfg_snapshot *snap, struct flow_entry *e,
		       bool ok, uint64_t now);
void l4_on_expire(struct flow_entry *e, void *arg);
enum stats_id l4_decide(struct l4_worker *lw, const struct cfg_snapshot *snap, struct l4_pkt *p,
			struct rte_mbuf *m, struct flow_entry *e, uint8_t dir, uint64_t now_tsc,
			bool *changed);

/* l4_icmp.c */
bool l4_icmp_quote(const struct l4_pkt *p, const struct rte_mbuf *m, struct rte_ipv4_hdr **in,
		   uint8_t **inl4);
enum stats_id l4_portless(struct l4_worker *lw, const struct cfg_snapshot *snap, struct l4_pkt *p,
			  struct rte_mbuf *m, int parsed, uint64_t now_tsc);

/* l4_steer.c */
void l4_owners(const struct l4_worker *lw, const struct cfg_snapshot *snap,
	       const struct l4_steer *st, uint16_t n, uint16_t *owner);
enum stats_id l4_handoff(struct l4_worker *lw, struct rte_mbuf *m, uint16_t owner);

/* l4_health.c */
uint32_t l4_source_for(const struct cfg_snapshot *snap, uint32_t dst);
/* An answer to one of our health probes (TCP to a node address, probe port)?
 * @return L4_NOT_MINE when it is not one. */
enum stats_id l4_health_answer(struct l4_worker *lw, const struct cfg_snapshot *snap,
			       struct l4_pkt *p, struct rte_mbuf *m);
void l4_health_scan(struct l4_worker *lw, struct net_worker *nw, const struct cfg_snapshot *snap,
		    uint64_t now);

/* ---- the per-packet path: inlined wherever it is used (l4.c, l4_flow.c) ---- */

/* 16-bit fields of packed headers, which may sit at any alignment. */
#define L4_FIELD(hdr, type, member) ((uint8_t *)(hdr) + offsetof(type, member))

static inline uint16_t l4_rd16(const uint8_t *f)
{
	uint16_t v;

	memcpy(&v, f, sizeof(v));
	return v;
}

static inline void l4_wr16(uint8_t *f, uint16_t v)
{
	memcpy(f, &v, sizeof(v));
}

static inline int l4_parse(struct rte_mbuf *m, struct l4_pkt *p)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	uint32_t hl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	uint32_t len = rte_pktmbuf_data_len(m);

	*p = (struct l4_pkt){.ip = ip};
	if (rte_be_to_cpu_16(ip->fragment_offset) &
	    (RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG))
		return -EPROTO; /* fragments carry no (or not all the) L4 header */
	switch (ip->next_proto_id) {
	case IPPROTO_TCP: {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)((uint8_t *)ip + hl);

		if (len < hl + sizeof(*t))
			return -EINVAL;
		p->l4 = t;
		p->csum = L4_FIELD(t, struct rte_tcp_hdr, cksum);
		p->sport = L4_FIELD(t, struct rte_tcp_hdr, src_port);
		p->dport = L4_FIELD(t, struct rte_tcp_hdr, dst_port);
		p->tcp_flags = t->tcp_flags;
		p->pseudo = true;
		return 0;
	}
	case IPPROTO_UDP: {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)((uint8_t *)ip + hl);

		if (len < hl + sizeof(*u))
			return -EINVAL;
		p->l4 = u;
		p->csum = u->dgram_cksum != 0 ? L4_FIELD(u, struct rte_udp_hdr, dgram_cksum) : NULL;
		p->sport = L4_FIELD(u, struct rte_udp_hdr, src_port);
		p->dport = L4_FIELD(u, struct rte_udp_hdr, dst_port);
		p->pseudo = true;
		return 0;
	}
	case IPPROTO_ICMP: {
		struct rte_icmp_hdr *c = (struct rte_icmp_hdr *)((uint8_t *)ip + hl);

		if (len < hl + sizeof(*c))
			return -EINVAL;
		p->l4 = c;
		if (c->icmp_type == RTE_IP_ICMP_ECHO_REQUEST ||
		    c->icmp_type == RTE_IP_ICMP_ECHO_REPLY) {
			p->csum = L4_FIELD(c, struct rte_icmp_hdr, icmp_cksum);
			p->sport = L4_FIELD(c, struct rte_icmp_hdr, icmp_ident);
			p->dport = p->sport;
		}
		return 0;
	}
	default:
		return 0;
	}
}

/*
 * RFC 1624 terms of one changed 32-bit value: ~old + new as 32-bit words,
 * unfolded. As 2^16 = 1 modulo 0xffff this is the sum of the 16-bit terms
 * ~old_hi + ~old_lo + new_hi + new_lo once folded, in two operations.
 */
static inline uint64_t l4_csum_delta32(uint32_t old, uint32_t new)
{
	return (uint64_t)(uint32_t)~old + new;
}

static inline uint64_t l4_csum_delta16(uint16_t old, uint16_t new)
{
	return (uint64_t)(uint16_t)~old + new;
}

/* HC' = ~(~HC + deltas), folded once: the same as applying them one by one.
 * At most a few 32-bit terms: the sum stays below 2^36, three folds suffice. */
static inline uint16_t l4_csum_apply(uint16_t csum, uint64_t delta)
{
	uint64_t s = (uint64_t)(uint16_t)~csum + delta;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Rewrite addresses and ports (network order) with incremental checksums.
 * Inlined: it is most of the established-flow fast path. */
static __rte_always_inline void l4_rewrite(struct l4_pkt *p, uint32_t src, uint32_t dst,
					   uint16_t sport, uint16_t dport)
{
	struct rte_ipv4_hdr *ip = p->ip;
	uint64_t d_ip = 0, d_l4 = 0;

	if (ip->src_addr != src) {
		d_ip += l4_csum_delta32(ip->src_addr, src);
		ip->src_addr = src;
	}
	if (ip->dst_addr != dst) {
		d_ip += l4_csum_delta32(ip->dst_addr, dst);
		ip->dst_addr = dst;
	}
	if (d_ip != 0) {
		ip->hdr_checksum = l4_csum_apply(ip->hdr_checksum, d_ip);
		if (p->pseudo)
			d_l4 = d_ip;
	}
	if (p->sport != NULL && p->sport != p->dport) {
		uint16_t old = l4_rd16(p->sport);

		if (old != sport) {
			d_l4 += l4_csum_delta16(old, sport);
			l4_wr16(p->sport, sport);
		}
		old = l4_rd16(p->dport);
		if (old != dport) {
			d_l4 += l4_csum_delta16(old, dport);
			l4_wr16(p->dport, dport);
		}
	}
	if (p->csum == NULL)
		return;
	if (d_l4 != 0)
		l4_wr16(p->csum, l4_csum_apply(l4_rd16(p->csum), d_l4));
	/* UDP: a computed checksum of 0 is sent as 0xffff (RFC 768) */
	if (l4_rd16(p->csum) == 0 && ip->next_proto_id == IPPROTO_UDP)
		l4_wr16(p->csum, 0xffff);
}

/* Make the packet the mirror image of @p k: what the other side expects to see. */
static __rte_always_inline void l4_rewrite_to_mirror(struct l4_pkt *p, const struct flow_tuple4 *k)
{
	l4_rewrite(p, k->dst, k->src, k->dport, k->sport);
}

/* The flow timeouts of the live configuration (built-in defaults without L4 sections). */
static inline const struct flow_timeouts *l4_timeouts(const struct l4_worker *lw,
						      const struct cfg_snapshot *snap)
{
	const struct l4_snap_rt *srt = snap->l4_rt;

	return srt != NULL ? &srt->to : &lw->to;
}

/*
 * The runtime of service @p service in @p snap if its endpoint @p endpoint is
 * still @p ep (NULL when not): a connect result that arrives after a config swap
 * moves the breaker under the new snapshot's limits as long as the endpoint kept
 * its place. The state is alive (the flow or connection holds it), so no other
 * endpoint's state can have its address.
 */
static inline struct l4_svc_rt *l4_svc_of(const struct cfg_snapshot *snap, uint32_t service,
					  uint32_t endpoint, const struct ep_state *ep)
{
	const struct l4_snap_rt *srt = snap->l4_rt;
	struct l4_svc_rt *rt;

	if (srt == NULL || service >= srt->n_services)
		return NULL;
	rt = &srt->svc[service];
	if (endpoint >= snap->services[service].n_endpoints || rt->eps[endpoint] != ep)
		return NULL;
	return rt;
}

/* Track a packet of a known flow; connect results feed the endpoint's breaker. */
static __rte_always_inline void l4_track(struct l4_worker *lw, const struct cfg_snapshot *snap,
					 struct flow_entry *e, uint8_t dir, const struct l4_pkt *p,
					 uint64_t now)
{
	int after;

	flow_count(e, dir, rte_be_to_cpu_16(p->ip->total_length));
	if (e->proto == IPPROTO_UDP) {
		flow_udp_update(lw->flows, e, dir, now, l4_timeouts(lw, snap));
		return;
	}
	if (e->proto != IPPROTO_TCP) {
		flow_icmp_update(lw->flows, e, dir, now, l4_timeouts(lw, snap));
		return;
	}
	after = flow_tcp_update(lw->flows, e, dir, p->tcp_flags, now, l4_timeouts(lw, snap));
	if (after < 0)
		return;
	if ((e->flags & L4_FLOW_PENDING) && dir == FLOW_DIR_REV) {
		if (after == FLOW_TCP_SYN_RECV)
			l4_connect_result(lw, snap, e, true, now);
		else if (after == FLOW_TCP_CLOSED)
			l4_connect_result(lw, snap, e, false, now);
	}
	/* A connection in TIME_WAIT or reset no longer counts against the
	 * endpoint's max_connections, though its flow lingers for a while. */
	if ((e->flags & L4_FLOW_ACTIVE) && !(e->flags & L4_FLOW_PENDING) &&
	    (after == FLOW_TCP_TIME_WAIT || after == FLOW_TCP_CLOSED)) {
		e->flags &= (uint8_t)~L4_FLOW_ACTIVE;
		ep_conn_closed(e->ep);
	}
}

/* Is next hop @p nhi (a FIB answer) the node itself? 1 yes, 0 no (int8_t, as in
 * struct l4_steer). */
static inline int8_t l4_nh_local(const struct cfg_snapshot *snap, uint32_t nhi)
{
	return nhi != 0 && nhi < snap->n_nexthops && snap->nexthops[nhi].type == CFG_NH_LOCAL;
}

static inline bool l4_is_local(const struct cfg_snapshot *snap, uint32_t dst)
{
	return l4_nh_local(snap, cfg_route4(snap, dst)) == 1;
}

/* A bare SYN on a flow past its handshake (see l4_decide()). */
static inline bool l4_reopens(const struct l4_pkt *p, const struct flow_entry *e, uint8_t dir)
{
	return dir == FLOW_DIR_FWD && p->ip->next_proto_id == IPPROTO_TCP &&
	       (p->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG &&
	       e->state != FLOW_TCP_SYN_SENT && e->state != FLOW_TCP_SYN_RECV &&
	       e->state != FLOW_ST_NONE;
}

/*
 * A packet of a flow the table knows (not a bare SYN reopening a finished
 * one): the per-packet rate limits, tracking and the NAT rewrite. Inlined into
 * the burst loop, as nearly every packet takes this way.
 */
static __rte_always_inline enum stats_id l4_established(struct l4_worker *lw,
							const struct cfg_snapshot *snap,
							struct l4_pkt *p, struct flow_entry *e,
							uint8_t dir, uint64_t now_tsc)
{
	if (dir == FLOW_DIR_FWD && (e->flags & L4_FLOW_SERVICE)) {
		/* packets-per-second limits hold for established flows too (the
		 * flags first: the endpoint check reads two more lines) */
		const struct l4_snap_rt *srt = snap->l4_rt;
		struct l4_svc_rt *rt =
			srt != NULL && e->service < srt->n_services ? &srt->svc[e->service] : NULL;
		bool reset;

		if (rt != NULL && (rt->limit_svc_pkt || rt->limit_src_pkt) &&
		    l4_svc_of(snap, e->service, e->endpoint, e->ep) == rt &&
		    !l4_limits_admit(lw, rt, p, false, now_tsc, &reset))
			return STAT_DROP_L4_RATE_LIMITED;
	}
	l4_track(lw, snap, e, dir, p, now_tsc);
	if (e->flags & L4_FLOW_DNAT) {
		/* the common case, from the entry itself: forward packets go to
		 * the endpoint, replies come from the VIP */
		if (dir == FLOW_DIR_FWD)
			l4_rewrite(p, p->ip->src_addr, e->nat_addr[0], l4_rd16(p->sport),
				   e->nat_port[0]);
		else
			l4_rewrite(p, e->nat_addr[1], p->ip->dst_addr, e->nat_port[1],
				   l4_rd16(p->dport));
	} else if (e->flags & L4_FLOW_NAT) {
		/* full-NAT: forward packets become the mirror of the reply
		 * key, replies the mirror of the forward key (read in place) */
		const struct flow_tuple4 *other = flow_entry_tuple4(lw->flows, e, dir ^ 1);

		if (likely(other != NULL))
			l4_rewrite_to_mirror(p, other);
	}
	return NET_CHECK_OK;
}

#endif
