/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lb: weighted Maglev tables, smooth weighted round robin, least connections,
 * random and power-of-two choices.
 * See lb.h for the contracts and references.
 *
 * Maglev fill: the usable backends are sorted by key, so a backend's rank and
 * therefore the whole table depend on keys only. A binary min-heap orders the
 * turns by virtual time (2k + 1) / w (k: turns taken so far), compared exactly by
 * cross-multiplication: (2k + 1) <= 2^22 + 1 and w < 2^32, so products fit in 64
 * bits. Each turn walks the backend's permutation to its next empty slot. Work:
 * O(M log n) heap operations plus the permutation walks (O(M log M) expected,
 * as in the paper).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_jhash.h>

#include "lb.h"

#define LB_SEED_OFFSET 0x4d61676cu /* "Magl" */
#define LB_SEED_SKIP   0x65762121u /* an unrelated constant: the two hashes are independent */
#define LB_SEED_FLOW   0x666c6f77u /* "flow" */

uint32_t lb_prime_at_least(uint32_t n)
{
	if (n <= 2)
		return 2;
	for (uint32_t c = n | 1u; c <= LB_MAGLEV_MAX_SIZE; c += 2) {
		bool prime = true;

		for (uint32_t d = 3; (uint64_t)d * d <= c; d += 2) {
			if (c % d == 0) {
				prime = false;
				break;
			}
		}
		if (prime)
			return c;
	}
	return 0;
}

static bool lb_is_prime(uint32_t n)
{
	return n >= 2 && lb_prime_at_least(n) == n;
}

/* One usable backend during a build. */
struct lb_build_ent {
	const char *key;
	uint32_t weight;
	uint16_t idx;  /* position in the caller's list: what the table stores */
	uint32_t pos;  /* next permutation position */
	uint32_t skip; /* permutation step, in [1, size - 1] */
	uint32_t turns;
};

static int lb_ent_key_cmp(const void *a, const void *b)
{
	const struct lb_build_ent *x = a;
	const struct lb_build_ent *y = b;

	return strcmp(x->key, y->key);
}

/* Heap order: does e[a]'s next turn come before e[b]'s? Ties: smaller rank (key). */
static bool lb_turn_before(const struct lb_build_ent *e, uint32_t a, uint32_t b)
{
	uint64_t ta = (2 * (uint64_t)e[a].turns + 1) * e[b].weight;
	uint64_t tb = (2 * (uint64_t)e[b].turns + 1) * e[a].weight;

	if (ta != tb)
		return ta < tb;
	return a < b;
}

static void lb_heap_down(const struct lb_build_ent *e, uint32_t *heap, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1;
		uint32_t best = i;
		uint32_t tmp;

		if (l < n && lb_turn_before(e, heap[l], heap[best]))
			best = l;
		if (l + 1 < n && lb_turn_before(e, heap[l + 1], heap[best]))
			best = l + 1;
		if (best == i)
			return;
		tmp = heap[i];
		heap[i] = heap[best];
		heap[best] = tmp;
		i = best;
	}
}

static void lb_fill(uint16_t *table, uint32_t size, struct lb_build_ent *e, uint32_t *heap,
		    uint32_t n_ent)
{
	uint32_t filled = 0;

	for (uint32_t s = 0; s < size; s++)
		table[s] = LB_NONE;
	if (n_ent == 0)
		return;
	/* Unequal weights make the rank-ordered array no heap: heapify. */
	for (uint32_t i = 0; i < n_ent; i++)
		heap[i] = i;
	for (uint32_t i = n_ent / 2; i-- > 0;)
		lb_heap_down(e, heap, n_ent, i);

	while (filled < size) {
		struct lb_build_ent *b = &e[heap[0]];
		uint32_t c;

		do {
			c = b->pos;
			b->pos += b->skip;
			if (b->pos >= size)
				b->pos -= size;
		} while (table[c] != LB_NONE);
		table[c] = b->idx;
		filled++;
		b->turns++;
		lb_heap_down(e, heap, n_ent, 0);
	}
}

int lb_maglev_build(struct lb_maglev *m, uint32_t size, const struct lb_backend *b, uint16_t n)
{
	struct lb_build_ent *e;
	uint32_t *heap;
	uint32_t n_ent = 0;
	uint16_t *table;

	if (m == NULL || (n > 0 && b == NULL) || n > LB_MAX_BACKENDS)
		return -EINVAL;
	if (size > LB_MAGLEV_MAX_SIZE || size < n || !lb_is_prime(size))
		return -EINVAL;
	for (uint16_t i = 0; i < n; i++)
		if (b[i].key == NULL)
			return -EINVAL;

	/* Entries for all backends (to find duplicate keys); +1: malloc(0) may be NULL. */
	e = malloc((size_t)n * sizeof(*e) + 1);
	if (e == NULL)
		return -ENOMEM;
	for (uint16_t i = 0; i < n; i++)
		e[i] = (struct lb_build_ent){.key = b[i].key, .weight = b[i].weight, .idx = i};
	qsort(e, n, sizeof(*e), lb_ent_key_cmp);
	for (uint16_t i = 1; i < n; i++) {
		if (strcmp(e[i - 1].key, e[i].key) == 0) {
			free(e);
			return -EINVAL;
		}
	}
	/* Keep the usable ones, still in key order. */
	for (uint16_t i = 0; i < n; i++) {
		size_t len = strlen(e[i].key);

		if (!b[e[i].idx].usable || e[i].weight == 0)
			continue;
		e[n_ent] = e[i];
		e[n_ent].pos = rte_jhash(e[i].key, (uint32_t)len, LB_SEED_OFFSET) % size;
		e[n_ent].skip =
			size > 1 ? rte_jhash(e[i].key, (uint32_t)len, LB_SEED_SKIP) % (size - 1) + 1
				 : 1;
		e[n_ent].turns = 0;
		n_ent++;
	}
	heap = malloc((size_t)n_ent * sizeof(*heap) + 1);
	table = malloc((size_t)size * sizeof(*table));
	if (heap == NULL || table == NULL) {
		free(table);
		free(heap);
		free(e);
		return -ENOMEM;
	}
	lb_fill(table, size, e, heap, n_ent);
	free(heap);
	free(e);
	m->table = table;
	m->size = size;
	m->n_backends = n;
	return 0;
}

void lb_maglev_free(struct lb_maglev *m)
{
	if (m == NULL)
		return;
	free(m->table);
	m->table = NULL;
	m->size = 0;
	m->n_backends = 0;
}

uint16_t lb_pick_rr(int64_t *current, const struct lb_backend *b, uint16_t n)
{
	uint16_t best = LB_NONE;
	int64_t total = 0;

	if (current == NULL || b == NULL)
		return LB_NONE;
	for (uint16_t i = 0; i < n && i < LB_MAX_BACKENDS; i++) {
		if (!b[i].usable || b[i].weight == 0)
			continue;
		current[i] += b[i].weight;
		total += b[i].weight;
		if (best == LB_NONE || current[i] > current[best])
			best = i;
	}
	if (best != LB_NONE)
		current[best] -= total;
	return best;
}

/* The first usable backend at or after @p start (wrapping), other than @p skip; LB_NONE: none. */
static uint16_t lb_usable_from(const struct lb_backend *b, uint16_t n, uint16_t start,
			       uint16_t skip)
{
	for (uint16_t k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((start + k) % n);

		if (i != skip && b[i].usable && b[i].weight != 0)
			return i;
	}
	return LB_NONE;
}

uint16_t lb_pick_two(const struct lb_backend *b, uint16_t n, uint64_t r, uint16_t *second)
{
	uint16_t first;

	*second = LB_NONE;
	if (b == NULL || n == 0 || n > LB_MAX_BACKENDS)
		return LB_NONE;
	first = lb_usable_from(b, n, (uint16_t)((uint32_t)r % n), LB_NONE);
	if (first == LB_NONE)
		return LB_NONE;
	*second = lb_usable_from(b, n, (uint16_t)((uint32_t)(r >> 32) % n), first);
	if (*second == LB_NONE)
		*second = first;
	return first;
}

uint16_t lb_pick_least(const struct lb_backend *b, const uint32_t *active, uint16_t n)
{
	uint16_t best = LB_NONE;
	uint64_t best_active = 0;

	if (b == NULL || active == NULL)
		return LB_NONE;
	for (uint16_t i = 0; i < n && i < LB_MAX_BACKENDS; i++) {
		uint64_t a;

		if (!b[i].usable || b[i].weight == 0)
			continue;
		a = __atomic_load_n(&active[i], __ATOMIC_RELAXED);
		if (best == LB_NONE) {
			best = i;
			best_active = a;
			continue;
		}
		if (lb_less_loaded(a, b[i].weight, best_active, b[best].weight) ||
		    (!lb_less_loaded(best_active, b[best].weight, a, b[i].weight) &&
		     b[i].weight > b[best].weight)) {
			best = i;
			best_active = a;
		}
	}
	return best;
}

uint32_t lb_flow_hash4(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		       uint8_t proto)
{
	return rte_jhash_3words(saddr, daddr, (uint32_t)sport << 16 | dport, LB_SEED_FLOW + proto);
}

uint32_t lb_flow_hash6(const uint8_t saddr[16], const uint8_t daddr[16], uint16_t sport,
		       uint16_t dport, uint8_t proto)
{
	uint32_t w[9];

	memcpy(&w[0], saddr, 16);
	memcpy(&w[4], daddr, 16);
	w[8] = (uint32_t)sport << 16 | dport;
	return rte_jhash_32b(w, 9, LB_SEED_FLOW + proto);
}
