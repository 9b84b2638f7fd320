/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshctl tls conns: every worker's TLS connections (peer identity, the peer
 * certificate's serial and expiry, age, the serial of the identity each was
 * made with), through the workers' mailboxes as tcp conns (proxy_commands.c).
 * Registered as tls_commands (dataplane/subsystems.c). Control thread.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "../control/control.h"
#include "../tls/tls.h"
#include "proxy.h"

static void tls_cmd_endpoint(const struct tcp_addr *a, uint16_t port, char *buf, size_t len)
{
	if (a->family == 0) {
		snprintf(buf, len, "-");
		return;
	}
	control_addr_port(a->family, a->family == 4 ? (const uint8_t *)&a->v4 : a->v6, htons(port),
			  buf, len);
}

static json_t *tls_cmd_conn_json(const struct cfg_snapshot *snap, unsigned int worker,
				 const void *rec)
{
	const struct tls_conn_info *t = rec;
	char local[INET6_ADDRSTRLEN + 8], remote[INET6_ADDRSTRLEN + 8];

	(void)snap;
	tls_cmd_endpoint(&t->laddr, t->lport, local, sizeof(local));
	tls_cmd_endpoint(&t->raddr, t->rport, remote, sizeof(remote));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:s, "
			 "s:b, s:b, s:b, s:b}",
			 "worker", (json_int_t)worker, "role",
			 t->role == TLS_ROLE_SERVER ? "server" : "client", "local", local, "remote",
			 remote, "peer_id", t->peer_id, "peer_serial", t->peer_serial,
			 "peer_not_after", (json_int_t)t->peer_not_after, "serial", t->local_serial,
			 "not_after", (json_int_t)t->local_not_after, "age_s",
			 (json_int_t)(t->age_us / 1000000), "version", t->version, "cipher",
			 t->cipher, "alpn", t->alpn, "sni", t->sni, "established", t->established,
			 "plaintext", t->plaintext, "resumed", t->resumed, "draining", t->draining);
}

static json_t *tls_cmd_conns(struct control *c, json_t *req, const struct control_peer *peer)
{
	json_t *reply = NULL;
	json_int_t limit;

	(void)peer;
	if (control_arg_limit(req, "tls_conns", &limit, &reply) < 0)
		return reply;
	return control_dump(c, "tls_conns", "conns", WORKER_REQ_TLS_CONNS, -1, limit,
			    sizeof(struct tls_conn_info), tls_cmd_conn_json);
}

static const struct control_cmd tls_cmds[] = {
	{"tls_conns", tls_cmd_conns, 0,
	 "every worker's TLS connections: peer SPIFFE ID, certificate serial and expiry, age, "
	 "the serial of the identity each was made with (limit)"},
};

const struct control_cmd_set tls_commands = {"tls", tls_cmds, RTE_DIM(tls_cmds)};
