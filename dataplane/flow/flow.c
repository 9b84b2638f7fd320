/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker flow table: a cuckoo index of 64-byte buckets over an array of
 * compact keys (two per flow, at 2i and 2i + 1) and the entry array, plus a
 * timer wheel with lazy rescheduling. See flow.h.
 *
 * Wheel invariant: every live entry sits in exactly one slot whose absolute
 * number lies in [cur, cur + FLOW_WHEEL_SLOTS - 1], so the slot index (mod
 * FLOW_WHEEL_SLOTS) stored for it gives back the absolute slot. cur is the
 * oldest slot not yet fully processed; a slot is processed only once it has
 * ended (cur < now's slot), so nothing expires early.
 *
 * Index invariant: each key of a live flow is in exactly one slot of one of its
 * two buckets (flow_hash_of()), with the low 16 bits of its hash as signature;
 * a slot is in use when its bit is set in the bucket's occupancy mask.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_prefetch.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dataplane/flow/flow.h"

#define FLOW_NIL	UINT32_MAX /* end of a list */
#define FLOW_SLOT_FREE	UINT16_MAX /* wslot of an entry not in use */
#define FLOW_WHEEL_MASK (FLOW_WHEEL_SLOTS - 1)
#define FLOW_NAME_MAX	16
#define FLOW_BULK	64
#define FLOW_BSLOTS	10u /* key slots per bucket */
#define FLOW_LOAD_PCT	85u /* buckets for 2 * capacity keys at this load */
#define FLOW_MIN_BKTS	16u
#define FLOW_WALK_MAX	64u /* displacements tried by one insert */
#define FLOW_V6_DIV	64u /* IPv6 side array: capacity / FLOW_V6_DIV flows */
#define FLOW_V6_MIN	16u
#define FLOW_SEED	0x5bd1e995u

_Static_assert(sizeof(struct flow_key) == 40, "flow_key has no implicit padding");
_Static_assert(sizeof(struct flow_tuple4) == 16, "flow_tuple4 is 16 bytes, no padding");
_Static_assert(sizeof(struct flow_entry) == 64, "flow_entry is one cache line");
_Static_assert((FLOW_WHEEL_SLOTS & FLOW_WHEEL_MASK) == 0, "wheel size is a power of two");
_Static_assert(FLOW_WHEEL_SLOTS < FLOW_SLOT_FREE, "wheel slots fit in 16 bits");

/*
 * One bucket, one cache line. occ has bit 2 * i set when slot i is in use (the
 * layout of _mm_movemask_epi8 over 16-bit lanes, so a signature match is one
 * AND away from a hit mask).
 */
struct flow_bucket {
	uint16_t sig[FLOW_BSLOTS];
	uint32_t ref[FLOW_BSLOTS]; /* flow index << 1 | enum flow_dir */
	uint32_t occ;
} __rte_cache_aligned;

_Static_assert(sizeof(struct flow_bucket) == 64, "a bucket is one cache line");

/* The two 40-byte keys of an IPv6 flow. */
struct flow_v6keys {
	struct flow_key k[2];
};

/* Wheel links of one entry, kept out of the 64-byte entry. */
struct flow_link {
	uint32_t next; /* wheel list, or the free list when the entry is not in use */
	uint32_t prev;
};

/* Counters: the owner worker writes every field (relaxed atomic stores), any thread reads. */
struct flow_counters {
	uint64_t inserts;
	uint64_t removes;
	uint64_t expired;
	uint64_t lookups;
	uint64_t hits;
	uint64_t full;
	uint64_t exists;
	uint64_t count;
} __rte_cache_aligned;

struct flow_table {
	/* Owner worker only. */
	struct flow_bucket *bkt;
	struct flow_tuple4 *keys; /* [2 * capacity]; IPv6 flows: src = side slot, family 6 */
	struct flow_entry *entries;
	uint64_t cur; /* absolute slot number, see the invariant above */
	/* now's slot at the last rebase of the window (flow_expire() after a long
	 * gap): until cur reaches it, a slot index may stand for an earlier
	 * absolute slot than the one it was linked at */
	uint64_t wrap_end;
	struct flow_link *links;
	uint16_t *wslot; /* wheel slot per entry, FLOW_SLOT_FREE when not in use */
	struct flow_v6keys *v6;
	uint32_t *v6_free; /* stack of free side slots */
	uint32_t v6_cap, v6_top;
	uint32_t n_bkt;
	uint32_t capacity;
	uint32_t free_head;
	uint32_t shift; /* slot = tsc >> shift */
	uint32_t rnd;	/* xorshift state for the cuckoo walk */
	bool cur_valid; /* cur is set from the first clock seen */
	size_t bytes_per_flow;
	const struct rte_memzone *mz; /* this struct; its name keeps table names unique */
	struct flow_counters ctr;
	uint32_t head[FLOW_WHEEL_SLOTS];
} __rte_cache_aligned;

_Static_assert(offsetof(struct flow_table, keys) == offsetof(struct flow_table_lead, keys) &&
		       offsetof(struct flow_table, entries) ==
			       offsetof(struct flow_table_lead, entries) &&
		       offsetof(struct flow_table, cur) == offsetof(struct flow_table_lead, cur) &&
		       offsetof(struct flow_table, wrap_end) ==
			       offsetof(struct flow_table_lead, wrap_end),
	       "flow.h's inline helpers read the table's leading members");

static inline void flow_ctr_add(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

static inline void flow_ctr_sub(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, *c - v, __ATOMIC_RELAXED);
}

static size_t flow_heap_used(void)
{
	struct rte_malloc_socket_stats st;
	size_t sum = 0;
	unsigned int i;

	for (i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

struct flow_table *flow_table_create(const char *name, uint32_t capacity, int socket_id)
{
	char zname[RTE_MEMZONE_NAMESIZE];
	const struct rte_memzone *mz;
	struct flow_table *t;
	size_t before, after;
	uint64_t slot_hz, nb;
	uint32_t i;

	if (name == NULL || strlen(name) == 0 || strlen(name) > FLOW_NAME_MAX || capacity < 4 ||
	    capacity > (1u << 29)) {
		rte_errno = EINVAL;
		return NULL;
	}
	before = flow_heap_used();
	/* A memzone holds the table: DPDK refuses a name in use (EEXIST). */
	snprintf(zname, sizeof(zname), "fl_%s", name);
	mz = rte_memzone_reserve_aligned(zname, sizeof(*t), socket_id, 0, RTE_CACHE_LINE_SIZE);
	if (mz == NULL)
		return NULL; /* rte_errno set */
	t = mz->addr;
	memset(t, 0, sizeof(*t));
	t->mz = mz;
	t->capacity = capacity;
	nb = ((uint64_t)2 * capacity * 100 + (uint64_t)FLOW_BSLOTS * FLOW_LOAD_PCT - 1) /
	     ((uint64_t)FLOW_BSLOTS * FLOW_LOAD_PCT);
	t->n_bkt = (uint32_t)RTE_MAX(nb, (uint64_t)FLOW_MIN_BKTS);
	t->v6_cap = RTE_MAX(capacity / FLOW_V6_DIV, FLOW_V6_MIN);
	t->bkt = rte_zmalloc_socket("flow_buckets", sizeof(struct flow_bucket) * t->n_bkt,
				    RTE_CACHE_LINE_SIZE, socket_id);
	t->keys = rte_malloc_socket("flow_keys", sizeof(struct flow_tuple4) * 2 * (size_t)capacity,
				    RTE_CACHE_LINE_SIZE, socket_id);
	t->entries = rte_zmalloc_socket("flow_entries", sizeof(struct flow_entry) * capacity,
					RTE_CACHE_LINE_SIZE, socket_id);
	t->links = rte_malloc_socket("flow_links", sizeof(struct flow_link) * capacity,
				     RTE_CACHE_LINE_SIZE, socket_id);
	t->wslot = rte_malloc_socket("flow_wslot", sizeof(uint16_t) * capacity, RTE_CACHE_LINE_SIZE,
				     socket_id);
	t->v6 = rte_malloc_socket("flow_v6", sizeof(struct flow_v6keys) * t->v6_cap,
				  RTE_CACHE_LINE_SIZE, socket_id);
	t->v6_free = rte_malloc_socket("flow_v6_free", sizeof(uint32_t) * t->v6_cap,
				       RTE_CACHE_LINE_SIZE, socket_id);
	if (t->bkt == NULL || t->keys == NULL || t->entries == NULL || t->links == NULL ||
	    t->wslot == NULL || t->v6 == NULL || t->v6_free == NULL) {
		flow_table_free(t);
		rte_errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < capacity; i++) {
		t->links[i].next = i + 1 < capacity ? i + 1 : FLOW_NIL;
		t->wslot[i] = FLOW_SLOT_FREE;
	}
	for (i = 0; i < t->v6_cap; i++)
		t->v6_free[i] = t->v6_cap - 1 - i;
	t->v6_top = t->v6_cap;
	t->free_head = 0;
	t->rnd = 0x2545f491u;
	for (i = 0; i < FLOW_WHEEL_SLOTS; i++)
		t->head[i] = FLOW_NIL;
	/* Largest power of two not above hz / 16: slots of 1/32 s to 1/16 s. */
	slot_hz = rte_get_tsc_hz() / 16;
	t->shift = slot_hz > 1 ? 63 - (uint32_t)__builtin_clzll(slot_hz) : 0;
	after = flow_heap_used();
	t->bytes_per_flow = after > before ? (after - before) / capacity : 0;
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	rte_free(t->v6_free);
	rte_free(t->v6);
	rte_free(t->wslot);
	rte_free(t->links);
	rte_free(t->entries);
	rte_free(t->keys);
	rte_free(t->bkt);
	rte_memzone_free(t->mz);
}

uint32_t flow_table_capacity(const struct flow_table *t)
{
	return t->capacity;
}

uint32_t flow_table_count(const struct flow_table *t)
{
	return (uint32_t)__atomic_load_n(&t->ctr.count, __ATOMIC_RELAXED);
}

size_t flow_table_bytes_per_flow(const struct flow_table *t)
{
	return t->bytes_per_flow;
}

void flow_table_mem(const struct flow_table *t, struct flow_table_mem *out)
{
	const double n = t->capacity;

	out->entries = sizeof(struct flow_entry);
	out->keys = 2 * sizeof(struct flow_tuple4);
	out->index = (double)t->n_bkt * sizeof(struct flow_bucket) / n;
	out->wheel = sizeof(struct flow_link) + sizeof(uint16_t);
	out->ipv6 = (double)t->v6_cap * (sizeof(struct flow_v6keys) + sizeof(uint32_t)) / n;
}

uint64_t flow_table_removals(const struct flow_table *t)
{
	return t->ctr.removes + t->ctr.expired;
}

uint64_t flow_table_slot_cycles(const struct flow_table *t)
{
	return UINT64_C(1) << t->shift;
}

void flow_table_stats(const struct flow_table *t, struct flow_table_stats *out)
{
	out->inserts = __atomic_load_n(&t->ctr.inserts, __ATOMIC_RELAXED);
	out->removes = __atomic_load_n(&t->ctr.removes, __ATOMIC_RELAXED);
	out->expired = __atomic_load_n(&t->ctr.expired, __ATOMIC_RELAXED);
	out->lookups = __atomic_load_n(&t->ctr.lookups, __ATOMIC_RELAXED);
	out->hits = __atomic_load_n(&t->ctr.hits, __ATOMIC_RELAXED);
	out->full = __atomic_load_n(&t->ctr.full, __ATOMIC_RELAXED);
	out->exists = __atomic_load_n(&t->ctr.exists, __ATOMIC_RELAXED);
	out->count = __atomic_load_n(&t->ctr.count, __ATOMIC_RELAXED);
}

/* --- timer wheel ------------------------------------------------------------------------- */

static inline void flow_clock_start(struct flow_table *t, uint64_t now)
{
	if (unlikely(!t->cur_valid)) {
		t->cur = now >> t->shift;
		t->cur_valid = true;
	}
}

/* Absolute slot for an expiry, clamped into the wheel's window. */
static inline uint64_t flow_target(const struct flow_table *t, uint64_t expire)
{
	uint64_t abs = expire >> t->shift;

	if (abs < t->cur)
		return t->cur;
	if (abs > t->cur + FLOW_WHEEL_MASK)
		return t->cur + FLOW_WHEEL_MASK;
	return abs;
}

static inline uint64_t flow_slot_abs(const struct flow_table *t, uint32_t slot)
{
	return t->cur + ((slot - (uint32_t)t->cur) & FLOW_WHEEL_MASK);
}

static inline void flow_wheel_link(struct flow_table *t, uint32_t idx, uint64_t abs)
{
	struct flow_link *l = &t->links[idx];
	uint32_t s = (uint32_t)abs & FLOW_WHEEL_MASK;

	t->wslot[idx] = (uint16_t)s;
	l->prev = FLOW_NIL;
	l->next = t->head[s];
	if (l->next != FLOW_NIL)
		t->links[l->next].prev = idx;
	t->head[s] = idx;
}

static inline void flow_wheel_unlink(struct flow_table *t, uint32_t idx)
{
	struct flow_link *l = &t->links[idx];

	if (l->prev != FLOW_NIL)
		t->links[l->prev].next = l->next;
	else
		t->head[t->wslot[idx]] = l->next;
	if (l->next != FLOW_NIL)
		t->links[l->next].prev = l->prev;
}

/* Set @p e's expiry. Later: lazy, the slot re-slots it when due (see
 * flow_refresh_is_lazy()). Earlier or first arming: move it now. */
static __rte_always_inline void flow_refresh_inline(struct flow_table *t, struct flow_entry *e,
						    uint64_t expire)
{
	uint32_t idx;
	uint64_t target;

	if (likely(flow_refresh_is_lazy(t, e, expire))) {
		e->expire = expire;
		return;
	}
	idx = (uint32_t)(e - t->entries);
	e->expire = expire;
	target = flow_target(t, expire);
	if ((e->track & FLOW_TRK_FRESH) || target < flow_slot_abs(t, t->wslot[idx])) {
		e->track &= (uint8_t)~FLOW_TRK_FRESH;
		flow_wheel_unlink(t, idx);
		flow_wheel_link(t, idx, target);
	}
}

void flow_refresh(struct flow_table *t, struct flow_entry *e, uint64_t expire)
{
	flow_refresh_inline(t, e, expire);
}

/* --- index ----------------------------------------------------------------------------- */

/* A key's hash: CRC32-C, then the two buckets and the signature derive from it. */
static inline uint32_t flow_hash4(const struct flow_tuple4 *k)
{
	uint64_t a, b;

	memcpy(&a, k, 8);
	memcpy(&b, (const uint8_t *)k + 8, 8);
	return rte_hash_crc_8byte(b, rte_hash_crc_8byte(a, FLOW_SEED));
}

static inline uint32_t flow_hash6(const struct flow_key *k)
{
	return rte_hash_crc(k, sizeof(*k), FLOW_SEED);
}

/* The murmur3 finalizer: the second bucket comes from all 32 bits of the hash. */
static inline uint32_t flow_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Bucket i of a hash: multiply-shift over any bucket count (no power of two needed). */
static inline uint32_t flow_b1(const struct flow_table *t, uint32_t h)
{
	return (uint32_t)(((uint64_t)h * t->n_bkt) >> 32);
}

static inline uint32_t flow_b2(const struct flow_table *t, uint32_t h)
{
	return (uint32_t)(((uint64_t)flow_mix(h) * t->n_bkt) >> 32);
}

/* Slots of @p b in use whose signature is @p sig, as bits 2 * i. */
static inline uint32_t flow_sig_hits(const struct flow_bucket *b, uint16_t sig)
{
	uint32_t m;

#ifdef __SSE2__
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)b->sig);

	m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi16(v, _mm_set1_epi16((short)sig)));
	m |= (uint32_t)(b->sig[8] == sig) << 16 | (uint32_t)(b->sig[9] == sig) << 18;
#else
	m = 0;
	for (unsigned int i = 0; i < FLOW_BSLOTS; i++)
		m |= (uint32_t)(b->sig[i] == sig) << (2 * i);
#endif
	return m & b->occ;
}

static inline bool flow_tuple_eq(const struct flow_tuple4 *a, const struct flow_tuple4 *b)
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, (const uint8_t *)a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, (const uint8_t *)b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* The 40-byte key stored for @p ref, which must be an IPv6 flow's. */
static inline const struct flow_key *flow_v6key(const struct flow_table *t, uint32_t ref)
{
	return &t->v6[t->keys[ref & ~1u].src].k[ref & 1];
}

/* The hash a stored key was filed under. */
static uint32_t flow_ref_hash(const struct flow_table *t, uint32_t ref)
{
	if (t->keys[ref].family == 4)
		return flow_hash4(&t->keys[ref]);
	return flow_hash6(flow_v6key(t, ref));
}

/* Search bucket @p b for an IPv4 key. @return its ref, or FLOW_NIL. */
static inline uint32_t flow_find4_in(const struct flow_table *t, const struct flow_bucket *b,
				     uint16_t sig, const struct flow_tuple4 *k)
{
	uint32_t m = flow_sig_hits(b, sig);

	while (m != 0) {
		uint32_t r = b->ref[__builtin_ctz(m) >> 1];

		if (likely(flow_tuple_eq(&t->keys[r], k)))
			return r;
		m &= m - 1;
	}
	return FLOW_NIL;
}

static inline uint32_t flow_find4(const struct flow_table *t, const struct flow_tuple4 *k,
				  uint32_t h)
{
	uint32_t r = flow_find4_in(t, &t->bkt[flow_b1(t, h)], (uint16_t)h, k);

	if (r == FLOW_NIL)
		r = flow_find4_in(t, &t->bkt[flow_b2(t, h)], (uint16_t)h, k);
	return r;
}

static uint32_t flow_find6(const struct flow_table *t, const struct flow_key *k, uint32_t h)
{
	const uint32_t bs[2] = {flow_b1(t, h), flow_b2(t, h)};

	for (int j = 0; j < 2; j++) {
		const struct flow_bucket *b = &t->bkt[bs[j]];
		uint32_t m = flow_sig_hits(b, (uint16_t)h);

		while (m != 0) {
			uint32_t r = b->ref[__builtin_ctz(m) >> 1];

			if (t->keys[r].family == 6 && memcmp(flow_v6key(t, r), k, sizeof(*k)) == 0)
				return r;
			m &= m - 1;
		}
	}
	return FLOW_NIL;
}

/* A key of the API as a compact one. @return false for an IPv4 key with stray bytes. */
static bool flow_key_to_tuple4(const struct flow_key *k, struct flow_tuple4 *out)
{
	static const uint8_t zero[12];

	if (memcmp(k->src + 4, zero, 12) != 0 || memcmp(k->dst + 4, zero, 12) != 0)
		return false;
	memcpy(&out->src, k->src, 4);
	memcpy(&out->dst, k->dst, 4);
	flow_tuple4(out, out->src, out->dst, k->sport, k->dport, k->proto, k->zone);
	return true;
}

/* Find any key of the API. @return its ref, or FLOW_NIL. */
static uint32_t flow_find(const struct flow_table *t, const struct flow_key *k)
{
	struct flow_tuple4 k4;

	if (k->family == 4)
		return flow_key_to_tuple4(k, &k4) ? flow_find4(t, &k4, flow_hash4(&k4)) : FLOW_NIL;
	if (k->family == 6)
		return flow_find6(t, k, flow_hash6(k));
	return FLOW_NIL;
}

static inline uint32_t flow_rand(struct flow_table *t)
{
	uint32_t x = t->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	t->rnd = x;
	return x;
}

static inline int flow_free_slot(const struct flow_bucket *b)
{
	uint32_t freem = ~b->occ & 0x55555u; /* bit 2i for i < FLOW_BSLOTS */

	return freem != 0 ? (int)(__builtin_ctz(freem) >> 1) : -1;
}

static inline void flow_slot_set(struct flow_bucket *b, unsigned int s, uint16_t sig, uint32_t ref)
{
	b->sig[s] = sig;
	b->ref[s] = ref;
	b->occ |= 1u << (2 * s);
}

/*
 * File @p ref (hash @p h) in one of its buckets. With both full, walk: move a
 * key of the current bucket to its other bucket, repeatedly, until one has
 * room; the path is recorded and applied from its end, so a failed walk
 * changes nothing. @return 0 or -ENOSPC.
 */
static int flow_place(struct flow_table *t, uint32_t ref, uint32_t h)
{
	uint32_t pb[FLOW_WALK_MAX], cur;
	uint8_t ps[FLOW_WALK_MAX];
	const uint32_t b1 = flow_b1(t, h), b2 = flow_b2(t, h);
	int s = flow_free_slot(&t->bkt[b1]);
	unsigned int d;

	if (s >= 0) {
		flow_slot_set(&t->bkt[b1], (unsigned int)s, (uint16_t)h, ref);
		return 0;
	}
	s = flow_free_slot(&t->bkt[b2]);
	if (s >= 0) {
		flow_slot_set(&t->bkt[b2], (unsigned int)s, (uint16_t)h, ref);
		return 0;
	}
	cur = (flow_rand(t) & 1) ? b2 : b1;
	for (d = 0; d < FLOW_WALK_MAX; d++) {
		const struct flow_bucket *b = &t->bkt[cur];
		uint32_t vh, alt, start = flow_rand(t) % FLOW_BSLOTS;
		unsigned int vs = FLOW_BSLOTS, k, j;

		/* a victim that can move (its other bucket is not this one) and is
		 * not on the path already */
		for (k = 0; k < FLOW_BSLOTS && vs == FLOW_BSLOTS; k++) {
			unsigned int c = (start + k) % FLOW_BSLOTS;
			bool on_path = false;

			for (j = 0; j < d; j++)
				on_path |= pb[j] == cur && ps[j] == c;
			if (on_path)
				continue;
			vh = flow_ref_hash(t, b->ref[c]);
			alt = flow_b1(t, vh) == cur ? flow_b2(t, vh) : flow_b1(t, vh);
			if (alt != cur)
				vs = c;
		}
		if (vs == FLOW_BSLOTS)
			return -ENOSPC;
		pb[d] = cur;
		ps[d] = (uint8_t)vs;
		vh = flow_ref_hash(t, b->ref[vs]);
		alt = flow_b1(t, vh) == cur ? flow_b2(t, vh) : flow_b1(t, vh);
		s = flow_free_slot(&t->bkt[alt]);
		if (s >= 0) {
			/* apply from the end: each victim moves into the slot freed after it */
			uint32_t to_b = alt;
			unsigned int to_s = (unsigned int)s;

			for (int i = (int)d; i >= 0; i--) {
				struct flow_bucket *from = &t->bkt[pb[i]];

				flow_slot_set(&t->bkt[to_b], to_s, from->sig[ps[i]],
					      from->ref[ps[i]]);
				from->occ &= ~(1u << (2 * ps[i]));
				to_b = pb[i];
				to_s = ps[i];
			}
			flow_slot_set(&t->bkt[to_b], to_s, (uint16_t)h, ref);
			return 0;
		}
		cur = alt;
	}
	return -ENOSPC;
}

/* Take @p ref (hash @p h) out of the index. */
static void flow_unplace(struct flow_table *t, uint32_t ref, uint32_t h)
{
	const uint32_t bs[2] = {flow_b1(t, h), flow_b2(t, h)};

	for (int j = 0; j < 2; j++) {
		struct flow_bucket *b = &t->bkt[bs[j]];
		uint32_t m = flow_sig_hits(b, (uint16_t)h);

		while (m != 0) {
			unsigned int s = (unsigned int)__builtin_ctz(m) >> 1;

			if (b->ref[s] == ref) {
				b->occ &= ~(1u << (2 * s));
				return;
			}
			m &= m - 1;
		}
	}
}

/* --- insert, lookup, remove -------------------------------------------------------------- */

static inline bool flow_entry_live(const struct flow_table *t, const struct flow_entry *e)
{
	uintptr_t off;

	if (e == NULL || (uintptr_t)e < (uintptr_t)t->entries)
		return false;
	off = (uintptr_t)e - (uintptr_t)t->entries;
	if (off % sizeof(*e) != 0 || off / sizeof(*e) >= t->capacity)
		return false;
	return t->wslot[off / sizeof(*e)] != FLOW_SLOT_FREE;
}

static void flow_release(struct flow_table *t, uint32_t idx)
{
	for (uint32_t d = 0; d < 2; d++)
		flow_unplace(t, idx << 1 | d, flow_ref_hash(t, idx << 1 | d));
	if (t->keys[idx << 1].family == 6)
		t->v6_free[t->v6_top++] = t->keys[idx << 1].src;
	flow_wheel_unlink(t, idx);
	t->wslot[idx] = FLOW_SLOT_FREE;
	t->links[idx].next = t->free_head;
	t->free_head = idx;
	flow_ctr_sub(&t->ctr.count, 1);
}

/*
 * The common part of the inserts: the keys (IPv4 @p k4 or IPv6 @p k6, two of
 * them) are valid, distinct, and hash to @p h. Duplicates are refused before
 * a full table, as a duplicate is a duplicate even when the table is full.
 */
static int flow_insert_keys(struct flow_table *t, const struct flow_tuple4 *k4,
			    const struct flow_key *k6, const uint32_t h[2], uint64_t now,
			    struct flow_entry **out)
{
	struct flow_entry *e;
	uint32_t idx;

	for (int d = 0; d < 2; d++) {
		uint32_t r = k4 ? flow_find4(t, &k4[d], h[d]) : flow_find6(t, &k6[d], h[d]);

		if (r != FLOW_NIL) {
			flow_ctr_add(&t->ctr.exists, 1);
			return -EEXIST;
		}
	}
	if (unlikely(t->free_head == FLOW_NIL || (k6 != NULL && t->v6_top == 0))) {
		flow_ctr_add(&t->ctr.full, 1);
		return -ENOSPC;
	}
	idx = t->free_head;
	if (k4 != NULL) {
		t->keys[idx << 1] = k4[0];
		t->keys[idx << 1 | 1] = k4[1];
	} else {
		uint32_t v = t->v6_free[t->v6_top - 1];

		t->v6[v].k[0] = k6[0];
		t->v6[v].k[1] = k6[1];
		memset(&t->keys[idx << 1], 0, 2 * sizeof(struct flow_tuple4));
		t->keys[idx << 1].src = v;
		t->keys[idx << 1].family = 6;
		t->keys[idx << 1 | 1].src = v;
		t->keys[idx << 1 | 1].family = 6;
	}
	if (unlikely(flow_place(t, idx << 1, h[0]) != 0)) {
		flow_ctr_add(&t->ctr.full, 1);
		return -ENOSPC;
	}
	if (unlikely(flow_place(t, idx << 1 | 1, h[1]) != 0)) {
		flow_unplace(t, idx << 1, h[0]);
		flow_ctr_add(&t->ctr.full, 1);
		return -ENOSPC;
	}
	if (k6 != NULL)
		t->v6_top--;
	t->free_head = t->links[idx].next;
	e = &t->entries[idx];
	memset(e, 0, sizeof(*e));
	e->proto = k4 ? k4[0].proto : k6[0].proto;
	e->family = k4 ? 4 : 6;
	e->track = FLOW_TRK_FRESH;
	e->expire = now;
	flow_clock_start(t, now);
	flow_wheel_link(t, idx, flow_target(t, now));
	flow_ctr_add(&t->ctr.inserts, 1);
	flow_ctr_add(&t->ctr.count, 1);
	if (out != NULL)
		*out = e;
	return 0;
}

int flow_insert4(struct flow_table *t, const struct flow_tuple4 *fwd, const struct flow_tuple4 *rev,
		 uint64_t now, struct flow_entry **out)
{
	struct flow_tuple4 k[2];
	uint32_t h[2];

	if (unlikely(t == NULL || fwd == NULL || rev == NULL || fwd->family != 4 ||
		     rev->family != 4 || flow_tuple_eq(fwd, rev)))
		return -EINVAL;
	k[0] = *fwd;
	k[1] = *rev;
	h[0] = flow_hash4(&k[0]);
	h[1] = flow_hash4(&k[1]);
	return flow_insert_keys(t, k, NULL, h, now, out);
}

int flow_insert(struct flow_table *t, const struct flow_key *fwd, const struct flow_key *rev,
		uint64_t now, struct flow_entry **out)
{
	struct flow_tuple4 k4[2];
	struct flow_key k6[2];
	uint32_t h[2];

	if (unlikely(t == NULL || fwd == NULL || rev == NULL))
		return -EINVAL;
	if (unlikely(memcmp(fwd, rev, sizeof(*fwd)) == 0 || fwd->family != rev->family))
		return -EINVAL;
	if (fwd->family == 4) {
		if (!flow_key_to_tuple4(fwd, &k4[0]) || !flow_key_to_tuple4(rev, &k4[1]))
			return -EINVAL;
		return flow_insert4(t, &k4[0], &k4[1], now, out);
	}
	if (fwd->family != 6)
		return -EINVAL;
	k6[0] = *fwd;
	k6[1] = *rev;
	h[0] = flow_hash6(&k6[0]);
	h[1] = flow_hash6(&k6[1]);
	return flow_insert_keys(t, NULL, k6, h, now, out);
}

unsigned int flow_lookup_bulk4(struct flow_table *t, const struct flow_tuple4 *keys, unsigned int n,
			       struct flow_entry **entries, uint8_t *dir)
{
	uint32_t h[FLOW_BULK], cand[FLOW_BULK];
	unsigned int off, i, m, hits = 0;

	for (off = 0; off < n; off += m) {
		const struct flow_tuple4 *k = keys + off;

		m = RTE_MIN(n - off, (unsigned int)FLOW_BULK);
		/* level 1: hash, prefetch the first bucket (most keys live there) */
		for (i = 0; i < m; i++) {
			h[i] = flow_hash4(&k[i]);
			rte_prefetch0(&t->bkt[flow_b1(t, h[i])]);
		}
		/* level 2: signatures, prefetch the first candidate's key */
		for (i = 0; i < m; i++) {
			const struct flow_bucket *b = &t->bkt[flow_b1(t, h[i])];
			uint32_t sm = flow_sig_hits(b, (uint16_t)h[i]);

			cand[i] = sm != 0 ? b->ref[__builtin_ctz(sm) >> 1] : FLOW_NIL;
			if (cand[i] != FLOW_NIL)
				rte_prefetch0(&t->keys[cand[i]]);
		}
		/* level 3: compare; anything but a first-candidate hit takes the long way */
		for (i = 0; i < m; i++) {
			uint32_t r = cand[i];

			if (r == FLOW_NIL || unlikely(!flow_tuple_eq(&t->keys[r], &k[i])))
				r = flow_find4(t, &k[i], h[i]);
			if (r == FLOW_NIL) {
				entries[off + i] = NULL;
				dir[off + i] = 0;
				continue;
			}
			entries[off + i] = &t->entries[r >> 1];
			dir[off + i] = (uint8_t)(r & 1);
			rte_prefetch0(entries[off + i]);
			hits++;
		}
	}
	flow_ctr_add(&t->ctr.lookups, n);
	flow_ctr_add(&t->ctr.hits, hits);
	return hits;
}

unsigned int flow_lookup_bulk(struct flow_table *t, const struct flow_key **keys, unsigned int n,
			      struct flow_entry **entries, uint8_t *dir)
{
	struct flow_tuple4 k4[FLOW_BULK];
	unsigned int off, i, m, hits = 0;

	for (off = 0; off < n; off += m) {
		bool all4 = true;

		m = RTE_MIN(n - off, (unsigned int)FLOW_BULK);
		for (i = 0; i < m && all4; i++)
			all4 = keys[off + i]->family == 4 &&
			       flow_key_to_tuple4(keys[off + i], &k4[i]);
		if (all4) {
			/* the pipelined path; it counts the lookups itself */
			hits += flow_lookup_bulk4(t, k4, m, entries + off, dir + off);
			continue;
		}
		for (i = 0; i < m; i++) {
			uint32_t r = flow_find(t, keys[off + i]);

			flow_ctr_add(&t->ctr.lookups, 1);
			if (r == FLOW_NIL) {
				entries[off + i] = NULL;
				dir[off + i] = 0;
				continue;
			}
			flow_ctr_add(&t->ctr.hits, 1);
			entries[off + i] = &t->entries[r >> 1];
			dir[off + i] = (uint8_t)(r & 1);
			hits++;
		}
	}
	return hits;
}

static inline struct flow_entry *flow_hit(struct flow_table *t, uint32_t r, uint8_t *dir)
{
	flow_ctr_add(&t->ctr.lookups, 1);
	if (r == FLOW_NIL)
		return NULL;
	flow_ctr_add(&t->ctr.hits, 1);
	if (dir != NULL)
		*dir = (uint8_t)(r & 1);
	return &t->entries[r >> 1];
}

struct flow_entry *flow_lookup(struct flow_table *t, const struct flow_key *key, uint8_t *dir)
{
	return flow_hit(t, flow_find(t, key), dir);
}

struct flow_entry *flow_lookup4(struct flow_table *t, const struct flow_tuple4 *key, uint8_t *dir)
{
	return flow_hit(t, flow_find4(t, key, flow_hash4(key)), dir);
}

int flow_remove(struct flow_table *t, struct flow_entry *e)
{
	if (unlikely(t == NULL || !flow_entry_live(t, e)))
		return -EINVAL;
	flow_release(t, (uint32_t)(e - t->entries));
	flow_ctr_add(&t->ctr.removes, 1);
	return 0;
}

static void flow_key_of(const struct flow_table *t, uint32_t ref, struct flow_key *out)
{
	const struct flow_tuple4 *k = &t->keys[ref];

	if (k->family == 6) {
		*out = *flow_v6key(t, ref);
		return;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->src, &k->src, 4);
	memcpy(out->dst, &k->dst, 4);
	out->sport = k->sport;
	out->dport = k->dport;
	out->zone = k->zone;
	out->proto = k->proto;
	out->family = 4;
}

int flow_entry_keys(const struct flow_table *t, const struct flow_entry *e, struct flow_key *fwd,
		    struct flow_key *rev)
{
	uint32_t idx;

	if (t == NULL || !flow_entry_live(t, e))
		return -EINVAL;
	idx = (uint32_t)(e - t->entries);
	if (fwd != NULL)
		flow_key_of(t, idx << 1 | FLOW_DIR_FWD, fwd);
	if (rev != NULL)
		flow_key_of(t, idx << 1 | FLOW_DIR_REV, rev);
	return 0;
}

/* --- tracking ---------------------------------------------------------------------------- */

void flow_timeouts_default(struct flow_timeouts *to, uint64_t tsc_hz)
{
	to->syn = 30 * tsc_hz;
	to->established = 3600 * tsc_hz;
	to->fin = 120 * tsc_hz;
	to->time_wait = 120 * tsc_hz;
	to->close = 10 * tsc_hz;
	to->udp = 30 * tsc_hz;
	to->udp_assured = 180 * tsc_hz;
	to->icmp = 30 * tsc_hz;
}

static uint64_t flow_tcp_timeout(int state, const struct flow_timeouts *to)
{
	switch (state) {
	case FLOW_TCP_ESTABLISHED:
		return to->established;
	case FLOW_TCP_FIN_WAIT:
	case FLOW_TCP_CLOSE_WAIT:
	case FLOW_TCP_LAST_ACK:
		return to->fin;
	case FLOW_TCP_TIME_WAIT:
		return to->time_wait;
	case FLOW_TCP_CLOSED:
		return to->close;
	default:
		return to->syn;
	}
}

static int flow_tcp_next(struct flow_entry *e, uint8_t dir, uint8_t f)
{
	int s = e->state;

	if (f & FLOW_TCP_RST)
		return FLOW_TCP_CLOSED;
	if (f & FLOW_TCP_SYN) {
		if (dir == FLOW_DIR_FWD && !(f & FLOW_TCP_ACK) &&
		    (s == FLOW_ST_NONE || s == FLOW_TCP_TIME_WAIT || s == FLOW_TCP_CLOSED)) {
			e->track &= (uint8_t) ~(FLOW_TRK_FIN_FWD | FLOW_TRK_FIN_REV |
						FLOW_TRK_FIRST_FIN_REV);
			return FLOW_TCP_SYN_SENT;
		}
		if (dir == FLOW_DIR_REV && (f & FLOW_TCP_ACK) && s == FLOW_TCP_SYN_SENT)
			return FLOW_TCP_SYN_RECV;
		return s;
	}
	if (f & FLOW_TCP_FIN) {
		e->track |= dir == FLOW_DIR_FWD ? FLOW_TRK_FIN_FWD : FLOW_TRK_FIN_REV;
		switch (s) {
		case FLOW_TCP_SYN_RECV:
		case FLOW_TCP_ESTABLISHED:
			if (dir == FLOW_DIR_REV)
				e->track |= FLOW_TRK_FIRST_FIN_REV;
			return dir == FLOW_DIR_FWD ? FLOW_TCP_FIN_WAIT : FLOW_TCP_CLOSE_WAIT;
		case FLOW_TCP_FIN_WAIT:
			return dir == FLOW_DIR_REV ? FLOW_TCP_LAST_ACK : s;
		case FLOW_TCP_CLOSE_WAIT:
			return dir == FLOW_DIR_FWD ? FLOW_TCP_LAST_ACK : s;
		default:
			return s;
		}
	}
	/* ACK only. */
	if (s == FLOW_TCP_SYN_RECV && dir == FLOW_DIR_FWD)
		return FLOW_TCP_ESTABLISHED;
	if (s == FLOW_TCP_LAST_ACK && dir == ((e->track & FLOW_TRK_FIRST_FIN_REV) ? 1 : 0))
		return FLOW_TCP_TIME_WAIT;
	return s;
}

int flow_tcp_update(struct flow_table *t, struct flow_entry *e, uint8_t dir, uint8_t tcp_flags,
		    uint64_t now, const struct flow_timeouts *to)
{
	uint8_t f = tcp_flags & (FLOW_TCP_FIN | FLOW_TCP_SYN | FLOW_TCP_RST | FLOW_TCP_ACK);
	int s;

	if (unlikely(dir > FLOW_DIR_REV || e->proto != IPPROTO_TCP || f == 0 ||
		     (f & (FLOW_TCP_SYN | FLOW_TCP_FIN)) == (FLOW_TCP_SYN | FLOW_TCP_FIN)))
		return -EINVAL;
	if (dir == FLOW_DIR_REV)
		e->track |= FLOW_TRK_SEEN_REPLY;
	s = flow_tcp_next(e, dir, f);
	e->state = (uint8_t)s;
	flow_refresh_inline(t, e, now + flow_tcp_timeout(s, to));
	return s;
}

int flow_icmp_update(struct flow_table *t, struct flow_entry *e, uint8_t dir, uint64_t now,
		     const struct flow_timeouts *to)
{
	if (unlikely(dir > FLOW_DIR_REV))
		return -EINVAL;
	if (dir == FLOW_DIR_REV)
		e->track |= FLOW_TRK_SEEN_REPLY;
	e->state = FLOW_ICMP_ACTIVE;
	flow_refresh_inline(t, e, now + to->icmp);
	return e->state;
}

/* --- aging ------------------------------------------------------------------------------- */

unsigned int flow_expire(struct flow_table *t, uint64_t now, unsigned int budget,
			 void (*on_expire)(struct flow_entry *e, void *arg), void *arg)
{
	uint64_t now_slot;
	unsigned int visited = 0, expired = 0;

	flow_clock_start(t, now);
	now_slot = now >> t->shift;
	if (t->ctr.count == 0) {
		if (now_slot > t->cur)
			t->cur = now_slot;
		return 0;
	}
	/*
	 * After a long gap every slot of the window is due: rebase the window so
	 * that it ends just before now's slot. Entries keep their slot index and
	 * stay due, so at most FLOW_WHEEL_SLOTS empty slots are scanned.
	 */
	if (now_slot > t->cur + FLOW_WHEEL_SLOTS) {
		t->cur = now_slot - FLOW_WHEEL_SLOTS;
		t->wrap_end = now_slot; /* see flow_refresh_is_lazy() */
	}
	while (t->cur < now_slot && visited < budget) {
		uint32_t s = (uint32_t)t->cur & FLOW_WHEEL_MASK;

		while (t->head[s] != FLOW_NIL && visited < budget) {
			uint32_t idx = t->head[s];
			struct flow_entry *e = &t->entries[idx];

			visited++;
			if (e->expire <= now) {
				if (on_expire != NULL)
					on_expire(e, arg);
				flow_release(t, idx);
				expired++;
			} else {
				/* Expiry moved later: e->expire > now, so the target is past cur. */
				flow_wheel_unlink(t, idx);
				flow_wheel_link(t, idx, flow_target(t, e->expire));
			}
		}
		if (t->head[s] != FLOW_NIL)
			break;
		t->cur++;
	}
	flow_ctr_add(&t->ctr.expired, expired);
	return expired;
}

int flow_walk(const struct flow_table *t, uint32_t *cursor, uint32_t budget,
	      int (*fn)(const struct flow_entry *e, void *arg), void *arg)
{
	uint32_t i = *cursor, end;
	int rc;

	if (i >= t->capacity) {
		*cursor = FLOW_WALK_END;
		return 0;
	}
	end = t->capacity - i > budget ? i + budget : t->capacity;
	for (; i < end; i++) {
		if (t->wslot[i] == FLOW_SLOT_FREE)
			continue;
		rc = fn(&t->entries[i], arg);
		if (rc != 0) {
			*cursor = i + 1;
			return rc;
		}
	}
	*cursor = i < t->capacity ? i : FLOW_WALK_END;
	return 0;
}

const char *flow_state_name(int state)
{
	static const char *const names[FLOW_ST_MAX] = {
		[FLOW_ST_NONE] = "NONE",	  [FLOW_TCP_SYN_SENT] = "SYN_SENT",
		[FLOW_TCP_SYN_RECV] = "SYN_RECV", [FLOW_TCP_ESTABLISHED] = "ESTABLISHED",
		[FLOW_TCP_FIN_WAIT] = "FIN_WAIT", [FLOW_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[FLOW_TCP_LAST_ACK] = "LAST_ACK", [FLOW_TCP_TIME_WAIT] = "TIME_WAIT",
		[FLOW_TCP_CLOSED] = "CLOSED",	  [FLOW_UDP_UNREPLIED] = "UNREPLIED",
		[FLOW_UDP_ASSURED] = "ASSURED",	  [FLOW_ICMP_ACTIVE] = "ICMP",
	};

	if (state < 0 || state >= FLOW_ST_MAX)
		return "?";
	return names[state];
}
