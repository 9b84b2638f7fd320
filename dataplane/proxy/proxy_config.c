/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy: the config section of the terminating proxy ($.tcp, the TCP stack's
 * own settings, and $.listeners; struct cfg_section proxy_cfg_section),
 * validated as strictly as the rest of the document, and the listener hash
 * (l4_listener_lookup() in config.h) the L4 path offers local TCP segments by.
 * Listeners name services, so the section runs after the L4 one.
 *
 * docs/CONFIG.md ("Terminating TCP proxy") is the schema this file enforces.
 * Control thread only.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_memory.h>

#include "../config/config_json.h"
#include "../router/router.h"
#include "../tls/tls.h"
#include "proxy_internal.h"

/* Defaults for omitted fields; docs/CONFIG.md lists the same values. */
#define DEF_TCP_CAPACITY   65536
#define DEF_CONNECT_MS	   5000
#define DEF_IDLE_TIMEOUT_S 3600
#define DEF_TCP_BUF	   262144
#define DEF_SYN_BACKLOG	   1024
#define DEF_KA_IDLE_S	   7200 /* keepalive: Linux's tcp_keepalive_* defaults */
#define DEF_KA_INTERVAL_S  75
#define DEF_KA_PROBES	   9
#define DEF_HTTP_HDR_KB	   60 /* Envoy's max_request_headers_kb */
#define DEF_H2_STREAMS	   100
#define DEF_H2_HDR_LIST	   65536
#define DEF_H2_PER_S	   100

/* A listener port stays below the L4 path's health-check source ports (l4.h). */
#define PROXY_LISTENER_PORT_MAX (L4_HC_PORT_BASE - 1u)

static_assert(TCP_CC_NEWRENO == 0 && TCP_CC_CUBIC == 1,
	      "$.listeners[].tcp.congestion names are indexed by enum tcp_cc_algo");

/* Makes hash names unique across snapshots; control thread only. */
static unsigned int proxy_cfg_seq;

struct proxy_cfg_ctx {
	struct cfg_snapshot *s;
	struct cfg_error *err;
	unsigned int seq;
};

/* $.tcp: the TCP stack's own settings (the per-listener ones are in $.listeners[].tcp). */
static int parse_tcp(struct proxy_cfg_ctx *c, const json_t *root, const struct cfg_snapshot *prev)
{
	static const char *const keys[] = {"capacity", NULL};
	json_t *tcp;
	int rc;

	if ((rc = cfg_get_section(root, "tcp", "$", &tcp, c->err)) != 0 ||
	    (tcp != NULL && (rc = cfg_check_keys(tcp, "$.tcp", keys, c->err)) != 0) ||
	    (rc = cfg_get_u32(tcp, "capacity", "$.tcp", 1024, 16777216, DEF_TCP_CAPACITY,
			      &c->s->tcp.capacity, c->err)) != 0)
		return rc;
	c->s->startup.tcp_capacity = c->s->tcp.capacity;
	if (prev != NULL && prev->startup.tcp_capacity != c->s->tcp.capacity)
		return cfg_fail(c->err, "$.tcp.capacity",
				"cannot change while running (restart meshdp to change it)");
	return 0;
}

/* $.listeners[i].tcp; every field optional, keepalive off unless "keepalive" is given. */
static int parse_listener_tcp(struct proxy_cfg_ctx *c, const json_t *o, const char *path,
			      struct cfg_listener_tcp *t)
{
	static const char *const keys[] = {"congestion", "nodelay",	"ecn",	     "rcvbuf",
					   "sndbuf",	 "syn_backlog", "keepalive", NULL};
	static const char *const kkeys[] = {"idle_s", "interval_s", "probes", NULL};
	/* Index = enum tcp_cc_algo (the static_assert at the top of this file). */
	static const char *const cc_names[] = {"newreno", "cubic", NULL};
	char tp[CFG_JPATH_LEN], kp[CFG_JPATH_LEN];
	json_t *tcp, *ka;
	int rc;

	cfg_path_key(tp, path, "tcp");
	cfg_path_key(kp, tp, "keepalive");
	if ((rc = cfg_get_section(o, "tcp", path, &tcp, c->err)) != 0 ||
	    (tcp != NULL && (rc = cfg_check_keys(tcp, tp, keys, c->err)) != 0) ||
	    (rc = cfg_get_enum(tcp, "congestion", tp, cc_names, TCP_CC_CUBIC, false, &t->congestion,
			       c->err)) != 0 ||
	    (rc = cfg_get_bool(tcp, "nodelay", tp, true, &t->nodelay, c->err)) != 0 ||
	    (rc = cfg_get_bool(tcp, "ecn", tp, false, &t->ecn, c->err)) != 0 ||
	    (rc = cfg_get_u32(tcp, "rcvbuf", tp, 4096, 67108864, DEF_TCP_BUF, &t->rcvbuf,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(tcp, "sndbuf", tp, 4096, 67108864, DEF_TCP_BUF, &t->sndbuf,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(tcp, "syn_backlog", tp, 1, 1048576, DEF_SYN_BACKLOG, &t->syn_backlog,
			      c->err)) != 0 ||
	    (tcp != NULL && (rc = cfg_get_section(tcp, "keepalive", tp, &ka, c->err)) != 0))
		return rc;
	if (tcp == NULL || ka == NULL)
		return 0;
	if ((rc = cfg_check_keys(ka, kp, kkeys, c->err)) != 0 ||
	    (rc = cfg_get_u32(ka, "idle_s", kp, 1, 86400, DEF_KA_IDLE_S, &t->keepalive_idle_s,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(ka, "interval_s", kp, 1, 3600, DEF_KA_INTERVAL_S,
			      &t->keepalive_interval_s, c->err)) != 0 ||
	    (rc = cfg_get_u32(ka, "probes", kp, 1, 255, DEF_KA_PROBES, &t->keepalive_probes,
			      c->err)) != 0)
		return rc;
	return 0;
}

/*
 * "cluster" ("<namespace>/<name>" or a service name) and "cluster_port" (one of
 * that service's TCP ports; default its first TCP port).
 */
static int parse_listener_cluster(struct proxy_cfg_ctx *c, const json_t *o, const char *path,
				  struct cfg_listener *l)
{
	const struct cfg_snapshot *s = c->s;
	const struct l4_service *sv = NULL;
	char pp[CFG_JPATH_LEN], list[L4_MAX_SVC_PORTS * 7],
		expected[sizeof(list) + L4_KEY_MAX + 32];
	json_t *v = json_object_get(o, "cluster");
	const char *name;
	size_t n = 0;
	int first = -1;
	uint16_t port;
	int rc;

	cfg_path_key(pp, path, "cluster");
	if (v == NULL)
		return cfg_fail(c->err, pp,
				"required field missing; expected the name or "
				"\"<namespace>/<name>\" of a service in $.services");
	name = json_is_string(v) ? json_string_value(v) : "";
	for (uint32_t k = 0; k < s->n_services && sv == NULL; k++)
		if (strcmp(strchr(name, '/') != NULL ? s->services[k].key : s->services[k].name,
			   name) == 0)
			sv = &s->services[k];
	if (sv == NULL)
		return cfg_fail_got(c->err, pp,
				    "the name or \"<namespace>/<name>\" of a service in $.services",
				    v);
	l->service = (uint32_t)(sv - s->services);
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
		return cfg_fail_got(c->err, pp, "a service with a TCP port (this one has UDP only)",
				    v);
	if ((rc = cfg_get_u16(o, "cluster_port", path, 1, 65535, sv->ports[first].port, &port,
			      c->err)) != 0)
		return rc;
	for (uint8_t k = 0; k < sv->n_ports; k++) {
		if (sv->ports[k].protocol == IPPROTO_TCP && sv->ports[k].port == port) {
			l->service_port = k;
			l->target_port = sv->ports[k].target_port;
			return 0;
		}
	}
	cfg_path_key(pp, path, "cluster_port");
	snprintf(expected, sizeof(expected), "a TCP port of service %s (%s)", sv->key, list);
	return cfg_fail_got(c->err, pp, expected, json_object_get(o, "cluster_port"));
}

/*
 * "address" and "port": a local address, a port below the health-check range,
 * below the full-NAT source ports on a snat address, and a pair no other
 * listener (or service VIP) has. Adds the pair to the listener hash.
 */
static int parse_listener_addr(struct proxy_cfg_ctx *c, const json_t *o, const char *path,
			       uint32_t idx)
{
	struct cfg_snapshot *s = c->s;
	struct cfg_listener *l = &s->listeners[idx];
	char ap[CFG_JPATH_LEN], pp[CFG_JPATH_LEN], a[INET6_ADDRSTRLEN + 2], expected[96];
	json_t *addr = json_object_get(o, "address"), *v;
	struct l4_vip_key key;
	void *data;
	int rc;

	cfg_path_key(ap, path, "address");
	cfg_path_key(pp, path, "port");
	if (addr == NULL)
		return cfg_fail(c->err, ap, "required field missing; expected %s",
				CFG_ADDR_EXPECTED);
	if ((rc = cfg_parse_addr(addr, ap, 0, NULL, &l->family, l->addr, c->err)) != 0)
		return rc;
	if (!net_is_own_address(s, l->family, l->addr))
		return cfg_fail_got(c->err, ap, "an address of one of our interfaces", addr);
	snprintf(expected, sizeof(expected),
		 "an integer in 1..%u (%u and up are the node's health-check source ports)",
		 PROXY_LISTENER_PORT_MAX, PROXY_LISTENER_PORT_MAX + 1);
	v = json_object_get(o, "port");
	if (v == NULL)
		return cfg_fail(c->err, pp, "required field missing; expected %s", expected);
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > PROXY_LISTENER_PORT_MAX)
		return cfg_fail_got(c->err, pp, expected, v);
	l->port = (uint16_t)json_integer_value(v);
	for (uint32_t k = 0; k < s->n_services && l->port >= L4_SNAT_PORT_MIN; k++) {
		const struct l4_service *sv = &s->services[k];

		for (uint8_t j = 0; sv->family == l->family && j < sv->n_snat; j++)
			if (memcmp(sv->snat[j], l->addr, 16) == 0)
				return cfg_fail(
					c->err, pp,
					"expected a port below %u on a full-NAT source address "
					"(%u..%u are full-NAT source ports of "
					"$.services[%u].snat[%u]), "
					"got %u",
					L4_SNAT_PORT_MIN, L4_SNAT_PORT_MIN, PROXY_LISTENER_PORT_MAX,
					k, j, l->port);
	}
	cfg_fmt_addr(a, sizeof(a), l->family, l->addr);
	/* Unreachable while VIPs may not be interface addresses; kept should that change. */
	if (s->vip_hash != NULL) {
		struct l4_service_ref ref =
			l4_service_lookup(s, l->family, l->addr, htons(l->port), IPPROTO_TCP);

		if (ref.service >= 0)
			return cfg_fail(c->err, path,
					"expected an address and port no service VIP uses, got "
					"%s:%u/tcp (also $.services[%d].ports[%d])",
					a, l->port, ref.service, ref.port);
	}
	memset(&key, 0, sizeof(key));
	memcpy(key.addr, l->addr, 16);
	key.port_be = htons(l->port);
	key.proto = IPPROTO_TCP;
	key.family = l->family;
	if (rte_hash_lookup_data(s->listener_hash, &key, &data) >= 0)
		return cfg_fail(c->err, path,
				"expected an address and port no other listener uses, got %s:%u "
				"(also $.listeners[%u])",
				a, l->port, (unsigned int)(uintptr_t)data);
	rc = rte_hash_add_key_data(s->listener_hash, &key, (void *)(uintptr_t)idx);
	return rc == 0 ? 0 : rc == -ENOMEM || rc == -ENOSPC ? -ENOMEM : rc;
}

/* $.listeners[i].http.http2: HTTP/2 from clients, and its limits (dataplane/h2). */
static int parse_listener_h2(struct proxy_cfg_ctx *c, const json_t *ho, const char *hp,
			     struct proxy_h2_opts *o)
{
	static const char *const keys[] = {"enabled",
					   "max_concurrent_streams",
					   "max_header_list_size",
					   "initial_window_size",
					   "connection_window",
					   "max_resets_per_s",
					   "max_control_frames_per_s",
					   "max_empty_data_per_s",
					   "window_stall_timeout_ms",
					   NULL};
	struct h2_limits *l = &o->lim;
	char p[CFG_JPATH_LEN];
	json_t *h;
	int rc;

	cfg_path_key(p, hp, "http2");
	if ((rc = cfg_get_section(ho, "http2", hp, &h, c->err)) != 0 ||
	    (h != NULL && (rc = cfg_check_keys(h, p, keys, c->err)) != 0) ||
	    (rc = cfg_get_bool(h, "enabled", p, false, &o->enabled, c->err)) != 0 ||
	    (rc = cfg_get_u32(h, "max_concurrent_streams", p, 1, 10000, DEF_H2_STREAMS,
			      &l->max_concurrent_streams, c->err)) != 0 ||
	    (rc = cfg_get_u32(h, "max_header_list_size", p, 1024, 1048576, DEF_H2_HDR_LIST,
			      &l->max_header_list_size, c->err)) != 0 ||
	    (rc = cfg_get_u32(h, "initial_window_size", p, 65535, 16777216, 65535,
			      &l->initial_window_size, c->err)) != 0 ||
	    (rc = cfg_get_u32(h, "connection_window", p, 65535, 1073741824, 1048576,
			      &l->connection_window, c->err)) != 0 ||
	    (rc = cfg_get_u32(h, "max_resets_per_s", p, 1, 1000000, DEF_H2_PER_S,
			      &l->max_resets_per_s, c->err)) != 0 ||
	    (rc = cfg_get_u32(h, "max_control_frames_per_s", p, 1, 1000000, DEF_H2_PER_S,
			      &l->max_control_per_s, c->err)) != 0 ||
	    (rc = cfg_get_u32(h, "max_empty_data_per_s", p, 1, 1000000, DEF_H2_PER_S,
			      &l->max_empty_data_per_s, c->err)) != 0 ||
	    (rc = cfg_get_u32(h, "window_stall_timeout_ms", p, 100, 3600000, 10000,
			      &l->window_stall_ms, c->err)) != 0)
		return rc;
	return 0;
}

/*
 * An HTTP listener's "route_config" (the name of one of $.route_configs: the
 * router's section runs before this one) and its "http" options. Its clusters
 * come from the routes, so it has no "cluster" of its own.
 */
static int parse_listener_http(struct proxy_cfg_ctx *c, const json_t *o, const char *path,
			       uint32_t idx)
{
	static const char *const keys[] = {"max_request_headers_kb",
					   "request_timeout_ms",
					   "allow_connect",
					   "xff",
					   "request_id",
					   "server_name",
					   "outbound_policy",
					   "http2",
					   NULL};
	/* Index = enum proxy_xff. */
	static const char *const xffs[] = {"append", "overwrite", "none", NULL};
	/* Index = enum proxy_outbound. */
	static const char *const outbound[] = {"allow_any", "registry_only", NULL};
	struct proxy_http_opts *h = &((struct proxy_l7_cfg *)c->s->proxy_l7)->http[idx];
	char hp[CFG_JPATH_LEN], pp[CFG_JPATH_LEN];
	uint32_t kb;
	json_t *ho;
	int rc;

	cfg_path_key(hp, path, "http");
	if (json_object_get(o, "cluster") != NULL || json_object_get(o, "cluster_port") != NULL) {
		cfg_path_key(pp, path,
			     json_object_get(o, "cluster") != NULL ? "cluster" : "cluster_port");
		return cfg_fail(c->err, pp,
				"expected no cluster on an http listener (its routes, in "
				"route_config, name the clusters)");
	}
	if ((rc = cfg_get_name(o, "route_config", path, h->route_config, "", true, c->err)) != 0 ||
	    (rc = cfg_get_section(o, "http", path, &ho, c->err)) != 0 ||
	    (ho != NULL && (rc = cfg_check_keys(ho, hp, keys, c->err)) != 0) ||
	    (rc = cfg_get_u32(ho, "max_request_headers_kb", hp, 1, 96, DEF_HTTP_HDR_KB, &kb,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(ho, "request_timeout_ms", hp, 0, 600000, 0, &h->request_timeout_ms,
			      c->err)) != 0 ||
	    (rc = cfg_get_bool(ho, "allow_connect", hp, false, &h->allow_connect, c->err)) != 0 ||
	    (rc = cfg_get_enum(ho, "xff", hp, xffs, PROXY_XFF_APPEND, false, &h->xff, c->err)) !=
		    0 ||
	    (rc = cfg_get_bool(ho, "request_id", hp, true, &h->request_id, c->err)) != 0 ||
	    (rc = cfg_get_enum(ho, "outbound_policy", hp, outbound, PROXY_OUTBOUND_ALLOW_ANY, false,
			       &h->outbound, c->err)) != 0 ||
	    (rc = cfg_get_str(ho, "server_name", hp, h->server_name, sizeof(h->server_name),
			      "meshdp", NULL, c->err)) != 0 ||
	    (rc = parse_listener_h2(c, ho, hp, &h->h2)) != 0)
		return rc;
	h->max_request_headers = kb * 1024;
	/* checked here, looked up by name per request (indexes change across swaps) */
	if (router_route_config_find(c->s, h->route_config) < 0) {
		cfg_path_key(pp, path, "route_config");
		return cfg_fail_got(c->err, pp, "the name of one of $.route_configs",
				    json_object_get(o, "route_config"));
	}
	return 0;
}

static int parse_listeners(struct proxy_cfg_ctx *c, const json_t *root)
{
	static const char *const keys[] = {"name",
					   "type",
					   "address",
					   "port",
					   "cluster",
					   "cluster_port",
					   "connect_timeout_ms",
					   "idle_timeout_s",
					   "max_connections",
					   "tcp",
					   "tls",
					   "route_config",
					   "http",
					   NULL};
	/* Index = enum cfg_listener_type. */
	static const char *const types[] = {"tcp_proxy", "http", NULL};
	struct cfg_snapshot *s = c->s;
	struct proxy_l7_cfg *l7 = s->proxy_l7;
	struct rte_hash_parameters hp = {0};
	char name[RTE_HASH_NAMESIZE];
	json_t *arr, *o;
	size_t n;
	int rc;

	if ((rc = cfg_get_array(root, "listeners", "$", 0, CFG_MAX_LISTENERS, false, "listeners",
				&arr, c->err)) != 0 ||
	    arr == NULL || json_array_size(arr) == 0)
		return rc;
	n = json_array_size(arr);
	s->listeners = calloc(n, sizeof(*s->listeners));
	l7->http = calloc(n, sizeof(*l7->http));
	if (s->listeners == NULL || l7->http == NULL)
		return -ENOMEM;
	l7->n_listeners = (uint32_t)n;
	snprintf(name, sizeof(name), "clsn_%u", c->seq);
	hp.name = name;
	hp.entries = RTE_MAX(64u, (uint32_t)n * 2);
	hp.key_len = sizeof(struct l4_vip_key);
	hp.hash_func = rte_jhash;
	hp.socket_id = SOCKET_ID_ANY;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	s->listener_hash = rte_hash_create(&hp);
	if (s->listener_hash == NULL)
		return rte_errno == ENOMEM
			       ? -ENOMEM
			       : cfg_fail(c->err, "$", "cannot create the listener hash: %s",
					  rte_strerror(rte_errno));
	for (uint32_t i = 0; i < n; i++) {
		struct cfg_listener *l = &s->listeners[i];
		char path[CFG_JPATH_LEN];

		if ((rc = cfg_get_item(arr, i, "$.listeners", "a listener object", keys, &o, path,
				       c->err)) != 0 ||
		    (rc = cfg_get_unique_name(o, path, l->name, s->listeners, sizeof(*l), i,
					      "listener", c->err)) != 0 ||
		    (rc = cfg_get_enum(o, "type", path, types, 0, true, &l->type, c->err)) != 0 ||
		    (rc = parse_listener_addr(c, o, path, i)) != 0 ||
		    (rc = l->type == CFG_LISTENER_HTTP
				  ? parse_listener_http(c, o, path, i)
				  : parse_listener_cluster(c, o, path, l)) != 0 ||
		    (rc = cfg_get_u32(o, "connect_timeout_ms", path, 1, 600000, DEF_CONNECT_MS,
				      &l->connect_timeout_ms, c->err)) != 0 ||
		    (rc = cfg_get_u32(o, "idle_timeout_s", path, 0, 86400, DEF_IDLE_TIMEOUT_S,
				      &l->idle_timeout_s, c->err)) != 0 ||
		    (rc = cfg_get_u32(o, "max_connections", path, 0, 16777216, 0,
				      &l->max_connections, c->err)) != 0 ||
		    (rc = parse_listener_tcp(c, o, path, &l->tcp)) != 0 ||
		    (rc = tls_cfg_listener(s, i, o, path, c->err)) != 0)
			return rc;
		s->n_listeners++;
	}
	return 0;
}

static int proxy_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			     const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	struct proxy_cfg_ctx c = {.s = snap, .err = err, .seq = proxy_cfg_seq++};
	int rc;

	snap->proxy_l7 = calloc(1, sizeof(struct proxy_l7_cfg));
	if (snap->proxy_l7 == NULL)
		return -ENOMEM;
	if ((rc = parse_tcp(&c, root, ctx->prev)) != 0)
		return rc;
	return parse_listeners(&c, root);
}

static void proxy_cfg_free(struct cfg_snapshot *snap)
{
	struct proxy_l7_cfg *l7 = snap->proxy_l7;

	tls_cfg_free(snap);
	rte_hash_free(snap->listener_hash);
	free(snap->listeners);
	if (l7 != NULL)
		free(l7->http);
	free(l7);
	snap->proxy_l7 = NULL;
}

static const char *const proxy_cfg_keys[] = {"tcp", "listeners", NULL};

const struct cfg_section proxy_cfg_section = {
	.name = "proxy",
	.keys = proxy_cfg_keys,
	.compile = proxy_cfg_compile,
	.free = proxy_cfg_free,
};
