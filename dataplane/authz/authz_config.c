/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * authz: the config section ($.peer_authentication, $.authorization) and its
 * compiler (authz_internal.h has the compiled form). docs/CONFIG.md ("Peer
 * authentication and authorization") is the schema. Control thread only.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "../config/config_json.h"
#include "../l4/l4.h"
#include "../secrets/secrets.h"
#include "../tls/tls.h"
#include "authz_internal.h"

static const char *const authz_actions[] = {"allow", "deny", "audit", NULL};
static const char *const authz_modes[] = {"strict", "permissive", "disable", NULL};

/* Node-wide per-policy counters by key: created at compile, never freed (a
 * worker may hold one across swaps), so a policy's counts survive them. */
static struct authz_policy_rt *authz_rt_list;

static struct authz_policy_rt *authz_rt_get(const char *key)
{
	struct authz_policy_rt *rt;

	for (rt = authz_rt_list; rt != NULL; rt = rt->next)
		if (strcmp(rt->key, key) == 0)
			return rt;
	rt = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(sizeof(*rt), RTE_CACHE_LINE_SIZE));
	if (rt == NULL)
		return NULL;
	memset(rt, 0, sizeof(*rt));
	snprintf(rt->key, sizeof(rt->key), "%s", key);
	rt->next = authz_rt_list;
	authz_rt_list = rt;
	return rt;
}

/* ---- compile-time memory: everything of a snapshot's part in one arena ---- */

struct authz_chunk {
	struct authz_chunk *next;
	size_t used, cap;
	char mem[];
};

/* The arena hangs off the authz_snap (its first member would break the layout: keep it apart). */
struct authz_snap_full {
	struct authz_snap as;
	struct authz_chunk *chunks;
};

static void *authz_alloc(struct authz_snap_full *f, size_t size)
{
	struct authz_chunk *c = f->chunks;

	size = RTE_ALIGN_CEIL(size, 16);
	if (c == NULL || c->cap - c->used < size) {
		size_t cap = size > 65536 ? size : 65536;

		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = f->chunks;
		f->chunks = c;
	}
	c->used += size;
	return memset(c->mem + c->used - size, 0, size);
}

static char *authz_strdup(struct authz_snap_full *f, const char *s, size_t len)
{
	char *d = authz_alloc(f, len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* ---- values ---- */

/* "*", "abc*", "*abc" or "abc"; '*' nowhere else. Hosts in lower case. */
static int authz_parse_pat(struct authz_snap_full *f, const json_t *v, const char *path, bool lower,
			   struct authz_pat *p, struct cfg_error *err)
{
	const char *s;
	size_t len;

	if (!json_is_string(v) || (len = json_string_length(v)) == 0 || len >= AUTHZ_VALUE_MAX)
		return cfg_fail_got(err, path, "a string of 1..255 bytes", v);
	s = json_string_value(v);
	if (strcmp(s, "*") == 0) {
		p->type = AUTHZ_PAT_ANY;
		p->s = "";
		return 0;
	}
	p->type = AUTHZ_PAT_EXACT;
	if (s[0] == '*') {
		p->type = AUTHZ_PAT_SUFFIX;
		s++;
		len--;
	} else if (s[len - 1] == '*') {
		p->type = AUTHZ_PAT_PREFIX;
		len--;
	}
	if (memchr(s, '*', len) != NULL)
		return cfg_fail_got(err, path,
				    "an exact value, a prefix (\"abc*\"), a suffix (\"*abc\") or "
				    "\"*\" ('*' only first or last)",
				    v);
	if ((p->s = authz_strdup(f, s, len)) == NULL)
		return -ENOMEM;
	p->len = (uint32_t)len;
	for (uint32_t i = 0; lower && i < p->len; i++)
		p->s[i] = (char)tolower((unsigned char)p->s[i]);
	return 0;
}

static int authz_parse_port(struct authz_snap_full *f, const json_t *v, const char *path,
			    struct authz_pat *p, struct cfg_error *err)
{
	char buf[8];
	long n;
	char *end = NULL;

	if (json_is_integer(v))
		n = (long)json_integer_value(v);
	else if (json_is_string(v))
		n = strtol(json_string_value(v), &end, 10);
	else
		n = -1;
	if (n < 1 || n > 65535 || (end != NULL && *end != '\0'))
		return cfg_fail_got(err, path, CFG_PORT_EXPECTED, v);
	snprintf(buf, sizeof(buf), "%ld", n);
	p->type = AUTHZ_PAT_EXACT;
	p->len = (uint32_t)strlen(buf);
	return (p->s = authz_strdup(f, buf, p->len)) == NULL ? -ENOMEM : 0;
}

static int authz_parse_block(const json_t *v, const char *path, struct cfg_prefix *out,
			     struct cfg_error *err)
{
	const char *s = json_string_value(v);

	if (s != NULL && strchr(s, '/') == NULL) {
		memset(out, 0, sizeof(*out));
		if (inet_pton(AF_INET, s, out->addr) == 1) {
			out->family = 4;
			out->len = 32;
			return 0;
		}
		if (inet_pton(AF_INET6, s, out->addr) == 1) {
			out->family = 6;
			out->len = 128;
			return 0;
		}
		return cfg_fail_got(err, path, "an address or a prefix (a.b.c.d[/len], x::x[/len])",
				    v);
	}
	return cfg_parse_cidr(v, path, out, err);
}

/* Member @p key of @p o (an array of values) as a condition of dimension @p dim. */
static int authz_parse_cond(struct authz_snap_full *f, const json_t *o, const char *key,
			    const char *path, uint8_t dim, bool negate, struct authz_cond *c,
			    bool *present, struct cfg_error *err)
{
	char ip[CFG_JPATH_LEN], kp[CFG_JPATH_LEN];
	json_t *arr;
	int rc;

	*present = false;
	if ((rc = cfg_get_array(o, key, path, 1, AUTHZ_MAX_VALUES, false, "values", &arr, err)) !=
		    0 ||
	    arr == NULL)
		return rc;
	*present = true;
	memset(c, 0, sizeof(*c));
	c->dim = dim;
	c->negate = negate;
	cfg_path_key(kp, path, key);
	if (dim == AUTHZ_DIM_IP) {
		c->prefixes = authz_alloc(f, json_array_size(arr) * sizeof(*c->prefixes));
		if (c->prefixes == NULL)
			return -ENOMEM;
	} else if ((c->pats = authz_alloc(f, json_array_size(arr) * sizeof(*c->pats))) == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);

		cfg_path_index(ip, kp, i);
		if (dim == AUTHZ_DIM_IP)
			rc = authz_parse_block(v, ip, &c->prefixes[c->n_prefixes++], err);
		else if (dim == AUTHZ_DIM_PORT)
			rc = authz_parse_port(f, v, ip, &c->pats[c->n_pats++], err);
		else
			rc = authz_parse_pat(f, v, ip, dim == AUTHZ_DIM_HOST, &c->pats[c->n_pats++],
					     err);
		if (rc != 0)
			return rc;
		/* a request principal "*" is any verified token, not any request: the
		 * empty prefix, which only a request with a principal meets */
		if ((dim == AUTHZ_DIM_REQ_PRINCIPAL || dim == AUTHZ_DIM_CLAIM) &&
		    c->pats[c->n_pats - 1].type == AUTHZ_PAT_ANY)
			c->pats[c->n_pats - 1].type = AUTHZ_PAT_PREFIX;
	}
	return 0;
}

/* A list of conditions being built for one side (source, operation, when). */
struct authz_conds {
	uint32_t n;
	struct authz_cond c[24];
};

struct authz_field {
	const char *key;
	uint8_t dim;
	bool negate;
};

static int authz_parse_fields(struct authz_snap_full *f, const json_t *o, const char *path,
			      const struct authz_field *fields, size_t n_fields,
			      struct authz_conds *out, struct cfg_error *err)
{
	for (size_t i = 0; i < n_fields; i++) {
		bool present;
		int rc = authz_parse_cond(f, o, fields[i].key, path, fields[i].dim,
					  fields[i].negate, &out->c[out->n], &present, err);

		if (rc != 0)
			return rc;
		out->n += present;
	}
	return 0;
}

static int authz_parse_source(struct authz_snap_full *f, const json_t *from, const char *path,
			      struct authz_conds *out, struct cfg_error *err)
{
	static const char *const keys[] = {"source", NULL};
	static const char *const skeys[] = {
		"principals", "not_principals", "namespaces",	      "not_namespaces",
		"ip_blocks",  "not_ip_blocks",	"request_principals", "not_request_principals",
		NULL};
	static const struct authz_field fields[] = {
		{"principals", AUTHZ_DIM_PRINCIPAL, false},
		{"not_principals", AUTHZ_DIM_PRINCIPAL, true},
		{"namespaces", AUTHZ_DIM_NAMESPACE, false},
		{"not_namespaces", AUTHZ_DIM_NAMESPACE, true},
		{"ip_blocks", AUTHZ_DIM_IP, false},
		{"not_ip_blocks", AUTHZ_DIM_IP, true},
		{"request_principals", AUTHZ_DIM_REQ_PRINCIPAL, false},
		{"not_request_principals", AUTHZ_DIM_REQ_PRINCIPAL, true},
	};
	char sp[CFG_JPATH_LEN];
	json_t *src;
	int rc;

	if ((rc = cfg_check_keys(from, path, keys, err)) != 0)
		return rc;
	cfg_path_key(sp, path, "source");
	src = json_object_get(from, "source");
	if (!json_is_object(src))
		return cfg_fail_got(err, sp, "an object", src);
	if ((rc = cfg_check_keys(src, sp, skeys, err)) != 0)
		return rc;
	return authz_parse_fields(f, src, sp, fields, RTE_DIM(fields), out, err);
}

static int authz_parse_operation(struct authz_snap_full *f, const json_t *to, const char *path,
				 struct authz_conds *out, struct cfg_error *err)
{
	static const char *const keys[] = {"operation", NULL};
	static const char *const okeys[] = {"hosts",	 "not_hosts", "ports",
					    "not_ports", "methods",   "not_methods",
					    "paths",	 "not_paths", NULL};
	static const struct authz_field fields[] = {
		{"hosts", AUTHZ_DIM_HOST, false},     {"not_hosts", AUTHZ_DIM_HOST, true},
		{"ports", AUTHZ_DIM_PORT, false},     {"not_ports", AUTHZ_DIM_PORT, true},
		{"methods", AUTHZ_DIM_METHOD, false}, {"not_methods", AUTHZ_DIM_METHOD, true},
		{"paths", AUTHZ_DIM_PATH, false},     {"not_paths", AUTHZ_DIM_PATH, true},
	};
	char op[CFG_JPATH_LEN];
	json_t *o;
	int rc;

	if ((rc = cfg_check_keys(to, path, keys, err)) != 0)
		return rc;
	cfg_path_key(op, path, "operation");
	o = json_object_get(to, "operation");
	if (!json_is_object(o))
		return cfg_fail_got(err, op, "an object", o);
	if ((rc = cfg_check_keys(o, op, okeys, err)) != 0)
		return rc;
	return authz_parse_fields(f, o, op, fields, RTE_DIM(fields), out, err);
}

/* when: [{"key": K, "values": [...], "not_values": [...]}] */
static int authz_parse_when(struct authz_snap_full *f, const json_t *rule, const char *path,
			    struct authz_conds *out, struct cfg_error *err)
{
	static const char *const keys[] = {"key", "values", "not_values", NULL};
	static const struct {
		const char *key;
		uint8_t dim;
	} simple[] = {
		{"source.principal", AUTHZ_DIM_PRINCIPAL},
		{"source.namespace", AUTHZ_DIM_NAMESPACE},
		{"source.ip", AUTHZ_DIM_IP},
		{"destination.port", AUTHZ_DIM_PORT},
		{"request.auth.principal", AUTHZ_DIM_REQ_PRINCIPAL},
	};
	/* request.auth.audiences / presenter: the claims aud / azp, as Istio's */
	static const struct {
		const char *key, *claim;
	} claims[] = {{"request.auth.audiences", "aud"}, {"request.auth.presenter", "azp"}};
	char ip[CFG_JPATH_LEN], kp[CFG_JPATH_LEN], key[128];
	json_t *arr, *o;
	int rc;

	if ((rc = cfg_get_array(rule, "when", path, 1, 8, false, "conditions", &arr, err)) != 0 ||
	    arr == NULL)
		return rc;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		uint8_t dim = AUTHZ_DIM_HEADER;
		const char *k = NULL;
		bool present[2];
		size_t hl = 0;

		cfg_path_key(kp, path, "when");
		if ((rc = cfg_get_item(arr, i, kp, "a condition object", keys, &o, ip, err)) != 0 ||
		    (rc = cfg_get_str(o, "key", ip, key, sizeof(key), "", NULL, err)) != 0)
			return rc;
		cfg_path_key(kp, ip, "key");
		if (key[0] == '\0')
			return cfg_fail(err, kp, "required: the attribute the condition tests");
		for (size_t j = 0; j < RTE_DIM(simple); j++)
			if (strcmp(key, simple[j].key) == 0)
				dim = simple[j].dim;
		for (size_t j = 0; j < RTE_DIM(claims); j++)
			if (strcmp(key, claims[j].key) == 0) {
				dim = AUTHZ_DIM_CLAIM;
				k = claims[j].claim;
				hl = strlen(k);
			}
		if (dim == AUTHZ_DIM_HEADER && strncmp(key, "request.auth.claims[", 20) == 0) {
			dim = AUTHZ_DIM_CLAIM;
			k = key + 20;
			hl = strlen(key) > 21 ? strlen(key) - 21 : 0;
			if (hl == 0 || hl >= 64 || key[strlen(key) - 1] != ']' ||
			    memchr(k, '[', hl) != NULL)
				return cfg_fail(
					err, kp,
					"expected \"request.auth.claims[NAME]\" (a top-level "
					"claim of 1..63 bytes), got \"%s\"",
					key);
		}
		if (dim == AUTHZ_DIM_HEADER) {
			k = key + 16;
			hl = strlen(key) > 17 ? strlen(key) - 17 : 0;
			if (strncmp(key, "request.headers[", 16) != 0 || hl == 0 || hl >= 64 ||
			    key[strlen(key) - 1] != ']')
				return cfg_fail(err, kp,
						"expected \"request.headers[NAME]\", "
						"\"source.principal\", \"source.namespace\", "
						"\"source.ip\", \"destination.port\", "
						"\"request.auth.principal\", "
						"\"request.auth.audiences\", "
						"\"request.auth.presenter\" or "
						"\"request.auth.claims[NAME]\", got \"%s\"",
						key);
		}
		if (out->n + 2 > RTE_DIM(out->c))
			return cfg_fail(err, ip, "too many conditions in one rule (at most %zu)",
					RTE_DIM(out->c));
		for (int neg = 0; neg < 2; neg++) {
			struct authz_cond *c = &out->c[out->n];

			if ((rc = authz_parse_cond(f, o, neg ? "not_values" : "values", ip, dim,
						   neg != 0, c, &present[neg], err)) != 0)
				return rc;
			if (present[neg] && dim == AUTHZ_DIM_HEADER) {
				for (size_t b = 0; b < hl; b++)
					c->header[b] = (char)tolower((unsigned char)k[b]);
				c->header[hl] = '\0';
			} else if (present[neg] && dim == AUTHZ_DIM_CLAIM) {
				memcpy(c->header, k, hl); /* claim names are case-sensitive */
				c->header[hl] = '\0';
			}
			out->n += present[neg];
		}
		if (!present[0] && !present[1])
			return cfg_fail(err, ip, "required: \"values\" or \"not_values\"");
	}
	return 0;
}

/* A policy's clauses, before they are copied into the rule sets that apply. */
struct authz_pclauses {
	uint32_t n;
	struct authz_clause *c;
};

static int authz_clause_make(struct authz_snap_full *f, uint32_t policy, uint8_t action,
			     const struct authz_conds *const parts[3], struct authz_clause *cl)
{
	uint32_t n = parts[0]->n + parts[1]->n + parts[2]->n;

	cl->policy = policy;
	cl->action = action;
	cl->conds = authz_alloc(f, (n ? n : 1) * sizeof(*cl->conds));
	if (cl->conds == NULL)
		return -ENOMEM;
	for (int p = 0; p < 3; p++)
		for (uint32_t i = 0; i < parts[p]->n; i++) {
			const struct authz_cond *c = &parts[p]->c[i];

			cl->conds[cl->n_conds++] = *c;
			if (c->dim == AUTHZ_DIM_HOST || c->dim == AUTHZ_DIM_METHOD ||
			    c->dim == AUTHZ_DIM_PATH || c->dim == AUTHZ_DIM_HEADER)
				cl->http_only = true;
		}
	return 0;
}

static int authz_parse_rules(struct authz_snap_full *f, const json_t *pol, const char *path,
			     uint32_t policy, uint8_t action, struct authz_pclauses *pc,
			     uint32_t *n_rules, struct cfg_error *err)
{
	static const char *const rkeys[] = {"from", "to", "when", NULL};
	struct authz_conds *src = NULL, *ops = NULL, when, none = {0};
	char rp[CFG_JPATH_LEN], ep[CFG_JPATH_LEN], fp[CFG_JPATH_LEN];
	json_t *rules, *rule, *froms, *tos;
	uint32_t cap = 0;
	int rc;

	if ((rc = cfg_get_array(pol, "rules", path, 0, AUTHZ_MAX_RULES, false, "rules", &rules,
				err)) != 0)
		return rc;
	*n_rules = rules != NULL ? (uint32_t)json_array_size(rules) : 0;
	src = calloc(16, sizeof(*src));
	ops = calloc(16, sizeof(*ops));
	if (src == NULL || ops == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t r = 0; r < *n_rules; r++) {
		size_t nf, nt;

		cfg_path_key(fp, path, "rules");
		if ((rc = cfg_get_item(rules, r, fp, "a rule object", rkeys, &rule, rp, err)) !=
			    0 ||
		    (rc = cfg_get_array(rule, "from", rp, 1, 16, false, "sources", &froms, err)) !=
			    0 ||
		    (rc = cfg_get_array(rule, "to", rp, 1, 16, false, "operations", &tos, err)) !=
			    0)
			goto out;
		nf = froms != NULL ? json_array_size(froms) : 0;
		nt = tos != NULL ? json_array_size(tos) : 0;
		cfg_path_key(fp, rp, "from");
		for (size_t i = 0; i < nf; i++) {
			src[i].n = 0;
			cfg_path_index(ep, fp, i);
			if (!json_is_object(json_array_get(froms, i))) {
				rc = cfg_fail_got(err, ep, "an object {\"source\": {...}}",
						  json_array_get(froms, i));
				goto out;
			}
			if ((rc = authz_parse_source(f, json_array_get(froms, i), ep, &src[i],
						     err)) != 0)
				goto out;
		}
		cfg_path_key(fp, rp, "to");
		for (size_t i = 0; i < nt; i++) {
			ops[i].n = 0;
			cfg_path_index(ep, fp, i);
			if (!json_is_object(json_array_get(tos, i))) {
				rc = cfg_fail_got(err, ep, "an object {\"operation\": {...}}",
						  json_array_get(tos, i));
				goto out;
			}
			if ((rc = authz_parse_operation(f, json_array_get(tos, i), ep, &ops[i],
							err)) != 0)
				goto out;
		}
		when.n = 0;
		if ((rc = authz_parse_when(f, rule, rp, &when, err)) != 0)
			goto out;
		for (size_t i = 0; i < (nf ? nf : 1); i++)
			for (size_t j = 0; j < (nt ? nt : 1); j++) {
				const struct authz_conds *parts[3] = {nf ? &src[i] : &none,
								      nt ? &ops[j] : &none, &when};

				if (pc->n == AUTHZ_MAX_CLAUSES) {
					rc = cfg_fail(err, rp,
						      "the policy's rules make more than %u "
						      "clauses (one per from x to entry)",
						      AUTHZ_MAX_CLAUSES);
					goto out;
				}
				if (pc->n == cap) {
					struct authz_clause *nc;

					cap = cap ? 2 * cap : 4;
					nc = authz_alloc(f, cap * sizeof(*nc));
					if (nc == NULL) {
						rc = -ENOMEM;
						goto out;
					}
					if (pc->n)
						memcpy(nc, pc->c, pc->n * sizeof(*nc));
					pc->c = nc;
				}
				if ((rc = authz_clause_make(f, policy, action, parts,
							    &pc->c[pc->n])) != 0)
					goto out;
				pc->n++;
			}
	}
	rc = 0;
out:
	free(src);
	free(ops);
	return rc;
}

/* ---- rule sets ---- */

static int authz_post_add(uint32_t **post, uint32_t *n, uint32_t *cap, uint32_t clause)
{
	if (*n > 0 && (*post)[*n - 1] == clause)
		return 0; /* two values of one clause in one entry */
	if (*n == *cap) {
		uint32_t c = *cap ? 2 * *cap : 4;
		uint32_t *p = realloc(*post, c * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		*post = p;
		*cap = c;
	}
	(*post)[(*n)++] = clause;
	return 0;
}

static int authz_len_add(uint32_t **lens, uint32_t *n, uint32_t len)
{
	uint32_t *l;
	uint32_t i;

	for (i = 0; i < *n; i++)
		if ((*lens)[i] == len)
			return 0;
	if ((l = realloc(*lens, (*n + 1) * sizeof(*l))) == NULL)
		return -ENOMEM;
	*lens = l;
	for (i = *n; i > 0 && l[i - 1] > len; i--)
		l[i] = l[i - 1];
	l[i] = len;
	(*n)++;
	return 0;
}

static int authz_index_add(struct authz_dim_index *d, const struct authz_pat *p, uint32_t clause)
{
	uint32_t h = authz_hash(p->type, p->s, p->len), i;
	struct authz_entry *e;

	for (i = h & d->mask;; i = (i + 1) & d->mask) {
		e = &d->tab[i];
		if (e->s == NULL)
			break;
		if (e->hash == h && e->type == p->type && e->len == p->len &&
		    memcmp(e->s, p->s, p->len) == 0)
			return authz_post_add(&e->post, &e->n_post, &e->cap_post, clause);
	}
	e->hash = h;
	e->type = p->type;
	e->len = p->len;
	e->s = p->s;
	d->n++;
	if (p->type == AUTHZ_PAT_PREFIX && authz_len_add(&d->plen, &d->n_plen, p->len) != 0)
		return -ENOMEM;
	if (p->type == AUTHZ_PAT_SUFFIX && authz_len_add(&d->slen, &d->n_slen, p->len) != 0)
		return -ENOMEM;
	return authz_post_add(&e->post, &e->n_post, &e->cap_post, clause);
}

static int authz_ip_add(struct authz_set *set, const struct cfg_prefix *pfx, uint32_t clause)
{
	struct authz_ip_entry *e;

	for (uint32_t i = 0; i < set->n_ip; i++)
		if (memcmp(&set->ip[i].pfx, pfx, sizeof(*pfx)) == 0)
			return authz_post_add(&set->ip[i].post, &set->ip[i].n_post,
					      &set->ip[i].cap_post, clause);
	if ((e = realloc(set->ip, (set->n_ip + 1) * sizeof(*e))) == NULL)
		return -ENOMEM;
	set->ip = e;
	e = &set->ip[set->n_ip++];
	memset(e, 0, sizeof(*e));
	e->pfx = *pfx;
	return authz_post_add(&e->post, &e->n_post, &e->cap_post, clause);
}

static void authz_set_bit(uint64_t *b, uint32_t i)
{
	b[i / 64] |= 1ull << (i % 64);
}

/* Index the clauses of @p set (copied in already). */
static int authz_set_index(struct authz_snap_full *f, struct authz_set *set)
{
	uint32_t w = set->words, bound[AUTHZ_DIM_N] = {0};
	int rc;

	set->deny = authz_alloc(f, w * 8);
	set->allow = authz_alloc(f, w * 8);
	set->audit = authz_alloc(f, w * 8);
	set->ip_any = authz_alloc(f, w * 8);
	if (set->deny == NULL || set->allow == NULL || set->audit == NULL || set->ip_any == NULL)
		return -ENOMEM;
	for (uint32_t c = 0; c < set->n_clauses; c++)
		for (uint32_t k = 0; k < set->clauses[c].n_conds; k++) {
			const struct authz_cond *cd = &set->clauses[c].conds[k];

			if (cd->dim < AUTHZ_DIM_N && !cd->negate)
				bound[cd->dim] += cd->n_pats;
		}
	for (int d = 0; d < AUTHZ_DIM_N; d++) {
		uint32_t size = 16;

		while (size < 2 * bound[d])
			size *= 2;
		set->dims[d].any = authz_alloc(f, w * 8);
		set->dims[d].tab = calloc(size, sizeof(struct authz_entry));
		if (set->dims[d].any == NULL || set->dims[d].tab == NULL)
			return -ENOMEM;
		set->dims[d].mask = size - 1;
	}
	for (uint32_t c = 0; c < set->n_clauses; c++) {
		struct authz_clause *cl = &set->clauses[c];
		bool indexed[AUTHZ_DIM_N + 1] = {false};

		set->has_deny |= cl->action == AUTHZ_ACT_DENY;
		set->has_audit |= cl->action == AUTHZ_ACT_AUDIT;
		authz_set_bit(cl->action == AUTHZ_ACT_DENY    ? set->deny
			      : cl->action == AUTHZ_ACT_ALLOW ? set->allow
							      : set->audit,
			      c);
		cl->residual = authz_alloc(f, (cl->n_conds ? cl->n_conds : 1) * sizeof(uint32_t));
		if (cl->residual == NULL)
			return -ENOMEM;
		cl->n_residual = 0;
		for (uint32_t k = 0; k < cl->n_conds; k++) {
			const struct authz_cond *cd = &cl->conds[k];

			if (cd->negate || cd->dim > AUTHZ_DIM_IP || indexed[cd->dim]) {
				cl->residual[cl->n_residual++] = k;
				continue;
			}
			indexed[cd->dim] = true;
			if (cd->dim == AUTHZ_DIM_IP) {
				set->ip_used = true;
				for (uint32_t i = 0; i < cd->n_prefixes; i++)
					if ((rc = authz_ip_add(set, &cd->prefixes[i], c)) != 0)
						return rc;
				continue;
			}
			set->dims[cd->dim].used = true;
			for (uint32_t i = 0; i < cd->n_pats; i++) {
				if (cd->pats[i].type == AUTHZ_PAT_ANY) {
					authz_set_bit(set->dims[cd->dim].any, c);
					continue;
				}
				if ((rc = authz_index_add(&set->dims[cd->dim], &cd->pats[i], c)) !=
				    0)
					return rc;
			}
		}
		for (int d = 0; d < AUTHZ_DIM_N; d++)
			if (!indexed[d])
				authz_set_bit(set->dims[d].any, c);
		if (!indexed[AUTHZ_DIM_IP])
			authz_set_bit(set->ip_any, c);
	}
	return 0;
}

static void authz_set_free(struct authz_set *set)
{
	for (int d = 0; d < AUTHZ_DIM_N; d++) {
		struct authz_dim_index *di = &set->dims[d];

		for (uint32_t i = 0; di->tab != NULL && i <= di->mask; i++)
			free(di->tab[i].post);
		free(di->tab);
		free(di->plen);
		free(di->slen);
	}
	for (uint32_t i = 0; i < set->n_ip; i++)
		free(set->ip[i].post);
	free(set->ip);
}

/* ---- scopes (shared with dataplane/jwt through authz.h) ---- */

int authz_scope_parse(const json_t *o, const char *path, const struct cfg_snapshot *snap,
		      struct authz_scope_sel *p, struct cfg_error *err)
{
	static const char *const sel_keys[] = {"service", NULL};
	char sp[CFG_JPATH_LEN], kp[CFG_JPATH_LEN];
	json_t *sel;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = cfg_get_name(o, "name", path, p->name, NULL, true, err)) != 0 ||
	    (rc = cfg_get_name(o, "namespace", path, p->ns, "", false, err)) != 0 ||
	    (rc = cfg_get_section(o, "selector", path, &sel, err)) != 0)
		return rc;
	p->scope = p->ns[0] != '\0' ? AUTHZ_SCOPE_NAMESPACE : AUTHZ_SCOPE_MESH;
	snprintf(p->key, sizeof(p->key), "%s/%s", p->ns[0] ? p->ns : "mesh", p->name);
	if (sel == NULL)
		return 0;
	cfg_path_key(sp, path, "selector");
	if ((rc = cfg_check_keys(sel, sp, sel_keys, err)) != 0 ||
	    (rc = cfg_get_name(sel, "service", sp, p->service, NULL, true, err)) != 0)
		return rc;
	if (p->ns[0] == '\0')
		return cfg_fail(err, sp,
				"a selector needs the policy's \"namespace\" (the service's)");
	for (uint32_t s = 0; s < snap->n_services; s++)
		if (strcmp(snap->services[s].ns, p->ns) == 0 &&
		    strcmp(snap->services[s].name, p->service) == 0) {
			p->scope = AUTHZ_SCOPE_SERVICE;
			return 0;
		}
	cfg_path_key(kp, sp, "service");
	return cfg_fail(err, kp, "no service \"%s\" in namespace \"%s\"", p->service, p->ns);
}

static bool authz_sel_applies(uint8_t scope, const char *ns, const char *service,
			      const struct l4_service *s)
{
	return scope == AUTHZ_SCOPE_MESH ||
	       (strcmp(ns, s->ns) == 0 &&
		(scope == AUTHZ_SCOPE_NAMESPACE || strcmp(service, s->name) == 0));
}

bool authz_scope_applies(const struct authz_scope_sel *sel, const struct cfg_snapshot *snap,
			 uint32_t service)
{
	return service < snap->n_services &&
	       authz_sel_applies(sel->scope, sel->ns, sel->service, &snap->services[service]);
}

static bool authz_applies(const struct authz_policy *p, const struct l4_service *s)
{
	return authz_sel_applies(p->scope, p->ns, p->service, s);
}

/* Per service: the set of the most specific scope that has a policy (sets are shared). */
static int authz_build_sets(struct authz_snap_full *f, const struct cfg_snapshot *snap,
			    const struct authz_pclauses *pc)
{
	struct authz_snap *as = &f->as;
	char(*keys)[L4_KEY_MAX + 8];
	int rc = 0;

	as->set_of = authz_alloc(f, (snap->n_services ? snap->n_services : 1) * sizeof(int32_t));
	as->sets = authz_alloc(f, (snap->n_services ? snap->n_services : 1) * sizeof(*as->sets));
	keys = calloc(snap->n_services ? snap->n_services : 1, sizeof(*keys));
	if (as->set_of == NULL || as->sets == NULL || keys == NULL) {
		free(keys);
		return -ENOMEM;
	}
	for (uint32_t s = 0; s < snap->n_services; s++) {
		const struct l4_service *svc = &snap->services[s];
		uint8_t best = 0;
		bool any = false;
		char key[L4_KEY_MAX + 8];
		struct authz_set *set;
		uint32_t n = 0;

		as->set_of[s] = -1;
		for (uint32_t p = 0; p < as->n_policies; p++)
			if (authz_applies(&as->policies[p], svc)) {
				any = true;
				best = RTE_MAX(best, as->policies[p].scope);
				n += pc[p].n;
			}
		if (!any)
			continue;
		if (best == AUTHZ_SCOPE_MESH)
			snprintf(key, sizeof(key), "mesh");
		else if (best == AUTHZ_SCOPE_NAMESPACE)
			snprintf(key, sizeof(key), "ns:%s", svc->ns);
		else
			snprintf(key, sizeof(key), "svc:%s", svc->key);
		for (uint32_t i = 0; i < as->n_sets; i++)
			if (strcmp(keys[i], key) == 0)
				as->set_of[s] = (int32_t)i;
		if (as->set_of[s] >= 0)
			continue;
		if (n > AUTHZ_MAX_CLAUSES) {
			rc = -E2BIG;
			break;
		}
		set = &as->sets[as->n_sets];
		memcpy(keys[as->n_sets], key, sizeof(key));
		as->set_of[s] = (int32_t)as->n_sets++;
		set->words = (n + 63) / 64 ? (n + 63) / 64 : 1;
		set->clauses = authz_alloc(f, (n ? n : 1) * sizeof(*set->clauses));
		if (set->clauses == NULL) {
			rc = -ENOMEM;
			break;
		}
		for (uint32_t p = 0; p < as->n_policies; p++) {
			if (!authz_applies(&as->policies[p], svc))
				continue;
			set->has_allow |= as->policies[p].action == AUTHZ_ACT_ALLOW;
			if (pc[p].n != 0)
				memcpy(&set->clauses[set->n_clauses], pc[p].c,
				       pc[p].n * sizeof(*pc[p].c));
			set->n_clauses += pc[p].n;
		}
		if ((rc = authz_set_index(f, set)) != 0)
			break;
	}
	free(keys);
	return rc;
}

/* ---- $.authorization ---- */

static int authz_parse_policies(struct authz_snap_full *f, const struct cfg_snapshot *snap,
				const json_t *arr, struct cfg_error *err)
{
	static const char *const keys[] = {"name",   "namespace", "selector",
					   "action", "rules",	  NULL};
	struct authz_snap *as = &f->as;
	struct authz_scope_sel sel;
	struct authz_pclauses *pc;
	char path[CFG_JPATH_LEN], sp[CFG_JPATH_LEN];
	int rc = 0;

	as->n_policies = (uint32_t)json_array_size(arr);
	as->policies =
		authz_alloc(f, (as->n_policies ? as->n_policies : 1) * sizeof(*as->policies));
	pc = calloc(as->n_policies ? as->n_policies : 1, sizeof(*pc));
	if (as->policies == NULL || pc == NULL) {
		free(pc);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < as->n_policies; i++) {
		struct authz_policy *p = &as->policies[i];
		json_t *o;

		if ((rc = cfg_get_item(arr, i, "$.authorization", "a policy object", keys, &o, path,
				       err)) != 0 ||
		    (rc = authz_scope_parse(o, path, snap, &sel, err)) != 0 ||
		    (rc = cfg_get_enum(o, "action", path, authz_actions, AUTHZ_ACT_ALLOW, false,
				       &p->action, err)) != 0)
			break;
		memcpy(p->name, sel.name, sizeof(p->name));
		memcpy(p->ns, sel.ns, sizeof(p->ns));
		memcpy(p->service, sel.service, sizeof(p->service));
		memcpy(p->key, sel.key, sizeof(p->key));
		p->scope = sel.scope;
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(as->policies[j].key, p->key) == 0) {
				cfg_path_key(sp, path, "name");
				rc = cfg_fail(err, sp,
					      "expected a name no other policy of the %s has, got "
					      "\"%s\"",
					      p->ns[0] ? "namespace" : "mesh", p->name);
				goto out;
			}
		if ((rc = authz_parse_rules(f, o, path, i, p->action, &pc[i], &p->n_rules, err)) !=
		    0)
			break;
		if ((p->rt = authz_rt_get(p->key)) == NULL) {
			rc = -ENOMEM;
			break;
		}
	}
	if (rc == 0 && (rc = authz_build_sets(f, snap, pc)) == -E2BIG)
		rc = cfg_fail(err, "$.authorization",
			      "more than %u rule clauses apply to one service", AUTHZ_MAX_CLAUSES);
out:
	free(pc);
	return rc;
}

/* ---- $.peer_authentication ---- */

struct authz_peer_auth {
	char ns[CFG_NAME_MAX];
	char identity[TLS_ID_MAX]; /* selector.identity; "" */
	uint8_t mode;
	uint8_t scope;
};

/* The namespace of a SPIFFE ID ("spiffe://td/ns/<ns>/..."), into @p out; false: none. */
static bool authz_spiffe_ns(const char *id, char *out, size_t size)
{
	const char *p = strncmp(id, "spiffe://", 9) == 0 ? strchr(id + 9, '/') : NULL;
	size_t len;

	if (p == NULL || strncmp(p, "/ns/", 4) != 0)
		return false;
	p += 4;
	len = strcspn(p, "/");
	if (len == 0 || len >= size)
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/* The most specific entry for identity @p id: its own, its namespace's, the mesh's; -1: none. */
static int32_t authz_peer_auth_of(const struct authz_peer_auth *pa, uint32_t n, const char *id)
{
	char ns[CFG_NAME_MAX];
	int32_t best = -1;
	bool has_ns = authz_spiffe_ns(id, ns, sizeof(ns));

	for (uint32_t i = 0; i < n; i++) {
		bool match =
			pa[i].scope == AUTHZ_SCOPE_MESH ||
			(pa[i].scope == AUTHZ_SCOPE_NAMESPACE && has_ns &&
			 strcmp(pa[i].ns, ns) == 0) ||
			(pa[i].scope == AUTHZ_SCOPE_SERVICE && strcmp(pa[i].identity, id) == 0);

		if (match && (best < 0 || pa[i].scope > pa[best].scope))
			best = (int32_t)i;
	}
	return best;
}

static int authz_parse_peer_auth(struct authz_snap_full *f, struct cfg_snapshot *snap,
				 const json_t *arr, struct cfg_error *err)
{
	static const char *const keys[] = {"name", "namespace", "selector", "mtls", NULL};
	static const char *const sel_keys[] = {"identity", NULL};
	static const char *const mtls_keys[] = {"mode", NULL};
	uint32_t n = arr != NULL ? (uint32_t)json_array_size(arr) : 0, rows = 0;
	struct authz_snap *as = &f->as;
	struct authz_peer_auth *pa;
	char path[CFG_JPATH_LEN], sp[CFG_JPATH_LEN], name[CFG_NAME_MAX];
	int rc = 0;

	pa = calloc(n ? n : 1, sizeof(*pa));
	if (pa == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		json_t *o, *sel, *m;

		char ip[CFG_JPATH_LEN];

		if ((rc = cfg_get_item(arr, i, "$.peer_authentication",
				       "a peer authentication object", keys, &o, path, err)) != 0 ||
		    (rc = cfg_get_name(o, "name", path, name, NULL, true, err)) != 0 ||
		    (rc = cfg_get_name(o, "namespace", path, pa[i].ns, "", false, err)) != 0 ||
		    (rc = cfg_get_section(o, "selector", path, &sel, err)) != 0 ||
		    (rc = cfg_get_section(o, "mtls", path, &m, err)) != 0)
			goto out;
		cfg_path_key(sp, path, "mtls");
		if (m == NULL) {
			rc = cfg_fail(err, sp,
				      "required: {\"mode\": \"strict\" | \"permissive\" | "
				      "\"disable\"}");
			goto out;
		}
		if ((rc = cfg_check_keys(m, sp, mtls_keys, err)) != 0 ||
		    (rc = cfg_get_enum(m, "mode", sp, authz_modes, 0, true, &pa[i].mode, err)) != 0)
			goto out;
		pa[i].scope = pa[i].ns[0] ? AUTHZ_SCOPE_NAMESPACE : AUTHZ_SCOPE_MESH;
		if (sel != NULL) {
			char ns[CFG_NAME_MAX];

			cfg_path_key(sp, path, "selector");
			if ((rc = cfg_check_keys(sel, sp, sel_keys, err)) != 0 ||
			    (rc = cfg_get_str(sel, "identity", sp, pa[i].identity,
					      sizeof(pa[i].identity), "", NULL, err)) != 0)
				goto out;
			cfg_path_key(ip, sp, "identity");
			if (!authz_spiffe_ns(pa[i].identity, ns, sizeof(ns))) {
				rc = cfg_fail(
					err, ip,
					"expected a SPIFFE ID "
					"\"spiffe://<trust-domain>/ns/<namespace>/...\" (the "
					"runtime identity a listener serves with), got \"%s\"",
					pa[i].identity);
				goto out;
			}
			if (strcmp(ns, pa[i].ns) != 0) {
				rc = cfg_fail(err, ip,
					      "the identity's namespace \"%s\" is not the entry's "
					      "\"namespace\" \"%s\"",
					      ns, pa[i].ns);
				goto out;
			}
			pa[i].scope = AUTHZ_SCOPE_SERVICE;
		}
		for (uint32_t j = 0; j < i; j++)
			if (pa[j].scope == pa[i].scope && strcmp(pa[j].ns, pa[i].ns) == 0 &&
			    strcmp(pa[j].identity, pa[i].identity) == 0) {
				rc = cfg_fail(err, path,
					      "$.peer_authentication[%u] has the same scope (%s); "
					      "at most one entry per scope",
					      j,
					      pa[i].scope == AUTHZ_SCOPE_MESH ? "the mesh"
					      : pa[i].scope == AUTHZ_SCOPE_NAMESPACE
						      ? "a namespace"
						      : "an identity");
				goto out;
			}
	}
	/* every identity of every TLS listener: its effective mode, written into its tls block */
	for (uint32_t l = 0; l < snap->n_listeners; l++) {
		const struct tls_server_conf *c = tls_cfg_listener_get(snap, l);

		rows += c != NULL ? 1u + c->n_sni : 0;
	}
	as->authn = authz_alloc(f, (rows ? rows : 1) * sizeof(*as->authn));
	if (as->authn == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t l = 0; l < snap->n_listeners; l++) {
		const struct tls_server_conf *c = tls_cfg_listener_get(snap, l);

		for (int32_t k = -1; c != NULL && k < (int32_t)c->n_sni; k++) {
			const struct tls_cfg_policy *p = k < 0 ? &c->def : &c->sni[k];
			const struct secret *sec = secrets_find(snap, p->secret);
			struct authz_authn_row *row = &as->authn[as->n_authn++];
			int32_t e;

			row->listener = l;
			row->sni = k;
			snprintf(row->identity, sizeof(row->identity), "%s",
				 sec != NULL ? sec->spiffe_id : "");
			e = authz_peer_auth_of(pa, n, row->identity);
			if (p->mtls_set) {
				row->source = -1;
			} else if (e >= 0) {
				row->source = e;
				row->scope = pa[e].scope;
				tls_cfg_listener_set_mtls(snap, l, k, (enum tls_mtls)pa[e].mode);
			} else {
				row->source = -2;
			}
			row->mode = p->mtls;
		}
	}
out:
	free(pa);
	return rc;
}

static int authz_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			     const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	struct authz_snap_full *f;
	json_t *pol, *pa;
	int rc;

	(void)ctx;
	if ((rc = cfg_get_array(root, "authorization", "$", 0, AUTHZ_MAX_POLICIES, false,
				"policies", &pol, err)) != 0 ||
	    (rc = cfg_get_array(root, "peer_authentication", "$", 0, AUTHZ_MAX_PEER_AUTH, false,
				"peer authentication entries", &pa, err)) != 0)
		return rc;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	snap->authz = &f->as;
	authz_ring_init(); /* before any worker can post to it */
	if (pol != NULL && (rc = authz_parse_policies(f, snap, pol, err)) != 0)
		return rc;
	return authz_parse_peer_auth(f, snap, pa, err);
}

static void authz_cfg_free(struct cfg_snapshot *snap)
{
	struct authz_snap_full *f = (struct authz_snap_full *)snap->authz;

	if (f == NULL)
		return;
	for (uint32_t i = 0; i < f->as.n_sets; i++)
		authz_set_free(&f->as.sets[i]);
	while (f->chunks != NULL) {
		struct authz_chunk *c = f->chunks;

		f->chunks = c->next;
		free(c);
	}
	free(f);
	snap->authz = NULL;
}

static const char *const authz_cfg_keys[] = {"peer_authentication", "authorization", NULL};

const struct cfg_section authz_cfg_section = {
	.name = "authz",
	.keys = authz_cfg_keys,
	.compile = authz_cfg_compile,
	.free = authz_cfg_free,
	.audit = authz_audit,
};
