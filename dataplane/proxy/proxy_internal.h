/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy private: the L7 part of the snapshot (HTTP listener options and
 * $.clusters, in snap->proxy_l7), and what the files of dataplane/proxy share
 * at run time (listener objects, the worker's proxy). Only files of
 * dataplane/proxy include this header.
 */
#ifndef MESHDP_PROXY_INTERNAL_H
#define MESHDP_PROXY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "proxy.h"

/* ---- config: snap->proxy_l7 (proxy_config.c, proxy_cluster.c) ---- */

/** What an HTTP listener does with x-forwarded-for. */
enum proxy_xff {
	PROXY_XFF_APPEND,    /* add the client's address to what the client sent */
	PROXY_XFF_OVERWRITE, /* replace it with the client's address */
	PROXY_XFF_NONE,	     /* leave the header as the client sent it */
};

#define PROXY_SERVER_NAME_MAX 64

/** $.listeners[i].http, and the route_config of an HTTP listener. */
struct proxy_http_opts {
	char route_config[CFG_NAME_MAX];
	int32_t route_config_idx;     /* the router's index of it; -1: not resolved */
	uint32_t max_request_headers; /* bytes of a request head */
	uint32_t request_timeout_ms;  /* a whole request head must arrive within; 0: none */
	uint8_t xff;		      /* enum proxy_xff */
	bool allow_connect;	      /* CONNECT is refused (405) unless set */
	bool request_id;	      /* add x-request-id when the client sent none */
	char server_name[PROXY_SERVER_NAME_MAX]; /* "server" of local responses; "": none */
};

/** What fails a request for the endpoint's breaker (outlier detection). */
enum proxy_outlier {
	PROXY_OUTLIER_GATEWAY, /* connect failures, resets, timeouts, 502 / 503 / 504 */
	PROXY_OUTLIER_5XX,     /* those and every other 5xx */
	PROXY_OUTLIER_CONNECT, /* connect failures only, as a tcp_proxy listener */
};

/** $.clusters[i]: the L7 options of one service (defaults for a service without). */
struct proxy_cluster {
	uint32_t service; /* index into snap->services */
	/* circuit_breakers, per node (0: no limit) */
	uint32_t max_requests;	       /* requests in flight to the cluster */
	uint32_t max_pending_requests; /* requests waiting for an upstream connection */
	uint32_t max_retries;	       /* retries in flight */
	uint8_t outlier;	       /* enum proxy_outlier */
	/* pool, per worker and endpoint */
	uint32_t max_idle_per_endpoint;	      /* idle connections kept; 0: none kept */
	uint32_t max_requests_per_connection; /* 0: unlimited */
	uint32_t idle_timeout_s;	      /* an idle pooled connection is closed after */
};

struct proxy_l7_cfg {
	uint32_t n_listeners;
	struct proxy_http_opts *http; /* [n_listeners]; meaningful for HTTP listeners */
	uint32_t n_clusters;	      /* entries in $.clusters */
	/* [n_services]: each service's cluster entry, the defaults for one without */
	struct proxy_cluster *by_service;
};

/** The defaults of a cluster entry (a service without one gets these). */
void proxy_cluster_defaults(struct proxy_cluster *c, uint32_t service);

#endif
