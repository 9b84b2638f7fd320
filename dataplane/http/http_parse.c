/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HTTP/1.1 parser: heads line by line (memchr for the LF, then one pass of
 * table lookups over the line, in place when the line lies in one mbuf, else
 * from a copy in the scratch), chunked bodies by a byte state machine for the
 * size lines and trailers and by counts for the data. See http.h.
 */
#include <string.h>

#include <rte_branch_prediction.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#ifdef __SSSE3__
#include <tmmintrin.h>
#endif

#include "http.h"
#include "http_internal.h"

/* ---- character classes (RFC 9110 5.6.2, 5.5; RFC 3986) ---- */

uint8_t http_cls[256];
/* tchar as a nibble table for pshufb: bit h of tchar_lo[l] says byte 0xhl is a tchar (h < 8) */
static uint8_t tchar_lo[16] __attribute__((aligned(16)));

static void __attribute__((constructor)) http_cls_init(void)
{
	for (int c = 0; c < 256; c++) {
		uint8_t f = 0;
		bool alnum =
			(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (alnum || (c && strchr("!#$%&'*+-.^_`|~", c)))
			f |= C_TCHAR;
		if (c >= 0x21 && c <= 0x7e)
			f |= C_VCHAR;
		if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' || c == '\t')
			f |= C_FVAL;
		if (alnum || (c && strchr("-._~%!$&'()*+,;=:[]", c)))
			f |= C_HOST;
		if ((f & C_FVAL) && c != '"' && c != '\\')
			f |= C_QDTEXT;
		if (c == ' ' || c == '\t')
			f |= C_WS;
		http_cls[c] = f;
		if ((f & C_TCHAR) && c < 0x80)
			tchar_lo[c & 15] |= (uint8_t)(1u << (c >> 4));
	}
}

static inline uint32_t span(const char *s, uint32_t i, uint32_t n, uint8_t bit)
{
	while (i + 4 <= n && (http_cls[(uint8_t)s[i]] & http_cls[(uint8_t)s[i + 1]] &
			      http_cls[(uint8_t)s[i + 2]] & http_cls[(uint8_t)s[i + 3]] & bit))
		i += 4;
	while (i < n && (http_cls[(uint8_t)s[i]] & bit))
		i++;
	return i;
}

/*
 * The runs of a line 16 bytes at a time (SSE2 is part of x86-64; SSSE3 for
 * tchar): the first byte at or after @p i (before @p n) outside the class.
 * BAD16(x) is the mask of the bytes of x outside it. The last, partial block
 * is read as the 16 bytes that end at @p n when the line [0, n) is that long
 * (never a byte outside it), else by the table.
 */
#define SPAN16(s, i, n, BAD16, bit)                                                               \
	do {                                                                                      \
		for (; (i) + 16 <= (n); (i) += 16) {                                              \
			__m128i x_ = _mm_loadu_si128((const __m128i *)(const void *)((s) + (i))); \
			unsigned int m_ = (unsigned int)_mm_movemask_epi8(BAD16(x_));             \
			if (m_)                                                                   \
				return (i) + (uint32_t)__builtin_ctz(m_);                         \
		}                                                                                 \
		if ((i) < (n) && (n) >= 16) {                                                     \
			__m128i x_ =                                                              \
				_mm_loadu_si128((const __m128i *)(const void *)((s) + (n)-16));   \
			unsigned int m_ = (unsigned int)_mm_movemask_epi8(BAD16(x_));             \
			m_ &= ~((1u << ((i) - ((n)-16))) - 1);                                    \
			return m_ ? (n)-16 + (uint32_t)__builtin_ctz(m_) : (n);                   \
		}                                                                                 \
		return span((s), (i), (n), (bit));                                                \
	} while (0)

#ifdef __SSE2__
/* not VCHAR, obs-text, SP, HTAB: <= 0x1f but HTAB, or DEL */
static inline __m128i bad_fval(__m128i x)
{
	__m128i bad = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
	bad = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(9)), bad);
	return _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
}

/* not VCHAR: <= 0x20 or >= 0x7f */
static inline __m128i bad_vchar(__m128i x)
{
	return _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x20)), x),
			    _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x7f)), x));
}
#endif

static inline uint32_t span_fval(const char *s, uint32_t i, uint32_t n)
{
#ifdef __SSE2__
	SPAN16(s, i, n, bad_fval, C_FVAL);
#else
	return span(s, i, n, C_FVAL);
#endif
}

static inline uint32_t span_vchar(const char *s, uint32_t i, uint32_t n)
{
#ifdef __SSE2__
	SPAN16(s, i, n, bad_vchar, C_VCHAR);
#else
	return span(s, i, n, C_VCHAR);
#endif
}

#ifdef __SSSE3__
/* not tchar: a nibble lookup (pshufb) in tchar_lo, bytes >= 0x80 map to no row */
static inline __m128i bad_tchar(__m128i x)
{
	const __m128i lo_tbl = _mm_load_si128((const __m128i *)(const void *)tchar_lo);
	const __m128i hi_bit =
		_mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, (char)128, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m128i nib = _mm_set1_epi8(15);
	__m128i rows = _mm_shuffle_epi8(lo_tbl, _mm_and_si128(x, nib));
	__m128i bit = _mm_shuffle_epi8(hi_bit, _mm_and_si128(_mm_srli_epi16(x, 4), nib));
	return _mm_cmpeq_epi8(_mm_and_si128(rows, bit), _mm_setzero_si128());
}
#endif

static inline uint32_t span_tchar(const char *s, uint32_t i, uint32_t n)
{
#ifdef __SSSE3__
	SPAN16(s, i, n, bad_tchar, C_TCHAR);
#else
	return span(s, i, n, C_TCHAR);
#endif
}

static inline int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ---- errors ---- */

static const uint16_t err_status[HTTP_E_MAX] = {
#define HTTP_ERR(e, name, status, help) [HTTP_E_##e] = status,
#include "http_counters.def"
#undef HTTP_ERR
};

static const char *const err_name[HTTP_E_MAX] = {
	[HTTP_E_NONE] = "ok",
#define HTTP_ERR(e, name, status, help) [HTTP_E_##e] = #name,
#include "http_counters.def"
#undef HTTP_ERR
};

static const enum stats_id err_stat[HTTP_E_MAX] = {
#define HTTP_ERR(e, name, status, help) [HTTP_E_##e] = STAT_HTTP_##e,
#include "http_counters.def"
#undef HTTP_ERR
};

int http_error_status(int err)
{
	if (err < 0)
		err = -err;
	return err > 0 && err < HTTP_E_MAX ? err_status[err] : 400;
}

const char *http_error_name(int err)
{
	if (err < 0)
		err = -err;
	return err >= 0 && err < HTTP_E_MAX ? err_name[err] : "unknown";
}

static const char *const method_names[HTTP_M_MAX] = {
#define HTTP_METHOD_NAME(e, s) [HTTP_M_##e] = s,
	HTTP_METHODS(HTTP_METHOD_NAME)
#undef HTTP_METHOD_NAME
};

const char *http_method_name(enum http_method m)
{
	return m < HTTP_M_MAX ? method_names[m] : "";
}

bool http_view_eq_nocase(struct http_view a, const char *b, uint32_t len)
{
	if (a.len != len)
		return false;
	for (uint32_t i = 0; i < len; i++)
		if (lower((uint8_t)a.p[i]) != lower((uint8_t)b[i]))
			return false;
	return true;
}

int http_msg_find(const struct http_msg *msg, const char *name, uint32_t len, uint32_t from)
{
	for (uint32_t i = from; i < msg->nheaders; i++)
		if (http_view_eq_nocase(msg->headers[i].name, name, len))
			return (int)i;
	return -1;
}

/* ---- parser state ---- */

enum {
	ST_START = 0, /* between messages: the next http_parse_head() starts one */
	ST_HEAD,      /* in a head */
	ST_BODY,      /* in a body (framing in msg) */
	ST_ERROR,     /* refused: p->err */
};

/* Transfer-Encoding members seen (te_state bits) */
#define TE_SEEN	       0x01
#define TE_CHUNKED     0x02 /* the last member so far is chunked */
#define TE_UNSUPPORTED 0x04 /* a coding other than chunked */

/* chunked decoder states */
enum {
	CS_SIZE0 = 0, /* first hex digit */
	CS_SIZE,      /* more hex digits */
	CS_BWS,	      /* whitespace after the size or an extension part */
	CS_EXT_NAME0,
	CS_EXT_NAME,
	CS_EXT_AFTER_NAME,
	CS_EXT_VAL0,
	CS_EXT_VAL,
	CS_EXT_QSTR,
	CS_EXT_QPAIR,
	CS_SIZE_LF,
	CS_DATA,
	CS_DATA_CR,
	CS_DATA_LF,
	CS_TR_START, /* a trailer line or the final CRLF */
	CS_TR_NAME,
	CS_TR_VALUE,
	CS_TR_LF,
	CS_END_LF,
};

#define CHUNK_SIZE_MAX (1ull << 60)

static int fail(struct http_parser *p, enum http_error e)
{
	p->state = ST_ERROR;
	p->err = (uint8_t)e;
	if (p->stats)
		stats_inc(p->stats, err_stat[e]);
	return -(int)e;
}

void http_parser_init(struct http_parser *p, enum http_kind kind, const struct http_limits *lim,
		      char *scratch, uint32_t scratch_cap, struct stats_block *stats)
{
	/* the message up to its header array: entries past nheaders are never read,
	 * and the array is most of the parser (a keep-alive connection starts one
	 * per request) */
	memset(p, 0, offsetof(struct http_parser, msg.headers));
	p->kind = kind;
	p->lim = lim ? *lim : (struct http_limits){0};
	if (!p->lim.max_start_line)
		p->lim.max_start_line = HTTP_DEFAULT_START_LINE;
	if (!p->lim.max_head)
		p->lim.max_head = HTTP_DEFAULT_HEAD;
	if (!p->lim.max_headers || p->lim.max_headers > HTTP_MAX_HEADERS)
		p->lim.max_headers = HTTP_MAX_HEADERS;
	if (!p->lim.max_chunk_line)
		p->lim.max_chunk_line = HTTP_DEFAULT_CHUNK_LINE;
	if (p->lim.max_start_line > p->lim.max_head)
		p->lim.max_start_line = p->lim.max_head;
	p->stats = stats;
	p->scratch = scratch;
	p->scratch_cap = scratch_cap;
	p->scratch_used = 0;
	p->req_method = HTTP_M_GET;
	p->state = ST_START;
	p->err = 0;
	p->tr = NULL;
}

void http_parser_set_request(struct http_parser *p, enum http_method m)
{
	p->req_method = m;
}

void http_parser_keep_trailers(struct http_parser *p, struct http_trailer_out *tr)
{
	p->tr = tr;
}

/* ---- the start line ---- */

static int parse_version(struct http_parser *p, const char *s, uint32_t n)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
	    s[7] < '0' || s[7] > '9')
		return fail(p, HTTP_E_BAD_VERSION);
	if (s[5] != '1')
		return fail(p, HTTP_E_UNSUPPORTED_VERSION);
	p->msg.version = s[7] == '0' ? 10 : 11;
	return 0;
}

static enum http_method method_of(const char *s, uint32_t n)
{
	switch (n) {
	case 3:
		if (!memcmp(s, "GET", 3))
			return HTTP_M_GET;
		if (!memcmp(s, "PUT", 3))
			return HTTP_M_PUT;
		break;
	case 4:
		if (!memcmp(s, "POST", 4))
			return HTTP_M_POST;
		if (!memcmp(s, "HEAD", 4))
			return HTTP_M_HEAD;
		break;
	case 5:
		if (!memcmp(s, "PATCH", 5))
			return HTTP_M_PATCH;
		if (!memcmp(s, "TRACE", 5))
			return HTTP_M_TRACE;
		break;
	case 6:
		if (!memcmp(s, "DELETE", 6))
			return HTTP_M_DELETE;
		break;
	case 7:
		if (!memcmp(s, "OPTIONS", 7))
			return HTTP_M_OPTIONS;
		if (!memcmp(s, "CONNECT", 7))
			return HTTP_M_CONNECT;
		break;
	}
	return HTTP_M_OTHER;
}

/* the authority of an absolute-form or authority-form target: host [":" port], no userinfo */
static bool authority_ok(const char *s, uint32_t n)
{
	if (n == 0)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!(http_cls[(uint8_t)s[i]] & C_HOST))
			return false;
	return true;
}

static void split_path(struct http_msg *m, const char *s, uint32_t n)
{
	const char *q = memchr(s, '?', n);
	if (!n) {
		m->path = (struct http_view){"/", 1};
		return;
	}
	if (q) {
		m->path = (struct http_view){s, (uint32_t)(q - s)};
		m->query = (struct http_view){q + 1, (uint32_t)(n - (q - s) - 1)};
	} else {
		m->path = (struct http_view){s, n};
	}
	if (!m->path.len)
		m->path = (struct http_view){"/", 1};
}

static int parse_target(struct http_parser *p, const char *s, uint32_t n)
{
	struct http_msg *m = &p->msg;

	if (memchr(s, '#', n))
		return fail(p, HTTP_E_BAD_TARGET);
	if (m->method == HTTP_M_CONNECT) {
		/* authority-form: host ":" port (RFC 9112 3.2.3) */
		const char *colon = memrchr(s, ':', n);
		if (!colon || colon == s + n - 1 || !authority_ok(s, n) || memchr(s, '@', n))
			return fail(p, HTTP_E_BAD_TARGET);
		for (const char *d = colon + 1; d < s + n; d++)
			if (*d < '0' || *d > '9')
				return fail(p, HTTP_E_BAD_TARGET);
		m->target_form = HTTP_TARGET_AUTHORITY;
		m->authority = (struct http_view){s, n};
		m->flags |= HTTP_F_CONNECT;
		return 0;
	}
	if (s[0] == '/') {
		m->target_form = HTTP_TARGET_ORIGIN;
		split_path(m, s, n);
		return 0;
	}
	if (n == 1 && s[0] == '*') {
		if (m->method != HTTP_M_OPTIONS)
			return fail(p, HTTP_E_BAD_TARGET);
		m->target_form = HTTP_TARGET_ASTERISK;
		return 0;
	}
	/* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
	uint32_t i = 0;
	if (!((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return fail(p, HTTP_E_BAD_TARGET);
	while (i < n && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
			 (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (i + 3 > n || memcmp(s + i, "://", 3) != 0)
		return fail(p, HTTP_E_BAD_TARGET);
	uint32_t a = i + 3, e = a;
	while (e < n && s[e] != '/' && s[e] != '?')
		e++;
	if (!authority_ok(s + a, e - a) || memchr(s + a, '@', e - a))
		return fail(p, HTTP_E_BAD_TARGET);
	m->target_form = HTTP_TARGET_ABSOLUTE;
	m->authority = (struct http_view){s + a, e - a};
	if (e < n && s[e] == '?') {
		m->path = (struct http_view){"/", 1};
		m->query = (struct http_view){s + e + 1, n - e - 1};
	} else {
		split_path(m, s + e, n - e);
	}
	return 0;
}

static int parse_request_line(struct http_parser *p, const char *s, uint32_t n)
{
	struct http_msg *m = &p->msg;
	uint32_t i = span_tchar(s, 0, n);

	if (i == n || s[i] != ' ') {
		if (i < n && s[i] == '\r')
			return fail(p, HTTP_E_BARE_CR);
		if (i < n && (http_cls[(uint8_t)s[i]] & C_VCHAR) && i > 0)
			return fail(p, HTTP_E_BAD_METHOD);
		return fail(p, HTTP_E_BAD_REQUEST_LINE);
	}
	if (i == 0)
		return fail(p, HTTP_E_BAD_REQUEST_LINE);
	m->method_name = (struct http_view){s, i};
	m->method = method_of(s, i);
	uint32_t t = i + 1, e = span_vchar(s, t, n);
	if (e == n || s[e] != ' ') {
		if (e < n && s[e] == '\r')
			return fail(p, HTTP_E_BARE_CR);
		return fail(p, e == t || e == n ? HTTP_E_BAD_REQUEST_LINE : HTTP_E_BAD_TARGET);
	}
	if (e == t)
		return fail(p, HTTP_E_BAD_REQUEST_LINE);
	m->target = (struct http_view){s + t, e - t};
	const char *v = s + e + 1;
	uint32_t vn = n - e - 1;
	if (memchr(v, '\r', vn))
		return fail(p, HTTP_E_BARE_CR);
	if (memchr(v, ' ', vn))
		return fail(p, HTTP_E_BAD_REQUEST_LINE);
	int r = parse_version(p, v, vn);
	if (r)
		return r;
	return parse_target(p, m->target.p, m->target.len);
}

static int parse_status_line(struct http_parser *p, const char *s, uint32_t n)
{
	struct http_msg *m = &p->msg;

	if (memchr(s, '\r', n))
		return fail(p, HTTP_E_BARE_CR);
	if (n < 8)
		return fail(p, HTTP_E_BAD_STATUS_LINE);
	int r = parse_version(p, s, 8);
	if (r)
		return r;
	if (n < 12 || s[8] != ' ')
		return fail(p, HTTP_E_BAD_STATUS_LINE);
	if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9')
		return fail(p, HTTP_E_BAD_STATUS_LINE);
	m->status = (uint16_t)((s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0'));
	if (n == 12) {
		m->reason = (struct http_view){s + 12, 0};
		return 0;
	}
	if (s[12] != ' ')
		return fail(p, HTTP_E_BAD_STATUS_LINE);
	uint32_t e = span_fval(s, 13, n);
	if (e != n)
		return fail(p, HTTP_E_CTL_CHAR);
	m->reason = (struct http_view){s + 13, n - 13};
	return 0;
}

/* ---- header fields ---- */

/*
 * The next member of a comma-separated list value from *@p i (0 to start):
 * false at the end; an empty member is returned as such (OWS trimmed).
 */
static bool list_next(struct http_view v, uint32_t *i, struct http_view *tok)
{
	if (*i > v.len)
		return false;
	uint32_t s = *i, e = s;
	while (e < v.len && v.p[e] != ',')
		e++;
	*i = e + 1;
	while (s < e && (http_cls[(uint8_t)v.p[s]] & C_WS))
		s++;
	while (e > s && (http_cls[(uint8_t)v.p[e - 1]] & C_WS))
		e--;
	*tok = (struct http_view){v.p + s, e - s};
	return true;
}

static int parse_te(struct http_parser *p, struct http_view v, bool trailing_ws)
{
	struct http_view tok;
	uint32_t it = 0;
	int err = 0;

	if (trailing_ws || v.len == 0)
		return fail(p, HTTP_E_BAD_TRANSFER_ENCODING);
	while (!err && list_next(v, &it, &tok)) {
		uint32_t k = span(tok.p, 0, tok.len, C_TCHAR);
		if (tok.len == 0 || k == 0) {
			err = HTTP_E_BAD_TRANSFER_ENCODING;
			break;
		}
		struct http_view name = {tok.p, k};
		/* a coding after chunked, chunked twice (RFC 9112 6.1), identity (removed) */
		if ((p->te_state & TE_CHUNKED) || (k == 8 && http_name_is(name.p, "identity", 8))) {
			err = HTTP_E_BAD_TRANSFER_ENCODING;
			break;
		}
		if (k == 7 && http_name_is(name.p, "chunked", 7)) {
			if (k != tok.len) { /* chunked takes no parameters */
				err = HTTP_E_BAD_TRANSFER_ENCODING;
				break;
			}
			p->te_state |= TE_CHUNKED;
		} else {
			/* transfer-parameters: ; name=value, not interpreted */
			for (uint32_t j = k; j < tok.len; j++)
				if (!(http_cls[(uint8_t)tok.p[j]] & (C_TCHAR | C_WS)) &&
				    tok.p[j] != ';' && tok.p[j] != '=' && tok.p[j] != '"') {
					err = HTTP_E_BAD_TRANSFER_ENCODING;
					break;
				}
			p->te_state |= TE_UNSUPPORTED;
		}
	}
	p->te_state |= TE_SEEN;
	return err ? fail(p, err) : 0;
}

static int parse_content_length(struct http_parser *p, struct http_view v)
{
	if (p->msg.known[HTTP_H_CONTENT_LENGTH] != HTTP_NO_HEADER || memchr(v.p, ',', v.len))
		return fail(p, HTTP_E_DUP_CONTENT_LENGTH);
	if (v.len == 0 || v.len > 19)
		return fail(p, HTTP_E_BAD_CONTENT_LENGTH);
	uint64_t n = 0;
	for (uint32_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return fail(p, HTTP_E_BAD_CONTENT_LENGTH);
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	}
	p->msg.content_length = n;
	return 0;
}

static void parse_connection(struct http_msg *m, struct http_view v)
{
	struct http_view tok;
	uint32_t it = 0;

	while (list_next(v, &it, &tok)) {
		if (tok.len == 5 && http_name_is(tok.p, "close", 5))
			m->flags |= HTTP_F_CONN_CLOSE;
		else if (tok.len == 10 && http_name_is(tok.p, "keep-alive", 10))
			m->flags |= HTTP_F_CONN_KEEP_ALIVE;
		else if (tok.len == 7 && http_name_is(tok.p, "upgrade", 7))
			m->flags |= HTTP_F_CONN_UPGRADE;
	}
}

/* which of msg.known[] a header name (tchar) is, or -1 */
static inline int known_of(const char *s, uint32_t n)
{
	switch (n) {
	case 2:
		return http_name_is(s, "te", 2) ? HTTP_H_TE : -1;
	case 4:
		return http_name_is(s, "host", 4) ? HTTP_H_HOST : -1;
	case 6:
		return http_name_is(s, "expect", 6) ? HTTP_H_EXPECT : -1;
	case 7:
		return http_name_is(s, "upgrade", 7) ? HTTP_H_UPGRADE : -1;
	case 10:
		if ((s[0] | 0x20) == 'c')
			return http_name_is(s, "connection", 10) ? HTTP_H_CONNECTION : -1;
		return http_name_is(s, "keep-alive", 10) ? HTTP_H_KEEP_ALIVE : -1;
	case 14:
		return http_name_is(s, "content-length", 14) ? HTTP_H_CONTENT_LENGTH : -1;
	case 17:
		return http_name_is(s, "transfer-encoding", 17) ? HTTP_H_TRANSFER_ENCODING : -1;
	}
	return -1;
}

static int parse_header_line(struct http_parser *p, const char *s, uint32_t n)
{
	struct http_msg *m = &p->msg;

	if (http_cls[(uint8_t)s[0]] & C_WS)
		return fail(p, HTTP_E_OBS_FOLD);
	uint32_t i = span_tchar(s, 0, n);
	if (i == n || s[i] != ':') {
		if (i == 0)
			return fail(p, i < n && s[i] == '\r' ? HTTP_E_BARE_CR
							     : HTTP_E_BAD_HEADER_NAME);
		if (i == n)
			return fail(p, HTTP_E_NO_COLON);
		if (http_cls[(uint8_t)s[i]] & C_WS)
			return fail(p, HTTP_E_WS_BEFORE_COLON);
		if (s[i] == '\r')
			return fail(p, HTTP_E_BARE_CR);
		return fail(p, HTTP_E_BAD_HEADER_NAME);
	}
	if (i == 0)
		return fail(p, HTTP_E_BAD_HEADER_NAME);
	uint32_t v = i + 1;
	while (v < n && (http_cls[(uint8_t)s[v]] & C_WS))
		v++;
	uint32_t e = span_fval(s, v, n);
	if (e != n)
		return fail(p, s[e] == '\r' ? HTTP_E_BARE_CR : HTTP_E_CTL_CHAR);
	while (e > v && (http_cls[(uint8_t)s[e - 1]] & C_WS))
		e--;
	if (m->nheaders >= p->lim.max_headers)
		return fail(p, HTTP_E_TOO_MANY_HEADERS);
	struct http_view value = {s + v, e - v};
	int k = known_of(s, i), r = 0;
	switch (k) {
	case HTTP_H_HOST:
		if (m->known[HTTP_H_HOST] != HTTP_NO_HEADER)
			return fail(p, HTTP_E_BAD_HOST);
		for (uint32_t j = 0; j < value.len; j++)
			if (!(http_cls[(uint8_t)value.p[j]] & C_HOST))
				return fail(p, HTTP_E_BAD_HOST);
		break;
	case HTTP_H_CONTENT_LENGTH:
		r = parse_content_length(p, value);
		break;
	case HTTP_H_TRANSFER_ENCODING:
		r = parse_te(p, value, e != n);
		break;
	case HTTP_H_CONNECTION:
		parse_connection(m, value);
		break;
	case HTTP_H_EXPECT:
		if (value.len == 12 && http_name_is(value.p, "100-continue", 12))
			m->flags |= HTTP_F_EXPECT_CONTINUE;
		break;
	}
	if (r)
		return r;
	if (k >= 0 && m->known[k] == HTTP_NO_HEADER)
		m->known[k] = (uint8_t)m->nheaders;
	m->headers[m->nheaders++] = (struct http_header){{s, i}, value};
	return 0;
}

/* ---- the end of the head: framing (RFC 9112 6.3) and persistence (9.3) ---- */

static int head_done(struct http_parser *p)
{
	struct http_msg *m = &p->msg;
	bool has_cl = m->known[HTTP_H_CONTENT_LENGTH] != HTTP_NO_HEADER;
	bool has_te = p->te_state & TE_SEEN;

	if (has_te && m->version == 10)
		return fail(p, HTTP_E_TE_IN_HTTP10);
	if (has_te && has_cl)
		return fail(p, HTTP_E_CL_AND_TE);
	if (m->kind == HTTP_REQUEST) {
		uint8_t h = m->known[HTTP_H_HOST];
		if (m->version == 11 && h == HTTP_NO_HEADER)
			return fail(p, HTTP_E_BAD_HOST);
		if (m->target_form != HTTP_TARGET_ABSOLUTE &&
		    m->target_form != HTTP_TARGET_AUTHORITY && h != HTTP_NO_HEADER)
			m->authority = m->headers[h].value;
		if (has_te) {
			if (p->te_state & TE_UNSUPPORTED)
				return fail(p, HTTP_E_UNSUPPORTED_TRANSFER_CODING);
			m->framing = HTTP_BODY_CHUNKED;
		} else if (has_cl && m->content_length) {
			m->framing = HTTP_BODY_LENGTH;
		} else {
			m->framing = HTTP_BODY_NONE;
		}
		if (m->version == 10)
			m->flags &= ~HTTP_F_EXPECT_CONTINUE;
		if (m->version == 11 && m->known[HTTP_H_UPGRADE] != HTTP_NO_HEADER &&
		    (m->flags & HTTP_F_CONN_UPGRADE))
			m->flags |= HTTP_F_UPGRADE;
	} else {
		if (m->status < 200) {
			m->framing = m->status == 101 ? HTTP_BODY_TUNNEL : HTTP_BODY_NONE;
		} else if (p->req_method == HTTP_M_HEAD || m->status == 204 || m->status == 304) {
			m->framing = HTTP_BODY_NONE;
		} else if (p->req_method == HTTP_M_CONNECT && m->status < 300) {
			m->framing = HTTP_BODY_TUNNEL;
		} else if (has_te) {
			m->framing =
				(p->te_state & TE_CHUNKED) ? HTTP_BODY_CHUNKED : HTTP_BODY_CLOSE;
		} else if (has_cl) {
			m->framing = m->content_length ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
		} else {
			m->framing = HTTP_BODY_CLOSE;
		}
	}
	bool ka = m->version == 11 ? !(m->flags & HTTP_F_CONN_CLOSE)
				   : (m->flags & (HTTP_F_CONN_KEEP_ALIVE | HTTP_F_CONN_CLOSE)) ==
					     HTTP_F_CONN_KEEP_ALIVE;
	if (ka && m->framing != HTTP_BODY_CLOSE && m->framing != HTTP_BODY_TUNNEL)
		m->flags |= HTTP_F_KEEP_ALIVE;
	m->head_len = p->pos - p->msg_off;
	p->remaining = m->content_length;
	p->cstate = CS_SIZE0;
	p->cline = 0;
	p->ctrailer = 0;
	p->state = (m->framing == HTTP_BODY_NONE) ? ST_START : ST_BODY;
	return 1;
}

/* one complete line [0, n) (the CR, if any, at s[n - 1]; the LF not included) */
static int head_line(struct http_parser *p, const char *s, uint32_t n)
{
	if (unlikely(n == 0 || s[n - 1] != '\r'))
		return fail(p, HTTP_E_BARE_LF);
	n--;
	if (p->msg.version == 0) { /* the start line not yet seen */
		if (n == 0) /* RFC 9112 2.2: a server skips empty lines before a request line */
			return p->kind == HTTP_REQUEST ? 0 : fail(p, HTTP_E_BAD_STATUS_LINE);
		if (p->kind == HTTP_REQUEST)
			return parse_request_line(p, s, n);
		return parse_status_line(p, s, n);
	}
	if (n == 0)
		return head_done(p);
	return parse_header_line(p, s, n);
}

/* copy the line [line_off, line_off + n) of the chain, which starts in p->line_m, to the scratch */
static const char *gather(struct http_parser *p, uint32_t n)
{
	if (p->scratch_cap - p->scratch_used < n)
		return NULL;
	char *dst = p->scratch + p->scratch_used, *d = dst;
	struct rte_mbuf *m = p->line_m;
	uint32_t base = p->line_base, at = p->line_off;
	while (n) {
		while (at >= base + m->data_len) {
			base += m->data_len;
			m = m->next;
		}
		uint32_t k = RTE_MIN(n, base + m->data_len - at);
		memcpy(d, rte_pktmbuf_mtod_offset(m, const char *, at - base), k);
		d += k;
		at += k;
		n -= k;
	}
	p->scratch_used += (uint32_t)(d - dst);
	p->msg.split_lines++;
	if (p->stats)
		stats_inc(p->stats, STAT_HTTP_SPLIT_LINES);
	return dst;
}

static void start_message(struct http_parser *p, struct rte_mbuf *chain, uint32_t off)
{
	struct http_msg *m = &p->msg;

	m->kind = p->kind;
	m->version = 0;
	m->method = HTTP_M_OTHER;
	m->method_name = m->target = m->path = m->query = m->authority = m->reason =
		(struct http_view){"", 0};
	m->target_form = HTTP_TARGET_ORIGIN;
	m->status = 0;
	m->flags = 0;
	m->framing = HTTP_BODY_NONE;
	m->content_length = 0;
	m->head_len = 0;
	m->split_lines = 0;
	m->nheaders = 0;
	memset(m->known, HTTP_NO_HEADER, sizeof(m->known));
	p->scratch_used = 0;
	p->te_state = 0;
	p->msg_off = off;
	p->cur = chain;
	p->cur_base = 0;
	p->pos = off;
	p->line_off = off;
	p->line_m = chain;
	p->line_base = 0;
	p->state = ST_HEAD;
}

int http_parse_head(struct http_parser *p, struct rte_mbuf *chain, uint32_t off)
{
	if (unlikely(p->state == ST_ERROR))
		return -(int)p->err;
	if (p->state == ST_BODY)
		return 1; /* the head is parsed already: p->msg */
	if (p->state == ST_START) {
		if (!chain)
			return 0;
		start_message(p, chain, off);
	}
	for (;;) {
		struct rte_mbuf *m = p->cur;
		while (p->pos >= p->cur_base + m->data_len) {
			if (!m->next)
				return 0;
			p->cur_base += m->data_len;
			m = p->cur = m->next;
		}
		const char *d = rte_pktmbuf_mtod(m, const char *);
		uint32_t at = p->pos - p->cur_base, avail = m->data_len - at;
		const char *lf = memchr(d + at, '\n', avail);
		uint32_t end = lf ? p->cur_base + (uint32_t)(lf - d) : p->pos + avail;
		/* limits: the start line, and the head so far */
		uint32_t line_len = end - p->line_off + (lf ? 1 : 0);
		if (p->msg.version == 0 && line_len > p->lim.max_start_line)
			return fail(p, p->kind == HTTP_REQUEST ? HTTP_E_URI_TOO_LONG
							       : HTTP_E_BAD_STATUS_LINE);
		if (end + (lf ? 1 : 0) - p->msg_off > p->lim.max_head)
			return fail(p, HTTP_E_HEAD_TOO_LARGE);
		if (!lf) {
			p->pos = end;
			continue;
		}
		uint32_t n = end - p->line_off;
		const char *s;
		if (p->line_off >= p->cur_base) {
			s = d + (p->line_off - p->cur_base);
		} else {
			/* the line started in an earlier mbuf (line_m, once moved to it) */
			while (p->line_off >= p->line_base + p->line_m->data_len) {
				p->line_base += p->line_m->data_len;
				p->line_m = p->line_m->next;
			}
			if (p->line_off - p->line_base + n <=
			    p->line_m->data_len) /* all but the LF */
				s = rte_pktmbuf_mtod_offset(p->line_m, const char *,
							    p->line_off - p->line_base);
			else
				s = gather(p, n);
			if (!s)
				return fail(p, HTTP_E_SCRATCH_FULL);
		}
		p->pos = end + 1;
		int r = head_line(p, s, n);
		if (r)
			return r;
		p->line_off = p->pos;
		p->line_m = p->cur;
		p->line_base = p->cur_base;
	}
}

/* ---- bodies ---- */

/* the mbuf holding byte @p off of @p chain (the last one when off is its end), and its base */
static struct rte_mbuf *seek(struct rte_mbuf *m, uint32_t off, uint32_t *base)
{
	uint32_t b = 0;
	while (m->next && off >= b + m->data_len) {
		b += m->data_len;
		m = m->next;
	}
	*base = b;
	return m;
}

/* report data [at, at + n) of mbuf m; false when the slices are full */
static inline bool put_slice(struct http_body_out *out, struct http_slice *slices, uint32_t max,
			     struct rte_mbuf *m, uint32_t at, uint32_t n)
{
	if (!slices)
		return true;
	if (out->nslices == max)
		return false;
	slices[out->nslices++] = (struct http_slice){m, at, n};
	return true;
}

static int body_counted(struct http_parser *p, struct rte_mbuf *chain, uint32_t off,
			struct http_body_out *out, struct http_slice *slices, uint32_t max,
			bool bounded)
{
	uint32_t base;
	struct rte_mbuf *m = seek(chain, off, &base);
	uint32_t at = off - base;

	for (; m; m = m->next, at = 0) {
		if (bounded && p->remaining == 0)
			break;
		if (at >= m->data_len)
			continue;
		uint64_t n = m->data_len - at;
		if (bounded && n > p->remaining)
			n = p->remaining;
		if (!put_slice(out, slices, max, m, at, (uint32_t)n))
			return 0;
		out->raw += n;
		out->data += n;
		if (bounded)
			p->remaining -= n;
	}
	if (bounded && p->remaining == 0) {
		p->state = ST_START;
		return 1;
	}
	return 0;
}

static int chunk_fail(struct http_parser *p, uint8_t c, enum http_error e)
{
	if (c == '\n')
		return fail(p, HTTP_E_BARE_LF);
	return fail(p, e);
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* one byte of a chunk-size line or the trailer section: 0 go on, 1 the message ended, < 0 refused */
static int chunk_byte(struct http_parser *p, uint8_t c)
{
	uint8_t k = http_cls[c];
	int h;

	if (p->cstate <= CS_SIZE_LF) {
		if (unlikely(++p->cline > p->lim.max_chunk_line))
			return fail(p, HTTP_E_CHUNK_LINE_TOO_LONG);
	} else if (p->cstate >= CS_TR_START && unlikely(++p->ctrailer > p->lim.max_head)) {
		return fail(p, HTTP_E_TRAILER_TOO_LARGE);
	}
	switch (p->cstate) {
	case CS_SIZE0:
	case CS_SIZE:
		h = hexval(c);
		if (h >= 0) {
			if (p->remaining >= CHUNK_SIZE_MAX >> 4)
				return fail(p, HTTP_E_BAD_CHUNK_SIZE);
			p->remaining = p->remaining << 4 | (uint64_t)h;
			p->cstate = CS_SIZE;
		} else if (p->cstate == CS_SIZE0) {
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_SIZE);
		} else if (c == '\r') {
			p->cstate = CS_SIZE_LF;
		} else if (c == ';') {
			p->cstate = CS_EXT_NAME0;
		} else if (k & C_WS) {
			p->cstate = CS_BWS;
		} else {
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_SIZE);
		}
		return 0;
	case CS_BWS: /* after the size or an extension value: BWS, then ";" or the CRLF */
		if (c == '\r')
			p->cstate = CS_SIZE_LF;
		else if (c == ';')
			p->cstate = CS_EXT_NAME0;
		else if (!(k & C_WS))
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_EXT);
		return 0;
	case CS_EXT_NAME0:
		if (k & C_TCHAR)
			p->cstate = CS_EXT_NAME;
		else if (!(k & C_WS))
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_EXT);
		return 0;
	case CS_EXT_NAME:
	case CS_EXT_AFTER_NAME:
		if ((k & C_TCHAR) && p->cstate == CS_EXT_NAME)
			return 0;
		if (c == '=')
			p->cstate = CS_EXT_VAL0;
		else if (c == ';')
			p->cstate = CS_EXT_NAME0;
		else if (c == '\r')
			p->cstate = CS_SIZE_LF;
		else if (k & C_WS)
			p->cstate = CS_EXT_AFTER_NAME;
		else
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_EXT);
		return 0;
	case CS_EXT_VAL0:
		if (c == '"')
			p->cstate = CS_EXT_QSTR;
		else if (k & C_TCHAR)
			p->cstate = CS_EXT_VAL;
		else if (!(k & C_WS))
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_EXT);
		return 0;
	case CS_EXT_VAL:
		if (k & C_TCHAR)
			return 0;
		if (c == ';')
			p->cstate = CS_EXT_NAME0;
		else if (c == '\r')
			p->cstate = CS_SIZE_LF;
		else if (k & C_WS)
			p->cstate = CS_BWS;
		else
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_EXT);
		return 0;
	case CS_EXT_QSTR:
		if (c == '"')
			p->cstate = CS_BWS;
		else if (c == '\\')
			p->cstate = CS_EXT_QPAIR;
		else if (!(k & C_QDTEXT))
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_EXT);
		return 0;
	case CS_EXT_QPAIR:
		if (!(k & C_FVAL))
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_EXT);
		p->cstate = CS_EXT_QSTR;
		return 0;
	case CS_SIZE_LF:
		if (c != '\n')
			return fail(p, HTTP_E_BARE_CR);
		p->cline = 0;
		p->cstate = p->remaining ? CS_DATA : CS_TR_START;
		return 0;
	case CS_DATA_CR:
		if (c != '\r')
			return chunk_fail(p, c, HTTP_E_BAD_CHUNK_DATA);
		p->cstate = CS_DATA_LF;
		return 0;
	case CS_DATA_LF:
		if (c != '\n')
			return fail(p, HTTP_E_BARE_CR);
		p->cstate = CS_SIZE0;
		return 0;
	case CS_TR_START:
		if (c == '\r') {
			p->cstate = CS_END_LF;
		} else if (k & C_TCHAR) {
			p->msg.flags |= HTTP_F_TRAILERS;
			p->cstate = CS_TR_NAME;
		} else {
			return chunk_fail(p, c, (k & C_WS) ? HTTP_E_OBS_FOLD : HTTP_E_BAD_TRAILER);
		}
		return 0;
	case CS_TR_NAME:
		if (c == ':')
			p->cstate = CS_TR_VALUE;
		else if (!(k & C_TCHAR))
			return chunk_fail(p, c,
					  (k & C_WS) ? HTTP_E_WS_BEFORE_COLON : HTTP_E_BAD_TRAILER);
		return 0;
	case CS_TR_VALUE:
		if (c == '\r')
			p->cstate = CS_TR_LF;
		else if (!(k & C_FVAL))
			return chunk_fail(p, c, HTTP_E_CTL_CHAR);
		return 0;
	case CS_TR_LF:
		if (c != '\n')
			return fail(p, HTTP_E_BARE_CR);
		p->cstate = CS_TR_START;
		return 0;
	case CS_END_LF:
		if (c != '\n')
			return fail(p, HTTP_E_BARE_CR);
		return 1;
	}
	return fail(p, HTTP_E_BAD_CHUNK_DATA); /* not reached: CS_DATA is walked by count */
}

/* Byte @p at of @p m is a trailer line's: extend the last slice, or start
 * one. @p check: only say whether it would fit. */
static bool keep_trailer_byte(struct http_trailer_out *tr, struct rte_mbuf *m, uint32_t at,
			      bool check)
{
	struct http_slice *last = tr->n > 0 ? &tr->s[tr->n - 1] : NULL;

	if (last != NULL && last->m == m && last->off + last->len == at) {
		if (!check)
			last->len++;
		return true;
	}
	if (tr->n == HTTP_TR_SLICES)
		return false;
	if (!check)
		tr->s[tr->n++] = (struct http_slice){m, at, 1};
	return true;
}

static int body_chunked(struct http_parser *p, struct rte_mbuf *chain, uint32_t off,
			struct http_body_out *out, struct http_slice *slices, uint32_t max)
{
	uint32_t base;
	struct rte_mbuf *m = seek(chain, off, &base);
	uint32_t at = off - base;

	for (; m; m = m->next, at = 0) {
		const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
		uint32_t n = m->data_len;
		while (at < n) {
			if (p->cstate == CS_DATA) {
				uint64_t k = RTE_MIN((uint64_t)(n - at), p->remaining);
				if (!put_slice(out, slices, max, m, at, (uint32_t)k))
					return 0;
				out->raw += k;
				out->data += k;
				at += (uint32_t)k;
				p->remaining -= k;
				if (!p->remaining)
					p->cstate = CS_DATA_CR;
				continue;
			}
			uint8_t before = p->cstate;
			int r;

			if (unlikely(p->tr != NULL) && before >= CS_TR_START &&
			    before <= CS_TR_LF && !keep_trailer_byte(p->tr, m, at, true))
				return 0; /* the trailer slices are full: the caller empties them */
			r = chunk_byte(p, d[at++]);
			out->raw++;
			if (unlikely(r < 0))
				return r;
			if (unlikely(p->tr != NULL) &&
			    (before == CS_TR_LF ||
			     (p->cstate >= CS_TR_NAME && p->cstate <= CS_TR_LF)))
				(void)keep_trailer_byte(p->tr, m, at - 1, false);
			if (r == 1) {
				out->trailer_done = true;
				p->state = ST_START;
				return 1;
			}
		}
	}
	return 0;
}

int http_parse_body(struct http_parser *p, struct rte_mbuf *chain, uint32_t off,
		    struct http_body_out *out, struct http_slice *slices, uint32_t max_slices)
{
	*out = (struct http_body_out){0};
	if (unlikely(p->state == ST_ERROR))
		return -(int)p->err;
	if (p->state != ST_BODY)
		return p->state == ST_START ? 1 : 0; /* in a head: no body byte yet */
	if (!chain)
		return 0;
	switch (p->msg.framing) {
	case HTTP_BODY_LENGTH:
		return body_counted(p, chain, off, out, slices, max_slices, true);
	case HTTP_BODY_CHUNKED:
		return body_chunked(p, chain, off, out, slices, max_slices);
	default: /* until close, tunnel */
		return body_counted(p, chain, off, out, slices, max_slices, false);
	}
}

int http_parse_eof(struct http_parser *p)
{
	switch (p->state) {
	case ST_START:
		return 0;
	case ST_HEAD:
		/* nothing but empty lines (or nothing) of a next message: no message */
		if (p->msg.version == 0 && p->pos == p->line_off)
			return 0;
		return fail(p, HTTP_E_TRUNCATED);
	case ST_BODY:
		if (p->msg.framing == HTTP_BODY_CLOSE || p->msg.framing == HTTP_BODY_TUNNEL) {
			p->state = ST_START;
			return 1;
		}
		return fail(p, HTTP_E_TRUNCATED);
	default:
		return -(int)p->err;
	}
}
