/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jwt: $.request_authentication refused at the exact path for each mistake;
 * tokens made here with OpenSSL (JWS: RS256, PS256, ES256, ES384, EdDSA; JWE:
 * RSA-OAEP-256 and ECDH-ES with A256GCM and A128GCM, nested) verified by
 * jwt_check(), and every refusal reason with its counter: plaintext from a
 * non-loopback client, too large, malformed, alg none, HS256 signed with the
 * RSA public key (algorithm confusion), unknown issuer, unencrypted where a
 * JWE is required, a JWE no key opens, unknown kid, tampered signature, no
 * exp, expired, nbf and iat in the future, wrong audience, replayed jti;
 * the outcome's principal, claims, claim headers and token edits; query
 * parameter tokens; the replay cache across two threads (seen by the other
 * within 1 ms); authz on request principals and claims; the SM-DR20 audit;
 * a jwks_uri fetched by the control thread's tick from an HTTPS server on
 * loopback (python3 http.server with ssl): no key before the first fetch, a
 * bad document and a dead server counted while the last good set verifies.
 */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <valgrind/valgrind.h>

#include "certs_fixture.h"
#include "config_fixture.h"
#include "dataplane/audit/audit.h"
#include "dataplane/authz/authz.h"
#include "dataplane/jwt/jwt_internal.h"
#include "test_eal.h"

enum { WEB, CART, VAULT };

static char dir[64];
static EVP_PKEY *k_rsa, *k_p256, *k_p384, *k_ed, *k_other, *dec_rsa, *dec_ec;
static char rsa_pub_pem[2048];
static struct stats_block st;
static int64_t now;

/* ---- token making ---- */

static size_t b64(const uint8_t *in, size_t len, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = t[(v >> 6) & 63];
		out[o++] = t[v & 63];
	}
	if (len - i == 1) {
		out[o++] = t[in[i] >> 2];
		out[o++] = t[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = t[v >> 10];
		out[o++] = t[(v >> 4) & 63];
		out[o++] = t[(v & 15) << 2];
	}
	out[o] = '\0';
	return o;
}

static size_t b64s(const char *s, char *out)
{
	return b64((const uint8_t *)s, strlen(s), out);
}

static size_t sign(const char *alg, EVP_PKEY *key, const char *in, uint8_t *sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	const EVP_MD *h = strcmp(alg, "EdDSA") == 0    ? NULL
			  : strstr(alg, "384") != NULL ? EVP_sha384()
						       : EVP_sha256();
	uint8_t der[600];
	size_t n = sizeof(der);

	assert_int_equal(EVP_DigestSignInit(md, &pc, h, NULL, key), 1);
	if (alg[0] == 'P') { /* RFC 7518 3.5: the salt is as long as the hash */
		EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST);
	}
	assert_int_equal(EVP_DigestSign(md, der, &n, (const uint8_t *)in, strlen(in)), 1);
	EVP_MD_CTX_free(md);
	if (alg[0] == 'E' && alg[1] == 'S') {
		const uint8_t *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
		int fl = strstr(alg, "384") != NULL ? 48 : 32;

		BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, fl);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + fl, fl);
		ECDSA_SIG_free(es);
		return (size_t)fl * 2;
	}
	memcpy(sig, der, n);
	return n;
}

/* A compact JWS of @p payload with header {"alg", "kid"?, "typ"}; static buffer (ring of 4). */
static char *jws(const char *alg, const char *kid, EVP_PKEY *key, const char *payload)
{
	static char ring[4][16384];
	static int k;
	char *out = ring[k++ % 4], hdr[256];
	uint8_t sig[600];
	size_t n, sl = 0;

	if (kid != NULL)
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg,
			 kid);
	else
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	n = b64s(hdr, out);
	out[n++] = '.';
	n += b64s(payload, out + n);
	if (strcmp(alg, "HS256") == 0) {
		unsigned int hl = 0;

		/* algorithm confusion: the RSA public key's PEM as the HMAC secret */
		HMAC(EVP_sha256(), rsa_pub_pem, (int)strlen(rsa_pub_pem), (const uint8_t *)out, n,
		     sig, &hl);
		sl = hl;
	} else if (strcmp(alg, "none") != 0) {
		out[n] = '\0';
		sl = sign(alg, key, out, sig);
	}
	out[n++] = '.';
	b64(sig, sl, out + n);
	return out;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void ec_xy(EVP_PKEY *k, char *x, char *y)
{
	uint8_t pub[133];
	size_t n;

	assert_int_equal(
		EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n),
		1);
	b64(pub + 1, (n - 1) / 2, x);
	b64(pub + 1 + (n - 1) / 2, (n - 1) / 2, y);
}

/* A nested JWT: @p inner encrypted to @p node with alg (RSA-OAEP-256, ECDH-ES) and enc. */
static char *jwe(const char *alg, const char *enc, EVP_PKEY *node, const char *inner)
{
	static char out[32768];
	uint8_t cek[32], iv[12], tag[16], ek[512], ct[16384];
	size_t cl = strcmp(enc, "A256GCM") == 0 ? 32 : 16, ekl = 0, n;
	char hdr[512], x[96], y[96];
	EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
	int l = 0, f = 0;

	RAND_bytes(iv, sizeof(iv));
	if (strcmp(alg, "ECDH-ES") == 0) {
		EVP_PKEY *eph = EVP_EC_gen("P-256");
		EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(eph, NULL);
		uint8_t z[32], info[128], dig[32];
		size_t zl = sizeof(z), o = 0;

		assert_int_equal(EVP_PKEY_derive_init(dc), 1);
		assert_int_equal(EVP_PKEY_derive_set_peer(dc, node), 1);
		assert_int_equal(EVP_PKEY_derive(dc, z, &zl), 1);
		be32(info, 1);
		memcpy(info + 4, z, 32);
		o = 36;
		be32(info + o, (uint32_t)strlen(enc));
		memcpy(info + o + 4, enc, strlen(enc));
		o += 4 + strlen(enc);
		be32(info + o, 0);
		be32(info + o + 4, 0);
		be32(info + o + 8, (uint32_t)cl * 8);
		o += 12;
		EVP_Digest(info, o, dig, NULL, EVP_sha256(), NULL);
		memcpy(cek, dig, cl);
		ec_xy(eph, x, y);
		snprintf(hdr, sizeof(hdr),
			 "{\"alg\":\"ECDH-ES\",\"enc\":\"%s\",\"cty\":\"JWT\",\"epk\":{\"kty\":"
			 "\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}}",
			 enc, x, y);
		EVP_PKEY_CTX_free(dc);
		EVP_PKEY_free(eph);
	} else {
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(node, NULL);

		RAND_bytes(cek, (int)cl);
		ekl = sizeof(ek);
		assert_int_equal(EVP_PKEY_encrypt_init(pc), 1);
		EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING);
		EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256());
		EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256());
		assert_int_equal(EVP_PKEY_encrypt(pc, ek, &ekl, cek, cl), 1);
		EVP_PKEY_CTX_free(pc);
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"enc\":\"%s\",\"cty\":\"JWT\"}", alg,
			 enc);
	}
	n = b64s(hdr, out);
	EVP_EncryptInit_ex(cc, cl == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), NULL, cek, iv);
	EVP_EncryptUpdate(cc, NULL, &l, (const uint8_t *)out, (int)n);
	EVP_EncryptUpdate(cc, ct, &l, (const uint8_t *)inner, (int)strlen(inner));
	EVP_EncryptFinal_ex(cc, ct + l, &f);
	EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(cc);
	out[n++] = '.';
	n += b64(ek, ekl, out + n);
	out[n++] = '.';
	n += b64(iv, 12, out + n);
	out[n++] = '.';
	n += b64(ct, (size_t)(l + f), out + n);
	out[n++] = '.';
	b64(tag, 16, out + n);
	return out;
}

/* Claims: iss, sub, aud, exp relative to now (0: none), and extra members ("" none). */
static char *claims(const char *iss, const char *sub, const char *aud, int64_t exp_in,
		    const char *extra)
{
	static char ring[4][2048];
	static int k;
	char *o = ring[k++ % 4];
	int n = snprintf(o, 2048, "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\"", iss, sub, aud);

	if (exp_in != 0)
		n += snprintf(o + n, 2048 - (size_t)n, ",\"exp\":%" PRId64, now + exp_in);
	snprintf(o + n, 2048 - (size_t)n, "%s%s}", extra[0] ? "," : "", extra);
	return o;
}

/* ---- keys and the document ---- */

static void write_jwks(void)
{
	char path[128], n64[600], e64[16], x[96], y[96], x3[96], y3[96], xe[64];
	BIGNUM *bn = NULL;
	uint8_t buf[512], raw[32];
	size_t rl = 32;
	int len;
	FILE *f;
	BIO *bio = BIO_new(BIO_s_mem());

	EVP_PKEY_get_bn_param(k_rsa, OSSL_PKEY_PARAM_RSA_N, &bn);
	len = BN_bn2bin(bn, buf);
	b64(buf, (size_t)len, n64);
	BN_free(bn);
	bn = NULL;
	EVP_PKEY_get_bn_param(k_rsa, OSSL_PKEY_PARAM_RSA_E, &bn);
	len = BN_bn2bin(bn, buf);
	b64(buf, (size_t)len, e64);
	BN_free(bn);
	ec_xy(k_p256, x, y);
	ec_xy(k_p384, x3, y3);
	EVP_PKEY_get_raw_public_key(k_ed, raw, &rl);
	b64(raw, rl, xe);
	snprintf(path, sizeof(path), "%s/jwks.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"keys\": [{\"kty\":\"RSA\",\"kid\":\"rs1\",\"use\":\"sig\",\"n\":\"%s\","
		"\"e\":\"%s\"},"
		"{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
		"{\"kty\":\"EC\",\"kid\":\"ec3\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\"},"
		"{\"kty\":\"OKP\",\"kid\":\"ed1\",\"crv\":\"Ed25519\",\"x\":\"%s\"},"
		"{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"c2VjcmV0\"},"
		"{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"%s\"}]}",
		n64, e64, x, y, x3, y3, xe, n64, e64);
	fclose(f);
	PEM_write_bio_PUBKEY(bio, k_rsa);
	len = BIO_read(bio, rsa_pub_pem, sizeof(rsa_pub_pem) - 1);
	rsa_pub_pem[len > 0 ? len : 0] = '\0';
	BIO_free(bio);
	snprintf(path, sizeof(path), "%s/dec_rsa.pem", dir);
	f = fopen(path, "w");
	PEM_write_PrivateKey(f, dec_rsa, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/dec_ec.pem", dir);
	f = fopen(path, "w");
	PEM_write_PrivateKey(f, dec_ec, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static const char base[] =
	"'version': 1, 'interfaces': [{'name': 'eth0', 'port': 'p0', 'ipv4': ['10.10.1.1/24']}], "
	"'services': ["
	"{'name': 'web', 'namespace': 'shop', 'vip': '10.96.0.10', 'ports': [{'port': 80}], "
	"'endpoints': [{'address': '10.10.1.10'}]}, "
	"{'name': 'cart', 'namespace': 'shop', 'vip': '10.96.0.11', 'ports': [{'port': 80}], "
	"'endpoints': [{'address': '10.10.1.11'}]}, "
	"{'name': 'vault', 'namespace': 'bank', 'vip': '10.96.0.12', 'ports': [{'port': 80}], "
	"'endpoints': [{'address': '10.10.1.12'}]}]";

static const char *doc_with(const char *ra)
{
	static char buf[16384];

	snprintf(buf, sizeof(buf), "{%s, 'request_authentication': %s}", base, ra);
	return buf;
}

/* The working document: shop (web, cart) takes three issuers; bank/vault needs JWE. */
static const char *main_doc(void)
{
	static char ra[8192];

	snprintf(ra, sizeof(ra),
		 "[{'name': 'shop', 'namespace': 'shop', 'jwt_rules': ["
		 "{'issuer': 'https://idp.test', 'audiences': ['web', 'api'], 'jwks_file': "
		 "'%s/jwks.json', 'output_claim_to_headers': [{'claim': 'sub', 'header': "
		 "'X-Jwt-Sub'}, {'claim': 'groups', 'header': 'x-jwt-groups'}]},"
		 "{'issuer': 'https://q.test', 'jwks_file': '%s/jwks.json', 'from_params': "
		 "['access_token'], 'clock_skew_s': 0},"
		 "{'issuer': 'https://fwd.test', 'jwks_file': '%s/jwks.json', "
		 "'forward_original_token': true, 'reject_replay': false, "
		 "'from_headers': [{'name': 'x-token'}], 'max_token_bytes': 1024}]}, "
		 "{'name': 'vault', 'namespace': 'bank', 'selector': {'service': 'vault'}, "
		 "'decryption_key_file': '%s/dec_rsa.pem', 'require_encryption': true, "
		 "'jwt_rules': [{'issuer': 'https://idp.test', 'jwks_file': '%s/jwks.json'}]}, "
		 "{'name': 'bank', 'namespace': 'bank', 'decryption_key_file': "
		 "'%s/dec_ec.pem', 'jwt_rules': [{'issuer': 'https://ec.test', "
		 "'jwks_file': '%s/jwks.json'}]}]",
		 dir, dir, dir, dir, dir, dir, dir);
	return doc_with(ra);
}

/* ---- checking ---- */

static struct jwt_outcome out;

/* jwt_check() of a request with header @p name: @p value (NULL: none) and @p query. */
static enum jwt_reason check_q(const struct cfg_snapshot *s, uint32_t svc, const char *name,
			       const char *value, const char *query, bool secure)
{
	struct router_str h[2][2] = {{{"user-agent", 10}, {"test", 4}}};
	struct jwt_request rq = {
		.headers = (const struct router_str(*)[2])h,
		.n_headers = 1,
		.query = {query, (uint32_t)strlen(query)},
		.secure = secure,
		.now_s = now,
	};
	uint64_t before[JWT_REASON_N];
	bool ok;

	if (value != NULL) {
		h[1][0] = (struct router_str){name, (uint32_t)strlen(name)};
		h[1][1] = (struct router_str){value, (uint32_t)strlen(value)};
		rq.n_headers = 2;
	}
	for (int r = 0; r < JWT_REASON_N; r++)
		before[r] = stats_read(&st, (enum stats_id)(STAT_JWT_AUTHENTICATED + r));
	ok = jwt_check(s, svc, &rq, &out, &st);
	assert_int_equal(ok, out.reason == JWT_OK || out.reason == JWT_NO_TOKEN);
	/* exactly the reason's counter moved (jwt_counters.def lists them in enum order) */
	for (int r = 0; r < JWT_REASON_N; r++)
		assert_int_equal(stats_read(&st, (enum stats_id)(STAT_JWT_AUTHENTICATED + r)),
				 before[r] + (r == (int)out.reason));
	return out.reason;
}

static enum jwt_reason check(const struct cfg_snapshot *s, uint32_t svc, const char *token)
{
	char v[32768];

	snprintf(v, sizeof(v), "Bearer %s", token);
	return check_q(s, svc, "Authorization", v, "", true);
}

#define expect_reason(got, want)                                                                   \
	do {                                                                                       \
		enum jwt_reason g_ = (got);                                                        \
		if (g_ != (want)) {                                                                \
			print_error("line %d: got %s, wanted %s\n", __LINE__, jwt_reason_name(g_), \
				    jwt_reason_name(want));                                        \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static const char *added(const char *name)
{
	static char v[256];

	for (uint32_t i = 0; i < out.n_add; i++)
		if (out.add[i].name.len == strlen(name) &&
		    memcmp(out.add[i].name.p, name, out.add[i].name.len) == 0) {
			snprintf(v, sizeof(v), "%.*s", (int)out.add[i].value.len,
				 out.add[i].value.p);
			return v;
		}
	return NULL;
}

/* ---- tests ---- */

static void test_refusals(void **state)
{
	char ra[1024];

	(void)state;
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'issuer': 'x'}]}]"),
		     "$.request_authentication[0].jwt_rules[0]", "exactly one of");
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'jwks': {'keys': []}}]}]"),
		     "$.request_authentication[0].jwt_rules[0].issuer", "required");
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'issuer': 'x', 'jwks': "
			      "{'keys': []}}]}]"),
		     "$.request_authentication[0].jwt_rules[0].jwks", "a JWKS");
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'issuer': 'x', 'jwks': "
			      "{'keys': [{'kty': 'oct', 'k': 'c2VjcmV0'}]}}]}]"),
		     "$.request_authentication[0].jwt_rules[0].jwks", "no key to verify with");
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'issuer': 'x', 'jwks_uri': "
			      "'http://idp/keys'}]}]"),
		     "$.request_authentication[0].jwt_rules[0].jwks_uri", "https://");
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'issuer': 'x', 'jwks_file': "
			      "'/nonexistent'}]}]"),
		     "$.request_authentication[0].jwt_rules[0].jwks_file", "cannot read");
	expect_error(doc_with("[{'name': 'a', 'require_encryption': true, 'jwt_rules': "
			      "[{'issuer': 'x', 'jwks_uri': 'https://idp/keys'}]}]"),
		     "$.request_authentication[0].require_encryption", "decryption_key_file");
	expect_error(doc_with("[{'name': 'a', 'selector': {'service': 'web'}, 'jwt_rules': "
			      "[{'issuer': 'x', 'jwks_uri': 'https://idp/keys'}]}]"),
		     "$.request_authentication[0].selector", "namespace");
	expect_error(doc_with("[{'name': 'a', 'namespace': 'shop', 'selector': {'service': "
			      "'nope'}, 'jwt_rules': [{'issuer': 'x', 'jwks_uri': "
			      "'https://idp/keys'}]}]"),
		     "$.request_authentication[0].selector.service", "no service");
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'issuer': 'x', 'jwks_uri': "
			      "'https://idp/keys', 'output_claim_to_headers': [{'claim': 'sub', "
			      "'header': 'Host'}]}]}]"),
		     "$.request_authentication[0].jwt_rules[0].output_claim_to_headers[0].header",
		     "frames the request");
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'issuer': 'x', 'jwks_uri': "
			      "'https://idp/keys', 'max_token_bytes': 100000}]}]"),
		     "$.request_authentication[0].jwt_rules[0].max_token_bytes", NULL);
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'issuer': 'x', 'jwks_uri': "
			      "'https://idp/keys', 'algorithms': ['HS256']}]}]"),
		     "$.request_authentication[0].jwt_rules[0].algorithms", "unknown field");
	snprintf(ra, sizeof(ra),
		 "[{'name': 'a', 'decryption_key_file': '%s/jwks.json', 'jwt_rules': "
		 "[{'issuer': 'x', 'jwks_uri': 'https://idp/keys'}]}]",
		 dir);
	expect_error(doc_with(ra), "$.request_authentication[0].decryption_key_file",
		     "PEM private key");
	expect_error(doc_with("[{'name': 'a', 'jwt_rules': [{'issuer': 'x', 'jwks_uri': "
			      "'https://idp/keys'}]}, {'name': 'a', 'jwt_rules': [{'issuer': "
			      "'y', 'jwks_uri': 'https://idp/keys'}]}]"),
		     "$.request_authentication.name", "two policies");
}

static void test_valid(void **state)
{
	struct cfg_snapshot *s = compile_ok(main_doc());
	const char *ex = "\"groups\":[\"eng\",\"ops\"],\"admin\":true,\"n\":42";

	(void)state;
	assert_true(jwt_active(s, WEB));
	assert_true(jwt_active(s, VAULT));
	/* every JWS algorithm, with and without kid */
	expect_reason(check(s, WEB,
			    jws("ES256", "ec1", k_p256,
				claims("https://idp.test", "alice", "web", 300, ex))),
		      JWT_OK);
	assert_string_equal(out.principal, "https://idp.test/alice");
	assert_string_equal(added("x-jwt-sub"), "alice");
	assert_string_equal(added("x-jwt-groups"), "eng,ops");
	assert_int_equal(out.n_remove, 2); /* both claim headers, whatever the client sent */
	assert_non_null(out.token_header.p);
	assert_int_equal(out.token_header.len, 13); /* "authorization" */
	{
		bool eng = false, ops = false, admin = false, n = false;

		for (uint32_t i = 0; i < out.n_claims; i++) {
			char nv[128];

			snprintf(nv, sizeof(nv), "%.*s=%.*s", (int)out.claims[i][0].len,
				 out.claims[i][0].p, (int)out.claims[i][1].len, out.claims[i][1].p);
			eng |= strcmp(nv, "groups=eng") == 0;
			ops |= strcmp(nv, "groups=ops") == 0;
			admin |= strcmp(nv, "admin=true") == 0;
			n |= strcmp(nv, "n=42") == 0;
		}
		assert_true(eng && ops && admin && n);
	}
	expect_reason(check(s, WEB,
			    jws("ES256", NULL, k_p256,
				claims("https://idp.test", "bob", "api", 300, ""))),
		      JWT_OK);
	expect_reason(check(s, WEB,
			    jws("ES384", "ec3", k_p384,
				claims("https://idp.test", "bob", "api", 300, ""))),
		      JWT_OK);
	expect_reason(check(s, WEB,
			    jws("RS256", "rs1", k_rsa,
				claims("https://idp.test", "carol", "web", 300, ""))),
		      JWT_OK);
	expect_reason(check(s, WEB,
			    jws("PS256", NULL, k_rsa,
				claims("https://idp.test", "carol", "web", 300, ""))),
		      JWT_OK);
	expect_reason(check(s, CART,
			    jws("EdDSA", "ed1", k_ed,
				claims("https://idp.test", "dave", "web", 300, ""))),
		      JWT_OK);
	assert_string_equal(out.principal, "https://idp.test/dave");
	/* aud as an array */
	expect_reason(check(s, WEB,
			    jws("ES256", "ec1", k_p256,
				"{\"iss\":\"https://idp.test\",\"sub\":\"e\",\"aud\":[\"x\","
				"\"api\"],\"exp\":9999999999}")),
		      JWT_OK);
	/* nbf and iat within the skew */
	{
		char ext[96];

		snprintf(ext, sizeof(ext), "\"nbf\":%" PRId64 ",\"iat\":%" PRId64, now + 30,
			 now + 30);
		expect_reason(check(s, WEB,
				    jws("ES256", "ec1", k_p256,
					claims("https://idp.test", "f", "web", 300, ext))),
			      JWT_OK);
	}
	/* no token: passes unauthenticated; a service without rules: nothing */
	expect_reason(check_q(s, WEB, "authorization", NULL, "", true), JWT_NO_TOKEN);
	assert_false(out.authenticated);
	assert_string_equal(out.principal, "");
	assert_int_equal(out.n_remove, 2);
	expect_reason(check_q(s, WEB, "authorization", "Basic dXNlcjpwYXNz", "", true),
		      JWT_NO_TOKEN);
	/* a token in a query parameter, stripped */
	{
		char q[4096], stripped[4096];
		int n;

		snprintf(q, sizeof(q), "a=1&access_token=%s&b=2",
			 jws("ES256", "ec1", k_p256, claims("https://q.test", "q", "x", 300, "")));
		expect_reason(check_q(s, WEB, "authorization", NULL, q, true), JWT_OK);
		assert_null(out.token_header.p);
		assert_non_null(out.strip_param.p);
		n = jwt_strip_param((struct router_str){q, (uint32_t)strlen(q)}, out.strip_param,
				    stripped, sizeof(stripped));
		assert_int_equal(n, 7);
		assert_string_equal(stripped, "a=1&b=2");
	}
	/* forward_original_token: the header stays; its own header and size limit */
	expect_reason(check_q(s, WEB, "X-Token",
			      jws("ES256", "ec1", k_p256,
				  claims("https://fwd.test", "g", "x", 300, "\"jti\":\"same\"")),
			      "", true),
		      JWT_OK);
	assert_null(out.token_header.p);
	expect_reason(check_q(s, WEB, "X-Token",
			      jws("ES256", "ec1", k_p256,
				  claims("https://fwd.test", "g", "x", 300, "\"jti\":\"same\"")),
			      "", true),
		      JWT_OK); /* reject_replay false */
	cfg_snapshot_free(s);
}

static void test_reasons(void **state)
{
	struct cfg_snapshot *s = compile_ok(main_doc());
	char big[9000], *t, v[16384], ok[512];

	snprintf(ok, sizeof(ok), "%s", claims("https://idp.test", "alice", "web", 300, ""));

	(void)state;
	/* plaintext from a non-loopback client */
	snprintf(v, sizeof(v), "Bearer %s", jws("ES256", "ec1", k_p256, ok));
	expect_reason(check_q(s, WEB, "authorization", v, "", false), JWT_R_INSECURE_TRANSPORT);
	/* oversized */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_reason(check(s, WEB, big), JWT_R_TOO_LARGE);
	{
		char pad[1300];

		memset(pad, 'A', sizeof(pad) - 1);
		pad[sizeof(pad) - 1] = '\0';
		memcpy(pad, "\"pad\":\"", 7);
		pad[sizeof(pad) - 2] = '"';
		expect_reason(check_q(s, WEB, "x-token",
				      jws("ES256", "ec1", k_p256,
					  claims("https://fwd.test", "g", "x", 300, pad)),
				      "", true),
			      JWT_R_TOO_LARGE); /* the fwd rule's max_token_bytes 1024 */
	}
	/* malformed: parts, base64url, JSON, missing iss, a mistyped exp, crit */
	expect_reason(check(s, WEB, "abc.def"), JWT_R_MALFORMED);
	expect_reason(check(s, WEB, "a.b.c.d"), JWT_R_MALFORMED);
	expect_reason(check(s, WEB, "e30.e30.!!"), JWT_R_MALFORMED);
	expect_reason(check(s, WEB, "bm90IGpzb24.e30.AA"), JWT_R_MALFORMED);
	expect_reason(check(s, WEB, jws("ES256", "ec1", k_p256, "{\"sub\":\"x\"}")),
		      JWT_R_MALFORMED);
	expect_reason(check(s, WEB,
			    jws("ES256", "ec1", k_p256,
				"{\"iss\":\"https://idp.test\",\"exp\":\"soon\"}")),
		      JWT_R_MALFORMED);
	expect_reason(check(s, WEB, jws("ES256", "ec1", k_p256, "[1,2]")), JWT_R_MALFORMED);
	/* alg none, HS256 with the RSA public key (algorithm confusion), unknown algs */
	expect_reason(check(s, WEB, jws("none", NULL, NULL, ok)), JWT_R_ALG_REFUSED);
	expect_reason(check(s, WEB, jws("HS256", "rs1", NULL, ok)), JWT_R_ALG_REFUSED);
	expect_reason(check(s, WEB, jws("HS256", "hs", NULL, ok)), JWT_R_ALG_REFUSED);
	/* issuer, audience */
	expect_reason(check(s, WEB,
			    jws("ES256", "ec1", k_p256,
				claims("https://evil.test", "alice", "web", 300, ""))),
		      JWT_R_ISSUER);
	expect_reason(check(s, WEB,
			    jws("ES256", "ec1", k_p256,
				claims("https://idp.test", "alice", "other", 300, ""))),
		      JWT_R_AUDIENCE);
	/* keys: unknown kid, a key of another type, the encryption key, a signature by another key */
	expect_reason(check(s, WEB, jws("ES256", "nokid", k_p256, ok)), JWT_R_NO_KEY);
	expect_reason(check(s, WEB, jws("ES256", "rs1", k_p256, ok)), JWT_R_NO_KEY);
	expect_reason(check(s, WEB, jws("RS256", "enc", k_rsa, ok)), JWT_R_NO_KEY);
	expect_reason(check(s, WEB, jws("ES256", "ec1", k_other, ok)), JWT_R_BAD_SIGNATURE);
	expect_reason(check(s, WEB, jws("ES256", NULL, k_other, ok)), JWT_R_BAD_SIGNATURE);
	/* tampered: another payload under the signature, a signature byte */
	{
		char spliced[4096], *a = jws("RS256", "rs1", k_rsa, ok),
				    *b = jws("RS256", "rs1", k_rsa,
					     claims("https://idp.test", "root", "web", 300, ""));

		snprintf(spliced, sizeof(spliced), "%.*s%s", (int)(strrchr(b, '.') - b), b,
			 strrchr(a, '.'));
		expect_reason(check(s, WEB, spliced), JWT_R_BAD_SIGNATURE);
		t = a;
		t[strchr(t, '.') - t + 3] ^= 1; /* the payload no longer decodes or parses */
		expect_reason(check(s, WEB, t), JWT_R_MALFORMED);
	}
	t = jws("RS256", "rs1", k_rsa, ok);
	t[strlen(t) - 5] = t[strlen(t) - 5] == 'A' ? 'B' : 'A';
	expect_reason(check(s, WEB, t), JWT_R_BAD_SIGNATURE);
	t = jws("EdDSA", "ed1", k_ed, ok);
	t[strlen(t) - 5] = t[strlen(t) - 5] == 'A' ? 'B' : 'A';
	expect_reason(check(s, WEB, t), JWT_R_BAD_SIGNATURE);
	t = jws("ES256", "ec1", k_p256, ok);
	t[strlen(t) - 5] = t[strlen(t) - 5] == 'A' ? 'B' : 'A';
	expect_reason(check(s, WEB, t), JWT_R_BAD_SIGNATURE);
	/* times */
	expect_reason(check(s, WEB,
			    jws("ES256", "ec1", k_p256,
				claims("https://idp.test", "alice", "web", 0, ""))),
		      JWT_R_NO_EXPIRY);
	expect_reason(check(s, WEB,
			    jws("ES256", "ec1", k_p256,
				claims("https://idp.test", "alice", "web", -61, ""))),
		      JWT_R_EXPIRED);
	expect_reason(check(s, WEB,
			    jws("ES256", "ec1", k_p256,
				claims("https://idp.test", "alice", "web", -59, ""))),
		      JWT_OK); /* within clock_skew_s 60 */
	{
		char ext[64];

		snprintf(ext, sizeof(ext), "\"nbf\":%" PRId64, now + 120);
		expect_reason(check(s, WEB,
				    jws("ES256", "ec1", k_p256,
					claims("https://idp.test", "a", "web", 300, ext))),
			      JWT_R_NOT_YET_VALID);
		snprintf(ext, sizeof(ext), "\"iat\":%" PRId64, now + 120);
		expect_reason(check(s, WEB,
				    jws("ES256", "ec1", k_p256,
					claims("https://idp.test", "a", "web", 300, ext))),
			      JWT_R_NOT_YET_VALID);
	}
	/* replay: the second use of a jti; another jti, another issuer's same jti pass */
	t = jws("ES256", "ec1", k_p256,
		claims("https://idp.test", "alice", "web", 300, "\"jti\":\"r-1\""));
	expect_reason(check(s, WEB, t), JWT_OK);
	expect_reason(check(s, CART, t), JWT_R_REPLAY); /* node-wide, not per service */
	expect_reason(
		check(s, WEB,
		      jws("ES256", "ec1", k_p256,
			  claims("https://idp.test", "alice", "web", 300, "\"jti\":\"r-2\""))),
		JWT_OK);
	expect_reason(check_q(s, WEB, "authorization", NULL, "access_token=", true),
		      JWT_R_MALFORMED); /* an empty token */
	cfg_snapshot_free(s);
}

static void test_jwe(void **state)
{
	struct cfg_snapshot *s = compile_ok(main_doc());
	const char *inner;
	char *t;

	(void)state;
	inner = jws("ES256", "ec1", k_p256, claims("https://idp.test", "v", "x", 300, ""));
	/* vault requires a JWE: RSA-OAEP-256 to the vault policy's key */
	expect_reason(check(s, VAULT, jwe("RSA-OAEP-256", "A256GCM", dec_rsa, inner)), JWT_OK);
	assert_string_equal(out.principal, "https://idp.test/v");
	expect_reason(check(s, VAULT, jwe("RSA-OAEP-256", "A128GCM", dec_rsa, inner)), JWT_OK);
	expect_reason(check(s, VAULT, inner), JWT_R_NOT_ENCRYPTED);
	/* ECDH-ES to the namespace policy's EC key (both keys are tried) */
	inner = jws("EdDSA", "ed1", k_ed, claims("https://ec.test", "w", "x", 300, ""));
	expect_reason(check(s, VAULT, jwe("ECDH-ES", "A256GCM", dec_ec, inner)), JWT_OK);
	assert_string_equal(out.principal, "https://ec.test/w");
	expect_reason(check(s, VAULT, jwe("ECDH-ES", "A128GCM", dec_ec, inner)), JWT_OK);
	expect_reason(check(s, VAULT, inner), JWT_OK); /* that policy does not require JWE */
	/* to a key the node does not have, tampered, for a service without keys */
	{
		EVP_PKEY *other = EVP_EC_gen("P-256");

		expect_reason(check(s, VAULT, jwe("ECDH-ES", "A256GCM", other, inner)),
			      JWT_R_DECRYPT_FAILED);
		EVP_PKEY_free(other);
	}
	t = jwe("RSA-OAEP-256", "A256GCM", dec_rsa, inner);
	{
		char *last = strrchr(t, '.');

		last[-3] = last[-3] == 'A' ? 'B' : 'A'; /* a ciphertext byte: the tag fails */
	}
	expect_reason(check(s, VAULT, t), JWT_R_DECRYPT_FAILED);
	expect_reason(check(s, WEB, jwe("ECDH-ES", "A256GCM", dec_ec, inner)),
		      JWT_R_DECRYPT_FAILED);
	/* a JWE whose inner token is bad is refused for that */
	inner = jws("ES256", "ec1", k_other, claims("https://idp.test", "v", "x", 300, ""));
	expect_reason(check(s, VAULT, jwe("RSA-OAEP-256", "A256GCM", dec_rsa, inner)),
		      JWT_R_BAD_SIGNATURE);
	cfg_snapshot_free(s);
}

/* ---- the replay cache across two threads ---- */

struct racer {
	const struct cfg_snapshot *s;
	const char *token;
	struct stats_block st;
	enum jwt_reason reason;
	_Atomic int *go;
	uint64_t h;
	_Atomic uint64_t *t_entered;
	uint64_t t_seen;
	enum jwt_replay_result rr;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *race_check(void *arg)
{
	struct racer *r = arg;
	char v[8192];
	struct router_str h[1][2] = {{{"authorization", 13}, {v, 0}}};
	struct jwt_request rq = {.headers = (const struct router_str(*)[2])h,
				 .n_headers = 1,
				 .secure = true,
				 .now_s = now};
	struct jwt_outcome o;

	h[0][1].len = (uint32_t)snprintf(v, sizeof(v), "Bearer %s", r->token);
	while (atomic_load(r->go) == 0)
		;
	jwt_check(r->s, WEB, &rq, &o, &r->st);
	r->reason = o.reason;
	return NULL;
}

static void *race_enter(void *arg)
{
	struct racer *r = arg;

	atomic_store(r->go, 1);
	r->rr = jwt_replay_enter(r->h, now + 60, now);
	atomic_store(r->t_entered, mono_ns());
	return NULL;
}

static void *race_second(void *arg)
{
	struct racer *r = arg;

	while (atomic_load(r->t_entered) == 0)
		;
	r->rr = jwt_replay_enter(r->h, now + 60, now);
	r->t_seen = mono_ns();
	return NULL;
}

static void test_replay_threads(void **state)
{
	struct cfg_snapshot *s = compile_ok(main_doc());
	_Atomic int go = 0;
	_Atomic uint64_t entered = 0;
	struct racer a = {.s = s, .go = &go}, b = {.s = s, .go = &go};
	pthread_t ta, tb;

	(void)state;
	/* two workers, the same token at the same time: exactly one is authenticated */
	a.token = b.token =
		jws("ES256", "ec1", k_p256,
		    claims("https://idp.test", "alice", "web", 300, "\"jti\":\"race\""));
	pthread_create(&ta, NULL, race_check, &a);
	pthread_create(&tb, NULL, race_check, &b);
	atomic_store(&go, 1);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_true((a.reason == JWT_OK && b.reason == JWT_R_REPLAY) ||
		    (a.reason == JWT_R_REPLAY && b.reason == JWT_OK));
	assert_int_equal(stats_read(&a.st, STAT_JWT_REFUSED_REPLAY) +
				 stats_read(&b.st, STAT_JWT_REFUSED_REPLAY),
			 1);
	/* one thread enters, the other sees it within 1 ms of the entry's return */
	for (int round = 0; round < 20; round++) {
		struct racer e = {.go = &go, .t_entered = &entered}, f = {.t_entered = &entered};

		atomic_store(&entered, 0);
		e.h = f.h = jwt_replay_hash("https://idp.test", 16, (const char *)&round,
					    sizeof(round));
		pthread_create(&tb, NULL, race_second, &f);
		pthread_create(&ta, NULL, race_enter, &e);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		assert_int_equal(e.rr, JWT_REPLAY_FRESH);
		assert_int_equal(f.rr, JWT_REPLAY_SEEN);
		/* valgrind runs one thread at a time, in slices far longer than 1 ms */
		if (!RUNNING_ON_VALGRIND && f.t_seen - atomic_load(&entered) >= 1000000)
			fail_msg("the other thread saw the entry %" PRIu64 " ns later",
				 f.t_seen - atomic_load(&entered));
	}
	/* expiry frees a slot; a full window accepts unchecked */
	{
		uint64_t h = jwt_replay_hash("x", 1, "exp", 3);

		assert_int_equal(jwt_replay_enter(h, now + 1, now), JWT_REPLAY_FRESH);
		assert_int_equal(jwt_replay_enter(h, now + 1, now + 1), JWT_REPLAY_SEEN);
		assert_int_equal(jwt_replay_enter(h, now + 100, now + 2), JWT_REPLAY_FRESH);
		for (uint32_t i = 0; i < JWT_REPLAY_PROBE; i++)
			jwt_replay_enter((h & ~0xffffffffull) + ((h + i) & (JWT_REPLAY_SLOTS - 1)) +
						 ((uint64_t)(i + 1) << 40),
					 now + 1000, now);
		assert_int_equal(jwt_replay_enter((h ^ (1ull << 50)), now + 1000, now),
				 JWT_REPLAY_FULL);
	}
	cfg_snapshot_free(s);
}

/* ---- authz on the request principal and claims ---- */

static enum authz_verdict decide(const struct cfg_snapshot *s, uint32_t svc, const char *token)
{
	static uint8_t addr[4] = {127, 0, 0, 1};
	struct authz_request rq = {.family = 4, .addr = addr, .port = 80, .http = true};
	struct authz_decision d;

	rq.method = (struct router_str){"GET", 3};
	rq.path = (struct router_str){"/", 1};
	rq.host = (struct router_str){"web", 3};
	if (token != NULL)
		expect_reason(check(s, svc, token), JWT_OK);
	else
		expect_reason(check_q(s, svc, "authorization", NULL, "", true), JWT_NO_TOKEN);
	rq.request_principal = out.principal;
	rq.claims = (const struct router_str(*)[2])out.claims;
	rq.n_claims = out.n_claims;
	authz_decide(s, svc, &rq, &d);
	return d.verdict;
}

static void test_authz(void **state)
{
	char doc[20000], az[2048];
	struct cfg_snapshot *s;
	const char *doc0 = main_doc();
	const char *alice = jws("ES256", "ec1", k_p256,
				claims("https://idp.test", "alice", "web", 300,
				       "\"groups\":[\"eng\"],\"level\":3"));
	const char *bob =
		jws("ES256", "ec1", k_p256,
		    claims("https://idp.test", "bob", "web", 300, "\"groups\":[\"ops\"]"));
	const char *mallory =
		jws("EdDSA", "ed1", k_ed,
		    claims("https://idp.test", "mallory", "web", 300, "\"groups\":[\"eng\"]"));

	(void)state;
	snprintf(az, sizeof(az),
		 ", 'authorization': ["
		 "{'name': 'web', 'namespace': 'shop', 'selector': {'service': 'web'}, "
		 "'rules': [{'from': [{'source': {'request_principals': ['https://idp.test/a*', "
		 "'*/bob']}}]}]}, "
		 "{'name': 'cart', 'namespace': 'shop', 'selector': {'service': 'cart'}, "
		 "'rules': [{'from': [{'source': {'request_principals': ['*'], "
		 "'not_request_principals': ['*/mallory']}}], 'when': [{'key': "
		 "'request.auth.claims[groups]', 'values': ['eng']}, {'key': "
		 "'request.auth.audiences', 'values': ['web']}]}]}]");
	snprintf(doc, sizeof(doc), "%.*s%s}", (int)strlen(doc0) - 1, doc0, json_of(az));
	s = compile_ok(doc);
	assert_int_equal(decide(s, WEB, alice), AUTHZ_ALLOW);
	assert_int_equal(decide(s, WEB, bob), AUTHZ_ALLOW);
	assert_int_equal(decide(s, WEB, mallory), AUTHZ_DENY);
	assert_int_equal(decide(s, WEB, NULL), AUTHZ_DENY);
	assert_int_equal(decide(s, CART, alice), AUTHZ_ALLOW);
	assert_int_equal(decide(s, CART, bob), AUTHZ_DENY);	/* groups */
	assert_int_equal(decide(s, CART, mallory), AUTHZ_DENY); /* not_request_principals */
	assert_int_equal(decide(s, CART, NULL), AUTHZ_DENY);	/* '*' needs a token */
	cfg_snapshot_free(s);
}

static void test_audit(void **state)
{
	struct cfg_snapshot *s = compile_ok(main_doc());
	json_t *a = audit_snapshot(s), *f;
	int pass = 0, warn = 0;
	size_t i;

	(void)state;
	json_array_foreach(json_object_get(a, "findings"), i, f)
	{
		const char *res = json_string_value(json_object_get(f, "result"));

		if (strcmp(json_string_value(json_object_get(f, "requirement")), "SM-DR20") != 0)
			continue;
		pass += strcmp(res, "PASS") == 0;
		warn += strcmp(res, "WARN") == 0;
	}
	/* the fwd rule forwards and accepts replays (two warnings), four rules pass, all covered */
	assert_int_equal(warn, 2);
	assert_int_equal(pass, 5);
	json_decref(a);
	cfg_snapshot_free(s);
}

/* ---- jwks_uri: the control thread's fetcher ---- */

static int64_t mono_ms(void)
{
	return (int64_t)(mono_ns() / 1000000u);
}

/* Tick the fetcher (simulated clock @p *t_ms, real time for the transfer) until @p done. */
static bool tick_until(struct jwt_uri *u, int64_t *t_ms, uint64_t fetched, uint64_t failed)
{
	int64_t end = mono_ms() + 15000;

	while (mono_ms() < end) {
		jwt_commands.tick(NULL, *t_ms);
		if (u->easy == NULL && u->fetched >= fetched && u->failed >= failed)
			return true;
		usleep(1000);
	}
	return false;
}

static void test_jwks_fetch(void **state)
{
	char pki[64], ra[1024], jwks[128], doc[20000];
	int port = 20000 + (int)(getpid() % 20000);
	struct cfg_snapshot *s, *old;
	struct jwt_uri *u;
	int64_t t = 1000;
	const char *tok;

	(void)state;
	assert_int_equal(certs_dir(pki, sizeof(pki), "jwt"), 0);
	assert_int_equal(run("%s %s leaf idp spiffe://cluster.local/ns/idp/sa/idp --dns localhost "
			     "--server >/dev/null && mkdir %s/www && cp %s/jwks.json %s/www/",
			     CERTS_SH, pki, pki, dir, pki),
			 0);
	/* an HTTPS server on loopback for the key set; its pid in pki/pid */
	assert_int_equal(run("cd %s/www && /usr/bin/python3 -c 'import http.server, ssl, sys\n"
			     "s = http.server.HTTPServer((\"127.0.0.1\", %d), "
			     "http.server.SimpleHTTPRequestHandler)\n"
			     "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
			     "c.load_cert_chain(\"%s/idp.pem\", \"%s/idp.key\")\n"
			     "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
			     "s.serve_forever()' >/dev/null 2>&1 & echo $! >%s/pid; "
			     "for i in $(seq 100); do curl -sk -o /dev/null https://127.0.0.1:%d/ "
			     "&& exit 0; "
			     "sleep 0.05; done; exit 1",
			     pki, port, pki, pki, pki, port),
			 0);
	snprintf(ra, sizeof(ra),
		 "[{'name': 'f', 'jwt_rules': [{'issuer': 'https://fetch.test', 'jwks_uri': "
		 "'https://localhost:%d/jwks.json', 'jwks_ca_file': '%s/ca.pem', "
		 "'jwks_refresh_s': 5}]}]",
		 port, pki);
	snprintf(doc, sizeof(doc), "%s", doc_with(ra));
	s = compile_ok(doc);
	cfg_publish(s);
	assert_int_equal(s->jwt->n_uris, 1);
	u = s->jwt->uris[0];
	tok = jws("ES256", "ec1", k_p256, claims("https://fetch.test", "f", "x", 300, ""));
	/* before the first fetch: no key */
	expect_reason(check(s, WEB, tok), JWT_R_NO_KEY);
	assert_true(tick_until(u, &t, 1, 0));
	assert_non_null(u->ks);
	assert_int_equal(u->ks->n, 4);
	expect_reason(check(s, WEB, tok), JWT_OK);
	/* a document without a usable key set: counted, the last good one stays */
	snprintf(jwks, sizeof(jwks), "%s/www/jwks.json", pki);
	assert_int_equal(run("echo '{\"keys\": []}' >%s", jwks), 0);
	t += 4000;
	jwt_commands.tick(NULL, t); /* not yet due */
	assert_null(u->easy);
	t += 1000;
	assert_true(tick_until(u, &t, 1, 1));
	assert_non_null(strstr(u->last_error, "JWKS"));
	expect_reason(check(s, WEB, tok), JWT_OK);
	/* the server gone: a failure after min(refresh, 10 s), the set still there */
	assert_int_equal(run("kill $(cat %s/pid)", pki), 0);
	t += 5000;
	assert_true(tick_until(u, &t, 1, 2));
	expect_reason(check(s, WEB, tok), JWT_OK);
	assert_int_equal(run("rm -rf %s", pki), 0);
	jwt_commands.close(NULL);
	old = cfg_live;
	cfg_live = NULL;
	cfg_snapshot_free(old);
}

static int group_setup(void **state)
{
	(void)state;
	test_eal_init();
	snprintf(dir, sizeof(dir), "/tmp/meshdp-test-jwt-%d", (int)getpid());
	if (mkdir(dir, 0700) != 0)
		return -1;
	now = time(NULL);
	k_rsa = EVP_RSA_gen(2048);
	dec_rsa = EVP_RSA_gen(2048);
	k_p256 = EVP_EC_gen("P-256");
	k_p384 = EVP_EC_gen("P-384");
	k_other = EVP_EC_gen("P-256");
	dec_ec = EVP_EC_gen("P-256");
	k_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (k_rsa == NULL || dec_rsa == NULL || k_p256 == NULL || k_p384 == NULL ||
	    k_other == NULL || dec_ec == NULL || k_ed == NULL)
		return -1;
	write_jwks();
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(dec_rsa);
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_p384);
	EVP_PKEY_free(k_other);
	EVP_PKEY_free(dec_ec);
	EVP_PKEY_free(k_ed);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),       cmocka_unit_test(test_valid),
		cmocka_unit_test(test_reasons),	       cmocka_unit_test(test_jwe),
		cmocka_unit_test(test_replay_threads), cmocka_unit_test(test_authz),
		cmocka_unit_test(test_audit),	       cmocka_unit_test(test_jwks_fetch),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
