/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target of the HTTP/2 framing layer (dataplane/h2). Input: one byte of
 * mode (bit 0: the client preface is not prepended, bits 1-2: how the input is
 * cut, bit 3: small limits, bit 4: the client side: the input is what an
 * endpoint sends to a client connection that opened 3 request streams, one
 * of them with a body; bit 5: DATA sent without a copy, nghttp2's NO_COPY,
 * the frame refused for want of room once now and then), then the peer's
 * bytes. A server connection takes them in pieces; every request stream is
 * answered (a small body read through the read callback, deferred once) and
 * its DATA consumed, and what the server sends is drained after each piece,
 * as the proxy does; received trailers go to the trailer callback, and bodies
 * sent end with trailers on every other stream. Checked by the sanitizers (no
 * crash, no leak) and: the callbacks see a stream only between its open and
 * its close, a stream is closed at most once, and a NO_COPY frame's header
 * says the length read promised.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "dataplane/h2/h2.h"
#include "dataplane/stats/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

#define FZ_STREAMS 256

struct fz_stream {
	int32_t id;
	bool open, closed, responded, deferred, blocked;
	size_t sent;
};

struct fz {
	struct h2_conn *c;
	struct fz_stream s[FZ_STREAMS];
	unsigned int n;
	int32_t ready[FZ_STREAMS];
	unsigned int n_ready;
};

static void fz_check(struct fz_stream *st)
{
	if (st == NULL || !st->open || st->closed)
		abort(); /* a callback for a stream that is not open */
}

static void *fz_open(void *arg, int32_t id)
{
	struct fz *f = arg;
	struct fz_stream *st;

	if (f->n == FZ_STREAMS)
		return NULL; /* refused: REFUSED_STREAM */
	st = &f->s[f->n++];
	*st = (struct fz_stream){.id = id, .open = true};
	return st;
}

static int fz_header(void *arg, void *sp, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
	(void)arg;
	(void)n;
	(void)v;
	fz_check(sp);
	return nl + vl > 4000 ? -1 : 0;
}

static void fz_done(void *arg, void *sp, unsigned int flags)
{
	struct fz *f = arg;
	struct fz_stream *st = sp;

	(void)flags;
	fz_check(st);
	if (f->n_ready < FZ_STREAMS)
		f->ready[f->n_ready++] = st->id;
}

static void fz_data(void *arg, void *sp, const uint8_t *p, size_t len)
{
	struct fz *f = arg;
	struct fz_stream *st = sp;

	(void)p;
	fz_check(st);
	h2_stream_consume(f->c, st->id, len);
}

static void fz_end(void *arg, void *sp)
{
	(void)arg;
	fz_check(sp);
}

static void fz_closed(void *arg, void *sp, uint32_t code)
{
	struct fz_stream *st = sp;

	(void)arg;
	(void)code;
	fz_check(st);
	st->closed = true;
}

static size_t fz_read(void *arg, void *sp, uint8_t *buf, size_t len, bool *eof)
{
	static const char body[] = "hello from the fuzzer\n";
	struct fz_stream *st = sp;
	size_t n;

	(void)arg;
	fz_check(st);
	if (!st->deferred) {
		st->deferred = true;
		return 0;
	}
	n = RTE_MIN(len, sizeof(body) - 1 - st->sent);
	*eof = st->sent + n == sizeof(body) - 1;
	if (buf == NULL) /* NO_COPY: fz_send_data() takes them */
		return n;
	memcpy(buf, body + st->sent, n);
	st->sent += n;
	return n;
}

/* NO_COPY's frame: the header as nghttp2 made it, then the bytes read promised. */
static int fz_send_data(void *arg, void *sp, const uint8_t *hd, size_t len)
{
	struct fz_stream *st = sp;

	(void)arg;
	fz_check(st);
	if ((size_t)(hd[0] << 16 | hd[1] << 8 | hd[2]) != len || hd[3] != 0 ||
	    len > sizeof("hello from the fuzzer\n") - 1 - st->sent)
		abort();
	if (st->id % 3 == 0 && !st->blocked) { /* no room once, now and then */
		st->blocked = true;
		return -EAGAIN;
	}
	st->blocked = false;
	st->sent += len;
	return 0;
}

static void fz_trailer(void *arg, void *sp, const uint8_t *n, size_t nl, const uint8_t *v,
		       size_t vl)
{
	(void)arg;
	(void)n;
	(void)nl;
	(void)v;
	(void)vl;
	fz_check(sp);
}

/* Every body the fuzzer sends ends with a trailer section (every other one empty). */
static size_t fz_trailers(void *arg, void *sp, const struct h2_field **f)
{
	static const struct h2_field tr[] = {{"grpc-status", 11, "0", 1}, {"x-sum", 5, "42", 2}};
	struct fz_stream *st = sp;

	(void)arg;
	fz_check(st);
	*f = tr;
	return st->id % 4 == 1 ? RTE_DIM(tr) : 0;
}

static const struct h2_callbacks fz_cbs = {
	.stream_open = fz_open,
	.header = fz_header,
	.headers_done = fz_done,
	.data = fz_data,
	.end_stream = fz_end,
	.closed = fz_closed,
	.read = fz_read,
	.trailer = fz_trailer,
	.trailers = fz_trailers,
};

/* Answer the streams whose heads came, resume the deferred ones, drain the output. */
static void fz_serve(struct fz *f)
{
	static const struct h2_field fields[] = {{"content-type", 12, "text/plain", 10}};
	const uint8_t *p;

	for (unsigned int i = 0; i < f->n_ready; i++)
		h2_respond(f->c, f->ready[i], 200, fields, 1, true);
	f->n_ready = 0;
	for (unsigned int i = 0; i < f->n; i++)
		if (f->s[i].deferred && !f->s[i].closed)
			h2_stream_resume(f->c, f->s[i].id);
	for (int k = 0; k < 64 && h2_conn_send(f->c, &p) > 0; k++)
		;
}

/* The client side: 3 requests (the second with a body), the endpoint's bytes in pieces. */
static void fz_client(struct fz *f, const uint8_t *data, size_t size, size_t cut,
		      const struct h2_limits *lim, const struct h2_callbacks *cbs,
		      struct stats_block *stats)
{
	static const struct h2_field req[] = {{":method", 7, "POST", 4},
					      {":scheme", 7, "http", 4},
					      {":authority", 10, "up.test", 7},
					      {":path", 5, "/a", 2},
					      {"te", 2, "trailers", 8}};
	const uint8_t *p;

	f->c = h2_client_create(lim, cbs, f, stats);
	if (f->c == NULL)
		return;
	for (unsigned int i = 0; i < 3; i++) {
		struct fz_stream *st = &f->s[f->n];

		*st = (struct fz_stream){.open = true, .deferred = i != 1};
		st->id = h2_request(f->c, req, RTE_DIM(req), i == 1, st);
		if (st->id > 0)
			f->n++;
	}
	while (h2_conn_send(f->c, &p) > 0)
		;
	for (size_t off = 0; off < size;) {
		size_t n = RTE_MIN(cut, size - off);
		int rc = h2_conn_recv(f->c, data + off, n, 1 + off);

		for (unsigned int i = 0; i < f->n; i++)
			if (!f->s[i].closed)
				h2_stream_resume(f->c, f->s[i].id);
		(void)h2_conn_can_open(f->c, f->n);
		for (int k = 0; k < 64 && h2_conn_send(f->c, &p) > 0; k++)
			;
		if (rc != 0)
			break;
		off += n;
	}
	h2_conn_free(f->c);
}

/* fz_cbs with DATA sent without a copy (mode bit 5). */
static struct h2_callbacks fz_cbs_nocopy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static struct stats_block stats;
	struct h2_limits lim = {0};
	struct fz *f;
	uint8_t mode;
	size_t cut;

	if (size < 1)
		return 0;
	if (fz_cbs_nocopy.read == NULL) {
		fz_cbs_nocopy = fz_cbs;
		fz_cbs_nocopy.send_data = fz_send_data;
	}
	mode = data[0];
	data++;
	size--;
	if (mode & 8)
		lim = (struct h2_limits){.max_concurrent_streams = 4,
					 .max_header_list_size = 1024,
					 .max_resets_per_s = 3,
					 .max_control_per_s = 3,
					 .max_empty_data_per_s = 3};
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return 0;
	cut = (mode >> 1 & 3) == 0   ? size
	      : (mode >> 1 & 3) == 1 ? 1
	      : (mode >> 1 & 3) == 2 ? 9
				     : 100;
	if (mode & 16) {
		fz_client(f, data, size, cut, &lim, mode & 32 ? &fz_cbs_nocopy : &fz_cbs, &stats);
		free(f);
		return 0;
	}
	f->c = h2_conn_create(&lim, mode & 32 ? &fz_cbs_nocopy : &fz_cbs, f, &stats);
	if (f->c == NULL) {
		free(f);
		return 0;
	}
	if (!(mode & 1) && h2_conn_recv(f->c, preface, sizeof(preface) - 1, 1) != 0)
		abort();
	for (size_t off = 0; off < size;) {
		size_t n = RTE_MIN(cut, size - off);
		int rc = h2_conn_recv(f->c, data + off, n, 1 + off);

		fz_serve(f);
		if (rc != 0)
			break;
		off += n;
	}
	fz_serve(f);
	h2_conn_free(f->c);
	free(f);
	return 0;
}
