/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log: the daemon's log type on top of rte_log (so EAL and meshdp messages share
 * one stream and one level switch). Never call LOG() on the fast path: workers
 * count instead, and the control thread logs. Also the growable text buffer
 * that text outputs are built in (the /metrics exposition of admin and
 * telemetry).
 */
#ifndef MESHDP_LOG_H
#define MESHDP_LOG_H

#include <stdbool.h>
#include <stddef.h>

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

/** A growable text buffer, one owner at a time (any thread, never a worker's loop). */
struct log_buf {
	char *s; /* NUL-terminated */
	size_t len, cap;
	bool failed; /* an allocation failed: what follows is dropped, log_buf_take() gives NULL */
};

/** Start @p b with @p cap bytes. @return 0, or -ENOMEM (b->failed set). */
int log_buf_init(struct log_buf *b, size_t cap);

/** Append a formatted string, growing @p b as needed. */
void log_buf_printf(struct log_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The text (the caller frees it), or NULL after a failure (the buffer is freed). */
char *log_buf_take(struct log_buf *b);

#endif
