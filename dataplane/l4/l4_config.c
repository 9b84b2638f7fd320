/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * l4: the config section of the L4 service data path (mode, mesh,
 * control_plane, workloads, services, external_services, policies, limits,
 * flows; struct cfg_section l4_cfg_section), validated as strictly as the rest
 * of the document, and the per-snapshot lookups the L4 path uses for a flow's
 * first packet: the VIP hash, the workload / external / mesh / control-plane
 * RIBs and the precomputed policy matrix.
 *
 * docs/CONFIG.md ("L4 services") is the schema this file enforces. Control
 * thread only, except the lookup functions at the end (any thread holding the
 * snapshot).
 */
#include <arpa/inet.h>
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
#include <rte_rib.h>
#include <rte_rib6.h>

#include "../config/config_json.h"
#include "l4.h"

/* Defaults for omitted fields; docs/CONFIG.md lists the same values. */
#define DEF_MAGLEV_SIZE	     65537
#define MAGLEV_MIN	     251
#define MAGLEV_MAX	     655373
#define DEF_MAX_CONNECTIONS  1024
#define DEF_MAX_PENDING	     128
#define DEF_CONSEC_FAILURES  5
#define DEF_BASE_EJECTION_MS 30000
#define DEF_MAX_EJECTION_PCT 50
#define DEF_HC_INTERVAL_MS   1000
#define DEF_HC_TIMEOUT_MS    500
#define DEF_HC_HEALTHY	     2
#define DEF_HC_UNHEALTHY     3
#define DEF_FLOW_CAPACITY    1048576
#define DEF_SYN_S	     30
#define DEF_ESTABLISHED_S    3600
#define DEF_FIN_S	     120
#define DEF_TIME_WAIT_S	     120
#define DEF_CLOSE_S	     10
#define DEF_UDP_S	     30
#define DEF_UDP_ASSURED_S    180
#define DEF_ICMP_S	     30
#define RATE_MAX	     100000000u
#define BURST_MAX	     1000000000u

/* Makes RIB and hash names unique across snapshots; control thread only. */
static unsigned int l4_cfg_seq;

struct l4_ctx {
	struct cfg_snapshot *s;
	struct cfg_error *err;
	unsigned int seq;
};

static const char *const proto_names[] = {"tcp", "udp", NULL};
static const uint8_t proto_values[] = {IPPROTO_TCP, IPPROTO_UDP};

/* ---- JSON helpers ---- */

static int parse_cidrs(const json_t *obj, const char *path, bool required, struct cfg_prefix *out,
		       uint8_t *n, struct cfg_error *err)
{
	char p[CFG_JPATH_LEN], pp[CFG_JPATH_LEN];
	json_t *arr, *v;
	size_t i;
	int rc;

	*n = 0;
	if ((rc = cfg_get_array(obj, "prefixes", path, required ? 1 : 0, L4_MAX_PREFIXES, required,
				"prefixes", &arr, err)) != 0)
		return rc;
	cfg_path_key(p, path, "prefixes");
	json_array_foreach(arr, i, v)
	{
		cfg_path_index(pp, p, i);
		if ((rc = cfg_parse_cidr(v, pp, &out[i], err)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (memcmp(&out[j], &out[i], sizeof(out[i])) == 0)
				return cfg_fail_got(err, pp, "a prefix not already in this list",
						    v);
		(*n)++;
	}
	return 0;
}

/* An endpoint's port for keys and messages: "*" (every service port) when 0. */
static const char *port_str(uint16_t port, char *buf, size_t size)
{
	if (port == 0)
		snprintf(buf, size, "*");
	else
		snprintf(buf, size, "%u", port);
	return buf;
}

static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	for (uint32_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

/* Label keys: 1..31 of [A-Za-z0-9_.-/]; values: 0..31 of [A-Za-z0-9_.-]. */
static bool valid_label(const char *s, bool key)
{
	size_t n = strlen(s);

	if (n >= L4_LABEL_MAX || (key && n == 0))
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-' ||
		      (key && *s == '/')))
			return false;
	return true;
}

/* ---- RIBs ---- */

static void host4(uint32_t *out, const uint8_t addr[16])
{
	uint32_t a;

	memcpy(&a, addr, 4);
	*out = ntohl(a);
}

/* Create the RIBs of one purpose for n4 / n6 prefixes (none for a family without any). */
static int rib_create(struct l4_ctx *c, const char *tag, uint32_t n4, uint32_t n6,
		      struct rte_rib **r4, struct rte_rib6 **r6)
{
	char name[32]; /* "MP_" + name must fit a mempool name */

	if (n4 > 0) {
		struct rte_rib_conf rc4 = {.ext_sz = 0, .max_nodes = (int)(2 * n4 + 8)};

		snprintf(name, sizeof(name), "c%s4_%u", tag, c->seq);
		*r4 = rte_rib_create(name, SOCKET_ID_ANY, &rc4);
		if (*r4 == NULL)
			return rte_errno == ENOMEM
				       ? -ENOMEM
				       : cfg_fail(c->err, "$", "cannot create RIB %s: %s", name,
						  rte_strerror(rte_errno));
	}
	if (n6 > 0) {
		struct rte_rib6_conf rc6 = {.ext_sz = 0, .max_nodes = (int)(2 * n6 + 8)};

		snprintf(name, sizeof(name), "c%s6_%u", tag, c->seq);
		*r6 = rte_rib6_create(name, SOCKET_ID_ANY, &rc6);
		if (*r6 == NULL)
			return rte_errno == ENOMEM
				       ? -ENOMEM
				       : cfg_fail(c->err, "$", "cannot create RIB %s: %s", name,
						  rte_strerror(rte_errno));
	}
	return 0;
}

/* The next hop of exactly @p p, if present. */
static bool rib_exact(struct rte_rib *r4, struct rte_rib6 *r6, const struct cfg_prefix *p,
		      uint64_t *nh)
{
	if (p->family == 4) {
		struct rte_rib_node *n;
		uint32_t a;

		host4(&a, p->addr);
		n = rte_rib_lookup_exact(r4, a, p->len);
		return n != NULL && rte_rib_get_nh(n, nh) == 0;
	}
	struct rte_rib6_node *n6 = rte_rib6_lookup_exact(r6, p->addr, p->len);

	return n6 != NULL && rte_rib6_get_nh(n6, nh) == 0;
}

/* Insert @p p with next hop @p nh, or overwrite its next hop. */
static int rib_set(struct rte_rib *r4, struct rte_rib6 *r6, const struct cfg_prefix *p, uint64_t nh)
{
	if (p->family == 4) {
		struct rte_rib_node *n;
		uint32_t a;

		host4(&a, p->addr);
		n = rte_rib_lookup_exact(r4, a, p->len);
		if (n == NULL)
			n = rte_rib_insert(r4, a, p->len);
		return n == NULL ? -ENOMEM : rte_rib_set_nh(n, nh);
	}
	struct rte_rib6_node *n6 = rte_rib6_lookup_exact(r6, p->addr, p->len);

	if (n6 == NULL)
		n6 = rte_rib6_insert(r6, p->addr, p->len);
	return n6 == NULL ? -ENOMEM : rte_rib6_set_nh(n6, nh);
}

static void count_families(const struct cfg_prefix *p, uint32_t n, uint32_t *n4, uint32_t *n6)
{
	for (uint32_t i = 0; i < n; i++) {
		*n4 += p[i].family == 4;
		*n6 += p[i].family == 6;
	}
}

/* ---- sections ---- */

/* "mesh" / "control_plane": {"prefixes": [...]}, into a RIB whose next hops mean nothing. */
static int parse_prefix_section(struct l4_ctx *c, const json_t *root, const char *key,
				const char *tag, uint32_t *n_out, struct cfg_prefix **out,
				struct rte_rib **r4, struct rte_rib6 **r6)
{
	static const char *const keys[] = {"prefixes", NULL};
	struct cfg_prefix pfx[L4_MAX_PREFIXES];
	char path[CFG_JPATH_LEN];
	uint32_t n4 = 0, n6 = 0;
	json_t *sec;
	uint8_t n;
	int rc;

	cfg_path_key(path, "$", key);
	if ((rc = cfg_get_section(root, key, "$", &sec, c->err)) != 0 || sec == NULL)
		return rc;
	if ((rc = cfg_check_keys(sec, path, keys, c->err)) != 0 ||
	    (rc = parse_cidrs(sec, path, false, pfx, &n, c->err)) != 0)
		return rc;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	memcpy(*out, pfx, n * sizeof(pfx[0]));
	*n_out = n;
	count_families(pfx, n, &n4, &n6);
	if ((rc = rib_create(c, tag, n4, n6, r4, r6)) != 0)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		if ((rc = rib_set(*r4, *r6, &pfx[i], i)) != 0)
			return rc;
	return 0;
}

static int parse_workloads(struct l4_ctx *c, const json_t *root)
{
	static const char *const keys[] = {"name", "namespace", "service", "prefixes", NULL};
	struct cfg_snapshot *s = c->s;
	uint32_t n4 = 0, n6 = 0;
	json_t *arr, *o;
	size_t i;
	int rc;

	if ((rc = cfg_get_array(root, "workloads", "$", 0, L4_MAX_WORKLOADS, false, "workloads",
				&arr, c->err)) != 0 ||
	    arr == NULL || json_array_size(arr) == 0)
		return rc;
	s->workloads = calloc(json_array_size(arr), sizeof(*s->workloads));
	if (s->workloads == NULL)
		return -ENOMEM;
	for (i = 0; i < json_array_size(arr); i++) {
		struct l4_workload *w = &s->workloads[i];
		char path[CFG_JPATH_LEN];

		if ((rc = cfg_get_item(arr, i, "$.workloads", "a workload object", keys, &o, path,
				       c->err)) != 0 ||
		    (rc = cfg_get_unique_name(o, path, w->name, s->workloads, sizeof(*w), i,
					      "workload", c->err)) != 0 ||
		    (rc = cfg_get_name(o, "namespace", path, w->ns, "", true, c->err)) != 0 ||
		    (rc = cfg_get_name(o, "service", path, w->service, "", true, c->err)) != 0 ||
		    (rc = parse_cidrs(o, path, true, w->prefixes, &w->n_prefixes, c->err)) != 0)
			return rc;
		s->n_workloads++;
		count_families(w->prefixes, w->n_prefixes, &n4, &n6);
	}
	if ((rc = rib_create(c, "wl", n4, n6, &s->wl_rib4, &s->wl_rib6)) != 0)
		return rc;
	/* Next hop: workload << 8 | prefix index, so a duplicate names its first owner. */
	for (uint32_t w = 0; w < s->n_workloads; w++) {
		for (uint8_t k = 0; k < s->workloads[w].n_prefixes; k++) {
			const struct cfg_prefix *p = &s->workloads[w].prefixes[k];
			char path[CFG_JPATH_LEN];
			uint64_t nh;

			if (rib_exact(s->wl_rib4, s->wl_rib6, p, &nh)) {
				char got[INET6_ADDRSTRLEN + 8];

				snprintf(path, sizeof(path), "$.workloads[%u].prefixes[%u]", w, k);
				inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, got,
					  sizeof(got));
				return cfg_fail(c->err, path,
						"expected a prefix no other workload has, got "
						"%s/%u (also $.workloads[%u].prefixes[%u])",
						got, p->len, (unsigned int)(nh >> 8),
						(unsigned int)(nh & 0xff));
			}
			if ((rc = rib_set(s->wl_rib4, s->wl_rib6, p, (uint64_t)w << 8 | k)) != 0)
				return rc;
		}
	}
	return 0;
}

static int parse_service_ports(struct l4_ctx *c, const json_t *o, const char *path,
			       struct l4_service *sv)
{
	static const char *const keys[] = {"port", "protocol", "target_port", NULL};
	char pp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *arr, *po;
	int rc;

	if ((rc = cfg_get_array(o, "ports", path, 1, L4_MAX_SVC_PORTS, true, "ports", &arr,
				c->err)) != 0)
		return rc;
	cfg_path_key(pp, path, "ports");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct l4_service_port *sp = &sv->ports[i];
		char kp[CFG_JPATH_LEN];
		uint8_t proto;

		if ((rc = cfg_get_item(arr, i, pp, "a port object", keys, &po, ip, c->err)) != 0)
			return rc;
		cfg_path_key(kp, ip, "port");
		if (json_object_get(po, "port") == NULL)
			return cfg_fail(c->err, kp, "required field missing; expected %s",
					CFG_PORT_EXPECTED);
		if ((rc = cfg_parse_port(json_object_get(po, "port"), kp, &sp->port, c->err)) !=
			    0 ||
		    (rc = cfg_get_enum(po, "protocol", ip, proto_names, 0, false, &proto,
				       c->err)) != 0 ||
		    (rc = cfg_get_u16(po, "target_port", ip, 1, 65535, sp->port, &sp->target_port,
				      c->err)) != 0)
			return rc;
		sp->protocol = proto_values[proto];
		sv->n_ports++;
	}
	return 0;
}

/* VIP:port:protocol into the VIP hash; a second service (or port) with the same is refused. */
static int add_vips(struct l4_ctx *c, uint32_t idx)
{
	const struct l4_service *sv = &c->s->services[idx];

	for (uint8_t i = 0; i < sv->n_ports; i++) {
		struct l4_vip_key key;
		char path[CFG_JPATH_LEN], a[INET6_ADDRSTRLEN + 2];
		void *data;
		int rc;

		memset(&key, 0, sizeof(key));
		memcpy(key.addr, sv->vip, 16);
		key.port_be = htons(sv->ports[i].port);
		key.proto = sv->ports[i].protocol;
		key.family = sv->family;
		if (rte_hash_lookup_data(c->s->vip_hash, &key, &data) >= 0) {
			uintptr_t d = (uintptr_t)data;

			snprintf(path, sizeof(path), "$.services[%u].ports[%u]", idx, i);
			cfg_fmt_addr(a, sizeof(a), sv->family, sv->vip);
			return cfg_fail(c->err, path,
					"expected a VIP, port and protocol no other service uses, "
					"got %s:%u/%s (also $.services[%u].ports[%u])",
					a, sv->ports[i].port,
					sv->ports[i].protocol == IPPROTO_TCP ? "tcp" : "udp",
					(unsigned int)(d >> 16), (unsigned int)(d & 0xffff));
		}
		rc = rte_hash_add_key_data(c->s->vip_hash, &key,
					   (void *)(uintptr_t)((uintptr_t)idx << 16 | i));
		if (rc != 0)
			return rc == -ENOMEM || rc == -ENOSPC ? -ENOMEM : rc;
	}
	return 0;
}

static int parse_snat(struct l4_ctx *c, const json_t *o, const char *path, struct l4_service *sv)
{
	char pp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *arr = json_object_get(o, "snat");
	size_t i;
	json_t *v;
	int rc;

	cfg_path_key(pp, path, "snat");
	if (sv->nat == L4_NAT_DNAT) {
		if (arr != NULL)
			return cfg_fail_got(c->err, pp, "no \"snat\" without \"nat\": \"fullnat\"",
					    arr);
		return 0;
	}
	if ((rc = cfg_get_array(o, "snat", path, 1, L4_MAX_SNAT, true,
				"local addresses (required for \"nat\": \"fullnat\")", &arr,
				c->err)) != 0)
		return rc;
	json_array_foreach(arr, i, v)
	{
		uint8_t f;

		cfg_path_index(ip, pp, i);
		if ((rc = cfg_parse_addr(v, ip, sv->family, "like the vip", &f, sv->snat[i],
					 c->err)) != 0)
			return rc;
		if (!net_is_own_address(c->s, f, sv->snat[i]))
			return cfg_fail_got(c->err, ip,
					    "an address of one of our interfaces (replies must "
					    "come back to this node)",
					    v);
		for (size_t j = 0; j < i; j++)
			if (memcmp(sv->snat[j], sv->snat[i], 16) == 0)
				return cfg_fail_got(c->err, ip,
						    "an address not already in this list", v);
		sv->n_snat++;
	}
	return 0;
}

static int parse_labels(struct l4_ctx *c, const json_t *o, const char *path, struct l4_endpoint *ep)
{
	char pp[CFG_JPATH_LEN], kp[CFG_JPATH_LEN];
	json_t *labels, *v;
	const char *key;

	if ((labels = json_object_get(o, "labels")) == NULL)
		return 0;
	cfg_path_key(pp, path, "labels");
	if (!json_is_object(labels))
		return cfg_fail_got(c->err, pp, "an object of labels", labels);
	if (json_object_size(labels) > L4_MAX_LABELS)
		return cfg_fail(c->err, pp, "expected at most %d labels, got %zu", L4_MAX_LABELS,
				json_object_size(labels));
	json_object_foreach(labels, key, v)
	{
		struct l4_label *l = &ep->labels[ep->n_labels];

		cfg_path_key(kp, pp, key);
		if (!valid_label(key, true))
			return cfg_fail(c->err, kp,
					"expected a label key of 1..31 letters, digits, '_', '.', "
					"'-' or '/'");
		if (!json_is_string(v) || !valid_label(json_string_value(v), false))
			return cfg_fail_got(
				c->err, kp,
				"a label value of 0..31 letters, digits, '_', '.' or '-'", v);
		snprintf(l->key, sizeof(l->key), "%s", key);
		snprintf(l->value, sizeof(l->value), "%s", json_string_value(v));
		ep->n_labels++;
	}
	return 0;
}

static int parse_endpoints(struct l4_ctx *c, const json_t *o, const char *path,
			   struct l4_service *sv, uint32_t idx)
{
	static const char *const keys[] = {"address", "port", "weight", "labels", NULL};
	struct cfg_snapshot *s = c->s;
	char pp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN], kp[CFG_JPATH_LEN];
	json_t *arr, *eo;
	int rc;

	if ((rc = cfg_get_array(o, "endpoints", path, 1, L4_MAX_SVC_ENDPOINTS, true, "endpoints",
				&arr, c->err)) != 0)
		return rc;
	cfg_path_key(pp, path, "endpoints");
	sv->endpoints = &s->endpoints[s->n_endpoints];
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct l4_endpoint *ep = &sv->endpoints[i];
		char a[INET6_ADDRSTRLEN + 2], ps[8];
		json_t *addr;
		uint8_t f;

		if ((rc = cfg_get_item(arr, i, pp, "an endpoint object", keys, &eo, ip, c->err)) !=
		    0)
			return rc;
		cfg_path_key(kp, ip, "address");
		addr = json_object_get(eo, "address");
		if (addr == NULL)
			return cfg_fail(c->err, kp, "required field missing; expected %s",
					CFG_ADDR_EXPECTED);
		if ((rc = cfg_parse_addr(addr, kp, sv->family, "like the vip", &f, ep->addr,
					 c->err)) != 0 ||
		    (rc = cfg_get_u16(eo, "port", ip, 1, 65535, 0, &ep->port, c->err)) != 0 ||
		    (rc = cfg_get_u16(eo, "weight", ip, 1, 1000, 1, &ep->weight, c->err)) != 0 ||
		    (rc = parse_labels(c, eo, ip, ep)) != 0)
			return rc;
		ep->family = f;
		ep->service = idx;
		/* One address may serve several explicit ports; an endpoint without a port
		 * serves every service port, so it collides with any other of its address. */
		for (size_t j = 0; j < i; j++) {
			const struct l4_endpoint *o2 = &sv->endpoints[j];

			if (memcmp(o2->addr, ep->addr, 16) != 0 ||
			    (o2->port != ep->port && o2->port != 0 && ep->port != 0))
				continue;
			cfg_fmt_addr(a, sizeof(a), f, ep->addr);
			return cfg_fail(c->err, ip,
					"expected an address and port no other endpoint of this "
					"service has, got %s:%s (also %s[%zu]; an endpoint without "
					"\"port\" uses every port)",
					a, port_str(ep->port, ps, sizeof(ps)), pp, j);
		}
		cfg_fmt_addr(a, sizeof(a), f, ep->addr);
		snprintf(ep->key, sizeof(ep->key), "%s/%s/%s:%s", sv->ns, sv->name, a,
			 port_str(ep->port, ps, sizeof(ps)));
		sv->n_endpoints++;
		s->n_endpoints++;
	}
	return 0;
}

static int parse_breaker_health(struct l4_ctx *c, const json_t *o, const char *path,
				struct l4_service *sv)
{
	static const char *const bkeys[] = {"max_connections",	    "max_pending",
					    "consecutive_failures", "base_ejection_ms",
					    "max_ejection_percent", NULL};
	static const char *const hkeys[] = {
		"interval_ms",	       "timeout_ms", "healthy_threshold",
		"unhealthy_threshold", "port",	     NULL};
	struct l4_breaker *b = &sv->breaker;
	struct l4_health *h = &sv->health;
	char bp[CFG_JPATH_LEN], hp[CFG_JPATH_LEN];
	json_t *bo, *ho;
	int rc;

	cfg_path_key(bp, path, "breaker");
	cfg_path_key(hp, path, "health");
	if ((rc = cfg_get_section(o, "breaker", path, &bo, c->err)) != 0 ||
	    (bo != NULL && (rc = cfg_check_keys(bo, bp, bkeys, c->err)) != 0) ||
	    (rc = cfg_get_u32(bo, "max_connections", bp, 1, 10000000, DEF_MAX_CONNECTIONS,
			      &b->max_connections, c->err)) != 0 ||
	    (rc = cfg_get_u32(bo, "max_pending", bp, 0, 10000000, DEF_MAX_PENDING, &b->max_pending,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(bo, "consecutive_failures", bp, 1, 1000, DEF_CONSEC_FAILURES,
			      &b->consecutive_failures, c->err)) != 0 ||
	    (rc = cfg_get_u32(bo, "base_ejection_ms", bp, 1, 3600000, DEF_BASE_EJECTION_MS,
			      &b->base_ejection_ms, c->err)) != 0 ||
	    (rc = cfg_get_u32(bo, "max_ejection_percent", bp, 0, 100, DEF_MAX_EJECTION_PCT,
			      &b->max_ejection_percent, c->err)) != 0)
		return rc;
	if ((rc = cfg_get_section(o, "health", path, &ho, c->err)) != 0 ||
	    (ho != NULL && (rc = cfg_check_keys(ho, hp, hkeys, c->err)) != 0) ||
	    (rc = cfg_get_u32(ho, "interval_ms", hp, 0, 3600000, DEF_HC_INTERVAL_MS,
			      &h->interval_ms, c->err)) != 0 ||
	    (rc = cfg_get_u32(ho, "timeout_ms", hp, 1, 600000, DEF_HC_TIMEOUT_MS, &h->timeout_ms,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(ho, "healthy_threshold", hp, 1, 100, DEF_HC_HEALTHY,
			      &h->healthy_threshold, c->err)) != 0 ||
	    (rc = cfg_get_u32(ho, "unhealthy_threshold", hp, 1, 100, DEF_HC_UNHEALTHY,
			      &h->unhealthy_threshold, c->err)) != 0 ||
	    (rc = cfg_get_u16(ho, "port", hp, 1, 65535, 0, &h->port, c->err)) != 0)
		return rc;
	if (h->interval_ms > 0 && h->timeout_ms > h->interval_ms) {
		char tp[CFG_JPATH_LEN];

		cfg_path_key(tp, hp, "timeout_ms");
		return cfg_fail(c->err, tp,
				"expected at most interval_ms (%u), got %u (a check must end "
				"before the next starts)",
				h->interval_ms, h->timeout_ms);
	}
	return 0;
}

static int parse_service(struct l4_ctx *c, const json_t *arr, uint32_t i)
{
	static const char *const keys[] = {
		"name",	       "namespace", "vip",	 "ports",   "lb",     "nat", "snat",
		"maglev_size", "reject",    "endpoints", "breaker", "health", NULL};
	static const char *const lb_names[] = {"maglev", "round_robin", "least_connections", NULL};
	static const char *const nat_names[] = {"dnat", "fullnat", NULL};
	static const char *const reject_names[] = {"drop", "reset", NULL};
	struct cfg_snapshot *s = c->s;
	struct l4_service *sv = &s->services[i];
	char path[CFG_JPATH_LEN], pp[CFG_JPATH_LEN];
	json_t *o, *vip;
	int rc;

	sv->limit_source = -1;
	sv->limit_service = -1;
	if ((rc = cfg_get_item(arr, i, "$.services", "a service object", keys, &o, path, c->err)) !=
		    0 ||
	    (rc = cfg_get_unique_name(o, path, sv->name, s->services, sizeof(*sv), i, "service",
				      c->err)) != 0 ||
	    (rc = cfg_get_name(o, "namespace", path, sv->ns, "", true, c->err)) != 0)
		return rc;
	snprintf(sv->key, sizeof(sv->key), "%s/%s", sv->ns, sv->name);

	cfg_path_key(pp, path, "vip");
	vip = json_object_get(o, "vip");
	if (vip == NULL)
		return cfg_fail(c->err, pp, "required field missing; expected %s",
				CFG_ADDR_EXPECTED);
	if ((rc = cfg_parse_addr(vip, pp, 0, NULL, &sv->family, sv->vip, c->err)) != 0)
		return rc;
	if (net_is_own_address(s, sv->family, sv->vip))
		return cfg_fail_got(c->err, pp,
				    "an address that is not one of our interface addresses", vip);

	if ((rc = parse_service_ports(c, o, path, sv)) != 0 || (rc = add_vips(c, i)) != 0 ||
	    (rc = cfg_get_enum(o, "lb", path, lb_names, L4_LB_MAGLEV, false, &sv->lb, c->err)) !=
		    0 ||
	    (rc = cfg_get_enum(o, "nat", path, nat_names, L4_NAT_DNAT, false, &sv->nat, c->err)) !=
		    0 ||
	    (rc = cfg_get_enum(o, "reject", path, reject_names, L4_REJECT_DROP, false, &sv->reject,
			       c->err)) != 0 ||
	    (rc = cfg_get_u32(o, "maglev_size", path, MAGLEV_MIN, MAGLEV_MAX, DEF_MAGLEV_SIZE,
			      &sv->maglev_size, c->err)) != 0)
		return rc;
	if (!is_prime(sv->maglev_size)) {
		cfg_path_key(pp, path, "maglev_size");
		return cfg_fail_got(c->err, pp, "a prime in 251..655373 (e.g. 65537)",
				    json_object_get(o, "maglev_size"));
	}
	if ((rc = parse_snat(c, o, path, sv)) != 0 ||
	    (rc = parse_endpoints(c, o, path, sv, i)) != 0)
		return rc;
	return parse_breaker_health(c, o, path, sv);
}

static int parse_services(struct l4_ctx *c, const json_t *root)
{
	struct cfg_snapshot *s = c->s;
	struct rte_hash_parameters hp = {0};
	char name[RTE_HASH_NAMESIZE];
	size_t total = 0, n;
	json_t *arr;
	int rc;

	if ((rc = cfg_get_array(root, "services", "$", 0, L4_MAX_SERVICES, false, "services", &arr,
				c->err)) != 0 ||
	    arr == NULL || json_array_size(arr) == 0)
		return rc;
	n = json_array_size(arr);
	for (size_t i = 0; i < n; i++)
		total += json_array_size(json_object_get(json_array_get(arr, i), "endpoints"));
	if (total > L4_MAX_ENDPOINTS)
		return cfg_fail(c->err, "$.services",
				"expected at most %d endpoints in all services, got %zu",
				L4_MAX_ENDPOINTS, total);
	s->services = calloc(n, sizeof(*s->services));
	s->endpoints = calloc(total > 0 ? total : 1, sizeof(*s->endpoints));
	if (s->services == NULL || s->endpoints == NULL)
		return -ENOMEM;

	snprintf(name, sizeof(name), "cvip_%u", c->seq);
	hp.name = name;
	hp.entries = RTE_MAX(64u, (uint32_t)n * L4_MAX_SVC_PORTS);
	hp.key_len = sizeof(struct l4_vip_key);
	hp.hash_func = rte_jhash;
	hp.socket_id = SOCKET_ID_ANY;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	s->vip_hash = rte_hash_create(&hp);
	if (s->vip_hash == NULL)
		return rte_errno == ENOMEM ? -ENOMEM
					   : cfg_fail(c->err, "$", "cannot create the VIP hash: %s",
						      rte_strerror(rte_errno));
	for (uint32_t i = 0; i < n; i++) {
		if ((rc = parse_service(c, arr, i)) != 0)
			return rc;
		s->n_services++;
	}
	return 0;
}

/* A DNS name (RFC 1035 labels of a-z 0-9 -, 1..63 each), optionally after "*.". */
static bool ext_host_ok(const char *h)
{
	size_t n = strlen(h), label = 0;

	if (strncmp(h, "*.", 2) == 0)
		h += 2, n -= 2;
	if (n == 0 || n > L4_HOST_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char ch = h[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || h[i - 1] == '-' || h[i - label] == '-')
				return false;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

static int ext_host_cmp(const void *a, const void *b)
{
	const struct l4_ext_host *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	/* qsort is not stable: document order among services declaring one name */
	return r != 0 ? r : (x->external > y->external) - (x->external < y->external);
}

/* $.external_services[i].hosts into s->ext_hosts (sorted by the caller). */
static int parse_ext_hosts(struct l4_ctx *c, const json_t *o, const char *path, uint32_t ext)
{
	struct cfg_snapshot *s = c->s;
	char hp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
	json_t *arr, *v;
	size_t k;
	int rc;

	if ((rc = cfg_get_array(o, "hosts", path, 1, L4_MAX_EXT_HOSTS, false, "hosts", &arr,
				c->err)) != 0 ||
	    arr == NULL)
		return rc;
	cfg_path_key(hp, path, "hosts");
	json_array_foreach(arr, k, v)
	{
		struct l4_ext_host *h = &s->ext_hosts[s->n_ext_hosts];
		const char *name = json_is_string(v) ? json_string_value(v) : "";

		cfg_path_index(ip, hp, k);
		if (!ext_host_ok(name))
			return cfg_fail_got(c->err, ip,
					    "a DNS name in lower case (labels of a-z, 0-9 and '-', "
					    "1..63 each, at most 253 in all) or \"*.\" and one",
					    v);
		for (uint32_t j = s->n_ext_hosts - s->externals[ext].n_hosts; j < s->n_ext_hosts;
		     j++)
			if (strcmp(s->ext_hosts[j].name, name) == 0)
				return cfg_fail_got(c->err, ip, "a host not already in this list",
						    v);
		snprintf(h->name, sizeof(h->name), "%s", name);
		h->external = ext;
		s->n_ext_hosts++;
		s->externals[ext].n_hosts++;
	}
	return 0;
}

static int parse_externals(struct l4_ctx *c, const json_t *root)
{
	static const char *const keys[] = {"name", "prefixes", "ports", "protocol", "hosts", NULL};
	struct cfg_snapshot *s = c->s;
	uint32_t n4 = 0, n6 = 0, n_entries = 0;
	json_t *arr, *o, *ports, *v;
	int rc;

	if ((rc = cfg_get_array(root, "external_services", "$", 0, L4_MAX_EXTERNALS, false,
				"external services", &arr, c->err)) != 0 ||
	    arr == NULL || json_array_size(arr) == 0)
		return rc;
	s->externals = calloc(json_array_size(arr), sizeof(*s->externals));
	s->ext_hosts = calloc(json_array_size(arr) * L4_MAX_EXT_HOSTS, sizeof(*s->ext_hosts));
	if (s->externals == NULL || s->ext_hosts == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct l4_external *e = &s->externals[i];
		char path[CFG_JPATH_LEN], pp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN];
		uint8_t proto;
		size_t k;

		if ((rc = cfg_get_item(arr, i, "$.external_services", "an external service object",
				       keys, &o, path, c->err)) != 0 ||
		    (rc = cfg_get_unique_name(o, path, e->name, s->externals, sizeof(*e), i,
					      "external service", c->err)) != 0 ||
		    (rc = parse_cidrs(o, path, true, e->prefixes, &e->n_prefixes, c->err)) != 0 ||
		    (rc = cfg_get_array(o, "ports", path, 1, L4_MAX_EXT_PORTS, true, "ports",
					&ports, c->err)) != 0 ||
		    (rc = cfg_get_enum(o, "protocol", path, proto_names, 0, false, &proto,
				       c->err)) != 0)
			return rc;
		e->protocol = proto_values[proto];
		cfg_path_key(pp, path, "ports");
		json_array_foreach(ports, k, v)
		{
			cfg_path_index(ip, pp, k);
			if ((rc = cfg_parse_port(v, ip, &e->ports[k], c->err)) != 0)
				return rc;
			for (size_t j = 0; j < k; j++)
				if (e->ports[j] == e->ports[k])
					return cfg_fail_got(c->err, ip,
							    "a port not already in this list", v);
			e->n_ports++;
		}
		if ((rc = parse_ext_hosts(c, o, path, (uint32_t)i)) != 0)
			return rc;
		s->n_externals++;
		count_families(e->prefixes, e->n_prefixes, &n4, &n6);
		n_entries += e->n_prefixes;
	}
	qsort(s->ext_hosts, s->n_ext_hosts, sizeof(*s->ext_hosts), ext_host_cmp);
	s->ext_entries = calloc(n_entries, sizeof(*s->ext_entries));
	if (s->ext_entries == NULL)
		return -ENOMEM;
	if ((rc = rib_create(c, "ext", n4, n6, &s->ext_rib4, &s->ext_rib6)) != 0)
		return rc;
	/* External services may share a prefix (one per port set); chain them. */
	n_entries = 0;
	for (uint32_t e = 0; e < s->n_externals; e++) {
		for (uint8_t k = 0; k < s->externals[e].n_prefixes; k++) {
			const struct cfg_prefix *p = &s->externals[e].prefixes[k];
			uint64_t nh;

			s->ext_entries[n_entries].external = e;
			s->ext_entries[n_entries].next =
				rib_exact(s->ext_rib4, s->ext_rib6, p, &nh) ? (int32_t)nh : -1;
			if ((rc = rib_set(s->ext_rib4, s->ext_rib6, p, n_entries)) != 0)
				return rc;
			n_entries++;
		}
	}
	return 0;
}

static bool wl_has(const struct cfg_snapshot *s, const char *ns, const char *service)
{
	for (uint32_t w = 0; w < s->n_workloads; w++)
		if ((ns == NULL || strcmp(s->workloads[w].ns, ns) == 0) &&
		    (service == NULL || strcmp(s->workloads[w].service, service) == 0))
			return true;
	return false;
}

static int parse_policy_from(struct l4_ctx *c, const json_t *o, const char *path,
			     struct l4_policy *p)
{
	static const char *const keys[] = {"namespace", "service", NULL};
	char fp[CFG_JPATH_LEN], kp[CFG_JPATH_LEN];
	json_t *from, *v;
	int rc;

	cfg_path_key(fp, path, "from");
	from = json_object_get(o, "from");
	if (from == NULL)
		return cfg_fail(c->err, fp,
				"required field missing; expected {\"namespace\": NAME or \"*\", "
				"\"service\": NAME or \"*\"}");
	if (!json_is_object(from))
		return cfg_fail_got(c->err, fp, "an object", from);
	if ((rc = cfg_check_keys(from, fp, keys, c->err)) != 0)
		return rc;
	for (int k = 0; k < 2; k++) {
		const char *key = k == 0 ? "namespace" : "service";
		char *buf = k == 0 ? p->from_ns : p->from_service;

		cfg_path_key(kp, fp, key);
		v = json_object_get(from, key);
		if (v == NULL)
			return cfg_fail(c->err, kp,
					"required field missing; expected a %s or \"*\"", key);
		if (json_is_string(v) && strcmp(json_string_value(v), "*") == 0) {
			snprintf(buf, CFG_NAME_MAX, "*");
			continue;
		}
		if ((rc = cfg_get_name(from, key, fp, buf, "", true, c->err)) != 0)
			return rc;
		/* Typo protection: a name no workload declares would never match. */
		if (!wl_has(c->s, k == 0 ? buf : NULL, k == 0 ? NULL : buf))
			return cfg_fail_got(c->err, kp,
					    k == 0 ? "\"*\" or the namespace of a workload in "
						     "$.workloads"
						   : "\"*\" or the service of a workload in "
						     "$.workloads",
					    v);
	}
	if (strcmp(p->from_ns, "*") != 0 && strcmp(p->from_service, "*") != 0 &&
	    !wl_has(c->s, p->from_ns, p->from_service))
		return cfg_fail(c->err, fp,
				"expected a namespace and service that one workload has together, "
				"got namespace \"%s\" and service \"%s\"",
				p->from_ns, p->from_service);
	return 0;
}

static int parse_policy_to(struct l4_ctx *c, const json_t *o, const char *path, struct l4_policy *p)
{
	static const char *const keys[] = {"service", "external", "ports", NULL};
	const struct cfg_snapshot *s = c->s;
	char tp[CFG_JPATH_LEN], kp[CFG_JPATH_LEN], ip[CFG_JPATH_LEN], list[200];
	json_t *to, *svc, *ext, *ports, *v;
	uint16_t tports[L4_MAX_EXT_PORTS];
	uint8_t n_tports;
	size_t i, o2 = 0;
	int rc;

	cfg_path_key(tp, path, "to");
	to = json_object_get(o, "to");
	if (to == NULL)
		return cfg_fail(c->err, tp,
				"required field missing; expected {\"service\": NAME} or "
				"{\"external\": NAME}");
	if (!json_is_object(to))
		return cfg_fail_got(c->err, tp, "an object", to);
	if ((rc = cfg_check_keys(to, tp, keys, c->err)) != 0)
		return rc;
	svc = json_object_get(to, "service");
	ext = json_object_get(to, "external");
	if ((svc == NULL) == (ext == NULL))
		return cfg_fail(c->err, tp,
				"expected exactly one of \"service\" or \"external\", got %s",
				svc == NULL ? "neither" : "both");
	p->to_external = ext != NULL;
	cfg_path_key(kp, tp, p->to_external ? "external" : "service");
	v = p->to_external ? ext : svc;
	p->target = UINT32_MAX;
	for (uint32_t k = 0; json_is_string(v) && !p->to_external && k < s->n_services; k++)
		if (strcmp(s->services[k].name, json_string_value(v)) == 0)
			p->target = k;
	if (json_is_string(v) && p->to_external && l4_external_find(s, json_string_value(v)) >= 0)
		p->target = (uint32_t)l4_external_find(s, json_string_value(v));
	if (p->target == UINT32_MAX)
		return cfg_fail_got(
			c->err, kp,
			p->to_external ? "the name of an external service in $.external_services"
				       : "the name of a service in $.services",
			v);
	if (p->to_external) {
		n_tports = s->externals[p->target].n_ports;
		memcpy(tports, s->externals[p->target].ports, n_tports * sizeof(tports[0]));
	} else {
		n_tports = s->services[p->target].n_ports;
		for (uint8_t k = 0; k < n_tports; k++)
			tports[k] = s->services[p->target].ports[k].port;
	}
	if ((rc = cfg_get_array(to, "ports", tp, 1, L4_MAX_EXT_PORTS, false, "ports", &ports,
				c->err)) != 0)
		return rc;
	if (ports == NULL) {
		p->port_mask = n_tports >= 32 ? UINT32_MAX : (1u << n_tports) - 1;
		return 0;
	}
	for (uint8_t k = 0; k < n_tports && o2 < sizeof(list); k++)
		o2 += (size_t)snprintf(list + o2, sizeof(list) - o2, "%s%u", k == 0 ? "" : ", ",
				       tports[k]);
	cfg_path_key(kp, tp, "ports");
	json_array_foreach(ports, i, v)
	{
		uint32_t bits = 0;
		uint16_t port = 0;
		char expected[260];

		cfg_path_index(ip, kp, i);
		if ((rc = cfg_parse_port(v, ip, &port, c->err)) != 0)
			return rc;
		for (uint8_t k = 0; k < n_tports; k++)
			if (tports[k] == port)
				bits |= 1u << k;
		if (bits == 0) {
			snprintf(expected, sizeof(expected), "a port of the target (%s)", list);
			return cfg_fail_got(c->err, ip, expected, v);
		}
		p->port_mask |= bits;
	}
	return 0;
}

static int parse_policies(struct l4_ctx *c, const json_t *root)
{
	static const char *const keys[] = {"name", "action", "from", "to", NULL};
	static const char *const actions[] = {"allow", "deny", NULL};
	struct cfg_snapshot *s = c->s;
	json_t *arr, *o;
	int rc;

	if ((rc = cfg_get_array(root, "policies", "$", 0, L4_MAX_POLICIES, false, "policies", &arr,
				c->err)) != 0 ||
	    arr == NULL || json_array_size(arr) == 0)
		return rc;
	s->policies = calloc(json_array_size(arr), sizeof(*s->policies));
	if (s->policies == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct l4_policy *p = &s->policies[i];
		char path[CFG_JPATH_LEN];
		uint8_t action;

		if ((rc = cfg_get_item(arr, i, "$.policies", "a policy object", keys, &o, path,
				       c->err)) != 0 ||
		    (rc = cfg_get_unique_name(o, path, p->name, s->policies, sizeof(*p), i,
					      "policy", c->err)) != 0 ||
		    (rc = cfg_get_enum(o, "action", path, actions, 0, true, &action, c->err)) !=
			    0 ||
		    (rc = parse_policy_from(c, o, path, p)) != 0 ||
		    (rc = parse_policy_to(c, o, path, p)) != 0)
			return rc;
		p->deny = action == 1;
		s->n_policies++;
	}
	return 0;
}

/*
 * The decision matrix: a row per workload plus row 0 for sources in no
 * workload, a column per service then per external service. A cell is the
 * union of the matching allow rules' port masks minus the union of the
 * matching deny rules' masks, so deny wins whatever the order. Row 0 matches
 * only rules whose from is "*" / "*".
 */
static int build_policy(struct cfg_snapshot *s)
{
	uint32_t rows = s->n_workloads + 1, cols = s->n_services + s->n_externals;
	uint32_t *deny;

	s->policy_cols = cols;
	if (cols == 0)
		return 0;
	s->policy = calloc((size_t)rows * cols, sizeof(*s->policy));
	deny = calloc((size_t)rows * cols, sizeof(*deny));
	if (s->policy == NULL || deny == NULL) {
		free(deny);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->n_policies; i++) {
		const struct l4_policy *p = &s->policies[i];
		uint32_t col = p->to_external ? s->n_services + p->target : p->target;
		bool any_ns = strcmp(p->from_ns, "*") == 0;
		bool any_svc = strcmp(p->from_service, "*") == 0;
		uint32_t *m = p->deny ? deny : s->policy;

		for (uint32_t r = 0; r < rows; r++) {
			const struct l4_workload *w = r > 0 ? &s->workloads[r - 1] : NULL;
			bool match = w == NULL ? any_ns && any_svc
					       : (any_ns || strcmp(p->from_ns, w->ns) == 0) &&
							 (any_svc ||
							  strcmp(p->from_service, w->service) == 0);

			if (match)
				m[(size_t)r * cols + col] |= p->port_mask;
		}
	}
	for (size_t i = 0; i < (size_t)rows * cols; i++)
		s->policy[i] &= ~deny[i];
	free(deny);
	return 0;
}

static int parse_limits(struct l4_ctx *c, const json_t *root)
{
	static const char *const keys[] = {
		"name",		 "service", "scope",  "connections_per_s",
		"packets_per_s", "burst",   "action", NULL};
	static const char *const scopes[] = {"source", "service", NULL};
	static const char *const actions[] = {"drop", "reset", NULL};
	struct cfg_snapshot *s = c->s;
	json_t *arr, *o, *v;
	int rc;

	if ((rc = cfg_get_array(root, "limits", "$", 0, L4_MAX_LIMITS, false, "limits", &arr,
				c->err)) != 0 ||
	    arr == NULL || json_array_size(arr) == 0)
		return rc;
	s->limits = calloc(json_array_size(arr), sizeof(*s->limits));
	if (s->limits == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct l4_limit *l = &s->limits[i];
		char path[CFG_JPATH_LEN], pp[CFG_JPATH_LEN];
		struct l4_service *sv = NULL;
		int32_t *slot;
		uint32_t burst;

		if ((rc = cfg_get_item(arr, i, "$.limits", "a limit object", keys, &o, path,
				       c->err)) != 0 ||
		    (rc = cfg_get_unique_name(o, path, l->name, s->limits, sizeof(*l), i, "limit",
					      c->err)) != 0)
			return rc;
		cfg_path_key(pp, path, "service");
		v = json_object_get(o, "service");
		if (v == NULL)
			return cfg_fail(c->err, pp,
					"required field missing; expected the name of a service in "
					"$.services");
		for (uint32_t k = 0; json_is_string(v) && k < s->n_services; k++)
			if (strcmp(s->services[k].name, json_string_value(v)) == 0)
				sv = &s->services[k];
		if (sv == NULL)
			return cfg_fail_got(c->err, pp, "the name of a service in $.services", v);
		l->service = (uint32_t)(sv - s->services);
		if ((rc = cfg_get_enum(o, "scope", path, scopes, 0, true, &l->scope, c->err)) !=
			    0 ||
		    (rc = cfg_get_enum(o, "action", path, actions, 0, false, &l->reject, c->err)) !=
			    0 ||
		    (rc = cfg_get_u32(o, "connections_per_s", path, 0, RATE_MAX, 0,
				      &l->connections_per_s, c->err)) != 0 ||
		    (rc = cfg_get_u32(o, "packets_per_s", path, 0, RATE_MAX, 0, &l->packets_per_s,
				      c->err)) != 0 ||
		    (rc = cfg_get_u32(o, "burst", path, 1, BURST_MAX, 0, &burst, c->err)) != 0)
			return rc;
		if (l->connections_per_s == 0 && l->packets_per_s == 0)
			return cfg_fail(c->err, path,
					"expected \"connections_per_s\" or \"packets_per_s\" above "
					"0, got neither");
		l->connections_burst = burst != 0 ? burst : l->connections_per_s;
		l->packets_burst = burst != 0 ? burst : l->packets_per_s;
		slot = l->scope == L4_LIMIT_SOURCE ? &sv->limit_source : &sv->limit_service;
		if (*slot >= 0) {
			cfg_path_key(pp, path, "scope");
			return cfg_fail(c->err, pp,
					"expected at most one \"%s\" limit per service, got a "
					"second for service %s (also $.limits[%d])",
					scopes[l->scope], sv->name, *slot);
		}
		*slot = (int32_t)i;
		s->n_limits++;
	}
	return 0;
}

static int parse_mode_flows(struct l4_ctx *c, const json_t *root, const struct cfg_snapshot *prev)
{
	static const char *const modes[] = {"router", "mesh", NULL};
	static const char *const fkeys[] = {"capacity", "timeouts_s", NULL};
	static const char *const tkeys[] = {"syn", "established", "fin",  "time_wait", "close",
					    "udp", "udp_assured", "icmp", NULL};
	static const char tp[] = "$.flows.timeouts_s";
	struct cfg_flows *f = &c->s->flows;
	json_t *flows, *to = NULL;
	uint8_t mode;
	int rc;

	if ((rc = cfg_get_enum(root, "mode", "$", modes, CFG_MODE_ROUTER, false, &mode, c->err)) !=
	    0)
		return rc;
	c->s->mode = mode;
	if ((rc = cfg_get_section(root, "flows", "$", &flows, c->err)) != 0 ||
	    (flows != NULL && (rc = cfg_check_keys(flows, "$.flows", fkeys, c->err)) != 0) ||
	    (rc = cfg_get_u32(flows, "capacity", "$.flows", 1024, 16777216, DEF_FLOW_CAPACITY,
			      &f->capacity, c->err)) != 0 ||
	    (flows != NULL &&
	     (rc = cfg_get_section(flows, "timeouts_s", "$.flows", &to, c->err)) != 0) ||
	    (to != NULL && (rc = cfg_check_keys(to, tp, tkeys, c->err)) != 0) ||
	    (rc = cfg_get_u32(to, "syn", tp, 1, 3600, DEF_SYN_S, &f->syn_s, c->err)) != 0 ||
	    (rc = cfg_get_u32(to, "established", tp, 1, 604800, DEF_ESTABLISHED_S,
			      &f->established_s, c->err)) != 0 ||
	    (rc = cfg_get_u32(to, "fin", tp, 1, 3600, DEF_FIN_S, &f->fin_s, c->err)) != 0 ||
	    (rc = cfg_get_u32(to, "time_wait", tp, 1, 3600, DEF_TIME_WAIT_S, &f->time_wait_s,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(to, "close", tp, 1, 3600, DEF_CLOSE_S, &f->close_s, c->err)) != 0 ||
	    (rc = cfg_get_u32(to, "udp", tp, 1, 86400, DEF_UDP_S, &f->udp_s, c->err)) != 0 ||
	    (rc = cfg_get_u32(to, "udp_assured", tp, 1, 86400, DEF_UDP_ASSURED_S, &f->udp_assured_s,
			      c->err)) != 0 ||
	    (rc = cfg_get_u32(to, "icmp", tp, 1, 3600, DEF_ICMP_S, &f->icmp_s, c->err)) != 0)
		return rc;
	c->s->startup.flow_capacity = f->capacity;
	if (prev != NULL && prev->startup.flow_capacity != f->capacity)
		return cfg_fail(c->err, "$.flows.capacity",
				"cannot change while running (restart meshdp to change it)");
	return 0;
}

static int l4_cfg_compile(struct cfg_snapshot *snap, const json_t *root,
			  const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	struct l4_ctx c = {.s = snap, .err = err, .seq = l4_cfg_seq++};
	int rc;

	if ((rc = parse_mode_flows(&c, root, ctx->prev)) != 0 ||
	    (rc = parse_prefix_section(&c, root, "mesh", "msh", &snap->n_mesh_prefixes,
				       &snap->mesh_prefixes, &snap->mesh_rib4, &snap->mesh_rib6)) !=
		    0 ||
	    (rc = parse_prefix_section(&c, root, "control_plane", "cp", &snap->n_cp_prefixes,
				       &snap->cp_prefixes, &snap->cp_rib4, &snap->cp_rib6)) != 0 ||
	    (rc = parse_workloads(&c, root)) != 0 || (rc = parse_services(&c, root)) != 0 ||
	    (rc = parse_externals(&c, root)) != 0 || (rc = parse_policies(&c, root)) != 0 ||
	    (rc = parse_limits(&c, root)) != 0)
		return rc;
	return build_policy(snap);
}

static void l4_cfg_free(struct cfg_snapshot *snap)
{
	rte_hash_free(snap->vip_hash);
	if (snap->wl_rib4 != NULL)
		rte_rib_free(snap->wl_rib4);
	if (snap->ext_rib4 != NULL)
		rte_rib_free(snap->ext_rib4);
	if (snap->mesh_rib4 != NULL)
		rte_rib_free(snap->mesh_rib4);
	if (snap->cp_rib4 != NULL)
		rte_rib_free(snap->cp_rib4);
	if (snap->wl_rib6 != NULL)
		rte_rib6_free(snap->wl_rib6);
	if (snap->ext_rib6 != NULL)
		rte_rib6_free(snap->ext_rib6);
	if (snap->mesh_rib6 != NULL)
		rte_rib6_free(snap->mesh_rib6);
	if (snap->cp_rib6 != NULL)
		rte_rib6_free(snap->cp_rib6);
	free(snap->services);
	free(snap->endpoints);
	free(snap->workloads);
	free(snap->externals);
	free(snap->policies);
	free(snap->limits);
	free(snap->mesh_prefixes);
	free(snap->cp_prefixes);
	free(snap->ext_entries);
	free(snap->ext_hosts);
	free(snap->policy);
}

static const char *const l4_cfg_keys[] = {
	"mode",	    "mesh",   "control_plane", "workloads", "services", "external_services",
	"policies", "limits", "flows",	       NULL};

const struct cfg_section l4_cfg_section = {
	.name = "l4",
	.keys = l4_cfg_keys,
	.compile = l4_cfg_compile,
	.free = l4_cfg_free,
	.audit = l4_audit,
};

/* ---- lookups (any thread that holds the snapshot) ---- */

/* The RIBs are read-only once built; their lookup API just lacks const. */
static bool rib_lpm(struct rte_rib *r4, struct rte_rib6 *r6, uint8_t family, const void *addr,
		    uint64_t *nh, void **node)
{
	if (family == 4) {
		struct rte_rib_node *n;
		uint32_t a;

		if (r4 == NULL)
			return false;
		memcpy(&a, addr, 4);
		n = rte_rib_lookup(r4, ntohl(a));
		*node = n;
		return n != NULL && rte_rib_get_nh(n, nh) == 0;
	}
	if (family != 6 || r6 == NULL)
		return false;
	struct rte_rib6_node *n6 = rte_rib6_lookup(r6, addr);

	*node = n6;
	return n6 != NULL && rte_rib6_get_nh(n6, nh) == 0;
}

int l4_workload_of(const struct cfg_snapshot *snap, uint8_t family, const void *addr)
{
	uint64_t nh;
	void *node;

	if (!rib_lpm(snap->wl_rib4, snap->wl_rib6, family, addr, &nh, &node))
		return -1;
	return (int)(nh >> 8);
}

int l4_external_of(const struct cfg_snapshot *snap, uint8_t family, const void *addr,
		   uint16_t port_be, uint8_t proto)
{
	uint16_t port = ntohs(port_be);
	uint64_t nh;
	void *node;

	if (!rib_lpm(snap->ext_rib4, snap->ext_rib6, family, addr, &nh, &node))
		return -1;
	/* Longest prefix first; a less specific one may list the port. */
	while (node != NULL) {
		for (int32_t e = (int32_t)nh; e >= 0; e = snap->ext_entries[e].next) {
			const struct l4_external *x =
				&snap->externals[snap->ext_entries[e].external];

			if (x->protocol != proto)
				continue;
			for (uint8_t k = 0; k < x->n_ports; k++)
				if (x->ports[k] == port)
					return (int)snap->ext_entries[e].external;
		}
		if (family == 4) {
			node = rte_rib_lookup_parent(node);
			if (node != NULL)
				rte_rib_get_nh(node, &nh);
		} else {
			node = rte_rib6_lookup_parent(node);
			if (node != NULL)
				rte_rib6_get_nh(node, &nh);
		}
	}
	return -1;
}

/* The first entry named @p name in the sorted snap->ext_hosts, or n_ext_hosts. */
static uint32_t ext_host_find(const struct cfg_snapshot *snap, const char *name)
{
	uint32_t lo = 0, hi = snap->n_ext_hosts;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (strcmp(snap->ext_hosts[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < snap->n_ext_hosts && strcmp(snap->ext_hosts[lo].name, name) == 0
		       ? lo
		       : snap->n_ext_hosts;
}

int l4_external_by_host(const struct cfg_snapshot *snap, const char *host, uint32_t len,
			uint16_t port)
{
	char name[L4_HOST_MAX + 3];
	int found = L4_EXT_HOST_UNKNOWN;
	uint32_t off = 0;

	if (len == 0 || len > L4_HOST_MAX || snap->n_ext_hosts == 0 || memchr(host, '\0', len))
		return L4_EXT_HOST_UNKNOWN;
	/* the host itself, then "*." + each shorter suffix ("*.b.c", "*.c") */
	for (uint32_t i = 0; i < len; i++)
		name[i + 2] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
	name[len + 2] = '\0';
	for (;;) {
		const char *key = name + 2 + off;

		if (off > 0) {
			key -= 2;
			name[off] = '*';
			name[off + 1] = '.';
		}
		/* a wildcard never takes an empty part (".a.b" is not "*.a.b"'s) */
		for (uint32_t e = off == 1 ? snap->n_ext_hosts : ext_host_find(snap, key);
		     e < snap->n_ext_hosts && strcmp(snap->ext_hosts[e].name, key) == 0; e++) {
			const struct l4_external *x = &snap->externals[snap->ext_hosts[e].external];

			found = L4_EXT_PORT_UNKNOWN;
			for (uint8_t k = 0; x->protocol == IPPROTO_TCP && k < x->n_ports; k++)
				if (x->ports[k] == port)
					return (int)snap->ext_hosts[e].external;
		}
		if (found != L4_EXT_HOST_UNKNOWN)
			return found; /* the most specific name decides */
		while (off < len && name[off + 2] != '.')
			off++;
		if (off >= len)
			return L4_EXT_HOST_UNKNOWN;
		off++; /* past the dot: the suffix after it */
	}
}

int l4_external_find(const struct cfg_snapshot *snap, const char *name)
{
	for (uint32_t k = 0; k < snap->n_externals; k++)
		if (strcmp(snap->externals[k].name, name) == 0)
			return (int)k;
	return -1;
}

bool l4_external_has_addr(const struct cfg_snapshot *snap, uint32_t ext, uint8_t family,
			  const void *addr)
{
	const struct l4_external *x = ext < snap->n_externals ? &snap->externals[ext] : NULL;
	const uint8_t *a = addr;

	for (uint8_t k = 0; x != NULL && k < x->n_prefixes; k++) {
		const struct cfg_prefix *p = &x->prefixes[k];
		uint8_t full = p->len / 8, rest = p->len % 8;

		if (p->family != family || memcmp(p->addr, a, full) != 0)
			continue;
		if (rest == 0 || ((p->addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))) == 0)
			return true;
	}
	return false;
}

bool l4_in_mesh(const struct cfg_snapshot *snap, uint8_t family, const void *addr)
{
	uint64_t nh;
	void *node;

	return rib_lpm(snap->mesh_rib4, snap->mesh_rib6, family, addr, &nh, &node);
}

bool l4_in_control_plane(const struct cfg_snapshot *snap, uint8_t family, const void *addr)
{
	uint64_t nh;
	void *node;

	return rib_lpm(snap->cp_rib4, snap->cp_rib6, family, addr, &nh, &node);
}
