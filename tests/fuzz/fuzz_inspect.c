/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: arbitrary bytes into request inspection (dataplane/inspect).
 * The input is "PATH\nQUERY\nNAME:VALUE\n...": any bytes, NULs included. Each
 * value is scanned as it is (path and header values plainly, the query as a
 * query), and then behind 5000 bytes of padding, so that the decoding windows
 * cut elsewhere: a value of at most 200 bytes lies inside one window, and must
 * give the same classes or more there (the padding ends with '/', which may
 * start a signature, never hide one). A scan finds only injection classes, each
 * with its signature; the whole request goes through inspect_request() in
 * block mode with declared parameters.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/config/config.h"
#include "dataplane/inspect/inspect.h"
#include "test_eal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_HEADERS 16
#define FZ_PAD	       5000
#define FZ_SMALL       200

static const struct cfg_port_info fuzz_ports[] = {
	{.name = "p0", .port_id = 0, .mtu = 1500, .mac = {{0x02, 0, 0, 0, 0, 0x01}}},
};

static const char fuzz_doc[] =
	"{\"version\": 1, \"interfaces\": [{\"name\": \"i0\", \"port\": \"p0\", \"ipv4\": "
	"[\"10.10.1.1/24\"]}], \"request_inspection\": {\"mode\": \"block\", "
	"\"duplicate_parameters\": \"block\", \"headers\": [\"user-agent\", \"referer\", "
	"\"x-a\"]}}";

static struct cfg_snapshot *snap;
static struct stats_block fz_stats __attribute__((aligned(64)));
static char *padded;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cfg_error err;

	(void)argc;
	(void)argv;
	test_eal_init();
	if (cfg_compile(fuzz_doc, strlen(fuzz_doc), fuzz_ports, 1, NULL, &snap, &err) != 0) {
		fprintf(stderr, "fuzz_inspect: %s\n", err.msg);
		abort();
	}
	padded = malloc(FZ_PAD + 65536);
	if (padded == NULL)
		abort();
	memset(padded, 'a', FZ_PAD - 1);
	padded[FZ_PAD - 1] = '/';
	return 0;
}

/* One value: its classes, each with a signature, and no fewer behind the padding. */
static void fz_value(const char *p, uint32_t len, bool query)
{
	struct inspect_hits h, hp;
	uint32_t got, pad;

	memset(&h, 0, sizeof(h));
	got = inspect_scan(p, len, query, &h);
	if ((got & ~((1u << INSPECT_EXTRA) - 1)) != 0 || got != h.found)
		abort();
	for (unsigned int c = 0; c < INSPECT_EXTRA; c++)
		if ((got & (1u << c)) && h.sig[c] == NULL)
			abort();
	if (len > FZ_SMALL)
		return;
	memcpy(padded + FZ_PAD, p, len);
	memset(&hp, 0, sizeof(hp));
	pad = inspect_scan(padded, FZ_PAD + len, query, &hp);
	if ((pad & got) != got) {
		fprintf(stderr, "fuzz_inspect: 0x%x alone, 0x%x behind the padding\n", got, pad);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct telem_str params[] = {{"q", 1}, {"page", 4}};
	struct telem_str hdr[FZ_MAX_HEADERS][2], path = {"", 0}, query = {"", 0};
	const char *p = (const char *)data, *end = p + size;
	uint32_t n = 0, line = 0;

	if (size > 65536)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end;
		const struct telem_str v = {p, (uint32_t)(e - p)};

		if (line == 0) {
			path = v;
		} else if (line == 1) {
			query = v;
		} else if (n < FZ_MAX_HEADERS) {
			const char *colon = memchr(v.p, ':', v.len);

			hdr[n][0] = (struct telem_str){v.p, colon != NULL ? (uint32_t)(colon - v.p)
									  : v.len};
			hdr[n][1] = colon != NULL ? (struct telem_str){colon + 1,
								       (uint32_t)(e - colon - 1)}
						  : (struct telem_str){e, 0};
			fz_value(hdr[n][1].p, hdr[n][1].len, false);
			n++;
		}
		line++;
		p = e + 1;
	}
	fz_value(path.p, path.len, false);
	fz_value(query.p, query.len, true);
	{
		const struct inspect_request rq = {
			.path = path,
			.query = query,
			.headers = (const struct telem_str(*)[2])hdr,
			.n_headers = n,
			.params = (line & 1) ? params : NULL,
			.n_params = (line & 1) ? 2 : 0,
		};
		const struct telem_sev_ctx ctx = {.service = -1};

		inspect_request(snap, &rq, NULL, &ctx, &fz_stats, 1);
	}
	return 0;
}
