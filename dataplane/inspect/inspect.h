/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * inspect: request inspection (SM-DR21). A scanner over a request's path,
 * query and selected header values that looks for the patterns of SQL
 * injection, script injection (XSS), path traversal and CRLF injection, and
 * checks the query for duplicate parameters (and, where the route declares
 * its parameters, undeclared ones) and the head for duplicate singleton
 * headers. Each finding becomes a security event (telemetry.h,
 * telem_sev_emit()); in block mode the caller refuses the request (400).
 *
 * The scan. A value with no '%' (nor '+' in a query) is scanned as it came;
 * otherwise it is percent-decoded twice (so a double-encoded "%252e%252e%252f"
 * is seen as "../"), '+' read as a space in a query, and overlong UTF-8 forms
 * of '.', '/' and '\' (%c0%ae ...) folded to ASCII, into a bounded window on
 * the stack (values longer than INSPECT_WINDOW decoded bytes are scanned in
 * windows that overlap by INSPECT_OVERLAP). One pass over the bytes: a
 * 256-entry table says which bytes can start a signature, and only there (for
 * letters, only at the start of a word) are the signatures of that byte tried,
 * ASCII case folded. Signatures are token-aware where a bare substring would
 * refuse ordinary text: "select" alone is a word, "select *", "union select",
 * "' or 1=1", "1 and 2>1", "'; drop" and "sleep(" are SQL; "o'reilly" is not.
 *
 * Threads: the config section on the control thread; inspect_request() on a
 * worker (no allocation, no lock; counters in the caller's block).
 */
#ifndef MESHDP_INSPECT_H
#define MESHDP_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "../config/config.h"
#include "../stats/stats.h"
#include "../telemetry/telemetry.h"

/** What a finding does: $.request_inspection.mode and .duplicate_parameters. */
enum inspect_mode {
	INSPECT_OFF,	/* not looked for */
	INSPECT_DETECT, /* a security event; the request goes on */
	INSPECT_BLOCK,	/* a security event and a 400 */
};

/** Classes of finding, one bit each in struct inspect_hits.found. */
enum inspect_class {
	INSPECT_SQL,
	INSPECT_SCRIPT,
	INSPECT_TRAVERSAL,
	INSPECT_CRLF,
	INSPECT_EXTRA, /* duplicate or undeclared parameters */
	INSPECT_CLASSES
};

#define INSPECT_WINDOW	4096 /* decoded bytes scanned at once */
#define INSPECT_OVERLAP 256  /* of the window, scanned again with the next one */
#define INSPECT_PARAMS	64   /* query parameters checked for duplicates */

/** What one scan found: a class bit each, and for each class the first signature. */
struct inspect_hits {
	uint32_t found;			     /* 1u << enum inspect_class */
	const char *sig[INSPECT_CLASSES];    /* "union select", "../" ... (static strings) */
	const char *where[INSPECT_CLASSES];  /* "path", "query", or a header's name */
	uint32_t where_len[INSPECT_CLASSES]; /* of where */
	bool double_encoded;		     /* a value was percent-encoded twice */
};

/**
 * Scan one value of @p len bytes (@p query: a query string, '+' is a space)
 * for the injection classes; findings are added to @p h (a class already
 * found keeps its first signature). Any thread, no allocation.
 * @return the classes found in this value (bits).
 */
uint32_t inspect_scan(const char *p, uint32_t len, bool query, struct inspect_hits *h);

/** A request as the inspector sees it (strings live for the call). */
struct inspect_request {
	struct telem_str path, query;
	const struct telem_str (*headers)[2]; /* [n_headers] name, value */
	uint32_t n_headers;
	/* the route's declared query parameters (router "query_params"); NULL: none declared */
	const struct telem_str *params;
	uint32_t n_params;
};

/**
 * Worker: inspect @p rq as the snapshot's $.request_inspection says; each
 * class found becomes one security event of its kind (injection_*,
 * extra_parameter) through @p tw with context @p ctx at @p now_us.
 * @p stats: the worker's counters. @return true when the request must be
 * refused (block mode and a finding of a blocking class).
 */
bool inspect_request(const struct cfg_snapshot *snap, const struct inspect_request *rq,
		     struct telem_worker *tw, const struct telem_sev_ctx *ctx,
		     struct stats_block *stats, uint64_t now_us);

/** $.request_inspection (dataplane/subsystems.c). */
extern const struct cfg_section inspect_cfg_section;

#endif
