/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * etcd (etcd.h): the client thread (read, watch, status key, cache, back-off)
 * and its hand-off to the control thread, which composes and applies each
 * revision; the etcd command. The thread only talks HTTP and JSON; everything
 * that touches a snapshot runs on the control thread (etcd_tick()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <rte_common.h>
#include <rte_random.h>

#include "../log/log.h"
#include "../roles/roles.h"
#include "etcd.h"

#define ETCD_BACKOFF_MIN_MS 100
#define ETCD_APPLY_WAIT_S   60	       /* the control thread applies a revision within this */
#define ETCD_BODY_MAX	    (4u << 20) /* a reply, or the watch's unparsed tail */
#define ETCD_KEY_MAX	    (ETCD_PREFIX_MAX + 2 * CFG_NAME_MAX)

/* The members a fleet document may not hold: the node's own, its addresses and sizes. */
static const char *const etcd_node_members[] = {"node",	      "control", "admin",     "etcd",
						"interfaces", "routes",	 "neighbour", "tune",
						"flows",      "tcp"};

enum etcd_source { ETCD_FROM_ETCD, ETCD_FROM_CACHE };

/* A revision on its way to the control thread and back. */
struct etcd_handoff {
	bool offered;	 /* the thread set text: the control thread is to apply it */
	bool done;	 /* the control thread set the result */
	char *text;	 /* the fleet document */
	int64_t rev;	 /* its etcd mod_revision */
	uint8_t source;	 /* enum etcd_source */
	bool ok;	 /* result: applied */
	uint64_t gen;	 /* result: the generation it made */
	int64_t at_ms;	 /* result: CLOCK_REALTIME of the publish */
	char error[512]; /* result: why it was refused */
};

static struct etcd_client {
	struct etcd_conf conf; /* a copy: the thread outlives snapshots */
	pthread_t thread;
	bool started;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct etcd_handoff h;
	char token[512]; /* etcd's auth token (the thread's own); "": none */
	/* what meshctl etcd shows (under lock) */
	char endpoint[ETCD_URL_MAX];
	bool connected;
	int64_t applied_rev, seen_rev, refused_rev;
	uint8_t applied_source;
	uint64_t reconnects, revisions, refused;
	char last_error[256];
} etcd = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* ------------------------------------------------------------ helpers */

static int64_t etcd_wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void etcd_set_error(struct etcd_client *e, const char *fmt, ...) __rte_format_printf(2, 3);
static void etcd_set_error(struct etcd_client *e, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&e->lock);
	va_start(ap, fmt);
	vsnprintf(e->last_error, sizeof(e->last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&e->lock);
}

static char *etcd_b64(const char *s, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
	return out;
}

/* Base64 @p s into a NUL-terminated string; *@p len its length. */
static char *etcd_unb64(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *out = malloc(3 * (n / 4) + 1);
	int r;

	if (out == NULL || n % 4 != 0)
		goto bad;
	r = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	if (r < 0)
		goto bad;
	/* EVP_DecodeBlock counts the padding's zero bytes */
	for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
		r--;
	out[r] = '\0';
	*len = (size_t)r;
	return out;
bad:
	free(out);
	return NULL;
}

/* The gateway writes int64 as strings. */
static int64_t etcd_int(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	return json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
}

static void etcd_key(const struct etcd_conf *c, const char *leaf, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", c->prefix, leaf);
}

/* ------------------------------------------------------------ HTTP */

struct etcd_body {
	char *p;
	size_t len, cap;
};

static bool etcd_body_add(struct etcd_body *b, const char *data, size_t n)
{
	if (b->len + n + 1 > ETCD_BODY_MAX)
		return false;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static size_t etcd_collect(char *data, size_t size, size_t n, void *arg)
{
	return etcd_body_add(arg, data, size * n) ? size * n : 0;
}

/* 1 stops a transfer (curl's progress callback): the daemon is stopping. */
static int etcd_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&((struct etcd_client *)arg)->stop) ? 1 : 0;
}

static CURL *etcd_easy(struct etcd_client *e, const char *endpoint, const char *path,
		       const char *body, struct curl_slist *hdr, char *url, size_t ulen)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		return NULL;
	snprintf(url, ulen, "%s%s", endpoint, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->conf.timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, etcd_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, e);
	return h;
}

/* The request headers: JSON, and the auth token once there is one. */
static struct curl_slist *etcd_headers(const struct etcd_client *e)
{
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	char auth[sizeof(e->token) + 16];

	if (hdr != NULL && e->token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		hdr = curl_slist_append(hdr, auth);
	}
	return hdr;
}

/*
 * POST @p body (JSON) to @p path of endpoint @p ep and parse the reply.
 * @return the reply object, or NULL with the reason in the client's last_error.
 */
static json_t *etcd_call(struct etcd_client *e, const char *ep, const char *path, json_t *body)
{
	struct curl_slist *hdr = etcd_headers(e);
	char *text = json_dumps(body, JSON_COMPACT);
	struct etcd_body out = {NULL, 0, 0};
	char url[ETCD_URL_MAX + 32];
	json_t *reply = NULL;
	long status = 0;
	CURLcode rc;
	CURL *h;

	h = text != NULL ? etcd_easy(e, ep, path, text, hdr, url, sizeof(url)) : NULL;
	if (h == NULL) {
		etcd_set_error(e, "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)e->conf.timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, etcd_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK)
		etcd_set_error(e, "%s: %s", url, curl_easy_strerror(rc));
	else if (status != 200)
		etcd_set_error(e, "%s: HTTP %ld: %.120s", url, status, out.p ? out.p : "");
	else if ((reply = json_loadb(out.p ? out.p : "", out.len, 0, NULL)) == NULL)
		etcd_set_error(e, "%s: the reply is not JSON", url);
	curl_easy_cleanup(h);
out:
	curl_slist_free_all(hdr);
	free(text);
	free(out.p);
	return reply;
}

static int etcd_put(struct etcd_client *e, const char *ep, const char *key, const char *value)
{
	char *k = etcd_b64(key, strlen(key)), *v = etcd_b64(value, strlen(value));
	json_t *req = k && v ? json_pack("{s:s, s:s}", "key", k, "value", v) : NULL;
	json_t *reply = req != NULL ? etcd_call(e, ep, "/v3/kv/put", req) : NULL;

	free(k);
	free(v);
	json_decref(req);
	json_decref(reply);
	return reply != NULL ? 0 : -EIO;
}

/* ------------------------------------------------------------ hand-off */

/*
 * Give revision @p rev of the fleet document to the control thread and wait
 * for its result (the handoff's ok, gen, error). @return false when stopping.
 */
static bool etcd_apply(struct etcd_client *e, char *text, int64_t rev, enum etcd_source src)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ETCD_APPLY_WAIT_S;
	pthread_mutex_lock(&e->lock);
	free(e->h.text);
	e->h = (struct etcd_handoff){
		.offered = true, .text = text, .rev = rev, .source = (uint8_t)src};
	while (!e->h.done && !atomic_load(&e->stop) &&
	       pthread_cond_timedwait(&e->cond, &e->lock, &until) != ETIMEDOUT)
		;
	done = e->h.done;
	if (!done) /* the control thread did not take it: take it back */
		e->h.offered = false;
	pthread_mutex_unlock(&e->lock);
	return done;
}

/* The node's status key and, for an applied revision, the cache. */
static void etcd_report(struct etcd_client *e, const char *ep)
{
	char key[ETCD_KEY_MAX], leaf[CFG_NAME_MAX + 8];
	struct etcd_handoff h;
	json_t *st;
	char *text;

	pthread_mutex_lock(&e->lock);
	h = e->h;
	pthread_mutex_unlock(&e->lock);
	st = json_pack("{s:s, s:I, s:s, s:I, s:s?, s:I, s:s}", "node", e->conf.node, "revision",
		       (json_int_t)h.rev, "result", h.ok ? "applied" : "refused", "generation",
		       (json_int_t)h.gen, "error", h.ok ? NULL : h.error, "applied_unix_ms",
		       (json_int_t)h.at_ms, "source",
		       h.source == ETCD_FROM_CACHE ? "cache" : "etcd");
	text = st != NULL ? json_dumps(st, JSON_COMPACT) : NULL;
	snprintf(leaf, sizeof(leaf), "status/%s", e->conf.node);
	etcd_key(&e->conf, leaf, key, sizeof(key));
	if (ep != NULL && text != NULL && etcd_put(e, ep, key, text) != 0)
		LOG(WARNING, "etcd: cannot write %s: %s", key, e->last_error);
	free(text);
	json_decref(st);
	if (h.ok && h.source == ETCD_FROM_ETCD && e->conf.cache[0] != '\0') {
		char tmp[CFG_PATH_MAX + 8];
		json_t *c =
			json_pack("{s:I, s:s}", "revision", (json_int_t)h.rev, "document", h.text);

		snprintf(tmp, sizeof(tmp), "%s.tmp", e->conf.cache);
		if (c == NULL || json_dump_file(c, tmp, JSON_COMPACT) != 0 ||
		    rename(tmp, e->conf.cache) != 0)
			LOG(WARNING, "etcd: cannot write the cache %s: %s", e->conf.cache,
			    strerror(errno));
		json_decref(c);
	}
}

/* A range read of [@p key, @p end) (@p end NULL: the key alone) at @p rev (0: the newest). */
static json_t *etcd_range(struct etcd_client *e, const char *ep, const char *key, const char *end,
			  int64_t rev)
{
	char *k = etcd_b64(key, strlen(key)), *r = end != NULL ? etcd_b64(end, strlen(end)) : NULL;
	json_t *req = k != NULL && (end == NULL || r != NULL)
			      ? json_pack("{s:s, s:s?, s:I}", "key", k, "range_end", r, "revision",
					  (json_int_t)rev)
			      : NULL;
	json_t *reply = req != NULL ? etcd_call(e, ep, "/v3/kv/range", req) : NULL;

	free(k);
	free(r);
	json_decref(req);
	return reply;
}

/*
 * Read the fleet's keys from @p ep at one revision: the fleet document and
 * every namespace's, as one bundle {"config": text or null, "namespaces":
 * {ns: text}}; apply it when it differs from the last one handed over. The
 * bundle's revision is its newest key's mod_revision (the put that made it;
 * the store's own revision also moves with the nodes' status writes), the
 * store's when it has no key.
 * @return 0 and *@p header_rev (the store's revision), or -EIO.
 */
static int etcd_sync(struct etcd_client *e, const char *ep, int64_t *header_rev)
{
	char key[ETCD_KEY_MAX], from[ETCD_KEY_MAX], to[ETCD_KEY_MAX], *text = NULL;
	json_t *cfg, *nss = NULL, *bundle = NULL, *byns, *kv;
	size_t i, plen = strlen(e->conf.prefix) + strlen("/namespaces/");
	int64_t rev = 0;
	bool same;

	etcd_key(&e->conf, "config", key, sizeof(key));
	etcd_key(&e->conf, "namespaces/", from, sizeof(from));
	etcd_key(&e->conf, "namespaces0", to, sizeof(to)); /* '/' + 1 ends the range */
	cfg = etcd_range(e, ep, key, NULL, 0);
	if (cfg == NULL)
		return -EIO;
	*header_rev = etcd_int(json_object_get(json_object_get(cfg, "header"), "revision"));
	nss = etcd_range(e, ep, from, to, *header_rev);
	bundle = nss != NULL ? json_pack("{s:n, s:{}}", "config", "namespaces") : NULL;
	if (bundle == NULL)
		goto out;
	kv = json_array_get(json_object_get(cfg, "kvs"), 0);
	byns = json_object_get(bundle, "namespaces");
	if (kv != NULL) {
		size_t len;
		char *v = etcd_unb64(json_string_value(json_object_get(kv, "value")), &len);

		rev = etcd_int(json_object_get(kv, "mod_revision"));
		json_object_set_new(bundle, "config",
				    v != NULL ? json_stringn(v, len) : json_null());
		free(v);
	}
	json_array_foreach(json_object_get(nss, "kvs"), i, kv)
	{
		size_t klen, vlen;
		char *k = etcd_unb64(json_string_value(json_object_get(kv, "key")), &klen);
		char *v = etcd_unb64(json_string_value(json_object_get(kv, "value")), &vlen);

		if (k != NULL && v != NULL && klen > plen)
			json_object_set_new(byns, k + plen, json_stringn(v, vlen));
		rev = RTE_MAX(rev, etcd_int(json_object_get(kv, "mod_revision")));
		free(k);
		free(v);
	}
	if (rev == 0)
		rev = *header_rev;
	text = json_dumps(bundle, JSON_COMPACT | JSON_SORT_KEYS);
	pthread_mutex_lock(&e->lock);
	snprintf(e->endpoint, sizeof(e->endpoint), "%s", ep);
	e->connected = true;
	same = text != NULL && e->h.text != NULL && strcmp(text, e->h.text) == 0;
	e->seen_rev = *header_rev;
	if (text != NULL && !same)
		e->revisions++;
	pthread_mutex_unlock(&e->lock);
	if (text != NULL && !same) {
		if (etcd_apply(e, text, rev, ETCD_FROM_ETCD))
			etcd_report(e, ep);
		text = NULL; /* the hand-off owns it */
	} else if (same && e->h.done && e->h.rev != rev) {
		/* a put of the same content: nothing to apply, the status says the revision */
		pthread_mutex_lock(&e->lock);
		e->h.rev = rev;
		pthread_mutex_unlock(&e->lock);
		etcd_report(e, ep);
	}
out:
	free(text);
	json_decref(bundle);
	json_decref(nss);
	json_decref(cfg);
	return nss != NULL ? 0 : -EIO;
}

struct etcd_watch {
	struct etcd_client *e;
	const char *ep;
	struct etcd_body buf; /* what arrived and is not parsed yet */
	bool failed;	      /* a message said the watch cannot go on (compaction, error) */
};

/* Is @p kv's key the fleet document or a namespace's (not a node's status)? */
static bool etcd_fleet_key(const struct etcd_client *e, const json_t *kv)
{
	size_t plen = strlen(e->conf.prefix), len;
	char *k = etcd_unb64(json_string_value(json_object_get(kv, "key")), &len);
	bool fleet =
		k != NULL && len > plen &&
		(strcmp(k + plen, "/config") == 0 || strncmp(k + plen, "/namespaces/", 12) == 0);

	free(k);
	return fleet;
}

/* One watch message: does it change a fleet key? */
static bool etcd_watch_message(struct etcd_watch *w, const json_t *msg)
{
	const json_t *res = json_object_get(msg, "result"), *ev;
	bool changed = false;
	size_t i;

	if (res == NULL || json_is_true(json_object_get(res, "canceled"))) {
		etcd_set_error(w->e, "the watch was cancelled (compacted revision %" PRId64 ")",
			       etcd_int(json_object_get(res, "compact_revision")));
		w->failed = true;
		return false;
	}
	json_array_foreach(json_object_get(res, "events"), i, ev)
	{
		changed |= etcd_fleet_key(w->e, json_object_get(ev, "kv"));
	}
	return changed;
}

/* What the watch stream brought: messages parsed, the keys read again once if one changed. */
static size_t etcd_watch_data(char *data, size_t size, size_t n, void *arg)
{
	struct etcd_watch *w = arg;
	bool changed = false;
	size_t off = 0;
	int64_t rev;

	if (!etcd_body_add(&w->buf, data, size * n))
		return 0;
	while (off < w->buf.len && !w->failed) {
		json_error_t jerr;
		json_t *msg;

		while (off < w->buf.len && strchr(" \r\n\t", w->buf.p[off]) != NULL)
			off++;
		if (off == w->buf.len)
			break;
		msg = json_loadb(w->buf.p + off, w->buf.len - off, JSON_DISABLE_EOF_CHECK, &jerr);
		if (msg == NULL) {
			if (json_error_code(&jerr) == json_error_premature_end_of_input)
				break; /* the rest of it is on its way */
			etcd_set_error(w->e, "the watch stream is not JSON: %s", jerr.text);
			w->failed = true;
			break;
		}
		off += (size_t)jerr.position;
		changed |= etcd_watch_message(w, msg);
		json_decref(msg);
	}
	memmove(w->buf.p, w->buf.p + off, w->buf.len - off);
	w->buf.len -= off;
	/* every change of the chunk in one read: revisions coalesce */
	if (changed && !w->failed && etcd_sync(w->e, w->ep, &rev) != 0)
		w->failed = true;
	return w->failed || atomic_load(&w->e->stop) ? 0 : size * n;
}

/* Watch every key under the prefix from @p from_rev until the stream ends. @return -EIO then. */
static int etcd_watch(struct etcd_client *e, const char *ep, int64_t from_rev)
{
	struct curl_slist *hdr = etcd_headers(e);
	struct etcd_watch w = {.e = e, .ep = ep};
	char key[ETCD_KEY_MAX], url[ETCD_URL_MAX + 32], *k, *body = NULL;
	json_t *req;
	CURLcode rc;
	CURL *h;

	char end[ETCD_KEY_MAX], *r;

	snprintf(key, sizeof(key), "%s/", e->conf.prefix);
	snprintf(end, sizeof(end), "%s0", e->conf.prefix); /* '/' + 1: every key under it */
	k = etcd_b64(key, strlen(key));
	r = etcd_b64(end, strlen(end));
	req = k != NULL && r != NULL
		      ? json_pack("{s:{s:s, s:s, s:I}}", "create_request", "key", k, "range_end", r,
				  "start_revision", (json_int_t)from_rev)
		      : NULL;
	free(r);
	body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	h = body != NULL ? etcd_easy(e, ep, "/v3/watch", body, hdr, url, sizeof(url)) : NULL;
	if (h != NULL) {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, etcd_watch_data);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
		rc = curl_easy_perform(h);
		if (!w.failed && !atomic_load(&e->stop))
			etcd_set_error(e, "%s: the watch ended: %s", url, curl_easy_strerror(rc));
		curl_easy_cleanup(h);
	}
	curl_slist_free_all(hdr);
	json_decref(req);
	free(k);
	free(body);
	free(w.buf.p);
	return -EIO;
}

/* With $.etcd.user: a token for the requests to @p ep. @return 0 or -EIO. */
static int etcd_authenticate(struct etcd_client *e, const char *ep)
{
	json_t *req, *reply;
	const char *token;

	e->token[0] = '\0';
	if (e->conf.user[0] == '\0')
		return 0;
	req = json_pack("{s:s, s:s}", "name", e->conf.user, "password", e->conf.password);
	reply = req != NULL ? etcd_call(e, ep, "/v3/auth/authenticate", req) : NULL;
	token = json_string_value(json_object_get(reply, "token"));
	if (token != NULL)
		snprintf(e->token, sizeof(e->token), "%s", token);
	else if (reply != NULL)
		etcd_set_error(e, "%s: authentication as %s gave no token", ep, e->conf.user);
	json_decref(req);
	json_decref(reply);
	return token != NULL ? 0 : -EIO;
}

/* The cached revision, applied before etcd is asked (a start without etcd). */
static void etcd_load_cache(struct etcd_client *e)
{
	json_t *c = e->conf.cache[0] != '\0' ? json_load_file(e->conf.cache, 0, NULL) : NULL;
	const char *doc = json_string_value(json_object_get(c, "document"));
	int64_t rev = etcd_int(json_object_get(c, "revision"));
	char *text = doc != NULL ? strdup(doc) : NULL;

	if (text != NULL && etcd_apply(e, text, rev, ETCD_FROM_CACHE))
		etcd_report(e, NULL);
	json_decref(c);
}

/* Sleep @p ms, or less when the daemon stops. */
static void etcd_pause(struct etcd_client *e, uint32_t ms)
{
	for (uint32_t t = 0; t < ms && !atomic_load(&e->stop); t += 10)
		usleep(10000);
}

static void *etcd_main(void *arg)
{
	struct etcd_client *e = arg;
	uint32_t backoff = ETCD_BACKOFF_MIN_MS;
	unsigned int ep = 0;

	etcd_load_cache(e);
	while (!atomic_load(&e->stop)) {
		const char *url = e->conf.endpoints[ep];
		int64_t header_rev = 0;

		if (etcd_authenticate(e, url) == 0 && etcd_sync(e, url, &header_rev) == 0) {
			backoff = ETCD_BACKOFF_MIN_MS;
			etcd_watch(e, url, header_rev + 1);
		}
		if (atomic_load(&e->stop))
			break;
		pthread_mutex_lock(&e->lock);
		e->connected = false;
		e->reconnects++;
		pthread_mutex_unlock(&e->lock);
		LOG(WARNING, "etcd: %s; next: %s in %u ms", e->last_error,
		    e->conf.endpoints[(ep + 1) % e->conf.n_endpoints], backoff);
		ep = (ep + 1) % e->conf.n_endpoints;
		/* full jitter over the upper half: nodes of a fleet do not reconnect in step */
		etcd_pause(e, backoff / 2 + (uint32_t)(rte_rand() % (backoff / 2 + 1)));
		backoff = RTE_MIN(backoff * 2, e->conf.backoff_max_ms);
	}
	return NULL;
}

/* ------------------------------------------------------------ control thread */

/* Is @p key one of the node's own members? */
static bool etcd_node_member(const char *key)
{
	for (unsigned int i = 0; i < RTE_DIM(etcd_node_members); i++)
		if (strcmp(key, etcd_node_members[i]) == 0)
			return true;
	return false;
}

/*
 * The document to apply from a bundle (etcd_sync()): the live document's node
 * members and the fleet document's others (no fleet document: the live
 * document's), then each namespace's document merged in
 * (roles_namespace_merge()). @return the text (the caller frees it) or NULL
 * with @p why filled.
 */
static char *etcd_compose(const struct cfg_snapshot *live, const char *bundle_text, char *why,
			  size_t len)
{
	json_t *bundle = json_loads(bundle_text, 0, NULL), *fleet = NULL, *doc = NULL, *v;
	json_t *mine = live != NULL && live->text != NULL
			       ? json_loadb(live->text, live->text_len, 0, NULL)
			       : json_object();
	const char *cfg = json_string_value(json_object_get(bundle, "config")), *key;
	json_error_t jerr;
	char *text = NULL;

	if (bundle == NULL || mine == NULL) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	if (cfg == NULL) {
		doc = json_incref(mine);
	} else {
		fleet = json_loads(cfg, JSON_REJECT_DUPLICATES, &jerr);
		if (fleet == NULL || !json_is_object(fleet)) {
			snprintf(why, len, "config: the fleet document is not a JSON object: %s",
				 fleet == NULL ? jerr.text : "");
			goto out;
		}
		doc = json_object();
		json_object_foreach(fleet, key, v)
		{
			if (etcd_node_member(key)) {
				snprintf(why, len,
					 "config: $.%s: the node's own member; a fleet document "
					 "holds the others",
					 key);
				goto out;
			}
			json_object_set(doc, key, v);
		}
		json_object_foreach(mine, key, v)
		{
			if (etcd_node_member(key))
				json_object_set(doc, key, v);
		}
	}
	json_object_foreach(json_object_get(bundle, "namespaces"), key, v)
	{
		json_t *frag = json_loads(json_string_value(v), JSON_REJECT_DUPLICATES, &jerr);
		unsigned int n;
		char nwhy[448];
		int rc = frag != NULL ? roles_namespace_merge(doc, frag, key, NULL, &n, nwhy,
							      sizeof(nwhy))
				      : -EINVAL;

		if (frag == NULL)
			snprintf(nwhy, sizeof(nwhy), "not JSON: %s", jerr.text);
		json_decref(frag);
		if (rc != 0) {
			snprintf(why, len, "namespaces/%.32s: %s", key, nwhy);
			goto out;
		}
	}
	text = json_dumps(doc, JSON_INDENT(1));
	if (text == NULL)
		snprintf(why, len, "out of memory");
out:
	json_decref(doc);
	json_decref(fleet);
	json_decref(mine);
	json_decref(bundle);
	return text;
}

static void etcd_start(const struct etcd_conf *conf)
{
	etcd.conf = *conf;
	atomic_store(&etcd.stop, false);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pthread_create(&etcd.thread, NULL, etcd_main, &etcd) != 0) {
		LOG(ERR, "etcd: cannot start the client thread: %s", strerror(errno));
		return;
	}
	pthread_setname_np(etcd.thread, "meshdp-etcd");
	etcd.started = true;
	LOG(NOTICE, "etcd: watching %s/config on %u endpoints as node %s", conf->prefix,
	    conf->n_endpoints, conf->node);
}

/* Control thread, every turn: start the client, apply what it handed over. */
static void etcd_tick(struct control *c, int64_t now_ms)
{
	const struct cfg_snapshot *live = cfg_live;
	static const struct control_peer etcd_peer = {.uid = 0, .gid = 0};
	struct etcd_handoff h;
	char why[512], *text;
	json_t *reply;

	(void)now_ms;
	if (!etcd.started) {
		if (live != NULL && live->etcd != NULL)
			etcd_start(live->etcd);
		return;
	}
	pthread_mutex_lock(&etcd.lock);
	h = etcd.h;
	/* composed under the lock: the thread frees the text when it offers the next one */
	text = h.offered && !h.done ? etcd_compose(live, etcd.h.text, why, sizeof(why)) : NULL;
	pthread_mutex_unlock(&etcd.lock);
	if (!h.offered || h.done)
		return;
	reply = text != NULL ? control_apply_text(c, "etcd", text, strlen(text), &etcd_peer,
						  json_object())
			     : NULL;
	free(text);
	pthread_mutex_lock(&etcd.lock);
	if (!etcd.h.offered || etcd.h.done || etcd.h.rev != h.rev) {
		/* the thread stopped waiting for this one (ETCD_APPLY_WAIT_S) */
		pthread_mutex_unlock(&etcd.lock);
		json_decref(reply);
		return;
	}
	etcd.h.done = true;
	etcd.h.ok = reply != NULL && json_is_true(json_object_get(reply, "ok"));
	etcd.h.at_ms = etcd_wall_ms();
	if (etcd.h.ok) {
		etcd.h.gen = cfg_live->generation;
		etcd.applied_rev = h.rev;
		etcd.applied_source = h.source;
	} else {
		snprintf(etcd.h.error, sizeof(etcd.h.error), "%s",
			 reply != NULL ? json_string_value(json_object_get(reply, "error")) : why);
		etcd.h.gen = live != NULL ? live->generation : 0;
		etcd.refused++;
		etcd.refused_rev = h.rev;
	}
	pthread_cond_broadcast(&etcd.cond);
	pthread_mutex_unlock(&etcd.lock);
	if (etcd.h.ok)
		LOG(NOTICE, "etcd: revision %" PRId64 " (%s) is generation %" PRIu64, h.rev,
		    h.source == ETCD_FROM_CACHE ? "from the cache" : "from etcd", etcd.h.gen);
	else
		LOG(WARNING,
		    "etcd: revision %" PRId64 " refused, the running configuration stays: %s",
		    h.rev, etcd.h.error);
	json_decref(reply);
}

static void etcd_close(struct control *c)
{
	(void)c;
	if (!etcd.started)
		return;
	atomic_store(&etcd.stop, true);
	pthread_mutex_lock(&etcd.lock);
	pthread_cond_broadcast(&etcd.cond);
	pthread_mutex_unlock(&etcd.lock);
	pthread_join(etcd.thread, NULL);
	free(etcd.h.text);
	etcd.h.text = NULL;
	etcd.started = false;
	curl_global_cleanup();
}

static json_t *etcd_cmd_status(struct control *c, json_t *req, const struct control_peer *peer)
{
	json_t *r;

	(void)c, (void)req, (void)peer;
	if (!etcd.started)
		return ctl_reply_error("etcd: the configuration has no $.etcd (or the client "
				       "did not start)");
	pthread_mutex_lock(&etcd.lock);
	r = json_pack("{s:s, s:s, s:s, s:b, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "prefix",
		      etcd.conf.prefix, "node", etcd.conf.node, "endpoint", etcd.endpoint,
		      "connected", etcd.connected, "applied_revision", (json_int_t)etcd.applied_rev,
		      "applied_from", etcd.applied_source == ETCD_FROM_CACHE ? "cache" : "etcd",
		      "seen_revision", (json_int_t)etcd.seen_rev, "revisions",
		      (json_int_t)etcd.revisions, "refused", (json_int_t)etcd.refused,
		      "refused_revision", (json_int_t)etcd.refused_rev, "reconnects",
		      (json_int_t)etcd.reconnects, "last_error", etcd.last_error);
	pthread_mutex_unlock(&etcd.lock);
	return ctl_reply_ok(r);
}

static const struct control_cmd etcd_cmds[] = {
	{"etcd", etcd_cmd_status, 0,
	 "the etcd client: endpoint, connection, applied and seen revisions, refusals, "
	 "reconnects, last error"},
};

const struct control_cmd_set etcd_commands = {
	.subsystem = "etcd",
	.cmds = etcd_cmds,
	.n = RTE_DIM(etcd_cmds),
	.tick = etcd_tick,
	.close = etcd_close,
};
