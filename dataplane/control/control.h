/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control: the control thread's loop, the control socket and its command
 * registry.
 *
 * The EAL main lcore runs control_run() and never touches packets. Each turn it
 * serves the Unix control socket (JSON requests, ctl/ctl.h has the protocol;
 * peer credentials checked with SO_PEERCRED), applies neighbour events posted by
 * workers, ages the neighbour cache and reclaims removed entries after a grace
 * period. Config changes (apply, rollback, tune) and config validate compile a
 * new snapshot and bind the runtime objects to it (control_bind(): the L4
 * path's, l4_bind, and the proxies' listener objects, proxy_bind); apply
 * publishes it with cfg_publish(), validate frees it. Every 100 ms the L4 path's
 * Maglev tables follow endpoint health and ejections (l4_control_tick).
 *
 * Commands: each subsystem keeps its own commands next to its code, as a
 * struct control_cmd_set (e.g. l4_commands in dataplane/l4/l4_commands.c), and
 * the daemon's list of sets (dataplane/subsystems.c) is given to control_open()
 * (HAProxy's cli_register_kw, with one explicit table instead of
 * constructors). The server finds a request's handler by its "cmd" name; the
 * control plane's own commands (status, config.*, log.level, tune, help) are in
 * control_commands.c. Handlers run on the control thread, one at a time, and
 * build their reply with ctl_reply_ok() / ctl_reply_error() and the helpers
 * below.
 */
#ifndef MESHDP_CONTROL_H
#define MESHDP_CONTROL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "ctl/ctl.h"
#include "../config/config.h"
#include "../l4/l4.h"
#include "../neigh/neigh.h"
#include "../worker/worker.h"

struct control;

/** Who sent a request (SO_PEERCRED at accept time). */
struct control_peer {
	uid_t uid;
	gid_t gid; /* primary group of the peer process */
};

/**
 * A command handler. Control thread. @p req is the request object (borrowed;
 * its "cmd" names this handler). @return a new reply (ctl_reply_ok() /
 * ctl_reply_error()); NULL is answered as "out of memory".
 */
typedef json_t *(*control_cmd_fn)(struct control *c, json_t *req, const struct control_peer *peer);

/*
 * The command changes the daemon's state (config, log level); "help" says so.
 * A viewer (dataplane/roles) is refused these.
 */
#define CONTROL_CMD_WRITE 0x1u
/*
 * With CONTROL_CMD_WRITE: the command changes one namespace (its "namespace"
 * argument), so an operator whose scope covers that namespace may run it.
 */
#define CONTROL_CMD_SCOPED 0x2u

struct control_cmd {
	const char *name; /* the request's "cmd" */
	control_cmd_fn fn;
	unsigned int flags; /* CONTROL_CMD_* */
	const char *help;   /* one line, shown by "help" */
};

/** The commands of one subsystem. */
struct control_cmd_set {
	const char *subsystem; /* e.g. "l4": names the set in "help" and in errors */
	const struct control_cmd *cmds;
	unsigned int n;
};

/**
 * Who may run what (dataplane/roles implements it; NULL in control_ctx: every
 * peer the socket admits may run every command). Control thread.
 */
struct control_guard {
	/** May @p peer run @p cmd with request @p req? false with @p why filled: refused. */
	bool (*authorize)(const struct control_peer *peer, const struct control_cmd *cmd,
			  json_t *req, char *why, size_t len);
	/**
	 * After @p cmd ran or was refused (@p reply: what the peer is sent), keep the
	 * admin audit trail: state changes and refusals.
	 */
	void (*record)(const struct control_peer *peer, const struct control_cmd *cmd, json_t *req,
		       const json_t *reply);
};

/** What the control thread serves; everything is owned by the caller (main). */
struct control_ctx {
	struct worker_set *workers;
	const struct cfg_port_info *ports; /* [n_ports] */
	uint16_t n_ports;
	struct neigh_table *neigh;
	struct l4_global *l4; /* binds L4 runtime objects to each new snapshot */
	const char *profile_name;
	const char *config_source; /* file path or "embedded default" */
	/* The commands served, [n_command_sets]; names are unique across sets. */
	const struct control_cmd_set *const *command_sets;
	unsigned int n_command_sets;
	const struct control_guard *guard; /* NULL: no roles */
};

/**
 * Control thread, after cfg_compile() and before cfg_publish(): bind every
 * runtime object to @p snap (L4 path, listener objects; @p prev the live
 * snapshot or NULL). On error @p snap must be freed (cfg_snapshot_free()
 * releases what was bound). @return 0 or a negative errno with @p err filled.
 */
int control_bind(const struct control_ctx *ctx, struct cfg_snapshot *snap,
		 const struct cfg_snapshot *prev, char *err, size_t errlen);

/**
 * Open the control socket named in the live snapshot's startup settings
 * (mode 0660, group from config) and take @p ctx's command sets.
 * @return NULL with errno set on failure (EINVAL: a command without a name or
 *         handler, or a name registered twice, logged).
 */
struct control *control_open(const struct control_ctx *ctx);

/**
 * Serve until *@p stop becomes non-zero (set by the SIGINT/SIGTERM handler).
 * @return 0.
 */
int control_run(struct control *c, volatile sig_atomic_t *stop);

/** Close the socket (and unlink it) and free @p c. */
void control_close(struct control *c);

/* ------------------------------------------------ for command handlers */

/** @return what @p c serves (workers, ports, neighbour table, L4 state). */
const struct control_ctx *control_ctx(const struct control *c);

/**
 * The string argument @p key of command @p cmd; @p len (may be NULL) gets its length.
 * @return the string, or NULL with *@p err_reply set if it is absent or not a string.
 */
const char *control_arg_string(json_t *req, const char *cmd, const char *key, size_t *len,
			       json_t **err_reply);

#define CONTROL_DUMP_DEFAULT 100   /* records a listing shows without "limit" */
#define CONTROL_DUMP_MAX     10000 /* the largest "limit" */
#define CONTROL_DUMP_WAIT_MS 500   /* how long a worker has to answer a dump */

/**
 * The optional "limit" argument of a listing: 1..CONTROL_DUMP_MAX, default
 * CONTROL_DUMP_DEFAULT. @return 0 with *@p limit set, or -1 with *@p err_reply set.
 */
int control_arg_limit(json_t *req, const char *cmd, json_int_t *limit, json_t **err_reply);

/** One record of a worker's answer (worker_set_dump()) as JSON. */
typedef json_t *(*control_record_json)(const struct cfg_snapshot *snap, unsigned int worker,
				       const void *rec);

/**
 * Every worker's records of @p kind (worker_set_dump() through the workers'
 * mailboxes, @p filter passed on), at most @p limit in all, each turned into
 * JSON by @p to_json against the live snapshot.
 * @return the reply {"<key>": [...], "truncated": bool} to command @p cmd, or
 *         an error reply (no worker, a worker not running or not answering).
 */
json_t *control_dump(struct control *c, const char *cmd, const char *key, enum worker_req_kind kind,
		     int32_t filter, json_int_t limit, size_t rec_size,
		     control_record_json to_json);

/** An address as text ("10.0.0.1", "fd00::1"; "?" if it cannot be shown). */
void control_addr(uint8_t family, const uint8_t *addr, char *buf, size_t len);

/** "10.0.0.1:80", "[fd00::1]:80"; @p port_be in network order. */
void control_addr_port(uint8_t family, const uint8_t *addr, uint16_t port_be, char *buf,
		       size_t len);

/**
 * Every step of a config change but the publish: compile @p text against the
 * running ports and live snapshot, then bind the runtime objects to it
 * (control_bind()). config validate (which frees the result) and apply (which
 * publishes it) both come through here, so a document that validates applies;
 * so does meshctl audit FILE.
 * @return the error reply to command @p cmd, or NULL and *@p out (the caller
 *         owns it; cfg_snapshot_free()).
 */
json_t *control_build(struct control *c, const char *cmd, const char *text, size_t len,
		      struct cfg_snapshot **out);

/**
 * Compile, bind and publish @p text as config.apply does (the configuration it
 * replaces becomes the rollback target), for commands that change the live
 * configuration (tune, meshctl secret apply). @p extra (taken; may be NULL) is
 * the reply's result object, given "generation".
 * @return the reply: {"ok": true} with the result, or the compile's error.
 */
json_t *control_apply_text(struct control *c, const char *cmd, const char *text, size_t len,
			   const struct control_peer *peer, json_t *extra);

/** The control plane's own commands (control_commands.c). */
extern const struct control_cmd_set control_commands;

#endif
