/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of tcp_cc.c: RFC 6298 RTO, RFC 5681 / RFC 3465 slow start and
 * congestion avoidance, NewReno and CUBIC (RFC 9438) reductions, and the
 * CUBIC curve driven round by round with a fake clock. Expected values are
 * worked out by hand from the RFCs' formulas in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/tcp/tcp_internal.h"

#define MS  1000u
#define SEC 1000000u
#define MSS 1000u /* round numbers: a window of N segments is N * 1000 bytes */

/* ---- RTT ---- */

static void test_rtt_init(void **state)
{
	struct tcp_rtt r;

	(void)state;
	memset(&r, 0xa5, sizeof(r));
	tcp_rtt_init(&r);
	assert_int_equal(r.srtt_us, 0);
	assert_int_equal(r.min_rtt_us, 0);
	assert_int_equal(r.rto_us, 1 * SEC);
	assert_int_equal(tcp_rtt_rto(&r, 0), 1 * SEC);
	assert_int_equal(tcp_rtt_rto(&r, 5), 32 * SEC);
	assert_int_equal(tcp_rtt_rto(&r, 6), 60 * SEC); /* 64 s, clamped */
}

static void test_rtt_samples(void **state)
{
	struct tcp_rtt r;

	(void)state;
	tcp_rtt_init(&r);
	/* 2.2: SRTT = R = 100 ms, RTTVAR = R/2 = 50 ms, RTO = 100 + 4 * 50 = 300 ms */
	tcp_rtt_sample(&r, 100 * MS);
	assert_int_equal(r.srtt_us, 100000);
	assert_int_equal(r.rttvar_us, 50000);
	assert_int_equal(r.rto_us, 300000);
	/*
	 * 2.3 with R' = 200 ms, RTTVAR from the old SRTT: 3/4 * 50 + 1/4 * |100 - 200|
	 * = 62.5 ms; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms; RTO = 112.5 + 250 =
	 * 362.5 ms. (Updating SRTT first would give RTTVAR 59.375, RTO 350 ms.)
	 */
	tcp_rtt_sample(&r, 200 * MS);
	assert_int_equal(r.rttvar_us, 62500);
	assert_int_equal(r.srtt_us, 112500);
	assert_int_equal(r.rto_us, 362500);
	/*
	 * R' = 50 ms: RTTVAR = 3/4 * 62.5 + 1/4 * 62.5 = 62.5 ms; SRTT = (7 * 112.5 +
	 * 50) / 8 = 104.6875 ms (104687 us in integers); RTO = 104687 + 250000.
	 */
	tcp_rtt_sample(&r, 50 * MS);
	assert_int_equal(r.rttvar_us, 62500);
	assert_int_equal(r.srtt_us, 104687);
	assert_int_equal(r.rto_us, 354687);
	assert_int_equal(r.min_rtt_us, 50000);
	tcp_rtt_sample(&r, 80 * MS);
	assert_int_equal(r.min_rtt_us, 50000);
}

static void test_rtt_clamps(void **state)
{
	struct tcp_rtt r;

	(void)state;
	/* 10 ms -> 3 * 10 = 30 ms, below the 200 ms floor */
	tcp_rtt_init(&r);
	tcp_rtt_sample(&r, 10 * MS);
	assert_int_equal(r.srtt_us, 10000);
	assert_int_equal(r.rto_us, TCP_RTO_MIN_US);
	/* 30 s -> 90 s, above the 60 s ceiling */
	tcp_rtt_init(&r);
	tcp_rtt_sample(&r, 30 * SEC);
	assert_int_equal(r.rto_us, TCP_RTO_MAX_US);
	/* the largest sample: no overflow in 7 * SRTT or 4 * RTTVAR */
	tcp_rtt_init(&r);
	tcp_rtt_sample(&r, UINT32_MAX);
	tcp_rtt_sample(&r, UINT32_MAX);
	assert_int_equal(r.srtt_us, UINT32_MAX);
	assert_int_equal(r.rttvar_us, 1610612735); /* 3/4 * (2^32 - 1) / 2 */
	assert_int_equal(r.rto_us, TCP_RTO_MAX_US);
	/* a 0 us sample (same-tick echo) must not read as "no sample yet" */
	tcp_rtt_init(&r);
	tcp_rtt_sample(&r, 0);
	assert_int_equal(r.srtt_us, 1);
	assert_int_equal(r.min_rtt_us, 1);
	assert_int_equal(r.rto_us, TCP_RTO_MIN_US);
}

static void test_rtt_granularity(void **state)
{
	struct tcp_rtt r;

	(void)state;
	/*
	 * A steady 500 ms path: RTTVAR shrinks by 3/4 per sample down to 0, and
	 * the RTO settles at SRTT + G = 501 ms instead of SRTT itself.
	 */
	tcp_rtt_init(&r);
	for (int i = 0; i < 60; i++)
		tcp_rtt_sample(&r, 500 * MS);
	assert_int_equal(r.srtt_us, 500000);
	assert_int_equal(r.rttvar_us, 0);
	assert_int_equal(r.rto_us, 501000);
}

static void test_rtt_backoff(void **state)
{
	struct tcp_rtt r;

	(void)state;
	tcp_rtt_init(&r);
	tcp_rtt_sample(&r, 100 * MS); /* RTO 300 ms */
	for (unsigned int b = 0; b <= 7; b++)
		assert_int_equal(tcp_rtt_rto(&r, b), 300000u << b); /* up to 38.4 s */
	assert_int_equal(tcp_rtt_rto(&r, 8), TCP_RTO_MAX_US);	    /* 76.8 s */
	assert_int_equal(tcp_rtt_rto(&r, 31), TCP_RTO_MAX_US);
	assert_int_equal(tcp_rtt_rto(&r, 32), TCP_RTO_MAX_US);
	assert_int_equal(tcp_rtt_rto(&r, 1000), TCP_RTO_MAX_US);
	assert_int_equal(tcp_rtt_rto(&r, UINT32_MAX), TCP_RTO_MAX_US);
	/* at the 200 ms floor: 2^8 * 0.2 = 51.2 s still fits, 2^9 does not */
	tcp_rtt_init(&r);
	tcp_rtt_sample(&r, 1 * MS);
	assert_int_equal(tcp_rtt_rto(&r, 8), 51200000);
	assert_int_equal(tcp_rtt_rto(&r, 9), TCP_RTO_MAX_US);
}

/* ---- windows ---- */

static void test_cc_initial_window(void **state)
{
	static const struct {
		uint32_t mss, iw;
	} cases[] = {
		{1460, 14600},	 /* 10 * 1460 */
		{1000, 10000},	 /* 10 MSS below 14600 */
		{536, 5360},	 /* RFC 9293 default MSS: 10 MSS */
		{1220, 12200},	 /* IPv6 default */
		{4000, 14600},	 /* 14600 between 2 and 10 MSS */
		{9000, 18000},	 /* jumbo: 2 MSS */
		{50, 880},	 /* MSS clamped up to 88 */
		{70000, 131070}, /* MSS clamped down to 65535: 2 MSS */
	};
	struct tcp_cc cc;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tcp_cc_init(&cc, TCP_CC_NEWRENO, cases[i].mss);
		assert_int_equal(cc.cwnd, cases[i].iw);
		assert_int_equal(cc.ssthresh, TCP_SSTHRESH_INF);
		tcp_cc_init(&cc, TCP_CC_CUBIC, cases[i].mss);
		assert_int_equal(cc.cwnd, cases[i].iw);
	}
}

static void test_cc_slow_start(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	assert_int_equal(cc.cwnd, 10000);
	tcp_cc_on_ack(&cc, 1000, cc.cwnd, 0, 1);
	assert_int_equal(cc.cwnd, 11000);
	/* RFC 3465 L = 1: a stretch ACK of 3 segments still adds one MSS */
	tcp_cc_on_ack(&cc, 3000, cc.cwnd, 0, 2);
	assert_int_equal(cc.cwnd, 12000);
	/* a partial segment adds what it acknowledges */
	tcp_cc_on_ack(&cc, 400, cc.cwnd, 0, 3);
	assert_int_equal(cc.cwnd, 12400);
	/* no new data acknowledged: no growth */
	tcp_cc_on_ack(&cc, 0, cc.cwnd, 0, 4);
	assert_int_equal(cc.cwnd, 12400);

	/* one round of per-segment ACKs doubles the window */
	tcp_cc_init(&cc, TCP_CC_CUBIC, MSS);
	for (int i = 0; i < 10; i++)
		tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 10 + i);
	assert_int_equal(cc.cwnd, 20000);
	/* slow start has no epoch */
	assert_int_equal(cc.epoch_us, 0);

	/* never beyond TCP_CWND_MAX with an unbounded ssthresh */
	cc.cwnd = TCP_CWND_MAX - 500;
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 100);
	assert_int_equal(cc.cwnd, TCP_CWND_MAX);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 101);
	assert_int_equal(cc.cwnd, TCP_CWND_MAX);
}

static void test_cc_exit_slow_start(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	/* RTO with 25 segments in flight: ssthresh 12500, cwnd 1 MSS */
	tcp_cc_on_rto(&cc, 25000, 1);
	assert_int_equal(cc.ssthresh, 12500);
	assert_int_equal(cc.cwnd, 1000);
	for (int i = 0; i < 11; i++)
		tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 2);
	assert_int_equal(cc.cwnd, 12000);
	/* slow start stops at ssthresh, not at 13000 */
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 3);
	assert_int_equal(cc.cwnd, 12500);
	/* congestion avoidance from there: 12500 bytes acknowledged buy one MSS */
	for (int i = 0; i < 12; i++)
		tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 4);
	assert_int_equal(cc.cwnd, 12500);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 5);
	assert_int_equal(cc.cwnd, 13500);
	assert_int_equal(cc.bytes_acked, 500);
}

static void test_reno_avoidance(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	tcp_cc_on_loss(&cc, 40000, 1);
	assert_int_equal(cc.cwnd, 20000);
	assert_int_equal(cc.ssthresh, 20000);
	for (int i = 0; i < 19; i++)
		tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 2);
	assert_int_equal(cc.cwnd, 20000);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 3); /* 20000 bytes: one cwnd */
	assert_int_equal(cc.cwnd, 21000);
	/* delayed ACKs (2 segments each): the next MSS needs 21000 bytes, 11 ACKs */
	for (int i = 0; i < 10; i++)
		tcp_cc_on_ack(&cc, 2 * MSS, cc.cwnd, 0, 4);
	assert_int_equal(cc.cwnd, 21000);
	tcp_cc_on_ack(&cc, 2 * MSS, cc.cwnd, 0, 5);
	assert_int_equal(cc.cwnd, 22000);
	assert_int_equal(cc.bytes_acked, 1000);

	/* 100 rounds, each acknowledging a full window: ~1 MSS per round */
	for (int round = 0; round < 100; round++) {
		uint32_t n = cc.cwnd / MSS;

		for (uint32_t i = 0; i < n; i++)
			tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 6);
	}
	assert_in_range(cc.cwnd, 121000, 122000);
}

static void test_reno_reductions(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	cc.bytes_acked = 700;
	/* RFC 5681 eq. 4: max(FlightSize / 2, 2 SMSS) */
	tcp_cc_on_loss(&cc, 30001, 1);
	assert_int_equal(cc.ssthresh, 15000);
	assert_int_equal(cc.cwnd, 15000);
	assert_int_equal(cc.bytes_acked, 0);
	tcp_cc_on_loss(&cc, 3000, 2);
	assert_int_equal(cc.ssthresh, 2000);
	assert_int_equal(cc.cwnd, 2000);
	/* the timeout: same ssthresh rule, loss window of 1 MSS */
	cc.cwnd = 30000;
	tcp_cc_on_rto(&cc, 30000, 3);
	assert_int_equal(cc.ssthresh, 15000);
	assert_int_equal(cc.cwnd, 1000);
	/* ssthresh follows what was in flight, not cwnd (app-limited sender) */
	cc.cwnd = 30000;
	tcp_cc_on_loss(&cc, 8000, 4);
	assert_int_equal(cc.ssthresh, 4000);
	assert_int_equal(cc.cwnd, 4000);
}

static void test_cc_after_idle(void **state)
{
	struct tcp_cc cc;

	(void)state;
	/* RFC 5681 4.1: restart window min(IW, cwnd) */
	tcp_cc_init(&cc, TCP_CC_NEWRENO, 1460);
	cc.cwnd = 50000;
	cc.bytes_acked = 900;
	tcp_cc_after_idle(&cc);
	assert_int_equal(cc.cwnd, 14600);
	assert_int_equal(cc.bytes_acked, 0);
	cc.cwnd = 3 * 1460;
	tcp_cc_after_idle(&cc);
	assert_int_equal(cc.cwnd, 3 * 1460);

	/* CUBIC's epoch restarts: the idle time is not part of t */
	tcp_cc_init(&cc, TCP_CC_CUBIC, MSS);
	tcp_cc_on_loss(&cc, cc.cwnd, 1);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 100 * MS, 5 * SEC);
	assert_int_equal(cc.epoch_us, 5 * SEC);
	tcp_cc_after_idle(&cc);
	assert_int_equal(cc.epoch_us, 0);
	assert_int_equal(cc.cwnd, 7000);
}

static void test_cc_set_mss(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, 1460);
	tcp_cc_set_mss(&cc, 1000);
	assert_int_equal(cc.mss, 1000);
	assert_int_equal(cc.cwnd, 10000); /* still 10 segments */
	assert_int_equal(cc.ssthresh, TCP_SSTHRESH_INF);
	tcp_cc_on_loss(&cc, 30000, 1);
	assert_int_equal(cc.ssthresh, 15000);
	tcp_cc_set_mss(&cc, 1200);
	assert_int_equal(cc.cwnd, 18000);
	assert_int_equal(cc.ssthresh, 18000);
	tcp_cc_set_mss(&cc, 10);
	assert_int_equal(cc.mss, TCP_MSS_MIN);
	assert_int_equal(cc.cwnd, 15 * TCP_MSS_MIN);

	/* CUBIC's W_max keeps its segment count too */
	tcp_cc_init(&cc, TCP_CC_CUBIC, 1460);
	tcp_cc_on_loss(&cc, 14600, 1);
	assert_int_equal(cc.w_max, 14600);
	assert_int_equal(cc.cwnd, 10220);
	tcp_cc_set_mss(&cc, 1000);
	assert_int_equal(cc.w_max, 10000);
	assert_int_equal(cc.cwnd, 7000);
	assert_int_equal(cc.ssthresh, 7000);
}

/* ---- CUBIC ---- */

/* cwnd to 100 segments by slow start, then a loss with all of it in flight */
static void cubic_after_loss(struct tcp_cc *cc, uint32_t segs)
{
	tcp_cc_init(cc, TCP_CC_CUBIC, MSS);
	while (cc->cwnd < segs * MSS)
		tcp_cc_on_ack(cc, MSS, cc->cwnd, 0, 1);
	assert_int_equal(cc->cwnd, segs * MSS);
	tcp_cc_on_loss(cc, cc->cwnd, 2);
}

static void test_cubic_reductions(void **state)
{
	struct tcp_cc cc;

	(void)state;
	cubic_after_loss(&cc, 100);
	/* beta 0.7 */
	assert_int_equal(cc.w_max, 100000);
	assert_int_equal(cc.ssthresh, 70000);
	assert_int_equal(cc.cwnd, 70000);
	assert_int_equal(cc.cwnd_prior, 100000);
	assert_int_equal(cc.epoch_us, 0);
	/* fast convergence: a loss below W_max sets W_max = 90000 * (1 + 0.7) / 2 */
	cc.cwnd = 90000;
	tcp_cc_on_loss(&cc, 90000, 3);
	assert_int_equal(cc.w_max, 76500);
	assert_int_equal(cc.ssthresh, 63000);
	assert_int_equal(cc.cwnd, 63000);
	/* at or above W_max: W_max = cwnd; ssthresh from the flight (RFC 9438 4.6) */
	cc.cwnd = 80000;
	tcp_cc_on_loss(&cc, 50000, 4);
	assert_int_equal(cc.w_max, 80000);
	assert_int_equal(cc.ssthresh, 35000);
	assert_int_equal(cc.cwnd, 35000);
	/* floor of 2 MSS */
	tcp_cc_on_loss(&cc, 2000, 5);
	assert_int_equal(cc.ssthresh, 2000);
	assert_int_equal(cc.cwnd, 2000);

	/*
	 * Timeout: ssthresh 0.7 * flight, cwnd 1 MSS, W_max forgotten; the first
	 * epoch after slow start then has K = 0 and W_max = its cwnd (4.8).
	 */
	cubic_after_loss(&cc, 100);
	cc.cwnd = 100000;
	tcp_cc_on_rto(&cc, 100000, 3);
	assert_int_equal(cc.ssthresh, 70000);
	assert_int_equal(cc.cwnd, 1000);
	assert_int_equal(cc.w_max, 0);
	while (cc.cwnd < cc.ssthresh)
		tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 4);
	assert_int_equal(cc.cwnd, 70000);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 100 * MS, 5);
	assert_int_equal(cc.w_max, 70000);
	assert_int_equal(cc.cwnd_epoch, 70000);
	assert_int_equal(cc.k_us, 0);
}

/* W_cubic(t) = C (t - K)^3 + W_max in segments and seconds (the test's reference) */
static double w_cubic_ref(double w_max, double k, double t)
{
	double d = t - k;

	return 0.4 * d * d * d + w_max;
}

/*
 * One round trip of a sender that keeps cwnd full: cwnd / MSS ACKs spread
 * over @p rtt from *now on.
 */
static void cubic_round(struct tcp_cc *cc, uint64_t *now, uint32_t rtt)
{
	uint32_t n = cc->cwnd / MSS;

	for (uint32_t i = 0; i < n; i++)
		tcp_cc_on_ack(cc, MSS, cc->cwnd, rtt, *now + (uint64_t)rtt * i / n);
	*now += rtt;
}

static void test_cubic_curve(void **state)
{
	const uint32_t rtt = 200 * MS;
	/* K = cbrt(W_max (1 - beta) / C) = cbrt(100 * 0.3 / 0.4) = cbrt(75) = 4.217163 s */
	const double k = 4.217163;
	const uint64_t t0 = 10 * SEC;
	uint32_t at[11]; /* cwnd at whole seconds since the epoch start */
	struct tcp_cc cc;
	uint64_t now = t0;

	(void)state;
	cubic_after_loss(&cc, 100);
	at[0] = cc.cwnd;
	for (int s = 1; s <= 10; s++) {
		double lo, hi;

		while (now < t0 + (uint64_t)s * SEC)
			cubic_round(&cc, &now, rtt);
		at[s] = cc.cwnd;
		if (s == 1) {
			assert_int_equal(cc.epoch_us, t0);
			assert_in_range(cc.k_us, 4217163 - 2000, 4217163 + 2000);
			assert_int_equal(cc.cwnd_epoch, 70000);
		}
		/*
		 * The target is W_cubic(t + RTT) and the window reaches it within
		 * about a round: cwnd(t) lies between W_cubic(t) and
		 * W_cubic(t + RTT), give or take one segment of quantisation.
		 * W_cubic(1) = 86.7, (2) = 95.6, (3) = 99.3, (4) = 100.0,
		 * (5) = 100.2, (6) = 102.3, (7) = 108.6, (8) = 121.6, (9) = 143.8.
		 */
		lo = w_cubic_ref(100, k, s) - 1.5;
		hi = w_cubic_ref(100, k, s + 0.2) + 1.5;
		assert_true((double)at[s] / MSS >= lo);
		assert_true((double)at[s] / MSS <= hi);
	}
	/* concave: growth slows down toward W_max */
	assert_true(at[1] - at[0] > at[2] - at[1]);
	assert_true(at[2] - at[1] > at[3] - at[2]);
	assert_true(at[1] - at[0] >= 12000);
	/* plateau around K = 4.2 s: within a segment or two of W_max, little growth */
	assert_in_range(at[4], 98000, 101000);
	assert_in_range(at[5], 99000, 102000);
	assert_true(at[5] - at[3] <= 3000);
	/* convex beyond: growth speeds up */
	assert_true(at[7] - at[6] > at[6] - at[5]);
	assert_true(at[8] - at[7] > at[7] - at[6]);
	assert_true(at[9] - at[8] > at[8] - at[7]);
	assert_true(at[9] > 130000);
}

static void test_cubic_target_clamp(void **state)
{
	const uint32_t rtt = 200 * MS;
	struct tcp_cc cc;
	uint64_t now = 10 * SEC;

	(void)state;
	cubic_after_loss(&cc, 100);
	cubic_round(&cc, &now, rtt);
	/*
	 * Jump far past K (a clock step without idle detection): W_cubic(60 s) is
	 * 100 + 0.4 * 55.8^3 = 69600 segments, but one round may add at most
	 * half of cwnd (plus at most one MSS of growth saved up before the jump).
	 */
	now += 60 * SEC;
	for (int r = 0; r < 3; r++) {
		uint32_t before = cc.cwnd;

		cubic_round(&cc, &now, rtt);
		assert_in_range(cc.cwnd, before + before / 2 - MSS, before + before / 2 + MSS);
	}
}

static void test_cubic_reno_friendly(void **state)
{
	const uint32_t rtt = 10 * MS;
	struct tcp_cc cc, reno;
	uint64_t now = 10 * SEC;

	(void)state;
	/*
	 * Small window, short RTT: W_max = 20, cwnd 14, K = cbrt(6 / 0.4) = 2.47 s,
	 * W_cubic(1 s) = 20 - 0.4 * 1.47^3 = 18.7 segments. W_est grows alpha =
	 * 0.9 / 1.7 = 0.529 segments per round up to cwnd_prior = 20 (11.3
	 * rounds), then 1 per round: after 100 rounds 20 + 88.7 = 108.7.
	 */
	cubic_after_loss(&cc, 20);
	assert_int_equal(cc.cwnd, 14000);
	for (int r = 0; r < 10; r++)
		cubic_round(&cc, &now, rtt);
	/* 14 + 10 * 0.529 = 19.3 segments; the curve alone: W_cubic(0.1 s) = 14.7 */
	assert_in_range(cc.cwnd, 18000, 20000);
	for (int r = 10; r < 100; r++)
		cubic_round(&cc, &now, rtt);
	assert_in_range(cc.cwnd, 106000, 110000);

	/* Reno from the same point (cwnd 10 after its loss): 10 + 100 = 110 segments */
	tcp_cc_init(&reno, TCP_CC_NEWRENO, MSS);
	while (reno.cwnd < 20000)
		tcp_cc_on_ack(&reno, MSS, reno.cwnd, 0, 1);
	tcp_cc_on_loss(&reno, reno.cwnd, 2);
	for (int r = 0; r < 100; r++)
		cubic_round(&reno, &now, rtt);
	assert_in_range(reno.cwnd, 109000, 111000);
}

static void test_cc_app_limited(void **state)
{
	const uint32_t rtt = 200 * MS;
	struct tcp_cc cc;
	uint64_t now = 10 * SEC;
	uint32_t before;

	(void)state;
	/* slow start: 4 segments in flight of a 10-segment window */
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	tcp_cc_on_ack(&cc, MSS, 4000, 0, 1);
	assert_int_equal(cc.cwnd, 10000);
	tcp_cc_on_ack(&cc, MSS, 5000, 0, 1); /* exactly half is "used" */
	assert_int_equal(cc.cwnd, 11000);

	/* congestion avoidance: nothing is counted toward the next MSS either */
	tcp_cc_on_loss(&cc, 40000, 2);
	for (int i = 0; i < 40; i++)
		tcp_cc_on_ack(&cc, MSS, 9999, 0, 3);
	assert_int_equal(cc.cwnd, 20000);
	assert_int_equal(cc.bytes_acked, 0);

	/*
	 * CUBIC: 1 s of full rounds, 5 s application-limited, then full again.
	 * The limited time must not count: the curve resumes from the current
	 * cwnd (about 87 segments, K' = cbrt((100 - 87) / 0.4) = 3.2 s), so the
	 * next round adds about 2 segments. Counting the 5 s would put t at
	 * 6.2 s, W_cubic = 102.8, and cwnd would jump by ~15 segments.
	 */
	cubic_after_loss(&cc, 100);
	while (now < 11 * SEC)
		cubic_round(&cc, &now, rtt);
	before = cc.cwnd;
	assert_in_range(before, 85000, 90000);
	for (int i = 0; i < 25; i++) {
		tcp_cc_on_ack(&cc, MSS, 20000, rtt, now);
		now += rtt;
	}
	assert_int_equal(cc.cwnd, before);
	cubic_round(&cc, &now, rtt);
	assert_in_range(cc.cwnd, before, before + 4000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtt_init),
		cmocka_unit_test(test_rtt_samples),
		cmocka_unit_test(test_rtt_clamps),
		cmocka_unit_test(test_rtt_granularity),
		cmocka_unit_test(test_rtt_backoff),
		cmocka_unit_test(test_cc_initial_window),
		cmocka_unit_test(test_cc_slow_start),
		cmocka_unit_test(test_cc_exit_slow_start),
		cmocka_unit_test(test_reno_avoidance),
		cmocka_unit_test(test_reno_reductions),
		cmocka_unit_test(test_cc_after_idle),
		cmocka_unit_test(test_cc_set_mss),
		cmocka_unit_test(test_cubic_reductions),
		cmocka_unit_test(test_cubic_curve),
		cmocka_unit_test(test_cubic_target_clamp),
		cmocka_unit_test(test_cubic_reno_friendly),
		cmocka_unit_test(test_cc_app_limited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
