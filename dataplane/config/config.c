/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: parse a JSON document, validate it strictly and compile it into a
 * struct cfg_snapshot (interfaces, next hops, the list of FIB entries). The FIBs
 * themselves, publishing and lookups live in config_fib.c.
 *
 * Every refusal names the JSON path and says what was expected and what was
 * found; docs/CONFIG.md is the schema this file enforces. Control thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

/* Defaults for omitted fields; docs/CONFIG.md lists the same values. */
#define DEF_NODE_NAME	   "meshdp"
#define DEF_CONTROL_SOCKET "/run/meshdp/meshdp.sock"
#define DEF_ADMIN_LISTEN   "127.0.0.1:9901"
#define DEF_REACHABLE_MS   30000
#define DEF_STALE_MS	   60000
#define DEF_RETRANS_MS	   1000
#define DEF_PROBES	   3
#define DEF_NEIGH_CAPACITY 65536
#define DEF_RX_BURST	   32
#define DEF_TX_BURST	   32
#define DEF_DRAIN_US	   100
#define DEF_IDLE_POLLS	   2000
#define DEF_IDLE_SLEEP_US  50

/* Where each FIB entry came from, for "already routed by ..." messages. */
struct origin {
	char path[CFG_JPATH_LEN];
};

struct compile_ctx {
	struct cfg_snapshot *snap;
	struct cfg_error *err;
	const struct cfg_port_info *ports;
	unsigned int n_ports;
	struct origin *origins; /* parallel to snap->routes */
	uint32_t max_entries;
	uint32_t max_nexthops;
};

static bool in_prefix4(uint32_t a, const struct cfg_prefix4 *p)
{
	return ((a ^ p->addr) & cfg_mask4(p->len)) == 0;
}

static bool in_prefix6(const uint8_t a[16], const uint8_t pfx[16], uint8_t len)
{
	uint8_t x[16], y[16];

	cfg_mask6(x, a, len);
	cfg_mask6(y, pfx, len);
	return memcmp(x, y, 16) == 0;
}

static void fmt4(char *buf, size_t size, uint32_t a, int len)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, s, sizeof(s));
	if (len < 0)
		snprintf(buf, size, "%s", s);
	else
		snprintf(buf, size, "%s/%d", s, len);
}

static void fmt6(char *buf, size_t size, const uint8_t a[16], int len)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, s, sizeof(s));
	if (len < 0)
		snprintf(buf, size, "%s", s);
	else
		snprintf(buf, size, "%s/%d", s, len);
}

static bool is_link_local6(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* "127.x.y.z:PORT", "[::1]:PORT" or "" (admin HTTP off). */
static bool valid_listen(const char *s)
{
	const char *port;
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned int v = 0;
	int digits = 0;

	if (*s == '\0')
		return true;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		struct in6_addr a6;

		if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(addr))
			return false;
		memcpy(addr, s + 1, (size_t)(close - s - 1));
		addr[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, addr, &a6) != 1 || !IN6_IS_ADDR_LOOPBACK(&a6))
			return false;
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		struct in_addr a4;

		if (colon == NULL || (size_t)(colon - s) >= sizeof(addr))
			return false;
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
		if (inet_pton(AF_INET, addr, &a4) != 1 || (ntohl(a4.s_addr) >> 24) != 127)
			return false;
		port = colon + 1;
	}
	for (; *port != '\0'; port++) {
		if (*port < '0' || *port > '9' || ++digits > 5)
			return false;
		v = v * 10 + (unsigned int)(*port - '0');
	}
	return digits > 0 && v >= 1 && v <= 65535;
}

static int parse_top(struct compile_ctx *c, const json_t *root, const struct cfg_snapshot *prev)
{
	static const char *const top_keys[] = {"version",	"node",
					       "control",	"admin",
					       "interfaces",	"routes",
					       "neighbour",	"tune",
					       "mode",		"mesh",
					       "control_plane", "workloads",
					       "services",	"external_services",
					       "policies",	"limits",
					       "flows",		"tcp",
					       "listeners",	NULL};
	static const char *const node_keys[] = {"name", NULL};
	static const char *const control_keys[] = {"socket", "group", NULL};
	static const char *const admin_keys[] = {"listen", NULL};
	static const char *const neigh_keys[] = {"reachable_ms", "stale_ms", "retrans_ms",
						 "probes",	 "capacity", NULL};
	static const char *const tune_keys[] = {"rx_burst",   "tx_burst",      "drain_us", "idle",
						"idle_polls", "idle_sleep_us", NULL};
	struct cfg_snapshot *s = c->snap;
	struct cfg_error *err = c->err;
	json_t *node, *control, *admin, *neigh, *tune, *v;
	char idle[8];
	int rc;

	if ((rc = cfg_check_keys(root, "$", top_keys, err)) != 0)
		return rc;
	v = json_object_get(root, "version");
	if (v == NULL)
		return cfg_fail(err, "$.version", "required field missing; expected %d",
				CFG_VERSION);
	if (!json_is_integer(v) || json_integer_value(v) != CFG_VERSION) {
		char expected[16];

		snprintf(expected, sizeof(expected), "%d", CFG_VERSION);
		return cfg_fail_got(err, "$.version", expected, v);
	}

	if ((rc = cfg_get_section(root, "node", "$", &node, err)) != 0 ||
	    (node != NULL && (rc = cfg_check_keys(node, "$.node", node_keys, err)) != 0) ||
	    (rc = cfg_get_name(node, "name", "$.node", s->node_name, DEF_NODE_NAME, false, err)) !=
		    0)
		return rc;

	if ((rc = cfg_get_section(root, "control", "$", &control, err)) != 0 ||
	    (control != NULL &&
	     (rc = cfg_check_keys(control, "$.control", control_keys, err)) != 0) ||
	    (rc = cfg_get_str(control, "socket", "$.control", s->startup.control_socket,
			      CFG_PATH_MAX, DEF_CONTROL_SOCKET, NULL, err)) != 0 ||
	    (rc = cfg_get_str(control, "group", "$.control", s->startup.control_group, CFG_NAME_MAX,
			      "", NULL, err)) != 0)
		return rc;
	if (s->startup.control_socket[0] != '/')
		return cfg_fail_got(err, "$.control.socket", "an absolute path",
				    json_object_get(control, "socket"));
	if (s->startup.control_group[0] != '\0' && !cfg_valid_name(s->startup.control_group))
		return cfg_fail_got(err, "$.control.group", "\"\" (root only) or a group name",
				    json_object_get(control, "group"));

	if ((rc = cfg_get_section(root, "admin", "$", &admin, err)) != 0 ||
	    (admin != NULL && (rc = cfg_check_keys(admin, "$.admin", admin_keys, err)) != 0) ||
	    (rc = cfg_get_str(admin, "listen", "$.admin", s->startup.admin_listen,
			      sizeof(s->startup.admin_listen), DEF_ADMIN_LISTEN, NULL, err)) != 0)
		return rc;
	if (!valid_listen(s->startup.admin_listen))
		return cfg_fail_got(
			err, "$.admin.listen",
			"a loopback address and port (127.0.0.1:9901 or [::1]:9901) or \"\" "
			"(off)",
			json_object_get(admin, "listen"));

	if ((rc = cfg_get_section(root, "neighbour", "$", &neigh, err)) != 0 ||
	    (neigh != NULL && (rc = cfg_check_keys(neigh, "$.neighbour", neigh_keys, err)) != 0) ||
	    (rc = cfg_get_u32(neigh, "reachable_ms", "$.neighbour", 1000, 3600000, DEF_REACHABLE_MS,
			      &s->neigh.reachable_ms, err)) != 0 ||
	    (rc = cfg_get_u32(neigh, "stale_ms", "$.neighbour", 1000, 86400000, DEF_STALE_MS,
			      &s->neigh.stale_ms, err)) != 0 ||
	    (rc = cfg_get_u32(neigh, "retrans_ms", "$.neighbour", 100, 60000, DEF_RETRANS_MS,
			      &s->neigh.retrans_ms, err)) != 0 ||
	    (rc = cfg_get_u32(neigh, "probes", "$.neighbour", 1, 10, DEF_PROBES, &s->neigh.probes,
			      err)) != 0 ||
	    (rc = cfg_get_u32(neigh, "capacity", "$.neighbour", 64, 1048576, DEF_NEIGH_CAPACITY,
			      &s->neigh.capacity, err)) != 0)
		return rc;
	s->startup.neigh_capacity = s->neigh.capacity;

	if ((rc = cfg_get_section(root, "tune", "$", &tune, err)) != 0 ||
	    (tune != NULL && (rc = cfg_check_keys(tune, "$.tune", tune_keys, err)) != 0) ||
	    (rc = cfg_get_u16(tune, "rx_burst", "$.tune", 1, 256, DEF_RX_BURST, &s->tune.rx_burst,
			      err)) != 0 ||
	    (rc = cfg_get_u16(tune, "tx_burst", "$.tune", 1, 256, DEF_TX_BURST, &s->tune.tx_burst,
			      err)) != 0 ||
	    (rc = cfg_get_u32(tune, "drain_us", "$.tune", 0, 1000000, DEF_DRAIN_US,
			      &s->tune.drain_us, err)) != 0 ||
	    (rc = cfg_get_u32(tune, "idle_polls", "$.tune", 0, 100000000, DEF_IDLE_POLLS,
			      &s->tune.idle_polls, err)) != 0 ||
	    (rc = cfg_get_u32(tune, "idle_sleep_us", "$.tune", 1, 1000000, DEF_IDLE_SLEEP_US,
			      &s->tune.idle_sleep_us, err)) != 0)
		return rc;
	v = json_object_get(tune, "idle");
	if (v != NULL && (!json_is_string(v) || (strcmp(json_string_value(v), "poll") != 0 &&
						 strcmp(json_string_value(v), "sleep") != 0)))
		return cfg_fail_got(err, "$.tune.idle", "\"poll\" or \"sleep\"", v);
	snprintf(idle, sizeof(idle), "%s", v != NULL ? json_string_value(v) : "sleep");
	s->tune.idle = strcmp(idle, "poll") == 0 ? CFG_IDLE_POLL : CFG_IDLE_SLEEP;

	if (prev != NULL) {
		const struct cfg_startup *a = &prev->startup, *b = &s->startup;
		const char *path = NULL;

		if (strcmp(a->control_socket, b->control_socket) != 0)
			path = "$.control.socket";
		else if (strcmp(a->control_group, b->control_group) != 0)
			path = "$.control.group";
		else if (strcmp(a->admin_listen, b->admin_listen) != 0)
			path = "$.admin.listen";
		else if (a->neigh_capacity != b->neigh_capacity)
			path = "$.neighbour.capacity";
		if (path != NULL)
			return cfg_fail(
				err, path,
				"cannot change while running (restart meshdp to change it)");
	}
	return 0;
}

static int parse_addrs4(struct compile_ctx *c, const json_t *arr, const char *path,
			struct cfg_iface *ifc)
{
	static const char expected[] = "an IPv4 address with prefix length (a.b.c.d/len)";
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return cfg_fail_got(c->err, path, "an array of IPv4 addresses with prefix length",
				    arr);
	if (json_array_size(arr) > CFG_MAX_ADDRS)
		return cfg_fail(c->err, path, "expected at most %d addresses, got %zu",
				CFG_MAX_ADDRS, json_array_size(arr));
	json_array_foreach(arr, i, v)
	{
		struct cfg_prefix4 *p = &ifc->ipv4[ifc->n_ipv4];
		char pp[CFG_JPATH_LEN];
		uint32_t h;

		cfg_path_index(pp, path, i);
		if (!json_is_string(v) ||
		    !cfg_parse_prefix(json_string_value(v), AF_INET, &p->addr, &p->len) ||
		    p->len == 0)
			return cfg_fail_got(c->err, pp, expected, v);
		h = ntohl(p->addr);
		if ((h >> 24) == 0 || (h >> 24) == 127 || (h >> 28) >= 14)
			return cfg_fail_got(
				c->err, pp,
				"a unicast address (not 0/8, 127/8, multicast or reserved)", v);
		if (p->len < 31 && ((p->addr & ~cfg_mask4(p->len)) == 0 ||
				    (p->addr | cfg_mask4(p->len)) == 0xffffffffu))
			return cfg_fail_got(c->err, pp,
					    "a host address (not the subnet's network or broadcast "
					    "address)",
					    v);
		ifc->n_ipv4++;
	}
	return 0;
}

static int parse_addrs6(struct compile_ctx *c, const json_t *arr, const char *path,
			struct cfg_iface *ifc)
{
	static const char expected[] = "an IPv6 address with prefix length (x:x::x/len)";
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return cfg_fail_got(c->err, path, "an array of IPv6 addresses with prefix length",
				    arr);
	if (json_array_size(arr) > CFG_MAX_ADDRS)
		return cfg_fail(c->err, path, "expected at most %d addresses, got %zu",
				CFG_MAX_ADDRS, json_array_size(arr));
	json_array_foreach(arr, i, v)
	{
		struct cfg_prefix6 *p = &ifc->ipv6[ifc->n_ipv6];
		static const uint8_t zero[16];
		char pp[CFG_JPATH_LEN];
		uint8_t net[16];

		cfg_path_index(pp, path, i);
		if (!json_is_string(v) ||
		    !cfg_parse_prefix(json_string_value(v), AF_INET6, p->addr, &p->len) ||
		    p->len == 0)
			return cfg_fail_got(c->err, pp, expected, v);
		if (p->addr[0] == 0xff || is_link_local6(p->addr) ||
		    IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)p->addr) ||
		    IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)p->addr))
			return cfg_fail_got(c->err, pp,
					    "a global or unique-local unicast address (link-local "
					    "addresses are automatic)",
					    v);
		cfg_mask6(net, p->addr, p->len);
		if (p->len < 127 && memcmp(net, p->addr, 16) == 0 && memcmp(net, zero, 16) != 0)
			return cfg_fail_got(
				c->err, pp,
				"a host address (not the subnet-router anycast address)", v);
		ifc->n_ipv6++;
	}
	return 0;
}

static int parse_interfaces(struct compile_ctx *c, const json_t *root)
{
	static const char *const keys[] = {"name", "port", "vlan", "mtu", "ipv4", "ipv6", NULL};
	struct cfg_snapshot *s = c->snap;
	json_t *arr = json_object_get(root, "interfaces");
	size_t i;
	json_t *o;
	int rc;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return cfg_fail_got(c->err, "$.interfaces", "an array of interfaces", arr);
	if (json_array_size(arr) > CFG_MAX_IFACES)
		return cfg_fail(c->err, "$.interfaces", "expected at most %d interfaces, got %zu",
				CFG_MAX_IFACES, json_array_size(arr));
	json_array_foreach(arr, i, o)
	{
		struct cfg_iface *ifc = &s->ifaces[i];
		const struct cfg_port_info *port = NULL;
		char path[CFG_JPATH_LEN], pp[CFG_JPATH_LEN];
		json_t *a;

		cfg_path_index(path, "$.interfaces", i);
		if (!json_is_object(o))
			return cfg_fail_got(c->err, path, "an interface object", o);
		if ((rc = cfg_check_keys(o, path, keys, c->err)) != 0 ||
		    (rc = cfg_get_name(o, "name", path, ifc->name, "", true, c->err)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(s->ifaces[j].name, ifc->name) == 0) {
				cfg_path_key(pp, path, "name");
				return cfg_fail_got(c->err, pp, "a name no other interface has",
						    json_object_get(o, "name"));
			}
		}

		cfg_path_key(pp, path, "port");
		a = json_object_get(o, "port");
		if (a == NULL)
			return cfg_fail(c->err, pp, "required field missing; expected a port name");
		for (unsigned int p = 0; json_is_string(a) && p < c->n_ports; p++)
			if (strcmp(c->ports[p].name, json_string_value(a)) == 0)
				port = &c->ports[p];
		if (port == NULL) {
			char list[256] = "";
			size_t n = 0;

			for (unsigned int p = 0; p < c->n_ports && n < sizeof(list); p++)
				n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
						      p == 0 ? "" : ", ", c->ports[p].name);
			char expected[300];

			snprintf(expected, sizeof(expected), "the name of a port (%s)",
				 c->n_ports > 0 ? list : "no ports exist");
			return cfg_fail_got(c->err, pp, expected, a);
		}
		snprintf(ifc->port, sizeof(ifc->port), "%s", port->name);
		ifc->port_id = port->port_id;
		ifc->mac = port->mac;

		if ((rc = cfg_get_u16(o, "vlan", path, 1, 4094, 0, &ifc->vlan, c->err)) != 0 ||
		    (rc = cfg_get_u16(o, "mtu", path, 68, 9000, port->mtu, &ifc->mtu, c->err)) != 0)
			return rc;
		if (ifc->mtu < 68 || ifc->mtu > 9000) {
			cfg_path_key(pp, path, "mtu");
			return cfg_fail(c->err, pp,
					"expected an integer in 68..9000, got nothing (port %s "
					"reports MTU %u)",
					port->name, port->mtu);
		}
		for (size_t j = 0; j < i; j++) {
			if (s->ifaces[j].port_id == ifc->port_id &&
			    s->ifaces[j].vlan == ifc->vlan) {
				cfg_path_key(pp, path, ifc->vlan != 0 ? "vlan" : "port");
				return cfg_fail(c->err, pp,
						"expected a port and VLAN no other interface uses, "
						"got port %s VLAN %u (also $.interfaces[%zu])",
						ifc->port, ifc->vlan, j);
			}
		}

		if ((a = json_object_get(o, "ipv4")) != NULL) {
			cfg_path_key(pp, path, "ipv4");
			if ((rc = parse_addrs4(c, a, pp, ifc)) != 0)
				return rc;
		}
		if ((a = json_object_get(o, "ipv6")) != NULL) {
			cfg_path_key(pp, path, "ipv6");
			if ((rc = parse_addrs6(c, a, pp, ifc)) != 0)
				return rc;
		}

		/* fe80::/64 + modified EUI-64 (RFC 4291 appendix A) of the port's MAC. */
		memset(ifc->ipv6_link_local, 0, 16);
		ifc->ipv6_link_local[0] = 0xfe;
		ifc->ipv6_link_local[1] = 0x80;
		ifc->ipv6_link_local[8] = ifc->mac.addr_bytes[0] ^ 0x02;
		ifc->ipv6_link_local[9] = ifc->mac.addr_bytes[1];
		ifc->ipv6_link_local[10] = ifc->mac.addr_bytes[2];
		ifc->ipv6_link_local[11] = 0xff;
		ifc->ipv6_link_local[12] = 0xfe;
		ifc->ipv6_link_local[13] = ifc->mac.addr_bytes[3];
		ifc->ipv6_link_local[14] = ifc->mac.addr_bytes[4];
		ifc->ipv6_link_local[15] = ifc->mac.addr_bytes[5];

		if (ifc->vlan == 0) {
			s->port_iface[ifc->port_id] = (uint8_t)(i + 1);
		} else {
			s->vlan_ifaces[s->n_vlan_ifaces].port_id = ifc->port_id;
			s->vlan_ifaces[s->n_vlan_ifaces].vlan = ifc->vlan;
			s->vlan_ifaces[s->n_vlan_ifaces].iface = (uint16_t)i;
			s->n_vlan_ifaces++;
		}
		s->n_ifaces++;
	}
	return 0;
}

static uint32_t add_nexthop(struct compile_ctx *c, const struct cfg_nexthop *nh)
{
	struct cfg_snapshot *s = c->snap;

	for (uint32_t i = 1; i < s->n_nexthops; i++)
		if (memcmp(&s->nexthops[i], nh, sizeof(*nh)) == 0)
			return i;
	s->nexthops[s->n_nexthops] = *nh;
	return s->n_nexthops++;
}

static const char *nh_kind(uint8_t type)
{
	switch (type) {
	case CFG_NH_LOCAL:
		return "a local address";
	case CFG_NH_CONNECTED:
		return "a connected prefix";
	case CFG_NH_GATEWAY:
		return "a route";
	case CFG_NH_BLACKHOLE:
		return "a blackhole route";
	case CFG_NH_BROADCAST:
		return "a subnet broadcast address";
	}
	return "an entry";
}

/*
 * Add one FIB entry (prefix already masked). The same prefix twice is refused,
 * except for an identical next hop (secondary addresses in one subnet) and for
 * link-local addresses, which VLAN interfaces on one port share.
 */
static int add_entry(struct compile_ctx *c, uint8_t family, const void *prefix, uint8_t len,
		     const struct cfg_nexthop *nh, const char *path, bool link_local)
{
	struct cfg_snapshot *s = c->snap;
	struct cfg_route r;
	uint32_t nhi;

	memset(&r, 0, sizeof(r));
	r.family = family;
	if (family == 4) {
		memcpy(&r.dst4.addr, prefix, 4);
		r.dst4.len = len;
	} else {
		memcpy(r.dst6.addr, prefix, 16);
		r.dst6.len = len;
	}
	nhi = add_nexthop(c, nh);
	r.nexthop = nhi;
	for (uint32_t i = 0; i < s->n_routes; i++) {
		const struct cfg_route *e = &s->routes[i];
		char got[64];

		if (e->family != family)
			continue;
		if (family == 4 && (e->dst4.addr != r.dst4.addr || e->dst4.len != len))
			continue;
		if (family == 6 &&
		    (memcmp(e->dst6.addr, r.dst6.addr, 16) != 0 || e->dst6.len != len))
			continue;
		if (e->nexthop == nhi || link_local)
			return 0;
		if (family == 4)
			fmt4(got, sizeof(got), r.dst4.addr, len);
		else
			fmt6(got, sizeof(got), r.dst6.addr, len);
		return cfg_fail(c->err, path,
				"expected a prefix that is not already in the FIB, got %s (already "
				"%s from %s)",
				got, nh_kind(s->nexthops[e->nexthop].type), c->origins[i].path);
	}
	s->routes[s->n_routes] = r;
	snprintf(c->origins[s->n_routes].path, CFG_JPATH_LEN, "%s", path);
	s->n_routes++;
	return 0;
}

static int add_iface_entries(struct compile_ctx *c)
{
	struct cfg_snapshot *s = c->snap;
	int rc;

	for (uint16_t i = 0; i < s->n_ifaces; i++) {
		const struct cfg_iface *ifc = &s->ifaces[i];
		char path[CFG_JPATH_LEN];

		for (uint8_t a = 0; a < ifc->n_ipv4; a++) {
			const struct cfg_prefix4 *p = &ifc->ipv4[a];
			struct cfg_nexthop nh = {.family = 4, .iface = i};
			uint32_t net = p->addr & cfg_mask4(p->len);
			uint32_t bcast = p->addr | ~cfg_mask4(p->len);

			snprintf(path, sizeof(path), "$.interfaces[%u].ipv4[%u]", i, a);
			nh.type = CFG_NH_LOCAL;
			if ((rc = add_entry(c, 4, &p->addr, 32, &nh, path, false)) != 0)
				return rc;
			nh.type = CFG_NH_CONNECTED;
			if (p->len < 32 &&
			    (rc = add_entry(c, 4, &net, p->len, &nh, path, false)) != 0)
				return rc;
			nh.type = CFG_NH_BROADCAST;
			if (p->len < 31 &&
			    (rc = add_entry(c, 4, &bcast, 32, &nh, path, false)) != 0)
				return rc;
		}
		for (uint8_t a = 0; a < ifc->n_ipv6; a++) {
			const struct cfg_prefix6 *p = &ifc->ipv6[a];
			struct cfg_nexthop nh = {.family = 6, .iface = i};
			uint8_t net[16];

			snprintf(path, sizeof(path), "$.interfaces[%u].ipv6[%u]", i, a);
			cfg_mask6(net, p->addr, p->len);
			nh.type = CFG_NH_LOCAL;
			if ((rc = add_entry(c, 6, p->addr, 128, &nh, path, false)) != 0)
				return rc;
			nh.type = CFG_NH_CONNECTED;
			if (p->len < 128 &&
			    (rc = add_entry(c, 6, net, p->len, &nh, path, false)) != 0)
				return rc;
		}
		/* The link-local /128 is ours; fe80::/64 itself is never routed. */
		struct cfg_nexthop ll = {.type = CFG_NH_LOCAL, .family = 6, .iface = i};

		snprintf(path, sizeof(path), "$.interfaces[%u] (link-local)", i);
		if ((rc = add_entry(c, 6, ifc->ipv6_link_local, 128, &ll, path, true)) != 0)
			return rc;
	}
	return 0;
}

/* The interface whose connected prefix holds @p gw (longest match), or -1. */
static int onlink_iface(const struct cfg_snapshot *s, uint8_t family, const void *gw)
{
	int best = -1, best_len = -1;

	for (uint16_t i = 0; i < s->n_ifaces; i++) {
		const struct cfg_iface *ifc = &s->ifaces[i];

		for (uint8_t a = 0; family == 4 && a < ifc->n_ipv4; a++) {
			uint32_t g;

			memcpy(&g, gw, 4);
			if (in_prefix4(g, &ifc->ipv4[a]) && ifc->ipv4[a].len > best_len) {
				best = i;
				best_len = ifc->ipv4[a].len;
			}
		}
		for (uint8_t a = 0; family == 6 && a < ifc->n_ipv6; a++) {
			if (in_prefix6(gw, ifc->ipv6[a].addr, ifc->ipv6[a].len) &&
			    ifc->ipv6[a].len > best_len) {
				best = i;
				best_len = ifc->ipv6[a].len;
			}
		}
	}
	return best;
}

bool cfg_is_own_address(const struct cfg_snapshot *s, uint8_t family, const void *a)
{
	for (uint16_t i = 0; i < s->n_ifaces; i++) {
		const struct cfg_iface *ifc = &s->ifaces[i];

		for (uint8_t k = 0; family == 4 && k < ifc->n_ipv4; k++)
			if (memcmp(&ifc->ipv4[k].addr, a, 4) == 0)
				return true;
		for (uint8_t k = 0; family == 6 && k < ifc->n_ipv6; k++)
			if (memcmp(ifc->ipv6[k].addr, a, 16) == 0)
				return true;
		if (family == 6 && memcmp(ifc->ipv6_link_local, a, 16) == 0)
			return true;
	}
	return false;
}

static int parse_route(struct compile_ctx *c, const json_t *o, const char *path)
{
	static const char *const keys[] = {"prefix", "via", "interface", "blackhole", NULL};
	struct cfg_snapshot *s = c->snap;
	struct cfg_nexthop nh;
	json_t *prefix = json_object_get(o, "prefix");
	json_t *via = json_object_get(o, "via");
	json_t *ifname = json_object_get(o, "interface");
	json_t *bh = json_object_get(o, "blackhole");
	char pp[CFG_JPATH_LEN], ppfx[CFG_JPATH_LEN];
	uint8_t addr[16] = {0}, net[16] = {0}, gw[16] = {0};
	uint8_t len, family;
	int iface = -1;
	int rc;

	memset(&nh, 0, sizeof(nh));
	if (!json_is_object(o))
		return cfg_fail_got(c->err, path, "a route object", o);
	if ((rc = cfg_check_keys(o, path, keys, c->err)) != 0)
		return rc;
	cfg_path_key(ppfx, path, "prefix");
	if (prefix == NULL)
		return cfg_fail(c->err, ppfx,
				"required field missing; expected a prefix (a.b.c.d/len or "
				"x:x::/len)");
	if (!json_is_string(prefix))
		return cfg_fail_got(c->err, ppfx,
				    "an IPv4 or IPv6 prefix (a.b.c.d/len or x:x::/len)", prefix);
	family = strchr(json_string_value(prefix), ':') != NULL ? 6 : 4;
	if (!cfg_parse_prefix(json_string_value(prefix), family == 4 ? AF_INET : AF_INET6, addr,
			      &len))
		return cfg_fail_got(c->err, ppfx,
				    family == 4 ? "an IPv4 prefix (a.b.c.d/len)"
						: "an IPv6 prefix (x:x::/len)",
				    prefix);
	if (family == 4) {
		uint32_t a, n;

		memcpy(&a, addr, 4);
		n = a & cfg_mask4(len);
		memcpy(net, &n, 4);
	} else {
		cfg_mask6(net, addr, len);
	}
	if (memcmp(net, addr, 16) != 0) {
		char want[CFG_JPATH_LEN + 40];

		if (family == 4) {
			uint32_t n;

			memcpy(&n, net, 4);
			fmt4(pp, sizeof(pp), n, len);
		} else {
			fmt6(pp, sizeof(pp), net, len);
		}
		snprintf(want, sizeof(want), "a prefix with no host bits set (%s)", pp);
		return cfg_fail_got(c->err, ppfx, want, prefix);
	}
	if (family == 6 && is_link_local6(net) && len >= 10)
		return cfg_fail_got(c->err, ppfx,
				    "a prefix outside fe80::/10 (link-local is never routed)",
				    prefix);

	nh.family = family;
	if (bh != NULL) {
		cfg_path_key(pp, path, "blackhole");
		if (!json_is_boolean(bh))
			return cfg_fail_got(c->err, pp, "true or false", bh);
	}
	if (json_is_true(bh)) {
		if (via != NULL || ifname != NULL) {
			cfg_path_key(pp, path, via != NULL ? "via" : "interface");
			return cfg_fail_got(c->err, pp,
					    "no \"via\" or \"interface\" with \"blackhole\": true",
					    via != NULL ? via : ifname);
		}
		nh.type = CFG_NH_BLACKHOLE;
		return add_entry(c, family, net, len, &nh, ppfx, false);
	}
	if (via == NULL && ifname == NULL)
		return cfg_fail(
			c->err, path,
			"expected \"via\", \"interface\" or \"blackhole\": true, got none of "
			"them");
	if (ifname != NULL) {
		cfg_path_key(pp, path, "interface");
		for (uint16_t i = 0; json_is_string(ifname) && i < s->n_ifaces; i++)
			if (strcmp(s->ifaces[i].name, json_string_value(ifname)) == 0)
				iface = i;
		if (iface < 0)
			return cfg_fail_got(c->err, pp, "the name of an interface in $.interfaces",
					    ifname);
	}
	if (via == NULL) {
		nh.type = CFG_NH_CONNECTED;
		nh.iface = (uint16_t)iface;
		return add_entry(c, family, net, len, &nh, ppfx, false);
	}

	cfg_path_key(pp, path, "via");
	if (!json_is_string(via) ||
	    inet_pton(family == 4 ? AF_INET : AF_INET6, json_string_value(via), gw) != 1)
		return cfg_fail_got(c->err, pp,
				    family == 4 ? "an IPv4 address (a.b.c.d), like the prefix"
						: "an IPv6 address (x:x::x), like the prefix",
				    via);
	if (cfg_is_own_address(s, family, gw))
		return cfg_fail_got(c->err, pp, "a neighbour's address, not one of ours", via);
	if (iface < 0) {
		if (family == 6 && is_link_local6(gw))
			return cfg_fail_got(c->err, pp,
					    "a global gateway address (a link-local gateway needs "
					    "\"interface\")",
					    via);
		iface = onlink_iface(s, family, gw);
		if (iface < 0)
			return cfg_fail_got(
				c->err, pp,
				"an address on a connected subnet of an interface (or give "
				"\"interface\")",
				via);
	}
	nh.type = CFG_NH_GATEWAY;
	nh.iface = (uint16_t)iface;
	if (family == 4)
		memcpy(&nh.gw4, gw, 4);
	else
		memcpy(nh.gw6, gw, 16);
	return add_entry(c, family, net, len, &nh, ppfx, false);
}

static int parse_routes(struct compile_ctx *c, const json_t *arr)
{
	size_t i;
	json_t *o;
	int rc;

	json_array_foreach(arr, i, o)
	{
		char path[CFG_JPATH_LEN];

		cfg_path_index(path, "$.routes", i);
		if ((rc = parse_route(c, o, path)) != 0)
			return rc;
	}
	return 0;
}

int cfg_compile(const char *text, size_t len, const struct cfg_port_info *ports,
		unsigned int n_ports, const struct cfg_snapshot *prev, struct cfg_snapshot **out,
		struct cfg_error *err)
{
	struct compile_ctx c = {.err = err, .ports = ports, .n_ports = n_ports};
	struct cfg_snapshot *s = NULL;
	json_t *root, *routes;
	json_error_t jerr;
	size_t n_routes = 0;
	int rc;

	*out = NULL;
	err->msg[0] = '\0';
	if (text == NULL)
		return cfg_fail(err, "$", "expected a JSON document, got nothing");
	if (len > CFG_TEXT_MAX)
		return cfg_fail(err, "$", "expected a document of at most %u bytes, got %zu bytes",
				CFG_TEXT_MAX, len);
	if (n_ports > CFG_MAX_PORTS || (n_ports > 0 && ports == NULL))
		return cfg_fail(err, "$", "expected at most %d ports from the port layer, got %u",
				CFG_MAX_PORTS, n_ports);
	for (unsigned int p = 0; p < n_ports; p++)
		if (ports[p].port_id >= RTE_MAX_ETHPORTS)
			return cfg_fail(err, "$",
					"expected port ids below %d, got port %s with id %u",
					RTE_MAX_ETHPORTS, ports[p].name, ports[p].port_id);

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return cfg_fail(err, "$", "invalid JSON at line %d, column %d: %s", jerr.line,
				jerr.column, jerr.text);
	if (!json_is_object(root)) {
		rc = cfg_fail_got(err, "$", "an object", root);
		goto out;
	}

	routes = json_object_get(root, "routes");
	if (routes != NULL && !json_is_array(routes)) {
		rc = cfg_fail_got(err, "$.routes", "an array of routes", routes);
		goto out;
	}
	n_routes = json_array_size(routes);
	if (n_routes > CFG_MAX_ROUTES) {
		rc = cfg_fail(err, "$.routes", "expected at most %d routes, got %zu",
			      CFG_MAX_ROUTES, n_routes);
		goto out;
	}

	rc = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto out;
	c.snap = s;
	if ((rc = parse_top(&c, root, prev)) != 0 || (rc = parse_interfaces(&c, root)) != 0)
		goto out;

	/* Upper bound of FIB entries: per IPv4 address local + connected + broadcast,
	 * per IPv6 address local + connected, one link-local per interface, the routes. */
	c.max_entries = (uint32_t)n_routes;
	for (uint16_t i = 0; i < s->n_ifaces; i++)
		c.max_entries += 3u * s->ifaces[i].n_ipv4 + 2u * s->ifaces[i].n_ipv6 + 1;
	c.max_nexthops = c.max_entries + 1;
	rc = -ENOMEM;
	s->nexthops = calloc(c.max_nexthops, sizeof(*s->nexthops));
	s->routes = calloc(c.max_entries ? c.max_entries : 1, sizeof(*s->routes));
	c.origins = calloc(c.max_entries ? c.max_entries : 1, sizeof(*c.origins));
	s->text = malloc(len + 1);
	if (s->nexthops == NULL || s->routes == NULL || c.origins == NULL || s->text == NULL)
		goto out;
	memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->text_len = len;
	s->n_nexthops = 1; /* [0]: no route */

	if ((rc = add_iface_entries(&c)) != 0 || (rc = parse_routes(&c, routes)) != 0)
		goto out;
	if ((rc = cfg_l4_compile(s, root, prev, err)) != 0 ||
	    (rc = cfg_fib_build(s, prev, err)) != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	free(c.origins);
	if (s != NULL)
		cfg_snapshot_free(s);
	json_decref(root);
	return rc;
}
