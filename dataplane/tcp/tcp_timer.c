/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack's timer wheel and what each connection timer does.
 *
 * A connection has four deadlines (retransmission or tail loss probe /
 * persist / SYN, delayed ACK, keep-alive / FIN_WAIT_2 / TIME_WAIT, user) and
 * sits in the wheel once, under the earliest. The wheel has TCP_WHEEL_SLOTS slots of 1 ms; a deadline
 * further than one turn sits in its slot and is skipped until its turn comes
 * (no cascading: long timers are rare and cheap to pass over).
 */
#include <rte_common.h>

#include "tcp_internal.h"

static uint64_t tcp_deadline(const struct tcp_conn *c)
{
	uint64_t d = UINT64_MAX;

	if (c->rtx_at != 0)
		d = RTE_MIN(d, c->rtx_at);
	if (c->delack_at != 0)
		d = RTE_MIN(d, c->delack_at);
	if (c->ka_at != 0)
		d = RTE_MIN(d, c->ka_at);
	if (c->user_at != 0)
		d = RTE_MIN(d, c->user_at);
	return d == UINT64_MAX ? 0 : d;
}

void tcp_timer_remove(struct tcp_conn *c)
{
	if (c->wheel_at != 0) {
		LIST_REMOVE(c, wheel_link);
		c->wheel_at = 0;
	}
}

void tcp_timer_update(struct tcp_conn *c)
{
	struct tcp_stack *ts = c->ts;
	uint64_t d = tcp_deadline(c), tick;

	if (d == c->wheel_at || (c->flags & TCP_F_FREE_PENDING))
		return;
	tcp_timer_remove(c);
	if (d == 0)
		return;
	/* the slot whose run comes at or after the deadline; one already run
	 * means the next to run */
	tick = RTE_MAX((d + TCP_WHEEL_TICK_US - 1) / TCP_WHEEL_TICK_US, ts->wheel_now + 1);
	LIST_INSERT_HEAD(&ts->wheel[tick % TCP_WHEEL_SLOTS], c, wheel_link);
	c->wheel_at = d;
}

/*
 * RFC 8985 7.2: the tail loss probe timeout, or 0 where no probe may go: it
 * needs an RTT sample, SACK (for the recovery the probe's ACK starts) and the
 * timestamps (to tell from the ACK whether the probe repaired a loss), data in
 * flight outside recovery and RTO back-off, and no probe out already.
 */
static uint64_t tcp_pto(const struct tcp_conn *c)
{
	uint64_t pto;

	if ((c->flags & (TCP_F_SACK | TCP_F_TS | TCP_F_RECOVERY | TCP_F_TLP)) !=
		    (TCP_F_SACK | TCP_F_TS) ||
	    c->rtt.srtt_us == 0 || c->backoff != 0 || c->snd_una == c->snd_max ||
	    (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
		return 0;
	pto = RTE_MAX(2 * (uint64_t)c->rtt.srtt_us, (uint64_t)TCP_PTO_MIN_US);
	if (c->snd_max - c->snd_una <= c->mss) /* one segment: the peer may delay its ACK */
		pto += TCP_WCDELACK_US;
	return pto;
}

void tcp_timer_arm_rtx(struct tcp_conn *c)
{
	uint64_t rto = tcp_rtt_rto(&c->rtt, c->backoff), pto = tcp_pto(c);

	c->flags &= ~TCP_F_PTO;
	if (pto != 0 && pto < rto) {
		c->flags |= TCP_F_PTO;
		rto = pto;
	}
	c->rtx_at = c->ts->now_us + rto;
	tcp_timer_update(c);
}

void tcp_timer_time_wait(struct tcp_conn *c)
{
	c->rtx_at = 0;
	c->delack_at = 0;
	c->user_at = 0;
	c->ka_at = c->ts->now_us + 2 * TCP_MSL_US;
	tcp_timer_update(c);
}

/* Retransmission timer: SYN, zero-window probe or RTO. */
static void tcp_on_rtx(struct tcp_conn *c)
{
	struct tcp_stack *ts = c->ts;

	if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
		if (c->backoff >= c->syn_retries) {
			tcp_conn_done(c, TCP_CLOSE_TIMEOUT);
			tcp_conn_free(c);
			return;
		}
		c->backoff++;
		/* Karn; and a SYN lost with ECN asked for goes again without (some
		 * middleboxes drop ECN-setup SYNs; RFC 3168 6.1.1.1) */
		c->flags &= ~(TCP_F_RTT_TIMING | (c->state == TCP_SYN_SENT ? TCP_F_ECN_OK : 0));
		c->snd_nxt = c->iss; /* tcp_output sends the SYN again */
		tcp_output(c);
		tcp_timer_arm_rtx(c);
		return;
	}
	if (c->snd_una == c->snd_max) {
		/* nothing in flight: this is the persist timer (zero window) */
		if (c->sndq_seq + c->sndq.bytes != c->snd_una ||
		    ((c->flags & TCP_F_FIN_QUEUED) && c->snd_max == c->fin_seq)) {
			if (c->probes >= TCP_MAX_BACKOFF) {
				tcp_conn_done(c, TCP_CLOSE_TIMEOUT);
				tcp_send_ctl(c, c->snd_nxt, RTE_TCP_RST_FLAG);
				tcp_conn_free(c);
				return;
			}
			c->probes++;
			c->backoff = (uint8_t)RTE_MIN(c->backoff + 1, TCP_MAX_BACKOFF);
			stats_inc(ts->stats, STAT_TCP_WINDOW_PROBES);
			tcp_send_ctl(c, c->snd_una - 1, RTE_TCP_ACK_FLAG); /* elicits an ACK */
			tcp_timer_arm_rtx(c);
		}
		return;
	}
	if (c->flags & TCP_F_PTO) {
		/* RFC 8985 7.3: probe with the last segment; its ACK, or the SACKs
		 * it brings, start the recovery a tail loss would otherwise wait an
		 * RTO for. Then the RTO is armed. */
		c->flags = (c->flags & ~TCP_F_PTO) | TCP_F_TLP;
		c->tlp_end = c->snd_max;
		c->tlp_tsval = tcp_tsval(c);
		stats_inc(ts->stats, STAT_TCP_TLP_PROBES);
		tcp_retransmit_tail(c);
		tcp_timer_arm_rtx(c);
		return;
	}
	if (c->backoff >= TCP_MAX_BACKOFF) {
		tcp_conn_done(c, TCP_CLOSE_TIMEOUT);
		tcp_send_ctl(c, c->snd_nxt, RTE_TCP_RST_FLAG);
		tcp_conn_free(c);
		return;
	}
	/* RFC 6298 5.4-5.6 and RFC 5681 3.1: back off, collapse the window,
	 * go back to snd_una. SACK information is discarded (RFC 6675 5.1
	 * allows either; the receiver may have reneged). */
	stats_inc(ts->stats, STAT_TCP_RTO);
	if (c->backoff == 0) /* RFC 5681 3.1: ssthresh only on the first timeout */
		tcp_cc_on_rto(&c->cc, c->snd_max - c->snd_una, ts->now_us);
	c->backoff++;
	c->flags &= ~(TCP_F_RTT_TIMING | TCP_F_RECOVERY | TCP_F_TLP);
	c->recover = c->snd_max;
	c->dupacks = 0;
	c->dupthresh = TCP_DUPTHRESH; /* what it was raised for did not help */
	tcp_board_init(&c->board);
	c->snd_nxt = c->snd_una;
	c->snd_cursor = NULL; /* tcp_output finds it again from snd_una */
	c->high_rxt = c->snd_una;
	tcp_retransmit_head(c);
	tcp_timer_arm_rtx(c);
}

static void tcp_on_ka(struct tcp_conn *c)
{
	struct tcp_stack *ts = c->ts;
	uint64_t idle_until;

	switch (c->state) {
	case TCP_TIME_WAIT:
	case TCP_FIN_WAIT_2:
		tcp_conn_done(c, TCP_CLOSE_NORMAL);
		tcp_conn_free(c);
		return;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		break;
	default:
		return;
	}
	if (c->ka_idle_ms == 0)
		return;
	idle_until = c->last_rx_us + (uint64_t)c->ka_idle_ms * 1000;
	if (ts->now_us < idle_until) {
		c->probes = 0;
		c->ka_at = idle_until;
		return;
	}
	if (c->probes >= c->ka_probes_max) {
		tcp_conn_done(c, TCP_CLOSE_KEEPALIVE);
		tcp_send_ctl(c, c->snd_nxt, RTE_TCP_RST_FLAG);
		tcp_conn_free(c);
		return;
	}
	/* RFC 1122 4.2.3.6: a segment with SEG.SEQ = SND.NXT - 1 and no data */
	c->probes++;
	stats_inc(ts->stats, STAT_TCP_KEEPALIVE_PROBES);
	tcp_send_ctl(c, c->snd_nxt - 1, RTE_TCP_ACK_FLAG);
	c->ka_at = ts->now_us + (uint64_t)c->ka_intvl_ms * 1000;
}

/* Everything due on @p c. */
static void tcp_conn_timers(struct tcp_conn *c, uint64_t now)
{
	if (c->delack_at != 0 && c->delack_at <= now) {
		c->delack_at = 0;
		tcp_send_ack(c);
	}
	if (c->rtx_at != 0 && c->rtx_at <= now) {
		c->rtx_at = 0;
		tcp_on_rtx(c);
		if (tcp_conn_dead(c))
			return;
	}
	if (c->ka_at != 0 && c->ka_at <= now) {
		c->ka_at = 0;
		tcp_on_ka(c);
		if (tcp_conn_dead(c))
			return;
	}
	if (c->user_at != 0 && c->user_at <= now) {
		c->user_at = 0;
		if (!(c->flags & TCP_F_USER_GONE) && c->cb->timer != NULL)
			c->cb->timer(c, c->arg);
	}
}

void tcp_timer(struct tcp_stack *ts, uint64_t now_us)
{
	uint64_t last = now_us / TCP_WHEEL_TICK_US;

	ts->now_us = now_us;
	/* a long pause runs each slot once, not every tick missed */
	if (last > ts->wheel_now + TCP_WHEEL_SLOTS)
		ts->wheel_now = last - TCP_WHEEL_SLOTS;
	while (ts->wheel_now < last) {
		struct tcp_wheel_slot due;
		struct tcp_conn *c, *next;
		struct tcp_wheel_slot *slot = &ts->wheel[++ts->wheel_now % TCP_WHEEL_SLOTS];

		/* move what is due to a private list first: the timers of one
		 * connection may free or re-arm others of the same slot */
		LIST_INIT(&due);
		for (c = LIST_FIRST(slot); c != NULL; c = next) {
			next = LIST_NEXT(c, wheel_link);
			if (c->wheel_at <= now_us) {
				LIST_REMOVE(c, wheel_link);
				LIST_INSERT_HEAD(&due, c, wheel_link);
			}
		}
		while ((c = LIST_FIRST(&due)) != NULL) {
			LIST_REMOVE(c, wheel_link);
			c->wheel_at = 0;
			tcp_conn_hold(c);
			tcp_conn_timers(c, now_us);
			if (tcp_conn_release(c))
				tcp_timer_update(c);
		}
	}
}
