/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshctl fleet (fleet.h): one request at a time to etcd's gateway, each
 * endpoint of the list tried until one answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "fleet.h"

#define FLEET_TIMEOUT_MS 5000
#define FLEET_BODY_MAX	 (64u << 20)

struct fleet_body {
	char *p;
	size_t len;
};

static size_t fleet_collect(char *data, size_t size, size_t n, void *arg)
{
	struct fleet_body *b = arg;
	char *p;

	if (b->len + size * n + 1 > FLEET_BODY_MAX ||
	    (p = realloc(b->p, b->len + size * n + 1)) == NULL)
		return 0;
	memcpy(p + b->len, data, size * n);
	b->p = p;
	b->len += size * n;
	p[b->len] = '\0';
	return size * n;
}

static char *fleet_b64(const char *s, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
	return out;
}

static char *fleet_unb64(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	char *out = malloc(3 * (n / 4) + 1);
	int r = out != NULL && n % 4 == 0
			? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n)
			: -1;

	if (r < 0) {
		free(out);
		return NULL;
	}
	for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
		r--;
	out[r] = '\0';
	return out;
}

static long long fleet_int(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	return json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
}

static char fleet_token[512]; /* etcd's auth token after fleet_login(); "": none */

/* POST @p req to @p path of the first endpoint that answers 200 with JSON. */
static json_t *fleet_call(const char *endpoints, const char *path, const json_t *req, char *err,
			  size_t errlen)
{
	char *body = json_dumps(req, JSON_COMPACT), *list = strdup(endpoints), *save = NULL;
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	json_t *reply = NULL;
	char auth[sizeof(fleet_token) + 16];

	if (fleet_token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: %s", fleet_token);
		hdr = curl_slist_append(hdr, auth);
	}

	snprintf(err, errlen, "no etcd endpoint given");
	for (char *ep = list != NULL ? strtok_r(list, ",", &save) : NULL;
	     ep != NULL && body != NULL && reply == NULL; ep = strtok_r(NULL, ",", &save)) {
		struct fleet_body out = {NULL, 0};
		char url[512];
		long status = 0;
		CURLcode rc;
		CURL *h = curl_easy_init();

		if (h == NULL)
			break;
		snprintf(url, sizeof(url), "%s%s", ep, path);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)FLEET_TIMEOUT_MS);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fleet_collect);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
		rc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK)
			snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(rc));
		else if (status != 200)
			snprintf(err, errlen, "%s: HTTP %ld: %.200s", url, status,
				 out.p ? out.p : "");
		else if ((reply = json_loadb(out.p ? out.p : "", out.len, 0, NULL)) == NULL)
			snprintf(err, errlen, "%s: the reply is not JSON", url);
		free(out.p);
		curl_easy_cleanup(h);
	}
	curl_slist_free_all(hdr);
	free(list);
	free(body);
	return reply;
}

int fleet_login(const char *endpoints, const char *user, char *err, size_t errlen)
{
	const char *colon = strchr(user, ':');
	char name[256];
	json_t *req, *reply;
	const char *token;

	if (colon == NULL || (size_t)(colon - user) >= sizeof(name)) {
		snprintf(err, errlen, "--user: expected NAME:PASSWORD");
		return -1;
	}
	memcpy(name, user, (size_t)(colon - user));
	name[colon - user] = '\0';
	req = json_pack("{s:s, s:s}", "name", name, "password", colon + 1);
	reply = req != NULL ? fleet_call(endpoints, "/v3/auth/authenticate", req, err, errlen)
			    : NULL;
	token = json_string_value(json_object_get(reply, "token"));
	if (token != NULL)
		snprintf(fleet_token, sizeof(fleet_token), "%s", token);
	json_decref(req);
	json_decref(reply);
	return token != NULL ? 0 : -1;
}

long long fleet_publish(const char *endpoints, const char *prefix, const char *ns, const char *text,
			size_t len, char *err, size_t errlen)
{
	char key[512], *k, *v;
	json_t *req, *reply;
	long long rev;

	if (ns != NULL)
		snprintf(key, sizeof(key), "%s/namespaces/%s", prefix, ns);
	else
		snprintf(key, sizeof(key), "%s/config", prefix);
	k = fleet_b64(key, strlen(key));
	v = fleet_b64(text, len);
	req = k != NULL && v != NULL ? json_pack("{s:s, s:s}", "key", k, "value", v) : NULL;
	reply = req != NULL ? fleet_call(endpoints, "/v3/kv/put", req, err, errlen) : NULL;
	rev = reply != NULL
		      ? fleet_int(json_object_get(json_object_get(reply, "header"), "revision"))
		      : -1;
	free(k);
	free(v);
	json_decref(req);
	json_decref(reply);
	return rev;
}

/* [from, to) of every key under <prefix>/status/ */
json_t *fleet_status(const char *endpoints, const char *prefix, char *err, size_t errlen)
{
	char from[512], to[512], cfg[512], *kf, *kt, *kc;
	json_t *req, *reply, *nodes = json_array(), *kv, *out = NULL, *creply = NULL;
	size_t i;

	snprintf(from, sizeof(from), "%s/status/", prefix);
	snprintf(to, sizeof(to), "%s/status0", prefix); /* '/' + 1 */
	snprintf(cfg, sizeof(cfg), "%s/config", prefix);
	kf = fleet_b64(from, strlen(from));
	kt = fleet_b64(to, strlen(to));
	kc = fleet_b64(cfg, strlen(cfg));
	req = kf && kt ? json_pack("{s:s, s:s}", "key", kf, "range_end", kt) : NULL;
	reply = req != NULL ? fleet_call(endpoints, "/v3/kv/range", req, err, errlen) : NULL;
	json_decref(req);
	req = kc != NULL ? json_pack("{s:s, s:b}", "key", kc, "keys_only", 1) : NULL;
	creply = reply != NULL && req != NULL
			 ? fleet_call(endpoints, "/v3/kv/range", req, err, errlen)
			 : NULL;
	if (creply == NULL || nodes == NULL)
		goto done;
	json_array_foreach(json_object_get(reply, "kvs"), i, kv)
	{
		char *val = fleet_unb64(json_string_value(json_object_get(kv, "value")));
		json_t *st = val != NULL ? json_loads(val, 0, NULL) : NULL;

		if (st != NULL)
			json_array_append_new(nodes, st);
		free(val);
	}
	out = json_pack(
		"{s:O, s:I}", "nodes", nodes, "revision",
		(json_int_t)fleet_int(json_object_get(
			json_array_get(json_object_get(creply, "kvs"), 0), "mod_revision")));
done:
	json_decref(req);
	json_decref(reply);
	json_decref(creply);
	json_decref(nodes);
	free(kf);
	free(kt);
	free(kc);
	return out;
}
