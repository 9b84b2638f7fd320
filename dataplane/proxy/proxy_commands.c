/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP stack's control commands (meshctl tcp stats, tcp conns), registered
 * as proxy_commands (dataplane/subsystems.c). They live with the proxy, which
 * owns each worker's stack (proxy_tcp_stack()), so that dataplane/tcp stays
 * an I/O-free library that knows nothing of the control socket. State counts
 * are read here with relaxed loads (worker_tcp_state_counts()); connections
 * come from every worker through its mailbox (control_dump()). Control thread.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "../control/control.h"
#include "proxy.h"

/* {"closed": N, ...}: every state by name. */
static json_t *proxy_cmd_tcp_states_json(const uint32_t *counts)
{
	json_t *o = json_object();

	for (unsigned int s = 0; s < TCP_STATE_MAX; s++)
		json_object_set_new(o, tcp_state_name((enum tcp_state)s),
				    json_integer((json_int_t)counts[s]));
	return o;
}

/* The TCP stack's counters (tcp/tcp_counters.def): tcp_* and drop_tcp_*. */
static bool proxy_cmd_is_tcp_stat(const char *name)
{
	return strncmp(name, "tcp_", 4) == 0 || strncmp(name, "drop_tcp_", 9) == 0;
}

/*
 * Connections by state, per worker and in total, and the TCP counters summed
 * over workers. The state counts are read here, on the control thread, with
 * relaxed loads (tcp_state_counts()): each is exact, the set is not one
 * instant's.
 */
static json_t *proxy_cmd_tcp_stats(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct worker_set *ws = control_ctx(c)->workers;
	uint32_t total[TCP_STATE_MAX] = {0}, counts[TCP_STATE_MAX];
	json_t *workers = json_array(), *counters = json_object();

	(void)req;
	(void)peer;
	for (unsigned int i = 0; ws != NULL && ws->w != NULL && i < ws->n; i++) {
		worker_tcp_state_counts(&ws->w[i], counts);
		for (unsigned int s = 0; s < TCP_STATE_MAX; s++)
			total[s] += counts[s];
		json_array_append_new(workers,
				      json_pack("{s:I, s:o}", "worker", (json_int_t)i, "states",
						proxy_cmd_tcp_states_json(counts)));
	}
	for (unsigned int id = 0; id < STAT_MAX; id++)
		if (proxy_cmd_is_tcp_stat(stats_name(id)))
			json_object_set_new(counters, stats_name(id),
					    json_integer((json_int_t)worker_set_stat(ws, id)));
	return ctl_reply_ok(json_pack("{s:o, s:o, s:o}", "states", proxy_cmd_tcp_states_json(total),
				      "workers", workers, "counters", counters));
}

/*
 * The optional "state" argument: a state's name. @return 0 with *state set
 * (-1 when absent), or -1 with *err_reply set (naming the valid states).
 */
static int proxy_cmd_arg_tcp_state(json_t *req, const char *cmd, int32_t *state, json_t **err_reply)
{
	json_t *v = json_object_get(req, "state");
	char names[256];
	size_t o = 0;

	*state = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		*err_reply = ctl_reply_error("%s: argument \"state\" must be a string", cmd);
		return -1;
	}
	for (unsigned int s = 0; s < TCP_STATE_MAX; s++) {
		const char *name = tcp_state_name((enum tcp_state)s);

		if (strcmp(json_string_value(v), name) == 0) {
			*state = (int32_t)s;
			return 0;
		}
		if (o < sizeof(names))
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", s ? ", " : "",
					      name);
	}
	*err_reply = ctl_reply_error("%s: unknown state '%.64s' (one of %s)", cmd,
				     json_string_value(v), names);
	return -1;
}

/* "10.0.0.1:80", "[fd00::1]:80"; port in host order. */
static void proxy_cmd_tcp_endpoint(const struct tcp_addr *a, uint16_t port, char *buf, size_t len)
{
	control_addr_port(a->family, a->family == 4 ? (const uint8_t *)&a->v4 : a->v6, htons(port),
			  buf, len);
}

static json_t *proxy_cmd_tcp_conn_json(const struct cfg_snapshot *snap, unsigned int worker,
				       const void *rec)
{
	const struct tcp_conn_info *t = rec;
	char local[INET6_ADDRSTRLEN + 8], remote[INET6_ADDRSTRLEN + 8], wscale[8];

	(void)snap; /* the records carry their addresses */
	proxy_cmd_tcp_endpoint(&t->laddr, t->lport, local, sizeof(local));
	proxy_cmd_tcp_endpoint(&t->raddr, t->rport, remote, sizeof(remote));
	snprintf(wscale, sizeof(wscale), "%u/%u", t->snd_wscale, t->rcv_wscale);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			 "s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:s, s:b}",
			 "worker", (json_int_t)worker, "local", local, "remote", remote, "state",
			 tcp_state_name(t->state), "cc",
			 t->cc == TCP_CC_CUBIC ? "cubic" : "newreno", "snd_una",
			 (json_int_t)t->snd_una, "snd_nxt", (json_int_t)t->snd_nxt, "snd_wnd",
			 (json_int_t)t->snd_wnd, "rcv_nxt", (json_int_t)t->rcv_nxt, "rcv_wnd",
			 (json_int_t)t->rcv_wnd, "cwnd", (json_int_t)t->cwnd, "ssthresh",
			 (json_int_t)t->ssthresh, "srtt_us", (json_int_t)t->srtt_us, "rto_us",
			 (json_int_t)t->rto_us, "mss", (json_int_t)t->mss, "send_queued",
			 (json_int_t)t->send_queued, "recv_queued", (json_int_t)t->recv_queued,
			 "ooo_queued", (json_int_t)t->ooo_queued, "retransmits",
			 (json_int_t)t->retransmits, "sack", t->sack, "timestamps", t->timestamps,
			 "ecn", t->ecn, "wscale", wscale, "in_recovery", t->in_recovery);
}

/* Every worker's TCP connections, through the workers' mailboxes (as flows). */
static json_t *proxy_cmd_tcp_conns(struct control *c, json_t *req, const struct control_peer *peer)
{
	json_t *reply = NULL;
	json_int_t limit;
	int32_t state;

	(void)peer;
	if (control_arg_limit(req, "tcp_conns", &limit, &reply) < 0)
		return reply;
	if (proxy_cmd_arg_tcp_state(req, "tcp_conns", &state, &reply) < 0)
		return reply;
	return control_dump(c, "tcp_conns", "conns", WORKER_REQ_TCP_CONNS, state, limit,
			    sizeof(struct tcp_conn_info), proxy_cmd_tcp_conn_json);
}

static const struct control_cmd proxy_cmds[] = {
	{"tcp_stats", proxy_cmd_tcp_stats, 0,
	 "TCP connections by state (total and per worker) and the TCP stack's counters"},
	{"tcp_conns", proxy_cmd_tcp_conns, 0, "every worker's TCP connections (state, limit)"},
};

const struct control_cmd_set proxy_commands = {"proxy", proxy_cmds, RTE_DIM(proxy_cmds)};
