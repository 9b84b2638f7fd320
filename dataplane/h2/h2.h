/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * h2: the HTTP/2 framing layer, server and client sides, over Debian's libnghttp2.
 * I/O-free: the caller feeds what the client sent (h2_conn_recv(), which runs
 * nghttp2_session_mem_recv) and takes what goes back (h2_conn_send(),
 * nghttp2_session_mem_send); nghttp2 never calls a socket. One struct h2_conn
 * per client connection, owned by the worker that owns the connection; its
 * callbacks run from inside h2_conn_recv() (request events) and
 * h2_conn_send() (response body reads) only.
 *
 * Implements (through nghttp2, with its HTTP messaging checks on):
 *   RFC 9113 3.4   the client connection preface; 6.5 SETTINGS (ours:
 *              MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE,
 *              MAX_HEADER_LIST_SIZE); 6.9 flow control, with manual window
 *              updates: a stream's received DATA opens the windows again only
 *              when the caller says it was consumed (h2_stream_consume(), so
 *              the window follows what the next hop takes); 6.8 GOAWAY (a
 *              graceful one by h2_conn_drain()); 8.1 request messages (8.1.1
 *              malformed ones reset: content-length against DATA, 8.2.2
 *              connection-specific fields, 8.3 pseudo-headers), HPACK (RFC 7541)
 * Abuse limits (per connection, counted, the connection closed with GOAWAY
 * ENHANCE_YOUR_CALM): RST_STREAM frames per second (rapid reset,
 * CVE-2023-44487), SETTINGS + PING frames per second and acks left unsent
 * (nghttp2's max_outbound_ack), empty DATA frames without END_STREAM per
 * second, CONTINUATION frames per header block (nghttp2's max_continuations, 8:
the CVE-2024-28182 fix Debian backported to 1.52.0-1+deb12u2: a HEADERS
without END_HEADERS followed by endless CONTINUATION frames, CVE-2024-27316's
class, is cut after 8 frames whatever their size), response
DATA that a closed window of the client kept from moving (less than
H2_STALL_PROGRESS bytes in window_stall_ms, so that a window opened a few bytes
at a time does not count as moving: h2_stream_stall_check(),
h2_conn_stall_check()); a header
 * list over max_header_list_size (name + value + 32 per field, RFC 9113 6.5.2)
 * is not kept: the request is flagged (H2_HEADERS_TOO_LARGE) for the caller to
 * refuse, while HPACK decoding goes on so that the connection stays in sync.
 * Client side (h2_client_create(), the upstream connections of HTTP/2
 * clusters): the same I/O-free driving; requests by h2_request(), whose
 * response heads, DATA and trailers come through the same callbacks (every
 * header block of a stream: the caller tells a 1xx, the final head and the
 * trailers apart by :status), SETTINGS_ENABLE_PUSH 0, the peer's
 * MAX_CONCURRENT_STREAMS and GOAWAY respected (h2_conn_can_open()).
 * Trailers are sent when the read callback's body ends and the trailers
 * callback gives fields (HEADERS with END_STREAM after the DATA).
 * Request trailers on the server side come through the trailer callback.
 * Not implemented: server push, priorities (nghttp2's defaults).
 *
 * Memory: nghttp2 allocates through an allocator of this layer that counts
 * the bytes a connection holds (h2_conn_mem()).
 */
#ifndef MESHDP_H2_H
#define MESHDP_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../stats/stats.h"

/** HTTP/2 error codes (RFC 9113 7) the callers use. */
enum h2_error_code {
	H2_NO_ERROR = 0x0,
	H2_PROTOCOL_ERROR = 0x1,
	H2_INTERNAL_ERROR = 0x2,
	H2_REFUSED_STREAM = 0x7,
	H2_CANCEL = 0x8,
	H2_ENHANCE_YOUR_CALM = 0xb,
};

/** Limits of one connection (the listener's http.http2 block). Zero: the default. */
struct h2_limits {
	uint32_t max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS (default 100) */
	uint32_t max_header_list_size;	 /* bytes, as RFC 9113 6.5.2 counts (default 65536) */
	uint32_t initial_window_size;	 /* a stream's receive window (default 65535) */
	uint32_t connection_window;	 /* the connection's receive window (default 1 MiB) */
	uint32_t max_resets_per_s;	 /* RST_STREAM frames from the client (default 100) */
	uint32_t max_control_per_s;	 /* SETTINGS + PING frames (default 100) */
	uint32_t max_empty_data_per_s;	 /* empty DATA frames without END_STREAM (default 100) */
	uint32_t window_stall_ms; /* response DATA waiting on a closed window (default 10000) */
};

/* h2_callbacks.headers_done flags */
#define H2_HDRS_END_STREAM 0x1u /* no body follows */
#define H2_HDRS_TOO_LARGE  0x2u /* the list went over max_header_list_size: fields were dropped */

struct h2_conn;

/** A header field to send: h2_respond(), h2_request(), trailers (names lower case). */
struct h2_field {
	const char *name;
	uint32_t nlen;
	const char *value;
	uint32_t vlen;
};

/**
 * What a connection tells its user. @p arg is h2_conn_create()'s, @p st the
 * pointer stream_open() returned for the stream.
 */
struct h2_callbacks {
	/* A client opened stream @p id (its request head begins). @return the
	 * stream's pointer; NULL refuses it (RST_STREAM REFUSED_STREAM). */
	void *(*stream_open)(void *arg, int32_t id);
	/* One field of the request head, pseudo-headers first, names lower case
	 * (nghttp2 checked both). @return 0, or -1 to drop the rest of the list
	 * (it is then flagged H2_HDRS_TOO_LARGE). */
	int (*header)(void *arg, void *st, const uint8_t *name, size_t nlen, const uint8_t *value,
		      size_t vlen);
	/* The request head is complete (H2_HDRS_* flags). */
	void (*headers_done)(void *arg, void *st, unsigned int flags);
	/* Request body bytes (valid during the call); the windows open again
	 * only as the caller calls h2_stream_consume() for them. */
	void (*data)(void *arg, void *st, const uint8_t *p, size_t len);
	/* Optional, server side: one field of the request's trailer section (a
	 * HEADERS after the body, RFC 9113 8.1; nghttp2 refused pseudo-headers
	 * in it), valid during the call; fields past max_header_list_size are
	 * not passed. end_stream follows. */
	void (*trailer)(void *arg, void *st, const uint8_t *name, size_t nlen, const uint8_t *value,
			size_t vlen);
	/* END_STREAM after the head (the body is complete). */
	void (*end_stream)(void *arg, void *st);
	/* The stream is over for nghttp2 (closed or reset either way): @p st is
	 * not passed again. @p error_code: RST_STREAM's code, H2_NO_ERROR for a
	 * clean end. */
	void (*closed)(void *arg, void *st, uint32_t error_code);
	/* The response body of @p st: copy up to @p len bytes into @p buf.
	 * @return bytes written; *@p eof when they are the last. 0 without eof:
	 * none yet (the stream waits for h2_stream_resume()). With send_data,
	 * @p buf is NULL: @return how many of the next bytes (at most @p len)
	 * the next DATA frame carries, without taking them. */
	size_t (*read)(void *arg, void *st, uint8_t *buf, size_t len, bool *eof);
	/* Optional: DATA frames without a copy (nghttp2's NO_COPY). Inside
	 * h2_conn_send(), after the bytes it returned so far: send the frame
	 * header @p hd (9 bytes), then the @p len bytes read promised, taken
	 * from the stream's queue. @return 0, -EAGAIN (no room now: called
	 * again later for the same frame, before any other) or -1 (the
	 * connection fails). */
	int (*send_data)(void *arg, void *st, const uint8_t *hd, size_t len);
	/* Optional: once read gave eof, the trailer fields of @p st (*@p f, valid
	 * until the next call on the connection). @return how many; 0: none (the
	 * last DATA frame ends the stream). */
	size_t (*trailers)(void *arg, void *st, const struct h2_field **f);
};

/**
 * A server connection whose client preface and frames come through
 * h2_conn_recv(); our SETTINGS are queued. @p stats: the worker's counters.
 * @return NULL when out of memory.
 */
struct h2_conn *h2_conn_create(const struct h2_limits *lim, const struct h2_callbacks *cb,
			       void *arg, struct stats_block *stats);

/** Free it (no callback runs; the streams' pointers are the caller's to drop). */
void h2_conn_free(struct h2_conn *c);

/**
 * Feed @p len bytes the client sent; @p now_us: the worker's clock (the
 * per-second limits). @return 0, or -1: the connection is over (a connection
 * error or a limit; what h2_conn_send() still gives is its GOAWAY).
 */
int h2_conn_recv(struct h2_conn *c, const uint8_t *p, size_t len, uint64_t now_us);

/**
 * The next bytes to send to the client: *@p data (valid until the next call)
 * of the returned length; 0 when nothing is to be sent now, -1 on a fatal
 * error (out of memory).
 */
ssize_t h2_conn_send(struct h2_conn *c, const uint8_t **data);

/** True when the connection is finished both ways (after GOAWAY, no stream left): close it. */
bool h2_conn_done(const struct h2_conn *c);

/**
 * An HTTP/1.1 request with "Upgrade: h2c" was answered 101 (RFC 7540 3.2):
 * its HTTP2-Settings (@p settings, base64url-decoded) count as the client's
 * SETTINGS and stream 1 is its request, half-closed (remote), with pointer
 * @p st. @p head: the request was HEAD. Before any h2_conn_recv().
 * @return 0, or -1 (bad settings, out of memory).
 */
int h2_conn_upgrade(struct h2_conn *c, const uint8_t *settings, size_t len, bool head, void *st);

/** Graceful drain: GOAWAY NO_ERROR with the last stream seen; open streams finish. */
void h2_conn_drain(struct h2_conn *c);

/** Bytes nghttp2 holds for the connection (its streams, HPACK tables, queues). */
size_t h2_conn_mem(const struct h2_conn *c);

/**
 * Respond on stream @p id: the :status and @p n fields of @p f (copied),
 * then a body read through the read callback when @p body, else END_STREAM
 * with the head. @return 0 or -1 (the stream is gone).
 */
int h2_respond(struct h2_conn *c, int32_t id, unsigned int status, const struct h2_field *f,
	       size_t n, bool body);

/**
 * An informational response on stream @p id before its final one (RFC 9113
 * 8.1: a HEADERS without END_STREAM): 1xx @p status (not 101) and @p n fields
 * of @p f (copied). @return 0 or -1.
 */
int h2_informational(struct h2_conn *c, int32_t id, unsigned int status, const struct h2_field *f,
		     size_t n);

/** More of stream @p id's response body is ready (or its end): read it again. */
void h2_stream_resume(struct h2_conn *c, int32_t id);

/**
 * @p n of the DATA bytes received on stream @p id went on (or were dropped):
 * open the windows by as much; a stream already closed opens the
 * connection's only (what it held must be given back, or the connection's
 * window shrinks for good).
 */
void h2_stream_consume(struct h2_conn *c, int32_t id, size_t n);

/** Reset stream @p id with @p code. */
void h2_stream_reset(struct h2_conn *c, int32_t id, uint32_t code);

/** Bytes that end a stall: a window opened by less in window_stall_ms is still closed. */
#define H2_STALL_PROGRESS 16384

/** A stall clock (zeroed at first): since when DATA waits, and what went since. */
struct h2_stall {
	uint64_t since_us; /* 0: no stall */
	uint32_t sent;
};

/** The read callback gave @p n bytes of the stall's stream (or connection). */
void h2_stall_sent(struct h2_stall *st, size_t n);

/**
 * Window starvation of stream @p id, from the caller's timer (at least once a
 * second): @p pending, response bytes of the stream wait to go. From a check
 * that finds them waiting with the stream's send window (the client's receive
 * window) below H2_STALL_PROGRESS, @p st (the caller's, per stream; the caller calls
 * h2_stall_sent() whenever the read callback gave bytes) keeps the time,
 * until H2_STALL_PROGRESS bytes went or nothing waits. Past window_stall_ms
 * the stream is reset (RST_STREAM CANCEL, h2_window_stall_resets): its closed
 * callback follows from h2_conn_send(). @return true when it was reset.
 */
bool h2_stream_stall_check(struct h2_conn *c, int32_t id, bool pending, struct h2_stall *st,
			   uint64_t now_us);

/**
 * The same for the connection's send window: @p pending, some stream has
 * response bytes waiting; less than H2_STALL_PROGRESS bytes went in
 * window_stall_ms from a check that found the window below H2_STALL_PROGRESS:
 * GOAWAY ENHANCE_YOUR_CALM (h2_window_stall_closed).
 * @return true when the connection is over (flush its GOAWAY, close).
 */
bool h2_conn_stall_check(struct h2_conn *c, bool pending, uint64_t now_us);

/** Stream @p id's pointer is dropped: no callback passes it again (its frames are discarded). */
void h2_stream_forget(struct h2_conn *c, int32_t id);

/* ---- the client side ---- */

/**
 * A client connection (to an upstream endpoint): the connection preface and
 * our SETTINGS are queued for h2_conn_send(); the peer's frames come through
 * h2_conn_recv(). stream_open of @p cb is not used. @return NULL when out of memory.
 */
struct h2_conn *h2_client_create(const struct h2_limits *lim, const struct h2_callbacks *cb,
				 void *arg, struct stats_block *stats);

/**
 * Open a stream: the request head of @p n fields (pseudo-headers first,
 * copied), then a body through the read callback when @p body (else
 * END_STREAM with the head). @p st: the stream's pointer for the callbacks.
 * @return the stream id, or -1 (GOAWAY received, no stream ids left, out of memory).
 */
int32_t h2_request(struct h2_conn *c, const struct h2_field *f, size_t n, bool body, void *st);

/** May a stream open now, with @p open streams of ours open: no GOAWAY either way, below the peer's MAX_CONCURRENT_STREAMS. */
bool h2_conn_can_open(const struct h2_conn *c, uint32_t open);

/** The peer sent GOAWAY (or the connection failed): no new stream on it. */
bool h2_conn_peer_goaway(const struct h2_conn *c);

#endif
