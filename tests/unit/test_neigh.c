/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the neighbour cache: table, aging, reclaim, mailbox, concurrent readers. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_ring.h>

#include "dataplane/neigh/neigh.h"
#include "test_eal.h"

static const struct rte_ether_addr mac_a = {{0x02, 0, 0, 0, 0, 0xaa}};
static const struct rte_ether_addr mac_b = {{0x02, 0, 0, 0, 0, 0xbb}};

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return rte_cpu_to_be_32((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

static void test_create_lookup_update(void **state)
{
	struct neigh_table *t = neigh_create("basic", 64, SOCKET_ID_ANY);
	struct neigh_table *t2 = neigh_create("basic2", 64, SOCKET_ID_ANY);
	const struct neigh_entry *e;
	struct rte_ether_addr mac;
	struct neigh_key k, other_port;
	static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	(void)state;
	assert_non_null(t);
	assert_non_null(t2);
	neigh_key4(&k, 0, 0, ip4(10, 0, 0, 1));
	neigh_key4(&other_port, 1, 0, ip4(10, 0, 0, 1));
	assert_null(neigh_lookup(t, &k));
	assert_int_equal(neigh_update(t, &k, &mac_a, 100), 0);
	e = neigh_lookup(t, &k);
	assert_non_null(e);
	neigh_entry_mac(e, &mac);
	assert_memory_equal(&mac, &mac_a, sizeof(mac));
	assert_int_equal(e->state, NEIGH_REACHABLE);
	assert_int_equal(e->confirmed_tsc, 100);
	assert_null(neigh_lookup(t, &other_port));
	assert_null(neigh_lookup(t2, &k));

	assert_int_equal(neigh_update(t, &k, &mac_b, 200), 0);
	assert_ptr_equal(neigh_lookup(t, &k), e);
	neigh_entry_mac(e, &mac);
	assert_memory_equal(&mac, &mac_b, sizeof(mac));
	assert_int_equal(neigh_count(t), 1);

	neigh_key6(&k, 0, 7, a6);
	assert_int_equal(neigh_update(t, &k, &mac_a, 300), 0);
	assert_non_null(neigh_lookup(t, &k));
	assert_int_equal(neigh_count(t), 2);

	k.family = 5;
	assert_int_equal(neigh_update(t, &k, &mac_a, 300), -EINVAL);
	neigh_free(t);
	neigh_free(t2);
}

static void test_events(void **state)
{
	struct neigh_table *t = neigh_create("events", 64, SOCKET_ID_ANY);
	struct neigh_key k1, k2;
	struct rte_ether_addr mac;
	unsigned int posted = 0;

	(void)state;
	assert_non_null(t);
	neigh_key4(&k1, 0, 0, ip4(10, 0, 0, 1));
	neigh_key4(&k2, 0, 0, ip4(10, 0, 0, 2));

	/* UPDATE does not create */
	assert_int_equal(neigh_post(t, &k1, &mac_a, NEIGH_EV_UPDATE), 0);
	assert_int_equal(neigh_drain(t, 10), 0);
	assert_null(neigh_lookup(t, &k1));

	/* CONFIRM creates, then UPDATE refreshes */
	assert_int_equal(neigh_post(t, &k1, &mac_a, NEIGH_EV_CONFIRM), 0);
	assert_int_equal(neigh_post(t, &k1, &mac_b, NEIGH_EV_UPDATE), 0);
	assert_int_equal(neigh_post(t, &k2, &mac_b, NEIGH_EV_CONFIRM), 0);
	assert_int_equal(neigh_drain(t, 20), 3);
	neigh_entry_mac(neigh_lookup(t, &k1), &mac);
	assert_memory_equal(&mac, &mac_b, sizeof(mac));
	assert_int_equal(neigh_lookup(t, &k1)->confirmed_tsc, 20);
	assert_non_null(neigh_lookup(t, &k2));

	/* a full mailbox refuses with -ENOBUFS */
	while (neigh_post(t, &k1, &mac_a, NEIGH_EV_CONFIRM) == 0)
		posted++;
	assert_int_equal(posted, rte_ring_get_capacity(neigh_mailbox(t)));
	assert_int_equal(neigh_post(t, &k1, &mac_a, NEIGH_EV_CONFIRM), -ENOBUFS);
	assert_int_equal(neigh_drain(t, 30), posted);
	assert_int_equal(neigh_post(t, &k1, &mac_a, NEIGH_EV_CONFIRM), 0);
	neigh_free(t);
}

static void test_aging(void **state)
{
	struct neigh_table *t = neigh_create("aging", 16, SOCKET_ID_ANY);
	struct neigh_key k;
	const struct neigh_entry *e;

	(void)state;
	neigh_key4(&k, 0, 0, ip4(10, 0, 0, 9));
	assert_int_equal(neigh_update(t, &k, &mac_a, 1000), 0);
	e = neigh_lookup(t, &k);
	/* reachable 100, stale 50 */
	assert_int_equal(neigh_age(t, 1099, 100, 50), 0);
	assert_int_equal(e->state, NEIGH_REACHABLE);
	assert_int_equal(neigh_age(t, 1100, 100, 50), 0);
	assert_int_equal(e->state, NEIGH_STALE);
	assert_non_null(neigh_lookup(t, &k));
	/* a confirmation makes it reachable again */
	assert_int_equal(neigh_update(t, &k, &mac_a, 1120), 0);
	assert_int_equal(e->state, NEIGH_REACHABLE);
	assert_int_equal(neigh_age(t, 1230, 100, 50), 0);
	assert_int_equal(e->state, NEIGH_STALE);
	assert_int_equal(neigh_age(t, 1269, 100, 50), 0);
	assert_int_equal(neigh_age(t, 1270, 100, 50), 1);
	assert_null(neigh_lookup(t, &k));
	assert_int_equal(neigh_count(t), 0);
	neigh_reclaim(t);
	neigh_free(t);
}

/*
 * The worker cache answers what neigh_lookup() answers: MAC changes show at
 * once, removed entries (ageing, flush) are gone at once, other keys on the
 * same cache slot are not mixed up, and a re-added entry is found again.
 */
static void test_cache(void **state)
{
	struct neigh_table *t = neigh_create("cache", 64, SOCKET_ID_ANY);
	static struct neigh_cache c; /* zeroed */
	struct rte_ether_addr mac;
	struct neigh_key k;
	const struct neigh_entry *e;

	(void)state;
	assert_null(neigh_lookup4_cached(t, &c, 0, 0, ip4(10, 0, 0, 9)));
	neigh_key4(&k, 0, 0, ip4(10, 0, 0, 9));
	assert_int_equal(neigh_update(t, &k, &mac_a, 1000), 0);
	e = neigh_lookup4_cached(t, &c, 0, 0, ip4(10, 0, 0, 9));
	assert_ptr_equal(e, neigh_lookup(t, &k));
	assert_ptr_equal(neigh_lookup4_cached(t, &c, 0, 0, ip4(10, 0, 0, 9)), e);
	/* other port, other VLAN, other address: other entries (none) */
	assert_null(neigh_lookup4_cached(t, &c, 1, 0, ip4(10, 0, 0, 9)));
	assert_null(neigh_lookup4_cached(t, &c, 0, 7, ip4(10, 0, 0, 9)));
	assert_null(neigh_lookup4_cached(t, &c, 0, 0, ip4(10, 0, 0, 10)));
	/* a new MAC through the cached entry */
	assert_int_equal(neigh_update(t, &k, &mac_b, 1010), 0);
	neigh_entry_mac(neigh_lookup4_cached(t, &c, 0, 0, ip4(10, 0, 0, 9)), &mac);
	assert_memory_equal(&mac, &mac_b, sizeof(mac));
	/* aged out: gone from the cache too */
	assert_int_equal(neigh_age(t, 1109, 100, 50), 0);
	assert_non_null(neigh_lookup4_cached(t, &c, 0, 0, ip4(10, 0, 0, 9))); /* stale, in use */
	assert_int_equal(neigh_age(t, 10000, 100, 50), 1);
	assert_null(neigh_lookup4_cached(t, &c, 0, 0, ip4(10, 0, 0, 9)));
	neigh_reclaim(t);
	/* back, with another MAC */
	assert_int_equal(neigh_update(t, &k, &mac_a, 20000), 0);
	e = neigh_lookup4_cached(t, &c, 0, 0, ip4(10, 0, 0, 9));
	assert_non_null(e);
	neigh_entry_mac(e, &mac);
	assert_memory_equal(&mac, &mac_a, sizeof(mac));
	/* flushed */
	assert_int_equal(neigh_flush(t), 1);
	assert_null(neigh_lookup4_cached(t, &c, 0, 0, ip4(10, 0, 0, 9)));
	neigh_reclaim(t);

	/* one cache asked about two tables of the same generation: each answers
	 * from its own entries, never with the other's cached pointer */
	{
		struct neigh_table *ta = neigh_create("cache_a", 64, SOCKET_ID_ANY);
		struct neigh_table *tb = neigh_create("cache_b", 64, SOCKET_ID_ANY);
		static struct neigh_cache c2; /* zeroed */
		const struct neigh_entry *ea, *eb;

		assert_non_null(ta);
		assert_non_null(tb);
		assert_int_equal(neigh_update(ta, &k, &mac_a, 1000), 0);
		assert_int_equal(neigh_update(tb, &k, &mac_b, 1000), 0);
		ea = neigh_lookup4_cached(ta, &c2, 0, 0, ip4(10, 0, 0, 9));
		eb = neigh_lookup4_cached(tb, &c2, 0, 0, ip4(10, 0, 0, 9));
		assert_ptr_equal(ea, neigh_lookup(ta, &k));
		assert_ptr_equal(eb, neigh_lookup(tb, &k));
		assert_ptr_not_equal(ea, eb);
		assert_ptr_equal(neigh_lookup4_cached(ta, &c2, 0, 0, ip4(10, 0, 0, 9)), ea);
		neigh_free(ta);
		neigh_free(tb);
	}
	neigh_free(t);
}

static void test_reclaim(void **state)
{
	const uint32_t cap = 32;
	struct neigh_table *t = neigh_create("reclaim", cap, SOCKET_ID_ANY);
	struct neigh_key k;

	(void)state;
	for (uint32_t i = 0; i < cap; i++) {
		neigh_key4(&k, 0, 0, ip4(10, 0, 1, (uint8_t)i));
		assert_int_equal(neigh_update(t, &k, &mac_a, 0), 0);
	}
	neigh_key4(&k, 0, 0, ip4(10, 0, 2, 1));
	assert_int_equal(neigh_update(t, &k, &mac_a, 0), -ENOSPC);
	assert_int_equal(neigh_count(t), cap);

	/* all age out; until reclaimed the slots stay taken */
	assert_int_equal(neigh_age(t, 1000, 10, 10), cap);
	assert_int_equal(neigh_count(t), 0);
	assert_int_equal(neigh_update(t, &k, &mac_a, 1000), -ENOSPC);
	neigh_reclaim(t);
	for (uint32_t i = 0; i < cap; i++) {
		neigh_key4(&k, 0, 0, ip4(10, 0, 2, (uint8_t)i));
		assert_int_equal(neigh_update(t, &k, &mac_b, 1000), 0);
		assert_non_null(neigh_lookup(t, &k));
	}
	assert_int_equal(neigh_count(t), cap);

	assert_int_equal(neigh_flush(t), cap);
	assert_int_equal(neigh_count(t), 0);
	neigh_reclaim(t);
	assert_int_equal(neigh_update(t, &k, &mac_b, 1000), 0);
	neigh_free(t);
}

static void count_cb(const struct neigh_entry *e, void *arg)
{
	(void)e;
	(*(unsigned int *)arg)++;
}

static void test_walk_and_probe(void **state)
{
	struct neigh_table *t = neigh_create("probe", 16, SOCKET_ID_ANY);
	const struct neigh_entry *e;
	struct neigh_key k;
	unsigned int n = 0;

	(void)state;
	neigh_key4(&k, 2, 5, ip4(192, 168, 0, 1));
	neigh_update(t, &k, &mac_a, 0);
	neigh_key4(&k, 2, 5, ip4(192, 168, 0, 2));
	neigh_update(t, &k, &mac_a, 0);
	neigh_walk(t, count_cb, &n);
	assert_int_equal(n, 2);

	e = neigh_lookup(t, &k);
	assert_true(neigh_should_probe(e, 1000, 100));
	assert_false(neigh_should_probe(e, 1000, 100));
	assert_false(neigh_should_probe(e, 1099, 100));
	assert_true(neigh_should_probe(e, 1100, 100));
	assert_false(neigh_should_probe(e, 1150, 100));
	neigh_free(t);
}

struct reader_arg {
	const struct neigh_table *t;
	struct neigh_key key;
	volatile int *stop;
	unsigned long seen;
	unsigned long bad;
};

static void *reader_main(void *p)
{
	struct reader_arg *a = p;

	while (!*a->stop) {
		const struct neigh_entry *e = neigh_lookup(a->t, &a->key);
		struct rte_ether_addr mac;

		if (e == NULL) {
			a->bad++;
			continue;
		}
		neigh_entry_mac(e, &mac);
		if (!rte_is_same_ether_addr(&mac, &mac_a) && !rte_is_same_ether_addr(&mac, &mac_b))
			a->bad++;
		__atomic_store_n(&a->seen, a->seen + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	struct neigh_table *t = neigh_create("conc", 256, SOCKET_ID_ANY);
	struct reader_arg args[3];
	pthread_t th[3];
	volatile int stop = 0;
	struct neigh_key k, other;

	(void)state;
	neigh_key6(&k, 0, 0, (const uint8_t[16]){0xfe, 0x80, [15] = 7});
	assert_int_equal(neigh_update(t, &k, &mac_a, 0), 0);
	for (int i = 0; i < 3; i++) {
		args[i] = (struct reader_arg){.t = t, .key = k, .stop = &stop};
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
	}
	/* Readers must be running before the writer starts, and keep reading while it
	 * writes: on a loaded 2-core machine a thread may otherwise start late. */
	for (int i = 0; i < 3; i++)
		while (__atomic_load_n(&args[i].seen, __ATOMIC_RELAXED) == 0)
			sched_yield();
	/* the writer alternates the MAC and adds other keys next to it */
	for (uint32_t i = 0; i < 200000; i++) {
		neigh_update(t, &k, (i & 1) ? &mac_b : &mac_a, i);
		if ((i & 1023) == 0) {
			neigh_key4(&other, 0, 0, i);
			neigh_update(t, &other, &mac_a, i);
		}
	}
	stop = 1;
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_true(args[i].seen > 0);
		assert_int_equal(args[i].bad, 0);
	}
	neigh_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_lookup_update),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_reclaim),
		cmocka_unit_test(test_walk_and_probe),
		cmocka_unit_test(test_concurrent_readers),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
