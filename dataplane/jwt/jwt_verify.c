/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jwt: a request's token found, decrypted (jwt_jwe.c), verified and its
 * claims checked; the outcome for authz and the upstream request
 * (jwt_check(), jwt.h). Worker.
 *
 * Order of the checks: the transport, the size, the shape (three or five
 * base64url parts), a JWE opened with the keys of the policies that apply,
 * the header's alg (none and HMAC refused: a verifier that took HS256 with
 * an RSA public key as the secret would accept anything its holder signs),
 * the issuer's rule, require_encryption, the key (kid, else every key of the
 * alg's type), the signature, exp / nbf / iat with the rule's skew, the
 * audience, and last the replay cache, so a token refused for another reason
 * never takes a slot.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <urcu-qsbr.h>

#include "jwt_internal.h"

static const char *const jwt_reason_names[] = {
#define JWT_X(e, n, c) n,
	JWT_REASONS(JWT_X)
#undef JWT_X
};

static const uint16_t jwt_reason_stats[] = {
#define JWT_X(e, n, c) c,
	JWT_REASONS(JWT_X)
#undef JWT_X
};

const char *jwt_reason_name(enum jwt_reason r)
{
	return (unsigned int)r < RTE_DIM(jwt_reason_names) ? jwt_reason_names[r] : "?";
}

static const int8_t b64url_val[256] = {
	['A'] = 1,  ['B'] = 2,	['C'] = 3,  ['D'] = 4,	['E'] = 5,  ['F'] = 6,	['G'] = 7,
	['H'] = 8,  ['I'] = 9,	['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
	['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63,
	['_'] = 64,
};

/* Unpadded base64url (RFC 7515 2). @return 0, or -1: a bad character, length or overflow. */
int jwt_b64url_decode(const char *in, size_t len, uint8_t *out, size_t size, size_t *out_len)
{
	uint32_t acc = 0;
	size_t o = 0, bits = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_val[(uint8_t)in[i]];

		if (v == 0)
			return -1;
		acc = (acc << 6) | (uint32_t)(v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == size)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1; /* non-canonical: a tampered last character */
	*out_len = o;
	return 0;
}

/* ---- where the token is ---- */

struct jwt_found {
	const char *p;
	uint32_t len;
	int8_t hdr;   /* the rule's from_headers index; -1 a parameter */
	int8_t param; /* the rule's from_params index */
};

static bool jwt_find_in_headers(const struct jwt_rule *r, const struct jwt_request *rq,
				struct jwt_found *f)
{
	for (uint32_t k = 0; k < r->n_hdr; k++) {
		const struct jwt_from_hdr *h = &r->hdr[k];
		size_t nl = strlen(h->name), pl = strlen(h->prefix);

		for (uint32_t i = 0; i < rq->n_headers; i++) {
			const struct router_str *hv = rq->headers[i];

			if (hv[0].len != nl || strncasecmp(hv[0].p, h->name, nl) != 0 ||
			    hv[1].len < pl || strncasecmp(hv[1].p, h->prefix, pl) != 0)
				continue;
			f->p = hv[1].p + pl;
			f->len = hv[1].len - (uint32_t)pl;
			while (f->len > 0 && f->p[0] == ' ') {
				f->p++;
				f->len--;
			}
			f->hdr = (int8_t)k;
			f->param = -1;
			return true;
		}
	}
	return false;
}

static bool jwt_find_in_query(const struct jwt_rule *r, struct router_str q, struct jwt_found *f)
{
	for (uint32_t k = 0; k < r->n_param; k++) {
		size_t nl = strlen(r->param[k]);

		for (uint32_t i = 0; i < q.len;) {
			uint32_t e = i, eq;

			while (e < q.len && q.p[e] != '&')
				e++;
			for (eq = i; eq < e && q.p[eq] != '='; eq++)
				;
			if (eq - i == nl && memcmp(q.p + i, r->param[k], nl) == 0 && eq < e) {
				f->p = q.p + eq + 1;
				f->len = e - eq - 1;
				f->hdr = -1;
				f->param = (int8_t)k;
				return true;
			}
			i = e + 1;
		}
	}
	return false;
}

int jwt_strip_param(struct router_str q, struct router_str name, char *out, size_t size)
{
	size_t o = 0;

	for (uint32_t i = 0; i < q.len;) {
		uint32_t e = i, eq;

		while (e < q.len && q.p[e] != '&')
			e++;
		for (eq = i; eq < e && q.p[eq] != '='; eq++)
			;
		if (!(eq - i == name.len && memcmp(q.p + i, name.p, name.len) == 0)) {
			if (o + (o != 0) + (e - i) >= size)
				return -1;
			if (o != 0)
				out[o++] = '&';
			memcpy(out + o, q.p + i, e - i);
			o += e - i;
		}
		i = e + 1;
	}
	if (o < size)
		out[o] = '\0';
	return (int)o;
}

/* ---- the JWS ---- */

/* The key type and curve an alg needs; false: an alg refused (none, HS*, unknown). */
static bool jwt_alg_kty(const char *alg, uint8_t *kty, const char **crv)
{
	static const struct {
		const char *alg;
		uint8_t kty;
		const char *crv;
	} algs[] = {
		{"RS256", JWT_KTY_RSA, NULL},	{"RS384", JWT_KTY_RSA, NULL},
		{"RS512", JWT_KTY_RSA, NULL},	{"PS256", JWT_KTY_RSA, NULL},
		{"PS384", JWT_KTY_RSA, NULL},	{"PS512", JWT_KTY_RSA, NULL},
		{"ES256", JWT_KTY_EC, "P-256"}, {"ES384", JWT_KTY_EC, "P-384"},
		{"ES512", JWT_KTY_EC, "P-521"}, {"EdDSA", JWT_KTY_OKP, "Ed25519"},
	};

	for (size_t i = 0; i < RTE_DIM(algs); i++)
		if (strcmp(alg, algs[i].alg) == 0) {
			*kty = algs[i].kty;
			*crv = algs[i].crv;
			return true;
		}
	return false;
}

static bool jwt_ed25519_verify(EVP_PKEY *key, const char *tok, uint32_t signed_len,
			       const char *sig64, size_t sig64_len)
{
	uint8_t sig[64];
	size_t sl;
	EVP_MD_CTX *md;
	bool ok = false;

	if (jwt_b64url_decode(sig64, sig64_len, sig, sizeof(sig), &sl) != 0 || sl != 64)
		return false;
	md = EVP_MD_CTX_new();
	if (md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1)
		ok = EVP_DigestVerify(md, sig, sl, (const uint8_t *)tok, signed_len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

static bool jwt_key_verify(const struct jwt_key *k, cjose_jws_t *jws, const char *tok,
			   uint32_t dot2, size_t len)
{
	cjose_err cerr;

	if (k->kty == JWT_KTY_OKP)
		return jwt_ed25519_verify(k->ed, tok, dot2, tok + dot2 + 1, len - dot2 - 1);
	return jws != NULL && cjose_jws_verify(jws, k->jwk, &cerr);
}

/* The signature by the rule's key set. */
static enum jwt_reason jwt_signature(const struct jwt_rule *r, const json_t *hdr, const char *tok,
				     size_t len, uint32_t dot2)
{
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	const struct jwt_keyset *ks = r->own != NULL ? r->own : rcu_dereference(r->uri->ks);
	enum jwt_reason res = JWT_R_NO_KEY;
	cjose_jws_t *jws = NULL;
	const char *crv;
	cjose_err cerr;
	uint8_t kty;

	if (!jwt_alg_kty(alg, &kty, &crv))
		return JWT_R_ALG_REFUSED;
	for (uint32_t i = 0; ks != NULL && i < ks->n; i++) {
		const struct jwt_key *k = &ks->keys[i];

		if (k->kty != kty || (crv != NULL && strcmp(k->crv, crv) != 0) ||
		    (kid != NULL && strcmp(k->kid, kid) != 0))
			continue;
		if (kty != JWT_KTY_OKP && jws == NULL &&
		    (jws = cjose_jws_import(tok, len, &cerr)) == NULL)
			return JWT_R_MALFORMED;
		if (jwt_key_verify(k, jws, tok, dot2, len)) {
			res = JWT_OK;
			break;
		}
		res = JWT_R_BAD_SIGNATURE;
	}
	cjose_jws_release(jws);
	return res;
}

/* A NumericDate claim: absent (0), a number (1, *v), or malformed (-1). */
static int jwt_date(const json_t *claims, const char *name, int64_t *v)
{
	const json_t *j = json_object_get(claims, name);

	if (j == NULL)
		return 0;
	if (json_is_integer(j)) {
		*v = (int64_t)json_integer_value(j);
		return 1;
	}
	if (json_is_real(j) && json_real_value(j) > -9e15 && json_real_value(j) < 9e15) {
		*v = (int64_t)json_real_value(j);
		return 1;
	}
	return -1;
}

static enum jwt_reason jwt_times(const struct jwt_rule *r, const json_t *claims, int64_t now,
				 int64_t *exp)
{
	int64_t nbf, iat;
	int e = jwt_date(claims, "exp", exp), n = jwt_date(claims, "nbf", &nbf),
	    i = jwt_date(claims, "iat", &iat);

	if (e < 0 || n < 0 || i < 0)
		return JWT_R_MALFORMED;
	if (e == 0)
		return JWT_R_NO_EXPIRY;
	if (now > *exp + (int64_t)r->skew_s)
		return JWT_R_EXPIRED;
	if ((n == 1 && now + (int64_t)r->skew_s < nbf) ||
	    (i == 1 && now + (int64_t)r->skew_s < iat))
		return JWT_R_NOT_YET_VALID;
	return JWT_OK;
}

static enum jwt_reason jwt_audience(const struct jwt_rule *r, const json_t *claims)
{
	const json_t *aud = json_object_get(claims, "aud");
	size_t i;
	const json_t *v;

	if (r->n_aud == 0)
		return JWT_OK;
	if (aud != NULL && !json_is_string(aud) && !json_is_array(aud))
		return JWT_R_MALFORMED;
	for (uint32_t k = 0; k < r->n_aud; k++) {
		if (json_is_string(aud) && strcmp(json_string_value(aud), r->aud[k]) == 0)
			return JWT_OK;
		json_array_foreach(aud, i, v)
		{
			if (json_is_string(v) && strcmp(json_string_value(v), r->aud[k]) == 0)
				return JWT_OK;
		}
	}
	return JWT_R_AUDIENCE;
}

/* ---- the outcome ---- */

static const char *jwt_keep(struct jwt_outcome *o, const char *s, size_t len)
{
	char *d;

	if (o->used + len + 1 > sizeof(o->buf))
		return NULL;
	d = o->buf + o->used;
	memcpy(d, s, len);
	d[len] = '\0';
	o->used += (uint32_t)len + 1;
	return d;
}

/* A scalar claim's text (strings as they are, numbers and booleans as JSON writes them). */
static bool jwt_scalar(const json_t *v, char *tmp, size_t size, const char **s, size_t *len)
{
	if (json_is_string(v)) {
		*s = json_string_value(v);
		*len = json_string_length(v);
		return true;
	}
	if (json_is_integer(v))
		*len = (size_t)snprintf(tmp, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		*len = (size_t)snprintf(tmp, size, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		*len = (size_t)snprintf(tmp, size, "%s", json_is_true(v) ? "true" : "false");
	else
		return false;
	*s = tmp;
	return true;
}

static bool jwt_header_safe(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void jwt_fill(const struct jwt_rule *r, const json_t *claims, struct jwt_outcome *o)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	char tmp[64], pr[2 * JWT_ISS_MAX + 2];
	const char *key, *s;
	const json_t *v, *e;
	size_t len, i;
	int n;

	n = snprintf(pr, sizeof(pr), "%s/%s", iss, sub != NULL ? sub : "");
	o->principal = jwt_keep(o, pr, (size_t)n < sizeof(pr) ? (size_t)n : sizeof(pr) - 1);
	if (o->principal == NULL)
		o->principal = "";
	json_object_foreach((json_t *)claims, key, v)
	{
		const char *name = NULL;

		for (i = 0; json_is_array(v) ? i < json_array_size(v) : i < 1; i++) {
			e = json_is_array(v) ? json_array_get(v, i) : v;
			if (o->n_claims == JWT_MAX_CLAIMS ||
			    !jwt_scalar(e, tmp, sizeof(tmp), &s, &len))
				continue;
			if (name == NULL && (name = jwt_keep(o, key, strlen(key))) == NULL)
				return;
			if ((s = jwt_keep(o, s, len)) == NULL)
				return;
			o->claims[o->n_claims][0] =
				(struct router_str){name, (uint32_t)strlen(name)};
			o->claims[o->n_claims][1] = (struct router_str){s, (uint32_t)len};
			o->n_claims++;
		}
	}
	for (uint32_t k = 0; k < r->n_out && o->n_add < JWT_MAX_OUT; k++) {
		const json_t *c = json_object_get(claims, r->out[k].claim);
		char *d = o->buf + o->used;
		size_t dl = 0;

		/* an array's elements joined with ',' */
		for (i = 0; c != NULL && (json_is_array(c) ? i < json_array_size(c) : i < 1); i++) {
			e = json_is_array(c) ? json_array_get(c, i) : c;
			if (!jwt_scalar(e, tmp, sizeof(tmp), &s, &len))
				continue;
			if (o->used + dl + len + 2 > sizeof(o->buf))
				break;
			if (dl != 0)
				d[dl++] = ',';
			memcpy(d + dl, s, len);
			dl += len;
		}
		if (dl == 0 || !jwt_header_safe(d, dl))
			continue;
		d[dl] = '\0';
		o->used += (uint32_t)dl + 1;
		o->add[o->n_add++] = (struct http_header){
			{r->out[k].header, (uint32_t)strlen(r->out[k].header)}, {d, (uint32_t)dl}};
	}
}

/* ---- one token ---- */

struct jwt_parts {
	uint32_t n, dot[4];
};

static bool jwt_split(const char *t, size_t len, struct jwt_parts *p)
{
	p->n = 0;
	for (uint32_t i = 0; i < len; i++) {
		if (t[i] == '.') {
			if (p->n == 4)
				return false;
			p->dot[p->n++] = i;
		} else if (b64url_val[(uint8_t)t[i]] == 0) {
			return false;
		}
	}
	return p->n == 2 || p->n == 4;
}

/* A JSON object from the base64url @p in (@p len bytes), into @p scratch. */
static json_t *jwt_json_part(const char *in, size_t len, uint8_t *scratch, size_t size)
{
	size_t n;
	json_t *j;

	if (jwt_b64url_decode(in, len, scratch, size, &n) != 0)
		return NULL;
	j = json_loadb((const char *)scratch, n, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Does rule @p c look where @p first found the token? */
static bool jwt_looks_there(const struct jwt_rule *c, const struct jwt_rule *first,
			    const struct jwt_found *f)
{
	if (c == first)
		return true;
	for (uint32_t k = 0; f->hdr >= 0 && k < c->n_hdr; k++)
		if (strcmp(c->hdr[k].name, first->hdr[f->hdr].name) == 0 &&
		    strcmp(c->hdr[k].prefix, first->hdr[f->hdr].prefix) == 0)
			return true;
	for (uint32_t k = 0; f->hdr < 0 && k < c->n_param; k++)
		if (strcmp(c->param[k], first->param[f->param]) == 0)
			return true;
	return false;
}

static enum jwt_reason jwt_verify_jws(const struct jwt_svc *sv, const struct jwt_found *f,
				      const struct jwt_rule *first, const char *tok, size_t len,
				      bool encrypted, int64_t now, struct jwt_outcome *o)
{
	uint8_t scratch[JWT_TOKEN_MAX];
	const struct jwt_rule *r = NULL;
	struct jwt_parts p;
	json_t *hdr = NULL, *claims = NULL;
	const char *alg, *iss, *jti;
	enum jwt_reason res = JWT_R_MALFORMED;
	uint8_t kty;
	const char *crv;
	int64_t exp = 0;

	if (!jwt_split(tok, len, &p) || p.n != 2 ||
	    (hdr = jwt_json_part(tok, p.dot[0], scratch, sizeof(scratch))) == NULL)
		goto out;
	alg = json_string_value(json_object_get(hdr, "alg"));
	if (alg == NULL || json_object_get(hdr, "crit") != NULL)
		goto out;
	if (!jwt_alg_kty(alg, &kty, &crv)) {
		res = JWT_R_ALG_REFUSED;
		goto out;
	}
	claims = jwt_json_part(tok + p.dot[0] + 1, p.dot[1] - p.dot[0] - 1, scratch,
			       sizeof(scratch));
	if (claims == NULL || (iss = json_string_value(json_object_get(claims, "iss"))) == NULL)
		goto out;
	/* the issuer's rule, among those that look where the token was found */
	for (uint32_t i = 0; i < sv->n_rules && r == NULL; i++)
		if (strcmp(sv->rules[i]->issuer, iss) == 0 &&
		    jwt_looks_there(sv->rules[i], first, f))
			r = sv->rules[i];
	if (r == NULL) {
		res = JWT_R_ISSUER;
		goto out;
	}
	if (len > r->max_bytes) {
		res = JWT_R_TOO_LARGE;
		goto out;
	}
	if (r->policy->require_encryption && !encrypted) {
		res = JWT_R_NOT_ENCRYPTED;
		goto out;
	}
	if ((res = jwt_signature(r, hdr, tok, len, p.dot[1])) != JWT_OK ||
	    (res = jwt_times(r, claims, now, &exp)) != JWT_OK ||
	    (res = jwt_audience(r, claims)) != JWT_OK)
		goto out;
	jti = json_string_value(json_object_get(claims, "jti"));
	if (r->reject_replay && jti != NULL) {
		enum jwt_replay_result rr = jwt_replay_enter(
			jwt_replay_hash(iss, strlen(iss), jti, strlen(jti)), exp + r->skew_s, now);

		if (rr == JWT_REPLAY_SEEN) {
			res = JWT_R_REPLAY;
			goto out;
		}
		o->replay_full = rr == JWT_REPLAY_FULL;
	}
	jwt_fill(r, claims, o);
	o->authenticated = true;
	if (!r->forward && f->hdr >= 0)
		o->token_header = (struct http_view){first->hdr[f->hdr].name,
						     (uint32_t)strlen(first->hdr[f->hdr].name)};
	else if (!r->forward)
		o->strip_param = (struct router_str){first->param[f->param],
						     (uint32_t)strlen(first->param[f->param])};
out:
	json_decref(hdr);
	json_decref(claims);
	return res;
}

bool jwt_active(const struct cfg_snapshot *snap, uint32_t service)
{
	const struct jwt_snap *js = snap->jwt;

	return js != NULL && js->svc != NULL && service < snap->n_services &&
	       js->svc[service].n_rules != 0;
}

static int64_t jwt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ts.tv_sec;
}

bool jwt_check(const struct cfg_snapshot *snap, uint32_t service, const struct jwt_request *rq,
	       struct jwt_outcome *o, struct stats_block *stats)
{
	const struct jwt_svc *sv;
	const struct jwt_rule *first = NULL;
	struct jwt_found f = {0};
	struct jwt_parts p;
	int64_t now = rq->now_s != 0 ? rq->now_s : jwt_now();

	o->reason = JWT_NO_TOKEN;
	o->authenticated = false;
	o->principal = "";
	o->n_claims = o->n_add = o->used = 0;
	o->remove = NULL;
	o->n_remove = 0;
	o->token_header = (struct http_view){NULL, 0};
	o->strip_param = (struct router_str){NULL, 0};
	o->replay_full = false;
	if (!jwt_active(snap, service))
		return true;
	sv = &snap->jwt->svc[service];
	o->remove = sv->remove;
	o->n_remove = sv->n_remove;
	for (uint32_t i = 0; i < sv->n_rules && first == NULL; i++)
		if (jwt_find_in_headers(sv->rules[i], rq, &f) ||
		    jwt_find_in_query(sv->rules[i], rq->query, &f))
			first = sv->rules[i];
	if (first == NULL) {
		stats_inc(stats, STAT_JWT_NO_TOKEN);
		return true;
	}
	if (unlikely(!rq->secure))
		o->reason = JWT_R_INSECURE_TRANSPORT;
	else if (unlikely(f.len > JWT_TOKEN_MAX || f.len > first->max_bytes))
		o->reason = JWT_R_TOO_LARGE;
	else if (unlikely(!jwt_split(f.p, f.len, &p)))
		o->reason = JWT_R_MALFORMED;
	else if (p.n == 2)
		o->reason = jwt_verify_jws(sv, &f, first, f.p, f.len, false, now, o);
	else {
		uint8_t inner[JWT_TOKEN_MAX];
		size_t il = 0;
		int rc = -1;

		o->reason = JWT_R_DECRYPT_FAILED;
		for (uint32_t k = 0; k < sv->n_dec && rc == -1; k++) {
			rc = jwt_jwe_decrypt(sv->dec[k], f.p, p.dot, f.len, inner, sizeof(inner),
					     &il);
			rc = rc == 0 ? 0 : rc == -EPROTO ? -2 : -1;
		}
		if (rc == 0)
			o->reason = jwt_verify_jws(sv, &f, first, (const char *)inner, il, true,
						   now, o);
	}
	if (o->replay_full)
		stats_inc(stats, STAT_JWT_REPLAY_CACHE_FULL);
	stats_inc(stats, (enum stats_id)jwt_reason_stats[o->reason]);
	return o->reason == JWT_OK;
}
