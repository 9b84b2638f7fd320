/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-tcpscale: TCP connection scale for bench scenario (t).
 *
 * Two stacks of dataplane/tcp (client A, server B, each of capacity
 * N + slack) joined in-process by a link that hands every segment one stack
 * outputs to the other's tcp_input() at once (a FIFO per direction, drained
 * after each call into a stack, so no stack is re-entered from its own output
 * callback). N active opens from A (local addresses 10.1.0.1 and up, --ports
 * local ports each: the 4-tuples are unique) to a listener of B at
 * 10.2.0.1:80; every handshake completes before the next connect. Then the
 * clock is moved on --idle-s seconds in 1 ms steps with tcp_timer() on both
 * stacks: idle established connections must send nothing and stay
 * established.
 *
 * Measured:
 *   - memory per side, from DPDK's own accounting: the heap bytes
 *     (rte_malloc_get_socket_stats, all sockets, heap_allocsz_bytes) taken by
 *     tcp_stack_create() + tcp_stack_set_ports() + tcp_listen(); of that, the
 *     memzones created meanwhile (rte_memzone_walk before and after: the
 *     connection mempool "MP_*" and its ring "RG_MP_*", the hash's free-slot
 *     rings "RG_HT_*"), the rest being rte_zmalloc'd: the rte_hash's buckets,
 *     extendable buckets and key store, and the stack struct. The connection
 *     mempool's object size (header + element + trailer) from the pool itself
 *     (rte_mempool_walk). All of it is allocated at create for the capacity:
 *     no connection allocates anything later, so bytes per connection =
 *     heap bytes / capacity (per slot) and heap bytes / N (per connection
 *     actually open, the slack included);
 *   - buffers: mbufs still in use once every connection is idle (expected 0);
 *   - tcp_conn_footprint() for comparison;
 *   - handshakes per second, both stacks on this one core (3 segments each,
 *     each built, checksummed, parsed and looked up): a CPU cost, not a
 *     network figure;
 *   - the process's RSS (VmRSS, VmHWM) at each step and the wall time;
 *   - memory per connection under a 1-byte flood (--flood-conns F,
 *     --flood-segs S): after the idle phase, S forged 1-byte segments to B on
 *     each of F connections whose reader never reads, in order on F of them,
 *     then out of order (every other byte after a missing first one) on F
 *     others; per connection: the buffer memory B's stack holds (tcp_mem_get(),
 *     truesize), the mbufs of the pool in use, and what was refused. The
 *     stacks' output is discarded meanwhile (no ACKs back to A, whose
 *     sequence numbers the forged bytes do not follow).
 * One JSON object on stdout; EAL logs on stderr.
 *
 *   meshdp-tcpscale --no-huge -m 4096 -l 0 --no-pci -- --conns 1000000
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_tcp.h>
#include <rte_mempool.h>

#include "dataplane/stats/stats.h"
#include "dataplane/tcp/tcp.h"

#define TS_LINK_MAX  64	  /* segments in flight on one direction of the link */
#define TS_MAX_ZONES 64	  /* memzones named in the report per side */
#define TS_ZONES     1024 /* memzones a snapshot holds */
#define TS_SERVER_IP RTE_IPV4(10, 2, 0, 1)
#define TS_CLIENT_IP RTE_IPV4(10, 1, 0, 1)

struct ts_opts {
	uint32_t conns;
	uint32_t slack;
	uint32_t ports; /* local ports per client address */
	uint32_t idle_s;
	uint32_t flood_conns, flood_segs;
	bool free; /* time tcp_stack_free() (quadratic in 22.11's iterator restart) */
};

/* One direction of the link: a FIFO of segments toward a stack. */
struct ts_fifo {
	struct rte_mbuf *m[TS_LINK_MAX];
	unsigned int head, n;
};

struct ts_link {
	struct tcp_stack *st[2]; /* 0: client A, 1: server B */
	struct ts_fifo q[2];	 /* q[i]: toward stack i */
	uint64_t sent[2];	 /* segments each stack output */
	uint64_t unmatched;	 /* segments no connection or listener took */
	uint64_t overflow;	 /* segments dropped: FIFO full (a bug if it moves) */
	uint64_t linearized;	 /* chained segments copied into one mbuf */
	bool discard;		 /* teardown: drop everything */
	struct rte_mempool *pool;
};

static struct ts_link L;
static struct stats_block stats[2];
static uint64_t now_us;

/* what the applications saw */
static uint64_t n_connected, n_accepted, n_closed[2];

/* A receiver gets one contiguous mbuf, as from a NIC. */
static struct rte_mbuf *ts_linearize(struct rte_mbuf *m)
{
	struct rte_mbuf *c;
	char *p;
	const void *src;

	if (m->nb_segs == 1)
		return m;
	L.linearized++;
	c = rte_pktmbuf_alloc(L.pool);
	if (c == NULL)
		goto fail;
	p = rte_pktmbuf_append(c, (uint16_t)m->pkt_len);
	if (p == NULL)
		goto fail;
	src = rte_pktmbuf_read(m, 0, m->pkt_len, p);
	if (src != p)
		memcpy(p, src, m->pkt_len);
	rte_pktmbuf_free(m);
	return c;
fail:
	rte_pktmbuf_free(c);
	rte_pktmbuf_free(m);
	return NULL;
}

static void ts_out(int from, struct rte_mbuf *m)
{
	struct ts_fifo *q = &L.q[1 - from];

	L.sent[from]++;
	if (L.discard) {
		rte_pktmbuf_free(m);
		return;
	}
	m = ts_linearize(m);
	if (m == NULL)
		return;
	if (unlikely(q->n == TS_LINK_MAX)) {
		L.overflow++;
		rte_pktmbuf_free(m);
		return;
	}
	q->m[(q->head + q->n) % TS_LINK_MAX] = m;
	q->n++;
}

static void ts_out_a(void *ctx, struct rte_mbuf *m)
{
	(void)ctx;
	ts_out(0, m);
}

static void ts_out_b(void *ctx, struct rte_mbuf *m)
{
	(void)ctx;
	ts_out(1, m);
}

/* Deliver until both directions are empty. */
static void ts_drain(void)
{
	bool moved;

	do {
		moved = false;
		for (int to = 0; to < 2; to++) {
			struct ts_fifo *q = &L.q[to];

			while (q->n > 0) {
				struct rte_mbuf *m = q->m[q->head];

				q->head = (q->head + 1) % TS_LINK_MAX;
				q->n--;
				moved = true;
				if (!tcp_input(L.st[to], m, now_us)) {
					L.unmatched++;
					tcp_reset_reply(L.st[to], m);
				}
			}
		}
	} while (moved);
}

static void cb_connected(struct tcp_conn *c, void *arg)
{
	(void)c;
	(void)arg;
	n_connected++;
}

static int cb_accepted(struct tcp_conn *c, void *arg)
{
	(void)c;
	(void)arg;
	n_accepted++;
	return 0;
}

static void cb_closed_a(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	(void)c;
	(void)arg;
	(void)reason;
	n_closed[0]++;
}

static void cb_closed_b(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	(void)c;
	(void)arg;
	(void)reason;
	n_closed[1]++;
}

static const struct tcp_callbacks cbs_a = {.connected = cb_connected, .closed = cb_closed_a};
static const struct tcp_callbacks cbs_b = {.accepted = cb_accepted, .closed = cb_closed_b};

/* ---- memory accounting ---- */

static uint64_t ts_heap_bytes(void)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct rte_malloc_socket_stats s;

		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0)
			sum += s.heap_allocsz_bytes;
	}
	return sum;
}

/* The memzones that exist: names and lengths (snapshot). */
struct ts_zones {
	unsigned int n;
	char name[TS_ZONES][RTE_MEMZONE_NAMESIZE];
	size_t len[TS_ZONES];
};

static void ts_zone_cb(const struct rte_memzone *mz, void *arg)
{
	struct ts_zones *z = arg;

	if (z->n < RTE_DIM(z->len)) {
		snprintf(z->name[z->n], RTE_MEMZONE_NAMESIZE, "%s", mz->name);
		z->len[z->n] = mz->len;
		z->n++;
	}
}

static bool ts_zone_known(const struct ts_zones *z, const char *name)
{
	for (unsigned int i = 0; i < z->n; i++)
		if (strcmp(z->name[i], name) == 0)
			return true;
	return false;
}

/* The connection mempool of a stack: the one pool created between two walks. */
struct ts_pool_find {
	const struct ts_zones *before;
	const struct rte_mempool *found;
	char name[RTE_MEMPOOL_NAMESIZE];
};

static void ts_pool_cb(struct rte_mempool *mp, void *arg)
{
	struct ts_pool_find *f = arg;
	char mz[RTE_MEMZONE_NAMESIZE];

	/* rte_mempool_create() names its header memzone MP_<name> */
	snprintf(mz, sizeof(mz), "MP_%s", mp->name);
	if (!ts_zone_known(f->before, mz) && f->found == NULL) {
		f->found = mp;
		snprintf(f->name, sizeof(f->name), "%s", mp->name);
	}
}

static void ts_chunk_cb(struct rte_mempool *mp, void *arg, struct rte_mempool_memhdr *h,
			unsigned int idx)
{
	(void)mp;
	(void)idx;
	*(uint64_t *)arg += h->len;
}

struct ts_side {
	const char *name;
	struct tcp_stack *st;
	uint64_t heap;	     /* heap bytes the stack took at create */
	uint64_t zones;	     /* of which memzones */
	uint64_t zones_pool; /* of which the connection pool's (MP_* and RG_MP_*) */
	uint64_t zones_hash; /* of which the hash's rings (RG_HT_*) */
	uint64_t pool_chunks;
	uint32_t pool_size, pool_obj;
	uint64_t rss_create; /* VmRSS growth over create, kB */
	unsigned int n_new;
	char new_name[TS_MAX_ZONES][RTE_MEMZONE_NAMESIZE];
	size_t new_len[TS_MAX_ZONES];
};

static struct ts_zones zones_before, zones_after;

/* VmRSS or VmHWM of this process in kB. */
static uint64_t ts_status_kb(const char *key)
{
	char line[256];
	uint64_t v = 0;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtoull(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static double ts_wall(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t ts_clock_us(void)
{
	static uint64_t t0;
	uint64_t t = rte_rdtsc();

	if (t0 == 0)
		t0 = t;
	return 1000000 + (t - t0) * 1000000 / rte_get_tsc_hz();
}

/* Create side @p i (0 client, 1 server) and account for what it took. */
static int ts_create(int i, struct ts_side *sd, const struct ts_opts *o, struct rte_mempool *pool)
{
	static const uint8_t secret[16] = {7, 1, 7, 2, 7, 3, 7, 4, 7, 5, 7, 6, 7, 7, 7, 8};
	struct tcp_stack_conf conf = {
		.socket_id = (unsigned int)rte_socket_id(),
		.worker_id = (uint16_t)i,
		.max_conns = o->conns + o->slack,
		.pool = pool,
		.stats = &stats[i],
		.output = i == 0 ? ts_out_a : ts_out_b,
		.secret = secret,
		.now_us = now_us,
	};
	struct ts_pool_find pf = {.before = &zones_before};
	uint64_t heap0, rss0;

	memset(&zones_before, 0, sizeof(zones_before));
	memset(&zones_after, 0, sizeof(zones_after));
	rte_memzone_walk(ts_zone_cb, &zones_before);
	heap0 = ts_heap_bytes();
	rss0 = ts_status_kb("VmRSS");
	sd->st = tcp_stack_create(&conf);
	if (sd->st == NULL) {
		fprintf(stderr, "meshdp-tcpscale: %s stack of %u: %s\n", sd->name, conf.max_conns,
			rte_strerror(rte_errno));
		return -ENOMEM;
	}
	if (i == 0) {
		uint16_t *ports = malloc(sizeof(*ports) * o->ports);

		if (ports == NULL)
			return -ENOMEM;
		for (uint32_t p = 0; p < o->ports; p++)
			ports[p] = (uint16_t)(65536u - o->ports + p);
		if (tcp_stack_set_ports(sd->st, ports, o->ports) != 0) {
			free(ports);
			return -ENOMEM;
		}
		free(ports);
	} else {
		const struct tcp_addr any = {.family = 4, .v4 = rte_cpu_to_be_32(TS_SERVER_IP)};

		if (tcp_listen(sd->st, &any, 80, NULL, &cbs_b, NULL) == NULL) {
			fprintf(stderr, "meshdp-tcpscale: listen: %s\n", rte_strerror(rte_errno));
			return -ENOMEM;
		}
	}
	sd->heap = ts_heap_bytes() - heap0;
	sd->rss_create = ts_status_kb("VmRSS") - rss0;
	rte_memzone_walk(ts_zone_cb, &zones_after);
	for (unsigned int z = 0; z < zones_after.n; z++) {
		const char *n = zones_after.name[z];

		if (ts_zone_known(&zones_before, n))
			continue;
		sd->zones += zones_after.len[z];
		if (strncmp(n, "MP_", 3) == 0 || strncmp(n, "RG_MP_", 6) == 0)
			sd->zones_pool += zones_after.len[z];
		else if (strncmp(n, "RG_HT_", 6) == 0)
			sd->zones_hash += zones_after.len[z];
		if (sd->n_new < TS_MAX_ZONES) {
			snprintf(sd->new_name[sd->n_new], RTE_MEMZONE_NAMESIZE, "%s", n);
			sd->new_len[sd->n_new++] = zones_after.len[z];
		}
	}
	rte_mempool_walk(ts_pool_cb, &pf);
	if (pf.found != NULL) {
		sd->pool_size = pf.found->size;
		sd->pool_obj = pf.found->header_size + pf.found->elt_size + pf.found->trailer_size;
		rte_mempool_mem_iter((struct rte_mempool *)(uintptr_t)pf.found, ts_chunk_cb,
				     &sd->pool_chunks);
	}
	return 0;
}

static void ts_print_side(const struct ts_side *sd, const struct ts_opts *o, uint32_t cap,
			  uint32_t established, uint32_t *states)
{
	uint64_t rest = sd->heap - sd->zones;

	printf("  \"%s\": {\"capacity\": %" PRIu32 ", \"established\": %" PRIu32
	       ", \"footprint\": %zu,\n"
	       "   \"heap_bytes\": %" PRIu64
	       ", \"bytes_per_slot\": %.1f, \"bytes_per_conn\": %.1f,\n"
	       "   \"pool\": {\"objects\": %" PRIu32 ", \"object_bytes\": %" PRIu32
	       ", \"chunk_bytes\": %" PRIu64 ", \"memzone_bytes\": %" PRIu64
	       ", \"bytes_per_slot\": %.1f},\n"
	       "   \"hash_rings_bytes\": %" PRIu64 ", \"zmalloc_bytes\": %" PRIu64
	       ", \"hash_bytes_per_slot\": %.1f,\n"
	       "   \"rss_kb_at_create\": %" PRIu64 ",\n   \"new_memzones\": {",
	       sd->name, cap, established, tcp_conn_footprint(sd->st), sd->heap,
	       (double)sd->heap / cap, (double)sd->heap / o->conns, sd->pool_size, sd->pool_obj,
	       sd->pool_chunks, sd->zones_pool, (double)sd->zones_pool / cap, sd->zones_hash, rest,
	       (double)(sd->zones_hash + rest) / cap, sd->rss_create);
	for (unsigned int i = 0; i < sd->n_new; i++)
		printf("%s\"%s\": %zu", i ? ", " : "", sd->new_name[i], sd->new_len[i]);
	printf("},\n   \"states\": {");
	for (unsigned int s = 0; s < TCP_STATE_MAX; s++)
		printf("%s\"%s\": %" PRIu32, s ? ", " : "", tcp_state_name((enum tcp_state)s),
		       states[s]);
	printf("}}");
}

/* A 1-byte segment to B from A's connection @p i at sequence @p seq. */
static struct rte_mbuf *ts_forge(const struct tcp_conn_info *i, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(L.pool);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	if (m == NULL)
		return NULL;
	if (rte_pktmbuf_append(m, sizeof(*ip) + sizeof(*th) + 1) == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	th = (struct rte_tcp_hdr *)(ip + 1);
	memset(ip, 0, sizeof(*ip) + sizeof(*th) + 1);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*th) + 1));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = i->laddr.v4;
	ip->dst_addr = i->raddr.v4;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = rte_cpu_to_be_16(i->lport);
	th->dst_port = rte_cpu_to_be_16(i->rport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(i->rcv_nxt);
	th->data_off = 5 << 4;
	th->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
	th->rx_win = rte_cpu_to_be_16(65535);
	*(uint8_t *)(th + 1) = (uint8_t)seq;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}

struct ts_flood {
	uint64_t mem, peak, mbufs, refused, collapsed;
};

/* o->flood_segs 1-byte segments on each of @p n connections of @p conns. */
static void ts_flood_run(const struct tcp_conn_info *conns, uint32_t n, uint32_t segs, bool ooo,
			 struct ts_flood *r)
{
	struct tcp_mem_info before, after;
	uint64_t mbufs = rte_mempool_in_use_count(L.pool);
	const enum stats_id refused = ooo ? STAT_DROP_TCP_OOO_MEMORY : STAT_DROP_TCP_RCV_MEMORY;
	uint64_t refused0 = stats[1].c[refused] + stats[1].c[STAT_DROP_TCP_OUT_OF_WINDOW];
	uint64_t collapsed0 = stats[1].c[STAT_TCP_RCV_COLLAPSED];

	tcp_mem_get(L.st[1], &before);
	for (uint32_t c = 0; c < n; c++)
		for (uint32_t k = 0; k < segs; k++) {
			struct rte_mbuf *m =
				ts_forge(&conns[c], conns[c].snd_nxt + (ooo ? 1 + 2 * k : k));

			if (m != NULL && !tcp_input(L.st[1], m, now_us))
				rte_pktmbuf_free(m);
		}
	tcp_mem_get(L.st[1], &after);
	r->mem = after.used - before.used;
	r->peak = after.peak;
	r->mbufs = rte_mempool_in_use_count(L.pool) - mbufs;
	r->refused = stats[1].c[refused] + stats[1].c[STAT_DROP_TCP_OUT_OF_WINDOW] - refused0;
	r->collapsed = stats[1].c[STAT_TCP_RCV_COLLAPSED] - collapsed0;
}

static void ts_flood_print(const char *name, const struct ts_flood *r, uint32_t n, uint32_t segs,
			   const struct rte_mempool *pool)
{
	printf("   \"%s\": {\"segments\": %" PRIu64 ", \"mem_bytes_per_conn\": %.0f"
	       ", \"mbufs_per_conn\": %.1f, \"mbuf_bytes_per_conn\": %.0f"
	       ", \"refused_per_conn\": %.0f, \"collapsed_per_conn\": %.0f, \"stack_peak\": "
	       "%" PRIu64 "}",
	       name, (uint64_t)n * segs, n ? (double)r->mem / n : 0, n ? (double)r->mbufs / n : 0,
	       n ? (double)r->mbufs * pool->elt_size / n : 0, n ? (double)r->refused / n : 0,
	       n ? (double)r->collapsed / n : 0, r->peak);
}

static int ts_parse(int argc, char **argv, struct ts_opts *o)
{
	static const struct option longopts[] = {
		{"conns", required_argument, NULL, 'c'},
		{"slack", required_argument, NULL, 's'},
		{"ports", required_argument, NULL, 'p'},
		{"idle-s", required_argument, NULL, 'i'},
		{"free", no_argument, NULL, 'f'},
		{"flood-conns", required_argument, NULL, 'F'},
		{"flood-segs", required_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	int c;

	o->conns = 1000000;
	o->slack = 4096;
	o->ports = 16384;
	o->idle_s = 10;
	o->flood_conns = 16;
	o->flood_segs = 40000;
	optind = 1;
	o->free = false;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		unsigned long v;
		char *end;

		if (c == 'f') {
			o->free = true;
			continue;
		}
		errno = 0;
		v = strtoul(optarg != NULL ? optarg : "", &end, 10);
		if (errno || *end || v > (1ul << 28)) {
			fprintf(stderr, "meshdp-tcpscale: bad value '%s'\n", optarg);
			return -EINVAL;
		}
		switch (c) {
		case 'c':
			if (v < 1)
				return -EINVAL;
			o->conns = (uint32_t)v;
			break;
		case 's':
			o->slack = (uint32_t)v;
			break;
		case 'p':
			if (v < 1 || v > 64512)
				return -EINVAL;
			o->ports = (uint32_t)v;
			break;
		case 'i':
			o->idle_s = (uint32_t)v;
			break;
		case 'F':
			o->flood_conns = (uint32_t)v;
			break;
		case 'S':
			o->flood_segs = (uint32_t)v;
			break;
		default:
			fprintf(stderr, "usage: meshdp-tcpscale [EAL args] -- [--conns N] "
					"[--slack N] [--ports N] [--idle-s S] [--free] "
					"[--flood-conns F] [--flood-segs S]\n");
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct ts_side side[2] = {{.name = "client"}, {.name = "server"}};
	const struct tcp_addr raddr = {.family = 4, .v4 = rte_cpu_to_be_32(TS_SERVER_IP)};
	uint32_t states[2][TCP_STATE_MAX];
	uint64_t rss_start, rss_created, rss_open, t0, cycles, failed = 0, idle_segs, mbufs_idle;
	uint64_t hs_segs;
	struct ts_flood flood[2] = {{0}};
	uint32_t flood_n;
	double wall0, wall_hs, wall_idle;
	struct rte_mempool *pool;
	struct ts_opts o;
	uint32_t cap;
	int n;

	rte_openlog_stream(stderr);
	wall0 = ts_wall();
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "meshdp-tcpscale: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argv[n] = argv[0];
	if (ts_parse(argc - n, argv + n, &o) != 0) {
		rte_eal_cleanup();
		return 2;
	}
	cap = o.conns + o.slack;
	now_us = ts_clock_us();
	rss_start = ts_status_kb("VmRSS");
	/* handshakes need a few mbufs at a time; idle connections hold none; a
	 * flooded one at most its bound (2 x 256 KiB + 16 KiB of truesize: 235) */
	pool = rte_pktmbuf_pool_create("ts_mbufs", 4095 + 2 * o.flood_conns * 240, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "meshdp-tcpscale: mbuf pool: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	L.pool = pool;
	for (int i = 0; i < 2; i++)
		if (ts_create(i, &side[i], &o, pool) != 0) {
			printf("{\"conns\": %" PRIu32 ", \"created\": false, \"error\": "
			       "\"%s stack of %" PRIu32 " connections: %s\"}\n",
			       o.conns, side[i].name, cap, rte_strerror(rte_errno));
			rte_eal_cleanup();
			return 1;
		}
	L.st[0] = side[0].st;
	L.st[1] = side[1].st;
	rss_created = ts_status_kb("VmRSS");

	/* N handshakes, each completed before the next connect */
	t0 = rte_rdtsc();
	wall_hs = ts_wall();
	for (uint32_t i = 0; i < o.conns; i++) {
		const struct tcp_addr laddr = {.family = 4,
					       .v4 = rte_cpu_to_be_32(TS_CLIENT_IP + i / o.ports)};

		if ((i & 1023) == 0) {
			now_us = ts_clock_us();
			tcp_timer(L.st[0], now_us);
			tcp_timer(L.st[1], now_us);
		}
		if (tcp_connect(L.st[0], &laddr, &raddr, 80, NULL, &cbs_a, NULL, now_us) == NULL) {
			failed++;
			continue;
		}
		ts_drain();
	}
	cycles = rte_rdtsc() - t0;
	wall_hs = ts_wall() - wall_hs;
	hs_segs = L.sent[0] + L.sent[1];
	rss_open = ts_status_kb("VmRSS");

	/* idle: the clock moves on, nothing may be sent */
	wall_idle = ts_wall();
	for (uint64_t t = 0; t < (uint64_t)o.idle_s * 1000; t++) {
		now_us += 1000;
		tcp_timer(L.st[0], now_us);
		tcp_timer(L.st[1], now_us);
		ts_drain();
	}
	wall_idle = ts_wall() - wall_idle;
	idle_segs = L.sent[0] + L.sent[1] - hs_segs;
	mbufs_idle = rte_mempool_in_use_count(pool);
	tcp_state_counts(L.st[0], states[0]);
	tcp_state_counts(L.st[1], states[1]);

	/* the flood: in order on the first F connections, out of order on the next F */
	flood_n = RTE_MIN(2 * o.flood_conns, (uint32_t)n_connected) / 2;
	if (flood_n > 0) {
		struct tcp_conn_info *conns =
			rte_malloc("ts_flood", sizeof(*conns) * 2 * flood_n, 0);
		uint32_t cursor = 0, got = 0;

		if (conns == NULL) {
			fprintf(stderr, "meshdp-tcpscale: no memory for the flood\n");
			rte_eal_cleanup();
			return 1;
		}
		while (got < 2 * flood_n) {
			uint32_t k =
				tcp_conns_dump(L.st[0], conns + got, 2 * flood_n - got, &cursor);

			if (k == 0)
				break;
			got += k;
		}
		flood_n = got / 2;
		L.discard = true;
		ts_flood_run(conns, flood_n, o.flood_segs, false, &flood[0]);
		ts_flood_run(conns + flood_n, flood_n, o.flood_segs, true, &flood[1]);
		L.discard = false;
		rte_free(conns);
	}

	printf("{\"tsc_hz\": %" PRIu64 ", \"conns\": %" PRIu32 ", \"slack\": %" PRIu32
	       ", \"capacity\": %" PRIu32 ", \"created\": true,\n"
	       "  \"client_addresses\": %" PRIu32 ", \"ports_per_address\": %" PRIu32 ",\n",
	       rte_get_tsc_hz(), o.conns, o.slack, cap, (o.conns + o.ports - 1) / o.ports, o.ports);
	printf("  \"handshakes\": {\"connected\": %" PRIu64 ", \"accepted\": %" PRIu64
	       ", \"connect_failed\": %" PRIu64 ", \"closed\": [%" PRIu64 ", %" PRIu64
	       "], \"segments\": %" PRIu64 ", \"segments_per_handshake\": %.2f,\n"
	       "   \"seconds\": %.3f, \"per_s\": %.0f, \"cycles_per_handshake\": %.0f, "
	       "\"unmatched\": %" PRIu64 ", \"link_overflow\": %" PRIu64
	       ", \"linearized\": %" PRIu64 ", \"cookies_sent\": %" PRIu64
	       ", \"conn_limit_drops\": %" PRIu64 "},\n",
	       n_connected, n_accepted, failed, n_closed[0], n_closed[1], hs_segs,
	       o.conns ? (double)hs_segs / o.conns : 0, wall_hs,
	       cycles ? (double)n_connected * (double)rte_get_tsc_hz() / (double)cycles : 0,
	       n_connected ? (double)cycles / (double)n_connected : 0, L.unmatched, L.overflow,
	       L.linearized, stats[1].c[STAT_TCP_COOKIES_SENT],
	       stats[0].c[STAT_DROP_TCP_CONN_LIMIT] + stats[1].c[STAT_DROP_TCP_CONN_LIMIT]);
	printf("  \"idle\": {\"seconds_simulated\": %" PRIu32 ", \"timer_calls\": %" PRIu64
	       ", \"wall_s\": %.3f, \"segments_sent\": %" PRIu64 ", \"mbufs_in_use\": %" PRIu64
	       ", \"mbuf_bytes_per_conn\": %.2f},\n",
	       o.idle_s, (uint64_t)o.idle_s * 2000, wall_idle, idle_segs, mbufs_idle,
	       (double)mbufs_idle * pool->elt_size / o.conns);
	printf("  \"rss_kb\": {\"start\": %" PRIu64 ", \"stacks_created\": %" PRIu64
	       ", \"all_open\": %" PRIu64 ", \"after_idle\": %" PRIu64 ", \"peak\": %" PRIu64
	       "},\n",
	       rss_start, rss_created, rss_open, ts_status_kb("VmRSS"), ts_status_kb("VmHWM"));
	printf("  \"flood\": {\"conns\": %" PRIu32 ", \"segments_per_conn\": %" PRIu32
	       ", \"mem_limit\": %" PRIu64 ",\n",
	       flood_n, o.flood_segs, (uint64_t)pool->size * pool->elt_size / 2);
	ts_flood_print("in_order", &flood[0], flood_n, o.flood_segs, pool);
	printf(",\n");
	ts_flood_print("out_of_order", &flood[1], flood_n, o.flood_segs, pool);
	printf("},\n");
	printf("  \"rss_bytes_per_conn_pair\": %.1f,\n",
	       (double)(ts_status_kb("VmRSS") - rss_start) * 1024 / o.conns);
	ts_print_side(&side[0], &o, cap, states[0][TCP_ESTABLISHED], states[0]);
	printf(",\n");
	ts_print_side(&side[1], &o, cap, states[1][TCP_ESTABLISHED], states[1]);
	printf(",\n  \"wall_s\": %.3f", ts_wall() - wall0);
	if (!o.free) {
		/* The process exits: the OS takes the memory back. tcp_stack_free()
		 * restarts its hash iteration after every connection it frees, which
		 * makes it quadratic: minutes at 1M connections (--free times it). */
		printf("}\n");
		rte_eal_cleanup();
		return 0;
	}
	fflush(stdout);
	/* teardown: the aborts' RSTs go nowhere */
	L.discard = true;
	wall_idle = ts_wall();
	tcp_stack_free(L.st[0]);
	tcp_stack_free(L.st[1]);
	printf(", \"stack_free_s\": %.3f}\n", ts_wall() - wall_idle);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}
