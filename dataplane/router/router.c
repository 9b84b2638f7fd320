/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * router: the request -> route decision (router_select()) and the helpers that
 * apply a route (cluster pick, path rewrite, redirect Location, retry
 * decisions). Runs on workers: no allocation, no locks, no logging; failures
 * are counters (router_counters.def). The tables are router_config.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>

#include "../l4/l4.h"
#include "router_internal.h"

static inline uint8_t router_fold(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 'a' - 'A') : c;
}

/* @p a (any case) equals @p b (lower case) over @p n bytes. */
static inline bool router_eq_fold(const char *a, const char *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (router_fold((uint8_t)a[i]) != (uint8_t)b[i])
			return false;
	return true;
}

/* Both in any case. */
static inline bool router_eq_fold2(const char *a, const char *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (router_fold((uint8_t)a[i]) != router_fold((uint8_t)b[i]))
			return false;
	return true;
}

static inline bool router_count(struct router_worker *rw, enum stats_id id)
{
	if (rw->stats != NULL)
		stats_inc(rw->stats, id);
	return false;
}

uint32_t router_config_count(const struct cfg_snapshot *snap)
{
	const struct router_table *t = router_table_of(snap);

	return t != NULL ? t->n_configs : 0;
}

const struct router_config *router_config_get(const struct cfg_snapshot *snap, uint32_t rc)
{
	const struct router_table *t = router_table_of(snap);

	return t != NULL && rc < t->n_configs ? &t->configs[rc] : NULL;
}

int32_t router_route_config_find(const struct cfg_snapshot *snap, const char *name)
{
	const struct router_table *t = router_table_of(snap);

	for (uint32_t i = 0; t != NULL && i < t->n_configs; i++)
		if (strcmp(t->configs[i].name, name) == 0)
			return (int32_t)i;
	return -1;
}

int32_t router_service_by_key(const struct cfg_snapshot *snap, const char *key)
{
	const struct router_table *t = router_table_of(snap);
	uint32_t len = (uint32_t)strnlen(key, ROUTER_KEY_MAX), h, slot;

	if (t == NULL || t->svc_slots == NULL)
		return -1;
	h = router_hash(key, len, false);
	for (slot = h & t->svc_mask; t->svc_slots[slot] != 0; slot = (slot + 1) & t->svc_mask) {
		uint32_t idx = t->svc_slots[slot] - 1;

		if (strcmp(snap->services[idx].key, key) == 0)
			return (int32_t)idx;
	}
	return -1;
}

int router_cluster_resolve(const struct cfg_snapshot *snap, const char *key, uint16_t port,
			   uint32_t *service, uint8_t *port_idx, uint16_t *target_port)
{
	int32_t s = router_service_by_key(snap, key);
	const struct l4_service *sv;

	if (s < 0)
		return -ENOENT;
	sv = &snap->services[s];
	for (uint8_t i = 0; i < sv->n_ports; i++) {
		if (sv->ports[i].protocol == IPPROTO_TCP && sv->ports[i].port == port) {
			*service = (uint32_t)s;
			*port_idx = i;
			*target_port = sv->ports[i].target_port;
			return 0;
		}
	}
	return -ENOENT;
}

struct router_str router_host_strip_port(struct router_str host)
{
	uint32_t i = host.len;

	/* from the end: the port's digits, then its ':' */
	while (i > 0 && host.p[i - 1] >= '0' && host.p[i - 1] <= '9')
		i--;
	if (i == 0 || host.p[i - 1] != ':')
		return host;
	i--;
	if (host.p[0] == '[')
		return i > 0 && host.p[i - 1] == ']' ? (struct router_str){host.p, i} : host;
	/* a bare IPv6 address has no port to strip */
	return memchr(host.p, ':', i) == NULL ? (struct router_str){host.p, i} : host;
}

const struct router_vhost *router_vhost_select(const struct cfg_snapshot *snap, uint32_t rc,
					       struct router_str host)
{
	const struct router_config *cfg = router_config_get(snap, rc);
	const struct router_domains *d;

	if (unlikely(cfg == NULL))
		return NULL;
	d = cfg->domains;
	host = router_host_strip_port(host);
	if (likely(host.len > 0 && host.len <= ROUTER_HOST_MAX)) {
		uint32_t h = d->n_exact != 0 ? router_hash(host.p, host.len, true) : 0;

		for (uint32_t slot = h & d->exact_mask; d->exact[slot].vhost != UINT32_MAX;
		     slot = (slot + 1) & d->exact_mask) {
			const struct router_domain_ent *e = &d->exact[slot];

			if (e->hash == h && e->d.len == host.len &&
			    router_eq_fold(host.p, e->d.p, host.len))
				return &cfg->vhosts[e->vhost];
		}
		for (uint32_t i = 0; i < d->n_suffix; i++) {
			const struct router_domain_ent *e = &d->suffix[i];

			if (host.len > e->d.len &&
			    router_eq_fold(host.p + host.len - e->d.len, e->d.p, e->d.len))
				return &cfg->vhosts[e->vhost];
		}
		for (uint32_t i = 0; i < d->n_prefix; i++) {
			const struct router_domain_ent *e = &d->prefix[i];

			if (host.len > e->d.len && router_eq_fold(host.p, e->d.p, e->d.len))
				return &cfg->vhosts[e->vhost];
		}
	}
	return d->star >= 0 ? &cfg->vhosts[d->star] : NULL;
}

bool router_regex_match(const struct router_regex *re, struct router_str s,
			struct router_worker *rw)
{
	PCRE2_SPTR subject = (PCRE2_SPTR)(s.p != NULL ? s.p : "");
	int rc = re->jit ? pcre2_jit_match(re->code, subject, s.len, 0, 0, rw->md, rw->mctx)
			 : pcre2_match(re->code, subject, s.len, 0, 0, rw->md, rw->mctx);

	/* 0: matched, with an ovector too short for the groups (we want none) */
	if (rc >= 0)
		return true;
	if (unlikely(rc != PCRE2_ERROR_NOMATCH))
		return router_count(rw, STAT_ROUTER_REGEX_FAILED);
	return false;
}

static bool router_path_match(const struct router_match *m, struct router_str path,
			      struct router_worker *rw)
{
	switch (m->path_kind) {
	case ROUTER_PATH_PREFIX:
		return path.len >= m->path.len &&
		       (m->case_sensitive ? memcmp(path.p, m->path.p, m->path.len) == 0
					  : router_eq_fold2(path.p, m->path.p, m->path.len));
	case ROUTER_PATH_EXACT:
		return path.len == m->path.len &&
		       (m->case_sensitive ? memcmp(path.p, m->path.p, m->path.len) == 0
					  : router_eq_fold2(path.p, m->path.p, m->path.len));
	default:
		return router_regex_match(&m->re, path, rw);
	}
}

/* A value against an EXACT, PREFIX or REGEX condition. */
static bool router_cond_value(const struct router_cond *c, struct router_str v,
			      struct router_worker *rw)
{
	switch (c->kind) {
	case ROUTER_COND_EXACT:
		return v.len == c->value.len && memcmp(v.p, c->value.p, v.len) == 0;
	case ROUTER_COND_PREFIX:
		return v.len >= c->value.len && memcmp(v.p, c->value.p, c->value.len) == 0;
	case ROUTER_COND_REGEX:
		return router_regex_match(&c->re, v, rw);
	default:
		return true; /* PRESENT */
	}
}

static bool router_header_cond(const struct router_cond *c, const struct router_request *req,
			       struct router_worker *rw)
{
	bool found = false;

	for (uint32_t i = 0; i < req->n_headers && !found; i++) {
		const struct router_str *h = req->headers[i];

		if (h[0].len == c->name.len && router_eq_fold(h[0].p, c->name.p, c->name.len))
			found = router_cond_value(c, h[1], rw);
	}
	return found != c->invert;
}

static bool router_query_cond(const struct router_cond *c, struct router_str q,
			      struct router_worker *rw)
{
	bool found = false;
	uint32_t i = 0;

	while (i < q.len && !found) {
		uint32_t start = i, eq = UINT32_MAX;

		for (; i < q.len && q.p[i] != '&'; i++)
			if (q.p[i] == '=' && eq == UINT32_MAX)
				eq = i;
		uint32_t name_end = eq != UINT32_MAX ? eq : i;
		struct router_str v = {q.p + (eq != UINT32_MAX ? eq + 1 : i),
				       eq != UINT32_MAX ? i - eq - 1 : 0};

		if (name_end - start == c->name.len &&
		    memcmp(q.p + start, c->name.p, c->name.len) == 0)
			found = router_cond_value(c, v, rw);
		i++; /* the '&' */
	}
	return found != c->invert;
}

/* Every condition but the path's. */
static bool router_rest_matches(const struct router_match *m, const struct router_request *req,
				struct router_worker *rw)
{
	if (m->n_methods != 0) {
		uint32_t i;

		for (i = 0; i < m->n_methods; i++)
			if (req->method.len == m->methods[i].len &&
			    memcmp(req->method.p, m->methods[i].p, req->method.len) == 0)
				break;
		if (i == m->n_methods)
			return false;
	}
	for (uint32_t i = 0; i < m->n_headers; i++)
		if (!router_header_cond(&m->headers[i], req, rw))
			return false;
	for (uint32_t i = 0; i < m->n_query; i++)
		if (!router_query_cond(&m->query[i], req->query, rw))
			return false;
	return true;
}

bool router_route_match(const struct router_route *r, const struct router_request *req,
			struct router_worker *rw)
{
	return router_path_match(r->match, req->path, rw) && router_rest_matches(r->match, req, rw);
}

/* A run of route indices (ascending) whose path condition holds, or may (check). */
struct router_ix_cur {
	const uint32_t *p, *end;
	bool check_path;
};

/* The routes of @p key in table @p t (none: nothing added). */
static inline void router_ix_find(const struct router_index *ix, const struct router_ix_ent *t,
				  uint32_t mask, const char *key, uint32_t len, uint32_t h,
				  struct router_ix_cur *cur, unsigned int *n)
{
	for (uint32_t slot = h & mask; t[slot].n != 0; slot = (slot + 1) & mask) {
		if (t[slot].hash == h && t[slot].key.len == len &&
		    memcmp(t[slot].key.p, key, len) == 0) {
			cur[*n].p = ix->idx + t[slot].first;
			cur[*n].end = cur[*n].p + t[slot].n;
			cur[*n].check_path = false;
			(*n)++;
			return;
		}
	}
}

/*
 * router_select() on a virtual host with a path index: one pass of the hash
 * over the path gives the exact path's routes and each indexed prefix length's;
 * with the other routes, they are tried in document order (a merge of the
 * ascending runs), so the first match is the linear walk's.
 */
static const struct router_route *router_select_index(const struct router_vhost *vh,
						      const struct router_request *req,
						      struct router_worker *rw)
{
	const struct router_index *ix = vh->path_index;
	struct router_ix_cur cur[ROUTER_INDEX_MAX_LENS + 2];
	struct router_str path = req->path;
	uint32_t h = router_hash(NULL, 0, false), li = 0, end, maxp;
	unsigned int n = 0;

	maxp = ix->n_lens != 0 ? ix->lens[ix->n_lens - 1] : 0;
	maxp = maxp < path.len ? maxp : path.len;
	end = path.len <= ix->max_exact ? path.len : maxp;
	for (uint32_t i = 0;; i++) {
		/* h is the hash of path[0, i) */
		if (li < ix->n_lens && ix->lens[li] == i) {
			router_ix_find(ix, ix->prefix, ix->prefix_mask, path.p, i, h, cur, &n);
			li++;
		}
		if (i == end)
			break;
		h = (h ^ (uint8_t)path.p[i]) * 16777619u;
	}
	if (path.len <= ix->max_exact)
		router_ix_find(ix, ix->exact, ix->exact_mask, path.p, path.len, h, cur, &n);
	if (ix->n_other != 0)
		cur[n++] = (struct router_ix_cur){ix->other, ix->other + ix->n_other, true};
	for (;;) {
		unsigned int best = n;
		uint32_t bi = UINT32_MAX;
		const struct router_route *r;

		for (unsigned int k = 0; k < n; k++)
			if (cur[k].p < cur[k].end && *cur[k].p < bi)
				best = k, bi = *cur[k].p;
		if (best == n)
			return NULL;
		cur[best].p++;
		r = &vh->routes[bi];
		if (cur[best].check_path ? router_route_match(r, req, rw)
					 : router_rest_matches(r->match, req, rw))
			return r;
	}
}

const struct router_route *router_select(const struct cfg_snapshot *snap, uint32_t rc,
					 const struct router_request *req, struct router_worker *rw)
{
	const struct router_vhost *vh = router_vhost_select(snap, rc, req->host);

	if (unlikely(vh == NULL)) {
		router_count(rw, STAT_ROUTER_NO_VHOST);
		return NULL;
	}
	if (vh->path_index != NULL) {
		const struct router_route *r = router_select_index(vh, req, rw);

		if (r != NULL)
			return r;
	} else {
		for (uint32_t i = 0; i < vh->n_routes; i++)
			if (router_route_match(&vh->routes[i], req, rw))
				return &vh->routes[i];
	}
	router_count(rw, STAT_ROUTER_NO_ROUTE);
	return NULL;
}

struct router_worker *router_worker_create(struct stats_block *stats)
{
	struct router_worker *rw = calloc(1, sizeof(*rw));

	if (rw == NULL)
		return NULL;
	rw->stats = stats;
	/* One pair: a route needs to know whether a regex matched, not where. */
	rw->md = pcre2_match_data_create(1, NULL);
	rw->mctx = pcre2_match_context_create(NULL);
	if (rw->md == NULL || rw->mctx == NULL) {
		router_worker_free(rw);
		return NULL;
	}
	pcre2_set_match_limit(rw->mctx, ROUTER_RE_MATCH_LIMIT);
	pcre2_set_depth_limit(rw->mctx, ROUTER_RE_DEPTH_LIMIT);
	return rw;
}

void router_worker_free(struct router_worker *rw)
{
	if (rw == NULL)
		return;
	pcre2_match_data_free(rw->md);
	pcre2_match_context_free(rw->mctx);
	free(rw);
}

const struct router_cluster *router_pick_cluster(const struct router_route *r, uint32_t rnd)
{
	uint32_t x, lo = 0, hi;

	if (r->action == ROUTER_ACTION_CLUSTER)
		return &r->clusters[0];
	if (r->action != ROUTER_ACTION_WEIGHTED)
		return NULL;
	/* the first cluster whose cumulative weight exceeds x; weight-0 ones never */
	x = rnd % r->total_weight;
	hi = r->n_clusters - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (r->clusters[mid].cum > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return &r->clusters[lo];
}

/* The length of the path prefix a route's match consumed (PREFIX, EXACT). */
static uint32_t router_matched_len(const struct router_route *r, struct router_str path)
{
	return r->match->path_kind == ROUTER_PATH_PREFIX ? r->match->path.len : path.len;
}

/* @p rewrite + path after the matched part into @p buf; "/" when that is empty. */
static int router_put_rewrite(const struct router_route *r, struct router_str rewrite,
			      struct router_str path, char *buf, size_t len)
{
	uint32_t skip = router_matched_len(r, path), rest = path.len - skip;
	size_t n = (size_t)rewrite.len + rest;

	if (n == 0) {
		if (len < 1)
			return -ENOSPC;
		buf[0] = '/';
		return 1;
	}
	if (n > len)
		return -ENOSPC;
	memcpy(buf, rewrite.p, rewrite.len);
	memcpy(buf + rewrite.len, path.p + skip, rest);
	return (int)n;
}

int router_rewrite_path(const struct router_route *r, struct router_str path, char *buf, size_t len)
{
	if (r->prefix_rewrite.len == 0 || r->match->path_kind == ROUTER_PATH_REGEX)
		return 0;
	return router_put_rewrite(r, r->prefix_rewrite, path, buf, len);
}

/* Append @p n bytes of @p s at *@p o in @p buf of @p len (keeping room for the NUL). */
static bool router_put(char *buf, size_t len, size_t *o, const char *s, size_t n)
{
	if (*o + n >= len)
		return false;
	memcpy(buf + *o, s, n);
	*o += n;
	return true;
}

int router_redirect_location(const struct router_route *r, const struct router_request *req,
			     const char *scheme, char *buf, size_t len)
{
	const struct router_redirect *rd = &r->redirect;
	struct router_str host = router_host_strip_port(req->host), port = {NULL, 0};
	struct router_str sch = rd->scheme.len != 0
					? rd->scheme
					: (struct router_str){scheme, (uint32_t)strlen(scheme)};
	char pbuf[8];
	size_t o = 0;
	bool ok;

	if (r->action != ROUTER_ACTION_REDIRECT)
		return -EINVAL;
	if (rd->port != 0) {
		port.p = pbuf;
		port.len = (uint32_t)snprintf(pbuf, sizeof(pbuf), "%u", rd->port);
	} else if (host.len < req->host.len &&
		   (rd->scheme.len == 0 || strcmp(sch.p, scheme) == 0)) {
		/* the request's port, unless the scheme changes (it would be the old scheme's) */
		port.p = req->host.p + host.len + 1;
		port.len = req->host.len - host.len - 1;
	}
	if (rd->host.len != 0)
		host = rd->host;
	ok = router_put(buf, len, &o, sch.p, sch.len) && router_put(buf, len, &o, "://", 3) &&
	     router_put(buf, len, &o, host.p, host.len) &&
	     (port.len == 0 ||
	      (router_put(buf, len, &o, ":", 1) && router_put(buf, len, &o, port.p, port.len)));
	if (!ok)
		return -ENOSPC;
	if (rd->path.len != 0) {
		ok = router_put(buf, len, &o, rd->path.p, rd->path.len);
	} else if (rd->prefix_rewrite.len != 0) {
		int n = router_put_rewrite(r, rd->prefix_rewrite, req->path, buf + o,
					   len - o > 0 ? len - o - 1 : 0);

		ok = n > 0;
		o += n > 0 ? (size_t)n : 0;
	} else {
		ok = router_put(buf, len, &o, req->path.p, req->path.len);
	}
	if (ok && !rd->strip_query && req->query.len != 0)
		ok = router_put(buf, len, &o, "?", 1) &&
		     router_put(buf, len, &o, req->query.p, req->query.len);
	if (!ok || o >= len)
		return -ENOSPC;
	buf[o] = '\0';
	return (int)o;
}

const char *const router_retry_names[ROUTER_RETRY_CONDITIONS + 1] = {"5xx",
								     "gateway-error",
								     "reset",
								     "connect-failure",
								     "retriable-status-codes",
								     "cancelled",
								     "deadline-exceeded",
								     "resource-exhausted",
								     "internal",
								     "unavailable",
								     NULL};

bool router_retry_grpc(const struct router_retry *rp, unsigned int code)
{
	switch (code) {
	case 1:
		return (rp->on & ROUTER_RETRY_GRPC_CANCELLED) != 0;
	case 4:
		return (rp->on & ROUTER_RETRY_GRPC_DEADLINE_EXCEEDED) != 0;
	case 8:
		return (rp->on & ROUTER_RETRY_GRPC_RESOURCE_EXHAUSTED) != 0;
	case 13:
		return (rp->on & ROUTER_RETRY_GRPC_INTERNAL) != 0;
	case 14:
		return (rp->on & ROUTER_RETRY_GRPC_UNAVAILABLE) != 0;
	default:
		return false;
	}
}

bool router_retry_status(const struct router_retry *rp, unsigned int status)
{
	if ((rp->on & ROUTER_RETRY_5XX) && status >= 500 && status <= 599)
		return true;
	if ((rp->on & ROUTER_RETRY_GATEWAY_ERROR) && status >= 502 && status <= 504)
		return true;
	if (rp->on & ROUTER_RETRY_STATUS_CODES)
		for (uint8_t i = 0; i < rp->n_status; i++)
			if (rp->status[i] == status)
				return true;
	return false;
}

bool router_retry_on_failure(const struct router_retry *rp, bool connect)
{
	uint32_t want = ROUTER_RETRY_5XX | ROUTER_RETRY_GATEWAY_ERROR |
			(connect ? ROUTER_RETRY_CONNECT_FAILURE : ROUTER_RETRY_RESET);

	return (rp->on & want) != 0;
}

uint32_t router_retry_backoff_ms(const struct router_retry *rp, uint32_t attempt, uint32_t rnd)
{
	uint64_t cap = rp->backoff_base_ms;

	for (uint32_t i = 1; i < attempt && cap < rp->backoff_max_ms; i++)
		cap *= 2;
	if (cap > rp->backoff_max_ms)
		cap = rp->backoff_max_ms;
	return (uint32_t)(rnd % (cap + 1));
}

const char *router_action_name(unsigned int action)
{
	static const char *const names[] = {"cluster", "weighted_clusters", "redirect",
					    "direct_response"};

	return action < RTE_DIM(names) ? names[action] : "?";
}

/* ---- CORS ---- */

const struct router_cors *router_cors_policy(const struct router_route *r)
{
	if (r->cors.enabled)
		return &r->cors;
	return r->vhost->cors.enabled ? &r->vhost->cors : NULL;
}

static bool router_origin_allowed(const struct router_cors *c, struct router_str origin,
				  struct router_worker *rw)
{
	if (c->any_origin)
		return true;
	for (uint32_t i = 0; i < c->n_origins; i++) {
		const struct router_cors_origin *o = &c->origins[i];

		switch (o->kind) {
		case ROUTER_ORIGIN_EXACT:
			if (origin.len == o->text.len &&
			    router_eq_fold(origin.p, o->text.p, origin.len))
				return true;
			break;
		case ROUTER_ORIGIN_SUFFIX:
			if (origin.len >= o->text.len &&
			    router_eq_fold(origin.p + origin.len - o->text.len, o->text.p,
					   o->text.len))
				return true;
			break;
		default:
			if (router_regex_match(&o->re, origin, rw))
				return true;
			break;
		}
	}
	return false;
}

#define ROUTER_STR_LIT(s) ((struct router_str){s, (uint32_t)sizeof(s) - 1})

static inline void router_field(struct router_str f[ROUTER_CORS_FIELDS][2], uint32_t *n,
				struct router_str name, struct router_str value)
{
	f[*n][0] = name;
	f[(*n)++][1] = value;
}

enum router_cors_result router_cors(const struct router_route *r, const struct router_request *req,
				    struct router_worker *rw,
				    struct router_str fields[ROUTER_CORS_FIELDS][2],
				    uint32_t *n_fields)
{
	const struct router_cors *c = router_cors_policy(r);
	struct router_str origin = {NULL, 0};
	uint32_t n_origin = 0, n = 0;
	bool acrm = false, preflight, ok;

	*n_fields = 0;
	if (c == NULL)
		return ROUTER_CORS_NONE;
	for (uint32_t i = 0; i < req->n_headers; i++) {
		const struct router_str *h = req->headers[i];

		if (h[0].len == 6 && router_eq_fold(h[0].p, "origin", 6)) {
			origin = h[1];
			n_origin++;
		} else if (h[0].len == 29 &&
			   router_eq_fold(h[0].p, "access-control-request-method", 29)) {
			acrm = true;
		}
	}
	if (n_origin == 0)
		return ROUTER_CORS_NONE;
	preflight = acrm && req->method.len == 7 && memcmp(req->method.p, "OPTIONS", 7) == 0;
	/* two Origins: which one the browser meant is unknown, so neither is allowed */
	ok = n_origin == 1 && origin.len > 0 && origin.len <= ROUTER_CORS_ORIGIN_MAX &&
	     router_origin_allowed(c, origin, rw);
	/* the response depends on the Origin whatever the decision: caches must know */
	router_field(fields, &n, ROUTER_STR_LIT("vary"), ROUTER_STR_LIT("Origin"));
	if (ok) {
		/* "*" only without credentials (compiling refuses both), and then it
		 * is the cacheable answer */
		router_field(fields, &n, ROUTER_STR_LIT("access-control-allow-origin"),
			     c->any_origin ? ROUTER_STR_LIT("*") : origin);
		if (c->allow_credentials)
			router_field(fields, &n, ROUTER_STR_LIT("access-control-allow-credentials"),
				     ROUTER_STR_LIT("true"));
		if (preflight) {
			if (c->allow_methods.len != 0)
				router_field(fields, &n,
					     ROUTER_STR_LIT("access-control-allow-methods"),
					     c->allow_methods);
			if (c->allow_headers.len != 0)
				router_field(fields, &n,
					     ROUTER_STR_LIT("access-control-allow-headers"),
					     c->allow_headers);
			if (c->max_age.len != 0)
				router_field(fields, &n, ROUTER_STR_LIT("access-control-max-age"),
					     c->max_age);
		} else if (c->expose_headers.len != 0) {
			router_field(fields, &n, ROUTER_STR_LIT("access-control-expose-headers"),
				     c->expose_headers);
		}
	}
	*n_fields = n;
	if (rw->stats != NULL)
		stats_inc(rw->stats,
			  preflight ? (ok ? STAT_ROUTER_CORS_PREFLIGHT
					  : STAT_ROUTER_CORS_PREFLIGHT_DENIED)
				    : (ok ? STAT_ROUTER_CORS_ALLOWED : STAT_ROUTER_CORS_DENIED));
	if (preflight)
		return ok ? ROUTER_CORS_PREFLIGHT : ROUTER_CORS_PREFLIGHT_DENIED;
	return ok ? ROUTER_CORS_ALLOWED : ROUTER_CORS_DENIED;
}
