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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/ctl.h"

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

	return cmocka_run_group_tests(tests, NULL, NULL);
}
