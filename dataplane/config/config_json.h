/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: the JSON helpers for config sections (struct cfg_section in
 * config.h). One set, used by config's own sections and by every subsystem
 * that compiles a section of its own (dataplane/net/net_config.c,
 * dataplane/l4/l4_config.c, dataplane/proxy/proxy_config.c ...).
 *
 * A second public header of config, apart from config.h, so that the fast
 * path, which includes config.h for the snapshot, does not pull in jansson.
 *
 * Every helper that refuses fills @p err with "PATH: expected ..., got ..."
 * (PATH the JSON path, "$.listeners[2].port") and returns -EINVAL, so a section
 * chains them: `if ((rc = cfg_get_u32(...)) != 0 || (rc = ...) != 0) return rc;`.
 * Optional members take their default when absent; @p obj may be NULL (an
 * absent parent object), which reads as "every member absent".
 * Control thread only (inside cfg_compile()).
 */
#ifndef MESHDP_CONFIG_JSON_H
#define MESHDP_CONFIG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"

#define CFG_JPATH_LEN	  128 /* longest JSON path in a message */
#define CFG_NAME_EXPECTED "a name of 1..31 letters, digits, '_', '.' or '-'"
#define CFG_PORT_EXPECTED "an integer in 1..65535"
#define CFG_ADDR_EXPECTED "an IPv4 or IPv6 address (a.b.c.d or x:x::x)"
#define CFG_CIDR_EXPECTED "an IPv4 or IPv6 prefix (a.b.c.d/len or x:x::/len)"

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

/** An optional integer member in min..max, @p def when absent. */
int cfg_get_u32(const json_t *obj, const char *key, const char *path, uint32_t min, uint32_t max,
		uint32_t def, uint32_t *out, struct cfg_error *err);
int cfg_get_u16(const json_t *obj, const char *key, const char *path, uint16_t min, uint16_t max,
		uint16_t def, uint16_t *out, struct cfg_error *err);

/** An optional boolean member, @p def when absent. */
int cfg_get_bool(const json_t *obj, const char *key, const char *path, bool def, bool *out,
		 struct cfg_error *err);

/**
 * An optional string that fits in @p size bytes with its NUL; @p def when absent.
 * @param present set to whether the member was given (may be NULL)
 */
int cfg_get_str(const json_t *obj, const char *key, const char *path, char *buf, size_t size,
		const char *def, bool *present, struct cfg_error *err);

/** 1..31 of [A-Za-z0-9_.-]. */
bool cfg_valid_name(const char *s);

/** A name member into @p buf (CFG_NAME_MAX bytes); @p def when absent and not required. */
int cfg_get_name(const json_t *obj, const char *key, const char *path, char *buf, const char *def,
		 bool required, struct cfg_error *err);

/**
 * A name member "name" that differs from the name of every earlier entry of the
 * same array: entry j's name is at @p base + j * @p stride; @p what names the
 * kind in the message ("a name no other listener has").
 */
int cfg_get_unique_name(const json_t *obj, const char *path, char *buf, const void *base,
			size_t stride, size_t n_before, const char *what, struct cfg_error *err);

/** A string member that is one of @p names (NULL-terminated); *out its index, @p def when absent. */
int cfg_get_enum(const json_t *obj, const char *key, const char *path, const char *const *names,
		 uint8_t def, bool required, uint8_t *out, struct cfg_error *err);

/**
 * An array member of @p min..@p max entries (@p what names them in messages);
 * *out NULL when absent and not required.
 */
int cfg_get_array(const json_t *obj, const char *key, const char *path, size_t min, size_t max,
		  bool required, const char *what, json_t **out, struct cfg_error *err);

/**
 * Item @p i of array @p arr at @p path: an object (@p what names it) with members
 * from @p keys only. @p ipath receives the item's path (CFG_JPATH_LEN bytes).
 */
int cfg_get_item(const json_t *arr, size_t i, const char *path, const char *what,
		 const char *const *keys, json_t **out, char *ipath, struct cfg_error *err);

/**
 * A unicast address (not 0/8, 127/8, multicast, reserved, ::, ::1, link-local).
 * @param want 0 accepts either family; 4 or 6 demands that one, @p like says why
 *             ("like the vip")
 * @param addr 16 bytes out, IPv4 in addr[0..3] and the rest zero
 */
int cfg_parse_addr(const json_t *v, const char *path, uint8_t want, const char *like,
		   uint8_t *family, uint8_t addr[16], struct cfg_error *err);

/** "ADDR/LEN" of either family with no host bits set. */
int cfg_parse_cidr(const json_t *v, const char *path, struct cfg_prefix *out,
		   struct cfg_error *err);

/** A port number 1..65535 (host byte order out). */
int cfg_parse_port(const json_t *v, const char *path, uint16_t *out, struct cfg_error *err);

/** "a.b.c.d" or "[x:x::x]" into @p buf, for messages and keys. */
void cfg_fmt_addr(char *buf, size_t size, uint8_t family, const uint8_t addr[16]);

/** "ADDR/LEN" of family @p af (AF_INET, AF_INET6); host bits are not checked. */
bool cfg_parse_prefix(const char *s, int af, void *addr, uint8_t *len);

/** The IPv4 netmask of @p len, network byte order. */
uint32_t cfg_mask4(uint8_t len);

/** @p in with the bits after @p len cleared. */
void cfg_mask6(uint8_t out[16], const uint8_t in[16], uint8_t len);

#endif
