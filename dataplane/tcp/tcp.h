/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcp: the per-worker userspace TCP stack. I/O-free: segments come in through
 * tcp_input(), segments to send leave through the stack's output callback
 * (the worker routes them with net_output4(); unit tests collect them), and
 * time moves only when the caller passes a clock (microseconds) to
 * tcp_input() / tcp_timer(). No locks, no heap on the fast path: connections
 * come from a per-stack mempool, buffers are the packets' own mbufs.
 *
 * Implements (partial where noted):
 *   RFC 9293  the state machine, incl. simultaneous open and close, RST
 *             validation, TIME_WAIT (2 MSL, reuse by a SYN with a higher
 *             sequence number or a newer timestamp, RFC 6191)
 *   RFC 6298  RTO from SRTT / RTTVAR, Karn's rule, exponential back-off
 *             (minimum RTO 200 ms as Linux does, not 1 s)
 *   RFC 7323  window scaling, timestamps, PAWS
 *   RFC 2018 / RFC 6675  SACK: blocks sent for out-of-order data, the
 *             sender's scoreboard and conservative loss recovery
 *   RFC 5681 / RFC 6582  slow start, congestion avoidance, NewReno recovery
 *             (peers without SACK); RFC 9438 CUBIC; selectable per listener
 *   RFC 3522 / RFC 4015  spurious fast retransmissions detected with the
 *             timestamps (Eifel) and the window reduction undone; DupThresh
 *             then rises to the reordering measured (at most 32 and below the
 *             segments in flight, back to 3 on RTO: an adaptive threshold as
 *             Linux's tcp_reordering, not RACK)
 *   RFC 3168  ECN, per tcp_params.ecn: negotiated on the SYN and SYN-ACK (not
 *             with SYN cookies), new data sent ECT(0), CE echoed with ECE
 *             until CWR, ECE answered by one window reduction per window
 *   RFC 8985  (partial) tail loss probes: with SACK and timestamps, 2 SRTT
 *             (10 ms floor; + 200 ms for a single segment) without an ACK
 *             resend the last segment (never new data), and an ACK echoing
 *             the probe's TSval counts as a repaired loss (timestamps in
 *             place of D-SACK); RACK loss detection is not implemented
 *   RFC 1122  delayed ACK (40 ms, every second full segment), keep-alive,
 *             zero-window probes (persist timer); RFC 896 Nagle (switchable)
 *   RFC 4987  SYN cookies when the SYN backlog is full (MSS from a table of 4,
 *             window scale and SACK-permitted kept in the timestamp)
 *   RFC 5961  challenge ACKs for in-window RST and SYN, ACK validation,
 *             rate-limited per stack
 *   RFC 6528  initial sequence numbers: 4 us clock + SipHash of the tuple
 *   RFC 6691 / RFC 1191 / RFC 8201  MSS option, path MTU from ICMP
 *             "fragmentation needed" / "packet too big" (tcp_icmp_mtu())
 *   IPv4 and IPv6.
 * Not implemented: RACK, TCP Fast Open, AccECN, urgent data (URG is ignored,
 * RFC 6093 allows that), MD5/TCP-AO options, TSO/LRO.
 *
 * Buffers: a connection's receive queue and send queue are lists of mbufs
 * (m->next links, one segment each). Received payload stays in the mbuf it
 * arrived in (its headers cut off with rte_pktmbuf_adj), unless it is small
 * and copied into the queue's tail (Memory, below); data passed to
 * tcp_send() is kept as it is and transmitted through indirect mbufs attached
 * to it, so a retransmission copies nothing either. tcp_recv() hands the
 * received mbufs themselves to the caller, ready to be passed to tcp_send()
 * of another connection (tcp_proxy does exactly that).
 *
 * Memory: the mbufs come from the port's RX pool, which the whole node
 * receives into, so the stack bounds what it holds by what each mbuf costs
 * the pool (header + whole data room: "truesize"), not by payload bytes.
 *   - A segment smaller than half its buffer is copied into the tail room of
 *     the last mbuf of the receive or send queue when it fits (Linux's
 *     tcp_collapse), and its mbuf goes back to the pool at once: a flood of
 *     1-byte segments costs about one mbuf per 2 KB. Segments that fill half
 *     their buffer or more (full-sized ones in 2 KB mbufs) are never copied.
 *   - Per connection, the receive side (in order + out of order) holds at
 *     most 2 x rcvbuf + 16 KB of memory and 32768 mbufs, the send queue at
 *     most 2 x sndbuf + 16 KB (tcp_send_space() says 0 beyond).
 *   - Per stack, all queues together hold at most tcp_stack_conf.mem_limit.
 *     Above the low-water mark (3/4 of it) no announced window opens further
 *     (the window is computed from what memory remains, never moving the
 *     right edge already announced back, RFC 9293 3.8.6.2.2 / RFC 7323 2.4).
 *   - Received data that would exceed a limit is refused and counted: out
 *     of order first (drop_tcp_ooo_memory: it may fill the stack only up to
 *     the low-water mark; the out-of-order queue is pruned from its highest
 *     sequence number to make room for lower data, as Linux's
 *     tcp_prune_ofo_queue), then in order (drop_tcp_rcv_memory). The peer
 *     retransmits once the window opens again.
 * Data the user queues with tcp_send() and which did not come out of
 * tcp_recv() (none in tcp_proxy) is bounded per connection only.
 *
 * Threads: a struct tcp_stack and its connections belong to one worker lcore.
 * Callbacks run on that lcore, from inside tcp_input(), tcp_timer() or an API
 * call; a callback may call any API function on any connection of the stack,
 * including closing the connection it was called for. The counters may be
 * read by other threads (stats block of the worker, relaxed), and so may the
 * connection counts by state (tcp_state_counts()).
 */
#ifndef MESHDP_TCP_H
#define MESHDP_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "../stats/stats.h"

struct tcp_stack;
struct tcp_conn;
struct tcp_listener;

/** Connection states (RFC 9293 3.3.2). */
#define TCP_STATES(X)                   \
	X(CLOSED, "closed")             \
	X(LISTEN, "listen")             \
	X(SYN_SENT, "syn_sent")         \
	X(SYN_RECEIVED, "syn_received") \
	X(ESTABLISHED, "established")   \
	X(FIN_WAIT_1, "fin_wait_1")     \
	X(FIN_WAIT_2, "fin_wait_2")     \
	X(CLOSE_WAIT, "close_wait")     \
	X(CLOSING, "closing")           \
	X(LAST_ACK, "last_ack")         \
	X(TIME_WAIT, "time_wait")

enum tcp_state {
#define TCP_STATE_ENUM(e, s) TCP_##e,
	TCP_STATES(TCP_STATE_ENUM)
#undef TCP_STATE_ENUM
		TCP_STATE_MAX
};

/** Congestion control algorithms. */
enum tcp_cc_algo {
	TCP_CC_NEWRENO = 0,
	TCP_CC_CUBIC = 1,
};

/** Why a connection ended (the closed callback's @p reason). */
enum tcp_close_reason {
	TCP_CLOSE_NORMAL = 0,  /* both FINs exchanged and acknowledged */
	TCP_CLOSE_RESET,       /* the peer sent RST */
	TCP_CLOSE_REFUSED,     /* RST in answer to our SYN */
	TCP_CLOSE_TIMEOUT,     /* retransmissions exhausted (or connect timeout) */
	TCP_CLOSE_KEEPALIVE,   /* keep-alive probes unanswered */
	TCP_CLOSE_ABORTED,     /* tcp_abort() or stack shutdown */
	TCP_CLOSE_UNREACHABLE, /* ICMP unreachable during the handshake */
};

/** An address of either family, network byte order. */
struct tcp_addr {
	uint8_t family; /* 4 or 6 */
	union {
		uint32_t v4;
		uint8_t v6[16];
	};
};

/** Per-listener (or per-connect) choices. Zero fields take the defaults. */
struct tcp_params {
	enum tcp_cc_algo cc;
	bool nodelay;		    /* Nagle off */
	uint32_t rcvbuf;	    /* receive window, bytes (default 256 KiB) */
	uint32_t sndbuf;	    /* send buffer limit, bytes (default 256 KiB) */
	uint32_t keepalive_idle_ms; /* 0: no keep-alive */
	uint32_t keepalive_intvl_ms;
	uint32_t keepalive_probes;
	uint32_t syn_backlog; /* half-open connections before SYN cookies (default 1024) */
	uint32_t syn_retries; /* active open: SYN retransmissions (default 5) */
	bool ecn;	      /* RFC 3168: ask for ECN (active open), accept it (listener) */
};

/**
 * What the stack tells its user. Every callback is optional except closed.
 * @p arg is the connection's user argument (tcp_set_arg(), or the listener's
 * argument for a connection it accepted until the accepted callback sets one).
 */
struct tcp_callbacks {
	/** A passive open completed. Return 0 to keep the connection, non-zero to reset it. */
	int (*accepted)(struct tcp_conn *c, void *arg);
	/** An active open completed (the connection is established). */
	void (*connected)(struct tcp_conn *c, void *arg);
	/** In-order data arrived, or the peer's FIN (tcp_recv_eof() then is true). */
	void (*readable)(struct tcp_conn *c, void *arg);
	/** The send buffer, full before, has room again. */
	void (*writable)(struct tcp_conn *c, void *arg);
	/** The user timer set with tcp_set_timer() fired. */
	void (*timer)(struct tcp_conn *c, void *arg);
	/**
	 * The connection is over for the user: both sides finished (TIME_WAIT
	 * or CLOSED, the rest is the stack's), a RST, a timeout. Not called
	 * after tcp_close() or tcp_abort(), nor for a passive open that never
	 * completed. The handle must not be used after this returns.
	 */
	void (*closed)(struct tcp_conn *c, void *arg, enum tcp_close_reason reason);
};

/** Transmit one IP packet (data at the IP header, checksums done). Owns @p m. */
typedef void (*tcp_output_fn)(void *ctx, struct rte_mbuf *m);

/** Stack creation parameters. */
struct tcp_stack_conf {
	unsigned int socket_id;
	uint16_t worker_id;	  /* names the stack's tables */
	uint32_t max_conns;	  /* connections incl. TIME_WAIT and half-open */
	struct rte_mempool *pool; /* mbufs for headers, ACKs, indirect clones */
	/* bytes of buffer memory (mbuf header + data room per mbuf held, see
	 * "Memory" above) the connections' queues may hold together; 0: half of
	 * @p pool. Workers sharing a pool pass their share. */
	uint64_t mem_limit;
	struct stats_block *stats; /* the worker's counters (tcp_* in counters.def) */
	tcp_output_fn output;
	void *output_ctx;
	/* active opens take a local port only when this says yes (NULL: any);
	 * the worker uses it so that replies are steered to it */
	bool (*port_ok)(void *ctx, const struct tcp_addr *laddr, uint16_t lport,
			const struct tcp_addr *raddr, uint16_t rport);
	void *port_ok_ctx;
	const uint8_t *secret; /* 16 bytes shared by all stacks (ISNs, cookies); NULL: random */
	uint64_t now_us;       /* the clock at creation */
};

/**
 * Create a stack. Control thread (or a test). @return the stack or NULL with
 * rte_errno set.
 */
struct tcp_stack *tcp_stack_create(const struct tcp_stack_conf *conf);

/** Abort every connection (closed callbacks run with TCP_CLOSE_ABORTED) and free the stack. */
void tcp_stack_free(struct tcp_stack *ts);

/**
 * A received segment for this stack: @p m data at the IP header (IPv4 or
 * IPv6, header validated by the caller, TCP checksum not yet checked).
 * @return true when the stack took @p m (processed, queued or freed and
 * counted); false when no connection or listener matches, @p m untouched
 * (the caller decides; tcp_reset_reply() answers it with a RST).
 */
bool tcp_input(struct tcp_stack *ts, struct rte_mbuf *m, uint64_t now_us);

/** Answer a segment nobody takes with RST (RFC 9293 3.10.7.1). Owns @p m. */
void tcp_reset_reply(struct tcp_stack *ts, struct rte_mbuf *m);

/**
 * An ICMP error about a segment we sent: @p quoted points at the quoted IP
 * header (with at least 8 bytes of TCP header). @p mtu > 0: fragmentation
 * needed / packet too big (path MTU); 0: unreachable (aborts a connection in
 * SYN_SENT, RFC 1122 4.2.3.9 soft errors otherwise). @return true when a
 * connection matched.
 */
bool tcp_icmp_error(struct tcp_stack *ts, const void *quoted, uint32_t len, uint32_t mtu,
		    uint64_t now_us);

/** Run the timers due at @p now_us (call every millisecond or so). */
void tcp_timer(struct tcp_stack *ts, uint64_t now_us);

/**
 * Listen on @p local (address and port; address 0 / :: = any of the stack's).
 * @return the listener or NULL with rte_errno (EEXIST, ENOMEM).
 */
struct tcp_listener *tcp_listen(struct tcp_stack *ts, const struct tcp_addr *addr, uint16_t port,
				const struct tcp_params *params, const struct tcp_callbacks *cb,
				void *arg);

/** Stop accepting; established connections of the listener live on. */
void tcp_unlisten(struct tcp_listener *l);

/**
 * Active open from @p laddr to @p raddr:@p rport. The local port comes from
 * the stack's pool (tcp_stack_set_ports()), so that replies are steered to
 * this worker. @return the connection (SYN sent; the connected or closed
 * callback follows) or NULL with rte_errno (EADDRNOTAVAIL: no free port,
 * ENOMEM).
 */
struct tcp_conn *tcp_connect(struct tcp_stack *ts, const struct tcp_addr *laddr,
			     const struct tcp_addr *raddr, uint16_t rport,
			     const struct tcp_params *params, const struct tcp_callbacks *cb,
			     void *arg, uint64_t now_us);

/**
 * The local ports tcp_connect() may use, host order (a ring is built from
 * them; ports in use are skipped). Typically the ports of an ephemeral range
 * whose replies the worker's steering gives to this worker.
 * @return 0 or -ENOMEM.
 */
int tcp_stack_set_ports(struct tcp_stack *ts, const uint16_t *ports, uint32_t n);

/** Set the user argument passed to the callbacks. */
void tcp_set_arg(struct tcp_conn *c, void *arg);

/**
 * Queue @p m (an mbuf chain; pkt_len bytes of payload) for sending. The stack
 * owns @p m afterwards in every case, and may write into the tail room of
 * the queue's last buffer (small data is copied there), so @p m must not
 * share its buffers with anything the caller keeps. @return bytes accepted (pkt_len) or
 * -EPIPE (connection shut down for writing: @p m freed) ; the send buffer
 * limit is soft: a call is accepted whenever tcp_send_space() > 0.
 */
int tcp_send(struct tcp_conn *c, struct rte_mbuf *m);

/** Bytes tcp_send() may still queue before the buffer is full (0: wait for writable). */
uint32_t tcp_send_space(const struct tcp_conn *c);

/**
 * Take up to about @p max bytes of in-order received data: whole received
 * segments, at least one when any is queued (so it may return a little
 * more than @p max). @return an mbuf chain (pkt_len, nb_segs valid) or NULL.
 * Taking data opens the receive window.
 */
struct rte_mbuf *tcp_recv(struct tcp_conn *c, uint32_t max);

/** Bytes waiting in the receive queue. */
uint32_t tcp_recv_queued(const struct tcp_conn *c);

/** True once the peer's FIN arrived and every byte before it was taken. */
bool tcp_recv_eof(const struct tcp_conn *c);

/** Half-close: FIN after the queued data. Reading goes on. */
void tcp_shutdown(struct tcp_conn *c);

/**
 * Close: FIN after the queued data; the stack finishes the connection
 * (retransmissions, TIME_WAIT) on its own. Received data not taken, or data
 * that arrives afterwards, gets a RST (RFC 1122 4.2.2.13). No callback runs
 * after this and the handle is dead for the user, as after tcp_abort().
 */
void tcp_close(struct tcp_conn *c);

/** Send RST and free the connection now. No callback runs; the handle is dead. */
void tcp_abort(struct tcp_conn *c);

/** One-shot user timer @p delay_us from now (replaces the previous one); 0 cancels. */
void tcp_set_timer(struct tcp_conn *c, uint64_t delay_us);

/** A snapshot of a connection, for meshctl tcp conns and tests. */
struct tcp_conn_info {
	struct tcp_addr laddr, raddr;
	uint16_t lport, rport; /* host order */
	enum tcp_state state;
	enum tcp_cc_algo cc;
	uint32_t snd_una, snd_nxt, snd_wnd, rcv_nxt, rcv_wnd;
	uint32_t cwnd, ssthresh, srtt_us, rto_us, mss;
	uint32_t send_queued, recv_queued, ooo_queued; /* bytes */
	uint32_t send_mem, recv_mem, ooo_mem;	       /* memory of those queues (truesize) */
	uint32_t send_segs, recv_segs, ooo_segs;       /* mbufs in them */
	uint32_t iss, irs;			       /* initial sequence numbers */
	uint32_t retransmits; /* segments retransmitted on this connection */
	uint8_t snd_wscale, rcv_wscale;
	bool sack, timestamps, ecn, in_recovery;
};

/** Fill @p info for @p c. */
void tcp_conn_get_info(const struct tcp_conn *c, struct tcp_conn_info *info);

/**
 * Up to @p max connections (all states but LISTEN), from position @p *cursor
 * on (0 to start; updated). @return how many were written.
 */
uint32_t tcp_conns_dump(struct tcp_stack *ts, struct tcp_conn_info *out, uint32_t max,
			uint32_t *cursor);

/**
 * Connections in each state, into @p counts[TCP_STATE_MAX]. Any thread: the
 * worker owning the stack is the only writer and stores each count with a
 * relaxed atomic store; here each one is read with a relaxed atomic load.
 * Each count is exact on its own; the set is not one instant's (a connection
 * changing state between two loads may be seen in both states or in neither).
 */
void tcp_state_counts(const struct tcp_stack *ts, uint32_t *counts);

/** The name of @p s ("established", ...). */
const char *tcp_state_name(enum tcp_state s);

/** The stack's buffer memory (bytes, truesize): see "Memory" at the top. */
struct tcp_mem_info {
	uint64_t used;	   /* held now by the receive, out-of-order and send queues */
	uint64_t peak;	   /* the most ever held */
	uint64_t limit;	   /* received data that would take more is dropped */
	uint64_t pressure; /* the low-water mark: above it no window opens further */
};

/** Fill @p info. Any thread: the owning worker stores with relaxed atomics. */
void tcp_mem_get(const struct tcp_stack *ts, struct tcp_mem_info *info);

/**
 * Bytes of memory a connection slot costs without buffers: the heap that the
 * connection pool and table took at tcp_stack_create(), divided by max_conns.
 */
size_t tcp_conn_footprint(const struct tcp_stack *ts);

#endif
