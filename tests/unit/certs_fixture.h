/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the tests that make certificates with tools/certs.sh (CERTS_SH) share:
 * a shell command by format, and a fresh directory for the certificates.
 */
#ifndef MESHDP_CERTS_FIXTURE_H
#define MESHDP_CERTS_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/** Run the shell command @p fmt formats. @return system()'s status (0: it succeeded). */
static inline int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/**
 * A new directory /tmp/meshdp-test-@p name-XXXXXX in @p dir (@p size bytes)
 * holding a trust domain's CA (`certs.sh DIR`, cluster.local).
 * @return 0, or -1.
 */
static inline int certs_dir(char *dir, size_t size, const char *name)
{
	snprintf(dir, size, "/tmp/meshdp-test-%s-XXXXXX", name);
	if (mkdtemp(dir) == NULL)
		return -1;
	return run("%s %s >/dev/null", CERTS_SH, dir) == 0 ? 0 : -1;
}

#endif
