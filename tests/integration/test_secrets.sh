#!/usr/bin/env bash
# meshctl secret against a live daemon: a document with $.secrets loads its
# identity from files; secret apply rotates it (new serial, source api, new
# generation); every bad certificate of tools/certs.sh is refused with its
# reason and the running identity stays; secret bundle replaces a trust
# domain's bundle and refuses one for a trust domain the document lacks.
source "$(dirname "$0")/lib.sh"

certs=$IT_ROOT/tools/certs.sh
"$certs" "$IT_WORK/pki" >/dev/null
"$certs" "$IT_WORK/pki" leaf edge spiffe://cluster.local/ns/shop/sa/edge >/dev/null
"$certs" "$IT_WORK/pki" leaf edge2 spiffe://cluster.local/ns/shop/sa/edge --hours 6 >/dev/null
"$certs" "$IT_WORK/pki" bad >/dev/null

it_start_meshdp

gen() { it_ctl --json status | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
# secret_field NAME FIELD: a field of identity NAME in secret list.
secret_field()
{
	it_ctl --json secret list | "$IT_PY" -c 'import json,sys; r=json.load(sys.stdin); print([s for s in r["secrets"] if s["name"] == sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

it_log "without \$.secrets"
it_ctl secret list | grep -qF 'no $.secrets in the live configuration' || it_fail "secret list without secrets: $(it_ctl secret list)"
out=$(it_ctl secret apply edge --cert "$IT_WORK/pki/edge.pem" --key "$IT_WORK/pki/edge.key" 2>&1) && it_fail "secret apply without \$.secrets was accepted"
grep -qF "no identity 'edge'" <<<"$out" || it_fail "secret apply without secrets: $out"

it_log "a document with \$.secrets: the identity loads from its files"
it_ctl --json config show | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["text"])' >"$IT_WORK/base.json"
"$IT_PY" - "$IT_WORK" <<'PY'
import json, sys
d = sys.argv[1]
c = json.load(open(d + "/base.json"))
c["secrets"] = {"max_lifetime_hours": 24, "on_long_lifetime": "refuse",
                "identities": [{"name": "edge", "cert": d + "/pki/edge.pem", "key": d + "/pki/edge.key"}],
                "trust_domains": [{"name": "cluster.local", "bundle": d + "/pki/ca.pem"}]}
json.dump(c, open(d + "/secrets.json", "w"))
PY
it_ctl config apply "$IT_WORK/secrets.json" >/dev/null || it_fail "the document with secrets was refused"
[ "$(secret_field edge serial)" = "$(serial_of "$IT_WORK/pki/edge.pem")" ] || it_fail "secret list does not show edge.pem's serial"
[ "$(secret_field edge source)" = file ] || it_fail "the identity's source is not file"
[ "$(secret_field edge spiffe_id)" = spiffe://cluster.local/ns/shop/sa/edge ] || it_fail "wrong SPIFFE ID"
it_ctl secret list | grep -q "^edge  *spiffe://cluster.local/ns/shop/sa/edge  *$(serial_of "$IT_WORK/pki/edge.pem")  *20.*Z  *file" || it_fail "secret list's table is wrong: $(it_ctl secret list)"

it_log "secret apply rotates the identity"
g0=$(gen)
out=$(it_ctl secret apply edge --cert "$IT_WORK/pki/edge2.pem" --key "$IT_WORK/pki/edge2.key") || it_fail "secret apply refused: $out"
grep -q "serial $(serial_of "$IT_WORK/pki/edge2.pem")" <<<"$out" || it_fail "secret apply does not print the new serial: $out"
[ "$(gen)" -eq $((g0 + 1)) ] || it_fail "secret apply did not publish one new generation"
[ "$(secret_field edge serial)" = "$(serial_of "$IT_WORK/pki/edge2.pem")" ] || it_fail "the new serial is not live"
[ "$(secret_field edge source)" = api ] || it_fail "the applied identity's source is not api"

it_log "every bad certificate is refused with its reason; the running identity stays"
g1=$(gen)
check_refused()
{
	local kind=$1 needle=$2 out rc=0
	out=$(it_ctl secret apply edge --cert "$IT_WORK/pki/bad/$kind.pem" --key "$IT_WORK/pki/bad/$kind.key" 2>&1) || rc=$?
	[ "$rc" -eq 1 ] || it_fail "secret apply $kind: exit $rc, expected 1: $out"
	grep -qF -- '$.secrets.identities[0]: ' <<<"$out" || it_fail "secret apply $kind: the error does not name the identity: $out"
	grep -qF -- "$needle" <<<"$out" || it_fail "secret apply $kind: '$out' does not say '$needle'"
}
check_refused expired "certificate expired"
check_refused not-yet-valid "not yet valid"
check_refused other-td "trust domain 'other.test'"
check_refused foreign-ca "does not chain to the bundle of trust domain 'cluster.local'"
check_refused no-uri-san "no URI SAN"
check_refused two-uri-san "2 URI SANs"
check_refused bad-spiffe-id "not a valid SPIFFE ID"
check_refused ca-leaf "is a CA"
check_refused keycertsign "keyCertSign"
check_refused self-signed "self-signed"
check_refused long-lifetime "over \$.secrets.max_lifetime_hours 24"
check_refused key-mismatch "the key does not match the certificate"
[ "$(gen)" -eq "$g1" ] || it_fail "a refused secret changed the generation"
grep -qF 'secret.apply edge by uid 0 refused, the running one stays: $.secrets.identities[0]: certificate is self-signed' "$IT_WORK/meshdp.log" || it_fail "no log line for a refused secret"
grep -qF "secret.apply: identity edge is spiffe://cluster.local/ns/shop/sa/edge serial $(serial_of "$IT_WORK/pki/edge2.pem")" "$IT_WORK/meshdp.log" || it_fail "no log line for the rotation"
[ "$(secret_field edge serial)" = "$(serial_of "$IT_WORK/pki/edge2.pem")" ] || it_fail "a refused secret replaced the running one"
out=$(it_ctl secret apply nope --cert "$IT_WORK/pki/edge.pem" --key "$IT_WORK/pki/edge.key" 2>&1) && it_fail "secret apply of an unknown identity was accepted"
grep -qF "no identity 'nope'" <<<"$out" || it_fail "unknown identity: $out"
it_ctl --json secret list | "$IT_PY" -c 'import json,sys; c=json.load(sys.stdin)["counters"]; assert c["secrets_api_refused"] == 14 and c["secrets_api_applied"] == 1, c' || it_fail "secret list's counters are wrong"
metrics=$(curl -sf http://127.0.0.1:9901/metrics) || it_fail "no /metrics"
grep -qx "meshdp_secrets_api_refused_total 14" <<<"$metrics" || it_fail "/metrics does not count 14 refused secret applies: $(echo "$metrics" | grep secrets_)"
grep -qx "meshdp_secrets_api_applied_total 1" <<<"$metrics" || it_fail "/metrics does not count 1 secret apply"
grep -q "^# TYPE meshdp_secrets_loaded_total counter" <<<"$metrics" || it_fail "/metrics has no TYPE line for the secrets counters"

it_log "secret bundle"
out=$(it_ctl secret bundle other.test --bundle "$IT_WORK/pki/other/ca.pem" 2>&1) && it_fail "a bundle for an unknown trust domain was accepted"
grep -qF "no trust domain 'other.test'" <<<"$out" || it_fail "unknown trust domain: $out"
out=$(it_ctl secret bundle cluster.local --bundle "$IT_WORK/pki/other/ca.pem" 2>&1) && it_fail "a bundle the identity does not chain to was accepted"
grep -qF "does not chain" <<<"$out" || it_fail "a foreign bundle: $out"
it_ctl secret bundle cluster.local --bundle "$IT_WORK/pki/ca.pem" >/dev/null || it_fail "the same bundle from the API was refused"
it_ctl --json secret list | "$IT_PY" -c 'import json,sys; t=json.load(sys.stdin)["trust_domains"]; assert t[0]["name"] == "cluster.local" and t[0]["source"] == "api", t' || it_fail "the bundle's source is not api"

it_log "usage errors"
check_usage() {
	local want_rc=$1 needle=$2 out rc=0
	shift 2
	out=$(it_ctl "$@" 2>&1) || rc=$?
	[ "$rc" -eq "$want_rc" ] || it_fail "meshctl $*: exit $rc, expected $want_rc: $out"
	grep -qF -- "$needle" <<<"$out" || it_fail "meshctl $*: '$out' does not say '$needle'"
}
check_usage 2 "expected --cert FILE and --key FILE" secret apply edge --cert "$IT_WORK/pki/edge.pem"
check_usage 2 "expected the identity's NAME first" secret apply --cert x
check_usage 2 "unexpected argument '--cert'" secret bundle cluster.local --cert x
check_usage 1 "cannot open" secret bundle cluster.local --bundle "$IT_WORK/nope.pem"
check_usage 2 "secret list takes no arguments" secret list x

it_stop_meshdp
it_log "ok"
