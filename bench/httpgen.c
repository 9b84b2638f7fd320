/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-httpgen: HTTP/1.1 keep-alive clients and their backend, both on
 * meshdp's own TCP stack (dataplane/tcp) over memif, for bench/run.sh
 * scenario (m): the HTTP proxy alone, no kernel in the path.
 *
 *   meshdp-httpgen [EAL args] -- --socket CLIENT.sock --socket BACKEND.sock \
 *       --dst-mac MESHDP_P0_MAC --client-ip 10.71.1.2 --connect 10.71.1.1:8080 \
 *       --backend-ip 10.71.2.11 [--backend-port 80] [--conns 64] [--duration 10] \
 *       [--warmup 2] [--hold S] [--json]
 *
 * Two memif ports (client role by default), one busy lcore, one TCP stack.
 * On the first port the generator is the client address: --conns connections
 * to meshdp's http listener at --connect, each sending `GET / HTTP/1.1` (Host:
 * the listener's address, as wrk sends it) as soon as the previous response has
 * ended: closed-loop keep-alive clients, one request in flight per connection.
 * On the second port it is the backend address: a listener on --backend-port
 * answers every request head (up to the blank line; the proxy sends no bodies
 * here) with a fixed response, a 19-byte body with Content-Length, as the (h)
 * scenario's nginx does. Frames leave with the peer's MAC: --dst-mac on the
 * first port, the sender of the frames received on the second (meshdp ARPs for
 * the backend first; the generator answers ARP for its two addresses).
 *
 * Measured in the window (after --warmup): responses completed, their status
 * (2xx or not), latency from the request's send to the response's last byte
 * (TSC, a log-linear histogram), connections that closed or failed (each is
 * reopened), segments retransmitted, frames the TX rings refused, and the
 * generator's busy share (iterations that received a frame): near 100 % the
 * generator, not the proxy, was the limit. "window open" and "window closed"
 * on stderr mark the window for bench/run.sh's counter samples.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/stats/stats.h"
#include "dataplane/tcp/tcp.h"
#include "gen/gen_memif.h"

#define HG_WHO		 "meshdp-httpgen"
#define HG_BURST	 32
#define HG_POOL_MBUFS	 32767
#define HG_POOL_CACHE	 256
#define HG_MAX_CONNS	 4096
#define HG_BACKEND_MAX	 (2 * HG_MAX_CONNS)
#define HG_PORT_FIRST	 10000 /* the clients' local ports */
#define HG_PORT_COUNT	 50000
#define HG_LINE_MAX	 128
#define HG_TX_RETRIES	 1000
#define HG_TIMER_US	 1000
#define HG_DRAIN_S	 0.5 /* after the window: let the requests in flight end */
#define HG_RESPONSE_BODY "hello from mdph-b1\n"

struct hg_opts {
	char sockets[GEN_MAX_PORTS][108];
	unsigned int n_sockets;
	char memif_args[128];
	bool server;
	struct rte_ether_addr dst_mac;
	bool have_dst_mac;
	uint32_t client_ip, backend_ip, connect_ip; /* network order */
	uint16_t connect_port, backend_port;	    /* host order */
	uint32_t conns;
	double duration, warmup, link_timeout, hold;
	bool json;
};

/* A client connection's response parser: the head line by line, then the body. */
struct hg_client {
	struct tcp_conn *c; /* NULL: to be (re)opened */
	uint64_t sent_tsc;  /* 0: no request in flight */
	bool up;	    /* connected */
	bool in_body;
	bool status_seen;
	bool cl_seen;
	uint16_t line_len;
	uint16_t status;
	uint64_t body_left;
	char line[HG_LINE_MAX];
};

/* A backend connection: where it is in the "\r\n\r\n" that ends a request head. */
struct hg_backend {
	struct tcp_conn *c;
	uint8_t crlf; /* bytes of "\r\n\r\n" matched */
	int32_t next_free;
};

struct hg_counters {
	uint64_t responses; /* completed in the window */
	uint64_t non_2xx;   /* of those */
	uint64_t responses_all;
	uint64_t closed; /* client connections that ended (reset, FIN, timeout) */
	uint64_t connect_failed;
	uint64_t parse_errors; /* responses the client could not read */
	uint64_t backend_requests;
	uint64_t tx_refused; /* frames the TX ring did not take, dropped */
	uint64_t rx_foreign; /* frames neither ARP for us nor IPv4 */
	uint64_t no_conn;    /* segments no connection took (answered with RST) */
	uint64_t arp_replies;
};

struct hg {
	const struct hg_opts *o;
	struct gen_port ports[GEN_MAX_PORTS];
	struct rte_ether_addr peer_mac[GEN_MAX_PORTS];
	bool peer_known[GEN_MAX_PORTS];
	struct rte_mbuf *tx[GEN_MAX_PORTS][HG_BURST];
	uint16_t n_tx[GEN_MAX_PORTS];
	struct rte_mempool *pool;
	struct tcp_stack *ts;
	uint64_t hz;
	uint64_t now_tsc;
	bool measuring; /* inside the window */
	bool stopping;	/* the window has closed: no new requests */
	struct hg_client *clients;
	struct hg_backend backends[HG_BACKEND_MAX];
	int32_t backend_free;
	struct hg_counters c;
	struct gen_hist latency;
	uint64_t window_cycles, busy_cycles;
};

static struct stats_block hg_stats;
static struct hg G;
static char hg_request[128];
static uint32_t hg_request_len;
static const char hg_response[] = "HTTP/1.1 200 OK\r\n"
				  "Content-Type: text/plain\r\n"
				  "Content-Length: 19\r\n"
				  "\r\n" HG_RESPONSE_BODY;

static uint64_t hg_us(const struct hg *g, uint64_t tsc)
{
	return tsc / (g->hz / 1000000);
}

/* ---- frames ---- */

static void hg_flush(struct hg *g, unsigned int p)
{
	uint16_t done = 0;

	for (unsigned int tries = 0; done < g->n_tx[p] && tries < HG_TX_RETRIES; tries++)
		done += rte_eth_tx_burst(g->ports[p].id, 0, g->tx[p] + done,
					 (uint16_t)(g->n_tx[p] - done));
	if (done < g->n_tx[p]) {
		g->c.tx_refused += g->n_tx[p] - done;
		rte_pktmbuf_free_bulk(g->tx[p] + done, g->n_tx[p] - done);
	}
	g->n_tx[p] = 0;
}

/* The stack's output: an IP packet from one of our two addresses, to the port that has it. */
static void hg_output(void *ctx, struct rte_mbuf *m)
{
	struct hg *g = ctx;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const unsigned int p = ip->src_addr == g->o->client_ip ? 0 : 1;
	struct rte_ether_hdr *eth;

	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth));
	if (unlikely(eth == NULL || !g->peer_known[p])) {
		g->c.tx_refused++;
		rte_pktmbuf_free(m);
		return;
	}
	rte_ether_addr_copy(&g->peer_mac[p], &eth->dst_addr);
	rte_ether_addr_copy(&g->ports[p].mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	g->tx[p][g->n_tx[p]++] = m;
	if (g->n_tx[p] == HG_BURST)
		hg_flush(g, p);
}

/* @return frames received on port @p p. */
static uint16_t hg_rx(struct hg *g, unsigned int p)
{
	struct rte_mbuf *pkts[HG_BURST];
	const uint16_t n = rte_eth_rx_burst(g->ports[p].id, 0, pkts, HG_BURST);
	const uint64_t now_us = hg_us(g, g->now_tsc);

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

		if (m->data_len < sizeof(*eth) + sizeof(struct rte_ipv4_hdr) ||
		    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
			if (!gen_memif_arp(&g->ports[p], m, &g->c.arp_replies)) {
				g->c.rx_foreign++;
				rte_pktmbuf_free(m);
			}
			continue;
		}
		if (unlikely(!g->peer_known[p])) {
			rte_ether_addr_copy(&eth->src_addr, &g->peer_mac[p]);
			g->peer_known[p] = true;
		}
		rte_pktmbuf_adj(m, sizeof(*eth));
		if (!tcp_input(g->ts, m, now_us)) {
			g->c.no_conn++;
			tcp_reset_reply(g->ts, m);
		}
	}
	return n;
}

/* ---- clients ---- */

static const struct tcp_callbacks hg_client_cb;

static void hg_client_send(struct hg *g, struct hg_client *cl)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g->pool);
	char *p;

	if (m == NULL || (p = rte_pktmbuf_append(m, (uint16_t)hg_request_len)) == NULL) {
		rte_pktmbuf_free(m);
		return; /* retried by the main loop: sent_tsc stays 0 */
	}
	memcpy(p, hg_request, hg_request_len);
	cl->sent_tsc = rte_rdtsc();
	if (tcp_send(cl->c, m) < 0)
		cl->sent_tsc = 0;
}

static void hg_client_done(struct hg *g, struct hg_client *cl)
{
	const uint64_t t = rte_rdtsc();

	g->c.responses_all++;
	if (g->measuring) {
		g->c.responses++;
		if (cl->status < 200 || cl->status > 299)
			g->c.non_2xx++;
		gen_hist_record(&g->latency, t - cl->sent_tsc);
	}
	cl->sent_tsc = 0;
	cl->in_body = cl->status_seen = cl->cl_seen = false;
	cl->line_len = 0;
	cl->body_left = 0;
	if (!g->stopping)
		hg_client_send(g, cl);
}

/* One line of the response head (without its CRLF). @return 0, 1 at the blank line, -1 bad. */
static int hg_client_line(struct hg_client *cl)
{
	const char *l = cl->line;
	const uint16_t n = cl->line_len;

	if (n == 0)
		return cl->status_seen && cl->cl_seen ? 1 : -1;
	if (!cl->status_seen) {
		if (n < 12 || strncmp(l, "HTTP/1.1 ", 9) != 0)
			return -1;
		cl->status = (uint16_t)((l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0'));
		cl->status_seen = true;
		return 0;
	}
	if (n > 15 && strncasecmp(l, "content-length:", 15) == 0) {
		cl->body_left = strtoull(l + 15, NULL, 10);
		cl->cl_seen = true;
	}
	return 0;
}

/* Feed @p n received bytes to the parser of @p cl. @return -1 on a response it cannot read. */
static int hg_client_bytes(struct hg *g, struct hg_client *cl, const char *p, uint32_t n)
{
	while (n > 0) {
		if (cl->in_body) {
			const uint64_t k = RTE_MIN((uint64_t)n, cl->body_left);

			cl->body_left -= k;
			p += k;
			n -= (uint32_t)k;
			if (cl->body_left == 0)
				hg_client_done(g, cl);
			continue;
		}
		if (cl->sent_tsc == 0)
			return -1; /* bytes nobody asked for */
		if (*p == '\n') {
			int r;

			if (cl->line_len > 0 && cl->line[cl->line_len - 1] == '\r')
				cl->line_len--;
			r = hg_client_line(cl);
			cl->line_len = 0;
			if (r < 0)
				return -1;
			if (r == 1) {
				cl->in_body = true;
				if (cl->body_left == 0)
					hg_client_done(g, cl);
			}
		} else if (cl->line_len < HG_LINE_MAX) {
			cl->line[cl->line_len++] = *p;
		}
		p++;
		n--;
	}
	return 0;
}

static void hg_client_reset(struct hg_client *cl)
{
	memset(cl, 0, sizeof(*cl));
}

static void hg_client_connected(struct tcp_conn *c, void *arg)
{
	struct hg_client *cl = arg;

	(void)c;
	cl->up = true;
	hg_client_send(&G, cl);
}

static void hg_client_readable(struct tcp_conn *c, void *arg)
{
	struct hg_client *cl = arg;
	struct rte_mbuf *m;

	while ((m = tcp_recv(c, UINT32_MAX)) != NULL) {
		int bad = 0;

		for (struct rte_mbuf *s = m; s != NULL && bad == 0; s = s->next)
			bad = hg_client_bytes(&G, cl, rte_pktmbuf_mtod(s, const char *),
					      s->data_len);
		rte_pktmbuf_free(m);
		if (bad != 0) {
			G.c.parse_errors++;
			tcp_abort(c);
			hg_client_reset(cl);
			return;
		}
	}
	if (tcp_recv_eof(c)) {
		G.c.closed++;
		tcp_close(c);
		hg_client_reset(cl);
	}
}

static void hg_client_closed(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	struct hg_client *cl = arg;

	(void)c;
	if (reason == TCP_CLOSE_REFUSED || reason == TCP_CLOSE_TIMEOUT ||
	    reason == TCP_CLOSE_UNREACHABLE)
		G.c.connect_failed++;
	else
		G.c.closed++;
	hg_client_reset(cl);
}

static const struct tcp_callbacks hg_client_cb = {
	.connected = hg_client_connected,
	.readable = hg_client_readable,
	.closed = hg_client_closed,
};

/* Open those of the first @p n connections that have none (at start, after a close). */
static void hg_clients_open(struct hg *g, uint32_t n)
{
	const struct tcp_addr laddr = {.family = 4, .v4 = g->o->client_ip};
	const struct tcp_addr raddr = {.family = 4, .v4 = g->o->connect_ip};
	const struct tcp_params params = {.nodelay = true};

	for (uint32_t i = 0; i < n; i++) {
		struct hg_client *cl = &g->clients[i];

		if (cl->c == NULL) {
			cl->c = tcp_connect(g->ts, &laddr, &raddr, g->o->connect_port, &params,
					    &hg_client_cb, cl, hg_us(g, g->now_tsc));
			if (cl->c == NULL)
				g->c.connect_failed++;
		} else if (cl->up && cl->sent_tsc == 0 && !g->stopping) {
			hg_client_send(g, cl);
		}
	}
}

/* ---- backend ---- */

static void hg_backend_readable(struct tcp_conn *c, void *arg)
{
	static const char end[4] = {'\r', '\n', '\r', '\n'};
	struct hg_backend *b = arg;
	struct rte_mbuf *m;
	uint32_t heads = 0;

	while ((m = tcp_recv(c, UINT32_MAX)) != NULL) {
		for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
			const char *p = rte_pktmbuf_mtod(s, const char *);

			for (uint16_t i = 0; i < s->data_len; i++) {
				if (p[i] == end[b->crlf]) {
					if (++b->crlf == 4) {
						heads++;
						b->crlf = 0;
					}
				} else {
					b->crlf = p[i] == '\r' ? 1 : 0;
				}
			}
		}
		rte_pktmbuf_free(m);
	}
	G.c.backend_requests += heads;
	while (heads > 0) {
		const uint32_t per = sizeof(hg_response) - 1;
		const uint32_t k = RTE_MIN(heads, (uint32_t)(RTE_MBUF_DEFAULT_DATAROOM / per));
		struct rte_mbuf *r = rte_pktmbuf_alloc(G.pool);
		char *p;

		if (r == NULL || (p = rte_pktmbuf_append(r, (uint16_t)(k * per))) == NULL) {
			rte_pktmbuf_free(r);
			break;
		}
		for (uint32_t i = 0; i < k; i++)
			memcpy(p + i * per, hg_response, per);
		if (tcp_send(c, r) < 0)
			break;
		heads -= k;
	}
	if (tcp_recv_eof(c)) {
		tcp_close(c);
		b->c = NULL;
		b->next_free = G.backend_free;
		G.backend_free = (int32_t)(b - G.backends);
	}
}

static void hg_backend_closed(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	struct hg_backend *b = arg;

	(void)c;
	(void)reason;
	b->c = NULL;
	b->next_free = G.backend_free;
	G.backend_free = (int32_t)(b - G.backends);
}

static int hg_backend_accepted(struct tcp_conn *c, void *arg)
{
	struct hg_backend *b;

	(void)arg;
	if (G.backend_free < 0)
		return -1;
	b = &G.backends[G.backend_free];
	G.backend_free = b->next_free;
	b->c = c;
	b->crlf = 0;
	tcp_set_arg(c, b);
	return 0;
}

static const struct tcp_callbacks hg_backend_cb = {
	.accepted = hg_backend_accepted,
	.readable = hg_backend_readable,
	.closed = hg_backend_closed,
};

/* ---- options, loop, report ---- */

static void hg_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL args] -- --socket PATH --socket PATH --dst-mac MAC\n"
		"       --client-ip IP --connect IP:PORT --backend-ip IP [options]\n"
		"  --socket PATH      memif socket: the first for the clients, the second for\n"
		"                     the backend\n"
		"  --role R           memif role: client (default) or server\n"
		"  --memif-args STR   extra net_memif devargs\n"
		"  --dst-mac MAC      the proxy's MAC on the clients' port\n"
		"  --client-ip IP     the clients' address (first port)\n"
		"  --connect IP:PORT  the proxy's http listener\n"
		"  --backend-ip IP    the backend's address (second port)\n"
		"  --backend-port N   the backend's port (80)\n"
		"  --conns N          client connections, one request in flight each (64)\n"
		"  --duration S       measured window (10)\n"
		"  --warmup S         before the window (2)\n"
		"  --link-timeout S   wait for the memif links (30)\n"
		"  --hold S           keep the links up S s after the report, or until SIGTERM\n"
		"  --json             one JSON object on stdout\n",
		prog);
}

static int hg_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*ip = a.s_addr;
	return 0;
}

static int hg_double(const char *s, double lo, double hi, double *v)
{
	char *end;

	*v = strtod(s, &end);
	return *end != '\0' || *v < lo || *v > hi ? -1 : 0;
}

static int hg_parse(int argc, char **argv, struct hg_opts *o)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"role", required_argument, NULL, 'r'},
		{"memif-args", required_argument, NULL, 'a'},
		{"dst-mac", required_argument, NULL, 'm'},
		{"client-ip", required_argument, NULL, 'c'},
		{"connect", required_argument, NULL, 'C'},
		{"backend-ip", required_argument, NULL, 'b'},
		{"backend-port", required_argument, NULL, 'B'},
		{"conns", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"warmup", required_argument, NULL, 'w'},
		{"link-timeout", required_argument, NULL, 'l'},
		{"hold", required_argument, NULL, 'H'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	bool have_client = false, have_connect = false, have_backend = false;
	int ch;

	memset(o, 0, sizeof(*o));
	o->backend_port = 80;
	o->conns = 64;
	o->duration = 10;
	o->warmup = 2;
	o->link_timeout = 30;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *colon;
		unsigned long v;

		switch (ch) {
		case 's':
			if (o->n_sockets == GEN_MAX_PORTS ||
			    strlen(optarg) >= sizeof(o->sockets[0]))
				return -1;
			strcpy(o->sockets[o->n_sockets++], optarg);
			break;
		case 'r':
			if (strcmp(optarg, "server") != 0 && strcmp(optarg, "client") != 0)
				return -1;
			o->server = strcmp(optarg, "server") == 0;
			break;
		case 'a':
			if (strlen(optarg) >= sizeof(o->memif_args))
				return -1;
			strcpy(o->memif_args, optarg);
			break;
		case 'm':
			if (rte_ether_unformat_addr(optarg, &o->dst_mac) != 0)
				return -1;
			o->have_dst_mac = true;
			break;
		case 'c':
			if (hg_ip(optarg, &o->client_ip) != 0)
				return -1;
			have_client = true;
			break;
		case 'C':
			colon = strrchr(optarg, ':');
			if (colon == NULL)
				return -1;
			*colon = '\0';
			v = strtoul(colon + 1, NULL, 10);
			if (hg_ip(optarg, &o->connect_ip) != 0 || v == 0 || v > 65535)
				return -1;
			o->connect_port = (uint16_t)v;
			have_connect = true;
			break;
		case 'b':
			if (hg_ip(optarg, &o->backend_ip) != 0)
				return -1;
			have_backend = true;
			break;
		case 'B':
			v = strtoul(optarg, NULL, 10);
			if (v == 0 || v > 65535)
				return -1;
			o->backend_port = (uint16_t)v;
			break;
		case 'n':
			v = strtoul(optarg, NULL, 10);
			if (v == 0 || v > HG_MAX_CONNS)
				return -1;
			o->conns = (uint32_t)v;
			break;
		case 'd':
			if (hg_double(optarg, 0.1, 3600, &o->duration) != 0)
				return -1;
			break;
		case 'w':
			if (hg_double(optarg, 0, 3600, &o->warmup) != 0)
				return -1;
			break;
		case 'l':
			if (hg_double(optarg, 0.1, 600, &o->link_timeout) != 0)
				return -1;
			break;
		case 'H':
			if (hg_double(optarg, 0, 3600, &o->hold) != 0)
				return -1;
			break;
		case 'j':
			o->json = true;
			break;
		default:
			return -1;
		}
	}
	if (o->n_sockets != 2 || !o->have_dst_mac || !have_client || !have_connect ||
	    !have_backend) {
		fprintf(stderr, HG_WHO ": --socket (twice), --dst-mac, --client-ip, --connect and "
				       "--backend-ip are needed\n");
		return -1;
	}
	return 0;
}

/* Warm-up, window, drain: the stack, the clients and the backend on this lcore. */
static void hg_run(struct hg *g)
{
	const uint64_t t0 = rte_rdtsc();
	const uint64_t t_open = t0 + (uint64_t)(g->o->warmup * (double)g->hz);
	const uint64_t t_close = t_open + (uint64_t)(g->o->duration * (double)g->hz);
	const uint64_t t_end = t_close + (uint64_t)(HG_DRAIN_S * (double)g->hz);
	/* one connection first: the proxy resolves our address for its SYN-ACK (a
	 * neighbour's queue holds fewer frames than --conns); the others 200 ms later */
	uint64_t last_timer = 0, last_open = 0, t_all = t0 + g->hz / 5;

	while (!gen_quit) {
		uint16_t got = 0;
		uint64_t now;

		g->now_tsc = now = rte_rdtsc();
		if (!g->measuring && !g->stopping && now >= t_open) {
			g->measuring = true;
			fprintf(stderr, HG_WHO ": window open\n");
		} else if (g->measuring && now >= t_close) {
			g->measuring = false;
			g->stopping = true;
			g->window_cycles = now - t_open;
			fprintf(stderr, HG_WHO ": window closed\n");
		} else if (g->stopping && now >= t_end) {
			break;
		}
		for (unsigned int p = 0; p < GEN_MAX_PORTS; p++)
			got += hg_rx(g, p);
		if (now - last_timer >= g->hz / (1000000 / HG_TIMER_US)) {
			tcp_timer(g->ts, hg_us(g, now));
			last_timer = now;
		}
		if (now - last_open >= g->hz / 100) { /* 10 ms: reopen, resend */
			hg_clients_open(g, now >= t_all ? g->o->conns : 1);
			last_open = now;
		}
		for (unsigned int p = 0; p < GEN_MAX_PORTS; p++)
			if (g->n_tx[p] > 0)
				hg_flush(g, p);
		if (g->measuring && got > 0)
			g->busy_cycles += rte_rdtsc() - now;
	}
	if (g->measuring) /* interrupted inside the window */
		g->window_cycles = rte_rdtsc() - t_open;
}

static void hg_report(const struct hg *g)
{
	const struct hg_counters *c = &g->c;
	const struct gen_hist *h = &g->latency;
	const double secs = (double)g->window_cycles / (double)g->hz;
	const double rate = secs > 0 ? (double)c->responses / secs : 0;
	const double busy =
		g->window_cycles > 0 ? (double)g->busy_cycles / (double)g->window_cycles : 0;
	const double us = 1e-3;
	const uint64_t hz = g->hz;

	if (!g->o->json) {
		printf("%u connections, %.2f s: %" PRIu64 " responses, %.0f/s, non-2xx %" PRIu64
		       ", closed %" PRIu64 ", connect failures %" PRIu64 "\n",
		       g->o->conns, secs, c->responses, rate, c->non_2xx, c->closed,
		       c->connect_failed);
		printf("latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f; generator busy %.1f "
		       "%%\n",
		       gen_ns(gen_hist_quantile(h, 0.5), hz) * us,
		       gen_ns(gen_hist_quantile(h, 0.99), hz) * us,
		       gen_ns(gen_hist_quantile(h, 0.999), hz) * us, gen_ns(h->max, hz) * us,
		       busy * 100);
		return;
	}
	printf("{\"conns\": %u, \"seconds\": %.3f, \"tsc_hz\": %" PRIu64 ", \"requests\": %" PRIu64
	       ", \"requests_per_s\": %.1f, \"non_2xx\": %" PRIu64 ",\n",
	       g->o->conns, secs, hz, c->responses, rate, c->non_2xx);
	printf(" \"closed\": %" PRIu64 ", \"connect_failed\": %" PRIu64
	       ", \"parse_errors\": %" PRIu64 ", \"errors\": %" PRIu64
	       ", \"responses_total\": %" PRIu64 ", \"backend_requests\": %" PRIu64 ",\n",
	       c->closed, c->connect_failed, c->parse_errors,
	       c->non_2xx + c->closed + c->connect_failed + c->parse_errors, c->responses_all,
	       c->backend_requests);
	printf(" \"tx_refused\": %" PRIu64 ", \"rx_foreign\": %" PRIu64 ", \"no_conn\": %" PRIu64
	       ", \"arp_replies\": %" PRIu64 ", \"tcp_retransmits\": %" PRIu64
	       ", \"gen_busy_ratio\": %.3f,\n",
	       c->tx_refused, c->rx_foreign, c->no_conn, c->arp_replies,
	       stats_read(&hg_stats, STAT_TCP_RETRANSMITS), busy);
	printf(" \"latency_us\": {\"samples\": %" PRIu64
	       ", \"min\": %.1f, \"mean\": %.1f, \"p50\": "
	       "%.1f, \"p90\": %.1f, \"p99\": %.1f, \"p99_9\": %.1f, \"max\": %.1f}}\n",
	       h->count, gen_ns(h->count ? h->min : 0, hz) * us,
	       h->count ? gen_ns(h->sum / h->count, hz) * us : 0,
	       gen_ns(gen_hist_quantile(h, 0.5), hz) * us,
	       gen_ns(gen_hist_quantile(h, 0.9), hz) * us,
	       gen_ns(gen_hist_quantile(h, 0.99), hz) * us,
	       gen_ns(gen_hist_quantile(h, 0.999), hz) * us, gen_ns(h->max, hz) * us);
}

static int hg_setup(struct hg *g)
{
	static uint16_t ports[HG_PORT_COUNT];
	const struct tcp_addr baddr = {.family = 4, .v4 = g->o->backend_ip};
	struct tcp_stack_conf conf = {
		.socket_id = (unsigned int)rte_socket_id(),
		.max_conns = 2 * g->o->conns + HG_BACKEND_MAX + 1024,
		.pool = g->pool,
		.stats = &hg_stats,
		.output = hg_output,
		.output_ctx = g,
		.now_us = hg_us(g, rte_rdtsc()),
	};
	const struct tcp_params bparams = {.nodelay = true};

	g->ts = tcp_stack_create(&conf);
	if (g->ts == NULL) {
		fprintf(stderr, HG_WHO ": TCP stack: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	for (uint32_t i = 0; i < HG_PORT_COUNT; i++)
		ports[i] = (uint16_t)(HG_PORT_FIRST + i);
	if (tcp_stack_set_ports(g->ts, ports, HG_PORT_COUNT) != 0 ||
	    tcp_listen(g->ts, &baddr, g->o->backend_port, &bparams, &hg_backend_cb, NULL) == NULL) {
		fprintf(stderr, HG_WHO ": ports or listener: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	g->backend_free = -1;
	for (int32_t i = HG_BACKEND_MAX - 1; i >= 0; i--) {
		g->backends[i].next_free = g->backend_free;
		g->backend_free = i;
	}
	g->clients = calloc(g->o->conns, sizeof(*g->clients));
	if (g->clients == NULL)
		return -1;
	gen_hist_init(&g->latency);
	return 0;
}

int main(int argc, char **argv)
{
	struct hg_opts opts;
	char vdevs[GEN_MAX_PORTS][256];
	char *eal_argv[argc + 2 * GEN_MAX_PORTS + 1];
	struct in_addr ca;
	char cabuf[INET_ADDRSTRLEN];
	int eal_argc = 0, dd = argc, ret = 1;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dd = i;
			break;
		}
	{
		char *app_argv[argc - dd + 2];
		int app_argc = 0;

		app_argv[app_argc++] = argv[0];
		for (int i = dd + 1; i < argc; i++)
			app_argv[app_argc++] = argv[i];
		app_argv[app_argc] = NULL;
		if (hg_parse(app_argc, app_argv, &opts) != 0) {
			hg_usage(argv[0]);
			return 2;
		}
	}
	for (int i = 0; i < dd; i++)
		eal_argv[eal_argc++] = argv[i];
	for (unsigned int i = 0; i < opts.n_sockets; i++) {
		gen_memif_vdev_arg(i, opts.server, opts.sockets[i], opts.memif_args, vdevs[i],
				   sizeof(vdevs[i]));
		eal_argv[eal_argc++] = (char *)"--vdev";
		eal_argv[eal_argc++] = vdevs[i];
	}
	eal_argv[eal_argc] = NULL;
	rte_openlog_stream(stderr); /* stdout is the result's */
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, HG_WHO ": EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	gen_memif_signals();
	ca.s_addr = opts.connect_ip;
	inet_ntop(AF_INET, &ca, cabuf, sizeof(cabuf));
	hg_request_len = (uint32_t)snprintf(hg_request, sizeof(hg_request),
					    "GET / HTTP/1.1\r\nHost: %s:%u\r\n\r\n", cabuf,
					    opts.connect_port);
	G.o = &opts;
	G.hz = rte_get_tsc_hz();
	G.pool = rte_pktmbuf_pool_create("hg_mbufs", HG_POOL_MBUFS, HG_POOL_CACHE, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (G.pool == NULL) {
		fprintf(stderr, HG_WHO ": mbuf pool: %s\n", rte_strerror(rte_errno));
		goto out_eal;
	}
	for (unsigned int i = 0; i < GEN_MAX_PORTS; i++)
		if (gen_memif_port_init(HG_WHO, i, G.pool, &G.ports[i]) != 0)
			goto out_eal;
	G.ports[0].ip = rte_be_to_cpu_32(opts.client_ip);
	G.ports[1].ip = rte_be_to_cpu_32(opts.backend_ip);
	G.ports[0].ip_n = G.ports[1].ip_n = 1;
	G.peer_mac[0] = opts.dst_mac;
	G.peer_known[0] = true;
	if (hg_setup(&G) != 0)
		goto out_ports;
	fprintf(stderr, HG_WHO ": waiting for the memif link(s)\n");
	if (gen_memif_wait_links(G.ports, GEN_MAX_PORTS, opts.link_timeout) != 0) {
		fprintf(stderr, HG_WHO ": memif links not up after %.1f s: is the peer running?\n",
			opts.link_timeout);
		goto out_ports;
	}
	fprintf(stderr, HG_WHO ": %u connections to %s:%u on lcore %u\n", opts.conns, cabuf,
		opts.connect_port, rte_lcore_id());
	hg_run(&G);
	hg_report(&G);
	ret = 0;
	if (opts.hold > 0)
		gen_memif_hold(HG_WHO, opts.hold);
out_ports:
	gen_memif_close(G.ports, GEN_MAX_PORTS);
out_eal:
	rte_eal_cleanup();
	return ret;
}
