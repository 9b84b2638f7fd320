/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcp_sack.c: the receiver's out-of-order queue (what RFC 2018 SACK blocks
 * report) and the sender's SACK scoreboard (RFC 6675 IsLost, SetPipe,
 * NextSeg rule 1).
 *
 * Both structures are per connection and touched only by the worker lcore
 * that owns the connection. Neither allocates: the queue links the received
 * mbufs themselves, the scoreboard is a small fixed array of ranges.
 */
#include <errno.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "tcp_internal.h"

/* Written once at start-up (before the workers run), read by all of them. */
int tcp_seq_dynfield_offset = -1;

int tcp_seq_dynfield_register(void)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = "meshdp_tcp_seq",
		.size = sizeof(uint32_t),
		.align = __alignof__(uint32_t),
	};
	int off;

	if (tcp_seq_dynfield_offset >= 0)
		return 0;
	off = rte_mbuf_dynfield_register(&desc);
	if (off < 0)
		return -rte_errno;
	tcp_seq_dynfield_offset = off;
	return 0;
}

/* ---- the out-of-order queue ---- */

static inline uint32_t seg_seq(struct rte_mbuf *m)
{
	return *tcp_mbuf_seq(m);
}

static inline uint32_t seg_end(struct rte_mbuf *m)
{
	return *tcp_mbuf_seq(m) + m->data_len;
}

void tcp_ooo_init(struct tcp_ooo *q)
{
	q->head = NULL;
	q->tail = NULL;
	q->bytes = 0;
	q->mem = 0;
	q->nsegs = 0;
	q->last_start = 0;
	q->last_end = 0;
}

/* Unlink @p m (whose predecessor is @p prev, NULL for the head) and free it. */
static void ooo_drop(struct tcp_ooo *q, struct rte_mbuf *prev, struct rte_mbuf *m)
{
	if (prev)
		prev->next = m->next;
	else
		q->head = m->next;
	if (q->tail == m)
		q->tail = prev;
	q->bytes -= m->data_len;
	q->mem -= tcp_truesize(m);
	q->nsegs--;
	m->next = NULL;
	rte_pktmbuf_free_seg(m);
}

/*
 * Queue one segment @p m (next == NULL, data_len > 0, seq already set).
 * @p hint: a queued mbuf that ends at or before m's first byte, where the
 * walk may start (NULL: from the head). The segment is cut where it overlaps
 * queued data; queued segments it covers entirely are replaced by it, so no
 * received byte is thrown away when one segment bridges several queued ones
 * (an mbuf cannot be split without allocating). @return the growth of
 * q->bytes; *hint is updated for the next, contiguous, segment.
 */
static uint32_t ooo_insert_one(struct tcp_ooo *q, struct rte_mbuf *m, struct rte_mbuf **hint)
{
	struct rte_mbuf *prev, *cur;
	uint32_t s = seg_seq(m), e = seg_end(m), freed = 0;

	/* In-order arrival beyond everything queued: the common case, O(1). */
	if (q->tail && SEQ_GEQ(s, seg_end(q->tail)))
		prev = q->tail;
	else
		prev = *hint;
	cur = prev ? prev->next : q->head;
	while (cur && SEQ_LEQ(seg_end(cur), s)) {
		prev = cur;
		cur = cur->next;
	}
	/* Queued data covering m's front: cut it off m (or drop m, a duplicate). */
	while (cur && SEQ_LEQ(seg_seq(cur), s)) {
		if (SEQ_GEQ(seg_end(cur), e)) {
			*hint = prev;
			rte_pktmbuf_free_seg(m);
			return 0;
		}
		rte_pktmbuf_adj(m, (uint16_t)(seg_end(cur) - s));
		s = seg_end(cur);
		*tcp_mbuf_seq(m) = s;
		prev = cur;
		cur = cur->next;
	}
	/* From here on cur starts after s: queued segments inside [s, e) go. */
	while (cur && SEQ_LEQ(seg_end(cur), e)) {
		struct rte_mbuf *next = cur->next;

		freed += cur->data_len;
		ooo_drop(q, prev, cur);
		cur = next;
	}
	if (cur && SEQ_LT(seg_seq(cur), e))
		rte_pktmbuf_trim(m, (uint16_t)(e - seg_seq(cur)));

	m->next = cur;
	if (prev)
		prev->next = m;
	else
		q->head = m;
	if (!cur)
		q->tail = m;
	q->bytes += m->data_len;
	q->mem += tcp_truesize(m);
	q->nsegs++;
	*hint = m;
	return m->data_len - freed;
}

uint32_t tcp_ooo_insert(struct tcp_ooo *q, struct rte_mbuf *m, uint32_t seq, uint32_t len)
{
	struct rte_mbuf *hint = NULL;
	uint32_t added = 0;

	if (len > 0) {
		q->last_start = seq;
		q->last_end = seq + len;
	}
	while (m) {
		struct rte_mbuf *next = m->next;

		/* Each mbuf becomes a packet of its own, so that adj / trim act on it alone. */
		m->next = NULL;
		m->nb_segs = 1;
		m->pkt_len = m->data_len;
		*tcp_mbuf_seq(m) = seq;
		seq += m->data_len;
		if (m->data_len == 0)
			rte_pktmbuf_free_seg(m);
		else
			added += ooo_insert_one(q, m, &hint);
		m = next;
	}
	return added;
}

struct rte_mbuf *tcp_ooo_take(struct tcp_ooo *q, uint32_t rcv_nxt, uint32_t *bytes,
			      struct rte_mbuf **tail)
{
	struct rte_mbuf *first, *last, *m;
	uint32_t n = 0, mem = 0, segs = 0;

	*bytes = 0;
	*tail = NULL;
	/* Data below rcv_nxt arrived again by another path: drop it. */
	while (q->head && SEQ_LEQ(seg_seq(q->head), rcv_nxt)) {
		m = q->head;
		if (SEQ_GT(seg_end(m), rcv_nxt)) {
			uint16_t cut = (uint16_t)(rcv_nxt - seg_seq(m));

			rte_pktmbuf_adj(m, cut);
			q->bytes -= cut;
			*tcp_mbuf_seq(m) = rcv_nxt;
			break;
		}
		ooo_drop(q, NULL, m);
	}
	first = q->head;
	if (!first || seg_seq(first) != rcv_nxt)
		return NULL;

	last = first;
	for (;;) {
		n += last->data_len;
		mem += tcp_truesize(last);
		segs++;
		if (!last->next || seg_seq(last->next) != seg_end(last))
			break;
		last = last->next;
	}
	q->head = last->next;
	if (!q->head)
		q->tail = NULL;
	last->next = NULL;
	q->bytes -= n;
	q->mem -= mem;
	q->nsegs -= segs;
	*bytes = n;
	*tail = last;
	return first;
}

/*
 * Walk the queue block by block (maximal runs of contiguous segments).
 * @return false at the end; *it is the cursor (start with q->head).
 */
static bool ooo_next_block(struct rte_mbuf **it, struct tcp_sack_block *blk)
{
	struct rte_mbuf *m = *it;

	if (!m)
		return false;
	blk->start = seg_seq(m);
	while (m->next && seg_seq(m->next) == seg_end(m))
		m = m->next;
	blk->end = seg_end(m);
	*it = m->next;
	return true;
}

static bool ooo_is_latest(const struct tcp_ooo *q, const struct tcp_sack_block *blk)
{
	return q->last_start != q->last_end && SEQ_LT(blk->start, q->last_end) &&
	       SEQ_LT(q->last_start, blk->end);
}

unsigned int tcp_ooo_sack_blocks(const struct tcp_ooo *q, struct tcp_sack_block *out,
				 unsigned int max)
{
	struct tcp_sack_block blk;
	struct rte_mbuf *it = q->head;
	unsigned int others = 0, first = 0, keep, skip, n;

	if (max == 0)
		return 0;
	/* Pass 1: the latest arrival's block, and how many others there are. */
	while (ooo_next_block(&it, &blk)) {
		if (!first && ooo_is_latest(q, &blk)) {
			out[0] = blk;
			first = 1;
		} else {
			others++;
		}
	}
	/* Pass 2: the highest `keep` others, written from the back (descending). */
	keep = RTE_MIN(others, max - first);
	skip = others - keep;
	n = first + keep;
	it = q->head;
	while (keep > 0 && ooo_next_block(&it, &blk)) {
		if (first && blk.start == out[0].start)
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		out[first + --keep] = blk;
	}
	return n;
}

void tcp_ooo_purge(struct tcp_ooo *q)
{
	while (q->head)
		ooo_drop(q, NULL, q->head);
	tcp_ooo_init(q);
}

uint32_t tcp_ooo_prune(struct tcp_ooo *q, uint32_t above, uint32_t need)
{
	struct rte_mbuf *m, *prev = NULL;
	uint32_t freeable = 0, before = q->mem;

	/* the segments above @p above are a suffix of the sorted queue */
	for (m = q->head; m; m = m->next)
		if (SEQ_GT(seg_seq(m), above))
			freeable += tcp_truesize(m);
	if (freeable < need || need == 0)
		return 0;
	/* keep the front while what follows still frees enough */
	for (m = q->head; m && (SEQ_LEQ(seg_seq(m), above) || freeable - tcp_truesize(m) >= need);
	     m = m->next) {
		if (SEQ_GT(seg_seq(m), above))
			freeable -= tcp_truesize(m);
		prev = m;
	}
	while (m) {
		struct rte_mbuf *next = m->next;

		ooo_drop(q, prev, m);
		m = next;
	}
	return before - q->mem;
}

/* ---- the SACK scoreboard ---- */

void tcp_board_init(struct tcp_board *b)
{
	b->n = 0;
	b->sacked = 0;
}

static void board_remove(struct tcp_board *b, unsigned int i, unsigned int count)
{
	unsigned int k;

	for (k = i; k + count < b->n; k++)
		b->blk[k] = b->blk[k + count];
	b->n -= count;
}

void tcp_board_ack(struct tcp_board *b, uint32_t snd_una)
{
	unsigned int i = 0;

	while (i < b->n && SEQ_LEQ(b->blk[i].end, snd_una)) {
		b->sacked -= b->blk[i].end - b->blk[i].start;
		i++;
	}
	board_remove(b, 0, i);
	if (b->n > 0 && SEQ_LT(b->blk[0].start, snd_una)) {
		b->sacked -= snd_una - b->blk[0].start;
		b->blk[0].start = snd_una;
	}
}

/*
 * Merge [s, e) into the board. Overlapping and adjacent ranges coalesce.
 * When a new disjoint range finds the board full, the lowest range is
 * forgotten: its bytes then look un-SACKed, which costs at most a needless
 * retransmission and an over-estimated pipe, whereas the higher ranges are
 * the evidence IsLost needs for every hole below them. (Merging across a gap
 * instead would mark never-received bytes SACKed, and they would then wait
 * for an RTO.)
 */
static void board_add(struct tcp_board *b, uint32_t s, uint32_t e)
{
	unsigned int i = 0, j, k, covered = 0;

	while (i < b->n && SEQ_LT(b->blk[i].end, s))
		i++;
	for (j = i; j < b->n && SEQ_LEQ(b->blk[j].start, e); j++)
		covered += b->blk[j].end - b->blk[j].start;

	if (j > i) {
		s = SEQ_MIN(s, b->blk[i].start);
		e = SEQ_MAX(e, b->blk[j - 1].end);
		board_remove(b, i + 1, j - i - 1);
		b->blk[i].start = s;
		b->blk[i].end = e;
		b->sacked += (e - s) - covered;
		return;
	}
	if (b->n == TCP_BOARD_MAX) {
		if (i == 0)
			return; /* the new range would be the lowest itself */
		b->sacked -= b->blk[0].end - b->blk[0].start;
		board_remove(b, 0, 1);
		i--;
	}
	for (k = b->n; k > i; k--)
		b->blk[k] = b->blk[k - 1];
	b->blk[i].start = s;
	b->blk[i].end = e;
	b->n++;
	b->sacked += e - s;
}

uint32_t tcp_board_update(struct tcp_board *b, uint32_t snd_una, uint32_t snd_max,
			  const struct tcp_sack_block *blks, unsigned int n)
{
	uint32_t before;
	unsigned int i;

	tcp_board_ack(b, snd_una);
	before = b->sacked;
	for (i = 0; i < n; i++) {
		/* A block starting at snd_una contradicts the cumulative ACK; D-SACK
		 * blocks lie below it. Neither may mark anything outstanding SACKed. */
		if (!SEQ_LT(blks[i].start, blks[i].end) || !SEQ_GT(blks[i].start, snd_una) ||
		    SEQ_GT(blks[i].end, snd_max))
			continue;
		board_add(b, blks[i].start, blks[i].end);
	}
	return b->sacked > before ? b->sacked - before : 0;
}

bool tcp_board_is_sacked(const struct tcp_board *b, uint32_t seq)
{
	unsigned int i;

	for (i = 0; i < b->n; i++)
		if (SEQ_LEQ(b->blk[i].start, seq) && SEQ_LT(seq, b->blk[i].end))
			return true;
	return false;
}

/*
 * A range of r SACKed bytes holds at least ceil(r / mss) segments. Counted
 * that way, RFC 6675's byte rule (more than (DupThresh - 1) * SMSS bytes) is
 * implied by its segment rule: bytes > 2 * mss means at least 3 segments.
 */
static uint32_t board_segs(uint32_t bytes, uint32_t mss)
{
	return (bytes + mss - 1) / mss;
}

bool tcp_board_is_lost(const struct tcp_board *b, uint32_t seq, uint32_t mss, uint32_t dupthresh)
{
	uint32_t segs = 0;
	unsigned int i;

	for (i = 0; i < b->n && segs < dupthresh; i++) {
		/* Only the part strictly above seq counts. */
		if (SEQ_GT(b->blk[i].end, seq + 1))
			segs += board_segs(b->blk[i].end - SEQ_MAX(b->blk[i].start, seq + 1), mss);
	}
	return segs >= dupthresh;
}

/* Bytes of [lo, hi) below high_rxt, i.e. retransmitted in this recovery. */
static uint32_t board_rexmit(uint32_t lo, uint32_t hi, uint32_t high_rxt)
{
	hi = SEQ_MIN(hi, high_rxt);
	return SEQ_LT(lo, hi) ? hi - lo : 0;
}

/*
 * SetPipe over holes rather than octets: inside a hole (the un-SACKed bytes
 * between two ranges) the SACKed data above any of its bytes is the same, so
 * IsLost has one answer for the whole hole. The walk goes from the top down,
 * accumulating the SACKed segments above the current hole.
 */
uint32_t tcp_board_pipe(const struct tcp_board *b, uint32_t snd_una, uint32_t snd_max,
			uint32_t high_rxt, uint32_t mss, uint32_t dupthresh)
{
	uint32_t pipe = 0, segs = 0, hi = snd_max, lo;
	int i;

	for (i = b->n - 1; i >= -1; i--) {
		lo = i >= 0 ? SEQ_MAX(b->blk[i].end, snd_una) : snd_una;
		if (SEQ_LT(lo, hi)) {
			if (segs < dupthresh)
				pipe += hi - lo;
			pipe += board_rexmit(lo, hi, high_rxt);
		}
		if (i >= 0) {
			segs += board_segs(b->blk[i].end - b->blk[i].start, mss);
			hi = SEQ_MIN(b->blk[i].start, hi);
		}
	}
	return pipe;
}

bool tcp_board_next_lost(const struct tcp_board *b, uint32_t from, uint32_t snd_max, uint32_t mss,
			 uint32_t dupthresh, uint32_t *seq, uint32_t *len)
{
	uint32_t s = from;
	unsigned int i;

	for (i = 0; i < b->n; i++) {
		if (SEQ_LEQ(b->blk[i].end, s))
			continue;
		if (SEQ_LEQ(b->blk[i].start, s)) {
			s = b->blk[i].end;
			continue;
		}
		break;
	}
	/* The first hole at or after from is [s, blk[i].start). IsLost only grows
	 * towards snd_una, so if this hole is not lost no later one is; the hole
	 * above the last range (i == n) has nothing SACKed above it. */
	if (i == b->n || SEQ_GEQ(s, snd_max) || !tcp_board_is_lost(b, s, mss, dupthresh))
		return false;
	*seq = s;
	*len = RTE_MIN(mss, SEQ_MIN(b->blk[i].start, snd_max) - s);
	return true;
}
