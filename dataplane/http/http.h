/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http: the HTTP/1.1 codec. A strict, incremental, zero-copy parser of
 * request and response heads and bodies on mbuf chains (as tcp_recv() hands
 * them out), and a serializer that writes a (possibly edited) head into new
 * mbufs so that a proxy re-serializes only the head and forwards the body's
 * mbufs untouched. I/O-free, no heap, no locks: one parser per connection
 * direction, owned by the worker that owns the connection.
 *
 * Implements (strict: where the RFCs let a recipient be lenient, we refuse):
 *   RFC 9112 2.1, 2.2  message format; CRLF line endings only (a bare LF or a
 *              bare CR is refused); empty lines before a request line are
 *              skipped (2.2, within the head limit), before a status line
 *              refused; a line starting
 *              with SP / HTAB after the start line (obs-fold, 5.2) is refused
 *   RFC 9112 3     request line: method SP request-target SP HTTP-version,
 *              single spaces; 3.2 the four target forms (origin, absolute,
 *              authority for CONNECT only, asterisk for OPTIONS only); 3.2.2
 *              an absolute-form target's authority wins over Host; 3.2 Host
 *              required in HTTP/1.1, at most one
 *   RFC 9112 2.3   HTTP-version "HTTP/" DIGIT "." DIGIT; major 1 only (505);
 *              a minor above 1 is taken as 1.1
 *   RFC 9112 4     status line; the SP before an empty reason may be missing
 *   RFC 9112 5     field lines: token name, no whitespace before the colon
 *              (5.1), OWS trimmed around the value, value bytes VCHAR /
 *              obs-text / SP / HTAB (RFC 9110 5.5; NUL and other CTLs refused)
 *   RFC 9112 6.1   Transfer-Encoding: requests accept exactly the coding
 *              "chunked" (any case), anything else known-shaped is 501,
 *              malformed lists 400; responses accept codings with chunked,
 *              if present, last; Transfer-Encoding in an HTTP/1.0 request
 *              is refused
 *   RFC 9112 6.2, 6.3  message body length: the rules in order, with
 *              Content-Length and Transfer-Encoding together refused (not
 *              TE-wins) and any second Content-Length refused, even equal;
 *              responses to HEAD, 1xx, 204, 304 have no body, 2xx to CONNECT
 *              and 101 make a tunnel, otherwise a response without framing
 *              runs until close
 *   RFC 9112 7.1   chunked coding: chunk-size (hex, below 2^60), chunk-ext
 *              (7.1.1: BWS ";" BWS token [BWS "=" BWS token / quoted-string]),
 *              CRLF after each chunk's data, last-chunk, trailer section (7.1.2,
 *              fields checked as header fields, then forwarded or dropped
 *              by the caller, never merged into the head)
 *   RFC 9112 9.3   persistence: HTTP/1.1 keep-alive unless "close"; HTTP/1.0
 *              only with "keep-alive" in Connection; a response running
 *              until close ends the connection
 *   RFC 9110 7.8   Upgrade (flagged; 101 makes a tunnel), 9.3.6 CONNECT
 *              (flagged, authority-form), 10.1.1 Expect: 100-continue
 *              (flagged; ignored in HTTP/1.0), 7.6.1 Connection options
 *              (hop-by-hop fields dropped by the serializer on request)
 * Not implemented: HTTP/0.9, obs-fold unfolding (refused instead), transfer
 * codings other than chunked in requests (501), request bodies of unknown
 * length.
 *
 * Zero copy: struct http_view values point into the received mbufs, which the
 * caller keeps (unchanged) until it is done with the head. A head line that
 * crosses an mbuf boundary is copied once, whole, into the parser's scratch
 * area (given at init, bounded by the head limit) so that every view is
 * contiguous; such copies are counted (http_split_lines, msg.split_lines).
 *
 * Use (one direction of a connection):
 *   http_parser_init(&p, HTTP_REQUEST, &limits, scratch, sizeof(scratch), stats);
 *   loop: chain = received data not yet consumed, starting at byte off
 *     r = http_parse_head(&p, chain, off);   // 0: need more, 1: head, <0: error
 *     on 1: p.msg is the head; body from off + p.msg.head_len, framed by
 *           p.msg.framing (forward or rewrite the head now: its views point
 *           into the chain); then, as data comes,
 *       r = http_parse_body(&p, chain, body_off, &out, NULL, 0);
 *           // out.raw bytes after body_off are this message's: forward them
 *       until r == 1: the next message starts at body_off + out.raw
 *     on < 0: answer http_error_status(r) (requests) and close.
 *   at the peer's FIN: http_parse_eof(&p).
 * Between calls the caller may append mbufs to the chain (or data to its last
 * mbuf), never change or free bytes already fed that belong to the message in
 * progress.
 */
#ifndef MESHDP_HTTP_H
#define MESHDP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "../stats/stats.h"

/** Refusals of the parser: HTTP_E_<x> for each line of http_counters.def. */
enum http_error {
	HTTP_E_NONE = 0,
#define HTTP_ERR(e, name, status, help) HTTP_E_##e,
#include "http_counters.def"
#undef HTTP_ERR
	HTTP_E_MAX
};

/** The status a server answers @p err with (400, 414, 431, 501, 505); @p err may be negative. */
int http_error_status(int err);

/** The error's counter name ("http_bad_chunk_size"), or "ok" / "unknown". @p err may be negative. */
const char *http_error_name(int err);

/** Limits of one parser. Zero fields take the defaults (Envoy's where it has one). */
struct http_limits {
	uint32_t max_start_line; /* request / status line bytes, CRLF included (default 16 KiB) */
	uint32_t max_head;	 /* start line + header lines + final CRLF (default 60 KiB) */
	uint32_t max_headers;	 /* header lines (default and at most HTTP_MAX_HEADERS) */
	uint32_t max_chunk_line; /* a chunk-size line with its extensions (default 4 KiB) */
};

#define HTTP_MAX_HEADERS	100
#define HTTP_DEFAULT_START_LINE (16 * 1024)
#define HTTP_DEFAULT_HEAD	(60 * 1024)
#define HTTP_DEFAULT_CHUNK_LINE 4096

/** A byte range: into a received mbuf, the parser's scratch, or (for edits) the caller's memory. */
struct http_view {
	const char *p;
	uint32_t len;
};

struct http_header {
	struct http_view name;	/* as received (case kept) */
	struct http_view value; /* OWS around it trimmed */
};

#define HTTP_METHODS(X)       \
	X(OTHER, "")          \
	X(GET, "GET")         \
	X(HEAD, "HEAD")       \
	X(POST, "POST")       \
	X(PUT, "PUT")         \
	X(DELETE, "DELETE")   \
	X(CONNECT, "CONNECT") \
	X(OPTIONS, "OPTIONS") \
	X(TRACE, "TRACE")     \
	X(PATCH, "PATCH")

/** Request methods; HTTP_M_OTHER for any other token (its spelling in msg.method_name). */
enum http_method {
#define HTTP_METHOD_ENUM(e, s) HTTP_M_##e,
	HTTP_METHODS(HTTP_METHOD_ENUM)
#undef HTTP_METHOD_ENUM
		HTTP_M_MAX
};

/** The name of a known method ("GET"), "" for HTTP_M_OTHER. */
const char *http_method_name(enum http_method m);

enum http_kind {
	HTTP_REQUEST = 0,
	HTTP_RESPONSE = 1,
};

/** How the body of a message is delimited (RFC 9112 6.3). */
enum http_framing {
	HTTP_BODY_NONE = 0, /* no body: the next message follows the head */
	HTTP_BODY_LENGTH,   /* msg.content_length bytes */
	HTTP_BODY_CHUNKED,  /* chunked coding (7.1) */
	HTTP_BODY_CLOSE,    /* responses: until the connection closes */
	HTTP_BODY_TUNNEL,   /* responses: 2xx to CONNECT, 101: raw bytes both ways from here */
};

/** Request target forms (RFC 9112 3.2). */
enum http_target_form {
	HTTP_TARGET_ORIGIN = 0, /* /path?query */
	HTTP_TARGET_ABSOLUTE,	/* scheme://authority/path?query */
	HTTP_TARGET_AUTHORITY,	/* host:port (CONNECT) */
	HTTP_TARGET_ASTERISK,	/* * (OPTIONS) */
};

/** The headers a proxy needs, indexed in msg.known[]. */
enum http_known_header {
	HTTP_H_HOST = 0,
	HTTP_H_CONTENT_LENGTH,
	HTTP_H_TRANSFER_ENCODING,
	HTTP_H_CONNECTION,
	HTTP_H_UPGRADE,
	HTTP_H_EXPECT,
	HTTP_H_TE,
	HTTP_H_KEEP_ALIVE,
	HTTP_H_KNOWN_MAX
};

#define HTTP_NO_HEADER 0xff /* msg.known[x] when that header is absent */

/* msg.flags */
#define HTTP_F_KEEP_ALIVE      (1u << 0) /* the connection persists after this message (9.3) */
#define HTTP_F_EXPECT_CONTINUE (1u << 1) /* request: Expect: 100-continue (HTTP/1.1) */
#define HTTP_F_UPGRADE	       (1u << 2) /* request: Upgrade with "upgrade" in Connection */
#define HTTP_F_CONNECT	       (1u << 3) /* request: CONNECT (authority-form) */
#define HTTP_F_CONN_CLOSE      (1u << 4) /* "close" in Connection */
#define HTTP_F_CONN_KEEP_ALIVE (1u << 5) /* "keep-alive" in Connection */
#define HTTP_F_CONN_UPGRADE    (1u << 6) /* "upgrade" in Connection */
#define HTTP_F_TRAILERS	       (1u << 7) /* chunked body: a non-empty trailer section was seen */

/** A parsed head. Views stay valid while the parser's scratch and the fed mbufs do. */
struct http_msg {
	enum http_kind kind;
	uint8_t version; /* 10 or 11 */
	/* requests */
	enum http_method method;
	struct http_view method_name;
	enum http_target_form target_form;
	struct http_view target; /* as received */
	struct http_view
		path; /* origin and absolute form: from the '/' to before '?' ("/" if none) */
	struct http_view query; /* after '?' (len 0: none or empty) */
	struct http_view
		authority; /* absolute form or CONNECT: from the target; else Host's value */
	/* responses */
	uint16_t status;
	struct http_view reason;
	/* both */
	uint32_t flags; /* HTTP_F_* */
	enum http_framing framing;
	uint64_t content_length; /* HTTP_BODY_LENGTH */
	uint32_t head_len; /* bytes from the message's start (leading CRLFs included) to its body */
	uint32_t split_lines; /* head lines copied into the scratch */
	uint16_t nheaders;
	uint8_t known
		[HTTP_H_KNOWN_MAX]; /* index into headers[] of the first one, or HTTP_NO_HEADER */
	struct http_header headers[HTTP_MAX_HEADERS];
};

/** A piece of body data inside the chain (chunked framing bytes excluded). */
struct http_slice {
	struct rte_mbuf *m;
	uint32_t off; /* in m's data */
	uint32_t len;
};

/** What one http_parse_body() call found. */
struct http_body_out {
	uint64_t raw;	   /* input consumed, framing included (forward it as it came) */
	uint64_t data;	   /* of those, body data (chunk payload; all of them for other framings) */
	uint32_t nslices;  /* slices filled (when slices were asked for) */
	bool trailer_done; /* chunked: the trailer section ended (with the message) */
};

/** The trailer section's lines of a chunked body, as slices of the input
 * (http_parser_keep_trailers()). */
#define HTTP_TR_SLICES 4
struct http_trailer_out {
	uint32_t n; /* slices filled; the caller empties it (n = 0) */
	struct http_slice s[HTTP_TR_SLICES];
};

/**
 * One parser per connection direction (about 3.4 KB, most of it msg.headers).
 * Opaque state; read only .msg.
 */
struct http_parser {
	struct http_msg msg;
	/* private below */
	enum http_kind kind;
	struct http_limits lim;
	struct stats_block *stats;
	char *scratch;
	uint32_t scratch_cap, scratch_used;
	enum http_method req_method; /* responses: the request's method */
	uint8_t state;
	uint8_t err;	  /* the refusal, once refused */
	uint8_t cstate;	  /* chunked decoder state */
	uint8_t te_state; /* Transfer-Encoding members seen so far */
	uint32_t msg_off; /* the message's start, in the chain */
	/* scan position: the mbuf holding byte pos, and the chain offset of its first byte */
	struct rte_mbuf *cur;
	uint32_t cur_base;
	uint32_t pos;		 /* next byte to scan, in the chain */
	uint32_t line_off;	 /* start of the line being scanned, in the chain */
	struct rte_mbuf *line_m; /* the mbuf holding line_off, and its base */
	uint32_t line_base;
	uint64_t remaining;	     /* body bytes left (length), or in the current chunk */
	uint32_t cline;		     /* bytes of the current chunk line / trailer */
	uint32_t ctrailer;	     /* bytes of the trailer section */
	struct http_trailer_out *tr; /* NULL: trailer lines not kept */
};

/**
 * Start a parser. @p scratch (@p scratch_cap bytes, owned by the caller for
 * the parser's life) holds head lines split across mbufs: with scratch_cap >=
 * the head limit no head is ever refused for want of it. @p stats: the
 * worker's counters (may be NULL). @p lim NULL: the defaults.
 */
void http_parser_init(struct http_parser *p, enum http_kind kind, const struct http_limits *lim,
		      char *scratch, uint32_t scratch_cap, struct stats_block *stats);

/**
 * Responses: the method of the request the next response answers (HEAD and
 * CONNECT change its framing). Call before parsing each response head (a 1xx
 * response keeps it for the final one).
 */
void http_parser_set_request(struct http_parser *p, enum http_method m);

/**
 * Chunked bodies: http_parse_body() also gives the bytes of the trailer
 * section's lines ("name: value" CRLF each, validated as for the head, the
 * final CRLF excluded) as slices of the input in @p tr, appended from tr->n;
 * when tr is full the call stops there (out.raw says how far it got). The
 * caller copies them out and empties tr before the input is dropped. For the
 * parser's life (until http_parser_init()).
 */
void http_parser_keep_trailers(struct http_parser *p, struct http_trailer_out *tr);

/**
 * Parse a head from byte @p off of @p chain (the message's first byte; the
 * same chain and offset again after more data was appended). Scans every new
 * byte once: the parser remembers where it stopped.
 * @return 0 more data needed; 1 the head is complete in p->msg (body at
 * @p off + p->msg.head_len); -HTTP_E_x refused (counted; the parser must be
 * re-initialised to be used again). Called again once the head is parsed
 * (in its body) it returns 1 again.
 */
int http_parse_head(struct http_parser *p, struct rte_mbuf *chain, uint32_t off);

/**
 * Walk the body of the message whose head was parsed, from byte @p off of
 * @p chain to the chain's end (all data after @p off is the peer's: the body,
 * maybe followed by the next message). @p slices (may be NULL): up to
 * @p max_slices pieces of body data are reported (the call stops early when
 * they are used up: call again from @p off + out->raw).
 * @return 1 the message ended (the next one starts at @p off + out->raw;
 * the parser is ready for http_parse_head()); 0 the body goes on (all of the
 * input consumed, or the slices are full; also before the head is complete);
 * -HTTP_E_x refused (chunked).
 */
int http_parse_body(struct http_parser *p, struct rte_mbuf *chain, uint32_t off,
		    struct http_body_out *out, struct http_slice *slices, uint32_t max_slices);

/**
 * Copy the data of @p n slices (a chunked body's payload, its framing left
 * out: what an HTTP/1.0 peer gets of a chunked message) into a new chain from
 * @p pool. @return 0 and *@p out (NULL when the slices hold no byte), or
 * -ENOMEM (nothing allocated).
 */
int http_slices_copy(const struct http_slice *slices, uint32_t n, struct rte_mempool *pool,
		     struct rte_mbuf **out);

/**
 * The connection ended (FIN). @return 1 the message in progress ends here
 * (body until close); 0 no message was in progress; -HTTP_E_TRUNCATED it
 * was cut short (counted).
 */
int http_parse_eof(struct http_parser *p);

/** The index in msg->headers[] of the first header named @p name (any case) at or after @p from, or -1. */
int http_msg_find(const struct http_msg *msg, const char *name, uint32_t len, uint32_t from);

/** True when @p a and @p b are equal ignoring ASCII case. */
bool http_view_eq_nocase(struct http_view a, const char *b, uint32_t len);

/* ---- serializer ---- */

/** Changes to a head when writing it out. Zero / NULL fields change nothing. */
struct http_edit {
	const struct http_view *remove; /* header names to drop (any case) */
	uint32_t nremove;
	const struct http_header *add; /* headers written after the kept ones */
	uint32_t nadd;
	struct http_view path;	    /* requests: new target (path and query), origin form */
	struct http_view authority; /* requests: new Host value (Host written first) */
	uint8_t version;	    /* 10 / 11: the version written (default: the message's) */
	/* drop the hop-by-hop fields (RFC 9110 7.6.1): Connection, Keep-Alive,
	 * Proxy-Connection, TE, Trailer, Upgrade (kept when keep_upgrade) and
	 * every field Connection names; Transfer-Encoding and Content-Length stay
	 * (the body is forwarded as it came) */
	bool drop_hop_by_hop;
	bool keep_upgrade;
};

/**
 * Write @p msg's head with @p ed (NULL: none) applied, into mbufs from
 * @p pool (a chain when it does not fit one). Request targets are written in
 * origin form unless the message's is asterisk or authority form.
 * @return 0 and *@p out (the caller owns it), -ENOMEM (nothing allocated
 * remains), -EINVAL (a view with CR, LF or NUL in an edit).
 */
int http_write_head(const struct http_msg *msg, const struct http_edit *ed,
		    struct rte_mempool *pool, struct rte_mbuf **out);

/**
 * The header fields http_write_head() would write for @p msg with @p ed
 * applied (the kept ones in order, then the added ones), each passed to
 * @p f: what a translation to another framing (HTTP/2) writes. Host and the
 * start line are not fields here. @return 0, or the first non-zero @p f returned.
 */
int http_head_fields(const struct http_msg *msg, const struct http_edit *ed,
		     int (*f)(void *arg, struct http_view name, struct http_view value), void *arg);

#define HTTP_CHUNK_HDR_MAX 22 /* "\r\n" + 16 hex digits + "\r\n" + "\r\n" */

/**
 * The framing before a chunk of @p len bytes when re-chunking a body into
 * @p buf (at least HTTP_CHUNK_HDR_MAX bytes): "%x\r\n", preceded by the CRLF
 * that ends the previous chunk's data when @p after_data; @p len 0 writes the
 * last chunk ("0\r\n\r\n", no trailers). @return the bytes written.
 */
uint32_t http_chunk_header(char *buf, uint64_t len, bool after_data);

/**
 * Cut @p chain after its first @p n bytes (0 < @p n <= pkt_len): *@p rest
 * gets the remainder (NULL when none), pkt_len and nb_segs of both set. An
 * mbuf holding both sides is split by copying the smaller side into a new
 * mbuf from @p pool, so the two chains share no buffer (tcp_send() requires
 * that). @return 0, -ENOMEM (chain unchanged) or -EINVAL (@p n out of range).
 */
int http_chain_split(struct rte_mbuf *chain, uint32_t n, struct rte_mempool *pool,
		     struct rte_mbuf **rest);

/**
 * Free the first @p n bytes of @p chain (a consumed head): whole mbufs are
 * freed, the one holding byte @p n is trimmed in place. @return the rest of
 * the chain (pkt_len, nb_segs set) or NULL when nothing remains.
 */
struct rte_mbuf *http_chain_drop(struct rte_mbuf *chain, uint32_t n);

#endif
