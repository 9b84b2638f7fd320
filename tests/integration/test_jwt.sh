#!/usr/bin/env bash
# Request authentication (SM-DR20): tests/data/https-proxy.json on the L4
# topology of lib_l4.sh with $.request_authentication on shop/app
# (http_backend.py, /headers echoes what it received) and a plaintext
# listener beside the one-way TLS one; keys and tokens from jwt_tool.py
# (python3-jwcrypto). Through TLS: ES256, RS256, EdDSA, a JWE with
# RSA-OAEP-256 and one with ECDH-ES (both A256GCM, nested) answer 200, the
# backend sees the claim headers (a client's forged ones removed) and no
# token; HTTP/2 too. Each bad token answers 401 with WWW-Authenticate and
# moves its own counter: expired, nbf in the future, wrong issuer, wrong
# audience, alg none, HS256 keyed with the RSA public key, a tampered
# payload, oversized, malformed, a replayed jti, a signed token where the
# policy requires a JWE, a bearer token in plaintext from a non-loopback
# client. No token passes unauthenticated (authz decides); an authorization
# rule on request_principals lets alice's token in and refuses bob's (403).
# A jwks_uri served by a local HTTPS server (python3 http.server with ssl)
# is fetched by the control thread; with the server gone the refresh fails,
# is counted, and the last good key set keeps verifying.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
PKI=$IT_WORK/pki
KEYS=$IT_WORK/keys
PROXY=10.10.1.1
JWKS_PORT=18443
BACKEND=$(dirname "$0")/http_backend.py
TOOL=$(dirname "$0")/jwt_tool.py
certs=$IT_ROOT/tools/certs.sh
"$certs" "$PKI" >/dev/null
"$certs" "$PKI" leaf edge spiffe://cluster.local/ns/shop/sa/edge --dns edge.test >/dev/null
"$certs" "$PKI" leaf idp spiffe://cluster.local/ns/idp/sa/idp --dns localhost --server >/dev/null
"$IT_PY" "$TOOL" keys "$KEYS"
SEV=$IT_WORK/security-events.log
"$IT_PY" - "$IT_ROOT/tests/data/https-proxy.json" "$PKI" "$KEYS" "$JWKS_PORT" "$SEV" >"$IT_WORK/jwt.json" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().replace("@PKI@", sys.argv[2]))
keys, port = sys.argv[3], sys.argv[4]
d["listeners"].append({"name": "http", "type": "http", "address": "10.10.1.1", "port": 8080,
                       "route_config": "main", "idle_timeout_s": 60})
h2 = {"enabled": True}
d["listeners"].append({"name": "https-h2", "type": "http", "address": "10.10.1.1", "port": 8445,
                       "route_config": "main", "idle_timeout_s": 60,
                       "tls": {"secret": "edge", "mtls": "disable"}, "http": {"http2": h2}})
d["request_authentication"] = [
    {"name": "app", "namespace": "shop", "selector": {"service": "app"},
     "decryption_key_file": keys + "/dec_rsa.pem",
     "jwt_rules": [
         {"issuer": "https://idp.test", "audiences": ["app"], "jwks_file": keys + "/jwks.json",
          "max_token_bytes": 4096,
          "output_claim_to_headers": [{"claim": "sub", "header": "x-jwt-sub"},
                                      {"claim": "grp", "header": "x-jwt-groups"}]},
         {"issuer": "https://fetch.test", "jwks_uri": "https://localhost:%s/jwks.json" % port,
          "jwks_ca_file": sys.argv[2] + "/ca.pem", "jwks_refresh_s": 5,
          "output_claim_to_headers": [{"claim": "sub", "header": "x-jwt-sub"}]}]},
    {"name": "shop-enc", "namespace": "shop", "decryption_key_file": keys + "/dec_ec.pem",
     "require_encryption": True,
     "jwt_rules": [{"issuer": "https://enc.test", "jwks_file": keys + "/jwks.json",
                    "output_claim_to_headers": [{"claim": "sub", "header": "x-jwt-sub"}]}]}]
d["authorization"] = [
    {"name": "private", "namespace": "shop", "selector": {"service": "app"}, "action": "deny",
     "rules": [{"from": [{"source": {"not_request_principals": ["https://idp.test/alice"]}}],
                "to": [{"operation": {"paths": ["/app/name*"]}}]}]}]
d["telemetry"] = {"security_events": {"output": "file", "path": sys.argv[5], "rate_per_s": 1000}}
print(json.dumps(d))
PY

diag() { it_ctl jwt >&2 || true; it_ctl stats | grep -v " 0$" | grep -E "jwt_|authz_|http_" >&2 || true; }
fail() { diag; it_fail "$@"; }
listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }
token() { "$IT_PY" "$TOOL" token "$KEYS" "$@"; }
# req PORT PATH TOKEN [CURL-ARGS...]: the answer (head and body) through the TLS listener
req()
{
	local auth=()
	[ -n "$3" ] && auth=(-H "Authorization: Bearer $3")
	it_in_client curl -sS -i -m 10 --http1.1 --resolve "edge.test:$1:$PROXY" --cacert "$PKI/ca.pem" \
		"${auth[@]}" "${@:4}" "https://edge.test:$1$2"
}
code() { head -1 <<<"$1" | awk '{print $2}'; }
# expect_ok KIND: 200 through TLS, the backend saw sub and no token
expect_ok()
{
	local out
	out=$(req 8444 /app/headers "$(token "$1" "${2:-alice}")" -H "x-jwt-sub: forged") || fail "$1: curl failed: $out"
	[ "$(code "$out")" = 200 ] || fail "$1: $(head -1 <<<"$out"), expected 200: $out"
	grep -qi "^x-jwt-sub: ${2:-alice}"$'\r'"\?$" <<<"$out" || fail "$1: the backend did not see x-jwt-sub: ${2:-alice}: $out"
	[ "$(grep -ci "^x-jwt-sub:" <<<"$out")" -eq 1 ] || fail "$1: the client's forged x-jwt-sub went upstream: $out"
	! grep -qi "^authorization:" <<<"$out" || fail "$1: the token went upstream: $out"
	echo "  $1 -> 200, x-jwt-sub: ${2:-alice}"
}
# expect_401 KIND COUNTER [ARGS...]: 401 with WWW-Authenticate, COUNTER one more
expect_401()
{
	local kind=$1 ctr=$2 before out t
	before=$(it_stat "$ctr")
	t=$(token "$kind")
	out=$(req 8444 /app/headers "$t" "${@:3}") || fail "$kind: curl failed: $out"
	[ "$(code "$out")" = 401 ] || fail "$kind: $(head -1 <<<"$out"), expected 401: $out"
	grep -qi '^www-authenticate: Bearer realm="meshdp", error="invalid_token"' <<<"$out" || fail "$kind: no WWW-Authenticate: $out"
	[ "$(it_stat "$ctr")" -eq $((before + 1)) ] || fail "$kind: $ctr went from $before to $(it_stat "$ctr")"
	echo "  $kind -> 401, $ctr +1"
}

it_start_meshdp --config "$IT_WORK/jwt.json"
it_topology_backends
PIDS=
for b in b1 b2; do
	ip netns exec "mdp-$b" "$IT_PY" "$BACKEND" "$b" 8000 >"$IT_WORK/backend-$b.log" 2>&1 &
	PIDS="$PIDS $!"
done
# the identity provider's key set over HTTPS, on the host's loopback (where meshdp's control thread is)
mkdir -p "$IT_WORK/idp"
cp "$KEYS/jwks-fetch.json" "$IT_WORK/idp/jwks.json"
"$IT_PY" - "$IT_WORK/idp" "$PKI" "$JWKS_PORT" >"$IT_WORK/idp.log" 2>&1 <<'PY' &
import functools, http.server, ssl, sys
root, pki, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), h)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(pki + "/idp.pem", pki + "/idp.key")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
IDP=$!
cleanup()
{
	set +e
	kill $PIDS $IDP 2>/dev/null
	wait $IDP 2>/dev/null
	it_l4_cleanup
}
trap cleanup EXIT
for b in b1 b2; do
	it_wait_for "http_backend.py listening in mdp-$b" 10 listening "mdp-$b" 8000
done
it_ctl jwt

it_log "valid tokens through TLS: 200, claims as headers, no token upstream"
expect_ok es256
expect_ok rs256
expect_ok eddsa
expect_ok jwe-rsa
expect_ok jwe-ec
out=$(req 8444 /app/headers "$(token es256)") || fail "curl: $out"
grep -qi "^x-jwt-groups: eng,ops" <<<"$out" || fail "an array claim as a header: $out"
[ "$(it_stat jwt_authenticated)" -eq 6 ] || fail "jwt_authenticated $(it_stat jwt_authenticated), expected 6"

it_log "HTTP/2 over TLS goes through the same check"
out=$(it_in_client curl -sS -i -m 10 --http2 --resolve "edge.test:8445:$PROXY" --cacert "$PKI/ca.pem" \
	-H "Authorization: Bearer $(token eddsa bob)" "https://edge.test:8445/app/headers") || fail "h2: $out"
grep -q "^HTTP/2 200" <<<"$out" || fail "h2 with a valid token: $out"
grep -qi "^x-jwt-sub: bob" <<<"$out" || fail "h2: the backend did not see x-jwt-sub: $out"
out=$(it_in_client curl -sS -i -m 10 --http2 --resolve "edge.test:8445:$PROXY" --cacert "$PKI/ca.pem" \
	-H "Authorization: Bearer $(token expired)" "https://edge.test:8445/app/headers") || fail "h2: $out"
grep -q "^HTTP/2 401" <<<"$out" || fail "h2 with an expired token: $out"

it_log "bad tokens: 401 each, with its counter"
expect_401 expired jwt_refused_expired
expect_401 nbf jwt_refused_not_yet_valid
expect_401 wrong-iss jwt_refused_issuer
expect_401 wrong-aud jwt_refused_audience
expect_401 none jwt_refused_alg_refused
expect_401 hs-confusion jwt_refused_alg_refused
expect_401 tampered jwt_refused_bad_signature
expect_401 oversized jwt_refused_too_large
expect_401 malformed jwt_refused_malformed
expect_401 enc-plain jwt_refused_not_encrypted
t=$(token es256 carol r-1)
out=$(req 8444 /app/headers "$t") || fail "curl: $out"
[ "$(code "$out")" = 200 ] || fail "the jti's first use: $out"
before=$(it_stat jwt_refused_replay)
out=$(req 8444 /app/headers "$t") || fail "curl: $out"
[ "$(code "$out")" = 401 ] || fail "the jti's second use: $out"
[ "$(it_stat jwt_refused_replay)" -eq $((before + 1)) ] || fail "jwt_refused_replay not counted"
echo "  replayed jti -> 401, jwt_refused_replay +1"
before=$(it_stat jwt_refused_insecure_transport)
out=$(it_in_client curl -sS -i -m 10 -H "Authorization: Bearer $(token es256)" "http://$PROXY:8080/app/headers") || fail "curl: $out"
[ "$(code "$out")" = 401 ] || fail "a bearer token in plaintext: $out"
[ "$(it_stat jwt_refused_insecure_transport)" -eq $((before + 1)) ] || fail "jwt_refused_insecure_transport not counted"
echo "  plaintext from 10.10.1.2 -> 401, jwt_refused_insecure_transport +1"

it_log "no token: passes unauthenticated, forged claim headers removed"
before=$(it_stat jwt_no_token)
out=$(req 8444 /app/headers "" -H "x-jwt-sub: root") || fail "curl: $out"
[ "$(code "$out")" = 200 ] || fail "no token: $out"
! grep -qi "^x-jwt-sub:" <<<"$out" || fail "a forged x-jwt-sub went upstream without a token: $out"
[ "$(it_stat jwt_no_token)" -eq $((before + 1)) ] || fail "jwt_no_token not counted"

it_log "authorization on the request principal: alice in, bob and no token out (403)"
out=$(req 8444 /app/name "$(token es256 alice)") || fail "curl: $out"
[ "$(code "$out")" = 200 ] || fail "alice to /app/name: $out"
out=$(req 8444 /app/name "$(token es256 bob)") || fail "curl: $out"
[ "$(code "$out")" = 403 ] || fail "bob to /app/name: $out"
out=$(req 8444 /app/name "") || fail "curl: $out"
[ "$(code "$out")" = 403 ] || fail "no token to /app/name: $out"

it_log "jwks_uri: fetched by the control thread over HTTPS"
fetched() { it_ctl --json jwt | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["jwks_uris"][0][sys.argv[1]])' "$1"; }
has_fetched() { [ "$(fetched fetched)" -ge 1 ]; }
it_wait_for "the key set fetched" 15 has_fetched
expect_ok fetch dave
grep -q "GET /jwks.json" "$IT_WORK/idp.log" || fail "the HTTPS server saw no fetch: $(cat "$IT_WORK/idp.log")"
it_log "the server gone: the refresh fails, counted, and the last good key set stays"
failed_before=$(fetched failed) # meshdp may have tried before the server listened
kill $IDP
wait $IDP 2>/dev/null || true
failed_more() { [ "$(fetched failed)" -gt "$failed_before" ]; }
it_wait_for "a failed refresh counted" 20 failed_more
it_ctl jwt
expect_ok fetch erin
grep -q "jwt: fetching https://localhost:$JWKS_PORT/jwks.json failed" "$IT_WORK/meshdp.log" || fail "the failed fetch was not logged"
metrics=$(curl -sf "http://127.0.0.1:9901/metrics") || fail "GET /metrics failed"
grep -q "^meshdp_jwt_refused_replay_total{worker=\"0\"} 1$" <<<"$metrics" || fail "/metrics has no jwt counters"

it_log "refused tokens in the security event log: token_replay for the replayed jti, token_invalid with each reason"
sev_logged() { grep -q '"kind":"token_replay"' "$SEV" 2>/dev/null; }
it_wait_for "the replay's security event" 10 sev_logged
"$IT_PY" - "$SEV" <<'PY' || fail "security events of the refused tokens: $(cat "$SEV")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
replay = [l for l in lines if l["kind"] == "token_replay"]
invalid = [l for l in lines if l["kind"] == "token_invalid"]
assert len(replay) == 1 and "replay" in replay[0]["detail"], replay
reasons = {l["detail"].split(": ")[1].split(" ")[0] for l in invalid}
for r in ("expired", "not_yet_valid", "issuer", "audience", "alg_refused", "bad_signature",
          "too_large", "malformed", "not_encrypted", "insecure_transport"):
    assert r in reasons, (r, reasons)
assert all(l["service"] for l in invalid), invalid
PY

it_log "ok"
