/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: the compile driver. cfg_compile() parses a JSON document, refuses
 * top-level members no section owns, compiles config's own section (version,
 * node, control, admin, neighbour, tune) and then runs the sections the
 * subsystems registered (cfg_sections_set(); config.h "Config sections").
 * The snapshot's lifecycle (free, publish, lookups) is in config_snapshot.c,
 * the JSON helpers every section uses in config_json.c.
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

/* The sections of cfg_sections_set() and the top-level members the document may have. */
static const struct cfg_section *const *cfg_sections;
static unsigned int cfg_n_sections;
static const char *cfg_top_keys[CFG_MAX_TOP_KEYS + 1];

/* Config's own top-level members, checked before any section's. */
static const char *const core_keys[] = {"version",   "node", "control", "admin",
					"neighbour", "tune", NULL};

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

static int parse_top(struct cfg_snapshot *s, const json_t *root, const struct cfg_snapshot *prev,
		     struct cfg_error *err)
{
	static const char *const node_keys[] = {"name", NULL};
	static const char *const control_keys[] = {"socket", "group", NULL};
	static const char *const admin_keys[] = {"listen", NULL};
	static const char *const neigh_keys[] = {"reachable_ms", "stale_ms", "retrans_ms",
						 "probes",	 "capacity", NULL};
	static const char *const tune_keys[] = {"rx_burst",   "tx_burst",      "drain_us", "idle",
						"idle_polls", "idle_sleep_us", NULL};
	json_t *node, *control, *admin, *neigh, *tune, *v;
	char idle[8];
	int rc;

	if ((rc = cfg_check_keys(root, "$", cfg_top_keys, err)) != 0)
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

static bool top_key_known(const char *key, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (strcmp(cfg_top_keys[i], key) == 0)
			return true;
	return false;
}

int cfg_sections_set(const struct cfg_section *const *sections, unsigned int n)
{
	unsigned int k = 0;

	/* A refused table leaves none: cfg_compile() refuses until a good one is set. */
	cfg_n_sections = 0;
	cfg_top_keys[0] = NULL;
	if (n > CFG_MAX_SECTIONS || (n > 0 && sections == NULL))
		return -EINVAL;
	for (const char *const *key = core_keys; *key != NULL; key++)
		cfg_top_keys[k++] = *key;
	for (unsigned int i = 0; i < n; i++) {
		if (sections[i] == NULL || sections[i]->keys == NULL ||
		    sections[i]->compile == NULL || sections[i]->free == NULL)
			goto refuse;
		for (const char *const *key = sections[i]->keys; *key != NULL; key++) {
			if (k == CFG_MAX_TOP_KEYS || top_key_known(*key, k))
				goto refuse;
			cfg_top_keys[k++] = *key;
		}
	}
	cfg_top_keys[k] = NULL;
	cfg_sections = sections;
	cfg_n_sections = n;
	return 0;
refuse:
	cfg_top_keys[0] = NULL;
	return -EINVAL;
}

const struct cfg_section *const *cfg_sections_get(unsigned int *n)
{
	*n = cfg_n_sections;
	return cfg_sections;
}

void cfg_sections_free(struct cfg_snapshot *snap)
{
	for (unsigned int i = cfg_n_sections; i-- > 0;)
		cfg_sections[i]->free(snap);
}

int cfg_compile(const char *text, size_t len, const struct cfg_port_info *ports,
		unsigned int n_ports, const struct cfg_snapshot *prev, struct cfg_snapshot **out,
		struct cfg_error *err)
{
	const struct cfg_compile_ctx ctx = {.ports = ports, .n_ports = n_ports, .prev = prev};
	struct cfg_snapshot *s = NULL;
	json_t *root;
	json_error_t jerr;
	int rc;

	*out = NULL;
	err->msg[0] = '\0';
	if (cfg_top_keys[0] == NULL)
		return cfg_fail(err, "$",
				"no config sections are set (cfg_sections_set() was not called)");
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

	rc = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto out;
	s->text = malloc(len + 1);
	if (s->text == NULL)
		goto out;
	memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->text_len = len;
	if ((rc = parse_top(s, root, prev, err)) != 0)
		goto out;
	for (unsigned int i = 0; i < cfg_n_sections; i++)
		if ((rc = cfg_sections[i]->compile(s, root, &ctx, err)) != 0)
			goto out;
	for (unsigned int i = 0; i < cfg_n_sections; i++)
		if (cfg_sections[i]->finish != NULL &&
		    (rc = cfg_sections[i]->finish(s, prev, err)) != 0)
			goto out;
	*out = s;
	s = NULL;
out:
	if (s != NULL)
		cfg_snapshot_free(s);
	json_decref(root);
	return rc;
}
