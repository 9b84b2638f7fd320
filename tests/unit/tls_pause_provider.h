/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A tiny OpenSSL 3 provider for test_tls.c: Ed25519 signing that pauses its
 * async job once (ASYNC_pause_job()) before signing, as an offload engine
 * (Intel QAT's) does while the card works. It signs through the default
 * provider. Its Ed25519 key manager only imports keys (from the default
 * provider's, for the signature). Loaded with pause_provider_load(); used by
 * an SSL_CTX whose property query says "?provider=pause" (Ed25519, so that the
 * EC key manager the TLS groups need stays the default provider's).
 */
#ifndef MESHDP_TLS_PAUSE_PROVIDER_H
#define MESHDP_TLS_PAUSE_PROVIDER_H

#include <openssl/async.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

static unsigned int pause_count; /* jobs paused */
static unsigned int pause_signs; /* signatures made */

struct pause_key {
	EVP_PKEY *pk; /* the default provider's copy */
};

struct pause_sig {
	struct pause_key *key;
	EVP_MD_CTX *md;
	bool paused;
};

static void *pause_key_new(void *provctx)
{
	(void)provctx;
	return calloc(1, sizeof(struct pause_key));
}

static void pause_key_free(void *kd)
{
	struct pause_key *k = kd;

	if (k != NULL)
		EVP_PKEY_free(k->pk);
	free(k);
}

static int pause_key_has(const void *kd, int selection)
{
	const struct pause_key *k = kd;

	(void)selection;
	return k != NULL && k->pk != NULL;
}

static int pause_key_import(void *kd, int selection, const OSSL_PARAM params[])
{
	struct pause_key *k = kd;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", "provider=default");
	int ok;

	(void)selection;
	ok = pc != NULL && EVP_PKEY_fromdata_init(pc) == 1 &&
	     EVP_PKEY_fromdata(pc, &k->pk, EVP_PKEY_KEYPAIR, (OSSL_PARAM *)params) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok;
}

static const OSSL_PARAM *pause_key_import_types(int selection)
{
	static const OSSL_PARAM types[] = {
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)selection;
	return types;
}

static const char *pause_key_op_name(int op)
{
	return op == OSSL_OP_SIGNATURE ? "ED25519" : NULL;
}

static const OSSL_DISPATCH pause_keymgmt[] = {
	{OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))pause_key_new},
	{OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))pause_key_free},
	{OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))pause_key_has},
	{OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))pause_key_import},
	{OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))pause_key_import_types},
	{OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))pause_key_op_name},
	{0, NULL},
};

static void *pause_sig_new(void *provctx, const char *propq)
{
	(void)provctx;
	(void)propq;
	return calloc(1, sizeof(struct pause_sig));
}

static void pause_sig_free(void *sc)
{
	struct pause_sig *s = sc;

	if (s != NULL)
		EVP_MD_CTX_free(s->md);
	free(s);
}

static int pause_sig_init(void *sc, const char *mdname, void *kd, const OSSL_PARAM params[])
{
	struct pause_sig *s = sc;

	(void)params;
	s->key = kd;
	EVP_MD_CTX_free(s->md);
	s->md = EVP_MD_CTX_new();
	return s->md != NULL && EVP_DigestSignInit_ex(s->md, NULL, mdname, NULL, "provider=default",
						      s->key->pk, NULL) == 1;
}

static int pause_sig_sign(void *sc, unsigned char *sig, size_t *siglen, size_t sigsize,
			  const unsigned char *tbs, size_t tbslen)
{
	struct pause_sig *s = sc;

	if (sig == NULL) {
		*siglen = (size_t)EVP_PKEY_get_size(s->key->pk);
		return 1;
	}
	if (!s->paused && ASYNC_get_current_job() != NULL) {
		/* the "card" is busy: give the worker back until the next poll */
		s->paused = true;
		pause_count++;
		ASYNC_pause_job();
	}
	pause_signs++;
	*siglen = sigsize;
	return EVP_DigestSign(s->md, sig, siglen, tbs, tbslen);
}

static const OSSL_DISPATCH pause_signature[] = {
	{OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))pause_sig_new},
	{OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))pause_sig_free},
	{OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))pause_sig_init},
	{OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))pause_sig_sign},
	{0, NULL},
};

static const OSSL_ALGORITHM pause_keymgmts[] = {
	{"ED25519", "provider=pause", pause_keymgmt, NULL},
	{NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM pause_signatures[] = {
	{"ED25519", "provider=pause", pause_signature, NULL},
	{NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *pause_query(void *provctx, int op, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	return op == OSSL_OP_KEYMGMT	 ? pause_keymgmts
	       : op == OSSL_OP_SIGNATURE ? pause_signatures
					 : NULL;
}

static const OSSL_DISPATCH pause_provider_dispatch[] = {
	{OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))pause_query},
	{0, NULL},
};

static int pause_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
			       const OSSL_DISPATCH **out, void **provctx)
{
	(void)handle;
	(void)in;
	*out = pause_provider_dispatch;
	*provctx = NULL;
	return 1;
}

/* Load it beside the default provider (already active). @return the provider or NULL. */
static OSSL_PROVIDER *pause_provider_load(void)
{
	if (OSSL_PROVIDER_add_builtin(NULL, "pause", pause_provider_init) != 1)
		return NULL;
	return OSSL_PROVIDER_load(NULL, "pause");
}

#endif
