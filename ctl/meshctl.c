/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshctl: the command-line client of the meshdp control socket.
 * Exit status: 0 ok, 1 the daemon refused the command, 2 usage error,
 * 3 the daemon is unreachable (no socket, no access, no reply in time).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define MESHCTL_EXIT_OK		 0
#define MESHCTL_EXIT_REFUSED	 1
#define MESHCTL_EXIT_USAGE	 2
#define MESHCTL_EXIT_UNREACHABLE 3
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
		"  config validate FILE    check a configuration without applying it\n"
		"  config apply FILE       validate and make a configuration live\n"
		"  config show             print the live configuration\n"
		"  config rollback         go back to the configuration before the last change\n"
		"  log level [LEVEL]       show or set the log level (emerg .. debug)\n"
		"  tune KEY=VALUE          change one live knob (rx_burst, tx_burst, drain_us,\n"
		"                          idle, idle_polls, idle_sleep_us)\n"
		"\n"
		"options:\n"
		"  --socket PATH   control socket (default %s)\n"
		"  --json          print the daemon's result as JSON\n"
		"  --timeout MS    give up after MS milliseconds (default %d)\n"
		"  --help          this text\n"
		"\n"
		"exit status: 0 ok, 1 refused by the daemon, 2 usage error, 3 daemon unreachable\n",
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

/* ---------------------------------------------------------------- commands */

enum meshctl_cmd {
	MESHCTL_STATUS,
	MESHCTL_STATS,
	MESHCTL_PORTS,
	MESHCTL_NEIGH,
	MESHCTL_ROUTES,
	MESHCTL_CFG_VALIDATE,
	MESHCTL_CFG_APPLY,
	MESHCTL_CFG_SHOW,
	MESHCTL_CFG_ROLLBACK,
	MESHCTL_LOG_LEVEL,
	MESHCTL_TUNE,
};

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

		if (strcmp(sub, "validate") == 0 || strcmp(sub, "apply") == 0) {
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
			return meshctl_usage_error(
				"config: expected validate FILE, apply FILE, show or rollback");
		}
	} else if (strcmp(c, "log") == 0) {
		if (argc < 2 || strcmp(argv[1], "level") != 0 || argc > 3)
			return meshctl_usage_error("log: expected 'log level [LEVEL]'");
		*cmd = MESHCTL_LOG_LEVEL;
		*req = argc == 3 ? json_pack("{s:s, s:s}", "cmd", "log.level", "level", argv[2])
				 : json_pack("{s:s}", "cmd", "log.level");
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
	case MESHCTL_CFG_VALIDATE:
		printf("configuration is valid\n");
		break;
	case MESHCTL_CFG_APPLY:
		printf("applied: generation %" JSON_INTEGER_FORMAT " is live\n",
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
	json_decref(reply);
	return MESHCTL_EXIT_OK;
}
