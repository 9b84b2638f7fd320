/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jwt: meshctl jwt (policies, rules, key sets and their fetches, the
 * counters) and the JWKS fetcher. The fetcher runs in the control loop's
 * tick, never on a worker: one libcurl multi handle, non-blocking, one fetch
 * in flight per jwks_uri the live snapshot uses, HTTPS only (the config
 * refuses other schemes; CURLOPT_PROTOCOLS_STR says so again). A fetch that
 * gives a key set swaps it in with rcu_assign_pointer() and frees the old
 * one after synchronize_rcu(); one that fails (transport, status, a
 * document with no usable key) keeps the last good set, is counted and
 * logged, and is tried again after min(refresh, 10 s). Control thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <urcu-qsbr.h>

#include "../log/log.h"
#include "../stats/stats.h"
#include "../worker/worker.h"
#include "jwt_internal.h"

static CURLM *jwt_multi;

static size_t jwt_fetch_write(char *p, size_t size, size_t n, void *arg)
{
	struct jwt_uri *u = arg;
	size_t len = size * n;
	char *b;

	if (u->body_over || u->body_len + len > JWT_JWKS_MAX) {
		u->body_over = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	if ((b = realloc(u->body, u->body_len + len + 1)) == NULL)
		return 0;
	memcpy(b + u->body_len, p, len);
	u->body = b;
	u->body_len += len;
	return len;
}

static void jwt_fetch_start(struct jwt_uri *u, int64_t now_ms)
{
	CURL *e;

	if (jwt_multi == NULL) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		if ((jwt_multi = curl_multi_init()) == NULL)
			return;
	}
	if ((e = curl_easy_init()) == NULL)
		return;
	u->body_len = 0;
	u->body_over = false;
	curl_easy_setopt(e, CURLOPT_URL, u->uri);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, jwt_fetch_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, u);
	curl_easy_setopt(e, CURLOPT_PRIVATE, u);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "meshdp-jwks");
	if (u->ca_file[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, u->ca_file);
	if (curl_multi_add_handle(jwt_multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return;
	}
	u->easy = e;
	u->next_ms = now_ms + (int64_t)u->refresh_s * 1000;
}

static void jwt_fetch_done(struct jwt_uri *u, CURLcode res, int64_t now_ms)
{
	long status = 0;
	struct jwt_keyset *ks = NULL, *old;
	char why[192];

	curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK)
		snprintf(why, sizeof(why), "%s",
			 u->body_over ? "larger than 1 MiB" : curl_easy_strerror(res));
	else if (status != 200)
		snprintf(why, sizeof(why), "HTTP status %ld", status);
	else
		ks = jwt_keyset_parse(u->body != NULL ? u->body : "", u->body_len, why,
				      sizeof(why));
	curl_multi_remove_handle(jwt_multi, u->easy);
	curl_easy_cleanup(u->easy);
	u->easy = NULL;
	free(u->body);
	u->body = NULL;
	if (ks == NULL) {
		u->failed++;
		snprintf(u->last_error, sizeof(u->last_error), "%s", why);
		LOG(WARNING, "jwt: fetching %s failed (%s); %s", u->uri, why,
		    u->ks != NULL ? "the last good key set stays" : "no key set yet");
		u->next_ms = now_ms + RTE_MIN((int64_t)u->refresh_s, 10) * 1000;
		return;
	}
	old = u->ks;
	rcu_assign_pointer(u->ks, ks);
	u->fetched++;
	u->last_ok_ms = now_ms;
	u->last_error[0] = '\0';
	if (old != NULL) {
		synchronize_rcu(); /* no worker still verifies with the old set */
		jwt_keyset_free(old);
	} else {
		LOG(INFO, "jwt: %s: %u keys", u->uri, ks->n);
	}
}

static void jwt_tick(struct control *c, int64_t now_ms)
{
	const struct cfg_snapshot *snap = cfg_live;
	const struct jwt_snap *js = snap != NULL ? snap->jwt : NULL;
	CURLMsg *m;
	int running, left;

	(void)c;
	for (uint32_t i = 0; js != NULL && i < js->n_uris; i++) {
		struct jwt_uri *u = js->uris[i];

		if (u->easy == NULL && now_ms >= u->next_ms)
			jwt_fetch_start(u, now_ms);
	}
	if (jwt_multi == NULL)
		return;
	curl_multi_perform(jwt_multi, &running);
	while ((m = curl_multi_info_read(jwt_multi, &left)) != NULL) {
		struct jwt_uri *u = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&u);
		if (u != NULL)
			jwt_fetch_done(u, m->data.result, now_ms);
	}
}

static void jwt_close(struct control *c)
{
	(void)c;
	for (struct jwt_uri *u = jwt_uri_list; u != NULL; u = u->next)
		if (u->easy != NULL) {
			curl_multi_remove_handle(jwt_multi, u->easy);
			curl_easy_cleanup(u->easy);
			u->easy = NULL;
			free(u->body);
			u->body = NULL;
		}
	if (jwt_multi != NULL)
		curl_multi_cleanup(jwt_multi);
	jwt_multi = NULL;
}

static json_t *jwt_keys_json(const struct jwt_keyset *ks)
{
	static const char *const ktys[] = {"RSA", "EC", "OKP"};
	json_t *a = json_array();

	for (uint32_t i = 0; a != NULL && ks != NULL && i < ks->n; i++)
		json_array_append_new(a,
				      json_pack("{s:s, s:s, s:s}", "kid", ks->keys[i].kid, "kty",
						ktys[ks->keys[i].kty % 3], "crv", ks->keys[i].crv));
	return a;
}

static json_t *jwt_cmd_jwt(struct control *c, json_t *req, const struct control_peer *peer)
{
	static const char *const scopes[] = {"mesh", "namespace", "service"};
	const struct cfg_snapshot *snap = cfg_live;
	const struct jwt_snap *js = snap != NULL ? snap->jwt : NULL;
	const struct worker_set *ws = control_ctx(c)->workers;
	json_t *pols = json_array(), *uris = json_array(), *counters = json_object(), *svcs;

	(void)req;
	(void)peer;
	for (uint32_t p = 0; js != NULL && pols != NULL && p < js->n_policies; p++) {
		const struct jwt_policy *pol = &js->policies[p];
		json_t *rules = json_array();

		for (uint32_t r = 0; rules != NULL && r < pol->n_rules; r++) {
			const struct jwt_rule *ru = &pol->rules[r];
			const struct jwt_keyset *ks = ru->own != NULL ? ru->own : ru->uri->ks;
			json_t *aud = json_array();

			for (uint32_t a = 0; aud != NULL && a < ru->n_aud; a++)
				json_array_append_new(aud, json_string(ru->aud[a]));
			json_array_append_new(
				rules,
				json_pack("{s:s, s:o, s:s, s:s, s:o, s:b, s:b, s:I, s:I, s:I}",
					  "issuer", ru->issuer, "audiences", aud, "jwks",
					  ru->uri != NULL ? "uri" : "static", "source",
					  ru->jwks_source, "keys", jwt_keys_json(ks),
					  "forward_original_token", ru->forward, "reject_replay",
					  ru->reject_replay, "clock_skew_s", (json_int_t)ru->skew_s,
					  "max_token_bytes", (json_int_t)ru->max_bytes,
					  "claim_headers", (json_int_t)ru->n_out));
		}
		json_array_append_new(pols,
				      json_pack("{s:s, s:s, s:s, s:b, s:b, s:o}", "policy",
						pol->sel.key, "scope", scopes[pol->sel.scope % 3],
						"service", pol->sel.service, "decryption_key",
						pol->dec != NULL, "require_encryption",
						pol->require_encryption, "rules", rules));
	}
	for (uint32_t i = 0; js != NULL && uris != NULL && i < js->n_uris; i++) {
		const struct jwt_uri *u = js->uris[i];

		json_array_append_new(
			uris, json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:o}", "uri", u->uri,
					"refresh_s", (json_int_t)u->refresh_s, "fetched",
					(json_int_t)u->fetched, "failed", (json_int_t)u->failed,
					"last_error", u->last_error, "last_ok_ms",
					(json_int_t)u->last_ok_ms, "keys", jwt_keys_json(u->ks)));
	}
	for (int id = STAT_JWT_AUTHENTICATED;
	     ws != NULL && counters != NULL && id <= STAT_JWT_REPLAY_CACHE_FULL; id++)
		json_object_set_new(
			counters, stats_name((enum stats_id)id),
			json_integer((json_int_t)worker_set_stat(ws, (enum stats_id)id)));
	svcs = json_array();
	for (uint32_t s = 0; js != NULL && svcs != NULL && s < snap->n_services; s++)
		if (js->svc[s].n_rules != 0)
			json_array_append_new(svcs, json_pack("{s:s, s:I}", "service",
							      snap->services[s].key, "rules",
							      (json_int_t)js->svc[s].n_rules));
	return ctl_reply_ok(json_pack("{s:o, s:o, s:o, s:o, s:I}", "policies", pols, "services",
				      svcs, "jwks_uris", uris, "counters", counters,
				      "replay_cache_live",
				      (json_int_t)jwt_replay_live(time(NULL))));
}

static const struct control_cmd jwt_cmds[] = {
	{"jwt", jwt_cmd_jwt, 0,
	 "request authentication: policies and their JWT rules (issuer, audiences, key sets), "
	 "the services they apply to, jwks_uri fetches, the jwt_* counters, replay cache entries"},
};

const struct control_cmd_set jwt_commands = {"jwt", jwt_cmds, RTE_DIM(jwt_cmds), jwt_tick,
					     jwt_close};
