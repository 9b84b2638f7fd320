/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * neigh: the neighbour cache (ARP for IPv4, NDP for IPv6) shared by all workers.
 *
 * One writer, many readers: only the control thread adds, updates, ages and
 * removes entries; workers read lock-free (rte_hash with
 * RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF). Workers that learn something (an ARP
 * reply, a neighbour advertisement, a request that names us) post a struct
 * neigh_event to the control thread's mailbox (an rte_ring of fixed-size
 * elements) and never write the table. A removed key slot is recycled only
 * after a QSBR grace period (neigh_reclaim()).
 *
 * Entry states follow RFC 4861 loosely: REACHABLE until reachable_ms after the
 * last confirmation, then STALE (still used; the first worker to use it sends
 * one unicast probe per retrans interval), removed stale_ms after that.
 * Times are TSC cycles passed in by the caller, so tests drive the clock.
 *
 * Worker-private lookup cache (struct neigh_cache, neigh_lookup4_cached()):
 * a direct-mapped cache of IPv4 next hops -> entry pointers, checked against
 * the table's generation, which the control thread bumps whenever an entry
 * leaves the table (ageing, flush). MAC and state are read from the entry at
 * every use, so ARP updates apply at once; a removal invalidates every cache
 * before its slot can be reclaimed (the grace period orders the two), so a
 * cached pointer is never used past its entry's life.
 */
#ifndef MESHDP_NEIGH_H
#define MESHDP_NEIGH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

struct rte_ring;

enum neigh_state {
	NEIGH_REACHABLE = 1,
	NEIGH_STALE,
};

/**
 * Hash key: an address on a link. Links are named by port and VLAN, not by the
 * snapshot's interface index, so entries stay valid across config swaps.
 */
struct neigh_key {
	uint16_t port_id;
	uint16_t vlan;	  /* 0: untagged */
	uint8_t family;	  /* 4 or 6 */
	uint8_t pad[3];	  /* zero */
	uint8_t addr[16]; /* IPv4 in the first 4 bytes (network order), rest zero */
};

/**
 * One cache entry. Writers: mac, state, confirmed_tsc: control thread;
 * probe_tsc: any worker, by compare-and-swap (one probe per interval).
 * Readers load fields with __atomic loads.
 */
struct neigh_entry {
	struct neigh_key key;
	uint64_t mac;		/* rte_ether_addr in the low 6 bytes */
	uint64_t confirmed_tsc; /* last confirmation */
	uint64_t probe_tsc;	/* last unicast probe sent by a worker */
	uint8_t state;		/* enum neigh_state */
} __attribute__((aligned(64)));

enum neigh_event_kind {
	NEIGH_EV_CONFIRM = 1, /* reply/advertisement or a request naming us: create or refresh */
	NEIGH_EV_UPDATE,      /* unsolicited: refresh only an entry that already exists */
};

/** A worker's report to the control thread; 32 bytes, sent by value through an rte_ring. */
struct neigh_event {
	struct neigh_key key;
	struct rte_ether_addr mac;
	uint8_t kind; /* enum neigh_event_kind */
	uint8_t pad;
};

struct neigh_table;

/**
 * Create the table and its event mailbox (multi-producer, single-consumer).
 * Control thread, after rte_eal_init(). @return NULL on failure (rte_errno set).
 */
struct neigh_table *neigh_create(const char *name, uint32_t capacity, int socket_id);

/** Free the table. No reader may use it any more. */
void neigh_free(struct neigh_table *t);

/** The mailbox workers post struct neigh_event to. */
struct rte_ring *neigh_mailbox(struct neigh_table *t);

/**
 * Worker: report a learned neighbour. Never blocks.
 * @return 0, or -ENOBUFS when the mailbox is full (the caller counts it).
 */
int neigh_post(struct neigh_table *t, const struct neigh_key *key, const struct rte_ether_addr *mac,
	       enum neigh_event_kind kind);

/** Worker (any thread): @return the entry or NULL. Valid until the next quiescent state. */
const struct neigh_entry *neigh_lookup(const struct neigh_table *t, const struct neigh_key *key);

#define NEIGH_CACHE_SET_BITS 5
#define NEIGH_CACHE_SETS     (1u << NEIGH_CACHE_SET_BITS)
#define NEIGH_CACHE_WAYS     4

/** One worker's cache of IPv4 lookups (zero it before first use). Owned by that worker. */
struct neigh_cache {
	struct neigh_cache_slot {
		uint64_t key; /* address | port << 32 | vlan << 48 */
		uint64_t gen; /* table generation the slot was filled in; 0: empty */
		const struct neigh_entry *e;
	} slot[NEIGH_CACHE_SETS][NEIGH_CACHE_WAYS];
	uint8_t victim[NEIGH_CACHE_SETS]; /* next way to refill, round robin */
	/* the table of the last miss and its generation word, so that a hit needs
	 * no call into neigh.c; a cache asked about another table misses once */
	const struct neigh_table *table;
	const uint64_t *gen;
};

/**
 * Worker: neigh_lookup() of an IPv4 next hop through the worker's cache @p c.
 * Same answer as neigh_lookup() of neigh_key4(port_id, vlan, addr); the entry
 * is valid until the next quiescent state.
 */
static inline const struct neigh_entry *neigh_lookup4_cached(const struct neigh_table *t,
							     struct neigh_cache *c,
							     uint16_t port_id, uint16_t vlan,
							     uint32_t addr);

/* The slow half of neigh_lookup4_cached() (table lookup and refill); not for other callers. */
const struct neigh_entry *neigh_lookup4_miss(const struct neigh_table *t, struct neigh_cache *c,
					     uint16_t port_id, uint16_t vlan, uint32_t addr);

/** Copy the MAC out of an entry. */
static inline void neigh_entry_mac(const struct neigh_entry *e, struct rte_ether_addr *mac)
{
	/* byte i of the MAC is bits 8i..8i+7 of the packed word: its first six
	 * bytes in little-endian order, one copy instead of a loop of shifts */
	uint64_t v = rte_cpu_to_le_64(__atomic_load_n(&e->mac, __ATOMIC_ACQUIRE));

	memcpy(mac->addr_bytes, &v, RTE_ETHER_ADDR_LEN);
}

/**
 * Worker: decide whether to send a unicast probe for a STALE entry now; at most
 * one worker wins per @p retrans_tsc interval. @return true if the caller should probe.
 */
bool neigh_should_probe(const struct neigh_entry *e, uint64_t now_tsc, uint64_t retrans_tsc);

/** Control thread: apply all pending events. @return events applied. */
unsigned int neigh_drain(struct neigh_table *t, uint64_t now_tsc);

/** Control thread: create or refresh an entry (what a CONFIRM event does). */
int neigh_update(struct neigh_table *t, const struct neigh_key *key,
		 const struct rte_ether_addr *mac, uint64_t now_tsc);

/**
 * Control thread: REACHABLE -> STALE after @p reachable_tsc without confirmation,
 * remove STALE entries older than @p reachable_tsc + @p stale_tsc. Removed slots are
 * recycled by neigh_reclaim() after a grace period. @return entries removed.
 */
unsigned int neigh_age(struct neigh_table *t, uint64_t now_tsc, uint64_t reachable_tsc,
		       uint64_t stale_tsc);

/**
 * Control thread: free the key slots removed by neigh_age() / neigh_flush().
 * Call only after a grace period (synchronize_rcu()) that began after the removal.
 */
void neigh_reclaim(struct neigh_table *t);

/** Control thread: remove every entry (meshctl neigh flush; tests). */
unsigned int neigh_flush(struct neigh_table *t);

/** Control thread: call @p fn for each entry (meshctl neigh). */
void neigh_walk(const struct neigh_table *t, void (*fn)(const struct neigh_entry *e, void *arg),
		void *arg);

/** Number of entries. */
uint32_t neigh_count(const struct neigh_table *t);

/** Fill a key for an IPv4 address (network byte order). */
void neigh_key4(struct neigh_key *k, uint16_t port_id, uint16_t vlan, uint32_t addr);

/** Fill a key for an IPv6 address. */
void neigh_key6(struct neigh_key *k, uint16_t port_id, uint16_t vlan, const uint8_t addr[16]);

/* Inline so that a hit (every frame of an established next hop) costs no call. */
static inline const struct neigh_entry *neigh_lookup4_cached(const struct neigh_table *t,
							     struct neigh_cache *c,
							     uint16_t port_id, uint16_t vlan,
							     uint32_t addr)
{
	const uint64_t k = (uint64_t)addr | (uint64_t)port_id << 32 | (uint64_t)vlan << 48;
	const uint32_t set = (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> (64 - NEIGH_CACHE_SET_BITS));
	const struct neigh_cache_slot *s = c->slot[set];

	if (__builtin_expect(c->table == t, 1)) {
		const uint64_t gen = __atomic_load_n(c->gen, __ATOMIC_ACQUIRE);

		for (unsigned int w = 0; w < NEIGH_CACHE_WAYS; w++) {
			if (s[w].key == k && s[w].gen == gen) {
				const struct neigh_entry *e = s[w].e;

				if (__builtin_expect(
					    __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != 0, 1))
					return e;
				break;
			}
		}
	}
	return neigh_lookup4_miss(t, c, port_id, vlan, addr);
}

struct control_cmd_set;

/** meshctl neigh (neigh_commands.c; control thread). */
extern const struct control_cmd_set neigh_commands;

#endif
