/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: helpers shared by config.c (parse, validate), config_fib.c (FIBs,
 * publish) and config_l4.c (L4 services, policies, limits). Not for other
 * subsystems: they include config.h only.
 */
#ifndef MESHDP_CONFIG_INTERNAL_H
#define MESHDP_CONFIG_INTERNAL_H

#include "config_json.h"

/** Whether @p a (4 or 16 bytes) is one of the snapshot's interface addresses. */
bool cfg_is_own_address(const struct cfg_snapshot *s, uint8_t family, const void *a);

/**
 * Create the snapshot's FIBs and program every entry of snap->routes into them.
 * @return 0, -ENOMEM, or -EINVAL with @p err filled (a FIB ran out of room).
 */
int cfg_fib_build(struct cfg_snapshot *snap, const struct cfg_snapshot *prev,
		  struct cfg_error *err);

/**
 * Parse and validate the L4 sections of @p root (mode, mesh, control_plane,
 * workloads, services, external_services, policies, limits, flows, tcp,
 * listeners) into @p snap, whose interfaces are already parsed, and build the
 * L4 lookup structures.
 * @param prev the running snapshot or NULL: flows.capacity and tcp.capacity must match it.
 * @return 0, -ENOMEM, or -EINVAL with @p err filled.
 */
int cfg_l4_compile(struct cfg_snapshot *snap, const json_t *root, const struct cfg_snapshot *prev,
		   struct cfg_error *err);

/** Free what cfg_l4_compile() built (l4_rt_free first); safe on a partly built snapshot. */
void cfg_l4_free(struct cfg_snapshot *snap);

#endif
