/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flow: the per-worker flow table of the L4 fast path, I/O-free.
 *
 * One table per worker; only the owning worker reads or writes it (RSS with a
 * symmetric key puts both directions of a flow on one worker), so there are no
 * locks and no lock-free flags. The only thing other threads may read is the
 * counters (flow_table_stats(), relaxed atomic loads).
 *
 * Layout: every flow has two keys, the original (forward) tuple and the reply
 * (reverse) tuple, which differ after NAT and are the mirror image of each
 * other without it. Entries live in one array of 64-byte struct flow_entry;
 * flow i's keys live at keys[2i] (forward) and keys[2i + 1] (reverse) of a
 * parallel array of 16-byte struct flow_tuple4, so a key's place follows from
 * its flow and needs no allocator. The index is a bucketed cuckoo hash of
 * 64-byte buckets (one cache line: 10 slots of a 16-bit signature and a 32-bit
 * reference "flow << 1 | dir", plus an occupancy mask); a key lives in one of
 * two buckets chosen by its CRC32-C hash, and an insert into two full buckets
 * moves other keys to their other bucket (a short random walk). There are
 * buckets for 2 * capacity keys at about 85 % load, so inserts do not fail
 * before the table is full. A hit costs three cache lines (bucket, key, entry)
 * and flow_lookup_bulk() prefetches each level for the whole burst.
 *
 * IPv6 flows (the L4 path is IPv4-only today) keep their two 40-byte keys in a
 * side array of max(16, capacity / 64) flows, named from keys[2i]: at most that
 * many IPv6 flows at once, the rest refused as full.
 *
 * Memory: about 122 bytes per flow of capacity (entry 64, keys 32, buckets
 * ~15, wheel links 10, IPv6 side array ~1.3); see flow_table_bytes_per_flow().
 *
 * Aging: a timer wheel of FLOW_WHEEL_SLOTS slots of 2^k TSC cycles each
 * (between 1/32 s and 1/16 s: see flow_table_slot_cycles()), doubly linked
 * lists by uint32 index kept outside the entries. An entry sits in the slot
 * of its expiry (clamped to the far end of the wheel). Refreshing a flow to a
 * later expiry only writes e->expire; when the slot comes due, entries whose
 * expiry moved later are re-slotted (lazy rescheduling). Moving an expiry
 * earlier (RST, FIN) relinks the entry at once, in O(1). A flow expires no
 * earlier than its expiry and at most one slot after it (once flow_expire()
 * is called with a later clock).
 *
 * TCP tracking is a simplified conntrack in the spirit of IPVS/DPVS: states
 * move on flags only (no sequence-number window checks), see flow_tcp_update().
 *
 * Times are TSC cycles passed in by the caller, so tests drive the clock.
 */
#ifndef MESHDP_FLOW_H
#define MESHDP_FLOW_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FLOW_WHEEL_SLOTS 4096u

/** Directions: which of the flow's two keys a packet matched. */
enum flow_dir {
	FLOW_DIR_FWD = 0, /* original direction, from the client */
	FLOW_DIR_REV = 1, /* reply direction */
};

/**
 * A flow's key as callers build it, for either family. All bytes, including
 * unused address bytes, are significant: build keys with flow_key4()/flow_key6()
 * so that they are zero (an IPv4 key with non-zero unused bytes is refused by
 * flow_insert() and found by no lookup). 40 bytes, no implicit padding. The
 * table stores IPv4 keys as struct flow_tuple4.
 */
struct flow_key {
	uint8_t src[16]; /* IPv4 in the first 4 bytes (network order), rest zero */
	uint8_t dst[16];
	uint16_t sport; /* network order; ICMP: echo identifier, dport 0 */
	uint16_t dport; /* network order */
	uint16_t zone;	/* routing context: same tuple may exist in two zones */
	uint8_t proto;	/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 ... */
	uint8_t family; /* 4 or 6 */
};

/**
 * The compact IPv4 key: 16 bytes, no padding, what the table stores and hashes
 * for IPv4 flows and what the fast path builds (flow_tuple4()). Same fields and
 * byte orders as struct flow_key; family is always 4.
 */
struct flow_tuple4 {
	uint32_t src; /* network order */
	uint32_t dst;
	uint16_t sport; /* network order; ICMP: echo identifier, dport 0 */
	uint16_t dport;
	uint16_t zone;
	uint8_t proto;
	uint8_t family; /* 4 */
};

/** Flow states. TCP states follow the client's view of the connection. */
enum flow_state {
	FLOW_ST_NONE = 0,     /* just inserted, no packet tracked yet */
	FLOW_TCP_SYN_SENT,    /* client SYN seen */
	FLOW_TCP_SYN_RECV,    /* server SYN-ACK seen */
	FLOW_TCP_ESTABLISHED, /* client ACK of the SYN-ACK seen */
	FLOW_TCP_FIN_WAIT,    /* client sent FIN first */
	FLOW_TCP_CLOSE_WAIT,  /* server sent FIN first */
	FLOW_TCP_LAST_ACK,    /* both FINs seen, waiting for the last ACK */
	FLOW_TCP_TIME_WAIT,   /* last ACK seen */
	FLOW_TCP_CLOSED,      /* RST seen */
	FLOW_UDP_UNREPLIED,   /* UDP (or other datagram) seen one way only */
	FLOW_UDP_ASSURED,     /* UDP reply seen */
	FLOW_ICMP_ACTIVE,     /* ICMP echo flow */
	FLOW_ST_MAX,
};

/* TCP flag bits as in the TCP header (RTE_TCP_*_FLAG have the same values). */
#define FLOW_TCP_FIN 0x01
#define FLOW_TCP_SYN 0x02
#define FLOW_TCP_RST 0x04
#define FLOW_TCP_ACK 0x10

/* e->track bits, written by the tracking functions only. */
#define FLOW_TRK_SEEN_REPLY    0x01 /* a packet matched the reverse key */
#define FLOW_TRK_FIN_FWD       0x02 /* client sent FIN */
#define FLOW_TRK_FIN_REV       0x04 /* server sent FIN */
#define FLOW_TRK_FIRST_FIN_REV 0x08 /* the server's FIN came first (who sends the last ACK) */
#define FLOW_TRK_FRESH	       0x80 /* timer not armed by a first update yet (internal) */

/**
 * One flow: exactly 64 bytes, one cache line (the array is cache-line
 * aligned). Written only by the owning worker. Fields marked "caller" are the
 * L4 code's to fill; the table sets them to zero at insert and never reads
 * them.
 */
struct flow_entry {
	uint64_t expire;      /* TSC of expiry; set by the update functions */
	void *ep;	      /* caller: opaque endpoint state */
	uint64_t bytes[2];    /* caller: bytes per enum flow_dir (flow_count()) */
	uint32_t pkts[2];     /* caller: packets per direction, wraps at 2^32 */
	uint32_t service;     /* caller: service id */
	uint32_t nat_addr[2]; /* caller: NAT rewrite: IPv4 (network order) or an */
	/* index into an IPv6 address table, see flags */
	uint16_t nat_port[2]; /* caller: NAT rewrite ports (network order) */
	uint16_t endpoint;    /* caller: endpoint index within the service */
	uint8_t state;	      /* enum flow_state */
	uint8_t proto;	      /* the forward key's proto */
	uint8_t family;	      /* the forward key's family */
	uint8_t flags;	      /* caller: NAT flags (e.g. SNAT/DNAT, nat_addr is an index) */
	uint8_t track;	      /* FLOW_TRK_* */
	uint8_t user;	      /* caller: free byte */
};

/** Per-state timeouts in TSC cycles. */
struct flow_timeouts {
	uint64_t syn;	      /* NONE, SYN_SENT, SYN_RECV */
	uint64_t established; /* ESTABLISHED */
	uint64_t fin;	      /* FIN_WAIT, CLOSE_WAIT, LAST_ACK */
	uint64_t time_wait;   /* TIME_WAIT */
	uint64_t close;	      /* CLOSED (after RST) */
	uint64_t udp;	      /* UNREPLIED */
	uint64_t udp_assured; /* ASSURED */
	uint64_t icmp;	      /* ICMP_ACTIVE */
};

/**
 * Table counters. Written by the owner only; any thread may read them with
 * flow_table_stats() (relaxed loads, each field consistent on its own).
 */
struct flow_table_stats {
	uint64_t inserts; /* flows inserted */
	uint64_t removes; /* flows removed by flow_remove() */
	uint64_t expired; /* flows removed by flow_expire() */
	uint64_t lookups; /* keys looked up */
	uint64_t hits;	  /* keys found */
	uint64_t full;	  /* inserts refused with -ENOSPC */
	uint64_t exists;  /* inserts refused with -EEXIST */
	uint64_t count;	  /* flows in the table now */
};

struct flow_table;

/** Fill a compact IPv4 key; addresses and ports in network order. */
static inline void flow_tuple4(struct flow_tuple4 *k, uint32_t src, uint32_t dst, uint16_t sport,
			       uint16_t dport, uint8_t proto, uint16_t zone)
{
	k->src = src;
	k->dst = dst;
	k->sport = sport;
	k->dport = dport;
	k->zone = zone;
	k->proto = proto;
	k->family = 4;
}

/** Fill a key for IPv4; addresses are in network order. Zeroes unused bytes. */
static inline void flow_key4(struct flow_key *k, uint32_t src, uint32_t dst, uint16_t sport,
			     uint16_t dport, uint8_t proto, uint16_t zone)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->src, &src, 4);
	memcpy(k->dst, &dst, 4);
	k->sport = sport;
	k->dport = dport;
	k->zone = zone;
	k->proto = proto;
	k->family = 4;
}

/** Fill a key for IPv6. */
static inline void flow_key6(struct flow_key *k, const uint8_t src[16], const uint8_t dst[16],
			     uint16_t sport, uint16_t dport, uint8_t proto, uint16_t zone)
{
	memcpy(k->src, src, 16);
	memcpy(k->dst, dst, 16);
	k->sport = sport;
	k->dport = dport;
	k->zone = zone;
	k->proto = proto;
	k->family = 6;
}

/** The mirror image of @p k (addresses and ports swapped): the reply key without NAT. */
static inline void flow_key_reverse(struct flow_key *out, const struct flow_key *k)
{
	memcpy(out->src, k->dst, 16);
	memcpy(out->dst, k->src, 16);
	out->sport = k->dport;
	out->dport = k->sport;
	out->zone = k->zone;
	out->proto = k->proto;
	out->family = k->family;
}

/** Account one packet of @p len bytes in direction @p dir (owner only). */
static inline void flow_count(struct flow_entry *e, uint8_t dir, uint32_t len)
{
	dir &= 1;
	e->pkts[dir]++;
	e->bytes[dir] += len;
}

/**
 * Create a table for up to @p capacity flows (2 * capacity keys). Control
 * thread, at worker set-up.
 * @param name unique per process among flow tables (1 to 16 characters)
 * @param capacity 4 .. 2^29 flows
 * @param socket_id NUMA socket of the owner worker, or SOCKET_ID_ANY
 * @return the table, or NULL with rte_errno set (EINVAL, ENOMEM, EEXIST)
 */
struct flow_table *flow_table_create(const char *name, uint32_t capacity, int socket_id);

/** Free a table (NULL is fine). No flow_expire callback is called. */
void flow_table_free(struct flow_table *t);

/** Maximum number of flows. */
uint32_t flow_table_capacity(const struct flow_table *t);

/** Flows in the table now (any thread, relaxed). */
uint32_t flow_table_count(const struct flow_table *t);

/**
 * Memory the table took per flow of capacity: entries, keys, index buckets,
 * wheel links and the IPv6 side array. Measured from the DPDK heap at create.
 */
size_t flow_table_bytes_per_flow(const struct flow_table *t);

/** Where the bytes go, per flow of capacity (sizes of the table's arrays). */
struct flow_table_mem {
	double entries; /* struct flow_entry */
	double keys;	/* two struct flow_tuple4 */
	double index;	/* cuckoo buckets */
	double wheel;	/* wheel links and slots */
	double ipv6;	/* IPv6 side array and its free stack */
};

/** Fill @p out for @p t. */
void flow_table_mem(const struct flow_table *t, struct flow_table_mem *out);

/**
 * Flows removed so far (flow_remove() and flow_expire()). Owner only: a caller
 * that looked keys up in bulk and then inserted flows can tell whether any
 * entry it holds may have been freed since (this moved) or only misses may
 * have become hits (it did not).
 */
uint64_t flow_table_removals(const struct flow_table *t);

/** TSC cycles per wheel slot (a power of two, 1/32 s to 1/16 s of rte_get_tsc_hz()). */
uint64_t flow_table_slot_cycles(const struct flow_table *t);

/** Copy the counters; any thread. */
void flow_table_stats(const struct flow_table *t, struct flow_table_stats *out);

/**
 * Insert a flow under its forward and reverse keys; both or neither are
 * added. The new entry has state FLOW_ST_NONE, all caller fields zero, and is
 * due at @p now: the caller arms its timer right away with flow_tcp_update(),
 * flow_udp_update(), flow_icmp_update() or flow_refresh(). Owner only.
 * @param out receives the entry (may be NULL)
 * @return 0; -ENOSPC when the table is full, or for an IPv6 flow when the
 *         IPv6 side array is (count it as a table-full drop); -EEXIST when
 *         either key is already present; -EINVAL when the two keys are equal
 *         (e.g. a LAND packet), of different families, an IPv4 key has
 *         non-zero unused bytes, or an argument is NULL
 */
int flow_insert(struct flow_table *t, const struct flow_key *fwd, const struct flow_key *rev,
		uint64_t now, struct flow_entry **out);

/** flow_insert() for an IPv4 flow given by its compact keys (the fast path's). */
int flow_insert4(struct flow_table *t, const struct flow_tuple4 *fwd, const struct flow_tuple4 *rev,
		 uint64_t now, struct flow_entry **out);

/**
 * Look up @p n keys (any n; done in bursts of 64, each level of the index
 * prefetched for the whole burst). entries[i] is the flow or NULL (entries
 * found are prefetched); dir[i] is the enum flow_dir that keys[i] matched (0
 * on a miss). Owner only.
 * @return the number of hits
 */
unsigned int flow_lookup_bulk(struct flow_table *t, const struct flow_key **keys, unsigned int n,
			      struct flow_entry **entries, uint8_t *dir);

/** flow_lookup_bulk() of an array of compact IPv4 keys: what the fast path uses. */
unsigned int flow_lookup_bulk4(struct flow_table *t, const struct flow_tuple4 *keys, unsigned int n,
			       struct flow_entry **entries, uint8_t *dir);

/** Look up one key; @p dir (may be NULL) receives the direction. Owner only. */
struct flow_entry *flow_lookup(struct flow_table *t, const struct flow_key *key, uint8_t *dir);

/** flow_lookup() of a compact IPv4 key. */
struct flow_entry *flow_lookup4(struct flow_table *t, const struct flow_tuple4 *key, uint8_t *dir);

/**
 * Remove a flow (both keys) now; no expiry callback. Owner only.
 * @return 0, or -EINVAL when @p e is not a live entry of @p t
 */
int flow_remove(struct flow_table *t, struct flow_entry *e);

/**
 * Copy a flow's keys out (for display). Owner only.
 * @return 0, or -EINVAL when @p e is not a live entry of @p t
 */
int flow_entry_keys(const struct flow_table *t, const struct flow_entry *e, struct flow_key *fwd,
		    struct flow_key *rev);

/* The leading members of struct flow_table that the inline helpers below read
 * (once per packet); flow.c asserts the layout. Not for other use. */
struct flow_table_lead {
	void *bkt;
	struct flow_tuple4 *keys;
	struct flow_entry *entries;
	uint64_t cur;	   /* the wheel's oldest slot not yet processed */
	uint64_t wrap_end; /* see flow_refresh_is_lazy() */
};

/* Read a leading member of @p t (a copy, not a cast: the table is not a flow_table_lead). */
#define FLOW_LEAD_GET(t, member, dst) \
	memcpy(&(dst), (const char *)(t) + offsetof(struct flow_table_lead, member), sizeof(dst))

/*
 * Whether setting @p e's expiry to @p expire needs no wheel work (the short
 * path of flow_refresh()): an armed entry whose expiry does not move earlier
 * stays in its slot. That is the decision the full test takes: the entry was
 * linked at absolute slot A <= the target slot of its old expiry (by the last
 * refresh, or by flow_expire()'s re-slot, both at some earlier cur), and the
 * target slot never decreases as the expiry or cur grows, so the new target is
 * >= A; and while cur >= wrap_end (no window rebase after a long gap is still
 * being drained) every linked entry's slot index gives back its A exactly,
 * because cur never passes a slot it has not emptied.
 */
static inline bool flow_refresh_is_lazy(const struct flow_table *t, const struct flow_entry *e,
					uint64_t expire)
{
	uint64_t cur, wrap_end;

	FLOW_LEAD_GET(t, cur, cur);
	FLOW_LEAD_GET(t, wrap_end, wrap_end);
	return !(e->track & FLOW_TRK_FRESH) && expire >= e->expire && cur >= wrap_end;
}

/**
 * The stored compact key of direction @p dir (FLOW_DIR_FWD or FLOW_DIR_REV) of
 * the live IPv4 flow @p e, without a copy: what the fast path rewrites NATed
 * packets from. Valid until the flow is removed. Owner only; @p e must be a
 * live entry of @p t (one just looked up), which is not checked.
 * @return the key, or NULL when @p e is an IPv6 flow
 */
static inline const struct flow_tuple4 *flow_entry_tuple4(const struct flow_table *t,
							  const struct flow_entry *e, uint8_t dir)
{
	const struct flow_tuple4 *keys;
	const struct flow_entry *entries;
	const struct flow_tuple4 *k;

	FLOW_LEAD_GET(t, keys, keys);
	FLOW_LEAD_GET(t, entries, entries);
	k = &keys[(uint32_t)(e - entries) << 1 | (dir & 1)];
	return k->family == 4 ? k : NULL;
}

/**
 * Set the expiry of @p e to @p expire. A later expiry is only written down
 * (lazy rescheduling); an earlier one relinks the entry in O(1). Owner only.
 */
void flow_refresh(struct flow_table *t, struct flow_entry *e, uint64_t expire);

/** Fill @p to with defaults: syn 30 s, established 3600 s, fin 120 s, time_wait 120 s,
 *  close 10 s, udp 30 s, udp_assured 180 s, icmp 30 s. */
void flow_timeouts_default(struct flow_timeouts *to, uint64_t tsc_hz);

/**
 * Track one TCP packet of direction @p dir with flags @p tcp_flags and
 * refresh the expiry to now + the new state's timeout.
 * Transitions: RST (either way) -> CLOSED. SYN from the client without ACK in
 * NONE, TIME_WAIT or CLOSED (port reuse) -> SYN_SENT; SYN-ACK from the server
 * in SYN_SENT -> SYN_RECV; the client's ACK in SYN_RECV -> ESTABLISHED; the
 * first FIN -> FIN_WAIT (client) or CLOSE_WAIT (server), from SYN_RECV or
 * ESTABLISHED; the other side's FIN -> LAST_ACK; an ACK from the side that
 * closed first -> TIME_WAIT. Anything else keeps the state and refreshes.
 * A flow in NONE that sees no SYN stays in NONE on the syn timeout (the caller
 * decides whether to pick up mid-stream connections). Owner only.
 * @return the new enum flow_state; -EINVAL (state and expiry unchanged) for
 *         dir > 1, no flags, SYN with FIN, or a flow that is not TCP
 */
int flow_tcp_update(struct flow_table *t, struct flow_entry *e, uint8_t dir, uint8_t tcp_flags,
		    uint64_t now, const struct flow_timeouts *to);

/**
 * Track one UDP (or other datagram) packet: UNREPLIED until a reverse packet
 * is seen, then ASSURED; refresh with the udp or udp_assured timeout.
 * @return the new state, or -EINVAL for dir > 1
 */
static inline int flow_udp_update(struct flow_table *t, struct flow_entry *e, uint8_t dir,
				  uint64_t now, const struct flow_timeouts *to)
{
	uint64_t expire;

	/* inline: every UDP packet of an established flow comes here */
	if (__builtin_expect(dir > FLOW_DIR_REV, 0))
		return -EINVAL;
	if (dir == FLOW_DIR_REV)
		e->track |= FLOW_TRK_SEEN_REPLY;
	if (e->track & FLOW_TRK_SEEN_REPLY) {
		e->state = FLOW_UDP_ASSURED;
		expire = now + to->udp_assured;
	} else {
		e->state = FLOW_UDP_UNREPLIED;
		expire = now + to->udp;
	}
	if (__builtin_expect(flow_refresh_is_lazy(t, e, expire), 1))
		e->expire = expire;
	else
		flow_refresh(t, e, expire);
	return e->state;
}

/** Track one ICMP echo packet: ICMP_ACTIVE, icmp timeout. @return the state or -EINVAL. */
int flow_icmp_update(struct flow_table *t, struct flow_entry *e, uint8_t dir, uint64_t now,
		     const struct flow_timeouts *to);

/**
 * Expire due flows: visits wheel slots that ended at or before @p now, calls
 * @p on_expire (may be NULL) for each flow whose expiry is <= now and then
 * removes it; re-slots flows whose expiry moved later. At most @p budget
 * entries are visited (expired or re-slotted) per call, so the work is
 * bounded; the rest waits for the next call. Call it every loop iteration or
 * every few hundred microseconds from the owner worker. @p on_expire may read
 * and change the entry but must not insert or remove flows of @p t.
 * @return the number of flows expired
 */
unsigned int flow_expire(struct flow_table *t, uint64_t now, unsigned int budget,
			 void (*on_expire)(struct flow_entry *e, void *arg), void *arg);

/** flow_walk()'s cursor once the whole table has been visited. */
#define FLOW_WALK_END UINT32_MAX

/**
 * One step of a walk over the live flows, in slot order, resumable: visit at
 * most @p budget slots from @p *cursor (0 to start), calling @p fn for each live
 * flow until it returns non-zero. For meshctl's flow listing: run by the owner
 * worker when asked through its mailbox, a step per loop iteration so that a
 * table of millions of flows never stalls the worker; @p fn must not insert or
 * remove flows, but the worker may between steps: a flow that lives through
 * the whole walk is visited exactly once (slots do not move), one inserted or
 * removed meanwhile may or may not be.
 * @param cursor where to go on from; set to the next slot to visit, or to
 *        FLOW_WALK_END when the table's end was reached
 * @return @p fn's non-zero value (the walk stopped at that flow), else 0
 */
int flow_walk(const struct flow_table *t, uint32_t *cursor, uint32_t budget,
	      int (*fn)(const struct flow_entry *e, void *arg), void *arg);

/** Name of a state for display ("ESTABLISHED"), "?" when out of range. */
const char *flow_state_name(int state);

#endif
