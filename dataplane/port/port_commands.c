/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ports' control command (meshctl ports): each port with its link state
 * and ethdev counters, registered as port_commands (dataplane/subsystems.c).
 * Control thread.
 */
#include <string.h>

#include <rte_ethdev.h>

#include "../control/control.h"
#include "port.h"

static json_t *port_cmd_ports(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct control_ctx *ctx = control_ctx(c);
	json_t *arr = json_array();

	(void)req;
	(void)peer;
	for (uint16_t i = 0; i < ctx->n_ports; i++) {
		const struct cfg_port_info *p = &ctx->ports[i];
		char dev[RTE_ETH_NAME_MAX_LEN] = "";
		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		struct rte_eth_stats st;
		struct rte_eth_link link;
		uint16_t mtu = p->mtu;

		memset(&st, 0, sizeof(st));
		memset(&link, 0, sizeof(link));
		rte_eth_dev_get_name_by_port(p->port_id, dev);
		rte_eth_dev_get_mtu(p->port_id, &mtu);
		rte_eth_link_get_nowait(p->port_id, &link);
		rte_eth_stats_get(p->port_id, &st);
		rte_ether_format_addr(mac, sizeof(mac), &p->mac);
		json_array_append_new(
			arr,
			json_pack("{s:s, s:I, s:s, s:s, s:I, s:b, s:I, s:I, s:I, s:I, s:I, "
				  "s:I, s:I, s:I, s:I}",
				  "name", p->name, "port_id", (json_int_t)p->port_id, "device", dev,
				  "mac", mac, "mtu", (json_int_t)mtu, "link_up",
				  link.link_status == RTE_ETH_LINK_UP, "speed",
				  (json_int_t)link.link_speed, "rx_packets",
				  (json_int_t)st.ipackets, "tx_packets", (json_int_t)st.opackets,
				  "rx_bytes", (json_int_t)st.ibytes, "tx_bytes",
				  (json_int_t)st.obytes, "rx_missed", (json_int_t)st.imissed,
				  "rx_errors", (json_int_t)st.ierrors, "tx_errors",
				  (json_int_t)st.oerrors, "rx_nombuf", (json_int_t)st.rx_nombuf));
	}
	return ctl_reply_ok(arr);
}

static const struct control_cmd port_cmds[] = {
	{"ports", port_cmd_ports, 0, "ports with link state and ethdev counters"},
};

const struct control_cmd_set port_commands = {"port", port_cmds, RTE_DIM(port_cmds)};
