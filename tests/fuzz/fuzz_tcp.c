/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target of the TCP stack: the input is a script. Two stacks (0:
 * 10.0.0.1 / fd00::1, 1: 10.0.0.2 / fd00::2, both listening on port 80 with
 * input-chosen parameters) are joined by a link whose queues the script
 * delivers, drops, duplicates and reorders; the script also opens
 * connections, calls the user API (send, recv, shutdown, close, abort,
 * timers), moves the clock, reports ICMP errors and, above all, forges
 * segments for any connection of either stack (tcp_conns_dump(), so TIME_WAIT
 * and orphans too) with flags, sequence and acknowledgment numbers relative
 * to the connection's rcv_nxt / snd_una / snd_nxt, window, options (MSS,
 * window scale, SACK-permitted, timestamps that pass PAWS or not, SACK blocks,
 * raw bytes) and payload. The callbacks read, close and abort from inside the
 * stack as the script decides.
 *
 * Checked after every step: the per-state counts add up to the connections
 * the table holds. Checked continuously, a byte-stream oracle: every byte of
 * every stream is a function of its sequence number and ports (fz_byte()),
 * whoever puts it on the wire: the user's tcp_send(), a forged segment or raw
 * header bytes; every byte tcp_recv() hands to the user must be the one of
 * its place in the stream (irs + 1 + bytes taken so far), so that a byte
 * lost, repeated, moved or corrupted anywhere (collapse into the tail of a
 * queue, pruning, the out-of-order queue) aborts the run. At the end the stacks are freed and every mbuf must be back
 * in the pool; anything else aborts. A run is deterministic (rte_srand()).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_random.h>
#include <rte_tcp.h>

#include "dataplane/stats/stats.h"
#include "dataplane/tcp/tcp.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

/* UBSan reports and goes on by default: here a report fails the run as ASan's do */
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

#define FZ_MBUFS     4095
#define FZ_LINK_MAX  256 /* frames queued per direction */
#define FZ_SLOTS     32	 /* user handles */
#define FZ_MAX_CONNS 24	 /* per stack */
#define FZ_MAX_OPS   400
#define FZ_TS_KEYS   32

static struct rte_mempool *pool;

/* ---- the input ---- */

struct in {
	const uint8_t *p;
	size_t n, at;
};

static uint8_t u8(struct in *in)
{
	return in->at < in->n ? in->p[in->at++] : 0;
}

static uint16_t u16(struct in *in)
{
	return (uint16_t)(u8(in) << 8 | u8(in));
}

static uint32_t u32(struct in *in)
{
	return (uint32_t)u16(in) << 16 | u16(in);
}

/* ---- the world ---- */

/* what the callbacks do, chosen per connection */
#define M_READ	    0x01 /* readable: take everything */
#define M_CLOSE_EOF 0x02 /* readable with EOF: tcp_close() */
#define M_ABORT_RD  0x04 /* readable: tcp_abort() (after M_READ) */
#define M_WRITE	    0x08 /* writable: send more */
#define M_REFUSE    0x10 /* accepted: return non-zero */
#define M_SHUT_TMR  0x20 /* timer: tcp_shutdown() */
#define M_SEND_ACC  0x40 /* accepted / connected: send a little at once */

struct slot {
	struct tcp_conn *c;
	uint8_t mode;
	int stack;
	uint64_t tx, rx; /* bytes tcp_send() took, bytes tcp_recv() gave */
};

/* The byte at sequence number @p seq of the stream from port @p sport to port
 * @p dport (host order). */
static uint8_t fz_byte(uint32_t seq, uint16_t sport, uint16_t dport)
{
	uint32_t x = seq * 2654435761u ^ ((uint32_t)sport << 16 | dport) * 40503u;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (uint8_t)(x >> 24);
}

struct tsrec {
	uint8_t from;
	uint16_t sport, dport; /* network order */
	uint32_t tsval;
};

static struct world {
	struct tcp_stack *st[2];
	struct tcp_listener *l[2][2]; /* [stack][v4, v6] */
	struct tcp_params lp[2];
	struct stats_block stats[2];
	struct rte_mbuf *q[2][FZ_LINK_MAX]; /* q[i]: toward stack i */
	unsigned int n[2];
	bool linearize;
	uint64_t now;
	struct slot slots[FZ_SLOTS];
	uint8_t next_mode; /* for connections accepted next */
	struct tsrec ts[FZ_TS_KEYS];
	unsigned int nts;
	struct rte_mbuf *hog[FZ_MBUFS]; /* mbufs held to starve the stacks */
	unsigned int nhog;
} W;

static const uint8_t secret[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

static void addr_of(int stack, int v6, struct tcp_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (v6) {
		a->family = 6;
		a->v6[0] = 0xfd;
		a->v6[15] = (uint8_t)(1 + stack);
	} else {
		a->family = 4;
		a->v4 = rte_cpu_to_be_32(RTE_IPV4(10, 0, 0, 1 + stack));
	}
}

/* ---- the link ---- */

static struct rte_mbuf *linearize(struct rte_mbuf *m)
{
	struct rte_mbuf *c;
	char *p;

	if (m->nb_segs == 1)
		return m;
	c = rte_pktmbuf_alloc(pool);
	if (c == NULL || m->pkt_len > rte_pktmbuf_tailroom(c)) {
		rte_pktmbuf_free(c);
		return m; /* starved: deliver the chain */
	}
	p = rte_pktmbuf_append(c, (uint16_t)m->pkt_len);
	if (rte_pktmbuf_read(m, 0, m->pkt_len, p) != p)
		abort();
	rte_pktmbuf_free(m);
	return c;
}

/* Remember the TSval a stack sends on a tuple: forged segments can pass PAWS. */
static void note_tsval(int from, struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	unsigned int ipl = (p[0] >> 4) == 4 ? (p[0] & 0xfu) * 4 : 40;
	const uint8_t *th = p + ipl;
	unsigned int thl = (th[12] >> 4) * 4u;
	uint16_t sport, dport;

	if (m->data_len < ipl + thl)
		return;
	memcpy(&sport, th, 2);
	memcpy(&dport, th + 2, 2);
	for (unsigned int o = 20; o + 10 <= thl; o++)
		if (th[o] == 8 && th[o + 1] == 10) {
			uint32_t v;
			unsigned int k;

			memcpy(&v, th + o + 2, 4);
			for (k = 0; k < W.nts; k++)
				if (W.ts[k].from == from && W.ts[k].sport == sport &&
				    W.ts[k].dport == dport)
					break;
			if (k == W.nts) {
				if (W.nts == FZ_TS_KEYS)
					k = (unsigned int)(rte_rand() % FZ_TS_KEYS);
				else
					W.nts++;
			}
			W.ts[k] = (struct tsrec){(uint8_t)from, sport, dport, rte_be_to_cpu_32(v)};
			return;
		}
}

static void link_out(int from, struct rte_mbuf *m)
{
	int to = 1 - from;

	if (W.linearize)
		m = linearize(m);
	note_tsval(from, m);
	if (W.n[to] == FZ_LINK_MAX) {
		rte_pktmbuf_free(m);
		return;
	}
	W.q[to][W.n[to]++] = m;
}

static void out0(void *ctx, struct rte_mbuf *m)
{
	(void)ctx;
	link_out(0, m);
}

static void out1(void *ctx, struct rte_mbuf *m)
{
	(void)ctx;
	link_out(1, m);
}

/* Hand a segment to stack @p to as the worker would. */
static void input(int to, struct rte_mbuf *m)
{
	if (!tcp_input(W.st[to], m, W.now))
		tcp_reset_reply(W.st[to], m);
}

static void deliver(int to, unsigned int k)
{
	while (k-- > 0 && W.n[to] > 0) {
		struct rte_mbuf *m = W.q[to][0];

		memmove(&W.q[to][0], &W.q[to][1], sizeof(W.q[to][0]) * (W.n[to] - 1));
		W.n[to]--;
		input(to, m);
	}
}

static void flush(void)
{
	for (unsigned int rounds = 0; rounds < 64 && (W.n[0] > 0 || W.n[1] > 0); rounds++) {
		deliver(0, FZ_LINK_MAX);
		deliver(1, FZ_LINK_MAX);
	}
}

static void advance(uint64_t us)
{
	/* in a few steps: timers that re-arm get their turns */
	for (int s = 0; s < 4; s++) {
		W.now += us / 4 + (s == 0 ? us % 4 : 0);
		tcp_timer(W.st[0], W.now);
		tcp_timer(W.st[1], W.now);
	}
}

/* ---- the applications ---- */

static struct slot *slot_new(int stack, uint8_t mode)
{
	for (unsigned int i = 0; i < FZ_SLOTS; i++)
		if (W.slots[i].c == NULL) {
			W.slots[i].mode = mode;
			W.slots[i].stack = stack;
			W.slots[i].tx = 0;
			W.slots[i].rx = 0;
			return &W.slots[i];
		}
	return NULL;
}

/* Queue @p n bytes of the slot's stream (the next ones after what it sent). */
static void send_bytes(struct slot *s, uint32_t n)
{
	struct rte_mbuf *head = NULL;
	struct tcp_conn_info i;
	uint32_t seq;
	int r;

	tcp_conn_get_info(s->c, &i);
	seq = i.iss + 1 + (uint32_t)s->tx;
	while (n > 0) {
		uint32_t k = RTE_MIN(n, 1800u);
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *p;

		if (m == NULL)
			break;
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)k);
		for (uint32_t j = 0; j < k; j++)
			p[j] = fz_byte(seq++, i.lport, i.rport);
		if (head == NULL)
			head = m;
		else if (rte_pktmbuf_chain(head, m) != 0) {
			rte_pktmbuf_free(m);
			break;
		}
		n -= k;
	}
	if (head != NULL && (r = tcp_send(s->c, head)) > 0)
		s->tx += (uint32_t)r;
}

/* The oracle: what tcp_recv() gave @p s is the next part of its stream. Frees @p m. */
static void take(struct slot *s, struct rte_mbuf *m)
{
	struct tcp_conn_info i;
	uint32_t seq, segs = 0, len = 0;

	if (m == NULL)
		return;
	tcp_conn_get_info(s->c, &i);
	seq = i.irs + 1 + (uint32_t)s->rx;
	for (struct rte_mbuf *x = m; x != NULL; x = x->next, segs++) {
		const uint8_t *p = rte_pktmbuf_mtod(x, const uint8_t *);

		for (uint16_t k = 0; k < x->data_len; k++, seq++)
			if (p[k] != fz_byte(seq, i.rport, i.lport)) {
				fprintf(stderr,
					"stream %u -> %u: byte %" PRIu64
					" (seq %u) is %u, not %u\n",
					i.rport, i.lport, s->rx + len + k, seq, p[k],
					fz_byte(seq, i.rport, i.lport));
				abort();
			}
		len += x->data_len;
	}
	if (len != m->pkt_len || segs != m->nb_segs) {
		fprintf(stderr, "tcp_recv: pkt_len %u nb_segs %u for %u bytes in %u\n", m->pkt_len,
			m->nb_segs, len, segs);
		abort();
	}
	s->rx += len;
	rte_pktmbuf_free(m);
}

static int cb_accepted(struct tcp_conn *c, void *arg)
{
	struct slot *s;

	(void)arg;
	if (W.next_mode & M_REFUSE)
		return 1;
	s = slot_new(-1, W.next_mode);
	if (s == NULL)
		return 1;
	s->c = c;
	tcp_set_arg(c, s);
	if (s->mode & M_SEND_ACC)
		send_bytes(s, 300);
	return 0;
}

static void cb_connected(struct tcp_conn *c, void *arg)
{
	struct slot *s = arg;

	(void)c;
	if (s->mode & M_SEND_ACC)
		send_bytes(s, 500);
}

static void cb_readable(struct tcp_conn *c, void *arg)
{
	struct slot *s = arg;

	if (s->mode & M_READ) {
		struct rte_mbuf *m;

		while ((m = tcp_recv(c, 4000)) != NULL)
			take(s, m);
		if (s->mode & M_ABORT_RD) {
			tcp_abort(c);
			s->c = NULL;
			return;
		}
	}
	if ((s->mode & M_CLOSE_EOF) && tcp_recv_eof(c)) {
		tcp_close(c);
		s->c = NULL;
	}
}

static void cb_writable(struct tcp_conn *c, void *arg)
{
	struct slot *s = arg;

	if (s->mode & M_WRITE)
		send_bytes(s, RTE_MIN(tcp_send_space(c), 3000u));
}

static void cb_timer(struct tcp_conn *c, void *arg)
{
	struct slot *s = arg;

	if (s->mode & M_SHUT_TMR)
		tcp_shutdown(c);
}

static void cb_closed(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	struct slot *s = arg;

	(void)reason;
	if (s->c != c)
		abort(); /* a callback for a handle the user no longer holds */
	s->c = NULL;
}

static const struct tcp_callbacks cbs = {
	.accepted = cb_accepted,
	.connected = cb_connected,
	.readable = cb_readable,
	.writable = cb_writable,
	.timer = cb_timer,
	.closed = cb_closed,
};

static void params_of(struct in *in, struct tcp_params *p)
{
	uint8_t b = u8(in);

	memset(p, 0, sizeof(*p));
	p->cc = (b & 1) ? TCP_CC_CUBIC : TCP_CC_NEWRENO;
	p->nodelay = (b & 2) != 0;
	if (b & 4)
		p->rcvbuf = 1000u << (u8(in) % 9); /* 1000 .. 256000: window scale 0 .. 2 */
	if (b & 8)
		p->sndbuf = 2000u << (u8(in) % 8);
	if (b & 16) {
		p->keepalive_idle_ms = 1 + u8(in) * 20u;
		p->keepalive_intvl_ms = 1 + u8(in) * 4u;
		p->keepalive_probes = u8(in) % 5;
	}
	p->syn_backlog = (b & 32) ? 1 + u8(in) % 3 : 0; /* tiny: SYN cookies */
	p->syn_retries = (b & 64) ? u8(in) % 4 : 0;
	p->ecn = (b & 128) != 0;
}

/* ---- forged segments ---- */

/* The connections of stack @p s (every state), up to FZ_MAX_CONNS. */
static uint32_t conns_of(int s, struct tcp_conn_info *out)
{
	uint32_t cursor = 0;

	return tcp_conns_dump(W.st[s], out, FZ_MAX_CONNS, &cursor);
}

static uint32_t tsval_from(int from, uint16_t sport, uint16_t dport)
{
	for (unsigned int k = 0; k < W.nts; k++)
		if (W.ts[k].from == from && W.ts[k].sport == sport && W.ts[k].dport == dport)
			return W.ts[k].tsval;
	return (uint32_t)(W.now / 1000);
}

/* Options for a forged segment, padded to a multiple of 4. @return the length. */
static unsigned int forge_options(struct in *in, uint8_t *o, const struct tcp_conn_info *i, int to,
				  uint8_t flags)
{
	uint8_t mode = u8(in);
	unsigned int n = 0;

	if (mode & 1) {
		uint16_t mss = u16(in);

		o[n++] = 2;
		o[n++] = 4;
		o[n++] = (uint8_t)(mss >> 8);
		o[n++] = (uint8_t)mss;
	}
	if (mode & 2) {
		o[n++] = 1;
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = u8(in) % 16;
	}
	if (mode & 4) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 4;
		o[n++] = 2;
	}
	if (mode & 8) {
		/* the peer's own clock moved a little, or a lot (PAWS) */
		uint32_t v =
			tsval_from(1 - to, rte_cpu_to_be_16(i->rport), rte_cpu_to_be_16(i->lport)) +
			(uint32_t)(int32_t)(int8_t)u8(in) * ((mode & 0x80) ? 0x1000000u : 1u);
		uint32_t e = tsval_from(to, rte_cpu_to_be_16(i->lport), rte_cpu_to_be_16(i->rport));

		v = rte_cpu_to_be_32(v);
		e = rte_cpu_to_be_32(e);
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 8;
		o[n++] = 10;
		memcpy(o + n, &v, 4);
		memcpy(o + n + 4, &e, 4);
		n += 8;
	}
	if ((mode & 16) && n + 12 <= 40 && !(flags & RTE_TCP_SYN_FLAG)) {
		unsigned int nb = RTE_MIN(1u + u8(in) % 4, (40 - n - 4) / 8);

		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 5;
		o[n++] = (uint8_t)(2 + 8 * nb);
		for (unsigned int b = 0; b < nb; b++) {
			uint32_t st = i->snd_una + (uint32_t)u16(in) * 8;
			uint32_t en = st + 1 + (uint32_t)u16(in) % 4000;

			st = rte_cpu_to_be_32(st);
			en = rte_cpu_to_be_32(en);
			memcpy(o + n, &st, 4);
			memcpy(o + n + 4, &en, 4);
			n += 8;
		}
	}
	if (mode & 32) {
		unsigned int raw = RTE_MIN((unsigned int)u8(in) % 16, 40 - n);

		for (unsigned int k = 0; k < raw; k++)
			o[n++] = u8(in);
	}
	while (n % 4 != 0)
		o[n++] = (mode & 64) ? 1 : 0;
	return n;
}

/*
 * A segment toward stack @p to from the tuple @p i (as seen by @p to: l = its
 * side, r = the sender), with header fields and @p optlen option bytes.
 */
static struct rte_mbuf *segment(const struct tcp_conn_info *i, uint32_t seq, uint32_t ack,
				uint8_t flags, uint16_t wnd, const uint8_t *opts,
				unsigned int optlen, uint32_t payload, bool bad_csum)
{
	const unsigned int ipl = i->laddr.family == 4 ? 20 : 40;
	const unsigned int hl = ipl + 20 + optlen;
	/* the stack ignores URG: a script's URG marks the segment CE instead */
	const uint8_t ecn = (flags & RTE_TCP_URG_FLAG) ? 3 : 0;
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_tcp_hdr *th;
	uint8_t *p;

	if (m == NULL)
		return NULL;
	payload = RTE_MIN(payload, (uint32_t)rte_pktmbuf_tailroom(m) - hl);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + payload));
	memset(p, 0, hl + payload);
	for (uint32_t k = 0; k < payload; k++)
		p[hl + k] = fz_byte(seq + k, i->rport, i->lport);
	th = (struct rte_tcp_hdr *)(p + ipl);
	th->src_port = rte_cpu_to_be_16(i->rport);
	th->dst_port = rte_cpu_to_be_16(i->lport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((20 + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	if (optlen > 0)
		memcpy(th + 1, opts, optlen);
	if (ipl == 20) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;

		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->type_of_service = ecn;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(hl + payload));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		ip->src_addr = i->raddr.v4;
		ip->dst_addr = i->laddr.v4;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)p;

		ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)ecn << 20);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)(hl - ipl + payload));
		ip->proto = IPPROTO_TCP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, i->raddr.v6, 16);
		memcpy(ip->dst_addr, i->laddr.v6, 16);
		th->cksum = rte_ipv6_udptcp_cksum(ip, th);
	}
	if (bad_csum)
		th->cksum ^= 0x5a5a;
	return m;
}

/* A tuple toward stack @p to that no connection has: a listener's or nobody's. */
static void stranger(struct in *in, int to, struct tcp_conn_info *i)
{
	uint8_t b = u8(in);

	memset(i, 0, sizeof(*i));
	addr_of(to, b & 1, &i->laddr);
	addr_of(1 - to, b & 1, &i->raddr);
	i->lport = (b & 2) ? 80 : u16(in);
	i->rport = (uint16_t)(30000 + u8(in));
	i->rcv_nxt = u32(in);
	i->snd_una = i->snd_nxt = u32(in);
}

static void op_forge(struct in *in)
{
	struct tcp_conn_info conns[FZ_MAX_CONNS], i;
	int to = u8(in) & 1;
	uint32_t n = conns_of(to, conns);
	uint8_t pick = u8(in), flags = u8(in), sm = u8(in), am = u8(in);
	uint32_t seq, ack, payload;
	uint8_t opts[40];
	unsigned int optlen;
	uint16_t wnd;
	struct rte_mbuf *m;

	if (n == 0 || pick >= 0xe0)
		stranger(in, to, &i);
	else
		i = conns[pick % n];
	/* sequence number: around what the receiver expects, or anywhere */
	switch (sm & 3) {
	case 0:
		seq = i.rcv_nxt;
		break;
	case 1:
		seq = i.rcv_nxt + i.rcv_wnd;
		break;
	case 2:
		seq = i.rcv_nxt - 1;
		break;
	default:
		seq = u32(in);
		break;
	}
	seq += (uint32_t)(int32_t)(int16_t)u16(in) * ((sm & 4) ? 64u : 1u);
	switch (am & 3) {
	case 0:
		ack = i.snd_una;
		break;
	case 1:
		ack = i.snd_nxt;
		break;
	case 2:
		ack = i.snd_una + (i.snd_nxt - i.snd_una) / 2;
		break;
	default:
		ack = u32(in);
		break;
	}
	ack += (uint32_t)(int32_t)(int8_t)u8(in);
	wnd = (am & 4) ? 0 : u16(in);
	optlen = forge_options(in, opts, &i, to, flags);
	payload = (sm & 8) ? (uint32_t)u8(in) * 8 : (sm & 16) ? 1 : 0;
	m = segment(&i, seq, ack, flags, wnd, opts, optlen, payload, (am & 0xf0) == 0xf0);
	if (m != NULL)
		input(to, m);
}

/* Arbitrary TCP header bytes (and payload) behind a valid IP header. */
static void op_raw(struct in *in)
{
	struct tcp_conn_info conns[FZ_MAX_CONNS], i;
	int to = u8(in) & 1;
	uint32_t n = conns_of(to, conns);
	uint8_t pick = u8(in), len = u8(in) % 80;
	struct rte_mbuf *m;
	uint8_t *th;
	unsigned int ipl;

	if (n == 0 || pick >= 0xe0)
		stranger(in, to, &i);
	else
		i = conns[pick % n];
	m = segment(&i, 0, 0, 0, 0, NULL, 0, 0, false);
	if (m == NULL)
		return;
	ipl = i.laddr.family == 4 ? 20 : 40;
	if (rte_pktmbuf_append(m, len) == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	th = rte_pktmbuf_mtod_offset(m, uint8_t *, ipl);
	for (unsigned int k = 4; k < 20u + len; k++)
		th[k] = u8(in); /* ports kept: it reaches the connection */
	{
		/* whatever the header says, the payload is the stream's own */
		uint32_t seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 |
			       (uint32_t)th[6] << 8 | th[7];

		const unsigned int thl = (th[12] >> 4) * 4u;

		for (unsigned int k = RTE_MAX(thl, 20u); k < 20u + len; k++)
			th[k] = fz_byte(seq + k - thl, i.rport, i.lport);
	}
	if (ipl == 20) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);

		ip->total_length = rte_cpu_to_be_16((uint16_t)m->pkt_len);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		if (pick & 1) {
			((struct rte_tcp_hdr *)th)->cksum = 0;
			((struct rte_tcp_hdr *)th)->cksum =
				rte_ipv4_udptcp_cksum(ip, (struct rte_tcp_hdr *)th);
		}
	} else {
		struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);

		ip->payload_len = rte_cpu_to_be_16((uint16_t)(m->pkt_len - ipl));
		if (pick & 1) {
			((struct rte_tcp_hdr *)th)->cksum = 0;
			((struct rte_tcp_hdr *)th)->cksum =
				rte_ipv6_udptcp_cksum(ip, (struct rte_tcp_hdr *)th);
		}
	}
	if (pick & 2)
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	input(to, m);
}

/* An ICMP error at stack @p s quoting one of its segments (or garbage). */
static void op_icmp(struct in *in)
{
	struct tcp_conn_info conns[FZ_MAX_CONNS], i;
	int s = u8(in) & 1;
	uint32_t n = conns_of(s, conns), mtu, seq;
	uint8_t pick = u8(in), q[80] = {0};
	unsigned int len;

	if (n == 0)
		return;
	i = conns[pick % n];
	seq = i.snd_una + (uint32_t)(int32_t)(int8_t)u8(in) * ((pick & 0x80) ? 1000u : 1u);
	mtu = (pick & 0x40) ? 0 : (pick & 0x20) ? u16(in) : 68u + u8(in) * 6u;
	if (i.laddr.family == 4) {
		q[0] = (pick & 0x10) ? u8(in) : 0x45;
		q[9] = IPPROTO_TCP;
		memcpy(q + 12, &i.laddr.v4, 4);
		memcpy(q + 16, &i.raddr.v4, 4);
		len = 28;
	} else {
		q[0] = 0x60;
		q[6] = IPPROTO_TCP;
		memcpy(q + 8, i.laddr.v6, 16);
		memcpy(q + 24, i.raddr.v6, 16);
		len = 48;
	}
	{
		unsigned int ipl = i.laddr.family == 4 ? 20 : 40;
		uint16_t lp = rte_cpu_to_be_16(i.lport), rp = rte_cpu_to_be_16(i.rport);
		uint32_t sq = rte_cpu_to_be_32(seq);

		memcpy(q + ipl, &lp, 2);
		memcpy(q + ipl + 2, &rp, 2);
		memcpy(q + ipl + 4, &sq, 4);
	}
	if (pick & 0x08)
		len = u8(in) % sizeof(q);
	(void)tcp_icmp_error(W.st[s], q, len, mtu, W.now);
}

/* ---- the script ---- */

static struct slot *slot_of(struct in *in)
{
	struct slot *s = &W.slots[u8(in) % FZ_SLOTS];

	return s->c != NULL ? s : NULL;
}

static void op_connect(struct in *in)
{
	uint8_t b = u8(in);
	int from = b & 1, v6 = (b >> 1) & 1;
	struct tcp_addr la, ra;
	struct tcp_params p;
	struct slot *s;
	uint16_t rport;

	params_of(in, &p);
	s = slot_new(from, u8(in) & ~M_REFUSE);
	if (s == NULL)
		return;
	addr_of(from, v6, &la);
	addr_of(1 - from, v6, &ra);
	/* port 80: the peer's listener; 81: RST (or nobody, when dropped);
	 * 40000-40003: the peer's own local ports (simultaneous open) */
	rport = (b & 4) ? ((b & 32) ? (uint16_t)(40000 + (b >> 6)) : 81) : 80;
	s->c = tcp_connect(W.st[from], &la, &ra, rport, (b & 8) ? &p : NULL, &cbs, s, W.now);
	if ((b & 16) && s->c != NULL)
		tcp_shutdown(s->c); /* the FIN waits for the handshake */
}

static void op_link(struct in *in, uint8_t what)
{
	uint8_t b = u8(in);
	int to = b & 1;
	unsigned int k = 1 + (b >> 1) % 16;

	switch (what) {
	case 0:
		deliver(to, k);
		break;
	case 1: /* lose */
		while (k-- > 0 && W.n[to] > 0) {
			rte_pktmbuf_free(W.q[to][0]);
			memmove(&W.q[to][0], &W.q[to][1], sizeof(W.q[to][0]) * (W.n[to] - 1));
			W.n[to]--;
		}
		break;
	case 2: /* swap the first with the k-th */
		if (W.n[to] > k) {
			struct rte_mbuf *m = W.q[to][0];

			W.q[to][0] = W.q[to][k];
			W.q[to][k] = m;
		}
		break;
	default: /* duplicate the first */
		if (W.n[to] > 0 && W.n[to] < FZ_LINK_MAX) {
			struct rte_mbuf *c = rte_pktmbuf_copy(W.q[to][0], pool, 0, UINT32_MAX);

			if (c != NULL)
				W.q[to][W.n[to]++] = c;
		}
		break;
	}
}

static void op_user(struct in *in, uint8_t what)
{
	struct slot *s = slot_of(in);
	uint8_t b = u8(in);

	if (s == NULL)
		return;
	switch (what) {
	case 0:
		send_bytes(s, (uint32_t)b * 40);
		break;
	case 1: {
		take(s, tcp_recv(s->c, (uint32_t)b * 64));
		break;
	}
	case 2:
		tcp_shutdown(s->c);
		break;
	case 3:
		tcp_close(s->c);
		s->c = NULL;
		break;
	case 4:
		tcp_abort(s->c);
		s->c = NULL;
		break;
	case 5:
		tcp_set_timer(s->c, (b & 0x80) ? 0 : (uint64_t)b * 1000);
		break;
	default: {
		struct tcp_conn_info i;

		tcp_conn_get_info(s->c, &i);
		(void)tcp_send_space(s->c);
		(void)tcp_recv_queued(s->c);
		(void)tcp_recv_eof(s->c);
		s->mode = b;
		break;
	}
	}
}

static void op_listen(struct in *in)
{
	uint8_t b = u8(in);
	int s = b & 1, v6 = (b >> 1) & 1;

	if (W.l[s][v6] != NULL) {
		tcp_unlisten(W.l[s][v6]);
		W.l[s][v6] = NULL;
	} else {
		struct tcp_addr a;

		addr_of(s, v6, &a);
		if (b & 4)
			memset(&a.v6, 0, sizeof(a.v6)); /* the wildcard address */
		W.l[s][v6] = tcp_listen(W.st[s], &a, 80, &W.lp[s], &cbs, NULL);
	}
}

static void op_ports(struct in *in)
{
	uint8_t b = u8(in);
	uint16_t ports[4];
	unsigned int n = 1 + b % 4;

	for (unsigned int k = 0; k < n; k++)
		ports[k] = (uint16_t)(40000 + u8(in) % 8);
	(void)tcp_stack_set_ports(W.st[(b >> 2) & 1], ports, n);
}

/* take mbufs from the pool so that the stacks find it (almost) empty */
static void unhog(void)
{
	rte_pktmbuf_free_bulk(W.hog, W.nhog);
	W.nhog = 0;
}

static void op_hog(struct in *in)
{
	uint8_t b = u8(in);
	unsigned int avail = rte_mempool_avail_count(pool), keep = b % 16;

	if (W.nhog > 0) {
		unhog();
		return;
	}
	if (avail > keep && rte_pktmbuf_alloc_bulk(pool, W.hog, avail - keep) == 0)
		W.nhog = avail - keep;
}

/* states some connection was seen in (FZ_TCP_STATES=1 prints them per input) */
static uint32_t states_seen;

static void check(void)
{
	for (int s = 0; s < 2; s++) {
		struct tcp_conn_info conns[FZ_MAX_CONNS];
		uint32_t counts[TCP_STATE_MAX], sum = 0, cursor = 0, n = 0, k;

		tcp_state_counts(W.st[s], counts);
		for (int i = 0; i < TCP_STATE_MAX; i++) {
			sum += counts[i];
			if (counts[i] != 0)
				states_seen |= 1u << i;
		}
		while ((k = tcp_conns_dump(W.st[s], conns, FZ_MAX_CONNS, &cursor)) > 0)
			n += k;
		if (sum != n || counts[TCP_LISTEN] != 0) {
			fprintf(stderr, "stack %d: state counts add up to %u, %u connections\n", s,
				sum, n);
			abort();
		}
	}
}

static void world_create(struct in *in)
{
	tcp_output_fn outs[2] = {out0, out1};
	uint16_t ports[16];

	memset(&W, 0, sizeof(W));
	rte_srand(1);
	W.now = 1000000 + (uint64_t)u16(in) * 1000;
	W.linearize = (u8(in) & 1) == 0;
	for (int s = 0; s < 2; s++) {
		struct tcp_stack_conf conf = {
			.max_conns = FZ_MAX_CONNS,
			.pool = pool,
			.stats = &W.stats[s],
			.output = outs[s],
			.secret = secret,
			.now_us = W.now,
			.worker_id = (uint16_t)s,
		};

		W.st[s] = tcp_stack_create(&conf);
		if (W.st[s] == NULL)
			abort();
		params_of(in, &W.lp[s]);
		for (int v6 = 0; v6 < 2; v6++) {
			struct tcp_addr a;

			addr_of(s, v6, &a);
			W.l[s][v6] = tcp_listen(W.st[s], &a, 80, &W.lp[s], &cbs, NULL);
			if (W.l[s][v6] == NULL)
				abort();
		}
	}
	for (unsigned int k = 0; k < 16; k++)
		ports[k] = (uint16_t)(40000 + k);
	for (int s = 0; s < 2; s++)
		if (tcp_stack_set_ports(W.st[s], ports, 16) != 0)
			abort();
}

/* DPDK heap bytes in use: the stacks' tables, pools and listeners */
static size_t heap_in_use(void)
{
	size_t sum = 0;

	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(s, &st) == 0)
			sum += st.heap_allocsz_bytes;
	}
	return sum;
}

static void world_free(void)
{
	for (int to = 0; to < 2; to++)
		for (unsigned int k = 0; k < W.n[to]; k++)
			rte_pktmbuf_free(W.q[to][k]);
	unhog();
	tcp_stack_free(W.st[0]);
	tcp_stack_free(W.st[1]);
	for (unsigned int k = 0; k < FZ_SLOTS; k++)
		if (W.slots[k].c != NULL) {
			fprintf(stderr, "slot %u: the stack freed a connection without telling\n",
				k);
			abort();
		}
	if (rte_mempool_in_use_count(pool) != 0) {
		fprintf(stderr, "mbuf leak: %u in use\n", rte_mempool_in_use_count(pool));
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	test_eal_init();
	pool = rte_pktmbuf_pool_create("fz_tcp", FZ_MBUFS, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL)
		abort();
	/* the first stack registers the mbuf dynamic field, which stays: not a leak */
	world_create(&(struct in){NULL, 0, 0});
	world_free();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size, 0};
	size_t heap;

	if (size > 8192)
		return 0;
	heap = heap_in_use();
	world_create(&in);
	states_seen = 0;
	for (unsigned int ops = 0; ops < FZ_MAX_OPS && in.at < in.n; ops++) {
		uint8_t op = u8(&in);

		switch (op % 20) {
		case 0:
			op_connect(&in);
			break;
		case 1:
		case 2:
			op_link(&in, 0);
			break;
		case 3:
			flush();
			break;
		case 4: {
			uint8_t b = u8(&in);

			/* 1 us .. about 20 minutes */
			advance((uint64_t)(1 + (b & 7)) << ((b >> 3) % 28));
			break;
		}
		case 5:
		case 6:
		case 7:
			op_forge(&in);
			break;
		case 8:
			op_link(&in, op / 20 % 4);
			break;
		case 9:
			op_user(&in, op / 20 % 7);
			break;
		case 10:
			op_user(&in, 0);
			break;
		case 11:
			op_raw(&in);
			break;
		case 12:
			op_icmp(&in);
			break;
		case 13:
			op_listen(&in);
			break;
		case 14:
			op_ports(&in);
			break;
		case 15:
			op_hog(&in);
			break;
		case 16:
			W.next_mode = u8(&in);
			break;
		case 17:
			flush();
			advance(1000 + (uint64_t)u8(&in) * 1000);
			flush();
			break;
		default:
			op_user(&in, u8(&in) % 7);
			break;
		}
		check();
	}
	/* let it all play out: retransmissions, FINs, TIME_WAIT */
	unhog();
	for (int k = 0; k < 8; k++) {
		flush();
		advance(20000000);
	}
	flush();
	check();
	world_free();
	if (heap_in_use() != heap) {
		fprintf(stderr, "DPDK heap leak: %zu -> %zu bytes\n", heap, heap_in_use());
		abort();
	}
	if (getenv("FZ_TCP_STATES") != NULL) {
		printf("states:");
		for (int i = 0; i < TCP_STATE_MAX; i++)
			if (states_seen & (1u << i))
				printf(" %s", tcp_state_name((enum tcp_state)i));
		printf("\n");
	}
	return 0;
}
