/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * secrets: workload identities (SPIFFE X.509-SVIDs: a certificate chain and its
 * key) and the trust bundles of trust domains, compiled into the config
 * snapshot by the `secrets` section (secrets_config.c; docs/CONFIG.md
 * "secrets") and replaceable at run time with `meshctl secret apply` /
 * `meshctl secret bundle` (secrets_commands.c).
 *
 * What an SVID must be (https://github.com/spiffe/spiffe/blob/main/standards/
 * X509-SVID.md), checked when an identity loads and when a peer presents one
 * (secrets_verify_peer()):
 *   - exactly one URI SAN, a valid SPIFFE ID ("spiffe://<trust-domain>/<path>":
 *     trust domain of lowercase letters, digits, '.', '-', '_'; path segments
 *     non-empty, not "." or "..", of letters, digits, '.', '-', '_'; no query,
 *     fragment, port or userinfo);
 *   - a leaf: basicConstraints CA:FALSE or absent, no keyCertSign or cRLSign
 *     key usage (SM-DR15);
 *   - not self-signed, and chaining to the bundle of its own trust domain
 *     (X509_V_FLAG_X509_STRICT, no partial chains: SM-DR12);
 *   - inside its validity window, and no longer-lived than
 *     $.secrets.max_lifetime_hours (refused, or a warning: SM-DR13).
 * An identity's key must match its certificate.
 *
 * Objects: every struct secret and every bundle belongs to one snapshot and is
 * immutable; the section's free releases the OpenSSL objects. A TLS context
 * that keeps one beyond the snapshot's life takes its own reference
 * (X509_up_ref, EVP_PKEY_up_ref).
 *
 * Threads: secrets_find(), secrets_verify_peer() and secrets_peer_result_name()
 * on any thread (workers: inside a TLS handshake, against the snapshot they
 * hold); they touch no shared mutable state. Everything else (compile, the
 * override store, commands) on the control thread.
 */
#ifndef MESHDP_SECRETS_H
#define MESHDP_SECRETS_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../config/config.h"

#define SECRETS_ID_MAX 256 /* a SPIFFE ID, "spiffe://<trust-domain>/<path>", with its NUL */

/** One identity, compiled into the snapshot, immutable. */
struct secret {
	char name[CFG_NAME_MAX];	   /* $.secrets.identities[].name */
	char spiffe_id[SECRETS_ID_MAX];	   /* the leaf's URI SAN */
	char trust_domain[SECRETS_ID_MAX]; /* its trust domain ("cluster.local") */
	X509 *leaf;
	STACK_OF(X509) * chain; /* intermediates after the leaf (may be empty), not the root */
	EVP_PKEY *key;
	int64_t not_before, not_after; /* unix seconds */
	char serial[64];	       /* hex, as `openssl x509 -serial` prints it */
	uint8_t fingerprint[32];       /* SHA-256 of the leaf's DER: "the same secret" across
					  snapshots */
	uint8_t source;		       /* enum secrets_source */
};

/** Where a secret's PEM came from. */
enum secrets_source {
	SECRETS_SOURCE_FILE, /* the files the document names */
	SECRETS_SOURCE_API,  /* meshctl secret apply / secret bundle (memory only) */
};

/** The section's part of the snapshot (secrets_internal.h); NULL without $.secrets. */
struct secrets_snap;

/**
 * The identity named @p name in @p snap.
 * @return the secret (lives as long as @p snap), or NULL when there is none.
 */
const struct secret *secrets_find(const struct cfg_snapshot *snap, const char *name);

/** @return the number of identities in @p snap (0 without $.secrets). */
unsigned int secrets_count(const struct cfg_snapshot *snap);

/** @return identity @p i of @p snap (document order), NULL past the end. */
const struct secret *secrets_at(const struct cfg_snapshot *snap, unsigned int i);

/**
 * Why a peer's certificate was refused. The names (secrets_peer_result_name())
 * are stable: the TLS layer's counters and log lines use them.
 */
enum secrets_peer_result {
	SECRETS_PEER_OK = 0,
	SECRETS_PEER_NO_CERT,		   /* "no_cert": the peer sent none */
	SECRETS_PEER_NO_URI_SAN,	   /* "no_uri_san" */
	SECRETS_PEER_MULTIPLE_URI_SAN,	   /* "multiple_uri_san" */
	SECRETS_PEER_BAD_SPIFFE_ID,	   /* "bad_spiffe_id": the URI SAN is no SPIFFE ID */
	SECRETS_PEER_UNKNOWN_TRUST_DOMAIN, /* "unknown_trust_domain": no bundle for it */
	SECRETS_PEER_CA_LEAF,		   /* "ca_leaf": CA:TRUE, keyCertSign or cRLSign */
	SECRETS_PEER_SELF_SIGNED,	   /* "self_signed" */
	SECRETS_PEER_UNTRUSTED,		   /* "untrusted": no chain to the trust domain's bundle */
	SECRETS_PEER_EXPIRED,		   /* "expired" (the leaf or a certificate of its chain) */
	SECRETS_PEER_NOT_YET_VALID,	   /* "not_yet_valid" */
	SECRETS_PEER_LIFETIME,		   /* "lifetime": over max_lifetime_hours ("refuse") */
	SECRETS_PEER_RESULT_MAX
};

/** What secrets_verify_peer() tells of an accepted peer. */
struct secrets_peer {
	char spiffe_id[SECRETS_ID_MAX];
	char serial[64]; /* hex, as `openssl x509 -serial` prints it */
	int64_t not_after;
};

/**
 * Verify a peer's presented chain as a SPIFFE X.509-SVID against @p snap's
 * trust bundle for the trust domain of its URI SAN. Any thread: no shared
 * mutable state, no lock (the bundle is each verification's trusted stack,
 * not an X509_STORE). Allocates an X509_STORE_CTX for the call.
 * @param leaf the peer's certificate (NULL: none was sent)
 * @param untrusted the intermediates it sent after the leaf (may be NULL)
 * @param now unix seconds the validity windows are checked at
 * @param out filled on SECRETS_PEER_OK (may be NULL); spiffe_id and serial
 *        also on the refusals after the URI SAN checks, for log lines
 * @return SECRETS_PEER_OK or the first rule the chain breaks, checked in this
 *         order: no_cert; no_uri_san, multiple_uri_san, bad_spiffe_id;
 *         ca_leaf; self_signed; unknown_trust_domain; the leaf's window
 *         (not_yet_valid, expired); the chain to the bundle (untrusted, or
 *         expired / not_yet_valid for a certificate of the chain); lifetime
 *         (only when $.secrets.on_long_lifetime is "refuse")
 */
enum secrets_peer_result secrets_verify_peer(const struct cfg_snapshot *snap, X509 *leaf,
					     STACK_OF(X509) * untrusted, int64_t now,
					     struct secrets_peer *out);

/** @return the stable name of @p r ("ok", "expired", ...; "unknown" out of range). */
const char *secrets_peer_result_name(enum secrets_peer_result r);

/** The `secrets` config section ($.secrets; dataplane/subsystems.c). */
extern const struct cfg_section secrets_cfg_section;

struct control_cmd_set;

/** meshctl secret apply / bundle / list (secrets_commands.c). */
extern const struct control_cmd_set secrets_commands;

/* ---- counters (secrets_counters.def): the control thread writes, any thread reads ---- */

enum secrets_stat {
#define STAT(id, name, help) SECRETS_STAT_##id,
#include "secrets_counters.def"
#undef STAT
	SECRETS_STAT_MAX
};

/** The node's count of @p id (one set for the node, not per worker). */
uint64_t secrets_stat(enum secrets_stat id);

/** "secrets_loaded" ...: the meshctl key; /metrics has meshdp_<name>_total. */
const char *secrets_stat_name(enum secrets_stat id);

/** The counter's one-line help (the # HELP of /metrics). */
const char *secrets_stat_help(enum secrets_stat id);

#endif
