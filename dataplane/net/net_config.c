/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net: the config section of L3 ($.interfaces, $.routes): interfaces, next
 * hops, the list of FIB entries (local, connected and broadcast entries of the
 * interface addresses, then the routes) and the FIBs the forwarding path looks
 * up (cfg_route4() / cfg_route6() in config.h).
 *
 * FIB sizing. rte_fib DIR24_8 and rte_fib6 TRIE both keep a 2^24-entry first
 * level; with 2-byte next hops (CFG_MAX_NEXTHOPS = 2^15 - 1) that is 32 MiB
 * each, 64 MiB per snapshot and 128 MiB while a swap holds two snapshots. The
 * second-level (tbl8) groups are sized from the configuration itself: one per
 * IPv4 prefix longer than /24, and (len - 24) / 8 rounded up per IPv6 prefix,
 * so a small config costs no more than the first level. A swap that changes no
 * route shares the previous snapshot's FIBs (finish()).
 *
 * docs/CONFIG.md ("interfaces", "routes") is the schema. Control thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_memory.h>

#include "../config/config_json.h"
#include "net.h"

#define TBL8_MAX   32767u /* a tbl8 index must fit the 15 value bits of a 2-byte entry */
#define TBL8_SLACK 8u

/* Where each FIB entry came from, for "already routed by ..." messages. */
struct origin {
	char path[CFG_JPATH_LEN];
};

struct net_cfg_ctx {
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

static int parse_addrs4(struct net_cfg_ctx *c, const json_t *arr, const char *path,
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

static int parse_addrs6(struct net_cfg_ctx *c, const json_t *arr, const char *path,
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

static int parse_interfaces(struct net_cfg_ctx *c, const json_t *root)
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

static uint32_t add_nexthop(struct net_cfg_ctx *c, const struct cfg_nexthop *nh)
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
static int add_entry(struct net_cfg_ctx *c, uint8_t family, const void *prefix, uint8_t len,
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

static int add_iface_entries(struct net_cfg_ctx *c)
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

bool net_is_own_address(const struct cfg_snapshot *s, uint8_t family, const void *a)
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

static int parse_route(struct net_cfg_ctx *c, const json_t *o, const char *path)
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
	if (net_is_own_address(s, family, gw))
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

static int parse_routes(struct net_cfg_ctx *c, const json_t *arr)
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

/* Makes FIB names unique across snapshots; control thread only. */
static unsigned int net_fib_seq;

/* The FIBs of one or more snapshots with identical routes. */
struct net_fibs {
	struct rte_fib *fib4;
	struct rte_fib6 *fib6;
	unsigned int refs; /* snapshots using them; control thread only */
};

/* Same FIB contents: the same entries pointing at the same next hops. */
static bool net_fib_same(const struct cfg_snapshot *a, const struct cfg_snapshot *b)
{
	return b != NULL && b->fibs != NULL && a->n_routes == b->n_routes &&
	       a->n_nexthops == b->n_nexthops &&
	       memcmp(a->routes, b->routes, a->n_routes * sizeof(*a->routes)) == 0 &&
	       memcmp(a->nexthops, b->nexthops, a->n_nexthops * sizeof(*a->nexthops)) == 0;
}

static void net_fibs_put(struct net_fibs *f)
{
	if (f == NULL || --f->refs != 0)
		return;
	rte_fib_free(f->fib4);
	rte_fib6_free(f->fib6);
	free(f);
}

/* The section's finish(): build the FIBs, or share the previous snapshot's. */
static int net_fib_build(struct cfg_snapshot *snap, const struct cfg_snapshot *prev,
			 struct cfg_error *err)
{
	struct rte_fib_conf c4;
	struct rte_fib6_conf c6;
	uint32_t n4 = 0, n6 = 0, tbl8_4 = TBL8_SLACK, tbl8_6 = TBL8_SLACK;
	char name[32];
	unsigned int seq;

	if (net_fib_same(snap, prev)) {
		snap->fibs = prev->fibs;
		snap->fibs->refs++;
		snap->fib4 = prev->fib4;
		snap->fib6 = prev->fib6;
		return 0;
	}
	snap->fibs = calloc(1, sizeof(*snap->fibs));
	if (snap->fibs == NULL)
		return -ENOMEM;
	snap->fibs->refs = 1;
	seq = net_fib_seq++;
	for (uint32_t i = 0; i < snap->n_routes; i++) {
		const struct cfg_route *r = &snap->routes[i];

		if (r->family == 4) {
			n4++;
			tbl8_4 += r->dst4.len > 24;
		} else {
			n6++;
			tbl8_6 += r->dst6.len > 24 ? (r->dst6.len - 24u + 7u) / 8u : 0;
		}
	}

	memset(&c4, 0, sizeof(c4));
	c4.type = RTE_FIB_DIR24_8;
	c4.default_nh = 0;
	c4.max_routes = (int)(n4 + TBL8_SLACK);
	c4.dir24_8.nh_sz = RTE_FIB_DIR24_8_2B;
	c4.dir24_8.num_tbl8 = RTE_MIN(tbl8_4, TBL8_MAX);
	snprintf(name, sizeof(name), "cfg4_%u", seq);
	snap->fib4 = snap->fibs->fib4 = rte_fib_create(name, SOCKET_ID_ANY, &c4);
	if (snap->fib4 == NULL)
		return rte_errno == ENOMEM ? -ENOMEM
					   : cfg_fail(err, "$", "cannot create the IPv4 FIB: %s",
						      rte_strerror(rte_errno));

	memset(&c6, 0, sizeof(c6));
	c6.type = RTE_FIB6_TRIE;
	c6.default_nh = 0;
	c6.max_routes = (int)(n6 + TBL8_SLACK);
	c6.trie.nh_sz = RTE_FIB6_TRIE_2B;
	c6.trie.num_tbl8 = RTE_MIN(tbl8_6, TBL8_MAX);
	snprintf(name, sizeof(name), "cfg6_%u", seq);
	snap->fib6 = snap->fibs->fib6 = rte_fib6_create(name, SOCKET_ID_ANY, &c6);
	if (snap->fib6 == NULL)
		return rte_errno == ENOMEM ? -ENOMEM
					   : cfg_fail(err, "$", "cannot create the IPv6 FIB: %s",
						      rte_strerror(rte_errno));

	for (uint32_t i = 0; i < snap->n_routes; i++) {
		const struct cfg_route *r = &snap->routes[i];
		char pfx[INET6_ADDRSTRLEN];
		int rc;

		if (r->family == 4)
			rc = rte_fib_add(snap->fib4, rte_be_to_cpu_32(r->dst4.addr), r->dst4.len,
					 r->nexthop);
		else
			rc = rte_fib6_add(snap->fib6, r->dst6.addr, r->dst6.len, r->nexthop);
		if (rc == 0)
			continue;
		if (r->family == 4)
			inet_ntop(AF_INET, &r->dst4.addr, pfx, sizeof(pfx));
		else
			inet_ntop(AF_INET6, r->dst6.addr, pfx, sizeof(pfx));
		return cfg_fail(err, "$.routes",
				"cannot add %s/%u to the IPv%u FIB (%s); expected fewer or shorter "
				"prefixes",
				pfx, r->family == 4 ? r->dst4.len : r->dst6.len, r->family,
				strerror(-rc));
	}
	return 0;
}

static int net_cfg_compile(struct cfg_snapshot *s, const json_t *root,
			   const struct cfg_compile_ctx *ctx, struct cfg_error *err)
{
	struct net_cfg_ctx c = {
		.snap = s, .err = err, .ports = ctx->ports, .n_ports = ctx->n_ports};
	json_t *routes = json_object_get(root, "routes");
	size_t n_routes;
	int rc;

	if (routes != NULL && !json_is_array(routes))
		return cfg_fail_got(err, "$.routes", "an array of routes", routes);
	n_routes = json_array_size(routes);
	if (n_routes > CFG_MAX_ROUTES)
		return cfg_fail(err, "$.routes", "expected at most %d routes, got %zu",
				CFG_MAX_ROUTES, n_routes);
	if ((rc = parse_interfaces(&c, root)) != 0)
		return rc;

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
	if (s->nexthops == NULL || s->routes == NULL || c.origins == NULL)
		goto out;
	s->n_nexthops = 1; /* [0]: no route */
	rc = add_iface_entries(&c);
	if (rc == 0)
		rc = parse_routes(&c, routes);
out:
	free(c.origins);
	return rc;
}

static void net_cfg_free(struct cfg_snapshot *snap)
{
	net_fibs_put(snap->fibs);
	free(snap->nexthops);
	free(snap->routes);
}

static const char *const net_cfg_keys[] = {"interfaces", "routes", NULL};

const struct cfg_section net_cfg_section = {
	.name = "net",
	.keys = net_cfg_keys,
	.compile = net_cfg_compile,
	.finish = net_fib_build,
	.free = net_cfg_free,
};
