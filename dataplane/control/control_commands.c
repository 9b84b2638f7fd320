/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's own commands: status, config validate / apply / show /
 * rollback, log level, tune, help. Config changes compile a new snapshot
 * against the running ports, bind the L4 path's runtime objects to it and
 * publish it; the configuration it replaces is kept for one rollback.
 * Control thread (it may call synchronize_rcu(): cfg_publish() does).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "../log/log.h"
#include "control_internal.h"

static json_t *control_status(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;

	(void)req;
	(void)peer;
	return ctl_reply_ok(json_pack(
		"{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:I}", "version",
		MESHDP_VERSION, "node", snap ? snap->node_name : "", "pid", (json_int_t)getpid(),
		"uptime_s", (json_int_t)((control_now_ms() - c->start_ms) / 1000), "generation",
		(json_int_t)(snap ? snap->generation : 0), "workers", (json_int_t)c->ctx.workers->n,
		"ports", (json_int_t)c->ctx.n_ports, "profile",
		c->ctx.profile_name ? c->ctx.profile_name : "", "config_source",
		c->ctx.config_source ? c->ctx.config_source : "", "log_level", log_level_name(),
		"neighbours", (json_int_t)(c->ctx.neigh ? neigh_count(c->ctx.neigh) : 0)));
}

static json_t *control_stats(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct worker_set *ws = c->ctx.workers;
	json_t *counters = json_object(), *workers = json_array();

	(void)req;
	(void)peer;
	for (unsigned int id = 0; id < STAT_MAX; id++)
		json_object_set_new(counters, stats_name(id),
				    json_integer((json_int_t)worker_set_stat(ws, id)));
	for (unsigned int i = 0; i < ws->n; i++) {
		const struct worker *w = &ws->w[i];
		json_t *wc = json_object();

		for (unsigned int id = 0; id < STAT_MAX; id++) {
			uint64_t v = stats_read(&ws->stats[i], id);

			if (v != 0)
				json_object_set_new(wc, stats_name(id),
						    json_integer((json_int_t)v));
		}
		json_array_append_new(
			workers,
			json_pack("{s:I, s:I, s:I, s:I, s:o}", "id", (json_int_t)w->id, "lcore",
				  (json_int_t)w->lcore_id, "loops",
				  (json_int_t)stats_read(&ws->stats[i], STAT_WORKER_LOOPS),
				  "sleeps",
				  (json_int_t)stats_read(&ws->stats[i], STAT_WORKER_IDLE_SLEEPS),
				  "counters", wc));
	}
	return ctl_reply_ok(json_pack("{s:o, s:o}", "counters", counters, "workers", workers));
}

static json_t *control_ports(struct control *c, json_t *req, const struct control_peer *peer)
{
	json_t *arr = json_array();

	(void)req;
	(void)peer;
	for (uint16_t i = 0; i < c->ctx.n_ports; i++) {
		const struct cfg_port_info *p = &c->ctx.ports[i];
		char dev[RTE_ETH_NAME_MAX_LEN] = "";
		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		struct rte_eth_stats st;
		struct rte_eth_link link;
		uint16_t mtu = p->mtu;

		memset(&st, 0, sizeof(st));
		memset(&link, 0, sizeof(link));
		rte_eth_dev_get_name_by_port(p->port_id, dev);
		rte_eth_dev_get_mtu(p->port_id, &mtu);
		rte_eth_link_get_nowait(p->port_id, &link);
		rte_eth_stats_get(p->port_id, &st);
		rte_ether_format_addr(mac, sizeof(mac), &p->mac);
		json_array_append_new(
			arr,
			json_pack("{s:s, s:I, s:s, s:s, s:I, s:b, s:I, s:I, s:I, s:I, s:I, "
				  "s:I, s:I, s:I, s:I}",
				  "name", p->name, "port_id", (json_int_t)p->port_id, "device", dev,
				  "mac", mac, "mtu", (json_int_t)mtu, "link_up",
				  link.link_status == RTE_ETH_LINK_UP, "speed",
				  (json_int_t)link.link_speed, "rx_packets",
				  (json_int_t)st.ipackets, "tx_packets", (json_int_t)st.opackets,
				  "rx_bytes", (json_int_t)st.ibytes, "tx_bytes",
				  (json_int_t)st.obytes, "rx_missed", (json_int_t)st.imissed,
				  "rx_errors", (json_int_t)st.ierrors, "tx_errors",
				  (json_int_t)st.oerrors, "rx_nombuf", (json_int_t)st.rx_nombuf));
	}
	return ctl_reply_ok(arr);
}

struct control_neigh_walk {
	const struct control *c;
	json_t *arr;
	uint64_t now;
	uint64_t hz;
};

static const char *control_port_name(const struct control *c, uint16_t port_id, char *buf,
				     size_t len)
{
	for (uint16_t i = 0; i < c->ctx.n_ports; i++)
		if (c->ctx.ports[i].port_id == port_id)
			return c->ctx.ports[i].name;
	snprintf(buf, len, "port%u", port_id);
	return buf;
}

static void control_neigh_one(const struct neigh_entry *e, void *arg)
{
	struct control_neigh_walk *nw = arg;
	char addr[INET6_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE], pbuf[16];
	struct rte_ether_addr ea;
	uint64_t confirmed = __atomic_load_n(&e->confirmed_tsc, __ATOMIC_RELAXED);
	uint8_t state = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
	uint64_t age = nw->now > confirmed ? (nw->now - confirmed) * 1000 / nw->hz : 0;

	inet_ntop(e->key.family == 4 ? AF_INET : AF_INET6, e->key.addr, addr, sizeof(addr));
	neigh_entry_mac(e, &ea);
	rte_ether_format_addr(mac, sizeof(mac), &ea);
	json_array_append_new(
		nw->arr, json_pack("{s:s, s:s, s:I, s:s, s:s, s:I}", "address", addr, "port",
				   control_port_name(nw->c, e->key.port_id, pbuf, sizeof(pbuf)),
				   "vlan", (json_int_t)e->key.vlan, "mac", mac, "state",
				   state == NEIGH_REACHABLE ? "reachable"
				   : state == NEIGH_STALE   ? "stale"
							    : "unknown",
				   "age_ms", (json_int_t)age));
}

static json_t *control_neigh(struct control *c, json_t *req, const struct control_peer *peer)
{
	struct control_neigh_walk nw = {
		.c = c, .arr = json_array(), .now = rte_rdtsc(), .hz = rte_get_tsc_hz()};

	(void)req;
	(void)peer;
	if (nw.hz == 0)
		nw.hz = 1;
	if (c->ctx.neigh != NULL)
		neigh_walk(c->ctx.neigh, control_neigh_one, &nw);
	return ctl_reply_ok(nw.arr);
}

static const char *const control_nh_types[] = {
	[CFG_NH_LOCAL] = "local",	  [CFG_NH_CONNECTED] = "connected",
	[CFG_NH_GATEWAY] = "gateway",	  [CFG_NH_BLACKHOLE] = "blackhole",
	[CFG_NH_BROADCAST] = "broadcast",
};

static json_t *control_routes(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;
	json_t *arr = json_array();

	(void)c;
	(void)req;
	(void)peer;
	for (uint32_t i = 0; snap != NULL && i < snap->n_routes; i++) {
		const struct cfg_route *r = &snap->routes[i];
		const struct cfg_nexthop *nh =
			r->nexthop < snap->n_nexthops ? &snap->nexthops[r->nexthop] : NULL;
		char addr[INET6_ADDRSTRLEN], prefix[INET6_ADDRSTRLEN + 8], via[INET6_ADDRSTRLEN];
		const char *type = "none";
		json_t *iface = json_null(), *jvia = json_null();

		if (r->family == 4) {
			inet_ntop(AF_INET, &r->dst4.addr, addr, sizeof(addr));
			snprintf(prefix, sizeof(prefix), "%s/%u", addr, r->dst4.len);
		} else {
			inet_ntop(AF_INET6, r->dst6.addr, addr, sizeof(addr));
			snprintf(prefix, sizeof(prefix), "%s/%u", addr, r->dst6.len);
		}
		if (nh != NULL && r->nexthop != 0) {
			if (nh->type < RTE_DIM(control_nh_types) && control_nh_types[nh->type])
				type = control_nh_types[nh->type];
			if (nh->type != CFG_NH_BLACKHOLE && nh->iface < snap->n_ifaces)
				iface = json_string(snap->ifaces[nh->iface].name);
			if (nh->type == CFG_NH_GATEWAY) {
				if (nh->family == 4)
					inet_ntop(AF_INET, &nh->gw4, via, sizeof(via));
				else
					inet_ntop(AF_INET6, nh->gw6, via, sizeof(via));
				jvia = json_string(via);
			}
		}
		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:o, s:o}", "prefix", prefix, "type",
						type, "interface", iface, "via", jvia));
	}
	return ctl_reply_ok(arr);
}

/* Compile @p text against the running ports and live snapshot. */
static json_t *control_compile(struct control *c, const char *cmd, const char *text, size_t len,
			       struct cfg_snapshot **out)
{
	struct cfg_error err = {{0}};
	int rc;

	if (len > CFG_TEXT_MAX)
		return ctl_reply_error("%s: document too large (%zu bytes, max %u)", cmd, len,
				       CFG_TEXT_MAX);
	rc = cfg_compile(text, len, c->ctx.ports, c->ctx.n_ports, cfg_live, out, &err);
	if (rc == -EINVAL)
		return ctl_reply_error("%s", err.msg[0] ? err.msg : "invalid configuration");
	if (rc < 0)
		return ctl_reply_error("%s: %s", cmd, strerror(-rc));
	return NULL;
}

/*
 * Publish @p snap and remember the configuration it replaces as the rollback
 * target. @return the reply error or NULL.
 */
static json_t *control_publish(struct control *c, struct cfg_snapshot *snap, const char *cmd,
			       const struct control_peer *peer)
{
	char err[CFG_ERROR_MAX];
	const struct cfg_snapshot *live = cfg_live;
	char *prev = NULL;
	size_t prev_len = 0;

	if (live != NULL && live->text != NULL) {
		prev_len = live->text_len;
		prev = malloc(prev_len + 1);
		if (prev == NULL) {
			cfg_snapshot_free(snap);
			return ctl_reply_error("%s: out of memory", cmd);
		}
		memcpy(prev, live->text, prev_len);
		prev[prev_len] = '\0';
	}
	if (c->ctx.l4 != NULL && l4_bind(c->ctx.l4, snap, err, sizeof(err)) != 0) {
		cfg_snapshot_free(snap);
		free(prev);
		return ctl_reply_error("%s", err);
	}
	cfg_publish(snap);
	if (c->ctx.l4 != NULL)
		l4_after_publish(c->ctx.l4);
	free(c->prev_text);
	c->prev_text = prev;
	c->prev_len = prev_len;
	LOG(NOTICE, "%s by uid %u: configuration generation %" PRIu64 " is live", cmd,
	    (unsigned int)peer->uid, cfg_live->generation);
	return NULL;
}

static json_t *control_cfg_validate(struct control *c, json_t *req, const struct control_peer *peer)
{
	struct cfg_snapshot *snap = NULL;
	json_t *err = NULL;
	const char *text;
	size_t len;

	(void)peer;
	text = control_arg_string(req, "config.validate", "text", &len, &err);
	if (text == NULL)
		return err;
	err = control_compile(c, "config.validate", text, len, &snap);
	if (err != NULL)
		return err;
	cfg_snapshot_free(snap);
	return ctl_reply_ok(json_pack("{s:b}", "valid", 1));
}

static json_t *control_apply_text(struct control *c, const char *cmd, const char *text, size_t len,
				  const struct control_peer *peer, json_t *extra)
{
	struct cfg_snapshot *snap = NULL;
	json_t *err;

	err = control_compile(c, cmd, text, len, &snap);
	if (err == NULL)
		err = control_publish(c, snap, cmd, peer);
	if (err != NULL) {
		json_decref(extra);
		return err;
	}
	if (extra == NULL)
		extra = json_object();
	json_object_set_new(extra, "generation", json_integer((json_int_t)cfg_live->generation));
	return ctl_reply_ok(extra);
}

static json_t *control_cfg_apply(struct control *c, json_t *req, const struct control_peer *peer)
{
	json_t *err = NULL;
	const char *text;
	size_t len;

	text = control_arg_string(req, "config.apply", "text", &len, &err);
	if (text == NULL)
		return err;
	return control_apply_text(c, "config.apply", text, len, peer, NULL);
}

static json_t *control_cfg_show(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;

	(void)c;
	(void)req;
	(void)peer;
	if (snap == NULL)
		return ctl_reply_error("config.show: no configuration is live");
	return ctl_reply_ok(json_pack("{s:I, s:s%}", "generation", (json_int_t)snap->generation,
				      "text", snap->text ? snap->text : "",
				      snap->text ? snap->text_len : (size_t)0));
}

static json_t *control_cfg_rollback(struct control *c, json_t *req, const struct control_peer *peer)
{
	char *text = c->prev_text;
	json_t *reply;

	(void)req;
	if (text == NULL)
		return ctl_reply_error("no previous configuration");
	/* control_publish() replaces prev_text: keep ours alive until it is compiled. */
	c->prev_text = NULL;
	reply = control_apply_text(c, "config.rollback", text, c->prev_len, peer, NULL);
	if (c->prev_text == NULL) {
		/* failed: the rollback target stays */
		c->prev_text = text;
	} else {
		free(text);
	}
	return reply;
}

static json_t *control_log_level(struct control *c, json_t *req, const struct control_peer *peer)
{
	json_t *lv = json_object_get(req, "level");

	(void)c;
	(void)peer;
	if (lv != NULL && !json_is_null(lv)) {
		if (!json_is_string(lv))
			return ctl_reply_error("log.level: argument \"level\" must be a string");
		if (log_set_level(json_string_value(lv)) < 0)
			return ctl_reply_error("log.level: unknown level '%s' (expected emerg, "
					       "alert, crit, err, warning, notice, info or debug)",
					       json_string_value(lv));
		LOG(NOTICE, "log level set to %s by uid %u", log_level_name(),
		    (unsigned int)peer->uid);
	}
	return ctl_reply_ok(json_pack("{s:s}", "level", log_level_name()));
}

static json_t *control_tune(struct control *c, json_t *req, const struct control_peer *peer)
{
	struct cfg_error cerr = {{0}};
	json_t *err = NULL, *reply;
	const char *key, *value;
	char *text;

	key = control_arg_string(req, "tune", "key", NULL, &err);
	if (key == NULL)
		return err;
	value = control_arg_string(req, "tune", "value", NULL, &err);
	if (value == NULL)
		return err;
	if (cfg_live == NULL)
		return ctl_reply_error("tune: no configuration is live");
	text = cfg_with_tune(cfg_live, key, value, &cerr);
	if (text == NULL)
		return ctl_reply_error("%s", cerr.msg[0] ? cerr.msg : "tune: invalid setting");
	reply = control_apply_text(c, "tune", text, strlen(text), peer,
				   json_pack("{s:s, s:s}", "key", key, "value", value));
	free(text);
	return reply;
}

static json_t *control_help(struct control *c, json_t *req, const struct control_peer *peer)
{
	json_t *arr = json_array();

	(void)req;
	(void)peer;
	for (unsigned int s = 0; s < c->ctx.n_command_sets; s++) {
		const struct control_cmd_set *set = c->ctx.command_sets[s];

		for (unsigned int i = 0; i < set->n; i++)
			json_array_append_new(
				arr, json_pack("{s:s, s:s, s:b, s:s}", "cmd", set->cmds[i].name,
					       "subsystem", set->subsystem, "changes_state",
					       (set->cmds[i].flags & CONTROL_CMD_WRITE) != 0,
					       "help", set->cmds[i].help ? set->cmds[i].help : ""));
	}
	return ctl_reply_ok(arr);
}

static const struct control_cmd control_cmds[] = {
	{"status", control_status, 0, "daemon, node, generation, workers, ports, log level"},
	{"stats", control_stats, 0, "every counter summed over workers, and per worker"},
	{"ports", control_ports, 0, "ports with link state and ethdev counters"},
	{"neigh", control_neigh, 0, "the neighbour cache (ARP / NDP)"},
	{"routes", control_routes, 0, "the compiled routing table"},
	{"config.validate", control_cfg_validate, 0,
	 "check a configuration without applying it (text)"},
	{"config.apply", control_cfg_apply, CONTROL_CMD_WRITE,
	 "validate and make a configuration live (text)"},
	{"config.show", control_cfg_show, 0, "the live configuration"},
	{"config.rollback", control_cfg_rollback, CONTROL_CMD_WRITE,
	 "go back to the configuration before the last change"},
	{"log.level", control_log_level, CONTROL_CMD_WRITE, "show or set the log level (level)"},
	{"tune", control_tune, CONTROL_CMD_WRITE, "change one live knob (key, value)"},
	{"help", control_help, 0,
	 "every command, the subsystem that registered it, whether it changes state"},
};

const struct control_cmd_set control_commands = {"control", control_cmds, RTE_DIM(control_cmds)};
