/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * router: the control commands (meshctl http routes, http route-test),
 * registered as router_commands (dataplane/subsystems.c). http_routes lists the
 * live snapshot's compiled route configs; http_route_test runs router_select()
 * on the control thread, with its own scratch, for a request the operator
 * describes, and says which route it chose and what that route would do.
 * Control thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../control/control.h"
#include "router_internal.h"

static json_t *rc_jstr(struct router_str s)
{
	return json_stringn(s.p != NULL ? s.p : "", s.len);
}

static json_t *router_cmd_cors_json(const struct router_cors *c);

static json_t *router_cmd_headers_json(const struct router_headers *h)
{
	json_t *add = json_array(), *rm = json_array();

	for (uint32_t i = 0; i < h->n_add; i++)
		json_array_append_new(
			add, json_pack("{s:o, s:o, s:b}", "name", rc_jstr(h->add[i].name), "value",
				       rc_jstr(h->add[i].value), "append", h->add[i].append));
	for (uint32_t i = 0; i < h->n_remove; i++)
		json_array_append_new(rm, rc_jstr(h->remove[i]));
	return json_pack("{s:o, s:o}", "add", add, "remove", rm);
}

static json_t *router_cmd_cond_json(const struct router_cond *cd)
{
	static const char *const kinds[] = {"exact", "prefix", "regex", "present"};
	json_t *o = json_pack("{s:o, s:s, s:b}", "name", rc_jstr(cd->name), "kind", kinds[cd->kind],
			      "invert", cd->invert);

	if (cd->kind == ROUTER_COND_REGEX)
		json_object_set_new(o, "value", rc_jstr(cd->re.text));
	else if (cd->kind != ROUTER_COND_PRESENT)
		json_object_set_new(o, "value", rc_jstr(cd->value));
	return o;
}

static json_t *router_cmd_match_json(const struct router_match *m)
{
	static const char *const kinds[] = {"prefix", "path", "regex"};
	json_t *o = json_object(), *a;

	json_object_set_new(o, kinds[m->path_kind],
			    rc_jstr(m->path_kind == ROUTER_PATH_REGEX ? m->re.text : m->path));
	json_object_set_new(o, "case_sensitive", json_boolean(m->case_sensitive));
	if (m->path_kind == ROUTER_PATH_REGEX)
		json_object_set_new(o, "jit", json_boolean(m->re.jit));
	if (m->n_methods != 0) {
		a = json_array();
		for (uint32_t i = 0; i < m->n_methods; i++)
			json_array_append_new(a, rc_jstr(m->methods[i]));
		json_object_set_new(o, "methods", a);
	}
	if (m->n_headers != 0) {
		a = json_array();
		for (uint32_t i = 0; i < m->n_headers; i++)
			json_array_append_new(a, router_cmd_cond_json(&m->headers[i]));
		json_object_set_new(o, "headers", a);
	}
	if (m->n_query != 0) {
		a = json_array();
		for (uint32_t i = 0; i < m->n_query; i++)
			json_array_append_new(a, router_cmd_cond_json(&m->query[i]));
		json_object_set_new(o, "query", a);
	}
	return o;
}

/* The action and policies of @p r. */
static json_t *router_cmd_route_json(const struct router_route *r)
{
	json_t *o =
		json_pack("{s:i, s:s, s:o, s:s}", "index", (int)r->index, "name", r->name, "match",
			  router_cmd_match_json(r->match), "action", router_action_name(r->action));

	if (r->action == ROUTER_ACTION_CLUSTER || r->action == ROUTER_ACTION_WEIGHTED) {
		json_t *cl = json_array();

		for (uint32_t i = 0; i < r->n_clusters; i++)
			json_array_append_new(cl, json_pack("{s:s, s:i, s:i, s:I}", "cluster",
							    r->clusters[i].key, "port",
							    r->clusters[i].port, "target_port",
							    r->clusters[i].target_port, "weight",
							    (json_int_t)r->clusters[i].weight));
		json_object_set_new(o, "clusters", cl);
		if (r->action == ROUTER_ACTION_WEIGHTED)
			json_object_set_new(o, "total_weight", json_integer(r->total_weight));
		json_object_set_new(o, "prefix_rewrite", rc_jstr(r->prefix_rewrite));
		json_object_set_new(o, "host_rewrite", rc_jstr(r->host_rewrite));
		json_object_set_new(o, "timeout_ms", json_integer(r->timeout_ms));
		json_object_set_new(o, "idle_timeout_ms", json_integer(r->idle_timeout_ms));
		if (r->retry.on != 0) {
			const char *const *conds = router_retry_names;
			json_t *on = json_array(), *codes = json_array();

			for (unsigned int k = 0; k < ROUTER_RETRY_CONDITIONS; k++)
				if (r->retry.on & (1u << k))
					json_array_append_new(on, json_string(conds[k]));
			for (uint8_t k = 0; k < r->retry.n_status; k++)
				json_array_append_new(codes, json_integer(r->retry.status[k]));
			json_object_set_new(
				o, "retry_policy",
				json_pack("{s:o, s:i, s:i, s:o, s:i, s:i, s:b}", "retry_on", on,
					  "num_retries", (int)r->retry.num_retries,
					  "per_try_timeout_ms", (int)r->retry.per_try_timeout_ms,
					  "retriable_status_codes", codes, "backoff_base_ms",
					  (int)r->retry.backoff_base_ms, "backoff_max_ms",
					  (int)r->retry.backoff_max_ms, "previous_hosts",
					  r->retry.previous_hosts));
		}
		if (r->fault.delay_ppm != 0 || r->fault.abort_ppm != 0)
			json_object_set_new(o, "fault",
					    json_pack("{s:i, s:f, s:i, s:f}", "delay_ms",
						      (int)r->fault.delay_ms, "delay_percent",
						      r->fault.delay_ppm / 10000.0, "abort_status",
						      (int)r->fault.abort_status, "abort_percent",
						      r->fault.abort_ppm / 10000.0));
	} else if (r->action == ROUTER_ACTION_REDIRECT) {
		const struct router_redirect *rd = &r->redirect;

		json_object_set_new(o, "redirect",
				    json_pack("{s:o, s:o, s:i, s:o, s:o, s:i, s:b}", "scheme",
					      rc_jstr(rd->scheme), "host", rc_jstr(rd->host),
					      "port", rd->port, "path", rc_jstr(rd->path),
					      "prefix_rewrite", rc_jstr(rd->prefix_rewrite), "code",
					      rd->code, "strip_query", rd->strip_query));
	} else {
		json_object_set_new(o, "direct_response",
				    json_pack("{s:i, s:I}", "status", r->direct.status,
					      "body_bytes", (json_int_t)r->direct.body.len));
	}
	json_object_set_new(o, "request_headers", router_cmd_headers_json(&r->request_headers));
	json_object_set_new(o, "response_headers", router_cmd_headers_json(&r->response_headers));
	json_object_set_new(o, "cors", router_cmd_cors_json(&r->cors));
	return o;
}

static json_t *router_cmd_cors_json(const struct router_cors *c)
{
	static const char *const kinds[] = {"exact", "suffix", "regex"};
	json_t *origins;

	if (!c->enabled)
		return json_null();
	origins = json_array();
	for (uint32_t i = 0; i < c->n_origins; i++)
		json_array_append_new(origins, json_pack("{s:o}", kinds[c->origins[i].kind],
							 rc_jstr(c->origins[i].text)));
	return json_pack("{s:o, s:o, s:o, s:o, s:b, s:o}", "allow_origins", origins,
			 "allow_methods", rc_jstr(c->allow_methods), "allow_headers",
			 rc_jstr(c->allow_headers), "expose_headers", rc_jstr(c->expose_headers),
			 "allow_credentials", c->allow_credentials, "max_age_s",
			 c->max_age.len != 0 ? json_integer(strtol(c->max_age.p, NULL, 10))
					     : json_null());
}

/*
 * What router_cors() makes of @p rq on @p r: {"result", "headers": ["name:
 * value", ...]}; null when no policy applies.
 */
static json_t *router_cmd_cors_test(const struct router_route *r, const struct router_request *rq,
				    struct router_worker *rw, enum router_cors_result *res)
{
	static const char *const names[] = {"none", "preflight", "preflight_denied", "allowed",
					    "denied"};
	struct router_str f[ROUTER_CORS_FIELDS][2];
	char line[ROUTER_CORS_LIST_MAX + 64];
	uint32_t n;
	json_t *h;

	*res = ROUTER_CORS_NONE;
	if (router_cors_policy(r) == NULL)
		return json_null();
	*res = router_cors(r, rq, rw, f, &n);
	h = json_array();
	for (uint32_t i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%.*s: %.*s", (int)f[i][0].len, f[i][0].p,
			 (int)f[i][1].len, f[i][1].p);
		json_array_append_new(h, json_string(line));
	}
	return json_pack("{s:s, s:o}", "result", names[*res], "headers", h);
}

static json_t *router_cmd_config_json(const struct router_config *cfg)
{
	json_t *vhosts = json_array();

	for (uint32_t v = 0; v < cfg->n_vhosts; v++) {
		const struct router_vhost *vh = &cfg->vhosts[v];
		json_t *domains = json_array(), *routes = json_array();

		for (uint32_t i = 0; i < vh->n_domains; i++)
			json_array_append_new(domains, rc_jstr(vh->domains[i]));
		for (uint32_t i = 0; i < vh->n_routes; i++)
			json_array_append_new(routes, router_cmd_route_json(&vh->routes[i]));
		json_array_append_new(
			vhosts,
			json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "name", vh->name, "domains",
				  domains, "request_headers",
				  router_cmd_headers_json(&vh->request_headers), "response_headers",
				  router_cmd_headers_json(&vh->response_headers), "cors",
				  router_cmd_cors_json(&vh->cors), "routes", routes));
	}
	return json_pack("{s:s, s:o, s:o}", "name", cfg->name, "retry_budget",
			 cfg->retry_budget.enabled
				 ? json_pack("{s:i, s:i}", "budget_percent",
					     (int)cfg->retry_budget.budget_percent,
					     "min_retry_concurrency",
					     (int)cfg->retry_budget.min_retry_concurrency)
				 : json_null(),
			 "virtual_hosts", vhosts);
}

/* Every route config of the live snapshot, or the one named "name". */
static json_t *router_cmd_routes(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;
	const struct router_table *t = router_table_of(snap);
	json_t *v = json_object_get(req, "name"), *arr;
	const char *name = NULL;

	(void)c;
	(void)peer;
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return ctl_reply_error("http_routes: argument \"name\" must be a string");
		name = json_string_value(v);
		if (router_route_config_find(snap, name) < 0)
			return ctl_reply_error("http_routes: no route config named '%.64s'", name);
	}
	arr = json_array();
	for (uint32_t i = 0; t != NULL && i < t->n_configs; i++)
		if (name == NULL || strcmp(name, t->configs[i].name) == 0)
			json_array_append_new(arr, router_cmd_config_json(&t->configs[i]));
	return ctl_reply_ok(json_pack("{s:o, s:i, s:i}", "route_configs", arr, "regexes",
				      t != NULL ? (int)t->n_regex : 0, "regexes_interpreted",
				      t != NULL ? (int)t->n_regex_interp : 0));
}

#define ROUTER_CMD_MAX_HEADERS 64

/*
 * Run router_select() for {"config", "host", "path" (with an optional
 * "?query"), "method" (default GET), "headers": ["name:value", ...]} on the
 * live snapshot. The reply names the virtual host and route chosen (null: the
 * proxy would answer 404) and what the route would do with this request.
 */
static json_t *router_cmd_route_test(struct control *c, json_t *req,
				     const struct control_peer *peer)
{
	static const char cmd[] = "http_route_test";
	const struct cfg_snapshot *snap = cfg_live;
	struct router_str hdrs[ROUTER_CMD_MAX_HEADERS][2];
	struct router_request rq = {0};
	const struct router_route *r;
	const struct router_vhost *vh;
	const char *cfg_name, *host, *path, *q;
	enum router_cors_result cors = ROUTER_CORS_NONE;
	json_t *reply = NULL, *hv, *out, *v, *cj = NULL;
	struct router_worker *rw;
	size_t hlen, plen, i;
	int32_t rc;

	(void)c;
	(void)peer;
	if ((cfg_name = control_arg_string(req, cmd, "config", NULL, &reply)) == NULL ||
	    (host = control_arg_string(req, cmd, "host", &hlen, &reply)) == NULL ||
	    (path = control_arg_string(req, cmd, "path", &plen, &reply)) == NULL)
		return reply;
	if ((rc = router_route_config_find(snap, cfg_name)) < 0)
		return ctl_reply_error("%s: no route config named '%.64s'", cmd, cfg_name);
	rq.host = (struct router_str){host, (uint32_t)hlen};
	q = memchr(path, '?', plen);
	rq.path = (struct router_str){path, (uint32_t)(q != NULL ? (size_t)(q - path) : plen)};
	if (q != NULL)
		rq.query = (struct router_str){q + 1, (uint32_t)(plen - (size_t)(q - path) - 1)};
	v = json_object_get(req, "method");
	if (v != NULL && !json_is_string(v))
		return ctl_reply_error("%s: argument \"method\" must be a string", cmd);
	rq.method = v != NULL ? (struct router_str){json_string_value(v),
						    (uint32_t)json_string_length(v)}
			      : (struct router_str){"GET", 3};
	hv = json_object_get(req, "headers");
	if (hv != NULL && (!json_is_array(hv) || json_array_size(hv) > ROUTER_CMD_MAX_HEADERS))
		return ctl_reply_error("%s: argument \"headers\" must be an array of at most %d "
				       "\"name:value\" strings",
				       cmd, ROUTER_CMD_MAX_HEADERS);
	json_array_foreach(hv, i, v)
	{
		const char *s = json_string_value(v), *colon = s != NULL ? strchr(s, ':') : NULL;
		const char *val;

		if (colon == NULL || colon == s)
			return ctl_reply_error("%s: header %zu is not \"name:value\"", cmd, i);
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
		hdrs[i][0] = (struct router_str){s, (uint32_t)(colon - s)};
		hdrs[i][1] = (struct router_str){val, (uint32_t)strlen(val)};
		rq.n_headers++;
	}
	rq.headers = (const struct router_str(*)[2])hdrs;
	if ((rw = router_worker_create(NULL)) == NULL)
		return NULL;
	vh = router_vhost_select(snap, (uint32_t)rc, rq.host);
	r = router_select(snap, (uint32_t)rc, &rq, rw);
	if (r != NULL)
		cj = router_cmd_cors_test(r, &rq, rw, &cors);
	router_worker_free(rw);
	out = json_pack("{s:s, s:o, s:o}", "route_config", cfg_name, "virtual_host",
			vh != NULL ? json_string(vh->name) : json_null(), "route",
			r != NULL ? router_cmd_route_json(r) : json_null());
	if (cj != NULL)
		json_object_set_new(out, "cors", cj);
	if (r == NULL) {
		json_object_set_new(out, "status", json_integer(404));
		json_object_set_new(out, "reason",
				    json_string(vh == NULL ? "no virtual host" : "no route"));
	} else if (cors == ROUTER_CORS_PREFLIGHT || cors == ROUTER_CORS_PREFLIGHT_DENIED) {
		/* the proxy answers a preflight itself, whatever the action */
		json_object_set_new(out, "status",
				    json_integer(cors == ROUTER_CORS_PREFLIGHT ? 200 : 403));
	} else if (r->action == ROUTER_ACTION_REDIRECT) {
		char loc[2048];
		int n = router_redirect_location(r, &rq, "http", loc, sizeof(loc));

		json_object_set_new(out, "status", json_integer(r->redirect.code));
		json_object_set_new(out, "location", n > 0 ? json_string(loc) : json_null());
	} else if (r->action == ROUTER_ACTION_DIRECT) {
		json_object_set_new(out, "status", json_integer(r->direct.status));
	} else {
		char p[ROUTER_STR_MAX * 2];
		int n = router_rewrite_path(r, rq.path, p, sizeof(p));

		json_object_set_new(out, "upstream_path",
				    n > 0 ? json_stringn(p, (size_t)n) : rc_jstr(rq.path));
	}
	return ctl_reply_ok(out);
}

static const struct control_cmd router_cmds[] = {
	{"http_routes", router_cmd_routes, 0,
	 "the compiled HTTP route configs: virtual hosts, domains, routes, actions (name)"},
	{"http_route_test", router_cmd_route_test, 0,
	 "the route a request would take (config, host, path, method, headers)"},
};

const struct control_cmd_set router_commands = {"router", router_cmds, RTE_DIM(router_cmds)};
