/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the lock-free record table under neigh and limit: add/lookup,
 * exact capacity, a deleted key's position held until reclaim, walk/count, and
 * two writers adding the same keys at once.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include "dataplane/lftable/lftable.h"
#include "test_eal.h"

struct rec {
	uint64_t tag;
	uint64_t pad[7];
} __attribute__((aligned(64)));

struct key {
	uint32_t id;
	uint32_t zero;
};

static struct key key_n(uint32_t id)
{
	return (struct key){.id = id};
}

static struct lft_table *table(const char *name, uint32_t capacity, bool multi_writer)
{
	return lft_create("tl", name, sizeof(struct key), sizeof(struct rec), capacity,
			  multi_writer, SOCKET_ID_ANY);
}

static void test_create_params(void **state)
{
	struct lft_table *a, *b;

	(void)state;
	assert_null(table("cap0", 0, false));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(table("capbig", (1u << 24) + 1, false));
	assert_null(table(NULL, 8, false));
	assert_null(lft_create(NULL, "pfx", sizeof(struct key), sizeof(struct rec), 8, false,
			       SOCKET_ID_ANY));
	assert_null(lft_create("tl", "klen0", 0, sizeof(struct rec), 8, false, SOCKET_ID_ANY));
	assert_null(lft_create("tl", "klenbig", LFT_KEY_MAX + 1, sizeof(struct rec), 8, false,
			       SOCKET_ID_ANY));
	/* Records that would share a cache line are refused. */
	assert_null(lft_create("tl", "rec40", sizeof(struct key), 40, 8, false, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);

	/* The same owner name twice: the sequence number keeps the hash names apart. */
	a = table("same", 8, false);
	b = table("same", 8, false);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_not_equal(lft_seq(a), lft_seq(b));
	lft_free(a);
	lft_free(b);
	lft_free(NULL);
}

static void test_add_lookup(void **state)
{
	struct lft_table *t = table("add", 8, false);
	struct key k1 = key_n(1), k2 = key_n(2);
	void *r1, *r2, *again;

	(void)state;
	assert_non_null(t);
	assert_null(lft_lookup(t, &k1));
	assert_int_equal(lft_add(t, &k1, &r1), 1);
	assert_non_null(r1);
	assert_int_equal((uintptr_t)r1 % RTE_CACHE_LINE_SIZE, 0);
	assert_int_equal(((struct rec *)r1)->tag, 0); /* a new record is zeroed */
	((struct rec *)r1)->tag = 11;
	assert_ptr_equal(lft_lookup(t, &k1), r1);

	/* Adding a key that is there finds its record and changes nothing. */
	assert_int_equal(lft_add(t, &k1, &again), 0);
	assert_ptr_equal(again, r1);
	assert_int_equal(((struct rec *)again)->tag, 11);
	assert_int_equal(lft_count(t), 1);

	assert_int_equal(lft_add(t, &k2, &r2), 1);
	assert_ptr_not_equal(r2, r1);
	assert_ptr_equal(lft_lookup(t, &k2), r2);
	assert_int_equal(lft_count(t), 2);
	lft_free(t);
}

static void test_capacity(void **state)
{
	const uint32_t cap = 5;
	struct lft_table *t = table("cap", cap, false);
	struct key k;
	void *rec;

	(void)state;
	assert_non_null(t);
	for (uint32_t i = 0; i < cap; i++) {
		k = key_n(100 + i);
		assert_int_equal(lft_add(t, &k, &rec), 1);
	}
	k = key_n(999);
	assert_int_equal(lft_add(t, &k, &rec), -ENOSPC);
	assert_null(lft_lookup(t, &k));
	assert_int_equal(lft_count(t), cap);
	/* A full table still finds the keys it has. */
	k = key_n(100);
	assert_int_equal(lft_add(t, &k, &rec), 0);
	assert_ptr_equal(lft_lookup(t, &k), rec);
	lft_free(t);
}

static void test_del_reclaim(void **state)
{
	struct lft_table *t = table("del", 2, false);
	struct key k1 = key_n(1), k2 = key_n(2), k3 = key_n(3);
	struct rec *r1;
	void *rec;

	(void)state;
	assert_non_null(t);
	assert_int_equal(lft_add(t, &k1, &rec), 1);
	r1 = rec;
	r1->tag = 0xabcd;
	assert_int_equal(lft_add(t, &k2, &rec), 1);

	assert_int_equal(lft_del(t, r1), 0);
	assert_null(lft_lookup(t, &k1));
	assert_int_equal(lft_count(t), 1);
	assert_int_equal(lft_del(t, r1), -ENOENT); /* already gone */
	/* A reader that held the record still reads what was there. */
	assert_int_equal(r1->tag, 0xabcd);
	/* The position is held until reclaim: the table is still full. */
	assert_int_equal(lft_add(t, &k3, &rec), -ENOSPC);
	assert_int_equal(lft_add(t, &k1, &rec), -ENOSPC);

	assert_int_equal(lft_reclaim(t), 1);
	assert_int_equal(r1->tag, 0); /* zeroed for the next owner */
	assert_int_equal(lft_reclaim(t), 0);
	assert_int_equal(lft_add(t, &k3, &rec), 1);
	assert_int_equal(((struct rec *)rec)->tag, 0);
	assert_int_equal(lft_count(t), 2);
	assert_int_equal(lft_add(t, &k1, &rec), -ENOSPC);

	/* Pointers that are not records of this table are refused. */
	assert_int_equal(lft_del(t, (char *)rec + 8), -EINVAL);
	assert_int_equal(lft_del(t, &k1), -EINVAL);
	lft_free(t);
}

struct walk_arg {
	struct lft_table *t;
	unsigned int seen;
	uint64_t tags; /* bit per tag seen */
	uint64_t del_mask;
};

static void walk_cb(void *rec, void *arg)
{
	struct walk_arg *w = arg;
	struct rec *r = rec;

	w->seen++;
	w->tags |= 1ull << r->tag;
	if (w->del_mask & (1ull << r->tag))
		assert_int_equal(lft_del(w->t, r), 0);
}

static void test_walk_count(void **state)
{
	struct lft_table *t = table("walk", 16, false);
	struct walk_arg w = {.t = t};
	struct key k;
	void *rec;

	(void)state;
	assert_non_null(t);
	lft_walk(t, walk_cb, &w);
	assert_int_equal(w.seen, 0);
	for (uint32_t i = 1; i <= 10; i++) {
		k = key_n(i);
		assert_int_equal(lft_add(t, &k, &rec), 1);
		((struct rec *)rec)->tag = i;
	}
	assert_int_equal(lft_count(t), 10);

	/* Deleting the record in hand from inside the walk: the odd ones go. */
	w = (struct walk_arg){.t = t, .del_mask = 0x2aa};
	lft_walk(t, walk_cb, &w);
	assert_int_equal(w.seen, 10);
	assert_int_equal(w.tags, 0x7fe);
	assert_int_equal(lft_count(t), 5);

	w = (struct walk_arg){.t = t};
	lft_walk(t, walk_cb, &w);
	assert_int_equal(w.seen, 5);
	assert_int_equal(w.tags, 0x7fe & ~0x2aaull);
	for (uint32_t i = 1; i <= 10; i++) {
		k = key_n(i);
		if (i & 1)
			assert_null(lft_lookup(t, &k));
		else
			assert_non_null(lft_lookup(t, &k));
	}
	assert_int_equal(lft_reclaim(t), 5);
	assert_int_equal(lft_count(t), 5);
	lft_free(t);
}

struct adder {
	struct lft_table *t;
	unsigned int added; /* lft_add() said "new" */
	int errors;
};

static void *add_thread(void *arg)
{
	struct adder *a = arg;
	struct key k;
	void *rec;

	if (rte_thread_register() != 0) {
		a->errors = -1;
		return NULL;
	}
	for (int round = 0; round < 50; round++) {
		for (uint32_t i = 0; i < 64; i++) {
			int ret;

			k = key_n(1000 + i);
			ret = lft_add(a->t, &k, &rec);
			if (ret < 0 || rec != lft_lookup(a->t, &k))
				a->errors++;
			else if (ret == 1)
				a->added++;
		}
	}
	rte_thread_unregister();
	return NULL;
}

static void test_multi_writer(void **state)
{
	struct lft_table *t = table("mw", 128, true);
	struct adder a[2];
	pthread_t th[2];
	struct key k;
	void *rec;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct adder){.t = t};
		assert_int_equal(pthread_create(&th[i], NULL, add_thread, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].errors, 0);
	}
	/* Each key was new to exactly one of the two writers. */
	assert_int_equal(a[0].added + a[1].added, 64);
	assert_int_equal(lft_count(t), 64);
	/* No reservation was left behind by the lost races: 64 more fit, exactly. */
	for (uint32_t i = 0; i < 64; i++) {
		k = key_n(5000 + i);
		assert_int_equal(lft_add(t, &k, &rec), 1);
	}
	k = key_n(9999);
	assert_int_equal(lft_add(t, &k, &rec), -ENOSPC);
	lft_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_params), cmocka_unit_test(test_add_lookup),
		cmocka_unit_test(test_capacity),      cmocka_unit_test(test_del_reclaim),
		cmocka_unit_test(test_walk_count),    cmocka_unit_test(test_multi_writer),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
