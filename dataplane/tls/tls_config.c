/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tls: listeners' "tls" blocks ($.listeners[].tls), parsed for the proxy
 * section (which owns $.listeners) and kept in the snapshot (snap->tls_cfg),
 * and the server ctx each one builds. docs/CONFIG.md ("TLS on listeners") is
 * the schema this file enforces. Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config_json.h"
#include "tls_internal.h"

#define TLS_DEF_DRAIN_WINDOW_S 30

/* The blocks of a snapshot's listeners, by listener index (NULL: plain TCP). */
struct tls_snap_cfg {
	uint32_t n;
	struct tls_server_conf **listener;
};

/* Index = enum tls_mtls. */
static const char *const tls_mtls_names[] = {"strict", "permissive", "disable", NULL};

/* An array of strings, each 1..size-1 bytes, checked by @p ok (NULL: any). */
static int tls_cfg_strings(const json_t *o, const char *key, const char *path, size_t max,
			   char *out, size_t size, uint8_t *n, bool (*ok)(const char *),
			   const char *expected, struct cfg_error *err)
{
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *arr;
	int rc;

	if ((rc = cfg_get_array(o, key, path, 0, max, false, key, &arr, err)) != 0 || arr == NULL)
		return rc;
	cfg_path_key(ap, path, key);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);
		const char *str = json_is_string(v) ? json_string_value(v) : NULL;

		cfg_path_index(ip, ap, i);
		if (str == NULL || str[0] == '\0' || strlen(str) >= size ||
		    (ok != NULL && !ok(str)))
			return cfg_fail_got(err, ip, expected, v);
		snprintf(out + i * size, size, "%s", str);
	}
	*n = (uint8_t)json_array_size(arr);
	return 0;
}

static bool tls_cfg_spiffe_pattern(const char *s)
{
	return strncmp(s, "spiffe://", 9) == 0 && s[9] != '\0';
}

static bool tls_cfg_server_name(const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		      (*p == '*' && p == s && p[1] == '.')))
			return false;
	return true;
}

/* "secret", "mtls" and "allowed_peers" of @p o (an SNI entry inherits @p def's). */
static int tls_cfg_policy(const struct cfg_snapshot *snap, const json_t *o, const char *path,
			  const struct tls_cfg_policy *def, struct tls_cfg_policy *p,
			  struct cfg_error *err)
{
	char sp[CFG_JPATH_LEN];
	int rc;

	cfg_path_key(sp, path, "secret");
	if ((rc = cfg_get_name(o, "secret", path, p->secret, NULL, true, err)) != 0)
		return rc;
	if (secrets_find(snap, p->secret) == NULL)
		return cfg_fail(err, sp,
				"expected the name of an identity in $.secrets.identities, "
				"got \"%s\"",
				p->secret);
	if ((rc = cfg_get_enum(o, "mtls", path, tls_mtls_names,
			       def != NULL ? def->mtls : TLS_MTLS_STRICT, false, &p->mtls, err)) !=
	    0)
		return rc;
	p->mtls_set = json_object_get(o, "mtls") != NULL || (def != NULL && def->mtls_set);
	if (def != NULL && json_object_get(o, "allowed_peers") == NULL) {
		p->n_allowed = def->n_allowed;
		memcpy(p->allowed, def->allowed, sizeof(p->allowed));
		return 0;
	}
	return tls_cfg_strings(o, "allowed_peers", path, TLS_CFG_MAX_PEERS, &p->allowed[0][0],
			       TLS_ID_MAX, &p->n_allowed, tls_cfg_spiffe_pattern,
			       "a SPIFFE ID (\"spiffe://<trust-domain>/<path>\"), or a prefix "
			       "of one ending in '/' or \"/*\"",
			       err);
}

/*
 * "provider_query": the OpenSSL property query the listener's algorithms are
 * fetched with, to put its handshakes on an offload provider loaded through
 * OpenSSL's config ("provider=qatprovider"; "?provider=..." prefers it). A
 * query no loaded provider can answer for a handshake's basic algorithms is
 * refused now rather than at the first handshake.
 */
static int tls_cfg_propq(const json_t *t, const char *path, char *out, size_t size,
			 struct cfg_error *err)
{
	static const char *const needed[] = {"SHA256", "SHA384"};
	char pp[CFG_JPATH_LEN];
	int rc;

	if ((rc = cfg_get_str(t, "provider_query", path, out, size, "", NULL, err)) != 0 ||
	    out[0] == '\0')
		return rc;
	cfg_path_key(pp, path, "provider_query");
	for (size_t i = 0; i < RTE_DIM(needed); i++) {
		EVP_MD *md = EVP_MD_fetch(NULL, needed[i], out);

		if (md == NULL)
			return cfg_fail(err, pp,
					"no loaded OpenSSL provider answers \"%s\" for %s (load "
					"the provider in OpenSSL's config, OPENSSL_CONF)",
					out, needed[i]);
		EVP_MD_free(md);
	}
	return 0;
}

static int tls_cfg_parse(const struct cfg_snapshot *snap, const json_t *t, const char *path,
			 struct tls_server_conf *c, struct cfg_error *err)
{
	static const char *const keys[] = {"secret",	     "sni",
					   "min_version",    "alpn",
					   "mtls",	     "allowed_peers",
					   "drain_window_s", "async_offload",
					   "provider_query", NULL};
	static const char *const sni_keys[] = {"names", "secret", "mtls", "allowed_peers", NULL};
	static const char *const versions[] = {"1.2", "1.3", NULL};
	char np[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *sni, *o;
	uint8_t v;
	int rc;

	if ((rc = cfg_check_keys(t, path, keys, err)) != 0 ||
	    (rc = cfg_get_enum(t, "min_version", path, versions, 0, false, &v, err)) != 0 ||
	    (rc = cfg_get_u32(t, "drain_window_s", path, 1, 86400, TLS_DEF_DRAIN_WINDOW_S,
			      &c->drain_window_s, err)) != 0 ||
	    (rc = cfg_get_bool(t, "async_offload", path, false, &c->async, err)) != 0 ||
	    (rc = tls_cfg_propq(t, path, c->propq, sizeof(c->propq), err)) != 0 ||
	    (rc = tls_cfg_strings(t, "alpn", path, TLS_CFG_MAX_ALPN, &c->alpn[0][0],
				  sizeof(c->alpn[0]), &c->n_alpn, NULL,
				  "an ALPN protocol name of 1..31 bytes (\"h2\", \"http/1.1\")",
				  err)) != 0 ||
	    (rc = tls_cfg_policy(snap, t, path, NULL, &c->def, err)) != 0 ||
	    (rc = cfg_get_array(t, "sni", path, 0, TLS_CFG_MAX_SNI, false, "SNI entries", &sni,
				err)) != 0)
		return rc;
	c->min_version = v == 1 ? TLS1_3_VERSION : TLS1_2_VERSION;
	cfg_path_key(np, path, "sni");
	for (size_t i = 0; sni != NULL && i < json_array_size(sni); i++) {
		struct tls_cfg_policy *p = &c->sni[i];

		if ((rc = cfg_get_item(sni, i, np, "an SNI entry", sni_keys, &o, ip, err)) != 0 ||
		    (rc = tls_cfg_policy(snap, o, ip, &c->def, p, err)) != 0 ||
		    (rc = tls_cfg_strings(o, "names", ip, TLS_CFG_MAX_NAMES, &p->names[0][0],
					  TLS_CFG_NAME_LEN, &p->n_names, tls_cfg_server_name,
					  "a server name (\"api.example.com\", \"*.example.com\")",
					  err)) != 0)
			return rc;
		if (p->n_names == 0) {
			char kp[CFG_JPATH_LEN];

			cfg_path_key(kp, ip, "names");
			return cfg_fail(err, kp, "required field missing; expected server names");
		}
		c->n_sni++;
	}
	return 0;
}

int tls_cfg_listener(struct cfg_snapshot *snap, uint32_t idx, const json_t *listener,
		     const char *path, struct cfg_error *err)
{
	struct tls_snap_cfg *tc = snap->tls_cfg;
	const json_t *t = json_object_get(listener, "tls");
	char tp[CFG_JPATH_LEN];
	struct tls_server_conf *c;
	bool h2;
	int rc;

	if (t == NULL)
		return 0;
	cfg_path_key(tp, path, "tls");
	if (!json_is_object(t))
		return cfg_fail_got(err, tp, "a tls object", t);
	if (tc == NULL && (snap->tls_cfg = tc = calloc(1, sizeof(*tc))) == NULL)
		return -ENOMEM;
	if (idx >= tc->n) {
		struct tls_server_conf **l = realloc(tc->listener, sizeof(*l) * (idx + 1));

		if (l == NULL)
			return -ENOMEM;
		memset(l + tc->n, 0, sizeof(*l) * (idx + 1 - tc->n));
		tc->listener = l;
		tc->n = idx + 1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	tc->listener[idx] = c;
	if ((rc = tls_cfg_parse(snap, t, tp, c, err)) != 0 ||
	    snap->listeners[idx].type != CFG_LISTENER_HTTP)
		return rc;
	/* the HTTP engine speaks HTTP/1.1, and HTTP/2 where http.http2.enabled (the
	 * proxy's section checked that block): what it advertises, h2 first */
	h2 = json_is_true(json_object_get(
		json_object_get(json_object_get(listener, "http"), "http2"), "enabled"));
	for (uint8_t i = 0; i < c->n_alpn; i++)
		if (strcmp(c->alpn[i], "http/1.1") != 0 && !(h2 && strcmp(c->alpn[i], "h2") == 0)) {
			char ap[CFG_JPATH_LEN];

			cfg_path_key(ap, tp, "alpn");
			return cfg_fail(err, ap,
					h2 ? "an http listener speaks \"h2\" and \"http/1.1\" only"
					   : "an http listener speaks \"http/1.1\" only (\"h2\" "
					     "with http.http2.enabled)");
		}
	if (c->n_alpn == 0 || !h2) {
		c->n_alpn = 0;
		if (h2)
			snprintf(c->alpn[c->n_alpn++], sizeof(c->alpn[0]), "h2");
		snprintf(c->alpn[c->n_alpn++], sizeof(c->alpn[0]), "http/1.1");
	}
	return 0;
}

const struct tls_server_conf *tls_cfg_listener_get(const struct cfg_snapshot *snap, uint32_t idx)
{
	const struct tls_snap_cfg *tc = snap->tls_cfg;

	return tc != NULL && idx < tc->n ? tc->listener[idx] : NULL;
}

void tls_cfg_listener_set_mtls(struct cfg_snapshot *snap, uint32_t idx, int32_t sni,
			       enum tls_mtls mode)
{
	struct tls_snap_cfg *tc = snap->tls_cfg;
	struct tls_server_conf *c = tc != NULL && idx < tc->n ? tc->listener[idx] : NULL;
	struct tls_cfg_policy *p;

	if (c == NULL || sni >= (int32_t)c->n_sni)
		return;
	p = sni < 0 ? &c->def : &c->sni[sni];
	if (!p->mtls_set)
		p->mtls = (uint8_t)mode;
}

void tls_cfg_free(struct cfg_snapshot *snap)
{
	struct tls_snap_cfg *tc = snap->tls_cfg;

	if (tc == NULL)
		return;
	for (uint32_t i = 0; i < tc->n; i++)
		free(tc->listener[i]);
	free(tc->listener);
	free(tc);
	snap->tls_cfg = NULL;
}

/* A policy's config as tls_ctx_create() takes it; @p names and @p peers are its arrays. */
static void tls_cfg_policy_conf(const struct cfg_snapshot *snap, const struct tls_cfg_policy *p,
				const char **names, const char **peers, struct tls_policy_conf *pc)
{
	memset(pc, 0, sizeof(*pc));
	for (uint8_t i = 0; i < p->n_names; i++)
		names[i] = p->names[i];
	for (uint8_t i = 0; i < p->n_allowed; i++)
		peers[i] = p->allowed[i];
	pc->names = names;
	pc->n_names = p->n_names;
	pc->allowed_peers = peers;
	pc->n_allowed_peers = p->n_allowed;
	pc->mtls = (enum tls_mtls)p->mtls;
	pc->secret = secrets_find(snap, p->secret);
}

int tls_ctx_for_listener(const struct cfg_snapshot *snap, uint32_t idx, const char *name,
			 struct tls_ctx **out, char *err, size_t errlen)
{
	const struct tls_server_conf *c = tls_cfg_listener_get(snap, idx);
	const char *names[TLS_CFG_MAX_SNI + 1][TLS_CFG_MAX_NAMES];
	const char *peers[TLS_CFG_MAX_SNI + 1][TLS_CFG_MAX_PEERS];
	const char *alpn[TLS_CFG_MAX_ALPN];
	struct tls_policy_conf sni[TLS_CFG_MAX_SNI];
	struct tls_ctx_conf conf = {.role = TLS_ROLE_SERVER, .name = name};
	struct tls_ctx *ctx;

	*out = NULL;
	if (c == NULL)
		return 0;
	conf.min_version = c->min_version;
	conf.drain_window_s = c->drain_window_s;
	conf.async = c->async;
	conf.propq = c->propq[0] != '\0' ? c->propq : NULL;
	for (uint8_t i = 0; i < c->n_alpn; i++)
		alpn[i] = c->alpn[i];
	conf.alpn = alpn;
	conf.n_alpn = c->n_alpn;
	tls_cfg_policy_conf(snap, &c->def, names[0], peers[0], &conf.def);
	for (uint8_t i = 0; i < c->n_sni; i++)
		tls_cfg_policy_conf(snap, &c->sni[i], names[i + 1], peers[i + 1], &sni[i]);
	conf.sni = sni;
	conf.n_sni = c->n_sni;
	ctx = tls_ctx_create(&conf, err, errlen);
	if (ctx == NULL)
		return -EINVAL;
	if ((ctx->conf = malloc(sizeof(*c))) == NULL) {
		tls_ctx_free(ctx);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(ctx->conf, c, sizeof(*c));
	*out = ctx;
	return 0;
}

/* Has @p p the identity whose fingerprint @p fp is (in @p snap)? */
static bool tls_cfg_same_secret(const struct cfg_snapshot *snap, const struct tls_cfg_policy *p,
				const uint8_t *fp)
{
	const struct secret *s = secrets_find(snap, p->secret);

	return s != NULL && memcmp(s->fingerprint, fp, TLS_FP_LEN) == 0;
}

bool tls_ctx_same_listener(const struct tls_ctx *ctx, const struct cfg_snapshot *snap, uint32_t idx)
{
	const struct tls_server_conf *c = tls_cfg_listener_get(snap, idx);

	if (ctx == NULL || c == NULL)
		return ctx == NULL && c == NULL;
	if (ctx->conf == NULL || memcmp(ctx->conf, c, sizeof(*c)) != 0 ||
	    !tls_cfg_same_secret(snap, &c->def, ctx->def.fingerprint))
		return false;
	for (uint8_t i = 0; i < c->n_sni; i++)
		if (!tls_cfg_same_secret(snap, &c->sni[i], ctx->sni[i].fingerprint))
			return false;
	return true;
}

/* ---- clusters' tls blocks: origination ---- */

int tls_cfg_parse_client(const json_t *cluster, const char *path, const struct cfg_snapshot *snap,
			 struct tls_client_conf *out, struct cfg_error *err)
{
	static const char *const keys[] = {"secret",	  "expected_peer",  "server_name", "alpn",
					   "min_version", "drain_window_s", NULL};
	static const char *const versions[] = {"1.2", "1.3", NULL};
	const json_t *t = json_object_get(cluster, "tls");
	char tp[CFG_JPATH_LEN], kp[CFG_JPATH_LEN];
	bool has_secret;
	uint8_t v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t == NULL)
		return 0;
	cfg_path_key(tp, path, "tls");
	if (!json_is_object(t))
		return cfg_fail_got(err, tp, "a tls object", t);
	if ((rc = cfg_check_keys(t, tp, keys, err)) != 0 ||
	    (rc = cfg_get_str(t, "secret", tp, out->secret, sizeof(out->secret), "", &has_secret,
			      err)) != 0 ||
	    (rc = cfg_get_str(t, "expected_peer", tp, out->expected_peer,
			      sizeof(out->expected_peer), "", NULL, err)) != 0 ||
	    (rc = cfg_get_str(t, "server_name", tp, out->server_name, sizeof(out->server_name), "",
			      NULL, err)) != 0 ||
	    (rc = cfg_get_enum(t, "min_version", tp, versions, 0, false, &v, err)) != 0 ||
	    (rc = cfg_get_u32(t, "drain_window_s", tp, 1, 86400, TLS_DEF_DRAIN_WINDOW_S,
			      &out->drain_window_s, err)) != 0 ||
	    (rc = tls_cfg_strings(t, "alpn", tp, TLS_CFG_MAX_ALPN, &out->alpn[0][0],
				  sizeof(out->alpn[0]), &out->n_alpn, NULL,
				  "an ALPN protocol name of 1..31 bytes (\"h2\", \"http/1.1\")",
				  err)) != 0)
		return rc;
	out->min_version = v == 1 ? TLS1_3_VERSION : TLS1_2_VERSION;
	cfg_path_key(kp, tp, "expected_peer");
	if (!tls_cfg_spiffe_pattern(out->expected_peer) || strchr(out->expected_peer, '*') != NULL)
		return cfg_fail(err, kp,
				"required; expected the SPIFFE ID the endpoints present "
				"(\"spiffe://<trust-domain>/<path>\"), got \"%s\"",
				out->expected_peer);
	cfg_path_key(kp, tp, "secret");
	if (has_secret && secrets_find(snap, out->secret) == NULL)
		return cfg_fail(err, kp,
				"expected the name of an identity in $.secrets.identities, "
				"got \"%s\"",
				out->secret);
	cfg_path_key(kp, tp, "server_name");
	if (out->server_name[0] != '\0' && !tls_cfg_server_name(out->server_name))
		return cfg_fail(err, kp, "expected a server name, got \"%s\"", out->server_name);
	out->enabled = true;
	return 0;
}

int tls_ctx_for_cluster(const struct cfg_snapshot *snap, const struct tls_client_conf *c,
			const char *name, struct tls_ctx **out, char *err, size_t errlen)
{
	const char *alpn[TLS_CFG_MAX_ALPN];
	struct tls_ctx_conf conf = {.role = TLS_ROLE_CLIENT, .name = name};
	struct tls_ctx *ctx;

	*out = NULL;
	if (!c->enabled)
		return 0;
	for (uint8_t i = 0; i < c->n_alpn; i++)
		alpn[i] = c->alpn[i];
	conf.alpn = alpn;
	conf.n_alpn = c->n_alpn;
	conf.min_version = c->min_version;
	conf.drain_window_s = c->drain_window_s;
	conf.expected_peer = c->expected_peer;
	conf.server_name = c->server_name[0] != '\0' ? c->server_name : NULL;
	conf.def.secret = c->secret[0] != '\0' ? secrets_find(snap, c->secret) : NULL;
	ctx = tls_ctx_create(&conf, err, errlen);
	if (ctx == NULL)
		return -EINVAL;
	if ((ctx->cconf = malloc(sizeof(*c))) == NULL) {
		tls_ctx_free(ctx);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(ctx->cconf, c, sizeof(*c));
	*out = ctx;
	return 0;
}

bool tls_ctx_same_cluster(const struct tls_ctx *ctx, const struct cfg_snapshot *snap,
			  const struct tls_client_conf *c)
{
	const struct secret *s;

	if (ctx == NULL || !c->enabled)
		return ctx == NULL && !c->enabled;
	if (ctx->cconf == NULL || memcmp(ctx->cconf, c, sizeof(*c)) != 0)
		return false;
	if (c->secret[0] == '\0')
		return true;
	s = secrets_find(snap, c->secret);
	return s != NULL && memcmp(s->fingerprint, ctx->def.fingerprint, TLS_FP_LEN) == 0;
}
