/* SPDX-License-Identifier: BSD-3-Clause */
/* Driver profiles: every shipped profile parses, bad ones are refused with the
 * JSON path, and the EAL arguments follow the profile. No EAL needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/port/port.h"

#ifndef PROFILE_DIR
#error "PROFILE_DIR must name drivers-config/"
#endif

static char *read_profile(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf = malloc(1 << 16);

	snprintf(path, sizeof(path), "%s/%s", PROFILE_DIR, name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static bool argv_has(const struct port_eal_argv *a, const char *arg)
{
	for (int i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], arg) == 0)
			return true;
	return false;
}

static void test_shipped_profiles_parse(void **state)
{
	static const char *const names[] = {"tap.json",	     "afpacket.json", "memif.json",
					    "memif-zc.json", "pcap.json",     "null.json",
					    "pci.json"};
	struct port_profile p;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len;
		char *text = read_profile(names[i], &len);
		int rc = port_profile_parse(text, len, &p, err, sizeof(err));

		if (rc != 0)
			fail_msg("%s: %s", names[i], err);
		assert_int_equal(p.n_ports, 2);
		assert_string_equal(p.ports[0].name, "p0");
		assert_string_equal(p.ports[1].name, "p1");
		free(text);
	}
}

static void test_embedded_default_is_tap(void **state)
{
	const char *text = port_default_profile_text();
	struct port_profile p;
	char err[256];

	(void)state;
	assert_int_equal(port_profile_parse(text, strlen(text), &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "tap");
	assert_string_equal(p.ports[0].device, "net_tap0");
	assert_string_equal(p.ports[0].devargs, "iface=mdp0");
	assert_int_equal(p.hugepages, PORT_HUGEPAGES_AUTO);
}

static void expect_refused(const char *text, const char *path)
{
	struct port_profile p;
	char err[256] = "";

	assert_int_equal(port_profile_parse(text, strlen(text), &p, err, sizeof(err)), -EINVAL);
	if (strstr(err, path) == NULL)
		fail_msg("error \"%s\" does not name %s", err, path);
}

static void test_bad_profiles_refused(void **state)
{
	(void)state;
	expect_refused("{\"profile\": \"x\", \"ports\": [{\"name\": \"p0\", \"device\": "
		       "\"net_null0\", \"colour\": 1}]}",
		       "$.ports[0].colour");
	expect_refused("{\"profile\": \"x\", \"ports\": [{\"name\": \"p0\", \"device\": "
		       "\"eth0\"}]}",
		       "$.ports[0].device");
	expect_refused("{\"profile\": \"x\", \"ports\": [{\"name\": \"p0\", \"device\": "
		       "\"net_null0\", \"rx_desc\": 8}]}",
		       "$.ports[0].rx_desc");
	expect_refused("{\"profile\": \"x\", \"ports\": [{\"name\": \"p0\", \"device\": "
		       "\"net_null0\"}, {\"name\": \"p0\", \"device\": \"net_null1\"}]}",
		       "$.ports[1]");
	expect_refused("{\"profile\": \"x\", \"ports\": []}", "$.ports");
	expect_refused("{\"ports\": [{\"name\": \"p0\", \"device\": \"net_null0\"}]}", "$.profile");
	expect_refused("{\"profile\": \"x\", \"memory\": {\"hugepages\": \"maybe\"}, \"ports\": "
		       "[{\"name\": \"p0\", \"device\": \"net_null0\"}]}",
		       "$.memory.hugepages");
	expect_refused("{\"profile\": \"x\", \"eal\": {\"args\": [1]}, \"ports\": [{\"name\": "
		       "\"p0\", \"device\": \"net_null0\"}]}",
		       "$.eal.args[0]");
	expect_refused("{\"profile\": \"x\", \"ports\": [{\"name\": \"p0\", \"device\": "
		       "\"net_memif0\", \"devargs\": \"role=server,zero-copy=yes\"}]}",
		       "$.ports[0].devargs");
	expect_refused("{\"profile\": \"x\",", "line 1");
}

static void test_eal_argv(void **state)
{
	static const char tap[] =
		"{\"profile\": \"t\", \"eal\": {\"lcores\": \"0-2\", \"main_lcore\": 2, "
		"\"file_prefix\": \"pfx\", \"args\": [\"--log-level=8\"]}, \"memory\": "
		"{\"hugepages\": false, \"no_huge_mb\": 300}, \"ports\": [{\"name\": \"p0\", "
		"\"device\": \"net_tap0\", \"devargs\": \"iface=x0\"}]}";
	static const char pci[] = "{\"profile\": \"n\", \"memory\": {\"hugepages\": true}, "
				  "\"ports\": [{\"name\": \"p0\", \"device\": \"0000:01:00.0\"}]}";
	/* p1's "zero-copy=yesno" is not zero-copy=yes */
	static const char zc[] =
		"{\"profile\": \"z\", \"memory\": {\"hugepages\": true, \"no_huge_mb\": 700}, "
		"\"ports\": [{\"name\": \"p0\", \"device\": \"net_memif0\", \"devargs\": "
		"\"id=0,role=client,socket=/run/a.sock,zero-copy=yes\"}, {\"name\": \"p1\", "
		"\"device\": \"net_memif1\", \"devargs\": \"role=client,zero-copy=yesno\"}]}";
	char *extra[] = {"--telemetry"};
	struct port_eal_argv a;
	struct port_profile p;
	char err[256];

	(void)state;
	assert_int_equal(port_profile_parse(tap, strlen(tap), &p, err, sizeof(err)), 0);
	assert_int_equal(port_eal_argv(&p, "meshdp", false, extra, 1, &a, err, sizeof(err)), 0);
	assert_string_equal(a.argv[0], "meshdp");
	assert_true(argv_has(&a, "0-2"));
	assert_true(argv_has(&a, "--main-lcore=2"));
	assert_true(argv_has(&a, "--file-prefix=pfx"));
	assert_true(argv_has(&a, "--vdev=net_tap0,iface=x0"));
	assert_true(argv_has(&a, "--no-pci"));
	assert_true(argv_has(&a, "--no-huge"));
	assert_true(argv_has(&a, "300"));
	assert_true(argv_has(&a, "--log-level=8"));
	assert_string_equal(a.argv[a.argc - 1], "--telemetry");
	assert_null(a.argv[a.argc]);

	/* a PCI port is allowed with -a, PCI is not disabled, and with hugepages
	 * required nothing asks for --no-huge unless the caller forces it */
	assert_int_equal(port_profile_parse(pci, strlen(pci), &p, err, sizeof(err)), 0);
	assert_true(p.ports[0].pci);
	assert_int_equal(port_eal_argv(&p, "meshdp", false, NULL, 0, &a, err, sizeof(err)), 0);
	assert_true(argv_has(&a, "-a0000:01:00.0"));
	assert_false(argv_has(&a, "--no-pci"));
	assert_false(argv_has(&a, "--no-huge"));
	assert_int_equal(port_eal_argv(&p, "meshdp", true, NULL, 0, &a, err, sizeof(err)), 0);
	assert_true(argv_has(&a, "--no-huge"));
	assert_false(argv_has(&a, "--single-file-segments"));

	/* a zero-copy memif client: one file per segment list, and on hugepages the
	 * memory reserved at start (without them the usual --no-huge -m) */
	assert_int_equal(port_profile_parse(zc, strlen(zc), &p, err, sizeof(err)), 0);
	assert_true(port_memif_zero_copy(&p.ports[0]));
	assert_false(port_memif_zero_copy(&p.ports[1]));
	assert_int_equal(port_eal_argv(&p, "meshdp", false, NULL, 0, &a, err, sizeof(err)), 0);
	assert_true(argv_has(&a, "--single-file-segments"));
	assert_true(argv_has(&a, "-m"));
	assert_true(argv_has(&a, "700"));
	assert_false(argv_has(&a, "--no-huge"));
	assert_int_equal(port_eal_argv(&p, "meshdp", true, NULL, 0, &a, err, sizeof(err)), 0);
	assert_true(argv_has(&a, "--no-huge"));
	assert_true(argv_has(&a, "--single-file-segments"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_profiles_parse),
		cmocka_unit_test(test_embedded_default_is_tap),
		cmocka_unit_test(test_bad_profiles_refused),
		cmocka_unit_test(test_eal_argv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
