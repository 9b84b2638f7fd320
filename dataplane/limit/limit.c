/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * limit: GCRA buckets, per-worker shares and the per-source bucket table. See
 * limit.h for the threading contract and the table's design.
 *
 * Slot states (the low 3 bits of a slot's state word; the upper 29 bits are the
 * key's hash tag once claimed):
 *   EMPTY  never used; ends a probe (the chains of linear probing never cross one)
 *   BUSY   claimed by an inserting worker, key being written
 *   LIVE   key published (release); readers compare it
 *   DEAD   expired by the control thread; readers skip it, and its buckets stay
 *          stable memory for workers that found it before, until reclaim
 *   FREE   reclaimed after a grace period: zeroed, reusable by an insert, but
 *          still part of other keys' chains (a probe goes on past it)
 * Reclaim turns a FREE slot back into EMPTY when the next slot is EMPTY (from
 * the end of a run backwards), so chains do not grow with churn.
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "limit.h"

_Static_assert(sizeof(struct limit_key) == 20, "limit_key has no implicit padding");
_Static_assert(sizeof(struct limit_bucket) == 64, "a bucket is one cache line");

enum { LIMIT_EMPTY, LIMIT_BUSY, LIMIT_LIVE, LIMIT_DEAD, LIMIT_FREE };
#define LIMIT_ST_MASK 7u

/* One source: its buckets and key in one cache line. Writers: see the states above;
 * tat[]: any worker (CAS), zeroed by the control thread at reclaim. */
struct limit_slot {
	uint64_t tat[LIMIT_KINDS];
	uint32_t state;
	struct limit_key key;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct limit_slot) == 64, "a slot is one cache line");

struct limit_table {
	struct limit_slot *slots;
	uint32_t mask;	   /* slots - 1 */
	uint32_t capacity; /* live + busy + dead at most */
	uint32_t seed;
	uint32_t n_used; /* atomic: reservations (live, busy and dead slots) */
	uint32_t n_live; /* atomic */
	uint32_t n_dead; /* control thread */
	uint32_t *dead;	 /* [capacity]: control thread, expired positions awaiting reclaim */
};

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
	out->batch = 1;
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

uint32_t limit_rate_shares(struct limit_rate_tsc *r, unsigned int n_workers)
{
	uint64_t batch = r->burst / (8ull * (n_workers ? n_workers : 1));

	if (batch > LIMIT_SHARE_MAX)
		batch = LIMIT_SHARE_MAX;
	r->batch = batch ? (uint32_t)batch : 1;
	return r->batch;
}

static bool limit_take_tat(uint64_t *tat, const struct limit_rate_tsc *r, uint64_t now_tsc,
			   uint32_t n)
{
	uint64_t now = now_tsc << LIMIT_FRAC_BITS;
	uint64_t inc, old, next;

	if (n == 0)
		return true;
	if (unlikely(n > r->burst))
		return false;
	inc = n * r->interval; /* <= tolerance <= 2^62 */
	old = __atomic_load_n(tat, __ATOMIC_RELAXED);
	for (;;) {
		uint64_t base = limit_base(old, now, r->tolerance);

		/* base - now is in [0, tolerance]: no wrap in the sum below */
		if (base - now + inc > r->tolerance) {
			/* Clamped (stale or larger-burst TAT): persist the clamp, once, so the
			 * bucket refills from "empty now" instead of from the old TAT. */
			if (unlikely(base != old && base != now))
				__atomic_compare_exchange_n(tat, &old, base, false,
							    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
			return false;
		}
		next = base + inc;
		if (unlikely(next == 0))
			next = UINT64_MAX; /* 0 means "never used"; 1/256 cycle early is harmless */
		if (__atomic_compare_exchange_n(tat, &old, next, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return true;
	}
}

bool limit_take(struct limit_bucket *b, const struct limit_rate_tsc *r, uint64_t now_tsc,
		uint32_t n)
{
	return limit_take_tat(&b->tat, r, now_tsc, n);
}

/* Give back @p n units taken early and not spent (never past "full"). */
static void limit_give_tat(uint64_t *tat, const struct limit_rate_tsc *r, uint64_t now_tsc,
			   uint32_t n)
{
	uint64_t now = now_tsc << LIMIT_FRAC_BITS;
	uint64_t back = (uint64_t)n * r->interval;
	uint64_t old = __atomic_load_n(tat, __ATOMIC_RELAXED), next;

	do {
		uint64_t base = limit_base(old, now, r->tolerance);

		if (base == now)
			return; /* full already */
		next = base - now > back ? base - back : now;
		if (next == 0)
			next = UINT64_MAX;
	} while (!__atomic_compare_exchange_n(tat, &old, next, false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
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
	struct limit_table *t;
	uint32_t n_slots;

	if (name == NULL || capacity == 0 || capacity > (1u << 24)) {
		rte_errno = EINVAL;
		return NULL;
	}
	n_slots = rte_align32pow2(capacity * 2);
	t = rte_zmalloc_socket(name, sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL)
		goto fail;
	t->slots = rte_zmalloc_socket(name, (size_t)n_slots * sizeof(*t->slots),
				      RTE_CACHE_LINE_SIZE, socket_id);
	t->dead = rte_zmalloc_socket(name, (size_t)capacity * sizeof(*t->dead), 0, socket_id);
	if (t->slots == NULL || t->dead == NULL)
		goto fail;
	t->mask = n_slots - 1;
	t->capacity = capacity;
	t->seed = (uint32_t)rte_rand();
	return t;
fail:
	limit_table_free(t);
	rte_errno = ENOMEM;
	return NULL;
}

void limit_table_free(struct limit_table *t)
{
	if (t == NULL)
		return;
	rte_free(t->slots);
	rte_free(t->dead);
	rte_free(t);
}

static inline uint32_t limit_hash(const struct limit_table *t, const struct limit_key *key)
{
	uint32_t w[sizeof(*key) / 4];

	memcpy(w, key, sizeof(w)); /* the key is bytes: no alignment to rely on */
	return rte_jhash_32b(w, RTE_DIM(w), t->seed);
}

/* The tag a claimed slot carries: the hash's upper bits, never 0. */
static inline uint32_t limit_tag(uint32_t h)
{
	return (h | 0x80000000u) & ~LIMIT_ST_MASK;
}

/*
 * The slot of @p key (hash @p h), inserting it when absent. @return 1 added, 0
 * found, -ENOSPC (full, or no free slot within LIMIT_PROBE_MAX of its home).
 */
static int limit_find_add(struct limit_table *t, const struct limit_key *key, uint32_t h,
			  struct limit_slot **out)
{
	const uint32_t tag = limit_tag(h);

	for (int attempt = 0; attempt < 4; attempt++) {
		uint32_t pos = h & t->mask, target = UINT32_MAX, seen = 0;

		for (uint32_t i = 0; i < LIMIT_PROBE_MAX; i++, pos = (pos + 1) & t->mask) {
			struct limit_slot *sl = &t->slots[pos];
			uint32_t st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);

			if ((st & ~LIMIT_ST_MASK) == tag) {
				if ((st & LIMIT_ST_MASK) == LIMIT_BUSY) {
					*out = sl; /* being inserted: almost surely this key */
					return 0;
				}
				if ((st & LIMIT_ST_MASK) == LIMIT_LIVE &&
				    limit_key_eq(&sl->key, key)) {
					*out = sl;
					return 0;
				}
			}
			if (st == LIMIT_FREE && target == UINT32_MAX) {
				target = pos;
				seen = st;
			}
			if (st == LIMIT_EMPTY) {
				if (target == UINT32_MAX) {
					target = pos;
					seen = st;
				}
				break;
			}
		}
		if (target == UINT32_MAX)
			return -ENOSPC;
		if (__atomic_fetch_add(&t->n_used, 1, __ATOMIC_RELAXED) >= t->capacity) {
			__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED);
			return -ENOSPC;
		}
		if (__atomic_compare_exchange_n(&t->slots[target].state, &seen, tag | LIMIT_BUSY,
						false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			struct limit_slot *sl = &t->slots[target];

			memcpy(&sl->key, key, sizeof(*key));
			__atomic_store_n(&sl->state, tag | LIMIT_LIVE, __ATOMIC_RELEASE);
			__atomic_fetch_add(&t->n_live, 1, __ATOMIC_RELAXED);
			*out = sl;
			return 1;
		}
		/* another worker took the slot first: look again (it may be this key) */
		__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED);
	}
	return -ENOSPC;
}

/* The live slot of @p key, or NULL (no insert). */
static struct limit_slot *limit_find(struct limit_table *t, const struct limit_key *key, uint32_t h)
{
	const uint32_t tag = limit_tag(h);
	uint32_t pos = h & t->mask;

	for (uint32_t i = 0; i < LIMIT_PROBE_MAX; i++, pos = (pos + 1) & t->mask) {
		struct limit_slot *sl = &t->slots[pos];
		uint32_t st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);

		if (st == (tag | LIMIT_LIVE) && limit_key_eq(&sl->key, key))
			return sl;
		if (st == LIMIT_EMPTY)
			break;
	}
	return NULL;
}

static inline bool limit_key_ok(const struct limit_key *key)
{
	return key != NULL && (key->family == 4 || key->family == 6);
}

int limit_table_take(struct limit_table *t, const struct limit_key *key, enum limit_kind kind,
		     const struct limit_rate_tsc *r, uint64_t now_tsc, uint32_t n)
{
	struct limit_slot *sl;
	int ret;

	if (unlikely(t == NULL || r == NULL || !limit_key_ok(key) ||
		     (unsigned int)kind >= LIMIT_KINDS))
		return -EINVAL;
	ret = limit_find_add(t, key, limit_hash(t, key), &sl);
	if (ret < 0)
		return ret;
	return limit_take_tat(&sl->tat[kind], r, now_tsc, n) ? 1 : 0;
}

int limit_table_refill_share(struct limit_table *t, struct limit_src_cache *c,
			     const struct limit_key *key, const struct limit_rate_tsc *r,
			     uint64_t now_tsc)
{
	struct limit_src_share *e;
	struct limit_slot *sl;
	uint32_t h, batch;
	bool mine;
	int ret;

	if (unlikely(t == NULL || c == NULL || r == NULL || !limit_key_ok(key)))
		return -EINVAL;
	e = &c->e[limit_cache_slot(key)];
	mine = limit_key_eq(&e->key, key);
	/* (from limit_table_take_share() the first case never holds: it spent the unit) */
	if (likely(mine) && e->tokens != 0) {
		e->tokens--;
		return 1;
	}
	if (!mine && e->tokens != 0) {
		/* the cache slot goes to this source: the previous one's units go back */
		sl = limit_find(t, &e->key, limit_hash(t, &e->key));
		if (sl != NULL)
			limit_give_tat(&sl->tat[LIMIT_PKT], r, now_tsc, e->tokens);
		e->tokens = 0;
	}
	h = limit_hash(t, key);
	ret = limit_find_add(t, key, h, &sl);
	if (ret < 0)
		return ret;
	/* a batch once the source came back to this worker, one unit the first time */
	batch = mine ? r->batch : 1;
	if (batch > 1 && limit_take_tat(&sl->tat[LIMIT_PKT], r, now_tsc, batch)) {
		e->tokens = batch - 1;
		return 1;
	}
	if (!limit_take_tat(&sl->tat[LIMIT_PKT], r, now_tsc, 1))
		return 0;
	memcpy(&e->key, key, sizeof(*key));
	return 1;
}

unsigned int limit_table_expire(struct limit_table *t, uint64_t now_tsc, uint64_t idle_tsc)
{
	const uint64_t now = now_tsc << LIMIT_FRAC_BITS, idle = idle_tsc << LIMIT_FRAC_BITS;
	unsigned int removed = 0;

	if (idle_tsc >= (1ull << (63 - LIMIT_FRAC_BITS)))
		return 0; /* longer than the clock can tell apart: nothing is that idle */
	if (__atomic_load_n(&t->n_live, __ATOMIC_RELAXED) == 0)
		return 0; /* an idle table costs no scan (a source being published now
			   * is seen at the next call) */
	for (uint32_t pos = 0; pos <= t->mask; pos++) {
		struct limit_slot *sl = &t->slots[pos];
		uint32_t st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);
		bool idle_all = true;

		if ((st & LIMIT_ST_MASK) != LIMIT_LIVE)
			continue;
		for (unsigned int k = 0; k < LIMIT_KINDS; k++) {
			uint64_t tat = __atomic_load_n(&sl->tat[k], __ATOMIC_RELAXED);

			if (tat != 0 && (int64_t)(now - tat) < (int64_t)idle)
				idle_all = false;
		}
		if (!idle_all)
			continue;
		__atomic_store_n(&sl->state, LIMIT_DEAD, __ATOMIC_RELEASE);
		__atomic_fetch_sub(&t->n_live, 1, __ATOMIC_RELAXED);
		t->dead[t->n_dead++] = pos;
		removed++;
	}
	return removed;
}

unsigned int limit_table_reclaim(struct limit_table *t)
{
	unsigned int n = t->n_dead;

	for (unsigned int i = 0; i < n; i++) {
		struct limit_slot *sl = &t->slots[t->dead[i]];

		memset(sl->tat, 0, sizeof(sl->tat));
		memset(&sl->key, 0, sizeof(sl->key));
		__atomic_store_n(&sl->state, LIMIT_FREE, __ATOMIC_RELEASE);
	}
	__atomic_fetch_sub(&t->n_used, n, __ATOMIC_RELAXED);
	/* FREE slots that end a run become EMPTY again, from the run's end backwards,
	 * so that a probe never needs to cross them: no chain passes an EMPTY slot.
	 * Only the runs of the slots just freed can have changed. */
	for (unsigned int i = 0; i < n; i++) {
		uint32_t pos = t->dead[i];

		for (uint32_t k = 0; k <= t->mask; k++, pos = (pos - 1) & t->mask) {
			uint32_t expected = LIMIT_FREE;

			if (__atomic_load_n(&t->slots[(pos + 1) & t->mask].state,
					    __ATOMIC_ACQUIRE) != LIMIT_EMPTY ||
			    !__atomic_compare_exchange_n(&t->slots[pos].state, &expected,
							 LIMIT_EMPTY, false, __ATOMIC_RELEASE,
							 __ATOMIC_RELAXED))
				break;
		}
	}
	t->n_dead = 0;
	return n;
}

uint32_t limit_table_count(const struct limit_table *t)
{
	return __atomic_load_n(&t->n_live, __ATOMIC_RELAXED);
}
