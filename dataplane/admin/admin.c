/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The loopback admin endpoint. libmicrohttpd runs its own polling thread; that
 * thread registers itself as a QSBR reader, stays offline while idle (so it never
 * holds up a grace period) and goes online only while it reads the live snapshot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "../authz/authz.h"
#include "../endpoint/endpoint.h"
#include "../log/log.h"
#include "../secrets/secrets.h"
#include "../telemetry/telemetry.h"
#include "admin.h"

#define ADMIN_CONN_LIMIT   32
#define ADMIN_CONN_TIMEOUT 10 /* seconds */

struct admin {
	struct MHD_Daemon *mhd;
	const struct worker_set *ws;
	const struct cfg_port_info *ports;
	uint16_t n_ports;
	const struct neigh_table *neigh;
};

/* ---------------------------------------------------------------- rendering */

static void admin_header(struct log_buf *b, const char *name, const char *type, const char *help)
{
	log_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values: escape backslash, double quote and newline (exposition format 0.0.4). */
static void admin_label(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

static const struct {
	const char *name;
	const char *help;
	size_t off;
} admin_port_metrics[] = {
	{"rx_packets", "Packets received by the port", offsetof(struct rte_eth_stats, ipackets)},
	{"tx_packets", "Packets transmitted by the port", offsetof(struct rte_eth_stats, opackets)},
	{"rx_bytes", "Bytes received by the port", offsetof(struct rte_eth_stats, ibytes)},
	{"tx_bytes", "Bytes transmitted by the port", offsetof(struct rte_eth_stats, obytes)},
	{"rx_missed", "Packets dropped by the NIC because the RX queues were full",
	 offsetof(struct rte_eth_stats, imissed)},
	{"rx_errors", "Erroneous packets received", offsetof(struct rte_eth_stats, ierrors)},
	{"tx_errors", "Packets that failed transmission", offsetof(struct rte_eth_stats, oerrors)},
	{"rx_nombuf", "RX mbuf allocation failures", offsetof(struct rte_eth_stats, rx_nombuf)},
};

/* ------------------------------------------------------- L4 services */

/* Per-worker flow table counters (flow_table_stats(): safe from any thread). */
static const struct {
	const char *name;
	const char *type;
	const char *help;
	size_t off;
} admin_flow_metrics[] = {
	{"meshdp_flows", "gauge", "Flows in the worker's flow table",
	 offsetof(struct flow_table_stats, count)},
	{"meshdp_flow_inserts_total", "counter", "Flows inserted into the worker's flow table",
	 offsetof(struct flow_table_stats, inserts)},
	{"meshdp_flow_expired_total", "counter", "Flows removed from the worker's table by aging",
	 offsetof(struct flow_table_stats, expired)},
	{"meshdp_flow_table_full_total", "counter",
	 "Flow inserts refused because the worker's table was full",
	 offsetof(struct flow_table_stats, full)},
};

static void admin_flows(struct log_buf *b, const struct worker_set *ws)
{
	struct flow_table_stats st;
	uint64_t v;

	for (size_t m = 0; m < RTE_DIM(admin_flow_metrics); m++) {
		admin_header(b, admin_flow_metrics[m].name, admin_flow_metrics[m].type,
			     admin_flow_metrics[m].help);
		for (unsigned int i = 0; ws != NULL && ws->w != NULL && i < ws->n; i++) {
			if (ws->w[i].l4.flows == NULL)
				continue;
			flow_table_stats(ws->w[i].l4.flows, &st);
			memcpy(&v, (const char *)&st + admin_flow_metrics[m].off, sizeof(v));
			log_buf_printf(b, "%s{worker=\"%u\"} %" PRIu64 "\n",
				       admin_flow_metrics[m].name, i, v);
		}
	}
}

/*
 * Connections of the workers' TCP stacks by state, summed over workers; every
 * state has a sample, 0 included. tcp_state_counts() reads with relaxed loads
 * from this thread (the stacks live until worker_set_stop(), after admin_stop()).
 */
static void admin_tcp(struct log_buf *b, const struct worker_set *ws)
{
	uint32_t total[TCP_STATE_MAX] = {0}, counts[TCP_STATE_MAX];

	for (unsigned int i = 0; ws != NULL && ws->w != NULL && i < ws->n; i++) {
		worker_tcp_state_counts(&ws->w[i], counts);
		for (unsigned int s = 0; s < TCP_STATE_MAX; s++)
			total[s] += counts[s];
	}
	admin_header(b, "meshdp_tcp_connections", "gauge",
		     "Connections of the workers' TCP stacks in each state (listeners excluded)");
	for (unsigned int s = 0; s < TCP_STATE_MAX; s++)
		log_buf_printf(b, "meshdp_tcp_connections{state=\"%s\"} %" PRIu32 "\n",
			       tcp_state_name((enum tcp_state)s), total[s]);
}

enum admin_ep_field {
	ADMIN_EP_CONNECTIONS,
	ADMIN_EP_FAILURES,
	ADMIN_EP_EJECTIONS,
	ADMIN_EP_ACTIVE,
	ADMIN_EP_HEALTHY,
	ADMIN_EP_EJECTED,
};

static const struct {
	const char *name;
	const char *type;
	const char *help;
} admin_ep_metrics[] = {
	[ADMIN_EP_CONNECTIONS] = {"meshdp_endpoint_connections_total", "counter",
				  "Connections admitted to the endpoint"},
	[ADMIN_EP_FAILURES] = {"meshdp_endpoint_connect_failures_total", "counter",
			       "Connects to the endpoint that failed (refused, reset, timed out)"},
	[ADMIN_EP_EJECTIONS] = {"meshdp_endpoint_ejections_total", "counter",
				"Times the endpoint's circuit breaker ejected it"},
	[ADMIN_EP_ACTIVE] = {"meshdp_endpoint_active_connections", "gauge",
			     "Connections to the endpoint admitted and not yet closed"},
	[ADMIN_EP_HEALTHY] = {"meshdp_endpoint_healthy", "gauge",
			      "1 unless the active health check says unhealthy"},
	[ADMIN_EP_EJECTED] = {"meshdp_endpoint_ejected", "gauge",
			      "1 while the endpoint's breaker is open (ejected or half-open)"},
};

static uint64_t admin_ep_value(const struct l4_ep_view *v, enum admin_ep_field f)
{
	switch (f) {
	case ADMIN_EP_CONNECTIONS:
		return v->connections;
	case ADMIN_EP_FAILURES:
		return v->failures;
	case ADMIN_EP_EJECTIONS:
		return v->ejections;
	case ADMIN_EP_ACTIVE:
		return v->active;
	case ADMIN_EP_HEALTHY:
		return v->health != EP_HEALTH_UNHEALTHY;
	default:
		return v->breaker != EP_CLOSED;
	}
}

/*
 * Service and endpoint series of the live snapshot. The caller is online as an
 * RCU reader (or is the only thread, in tests), so the snapshot and the
 * endpoint states it points to stay valid while we read them.
 */
static void admin_services(struct log_buf *b, const struct cfg_snapshot *snap)
{
	const uint32_t n_svc = snap ? snap->n_services : 0;
	const uint32_t n_ep = snap ? snap->n_endpoints : 0;
	const uint64_t now = rte_rdtsc();
	char svc[2 * L4_KEY_MAX], ep[2 * L4_KEY_MAX];
	struct l4_ep_view *views = NULL;
	struct l4_svc_view sv;

	admin_header(b, "meshdp_service_active_connections", "gauge",
		     "Connections to the service's endpoints admitted and not yet closed");
	for (uint32_t s = 0; s < n_svc; s++) {
		l4_service_view(&snap->services[s], now, &sv);
		admin_label(snap->services[s].key, svc, sizeof(svc));
		log_buf_printf(b, "meshdp_service_active_connections{service=\"%s\"} %" PRIu64 "\n",
			       svc, sv.active);
	}
	admin_header(b, "meshdp_service_endpoints", "gauge",
		     "Endpoints of the service, usable (healthy, not ejected) or not");
	for (uint32_t s = 0; s < n_svc; s++) {
		l4_service_view(&snap->services[s], now, &sv);
		admin_label(snap->services[s].key, svc, sizeof(svc));
		log_buf_printf(b, "meshdp_service_endpoints{service=\"%s\",state=\"usable\"} %u\n",
			       svc, sv.usable);
		log_buf_printf(b,
			       "meshdp_service_endpoints{service=\"%s\",state=\"unusable\"} %u\n",
			       svc, sv.n_endpoints - sv.usable);
	}
	if (n_ep != 0) {
		views = calloc(n_ep, sizeof(*views));
		if (views == NULL) {
			b->failed = true;
			return;
		}
		for (uint32_t i = 0; i < n_ep; i++)
			l4_endpoint_view(&snap->endpoints[i], now, &views[i]);
	}
	for (size_t m = 0; m < RTE_DIM(admin_ep_metrics); m++) {
		admin_header(b, admin_ep_metrics[m].name, admin_ep_metrics[m].type,
			     admin_ep_metrics[m].help);
		for (uint32_t i = 0; i < n_ep; i++) {
			const struct l4_endpoint *e = &snap->endpoints[i];
			const struct l4_service *s = &snap->services[e->service];
			size_t n = strlen(s->key);

			if (e->rt == NULL)
				continue;
			admin_label(s->key, svc, sizeof(svc));
			/* the endpoint's key without its "<namespace>/<service>/" */
			admin_label(strncmp(e->key, s->key, n) == 0 && e->key[n] == '/'
					    ? e->key + n + 1
					    : e->key,
				    ep, sizeof(ep));
			log_buf_printf(b, "%s{service=\"%s\",endpoint=\"%s\"} %" PRIu64 "\n",
				       admin_ep_metrics[m].name, svc, ep,
				       admin_ep_value(&views[i], (enum admin_ep_field)m));
		}
	}
	free(views);
}

char *admin_render_metrics(const struct worker_set *ws, const struct cfg_port_info *ports,
			   uint16_t n_ports, const struct neigh_table *neigh)
{
	const struct cfg_snapshot *snap = rcu_dereference(cfg_live);
	struct rte_eth_stats st[CFG_MAX_PORTS];
	char metric[128], label[3 * CFG_NAME_MAX];
	struct log_buf b;

	if (log_buf_init(&b, 65536) != 0)
		return NULL;
	if (n_ports > CFG_MAX_PORTS)
		n_ports = CFG_MAX_PORTS;
	for (unsigned int id = 0; id < STAT_MAX; id++) {
		snprintf(metric, sizeof(metric), "meshdp_%s_total", stats_name(id));
		admin_header(&b, metric, "counter", stats_help(id));
		for (unsigned int i = 0; ws != NULL && i < ws->n; i++)
			log_buf_printf(&b, "%s{worker=\"%u\"} %" PRIu64 "\n", metric, i,
				       stats_read(&ws->stats[i], id));
	}
	for (unsigned int id = 0; id < SECRETS_STAT_MAX; id++) {
		snprintf(metric, sizeof(metric), "meshdp_%s_total", secrets_stat_name(id));
		admin_header(&b, metric, "counter", secrets_stat_help(id));
		log_buf_printf(&b, "%s %" PRIu64 "\n", metric, secrets_stat(id));
	}
	for (uint16_t p = 0; p < n_ports; p++) {
		memset(&st[p], 0, sizeof(st[p]));
		rte_eth_stats_get(ports[p].port_id, &st[p]);
	}
	for (size_t m = 0; m < RTE_DIM(admin_port_metrics); m++) {
		snprintf(metric, sizeof(metric), "meshdp_port_%s_total",
			 admin_port_metrics[m].name);
		admin_header(&b, metric, "counter", admin_port_metrics[m].help);
		for (uint16_t p = 0; p < n_ports; p++) {
			uint64_t v;

			memcpy(&v, (const char *)&st[p] + admin_port_metrics[m].off, sizeof(v));
			admin_label(ports[p].name, label, sizeof(label));
			log_buf_printf(&b, "%s{port=\"%s\"} %" PRIu64 "\n", metric, label, v);
		}
	}
	admin_header(&b, "meshdp_config_generation", "gauge",
		     "Generation of the live configuration (0: none yet)");
	log_buf_printf(&b, "meshdp_config_generation %" PRIu64 "\n", snap ? snap->generation : 0);
	admin_header(&b, "meshdp_workers", "gauge", "Worker lcores running the data path");
	log_buf_printf(&b, "meshdp_workers %u\n", ws ? ws->n : 0);
	admin_header(&b, "meshdp_neighbours", "gauge", "Entries in the neighbour cache");
	log_buf_printf(&b, "meshdp_neighbours %" PRIu32 "\n", neigh ? neigh_count(neigh) : 0);
	admin_header(&b, "meshdp_up", "gauge", "1 while the data plane is running");
	log_buf_printf(&b, "meshdp_up 1\n");
	admin_flows(&b, ws);
	admin_tcp(&b, ws);
	admin_services(&b, snap);
	telem_render_metrics(snap, &b);
	authz_render_metrics(snap, &b);
	return log_buf_take(&b);
}

/* ---------------------------------------------------------------- HTTP */

static pthread_key_t admin_rcu_key;
static pthread_once_t admin_rcu_once = PTHREAD_ONCE_INIT;

static void admin_rcu_exit(void *arg)
{
	(void)arg;
	rcu_unregister_thread();
}

static void admin_rcu_key_init(void)
{
	if (pthread_key_create(&admin_rcu_key, admin_rcu_exit) != 0)
		LOG(ERR, "admin: cannot create the RCU thread key");
}

/* Register the HTTP thread as a QSBR reader once; it is left offline. */
static void admin_rcu_register(void)
{
	pthread_once(&admin_rcu_once, admin_rcu_key_init);
	if (pthread_getspecific(admin_rcu_key) != NULL)
		return;
	rcu_register_thread();
	rcu_thread_offline();
	pthread_setspecific(admin_rcu_key, (void *)1);
}

static enum MHD_Result admin_send(struct MHD_Connection *conn, unsigned int status,
				  const char *type, char *body, size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (r == NULL) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result admin_handler(void *cls, struct MHD_Connection *conn, const char *url,
				     const char *method, const char *version,
				     const char *upload_data, size_t *upload_data_size,
				     void **con_cls)
{
	static char not_found[] = "not found\n";
	static char not_allowed[] = "method not allowed\n";
	static char ready[] = "ready\n";
	static char not_ready[] = "not ready: no configuration is live\n";
	static char oom[] = "out of memory\n";
	const char *text = "text/plain; charset=utf-8";
	struct admin *a = cls;
	enum MHD_Result ret;
	bool live;
	char *body;

	(void)version;
	(void)upload_data;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		/* do not wait for (and buffer) a body we refuse anyway */
		*upload_data_size = 0;
		return admin_send(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, not_allowed,
				  strlen(not_allowed), false);
	}
	(void)con_cls;
	admin_rcu_register();
	if (strcmp(url, "/metrics") == 0) {
		rcu_thread_online();
		body = admin_render_metrics(a->ws, a->ports, a->n_ports, a->neigh);
		rcu_thread_offline();
		if (body == NULL)
			return admin_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text, oom,
					  strlen(oom), false);
		return admin_send(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
				  body, strlen(body), true);
	}
	if (strcmp(url, "/ready") == 0) {
		rcu_thread_online();
		live = rcu_dereference(cfg_live) != NULL;
		rcu_thread_offline();
		ret = live ? admin_send(conn, MHD_HTTP_OK, text, ready, strlen(ready), false)
			   : admin_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text, not_ready,
					strlen(not_ready), false);
		return ret;
	}
	return admin_send(conn, MHD_HTTP_NOT_FOUND, text, not_found, strlen(not_found), false);
}

/*
 * Parse "A.B.C.D:PORT" or "[IPv6]:PORT" into @p ss; only loopback addresses pass.
 * @return 0 or -EINVAL with @p err filled.
 */
static int admin_parse_listen(const char *listen, struct sockaddr_storage *ss, char *err,
			      size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *hs = listen, *he;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (listen == NULL || listen[0] == '\0') {
		snprintf(err, errlen, "admin listen address is empty");
		return -EINVAL;
	}
	if (listen[0] == '[') {
		he = strchr(listen, ']');
		if (he == NULL || he[1] != ':') {
			snprintf(err, errlen, "admin listen '%s': expected [IPv6]:PORT", listen);
			return -EINVAL;
		}
		hs = listen + 1;
		colon = he + 1;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "admin listen '%s': expected ADDRESS:PORT", listen);
			return -EINVAL;
		}
		he = colon;
	}
	if ((size_t)(he - hs) >= sizeof(host)) {
		snprintf(err, errlen, "admin listen '%s': address too long", listen);
		return -EINVAL;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port > 65535) {
		snprintf(err, errlen, "admin listen '%s': port must be 0..65535", listen);
		return -EINVAL;
	}
	if (listen[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			snprintf(err, errlen, "admin listen '%s': '%s' is not an IPv4 address",
				 listen, host);
			return -EINVAL;
		}
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
			snprintf(err, errlen,
				 "admin listen '%s': refusing a non-loopback address (use "
				 "127.0.0.0/8 or [::1])",
				 listen);
			return -EINVAL;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "admin listen '%s': '%s' is not an IPv6 address",
				 listen, host);
			return -EINVAL;
		}
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
			snprintf(err, errlen,
				 "admin listen '%s': refusing a non-loopback address (use "
				 "127.0.0.0/8 or [::1])",
				 listen);
			return -EINVAL;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	}
	return 0;
}

struct admin *admin_start(const char *listen, const struct worker_set *ws,
			  const struct cfg_port_info *ports, uint16_t n_ports,
			  const struct neigh_table *neigh, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	struct admin *a;
	uint16_t port;

	if (admin_parse_listen(listen, &ss, err, errlen) < 0)
		return NULL;
	if (n_ports > 0 && ports == NULL) {
		snprintf(err, errlen, "admin: %u ports but no port table", n_ports);
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "admin: out of memory");
		return NULL;
	}
	a->ws = ws;
	a->ports = ports;
	a->n_ports = n_ports;
	a->neigh = neigh;
	if (ss.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	a->mhd = MHD_start_daemon(flags, port, NULL, NULL, admin_handler, a, MHD_OPTION_SOCK_ADDR,
				  (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned int)ADMIN_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned int)ADMIN_CONN_TIMEOUT, MHD_OPTION_END);
	if (a->mhd == NULL) {
		snprintf(err, errlen, "admin: cannot listen on %s (address in use?)", listen);
		free(a);
		return NULL;
	}
	LOG(INFO, "admin HTTP on %s (/metrics, /ready)", listen);
	return a;
}

void admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	MHD_stop_daemon(a->mhd);
	free(a);
}
