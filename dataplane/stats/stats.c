/* SPDX-License-Identifier: BSD-3-Clause */
#include "stats.h"

static const char *const stats_names[STAT_MAX] = {
#define STAT(id, name, help) [STAT_##id] = #name,
#include "counters.def"
#undef STAT
};

static const char *const stats_helps[STAT_MAX] = {
#define STAT(id, name, help) [STAT_##id] = help,
#include "counters.def"
#undef STAT
};

const char *stats_name(enum stats_id id)
{
	return (unsigned int)id < STAT_MAX ? stats_names[id] : NULL;
}

const char *stats_help(enum stats_id id)
{
	return (unsigned int)id < STAT_MAX ? stats_helps[id] : NULL;
}

uint64_t stats_sum(const struct stats_block *blocks, unsigned int n, enum stats_id id)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < n; i++)
		sum += stats_read(&blocks[i], id);
	return sum;
}
