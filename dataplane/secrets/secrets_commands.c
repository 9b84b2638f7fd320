/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * secrets: meshctl secret apply / bundle / list. apply and bundle put the PEM
 * text meshctl read into the override store (memory only; secrets_config.c
 * prefers it over the files for that name) and re-apply the live document
 * through control_apply_text(), the path config.apply takes; a refused
 * secret is taken back out of the store, so the running one stays and later
 * compiles do not meet it. The document's text does not change, so a
 * config rollback does not undo a secret apply. Control thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../control/control.h"
#include "../log/log.h"
#include "secrets_internal.h"

static json_t *secrets_hex_json(const uint8_t *b, size_t n)
{
	char hex[2 * 32 + 1];

	for (size_t i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	return json_string(hex);
}

static json_t *secrets_secret_json(const struct secret *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:s, s:I}", "name", s->name,
			 "spiffe_id", s->spiffe_id, "trust_domain", s->trust_domain, "serial",
			 s->serial, "not_before", (json_int_t)s->not_before, "not_after",
			 (json_int_t)s->not_after, "fingerprint",
			 secrets_hex_json(s->fingerprint, sizeof(s->fingerprint)), "source",
			 s->source == SECRETS_SOURCE_API ? "api" : "file", "chain",
			 (json_int_t)sk_X509_num(s->chain));
}

/*
 * Put @p cert / @p key in the store for @p name, re-apply the live document and
 * take the override back out if it is refused. @return the reply.
 */
static json_t *secrets_cmd_override(struct control *c, const char *cmd, enum secrets_kind kind,
				    const char *name, const char *cert, const char *key,
				    const struct control_peer *peer)
{
	const struct cfg_snapshot *live = cfg_live;
	struct secrets_pem old = {NULL, NULL};
	const struct secret *sec;
	json_t *reply, *ok;
	char *text;
	int rc;

	if (live == NULL || live->text == NULL)
		return ctl_reply_error("%s: no configuration is live", cmd);
	/* The live text goes when the new snapshot is published: compile a copy. */
	text = strndup(live->text, live->text_len);
	if (text == NULL)
		return ctl_reply_error("%s: out of memory", cmd);
	rc = secrets_override_put(kind, name, cert, key, &old);
	if (rc != 0) {
		free(text);
		return ctl_reply_error("%s: %s", cmd,
				       rc == -ENOSPC ? "the override store is full"
						     : strerror(-rc));
	}
	reply = control_apply_text(c, cmd, text, strlen(text), peer, NULL);
	free(text);
	ok = json_object_get(reply, "ok");
	if (reply == NULL || !json_is_true(ok)) {
		secrets_override_restore(kind, name, &old);
		secrets_stat_inc(SECRETS_STAT_API_REFUSED);
		LOG(WARNING, "%s %s by uid %u refused, the running one stays: %s", cmd, name,
		    (unsigned int)peer->uid,
		    reply != NULL && json_is_string(json_object_get(reply, "error"))
			    ? json_string_value(json_object_get(reply, "error"))
			    : "out of memory");
		return reply;
	}
	secrets_pem_free(&old);
	secrets_stat_inc(SECRETS_STAT_API_APPLIED);
	sec = kind == SECRETS_KIND_IDENTITY ? secrets_find(cfg_live, name) : NULL;
	if (sec != NULL) {
		LOG(NOTICE, "%s: identity %s is %s serial %s, not after %" PRId64, cmd, name,
		    sec->spiffe_id, sec->serial, sec->not_after);
		json_object_set_new(json_object_get(reply, "result"), "secret",
				    secrets_secret_json(sec));
	}
	return reply;
}

static json_t *secrets_cmd_apply(struct control *c, json_t *req, const struct control_peer *peer)
{
	const char *cmd = "secret.apply", *name, *cert, *key;
	json_t *err = NULL;

	if ((name = control_arg_string(req, cmd, "name", NULL, &err)) == NULL ||
	    (cert = control_arg_string(req, cmd, "cert", NULL, &err)) == NULL ||
	    (key = control_arg_string(req, cmd, "key", NULL, &err)) == NULL)
		return err;
	if (secrets_find(cfg_live, name) == NULL) {
		secrets_stat_inc(SECRETS_STAT_API_REFUSED);
		return ctl_reply_error("%s: no identity '%s' in $.secrets.identities of the live "
				       "configuration",
				       cmd, name);
	}
	return secrets_cmd_override(c, cmd, SECRETS_KIND_IDENTITY, name, cert, key, peer);
}

static bool secrets_has_td(const struct cfg_snapshot *snap, const char *td)
{
	const struct secrets_snap *ss = snap != NULL ? snap->secrets : NULL;

	for (uint32_t i = 0; ss != NULL && i < ss->n_tds; i++)
		if (strcmp(ss->tds[i].name, td) == 0)
			return true;
	return false;
}

static json_t *secrets_cmd_bundle(struct control *c, json_t *req, const struct control_peer *peer)
{
	const char *cmd = "secret.bundle", *td, *bundle;
	json_t *err = NULL;

	if ((td = control_arg_string(req, cmd, "trust_domain", NULL, &err)) == NULL ||
	    (bundle = control_arg_string(req, cmd, "bundle", NULL, &err)) == NULL)
		return err;
	if (!secrets_has_td(cfg_live, td)) {
		secrets_stat_inc(SECRETS_STAT_API_REFUSED);
		return ctl_reply_error("%s: no trust domain '%s' in $.secrets.trust_domains of the "
				       "live configuration",
				       cmd, td);
	}
	return secrets_cmd_override(c, cmd, SECRETS_KIND_BUNDLE, td, bundle, NULL, peer);
}

static json_t *secrets_cmd_list(struct control *c, json_t *req, const struct control_peer *peer)
{
	const struct cfg_snapshot *snap = cfg_live;
	const struct secrets_snap *ss = snap != NULL ? snap->secrets : NULL;
	json_t *ids = json_array(), *tds = json_array(), *counters = json_object();

	(void)c;
	(void)req;
	(void)peer;
	for (unsigned int i = 0; i < secrets_count(snap); i++)
		json_array_append_new(ids, secrets_secret_json(secrets_at(snap, i)));
	for (uint32_t i = 0; ss != NULL && i < ss->n_tds; i++)
		json_array_append_new(
			tds,
			json_pack("{s:s, s:I, s:o, s:s}", "name", ss->tds[i].name, "certificates",
				  (json_int_t)ss->tds[i].n_certs, "fingerprint",
				  secrets_hex_json(ss->tds[i].fingerprint, 32), "source",
				  ss->tds[i].source == SECRETS_SOURCE_API ? "api" : "file"));
	for (unsigned int id = 0; id < SECRETS_STAT_MAX; id++)
		json_object_set_new(counters, secrets_stat_name(id),
				    json_integer((json_int_t)secrets_stat(id)));
	/* Without $.secrets there is no lifetime policy to show: "section": false. */
	return ctl_reply_ok(
		json_pack("{s:b, s:o, s:o, s:I, s:s, s:o}", "section", ss != NULL, "secrets", ids,
			  "trust_domains", tds, "max_lifetime_hours",
			  (json_int_t)(ss != NULL ? ss->max_lifetime_hours : 0), "on_long_lifetime",
			  ss == NULL || ss->refuse_long ? "refuse" : "warn", "counters", counters));
}

static const struct control_cmd secrets_cmds[] = {
	{"secret.apply", secrets_cmd_apply, CONTROL_CMD_WRITE,
	 "replace an identity's certificate chain and key (name, cert, key: PEM text)"},
	{"secret.bundle", secrets_cmd_bundle, CONTROL_CMD_WRITE,
	 "replace a trust domain's bundle (trust_domain, bundle: PEM text)"},
	{"secret.list", secrets_cmd_list, 0,
	 "identities (SPIFFE ID, serial, not_after, source), trust domains, counters"},
};

const struct control_cmd_set secrets_commands = {"secrets", secrets_cmds, RTE_DIM(secrets_cmds)};
