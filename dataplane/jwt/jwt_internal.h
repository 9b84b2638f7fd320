/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jwt: the compiled form (private to dataplane/jwt).
 *
 * A snapshot's part (struct jwt_snap) holds the policies, their rules, and
 * per service the rules that apply (every policy whose scope covers it, in
 * document order). A rule's key set is either its own (jwks_file, jwks:
 * compiled with the snapshot, freed with it) or a fetched one: the rule
 * points at a node-wide struct jwt_uri (kept by URI for the process's life,
 * like authz's per-policy counters), whose current key set the control
 * thread swaps with rcu_assign_pointer() and frees after synchronize_rcu().
 */
#ifndef MESHDP_JWT_INTERNAL_H
#define MESHDP_JWT_INTERNAL_H

#include <stdatomic.h>

#include <cjose/cjose.h>
#include <openssl/evp.h>

#include "../authz/authz.h"
#include "jwt.h"

#define JWT_MAX_POLICIES 1024
#define JWT_MAX_RULES	 64 /* per policy */
#define JWT_MAX_AUD	 32
#define JWT_MAX_FROM	 8
#define JWT_MAX_KEYS	 64 /* per key set */
#define JWT_ISS_MAX	 256
#define JWT_URI_MAX	 512
#define JWT_JWKS_MAX	 (1 << 20) /* bytes of a JWKS document */
#define JWT_REPLAY_SLOTS (1u << 16)
#define JWT_REPLAY_PROBE 16

enum jwt_kty {
	JWT_KTY_RSA = 0,
	JWT_KTY_EC,
	JWT_KTY_OKP,
};

struct jwt_key {
	char kid[128];	  /* "" none */
	uint8_t kty;	  /* enum jwt_kty */
	char crv[16];	  /* EC, OKP */
	cjose_jwk_t *jwk; /* RSA, EC (libcjose verifies) */
	EVP_PKEY *ed;	  /* OKP Ed25519 (OpenSSL verifies) */
};

/* Immutable once published. */
struct jwt_keyset {
	uint32_t n, skipped; /* keys kept; JWKS entries skipped (kty oct, use enc, unknown) */
	struct jwt_key keys[];
};

/* A jwks_uri's fetched key set and its fetcher's state (control thread, except ks). */
struct jwt_uri {
	char uri[JWT_URI_MAX];
	char ca_file[256]; /* "" the system's CAs */
	uint32_t refresh_s;
	uint64_t compile;      /* the compile that set refresh_s (jwt_config.c) */
	struct jwt_keyset *ks; /* RCU: workers rcu_dereference(); NULL until a fetch succeeded */
	int64_t next_ms;       /* the next fetch's time */
	void *easy;	       /* the fetch in flight (a CURL *), NULL none */
	char *body;
	size_t body_len;
	bool body_over;
	uint64_t fetched, failed; /* fetches that gave a key set / that did not */
	char last_error[192];
	int64_t last_ok_ms;
	struct jwt_uri *next; /* the global list */
};

struct jwt_out_hdr {
	char claim[64];
	char header[64]; /* lower case */
};

struct jwt_from_hdr {
	char name[64];	 /* lower case */
	char prefix[32]; /* compared in any case: "bearer " */
};

struct jwt_policy;

struct jwt_rule {
	char issuer[JWT_ISS_MAX];
	uint32_t n_aud;
	char (*aud)[JWT_ISS_MAX];
	struct jwt_keyset *own;	       /* jwks_file / jwks (the snapshot's) */
	struct jwt_uri *uri;	       /* jwks_uri */
	char jwks_source[JWT_URI_MAX]; /* for meshctl: the file, "inline" or the URI */
	uint32_t n_hdr, n_param;
	struct jwt_from_hdr hdr[JWT_MAX_FROM];
	char param[JWT_MAX_FROM][64];
	bool forward, reject_replay;
	uint32_t n_out;
	struct jwt_out_hdr out[JWT_MAX_OUT];
	uint32_t skew_s, max_bytes;
	const struct jwt_policy *policy;
};

struct jwt_policy {
	struct authz_scope_sel sel;
	EVP_PKEY *dec; /* decryption_key_file: RSA or EC; NULL none */
	char dec_file[256];
	bool require_encryption;
	uint32_t n_rules;
	struct jwt_rule *rules;
};

/* What applies to one service. */
struct jwt_svc {
	uint32_t n_rules;
	const struct jwt_rule **rules;
	uint32_t n_remove;
	struct http_view *remove; /* every claim header of those rules */
	uint32_t n_dec;
	EVP_PKEY **dec; /* the decryption keys of the policies that apply */
};

struct jwt_snap {
	uint32_t n_policies;
	struct jwt_policy *policies;
	struct jwt_svc *svc; /* [n_services] */
	uint32_t n_uris;
	struct jwt_uri **uris; /* the fetched key sets the rules use (the tick fetches them) */
};

/* jwt_config.c */
struct jwt_keyset *jwt_keyset_parse(const char *text, size_t len, char *why, size_t why_len);
void jwt_keyset_free(struct jwt_keyset *ks);
extern struct jwt_uri *jwt_uri_list;

/* jwt_jwe.c: RFC 7516 compact JWE (5 parts, already split) with @p key into @p out. */
int jwt_jwe_decrypt(EVP_PKEY *key, const char *token, const uint32_t dots[4], size_t len,
		    uint8_t *out, size_t out_size, size_t *out_len);

/* jwt_verify.c */
int jwt_b64url_decode(const char *in, size_t len, uint8_t *out, size_t size, size_t *out_len);

/* jwt_replay.c */
enum jwt_replay_result {
	JWT_REPLAY_FRESH = 0,
	JWT_REPLAY_SEEN,
	JWT_REPLAY_FULL,
};

/** Enter hash @p h (of iss and jti) until @p exp_s; node-wide, lock-free. Any thread. */
enum jwt_replay_result jwt_replay_enter(uint64_t h, int64_t exp_s, int64_t now_s);
uint64_t jwt_replay_hash(const char *iss, size_t iss_len, const char *jti, size_t jti_len);
uint32_t jwt_replay_live(int64_t now_s);

/* jwt_config.c: SM-DR20 findings (cfg_section.audit) */
struct audit_report;
void jwt_audit(const struct cfg_snapshot *snap, struct audit_report *r);

#endif
