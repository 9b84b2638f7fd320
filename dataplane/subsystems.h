/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon's subsystems table: which subsystem compiles which part of the
 * config document (config.h, "Config sections") and serves which control
 * commands (control.h, struct control_cmd_set). It lives outside
 * dataplane/config and dataplane/control so that neither depends on a
 * subsystem; main() and the test fixtures hand it over once at start.
 *
 * One explicit table rather than constructors that register themselves
 * (HAProxy's INITCALL): the data plane is a static library, and the linker
 * leaves out an object file nothing refers to, constructor and all. A new
 * subsystem with a config section or commands adds one row in subsystems.c
 * (docs/ARCHITECTURE.md, "Config grows by subsystem" and "Commands and
 * counters").
 */
#ifndef MESHDP_SUBSYSTEMS_H
#define MESHDP_SUBSYSTEMS_H

#include "control/control.h"

/** cfg_sections_set() with the table's sections. Control thread, once, before any cfg_compile(). */
void meshdp_sections_register(void);

/** Every subsystem's command set, in the table's order (what "help" lists); *@p n of them. */
const struct control_cmd_set *const *meshdp_command_sets(unsigned int *n);

/** Who may run which command: the roles subsystem's guard (dataplane/roles/roles.h). */
const struct control_guard *meshdp_control_guard(void);

#endif
