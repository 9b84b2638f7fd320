/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker flow table: rte_hash (two keys per flow) -> position map ->
 * entry array, plus a timer wheel with lazy rescheduling. See flow.h.
 *
 * Wheel invariant: every live entry sits in exactly one slot whose absolute
 * number lies in [cur, cur + FLOW_WHEEL_SLOTS - 1], so the slot index (mod
 * FLOW_WHEEL_SLOTS) stored in its link gives back the absolute slot. cur is
 * the oldest slot not yet fully processed; a slot is processed only once it
 * has ended (cur < now's slot), so nothing expires early.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "dataplane/flow/flow.h"

#define FLOW_NIL	UINT32_MAX /* end of a list; free position in pos_map */
#define FLOW_SLOT_FREE	UINT32_MAX /* link.slot of an entry not in use */
#define FLOW_WHEEL_MASK (FLOW_WHEEL_SLOTS - 1)
#define FLOW_NAME_MAX	16
#define FLOW_BULK	64 /* RTE_HASH_LOOKUP_BULK_MAX */

_Static_assert(sizeof(struct flow_key) == 40, "flow_key has no implicit padding");
_Static_assert(sizeof(struct flow_key) % 4 == 0, "rte_hash_crc wants 4-byte multiples");
_Static_assert(sizeof(struct flow_entry) == 64, "flow_entry is one cache line");
_Static_assert((FLOW_WHEEL_SLOTS & FLOW_WHEEL_MASK) == 0, "wheel size is a power of two");

/* Wheel links and hash positions of one entry, kept out of the 64-byte entry. */
struct flow_link {
	uint32_t next; /* wheel list, or the free list when slot == FLOW_SLOT_FREE */
	uint32_t prev;
	uint32_t pos[2]; /* rte_hash positions of the forward and reverse keys */
	uint32_t slot;	 /* wheel slot index, FLOW_SLOT_FREE when not in use */
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
	struct rte_hash *hash;
	struct flow_entry *entries;
	struct flow_link *links;
	uint32_t *pos_map; /* hash position -> entry index << 1 | dir, FLOW_NIL if free */
	uint32_t n_pos;
	uint32_t capacity;
	uint32_t free_head;
	uint32_t shift; /* slot = tsc >> shift */
	uint64_t cur;	/* absolute slot number, see the invariant above */
	bool cur_valid; /* cur is set from the first clock seen */
	size_t bytes_per_flow;
	struct flow_counters ctr;
	uint32_t head[FLOW_WHEEL_SLOTS];
} __rte_cache_aligned;

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
	struct rte_hash_parameters hp = {0};
	char hname[RTE_HASH_NAMESIZE];
	struct flow_table *t;
	size_t before, after;
	uint64_t slot_hz;
	int32_t max_id;
	uint32_t i;

	if (name == NULL || strlen(name) == 0 || strlen(name) > FLOW_NAME_MAX || capacity < 4 ||
	    capacity > (1u << 29)) {
		rte_errno = EINVAL;
		return NULL;
	}
	before = flow_heap_used();
	t = rte_zmalloc_socket("flow_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(hname, sizeof(hname), "fl_%s", name);
	hp.name = hname;
	hp.entries = 2 * capacity;
	hp.key_len = sizeof(struct flow_key);
	hp.hash_func = rte_hash_crc;
	hp.hash_func_init_val = 0;
	hp.socket_id = socket_id;
	/* Extendable buckets: an add never fails before all 2 * capacity keys are in. */
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	t->hash = rte_hash_create(&hp);
	if (t->hash == NULL)
		goto fail_table; /* rte_errno set by rte_hash_create */
	max_id = rte_hash_max_key_id(t->hash);
	if (max_id < 0) {
		rte_errno = EINVAL;
		goto fail_hash;
	}
	t->n_pos = (uint32_t)max_id + 1;
	t->capacity = capacity;
	t->entries = rte_zmalloc_socket("flow_entries", sizeof(struct flow_entry) * capacity,
					RTE_CACHE_LINE_SIZE, socket_id);
	t->links = rte_malloc_socket("flow_links", sizeof(struct flow_link) * capacity,
				     RTE_CACHE_LINE_SIZE, socket_id);
	t->pos_map = rte_malloc_socket("flow_pos", sizeof(uint32_t) * t->n_pos, RTE_CACHE_LINE_SIZE,
				       socket_id);
	if (t->entries == NULL || t->links == NULL || t->pos_map == NULL) {
		rte_errno = ENOMEM;
		goto fail_arrays;
	}
	for (i = 0; i < t->n_pos; i++)
		t->pos_map[i] = FLOW_NIL;
	for (i = 0; i < capacity; i++) {
		t->links[i].next = i + 1 < capacity ? i + 1 : FLOW_NIL;
		t->links[i].slot = FLOW_SLOT_FREE;
	}
	t->free_head = 0;
	for (i = 0; i < FLOW_WHEEL_SLOTS; i++)
		t->head[i] = FLOW_NIL;
	/* Largest power of two not above hz / 16: slots of 1/32 s to 1/16 s. */
	slot_hz = rte_get_tsc_hz() / 16;
	t->shift = slot_hz > 1 ? 63 - (uint32_t)__builtin_clzll(slot_hz) : 0;
	after = flow_heap_used();
	t->bytes_per_flow = after > before ? (after - before) / capacity : 0;
	return t;

fail_arrays:
	rte_free(t->pos_map);
	rte_free(t->links);
	rte_free(t->entries);
fail_hash:
	rte_hash_free(t->hash);
fail_table:
	rte_free(t);
	return NULL;
}

void flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->hash);
	rte_free(t->pos_map);
	rte_free(t->links);
	rte_free(t->entries);
	rte_free(t);
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

	l->slot = s;
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
		t->head[l->slot] = l->next;
	if (l->next != FLOW_NIL)
		t->links[l->next].prev = l->prev;
}

void flow_refresh(struct flow_table *t, struct flow_entry *e, uint64_t expire)
{
	uint32_t idx = (uint32_t)(e - t->entries);
	uint64_t target;

	e->expire = expire;
	target = flow_target(t, expire);
	/* Later: lazy, the slot re-slots it when due. Earlier or first arming: move now. */
	if ((e->track & FLOW_TRK_FRESH) || target < flow_slot_abs(t, t->links[idx].slot)) {
		e->track &= (uint8_t)~FLOW_TRK_FRESH;
		flow_wheel_unlink(t, idx);
		flow_wheel_link(t, idx, target);
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
	return t->links[off / sizeof(*e)].slot != FLOW_SLOT_FREE;
}

static void flow_del_pos(struct flow_table *t, uint32_t pos)
{
	struct flow_key k;
	void *kp;

	/* Copy the key out: deleting by a pointer into the key store is not promised safe. */
	if (rte_hash_get_key_with_position(t->hash, (int32_t)pos, &kp) == 0) {
		memcpy(&k, kp, sizeof(k));
		rte_hash_del_key(t->hash, &k);
	}
	t->pos_map[pos] = FLOW_NIL;
}

static void flow_release(struct flow_table *t, uint32_t idx)
{
	struct flow_link *l = &t->links[idx];

	flow_wheel_unlink(t, idx);
	flow_del_pos(t, l->pos[FLOW_DIR_FWD]);
	flow_del_pos(t, l->pos[FLOW_DIR_REV]);
	l->slot = FLOW_SLOT_FREE;
	l->next = t->free_head;
	t->free_head = idx;
	flow_ctr_sub(&t->ctr.count, 1);
}

int flow_insert(struct flow_table *t, const struct flow_key *fwd, const struct flow_key *rev,
		uint64_t now, struct flow_entry **out)
{
	struct flow_entry *e;
	int32_t p0, p1;
	uint32_t idx;

	if (unlikely(t == NULL || fwd == NULL || rev == NULL))
		return -EINVAL;
	if (unlikely(memcmp(fwd, rev, sizeof(*fwd)) == 0))
		return -EINVAL;
	if (unlikely(t->free_head == FLOW_NIL)) {
		/* A duplicate is a duplicate even when the table is full. */
		if (rte_hash_lookup(t->hash, fwd) >= 0 || rte_hash_lookup(t->hash, rev) >= 0) {
			flow_ctr_add(&t->ctr.exists, 1);
			return -EEXIST;
		}
		flow_ctr_add(&t->ctr.full, 1);
		return -ENOSPC;
	}
	/* rte_hash_add_key returns the position of a key already present: pos_map tells. */
	p0 = rte_hash_add_key(t->hash, fwd);
	if (unlikely(p0 < 0 || (uint32_t)p0 >= t->n_pos)) {
		flow_ctr_add(&t->ctr.full, 1);
		return p0 < 0 ? p0 : -ENOSPC;
	}
	if (unlikely(t->pos_map[p0] != FLOW_NIL)) {
		flow_ctr_add(&t->ctr.exists, 1);
		return -EEXIST;
	}
	p1 = rte_hash_add_key(t->hash, rev);
	if (unlikely(p1 < 0 || (uint32_t)p1 >= t->n_pos || t->pos_map[p1] != FLOW_NIL)) {
		rte_hash_del_key(t->hash, fwd);
		if (p1 >= 0 && (uint32_t)p1 < t->n_pos) {
			flow_ctr_add(&t->ctr.exists, 1);
			return -EEXIST;
		}
		flow_ctr_add(&t->ctr.full, 1);
		return p1 < 0 ? p1 : -ENOSPC;
	}
	idx = t->free_head;
	t->free_head = t->links[idx].next;
	t->pos_map[p0] = idx << 1 | FLOW_DIR_FWD;
	t->pos_map[p1] = idx << 1 | FLOW_DIR_REV;
	t->links[idx].pos[FLOW_DIR_FWD] = (uint32_t)p0;
	t->links[idx].pos[FLOW_DIR_REV] = (uint32_t)p1;
	e = &t->entries[idx];
	memset(e, 0, sizeof(*e));
	e->proto = fwd->proto;
	e->family = fwd->family;
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

unsigned int flow_lookup_bulk(struct flow_table *t, const struct flow_key **keys, unsigned int n,
			      struct flow_entry **entries, uint8_t *dir)
{
	int32_t positions[FLOW_BULK];
	unsigned int off, i, m, hits = 0;

	for (off = 0; off < n; off += m) {
		m = RTE_MIN(n - off, (unsigned int)FLOW_BULK);
		if (unlikely(rte_hash_lookup_bulk(t->hash, (const void **)(keys + off), m,
						  positions) != 0)) {
			for (i = 0; i < m; i++)
				positions[i] = -EINVAL;
		}
		for (i = 0; i < m; i++) {
			int32_t p = positions[i];
			uint32_t v = FLOW_NIL;

			if (p >= 0 && (uint32_t)p < t->n_pos)
				v = t->pos_map[p];
			if (v == FLOW_NIL) {
				entries[off + i] = NULL;
				dir[off + i] = 0;
				continue;
			}
			entries[off + i] = &t->entries[v >> 1];
			dir[off + i] = (uint8_t)(v & 1);
			rte_prefetch0(entries[off + i]);
			hits++;
		}
	}
	flow_ctr_add(&t->ctr.lookups, n);
	flow_ctr_add(&t->ctr.hits, hits);
	return hits;
}

struct flow_entry *flow_lookup(struct flow_table *t, const struct flow_key *key, uint8_t *dir)
{
	int32_t p = rte_hash_lookup(t->hash, key);
	uint32_t v = FLOW_NIL;

	flow_ctr_add(&t->ctr.lookups, 1);
	if (p >= 0 && (uint32_t)p < t->n_pos)
		v = t->pos_map[p];
	if (v == FLOW_NIL)
		return NULL;
	flow_ctr_add(&t->ctr.hits, 1);
	if (dir != NULL)
		*dir = (uint8_t)(v & 1);
	return &t->entries[v >> 1];
}

int flow_remove(struct flow_table *t, struct flow_entry *e)
{
	if (unlikely(t == NULL || !flow_entry_live(t, e)))
		return -EINVAL;
	flow_release(t, (uint32_t)(e - t->entries));
	flow_ctr_add(&t->ctr.removes, 1);
	return 0;
}

int flow_entry_keys(const struct flow_table *t, const struct flow_entry *e, struct flow_key *fwd,
		    struct flow_key *rev)
{
	const struct flow_link *l;
	void *kp;

	if (t == NULL || !flow_entry_live(t, e))
		return -EINVAL;
	l = &t->links[e - t->entries];
	if (fwd != NULL) {
		if (rte_hash_get_key_with_position(t->hash, (int32_t)l->pos[FLOW_DIR_FWD], &kp) !=
		    0)
			return -EINVAL;
		memcpy(fwd, kp, sizeof(*fwd));
	}
	if (rev != NULL) {
		if (rte_hash_get_key_with_position(t->hash, (int32_t)l->pos[FLOW_DIR_REV], &kp) !=
		    0)
			return -EINVAL;
		memcpy(rev, kp, sizeof(*rev));
	}
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
	flow_refresh(t, e, now + flow_tcp_timeout(s, to));
	return s;
}

int flow_udp_update(struct flow_table *t, struct flow_entry *e, uint8_t dir, uint64_t now,
		    const struct flow_timeouts *to)
{
	if (unlikely(dir > FLOW_DIR_REV))
		return -EINVAL;
	if (dir == FLOW_DIR_REV)
		e->track |= FLOW_TRK_SEEN_REPLY;
	if (e->track & FLOW_TRK_SEEN_REPLY) {
		e->state = FLOW_UDP_ASSURED;
		flow_refresh(t, e, now + to->udp_assured);
	} else {
		e->state = FLOW_UDP_UNREPLIED;
		flow_refresh(t, e, now + to->udp);
	}
	return e->state;
}

int flow_icmp_update(struct flow_table *t, struct flow_entry *e, uint8_t dir, uint64_t now,
		     const struct flow_timeouts *to)
{
	if (unlikely(dir > FLOW_DIR_REV))
		return -EINVAL;
	if (dir == FLOW_DIR_REV)
		e->track |= FLOW_TRK_SEEN_REPLY;
	e->state = FLOW_ICMP_ACTIVE;
	flow_refresh(t, e, now + to->icmp);
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
	if (now_slot > t->cur + FLOW_WHEEL_SLOTS)
		t->cur = now_slot - FLOW_WHEEL_SLOTS;
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

int flow_walk(const struct flow_table *t, int (*fn)(const struct flow_entry *e, void *arg),
	      void *arg)
{
	uint32_t i;
	int rc;

	for (i = 0; i < t->capacity; i++) {
		if (t->links[i].slot == FLOW_SLOT_FREE)
			continue;
		rc = fn(&t->entries[i], arg);
		if (rc != 0)
			return rc;
	}
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
