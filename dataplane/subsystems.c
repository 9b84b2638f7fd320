/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The subsystems table (subsystems.h). Rows are in config compile order: a
 * section may use what the sections before it compiled (L4 checks VIPs and
 * snat addresses against the interfaces, listeners name services).
 */
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>

#include "audit/audit.h"
#include "authz/authz.h"
#include "config/config.h"
#include "etcd/etcd.h"
#include "inspect/inspect.h"
#include "jwt/jwt.h"
#include "control/control.h"
#include "l4/l4.h"
#include "neigh/neigh.h"
#include "net/net.h"
#include "port/port.h"
#include "proxy/proxy.h"
#include "secrets/secrets.h"
#include "roles/roles.h"
#include "router/router.h"
#include "subsystems.h"
#include "telemetry/telemetry.h"
#include "worker/worker.h"

/* A subsystem's row: its part of the document and its commands (NULL: none). */
struct subsystem {
	const struct cfg_section *section;
	const struct control_cmd_set *commands;
};

static const struct subsystem subsystems[] = {
	{NULL, &control_commands}, /* status, config.*, log.level, tune, help */
	{NULL, &worker_commands},  /* stats */
	{NULL, &port_commands},	   /* ports */
	{NULL, &neigh_commands},   /* neigh */
	/* $.secrets (before proxy: listeners' tls blocks name secrets); secret.* */
	{&secrets_cfg_section, &secrets_commands},
	{&net_cfg_section, &net_commands},	 /* $.interfaces, $.routes; routes */
	{&l4_cfg_section, &l4_commands},	 /* $.mode, services, policies ...; services ... */
	{&router_cfg_section, &router_commands}, /* $.route_configs; http_routes, http_route_test */
	{&telem_cfg_section, &telem_commands},	 /* $.telemetry (after l4: labels); top */
	{&inspect_cfg_section, NULL},		 /* $.request_inspection */
	{&proxy_cfg_section, &proxy_commands},	 /* $.tcp, $.listeners; tcp_stats, tcp_conns */
	{NULL, &tls_commands},			 /* tls_conns */
	{&proxy_cluster_section, NULL},		 /* $.clusters */
	{&authz_cfg_section, &authz_commands},	 /* $.peer_authentication, $.authorization */
	{&jwt_cfg_section, &jwt_commands},	 /* $.request_authentication; jwt (JWKS fetches) */
	{&roles_cfg_section, &roles_commands},	 /* $.roles; config.apply_namespace */
	{NULL, &audit_commands},		 /* audit */
	{&etcd_cfg_section, &etcd_commands},	 /* $.etcd; etcd (and the client's hand-off) */
};

/* The table's columns, as config and control take them. */
static const struct cfg_section *sections[RTE_DIM(subsystems)];
static const struct control_cmd_set *command_sets[RTE_DIM(subsystems)];
static unsigned int n_sections, n_command_sets;

static void subsystems_split(void)
{
	if (n_command_sets != 0)
		return;
	for (unsigned int i = 0; i < RTE_DIM(subsystems); i++) {
		if (subsystems[i].section != NULL)
			sections[n_sections++] = subsystems[i].section;
		if (subsystems[i].commands != NULL)
			command_sets[n_command_sets++] = subsystems[i].commands;
	}
}

void meshdp_sections_register(void)
{
	subsystems_split();
	/* Only a table with a member claimed twice is refused: a build error in effect. */
	if (cfg_sections_set(sections, n_sections) != 0) {
		fprintf(stderr, "meshdp: the config section table claims a member twice\n");
		abort();
	}
}

const struct control_cmd_set *const *meshdp_command_sets(unsigned int *n)
{
	subsystems_split();
	*n = n_command_sets;
	return command_sets;
}

const struct control_guard *meshdp_control_guard(void)
{
	return &roles_guard;
}
