/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl: the control-socket protocol shared by the daemon (dataplane/control) and
 * meshctl.
 *
 * Transport: a Unix SOCK_STREAM socket (default CTL_DEFAULT_SOCKET). Each request
 * is one JSON object on one line terminated by '\n':
 *     {"cmd": "status"}            {"cmd": "config.apply", "text": "..."}
 * Each reply is one JSON object on one line terminated by '\n':
 *     {"ok": true, "result": ...}  {"ok": false, "error": "message"}
 * A connection may carry several requests; replies come back in order. Requests
 * longer than CTL_MSG_MAX bytes (without the '\n') are refused and the
 * connection is closed. Empty lines are ignored; a line containing a NUL byte
 * is refused. Commands and their results are documented in docs/OPERATIONS.md.
 *
 * Threads: nothing here keeps global state; every function may be called from
 * any thread on its own objects.
 */
#ifndef MESHDP_CTL_H
#define MESHDP_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define CTL_DEFAULT_SOCKET "/run/meshdp/meshdp.sock"
#define CTL_MSG_MAX	   (2u << 20)  /* largest request line, '\n' excluded */
#define CTL_TEXT_MAX	   (1u << 20)  /* largest config document (CFG_TEXT_MAX) */
#define CTL_REPLY_MAX	   (16u << 20) /* largest reply line a client accepts */

/**
 * An incremental line framer: feed it bytes as they arrive, take complete lines
 * out. Lines longer than its maximum make it fail for good (the stream cannot be
 * resynchronised, so the caller closes the connection).
 */
struct ctl_framer {
	char *buf;
	size_t cap;   /* allocated bytes */
	size_t start; /* first byte not yet returned */
	size_t len;   /* bytes held, from buf[0] */
	size_t cur;   /* bytes of the unterminated line at the tail */
	size_t max;   /* longest accepted line */
	bool overflow;
};

/** Prepare @p f for lines of at most @p max bytes. Allocates nothing yet. */
void ctl_framer_init(struct ctl_framer *f, size_t max);

/** Release the framer's buffer; @p f can be initialised again. */
void ctl_framer_free(struct ctl_framer *f);

/**
 * Append @p n bytes. Invalidates lines returned earlier.
 * @return 0; -E2BIG once a line exceeds the maximum (the complete lines before it
 *         can still be taken); -ENOMEM.
 */
int ctl_framer_feed(struct ctl_framer *f, const void *data, size_t n);

/**
 * Take the next complete line. Empty lines are skipped; a trailing '\r' is removed.
 * @param line set to the line, NUL-terminated in place, valid until the next feed.
 * @param len set to its length.
 * @return 1 with a line; 0 when no complete line is held; -EBADMSG for a line that
 *         contained a NUL byte (the line is consumed, the stream stays usable);
 *         -E2BIG when the next line is over the maximum (permanent).
 */
int ctl_framer_next(struct ctl_framer *f, char **line, size_t *len);

/** @return bytes held that are not yet returned as lines. */
size_t ctl_framer_pending(const struct ctl_framer *f);

/** @return a new reply {"ok": true, "result": result}; steals @p result (NULL: null). */
json_t *ctl_reply_ok(json_t *result);

/** @return a new reply {"ok": false, "error": formatted message}. */
json_t *ctl_reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Encode @p msg as one compact line ending in '\n'.
 * @return a malloc'd string with its length in *@p len, or NULL on allocation failure.
 */
char *ctl_encode(const json_t *msg, size_t *len);

/**
 * Connect to @p path, send @p req, wait for one reply line and parse it.
 * @param timeout_ms total time allowed for connect, send and receive.
 * @param reply set to the reply object on success (caller decrefs).
 * @param err filled with a message on failure.
 * @return 0; a negative errno: -ENOENT / -ECONNREFUSED / -EACCES (no daemon or no
 *         access to the socket), -ETIMEDOUT, -EMSGSIZE (request over CTL_MSG_MAX),
 *         -EPROTO (the daemon closed the connection or sent a malformed reply).
 */
int ctl_request(const char *path, const json_t *req, int timeout_ms, json_t **reply, char *err,
		size_t errlen);

#endif
