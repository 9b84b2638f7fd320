/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * secrets: the X.509-SVID checks (secrets.h says which), identity lookup, the
 * override store and the counters. secrets_check() is shared by identity loads
 * (secrets_config.c, with reasons in words) and by secrets_verify_peer()
 * (workers, inside a handshake: no formatting, no shared writes).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>
#include <rte_common.h>

#include "secrets_internal.h"

static const char *const secrets_peer_names[SECRETS_PEER_RESULT_MAX] = {
	[SECRETS_PEER_OK] = "ok",
	[SECRETS_PEER_NO_CERT] = "no_cert",
	[SECRETS_PEER_NO_URI_SAN] = "no_uri_san",
	[SECRETS_PEER_MULTIPLE_URI_SAN] = "multiple_uri_san",
	[SECRETS_PEER_BAD_SPIFFE_ID] = "bad_spiffe_id",
	[SECRETS_PEER_UNKNOWN_TRUST_DOMAIN] = "unknown_trust_domain",
	[SECRETS_PEER_CA_LEAF] = "ca_leaf",
	[SECRETS_PEER_SELF_SIGNED] = "self_signed",
	[SECRETS_PEER_UNTRUSTED] = "untrusted",
	[SECRETS_PEER_EXPIRED] = "expired",
	[SECRETS_PEER_NOT_YET_VALID] = "not_yet_valid",
	[SECRETS_PEER_LIFETIME] = "lifetime",
};

const char *secrets_peer_result_name(enum secrets_peer_result r)
{
	return (unsigned int)r < SECRETS_PEER_RESULT_MAX ? secrets_peer_names[r] : "unknown";
}

const struct secret *secrets_find(const struct cfg_snapshot *snap, const char *name)
{
	const struct secrets_snap *ss = snap != NULL ? snap->secrets : NULL;

	for (uint32_t i = 0; ss != NULL && i < ss->n_ids; i++)
		if (strcmp(ss->ids[i].name, name) == 0)
			return &ss->ids[i];
	return NULL;
}

unsigned int secrets_count(const struct cfg_snapshot *snap)
{
	return snap != NULL && snap->secrets != NULL ? snap->secrets->n_ids : 0;
}

const struct secret *secrets_at(const struct cfg_snapshot *snap, unsigned int i)
{
	return i < secrets_count(snap) ? &snap->secrets->ids[i] : NULL;
}

/* ---- SPIFFE IDs (https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md) ---- */

const char *secrets_trust_domain_check(const char *td, size_t len)
{
	if (len == 0)
		return "the trust domain is empty";
	if (len >= SECRETS_ID_MAX - sizeof("spiffe://"))
		return "the trust domain is too long";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)td[i];

		if (ch == ':')
			return "a SPIFFE ID has no port";
		if (ch == '@')
			return "a SPIFFE ID has no userinfo";
		if (!(islower(ch) || isdigit(ch) || ch == '.' || ch == '-' || ch == '_'))
			return "a trust domain has lowercase letters, digits, '.', '-' and '_' "
			       "only";
	}
	return NULL;
}

const char *secrets_spiffe_id_parse(const char *id, size_t len, char *td, size_t tdsize)
{
	static const char scheme[] = "spiffe://";
	const size_t sl = sizeof(scheme) - 1;
	const char *why, *path, *seg;
	size_t tdlen;

	if (len >= SECRETS_ID_MAX)
		return "the SPIFFE ID is too long";
	if (memchr(id, '\0', len) != NULL)
		return "the URI holds a NUL byte";
	if (len < sl || strncmp(id, scheme, sl) != 0)
		return "the URI is not a spiffe:// URI";
	path = memchr(id + sl, '/', len - sl);
	tdlen = path != NULL ? (size_t)(path - (id + sl)) : len - sl;
	if (memchr(id, '?', len) != NULL)
		return "a SPIFFE ID has no query";
	if (memchr(id, '#', len) != NULL)
		return "a SPIFFE ID has no fragment";
	if ((why = secrets_trust_domain_check(id + sl, tdlen)) != NULL)
		return why;
	if (path == NULL || path + 1 == id + len)
		return "an SVID's SPIFFE ID has a path after the trust domain";
	for (seg = path + 1; seg <= id + len; seg++) {
		const char *end = memchr(seg, '/', (size_t)(id + len - seg));
		size_t n = end != NULL ? (size_t)(end - seg) : (size_t)(id + len - seg);

		if (n == 0)
			return "a SPIFFE ID's path segments are not empty";
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return "a SPIFFE ID's path has no '.' or '..' segments";
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)seg[i];

			if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == '_'))
				return "a SPIFFE ID's path has letters, digits, '.', '-' and '_' "
				       "only";
		}
		seg += n;
	}
	if (tdlen >= tdsize)
		return "the trust domain is too long";
	memcpy(td, id + sl, tdlen);
	td[tdlen] = '\0';
	return NULL;
}

/* ---- certificate fields ---- */

void secrets_serial_hex(const X509 *x, char *buf, size_t size)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	const unsigned char *d = ASN1_STRING_get0_data(sn);
	int n = ASN1_STRING_length(sn);
	size_t o = 0;

	/* i2a_ASN1_INTEGER(), which `openssl x509 -serial` uses: "-" for negative,
	 * two uppercase digits a byte, "00" for zero. */
	if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER && o + 1 < size)
		buf[o++] = '-';
	if (n == 0 && o + 2 < size) {
		buf[o++] = '0';
		buf[o++] = '0';
	}
	for (int i = 0; i < n && o + 2 < size; i++) {
		static const char hex[] = "0123456789ABCDEF";

		buf[o++] = hex[d[i] >> 4];
		buf[o++] = hex[d[i] & 15];
	}
	buf[o] = '\0';
}

int secrets_asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

#define WHY(...)                                            \
	do {                                                \
		if (why != NULL)                            \
			snprintf(why, whylen, __VA_ARGS__); \
	} while (0)

/* The leaf's URI SANs: exactly one, a SPIFFE ID, copied to @p id. */
static enum secrets_peer_result secrets_check_uri(X509 *leaf, char *id, char *td, char *why,
						  size_t whylen)
{
	GENERAL_NAMES *gens;
	const char *uri = NULL, *bad;
	int crit = -1, n_uri = 0, len = 0;

	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit == -2) {
		WHY("certificate has two subjectAltName extensions");
		return SECRETS_PEER_MULTIPLE_URI_SAN;
	}
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_URI)
			continue;
		if (n_uri++ == 0) {
			uri = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
			len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
		}
	}
	if (n_uri == 0) {
		GENERAL_NAMES_free(gens);
		WHY("certificate has no URI SAN (an SVID has exactly one, its SPIFFE ID)");
		return SECRETS_PEER_NO_URI_SAN;
	}
	if (n_uri > 1) {
		GENERAL_NAMES_free(gens);
		WHY("certificate has %d URI SANs (an SVID has exactly one, its SPIFFE ID)", n_uri);
		return SECRETS_PEER_MULTIPLE_URI_SAN;
	}
	bad = secrets_spiffe_id_parse(uri, (size_t)len, td, SECRETS_ID_MAX);
	if (bad == NULL) {
		memcpy(id, uri, (size_t)len);
		id[len] = '\0';
	} else {
		WHY("certificate's URI SAN '%.*s' is not a valid SPIFFE ID: %s",
		    len > 128 ? 128 : len, uri, bad);
	}
	GENERAL_NAMES_free(gens);
	return bad == NULL ? SECRETS_PEER_OK : SECRETS_PEER_BAD_SPIFFE_ID;
}

/* A leaf: CA:FALSE or no basicConstraints, no keyCertSign or cRLSign (SM-DR15). */
static enum secrets_peer_result secrets_check_leaf(X509 *leaf, char *why, size_t whylen)
{
	BASIC_CONSTRAINTS *bc;
	uint32_t ku = X509_get_key_usage(leaf);
	int crit = -1;
	bool ca;

	bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
	if (bc == NULL && crit == -2) {
		WHY("certificate has two basicConstraints extensions");
		return SECRETS_PEER_CA_LEAF;
	}
	ca = bc != NULL && bc->ca;
	BASIC_CONSTRAINTS_free(bc);
	if (ca) {
		WHY("certificate is a CA (basicConstraints CA:TRUE); an SVID is a leaf");
		return SECRETS_PEER_CA_LEAF;
	}
	if (ku != UINT32_MAX && (ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0) {
		WHY("certificate has key usage %s; an SVID leaf may not sign certificates or CRLs",
		    (ku & KU_KEY_CERT_SIGN) != 0 ? "keyCertSign" : "cRLSign");
		return SECRETS_PEER_CA_LEAF;
	}
	return SECRETS_PEER_OK;
}

static const struct secrets_td *secrets_td_find(const struct secrets_snap *ss, const char *td)
{
	for (uint32_t i = 0; ss != NULL && i < ss->n_tds; i++)
		if (strcmp(ss->tds[i].name, td) == 0)
			return &ss->tds[i];
	return NULL;
}

/* The chain from @p leaf through @p untrusted to the bundle of @p t (SM-DR12). */
static enum secrets_peer_result secrets_check_chain(const struct secrets_td *t, X509 *leaf,
						    STACK_OF(X509) * untrusted, int64_t now,
						    char *why, size_t whylen)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int ok, err;

	if (ctx == NULL || X509_STORE_CTX_init(ctx, NULL, leaf, untrusted) != 1) {
		X509_STORE_CTX_free(ctx);
		WHY("cannot verify the certificate chain: out of memory");
		return SECRETS_PEER_UNTRUSTED;
	}
	X509_STORE_CTX_set0_trusted_stack(ctx, t->roots);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(param, (time_t)now);
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	if (ok == 1)
		return SECRETS_PEER_OK;
	WHY("certificate does not chain to the bundle of trust domain '%s': %s", t->name,
	    X509_verify_cert_error_string(err));
	if (err == X509_V_ERR_CERT_HAS_EXPIRED)
		return SECRETS_PEER_EXPIRED;
	if (err == X509_V_ERR_CERT_NOT_YET_VALID)
		return SECRETS_PEER_NOT_YET_VALID;
	return SECRETS_PEER_UNTRUSTED;
}

enum secrets_peer_result secrets_check(const struct secrets_snap *ss, X509 *leaf,
				       STACK_OF(X509) * untrusted, int64_t now,
				       struct secrets_peer *out, int64_t *lifetime_s, char *why,
				       size_t whylen)
{
	char id[SECRETS_ID_MAX], td[SECRETS_ID_MAX];
	const struct secrets_td *t;
	enum secrets_peer_result r;
	int64_t nb, na;

	if (leaf == NULL) {
		WHY("no certificate");
		return SECRETS_PEER_NO_CERT;
	}
	if ((r = secrets_check_uri(leaf, id, td, why, whylen)) != SECRETS_PEER_OK)
		return r;
	if (out != NULL) {
		memcpy(out->spiffe_id, id, sizeof(id));
		secrets_serial_hex(leaf, out->serial, sizeof(out->serial));
		out->not_after = 0;
	}
	if ((r = secrets_check_leaf(leaf, why, whylen)) != SECRETS_PEER_OK)
		return r;
	if (X509_NAME_cmp(X509_get_subject_name(leaf), X509_get_issuer_name(leaf)) == 0 &&
	    X509_verify(leaf, X509_get0_pubkey(leaf)) == 1) {
		WHY("certificate is self-signed; an SVID chains to its trust domain's bundle");
		return SECRETS_PEER_SELF_SIGNED;
	}
	t = secrets_td_find(ss, td);
	if (t == NULL) {
		WHY("trust domain '%s' of %s has no bundle in $.secrets.trust_domains", td, id);
		return SECRETS_PEER_UNKNOWN_TRUST_DOMAIN;
	}
	if (secrets_asn1_time(X509_get0_notBefore(leaf), &nb) != 0 ||
	    secrets_asn1_time(X509_get0_notAfter(leaf), &na) != 0) {
		WHY("certificate has an unreadable validity time");
		return SECRETS_PEER_UNTRUSTED;
	}
	if (out != NULL)
		out->not_after = na;
	*lifetime_s = na - nb;
	if (now < nb) {
		WHY("certificate is not yet valid (notBefore is %lld s from now)",
		    (long long)(nb - now));
		return SECRETS_PEER_NOT_YET_VALID;
	}
	if (now > na) {
		WHY("certificate expired %lld s ago", (long long)(now - na));
		return SECRETS_PEER_EXPIRED;
	}
	return secrets_check_chain(t, leaf, untrusted, now, why, whylen);
}

enum secrets_peer_result secrets_verify_peer(const struct cfg_snapshot *snap, X509 *leaf,
					     STACK_OF(X509) * untrusted, int64_t now,
					     struct secrets_peer *out)
{
	const struct secrets_snap *ss = snap != NULL ? snap->secrets : NULL;
	enum secrets_peer_result r;
	int64_t lifetime_s = 0;

	r = secrets_check(ss, leaf, untrusted, now, out, &lifetime_s, NULL, 0);
	if (r == SECRETS_PEER_OK && ss->refuse_long &&
	    lifetime_s > (int64_t)ss->max_lifetime_hours * 3600)
		return SECRETS_PEER_LIFETIME;
	return r;
}

/* ---- the override store (control thread) ---- */

struct secrets_override {
	enum secrets_kind kind;
	char name[SECRETS_ID_MAX];
	struct secrets_pem pem; /* cert NULL: free slot */
};

static struct secrets_override
	secrets_overrides[SECRETS_MAX_IDENTITIES + SECRETS_MAX_TRUST_DOMAINS];

static struct secrets_override *secrets_override_slot(enum secrets_kind kind, const char *name)
{
	for (size_t i = 0; i < RTE_DIM(secrets_overrides); i++) {
		struct secrets_override *o = &secrets_overrides[i];

		if (o->pem.cert != NULL && o->kind == kind && strcmp(o->name, name) == 0)
			return o;
	}
	return NULL;
}

const struct secrets_pem *secrets_override_get(enum secrets_kind kind, const char *name)
{
	struct secrets_override *o = secrets_override_slot(kind, name);

	return o != NULL ? &o->pem : NULL;
}

void secrets_pem_free(struct secrets_pem *p)
{
	free(p->cert);
	if (p->key != NULL)
		OPENSSL_cleanse(p->key, strlen(p->key));
	free(p->key);
	p->cert = p->key = NULL;
}

int secrets_override_put(enum secrets_kind kind, const char *name, const char *cert,
			 const char *key, struct secrets_pem *old)
{
	struct secrets_override *o = secrets_override_slot(kind, name);
	struct secrets_pem pem;

	if (strlen(name) >= SECRETS_ID_MAX)
		return -EINVAL;
	pem.cert = strdup(cert);
	pem.key = key != NULL ? strdup(key) : NULL;
	if (pem.cert == NULL || (key != NULL && pem.key == NULL)) {
		secrets_pem_free(&pem);
		return -ENOMEM;
	}
	for (size_t i = 0; o == NULL && i < RTE_DIM(secrets_overrides); i++)
		if (secrets_overrides[i].pem.cert == NULL)
			o = &secrets_overrides[i];
	if (o == NULL) {
		secrets_pem_free(&pem);
		return -ENOSPC;
	}
	*old = o->pem;
	o->kind = kind;
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->pem = pem;
	return 0;
}

void secrets_override_restore(enum secrets_kind kind, const char *name, struct secrets_pem *old)
{
	struct secrets_override *o = secrets_override_slot(kind, name);

	if (o == NULL)
		return;
	secrets_pem_free(&o->pem);
	o->pem = *old;
	old->cert = old->key = NULL;
}

void secrets_overrides_clear(void)
{
	for (size_t i = 0; i < RTE_DIM(secrets_overrides); i++)
		secrets_pem_free(&secrets_overrides[i].pem);
}

/* ---- counters ---- */

static uint64_t secrets_stats[SECRETS_STAT_MAX];

static const char *const secrets_stat_names[SECRETS_STAT_MAX] = {
#define STAT(id, name, help) [SECRETS_STAT_##id] = #name,
#include "secrets_counters.def"
#undef STAT
};

void secrets_stat_inc(enum secrets_stat id)
{
	__atomic_store_n(&secrets_stats[id],
			 __atomic_load_n(&secrets_stats[id], __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

uint64_t secrets_stat(enum secrets_stat id)
{
	return __atomic_load_n(&secrets_stats[id], __ATOMIC_RELAXED);
}

const char *secrets_stat_name(enum secrets_stat id)
{
	return secrets_stat_names[id];
}

const char *secrets_stat_help(enum secrets_stat id)
{
	static const char *const helps[SECRETS_STAT_MAX] = {
#define STAT(id, name, help) [SECRETS_STAT_##id] = help,
#include "secrets_counters.def"
#undef STAT
	};

	return helps[id];
}
