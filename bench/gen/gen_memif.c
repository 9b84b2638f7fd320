/* SPDX-License-Identifier: BSD-3-Clause */
/* What the memif load generators share: see gen_memif.h. */
#include "gen_memif.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

volatile bool gen_quit;

static void gen_on_signal(int sig)
{
	(void)sig;
	gen_quit = true;
}

void gen_memif_signals(void)
{
	signal(SIGINT, gen_on_signal);
	signal(SIGTERM, gen_on_signal);
}

void gen_memif_vdev_arg(unsigned int i, bool server, const char *socket, const char *extra,
			char *buf, size_t len)
{
	snprintf(buf, len, "net_memif%u,role=%s,id=0,socket=%s%s%s", i,
		 server ? "server" : "client", socket, extra[0] != '\0' ? "," : "", extra);
}

int gen_memif_port_init(const char *who, unsigned int i, struct rte_mempool *rx_pool,
			struct gen_port *p)
{
	struct rte_eth_conf conf;
	char name[32];
	uint16_t rxd = GEN_DESC, txd = GEN_DESC;
	int rc;

	snprintf(name, sizeof(name), "net_memif%u", i);
	rc = rte_eth_dev_get_port_by_name(name, &p->id);
	if (rc != 0) {
		fprintf(stderr, "%s: no port %s\n", who, name);
		return rc;
	}
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(p->id, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &rxd, &txd);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(p->id, 0, rxd, rte_socket_id(), NULL, rx_pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(p->id, 0, txd, rte_socket_id(), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(p->id);
	if (rc == 0)
		rc = rte_eth_macaddr_get(p->id, &p->mac);
	if (rc != 0)
		fprintf(stderr, "%s: port %s: %s\n", who, name, rte_strerror(-rc));
	return rc;
}

int gen_memif_wait_links(const struct gen_port *ports, unsigned int n, double timeout)
{
	const uint64_t hz = rte_get_tsc_hz();
	const uint64_t end = rte_rdtsc() + (uint64_t)(timeout * (double)hz);

	while (!gen_quit && rte_rdtsc() < end) {
		unsigned int up = 0;

		for (unsigned int i = 0; i < n; i++) {
			struct rte_eth_link link;

			if (rte_eth_link_get_nowait(ports[i].id, &link) == 0 &&
			    link.link_status == RTE_ETH_LINK_UP)
				up++;
		}
		if (up == n)
			return 0;
		rte_delay_us_sleep(10000);
	}
	return -ETIMEDOUT;
}

bool gen_memif_arp(const struct gen_port *p, struct rte_mbuf *m, uint64_t *replies)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint32_t sip, tip;

	if (m->data_len < sizeof(*eth) + sizeof(*arp) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) ||
	    arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    rte_be_to_cpu_32(arp->arp_data.arp_tip) - p->ip >= p->ip_n)
		return false;
	/* Turn the request into the reply in place and send it back. */
	sip = arp->arp_data.arp_sip;
	tip = arp->arp_data.arp_tip;
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = sip;
	rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = tip;
	if (rte_eth_tx_burst(p->id, 0, &m, 1) == 1)
		(*replies)++;
	else
		rte_pktmbuf_free(m);
	return true;
}

void gen_memif_hold(const char *who, double seconds)
{
	const uint64_t end = rte_get_tsc_cycles() + (uint64_t)(seconds * rte_get_tsc_hz());

	fflush(stdout);
	fprintf(stderr, "%s: holding the link(s) for %.1f s\n", who, seconds);
	while (!gen_quit && rte_get_tsc_cycles() < end)
		rte_delay_us_sleep(10000);
}

void gen_memif_close(const struct gen_port *ports, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		rte_eth_dev_stop(ports[i].id);
		rte_eth_dev_close(ports[i].id);
	}
}

/* The highest value that falls in bucket @p idx. */
static uint64_t gen_hist_upper(unsigned int idx)
{
	unsigned int shift;
	uint64_t mant;

	if (idx < GEN_HIST_SUB)
		return idx;
	shift = (idx - GEN_HIST_SUB) / GEN_HIST_HALF + 1;
	mant = (idx - GEN_HIST_SUB) % GEN_HIST_HALF + GEN_HIST_HALF;
	return ((mant + 1) << shift) - 1;
}

uint64_t gen_hist_quantile(const struct gen_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(q * (double)h->count + 0.999999);
	if (want == 0)
		want = 1;
	for (unsigned int i = 0; i < GEN_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= want)
			return RTE_MIN(gen_hist_upper(i), h->max);
	}
	return h->max;
}
