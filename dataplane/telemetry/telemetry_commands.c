/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: the control command behind meshctl top. It answers with every
 * destination service's cumulative counts (requests, errors, the duration
 * histogram's buckets, summed over workers) and the time they were read;
 * meshctl asks once a second and shows the differences as rates and
 * percentiles. Control thread.
 */
#include <stdlib.h>
#include <time.h>

#include "../control/control.h"
#include "telemetry_internal.h"

#define TELEM_TOP_MAX 1024

static json_t *telem_cmd_top(struct control *c, json_t *req, const struct control_peer *peer)
{
	struct telem_top_row *rows = calloc(TELEM_TOP_MAX, sizeof(*rows));
	json_t *services = json_array(), *bounds = json_array();
	struct timespec t;
	unsigned int n;

	(void)c;
	(void)req;
	(void)peer;
	if (rows == NULL || services == NULL || bounds == NULL) {
		free(rows);
		json_decref(services);
		json_decref(bounds);
		return NULL;
	}
	n = telem_top(rows, TELEM_TOP_MAX);
	for (unsigned int i = 0; i < n; i++) {
		json_t *b = json_array();

		for (unsigned int k = 0; k <= TELEM_DUR_BUCKETS; k++)
			json_array_append_new(b, json_integer((json_int_t)rows[i].dur[k]));
		json_array_append_new(services,
				      json_pack("{s:s, s:I, s:I, s:o}", "service", rows[i].service,
						"requests", (json_int_t)rows[i].requests, "errors",
						(json_int_t)rows[i].errors, "buckets", b));
	}
	for (unsigned int k = 0; k < TELEM_DUR_BUCKETS; k++)
		json_array_append_new(bounds, json_real((double)telem_dur_bounds_us[k] / 1000.0));
	free(rows);
	clock_gettime(CLOCK_MONOTONIC, &t);
	return ctl_reply_ok(json_pack("{s:f, s:o, s:o}", "time_s",
				      (double)t.tv_sec + (double)t.tv_nsec / 1e9, "bounds_ms",
				      bounds, "services", services));
}

static const struct control_cmd telem_cmds[] = {
	{"top", telem_cmd_top, 0,
	 "per destination service: requests, errors and the duration histogram (meshctl top)"},
};

const struct control_cmd_set telem_commands = {
	.subsystem = "telemetry",
	.cmds = telem_cmds,
	.n = sizeof(telem_cmds) / sizeof(telem_cmds[0]),
};
