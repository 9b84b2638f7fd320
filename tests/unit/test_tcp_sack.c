/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcp_sack: the receiver's out-of-order queue (insertion with every kind of
 * overlap, taking in-order data, the SACK blocks of RFC 2018 section 4) and
 * the sender's scoreboard (merging, bogus blocks, IsLost, SetPipe and
 * NextSeg of RFC 6675 on hand-computed scenarios). Every scenario runs at a
 * low sequence number and again across the 2^32 wrap; payload bytes carry
 * (seq & 0xff) so that every byte taken out is checked against its number,
 * and the mempool must get every mbuf back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/tcp/tcp_internal.h"
#include "test_eal.h"

static struct rte_mempool *pool;

/* Every scenario runs at each base: a low one, and one whose data crosses 2^32. */
static const uint32_t bases[] = {1000, 0xffffff00u};

/* ---- helpers ---- */

/* One segment [seq, seq + len) whose bytes are (seq & 0xff). */
static struct rte_mbuf *mk(uint32_t seq, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;
	uint16_t i;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	assert_true(len == 0 || p != NULL);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seq + i);
	return m;
}

/* n contiguous segments of len bytes from seq, linked by m->next. */
static struct rte_mbuf *mk_list(uint32_t seq, unsigned int n, uint16_t len)
{
	struct rte_mbuf *first = NULL, **link = &first;
	unsigned int i;

	for (i = 0; i < n; i++) {
		*link = mk(seq + i * len, len);
		link = &(*link)->next;
	}
	return first;
}

static uint32_t ins(struct tcp_ooo *q, uint32_t seq, uint16_t len)
{
	return tcp_ooo_insert(q, mk(seq, len), seq, len);
}

/* Each mbuf is one segment whose bytes are its sequence numbers' low bytes. */
static void check_seg(struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t seq = *tcp_mbuf_seq(m);
	uint16_t i;

	assert_true(m->data_len > 0);
	assert_int_equal(m->pkt_len, m->data_len);
	assert_int_equal(m->nb_segs, 1);
	for (i = 0; i < m->data_len; i++)
		assert_int_equal(p[i], (uint8_t)(seq + i));
}

/*
 * The queue is exactly the segments of @p want ({seq, end} pairs, ascending),
 * consistent with its counters, and holds the right bytes.
 */
static void check_queue(const struct tcp_ooo *q, const struct tcp_sack_block *want, unsigned int n)
{
	struct rte_mbuf *m = q->head, *last = NULL;
	uint32_t bytes = 0;
	unsigned int i;

	for (i = 0; i < n; i++, m = m->next) {
		assert_non_null(m);
		assert_int_equal(*tcp_mbuf_seq(m), want[i].start);
		assert_int_equal(*tcp_mbuf_seq(m) + m->data_len, want[i].end);
		check_seg(m);
		bytes += m->data_len;
		last = m;
	}
	assert_null(m);
	assert_ptr_equal(q->tail, last);
	assert_int_equal(q->nsegs, n);
	assert_int_equal(q->bytes, bytes);
}

/* A taken list: starts at seq, @p bytes long, no gaps, right payload; freed after. */
static void check_taken(struct rte_mbuf *m, struct rte_mbuf *tail, uint32_t seq, uint32_t bytes)
{
	uint32_t n = 0;

	assert_non_null(m);
	while (m) {
		struct rte_mbuf *next = m->next;

		assert_int_equal(*tcp_mbuf_seq(m), seq + n);
		check_seg(m);
		n += m->data_len;
		if (!next)
			assert_ptr_equal(m, tail);
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	assert_int_equal(n, bytes);
}

static void check_blocks(const struct tcp_ooo *q, unsigned int max,
			 const struct tcp_sack_block *want, unsigned int n)
{
	struct tcp_sack_block out[8];
	unsigned int i;

	memset(out, 0xee, sizeof(out));
	assert_int_equal(tcp_ooo_sack_blocks(q, out, max), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(out[i].start, want[i].start);
		assert_int_equal(out[i].end, want[i].end);
	}
}

#define BLK(b, s, e)                                         \
	{                                                    \
		(uint32_t)((b) + (s)), (uint32_t)((b) + (e)) \
	}

/* ---- the dynfield ---- */

static void test_dynfield(void **state)
{
	int off;

	(void)state;
	assert_int_equal(tcp_seq_dynfield_register(), 0);
	off = tcp_seq_dynfield_offset;
	assert_true(off > 0);
	assert_int_equal(tcp_seq_dynfield_register(), 0);
	assert_int_equal(tcp_seq_dynfield_offset, off);
}

/* ---- the out-of-order queue ---- */

static void test_ooo_in_order(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], bytes;
		unsigned int avail = rte_mempool_avail_count(pool);
		struct tcp_ooo q;
		struct rte_mbuf *m, *tail;

		tcp_ooo_init(&q);
		/* rcv_nxt = b, b .. b+100 missing; arrivals in order after it. */
		assert_int_equal(ins(&q, b + 100, 100), 100);
		assert_int_equal(ins(&q, b + 200, 100), 100);
		assert_int_equal(ins(&q, b + 300, 100), 100);
		/* One call with three mbufs, as a GRO'd or multi-segment arrival. */
		assert_int_equal(tcp_ooo_insert(&q, mk_list(b + 400, 3, 100), b + 400, 300), 300);
		{
			const struct tcp_sack_block w[] = {
				BLK(b, 100, 200), BLK(b, 200, 300), BLK(b, 300, 400),
				BLK(b, 400, 500), BLK(b, 500, 600), BLK(b, 600, 700),
			};
			const struct tcp_sack_block blk[] = {BLK(b, 100, 700)};

			check_queue(&q, w, 6);
			check_blocks(&q, 4, blk, 1);
		}
		/* Still a gap at rcv_nxt: nothing to take. */
		assert_null(tcp_ooo_take(&q, b, &bytes, &tail));
		assert_int_equal(bytes, 0);
		assert_null(tail);
		assert_int_equal(q.nsegs, 6);

		m = tcp_ooo_take(&q, b + 100, &bytes, &tail);
		assert_int_equal(bytes, 600);
		check_taken(m, tail, b + 100, 600);
		assert_null(q.head);
		assert_null(q.tail);
		assert_int_equal(q.bytes, 0);
		assert_int_equal(q.nsegs, 0);
		assert_int_equal(tcp_ooo_sack_blocks(&q, (struct tcp_sack_block[4]){{0}}, 4), 0);
		tcp_ooo_purge(&q);
		assert_int_equal(rte_mempool_avail_count(pool), avail);
	}
}

static void test_ooo_gaps_and_blocks(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], bytes;
		unsigned int avail = rte_mempool_avail_count(pool);
		struct tcp_ooo q;
		struct rte_mbuf *m, *tail;

		tcp_ooo_init(&q);
		assert_int_equal(ins(&q, b + 300, 100), 100);
		assert_int_equal(ins(&q, b + 100, 100), 100);
		assert_int_equal(ins(&q, b + 500, 100), 100);
		{
			const struct tcp_sack_block w[] = {BLK(b, 100, 200), BLK(b, 300, 400),
							   BLK(b, 500, 600)};
			/* The latest arrival is also the highest block. */
			const struct tcp_sack_block blk[] = {BLK(b, 500, 600), BLK(b, 300, 400),
							     BLK(b, 100, 200)};

			check_queue(&q, w, 3);
			check_blocks(&q, 4, blk, 3);
		}
		/* Arrival in the middle: its block first, the others from the top down. */
		assert_int_equal(ins(&q, b + 300, 100), 0); /* a duplicate also triggers an ACK */
		{
			const struct tcp_sack_block blk[] = {BLK(b, 300, 400), BLK(b, 500, 600),
							     BLK(b, 100, 200)};
			const struct tcp_sack_block two[] = {BLK(b, 300, 400), BLK(b, 500, 600)};
			const struct tcp_sack_block one[] = {BLK(b, 300, 400)};

			check_blocks(&q, 4, blk, 3);
			check_blocks(&q, 2, two, 2);
			check_blocks(&q, 1, one, 1);
			check_blocks(&q, 0, NULL, 0);
		}
		/* Filling the gap 200..300 joins the first two into one block. */
		assert_int_equal(ins(&q, b + 200, 100), 100);
		{
			const struct tcp_sack_block blk[] = {BLK(b, 100, 400), BLK(b, 500, 600)};

			check_blocks(&q, 4, blk, 2);
		}
		/* Four blocks, the latest one low, room for three. */
		assert_int_equal(ins(&q, b + 900, 50), 50);
		assert_int_equal(ins(&q, b + 700, 50), 50);
		{
			const struct tcp_sack_block blk[] = {BLK(b, 700, 750), BLK(b, 900, 950),
							     BLK(b, 500, 600)};

			check_blocks(&q, 3, blk, 3);
		}
		m = tcp_ooo_take(&q, b + 100, &bytes, &tail);
		assert_int_equal(bytes, 300);
		check_taken(m, tail, b + 100, 300);
		{
			const struct tcp_sack_block w[] = {BLK(b, 500, 600), BLK(b, 700, 750),
							   BLK(b, 900, 950)};
			/* The latest arrival's block is still queued: it stays first. */
			const struct tcp_sack_block blk[] = {BLK(b, 700, 750), BLK(b, 900, 950),
							     BLK(b, 500, 600)};

			check_queue(&q, w, 3);
			check_blocks(&q, 4, blk, 3);
		}
		tcp_ooo_purge(&q);
		assert_null(q.head);
		assert_int_equal(q.bytes, 0);
		assert_int_equal(rte_mempool_avail_count(pool), avail);
	}
}

static void test_ooo_duplicates(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k];
		unsigned int avail = rte_mempool_avail_count(pool);
		struct tcp_ooo q;
		const struct tcp_sack_block w[] = {BLK(b, 100, 300)};

		tcp_ooo_init(&q);
		assert_int_equal(ins(&q, b + 100, 200), 200);
		/* Exact duplicate, one inside, one sharing the end: freed, nothing queued. */
		assert_int_equal(ins(&q, b + 100, 200), 0);
		assert_int_equal(ins(&q, b + 150, 20), 0);
		assert_int_equal(ins(&q, b + 250, 50), 0);
		check_queue(&q, w, 1);
		assert_int_equal(rte_mempool_avail_count(pool), avail - 1);
		/* A duplicate list of two mbufs, and an empty mbuf in a list. */
		assert_int_equal(tcp_ooo_insert(&q, mk_list(b + 100, 2, 100), b + 100, 200), 0);
		{
			struct rte_mbuf *l = mk(b + 300, 0);

			l->next = mk(b + 300, 10);
			assert_int_equal(tcp_ooo_insert(&q, l, b + 300, 10), 10);
		}
		assert_int_equal(rte_mempool_avail_count(pool), avail - 2);
		tcp_ooo_purge(&q);
		assert_int_equal(rte_mempool_avail_count(pool), avail);
	}
}

static void test_ooo_overlaps(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], bytes;
		unsigned int avail = rte_mempool_avail_count(pool);
		struct tcp_ooo q;
		struct rte_mbuf *m, *tail;

		tcp_ooo_init(&q);
		assert_int_equal(ins(&q, b + 100, 100), 100);
		/* Overlapping the front of a queued segment: its back is cut. */
		assert_int_equal(ins(&q, b + 50, 100), 50);
		/* Overlapping the back: its front is cut. */
		assert_int_equal(ins(&q, b + 180, 80), 60);
		{
			const struct tcp_sack_block w[] = {BLK(b, 50, 100), BLK(b, 100, 200),
							   BLK(b, 200, 260)};

			check_queue(&q, w, 3);
		}
		/* Spanning two queued segments entirely: they are replaced by it. */
		assert_int_equal(ins(&q, b + 300, 50), 50);
		assert_int_equal(ins(&q, b + 400, 50), 50);
		assert_int_equal(ins(&q, b + 280, 190), 90);
		/* Between two queued ones, overlapping both: cut at both ends. */
		assert_int_equal(ins(&q, b + 500, 50), 50);
		assert_int_equal(ins(&q, b + 600, 50), 50);
		assert_int_equal(ins(&q, b + 520, 100), 50);
		/* Within two adjacent queued segments: all duplicate. */
		assert_int_equal(ins(&q, b + 700, 50), 50);
		assert_int_equal(ins(&q, b + 750, 50), 50);
		assert_int_equal(ins(&q, b + 720, 60), 0);
		/* Cut in front, one covered, cut behind: 950..1000 and 1050..1100 new. */
		assert_int_equal(ins(&q, b + 900, 50), 50);
		assert_int_equal(ins(&q, b + 1000, 50), 50);
		assert_int_equal(ins(&q, b + 1100, 50), 50);
		assert_int_equal(ins(&q, b + 920, 200), 100);
		{
			const struct tcp_sack_block w[] = {
				BLK(b, 50, 100),  BLK(b, 100, 200),  BLK(b, 200, 260),
				BLK(b, 280, 470), BLK(b, 500, 550),  BLK(b, 550, 600),
				BLK(b, 600, 650), BLK(b, 700, 750),  BLK(b, 750, 800),
				BLK(b, 900, 950), BLK(b, 950, 1100), BLK(b, 1100, 1150),
			};
			const struct tcp_sack_block blk[] = {BLK(b, 900, 1150), BLK(b, 700, 800),
							     BLK(b, 500, 650), BLK(b, 280, 470)};

			check_queue(&q, w, 12);
			check_blocks(&q, 4, blk, 4);
		}
		/* A list of three overlapping a queued segment with its first two. */
		assert_int_equal(ins(&q, b + 2000, 100), 100);
		assert_int_equal(tcp_ooo_insert(&q, mk_list(b + 1950, 3, 100), b + 1950, 300), 200);
		{
			const struct tcp_sack_block w[] = {BLK(b, 1950, 2000), BLK(b, 2000, 2100),
							   BLK(b, 2100, 2150), BLK(b, 2150, 2250)};
			const struct tcp_sack_block blk[] = {BLK(b, 1950, 2250), BLK(b, 900, 1150),
							     BLK(b, 700, 800)};
			struct tcp_ooo q2 = q;

			/* Only the tail of the queue (from 1950) is compared here. */
			while (*tcp_mbuf_seq(q2.head) != b + 1950) {
				q2.bytes -= q2.head->data_len;
				q2.nsegs--;
				q2.head = q2.head->next;
			}
			check_queue(&q2, w, 4);
			check_blocks(&q, 3, blk, 3);
		}
		assert_int_equal(q.bytes, 50 + 100 + 60 + 190 + 150 + 100 + 250 + 300);
		/* The segment starting at 50 is past rcv_nxt 60: its first 10 bytes go. */
		m = tcp_ooo_take(&q, b + 60, &bytes, &tail);
		assert_int_equal(bytes, 200);
		check_taken(m, tail, b + 60, 200);
		tcp_ooo_purge(&q);
		assert_int_equal(rte_mempool_avail_count(pool), avail);
	}
}

static void test_ooo_take(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], bytes;
		unsigned int avail = rte_mempool_avail_count(pool);
		struct tcp_ooo q;
		struct rte_mbuf *m, *tail;

		tcp_ooo_init(&q);
		assert_int_equal(ins(&q, b + 100, 100), 100);
		assert_int_equal(ins(&q, b + 200, 100), 100);
		assert_int_equal(ins(&q, b + 400, 100), 100);
		/* rcv_nxt moved into the first segment (its start came in another segment). */
		m = tcp_ooo_take(&q, b + 150, &bytes, &tail);
		assert_int_equal(bytes, 150);
		assert_int_equal(*tcp_mbuf_seq(m), b + 150);
		assert_int_equal(m->data_len, 50);
		assert_int_equal(*tcp_mbuf_seq(tail), b + 200);
		check_taken(m, tail, b + 150, 150);
		{
			const struct tcp_sack_block w[] = {BLK(b, 400, 500)};

			check_queue(&q, w, 1);
		}
		/* rcv_nxt past whole segments: they are freed, the rest waits for its gap. */
		assert_int_equal(ins(&q, b + 600, 100), 100);
		assert_null(tcp_ooo_take(&q, b + 550, &bytes, &tail));
		{
			const struct tcp_sack_block w[] = {BLK(b, 600, 700)};

			check_queue(&q, w, 1);
		}
		/* The last byte only. */
		m = tcp_ooo_take(&q, b + 699, &bytes, &tail);
		assert_int_equal(bytes, 1);
		check_taken(m, tail, b + 699, 1);
		assert_null(q.head);
		assert_int_equal(rte_mempool_avail_count(pool), avail);
	}
}

/* Many in-order arrivals after a gap: all kept, in order, none lost. */
static void test_ooo_many(void **state)
{
	enum { N = 200 };
	unsigned int k, i;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], bytes;
		unsigned int avail = rte_mempool_avail_count(pool);
		struct tcp_ooo q;
		struct rte_mbuf *m, *tail;

		tcp_ooo_init(&q);
		for (i = 0; i < N; i++)
			assert_int_equal(ins(&q, b + 10 + i * 7, 7), 7);
		assert_int_equal(q.nsegs, N);
		assert_int_equal(ins(&q, b, 10), 10);
		m = tcp_ooo_take(&q, b, &bytes, &tail);
		assert_int_equal(bytes, 10 + N * 7);
		check_taken(m, tail, b, 10 + N * 7);
		assert_int_equal(rte_mempool_avail_count(pool), avail);
	}
}

/* ---- the scoreboard ---- */

#define MSS 1000

static void check_board(const struct tcp_board *bd, const struct tcp_sack_block *want,
			unsigned int n)
{
	uint32_t sacked = 0;
	unsigned int i;

	assert_int_equal(bd->n, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(bd->blk[i].start, want[i].start);
		assert_int_equal(bd->blk[i].end, want[i].end);
		sacked += want[i].end - want[i].start;
	}
	assert_int_equal(bd->sacked, sacked);
}

static uint32_t upd1(struct tcp_board *bd, uint32_t una, uint32_t max, uint32_t s, uint32_t e)
{
	const struct tcp_sack_block blk = {s, e};

	return tcp_board_update(bd, una, max, &blk, 1);
}

static void test_board_merge(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], una = b, max = b + 20000;
		struct tcp_board bd;

		tcp_board_init(&bd);
		assert_int_equal(upd1(&bd, una, max, b + 1000, b + 2000), 1000);
		assert_int_equal(upd1(&bd, una, max, b + 3000, b + 4000), 1000);
		/* The same block again (receivers repeat them): nothing new. */
		assert_int_equal(upd1(&bd, una, max, b + 1000, b + 2000), 0);
		/* Adjacent on both sides: one range. */
		assert_int_equal(upd1(&bd, una, max, b + 2000, b + 3000), 1000);
		{
			const struct tcp_sack_block w[] = {BLK(b, 1000, 4000)};

			check_board(&bd, w, 1);
		}
		/* Overlapping the end. */
		assert_int_equal(upd1(&bd, una, max, b + 3500, b + 5000), 1000);
		/* Three blocks in one ACK, then one spanning two of them. */
		{
			const struct tcp_sack_block blks[] = {
				BLK(b, 8000, 9000), BLK(b, 6000, 7000), BLK(b, 12000, 13000)};

			assert_int_equal(tcp_board_update(&bd, una, max, blks, 3), 3000);
		}
		assert_int_equal(upd1(&bd, una, max, b + 5500, b + 9500), 2000);
		{
			const struct tcp_sack_block w[] = {BLK(b, 1000, 5000), BLK(b, 5500, 9500),
							   BLK(b, 12000, 13000)};

			check_board(&bd, w, 3);
		}
		/* Overlapping the start of a range, inside a range. */
		assert_int_equal(upd1(&bd, una, max, b + 11000, b + 12500), 1000);
		assert_int_equal(upd1(&bd, una, max, b + 6000, b + 7000), 0);
		assert_false(tcp_board_is_sacked(&bd, b + 999));
		assert_true(tcp_board_is_sacked(&bd, b + 1000));
		assert_true(tcp_board_is_sacked(&bd, b + 4999));
		assert_false(tcp_board_is_sacked(&bd, b + 5000));
		assert_false(tcp_board_is_sacked(&bd, b + 10999));
		assert_true(tcp_board_is_sacked(&bd, b + 11000));
		assert_false(tcp_board_is_sacked(&bd, b + 13000));
		{
			const struct tcp_sack_block w[] = {BLK(b, 1000, 5000), BLK(b, 5500, 9500),
							   BLK(b, 11000, 13000)};

			check_board(&bd, w, 3);
		}
	}
}

static void test_board_bogus(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], una = b, max = b + 10000;
		struct tcp_board bd;
		const struct tcp_sack_block bad[] = {
			BLK(b, 2000, 2000),		  /* empty */
			BLK(b, 3000, 2000),		  /* reversed */
			BLK(b, 0, 500),			  /* starts at snd_una */
			BLK(b, -1000, 0),		  /* D-SACK below snd_una */
			BLK(b, -100, 100),		  /* straddles snd_una */
			BLK(b, 9900, 10100),		  /* beyond snd_max */
			BLK(b, 0x80000000u, 0x80001000u), /* half the space away */
		};

		tcp_board_init(&bd);
		assert_int_equal(tcp_board_update(&bd, una, max, bad, 7), 0);
		assert_int_equal(bd.n, 0);
		assert_int_equal(bd.sacked, 0);
		/* Up to snd_max exactly is fine; bogus blocks beside a good one change nothing. */
		{
			const struct tcp_sack_block mix[] = {BLK(b, 3000, 2000),
							     BLK(b, 9000, 10000), BLK(b, -1000, 0)};
			const struct tcp_sack_block w[] = {BLK(b, 9000, 10000)};

			assert_int_equal(tcp_board_update(&bd, una, max, mix, 3), 1000);
			check_board(&bd, w, 1);
		}
	}
}

static void test_board_ack(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], max = b + 10000;
		struct tcp_board bd;

		tcp_board_init(&bd);
		assert_int_equal(upd1(&bd, b, max, b + 1000, b + 2000), 1000);
		assert_int_equal(upd1(&bd, b, max, b + 3000, b + 4000), 1000);
		tcp_board_ack(&bd, b + 1500);
		{
			const struct tcp_sack_block w[] = {BLK(b, 1500, 2000), BLK(b, 3000, 4000)};

			check_board(&bd, w, 2);
		}
		tcp_board_ack(&bd, b + 2500);
		{
			const struct tcp_sack_block w[] = {BLK(b, 3000, 4000)};

			check_board(&bd, w, 1);
		}
		/* An ACK carrying a new snd_una drops what it covers before adding. */
		assert_int_equal(upd1(&bd, b + 4000, max, b + 5000, b + 6000), 1000);
		{
			const struct tcp_sack_block w[] = {BLK(b, 5000, 6000)};

			check_board(&bd, w, 1);
		}
		tcp_board_ack(&bd, b + 6000);
		check_board(&bd, NULL, 0);
	}
}

static void test_board_is_lost(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], max = b + 20000;
		struct tcp_board bd;

		/* By count: three small SACKed segments (300 bytes, far below 2 MSS). */
		tcp_board_init(&bd);
		upd1(&bd, b, max, b + 1000, b + 1100);
		upd1(&bd, b, max, b + 2000, b + 2100);
		upd1(&bd, b, max, b + 3000, b + 3100);
		assert_true(tcp_board_is_lost(&bd, b, MSS, TCP_DUPTHRESH));
		assert_true(tcp_board_is_lost(&bd, b + 999, MSS, TCP_DUPTHRESH));
		/* 1051..1099 above 1050 are still a (partial) segment. */
		assert_true(tcp_board_is_lost(&bd, b + 1050, MSS, TCP_DUPTHRESH));
		assert_false(tcp_board_is_lost(&bd, b + 1099, MSS, TCP_DUPTHRESH));
		assert_false(tcp_board_is_lost(&bd, b + 1100, MSS, TCP_DUPTHRESH));
		assert_false(tcp_board_is_lost(&bd, b + 3200, MSS, TCP_DUPTHRESH));

		/* By bytes: 2 MSS SACKed above is not enough, 2 MSS + 1 is. */
		tcp_board_init(&bd);
		upd1(&bd, b, max, b + 1000, b + 3000);
		assert_false(tcp_board_is_lost(&bd, b, MSS, TCP_DUPTHRESH));
		upd1(&bd, b, max, b + 3000, b + 3001);
		assert_true(tcp_board_is_lost(&bd, b, MSS, TCP_DUPTHRESH));
		assert_true(tcp_board_is_lost(&bd, b + 999, MSS, TCP_DUPTHRESH));
		/* Above 1000 only 2000 bytes (1001..3000) remain. */
		assert_false(tcp_board_is_lost(&bd, b + 1000, MSS, TCP_DUPTHRESH));

		/* Two full segments in separate ranges: 2 segments, 2 MSS: not lost. */
		tcp_board_init(&bd);
		upd1(&bd, b, max, b + 1000, b + 2000);
		upd1(&bd, b, max, b + 5000, b + 6000);
		assert_false(tcp_board_is_lost(&bd, b, MSS, TCP_DUPTHRESH));

		/* A raised DupThresh (5): 4 segments above are not enough, 5 are. */
		tcp_board_init(&bd);
		upd1(&bd, b, max, b + 1000, b + 5000);
		assert_true(tcp_board_is_lost(&bd, b, MSS, TCP_DUPTHRESH));
		assert_false(tcp_board_is_lost(&bd, b, MSS, 5));
		assert_int_equal(tcp_board_pipe(&bd, b, max, b, MSS, TCP_DUPTHRESH),
				 max - b - 4000 - 1000);
		assert_int_equal(tcp_board_pipe(&bd, b, max, b, MSS, 5), max - b - 4000);
		upd1(&bd, b, max, b + 6000, b + 6100);
		assert_true(tcp_board_is_lost(&bd, b, MSS, 5));
	}
}

static void test_board_pipe(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], una = b, max = b + 10000; /* ten segments 0..9 in flight */
		struct tcp_board bd;

		tcp_board_init(&bd);
		assert_int_equal(tcp_board_pipe(&bd, una, max, una, MSS, TCP_DUPTHRESH), 10000);

		/* Segment 0 lost, 1..3 SACKed: 0 is lost (3 segments above), 4..9 in flight. */
		upd1(&bd, una, max, b + 1000, b + 4000);
		assert_int_equal(tcp_board_pipe(&bd, una, max, una, MSS, TCP_DUPTHRESH), 6000);
		/* Segment 0 retransmitted: it is in the network again. */
		assert_int_equal(tcp_board_pipe(&bd, una, max, b + 1000, MSS, TCP_DUPTHRESH), 7000);

		/* Only segment 1 SACKed: segment 0 is not yet lost. */
		tcp_board_init(&bd);
		upd1(&bd, una, max, b + 1000, b + 2000);
		assert_int_equal(tcp_board_pipe(&bd, una, max, una, MSS, TCP_DUPTHRESH), 9000);
		/* Not lost and retransmitted: counted twice. */
		assert_int_equal(tcp_board_pipe(&bd, una, max, b + 1000, MSS, TCP_DUPTHRESH),
				 10000);

		/*
		 * SACKed 1, 3, 5. Hole 0: 3 segments above, lost. Hole 2: 2 above, not
		 * lost. Hole 4: 1 above. 6..9 outstanding: 0 + 1000 + 1000 + 4000.
		 */
		upd1(&bd, una, max, b + 3000, b + 4000);
		upd1(&bd, una, max, b + 5000, b + 6000);
		assert_int_equal(tcp_board_pipe(&bd, una, max, una, MSS, TCP_DUPTHRESH), 6000);
		/* Retransmitted 0 and half of 2: 1000 (lost, resent) + 1500 + 1000 + 4000. */
		assert_int_equal(tcp_board_pipe(&bd, una, max, b + 2500, MSS, TCP_DUPTHRESH), 7500);

		/* snd_una advanced into the hole at 2: holes 2 (half), 4 and the tail. */
		tcp_board_ack(&bd, b + 2500);
		assert_int_equal(tcp_board_pipe(&bd, b + 2500, max, b + 2500, MSS, TCP_DUPTHRESH),
				 500 + 1000 + 4000);

		/* Everything SACKed but segment 0, lost and not yet retransmitted: nothing in flight. */
		tcp_board_init(&bd);
		upd1(&bd, una, max, b + 1000, b + 10000);
		assert_int_equal(tcp_board_pipe(&bd, una, max, una, MSS, TCP_DUPTHRESH), 0);
	}
}

static void test_board_next_lost(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], una = b, max = b + 10000, seq = 0, len = 0;
		struct tcp_board bd;

		tcp_board_init(&bd);
		assert_false(tcp_board_next_lost(&bd, una, max, MSS, TCP_DUPTHRESH, &seq, &len));
		/* SACKed 1, 3, 5, 7: holes 0 and 2 lost (3 segments above), 4 and 6 not. */
		upd1(&bd, una, max, b + 1000, b + 2000);
		upd1(&bd, una, max, b + 3000, b + 4000);
		upd1(&bd, una, max, b + 5000, b + 6000);
		upd1(&bd, una, max, b + 7000, b + 8000);
		assert_true(tcp_board_next_lost(&bd, una, max, MSS, TCP_DUPTHRESH, &seq, &len));
		assert_int_equal(seq, b);
		assert_int_equal(len, 1000);
		/* From HighRxt inside the hole: the rest of it. */
		assert_true(tcp_board_next_lost(&bd, b + 600, max, MSS, TCP_DUPTHRESH, &seq, &len));
		assert_int_equal(seq, b + 600);
		assert_int_equal(len, 400);
		/* From the SACKed range: the next hole. */
		assert_true(
			tcp_board_next_lost(&bd, b + 1000, max, MSS, TCP_DUPTHRESH, &seq, &len));
		assert_int_equal(seq, b + 2000);
		assert_int_equal(len, 1000);
		assert_true(
			tcp_board_next_lost(&bd, b + 1500, max, MSS, TCP_DUPTHRESH, &seq, &len));
		assert_int_equal(seq, b + 2000);
		/* Hole 4 and beyond: not lost. */
		assert_false(
			tcp_board_next_lost(&bd, b + 3000, max, MSS, TCP_DUPTHRESH, &seq, &len));
		assert_false(
			tcp_board_next_lost(&bd, b + 8000, max, MSS, TCP_DUPTHRESH, &seq, &len));
		assert_false(tcp_board_next_lost(&bd, max, max, MSS, TCP_DUPTHRESH, &seq, &len));

		/* A hole longer than one MSS is sent one MSS at a time. */
		tcp_board_init(&bd);
		upd1(&bd, una, max, b + 2500, b + 2600);
		upd1(&bd, una, max, b + 2700, b + 2800);
		upd1(&bd, una, max, b + 2900, b + 3000);
		assert_true(tcp_board_next_lost(&bd, una, max, MSS, TCP_DUPTHRESH, &seq, &len));
		assert_int_equal(seq, b);
		assert_int_equal(len, 1000);
		assert_true(
			tcp_board_next_lost(&bd, b + 2000, max, MSS, TCP_DUPTHRESH, &seq, &len));
		assert_int_equal(seq, b + 2000);
		assert_int_equal(len, 500);
		/* The small holes between the ranges: 2600..2700 has 2 segments above. */
		assert_false(
			tcp_board_next_lost(&bd, b + 2500, max, MSS, TCP_DUPTHRESH, &seq, &len));
	}
}

static void test_board_capacity(void **state)
{
	unsigned int k, i;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint32_t b = bases[k], una = b, max = b + 20000;
		struct tcp_board bd;

		tcp_board_init(&bd);
		for (i = 1; i <= TCP_BOARD_MAX; i++)
			assert_int_equal(upd1(&bd, una, max, b + i * 1000, b + i * 1000 + 500),
					 500);
		assert_int_equal(bd.n, TCP_BOARD_MAX);
		assert_int_equal(bd.sacked, TCP_BOARD_MAX * 500);
		/* A ninth, higher range: the lowest is forgotten, sacked stays exact. */
		assert_int_equal(upd1(&bd, una, max, b + 9000, b + 9500), 0);
		assert_int_equal(bd.n, TCP_BOARD_MAX);
		assert_int_equal(bd.sacked, TCP_BOARD_MAX * 500);
		assert_int_equal(bd.blk[0].start, b + 2000);
		assert_int_equal(bd.blk[TCP_BOARD_MAX - 1].start, b + 9000);
		assert_false(tcp_board_is_sacked(&bd, b + 1000));
		/* A new range below all of them is the one not kept. */
		assert_int_equal(upd1(&bd, una, max, b + 500, b + 600), 0);
		assert_false(tcp_board_is_sacked(&bd, b + 500));
		assert_int_equal(bd.blk[0].start, b + 2000);
		/* Merging needs no slot: 2500..3000 joins two ranges, one slot frees up. */
		assert_int_equal(upd1(&bd, una, max, b + 2500, b + 3000), 500);
		assert_int_equal(bd.n, TCP_BOARD_MAX - 1);
		assert_int_equal(bd.blk[0].start, b + 2000);
		assert_int_equal(bd.blk[0].end, b + 3500);
		assert_int_equal(bd.sacked, TCP_BOARD_MAX * 500 + 500);
		/* Now a low range fits again. */
		assert_int_equal(upd1(&bd, una, max, b + 500, b + 600), 100);
		assert_int_equal(bd.n, TCP_BOARD_MAX);
		assert_true(tcp_board_is_sacked(&bd, b + 500));
		/* Never a hole taken for SACKed: 600..2000 is still a hole. */
		assert_false(tcp_board_is_sacked(&bd, b + 1999));
	}
}

static int setup(void **state)
{
	(void)state;
	pool = rte_pktmbuf_pool_create("sacktest", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (!pool)
		return -1;
	return tcp_seq_dynfield_register();
}

static int teardown(void **state)
{
	(void)state;
	rte_mempool_free(pool);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dynfield),
		cmocka_unit_test(test_ooo_in_order),
		cmocka_unit_test(test_ooo_gaps_and_blocks),
		cmocka_unit_test(test_ooo_duplicates),
		cmocka_unit_test(test_ooo_overlaps),
		cmocka_unit_test(test_ooo_take),
		cmocka_unit_test(test_ooo_many),
		cmocka_unit_test(test_board_merge),
		cmocka_unit_test(test_board_bogus),
		cmocka_unit_test(test_board_ack),
		cmocka_unit_test(test_board_is_lost),
		cmocka_unit_test(test_board_pipe),
		cmocka_unit_test(test_board_next_lost),
		cmocka_unit_test(test_board_capacity),
	};

	test_eal_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
