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
 * Threads: limit_take() and limit_table_take() are for any worker, any number at
 * once; they never block, allocate or log. The one exception: the first packet
 * from a new source inserts it into the table's rte_hash, which then takes the
 * hash's internal writer lock (RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD) for that one
 * insert; workers that insert must be EAL lcores or rte_thread_register()ed
 * threads (the hash keeps a per-lcore cache of free slots). Everything else on
 * a table is for the control thread.
 */
#ifndef MESHDP_LIMIT_H
#define MESHDP_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

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

/** A rate in bucket units; read-only once built (it may live in a config snapshot). */
struct limit_rate_tsc {
	uint64_t interval;  /* T: TSC cycles per unit << LIMIT_FRAC_BITS (rounded down, >= 1) */
	uint64_t tolerance; /* tau = burst * interval */
	uint64_t burst;
};

/**
 * Convert a rate. @return 0; -EINVAL if a value is 0, @p rate_per_s exceeds
 * @p tsc_hz, or burst * interval overflows 2^62.
 */
int limit_rate_init(struct limit_rate_tsc *out, uint64_t rate_per_s, uint64_t burst,
		    uint64_t tsc_hz);

/**
 * Any worker: take @p n units at @p now_tsc, all or nothing. n = 0 is always
 * admitted; n > burst never is. Lock-free (a failed CAS re-reads and retries;
 * each failure means another thread's take succeeded).
 * @return true if admitted.
 */
bool limit_take(struct limit_bucket *b, const struct limit_rate_tsc *r, uint64_t now_tsc,
		uint32_t n);

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

/**
 * Control thread, after rte_eal_init(): a table of at most @p capacity sources
 * (live plus expired-but-not-reclaimed). @return NULL on failure (rte_errno set).
 */
struct limit_table *limit_table_create(const char *name, uint32_t capacity, int socket_id);

/** Control thread: free the table. No worker may use it any more. */
void limit_table_free(struct limit_table *t);

/**
 * Any worker: take @p n units from @p key's bucket, inserting the source (with
 * a full bucket) on first sight.
 * @return 1 admitted, 0 refused, -ENOSPC the table is full and the source is
 *         new (the caller counts it and drops), -EINVAL bad key.
 */
int limit_table_take(struct limit_table *t, const struct limit_key *key,
		     const struct limit_rate_tsc *r, uint64_t now_tsc, uint32_t n);

/**
 * Control thread: remove the sources whose bucket has been full for at least
 * @p idle_tsc (TAT <= now - idle). Their slots stay reserved until
 * limit_table_reclaim(). @return sources removed.
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
