/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EAL set-up shared by the unit tests: no hugepages, no PCI, no shared config,
 * a file prefix of its own so tests may run beside a live meshdp.
 * (--in-memory cannot be combined with --no-huge.) It also hands config the
 * daemon's sections (dataplane/subsystems.c), as main() does.
 */
#ifndef MESHDP_TEST_EAL_H
#define MESHDP_TEST_EAL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dataplane/subsystems.h"

static inline void test_eal_init(void)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "--file-prefix=meshdp-test-%d", (int)getpid());
	char *argv[] = {"unit-test", "--no-huge",	    "-m", "512", "--no-pci", "--no-shconf",
			prefix,	     "--log-level=*:error", "-l", "0",	 NULL};

	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		exit(1);
	}
	meshdp_sections_register();
}

#endif
