/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats: what the X-macro list (counters.def) generates. Each counter's name is
 * a meshctl key and, as meshdp_<name>_total, a Prometheus metric, so names must
 * be unique, valid metric names and not end in _total themselves; the enum
 * follows from the name (STAT_<NAME>), drop reasons are drop_*, and every help
 * text is one line that Prometheus' HELP needs no escaping for. Also the
 * accessors at the edges and the per-worker sum.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/stats/stats.h"

/* The list as written: enum identifier and name side by side. */
static const struct {
	const char *id;
	const char *name;
} listed[] = {
#define STAT(id, name, help) {#id, #name},
#include "dataplane/stats/counters.def"
#undef STAT
};

static void test_names_valid(void **state)
{
	(void)state;
	assert_int_equal(sizeof(listed) / sizeof(listed[0]), STAT_MAX);
	for (unsigned int i = 0; i < STAT_MAX; i++) {
		const char *n = stats_name((enum stats_id)i);
		size_t len;

		assert_non_null(n);
		len = strlen(n);
		/* a meshctl key and a Prometheus name: [a-z][a-z0-9_]*, no "__" */
		if (len == 0 || !islower((unsigned char)n[0]) || n[len - 1] == '_' ||
		    strstr(n, "__") != NULL)
			fail_msg("counter %u: bad name '%s'", i, n);
		for (size_t k = 0; k < len; k++)
			if (!islower((unsigned char)n[k]) && !isdigit((unsigned char)n[k]) &&
			    n[k] != '_')
				fail_msg("counter %s: '%c' is not [a-z0-9_]", n, n[k]);
		/* the exposition appends _total */
		if (len >= 6 && strcmp(n + len - 6, "_total") == 0)
			fail_msg("counter %s would be exposed as meshdp_%s_total", n, n);
		assert_string_equal(listed[i].name, n);
	}
}

static void test_names_unique(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < STAT_MAX; i++)
		for (unsigned int j = i + 1; j < STAT_MAX; j++)
			if (strcmp(stats_name((enum stats_id)i), stats_name((enum stats_id)j)) == 0)
				fail_msg("counters %u and %u are both named %s", i, j,
					 stats_name((enum stats_id)i));
}

/* STAT(DROP_X, drop_x, ...): a copy-pasted line that kept the old enum or the
 * old name shows up here. */
static void test_enum_follows_name(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < STAT_MAX; i++) {
		const char *id = listed[i].id, *n = listed[i].name;
		size_t k;

		for (k = 0; id[k] != '\0' && n[k] != '\0'; k++)
			if (id[k] != toupper((unsigned char)n[k]))
				break;
		if (id[k] != '\0' || n[k] != '\0')
			fail_msg("STAT(%s, %s): the enum is not the name in capitals", id, n);
		/* drop reasons are the drop_* counters, and only they */
		if ((strncmp(n, "drop_", 5) == 0) != (strncmp(id, "DROP_", 5) == 0))
			fail_msg("STAT(%s, %s): drop_ prefix on one side only", id, n);
	}
}

static void test_help_lines(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < STAT_MAX; i++) {
		const char *h = stats_help((enum stats_id)i);

		assert_non_null(h);
		if (strlen(h) < 8)
			fail_msg("counter %s: help '%s' says nothing", stats_name(i), h);
		/* Prometheus HELP escapes '\' and newlines: none, so none to escape */
		if (strpbrk(h, "\\\n\r\t") != NULL)
			fail_msg("counter %s: help has a backslash or a control character",
				 stats_name(i));
		if (h[0] == ' ' || h[strlen(h) - 1] == ' ')
			fail_msg("counter %s: help has leading or trailing blanks", stats_name(i));
	}
}

static void test_edges_and_sum(void **state)
{
	struct stats_block b[3];

	(void)state;
	assert_null(stats_name(STAT_MAX));
	assert_null(stats_help(STAT_MAX));
	assert_null(stats_name((enum stats_id) - 1));
	memset(b, 0, sizeof(b));
	stats_inc(&b[0], STAT_RX_FRAMES);
	stats_add(&b[1], STAT_RX_FRAMES, 41);
	stats_add(&b[2], STAT_TX_FRAMES, 5);
	assert_int_equal(stats_read(&b[1], STAT_RX_FRAMES), 41);
	assert_int_equal(stats_sum(b, 3, STAT_RX_FRAMES), 42);
	assert_int_equal(stats_sum(b, 3, STAT_TX_FRAMES), 5);
	assert_int_equal(stats_sum(b, 1, STAT_RX_FRAMES), 1);
	assert_int_equal(stats_sum(b, 0, STAT_RX_FRAMES), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_valid),	  cmocka_unit_test(test_names_unique),
		cmocka_unit_test(test_enum_follows_name), cmocka_unit_test(test_help_lines),
		cmocka_unit_test(test_edges_and_sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
