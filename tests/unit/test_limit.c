/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the rate limiter: GCRA buckets with a fake clock, contention, per-source table. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_lcore.h>
#include <rte_memory.h>

#include "dataplane/limit/limit.h"
#include "test_eal.h"

#define HZ 1000000000ull /* fake TSC: 1 GHz */
#define MS (HZ / 1000)

static unsigned int take_many(struct limit_bucket *b, const struct limit_rate_tsc *r, uint64_t now,
			      unsigned int tries)
{
	unsigned int ok = 0;

	for (unsigned int i = 0; i < tries; i++)
		ok += limit_take(b, r, now, 1);
	return ok;
}

static void test_rate_init(void **state)
{
	struct limit_rate_tsc r;

	(void)state;
	assert_int_equal(limit_rate_init(&r, 1000, 100, HZ), 0);
	assert_int_equal(r.interval, (HZ / 1000) << LIMIT_FRAC_BITS);
	assert_int_equal(r.tolerance, 100 * r.interval);
	assert_int_equal(limit_rate_init(&r, 0, 100, HZ), -EINVAL);
	assert_int_equal(limit_rate_init(&r, 1000, 0, HZ), -EINVAL);
	assert_int_equal(limit_rate_init(&r, 1000, 100, 0), -EINVAL);
	assert_int_equal(limit_rate_init(&r, HZ + 1, 100, HZ), -EINVAL);
	assert_int_equal(limit_rate_init(&r, 1, UINT64_MAX / 2, HZ), -EINVAL);
	assert_int_equal(limit_rate_init(NULL, 1, 1, HZ), -EINVAL);
}

static void test_bucket_basic(void **state)
{
	struct limit_bucket b = {0};
	struct limit_rate_tsc r;
	const uint64_t t0 = 5 * HZ + 12345;

	(void)state;
	assert_int_equal(limit_rate_init(&r, 1000, 100, HZ), 0);
	assert_true(limit_bucket_full(&b, &r, t0));
	assert_int_equal(take_many(&b, &r, t0, 150), 100);
	assert_false(limit_bucket_full(&b, &r, t0));
	assert_false(limit_take(&b, &r, t0 + MS - 1, 1)); /* one token needs a full 1 ms */
	assert_int_equal(take_many(&b, &r, t0 + 10 * MS, 50), 10);
	/* Long idle: back to exactly one burst, not more. */
	assert_int_equal(take_many(&b, &r, t0 + 3600 * HZ, 500), 100);
	assert_true(limit_bucket_full(&b, &r, t0 + 3601 * HZ));
}

static void test_all_or_nothing(void **state)
{
	struct limit_bucket b = {0};
	struct limit_rate_tsc r;

	(void)state;
	assert_int_equal(limit_rate_init(&r, 1000, 100, HZ), 0);
	assert_false(limit_take(&b, &r, HZ, 101)); /* more than a burst: never */
	assert_true(limit_take(&b, &r, HZ, 0));
	assert_true(limit_take(&b, &r, HZ, 60));
	assert_false(limit_take(&b, &r, HZ, 50)); /* 40 left: none of the 50 taken */
	assert_true(limit_take(&b, &r, HZ, 40));
	assert_false(limit_take(&b, &r, HZ, 1));
	assert_false(limit_take(&b, &r, HZ + 4 * MS, 5));
	assert_true(limit_take(&b, &r, HZ + 5 * MS, 5));
}

static void test_fine_rate(void **state)
{
	struct limit_bucket b = {0};
	struct limit_rate_tsc r;
	const uint64_t t0 = 3 * HZ;
	unsigned int ok = 0;

	(void)state;
	/* 3.33 cycles per unit: a whole-cycle interval would admit 10 % too many. */
	assert_int_equal(limit_rate_init(&r, 300000000, 1000, HZ), 0);
	assert_int_equal(take_many(&b, &r, t0, 2000), 1000);
	for (uint64_t i = 1; i <= 1000; i++)
		while (limit_take(&b, &r, t0 + i * 1000, 1))
			ok++;
	/* 1 ms at 3e8/s: 300000, within the 1/256-cycle rounding of the interval. */
	assert_true(ok >= 300000 && ok <= 300300);
}

static void test_rate_change_and_wrap(void **state)
{
	struct limit_bucket b = {0};
	struct limit_rate_tsc big, small;
	/* now << LIMIT_FRAC_BITS wraps past 2^64 during this test */
	const uint64_t t0 = (1ull << (64 - LIMIT_FRAC_BITS)) - 5 * MS;

	(void)state;
	assert_int_equal(limit_rate_init(&big, 1000, 100, HZ), 0);
	assert_int_equal(limit_rate_init(&small, 1000, 10, HZ), 0);
	assert_int_equal(take_many(&b, &big, t0, 200), 100);
	assert_int_equal(take_many(&b, &big, t0 + 10 * MS, 200), 10);
	/* A smaller burst now: the bucket reads as empty, not locked for 100 ms. */
	assert_false(limit_take(&b, &small, t0 + 10 * MS, 1));
	assert_int_equal(take_many(&b, &small, t0 + 12 * MS, 20), 2);
	assert_int_equal(take_many(&b, &small, t0 + 1000 * MS, 20), 10);
}

struct hammer {
	struct limit_bucket *b;
	const struct limit_rate_tsc *r;
	uint32_t *arrived;
	unsigned int admitted;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;

	/* Spin until both run, so the two really overlap. */
	__atomic_fetch_add(h->arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(h->arrived, __ATOMIC_ACQUIRE) < 2)
		;
	h->admitted = take_many(h->b, h->r, 7 * HZ, 3000000);
	return NULL;
}

static void test_contention_exact(void **state)
{
	static struct limit_bucket b;
	struct limit_rate_tsc r;
	struct hammer h[2];
	pthread_t th[2];
	uint32_t arrived = 0;

	(void)state;
	assert_int_equal(limit_rate_init(&r, 1000, 4000000, HZ), 0);
	for (int i = 0; i < 2; i++) {
		h[i] = (struct hammer){.b = &b, .r = &r, .arrived = &arrived};
		assert_int_equal(pthread_create(&th[i], NULL, hammer_thread, &h[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	/* Both got some, and together exactly one burst. */
	assert_true(h[0].admitted > 0 && h[1].admitted > 0);
	assert_int_equal(h[0].admitted + h[1].admitted, 4000000);
}

static void key_n(struct limit_key *k, uint32_t n)
{
	limit_key4(k, 0x0a000000u + n);
}

static void test_table_sources(void **state)
{
	struct limit_table *t = limit_table_create("src", 4, SOCKET_ID_ANY);
	struct limit_rate_tsc r;
	struct limit_key a, bkey, k;
	static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	int ok;

	(void)state;
	assert_non_null(t);
	assert_int_equal(limit_rate_init(&r, 1000, 100, HZ), 0);
	key_n(&a, 1);
	key_n(&bkey, 2);
	ok = 0;
	for (int i = 0; i < 150; i++)
		ok += limit_table_take(t, &a, LIMIT_PKT, &r, HZ, 1);
	assert_int_equal(ok, 100);
	assert_int_equal(limit_table_take(t, &bkey, LIMIT_PKT, &r, HZ, 100),
			 1); /* independent bucket */
	assert_int_equal(limit_table_take(t, &bkey, LIMIT_PKT, &r, HZ, 1), 0);
	assert_int_equal(limit_table_count(t), 2);

	limit_key6(&k, a6);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, HZ, 1), 1);
	key_n(&k, 3);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, HZ, 1), 1);
	key_n(&k, 4);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, HZ, 1), -ENOSPC); /* full */
	assert_int_equal(limit_table_count(t), 4);
	assert_int_equal(limit_table_take(t, &a, LIMIT_PKT, &r, HZ + 10 * MS, 10),
			 1); /* old ones still work */

	k.family = 5;
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, HZ, 1), -EINVAL);
	assert_int_equal(limit_table_take(t, NULL, LIMIT_PKT, &r, HZ, 1), -EINVAL);
	limit_table_free(t);
}

static void test_table_expire_reclaim(void **state)
{
	struct limit_table *t = limit_table_create("exp", 3, SOCKET_ID_ANY);
	struct limit_rate_tsc r;
	struct limit_key k;

	(void)state;
	assert_non_null(t);
	assert_int_equal(limit_rate_init(&r, 1000, 100, HZ), 0);
	for (uint32_t i = 0; i < 3; i++) {
		key_n(&k, i);
		assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, HZ, 100),
				 1); /* full again at HZ + 100 ms */
	}
	/* Source 0 keeps sending. */
	key_n(&k, 0);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, 2 * HZ, 100),
			 1); /* full again at 2.1 s */

	assert_int_equal(limit_table_expire(t, HZ + 50 * MS, HZ), 0);	   /* nobody full yet */
	assert_int_equal(limit_table_expire(t, 2 * HZ, HZ), 0);		   /* full only 0.9 s */
	assert_int_equal(limit_table_expire(t, 2 * HZ + 100 * MS, HZ), 2); /* 1 and 2 */
	assert_int_equal(limit_table_count(t), 1);

	/* Removed but not reclaimed: their slots still count against capacity. */
	key_n(&k, 7);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, 3 * HZ, 1), -ENOSPC);
	assert_int_equal(limit_table_reclaim(t), 2);
	assert_int_equal(limit_table_reclaim(t), 0);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, 3 * HZ, 100), 1);
	/* Source 1 comes back with a fresh, full bucket. */
	key_n(&k, 1);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, 3 * HZ, 100), 1);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, 3 * HZ, 1), 0);
	assert_int_equal(limit_table_count(t), 3);
	key_n(&k, 8);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, 3 * HZ, 1), -ENOSPC);
	limit_table_free(t);
}

struct inserter {
	struct limit_table *t;
	const struct limit_rate_tsc *r;
	int errors;
};

static void *insert_thread(void *arg)
{
	struct inserter *in = arg;
	struct limit_key k;

	if (rte_thread_register() != 0) {
		in->errors = -1;
		return NULL;
	}
	for (int round = 0; round < 50; round++) {
		for (uint32_t i = 0; i < 64; i++) {
			key_n(&k, 1000 + i);
			if (limit_table_take(in->t, &k, LIMIT_PKT, in->r, HZ, 1) < 0)
				in->errors++;
		}
	}
	rte_thread_unregister();
	return NULL;
}

static void test_table_concurrent_insert(void **state)
{
	struct limit_table *t = limit_table_create("conc", 128, SOCKET_ID_ANY);
	struct limit_rate_tsc r;
	struct inserter in[2];
	pthread_t th[2];
	struct limit_key k;

	(void)state;
	assert_non_null(t);
	assert_int_equal(limit_rate_init(&r, 1000, 1000, HZ), 0);
	for (int i = 0; i < 2; i++) {
		in[i] = (struct inserter){.t = t, .r = &r};
		assert_int_equal(pthread_create(&th[i], NULL, insert_thread, &in[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(in[i].errors, 0);
	}
	assert_int_equal(limit_table_count(t), 64);
	/* Same keys raced in from two threads left no reservation behind: 64 more fit. */
	for (uint32_t i = 0; i < 64; i++) {
		key_n(&k, 5000 + i);
		assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, HZ, 1), 1);
	}
	key_n(&k, 9999);
	assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, HZ, 1), -ENOSPC);
	limit_table_free(t);
}

/* Two simulated workers, each with its own share of one bucket, synthetic clock. */
static void test_shares_two_workers(void **state)
{
	struct limit_bucket b = {0};
	struct limit_share sh[2] = {{0}, {0}};
	struct limit_rate_tsc r;
	unsigned int ok = 0, writes = 0, refused = 0;
	uint64_t last = 0;

	(void)state;
	assert_int_equal(limit_rate_init(&r, 1000, 800, HZ), 0);
	assert_int_equal(r.batch, 1);
	assert_int_equal(limit_rate_shares(&r, 2), 32); /* 800 / 16 = 50, at most 32 */
	/* A full bucket, both workers take until both are refused: exactly the burst,
	 * with one shared write per batch instead of one per packet. */
	for (unsigned int i = 0; refused < 2; i++) {
		bool got = limit_take_share(&b, &sh[i & 1], &r, HZ);

		ok += got;
		refused = got ? 0 : refused + 1;
		if (b.tat != last)
			writes++;
		last = b.tat;
	}
	assert_int_equal(ok, 800);
	assert_true(writes <= 800 / 32 + 2 * 32);
	assert_int_equal(sh[0].tokens + sh[1].tokens, 0);

	/* Units held across a refill: worker 0 takes a batch, spends one; the bucket
	 * refills completely; then both take all they can: burst + 31, within the
	 * documented bound burst + n_workers * (batch - 1). */
	assert_true(limit_take_share(&b, &sh[0], &r, 3 * HZ));
	assert_int_equal(sh[0].tokens, 31);
	ok = 0;
	refused = 0;
	for (unsigned int i = 0; refused < 2; i++) {
		bool got = limit_take_share(&b, &sh[i & 1], &r, 4 * HZ);

		ok += got;
		refused = got ? 0 : refused + 1;
	}
	assert_int_equal(ok, 800 + 31);
	assert_true(ok <= 800 + 2 * (32 - 1));

	/* Long run: 10 s of 1 ms steps, each worker asking 5 units per ms (10x the
	 * rate): never more than the rate over the period plus the burst and the
	 * held units, and not less than the rate minus what the shares may hold. */
	ok = 0;
	for (uint64_t t = 10 * HZ; t < 20 * HZ; t += MS)
		for (unsigned int i = 0; i < 10; i++)
			ok += limit_take_share(&b, &sh[i & 1], &r, t);
	assert_true(ok <= 10000 + 800 + 2 * 31);
	assert_true(ok >= 10000 - 2 * 32);
}

/* A small burst keeps the exact GCRA: batch 1, every packet one CAS. */
static void test_shares_small_burst(void **state)
{
	struct limit_bucket b = {0};
	struct limit_share sh = {0};
	struct limit_rate_tsc r;
	unsigned int ok = 0;

	(void)state;
	assert_int_equal(limit_rate_init(&r, 1000, 10, HZ), 0);
	assert_int_equal(limit_rate_shares(&r, 2), 1);
	for (int i = 0; i < 20; i++)
		ok += limit_take_share(&b, &sh, &r, HZ);
	assert_int_equal(ok, 10);
	assert_int_equal(sh.tokens, 0);
}

static const struct limit_src_share *cached(const struct limit_src_cache *c,
					    const struct limit_key *k)
{
	for (unsigned int i = 0; i < LIMIT_CACHE_SLOTS; i++)
		if (memcmp(&c->e[i].key, k, sizeof(*k)) == 0)
			return &c->e[i];
	return NULL;
}

/* Per-source shares of two simulated workers: the burst holds across them, and
 * a source pushed out of a worker's cache gives its units back. */
static void test_src_shares(void **state)
{
	struct limit_table *t = limit_table_create("srcsh", 4096, SOCKET_ID_ANY);
	static struct limit_src_cache c[2];
	struct limit_rate_tsc r;
	struct limit_key a, k;
	const struct limit_src_share *e;
	unsigned int ok = 0, refused = 0, spent, left = 0;
	uint32_t n;

	(void)state;
	assert_non_null(t);
	memset(c, 0, sizeof(c));
	assert_int_equal(limit_rate_init(&r, 1000, 800, HZ), 0);
	assert_int_equal(limit_rate_shares(&r, 2), 32);
	key_n(&a, 1);
	for (unsigned int i = 0; refused < 2; i++) {
		int got = limit_table_take_share(t, &c[i & 1], &a, &r, HZ);

		assert_true(got == 0 || got == 1);
		ok += (unsigned int)got;
		refused = got ? 0 : refused + 1;
	}
	assert_int_equal(ok, 800);
	assert_int_equal(limit_table_count(t), 1);

	/* Refilled; worker 0 still has the source in its cache (with no units):
	 * the first packet takes a batch of 32, the second spends from it. */
	assert_int_equal(limit_table_take_share(t, &c[0], &a, &r, 3 * HZ), 1);
	assert_int_equal(limit_table_take_share(t, &c[0], &a, &r, 3 * HZ), 1);
	e = cached(&c[0], &a);
	assert_non_null(e);
	assert_int_equal(e->tokens, 30);
	spent = 2;
	/* Other sources until one takes the source's cache slot over. */
	for (n = 100; cached(&c[0], &a) != NULL; n++) {
		assert_true(n < 100000);
		key_n(&k, n);
		assert_int_equal(limit_table_take_share(t, &c[0], &k, &r, 3 * HZ), 1);
	}
	/* Its 30 units went back: the table has all but the 2 spent. */
	while (limit_table_take(t, &a, LIMIT_PKT, &r, 3 * HZ, 1) == 1)
		left++;
	assert_int_equal(left + spent, 800);
	limit_table_free(t);
}

/* Expiry of a source a worker's cache still holds units for: the cache holds a
 * copy of the key, never a slot, so the worker spends those units (taken from
 * the bucket before it was removed) without touching the table, the source
 * comes back with a full bucket, and a cache slot taken over from a removed
 * source gives its units back to nothing. */
static void test_src_share_expired(void **state)
{
	struct limit_table *t = limit_table_create("srcexp", 2, SOCKET_ID_ANY);
	static struct limit_src_cache c;
	struct limit_rate_tsc r;
	struct limit_key a, b, d;
	const struct limit_src_share *e;
	unsigned int ok = 0;
	uint64_t now = HZ;

	(void)state;
	assert_non_null(t);
	memset(&c, 0, sizeof(c));
	assert_int_equal(limit_rate_init(&r, 1000, 256, HZ), 0);
	assert_int_equal(limit_rate_shares(&r, 1), 32);
	key_n(&a, 1);
	key_n(&b, 2);
	/* one unit at first sight, then a batch of 32: 33 taken, 31 held */
	assert_int_equal(limit_table_take_share(t, &c, &a, &r, now), 1);
	assert_int_equal(limit_table_take_share(t, &c, &a, &r, now), 1);
	e = cached(&c, &a);
	assert_non_null(e);
	assert_int_equal(e->tokens, 31);
	/* the bucket is full again at +33 ms and idle a second after that */
	assert_int_equal(limit_table_expire(t, now + 1000 * MS, HZ), 0);
	now += 1040 * MS;
	assert_int_equal(limit_table_expire(t, now, HZ), 1);
	assert_int_equal(limit_table_reclaim(t), 1);
	assert_int_equal(limit_table_count(t), 0);
	/* the freed slot goes to another source; the worker spends its 31 units of
	 * a from its cache, a not in the table */
	assert_int_equal(limit_table_take(t, &b, LIMIT_PKT, &r, now, 256), 1);
	for (int i = 0; i < 31; i++)
		assert_int_equal(limit_table_take_share(t, &c, &a, &r, now), 1);
	assert_int_equal(limit_table_count(t), 1);
	/* then a is back in the table with full buckets: its burst, no more */
	while (limit_table_take_share(t, &c, &a, &r, now) == 1)
		ok++;
	assert_int_equal(ok, 256);
	assert_int_equal(limit_table_count(t), 2);

	/* Refilled: the worker takes a batch for a again (31 held), both sources go
	 * idle and are removed, then a source with a's cache slot takes it over. */
	now += 10 * HZ;
	assert_int_equal(limit_table_take_share(t, &c, &a, &r, now), 1);
	assert_int_equal(cached(&c, &a)->tokens, 31);
	now += 2 * HZ;
	assert_int_equal(limit_table_expire(t, now, HZ), 2);
	assert_int_equal(limit_table_reclaim(t), 2);
	for (uint32_t n = 3;; n++) {
		assert_true(n < 100000);
		key_n(&d, n);
		if (limit_cache_slot(&d) == limit_cache_slot(&a))
			break;
	}
	assert_int_equal(limit_table_take_share(t, &c, &d, &r, now), 1);
	assert_null(cached(&c, &a)); /* a's 31 units had no bucket to go back to */
	assert_int_equal(limit_table_count(t), 1);
	/* a, seen again, has a full bucket */
	assert_int_equal(limit_table_take(t, &a, LIMIT_PKT, &r, now, 256), 1);
	assert_int_equal(limit_table_take(t, &a, LIMIT_PKT, &r, now, 1), 0);
	limit_table_free(t);
}

/* Two threads (not EAL lcores, not registered: the insert needs neither) race
 * to insert the same new sources; each ends up once. */
struct racer {
	struct limit_table *t;
	const struct limit_rate_tsc *r;
	uint32_t base;
	int errors;
};

static void *race_thread(void *arg)
{
	struct racer *in = arg;
	struct limit_key k;

	for (uint32_t i = 0; i < 2000; i++) {
		key_n(&k, in->base + i);
		if (limit_table_take(in->t, &k, LIMIT_CONN, in->r, HZ, 1) != 1)
			in->errors++;
	}
	return NULL;
}

static void test_table_race_same_keys(void **state)
{
	struct limit_table *t = limit_table_create("race", 8192, SOCKET_ID_ANY);
	struct limit_rate_tsc r;
	struct racer in[2];
	pthread_t th[2];
	struct limit_key k;

	(void)state;
	assert_non_null(t);
	assert_int_equal(limit_rate_init(&r, 1000, 1000, HZ), 0);
	for (uint32_t round = 0; round < 3; round++) {
		for (int i = 0; i < 2; i++) {
			in[i] = (struct racer){.t = t, .r = &r, .base = 100000 * (round + 1)};
			assert_int_equal(pthread_create(&th[i], NULL, race_thread, &in[i]), 0);
		}
		for (int i = 0; i < 2; i++) {
			pthread_join(th[i], NULL);
			assert_int_equal(in[i].errors, 0);
		}
		assert_int_equal(limit_table_count(t), 2000 * (round + 1));
	}
	/* each source's connection bucket was charged exactly twice */
	for (uint32_t i = 0; i < 2000; i++) {
		key_n(&k, 100000 + i);
		assert_int_equal(limit_table_take(t, &k, LIMIT_CONN, &r, HZ, 998), 1);
		assert_int_equal(limit_table_take(t, &k, LIMIT_CONN, &r, HZ, 1), 0);
		/* the packet bucket of the same source is its own */
		assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, HZ, 1000), 1);
	}
	limit_table_free(t);
}

/* Churn: sources come and go many times over; expire and reclaim keep the
 * table usable at its capacity (reclaimed slots are reused, chains stay short). */
static void test_table_churn(void **state)
{
	struct limit_table *t = limit_table_create("churn", 256, SOCKET_ID_ANY);
	struct limit_rate_tsc r;
	struct limit_key k;

	(void)state;
	assert_non_null(t);
	assert_int_equal(limit_rate_init(&r, 1000, 10, HZ), 0);
	for (uint32_t round = 0; round < 50; round++) {
		uint64_t now = (round + 1) * 10 * HZ;

		for (uint32_t i = 0; i < 256; i++) {
			key_n(&k, round * 1000 + i);
			assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, now, 1), 1);
		}
		key_n(&k, round * 1000 + 999);
		assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, now, 1), -ENOSPC);
		assert_int_equal(limit_table_count(t), 256);
		/* still found: a repeat is a refusal after the burst, not a new bucket */
		key_n(&k, round * 1000 + 7);
		assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, now, 9), 1);
		assert_int_equal(limit_table_take(t, &k, LIMIT_PKT, &r, now, 1), 0);
		assert_int_equal(limit_table_expire(t, now + 5 * HZ, HZ), 256);
		assert_int_equal(limit_table_reclaim(t), 256);
		assert_int_equal(limit_table_count(t), 0);
	}
	limit_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_init),
		cmocka_unit_test(test_bucket_basic),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_fine_rate),
		cmocka_unit_test(test_rate_change_and_wrap),
		cmocka_unit_test(test_contention_exact),
		cmocka_unit_test(test_table_sources),
		cmocka_unit_test(test_table_expire_reclaim),
		cmocka_unit_test(test_table_concurrent_insert),
		cmocka_unit_test(test_shares_two_workers),
		cmocka_unit_test(test_shares_small_burst),
		cmocka_unit_test(test_src_shares),
		cmocka_unit_test(test_src_share_expired),
		cmocka_unit_test(test_table_race_same_keys),
		cmocka_unit_test(test_table_churn),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
