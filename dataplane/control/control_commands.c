/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's own commands: status, config validate / apply / show /
 * rollback, log level, tune, help. Config changes compile a new snapshot
 * against the running ports, bind the L4 path's runtime objects to it and
 * publish it; the configuration it replaces is kept for one rollback.
 * Control thread (it may call synchronize_rcu(): cfg_publish() does).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int control_bind(const struct control_ctx *ctx, struct cfg_snapshot *snap,
		 const struct cfg_snapshot *prev, char *err, size_t errlen)
{
	int rc = 0;

	if (ctx->l4 != NULL)
		rc = l4_bind(ctx->l4, snap, err, errlen);
	if (rc == 0 && ctx->workers != NULL && ctx->workers->proxy != NULL)
		rc = proxy_bind(ctx->workers->proxy, snap, prev, err, errlen);
	return rc;
}

json_t *control_build(struct control *c, const char *cmd, const char *text, size_t len,
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
	if (control_bind(&c->ctx, *out, cfg_live, err.msg, sizeof(err.msg)) != 0) {
		cfg_snapshot_free(*out);
		*out = NULL;
		return ctl_reply_error("%s", err.msg);
	}
	return NULL;
}

/*
 * Publish @p snap (from control_build()) and remember the configuration it
 * replaces as the rollback target. @return the reply error or NULL.
 */
static json_t *control_publish(struct control *c, struct cfg_snapshot *snap, const char *cmd,
			       const struct control_peer *peer)
{
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
	err = control_build(c, "config.validate", text, len, &snap);
	if (err != NULL)
		return err;
	cfg_snapshot_free(snap);
	return ctl_reply_ok(json_pack("{s:b}", "valid", 1));
}

json_t *control_apply_text(struct control *c, const char *cmd, const char *text, size_t len,
			   const struct control_peer *peer, json_t *extra)
{
	struct cfg_snapshot *snap = NULL;
	json_t *err;

	err = control_build(c, cmd, text, len, &snap);
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
