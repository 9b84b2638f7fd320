/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lftable: a shared table of fixed-size records keyed in a lock-free rte_hash,
 * the storage under the neighbour cache (neigh). It knows nothing of what a
 * record holds. (The per-source rate limits have a table of their own in
 * dataplane/limit, since a multi-writer rte_hash takes a lock on every insert.)
 *
 * Readers on any thread look keys up without locks (the hash is created with
 * RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF). Adding is for the control thread, or
 * for any number of threads when the table is multi-writer
 * (RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD: threads that add must then be EAL
 * lcores or rte_thread_register()ed, for the hash's per-lcore slot cache).
 * Deleting, reclaiming and walking are for the control thread.
 *
 * A record lives at the key's position in the hash, so a lookup is one hash
 * lookup and an index. Records are multiples of a cache line and aligned to
 * one, so two keys never share a line.
 *
 * A deleted key leaves the hash at once, but its position (and the record's
 * memory) stays reserved until lft_reclaim(): a reader that found the record
 * before the delete keeps reading stable memory until its next quiescent
 * state. Reserved positions count against the capacity, so "full" is exact and
 * deterministic; the hash itself gets twice the capacity so that cuckoo
 * displacement never fails below it.
 */
#ifndef MESHDP_LFTABLE_H
#define MESHDP_LFTABLE_H

#include <stdbool.h>
#include <stdint.h>

/** Longest key accepted, in bytes (lft_del() copies the key on its stack). */
#define LFT_KEY_MAX 64

struct lft_table;

/**
 * Control thread, after rte_eal_init(): a table of at most @p capacity keys
 * (live plus deleted-but-not-reclaimed), zeroed records.
 * @param prefix short tag that starts the hash's name ("nh", "lt")
 * @param name the owner's name; the hash is named prefix, lft_seq() and name
 * @param key_len bytes of a key, 1..LFT_KEY_MAX; keys are compared as bytes
 * @param rec_size bytes of a record, a non-zero multiple of RTE_CACHE_LINE_SIZE
 * @param capacity 1..2^24
 * @param multi_writer true if several threads may call lft_add() at once
 * @param socket_id NUMA socket of the memory, or SOCKET_ID_ANY
 * @return the table, or NULL with rte_errno set (EINVAL for a bad parameter)
 */
struct lft_table *lft_create(const char *prefix, const char *name, uint32_t key_len,
			     uint32_t rec_size, uint32_t capacity, bool multi_writer,
			     int socket_id);

/** Control thread: free the table (NULL is allowed). No thread may use it any more. */
void lft_free(struct lft_table *t);

/**
 * The process-wide sequence number the table's name carries, so that the
 * owner can name its other DPDK objects (rings) uniquely to match.
 */
uint32_t lft_seq(const struct lft_table *t);

/**
 * Any thread: the record of @p key, or NULL. A record is returned from the
 * moment its key enters the hash, before the adder has filled it: owners whose
 * readers must not see a half-built record publish their own "ready" field.
 * The pointer stays readable until the caller's next quiescent state.
 */
void *lft_lookup(const struct lft_table *t, const void *key);

/**
 * Add @p key if it is not there. Never blocks, allocates or logs; safe from
 * many threads at once on a multi-writer table (two threads that add the same
 * new key get the same record, and exactly one of them is told it is new).
 * @param rec set to the key's record on success
 * @return 1 added (the record is as lft_reclaim() or lft_create() left it:
 *         zeroed), 0 already there, -ENOSPC the table is full (live plus
 *         reserved positions), -EINVAL the hash refused the key
 */
int lft_add(struct lft_table *t, const void *key, void **rec);

/**
 * Control thread: delete the key that owns @p rec (a pointer from lft_lookup(),
 * lft_add() or lft_walk()). The key leaves the hash now; the record keeps its
 * contents and its position stays reserved until lft_reclaim().
 * @return 0, -ENOENT if the record holds no live key, -EINVAL if @p rec is
 *         not a record of @p t
 */
int lft_del(struct lft_table *t, void *rec);

/**
 * Control thread: zero the records of the keys deleted since the last call
 * and return their positions to the hash. Call only after a grace period
 * (synchronize_rcu()) that began after those deletes.
 * @return positions freed
 */
unsigned int lft_reclaim(struct lft_table *t);

/**
 * Control thread: call @p fn for each live record, in position order. @p fn may
 * lft_del() the record it is given, and no other.
 */
void lft_walk(const struct lft_table *t, void (*fn)(void *rec, void *arg), void *arg);

/** Any thread: live keys (approximate while other threads add). */
uint32_t lft_count(const struct lft_table *t);

#endif
