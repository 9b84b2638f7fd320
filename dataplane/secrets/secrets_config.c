/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * secrets: the `secrets` config section ($.secrets; struct cfg_section
 * secrets_cfg_section). Trust bundles load first, then every identity is read
 * (from the override store when `meshctl secret apply` gave one, else from its
 * files) and held to the SVID rules of secrets.h; one that fails refuses the
 * document with "$.secrets.identities[i]: <reason>", so the running
 * configuration stays. docs/CONFIG.md ("secrets") is the schema.
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../config/config_json.h"
#include "../log/log.h"
#include "secrets_internal.h"

#define DEF_MAX_LIFETIME_HOURS 24
#define MAX_LIFETIME_HOURS     (24 * 366) /* a year: longer is no short-lived identity */

/* $.secrets.on_long_lifetime, index into its names. */
enum { SECRETS_LONG_REFUSE, SECRETS_LONG_WARN };

struct secrets_cfg_ctx {
	struct secrets_snap *ss;
	struct cfg_error *err;
	int64_t now;
};

/* The first OpenSSL error in words (and the queue cleared), for messages. */
static const char *secrets_ssl_error(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, size, "no PEM data");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/*
 * The PEM text of member @p key (a file path) of @p o, or the override's
 * @p override when there is one. @return a BIO over it, or NULL with err set.
 */
static BIO *secrets_pem_bio(struct secrets_cfg_ctx *c, const json_t *o, const char *key,
			    const char *path, const char *override, char *file, size_t fsize)
{
	char kp[CFG_JPATH_LEN];
	BIO *bio;
	FILE *f;
	char *buf;
	size_t n;
	int rc;

	if (override != NULL) {
		snprintf(file, fsize, "meshctl secret");
		bio = BIO_new_mem_buf(override, -1);
		if (bio == NULL)
			cfg_fail(c->err, path, "out of memory");
		return bio;
	}
	cfg_path_key(kp, path, key);
	if ((rc = cfg_get_str(o, key, path, file, fsize, NULL, NULL, c->err)) != 0)
		return NULL;
	if (file[0] == '\0') {
		cfg_fail(c->err, kp, "required field missing; expected the path of a PEM file");
		return NULL;
	}
	f = fopen(file, "re");
	if (f == NULL) {
		cfg_fail(c->err, kp, "cannot open %s: %s", file, strerror(errno));
		return NULL;
	}
	buf = malloc(SECRETS_PEM_MAX + 1);
	n = buf != NULL ? fread(buf, 1, SECRETS_PEM_MAX + 1, f) : 0;
	if (buf == NULL || ferror(f) || n > SECRETS_PEM_MAX) {
		cfg_fail(c->err, kp, "cannot read %s: %s", file,
			 buf == NULL	       ? "out of memory"
			 : n > SECRETS_PEM_MAX ? "larger than 256 KiB"
					       : strerror(errno));
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	/* The BIO reads a copy, so the key's text can be wiped here at once. */
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || BIO_write(bio, buf, (int)n) != (int)n) {
		BIO_free(bio);
		bio = NULL;
		cfg_fail(c->err, kp, "out of memory");
	}
	OPENSSL_cleanse(buf, n);
	free(buf);
	return bio;
}

/* Every certificate of a PEM text, in order; @return how many were read, -1 on a bad block. */
static int secrets_read_certs(BIO *bio, STACK_OF(X509) * out)
{
	X509 *x;

	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(out, x)) {
			X509_free(x);
			return -1;
		}
	}
	/* The end of the text ends the loop too: only a real error counts. */
	if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return sk_X509_num(out);
	}
	return -1;
}

static bool secrets_is_ca(X509 *x)
{
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	bool ca = bc != NULL && bc->ca;

	BASIC_CONSTRAINTS_free(bc);
	return ca;
}

/* $.secrets.trust_domains[i]: a name and a bundle of CA certificates. */
static int secrets_parse_td(struct secrets_cfg_ctx *c, const json_t *o, const char *path,
			    uint32_t i)
{
	struct secrets_td *t = &c->ss->tds[i];
	const struct secrets_pem *ov;
	char np[CFG_JPATH_LEN], bp[CFG_JPATH_LEN], file[CFG_PATH_MAX * 4], e[256];
	const char *why;
	STACK_OF(X509) *certs = NULL;
	EVP_MD_CTX *md = NULL;
	BIO *bio;
	int n, rc = -EINVAL;

	cfg_path_key(np, path, "name");
	cfg_path_key(bp, path, "bundle");
	if ((rc = cfg_get_str(o, "name", path, t->name, sizeof(t->name), NULL, NULL, c->err)) != 0)
		return rc;
	if ((why = secrets_trust_domain_check(t->name, strlen(t->name))) != NULL)
		return cfg_fail_got(c->err, np,
				    "a trust domain name (lowercase letters, digits, '.', '-', "
				    "'_')",
				    json_object_get(o, "name"));
	for (uint32_t k = 0; k < i; k++)
		if (strcmp(c->ss->tds[k].name, t->name) == 0)
			return cfg_fail(c->err, np,
					"expected a trust domain no other entry names, got '%s' "
					"(also $.secrets.trust_domains[%u])",
					t->name, k);
	ov = secrets_override_get(SECRETS_KIND_BUNDLE, t->name);
	t->source = ov != NULL ? SECRETS_SOURCE_API : SECRETS_SOURCE_FILE;
	bio = secrets_pem_bio(c, o, "bundle", path, ov != NULL ? ov->cert : NULL, file,
			      sizeof(file));
	if (bio == NULL)
		return -EINVAL;
	rc = -EINVAL;
	certs = sk_X509_new_null();
	md = EVP_MD_CTX_new();
	if (certs == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = -ENOMEM;
		goto out;
	}
	n = secrets_read_certs(bio, certs);
	if (n <= 0) {
		cfg_fail(c->err, bp, "%s: expected one or more PEM certificates: %s", file,
			 n < 0 ? secrets_ssl_error(e, sizeof(e)) : "none found");
		goto out;
	}
	for (int k = 0; k < n; k++) {
		X509 *x = sk_X509_value(certs, k);
		unsigned char *der = NULL;
		int len;

		if (!secrets_is_ca(x)) {
			cfg_fail(c->err, bp,
				 "%s: certificate %d is not a CA (a bundle holds the trust "
				 "domain's CA certificates, basicConstraints CA:TRUE)",
				 file, k + 1);
			goto out;
		}
		len = i2d_X509(x, &der);
		if (len <= 0 || EVP_DigestUpdate(md, der, (size_t)len) != 1) {
			OPENSSL_free(der);
			cfg_fail(c->err, bp, "%s: certificate %d: %s", file, k + 1,
				 secrets_ssl_error(e, sizeof(e)));
			goto out;
		}
		OPENSSL_free(der);
	}
	EVP_DigestFinal_ex(md, t->fingerprint, NULL);
	t->roots = certs;
	certs = NULL;
	t->n_certs = (uint32_t)n;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	sk_X509_pop_free(certs, X509_free);
	BIO_free(bio);
	return rc;
}

/* Refuse identity @p path for @p why, saying where its PEM came from. */
static int secrets_refuse(struct secrets_cfg_ctx *c, const char *path, const struct secret *s,
			  const char *file, const char *why)
{
	if (s->source == SECRETS_SOURCE_API)
		return cfg_fail(c->err, path, "%s (PEM from meshctl secret apply)", why);
	return cfg_fail(c->err, path, "%s (%s)", why, file);
}

/* The identity's chain and key, from the override store or the files. */
static int secrets_read_identity(struct secrets_cfg_ctx *c, const json_t *o, const char *path,
				 struct secret *s, char *file, size_t fsize)
{
	const struct secrets_pem *ov = secrets_override_get(SECRETS_KIND_IDENTITY, s->name);
	char kfile[CFG_PATH_MAX * 4], kp[CFG_JPATH_LEN], cp[CFG_JPATH_LEN], e[256];
	STACK_OF(X509) * certs;
	BIO *bio;
	int n;

	s->source = ov != NULL ? SECRETS_SOURCE_API : SECRETS_SOURCE_FILE;
	cfg_path_key(cp, path, "cert");
	cfg_path_key(kp, path, "key");
	/* Both file members are required even while an override is in force, so
	 * that the document stands on its own after a restart. */
	if (ov != NULL && (json_object_get(o, "cert") == NULL || json_object_get(o, "key") == NULL))
		return cfg_fail(c->err, json_object_get(o, "cert") == NULL ? cp : kp,
				"required field missing; expected the path of a PEM file");
	bio = secrets_pem_bio(c, o, "cert", path, ov != NULL ? ov->cert : NULL, file, fsize);
	if (bio == NULL)
		return -EINVAL;
	certs = sk_X509_new_null();
	if (certs == NULL) {
		BIO_free(bio);
		return -ENOMEM;
	}
	n = secrets_read_certs(bio, certs);
	BIO_free(bio);
	if (n <= 0) {
		char why[320];

		sk_X509_pop_free(certs, X509_free);
		snprintf(why, sizeof(why), "expected a PEM certificate chain, leaf first: %s",
			 n < 0 ? secrets_ssl_error(e, sizeof(e)) : "none found");
		return secrets_refuse(c, ov != NULL ? path : cp, s, file, why);
	}
	s->leaf = sk_X509_shift(certs);
	s->chain = certs;
	bio = secrets_pem_bio(c, o, "key", path, ov != NULL ? ov->key : NULL, kfile, sizeof(kfile));
	if (bio == NULL)
		return -EINVAL;
	s->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (s->key == NULL) {
		char why[320];

		snprintf(why, sizeof(why), "expected a PEM private key: %s",
			 secrets_ssl_error(e, sizeof(e)));
		return secrets_refuse(c, ov != NULL ? path : kp, s, kfile, why);
	}
	return 0;
}

/* $.secrets.identities[i]: read, then held to every SVID rule. */
static int secrets_parse_identity(struct secrets_cfg_ctx *c, const json_t *o, const char *path,
				  uint32_t i)
{
	struct secrets_snap *ss = c->ss;
	struct secret *s = &ss->ids[i];
	struct secrets_peer peer;
	char file[CFG_PATH_MAX * 4], why[SECRETS_WHY_MAX + 64], e[256];
	enum secrets_peer_result r;
	int64_t lifetime_s = 0;
	unsigned int mdlen = 0;
	int rc;

	if ((rc = cfg_get_unique_name(o, path, s->name, ss->ids, sizeof(*s), i, "identity",
				      c->err)) != 0 ||
	    (rc = secrets_read_identity(c, o, path, s, file, sizeof(file))) != 0)
		return rc;
	r = secrets_check(ss, s->leaf, s->chain, c->now, &peer, &lifetime_s, why, sizeof(why));
	if (r != SECRETS_PEER_OK)
		return secrets_refuse(c, path, s, file, why);
	if (X509_check_private_key(s->leaf, s->key) != 1) {
		snprintf(why, sizeof(why), "the key does not match the certificate: %s",
			 secrets_ssl_error(e, sizeof(e)));
		return secrets_refuse(c, path, s, file, why);
	}
	if (lifetime_s > (int64_t)ss->max_lifetime_hours * 3600) {
		snprintf(why, sizeof(why),
			 "certificate lifetime is %lld h, over $.secrets.max_lifetime_hours %u",
			 (long long)(lifetime_s / 3600), ss->max_lifetime_hours);
		if (ss->refuse_long)
			return secrets_refuse(c, path, s, file, why);
		secrets_stat_inc(SECRETS_STAT_LONG_LIFETIME_WARNINGS);
		LOG(WARNING, "%s: %s (%s); on_long_lifetime is \"warn\"", path, why,
		    peer.spiffe_id);
	}
	memcpy(s->spiffe_id, peer.spiffe_id, sizeof(s->spiffe_id));
	secrets_spiffe_id_parse(s->spiffe_id, strlen(s->spiffe_id), s->trust_domain,
				sizeof(s->trust_domain));
	memcpy(s->serial, peer.serial, sizeof(s->serial));
	s->not_after = peer.not_after;
	secrets_asn1_time(X509_get0_notBefore(s->leaf), &s->not_before);
	if (X509_digest(s->leaf, EVP_sha256(), s->fingerprint, &mdlen) != 1 || mdlen != 32)
		return -ENOMEM;
	secrets_stat_inc(SECRETS_STAT_LOADED);
	return 0;
}

static int secrets_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			       const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	static const char *const keys[] = {"max_lifetime_hours", "on_long_lifetime", "identities",
					   "trust_domains", NULL};
	static const char *const id_keys[] = {"name", "cert", "key", NULL};
	static const char *const td_keys[] = {"name", "bundle", NULL};
	static const char *const long_names[] = {"refuse", "warn", NULL};
	struct secrets_cfg_ctx c = {.err = err, .now = (int64_t)time(NULL)};
	char path[CFG_JPATH_LEN];
	json_t *sec, *ids, *tds, *o;
	uint8_t on_long;
	int rc;

	(void)ctx;
	if ((rc = cfg_get_section(root, "secrets", "$", &sec, err)) != 0 || sec == NULL)
		return rc;
	snap->secrets = c.ss = calloc(1, sizeof(*c.ss));
	if (c.ss == NULL)
		return -ENOMEM;
	if ((rc = cfg_check_keys(sec, "$.secrets", keys, err)) != 0 ||
	    (rc = cfg_get_u32(sec, "max_lifetime_hours", "$.secrets", 1, MAX_LIFETIME_HOURS,
			      DEF_MAX_LIFETIME_HOURS, &c.ss->max_lifetime_hours, err)) != 0 ||
	    (rc = cfg_get_enum(sec, "on_long_lifetime", "$.secrets", long_names,
			       SECRETS_LONG_REFUSE, false, &on_long, err)) != 0 ||
	    (rc = cfg_get_array(sec, "trust_domains", "$.secrets", 0, SECRETS_MAX_TRUST_DOMAINS,
				false, "trust domains", &tds, err)) != 0 ||
	    (rc = cfg_get_array(sec, "identities", "$.secrets", 0, SECRETS_MAX_IDENTITIES, false,
				"identities", &ids, err)) != 0)
		return rc;
	c.ss->refuse_long = on_long == SECRETS_LONG_REFUSE;
	if (tds != NULL && json_array_size(tds) > 0) {
		c.ss->tds = calloc(json_array_size(tds), sizeof(*c.ss->tds));
		if (c.ss->tds == NULL)
			return -ENOMEM;
	}
	for (uint32_t i = 0; tds != NULL && i < json_array_size(tds); i++) {
		/* n_tds counts entries to free, also the one that fails halfway. */
		c.ss->n_tds++;
		if ((rc = cfg_get_item(tds, i, "$.secrets.trust_domains", "a trust domain object",
				       td_keys, &o, path, err)) != 0 ||
		    (rc = secrets_parse_td(&c, o, path, i)) != 0) {
			if (rc == -EINVAL)
				secrets_stat_inc(SECRETS_STAT_REFUSED);
			return rc;
		}
		secrets_stat_inc(SECRETS_STAT_BUNDLES_LOADED);
	}
	if (ids != NULL && json_array_size(ids) > 0) {
		c.ss->ids = calloc(json_array_size(ids), sizeof(*c.ss->ids));
		if (c.ss->ids == NULL)
			return -ENOMEM;
	}
	for (uint32_t i = 0; ids != NULL && i < json_array_size(ids); i++) {
		c.ss->n_ids++;
		if ((rc = cfg_get_item(ids, i, "$.secrets.identities", "an identity object",
				       id_keys, &o, path, err)) != 0 ||
		    (rc = secrets_parse_identity(&c, o, path, i)) != 0) {
			if (rc == -EINVAL)
				secrets_stat_inc(SECRETS_STAT_REFUSED);
			return rc;
		}
	}
	return 0;
}

static void secrets_cfg_free(struct cfg_snapshot *snap)
{
	struct secrets_snap *ss = snap->secrets;

	if (ss == NULL)
		return;
	for (uint32_t i = 0; i < ss->n_ids; i++) {
		X509_free(ss->ids[i].leaf);
		sk_X509_pop_free(ss->ids[i].chain, X509_free);
		EVP_PKEY_free(ss->ids[i].key);
	}
	for (uint32_t i = 0; i < ss->n_tds; i++)
		sk_X509_pop_free(ss->tds[i].roots, X509_free);
	free(ss->ids);
	free(ss->tds);
	free(ss);
	snap->secrets = NULL;
}

static const char *const secrets_cfg_keys[] = {"secrets", NULL};

const struct cfg_section secrets_cfg_section = {
	.name = "secrets",
	.keys = secrets_cfg_keys,
	.compile = secrets_cfg_compile,
	.free = secrets_cfg_free,
	.audit = secrets_audit,
};
