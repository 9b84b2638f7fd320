/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour cache's control command (meshctl neigh), registered as
 * neigh_commands (dataplane/subsystems.c). Entries are read as workers read
 * them (relaxed atomics): each field is exact, an entry is not one instant's.
 * Control thread.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include <rte_cycles.h>
#include <rte_ether.h>

#include "../control/control.h"
#include "neigh.h"

struct neigh_cmd_walk {
	const struct control *c;
	json_t *arr;
	uint64_t now;
	uint64_t hz;
};

static const char *neigh_cmd_port_name(const struct control *c, uint16_t port_id, char *buf,
				       size_t len)
{
	const struct control_ctx *ctx = control_ctx(c);

	for (uint16_t i = 0; i < ctx->n_ports; i++)
		if (ctx->ports[i].port_id == port_id)
			return ctx->ports[i].name;
	snprintf(buf, len, "port%u", port_id);
	return buf;
}

static void neigh_cmd_one(const struct neigh_entry *e, void *arg)
{
	struct neigh_cmd_walk *nw = arg;
	char addr[INET6_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE], pbuf[16];
	struct rte_ether_addr ea;
	uint64_t confirmed = __atomic_load_n(&e->confirmed_tsc, __ATOMIC_RELAXED);
	uint8_t state = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
	uint64_t age = nw->now > confirmed ? (nw->now - confirmed) * 1000 / nw->hz : 0;

	inet_ntop(e->key.family == 4 ? AF_INET : AF_INET6, e->key.addr, addr, sizeof(addr));
	neigh_entry_mac(e, &ea);
	rte_ether_format_addr(mac, sizeof(mac), &ea);
	json_array_append_new(
		nw->arr, json_pack("{s:s, s:s, s:I, s:s, s:s, s:I}", "address", addr, "port",
				   neigh_cmd_port_name(nw->c, e->key.port_id, pbuf, sizeof(pbuf)),
				   "vlan", (json_int_t)e->key.vlan, "mac", mac, "state",
				   state == NEIGH_REACHABLE ? "reachable"
				   : state == NEIGH_STALE   ? "stale"
							    : "unknown",
				   "age_ms", (json_int_t)age));
}

static json_t *neigh_cmd_neigh(struct control *c, json_t *req, const struct control_peer *peer)
{
	struct neigh_cmd_walk nw = {
		.c = c, .arr = json_array(), .now = rte_rdtsc(), .hz = rte_get_tsc_hz()};

	(void)req;
	(void)peer;
	if (nw.hz == 0)
		nw.hz = 1;
	if (control_ctx(c)->neigh != NULL)
		neigh_walk(control_ctx(c)->neigh, neigh_cmd_one, &nw);
	return ctl_reply_ok(nw.arr);
}

static const struct control_cmd neigh_cmds[] = {
	{"neigh", neigh_cmd_neigh, 0, "the neighbour cache (ARP / NDP)"},
};

const struct control_cmd_set neigh_commands = {"neigh", neigh_cmds, RTE_DIM(neigh_cmds)};
