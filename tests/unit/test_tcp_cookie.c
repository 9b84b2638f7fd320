/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of tcp_cookie.c: SipHash-2-4, RFC 6528 ISNs, SYN cookies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/tcp/tcp_internal.h"

#define PERIOD_US 64000000ULL

static const uint8_t secret_a[TCP_SECRET_LEN] = {0x5e, 0xc4, 0x37, 0x01, 0x9a, 0x22, 0xf0, 0x6b,
						 0x11, 0xd8, 0x4c, 0x7e, 0x03, 0xb5, 0x69, 0xe2};
static const uint8_t secret_b[TCP_SECRET_LEN] = {0x5e, 0xc4, 0x37, 0x01, 0x9a, 0x22, 0xf0, 0x6b,
						 0x11, 0xd8, 0x4c, 0x7e, 0x03, 0xb5, 0x69, 0xe3};

/* 10.0.0.1:80 <- 192.0.2.7:40000 */
static struct tcp_tuple tuple4(void)
{
	struct tcp_tuple t;

	memset(&t, 0, sizeof(t));
	t.laddr[0] = 10, t.laddr[3] = 1;
	t.raddr[0] = 192, t.raddr[2] = 2, t.raddr[3] = 7;
	t.lport = 0x5000; /* 80 in network order on a little-endian host; any value will do */
	t.rport = 0x409c;
	t.family = 4;
	return t;
}

/* 2001:db8::1 <- 2001:db8::2 */
static struct tcp_tuple tuple6(void)
{
	struct tcp_tuple t = tuple4();

	memset(t.laddr, 0, 16);
	memset(t.raddr, 0, 16);
	t.laddr[0] = t.raddr[0] = 0x20, t.laddr[1] = t.raddr[1] = 0x01;
	t.laddr[2] = t.raddr[2] = 0x0d, t.laddr[3] = t.raddr[3] = 0xb8;
	t.laddr[15] = 1, t.raddr[15] = 2;
	t.family = 6;
	return t;
}

/*
 * SipHash-2-4 reference vectors (the paper's appendix and the reference
 * implementation's vectors.h): key 00..0f, message 00 01 .. (len-1).
 */
static void test_siphash_vectors(void **state)
{
	static const uint64_t want[17] = {
		0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
		0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
		0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
		0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
		0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL,
		0xa129ca6149be45e5ULL, 0x3f2acc7f57c29bdbULL,
	};
	uint8_t key[16], msg[64];

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t len = 0; len < 17; len++)
		assert_true(tcp_siphash(key, msg, len) == want[len]);
	/* Seven full blocks and a final block holding only the length. */
	assert_true(tcp_siphash(key, msg, 63) == 0x958a324ceb064572ULL);
	/* The key matters, and every key byte does. */
	for (int i = 0; i < 16; i++) {
		key[i] ^= 0x80;
		assert_true(tcp_siphash(key, msg, 15) != 0xa129ca6149be45e5ULL);
		key[i] ^= 0x80;
	}
}

static void test_isn_per_tuple(void **state)
{
	const struct tcp_tuple base = tuple4();
	const uint64_t now = 1000000;
	const uint32_t isn = tcp_isn(secret_a, &base, now);
	struct tcp_tuple t;

	(void)state;
	/* RFC 6528: F is SipHash of the tuple, M = now / 4 = 250000. */
	assert_true(isn == (uint32_t)(250000 + (uint32_t)tcp_siphash(secret_a, &base, 40)));
	assert_true(tcp_isn(secret_a, &base, now) == isn); /* deterministic */

	t = base, t.lport ^= 1;
	assert_true(tcp_isn(secret_a, &t, now) != isn);
	t = base, t.rport ^= 0x100;
	assert_true(tcp_isn(secret_a, &t, now) != isn);
	t = base, t.laddr[3] = 2;
	assert_true(tcp_isn(secret_a, &t, now) != isn);
	t = base, t.raddr[0] = 198;
	assert_true(tcp_isn(secret_a, &t, now) != isn);
	t = base, t.family = 6;
	assert_true(tcp_isn(secret_a, &t, now) != isn);
	/* The connection seen from the other side is another tuple. */
	t = base;
	memcpy(t.laddr, base.raddr, 16), memcpy(t.raddr, base.laddr, 16);
	t.lport = base.rport, t.rport = base.lport;
	assert_true(tcp_isn(secret_a, &t, now) != isn);

	assert_true(tcp_isn(secret_b, &base, now) != isn);
}

static void test_isn_clock(void **state)
{
	const struct tcp_tuple t = tuple4();
	const uint64_t now = 7777776; /* a multiple of 4 */
	const uint32_t isn = tcp_isn(secret_a, &t, now);

	(void)state;
	/* One tick every 4 us. */
	assert_true(tcp_isn(secret_a, &t, now + 1) == isn);
	assert_true(tcp_isn(secret_a, &t, now + 3) == isn);
	assert_true(tcp_isn(secret_a, &t, now + 4) == isn + 1);
	assert_true(tcp_isn(secret_a, &t, now + 4000000) == isn + 1000000);
	/* M wraps after 2^32 ticks (about 4.77 hours); the ISN wraps with it. */
	assert_true(tcp_isn(secret_a, &t, now + (4ULL << 32)) == isn);
	assert_true(tcp_isn(secret_a, &t, now + (4ULL << 32) - 4) == isn - 1);
}

static int check(const uint8_t *secret, const struct tcp_tuple *t, uint32_t peer_isn,
		 uint32_t cookie, bool has_ts, uint32_t tsecr, uint64_t now_us,
		 struct tcp_cookie_opts *out)
{
	memset(out, 0xa5, sizeof(*out));
	return tcp_cookie_check(secret, t, peer_isn, cookie, has_ts, tsecr, now_us, out);
}

/* Make a cookie with MSS @p mss, no timestamps, and check it right away. */
static uint16_t mss_round_trip(const struct tcp_tuple *t, uint16_t mss)
{
	struct tcp_cookie_opts o = {.mss = mss, .wscale = 7, .sack_ok = true, .ts_ok = false};
	struct tcp_cookie_opts got;
	const uint64_t now = 1000 * PERIOD_US + 5;
	uint32_t c;

	c = tcp_cookie_make(secret_a, t, 0xdeadbeef, &o, now, NULL);
	/* Without timestamps nothing carries window scale and SACK. */
	assert_int_equal(o.wscale, 0xff);
	assert_false(o.sack_ok);
	assert_int_equal(check(secret_a, t, 0xdeadbeef, c, false, 0, now, &got), 0);
	assert_int_equal(got.mss, o.mss);
	assert_int_equal(got.wscale, 0xff);
	assert_false(got.sack_ok);
	assert_false(got.ts_ok);
	return o.mss;
}

static void test_cookie_mss_v4(void **state)
{
	const struct tcp_tuple t = tuple4();

	(void)state;
	/* Every entry comes back as it is. */
	assert_int_equal(mss_round_trip(&t, 536), 536);
	assert_int_equal(mss_round_trip(&t, 1300), 1300);
	assert_int_equal(mss_round_trip(&t, 1440), 1440);
	assert_int_equal(mss_round_trip(&t, 1460), 1460);
	/* In between: the largest entry below. */
	assert_int_equal(mss_round_trip(&t, 1459), 1440);
	assert_int_equal(mss_round_trip(&t, 1439), 1300);
	assert_int_equal(mss_round_trip(&t, 1299), 536);
	assert_int_equal(mss_round_trip(&t, 537), 536);
	assert_int_equal(mss_round_trip(&t, 65535), 1460);
	/* Below the table: the smallest, 536, which every IPv4 host accepts. */
	assert_int_equal(mss_round_trip(&t, 535), 536);
	assert_int_equal(mss_round_trip(&t, 100), 536);
	assert_int_equal(mss_round_trip(&t, 0), 536);
}

static void test_cookie_mss_v6(void **state)
{
	const struct tcp_tuple t = tuple6();

	(void)state;
	assert_int_equal(mss_round_trip(&t, 1220), 1220);
	assert_int_equal(mss_round_trip(&t, 1420), 1420);
	assert_int_equal(mss_round_trip(&t, 1440), 1440);
	assert_int_equal(mss_round_trip(&t, 8940), 8940);
	assert_int_equal(mss_round_trip(&t, 1460), 1440);
	assert_int_equal(mss_round_trip(&t, 8939), 1440);
	assert_int_equal(mss_round_trip(&t, 1439), 1420);
	assert_int_equal(mss_round_trip(&t, 1419), 1220);
	assert_int_equal(mss_round_trip(&t, 9000), 8940);
	assert_int_equal(mss_round_trip(&t, 536), 1220); /* IPv6 links carry 1280 bytes */
}

/*
 * The TSval: ms clock 123456 (0x1e240, low 5 bits 0) with window scale 7
 * and SACK (bits 0x17) would be 0x1e257, ahead of the clock: moved back by 32
 * to 0x1e237.
 */
static void test_cookie_tsval_encoding(void **state)
{
	const struct tcp_tuple t = tuple4();
	const uint64_t now = 123456789;
	struct tcp_cookie_opts o = {.mss = 1460, .wscale = 7, .sack_ok = true, .ts_ok = true};
	struct tcp_cookie_opts got;
	uint32_t c, tsval = 0;

	(void)state;
	c = tcp_cookie_make(secret_a, &t, 42, &o, now, &tsval);
	assert_int_equal(tsval, 0x1e237);
	assert_int_equal(o.wscale, 7);
	assert_true(o.sack_ok);
	assert_int_equal(check(secret_a, &t, 42, c, true, tsval, now + 30000, &got), 0);
	assert_int_equal(got.mss, 1460);
	assert_int_equal(got.wscale, 7);
	assert_true(got.sack_ok);
	assert_true(got.ts_ok);

	/* Bits below the clock's: ms 123487 = 0x1e25f, bits 0x07 -> 0x1e247, kept. */
	o = (struct tcp_cookie_opts){.mss = 1460, .wscale = 7, .sack_ok = false, .ts_ok = true};
	c = tcp_cookie_make(secret_a, &t, 42, &o, 123487000, &tsval);
	assert_int_equal(tsval, 0x1e247);
	assert_int_equal(check(secret_a, &t, 42, c, true, tsval, 123487000, &got), 0);
	assert_int_equal(got.wscale, 7);
	assert_false(got.sack_ok);
}

static void ts_round_trip(uint8_t wscale, bool sack, uint8_t want_ws, uint64_t now)
{
	const struct tcp_tuple t = tuple4();
	struct tcp_cookie_opts o = {.mss = 1400, .wscale = wscale, .sack_ok = sack, .ts_ok = true};
	struct tcp_cookie_opts got;
	const uint32_t ms = (uint32_t)(now / 1000);
	uint32_t c, tsval;

	c = tcp_cookie_make(secret_a, &t, 1, &o, now, &tsval);
	assert_int_equal(o.wscale, want_ws);
	assert_int_equal(o.mss, 1300);
	/* At or up to 31 ms below the clock, never ahead of it. */
	assert_true(ms - tsval < 32);
	assert_int_equal(check(secret_a, &t, 1, c, true, tsval, now, &got), 0);
	assert_int_equal(got.mss, 1300);
	assert_int_equal(got.wscale, want_ws);
	assert_int_equal(got.sack_ok, sack);
	assert_true(got.ts_ok);
}

static void test_cookie_ts_options(void **state)
{
	const uint64_t now = 5 * PERIOD_US + 777777;

	(void)state;
	for (uint8_t ws = 0; ws <= 14; ws++) {
		ts_round_trip(ws, false, ws, now);
		ts_round_trip(ws, true, ws, now);
	}
	ts_round_trip(0xff, false, 0xff, now);
	ts_round_trip(0xff, true, 0xff, now);
	/* RFC 7323 2.3: a shift above 14 is used as 14. */
	ts_round_trip(15, true, 14, now);
	ts_round_trip(200, false, 14, now);
}

/* The ms clock wraps at 2^32: (2^32 + 2) * 1000 us reads 2 ms. */
static void test_cookie_tsval_wrap(void **state)
{
	const struct tcp_tuple t = tuple4();
	const uint64_t now = ((1ULL << 32) + 2) * 1000;
	struct tcp_cookie_opts o = {.mss = 1460, .wscale = 14, .sack_ok = true, .ts_ok = true};
	struct tcp_cookie_opts got;
	uint32_t c, tsval;

	(void)state;
	/* Bits 0x1e: 0x0000001e is ahead of 2, so 0x1e - 32 = 0xfffffffe. */
	c = tcp_cookie_make(secret_a, &t, 0xffffffff, &o, now, &tsval);
	assert_int_equal(tsval, 0xfffffffe);
	assert_int_equal(check(secret_a, &t, 0xffffffff, c, true, tsval, now + 1000, &got), 0);
	assert_int_equal(got.wscale, 14);
	assert_true(got.sack_ok);
	for (uint64_t d = 0; d < 64; d++)
		ts_round_trip(3, true, 3, now - 40000 + d * 1000);
}

static void test_cookie_lifetime(void **state)
{
	const struct tcp_tuple t = tuple4();
	const uint64_t start = 300 * PERIOD_US + 63999999; /* last us of period 300 */
	struct tcp_cookie_opts o = {.mss = 1460, .wscale = 0xff, .ts_ok = false};
	struct tcp_cookie_opts got;
	uint32_t c;

	(void)state;
	c = tcp_cookie_make(secret_a, &t, 1000, &o, start, NULL);
	assert_int_equal(check(secret_a, &t, 1000, c, false, 0, start, &got), 0);
	/* The next period (up to its last us) still accepts it. */
	assert_int_equal(check(secret_a, &t, 1000, c, false, 0, start + 1, &got), 0);
	assert_int_equal(check(secret_a, &t, 1000, c, false, 0, start + PERIOD_US, &got), 0);
	/* Two periods later it is stale. */
	assert_int_equal(check(secret_a, &t, 1000, c, false, 0, start + PERIOD_US + 1, &got), -1);
	assert_int_equal(check(secret_a, &t, 1000, c, false, 0, start + 10 * PERIOD_US, &got), -1);
	/* Not before it was made (a clock going back), nor 256 periods on, where the
	 * 8 bits of the counter in the cookie read the same again. */
	assert_int_equal(check(secret_a, &t, 1000, c, false, 0, start - PERIOD_US, &got), -1);
	assert_int_equal(check(secret_a, &t, 1000, c, false, 0, start + 256 * PERIOD_US, &got), -1);
	/* Failure leaves the output alone. */
	assert_int_equal(got.mss, 0xa5a5);
}

/* The counter's 8 bits in the cookie wrap from 255 to 0 (period 511 -> 512). */
static void test_cookie_counter_wrap(void **state)
{
	const struct tcp_tuple t = tuple6();
	struct tcp_cookie_opts o = {.mss = 1440, .wscale = 9, .sack_ok = true, .ts_ok = true};
	struct tcp_cookie_opts got;
	const uint64_t made = 511 * PERIOD_US + 12345678;
	uint32_t c, tsval;

	(void)state;
	c = tcp_cookie_make(secret_a, &t, 0x80000000, &o, made, &tsval);
	assert_int_equal(check(secret_a, &t, 0x80000000, c, true, tsval, 512 * PERIOD_US, &got), 0);
	assert_int_equal(got.mss, 1440);
	assert_int_equal(got.wscale, 9);
	assert_true(got.sack_ok);
	assert_int_equal(check(secret_a, &t, 0x80000000, c, true, tsval, 513 * PERIOD_US, &got),
			 -1);
}

static void test_cookie_forgery(void **state)
{
	const struct tcp_tuple base = tuple4();
	const uint64_t now = 77 * PERIOD_US + 1;
	struct tcp_cookie_opts o = {.mss = 1300, .wscale = 5, .sack_ok = true, .ts_ok = true};
	struct tcp_cookie_opts got;
	struct tcp_tuple t;
	uint32_t c, tsval;

	(void)state;
	c = tcp_cookie_make(secret_a, &base, 0x12345678, &o, now, &tsval);
	assert_int_equal(check(secret_a, &base, 0x12345678, c, true, tsval, now, &got), 0);

	/* Any single bit flipped, in the counter, the MAC or the MSS index. */
	for (int b = 0; b < 32; b++)
		assert_int_equal(
			check(secret_a, &base, 0x12345678, c ^ (1u << b), true, tsval, now, &got),
			-1);
	/* The neighbours too: with Linux's layout cookie + 1 is the next MSS index. */
	assert_int_equal(check(secret_a, &base, 0x12345678, c + 1, true, tsval, now, &got), -1);
	assert_int_equal(check(secret_a, &base, 0x12345678, c - 1, true, tsval, now, &got), -1);

	/* Another peer_isn (the ACK of another SYN). */
	assert_int_equal(check(secret_a, &base, 0x12345679, c, true, tsval, now, &got), -1);
	assert_int_equal(check(secret_a, &base, 0x12345677, c, true, tsval, now, &got), -1);

	/* Other tuples. */
	t = base, t.lport ^= 0x0100;
	assert_int_equal(check(secret_a, &t, 0x12345678, c, true, tsval, now, &got), -1);
	t = base, t.rport ^= 1;
	assert_int_equal(check(secret_a, &t, 0x12345678, c, true, tsval, now, &got), -1);
	t = base, t.laddr[3] ^= 1;
	assert_int_equal(check(secret_a, &t, 0x12345678, c, true, tsval, now, &got), -1);
	t = base, t.raddr[0] ^= 0x80;
	assert_int_equal(check(secret_a, &t, 0x12345678, c, true, tsval, now, &got), -1);

	/* Another secret (a rotated one, or another stack's). */
	assert_int_equal(check(secret_b, &base, 0x12345678, c, true, tsval, now, &got), -1);

	/* The option bits of the timestamp are authenticated; the clock part is not. */
	for (int b = 0; b < 5; b++)
		assert_int_equal(
			check(secret_a, &base, 0x12345678, c, true, tsval ^ (1u << b), now, &got),
			-1);
	assert_int_equal(check(secret_a, &base, 0x12345678, c, true, tsval ^ 0x20, now, &got), 0);
	/* Timestamps negotiated but absent from the ACK, and the other way round. */
	assert_int_equal(check(secret_a, &base, 0x12345678, c, false, 0, now, &got), -1);
	o = (struct tcp_cookie_opts){.mss = 1300, .wscale = 0xff, .ts_ok = false};
	c = tcp_cookie_make(secret_a, &base, 0x12345678, &o, now, NULL);
	assert_int_equal(check(secret_a, &base, 0x12345678, c, false, 0, now, &got), 0);
	assert_int_equal(check(secret_a, &base, 0x12345678, c, true, 0, now, &got), -1);
}

/* The cookie as a whole looks random: same SYN a period apart, or another peer. */
static void test_cookie_varies(void **state)
{
	const struct tcp_tuple t = tuple4();
	struct tcp_cookie_opts o = {.mss = 1460, .wscale = 0xff, .ts_ok = false};
	uint32_t c1, c2, c3;

	(void)state;
	c1 = tcp_cookie_make(secret_a, &t, 5, &o, 9 * PERIOD_US, NULL);
	c2 = tcp_cookie_make(secret_a, &t, 5, &o, 10 * PERIOD_US, NULL);
	c3 = tcp_cookie_make(secret_b, &t, 5, &o, 9 * PERIOD_US, NULL);
	assert_true(c1 != c2);
	assert_true(c1 != c3);
	/* Within a period, and for the same SYN, the cookie is the same. */
	assert_true(tcp_cookie_make(secret_a, &t, 5, &o, 9 * PERIOD_US + 63999999, NULL) == c1);
	/* peer_isn enters by addition. */
	assert_true(tcp_cookie_make(secret_a, &t, 6, &o, 9 * PERIOD_US, NULL) == c1 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_isn_per_tuple),
		cmocka_unit_test(test_isn_clock),
		cmocka_unit_test(test_cookie_mss_v4),
		cmocka_unit_test(test_cookie_mss_v6),
		cmocka_unit_test(test_cookie_tsval_encoding),
		cmocka_unit_test(test_cookie_ts_options),
		cmocka_unit_test(test_cookie_tsval_wrap),
		cmocka_unit_test(test_cookie_lifetime),
		cmocka_unit_test(test_cookie_counter_wrap),
		cmocka_unit_test(test_cookie_forgery),
		cmocka_unit_test(test_cookie_varies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
