/* SPDX-License-Identifier: BSD-3-Clause */
/* config: helpers shared by config.c (parse, validate) and config_fib.c (FIBs, publish). */
#ifndef MESHDP_CONFIG_INTERNAL_H
#define MESHDP_CONFIG_INTERNAL_H

#include "config.h"

/** Fill @p err with "PATH: MESSAGE". @return -EINVAL, so callers can `return cfg_fail(...)`. */
int cfg_fail(struct cfg_error *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Create the snapshot's FIBs and program every entry of snap->routes into them.
 * @return 0, -ENOMEM, or -EINVAL with @p err filled (a FIB ran out of room).
 */
int cfg_fib_build(struct cfg_snapshot *snap, struct cfg_error *err);

#endif
