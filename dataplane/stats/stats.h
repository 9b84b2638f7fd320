/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats: the per-worker counters of the data plane.
 *
 * Each worker owns one struct stats_block and is its only writer; the control
 * thread and the admin HTTP thread read it to sum over workers. Increments are
 * relaxed atomic load + store (a plain add on x86-64, no lock prefix): readers
 * see whole 64-bit values, never torn ones, and nothing on the fast path waits.
 *
 * The list is counters.def (X-macro lists, as VPP's *_error.def): one per
 * subsystem, in its folder (e.g. dataplane/tcp/tcp_counters.def), included in order.
 */
#ifndef MESHDP_STATS_H
#define MESHDP_STATS_H

#include <stdint.h>
#include <rte_common.h>

enum stats_id {
#define STAT(id, name, help) STAT_##id,
#include "counters.def"
#undef STAT
	STAT_MAX
};

struct stats_block {
	uint64_t c[STAT_MAX];
} __rte_cache_aligned;

/** Add @p n to counter @p id. Only the owning worker may call this. */
static inline void stats_add(struct stats_block *s, enum stats_id id, uint64_t n)
{
	__atomic_store_n(&s->c[id], __atomic_load_n(&s->c[id], __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/** Add one to counter @p id. Only the owning worker may call this. */
static inline void stats_inc(struct stats_block *s, enum stats_id id)
{
	stats_add(s, id, 1);
}

/** Read counter @p id of a block owned by any worker (any thread). */
static inline uint64_t stats_read(const struct stats_block *s, enum stats_id id)
{
	return __atomic_load_n(&s->c[id], __ATOMIC_RELAXED);
}

/** @return the counter's short name (the meshctl key), or NULL for an unknown id. */
const char *stats_name(enum stats_id id);

/** @return the counter's one-line description. */
const char *stats_help(enum stats_id id);

/** Sum counter @p id over @p n blocks. */
uint64_t stats_sum(const struct stats_block *blocks, unsigned int n, enum stats_id id);

#endif
