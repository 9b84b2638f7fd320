/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * inspect private: the compiled $.request_inspection (snap->inspect), shared
 * by inspect.c and inspect_config.c.
 */
#ifndef MESHDP_INSPECT_INTERNAL_H
#define MESHDP_INSPECT_INTERNAL_H

#include "inspect.h"

#define INSPECT_MAX_HEADERS 16 /* $.request_inspection.headers */
#define INSPECT_NAME_LEN    64 /* a header name with its NUL */

struct inspect_snap {
	uint8_t mode;	  /* enum inspect_mode: the injection classes */
	uint8_t dup_mode; /* enum inspect_mode: extra parameters */
	uint32_t n_headers;
	char headers[INSPECT_MAX_HEADERS][INSPECT_NAME_LEN]; /* lower case */
	uint32_t hlen[INSPECT_MAX_HEADERS];
	/* the singleton headers (inspect.c) of each name length, one bit per entry */
	uint16_t single_by_len[INSPECT_NAME_LEN];
};

/** Fill @p is->single_by_len (the section's compile; control thread). */
void inspect_singletons_index(struct inspect_snap *is);

#endif
