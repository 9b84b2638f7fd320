/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target of the SVID checks a peer's certificate meets in a handshake
 * (secrets_verify_peer()). A peer chooses every byte of its certificate, so
 * the input either is one (byte 0 odd: the rest is the DER of a leaf), or
 * describes one (byte 0 even) that the target builds and signs with a CA it
 * made at start, whose bundle is the snapshot's trust domain cluster.local,
 * so that inputs reach the chain and lifetime checks:
 *   byte 1: flags: 0x01 basicConstraints, 0x02 ... with CA:TRUE, 0x04 key
 *           usage digitalSignature, 0x08 ... and keyCertSign, 0x10 ... and
 *           cRLSign, 0x20 self-signed (subject = issuer, own key), 0x40 send
 *           the CA as an untrusted intermediate, 0x80 a second SAN extension
 *   byte 2, 3: notBefore, notAfter in hours from now (int8)
 *   the rest: subjectAltName entries separated by '\n', "D:" a DNS name,
 *           anything else a URI (any bytes, NUL included)
 * Checked: the result is in range and has a name; an accepted peer's SPIFFE
 * ID parses again and names cluster.local; a self-signed, CA or over-lived
 * certificate is never accepted. Everything is freed per input (leaks fail).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "dataplane/config/config.h"
#include "dataplane/secrets/secrets.h"
#include "dataplane/secrets/secrets_internal.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

/* UBSan reports and goes on by default: here a report fails the run as ASan's do */
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

#define FZ_SAN_MAX 8

static EVP_PKEY *fz_ca_key, *fz_leaf_key;
static X509 *fz_ca;
static struct cfg_snapshot *fz_snap;
static int64_t fz_now;

static void fz_die(const char *what)
{
	fprintf(stderr, "fuzz_secrets: %s\n", what);
	abort();
}

static void fz_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL || X509_add_ext(x, e, -1) != 1)
		fz_die("extension");
	X509_EXTENSION_free(e);
}

/* The CA: cluster.local's root, valid a day either side of now. */
static void fz_make_ca(void)
{
	X509_NAME *n;

	fz_ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fz_leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fz_ca = X509_new();
	if (fz_ca_key == NULL || fz_leaf_key == NULL || fz_ca == NULL)
		fz_die("keys");
	n = X509_get_subject_name(fz_ca);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz CA", -1, -1,
				   0);
	X509_set_issuer_name(fz_ca, n);
	X509_set_version(fz_ca, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(fz_ca), 1);
	X509_time_adj_ex(X509_getm_notBefore(fz_ca), -1, 0, (time_t *)&fz_now);
	X509_time_adj_ex(X509_getm_notAfter(fz_ca), 1, 0, (time_t *)&fz_now);
	X509_set_pubkey(fz_ca, fz_ca_key);
	fz_ext(fz_ca, fz_ca, NID_basic_constraints, "critical,CA:TRUE");
	fz_ext(fz_ca, fz_ca, NID_key_usage, "critical,keyCertSign,cRLSign");
	fz_ext(fz_ca, fz_ca, NID_subject_key_identifier, "hash");
	fz_ext(fz_ca, fz_ca, NID_authority_key_identifier, "keyid:always");
	if (X509_sign(fz_ca, fz_ca_key, EVP_sha256()) <= 0)
		fz_die("CA signature");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/meshdp-fuzz-secrets-XXXXXX", doc[512];
	struct cfg_error err;
	FILE *f;
	int fd;

	(void)argc;
	(void)argv;
	test_eal_init();
	fz_now = (int64_t)time(NULL);
	fz_make_ca();
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL || PEM_write_X509(f, fz_ca) != 1 || fclose(f) != 0)
		fz_die("bundle file");
	snprintf(doc, sizeof(doc),
		 "{\"version\": 1, \"secrets\": {\"max_lifetime_hours\": 24, \"trust_domains\": "
		 "[{\"name\": \"cluster.local\", \"bundle\": \"%s\"}]}}",
		 path);
	if (cfg_compile(doc, strlen(doc), NULL, 0, NULL, &fz_snap, &err) != 0) {
		fprintf(stderr, "fuzz_secrets: %s\n", err.msg);
		abort();
	}
	unlink(path);
	return 0;
}

/* subjectAltName from the '\n'-separated entries of @p d. */
static GENERAL_NAMES *fz_sans(const uint8_t *d, size_t n)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	size_t start = 0;

	for (size_t i = 0; gens != NULL && i <= n && sk_GENERAL_NAME_num(gens) < FZ_SAN_MAX; i++) {
		GENERAL_NAME *g;
		ASN1_IA5STRING *s;
		bool dns;

		if (i < n && d[i] != '\n')
			continue;
		dns = i - start >= 2 && d[start] == 'D' && d[start + 1] == ':';
		if (dns)
			start += 2;
		g = GENERAL_NAME_new();
		s = ASN1_IA5STRING_new();
		if (g == NULL || s == NULL || !ASN1_STRING_set(s, d + start, (int)(i - start))) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			break;
		}
		GENERAL_NAME_set0_value(g, dns ? GEN_DNS : GEN_URI, s);
		if (!sk_GENERAL_NAME_push(gens, g))
			GENERAL_NAME_free(g);
		start = i + 1;
	}
	return gens;
}

/* The leaf @p d describes (byte 0 even), signed; NULL if OpenSSL will not build it. */
static X509 *fz_build(const uint8_t *d, size_t n, uint8_t *flags)
{
	X509 *x = X509_new();
	const bool self = (d[1] & 0x20) != 0;
	EVP_PKEY *signer = self ? fz_leaf_key : fz_ca_key;
	GENERAL_NAMES *gens = NULL;
	char ku[96];

	*flags = d[1];
	if (x == NULL)
		return NULL;
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 2);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)(self ? "self" : "leaf"), -1, -1, 0);
	X509_set_issuer_name(x, self ? X509_get_subject_name(x) : X509_get_subject_name(fz_ca));
	X509_time_adj_ex(X509_getm_notBefore(x), 0, (int8_t)d[2] * 3600L, (time_t *)&fz_now);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, (int8_t)d[3] * 3600L, (time_t *)&fz_now);
	X509_set_pubkey(x, fz_leaf_key);
	if (d[1] & 0x01)
		fz_ext(x, self ? x : fz_ca, NID_basic_constraints,
		       (d[1] & 0x02) ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (d[1] & 0x04) {
		snprintf(ku, sizeof(ku), "critical,digitalSignature%s%s",
			 (d[1] & 0x08) ? ",keyCertSign" : "", (d[1] & 0x10) ? ",cRLSign" : "");
		fz_ext(x, self ? x : fz_ca, NID_key_usage, ku);
	}
	fz_ext(x, self ? x : fz_ca, NID_subject_key_identifier, "hash");
	fz_ext(x, self ? x : fz_ca, NID_authority_key_identifier, "keyid:always");
	gens = fz_sans(d + 4, n - 4);
	if (gens != NULL && sk_GENERAL_NAME_num(gens) > 0) {
		X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
		if (d[1] & 0x80)
			X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND);
	}
	GENERAL_NAMES_free(gens);
	if (X509_sign(x, signer, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *untrusted = NULL;
	struct secrets_peer peer;
	enum secrets_peer_result r;
	char td[SECRETS_ID_MAX];
	uint8_t flags = 0;
	X509 *x;

	if (size < 4)
		return 0;
	if (data[0] & 1) {
		const unsigned char *p = data + 1;

		x = d2i_X509(NULL, &p, (long)(size - 1));
	} else {
		x = fz_build(data, size, &flags);
	}
	ERR_clear_error();
	if (x == NULL)
		return 0;
	if (flags & 0x40) {
		untrusted = sk_X509_new_null();
		if (untrusted == NULL || !sk_X509_push(untrusted, fz_ca))
			fz_die("untrusted stack");
		X509_up_ref(fz_ca);
	}
	r = secrets_verify_peer(fz_snap, x, untrusted, fz_now, &peer);
	if ((unsigned int)r >= SECRETS_PEER_RESULT_MAX || secrets_peer_result_name(r) == NULL)
		fz_die("result out of range");
	if (r == SECRETS_PEER_OK) {
		if (secrets_spiffe_id_parse(peer.spiffe_id, strlen(peer.spiffe_id), td,
					    sizeof(td)) != NULL ||
		    strcmp(td, "cluster.local") != 0)
			fz_die("accepted a peer whose SPIFFE ID does not parse to cluster.local");
		if (!(data[0] & 1) &&
		    ((flags & 0x20) || ((flags & 0x01) && (flags & 0x02)) ||
		     ((flags & 0x04) && (flags & 0x18)) || (int8_t)data[2] > 0 ||
		     (int8_t)data[3] < 0 || (int8_t)data[3] - (int8_t)data[2] > 24))
			fz_die("accepted a self-signed, CA, out-of-window or over-lived leaf");
	}
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(x);
	ERR_clear_error();
	return 0;
}
