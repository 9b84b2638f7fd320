/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jwt: request authentication with JSON Web Tokens, as Istio's
 * RequestAuthentication (SM-DR20; docs/CONFIG.md "Request authentication").
 *
 * RFCs: 7515 (JWS, compact serialization only), 7516 (JWE, compact, nested
 * JWT only: cty "JWT"), 7517 (JWK / JWKS), 7518 (algorithms: RS256/384/512,
 * PS256/384/512, ES256/384/512 verified with libcjose; RSA-OAEP, RSA-OAEP-256,
 * ECDH-ES (direct key agreement, Concat KDF 4.6) with A128GCM / A256GCM
 * decrypted with OpenSSL EVP), 8037 (EdDSA, Ed25519 only, with OpenSSL EVP:
 * libcjose 0.6 has no OKP keys), 7519 (JWT: iss, aud, exp, nbf, iat, jti).
 * Partial: no JWS JSON serialization, no JWE key wrapping (A*KW, ECDH-ES+A*KW),
 * no "crit" extensions (a token naming any is refused as malformed).
 *
 * One config section (jwt_cfg_section, $.request_authentication) compiles
 * policies scoped like authz's (authz_scope_parse(): mesh, namespace, one
 * service) into, per destination service, the JWT rules of every policy that
 * applies. A rule names an issuer, its audiences, where its key set comes
 * from (a file, inline, or jwks_uri fetched over HTTPS by the control thread,
 * jwt_commands' tick, with libcurl; a worker only reads a compiled immutable
 * key set through an RCU-swapped pointer), where the token is (headers with a
 * prefix, query parameters) and what is forwarded.
 *
 * On a worker, per request to a service with rules, jwt_check():
 *   - no token: the request passes unauthenticated (authz decides);
 *   - a token: over plaintext from a non-loopback client refused; else
 *     parsed, decrypted when a JWE, verified, its claims checked, its jti
 *     entered into the node-wide replay cache; any refusal is a 401 with
 *     WWW-Authenticate and a counter per reason (enum jwt_reason);
 *   - the outcome carries the request principal ("iss/sub") and the claims
 *     for authz, and the edits for the upstream request: the token removed
 *     (unless forward_original_token), every configured claim header removed
 *     from what the client sent and, when authenticated, set from the claims.
 */
#ifndef MESHDP_JWT_H
#define MESHDP_JWT_H

#include <stdbool.h>
#include <stdint.h>

#include "../config/config.h"
#include "../control/control.h"
#include "../http/http.h"
#include "../router/router.h"
#include "../stats/stats.h"

/* Why a token was refused (or not). X(ENUM, name, counter): the name is the
 * counter's suffix and what jwt_reason_name() returns. */
#define JWT_REASONS(X)                                                                         \
	X(JWT_OK, "authenticated", STAT_JWT_AUTHENTICATED)                                     \
	X(JWT_NO_TOKEN, "no_token", STAT_JWT_NO_TOKEN)                                         \
	X(JWT_R_INSECURE_TRANSPORT, "insecure_transport", STAT_JWT_REFUSED_INSECURE_TRANSPORT) \
	X(JWT_R_TOO_LARGE, "too_large", STAT_JWT_REFUSED_TOO_LARGE)                            \
	X(JWT_R_MALFORMED, "malformed", STAT_JWT_REFUSED_MALFORMED)                            \
	X(JWT_R_ALG_REFUSED, "alg_refused", STAT_JWT_REFUSED_ALG_REFUSED)                      \
	X(JWT_R_ISSUER, "issuer", STAT_JWT_REFUSED_ISSUER)                                     \
	X(JWT_R_NOT_ENCRYPTED, "not_encrypted", STAT_JWT_REFUSED_NOT_ENCRYPTED)                \
	X(JWT_R_DECRYPT_FAILED, "decrypt_failed", STAT_JWT_REFUSED_DECRYPT_FAILED)             \
	X(JWT_R_NO_KEY, "no_key", STAT_JWT_REFUSED_NO_KEY)                                     \
	X(JWT_R_BAD_SIGNATURE, "bad_signature", STAT_JWT_REFUSED_BAD_SIGNATURE)                \
	X(JWT_R_NO_EXPIRY, "no_expiry", STAT_JWT_REFUSED_NO_EXPIRY)                            \
	X(JWT_R_EXPIRED, "expired", STAT_JWT_REFUSED_EXPIRED)                                  \
	X(JWT_R_NOT_YET_VALID, "not_yet_valid", STAT_JWT_REFUSED_NOT_YET_VALID)                \
	X(JWT_R_AUDIENCE, "audience", STAT_JWT_REFUSED_AUDIENCE)                               \
	X(JWT_R_REPLAY, "replay", STAT_JWT_REFUSED_REPLAY)

/* a list macro, not a statement: */
/* clang-format off */
enum jwt_reason {
#define JWT_X(e, n, c) e,
	JWT_REASONS(JWT_X)
#undef JWT_X
	JWT_REASON_N,
};
/* clang-format on */

/** The reason's name ("expired", "bad_signature" ...; "?" out of range). */
const char *jwt_reason_name(enum jwt_reason r);

#define JWT_MAX_CLAIMS 48    /* claim values kept for authz (array elements count one each) */
#define JWT_MAX_OUT    16    /* claim headers set on the upstream request */
#define JWT_MAX_REMOVE 32    /* distinct claim headers of the rules of one service */
#define JWT_OUT_BUF    4096  /* their text, the principal's and the claims' */
#define JWT_TOKEN_MAX  16384 /* the largest max_token_bytes */

/** What jwt_check() reads of a request. */
struct jwt_request {
	const struct router_str (*headers)[2]; /* [name, value] as received */
	uint32_t n_headers;
	struct router_str query; /* without the '?' */
	bool secure;		 /* over TLS, or from a loopback client (127.0.0.0/8) */
	int64_t now_s;		 /* Unix time; 0: the wall clock */
};

/** What jwt_check() found, and what the upstream request needs. Valid while the snapshot is. */
struct jwt_outcome {
	enum jwt_reason reason;
	bool authenticated;
	const char *principal; /* "iss/sub"; "" none */
	struct router_str claims[JWT_MAX_CLAIMS][2];
	uint32_t n_claims;
	/* header fields to drop from the forwarded request (the token's, and
	 * every claim header a rule sets: a client cannot forge them) */
	const struct http_view *remove;
	uint32_t n_remove;
	struct http_view token_header; /* the token's header when it goes; p NULL: none */
	struct router_str strip_param; /* the token's query parameter when it goes; p NULL: none */
	struct http_header add[JWT_MAX_OUT];
	uint32_t n_add;
	bool replay_full; /* the jti went unchecked: the replay cache's window was full */
	uint32_t used;	  /* of buf */
	char buf[JWT_OUT_BUF];
};

/** Does any request-authentication rule apply to @p service? */
bool jwt_active(const struct cfg_snapshot *snap, uint32_t service);

/**
 * Authenticate request @p rq to service @p service (an index into
 * snap->services) with the rules compiled for it, counting the outcome into
 * @p stats. Worker (or any thread holding @p snap, as an RCU reader when a
 * rule's key set is fetched).
 * @return true: go on (authenticated, or no token: out->authenticated says
 *         which); false: refuse with 401 (out->reason says why).
 */
bool jwt_check(const struct cfg_snapshot *snap, uint32_t service, const struct jwt_request *rq,
	       struct jwt_outcome *out, struct stats_block *stats);

/**
 * @p query (without '?') with parameter @p name removed, into @p out of
 * @p size bytes. @return its length, or -1 when it does not fit.
 */
int jwt_strip_param(struct router_str query, struct router_str name, char *out, size_t size);

/** $.request_authentication (dataplane/subsystems.c). */
extern const struct cfg_section jwt_cfg_section;

/** meshctl jwt (policies, rules, key sets, fetches, counters); the JWKS fetcher's tick. */
extern const struct control_cmd_set jwt_commands;

#endif
