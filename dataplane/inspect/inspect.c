/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * inspect: the scanner and the per-request checks (inspect.h). Worker code:
 * no allocation, no lock, one pass over each value.
 */
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>

#include "inspect_internal.h"

/* ---- bytes ---- */

/* Which signatures a byte may start (the first-byte filter). */
#define TR_QUOTE 0x01 /* ' " ` : SQL after a quote */
#define TR_SEMI	 0x02 /* ; : stacked queries */
#define TR_LT	 0x04 /* < : tags */
#define TR_DOT	 0x08 /* . : ../ */
#define TR_SLASH 0x10 /* / \ : /etc/passwd, MySQL comments */
#define TR_CTL	 0x20 /* CR LF NUL (decoded) */
#define TR_ALPHA 0x40 /* a letter that starts a keyword (at a word's start) */
#define TR_WORD	 0x80 /* a word byte: letters, '_' (a word is skipped whole; a digit ends it) */

/* clang-format off */
static const uint8_t insp_trig[256] = {
	['\''] = TR_QUOTE, ['"'] = TR_QUOTE, ['`'] = TR_QUOTE, [';'] = TR_SEMI,
	['<'] = TR_LT, ['.'] = TR_DOT, ['/'] = TR_SLASH, ['\\'] = TR_SLASH,
	['\r'] = TR_CTL, ['\n'] = TR_CTL, [0] = TR_CTL, ['_'] = TR_WORD,
#define W(c) [c] = TR_WORD, [c - 'a' + 'A'] = TR_WORD
	W('g'), W('h'), W('k'), W('m'), W('n'), W('q'), W('r'), W('t'), W('y'), W('z'),
#define A(c) [c] = TR_WORD | TR_ALPHA, [c - 'a' + 'A'] = TR_WORD | TR_ALPHA
	A('a'), A('b'), A('c'), A('d'), A('e'), A('f'), A('i'), A('j'), A('l'), A('o'),
	A('p'), A('s'), A('u'), A('v'), A('w'), A('x'),
#undef A
#undef W
};

/*
 * The second letters a keyword starting with each letter may have (bit
 * x - 'a'): a word is tried only when its first two letters start one of
 * the keywords of insp_sql_word(), insp_script_word() and insp_trav_word()
 * ("c:" is tried apart).
 */
#define B(x) (1u << ((x) - 'a'))
static const uint32_t insp_second[26] = {
	['a' - 'a'] = B('n') | B('l'), /* and, alert */
	['b' - 'a'] = B('e') | B('o'), /* benchmark, boot.ini */
	['d' - 'a'] = B('o') | B('a'), /* document, data */
	['e' - 'a'] = B('x') | B('v'), /* extractvalue, eval */
	['f' - 'a'] = B('r'),          /* fromcharcode */
	['i' - 'a'] = B('n'),          /* information_schema, into */
	['j' - 'a'] = B('a'),          /* javascript */
	['l' - 'a'] = B('o'),          /* load_file */
	['o' - 'a'] = B('r') | B('n'), /* or, on<event> */
	['p' - 'a'] = B('g'),          /* pg_sleep */
	['s' - 'a'] = B('l') | B('e'), /* sleep, select */
	['u' - 'a'] = B('p') | B('n'), /* updatexml, union */
	['v' - 'a'] = B('b'),          /* vbscript */
	['w' - 'a'] = B('a') | B('i'), /* waitfor, win.ini */
	['x' - 'a'] = B('o') | B('p'), /* xor, xp_cmdshell */
};
#undef B
/* clang-format on */

static inline uint8_t insp_lc(uint8_t c)
{
	return (uint8_t)(c + (((uint8_t)(c - 'A') < 26u) << 5)); /* no branch */
}

static inline bool insp_word(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static inline bool insp_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static inline bool insp_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* b[i..] starts with @p s (lower case; '/' also matches '\'), folded. @return the end or 0. */
static uint32_t insp_lit(const uint8_t *b, uint32_t n, uint32_t i, const char *s)
{
	for (; *s != '\0'; s++, i++) {
		uint8_t c;

		if (i >= n)
			return 0;
		c = insp_lc(b[i]);
		if (c != (uint8_t)*s && !(*s == '/' && c == '\\'))
			return 0;
	}
	return i;
}

/* The word @p s at b[i..], not followed by a word byte. @return its end or 0. */
static uint32_t insp_kw(const uint8_t *b, uint32_t n, uint32_t i, const char *s)
{
	uint32_t e = insp_lit(b, n, i, s);

	return e != 0 && (e == n || !insp_word(b[e])) ? e : 0;
}

/* Skip white space and SQL comments (/ * ... * /) from @p i. */
static uint32_t insp_ws(const uint8_t *b, uint32_t n, uint32_t i)
{
	for (;;) {
		while (i < n && insp_space(b[i]))
			i++;
		if (i + 1 < n && b[i] == '/' && b[i + 1] == '*') {
			i += 2;
			while (i + 1 < n && !(b[i] == '*' && b[i + 1] == '/'))
				i++;
			i = RTE_MIN(n, i + 2);
			continue;
		}
		return i;
	}
}

/* The first of @p words (NULL-terminated) at b[i..]. @return its end or 0. */
static uint32_t insp_kw_any(const uint8_t *b, uint32_t n, uint32_t i, const char *const *words)
{
	uint32_t e;
	uint8_t c;

	if (i >= n)
		return 0;
	c = insp_lc(b[i]);
	for (; *words != NULL; words++)
		if ((uint8_t)(*words)[0] == c && (e = insp_kw(b, n, i, *words)) != 0)
			return e;
	return 0;
}

/* Whether the word at b[i] may start a keyword: its first two letters. */
static inline bool insp_gate(const uint8_t *b, uint32_t n, uint32_t i)
{
	uint8_t c, d;

	if (i + 1 >= n)
		return false;
	c = insp_lc(b[i]);
	d = insp_lc(b[i + 1]);
	if (c == 'c')
		return d == ':';
	return d >= 'a' && d <= 'z' && (insp_second[c - 'a'] >> (d - 'a') & 1u);
}

/* The word @p s, white space, then '(' at b[i..]: a call. */
static bool insp_call(const uint8_t *b, uint32_t n, uint32_t i, const char *s)
{
	uint32_t e = insp_kw(b, n, i, s);

	return e != 0 && (e = insp_ws(b, n, e)) < n && b[e] == '(';
}

/* An SQL operand at b[i..]: a number or a quoted string. @return its end or 0. */
static uint32_t insp_operand(const uint8_t *b, uint32_t n, uint32_t i)
{
	uint32_t s = i;

	if (i < n && insp_digit(b[i])) {
		while (i < n && (insp_word(b[i]) || b[i] == '.'))
			i++;
		return i;
	}
	if (i < n && (b[i] == '\'' || b[i] == '"')) {
		for (i++; i < n && b[i] != b[s]; i++)
			;
		return i < n ? i + 1 : 0; /* an open string is prose, not an operand */
	}
	return 0;
}

/* A comparison at b[i..]: = < > != <> like is. @return its end or 0. */
static uint32_t insp_cmp(const uint8_t *b, uint32_t n, uint32_t i)
{
	uint32_t e;

	if (i < n && (b[i] == '=' || b[i] == '<' || b[i] == '>')) {
		i++;
		if (i < n && (b[i] == '=' || b[i] == '>'))
			i++;
		return i;
	}
	if (i + 1 < n && b[i] == '!' && b[i + 1] == '=')
		return i + 2;
	if ((e = insp_kw(b, n, i, "like")) != 0 || (e = insp_kw(b, n, i, "is")) != 0)
		return e;
	return 0;
}

/* ---- signatures ---- */

static const char *const insp_stacked[] = {"drop",     "delete", "insert",  "update",  "select",
					   "shutdown", "exec",	 "execute", "declare", "truncate",
					   "alter",    "create", "union",   NULL};
static const char *const insp_logic[] = {"or", "and", "xor", "having", NULL};
static const char *const insp_tags[] = {"script", "iframe", "frame", "frameset", "object",
					"embed",  "applet", "svg",   "math",	 "meta",
					"base",	  "link",   "style", "img",	 "body",
					"form",	  "video",  "audio", "isindex",	 NULL};
/* DOM event handlers, without their "on" */
static const char *const insp_events[] = {
	"abort",       "afterprint",	"animationend", "animationstart",
	"beforeprint", "beforeunload",	"begin",	"blur",
	"canplay",     "change",	"click",	"contextmenu",
	"copy",	       "cut",		"dblclick",	"drag",
	"dragstart",   "drop",		"end",		"error",
	"focus",       "focusin",	"hashchange",	"input",
	"invalid",     "keydown",	"keypress",	"keyup",
	"load",	       "message",	"mousedown",	"mouseenter",
	"mouseleave",  "mousemove",	"mouseout",	"mouseover",
	"mouseup",     "pageshow",	"paste",	"pointerdown",
	"pointerover", "popstate",	"reset",	"resize",
	"scroll",      "search",	"select",	"submit",
	"toggle",      "transitionend", "unload",	"wheel",
	NULL};

/*
 * A condition after a logic keyword ending at @p e: "1=1", "'a'='a'", "1--",
 * "(", true, false, not, null. @return whether there is one.
 */
static bool insp_condition(const uint8_t *b, uint32_t n, uint32_t e)
{
	uint32_t k = insp_ws(b, n, e);

	if (k < n && (b[k] == '(' || insp_kw(b, n, k, "true") || insp_kw(b, n, k, "false") ||
		      insp_kw(b, n, k, "not") || insp_kw(b, n, k, "null")))
		return true;
	if ((k = insp_operand(b, n, k)) == 0)
		return false;
	k = insp_ws(b, n, k);
	return k == n || insp_cmp(b, n, k) != 0 || b[k] == '#' ||
	       (k + 1 < n && b[k] == '-' && b[k + 1] == '-');
}

/* SQL after a quote at b[i]: "' or 1=1", "'--", "'or'1'='1". */
static const char *insp_sql_quote(const uint8_t *b, uint32_t n, uint32_t i)
{
	uint32_t j = i + 1, e;

	while (j < n && (insp_space(b[j]) || b[j] == ')'))
		j++;
	if (j + 1 < n && ((b[j] == '-' && b[j + 1] == '-') || (b[j] == '/' && b[j + 1] == '*')))
		return "quote, then a comment";
	if (j < n && b[j] == '#')
		return "quote, then a comment";
	if ((e = insp_kw_any(b, n, j, insp_logic)) != 0 ||
	    (j + 1 < n && ((b[j] == '|' && b[j + 1] == '|') || (b[j] == '&' && b[j + 1] == '&')) &&
	     (e = j + 2) != 0)) {
		if (insp_condition(b, n, e))
			return "quote, then a boolean condition";
	}
	return NULL;
}

/* SQL at a word starting at b[i] (a letter after a non-word byte). */
static const char *insp_sql_word(const uint8_t *b, uint32_t n, uint32_t i)
{
	uint32_t e, k;

	switch (insp_lc(b[i])) {
	case 'x':
		if (insp_kw(b, n, i, "xp_cmdshell"))
			return "xp_cmdshell";
		/* fall through - xor is a logic keyword */
	case 'a':
	case 'o':
		/* or 1=1, and 'a'='a' */
		if ((e = insp_kw_any(b, n, i, insp_logic)) == 0 || (k = insp_ws(b, n, e)) == e)
			return NULL;
		if ((k = insp_operand(b, n, k)) == 0)
			return NULL;
		k = insp_ws(b, n, k);
		if ((k = insp_cmp(b, n, k)) == 0)
			return NULL;
		k = insp_ws(b, n, k);
		return insp_operand(b, n, k) != 0 ? "boolean condition (or 1=1)" : NULL;
	case 'b':
		return insp_call(b, n, i, "benchmark") ? "benchmark(" : NULL;
	case 'e':
		return insp_call(b, n, i, "extractvalue") ? "extractvalue(" : NULL;
	case 'i':
		if (insp_kw(b, n, i, "information_schema"))
			return "information_schema";
		if ((e = insp_kw(b, n, i, "into")) != 0 && (k = insp_ws(b, n, e)) > e &&
		    (insp_kw(b, n, k, "outfile") || insp_kw(b, n, k, "dumpfile")))
			return "into outfile";
		return NULL;
	case 'l':
		return insp_call(b, n, i, "load_file") ? "load_file(" : NULL;
	case 'p':
		return insp_call(b, n, i, "pg_sleep") ? "pg_sleep(" : NULL;
	case 's':
		if (insp_call(b, n, i, "sleep"))
			return "sleep(";
		if ((e = insp_kw(b, n, i, "select")) == 0)
			return NULL;
		k = insp_ws(b, n, e);
		if (k < n &&
		    (b[k] == '*' || b[k] == '(' || (b[k] == '@' && k + 1 < n && b[k + 1] == '@')))
			return "select *";
		if (insp_kw(b, n, k, "null") || insp_kw(b, n, k, "version") ||
		    insp_kw(b, n, k, "user") || insp_kw(b, n, k, "database") ||
		    insp_kw(b, n, k, "concat") || insp_kw(b, n, k, "char"))
			return "select function";
		if (k > e && k < n && insp_digit(b[k])) {
			while (k < n && insp_digit(b[k]))
				k++;
			k = insp_ws(b, n, k);
			if (k == n || b[k] == ',' || b[k] == '-' || insp_kw(b, n, k, "from"))
				return "select constant";
		}
		return NULL;
	case 'u':
		if (insp_call(b, n, i, "updatexml"))
			return "updatexml(";
		if ((e = insp_kw(b, n, i, "union")) == 0 || (k = insp_ws(b, n, e)) == e)
			return NULL;
		if ((e = insp_kw(b, n, k, "all")) != 0 || (e = insp_kw(b, n, k, "distinct")) != 0)
			k = insp_ws(b, n, e);
		return insp_kw(b, n, k, "select") ? "union select" : NULL;
	case 'w':
		if ((e = insp_kw(b, n, i, "waitfor")) != 0 && (k = insp_ws(b, n, e)) > e &&
		    insp_kw(b, n, k, "delay"))
			return "waitfor delay";
		return NULL;
	default:
		return NULL;
	}
}

/* Script at a word starting at b[i]. */
static const char *insp_script_word(const uint8_t *b, uint32_t n, uint32_t i)
{
	uint32_t e, k;

	switch (insp_lc(b[i])) {
	case 'a':
		return insp_call(b, n, i, "alert") ? "alert(" : NULL;
	case 'd':
		if ((e = insp_kw(b, n, i, "document")) != 0 && e < n && b[e] == '.' &&
		    (insp_kw(b, n, e + 1, "cookie") || insp_kw(b, n, e + 1, "domain") ||
		     insp_call(b, n, e + 1, "write")))
			return "document.cookie";
		if ((e = insp_kw(b, n, i, "data")) != 0 && (k = insp_ws(b, n, e)) < n &&
		    b[k] == ':' && insp_lit(b, n, insp_ws(b, n, k + 1), "text/html"))
			return "data:text/html";
		return NULL;
	case 'e':
		return insp_call(b, n, i, "eval") ? "eval(" : NULL;
	case 'f':
		return insp_call(b, n, i, "fromcharcode") ? "fromcharcode(" : NULL;
	case 'j':
		if ((e = insp_kw(b, n, i, "javascript")) != 0 && (k = insp_ws(b, n, e)) < n &&
		    b[k] == ':')
			return "javascript:";
		return NULL;
	case 'v':
		if ((e = insp_kw(b, n, i, "vbscript")) != 0 && (k = insp_ws(b, n, e)) < n &&
		    b[k] == ':')
			return "vbscript:";
		return NULL;
	case 'o':
		/* an event handler attribute: " onerror=", "/onload=" */
		if (i == 0 || strchr(" \t\"'/`", b[i - 1]) == NULL || insp_lit(b, n, i, "on") == 0)
			return NULL;
		if ((e = insp_kw_any(b, n, i + 2, insp_events)) == 0)
			return NULL;
		k = insp_ws(b, n, e);
		return k < n && b[k] == '=' ? "on<event>=" : NULL;
	default:
		return NULL;
	}
}

/* Traversal at a '/' or '\' at b[i]: system files. */
static const char *insp_trav_slash(const uint8_t *b, uint32_t n, uint32_t i)
{
	static const char *const files[] = {"/etc/passwd", "/etc/shadow",      "/etc/group",
					    "/proc/self/", "/windows/win.ini", "/winnt/",
					    NULL};

	if (i + 1 < n) {
		uint8_t c = insp_lc(b[i + 1]);

		if (c != 'e' && c != 'p' && c != 'w')
			return NULL;
	}
	for (unsigned int k = 0; files[k] != NULL; k++)
		if (insp_lit(b, n, i, files[k]))
			return files[k];
	return NULL;
}

/* Traversal at a word: c:\windows, boot.ini, win.ini. */
static const char *insp_trav_word(const uint8_t *b, uint32_t n, uint32_t i)
{
	switch (insp_lc(b[i])) {
	case 'b':
		return insp_lit(b, n, i, "boot.ini") ? "boot.ini" : NULL;
	case 'c':
		return insp_lit(b, n, i, "c:/windows") ? "c:\\windows" : NULL;
	case 'w':
		return insp_lit(b, n, i, "win.ini") ? "win.ini" : NULL;
	default:
		return NULL;
	}
}

static inline void insp_hit(struct inspect_hits *h, uint32_t *found, enum inspect_class c,
			    const char *sig)
{
	if (sig == NULL)
		return;
	*found |= 1u << c;
	if (!(h->found & (1u << c))) {
		h->found |= 1u << c;
		h->sig[c] = sig;
	}
}

/* One pass over b[0..n) (decoded or as it came; folded on the fly). @return the classes found. */
static uint32_t insp_pass(const uint8_t *b, uint32_t n, struct inspect_hits *h)
{
	uint32_t found = 0;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t t = insp_trig[b[i]];

		if (likely(t == 0))
			continue;
		if (t & TR_WORD) {
			/* a word's start: the letters after a digit or any other byte
			 * ("1union" is two words to SQL); the loop skips the rest */
			if ((t & TR_ALPHA) && insp_gate(b, n, i)) {
				if (!(found & (1u << INSPECT_SQL)))
					insp_hit(h, &found, INSPECT_SQL, insp_sql_word(b, n, i));
				if (!(found & (1u << INSPECT_SCRIPT)))
					insp_hit(h, &found, INSPECT_SCRIPT,
						 insp_script_word(b, n, i));
				if (!(found & (1u << INSPECT_TRAVERSAL)))
					insp_hit(h, &found, INSPECT_TRAVERSAL,
						 insp_trav_word(b, n, i));
			}
			while (i + 1 < n && (insp_trig[b[i + 1]] & TR_WORD))
				i++;
			continue;
		}
		switch (t) {
		case TR_QUOTE:
			if (!(found & (1u << INSPECT_SQL)))
				insp_hit(h, &found, INSPECT_SQL, insp_sql_quote(b, n, i));
			break;
		case TR_SEMI: {
			uint32_t k = insp_ws(b, n, i + 1);

			if (k + 1 < n && b[k] == '-' && b[k + 1] == '-')
				insp_hit(h, &found, INSPECT_SQL, ";--");
			else if (insp_kw_any(b, n, k, insp_stacked))
				insp_hit(h, &found, INSPECT_SQL, "; <statement>");
			break;
		}
		case TR_LT: {
			uint32_t k = i + 1;

			if (k < n && b[k] == '/')
				k++;
			if (insp_kw_any(b, n, k, insp_tags))
				insp_hit(h, &found, INSPECT_SCRIPT, "<tag");
			break;
		}
		case TR_DOT:
			if (i + 1 < n && b[i + 1] == '.' &&
			    (i == 0 || b[i - 1] == '/' || b[i - 1] == '\\' || b[i - 1] == '=') &&
			    (i + 2 == n || b[i + 2] == '/' || b[i + 2] == '\\'))
				insp_hit(h, &found, INSPECT_TRAVERSAL, "../");
			break;
		case TR_SLASH:
			if (i + 1 < n) {
				const uint8_t c = b[i + 1] | 0x20; /* '*' stays '*' */

				if (c != 'e' && c != 'p' && c != 'w' && c != '*')
					break; /* what follows starts no signature: the common case */
			}
			if (i + 2 < n && b[i] == '/' && b[i + 1] == '*' && b[i + 2] == '!')
				insp_hit(h, &found, INSPECT_SQL, "/*!");
			else if (!(found & (1u << INSPECT_TRAVERSAL)))
				insp_hit(h, &found, INSPECT_TRAVERSAL, insp_trav_slash(b, n, i));
			break;
		default: /* TR_CTL */
			if (b[i] == 0)
				insp_hit(h, &found, INSPECT_TRAVERSAL, "NUL byte");
			else
				insp_hit(h, &found, INSPECT_CRLF, "CR or LF");
			break;
		}
	}
	return found;
}

/* ---- decoding ---- */

static inline int insp_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = insp_lc(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Percent-decode @p src[n] into @p dst (which may be @p src: the output never
 * overtakes the input), '+' as a space when @p plus, overlong UTF-8 forms of
 * ASCII (0xc0 / 0xc1 then a continuation byte) folded. *@p again: the output
 * still holds a "%XX". @return the output's length.
 */
static uint32_t insp_decode(const uint8_t *src, uint32_t n, uint8_t *dst, bool plus, bool *again)
{
	uint32_t o = 0;
	bool pct = false;

	*again = false;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = src[i];
		int hi, lo;

		if (c == '%' && i + 2 < n && (hi = insp_hex(src[i + 1])) >= 0 &&
		    (lo = insp_hex(src[i + 2])) >= 0) {
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (unlikely(c >= 0x80) && c < 0xc0 && o > 0 && (dst[o - 1] & 0xfe) == 0xc0) {
			dst[o - 1] = (uint8_t)((dst[o - 1] & 1) << 6 | (c & 0x3f));
			continue;
		}
		pct |= c == '%';
		dst[o++] = c;
	}
	/* a "%XX" in the output: it was encoded twice */
	for (uint32_t i = 0; pct && i + 2 < o; i++)
		if (dst[i] == '%' && insp_hex(dst[i + 1]) >= 0 && insp_hex(dst[i + 2]) >= 0) {
			*again = true;
			break;
		}
	return o;
}

uint32_t inspect_scan(const char *p, uint32_t len, bool query, struct inspect_hits *h)
{
	const uint8_t *s = (const uint8_t *)p;
	uint8_t win[INSPECT_WINDOW];
	uint32_t found = 0, start = 0;

	if (memchr(p, '%', len) == NULL && (!query || memchr(p, '+', len) == NULL))
		return insp_pass(s, len, h); /* nothing to decode: the bytes as they came */
	for (;;) {
		uint32_t end = RTE_MIN(len, start + INSPECT_WINDOW), n;
		bool again;

		/* a window never cuts a %XX in two */
		if (end < len && s[end - 1] == '%')
			end -= 1;
		else if (end < len && end >= 2 && s[end - 2] == '%')
			end -= 2;
		n = insp_decode(s + start, end - start, win, query, &again);
		if (again) {
			h->double_encoded = true;
			n = insp_decode(win, n, win, false, &again); /* '+' was read once */
		}
		found |= insp_pass(win, n, h);
		if (end == len)
			return found;
		start = end - INSPECT_OVERLAP;
		if (s[start - 1] == '%')
			start -= 1;
		else if (s[start - 2] == '%')
			start -= 2;
	}
}

/* ---- parameters and headers ---- */

/* Headers a request carries once (a second one is an extra parameter). */
/* clang-format off */
#define INSP_SINGLETONS(X)                                                                 \
	X("authorization") X("proxy-authorization") X("content-type") X("user-agent")      \
	X("referer") X("origin") X("x-request-id") X("traceparent") X("if-modified-since") \
	X("if-unmodified-since") X("range") X("max-forwards")
#define INSP_SINGLE(s) {s, sizeof(s) - 1},
static const struct telem_str insp_singletons[] = {INSP_SINGLETONS(INSP_SINGLE)};
#undef INSP_SINGLE
/* clang-format on */

_Static_assert(RTE_DIM(insp_singletons) <= 16, "single_by_len has a bit per singleton");

void inspect_singletons_index(struct inspect_snap *is)
{
	memset(is->single_by_len, 0, sizeof(is->single_by_len));
	for (unsigned int k = 0; k < RTE_DIM(insp_singletons); k++)
		is->single_by_len[insp_singletons[k].len] |= (uint16_t)(1u << k);
}

static inline bool insp_eq_nocase(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
	if (alen != blen || alen == 0 || insp_lc((uint8_t)a[0]) != (uint8_t)b[0])
		return alen == blen && alen == 0;
	for (uint32_t i = 0; i < alen; i++)
		if (insp_lc((uint8_t)a[i]) != (uint8_t)b[i])
			return false;
	return true;
}

/*
 * Duplicate and undeclared query parameters, duplicate singleton headers:
 * the first found, described in @p why. @return true when one was.
 */
static bool insp_extra(const struct inspect_snap *is, const struct inspect_request *rq,
		       struct stats_block *stats, char *why, size_t wlen)
{
	struct telem_str names[INSPECT_PARAMS];
	uint32_t n = 0, seen = 0;
	const char *q = rq->query.p, *end = q + rq->query.len;

	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *pe = amp != NULL ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(pe - q));
		struct telem_str nm = {q, (uint32_t)((eq != NULL ? eq : pe) - q)};
		bool declared = rq->params == NULL;

		q = pe + 1;
		if (nm.len == 0)
			continue;
		if (n == INSPECT_PARAMS) {
			stats_inc(stats, STAT_INSPECT_PARAMS_OVER_LIMIT);
			break;
		}
		for (uint32_t i = 0; i < n; i++)
			if (names[i].len == nm.len && memcmp(names[i].p, nm.p, nm.len) == 0) {
				snprintf(why, wlen, "duplicate query parameter \"%.*s\"",
					 (int)RTE_MIN(nm.len, 48u), nm.p);
				return true;
			}
		for (uint32_t i = 0; !declared && i < rq->n_params; i++)
			declared = rq->params[i].len == nm.len &&
				   memcmp(rq->params[i].p, nm.p, nm.len) == 0;
		if (!declared) {
			snprintf(why, wlen, "undeclared query parameter \"%.*s\"",
				 (int)RTE_MIN(nm.len, 48u), nm.p);
			return true;
		}
		names[n++] = nm;
	}
	for (uint32_t i = 0; i < rq->n_headers; i++) {
		const struct telem_str *nm = &rq->headers[i][0];

		uint32_t cand = nm->len < INSPECT_NAME_LEN ? is->single_by_len[nm->len] : 0;

		for (uint32_t k = 0; cand != 0; k++, cand >>= 1) {
			if (!(cand & 1u) || !insp_eq_nocase(nm->p, nm->len, insp_singletons[k].p,
							    insp_singletons[k].len))
				continue;
			if (seen & (1u << k)) {
				snprintf(why, wlen, "duplicate header %s", insp_singletons[k].p);
				return true;
			}
			seen |= 1u << k;
			break;
		}
	}
	return false;
}

static const enum telem_sev_kind insp_kinds[INSPECT_CLASSES] = {
	[INSPECT_SQL] = TELEM_SEV_INJECTION_SQL,
	[INSPECT_SCRIPT] = TELEM_SEV_INJECTION_SCRIPT,
	[INSPECT_TRAVERSAL] = TELEM_SEV_INJECTION_TRAVERSAL,
	[INSPECT_CRLF] = TELEM_SEV_INJECTION_CRLF,
	[INSPECT_EXTRA] = TELEM_SEV_EXTRA_PARAMETER,
};

/* Scan one value, noting where each newly found class was. */
static void insp_value(struct inspect_hits *h, const char *p, uint32_t len, bool query,
		       const char *where, uint32_t wlen)
{
	uint32_t before = h->found, found = inspect_scan(p, len, query, h) & ~before;

	for (unsigned int c = 0; found != 0 && c < INSPECT_CLASSES; c++)
		if (found & (1u << c)) {
			h->where[c] = where;
			h->where_len[c] = wlen;
		}
}

bool inspect_request(const struct cfg_snapshot *snap, const struct inspect_request *rq,
		     struct telem_worker *tw, const struct telem_sev_ctx *ctx,
		     struct stats_block *stats, uint64_t now_us)
{
	const struct inspect_snap *is = snap->inspect;
	struct inspect_hits h = {0};
	char why[TELEM_SEV_DETAIL];
	bool block = false;

	if (is == NULL || (is->mode == INSPECT_OFF && is->dup_mode == INSPECT_OFF))
		return false;
	stats_inc(stats, STAT_INSPECT_REQUESTS);
	if (is->mode != INSPECT_OFF) {
		insp_value(&h, rq->path.p, rq->path.len, false, "path", 4);
		if (rq->query.len > 0)
			insp_value(&h, rq->query.p, rq->query.len, true, "query", 5);
		for (uint32_t i = 0; i < rq->n_headers && is->n_headers > 0; i++) {
			const struct telem_str *nm = &rq->headers[i][0];

			for (uint32_t k = 0; k < is->n_headers; k++)
				if (insp_eq_nocase(nm->p, nm->len, is->headers[k], is->hlen[k])) {
					insp_value(&h, rq->headers[i][1].p, rq->headers[i][1].len,
						   false, is->headers[k], is->hlen[k]);
					break;
				}
		}
		if (h.double_encoded)
			stats_inc(stats, STAT_INSPECT_DOUBLE_ENCODED);
		for (unsigned int c = 0; c < INSPECT_EXTRA; c++) {
			if (!(h.found & (1u << c)))
				continue;
			snprintf(why, sizeof(why), "%s in %.*s%s", h.sig[c],
				 (int)RTE_MIN(h.where_len[c], 64u), h.where[c],
				 h.double_encoded ? " (double-encoded)" : "");
			telem_sev_emit(tw, snap, insp_kinds[c], ctx, why, now_us);
			block |= is->mode == INSPECT_BLOCK;
		}
	}
	if (is->dup_mode != INSPECT_OFF && insp_extra(is, rq, stats, why, sizeof(why))) {
		telem_sev_emit(tw, snap, TELEM_SEV_EXTRA_PARAMETER, ctx, why, now_us);
		block |= is->dup_mode == INSPECT_BLOCK;
	}
	return block;
}
