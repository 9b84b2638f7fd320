/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: arbitrary bytes as a bearer token into jwt_check() (and, the
 * same bytes, as a query parameter's value) on a fixed policy: an ES256 key
 * and an Ed25519 key (inline JWKS, kids f1 and e1), issuer https://f.test,
 * audience a, two claim headers, and the node's EC key for ECDH-ES JWEs
 * (written to a temporary file at start; the corpus's JWE is encrypted to
 * it). Whatever the input: no crash, no leak, a reason in range, counted
 * once, and an authenticated outcome carries a principal "https://f.test/..."
 * and header values without control characters. Replay is off: the corpus's
 * valid tokens verify on every run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/config/config.h"
#include "dataplane/jwt/jwt.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cfg_port_info fuzz_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
};

/* a test key, nothing else: the node's JWE key of the corpus */
static const char dec_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfMPLas/dG6Rz4aFr\n"
			      "gdb17x5H3re2wDL/64q7JjlzzT6hRANCAASdBzfoe4DFjo75pvHE+NvBGyLXiJFu\n"
			      "4bRG4CML2gkSoyOWyaliIqns0qzfA+19nfJmGHz+Cht/TqtvIDURdmhW\n"
			      "-----END PRIVATE KEY-----\n";

static struct cfg_snapshot *snap;
static struct stats_block st;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64], doc[4096];
	struct cfg_error err;
	FILE *f;

	(void)argc;
	(void)argv;
	test_eal_init();
	snprintf(path, sizeof(path), "/tmp/meshdp-fuzz-jwt-%d.pem", (int)getpid());
	f = fopen(path, "w");
	if (f == NULL || fputs(dec_pem, f) < 0 || fclose(f) != 0)
		abort();
	snprintf(doc, sizeof(doc),
		 "{\"version\": 1, \"interfaces\": [{\"name\": \"i0\", \"port\": \"p0\", "
		 "\"ipv4\": [\"10.10.1.1/24\"]}], \"services\": [{\"name\": \"web\", "
		 "\"namespace\": \"s\", \"vip\": \"10.96.0.10\", \"ports\": [{\"port\": 80}], "
		 "\"endpoints\": [{\"address\": \"10.10.1.10\"}]}], \"request_authentication\": "
		 "[{\"name\": \"p\", \"decryption_key_file\": \"%s\", \"jwt_rules\": [{\"issuer\": "
		 "\"https://f.test\", \"audiences\": [\"a\"], \"reject_replay\": false, "
		 "\"from_params\": [\"t\"], \"from_headers\": [{\"name\": \"authorization\", "
		 "\"prefix\": \"Bearer \"}], \"max_token_bytes\": 16384, "
		 "\"output_claim_to_headers\": [{\"claim\": \"sub\", \"header\": \"x-sub\"}, "
		 "{\"claim\": \"grp\", \"header\": \"x-grp\"}], \"jwks\": {\"keys\": [{\"crv\": "
		 "\"P-256\", \"kid\": \"f1\", \"kty\": \"EC\", \"x\": "
		 "\"ADZhahESoqEDtqEC8-rw4Cp10uBsA6hG_vzyt8dOA6s\", \"y\": "
		 "\"oWlvakWT9XZ7_Uczw8hLla7RS1LPRHUSBSMZYFB6BOE\"}, {\"crv\": \"Ed25519\", "
		 "\"kid\": \"e1\", \"kty\": \"OKP\", \"x\": "
		 "\"bjfF4mrR7tNUPPf7taZGD0BJ7M4Y8FiWooH6l6tE5iU\"}]}}]}]}",
		 path);
	if (cfg_compile(doc, strlen(doc), fuzz_ports, 1, NULL, &snap, &err) != 0) {
		fprintf(stderr, "fuzz_jwt: %s\n", err.msg);
		abort();
	}
	unlink(path);
	return 0;
}

static void fz_check(const struct jwt_outcome *o, uint64_t before)
{
	uint64_t after = 0;

	for (int r = 0; r < JWT_REASON_N; r++)
		after += stats_read(&st, (enum stats_id)(STAT_JWT_AUTHENTICATED + r));
	if ((unsigned int)o->reason >= JWT_REASON_N || after != before + 1)
		abort();
	if (o->authenticated != (o->reason == JWT_OK))
		abort();
	if (o->authenticated && strncmp(o->principal, "https://f.test/", 15) != 0)
		abort();
	for (uint32_t i = 0; i < o->n_add; i++)
		for (uint32_t k = 0; k < o->add[i].value.len; k++)
			if ((uint8_t)o->add[i].value.p[k] < 0x20)
				abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char hv[JWT_TOKEN_MAX + 16], q[JWT_TOKEN_MAX + 16];
	static struct jwt_outcome o;
	struct router_str h[2][2] = {{{"host", 4}, {"web", 3}}};
	struct jwt_request rq = {
		.headers = (const struct router_str(*)[2])h, .n_headers = 2, .secure = true};
	uint64_t before = 0;

	if (size > JWT_TOKEN_MAX)
		size = JWT_TOKEN_MAX;
	memcpy(hv, "Bearer ", 7);
	memcpy(hv + 7, data, size);
	h[1][0] = (struct router_str){"authorization", 13};
	h[1][1] = (struct router_str){hv, (uint32_t)(7 + size)};
	for (int r = 0; r < JWT_REASON_N; r++)
		before += stats_read(&st, (enum stats_id)(STAT_JWT_AUTHENTICATED + r));
	jwt_check(snap, 0, &rq, &o, &st);
	fz_check(&o, before);
	/* the same bytes as the query parameter t (the header gone) */
	memcpy(q, "a=1&t=", 6);
	memcpy(q + 6, data, size);
	rq.n_headers = 1;
	rq.query = (struct router_str){q, (uint32_t)(6 + size)};
	before += 1;
	jwt_check(snap, 0, &rq, &o, &st);
	fz_check(&o, before);
	return 0;
}
