/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <strings.h>

#include "log.h"

RTE_LOG_REGISTER_DEFAULT(log_type, INFO);

static const char *const log_levels[] = {
	[RTE_LOG_EMERG] = "emerg", [RTE_LOG_ALERT] = "alert",	  [RTE_LOG_CRIT] = "crit",
	[RTE_LOG_ERR] = "err",	   [RTE_LOG_WARNING] = "warning", [RTE_LOG_NOTICE] = "notice",
	[RTE_LOG_INFO] = "info",   [RTE_LOG_DEBUG] = "debug",
};

int log_set_level(const char *name)
{
	for (unsigned int lvl = RTE_LOG_EMERG; lvl <= RTE_LOG_DEBUG; lvl++) {
		if (strcasecmp(name, log_levels[lvl]) == 0) {
			rte_log_set_global_level(lvl);
			return rte_log_set_level(log_type, lvl);
		}
	}
	return -EINVAL;
}

const char *log_level_name(void)
{
	int lvl = rte_log_get_level(log_type);

	return lvl >= (int)RTE_LOG_EMERG && lvl <= (int)RTE_LOG_DEBUG ? log_levels[lvl] : "unknown";
}
