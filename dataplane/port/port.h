/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port: driver profiles (the JSON files in drivers-config/) and ethdev bring-up.
 *
 * A profile decides everything about the hardware side: EAL arguments (lcores,
 * main lcore, file prefix, hugepages or --no-huge), the mbuf pool, and each
 * port: device (a PCI address or a vdev such as net_tap0), devargs, descriptors,
 * MTU, RSS and offloads. The config (dataplane/config) then names ports by the
 * profile's port names. docs/OPERATIONS.md documents the format.
 *
 * Threads: control thread only, before the workers start and after they stop.
 */
#ifndef MESHDP_PORT_H
#define MESHDP_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "../config/config.h"

#define PORT_ARGS_MAX 64 /* EAL arguments a profile may produce */

enum port_hugepages {
	PORT_HUGEPAGES_AUTO, /* use hugepages when some are free, else --no-huge */
	PORT_HUGEPAGES_ON,   /* require hugepages */
	PORT_HUGEPAGES_OFF,  /* always --no-huge */
};

struct port_spec {
	char name[CFG_NAME_MAX];
	char device[64];   /* PCI address (0000:01:00.0) or vdev name (net_tap0) */
	char devargs[256]; /* driver arguments, "iface=mdp0" */
	bool pci;
	uint16_t rx_desc;
	uint16_t tx_desc;
	uint16_t mtu;	  /* 0: leave the driver's default */
	bool rss;	  /* symmetric Toeplitz RSS when the port supports it */
	bool rx_checksum; /* use RX IPv4 checksum offload when the port supports it */
};

struct port_profile {
	char name[CFG_NAME_MAX];
	char lcores[64]; /* EAL -l list ("0,1"), or --lcores map when it has '@' */
	unsigned int main_lcore;
	char file_prefix[64];
	unsigned int n_eal_args;
	char eal_args[16][128];
	enum port_hugepages hugepages;
	unsigned int no_huge_mb;
	unsigned int mbufs;
	unsigned int mbuf_cache;
	uint16_t n_ports;
	struct port_spec ports[CFG_MAX_PORTS];
};

/** An EAL argument vector built from a profile; the strings live inside. */
struct port_eal_argv {
	int argc;
	char *argv[PORT_ARGS_MAX + 1];
	char store[PORT_ARGS_MAX][288];
};

/** The embedded default profile (drivers-config/tap.json). */
const char *port_default_profile_text(void);

/**
 * Parse and validate a profile. Unknown fields, wrong types and out-of-range
 * values are refused with a message naming the JSON path.
 * @return 0, or -EINVAL with @p err filled.
 */
int port_profile_parse(const char *text, size_t len, struct port_profile *p, char *err,
		       size_t errlen);

/**
 * Build the EAL arguments for @p p: lcores, main lcore, file prefix, one --vdev or
 * -a per port, hugepages (or --no-huge -m N when @p no_huge or when the profile says
 * auto and no hugepage is free), the profile's extra arguments, then @p extra.
 * @return 0, or -E2BIG with @p err filled.
 */
int port_eal_argv(const struct port_profile *p, const char *prog, bool no_huge, char **extra,
		  int n_extra, struct port_eal_argv *out, char *err, size_t errlen);

/** Whether port @p s is a memif client in zero-copy mode (its devargs say
 * zero-copy=yes): EAL then runs with --single-file-segments and reserves
 * memory.no_huge_mb at start on hugepages too. */
bool port_memif_zero_copy(const struct port_spec *s);

/** Free hugepages of any size (sysfs), or 0 when no hugetlbfs is mounted. */
unsigned long port_free_hugepages(void);

/**
 * Create the mbuf pool sized for @p n_queues queues per port (at least the
 * profile's mbufs). @return the pool or NULL (rte_errno set).
 */
struct rte_mempool *port_pool_create(const struct port_profile *p, uint16_t n_queues);

/**
 * Configure and start every port of @p p with @p n_queues RX/TX queue pairs,
 * fill @p info[] (n = p->n_ports). @return 0, or a negative errno with @p err filled.
 */
int port_start_all(const struct port_profile *p, uint16_t n_queues, struct rte_mempool *pool,
		   struct cfg_port_info *info, char *err, size_t errlen);

/** Stop and close the ports started by port_start_all(). */
void port_stop_all(const struct cfg_port_info *info, uint16_t n);

struct control_cmd_set;

/** meshctl ports (port_commands.c; control thread). */
extern const struct control_cmd_set port_commands;

#endif
