/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RTT estimation (RFC 6298) and congestion control: RFC 5681 slow start and
 * congestion avoidance with byte counting (RFC 3465), NewReno's window
 * reductions (RFC 6582) and CUBIC (RFC 9438).
 *
 * Everything is integer arithmetic: the CUBIC curve runs once per ACK, so
 * it avoids libm and keeps results exact and reproducible in tests. Time in
 * the cubic term is in ticks of 2^-10 s (~1 ms, as Linux does), which makes
 * the cube's scaling a shift; K's cube root is taken once per epoch.
 *
 * Growth is in whole segments: in congestion avoidance an accumulator of
 * acknowledged bytes buys one MSS at a time, for Reno (cwnd bytes per MSS),
 * for CUBIC's curve (cwnd * MSS / (target - cwnd) bytes per MSS, which is
 * RFC 9438's (target - cwnd) / cwnd per ACK) and for the Reno-friendly
 * estimate (cwnd / alpha bytes per MSS). Truncating sub-byte increments per
 * ACK instead would stall growth of large windows.
 */
#include <rte_common.h>

#include "tcp_internal.h"

#define RTT_G_US 1000 /* RFC 6298 clock granularity G */

#define IW_BYTES 14600 /* RFC 6928 */

/* beta_cubic = 0.7 */
#define CUBIC_BETA_NUM 7
#define CUBIC_BETA_DEN 10
/* alpha_cubic = 3 (1 - beta) / (1 + beta) = 0.9 / 1.7 (RFC 9438 4.3) */
#define CUBIC_ALPHA_NUM 9
#define CUBIC_ALPHA_DEN 17
/* C = 0.4 segments / s^3 = 2 / 5 */
#define CUBIC_C_NUM	 2
#define CUBIC_C_DEN	 5
#define CUBIC_TICK_SHIFT 10 /* cubic time unit: 2^-10 s */
/*
 * |t - K| beyond 512 s is clamped: the term then is 0.4 * 512^3 = 5.4e7
 * segments, more than TCP_CWND_MAX / TCP_MSS_MIN, and the cube of 2^19
 * ticks times the MSS still fits in 64 bits. K itself stays below (at most
 * cbrt(2^32 / 88 * 0.3 / 0.4) = 332 s).
 */
#define CUBIC_OFFS_MAX_US (512ull * 1000000)

void tcp_rtt_init(struct tcp_rtt *r)
{
	r->srtt_us = 0;
	r->rttvar_us = 0;
	r->rto_us = TCP_RTO_INIT_US;
	r->min_rtt_us = 0;
}

void tcp_rtt_sample(struct tcp_rtt *r, uint32_t rtt_us)
{
	uint64_t rto;

	/* srtt_us == 0 means "no sample yet", so a sample is never 0 */
	if (rtt_us == 0)
		rtt_us = 1;
	if (r->min_rtt_us == 0 || rtt_us < r->min_rtt_us)
		r->min_rtt_us = rtt_us;

	if (r->srtt_us == 0) {
		r->srtt_us = rtt_us;
		r->rttvar_us = rtt_us / 2;
	} else {
		/* RTTVAR first: it uses the SRTT from before this sample */
		uint32_t err = r->srtt_us > rtt_us ? r->srtt_us - rtt_us : rtt_us - r->srtt_us;

		r->rttvar_us = (uint32_t)(((uint64_t)r->rttvar_us * 3 + err) / 4);
		r->srtt_us = (uint32_t)(((uint64_t)r->srtt_us * 7 + rtt_us) / 8);
	}
	rto = (uint64_t)r->srtt_us + RTE_MAX((uint64_t)RTT_G_US, (uint64_t)r->rttvar_us * 4);
	rto = RTE_MAX(rto, (uint64_t)TCP_RTO_MIN_US);
	r->rto_us = (uint32_t)RTE_MIN(rto, (uint64_t)TCP_RTO_MAX_US);
}

uint32_t tcp_rtt_rto(const struct tcp_rtt *r, unsigned int backoff)
{
	/* compare before shifting: a shift of 32 or more is undefined */
	if (backoff >= 32 || r->rto_us > ((uint32_t)TCP_RTO_MAX_US >> backoff))
		return TCP_RTO_MAX_US;
	return r->rto_us << backoff;
}

static uint32_t clamp_mss(uint32_t mss)
{
	if (mss < TCP_MSS_MIN)
		return TCP_MSS_MIN;
	return RTE_MIN(mss, (uint32_t)UINT16_MAX);
}

static uint32_t initial_window(uint32_t mss)
{
	uint32_t lo = RTE_MAX(2 * mss, (uint32_t)IW_BYTES);

	return RTE_MIN(10 * mss, lo);
}

static uint32_t cap_cwnd(uint64_t w)
{
	return (uint32_t)RTE_MIN(w, (uint64_t)TCP_CWND_MAX);
}

void tcp_cc_init(struct tcp_cc *cc, enum tcp_cc_algo algo, uint32_t mss)
{
	*cc = (struct tcp_cc){
		.algo = algo,
		.mss = clamp_mss(mss),
		.ssthresh = TCP_SSTHRESH_INF,
	};
	cc->cwnd = initial_window(cc->mss);
}

static uint32_t rescale(uint32_t bytes, uint32_t from_mss, uint32_t to_mss)
{
	return cap_cwnd((uint64_t)bytes * to_mss / from_mss);
}

void tcp_cc_set_mss(struct tcp_cc *cc, uint32_t mss)
{
	uint32_t old = cc->mss;

	mss = clamp_mss(mss);
	if (mss == old)
		return;
	cc->cwnd = RTE_MAX(rescale(cc->cwnd, old, mss), mss);
	if (cc->ssthresh != TCP_SSTHRESH_INF)
		cc->ssthresh = rescale(cc->ssthresh, old, mss);
	cc->w_max = rescale(cc->w_max, old, mss);
	cc->cwnd_prior = rescale(cc->cwnd_prior, old, mss);
	cc->mss = mss;
	/* the counters and the epoch are in units of the old MSS */
	cc->bytes_acked = 0;
	cc->epoch_us = 0;
}

/* floor(cbrt(x)), bit by bit (Hacker's Delight 11-2) */
static uint64_t cbrt_u64(uint64_t x)
{
	uint64_t y = 0;

	for (int s = 63; s >= 0; s -= 3) {
		uint64_t b;

		y *= 2;
		b = 3 * y * (y + 1) + 1;
		/* x >= b << s, without the shift overflowing */
		if ((x >> s) >= b) {
			x -= b << s;
			y++;
		}
	}
	return y;
}

/*
 * RFC 9438 4.2: a new epoch starts at the first ACK in congestion
 * avoidance after a reduction, after idle or after an application-limited
 * stretch; the curve is anchored at the cwnd of that moment so the time
 * before it does not count. K = cbrt((W_max - cwnd_epoch) / C).
 */
static void cubic_epoch_start(struct tcp_cc *cc, uint64_t now_us)
{
	cc->epoch_us = now_us != 0 ? now_us : 1; /* 0 means "no epoch" */
	cc->cwnd_epoch = cc->cwnd;
	cc->w_est = cc->cwnd;
	cc->w_est_acked = 0;
	cc->bytes_acked = 0;
	if (cc->w_max <= cc->cwnd) {
		/* no reduction to recover from (first epoch, after an RTO): 4.8 */
		cc->w_max = cc->cwnd;
		cc->k_us = 0;
	} else {
		/* (W_max - cwnd_epoch) in segments / C, in ticks^3: <= 2^58 */
		uint64_t diff = cc->w_max - cc->cwnd;
		uint64_t x = (diff << (3 * CUBIC_TICK_SHIFT)) / cc->mss * CUBIC_C_DEN / CUBIC_C_NUM;

		cc->k_us = (cbrt_u64(x) * 1000000) >> CUBIC_TICK_SHIFT;
	}
}

/* W_cubic(t) = C (t - K)^3 + W_max in bytes, @p t_us since the epoch start */
static uint64_t cubic_window(const struct tcp_cc *cc, uint64_t t_us)
{
	bool after_k = t_us >= cc->k_us;
	uint64_t offs = after_k ? t_us - cc->k_us : cc->k_us - t_us;
	uint64_t delta;

	offs = (RTE_MIN(offs, CUBIC_OFFS_MAX_US) << CUBIC_TICK_SHIFT) / 1000000;
	/* 0.4 * mss * (offs / 2^10)^3: offs^3 <= 2^57, times 2/5 and mss < 2^16 after >> 10 */
	delta = offs * offs * offs >> CUBIC_TICK_SHIFT;
	delta = (delta * CUBIC_C_NUM / CUBIC_C_DEN * cc->mss) >> (2 * CUBIC_TICK_SHIFT);
	if (after_k)
		return cc->w_max + delta;
	return delta < cc->w_max ? cc->w_max - delta : 0;
}

/*
 * Byte counting: *w grows one MSS per @p per_mss bytes acknowledged, *acc
 * keeps the rest. per_mss shrinks as CUBIC's target moves away: what was
 * saved up under a larger per_mss counts as less than one MSS, so the step
 * from the plateau to the convex region does not release a burst.
 */
static void grow(uint32_t *w, uint32_t *acc, uint32_t acked, uint64_t per_mss, uint32_t mss)
{
	uint64_t total = RTE_MIN((uint64_t)*acc, per_mss - 1) + acked;
	uint64_t n = total / per_mss;

	*acc = (uint32_t)(total - n * per_mss);
	*w = cap_cwnd(*w + n * mss); /* n < 2^33, mss < 2^16 */
}

static void cubic_ca(struct tcp_cc *cc, uint32_t acked, uint32_t min_rtt_us, uint64_t now_us)
{
	uint64_t t, target, per_mss;

	if (cc->epoch_us == 0)
		cubic_epoch_start(cc, now_us);
	t = now_us > cc->epoch_us ? now_us - cc->epoch_us : 0;

	/* 4.3: W_est grows alpha segments per cwnd acknowledged, like Reno once past cwnd_prior */
	if (cc->w_est >= cc->cwnd_prior)
		per_mss = cc->cwnd;
	else
		per_mss = (uint64_t)cc->cwnd * CUBIC_ALPHA_DEN / CUBIC_ALPHA_NUM;
	grow(&cc->w_est, &cc->w_est_acked, acked, per_mss, cc->mss);

	if (cubic_window(cc, t) < cc->w_est) {
		/* Reno-friendly region: cwnd follows W_est (never shrinks) */
		cc->cwnd = RTE_MAX(cc->cwnd, cc->w_est);
		cc->bytes_acked = 0;
		return;
	}

	/* 4.4 / 4.5: the target one RTT ahead, within [cwnd, 1.5 cwnd] */
	target = cubic_window(cc, t + min_rtt_us);
	target = RTE_MIN(target, (uint64_t)cc->cwnd + cc->cwnd / 2);
	if (target <= cc->cwnd) {
		/* the plateau: no growth, and none saved up for later */
		cc->bytes_acked = 0;
		return;
	}
	per_mss = (uint64_t)cc->cwnd * cc->mss / (target - cc->cwnd);
	grow(&cc->cwnd, &cc->bytes_acked, acked, per_mss, cc->mss);
}

void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t min_rtt_us,
		   uint64_t now_us)
{
	if (acked == 0)
		return;
	if (flight < cc->cwnd / 2) {
		/*
		 * Application-limited: growth would not have been tested by the
		 * network. CUBIC re-anchors its curve when sending resumes.
		 */
		cc->epoch_us = 0;
		return;
	}
	if (cc->cwnd < cc->ssthresh) {
		/* slow start, stopping at ssthresh (RFC 5681 3.1: CA from there) */
		uint64_t w = (uint64_t)cc->cwnd + RTE_MIN(acked, cc->mss);

		cc->cwnd = cap_cwnd(RTE_MIN(w, (uint64_t)cc->ssthresh));
		return;
	}
	if (cc->algo == TCP_CC_CUBIC) {
		cubic_ca(cc, acked, min_rtt_us, now_us);
		return;
	}
	grow(&cc->cwnd, &cc->bytes_acked, acked, cc->cwnd, cc->mss);
}

static void reduce(struct tcp_cc *cc, uint32_t flight)
{
	uint64_t ss;

	if (cc->algo == TCP_CC_CUBIC) {
		ss = (uint64_t)flight * CUBIC_BETA_NUM / CUBIC_BETA_DEN;
		cc->cwnd_prior = cc->cwnd;
		/* 4.7 fast convergence: a window below the last W_max releases bandwidth */
		if (cc->cwnd < cc->w_max)
			cc->w_max =
				(uint32_t)((uint64_t)cc->cwnd * (CUBIC_BETA_DEN + CUBIC_BETA_NUM) /
					   (2 * CUBIC_BETA_DEN));
		else
			cc->w_max = cc->cwnd;
		cc->epoch_us = 0;
	} else {
		ss = flight / 2;
	}
	cc->ssthresh = (uint32_t)RTE_MAX(ss, 2 * (uint64_t)cc->mss);
	cc->bytes_acked = 0;
}

/* now_us unused: CUBIC's epoch starts at the first ACK after recovery, as in Linux */
void tcp_cc_on_loss(struct tcp_cc *cc, uint32_t flight, uint64_t now_us __rte_unused)
{
	reduce(cc, flight);
	cc->cwnd = cc->ssthresh;
}

void tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight, uint64_t now_us __rte_unused)
{
	reduce(cc, flight);
	cc->cwnd = cc->mss;
	cc->w_max = 0;
}

void tcp_cc_after_idle(struct tcp_cc *cc)
{
	cc->cwnd = RTE_MIN(cc->cwnd, initial_window(cc->mss));
	cc->bytes_acked = 0;
	cc->epoch_us = 0;
}
