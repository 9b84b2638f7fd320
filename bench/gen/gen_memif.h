/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the memif load generators share (meshdp-gen, meshdp-httpgen): the
 * memif ports' EAL arguments and setup, the wait for their links, answering
 * ARP for the generator's addresses, the hold that keeps the links up until
 * the peer has stopped, and the latency histogram. Bench code: one lcore.
 */
#ifndef MESHDP_BENCH_GEN_MEMIF_H
#define MESHDP_BENCH_GEN_MEMIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define GEN_MAX_PORTS 2
#define GEN_DESC      1024

struct gen_port {
	uint16_t id;
	struct rte_ether_addr mac;
	uint32_t ip;   /* our first address on this port, host order */
	uint32_t ip_n; /* addresses ip .. ip + ip_n - 1 are ours (ARP) */
};

/* Set by SIGINT / SIGTERM (gen_memif_signals()): every wait ends. */
extern volatile bool gen_quit;

/* SIGINT and SIGTERM set gen_quit. */
void gen_memif_signals(void);

/*
 * The --vdev argument of memif port @p i: role server or client, id 0, on
 * @p socket, with @p extra devargs appended when not empty.
 */
void gen_memif_vdev_arg(unsigned int i, bool server, const char *socket, const char *extra,
			char *buf, size_t len);

/*
 * Start memif port @p i (created by EAL from its --vdev) with one queue pair
 * receiving into @p rx_pool. @p who names the program in error messages.
 * @return 0 or a negative errno.
 */
int gen_memif_port_init(const char *who, unsigned int i, struct rte_mempool *rx_pool,
			struct gen_port *p);

/* Until every port's link is up: 0, or -ETIMEDOUT after @p timeout s (or on gen_quit). */
int gen_memif_wait_links(const struct gen_port *ports, unsigned int n, double timeout);

/*
 * Answer an ARP request for one of @p p's addresses by turning @p m into the
 * reply and sending it back (*@p replies counts the ones sent). @return true
 * when @p m was such a request (owned by the call), false otherwise (untouched).
 */
bool gen_memif_arp(const struct gen_port *p, struct rte_mbuf *m, uint64_t *replies);

/*
 * DPDK 22.11's memif unmaps the shared memory when its peer goes away, under
 * the peer's polling worker: keep the links up @p seconds (or until gen_quit)
 * so that the peer stops first. Prints "holding the link(s)" on stderr, which
 * bench/run.sh waits for.
 */
void gen_memif_hold(const char *who, double seconds);

/* Stop and close the ports. */
void gen_memif_close(const struct gen_port *ports, unsigned int n);

/*
 * Log-linear histogram (the HdrHistogram layout): values below 2^GEN_HIST_SUB_BITS
 * have a bucket each; above, every power of two is split into 2^(SUB_BITS-1)
 * linear buckets, so a bucket is at most 1/64 (1.6 %) of its value wide.
 * Values are TSC cycles. Fixed size: recording is an index computation and an
 * increment, no allocation.
 */
#define GEN_HIST_SUB_BITS 7
#define GEN_HIST_SUB	  (1u << GEN_HIST_SUB_BITS)
#define GEN_HIST_HALF	  (GEN_HIST_SUB / 2)
#define GEN_HIST_SHIFTS	  (64 - GEN_HIST_SUB_BITS + 1)
#define GEN_HIST_BUCKETS  (GEN_HIST_SUB + GEN_HIST_SHIFTS * GEN_HIST_HALF)

struct gen_hist {
	uint64_t count;
	uint64_t min; /* UINT64_MAX before the first value (gen_hist_init) */
	uint64_t max;
	uint64_t sum;
	uint64_t buckets[GEN_HIST_BUCKETS];
};

static inline void gen_hist_init(struct gen_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static inline unsigned int gen_hist_index(uint64_t v)
{
	unsigned int msb, shift;

	if (v < GEN_HIST_SUB)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	shift = msb - (GEN_HIST_SUB_BITS - 1);
	return GEN_HIST_SUB + (shift - 1) * GEN_HIST_HALF +
	       (unsigned int)((v >> shift) - GEN_HIST_HALF);
}

static inline void gen_hist_record(struct gen_hist *h, uint64_t v)
{
	h->buckets[gen_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* The value at quantile @p q (0..1): the upper edge of its bucket, capped at max. */
uint64_t gen_hist_quantile(const struct gen_hist *h, double q);

/* @p cycles of a @p hz TSC in ns. */
static inline double gen_ns(uint64_t cycles, uint64_t hz)
{
	return (double)cycles * 1e9 / (double)hz;
}

#endif
