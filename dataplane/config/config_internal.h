/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: what config.c (the compile driver) and config_snapshot.c (the
 * snapshot's lifecycle) share. Not for other subsystems: they include config.h
 * and, to compile a section, config_json.h.
 */
#ifndef MESHDP_CONFIG_INTERNAL_H
#define MESHDP_CONFIG_INTERNAL_H

#include "config_json.h"

/** Free every registered section's part of @p snap, last section first. */
void cfg_sections_free(struct cfg_snapshot *snap);

#endif
