/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: publishing snapshots under liburcu QSBR. Reader threads behave like
 * workers (get the snapshot, use it, pass a quiescent state) while the main
 * thread publishes; a reader that used a freed snapshot would see the poison
 * cfg_snapshot_free() leaves (generation 0, text NULL, no FIB) or a mismatch
 * between a snapshot's generation and its content.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/static/urcu-qsbr.h> /* struct urcu_qsbr_reader: see test_publish_waits_for_reader */

#include "dataplane/config/config.h"
#include "test_eal.h"

#define N_READERS 2
#define N_SWAPS	  200

static const struct cfg_port_info test_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
};

struct reader {
	pthread_t thread;
	uint64_t reads;
	uint64_t errors;
	uint64_t last_gen;
};

/* The last generation the publisher made; 0 while it is still publishing. */
static atomic_uint_fast64_t final_gen;

/* Every published snapshot carries rx_burst = generation % 256 + 1, so a reader
 * can tell a snapshot's content from its generation. */
static struct cfg_snapshot *make_snapshot(unsigned int rx_burst)
{
	char doc[512];
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;
	int n = snprintf(doc, sizeof(doc),
			 "{\"version\": 1, \"node\": {\"name\": \"swap\"}, \"interfaces\": "
			 "[{\"name\": \"a\", \"port\": \"p0\", \"ipv4\": [\"10.10.1.1/24\"]}], "
			 "\"tune\": {\"rx_burst\": %u}}",
			 rx_burst);

	if (cfg_compile(doc, (size_t)n, test_ports, 1, NULL, &s, &err) != 0) {
		print_error("compile: %s\n", err.msg);
		return NULL;
	}
	return s;
}

static bool snapshot_intact(const struct cfg_snapshot *s)
{
	uint32_t local = htonl(0x0a0a0101);
	uint32_t nh;

	if (s->generation == 0 || s->text == NULL || s->text[0] != '{' ||
	    strcmp(s->node_name, "swap") != 0 || s->tune.rx_burst != s->generation % 256 + 1)
		return false;
	nh = cfg_route4(s, local);
	return nh != 0 && nh < s->n_nexthops && s->nexthops[nh].type == CFG_NH_LOCAL;
}

/* Reads like a worker until it has seen the publisher's last generation. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	bool done = false;

	rcu_register_thread();
	while (!done) {
		const struct cfg_snapshot *s = cfg_snapshot_get();
		uint64_t last = atomic_load(&final_gen);

		if (s != NULL) {
			if (s->generation < r->last_gen || !snapshot_intact(s))
				r->errors++;
			r->last_gen = s->generation;
			r->reads++;
			done = last != 0 && s->generation >= last;
		}
		rcu_quiescent_state();
		/* Two cores may be all there is: leave the publisher room to compile. */
		sched_yield();
	}
	rcu_unregister_thread();
	return NULL;
}

static uint64_t live_generation(void)
{
	return cfg_live != NULL ? cfg_live->generation : 0;
}

static void test_swaps_under_readers(void **state)
{
	struct reader readers[N_READERS];
	uint64_t first = live_generation() + 1;

	(void)state;
	memset(readers, 0, sizeof(readers));
	atomic_store(&final_gen, 0);
	for (int i = 0; i < N_READERS; i++)
		assert_int_equal(pthread_create(&readers[i].thread, NULL, reader_main, &readers[i]),
				 0);
	for (uint64_t g = first; g < first + N_SWAPS; g++) {
		struct cfg_snapshot *s = make_snapshot((unsigned int)(g % 256 + 1));

		assert_non_null(s);
		cfg_publish(s);
		assert_ptr_equal(cfg_live, s);
		assert_int_equal(s->generation, g);
	}
	/* The readers stop once they have seen the last one. */
	atomic_store(&final_gen, first + N_SWAPS - 1);
	for (int i = 0; i < N_READERS; i++) {
		assert_int_equal(pthread_join(readers[i].thread, NULL), 0);
		assert_int_equal(readers[i].errors, 0);
		assert_true(readers[i].reads > 0);
		assert_int_equal(readers[i].last_gen, first + N_SWAPS - 1);
	}
}

/*
 * A reader that holds a snapshot (stays online) until told to let go, and a
 * publisher on a thread of its own. Instead of timing the publisher, the test
 * observes the state that proves it waits: liburcu flags a reader `waiting`
 * when synchronize_rcu() has stopped spinning and sleeps until that reader
 * passes a quiescent state (urcu/static/urcu-qsbr.h, struct urcu_qsbr_reader).
 */
enum holder_phase { HOLDER_START, HOLDER_HOLDING, HOLDER_WAITED_FOR, HOLDER_DONE };

struct holder {
	atomic_int phase;
	atomic_bool release;   /* main: let go of the snapshot */
	atomic_bool published; /* the publisher: cfg_publish() returned */
	bool intact_at_release;
	const struct cfg_snapshot *held; /* compared, never read after the holder is done */
	uint64_t held_gen;
	struct cfg_snapshot *next;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;

	rcu_register_thread();
	h->held = cfg_snapshot_get();
	h->held_gen = h->held != NULL ? h->held->generation : 0;
	atomic_store(&h->phase, HOLDER_HOLDING);
	/* Still online: the control thread's grace period cannot end yet. */
	while (!atomic_load(&h->release)) {
		if (CMM_LOAD_SHARED(URCU_TLS(urcu_qsbr_reader).waiting))
			atomic_store(&h->phase, HOLDER_WAITED_FOR);
		sched_yield();
	}
	h->intact_at_release = h->held != NULL && snapshot_intact(h->held);
	atomic_store(&h->phase, HOLDER_DONE);
	rcu_quiescent_state();
	rcu_unregister_thread();
	return NULL;
}

static void *publisher_main(void *arg)
{
	struct holder *h = arg;

	cfg_publish(h->next);
	atomic_store(&h->published, true);
	return NULL;
}

static void test_publish_waits_for_reader(void **state)
{
	struct holder h = {0};
	struct cfg_snapshot *a;
	pthread_t holder, publisher;

	(void)state;
	a = make_snapshot((unsigned int)((live_generation() + 1) % 256 + 1));
	assert_non_null(a);
	cfg_publish(a);
	h.next = make_snapshot((unsigned int)((a->generation + 1) % 256 + 1));
	assert_non_null(h.next);

	assert_int_equal(pthread_create(&holder, NULL, holder_main, &h), 0);
	while (atomic_load(&h.phase) == HOLDER_START)
		sched_yield();
	assert_ptr_equal(h.held, a);
	assert_int_equal(pthread_create(&publisher, NULL, publisher_main, &h), 0);
	/* Either the publisher's grace period waits for the holder, or (a bug) it
	 * returns, having freed a snapshot the holder still uses. */
	while (atomic_load(&h.phase) != HOLDER_WAITED_FOR && !atomic_load(&h.published))
		sched_yield();
	assert_false(atomic_load(&h.published));
	assert_ptr_equal(cfg_live, h.next); /* swapped already, not freed yet */
	assert_true(snapshot_intact(a));
	atomic_store(&h.release, true);
	assert_int_equal(pthread_join(holder, NULL), 0);
	assert_int_equal(pthread_join(publisher, NULL), 0);
	/* The grace period is a correctness property: publish returned (and freed a)
	 * only after the holder left its read-side section. */
	assert_true(atomic_load(&h.published));
	assert_true(h.intact_at_release);
	assert_ptr_equal(cfg_live, h.next);
	assert_int_equal(h.next->generation, h.held_gen + 1);
}

static void test_generations(void **state)
{
	struct cfg_snapshot *s, *old;
	uint64_t g = live_generation();

	(void)state;
	s = make_snapshot((unsigned int)((g + 1) % 256 + 1));
	assert_non_null(s);
	assert_int_equal(s->generation, 0);
	cfg_publish(s);
	assert_int_equal(s->generation, g + 1);
	/* Publishing the live snapshot again changes nothing. */
	cfg_publish(s);
	assert_int_equal(cfg_live->generation, g + 1);

	/* Empty the live pointer the way shutdown does; the next publish starts at 1. */
	old = rcu_xchg_pointer(&cfg_live, NULL);
	synchronize_rcu();
	cfg_snapshot_free(old);
	s = make_snapshot(2);
	assert_non_null(s);
	cfg_publish(s);
	assert_int_equal(s->generation, 1);
	old = rcu_xchg_pointer(&cfg_live, NULL);
	synchronize_rcu();
	cfg_snapshot_free(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swaps_under_readers),
		cmocka_unit_test(test_publish_waits_for_reader),
		cmocka_unit_test(test_generations),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
