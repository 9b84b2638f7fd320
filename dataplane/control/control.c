/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's loop: the Unix control socket (protocol in ctl/ctl.h),
 * neighbour events and aging. Everything here runs on the EAL main lcore, which
 * is not a QSBR reader, so it may call synchronize_rcu() (cfg_publish() does).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "ctl/ctl.h"
#include "../log/log.h"
#include "control.h"

_Static_assert(CTL_TEXT_MAX == CFG_TEXT_MAX, "ctl and config disagree on the document size");

#define CONTROL_MAX_CLIENTS 64
#define CONTROL_IDLE_MS	    5000
#define CONTROL_AGE_MS	    100
#define CONTROL_READ_CHUNK  65536
#define CONTROL_READS_TURN  4		/* chunks read per client per turn: no one starves */
#define CONTROL_OUT_MAX	    (16u << 20) /* unread replies before a client's input is paused */
#define CONTROL_ACCEPT_TURN 16

struct control_client {
	int fd;
	uid_t uid;
	bool closing; /* close once the output is flushed */
	struct ctl_framer in;
	char *out;
	size_t out_len;
	size_t out_off;
	size_t out_cap;
	int64_t last_ms; /* last input or output progress */
};

struct control {
	struct control_ctx ctx;
	int lfd;
	char path[CFG_PATH_MAX];
	char group_name[CFG_NAME_MAX];
	gid_t gid;
	bool has_group;
	int64_t start_ms;
	int64_t next_age_ms;
	unsigned int n_clients;
	struct control_client clients[CONTROL_MAX_CLIENTS];
	struct pollfd pfd[CONTROL_MAX_CLIENTS + 1];
	char *prev_text; /* the configuration before the last change, for rollback */
	size_t prev_len;
	char *chunk;
};

static int64_t control_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mkdir -p of the directory part of @p path. */
static int control_mkdirs(const char *path)
{
	char dir[CFG_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is a daemon already answering on @p sa? Then its socket is not stale. */
static bool control_socket_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

struct control *control_open(const struct control_ctx *ctx)
{
	const struct cfg_snapshot *snap = cfg_live;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *c;
	int err;

	if (snap == NULL || ctx == NULL || ctx->workers == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (snap->startup.control_socket[0] == '\0' ||
	    strlen(snap->startup.control_socket) >= sizeof(sa.sun_path)) {
		LOG(ERR, "control socket path '%s' is empty or too long",
		    snap->startup.control_socket);
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->ctx = *ctx;
	c->lfd = -1;
	c->chunk = malloc(CONTROL_READ_CHUNK);
	if (c->chunk == NULL) {
		err = ENOMEM;
		goto fail;
	}
	snprintf(c->path, sizeof(c->path), "%s", snap->startup.control_socket);
	snprintf(c->group_name, sizeof(c->group_name), "%s", snap->startup.control_group);
	if (c->group_name[0] != '\0') {
		struct group *gr = getgrnam(c->group_name);

		if (gr == NULL) {
			LOG(ERR, "control group '%s' does not exist", c->group_name);
			err = ENOENT;
			goto fail;
		}
		c->gid = gr->gr_gid;
		c->has_group = true;
	}
	err = -control_mkdirs(c->path);
	if (err != 0) {
		LOG(ERR, "cannot create the directory of %s: %s", c->path, strerror(err));
		goto fail;
	}
	strcpy(sa.sun_path, c->path);
	if (control_socket_live(&sa)) {
		LOG(ERR, "another daemon is serving %s", c->path);
		err = EADDRINUSE;
		goto fail;
	}
	if (unlink(c->path) < 0 && errno != ENOENT) {
		err = errno;
		LOG(ERR, "cannot remove the stale socket %s: %s", c->path, strerror(err));
		goto fail;
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->lfd < 0) {
		err = errno;
		goto fail;
	}
	if (bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		LOG(ERR, "cannot bind %s: %s", c->path, strerror(err));
		goto fail_close;
	}
	if (chmod(c->path, 0660) < 0 || (c->has_group && chown(c->path, (uid_t)-1, c->gid) < 0)) {
		err = errno;
		LOG(ERR, "cannot set the owner / mode of %s: %s", c->path, strerror(err));
		goto fail_unlink;
	}
	if (listen(c->lfd, 64) < 0) {
		err = errno;
		goto fail_unlink;
	}
	c->start_ms = control_now_ms();
	c->next_age_ms = c->start_ms + CONTROL_AGE_MS;
	LOG(INFO, "control socket %s (group %s)", c->path,
	    c->has_group ? c->group_name : "none: root only");
	return c;

fail_unlink:
	unlink(c->path);
fail_close:
	close(c->lfd);
fail:
	free(c->chunk);
	free(c);
	errno = err;
	return NULL;
}

/* ---------------------------------------------------------------- output */

static void control_queue(struct control_client *cl, json_t *reply)
{
	size_t len;
	char *line;

	if (reply == NULL)
		reply = ctl_reply_error("out of memory");
	line = reply ? ctl_encode(reply, &len) : NULL;
	json_decref(reply);
	if (line == NULL) {
		cl->closing = true;
		return;
	}
	if (cl->out_off > 0 && cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;
	if (cl->out_len + len > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *nb;

		while (cap < cl->out_len + len)
			cap *= 2;
		nb = realloc(cl->out, cap);
		if (nb == NULL) {
			free(line);
			cl->closing = true;
			return;
		}
		cl->out = nb;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, line, len);
	cl->out_len += len;
	free(line);
}

/* Write what the socket takes now; never blocks. @return false if the client is gone. */
static bool control_flush(struct control_client *cl, int64_t now)
{
	while (cl->out_off < cl->out_len) {
		ssize_t w = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			cl->out_off += (size_t)w;
			cl->last_ms = now;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
	cl->out_off = cl->out_len = 0;
	return !cl->closing;
}

/* ---------------------------------------------------------------- commands */

typedef json_t *(*control_cmd_fn)(struct control *c, json_t *req, struct control_client *cl);

static json_t *control_status(struct control *c, json_t *req, struct control_client *cl)
{
	const struct cfg_snapshot *snap = cfg_live;

	(void)req;
	(void)cl;
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

static json_t *control_stats(struct control *c, json_t *req, struct control_client *cl)
{
	const struct worker_set *ws = c->ctx.workers;
	json_t *counters = json_object(), *workers = json_array();

	(void)req;
	(void)cl;
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

static json_t *control_ports(struct control *c, json_t *req, struct control_client *cl)
{
	json_t *arr = json_array();

	(void)req;
	(void)cl;
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

static json_t *control_neigh(struct control *c, json_t *req, struct control_client *cl)
{
	struct control_neigh_walk nw = {
		.c = c, .arr = json_array(), .now = rte_rdtsc(), .hz = rte_get_tsc_hz()};

	(void)req;
	(void)cl;
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

static json_t *control_routes(struct control *c, json_t *req, struct control_client *cl)
{
	const struct cfg_snapshot *snap = cfg_live;
	json_t *arr = json_array();

	(void)c;
	(void)req;
	(void)cl;
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

/* Fetch the string argument @p key. @return NULL with *err_reply set if absent / wrong. */
static const char *control_arg_string(json_t *req, const char *cmd, const char *key, size_t *len,
				      json_t **err_reply)
{
	json_t *v = json_object_get(req, key);

	if (v == NULL) {
		*err_reply = ctl_reply_error("%s: missing argument \"%s\"", cmd, key);
		return NULL;
	}
	if (!json_is_string(v)) {
		*err_reply = ctl_reply_error("%s: argument \"%s\" must be a string", cmd, key);
		return NULL;
	}
	if (len != NULL)
		*len = json_string_length(v);
	return json_string_value(v);
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
			       const struct control_client *cl)
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
	    (unsigned int)cl->uid, cfg_live->generation);
	return NULL;
}

static json_t *control_cfg_validate(struct control *c, json_t *req, struct control_client *cl)
{
	struct cfg_snapshot *snap = NULL;
	json_t *err = NULL;
	const char *text;
	size_t len;

	(void)cl;
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
				  struct control_client *cl, json_t *extra)
{
	struct cfg_snapshot *snap = NULL;
	json_t *err;

	err = control_compile(c, cmd, text, len, &snap);
	if (err == NULL)
		err = control_publish(c, snap, cmd, cl);
	if (err != NULL) {
		json_decref(extra);
		return err;
	}
	if (extra == NULL)
		extra = json_object();
	json_object_set_new(extra, "generation", json_integer((json_int_t)cfg_live->generation));
	return ctl_reply_ok(extra);
}

static json_t *control_cfg_apply(struct control *c, json_t *req, struct control_client *cl)
{
	json_t *err = NULL;
	const char *text;
	size_t len;

	text = control_arg_string(req, "config.apply", "text", &len, &err);
	if (text == NULL)
		return err;
	return control_apply_text(c, "config.apply", text, len, cl, NULL);
}

static json_t *control_cfg_show(struct control *c, json_t *req, struct control_client *cl)
{
	const struct cfg_snapshot *snap = cfg_live;

	(void)c;
	(void)req;
	(void)cl;
	if (snap == NULL)
		return ctl_reply_error("config.show: no configuration is live");
	return ctl_reply_ok(json_pack("{s:I, s:s%}", "generation", (json_int_t)snap->generation,
				      "text", snap->text ? snap->text : "",
				      snap->text ? snap->text_len : (size_t)0));
}

static json_t *control_cfg_rollback(struct control *c, json_t *req, struct control_client *cl)
{
	char *text = c->prev_text;
	json_t *reply;

	(void)req;
	if (text == NULL)
		return ctl_reply_error("no previous configuration");
	/* control_publish() replaces prev_text: keep ours alive until it is compiled. */
	c->prev_text = NULL;
	reply = control_apply_text(c, "config.rollback", text, c->prev_len, cl, NULL);
	if (c->prev_text == NULL) {
		/* failed: the rollback target stays */
		c->prev_text = text;
	} else {
		free(text);
	}
	return reply;
}

static json_t *control_log_level(struct control *c, json_t *req, struct control_client *cl)
{
	json_t *lv = json_object_get(req, "level");

	(void)c;
	(void)cl;
	if (lv != NULL && !json_is_null(lv)) {
		if (!json_is_string(lv))
			return ctl_reply_error("log.level: argument \"level\" must be a string");
		if (log_set_level(json_string_value(lv)) < 0)
			return ctl_reply_error("log.level: unknown level '%s' (expected emerg, "
					       "alert, crit, err, warning, notice, info or debug)",
					       json_string_value(lv));
		LOG(NOTICE, "log level set to %s by uid %u", log_level_name(),
		    (unsigned int)cl->uid);
	}
	return ctl_reply_ok(json_pack("{s:s}", "level", log_level_name()));
}

static json_t *control_tune(struct control *c, json_t *req, struct control_client *cl)
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
	reply = control_apply_text(c, "tune", text, strlen(text), cl,
				   json_pack("{s:s, s:s}", "key", key, "value", value));
	free(text);
	return reply;
}

/* ---------------------------------------------------------------- L4 services */

#define CONTROL_FLOWS_DEFAULT 100
#define CONTROL_FLOWS_MAX     10000
#define CONTROL_FLOWS_WAIT_MS 500

static const char *const control_lb_names[] = {
	[L4_LB_MAGLEV] = "maglev",
	[L4_LB_ROUND_ROBIN] = "round_robin",
	[L4_LB_LEAST_CONNECTIONS] = "least_connections",
};

static const char *control_proto_name(uint8_t proto, char *buf, size_t len)
{
	if (proto == IPPROTO_TCP)
		return "tcp";
	if (proto == IPPROTO_UDP)
		return "udp";
	if (proto == IPPROTO_ICMP)
		return "icmp";
	if (proto == IPPROTO_ICMPV6)
		return "icmpv6";
	snprintf(buf, len, "%u", proto);
	return buf;
}

static void control_addr(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

/* "10.0.0.1:80", "[fd00::1]:80"; port in network order. */
static void control_addr_port(uint8_t family, const uint8_t *addr, uint16_t port_be, char *buf,
			      size_t len)
{
	char a[INET6_ADDRSTRLEN];

	control_addr(family, addr, a, sizeof(a));
	snprintf(buf, len, family == 4 ? "%s:%u" : "[%s]:%u", a, ntohs(port_be));
}

/* An endpoint's name within its service: its key without "<namespace>/<service>/". */
static const char *control_ep_name(const struct l4_service *sv, const struct l4_endpoint *ep)
{
	size_t n = strlen(sv->key);

	return strncmp(ep->key, sv->key, n) == 0 && ep->key[n] == '/' ? ep->key + n + 1 : ep->key;
}

/*
 * The optional "service" argument: a service's "<namespace>/<name>" or its name
 * (names are unique). @return 0 with *idx set (-1 when absent), or -1 with
 * *err_reply set.
 */
static int control_arg_service(const struct cfg_snapshot *snap, json_t *req, const char *cmd,
			       int32_t *idx, json_t **err_reply)
{
	json_t *v = json_object_get(req, "service");
	const char *name;

	*idx = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		*err_reply = ctl_reply_error("%s: argument \"service\" must be a string", cmd);
		return -1;
	}
	name = json_string_value(v);
	for (uint32_t i = 0; snap != NULL && i < snap->n_services; i++) {
		if (strcmp(snap->services[i].key, name) == 0 ||
		    strcmp(snap->services[i].name, name) == 0) {
			*idx = (int32_t)i;
			return 0;
		}
	}
	*err_reply = ctl_reply_error("%s: unknown service '%.64s'", cmd, name);
	return -1;
}

static json_t *control_services(struct control *c, json_t *req, struct control_client *cl)
{
	const struct cfg_snapshot *snap = cfg_live;
	const uint64_t now = rte_rdtsc();
	json_t *arr = json_array();

	(void)c;
	(void)req;
	(void)cl;
	for (uint32_t s = 0; snap != NULL && s < snap->n_services; s++) {
		const struct l4_service *sv = &snap->services[s];
		json_t *ports = json_array(), *limits = json_array();
		char vip[INET6_ADDRSTRLEN], pbuf[8];
		struct l4_svc_view v;

		l4_service_view(sv, now, &v);
		control_addr(sv->family, sv->vip, vip, sizeof(vip));
		for (uint8_t p = 0; p < sv->n_ports; p++)
			json_array_append_new(ports,
					      json_pack("{s:I, s:s, s:I}", "port",
							(json_int_t)sv->ports[p].port, "protocol",
							control_proto_name(sv->ports[p].protocol,
									   pbuf, sizeof(pbuf)),
							"target_port",
							(json_int_t)sv->ports[p].target_port));
		if (sv->limit_service >= 0)
			json_array_append_new(limits,
					      json_string(snap->limits[sv->limit_service].name));
		if (sv->limit_source >= 0)
			json_array_append_new(limits,
					      json_string(snap->limits[sv->limit_source].name));
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:o}",
				       "service", sv->key, "name", sv->name, "namespace", sv->ns,
				       "vip", vip, "ports", ports, "lb",
				       sv->lb < RTE_DIM(control_lb_names) ? control_lb_names[sv->lb]
									  : "?",
				       "nat", sv->nat == L4_NAT_FULLNAT ? "fullnat" : "dnat",
				       "endpoints", (json_int_t)v.n_endpoints, "usable",
				       (json_int_t)v.usable, "active", (json_int_t)v.active,
				       "limits", limits));
	}
	return ctl_reply_ok(arr);
}

static json_t *control_endpoint_json(const struct l4_service *sv, const struct l4_endpoint *ep,
				     uint64_t now)
{
	json_t *labels = json_object();
	char addr[INET6_ADDRSTRLEN];
	struct l4_ep_view v;

	l4_endpoint_view(ep, now, &v);
	control_addr(ep->family, ep->addr, addr, sizeof(addr));
	for (uint8_t l = 0; l < ep->n_labels; l++)
		json_object_set_new(labels, ep->labels[l].key, json_string(ep->labels[l].value));
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, "
			 "s:I, s:I, s:I, s:I, s:b}",
			 "service", sv->key, "endpoint", control_ep_name(sv, ep), "address", addr,
			 "port", ep->port ? json_integer(ep->port) : json_null(), "weight",
			 (json_int_t)ep->weight, "labels", labels, "health",
			 l4_health_name(v.health), "health_ok", (json_int_t)v.health_ok,
			 "health_fail", (json_int_t)v.health_fail, "breaker",
			 l4_breaker_name(v.breaker), "ejected_ms", (json_int_t)v.ejected_ms,
			 "consecutive_failures", (json_int_t)v.consecutive_failures, "active",
			 (json_int_t)v.active, "pending", (json_int_t)v.pending, "connections",
			 (json_int_t)v.connections, "failures", (json_int_t)v.failures, "ejections",
			 (json_int_t)v.ejections, "ejection_multiplier",
			 (json_int_t)v.ejection_multiplier, "usable", v.usable);
}

static json_t *control_endpoints(struct control *c, json_t *req, struct control_client *cl)
{
	const struct cfg_snapshot *snap = cfg_live;
	const uint64_t now = rte_rdtsc();
	json_t *arr, *err = NULL;
	int32_t only;

	(void)c;
	(void)cl;
	if (control_arg_service(snap, req, "endpoints", &only, &err) < 0)
		return err;
	arr = json_array();
	for (uint32_t s = 0; snap != NULL && s < snap->n_services; s++) {
		const struct l4_service *sv = &snap->services[s];

		if (only >= 0 && (uint32_t)only != s)
			continue;
		for (uint32_t i = 0; i < sv->n_endpoints; i++)
			json_array_append_new(arr,
					      control_endpoint_json(sv, &sv->endpoints[i], now));
	}
	return ctl_reply_ok(arr);
}

static json_t *control_breakers(struct control *c, json_t *req, struct control_client *cl)
{
	const struct cfg_snapshot *snap = cfg_live;
	const uint64_t now = rte_rdtsc();
	json_t *arr = json_array();

	(void)c;
	(void)req;
	(void)cl;
	for (uint32_t s = 0; snap != NULL && s < snap->n_services; s++) {
		const struct l4_service *sv = &snap->services[s];
		const struct l4_breaker *b = &sv->breaker;
		json_t *eps = json_array();
		struct l4_svc_view sview;

		l4_service_view(sv, now, &sview);
		for (uint32_t i = 0; i < sv->n_endpoints; i++) {
			const struct l4_endpoint *ep = &sv->endpoints[i];
			struct l4_ep_view v;

			l4_endpoint_view(ep, now, &v);
			json_array_append_new(
				eps,
				json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "endpoint",
					  control_ep_name(sv, ep), "state",
					  l4_breaker_name(v.breaker), "consecutive_failures",
					  (json_int_t)v.consecutive_failures, "ejections",
					  (json_int_t)v.ejections, "ejection_multiplier",
					  (json_int_t)v.ejection_multiplier, "ejected_ms",
					  (json_int_t)v.ejected_ms, "active", (json_int_t)v.active,
					  "pending", (json_int_t)v.pending));
		}
		json_array_append_new(
			arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "service",
				       sv->key, "max_connections", (json_int_t)b->max_connections,
				       "max_pending", (json_int_t)b->max_pending,
				       "consecutive_failures", (json_int_t)b->consecutive_failures,
				       "base_ejection_ms", (json_int_t)b->base_ejection_ms,
				       "max_ejection_percent", (json_int_t)b->max_ejection_percent,
				       "n_endpoints", (json_int_t)sv->n_endpoints, "ejected",
				       (json_int_t)sview.ejected, "endpoints", eps));
	}
	return ctl_reply_ok(arr);
}

static json_t *control_limits(struct control *c, json_t *req, struct control_client *cl)
{
	const struct cfg_snapshot *snap = cfg_live;
	const uint64_t now = rte_rdtsc();
	json_t *arr = json_array();

	(void)c;
	(void)req;
	(void)cl;
	for (uint32_t i = 0; snap != NULL && i < snap->n_limits; i++) {
		const struct l4_limit *l = &snap->limits[i];
		const struct l4_service *sv =
			l->service < snap->n_services ? &snap->services[l->service] : NULL;
		json_t *sources = json_null();
		struct l4_svc_view v;

		if (sv != NULL && l->scope == L4_LIMIT_SOURCE &&
		    l4_service_view(sv, now, &v) == 0 && v.limit_sources >= 0) {
			json_decref(sources);
			sources = json_integer(v.limit_sources);
		}
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:o}", "name",
				       l->name, "service", sv ? sv->key : "?", "scope",
				       l->scope == L4_LIMIT_SOURCE ? "source" : "service",
				       "connections_per_s", (json_int_t)l->connections_per_s,
				       "connections_burst", (json_int_t)l->connections_burst,
				       "packets_per_s", (json_int_t)l->packets_per_s,
				       "packets_burst", (json_int_t)l->packets_burst, "action",
				       l->reject == L4_REJECT_RESET ? "reset" : "drop", "sources",
				       sources));
	}
	return ctl_reply_ok(arr);
}

/*
 * The optional "limit" argument of a listing: 1..CONTROL_FLOWS_MAX, default
 * CONTROL_FLOWS_DEFAULT. @return 0 with *limit set, or -1 with *err_reply set.
 */
static int control_arg_limit(json_t *req, const char *cmd, json_int_t *limit, json_t **err_reply)
{
	json_t *v = json_object_get(req, "limit");

	*limit = CONTROL_FLOWS_DEFAULT;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		*err_reply = ctl_reply_error("%s: argument \"limit\" must be an integer", cmd);
		return -1;
	}
	*limit = json_integer_value(v);
	if (*limit < 1 || *limit > CONTROL_FLOWS_MAX) {
		*err_reply = ctl_reply_error("%s: limit must be 1..%d, got %" JSON_INTEGER_FORMAT,
					     cmd, CONTROL_FLOWS_MAX, *limit);
		return -1;
	}
	return 0;
}

/* The reply to a failed worker mailbox request (worker_set_dump()). */
static json_t *control_mailbox_error(const char *cmd, int rc, unsigned int failed)
{
	if (rc == -ESRCH)
		return ctl_reply_error("%s: worker %u is not running", cmd, failed);
	if (rc == -ETIMEDOUT)
		return ctl_reply_error("%s: worker %u did not answer within %d ms", cmd, failed,
				       CONTROL_FLOWS_WAIT_MS);
	return ctl_reply_error("%s: %s", cmd, strerror(-rc));
}

/* One record of a worker's answer (worker_set_dump()) as JSON. */
typedef json_t *(*control_record_json)(const struct cfg_snapshot *snap, unsigned int worker,
				       const void *rec);

static json_t *control_flow_json(const struct cfg_snapshot *snap, unsigned int worker,
				 const void *rec)
{
	const struct l4_flow_info *f = rec;
	char fwd_src[INET6_ADDRSTRLEN + 8], fwd_dst[INET6_ADDRSTRLEN + 8];
	char rev_src[INET6_ADDRSTRLEN + 8], rev_dst[INET6_ADDRSTRLEN + 8];
	char fwd[2 * sizeof(fwd_src) + 4], rev[2 * sizeof(rev_src) + 4], pbuf[8];
	const struct l4_service *sv = NULL;
	json_t *jsvc = json_null(), *jext = json_null(), *jep = json_null();

	control_addr_port(f->fwd.family, f->fwd.src, f->fwd.sport, fwd_src, sizeof(fwd_src));
	control_addr_port(f->fwd.family, f->fwd.dst, f->fwd.dport, fwd_dst, sizeof(fwd_dst));
	control_addr_port(f->rev.family, f->rev.src, f->rev.sport, rev_src, sizeof(rev_src));
	control_addr_port(f->rev.family, f->rev.dst, f->rev.dport, rev_dst, sizeof(rev_dst));
	snprintf(fwd, sizeof(fwd), "%s -> %s", fwd_src, fwd_dst);
	snprintf(rev, sizeof(rev), "%s -> %s", rev_src, rev_dst);
	if (f->service >= 0 && (uint32_t)f->service < snap->n_services) {
		sv = &snap->services[f->service];
		jsvc = json_string(sv->key);
		jep = json_string(rev_src); /* the reply comes from the endpoint */
	}
	if (f->external >= 0 && (uint32_t)f->external < snap->n_externals)
		jext = json_string(snap->externals[f->external].name);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I}",
			 "worker", (json_int_t)worker, "proto",
			 control_proto_name(f->fwd.proto, pbuf, sizeof(pbuf)), "state",
			 flow_state_name(f->state), "forward", fwd, "reply", rev, "service", jsvc,
			 "endpoint", jep, "external", jext, "packets_fwd", (json_int_t)f->pkts[0],
			 "bytes_fwd", (json_int_t)f->bytes[0], "packets_rev",
			 (json_int_t)f->pkts[1], "bytes_rev", (json_int_t)f->bytes[1], "expires_s",
			 (json_int_t)((f->expires_ms + 999) / 1000));
}

/*
 * Every worker's records of @p kind (worker_set_dump()), at most @p limit in
 * all, as the reply {"<key>": [...], "truncated": bool} to command @p cmd.
 */
static json_t *control_dump(struct control *c, const char *cmd, const char *key,
			    enum worker_req_kind kind, int32_t filter, json_int_t limit,
			    size_t rec_size, control_record_json to_json)
{
	const struct cfg_snapshot *snap = cfg_live;
	struct worker_set *ws = c->ctx.workers;
	void **bufs = NULL;
	char *all = NULL;
	unsigned int *count = NULL, failed = 0, shown = 0;
	json_t *arr, *reply = NULL;
	bool *more = NULL, truncated = false;
	int rc;

	if (snap == NULL || ws == NULL || ws->n == 0)
		return ctl_reply_error("%s: no worker runs", cmd);
	bufs = calloc(ws->n, sizeof(*bufs));
	count = calloc(ws->n, sizeof(*count));
	more = calloc(ws->n, sizeof(*more));
	all = calloc((size_t)ws->n * (size_t)limit, rec_size);
	if (bufs == NULL || count == NULL || more == NULL || all == NULL) {
		reply = ctl_reply_error("%s: out of memory", cmd);
		goto out;
	}
	for (unsigned int i = 0; i < ws->n; i++)
		bufs[i] = all + (size_t)i * (size_t)limit * rec_size;
	rc = worker_set_dump(ws, kind, filter, bufs, (unsigned int)limit, count, more,
			     CONTROL_FLOWS_WAIT_MS, &failed);
	if (rc < 0) {
		reply = control_mailbox_error(cmd, rc, failed);
		goto out;
	}
	arr = json_array();
	for (unsigned int i = 0; i < ws->n; i++) {
		truncated |= more[i];
		for (unsigned int k = 0; k < count[i]; k++) {
			if (shown == (unsigned int)limit) {
				truncated = true;
				break;
			}
			json_array_append_new(arr,
					      to_json(snap, i, (char *)bufs[i] + k * rec_size));
			shown++;
		}
	}
	reply = ctl_reply_ok(json_pack("{s:o, s:b}", key, arr, "truncated", truncated));
out:
	free(bufs);
	free(count);
	free(more);
	free(all);
	return reply;
}

static json_t *control_flows(struct control *c, json_t *req, struct control_client *cl)
{
	json_t *reply = NULL;
	json_int_t limit;
	int32_t only;

	(void)cl;
	if (control_arg_service(cfg_live, req, "flows", &only, &reply) < 0)
		return reply;
	if (control_arg_limit(req, "flows", &limit, &reply) < 0)
		return reply;
	return control_dump(c, "flows", "flows", WORKER_REQ_FLOWS, only, limit,
			    sizeof(struct l4_flow_info), control_flow_json);
}

/* ---------------------------------------------------------------- TCP stack */

/* {"closed": N, ...}: every state by name. */
static json_t *control_tcp_states_json(const uint32_t *counts)
{
	json_t *o = json_object();

	for (unsigned int s = 0; s < TCP_STATE_MAX; s++)
		json_object_set_new(o, tcp_state_name((enum tcp_state)s),
				    json_integer((json_int_t)counts[s]));
	return o;
}

/* The TCP stack's counters of counters.def: tcp_* and drop_tcp_*. */
static bool control_is_tcp_stat(const char *name)
{
	return strncmp(name, "tcp_", 4) == 0 || strncmp(name, "drop_tcp_", 9) == 0;
}

/*
 * Connections by state, per worker and in total, and the TCP counters summed
 * over workers. The state counts are read here, on the control thread, with
 * relaxed loads (tcp_state_counts()): each is exact, the set is not one
 * instant's.
 */
static json_t *control_tcp_stats(struct control *c, json_t *req, struct control_client *cl)
{
	const struct worker_set *ws = c->ctx.workers;
	uint32_t total[TCP_STATE_MAX] = {0}, counts[TCP_STATE_MAX];
	json_t *workers = json_array(), *counters = json_object();

	(void)req;
	(void)cl;
	for (unsigned int i = 0; ws != NULL && ws->w != NULL && i < ws->n; i++) {
		worker_tcp_state_counts(&ws->w[i], counts);
		for (unsigned int s = 0; s < TCP_STATE_MAX; s++)
			total[s] += counts[s];
		json_array_append_new(workers,
				      json_pack("{s:I, s:o}", "worker", (json_int_t)i, "states",
						control_tcp_states_json(counts)));
	}
	for (unsigned int id = 0; id < STAT_MAX; id++)
		if (control_is_tcp_stat(stats_name(id)))
			json_object_set_new(counters, stats_name(id),
					    json_integer((json_int_t)worker_set_stat(ws, id)));
	return ctl_reply_ok(json_pack("{s:o, s:o, s:o}", "states", control_tcp_states_json(total),
				      "workers", workers, "counters", counters));
}

/*
 * The optional "state" argument: a state's name. @return 0 with *state set
 * (-1 when absent), or -1 with *err_reply set (naming the valid states).
 */
static int control_arg_tcp_state(json_t *req, const char *cmd, int32_t *state, json_t **err_reply)
{
	json_t *v = json_object_get(req, "state");
	char names[256];
	size_t o = 0;

	*state = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		*err_reply = ctl_reply_error("%s: argument \"state\" must be a string", cmd);
		return -1;
	}
	for (unsigned int s = 0; s < TCP_STATE_MAX; s++) {
		const char *name = tcp_state_name((enum tcp_state)s);

		if (strcmp(json_string_value(v), name) == 0) {
			*state = (int32_t)s;
			return 0;
		}
		if (o < sizeof(names))
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", s ? ", " : "",
					      name);
	}
	*err_reply = ctl_reply_error("%s: unknown state '%.64s' (one of %s)", cmd,
				     json_string_value(v), names);
	return -1;
}

/* "10.0.0.1:80", "[fd00::1]:80"; port in host order. */
static void control_tcp_endpoint(const struct tcp_addr *a, uint16_t port, char *buf, size_t len)
{
	control_addr_port(a->family, a->family == 4 ? (const uint8_t *)&a->v4 : a->v6, htons(port),
			  buf, len);
}

static json_t *control_tcp_conn_json(const struct cfg_snapshot *snap, unsigned int worker,
				     const void *rec)
{
	const struct tcp_conn_info *t = rec;
	char local[INET6_ADDRSTRLEN + 8], remote[INET6_ADDRSTRLEN + 8], wscale[8];

	(void)snap; /* the records carry their addresses */
	control_tcp_endpoint(&t->laddr, t->lport, local, sizeof(local));
	control_tcp_endpoint(&t->raddr, t->rport, remote, sizeof(remote));
	snprintf(wscale, sizeof(wscale), "%u/%u", t->snd_wscale, t->rcv_wscale);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			 "s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:s, s:b}",
			 "worker", (json_int_t)worker, "local", local, "remote", remote, "state",
			 tcp_state_name(t->state), "cc",
			 t->cc == TCP_CC_CUBIC ? "cubic" : "newreno", "snd_una",
			 (json_int_t)t->snd_una, "snd_nxt", (json_int_t)t->snd_nxt, "snd_wnd",
			 (json_int_t)t->snd_wnd, "rcv_nxt", (json_int_t)t->rcv_nxt, "rcv_wnd",
			 (json_int_t)t->rcv_wnd, "cwnd", (json_int_t)t->cwnd, "ssthresh",
			 (json_int_t)t->ssthresh, "srtt_us", (json_int_t)t->srtt_us, "rto_us",
			 (json_int_t)t->rto_us, "mss", (json_int_t)t->mss, "send_queued",
			 (json_int_t)t->send_queued, "recv_queued", (json_int_t)t->recv_queued,
			 "ooo_queued", (json_int_t)t->ooo_queued, "retransmits",
			 (json_int_t)t->retransmits, "sack", t->sack, "timestamps", t->timestamps,
			 "ecn", t->ecn, "wscale", wscale, "in_recovery", t->in_recovery);
}

/* Every worker's TCP connections, through the workers' mailboxes (as flows). */
static json_t *control_tcp_conns(struct control *c, json_t *req, struct control_client *cl)
{
	json_t *reply = NULL;
	json_int_t limit;
	int32_t state;

	(void)cl;
	if (control_arg_limit(req, "tcp_conns", &limit, &reply) < 0)
		return reply;
	if (control_arg_tcp_state(req, "tcp_conns", &state, &reply) < 0)
		return reply;
	return control_dump(c, "tcp_conns", "conns", WORKER_REQ_TCP_CONNS, state, limit,
			    sizeof(struct tcp_conn_info), control_tcp_conn_json);
}

static const struct {
	const char *name;
	control_cmd_fn fn;
} control_cmds[] = {
	{"status", control_status},
	{"stats", control_stats},
	{"ports", control_ports},
	{"neigh", control_neigh},
	{"routes", control_routes},
	{"services", control_services},
	{"endpoints", control_endpoints},
	{"breakers", control_breakers},
	{"limits", control_limits},
	{"flows", control_flows},
	{"tcp_stats", control_tcp_stats},
	{"tcp_conns", control_tcp_conns},
	{"config.validate", control_cfg_validate},
	{"config.apply", control_cfg_apply},
	{"config.show", control_cfg_show},
	{"config.rollback", control_cfg_rollback},
	{"log.level", control_log_level},
	{"tune", control_tune},
};

static json_t *control_dispatch(struct control *c, struct control_client *cl, const char *line,
				size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *cmd, *reply = NULL;
	const char *name;

	if (req == NULL)
		return ctl_reply_error("malformed JSON at line %d column %d: %s", jerr.line,
				       jerr.column, jerr.text);
	if (!json_is_object(req)) {
		json_decref(req);
		return ctl_reply_error("request must be a JSON object");
	}
	cmd = json_object_get(req, "cmd");
	if (!json_is_string(cmd)) {
		json_decref(req);
		return ctl_reply_error(cmd ? "\"cmd\" must be a string" : "request has no \"cmd\"");
	}
	name = json_string_value(cmd);
	for (size_t i = 0; i < RTE_DIM(control_cmds); i++) {
		if (strcmp(name, control_cmds[i].name) == 0) {
			reply = control_cmds[i].fn(c, req, cl);
			break;
		}
	}
	if (reply == NULL)
		reply = ctl_reply_error("unknown command '%.64s'", name);
	json_decref(req);
	return reply;
}

/* ---------------------------------------------------------------- clients */

/* SO_PEERCRED: root, or a member of the configured group. */
static bool control_peer_allowed(struct control *c, int fd, uid_t *uid, char *why, size_t len)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		snprintf(why, len, "permission denied: peer credentials unavailable");
		return false;
	}
	*uid = cred.uid;
	if (cred.uid == 0)
		return true;
	if (c->has_group) {
		struct passwd *pw;

		if (cred.gid == c->gid)
			return true;
		pw = getpwuid(cred.uid);
		if (pw != NULL) {
			gid_t groups[256];
			int n = (int)RTE_DIM(groups);

			if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
				n = (int)RTE_DIM(groups);
			for (int i = 0; i < n; i++)
				if (groups[i] == c->gid)
					return true;
		}
		snprintf(why, len, "permission denied: uid %u is not root or in group %s",
			 (unsigned int)cred.uid, c->group_name);
	} else {
		snprintf(why, len,
			 "permission denied: uid %u is not root (no control group is configured)",
			 (unsigned int)cred.uid);
	}
	return false;
}

/* Best-effort one-shot reply on a socket that will be closed right away. */
static void control_reject(int fd, const char *msg)
{
	json_t *r = ctl_reply_error("%s", msg);
	size_t len;
	char *line = r ? ctl_encode(r, &len) : NULL;

	if (line != NULL && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		LOG(DEBUG, "control: rejected client did not take the reply: %s", strerror(errno));
	free(line);
	json_decref(r);
	close(fd);
}

static void control_accept(struct control *c, int64_t now)
{
	for (int k = 0; k < CONTROL_ACCEPT_TURN; k++) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct control_client *cl;
		char why[160];
		uid_t uid = (uid_t)-1;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LOG(WARNING, "control: accept: %s", strerror(errno));
			return;
		}
		if (c->n_clients >= CONTROL_MAX_CLIENTS) {
			snprintf(why, sizeof(why), "too many control clients (max %d)",
				 CONTROL_MAX_CLIENTS);
			control_reject(fd, why);
			continue;
		}
		cl = &c->clients[c->n_clients++];
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->last_ms = now;
		ctl_framer_init(&cl->in, CTL_MSG_MAX);
		if (!control_peer_allowed(c, fd, &uid, why, sizeof(why))) {
			LOG(WARNING, "control: %s", why);
			control_queue(cl, ctl_reply_error("%s", why));
			cl->closing = true;
		}
		cl->uid = uid;
	}
}

static void control_client_free(struct control_client *cl)
{
	close(cl->fd);
	ctl_framer_free(&cl->in);
	free(cl->out);
	cl->fd = -1;
	cl->out = NULL;
}

/* Read and serve what @p cl sent. @return false once it is to be closed now. */
static bool control_client_input(struct control *c, struct control_client *cl, int64_t now)
{
	for (int k = 0; k < CONTROL_READS_TURN && !cl->closing; k++) {
		ssize_t r = recv(cl->fd, c->chunk, CONTROL_READ_CHUNK, MSG_DONTWAIT);
		int rc;

		if (r == 0) {
			/* half-closed: answer what came, then close */
			cl->closing = true;
			break;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return false;
		}
		cl->last_ms = now;
		rc = ctl_framer_feed(&cl->in, c->chunk, (size_t)r);
		if (rc == -ENOMEM) {
			control_queue(cl, ctl_reply_error("out of memory"));
			cl->closing = true;
		}
		for (;;) {
			char *line;
			size_t len;

			rc = ctl_framer_next(&cl->in, &line, &len);
			if (rc == 0)
				break;
			if (rc == -EBADMSG) {
				control_queue(cl, ctl_reply_error("request contains a NUL byte"));
				continue;
			}
			if (rc < 0) {
				control_queue(cl,
					      ctl_reply_error("request too large (max %u bytes)",
							      CTL_MSG_MAX));
				cl->closing = true;
				break;
			}
			control_queue(cl, control_dispatch(c, cl, line, len));
		}
		if (cl->out_len - cl->out_off > CONTROL_OUT_MAX)
			break;
	}
	return true;
}

static void control_neigh_work(struct control *c, int64_t now_ms)
{
	const struct cfg_snapshot *snap = cfg_live;
	uint64_t hz, reachable, stale;

	if (c->ctx.neigh == NULL)
		return;
	neigh_drain(c->ctx.neigh, rte_rdtsc());
	if (now_ms < c->next_age_ms || snap == NULL)
		return;
	c->next_age_ms = now_ms + CONTROL_AGE_MS;
	hz = rte_get_tsc_hz();
	reachable = (uint64_t)snap->neigh.reachable_ms * hz / 1000;
	stale = (uint64_t)snap->neigh.stale_ms * hz / 1000;
	if (neigh_age(c->ctx.neigh, rte_rdtsc(), reachable, stale) > 0) {
		synchronize_rcu();
		neigh_reclaim(c->ctx.neigh);
	}
	if (c->ctx.l4 != NULL)
		l4_control_tick(c->ctx.l4, snap);
}

int control_run(struct control *c, volatile sig_atomic_t *stop)
{
	while (!*stop) {
		int64_t now;
		unsigned int i, n = 0;
		int rc;

		c->pfd[n++] = (struct pollfd){.fd = c->lfd, .events = POLLIN};
		for (i = 0; i < c->n_clients; i++) {
			struct control_client *cl = &c->clients[i];
			short ev = 0;

			if (!cl->closing && cl->out_len - cl->out_off <= CONTROL_OUT_MAX)
				ev |= POLLIN;
			if (cl->out_off < cl->out_len)
				ev |= POLLOUT;
			c->pfd[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
		}
		rc = poll(c->pfd, n, 1);
		now = control_now_ms();
		if (rc < 0 && errno != EINTR)
			LOG(WARNING, "control: poll: %s", strerror(errno));
		if (rc > 0) {
			/* clients first: accept() appends to the array the pfds describe */
			for (i = 0; i < c->n_clients; i++) {
				struct control_client *cl = &c->clients[i];
				short re = c->pfd[i + 1].revents;
				bool alive = true;

				if (re & (POLLIN | POLLHUP | POLLERR))
					alive = control_client_input(c, cl, now);
				if (alive && (cl->out_off < cl->out_len || cl->closing))
					alive = control_flush(cl, now);
				if (!alive)
					control_client_free(cl);
			}
			if (c->pfd[0].revents & POLLIN)
				control_accept(c, now);
		}
		for (i = 0; i < c->n_clients; i++) {
			struct control_client *cl = &c->clients[i];

			if (cl->fd >= 0 && now - cl->last_ms > CONTROL_IDLE_MS)
				control_client_free(cl);
		}
		/* compact: closed clients leave holes */
		n = 0;
		for (i = 0; i < c->n_clients; i++)
			if (c->clients[i].fd >= 0)
				c->clients[n++] = c->clients[i];
		c->n_clients = n;
		control_neigh_work(c, now);
	}
	return 0;
}

void control_close(struct control *c)
{
	if (c == NULL)
		return;
	for (unsigned int i = 0; i < c->n_clients; i++)
		control_client_free(&c->clients[i]);
	close(c->lfd);
	unlink(c->path);
	free(c->prev_text);
	free(c->chunk);
	free(c);
}
