/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-flowscale: flow-table scale for bench scenario (f).
 *
 * For each size N given (default 1M and 10M flows) it creates a flow table of
 * capacity N with dataplane/flow, inserts N distinct IPv4 UDP flows (forward
 * and reverse key, as the L4 path does without NAT), and measures:
 *   - bytes per flow (flow_table_bytes_per_flow(): taken from the DPDK heap at
 *     create, for the capacity);
 *   - inserts per second;
 *   - flow_lookup_bulk() rate over random existing keys in bursts of 32, and
 *     over keys that are not in the table (misses).
 * One JSON object on stdout; EAL logs on stderr. A size whose table cannot be
 * created (not enough memory) is reported with "created": false and the error.
 *
 *   meshdp-flowscale --no-huge -m 6144 -l 0 --no-pci -- --flows 1000000,10000000
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "dataplane/flow/flow.h"

#define FS_BURST     32
#define FS_MAX_SIZES 8
#define FS_SPORT_MIN 1024u
#define FS_SPORTS    64512u

struct fs_opts {
	uint32_t sizes[FS_MAX_SIZES];
	unsigned int n_sizes;
	uint64_t lookups; /* keys looked up per measurement */
};

/* Flow @p i: source 10.64.0.0 + i / FS_SPORTS, source port from i, to one VIP:port. */
static void fs_key(uint32_t i, bool miss, struct flow_key *fwd, struct flow_key *rev)
{
	const uint32_t src = rte_cpu_to_be_32(RTE_IPV4(10, 64, 0, 0) + i / FS_SPORTS);
	const uint32_t dst =
		rte_cpu_to_be_32(miss ? RTE_IPV4(10, 96, 0, 11) : RTE_IPV4(10, 96, 0, 10));
	const uint16_t sport = rte_cpu_to_be_16((uint16_t)(FS_SPORT_MIN + i % FS_SPORTS));

	flow_key4(fwd, src, dst, sport, rte_cpu_to_be_16(53), IPPROTO_UDP, 0);
	if (rev != NULL)
		flow_key_reverse(rev, fwd);
}

/* xorshift64*: random flow indices without a table of them. */
static inline uint64_t fs_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Look up @p total random keys of flows 0..n-1 in bursts; @return lookups/s, hits in @p hits. */
static double fs_lookup_rate(struct flow_table *t, uint32_t n, uint64_t total, bool miss,
			     uint64_t *hits)
{
	struct flow_key keys[FS_BURST];
	const struct flow_key *kp[FS_BURST];
	struct flow_entry *ent[FS_BURST];
	uint8_t dir[FS_BURST];
	uint64_t seed = 0x9e3779b97f4a7c15ull, t0, cycles = 0;

	*hits = 0;
	for (unsigned int i = 0; i < FS_BURST; i++)
		kp[i] = &keys[i];
	for (uint64_t done = 0; done < total; done += FS_BURST) {
		/* Key building is outside the timed part: only the lookups count. */
		for (unsigned int i = 0; i < FS_BURST; i++)
			fs_key((uint32_t)(fs_rand(&seed) % n), miss, &keys[i], NULL);
		t0 = rte_rdtsc_precise();
		*hits += flow_lookup_bulk(t, kp, FS_BURST, ent, dir);
		cycles += rte_rdtsc_precise() - t0;
	}
	return cycles ? (double)total * (double)rte_get_tsc_hz() / (double)cycles : 0;
}

static void fs_run(uint32_t n, const struct fs_opts *o, bool first)
{
	const uint64_t hz = rte_get_tsc_hz();
	struct rte_malloc_socket_stats before, after;
	struct flow_table_stats st;
	struct flow_table *t;
	struct flow_key fwd, rev;
	uint64_t t0, ins_cycles, hits = 0, miss_hits = 0, failed = 0;
	double hit_rate, miss_rate;
	struct flow_table_mem mem;
	char name[16];

	printf("%s\n  {\"flows\": %" PRIu32 ", ", first ? "" : ",", n);
	snprintf(name, sizeof(name), "fs%" PRIu32, n);
	rte_malloc_get_socket_stats(0, &before);
	t = flow_table_create(name, n, SOCKET_ID_ANY);
	if (t == NULL) {
		printf("\"created\": false, \"error\": \"%s\"}", rte_strerror(rte_errno));
		return;
	}
	rte_malloc_get_socket_stats(0, &after);
	t0 = rte_rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		fs_key(i, false, &fwd, &rev);
		if (flow_insert(t, &fwd, &rev, t0, NULL) != 0)
			failed++;
	}
	ins_cycles = rte_rdtsc() - t0;
	hit_rate = fs_lookup_rate(t, n, o->lookups, false, &hits);
	miss_rate = fs_lookup_rate(t, n, o->lookups, true, &miss_hits);
	flow_table_stats(t, &st);
	flow_table_mem(t, &mem);
	printf("\"created\": true, \"bytes_per_flow\": %zu, \"heap_bytes\": %zu, "
	       "\"heap_bytes_per_flow\": %.1f, \"index_bytes_per_flow\": %.1f,\n"
	       "   \"mem_per_flow\": {\"entries\": %.1f, \"keys\": %.1f, \"index\": %.1f, "
	       "\"wheel\": %.1f, \"ipv6\": %.1f},\n"
	       "   \"inserted\": %" PRIu64 ", \"insert_failed\": %" PRIu64
	       ", \"inserts_per_s\": %.0f,\n"
	       "   \"lookups\": %" PRIu64 ", \"lookup_hits\": %" PRIu64
	       ", \"lookups_per_s\": %.0f, \"lookup_cycles\": %.1f,\n"
	       "   \"miss_lookups\": %" PRIu64 ", \"miss_hits\": %" PRIu64
	       ", \"miss_lookups_per_s\": %.0f, \"miss_lookup_cycles\": %.1f, \"burst\": %u}",
	       flow_table_bytes_per_flow(t), after.heap_allocsz_bytes - before.heap_allocsz_bytes,
	       (double)(after.heap_allocsz_bytes - before.heap_allocsz_bytes) / n, mem.index,
	       mem.entries, mem.keys, mem.index, mem.wheel, mem.ipv6, st.inserts, failed,
	       ins_cycles ? (double)n * (double)hz / (double)ins_cycles : 0, o->lookups, hits,
	       hit_rate, hit_rate > 0 ? (double)hz / hit_rate : 0, o->lookups, miss_hits, miss_rate,
	       miss_rate > 0 ? (double)hz / miss_rate : 0, FS_BURST);
	flow_table_free(t);
}

static int fs_parse(int argc, char **argv, struct fs_opts *o)
{
	static const struct option longopts[] = {
		{"flows", required_argument, NULL, 'f'},
		{"lookups", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	char *s, *tok, *save = NULL, *end;
	int c;

	o->sizes[0] = 1000000;
	o->sizes[1] = 10000000;
	o->n_sizes = 2;
	o->lookups = 8u << 20;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->n_sizes = 0;
			s = optarg;
			while ((tok = strtok_r(s, ",", &save)) != NULL) {
				unsigned long v;

				s = NULL;
				errno = 0;
				v = strtoul(tok, &end, 10);
				if (errno || *end || v < 4 || v > (1ul << 29) ||
				    o->n_sizes == FS_MAX_SIZES) {
					fprintf(stderr, "meshdp-flowscale: bad --flows '%s'\n",
						tok);
					return -EINVAL;
				}
				o->sizes[o->n_sizes++] = (uint32_t)v;
			}
			break;
		case 'n':
			errno = 0;
			o->lookups = strtoull(optarg, &end, 10);
			if (errno || *end || o->lookups < FS_BURST) {
				fprintf(stderr, "meshdp-flowscale: bad --lookups '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		default:
			fprintf(stderr, "usage: meshdp-flowscale [EAL args] -- [--flows N[,N...]] "
					"[--lookups N]\n");
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct fs_opts o;
	int n;

	rte_openlog_stream(stderr);
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "meshdp-flowscale: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argv[n] = argv[0];
	if (fs_parse(argc - n, argv + n, &o) != 0) {
		rte_eal_cleanup();
		return 2;
	}
	printf("{\"tsc_hz\": %" PRIu64 ", \"key_bytes\": %zu, \"entry_bytes\": %zu, "
	       "\"runs\": [",
	       rte_get_tsc_hz(), sizeof(struct flow_tuple4), sizeof(struct flow_entry));
	for (unsigned int i = 0; i < o.n_sizes; i++) {
		fs_run(o.sizes[i], &o, i == 0);
		fflush(stdout);
	}
	printf("\n]}\n");
	rte_eal_cleanup();
	return 0;
}
