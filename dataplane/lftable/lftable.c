/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lftable: see lftable.h for the threading contract.
 *
 * Liveness is kept here, one byte a position, not in the records, so that the
 * records stay entirely their owner's. The byte is set by compare-and-swap:
 * when two writers add the same new key, rte_hash hands both the same
 * position, and the swap elects the one whose capacity reservation stays.
 *
 * Capacity: n_used counts live plus reserved positions. A writer reserves
 * (fetch_add) before it inserts and gives the reservation back if the insert
 * fails or was not its own; lft_reclaim() gives back one per freed position.
 * Writers and the control thread both write n_used and n_live, so they sit on
 * a cache line of their own, away from the read-mostly fields readers load on
 * every lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "lftable.h"

#define LFT_CAPACITY_MAX (1u << 24)

struct lft_table {
	/* Read-mostly: set at create. */
	struct rte_hash *hash;
	uint8_t *records; /* [n_slots * rec_size], indexed by key position */
	uint8_t *live;	  /* [n_slots] 1 while the position holds a key; set by writers */
	uint32_t n_slots;
	uint32_t rec_size;
	uint32_t key_len;
	uint32_t capacity;
	uint32_t seq;
	/* Control thread only. */
	int32_t *dead; /* [n_slots] positions waiting for lft_reclaim() */
	uint32_t n_dead;
	/* Writers add, the control thread subtracts. */
	uint32_t n_used __attribute__((aligned(64))); /* live + reserved positions */
	uint32_t n_live;			      /* keys in the hash */
};

static uint32_t lft_seq_next; /* makes DPDK object names unique per process */

struct lft_table *lft_create(const char *prefix, const char *name, uint32_t key_len,
			     uint32_t rec_size, uint32_t capacity, bool multi_writer, int socket_id)
{
	struct rte_hash_parameters hp = {0};
	char hname[RTE_HASH_NAMESIZE];
	struct lft_table *t;
	int32_t max_id;

	if (prefix == NULL || name == NULL || key_len == 0 || key_len > LFT_KEY_MAX ||
	    rec_size == 0 || rec_size % RTE_CACHE_LINE_SIZE != 0 || capacity == 0 ||
	    capacity > LFT_CAPACITY_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = rte_zmalloc_socket("lft_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->rec_size = rec_size;
	t->key_len = key_len;
	t->capacity = capacity;
	t->seq = __atomic_fetch_add(&lft_seq_next, 1, __ATOMIC_RELAXED);
	snprintf(hname, sizeof(hname), "%s%u_%s", prefix, t->seq, name);

	hp.name = hname;
	hp.entries = capacity < 8 ? 16 : capacity * 2;
	hp.key_len = key_len;
	hp.hash_func = rte_jhash;
	hp.hash_func_init_val = 0;
	hp.socket_id = socket_id;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
	if (multi_writer)
		hp.extra_flag |= RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD;
	t->hash = rte_hash_create(&hp);
	if (t->hash == NULL)
		goto fail_table;

	max_id = rte_hash_max_key_id(t->hash);
	if (max_id < 0) {
		rte_errno = EINVAL;
		goto fail_hash;
	}
	t->n_slots = (uint32_t)max_id + 1;
	t->records = rte_zmalloc_socket("lft_records", (size_t)rec_size * t->n_slots,
					RTE_CACHE_LINE_SIZE, socket_id);
	if (t->records == NULL) {
		rte_errno = ENOMEM;
		goto fail_hash;
	}
	t->live = rte_zmalloc_socket("lft_live", t->n_slots, RTE_CACHE_LINE_SIZE, socket_id);
	if (t->live == NULL) {
		rte_errno = ENOMEM;
		goto fail_records;
	}
	t->dead = rte_zmalloc_socket("lft_dead", sizeof(int32_t) * t->n_slots, 0, socket_id);
	if (t->dead == NULL) {
		rte_errno = ENOMEM;
		goto fail_live;
	}
	return t;

fail_live:
	rte_free(t->live);
fail_records:
	rte_free(t->records);
fail_hash:
	rte_hash_free(t->hash);
fail_table:
	rte_free(t);
	return NULL;
}

void lft_free(struct lft_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->hash);
	rte_free(t->dead);
	rte_free(t->live);
	rte_free(t->records);
	rte_free(t);
}

uint32_t lft_seq(const struct lft_table *t)
{
	return t->seq;
}

static inline void *lft_rec(const struct lft_table *t, uint32_t pos)
{
	return t->records + (size_t)pos * t->rec_size;
}

/* A position the hash returned; beyond the records only if rte_hash breaks its word. */
static inline int lft_found(const struct lft_table *t, int32_t pos, void **rec)
{
	if (unlikely((uint32_t)pos >= t->n_slots))
		return -ENOSPC;
	*rec = lft_rec(t, (uint32_t)pos);
	return 0;
}

void *lft_lookup(const struct lft_table *t, const void *key)
{
	int32_t pos = rte_hash_lookup(t->hash, key);

	if (pos < 0 || (uint32_t)pos >= t->n_slots)
		return NULL;
	return lft_rec(t, (uint32_t)pos);
}

int lft_add(struct lft_table *t, const void *key, void **rec)
{
	uint8_t expected = 0;
	int32_t pos;

	pos = rte_hash_lookup(t->hash, key);
	if (likely(pos >= 0))
		return lft_found(t, pos, rec);
	if (unlikely(pos != -ENOENT))
		return -EINVAL;
	if (__atomic_fetch_add(&t->n_used, 1, __ATOMIC_RELAXED) >= t->capacity) {
		__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED);
		/* Another writer may just have added this very key. */
		pos = rte_hash_lookup(t->hash, key);
		return pos >= 0 ? lft_found(t, pos, rec) : -ENOSPC;
	}
	pos = rte_hash_add_key(t->hash, key);
	if (unlikely(pos < 0 || (uint32_t)pos >= t->n_slots)) {
		__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	*rec = lft_rec(t, (uint32_t)pos);
	if (__atomic_compare_exchange_n(&t->live[pos], &expected, 1, false, __ATOMIC_RELEASE,
					__ATOMIC_RELAXED)) {
		__atomic_fetch_add(&t->n_live, 1, __ATOMIC_RELAXED);
		return 1;
	}
	__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED); /* the other adder's stays */
	return 0;
}

int lft_del(struct lft_table *t, void *rec)
{
	uintptr_t off = (uintptr_t)rec - (uintptr_t)t->records;
	uint8_t key[LFT_KEY_MAX];
	uint32_t pos;
	int32_t ret;
	void *kp;

	/* Unsigned: a pointer below the records wraps to a huge offset. */
	if (off % t->rec_size != 0 || off / t->rec_size >= t->n_slots)
		return -EINVAL;
	pos = (uint32_t)(off / t->rec_size);
	if (__atomic_load_n(&t->live[pos], __ATOMIC_ACQUIRE) == 0)
		return -ENOENT;
	if (rte_hash_get_key_with_position(t->hash, (int32_t)pos, &kp) != 0)
		return -ENOENT;
	/* The key store entry is ours until reclaim, but delete from a copy all the same. */
	memcpy(key, kp, t->key_len);
	ret = rte_hash_del_key(t->hash, key);
	__atomic_store_n(&t->live[pos], 0, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&t->n_live, 1, __ATOMIC_RELAXED);
	if (ret >= 0)
		t->dead[t->n_dead++] = ret;
	else
		__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELAXED); /* nothing to reclaim */
	return 0;
}

unsigned int lft_reclaim(struct lft_table *t)
{
	unsigned int n = t->n_dead;

	for (uint32_t i = 0; i < t->n_dead; i++) {
		/* Zeroed before the position is free, so its next owner starts clean. */
		memset(lft_rec(t, (uint32_t)t->dead[i]), 0, t->rec_size);
		rte_hash_free_key_with_position(t->hash, t->dead[i]);
		__atomic_fetch_sub(&t->n_used, 1, __ATOMIC_RELEASE);
	}
	t->n_dead = 0;
	return n;
}

void lft_walk(const struct lft_table *t, void (*fn)(void *rec, void *arg), void *arg)
{
	for (uint32_t pos = 0; pos < t->n_slots; pos++)
		if (__atomic_load_n(&t->live[pos], __ATOMIC_ACQUIRE) != 0)
			fn(lft_rec(t, pos), arg);
}

uint32_t lft_count(const struct lft_table *t)
{
	return __atomic_load_n(&t->n_live, __ATOMIC_RELAXED);
}
