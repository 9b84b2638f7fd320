/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the config tests share: two fake ports, documents written with single
 * quotes (json_of()), compiling against the ports, and expecting a refusal
 * whose message starts with the exact JSON path.
 */
#ifndef MESHDP_CONFIG_FIXTURE_H
#define MESHDP_CONFIG_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/config/config.h"

static const struct cfg_port_info test_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
	{.name = "p1", .port_id = 1, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x02}}},
};

/* 'single' quotes -> "double" quotes; returns a static buffer. */
static inline const char *json_of(const char *s)
{
	static char buf[16384];
	size_t i;

	for (i = 0; s[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = s[i] == '\'' ? '"' : s[i];
	buf[i] = '\0';
	return buf;
}

/* Compile a JSON document against test_ports. */
static inline int compile_json(const char *text, const struct cfg_snapshot *prev,
			       struct cfg_snapshot **out, struct cfg_error *err)
{
	return cfg_compile(text, strlen(text), test_ports, 2, prev, out, err);
}

/* The document must be refused, and the message must start with "PATH: " and hold @p needle. */
static inline void expect_error_prev(const char *doc, const struct cfg_snapshot *prev,
				     const char *path, const char *needle)
{
	struct cfg_snapshot *s = (struct cfg_snapshot *)0x1;
	struct cfg_error err;
	size_t n = strlen(path);
	int rc = compile_json(json_of(doc), prev, &s, &err);

	if (rc != -EINVAL || s != NULL || strncmp(err.msg, path, n) != 0 ||
	    strncmp(err.msg + n, ": ", 2) != 0 ||
	    (needle != NULL && strstr(err.msg, needle) == NULL)) {
		print_error("document: %s\nrc %d, message: %s\nwanted path %s and \"%s\"\n",
			    json_of(doc), rc, err.msg, path, needle ? needle : "");
		if (rc == 0)
			cfg_snapshot_free(s);
		fail();
	}
}

static inline void expect_error(const char *doc, const char *path, const char *needle)
{
	expect_error_prev(doc, NULL, path, needle);
}

/** Compile @p doc (after @p prev, may be NULL) and fail the test if it is refused. */
static inline struct cfg_snapshot *compile_ok_prev(const char *doc, const struct cfg_snapshot *prev)
{
	struct cfg_snapshot *s = NULL;
	struct cfg_error err;
	int rc = compile_json(json_of(doc), prev, &s, &err);

	if (rc != 0) {
		print_error("document: %s\nrc %d, message: %s\n", json_of(doc), rc, err.msg);
		fail();
	}
	return s;
}

static inline struct cfg_snapshot *compile_ok(const char *doc)
{
	return compile_ok_prev(doc, NULL);
}

/* An address as config stores it (16 bytes, IPv4 in the first 4), from a
 * ring of 4 buffers so that a few may be compared at once. */
static inline const uint8_t *test_addr(int family, const char *s)
{
	static uint8_t buf[4][16];
	static unsigned int k;
	uint8_t *b = buf[k++ % 4];

	memset(b, 0, 16);
	assert_int_equal(inet_pton(family, s, b), 1);
	return b;
}

static inline const uint8_t *a4(const char *s)
{
	return test_addr(AF_INET, s);
}

static inline const uint8_t *a6(const char *s)
{
	return test_addr(AF_INET6, s);
}

#endif
