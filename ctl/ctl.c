/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define CTL_FRAMER_MIN_CAP 4096
#define CTL_READ_CHUNK	   65536

void ctl_framer_init(struct ctl_framer *f, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->max = max;
}

void ctl_framer_free(struct ctl_framer *f)
{
	free(f->buf);
	ctl_framer_init(f, f->max);
}

static int ctl_framer_reserve(struct ctl_framer *f, size_t need)
{
	size_t cap = f->cap ? f->cap : CTL_FRAMER_MIN_CAP;
	char *nb;

	if (need <= f->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	nb = realloc(f->buf, cap);
	if (nb == NULL)
		return -ENOMEM;
	f->buf = nb;
	f->cap = cap;
	return 0;
}

int ctl_framer_feed(struct ctl_framer *f, const void *data, size_t n)
{
	const char *p = data;
	size_t remain = n, accept = 0;

	if (f->overflow)
		return -E2BIG;
	/* Drop what was already returned so that the buffer holds at most the
	 * unread lines plus one partial line. */
	if (f->start > 0) {
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->start = 0;
	}
	while (remain > 0) {
		const char *nl = memchr(p, '\n', remain);
		size_t seg = nl ? (size_t)(nl - p) : remain;

		if (f->cur + seg > f->max) {
			f->overflow = true;
			break;
		}
		if (nl == NULL) {
			accept += seg;
			f->cur += seg;
			break;
		}
		accept += seg + 1;
		f->cur = 0;
		p = nl + 1;
		remain -= seg + 1;
	}
	if (accept > 0) {
		if (ctl_framer_reserve(f, f->len + accept + 1) < 0)
			return -ENOMEM;
		memcpy(f->buf + f->len, data, accept);
		f->len += accept;
	}
	return f->overflow ? -E2BIG : 0;
}

int ctl_framer_next(struct ctl_framer *f, char **line, size_t *len)
{
	while (f->start < f->len) {
		char *s = f->buf + f->start;
		char *nl = memchr(s, '\n', f->len - f->start);
		size_t l;

		if (nl == NULL)
			break;
		l = (size_t)(nl - s);
		*nl = '\0';
		f->start += l + 1;
		if (l > 0 && s[l - 1] == '\r')
			s[--l] = '\0';
		if (l == 0)
			continue;
		if (memchr(s, '\0', l) != NULL)
			return -EBADMSG;
		*line = s;
		*len = l;
		return 1;
	}
	return f->overflow ? -E2BIG : 0;
}

size_t ctl_framer_pending(const struct ctl_framer *f)
{
	return f->len - f->start;
}

json_t *ctl_reply_ok(json_t *result)
{
	return json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_null());
}

json_t *ctl_reply_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

char *ctl_encode(const json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t l;
	char *out;

	if (s == NULL)
		return NULL;
	l = strlen(s);
	out = realloc(s, l + 2);
	if (out == NULL) {
		free(s);
		return NULL;
	}
	out[l] = '\n';
	out[l + 1] = '\0';
	*len = l + 1;
	return out;
}

static int64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @p events on @p fd until @p deadline. @return 0, -ETIMEDOUT or -errno. */
static int ctl_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		int64_t left = deadline - ctl_now_ms();
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc > 0)
			return 0;
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int ctl_send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		int rc;

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = ctl_wait(fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int ctl_check_reply(json_t *reply, char *err, size_t errlen)
{
	json_t *ok = json_object_get(reply, "ok");

	if (!json_is_object(reply) || !json_is_boolean(ok)) {
		snprintf(err, errlen, "malformed reply: not an object with a boolean \"ok\"");
		return -EPROTO;
	}
	if (json_is_false(ok) && !json_is_string(json_object_get(reply, "error"))) {
		snprintf(err, errlen, "malformed reply: error without a message");
		return -EPROTO;
	}
	return 0;
}

static int ctl_recv_reply(int fd, int64_t deadline, json_t **reply, char *err, size_t errlen)
{
	struct ctl_framer f;
	char *chunk = malloc(CTL_READ_CHUNK);
	int rc;

	if (chunk == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ctl_framer_init(&f, CTL_REPLY_MAX);
	for (;;) {
		char *line;
		size_t len;
		ssize_t r;

		rc = ctl_framer_next(&f, &line, &len);
		if (rc == 1) {
			json_error_t jerr;

			*reply = json_loadb(line, len, 0, &jerr);
			if (*reply == NULL) {
				snprintf(err, errlen, "malformed reply: %s", jerr.text);
				rc = -EPROTO;
			} else {
				rc = ctl_check_reply(*reply, err, errlen);
				if (rc < 0) {
					json_decref(*reply);
					*reply = NULL;
				}
			}
			break;
		}
		if (rc < 0) {
			snprintf(err, errlen, "malformed reply: %s",
				 rc == -E2BIG ? "longer than the maximum" : "contains a NUL byte");
			rc = -EPROTO;
			break;
		}
		r = recv(fd, chunk, CTL_READ_CHUNK, 0);
		if (r > 0) {
			rc = ctl_framer_feed(&f, chunk, (size_t)r);
			if (rc == -ENOMEM) {
				snprintf(err, errlen, "out of memory");
				break;
			}
			continue;
		}
		if (r == 0) {
			snprintf(err, errlen, "the daemon closed the connection without replying");
			rc = -EPROTO;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			rc = -errno;
			snprintf(err, errlen, "receive failed: %s", strerror(errno));
			break;
		}
		rc = ctl_wait(fd, POLLIN, deadline);
		if (rc < 0) {
			snprintf(err, errlen, "no reply within the timeout");
			break;
		}
	}
	ctl_framer_free(&f);
	free(chunk);
	return rc;
}

int ctl_request(const char *path, const json_t *req, int timeout_ms, json_t **reply, char *err,
		size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = ctl_now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	char *msg = NULL;
	size_t len;
	int fd, rc;

	*reply = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long (max %zu bytes): %s",
			 sizeof(sa.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	msg = ctl_encode(req, &len);
	if (msg == NULL) {
		snprintf(err, errlen, "cannot encode the request");
		return -ENOMEM;
	}
	if (len - 1 > CTL_MSG_MAX) {
		snprintf(err, errlen, "request too large (%zu bytes, max %u bytes)", len - 1,
			 CTL_MSG_MAX);
		free(msg);
		return -EMSGSIZE;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(msg);
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		goto out;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		goto out;
	}
	rc = ctl_send_all(fd, msg, len, deadline);
	/* A daemon that refuses the connection (permission, too many clients) replies
	 * and closes at once: read that reply rather than report a broken pipe. */
	if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET) {
		snprintf(err, errlen, "cannot send the request: %s",
			 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		goto out;
	}
	rc = ctl_recv_reply(fd, deadline, reply, err, errlen);
out:
	close(fd);
	free(msg);
	return rc;
}
