/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-tlshs: what one full TLS handshake costs meshdp's server side, with no
 * port in the way (bench/tlshs.sh; issue 10 point 8).
 *
 * Two TCP stacks of the daemon's library and a tls_worker each, in-process,
 * joined by a link that hands every segment one stack outputs to the other's
 * tcp_input() (as meshdp-tcpscale). Client A opens --conc connections at a
 * time to a TLS listener of server B (the identity of PKI/server.pem, mTLS
 * strict with --mtls, the client presenting PKI/client.pem); each client
 * resets its connection once its handshake is done (as meshdp-tlsgen's
 * SO_LINGER 0) and is replaced, until --n handshakes completed. The
 * server's side is what a worker does for it: tcp_input() of its segments,
 * its timers and tls_worker_begin(), all inside hs_server_step(), whose TSC
 * TSC cycles are summed as a worker's busy accounting does (so is its thread
 * CPU time, which leaves out preemption on a shared machine): server
 * handshakes per busy CPU-second = handshakes / (cycles / TSC Hz), with the peer verification against the snapshot's
 * trust bundle as the daemon does it. The client's side runs on the same
 * core and is not counted. Under callgrind, --toggle-collect=hs_server_step
 * gives the server's instructions alone.
 *
 *   meshdp-tlshs --no-huge -m 512 -l 0 --no-pci -- --pki DIR --td TD [--mtls] [--n 2000]
 *
 * One JSON object on stdout.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dataplane/config/config.h"
#include "dataplane/secrets/secrets.h"
#include "dataplane/stats/stats.h"
#include "dataplane/subsystems.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/tls/tls.h"

#define HS_LINK_MAX 256
#define HS_PORTS    16384

struct hs_fifo {
	struct rte_mbuf *m[HS_LINK_MAX];
	unsigned int head, n;
};

static struct {
	struct tcp_stack *st[2]; /* 0: client A, 1: server B */
	struct tls_worker *tw[2];
	struct stats_block stats[2];
	struct hs_fifo q[2]; /* q[i]: toward stack i */
	struct rte_mempool *pool;
	const struct cfg_snapshot *snap;
	uint64_t now_us;
	uint64_t server_cycles;
	uint64_t server_cpu_ns; /* the thread's CPU time in there (preemption left out) */
	uint64_t done, failed, inflight, overflow;
} H;

static void hs_out(int from, struct rte_mbuf *m)
{
	struct hs_fifo *q = &H.q[1 - from];
	struct rte_mbuf *c = m;

	if (m->nb_segs > 1) { /* a receiver gets one contiguous mbuf, as from a NIC */
		c = rte_pktmbuf_alloc(H.pool);
		if (c != NULL && rte_pktmbuf_append(c, (uint16_t)m->pkt_len) != NULL)
			rte_pktmbuf_read(m, 0, m->pkt_len, rte_pktmbuf_mtod(c, void *));
		rte_pktmbuf_free(m);
	}
	if (c == NULL || q->n == HS_LINK_MAX) {
		H.overflow++;
		rte_pktmbuf_free(c);
		return;
	}
	q->m[(q->head + q->n) % HS_LINK_MAX] = c;
	q->n++;
}

static void hs_out_a(void *ctx, struct rte_mbuf *m)
{
	(void)ctx;
	hs_out(0, m);
}

static void hs_out_b(void *ctx, struct rte_mbuf *m)
{
	(void)ctx;
	hs_out(1, m);
}

static void hs_input(int to)
{
	struct hs_fifo *q = &H.q[to];

	while (q->n > 0) {
		struct rte_mbuf *m = q->m[q->head];

		q->head = (q->head + 1) % HS_LINK_MAX;
		q->n--;
		if (!tcp_input(H.st[to], m, H.now_us))
			tcp_reset_reply(H.st[to], m);
	}
}

/* Everything the server's worker does: the one function callgrind collects. */
__attribute__((noinline)) void hs_server_step(bool timers)
{
	struct timespec c0, c1;
	uint64_t t0;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	t0 = rte_rdtsc();
	tls_worker_begin(H.tw[1], H.snap, H.now_us);
	hs_input(1);
	if (timers)
		tcp_timer(H.st[1], H.now_us);
	H.server_cycles += rte_rdtsc() - t0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	H.server_cpu_ns +=
		(uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000LL + (c1.tv_nsec - c0.tv_nsec));
}

/* ---- the client: reset once its handshake is done ---- */

static int cli_done(struct tls_conn *c, void *arg)
{
	(void)c;
	(void)arg;
	H.done++;
	H.inflight--;
	return 1; /* refused: the TLS layer resets it, no callback after */
}

static void cli_closed(struct tls_conn *c, void *arg, enum tls_close_reason reason)
{
	(void)c;
	(void)arg;
	(void)reason;
	H.failed++;
	H.inflight--;
}

static const struct tls_callbacks cli_cbs = {.handshake_done = cli_done, .closed = cli_closed};

/* ---- the server: the connection waits for the client's reset ---- */

static void srv_closed(struct tls_conn *c, void *arg, enum tls_close_reason reason)
{
	(void)c;
	(void)arg;
	(void)reason;
}

static const struct tls_callbacks srv_cbs = {.closed = srv_closed};
static const struct tls_ctx *srv_ctx;

static int srv_accepted(struct tcp_conn *tc, void *arg)
{
	(void)arg;
	return tls_accept(H.tw[1], srv_ctx, tc, &srv_cbs, NULL) != NULL ? 0 : -1;
}

static const struct cfg_snapshot *hs_snapshot(const char *pki, const char *td)
{
	char doc[2048];
	struct cfg_snapshot *out = NULL;
	struct cfg_error err;

	snprintf(doc, sizeof(doc),
		 "{\"version\": 1, \"secrets\": {\"identities\": ["
		 "{\"name\": \"server\", \"cert\": \"%s/server.pem\", \"key\": \"%s/server.key\"},"
		 "{\"name\": \"client\", \"cert\": \"%s/client.pem\", \"key\": \"%s/client.key\"}],"
		 "\"trust_domains\": [{\"name\": \"%s\", \"bundle\": \"%s/ca.pem\"}]}}",
		 pki, pki, pki, pki, td, pki);
	if (cfg_compile(doc, strlen(doc), NULL, 0, NULL, &out, &err) != 0) {
		fprintf(stderr, "meshdp-tlshs: %s\n", err.msg);
		return NULL;
	}
	return out;
}

static struct tcp_stack *hs_stack(int i)
{
	static const uint8_t secret[16] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3};
	struct tcp_stack_conf conf = {
		.socket_id = (unsigned int)rte_socket_id(),
		.worker_id = (uint16_t)i,
		.max_conns = HS_PORTS,
		.pool = H.pool,
		.stats = &H.stats[i],
		.output = i == 0 ? hs_out_a : hs_out_b,
		.secret = secret,
		.now_us = H.now_us,
	};

	return tcp_stack_create(&conf);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pki", required_argument, 0, 'p'},  {"td", required_argument, 0, 't'},
		{"mtls", no_argument, 0, 'm'},	     {"n", required_argument, 0, 'n'},
		{"conc", required_argument, 0, 'c'}, {0, 0, 0, 0}};
	const char *pki = NULL, *td = "cluster.local";
	uint32_t n = 2000, conc = 16, laddr = 0;
	struct tcp_callbacks lcb;
	struct tls_ctx *sctx, *cctx;
	bool mtls = false;
	char err[256];
	uint64_t t0;
	int o, r;

	r = rte_eal_init(argc, argv);
	if (r < 0)
		return 1;
	argc -= r;
	argv += r;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			pki = optarg;
			break;
		case 't':
			td = optarg;
			break;
		case 'm':
			mtls = true;
			break;
		case 'n':
			n = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			conc = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: meshdp-tlshs [EAL] -- --pki DIR [--td TD] [--mtls] "
					"[--n N] [--conc C]\n");
			return 2;
		}
	}
	meshdp_sections_register();
	if (pki == NULL || (H.snap = hs_snapshot(pki, td)) == NULL)
		return 1;
	H.pool = rte_pktmbuf_pool_create("tlshs", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 (int)rte_socket_id());
	if (H.pool == NULL)
		return 1;
	H.now_us = 1000000;
	{
		struct tls_ctx_conf sc = {
			.role = TLS_ROLE_SERVER, .name = "bench", .min_version = 0};
		struct tls_ctx_conf cc = {.role = TLS_ROLE_CLIENT, .name = "bench-client"};

		sc.def.secret = secrets_find(H.snap, "server");
		sc.def.mtls = mtls ? TLS_MTLS_STRICT : TLS_MTLS_DISABLE;
		cc.def.secret = mtls ? secrets_find(H.snap, "client") : NULL;
		sctx = tls_ctx_create(&sc, err, sizeof(err));
		cctx = sctx != NULL ? tls_ctx_create(&cc, err, sizeof(err)) : NULL;
		if (cctx == NULL) {
			fprintf(stderr, "meshdp-tlshs: ctx: %s\n", err);
			return 1;
		}
		srv_ctx = sctx;
	}
	for (int i = 0; i < 2; i++) {
		H.st[i] = hs_stack(i);
		H.tw[i] = tls_worker_create((uint16_t)i, HS_PORTS, (int)rte_socket_id(), H.pool,
					    &H.stats[i]);
		if (H.st[i] == NULL || H.tw[i] == NULL)
			return 1;
	}
	{
		static uint16_t ports[HS_PORTS];
		const struct tcp_addr any = {.family = 4,
					     .v4 = rte_cpu_to_be_32(RTE_IPV4(10, 2, 0, 1))};

		for (uint32_t p = 0; p < HS_PORTS; p++)
			ports[p] = (uint16_t)(65536u - HS_PORTS + p);
		tls_tcp_callbacks(&lcb, srv_accepted);
		if (tcp_stack_set_ports(H.st[0], ports, HS_PORTS) != 0 ||
		    tcp_listen(H.st[1], &any, 443, NULL, &lcb, NULL) == NULL)
			return 1;
	}
	t0 = rte_rdtsc();
	while (H.done + H.failed < n) {
		const struct tcp_addr ra = {.family = 4,
					    .v4 = rte_cpu_to_be_32(RTE_IPV4(10, 2, 0, 1))};

		while (H.inflight < conc && H.done + H.failed + H.inflight < n) {
			/* a fresh source address each time: no 4-tuple is reused */
			struct tcp_addr la = {.family = 4,
					      .v4 = rte_cpu_to_be_32(RTE_IPV4(10, 1, 0, 0) +
								     (laddr++ % 65000) + 1)};

			if (tls_connect(H.tw[0], cctx, H.st[0], &la, &ra, 443, NULL, &cli_cbs, NULL,
					H.now_us) == NULL) {
				fprintf(stderr, "meshdp-tlshs: connect: %s\n",
					rte_strerror(rte_errno));
				return 1;
			}
			H.inflight++;
		}
		tls_worker_begin(H.tw[0], H.snap, H.now_us);
		hs_input(0);
		hs_server_step(false);
		H.now_us += 10;
		tcp_timer(H.st[0], H.now_us);
		hs_server_step(true);
	}
	{
		const double hz = (double)rte_get_tsc_hz();
		const double wall = (double)(rte_rdtsc() - t0) / hz;
		const double server_s = (double)H.server_cycles / hz;

		printf("{\"mtls\": %s, \"handshakes\": %" PRIu64 ", \"failed\": %" PRIu64
		       ", \"server_handshakes\": %" PRIu64 ", \"server_cycles_per_hs\": %.0f, "
		       "\"server_us_per_hs\": %.2f, \"server_hs_per_cpu_s\": %.0f, "
		       "\"server_thread_cpu_us_per_hs\": %.2f, \"server_hs_per_thread_cpu_s\": "
		       "%.0f, "
		       "\"wall_s\": %.3f, \"tsc_hz\": %.0f, \"link_overflow\": %" PRIu64 "}\n",
		       mtls ? "true" : "false", H.done, H.failed, H.stats[1].c[STAT_TLS_HANDSHAKES],
		       (double)H.server_cycles / (double)(H.done ? H.done : 1),
		       server_s * 1e6 / (double)(H.done ? H.done : 1),
		       server_s > 0 ? (double)H.done / server_s : 0,
		       (double)H.server_cpu_ns / 1e3 / (double)(H.done ? H.done : 1),
		       H.server_cpu_ns > 0 ? (double)H.done * 1e9 / (double)H.server_cpu_ns : 0,
		       wall, hz, H.overflow);
	}
	return H.failed == 0 ? 0 : 1;
}
