/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the load-balancing tables: weighted Maglev, smooth WRR, least connections. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/lb/lb.h"

#define M 65537u

static void count_slots(const struct lb_maglev *m, uint32_t *cnt, uint16_t n)
{
	memset(cnt, 0, sizeof(cnt[0]) * n);
	for (uint32_t s = 0; s < m->size; s++) {
		assert_true(m->table[s] < n);
		cnt[m->table[s]]++;
	}
}

/*
 * Backends take turns by virtual time (2k + 1) / w and each turn fills one
 * slot (lb.c), so every backend's slot count is within one of its exact share
 * size * w / W: any band wider than that would hide a lost or doubled turn.
 */
static void assert_share(uint32_t cnt, uint32_t size, uint32_t w, uint32_t w_total)
{
	double want = (double)size * w / w_total;

	if (cnt + 1.0 < want || cnt > want + 1.0)
		fail_msg("%u slots of %u for weight %u of %u, expected %.1f +- 1", cnt, size, w,
			 w_total, want);
}

static void test_prime(void **state)
{
	(void)state;
	assert_int_equal(lb_prime_at_least(0), 2);
	assert_int_equal(lb_prime_at_least(2), 2);
	assert_int_equal(lb_prime_at_least(4), 5);
	assert_int_equal(lb_prime_at_least(1000), 1009);
	assert_int_equal(lb_prime_at_least(65536), 65537);
	assert_int_equal(lb_prime_at_least(65537), 65537);
	assert_int_equal(lb_prime_at_least(LB_MAGLEV_MAX_SIZE), 0); /* next prime is beyond */
}

static void test_weighted_shares(void **state)
{
	struct lb_backend b[3] = {
		{"10.0.0.1:80", 1, true}, {"10.0.0.2:80", 2, true}, {"10.0.0.3:80", 3, true}};
	struct lb_maglev m = {0};
	uint32_t cnt[3];

	(void)state;
	assert_int_equal(lb_maglev_build(&m, M, b, 3), 0);
	assert_int_equal(m.size, M);
	count_slots(&m, cnt, 3);
	for (int i = 0; i < 3; i++)
		assert_share(cnt[i], M, b[i].weight, 6);
	lb_maglev_free(&m);
	assert_null(m.table);
}

static void make_ten(struct lb_backend *b, char keys[][32], int n)
{
	for (int i = 0; i < n; i++) {
		snprintf(keys[i], 32, "svc/10.1.%d.%d:8080", i / 3, i + 7);
		b[i] = (struct lb_backend){keys[i], 10, true};
	}
}

static void test_equal_shares(void **state)
{
	char keys[10][32];
	struct lb_backend b[10];
	struct lb_maglev m = {0};
	uint32_t cnt[10];

	(void)state;
	make_ten(b, keys, 10);
	assert_int_equal(lb_maglev_build(&m, M, b, 10), 0);
	count_slots(&m, cnt, 10);
	for (int i = 0; i < 10; i++)
		assert_share(cnt[i], M, 10, 100);
	lb_maglev_free(&m);
}

static void test_minimal_disruption(void **state)
{
	char keys[10][32];
	struct lb_backend b[10], nine[9];
	struct lb_maglev before = {0}, after = {0};
	uint32_t survivor_slots = 0, kept = 0, changed = 0;
	const int gone = 4;

	(void)state;
	make_ten(b, keys, 10);
	for (int i = 0, j = 0; i < 10; i++)
		if (i != gone)
			nine[j++] = b[i];
	assert_int_equal(lb_maglev_build(&before, M, b, 10), 0);
	assert_int_equal(lb_maglev_build(&after, M, nine, 9), 0);
	for (uint32_t s = 0; s < M; s++) {
		const char *k0 = b[before.table[s]].key;
		const char *k1 = nine[after.table[s]].key;

		assert_string_not_equal(k1, b[gone].key);
		if (strcmp(k0, k1) != 0)
			changed++;
		if (before.table[s] == gone)
			continue;
		survivor_slots++;
		if (strcmp(k0, k1) == 0)
			kept++;
	}
	/* Only about the removed backend's tenth moves, plus a little. */
	assert_true(changed <= (uint32_t)(0.12 * M));
	assert_true(changed >= (uint32_t)(0.08 * M));
	assert_true((double)kept >= 0.97 * survivor_slots);
	lb_maglev_free(&before);
	lb_maglev_free(&after);
}

static void test_deterministic_and_order_free(void **state)
{
	char keys[10][32];
	struct lb_backend b[10], rev[10];
	struct lb_maglev m1 = {0}, m2 = {0}, m3 = {0};

	(void)state;
	make_ten(b, keys, 10);
	b[3].weight = 30; /* weighted, so the order of turns matters */
	for (int i = 0; i < 10; i++)
		rev[i] = b[9 - i];
	assert_int_equal(lb_maglev_build(&m1, M, b, 10), 0);
	assert_int_equal(lb_maglev_build(&m2, M, b, 10), 0);
	assert_memory_equal(m1.table, m2.table, M * sizeof(uint16_t));
	assert_int_equal(lb_maglev_build(&m3, M, rev, 10), 0);
	for (uint32_t s = 0; s < M; s++)
		assert_string_equal(b[m1.table[s]].key, rev[m3.table[s]].key);
	/* Not trivially the same index: the reversed list stores other indices. */
	assert_memory_not_equal(m1.table, m3.table, M * sizeof(uint16_t));
	lb_maglev_free(&m1);
	lb_maglev_free(&m2);
	lb_maglev_free(&m3);
}

static void test_unusable_and_none(void **state)
{
	struct lb_backend b[4] = {
		{"a:1", 1, true}, {"b:1", 1, false}, {"c:1", 0, true}, {"d:1", 1, true}};
	struct lb_maglev m = {0};
	uint32_t cnt[4];

	(void)state;
	assert_int_equal(lb_maglev_build(&m, 1009, b, 4), 0);
	count_slots(&m, cnt, 4);
	assert_int_equal(cnt[1], 0);
	assert_int_equal(cnt[2], 0);
	assert_int_equal(cnt[0] + cnt[3], 1009);
	assert_share(cnt[0], 1009, 1, 2);
	assert_share(cnt[3], 1009, 1, 2);
	lb_maglev_free(&m);

	b[0].usable = false;
	b[3].weight = 0;
	assert_int_equal(lb_maglev_build(&m, 1009, b, 4), 0);
	for (uint32_t s = 0; s < m.size; s++)
		assert_int_equal(m.table[s], LB_NONE);
	assert_int_equal(lb_maglev_lookup(&m, 12345), LB_NONE);
	lb_maglev_free(&m);

	assert_int_equal(lb_maglev_build(&m, 7, NULL, 0), 0);
	assert_int_equal(lb_maglev_lookup(&m, 0xffffffffu), LB_NONE);
	lb_maglev_free(&m);
	/* A table never built answers LB_NONE too. */
	assert_int_equal(lb_maglev_lookup(&m, 1), LB_NONE);
}

static void test_refused(void **state)
{
	struct lb_backend b[3] = {{"a:1", 1, true}, {"b:1", 1, true}, {"c:1", 1, true}};
	struct lb_backend dup[2] = {{"a:1", 1, true}, {"a:1", 2, false}};
	struct lb_backend nokey[2] = {{"a:1", 1, true}, {NULL, 1, true}};
	struct lb_maglev m = {0};

	(void)state;
	assert_int_equal(lb_maglev_build(&m, 65536, b, 3), -EINVAL);
	assert_int_equal(lb_maglev_build(&m, 1, b, 0), -EINVAL);
	assert_int_equal(lb_maglev_build(&m, 2, b, 3), -EINVAL);       /* < n */
	assert_int_equal(lb_maglev_build(&m, 1048601, b, 3), -EINVAL); /* prime, too big */
	assert_int_equal(lb_maglev_build(&m, 1009, dup, 2), -EINVAL);
	assert_int_equal(lb_maglev_build(&m, 1009, nokey, 2), -EINVAL);
	assert_int_equal(lb_maglev_build(NULL, 1009, b, 3), -EINVAL);
	assert_int_equal(lb_maglev_build(&m, 1009, NULL, 3), -EINVAL);
	assert_null(m.table);
	/* Smallest legal: size == n. */
	assert_int_equal(lb_maglev_build(&m, 3, b, 3), 0);
	{
		uint32_t cnt[3];

		count_slots(&m, cnt, 3);
		assert_int_equal(cnt[0], 1);
		assert_int_equal(cnt[1], 1);
		assert_int_equal(cnt[2], 1);
	}
	lb_maglev_free(&m);
}

static void test_lookup_spreads_flows(void **state)
{
	struct lb_backend b[2] = {{"x:1", 1, true}, {"y:1", 1, true}};
	struct lb_maglev m = {0};
	uint32_t cnt[2] = {0, 0};
	const uint32_t flows = 100000;

	(void)state;
	assert_int_equal(lb_maglev_build(&m, M, b, 2), 0);
	for (uint32_t i = 0; i < flows; i++) {
		uint32_t h =
			lb_flow_hash4(0x0a000001 + (i >> 8), 0x0a0000ff, (uint16_t)(i * 7), 80, 6);
		uint16_t idx = lb_maglev_lookup(&m, h);

		assert_true(idx < 2);
		cnt[idx]++;
	}
	assert_true(cnt[0] > flows * 0.47 && cnt[0] < flows * 0.53);
	lb_maglev_free(&m);
}

static void test_flow_hash(void **state)
{
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

	(void)state;
	assert_int_equal(lb_flow_hash4(1, 2, 3, 4, 6), lb_flow_hash4(1, 2, 3, 4, 6));
	assert_int_not_equal(lb_flow_hash4(1, 2, 3, 4, 6), lb_flow_hash4(1, 2, 4, 3, 6));
	assert_int_not_equal(lb_flow_hash4(1, 2, 3, 4, 6), lb_flow_hash4(1, 2, 3, 4, 17));
	assert_int_not_equal(lb_flow_hash4(1, 2, 3, 4, 6), lb_flow_hash4(2, 1, 3, 4, 6));
	assert_int_equal(lb_flow_hash6(a, c, 3, 4, 6), lb_flow_hash6(a, c, 3, 4, 6));
	assert_int_not_equal(lb_flow_hash6(a, c, 3, 4, 6), lb_flow_hash6(c, a, 3, 4, 6));
	assert_int_not_equal(lb_flow_hash6(a, c, 3, 4, 6), lb_flow_hash6(a, c, 3, 5, 6));
}

static void test_smooth_wrr(void **state)
{
	struct lb_backend b[3] = {{"a", 5, true}, {"b", 1, true}, {"c", 1, true}};
	static const uint16_t want[7] = {0, 0, 1, 0, 2, 0, 0};
	int64_t cur[3] = {0, 0, 0};

	(void)state;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 7; i++)
			assert_int_equal(lb_pick_rr(cur, b, 3), want[i]);

	/* Unusable and zero-weight backends are skipped; the rest alternate. */
	{
		struct lb_backend s[4] = {
			{"p", 1, true}, {"q", 1, false}, {"r", 0, true}, {"t", 1, true}};
		int64_t c4[4] = {0};

		for (int i = 0; i < 6; i++)
			assert_int_equal(lb_pick_rr(c4, s, 4), i % 2 == 0 ? 0 : 3);
		s[0].usable = false;
		s[3].usable = false;
		assert_int_equal(lb_pick_rr(c4, s, 4), LB_NONE);
	}
	assert_int_equal(lb_pick_rr(NULL, b, 3), LB_NONE);
}

static void test_least_conn(void **state)
{
	struct lb_backend b[3] = {{"a", 1, true}, {"b", 5, true}, {"c", 1, true}};
	uint32_t active[3] = {10, 10, 3}; /* per weight: 10, 2, 3 */

	(void)state;
	assert_int_equal(lb_pick_least(b, active, 3), 1);
	active[1] = 20; /* 4 */
	assert_int_equal(lb_pick_least(b, active, 3), 2);
	active[0] = 0;
	assert_int_equal(lb_pick_least(b, active, 3), 0);
	b[0].usable = false;
	assert_int_equal(lb_pick_least(b, active, 3), 2);
	/* Ties: the larger weight wins. */
	active[1] = 15; /* 3 == 3 */
	assert_int_equal(lb_pick_least(b, active, 3), 1);
	b[1].usable = false;
	b[2].weight = 0;
	assert_int_equal(lb_pick_least(b, active, 3), LB_NONE);
	assert_int_equal(lb_pick_least(b, NULL, 3), LB_NONE);
}

/* Two distinct usable draws, both from the usable ones, spread over all of them. */
static void test_pick_two(void **state)
{
	struct lb_backend b[4] = {{"a", 1, true}, {"b", 1, false}, {"c", 0, true}, {"d", 2, true}};
	uint32_t seen[4] = {0};
	uint16_t second;

	(void)state;
	for (uint64_t k = 0; k < 1000; k++) {
		uint64_t r = (k * 0x9e3779b97f4a7c15ull) ^ (k << 40);
		uint16_t first = lb_pick_two(b, 4, r, &second);

		assert_true(first == 0 || first == 3);
		assert_true(second == 0 || second == 3);
		assert_int_not_equal(first, second);
		seen[first]++;
	}
	assert_true(seen[0] > 100 && seen[3] > 100);
	assert_int_equal(seen[1] + seen[2], 0);
	/* the start draws: low bits 1 -> "b" unusable, "c" zero weight -> "d"; high bits 0 -> "a" */
	assert_int_equal(lb_pick_two(b, 4, 1, &second), 3);
	assert_int_equal(second, 0);
	/* one usable: both draws are it; none: LB_NONE */
	b[0].usable = false;
	assert_int_equal(lb_pick_two(b, 4, 12345, &second), 3);
	assert_int_equal(second, 3);
	b[3].usable = false;
	assert_int_equal(lb_pick_two(b, 4, 12345, &second), LB_NONE);
	assert_int_equal(second, LB_NONE);
	assert_int_equal(lb_pick_two(b, 0, 1, &second), LB_NONE);
}

static void test_less_loaded(void **state)
{
	(void)state;
	assert_true(lb_less_loaded(1, 1, 2, 1));
	assert_false(lb_less_loaded(2, 1, 2, 1)); /* equal: not less */
	assert_true(lb_less_loaded(5, 5, 2, 1));  /* 1 < 2 */
	assert_false(lb_less_loaded(3, 1, 5, 2)); /* 3 > 2.5 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prime),
		cmocka_unit_test(test_weighted_shares),
		cmocka_unit_test(test_equal_shares),
		cmocka_unit_test(test_minimal_disruption),
		cmocka_unit_test(test_deterministic_and_order_free),
		cmocka_unit_test(test_unusable_and_none),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_lookup_spreads_flows),
		cmocka_unit_test(test_flow_hash),
		cmocka_unit_test(test_smooth_wrr),
		cmocka_unit_test(test_least_conn),
		cmocka_unit_test(test_pick_two),
		cmocka_unit_test(test_less_loaded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
