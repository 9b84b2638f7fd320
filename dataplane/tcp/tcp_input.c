/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Segment arrival (RFC 9293 3.10.7): parsing and validation, LISTEN (with SYN
 * cookies), SYN_SENT, and the synchronized states: PAWS, the acceptability
 * test, RST and SYN under RFC 5961, ACK processing (RTT, congestion control,
 * dup ACKs, NewReno and SACK recovery), data (in order, out of order), FIN.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "tcp_internal.h"

#define TCP_PAWS_IDLE_US (24ull * 24 * 3600 * 1000000) /* RFC 7323 5.5: 24 days */

/* ---- parsing ---- */

static void tcp_parse_options(const uint8_t *o, unsigned int len, struct tcp_seg *s)
{
	unsigned int i = 0;

	while (i < len) {
		uint8_t kind = o[i], olen;

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || (olen = o[i + 1]) < 2 || i + olen > len)
			break; /* malformed: the rest is ignored, as Linux does */
		switch (kind) {
		case 2:
			if (olen == 4 && (s->flags & RTE_TCP_SYN_FLAG)) {
				s->has_mss = true;
				s->mss = (uint16_t)(o[i + 2] << 8 | o[i + 3]);
			}
			break;
		case 3:
			if (olen == 3 && (s->flags & RTE_TCP_SYN_FLAG)) {
				s->has_wscale = true;
				s->wscale = RTE_MIN(o[i + 2], (uint8_t)TCP_MAX_WSCALE);
			}
			break;
		case 4:
			if (olen == 2 && (s->flags & RTE_TCP_SYN_FLAG))
				s->sack_ok = true;
			break;
		case 5:
			if (olen >= 10 && (olen - 2) % 8 == 0)
				for (unsigned int b = 0;
				     b < (olen - 2u) / 8 && s->n_sack < TCP_SACK_MAX; b++) {
					uint32_t st, en;

					memcpy(&st, o + i + 2 + 8 * b, 4);
					memcpy(&en, o + i + 6 + 8 * b, 4);
					s->sack[s->n_sack].start = rte_be_to_cpu_32(st);
					s->sack[s->n_sack].end = rte_be_to_cpu_32(en);
					s->n_sack++;
				}
			break;
		case 8:
			if (olen == 10) {
				uint32_t v, e;

				memcpy(&v, o + i + 2, 4);
				memcpy(&e, o + i + 6, 4);
				s->has_ts = true;
				s->ts_val = rte_be_to_cpu_32(v);
				s->ts_ecr = rte_be_to_cpu_32(e);
			}
			break;
		default:
			break;
		}
		i += olen;
	}
}

/*
 * Parse @p m (data at the IP header) into @p s and @p t (local = destination).
 * @return 0, 1 when it is not TCP for us (not an error), or the drop reason.
 */
static int tcp_parse(struct rte_mbuf *m, struct tcp_seg *s, struct tcp_tuple *t)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_tcp_hdr *th;
	unsigned int iplen, total, thlen;

	memset(s, 0, sizeof(*s));
	memset(t, 0, sizeof(*t));
	if (m->data_len < 20)
		return 1;
	if ((p[0] >> 4) == 4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)p;

		if (ip->next_proto_id != IPPROTO_TCP)
			return 1;
		iplen = (ip->version_ihl & 0xf) * 4u;
		total = rte_be_to_cpu_16(ip->total_length);
		s->ecn = ip->type_of_service & 3;
		t->family = 4;
		memcpy(t->laddr, &ip->dst_addr, 4);
		memcpy(t->raddr, &ip->src_addr, 4);
	} else if ((p[0] >> 4) == 6 && m->data_len >= sizeof(struct rte_ipv6_hdr)) {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)p;

		if (ip->proto != IPPROTO_TCP)
			return 1; /* extension headers are not followed */
		iplen = sizeof(*ip);
		total = iplen + rte_be_to_cpu_16(ip->payload_len);
		s->ecn = (rte_be_to_cpu_32(ip->vtc_flow) >> 20) & 3;
		t->family = 6;
		memcpy(t->laddr, ip->dst_addr, 16);
		memcpy(t->raddr, ip->src_addr, 16);
	} else {
		return 1;
	}
	if (total > m->pkt_len || total < iplen + sizeof(*th) || m->data_len < iplen + sizeof(*th))
		return STAT_DROP_TCP_BAD_HEADER;
	/* Ethernet padding is not payload */
	if (m->pkt_len > total)
		rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - total));
	th = (const struct rte_tcp_hdr *)(p + iplen);
	thlen = (th->data_off >> 4) * 4u;
	if (thlen < sizeof(*th) || iplen + thlen > total || iplen + thlen > m->data_len)
		return STAT_DROP_TCP_BAD_HEADER;
	t->lport = th->dst_port;
	t->rport = th->src_port;
	s->seq = rte_be_to_cpu_32(th->sent_seq);
	s->ack = rte_be_to_cpu_32(th->recv_ack);
	s->wnd = rte_be_to_cpu_16(th->rx_win);
	s->flags = th->tcp_flags &
		   (RTE_TCP_FIN_FLAG | RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_PSH_FLAG |
		    RTE_TCP_ACK_FLAG | RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG);
	s->hdrlen = (uint16_t)(iplen + thlen);
	s->len = total - iplen - thlen;
	tcp_parse_options((const uint8_t *)(th + 1), thlen - sizeof(*th), s);
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return 0;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return STAT_DROP_TCP_BAD_CSUM;
	{
		uint16_t phdr = t->family == 4 ? rte_ipv4_phdr_cksum((const void *)p, 0)
					       : rte_ipv6_phdr_cksum((const void *)p, 0);

		/* the sum over a segment with a right checksum is all ones */
		if (__rte_raw_cksum_reduce((uint32_t)phdr + tcp_sum(m, iplen)) != 0xffff)
			return STAT_DROP_TCP_BAD_CSUM;
	}
	return 0;
}

static void tcp_drop(struct tcp_stack *ts, struct rte_mbuf *m, enum stats_id why)
{
	stats_inc(ts->stats, why);
	rte_pktmbuf_free(m);
}

/* ---- helpers ---- */

/* RFC 5961 7: challenge ACKs, at most TCP_CHALLENGE_PER_SEC per second per stack. */
static void tcp_challenge_ack(struct tcp_conn *c)
{
	struct tcp_stack *ts = c->ts;
	uint64_t sec = ts->now_us / 1000000;

	if (sec != ts->challenge_sec) {
		ts->challenge_sec = sec;
		ts->challenge_tokens = TCP_CHALLENGE_PER_SEC;
	}
	if (ts->challenge_tokens == 0)
		return;
	ts->challenge_tokens--;
	stats_inc(ts->stats, STAT_TCP_CHALLENGE_ACKS);
	tcp_send_ack(c);
}

/* Options of a SYN (or SYN-ACK) applied to a new connection. */
static void tcp_syn_options(struct tcp_conn *c, const struct tcp_seg *s, bool we_offered)
{
	uint16_t peer_mss =
		s->has_mss ? s->mss
			   : (c->tuple.family == 4 ? TCP_MSS_DEFAULT_V4 : TCP_MSS_DEFAULT_V6);

	peer_mss = RTE_MAX(peer_mss, (uint16_t)TCP_MSS_MIN);
	c->mss = RTE_MIN(tcp_local_mss(c->tuple.family), peer_mss);
	c->rcv_mss = tcp_local_mss(c->tuple.family);
	if (s->has_wscale && we_offered) {
		c->flags |= TCP_F_WSCALE;
		c->snd_wscale = s->wscale;
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	if (s->sack_ok && we_offered)
		c->flags |= TCP_F_SACK;
	if (s->has_ts && we_offered) {
		c->flags |= TCP_F_TS;
		c->ts_recent = s->ts_val;
		c->ts_recent_us = c->ts->now_us;
	}
	tcp_cc_init(&c->cc, c->cc.algo, c->mss - ((c->flags & TCP_F_TS) ? 12u : 0u));
}

/* The peer's window from segment @p s (RFC 9293 3.10.7.4, fifth check). */
static void tcp_update_window(struct tcp_conn *c, const struct tcp_seg *s)
{
	if (SEQ_LT(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, s->ack))) {
		uint32_t wnd = (s->flags & RTE_TCP_SYN_FLAG) ? s->wnd : s->wnd << c->snd_wscale;

		c->snd_wnd = wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		if (wnd > c->max_sndwnd)
			c->max_sndwnd = wnd;
		if (wnd > 0 && c->probes > 0 && c->snd_una == c->snd_max) {
			/* the window opened: stop probing */
			c->probes = 0;
			c->backoff = 0;
			c->rtx_at = 0;
			tcp_timer_update(c);
		}
	}
}

/* Free what @p ack acknowledges from the send queue. */
static void tcp_sndq_ack(struct tcp_conn *c, uint32_t ack)
{
	uint32_t data_end = c->sndq_seq + c->sndq.bytes;
	uint32_t n = SEQ_LT(ack, data_end) ? ack - c->sndq_seq : c->sndq.bytes;
	uint32_t mem = c->sndq.mem;

	if (SEQ_LEQ(ack, c->sndq_seq))
		return;
	c->sndq_seq += n;
	while (n > 0) {
		struct rte_mbuf *m = c->sndq.head;

		if (m->data_len <= n) {
			n -= m->data_len;
			if (c->snd_cursor == m) {
				c->snd_cursor = m->next;
				c->snd_cursor_seq += m->data_len;
			}
			tcp_mq_unlink_head(&c->sndq);
			rte_pktmbuf_free_seg(m);
		} else {
			/* indirect mbufs sent earlier keep their own offsets */
			m->data_off = (uint16_t)(m->data_off + n);
			m->data_len = (uint16_t)(m->data_len - n);
			m->pkt_len = m->data_len;
			c->sndq.bytes -= n;
			if (c->snd_cursor == m)
				c->snd_cursor_seq += n;
			n = 0;
		}
	}
	if (c->sndq.head == NULL)
		c->snd_cursor = NULL;
	tcp_mem_charge(c->ts, (int64_t)c->sndq.mem - (int64_t)mem);
}

/* Re-derive the cursor after snd_nxt moved backwards (RTO) or out of it. */
static void tcp_cursor_fix(struct tcp_conn *c)
{
	struct rte_mbuf *m = c->sndq.head;
	uint32_t at = c->sndq_seq;

	while (m != NULL && SEQ_GEQ(c->snd_nxt, at + m->data_len)) {
		at += m->data_len;
		m = m->next;
	}
	c->snd_cursor = m;
	c->snd_cursor_seq = at;
}

/* Our FIN is acknowledged? */
static bool tcp_fin_acked(const struct tcp_conn *c)
{
	return (c->flags & TCP_F_FIN_QUEUED) && SEQ_GT(c->snd_una, c->fin_seq);
}

/*
 * A fast retransmission turned out spurious: the segment at recover_una was
 * overtaken by everything up to the highest SACKed byte (without SACK, by one
 * segment per duplicate ACK). Raise DupThresh above that displacement, so that
 * the same reordering no longer looks like a loss.
 */
static void tcp_reordering_seen(struct tcp_conn *c)
{
	const struct tcp_board *b = &c->board;
	uint32_t hi = b->n > 0 ? b->blk[b->n - 1].end : c->recover_una;
	uint32_t segs = 0;

	if (SEQ_GT(hi, c->recover_una) && c->cc.mss > 0)
		segs = (hi - c->recover_una + c->cc.mss - 1) / c->cc.mss;
	segs = RTE_MAX(segs, (uint32_t)c->dupacks + 1);
	segs = RTE_MIN(segs, (uint32_t)TCP_DUPTHRESH_MAX);
	if (segs > c->dupthresh) {
		c->dupthresh = (uint8_t)segs;
		stats_inc(c->ts->stats, STAT_TCP_DUPTHRESH_RAISED);
	}
}

/* Enter loss recovery (RFC 6675 5 step 4 / RFC 6582 3.2 step 2). */
static void tcp_enter_recovery(struct tcp_conn *c)
{
	struct tcp_stack *ts = c->ts;

	stats_inc(ts->stats, STAT_TCP_FAST_RECOVERIES);
	if (c->flags & TCP_F_TS) {
		c->flags |= TCP_F_UNDO;
		c->undo_cwnd = c->cc.cwnd;
		c->undo_ssthresh = c->cc.ssthresh;
		c->undo_tsval = tcp_tsval(c);
		c->recover_una = c->snd_una;
	}
	c->flags |= TCP_F_RECOVERY;
	c->recover = c->snd_max;
	tcp_cc_on_loss(&c->cc, c->snd_max - c->snd_una, ts->now_us);
	c->flags &= ~TCP_F_RTT_TIMING;
	if (c->flags & TCP_F_SACK) {
		c->high_rxt = c->snd_una;
		tcp_retransmit_head(c);
		c->high_rxt = SEQ_MAX(c->high_rxt, c->snd_una + 1);
	} else {
		tcp_retransmit_head(c);
		c->cc.cwnd = c->cc.ssthresh + tcp_dupthresh(c) * c->cc.mss;
	}
	tcp_timer_arm_rtx(c);
}

/*
 * ACK processing for synchronized states (RFC 9293 3.10.7.4 fifth check,
 * RFC 5961 5.2). @return false when the segment must be dropped.
 */
static bool tcp_ack_input(struct tcp_conn *c, const struct tcp_seg *s)
{
	struct tcp_stack *ts = c->ts;
	uint32_t acked;

	if (SEQ_GT(s->ack, c->snd_max)) {
		/* acknowledges something never sent: ACK and drop */
		stats_inc(ts->stats, STAT_DROP_TCP_BAD_ACK);
		tcp_send_ack(c);
		return false;
	}
	if (SEQ_LT(s->ack, c->snd_una - c->max_sndwnd)) {
		/* RFC 5961 5.2: too old to be a valid duplicate */
		stats_inc(ts->stats, STAT_DROP_TCP_BAD_ACK);
		tcp_challenge_ack(c);
		return false;
	}
	if ((c->flags & TCP_F_ECN) && (s->flags & RTE_TCP_ECE_FLAG) &&
	    SEQ_GT(s->ack, c->ecn_recover) && !(c->flags & TCP_F_RECOVERY)) {
		/* RFC 3168 6.1.2: congestion seen on the path: reduce as for a loss,
		 * once per window of data (an ECE on an ACK of data sent before
		 * the last reduction echoes the same congestion), and say so with
		 * CWR on the next new data */
		stats_inc(ts->stats, STAT_TCP_ECN_REDUCTIONS);
		tcp_cc_on_loss(&c->cc, c->snd_max - c->snd_una, ts->now_us);
		c->ecn_recover = c->snd_max;
		c->flags |= TCP_F_CWR_OUT;
	}
	if (s->n_sack > 0 && (c->flags & TCP_F_SACK)) {
		stats_add(ts->stats, STAT_TCP_SACK_BLOCKS_IN, s->n_sack);
		tcp_board_update(&c->board, c->snd_una, c->snd_max, s->sack, s->n_sack);
	}
	if (SEQ_LEQ(s->ack, c->snd_una)) {
		uint32_t old_wnd = c->snd_wnd;

		tcp_update_window(c, s);
		/* RFC 5681 2: a duplicate ACK carries no data, no window change,
		 * while data is outstanding */
		if (s->ack == c->snd_una && s->len == 0 && c->snd_wnd == old_wnd &&
		    c->snd_max != c->snd_una &&
		    !(s->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG))) {
			stats_inc(ts->stats, STAT_TCP_DUP_ACKS);
			if (c->dupacks < UINT8_MAX)
				c->dupacks++;
			if (!(c->flags & TCP_F_RECOVERY)) {
				if ((c->dupacks >= tcp_dupthresh(c) &&
				     ((c->flags & TCP_F_SACK) || SEQ_GT(c->snd_una, c->recover) ||
				      c->recover == c->iss)) ||
				    ((c->flags & TCP_F_SACK) &&
				     tcp_board_is_lost(&c->board, c->snd_una, c->cc.mss,
						       tcp_dupthresh(c))))
					tcp_enter_recovery(c);
			} else if (!(c->flags & TCP_F_SACK)) {
				c->cc.cwnd += c->cc.mss; /* RFC 6582 3.2 step 4: inflate */
			}
		}
		return true;
	}
	/* new data acknowledged */
	if ((c->flags & TCP_F_UNDO) && SEQ_GT(s->ack, c->recover_una)) {
		/* RFC 3522: the first ACK for the retransmitted segment echoes a
		 * timestamp older than the retransmission: the original arrived,
		 * reordered, not lost. Undo the reduction (RFC 4015 3.2). */
		c->flags &= ~TCP_F_UNDO;
		if (s->has_ts && SEQ_LT(s->ts_ecr, c->undo_tsval) && (c->flags & TCP_F_RECOVERY)) {
			stats_inc(ts->stats, STAT_TCP_SPURIOUS_RECOVERIES);
			tcp_reordering_seen(c);
			c->flags &= ~TCP_F_RECOVERY;
			c->cc.cwnd = RTE_MAX(c->cc.cwnd, c->undo_cwnd);
			c->cc.ssthresh = RTE_MAX(c->cc.ssthresh, c->undo_ssthresh);
		}
	}
	if ((c->flags & TCP_F_TLP) && SEQ_GEQ(s->ack, c->tlp_end)) {
		/* RFC 8985 7.4, with the timestamps for DSACK: the first ACK up to the
		 * probe's end echoes the probe's TSval only if the probe brought the
		 * data in, i.e. the original was lost: reduce the window once. */
		c->flags &= ~TCP_F_TLP;
		if (s->has_ts && SEQ_GEQ(s->ts_ecr, c->tlp_tsval) && !(c->flags & TCP_F_RECOVERY)) {
			stats_inc(ts->stats, STAT_TCP_TLP_RECOVERIES);
			tcp_cc_on_loss(&c->cc, c->snd_max - c->snd_una, ts->now_us);
		}
	}
	acked = s->ack - c->snd_una;
	if ((c->flags & TCP_F_RTT_TIMING) && SEQ_GT(s->ack, c->rtt_seq)) {
		c->flags &= ~TCP_F_RTT_TIMING;
		tcp_rtt_sample(&c->rtt, (uint32_t)RTE_MIN(ts->now_us - c->rtt_start_us,
							  (uint64_t)UINT32_MAX));
	}
	tcp_sndq_ack(c, s->ack);
	c->snd_una = s->ack;
	if (SEQ_LT(c->snd_nxt, c->snd_una)) {
		c->snd_nxt = c->snd_una;
		tcp_cursor_fix(c);
	}
	tcp_board_ack(&c->board, c->snd_una);
	c->backoff = 0;
	c->probes = 0;
	c->dupacks = 0;
	if (c->flags & TCP_F_RECOVERY) {
		if (SEQ_GEQ(s->ack, c->recover)) {
			/* full ACK: recovery is over (RFC 6582 3.2 step 5) */
			c->flags &= ~TCP_F_RECOVERY;
			uint32_t flight = RTE_MAX(c->snd_max - c->snd_una, c->cc.mss);

			c->cc.cwnd = RTE_MIN(c->cc.ssthresh, flight + c->cc.mss);
		} else if (!(c->flags & TCP_F_SACK)) {
			/* partial ACK: the next hole, deflate (RFC 6582 3.2 step 5) */
			tcp_retransmit_head(c);
			c->cc.cwnd -= RTE_MIN(acked, c->cc.cwnd);
			if (acked >= c->cc.mss)
				c->cc.cwnd += c->cc.mss;
			c->cc.cwnd = RTE_MAX(c->cc.cwnd, c->cc.mss);
		}
	} else {
		tcp_cc_on_ack(&c->cc, acked, c->snd_max - c->snd_una + acked, c->rtt.min_rtt_us,
			      ts->now_us);
		if ((c->flags & TCP_F_SACK) && c->snd_max != c->snd_una &&
		    tcp_board_is_lost(&c->board, c->snd_una, c->cc.mss, tcp_dupthresh(c)))
			tcp_enter_recovery(c);
	}
	tcp_update_window(c, s);
	if (c->snd_una == c->snd_max) {
		c->rtx_at = 0;
		tcp_timer_update(c);
	} else {
		tcp_timer_arm_rtx(c);
	}
	return true;
}

/* The user learns about the open: accepted (passive) or connected (active). */
static void tcp_established(struct tcp_conn *c)
{
	struct tcp_stack *ts = c->ts;

	tcp_conn_set_state(c, TCP_ESTABLISHED);
	if (c->flags & TCP_F_PASSIVE) {
		stats_inc(ts->stats, STAT_TCP_CONNS_ACCEPTED);
		c->flags |= TCP_F_ESTABLISHED;
		if (c->cb->accepted != NULL && c->cb->accepted(c, c->arg) != 0 && !tcp_conn_dead(c))
			tcp_abort(c);
	} else {
		stats_inc(ts->stats, STAT_TCP_CONNS_CONNECTED);
		if (c->cb->connected != NULL)
			c->cb->connected(c, c->arg);
	}
	if (!tcp_conn_dead(c) && c->ka_idle_ms != 0) {
		c->ka_at = ts->now_us + (uint64_t)c->ka_idle_ms * 1000;
		tcp_timer_update(c);
	}
}

static void tcp_readable(struct tcp_conn *c)
{
	if (!(c->flags & TCP_F_USER_GONE) && c->cb->readable != NULL)
		c->cb->readable(c, c->arg);
}

/*
 * May @p c queue @p segs more received mbufs costing @p need bytes of memory
 * starting at @p seq? Within the connection's and the stack's limits, after
 * pruning the out-of-order queue above @p seq when that makes the room (data
 * nearer rcv_nxt is worth more than what lies beyond it). Out-of-order data
 * may fill the stack only up to the low-water mark: the rest is kept for
 * in-order data, which the windows announced promise and readers consume.
 */
static bool tcp_rcv_make_room(struct tcp_conn *c, uint32_t need, uint32_t segs, uint32_t seq)
{
	struct tcp_stack *ts = c->ts;
	const uint64_t cap = seq == c->rcv_nxt ? ts->mem_limit : ts->mem_pressure;
	uint64_t over_stack, over_conn;
	uint32_t freed;

	if (c->rcvq.nsegs + c->ooo.nsegs + segs > TCP_RCV_SEGS_MAX)
		return false;
	over_conn = tcp_rcv_mem(c) + (uint64_t)need > tcp_rcv_mem_max(c)
			    ? tcp_rcv_mem(c) + (uint64_t)need - tcp_rcv_mem_max(c)
			    : 0;
	over_stack = ts->mem_used + need > cap ? ts->mem_used + need - cap : 0;
	if (over_conn == 0 && over_stack == 0)
		return true;
	over_conn = RTE_MAX(over_conn, over_stack);
	freed = tcp_ooo_prune(&c->ooo, seq, (uint32_t)RTE_MIN(over_conn, (uint64_t)UINT32_MAX));
	if (freed == 0)
		return false;
	stats_inc(ts->stats, STAT_TCP_OOO_PRUNED);
	tcp_mem_charge(ts, -(int64_t)freed);
	return true;
}

static inline bool tcp_rcv_room(struct tcp_conn *c, uint32_t need, uint32_t segs, uint32_t seq)
{
	const struct tcp_stack *ts = c->ts;

	/* the common case: far from every limit */
	if (likely(tcp_rcv_mem(c) + need <= tcp_rcv_mem_max(c) &&
		   ts->mem_used + need <= ts->mem_pressure &&
		   c->rcvq.nsegs + c->ooo.nsegs + segs <= TCP_RCV_SEGS_MAX))
		return true;
	return tcp_rcv_make_room(c, need, segs, seq);
}

/*
 * Payload of an acceptable segment, trimmed to the window (RFC 9293 3.10.7.4
 * seventh check). Takes @p m. @return true when it was queued in order.
 */
static void tcp_data_input(struct tcp_conn *c, struct rte_mbuf *m, struct tcp_seg *s)
{
	struct tcp_stack *ts = c->ts;
	struct rte_mbuf *seg, *tail;
	uint32_t seq = s->seq, len = s->len, need = 0, segs = 1;

	if (c->flags & TCP_F_USER_CLOSED) {
		/* nobody will read it (RFC 1122 4.2.2.13) */
		tcp_drop(ts, m, STAT_DROP_TCP_CLOSED_DATA);
		tcp_send_ctl(c, c->snd_nxt, RTE_TCP_RST_FLAG);
		tcp_conn_free(c);
		return;
	}
	if (c->rcvq.bytes + c->ooo.bytes + len > c->rcvbuf + c->rcv_mss) {
		tcp_drop(ts, m, STAT_DROP_TCP_RCVBUF_FULL);
		c->flags |= TCP_F_ACK_NOW;
		return;
	}
	/* keep the payload only, as single segments (a cut that does not fit
	 * one segment of a chained jumbo frame drops it: the peer resends) */
	rte_pktmbuf_adj(m, s->hdrlen);
	if (SEQ_LT(seq, c->rcv_nxt)) {
		uint32_t cut = c->rcv_nxt - seq;

		if (rte_pktmbuf_adj(m, (uint16_t)RTE_MIN(cut, (uint32_t)UINT16_MAX)) == NULL) {
			tcp_drop(ts, m, STAT_DROP_TCP_DUPLICATE);
			c->flags |= TCP_F_ACK_NOW;
			return;
		}
		seq += cut;
		len -= cut;
	}
	if (m->pkt_len > len && rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - len)) != 0) {
		tcp_drop(ts, m, STAT_DROP_TCP_OUT_OF_WINDOW);
		c->flags |= TCP_F_ACK_NOW;
		return;
	}
	for (seg = m; seg != NULL; seg = seg->next) {
		seg->nb_segs = 1;
		seg->pkt_len = seg->data_len;
	}
	/* drop empty segments of a chain (a header-only first segment) */
	while (m != NULL && m->data_len == 0) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	if (m == NULL)
		return;
	for (tail = m; tail->next != NULL; tail = tail->next) {
		need += tcp_truesize(tail);
		segs++;
	}
	need += tcp_truesize(tail);
	if (seq == c->rcv_nxt) {
		uint32_t more = 0;
		struct rte_mbuf *mh, *mt;
		const bool had_ooo = c->ooo.head != NULL;

		if (c->rcvq.tail != NULL && tcp_collapse_ok(c->rcvq.tail, m)) {
			/* a small segment: into the tail's room, its mbuf back to the pool */
			tcp_collapse(c->rcvq.tail, m);
			c->rcvq.bytes += len;
			stats_inc(ts->stats, STAT_TCP_RCV_COLLAPSED);
		} else if (!tcp_rcv_room(c, need, segs, seq)) {
			tcp_drop(ts, m, STAT_DROP_TCP_RCV_MEMORY);
			c->flags |= TCP_F_ACK_NOW;
			return;
		} else {
			tcp_mq_append(&c->rcvq, m, tail, len, segs, need);
			tcp_mem_charge(ts, need);
		}
		c->rcv_nxt += len;
		stats_add(ts->stats, STAT_TCP_BYTES_IN, len);
		if (had_ooo) {
			uint32_t mem = c->ooo.mem, moved = 0, n = 0;

			mh = tcp_ooo_take(&c->ooo, c->rcv_nxt, &more, &mt);
			for (struct rte_mbuf *x = mh; x != NULL; x = x->next, n++)
				moved += tcp_truesize(x);
			if (mh != NULL) {
				tcp_mq_append(&c->rcvq, mh, mt, more, n, moved);
				c->rcv_nxt += more;
				stats_add(ts->stats, STAT_TCP_BYTES_IN, more);
			}
			/* the queue's memory moves along: the stack's total changes
			 * only by what tcp_ooo_take() dropped */
			tcp_mem_charge(ts, -(int64_t)(mem - c->ooo.mem - moved));
			c->flags |= TCP_F_ACK_NOW; /* a gap filled: tell the sender at once */
		}
		/* RFC 1122 4.2.3.2 / RFC 5681 4.2: ACK every second full segment,
		 * else within TCP_DELACK_US */
		if (++c->unacked >= 2)
			c->flags |= TCP_F_ACK_NOW;
		else if (!(c->flags & TCP_F_ACK_NOW) && c->delack_at == 0) {
			c->delack_at = ts->now_us + TCP_DELACK_US;
			tcp_timer_update(c);
		}
		return;
	}
	/* a gap before it: keep it aside and say so at once (RFC 5681 4.2) */
	c->flags |= TCP_F_ACK_NOW;
	if (!tcp_rcv_room(c, need, segs, seq)) {
		tcp_drop(ts, m, STAT_DROP_TCP_OOO_MEMORY);
		return;
	}
	stats_inc(ts->stats, STAT_TCP_OOO_SEGS);
	{
		uint32_t mem = c->ooo.mem;

		if (tcp_ooo_insert(&c->ooo, m, seq, len) == 0)
			stats_inc(ts->stats, STAT_DROP_TCP_DUPLICATE);
		tcp_mem_charge(ts, (int64_t)c->ooo.mem - (int64_t)mem);
	}
}

/* The peer's FIN, in order (RFC 9293 3.10.7.4 eighth check). */
static void tcp_fin_input(struct tcp_conn *c)
{
	c->rcv_nxt++;
	c->flags |= TCP_F_FIN_RCVD | TCP_F_ACK_NOW;
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		tcp_conn_set_state(c, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT_1:
		if (tcp_fin_acked(c)) {
			tcp_conn_set_state(c, TCP_TIME_WAIT);
			tcp_timer_time_wait(c);
		} else {
			tcp_conn_set_state(c, TCP_CLOSING);
		}
		break;
	case TCP_FIN_WAIT_2:
		tcp_conn_set_state(c, TCP_TIME_WAIT);
		tcp_timer_time_wait(c);
		break;
	case TCP_TIME_WAIT:
		tcp_timer_time_wait(c); /* a retransmitted FIN restarts 2 MSL */
		break;
	default:
		break;
	}
}

/* ---- per-state processing ---- */

static void tcp_syn_sent_input(struct tcp_conn *c, struct rte_mbuf *m, struct tcp_seg *s)
{
	struct tcp_stack *ts = c->ts;
	const bool ack = (s->flags & RTE_TCP_ACK_FLAG) != 0;

	if (ack && (SEQ_LEQ(s->ack, c->iss) || SEQ_GT(s->ack, c->snd_max))) {
		if (!(s->flags & RTE_TCP_RST_FLAG))
			tcp_send_rst_tuple(ts, &c->tuple, s);
		tcp_drop(ts, m, STAT_DROP_TCP_BAD_ACK);
		return;
	}
	if (s->flags & RTE_TCP_RST_FLAG) {
		if (!ack) {
			tcp_drop(ts, m, STAT_DROP_TCP_BAD_ACK);
			return;
		}
		stats_inc(ts->stats, STAT_TCP_RESETS_IN);
		rte_pktmbuf_free(m);
		tcp_conn_done(c, TCP_CLOSE_REFUSED);
		tcp_conn_free(c);
		return;
	}
	if (!(s->flags & RTE_TCP_SYN_FLAG)) {
		tcp_drop(ts, m, STAT_DROP_TCP_BAD_SYN);
		return;
	}
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	tcp_syn_options(c, s, true);
	/* RFC 3168 6.1.1: an ECN-setup SYN-ACK has ECE and not CWR */
	if ((c->flags & TCP_F_ECN_OK) && ack &&
	    (s->flags & (RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG)) == RTE_TCP_ECE_FLAG)
		c->flags |= TCP_F_ECN;
	rte_pktmbuf_free(m); /* data on a SYN-ACK is not kept: the peer sends it again */
	if (ack) {
		c->snd_una = s->ack;
		c->snd_wl1 = s->seq - 1; /* make the window update below apply */
		tcp_update_window(c, s);
		c->backoff = 0;
		if (c->flags & TCP_F_RTT_TIMING) {
			c->flags &= ~TCP_F_RTT_TIMING;
			tcp_rtt_sample(&c->rtt, (uint32_t)(ts->now_us - c->rtt_start_us));
		}
		c->rtx_at = 0;
		tcp_timer_update(c);
		c->flags |= TCP_F_ACK_NOW;
		tcp_conn_hold(c);
		tcp_established(c);
		if (tcp_conn_release(c)) {
			if ((c->flags & TCP_F_FIN_QUEUED) && c->state == TCP_ESTABLISHED)
				tcp_conn_set_state(c, TCP_FIN_WAIT_1);
			tcp_output(c);
		}
		return;
	}
	/* simultaneous open (RFC 9293 3.5 figure 8) */
	c->snd_wl1 = s->seq - 1;
	tcp_update_window(c, s);
	tcp_conn_set_state(c, TCP_SYN_RECEIVED);
	c->snd_nxt = c->iss; /* tcp_output sends SYN-ACK with the same ISS */
	tcp_output(c);
}

/* Is the segment acceptable (RFC 9293 3.10.7.4 first check table)? */
static bool tcp_acceptable(const struct tcp_conn *c, const struct tcp_seg *s)
{
	uint32_t wnd = c->rcv_adv - c->rcv_nxt;
	uint32_t slen = s->len + ((s->flags & RTE_TCP_FIN_FLAG) ? 1 : 0);

	if (SEQ_LT(c->rcv_adv, c->rcv_nxt))
		wnd = 0;
	if (slen == 0) {
		if (wnd == 0)
			return s->seq == c->rcv_nxt;
		return SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd);
	}
	if (wnd == 0)
		return false;
	return (SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd)) ||
	       (SEQ_GEQ(s->seq + slen - 1, c->rcv_nxt) &&
		SEQ_LT(s->seq + slen - 1, c->rcv_nxt + wnd));
}

static void tcp_synchronized_input(struct tcp_conn *c, struct rte_mbuf *m, struct tcp_seg *s)
{
	struct tcp_stack *ts = c->ts;
	bool fin;

	/* PAWS (RFC 7323 5.3) */
	if ((c->flags & TCP_F_TS) && s->has_ts && !(s->flags & RTE_TCP_RST_FLAG) &&
	    SEQ_LT(s->ts_val, c->ts_recent)) {
		if (ts->now_us - c->ts_recent_us > TCP_PAWS_IDLE_US) {
			c->ts_recent = s->ts_val; /* idle for 24 days: the old value is void */
		} else {
			tcp_drop(ts, m, STAT_DROP_TCP_PAWS);
			tcp_send_ack(c);
			return;
		}
	}
	if (c->state == TCP_SYN_RECEIVED && (s->flags & RTE_TCP_SYN_FLAG) &&
	    !(s->flags & RTE_TCP_ACK_FLAG) && s->seq == c->irs) {
		/* our SYN-ACK got lost: the client repeats its SYN */
		rte_pktmbuf_free(m);
		c->snd_nxt = c->iss;
		tcp_output(c);
		return;
	}
	if (!tcp_acceptable(c, s)) {
		if (s->flags & RTE_TCP_RST_FLAG) {
			tcp_drop(ts, m, STAT_DROP_TCP_OUT_OF_WINDOW);
			return;
		}
		tcp_drop(ts, m,
			 SEQ_LEQ(s->seq + s->len, c->rcv_nxt) && s->len > 0
				 ? STAT_DROP_TCP_DUPLICATE
				 : STAT_DROP_TCP_OUT_OF_WINDOW);
		tcp_send_ack(c);
		return;
	}
	/* RST (RFC 5961 3.2): exactly rcv_nxt resets, else a challenge ACK */
	if (s->flags & RTE_TCP_RST_FLAG) {
		rte_pktmbuf_free(m);
		if (s->seq != c->rcv_nxt) {
			stats_inc(ts->stats, STAT_DROP_TCP_OUT_OF_WINDOW);
			tcp_challenge_ack(c);
			return;
		}
		stats_inc(ts->stats, STAT_TCP_RESETS_IN);
		tcp_conn_done(c, c->state == TCP_SYN_RECEIVED && !(c->flags & TCP_F_PASSIVE)
					 ? TCP_CLOSE_REFUSED
					 : TCP_CLOSE_RESET);
		tcp_conn_free(c);
		return;
	}
	/* SYN in a synchronized state (RFC 5961 4.2): challenge ACK */
	if (s->flags & RTE_TCP_SYN_FLAG) {
		tcp_drop(ts, m, STAT_DROP_TCP_BAD_SYN);
		tcp_challenge_ack(c);
		return;
	}
	if (!(s->flags & RTE_TCP_ACK_FLAG)) {
		tcp_drop(ts, m, STAT_DROP_TCP_BAD_ACK);
		return;
	}
	/* timestamps: remember the newest from an in-window segment (RFC 7323 4.3) */
	if ((c->flags & TCP_F_TS) && s->has_ts && SEQ_LEQ(s->seq, c->rcv_nxt) &&
	    SEQ_GEQ(s->ts_val, c->ts_recent)) {
		c->ts_recent = s->ts_val;
		c->ts_recent_us = ts->now_us;
	}
	c->last_rx_us = ts->now_us;
	if (c->flags & TCP_F_ECN) {
		/* RFC 3168 6.1.3: echo CE with ECE on every ACK until the sender's
		 * CWR (a CWR segment that is itself CE-marked keeps the echo on) */
		if (s->flags & RTE_TCP_CWR_FLAG)
			c->flags &= ~TCP_F_ECE_OUT;
		if (s->ecn == TCP_ECN_CE && s->len > 0) {
			stats_inc(ts->stats, STAT_TCP_ECN_CE_IN);
			c->flags |= TCP_F_ECE_OUT | TCP_F_ACK_NOW;
		}
	}
	if (c->state == TCP_SYN_RECEIVED) {
		if (SEQ_LEQ(s->ack, c->snd_una) || SEQ_GT(s->ack, c->snd_max)) {
			tcp_send_rst_tuple(ts, &c->tuple, s);
			tcp_drop(ts, m, STAT_DROP_TCP_BAD_ACK);
			return;
		}
		c->snd_wl1 = s->seq - 1;
		tcp_conn_hold(c);
		tcp_established(c);
		if (!tcp_conn_release(c)) {
			rte_pktmbuf_free(m);
			return;
		}
		if ((c->flags & TCP_F_FIN_QUEUED) && c->state == TCP_ESTABLISHED)
			tcp_conn_set_state(c, TCP_FIN_WAIT_1);
	}
	if (!tcp_ack_input(c, s)) {
		rte_pktmbuf_free(m);
		return;
	}
	if (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT)
		c->probes = 0;
	/* our FIN acknowledged */
	if (tcp_fin_acked(c)) {
		switch (c->state) {
		case TCP_FIN_WAIT_1:
			tcp_conn_set_state(c, TCP_FIN_WAIT_2);
			if (c->flags & TCP_F_USER_CLOSED) {
				c->ka_at = ts->now_us + TCP_FIN_WAIT_2_US;
				tcp_timer_update(c);
			}
			break;
		case TCP_CLOSING:
			tcp_conn_set_state(c, TCP_TIME_WAIT);
			tcp_timer_time_wait(c);
			tcp_conn_done(c, TCP_CLOSE_NORMAL);
			break;
		case TCP_LAST_ACK:
			rte_pktmbuf_free(m);
			tcp_conn_done(c, TCP_CLOSE_NORMAL);
			tcp_conn_free(c);
			return;
		default:
			break;
		}
		if (tcp_conn_dead(c)) {
			rte_pktmbuf_free(m);
			return;
		}
	}
	fin = (s->flags & RTE_TCP_FIN_FLAG) != 0;
	if (fin && SEQ_GT(s->seq + s->len, c->rcv_adv))
		fin = false; /* the FIN lies beyond the window */
	/* data */
	if (s->len > 0 && (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
			   c->state == TCP_FIN_WAIT_2)) {
		bool in_order = SEQ_LEQ(s->seq, c->rcv_nxt);
		uint32_t end = s->seq + s->len;

		if (SEQ_GT(end, c->rcv_adv)) {
			/* beyond the window: keep what fits */
			uint32_t over = end - c->rcv_adv;

			s->len -= RTE_MIN(over, s->len);
			fin = false;
		}
		if (s->len == 0 || SEQ_LEQ(s->seq + s->len, c->rcv_nxt)) {
			rte_pktmbuf_free(m);
			stats_inc(ts->stats, STAT_DROP_TCP_DUPLICATE);
			c->flags |= TCP_F_ACK_NOW;
		} else {
			tcp_data_input(c, m, s);
			if (tcp_conn_dead(c))
				return;
			if (in_order)
				tcp_readable(c);
			if (tcp_conn_dead(c))
				return;
		}
		m = NULL;
	} else if (s->len > 0) {
		/* data after the peer's FIN: ignore, ACK */
		c->flags |= TCP_F_ACK_NOW;
	}
	if (m != NULL)
		rte_pktmbuf_free(m);
	if (fin && !(c->flags & TCP_F_FIN_RCVD) && SEQ_GT(s->seq + s->len, c->rcv_nxt)) {
		/* a FIN beyond a gap: it takes effect when the gap fills (kept like
		 * the data queued out of order, so the peer need not repeat it) */
		c->flags |= TCP_F_FIN_OOO | TCP_F_ACK_NOW;
		c->fin_ooo_seq = s->seq + s->len;
		fin = false;
	}
	if (!(c->flags & TCP_F_FIN_RCVD) &&
	    ((fin && s->seq + s->len == c->rcv_nxt) ||
	     ((c->flags & TCP_F_FIN_OOO) && c->rcv_nxt == c->fin_ooo_seq))) {
		c->flags &= ~TCP_F_FIN_OOO;
		tcp_fin_input(c);
		tcp_readable(c); /* EOF first, then (in TIME_WAIT) the end */
		if (tcp_conn_dead(c))
			return;
		if (c->state == TCP_TIME_WAIT) {
			tcp_conn_done(c, TCP_CLOSE_NORMAL);
			if (tcp_conn_dead(c))
				return;
		}
	} else if (fin && c->state == TCP_TIME_WAIT) {
		tcp_timer_time_wait(c);
		c->flags |= TCP_F_ACK_NOW;
	}
	tcp_conn_maybe_writable(c);
	if (tcp_conn_dead(c))
		return;
	tcp_output(c);
}

/* ---- LISTEN ---- */

static struct tcp_conn *tcp_passive_conn(struct tcp_stack *ts, struct tcp_listener *l,
					 const struct tcp_tuple *t)
{
	struct tcp_conn *c = tcp_conn_alloc(ts, t);

	if (c == NULL)
		return NULL;
	tcp_conn_apply_params(c, &l->params);
	c->cb = l->cb;
	c->arg = l->arg;
	c->listener = l;
	c->flags |= TCP_F_PASSIVE;
	return c;
}

static void tcp_listen_input(struct tcp_stack *ts, struct tcp_listener *l, struct rte_mbuf *m,
			     struct tcp_seg *s, const struct tcp_tuple *t)
{
	struct tcp_conn *c;

	if (s->flags & RTE_TCP_RST_FLAG) {
		tcp_drop(ts, m, STAT_DROP_TCP_NO_CONN);
		return;
	}
	if (s->flags & RTE_TCP_ACK_FLAG) {
		struct tcp_cookie_opts o;

		if ((s->flags & RTE_TCP_SYN_FLAG) ||
		    tcp_cookie_check(ts->secret, t, s->seq - 1, s->ack - 1, s->has_ts, s->ts_ecr,
				     ts->now_us, &o) != 0) {
			tcp_send_rst_tuple(ts, t, s);
			tcp_drop(ts, m, STAT_DROP_TCP_BAD_SYN);
			return;
		}
		/* a valid SYN cookie: the connection starts established */
		c = tcp_passive_conn(ts, l, t);
		if (c == NULL) {
			tcp_send_rst_tuple(ts, t, s);
			tcp_drop(ts, m, STAT_DROP_TCP_CONN_LIMIT);
			return;
		}
		stats_inc(ts->stats, STAT_TCP_COOKIES_VALID);
		c->iss = s->ack - 1;
		c->snd_una = c->iss;
		c->recover = c->iss; /* RFC 6582 3.2: "recover" starts at the ISS */
		c->ecn_recover = c->iss;
		c->snd_nxt = c->snd_max = s->ack;
		c->sndq_seq = s->ack;
		c->irs = s->seq - 1;
		c->rcv_nxt = s->seq;
		c->rcv_adv = s->seq;
		c->mss = RTE_MIN(o.mss, tcp_local_mss(t->family));
		c->rcv_mss = tcp_local_mss(t->family);
		if (o.ts_ok) {
			c->flags |= TCP_F_TS;
			c->ts_recent = s->ts_val;
			c->ts_recent_us = ts->now_us;
			c->ts_offset = 0; /* the cookie's clock */
			if (o.sack_ok)
				c->flags |= TCP_F_SACK;
			if (o.wscale != 0xff) {
				c->flags |= TCP_F_WSCALE;
				c->snd_wscale = o.wscale;
			}
		}
		if (!(c->flags & TCP_F_WSCALE))
			c->rcv_wscale = 0;
		c->snd_wl1 = s->seq - 1;
		tcp_cc_init(&c->cc, c->cc.algo, c->mss - ((c->flags & TCP_F_TS) ? 12u : 0u));
		tcp_conn_set_state(c, TCP_SYN_RECEIVED);
		tcp_conn_hold(c);
		tcp_synchronized_input(c, m, s);
		tcp_conn_release(c);
		return;
	}
	if (!(s->flags & RTE_TCP_SYN_FLAG) || (s->flags & RTE_TCP_FIN_FLAG)) {
		tcp_drop(ts, m, STAT_DROP_TCP_BAD_SYN);
		return;
	}
	if (l->half_open >= l->params.syn_backlog) {
		/* SYN flood: answer without state (RFC 4987 3.6) */
		struct tcp_cookie_opts o = {
			.mss = s->has_mss ? s->mss : TCP_MSS_DEFAULT_V4,
			.wscale = s->has_wscale ? s->wscale : 0xff,
			.sack_ok = s->sack_ok,
			.ts_ok = s->has_ts,
		};
		uint32_t tsval = 0, isn;
		uint8_t wscale = 0;
		uint32_t rcvbuf = l->params.rcvbuf != 0 ? l->params.rcvbuf : 256u * 1024;

		if (!s->has_mss && t->family == 6)
			o.mss = TCP_MSS_DEFAULT_V6;
		while (wscale < TCP_MAX_WSCALE && (rcvbuf >> wscale) > 65535)
			wscale++;
		isn = tcp_cookie_make(ts->secret, t, s->seq, &o, ts->now_us, &tsval);
		tcp_send_cookie_synack(ts, t, isn, s->seq + 1, &o, tsval, s->ts_val,
				       tcp_local_mss(t->family), wscale);
		rte_pktmbuf_free(m);
		return;
	}
	c = tcp_passive_conn(ts, l, t);
	if (c == NULL) {
		tcp_drop(ts, m, STAT_DROP_TCP_CONN_LIMIT);
		return;
	}
	c->flags |= TCP_F_HALF_OPEN;
	l->half_open++;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	c->iss = tcp_isn(ts->secret, t, ts->now_us);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->recover = c->iss; /* RFC 6582 3.2: "recover" starts at the ISS */
	c->ecn_recover = c->iss;
	c->sndq_seq = c->iss + 1;
	c->ts_offset = 0;
	tcp_syn_options(c, s, true);
	/* RFC 3168 6.1.1: an ECN-setup SYN has ECE and CWR; the SYN-ACK says yes */
	if ((c->flags & TCP_F_ECN_OK) && (s->flags & (RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG)) ==
						 (RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG))
		c->flags |= TCP_F_ECN;
	c->snd_wnd = s->wnd; /* SYN windows are never scaled */
	c->max_sndwnd = s->wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = c->iss;
	rte_pktmbuf_free(m); /* data on a SYN is not kept (no TCP Fast Open) */
	tcp_conn_set_state(c, TCP_SYN_RECEIVED);
	tcp_output(c);
}

/* RFC 6191: a SYN may end a TIME_WAIT early when it is clearly newer. */
static bool tcp_time_wait_reusable(const struct tcp_conn *c, const struct tcp_seg *s)
{
	if ((s->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG)) !=
	    RTE_TCP_SYN_FLAG)
		return false;
	if ((c->flags & TCP_F_TS) && s->has_ts)
		return SEQ_GT(s->ts_val, c->ts_recent);
	return SEQ_GT(s->seq, c->rcv_nxt);
}

bool tcp_input(struct tcp_stack *ts, struct rte_mbuf *m, uint64_t now_us)
{
	struct tcp_seg s;
	struct tcp_tuple t;
	struct tcp_conn *c;
	struct tcp_listener *l = NULL;
	int r;

	ts->now_us = now_us;
	r = tcp_parse(m, &s, &t);
	if (r == 1)
		return false;
	c = tcp_conn_lookup(ts, &t);
	if (c == NULL) {
		l = tcp_listener_find(ts, &t);
		if (l == NULL && r == 0)
			return false;
	}
	if (r != 0) {
		tcp_drop(ts, m, (enum stats_id)r);
		return true;
	}
	stats_inc(ts->stats, STAT_TCP_SEGS_IN);
	if (c != NULL && c->state == TCP_TIME_WAIT && tcp_time_wait_reusable(c, &s) &&
	    (l = tcp_listener_find(ts, &t)) != NULL) {
		stats_inc(ts->stats, STAT_TCP_TIME_WAIT_REUSED);
		tcp_conn_free(c);
		c = NULL;
	}
	if (c == NULL) {
		tcp_listen_input(ts, l, m, &s, &t);
		return true;
	}
	tcp_conn_hold(c);
	if (c->state == TCP_SYN_SENT)
		tcp_syn_sent_input(c, m, &s);
	else
		tcp_synchronized_input(c, m, &s);
	tcp_conn_release(c);
	return true;
}

void tcp_reset_reply(struct tcp_stack *ts, struct rte_mbuf *m)
{
	struct tcp_seg s;
	struct tcp_tuple t;
	int r = tcp_parse(m, &s, &t);

	if (r != 0) {
		tcp_drop(ts, m, r == 1 ? STAT_DROP_TCP_BAD_HEADER : (enum stats_id)r);
		return;
	}
	tcp_send_rst_tuple(ts, &t, &s);
	tcp_drop(ts, m, STAT_DROP_TCP_NO_CONN);
}

bool tcp_icmp_error(struct tcp_stack *ts, const void *quoted, uint32_t len, uint32_t mtu,
		    uint64_t now_us)
{
	const uint8_t *p = quoted;
	struct tcp_tuple t = {0};
	struct tcp_conn *c;
	unsigned int iplen;
	uint32_t seq;

	ts->now_us = now_us;
	if (len < 20)
		return false;
	if ((p[0] >> 4) == 4) {
		iplen = (p[0] & 0xf) * 4u;
		if (p[9] != IPPROTO_TCP || len < iplen + 8)
			return false;
		t.family = 4;
		memcpy(t.laddr, p + 12, 4); /* we sent it: our address is the source */
		memcpy(t.raddr, p + 16, 4);
	} else if ((p[0] >> 4) == 6 && len >= 48) {
		iplen = 40;
		if (p[6] != IPPROTO_TCP)
			return false;
		t.family = 6;
		memcpy(t.laddr, p + 8, 16);
		memcpy(t.raddr, p + 24, 16);
	} else {
		return false;
	}
	memcpy(&t.lport, p + iplen, 2);
	memcpy(&t.rport, p + iplen + 2, 2);
	memcpy(&seq, p + iplen + 4, 4);
	seq = rte_be_to_cpu_32(seq);
	c = tcp_conn_lookup(ts, &t);
	if (c == NULL || SEQ_LT(seq, c->snd_una) || SEQ_GEQ(seq, c->snd_max))
		return c != NULL; /* RFC 5927: only for data in flight */
	tcp_conn_hold(c);
	if (mtu > 0) {
		uint32_t hdr = t.family == 4 ? 40 : 60;
		uint32_t mss = mtu > hdr ? mtu - hdr : TCP_MSS_MIN;

		mss = RTE_MAX(mss, (uint32_t)TCP_MSS_MIN);
		if (mss < c->mss) {
			stats_inc(ts->stats, STAT_TCP_PMTU_UPDATES);
			c->mss = (uint16_t)mss;
			tcp_cc_set_mss(&c->cc, c->mss - ((c->flags & TCP_F_TS) ? 12u : 0u));
			/* resend what was too big now (RFC 1191 6.5) */
			c->snd_nxt = c->snd_una;
			tcp_cursor_fix(c);
			tcp_output(c);
		}
	} else if (c->state == TCP_SYN_SENT) {
		tcp_conn_done(c, TCP_CLOSE_UNREACHABLE);
		tcp_conn_free(c);
	}
	tcp_conn_release(c);
	return true;
}
