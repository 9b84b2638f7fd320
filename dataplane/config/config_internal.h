/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: helpers shared by config.c (parse, validate), config_fib.c (FIBs,
 * publish) and config_l4.c (L4 services, policies, limits). Not for other
 * subsystems: they include config.h only.
 */
#ifndef MESHDP_CONFIG_INTERNAL_H
#define MESHDP_CONFIG_INTERNAL_H

#include <jansson.h>

#include "config.h"

#define CFG_JPATH_LEN	  128 /* longest JSON path in a message */
#define CFG_NAME_EXPECTED "a name of 1..31 letters, digits, '_', '.' or '-'"

/** Fill @p err with "PATH: MESSAGE". @return -EINVAL, so callers can `return cfg_fail(...)`. */
int cfg_fail(struct cfg_error *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** "PATH: expected EXPECTED, got <what v is>". @return -EINVAL. */
int cfg_fail_got(struct cfg_error *err, const char *path, const char *expected, const json_t *v);

/** "$.a" + "b" -> "$.a.b" into @p out (CFG_JPATH_LEN bytes). */
void cfg_path_key(char *out, const char *parent, const char *key);

/** "$.a" + 3 -> "$.a[3]" into @p out (CFG_JPATH_LEN bytes). */
void cfg_path_index(char *out, const char *parent, size_t i);

/** Refuse any member of @p obj not in @p known (NULL-terminated). */
int cfg_check_keys(const json_t *obj, const char *path, const char *const *known,
		   struct cfg_error *err);

/** An optional object member; *out is NULL when absent. */
int cfg_get_section(const json_t *parent, const char *key, const char *path, json_t **out,
		    struct cfg_error *err);

/** An optional integer member in min..max, @p def when absent (@p obj may be NULL). */
int cfg_get_u32(const json_t *obj, const char *key, const char *path, uint32_t min, uint32_t max,
		uint32_t def, uint32_t *out, struct cfg_error *err);
int cfg_get_u16(const json_t *obj, const char *key, const char *path, uint16_t min, uint16_t max,
		uint16_t def, uint16_t *out, struct cfg_error *err);

/** 1..31 of [A-Za-z0-9_.-]. */
bool cfg_valid_name(const char *s);

/** A name member into @p buf (CFG_NAME_MAX bytes); @p def when absent and not required. */
int cfg_get_name(const json_t *obj, const char *key, const char *path, char *buf, const char *def,
		 bool required, struct cfg_error *err);

/** "ADDR/LEN" of family @p af (AF_INET, AF_INET6); host bits are not checked. */
bool cfg_parse_prefix(const char *s, int af, void *addr, uint8_t *len);

/** The IPv4 netmask of @p len, network byte order. */
uint32_t cfg_mask4(uint8_t len);

/** @p in with the bits after @p len cleared. */
void cfg_mask6(uint8_t out[16], const uint8_t in[16], uint8_t len);

/** Whether @p a (4 or 16 bytes) is one of the snapshot's interface addresses. */
bool cfg_is_own_address(const struct cfg_snapshot *s, uint8_t family, const void *a);

/**
 * Create the snapshot's FIBs and program every entry of snap->routes into them.
 * @return 0, -ENOMEM, or -EINVAL with @p err filled (a FIB ran out of room).
 */
int cfg_fib_build(struct cfg_snapshot *snap, const struct cfg_snapshot *prev,
		  struct cfg_error *err);

/**
 * Parse and validate the L4 sections of @p root (mode, mesh, control_plane,
 * workloads, services, external_services, policies, limits, flows, tcp,
 * listeners) into @p snap, whose interfaces are already parsed, and build the
 * L4 lookup structures.
 * @param prev the running snapshot or NULL: flows.capacity and tcp.capacity must match it.
 * @return 0, -ENOMEM, or -EINVAL with @p err filled.
 */
int cfg_l4_compile(struct cfg_snapshot *snap, const json_t *root, const struct cfg_snapshot *prev,
		   struct cfg_error *err);

/** Free what cfg_l4_compile() built (l4_rt_free first); safe on a partly built snapshot. */
void cfg_l4_free(struct cfg_snapshot *snap);

#endif
