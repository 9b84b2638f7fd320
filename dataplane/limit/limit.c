/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * limit: GCRA buckets and the per-source bucket table. See limit.h for the
 * threading contract.
 *
 * Table layout (mirrors dataplane/neigh): an rte_hash maps a struct limit_key to
 * a key position; buckets[position] is the source's bucket. The hash is created
 * with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF (lock-free lookups; implies
 * no-free-on-delete) and RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD (workers insert).
 * The capacity is enforced here with an atomic reservation counter, so "full"
 * is exact and never depends on cuckoo displacement; the hash gets twice the
 * capacity.
 *
 * Insert race: two workers may add the same new key at once; rte_hash returns
 * the same position to both, and the LIMIT_BUCKET_LIVE flag, set by
 * compare-and-swap, elects the one whose reservation stays.
 *
 * Expiry: the control thread clears LIVE, deletes the key and parks the position;
 * limit_table_reclaim(), after a grace period, zeroes the bucket (full again for
 * its next owner) and frees the position. A worker that looked the key up before
 * the delete may still take from the parked bucket: those units are lost, which
 * at worst admits one extra burst from a source that had been idle anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "limit.h"

#define LIMIT_BUCKET_LIVE 1u

_Static_assert(sizeof(struct limit_key) == 20, "limit_key has no implicit padding");
_Static_assert(sizeof(struct limit_bucket) == 64, "a bucket is one cache line");

struct limit_table {
	struct rte_hash *hash;
	struct limit_bucket *buckets; /* [n_slots], indexed by key position */
	uint32_t n_slots;
	uint32_t capacity;
	int32_t *dead;	 /* [n_slots] control thread: positions waiting for reclaim */
	uint32_t n_dead; /* control thread */
	/* Workers add (fetch_add), the control thread subtracts. */
	uint32_t n_used __attribute__((aligned(64))); /* live + parked positions */
	uint32_t n_live;			      /* sources in the hash */
};

static uint32_t limit_seq; /* makes DPDK object names unique per process */

int limit_rate_init(struct limit_rate_tsc *out, uint64_t rate_per_s, uint64_t burst,
		    uint64_t tsc_hz)
{
	uint64_t interval;

	if (out == NULL || rate_per_s == 0 || burst == 0 || tsc_hz == 0 || rate_per_s > tsc_hz ||
	    tsc_hz >= (1ull << (64 - LIMIT_FRAC_BITS)))
		return -EINVAL;
	interval = (tsc_hz << LIMIT_FRAC_BITS) / rate_per_s;
	if (burst > (1ull << 62) / interval)
		return -EINVAL;
	out->interval = interval;
	out->tolerance = burst * interval;
	out->burst = burst;
	return 0;
}

/* Where the next take starts from: now for a full bucket, TAT otherwise. */
static inline uint64_t limit_base(uint64_t tat, uint64_t now, uint64_t tolerance)
{
	int64_t ahead = (int64_t)(tat - now);

	if (tat == 0 || ahead <= 0)
		return now;
	if ((uint64_t)ahead > tolerance)
		return now + tolerance; /* stale or from a larger burst: empty, not locked out */
	return tat;
}

bool limit_take(struct limit_bucket *b, const struct limit_rate_tsc *r, uint64_t now_tsc,
		uint32_t n)
{
	uint64_t now = now_tsc << LIMIT_FRAC_BITS;
	uint64_t inc, old, next;

	if (n == 0)
		return true;
	if (unlikely(n > r->burst))
		return false;
	inc = n * r->interval; /* <= tolerance <= 2^62 */
	old = __atomic_load_n(&b->tat, __ATOMIC_RELAXED);
	for (;;) {
		uint64_t base = limit_base(old, now, r->tolerance);

		/* base - now is in [0, tolerance]: no wrap in the sum below */
		if (base - now + inc > r->tolerance) {
			/* Clamped (stale or larger-burst TAT): persist the clamp, once, so the
			 * bucket refills from "empty now" instead of from the old TAT. */
			if (unlikely(base != old && base != now))
				__atomic_compare_exchange_n(&b->tat, &old, base, false,
							    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
			return false;
		}
		next = base + inc;
		if (unlikely(next == 0))
			next = UINT64_MAX; /* 0 means "never used"; 1/256 cycle early is harmless */
		if (__atomic_compare_exchange_n(&b->tat, &old, next, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return true;
	}
}

bool limit_bucket_full(const struct limit_bucket *b, const struct limit_rate_tsc *r,
		       uint64_t now_tsc)
{
	uint64_t now = now_tsc << LIMIT_FRAC_BITS;

	return limit_base(__atomic_load_n(&b->tat, __ATOMIC_RELAXED), now, r->tolerance) == now;
}

void limit_key4(struct limit_key *k, uint32_t addr)
{
	memset(k, 0, sizeof(*k));
	k->family = 4;
	memcpy(k->addr, &addr, sizeof(addr));
}

void limit_key6(struct limit_key *k, const uint8_t addr[16])
{
	memset(k, 0, sizeof(*k));
	k->family = 6;
	memcpy(k->addr, addr, 16);
}

struct limit_table *limit_table_create(const char *name, uint32_t capacity, int socket_id)
{
	struct rte_hash_parameters hp = {0};
	struct limit_table *t;
	char hname[RTE_HASH_NAMESIZE];
	uint32_t seq;
	int32_t max_id;

	if (name == NULL || capacity == 0 || capacity > (1u << 24)) {
		rte_errno = EINVAL;
		return NULL;
	}
	seq = __atomic_fetch_add(&limit_seq, 1, __ATOMIC_RELAXED);
	snprintf(hname, sizeof(hname), "lt%u_%s", seq, name);

	t = rte_zmalloc_socket("limit_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->capacity = capacity;

	hp.name = hname;
	hp.entries = capacity < 8 ? 16 : capacity * 2;
	hp.key_len = sizeof(struct limit_key);
	hp.hash_func = rte_jhash;
	hp.hash_func_init_val = 0;
	hp.socket_id = socket_id;
	hp.extra_flag =
		RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD;
	t->hash = rte_hash_create(&hp);
	if (t->hash == NULL)
		goto fail_table;

	max_id = rte_hash_max_key_id(t->hash);
	if (max_id < 0) {
		rte_errno = EINVAL;
		goto fail_hash;
	}
	t->n_slots = (uint32_t)max_id + 1;
	t->buckets = rte_zmalloc_socket("limit_buckets", sizeof(struct limit_bucket) * t->n_slots,
					RTE_CACHE_LINE_SIZE, socket_id);
	if (t->buckets == NULL) {
		rte_errno = ENOMEM;
		goto fail_hash;
	}
	t->dead = rte_zmalloc_socket("limit_dead", sizeof(int32_t) * t->n_slots, 0, socket_id);
	if (t->dead == NULL) {
		rte_errno = ENOMEM;
		goto fail_buckets;
	}
	return t;

fail_buckets:
	rte_free(t->buckets);
fail_hash:
	rte_hash_free(t->hash);
fail_table:
	rte_free(t);
	return NULL;
}

void limit_table_free(struct limit_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->hash);
	rte_free(t->dead);
	rte_free(t->buckets);
	rte_free(t);
}

/* Worker: add a new source. @return its position or -ENOSPC. */
static int32_t limit_table_insert(struct limit_table *t, const struct limit_key *key)
{
	uint32_t expected = 0;
	int32_t pos;

	if (__atomic_fetch_add(&t->n_used, 1, __ATOMIC_RELAXED) >= t->capacity) {
		__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED);
		/* Another worker may just have added this very source. */
		pos = rte_hash_lookup(t->hash, key);
		return pos >= 0 ? pos : -ENOSPC;
	}
	pos = rte_hash_add_key(t->hash, key);
	if (unlikely(pos < 0 || (uint32_t)pos >= t->n_slots)) {
		__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	if (__atomic_compare_exchange_n(&t->buckets[pos].flags, &expected, LIMIT_BUCKET_LIVE, false,
					__ATOMIC_RELEASE, __ATOMIC_RELAXED))
		__atomic_fetch_add(&t->n_live, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED); /* the other adder's */
	return pos;
}

int limit_table_take(struct limit_table *t, const struct limit_key *key,
		     const struct limit_rate_tsc *r, uint64_t now_tsc, uint32_t n)
{
	int32_t pos;

	if (unlikely(t == NULL || key == NULL || r == NULL))
		return -EINVAL;
	if (unlikely(key->family != 4 && key->family != 6))
		return -EINVAL;
	pos = rte_hash_lookup(t->hash, key);
	if (pos < 0) {
		if (unlikely(pos != -ENOENT))
			return -EINVAL;
		pos = limit_table_insert(t, key);
		if (pos < 0)
			return pos;
	}
	if (unlikely((uint32_t)pos >= t->n_slots))
		return -ENOSPC;
	return limit_take(&t->buckets[pos], r, now_tsc, n) ? 1 : 0;
}

unsigned int limit_table_expire(struct limit_table *t, uint64_t now_tsc, uint64_t idle_tsc)
{
	uint64_t now = now_tsc << LIMIT_FRAC_BITS;
	uint64_t idle = idle_tsc << LIMIT_FRAC_BITS;
	unsigned int removed = 0;

	if (idle_tsc >= (1ull << (63 - LIMIT_FRAC_BITS)))
		return 0; /* longer than the clock can tell apart: nothing is that idle */
	for (uint32_t pos = 0; pos < t->n_slots; pos++) {
		struct limit_bucket *b = &t->buckets[pos];
		struct limit_key key;
		void *kp;
		uint64_t tat;
		int32_t ret;

		if (!(__atomic_load_n(&b->flags, __ATOMIC_ACQUIRE) & LIMIT_BUCKET_LIVE))
			continue;
		tat = __atomic_load_n(&b->tat, __ATOMIC_RELAXED);
		if (tat != 0 && (int64_t)(now - tat) < (int64_t)idle)
			continue;
		if (rte_hash_get_key_with_position(t->hash, (int32_t)pos, &kp) != 0)
			continue;
		memcpy(&key, kp, sizeof(key));
		ret = rte_hash_del_key(t->hash, &key);
		__atomic_store_n(&b->flags, 0, __ATOMIC_RELEASE);
		__atomic_fetch_sub(&t->n_live, 1, __ATOMIC_RELAXED);
		if (ret >= 0)
			t->dead[t->n_dead++] = ret;
		else
			__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED);
		removed++;
	}
	return removed;
}

unsigned int limit_table_reclaim(struct limit_table *t)
{
	unsigned int n = t->n_dead;

	for (uint32_t i = 0; i < t->n_dead; i++) {
		__atomic_store_n(&t->buckets[t->dead[i]].tat, 0, __ATOMIC_RELAXED);
		rte_hash_free_key_with_position(t->hash, t->dead[i]);
		__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELEASE);
	}
	t->n_dead = 0;
	return n;
}

uint32_t limit_table_count(const struct limit_table *t)
{
	return __atomic_load_n(&t->n_live, __ATOMIC_RELAXED);
}
