/* SPDX-License-Identifier: BSD-3-Clause */
/* The codec's private pieces shared by the parser and the serializer. */
#ifndef MESHDP_HTTP_INTERNAL_H
#define MESHDP_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

/* character classes of http_cls[] (RFC 9110 5.6.2, 5.5; RFC 3986), set at load time */
#define C_TCHAR	 0x01 /* token */
#define C_VCHAR	 0x02 /* request target: VCHAR */
#define C_FVAL	 0x04 /* field value: VCHAR, obs-text, SP, HTAB */
#define C_HOST	 0x08 /* Host: reg-name, IP literal, ':' port */
#define C_QDTEXT 0x10 /* quoted-string text: HTAB, SP, VCHAR but '"' and '\\', obs-text */
#define C_WS	 0x20 /* SP, HTAB */

extern uint8_t http_cls[256];

/*
 * @p s (@p n bytes) equals @p lc (lower case letters, digits, '-') ignoring
 * case. c | 0x20 is exact for a tchar and for any byte of a field value (the
 * only other bytes it maps onto letters, digits and '-' are CTLs, which a
 * checked line does not hold).
 */
static inline bool http_name_is(const char *s, const char *lc, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (((uint8_t)s[i] | 0x20) != (uint8_t)lc[i])
			return false;
	return true;
}

#endif
