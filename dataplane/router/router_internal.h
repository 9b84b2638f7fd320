/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * router: what router.c (matching), router_config.c (compiling) and
 * router_commands.c (meshctl) share and nobody else sees: the match
 * conditions, the domain tables and the snapshot's router part.
 */
#ifndef MESHDP_ROUTER_INTERNAL_H
#define MESHDP_ROUTER_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "router.h"

/* Bounds on one regex match, so that a hostile path cannot burn a worker. */
#define ROUTER_RE_MATCH_LIMIT 100000u
#define ROUTER_RE_DEPTH_LIMIT 10000u

enum router_path_kind {
	ROUTER_PATH_PREFIX,
	ROUTER_PATH_EXACT,
	ROUTER_PATH_REGEX,
};

/* How a header or query condition tests a value. */
enum router_cond_kind {
	ROUTER_COND_EXACT,
	ROUTER_COND_PREFIX,
	ROUTER_COND_REGEX,
	ROUTER_COND_PRESENT,
};

struct router_regex {
	pcre2_code *code;
	bool jit;		/* pcre2_jit_compile() succeeded: pcre2_jit_match() */
	struct router_str text; /* as configured, for meshctl */
};

/* How a CORS allow_origins entry tests an Origin. */
enum router_origin_kind {
	ROUTER_ORIGIN_EXACT,  /* the whole Origin, case-insensitively */
	ROUTER_ORIGIN_SUFFIX, /* its end, case-insensitively */
	ROUTER_ORIGIN_REGEX,  /* the whole Origin (anchored both ends), caseless */
};

/** An allow_origins entry of a CORS policy. */
struct router_cors_origin {
	uint8_t kind;		/* enum router_origin_kind */
	struct router_str text; /* EXACT, SUFFIX: lower-case; REGEX: as written */
	struct router_regex re; /* REGEX */
};

/** A header ("headers") or query parameter ("query") condition. */
struct router_cond {
	struct router_str name; /* headers: lower-case; query: as written */
	uint8_t kind;		/* enum router_cond_kind */
	bool invert;
	struct router_str value; /* EXACT, PREFIX */
	struct router_regex re;	 /* REGEX */
};

struct router_match {
	uint8_t path_kind; /* enum router_path_kind */
	bool case_sensitive;
	struct router_str path; /* PREFIX, EXACT */
	struct router_regex re; /* REGEX */
	uint32_t n_methods;
	const struct router_str *methods; /* none: any method */
	uint32_t n_headers;
	const struct router_cond *headers;
	uint32_t n_query;
	const struct router_cond *query;
};

/** One domain of a table: exact, or a wildcard's fixed part (without the '*'). */
struct router_domain_ent {
	struct router_str d; /* lower-case */
	uint32_t hash;	     /* exact table only */
	uint32_t vhost;	     /* UINT32_MAX: an empty slot of the exact table */
};

struct router_domains {
	uint32_t n_exact;    /* exact domains; 0: the lookup skips the hash */
	uint32_t exact_mask; /* the exact table has exact_mask + 1 slots (a power of two) */
	const struct router_domain_ent *exact;
	uint32_t n_suffix; /* "*x": longest x first */
	const struct router_domain_ent *suffix;
	uint32_t n_prefix; /* "x*": longest x first */
	const struct router_domain_ent *prefix;
	int32_t star; /* the vhost of "*", -1: none */
};

/** A block of the arena every table of a snapshot's router part lives in. */
struct router_chunk {
	struct router_chunk *next;
	size_t used, size;
	max_align_t data[];
};

/**
 * A key of the path index: an exact path, or a prefix; its routes are
 * index->idx[first .. first + n), ascending (document order). n 0: empty slot.
 */
struct router_ix_ent {
	struct router_str key;
	uint32_t hash; /* router_hash(key, case-sensitive) */
	uint32_t first, n;
};

/** The path index of a virtual host (router.h, "Matching"). */
struct router_index {
	uint32_t exact_mask; /* exact_mask + 1 slots */
	const struct router_ix_ent *exact;
	uint32_t max_exact; /* the longest exact path: longer paths skip the exact table */
	uint32_t prefix_mask;
	const struct router_ix_ent *prefix; /* keyed by the prefix (its length is in the key) */
	uint32_t n_lens;
	const uint32_t *lens; /* the distinct prefix lengths, ascending */
	uint32_t n_other;
	const uint32_t *other; /* routes in neither table (regex, case-insensitive), ascending */
	const uint32_t *idx;
};

/** The snapshot's router part (cfg_snapshot.router). */
struct router_table {
	struct router_chunk *chunks;
	uint32_t n_configs;
	struct router_config *configs;
	/* l4_service.key -> index + 1 (0: empty), open addressing, svc_mask + 1 slots */
	uint32_t svc_mask;
	uint32_t *svc_slots;
	/* every compiled regex, for freeing; n_regex_interp of them without JIT */
	uint32_t n_regex, cap_regex, n_regex_interp;
	pcre2_code **regexes;
};

struct router_worker {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	struct stats_block *stats; /* NULL: the control thread's, nothing counted */
};

/** FNV-1a over @p s, lower-cased when @p fold (hosts, domains). */
static inline uint32_t router_hash(const char *s, uint32_t len, bool fold)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];

		if (fold && c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 'a' - 'A');
		h = (h ^ c) * 16777619u;
	}
	return h;
}

static inline const struct router_table *router_table_of(const struct cfg_snapshot *snap)
{
	return snap->router;
}

/*
 * router.c: whether every condition of @p r holds for @p req (the linear
 * walk's test, which the path index must agree with; the tests compare them).
 */
bool router_route_match(const struct router_route *r, const struct router_request *req,
			struct router_worker *rw);

/* router.c: the regex of a condition or a path against @p s, as router_select() runs it. */
bool router_regex_match(const struct router_regex *re, struct router_str s,
			struct router_worker *rw);

#endif
