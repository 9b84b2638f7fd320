/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config: the snapshot's lifecycle (free, publish with QSBR), its FIB lookups
 * and cfg_with_tune(). The FIBs themselves are built by the net section
 * (dataplane/net/net_config.c).
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

#define LOOKUP_STEP 64u

struct cfg_snapshot *cfg_live;

void cfg_snapshot_free(struct cfg_snapshot *snap)
{
	if (snap == NULL)
		return;
	/* Runtime objects first, while every section's data is intact: listener
	 * objects, then the L4 path's (which holds endpoint-state references in
	 * services, endpoints and listeners alike). */
	if (snap->proxy_rt_free != NULL)
		snap->proxy_rt_free(snap);
	if (snap->l4_rt_free != NULL)
		snap->l4_rt_free(snap);
	cfg_sections_free(snap);
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
