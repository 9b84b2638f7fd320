/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SipHash-2-4, initial sequence numbers (RFC 6528) and SYN cookies (RFC 4987).
 *
 * One 16-byte secret per stack serves all three uses. The inputs are kept
 * apart by their length and a domain byte: the ISN hashes the bare 40-byte
 * tuple, the cookie hashes 48-byte messages (tuple, domain, options, counter).
 * SipHash is a PRF, so distinct messages give independent outputs and the
 * ISN offsets a peer can observe say nothing about the cookie hashes.
 *
 * Cookie layout (our ISN in the SYN-ACK), all arithmetic modulo 2^32:
 *
 *   cookie = H1(tuple) + peer_isn + v
 *   v      = (count mod 256) << 24 | (MAC(tuple, count, mss_index, ts_bits) & 0x00fffffc)
 *            | mss_index
 *
 * count is a 64-second counter. H1 hides count and the MAC from anyone who
 * does not know the secret, and peer_isn ties the cookie to the SYN it
 * answers. Unlike Linux, whose 24 low bits are H2 + mss_index (so cookie +/- 1
 * is another valid cookie with a neighbouring MSS), the MSS index and the
 * options kept in the timestamp are inputs of the MAC: any change of the
 * cookie or of the echoed option bits is caught, except with probability
 * 2^-22.
 */
#include <string.h>

#include <rte_branch_prediction.h>

#include "tcp_internal.h"

/* ---- SipHash-2-4 (Aumasson, Bernstein: "SipHash: a fast short-input PRF") ---- */

static inline uint64_t rotl64(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

/* Little-endian load whatever the host order: the algorithm is defined on LE words. */
static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND(v0, v1, v2, v3)     \
	do {                         \
		v0 += v1;            \
		v1 = rotl64(v1, 13); \
		v1 ^= v0;            \
		v0 = rotl64(v0, 32); \
		v2 += v3;            \
		v3 = rotl64(v3, 16); \
		v3 ^= v2;            \
		v0 += v3;            \
		v3 = rotl64(v3, 21); \
		v3 ^= v0;            \
		v2 += v1;            \
		v1 = rotl64(v1, 17); \
		v1 ^= v2;            \
		v2 = rotl64(v2, 32); \
	} while (0)

uint64_t tcp_siphash(const uint8_t key[TCP_SECRET_LEN], const void *data, size_t len)
{
	const uint8_t *in = data;
	const uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	/* "somepseudorandomlygeneratedbytes" */
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	const size_t full = len & ~(size_t)7;
	uint64_t m;

	for (size_t i = 0; i < full; i += 8) {
		m = load_le64(in + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}

	/* Last block: the 0-7 remaining bytes, the length mod 256 in the top byte. */
	m = (uint64_t)(len & 0xff) << 56;
	for (size_t i = len - full; i > 0; i--)
		m |= (uint64_t)in[full + i - 1] << (8 * (i - 1));
	v3 ^= m;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= m;

	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- RFC 6528 initial sequence numbers ---- */

uint32_t tcp_isn(const uint8_t secret[TCP_SECRET_LEN], const struct tcp_tuple *t, uint64_t now_us)
{
	/* M ticks every 4 us (RFC 9293 3.4.1's clock, RFC 6528 3); the offset F
	 * separates the sequence spaces of different tuples. */
	return (uint32_t)(now_us / 4) + (uint32_t)tcp_siphash(secret, t, sizeof(*t));
}

/* ---- SYN cookies ---- */

#define COOKIE_PERIOD_US 64000000ULL
#define COOKIE_CNT_SHIFT 24
#define COOKIE_MAC_MASK	 0x00fffffcu
#define COOKIE_MSS_MASK	 0x3u

/* Timestamp bits that carry the options: 4 bits of window scale, 1 of SACK. */
#define COOKIE_TS_BITS	  5
#define COOKIE_TS_MASK	  ((1u << COOKIE_TS_BITS) - 1)
#define COOKIE_TS_WS_NONE 0xfu
#define COOKIE_TS_SACK	  0x10u

enum { COOKIE_DOM_H1 = 1, COOKIE_DOM_MAC = 2 };

/*
 * Largest first, so the search stops at the common case. The smallest entry
 * of each family is the MSS every host must accept (576-byte IPv4 datagrams,
 * RFC 1122 3.3.3 / RFC 9293 3.7.1; 1280-byte IPv6 links, RFC 8200 5): a SYN
 * announcing less gets that one, as Linux does, since rounding down is
 * impossible and refusing the SYN would drop the connection.
 */
static const uint16_t cookie_mss_v4[4] = {1460, 1440, 1300, 536};
static const uint16_t cookie_mss_v6[4] = {8940, 1440, 1420, 1220};

static const uint16_t *cookie_mss_table(const struct tcp_tuple *t)
{
	return t->family == 6 ? cookie_mss_v6 : cookie_mss_v4;
}

/* The 48-byte message hashed for the cookie: no padding, laid out by hand. */
struct cookie_msg {
	struct tcp_tuple tuple;
	uint8_t dom;
	uint8_t opts; /* mss_index << 5; with timestamps also 0x80 | the TSval's option bits */
	uint8_t zero[2];
	uint8_t count[4]; /* little-endian: same message on any host */
};

_Static_assert(sizeof(struct cookie_msg) == 48, "cookie_msg has padding");

static uint32_t cookie_hash(const uint8_t secret[TCP_SECRET_LEN], const struct tcp_tuple *t,
			    uint8_t dom, uint8_t opts, uint32_t count)
{
	struct cookie_msg msg;

	memcpy(&msg.tuple, t, sizeof(msg.tuple));
	msg.dom = dom;
	msg.opts = opts;
	msg.zero[0] = msg.zero[1] = 0;
	for (int i = 0; i < 4; i++)
		msg.count[i] = (uint8_t)(count >> (8 * i));
	return (uint32_t)tcp_siphash(secret, &msg, sizeof(msg));
}

static uint32_t cookie_count(uint64_t now_us)
{
	return (uint32_t)(now_us / COOKIE_PERIOD_US);
}

uint32_t tcp_cookie_make(const uint8_t secret[TCP_SECRET_LEN], const struct tcp_tuple *t,
			 uint32_t peer_isn, struct tcp_cookie_opts *o, uint64_t now_us,
			 uint32_t *tsval)
{
	const uint16_t *tab = cookie_mss_table(t);
	const uint32_t count = cookie_count(now_us);
	uint32_t idx, mac_opts = 0;

	for (idx = 0; idx < 3; idx++)
		if (o->mss >= tab[idx])
			break;
	o->mss = tab[idx];
	idx = 3 - idx; /* index 0 for the smallest MSS */

	if (o->ts_ok) {
		const uint32_t ms = (uint32_t)(now_us / 1000);
		uint32_t bits, ts;

		if (o->wscale == 0xff) {
			bits = COOKIE_TS_WS_NONE;
		} else {
			if (o->wscale > TCP_MAX_WSCALE) /* RFC 7323 2.3: use 14 */
				o->wscale = TCP_MAX_WSCALE;
			bits = o->wscale;
		}
		if (o->sack_ok)
			bits |= COOKIE_TS_SACK;
		/* The connection's later TSvals come from the same clock: keep this
		 * one at or below it, or the peer's PAWS would drop them. */
		ts = (ms & ~COOKIE_TS_MASK) | bits;
		if ((int32_t)(ts - ms) > 0)
			ts -= COOKIE_TS_MASK + 1;
		*tsval = ts;
		mac_opts = 0x80 | bits;
	} else {
		/* Nothing can carry them: the SYN-ACK must not offer them either. */
		o->wscale = 0xff;
		o->sack_ok = false;
	}

	mac_opts |= idx << COOKIE_TS_BITS;
	return cookie_hash(secret, t, COOKIE_DOM_H1, 0, 0) + peer_isn +
	       (count << COOKIE_CNT_SHIFT) +
	       ((cookie_hash(secret, t, COOKIE_DOM_MAC, (uint8_t)mac_opts, count) &
		 COOKIE_MAC_MASK) |
		idx);
}

int tcp_cookie_check(const uint8_t secret[TCP_SECRET_LEN], const struct tcp_tuple *t,
		     uint32_t peer_isn, uint32_t cookie, bool has_ts, uint32_t tsecr,
		     uint64_t now_us, struct tcp_cookie_opts *o)
{
	const uint32_t now = cookie_count(now_us);
	const uint32_t v = cookie - cookie_hash(secret, t, COOKIE_DOM_H1, 0, 0) - peer_isn;
	const uint32_t age = (uint8_t)(now - (v >> COOKIE_CNT_SHIFT));
	const uint32_t bits = tsecr & COOKIE_TS_MASK;
	const uint8_t mac_opts =
		(uint8_t)((v & COOKIE_MSS_MASK) << COOKIE_TS_BITS | (has_ts ? 0x80 | bits : 0));
	uint32_t mac;

	/* Hash even when the age is already wrong: the time taken to refuse
	 * should not tell how close a guess came. */
	mac = cookie_hash(secret, t, COOKIE_DOM_MAC, mac_opts, now - age);
	if (unlikely((age > 1) | (((mac ^ v) & COOKIE_MAC_MASK) != 0)))
		return -1;

	o->mss = cookie_mss_table(t)[3 - (v & COOKIE_MSS_MASK)];
	o->ts_ok = has_ts;
	if (has_ts) {
		const uint32_t ws = bits & COOKIE_TS_WS_NONE;

		o->wscale = ws == COOKIE_TS_WS_NONE ? 0xff : (uint8_t)ws;
		o->sack_ok = (bits & COOKIE_TS_SACK) != 0;
	} else {
		o->wscale = 0xff;
		o->sack_ok = false;
	}
	return 0;
}
