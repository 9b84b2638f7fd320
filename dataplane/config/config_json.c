/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: the one set of JSON helpers every config section uses (config.h,
 * "Config sections"). Each reads one member of a jansson object, checks it
 * strictly and, on refusal, fills struct cfg_error with "PATH: expected ...,
 * got ..." and returns -EINVAL, so callers chain them with ||.
 *
 * Control thread only (they run inside cfg_compile()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_json.h"

#define GOT_LEN 96

int cfg_fail(struct cfg_error *err, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err->msg, sizeof(err->msg), "%s: ", path);

	if (n < 0 || (size_t)n >= sizeof(err->msg))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Quote a string for a message: printable ASCII kept, the rest escaped, long ones cut. */
static void quote(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s != '\0' && o + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			buf[o++] = (char)c;
		} else {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		}
	}
	if (*s != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* What a JSON value is, for the "got ..." half of a message. */
static const char *describe(const json_t *v, char *buf, size_t size)
{
	if (v == NULL)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_STRING:
		quote(json_string_value(v), buf, size);
		return buf;
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, size, "%g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	}
	return "an unknown value";
}

int cfg_fail_got(struct cfg_error *err, const char *path, const char *expected, const json_t *v)
{
	char got[GOT_LEN];

	return cfg_fail(err, path, "expected %s, got %s", expected, describe(v, got, sizeof(got)));
}

/* "$.a" + "b" -> "$.a.b"; keys are sanitised so a path is always printable. */
void cfg_path_key(char *out, const char *parent, const char *key)
{
	char k[48];
	size_t i;

	for (i = 0; key[i] != '\0' && i < sizeof(k) - 1; i++)
		k[i] = key[i] > 0x20 && key[i] < 0x7f ? key[i] : '?';
	k[i] = '\0';
	snprintf(out, CFG_JPATH_LEN, "%s.%s", parent, k);
}

void cfg_path_index(char *out, const char *parent, size_t i)
{
	/* Paths are short; a cut one still names the section. */
	if (snprintf(out, CFG_JPATH_LEN, "%s[%zu]", parent, i) >= CFG_JPATH_LEN)
		out[CFG_JPATH_LEN - 1] = '\0';
}

/* Refuse any member of @p obj not in @p known (NULL-terminated). */
int cfg_check_keys(const json_t *obj, const char *path, const char *const *known,
		   struct cfg_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		char list[256] = "";
		char p[CFG_JPATH_LEN];
		size_t o = 0;
		bool ok = false;

		for (const char *const *k = known; *k != NULL; k++) {
			if (strcmp(key, *k) == 0)
				ok = true;
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
					      k == known ? "" : ", ", *k);
			if (o >= sizeof(list))
				o = sizeof(list) - 1;
		}
		if (!ok) {
			cfg_path_key(p, path, key);
			return cfg_fail(err, p, "unknown field; expected one of: %s", list);
		}
	}
	return 0;
}

/* An optional object member; *out is NULL when absent. */
int cfg_get_section(const json_t *parent, const char *key, const char *path, json_t **out,
		    struct cfg_error *err)
{
	json_t *v = json_object_get(parent, key);
	char p[CFG_JPATH_LEN];

	*out = NULL;
	if (v == NULL)
		return 0;
	cfg_path_key(p, path, key);
	if (!json_is_object(v))
		return cfg_fail_got(err, p, "an object", v);
	*out = v;
	return 0;
}

int cfg_get_u32(const json_t *obj, const char *key, const char *path, uint32_t min, uint32_t max,
		uint32_t def, uint32_t *out, struct cfg_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[CFG_JPATH_LEN];
	char expected[64];

	*out = def;
	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= (json_int_t)min &&
	    json_integer_value(v) <= (json_int_t)max) {
		*out = (uint32_t)json_integer_value(v);
		return 0;
	}
	cfg_path_key(p, path, key);
	snprintf(expected, sizeof(expected), "an integer in %" PRIu32 "..%" PRIu32, min, max);
	return cfg_fail_got(err, p, expected, v);
}

int cfg_get_u16(const json_t *obj, const char *key, const char *path, uint16_t min, uint16_t max,
		uint16_t def, uint16_t *out, struct cfg_error *err)
{
	uint32_t v;
	int rc = cfg_get_u32(obj, key, path, min, max, def, &v, err);

	*out = (uint16_t)v;
	return rc;
}

/* An optional string that fits in @p size bytes with its NUL. *present tells if it was given. */
int cfg_get_str(const json_t *obj, const char *key, const char *path, char *buf, size_t size,
		const char *def, bool *present, struct cfg_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[CFG_JPATH_LEN];
	char expected[64];

	if (present != NULL)
		*present = v != NULL;
	if (v == NULL) {
		snprintf(buf, size, "%s", def);
		return 0;
	}
	cfg_path_key(p, path, key);
	if (!json_is_string(v))
		return cfg_fail_got(err, p, "a string", v);
	if (strlen(json_string_value(v)) >= size) {
		snprintf(expected, sizeof(expected), "a string of at most %zu characters",
			 size - 1);
		return cfg_fail_got(err, p, expected, v);
	}
	snprintf(buf, size, "%s", json_string_value(v));
	return 0;
}

/* Names (node, interfaces, groups): 1..31 of [A-Za-z0-9_.-]. */
bool cfg_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CFG_NAME_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

int cfg_get_name(const json_t *obj, const char *key, const char *path, char *buf, const char *def,
		 bool required, struct cfg_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[CFG_JPATH_LEN];

	cfg_path_key(p, path, key);
	if (v == NULL && required)
		return cfg_fail(err, p, "required field missing; expected %s", CFG_NAME_EXPECTED);
	if (v == NULL) {
		snprintf(buf, CFG_NAME_MAX, "%s", def);
		return 0;
	}
	if (!json_is_string(v) || !cfg_valid_name(json_string_value(v)))
		return cfg_fail_got(err, p, CFG_NAME_EXPECTED, v);
	snprintf(buf, CFG_NAME_MAX, "%s", json_string_value(v));
	return 0;
}

/* "ADDR/LEN" with LEN in 0..max, strictly decimal. */
bool cfg_parse_prefix(const char *s, int af, void *addr, uint8_t *len)
{
	const char *slash = strchr(s, '/');
	unsigned int max = af == AF_INET ? 32 : 128;
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned int v = 0;
	int digits = 0;

	if (slash == NULL || slash == s || (size_t)(slash - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (inet_pton(af, buf, addr) != 1)
		return false;
	for (const char *d = slash + 1; *d != '\0'; d++) {
		if (*d < '0' || *d > '9' || ++digits > 3)
			return false;
		v = v * 10 + (unsigned int)(*d - '0');
	}
	if (digits == 0 || v > max)
		return false;
	*len = (uint8_t)v;
	return true;
}

uint32_t cfg_mask4(uint8_t len)
{
	return len == 0 ? 0 : htonl(~0u << (32 - len));
}

void cfg_mask6(uint8_t out[16], const uint8_t in[16], uint8_t len)
{
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = len > i * 8 ? len - i * 8 : 0;

		out[i] = bits >= 8 ? in[i] : (uint8_t)(in[i] & (0xff00 >> bits));
	}
}

/* An optional (or required) string member that is one of @p names; *out its index. */
int cfg_get_enum(const json_t *obj, const char *key, const char *path, const char *const *names,
		 uint8_t def, bool required, uint8_t *out, struct cfg_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[CFG_JPATH_LEN], expected[128];
	size_t o = 0, n = 0;

	*out = def;
	while (names[n] != NULL)
		n++;
	for (size_t i = 0; v != NULL && json_is_string(v) && i < n; i++) {
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*out = (uint8_t)i;
			return 0;
		}
	}
	for (size_t i = 0; i < n && o < sizeof(expected); i++)
		o += (size_t)snprintf(expected + o, sizeof(expected) - o, "%s\"%s\"",
				      i == 0	   ? ""
				      : i + 1 == n ? " or "
						   : ", ",
				      names[i]);
	cfg_path_key(p, path, key);
	if (v == NULL && !required)
		return 0;
	if (v == NULL)
		return cfg_fail(err, p, "required field missing; expected %s", expected);
	return cfg_fail_got(err, p, expected, v);
}

/* An array member of min..max entries; *out NULL when absent and not required. */
int cfg_get_array(const json_t *obj, const char *key, const char *path, size_t min, size_t max,
		  bool required, const char *what, json_t **out, struct cfg_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[CFG_JPATH_LEN], expected[128];

	*out = NULL;
	cfg_path_key(p, path, key);
	snprintf(expected, sizeof(expected), "an array of %zu..%zu %s", min, max, what);
	if (v == NULL)
		return required ? cfg_fail(err, p, "required field missing; expected %s", expected)
				: 0;
	if (!json_is_array(v))
		return cfg_fail_got(err, p, expected, v);
	if (json_array_size(v) < min || json_array_size(v) > max)
		return cfg_fail(err, p, "expected %s, got %zu", expected, json_array_size(v));
	*out = v;
	return 0;
}

/* Item @p i of array @p arr at @p path must be an object. */
int cfg_get_item(const json_t *arr, size_t i, const char *path, const char *what,
		 const char *const *keys, json_t **out, char *ipath, struct cfg_error *err)
{
	json_t *o = json_array_get(arr, i);

	cfg_path_index(ipath, path, i);
	*out = o;
	if (!json_is_object(o))
		return cfg_fail_got(err, ipath, what, o);
	return cfg_check_keys(o, ipath, keys, err);
}

/* A name that must differ from the name of every earlier entry of the same array. */
int cfg_get_unique_name(const json_t *obj, const char *path, char *buf, const void *base,
			size_t stride, size_t n_before, const char *what, struct cfg_error *err)
{
	char p[CFG_JPATH_LEN], expected[80];
	int rc = cfg_get_name(obj, "name", path, buf, "", true, err);

	if (rc != 0)
		return rc;
	for (size_t j = 0; j < n_before; j++) {
		if (strcmp((const char *)base + j * stride, buf) == 0) {
			cfg_path_key(p, path, "name");
			snprintf(expected, sizeof(expected), "a name no other %s has", what);
			return cfg_fail_got(err, p, expected, json_object_get(obj, "name"));
		}
	}
	return 0;
}

static bool unicast4(const uint8_t a[4])
{
	return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

static bool unicast6(const uint8_t a[16])
{
	struct in6_addr x; /* a copy: @p a need not be aligned for in6_addr */

	memcpy(&x, a, sizeof(x));
	return a[0] != 0xff && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80) &&
	       !IN6_IS_ADDR_UNSPECIFIED(&x) && !IN6_IS_ADDR_LOOPBACK(&x);
}

/*
 * A unicast address. @p want 0 accepts either family; 4 or 6 demands that one,
 * and @p like says why ("like the vip").
 */
int cfg_parse_addr(const json_t *v, const char *path, uint8_t want, const char *like,
		   uint8_t *family, uint8_t addr[16], struct cfg_error *err)
{
	char expected[96];
	uint8_t f;

	memset(addr, 0, 16);
	if (want != 0)
		snprintf(expected, sizeof(expected), "an IPv%u address (%s), %s", want,
			 want == 4 ? "a.b.c.d" : "x:x::x", like);
	else
		snprintf(expected, sizeof(expected), "%s", CFG_ADDR_EXPECTED);
	if (!json_is_string(v))
		return cfg_fail_got(err, path, expected, v);
	f = strchr(json_string_value(v), ':') != NULL ? 6 : 4;
	if (inet_pton(f == 4 ? AF_INET : AF_INET6, json_string_value(v), addr) != 1 ||
	    (want != 0 && f != want))
		return cfg_fail_got(err, path, expected, v);
	if (f == 4 ? !unicast4(addr) : !unicast6(addr))
		return cfg_fail_got(err, path,
				    "a unicast address (not 0/8, 127/8, multicast, reserved, ::, "
				    "::1 or link-local)",
				    v);
	*family = f;
	return 0;
}

/* "ADDR/LEN" of either family with no host bits set. */
int cfg_parse_cidr(const json_t *v, const char *path, struct cfg_prefix *out, struct cfg_error *err)
{
	uint8_t net[16] = {0};
	char want[CFG_JPATH_LEN + 48], s[INET6_ADDRSTRLEN];

	memset(out, 0, sizeof(*out));
	if (!json_is_string(v))
		return cfg_fail_got(err, path, CFG_CIDR_EXPECTED, v);
	out->family = strchr(json_string_value(v), ':') != NULL ? 6 : 4;
	if (!cfg_parse_prefix(json_string_value(v), out->family == 4 ? AF_INET : AF_INET6,
			      out->addr, &out->len))
		return cfg_fail_got(err, path, CFG_CIDR_EXPECTED, v);
	if (out->family == 4) {
		uint32_t a;

		memcpy(&a, out->addr, 4);
		a &= cfg_mask4(out->len);
		memcpy(net, &a, 4);
	} else {
		cfg_mask6(net, out->addr, out->len);
	}
	if (memcmp(net, out->addr, 16) != 0) {
		inet_ntop(out->family == 4 ? AF_INET : AF_INET6, net, s, sizeof(s));
		snprintf(want, sizeof(want), "a prefix with no host bits set (%s/%u)", s, out->len);
		return cfg_fail_got(err, path, want, v);
	}
	return 0;
}

int cfg_parse_port(const json_t *v, const char *path, uint16_t *out, struct cfg_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
		return cfg_fail_got(err, path, CFG_PORT_EXPECTED, v);
	*out = (uint16_t)json_integer_value(v);
	return 0;
}

void cfg_fmt_addr(char *buf, size_t size, uint8_t family, const uint8_t addr[16])
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, s, sizeof(s));
	snprintf(buf, size, family == 4 ? "%s" : "[%s]", s);
}

/* An optional boolean member, @p def when absent. */
int cfg_get_bool(const json_t *obj, const char *key, const char *path, bool def, bool *out,
		 struct cfg_error *err)
{
	json_t *v = json_object_get(obj, key);
	char p[CFG_JPATH_LEN];

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		cfg_path_key(p, path, key);
		return cfg_fail_got(err, p, "true or false", v);
	}
	*out = json_is_true(v);
	return 0;
}
