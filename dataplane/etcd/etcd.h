/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * etcd: the node's configuration from an etcd cluster shared by a fleet of
 * nodes (SM-DR25, SM-DR5).
 *
 * Key layout under $.etcd.prefix (docs/OPERATIONS.md "Fleet"):
 *   <prefix>/config            the fleet document: every member but the node's own
 *   <prefix>/namespaces/<ns>   a namespace's document, merged in (roles.h)
 *   <prefix>/status/<node>     each node's report of the last revision it saw
 * Who may write which key is etcd's own authentication and key permissions.
 *
 * A thread of its own (never a worker, never the control thread's loop)
 * talks to etcd's v3 JSON gateway with libcurl (with an auth token when
 * $.etcd.user is set): it reads the fleet's keys at one revision, then watches
 * the prefix from the next one, and on a failure moves to the next endpoint
 * after an exponential back-off. Each changed bundle of keys is handed to the
 * control thread, which applies the live document's node members (node,
 * control, admin, etcd, interfaces, routes, neighbour, tune, flows, tcp), the
 * fleet document's others and each namespace's document through
 * control_apply_text(), the path config.apply takes; changes that arrive while
 * one is being applied are coalesced to the newest. The thread then writes the
 * node's status key (applied or refused, with the error) and, for an applied
 * revision, the local cache file, from which the next start applies it before
 * etcd answers (or while it never does). Until a new revision applies the
 * running configuration stays, whatever etcd does.
 *
 * The settings are startup ones; meshctl etcd shows the client's state.
 */
#ifndef MESHDP_ETCD_H
#define MESHDP_ETCD_H

#include "../config/config.h"
#include "../control/control.h"

#define ETCD_MAX_ENDPOINTS 8
#define ETCD_URL_MAX	   128
#define ETCD_PREFIX_MAX	   128
#define ETCD_PASSWORD_MAX  128

/** $.etcd as compiled (snap->etcd; NULL without the member). */
struct etcd_conf {
	uint32_t n_endpoints;
	char endpoints[ETCD_MAX_ENDPOINTS][ETCD_URL_MAX]; /* "http://10.0.0.1:2379" */
	char prefix[ETCD_PREFIX_MAX];			  /* "/meshdp/prod" */
	char node[CFG_NAME_MAX];	  /* status key name; node.name by default */
	char cache[CFG_PATH_MAX];	  /* last applied revision; "" = none */
	char user[CFG_NAME_MAX];	  /* etcd user; "": etcd's auth is off */
	char password[ETCD_PASSWORD_MAX]; /* the first line of password_file */
	uint32_t timeout_ms;		  /* one request (not the watch) */
	uint32_t backoff_max_ms;	  /* reconnect back-off cap */
};

/** $.etcd (etcd_config.c). */
extern const struct cfg_section etcd_cfg_section;

/** The etcd command and the client's control-thread work (etcd.c). */
extern const struct control_cmd_set etcd_commands;

#endif
