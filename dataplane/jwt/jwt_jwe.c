/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jwt: JWE decryption (RFC 7516 compact serialization) with OpenSSL 3 EVP:
 * key management RSA-OAEP (SHA-1), RSA-OAEP-256 and ECDH-ES (direct key
 * agreement on P-256 / P-384, the Concat KDF of RFC 7518 4.6.2 with SHA-256),
 * content encryption A128GCM and A256GCM. Not libcjose: its ECDH-ES key
 * import leaks, and this is on the request path. Any thread (the key is
 * only read).
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "jwt_internal.h"

#define JWE_HDR_MAX 2048

/* The peer's ephemeral key (header "epk", a public EC JWK) on @p key's curve. */
static EVP_PKEY *jwe_epk(const json_t *epk, EVP_PKEY *key)
{
	const char *crv = json_string_value(json_object_get(epk, "crv"));
	const char *x = json_string_value(json_object_get(epk, "x"));
	const char *y = json_string_value(json_object_get(epk, "y"));
	char group[32];
	uint8_t pub[1 + 2 * 66];
	size_t xl, yl, fl;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer = NULL;
	OSSL_PARAM params[3];

	if (!json_is_string(json_object_get(epk, "kty")) ||
	    strcmp(json_string_value(json_object_get(epk, "kty")), "EC") != 0 || crv == NULL ||
	    x == NULL || y == NULL)
		return NULL;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   NULL) != 1)
		return NULL;
	if (strcmp(crv, "P-256") == 0 && strcmp(group, "prime256v1") == 0)
		fl = 32;
	else if (strcmp(crv, "P-384") == 0 && strcmp(group, "secp384r1") == 0)
		fl = 48;
	else
		return NULL;
	pub[0] = 0x04;
	if (jwt_b64url_decode(x, strlen(x), pub + 1, fl, &xl) != 0 || xl != fl ||
	    jwt_b64url_decode(y, strlen(y), pub + 1 + fl, fl, &yl) != 0 || yl != fl)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * fl);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		peer = NULL;
	EVP_PKEY_CTX_free(ctx);
	return peer;
}

static void jwe_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 7518 4.6: Z from ECDH, then Concat KDF (one round of SHA-256: keys of 128 and 256 bits). */
static int jwe_ecdh_es(EVP_PKEY *key, const json_t *hdr, const char *enc, uint8_t *cek,
		       size_t cek_len)
{
	const char *apu = json_string_value(json_object_get(hdr, "apu"));
	const char *apv = json_string_value(json_object_get(hdr, "apv"));
	uint8_t z[66], info[256], dig[32], pu[64], pv[64];
	size_t zl = sizeof(z), pul = 0, pvl = 0, el = strlen(enc), o = 0;
	EVP_PKEY *peer = jwe_epk(json_object_get(hdr, "epk"), key);
	EVP_PKEY_CTX *ctx = NULL;
	unsigned int dl = 0;
	int rc = -EINVAL;

	if (peer == NULL)
		return -EINVAL;
	if ((apu != NULL && jwt_b64url_decode(apu, strlen(apu), pu, sizeof(pu), &pul) != 0) ||
	    (apv != NULL && jwt_b64url_decode(apv, strlen(apv), pv, sizeof(pv), &pvl) != 0))
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 || EVP_PKEY_derive(ctx, z, &zl) != 1)
		goto out;
	/* counter || Z || AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo */
	jwe_be32(info + o, 1);
	o += 4;
	memcpy(info + o, z, zl);
	o += zl;
	jwe_be32(info + o, (uint32_t)el);
	memcpy(info + o + 4, enc, el);
	o += 4 + el;
	jwe_be32(info + o, (uint32_t)pul);
	memcpy(info + o + 4, pu, pul);
	o += 4 + pul;
	jwe_be32(info + o, (uint32_t)pvl);
	memcpy(info + o + 4, pv, pvl);
	o += 4 + pvl;
	jwe_be32(info + o, (uint32_t)(cek_len * 8));
	o += 4;
	if (EVP_Digest(info, o, dig, &dl, EVP_sha256(), NULL) != 1 || dl < cek_len)
		goto out;
	memcpy(cek, dig, cek_len);
	rc = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(dig, sizeof(dig));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return rc;
}

static int jwe_rsa_oaep(EVP_PKEY *key, const EVP_MD *md, const uint8_t *ek, size_t ek_len,
			uint8_t *cek, size_t cek_len)
{
	uint8_t buf[1024];
	size_t n = sizeof(buf);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	int rc = -EINVAL;

	if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1)
		goto out;
	if (EVP_PKEY_decrypt(ctx, buf, &n, ek, ek_len) == 1 && n == cek_len) {
		memcpy(cek, buf, cek_len);
		rc = 0;
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int jwt_jwe_decrypt(EVP_PKEY *key, const char *token, const uint32_t dots[4], size_t len,
		    uint8_t *out, size_t out_size, size_t *out_len)
{
	uint8_t hb[JWE_HDR_MAX], ek[1024], iv[16], tag[16], cek[32];
	size_t hl, ekl, ivl, tagl, ctl, cek_len;
	const char *alg, *enc;
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *cc = NULL;
	json_t *hdr = NULL;
	int rc = -EINVAL, n = 0, fin = 0;
	bool ec = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC;

	if (jwt_b64url_decode(token, dots[0], hb, sizeof(hb), &hl) != 0 ||
	    (hdr = json_loadb((const char *)hb, hl, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(hdr))
		goto out;
	alg = json_string_value(json_object_get(hdr, "alg"));
	enc = json_string_value(json_object_get(hdr, "enc"));
	if (alg == NULL || enc == NULL)
		goto out;
	if (strcmp(enc, "A256GCM") == 0) {
		cipher = EVP_aes_256_gcm();
		cek_len = 32;
	} else if (strcmp(enc, "A128GCM") == 0) {
		cipher = EVP_aes_128_gcm();
		cek_len = 16;
	} else {
		goto out;
	}
	if (jwt_b64url_decode(token + dots[0] + 1, dots[1] - dots[0] - 1, ek, sizeof(ek), &ekl) !=
		    0 ||
	    jwt_b64url_decode(token + dots[1] + 1, dots[2] - dots[1] - 1, iv, sizeof(iv), &ivl) !=
		    0 ||
	    jwt_b64url_decode(token + dots[3] + 1, len - dots[3] - 1, tag, sizeof(tag), &tagl) !=
		    0 ||
	    ivl != 12 || tagl != 16)
		goto out;
	if (strcmp(alg, "ECDH-ES") == 0 && ec && ekl == 0)
		rc = jwe_ecdh_es(key, hdr, enc, cek, cek_len);
	else if (strcmp(alg, "RSA-OAEP-256") == 0 && !ec)
		rc = jwe_rsa_oaep(key, EVP_sha256(), ek, ekl, cek, cek_len);
	else if (strcmp(alg, "RSA-OAEP") == 0 && !ec)
		rc = jwe_rsa_oaep(key, EVP_sha1(), ek, ekl, cek, cek_len);
	if (rc != 0)
		goto out;
	rc = -EINVAL;
	/* the ciphertext in place of the output, then decrypted there */
	if (jwt_b64url_decode(token + dots[2] + 1, dots[3] - dots[2] - 1, out, out_size, &ctl) !=
		    0 ||
	    ctl > INT32_MAX)
		goto out;
	cc = EVP_CIPHER_CTX_new();
	if (cc == NULL || EVP_DecryptInit_ex(cc, cipher, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_DecryptInit_ex(cc, NULL, NULL, cek, iv) != 1 ||
	    /* the AAD is the protected header as sent, base64url (RFC 7516 5.2 step 14) */
	    EVP_DecryptUpdate(cc, NULL, &n, (const uint8_t *)token, (int)dots[0]) != 1 ||
	    EVP_DecryptUpdate(cc, out, &n, out, (int)ctl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1 ||
	    EVP_DecryptFinal_ex(cc, out + n, &fin) != 1)
		goto out;
	*out_len = (size_t)n + (size_t)fin;
	/* a nested JWT only (RFC 7519 5.2) */
	{
		const char *cty = json_string_value(json_object_get(hdr, "cty"));

		rc = cty != NULL && strcasecmp(cty, "JWT") == 0 ? 0 : -EPROTO;
	}
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	EVP_CIPHER_CTX_free(cc);
	json_decref(hdr);
	return rc;
}
