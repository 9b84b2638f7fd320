/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl: the line framer, reply helpers and the blocking client (against a fake daemon). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "ctl/ctl.h"
#include "dataplane/subsystems.h"
#include "dataplane/control/control.h"
#include "dataplane/endpoint/endpoint.h"
#include "dataplane/log/log.h"
#include "test_eal.h"

static int feed_str(struct ctl_framer *f, const char *s)
{
	return ctl_framer_feed(f, s, strlen(s));
}

static void expect_line(struct ctl_framer *f, const char *want)
{
	char *line = NULL;
	size_t len = 0;

	assert_int_equal(ctl_framer_next(f, &line, &len), 1);
	assert_int_equal(len, strlen(want));
	assert_string_equal(line, want);
}

static void expect_none(struct ctl_framer *f)
{
	char *line;
	size_t len;

	assert_int_equal(ctl_framer_next(f, &line, &len), 0);
}

static void test_framer_split_lines(void **state)
{
	struct ctl_framer f;

	(void)state;
	ctl_framer_init(&f, 64);
	expect_none(&f);
	assert_int_equal(feed_str(&f, "{\"cmd\":\"a\"}\n{\"cmd\":\"b\"}\nrest"), 0);
	expect_line(&f, "{\"cmd\":\"a\"}");
	expect_line(&f, "{\"cmd\":\"b\"}");
	expect_none(&f);
	assert_int_equal(ctl_framer_pending(&f), 4);
	assert_int_equal(feed_str(&f, "\r\n"), 0);
	expect_line(&f, "rest"); /* CRLF accepted */
	expect_none(&f);
	assert_int_equal(ctl_framer_pending(&f), 0);
	ctl_framer_free(&f);
}

static void test_framer_partial_reads(void **state)
{
	const char *msg = "{\"cmd\":\"status\"}\n{\"cmd\":\"stats\"}\n";
	struct ctl_framer f;

	(void)state;
	ctl_framer_init(&f, 64);
	/* one byte at a time: a line appears exactly when its '\n' arrives */
	for (size_t i = 0; msg[i]; i++) {
		char *line;
		size_t len;
		int rc;

		assert_int_equal(ctl_framer_feed(&f, &msg[i], 1), 0);
		rc = ctl_framer_next(&f, &line, &len);
		if (msg[i] == '\n') {
			assert_int_equal(rc, 1);
			assert_string_equal(line, i < 20 ? "{\"cmd\":\"status\"}"
							 : "{\"cmd\":\"stats\"}");
		} else {
			assert_int_equal(rc, 0);
		}
	}
	ctl_framer_free(&f);
}

static void test_framer_empty_lines(void **state)
{
	struct ctl_framer f;

	(void)state;
	ctl_framer_init(&f, 64);
	assert_int_equal(feed_str(&f, "\n\n\r\nx\n\n"), 0);
	expect_line(&f, "x");
	expect_none(&f);
	ctl_framer_free(&f);
}

static void test_framer_nul_byte(void **state)
{
	static const char data[] = {'a', '\0', 'b', '\n', 'o', 'k', '\n'};
	struct ctl_framer f;
	char *line;
	size_t len;

	(void)state;
	ctl_framer_init(&f, 64);
	assert_int_equal(ctl_framer_feed(&f, data, sizeof(data)), 0);
	assert_int_equal(ctl_framer_next(&f, &line, &len), -EBADMSG);
	/* the bad line is consumed; the stream goes on */
	expect_line(&f, "ok");
	expect_none(&f);
	ctl_framer_free(&f);
}

static void test_framer_oversize(void **state)
{
	struct ctl_framer f;
	char big[40];
	char *line;
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big));
	/* exactly max bytes is fine */
	ctl_framer_init(&f, 16);
	assert_int_equal(ctl_framer_feed(&f, big, 16), 0);
	assert_int_equal(feed_str(&f, "\n"), 0);
	assert_int_equal(ctl_framer_next(&f, &line, &len), 1);
	assert_int_equal(len, 16);
	ctl_framer_free(&f);

	/* a complete line before the oversized one is still delivered */
	ctl_framer_init(&f, 16);
	assert_int_equal(feed_str(&f, "short\n"), 0);
	assert_int_equal(ctl_framer_feed(&f, big, 17), -E2BIG);
	expect_line(&f, "short");
	assert_int_equal(ctl_framer_next(&f, &line, &len), -E2BIG);
	/* permanent: more input is refused too */
	assert_int_equal(feed_str(&f, "\n"), -E2BIG);
	assert_int_equal(ctl_framer_next(&f, &line, &len), -E2BIG);
	ctl_framer_free(&f);

	/* oversize detected across feeds, before any newline arrives */
	ctl_framer_init(&f, 16);
	assert_int_equal(ctl_framer_feed(&f, big, 10), 0);
	assert_int_equal(ctl_framer_feed(&f, big, 10), -E2BIG);
	assert_int_equal(ctl_framer_next(&f, &line, &len), -E2BIG);
	/* the buffer never held more than the limit */
	assert_true(ctl_framer_pending(&f) <= 16);
	ctl_framer_free(&f);
}

static void test_framer_buffer_bounded(void **state)
{
	struct ctl_framer f;
	char line_buf[101];
	unsigned int got = 0;

	(void)state;
	memset(line_buf, 'y', 100);
	line_buf[100] = '\n';
	ctl_framer_init(&f, 128);
	/* many lines fed and taken: consumed bytes are dropped, capacity stays small */
	for (int i = 0; i < 1000; i++) {
		char *line;
		size_t len;

		assert_int_equal(ctl_framer_feed(&f, line_buf, sizeof(line_buf)), 0);
		while (ctl_framer_next(&f, &line, &len) == 1) {
			assert_int_equal(len, 100);
			got++;
		}
	}
	assert_int_equal(got, 1000);
	assert_true(f.cap <= 4096);
	ctl_framer_free(&f);
}

static void test_reply_helpers(void **state)
{
	json_t *ok, *bad, *back;
	char *line;
	size_t len;

	(void)state;
	ok = ctl_reply_ok(json_pack("{s:i}", "generation", 3));
	line = ctl_encode(ok, &len);
	assert_non_null(line);
	assert_int_equal(len, strlen(line));
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1)); /* one line */
	back = json_loads(line, 0, NULL);
	assert_true(json_is_true(json_object_get(back, "ok")));
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(back, "result"), "generation")),
		3);
	json_decref(back);
	free(line);
	json_decref(ok);

	bad = ctl_reply_error("unknown command '%s'", "a\nb");
	line = ctl_encode(bad, &len);
	assert_null(memchr(line, '\n', len - 1)); /* newlines in messages are escaped */
	back = json_loads(line, 0, NULL);
	assert_true(json_is_false(json_object_get(back, "ok")));
	assert_string_equal(json_string_value(json_object_get(back, "error")),
			    "unknown command 'a\nb'");
	json_decref(back);
	free(line);
	json_decref(bad);
}

/* ------------------------------------------------- client against a fake daemon */

enum fake_mode {
	FAKE_ECHO,  /* reply {"ok":true,"result":<the request>} */
	FAKE_CLOSE, /* close without replying */
	FAKE_MUTE,  /* read, never answer */
	FAKE_JUNK,  /* answer with something that is not a reply */
};

struct fake {
	char path[108];
	int lfd;
	enum fake_mode mode;
	bool failed; /* cmocka asserts only on the test's own thread */
	pthread_t thr;
};

static void *fake_main(void *arg)
{
	struct fake *fk = arg;
	int fd = accept(fk->lfd, NULL, NULL);
	struct ctl_framer f;
	char buf[4096], *line;
	size_t len;
	ssize_t r;

	if (fd < 0) {
		fk->failed = true;
		return NULL;
	}
	ctl_framer_init(&f, CTL_MSG_MAX);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		ctl_framer_feed(&f, buf, (size_t)r);
		if (ctl_framer_next(&f, &line, &len) == 1)
			break;
	}
	if (fk->mode == FAKE_ECHO) {
		json_t *req = json_loadb(line, len, 0, NULL);
		json_t *rep = ctl_reply_ok(req);
		char *out = ctl_encode(rep, &len);

		if (out == NULL || write(fd, out, len) != (ssize_t)len)
			fk->failed = true;
		free(out);
		json_decref(rep);
	} else if (fk->mode == FAKE_JUNK) {
		if (write(fd, "[1,2]\n", 6) != 6)
			fk->failed = true;
	} else if (fk->mode == FAKE_MUTE) {
		/* wait until the client gives up and closes */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	}
	ctl_framer_free(&f);
	close(fd);
	return NULL;
}

static void fake_start(struct fake *fk, enum fake_mode mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(fk->path, sizeof(fk->path), "/tmp/meshdp-test-ctl-%d.sock", (int)getpid());
	unlink(fk->path);
	strcpy(sa.sun_path, fk->path);
	fk->mode = mode;
	fk->failed = false;
	fk->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fk->lfd >= 0);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk->lfd, 4), 0);
	assert_int_equal(pthread_create(&fk->thr, NULL, fake_main, fk), 0);
}

static void fake_stop(struct fake *fk)
{
	pthread_join(fk->thr, NULL);
	close(fk->lfd);
	unlink(fk->path);
	assert_false(fk->failed);
}

static void test_request_roundtrip(void **state)
{
	struct fake fk;
	json_t *req = json_pack("{s:s, s:s}", "cmd", "config.apply", "text", "{\n\"a\": 1\n}");
	json_t *reply = NULL;
	char err[256] = "";

	(void)state;
	fake_start(&fk, FAKE_ECHO);
	assert_int_equal(ctl_request(fk.path, req, 2000, &reply, err, sizeof(err)), 0);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	/* the newlines inside the document survived the line framing */
	assert_true(json_equal(json_object_get(reply, "result"), req));
	json_decref(reply);
	json_decref(req);
	fake_stop(&fk);
}

static void test_request_failures(void **state)
{
	struct fake fk;
	json_t *req = json_pack("{s:s}", "cmd", "status");
	json_t *reply = NULL, *big;
	char err[256] = "";
	char *text;

	(void)state;
	/* no daemon */
	assert_int_equal(
		ctl_request("/tmp/meshdp-test-no-such.sock", req, 500, &reply, err, sizeof(err)),
		-ENOENT);
	assert_null(reply);
	assert_non_null(strstr(err, "cannot connect"));

	fake_start(&fk, FAKE_CLOSE);
	assert_int_equal(ctl_request(fk.path, req, 2000, &reply, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "closed the connection"));
	fake_stop(&fk);

	fake_start(&fk, FAKE_JUNK);
	assert_int_equal(ctl_request(fk.path, req, 2000, &reply, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "malformed reply"));
	fake_stop(&fk);

	fake_start(&fk, FAKE_MUTE);
	assert_int_equal(ctl_request(fk.path, req, 200, &reply, err, sizeof(err)), -ETIMEDOUT);
	fake_stop(&fk);

	/* refused before connecting: the request could never be accepted */
	text = malloc(CTL_MSG_MAX + 1);
	memset(text, 'z', CTL_MSG_MAX);
	text[CTL_MSG_MAX] = '\0';
	big = json_pack("{s:s, s:s}", "cmd", "config.apply", "text", text);
	assert_int_equal(
		ctl_request("/tmp/meshdp-test-no-such.sock", big, 500, &reply, err, sizeof(err)),
		-EMSGSIZE);
	assert_non_null(strstr(err, "too large"));
	json_decref(big);
	free(text);
	json_decref(req);
}

/* ------------------------------------------------- the real control loop, in process */

struct daemon {
	char path[108];
	struct worker_set ws;
	struct cfg_port_info ports[2];
	struct control_ctx ctx;
	struct l4_global *l4;
	struct control *c;
	volatile sig_atomic_t stop;
	pthread_t thr;
};

static struct daemon dmn;

/* A command only the tests register: it answers with the caller's uid. */
static json_t *test_cmd_peer(struct control *c, json_t *req, const struct control_peer *peer)
{
	(void)req;
	assert_int_equal(control_ctx(c)->n_ports, 2);
	return ctl_reply_ok(json_pack("{s:I}", "uid", (json_int_t)peer->uid));
}

static const struct control_cmd test_cmds[] = {
	{"test.peer", test_cmd_peer, 0, "the caller's uid"},
};
static const struct control_cmd_set test_commands = {"test", test_cmds, 1};

/* The daemon's command sets and the tests' own. */
static const struct control_cmd_set *daemon_sets[24];

static void *daemon_main(void *arg)
{
	struct daemon *d = arg;

	control_run(d->c, &d->stop);
	return NULL;
}

/* The embedded default configuration with the socket moved to @p path. */
static char *config_text(const char *path, const char *node)
{
	json_t *j = json_loads(cfg_default_text(), 0, NULL);
	char *t;

	assert_non_null(j);
	json_object_set_new(json_object_get(j, "control"), "socket", json_string(path));
	json_object_set_new(json_object_get(j, "node"), "name", json_string(node));
	t = json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	return t;
}

static int daemon_setup(void **state)
{
	struct cfg_snapshot *snap = NULL;
	const struct control_cmd_set *const *sets;
	unsigned int n_sets;
	struct cfg_error err;
	char *text;

	(void)state;
	snprintf(dmn.path, sizeof(dmn.path), "/tmp/meshdp-test-ctl-%d/sub/d.sock", (int)getpid());
	for (uint16_t p = 0; p < 2; p++) {
		snprintf(dmn.ports[p].name, sizeof(dmn.ports[p].name), "p%u", p);
		dmn.ports[p].port_id = p;
		dmn.ports[p].mtu = 1500;
		dmn.ports[p].mac.addr_bytes[0] = 2;
		dmn.ports[p].mac.addr_bytes[5] = (uint8_t)(p + 1);
	}
	dmn.ws.n = 1;
	dmn.ws.w = calloc(1, sizeof(struct worker));
	dmn.ws.stats = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(struct stats_block));
	if (dmn.ws.w == NULL || dmn.ws.stats == NULL)
		return -1;
	memset(dmn.ws.stats, 0, sizeof(struct stats_block));
	dmn.ws.w[0].lcore_id = 1;
	dmn.ws.w[0].net.stats = &dmn.ws.stats[0];
	stats_add(&dmn.ws.stats[0], STAT_RX_FRAMES, 41);
	text = config_text(dmn.path, "first");
	if (cfg_compile(text, strlen(text), dmn.ports, 2, NULL, &snap, &err) != 0) {
		fprintf(stderr, "default config: %s\n", err.msg);
		return -1;
	}
	free(text);
	cfg_publish(snap);
	dmn.l4 = l4_global_create(1);
	if (dmn.l4 == NULL)
		return -1;
	sets = meshdp_command_sets(&n_sets);
	assert_true(n_sets < RTE_DIM(daemon_sets));
	for (unsigned int i = 0; i < n_sets; i++)
		daemon_sets[i] = sets[i];
	daemon_sets[n_sets] = &test_commands;
	dmn.ctx = (struct control_ctx){.workers = &dmn.ws,
				       .ports = dmn.ports,
				       .n_ports = 2,
				       .neigh = NULL,
				       .l4 = dmn.l4,
				       .profile_name = "unit",
				       .config_source = "embedded default",
				       .command_sets = daemon_sets,
				       .n_command_sets = n_sets + 1};
	dmn.c = control_open(&dmn.ctx);
	if (dmn.c == NULL) {
		perror("control_open");
		return -1;
	}
	return pthread_create(&dmn.thr, NULL, daemon_main, &dmn) == 0 ? 0 : -1;
}

static int daemon_teardown(void **state)
{
	(void)state;
	dmn.stop = 1;
	pthread_join(dmn.thr, NULL);
	control_close(dmn.c);
	/* control_open() created both directories; the socket is gone now */
	*strrchr(dmn.path, '/') = '\0';
	rmdir(dmn.path);
	*strrchr(dmn.path, '/') = '\0';
	rmdir(dmn.path);
	free(dmn.ws.w);
	free(dmn.ws.stats);
	/* the daemon thread is gone: no reader is left */
	cfg_snapshot_free(rcu_xchg_pointer(&cfg_live, NULL));
	l4_global_free(dmn.l4);
	return 0;
}

/* One request to the daemon; returns the reply (asserts it arrived). */
static json_t *call(json_t *req)
{
	json_t *reply = NULL;
	char err[256] = "";
	int rc = ctl_request(dmn.path, req, 5000, &reply, err, sizeof(err));

	if (rc != 0)
		fail_msg("ctl_request: %s", err);
	json_decref(req);
	return reply;
}

static json_t *expect_ok(json_t *req)
{
	json_t *r = call(req);

	if (!json_is_true(json_object_get(r, "ok")))
		fail_msg("error reply: %s", json_string_value(json_object_get(r, "error")));
	return r;
}

static void expect_error(json_t *req, const char *needle)
{
	json_t *r = call(req);
	const char *e = json_string_value(json_object_get(r, "error"));

	assert_true(json_is_false(json_object_get(r, "ok")));
	if (e == NULL || strstr(e, needle) == NULL)
		fail_msg("error '%s' does not contain '%s'", e ? e : "(none)", needle);
	json_decref(r);
}

static json_int_t result_int(json_t *r, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(r, "result"), key));
}

static void test_daemon_socket_mode(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(stat(dmn.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
}

static void test_daemon_status_stats(void **state)
{
	json_t *r, *res, *w;

	(void)state;
	r = expect_ok(json_pack("{s:s}", "cmd", "status"));
	res = json_object_get(r, "result");
	assert_string_equal(json_string_value(json_object_get(res, "node")), "first");
	assert_string_equal(json_string_value(json_object_get(res, "version")), MESHDP_VERSION);
	assert_int_equal(result_int(r, "pid"), getpid());
	assert_int_equal(result_int(r, "workers"), 1);
	assert_int_equal(result_int(r, "ports"), 2);
	assert_int_equal(result_int(r, "neighbours"), 0);
	assert_string_equal(json_string_value(json_object_get(res, "profile")), "unit");
	json_decref(r);

	r = expect_ok(json_pack("{s:s}", "cmd", "stats"));
	res = json_object_get(r, "result");
	assert_int_equal(json_object_size(json_object_get(res, "counters")), STAT_MAX);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(res, "counters"), "rx_frames")),
		41);
	w = json_array_get(json_object_get(res, "workers"), 0);
	assert_int_equal(json_integer_value(json_object_get(w, "lcore")), 1);
	/* per worker: non-zero counters only */
	assert_int_equal(json_object_size(json_object_get(w, "counters")), 1);
	json_decref(r);

	r = expect_ok(json_pack("{s:s}", "cmd", "routes"));
	assert_true(json_array_size(json_object_get(r, "result")) > 0);
	json_decref(r);
	r = expect_ok(json_pack("{s:s}", "cmd", "neigh"));
	assert_int_equal(json_array_size(json_object_get(r, "result")), 0);
	json_decref(r);
}

/*
 * The registry: "help" lists every registered command once, with its set and
 * its flag; a command registered by a test is dispatched like any other; a
 * name registered twice, or a command without a handler, is refused at open.
 */
static void test_daemon_registry(void **state)
{
	const struct control_cmd dup_cmds[] = {{"status", test_cmd_peer, 0, "again"}};
	const struct control_cmd bad_cmds[] = {{"test.none", NULL, 0, "no handler"}};
	const struct control_cmd_set dup = {"dup", dup_cmds, 1}, bad = {"bad", bad_cmds, 1};
	const struct control_cmd_set *sets[] = {&control_commands, &dup};
	struct control_ctx ctx = dmn.ctx;
	unsigned int total = 0;
	json_t *r, *res, *e;
	size_t i;

	(void)state;
	r = expect_ok(json_pack("{s:s}", "cmd", "help"));
	res = json_object_get(r, "result");
	for (unsigned int s = 0; s < ctx.n_command_sets; s++) {
		const struct control_cmd_set *set = ctx.command_sets[s];

		for (unsigned int k = 0; k < set->n; k++) {
			unsigned int seen = 0;

			json_array_foreach(res, i, e)
			{
				if (strcmp(json_string_value(json_object_get(e, "cmd")),
					   set->cmds[k].name) != 0)
					continue;
				seen++;
				assert_string_equal(
					json_string_value(json_object_get(e, "subsystem")),
					set->subsystem);
				assert_string_equal(json_string_value(json_object_get(e, "help")),
						    set->cmds[k].help);
				assert_int_equal(json_is_true(json_object_get(e, "changes_state")),
						 (set->cmds[k].flags & CONTROL_CMD_WRITE) != 0);
			}
			assert_int_equal(seen, 1);
			total++;
		}
	}
	assert_int_equal(json_array_size(res), total);
	/* the daemon's 32 commands (secret.*, tls_conns, the router's 2, top, audit,
	 * config.apply_namespace, etcd, authn, authz, jwt) and the test's */
	assert_int_equal(total, 33);
	json_array_foreach(res, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "cmd"));
		bool writes = json_is_true(json_object_get(e, "changes_state"));

		if (strcmp(name, "config.apply") == 0 || strcmp(name, "tune") == 0)
			assert_true(writes);
		if (strcmp(name, "status") == 0 || strcmp(name, "config.validate") == 0)
			assert_false(writes);
	}
	json_decref(r);

	r = expect_ok(json_pack("{s:s}", "cmd", "test.peer"));
	assert_int_equal(result_int(r, "uid"), getuid());
	json_decref(r);

	ctx.command_sets = sets;
	ctx.n_command_sets = 2;
	errno = 0;
	assert_null(control_open(&ctx));
	assert_int_equal(errno, EINVAL);
	sets[1] = &bad;
	errno = 0;
	assert_null(control_open(&ctx));
	assert_int_equal(errno, EINVAL);
	/* the running daemon still serves */
	json_decref(expect_ok(json_pack("{s:s}", "cmd", "status")));
}

static void test_daemon_bad_requests(void **state)
{
	(void)state;
	expect_error(json_pack("{s:s}", "cmd", "nope"), "unknown command 'nope'");
	expect_error(json_pack("{s:i}", "cmd", 1), "\"cmd\" must be a string");
	expect_error(json_pack("{s:s}", "x", "status"), "no \"cmd\"");
	expect_error(json_pack("{s:s}", "cmd", "config.apply"), "missing argument \"text\"");
	expect_error(json_pack("{s:s, s:i}", "cmd", "config.validate", "text", 5),
		     "must be a string");
	expect_error(json_pack("{s:s, s:s}", "cmd", "log.level", "level", "loud"),
		     "unknown level 'loud'");
	expect_error(json_pack("{s:s, s:s, s:s}", "cmd", "tune", "key", "rx_burst", "value", "0"),
		     "rx_burst");
}

static void test_daemon_config_cycle(void **state)
{
	char *second = config_text(dmn.path, "second");
	json_int_t g0, g1, g2, g3;
	json_t *r;

	(void)state;
	r = expect_ok(json_pack("{s:s}", "cmd", "config.show"));
	g0 = result_int(r, "generation");
	json_decref(r);

	/* a rejected document changes nothing */
	expect_error(json_pack("{s:s, s:s}", "cmd", "config.apply", "text", "{\"version\": 99}"),
		     "version");
	r = expect_ok(json_pack("{s:s, s:s}", "cmd", "config.validate", "text", second));
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "valid")));
	json_decref(r);
	r = expect_ok(json_pack("{s:s}", "cmd", "status"));
	assert_int_equal(result_int(r, "generation"), g0);
	json_decref(r);

	r = expect_ok(json_pack("{s:s, s:s}", "cmd", "config.apply", "text", second));
	g1 = result_int(r, "generation");
	assert_int_equal(g1, g0 + 1);
	json_decref(r);
	r = expect_ok(json_pack("{s:s}", "cmd", "config.show"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "result"), "text")), second);
	json_decref(r);

	/* rollback returns to "first"; a second rollback returns to "second" */
	r = expect_ok(json_pack("{s:s}", "cmd", "config.rollback"));
	g2 = result_int(r, "generation");
	assert_int_equal(g2, g1 + 1);
	json_decref(r);
	assert_string_equal(cfg_live->node_name, "first");
	r = expect_ok(json_pack("{s:s}", "cmd", "config.rollback"));
	json_decref(r);
	assert_string_equal(cfg_live->node_name, "second");

	r = expect_ok(json_pack("{s:s, s:s, s:s}", "cmd", "tune", "key", "rx_burst", "value", "7"));
	g3 = result_int(r, "generation");
	assert_int_equal(g3, g2 + 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"), "key")),
			    "rx_burst");
	json_decref(r);
	assert_int_equal(cfg_live->tune.rx_burst, 7);
	free(second);
}

/*
 * A document that compiles but cannot be bound (a Maglev table smaller than its
 * service's endpoint count, which only building the table finds out): validate
 * refuses it with the same error as apply, and nothing changes.
 */
static void test_daemon_validate_binds(void **state)
{
	json_t *j = json_loads(cfg_default_text(), 0, NULL);
	json_t *svc, *eps = json_array();
	json_int_t g0;
	char *text;
	json_t *r;

	(void)state;
	assert_non_null(j);
	json_object_set_new(json_object_get(j, "control"), "socket", json_string(dmn.path));
	json_object_set_new(j, "mode", json_string("mesh"));
	for (int i = 0; i < 300; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.10.2.%d", 10 + i % 200);
		json_array_append_new(
			eps, json_pack("{s:s, s:i}", "address", a, "port", 8080 + i / 200));
	}
	svc = json_pack("{s:s, s:s, s:s, s:[{s:i}], s:i, s:o, s:{s:i}}", "name", "big", "namespace",
			"shop", "vip", "10.30.0.50", "ports", "port", 80, "maglev_size", 251,
			"endpoints", eps, "health", "interval_ms", 0);
	json_object_set_new(j, "services", json_pack("[o]", svc));
	text = json_dumps(j, 0);
	json_decref(j);
	assert_non_null(text);
	r = expect_ok(json_pack("{s:s}", "cmd", "config.show"));
	g0 = result_int(r, "generation");
	json_decref(r);
	expect_error(json_pack("{s:s, s:s}", "cmd", "config.validate", "text", text),
		     "service shop/big: cannot build its Maglev table");
	expect_error(json_pack("{s:s, s:s}", "cmd", "config.apply", "text", text),
		     "service shop/big: cannot build its Maglev table");
	r = expect_ok(json_pack("{s:s}", "cmd", "status"));
	assert_int_equal(result_int(r, "generation"), g0);
	json_decref(r);
	free(text);
}

static void test_daemon_log_level(void **state)
{
	json_t *r;

	(void)state;
	r = expect_ok(json_pack("{s:s, s:s}", "cmd", "log.level", "level", "debug"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "result"), "level")), "debug");
	json_decref(r);
	r = expect_ok(json_pack("{s:s}", "cmd", "log.level"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "result"), "level")), "debug");
	json_decref(r);
	assert_int_equal(log_set_level("err"), 0);
}

/* The default document turned into a small mesh: one service, two endpoints, two limits. */
static char *mesh_text(void)
{
	json_t *j = json_loads(cfg_default_text(), 0, NULL);
	const char *l4 =
		"{\"mode\": \"mesh\", \"mesh\": {\"prefixes\": [\"10.10.0.0/16\"]},"
		"\"services\": [{\"name\": \"cart\", \"namespace\": \"shop\", \"vip\": "
		"\"10.96.0.10\", \"ports\": [{\"port\": 80, \"target_port\": 8080}, {\"port\": 53, "
		"\"protocol\": \"udp\"}], \"lb\": \"round_robin\", \"endpoints\": [{\"address\": "
		"\"10.10.2.10\"}, {\"address\": \"10.10.2.11\", \"port\": 9090, \"weight\": 3, "
		"\"labels\": {\"version\": \"v2\"}}], \"breaker\": {\"consecutive_failures\": 2, "
		"\"base_ejection_ms\": 1500, \"max_ejection_percent\": 50}}],"
		"\"limits\": [{\"name\": \"cart-src\", \"service\": \"cart\", \"scope\": "
		"\"source\", "
		"\"connections_per_s\": 100}, {\"name\": \"cart-all\", \"service\": \"cart\", "
		"\"scope\": \"service\", \"packets_per_s\": 10000, \"burst\": 500, \"action\": "
		"\"reset\"}]}";
	json_t *add = json_loads(l4, 0, NULL);
	char *t;

	assert_non_null(j);
	assert_non_null(add);
	json_object_set_new(json_object_get(j, "control"), "socket", json_string(dmn.path));
	assert_int_equal(json_object_update(j, add), 0);
	json_decref(add);
	t = json_dumps(j, 0);
	json_decref(j);
	return t;
}

static json_t *find_by(json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
	{
		if (json_is_string(json_object_get(o, key)) &&
		    strcmp(json_string_value(json_object_get(o, key)), value) == 0)
			return o;
	}
	fail_msg("no %s '%s' in the result", key, value);
	return NULL;
}

static const char *str_of(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	assert_non_null(v);
	return v;
}

static json_int_t int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* services, endpoints, breakers, limits and flows of an L4 configuration. */
static void test_daemon_l4_views(void **state)
{
	char *text = mesh_text();
	struct ep_state *e0;
	json_t *r, *res, *o, *eps;

	(void)state;
	json_decref(expect_ok(json_pack("{s:s, s:s}", "cmd", "config.apply", "text", text)));
	free(text);
	/* the endpoint state the daemon bound; a worker would count these */
	e0 = cfg_live->services[0].endpoints[0].rt;
	assert_non_null(e0);
	e0->active = 2;
	e0->pending = 1;
	e0->total_connections = 7;
	e0->total_failures = 3;
	e0->consecutive_failures = 1;

	r = expect_ok(json_pack("{s:s}", "cmd", "services"));
	res = json_object_get(r, "result");
	assert_int_equal(json_array_size(res), 1);
	o = json_array_get(res, 0);
	assert_string_equal(str_of(o, "service"), "shop/cart");
	assert_string_equal(str_of(o, "name"), "cart");
	assert_string_equal(str_of(o, "namespace"), "shop");
	assert_string_equal(str_of(o, "vip"), "10.96.0.10");
	assert_string_equal(str_of(o, "lb"), "round_robin");
	assert_string_equal(str_of(o, "nat"), "dnat");
	assert_int_equal(int_of(o, "endpoints"), 2);
	assert_int_equal(int_of(o, "usable"), 2);
	assert_int_equal(int_of(o, "active"), 2);
	assert_int_equal(json_array_size(json_object_get(o, "ports")), 2);
	o = json_array_get(json_object_get(o, "ports"), 1);
	assert_int_equal(int_of(o, "port"), 53);
	assert_string_equal(str_of(o, "protocol"), "udp");
	assert_int_equal(int_of(o, "target_port"), 53);
	assert_int_equal(json_array_size(json_object_get(json_array_get(res, 0), "limits")), 2);
	json_decref(r);

	r = expect_ok(json_pack("{s:s, s:s}", "cmd", "endpoints", "service", "shop/cart"));
	eps = json_object_get(r, "result");
	assert_int_equal(json_array_size(eps), 2);
	o = find_by(eps, "endpoint", "10.10.2.10:*");
	assert_string_equal(str_of(o, "service"), "shop/cart");
	assert_string_equal(str_of(o, "address"), "10.10.2.10");
	assert_true(json_is_null(json_object_get(o, "port")));
	assert_string_equal(str_of(o, "health"), "unknown");
	assert_string_equal(str_of(o, "breaker"), "closed");
	assert_int_equal(int_of(o, "active"), 2);
	assert_int_equal(int_of(o, "pending"), 1);
	assert_int_equal(int_of(o, "connections"), 7);
	assert_int_equal(int_of(o, "failures"), 3);
	assert_int_equal(int_of(o, "ejections"), 0);
	assert_true(json_is_true(json_object_get(o, "usable")));
	o = find_by(eps, "endpoint", "10.10.2.11:9090");
	assert_int_equal(int_of(o, "port"), 9090);
	assert_int_equal(int_of(o, "weight"), 3);
	assert_string_equal(str_of(json_object_get(o, "labels"), "version"), "v2");
	json_decref(r);
	/* the bare name works too; unknown names are refused */
	r = expect_ok(json_pack("{s:s, s:s}", "cmd", "endpoints", "service", "cart"));
	assert_int_equal(json_array_size(json_object_get(r, "result")), 2);
	json_decref(r);
	expect_error(json_pack("{s:s, s:s}", "cmd", "endpoints", "service", "nope"),
		     "endpoints: unknown service 'nope'");
	expect_error(json_pack("{s:s, s:i}", "cmd", "endpoints", "service", 3), "must be a string");

	r = expect_ok(json_pack("{s:s}", "cmd", "breakers"));
	res = json_object_get(r, "result");
	assert_int_equal(json_array_size(res), 1);
	o = json_array_get(res, 0);
	assert_string_equal(str_of(o, "service"), "shop/cart");
	assert_int_equal(int_of(o, "consecutive_failures"), 2);
	assert_int_equal(int_of(o, "base_ejection_ms"), 1500);
	assert_int_equal(int_of(o, "max_ejection_percent"), 50);
	assert_int_equal(int_of(o, "n_endpoints"), 2);
	assert_int_equal(int_of(o, "ejected"), 0);
	o = find_by(json_object_get(o, "endpoints"), "endpoint", "10.10.2.10:*");
	assert_string_equal(str_of(o, "state"), "closed");
	assert_int_equal(int_of(o, "consecutive_failures"), 1);
	assert_int_equal(int_of(o, "ejected_ms"), 0);
	json_decref(r);

	r = expect_ok(json_pack("{s:s}", "cmd", "limits"));
	res = json_object_get(r, "result");
	assert_int_equal(json_array_size(res), 2);
	o = find_by(res, "name", "cart-src");
	assert_string_equal(str_of(o, "service"), "shop/cart");
	assert_string_equal(str_of(o, "scope"), "source");
	assert_int_equal(int_of(o, "connections_per_s"), 100);
	assert_int_equal(int_of(o, "connections_burst"), 100);
	assert_string_equal(str_of(o, "action"), "drop");
	assert_int_equal(int_of(o, "sources"), 0);
	o = find_by(res, "name", "cart-all");
	assert_string_equal(str_of(o, "scope"), "service");
	assert_int_equal(int_of(o, "packets_per_s"), 10000);
	assert_int_equal(int_of(o, "packets_burst"), 500);
	assert_string_equal(str_of(o, "action"), "reset");
	assert_true(json_is_null(json_object_get(o, "sources")));
	json_decref(r);

	/* flows come from the workers' mailboxes: this daemon's worker never runs */
	expect_error(json_pack("{s:s}", "cmd", "flows"), "flows: worker 0 is not running");
	expect_error(json_pack("{s:s, s:s}", "cmd", "flows", "service", "nope"),
		     "flows: unknown service 'nope'");
	expect_error(json_pack("{s:s, s:i}", "cmd", "flows", "limit", 0), "limit must be 1..10000");
	expect_error(json_pack("{s:s, s:s}", "cmd", "flows", "limit", "5"), "must be an integer");
}

/* tcp_stats and tcp_conns refuse bad arguments before asking any worker. */
static void test_daemon_tcp_args(void **state)
{
	(void)state;
	expect_error(json_pack("{s:s, s:i}", "cmd", "tcp_conns", "limit", 0),
		     "tcp_conns: limit must be 1..10000, got 0");
	expect_error(json_pack("{s:s, s:i}", "cmd", "tcp_conns", "limit", 10001),
		     "tcp_conns: limit must be 1..10000, got 10001");
	expect_error(json_pack("{s:s, s:s}", "cmd", "tcp_conns", "limit", "5"),
		     "tcp_conns: argument \"limit\" must be an integer");
	expect_error(json_pack("{s:s, s:s}", "cmd", "tcp_conns", "state", "bogus"),
		     "tcp_conns: unknown state 'bogus' (one of closed, listen, syn_sent, "
		     "syn_received, established, fin_wait_1, fin_wait_2, close_wait, closing, "
		     "last_ack, time_wait)");
	expect_error(json_pack("{s:s, s:i}", "cmd", "tcp_conns", "state", 4),
		     "tcp_conns: argument \"state\" must be a string");
	/* good arguments reach the mailbox: this daemon's worker never runs */
	expect_error(json_pack("{s:s, s:s}", "cmd", "tcp_conns", "state", "established"),
		     "tcp_conns: worker 0 is not running");
}

/* Stands in for a worker loop: answers the mailbox until told to stop. */
static int fake_worker_stop;

static void *fake_worker_main(void *arg)
{
	struct worker *w = arg;

	__atomic_store_n(&w->mbox.running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&fake_worker_stop, __ATOMIC_RELAXED)) {
		/* no flow table and a TCP stack: neither request reads the snapshot */
		if (__atomic_load_n(&w->mbox.req, __ATOMIC_RELAXED) != 0)
			worker_mailbox_serve(w, NULL, rte_rdtsc());
		usleep(200);
	}
	__atomic_store_n(&w->mbox.running, 0, __ATOMIC_RELEASE);
	return NULL;
}

static void tcp_closed_cb(struct tcp_conn *c, void *arg, enum tcp_close_reason reason)
{
	(void)c;
	(void)arg;
	(void)reason;
}

/* A SYN from 10.0.0.2:@p sport to 10.0.0.1:80, for the stack of @p pool's worker. */
static struct rte_mbuf *tcp_syn(struct rte_mempool *pool, uint16_t sport)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ipv4_hdr *ip;
	char *p;
	struct rte_tcp_hdr *th;

	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, sizeof(*ip) + sizeof(*th)));
	p = rte_pktmbuf_mtod(m, char *);
	memset(p, 0, sizeof(*ip) + sizeof(*th));
	ip = (struct rte_ipv4_hdr *)p;
	th = (struct rte_tcp_hdr *)(p + sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = htons(sizeof(*ip) + sizeof(*th));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = htonl(0x0a000002);
	ip->dst_addr = htonl(0x0a000001);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = htons(sport);
	th->dst_port = htons(80);
	th->sent_seq = htonl(1000);
	th->data_off = 5 << 4;
	th->tcp_flags = RTE_TCP_SYN_FLAG;
	th->rx_win = htons(65535);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}

static json_t *state_counts_of(json_t *res)
{
	json_t *st = json_object_get(res, "states");

	assert_true(json_is_object(st));
	assert_int_equal(json_object_size(st), TCP_STATE_MAX);
	return st;
}

/*
 * tcp_stats reads the worker's TCP stack; tcp_conns goes through the worker's
 * mailbox (the kind the flows listing uses too), answered by a stand-in loop.
 */
static void test_daemon_tcp_views(void **state)
{
	struct worker *w = &dmn.ws.w[0];
	const struct tcp_callbacks cbs = {.closed = tcp_closed_cb};
	struct tcp_addr local = {.family = 4, .v4 = htonl(0x0a000001)};
	const uint8_t secret[16] = {7};
	struct rte_mempool *pool;
	json_t *r, *res, *o, *conns;
	pthread_t thr;

	(void)state;
	/* no TCP stack yet: every state at 0, the TCP counters only */
	r = expect_ok(json_pack("{s:s}", "cmd", "tcp_stats"));
	res = json_object_get(r, "result");
	assert_int_equal(int_of(state_counts_of(res), "established"), 0);
	assert_int_equal(json_array_size(json_object_get(res, "workers")), 1);
	o = json_array_get(json_object_get(res, "workers"), 0);
	assert_int_equal(int_of(o, "worker"), 0);
	assert_int_equal(int_of(state_counts_of(o), "syn_received"), 0);
	o = json_object_get(res, "counters");
	assert_int_equal(int_of(o, "tcp_segs_in"), 0);
	assert_int_equal(int_of(o, "tcp_cookies_sent"), 0);
	assert_int_equal(int_of(o, "drop_tcp_bad_csum"), 0);
	assert_null(json_object_get(o, "rx_frames"));
	json_decref(r);

	/* the worker's proxy with a listener and two half-open connections; its
	 * SYN-ACKs go nowhere (the proxy has no snapshot yet and drops them) */
	pool = rte_pktmbuf_pool_create("ctl_tcp", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	assert_non_null(pool);
	w->net.pool = pool;
	w->net.tsc_hz = rte_get_tsc_hz();
	w->proxy = proxy_worker_create(&w->net, &w->l4, &dmn.ws.stats[0], 0, 64, SOCKET_ID_ANY,
				       secret, 0);
	assert_non_null(w->proxy);
	assert_non_null(tcp_listen(proxy_tcp_stack(w->proxy), &local, 80, NULL, &cbs, NULL));
	assert_true(tcp_input(proxy_tcp_stack(w->proxy), tcp_syn(pool, 40000), 1000));
	assert_true(tcp_input(proxy_tcp_stack(w->proxy), tcp_syn(pool, 40001), 1000));

	r = expect_ok(json_pack("{s:s}", "cmd", "tcp_stats"));
	res = json_object_get(r, "result");
	assert_int_equal(int_of(state_counts_of(res), "syn_received"), 2);
	assert_int_equal(int_of(state_counts_of(res), "established"), 0);
	o = json_array_get(json_object_get(res, "workers"), 0);
	assert_int_equal(int_of(state_counts_of(o), "syn_received"), 2);
	assert_int_equal(int_of(json_object_get(res, "counters"), "tcp_segs_in"), 2);
	json_decref(r);

	__atomic_store_n(&fake_worker_stop, 0, __ATOMIC_RELAXED);
	assert_int_equal(pthread_create(&thr, NULL, fake_worker_main, w), 0);
	while (!__atomic_load_n(&w->mbox.running, __ATOMIC_ACQUIRE))
		usleep(100);

	r = expect_ok(json_pack("{s:s}", "cmd", "tcp_conns"));
	res = json_object_get(r, "result");
	assert_true(json_is_false(json_object_get(res, "truncated")));
	conns = json_object_get(res, "conns");
	assert_int_equal(json_array_size(conns), 2);
	o = find_by(conns, "remote", "10.0.0.2:40000");
	assert_int_equal(json_object_size(o), 24);
	assert_int_equal(int_of(o, "worker"), 0);
	assert_string_equal(str_of(o, "local"), "10.0.0.1:80");
	assert_string_equal(str_of(o, "state"), "syn_received");
	assert_string_equal(str_of(o, "cc"), "newreno");
	assert_int_equal(int_of(o, "rcv_nxt"), 1001);
	assert_int_equal(int_of(o, "snd_nxt") - int_of(o, "snd_una"), 1); /* the SYN-ACK */
	assert_true(int_of(o, "mss") > 0);
	assert_true(int_of(o, "rto_us") > 0);
	assert_int_equal(int_of(o, "send_queued"), 0);
	assert_int_equal(int_of(o, "retransmits"), 0);
	assert_true(json_is_false(json_object_get(o, "sack"))); /* the SYN offered none */
	assert_true(json_is_false(json_object_get(o, "ecn")));
	assert_true(json_is_false(json_object_get(o, "in_recovery")));
	assert_string_equal(str_of(o, "wscale"), "0/0");
	find_by(conns, "remote", "10.0.0.2:40001");
	json_decref(r);

	/* the limit truncates; a state filters on the worker */
	r = expect_ok(json_pack("{s:s, s:i}", "cmd", "tcp_conns", "limit", 1));
	res = json_object_get(r, "result");
	assert_int_equal(json_array_size(json_object_get(res, "conns")), 1);
	assert_true(json_is_true(json_object_get(res, "truncated")));
	json_decref(r);
	r = expect_ok(json_pack("{s:s, s:s, s:i}", "cmd", "tcp_conns", "state", "syn_received",
				"limit", 2));
	res = json_object_get(r, "result");
	assert_int_equal(json_array_size(json_object_get(res, "conns")), 2);
	assert_true(json_is_false(json_object_get(res, "truncated")));
	json_decref(r);
	r = expect_ok(json_pack("{s:s, s:s}", "cmd", "tcp_conns", "state", "established"));
	res = json_object_get(r, "result");
	assert_int_equal(json_array_size(json_object_get(res, "conns")), 0);
	assert_true(json_is_false(json_object_get(res, "truncated")));
	json_decref(r);
	/* the same mailbox answers the other kind of request */
	r = expect_ok(json_pack("{s:s}", "cmd", "flows"));
	res = json_object_get(r, "result");
	assert_int_equal(json_array_size(json_object_get(res, "flows")), 0);
	json_decref(r);

	__atomic_store_n(&fake_worker_stop, 1, __ATOMIC_RELAXED);
	pthread_join(thr, NULL);
	proxy_worker_free(w->proxy);
	w->proxy = NULL;
	memset(&w->l4, 0, sizeof(w->l4));
	rte_mempool_free(pool);
}

/* Raw socket: several requests in one write, a NUL line, then an oversized line. */
static void test_daemon_framing(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct ctl_framer f;
	char buf[4096], *line, *big;
	size_t len;
	int lines = 0;
	ssize_t r;

	(void)state;
	strcpy(sa.sun_path, dmn.path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	const char pipelined[] = "{\"cmd\":\"log.level\"}\n\n{\"cmd\":\"nope\"}\r\na\0b\n";
	assert_int_equal(write(fd, pipelined, sizeof(pipelined) - 1), sizeof(pipelined) - 1);
	ctl_framer_init(&f, 1 << 16);
	while (lines < 3 && (r = read(fd, buf, sizeof(buf))) > 0) {
		ctl_framer_feed(&f, buf, (size_t)r);
		while (ctl_framer_next(&f, &line, &len) == 1) {
			lines++;
			if (lines == 1)
				assert_non_null(strstr(line, "\"ok\":true"));
			if (lines == 2)
				assert_non_null(strstr(line, "unknown command"));
			if (lines == 3)
				assert_non_null(strstr(line, "NUL byte"));
		}
	}
	assert_int_equal(lines, 3);

	big = malloc(CTL_MSG_MAX + 2);
	memset(big, 'x', CTL_MSG_MAX + 1);
	big[CTL_MSG_MAX + 1] = '\n';
	/* the daemon answers and closes before taking it all: ignore EPIPE */
	signal(SIGPIPE, SIG_IGN);
	r = send(fd, big, CTL_MSG_MAX + 2, MSG_NOSIGNAL);
	(void)r;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		ctl_framer_feed(&f, buf, (size_t)r);
		while (ctl_framer_next(&f, &line, &len) == 1) {
			assert_non_null(strstr(line, "request too large"));
			lines++;
		}
	}
	assert_int_equal(lines, 4);
	assert_int_equal(r, 0); /* closed by the daemon */
	ctl_framer_free(&f);
	free(big);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framer_split_lines),
		cmocka_unit_test(test_framer_partial_reads),
		cmocka_unit_test(test_framer_empty_lines),
		cmocka_unit_test(test_framer_nul_byte),
		cmocka_unit_test(test_framer_oversize),
		cmocka_unit_test(test_framer_buffer_bounded),
		cmocka_unit_test(test_reply_helpers),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_failures),
	};

	const struct CMUnitTest daemon_tests[] = {
		cmocka_unit_test(test_daemon_socket_mode),
		cmocka_unit_test(test_daemon_status_stats),
		cmocka_unit_test(test_daemon_registry),
		cmocka_unit_test(test_daemon_bad_requests),
		cmocka_unit_test(test_daemon_config_cycle),
		cmocka_unit_test(test_daemon_validate_binds),
		cmocka_unit_test(test_daemon_log_level),
		cmocka_unit_test(test_daemon_framing),
		cmocka_unit_test(test_daemon_l4_views),
		cmocka_unit_test(test_daemon_tcp_args),
		cmocka_unit_test(test_daemon_tcp_views),
	};
	int failed;

	failed = cmocka_run_group_tests(tests, NULL, NULL);
	test_eal_init();
	return failed + cmocka_run_group_tests(daemon_tests, daemon_setup, daemon_teardown);
}
