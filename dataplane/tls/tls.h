/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tls: OpenSSL 3 over the per-worker userspace TCP stack (dataplane/tcp).
 *
 * A struct tls_ctx wraps an SSL_CTX: built on the control thread (it may
 * allocate), role server or client, then shared read-only by every worker. A
 * struct tls_conn is one TLS connection on top of one struct tcp_conn, owned by
 * the worker whose stack holds the TCP connection. Its BIO (tls_bio.c) works
 * on mbuf chains: the read side consumes the ciphertext mbufs tcp_recv()
 * hands over (OpenSSL's record layer reads them in place of a socket buffer),
 * the write side fills mbufs of the worker's pool (whole data room) with the
 * records OpenSSL produces and tcp_send()s them after each SSL call.
 *
 * The API mirrors tcp.h so that a proxy can drive either: callbacks
 * (handshake done, readable, writable, closed), tls_recv() returns plaintext
 * as an mbuf chain, tls_send() takes one, tls_send_space(), tls_recv_eof(),
 * tls_shutdown() (close_notify then FIN), tls_close(), tls_abort().
 *
 * Implements (partial where noted):
 *   RFC 8446  TLS 1.3, RFC 5246 TLS 1.2 (minimum configurable, never below 1.2);
 *             no renegotiation (RFC 5746: refused with a no_renegotiation
 *             alert), no compression, server cipher preference, AEAD suites
 *   RFC 7301  ALPN; RFC 6066 SNI (a server ctx holds several identities by
 *             SNI, each with its own mTLS policy, and a default)
 *   RFC 5077 / RFC 8446 4.6.1  stateless session tickets under keys the control
 *             thread rotates (current + previous; no server-side session cache);
 *             clients resume from a live connection's session (tls_resume_from())
 *   SPIFFE X.509-SVID peers, verified by secrets_verify_peer() (dataplane/
 *             secrets) against the worker's snapshot, each refusal counted by
 *             its reason (tls_peer_*); allowed-peer lists; secure naming for
 *             clients (the server's SPIFFE ID must be the expected one)
 *
 * Memory: SSL_MODE_RELEASE_BUFFERS, so an idle connection holds no record
 * buffer; the tls_conn itself comes from the worker's mempool; the SSL object
 * is OpenSSL's heap (SSL_new() at accept / connect).
 *
 * Threads: a tls_ctx is immutable after tls_ctx_create() (control thread) and
 * used by all workers; the ticket keys are the only thing that changes, through
 * an RCU pointer (tls_tickets_rotate(), control thread; read by the workers'
 * ticket callback without locks). A tls_worker and its connections belong to
 * one worker lcore; callbacks run there, from inside tcp callbacks or an API
 * call, and may call any API function, including closing the connection.
 */
#ifndef MESHDP_TLS_H
#define MESHDP_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <rte_mbuf.h>

#include "../config/config.h"
#include "../stats/stats.h"
#include "../tcp/tcp.h"

struct cfg_snapshot;
struct secret;
struct tls_ctx;
struct tls_conn;
struct tls_worker;

/** The longest SPIFFE ID kept for a peer (longer ones are refused). */
#define TLS_ID_MAX 256
/** SHA-256 of an identity's leaf certificate (DER). */
#define TLS_FP_LEN 32

enum tls_role {
	TLS_ROLE_SERVER = 0,
	TLS_ROLE_CLIENT,
};

/** A server's client-certificate policy (as Istio's PeerAuthentication modes). */
enum tls_mtls {
	TLS_MTLS_STRICT = 0, /* a client certificate is required */
	TLS_MTLS_PERMISSIVE, /* TLS with or without one, or plaintext (first byte not 0x16) */
	TLS_MTLS_DISABLE,    /* no client certificate asked for */
};

/** Why a connection ended (the closed callback's @p reason). */
enum tls_close_reason {
	TLS_CLOSE_NORMAL = 0, /* close_notify (or FIN) both ways, TCP closed normally */
	TLS_CLOSE_HANDSHAKE,  /* the handshake failed (counted by reason) */
	TLS_CLOSE_PROTOCOL,   /* a bad record or alert after the handshake */
	TLS_CLOSE_TCP,	      /* the TCP connection failed (RST, timeout, ...) */
};

/** One identity of a ctx and the policy that goes with it (a server's SNI entry). */
struct tls_policy_conf {
	/* SNI names this entry answers ("*.example" matches one label); none for
	 * the default */
	const char *const *names;
	uint32_t n_names;
	/* the local identity (dataplane/secrets; a client's may be NULL): the ctx
	 * takes references on its OpenSSL objects and copies the rest */
	const struct secret *secret;
	enum tls_mtls mtls; /* server only */
	/* server: SPIFFE IDs allowed to connect, exact or a prefix ending in '/'
	 * or "/" "*" (a trust domain or a namespace); none: any verified peer */
	const char *const *allowed_peers;
	uint32_t n_allowed_peers;
};

/** What tls_ctx_create() builds. Peers are verified against the trust bundles of
 * the snapshot the worker runs with (secrets_verify_peer()). */
struct tls_ctx_conf {
	enum tls_role role;
	/* names the ctx: sessions resume only on a ctx of the same name and
	 * identity (every worker's copy of a listener has the same) */
	const char *name;
	uint16_t min_version; /* TLS1_2_VERSION or TLS1_3_VERSION; 0: 1.2 */
	/* ALPN protocols in preference order (server: the ones it accepts) */
	const char *const *alpn;
	uint32_t n_alpn;
	struct tls_policy_conf def;	   /* the default identity */
	const struct tls_policy_conf *sni; /* server: identities selected by SNI */
	uint32_t n_sni;
	/* client: the SNI sent (NULL: none) and the SPIFFE ID the server must
	 * present (secure naming; NULL: any verified identity) */
	const char *server_name;
	const char *expected_peer;
	uint32_t drain_window_s; /* rotation: connections close within this (0: 30) */
	bool async; /* SSL_MODE_ASYNC: handshakes may be taken by an offload (tls_worker_poll()) */
	/* the OpenSSL property query of the ctx's algorithms (an offload provider:
	 * "?provider=qatprovider"); NULL: the defaults */
	const char *propq;
};

/**
 * Build a ctx. Control thread. @return the ctx or NULL with @p err filled
 * (OpenSSL's reason, or which field is wrong).
 */
struct tls_ctx *tls_ctx_create(const struct tls_ctx_conf *conf, char *err, size_t errlen);

/** Free a ctx no connection uses any more (control thread). NULL is fine. */
void tls_ctx_free(struct tls_ctx *ctx);

/** The default identity's fingerprint (what connections are established with). */
const uint8_t *tls_ctx_fingerprint(const struct tls_ctx *ctx);

/**
 * Replace the session ticket keys (current becomes previous; tickets under
 * older keys are refused, the client does a full handshake). Control thread;
 * the first call (or tls_ctx_create(), which calls it when no key exists)
 * makes the first key. Waits for an RCU grace period before freeing the
 * oldest set. @return 0 or -ENOMEM / -EIO (no randomness).
 */
int tls_tickets_rotate(void);

/** The TLS callbacks. closed is required, the rest optional. */
struct tls_callbacks {
	/** The handshake completed (or a permissive server saw plaintext); the
	 * peer's identity is known (tls_conn_info()). Return non-zero to refuse
	 * the connection: it is reset, and no callback runs after (as a TCP
	 * accepted callback's refusal). */
	int (*handshake_done)(struct tls_conn *c, void *arg);
	/** Plaintext may be waiting, or the peer closed (tls_recv_eof()). */
	void (*readable)(struct tls_conn *c, void *arg);
	/** tls_send_space(), zero before, is not any more (also at handshake done). */
	void (*writable)(struct tls_conn *c, void *arg);
	/** The user timer (tls_set_timer()) fired. */
	void (*timer)(struct tls_conn *c, void *arg);
	/** Optional: the connection's drain point (rotation, certificate expiry)
	 * came. With it, closing is the user's (an HTTP layer closes at a request
	 * boundary, tls_draining() is true from now on); without, the TLS layer
	 * shuts the connection down itself (close_notify, then FIN). */
	void (*drain)(struct tls_conn *c, void *arg);
	/** The connection is over; the handle is dead when this returns. Not
	 * called after tls_close() or tls_abort(). */
	void (*closed)(struct tls_conn *c, void *arg, enum tls_close_reason reason);
};

/**
 * Create a worker's TLS state: @p capacity connections, records sent in mbufs
 * of @p pool, counters into @p stats. Control thread. @return NULL with
 * rte_errno set.
 */
struct tls_worker *tls_worker_create(uint16_t worker_id, uint32_t capacity, int socket_id,
				     struct rte_mempool *pool, struct stats_block *stats);

/** Free it; every connection must be gone (tcp_stack_free() closes them first). */
void tls_worker_free(struct tls_worker *tw);

/**
 * Worker, at the top of each loop iteration (and before driving the TCP stack):
 * the snapshot peers are verified against (its trust bundles) and the clock
 * (microseconds, the TCP stack's) the timers run on.
 */
void tls_worker_begin(struct tls_worker *tw, const struct cfg_snapshot *snap, uint64_t now_us);

/**
 * Worker, each loop iteration: resume the handshakes an async offload took
 * (SSL_MODE_ASYNC, a ctx with tls_ctx_conf.async: SSL_ERROR_WANT_ASYNC parks
 * them), so an offload engine or provider never blocks the worker.
 */
void tls_worker_poll(struct tls_worker *tw);

/**
 * Worker: the identities of @p old were replaced by those of @p now (the same
 * listener or cluster, rebuilt). Each established connection of @p old whose
 * identity (the default, or the same SNI entry) has another fingerprint in
 * @p now is scheduled to close gracefully (close_notify, then FIN) at a random
 * point within @p now's drain window (SM-DR14; counted tls_rotation_closed).
 * @return the connections scheduled.
 */
uint32_t tls_worker_rotate(struct tls_worker *tw, const struct tls_ctx *old,
			   const struct tls_ctx *now);

/**
 * Worker: @p c was made under a ctx that @p now replaced, and its user decided
 * it goes (an HTTP pool whose cluster's tls block or identity changed).
 * Established, it is scheduled to close gracefully at a random point within
 * @p now's drain window (tls_draining() is true from now on; counted
 * tls_rotation_closed when the point comes), as tls_worker_rotate() does.
 */
void tls_conn_retire(struct tls_conn *c, const struct tls_ctx *now);

/**
 * The TCP callbacks a TLS connection runs on: a listener for TLS passes these
 * with its own @p accepted, whose body calls tls_accept(); tls_connect() uses
 * them itself.
 */
void tls_tcp_callbacks(struct tcp_callbacks *cb, int (*accepted)(struct tcp_conn *, void *));

/**
 * Server side: run TLS on @p tc (just accepted; call from the accepted
 * callback). Worker. @return the connection, or NULL (pool empty: counted;
 * the caller refuses @p tc).
 */
struct tls_conn *tls_accept(struct tls_worker *tw, const struct tls_ctx *ctx, struct tcp_conn *tc,
			    const struct tls_callbacks *cb, void *arg);

/**
 * Client side: tcp_connect() and a TLS handshake over it (arguments as
 * tcp_connect()). Worker. @return the connection or NULL with rte_errno.
 */
struct tls_conn *tls_connect(struct tls_worker *tw, const struct tls_ctx *ctx, struct tcp_stack *ts,
			     const struct tcp_addr *laddr, const struct tcp_addr *raddr,
			     uint16_t rport, const struct tcp_params *params,
			     const struct tls_callbacks *cb, void *arg, uint64_t now_us);

/**
 * Client, before the handshake (right after tls_connect()): offer the session
 * of @p from, an established connection of the same ctx (to the same server),
 * for resumption, when it holds a resumable one (TLS 1.3: once the server's
 * ticket arrived). The resumed peer is verified again at handshake done, secure
 * naming included. Worker. @return true when offered (tls_conn_info().resumed
 * says whether the server took it).
 */
bool tls_resume_from(struct tls_conn *c, const struct tls_conn *from);

/**
 * Hand @p c to another user: callbacks @p cb with @p arg from now on (also
 * from inside a callback, for the calls that follow it). Worker.
 */
void tls_set_callbacks(struct tls_conn *c, const struct tls_callbacks *cb, void *arg);

/**
 * Encrypt and queue the plaintext chain @p m. Owns @p m in every case.
 * @return bytes accepted (pkt_len), -EAGAIN before the handshake completed
 * (tls_send_space() is 0 then), -EPIPE after tls_shutdown() or an error.
 */
int tls_send(struct tls_conn *c, struct rte_mbuf *m);

/** Plaintext bytes tls_send() may queue now (0 until the handshake is done). */
uint32_t tls_send_space(const struct tls_conn *c);

/**
 * Up to about @p max bytes of plaintext as an mbuf chain (NULL: none now). A
 * bad record ends the connection (counted; the closed callback runs later,
 * from the stack, with TLS_CLOSE_PROTOCOL).
 */
struct rte_mbuf *tls_recv(struct tls_conn *c, uint32_t max);

/**
 * True once @p c is to close: its identity was replaced (tls_worker_rotate()
 * scheduled it) or its drain point came. A request layer answers the next
 * response with "connection: close".
 */
bool tls_draining(const struct tls_conn *c);

/** True once the peer's close_notify (or its FIN) arrived and all before it was taken. */
bool tls_recv_eof(const struct tls_conn *c);

/** Half-close: close_notify, then FIN. Reading goes on. */
void tls_shutdown(struct tls_conn *c);

/** close_notify, FIN, and forget: no callback runs after this, the handle is dead. */
void tls_close(struct tls_conn *c);

/** RST now; no callback runs after this, the handle is dead. */
void tls_abort(struct tls_conn *c);

/**
 * One-shot user timer @p delay_us from now (replaces the previous one); 0
 * cancels. (The TCP connection's timer is the TLS layer's: it also carries the
 * rotation and expiry deadlines.) Established connections close gracefully a
 * random time within the drain window before their own or the peer's
 * certificate expires (tls_expiry_closed).
 */
void tls_set_timer(struct tls_conn *c, uint64_t delay_us);

/** The TCP connection underneath (addresses, tcp_conn_get_info()). */
struct tcp_conn *tls_tcp(const struct tls_conn *c);

/** What later layers (authorization, logs, meshctl tls conns) know of a connection. */
struct tls_conn_info {
	char peer_id[TLS_ID_MAX]; /* the peer's SPIFFE ID; "" without a certificate */
	char peer_serial[64];	  /* the peer certificate's serial, hex; "" without one */
	int64_t peer_not_after;	  /* unix seconds; 0 without a certificate */
	char local_serial[64];	  /* the serial of the identity the connection was made with */
	int64_t local_not_after;
	uint8_t fingerprint[TLS_FP_LEN]; /* of that identity */
	char alpn[32];			 /* "" when none was agreed */
	char sni[128];			 /* the server name asked for; "" when none */
	const char *version;		 /* "TLSv1.3", "TLSv1.2", "plaintext" (permissive) */
	const char *cipher;		 /* "" before the handshake or plaintext */
	enum tls_role role;
	bool established;	      /* handshake done */
	bool plaintext;		      /* a permissive server's plaintext client */
	bool resumed;		      /* session resumed from a ticket */
	bool draining;		      /* scheduled to close (rotation or expiry) */
	uint64_t age_us;	      /* since tls_accept() / tls_connect() */
	struct tcp_addr laddr, raddr; /* of the TCP connection (family 0 once it is gone) */
	uint16_t lport, rport;	      /* host order */
};

/** Fill @p info for @p c. */
void tls_conn_info(const struct tls_conn *c, struct tls_conn_info *info);

/**
 * Up to @p max connections of the worker from position @p *cursor (0 to start;
 * updated). Worker (or a command run for it). @return how many were written.
 */
uint32_t tls_conns_dump(struct tls_worker *tw, struct tls_conn_info *out, uint32_t max,
			uint32_t *cursor);

/* ---- listener config ($.listeners[].tls; tls_config.c, control thread) ---- */

#define TLS_CFG_MAX_SNI	  8  /* SNI entries of a listener */
#define TLS_CFG_MAX_NAMES 8  /* server names of an SNI entry */
#define TLS_CFG_MAX_PEERS 16 /* allowed_peers of a listener or an SNI entry */
#define TLS_CFG_MAX_ALPN  8
#define TLS_CFG_NAME_LEN  128

/** One identity of a listener's tls block (the default, or an SNI entry). */
struct tls_cfg_policy {
	char secret[CFG_NAME_MAX]; /* $.secrets.identities[].name */
	uint8_t n_names;
	char names[TLS_CFG_MAX_NAMES][TLS_CFG_NAME_LEN];
	uint8_t mtls;  /* enum tls_mtls */
	bool mtls_set; /* "mtls" given (here, or the listener's for an SNI entry) */
	uint8_t n_allowed;
	char allowed[TLS_CFG_MAX_PEERS][TLS_ID_MAX];
};

/** A listener's tls block, as compiled (zeroed first: equal blocks are memcmp-equal). */
struct tls_server_conf {
	uint16_t min_version; /* TLS1_2_VERSION or TLS1_3_VERSION */
	uint8_t n_alpn;
	char alpn[TLS_CFG_MAX_ALPN][32];
	uint32_t drain_window_s;
	bool async;		      /* "async_offload": SSL_MODE_ASYNC (tls_worker_poll()) */
	char propq[TLS_CFG_NAME_LEN]; /* "provider_query": OpenSSL property query; "": defaults */
	struct tls_cfg_policy def;
	uint8_t n_sni;
	struct tls_cfg_policy sni[TLS_CFG_MAX_SNI];
};

/** A cluster's tls block ($.clusters[].tls): TLS origination to its endpoints. */
struct tls_client_conf {
	bool enabled;
	char secret[CFG_NAME_MAX];	    /* the client identity; "": none */
	char expected_peer[TLS_ID_MAX];	    /* the endpoints' SPIFFE ID (secure naming) */
	char server_name[TLS_CFG_NAME_LEN]; /* SNI sent; "": none */
	uint16_t min_version;
	uint8_t n_alpn;
	char alpn[TLS_CFG_MAX_ALPN][32];
	uint32_t drain_window_s;
};

struct json_t;

/**
 * Parse the optional "tls" member of cluster object @p cluster (at @p path)
 * into @p out (zeroed first; enabled when present). Control thread, from the
 * clusters section. @return 0 or -EINVAL with @p err naming the field.
 */
int tls_cfg_parse_client(const struct json_t *cluster, const char *path,
			 const struct cfg_snapshot *snap, struct tls_client_conf *out,
			 struct cfg_error *err);

/**
 * Build the client ctx of @p c (a cluster's block in @p snap), named @p name;
 * NULL into @p *out when @p c is not enabled. @return 0 or -errno, @p err filled.
 */
int tls_ctx_for_cluster(const struct cfg_snapshot *snap, const struct tls_client_conf *c,
			const char *name, struct tls_ctx **out, char *err, size_t errlen);

/** Is @p ctx (NULL: none) what @p c of @p snap asks for (block and identity)? */
bool tls_ctx_same_cluster(const struct tls_ctx *ctx, const struct cfg_snapshot *snap,
			  const struct tls_client_conf *c);

/**
 * Parse the optional "tls" member of listener @p idx (object @p listener at
 * @p path) into @p snap (the secrets it names must be in @p snap: the secrets
 * section compiles first). Control thread, from the proxy section's compile.
 * @return 0, -EINVAL with @p err naming the field, or -ENOMEM.
 */
int tls_cfg_listener(struct cfg_snapshot *snap, uint32_t idx, const struct json_t *listener,
		     const char *path, struct cfg_error *err);

/** Listener @p idx's tls block in @p snap, or NULL (plain TCP). */
const struct tls_server_conf *tls_cfg_listener_get(const struct cfg_snapshot *snap, uint32_t idx);

/**
 * Peer authentication (dataplane/authz, a section compiled after the proxy's):
 * set the mTLS mode of identity @p sni (-1: the default, else an SNI entry)
 * of listener @p idx's tls block. Only for an identity whose mode the
 * document left out (mtls_set false): a listener's own "mtls" wins.
 */
void tls_cfg_listener_set_mtls(struct cfg_snapshot *snap, uint32_t idx, int32_t sni,
			       enum tls_mtls mode);

/** Free what tls_cfg_listener() added to @p snap (the proxy section's free). */
void tls_cfg_free(struct cfg_snapshot *snap);

/**
 * Build the server ctx of listener @p idx of @p snap, named @p name (NULL
 * into @p *out when it has no tls block). Control thread. @return 0 or a
 * negative errno with @p err filled.
 */
int tls_ctx_for_listener(const struct cfg_snapshot *snap, uint32_t idx, const char *name,
			 struct tls_ctx **out, char *err, size_t errlen);

/**
 * Is @p ctx (NULL: none) what listener @p idx of @p snap asks for: the same
 * tls block, and identities with the same fingerprints? A listener whose
 * identity was rotated is a changed listener. Control thread.
 */
bool tls_ctx_same_listener(const struct tls_ctx *ctx, const struct cfg_snapshot *snap,
			   uint32_t idx);

#endif
