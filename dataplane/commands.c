/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every subsystem's control commands (commands.h). A subsystem with commands
 * defines a struct control_cmd_set next to its code, declares it in its public
 * header and adds one line here.
 */
#include <rte_common.h>

#include "commands.h"

const struct control_cmd_set *const meshdp_command_sets[] = {
	&control_commands,
	&l4_commands,
	&proxy_commands,
};

const unsigned int meshdp_n_command_sets = RTE_DIM(meshdp_command_sets);
