/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon's control commands: every subsystem's command set, in the order
 * "help" lists them. main() (and tests that run a control server) give the
 * table to control_open() through struct control_ctx.
 *
 * One explicit table rather than constructors that register themselves
 * (HAProxy's INITCALL): the data plane is a static library, and the linker
 * leaves out an object file nothing refers to, constructor and all.
 */
#ifndef MESHDP_COMMANDS_H
#define MESHDP_COMMANDS_H

#include "control/control.h"

extern const struct control_cmd_set *const meshdp_command_sets[];
extern const unsigned int meshdp_n_command_sets;

#endif
