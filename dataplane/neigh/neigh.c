/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * neigh: the shared neighbour cache. See neigh.h for the threading contract.
 *
 * Layout: an rte_hash (lock-free readers, one writer) maps a struct neigh_key to
 * a key position; entries[position] holds the entry. The hash gets twice the
 * configured capacity so that cuckoo displacement never fails below capacity;
 * the capacity itself (live entries + removed slots not yet reclaimed) is
 * enforced here, which makes "full" deterministic.
 *
 * Publication order: the writer fills mac and confirmed_tsc and then stores
 * state with release semantics; readers treat state 0 as "not there". A
 * removed entry gets state 0 at once and its key slot is freed by
 * neigh_reclaim() after the caller's grace period, so a reader that still
 * holds the pointer reads stable (old) memory.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "neigh.h"

#define NEIGH_MAILBOX_SIZE 4096 /* events; a power of two */
#define NEIGH_DRAIN_BURST  64

static_assert(sizeof(struct neigh_event) == 32, "neigh_event travels as a 32-byte ring element");
static_assert(sizeof(struct neigh_key) == 24, "neigh_key has no implicit padding");

struct neigh_table {
	struct rte_hash *hash;
	struct rte_ring *mailbox;
	struct neigh_entry *entries; /* [n_slots], indexed by key position */
	uint32_t n_slots;
	uint32_t capacity;
	uint32_t n_live; /* written by the control thread, read by anyone */
	uint32_t n_dead; /* removed, key slot not yet freed */
	int32_t *dead;	 /* [n_slots] positions waiting for neigh_reclaim() */
};

static uint32_t neigh_seq; /* makes DPDK object names unique per process */

struct neigh_table *neigh_create(const char *name, uint32_t capacity, int socket_id)
{
	struct rte_hash_parameters hp = {0};
	struct neigh_table *t;
	char hname[RTE_HASH_NAMESIZE];
	char rname[RTE_RING_NAMESIZE];
	uint32_t seq;
	int32_t max_id;

	if (name == NULL || capacity == 0 || capacity > (1u << 24)) {
		rte_errno = EINVAL;
		return NULL;
	}
	seq = __atomic_fetch_add(&neigh_seq, 1, __ATOMIC_RELAXED);
	snprintf(hname, sizeof(hname), "nh%u_%s", seq, name);
	snprintf(rname, sizeof(rname), "nm%u_%s", seq, name);

	t = rte_zmalloc_socket("neigh_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->capacity = capacity;

	hp.name = hname;
	hp.entries = capacity < 8 ? 16 : capacity * 2;
	hp.key_len = sizeof(struct neigh_key);
	hp.hash_func = rte_jhash;
	hp.hash_func_init_val = 0;
	hp.socket_id = socket_id;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
	t->hash = rte_hash_create(&hp);
	if (t->hash == NULL)
		goto fail_table;

	max_id = rte_hash_max_key_id(t->hash);
	if (max_id < 0) {
		rte_errno = EINVAL;
		goto fail_hash;
	}
	t->n_slots = (uint32_t)max_id + 1;
	t->entries = rte_zmalloc_socket("neigh_entries", sizeof(struct neigh_entry) * t->n_slots,
					RTE_CACHE_LINE_SIZE, socket_id);
	if (t->entries == NULL) {
		rte_errno = ENOMEM;
		goto fail_hash;
	}
	t->dead = rte_zmalloc_socket("neigh_dead", sizeof(int32_t) * t->n_slots, 0, socket_id);
	if (t->dead == NULL) {
		rte_errno = ENOMEM;
		goto fail_entries;
	}
	t->mailbox = rte_ring_create_elem(rname, sizeof(struct neigh_event), NEIGH_MAILBOX_SIZE,
					  socket_id, RING_F_SC_DEQ);
	if (t->mailbox == NULL)
		goto fail_dead;
	return t;

fail_dead:
	rte_free(t->dead);
fail_entries:
	rte_free(t->entries);
fail_hash:
	rte_hash_free(t->hash);
fail_table:
	rte_free(t);
	return NULL;
}

void neigh_free(struct neigh_table *t)
{
	if (t == NULL)
		return;
	rte_ring_free(t->mailbox);
	rte_hash_free(t->hash);
	rte_free(t->dead);
	rte_free(t->entries);
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
	int32_t pos = rte_hash_lookup(t->hash, key);
	const struct neigh_entry *e;

	if (pos < 0 || (uint32_t)pos >= t->n_slots)
		return NULL;
	e = &t->entries[pos];
	if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == 0)
		return NULL;
	return e;
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
	int32_t pos;

	if (!neigh_key_valid(key))
		return -EINVAL;
	pos = rte_hash_lookup(t->hash, key);
	if (pos < 0) {
		if (t->n_live + t->n_dead >= t->capacity)
			return -ENOSPC;
		pos = rte_hash_add_key(t->hash, key);
		if (pos < 0)
			return pos;
		if ((uint32_t)pos >= t->n_slots)
			return -ENOSPC;
		e = &t->entries[pos];
		e->key = *key;
		__atomic_store_n(&e->probe_tsc, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&t->n_live, t->n_live + 1, __ATOMIC_RELAXED);
	} else {
		e = &t->entries[pos];
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

static void neigh_remove(struct neigh_table *t, uint32_t pos)
{
	struct neigh_entry *e = &t->entries[pos];
	int32_t ret = rte_hash_del_key(t->hash, &e->key);

	__atomic_store_n(&e->state, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&t->n_live, t->n_live - 1, __ATOMIC_RELAXED);
	if (ret >= 0)
		t->dead[t->n_dead++] = ret;
}

unsigned int neigh_age(struct neigh_table *t, uint64_t now_tsc, uint64_t reachable_tsc,
		       uint64_t stale_tsc)
{
	unsigned int removed = 0;

	for (uint32_t pos = 0; pos < t->n_slots; pos++) {
		struct neigh_entry *e = &t->entries[pos];
		uint8_t state = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
		uint64_t age;

		if (state == 0)
			continue;
		age = now_tsc - e->confirmed_tsc;
		if (now_tsc < e->confirmed_tsc)
			age = 0;
		if (state == NEIGH_REACHABLE && age >= reachable_tsc) {
			state = NEIGH_STALE;
			__atomic_store_n(&e->state, state, __ATOMIC_RELEASE);
		}
		if (state == NEIGH_STALE && age >= reachable_tsc + stale_tsc) {
			neigh_remove(t, pos);
			removed++;
		}
	}
	return removed;
}

void neigh_reclaim(struct neigh_table *t)
{
	for (uint32_t i = 0; i < t->n_dead; i++)
		rte_hash_free_key_with_position(t->hash, t->dead[i]);
	t->n_dead = 0;
}

unsigned int neigh_flush(struct neigh_table *t)
{
	unsigned int removed = 0;

	for (uint32_t pos = 0; pos < t->n_slots; pos++) {
		if (__atomic_load_n(&t->entries[pos].state, __ATOMIC_RELAXED) == 0)
			continue;
		neigh_remove(t, pos);
		removed++;
	}
	return removed;
}

void neigh_walk(const struct neigh_table *t, void (*fn)(const struct neigh_entry *e, void *arg),
		void *arg)
{
	for (uint32_t pos = 0; pos < t->n_slots; pos++)
		if (__atomic_load_n(&t->entries[pos].state, __ATOMIC_ACQUIRE) != 0)
			fn(&t->entries[pos], arg);
}

uint32_t neigh_count(const struct neigh_table *t)
{
	return __atomic_load_n(&t->n_live, __ATOMIC_RELAXED);
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
