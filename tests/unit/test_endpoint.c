/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of endpoint state: limits, outlier ejection, half-open probes, health, registry. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/endpoint/endpoint.h"

#define BASE 1000u /* base ejection time, fake TSC cycles */

static struct ep_state *new_state(void)
{
	struct ep_state *s = aligned_alloc(64, sizeof(*s));

	assert_non_null(s);
	memset(s, 0, sizeof(*s));
	return s;
}

static void test_max_connections(void **state)
{
	struct ep_state *s = new_state();
	struct ep_limits l = {.max_connections = 2};

	(void)state;
	assert_int_equal(ep_admit(s, &l, 1), EP_ADMIT);
	assert_int_equal(ep_admit(s, &l, 1), EP_ADMIT);
	assert_int_equal(ep_admit(s, &l, 1), EP_REFUSE_MAX_CONN);
	assert_int_equal(s->active, 2);
	assert_int_equal(s->pending, 2);
	ep_connect_ok(s, false, NULL);
	ep_connect_ok(s, false, NULL);
	assert_int_equal(s->pending, 0);
	assert_int_equal(ep_admit(s, &l, 1), EP_REFUSE_MAX_CONN); /* established still count */
	ep_conn_closed(s);
	assert_int_equal(ep_admit(s, &l, 1), EP_ADMIT);
	assert_int_equal(s->total_connections, 3);
	/* A refused connect frees its slot too. */
	ep_connect_failed(s, &l, 1, false, NULL);
	assert_int_equal(s->active, 1);
	assert_int_equal(s->total_failures, 1);
	/* Unbalanced releases do not wrap the counters. */
	ep_conn_closed(s);
	ep_conn_closed(s);
	ep_conn_closed(s);
	assert_int_equal(s->active, 0);
	free(s);
}

static void test_max_pending(void **state)
{
	struct ep_state *s = new_state();
	struct ep_limits l = {.max_pending = 1};

	(void)state;
	assert_int_equal(ep_admit(s, &l, 1), EP_ADMIT);
	assert_int_equal(ep_admit(s, &l, 1), EP_REFUSE_MAX_PENDING);
	assert_int_equal(s->active, 1); /* the refusal undid its reservation */
	assert_int_equal(s->pending, 1);
	ep_connect_ok(s, false, NULL);
	assert_int_equal(ep_admit(s, &l, 1), EP_ADMIT);
	assert_int_equal(s->active, 2);
	free(s);
}

/* Admit and fail @p n connects at @p now. */
static void fail_n(struct ep_state *s, const struct ep_limits *l, uint64_t now, int n,
		   struct ep_group *g)
{
	for (int i = 0; i < n; i++) {
		assert_int_equal(ep_admit(s, l, now), EP_ADMIT);
		ep_connect_failed(s, l, now, false, g);
	}
}

static void test_ejection_and_probe(void **state)
{
	struct ep_state *s = new_state();
	struct ep_limits l = {
		.consecutive_failures = 3, .base_ejection_tsc = BASE, .max_ejection_percent = 100};
	const uint64_t t = 100000;

	(void)state;
	fail_n(s, &l, t, 2, NULL);
	assert_int_equal(ep_admit(s, &l, t), EP_ADMIT);
	ep_connect_ok(s, false, NULL); /* a success breaks the run */
	fail_n(s, &l, t, 2, NULL);
	assert_int_equal(ep_breaker_state(s), EP_CLOSED);
	fail_n(s, &l, t, 1, NULL);
	assert_int_equal(ep_breaker_state(s), EP_EJECTED);
	assert_int_equal(s->ejections, 1);
	assert_int_equal(s->total_ejections, 1);
	assert_true(ep_ejected_until(s) >= t + BASE && ep_ejected_until(s) < t + BASE + 4);

	assert_int_equal(ep_admit(s, &l, t + 1), EP_REFUSE_EJECTED);
	assert_false(ep_usable(s, t + 1));
	assert_int_equal(ep_admit(s, &l, t + BASE - 1), EP_REFUSE_EJECTED);
	assert_true(ep_usable(s, t + BASE + 4)); /* over: usable for its probe */

	/* Exactly one probe; the failed probe ejects for twice the base. */
	uint64_t t1 = t + BASE + 4;

	assert_int_equal(ep_admit(s, &l, t1), EP_ADMIT_PROBE);
	assert_int_equal(ep_breaker_state(s), EP_HALF_OPEN);
	assert_false(ep_usable(s, t1));
	assert_int_equal(ep_admit(s, &l, t1), EP_REFUSE_EJECTED);
	assert_int_equal(ep_admit(s, &l, t1 + 10 * BASE), EP_REFUSE_EJECTED);
	ep_connect_failed(s, &l, t1, true, NULL);
	assert_int_equal(ep_breaker_state(s), EP_EJECTED);
	assert_int_equal(s->ejections, 2);
	assert_true(ep_ejected_until(s) >= t1 + 2 * BASE &&
		    ep_ejected_until(s) < t1 + 2 * BASE + 4);
	assert_int_equal(ep_admit(s, &l, t1 + 2 * BASE - 4), EP_REFUSE_EJECTED);

	/* Third time: three times the base. */
	uint64_t t2 = t1 + 2 * BASE + 4;

	assert_int_equal(ep_admit(s, &l, t2), EP_ADMIT_PROBE);
	ep_connect_failed(s, &l, t2, true, NULL);
	assert_int_equal(s->ejections, 3);
	assert_true(ep_ejected_until(s) >= t2 + 3 * BASE);

	/* A successful probe closes. */
	uint64_t t3 = t2 + 3 * BASE + 4;

	assert_int_equal(ep_admit(s, &l, t3), EP_ADMIT_PROBE);
	ep_connect_ok(s, true, NULL);
	assert_int_equal(ep_breaker_state(s), EP_CLOSED);
	assert_int_equal(ep_admit(s, &l, t3), EP_ADMIT);
	assert_int_equal(ep_admit(s, &l, t3), EP_ADMIT);
	ep_connect_ok(s, false, NULL);
	ep_connect_ok(s, false, NULL);

	/* Failing again soon after: the next multiple (4); after a long quiet spell: 1 again. */
	fail_n(s, &l, t3 + 10, 3, NULL);
	assert_int_equal(s->ejections, 4);
	uint64_t t4 = t3 + 10 + 4 * BASE + 4;

	assert_int_equal(ep_admit(s, &l, t4), EP_ADMIT_PROBE);
	ep_connect_ok(s, true, NULL);
	fail_n(s, &l, t4 + 5 * BASE, 3, NULL);
	assert_int_equal(s->ejections, 1);
	assert_int_equal(s->total_ejections, 5);
	free(s);
}

static void test_max_ejection_percent(void **state)
{
	struct ep_state *e[3] = {new_state(), new_state(), new_state()};
	struct ep_limits l = {
		.consecutive_failures = 2, .base_ejection_tsc = BASE, .max_ejection_percent = 34};
	struct ep_group g;

	(void)state;
	ep_group_init(&g, e, 3);
	assert_int_equal(g.n_endpoints, 3);
	assert_int_equal(g.ejected, 0);
	fail_n(e[0], &l, 10, 2, &g);
	assert_int_equal(ep_breaker_state(e[0]), EP_EJECTED);
	assert_int_equal(g.ejected, 1);
	/* A second ejection would be 67 % > 34 %: e[1] keeps serving. */
	fail_n(e[1], &l, 10, 3, &g);
	assert_int_equal(ep_breaker_state(e[1]), EP_CLOSED);
	assert_int_equal(g.ejected, 1);
	/* A failed probe keeps e[0] ejected (and counted once). */
	assert_int_equal(ep_admit(e[0], &l, 10 + BASE + 4), EP_ADMIT_PROBE);
	ep_connect_failed(e[0], &l, 10 + BASE + 4, true, &g);
	assert_int_equal(g.ejected, 1);
	/* The config is rebuilt: the recount agrees. */
	ep_group_init(&g, e, 3);
	assert_int_equal(g.ejected, 1);
	/* e[0] recovers; now e[1]'s next failure ejects it. */
	assert_int_equal(ep_admit(e[0], &l, 10 + 4 * BASE), EP_ADMIT_PROBE);
	ep_connect_ok(e[0], true, &g);
	assert_int_equal(g.ejected, 0);
	fail_n(e[1], &l, 20 + 4 * BASE, 1, &g);
	assert_int_equal(ep_breaker_state(e[1]), EP_EJECTED);
	assert_int_equal(g.ejected, 1);
	fail_n(e[2], &l, 20 + 4 * BASE, 2, &g);
	assert_int_equal(ep_breaker_state(e[2]), EP_CLOSED);
	for (int i = 0; i < 3; i++)
		free(e[i]);
}

static void test_health(void **state)
{
	struct ep_state *s = new_state();
	struct ep_limits l = {.healthy_threshold = 2, .unhealthy_threshold = 3};

	(void)state;
	assert_int_equal(s->health, EP_HEALTH_UNKNOWN);
	assert_true(ep_usable(s, 0));
	ep_health_report(s, &l, true);
	assert_int_equal(s->health, EP_HEALTH_UNKNOWN);
	ep_health_report(s, &l, true);
	assert_int_equal(s->health, EP_HEALTH_HEALTHY);
	ep_health_report(s, &l, false);
	ep_health_report(s, &l, false);
	assert_int_equal(s->health, EP_HEALTH_HEALTHY);
	ep_health_report(s, &l, true); /* breaks the failure run */
	ep_health_report(s, &l, false);
	ep_health_report(s, &l, false);
	assert_int_equal(s->health, EP_HEALTH_HEALTHY);
	ep_health_report(s, &l, false);
	assert_int_equal(s->health, EP_HEALTH_UNHEALTHY);
	assert_false(ep_usable(s, 0));
	assert_int_equal(ep_admit(s, &l, 0), EP_REFUSE_UNHEALTHY);
	assert_int_equal(s->active, 0);
	ep_health_report(s, &l, true);
	assert_int_equal(s->health, EP_HEALTH_UNHEALTHY);
	ep_health_report(s, &l, true);
	assert_int_equal(s->health, EP_HEALTH_HEALTHY);
	assert_int_equal(ep_admit(s, &l, 0), EP_ADMIT);
	free(s);
}

struct race {
	struct ep_state *s;
	const struct ep_limits *l;
	uint32_t *arrived; /* spin barrier shared by the racers */
	int rounds;
	int tries;
	int admitted;
	int probes;
	int over;
};

/* Both racers leave together (spinning, so they really overlap on two cores). */
static void spin_barrier(uint32_t *arrived, uint32_t target)
{
	__atomic_fetch_add(arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(arrived, __ATOMIC_ACQUIRE) < target)
		;
}

static void *probe_racer(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < r->rounds; i++) {
		uint64_t now = (uint64_t)(i + 1) * 100 * BASE;
		int ret;

		spin_barrier(r->arrived, 2 * (2 * (uint32_t)i + 1));
		ret = ep_admit(r->s, r->l, now);
		if (ret == EP_ADMIT_PROBE) {
			r->probes++;
			if (ep_breaker_state(r->s) != EP_HALF_OPEN)
				r->over++;
			ep_connect_failed(r->s, r->l, now, true,
					  NULL); /* re-eject for the next round */
		} else if (ret != EP_REFUSE_EJECTED) {
			r->over++;
		}
		spin_barrier(r->arrived, 2 * (2 * (uint32_t)i + 2));
	}
	return NULL;
}

static void test_half_open_race(void **state)
{
	struct ep_state *s = new_state();
	struct ep_limits l = {.consecutive_failures = 1, .base_ejection_tsc = 1};
	uint32_t arrived = 0;
	struct race r[2];
	pthread_t th[2];
	const int rounds = 2000;

	(void)state;
	fail_n(s, &l, 1, 1, NULL);
	assert_int_equal(ep_breaker_state(s), EP_EJECTED);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct race){.s = s, .l = &l, .arrived = &arrived, .rounds = rounds};
		pthread_create(&th[i], NULL, probe_racer, &r[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(r[0].over + r[1].over, 0);
	assert_int_equal(r[0].probes + r[1].probes, rounds); /* exactly one per round */
	assert_int_equal(ep_breaker_state(s), EP_EJECTED);
	assert_int_equal(s->active, 0);
	assert_int_equal(s->ejections, rounds + 1);
	free(s);
}

static void *conn_racer(void *arg)
{
	struct race *r = arg;

	spin_barrier(r->arrived, 2);
	for (int i = 0; i < r->tries; i++) {
		if (ep_admit(r->s, r->l, 1) != EP_ADMIT)
			continue;
		r->admitted++;
		if (__atomic_load_n(&r->s->active, __ATOMIC_RELAXED) > r->l->max_connections)
			r->over++;
		if (r->rounds) { /* churn mode: give it back */
			ep_connect_ok(r->s, false, NULL);
			ep_conn_closed(r->s);
		}
	}
	return NULL;
}

static void test_no_over_admission(void **state)
{
	struct ep_state *s = new_state();
	struct ep_limits l = {.max_connections = 64};
	uint32_t arrived = 0;
	struct race r[2];
	pthread_t th[2];

	(void)state;
	/* Hold: exactly max_connections admitted between the two threads. */
	for (int i = 0; i < 2; i++) {
		r[i] = (struct race){.s = s, .l = &l, .arrived = &arrived, .tries = 20000};
		pthread_create(&th[i], NULL, conn_racer, &r[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(r[0].admitted + r[1].admitted, 64);
	assert_int_equal(s->active, 64);

	/* Churn at max 1: never two at once. */
	memset(s, 0, sizeof(*s));
	l.max_connections = 1;
	arrived = 0;
	for (int i = 0; i < 2; i++) {
		r[i] = (struct race){
			.s = s, .l = &l, .arrived = &arrived, .tries = 200000, .rounds = 1};
		pthread_create(&th[i], NULL, conn_racer, &r[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(r[0].over + r[1].over, 0);
	assert_true(r[0].admitted + r[1].admitted > 0);
	assert_int_equal(s->active, 0);
	assert_int_equal(s->pending, 0);
	free(s);
}

static void count_walk(const char *key, const struct ep_state *s, void *arg)
{
	int *n = arg;

	(void)s;
	assert_non_null(key);
	(*n)++;
}

static void test_registry(void **state)
{
	struct ep_registry *r = ep_registry_create(4096);
	struct ep_state *a, *b, *c, *again, *many[1000];
	char key[64];
	int walked = 0;

	(void)state;
	assert_non_null(r);
	/* snapshot 1 binds .1 and .2 */
	a = ep_registry_get(r, "web/10.0.0.1:80");
	b = ep_registry_get(r, "web/10.0.0.2:80");
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_int_equal((uintptr_t)a % 64, 0);
	assert_int_equal(a->active, 0);
	a->active = 5;
	a->total_ejections = 7;
	assert_int_equal(ep_registry_sweep(r), 0);

	/* snapshot 2 keeps .1, drops .2, adds .3; then snapshot 1 is freed */
	again = ep_registry_get(r, "web/10.0.0.1:80");
	c = ep_registry_get(r, "web/10.0.0.3:80");
	assert_non_null(c);
	assert_ptr_equal(again, a);
	assert_int_equal(again->active, 5);
	assert_int_equal(again->total_ejections, 7);
	assert_int_equal(ep_registry_count(r), 3);
	assert_false(ep_registry_has_unused(r));
	ep_registry_put(r, a);
	ep_registry_put(r, b);
	/* .2 is unreferenced and idle: retired by one sweep, freed by the next */
	assert_true(ep_registry_has_unused(r));
	assert_int_equal(ep_registry_sweep(r), 0);
	assert_int_equal(ep_registry_count(r), 3);
	assert_int_equal(ep_registry_sweep(r), 1);
	assert_int_equal(ep_registry_count(r), 2);
	assert_false(ep_registry_has_unused(r));
	ep_registry_walk(r, count_walk, &walked);
	assert_int_equal(walked, 2);

	/* A key that comes back after being swept starts from zero. */
	b = ep_registry_get(r, "web/10.0.0.2:80");
	assert_int_equal(b->total_ejections, 0);
	ep_registry_put(r, b);

	/* Many keys: the table grows and keeps every state where it was. */
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "svc%d/10.9.%d.%d:443", i % 7, i / 256, i % 256);
		many[i] = ep_registry_get(r, key);
		assert_non_null(many[i]);
	}
	assert_ptr_equal(ep_registry_get(r, "web/10.0.0.1:80"), a);
	ep_registry_put(r, a);
	ep_registry_put(r, c);
	assert_int_equal(ep_registry_sweep(r), 0);
	assert_int_equal(ep_registry_sweep(r), 2); /* .2 and .3 */
	assert_int_equal(ep_registry_count(r), 1001);

	/* A snapshot that is bound and freed without being published (config
	 * validate) takes and drops references: nothing the live one holds goes. */
	assert_ptr_equal(ep_registry_get(r, "web/10.0.0.1:80"), a);
	ep_registry_put(r, a);
	assert_int_equal(ep_registry_sweep(r), 0);
	assert_int_equal(ep_registry_sweep(r), 0);
	assert_ptr_equal(ep_registry_get(r, "web/10.0.0.1:80"), a);
	assert_int_equal(a->total_ejections, 7);
	ep_registry_put(r, a);

	/* An unreferenced state that flows still hold (active) stays until they are gone. */
	many[0]->active = 1;
	for (int i = 0; i < 1000; i++)
		ep_registry_put(r, many[i]);
	assert_int_equal(ep_registry_sweep(r), 0);
	assert_int_equal(ep_registry_sweep(r), 999); /* every svc key but the held one */
	assert_int_equal(ep_registry_sweep(r), 0);
	assert_int_equal(ep_registry_count(r), 2);
	many[0]->active = 0;
	assert_int_equal(ep_registry_sweep(r), 0);
	assert_int_equal(ep_registry_sweep(r), 1);
	assert_int_equal(ep_registry_count(r), 1);
	assert_null(ep_registry_get(r, NULL));
	assert_null(ep_registry_get(r, ""));
	ep_registry_free(r);
}

/* Probe slots: one of its own per state while there are free ones, shared round
 * robin beyond, the same for the state's whole life, and given back with it. */
static void test_probe_slots(void **state)
{
	struct ep_registry *r = ep_registry_create(4);
	struct ep_state *s[6], *again;
	char key[32];

	(void)state;
	assert_non_null(r);
	for (int i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "svc/10.0.0.%d:80", i);
		s[i] = ep_registry_get(r, key);
		assert_non_null(s[i]);
	}
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(s[i]->probe.slot, i); /* lowest free slot first */
	assert_int_equal(s[4]->probe.slot, 0);	       /* then shared in turn */
	assert_int_equal(s[5]->probe.slot, 1);
	/* found again (a later snapshot): the same state, the same slot */
	again = ep_registry_get(r, "svc/10.0.0.2:80");
	assert_ptr_equal(again, s[2]);
	assert_int_equal(again->probe.slot, 2);
	ep_registry_put(r, again);
	/* .3 goes: its slot (its alone) is free for the next new state; .1's slot
	 * is still .5's when .1 goes */
	ep_registry_put(r, s[3]);
	ep_registry_put(r, s[1]);
	assert_int_equal(ep_registry_sweep(r), 0);
	assert_int_equal(ep_registry_sweep(r), 2);
	again = ep_registry_get(r, "svc/10.0.0.9:80");
	assert_int_equal(again->probe.slot, 3);
	again = ep_registry_get(r, "svc/10.0.0.10:80");
	assert_int_equal(again->probe.slot, 2); /* shared again, round robin */
	ep_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_max_pending),
		cmocka_unit_test(test_ejection_and_probe),
		cmocka_unit_test(test_max_ejection_percent),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_half_open_race),
		cmocka_unit_test(test_no_over_admission),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_probe_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
