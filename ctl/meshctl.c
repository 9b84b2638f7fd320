/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshctl: the command-line client of the meshdp control socket.
 * Exit status: 0 ok, 1 the daemon refused the command, 2 usage error,
 * 3 the daemon is unreachable (no socket, no access, no reply in time),
 * 4 meshctl audit found a requirement failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "fleet.h"

#define MESHCTL_EXIT_OK		 0
#define MESHCTL_EXIT_REFUSED	 1
#define MESHCTL_EXIT_USAGE	 2
#define MESHCTL_EXIT_UNREACHABLE 3
#define MESHCTL_EXIT_AUDIT_FAIL	 4
#define MESHCTL_DEFAULT_TIMEOUT	 10000
#define MESHCTL_MAX_COLS	 16

struct meshctl_opts {
	const char *socket;
	int timeout_ms;
	bool json;
	bool all;
};

static void meshctl_usage(FILE *out)
{
	fprintf(out,
		"usage: meshctl [--socket PATH] [--json] [--timeout MS] COMMAND ...\n"
		"\n"
		"commands:\n"
		"  status                  daemon, node, generation, workers, ports, log level\n"
		"  stats [--all]           counters summed over workers (non-zero unless --all)\n"
		"  ports                   ports with link state and ethdev counters\n"
		"  neigh                   the neighbour cache (ARP / NDP)\n"
		"  routes                  the compiled routing table\n"
		"  services                L4 services: VIP, ports, balancing, endpoints, "
		"connections\n"
		"  endpoints [--service S] endpoints with health, breaker and connection counts\n"
		"  breakers                circuit breakers: thresholds per service, state per "
		"endpoint\n"
		"  limits                  rate limits with their rates, bursts and source tables\n"
		"  flows [--service S] [--limit N]\n"
		"                          flows of every worker's table (default at most 100)\n"
		"  tcp stats               TCP connections by state (total and per worker) and\n"
		"                          the TCP stack's counters\n"
		"  tcp conns [--state S] [--limit N]\n"
		"  tls conns [--limit N]   TLS connections: peer SPIFFE ID, its certificate's\n"
		"                          serial and expiry, age, the identity's serial\n"
		"                          every worker's TCP connections (default at most 100)\n"
		"  http routes [NAME]      the compiled HTTP route configs (virtual hosts,\n"
		"                          domains, routes, actions)\n"
		"  http route-test CONFIG HOST PATH [METHOD] [-H NAME:VALUE]...\n"
		"                          the route route config CONFIG picks for a request\n"
		"  config validate FILE    check a configuration without applying it\n"
		"  config apply FILE       validate and make a configuration live\n"
		"  config apply --namespace NS FILE\n"
		"                          replace namespace NS's services, workloads, policies\n"
		"                          and clusters by FILE's (an operator's change)\n"
		"  config show             print the live configuration\n"
		"  config rollback         go back to the configuration before the last change\n"
		"  secret list             identities (SPIFFE ID, serial, expiry, source) and\n"
		"                          trust domains\n"
		"  secret apply NAME --cert FILE --key FILE\n"
		"                          replace identity NAME's certificate chain and key\n"
		"                          (kept in memory; refused whole if it fails a check)\n"
		"  secret bundle TD --bundle FILE\n"
		"                          replace trust domain TD's bundle of CA certificates\n"
		"  log level [LEVEL]       show or set the log level (emerg .. debug)\n"
		"  tune KEY=VALUE          change one live knob (rx_burst, tx_burst, drain_us,\n"
		"                          idle, idle_polls, idle_sleep_us)\n"
		"  audit [FILE]            the live configuration (or FILE, not applied) checked\n"
		"                          against NIST SP 800-204A: PASS / WARN / FAIL per\n"
		"                          requirement with the reason and the config path\n"
		"  authn                   every TLS listener identity's effective mTLS mode\n"
		"                          (strict / permissive / disable) and where it comes "
		"from\n"
		"  authz                   authorization policies: action, scope, rules, requests\n"
		"                          allowed / denied / audited; the services they cover\n"
		"  jwt                     request authentication: policies, JWT rules, key sets,\n"
		"                          jwks_uri fetches, the jwt_* counters\n"
		"  etcd                    the etcd client: endpoint, applied and seen revisions,\n"
		"                          refusals, reconnects\n"
		"  fleet publish --endpoints URL[,URL...] --prefix P [--namespace NS]\n"
		"                [--user NAME:PASSWORD] FILE\n"
		"                          put FILE in etcd as the fleet document P/config, or\n"
		"                          as namespace NS's P/namespaces/NS\n"
		"  fleet status --endpoints URL[,URL...] --prefix P [--user NAME:PASSWORD]\n"
		"                          each node's report of the revision it applied\n"
		"  top [--once]            per destination service: requests/s, error rate (5xx),\n"
		"                          p50 and p99 latency over the last second, redrawn\n"
		"                          every second (--once: one sample, printed once)\n"
		"  commands                the daemon's commands: the subsystem that registered\n"
		"                          each, whether it changes state, its help\n"
		"\n"
		"options:\n"
		"  --socket PATH   control socket (default %s)\n"
		"  --json          print the daemon's result as JSON\n"
		"  --timeout MS    give up after MS milliseconds (default %d)\n"
		"  --help          this text\n"
		"\n"
		"exit status: 0 ok, 1 refused by the daemon, 2 usage error, 3 daemon unreachable,\n"
		"             4 the audit found a FAIL\n",
		CTL_DEFAULT_SOCKET, MESHCTL_DEFAULT_TIMEOUT);
}

__attribute__((format(printf, 1, 2))) static int meshctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "meshctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'meshctl --help'.\n");
	return MESHCTL_EXIT_USAGE;
}

/* Read a whole config file. @return malloc'd text or NULL with a message printed. */
static char *meshctl_read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "meshctl: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CTL_TEXT_MAX + 1);
	if (buf == NULL) {
		fprintf(stderr, "meshctl: out of memory\n");
		goto out;
	}
	n = fread(buf, 1, CTL_TEXT_MAX + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "meshctl: cannot read %s: %s\n", path, strerror(errno));
		goto fail;
	}
	if (n > CTL_TEXT_MAX) {
		fprintf(stderr, "meshctl: %s is larger than %u bytes\n", path, CTL_TEXT_MAX);
		goto fail;
	}
	if (memchr(buf, '\0', n) != NULL) {
		fprintf(stderr, "meshctl: %s contains a NUL byte: not a JSON document\n", path);
		goto fail;
	}
	buf[n] = '\0';
	*len = n;
	goto out;
fail:
	free(buf);
	buf = NULL;
out:
	if (f != stdin)
		fclose(f);
	return buf;
}

/* ---------------------------------------------------------------- output */

/* Format a scalar for a table cell. */
static void meshctl_cell(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "yes");
	else if (json_is_false(v))
		snprintf(buf, len, "no");
	else
		snprintf(buf, len, "-");
}

/*
 * Print @p rows (an array of objects) as an aligned table of the fields @p keys
 * under the headers @p heads.
 */
static void meshctl_table(const json_t *rows, const char *const *keys, const char *const *heads,
			  unsigned int ncols)
{
	size_t width[MESHCTL_MAX_COLS];
	char cell[256];
	size_t i;
	json_t *row;

	for (unsigned int k = 0; k < ncols; k++)
		width[k] = strlen(heads[k]);
	json_array_foreach(rows, i, row)
	{
		for (unsigned int k = 0; k < ncols; k++) {
			meshctl_cell(json_object_get(row, keys[k]), cell, sizeof(cell));
			if (strlen(cell) > width[k])
				width[k] = strlen(cell);
		}
	}
	for (unsigned int k = 0; k < ncols; k++)
		printf("%-*s%s", k + 1 < ncols ? (int)width[k] : 0, heads[k],
		       k + 1 < ncols ? "  " : "\n");
	json_array_foreach(rows, i, row)
	{
		for (unsigned int k = 0; k < ncols; k++) {
			meshctl_cell(json_object_get(row, keys[k]), cell, sizeof(cell));
			printf("%-*s%s", k + 1 < ncols ? (int)width[k] : 0, cell,
			       k + 1 < ncols ? "  " : "\n");
		}
	}
}

static void meshctl_print_status(const json_t *r)
{
	static const char *const keys[] = {"version",	    "node",	 "pid",	      "uptime_s",
					   "generation",    "workers",	 "ports",     "profile",
					   "config_source", "log_level", "neighbours"};
	char cell[256];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		meshctl_cell(json_object_get(r, keys[k]), cell, sizeof(cell));
		printf("%-14s %s\n", keys[k], cell);
	}
}

static void meshctl_print_stats(const json_t *r, bool all)
{
	static const char *const wkeys[] = {"id", "lcore", "loops", "sleeps"};
	static const char *const wheads[] = {"WORKER", "LCORE", "LOOPS", "SLEEPS"};
	json_t *counters = json_object_get(r, "counters");
	const char *name;
	json_t *v;
	size_t width = strlen("COUNTER");
	unsigned int shown = 0;

	json_object_foreach(counters, name, v)
	{
		if ((all || json_integer_value(v) != 0) && strlen(name) > width)
			width = strlen(name);
	}
	printf("%-*s  %s\n", (int)width, "COUNTER", "TOTAL");
	json_object_foreach(counters, name, v)
	{
		if (!all && json_integer_value(v) == 0)
			continue;
		printf("%-*s  %" JSON_INTEGER_FORMAT "\n", (int)width, name, json_integer_value(v));
		shown++;
	}
	if (shown == 0)
		printf("(all counters are zero; --all lists them)\n");
	printf("\n");
	meshctl_table(json_object_get(r, "workers"), wkeys, wheads, 4);
}

static void meshctl_print_ports(const json_t *r)
{
	static const char *const keys[] = {"name",	 "port_id",   "device",	  "mac",
					   "mtu",	 "link_up",   "speed",	  "rx_packets",
					   "tx_packets", "rx_bytes",  "tx_bytes", "rx_missed",
					   "rx_errors",	 "tx_errors", "rx_nombuf"};
	static const char *const heads[] = {"NAME",    "ID",	   "DEVICE",   "MAC",
					    "MTU",     "LINK",	   "SPEED",    "RX_PKTS",
					    "TX_PKTS", "RX_BYTES", "TX_BYTES", "RX_MISSED",
					    "RX_ERR",  "TX_ERR",   "RX_NOMBUF"};

	meshctl_table(r, keys, heads, sizeof(keys) / sizeof(keys[0]));
}

static void meshctl_print_neigh(const json_t *r)
{
	static const char *const keys[] = {"address", "port", "vlan", "mac", "state", "age_ms"};
	static const char *const heads[] = {"ADDRESS", "PORT", "VLAN", "MAC", "STATE", "AGE_MS"};

	meshctl_table(r, keys, heads, 6);
}

static void meshctl_print_routes(const json_t *r)
{
	static const char *const keys[] = {"prefix", "type", "interface", "via"};
	static const char *const heads[] = {"PREFIX", "TYPE", "INTERFACE", "VIA"};

	meshctl_table(r, keys, heads, 4);
}

/* ---------------------------------------------------------------- L4 tables */

/* "1.2s", "350ms": a duration for a table cell. */
static void meshctl_ms(json_int_t ms, char *buf, size_t len)
{
	if (ms >= 10000)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "s", ms / 1000);
	else if (ms >= 1000)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT "s", ms / 1000,
			 (ms % 1000) / 100);
	else
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "ms", ms);
}

static json_int_t meshctl_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *meshctl_str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "-";
}

/* "closed", "ejected 12s", "ejected (probe next)", "half-open". */
static void meshctl_breaker(const json_t *o, const char *state_key, char *buf, size_t len)
{
	const char *st = meshctl_str(o, state_key);
	char d[32];

	if (strcmp(st, "ejected") != 0) {
		snprintf(buf, len, "%s", st);
		return;
	}
	if (meshctl_int(o, "ejected_ms") == 0) {
		snprintf(buf, len, "ejected (over: next connection probes)");
		return;
	}
	meshctl_ms(meshctl_int(o, "ejected_ms"), d, sizeof(d));
	snprintf(buf, len, "ejected %s", d);
}

static void meshctl_print_services(const json_t *r)
{
	static const char *const keys[] = {"service", "vip", "ports",  "lb",
					   "nat",     "eps", "active", "limits"};
	static const char *const heads[] = {"SERVICE", "VIP",	 "PORTS",  "LB",
					    "NAT",     "USABLE", "ACTIVE", "LIMITS"};
	json_t *rows = json_array(), *row, *p;
	size_t i, k;

	json_array_foreach(r, i, row)
	{
		char ports[256] = "", lim[256] = "", eps[32];
		size_t o = 0, lo = 0;

		json_array_foreach(json_object_get(row, "ports"), k, p)
		{
			if (o < sizeof(ports))
				o += (size_t)snprintf(
					ports + o, sizeof(ports) - o,
					"%s%" JSON_INTEGER_FORMAT "/%s->%" JSON_INTEGER_FORMAT,
					k ? "," : "", meshctl_int(p, "port"),
					meshctl_str(p, "protocol"), meshctl_int(p, "target_port"));
		}
		json_array_foreach(json_object_get(row, "limits"), k, p)
		{
			if (lo < sizeof(lim))
				lo += (size_t)snprintf(lim + lo, sizeof(lim) - lo, "%s%s",
						       k ? "," : "", json_string_value(p));
		}
		snprintf(eps, sizeof(eps), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 meshctl_int(row, "usable"), meshctl_int(row, "endpoints"));
		json_array_append_new(
			rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "service",
					meshctl_str(row, "service"), "vip", meshctl_str(row, "vip"),
					"ports", ports, "lb", meshctl_str(row, "lb"), "nat",
					meshctl_str(row, "nat"), "eps", eps, "active",
					meshctl_int(row, "active"), "limits", lo ? lim : "-"));
	}
	meshctl_table(rows, keys, heads, sizeof(keys) / sizeof(keys[0]));
	json_decref(rows);
}

static void meshctl_print_endpoints(const json_t *r)
{
	static const char *const keys[] = {"service",	  "endpoint", "weight",	   "labels",
					   "health",	  "breaker",  "active",	   "pending",
					   "connections", "failures", "ejections", "usable"};
	static const char *const heads[] = {"SERVICE", "ENDPOINT", "WEIGHT",	"LABELS",
					    "HEALTH",  "BREAKER",  "ACTIVE",	"PENDING",
					    "CONNS",   "FAILURES", "EJECTIONS", "USABLE"};
	json_t *rows = json_array(), *row, *v;
	const char *lk;
	size_t i;

	json_array_foreach(r, i, row)
	{
		char labels[256] = "", health[64], breaker[64];
		size_t o = 0;
		json_t *out;

		json_object_foreach(json_object_get(row, "labels"), lk, v)
		{
			if (o < sizeof(labels))
				o += (size_t)snprintf(labels + o, sizeof(labels) - o, "%s%s=%s",
						      o ? "," : "", lk, json_string_value(v));
		}
		if (strcmp(meshctl_str(row, "health"), "healthy") == 0)
			snprintf(health, sizeof(health), "healthy (%" JSON_INTEGER_FORMAT " ok)",
				 meshctl_int(row, "health_ok"));
		else if (strcmp(meshctl_str(row, "health"), "unhealthy") == 0)
			snprintf(health, sizeof(health),
				 "unhealthy (%" JSON_INTEGER_FORMAT " failed)",
				 meshctl_int(row, "health_fail"));
		else
			snprintf(health, sizeof(health), "%s", meshctl_str(row, "health"));
		meshctl_breaker(row, "breaker", breaker, sizeof(breaker));
		out = json_deep_copy(row);
		json_object_set_new(out, "labels", json_string(o ? labels : "-"));
		json_object_set_new(out, "health", json_string(health));
		json_object_set_new(out, "breaker", json_string(breaker));
		json_array_append_new(rows, out);
	}
	meshctl_table(rows, keys, heads, sizeof(keys) / sizeof(keys[0]));
	json_decref(rows);
}

static void meshctl_print_breakers(const json_t *r)
{
	static const char *const skeys[] = {
		"service",	    "max_connections",	    "max_pending", "consecutive_failures",
		"base_ejection_ms", "max_ejection_percent", "ejected"};
	static const char *const sheads[] = {"SERVICE",	    "MAX_CONN",	  "MAX_PENDING",
					     "EJECT_AFTER", "BASE_EJECT", "MAX_EJECT_%",
					     "EJECTED"};
	static const char *const ekeys[] = {
		"service",   "endpoint", "state",  "consecutive_failures",
		"ejections", "active",	 "pending"};
	static const char *const eheads[] = {"SERVICE",	  "ENDPOINT", "STATE",	"CONSEC_FAILURES",
					     "EJECTIONS", "ACTIVE",   "PENDING"};
	json_t *svcs = json_array(), *eps = json_array(), *row, *ep;
	size_t i, k;

	json_array_foreach(r, i, row)
	{
		json_t *s = json_deep_copy(row);
		char base[32], ejected[32];

		json_object_del(s, "endpoints");
		meshctl_ms(meshctl_int(row, "base_ejection_ms"), base, sizeof(base));
		json_object_set_new(s, "base_ejection_ms", json_string(base));
		snprintf(ejected, sizeof(ejected), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 meshctl_int(row, "ejected"), meshctl_int(row, "n_endpoints"));
		json_object_set_new(s, "ejected", json_string(ejected));
		json_array_append_new(svcs, s);
		json_array_foreach(json_object_get(row, "endpoints"), k, ep)
		{
			json_t *e = json_deep_copy(ep);
			char state[64];

			meshctl_breaker(ep, "state", state, sizeof(state));
			json_object_set_new(e, "state", json_string(state));
			json_object_set_new(e, "service", json_string(meshctl_str(row, "service")));
			json_array_append_new(eps, e);
		}
	}
	meshctl_table(svcs, skeys, sheads, sizeof(skeys) / sizeof(skeys[0]));
	printf("\n");
	meshctl_table(eps, ekeys, eheads, sizeof(ekeys) / sizeof(ekeys[0]));
	json_decref(svcs);
	json_decref(eps);
}

static void meshctl_print_limits(const json_t *r)
{
	static const char *const keys[] = {"name", "service", "scope",	"conn",
					   "pkt",  "action",  "sources"};
	static const char *const heads[] = {"NAME",	     "SERVICE", "SCOPE",  "CONN/S (BURST)",
					    "PKT/S (BURST)", "ACTION",	"SOURCES"};
	json_t *rows = json_array(), *row;
	size_t i;

	json_array_foreach(r, i, row)
	{
		json_t *out = json_deep_copy(row);
		char conn[64] = "-", pkt[64] = "-";

		if (meshctl_int(row, "connections_per_s") != 0)
			snprintf(conn, sizeof(conn),
				 "%" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT ")",
				 meshctl_int(row, "connections_per_s"),
				 meshctl_int(row, "connections_burst"));
		if (meshctl_int(row, "packets_per_s") != 0)
			snprintf(pkt, sizeof(pkt),
				 "%" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT ")",
				 meshctl_int(row, "packets_per_s"),
				 meshctl_int(row, "packets_burst"));
		json_object_set_new(out, "conn", json_string(conn));
		json_object_set_new(out, "pkt", json_string(pkt));
		json_array_append_new(rows, out);
	}
	meshctl_table(rows, keys, heads, sizeof(keys) / sizeof(keys[0]));
	json_decref(rows);
}

static void meshctl_print_flows(const json_t *r)
{
	static const char *const keys[] = {"worker", "proto", "state", "forward",  "reply",
					   "target", "pkts",  "bytes", "expires_s"};
	static const char *const heads[] = {"WORKER",	      "PROTO",		 "STATE",
					    "FORWARD",	      "REPLY",		 "SERVICE/ENDPOINT",
					    "PKTS (FWD/REV)", "BYTES (FWD/REV)", "EXPIRES_S"};
	json_t *rows = json_array(), *row;
	size_t i;

	json_array_foreach(json_object_get(r, "flows"), i, row)
	{
		json_t *out = json_deep_copy(row);
		char target[256], pkts[64], bytes[64];

		if (json_is_string(json_object_get(row, "service")))
			snprintf(target, sizeof(target), "%s %s", meshctl_str(row, "service"),
				 meshctl_str(row, "endpoint"));
		else if (json_is_string(json_object_get(row, "external")))
			snprintf(target, sizeof(target), "external %s",
				 meshctl_str(row, "external"));
		else
			snprintf(target, sizeof(target), "-");
		snprintf(pkts, sizeof(pkts), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 meshctl_int(row, "packets_fwd"), meshctl_int(row, "packets_rev"));
		snprintf(bytes, sizeof(bytes), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 meshctl_int(row, "bytes_fwd"), meshctl_int(row, "bytes_rev"));
		json_object_set_new(out, "target", json_string(target));
		json_object_set_new(out, "pkts", json_string(pkts));
		json_object_set_new(out, "bytes", json_string(bytes));
		json_array_append_new(rows, out);
	}
	meshctl_table(rows, keys, heads, sizeof(keys) / sizeof(keys[0]));
	if (json_is_true(json_object_get(r, "truncated")))
		printf("(more flows than shown: raise --limit or filter with --service)\n");
}

/* ---------------------------------------------------------------- TCP */

/* "1.2s", "35.1ms", "850us": a duration in microseconds for a table cell. */
static void meshctl_us(json_int_t us, char *buf, size_t len)
{
	if (us >= 1000000)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT "s",
			 us / 1000000, (us % 1000000) / 100000);
	else if (us >= 1000)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT "ms", us / 1000,
			 (us % 1000) / 100);
	else
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "us", us);
}

/* One column per worker after the total: STATE TOTAL W0 W1 ... */
static void meshctl_print_tcp_stats(const json_t *r)
{
	const json_t *states = json_object_get(r, "states");
	const json_t *workers = json_object_get(r, "workers");
	const json_t *counters = json_object_get(r, "counters");
	size_t width = strlen("STATE"), i;
	const char *name;
	json_t *v, *w;

	json_object_foreach((json_t *)states, name, v)
	{
		if (strlen(name) > width)
			width = strlen(name);
	}
	printf("%-*s  %8s", (int)width, "STATE", "TOTAL");
	json_array_foreach(workers, i, w)
	{
		char head[32];

		snprintf(head, sizeof(head), "W%" JSON_INTEGER_FORMAT, meshctl_int(w, "worker"));
		printf("  %8s", head);
	}
	printf("\n");
	json_object_foreach((json_t *)states, name, v)
	{
		printf("%-*s  %8" JSON_INTEGER_FORMAT, (int)width, name, json_integer_value(v));
		json_array_foreach(workers, i, w)
			printf("  %8" JSON_INTEGER_FORMAT,
			       meshctl_int(json_object_get(w, "states"), name));
		printf("\n");
	}
	printf("\n");
	width = strlen("COUNTER");
	json_object_foreach((json_t *)counters, name, v)
	{
		if (strlen(name) > width)
			width = strlen(name);
	}
	printf("%-*s  %s\n", (int)width, "COUNTER", "TOTAL");
	json_object_foreach((json_t *)counters, name, v)
		printf("%-*s  %" JSON_INTEGER_FORMAT "\n", (int)width, name, json_integer_value(v));
}

static void meshctl_print_tcp_conns(const json_t *r)
{
	static const char *const keys[] = {"worker", "local", "remote", "state",      "cwnd",
					   "srtt",   "rto",   "queues", "retransmits"};
	static const char *const heads[] = {"WORKER", "LOCAL", "REMOTE", "STATE",
					    "CWND",   "SRTT",  "RTO",	 "QUEUES (SND/RCV/OOO)",
					    "RETRANS"};
	json_t *rows = json_array(), *row;
	size_t i;

	json_array_foreach(json_object_get(r, "conns"), i, row)
	{
		json_t *out = json_deep_copy(row);
		char srtt[32], rto[32], queues[96];

		meshctl_us(meshctl_int(row, "srtt_us"), srtt, sizeof(srtt));
		meshctl_us(meshctl_int(row, "rto_us"), rto, sizeof(rto));
		snprintf(queues, sizeof(queues),
			 "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 meshctl_int(row, "send_queued"), meshctl_int(row, "recv_queued"),
			 meshctl_int(row, "ooo_queued"));
		json_object_set_new(out, "srtt", json_string(srtt));
		json_object_set_new(out, "rto", json_string(rto));
		json_object_set_new(out, "queues", json_string(queues));
		json_array_append_new(rows, out);
	}
	meshctl_table(rows, keys, heads, sizeof(keys) / sizeof(keys[0]));
	json_decref(rows);
	if (json_is_true(json_object_get(r, "truncated")))
		printf("(more connections than shown: raise --limit or filter with --state)\n");
}

static void meshctl_print_authn(const json_t *r)
{
	const json_t *e;
	size_t i;

	printf("%-16s %-20s %-4s %-11s %-48s %s\n", "LISTENER", "SERVICE", "SNI", "MODE",
	       "IDENTITY", "FROM");
	json_array_foreach(json_object_get(r, "identities"), i, e)
	{
		printf("%-16s %-20s %-4" JSON_INTEGER_FORMAT " %-11s %-48s %s\n",
		       meshctl_str(e, "listener"),
		       meshctl_str(e, "service")[0] ? meshctl_str(e, "service") : "-",
		       meshctl_int(e, "sni"), meshctl_str(e, "mode"), meshctl_str(e, "identity"),
		       meshctl_str(e, "from"));
	}
}

static void meshctl_print_authz(const json_t *r)
{
	const json_t *e;
	size_t i;

	printf("%-32s %-6s %-9s %-12s %6s %10s %10s %10s\n", "POLICY", "ACTION", "SCOPE", "SERVICE",
	       "RULES", "ALLOWED", "DENIED", "AUDITED");
	json_array_foreach(json_object_get(r, "policies"), i, e)
	{
		printf("%-32s %-6s %-9s %-12s %6" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT
		       " %10" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT "\n",
		       meshctl_str(e, "policy"), meshctl_str(e, "action"), meshctl_str(e, "scope"),
		       meshctl_str(e, "service")[0] ? meshctl_str(e, "service") : "-",
		       meshctl_int(e, "rules"), meshctl_int(e, "allowed"), meshctl_int(e, "denied"),
		       meshctl_int(e, "audited"));
	}
	printf("\n%-32s %8s %s\n", "SERVICE", "CLAUSES", "DEFAULT");
	json_array_foreach(json_object_get(r, "services"), i, e)
	{
		printf("%-32s %8" JSON_INTEGER_FORMAT " %s\n", meshctl_str(e, "service"),
		       meshctl_int(e, "clauses"),
		       json_is_true(json_object_get(e, "default_deny")) ? "deny" : "allow");
	}
}

static void meshctl_print_jwt(const json_t *r)
{
	const json_t *e, *ru;
	const char *key;
	size_t i, k;

	printf("%-28s %-9s %-12s %-40s %-6s %s\n", "POLICY", "SCOPE", "SERVICE", "ISSUER", "KEYS",
	       "JWKS");
	json_array_foreach(json_object_get(r, "policies"), i, e)
	{
		json_array_foreach(json_object_get(e, "rules"), k, ru)
		{
			printf("%-28s %-9s %-12s %-40s %-6zu %s\n", meshctl_str(e, "policy"),
			       meshctl_str(e, "scope"),
			       meshctl_str(e, "service")[0] ? meshctl_str(e, "service") : "-",
			       meshctl_str(ru, "issuer"),
			       json_array_size(json_object_get(ru, "keys")),
			       meshctl_str(ru, "source"));
		}
	}
	printf("\n%-48s %8s %8s %6s %s\n", "JWKS_URI", "FETCHED", "FAILED", "KEYS", "LAST ERROR");
	json_array_foreach(json_object_get(r, "jwks_uris"), i, e)
	{
		printf("%-48s %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %6zu %s\n",
		       meshctl_str(e, "uri"), meshctl_int(e, "fetched"), meshctl_int(e, "failed"),
		       json_array_size(json_object_get(e, "keys")), meshctl_str(e, "last_error"));
	}
	printf("\n");
	json_object_foreach(json_object_get(r, "counters"), key, e)
		printf("%-36s %" JSON_INTEGER_FORMAT "\n", key, json_integer_value(e));
	printf("%-36s %" JSON_INTEGER_FORMAT "\n", "replay_cache_live",
	       meshctl_int(r, "replay_cache_live"));
}

static void meshctl_print_tls_conns(const json_t *r)
{
	static const char *const keys[] = {"worker",  "role", "remote", "peer_id", "peer_serial",
					   "expires", "age",  "serial", "version"};
	static const char *const heads[] = {"WORKER", "ROLE",	     "REMOTE",
					    "PEER",   "PEER SERIAL", "PEER EXPIRES",
					    "AGE",    "OUR SERIAL",  "VERSION"};
	json_t *rows = json_array(), *row;
	size_t i;

	json_array_foreach(json_object_get(r, "conns"), i, row)
	{
		json_t *out = json_deep_copy(row);
		const time_t t = (time_t)meshctl_int(row, "peer_not_after");
		char exp[32] = "-", age[32];
		struct tm tm;

		if (t != 0 && gmtime_r(&t, &tm) != NULL)
			strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(age, sizeof(age), "%" JSON_INTEGER_FORMAT " s", meshctl_int(row, "age_s"));
		json_object_set_new(out, "expires", json_string(exp));
		json_object_set_new(out, "age", json_string(age));
		json_array_append_new(rows, out);
	}
	meshctl_table(rows, keys, heads, sizeof(keys) / sizeof(keys[0]));
	json_decref(rows);
	if (json_is_true(json_object_get(r, "truncated")))
		printf("(more connections than shown: raise --limit)\n");
}

static void meshctl_print_commands(const json_t *r)
{
	static const char *const keys[] = {"cmd", "subsystem", "changes_state", "help"};
	static const char *const heads[] = {"COMMAND", "SUBSYSTEM", "WRITES", "HELP"};

	meshctl_table(r, keys, heads, 4);
}

/* Unix seconds as "2026-12-03T21:58:20Z". */
static void meshctl_time(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, t);
}

static void meshctl_print_secrets(const json_t *r)
{
	static const char *const keys[] = {"name", "spiffe_id", "serial", "expires", "source"};
	static const char *const heads[] = {"NAME", "SPIFFE ID", "SERIAL", "NOT AFTER", "SOURCE"};
	static const char *const tkeys[] = {"name", "certificates", "source"};
	static const char *const theads[] = {"TRUST DOMAIN", "CERTIFICATES", "SOURCE"};
	json_t *rows, *row;
	size_t i;

	if (!json_is_true(json_object_get(r, "section"))) {
		printf("no $.secrets in the live configuration\n");
		return;
	}
	rows = json_array();
	json_array_foreach(json_object_get(r, "secrets"), i, row)
	{
		json_t *out = json_deep_copy(row);
		char t[32];

		meshctl_time(meshctl_int(row, "not_after"), t, sizeof(t));
		json_object_set_new(out, "expires", json_string(t));
		json_array_append_new(rows, out);
	}
	meshctl_table(rows, keys, heads, sizeof(keys) / sizeof(keys[0]));
	json_decref(rows);
	printf("\n");
	meshctl_table(json_object_get(r, "trust_domains"), tkeys, theads, 3);
	printf("\nmax_lifetime_hours %" JSON_INTEGER_FORMAT ", on_long_lifetime %s\n",
	       meshctl_int(r, "max_lifetime_hours"), meshctl_str(r, "on_long_lifetime"));
}

/* ---------------------------------------------------------------- commands */

/* "prefix /api/ GET,POST +2 headers +1 query": a route's match on one line. */
static void meshctl_http_match(const json_t *m, char *buf, size_t len)
{
	static const char *const kinds[] = {"prefix", "path", "regex"};
	size_t o = 0;
	size_t i;
	json_t *v;

	buf[0] = '\0';
	for (size_t k = 0; k < 3; k++)
		if (json_object_get(m, kinds[k]) != NULL)
			o += (size_t)snprintf(buf + o, len - o, "%s %s", kinds[k],
					      meshctl_str(m, kinds[k]));
	if (o < len && json_is_false(json_object_get(m, "case_sensitive")))
		o += (size_t)snprintf(buf + o, len - o, " (any case)");
	json_array_foreach(json_object_get(m, "methods"), i, v) if (o < len) o += (size_t)snprintf(
		buf + o, len - o, "%s%s", i == 0 ? " " : ",", json_string_value(v));
	if (o < len && json_array_size(json_object_get(m, "headers")) != 0)
		o += (size_t)snprintf(buf + o, len - o, " +%zu headers",
				      json_array_size(json_object_get(m, "headers")));
	if (o < len && json_array_size(json_object_get(m, "query")) != 0)
		snprintf(buf + o, len - o, " +%zu query",
			 json_array_size(json_object_get(m, "query")));
}

/* "shop/web:80 90, shop/web2:80 10", "redirect 301 https://...", "direct 200 (3 bytes)". */
static void meshctl_http_action(const json_t *rt, char *buf, size_t len)
{
	const char *action = meshctl_str(rt, "action");
	const json_t *rd = json_object_get(rt, "redirect");
	size_t o = 0, i;
	json_t *c;

	buf[0] = '\0';
	if (strcmp(action, "redirect") == 0) {
		static const char *const keys[] = {"scheme", "host", "port", "path",
						   "prefix_rewrite"};

		o = (size_t)snprintf(buf, len, "redirect %" JSON_INTEGER_FORMAT,
				     meshctl_int(rd, "code"));
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && o < len; k++) {
			const json_t *v = json_object_get(rd, keys[k]);

			if (json_is_string(v) && json_string_length(v) != 0)
				o += (size_t)snprintf(buf + o, len - o, " %s %s", keys[k],
						      json_string_value(v));
			else if (json_is_integer(v) && json_integer_value(v) != 0)
				o += (size_t)snprintf(buf + o, len - o, " %s %" JSON_INTEGER_FORMAT,
						      keys[k], json_integer_value(v));
		}
		return;
	}
	if (strcmp(action, "direct_response") == 0) {
		const json_t *d = json_object_get(rt, "direct_response");

		snprintf(buf, len,
			 "direct %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " bytes)",
			 meshctl_int(d, "status"), meshctl_int(d, "body_bytes"));
		return;
	}
	json_array_foreach(json_object_get(rt, "clusters"), i, c)
	{
		if (o >= len)
			break;
		o += (size_t)snprintf(buf + o, len - o, "%s%s:%" JSON_INTEGER_FORMAT, i ? ", " : "",
				      meshctl_str(c, "cluster"), meshctl_int(c, "port"));
		if (strcmp(action, "weighted_clusters") == 0 && o < len)
			o += (size_t)snprintf(buf + o, len - o, " %" JSON_INTEGER_FORMAT,
					      meshctl_int(c, "weight"));
	}
	if (o < len && *meshctl_str(rt, "prefix_rewrite") != '\0')
		o += (size_t)snprintf(buf + o, len - o, " rewrite %s",
				      meshctl_str(rt, "prefix_rewrite"));
	if (o < len && json_object_get(rt, "retry_policy") != NULL)
		snprintf(buf + o, len - o, " retries %" JSON_INTEGER_FORMAT,
			 meshctl_int(json_object_get(rt, "retry_policy"), "num_retries"));
}

static void meshctl_print_audit(const json_t *r)
{
	static const char *const keys[] = {"result", "requirement", "path", "reason"};
	static const char *const heads[] = {"RESULT", "REQUIREMENT", "PATH", "REASON"};

	meshctl_table(json_object_get(r, "findings"), keys, heads, 4);
	printf("%" JSON_INTEGER_FORMAT " pass, %" JSON_INTEGER_FORMAT " warn, %" JSON_INTEGER_FORMAT
	       " fail\n",
	       meshctl_int(r, "pass"), meshctl_int(r, "warn"), meshctl_int(r, "fail"));
}

/*
 * "fleet publish ... FILE" and "fleet status ...": meshctl talks to etcd, not to
 * the daemon. @return the exit status.
 */
static int meshctl_fleet(int argc, char **argv, const struct meshctl_opts *o)
{
	const char *endpoints = NULL, *prefix = NULL, *file = NULL, *ns = NULL, *user = NULL;
	bool publish = argc > 1 && strcmp(argv[1], "publish") == 0;
	char err[512];

	if (argc < 2 || (!publish && strcmp(argv[1], "status") != 0))
		return meshctl_usage_error("fleet: expected publish or status");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--endpoints") == 0 && i + 1 < argc)
			endpoints = argv[++i];
		else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
			prefix = argv[++i];
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (publish && strcmp(argv[i], "--namespace") == 0 && i + 1 < argc)
			ns = argv[++i];
		else if (publish && file == NULL && argv[i][0] != '-')
			file = argv[i];
		else
			return meshctl_usage_error("fleet %s: unexpected '%s'", argv[1], argv[i]);
	}
	if (endpoints == NULL || prefix == NULL || (publish && file == NULL))
		return meshctl_usage_error("fleet %s needs --endpoints, --prefix%s", argv[1],
					   publish ? " and FILE" : "");
	if (user != NULL && fleet_login(endpoints, user, err, sizeof(err)) != 0) {
		fprintf(stderr, "meshctl: %s\n", err);
		return MESHCTL_EXIT_REFUSED;
	}
	if (publish) {
		size_t len = 0;
		char *text = meshctl_read_file(file, &len);
		json_t *doc;
		long long rev;

		if (text == NULL)
			return MESHCTL_EXIT_REFUSED;
		doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(doc)) {
			fprintf(stderr, "meshctl: %s is not a JSON object\n", file);
			json_decref(doc);
			free(text);
			return MESHCTL_EXIT_REFUSED;
		}
		json_decref(doc);
		rev = fleet_publish(endpoints, prefix, ns, text, len, err, sizeof(err));
		free(text);
		if (rev < 0) {
			fprintf(stderr, "meshctl: %s\n", err);
			return strstr(err, ": HTTP ") != NULL ? MESHCTL_EXIT_REFUSED
							      : MESHCTL_EXIT_UNREACHABLE;
		}
		if (o->json)
			printf("{\"revision\": %lld}\n", rev);
		else if (ns != NULL)
			printf("published %s/namespaces/%s: revision %lld\n", prefix, ns, rev);
		else
			printf("published %s/config: revision %lld\n", prefix, rev);
		return MESHCTL_EXIT_OK;
	}
	json_t *st = fleet_status(endpoints, prefix, err, sizeof(err));
	static const char *const keys[] = {"node",   "revision",	"result", "generation",
					   "source", "applied_unix_ms", "error"};
	static const char *const heads[] = {"NODE",   "REVISION",   "RESULT", "GENERATION",
					    "SOURCE", "APPLIED_MS", "ERROR"};

	if (st == NULL) {
		fprintf(stderr, "meshctl: %s\n", err);
		return MESHCTL_EXIT_UNREACHABLE;
	}
	if (o->json) {
		char *s = json_dumps(st, JSON_INDENT(2));

		printf("%s\n", s != NULL ? s : "");
		free(s);
	} else {
		printf("fleet document %s/config: revision %" JSON_INTEGER_FORMAT "\n", prefix,
		       meshctl_int(st, "revision"));
		meshctl_table(json_object_get(st, "nodes"), keys, heads, 7);
	}
	json_decref(st);
	return MESHCTL_EXIT_OK;
}

static void meshctl_print_http_routes(const json_t *r)
{
	size_t i, j, k;
	json_t *cfg, *vh, *rt, *d;

	json_array_foreach(json_object_get(r, "route_configs"), i, cfg)
	{
		const json_t *b = json_object_get(cfg, "retry_budget");

		printf("%sroute config %s", i ? "\n" : "", meshctl_str(cfg, "name"));
		if (json_is_object(b))
			printf(" (retry budget %" JSON_INTEGER_FORMAT
			       "%%, at least %" JSON_INTEGER_FORMAT ")",
			       meshctl_int(b, "budget_percent"),
			       meshctl_int(b, "min_retry_concurrency"));
		printf("\n");
		json_array_foreach(json_object_get(cfg, "virtual_hosts"), j, vh)
		{
			printf("  virtual host %s:", meshctl_str(vh, "name"));
			json_array_foreach(json_object_get(vh, "domains"), k, d)
				printf("%s%s", k ? ", " : " ", json_string_value(d));
			printf("\n");
			json_array_foreach(json_object_get(vh, "routes"), k, rt)
			{
				char m[512], a[512];

				meshctl_http_match(json_object_get(rt, "match"), m, sizeof(m));
				meshctl_http_action(rt, a, sizeof(a));
				printf("    %-3zu %-12s %-40s -> %s\n", k,
				       *meshctl_str(rt, "name") ? meshctl_str(rt, "name") : "-", m,
				       a);
			}
		}
	}
	printf("%sregexes: %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " without JIT)\n",
	       json_array_size(json_object_get(r, "route_configs")) ? "\n" : "",
	       meshctl_int(r, "regexes"), meshctl_int(r, "regexes_interpreted"));
}

static void meshctl_print_http_route_test(const json_t *r)
{
	const json_t *rt = json_object_get(r, "route");
	char m[512], a[512];

	printf("virtual host  %s\n", json_is_string(json_object_get(r, "virtual_host"))
					     ? meshctl_str(r, "virtual_host")
					     : "- (none)");
	if (!json_is_object(rt)) {
		printf("route         - (%s: 404)\n", meshctl_str(r, "reason"));
		return;
	}
	meshctl_http_match(json_object_get(rt, "match"), m, sizeof(m));
	meshctl_http_action(rt, a, sizeof(a));
	printf("route         %" JSON_INTEGER_FORMAT " %s\n", meshctl_int(rt, "index"),
	       *meshctl_str(rt, "name") ? meshctl_str(rt, "name") : "");
	printf("match         %s\n", m);
	printf("action        %s\n", a);
	if (json_object_get(r, "upstream_path") != NULL)
		printf("upstream path %s\n", meshctl_str(r, "upstream_path"));
	if (json_object_get(r, "status") != NULL)
		printf("status        %" JSON_INTEGER_FORMAT "\n", meshctl_int(r, "status"));
	if (json_is_string(json_object_get(r, "location")))
		printf("location      %s\n", meshctl_str(r, "location"));
	if (json_is_object(json_object_get(r, "cors"))) {
		const json_t *h = json_object_get(json_object_get(r, "cors"), "headers"), *v;
		size_t i;

		printf("cors          %s\n", meshctl_str(json_object_get(r, "cors"), "result"));
		json_array_foreach(h, i, v) printf("              %s\n", json_string_value(v));
	}
}

enum meshctl_cmd {
	MESHCTL_STATUS,
	MESHCTL_STATS,
	MESHCTL_PORTS,
	MESHCTL_NEIGH,
	MESHCTL_ROUTES,
	MESHCTL_SERVICES,
	MESHCTL_ENDPOINTS,
	MESHCTL_BREAKERS,
	MESHCTL_LIMITS,
	MESHCTL_FLOWS,
	MESHCTL_TCP_STATS,
	MESHCTL_TCP_CONNS,
	MESHCTL_TLS_CONNS,
	MESHCTL_HTTP_ROUTES,
	MESHCTL_HTTP_ROUTE_TEST,
	MESHCTL_CFG_VALIDATE,
	MESHCTL_CFG_APPLY,
	MESHCTL_CFG_APPLY_NS,
	MESHCTL_CFG_SHOW,
	MESHCTL_CFG_ROLLBACK,
	MESHCTL_LOG_LEVEL,
	MESHCTL_TUNE,
	MESHCTL_COMMANDS,
	MESHCTL_SECRET_LIST,
	MESHCTL_SECRET_APPLY,
	MESHCTL_SECRET_BUNDLE,
	MESHCTL_AUDIT,
	MESHCTL_ETCD,
	MESHCTL_AUTHN,
	MESHCTL_AUTHZ,
	MESHCTL_JWT,
};

/*
 * Put file @p path's text as member @p key of @p req. @return 0, or an exit
 * code with a message printed.
 */
static int meshctl_add_file(json_t *req, const char *key, const char *path)
{
	size_t len = 0;
	char *text = meshctl_read_file(path, &len);
	json_t *v;

	if (text == NULL)
		return MESHCTL_EXIT_REFUSED;
	v = json_stringn(text, len);
	free(text);
	if (v == NULL) {
		fprintf(stderr, "meshctl: %s is not PEM text\n", path);
		return MESHCTL_EXIT_REFUSED;
	}
	json_object_set_new(req, key, v);
	return MESHCTL_EXIT_OK;
}

/*
 * "secret list", "secret apply NAME --cert F --key F", "secret bundle TD
 * --bundle F": meshctl reads the files and sends their PEM text.
 * @return exit code (0: *req set).
 */
static int meshctl_build_secret(int argc, char **argv, enum meshctl_cmd *cmd, json_t **req)
{
	const char *sub = argc > 1 ? argv[1] : "";
	const char *cert = NULL, *key = NULL, *bundle = NULL;
	bool apply = strcmp(sub, "apply") == 0;
	int rc;

	if (strcmp(sub, "list") == 0) {
		if (argc != 2)
			return meshctl_usage_error("secret list takes no arguments");
		*cmd = MESHCTL_SECRET_LIST;
		*req = json_pack("{s:s}", "cmd", "secret.list");
		return MESHCTL_EXIT_OK;
	}
	if (!apply && strcmp(sub, "bundle") != 0)
		return meshctl_usage_error("secret: expected 'secret list', 'secret apply NAME "
					   "--cert FILE --key FILE' or 'secret bundle TD --bundle "
					   "FILE'");
	if (argc < 3 || argv[2][0] == '-')
		return meshctl_usage_error("secret %s: expected %s first", sub,
					   apply ? "the identity's NAME" : "the trust domain TD");
	for (int i = 3; i < argc; i++) {
		const char **dst = NULL;

		if (apply && strcmp(argv[i], "--cert") == 0)
			dst = &cert;
		else if (apply && strcmp(argv[i], "--key") == 0)
			dst = &key;
		else if (!apply && strcmp(argv[i], "--bundle") == 0)
			dst = &bundle;
		if (dst == NULL || i + 1 >= argc)
			return meshctl_usage_error(
				"secret %s: unexpected argument '%s' (expected "
				"%s)",
				sub, argv[i], apply ? "--cert FILE --key FILE" : "--bundle FILE");
		*dst = argv[++i];
	}
	if (apply ? cert == NULL || key == NULL : bundle == NULL)
		return meshctl_usage_error("secret %s: expected %s", sub,
					   apply ? "--cert FILE and --key FILE" : "--bundle FILE");
	*cmd = apply ? MESHCTL_SECRET_APPLY : MESHCTL_SECRET_BUNDLE;
	*req = json_pack("{s:s, s:s}", "cmd", apply ? "secret.apply" : "secret.bundle",
			 apply ? "name" : "trust_domain", argv[2]);
	if (*req == NULL)
		return MESHCTL_EXIT_OK; /* not UTF-8: reported by the caller */
	rc = apply ? meshctl_add_file(*req, "cert", cert)
		   : meshctl_add_file(*req, "bundle", bundle);
	if (rc == MESHCTL_EXIT_OK && apply)
		rc = meshctl_add_file(*req, "key", key);
	if (rc != MESHCTL_EXIT_OK) {
		json_decref(*req);
		*req = NULL;
	}
	return rc;
}

/* "tcp stats" / "tcp conns [--state S] [--limit N]". @return exit code (0: *req set). */
static int meshctl_build_tcp(int argc, char **argv, enum meshctl_cmd *cmd, json_t **req)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "stats") == 0) {
		if (argc != 2)
			return meshctl_usage_error("tcp stats takes no arguments");
		*cmd = MESHCTL_TCP_STATS;
		*req = json_pack("{s:s}", "cmd", "tcp_stats");
		return MESHCTL_EXIT_OK;
	}
	if (strcmp(sub, "conns") != 0)
		return meshctl_usage_error("tcp: expected 'tcp stats' or 'tcp conns'");
	*cmd = MESHCTL_TCP_CONNS;
	*req = json_pack("{s:s}", "cmd", "tcp_conns");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
			/* the daemon knows the state names and refuses others */
			json_t *name = json_string(argv[++i]);

			if (name == NULL) { /* not UTF-8: reported by the caller */
				json_decref(*req);
				*req = NULL;
				break;
			}
			json_object_set_new(*req, "state", name);
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			char *end;
			long v;

			errno = 0;
			v = strtol(argv[++i], &end, 10);
			if (errno != 0 || end == argv[i] || *end != '\0' || v < 1 || v > 10000) {
				json_decref(*req);
				*req = NULL;
				return meshctl_usage_error(
					"tcp conns: --limit '%s' is not a number in 1..10000",
					argv[i]);
			}
			json_object_set_new(*req, "limit", json_integer(v));
		} else {
			json_decref(*req);
			*req = NULL;
			return meshctl_usage_error("tcp conns: unexpected argument '%s' (expected "
						   "--state S, --limit N)",
						   argv[i]);
		}
	}
	return MESHCTL_EXIT_OK;
}

/*
 * "http routes [NAME]" / "http route-test CONFIG HOST PATH [METHOD] [-H NAME:VALUE]...".
 * @return exit code (0: *req set, NULL when an argument is not UTF-8).
 */
static int meshctl_build_http(int argc, char **argv, enum meshctl_cmd *cmd, json_t **req)
{
	const char *sub = argc > 1 ? argv[1] : "";
	json_t *headers;
	int pos = 0;

	if (strcmp(sub, "routes") == 0) {
		if (argc > 3)
			return meshctl_usage_error("http routes takes at most one NAME");
		*cmd = MESHCTL_HTTP_ROUTES;
		*req = argc == 3 ? json_pack("{s:s, s:s}", "cmd", "http_routes", "name", argv[2])
				 : json_pack("{s:s}", "cmd", "http_routes");
		return MESHCTL_EXIT_OK;
	}
	if (strcmp(sub, "route-test") != 0)
		return meshctl_usage_error("http: expected 'http routes' or 'http route-test'");
	*cmd = MESHCTL_HTTP_ROUTE_TEST;
	*req = json_pack("{s:s}", "cmd", "http_route_test");
	headers = json_array();
	for (int i = 2; *req != NULL && i < argc; i++) {
		static const char *const keys[] = {"config", "host", "path", "method"};
		json_t *v;

		if (strcmp(argv[i], "-H") == 0) {
			if (++i == argc || strchr(argv[i], ':') == NULL) {
				json_decref(*req);
				json_decref(headers);
				*req = NULL;
				return meshctl_usage_error("http route-test: -H needs NAME:VALUE");
			}
			v = json_string(argv[i]);
			if (v == NULL || json_array_append_new(headers, v) != 0)
				goto not_utf8;
			continue;
		}
		if (pos == 4) {
			json_decref(*req);
			json_decref(headers);
			*req = NULL;
			return meshctl_usage_error("http route-test: unexpected argument '%s'",
						   argv[i]);
		}
		v = json_string(argv[i]);
		if (v == NULL || json_object_set_new(*req, keys[pos++], v) != 0)
			goto not_utf8;
	}
	if (pos < 3) {
		json_decref(*req);
		json_decref(headers);
		*req = NULL;
		return meshctl_usage_error("http route-test needs CONFIG HOST PATH");
	}
	json_object_set_new(*req, "headers", headers);
	return MESHCTL_EXIT_OK;
not_utf8: /* reported by the caller */
	json_decref(*req);
	json_decref(headers);
	*req = NULL;
	return MESHCTL_EXIT_OK;
}

/* Build the request for argv[0..argc). @return exit code (0: *req set). */
static int meshctl_build(int argc, char **argv, struct meshctl_opts *o, enum meshctl_cmd *cmd,
			 json_t **req)
{
	const char *c = argv[0];

	*req = NULL;
	if (strcmp(c, "status") == 0 || strcmp(c, "ports") == 0 || strcmp(c, "neigh") == 0 ||
	    strcmp(c, "routes") == 0) {
		if (argc != 1)
			return meshctl_usage_error("%s takes no arguments", c);
		*cmd = c[0] == 's'   ? MESHCTL_STATUS
		       : c[0] == 'p' ? MESHCTL_PORTS
		       : c[0] == 'n' ? MESHCTL_NEIGH
				     : MESHCTL_ROUTES;
		*req = json_pack("{s:s}", "cmd", c);
	} else if (strcmp(c, "services") == 0 || strcmp(c, "breakers") == 0 ||
		   strcmp(c, "limits") == 0) {
		if (argc != 1)
			return meshctl_usage_error("%s takes no arguments", c);
		*cmd = c[0] == 's'   ? MESHCTL_SERVICES
		       : c[0] == 'b' ? MESHCTL_BREAKERS
				     : MESHCTL_LIMITS;
		*req = json_pack("{s:s}", "cmd", c);
	} else if (strcmp(c, "endpoints") == 0 || strcmp(c, "flows") == 0) {
		const bool flows = c[0] == 'f';

		*req = json_pack("{s:s}", "cmd", c);
		if (*req == NULL)
			return MESHCTL_EXIT_USAGE;
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--service") == 0 && i + 1 < argc) {
				json_t *name = json_string(argv[++i]);

				if (name == NULL) { /* not UTF-8: reported below */
					json_decref(*req);
					*req = NULL;
					break;
				}
				json_object_set_new(*req, "service", name);
			} else if (flows && strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
				char *end;
				long v;

				errno = 0;
				v = strtol(argv[++i], &end, 10);
				if (errno != 0 || end == argv[i] || *end != '\0' || v < 1 ||
				    v > 10000) {
					json_decref(*req);
					*req = NULL;
					return meshctl_usage_error(
						"flows: --limit '%s' is not a number in 1..10000",
						argv[i]);
				}
				json_object_set_new(*req, "limit", json_integer(v));
			} else {
				json_decref(*req);
				*req = NULL;
				return meshctl_usage_error("%s: unexpected argument '%s'%s", c,
							   argv[i],
							   flows ? " (expected --service S, "
								   "--limit N)"
								 : " (expected --service S)");
			}
		}
		*cmd = flows ? MESHCTL_FLOWS : MESHCTL_ENDPOINTS;
	} else if (strcmp(c, "http") == 0) {
		int rc = meshctl_build_http(argc, argv, cmd, req);

		if (rc != MESHCTL_EXIT_OK)
			return rc;
	} else if (strcmp(c, "tcp") == 0) {
		int rc = meshctl_build_tcp(argc, argv, cmd, req);

		if (rc != MESHCTL_EXIT_OK)
			return rc;
	} else if (strcmp(c, "tls") == 0) {
		if (argc < 2 || strcmp(argv[1], "conns") != 0)
			return meshctl_usage_error("tls: expected 'tls conns'");
		*cmd = MESHCTL_TLS_CONNS;
		*req = json_pack("{s:s}", "cmd", "tls_conns");
		if (argc == 4 && strcmp(argv[2], "--limit") == 0) {
			char *end;
			long v = strtol(argv[3], &end, 10);

			if (end == argv[3] || *end != '\0' || v < 1 || v > 10000) {
				json_decref(*req);
				*req = NULL;
				return meshctl_usage_error(
					"tls conns: --limit '%s' is not a number in 1..10000",
					argv[3]);
			}
			json_object_set_new(*req, "limit", json_integer(v));
		} else if (argc != 2) {
			json_decref(*req);
			*req = NULL;
			return meshctl_usage_error("tls conns: expected --limit N or nothing");
		}
	} else if (strcmp(c, "secret") == 0) {
		int rc = meshctl_build_secret(argc, argv, cmd, req);

		if (rc != MESHCTL_EXIT_OK)
			return rc;
	} else if (strcmp(c, "stats") == 0) {
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--all") != 0)
				return meshctl_usage_error("stats: unknown argument '%s'", argv[i]);
			o->all = true;
		}
		*cmd = MESHCTL_STATS;
		*req = json_pack("{s:s}", "cmd", "stats");
	} else if (strcmp(c, "config") == 0) {
		const char *sub = argc > 1 ? argv[1] : "";

		if (strcmp(sub, "apply") == 0 && argc > 2 && strcmp(argv[2], "--namespace") == 0) {
			if (argc != 5)
				return meshctl_usage_error(
					"config apply --namespace needs NS and FILE");
			*cmd = MESHCTL_CFG_APPLY_NS;
			*req = json_pack("{s:s, s:s}", "cmd", "config.apply_namespace", "namespace",
					 argv[3]);
			if (*req != NULL) {
				int rc = meshctl_add_file(*req, "text", argv[4]);

				if (rc != MESHCTL_EXIT_OK) {
					json_decref(*req);
					*req = NULL;
					return rc;
				}
			}
		} else if (strcmp(sub, "validate") == 0 || strcmp(sub, "apply") == 0) {
			size_t len = 0;
			char *text;

			if (argc != 3)
				return meshctl_usage_error("config %s needs exactly one FILE", sub);
			text = meshctl_read_file(argv[2], &len);
			if (text == NULL)
				return MESHCTL_EXIT_REFUSED;
			*cmd = sub[0] == 'v' ? MESHCTL_CFG_VALIDATE : MESHCTL_CFG_APPLY;
			*req = json_pack("{s:s, s:s%}", "cmd",
					 sub[0] == 'v' ? "config.validate" : "config.apply", "text",
					 text, len);
			free(text);
			if (*req == NULL) {
				fprintf(stderr, "meshctl: %s is not valid UTF-8 text\n", argv[2]);
				return MESHCTL_EXIT_REFUSED;
			}
		} else if (strcmp(sub, "show") == 0 || strcmp(sub, "rollback") == 0) {
			if (argc != 2)
				return meshctl_usage_error("config %s takes no arguments", sub);
			*cmd = sub[0] == 's' ? MESHCTL_CFG_SHOW : MESHCTL_CFG_ROLLBACK;
			*req = json_pack("{s:s}", "cmd",
					 sub[0] == 's' ? "config.show" : "config.rollback");
		} else {
			return meshctl_usage_error("config: expected validate FILE, apply "
						   "[--namespace NS] FILE, show or "
						   "rollback");
		}
	} else if (strcmp(c, "log") == 0) {
		if (argc < 2 || strcmp(argv[1], "level") != 0 || argc > 3)
			return meshctl_usage_error("log: expected 'log level [LEVEL]'");
		*cmd = MESHCTL_LOG_LEVEL;
		*req = argc == 3 ? json_pack("{s:s, s:s}", "cmd", "log.level", "level", argv[2])
				 : json_pack("{s:s}", "cmd", "log.level");
	} else if (strcmp(c, "authn") == 0 || strcmp(c, "authz") == 0) {
		if (argc != 1)
			return meshctl_usage_error("%s takes no arguments", c);
		*cmd = c[4] == 'n' ? MESHCTL_AUTHN : MESHCTL_AUTHZ;
		*req = json_pack("{s:s}", "cmd", c);
	} else if (strcmp(c, "jwt") == 0) {
		if (argc != 1)
			return meshctl_usage_error("jwt takes no arguments");
		*cmd = MESHCTL_JWT;
		*req = json_pack("{s:s}", "cmd", "jwt");
	} else if (strcmp(c, "etcd") == 0) {
		if (argc != 1)
			return meshctl_usage_error("etcd takes no arguments");
		*cmd = MESHCTL_ETCD;
		*req = json_pack("{s:s}", "cmd", "etcd");
	} else if (strcmp(c, "audit") == 0) {
		if (argc > 2)
			return meshctl_usage_error("audit takes at most one FILE");
		*cmd = MESHCTL_AUDIT;
		*req = json_pack("{s:s}", "cmd", "audit");
		if (*req != NULL && argc == 2) {
			int rc = meshctl_add_file(*req, "text", argv[1]);

			if (rc != MESHCTL_EXIT_OK) {
				json_decref(*req);
				*req = NULL;
				return rc;
			}
		}
	} else if (strcmp(c, "commands") == 0) {
		if (argc != 1)
			return meshctl_usage_error("commands takes no arguments");
		*cmd = MESHCTL_COMMANDS;
		*req = json_pack("{s:s}", "cmd", "help");
	} else if (strcmp(c, "tune") == 0) {
		char *eq;

		if (argc != 2)
			return meshctl_usage_error("tune: expected one KEY=VALUE");
		eq = strchr(argv[1], '=');
		if (eq == NULL || eq == argv[1] || eq[1] == '\0')
			return meshctl_usage_error("tune: '%s' is not KEY=VALUE", argv[1]);
		*eq = '\0';
		*cmd = MESHCTL_TUNE;
		*req = json_pack("{s:s, s:s, s:s}", "cmd", "tune", "key", argv[1], "value", eq + 1);
		*eq = '=';
	} else {
		return meshctl_usage_error("unknown command '%s'", c);
	}
	if (*req == NULL) {
		fprintf(stderr, "meshctl: arguments are not valid UTF-8\n");
		return MESHCTL_EXIT_USAGE;
	}
	return MESHCTL_EXIT_OK;
}

/* ---- top: the daemon's cumulative counts, sampled a second apart ---- */

/*
 * The @p q quantile (0..1) of the delta histogram @p b[n + 1] over upper
 * bounds @p le[n], interpolated inside its bucket as Prometheus's
 * histogram_quantile() does. @return milliseconds; -1 without observations.
 */
static double meshctl_quantile(const double *b, const double *le, size_t n, double q)
{
	double total = 0, rank, cum = 0;

	for (size_t i = 0; i <= n; i++)
		total += b[i];
	if (total <= 0)
		return -1;
	rank = q * total;
	for (size_t i = 0; i <= n; i++) {
		double lo = i == 0 ? 0 : le[i - 1];

		if (cum + b[i] >= rank) {
			if (i == n)
				return le[n - 1]; /* +Inf: the largest finite bound */
			return lo + (le[i] - lo) * (b[i] > 0 ? (rank - cum) / b[i] : 0);
		}
		cum += b[i];
	}
	return le[n - 1];
}

static const json_t *meshctl_top_find(const json_t *prev, const char *service)
{
	size_t i;
	const json_t *e;

	json_array_foreach(json_object_get(prev, "services"), i, e)
	{
		if (strcmp(meshctl_str(e, "service"), service) == 0)
			return e;
	}
	return NULL;
}

/* One table (or JSON document) of the differences between two samples. */
static void meshctl_top_print(const json_t *prev, const json_t *cur, bool json)
{
	const json_t *bounds = json_object_get(cur, "bounds_ms"), *e;
	double dt = json_real_value(json_object_get(cur, "time_s")) -
		    json_real_value(json_object_get(prev, "time_s"));
	size_t nb = json_array_size(bounds), i;
	double le[64], b[65];
	json_t *out = json_array();

	if (dt <= 0)
		dt = 1;
	if (nb == 0 || nb > 64)
		return; /* not a reply of this meshctl's daemon */
	for (size_t k = 0; k < nb; k++)
		le[k] = json_real_value(json_array_get(bounds, k));
	json_array_foreach(json_object_get(cur, "services"), i, e)
	{
		const char *svc = meshctl_str(e, "service");
		const json_t *p = meshctl_top_find(prev, svc);
		const json_t *cb = json_object_get(e, "buckets"),
			     *pb = json_object_get(p, "buckets");
		double req = (double)(meshctl_int(e, "requests") - meshctl_int(p, "requests"));
		double err = (double)(meshctl_int(e, "errors") - meshctl_int(p, "errors"));

		for (size_t k = 0; k <= nb; k++)
			b[k] = (double)(json_integer_value(json_array_get(cb, k)) -
					json_integer_value(json_array_get(pb, k)));
		json_array_append_new(out, json_pack("{s:s, s:f, s:f, s:f, s:f, s:I}", "service",
						     svc, "rps", req / dt, "error_rate",
						     req > 0 ? err / req : 0.0, "p50_ms",
						     meshctl_quantile(b, le, nb, 0.5), "p99_ms",
						     meshctl_quantile(b, le, nb, 0.99), "requests",
						     (json_int_t)meshctl_int(e, "requests")));
	}
	if (json) {
		char *s = json_dumps(out, JSON_COMPACT);

		if (s != NULL)
			printf("%s\n", s);
		free(s);
	} else {
		printf("%-48s %10s %8s %10s %10s %12s\n", "SERVICE", "REQ/S", "ERR%", "P50_MS",
		       "P99_MS", "REQUESTS");
		json_array_foreach(out, i, e)
		{
			double p50 = json_real_value(json_object_get(e, "p50_ms"));
			double p99 = json_real_value(json_object_get(e, "p99_ms"));
			char s50[32] = "-", s99[32] = "-";

			if (p50 >= 0)
				snprintf(s50, sizeof(s50), "%.2f", p50);
			if (p99 >= 0)
				snprintf(s99, sizeof(s99), "%.2f", p99);
			printf("%-48s %10.1f %8.2f %10s %10s %12" JSON_INTEGER_FORMAT "\n",
			       meshctl_str(e, "service"),
			       json_real_value(json_object_get(e, "rps")),
			       100.0 * json_real_value(json_object_get(e, "error_rate")), s50, s99,
			       meshctl_int(e, "requests"));
		}
	}
	fflush(stdout);
	json_decref(out);
}

static int meshctl_top(const struct meshctl_opts *o, int argc, char **argv)
{
	bool once = false;
	json_t *prev = NULL, *req = json_pack("{s:s}", "cmd", "top");
	char err[512];
	int rc = MESHCTL_EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") != 0) {
			json_decref(req);
			return meshctl_usage_error(
				"top: unexpected argument '%s' (expected --once)", argv[i]);
		}
		once = true;
	}
	for (unsigned int round = 0;; round++) {
		json_t *reply = NULL, *cur;

		if (ctl_request(o->socket, req, o->timeout_ms, &reply, err, sizeof(err)) < 0) {
			fprintf(stderr, "meshctl: %s\n", err);
			rc = MESHCTL_EXIT_UNREACHABLE;
			break;
		}
		if (json_is_false(json_object_get(reply, "ok"))) {
			fprintf(stderr, "meshctl: %s\n",
				json_string_value(json_object_get(reply, "error")));
			json_decref(reply);
			rc = MESHCTL_EXIT_REFUSED;
			break;
		}
		cur = json_incref(json_object_get(reply, "result"));
		json_decref(reply);
		if (prev != NULL) {
			if (!once && !o->json)
				printf("\033[H\033[2J"); /* redraw in place */
			meshctl_top_print(prev, cur, o->json);
			json_decref(prev);
		}
		prev = cur;
		if (once && round == 1)
			break;
		nanosleep(&(struct timespec){1, 0}, NULL);
	}
	json_decref(prev);
	json_decref(req);
	return rc;
}

static void meshctl_print(enum meshctl_cmd cmd, const json_t *r, const struct meshctl_opts *o)
{
	const json_t *gen = json_object_get(r, "generation");
	const char *text;

	if (o->json) {
		char *s = json_dumps(r, JSON_INDENT(2) | JSON_ENCODE_ANY);

		if (s != NULL)
			printf("%s\n", s);
		free(s);
		return;
	}
	switch (cmd) {
	case MESHCTL_STATUS:
		meshctl_print_status(r);
		break;
	case MESHCTL_STATS:
		meshctl_print_stats(r, o->all);
		break;
	case MESHCTL_PORTS:
		meshctl_print_ports(r);
		break;
	case MESHCTL_NEIGH:
		meshctl_print_neigh(r);
		break;
	case MESHCTL_ROUTES:
		meshctl_print_routes(r);
		break;
	case MESHCTL_SERVICES:
		meshctl_print_services(r);
		break;
	case MESHCTL_ENDPOINTS:
		meshctl_print_endpoints(r);
		break;
	case MESHCTL_BREAKERS:
		meshctl_print_breakers(r);
		break;
	case MESHCTL_LIMITS:
		meshctl_print_limits(r);
		break;
	case MESHCTL_FLOWS:
		meshctl_print_flows(r);
		break;
	case MESHCTL_TCP_STATS:
		meshctl_print_tcp_stats(r);
		break;
	case MESHCTL_TCP_CONNS:
		meshctl_print_tcp_conns(r);
		break;
	case MESHCTL_TLS_CONNS:
		meshctl_print_tls_conns(r);
		break;
	case MESHCTL_HTTP_ROUTES:
		meshctl_print_http_routes(r);
		break;
	case MESHCTL_HTTP_ROUTE_TEST:
		meshctl_print_http_route_test(r);
		break;
	case MESHCTL_CFG_VALIDATE:
		printf("configuration is valid\n");
		break;
	case MESHCTL_CFG_APPLY:
		printf("applied: generation %" JSON_INTEGER_FORMAT " is live\n",
		       json_integer_value(gen));
		break;
	case MESHCTL_CFG_APPLY_NS:
		printf("namespace %s: %" JSON_INTEGER_FORMAT
		       " entries applied: generation %" JSON_INTEGER_FORMAT " is live\n",
		       meshctl_str(r, "namespace"), meshctl_int(r, "entries"),
		       json_integer_value(gen));
		break;
	case MESHCTL_CFG_SHOW:
		text = json_string_value(json_object_get(r, "text"));
		if (text != NULL) {
			fwrite(text, 1, strlen(text), stdout);
			if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
				putchar('\n');
		}
		break;
	case MESHCTL_CFG_ROLLBACK:
		printf("rolled back: generation %" JSON_INTEGER_FORMAT " is live\n",
		       json_integer_value(gen));
		break;
	case MESHCTL_LOG_LEVEL:
		printf("log level: %s\n", json_string_value(json_object_get(r, "level")));
		break;
	case MESHCTL_TUNE:
		printf("%s=%s: generation %" JSON_INTEGER_FORMAT " is live\n",
		       json_string_value(json_object_get(r, "key")),
		       json_string_value(json_object_get(r, "value")), json_integer_value(gen));
		break;
	case MESHCTL_COMMANDS:
		meshctl_print_commands(r);
		break;
	case MESHCTL_SECRET_LIST:
		meshctl_print_secrets(r);
		break;
	case MESHCTL_SECRET_APPLY: {
		const json_t *sec = json_object_get(r, "secret");
		char t[32];

		meshctl_time(meshctl_int(sec, "not_after"), t, sizeof(t));
		printf("%s: %s serial %s, not after %s: generation %" JSON_INTEGER_FORMAT
		       " is live\n",
		       meshctl_str(sec, "name"), meshctl_str(sec, "spiffe_id"),
		       meshctl_str(sec, "serial"), t, json_integer_value(gen));
		break;
	}
	case MESHCTL_SECRET_BUNDLE:
		printf("bundle replaced: generation %" JSON_INTEGER_FORMAT " is live\n",
		       json_integer_value(gen));
		break;
	case MESHCTL_AUDIT:
		meshctl_print_audit(r);
		break;
	case MESHCTL_AUTHN:
		meshctl_print_authn(r);
		break;
	case MESHCTL_AUTHZ:
		meshctl_print_authz(r);
		break;
	case MESHCTL_JWT:
		meshctl_print_jwt(r);
		break;
	case MESHCTL_ETCD: {
		const char *key;
		json_t *v;

		json_object_foreach((json_t *)r, key, v)
		{
			char cell[256];

			meshctl_cell(v, cell, sizeof(cell));
			printf("%-17s %s\n", key, cell);
		}
		break;
	}
	}
}

int main(int argc, char **argv)
{
	struct meshctl_opts o = {.socket = CTL_DEFAULT_SOCKET,
				 .timeout_ms = MESHCTL_DEFAULT_TIMEOUT};
	enum meshctl_cmd cmd = MESHCTL_STATUS;
	json_t *req, *reply = NULL;
	char err[512];
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			meshctl_usage(stdout);
			return MESHCTL_EXIT_OK;
		} else if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "--socket") == 0) {
			if (++i >= argc || argv[i][0] == '\0')
				return meshctl_usage_error("--socket needs a PATH");
			o.socket = argv[i];
		} else if (strcmp(a, "--timeout") == 0) {
			char *end;
			long v;

			if (++i >= argc)
				return meshctl_usage_error("--timeout needs milliseconds");
			errno = 0;
			v = strtol(argv[i], &end, 10);
			if (errno != 0 || end == argv[i] || *end != '\0' || v <= 0 || v > 3600000)
				return meshctl_usage_error("--timeout: '%s' is not a number of "
							   "milliseconds (1..3600000)",
							   argv[i]);
			o.timeout_ms = (int)v;
		} else {
			return meshctl_usage_error("unknown option '%s'", a);
		}
	}
	if (i >= argc)
		return meshctl_usage_error("no command given");
	if (strcmp(argv[i], "fleet") == 0)
		return meshctl_fleet(argc - i, argv + i, &o);
	if (strcmp(argv[i], "top") == 0)
		return meshctl_top(&o, argc - i, argv + i);
	rc = meshctl_build(argc - i, argv + i, &o, &cmd, &req);
	if (rc != MESHCTL_EXIT_OK)
		return rc;
	rc = ctl_request(o.socket, req, o.timeout_ms, &reply, err, sizeof(err));
	json_decref(req);
	if (rc < 0) {
		fprintf(stderr, "meshctl: %s\n", err);
		return rc == -EPROTO || rc == -EMSGSIZE || rc == -ENOMEM ? MESHCTL_EXIT_REFUSED
									 : MESHCTL_EXIT_UNREACHABLE;
	}
	if (json_is_false(json_object_get(reply, "ok"))) {
		fprintf(stderr, "meshctl: %s\n",
			json_string_value(json_object_get(reply, "error")));
		json_decref(reply);
		return MESHCTL_EXIT_REFUSED;
	}
	meshctl_print(cmd, json_object_get(reply, "result"), &o);
	rc = cmd == MESHCTL_AUDIT && meshctl_int(json_object_get(reply, "result"), "fail") > 0
		     ? MESHCTL_EXIT_AUDIT_FAIL
		     : MESHCTL_EXIT_OK;
	json_decref(reply);
	return rc;
}
