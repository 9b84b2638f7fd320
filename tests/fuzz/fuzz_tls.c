/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target of the TLS record / BIO path: the input's bytes arrive, as the
 * ciphertext of a client, at a server tls_conn over the userspace TCP stack
 * (a raw TCP client on a second stack sends them, in segments whose size the
 * input chooses). Byte 0 chooses the listener's mTLS mode and ALPN, byte 1
 * the segment size; the rest is the stream (a real ClientHello in the corpus,
 * tests/fuzz/corpus/tls). The server answers as it will (alerts, its own
 * handshake flight, plaintext passed through in permissive mode) and whatever
 * it hands up as plaintext is read. At the end both stacks are freed: every
 * mbuf must be back in the pool and every TLS connection gone, else abort().
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/secrets/secrets.h"
#include "dataplane/stats/stats.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/tls/tls.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

#define FZ_LINK_MAX 1024

static struct rte_mempool *pool;
static struct secret srv_secret;
static struct tls_ctx *ctxs[3][2]; /* [mtls][alpn] */

static struct {
	struct tcp_stack *st[2];
	struct tls_worker *tw;
	struct stats_block stats[2];
	struct rte_mbuf *q[2][FZ_LINK_MAX];
	unsigned int n[2];
	uint64_t now;
	struct tls_conn *srv;
	struct tcp_conn *cli;
	bool srv_closed;
} W;

static void link_out(int from, struct rte_mbuf *m)
{
	struct rte_mbuf *c = rte_pktmbuf_alloc(pool);
	const void *src;
	char *p;

	if (c == NULL || W.n[1 - from] == FZ_LINK_MAX || m->pkt_len > rte_pktmbuf_tailroom(c)) {
		rte_pktmbuf_free(c);
		rte_pktmbuf_free(m);
		return;
	}
	p = rte_pktmbuf_append(c, (uint16_t)m->pkt_len);
	src = rte_pktmbuf_read(m, 0, m->pkt_len, p);
	if (src != p)
		memcpy(p, src, m->pkt_len);
	rte_pktmbuf_free(m);
	W.q[1 - from][W.n[1 - from]++] = c;
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

static void run(unsigned int steps)
{
	for (unsigned int s = 0; s < steps; s++) {
		tls_worker_begin(W.tw, NULL, W.now);
		for (int to = 0; to < 2; to++) {
			unsigned int n = W.n[to];

			W.n[to] = 0;
			for (unsigned int i = 0; i < n; i++)
				if (!tcp_input(W.st[to], W.q[to][i], W.now))
					rte_pktmbuf_free(W.q[to][i]);
		}
		W.now += 1000;
		tcp_timer(W.st[0], W.now);
		tcp_timer(W.st[1], W.now);
	}
}

/* ---- the server application: reads whatever plaintext comes ---- */

static void srv_readable(struct tls_conn *c, void *arg)
{
	struct rte_mbuf *m;

	(void)arg;
	while ((m = tls_recv(c, 1u << 16)) != NULL)
		rte_pktmbuf_free(m);
}

static void srv_closed(struct tls_conn *c, void *arg, enum tls_close_reason reason)
{
	(void)c;
	(void)arg;
	(void)reason;
	W.srv = NULL;
	W.srv_closed = true;
}

static const struct tls_callbacks srv_cbs = {
	.readable = srv_readable,
	.closed = srv_closed,
};

static const struct tls_ctx *cur_ctx;

static int srv_accepted(struct tcp_conn *tc, void *arg)
{
	(void)arg;
	W.srv = tls_accept(W.tw, cur_ctx, tc, &srv_cbs, NULL);
	return W.srv != NULL ? 0 : -1;
}

static void cli_closed(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	(void)c;
	(void)arg;
	(void)reason;
	W.cli = NULL;
}

static void cli_readable(struct tcp_conn *c, void *arg)
{
	struct rte_mbuf *m;

	(void)arg;
	while ((m = tcp_recv(c, 1u << 16)) != NULL)
		rte_pktmbuf_free(m);
}

static const struct tcp_callbacks cli_cbs = {
	.readable = cli_readable,
	.closed = cli_closed,
};

static struct tcp_callbacks srv_tcp_cbs;

/* ---- set-up: an identity made in memory ---- */

static X509 *fz_cert(EVP_PKEY *key, const char *uri, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;
	char san[128];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), uri != NULL ? 2 : 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"fuzz", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ? issuer : x));
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (uri != NULL) {
		snprintf(san, sizeof(san), "URI:%s", uri);
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256());
	return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const alpn[] = {"h2", "http/1.1"};
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	X509 *ca = fz_cert(ca_key, NULL, NULL, NULL);
	char err[256];

	(void)argc;
	(void)argv;
	test_eal_init();
	pool = rte_pktmbuf_pool_create("fuzz_tls", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL)
		abort();
	srv_secret.key = EVP_EC_gen("P-256");
	srv_secret.leaf = fz_cert(srv_secret.key, "spiffe://fuzz.test/ns/a/sa/b", ca, ca_key);
	for (int m = 0; m < 3; m++)
		for (int a = 0; a < 2; a++) {
			struct tls_ctx_conf conf = {
				.role = TLS_ROLE_SERVER,
				.name = "fuzz",
				.alpn = alpn,
				.n_alpn = a != 0 ? 2 : 0,
				.def = {.secret = &srv_secret, .mtls = (enum tls_mtls)m},
			};

			ctxs[m][a] = tls_ctx_create(&conf, err, sizeof(err));
			if (ctxs[m][a] == NULL) {
				fprintf(stderr, "fuzz_tls: %s\n", err);
				abort();
			}
		}
	tls_tcp_callbacks(&srv_tcp_cbs, srv_accepted);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	const struct tcp_addr a0 = {.family = 4, .v4 = RTE_BE32(RTE_IPV4(10, 0, 0, 1))};
	const struct tcp_addr a1 = {.family = 4, .v4 = RTE_BE32(RTE_IPV4(10, 0, 0, 2))};
	tcp_output_fn outs[2] = {out0, out1};
	uint16_t ports[4] = {40000, 40001, 40002, 40003};
	size_t at = 2, chunk;

	if (pool == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 2)
		return 0;
	memset(&W, 0, sizeof(W));
	W.now = 1000000;
	cur_ctx = ctxs[(data[0] & 3) % 3][(data[0] >> 2) & 1];
	chunk = (size_t)(data[1] % 64 + 1) * 24;
	for (int i = 0; i < 2; i++) {
		struct tcp_stack_conf conf = {
			.worker_id = (uint16_t)i,
			.max_conns = 8,
			.pool = pool,
			.output = outs[i],
			.secret = secret,
			.now_us = W.now,
			.stats = &W.stats[i],
		};

		if ((W.st[i] = tcp_stack_create(&conf)) == NULL)
			abort();
	}
	W.tw = tls_worker_create(7, 8, SOCKET_ID_ANY, pool, &W.stats[1]);
	if (W.tw == NULL || tcp_stack_set_ports(W.st[0], ports, 4) != 0 ||
	    tcp_listen(W.st[1], &a1, 443, NULL, &srv_tcp_cbs, NULL) == NULL)
		abort();
	W.cli = tcp_connect(W.st[0], &a0, &a1, 443, NULL, &cli_cbs, NULL, W.now);
	run(5);
	while (at < size && W.cli != NULL) {
		size_t n = size - at < chunk ? size - at : chunk;
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

		if (m == NULL || n > rte_pktmbuf_tailroom(m)) {
			rte_pktmbuf_free(m);
			break;
		}
		memcpy(rte_pktmbuf_append(m, (uint16_t)n), data + at, n);
		at += n;
		if (tcp_send(W.cli, m) < 0)
			break;
		run(3);
	}
	if (W.cli != NULL)
		tcp_shutdown(W.cli);
	run(20);
	if (W.srv != NULL)
		tls_close(W.srv);
	if (W.cli != NULL)
		tcp_abort(W.cli);
	run(5);
	for (int to = 0; to < 2; to++)
		for (unsigned int i = 0; i < W.n[to]; i++)
			rte_pktmbuf_free(W.q[to][i]);
	tcp_stack_free(W.st[0]);
	tcp_stack_free(W.st[1]);
	tls_worker_free(W.tw);
	if (rte_mempool_in_use_count(pool) != 0) {
		fprintf(stderr, "fuzz_tls: %u mbufs not returned\n",
			rte_mempool_in_use_count(pool));
		abort();
	}
	return 0;
}
