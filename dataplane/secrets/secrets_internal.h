/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * secrets: what the SVID checks (secrets.c), the config section
 * (secrets_config.c) and the commands (secrets_commands.c) share.
 */
#ifndef MESHDP_SECRETS_INTERNAL_H
#define MESHDP_SECRETS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509_vfy.h>

#include "secrets.h"

#define SECRETS_MAX_IDENTITIES	  256
#define SECRETS_MAX_TRUST_DOMAINS 64
#define SECRETS_PEM_MAX		  (256u << 10) /* largest certificate, key or bundle file */
#define SECRETS_WHY_MAX		  256

/** A trust domain's bundle: the roots its SVIDs chain to. */
struct secrets_td {
	char name[SECRETS_ID_MAX];
	/* The bundle's certificates, handed to each verification as its trusted
	 * stack (X509_STORE_CTX_set0_trusted_stack): unlike an X509_STORE's
	 * lookups, which take the store's lock, reading it shares nothing that is
	 * written, so workers verify side by side. */
	STACK_OF(X509) * roots;
	uint32_t n_certs;
	uint8_t source;		 /* enum secrets_source */
	uint8_t fingerprint[32]; /* SHA-256 over the bundle's certificates' DER, in order */
};

struct secrets_snap {
	uint32_t max_lifetime_hours;
	bool refuse_long; /* on_long_lifetime: "refuse" (true) or "warn" */
	uint32_t n_ids;
	struct secret *ids;
	uint32_t n_tds;
	struct secrets_td *tds;
};

/*
 * The checks of an SVID shared by identity loads and peers: everything but the
 * key and the lifetime. @p why (may be NULL: workers do not format) gets the
 * reason of a refusal in words. *@p lifetime_s the leaf's not_after - not_before.
 */
enum secrets_peer_result secrets_check(const struct secrets_snap *ss, X509 *leaf,
				       STACK_OF(X509) * untrusted, int64_t now,
				       struct secrets_peer *out, int64_t *lifetime_s, char *why,
				       size_t whylen);

/** The section's audit hook (secrets_audit.c; cfg_section.audit). */
void secrets_audit(const struct cfg_snapshot *snap, struct audit_report *r);

/** Parse a SPIFFE ID; @return NULL and its trust domain in @p td, or what is wrong with it. */
const char *secrets_spiffe_id_parse(const char *id, size_t len, char *td, size_t tdsize);

/** @return NULL if @p td is a valid trust domain name, else what is wrong with it. */
const char *secrets_trust_domain_check(const char *td, size_t len);

/** The leaf's serial number in hex, as `openssl x509 -serial` prints it. */
void secrets_serial_hex(const X509 *x, char *buf, size_t size);

/** An ASN1_TIME as unix seconds; @return 0 or -EINVAL. */
int secrets_asn1_time(const ASN1_TIME *t, int64_t *out);

/* ---- the override store: PEM given by meshctl, preferred over the files (control thread) ---- */

enum secrets_kind {
	SECRETS_KIND_IDENTITY, /* cert = chain PEM, key = key PEM */
	SECRETS_KIND_BUNDLE,   /* cert = bundle PEM, no key */
};

struct secrets_pem {
	char *cert; /* NUL-terminated; NULL: no override */
	char *key;
};

/** The override for @p name, or NULL. The store keeps ownership. */
const struct secrets_pem *secrets_override_get(enum secrets_kind kind, const char *name);

/**
 * Make @p pem (copied) the override for @p name; the one it replaces moves to
 * *@p old (cert NULL when there was none), for secrets_override_restore() or
 * secrets_pem_free(). @return 0, -ENOMEM, -ENOSPC (store full).
 */
int secrets_override_put(enum secrets_kind kind, const char *name, const char *cert,
			 const char *key, struct secrets_pem *old);

/** Put back what secrets_override_put() returned in *@p old (takes it). */
void secrets_override_restore(enum secrets_kind kind, const char *name, struct secrets_pem *old);

void secrets_pem_free(struct secrets_pem *p);

/** Drop every override (tests; the daemon keeps them until it exits). */
void secrets_overrides_clear(void);

/* ---- counters (secrets.h): the control thread counts ---- */

void secrets_stat_inc(enum secrets_stat id);

#endif
