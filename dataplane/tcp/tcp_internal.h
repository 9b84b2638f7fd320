/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcp internals shared by the files of dataplane/tcp. Nothing outside the
 * folder includes this.
 *
 *   tcp_input.c   segment parsing and the RFC 9293 event processing
 *   tcp_output.c  building segments, transmission, retransmission, RST
 *   tcp_conn.c    the stack, connection table and pool, listeners, the API
 *   tcp_timer.c   the timer wheel and the per-connection timers
 *   tcp_cc.c      RTT estimation (RFC 6298) and congestion control
 *   tcp_cookie.c  SipHash, ISNs (RFC 6528) and SYN cookies
 *   tcp_sack.c    the out-of-order queue (receiver) and the SACK scoreboard
 *                 (sender, RFC 6675)
 */
#ifndef MESHDP_TCP_INTERNAL_H
#define MESHDP_TCP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_tcp.h>

#include "tcp.h"

/* ---- sequence arithmetic (RFC 9293 3.4: modulo 2^32) ---- */
#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

/* ---- constants ---- */
#define TCP_MSS_DEFAULT_V4 536 /* RFC 9293 3.7.1: without an MSS option */
#define TCP_MSS_DEFAULT_V6 1220
#define TCP_MSS_MIN	   88	  /* smallest MSS accepted from a peer or from ICMP */
#define TCP_RTO_MIN_US	   200000 /* Linux's floor, see tcp.h */
#define TCP_RTO_MAX_US	   60000000
#define TCP_RTO_INIT_US	   1000000 /* RFC 6298 2.1 */
#define TCP_ECN_ECT0	   2	   /* IP ECN field values (RFC 3168 5) */
#define TCP_ECN_CE	   3
#define TCP_DUPTHRESH	   3  /* RFC 5681 / RFC 6675 DupThresh, the starting point */
#define TCP_DUPTHRESH_MAX  32 /* raised by measured reordering, at most to this */
#define TCP_MAX_WSCALE	   14
#define TCP_SACK_MAX	   4 /* SACK blocks parsed from a segment */

/* ---- the connection key: also the rte_hash key (40 bytes, no padding) ---- */
struct tcp_tuple {
	uint8_t laddr[16]; /* IPv4 in the first 4 bytes, rest zero */
	uint8_t raddr[16];
	uint16_t lport; /* network order */
	uint16_t rport; /* network order */
	uint8_t family; /* 4 or 6 */
	uint8_t pad[3]; /* zero */
};

struct tcp_sack_block {
	uint32_t start; /* first sequence number */
	uint32_t end;	/* one past the last */
};

/** A parsed incoming segment (tcp_input.c). */
struct tcp_seg {
	uint32_t seq, ack;
	uint32_t len;	 /* payload bytes (SYN and FIN not counted) */
	uint32_t wnd;	 /* raw window field (unscaled) */
	uint16_t hdrlen; /* IP + TCP headers: payload offset in the mbuf */
	uint8_t flags;	 /* RTE_TCP_*_FLAG */
	uint8_t ecn;	 /* the IP header's ECN field (TCP_ECN_*) */
	/* options */
	bool has_mss, has_wscale, sack_ok, has_ts;
	uint16_t mss;
	uint8_t wscale;
	uint32_t ts_val, ts_ecr;
	uint8_t n_sack;
	struct tcp_sack_block sack[TCP_SACK_MAX];
};

/* ---- tcp_cc.c: RTT estimation (RFC 6298) ---- */
struct tcp_rtt {
	uint32_t srtt_us; /* 0 until the first sample */
	uint32_t rttvar_us;
	uint32_t rto_us;     /* current RTO before back-off, [TCP_RTO_MIN_US, TCP_RTO_MAX_US] */
	uint32_t min_rtt_us; /* smallest sample seen, 0 until the first (CUBIC's RTT) */
};

/** RTO = TCP_RTO_INIT_US, no sample yet. */
void tcp_rtt_init(struct tcp_rtt *r);

/**
 * One RTT measurement (RFC 6298 2.2 for the first, 2.3 after; clock
 * granularity G = 1 ms), RTO clamped to [TCP_RTO_MIN_US, TCP_RTO_MAX_US].
 * The caller applies Karn's rule. A sample of 0 counts as 1 us.
 */
void tcp_rtt_sample(struct tcp_rtt *r, uint32_t rtt_us);

/** RTO with @p backoff doublings applied, clamped to TCP_RTO_MAX_US (RFC 6298 5.5). */
uint32_t tcp_rtt_rto(const struct tcp_rtt *r, unsigned int backoff);

/* ---- tcp_cc.c: congestion control (RFC 5681, RFC 6582, RFC 9438) ----
 * Windows in bytes. The recovery logic (which segment to send, dup ACK
 * counting, pipe) lives in tcp_input.c / tcp_output.c; this module only
 * moves cwnd and ssthresh. cwnd stays in [1 MSS, TCP_CWND_MAX]. No HyStart:
 * CUBIC's slow start is RFC 5681's. */
#define TCP_SSTHRESH_INF UINT32_MAX /* "arbitrarily high" (RFC 5681 3.1) */
/* The largest window a peer can offer (RFC 7323): a larger cwnd is never usable. */
#define TCP_CWND_MAX (65535u << TCP_MAX_WSCALE)

struct tcp_cc {
	enum tcp_cc_algo algo;
	uint32_t mss;
	uint32_t cwnd;
	uint32_t ssthresh;
	uint32_t bytes_acked; /* byte counting toward the next MSS of growth in congestion
			       * avoidance (RFC 5681 3.1, RFC 3465; CUBIC uses it too) */
	/* CUBIC (RFC 9438), windows in bytes, times in microseconds */
	uint32_t w_max;	      /* window before the last reduction, 0: none (after an RTO) */
	uint32_t cwnd_prior;  /* cwnd when ssthresh was last set (4.3's alpha switch) */
	uint32_t w_est;	      /* Reno-friendly estimate (RFC 9438 4.3) */
	uint32_t w_est_acked; /* byte counting toward the next MSS of W_est */
	uint32_t cwnd_epoch;  /* cwnd at the start of the epoch */
	uint64_t epoch_us;    /* start of the congestion-avoidance epoch, 0: none */
	uint64_t k_us;	      /* K: time to reach w_max again */
};

/**
 * Initial window RFC 6928: min(10 MSS, max(2 MSS, 14600)); ssthresh
 * TCP_SSTHRESH_INF. @p mss is clamped to [TCP_MSS_MIN, 65535].
 */
void tcp_cc_init(struct tcp_cc *cc, enum tcp_cc_algo algo, uint32_t mss);

/**
 * The MSS changed (PMTU): cwnd, ssthresh and w_max keep their segment
 * counts; a CUBIC epoch restarts. @p mss is clamped as in tcp_cc_init().
 */
void tcp_cc_set_mss(struct tcp_cc *cc, uint32_t mss);

/**
 * @p acked new bytes acknowledged outside loss recovery: slow start below
 * ssthresh (cwnd += min(acked, MSS), RFC 3465 with L = 1, not beyond
 * ssthresh), congestion avoidance at or above: Reno byte counting (1 MSS
 * per cwnd acknowledged) or CUBIC (RFC 9438 4.2-4.5, W_cubic(t + @p
 * min_rtt_us) as target). @p flight bytes in flight before the ACK: no
 * growth when flight < cwnd / 2 (RFC 7661 style; for CUBIC the
 * application-limited time is left out of t, RFC 9438 5.8). @p now_us must
 * not go backwards.
 */
void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t min_rtt_us,
		   uint64_t now_us);

/**
 * Loss detected by dup ACKs / SACK, once per recovery episode: ssthresh =
 * max(flight * beta, 2 MSS) (beta 0.5 Reno, RFC 5681 eq. 4; 0.7 CUBIC, RFC
 * 9438 4.6 which uses flight_size too), cwnd = ssthresh. CUBIC: w_max =
 * cwnd, or cwnd * (1 + beta) / 2 below the previous w_max (fast
 * convergence, 4.7); the next epoch starts at the first ACK after recovery.
 */
void tcp_cc_on_loss(struct tcp_cc *cc, uint32_t flight, uint64_t now_us);

/**
 * Retransmission timeout (RFC 5681 3.1 eq. 4): ssthresh as on loss, cwnd =
 * 1 MSS. Call it on the first timeout of a segment only: RFC 5681 keeps
 * ssthresh on a repeated timeout (cwnd already is 1 MSS then). CUBIC
 * forgets w_max: the first epoch after it starts with K = 0 and W_max =
 * cwnd then (RFC 9438 4.8).
 */
void tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight, uint64_t now_us);

/** Idle longer than an RTO (RFC 5681 4.1): cwnd = min(cwnd, initial window); CUBIC epoch reset. */
void tcp_cc_after_idle(struct tcp_cc *cc);

/* ---- tcp_cookie.c: SipHash-2-4, ISNs, SYN cookies ---- */
#define TCP_SECRET_LEN 16

/** SipHash-2-4 of @p len bytes with a 16-byte key. */
uint64_t tcp_siphash(const uint8_t key[TCP_SECRET_LEN], const void *data, size_t len);

/**
 * RFC 6528: ISN = M + F(tuple, secret), M = now_us / 4 (a 4-microsecond
 * clock), F = the low 32 bits of SipHash of the 40-byte tuple (its pad must
 * be zero).
 */
uint32_t tcp_isn(const uint8_t secret[TCP_SECRET_LEN], const struct tcp_tuple *t, uint64_t now_us);

/** What a SYN cookie keeps of the client's SYN. */
struct tcp_cookie_opts {
	uint16_t mss;	/* one of the table's values, see tcp_cookie_make() */
	uint8_t wscale; /* the client's window scale; 0xff: no window scaling */
	bool sack_ok;
	bool ts_ok; /* the client sent timestamps (then wscale and sack_ok are kept) */
};

/**
 * A SYN cookie for a SYN of tuple @p t with sequence number @p peer_isn and
 * the options in @p o. The cookie is our ISN for the SYN-ACK.
 *
 * MSS tables (4 entries each): IPv4 536, 1300, 1440, 1460; IPv6 1220, 1420,
 * 1440, 8940. o->mss becomes the largest entry <= it, or the smallest entry
 * when it is below them all (the MSS every host of the family must accept).
 *
 * When o->ts_ok, *tsval is the TSval to send in the SYN-ACK: the ms clock
 * (uint32_t)(now_us / 1000) with its 5 low bits replaced by the window scale
 * (4 bits, 0xf: none) and sack_ok (bit 4), moved back by 32 when that would
 * put it ahead of the clock, so later TSvals from the same clock never go
 * backwards. o->wscale above 14 (not 0xff) becomes 14 (RFC 7323 2.3).
 * Without timestamps nothing carries them: o->wscale becomes 0xff and
 * o->sack_ok false, and *tsval is not written.
 *
 * On return, *o is what the SYN-ACK should offer and what tcp_cookie_check()
 * will return. Cookies are valid in the 64-second period of @p now_us and the
 * next one. Thread: any; no state, no allocation.
 */
uint32_t tcp_cookie_make(const uint8_t secret[TCP_SECRET_LEN], const struct tcp_tuple *t,
			 uint32_t peer_isn, struct tcp_cookie_opts *o, uint64_t now_us,
			 uint32_t *tsval);

/**
 * Check the ACK completing a cookie handshake: @p cookie = ack - 1, @p
 * peer_isn = seq - 1, @p tsecr the echoed timestamp, used when @p has_ts
 * (the ACK carries timestamps; a cookie made with o->ts_ok fails without
 * them and vice versa, RFC 7323 3.2). The MSS index and the option bits of
 * the timestamp are authenticated with the cookie.
 * @return 0 and the options in @p o, or -1 (forged, stale, wrong tuple or
 * peer_isn, tampered timestamp bits); *o is untouched on failure.
 */
int tcp_cookie_check(const uint8_t secret[TCP_SECRET_LEN], const struct tcp_tuple *t,
		     uint32_t peer_isn, uint32_t cookie, bool has_ts, uint32_t tsecr,
		     uint64_t now_us, struct tcp_cookie_opts *o);

/* ---- tcp_sack.c: receive side, the out-of-order queue ----
 * Segments are single-segment mbufs (m->next links them, m->data_len is the
 * payload), each with its first sequence number in an mbuf dynamic field. */

/**
 * Register the sequence-number dynfield (idempotent). Call after rte_eal_init()
 * and before the workers start. @return 0 or -rte_errno.
 */
int tcp_seq_dynfield_register(void);
extern int tcp_seq_dynfield_offset;
static inline uint32_t *tcp_mbuf_seq(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, tcp_seq_dynfield_offset, uint32_t *);
}

/*
 * What a queued mbuf costs the pool: its header, private area and whole data
 * room, whatever the payload (Linux's truesize). Queues are bounded by this,
 * not by payload bytes, so that 1-byte segments cannot pin the pool.
 */
static inline uint32_t tcp_truesize(const struct rte_mbuf *m)
{
	return (uint32_t)sizeof(struct rte_mbuf) + m->priv_size + m->buf_len;
}

/*
 * Copy @p m's payload (one segment) into @p tail's tail room instead of
 * queueing @p m (Linux's tcp_collapse / skb coalescing)? Only for a segment
 * that fills less than half its own buffer, so that full-sized segments stay
 * zero-copy, and only into a direct buffer (indirect mbufs sent earlier only
 * ever cover bytes before its end, which appending never touches).
 */
static inline bool tcp_collapse_ok(const struct rte_mbuf *tail, const struct rte_mbuf *m)
{
	return m->next == NULL && 2u * m->data_len <= m->buf_len && RTE_MBUF_DIRECT(tail) &&
	       !RTE_MBUF_HAS_EXTBUF(tail) && m->data_len <= rte_pktmbuf_tailroom(tail);
}

/* Append @p m's payload to @p tail (tcp_collapse_ok() said yes) and free @p m. */
static inline void tcp_collapse(struct rte_mbuf *tail, struct rte_mbuf *m)
{
	char *p = rte_pktmbuf_mtod_offset(tail, char *, tail->data_len);

	memcpy(p, rte_pktmbuf_mtod(m, const char *), m->data_len);
	tail->data_len = (uint16_t)(tail->data_len + m->data_len);
	tail->pkt_len = tail->data_len;
	rte_pktmbuf_free_seg(m);
}

struct tcp_ooo {
	struct rte_mbuf *head; /* sorted by sequence number, no overlaps */
	struct rte_mbuf *tail;
	uint32_t bytes;
	uint32_t mem;	/* tcp_truesize() of the queued mbufs */
	uint32_t nsegs; /* mbufs queued */
	/* the latest arrival's range; the block holding it is reported first (RFC 2018 4) */
	uint32_t last_start, last_end;
};

void tcp_ooo_init(struct tcp_ooo *q);

/**
 * Queue @p m (one or more single-segment mbufs linked by m->next, payload
 * only, contiguous, @p len bytes starting at @p seq; @p seq is after
 * rcv_nxt). The queue owns every mbuf of the list afterwards: each becomes a
 * packet of its own (next, nb_segs, pkt_len reset) with its sequence number
 * in the dynfield. Bytes already queued are cut off the new mbufs
 * (rte_pktmbuf_adj / trim); queued mbufs that a new one covers entirely are
 * replaced by it; mbufs left empty are freed. Appending beyond the tail is
 * O(1) per mbuf. @return bytes newly queued (growth of q->bytes).
 */
uint32_t tcp_ooo_insert(struct tcp_ooo *q, struct rte_mbuf *m, uint32_t seq, uint32_t len);

/**
 * Take what is now in order: the queued bytes from @p rcv_nxt on without a
 * gap (data before rcv_nxt cut off and freed). @return the first mbuf of the
 * list (linked by m->next, NULL-terminated, each mbuf a single segment with
 * pkt_len == data_len) or NULL; *bytes = payload bytes, *tail = the last
 * mbuf (0 and NULL when nothing is in order).
 */
struct rte_mbuf *tcp_ooo_take(struct tcp_ooo *q, uint32_t rcv_nxt, uint32_t *bytes,
			      struct rte_mbuf **tail);

/**
 * SACK blocks to send (RFC 2018 4): the block with the latest arrival first,
 * then the others in descending order of sequence, at most @p max.
 * @return the number written.
 */
unsigned int tcp_ooo_sack_blocks(const struct tcp_ooo *q, struct tcp_sack_block *out,
				 unsigned int max);

/** Free everything queued. */
void tcp_ooo_purge(struct tcp_ooo *q);

/**
 * Make room for @p need bytes of memory (tcp_truesize()) by freeing queued
 * segments from the highest sequence number down, never one that starts at
 * or below @p above (Linux's tcp_prune_ofo_queue: what is furthest from
 * rcv_nxt helps least). Frees nothing when all of those together are less
 * than @p need. @return the memory freed.
 */
uint32_t tcp_ooo_prune(struct tcp_ooo *q, uint32_t above, uint32_t need);

/* ---- tcp_sack.c: send side, the SACK scoreboard (RFC 6675) ---- */
#define TCP_BOARD_MAX 8 /* SACKed ranges remembered above snd_una */

struct tcp_board {
	struct tcp_sack_block blk[TCP_BOARD_MAX]; /* sorted, disjoint, above snd_una */
	uint8_t n;
	uint32_t sacked; /* bytes in blk[] */
};

void tcp_board_init(struct tcp_board *b);

/**
 * Record the SACK blocks of an ACK. Blocks outside (snd_una, snd_max]
 * (start <= snd_una or end > snd_max) or malformed (start >= end) are ignored
 * (RFC 2018: D-SACK and bogus blocks must not harm). Ranges at or below
 * @p snd_una are dropped first. Overlapping and adjacent ranges merge; when a
 * new disjoint range finds all TCP_BOARD_MAX slots used, the lowest range is
 * forgotten (its bytes count as not SACKed: at worst a needless
 * retransmission; never a hole taken for SACKed). @return the growth of
 * b->sacked (0 if forgetting a range outweighed it).
 */
uint32_t tcp_board_update(struct tcp_board *b, uint32_t snd_una, uint32_t snd_max,
			  const struct tcp_sack_block *blks, unsigned int n);

/** Is [seq, seq+1) SACKed? */
bool tcp_board_is_sacked(const struct tcp_board *b, uint32_t seq);

/**
 * RFC 6675 IsLost(seq): at least @p dupthresh discontiguous SACKed segments
 * of @p mss bytes, or more than (dupthresh - 1) * mss SACKed bytes, above
 * @p seq. A range of r bytes above seq counts as ceil(r / mss) segments (which
 * makes the byte rule follow from the segment rule).
 */
bool tcp_board_is_lost(const struct tcp_board *b, uint32_t seq, uint32_t mss, uint32_t dupthresh);

/**
 * RFC 6675 SetPipe: bytes in flight in [snd_una, snd_max): each byte not
 * SACKed counts once unless IsLost (with @p mss and @p dupthresh), and once
 * more if it was retransmitted (below @p high_rxt; pass snd_una outside
 * recovery).
 */
uint32_t tcp_board_pipe(const struct tcp_board *b, uint32_t snd_una, uint32_t snd_max,
			uint32_t high_rxt, uint32_t mss, uint32_t dupthresh);

/**
 * RFC 6675 NextSeg() rule 1: the first range at or after @p from (from >=
 * snd_una, from >= high_rxt) that is not SACKed and IsLost (@p dupthresh),
 * at most @p mss bytes, not beyond @p snd_max. @return true with *seq, *len
 * set. (Rules 2-4, new data and rescue retransmissions, are the caller's.)
 */
bool tcp_board_next_lost(const struct tcp_board *b, uint32_t from, uint32_t snd_max, uint32_t mss,
			 uint32_t dupthresh, uint32_t *seq, uint32_t *len);

/** snd_una advanced: forget what is at or below it. */
void tcp_board_ack(struct tcp_board *b, uint32_t snd_una);

/* ---- the stack and its connections (tcp_conn.c, tcp_input.c, tcp_output.c, tcp_timer.c) ---- */

/** A list of single-segment mbufs (m->next links them). */
struct tcp_mq {
	struct rte_mbuf *head, *tail;
	uint32_t bytes; /* payload */
	uint32_t mem;	/* tcp_truesize() of the mbufs */
	uint32_t nsegs; /* mbufs */
};

/* Segments a connection may hold received (in order and out of order): the
 * memory bound comes first; this keeps nb_segs of what tcp_recv() returns
 * in range whatever the buffer size */
#define TCP_RCV_SEGS_MAX 32768u

/* struct tcp_conn.flags */
#define TCP_F_SACK	   0x0001u  /* SACK permitted both ways */
#define TCP_F_TS	   0x0002u  /* timestamps negotiated */
#define TCP_F_WSCALE	   0x0004u  /* window scaling negotiated */
#define TCP_F_NODELAY	   0x0008u  /* Nagle off */
#define TCP_F_FIN_QUEUED   0x0010u  /* the user shut down writing: FIN after the data */
#define TCP_F_FIN_RCVD	   0x0020u  /* the peer's FIN arrived (rcv_nxt counts it) */
#define TCP_F_USER_CLOSED  0x0040u  /* tcp_close(): nobody reads any more */
#define TCP_F_USER_GONE	   0x0080u  /* closed callback done (or tcp_abort()): no more callbacks */
#define TCP_F_ACK_NOW	   0x0100u  /* send an ACK at the end of this input */
#define TCP_F_RECOVERY	   0x0200u  /* in fast / SACK loss recovery until snd_una >= recover */
#define TCP_F_WANT_WRITE   0x0400u  /* tcp_send_space() hit 0: call writable when room */
#define TCP_F_PASSIVE	   0x0800u  /* opened by a listener */
#define TCP_F_HALF_OPEN	   0x1000u  /* counted in its listener's SYN backlog */
#define TCP_F_ESTABLISHED  0x2000u  /* the open completed once (accepted / connected called) */
#define TCP_F_RTT_TIMING   0x4000u  /* rtt_seq is being timed (no timestamps) */
#define TCP_F_FREE_PENDING 0x8000u  /* freed while held: free at the last release */
#define TCP_F_IN_TABLE	   0x10000u /* the tuple is in the connection table */
#define TCP_F_FIN_OOO	   0x20000u /* the peer's FIN came beyond a gap, at fin_ooo_seq */
#define TCP_F_UNDO	   0x40000u /* recovery entered: the first ACK past recover_una may undo it */
#define TCP_F_PTO	   0x80000u   /* rtx_at is a tail loss probe timeout, not the RTO */
#define TCP_F_TLP	   0x100000u  /* a tail loss probe is out, until snd_una reaches tlp_end */
#define TCP_F_ECN_OK	   0x200000u  /* tcp_params.ecn: ECN may be negotiated */
#define TCP_F_ECN	   0x400000u  /* ECN negotiated (RFC 3168 6.1.1) */
#define TCP_F_ECE_OUT	   0x800000u  /* a CE arrived: our ACKs carry ECE until a CWR */
#define TCP_F_CWR_OUT	   0x1000000u /* the window was reduced for ECE: next new data carries CWR */

struct tcp_conn {
	struct tcp_tuple tuple; /* the table key */
	struct tcp_stack *ts;
	const struct tcp_callbacks *cb;
	void *arg;
	struct tcp_listener *listener; /* passive opens: for the SYN backlog count */
	LIST_ENTRY(tcp_conn) wheel_link;
	uint64_t wheel_at; /* deadline it is filed under in the wheel; 0: not in the wheel */
	/* deadlines in microseconds, 0: off */
	uint64_t rtx_at;    /* retransmission, SYN retransmission, zero-window probe */
	uint64_t delack_at; /* delayed ACK */
	uint64_t ka_at;	    /* keep-alive, FIN_WAIT_2 and TIME_WAIT timeouts */
	uint64_t user_at;   /* tcp_set_timer() */
	uint64_t last_rx_us;
	uint64_t last_tx_us;
	uint64_t rtt_start_us; /* TCP_F_RTT_TIMING: when rtt_seq was sent */
	uint32_t flags;
	uint8_t state; /* enum tcp_state */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t backoff; /* RTO doublings since the last forward progress */
	uint8_t dupacks;
	/* DupThresh of this connection: TCP_DUPTHRESH, raised to the reordering
	 * that a spurious fast retransmission measured (an adaptive packet
	 * threshold, as Linux's tcp_reordering and RFC 9002 6.1.1 for QUIC), back
	 * to TCP_DUPTHRESH on RTO; loss detection uses tcp_dupthresh() */
	uint8_t dupthresh;
	uint8_t probes;	 /* keep-alive or zero-window probes unanswered */
	uint8_t unacked; /* full segments received since our last ACK (delayed ACK) */
	uint8_t syn_retries;
	uint8_t hold; /* tcp_conn_hold() depth: freeing waits for 0 */
	/* send sequence space (RFC 9293 3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd; /* scaled */
	uint32_t snd_wl1, snd_wl2;
	uint32_t max_sndwnd;
	uint32_t recover;  /* RFC 6582 / RFC 6675 RecoveryPoint */
	uint32_t high_rxt; /* RFC 6675 HighRxt */
	uint32_t rtt_seq;
	uint32_t fin_seq;     /* TCP_F_FIN_QUEUED: the FIN's sequence number */
	uint32_t sndq_seq;    /* sequence number of sndq's first byte */
	uint32_t fin_ooo_seq; /* TCP_F_FIN_OOO: where the peer's FIN is */
	/* RFC 3522 (Eifel) detection of a spurious fast retransmission: what
	 * entering recovery changed, and the TSval of the retransmission */
	uint32_t undo_cwnd, undo_ssthresh, undo_tsval, recover_una;
	/* TCP_F_TLP: where the probe ended and the TSval it carried */
	uint32_t tlp_end, tlp_tsval;
	uint32_t ecn_recover; /* snd_max at the last ECE reduction: ECE counts again past it */
	uint16_t mss;	      /* send MSS: payload bytes per segment, options not deducted */
	uint16_t rcv_mss;     /* the MSS we announced */
	/* receive sequence space */
	uint32_t irs, rcv_nxt;
	uint32_t rcv_adv; /* right edge of the window we announced */
	uint32_t ts_recent, ts_offset;
	uint64_t ts_recent_us;
	uint32_t rcvbuf, sndbuf;
	uint32_t retransmits;
	uint32_t ka_idle_ms, ka_intvl_ms;
	uint8_t ka_probes_max;
	struct tcp_rtt rtt;
	struct tcp_cc cc;
	struct tcp_board board;
	struct tcp_ooo ooo;
	struct tcp_mq sndq;	     /* unacknowledged and unsent data */
	struct tcp_mq rcvq;	     /* in-order data not yet taken by the user */
	struct rte_mbuf *snd_cursor; /* the sndq mbuf holding snd_nxt's byte (NULL: none) */
	uint32_t snd_cursor_seq;     /* sequence number of snd_cursor's first byte */
};

struct tcp_listener {
	struct tcp_stack *ts;
	struct tcp_addr addr;
	uint16_t port; /* network order */
	struct tcp_params params;
	const struct tcp_callbacks *cb;
	void *arg;
	uint32_t half_open; /* connections in SYN_RECEIVED */
	LIST_ENTRY(tcp_listener) link;
};

#define TCP_WHEEL_SLOTS	  2048u /* 1 ms each: ~2 s, longer timers go round */
#define TCP_WHEEL_TICK_US 1000u

LIST_HEAD(tcp_wheel_slot, tcp_conn);

struct tcp_stack {
	struct rte_hash *conns; /* struct tcp_tuple -> struct tcp_conn * */
	struct rte_mempool *conn_pool;
	struct rte_mempool *pool; /* mbufs */
	struct stats_block *stats;
	tcp_output_fn output;
	void *output_ctx;
	bool (*port_ok)(void *ctx, const struct tcp_addr *laddr, uint16_t lport,
			const struct tcp_addr *raddr, uint16_t rport);
	void *port_ok_ctx;
	uint8_t secret[TCP_SECRET_LEN];
	LIST_HEAD(, tcp_listener) listeners;
	uint64_t now_us;
	uint64_t wheel_now; /* slots up to here have been run, in ticks */
	struct tcp_wheel_slot wheel[TCP_WHEEL_SLOTS];
	uint32_t *ports; /* tcp_stack_set_ports() */
	uint32_t n_ports, next_port;
	uint32_t challenge_tokens; /* RFC 5961 7: challenge ACKs per second */
	uint64_t challenge_sec;
	uint32_t state_count[TCP_STATE_MAX];
	size_t conn_bytes; /* heap per connection slot: the pool and the table */
	/* buffer memory (tcp_truesize()) in the connections' receive, out-of-order
	 * and send queues; written by the worker (relaxed stores), read by any
	 * thread (tcp_mem_get()) */
	uint64_t mem_used, mem_peak;
	uint64_t mem_limit;    /* received data beyond it is dropped */
	uint64_t mem_pressure; /* the low-water mark: windows stop opening above it */
	bool in_pressure;      /* above mem_pressure since it was last below limit / 2 */
};

/* tcp_conn.c */
/* Processing holds the connection so that a callback may close or abort it. */
static inline void tcp_conn_hold(struct tcp_conn *c)
{
	c->hold++;
}
/** @return true when @p c is still alive for the caller. */
bool tcp_conn_release(struct tcp_conn *c);
/** Is @p c dead for the code that holds it (aborted or freed inside a callback)? */
static inline bool tcp_conn_dead(const struct tcp_conn *c)
{
	return (c->flags & TCP_F_FREE_PENDING) != 0;
}
struct tcp_conn *tcp_conn_alloc(struct tcp_stack *ts, const struct tcp_tuple *t);
void tcp_conn_set_state(struct tcp_conn *c, enum tcp_state s);
/** Free @p c now (or once the running callback returns). Not for the user's handle. */
void tcp_conn_free(struct tcp_conn *c);
/** The connection ends for the user: closed callback once, then the stack's states or free. */
void tcp_conn_done(struct tcp_conn *c, enum tcp_close_reason reason);
struct tcp_conn *tcp_conn_lookup(struct tcp_stack *ts, const struct tcp_tuple *t);
struct tcp_listener *tcp_listener_find(struct tcp_stack *ts, const struct tcp_tuple *t);
/** Set up a connection's windows and options from @p p. */
void tcp_conn_apply_params(struct tcp_conn *c, const struct tcp_params *p);
/** Append the list @p head .. @p tail (@p bytes of payload, @p segs mbufs, @p mem truesize) to @p q. */
void tcp_mq_append(struct tcp_mq *q, struct rte_mbuf *head, struct rte_mbuf *tail, uint32_t bytes,
		   uint32_t segs, uint32_t mem);
void tcp_mq_purge(struct tcp_mq *q);
/** Take the head mbuf (one segment) off @p q: its payload and memory leave the counts. */
static inline void tcp_mq_unlink_head(struct tcp_mq *q)
{
	struct rte_mbuf *m = q->head;

	q->head = m->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->bytes -= m->data_len;
	q->mem -= tcp_truesize(m);
	q->nsegs--;
	m->next = NULL;
}
/** A new peak, or the low-water mark crossed (counted): tcp_mem_charge()'s slow part. */
void tcp_mem_note(struct tcp_stack *ts, uint64_t used);
/** The stack's buffer memory changed by @p delta bytes. */
static inline void tcp_mem_charge(struct tcp_stack *ts, int64_t delta)
{
	uint64_t used = ts->mem_used + (uint64_t)delta;

	__atomic_store_n(&ts->mem_used, used, __ATOMIC_RELAXED);
	if (unlikely(used > ts->mem_peak ||
		     (ts->in_pressure ? used < ts->mem_limit / 2 : used >= ts->mem_pressure)))
		tcp_mem_note(ts, used);
}
/** Memory (truesize) the receive side of @p c holds: in order and out of order. */
static inline uint32_t tcp_rcv_mem(const struct tcp_conn *c)
{
	return c->rcvq.mem + c->ooo.mem;
}
/* A connection's queues may hold twice their buffer in memory: full-sized
 * segments in 2 KB mbufs cost 1.6 times their payload, so the byte limits
 * bind first for them, and the memory limit for anything smaller. Plus a
 * few mbufs' worth, so that a tiny buffer still takes a segment or two. */
#define TCP_MEM_SLACK 16384u
static inline uint32_t tcp_rcv_mem_max(const struct tcp_conn *c)
{
	return 2u * c->rcvbuf + TCP_MEM_SLACK;
}
static inline uint32_t tcp_snd_mem_max(const struct tcp_conn *c)
{
	return 2u * c->sndbuf + TCP_MEM_SLACK;
}
/** Call the writable callback when the user waits for room and there is some. */
void tcp_conn_maybe_writable(struct tcp_conn *c);

/* tcp_output.c */
/** Send what the windows allow (data, FIN, SYN), and an ACK when one is due. */
void tcp_output(struct tcp_conn *c);
/** A pure ACK now (with SACK blocks and timestamps as negotiated). */
void tcp_send_ack(struct tcp_conn *c);
/**
 * A segment without payload for @p c: sequence number @p seq, @p flags
 * (RTE_TCP_ACK_FLAG and / or RTE_TCP_RST_FLAG; ACK carries rcv_nxt and the
 * window), timestamps as negotiated. Keep-alive and window probes, RSTs.
 */
void tcp_send_ctl(struct tcp_conn *c, uint32_t seq, uint8_t flags);
/** Retransmit the first unacknowledged segment (RTO, fast retransmit). */
void tcp_retransmit_head(struct tcp_conn *c);
/** Retransmit the last segment sent (a tail loss probe, RFC 8985 7.3). */
void tcp_retransmit_tail(struct tcp_conn *c);
/** The TSval our segments carry now (a ms clock plus the tuple's offset). */
uint32_t tcp_tsval(const struct tcp_conn *c);
/** Our receive window to announce now, unscaled (bytes). */
uint32_t tcp_rcv_window(const struct tcp_conn *c);
/** Bytes of the send queue not yet acknowledged: in flight by RFC 6675 or plain. */
uint32_t tcp_flight(const struct tcp_conn *c);

/**
 * The DupThresh loss detection uses now: the connection's, but below the
 * segments outstanding, so that a window too small to bring that many
 * duplicate ACKs still recovers without a timeout (as RFC 5827's early
 * retransmit lowers it); never below TCP_DUPTHRESH.
 */
static inline uint32_t tcp_dupthresh(const struct tcp_conn *c)
{
	uint32_t segs = c->cc.mss > 0 ? (c->snd_max - c->snd_una) / c->cc.mss : 0;
	uint32_t t = RTE_MIN((uint32_t)c->dupthresh, segs - (segs > 0));

	return RTE_MAX((uint32_t)TCP_DUPTHRESH, t);
}
/** A SYN-ACK for a SYN cookie, without a connection. */
void tcp_send_cookie_synack(struct tcp_stack *ts, const struct tcp_tuple *t, uint32_t isn,
			    uint32_t ack, const struct tcp_cookie_opts *o, uint32_t tsval,
			    uint32_t tsecr, uint16_t mss, uint8_t rcv_wscale);
/** RST answering segment @p seg of tuple @p t (RFC 9293 3.10.7.1), without a connection. */
void tcp_send_rst_tuple(struct tcp_stack *ts, const struct tcp_tuple *t, const struct tcp_seg *seg);
/** The MSS to announce / use for @p family on this stack's links. */
uint16_t tcp_local_mss(uint8_t family);

/**
 * The ones'-complement sum (folded to 16 bits) of @p m's bytes from @p off to
 * the end, over any number of segments of any length. (DPDK 22.11's
 * rte_raw_cksum_mbuf() truncates the partial sum of a segment that starts at
 * an odd offset before swapping it, which breaks segments sent from a send
 * queue of odd-sized mbufs.)
 */
uint16_t tcp_sum(const struct rte_mbuf *m, uint32_t off);

/* tcp_timer.c */
/** (Re)place @p c in the wheel after one of its deadlines changed. */
void tcp_timer_update(struct tcp_conn *c);
void tcp_timer_remove(struct tcp_conn *c);
/** Arm the retransmission timer for the current RTO and back-off. */
void tcp_timer_arm_rtx(struct tcp_conn *c);
/** Enter TIME_WAIT: 2 MSL, then free. */
void tcp_timer_time_wait(struct tcp_conn *c);

#define TCP_MSL_US	      30000000ull /* 2 MSL = 60 s, as Linux */
#define TCP_DELACK_US	      40000u
#define TCP_PTO_MIN_US	      10000u  /* tail loss probe timeout floor (Linux's) */
#define TCP_WCDELACK_US	      200000u /* RFC 8985 WCDelAckT: the peer's worst delayed ACK */
#define TCP_FIN_WAIT_2_US     60000000ull
#define TCP_MAX_BACKOFF	      12 /* RTOs in a row before the connection is given up */
#define TCP_CHALLENGE_PER_SEC 1000

#endif
