/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The workers' control command (meshctl stats): every counter summed over
 * the workers' blocks, and each worker's non-zero ones, registered as
 * worker_commands (dataplane/subsystems.c). Counters are read with relaxed
 * loads while the workers run. Control thread.
 */
#include "../control/control.h"
#include "worker.h"

static json_t *worker_cmd_stats(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct worker_set *ws = control_ctx(c)->workers;
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

static const struct control_cmd worker_cmds[] = {
	{"stats", worker_cmd_stats, 0, "every counter summed over workers, and per worker"},
};

const struct control_cmd_set worker_commands = {"worker", worker_cmds, RTE_DIM(worker_cmds)};
