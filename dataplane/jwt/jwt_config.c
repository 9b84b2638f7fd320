/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jwt: the config section ($.request_authentication), its key sets (JWKS,
 * RFC 7517) and its audit (SM-DR20). docs/CONFIG.md "Request authentication"
 * is the schema. Control thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <rte_common.h>

#include "../audit/audit.h"
#include "../config/config_json.h"
#include "jwt_internal.h"

/* ---- key sets ---- */

void jwt_keyset_free(struct jwt_keyset *ks)
{
	for (uint32_t i = 0; ks != NULL && i < ks->n; i++) {
		if (ks->keys[i].jwk != NULL)
			cjose_jwk_release(ks->keys[i].jwk);
		EVP_PKEY_free(ks->keys[i].ed);
	}
	free(ks);
}

/* One JWK (kty RSA, EC or OKP Ed25519) into @p k. @return 1 kept, 0 skipped, -1 refused. */
static int jwt_key_parse(const json_t *j, struct jwt_key *k, char *why, size_t why_len)
{
	const char *kty = json_string_value(json_object_get(j, "kty"));
	const char *use = json_string_value(json_object_get(j, "use"));
	const char *kid = json_string_value(json_object_get(j, "kid"));
	const char *crv = json_string_value(json_object_get(j, "crv"));
	cjose_err cerr;
	char *text;

	if (kty == NULL) {
		snprintf(why, why_len, "a key without \"kty\"");
		return -1;
	}
	if (use != NULL && strcmp(use, "sig") != 0)
		return 0; /* an encryption key: not for verifying */
	memset(k, 0, sizeof(*k));
	if (kid != NULL)
		snprintf(k->kid, sizeof(k->kid), "%s", kid);
	if (crv != NULL)
		snprintf(k->crv, sizeof(k->crv), "%s", crv);
	if (strcmp(kty, "OKP") == 0) {
		const char *x = json_string_value(json_object_get(j, "x"));
		uint8_t raw[32];
		size_t n;

		if (crv == NULL || strcmp(crv, "Ed25519") != 0)
			return 0; /* X25519, Ed448: not verified here */
		if (x == NULL || jwt_b64url_decode(x, strlen(x), raw, sizeof(raw), &n) != 0 ||
		    n != 32 ||
		    (k->ed = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, n)) == NULL) {
			snprintf(why, why_len, "key \"%s\": an Ed25519 key needs \"x\" of 32 bytes",
				 k->kid);
			return -1;
		}
		k->kty = JWT_KTY_OKP;
		return 1;
	}
	if (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0)
		return 0; /* "oct" above all: HMAC secrets are never accepted */
	k->kty = strcmp(kty, "RSA") == 0 ? JWT_KTY_RSA : JWT_KTY_EC;
	if (k->kty == JWT_KTY_EC && crv == NULL) {
		snprintf(why, why_len, "key \"%s\": an EC key needs \"crv\"", k->kid);
		return -1;
	}
	if (json_object_get(j, "d") != NULL) {
		snprintf(why, why_len, "key \"%s\" has a private part (\"d\"): publish public keys",
			 k->kid);
		return -1;
	}
	if ((text = json_dumps(j, JSON_COMPACT)) == NULL)
		return -1;
	k->jwk = cjose_jwk_import(text, strlen(text), &cerr);
	free(text);
	if (k->jwk == NULL) {
		snprintf(why, why_len, "key \"%s\": %s", k->kid, cerr.message);
		return -1;
	}
	return 1;
}

struct jwt_keyset *jwt_keyset_parse(const char *text, size_t len, char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *keys, *k;
	struct jwt_keyset *ks = NULL;
	size_t i;

	if (doc == NULL) {
		snprintf(why, why_len, "not JSON (line %d: %s)", jerr.line, jerr.text);
		return NULL;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0 ||
	    json_array_size(keys) > JWT_MAX_KEYS) {
		snprintf(why, why_len, "expected a JWKS {\"keys\": [1..%d keys]}", JWT_MAX_KEYS);
		goto fail;
	}
	ks = calloc(1, sizeof(*ks) + json_array_size(keys) * sizeof(ks->keys[0]));
	if (ks == NULL) {
		snprintf(why, why_len, "out of memory");
		goto fail;
	}
	json_array_foreach(keys, i, k)
	{
		int rc = json_is_object(k) ? jwt_key_parse(k, &ks->keys[ks->n], why, why_len) : -1;

		if (rc < 0) {
			if (!json_is_object(k))
				snprintf(why, why_len, "keys[%zu] is not an object", i);
			goto fail;
		}
		ks->n += rc;
		ks->skipped += rc == 0;
	}
	if (ks->n == 0) {
		snprintf(
			why, why_len,
			"no key to verify with (RSA, EC, OKP Ed25519 with use \"sig\"; %u skipped)",
			ks->skipped);
		goto fail;
	}
	json_decref(doc);
	return ks;
fail:
	json_decref(doc);
	jwt_keyset_free(ks);
	return NULL;
}

static char *jwt_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (f == NULL)
		return NULL;
	buf = malloc(max + 1);
	if (buf != NULL) {
		*len = fread(buf, 1, max + 1, f);
		if (*len > max || ferror(f)) {
			free(buf);
			buf = NULL;
		} else {
			buf[*len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* ---- fetched key sets: node-wide, by URI ---- */

struct jwt_uri *jwt_uri_list;
static uint64_t jwt_compiles; /* documents compiled: which one last set a URI's refresh */

static struct jwt_uri *jwt_uri_get(const char *uri, const char *ca, uint32_t refresh_s)
{
	struct jwt_uri *u;

	for (u = jwt_uri_list; u != NULL; u = u->next)
		if (strcmp(u->uri, uri) == 0 && strcmp(u->ca_file, ca) == 0)
			break;
	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return NULL;
		snprintf(u->uri, sizeof(u->uri), "%s", uri);
		snprintf(u->ca_file, sizeof(u->ca_file), "%s", ca);
		u->next = jwt_uri_list;
		jwt_uri_list = u;
	}
	/* the shortest interval of the rules of the document being compiled */
	if (u->compile != jwt_compiles || refresh_s < u->refresh_s)
		u->refresh_s = refresh_s;
	u->compile = jwt_compiles;
	return u;
}

/* ---- $.request_authentication ---- */

static int jwt_parse_strings(const json_t *o, const char *key, const char *path, size_t max,
			     size_t size, char *out, uint32_t *n, bool lower, struct cfg_error *err)
{
	char kp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *arr, *v;
	size_t i;
	int rc;

	*n = 0;
	if ((rc = cfg_get_array(o, key, path, 1, max, false, "values", &arr, err)) != 0 ||
	    arr == NULL)
		return rc;
	cfg_path_key(kp, path, key);
	json_array_foreach(arr, i, v)
	{
		char *d = out + i * size;

		cfg_path_index(ip, kp, i);
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= size)
			return cfg_fail(err, ip, "expected a string of 1..%zu bytes", size - 1);
		memcpy(d, json_string_value(v), json_string_length(v) + 1);
		for (size_t b = 0; lower && d[b] != '\0'; b++)
			d[b] = (char)tolower((unsigned char)d[b]);
		(*n)++;
	}
	return 0;
}

static bool jwt_token_name_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.~!#$&'*+^`|", *s) == NULL)
			return false;
	return true;
}

static int jwt_parse_from_headers(const json_t *o, const char *path, struct jwt_rule *r,
				  struct cfg_error *err)
{
	static const char *const keys[] = {"name", "prefix", NULL};
	char kp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *arr, *h;
	int rc;

	if ((rc = cfg_get_array(o, "from_headers", path, 1, JWT_MAX_FROM, false, "headers", &arr,
				err)) != 0)
		return rc;
	if (arr == NULL) {
		if (json_object_get(o, "from_params") != NULL)
			return 0; /* only the parameters */
		r->n_hdr = 1;
		snprintf(r->hdr[0].name, sizeof(r->hdr[0].name), "authorization");
		snprintf(r->hdr[0].prefix, sizeof(r->hdr[0].prefix), "Bearer ");
		return 0;
	}
	cfg_path_key(kp, path, "from_headers");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct jwt_from_hdr *fh = &r->hdr[r->n_hdr];

		if ((rc = cfg_get_item(arr, i, kp, "a header object {\"name\", \"prefix\"}", keys,
				       &h, ip, err)) != 0 ||
		    (rc = cfg_get_str(h, "name", ip, fh->name, sizeof(fh->name), "", NULL, err)) !=
			    0 ||
		    (rc = cfg_get_str(h, "prefix", ip, fh->prefix, sizeof(fh->prefix), "", NULL,
				      err)) != 0)
			return rc;
		if (fh->name[0] == '\0' || !jwt_token_name_ok(fh->name)) {
			cfg_path_key(kp, ip, "name");
			return cfg_fail(err, kp, "required: a header field name");
		}
		for (char *c = fh->name; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		r->n_hdr++;
	}
	return 0;
}

static int jwt_parse_out(const json_t *o, const char *path, struct jwt_rule *r,
			 struct cfg_error *err)
{
	static const char *const keys[] = {"claim", "header", NULL};
	char kp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN], hp[CFG_JPATH_LEN];
	json_t *arr, *h;
	int rc;

	if ((rc = cfg_get_array(o, "output_claim_to_headers", path, 1, JWT_MAX_OUT, false,
				"claim headers", &arr, err)) != 0 ||
	    arr == NULL)
		return rc;
	cfg_path_key(kp, path, "output_claim_to_headers");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct jwt_out_hdr *oh = &r->out[r->n_out];

		if ((rc = cfg_get_item(arr, i, kp, "an object {\"claim\", \"header\"}", keys, &h,
				       ip, err)) != 0 ||
		    (rc = cfg_get_str(h, "claim", ip, oh->claim, sizeof(oh->claim), "", NULL,
				      err)) != 0 ||
		    (rc = cfg_get_str(h, "header", ip, oh->header, sizeof(oh->header), "", NULL,
				      err)) != 0)
			return rc;
		if (oh->claim[0] == '\0') {
			cfg_path_key(hp, ip, "claim");
			return cfg_fail(err, hp, "required: the claim's name");
		}
		cfg_path_key(hp, ip, "header");
		if (oh->header[0] == '\0' || !jwt_token_name_ok(oh->header))
			return cfg_fail(err, hp, "required: a header field name");
		for (char *c = oh->header; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (strcmp(oh->header, "host") == 0 || strcmp(oh->header, "content-length") == 0 ||
		    strcmp(oh->header, "transfer-encoding") == 0 || oh->header[0] == ':')
			return cfg_fail(err, hp, "\"%s\" frames the request: name another header",
					oh->header);
		r->n_out++;
	}
	return 0;
}

static int jwt_parse_rule(const json_t *o, const char *path, const struct jwt_policy *pol,
			  struct jwt_rule *r, struct cfg_error *err)
{
	char kp[CFG_JPATH_LEN], file[256], uri[JWT_URI_MAX], ca[256], why[256];
	const json_t *inl = json_object_get(o, "jwks");
	bool has_file, has_uri;
	char *text = NULL;
	size_t len = 0;
	int rc;

	r->policy = pol;
	if ((rc = cfg_get_str(o, "issuer", path, r->issuer, sizeof(r->issuer), "", NULL, err)) !=
		    0 ||
	    (rc = cfg_get_str(o, "jwks_file", path, file, sizeof(file), "", &has_file, err)) != 0 ||
	    (rc = cfg_get_str(o, "jwks_uri", path, uri, sizeof(uri), "", &has_uri, err)) != 0 ||
	    (rc = cfg_get_str(o, "jwks_ca_file", path, ca, sizeof(ca), "", NULL, err)) != 0 ||
	    (rc = cfg_get_bool(o, "forward_original_token", path, false, &r->forward, err)) != 0 ||
	    (rc = cfg_get_bool(o, "reject_replay", path, true, &r->reject_replay, err)) != 0 ||
	    (rc = cfg_get_u32(o, "clock_skew_s", path, 0, 3600, 60, &r->skew_s, err)) != 0 ||
	    (rc = cfg_get_u32(o, "max_token_bytes", path, 64, JWT_TOKEN_MAX, 8192, &r->max_bytes,
			      err)) != 0 ||
	    (rc = jwt_parse_from_headers(o, path, r, err)) != 0 ||
	    (rc = jwt_parse_out(o, path, r, err)) != 0)
		return rc;
	cfg_path_key(kp, path, "issuer");
	if (r->issuer[0] == '\0')
		return cfg_fail(err, kp, "required: the iss tokens of this rule carry");
	r->aud = calloc(JWT_MAX_AUD, sizeof(*r->aud));
	if (r->aud == NULL)
		return -ENOMEM;
	if ((rc = jwt_parse_strings(o, "audiences", path, JWT_MAX_AUD, sizeof(*r->aud),
				    (char *)r->aud, &r->n_aud, false, err)) != 0 ||
	    (rc = jwt_parse_strings(o, "from_params", path, JWT_MAX_FROM, sizeof(r->param[0]),
				    (char *)r->param, &r->n_param, false, err)) != 0)
		return rc;
	if (has_file + has_uri + (inl != NULL) != 1)
		return cfg_fail(err, path,
				"expected exactly one of \"jwks_file\", \"jwks\" (inline) and "
				"\"jwks_uri\"");
	if (has_uri) {
		uint32_t refresh;

		cfg_path_key(kp, path, "jwks_uri");
		if (strncmp(uri, "https://", 8) != 0 || uri[8] == '\0')
			return cfg_fail(err, kp, "expected an https:// URI, got \"%s\"", uri);
		if ((rc = cfg_get_u32(o, "jwks_refresh_s", path, 5, 86400, 300, &refresh, err)) !=
		    0)
			return rc;
		if ((r->uri = jwt_uri_get(uri, ca, refresh)) == NULL)
			return -ENOMEM;
		snprintf(r->jwks_source, sizeof(r->jwks_source), "%s", uri);
		return 0;
	}
	if (json_object_get(o, "jwks_refresh_s") != NULL || ca[0] != '\0') {
		cfg_path_key(kp, path, ca[0] != '\0' ? "jwks_ca_file" : "jwks_refresh_s");
		return cfg_fail(err, kp, "only with \"jwks_uri\"");
	}
	if (has_file) {
		cfg_path_key(kp, path, "jwks_file");
		if ((text = jwt_read_file(file, JWT_JWKS_MAX, &len)) == NULL)
			return cfg_fail(err, kp, "cannot read \"%s\" (or larger than %d bytes)",
					file, JWT_JWKS_MAX);
		snprintf(r->jwks_source, sizeof(r->jwks_source), "%s", file);
	} else {
		cfg_path_key(kp, path, "jwks");
		if (json_is_string(inl)) {
			text = strdup(json_string_value(inl));
		} else if (json_is_object(inl)) {
			text = json_dumps(inl, JSON_COMPACT);
		} else {
			return cfg_fail_got(err, kp, "a JWKS (an object, or its text)", inl);
		}
		if (text == NULL)
			return -ENOMEM;
		len = strlen(text);
		snprintf(r->jwks_source, sizeof(r->jwks_source), "inline");
	}
	r->own = jwt_keyset_parse(text, len, why, sizeof(why));
	free(text);
	if (r->own == NULL)
		return cfg_fail(err, kp, "%s", why);
	return 0;
}

static int jwt_parse_policy(const json_t *o, const char *path, const struct cfg_snapshot *snap,
			    struct jwt_policy *p, struct cfg_error *err)
{
	static const char *const rkeys[] = {"issuer",
					    "audiences",
					    "jwks_file",
					    "jwks",
					    "jwks_uri",
					    "jwks_ca_file",
					    "jwks_refresh_s",
					    "from_headers",
					    "from_params",
					    "forward_original_token",
					    "output_claim_to_headers",
					    "clock_skew_s",
					    "max_token_bytes",
					    "reject_replay",
					    NULL};
	char kp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *rules, *r;
	bool has_dec;
	int rc;

	if ((rc = authz_scope_parse(o, path, snap, &p->sel, err)) != 0 ||
	    (rc = cfg_get_str(o, "decryption_key_file", path, p->dec_file, sizeof(p->dec_file), "",
			      &has_dec, err)) != 0 ||
	    (rc = cfg_get_bool(o, "require_encryption", path, false, &p->require_encryption,
			       err)) != 0 ||
	    (rc = cfg_get_array(o, "jwt_rules", path, 1, JWT_MAX_RULES, true, "JWT rules", &rules,
				err)) != 0)
		return rc;
	if (has_dec) {
		FILE *f = fopen(p->dec_file, "r");
		int id;

		cfg_path_key(kp, path, "decryption_key_file");
		if (f == NULL)
			return cfg_fail(err, kp, "cannot read \"%s\"", p->dec_file);
		p->dec = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		id = p->dec != NULL ? EVP_PKEY_get_base_id(p->dec) : 0;
		if (p->dec == NULL || (id != EVP_PKEY_RSA && id != EVP_PKEY_EC))
			return cfg_fail(err, kp,
					"expected a PEM private key, RSA or EC (P-256, P-384), in "
					"\"%s\"",
					p->dec_file);
	} else if (p->require_encryption) {
		cfg_path_key(kp, path, "require_encryption");
		return cfg_fail(err, kp, "needs \"decryption_key_file\" (the node's JWE key)");
	}
	p->rules = calloc(json_array_size(rules), sizeof(*p->rules));
	if (p->rules == NULL)
		return -ENOMEM;
	cfg_path_key(kp, path, "jwt_rules");
	for (size_t i = 0; i < json_array_size(rules); i++) {
		if ((rc = cfg_get_item(rules, i, kp, "a JWT rule object", rkeys, &r, ip, err)) != 0)
			return rc;
		p->n_rules++;
		if ((rc = jwt_parse_rule(r, ip, p, &p->rules[i], err)) != 0)
			return rc;
	}
	return 0;
}

/* Per service: the rules of every policy that applies, the claim headers they set, the keys. */
static int jwt_build_services(struct jwt_snap *js, const struct cfg_snapshot *snap,
			      struct cfg_error *err)
{
	js->svc = calloc(snap->n_services ? snap->n_services : 1, sizeof(*js->svc));
	if (js->svc == NULL)
		return -ENOMEM;
	for (uint32_t s = 0; s < snap->n_services; s++) {
		struct jwt_svc *sv = &js->svc[s];
		uint32_t nr = 0, no = 0, nd = 0;

		for (uint32_t p = 0; p < js->n_policies; p++)
			if (authz_scope_applies(&js->policies[p].sel, snap, s)) {
				nr += js->policies[p].n_rules;
				nd += js->policies[p].dec != NULL;
				for (uint32_t r = 0; r < js->policies[p].n_rules; r++)
					no += js->policies[p].rules[r].n_out;
			}
		if (nr == 0)
			continue;
		sv->rules = calloc(nr, sizeof(*sv->rules));
		sv->remove = calloc(no ? no : 1, sizeof(*sv->remove));
		sv->dec = calloc(nd ? nd : 1, sizeof(*sv->dec));
		if (sv->rules == NULL || sv->remove == NULL || sv->dec == NULL)
			return -ENOMEM;
		for (uint32_t p = 0; p < js->n_policies; p++) {
			const struct jwt_policy *pol = &js->policies[p];

			if (!authz_scope_applies(&pol->sel, snap, s))
				continue;
			if (pol->dec != NULL)
				sv->dec[sv->n_dec++] = pol->dec;
			for (uint32_t r = 0; r < pol->n_rules; r++) {
				sv->rules[sv->n_rules++] = &pol->rules[r];
				for (uint32_t k = 0; k < pol->rules[r].n_out; k++) {
					const char *hn = pol->rules[r].out[k].header;
					bool dup = false;

					for (uint32_t d = 0; d < sv->n_remove; d++)
						dup |= strcmp(sv->remove[d].p, hn) == 0;
					if (dup)
						continue;
					if (sv->n_remove == JWT_MAX_REMOVE)
						return cfg_fail(err, "$.request_authentication",
								"the rules that apply to service "
								"%s set more than %d claim headers",
								snap->services[s].key,
								JWT_MAX_REMOVE);
					sv->remove[sv->n_remove++] =
						(struct http_view){hn, (uint32_t)strlen(hn)};
				}
			}
		}
	}
	return 0;
}

static int jwt_collect_uris(struct jwt_snap *js)
{
	uint32_t n = 0;

	for (uint32_t p = 0; p < js->n_policies; p++)
		for (uint32_t r = 0; r < js->policies[p].n_rules; r++)
			n += js->policies[p].rules[r].uri != NULL;
	js->uris = calloc(n ? n : 1, sizeof(*js->uris));
	if (js->uris == NULL)
		return -ENOMEM;
	for (uint32_t p = 0; p < js->n_policies; p++)
		for (uint32_t r = 0; r < js->policies[p].n_rules; r++) {
			struct jwt_uri *u = js->policies[p].rules[r].uri;
			bool dup = false;

			for (uint32_t i = 0; u != NULL && i < js->n_uris; i++)
				dup |= js->uris[i] == u;
			if (u != NULL && !dup)
				js->uris[js->n_uris++] = u;
		}
	return 0;
}

static void jwt_cfg_free(struct cfg_snapshot *snap)
{
	struct jwt_snap *js = snap->jwt;

	if (js == NULL)
		return;
	for (uint32_t p = 0; p < js->n_policies; p++) {
		struct jwt_policy *pol = &js->policies[p];

		for (uint32_t r = 0; r < pol->n_rules; r++) {
			jwt_keyset_free(pol->rules[r].own);
			free(pol->rules[r].aud);
		}
		free(pol->rules);
		EVP_PKEY_free(pol->dec);
	}
	for (uint32_t s = 0; js->svc != NULL && s < snap->n_services; s++) {
		free(js->svc[s].rules);
		free(js->svc[s].remove);
		free(js->svc[s].dec);
	}
	free(js->svc);
	free(js->uris);
	free(js->policies);
	free(js);
	snap->jwt = NULL;
}

static int jwt_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			   const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	static const char *const keys[] = {"name",	"namespace",	       "selector",
					   "jwt_rules", "decryption_key_file", "require_encryption",
					   NULL};
	struct jwt_snap *js;
	char path[CFG_JPATH_LEN];
	json_t *arr, *o;
	int rc;

	(void)ctx;
	jwt_compiles++;
	if ((rc = cfg_get_array(root, "request_authentication", "$", 0, JWT_MAX_POLICIES, false,
				"policies", &arr, err)) != 0)
		return rc;
	if ((js = calloc(1, sizeof(*js))) == NULL)
		return -ENOMEM;
	snap->jwt = js;
	if (arr == NULL)
		return 0;
	js->policies =
		calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(*js->policies));
	if (js->policies == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct jwt_policy *p = &js->policies[i];

		if ((rc = cfg_get_item(arr, i, "$.request_authentication",
				       "a request authentication policy object", keys, &o, path,
				       err)) != 0)
			return rc;
		js->n_policies++;
		if ((rc = jwt_parse_policy(o, path, snap, p, err)) != 0)
			return rc;
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(js->policies[j].sel.key, p->sel.key) == 0) {
				cfg_path_key(path, "$.request_authentication", "name");
				return cfg_fail(err, path,
						"two policies \"%s\": expected a name no other "
						"policy of the %s has",
						p->sel.key, p->sel.ns[0] ? "namespace" : "mesh");
			}
	}
	if ((rc = jwt_build_services(js, snap, err)) != 0)
		return rc;
	return jwt_collect_uris(js);
}

/* ---- audit: SM-DR20 ---- */

void jwt_audit(const struct cfg_snapshot *snap, struct audit_report *r)
{
	const struct jwt_snap *js = snap->jwt;
	uint32_t covered = 0;
	char path[96];

	if (js == NULL || js->n_policies == 0)
		return;
	for (uint32_t p = 0; p < js->n_policies; p++) {
		const struct jwt_policy *pol = &js->policies[p];

		for (uint32_t k = 0; k < pol->n_rules; k++) {
			const struct jwt_rule *ru = &pol->rules[k];

			snprintf(path, sizeof(path), "$.request_authentication[%u].jwt_rules[%u]",
				 p, k);
			if (ru->forward)
				audit_finding(r, "SM-DR20", AUDIT_WARN, path,
					      "issuer %s: the original token is forwarded upstream "
					      "(forward_original_token)",
					      ru->issuer);
			if (!ru->reject_replay)
				audit_finding(r, "SM-DR20", AUDIT_WARN, path,
					      "issuer %s: a replayed token (same jti) is accepted "
					      "(reject_replay false)",
					      ru->issuer);
			if (!ru->forward && ru->reject_replay)
				audit_finding(
					r, "SM-DR20", AUDIT_PASS, path,
					"issuer %s: verified (%s), %u audiences, token removed "
					"before forwarding, replays refused%s",
					ru->issuer, ru->jwks_source, ru->n_aud,
					pol->require_encryption ? ", JWE required" : "");
		}
	}
	for (uint32_t s = 0; s < snap->n_services; s++)
		covered += js->svc[s].n_rules != 0;
	audit_finding(r, "SM-DR20", covered == snap->n_services ? AUDIT_PASS : AUDIT_WARN,
		      "$.request_authentication",
		      "%u request authentication policies cover %u of %u services", js->n_policies,
		      covered, snap->n_services);
}

static const char *const jwt_cfg_keys[] = {"request_authentication", NULL};

const struct cfg_section jwt_cfg_section = {
	.name = "jwt",
	.keys = jwt_cfg_keys,
	.compile = jwt_cfg_compile,
	.free = jwt_cfg_free,
	.audit = jwt_audit,
};
