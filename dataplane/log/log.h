/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log: the daemon's log type on top of rte_log (so EAL and meshdp messages share
 * one stream and one level switch). Never call LOG() on the fast path: workers
 * count instead, and the control thread logs.
 */
#ifndef MESHDP_LOG_H
#define MESHDP_LOG_H

#include <rte_log.h>

extern int log_type;

#define LOG(level, fmt, ...) rte_log(RTE_LOG_##level, log_type, "meshdp: " fmt "\n", ##__VA_ARGS__)

/**
 * Set the level of meshdp's and DPDK's messages by name
 * ("emerg".."debug", as rte_log). @return 0 or -EINVAL.
 */
int log_set_level(const char *name);

/** @return the current meshdp level's name. */
const char *log_level_name(void);

#endif
