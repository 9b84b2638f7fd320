/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshctl audit: the live configuration, or a document given with "text"
 * (compiled and bound as config validate does, never published), checked by
 * audit_snapshot(). Control thread.
 */
#include "../control/control.h"
#include "audit.h"

static json_t *audit_cmd(struct control *c, json_t *req, const struct control_peer *peer)
{
	struct cfg_snapshot *snap = NULL;
	const struct cfg_snapshot *target = cfg_live;
	json_t *report, *err = NULL;

	(void)peer;
	if (json_object_get(req, "text") != NULL) {
		const char *text;
		size_t len;

		text = control_arg_string(req, "audit", "text", &len, &err);
		if (text == NULL)
			return err;
		err = control_build(c, "audit", text, len, &snap);
		if (err != NULL)
			return err;
		target = snap;
	}
	report = audit_snapshot(target);
	if (report != NULL)
		json_object_set_new(
			report, "generation",
			json_integer(snap != NULL ? 0 : (json_int_t)target->generation));
	cfg_snapshot_free(snap);
	return report != NULL ? ctl_reply_ok(report) : ctl_reply_error("audit: out of memory");
}

static const struct control_cmd audit_cmds[] = {
	{"audit", audit_cmd, 0,
	 "the configuration checked against NIST SP 800-204A (text: a document to check "
	 "instead of the live one)"},
};

const struct control_cmd_set audit_commands = {"audit", audit_cmds, RTE_DIM(audit_cmds)};
