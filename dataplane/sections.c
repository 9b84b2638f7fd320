/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon's config sections, in compile order: a section may use what the
 * sections before it compiled (L4 checks VIPs and snat addresses against the
 * interfaces, listeners name services). A new subsystem with its own part of
 * the document adds one entry here (docs/ARCHITECTURE.md, "Config grows by
 * subsystem").
 */
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>

#include "config/config.h"
#include "l4/l4.h"
#include "net/net.h"
#include "proxy/proxy.h"
#include "sections.h"

static const struct cfg_section *const meshdp_sections[] = {
	&net_cfg_section,   /* $.interfaces, $.routes */
	&l4_cfg_section,    /* $.mode, mesh, control_plane, workloads, services, ... */
	&proxy_cfg_section, /* $.tcp, $.listeners */
};

void meshdp_sections_register(void)
{
	/* Only a table with a member claimed twice is refused: a build error in effect. */
	if (cfg_sections_set(meshdp_sections, RTE_DIM(meshdp_sections)) != 0) {
		fprintf(stderr, "meshdp: the config section table claims a member twice\n");
		abort();
	}
}
