/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshctl fleet: a fleet's configuration in etcd, from the operator's side
 * (the daemon's side is dataplane/etcd): publish the fleet document at
 * <prefix>/config or a namespace's at <prefix>/namespaces/<ns>, read every
 * node's <prefix>/status/<node>. Through etcd's
 * v3 JSON gateway with libcurl, trying the endpoints in turn.
 */
#ifndef MESHDP_CTL_FLEET_H
#define MESHDP_CTL_FLEET_H

#include <stddef.h>

#include <jansson.h>

/**
 * Authenticate as @p user ("NAME:PASSWORD") with etcd; the later calls carry the
 * token. @return 0, or -1 with @p err filled.
 */
int fleet_login(const char *endpoints, const char *user, char *err, size_t errlen);

/**
 * Put @p text at <@p prefix>/config (@p ns NULL) or <@p prefix>/namespaces/<@p ns>
 * through the first of @p endpoints (comma-separated URLs) that answers.
 * @return the store's revision after the put (> 0), or -1 with @p err filled.
 */
long long fleet_publish(const char *endpoints, const char *prefix, const char *ns, const char *text,
			size_t len, char *err, size_t errlen);

/**
 * Every node's status under @p prefix: [{"node", "revision", "result",
 * "generation", "error", "applied_unix_ms", "source"}...] plus "revision": the
 * fleet key's mod_revision (0: none). @return the object or NULL with @p err.
 */
json_t *fleet_status(const char *endpoints, const char *prefix, char *err, size_t errlen);

#endif
