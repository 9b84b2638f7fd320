/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshdp-jwtbench: what request authentication adds to a request, for
 * bench/jwtbench.sh.
 *
 * It compiles, through cfg_compile() as the daemon does, a document with one
 * service (shop/app) and a request-authentication policy like
 * tests/integration/test_jwt.sh's (issuer https://idp.test with the key set
 * DIR/jwks.json, two claim headers; the node's JWE keys DIR/dec_rsa.pem and
 * DIR/dec_ec.pem), then runs jwt_check() --lookups times on a request with
 * five ordinary header fields and "Authorization: Bearer <the token in
 * FILE>" (no --token: the same request without a token, what a request with
 * no JWT pays). Printed: the reason (it must be "authenticated" or
 * "no_token") and nanoseconds per jwt_check() (TSC). Under callgrind
 * (`--toggle-collect=jwt_check`) the instructions, without timer noise.
 * Tokens carry no jti (the replay cache would refuse the second use).
 *
 *   meshdp-jwtbench --no-huge -m 256 -l 0 --no-pci -- --keys DIR [--token FILE] [--lookups N]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dataplane/config/config.h"
#include "dataplane/jwt/jwt.h"
#include "dataplane/subsystems.h"

static const struct cfg_port_info jb_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
};

static char *jb_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, JWT_TOKEN_MAX + 1);
	size_t n;

	if (f == NULL || buf == NULL) {
		if (f != NULL)
			fclose(f);
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, JWT_TOKEN_MAX, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"keys", required_argument, NULL, 'k'},
					     {"token", required_argument, NULL, 't'},
					     {"lookups", required_argument, NULL, 'n'},
					     {NULL, 0, NULL, 0}};
	static struct jwt_outcome out;
	static struct stats_block st;
	const char *keys = NULL, *token_file = NULL;
	char doc[4096], auth[JWT_TOKEN_MAX + 8];
	struct cfg_snapshot *snap = NULL;
	struct cfg_error err;
	uint64_t lookups = 100000, t0, t1;
	int eal = rte_eal_init(argc, argv), c;

	if (eal < 0) {
		fprintf(stderr, "jwtbench: rte_eal_init failed\n");
		return 1;
	}
	argc -= eal;
	argv += eal;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'k')
			keys = optarg;
		else if (c == 't')
			token_file = optarg;
		else if (c == 'n')
			lookups = strtoull(optarg, NULL, 10);
		else
			lookups = 0;
	}
	if (keys == NULL || lookups == 0) {
		fprintf(stderr, "usage: meshdp-jwtbench [EAL] -- --keys DIR [--token FILE] "
				"[--lookups N]\n");
		return 2;
	}
	meshdp_sections_register();
	snprintf(doc, sizeof(doc),
		 "{\"version\": 1, \"interfaces\": [{\"name\": \"eth0\", \"port\": \"p0\", "
		 "\"ipv4\": [\"10.10.1.1/24\"]}], \"services\": [{\"name\": \"app\", "
		 "\"namespace\": \"shop\", \"vip\": \"10.96.0.10\", \"ports\": [{\"port\": 80}], "
		 "\"endpoints\": [{\"address\": \"10.10.1.10\"}]}], "
		 "\"request_authentication\": [{\"name\": \"app\", \"namespace\": \"shop\", "
		 "\"decryption_key_file\": \"%s/dec_rsa.pem\", \"jwt_rules\": [{\"issuer\": "
		 "\"https://idp.test\", \"audiences\": [\"app\"], \"jwks_file\": "
		 "\"%s/jwks.json\", \"output_claim_to_headers\": [{\"claim\": \"sub\", "
		 "\"header\": \"x-jwt-sub\"}, {\"claim\": \"grp\", \"header\": "
		 "\"x-jwt-groups\"}]}]}, {\"name\": \"enc\", \"namespace\": \"shop\", "
		 "\"decryption_key_file\": \"%s/dec_ec.pem\", \"jwt_rules\": [{\"issuer\": "
		 "\"https://enc.test\", \"jwks_file\": \"%s/jwks.json\"}]}]}",
		 keys, keys, keys, keys);
	if (cfg_compile(doc, strlen(doc), jb_ports, 1, NULL, &snap, &err) != 0) {
		fprintf(stderr, "jwtbench: %s\n", err.msg);
		return 1;
	}
	{
		struct router_str h[6][2] = {
			{{"host", 4}, {"app.shop", 8}},
			{{"user-agent", 10}, {"curl/7.88.1", 11}},
			{{"accept", 6}, {"*/*", 3}},
			{{"x-request-id", 12}, {"3f1c9a4e-0b7d-4c8e-9a55-6f2d1e7b8c90", 36}},
			{{"content-type", 12}, {"application/json", 16}},
		};
		struct jwt_request rq = {.headers = (const struct router_str(*)[2])h,
					 .n_headers = 5,
					 .secure = true};

		if (token_file != NULL) {
			char *t = jb_read(token_file);

			if (t == NULL) {
				fprintf(stderr, "jwtbench: cannot read %s\n", token_file);
				return 1;
			}
			h[5][0] = (struct router_str){"authorization", 13};
			h[5][1] = (struct router_str){
				auth, (uint32_t)snprintf(auth, sizeof(auth), "Bearer %s", t)};
			rq.n_headers = 6;
			free(t);
		}
		t0 = rte_rdtsc_precise();
		for (uint64_t i = 0; i < lookups; i++)
			jwt_check(snap, 0, &rq, &out, &st);
		t1 = rte_rdtsc_precise();
	}
	printf("{\"lookups\": %" PRIu64 ", \"reason\": \"%s\", \"ns_per_check\": %.0f}\n", lookups,
	       jwt_reason_name(out.reason),
	       (double)(t1 - t0) * 1e9 / (double)rte_get_tsc_hz() / (double)lookups);
	cfg_snapshot_free(snap);
	rte_eal_cleanup();
	return out.reason == JWT_OK || out.reason == JWT_NO_TOKEN ? 0 : 1;
}
