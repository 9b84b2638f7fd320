/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

int log_buf_init(struct log_buf *b, size_t cap)
{
	b->len = 0;
	b->cap = cap;
	b->s = malloc(cap);
	b->failed = b->s == NULL;
	if (b->failed)
		return -ENOMEM;
	b->s[0] = '\0';
	return 0;
}

void log_buf_printf(struct log_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!b->failed) {
		size_t room = b->cap - b->len, cap;
		char *ns;

		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		cap = b->cap * 2 + (size_t)n;
		ns = realloc(b->s, cap);
		if (ns == NULL) {
			b->failed = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
}

char *log_buf_take(struct log_buf *b)
{
	char *s = b->failed ? NULL : b->s;

	if (b->failed)
		free(b->s);
	b->s = NULL;
	return s;
}
