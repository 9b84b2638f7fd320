/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What command handlers of every subsystem use (control.h, "for command
 * handlers"): arguments, the per-worker dump through the workers' mailboxes,
 * addresses as text. Control thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_internal.h"

const struct control_ctx *control_ctx(const struct control *c)
{
	return &c->ctx;
}

/* Fetch the string argument @p key. @return NULL with *err_reply set if absent / wrong. */
const char *control_arg_string(json_t *req, const char *cmd, const char *key, size_t *len,
			       json_t **err_reply)
{
	json_t *v = json_object_get(req, key);

	if (v == NULL) {
		*err_reply = ctl_reply_error("%s: missing argument \"%s\"", cmd, key);
		return NULL;
	}
	if (!json_is_string(v)) {
		*err_reply = ctl_reply_error("%s: argument \"%s\" must be a string", cmd, key);
		return NULL;
	}
	if (len != NULL)
		*len = json_string_length(v);
	return json_string_value(v);
}

/*
 * The optional "limit" argument of a listing: 1..CONTROL_DUMP_MAX, default
 * CONTROL_DUMP_DEFAULT. @return 0 with *limit set, or -1 with *err_reply set.
 */
int control_arg_limit(json_t *req, const char *cmd, json_int_t *limit, json_t **err_reply)
{
	json_t *v = json_object_get(req, "limit");

	*limit = CONTROL_DUMP_DEFAULT;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		*err_reply = ctl_reply_error("%s: argument \"limit\" must be an integer", cmd);
		return -1;
	}
	*limit = json_integer_value(v);
	if (*limit < 1 || *limit > CONTROL_DUMP_MAX) {
		*err_reply = ctl_reply_error("%s: limit must be 1..%d, got %" JSON_INTEGER_FORMAT,
					     cmd, CONTROL_DUMP_MAX, *limit);
		return -1;
	}
	return 0;
}

/* The reply to a failed worker mailbox request (worker_set_dump()). */
static json_t *control_mailbox_error(const char *cmd, int rc, unsigned int failed)
{
	if (rc == -ESRCH)
		return ctl_reply_error("%s: worker %u is not running", cmd, failed);
	if (rc == -ETIMEDOUT)
		return ctl_reply_error("%s: worker %u did not answer within %d ms", cmd, failed,
				       CONTROL_DUMP_WAIT_MS);
	return ctl_reply_error("%s: %s", cmd, strerror(-rc));
}

/*
 * Every worker's records of @p kind (worker_set_dump()), at most @p limit in
 * all, as the reply {"<key>": [...], "truncated": bool} to command @p cmd.
 */
json_t *control_dump(struct control *c, const char *cmd, const char *key, enum worker_req_kind kind,
		     int32_t filter, json_int_t limit, size_t rec_size, control_record_json to_json)
{
	const struct cfg_snapshot *snap = cfg_live;
	struct worker_set *ws = c->ctx.workers;
	void **bufs = NULL;
	char *all = NULL;
	unsigned int *count = NULL, failed = 0, shown = 0;
	json_t *arr, *reply = NULL;
	bool *more = NULL, truncated = false;
	int rc;

	if (snap == NULL || ws == NULL || ws->n == 0)
		return ctl_reply_error("%s: no worker runs", cmd);
	bufs = calloc(ws->n, sizeof(*bufs));
	count = calloc(ws->n, sizeof(*count));
	more = calloc(ws->n, sizeof(*more));
	all = calloc((size_t)ws->n * (size_t)limit, rec_size);
	if (bufs == NULL || count == NULL || more == NULL || all == NULL) {
		reply = ctl_reply_error("%s: out of memory", cmd);
		goto out;
	}
	for (unsigned int i = 0; i < ws->n; i++)
		bufs[i] = all + (size_t)i * (size_t)limit * rec_size;
	rc = worker_set_dump(ws, kind, filter, bufs, (unsigned int)limit, count, more,
			     CONTROL_DUMP_WAIT_MS, &failed);
	if (rc < 0) {
		reply = control_mailbox_error(cmd, rc, failed);
		goto out;
	}
	arr = json_array();
	for (unsigned int i = 0; i < ws->n; i++) {
		truncated |= more[i];
		for (unsigned int k = 0; k < count[i]; k++) {
			if (shown == (unsigned int)limit) {
				truncated = true;
				break;
			}
			json_array_append_new(arr,
					      to_json(snap, i, (char *)bufs[i] + k * rec_size));
			shown++;
		}
	}
	reply = ctl_reply_ok(json_pack("{s:o, s:b}", key, arr, "truncated", truncated));
out:
	free(bufs);
	free(count);
	free(more);
	free(all);
	return reply;
}

void control_addr(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

/* "10.0.0.1:80", "[fd00::1]:80"; port in network order. */
void control_addr_port(uint8_t family, const uint8_t *addr, uint16_t port_be, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	control_addr(family, addr, a, sizeof(a));
	snprintf(buf, len, family == 4 ? "%s:%u" : "[%s]:%u", a, ntohs(port_be));
}
