/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tls: private structures, shared by tls.c and tls_bio.c (and the unit tests,
 * which drive OpenSSL calls a well-behaved peer never makes, e.g. renegotiation).
 */
#ifndef MESHDP_TLS_INTERNAL_H
#define MESHDP_TLS_INTERNAL_H

#include <sys/queue.h>

#include "../config/config.h"
#include "../secrets/secrets.h"
#include "tls.h"

/* One identity and its policy (the default, or an SNI entry's). */
struct tls_policy {
	SSL_CTX *sctx; /* holds the certificate and key; for SNI entries SSL_set_SSL_CTX() */
	char **names;
	uint32_t n_names;
	enum tls_mtls mtls;
	char **allowed;
	uint32_t n_allowed;
	uint8_t fingerprint[TLS_FP_LEN];
	char serial[64];
	int64_t not_after; /* 0: no identity (a client without a certificate) */
};

struct tls_ctx {
	enum tls_role role;
	uint8_t *alpn_wire; /* ALPN list in wire format */
	uint32_t alpn_len;
	char *server_name;
	char *expected_peer;
	uint64_t drain_window_us;
	struct tls_policy def;
	uint32_t n_sni;
	struct tls_policy *sni;	       /* [n_sni] */
	struct tls_server_conf *conf;  /* the block it was built from (tls_ctx_for_listener()) */
	struct tls_client_conf *cconf; /* or the cluster's (tls_ctx_for_cluster()) */
};

enum tls_conn_state {
	TLS_ST_HANDSHAKE = 0,
	TLS_ST_ESTABLISHED,
	TLS_ST_PLAINTEXT, /* permissive server, plaintext client: bytes pass through */
	TLS_ST_FAILED,	  /* a fatal error; the TCP connection is closing */
};

struct tls_conn {
	struct tls_worker *tw;
	const struct tls_ctx *ctx;
	const struct tls_policy *pol; /* the identity in use (SNI may change it) */
	struct tcp_conn *tcp;	      /* NULL once the TCP connection is gone */
	SSL *ssl;
	const struct tls_callbacks *cb;
	void *arg;
	/* ciphertext taken from the TCP stack and not yet read by OpenSSL: the head
	 * segment's data starts at the first unread byte */
	struct rte_mbuf *rx;
	/* records OpenSSL wrote since the last flush (tls_bio_flush()) */
	struct rte_mbuf *tx, *tx_last;
	uint64_t start_us;
	uint64_t user_at;    /* user timer deadline, tw->now_us time (0: none) */
	uint64_t drain_at;   /* close gracefully then (rotation, expiry; 0: never) */
	uint16_t drain_stat; /* the counter that closing then counts in */
	enum stats_id fail;  /* why the handshake failed, when a callback knew */
	uint8_t state;	     /* enum tls_conn_state */
	uint8_t depth;	     /* nesting of entries from the TCP stack */
	bool dead;	     /* closed by the user inside a callback: free at depth 0 */
	bool eof;	     /* close_notify or FIN received */
	bool shut;	     /* tls_shutdown() done */
	bool blocked;	     /* tls_send_space() said 0: call writable when it no longer does */
	bool drain_due;	     /* the drain point came (tls_draining()) */
	char peer_id[TLS_ID_MAX];
	char peer_serial[64];
	int64_t peer_not_after;
	LIST_ENTRY(tls_conn) link; /* tw->conns */
	LIST_ENTRY(tls_conn) park; /* tw->parked, while parked */
	bool parked;		   /* a handshake step waits for an async job */
};

struct tls_worker {
	struct rte_mempool *pool;  /* mbufs for records */
	struct rte_mempool *conns; /* struct tls_conn */
	struct stats_block *stats;
	const struct cfg_snapshot *snap; /* this loop iteration's (peers verify against it) */
	uint64_t now_us;
	int64_t unix_now;      /* wall-clock seconds, refreshed once a second */
	uint64_t unix_next_us; /* now_us at which unix_now is read again */
	uint16_t worker_id;
	LIST_HEAD(, tls_conn) conns_list;
	LIST_HEAD(, tls_conn) parked; /* handshakes waiting for an async job (tls_worker_poll()) */
	uint8_t scratch[16384];	      /* plaintext gathered for one SSL_write (tls_send()) */
};

/* tls_bio.c: the BIO on mbuf chains. */
BIO *tls_bio_new(struct tls_conn *c);
/* Send what OpenSSL wrote since the last call. */
void tls_bio_flush(struct tls_conn *c);
/* Drop the buffered ciphertext both ways. */
void tls_bio_drop(struct tls_conn *c);

#endif
