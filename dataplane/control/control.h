/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control: the control thread's loop and the control socket.
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
 */
#ifndef MESHDP_CONTROL_H
#define MESHDP_CONTROL_H

#include <signal.h>
#include <stdint.h>

#include "../config/config.h"
#include "../l4/l4.h"
#include "../neigh/neigh.h"
#include "../worker/worker.h"

/** What the control thread serves; everything is owned by the caller (main). */
struct control_ctx {
	struct worker_set *workers;
	const struct cfg_port_info *ports; /* [n_ports] */
	uint16_t n_ports;
	struct neigh_table *neigh;
	struct l4_global *l4; /* binds L4 runtime objects to each new snapshot */
	const char *profile_name;
	const char *config_source; /* file path or "embedded default" */
};

struct control;

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
 * (mode 0660, group from config). @return NULL with errno set on failure.
 */
struct control *control_open(const struct control_ctx *ctx);

/**
 * Serve until *@p stop becomes non-zero (set by the SIGINT/SIGTERM handler).
 * @return 0.
 */
int control_run(struct control *c, volatile sig_atomic_t *stop);

/** Close the socket (and unlink it) and free @p c. */
void control_close(struct control *c);

#endif
