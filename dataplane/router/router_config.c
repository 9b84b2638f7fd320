/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * router: the config section $.route_configs (struct cfg_section
 * router_cfg_section), validated as strictly as the rest of the document and
 * compiled for router_select(): the domains of a route config into an exact
 * hash table and wildcard lists (longest first), routes in order with their
 * regexes compiled by PCRE2 (JIT where available), weighted clusters as a
 * cumulative table, clusters resolved to the L4 services (the section runs
 * after l4's) by index and by stable key. Everything lives in one arena per
 * snapshot, freed with it.
 *
 * docs/CONFIG.md ("route_configs") is the schema this file enforces.
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config_json.h"
#include "../l4/l4.h"
#include "router_internal.h"

/* Defaults for omitted fields; docs/CONFIG.md lists the same values. */
#define DEF_TOTAL_WEIGHT      100
#define DEF_REDIRECT_CODE     301
#define DEF_NUM_RETRIES	      1
#define DEF_BACKOFF_BASE_MS   25
#define DEF_BUDGET_PERCENT    20
#define DEF_BUDGET_MIN_RETRY  3
#define DEF_FAULT_PERCENT     100.0
#define ROUTER_MAX_TIMEOUT_MS 3600000u
#define ROUTER_CHUNK	      65536u

static_assert(sizeof(((struct l4_service *)0)->key) == ROUTER_KEY_MAX,
	      "ROUTER_KEY_MAX is l4_service.key's size");

struct rc_ctx {
	struct cfg_snapshot *s;
	struct router_table *t;
	struct cfg_error *err;
};

/* ---- the arena ---- */

/* @p n zeroed bytes, max_align_t aligned, freed with the table. NULL: ENOMEM. */
static void *ra_alloc(struct router_table *t, size_t n)
{
	struct router_chunk *ch = t->chunks;
	size_t a = sizeof(max_align_t), need = (n + a - 1) / a * a;
	void *p;

	if (ch == NULL || ch->size - ch->used < need) {
		size_t size = need > ROUTER_CHUNK ? need : ROUTER_CHUNK;

		ch = calloc(1, sizeof(*ch) + size);
		if (ch == NULL)
			return NULL;
		ch->size = size;
		ch->next = t->chunks;
		t->chunks = ch;
	}
	p = (char *)ch->data + ch->used;
	ch->used += need;
	return p;
}

/* A NUL-terminated copy of @p n bytes of @p s, lower-cased when @p lower. */
static char *ra_strdup(struct router_table *t, const char *s, size_t n, bool lower)
{
	char *d = ra_alloc(t, n + 1);

	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = lower && s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 'a' - 'A') : s[i];
	d[n] = '\0';
	return d;
}

/* ---- strings ---- */

/* RFC 9110 tchar */
static bool rc_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool rc_valid_token(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!rc_tchar((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* A field value: visible ASCII, space, tab, obs-text; no CR, LF, NUL or other controls. */
static bool rc_valid_value(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	return true;
}

/* An origin-form path: '/' then visible ASCII; no '?' (the query is matched apart). */
static bool rc_valid_path(const char *s, size_t n)
{
	if (n == 0 || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '?' ||
		    s[i] == '#')
			return false;
	return true;
}

/* A host name or an IPv6 literal in brackets (no port, no wildcard). */
static bool rc_valid_host(const char *s, size_t n)
{
	if (n == 0 || n > ROUTER_HOST_MAX)
		return false;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < n; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			      (s[i] >= 'A' && s[i] <= 'F') || s[i] == ':' || s[i] == '.'))
				return false;
		return true;
	}
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.' || s[i] == '_'))
			return false;
	return true;
}

static bool rc_any(const char *s, size_t n)
{
	(void)s;
	(void)n;
	return true;
}

/*
 * An optional string member of @p min..@p max bytes that @p valid accepts,
 * copied into the arena (lower-cased when @p lower); out->len 0 and out->p ""
 * when absent. @p expected describes it in messages.
 */
static int rc_get_str(struct rc_ctx *c, const json_t *o, const char *key, const char *path,
		      uint32_t min, uint32_t max, bool required, const char *expected,
		      bool (*valid)(const char *, size_t), bool lower, struct router_str *out)
{
	json_t *v = json_object_get(o, key);
	char p[CFG_JPATH_LEN];
	size_t n;

	out->p = "";
	out->len = 0;
	cfg_path_key(p, path, key);
	if (v == NULL)
		return required ? cfg_fail(c->err, p, "required field missing; expected %s",
					   expected)
				: 0;
	if (!json_is_string(v))
		return cfg_fail_got(c->err, p, expected, v);
	n = json_string_length(v);
	if (n < min || n > max || memchr(json_string_value(v), '\0', n) != NULL ||
	    !valid(json_string_value(v), n))
		return cfg_fail_got(c->err, p, expected, v);
	out->p = ra_strdup(c->t, json_string_value(v), n, lower);
	if (out->p == NULL)
		return -ENOMEM;
	out->len = (uint32_t)n;
	return 0;
}

/* A number member in 0..100 (a percentage), @p def when absent; *ppm per million. */
static int rc_get_percent(struct rc_ctx *c, const json_t *o, const char *key, const char *path,
			  double def, uint32_t *ppm)
{
	json_t *v = json_object_get(o, key);
	char p[CFG_JPATH_LEN];
	double d = def;

	cfg_path_key(p, path, key);
	if (v != NULL) {
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 100)
			return cfg_fail_got(c->err, p, "a number in 0..100 (a percentage)", v);
		d = json_number_value(v);
	}
	*ppm = (uint32_t)(d * (ROUTER_PERCENT_SCALE / 100) + 0.5);
	return 0;
}

/*
 * Exactly one of the members @p names (NULL-terminated) of @p o: *@p k its
 * index. @p expected lists them ("one of prefix, path, regex").
 */
static int rc_one_of(struct rc_ctx *c, const json_t *o, const char *path, const char *const *names,
		     const char *expected, uint8_t *k)
{
	char p[CFG_JPATH_LEN];
	const char *given = NULL;

	for (uint8_t i = 0; names[i] != NULL; i++) {
		if (json_object_get(o, names[i]) == NULL)
			continue;
		cfg_path_key(p, path, names[i]);
		if (given != NULL)
			return cfg_fail(c->err, p, "expected %s, got both %s and %s", expected,
					given, names[i]);
		given = names[i];
		*k = i;
	}
	return given != NULL ? 0 : cfg_fail(c->err, path, "expected %s; got none", expected);
}

/* ---- regexes ---- */

/* Compile @p text with PCRE2 @p options into @p re; JIT if the platform allows. */
static int rc_regex(struct rc_ctx *c, struct router_str text, uint32_t options, const char *path,
		    struct router_regex *re)
{
	struct router_table *t = c->t;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off;
	int code;

	if (t->n_regex == t->cap_regex) {
		uint32_t cap = t->cap_regex == 0 ? 16 : t->cap_regex * 2;
		pcre2_code **r = realloc(t->regexes, cap * sizeof(*r));

		if (r == NULL)
			return -ENOMEM;
		t->regexes = r;
		t->cap_regex = cap;
	}
	re->text = text;
	re->code = pcre2_compile((PCRE2_SPTR)text.p, text.len, options, &code, &off, NULL);
	if (re->code == NULL) {
		if (code == PCRE2_ERROR_NOMEMORY)
			return -ENOMEM;
		pcre2_get_error_message(code, msg, sizeof(msg));
		return cfg_fail(c->err, path,
				"expected a regular expression PCRE2 compiles, got \"%.200s\" "
				"(%s at offset %zu)",
				text.p, (const char *)msg, (size_t)off);
	}
	t->regexes[t->n_regex++] = re->code;
	re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
	if (!re->jit)
		t->n_regex_interp++;
	return 0;
}

/* ---- match ---- */

/* A header (@p header) or query parameter condition: name and one of exact, prefix, regex, present. */
static int rc_cond(struct rc_ctx *c, const json_t *o, const char *path, bool header,
		   struct router_cond *cd)
{
	static const char *const kinds[] = {"exact", "prefix", "regex", "present", NULL};
	char p[CFG_JPATH_LEN];
	const char *given = NULL;
	int rc;

	if ((rc = rc_get_str(c, o, "name", path, 1, ROUTER_STR_MAX, true,
			     header ? "a header name (an RFC 9110 token)"
				    : "a query parameter name",
			     header ? rc_valid_token : rc_valid_value, header, &cd->name)) != 0 ||
	    (rc = cfg_get_bool(o, "invert", path, false, &cd->invert, c->err)) != 0)
		return rc;
	if ((rc = rc_one_of(c, o, path, kinds, "one of exact, prefix, regex, present",
			    &cd->kind)) != 0)
		return rc;
	given = kinds[cd->kind];
	cfg_path_key(p, path, given);
	switch (cd->kind) {
	case ROUTER_COND_EXACT:
	case ROUTER_COND_PREFIX:
		return rc_get_str(c, o, given, path, cd->kind == ROUTER_COND_EXACT ? 0 : 1,
				  ROUTER_STR_MAX, true, "a string without control characters",
				  rc_valid_value, false, &cd->value);
	case ROUTER_COND_REGEX: {
		struct router_str text;

		if ((rc = rc_get_str(c, o, given, path, 1, ROUTER_STR_MAX, true,
				     "a regular expression", rc_any, false, &text)) != 0)
			return rc;
		return rc_regex(c, text, 0, p, &cd->re);
	}
	default:
		if (!json_is_true(json_object_get(o, given)))
			return cfg_fail_got(c->err, p, "true (false: use \"invert\")",
					    json_object_get(o, given));
		return 0;
	}
}

static int rc_conds(struct rc_ctx *c, const json_t *m, const char *key, const char *path,
		    bool header, uint32_t *n, const struct router_cond **out)
{
	static const char *const keys[] = {"name",    "exact",	"prefix", "regex",
					   "present", "invert", NULL};
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	struct router_cond *cd;
	json_t *arr, *o;
	int rc;

	if ((rc = cfg_get_array(m, key, path, 0, ROUTER_MAX_CONDITIONS, false,
				header ? "header conditions" : "query conditions", &arr, c->err)) !=
		    0 ||
	    arr == NULL || json_array_size(arr) == 0)
		return rc;
	cfg_path_key(ap, path, key);
	cd = ra_alloc(c->t, json_array_size(arr) * sizeof(*cd));
	if (cd == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++)
		if ((rc = cfg_get_item(arr, i, ap,
				       header ? "a header condition object"
					      : "a query condition object",
				       keys, &o, ip, c->err)) != 0 ||
		    (rc = rc_cond(c, o, ip, header, &cd[i])) != 0)
			return rc;
	*n = (uint32_t)json_array_size(arr);
	*out = cd;
	return 0;
}

static int rc_methods(struct rc_ctx *c, const json_t *m, const char *path, struct router_match *rm)
{
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	struct router_str *ms;
	json_t *arr, *v;
	int rc;

	if ((rc = cfg_get_array(m, "methods", path, 1, ROUTER_MAX_METHODS, false, "method names",
				&arr, c->err)) != 0 ||
	    arr == NULL)
		return rc;
	cfg_path_key(ap, path, "methods");
	ms = ra_alloc(c->t, json_array_size(arr) * sizeof(*ms));
	if (ms == NULL)
		return -ENOMEM;
	json_array_foreach(arr, rm->n_methods, v)
	{
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t n = s != NULL ? json_string_length(v) : 0;

		cfg_path_index(ip, ap, rm->n_methods);
		if (s == NULL || n > 32 || !rc_valid_token(s, n))
			return cfg_fail_got(c->err, ip, "a method (an RFC 9110 token: \"GET\")", v);
		for (size_t k = 0; k < rm->n_methods; k++)
			if (ms[k].len == n && memcmp(ms[k].p, s, n) == 0)
				return cfg_fail_got(c->err, ip, "a method not listed before", v);
		if ((ms[rm->n_methods].p = ra_strdup(c->t, s, n, false)) == NULL)
			return -ENOMEM;
		ms[rm->n_methods].len = (uint32_t)n;
	}
	rm->methods = ms;
	return 0;
}

static int rc_match(struct rc_ctx *c, const json_t *ro, const char *rpath, struct router_route *r)
{
	static const char *const keys[] = {"prefix",  "path",  "regex",		 "methods",
					   "headers", "query", "case_sensitive", NULL};
	static const char *const kinds[] = {"prefix", "path", "regex", NULL};
	char path[CFG_JPATH_LEN], p[CFG_JPATH_LEN];
	struct router_match *m;
	const char *given = NULL;
	json_t *o;
	int rc;

	cfg_path_key(path, rpath, "match");
	if ((rc = cfg_get_section(ro, "match", rpath, &o, c->err)) != 0)
		return rc;
	if (o == NULL)
		return cfg_fail(c->err, path,
				"required field missing; expected an object with one of prefix, "
				"path, regex");
	if ((rc = cfg_check_keys(o, path, keys, c->err)) != 0)
		return rc;
	if ((m = ra_alloc(c->t, sizeof(*m))) == NULL)
		return -ENOMEM;
	r->match = m;
	if ((rc = rc_one_of(c, o, path, kinds, "one of prefix, path, regex", &m->path_kind)) != 0)
		return rc;
	given = kinds[m->path_kind];
	if ((rc = cfg_get_bool(o, "case_sensitive", path, true, &m->case_sensitive, c->err)) != 0)
		return rc;
	cfg_path_key(p, path, given);
	if (m->path_kind == ROUTER_PATH_REGEX) {
		struct router_str text;

		if ((rc = rc_get_str(c, o, given, path, 1, ROUTER_STR_MAX, true,
				     "a regular expression", rc_any, false, &text)) != 0 ||
		    (rc = rc_regex(c, text, m->case_sensitive ? 0 : PCRE2_CASELESS, p, &m->re)) !=
			    0)
			return rc;
	} else if ((rc = rc_get_str(c, o, given, path, 1, ROUTER_STR_MAX, true,
				    "a path: '/' then visible ASCII, no '?' or '#'", rc_valid_path,
				    false, &m->path)) != 0) {
		return rc;
	}
	if ((rc = rc_methods(c, o, path, m)) != 0 ||
	    (rc = rc_conds(c, o, "headers", path, true, &m->n_headers, &m->headers)) != 0 ||
	    (rc = rc_conds(c, o, "query", path, false, &m->n_query, &m->query)) != 0)
		return rc;
	return 0;
}

/* ---- header edits ---- */

/* Headers a route may neither add nor remove: framing and connection management. */
static bool rc_reserved_header(const char *s, size_t n)
{
	static const char *const names[] = {"host",
					    "content-length",
					    "transfer-encoding",
					    "connection",
					    "keep-alive",
					    "proxy-connection",
					    "upgrade",
					    "te",
					    "trailer",
					    NULL};

	for (size_t i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == n && strncasecmp(names[i], s, n) == 0)
			return true;
	return false;
}

static bool rc_valid_edit_name(const char *s, size_t n)
{
	return rc_valid_token(s, n) && !rc_reserved_header(s, n);
}

#define RC_EDIT_NAME_EXPECTED                                                                    \
	"a header name (an RFC 9110 token) other than host, content-length, transfer-encoding, " \
	"connection, keep-alive, proxy-connection, upgrade, te, trailer"

static int rc_headers(struct rc_ctx *c, const json_t *o, const char *path, const char *dir,
		      struct router_headers *h)
{
	static const char *const keys[] = {"name", "value", "append", NULL};
	char akey[40], rkey[40], ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	struct router_header_add *add;
	struct router_str *rm;
	json_t *arr, *v;
	int rc;

	snprintf(akey, sizeof(akey), "%s_headers_add", dir);
	snprintf(rkey, sizeof(rkey), "%s_headers_remove", dir);
	if ((rc = cfg_get_array(o, akey, path, 0, ROUTER_MAX_HEADER_EDITS, false,
				"{\"name\", \"value\"} objects", &arr, c->err)) != 0)
		return rc;
	cfg_path_key(ap, path, akey);
	if (arr != NULL && json_array_size(arr) > 0) {
		if ((add = ra_alloc(c->t, json_array_size(arr) * sizeof(*add))) == NULL)
			return -ENOMEM;
		json_array_foreach(arr, h->n_add, v)
		{
			struct router_header_add *a = &add[h->n_add];
			json_t *it;

			if ((rc = cfg_get_item(arr, h->n_add, ap, "a header object", keys, &it, ip,
					       c->err)) != 0 ||
			    (rc = rc_get_str(c, it, "name", ip, 1, 256, true, RC_EDIT_NAME_EXPECTED,
					     rc_valid_edit_name, false, &a->name)) != 0 ||
			    (rc = rc_get_str(c, it, "value", ip, 0, ROUTER_STR_MAX, true,
					     "a header value (no CR, LF, NUL or other controls)",
					     rc_valid_value, false, &a->value)) != 0 ||
			    (rc = cfg_get_bool(it, "append", ip, true, &a->append, c->err)) != 0)
				return rc;
		}
		h->add = add;
	}
	if ((rc = cfg_get_array(o, rkey, path, 0, ROUTER_MAX_HEADER_EDITS, false, "header names",
				&arr, c->err)) != 0)
		return rc;
	cfg_path_key(ap, path, rkey);
	if (arr != NULL && json_array_size(arr) > 0) {
		if ((rm = ra_alloc(c->t, json_array_size(arr) * sizeof(*rm))) == NULL)
			return -ENOMEM;
		json_array_foreach(arr, h->n_remove, v)
		{
			const char *s = json_is_string(v) ? json_string_value(v) : NULL;
			size_t n = s != NULL ? json_string_length(v) : 0;

			cfg_path_index(ip, ap, h->n_remove);
			if (s == NULL || n > 256 || !rc_valid_edit_name(s, n))
				return cfg_fail_got(c->err, ip, RC_EDIT_NAME_EXPECTED, v);
			if ((rm[h->n_remove].p = ra_strdup(c->t, s, n, true)) == NULL)
				return -ENOMEM;
			rm[h->n_remove].len = (uint32_t)n;
		}
		h->remove = rm;
	}
	return 0;
}

static int rc_header_edits(struct rc_ctx *c, const json_t *o, const char *path,
			   struct router_headers *req, struct router_headers *resp)
{
	int rc = rc_headers(c, o, path, "request", req);

	return rc != 0 ? rc : rc_headers(c, o, path, "response", resp);
}

/* ---- CORS ---- */

/*
 * An allow_origins "exact": "*", or a serialized origin (RFC 6454 6.2):
 * "null", or scheme "://" host [":" port] with no path (what browsers send).
 */
static bool rc_valid_origin(const char *s, size_t n)
{
	size_t i = 0, h, k, end = n;

	if ((n == 1 && s[0] == '*') || (n == 4 && memcmp(s, "null", 4) == 0))
		return true;
	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			 (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' ||
				    s[i] == '.'))))
		i++;
	if (i == 0 || n - i < 4 || memcmp(s + i, "://", 3) != 0)
		return false;
	h = i + 3;
	for (k = n; k > h && s[k - 1] >= '0' && s[k - 1] <= '9'; k--)
		;
	if (k > h + 1 && k < n && s[k - 1] == ':' && n - k <= 5 &&
	    (s[h] != '[' || s[k - 2] == ']')) {
		unsigned long port = strtoul(s + k, NULL, 10);

		if (port == 0 || port > 65535)
			return false;
		end = k - 1;
	}
	return rc_valid_host(s + h, end - h);
}

/* An allow_origins "suffix": visible ASCII without '/' (origins have no path) or '*'. */
static bool rc_valid_origin_suffix(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '/' ||
		    s[i] == '*')
			return false;
	return n > 0;
}

/*
 * An optional list of tokens (methods or header names) joined with ", " into
 * *@p out (len 0 when absent); *@p star set when "*" is one of them.
 */
static int rc_cors_list(struct rc_ctx *c, const json_t *o, const char *path, const char *key,
			const char *expected, struct router_str *out, bool *star)
{
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN], buf[ROUTER_CORS_LIST_MAX];
	size_t len = 0, i;
	json_t *arr, *v;
	int rc;

	out->p = "";
	out->len = 0;
	if ((rc = cfg_get_array(o, key, path, 1, ROUTER_MAX_CORS_NAMES, false, expected, &arr,
				c->err)) != 0 ||
	    arr == NULL)
		return rc;
	cfg_path_key(ap, path, key);
	json_array_foreach(arr, i, v)
	{
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t n = s != NULL ? json_string_length(v) : 0;

		cfg_path_index(ip, ap, i);
		if (s == NULL || n > 256 || !rc_valid_token(s, n))
			return cfg_fail_got(c->err, ip, expected, v);
		if (len + (i > 0 ? 2 : 0) + n > sizeof(buf))
			return cfg_fail(c->err, ap,
					"expected at most %u bytes once joined with \", \"",
					ROUTER_CORS_LIST_MAX);
		if (i > 0) {
			memcpy(buf + len, ", ", 2);
			len += 2;
		}
		memcpy(buf + len, s, n);
		len += n;
		if (n == 1 && s[0] == '*')
			*star = true;
	}
	if ((out->p = ra_strdup(c->t, buf, len, false)) == NULL)
		return -ENOMEM;
	out->len = (uint32_t)len;
	return 0;
}

static int rc_cors_origin(struct rc_ctx *c, const json_t *it, const char *ip,
			  struct router_cors_origin *og)
{
	static const char *const kinds[] = {"exact", "suffix", "regex", NULL};
	char p[CFG_JPATH_LEN];
	int rc;

	if ((rc = rc_one_of(c, it, ip, kinds, "one of exact, suffix, regex", &og->kind)) != 0)
		return rc;
	switch (og->kind) {
	case ROUTER_ORIGIN_EXACT:
		return rc_get_str(c, it, "exact", ip, 1, ROUTER_CORS_ORIGIN_MAX, true,
				  "an origin: \"*\", \"null\" or scheme://host[:port] without a "
				  "path (\"https://app.example\")",
				  rc_valid_origin, true, &og->text);
	case ROUTER_ORIGIN_SUFFIX:
		return rc_get_str(c, it, "suffix", ip, 1, ROUTER_CORS_ORIGIN_MAX, true,
				  "the end of an origin (\".example.com\"): visible ASCII without "
				  "'/' or '*'",
				  rc_valid_origin_suffix, true, &og->text);
	default:
		cfg_path_key(p, ip, "regex");
		if ((rc = rc_get_str(c, it, "regex", ip, 1, ROUTER_STR_MAX, true,
				     "a regular expression", rc_any, false, &og->text)) != 0)
			return rc;
		/* a whole-value match: an unanchored "https://a\.example" would also
		 * allow https://a.example.evil */
		return rc_regex(c, og->text, PCRE2_CASELESS | PCRE2_ANCHORED | PCRE2_ENDANCHORED, p,
				&og->re);
	}
}

/* The optional "cors" member of a virtual host or a route at @p ppath. */
static int rc_cors(struct rc_ctx *c, const json_t *parent, const char *ppath,
		   struct router_cors *cors)
{
	static const char *const keys[] = {"allow_origins",
					   "allow_methods",
					   "allow_headers",
					   "expose_headers",
					   "allow_credentials",
					   "max_age_s",
					   NULL};
	static const char *const okeys[] = {"exact", "suffix", "regex", NULL};
	char path[CFG_JPATH_LEN], ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN], p[CFG_JPATH_LEN], age[16];
	struct router_cors_origin *os;
	bool star = false;
	json_t *o, *arr, *it;
	uint32_t max_age;
	int rc, n;

	cfg_path_key(path, ppath, "cors");
	if ((rc = cfg_get_section(parent, "cors", ppath, &o, c->err)) != 0 || o == NULL ||
	    (rc = cfg_check_keys(o, path, keys, c->err)) != 0 ||
	    (rc = cfg_get_array(o, "allow_origins", path, 1, ROUTER_MAX_CORS_ORIGINS, true,
				"origin matchers ({\"exact\"}, {\"suffix\"} or {\"regex\"})", &arr,
				c->err)) != 0 ||
	    (rc = cfg_get_bool(o, "allow_credentials", path, false, &cors->allow_credentials,
			       c->err)) != 0)
		return rc;
	cfg_path_key(ap, path, "allow_origins");
	if ((os = ra_alloc(c->t, json_array_size(arr) * sizeof(*os))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		if ((rc = cfg_get_item(arr, i, ap, "an origin matcher object", okeys, &it, ip,
				       c->err)) != 0 ||
		    (rc = rc_cors_origin(c, it, ip, &os[i])) != 0)
			return rc;
		if (os[i].kind == ROUTER_ORIGIN_EXACT && os[i].text.len == 1)
			cors->any_origin = true; /* "*" */
	}
	cors->origins = os;
	cors->n_origins = (uint32_t)json_array_size(arr);
	if ((rc = rc_cors_list(c, o, path, "allow_methods",
			       "a method (an RFC 9110 token: \"PUT\") or \"*\"",
			       &cors->allow_methods, &star)) != 0 ||
	    (rc = rc_cors_list(c, o, path, "allow_headers",
			       "a header name (an RFC 9110 token) or \"*\"", &cors->allow_headers,
			       &star)) != 0 ||
	    (rc = rc_cors_list(c, o, path, "expose_headers",
			       "a header name (an RFC 9110 token) or \"*\"", &cors->expose_headers,
			       &star)) != 0)
		return rc;
	cors->max_age = (struct router_str){"", 0};
	if (json_object_get(o, "max_age_s") != NULL) {
		if ((rc = cfg_get_u32(o, "max_age_s", path, 0, ROUTER_CORS_MAX_AGE_S, 0, &max_age,
				      c->err)) != 0)
			return rc;
		n = snprintf(age, sizeof(age), "%u", max_age);
		if ((cors->max_age.p = ra_strdup(c->t, age, (size_t)n, false)) == NULL)
			return -ENOMEM;
		cors->max_age.len = (uint32_t)n;
	}
	cfg_path_key(p, path, "allow_credentials");
	if (cors->allow_credentials && cors->any_origin)
		return cfg_fail(c->err, p,
				"expected false with the allow_origins entry {\"exact\": \"*\"} "
				"(browsers refuse credentials from any origin: list the origins)");
	if (cors->allow_credentials && star)
		return cfg_fail(c->err, p,
				"expected false with \"*\" in allow_methods, allow_headers or "
				"expose_headers (with credentials \"*\" is a literal name, not a "
				"wildcard)");
	cors->enabled = true;
	return 0;
}

/* ---- actions ---- */

/*
 * A cluster: "<namespace>/<name>" or a service name (names are unique among
 * services), and its port: @p port_v ("port"), default the service's first TCP
 * port.
 */
static int rc_cluster(struct rc_ctx *c, const json_t *cv, const char *cpath, const json_t *port_v,
		      const char *ppath, struct router_cluster *cl)
{
	const struct cfg_snapshot *s = c->s;
	const struct l4_service *sv = NULL;
	const char *name = json_is_string(cv) ? json_string_value(cv) : "";
	char expected[L4_KEY_MAX + 160], list[L4_MAX_SVC_PORTS * 7];
	int first = -1;
	size_t n = 0;

	if (cv == NULL)
		return cfg_fail(c->err, cpath,
				"required field missing; expected the name or "
				"\"<namespace>/<name>\" of a service in $.services");
	if (strchr(name, '/') != NULL) {
		int32_t k = router_service_by_key(s, name);

		sv = k >= 0 ? &s->services[k] : NULL;
	} else {
		for (uint32_t k = 0; k < s->n_services && sv == NULL; k++)
			if (strcmp(s->services[k].name, name) == 0)
				sv = &s->services[k];
	}
	if (sv == NULL)
		return cfg_fail_got(c->err, cpath,
				    "the name or \"<namespace>/<name>\" of a service in $.services",
				    cv);
	cl->key = sv->key;
	cl->service = (uint32_t)(sv - s->services);
	list[0] = '\0';
	for (uint8_t k = 0; k < sv->n_ports; k++) {
		if (sv->ports[k].protocol != IPPROTO_TCP)
			continue;
		if (first < 0)
			first = k;
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%u", n == 0 ? "" : ", ",
				      sv->ports[k].port);
	}
	if (first < 0)
		return cfg_fail_got(c->err, cpath,
				    "a service with a TCP port (this one has UDP only)", cv);
	if (port_v == NULL) {
		cl->port_idx = (uint8_t)first;
	} else {
		uint8_t k;

		for (k = 0; k < sv->n_ports; k++)
			if (sv->ports[k].protocol == IPPROTO_TCP && json_is_integer(port_v) &&
			    json_integer_value(port_v) == sv->ports[k].port)
				break;
		if (k == sv->n_ports) {
			snprintf(expected, sizeof(expected), "a TCP port of service %s (%s)",
				 sv->key, list);
			return cfg_fail_got(c->err, ppath, expected, port_v);
		}
		cl->port_idx = k;
	}
	cl->port = sv->ports[cl->port_idx].port;
	cl->target_port = sv->ports[cl->port_idx].target_port;
	cl->weight = 1;
	cl->cum = 1;
	return 0;
}

static int rc_weighted(struct rc_ctx *c, const json_t *ro, const char *rpath,
		       struct router_route *r)
{
	static const char *const keys[] = {"cluster", "weight", "port", NULL};
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN], cp[CFG_JPATH_LEN], pp[CFG_JPATH_LEN],
		tp[CFG_JPATH_LEN];
	struct router_cluster *cl;
	uint64_t sum = 0;
	json_t *arr, *o;
	int rc;

	if ((rc = cfg_get_array(ro, "weighted_clusters", rpath, 1, ROUTER_MAX_WEIGHTED, true,
				"{\"cluster\", \"weight\"} objects", &arr, c->err)) != 0 ||
	    (rc = cfg_get_u32(ro, "total_weight", rpath, 1, 1000000, DEF_TOTAL_WEIGHT,
			      &r->total_weight, c->err)) != 0)
		return rc;
	cfg_path_key(ap, rpath, "weighted_clusters");
	cfg_path_key(tp, rpath, "port");
	if ((cl = ra_alloc(c->t, json_array_size(arr) * sizeof(*cl))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		uint32_t w;

		if ((rc = cfg_get_item(arr, i, ap, "a {\"cluster\", \"weight\"} object", keys, &o,
				       ip, c->err)) != 0)
			return rc;
		cfg_path_key(cp, ip, "cluster");
		cfg_path_key(pp, ip, "port");
		/* an entry's own port, else the route's */
		if ((rc = rc_cluster(c, json_object_get(o, "cluster"), cp,
				     json_object_get(o, "port") != NULL
					     ? json_object_get(o, "port")
					     : json_object_get(ro, "port"),
				     json_object_get(o, "port") != NULL ? pp : tp, &cl[i])) != 0)
			return rc;
		if (json_object_get(o, "weight") == NULL) {
			cfg_path_key(pp, ip, "weight");
			return cfg_fail(c->err, pp,
					"required field missing; expected an integer in 0..%u",
					r->total_weight);
		}
		if ((rc = cfg_get_u32(o, "weight", ip, 0, r->total_weight, 0, &w, c->err)) != 0)
			return rc;
		sum += w;
		cl[i].weight = w;
		cl[i].cum = (uint32_t)(sum > UINT32_MAX ? UINT32_MAX : sum);
	}
	if (sum != r->total_weight)
		return cfg_fail(c->err, ap,
				"expected weights that sum to %u (total_weight), got %llu",
				r->total_weight, (unsigned long long)sum);
	r->n_clusters = (uint32_t)json_array_size(arr);
	r->clusters = cl;
	return 0;
}

static int rc_redirect(struct rc_ctx *c, const json_t *ro, const char *rpath,
		       struct router_route *r)
{
	static const char *const keys[] = {"scheme",	     "host", "port",	    "path",
					   "prefix_rewrite", "code", "strip_query", NULL};
	static const char *const schemes[] = {"http", "https", NULL};
	struct router_redirect *rd = &r->redirect;
	char path[CFG_JPATH_LEN], p[CFG_JPATH_LEN];
	uint8_t scheme;
	json_t *o;
	int rc;

	cfg_path_key(path, rpath, "redirect");
	if ((rc = cfg_get_section(ro, "redirect", rpath, &o, c->err)) != 0 ||
	    (rc = cfg_check_keys(o, path, keys, c->err)) != 0 ||
	    (rc = cfg_get_enum(o, "scheme", path, schemes, 0, false, &scheme, c->err)) != 0 ||
	    (rc = rc_get_str(c, o, "host", path, 1, ROUTER_HOST_MAX, false,
			     "a host name or [IPv6] literal without a port", rc_valid_host, true,
			     &rd->host)) != 0 ||
	    (rc = cfg_get_u16(o, "port", path, 1, 65535, 0, &rd->port, c->err)) != 0 ||
	    (rc = rc_get_str(c, o, "path", path, 1, ROUTER_STR_MAX, false,
			     "a path: '/' then visible ASCII, no '?' or '#'", rc_valid_path, false,
			     &rd->path)) != 0 ||
	    (rc = rc_get_str(c, o, "prefix_rewrite", path, 1, ROUTER_STR_MAX, false,
			     "a path: '/' then visible ASCII, no '?' or '#'", rc_valid_path, false,
			     &rd->prefix_rewrite)) != 0 ||
	    (rc = cfg_get_u16(o, "code", path, 301, 308, DEF_REDIRECT_CODE, &rd->code, c->err)) !=
		    0 ||
	    (rc = cfg_get_bool(o, "strip_query", path, false, &rd->strip_query, c->err)) != 0)
		return rc;
	if (json_object_get(o, "scheme") != NULL) {
		rd->scheme.p = schemes[scheme];
		rd->scheme.len = (uint32_t)strlen(schemes[scheme]);
	}
	if (rd->code == 304 || rd->code == 305 || rd->code == 306) {
		cfg_path_key(p, path, "code");
		return cfg_fail_got(c->err, p, "301, 302, 303, 307 or 308",
				    json_object_get(o, "code"));
	}
	if (rd->path.len != 0 && rd->prefix_rewrite.len != 0) {
		cfg_path_key(p, path, "prefix_rewrite");
		return cfg_fail(c->err, p, "expected path or prefix_rewrite, got both");
	}
	if (rd->prefix_rewrite.len != 0 && r->match->path_kind == ROUTER_PATH_REGEX) {
		cfg_path_key(p, path, "prefix_rewrite");
		return cfg_fail(c->err, p,
				"expected a route matching a prefix or a path (the match is a "
				"regex)");
	}
	if (rd->scheme.len == 0 && rd->host.len == 0 && rd->port == 0 && rd->path.len == 0 &&
	    rd->prefix_rewrite.len == 0)
		return cfg_fail(c->err, path,
				"expected at least one of scheme, host, port, path, prefix_rewrite "
				"(a redirect to the same URL loops)");
	return 0;
}

static int rc_direct(struct rc_ctx *c, const json_t *ro, const char *rpath, struct router_route *r)
{
	static const char *const keys[] = {"status", "body", NULL};
	char path[CFG_JPATH_LEN], p[CFG_JPATH_LEN];
	json_t *o;
	int rc;

	cfg_path_key(path, rpath, "direct_response");
	if ((rc = cfg_get_section(ro, "direct_response", rpath, &o, c->err)) != 0 ||
	    (rc = cfg_check_keys(o, path, keys, c->err)) != 0)
		return rc;
	if (json_object_get(o, "status") == NULL) {
		cfg_path_key(p, path, "status");
		return cfg_fail(c->err, p,
				"required field missing; expected an integer in 200..599");
	}
	if ((rc = cfg_get_u16(o, "status", path, 200, 599, 200, &r->direct.status, c->err)) != 0 ||
	    (rc = rc_get_str(c, o, "body", path, 0, ROUTER_BODY_MAX, false,
			     "a string of at most 65536 bytes", rc_any, false, &r->direct.body)) !=
		    0)
		return rc;
	if (r->direct.body.len != 0 && (r->direct.status == 204 || r->direct.status == 304)) {
		cfg_path_key(p, path, "body");
		return cfg_fail(c->err, p, "expected no body with status %u", r->direct.status);
	}
	return 0;
}

/* ---- policies ---- */

static int rc_retry(struct rc_ctx *c, const json_t *ro, const char *rpath, struct router_route *r)
{
	static const char *const keys[] = {"retry_on",
					   "num_retries",
					   "per_try_timeout_ms",
					   "retriable_status_codes",
					   "backoff",
					   "retry_host_predicate",
					   NULL};
	static const char *const bkeys[] = {"base_ms", "max_ms", NULL};
	const char *const *conds = router_retry_names;
	static const char *const preds[] = {"previous_hosts", NULL};
	struct router_retry *rp = &r->retry;
	char path[CFG_JPATH_LEN], p[CFG_JPATH_LEN], ip[CFG_JPATH_LEN], bp[CFG_JPATH_LEN];
	json_t *o, *arr, *v, *b;
	uint8_t pred;
	size_t i;
	int rc;

	cfg_path_key(path, rpath, "retry_policy");
	if ((rc = cfg_get_section(ro, "retry_policy", rpath, &o, c->err)) != 0 || o == NULL ||
	    (rc = cfg_check_keys(o, path, keys, c->err)) != 0 ||
	    (rc = cfg_get_array(o, "retry_on", path, 1, ROUTER_RETRY_CONDITIONS, true,
				"retry conditions", &arr, c->err)) != 0)
		return rc;
	cfg_path_key(p, path, "retry_on");
	json_array_foreach(arr, i, v)
	{
		uint32_t k;

		for (k = 0; conds[k] != NULL; k++)
			if (json_is_string(v) && strcmp(json_string_value(v), conds[k]) == 0)
				break;
		cfg_path_index(ip, p, i);
		if (conds[k] == NULL)
			return cfg_fail_got(
				c->err, ip,
				"\"5xx\", \"gateway-error\", \"reset\", "
				"\"connect-failure\", \"retriable-status-codes\" or a gRPC "
				"status: \"cancelled\", \"deadline-exceeded\", "
				"\"resource-exhausted\", \"internal\", \"unavailable\"",
				v);
		rp->on |= 1u << k;
	}
	if ((rc = cfg_get_u32(o, "num_retries", path, 0, 10, DEF_NUM_RETRIES, &rp->num_retries,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(o, "per_try_timeout_ms", path, 0, ROUTER_MAX_TIMEOUT_MS, 0,
			      &rp->per_try_timeout_ms, c->err)) != 0 ||
	    (rc = cfg_get_array(o, "retriable_status_codes", path, 1, ROUTER_MAX_STATUS_CODES,
				false, "status codes", &arr, c->err)) != 0 ||
	    (rc = cfg_get_enum(o, "retry_host_predicate", path, preds, 0, false, &pred, c->err)) !=
		    0 ||
	    (rc = cfg_get_section(o, "backoff", path, &b, c->err)) != 0)
		return rc;
	rp->previous_hosts = json_object_get(o, "retry_host_predicate") != NULL;
	if (rp->per_try_timeout_ms > r->timeout_ms && r->timeout_ms != 0) {
		cfg_path_key(p, path, "per_try_timeout_ms");
		return cfg_fail(c->err, p, "expected at most the route's timeout_ms (%u), got %u",
				r->timeout_ms, rp->per_try_timeout_ms);
	}
	cfg_path_key(p, path, "retriable_status_codes");
	if (arr != NULL && !(rp->on & ROUTER_RETRY_STATUS_CODES))
		return cfg_fail(c->err, p,
				"expected \"retriable-status-codes\" in retry_on with "
				"retriable_status_codes");
	if (arr == NULL && (rp->on & ROUTER_RETRY_STATUS_CODES))
		return cfg_fail(c->err, p,
				"required field missing (retry_on has \"retriable-status-codes\"); "
				"expected an array of 1..%u status codes",
				ROUTER_MAX_STATUS_CODES);
	json_array_foreach(arr, i, v)
	{
		cfg_path_index(ip, p, i);
		if (!json_is_integer(v) || json_integer_value(v) < 100 ||
		    json_integer_value(v) > 599)
			return cfg_fail_got(c->err, ip, "a status code in 100..599", v);
		rp->status[rp->n_status++] = (uint16_t)json_integer_value(v);
	}
	cfg_path_key(bp, path, "backoff");
	if ((b != NULL && (rc = cfg_check_keys(b, bp, bkeys, c->err)) != 0) ||
	    (rc = cfg_get_u32(b, "base_ms", bp, 1, 60000, DEF_BACKOFF_BASE_MS, &rp->backoff_base_ms,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(b, "max_ms", bp, rp->backoff_base_ms, 600000,
			      rp->backoff_base_ms * 10, &rp->backoff_max_ms, c->err)) != 0)
		return rc;
	return 0;
}

static int rc_fault(struct rc_ctx *c, const json_t *ro, const char *rpath, struct router_route *r)
{
	static const char *const keys[] = {"delay", "abort", NULL};
	static const char *const dkeys[] = {"fixed_ms", "percent", NULL};
	static const char *const akeys[] = {"status", "percent", NULL};
	char path[CFG_JPATH_LEN], p[CFG_JPATH_LEN], q[CFG_JPATH_LEN];
	json_t *o, *d, *a;
	int rc;

	cfg_path_key(path, rpath, "fault");
	if ((rc = cfg_get_section(ro, "fault", rpath, &o, c->err)) != 0 || o == NULL ||
	    (rc = cfg_check_keys(o, path, keys, c->err)) != 0 ||
	    (rc = cfg_get_section(o, "delay", path, &d, c->err)) != 0 ||
	    (rc = cfg_get_section(o, "abort", path, &a, c->err)) != 0)
		return rc;
	if (d == NULL && a == NULL)
		return cfg_fail(c->err, path, "expected delay, abort or both; got neither");
	cfg_path_key(p, path, "delay");
	if (d != NULL) {
		cfg_path_key(q, p, "fixed_ms");
		if ((rc = cfg_check_keys(d, p, dkeys, c->err)) != 0)
			return rc;
		if (json_object_get(d, "fixed_ms") == NULL)
			return cfg_fail(c->err, q,
					"required field missing; expected an integer in 1..%u",
					ROUTER_MAX_TIMEOUT_MS);
		if ((rc = cfg_get_u32(d, "fixed_ms", p, 1, ROUTER_MAX_TIMEOUT_MS, 0,
				      &r->fault.delay_ms, c->err)) != 0 ||
		    (rc = rc_get_percent(c, d, "percent", p, DEF_FAULT_PERCENT,
					 &r->fault.delay_ppm)) != 0)
			return rc;
	}
	cfg_path_key(p, path, "abort");
	if (a != NULL) {
		cfg_path_key(q, p, "status");
		if ((rc = cfg_check_keys(a, p, akeys, c->err)) != 0)
			return rc;
		if (json_object_get(a, "status") == NULL)
			return cfg_fail(c->err, q,
					"required field missing; expected an integer in 200..599");
		if ((rc = cfg_get_u16(a, "status", p, 200, 599, 0, &r->fault.abort_status,
				      c->err)) != 0 ||
		    (rc = rc_get_percent(c, a, "percent", p, DEF_FAULT_PERCENT,
					 &r->fault.abort_ppm)) != 0)
			return rc;
	}
	return 0;
}

/* ---- routes ---- */

/* A query parameter name: 1..64 bytes, visible ASCII but '&', '=', '#', '?'. */
static bool rc_valid_param(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    strchr("&=#?", s[i]) != NULL)
			return false;
	return n > 0;
}

/* "query_params": the names the route declares, distinct. */
static int rc_query_params(struct rc_ctx *c, const json_t *o, const char *path,
			   struct router_route *r)
{
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	struct router_str *names;
	json_t *arr;
	int rc;

	if ((rc = cfg_get_array(o, "query_params", path, 0, ROUTER_MAX_QUERY_PARAMS, false,
				"query parameter names", &arr, c->err)) != 0 ||
	    arr == NULL)
		return rc;
	cfg_path_key(ap, path, "query_params");
	names = ra_alloc(c->t, (json_array_size(arr) + 1) * sizeof(*names));
	if (names == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		size_t n = json_is_string(v) ? json_string_length(v) : 0;

		cfg_path_index(ip, ap, i);
		if (!json_is_string(v) || n > 64 || !rc_valid_param(json_string_value(v), n))
			return cfg_fail_got(c->err, ip,
					    "a query parameter name (1..64 visible ASCII bytes, "
					    "no '&', '=', '#', '?')",
					    v);
		for (size_t k = 0; k < i; k++)
			if (names[k].len == n && memcmp(names[k].p, json_string_value(v), n) == 0)
				return cfg_fail(c->err, ip, "parameter \"%s\" is declared twice",
						json_string_value(v));
		names[i].p = ra_strdup(c->t, json_string_value(v), n, false);
		if (names[i].p == NULL)
			return -ENOMEM;
		names[i].len = (uint32_t)n;
	}
	r->query_params = names;
	r->n_query_params = (uint32_t)json_array_size(arr);
	return 0;
}

/* Members only a route that proxies (cluster, weighted_clusters) may have. */
static const char *const rc_proxy_only[] = {"port",	  "prefix_rewrite",  "host_rewrite",
					    "timeout_ms", "idle_timeout_ms", "retry_policy",
					    "fault",	  "total_weight",    NULL};

static int rc_route(struct rc_ctx *c, const json_t *o, const char *path, struct router_route *r)
{
	static const char *const actions[] = {"cluster", "weighted_clusters", "redirect",
					      "direct_response", NULL};
	char p[CFG_JPATH_LEN], pp[CFG_JPATH_LEN];
	const char *given = NULL;
	int rc;

	if ((rc = cfg_get_name(o, "name", path, r->name, "", false, c->err)) != 0 ||
	    (rc = rc_match(c, o, path, r)) != 0)
		return rc;
	if ((rc = rc_one_of(c, o, path, actions,
			    "one action: cluster, weighted_clusters, redirect or direct_response",
			    &r->action)) != 0)
		return rc;
	given = actions[r->action];
	if (r->action != ROUTER_ACTION_WEIGHTED && json_object_get(o, "total_weight") != NULL) {
		cfg_path_key(p, path, "total_weight");
		return cfg_fail(c->err, p, "expected only with weighted_clusters");
	}
	if (r->action == ROUTER_ACTION_REDIRECT || r->action == ROUTER_ACTION_DIRECT) {
		for (unsigned int k = 0; rc_proxy_only[k] != NULL; k++) {
			if (json_object_get(o, rc_proxy_only[k]) == NULL)
				continue;
			cfg_path_key(p, path, rc_proxy_only[k]);
			return cfg_fail(c->err, p,
					"expected only with cluster or weighted_clusters (this "
					"route's action is %s)",
					given);
		}
	}
	if ((rc = cfg_get_u32(o, "timeout_ms", path, 0, ROUTER_MAX_TIMEOUT_MS,
			      ROUTER_DEFAULT_TIMEOUT_MS, &r->timeout_ms, c->err)) != 0 ||
	    (rc = cfg_get_u32(o, "idle_timeout_ms", path, 0, ROUTER_MAX_TIMEOUT_MS, 0,
			      &r->idle_timeout_ms, c->err)) != 0)
		return rc;
	if (r->action == ROUTER_ACTION_REDIRECT || r->action == ROUTER_ACTION_DIRECT)
		r->timeout_ms = 0;
	cfg_path_key(p, path, "cluster");
	cfg_path_key(pp, path, "port");
	switch (r->action) {
	case ROUTER_ACTION_CLUSTER: {
		struct router_cluster *cl = ra_alloc(c->t, sizeof(*cl));

		if (cl == NULL)
			return -ENOMEM;
		if ((rc = rc_cluster(c, json_object_get(o, "cluster"), p,
				     json_object_get(o, "port"), pp, cl)) != 0)
			return rc;
		r->clusters = cl;
		r->n_clusters = 1;
		r->total_weight = 1;
		break;
	}
	case ROUTER_ACTION_WEIGHTED:
		if ((rc = rc_weighted(c, o, path, r)) != 0)
			return rc;
		break;
	case ROUTER_ACTION_REDIRECT:
		if ((rc = rc_redirect(c, o, path, r)) != 0)
			return rc;
		break;
	default:
		if ((rc = rc_direct(c, o, path, r)) != 0)
			return rc;
		break;
	}
	if ((rc = rc_get_str(c, o, "prefix_rewrite", path, 1, ROUTER_STR_MAX, false,
			     "a path: '/' then visible ASCII, no '?' or '#'", rc_valid_path, false,
			     &r->prefix_rewrite)) != 0 ||
	    (rc = rc_get_str(c, o, "host_rewrite", path, 1, ROUTER_HOST_MAX + 6, false,
			     "a host name or [IPv6] literal, optionally with :port", rc_any, false,
			     &r->host_rewrite)) != 0)
		return rc;
	if (r->host_rewrite.len != 0) {
		struct router_str h = router_host_strip_port(r->host_rewrite);

		cfg_path_key(p, path, "host_rewrite");
		if (!rc_valid_host(h.p, h.len))
			return cfg_fail_got(c->err, p,
					    "a host name or [IPv6] literal, optionally with :port",
					    json_object_get(o, "host_rewrite"));
	}
	if (r->prefix_rewrite.len != 0 && r->match->path_kind == ROUTER_PATH_REGEX) {
		cfg_path_key(p, path, "prefix_rewrite");
		return cfg_fail(c->err, p,
				"expected a route matching a prefix or a path (the match is a "
				"regex)");
	}
	if ((rc = rc_header_edits(c, o, path, &r->request_headers, &r->response_headers)) != 0 ||
	    (rc = rc_retry(c, o, path, r)) != 0 || (rc = rc_fault(c, o, path, r)) != 0 ||
	    (rc = rc_cors(c, o, path, &r->cors)) != 0 || (rc = rc_query_params(c, o, path, r)) != 0)
		return rc;
	return 0;
}

/* ---- the path index ---- */

/* Whether route @p r goes into the index's table of @p kind (EXACT or PREFIX). */
static bool rc_ix_in(const struct router_route *r, uint8_t kind, bool prefixes)
{
	return r->match->case_sensitive && r->match->path_kind == kind &&
	       (kind == ROUTER_PATH_EXACT || prefixes);
}

/* The slot of @p key in a table of @p mask + 1 slots: its own, or the empty one it would take. */
static uint32_t rc_ix_slot(const struct router_ix_ent *t, uint32_t mask, struct router_str key,
			   uint32_t h)
{
	uint32_t slot = h & mask;

	while (t[slot].n != 0 && !(t[slot].hash == h && t[slot].key.len == key.len &&
				   memcmp(t[slot].key.p, key.p, key.len) == 0))
		slot = (slot + 1) & mask;
	return slot;
}

/*
 * The hash table of the routes of @p kind: each distinct path a slot, its
 * routes in idx[*o ..) in document order. @return 0 or -ENOMEM.
 */
static int rc_ix_table(struct rc_ctx *c, const struct router_vhost *vh, uint8_t kind, bool prefixes,
		       uint32_t *mask, const struct router_ix_ent **out, uint32_t *idx, uint32_t *o)
{
	uint32_t n = 0, slots = 4, *fill;
	struct router_ix_ent *t;

	for (uint32_t i = 0; i < vh->n_routes; i++)
		n += rc_ix_in(&vh->routes[i], kind, prefixes);
	while (slots < 2 * n)
		slots *= 2;
	t = ra_alloc(c->t, slots * sizeof(*t));
	fill = calloc(slots, sizeof(*fill));
	if (t == NULL || fill == NULL) {
		free(fill);
		return -ENOMEM;
	}
	*mask = slots - 1;
	/* count the routes of each key, then give each key its run of idx[] */
	for (uint32_t i = 0; i < vh->n_routes; i++) {
		const struct router_route *r = &vh->routes[i];
		uint32_t h, slot;

		if (!rc_ix_in(r, kind, prefixes))
			continue;
		h = router_hash(r->match->path.p, r->match->path.len, false);
		slot = rc_ix_slot(t, *mask, r->match->path, h);
		t[slot].key = r->match->path;
		t[slot].hash = h;
		t[slot].n++;
	}
	for (uint32_t k = 0; k < slots; k++) {
		t[k].first = *o;
		*o += t[k].n;
	}
	for (uint32_t i = 0; i < vh->n_routes; i++) {
		const struct router_route *r = &vh->routes[i];
		uint32_t slot;

		if (!rc_ix_in(r, kind, prefixes))
			continue;
		slot = rc_ix_slot(t, *mask, r->match->path,
				  router_hash(r->match->path.p, r->match->path.len, false));
		idx[t[slot].first + fill[slot]++] = i;
	}
	free(fill);
	*out = t;
	return 0;
}

static int rc_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The path index of a virtual host with ROUTER_INDEX_MIN routes or more. */
static int rc_index(struct rc_ctx *c, struct router_vhost *vh)
{
	struct router_index *ix;
	uint32_t *lens, *idx, *other, n_lens = 0, o = 0;
	bool prefixes;
	int rc;

	if (vh->n_routes < ROUTER_INDEX_MIN)
		return 0;
	ix = ra_alloc(c->t, sizeof(*ix));
	lens = ra_alloc(c->t, vh->n_routes * sizeof(*lens));
	idx = ra_alloc(c->t, vh->n_routes * sizeof(*idx));
	other = ra_alloc(c->t, vh->n_routes * sizeof(*other));
	if (ix == NULL || lens == NULL || idx == NULL || other == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < vh->n_routes; i++) {
		const struct router_match *m = vh->routes[i].match;

		if (m->case_sensitive && m->path_kind == ROUTER_PATH_PREFIX)
			lens[n_lens++] = m->path.len;
		if (m->case_sensitive && m->path_kind == ROUTER_PATH_EXACT &&
		    m->path.len > ix->max_exact)
			ix->max_exact = m->path.len;
	}
	qsort(lens, n_lens, sizeof(*lens), rc_u32_cmp);
	for (uint32_t i = 0; i < n_lens; i++)
		if (ix->n_lens == 0 || lens[ix->n_lens - 1] != lens[i])
			lens[ix->n_lens++] = lens[i];
	/* too many lengths to hash the path at each: the prefixes are listed instead */
	prefixes = ix->n_lens <= ROUTER_INDEX_MAX_LENS;
	if (!prefixes)
		ix->n_lens = 0;
	ix->lens = lens;
	if ((rc = rc_ix_table(c, vh, ROUTER_PATH_EXACT, prefixes, &ix->exact_mask, &ix->exact, idx,
			      &o)) != 0 ||
	    (rc = rc_ix_table(c, vh, ROUTER_PATH_PREFIX, prefixes, &ix->prefix_mask, &ix->prefix,
			      idx, &o)) != 0)
		return rc;
	for (uint32_t i = 0; i < vh->n_routes; i++)
		if (!rc_ix_in(&vh->routes[i], ROUTER_PATH_EXACT, prefixes) &&
		    !rc_ix_in(&vh->routes[i], ROUTER_PATH_PREFIX, prefixes))
			other[ix->n_other++] = i;
	ix->other = other;
	ix->idx = idx;
	vh->path_index = ix;
	return 0;
}

/* ---- virtual hosts and domains ---- */

/* One domain as written, for the duplicate check and the tables. */
struct rc_domain {
	struct router_str d; /* lower-case */
	uint32_t vhost, idx;
};

static int rc_domain_cmp(const void *a, const void *b)
{
	const struct rc_domain *x = a, *y = b;
	int r = strcmp(x->d.p, y->d.p);

	if (r != 0)
		return r;
	return x->vhost != y->vhost ? (x->vhost < y->vhost ? -1 : 1)
				    : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

/* Longest fixed part first; ties in document order. */
static int rc_domain_len_cmp(const void *a, const void *b)
{
	const struct router_domain_ent *x = a, *y = b;

	if (x->d.len != y->d.len)
		return x->d.len > y->d.len ? -1 : 1;
	return x->vhost < y->vhost ? -1 : x->vhost > y->vhost;
}

/* "*", "*suffix", "prefix*" or a host; wildcards only at one end. */
static bool rc_valid_domain(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return true;
	if (n >= 2 && s[0] == '*')
		return rc_valid_host(s + 1, n - 1) || (s[1] == '.' && rc_valid_host(s + 2, n - 2));
	if (n >= 2 && s[n - 1] == '*')
		return rc_valid_host(s, n - 1) || (s[n - 2] == '.' && rc_valid_host(s, n - 2));
	return rc_valid_host(s, n);
}

static int rc_vhost_domains(struct rc_ctx *c, const json_t *o, const char *path,
			    struct router_vhost *vh, struct rc_domain **all, uint32_t *n_all,
			    uint32_t *cap_all)
{
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	struct router_str *ds;
	json_t *arr, *v;
	size_t i;
	int rc;

	if ((rc = cfg_get_array(o, "domains", path, 1, ROUTER_MAX_DOMAINS, true, "domains", &arr,
				c->err)) != 0)
		return rc;
	cfg_path_key(ap, path, "domains");
	if ((ds = ra_alloc(c->t, json_array_size(arr) * sizeof(*ds))) == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, v)
	{
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t n = s != NULL ? json_string_length(v) : 0;

		cfg_path_index(ip, ap, i);
		if (s == NULL || n > ROUTER_HOST_MAX || !rc_valid_domain(s, n))
			return cfg_fail_got(c->err, ip,
					    "a domain: a host name, \"*.suffix\", \"prefix.*\" or "
					    "\"*\" (no port)",
					    v);
		if ((ds[i].p = ra_strdup(c->t, s, n, true)) == NULL)
			return -ENOMEM;
		ds[i].len = (uint32_t)n;
		if (*n_all == *cap_all) {
			uint32_t cap = *cap_all == 0 ? 64 : *cap_all * 2;
			struct rc_domain *a = realloc(*all, cap * sizeof(*a));

			if (a == NULL)
				return -ENOMEM;
			*all = a;
			*cap_all = cap;
		}
		(*all)[(*n_all)++] = (struct rc_domain){ds[i], vh->index, (uint32_t)i};
	}
	vh->domains = ds;
	vh->n_domains = (uint32_t)json_array_size(arr);
	return 0;
}

/* The domain tables of a route config from its @p n domains (sorted here). */
static int rc_domain_tables(struct rc_ctx *c, const char *path, struct router_config *cfg,
			    struct rc_domain *all, uint32_t n)
{
	struct router_domains *d = ra_alloc(c->t, sizeof(*d));
	struct router_domain_ent *exact, *suffix, *prefix;
	uint32_t n_exact = 0, n_suffix = 0, n_prefix = 0, slots = 4;

	if (d == NULL)
		return -ENOMEM;
	qsort(all, n, sizeof(*all), rc_domain_cmp);
	for (uint32_t i = 1; i < n; i++)
		if (strcmp(all[i].d.p, all[i - 1].d.p) == 0)
			return cfg_fail(c->err, path,
					"expected domains unique across the virtual hosts, got "
					"\"%s\" in virtual_hosts[%u].domains[%u] and "
					"virtual_hosts[%u].domains[%u]",
					all[i].d.p, all[i - 1].vhost, all[i - 1].idx, all[i].vhost,
					all[i].idx);
	d->star = -1;
	for (uint32_t i = 0; i < n; i++) {
		if (all[i].d.len == 1 && all[i].d.p[0] == '*')
			d->star = (int32_t)all[i].vhost;
		else if (all[i].d.p[0] == '*')
			n_suffix++;
		else if (all[i].d.p[all[i].d.len - 1] == '*')
			n_prefix++;
		else
			n_exact++;
	}
	while (slots < 2 * n_exact)
		slots *= 2;
	exact = ra_alloc(c->t, slots * sizeof(*exact));
	suffix = ra_alloc(c->t, (n_suffix + 1) * sizeof(*suffix));
	prefix = ra_alloc(c->t, (n_prefix + 1) * sizeof(*prefix));
	if (exact == NULL || suffix == NULL || prefix == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < slots; i++)
		exact[i].vhost = UINT32_MAX;
	d->exact_mask = slots - 1;
	d->n_exact = n_exact;
	for (uint32_t i = 0; i < n; i++) {
		struct router_str s = all[i].d;

		if (s.len == 1 && s.p[0] == '*')
			continue;
		if (s.p[0] == '*') {
			suffix[d->n_suffix++] =
				(struct router_domain_ent){{s.p + 1, s.len - 1}, 0, all[i].vhost};
		} else if (s.p[s.len - 1] == '*') {
			prefix[d->n_prefix++] =
				(struct router_domain_ent){{s.p, s.len - 1}, 0, all[i].vhost};
		} else {
			uint32_t h = router_hash(s.p, s.len, true), slot = h & d->exact_mask;

			while (exact[slot].vhost != UINT32_MAX)
				slot = (slot + 1) & d->exact_mask;
			exact[slot] = (struct router_domain_ent){s, h, all[i].vhost};
		}
	}
	qsort(suffix, d->n_suffix, sizeof(*suffix), rc_domain_len_cmp);
	qsort(prefix, d->n_prefix, sizeof(*prefix), rc_domain_len_cmp);
	d->exact = exact;
	d->suffix = suffix;
	d->prefix = prefix;
	cfg->domains = d;
	return 0;
}

static const char *const rc_vhost_keys[] = {"name",
					    "domains",
					    "routes",
					    "request_headers_add",
					    "request_headers_remove",
					    "response_headers_add",
					    "response_headers_remove",
					    "cors",
					    NULL};

static int rc_vhost(struct rc_ctx *c, const json_t *o, const char *path, struct router_vhost *vh,
		    struct rc_domain **all, uint32_t *n_all, uint32_t *cap_all)
{
	static const char *const rkeys[] = {"name",
					    "match",
					    "cluster",
					    "weighted_clusters",
					    "total_weight",
					    "redirect",
					    "direct_response",
					    "port",
					    "prefix_rewrite",
					    "host_rewrite",
					    "request_headers_add",
					    "request_headers_remove",
					    "response_headers_add",
					    "response_headers_remove",
					    "timeout_ms",
					    "idle_timeout_ms",
					    "retry_policy",
					    "fault",
					    "cors",
					    "query_params",
					    NULL};
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	struct router_route *routes;
	json_t *arr, *ro;
	int rc;

	if ((rc = rc_vhost_domains(c, o, path, vh, all, n_all, cap_all)) != 0 ||
	    (rc = rc_header_edits(c, o, path, &vh->request_headers, &vh->response_headers)) != 0 ||
	    (rc = rc_cors(c, o, path, &vh->cors)) != 0 ||
	    (rc = cfg_get_array(o, "routes", path, 0, ROUTER_MAX_ROUTES, true, "routes", &arr,
				c->err)) != 0)
		return rc;
	cfg_path_key(ap, path, "routes");
	routes = ra_alloc(c->t, (json_array_size(arr) + 1) * sizeof(*routes));
	if (routes == NULL)
		return -ENOMEM;
	vh->routes = routes;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct router_route *r = &routes[i];

		r->vhost = vh;
		r->index = (uint32_t)i;
		if ((rc = cfg_get_item(arr, i, ap, "a route object", rkeys, &ro, ip, c->err)) !=
			    0 ||
		    (rc = rc_route(c, ro, ip, r)) != 0)
			return rc;
		vh->n_routes++;
	}
	return rc_index(c, vh);
}

static int rc_retry_budget(struct rc_ctx *c, const json_t *o, const char *path,
			   struct router_retry_budget *b)
{
	static const char *const keys[] = {"budget_percent", "min_retry_concurrency", NULL};
	char bp[CFG_JPATH_LEN];
	json_t *v;
	int rc;

	cfg_path_key(bp, path, "retry_budget");
	if ((rc = cfg_get_section(o, "retry_budget", path, &v, c->err)) != 0 || v == NULL ||
	    (rc = cfg_check_keys(v, bp, keys, c->err)) != 0 ||
	    (rc = cfg_get_u32(v, "budget_percent", bp, 1, 100, DEF_BUDGET_PERCENT,
			      &b->budget_percent, c->err)) != 0 ||
	    (rc = cfg_get_u32(v, "min_retry_concurrency", bp, 0, 1000000, DEF_BUDGET_MIN_RETRY,
			      &b->min_retry_concurrency, c->err)) != 0)
		return rc;
	b->enabled = true;
	return 0;
}

static int rc_config(struct rc_ctx *c, const json_t *o, const char *path, struct router_config *cfg)
{
	char ap[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	struct router_vhost *vhosts;
	struct rc_domain *all = NULL;
	uint32_t n_all = 0, cap_all = 0;
	json_t *arr, *vo;
	int rc;

	if ((rc = cfg_get_array(o, "virtual_hosts", path, 1, ROUTER_MAX_VHOSTS, true,
				"virtual hosts", &arr, c->err)) != 0 ||
	    (rc = rc_retry_budget(c, o, path, &cfg->retry_budget)) != 0)
		return rc;
	cfg_path_key(ap, path, "virtual_hosts");
	vhosts = ra_alloc(c->t, json_array_size(arr) * sizeof(*vhosts));
	if (vhosts == NULL)
		return -ENOMEM;
	cfg->vhosts = vhosts;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct router_vhost *vh = &vhosts[i];

		vh->index = (uint32_t)i;
		vh->config = cfg;
		if ((rc = cfg_get_item(arr, i, ap, "a virtual host object", rc_vhost_keys, &vo, ip,
				       c->err)) != 0 ||
		    (rc = cfg_get_unique_name(vo, ip, vh->name, vhosts, sizeof(*vh), i,
					      "virtual host of this route config", c->err)) != 0 ||
		    (rc = rc_vhost(c, vo, ip, vh, &all, &n_all, &cap_all)) != 0)
			goto out;
		cfg->n_vhosts++;
	}
	rc = rc_domain_tables(c, ap, cfg, all, n_all);
out:
	free(all);
	return rc;
}

/* l4_service.key -> index, so that requests re-resolve their cluster in O(1). */
static int rc_service_hash(struct rc_ctx *c)
{
	const struct cfg_snapshot *s = c->s;
	struct router_table *t = c->t;
	uint32_t slots = 4;

	while (slots < 2 * s->n_services)
		slots *= 2;
	t->svc_slots = ra_alloc(t, slots * sizeof(*t->svc_slots));
	if (t->svc_slots == NULL)
		return -ENOMEM;
	t->svc_mask = slots - 1;
	for (uint32_t i = 0; i < s->n_services; i++) {
		const char *key = s->services[i].key;
		uint32_t slot = router_hash(key, (uint32_t)strlen(key), false) & t->svc_mask;

		while (t->svc_slots[slot] != 0)
			slot = (slot + 1) & t->svc_mask;
		t->svc_slots[slot] = i + 1;
	}
	return 0;
}

static int router_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			      const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	static const char *const keys[] = {"name", "virtual_hosts", "retry_budget", NULL};
	struct router_table *t = calloc(1, sizeof(*t));
	struct rc_ctx c = {.s = snap, .t = t, .err = err};
	char ip[CFG_JPATH_LEN];
	json_t *arr, *o;
	int rc;

	(void)ctx;
	if (t == NULL)
		return -ENOMEM;
	snap->router = t;
	if ((rc = rc_service_hash(&c)) != 0 ||
	    (rc = cfg_get_array(root, "route_configs", "$", 0, ROUTER_MAX_CONFIGS, false,
				"route configs", &arr, err)) != 0 ||
	    arr == NULL || json_array_size(arr) == 0)
		return rc;
	t->configs = ra_alloc(t, json_array_size(arr) * sizeof(*t->configs));
	if (t->configs == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct router_config *cfg = &t->configs[i];

		cfg->index = (uint32_t)i;
		if ((rc = cfg_get_item(arr, i, "$.route_configs", "a route config object", keys, &o,
				       ip, err)) != 0 ||
		    (rc = cfg_get_unique_name(o, ip, cfg->name, t->configs, sizeof(*cfg), i,
					      "route config", err)) != 0 ||
		    (rc = rc_config(&c, o, ip, cfg)) != 0)
			return rc;
		t->n_configs++;
	}
	return 0;
}

static void router_cfg_free(struct cfg_snapshot *snap)
{
	struct router_table *t = snap->router;

	if (t == NULL)
		return;
	for (uint32_t i = 0; i < t->n_regex; i++)
		pcre2_code_free(t->regexes[i]);
	free(t->regexes);
	while (t->chunks != NULL) {
		struct router_chunk *next = t->chunks->next;

		free(t->chunks);
		t->chunks = next;
	}
	free(t);
	snap->router = NULL;
}

static const char *const router_cfg_keys[] = {"route_configs", NULL};

const struct cfg_section router_cfg_section = {
	.name = "router",
	.keys = router_cfg_keys,
	.compile = router_cfg_compile,
	.free = router_cfg_free,
};
