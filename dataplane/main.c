/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp: the daemon. Brings the pieces up in dependency order, hands the main
 * lcore to the control thread, and takes everything down in reverse order on
 * SIGINT / SIGTERM (exit status 0).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

#include "admin/admin.h"
#include "subsystems.h"
#include "config/config.h"
#include "control/control.h"
#include "l4/l4.h"
#include "log/log.h"
#include "neigh/neigh.h"
#include "port/port.h"
#include "telemetry/telemetry.h"
#include "worker/worker.h"

static volatile sig_atomic_t main_stop;

static void main_on_signal(int sig)
{
	(void)sig;
	main_stop = 1;
}

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: meshdp [--profile FILE] [--config FILE] [--no-huge] [-- EAL-ARGS...]\n"
		"  --profile FILE  driver profile (drivers-config/*.json); default: the embedded\n"
		"                  tap profile (ports p0/p1 = kernel interfaces mdp0/mdp1)\n"
		"  --config FILE   configuration (docs/CONFIG.md); default: the embedded demo "
		"config\n"
		"  --no-huge       run without hugepages whatever the profile says\n"
		"  -- EAL-ARGS     extra DPDK EAL arguments, after the profile's\n"
		"meshctl talks to the running daemon (meshctl --help).\n");
}

/* Read a whole file into a NUL-terminated buffer of at most @p max bytes. */
static char *main_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (f == NULL)
		return NULL;
	buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, max + 1, f);
	if (ferror(f) || *len > max) {
		errno = ferror(f) ? EIO : EFBIG;
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"profile", required_argument, NULL, 'p'},
		{"config", required_argument, NULL, 'c'},
		{"no-huge", no_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *profile_path = NULL, *config_path = NULL;
	char *profile_text = NULL, *config_text = NULL;
	struct cfg_port_info ports[CFG_MAX_PORTS];
	uint16_t port_ids[CFG_MAX_PORTS];
	struct port_eal_argv eal;
	struct port_profile profile;
	struct control_ctx ctx;
	struct worker_set workers = {0};
	struct cfg_snapshot *snap = NULL;
	struct neigh_table *neigh = NULL;
	struct l4_global *l4 = NULL;
	struct rte_mempool *pool = NULL;
	struct control *control = NULL;
	struct admin *admin = NULL;
	struct cfg_error cerr;
	char err[512];
	bool no_huge = false;
	size_t len;
	int opt, rc, status = 1;

	meshdp_sections_register();

	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			profile_path = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'H':
			no_huge = true;
			break;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 2;
		}
	}

	if (profile_path != NULL) {
		profile_text = main_read_file(profile_path, 1 << 20, &len);
		if (profile_text == NULL) {
			fprintf(stderr, "meshdp: %s: %s\n", profile_path, strerror(errno));
			return 2;
		}
	} else {
		profile_text = strdup(port_default_profile_text());
		len = strlen(profile_text);
	}
	rc = port_profile_parse(profile_text, len, &profile, err, sizeof(err));
	free(profile_text);
	if (rc != 0) {
		fprintf(stderr, "meshdp: profile %s: %s\n",
			profile_path ? profile_path : "(default)", err);
		return 2;
	}
	if (config_path != NULL) {
		config_text = main_read_file(config_path, CFG_TEXT_MAX, &len);
		if (config_text == NULL) {
			fprintf(stderr, "meshdp: %s: %s\n", config_path, strerror(errno));
			return 2;
		}
	} else {
		config_text = strdup(cfg_default_text());
		len = strlen(config_text);
	}

	rc = port_eal_argv(&profile, argv[0], no_huge, &argv[optind], argc - optind, &eal, err,
			   sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "meshdp: %s\n", err);
		goto out_text;
	}
	if (rte_eal_init(eal.argc, eal.argv) < 0) {
		fprintf(stderr, "meshdp: EAL init failed: %s\n", rte_strerror(rte_errno));
		goto out_text;
	}
	if (rte_lcore_count() < 2) {
		LOG(ERR, "need at least two lcores (one control, one worker); profile lcores: %s",
		    profile.lcores);
		goto out_eal;
	}
	workers.n = rte_lcore_count() - 1;
	LOG(INFO, "memory: %s",
	    rte_eal_has_hugepages() ? "on hugepages" : "no hugepages (--no-huge)");

	pool = port_pool_create(&profile, (uint16_t)workers.n);
	if (pool == NULL) {
		LOG(ERR, "mbuf pool: %s", rte_strerror(rte_errno));
		goto out_eal;
	}
	rc = port_start_all(&profile, (uint16_t)workers.n, pool, ports, err, sizeof(err));
	if (rc != 0) {
		LOG(ERR, "%s", err);
		goto out_pool;
	}
	for (uint16_t i = 0; i < profile.n_ports; i++)
		port_ids[i] = ports[i].port_id;

	rc = cfg_compile(config_text, len, ports, profile.n_ports, NULL, &snap, &cerr);
	if (rc != 0) {
		LOG(ERR, "config %s: %s", config_path ? config_path : "(embedded default)",
		    cerr.msg);
		goto out_ports;
	}
	l4 = l4_global_create((uint16_t)workers.n);
	if (l4 == NULL) {
		LOG(ERR, "L4 path: out of memory");
		goto out_snap;
	}
	neigh = neigh_create("neigh", snap->startup.neigh_capacity, (int)rte_socket_id());
	if (neigh == NULL) {
		LOG(ERR, "neighbour cache: %s", rte_strerror(rte_errno));
		goto out_snap;
	}
	/* the workers' proxies take their series tables and log rings at creation */
	if (telem_start(snap, workers.n, err, sizeof(err)) != 0) {
		LOG(ERR, "%s", err);
		goto out_snap;
	}
	/* a fatal signal writes a crash event to the security event sink (open
	 * now), then goes on to the handler that was there before (DPDK's, a
	 * sanitizer's) or the default: the core dump still happens */
	rc = telem_crash_install();
	if (rc != 0) {
		LOG(ERR, "crash handler: %s", strerror(-rc));
		goto out_snap;
	}
	/* the workers exist before the first snapshot is bound: their proxies'
	 * listener objects are bound to it like to every later one */
	rc = worker_set_init(&workers, workers.n, port_ids, profile.n_ports, neigh, pool, l4,
			     snap->startup.flow_capacity, snap->startup.tcp_capacity);
	if (rc != 0) {
		LOG(ERR, "workers: %s", strerror(-rc));
		goto out_snap;
	}
	ctx = (struct control_ctx){
		.workers = &workers,
		.ports = ports,
		.n_ports = profile.n_ports,
		.neigh = neigh,
		.l4 = l4,
		.profile_name = profile.name,
		.config_source = config_path ? config_path : "embedded default",
	};
	ctx.command_sets = meshdp_command_sets(&ctx.n_command_sets);
	ctx.guard = meshdp_control_guard();
	if (control_bind(&ctx, snap, NULL, err, sizeof(err)) != 0) {
		LOG(ERR, "config %s: %s", config_path ? config_path : "(embedded default)", err);
		goto out_snap;
	}
	cfg_publish(snap);
	snap = NULL;
	LOG(INFO, "config %s live, generation %" PRIu64,
	    config_path ? config_path : "(embedded default)", cfg_live->generation);

	if (cfg_live->startup.admin_listen[0] != '\0') {
		admin = admin_start(cfg_live->startup.admin_listen, &workers, ports,
				    profile.n_ports, neigh, err, sizeof(err));
		if (admin == NULL) {
			LOG(ERR, "admin %s: %s", cfg_live->startup.admin_listen, err);
			goto out_config;
		}
	}
	control = control_open(&ctx);
	if (control == NULL) {
		LOG(ERR, "control socket %s: %s", cfg_live->startup.control_socket,
		    strerror(errno));
		goto out_admin;
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, main_on_signal);
	signal(SIGTERM, main_on_signal);
	rc = worker_set_launch(&workers);
	if (rc != 0) {
		LOG(ERR, "launching workers: %s", strerror(-rc));
		goto out_control;
	}
	LOG(INFO, "running: profile %s, %u worker(s), %u port(s), control socket %s", profile.name,
	    workers.n, profile.n_ports, cfg_live->startup.control_socket);

	control_run(control, &main_stop);
	LOG(INFO, "stopping");
	/* the admin thread reads the workers' TCP stacks, which worker_set_stop() frees */
	admin_stop(admin);
	admin = NULL;
	worker_set_stop(&workers);
	status = 0;

out_control:
	control_close(control);
out_admin:
	admin_stop(admin);
out_config:
	/* the logger thread reads the live snapshot: it writes what the rings hold and stops first */
	telem_stop();
	/* Workers are stopped (or never ran): no reader is left, the live snapshot
	 * can go, before the workers and the L4 state its runtime objects use. */
	cfg_snapshot_free(rcu_xchg_pointer(&cfg_live, NULL));
out_snap:
	telem_stop();
	cfg_snapshot_free(snap); /* compiled, not published */
	worker_set_free(&workers);
	telem_free(); /* after the proxies, whose last sessions end into it */
	neigh_free(neigh);
	l4_global_free(l4);
out_ports:
	port_stop_all(ports, profile.n_ports);
out_pool:
	rte_mempool_free(pool);
out_eal:
	rte_eal_cleanup();
out_text:
	free(config_text);
	return status;
}
