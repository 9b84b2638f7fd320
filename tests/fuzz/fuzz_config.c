/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: arbitrary bytes into cfg_compile() with two fixed ports. Bad
 * input must be refused with a message naming a JSON path; good input must
 * compile into a snapshot that is freed again (no leaks across runs).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/config/config.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cfg_port_info fuzz_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
	{.name = "p1", .port_id = 1, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x02}}},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	test_eal_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_snapshot *snap = NULL;
	struct cfg_error err;
	int rc = cfg_compile((const char *)data, size, fuzz_ports, 2, NULL, &snap, &err);

	if (rc == 0) {
		/* A compiled snapshot answers lookups and feeds cfg_with_tune(). */
		char *text = cfg_with_tune(snap, "rx_burst", "16", &err);

		(void)cfg_route4(snap, 0);
		free(text);
		cfg_snapshot_free(snap);
	} else if (rc == -EINVAL && strncmp(err.msg, "$", 1) != 0) {
		/* Every refusal starts with a JSON path. */
		abort();
	}
	return 0;
}
