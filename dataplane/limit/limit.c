/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * limit: GCRA buckets and the per-source bucket table. See limit.h for the
 * threading contract.
 *
 * Table: a multi-writer struct lft_table (dataplane/lftable) maps a struct
 * limit_key to the source's struct limit_bucket. The lftable enforces the
 * capacity with an atomic reservation counter, so "full" is exact and never
 * depends on cuckoo displacement, and settles the race of two workers adding
 * the same new key (both get the same bucket, one reservation stays).
 *
 * Expiry: the control thread deletes the key, whose position stays parked;
 * limit_table_reclaim(), after a grace period, has the lftable zero the bucket
 * (full again for its next owner) and free the position. A worker that looked
 * the key up before the delete may still take from the parked bucket: those
 * units are lost, which at worst admits one extra burst from a source that had
 * been idle anyway. The bucket's flags field is left unused (zero).
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>

#include "../lftable/lftable.h"
#include "limit.h"

_Static_assert(sizeof(struct limit_key) == 20, "limit_key has no implicit padding");
_Static_assert(sizeof(struct limit_bucket) == 64, "a bucket is one cache line");

/*
 * struct limit_table is never defined: a table handle is its lftable
 * (struct limit_key -> struct limit_bucket), so the per-packet path loads no
 * wrapper on the way to the hash.
 */
static inline struct lft_table *limit_lft(struct limit_table *t)
{
	return (struct lft_table *)t;
}

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
	return (struct limit_table *)lft_create("lt", name, sizeof(struct limit_key),
						sizeof(struct limit_bucket), capacity, true,
						socket_id);
}

void limit_table_free(struct limit_table *t)
{
	lft_free(limit_lft(t));
}

int limit_table_take(struct limit_table *t, const struct limit_key *key,
		     const struct limit_rate_tsc *r, uint64_t now_tsc, uint32_t n)
{
	void *b;
	int ret;

	if (unlikely(t == NULL || key == NULL || r == NULL))
		return -EINVAL;
	if (unlikely(key->family != 4 && key->family != 6))
		return -EINVAL;
	ret = lft_add(limit_lft(t), key, &b);
	if (ret < 0)
		return ret;
	return limit_take(b, r, now_tsc, n) ? 1 : 0;
}

struct limit_expire_arg {
	struct lft_table *lft;
	uint64_t now;  /* << LIMIT_FRAC_BITS */
	uint64_t idle; /* << LIMIT_FRAC_BITS */
	unsigned int removed;
};

static void limit_expire_one(void *rec, void *arg)
{
	struct limit_expire_arg *a = arg;
	struct limit_bucket *b = rec;
	uint64_t tat = __atomic_load_n(&b->tat, __ATOMIC_RELAXED);

	if (tat != 0 && (int64_t)(a->now - tat) < (int64_t)a->idle)
		return;
	if (lft_del(a->lft, b) == 0)
		a->removed++;
}

unsigned int limit_table_expire(struct limit_table *t, uint64_t now_tsc, uint64_t idle_tsc)
{
	struct limit_expire_arg a = {
		.lft = limit_lft(t),
		.now = now_tsc << LIMIT_FRAC_BITS,
		.idle = idle_tsc << LIMIT_FRAC_BITS,
	};

	if (idle_tsc >= (1ull << (63 - LIMIT_FRAC_BITS)))
		return 0; /* longer than the clock can tell apart: nothing is that idle */
	lft_walk(a.lft, limit_expire_one, &a);
	return a.removed;
}

unsigned int limit_table_reclaim(struct limit_table *t)
{
	return lft_reclaim(limit_lft(t));
}

uint32_t limit_table_count(const struct limit_table *t)
{
	return lft_count((const struct lft_table *)t);
}
