/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * authz: the decision (authz_decide(), authz_check()) on the rule sets
 * authz_config.c compiled, the denial ring to the control thread, and the
 * policies' Prometheus series. authz_internal.h says how a set is indexed.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "../l4/l4.h"
#include "../log/log.h"
#include "authz_internal.h"

#define AUTHZ_MAX_WORDS (AUTHZ_MAX_CLAUSES / 64)

/* CRC32-C over @p s, read 8 bytes at a time through memcpy (strings are not aligned). */
uint32_t authz_hash(uint8_t type, const char *s, uint32_t len)
{
	uint32_t h = 0x9e3779b9u + type, i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		h = rte_hash_crc_8byte(w, h);
	}
	for (; i < len; i++)
		h = rte_hash_crc_1byte((uint8_t)s[i], h);
	return h;
}

const char *authz_action_name(uint8_t action)
{
	static const char *const names[] = {"allow", "deny", "audit"};

	return action < RTE_DIM(names) ? names[action] : "?";
}

bool authz_pat_match(const struct authz_pat *p, const char *s, uint32_t len)
{
	switch (p->type) {
	case AUTHZ_PAT_ANY:
		return true;
	case AUTHZ_PAT_PREFIX:
		return len >= p->len && memcmp(s, p->s, p->len) == 0;
	case AUTHZ_PAT_SUFFIX:
		return len >= p->len && memcmp(s + len - p->len, p->s, p->len) == 0;
	default:
		return len == p->len && memcmp(s, p->s, len) == 0;
	}
}

/* The request's value of dimension @p dim (hosts in lower case into @p buf). */
struct authz_view {
	struct router_str v[AUTHZ_DIM_N];
	bool have[AUTHZ_DIM_N];
	char host[256], port[8];
};

static void authz_view_init(const struct authz_request *rq, struct authz_view *vw)
{
	const char *pr = rq->principal != NULL ? rq->principal : "";
	uint32_t hl;

	memset(vw->have, 0, sizeof(vw->have));
	if (pr[0] != '\0') {
		const char *p = strncmp(pr, "spiffe://", 9) == 0 ? strchr(pr + 9, '/') : NULL;

		vw->v[AUTHZ_DIM_PRINCIPAL] = (struct router_str){pr, (uint32_t)strlen(pr)};
		vw->have[AUTHZ_DIM_PRINCIPAL] = true;
		if (p != NULL && strncmp(p, "/ns/", 4) == 0) {
			p += 4;
			vw->v[AUTHZ_DIM_NAMESPACE] =
				(struct router_str){p, (uint32_t)strcspn(p, "/")};
			vw->have[AUTHZ_DIM_NAMESPACE] = vw->v[AUTHZ_DIM_NAMESPACE].len > 0;
		}
	}
	/* the port in decimal, as the config's port values are kept */
	{
		char *e = vw->port + sizeof(vw->port), *p = e;
		unsigned int v = rq->port;

		do {
			*--p = (char)('0' + v % 10);
			v /= 10;
		} while (v != 0);
		vw->v[AUTHZ_DIM_PORT] = (struct router_str){p, (uint32_t)(e - p)};
	}
	vw->have[AUTHZ_DIM_PORT] = true;
	if (rq->request_principal != NULL && rq->request_principal[0] != '\0') {
		vw->v[AUTHZ_DIM_REQ_PRINCIPAL] = (struct router_str){
			rq->request_principal, (uint32_t)strlen(rq->request_principal)};
		vw->have[AUTHZ_DIM_REQ_PRINCIPAL] = true;
	}
	if (!rq->http)
		return;
	hl = RTE_MIN(rq->host.len, (uint32_t)sizeof(vw->host));
	for (uint32_t i = hl; i > 0; i--) { /* "host:port" -> "host" ("[v6]:port" too) */
		if (rq->host.p[i - 1] == ':') {
			hl = i - 1;
			break;
		}
		if (rq->host.p[i - 1] < '0' || rq->host.p[i - 1] > '9')
			break;
	}
	for (uint32_t i = 0; i < hl; i++)
		vw->host[i] = (char)tolower((unsigned char)rq->host.p[i]);
	vw->v[AUTHZ_DIM_HOST] = (struct router_str){vw->host, hl};
	vw->v[AUTHZ_DIM_METHOD] = rq->method;
	vw->v[AUTHZ_DIM_PATH] = rq->path;
	vw->have[AUTHZ_DIM_HOST] = vw->have[AUTHZ_DIM_METHOD] = vw->have[AUTHZ_DIM_PATH] = true;
}

static bool authz_prefix_match(const struct cfg_prefix *p, uint8_t family, const uint8_t *addr)
{
	uint32_t full = p->len / 8u, rest = p->len % 8u;

	if (p->family != family)
		return false;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	return rest == 0 || ((p->addr[full] ^ addr[full]) & (0xffu << (8 - rest))) == 0;
}

static const struct authz_entry *authz_find(const struct authz_dim_index *d, uint8_t type,
					    const char *s, uint32_t len)
{
	uint32_t h = authz_hash(type, s, len);

	for (uint32_t i = h & d->mask;; i = (i + 1) & d->mask) {
		const struct authz_entry *e = &d->tab[i];

		if (e->s == NULL)
			return NULL;
		if (e->hash == h && e->type == type && e->len == len && memcmp(e->s, s, len) == 0)
			return e;
	}
}

static void authz_or_post(uint64_t *m, const uint32_t *post, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		m[post[i] / 64] |= 1ull << (post[i] % 64);
}

/* @p acc &= the clauses whose dimension @p dim condition @p v meets. */
static void authz_and_dim(const struct authz_set *set, int dim, const struct authz_view *vw,
			  uint64_t *acc, uint64_t *tmp)
{
	const struct authz_dim_index *d = &set->dims[dim];
	const struct authz_entry *e;
	const char *s = vw->v[dim].p;
	uint32_t len = vw->v[dim].len;

	memcpy(tmp, d->any, set->words * 8);
	if (vw->have[dim]) {
		if ((e = authz_find(d, AUTHZ_PAT_EXACT, s, len)) != NULL)
			authz_or_post(tmp, e->post, e->n_post);
		for (uint32_t i = 0; i < d->n_plen && d->plen[i] <= len; i++)
			if ((e = authz_find(d, AUTHZ_PAT_PREFIX, s, d->plen[i])) != NULL)
				authz_or_post(tmp, e->post, e->n_post);
		for (uint32_t i = 0; i < d->n_slen && d->slen[i] <= len; i++)
			if ((e = authz_find(d, AUTHZ_PAT_SUFFIX, s + len - d->slen[i],
					    d->slen[i])) != NULL)
				authz_or_post(tmp, e->post, e->n_post);
	}
	for (uint32_t w = 0; w < set->words; w++)
		acc[w] &= tmp[w];
}

static bool authz_header_match(const struct authz_cond *c, const struct authz_request *rq)
{
	size_t hl = strlen(c->header);

	for (uint32_t i = 0; i < rq->n_headers; i++) {
		const struct router_str *h = rq->headers[i];

		if (h[0].len != hl || strncasecmp(h[0].p, c->header, hl) != 0)
			continue;
		for (uint32_t k = 0; k < c->n_pats; k++)
			if (authz_pat_match(&c->pats[k], h[1].p, h[1].len))
				return true;
	}
	return false;
}

/* A claim of the request's verified token: any of its values (an array's elements) matches. */
static bool authz_claim_match(const struct authz_cond *c, const struct authz_request *rq)
{
	size_t nl = strlen(c->header);

	for (uint32_t i = 0; i < rq->n_claims; i++) {
		const struct router_str *cl = rq->claims[i];

		if (cl[0].len != nl || memcmp(cl[0].p, c->header, nl) != 0)
			continue;
		for (uint32_t k = 0; k < c->n_pats; k++)
			if (authz_pat_match(&c->pats[k], cl[1].p, cl[1].len))
				return true;
	}
	return false;
}

/* Does the request meet condition @p c (before its negation)? */
static bool authz_cond_hit(const struct authz_cond *c, const struct authz_request *rq,
			   const struct authz_view *vw)
{
	if (c->dim == AUTHZ_DIM_IP) {
		for (uint32_t i = 0; i < c->n_prefixes; i++)
			if (authz_prefix_match(&c->prefixes[i], rq->family, rq->addr))
				return true;
		return false;
	}
	if (c->dim == AUTHZ_DIM_HEADER)
		return authz_header_match(c, rq);
	if (c->dim == AUTHZ_DIM_CLAIM)
		return authz_claim_match(c, rq);
	if (!vw->have[c->dim])
		return false;
	for (uint32_t k = 0; k < c->n_pats; k++)
		if (authz_pat_match(&c->pats[k], vw->v[c->dim].p, vw->v[c->dim].len))
			return true;
	return false;
}

/* The candidate clause's conditions the index did not check. */
static bool authz_residual_ok(const struct authz_clause *cl, const struct authz_request *rq,
			      const struct authz_view *vw)
{
	for (uint32_t i = 0; i < cl->n_residual; i++) {
		const struct authz_cond *c = &cl->conds[cl->residual[i]];

		/* on a TCP connection HTTP fields are not there: a deny rule ignores them
		 * (it matches on the rest), an allow or audit rule does not match */
		if (!rq->http && (c->dim == AUTHZ_DIM_HOST || c->dim == AUTHZ_DIM_METHOD ||
				  c->dim == AUTHZ_DIM_PATH || c->dim == AUTHZ_DIM_HEADER))
			continue;
		if (authz_cond_hit(c, rq, vw) == c->negate)
			return false;
	}
	return true;
}

/* The first clause of @p cand & @p mask whose residual conditions hold; -1: none. */
static int64_t authz_first(const struct authz_set *set, const uint64_t *cand, const uint64_t *mask,
			   const struct authz_request *rq, const struct authz_view *vw)
{
	for (uint32_t w = 0; w < set->words; w++) {
		uint64_t bits = cand[w] & mask[w];

		while (bits != 0) {
			uint32_t c = w * 64 + (uint32_t)__builtin_ctzll(bits);

			bits &= bits - 1;
			if (authz_residual_ok(&set->clauses[c], rq, vw))
				return c;
		}
	}
	return -1;
}

/* The matching clauses, before the actions: every indexed dimension ANDed. */
static void authz_candidates(const struct authz_set *set, const struct authz_request *rq,
			     const struct authz_view *vw, uint64_t *acc, uint64_t *tmp)
{
	memset(acc, 0xff, set->words * 8);
	for (int d = 0; d < AUTHZ_DIM_N; d++) {
		if (!set->dims[d].used)
			continue;
		if (!rq->http &&
		    (d == AUTHZ_DIM_HOST || d == AUTHZ_DIM_METHOD || d == AUTHZ_DIM_PATH))
			continue; /* see authz_residual_ok(); allow clauses are masked below */
		authz_and_dim(set, d, vw, acc, tmp);
	}
	if (set->ip_used) {
		memcpy(tmp, set->ip_any, set->words * 8);
		for (uint32_t i = 0; i < set->n_ip; i++)
			if (authz_prefix_match(&set->ip[i].pfx, rq->family, rq->addr))
				authz_or_post(tmp, set->ip[i].post, set->ip[i].n_post);
		for (uint32_t w = 0; w < set->words; w++)
			acc[w] &= tmp[w];
	}
	if (!rq->http)
		for (uint32_t c = 0; c < set->n_clauses; c++)
			if (set->clauses[c].http_only && set->clauses[c].action != AUTHZ_ACT_DENY)
				acc[c / 64] &= ~(1ull << (c % 64));
}

static const struct authz_set *authz_set_of(const struct cfg_snapshot *snap, uint32_t service)
{
	const struct authz_snap *as = snap->authz;

	if (as == NULL || as->set_of == NULL || service >= snap->n_services ||
	    as->set_of[service] < 0)
		return NULL;
	return &as->sets[as->set_of[service]];
}

bool authz_active(const struct cfg_snapshot *snap, uint32_t service)
{
	return authz_set_of(snap, service) != NULL;
}

/* The decision, calling @p audit for each audit policy that matched (NULL: none). */
static void authz_run(const struct cfg_snapshot *snap, uint32_t service,
		      const struct authz_request *rq, struct authz_decision *d,
		      void (*audit)(const struct authz_policy *p, void *arg), void *arg)
{
	const struct authz_set *set = authz_set_of(snap, service);
	const struct authz_snap *as = snap->authz;
	uint64_t acc[AUTHZ_MAX_WORDS], tmp[AUTHZ_MAX_WORDS];
	struct authz_view vw;
	int64_t c;

	d->verdict = AUTHZ_ALLOW;
	d->policy = -1;
	d->n_audit = 0;
	if (set == NULL)
		return;
	authz_view_init(rq, &vw);
	authz_candidates(set, rq, &vw, acc, tmp);
	if (set->has_deny && (c = authz_first(set, acc, set->deny, rq, &vw)) >= 0) {
		d->verdict = AUTHZ_DENY;
		d->policy = (int32_t)set->clauses[c].policy;
		return;
	}
	/* each audit policy once, however many of its clauses match */
	for (uint32_t w = 0; set->has_audit && w < set->words; w++)
		tmp[w] = set->audit[w];
	while (set->has_audit && (c = authz_first(set, acc, tmp, rq, &vw)) >= 0) {
		uint32_t p = set->clauses[c].policy;

		d->n_audit++;
		if (audit != NULL)
			audit(&as->policies[p], arg);
		for (uint32_t k = (uint32_t)c; k < set->n_clauses && set->clauses[k].policy == p;
		     k++)
			tmp[k / 64] &= ~(1ull << (k % 64));
	}
	if (!set->has_allow)
		return;
	if ((c = authz_first(set, acc, set->allow, rq, &vw)) >= 0) {
		d->policy = (int32_t)set->clauses[c].policy;
		return;
	}
	d->verdict = AUTHZ_DENY;
}

void authz_decide(const struct cfg_snapshot *snap, uint32_t service, const struct authz_request *rq,
		  struct authz_decision *d)
{
	authz_run(snap, service, rq, d, NULL, NULL);
}

/* ---- counting and the denial log ---- */

static struct rte_ring *authz_ring;
static _Atomic uint64_t authz_lost;

/* A lock-free MP/SC ring of records, in plain memory (no EAL memzone: unit tests too). */
static struct rte_ring *authz_ring_get(void)
{
	struct rte_ring *r = __atomic_load_n(&authz_ring, __ATOMIC_ACQUIRE);
	ssize_t size;

	if (r != NULL)
		return r;
	size = rte_ring_get_memsize_elem(sizeof(struct authz_event), AUTHZ_LOG_RING);
	if (size < 0 ||
	    (r = aligned_alloc(RTE_CACHE_LINE_SIZE,
			       RTE_ALIGN_CEIL((size_t)size, RTE_CACHE_LINE_SIZE))) == NULL)
		return NULL;
	if (rte_ring_init(r, "authz_log", AUTHZ_LOG_RING, RING_F_SC_DEQ) != 0) {
		free(r);
		return NULL;
	}
	__atomic_store_n(&authz_ring, r, __ATOMIC_RELEASE);
	return r;
}

void authz_event_post(const struct authz_event *ev)
{
	struct rte_ring *r = __atomic_load_n(&authz_ring, __ATOMIC_ACQUIRE);

	if (r == NULL || rte_ring_mp_enqueue_elem(r, (void *)(uintptr_t)ev, sizeof(*ev)) != 0)
		atomic_fetch_add_explicit(&authz_lost, 1, memory_order_relaxed);
}

unsigned int authz_event_take(struct authz_event *out, unsigned int max)
{
	struct rte_ring *r = authz_ring_get();

	return r != NULL ? rte_ring_sc_dequeue_burst_elem(r, out, sizeof(*out), max, NULL) : 0;
}

uint64_t authz_events_lost(void)
{
	return atomic_load_explicit(&authz_lost, memory_order_relaxed);
}

/* @p src (@p len bytes, or up to its NUL when len is UINT32_MAX) into @p dst of @p size, cut. */
static void authz_copy(char *dst, size_t size, const char *src, uint32_t len)
{
	size_t n = src == NULL ? 0 : len == UINT32_MAX ? strnlen(src, size - 1) : len;

	n = RTE_MIN(n, size - 1);
	if (n != 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static void authz_event_fill(struct authz_event *ev, const struct cfg_snapshot *snap,
			     uint32_t service, const struct authz_request *rq,
			     const struct authz_policy *p)
{
	ev->action = p != NULL ? p->action : AUTHZ_ACT_ALLOW;
	ev->family = rq->family;
	ev->port = rq->port;
	memset(ev->addr, 0, sizeof(ev->addr));
	if (rq->addr != NULL)
		memcpy(ev->addr, rq->addr, rq->family == 6 ? 16 : 4);
	authz_copy(ev->policy, sizeof(ev->policy), p != NULL ? p->key : NULL, UINT32_MAX);
	authz_copy(ev->service, sizeof(ev->service), snap->services[service].key, UINT32_MAX);
	authz_copy(ev->principal, sizeof(ev->principal), rq->principal, UINT32_MAX);
	authz_copy(ev->method, sizeof(ev->method), rq->http ? rq->method.p : NULL, rq->method.len);
	authz_copy(ev->path, sizeof(ev->path), rq->http ? rq->path.p : NULL, rq->path.len);
}

struct authz_audit_arg {
	const struct cfg_snapshot *snap;
	uint32_t service;
	const struct authz_request *rq;
};

static void authz_audit_hit(const struct authz_policy *p, void *arg)
{
	const struct authz_audit_arg *a = arg;
	struct authz_event ev;

	atomic_fetch_add_explicit(&p->rt->audited, 1, memory_order_relaxed);
	authz_event_fill(&ev, a->snap, a->service, a->rq, p);
	authz_event_post(&ev);
}

bool authz_check(const struct cfg_snapshot *snap, uint32_t service, const struct authz_request *rq,
		 struct stats_block *stats)
{
	struct authz_audit_arg a = {snap, service, rq};
	const struct authz_policy *p;
	struct authz_decision d;
	struct authz_event ev;

	if (!authz_active(snap, service))
		return true;
	authz_run(snap, service, rq, &d, authz_audit_hit, &a);
	if (d.n_audit != 0)
		stats_add(stats, STAT_AUTHZ_AUDITED, d.n_audit);
	p = d.policy >= 0 ? &((const struct authz_snap *)snap->authz)->policies[d.policy] : NULL;
	if (d.verdict == AUTHZ_ALLOW) {
		stats_inc(stats, STAT_AUTHZ_ALLOWED);
		if (p != NULL)
			atomic_fetch_add_explicit(&p->rt->allowed, 1, memory_order_relaxed);
		return true;
	}
	if (p != NULL) {
		stats_inc(stats, STAT_AUTHZ_DENIED_POLICY);
		atomic_fetch_add_explicit(&p->rt->denied, 1, memory_order_relaxed);
	} else {
		stats_inc(stats, STAT_AUTHZ_DENIED_NO_ALLOW);
	}
	authz_event_fill(&ev, snap, service, rq, p);
	authz_event_post(&ev);
	return false;
}

void authz_ring_init(void)
{
	authz_ring_get();
}

void authz_render_metrics(const struct cfg_snapshot *snap, struct log_buf *b)
{
	static const char *const results[] = {"allowed", "denied", "audited"};
	const struct authz_snap *as = snap != NULL ? snap->authz : NULL;

	log_buf_printf(b, "# HELP meshdp_authz_policy_requests_total Requests (HTTP) and "
			  "connections (TCP) an authorization policy decided or audited\n"
			  "# TYPE meshdp_authz_policy_requests_total counter\n");
	for (uint32_t i = 0; as != NULL && i < as->n_policies; i++) {
		const struct authz_policy *p = &as->policies[i];
		uint64_t v[3] = {
			atomic_load_explicit(&p->rt->allowed, memory_order_relaxed),
			atomic_load_explicit(&p->rt->denied, memory_order_relaxed),
			atomic_load_explicit(&p->rt->audited, memory_order_relaxed),
		};

		for (int k = 0; k < 3; k++)
			log_buf_printf(b,
				       "meshdp_authz_policy_requests_total{policy=\"%s\","
				       "action=\"%s\",result=\"%s\"} %" PRIu64 "\n",
				       p->key, authz_action_name(p->action), results[k], v[k]);
	}
}
