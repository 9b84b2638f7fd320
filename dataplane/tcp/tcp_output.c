/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building and sending segments: SYN, SYN-ACK, data (payload as indirect
 * mbufs attached to the send queue), FIN, ACK with SACK blocks, RST; what
 * the windows allow to send (Nagle, sender SWS avoidance, NewReno and RFC
 * 6675 recovery).
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "tcp_internal.h"

#define TCP_OPT_EOL	  0
#define TCP_OPT_NOP	  1
#define TCP_OPT_MSS	  2
#define TCP_OPT_WSCALE	  3
#define TCP_OPT_SACK_PERM 4
#define TCP_OPT_SACK	  5
#define TCP_OPT_TS	  8
#define TCP_OPT_MAX	  40

uint16_t tcp_local_mss(uint8_t family)
{
	/* links are Ethernet with a 1500-byte MTU; ICMP lowers it per connection */
	return family == 4 ? 1500 - 40 : 1500 - 60;
}

uint32_t tcp_rcv_window(const struct tcp_conn *c)
{
	const struct tcp_stack *ts = c->ts;
	uint32_t used = c->rcvq.bytes + c->ooo.bytes, mem = tcp_rcv_mem(c);
	uint32_t win = used < c->rcvbuf ? c->rcvbuf - used : 0;
	uint32_t max = (c->flags & TCP_F_WSCALE) ? 65535u << c->rcv_wscale : 65535u;

	/* what memory remains, in payload at the factor tcp_rcv_mem_max()
	 * allows: the connection's (smaller than the bytes' only when mem > 2 x
	 * used + slack), and the stack's below its low-water mark */
	if (unlikely(mem > 2 * used + TCP_MEM_SLACK))
		win = RTE_MIN(win, mem < tcp_rcv_mem_max(c) ? (tcp_rcv_mem_max(c) - mem) / 2 : 0);
	if (unlikely(ts->mem_used + 2 * (uint64_t)win > ts->mem_pressure))
		win = ts->mem_used < ts->mem_pressure
			      ? (uint32_t)((ts->mem_pressure - ts->mem_used) / 2)
			      : 0;

	/* receiver SWS avoidance (RFC 1122 4.2.3.3): no window smaller than a
	 * segment or half the buffer is offered */
	if (win < RTE_MIN(c->rcvbuf / 2, (uint32_t)c->rcv_mss))
		win = 0;
	win = RTE_MIN(win, max);
	/* never move the right edge back (RFC 9293 3.8.6.2.2) */
	if (SEQ_LT(c->rcv_nxt + win, c->rcv_adv))
		win = c->rcv_adv - c->rcv_nxt;
	return win;
}

uint32_t tcp_flight(const struct tcp_conn *c)
{
	if ((c->flags & (TCP_F_SACK | TCP_F_RECOVERY)) == (TCP_F_SACK | TCP_F_RECOVERY))
		return tcp_board_pipe(&c->board, c->snd_una, c->snd_max, c->high_rxt, c->mss,
				      tcp_dupthresh(c));
	return c->snd_nxt - c->snd_una;
}

uint32_t tcp_tsval(const struct tcp_conn *c)
{
	return (uint32_t)(c->ts->now_us / 1000) + c->ts_offset;
}

/* A timestamps option (10 bytes) at @p o. */
static unsigned int tcp_opt_ts(uint8_t *o, uint32_t val, uint32_t ecr)
{
	val = rte_cpu_to_be_32(val);
	ecr = rte_cpu_to_be_32(ecr);
	o[0] = TCP_OPT_TS;
	o[1] = 10;
	memcpy(o + 2, &val, 4);
	memcpy(o + 6, &ecr, 4);
	return 10;
}

/*
 * The options of a SYN or SYN-ACK: MSS, then SACK-permitted, timestamps and
 * window scale (@p wscale 0xff: none) as asked, 4-byte aligned with NOPs.
 * @return their length.
 */
static unsigned int tcp_syn_opts(uint8_t *o, uint16_t mss, bool sack, bool ts, uint32_t tsval,
				 uint32_t tsecr, uint8_t wscale)
{
	unsigned int n = 0;

	o[n++] = TCP_OPT_MSS;
	o[n++] = 4;
	o[n++] = (uint8_t)(mss >> 8);
	o[n++] = (uint8_t)mss;
	if (!(sack && ts) && (sack || ts)) {
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_NOP;
	}
	if (sack) {
		o[n++] = TCP_OPT_SACK_PERM;
		o[n++] = 2;
	}
	if (ts)
		n += tcp_opt_ts(o + n, tsval, tsecr);
	if (wscale != 0xff) {
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_WSCALE;
		o[n++] = 3;
		o[n++] = wscale;
	}
	return n;
}

/* Options for a segment of @p c; returns their length (a multiple of 4). */
static unsigned int tcp_options(struct tcp_conn *c, uint8_t *o, uint8_t flags)
{
	unsigned int n = 0;

	if (flags & RTE_TCP_SYN_FLAG) {
		/* a SYN offers everything; a SYN-ACK what the SYN offered */
		const bool synack = (flags & RTE_TCP_ACK_FLAG) != 0;

		return tcp_syn_opts(o, c->rcv_mss, !synack || (c->flags & TCP_F_SACK),
				    !synack || (c->flags & TCP_F_TS), tcp_tsval(c),
				    synack ? c->ts_recent : 0,
				    !synack || (c->flags & TCP_F_WSCALE) ? c->rcv_wscale : 0xff);
	}
	if (c->flags & TCP_F_TS) {
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_NOP;
		n += tcp_opt_ts(o + n, tcp_tsval(c), c->ts_recent);
	}
	if ((c->flags & TCP_F_SACK) && c->ooo.head != NULL && !(flags & RTE_TCP_RST_FLAG)) {
		struct tcp_sack_block b[TCP_SACK_MAX];
		unsigned int nb = tcp_ooo_sack_blocks(&c->ooo, b, (TCP_OPT_MAX - n - 2) / 8);

		if (nb > 0) {
			o[n++] = TCP_OPT_NOP;
			o[n++] = TCP_OPT_NOP;
			o[n++] = TCP_OPT_SACK;
			o[n++] = (uint8_t)(2 + 8 * nb);
			for (unsigned int i = 0; i < nb; i++) {
				uint32_t st = rte_cpu_to_be_32(b[i].start);
				uint32_t en = rte_cpu_to_be_32(b[i].end);

				memcpy(o + n, &st, 4);
				memcpy(o + n + 4, &en, 4);
				n += 8;
			}
			stats_add(c->ts->stats, STAT_TCP_SACK_BLOCKS_OUT, nb);
		}
	}
	return n;
}

/* The header mbuf of a segment: IP (with ECN field @p ecn) + TCP headers (and
 * options) written. */
static struct rte_mbuf *tcp_segment(struct tcp_stack *ts, const struct tcp_tuple *t, uint32_t seq,
				    uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts,
				    unsigned int optlen, uint8_t ecn)
{
	const unsigned int iplen =
		t->family == 4 ? sizeof(struct rte_ipv4_hdr) : sizeof(struct rte_ipv6_hdr);
	const unsigned int hlen = iplen + sizeof(struct rte_tcp_hdr) + optlen;
	struct rte_mbuf *m = rte_pktmbuf_alloc(ts->pool);
	struct rte_tcp_hdr *th;
	uint8_t *p;

	if (unlikely(m == NULL)) {
		stats_inc(ts->stats, STAT_TCP_ALLOC_FAILED);
		return NULL;
	}
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)hlen);
	if (t->family == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;

		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->type_of_service = ecn;
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		memcpy(&ip->src_addr, t->laddr, 4);
		memcpy(&ip->dst_addr, t->raddr, 4);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)p;

		memset(ip, 0, sizeof(*ip));
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)ecn << 20);
		ip->proto = IPPROTO_TCP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, t->laddr, 16);
		memcpy(ip->dst_addr, t->raddr, 16);
	}
	th = (struct rte_tcp_hdr *)(p + iplen);
	th->src_port = t->lport;
	th->dst_port = t->rport;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32((flags & RTE_TCP_ACK_FLAG) ? ack : 0);
	th->data_off = (uint8_t)(((sizeof(*th) + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen > 0) /* RSTs pass no options: memcpy() from NULL is undefined even for 0 bytes */
		memcpy(th + 1, opts, optlen);
	return m;
}

uint16_t tcp_sum(const struct rte_mbuf *m, uint32_t off)
{
	uint32_t sum = 0, done = 0;

	for (; m != NULL; m = m->next) {
		uint32_t len = m->data_len, part;

		if (off >= len) {
			off -= len;
			continue;
		}
		len -= off;
		part = __rte_raw_cksum_reduce(
			__rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const uint8_t *, off), len, 0));
		/* a part that starts at an odd position has its bytes the other
		 * way round in the 16-bit words of the whole */
		sum += (done & 1) ? rte_bswap16((uint16_t)part) : part;
		done += len;
		off = 0;
	}
	return __rte_raw_cksum_reduce(sum);
}

/* The TCP checksum of a segment whose pseudo-header sum is @p phdr. */
static uint16_t tcp_cksum(const struct rte_mbuf *m, uint32_t l4_off, uint16_t phdr)
{
	uint16_t c = (uint16_t)~__rte_raw_cksum_reduce((uint32_t)phdr + tcp_sum(m, l4_off));

	return c;
}

/* Lengths and checksums, once the payload is chained; then out it goes. */
static void tcp_transmit(struct tcp_stack *ts, struct rte_mbuf *m, uint8_t family)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);

	if (family == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

		ip->total_length = rte_cpu_to_be_16((uint16_t)m->pkt_len);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		th->cksum = tcp_cksum(m, sizeof(*ip), rte_ipv4_phdr_cksum(ip, 0));
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)p;
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

		ip->payload_len = rte_cpu_to_be_16((uint16_t)(m->pkt_len - sizeof(*ip)));
		th->cksum = tcp_cksum(m, sizeof(*ip), rte_ipv6_phdr_cksum(ip, 0));
	}
	stats_inc(ts->stats, STAT_TCP_SEGS_OUT);
	ts->output(ts->output_ctx, m);
}

static uint16_t tcp_wnd_field(struct tcp_conn *c, uint8_t flags)
{
	uint32_t win = tcp_rcv_window(c);

	if (flags & RTE_TCP_SYN_FLAG) {
		win = RTE_MIN(win, 65535u); /* never scaled (RFC 7323 2.2) */
		c->rcv_adv = c->rcv_nxt + win;
		return (uint16_t)win;
	}
	if (c->flags & TCP_F_WSCALE) {
		uint32_t w = win >> c->rcv_wscale;

		/* the scaling's rounding must not move the right edge back either
		 * (RFC 7323 2.4): round up instead, as Linux does */
		if (SEQ_LT(c->rcv_nxt + (w << c->rcv_wscale), c->rcv_adv))
			w++;
		win = w;
	}
	win = RTE_MIN(win, 65535u);
	/* what the peer will compute is what we promised */
	c->rcv_adv = c->rcv_nxt + (win << ((c->flags & TCP_F_WSCALE) ? c->rcv_wscale : 0));
	return (uint16_t)win;
}

/* Every segment with ACK acknowledges everything: no ACK owed afterwards. */
static void tcp_acked_now(struct tcp_conn *c)
{
	c->flags &= ~TCP_F_ACK_NOW;
	c->unacked = 0;
	if (c->delack_at != 0) {
		c->delack_at = 0;
		tcp_timer_update(c);
	}
}

/* RFC 3168 6.1.3: an ACK of an ECN connection echoes a CE with ECE (not RSTs). */
static uint8_t tcp_ece_flag(const struct tcp_conn *c, uint8_t flags)
{
	return (c->flags & TCP_F_ECE_OUT) && (flags & RTE_TCP_ACK_FLAG) &&
			       !(flags & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG))
		       ? RTE_TCP_ECE_FLAG
		       : 0;
}

void tcp_send_ctl(struct tcp_conn *c, uint32_t seq, uint8_t flags)
{
	uint8_t opts[TCP_OPT_MAX];
	unsigned int optlen = tcp_options(c, opts, flags);
	uint16_t wnd = (flags & RTE_TCP_ACK_FLAG) ? tcp_wnd_field(c, flags) : 0;
	struct rte_mbuf *m = tcp_segment(c->ts, &c->tuple, seq, c->rcv_nxt,
					 flags | tcp_ece_flag(c, flags), wnd, opts, optlen, 0);

	if (m == NULL)
		return;
	if (flags & RTE_TCP_RST_FLAG)
		stats_inc(c->ts->stats, STAT_TCP_RESETS_OUT);
	if (flags & RTE_TCP_ACK_FLAG)
		tcp_acked_now(c);
	c->last_tx_us = c->ts->now_us;
	tcp_transmit(c->ts, m, c->tuple.family);
}

void tcp_send_ack(struct tcp_conn *c)
{
	tcp_send_ctl(c, c->snd_nxt, RTE_TCP_ACK_FLAG);
}

/*
 * Find the send-queue mbuf holding byte @p seq and the offset in it. New data
 * is found from the cursor, which then moves along, so that sending a long
 * queue does not walk it from the head for every segment; retransmissions
 * (before the cursor) walk from the head.
 */
static struct rte_mbuf *tcp_sndq_find(struct tcp_conn *c, uint32_t seq, uint32_t *off)
{
	struct rte_mbuf *m = c->sndq.head;
	uint32_t at = c->sndq_seq;
	const bool from_cursor = c->snd_cursor != NULL && SEQ_GEQ(seq, c->snd_cursor_seq);

	if (from_cursor) {
		m = c->snd_cursor;
		at = c->snd_cursor_seq;
	}
	while (m != NULL && SEQ_GEQ(seq, at + m->data_len)) {
		at += m->data_len;
		m = m->next;
	}
	if (from_cursor && m != NULL) {
		c->snd_cursor = m;
		c->snd_cursor_seq = at;
	}
	*off = seq - at;
	return m;
}

/* Chain indirect mbufs for [seq, seq + len) of the send queue onto @p hdr. */
static int tcp_attach_payload(struct tcp_conn *c, struct rte_mbuf *hdr, uint32_t seq, uint32_t len)
{
	uint32_t off;
	struct rte_mbuf *src = tcp_sndq_find(c, seq, &off), *last = hdr;

	while (len > 0 && src != NULL) {
		uint32_t take = RTE_MIN(len, src->data_len - off);
		struct rte_mbuf *mi = rte_pktmbuf_alloc(c->ts->pool);

		if (unlikely(mi == NULL)) {
			stats_inc(c->ts->stats, STAT_TCP_ALLOC_FAILED);
			return -1;
		}
		rte_pktmbuf_attach(mi, src);
		mi->data_off = (uint16_t)(src->data_off + off);
		mi->data_len = (uint16_t)take;
		mi->pkt_len = take;
		last->next = mi;
		last = mi;
		hdr->nb_segs++;
		hdr->pkt_len += take;
		len -= take;
		off = 0;
		src = src->next;
	}
	return len == 0 ? 0 : -1;
}

/*
 * Send [seq, seq + len) with @p flags (ACK always; PSH on the last data; FIN
 * when it is the FIN's turn). @return 0, or -1 when no mbuf was left (the
 * retransmission timer tries again).
 */
static int tcp_xmit(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct tcp_stack *ts = c->ts;
	uint8_t opts[TCP_OPT_MAX];
	unsigned int optlen = tcp_options(c, opts, flags);
	uint32_t ack = c->rcv_nxt;
	uint8_t ecn = 0;
	struct rte_mbuf *m;

	if (!(flags & RTE_TCP_SYN_FLAG) || (flags & RTE_TCP_ACK_FLAG))
		flags |= RTE_TCP_ACK_FLAG;
	if (flags & RTE_TCP_SYN_FLAG) {
		/* RFC 3168 6.1.1: ECN-setup SYN (ECE + CWR) and SYN-ACK (ECE) */
		if (!(flags & RTE_TCP_ACK_FLAG) && (c->flags & TCP_F_ECN_OK))
			flags |= RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG;
		else if ((flags & RTE_TCP_ACK_FLAG) && (c->flags & TCP_F_ECN))
			flags |= RTE_TCP_ECE_FLAG;
	} else if (c->flags & TCP_F_ECN) {
		flags |= tcp_ece_flag(c, flags);
		/* RFC 3168 6.1.5: new data only is ECN-capable; CWR goes with it */
		if (len > 0 && SEQ_GEQ(seq, c->snd_max)) {
			ecn = TCP_ECN_ECT0;
			if (c->flags & TCP_F_CWR_OUT) {
				flags |= RTE_TCP_CWR_FLAG;
				c->flags &= ~TCP_F_CWR_OUT;
			}
		}
	}
	m = tcp_segment(ts, &c->tuple, seq, ack, flags, tcp_wnd_field(c, flags), opts, optlen, ecn);
	if (m == NULL)
		return -1;
	if (len > 0 && tcp_attach_payload(c, m, seq, len) < 0) {
		rte_pktmbuf_free(m);
		return -1;
	}
	if (flags & RTE_TCP_ACK_FLAG)
		tcp_acked_now(c);
	if (len > 0)
		stats_add(ts->stats, STAT_TCP_BYTES_OUT, len);
	if (SEQ_LT(seq, c->snd_max)) {
		stats_inc(ts->stats, STAT_TCP_RETRANSMITS);
		c->retransmits++;
		if (SEQ_GT(seq + len, c->high_rxt))
			c->high_rxt = seq + len;
	} else if (!(c->flags & TCP_F_RTT_TIMING)) {
		/* time one segment per round trip; never a retransmitted one (Karn) */
		c->flags |= TCP_F_RTT_TIMING;
		c->rtt_seq = seq;
		c->rtt_start_us = ts->now_us;
	}
	c->last_tx_us = ts->now_us;
	tcp_transmit(ts, m, c->tuple.family);
	return 0;
}

/* The payload bytes one segment may carry with this connection's options. */
static uint32_t tcp_seg_room(const struct tcp_conn *c)
{
	uint32_t room = c->mss;

	if (c->flags & TCP_F_TS)
		room -= 12;
	if ((c->flags & TCP_F_SACK) && c->ooo.head != NULL)
		room -= 4 + 8 * RTE_MIN((unsigned int)c->ooo.nsegs, 3u);
	return room;
}

/* Send [seq, seq + len) of data sent before again, with the FIN when it ends
 * there and was sent. */
static void tcp_resend(struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	uint8_t flags = 0;

	if ((c->flags & TCP_F_FIN_QUEUED) && seq + len == c->fin_seq &&
	    SEQ_GT(c->snd_max, c->fin_seq))
		flags |= RTE_TCP_FIN_FLAG;
	if (len == 0 && !(flags & RTE_TCP_FIN_FLAG))
		return;
	if (tcp_xmit(c, seq, len, flags) == 0) {
		uint32_t end = seq + len + ((flags & RTE_TCP_FIN_FLAG) ? 1 : 0);

		if (SEQ_GT(end, c->snd_nxt))
			c->snd_nxt = end;
	}
}

void tcp_retransmit_head(struct tcp_conn *c)
{
	uint32_t data_end = c->sndq_seq + c->sndq.bytes;

	if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
		c->snd_nxt = c->iss;
		tcp_output(c);
		return;
	}
	tcp_resend(c, c->snd_una, RTE_MIN(data_end - c->snd_una, tcp_seg_room(c)));
}

void tcp_retransmit_tail(struct tcp_conn *c)
{
	uint32_t sent_end = SEQ_MIN(c->snd_max, c->sndq_seq + c->sndq.bytes);
	uint32_t len = RTE_MIN(sent_end - c->snd_una, tcp_seg_room(c));

	tcp_resend(c, sent_end - len, len);
}

/* Send new (or, after an RTO, resent) data from snd_nxt while the windows allow. */
static void tcp_output_data(struct tcp_conn *c)
{
	const uint32_t data_end = c->sndq_seq + c->sndq.bytes;
	const bool sack_recovery =
		(c->flags & (TCP_F_SACK | TCP_F_RECOVERY)) == (TCP_F_SACK | TCP_F_RECOVERY);
	uint32_t pipe = sack_recovery ? tcp_flight(c) : 0;

	for (;;) {
		uint32_t room = tcp_seg_room(c);
		uint32_t avail = SEQ_GT(data_end, c->snd_nxt) ? data_end - c->snd_nxt : 0;
		uint32_t wnd_end = c->snd_una + c->snd_wnd;
		uint32_t usable, cwnd_room, len;
		uint8_t flags = 0;
		bool fin;

		if (sack_recovery) {
			uint32_t seq, l;

			if (pipe >= c->cc.cwnd)
				return;
			/* RFC 6675 NextSeg rule 1: a lost segment first */
			if (tcp_board_next_lost(&c->board, SEQ_MAX(c->high_rxt, c->snd_una),
						c->snd_max, room, tcp_dupthresh(c), &seq, &l)) {
				if (tcp_xmit(c, seq, l, 0) < 0)
					return;
				pipe += l;
				continue;
			}
			cwnd_room = c->cc.cwnd - pipe;
		} else {
			uint32_t inflight = c->snd_nxt - c->snd_una;

			cwnd_room = c->cc.cwnd > inflight ? c->cc.cwnd - inflight : 0;
		}
		usable = SEQ_GT(wnd_end, c->snd_nxt) ? wnd_end - c->snd_nxt : 0;
		len = RTE_MIN(avail, room);
		len = RTE_MIN(len, usable);
		len = RTE_MIN(len, cwnd_room);
		/* the FIN goes with the last data (again, after an RTO) */
		fin = (c->flags & TCP_F_FIN_QUEUED) && len == avail &&
		      c->snd_nxt + len == c->fin_seq;
		if (len == 0 && !fin)
			break;
		if (len > 0 && len < room && !fin) {
			/* a short segment. Cut by the windows: RFC 9293 3.8.6.2.1
			 * sender SWS avoidance, only when it fills half the largest
			 * window the peer offered or nothing is in flight (the
			 * override timeout, at once: waiting gains nothing then).
			 * The last bytes: Nagle (RFC 896), only when nothing is
			 * unacknowledged or Nagle is off. */
			const bool idle = c->snd_nxt == c->snd_una;

			if (len < avail ? len < c->max_sndwnd / 2 && !idle
					: !idle && !(c->flags & TCP_F_NODELAY))
				break;
		}
		if (fin)
			flags |= RTE_TCP_FIN_FLAG;
		if (len > 0 && len == avail)
			flags |= RTE_TCP_PSH_FLAG;
		if (tcp_xmit(c, c->snd_nxt, len, flags) < 0)
			break;
		c->snd_nxt += len + (fin ? 1 : 0);
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		pipe += len;
		if (c->rtx_at == 0)
			tcp_timer_arm_rtx(c);
		if (fin)
			break;
	}
}

void tcp_output(struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_CLOSED:
	case TCP_LISTEN:
	case TCP_TIME_WAIT:
		if (c->flags & TCP_F_ACK_NOW)
			tcp_send_ack(c);
		return;
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		if (c->snd_nxt == c->iss) {
			uint8_t flags = RTE_TCP_SYN_FLAG;

			if (c->state == TCP_SYN_RECEIVED)
				flags |= RTE_TCP_ACK_FLAG;
			if (tcp_xmit(c, c->iss, 0, flags) == 0) {
				c->snd_nxt = c->iss + 1;
				if (SEQ_GT(c->snd_nxt, c->snd_max))
					c->snd_max = c->snd_nxt;
			}
			if (c->rtx_at == 0)
				tcp_timer_arm_rtx(c);
		}
		return;
	default:
		break;
	}
	tcp_output_data(c);
	/* zero window with data waiting and nothing in flight: persist */
	if (c->snd_una == c->snd_max && c->rtx_at == 0 &&
	    (c->sndq_seq + c->sndq.bytes != c->snd_nxt ||
	     ((c->flags & TCP_F_FIN_QUEUED) && c->snd_nxt == c->fin_seq)) &&
	    c->snd_wnd == 0)
		tcp_timer_arm_rtx(c);
	if (c->flags & TCP_F_ACK_NOW)
		tcp_send_ack(c);
}

void tcp_send_rst_tuple(struct tcp_stack *ts, const struct tcp_tuple *t, const struct tcp_seg *seg)
{
	struct rte_mbuf *m;
	uint32_t seq = 0, ack = 0;
	uint8_t flags = RTE_TCP_RST_FLAG;

	if (seg->flags & RTE_TCP_RST_FLAG)
		return; /* never answer a RST */
	if (seg->flags & RTE_TCP_ACK_FLAG) {
		seq = seg->ack;
	} else {
		flags |= RTE_TCP_ACK_FLAG;
		ack = seg->seq + seg->len + ((seg->flags & RTE_TCP_SYN_FLAG) ? 1 : 0) +
		      ((seg->flags & RTE_TCP_FIN_FLAG) ? 1 : 0);
	}
	m = tcp_segment(ts, t, seq, ack, flags, 0, NULL, 0, 0);
	if (m == NULL)
		return;
	stats_inc(ts->stats, STAT_TCP_RESETS_OUT);
	tcp_transmit(ts, m, t->family);
}

void tcp_send_cookie_synack(struct tcp_stack *ts, const struct tcp_tuple *t, uint32_t isn,
			    uint32_t ack, const struct tcp_cookie_opts *o, uint32_t tsval,
			    uint32_t tsecr, uint16_t mss, uint8_t rcv_wscale)
{
	uint8_t opts[TCP_OPT_MAX];
	/* without timestamps the cookie keeps neither window scaling nor SACK */
	unsigned int n = o->ts_ok ? tcp_syn_opts(opts, mss, o->sack_ok, true, tsval, tsecr,
						 o->wscale != 0xff ? rcv_wscale : 0xff)
				  : tcp_syn_opts(opts, mss, false, false, 0, 0, 0xff);
	struct rte_mbuf *m;

	m = tcp_segment(ts, t, isn, ack, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 65535, opts, n, 0);
	if (m == NULL)
		return;
	stats_inc(ts->stats, STAT_TCP_COOKIES_SENT);
	tcp_transmit(ts, m, t->family);
}
