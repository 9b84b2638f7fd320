/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-gen: a DPDK traffic generator for memif benches.
 *
 * It connects as the memif client to one or two sockets (the servers are meshdp
 * with drivers-config/memif.json, or dpdk-testpmd), or with --role server listens
 * on them (for a system under test that is a zero-copy memif client, which must
 * connect after the generator is up), sends UDP or TCP frames on the
 * first port and receives them on the last (one port: both ways on it), all on
 * one busy lcore: tx_burst, then rx_burst, in a loop. Every frame carries a
 * sequence number and the TSC at transmission; the receive side counts what came
 * back and records the one-way latency in a log-linear histogram.
 *
 *   meshdp-gen [EAL args] -- --socket /run/meshdp/memif0.sock \
 *       --socket /run/meshdp/memif1.sock --mode udp --size 64 --rate max --json
 *
 * Where the stamp lives: UDP frames carry {magic, seq, tsc} (12 bytes) after the
 * UDP header; TCP and SYN frames have no room for a payload at 64 bytes, so the
 * IPv4 identification holds a 16-bit magic, the TCP sequence number the sequence
 * and the TCP acknowledgment number the low 32 bits of the TSC. 32-bit TSC
 * differences are enough: one wrap is more than a second at any TSC rate here.
 *
 * Sizes are Ethernet frame sizes including the 4-byte FCS (RFC 2544): a 64-byte
 * frame is 60 bytes of mbuf data. L2 Gbps counts size * 8 bits per frame, L1 Gbps
 * adds the 20 bytes of preamble, SFD and inter-frame gap.
 *
 * The generator answers ARP requests for its own addresses (--src on the TX port,
 * --dst on the RX port, or the --rx-ips addresses from --rx-ip there: the endpoints
 * of a service VIP) so that a router under test can resolve it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <rte_arp.h>
#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "gen_memif.h"

#define GEN_BURST	32
#define GEN_POOL_MBUFS	8191
#define GEN_POOL_CACHE	256
#define GEN_MAGIC	0x6d647067u /* "mdpg" */
#define GEN_IP_ID	0x6d67u	    /* "mg": marks TCP / SYN frames */
#define GEN_SPORT_BASE	1024
#define GEN_SPORT_SPAN	64512 /* source ports 1024..65535, then the next address */
#define GEN_SIZE_MIN	64
#define GEN_SIZE_MAX	1518
#define GEN_FCS		4
#define GEN_L1_OVERHEAD 20 /* preamble 7, SFD 1, inter-frame gap 12 */
#define GEN_TTL		64

enum gen_mode {
	GEN_MODE_UDP,
	GEN_MODE_TCP,
	GEN_MODE_SYN,
};

struct gen_opts {
	char sockets[GEN_MAX_PORTS][108];
	unsigned int n_sockets;
	char memif_args[128];
	bool server; /* memif role server: the system under test connects */
	enum gen_mode mode;
	uint32_t flows;
	uint32_t size;
	uint64_t rate; /* frames per second; 0 = as fast as the TX ring takes them */
	double duration;
	double warmup;
	double drain;
	double link_timeout;
	double hold;	 /* seconds to keep the links up after the report */
	uint32_t src_ip; /* host order */
	uint32_t dst_ip;
	uint32_t rx_ip;	  /* first address the RX port answers ARP for (default dst_ip) */
	uint32_t rx_ip_n; /* how many consecutive addresses from rx_ip (1) */
	bool have_rx_ip;
	uint16_t dport;
	bool have_src_mac;
	bool have_dst_mac;
	struct rte_ether_addr src_mac;
	struct rte_ether_addr dst_mac;
	bool json;
};

struct gen_udp_stamp {
	uint32_t magic;
	uint32_t seq;
	uint32_t tsc;
} __rte_packed;

/* Everything the loop counts; only the generator's lcore writes it. */
struct gen_counters {
	uint64_t tx;	       /* frames sent while measuring */
	uint64_t tx_total;     /* frames sent, warm-up included */
	uint64_t tx_refused;   /* frames the TX ring did not take (back-pressure) */
	uint64_t rx;	       /* measured frames received (any time until the drain ends) */
	uint64_t rx_window;    /* generator frames received while measuring */
	uint64_t rx_total;     /* generator frames received, warm-up included */
	uint64_t rx_ooo;       /* measured frames older than one already seen */
	uint64_t rx_foreign;   /* frames that are not ours and not ARP for us */
	uint64_t arp_replies;  /* ARP replies sent */
	uint64_t alloc_failed; /* mbuf allocation failures */
};

struct gen_result {
	uint64_t hz;
	uint64_t window_cycles;
	uint64_t busy_cycles; /* window iterations that sent or received something */
	bool started;	      /* the measured window has opened */
	uint32_t seq_start;   /* first measured sequence number */
	uint32_t seq_end;     /* one past the last, once the window has closed */
};

static struct gen_hist gen_latency;

static void gen_usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- [options]\n"
	       "  --socket PATH      memif socket to connect to as client (once: TX and RX on it;\n"
	       "                     twice: TX on the first, RX on the second)\n"
	       "  --role R           memif role: client (connect to the sockets) or server\n"
	       "                     (listen on them; the system under test connects) (client)\n"
	       "  --memif-args STR   extra net_memif devargs (e.g. socket-abstract=no)\n"
	       "  --mode M           udp | tcp | syn (default udp)\n"
	       "  --flows N          distinct 5-tuples: source ports, then source addresses (1)\n"
	       "  --size B           Ethernet frame size with FCS, 64..1518 (64)\n"
	       "  --rate R           frames per second, or max (max)\n"
	       "  --duration S       measured seconds (5)\n"
	       "  --warmup S         seconds sent before measuring (1)\n"
	       "  --drain S          seconds to wait for frames in flight after the last TX (0.5)\n"
	       "  --link-timeout S   seconds to wait for the memif links (10)\n"
	       "  --hold S           keep the links up S seconds after the report, or until\n"
	       "                     SIGTERM / SIGINT, so that the peer can stop first (0)\n"
	       "  --src IP           our address on the TX port (10.60.0.2)\n"
	       "  --dst IP           destination, our address on the RX port (10.60.1.2)\n"
	       "  --dport N          destination port (5001)\n"
	       "  --rx-ip IP         first address the RX port answers ARP for (default --dst):\n"
	       "                     the endpoints behind a service VIP\n"
	       "  --rx-ips N         answer ARP for N consecutive addresses from --rx-ip (1)\n"
	       "  --src-mac MAC      source MAC (default: the TX port's)\n"
	       "  --dst-mac MAC      destination MAC: the router's port (default: the RX port's)\n"
	       "  --json             print the result as one JSON object on stdout\n"
	       "EAL logs go to stderr. Use -l to give the generator its own core: it runs\n"
	       "on the main lcore.\n",
	       prog);
}

static int gen_parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int gen_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int gen_parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

static int gen_parse_args(int argc, char **argv, struct gen_opts *o)
{
	enum {
		OPT_SOCKET = 256,
		OPT_MEMIF_ARGS,
		OPT_ROLE,
		OPT_MODE,
		OPT_FLOWS,
		OPT_SIZE,
		OPT_RATE,
		OPT_DURATION,
		OPT_WARMUP,
		OPT_DRAIN,
		OPT_LINK_TIMEOUT,
		OPT_HOLD,
		OPT_SRC,
		OPT_DST,
		OPT_DPORT,
		OPT_RX_IP,
		OPT_RX_IPS,
		OPT_SRC_MAC,
		OPT_DST_MAC,
		OPT_JSON,
	};
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"memif-args", required_argument, NULL, OPT_MEMIF_ARGS},
		{"role", required_argument, NULL, OPT_ROLE},
		{"mode", required_argument, NULL, OPT_MODE},
		{"flows", required_argument, NULL, OPT_FLOWS},
		{"size", required_argument, NULL, OPT_SIZE},
		{"rate", required_argument, NULL, OPT_RATE},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"warmup", required_argument, NULL, OPT_WARMUP},
		{"drain", required_argument, NULL, OPT_DRAIN},
		{"link-timeout", required_argument, NULL, OPT_LINK_TIMEOUT},
		{"hold", required_argument, NULL, OPT_HOLD},
		{"src", required_argument, NULL, OPT_SRC},
		{"dst", required_argument, NULL, OPT_DST},
		{"dport", required_argument, NULL, OPT_DPORT},
		{"rx-ip", required_argument, NULL, OPT_RX_IP},
		{"rx-ips", required_argument, NULL, OPT_RX_IPS},
		{"src-mac", required_argument, NULL, OPT_SRC_MAC},
		{"dst-mac", required_argument, NULL, OPT_DST_MAC},
		{"json", no_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c, idx = 0;

	memset(o, 0, sizeof(*o));
	o->mode = GEN_MODE_UDP;
	o->flows = 1;
	o->size = GEN_SIZE_MIN;
	o->duration = 5;
	o->warmup = 1;
	o->drain = 0.5;
	o->link_timeout = 10;
	o->src_ip = RTE_IPV4(10, 60, 0, 2);
	o->dst_ip = RTE_IPV4(10, 60, 1, 2);
	o->dport = 5001;
	o->rx_ip_n = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		const char *name = longopts[idx].name;

		switch (c) {
		case OPT_SOCKET:
			if (o->n_sockets == GEN_MAX_PORTS ||
			    strlen(optarg) >= sizeof(o->sockets[0]))
				goto bad;
			snprintf(o->sockets[o->n_sockets++], sizeof(o->sockets[0]), "%s", optarg);
			break;
		case OPT_MEMIF_ARGS:
			if (strlen(optarg) >= sizeof(o->memif_args))
				goto bad;
			snprintf(o->memif_args, sizeof(o->memif_args), "%s", optarg);
			break;
		case OPT_ROLE:
			if (strcmp(optarg, "client") != 0 && strcmp(optarg, "server") != 0)
				goto bad;
			o->server = strcmp(optarg, "server") == 0;
			break;
		case OPT_MODE:
			if (strcmp(optarg, "udp") == 0)
				o->mode = GEN_MODE_UDP;
			else if (strcmp(optarg, "tcp") == 0)
				o->mode = GEN_MODE_TCP;
			else if (strcmp(optarg, "syn") == 0)
				o->mode = GEN_MODE_SYN;
			else
				goto bad;
			break;
		case OPT_FLOWS:
			if (gen_parse_u64(optarg, 1, 1u << 24, &v) != 0)
				goto bad;
			o->flows = (uint32_t)v;
			break;
		case OPT_SIZE:
			if (gen_parse_u64(optarg, GEN_SIZE_MIN, GEN_SIZE_MAX, &v) != 0)
				goto bad;
			o->size = (uint32_t)v;
			break;
		case OPT_RATE:
			if (strcmp(optarg, "max") == 0)
				o->rate = 0;
			else if (gen_parse_u64(optarg, 1, 1000000000, &o->rate) != 0)
				goto bad;
			break;
		case OPT_DURATION:
			if (gen_parse_double(optarg, 0.1, 3600, &o->duration) != 0)
				goto bad;
			break;
		case OPT_WARMUP:
			if (gen_parse_double(optarg, 0, 3600, &o->warmup) != 0)
				goto bad;
			break;
		case OPT_DRAIN:
			if (gen_parse_double(optarg, 0, 60, &o->drain) != 0)
				goto bad;
			break;
		case OPT_LINK_TIMEOUT:
			if (gen_parse_double(optarg, 0.1, 600, &o->link_timeout) != 0)
				goto bad;
			break;
		case OPT_HOLD:
			if (gen_parse_double(optarg, 0, 3600, &o->hold) != 0)
				goto bad;
			break;
		case OPT_SRC:
			if (gen_parse_ip(optarg, &o->src_ip) != 0)
				goto bad;
			break;
		case OPT_DST:
			if (gen_parse_ip(optarg, &o->dst_ip) != 0)
				goto bad;
			break;
		case OPT_DPORT:
			if (gen_parse_u64(optarg, 1, 65535, &v) != 0)
				goto bad;
			o->dport = (uint16_t)v;
			break;
		case OPT_RX_IP:
			if (gen_parse_ip(optarg, &o->rx_ip) != 0)
				goto bad;
			o->have_rx_ip = true;
			break;
		case OPT_RX_IPS:
			if (gen_parse_u64(optarg, 1, 65536, &v) != 0)
				goto bad;
			o->rx_ip_n = (uint32_t)v;
			break;
		case OPT_SRC_MAC:
			if (rte_ether_unformat_addr(optarg, &o->src_mac) != 0)
				goto bad;
			o->have_src_mac = true;
			break;
		case OPT_DST_MAC:
			if (rte_ether_unformat_addr(optarg, &o->dst_mac) != 0)
				goto bad;
			o->have_dst_mac = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		default:
			return -EINVAL;
		}
		continue;
	bad:
		fprintf(stderr, "meshdp-gen: bad value for --%s: '%s'\n", name, optarg);
		return -EINVAL;
	}
	if (optind != argc) {
		fprintf(stderr, "meshdp-gen: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->n_sockets == 0) {
		fprintf(stderr, "meshdp-gen: give at least one --socket\n");
		return -EINVAL;
	}
	if (o->mode == GEN_MODE_UDP &&
	    o->size - GEN_FCS < sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
					sizeof(struct rte_udp_hdr) + sizeof(struct gen_udp_stamp)) {
		fprintf(stderr, "meshdp-gen: --size too small for the UDP stamp\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * Headers of every frame, built once. The per-frame work is a copy of these,
 * the flow's source port / address and the stamp.
 */
struct gen_template {
	uint8_t bytes[sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
		      sizeof(struct rte_tcp_hdr)];
	uint16_t hdr_len;
	uint16_t data_len;
};

static void gen_template_build(const struct gen_opts *o, const struct rte_ether_addr *src_mac,
			       const struct rte_ether_addr *dst_mac, struct gen_template *t)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)t->bytes;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	const bool udp = o->mode == GEN_MODE_UDP;
	const uint16_t l4_len = udp ? sizeof(struct rte_udp_hdr) : sizeof(struct rte_tcp_hdr);

	memset(t, 0, sizeof(*t));
	t->data_len = (uint16_t)(o->size - GEN_FCS);
	t->hdr_len = (uint16_t)(sizeof(*eth) + sizeof(*ip) + l4_len);
	rte_ether_addr_copy(dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(src_mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->time_to_live = GEN_TTL;
	ip->next_proto_id = udp ? IPPROTO_UDP : IPPROTO_TCP;
	ip->packet_id = rte_cpu_to_be_16(GEN_IP_ID);
	ip->src_addr = rte_cpu_to_be_32(o->src_ip);
	ip->dst_addr = rte_cpu_to_be_32(o->dst_ip);
	if (o->mode == GEN_MODE_SYN) {
		/* A SYN carries no payload: the rest of the frame is Ethernet padding. */
		ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + l4_len);
	} else {
		ip->total_length = rte_cpu_to_be_16((uint16_t)(t->data_len - sizeof(*eth)));
	}
	if (udp) {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);

		uh->dst_port = rte_cpu_to_be_16(o->dport);
		uh->dgram_len =
			rte_cpu_to_be_16((uint16_t)(t->data_len - sizeof(*eth) - sizeof(*ip)));
		uh->dgram_cksum = 0; /* optional for IPv4 */
	} else {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

		th->dst_port = rte_cpu_to_be_16(o->dport);
		th->data_off = (sizeof(*th) / 4) << 4;
		th->tcp_flags = o->mode == GEN_MODE_SYN ? RTE_TCP_SYN_FLAG
							: (RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
		th->rx_win = rte_cpu_to_be_16(65535);
	}
}

/* Zero every TX mbuf's data room once: payload bytes are never written again. */
static void gen_zero_mbuf(struct rte_mempool *mp, void *arg, void *obj, unsigned int idx)
{
	struct rte_mbuf *m = obj;

	(void)mp;
	(void)arg;
	(void)idx;
	memset(m->buf_addr, 0, m->buf_len);
}

/* Fill @p m as frame @p seq of flow @p flow, stamped with @p tsc. */
static inline void gen_fill(const struct gen_opts *o, const struct gen_template *t,
			    struct rte_mbuf *m, uint32_t flow, uint32_t seq, uint64_t tsc)
{
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + sizeof(struct rte_ether_hdr));
	const uint16_t sport = (uint16_t)(GEN_SPORT_BASE + flow % GEN_SPORT_SPAN);
	const uint32_t src_ip = o->src_ip + flow / GEN_SPORT_SPAN;

	m->data_len = t->data_len;
	m->pkt_len = t->data_len;
	rte_memcpy(d, t->bytes, t->hdr_len);
	ip->src_addr = rte_cpu_to_be_32(src_ip);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (o->mode == GEN_MODE_UDP) {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
		struct gen_udp_stamp *s = (struct gen_udp_stamp *)(uh + 1);

		uh->src_port = rte_cpu_to_be_16(sport);
		s->magic = GEN_MAGIC;
		s->seq = seq;
		s->tsc = (uint32_t)tsc;
	} else {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
		uint32_t sum;

		th->src_port = rte_cpu_to_be_16(sport);
		th->sent_seq = rte_cpu_to_be_32(seq);
		th->recv_ack = rte_cpu_to_be_32((uint32_t)tsc);
		/* The payload is all zeros (gen_zero_mbuf): it adds nothing to the sum. */
		sum = rte_raw_cksum(th, sizeof(*th));
		sum += rte_ipv4_phdr_cksum(ip, 0);
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		th->cksum = (uint16_t)~sum;
	}
}

/*
 * Read the stamp of a generator frame. @return false for anything else (ARP,
 * frames of other senders).
 */
static inline bool gen_stamp(const struct rte_mbuf *m, uint32_t *seq, uint32_t *tsc)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);

	if (unlikely(m->data_len < sizeof(*eth) + sizeof(*ip) + sizeof(struct rte_tcp_hdr) ||
		     eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
		     ip->version_ihl != RTE_IPV4_VHL_DEF))
		return false;
	if (ip->next_proto_id == IPPROTO_UDP) {
		const struct gen_udp_stamp *s =
			(const struct gen_udp_stamp *)((const uint8_t *)(ip + 1) +
						       sizeof(struct rte_udp_hdr));

		if (m->data_len <
			    sizeof(*eth) + sizeof(*ip) + sizeof(struct rte_udp_hdr) + sizeof(*s) ||
		    s->magic != GEN_MAGIC)
			return false;
		*seq = s->seq;
		*tsc = s->tsc;
		return true;
	}
	if (ip->next_proto_id == IPPROTO_TCP && ip->packet_id == rte_cpu_to_be_16(GEN_IP_ID)) {
		const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);

		*seq = rte_be_to_cpu_32(th->sent_seq);
		*tsc = rte_be_to_cpu_32(th->recv_ack);
		return true;
	}
	return false;
}

struct gen_loop {
	const struct gen_opts *o;
	const struct gen_template *t;
	struct gen_port *tx;
	struct gen_port *rx;
	struct rte_mempool *tx_pool;
	struct gen_counters c;
	struct gen_result r;
};

/* Receive one burst on @p p: count and time our frames, answer ARP, drop the rest. */
static inline uint16_t gen_rx(struct gen_loop *l, struct gen_port *p, bool measuring,
			      uint32_t upper, uint32_t *last_seq)
{
	struct rte_mbuf *pkts[GEN_BURST];
	const uint16_t n = rte_eth_rx_burst(p->id, 0, pkts, GEN_BURST);
	const uint32_t now = (uint32_t)rte_rdtsc();

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t seq, tsc;

		if (likely(gen_stamp(m, &seq, &tsc))) {
			l->c.rx_total++;
			if (measuring)
				l->c.rx_window++;
			/* Measured: sent after the window opened and before @p upper
			 * (the next sequence number, or seq_end once it closed). */
			if (l->r.started &&
			    (uint32_t)(seq - l->r.seq_start) < (uint32_t)(upper - l->r.seq_start)) {
				l->c.rx++;
				gen_hist_record(&gen_latency, (uint32_t)(now - tsc));
				if ((int32_t)(seq - *last_seq) < 0)
					l->c.rx_ooo++;
				else
					*last_seq = seq;
			}
			rte_pktmbuf_free(m);
			continue;
		}
		if (m->data_len >= sizeof(struct rte_ether_hdr) &&
		    rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type ==
			    rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
		    gen_memif_arp(p, m, &l->c.arp_replies))
			continue;
		l->c.rx_foreign++;
		rte_pktmbuf_free(m);
	}
	return n;
}

/*
 * The loop: warm-up, measured window, drain. Only frames sent inside the window
 * (sequence numbers seq_start..seq_end) are measured; they are counted when they
 * come back, during the window or the drain after it.
 */
static void gen_run(struct gen_loop *l)
{
	const struct gen_opts *o = l->o;
	const uint64_t hz = rte_get_tsc_hz();
	const uint64_t t0 = rte_rdtsc();
	const uint64_t warm_end = t0 + (uint64_t)(o->warmup * (double)hz);
	const uint64_t meas_end = warm_end + (uint64_t)(o->duration * (double)hz);
	const uint64_t drain_end = meas_end + (uint64_t)(o->drain * (double)hz);
	uint64_t rate_t0 = t0, rate_sent = 0, t_start = 0, now;
	unsigned int work;
	uint32_t seq = 0, flow = 0, last_seq = 0;
	bool measuring = false, sending = true;

	l->r.hz = hz;
	while (!gen_quit) {
		now = rte_rdtsc();
		if (!l->r.started && now >= warm_end) {
			measuring = true;
			l->r.started = true;
			t_start = now;
			l->r.seq_start = seq;
			last_seq = seq - 1;
			/* For scripts that sample the server inside the window. */
			fprintf(stderr, "meshdp-gen: window open\n");
		}
		if (sending && now >= meas_end) {
			sending = false;
			measuring = false;
			l->r.seq_end = seq;
			l->r.window_cycles = now - t_start;
			fprintf(stderr, "meshdp-gen: window closed\n");
		}
		if (!sending && now >= drain_end)
			break;
		work = 0;

		if (sending) {
			struct rte_mbuf *pkts[GEN_BURST];
			uint16_t want = GEN_BURST, sent;

			if (o->rate != 0) {
				const uint64_t due = (now - rate_t0) * o->rate / hz;

				want = (uint16_t)RTE_MIN((uint64_t)GEN_BURST, due - rate_sent);
			}
			if (want != 0 && rte_pktmbuf_alloc_bulk(l->tx_pool, pkts, want) == 0) {
				const uint64_t stamp = rte_rdtsc();

				for (uint16_t i = 0; i < want; i++) {
					gen_fill(o, l->t, pkts[i], flow, seq + i, stamp);
					if (++flow == o->flows)
						flow = 0;
				}
				sent = rte_eth_tx_burst(l->tx->id, 0, pkts, want);
				if (sent < want) {
					/* Refused frames were never sent: their sequence
					 * numbers and flows are used again. */
					rte_pktmbuf_free_bulk(&pkts[sent], want - sent);
					l->c.tx_refused += want - sent;
					flow = (uint32_t)((flow + o->flows -
							   (uint32_t)((want - sent) % o->flows)) %
							  o->flows);
				}
				seq += sent;
				work += sent;
				rate_sent += sent;
				l->c.tx_total += sent;
				if (measuring)
					l->c.tx += sent;
			} else if (want != 0) {
				l->c.alloc_failed++;
			}
		}
		if (l->rx != l->tx)
			work += gen_rx(l, l->tx, measuring, sending ? seq : l->r.seq_end,
				       &last_seq);
		work += gen_rx(l, l->rx, measuring, sending ? seq : l->r.seq_end, &last_seq);
		/* Iterations that moved nothing waited for the server (or the rate). */
		if (measuring && work != 0)
			l->r.busy_cycles += rte_rdtsc() - now;
	}
	if (sending && measuring) { /* interrupted inside the window */
		l->r.seq_end = seq;
		l->r.window_cycles = rte_rdtsc() - t_start;
	}
}

static const char *gen_mode_name(enum gen_mode m)
{
	return m == GEN_MODE_UDP ? "udp" : m == GEN_MODE_TCP ? "tcp" : "syn";
}

static void gen_report(const struct gen_loop *l)
{
	const struct gen_opts *o = l->o;
	const struct gen_counters *c = &l->c;
	const struct gen_hist *h = &gen_latency;
	const double secs = (double)l->r.window_cycles / (double)l->r.hz;
	const double tx_pps = secs > 0 ? (double)c->tx / secs : 0;
	const double rx_pps = secs > 0 ? (double)c->rx_window / secs : 0;
	const double l2_bits = (double)o->size * 8;
	const double l1_bits = (double)(o->size + GEN_L1_OVERHEAD) * 8;
	const uint64_t lost = c->tx > c->rx ? c->tx - c->rx : 0;
	const double loss = c->tx > 0 ? (double)lost / (double)c->tx : 0;
	/* Busy cycles per frame moved (one TX or one RX); retries of refused frames
	 * count as busy, so under back-pressure this is an upper bound. */
	const double cpp = c->tx + c->rx_window > 0
				   ? (double)l->r.busy_cycles / (double)(c->tx + c->rx_window)
				   : 0;
	const double busy =
		l->r.window_cycles > 0 ? (double)l->r.busy_cycles / (double)l->r.window_cycles : 0;
	const uint64_t hz = l->r.hz;
	const double mean = h->count > 0 ? (double)h->sum / (double)h->count : 0;

	if (o->json) {
		printf("{\"mode\": \"%s\", \"size\": %u, \"flows\": %u, \"rate_target_pps\": "
		       "%" PRIu64 ", \"duration_s\": %.3f, \"warmup_s\": %.3f, \"drain_s\": %.3f,"
		       " \"ports\": %u, \"tsc_hz\": %" PRIu64 ",\n",
		       gen_mode_name(o->mode), o->size, o->flows, o->rate, secs, o->warmup,
		       o->drain, o->n_sockets, hz);
		printf(" \"tx_packets\": %" PRIu64 ", \"rx_packets\": %" PRIu64
		       ", \"lost\": %" PRIu64 ", \"loss_ratio\": %.6f,"
		       " \"tx_refused\": %" PRIu64 ", \"rx_out_of_order\": %" PRIu64
		       ", \"rx_foreign\": %" PRIu64 ", \"arp_replies\": %" PRIu64
		       ", \"alloc_failed\": %" PRIu64 ",\n",
		       c->tx, c->rx, lost, loss, c->tx_refused, c->rx_ooo, c->rx_foreign,
		       c->arp_replies, c->alloc_failed);
		printf(" \"tx_mpps\": %.4f, \"rx_mpps\": %.4f, \"tx_gbps_l1\": %.4f,"
		       " \"rx_gbps_l1\": %.4f, \"tx_gbps_l2\": %.4f, \"rx_gbps_l2\": %.4f,"
		       " \"gen_cycles_per_packet\": %.1f, \"gen_busy_ratio\": %.3f,\n",
		       tx_pps / 1e6, rx_pps / 1e6, tx_pps * l1_bits / 1e9, rx_pps * l1_bits / 1e9,
		       tx_pps * l2_bits / 1e9, rx_pps * l2_bits / 1e9, cpp, busy);
		printf(" \"latency_ns\": {\"samples\": %" PRIu64 ", \"min\": %.0f, \"mean\": %.0f,"
		       " \"p50\": %.0f, \"p99\": %.0f, \"p99_9\": %.0f, \"max\": %.0f}}\n",
		       h->count, gen_ns(h->count ? h->min : 0, hz), mean * 1e9 / (double)hz,
		       gen_ns(gen_hist_quantile(h, 0.5), hz),
		       gen_ns(gen_hist_quantile(h, 0.99), hz),
		       gen_ns(gen_hist_quantile(h, 0.999), hz), gen_ns(h->max, hz));
		return;
	}
	printf("mode %s, %u-byte frames, %u flows, %.2f s measured\n", gen_mode_name(o->mode),
	       o->size, o->flows, secs);
	printf("tx %" PRIu64 " frames  %.3f Mpps  %.3f Gbps L1  (%" PRIu64
	       " refused by the TX ring)\n",
	       c->tx, tx_pps / 1e6, tx_pps * l1_bits / 1e9, c->tx_refused);
	printf("rx %" PRIu64 " frames  %.3f Mpps  %.3f Gbps L1  %.3f Gbps L2\n", c->rx,
	       rx_pps / 1e6, rx_pps * l1_bits / 1e9, rx_pps * l2_bits / 1e9);
	printf("lost %" PRIu64 " (%.4f %%), out of order %" PRIu64 ", foreign %" PRIu64
	       ", ARP replies %" PRIu64 "\n",
	       lost, loss * 100, c->rx_ooo, c->rx_foreign, c->arp_replies);
	printf("latency ns: min %.0f  p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  (%" PRIu64
	       " samples)\n",
	       gen_ns(h->count ? h->min : 0, hz), gen_ns(gen_hist_quantile(h, 0.5), hz),
	       gen_ns(gen_hist_quantile(h, 0.99), hz), gen_ns(gen_hist_quantile(h, 0.999), hz),
	       gen_ns(h->max, hz), h->count);
	printf("generator: %.1f busy cycles per frame sent or received, busy %.1f %% (TSC %.3f "
	       "GHz)\n",
	       cpp, busy * 100, (double)hz / 1e9);
}

int main(int argc, char **argv)
{
	struct gen_port ports[GEN_MAX_PORTS];
	struct rte_mempool *tx_pool, *rx_pool;
	struct gen_template tmpl;
	struct gen_opts opts;
	struct gen_loop loop;
	unsigned int n_ports;
	char vdevs[GEN_MAX_PORTS][256];
	char *eal_argv[argc + 2 * GEN_MAX_PORTS + 1];
	int eal_argc = 0, dd = argc, rc, ret = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			gen_usage(argv[0]);
			return 0;
		}
		if (strcmp(argv[i], "--") == 0 && dd == argc)
			dd = i;
	}
	/* Our options come after "--"; the memif clients become EAL --vdev arguments. */
	{
		char *app_argv[argc - dd + 2];
		int app_argc = 0;

		app_argv[app_argc++] = argv[0];
		for (int i = dd + 1; i < argc; i++)
			app_argv[app_argc++] = argv[i];
		app_argv[app_argc] = NULL;
		if (gen_parse_args(app_argc, app_argv, &opts) != 0) {
			gen_usage(argv[0]);
			return 2;
		}
	}
	for (int i = 0; i < dd; i++)
		eal_argv[eal_argc++] = argv[i];
	for (unsigned int i = 0; i < opts.n_sockets; i++) {
		gen_memif_vdev_arg(i, opts.server, opts.sockets[i], opts.memif_args, vdevs[i],
				   sizeof(vdevs[i]));
		eal_argv[eal_argc++] = (char *)"--vdev";
		eal_argv[eal_argc++] = vdevs[i];
	}
	eal_argv[eal_argc] = NULL;

	/* EAL logs to stdout by default; keep stdout for the result. */
	rte_openlog_stream(stderr);
	rc = rte_eal_init(eal_argc, eal_argv);
	if (rc < 0) {
		fprintf(stderr, "meshdp-gen: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	gen_memif_signals();

	tx_pool = rte_pktmbuf_pool_create("gen_tx", GEN_POOL_MBUFS, GEN_POOL_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	rx_pool = rte_pktmbuf_pool_create("gen_rx", GEN_POOL_MBUFS, GEN_POOL_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (tx_pool == NULL || rx_pool == NULL) {
		fprintf(stderr, "meshdp-gen: mbuf pools: %s\n", rte_strerror(rte_errno));
		goto out_eal;
	}
	rte_mempool_obj_iter(tx_pool, gen_zero_mbuf, NULL);

	n_ports = opts.n_sockets;
	memset(ports, 0, sizeof(ports));
	for (unsigned int i = 0; i < n_ports; i++)
		if (gen_memif_port_init("meshdp-gen", i, rx_pool, &ports[i]) != 0)
			goto out_eal;
	ports[0].ip = opts.src_ip;
	ports[0].ip_n = 1;
	if (n_ports > 1) {
		ports[1].ip = opts.have_rx_ip ? opts.rx_ip : opts.dst_ip;
		ports[1].ip_n = opts.rx_ip_n;
	}
	fprintf(stderr, "meshdp-gen: waiting for the memif link(s) (%s)\n",
		opts.server ? "server: the peer connects" : "client");
	if (gen_memif_wait_links(ports, n_ports, opts.link_timeout) != 0) {
		fprintf(stderr,
			"meshdp-gen: memif link(s) not up after %.1f s: is the peer running?\n",
			opts.link_timeout);
		goto out_ports;
	}

	gen_template_build(&opts, opts.have_src_mac ? &opts.src_mac : &ports[0].mac,
			   opts.have_dst_mac ? &opts.dst_mac : &ports[n_ports - 1].mac, &tmpl);
	memset(&loop, 0, sizeof(loop));
	loop.o = &opts;
	loop.t = &tmpl;
	loop.tx = &ports[0];
	loop.rx = &ports[n_ports - 1];
	loop.tx_pool = tx_pool;
	gen_hist_init(&gen_latency);
	fprintf(stderr, "meshdp-gen: running on lcore %u: %s, %u bytes, %u flows, rate %s\n",
		rte_lcore_id(), gen_mode_name(opts.mode), opts.size, opts.flows,
		opts.rate != 0 ? "fixed" : "max");
	gen_run(&loop);
	gen_report(&loop);
	ret = 0;
	if (opts.hold > 0)
		gen_memif_hold("meshdp-gen", opts.hold);

out_ports:
	gen_memif_close(ports, n_ports);
out_eal:
	rte_eal_cleanup();
	return ret;
}
