/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: the snapshot's FIBs, lookups, publishing (QSBR) and cfg_with_tune().
 *
 * FIB sizing. rte_fib DIR24_8 and rte_fib6 TRIE both keep a 2^24-entry first
 * level; with 2-byte next hops (CFG_MAX_NEXTHOPS = 2^15 - 1) that is 32 MiB
 * each, 64 MiB per snapshot and 128 MiB while a swap holds two snapshots. The
 * second-level (tbl8) groups are sized from the configuration itself: one per
 * IPv4 prefix longer than /24, and (len - 24) / 8 rounded up per IPv6 prefix,
 * so a small config costs no more than the first level.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_memory.h>

#include "config_internal.h"

#define TBL8_MAX    32767u /* a tbl8 index must fit the 15 value bits of a 2-byte entry */
#define TBL8_SLACK  8u
#define LOOKUP_STEP 64u

struct cfg_snapshot *cfg_live;

/* Makes FIB names unique across snapshots; control thread only. */
static unsigned int cfg_fib_seq;

/* The FIBs of one or more snapshots with identical routes. */
struct cfg_fibs {
	struct rte_fib *fib4;
	struct rte_fib6 *fib6;
	unsigned int refs; /* snapshots using them; control thread only */
};

/* Same FIB contents: the same entries pointing at the same next hops. */
static bool cfg_fib_same(const struct cfg_snapshot *a, const struct cfg_snapshot *b)
{
	return b != NULL && b->fibs != NULL && a->n_routes == b->n_routes &&
	       a->n_nexthops == b->n_nexthops &&
	       memcmp(a->routes, b->routes, a->n_routes * sizeof(*a->routes)) == 0 &&
	       memcmp(a->nexthops, b->nexthops, a->n_nexthops * sizeof(*a->nexthops)) == 0;
}

static void cfg_fibs_put(struct cfg_fibs *f)
{
	if (f == NULL || --f->refs != 0)
		return;
	rte_fib_free(f->fib4);
	rte_fib6_free(f->fib6);
	free(f);
}

int cfg_fib_build(struct cfg_snapshot *snap, const struct cfg_snapshot *prev, struct cfg_error *err)
{
	struct rte_fib_conf c4;
	struct rte_fib6_conf c6;
	uint32_t n4 = 0, n6 = 0, tbl8_4 = TBL8_SLACK, tbl8_6 = TBL8_SLACK;
	char name[32];
	unsigned int seq;

	if (cfg_fib_same(snap, prev)) {
		snap->fibs = prev->fibs;
		snap->fibs->refs++;
		snap->fib4 = prev->fib4;
		snap->fib6 = prev->fib6;
		return 0;
	}
	snap->fibs = calloc(1, sizeof(*snap->fibs));
	if (snap->fibs == NULL)
		return -ENOMEM;
	snap->fibs->refs = 1;
	seq = cfg_fib_seq++;
	for (uint32_t i = 0; i < snap->n_routes; i++) {
		const struct cfg_route *r = &snap->routes[i];

		if (r->family == 4) {
			n4++;
			tbl8_4 += r->dst4.len > 24;
		} else {
			n6++;
			tbl8_6 += r->dst6.len > 24 ? (r->dst6.len - 24u + 7u) / 8u : 0;
		}
	}

	memset(&c4, 0, sizeof(c4));
	c4.type = RTE_FIB_DIR24_8;
	c4.default_nh = 0;
	c4.max_routes = (int)(n4 + TBL8_SLACK);
	c4.dir24_8.nh_sz = RTE_FIB_DIR24_8_2B;
	c4.dir24_8.num_tbl8 = RTE_MIN(tbl8_4, TBL8_MAX);
	snprintf(name, sizeof(name), "cfg4_%u", seq);
	snap->fib4 = snap->fibs->fib4 = rte_fib_create(name, SOCKET_ID_ANY, &c4);
	if (snap->fib4 == NULL)
		return rte_errno == ENOMEM ? -ENOMEM
					   : cfg_fail(err, "$", "cannot create the IPv4 FIB: %s",
						      rte_strerror(rte_errno));

	memset(&c6, 0, sizeof(c6));
	c6.type = RTE_FIB6_TRIE;
	c6.default_nh = 0;
	c6.max_routes = (int)(n6 + TBL8_SLACK);
	c6.trie.nh_sz = RTE_FIB6_TRIE_2B;
	c6.trie.num_tbl8 = RTE_MIN(tbl8_6, TBL8_MAX);
	snprintf(name, sizeof(name), "cfg6_%u", seq);
	snap->fib6 = snap->fibs->fib6 = rte_fib6_create(name, SOCKET_ID_ANY, &c6);
	if (snap->fib6 == NULL)
		return rte_errno == ENOMEM ? -ENOMEM
					   : cfg_fail(err, "$", "cannot create the IPv6 FIB: %s",
						      rte_strerror(rte_errno));

	for (uint32_t i = 0; i < snap->n_routes; i++) {
		const struct cfg_route *r = &snap->routes[i];
		char pfx[INET6_ADDRSTRLEN];
		int rc;

		if (r->family == 4)
			rc = rte_fib_add(snap->fib4, rte_be_to_cpu_32(r->dst4.addr), r->dst4.len,
					 r->nexthop);
		else
			rc = rte_fib6_add(snap->fib6, r->dst6.addr, r->dst6.len, r->nexthop);
		if (rc == 0)
			continue;
		if (r->family == 4)
			inet_ntop(AF_INET, &r->dst4.addr, pfx, sizeof(pfx));
		else
			inet_ntop(AF_INET6, r->dst6.addr, pfx, sizeof(pfx));
		return cfg_fail(err, "$.routes",
				"cannot add %s/%u to the IPv%u FIB (%s); expected fewer or shorter "
				"prefixes",
				pfx, r->family == 4 ? r->dst4.len : r->dst6.len, r->family,
				strerror(-rc));
	}
	return 0;
}

void cfg_snapshot_free(struct cfg_snapshot *snap)
{
	if (snap == NULL)
		return;
	cfg_l4_free(snap);
	cfg_fibs_put(snap->fibs);
	free(snap->nexthops);
	free(snap->routes);
	free(snap->text);
	/* Poison: a reader that kept the pointer past its grace period sees
	 * generation 0 and text NULL instead of plausible data. */
	memset(snap, 0, sizeof(*snap));
	free(snap);
}

void cfg_publish(struct cfg_snapshot *snap)
{
	struct cfg_snapshot *old = cfg_live;

	if (snap == NULL || snap == old)
		return;
	snap->generation = old != NULL ? old->generation + 1 : 1;
	old = rcu_xchg_pointer(&cfg_live, snap);
	if (old == NULL)
		return;
	synchronize_rcu();
	cfg_snapshot_free(old);
}

uint32_t cfg_route4(const struct cfg_snapshot *snap, uint32_t dst)
{
	uint32_t ip = rte_be_to_cpu_32(dst);
	uint64_t nh = 0;

	if (unlikely(snap->fib4 == NULL))
		return 0;
	rte_fib_lookup_bulk(snap->fib4, &ip, &nh, 1);
	return (uint32_t)nh;
}

uint32_t cfg_route6(const struct cfg_snapshot *snap, const uint8_t dst[16])
{
	uint8_t ip[1][RTE_FIB6_IPV6_ADDR_SIZE];
	uint64_t nh = 0;

	if (unlikely(snap->fib6 == NULL))
		return 0;
	memcpy(ip[0], dst, 16);
	rte_fib6_lookup_bulk(snap->fib6, ip, &nh, 1);
	return (uint32_t)nh;
}

void cfg_route4_bulk(const struct cfg_snapshot *snap, const uint32_t *dst, uint32_t *nh,
		     unsigned int n)
{
	uint32_t ip[LOOKUP_STEP];
	uint64_t hop[LOOKUP_STEP];

	if (unlikely(snap->fib4 == NULL)) {
		memset(nh, 0, n * sizeof(*nh));
		return;
	}
	for (unsigned int off = 0; off < n; off += LOOKUP_STEP) {
		unsigned int k = RTE_MIN(LOOKUP_STEP, n - off);

		for (unsigned int i = 0; i < k; i++)
			ip[i] = rte_be_to_cpu_32(dst[off + i]);
		rte_fib_lookup_bulk(snap->fib4, ip, hop, (int)k);
		for (unsigned int i = 0; i < k; i++)
			nh[off + i] = (uint32_t)hop[i];
	}
}

/* Strict decimal 0..UINT32_MAX; the range of each knob is checked by cfg_compile(). */
static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || ++digits > 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (digits == 0 || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

char *cfg_with_tune(const struct cfg_snapshot *snap, const char *key, const char *value,
		    struct cfg_error *err)
{
	static const char *const knobs[] = {"rx_burst", "tx_burst",   "drain_us",
					    "idle",	"idle_polls", "idle_sleep_us"};
	char path[80];
	json_error_t jerr;
	json_t *root, *tune, *v;
	bool known = false;
	uint32_t n;
	char *text;

	err->msg[0] = '\0';
	if (snap == NULL || snap->text == NULL || key == NULL || value == NULL) {
		cfg_fail(err, "$.tune", "expected a running configuration, a knob and a value");
		return NULL;
	}
	for (size_t i = 0; i < RTE_DIM(knobs); i++)
		known |= strcmp(key, knobs[i]) == 0;
	snprintf(path, sizeof(path), "$.tune.%.40s", key);
	if (!known) {
		cfg_fail(err, path,
			 "unknown knob; expected one of: rx_burst, tx_burst, drain_us, idle, "
			 "idle_polls, idle_sleep_us");
		return NULL;
	}
	if (strcmp(key, "idle") == 0) {
		if (strcmp(value, "poll") != 0 && strcmp(value, "sleep") != 0) {
			cfg_fail(err, path, "expected \"poll\" or \"sleep\", got \"%.40s\"", value);
			return NULL;
		}
		v = json_string(value);
	} else {
		if (!parse_u32(value, &n)) {
			cfg_fail(err, path, "expected a non-negative integer, got \"%.40s\"",
				 value);
			return NULL;
		}
		v = json_integer(n);
	}
	if (v == NULL) {
		cfg_fail(err, path, "out of memory");
		return NULL;
	}

	root = json_loadb(snap->text, snap->text_len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		cfg_fail(err, "$", "the running configuration does not parse: %s", jerr.text);
		goto fail;
	}
	tune = json_object_get(root, "tune");
	if (tune == NULL) {
		tune = json_object();
		if (tune == NULL || json_object_set_new(root, "tune", tune) != 0) {
			cfg_fail(err, "$.tune", "out of memory");
			goto fail;
		}
	} else if (!json_is_object(tune)) {
		cfg_fail(err, "$.tune", "expected an object in the running configuration");
		goto fail;
	}
	if (json_object_set_new(tune, key, v) != 0) {
		v = NULL;
		cfg_fail(err, path, "out of memory");
		goto fail;
	}
	v = NULL;
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL)
		cfg_fail(err, "$", "out of memory");
	return text;
fail:
	json_decref(v);
	json_decref(root);
	return NULL;
}
