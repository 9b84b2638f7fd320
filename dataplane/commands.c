/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every subsystem's control commands (commands.h). A subsystem with commands
 * defines a struct control_cmd_set next to its code, declares it in its public
 * header and adds one line here.
 */
#include <rte_common.h>

#include "commands.h"
#include "control/control.h"
#include "l4/l4.h"
#include "neigh/neigh.h"
#include "net/net.h"
#include "port/port.h"
#include "proxy/proxy.h"
#include "worker/worker.h"

const struct control_cmd_set *const meshdp_command_sets[] = {
	&control_commands, /* status, config.*, log.level, tune, help */
	&worker_commands,  /* stats */
	&port_commands,	   /* ports */
	&neigh_commands,   /* neigh */
	&net_commands,	   /* routes */
	&l4_commands,	   /* services, endpoints, breakers, limits, flows */
	&proxy_commands,   /* tcp_stats, tcp_conns */
};

const unsigned int meshdp_n_command_sets = RTE_DIM(meshdp_command_sets);
