/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * neigh: the shared neighbour cache. See neigh.h for the threading contract.
 *
 * Layout: a struct lft_table (dataplane/lftable) maps a struct neigh_key to
 * a struct neigh_entry, and enforces the capacity (live entries + removed
 * slots not yet reclaimed), which makes "full" deterministic. There is one
 * writer, the control thread, so the table is not multi-writer.
 *
 * Publication order: the writer fills mac and confirmed_tsc and then stores
 * state with release semantics; readers treat state 0 as "not there" (the
 * entry is in the lftable before it is filled). A removed entry leaves the
 * hash and gets state 0 at once; its key slot is freed by neigh_reclaim()
 * after the caller's grace period, so a reader that still holds the pointer
 * reads stable (old) memory.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "../lftable/lftable.h"
#include "neigh.h"

#define NEIGH_MAILBOX_SIZE 4096 /* events; a power of two */
#define NEIGH_DRAIN_BURST  64

static_assert(sizeof(struct neigh_event) == 32, "neigh_event travels as a 32-byte ring element");
static_assert(sizeof(struct neigh_key) == 24, "neigh_key has no implicit padding");

struct neigh_table {
	struct lft_table *lft; /* struct neigh_key -> struct neigh_entry */
	struct rte_ring *mailbox;
	/* Bumped (release) by the control thread after an entry leaves the table;
	 * workers' caches hold entries of one generation. Starts at 1. */
	uint64_t gen __rte_cache_aligned;
};

struct neigh_table *neigh_create(const char *name, uint32_t capacity, int socket_id)
{
	char rname[RTE_RING_NAMESIZE];
	struct neigh_table *t;

	t = rte_zmalloc_socket("neigh_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->gen = 1;
	t->lft = lft_create("nh", name, sizeof(struct neigh_key), sizeof(struct neigh_entry),
			    capacity, false, socket_id);
	if (t->lft == NULL)
		goto fail_table;
	/* The mailbox shares the table's sequence number: one name per table. */
	snprintf(rname, sizeof(rname), "nm%u_%s", lft_seq(t->lft), name);
	t->mailbox = rte_ring_create_elem(rname, sizeof(struct neigh_event), NEIGH_MAILBOX_SIZE,
					  socket_id, RING_F_SC_DEQ);
	if (t->mailbox == NULL)
		goto fail_lft;
	return t;

fail_lft:
	lft_free(t->lft);
fail_table:
	rte_free(t);
	return NULL;
}

void neigh_free(struct neigh_table *t)
{
	if (t == NULL)
		return;
	rte_ring_free(t->mailbox);
	lft_free(t->lft);
	rte_free(t);
}

struct rte_ring *neigh_mailbox(struct neigh_table *t)
{
	return t->mailbox;
}

int neigh_post(struct neigh_table *t, const struct neigh_key *key, const struct rte_ether_addr *mac,
	       enum neigh_event_kind kind)
{
	struct neigh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.key = *key;
	ev.mac = *mac;
	ev.kind = (uint8_t)kind;
	if (rte_ring_mp_enqueue_elem(t->mailbox, &ev, sizeof(ev)) != 0)
		return -ENOBUFS;
	return 0;
}

const struct neigh_entry *neigh_lookup(const struct neigh_table *t, const struct neigh_key *key)
{
	const struct neigh_entry *e = lft_lookup(t->lft, key);

	if (e == NULL || __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == 0)
		return NULL;
	return e;
}

const struct neigh_entry *neigh_lookup4_miss(const struct neigh_table *t, struct neigh_cache *c,
					     uint16_t port_id, uint16_t vlan, uint32_t addr)
{
	const uint64_t gen = __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
	const uint64_t k = (uint64_t)addr | (uint64_t)port_id << 32 | (uint64_t)vlan << 48;
	const uint32_t set = (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> (64 - NEIGH_CACHE_SET_BITS));
	struct neigh_cache_slot *s = c->slot[set];
	const struct neigh_entry *e;
	struct neigh_key key;

	if (c->table != t) {
		/* another table's slots mean nothing here */
		memset(c->slot, 0, sizeof(c->slot));
		c->table = t;
		c->gen = &t->gen;
	}
	for (unsigned int w = 0; w < NEIGH_CACHE_WAYS; w++) {
		if (s[w].key == k && s[w].gen == gen) {
			e = s[w].e;
			if (likely(__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != 0))
				return e;
			break;
		}
	}
	neigh_key4(&key, port_id, vlan, addr);
	e = neigh_lookup(t, &key);
	if (e != NULL) {
		s = &s[c->victim[set]++ % NEIGH_CACHE_WAYS];
		s->key = k;
		s->gen = gen;
		s->e = e;
	}
	return e;
}

/* Control thread: an entry left the table; no cache may hand it out any more. */
static void neigh_gen_bump(struct neigh_table *t)
{
	__atomic_store_n(&t->gen, t->gen + 1, __ATOMIC_RELEASE);
}

bool neigh_should_probe(const struct neigh_entry *e, uint64_t now_tsc, uint64_t retrans_tsc)
{
	/* probe_tsc is the one field workers write (see neigh.h); the CAS elects one prober. */
	uint64_t *p = (uint64_t *)(uintptr_t)&e->probe_tsc;
	uint64_t last = __atomic_load_n(p, __ATOMIC_RELAXED);

	if (last != 0 && now_tsc - last < retrans_tsc)
		return false;
	return __atomic_compare_exchange_n(p, &last, now_tsc == 0 ? 1 : now_tsc, false,
					   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static uint64_t neigh_mac_pack(const struct rte_ether_addr *mac)
{
	uint64_t v = 0;

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		v |= (uint64_t)mac->addr_bytes[i] << (8 * i);
	return v;
}

static bool neigh_key_valid(const struct neigh_key *key)
{
	return key->family == 4 || key->family == 6;
}

int neigh_update(struct neigh_table *t, const struct neigh_key *key,
		 const struct rte_ether_addr *mac, uint64_t now_tsc)
{
	struct neigh_entry *e;
	void *rec;
	int ret;

	if (!neigh_key_valid(key))
		return -EINVAL;
	ret = lft_add(t->lft, key, &rec);
	if (ret < 0)
		return ret;
	e = rec;
	if (ret > 0) {
		e->key = *key;
		__atomic_store_n(&e->probe_tsc, 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&e->mac, neigh_mac_pack(mac), __ATOMIC_RELEASE);
	__atomic_store_n(&e->confirmed_tsc, now_tsc, __ATOMIC_RELEASE);
	__atomic_store_n(&e->state, (uint8_t)NEIGH_REACHABLE, __ATOMIC_RELEASE);
	return 0;
}

unsigned int neigh_drain(struct neigh_table *t, uint64_t now_tsc)
{
	struct neigh_event ev[NEIGH_DRAIN_BURST];
	unsigned int applied = 0;
	unsigned int n;

	do {
		n = rte_ring_sc_dequeue_burst_elem(t->mailbox, ev, sizeof(ev[0]), NEIGH_DRAIN_BURST,
						   NULL);
		for (unsigned int i = 0; i < n; i++) {
			if (ev[i].kind == NEIGH_EV_UPDATE && neigh_lookup(t, &ev[i].key) == NULL)
				continue;
			if (ev[i].kind != NEIGH_EV_UPDATE && ev[i].kind != NEIGH_EV_CONFIRM)
				continue;
			if (neigh_update(t, &ev[i].key, &ev[i].mac, now_tsc) == 0)
				applied++;
		}
	} while (n == NEIGH_DRAIN_BURST);
	return applied;
}

/* Control thread: @return true if @p e was removed (it is live in the lftable). */
static bool neigh_remove(struct neigh_table *t, struct neigh_entry *e)
{
	if (lft_del(t->lft, e) != 0)
		return false;
	__atomic_store_n(&e->state, 0, __ATOMIC_RELEASE);
	neigh_gen_bump(t);
	return true;
}

struct neigh_age_arg {
	struct neigh_table *t;
	uint64_t now_tsc;
	uint64_t reachable_tsc;
	uint64_t stale_tsc;
	unsigned int removed;
};

static void neigh_age_one(void *rec, void *arg)
{
	struct neigh_age_arg *a = arg;
	struct neigh_entry *e = rec;
	uint8_t state = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
	uint64_t age;

	if (state == 0)
		return;
	age = a->now_tsc - e->confirmed_tsc;
	if (a->now_tsc < e->confirmed_tsc)
		age = 0;
	if (state == NEIGH_REACHABLE && age >= a->reachable_tsc) {
		state = NEIGH_STALE;
		__atomic_store_n(&e->state, state, __ATOMIC_RELEASE);
	}
	if (state == NEIGH_STALE && age >= a->reachable_tsc + a->stale_tsc && neigh_remove(a->t, e))
		a->removed++;
}

unsigned int neigh_age(struct neigh_table *t, uint64_t now_tsc, uint64_t reachable_tsc,
		       uint64_t stale_tsc)
{
	struct neigh_age_arg a = {
		.t = t,
		.now_tsc = now_tsc,
		.reachable_tsc = reachable_tsc,
		.stale_tsc = stale_tsc,
	};

	lft_walk(t->lft, neigh_age_one, &a);
	return a.removed;
}

void neigh_reclaim(struct neigh_table *t)
{
	lft_reclaim(t->lft);
}

struct neigh_flush_arg {
	struct neigh_table *t;
	unsigned int removed;
};

static void neigh_flush_one(void *rec, void *arg)
{
	struct neigh_flush_arg *a = arg;
	struct neigh_entry *e = rec;

	if (__atomic_load_n(&e->state, __ATOMIC_RELAXED) != 0 && neigh_remove(a->t, e))
		a->removed++;
}

unsigned int neigh_flush(struct neigh_table *t)
{
	struct neigh_flush_arg a = {.t = t};

	lft_walk(t->lft, neigh_flush_one, &a);
	return a.removed;
}

struct neigh_walk_arg {
	void (*fn)(const struct neigh_entry *e, void *arg);
	void *arg;
};

static void neigh_walk_one(void *rec, void *arg)
{
	const struct neigh_walk_arg *w = arg;
	const struct neigh_entry *e = rec;

	if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != 0)
		w->fn(e, w->arg);
}

void neigh_walk(const struct neigh_table *t, void (*fn)(const struct neigh_entry *e, void *arg),
		void *arg)
{
	struct neigh_walk_arg w = {.fn = fn, .arg = arg};

	lft_walk(t->lft, neigh_walk_one, &w);
}

uint32_t neigh_count(const struct neigh_table *t)
{
	return lft_count(t->lft);
}

void neigh_key4(struct neigh_key *k, uint16_t port_id, uint16_t vlan, uint32_t addr)
{
	memset(k, 0, sizeof(*k));
	k->port_id = port_id;
	k->vlan = vlan;
	k->family = 4;
	memcpy(k->addr, &addr, sizeof(addr));
}

void neigh_key6(struct neigh_key *k, uint16_t port_id, uint16_t vlan, const uint8_t addr[16])
{
	memset(k, 0, sizeof(*k));
	k->port_id = port_id;
	k->vlan = vlan;
	k->family = 6;
	memcpy(k->addr, addr, 16);
}
