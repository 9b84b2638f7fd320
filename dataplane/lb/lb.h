/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lb: load-balancing tables and pickers for L4 services. I/O free; depends on
 * nothing in meshdp.
 *
 * References:
 *  - Maglev: D. E. Eisenbud et al., "Maglev: A Fast and Reliable Software Network
 *    Load Balancer", NSDI 2016, section 3.4 (consistent hashing, Pseudocode 1).
 *  - Smooth weighted round robin: nginx, ngx_http_upstream_round_robin.c
 *    (ngx_http_upstream_get_peer), commit 52327e0627f4 (2012).
 *
 * Maglev with weights. Each backend's permutation of the table comes from two
 * independent hashes of its stable key string: offset = jhash(key, seed A) mod M,
 * skip = jhash(key, seed B) mod (M - 1) + 1 (rte_jhash, Bob Jenkins' lookup3
 * "hashlittle", which gives the same value on every little- and big-endian host).
 * Backends take turns claiming their next preferred empty slot. Unweighted Maglev
 * gives every backend one turn per round; here backend i's k-th turn (k = 0, 1, ...)
 * happens at virtual time (2k + 1) / w_i, turns run in virtual-time order and ties
 * go to the smaller key (strcmp). With equal weights that is exactly the paper's
 * round-robin fill; with unequal weights each backend gets turns, hence slots, in
 * proportion to its weight. Because keys (not list positions) decide everything,
 * the table is identical on every node, across rebuilds, and whatever the order of
 * the backend list. Removing a backend removes its turns and leaves the relative
 * order of the others' turns as it was, which keeps Maglev's minimal disruption.
 *
 * Threads: lb_maglev_build() / lb_maglev_free() run on the control thread (they
 * allocate with malloc). A built table is immutable; any number of workers may
 * call lb_maglev_lookup() concurrently. Free it only after a grace period.
 * lb_pick_rr() state and lb_rand32()'s belong to one caller (one worker): no
 * atomics.
 */
#ifndef MESHDP_LB_H
#define MESHDP_LB_H

#include <stdbool.h>
#include <stdint.h>

/** "No backend": every slot of a table without a usable backend; pickers' failure value. */
#define LB_NONE 0xffffu

/** Largest Maglev table size accepted (65537 * 16); must also be prime. */
#define LB_MAGLEV_MAX_SIZE (65537u * 16u)

/** Most backends one table or picker handles (indices stay below LB_NONE). */
#define LB_MAX_BACKENDS 0xfffeu

/** One backend as the caller's list describes it. */
struct lb_backend {
	const char *key; /* stable name, e.g. "10.0.0.1:80"; decides the permutation */
	uint32_t weight; /* 0: gets no traffic */
	bool usable;	 /* healthy and not ejected */
};

/** A built Maglev lookup table: table[slot] is an index into the build's backend list. */
struct lb_maglev {
	uint16_t *table; /* [size], immutable once built */
	uint32_t size;	 /* prime */
	uint16_t n_backends;
};

/**
 * Smallest prime >= @p n (2 for n <= 2). @return 0 if that prime would exceed
 * LB_MAGLEV_MAX_SIZE.
 */
uint32_t lb_prime_at_least(uint32_t n);

/**
 * Control thread: build a weighted Maglev table. @p m is overwritten (any table it
 * held is not freed: the caller frees the old one after its readers are gone).
 * Unusable or zero-weight backends get no slot; with no usable backend every slot
 * is LB_NONE.
 * @param size table size: prime, >= @p n, <= LB_MAGLEV_MAX_SIZE.
 * @param b backends; keys must be non-NULL and distinct.
 * @param n number of backends, <= LB_MAX_BACKENDS (0 allowed).
 * @return 0; -EINVAL (size not prime or out of range, NULL or duplicate key,
 *         too many backends), -ENOMEM.
 */
int lb_maglev_build(struct lb_maglev *m, uint32_t size, const struct lb_backend *b, uint16_t n);

/** Control thread: free a table built by lb_maglev_build() (NULL or zeroed is fine). */
void lb_maglev_free(struct lb_maglev *m);

/**
 * Any thread: the backend index for a flow hash, or LB_NONE. The hash is mapped
 * onto [0, size) by multiply-shift (Lemire's "fast range"), not a division.
 */
static inline uint16_t lb_maglev_lookup(const struct lb_maglev *m, uint32_t hash)
{
	if (m->table == NULL)
		return LB_NONE;
	return m->table[(uint32_t)(((uint64_t)hash * m->size) >> 32)];
}

/**
 * Smooth weighted round robin (nginx). It needs one running weight per backend,
 * not a single cursor: @p current holds one int64_t per backend,
 * owned by the caller (one array per worker and backend list), zeroed when the
 * list changes. Unusable and zero-weight backends are skipped. For weights 5, 1, 1
 * the picks repeat a a b a c a a.
 * @return the picked index, or LB_NONE if none is usable.
 */
uint16_t lb_pick_rr(int64_t *current, const struct lb_backend *b, uint16_t n);

/**
 * Whether backend a (@p active_a connections, weight @p w_a) is less loaded than
 * backend b: active_a / w_a < active_b / w_b, compared exactly by cross-multiplication.
 */
static inline bool lb_less_loaded(uint64_t active_a, uint32_t w_a, uint64_t active_b, uint32_t w_b)
{
	return active_a * w_b < active_b * w_a;
}

/**
 * Two usable, nonzero-weight backends drawn from the random bits @p r (the low
 * and the high 32 bits each choose a start, then the first usable backend from
 * there is taken, so one that follows unusable ones is drawn more often), for
 * random picks and the power of two choices (M. Mitzenmacher, "The Power of Two
 * Choices in Randomized Load Balancing", 2001). *@p second is another backend
 * than the returned one when two are usable, the same one when only one is.
 * @return the first backend, or LB_NONE (*@p second too) if none is usable.
 */
uint16_t lb_pick_two(const struct lb_backend *b, uint16_t n, uint64_t r, uint16_t *second);

/**
 * Least connections: the usable backend with the smallest active[i] / weight
 * (compared exactly, by cross-multiplication); ties go to the larger weight, then
 * the lower index. @p active is read with relaxed atomic loads.
 * @return the picked index, or LB_NONE if none is usable.
 */
uint16_t lb_pick_least(const struct lb_backend *b, const uint32_t *active, uint16_t n);

/**
 * Flow hashes for lb_maglev_lookup(): rte_jhash over the 5-tuple with a fixed
 * seed, so every node maps a flow to the same slot. Addresses and ports are
 * taken as they are in the packet (network byte order).
 */
uint32_t lb_flow_hash4(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		       uint8_t proto);

/** IPv6 flavour of lb_flow_hash4(). */
uint32_t lb_flow_hash6(const uint8_t saddr[16], const uint8_t daddr[16], uint16_t sport,
		       uint16_t dport, uint8_t proto);

/**
 * xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
 * generators, scrambled", 2016): the next 32 bits of the generator whose state
 * is *@p state (any non-zero start). One state per worker, no atomics: picks,
 * weighted splits, fault and sampling percentages, jitter, trace ids. Not for
 * secrets.
 */
static inline uint32_t lb_rand32(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

#endif
