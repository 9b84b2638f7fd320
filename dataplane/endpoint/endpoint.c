/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * endpoint: breaker, outlier detection, health and the control thread's
 * registry of endpoint states. See endpoint.h for the contract.
 *
 * The registry is a chained hash table (FNV-1a over the key) that doubles when
 * its load passes 1; it is touched by the control thread only, so it allocates
 * with malloc and takes no lock. Each state is a separate 64-byte aligned
 * allocation so its address never changes while the snapshots point at it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>

#include "endpoint.h"

#define EP_STATE_MASK ((uint64_t)3)

/* Reserve one unit of *v unless it is already at @p max (0: no limit). */
static bool ep_reserve(uint32_t *v, uint32_t max)
{
	uint32_t cur = __atomic_load_n(v, __ATOMIC_RELAXED);

	do {
		if (max != 0 && cur >= max)
			return false;
	} while (!__atomic_compare_exchange_n(v, &cur, cur + 1, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	return true;
}

/* Decrement, never below zero: an unbalanced call must not wrap the counter. */
static void ep_release(uint32_t *v)
{
	uint32_t cur = __atomic_load_n(v, __ATOMIC_RELAXED);

	do {
		if (cur == 0)
			return;
	} while (!__atomic_compare_exchange_n(v, &cur, cur - 1, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
}

static uint64_t ep_word(uint64_t until, enum ep_breaker st)
{
	if (until > UINT64_MAX - 3)
		until = UINT64_MAX - 3;
	return ((until + 3) & ~EP_STATE_MASK) | (uint64_t)st;
}

enum ep_admit ep_admit(struct ep_state *s, const struct ep_limits *l, uint64_t now_tsc)
{
	uint64_t w;
	uint64_t st;

	if (unlikely(s == NULL || l == NULL))
		return EP_REFUSE_EJECTED;
	if (__atomic_load_n(&s->health, __ATOMIC_RELAXED) == EP_HEALTH_UNHEALTHY)
		return EP_REFUSE_UNHEALTHY;
	w = __atomic_load_n(&s->breaker, __ATOMIC_ACQUIRE);
	st = w & EP_STATE_MASK;
	if (st == EP_HALF_OPEN || (st == EP_EJECTED && now_tsc < (w & ~EP_STATE_MASK)))
		return EP_REFUSE_EJECTED;
	if (!ep_reserve(&s->active, l->max_connections))
		return EP_REFUSE_MAX_CONN;
	if (!ep_reserve(&s->pending, l->max_pending)) {
		ep_release(&s->active);
		return EP_REFUSE_MAX_PENDING;
	}
	if (st == EP_EJECTED) {
		/* Ejection over: whoever moves it to HALF_OPEN is the one probe. */
		if (!__atomic_compare_exchange_n(&s->breaker, &w,
						 (w & ~EP_STATE_MASK) | EP_HALF_OPEN, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			ep_release(&s->pending);
			ep_release(&s->active);
			return EP_REFUSE_EJECTED;
		}
		__atomic_fetch_add(&s->total_connections, 1, __ATOMIC_RELAXED);
		return EP_ADMIT_PROBE;
	}
	__atomic_fetch_add(&s->total_connections, 1, __ATOMIC_RELAXED);
	return EP_ADMIT;
}

/* Count one more ejected endpoint in @p g unless that breaks the percentage bound. */
static bool ep_group_reserve(struct ep_group *g, uint32_t max_percent)
{
	uint32_t cur;

	if (g == NULL)
		return true;
	cur = __atomic_load_n(&g->ejected, __ATOMIC_RELAXED);
	do {
		uint64_t n = __atomic_load_n(&g->n_endpoints, __ATOMIC_RELAXED);

		if ((uint64_t)(cur + 1) * 100 > (uint64_t)max_percent * n)
			return false;
	} while (!__atomic_compare_exchange_n(&g->ejected, &cur, cur + 1, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	return true;
}

static void ep_group_release(struct ep_group *g)
{
	if (g != NULL)
		ep_release(&g->ejected);
}

/*
 * Move the breaker from word @p w to EJECTED. @p fresh: w is CLOSED (the group
 * bound applies and the multiplier may restart); else w is HALF_OPEN after a
 * failed probe (already counted in the group). @return true if this call ejected.
 */
static bool ep_eject(struct ep_state *s, const struct ep_limits *l, uint64_t now_tsc, uint64_t w,
		     bool fresh, struct ep_group *g)
{
	uint32_t e = __atomic_load_n(&s->ejections, __ATOMIC_RELAXED);
	uint64_t prev_until = w & ~EP_STATE_MASK;
	uint64_t dur;

	if (fresh && !ep_group_reserve(g, l->max_ejection_percent))
		return false;
	/* Un-ejected for as long as the last ejection lasted: start over at 1. */
	if (fresh && e > 0 && now_tsc >= prev_until &&
	    (l->base_ejection_tsc == 0 || now_tsc - prev_until >= l->base_ejection_tsc * e))
		e = 0;
	if (e < UINT32_MAX)
		e++;
	dur = l->base_ejection_tsc * e;
	if (e != 0 && dur / e != l->base_ejection_tsc)
		dur = UINT64_MAX; /* overflow: forever */
	/* Racers computed the same multiplier from the same word: storing first is safe. */
	__atomic_store_n(&s->ejections, e, __ATOMIC_RELEASE);
	if (!__atomic_compare_exchange_n(
		    &s->breaker, &w,
		    ep_word(now_tsc > UINT64_MAX - dur ? UINT64_MAX : now_tsc + dur, EP_EJECTED),
		    false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		if (fresh)
			ep_group_release(g);
		return false;
	}
	__atomic_store_n(&s->consecutive_failures, 0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->total_ejections, 1, __ATOMIC_RELAXED);
	return true;
}

void ep_connect_ok(struct ep_state *s, bool probe, struct ep_group *g)
{
	if (unlikely(s == NULL))
		return;
	ep_release(&s->pending);
	__atomic_store_n(&s->consecutive_failures, 0, __ATOMIC_RELAXED);
	if (probe) {
		uint64_t w = __atomic_load_n(&s->breaker, __ATOMIC_ACQUIRE);

		/* Keep the deadline bits: the next ejection uses them to decay the multiplier. */
		if ((w & EP_STATE_MASK) == EP_HALF_OPEN &&
		    __atomic_compare_exchange_n(&s->breaker, &w, (w & ~EP_STATE_MASK) | EP_CLOSED,
						false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			ep_group_release(g);
	}
}

void ep_connect_failed(struct ep_state *s, const struct ep_limits *l, uint64_t now_tsc, bool probe,
		       struct ep_group *g)
{
	uint32_t f;
	uint64_t w;

	if (unlikely(s == NULL || l == NULL))
		return;
	ep_release(&s->pending);
	ep_release(&s->active);
	__atomic_fetch_add(&s->total_failures, 1, __ATOMIC_RELAXED);
	w = __atomic_load_n(&s->breaker, __ATOMIC_ACQUIRE);
	if (probe) {
		if ((w & EP_STATE_MASK) == EP_HALF_OPEN)
			ep_eject(s, l, now_tsc, w, false, g);
		return;
	}
	f = __atomic_add_fetch(&s->consecutive_failures, 1, __ATOMIC_RELAXED);
	if (l->consecutive_failures == 0 || f < l->consecutive_failures)
		return;
	if ((w & EP_STATE_MASK) != EP_CLOSED)
		return;
	ep_eject(s, l, now_tsc, w, true, g);
}

void ep_conn_closed(struct ep_state *s)
{
	if (unlikely(s == NULL))
		return;
	ep_release(&s->active);
}

void ep_health_report(struct ep_state *s, const struct ep_limits *l, bool ok)
{
	uint32_t healthy = l->healthy_threshold ? l->healthy_threshold : 1;
	uint32_t unhealthy = l->unhealthy_threshold ? l->unhealthy_threshold : 1;
	uint32_t n;

	if (ok) {
		__atomic_store_n(&s->health_fail, 0, __ATOMIC_RELAXED);
		n = __atomic_load_n(&s->health_ok, __ATOMIC_RELAXED);
		if (n < UINT32_MAX)
			n++;
		__atomic_store_n(&s->health_ok, n, __ATOMIC_RELAXED);
		if (n >= healthy)
			__atomic_store_n(&s->health, EP_HEALTH_HEALTHY, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&s->health_ok, 0, __ATOMIC_RELAXED);
		n = __atomic_load_n(&s->health_fail, __ATOMIC_RELAXED);
		if (n < UINT32_MAX)
			n++;
		__atomic_store_n(&s->health_fail, n, __ATOMIC_RELAXED);
		if (n >= unhealthy)
			__atomic_store_n(&s->health, EP_HEALTH_UNHEALTHY, __ATOMIC_RELEASE);
	}
}

bool ep_usable(const struct ep_state *s, uint64_t now_tsc)
{
	uint64_t w;

	if (s == NULL || __atomic_load_n(&s->health, __ATOMIC_RELAXED) == EP_HEALTH_UNHEALTHY)
		return false;
	w = __atomic_load_n(&s->breaker, __ATOMIC_ACQUIRE);
	switch (w & EP_STATE_MASK) {
	case EP_CLOSED:
		return true;
	case EP_EJECTED:
		return now_tsc >= (w & ~EP_STATE_MASK);
	default:
		return false;
	}
}

void ep_group_init(struct ep_group *g, struct ep_state *const *states, uint32_t n)
{
	uint32_t ejected = 0;

	for (uint32_t i = 0; i < n; i++)
		if (states != NULL && states[i] != NULL && ep_breaker_state(states[i]) != EP_CLOSED)
			ejected++;
	__atomic_store_n(&g->n_endpoints, n, __ATOMIC_RELAXED);
	__atomic_store_n(&g->ejected, ejected, __ATOMIC_RELEASE);
}

/* ---- registry (control thread only) ---- */

struct ep_reg_entry {
	struct ep_state state; /* first: the allocation is 64-byte aligned */
	struct ep_reg_entry *next;
	uint32_t refs; /* snapshots that bound it */
	bool retiring; /* unreferenced and idle at the last sweep: freed at the next one */
	char *key;
};

struct ep_registry {
	struct ep_reg_entry **slots;
	uint32_t n_slots; /* a power of two */
	uint32_t count;
	/* probe slots: how many states use each; the unused ones on a stack */
	uint32_t probe_slots;
	uint32_t *probe_use;  /* [probe_slots] */
	uint32_t *probe_free; /* [probe_slots]: a stack of unused slots */
	uint32_t n_probe_free;
	uint32_t probe_share; /* all in use: the next slot to share, round robin */
};

static uint64_t ep_key_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h;
}

struct ep_registry *ep_registry_create(uint32_t probe_slots)
{
	struct ep_registry *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->n_slots = 64;
	r->probe_slots = probe_slots ? probe_slots : 1;
	r->slots = calloc(r->n_slots, sizeof(*r->slots));
	r->probe_use = calloc(r->probe_slots, sizeof(*r->probe_use));
	r->probe_free = calloc(r->probe_slots, sizeof(*r->probe_free));
	if (r->slots == NULL || r->probe_use == NULL || r->probe_free == NULL) {
		ep_registry_free(r);
		return NULL;
	}
	/* lowest slots first */
	for (uint32_t i = 0; i < r->probe_slots; i++)
		r->probe_free[i] = r->probe_slots - 1 - i;
	r->n_probe_free = r->probe_slots;
	return r;
}

static uint32_t ep_probe_slot_take(struct ep_registry *r)
{
	uint32_t slot;

	if (r->n_probe_free > 0) {
		slot = r->probe_free[--r->n_probe_free];
	} else {
		slot = r->probe_share;
		r->probe_share = (r->probe_share + 1) % r->probe_slots;
	}
	r->probe_use[slot]++;
	return slot;
}

static void ep_entry_free(struct ep_registry *r, struct ep_reg_entry *e)
{
	uint32_t slot = e->state.probe.slot;

	if (--r->probe_use[slot] == 0)
		r->probe_free[r->n_probe_free++] = slot;
	free(e->key);
	free(e);
}

void ep_registry_free(struct ep_registry *r)
{
	if (r == NULL)
		return;
	for (uint32_t i = 0; r->slots != NULL && i < r->n_slots; i++) {
		struct ep_reg_entry *e = r->slots[i];

		while (e != NULL) {
			struct ep_reg_entry *next = e->next;

			ep_entry_free(r, e);
			e = next;
		}
	}
	free(r->slots);
	free(r->probe_use);
	free(r->probe_free);
	free(r);
}

static void ep_registry_grow(struct ep_registry *r)
{
	uint32_t n = r->n_slots * 2;
	struct ep_reg_entry **slots;

	if (n == 0 || n > (1u << 24))
		return;
	slots = calloc(n, sizeof(*slots));
	if (slots == NULL)
		return; /* keep the longer chains: still correct */
	for (uint32_t i = 0; i < r->n_slots; i++) {
		struct ep_reg_entry *e = r->slots[i];

		while (e != NULL) {
			struct ep_reg_entry *next = e->next;
			uint32_t b = (uint32_t)(ep_key_hash(e->key) & (n - 1));

			e->next = slots[b];
			slots[b] = e;
			e = next;
		}
	}
	free(r->slots);
	r->slots = slots;
	r->n_slots = n;
}

struct ep_state *ep_registry_get(struct ep_registry *r, const char *key)
{
	struct ep_reg_entry *e;
	uint32_t b;

	if (r == NULL || key == NULL || key[0] == '\0')
		return NULL;
	b = (uint32_t)(ep_key_hash(key) & (r->n_slots - 1));
	for (e = r->slots[b]; e != NULL; e = e->next) {
		if (strcmp(e->key, key) == 0) {
			e->refs++;
			e->retiring = false;
			return &e->state;
		}
	}
	e = aligned_alloc(64, (sizeof(*e) + 63) & ~(size_t)63);
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->key = strdup(key);
	if (e->key == NULL) {
		free(e);
		return NULL;
	}
	e->refs = 1;
	e->state.probe.slot = ep_probe_slot_take(r);
	e->next = r->slots[b];
	r->slots[b] = e;
	r->count++;
	if (r->count > r->n_slots)
		ep_registry_grow(r);
	return &e->state;
}

void ep_registry_put(struct ep_registry *r, struct ep_state *s)
{
	struct ep_reg_entry *e = (struct ep_reg_entry *)s; /* the state comes first */

	if (r == NULL || s == NULL || e->refs == 0)
		return;
	e->refs--;
}

unsigned int ep_registry_sweep(struct ep_registry *r)
{
	unsigned int freed = 0;

	if (r == NULL)
		return 0;
	for (uint32_t i = 0; i < r->n_slots; i++) {
		struct ep_reg_entry **pp = &r->slots[i];

		while (*pp != NULL) {
			struct ep_reg_entry *e = *pp;
			const bool idle = e->refs == 0 &&
					  __atomic_load_n(&e->state.active, __ATOMIC_ACQUIRE) == 0;

			/* Flows hold states by pointer (active counts them): an
			 * unreferenced state is freed only once it is idle, and only
			 * at the sweep after the one that saw it idle, so a worker
			 * still returning from its last ep_conn_closed() is past it
			 * by then. */
			if (!idle || !e->retiring) {
				e->retiring = idle;
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			ep_entry_free(r, e);
			r->count--;
			freed++;
		}
	}
	return freed;
}

void ep_registry_walk(const struct ep_registry *r,
		      void (*fn)(const char *key, const struct ep_state *s, void *arg), void *arg)
{
	if (r == NULL || fn == NULL)
		return;
	for (uint32_t i = 0; i < r->n_slots; i++)
		for (const struct ep_reg_entry *e = r->slots[i]; e != NULL; e = e->next)
			fn(e->key, &e->state, arg);
}

uint32_t ep_registry_count(const struct ep_registry *r)
{
	return r == NULL ? 0 : r->count;
}

bool ep_registry_has_unused(const struct ep_registry *r)
{
	if (r == NULL)
		return false;
	for (uint32_t i = 0; i < r->n_slots; i++)
		for (const struct ep_reg_entry *e = r->slots[i]; e != NULL; e = e->next)
			if (e->refs == 0)
				return true;
	return false;
}
