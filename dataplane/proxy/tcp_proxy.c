/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcp_proxy: listeners, sessions (a client connection and its upstream
 * connection) and the byte splice between them.
 */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include "../authz/authz.h"
#include "../log/log.h"
#include "proxy_internal.h"

struct proxy_session {
	struct proxy_worker *pw;
	struct proxy_listener *pl;
	struct proxy_end down; /* the client's connection */
	struct proxy_end up;   /* to the endpoint; none before the connect */
	struct l4_upstream ups;
	void *slot;	  /* the listener's node-wide connection count (l4_listener_admit) */
	uint64_t last_us; /* the last byte moved either way */
	bool up_ready;	  /* the upstream connection is established */
	bool down_fin;	  /* the client's FIN was passed on (shutdown of up) */
	bool up_fin;	  /* the endpoint's FIN was passed on */
	uint32_t telem;	  /* its telemetry series (telem_tcp_open()); 0: none */
};

/* The TCP stack's output: route the segment like any packet this node sends. */
static void proxy_output(void *ctx, struct rte_mbuf *m)
{
	struct proxy_worker *pw = ctx;

	if (pw->snap == NULL) { /* shutting down: the ports are closed */
		rte_pktmbuf_free(m);
		return;
	}
	if ((rte_pktmbuf_mtod(m, const uint8_t *)[0] >> 4) != 4) {
		stats_inc(pw->stats, STAT_PROXY_DROP_NOT_IPV4);
		rte_pktmbuf_free(m);
		return;
	}
	net_output4(pw->nw, pw->snap, m, pw->now_tsc);
}

/* Active opens use a local port whose replies the steering gives to us. */
static bool proxy_port_ok(void *ctx, const struct tcp_addr *laddr, uint16_t lport,
			  const struct tcp_addr *raddr, uint16_t rport)
{
	struct proxy_worker *pw = ctx;

	return l4_tcp_owner(pw->lw, pw->snap, laddr->v4, rte_cpu_to_be_16(lport), raddr->v4,
			    rte_cpu_to_be_16(rport)) == pw->worker_id;
}

/*
 * A segment to one of our upstream source ports that no connection owns (a
 * late segment of a connection that ended)? Not on a full-NAT source address,
 * where the same ports belong to the L4 path's flows.
 */
static bool proxy_port_orphan(const struct proxy_worker *pw, const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	const struct proxy_snap_rt *rt = pw->snap->proxy_rt;
	const uint32_t n_snat = rt != NULL ? rt->n_snat : 0;
	const struct rte_tcp_hdr *th;
	uint16_t port;

	if (rte_pktmbuf_data_len(m) < ihl + sizeof(*th))
		return false;
	th = (const struct rte_tcp_hdr *)((const uint8_t *)ip + ihl);
	port = rte_be_to_cpu_16(th->dst_port);
	if (port < PROXY_PORT_MIN || port > PROXY_PORT_MAX)
		return false;
	if (n_snat > PROXY_SNAT_MAX)
		return false; /* too many to tell: leave it to the L4 path */
	for (uint32_t i = 0; i < n_snat; i++)
		if (rt->snat[i] == ip->dst_addr)
			return false;
	return true;
}

static bool proxy_local_tcp(void *ctx, struct rte_mbuf *m, uint64_t now_tsc)
{
	struct proxy_worker *pw = ctx;

	pw->now_tsc = now_tsc;
	if (tcp_input(pw->tcp, m, proxy_us(pw, now_tsc)))
		return true;
	if (!proxy_port_orphan(pw, m))
		return false;
	tcp_reset_reply(pw->tcp, m); /* RFC 9293 3.10.7.1; counted drop_tcp_no_conn */
	return true;
}

static bool proxy_local_tcp_icmp(void *ctx, const void *quoted, uint32_t len, uint32_t mtu,
				 uint64_t now_tsc)
{
	struct proxy_worker *pw = ctx;

	pw->now_tsc = now_tsc;
	return tcp_icmp_error(pw->tcp, quoted, len, mtu, proxy_us(pw, now_tsc));
}

/* ---- sessions ---- */

static void proxy_session_end(struct proxy_session *s)
{
	struct proxy_worker *pw = s->pw;

	l4_upstream_close(&s->ups);
	l4_listener_release(s->slot);
	proxy_listener_put(s->pl);
	telem_tcp_close(pw->telem, s->telem);
	stats_inc(pw->stats, STAT_PROXY_SESSIONS_CLOSED);
	rte_mempool_put(pw->sessions, s);
}

/* Both connections gone: the session is over. */
static void proxy_session_maybe_end(struct proxy_session *s)
{
	if (!proxy_end_open(&s->down) && !proxy_end_open(&s->up))
		proxy_session_end(s);
}

/* Abort what is left of a session (RST both ways) and end it. */
static void proxy_session_abort(struct proxy_session *s)
{
	proxy_end_abort(&s->down);
	proxy_end_abort(&s->up);
	proxy_session_end(s);
}

/*
 * Move what @p from received to @p to, as far as @p to's send buffer takes
 * it; pass the FIN (or close_notify) on once everything before it went.
 * @return bytes moved.
 */
uint32_t proxy_end_move(struct proxy_end *from, struct proxy_end *to, bool *fin_passed)
{
	uint32_t moved = 0, space;
	struct rte_mbuf *m;

	while ((space = proxy_end_space(to)) > 0 && (m = proxy_end_recv(from, space)) != NULL) {
		uint32_t len = m->pkt_len;

		if (proxy_end_send(to, m) < 0)
			break;
		moved += len;
	}
	if (!*fin_passed && proxy_end_eof(from)) {
		*fin_passed = true;
		proxy_end_shutdown(to);
	}
	return moved;
}

static uint32_t proxy_splice(struct proxy_session *s, struct proxy_end *from, struct proxy_end *to,
			     bool *fin_passed)
{
	uint32_t moved = proxy_end_move(from, to, fin_passed);

	if (moved > 0)
		s->last_us = proxy_us(s->pw, s->pw->now_tsc);
	return moved;
}

static void proxy_pump(struct proxy_session *s)
{
	uint32_t received, sent = 0;

	if (!proxy_end_open(&s->down) || !proxy_end_open(&s->up) || !s->up_ready)
		return;
	received = proxy_splice(s, &s->down, &s->up, &s->down_fin);
	if (proxy_end_open(&s->down) && proxy_end_open(&s->up))
		sent = proxy_splice(s, &s->up, &s->down, &s->up_fin);
	if (received + sent != 0)
		telem_tcp_bytes(s->pw->telem, s->telem, received, sent);
}

static void proxy_readable(struct tcp_conn *c, void *arg)
{
	(void)c;
	proxy_pump(arg);
}

static void proxy_writable(struct tcp_conn *c, void *arg)
{
	(void)c;
	proxy_pump(arg);
}

/* The upstream connection is ready (TCP established; with TLS, the handshake done). */
static void proxy_up_ready(struct proxy_session *s)
{
	struct proxy_worker *pw = s->pw;

	s->up_ready = true;
	proxy_end_set_timer(&s->up, 0);
	stats_inc(pw->stats, STAT_PROXY_UPSTREAM_CONNECTED);
	l4_upstream_result(pw->lw, pw->snap, &s->ups, true, pw->now_tsc);
	s->last_us = proxy_us(pw, pw->now_tsc);
	proxy_pump(s);
}

static void proxy_connected(struct tcp_conn *c, void *arg)
{
	(void)c;
	proxy_up_ready(arg);
}

/* One connection of @p s is over (@p failed: not by a clean close). */
static void proxy_end_closed(struct proxy_session *s, bool is_up, bool failed)
{
	struct proxy_worker *pw = s->pw;

	if (is_up) {
		s->up.tcp = NULL;
		s->up.tls = NULL;
		if (!s->up_ready) {
			/* the connect failed: refused, timed out, unreachable */
			stats_inc(pw->stats, STAT_PROXY_UPSTREAM_FAILED);
			if (pw->snap != NULL) /* NULL: the worker is being freed */
				l4_upstream_result(pw->lw, pw->snap, &s->ups, false, pw->now_tsc);
		}
	} else {
		s->down.tcp = NULL;
		s->down.tls = NULL;
	}
	if (failed) {
		/* one side failed: the other learns it the same way (RST) */
		proxy_session_abort(s);
		return;
	}
	proxy_session_maybe_end(s);
}

static void proxy_closed(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	struct proxy_session *s = arg;

	proxy_end_closed(s, c == s->up.tcp, reason != TCP_CLOSE_NORMAL);
}

/* The user timer: the connect timeout on up, the idle timeout on down. */
static void proxy_session_timer(struct proxy_session *s, bool is_up)
{
	struct proxy_worker *pw = s->pw;
	uint64_t now = proxy_us(pw, pw->now_tsc);

	if (is_up && !s->up_ready) {
		stats_inc(pw->stats, STAT_PROXY_CONNECT_TIMEOUTS);
		stats_inc(pw->stats, STAT_PROXY_UPSTREAM_FAILED);
		l4_upstream_result(pw->lw, pw->snap, &s->ups, false, pw->now_tsc);
		proxy_session_abort(s);
		return;
	}
	if (!is_up && s->pl->idle_timeout_us != 0) {
		if (now - s->last_us >= s->pl->idle_timeout_us) {
			stats_inc(pw->stats, STAT_PROXY_IDLE_TIMEOUTS);
			proxy_session_abort(s);
			return;
		}
		proxy_end_set_timer(&s->down, s->last_us + s->pl->idle_timeout_us - now);
	}
}

static void proxy_timer_fired(struct tcp_conn *c, void *arg)
{
	struct proxy_session *s = arg;

	proxy_session_timer(s, c == s->up.tcp);
}

static const struct tcp_callbacks proxy_session_cbs = {
	.connected = proxy_connected,
	.readable = proxy_readable,
	.writable = proxy_writable,
	.timer = proxy_timer_fired,
	.closed = proxy_closed,
};

static const struct tls_callbacks proxy_tls_cbs;

/* The cluster's authorization policies (dataplane/authz), with the client's verified identity. */
static bool proxy_authorized(const struct proxy_session *s, const struct cfg_snapshot *snap,
			     const struct cfg_listener *cl, const struct tcp_conn_info *ci)
{
	struct authz_request ar = {
		.family = 4, .addr = (const uint8_t *)&ci->raddr.v4, .port = ci->lport};
	struct tls_conn_info ti;
	struct telem_sev_ctx sc = {
		.client = ci->raddr.v4,
		.client_port = ci->rport,
		.listener = s->pl->name,
		.service = (int32_t)cl->service,
	};

	if (!authz_active(snap, cl->service))
		return true;
	if (s->down.tls != NULL) {
		tls_conn_info(s->down.tls, &ti);
		ar.principal = ti.peer_id;
	}
	if (authz_check(snap, cl->service, &ar, s->pw->stats))
		return true;
	telem_sev_emit(s->pw->telem, snap, TELEM_SEV_AUTHZ_DENIED, &sc,
		       "an authorization policy denied the connection (reset)",
		       proxy_us(s->pw, s->pw->now_tsc));
	return false;
}

/*
 * Open the session's upstream connection (the client's, @p ci, is
 * established: for TLS, its handshake is done). @return 0, or -1 with the
 * session ended but for the client connection, which the caller refuses.
 */
static int proxy_session_connect(struct proxy_session *s, const struct tcp_conn_info *ci)
{
	struct proxy_worker *pw = s->pw;
	const struct cfg_snapshot *snap = pw->snap;
	struct proxy_listener *pl = s->pl;
	const struct cfg_listener *cl;
	struct tcp_addr laddr = {.family = 4}, raddr = {.family = 4};
	enum stats_id why;
	int32_t li;

	li = l4_listener_lookup(snap, 4, &ci->laddr.v4, rte_cpu_to_be_16(ci->lport));
	if (li < 0) {
		stats_inc(pw->stats, STAT_PROXY_REFUSED_NO_LISTENER);
		return -1;
	}
	cl = &snap->listeners[li];
	if (!proxy_authorized(s, snap, cl, ci))
		return -1; /* reset, counted by authz_check() */
	why = l4_upstream_open(pw->lw, snap, cl->service, cl->service_port, cl->target_port,
			       ci->raddr.v4, rte_cpu_to_be_16(ci->rport), ci->laddr.v4,
			       rte_cpu_to_be_16(ci->lport), NULL, pw->now_tsc, &s->ups);
	if (why != NET_CHECK_OK || s->ups.source == 0) {
		stats_inc(pw->stats, why != NET_CHECK_OK ? why : STAT_PROXY_UPSTREAM_FAILED);
		return -1;
	}
	laddr.v4 = s->ups.source;
	raddr.v4 = s->ups.addr;
	if (pl->up_tls != NULL) /* origination: the endpoint must be the cluster's identity */
		s->up.tls = tls_connect(pw->tls, pl->up_tls, pw->tcp, &laddr, &raddr,
					rte_be_to_cpu_16(s->ups.port), &pl->params, &proxy_tls_cbs,
					s, proxy_us(pw, pw->now_tsc));
	else
		s->up.tcp =
			tcp_connect(pw->tcp, &laddr, &raddr, rte_be_to_cpu_16(s->ups.port),
				    &pl->params, &proxy_session_cbs, s, proxy_us(pw, pw->now_tsc));
	if (!proxy_end_open(&s->up)) {
		stats_inc(pw->stats, STAT_PROXY_UPSTREAM_FAILED);
		l4_upstream_result(pw->lw, snap, &s->ups, false, pw->now_tsc);
		return -1;
	}
	proxy_end_set_timer(&s->up, pl->connect_timeout_us); /* TCP and TLS handshakes */
	s->last_us = proxy_us(pw, pw->now_tsc);
	if (pw->telem != NULL) {
		uint8_t sec = pl->up_tls != NULL ? TELEM_SEC_UP_MTLS : 0;
		struct tls_conn_info ti = {.peer_id = ""};

		if (s->down.tls != NULL) {
			tls_conn_info(s->down.tls, &ti);
			sec |= ti.peer_id[0] != '\0' ? TELEM_SEC_DOWN_MTLS : 0;
		}
		s->telem = telem_tcp_open(
			pw->telem, snap,
			telem_peer_label(snap, l4_workload_of(snap, 4, &ci->raddr.v4), ti.peer_id),
			(int32_t)cl->service, l4_workload_of(snap, 4, &s->ups.addr), sec);
	}
	return 0;
}

/* ---- sessions of TLS listeners: the client's side is a tls_conn ---- */

static int proxy_tls_done(struct tls_conn *c, void *arg)
{
	struct proxy_session *s = arg;
	struct tcp_conn_info ci;

	if (c == s->up.tls) {
		proxy_up_ready(s);
		return 0;
	}

	tcp_conn_get_info(tls_tcp(c), &ci);
	if (proxy_session_connect(s, &ci) != 0) {
		s->down.tls = NULL;
		proxy_session_end(s);
		return -1; /* the TLS layer closes the client's connection */
	}
	return 0;
}

static void proxy_tls_readable(struct tls_conn *c, void *arg)
{
	(void)c;
	proxy_pump(arg);
}

static void proxy_tls_writable(struct tls_conn *c, void *arg)
{
	(void)c;
	proxy_pump(arg);
}

static void proxy_tls_timer(struct tls_conn *c, void *arg)
{
	struct proxy_session *s = arg;

	proxy_session_timer(s, c == s->up.tls);
}

static void proxy_tls_closed(struct tls_conn *c, void *arg, enum tls_close_reason reason)
{
	struct proxy_session *s = arg;

	proxy_end_closed(s, c == s->up.tls, reason != TLS_CLOSE_NORMAL);
}

static const struct tls_callbacks proxy_tls_cbs = {
	.handshake_done = proxy_tls_done,
	.readable = proxy_tls_readable,
	.writable = proxy_tls_writable,
	.timer = proxy_tls_timer,
	.closed = proxy_tls_closed,
};

/* A client connection completed its TCP handshake on listener @p arg. */
static int proxy_accepted(struct tcp_conn *c, void *arg)
{
	struct proxy_listener *pl = arg;
	struct proxy_worker *pw = pl->pw;
	const struct cfg_snapshot *snap = pw->snap;
	struct proxy_session *s;
	struct tcp_conn_info ci;
	void *slot;
	int32_t li;

	tcp_conn_get_info(c, &ci);
	li = l4_listener_lookup(snap, 4, &ci.laddr.v4, rte_cpu_to_be_16(ci.lport));
	if (li < 0 || !pl->listening) {
		stats_inc(pw->stats, STAT_PROXY_REFUSED_NO_LISTENER);
		return -1;
	}
	slot = l4_listener_admit(&snap->listeners[li]);
	if (slot == NULL) {
		stats_inc(pw->stats, STAT_PROXY_REFUSED_LIMIT);
		return -1;
	}
	if (rte_mempool_get(pw->sessions, (void **)&s) != 0) {
		l4_listener_release(slot);
		stats_inc(pw->stats, STAT_PROXY_REFUSED_LIMIT);
		return -1;
	}
	memset(s, 0, sizeof(*s));
	s->slot = slot;
	s->pw = pw;
	s->pl = pl;
	pl->active++;
	stats_inc(pw->stats, STAT_PROXY_SESSIONS);
	if (pl->tls != NULL) {
		/* the upstream connection waits for the client's identity */
		s->down.tls = tls_accept(pw->tls, pl->tls, c, &proxy_tls_cbs, s);
		if (s->down.tls == NULL) {
			proxy_session_end(s);
			return -1;
		}
	} else {
		s->down.tcp = c;
		tcp_set_arg(c, s);
		if (proxy_session_connect(s, &ci) != 0) {
			s->down.tcp = NULL;
			proxy_session_end(s);
			return -1; /* the stack resets the client */
		}
	}
	s->last_us = proxy_us(pw, pw->now_tsc);
	if (pl->idle_timeout_us != 0)
		proxy_end_set_timer(&s->down, pl->idle_timeout_us);
	return 0;
}

static const struct tcp_callbacks proxy_listener_cbs = {
	.accepted = proxy_accepted,
	.readable = proxy_readable,
	.writable = proxy_writable,
	.timer = proxy_timer_fired,
	.closed = proxy_closed,
};

/* A TLS listener's: the TLS layer's TCP callbacks, with proxy_accepted().
 * Filled once (proxy_global_create(), control thread, before any worker runs). */
static struct tcp_callbacks proxy_tls_listener_cbs;

/* ---- listeners ---- */

static void proxy_params(const struct cfg_listener *cl, struct tcp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->cc = (enum tcp_cc_algo)cl->tcp.congestion;
	p->nodelay = cl->tcp.nodelay;
	p->ecn = cl->tcp.ecn;
	p->rcvbuf = cl->tcp.rcvbuf;
	p->sndbuf = cl->tcp.sndbuf;
	p->syn_backlog = cl->tcp.syn_backlog;
	p->keepalive_idle_ms = cl->tcp.keepalive_idle_s * 1000;
	p->keepalive_intvl_ms = cl->tcp.keepalive_interval_s * 1000;
	p->keepalive_probes = cl->tcp.keepalive_probes;
}

/* Worker: stop listening; the object stays in pw->listeners while sessions run. */
static void proxy_listener_retire(struct proxy_listener *pl)
{
	tcp_listener_stop(pl->tl);
	pl->listening = false;
	if (pl->active == 0) {
		LIST_REMOVE(pl, link);
		__atomic_store_n(&pl->state, PROXY_LISTENER_DONE, __ATOMIC_RELEASE);
	}
}

/*
 * Worker: bring the running listeners in line with @p snap, whose objects the
 * control thread built (proxy_bind()): retire those it does not have, start its
 * new ones. Pointers only: no allocation, no free, no log line.
 */
static void proxy_follow(struct proxy_worker *pw, const struct cfg_snapshot *snap)
{
	const struct proxy_snap_rt *rt = snap->proxy_rt;
	const uint32_t n = rt != NULL ? rt->n_listeners : 0;
	struct proxy_listener *const *mine = rt != NULL ? &rt->pl[pw->worker_id * n] : NULL;
	struct proxy_listener *pl, *next;

	for (uint32_t i = 0; i < n; i++)
		if (mine[i] != NULL)
			mine[i]->want_gen = snap->generation;
	for (pl = LIST_FIRST(&pw->listeners); pl != NULL; pl = next) {
		next = LIST_NEXT(pl, link);
		if (!pl->listening || pl->want_gen == snap->generation)
			continue;
		/* rebuilt with other identities (SM-DR14): its connections close
		 * within the new object's drain window */
		for (uint32_t i = 0; i < n; i++) {
			if (mine[i] == NULL || strcmp(mine[i]->name, pl->name) != 0)
				continue;
			if (pl->tls != NULL && mine[i]->tls != NULL)
				tls_worker_rotate(pw->tls, pl->tls, mine[i]->tls);
			if (pl->up_tls != NULL && mine[i]->up_tls != NULL)
				tls_worker_rotate(pw->tls, pl->up_tls, mine[i]->up_tls);
		}
		proxy_listener_retire(pl);
	}
	for (uint32_t i = 0; i < n; i++) {
		pl = mine[i];
		if (pl == NULL ||
		    __atomic_load_n(&pl->state, __ATOMIC_RELAXED) != PROXY_LISTENER_FRESH)
			continue;
		if (tcp_listener_start(pw->tcp, pl->tl) != 0) {
			stats_inc(pw->stats, STAT_PROXY_LISTEN_FAILED);
			__atomic_store_n(&pl->state, PROXY_LISTENER_DONE, __ATOMIC_RELEASE);
			continue;
		}
		pl->listening = true;
		__atomic_store_n(&pl->state, PROXY_LISTENER_RUNNING, __ATOMIC_RELEASE);
		LIST_INSERT_HEAD(&pw->listeners, pl, link);
	}
	hp_follow(pw);
	pw->bound_gen = snap->generation;
}

/* ---- the control thread's side ---- */

static void proxy_listener_free(struct proxy_listener *pl)
{
	tcp_listener_free(pl->tl);
	tls_ctx_free(pl->tls);
	tls_ctx_free(pl->up_tls);
	rte_free(pl);
}

/* The HTTP options listener @p li of @p snap is built with (zero for a tcp_proxy one). */
static void proxy_http_opts_of(const struct cfg_snapshot *snap, uint32_t li,
			       struct proxy_http_opts *h)
{
	const struct proxy_l7_cfg *l7 = snap->proxy_l7;

	memset(h, 0, sizeof(*h));
	if (snap->listeners[li].type != CFG_LISTENER_HTTP)
		return;
	*h = l7->http[li];
}

static bool proxy_http_opts_same(const struct proxy_http_opts *a, const struct proxy_http_opts *b)
{
	return strcmp(a->route_config, b->route_config) == 0 &&
	       a->max_request_headers == b->max_request_headers &&
	       a->request_timeout_ms == b->request_timeout_ms && a->xff == b->xff &&
	       a->allow_connect == b->allow_connect && a->request_id == b->request_id &&
	       a->outbound == b->outbound && strcmp(a->server_name, b->server_name) == 0;
}

/* The tls block of listener @p li's cluster (disabled: none, or an HTTP listener). */
static const struct tls_client_conf *proxy_up_tls_conf(const struct cfg_snapshot *snap, uint32_t li)
{
	static const struct tls_client_conf none;
	const struct proxy_l7_cfg *l7 = snap->proxy_l7;
	const struct cfg_listener *cl = &snap->listeners[li];

	if (cl->type != CFG_LISTENER_TCP_PROXY || l7 == NULL || l7->by_service == NULL)
		return &none;
	return &l7->by_service[cl->service].tls;
}

/* Is @p pl (built for listener @p li of @p snap) what that listener asks for now? */
static bool proxy_listener_same(const struct proxy_listener *pl, const struct cfg_snapshot *snap,
				uint32_t li)
{
	const struct cfg_listener *cl = &snap->listeners[li];
	struct proxy_http_opts h;
	struct tcp_params p;

	proxy_params(cl, &p);
	proxy_http_opts_of(snap, li, &h);
	return strcmp(cl->name, pl->name) == 0 && cl->family == pl->family &&
	       cl->type == pl->type && proxy_http_opts_same(&h, &pl->http) &&
	       memcmp(cl->addr, pl->addr, 16) == 0 && cl->port == pl->port &&
	       memcmp(&p, &pl->params, sizeof(p)) == 0 &&
	       (uint64_t)cl->connect_timeout_ms * 1000 == pl->connect_timeout_us &&
	       (uint64_t)cl->idle_timeout_s * 1000000 == pl->idle_timeout_us &&
	       tls_ctx_same_listener(pl->tls, snap, li) &&
	       tls_ctx_same_cluster(pl->up_tls, snap, proxy_up_tls_conf(snap, li));
}

/* Build worker @p pw's object for listener @p li of @p snap. @return 0 or -errno (@p err says why). */
static int proxy_listener_build(struct proxy_worker *pw, const struct cfg_snapshot *snap,
				uint32_t li, struct proxy_listener **out, char *err, size_t errlen)
{
	const struct cfg_listener *cl = &snap->listeners[li];
	struct proxy_listener *pl = rte_zmalloc("proxy_listener", sizeof(*pl), 0);
	struct tcp_addr a = {.family = 4};
	int rc;

	if (pl == NULL)
		return -ENOMEM;
	memcpy(pl->name, cl->name, sizeof(pl->name));
	pl->pw = pw;
	pl->family = cl->family;
	memcpy(pl->addr, cl->addr, 16);
	pl->port = cl->port;
	pl->type = cl->type;
	proxy_http_opts_of(snap, li, &pl->http);
	proxy_params(cl, &pl->params);
	pl->connect_timeout_us = (uint64_t)cl->connect_timeout_ms * 1000;
	pl->idle_timeout_us = (uint64_t)cl->idle_timeout_s * 1000000;
	if ((rc = tls_ctx_for_listener(snap, li, cl->name, &pl->tls, err, errlen)) != 0 ||
	    (rc = tls_ctx_for_cluster(snap, proxy_up_tls_conf(snap, li),
				      snap->services[cl->service].key, &pl->up_tls, err, errlen)) !=
		    0) {
		tls_ctx_free(pl->tls);
		rte_free(pl);
		return rc;
	}
	memcpy(&a.v4, cl->addr, 4);
	pl->tl = tcp_listener_create(
		&a, cl->port, &pl->params,
		cl->type == CFG_LISTENER_HTTP
			? (pl->tls != NULL ? &hp_tls_listener_cbs : &hp_listener_cbs)
		: pl->tls != NULL ? &proxy_tls_listener_cbs
				  : &proxy_listener_cbs,
		pl);
	if (pl->tl == NULL) {
		tls_ctx_free(pl->tls);
		tls_ctx_free(pl->up_tls);
		rte_free(pl);
		return -ENOMEM;
	}
	*out = pl;
	return 0;
}

/* Control thread: free the orphans their workers are done with. */
static void proxy_reclaim_orphans(struct proxy_global *pg)
{
	struct proxy_listener *pl, *next;

	for (pl = LIST_FIRST(&pg->orphans); pl != NULL; pl = next) {
		next = LIST_NEXT(pl, orphan);
		if (__atomic_load_n(&pl->state, __ATOMIC_ACQUIRE) == PROXY_LISTENER_RUNNING)
			continue;
		LIST_REMOVE(pl, orphan);
		proxy_listener_free(pl);
	}
}

/* cfg_snapshot_free(): drop the snapshot's hold on its listener objects. A
 * grace period has passed since it was live, so no worker can start one now. */
static void proxy_rt_free(struct cfg_snapshot *snap)
{
	struct proxy_snap_rt *rt = snap->proxy_rt;

	if (rt == NULL)
		return;
	for (uint32_t i = 0; i < rt->pg->n_workers * rt->n_listeners; i++) {
		struct proxy_listener *pl = rt->pl[i];

		if (pl == NULL || --pl->refs > 0)
			continue;
		if (__atomic_load_n(&pl->state, __ATOMIC_ACQUIRE) == PROXY_LISTENER_RUNNING)
			LIST_INSERT_HEAD(&rt->pg->orphans, pl, orphan);
		else
			proxy_listener_free(pl);
	}
	proxy_reclaim_orphans(rt->pg);
	hp_unbind(rt->pg, rt, snap);
	free(rt);
	snap->proxy_rt = NULL;
}

/* The listener of @p prev whose objects listener @p li of @p snap can keep using, or -1. */
static int32_t proxy_prev_listener(const struct cfg_snapshot *prev, const struct cfg_snapshot *snap,
				   uint32_t li)
{
	const struct proxy_snap_rt *prt = prev != NULL ? prev->proxy_rt : NULL;

	for (uint32_t j = 0; prt != NULL && j < prt->n_listeners; j++)
		if (prt->pl[j] != NULL && proxy_listener_same(prt->pl[j], snap, li))
			return (int32_t)j;
	return -1;
}

int proxy_bind(struct proxy_global *pg, struct cfg_snapshot *snap, const struct cfg_snapshot *prev,
	       char *err, size_t errlen)
{
	const uint32_t n = snap->n_listeners;
	struct proxy_snap_rt *rt;
	int hrc;

	rt = calloc(1, sizeof(*rt) + sizeof(rt->pl[0]) * pg->n_workers * n);
	if (rt == NULL)
		goto nomem;
	rt->pg = pg;
	rt->n_listeners = n;
	snap->proxy_rt = rt;
	snap->proxy_rt_free = proxy_rt_free;
	if ((hrc = hp_bind(pg, rt, snap, err, errlen)) != 0)
		return hrc; /* the caller frees the snapshot, which frees rt */
	for (uint32_t i = 0; i < n; i++) {
		const struct cfg_listener *cl = &snap->listeners[i];
		const int32_t j = proxy_prev_listener(prev, snap, i);
		bool known = false;

		if (cl->family != 4) {
			for (uint32_t k = 0; prev != NULL && k < prev->n_listeners; k++)
				known |= prev->listeners[k].family == cl->family &&
					 strcmp(prev->listeners[k].name, cl->name) == 0;
			if (!known)
				LOG(WARNING, "listener %s: IPv6 is not served yet", cl->name);
			continue;
		}
		for (unsigned int w = 0; w < pg->n_workers; w++) {
			const struct proxy_snap_rt *prt = j >= 0 ? prev->proxy_rt : NULL;
			struct proxy_listener *pl =
				prt != NULL ? prt->pl[w * prt->n_listeners + (uint32_t)j] : NULL;

			if (pl == NULL) {
				char why[200];
				int rc = proxy_listener_build(pg->pw[w], snap, i, &pl, why,
							      sizeof(why));

				if (rc == -ENOMEM)
					goto nomem; /* the caller frees the snapshot, which frees rt */
				if (rc != 0) {
					snprintf(err, errlen, "$.listeners[%u] (TLS): %s", i, why);
					return rc;
				}
			}
			pl->refs++;
			rt->pl[w * n + i] = pl;
		}
	}
	/* the addresses whose ports may be full-NAT flows' */
	for (uint32_t i = 0; i < snap->n_services && rt->n_snat <= PROXY_SNAT_MAX; i++)
		for (uint32_t k = 0; k < snap->services[i].n_snat && rt->n_snat <= PROXY_SNAT_MAX;
		     k++) {
			uint32_t a, j;

			memcpy(&a, snap->services[i].snat[k], 4);
			for (j = 0; j < rt->n_snat && rt->snat[j] != a; j++)
				;
			if (j < rt->n_snat)
				continue;
			if (rt->n_snat < PROXY_SNAT_MAX)
				rt->snat[rt->n_snat] = a;
			rt->n_snat++;
		}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory building the listeners");
	return -ENOMEM;
}

struct proxy_global *proxy_global_create(struct proxy_worker *const *pw, unsigned int n)
{
	struct proxy_global *pg = calloc(1, sizeof(*pg));

	if (pg == NULL || (pg->pw = calloc(n ? n : 1, sizeof(*pg->pw))) == NULL) {
		free(pg);
		return NULL;
	}
	memcpy(pg->pw, pw, n * sizeof(*pw));
	tls_tcp_callbacks(&proxy_tls_listener_cbs, proxy_accepted);
	hp_callbacks_init();
	pg->n_workers = n;
	LIST_INIT(&pg->orphans);
	return pg;
}

void proxy_global_free(struct proxy_global *pg)
{
	struct proxy_listener *pl;

	if (pg == NULL)
		return;
	while ((pl = LIST_FIRST(&pg->orphans)) != NULL) {
		LIST_REMOVE(pl, orphan);
		proxy_listener_free(pl);
	}
	hp_global_free(pg);
	free(pg->pw);
	free(pg);
}

void proxy_reclaim(struct proxy_global *pg)
{
	if (pg != NULL)
		proxy_reclaim_orphans(pg);
}

/* ---- the worker's side ---- */

struct proxy_worker *proxy_worker_create(struct net_worker *nw, struct l4_worker *lw,
					 struct stats_block *stats, uint16_t worker_id,
					 uint32_t tcp_capacity, int socket_id,
					 const uint8_t *secret, uint64_t tcp_mem)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct proxy_worker *pw;
	struct tcp_stack_conf conf = {0};
	uint16_t *ports;
	const uint32_t n_ports = PROXY_PORT_MAX - PROXY_PORT_MIN + 1;

	pw = rte_zmalloc_socket("proxy_worker", sizeof(*pw), RTE_CACHE_LINE_SIZE, socket_id);
	if (pw == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	pw->nw = nw;
	pw->lw = lw;
	pw->stats = stats;
	pw->worker_id = worker_id;
	pw->telem = telem_worker_get(worker_id, stats);
	pw->tsc_per_us = RTE_MAX(nw->tsc_hz / 1000000, (uint64_t)1);
	LIST_INIT(&pw->listeners);
	snprintf(name, sizeof(name), "proxy_s%u", worker_id);
	/* a session has two connections */
	pw->sessions = rte_mempool_create(name, tcp_capacity / 2 + 1, sizeof(struct proxy_session),
					  0, 0, NULL, NULL, NULL, NULL, socket_id,
					  RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET |
						  RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	conf.socket_id = (unsigned int)(socket_id < 0 ? 0 : socket_id);
	conf.worker_id = worker_id;
	conf.max_conns = tcp_capacity;
	conf.pool = nw->pool;
	conf.mem_limit = tcp_mem;
	conf.stats = stats;
	conf.output = proxy_output;
	conf.output_ctx = pw;
	conf.port_ok = proxy_port_ok;
	conf.port_ok_ctx = pw;
	conf.secret = secret;
	conf.now_us = proxy_us(pw, rte_rdtsc());
	pw->tcp = pw->sessions != NULL ? tcp_stack_create(&conf) : NULL;
	pw->tls = tls_worker_create(worker_id, tcp_capacity, socket_id, nw->pool, stats);
	pw->http = hp_worker_create(pw, tcp_capacity);
	ports = rte_malloc("proxy_ports", sizeof(*ports) * n_ports, 0);
	if (pw->tcp == NULL || pw->tls == NULL || pw->http == NULL || ports == NULL) {
		rte_free(ports);
		proxy_worker_free(pw);
		rte_errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < n_ports; i++)
		ports[i] = (uint16_t)(PROXY_PORT_MIN + i);
	if (tcp_stack_set_ports(pw->tcp, ports, n_ports) != 0) {
		rte_free(ports);
		proxy_worker_free(pw);
		rte_errno = ENOMEM;
		return NULL;
	}
	rte_free(ports);
	lw->local_tcp = proxy_local_tcp;
	lw->local_tcp_icmp = proxy_local_tcp_icmp;
	lw->local_tcp_ctx = pw;
	return pw;
}

void proxy_worker_free(struct proxy_worker *pw)
{
	struct proxy_listener *pl;

	if (pw == NULL)
		return;
	pw->lw->local_tcp = NULL;
	pw->lw->local_tcp_icmp = NULL;
	pw->snap = NULL;
	/* the listener objects are the control thread's: stop them before the
	 * stack goes, and mark them done (freed with the snapshots holding them) */
	LIST_FOREACH(pl, &pw->listeners, link)
	if (pl->listening) {
		tcp_listener_stop(pl->tl);
		pl->listening = false;
	}
	tcp_stack_free(pw->tcp); /* closed callbacks end the sessions and their TLS */
	hp_worker_free(pw->http);
	tls_worker_free(pw->tls);
	while ((pl = LIST_FIRST(&pw->listeners)) != NULL) {
		LIST_REMOVE(pl, link);
		__atomic_store_n(&pl->state, PROXY_LISTENER_DONE, __ATOMIC_RELEASE);
	}
	rte_mempool_free(pw->sessions);
	rte_free(pw);
}

void proxy_begin(struct proxy_worker *pw, const struct cfg_snapshot *snap, uint64_t now_tsc)
{
	pw->snap = snap;
	pw->now_tsc = now_tsc;
	tls_worker_begin(pw->tls, snap, proxy_us(pw, now_tsc));
	tls_worker_poll(pw->tls);
	if (unlikely(snap->generation != pw->bound_gen))
		proxy_follow(pw, snap);
}

void proxy_timer(struct proxy_worker *pw, uint64_t now_tsc)
{
	pw->now_tsc = now_tsc;
	tls_worker_begin(pw->tls, pw->snap, proxy_us(pw, now_tsc));
	tcp_timer(pw->tcp, proxy_us(pw, now_tsc));
}

struct tcp_stack *proxy_tcp_stack(struct proxy_worker *pw)
{
	return pw->tcp;
}

unsigned int proxy_tls_conns(struct proxy_worker *pw, struct tls_conn_info *out, unsigned int max,
			     bool *more)
{
	struct tls_conn_info spare;
	uint32_t cursor = 0, n;

	*more = false;
	if (pw == NULL)
		return 0;
	n = tls_conns_dump(pw->tls, out, max, &cursor);
	*more = n == max && tls_conns_dump(pw->tls, &spare, 1, &cursor) == 1;
	return n;
}
