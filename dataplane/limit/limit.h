/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * limit: token-bucket rate limits shared by all workers, lock-free.
 *
 * References:
 *  - GCRA, the Generic Cell Rate Algorithm: ITU-T I.371 / ATM Forum TM 4.0,
 *    "virtual scheduling" form. A GCRA with emission interval T = 1/rate and
 *    tolerance tau = burst * T admits exactly what a token bucket of size `burst`
 *    refilled at `rate` admits.
 *
 * A bucket is one 64-bit word, the theoretical arrival time (TAT) in TSC cycles
 * with LIMIT_FRAC_BITS fraction bits (so rates that do not divide the TSC
 * frequency keep their precision). Taking n units: tat' = max(TAT, now) + n * T;
 * admit and store tat' (one compare-and-swap) if tat' - now <= tau, else refuse
 * and write nothing (a flood of refused packets does not bounce the cache line).
 * A bucket whose TAT is at or before now is full. Times compare modulo 2^64, and
 * a TAT more than tau ahead of now (clock wrap after a very long idle, or a
 * smaller burst after a config change) is read, and written back once, as
 * "empty now", never as a long lock-out. The zeroed bucket is full.
 * Precision: T is rounded down to 1/256 cycle, so a bucket admits at most
 * rate / (256 * tsc_hz) more than the exact rate (0.04 % at 3e8/s on 1 GHz).
 *
 * Per-worker token shares (limit_take_share(), limit_table_take_share()): a
 * worker takes a batch of units from the shared bucket in one compare-and-swap
 * and spends them from its own struct limit_share, so a packet costs no atomic
 * on the shared cache line in the common case. When the bucket cannot give a
 * whole batch the worker takes one unit, so a nearly empty bucket still admits
 * exactly what it holds. Units are never created, only taken early: over any
 * period a limit admits at most what the bucket admits plus the units the
 * workers held at its start, i.e. at most burst + n_workers * (batch - 1) in a
 * burst and never more than the rate over time. batch = burst / (8 * n_workers),
 * clamped to 1..LIMIT_SHARE_MAX (limit_rate_shares()), so the burst can be
 * exceeded by at most an eighth; batch 1 (the default) is the exact GCRA.
 * Units a worker holds while the bucket is empty can make another worker's
 * packet wait for the refill (a fairness, not a precision, effect); a
 * per-source share evicted from the worker's cache gives its units back.
 *
 * Threads: limit_take(), limit_take_share() and limit_table_take*() are for any
 * worker, any number at once; they never block, lock, allocate or log. A share
 * belongs to one worker. Everything else on a table is for the control thread.
 *
 * Per-source table: open addressing with linear probing over a power-of-two
 * array of cache-line slots (at least twice the capacity), keyed by a seeded
 * jhash. A worker inserts a new source by a compare-and-swap of the slot's
 * state word (empty or reclaimed -> busy, with the key's hash tag), writes the
 * key and publishes it (live, release): no lock, no per-lcore cache, any thread.
 * The capacity is an atomic reservation counter, so "full" is exact except when
 * the LIMIT_PROBE_MAX slots from a key's home are all taken (-ENOSPC too). A
 * reader that meets a busy slot with its own tag uses that slot's buckets (with
 * a 28-bit tag, another source shares them only while both are being inserted
 * at the same instant). Two workers inserting the same new source while the
 * control thread reclaims a slot on its probe path can both insert it: the
 * second copy is never found again and expires (at most one extra packet).
 * Sources leave the table only by limit_table_expire() and, a grace period
 * later, limit_table_reclaim(): the table does not age itself. meshdp's control
 * thread does both once a second (l4_control_tick()), for sources idle a second.
 */
#ifndef MESHDP_LIMIT_H
#define MESHDP_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/** Fraction bits of the fixed-point TSC times in a bucket. */
#define LIMIT_FRAC_BITS 8

/**
 * One bucket. Writers: any worker, by compare-and-swap on tat; flags: see
 * struct limit_table (unused by a standalone bucket). Zero it to start full.
 */
struct limit_bucket {
	uint64_t tat;	/* theoretical arrival time, TSC << LIMIT_FRAC_BITS, mod 2^64 */
	uint32_t flags; /* limit_table only */
} __attribute__((aligned(64)));

/** A rate as configured. */
struct limit_rate {
	uint64_t rate_per_s;
	uint64_t burst;
};

/** Largest batch a worker takes into its share at once. */
#define LIMIT_SHARE_MAX 32

/** A rate in bucket units; read-only once built (it may live in a config snapshot). */
struct limit_rate_tsc {
	uint64_t interval;  /* T: TSC cycles per unit << LIMIT_FRAC_BITS (rounded down, >= 1) */
	uint64_t tolerance; /* tau = burst * interval */
	uint64_t burst;
	uint32_t batch; /* units a share takes at once: 1 (exact) unless limit_rate_shares() */
};

/**
 * Convert a rate (batch 1). @return 0; -EINVAL if a value is 0, @p rate_per_s
 * exceeds @p tsc_hz, or burst * interval overflows 2^62.
 */
int limit_rate_init(struct limit_rate_tsc *out, uint64_t rate_per_s, uint64_t burst,
		    uint64_t tsc_hz);

/**
 * Set the batch of per-worker shares for @p n_workers workers: burst / (8 *
 * n_workers), clamped to 1..LIMIT_SHARE_MAX. @return the batch.
 */
uint32_t limit_rate_shares(struct limit_rate_tsc *r, unsigned int n_workers);

/** One worker's share of a bucket: units taken from it ahead of use. Its worker only. */
struct limit_share {
	uint32_t tokens;
};

/**
 * Any worker: take @p n units at @p now_tsc, all or nothing. n = 0 is always
 * admitted; n > burst never is. Lock-free (a failed CAS re-reads and retries;
 * each failure means another thread's take succeeded).
 * @return true if admitted.
 */
bool limit_take(struct limit_bucket *b, const struct limit_rate_tsc *r, uint64_t now_tsc,
		uint32_t n);

/**
 * The worker that owns @p s: take one unit, from the share if it holds one,
 * else a batch (or, failing that, one unit) from the bucket. @return true if admitted.
 */
static inline bool limit_take_share(struct limit_bucket *b, struct limit_share *s,
				    const struct limit_rate_tsc *r, uint64_t now_tsc)
{
	if (__builtin_expect(s->tokens != 0, 1)) {
		s->tokens--;
		return true;
	}
	if (r->batch > 1 && limit_take(b, r, now_tsc, r->batch)) {
		s->tokens = r->batch - 1;
		return true;
	}
	return limit_take(b, r, now_tsc, 1);
}

/** True if the bucket would admit a full burst at @p now_tsc (idle). */
bool limit_bucket_full(const struct limit_bucket *b, const struct limit_rate_tsc *r,
		       uint64_t now_tsc);

/** Source key of a per-source table. */
struct limit_key {
	uint8_t family;	  /* 4 or 6 */
	uint8_t pad[3];	  /* zero */
	uint8_t addr[16]; /* IPv4 in the first 4 bytes (network order), rest zero */
};

/** Fill a key for an IPv4 address (network byte order). */
void limit_key4(struct limit_key *k, uint32_t addr);

/** Fill a key for an IPv6 address. */
void limit_key6(struct limit_key *k, const uint8_t addr[16]);

struct limit_table;

/** The buckets a source has in a table: one per kind of limit. */
enum limit_kind {
	LIMIT_PKT,  /* packets per second */
	LIMIT_CONN, /* connections per second */
	LIMIT_KINDS
};

/** Slots from a key's home position a table searches (and inserts within). */
#define LIMIT_PROBE_MAX 32

/**
 * Control thread, after rte_eal_init(): a table of at most @p capacity sources
 * (live plus expired-but-not-reclaimed), 1..2^24. @p name is kept for the
 * memory's name. @return NULL on failure (rte_errno set).
 */
struct limit_table *limit_table_create(const char *name, uint32_t capacity, int socket_id);

/** Control thread: free the table. No worker may use it any more. */
void limit_table_free(struct limit_table *t);

/**
 * Any worker: take @p n units from @p key's bucket of @p kind, inserting the
 * source (with full buckets) on first sight.
 * @return 1 admitted, 0 refused, -ENOSPC the table is full and the source is
 *         new (the caller counts it and drops), -EINVAL bad key or kind.
 */
int limit_table_take(struct limit_table *t, const struct limit_key *key, enum limit_kind kind,
		     const struct limit_rate_tsc *r, uint64_t now_tsc, uint32_t n);

/** Entries of a struct limit_src_cache (a power of two). */
#define LIMIT_CACHE_SLOTS 64

/** One worker's share of one source's packet bucket. */
struct limit_src_share {
	struct limit_key key; /* family 0: empty */
	uint32_t tokens;
};

/**
 * One worker's shares of the sources of one table (packet limits), direct-mapped
 * by the key's hash. Zero it to start; its worker only; no longer-lived than the table.
 */
struct limit_src_cache {
	struct limit_src_share e[LIMIT_CACHE_SLOTS];
};

/** A worker cache's slot for @p key: a multiplicative mix of the key's words,
 * far cheaper than the table's hash (a collision only costs the slower path). */
static inline uint32_t limit_cache_slot(const struct limit_key *key)
{
	uint32_t w[sizeof(*key) / 4], x = 0;

	memcpy(w, key, sizeof(w));
	for (unsigned int i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		x = (x ^ w[i]) * 0x9e3779b1u;
	return x >> (32 - __builtin_ctz(LIMIT_CACHE_SLOTS));
}

/** Keys are equal: five 32-bit compares, inline (a memcmp call costs more). */
static inline bool limit_key_eq(const struct limit_key *a, const struct limit_key *b)
{
	uint32_t x[sizeof(*a) / 4], y[sizeof(*b) / 4];
	uint32_t d = 0;

	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	for (unsigned int i = 0; i < sizeof(x) / sizeof(x[0]); i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/**
 * limit_table_take_share()'s slow path (the cache holds no unit for @p key):
 * for that function only, and for tests.
 */
int limit_table_refill_share(struct limit_table *t, struct limit_src_cache *c,
			     const struct limit_key *key, const struct limit_rate_tsc *r,
			     uint64_t now_tsc);

/**
 * The worker that owns @p c: take one unit of @p key's LIMIT_PKT bucket (rate
 * @p r) through the worker's share: from the cache when it holds a unit for the
 * source (inline, no shared write), else from the table: a batch when the
 * source already had the cache slot, one unit when it takes the slot over (the
 * previous source's units go back to its bucket). Returns as limit_table_take().
 */
static inline int limit_table_take_share(struct limit_table *t, struct limit_src_cache *c,
					 const struct limit_key *key,
					 const struct limit_rate_tsc *r, uint64_t now_tsc)
{
	struct limit_src_share *e = &c->e[limit_cache_slot(key)];

	/* a cached key was valid when it went in: equal means valid */
	if (__builtin_expect(e->tokens != 0 && limit_key_eq(&e->key, key), 1)) {
		e->tokens--;
		return 1;
	}
	return limit_table_refill_share(t, c, key, r, now_tsc);
}

/**
 * Control thread: remove the sources whose buckets have all been full for at
 * least @p idle_tsc (TAT <= now - idle). Their slots stay reserved until
 * limit_table_reclaim(), so call that (after a grace period) before the next
 * expire. Removing a full bucket loses nothing: a source seen again is inserted
 * with full buckets. Workers may go on using a removed slot they found before
 * (stable until reclaim) and the units their share caches hold for it (the
 * cache holds a copy of the key, never a slot). Scans the whole table unless
 * it holds no source. @return sources removed.
 */
unsigned int limit_table_expire(struct limit_table *t, uint64_t now_tsc, uint64_t idle_tsc);

/**
 * Control thread: free the slots removed by limit_table_expire(). Call only after
 * a grace period (synchronize_rcu()) that began after the removal.
 * @return slots freed.
 */
unsigned int limit_table_reclaim(struct limit_table *t);

/** Live sources (any thread; approximate while workers insert). */
uint32_t limit_table_count(const struct limit_table *t);

#endif
