/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the control socket's server (control_server.c), the command helpers
 * (control_helpers.c) and the control plane's own commands
 * (control_commands.c) share. Control thread only.
 */
#ifndef MESHDP_CONTROL_INTERNAL_H
#define MESHDP_CONTROL_INTERNAL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"

#define CONTROL_MAX_CLIENTS 64

struct control_client {
	int fd;
	struct control_peer peer;
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

/** Milliseconds of CLOCK_MONOTONIC. */
int64_t control_now_ms(void);

#endif
