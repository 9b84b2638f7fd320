/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jwt: the node-wide replay cache of token IDs (jti), lock-free.
 *
 * An open-addressed table of JWT_REPLAY_SLOTS 64-bit words, each a tag (the
 * high 32 bits of the hash of iss and jti, never 0) and the token's exp (32
 * bits of Unix seconds); 0 is an empty slot, a word whose exp passed is free
 * again. Entering a hash scans its probe window (JWT_REPLAY_PROBE slots from
 * the hash's home) for a live word with its tag (seen), else claims the
 * first free one with a compare-and-swap. Two workers entering the same
 * token at once may claim two slots: each then looks again, and the one in
 * the later slot is the replay, so exactly one use wins. A full window
 * accepts the token unchecked (JWT_REPLAY_FULL, counted by the caller): the
 * cache never blocks nor evicts a live entry. What one worker entered, every
 * other sees with its next load (sequentially consistent atomics).
 */
#include <string.h>

#include <rte_hash_crc.h>

#include "jwt_internal.h"

static _Atomic uint64_t jwt_replay_tab[JWT_REPLAY_SLOTS];

uint64_t jwt_replay_hash(const char *iss, size_t iss_len, const char *jti, size_t jti_len)
{
	uint32_t a = 0x811c9dc5u, b = 0x9e3779b9u;

	a = rte_hash_crc(iss, (uint32_t)iss_len, a);
	a = rte_hash_crc_1byte(0, a);
	a = rte_hash_crc(jti, (uint32_t)jti_len, a);
	b = rte_hash_crc(jti, (uint32_t)jti_len, b);
	b = rte_hash_crc_1byte(0, b);
	b = rte_hash_crc(iss, (uint32_t)iss_len, b);
	return (uint64_t)a << 32 | b;
}

static inline uint32_t jwt_word_tag(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

static inline int64_t jwt_word_exp(uint64_t w)
{
	return (int64_t)(uint32_t)w;
}

/* The slot of a live word with @p tag in the window of @p home other than @p skip; -1: none. */
static int64_t jwt_replay_find(uint32_t home, uint32_t tag, int64_t now_s, int64_t skip)
{
	for (uint32_t i = 0; i < JWT_REPLAY_PROBE; i++) {
		uint32_t k = (home + i) & (JWT_REPLAY_SLOTS - 1);
		uint64_t w = atomic_load(&jwt_replay_tab[k]);

		if ((int64_t)k != skip && w != 0 && jwt_word_tag(w) == tag &&
		    jwt_word_exp(w) >= now_s)
			return k;
	}
	return -1;
}

enum jwt_replay_result jwt_replay_enter(uint64_t h, int64_t exp_s, int64_t now_s)
{
	uint32_t home = (uint32_t)h & (JWT_REPLAY_SLOTS - 1), tag = jwt_word_tag(h) | 1u;
	uint64_t mine;
	int64_t at = -1, other;

	if (exp_s < now_s)
		exp_s = now_s;
	if (exp_s > UINT32_MAX)
		exp_s = UINT32_MAX;
	mine = (uint64_t)tag << 32 | (uint32_t)exp_s;
	if (jwt_replay_find(home, tag, now_s, -1) >= 0)
		return JWT_REPLAY_SEEN;
	for (uint32_t i = 0; i < JWT_REPLAY_PROBE && at < 0; i++) {
		uint32_t k = (home + i) & (JWT_REPLAY_SLOTS - 1);
		uint64_t w = atomic_load(&jwt_replay_tab[k]);

		while (w == 0 || jwt_word_exp(w) < now_s) {
			if (atomic_compare_exchange_strong(&jwt_replay_tab[k], &w, mine)) {
				at = k;
				break;
			}
		}
	}
	if (at < 0)
		return JWT_REPLAY_FULL;
	other = jwt_replay_find(home, tag, now_s, at);
	if (other < 0)
		return JWT_REPLAY_FRESH;
	/* the same token entered twice at once: the earlier slot in the window wins */
	if (((uint32_t)other - home) % JWT_REPLAY_SLOTS <
	    ((uint32_t)at - home) % JWT_REPLAY_SLOTS) {
		uint64_t w = mine;

		atomic_compare_exchange_strong(&jwt_replay_tab[at], &w, 0);
		return JWT_REPLAY_SEEN;
	}
	return JWT_REPLAY_FRESH;
}

uint32_t jwt_replay_live(int64_t now_s)
{
	uint32_t n = 0;

	for (uint32_t k = 0; k < JWT_REPLAY_SLOTS; k++) {
		uint64_t w = atomic_load_explicit(&jwt_replay_tab[k], memory_order_relaxed);

		n += w != 0 && jwt_word_exp(w) >= now_s;
	}
	return n;
}
