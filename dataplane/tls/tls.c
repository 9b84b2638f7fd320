/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tls: contexts (control thread), session ticket keys (control thread writes,
 * workers read through RCU), and connections over the TCP stack (worker).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_random.h>
#include <urcu-qsbr.h>

#include "tls_internal.h"

/* AEAD suites with forward secrecy only (TLS 1.2), as Mozilla's "intermediate". */
#define TLS12_CIPHERS                                                \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define TLS_GROUPS   "X25519:P-256:P-384"

#define TLS_DEF_DRAIN_S 30
#define TLS_SCRATCH	16384 /* one record's worth of plaintext, gathered for SSL_write */
#define TLS_RECORD_HDR	0x16  /* a handshake record's content type (permissive detection) */
#define TLS_FAIL_NOW_US 1     /* "later, from the stack": the TCP user timer */

/* ---- session ticket keys ---- */

struct tls_ticket_key {
	uint8_t name[16];
	uint8_t aes[32];
	uint8_t hmac[32];
};

/* Published whole; replaced, never written, once published. */
struct tls_ticket_keys {
	struct tls_ticket_key cur, prev;
	bool has_prev;
	/* fetched once here: EVP_aes_256_cbc() in the callback would fetch the
	 * provider's implementation again at every ticket (a lookup under locks) */
	EVP_CIPHER *aes;
};

static struct tls_ticket_keys *tls_keys; /* RCU: control thread writes, workers read */

int tls_tickets_rotate(void)
{
	struct tls_ticket_keys *old = tls_keys, *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -ENOMEM;
	if ((k->aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL) {
		free(k);
		return -ENOMEM;
	}
	if (RAND_bytes((unsigned char *)&k->cur, sizeof(k->cur)) != 1) {
		EVP_CIPHER_free(k->aes);
		free(k);
		return -EIO;
	}
	if (old != NULL) {
		k->prev = old->cur;
		k->has_prev = true;
	}
	rcu_assign_pointer(tls_keys, k);
	if (old != NULL) {
		synchronize_rcu();
		EVP_CIPHER_free(old->aes);
		OPENSSL_cleanse(old, sizeof(*old));
		free(old);
	}
	return 0;
}

static struct tls_conn *tls_of(const SSL *ssl)
{
	return SSL_get_app_data(ssl);
}

/* SSL_CTX_set_tlsext_ticket_key_evp_cb: the worker, without locks. */
static int tls_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *ectx,
			 EVP_MAC_CTX *hctx, int enc)
{
	const struct tls_ticket_keys *ks = rcu_dereference(tls_keys);
	const struct tls_ticket_key *k = NULL;
	OSSL_PARAM params[3];
	int rc = 1;

	if (ks == NULL)
		return enc ? -1 : 0;
	if (enc) {
		k = &ks->cur;
		memcpy(name, k->name, sizeof(k->name));
		if (RAND_bytes(iv, 16) != 1 ||
		    EVP_EncryptInit_ex2(ectx, ks->aes, k->aes, iv, NULL) != 1)
			return -1;
	} else {
		if (memcmp(name, ks->cur.name, sizeof(ks->cur.name)) == 0) {
			k = &ks->cur;
		} else if (ks->has_prev &&
			   memcmp(name, ks->prev.name, sizeof(ks->prev.name)) == 0) {
			k = &ks->prev;
			rc = 2; /* good, and the client gets a ticket under the current key */
		} else {
			stats_inc(tls_of(ssl)->tw->stats, STAT_TLS_TICKET_UNKNOWN);
			return 0; /* a full handshake */
		}
		if (EVP_DecryptInit_ex2(ectx, ks->aes, k->aes, iv, NULL) != 1)
			return -1;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac,
						      sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	return rc;
}

/* ---- peer identity ---- */

/* Each refusal of secrets_verify_peer() has its counter. */
static const uint16_t tls_peer_stat[SECRETS_PEER_RESULT_MAX] = {
	[SECRETS_PEER_OK] = STAT_TLS_HANDSHAKES, /* unused */
	[SECRETS_PEER_NO_CERT] = STAT_TLS_PEER_NO_CERT,
	[SECRETS_PEER_NO_URI_SAN] = STAT_TLS_PEER_NO_URI_SAN,
	[SECRETS_PEER_MULTIPLE_URI_SAN] = STAT_TLS_PEER_MULTIPLE_URI_SAN,
	[SECRETS_PEER_BAD_SPIFFE_ID] = STAT_TLS_PEER_BAD_SPIFFE_ID,
	[SECRETS_PEER_UNKNOWN_TRUST_DOMAIN] = STAT_TLS_PEER_UNKNOWN_TRUST_DOMAIN,
	[SECRETS_PEER_CA_LEAF] = STAT_TLS_PEER_CA_LEAF,
	[SECRETS_PEER_SELF_SIGNED] = STAT_TLS_PEER_SELF_SIGNED,
	[SECRETS_PEER_UNTRUSTED] = STAT_TLS_PEER_UNTRUSTED,
	[SECRETS_PEER_EXPIRED] = STAT_TLS_PEER_EXPIRED,
	[SECRETS_PEER_NOT_YET_VALID] = STAT_TLS_PEER_NOT_YET_VALID,
	[SECRETS_PEER_LIFETIME] = STAT_TLS_PEER_LIFETIME,
};

/*
 * Verify the peer's certificate @p leaf (with the chain it sent) as a SPIFFE
 * X.509-SVID against the worker's snapshot; fills c->peer_*. @return -1 when
 * it is one, or the counter that says why not (its reason counted too).
 */
static int tls_peer_verify(struct tls_conn *c, X509 *leaf, STACK_OF(X509) * chain)
{
	struct secrets_peer peer;
	enum secrets_peer_result r;

	r = secrets_verify_peer(c->tw->snap, leaf, chain, c->tw->unix_now, &peer);
	if (r != SECRETS_PEER_OK) {
		if ((unsigned int)r < SECRETS_PEER_RESULT_MAX)
			stats_inc(c->tw->stats, (enum stats_id)tls_peer_stat[r]);
		return STAT_TLS_HS_FAIL_CERT;
	}
	snprintf(c->peer_id, sizeof(c->peer_id), "%s", peer.spiffe_id);
	snprintf(c->peer_serial, sizeof(c->peer_serial), "%s", peer.serial);
	c->peer_not_after = peer.not_after;
	return -1;
}

/* Does @p id match @p pattern (exact, or a prefix ending in '/' or "/" "*")? */
static bool tls_id_match(const char *pattern, const char *id)
{
	size_t n = strlen(pattern);

	if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '/')
		return strncmp(pattern, id, n - 1) == 0;
	if (n >= 1 && pattern[n - 1] == '/')
		return strncmp(pattern, id, n) == 0;
	return strcmp(pattern, id) == 0;
}

/*
 * Is the peer (verified, c->peer_id; "" without a certificate) acceptable
 * under @p c's policy? @return -1 when it is, or the counter that says why not.
 */
static int tls_peer_policy(const struct tls_conn *c)
{
	const struct tls_policy *p = c->pol;

	if (c->ctx->role == TLS_ROLE_CLIENT) {
		if (c->peer_id[0] == '\0')
			return STAT_TLS_HS_FAIL_CERT;
		if (c->ctx->expected_peer != NULL && strcmp(c->ctx->expected_peer, c->peer_id) != 0)
			return STAT_TLS_HS_FAIL_SECURE_NAME;
		return -1;
	}
	if (c->peer_id[0] == '\0' && p->mtls == TLS_MTLS_STRICT)
		return STAT_TLS_HS_FAIL_NO_CLIENT_CERT;
	if (p->n_allowed == 0)
		return -1;
	for (uint32_t i = 0; c->peer_id[0] != '\0' && i < p->n_allowed; i++)
		if (tls_id_match(p->allowed[i], c->peer_id))
			return -1;
	return STAT_TLS_HS_FAIL_PEER_NOT_ALLOWED;
}

/* SSL_CTX_set_cert_verify_callback: the SVID rules (dataplane/secrets), then the policy. */
static int tls_verify_cb(X509_STORE_CTX *xs, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_conn *c = tls_of(ssl);
	int why;

	(void)arg;
	why = tls_peer_verify(c, X509_STORE_CTX_get0_cert(xs), X509_STORE_CTX_get0_untrusted(xs));
	if (why < 0)
		why = tls_peer_policy(c);
	if (why >= 0) {
		c->fail = (enum stats_id)why;
		X509_STORE_CTX_set_error(xs, why == STAT_TLS_HS_FAIL_CERT
						     ? X509_V_ERR_CERT_UNTRUSTED
						     : X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

static int tls_verify_mode(enum tls_role role, enum tls_mtls m)
{
	if (role == TLS_ROLE_CLIENT || m == TLS_MTLS_STRICT)
		return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	return m == TLS_MTLS_PERMISSIVE ? SSL_VERIFY_PEER : SSL_VERIFY_NONE;
}

/* ---- SNI, ALPN, alerts ---- */

static bool tls_name_match(const char *pattern, const char *name)
{
	const char *dot;

	if (pattern[0] == '*' && pattern[1] == '.') {
		dot = strchr(name, '.');
		return dot != NULL && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
	}
	return strcasecmp(pattern, name) == 0;
}

static int tls_sni_cb(SSL *ssl, int *al, void *arg)
{
	const struct tls_ctx *ctx = arg;
	struct tls_conn *c = tls_of(ssl);
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)al;
	if (name == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (uint32_t i = 0; i < ctx->n_sni; i++)
		for (uint32_t j = 0; j < ctx->sni[i].n_names; j++)
			if (tls_name_match(ctx->sni[i].names[j], name)) {
				c->pol = &ctx->sni[i];
				SSL_set_SSL_CTX(ssl, c->pol->sctx);
				SSL_set_verify(ssl, tls_verify_mode(ctx->role, c->pol->mtls), NULL);
				return SSL_TLSEXT_ERR_OK;
			}
	return SSL_TLSEXT_ERR_OK; /* the default identity */
}

static int tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct tls_ctx *ctx = arg;

	if (SSL_select_next_proto((unsigned char **)out, outlen, ctx->alpn_wire, ctx->alpn_len, in,
				  inlen) == OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_OK;
	tls_of(ssl)->fail = STAT_TLS_HS_FAIL_ALPN;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void tls_info_cb(const SSL *ssl, int where, int ret)
{
	struct tls_conn *c = tls_of(ssl);
	const int desc = ret & 0xff;

	if (!(where & SSL_CB_ALERT) || c == NULL)
		return;
	if (where & SSL_CB_READ)
		stats_inc(c->tw->stats, desc == SSL3_AD_CLOSE_NOTIFY
						? STAT_TLS_CLOSE_NOTIFY_RECEIVED
						: STAT_TLS_ALERTS_RECEIVED);
	else
		stats_inc(c->tw->stats, desc == SSL3_AD_CLOSE_NOTIFY ? STAT_TLS_CLOSE_NOTIFY_SENT
								     : STAT_TLS_ALERTS_SENT);
	if ((where & SSL_CB_WRITE) && desc == SSL_AD_NO_RENEGOTIATION)
		stats_inc(c->tw->stats, STAT_TLS_RENEGOTIATION_REFUSED);
}

/* ---- contexts ---- */

static void tls_err(char *err, size_t errlen, const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, e != 0 ? buf : "failed");
	ERR_clear_error();
}

static char **tls_strv_dup(const char *const *v, uint32_t n)
{
	char **out = calloc(n ? n : 1, sizeof(*out));

	for (uint32_t i = 0; out != NULL && i < n; i++)
		if ((out[i] = strdup(v[i])) == NULL) {
			while (i-- > 0)
				free(out[i]);
			free(out);
			return NULL;
		}
	return out;
}

static void tls_strv_free(char **v, uint32_t n)
{
	for (uint32_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static void tls_policy_fini(struct tls_policy *p)
{
	SSL_CTX_free(p->sctx);
	tls_strv_free(p->names, p->n_names);
	tls_strv_free(p->allowed, p->n_allowed);
	memset(p, 0, sizeof(*p));
}

/*
 * The session ID context of an identity of ctx @p conf: SHA-256 of the ctx's
 * name, the identity's fingerprint and its mTLS mode, so that every worker's
 * copy of a listener resumes the others' sessions and no other ctx or
 * identity does. (Allowed peers are checked again on every resumption.)
 */
static int tls_sid_ctx(const struct tls_ctx_conf *conf, const struct tls_policy_conf *pc,
		       unsigned char sid[SSL_MAX_SID_CTX_LENGTH])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const uint8_t mode = (uint8_t)pc->mtls;
	unsigned int n = 0;
	int ok;

	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, conf->name != NULL ? conf->name : "",
			      strlen(conf->name != NULL ? conf->name : "") + 1) == 1 &&
	     EVP_DigestUpdate(md, pc->secret->fingerprint, TLS_FP_LEN) == 1 &&
	     EVP_DigestUpdate(md, &mode, 1) == 1 && EVP_DigestFinal_ex(md, sid, &n) == 1 &&
	     n == SSL_MAX_SID_CTX_LENGTH;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* An SSL_CTX with the settings every ctx shares, and @p pc's identity. */
static int tls_policy_init(struct tls_ctx *ctx, const struct tls_ctx_conf *conf,
			   const struct tls_policy_conf *pc, struct tls_policy *p, char *err,
			   size_t errlen)
{
	const bool server = conf->role == TLS_ROLE_SERVER;
	const int minv = conf->min_version != 0 ? conf->min_version : TLS1_2_VERSION;
	unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
	SSL_CTX *s;

	p->mtls = pc->mtls;
	p->n_names = pc->n_names;
	p->n_allowed = pc->n_allowed_peers;
	if ((p->names = tls_strv_dup(pc->names, pc->n_names)) == NULL ||
	    (p->allowed = tls_strv_dup(pc->allowed_peers, pc->n_allowed_peers)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (minv != TLS1_2_VERSION && minv != TLS1_3_VERSION) {
		snprintf(err, errlen, "minimum version must be TLS 1.2 or 1.3");
		return -EINVAL;
	}
	if (server && pc->secret == NULL) {
		snprintf(err, errlen, "a server needs an identity");
		return -EINVAL;
	}
	s = SSL_CTX_new_ex(NULL, conf->propq, server ? TLS_server_method() : TLS_client_method());
	if (s == NULL) {
		tls_err(err, errlen, "SSL_CTX_new");
		return -ENOMEM;
	}
	p->sctx = s;
	SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
				       SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS | (conf->async ? SSL_MODE_ASYNC : 0));
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_min_proto_version(s, minv) != 1 ||
	    SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(s, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(s, TLS13_SUITES) != 1 ||
	    SSL_CTX_set1_groups_list(s, TLS_GROUPS) != 1) {
		tls_err(err, errlen, "TLS settings");
		return -EINVAL;
	}
	SSL_CTX_set_cert_verify_callback(s, tls_verify_cb, ctx);
	SSL_CTX_set_info_callback(s, tls_info_cb);
	if (server) {
		/* a session resumes only on the identity and policy it was made under */
		if (tls_sid_ctx(conf, pc, sid) != 0 ||
		    SSL_CTX_set_session_id_context(s, sid, sizeof(sid)) != 1 ||
		    SSL_CTX_set_tlsext_ticket_key_evp_cb(s, tls_ticket_cb) != 1 ||
		    SSL_CTX_set_num_tickets(s, 1) != 1) {
			tls_err(err, errlen, "session tickets");
			return -EINVAL;
		}
		SSL_CTX_set_tlsext_servername_callback(s, tls_sni_cb);
		SSL_CTX_set_tlsext_servername_arg(s, ctx);
		if (ctx->alpn_len > 0)
			SSL_CTX_set_alpn_select_cb(s, tls_alpn_cb, ctx);
	} else if (ctx->alpn_len > 0 && SSL_CTX_set_alpn_protos(s, ctx->alpn_wire, ctx->alpn_len)) {
		tls_err(err, errlen, "ALPN");
		return -EINVAL;
	}
	if (pc->secret != NULL) {
		const struct secret *sec = pc->secret;

		if (SSL_CTX_use_cert_and_key(s, sec->leaf, sec->key, sec->chain, 1) != 1) {
			tls_err(err, errlen, "certificate and key");
			return -EINVAL;
		}
		memcpy(p->fingerprint, sec->fingerprint, TLS_FP_LEN);
		snprintf(p->serial, sizeof(p->serial), "%s", sec->serial);
		p->not_after = sec->not_after;
	}
	return 0;
}

struct tls_ctx *tls_ctx_create(const struct tls_ctx_conf *conf, char *err, size_t errlen)
{
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
	uint32_t len = 0;

	if (ctx == NULL)
		goto nomem;
	if (tls_keys == NULL && conf->role == TLS_ROLE_SERVER && tls_tickets_rotate() != 0)
		goto nomem;
	ctx->role = conf->role;
	ctx->drain_window_us =
		(uint64_t)(conf->drain_window_s != 0 ? conf->drain_window_s : TLS_DEF_DRAIN_S) *
		1000000;
	for (uint32_t i = 0; i < conf->n_alpn; i++) {
		size_t n = strlen(conf->alpn[i]);

		if (n == 0 || n > 255) {
			snprintf(err, errlen, "an ALPN protocol name is 1 to 255 bytes");
			goto fail;
		}
		len += 1 + (uint32_t)n;
	}
	if (len > 0) {
		if ((ctx->alpn_wire = malloc(len)) == NULL)
			goto nomem;
		for (uint32_t i = 0, o = 0; i < conf->n_alpn; i++) {
			size_t n = strlen(conf->alpn[i]);

			ctx->alpn_wire[o++] = (uint8_t)n;
			memcpy(ctx->alpn_wire + o, conf->alpn[i], n);
			o += (uint32_t)n;
		}
		ctx->alpn_len = len;
	}
	if ((conf->server_name != NULL && (ctx->server_name = strdup(conf->server_name)) == NULL) ||
	    (conf->expected_peer != NULL &&
	     (ctx->expected_peer = strdup(conf->expected_peer)) == NULL))
		goto nomem;
	if (conf->n_sni > 0 && (ctx->sni = calloc(conf->n_sni, sizeof(*ctx->sni))) == NULL)
		goto nomem;
	if (tls_policy_init(ctx, conf, &conf->def, &ctx->def, err, errlen) != 0)
		goto fail;
	for (uint32_t i = 0; i < conf->n_sni; i++) {
		ctx->n_sni++;
		if (tls_policy_init(ctx, conf, &conf->sni[i], &ctx->sni[i], err, errlen) != 0)
			goto fail;
	}
	return ctx;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	tls_ctx_free(ctx);
	return NULL;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	tls_policy_fini(&ctx->def);
	for (uint32_t i = 0; i < ctx->n_sni; i++)
		tls_policy_fini(&ctx->sni[i]);
	free(ctx->sni);
	free(ctx->alpn_wire);
	free(ctx->server_name);
	free(ctx->expected_peer);
	free(ctx->conf);
	free(ctx->cconf);
	free(ctx);
}

const uint8_t *tls_ctx_fingerprint(const struct tls_ctx *ctx)
{
	return ctx->def.fingerprint;
}

/* ---- connections ---- */

static void tls_conn_free(struct tls_conn *c)
{
	if (c->parked)
		LIST_REMOVE(c, park);
	SSL_free(c->ssl); /* and its BIO */
	tls_bio_drop(c);
	LIST_REMOVE(c, link);
	rte_mempool_put(c->tw->conns, c);
}

/* Leave a TCP callback: free a connection the user closed inside it. */
static void tls_leave(struct tls_conn *c)
{
	if (--c->depth == 0 && c->dead)
		tls_conn_free(c);
}

/* The user is done with @p c: free it now or when the callback it is in returns. */
static void tls_release(struct tls_conn *c)
{
	c->tcp = NULL;
	if (c->depth > 0)
		c->dead = true;
	else
		tls_conn_free(c);
}

/* A failure the user learns of now (from a TCP callback): close and tell. */
static void tls_fail(struct tls_conn *c, int why, enum tls_close_reason reason)
{
	if (why >= 0)
		stats_inc(c->tw->stats, (enum stats_id)why);
	ERR_clear_error();
	c->state = TLS_ST_FAILED;
	tls_bio_flush(c); /* the alert OpenSSL wrote, if any */
	rte_pktmbuf_free(c->rx);
	c->rx = NULL;
	if (c->tcp != NULL)
		tcp_close(c->tcp); /* FIN after the alert */
	c->tcp = NULL;
	c->dead = true; /* freed by tls_leave() once the callback returns */
	c->cb->closed(c, c->arg, reason);
}

/* A failure found inside an API call: the user learns it from the stack, later. */
static void tls_fail_later(struct tls_conn *c, int why)
{
	if (why >= 0)
		stats_inc(c->tw->stats, (enum stats_id)why);
	ERR_clear_error();
	c->state = TLS_ST_FAILED;
	tls_bio_flush(c);
	if (c->tcp != NULL)
		tcp_set_timer(c->tcp, TLS_FAIL_NOW_US);
}

/* The TCP user timer at the earlier of the user's deadline and the drain one. */
static void tls_timer_arm(struct tls_conn *c)
{
	const uint64_t now = c->tw->now_us;
	uint64_t at = c->user_at;

	if (c->tcp == NULL || c->state == TLS_ST_FAILED)
		return;
	if (c->drain_at != 0 && (at == 0 || c->drain_at < at))
		at = c->drain_at;
	tcp_set_timer(c->tcp, at == 0 ? 0 : at > now ? at - now : 1);
}

/* Close @p c gracefully at @p at (if no earlier drain is set), counted in @p stat. */
static void tls_drain_at(struct tls_conn *c, uint64_t at, enum stats_id stat)
{
	if (c->drain_at != 0 && c->drain_at <= at)
		return;
	c->drain_at = at;
	c->drain_stat = (uint16_t)stat;
	tls_timer_arm(c);
}

/* Established: close before either certificate expires, within the drain window. */
static void tls_expiry_arm(struct tls_conn *c)
{
	int64_t exp = c->pol->not_after, left;
	uint64_t lead;

	if (c->peer_not_after != 0 && (exp == 0 || c->peer_not_after < exp))
		exp = c->peer_not_after;
	if (exp == 0)
		return;
	left = exp - c->tw->unix_now;
	lead = 1000000 + rte_rand_max(c->ctx->drain_window_us);
	if (left <= 0 || (uint64_t)left * 1000000 <= lead)
		tls_drain_at(c, c->tw->now_us + 1, STAT_TLS_EXPIRY_CLOSED);
	else
		tls_drain_at(c, c->tw->now_us + (uint64_t)left * 1000000 - lead,
			     STAT_TLS_EXPIRY_CLOSED);
}

/* What a failed SSL call's error queue says, as a counter. */
static int tls_classify(struct tls_conn *c, int err, bool handshake)
{
	unsigned long e = ERR_peek_last_error();
	int r = ERR_GET_REASON(e);

	if (c->fail != 0)
		return c->fail;
	if (err == SSL_ERROR_SYSCALL || r == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return handshake ? STAT_TLS_HS_FAIL_TCP : STAT_TLS_TRUNCATED;
	if (r == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC)
		return STAT_TLS_BAD_RECORDS;
	if (r >= SSL_AD_REASON_OFFSET && handshake) {
		if (r == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
			return STAT_TLS_HS_FAIL_VERSION;
		return STAT_TLS_HS_FAIL_ALERT;
	}
	if (!handshake)
		return STAT_TLS_RECORD_ERRORS;
	switch (r) {
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_UNKNOWN_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_HTTP_REQUEST:
		return STAT_TLS_HS_FAIL_VERSION;
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		return STAT_TLS_HS_FAIL_NO_CLIENT_CERT;
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
		return STAT_TLS_HS_FAIL_CERT;
	case SSL_R_NO_APPLICATION_PROTOCOL:
		return STAT_TLS_HS_FAIL_ALPN;
	default:
		return STAT_TLS_HS_FAIL_PROTOCOL;
	}
}

/*
 * The peer's intermediates are not needed once it is verified: what later
 * layers know of the peer is copied into the tls_conn (tls_conn_info()), and a
 * resumed session is verified from its ticket. Each parsed intermediate is a
 * few KiB an idle connection would hold (the leaf stays: the session owns it).
 * Servers only: a client's session is offered again (tls_resume_from()), and
 * its resumption verifies the chain it holds.
 */
static void tls_drop_peer_chain(struct tls_conn *c)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);
	X509 *x;

	while (chain != NULL && (x = sk_X509_pop(chain)) != NULL)
		X509_free(x);
}

/* The handshake is over (or a permissive server saw plaintext): tell the user. */
static void tls_established(struct tls_conn *c)
{
	if (c->state == TLS_ST_HANDSHAKE) {
		X509 *peer = SSL_get0_peer_certificate(c->ssl);
		int why = -1;

		/* a resumed session's peer was not verified in this handshake: now,
		 * against today's bundles and clock */
		if (peer != NULL && SSL_session_reused(c->ssl))
			why = tls_peer_verify(c, peer, SSL_get_peer_cert_chain(c->ssl));
		if (why < 0)
			why = tls_peer_policy(c);

		if (why >= 0) {
			tls_fail(c, why, TLS_CLOSE_HANDSHAKE);
			return;
		}
		c->state = TLS_ST_ESTABLISHED;
		if (c->ctx->role == TLS_ROLE_SERVER) /* a client's session may resume another */
			tls_drop_peer_chain(c);
		stats_inc(c->tw->stats, STAT_TLS_HANDSHAKES);
		if (SSL_session_reused(c->ssl))
			stats_inc(c->tw->stats, STAT_TLS_RESUMED);
		tls_expiry_arm(c);
	}
	if (c->cb->handshake_done != NULL && c->cb->handshake_done(c, c->arg) != 0) {
		if (!c->dead) { /* refused by the user: RST, and no more callbacks */
			c->state = TLS_ST_FAILED;
			tcp_abort(c->tcp);
			c->tcp = NULL;
			c->dead = true;
		}
		return;
	}
	if (!c->dead && c->cb->writable != NULL)
		c->cb->writable(c, c->arg);
	if (!c->dead && c->cb->readable != NULL &&
	    (c->rx != NULL || (c->ssl != NULL && SSL_pending(c->ssl) > 0) ||
	     (c->tcp != NULL && (tcp_recv_queued(c->tcp) > 0 || tcp_recv_eof(c->tcp)))))
		c->cb->readable(c, c->arg);
}

static void tls_handshake(struct tls_conn *c)
{
	int rc = SSL_do_handshake(c->ssl), err;

	tls_bio_flush(c);
	if (rc == 1) {
		tls_established(c);
		return;
	}
	err = SSL_get_error(c->ssl, rc);
	if (err == SSL_ERROR_WANT_ASYNC) {
		/* an offload (engine or provider) took the job: poll it each loop */
		if (!c->parked) {
			c->parked = true;
			LIST_INSERT_HEAD(&c->tw->parked, c, park);
			stats_inc(c->tw->stats, STAT_TLS_ASYNC_PARKED);
		}
		return;
	}
	if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) &&
	    !(c->tcp != NULL && tcp_recv_eof(c->tcp) && c->rx == NULL))
		return;
	tls_fail(c, tls_classify(c, err, true), TLS_CLOSE_HANDSHAKE);
}

/* A permissive server's first bytes: a TLS handshake record, or plaintext? */
static bool tls_sniff_plaintext(struct tls_conn *c)
{
	if (c->ctx->role != TLS_ROLE_SERVER || c->pol->mtls != TLS_MTLS_PERMISSIVE ||
	    SSL_in_before(c->ssl) == 0)
		return false;
	if (c->rx == NULL && (c->rx = tcp_recv(c->tcp, UINT32_MAX)) == NULL)
		return false;
	if (rte_pktmbuf_mtod(c->rx, const uint8_t *)[0] == TLS_RECORD_HDR)
		return false;
	SSL_free(c->ssl);
	c->ssl = NULL;
	c->state = TLS_ST_PLAINTEXT;
	stats_inc(c->tw->stats, STAT_TLS_PERMISSIVE_PLAINTEXT);
	return true;
}

static void tls_tcp_readable(struct tcp_conn *t, void *arg)
{
	struct tls_conn *c = arg;

	(void)t;
	c->depth++;
	if (c->state == TLS_ST_HANDSHAKE) {
		if (tls_sniff_plaintext(c))
			tls_established(c);
		else
			tls_handshake(c);
	} else if (c->state != TLS_ST_FAILED && c->cb->readable != NULL) {
		c->cb->readable(c, c->arg);
	}
	tls_leave(c);
}

static void tls_tcp_writable(struct tcp_conn *t, void *arg)
{
	struct tls_conn *c = arg;

	(void)t;
	c->depth++;
	if ((c->state == TLS_ST_ESTABLISHED || c->state == TLS_ST_PLAINTEXT) &&
	    c->cb->writable != NULL) {
		c->blocked = false;
		c->cb->writable(c, c->arg);
	}
	tls_leave(c);
}

static void tls_tcp_connected(struct tcp_conn *t, void *arg)
{
	struct tls_conn *c = arg;

	(void)t;
	c->depth++;
	tls_handshake(c); /* the ClientHello */
	tls_leave(c);
}

static void tls_tcp_timer(struct tcp_conn *t, void *arg)
{
	struct tls_conn *c = arg;

	(void)t;
	const uint64_t now = c->tw->now_us;

	c->depth++;
	if (c->state == TLS_ST_FAILED) {
		tls_fail(c, -1, TLS_CLOSE_PROTOCOL);
		goto out;
	}
	if (c->drain_at != 0 && now >= c->drain_at) {
		c->drain_at = 0;
		if (c->state == TLS_ST_ESTABLISHED && !c->shut) {
			stats_inc(c->tw->stats, (enum stats_id)c->drain_stat);
			c->drain_due = true;
			if (c->cb->drain != NULL)
				c->cb->drain(c, c->arg); /* the user closes at its boundary */
			else
				tls_shutdown(c); /* close_notify, FIN: the peer closes its side */
		}
	}
	if (c->user_at != 0 && now >= c->user_at) {
		c->user_at = 0;
		if (c->cb->timer != NULL)
			c->cb->timer(c, c->arg);
	}
	if (!c->dead)
		tls_timer_arm(c);
out:
	tls_leave(c);
}

static void tls_tcp_closed(struct tcp_conn *t, void *arg, enum tcp_close_reason reason)
{
	struct tls_conn *c = arg;
	enum tls_close_reason why = reason == TCP_CLOSE_NORMAL ? TLS_CLOSE_NORMAL : TLS_CLOSE_TCP;

	(void)t;
	c->depth++;
	c->tcp = NULL;
	if (c->state == TLS_ST_HANDSHAKE) {
		stats_inc(c->tw->stats, STAT_TLS_HS_FAIL_TCP);
		why = TLS_CLOSE_HANDSHAKE;
	} else if (c->state == TLS_ST_FAILED) {
		why = TLS_CLOSE_PROTOCOL;
	}
	c->dead = true;
	c->cb->closed(c, c->arg, why);
	tls_leave(c);
}

void tls_tcp_callbacks(struct tcp_callbacks *cb, int (*accepted)(struct tcp_conn *, void *))
{
	memset(cb, 0, sizeof(*cb));
	cb->accepted = accepted;
	cb->connected = tls_tcp_connected;
	cb->readable = tls_tcp_readable;
	cb->writable = tls_tcp_writable;
	cb->timer = tls_tcp_timer;
	cb->closed = tls_tcp_closed;
}

/* tcp_connect() keeps the pointer: the table lives as long as the program. */
static const struct tcp_callbacks tls_connect_cbs = {
	.connected = tls_tcp_connected,
	.readable = tls_tcp_readable,
	.writable = tls_tcp_writable,
	.timer = tls_tcp_timer,
	.closed = tls_tcp_closed,
};

static struct tls_conn *tls_conn_new(struct tls_worker *tw, const struct tls_ctx *ctx,
				     const struct tls_callbacks *cb, void *arg)
{
	struct tls_conn *c;
	BIO *b;

	if (rte_mempool_get(tw->conns, (void **)&c) != 0) {
		stats_inc(tw->stats, STAT_TLS_DROP_NOMEM);
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->tw = tw;
	c->ctx = ctx;
	c->pol = &ctx->def;
	c->cb = cb;
	c->arg = arg;
	c->start_us = tw->now_us;
	c->ssl = SSL_new(ctx->def.sctx);
	b = c->ssl != NULL ? tls_bio_new(c) : NULL;
	if (b == NULL) {
		SSL_free(c->ssl);
		ERR_clear_error();
		rte_mempool_put(tw->conns, c);
		stats_inc(tw->stats, STAT_TLS_DROP_NOMEM);
		return NULL;
	}
	SSL_set_bio(c->ssl, b, b);
	SSL_set_app_data(c->ssl, c);
	SSL_set_verify(c->ssl, tls_verify_mode(ctx->role, ctx->def.mtls), NULL);
	if (ctx->role == TLS_ROLE_SERVER) {
		SSL_set_accept_state(c->ssl);
	} else {
		SSL_set_connect_state(c->ssl);
		if (ctx->server_name != NULL)
			SSL_set_tlsext_host_name(c->ssl, ctx->server_name);
	}
	LIST_INSERT_HEAD(&tw->conns_list, c, link);
	return c;
}

struct tls_conn *tls_accept(struct tls_worker *tw, const struct tls_ctx *ctx, struct tcp_conn *tc,
			    const struct tls_callbacks *cb, void *arg)
{
	struct tls_conn *c = tls_conn_new(tw, ctx, cb, arg);

	if (c == NULL)
		return NULL;
	c->tcp = tc;
	tcp_set_arg(tc, c);
	return c;
}

struct tls_conn *tls_connect(struct tls_worker *tw, const struct tls_ctx *ctx, struct tcp_stack *ts,
			     const struct tcp_addr *laddr, const struct tcp_addr *raddr,
			     uint16_t rport, const struct tcp_params *params,
			     const struct tls_callbacks *cb, void *arg, uint64_t now_us)
{
	struct tls_conn *c = tls_conn_new(tw, ctx, cb, arg);

	if (c == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	c->tcp = tcp_connect(ts, laddr, raddr, rport, params, &tls_connect_cbs, c, now_us);
	if (c->tcp == NULL) {
		tls_conn_free(c);
		return NULL;
	}
	return c;
}

bool tls_resume_from(struct tls_conn *c, const struct tls_conn *from)
{
	SSL_SESSION *sess;
	bool ok;

	if (from->ctx != c->ctx || c->ctx->role != TLS_ROLE_CLIENT ||
	    from->state != TLS_ST_ESTABLISHED || c->state != TLS_ST_HANDSHAKE || from->dead)
		return false;
	sess = SSL_get1_session(from->ssl); /* a reference: the same session object */
	ok = sess != NULL && SSL_SESSION_is_resumable(sess) && SSL_set_session(c->ssl, sess) == 1;
	SSL_SESSION_free(sess);
	return ok;
}

void tls_set_callbacks(struct tls_conn *c, const struct tls_callbacks *cb, void *arg)
{
	c->cb = cb;
	c->arg = arg;
}

int tls_send(struct tls_conn *c, struct rte_mbuf *m)
{
	uint32_t total = m->pkt_len, fill = 0;
	uint8_t *buf = c->tw->scratch;

	if (c->state == TLS_ST_PLAINTEXT && c->tcp != NULL && !c->shut)
		return tcp_send(c->tcp, m);
	if (c->state != TLS_ST_ESTABLISHED || c->shut || c->tcp == NULL) {
		rte_pktmbuf_free(m);
		return c->state == TLS_ST_HANDSHAKE ? -EAGAIN : -EPIPE;
	}
	/* gather up to a record's worth per SSL_write: fewer, fuller records */
	for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
		uint32_t off = 0;

		while (off < s->data_len) {
			uint32_t k = RTE_MIN((uint32_t)s->data_len - off, TLS_SCRATCH - fill);

			memcpy(buf + fill, rte_pktmbuf_mtod_offset(s, const uint8_t *, off), k);
			fill += k;
			off += k;
			if (fill == TLS_SCRATCH || (s->next == NULL && off == s->data_len)) {
				if (SSL_write(c->ssl, buf, (int)fill) != (int)fill) {
					rte_pktmbuf_free(m);
					tls_fail_later(c, STAT_TLS_DROP_NOMEM);
					return -EPIPE;
				}
				fill = 0;
			}
		}
	}
	rte_pktmbuf_free(m);
	tls_bio_flush(c);
	return (int)total;
}

uint32_t tls_send_space(const struct tls_conn *c)
{
	uint32_t space = 0;

	if ((c->state == TLS_ST_ESTABLISHED || c->state == TLS_ST_PLAINTEXT) && c->tcp != NULL &&
	    !c->shut)
		space = tcp_send_space(c->tcp);
	return space;
}

/* Append a fresh mbuf (whole data room) to the chain @p *head. */
static struct rte_mbuf *tls_chain_add(struct tls_conn *c, struct rte_mbuf **head,
				      struct rte_mbuf *last)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(c->tw->pool);

	if (unlikely(m == NULL)) {
		stats_inc(c->tw->stats, STAT_TLS_DROP_NOMEM);
		return NULL;
	}
	m->data_off = 0;
	if (*head == NULL) {
		*head = m;
	} else {
		last->next = m;
		(*head)->nb_segs++;
	}
	return m;
}

struct rte_mbuf *tls_recv(struct tls_conn *c, uint32_t max)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	uint32_t got = 0;

	if (c->state == TLS_ST_PLAINTEXT) {
		struct rte_mbuf *m = c->rx;

		c->rx = NULL;
		if (m == NULL && c->tcp != NULL)
			m = tcp_recv(c->tcp, max);
		return m;
	}
	if (c->state != TLS_ST_ESTABLISHED || c->eof)
		return NULL;
	while (got < max) {
		int n, err;

		/* an SSL_read() that finds nothing leaves a record buffer allocated */
		if (c->rx == NULL && !SSL_has_pending(c->ssl) &&
		    (c->tcp == NULL || (tcp_recv_queued(c->tcp) == 0 && !tcp_recv_eof(c->tcp))))
			break;
		if ((last == NULL || rte_pktmbuf_tailroom(last) == 0) &&
		    (last = tls_chain_add(c, &head, last)) == NULL)
			break;
		n = SSL_read(c->ssl, rte_pktmbuf_mtod_offset(last, char *, last->data_len),
			     rte_pktmbuf_tailroom(last));
		if (n > 0) {
			last->data_len = (uint16_t)(last->data_len + n);
			head->pkt_len += (uint32_t)n;
			got += (uint32_t)n;
			continue;
		}
		err = SSL_get_error(c->ssl, n);
		if (err == SSL_ERROR_WANT_READ) {
			/* between records: give the buffer back (refused, harmlessly,
			 * while part of a record waits in it) */
			SSL_free_buffers(c->ssl);
		} else if (err == SSL_ERROR_ZERO_RETURN) {
			c->eof = true;
		} else {
			const int why = tls_classify(c, err, false);

			if (why == STAT_TLS_TRUNCATED) {
				stats_inc(c->tw->stats, STAT_TLS_TRUNCATED);
				ERR_clear_error();
				c->eof = true;
			} else {
				tls_fail_later(c, why);
			}
		}
		break;
	}
	tls_bio_flush(c); /* alerts, key updates */
	if (head != NULL && head->pkt_len == 0) {
		rte_pktmbuf_free(head);
		head = NULL;
	}
	return head;
}

bool tls_recv_eof(const struct tls_conn *c)
{
	if (c->state == TLS_ST_PLAINTEXT)
		return c->rx == NULL && (c->tcp == NULL || tcp_recv_eof(c->tcp));
	return c->eof || c->state == TLS_ST_FAILED;
}

void tls_shutdown(struct tls_conn *c)
{
	if (c->shut || c->tcp == NULL)
		return;
	c->shut = true;
	if (c->state == TLS_ST_ESTABLISHED) {
		SSL_shutdown(c->ssl); /* close_notify */
		ERR_clear_error();
		tls_bio_flush(c);
	}
	tcp_shutdown(c->tcp);
}

void tls_close(struct tls_conn *c)
{
	if (c->tcp != NULL) {
		if (c->state == TLS_ST_ESTABLISHED && !c->shut) {
			SSL_shutdown(c->ssl);
			ERR_clear_error();
			tls_bio_flush(c);
		}
		tcp_close(c->tcp);
	}
	tls_release(c);
}

void tls_abort(struct tls_conn *c)
{
	if (c->tcp != NULL)
		tcp_abort(c->tcp);
	tls_release(c);
}

void tls_set_timer(struct tls_conn *c, uint64_t delay_us)
{
	c->user_at = delay_us != 0 ? c->tw->now_us + delay_us : 0;
	tls_timer_arm(c);
}

struct tcp_conn *tls_tcp(const struct tls_conn *c)
{
	return c->tcp;
}

bool tls_draining(const struct tls_conn *c)
{
	return c->drain_due || (c->drain_at != 0 && c->drain_stat == STAT_TLS_ROTATION_CLOSED);
}

void tls_conn_info(const struct tls_conn *c, struct tls_conn_info *info)
{
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	const char *sni =
		c->ssl != NULL ? SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name) : NULL;

	memset(info, 0, sizeof(*info));
	snprintf(info->peer_id, sizeof(info->peer_id), "%s", c->peer_id);
	snprintf(info->peer_serial, sizeof(info->peer_serial), "%s", c->peer_serial);
	info->peer_not_after = c->peer_not_after;
	snprintf(info->local_serial, sizeof(info->local_serial), "%s", c->pol->serial);
	info->local_not_after = c->pol->not_after;
	memcpy(info->fingerprint, c->pol->fingerprint, TLS_FP_LEN);
	if (c->ssl != NULL)
		SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
	if (alpn_len > 0 && alpn_len < sizeof(info->alpn)) {
		memcpy(info->alpn, alpn, alpn_len);
		info->alpn[alpn_len] = '\0';
	}
	snprintf(info->sni, sizeof(info->sni), "%s", sni != NULL ? sni : "");
	info->role = c->ctx->role;
	info->plaintext = c->state == TLS_ST_PLAINTEXT;
	info->established = c->state == TLS_ST_ESTABLISHED || info->plaintext;
	info->version = info->plaintext ? "plaintext" : SSL_get_version(c->ssl);
	info->cipher = c->ssl != NULL && info->established ? SSL_get_cipher_name(c->ssl) : "";
	info->resumed = c->ssl != NULL && SSL_session_reused(c->ssl);
	info->draining = tls_draining(c);
	info->age_us = c->tw->now_us - c->start_us;
	if (c->tcp != NULL) {
		struct tcp_conn_info ti;

		tcp_conn_get_info(c->tcp, &ti);
		info->laddr = ti.laddr;
		info->raddr = ti.raddr;
		info->lport = ti.lport;
		info->rport = ti.rport;
	}
}

uint32_t tls_conns_dump(struct tls_worker *tw, struct tls_conn_info *out, uint32_t max,
			uint32_t *cursor)
{
	uint32_t i = 0, n = 0;
	struct tls_conn *c;

	LIST_FOREACH(c, &tw->conns_list, link)
	{
		if (c->dead || i++ < *cursor)
			continue;
		if (n == max)
			break;
		tls_conn_info(c, &out[n++]);
	}
	*cursor += n;
	return n;
}

/* ---- workers ---- */

struct tls_worker *tls_worker_create(uint16_t worker_id, uint32_t capacity, int socket_id,
				     struct rte_mempool *pool, struct stats_block *stats)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct tls_worker *tw;

	tw = rte_zmalloc_socket("tls_worker", sizeof(*tw), RTE_CACHE_LINE_SIZE, socket_id);
	if (tw == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	tw->pool = pool;
	tw->stats = stats;
	tw->worker_id = worker_id;
	LIST_INIT(&tw->conns_list);
	LIST_INIT(&tw->parked);
	snprintf(name, sizeof(name), "tls_c%u", worker_id);
	tw->conns = rte_mempool_create(
		name, capacity, sizeof(struct tls_conn), 0, 0, NULL, NULL, NULL, NULL, socket_id,
		RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET | RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (tw->conns == NULL) {
		rte_free(tw);
		rte_errno = ENOMEM;
		return NULL;
	}
	return tw;
}

void tls_worker_free(struct tls_worker *tw)
{
	if (tw == NULL)
		return;
	rte_mempool_free(tw->conns);
	rte_free(tw);
}

void tls_worker_begin(struct tls_worker *tw, const struct cfg_snapshot *snap, uint64_t now_us)
{
	tw->snap = snap;
	tw->now_us = now_us;
	/* certificate times are wall-clock seconds: read the clock once a second
	 * of the worker's own clock, not once per loop iteration */
	if (now_us >= tw->unix_next_us) {
		tw->unix_now = (int64_t)time(NULL);
		tw->unix_next_us = now_us + 1000000;
	}
}

void tls_worker_poll(struct tls_worker *tw)
{
	LIST_HEAD(, tls_conn) round = LIST_HEAD_INITIALIZER(round);
	struct tls_conn *c;

	if (LIST_EMPTY(&tw->parked))
		return;
	/* this round's: a callback may free any of them (tls_conn_free() unlinks
	 * it from whichever list it is on); those parked again wait for the next */
	while ((c = LIST_FIRST(&tw->parked)) != NULL) {
		LIST_REMOVE(c, park);
		LIST_INSERT_HEAD(&round, c, park);
	}
	while ((c = LIST_FIRST(&round)) != NULL) {
		LIST_REMOVE(c, park);
		c->parked = false;
		c->depth++;
		if (c->state == TLS_ST_HANDSHAKE && !c->dead)
			tls_handshake(c); /* resumes the paused job; parks it again if not done */
		tls_leave(c);
	}
}

uint32_t tls_worker_rotate(struct tls_worker *tw, const struct tls_ctx *old,
			   const struct tls_ctx *now)
{
	struct tls_conn *c;
	uint32_t n = 0;

	LIST_FOREACH(c, &tw->conns_list, link)
	{
		const struct tls_policy *p = &now->def;

		if (c->ctx != old || c->dead || c->state != TLS_ST_ESTABLISHED)
			continue;
		if (c->pol != &old->def && (uint32_t)(c->pol - old->sni) < now->n_sni)
			p = &now->sni[c->pol - old->sni];
		if (memcmp(p->fingerprint, c->pol->fingerprint, TLS_FP_LEN) == 0)
			continue;
		tls_conn_retire(c, now);
		n++;
	}
	return n;
}

void tls_conn_retire(struct tls_conn *c, const struct tls_ctx *now)
{
	if (c->dead || c->state != TLS_ST_ESTABLISHED)
		return;
	tls_drain_at(c, c->tw->now_us + 1 + rte_rand_max(now->drain_window_us),
		     STAT_TLS_ROTATION_CLOSED);
}
