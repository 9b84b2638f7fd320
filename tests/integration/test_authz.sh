#!/usr/bin/env bash
# Peer authentication and authorization (tests/data/authz.json on the L4
# topology of lib_l4.sh, nginx backends; certificates from tools/certs.sh):
# clients with SPIFFE IDs of two namespaces (shop frontend and admin, bank
# teller) and a plaintext one through an HTTPS listener: an authorization
# matrix of allow, deny and audit policies at mesh, namespace and service
# scope, each request's status checked and each policy's counters; a
# tcp_proxy listener that resets a principal no rule allows; a live swap of
# a policy that a keep-alive connection follows at its next request; peer
# authentication per scope: the mesh permissive (a plaintext client served),
# a namespace strict (a plaintext client refused), one identity's mode
# swapped to strict and to disable (meshctl authn shows each). authz_2workers
# (run.sh) runs it on two workers (IT_AUTHZ_PROFILE).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
PKI=$IT_WORK/pki
PROXY=10.10.1.1
certs=$IT_ROOT/tools/certs.sh
"$certs" "$PKI" >/dev/null
"$certs" "$PKI" leaf edge spiffe://cluster.local/ns/shop/sa/edge --dns edge.test >/dev/null
"$certs" "$PKI" leaf vault spiffe://cluster.local/ns/bank/sa/vault --dns vault.test >/dev/null
for c in shop/frontend shop/admin bank/teller; do
	"$certs" "$PKI" leaf "${c#*/}" "spiffe://cluster.local/ns/${c%/*}/sa/${c#*/}" --client >/dev/null
done
sed "s|@PKI@|$PKI|g" "$IT_ROOT/tests/data/authz.json" >"$IT_WORK/authz.json"

diag()
{
	it_ctl stats | grep -v " 0$" | grep -E "authz_|tls_|http_|proxy_" >&2 || true
	it_ctl authz >&2 || true
	grep "authz:" "$IT_WORK/meshdp.log" | tail -20 >&2 || true
}
fail()
{
	diag
	it_fail "$@"
}
# status CLIENT METHOD PATH: the HTTP status through the HTTPS listener (000: none);
# CLIENT a certificate name, or "plain" for plaintext HTTP on the same port
status()
{
	local c=$1 m=$2 p=$3
	if [ "$c" = plain ]; then
		it_in_client curl -s -m 5 -o /dev/null -w '%{http_code}' -X "$m" "http://$PROXY:8443$p"
	else
		it_in_client curl -s -m 5 -o /dev/null -w '%{http_code}' -X "$m" --http1.1 \
			--resolve "edge.test:8443:$PROXY" --cacert "$PKI/ca.pem" \
			--cert "$PKI/$c.pem" --key "$PKI/$c.key" "https://edge.test:8443$p"
	fi
}
expect_status()
{
	local got
	got=$(status "$1" "$2" "$3") || true
	[ "$got" = "$4" ] || fail "$1 $2 $3: status $got, expected $4"
	echo "  $1 $2 $3 -> $got"
}
# policy_count KEY FIELD: allowed / denied / audited of policy KEY
policy_count()
{
	it_ctl --json authz | "$IT_PY" -c '
import json, sys
r = json.load(sys.stdin)
print([p for p in r["policies"] if p["policy"] == sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}
expect_count()
{
	local got
	got=$(policy_count "$1" "$2")
	[ "$got" -eq "$3" ] || fail "policy $1 $2 is $got, expected $3"
}
# mode_of LISTENER: its default identity's effective mTLS mode (meshctl authn)
mode_of()
{
	it_ctl --json authn | "$IT_PY" -c '
import json, sys
r = json.load(sys.stdin)
e = [e for e in r["identities"] if e["listener"] == sys.argv[1] and e["sni"] == -1][0]
print(e["mode"], e["from"])' "$1"
}
apply()
{
	"$IT_PY" - "$IT_WORK/authz.json" "$IT_WORK/next.json" "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(doc, open(sys.argv[2], "w"), indent=1)
PY
	it_ctl config apply "$IT_WORK/next.json" >/dev/null || fail "config apply refused: $(it_ctl config apply "$IT_WORK/next.json" 2>&1)"
}

it_start_meshdp ${IT_AUTHZ_PROFILE:+--profile "$IT_AUTHZ_PROFILE"} --config "$IT_WORK/authz.json"
it_topology_backends
trap it_l4_cleanup EXIT

it_log "peer authentication: the mesh permissive, namespace bank strict"
read -r m from <<<"$(mode_of https)"
[ "$m" = permissive ] || fail "listener https (shop identity): mode $m, expected permissive ($from)"
read -r m from <<<"$(mode_of tcp-vault)"
[ "$m" = strict ] || fail "listener tcp-vault (bank identity): mode $m, expected strict ($from)"
it_ctl authn

it_log "the authorization matrix through the HTTPS listener"
# namespace shop allow (shop-ns): shop principals reach web and cart
expect_status frontend GET /web/ 200
expect_status admin GET /web/x 200
expect_status frontend GET /cart/ 200
# a bank principal matches no allow rule of shop: denied by default
expect_status teller GET /web/ 403
# mesh deny (deny-admin-path) before the namespace allow; its rule names port 8443
# too: on a TCP listener a deny rule's HTTP fields are ignored (as Istio does),
# so without the port it would reset every tcp-vault connection
expect_status frontend GET /web/admin/users 403
# namespace deny (shop-no-put)
expect_status frontend PUT /web/x 403
# service deny (cart-no-admin, principal suffix */sa/admin) on cart only
expect_status admin GET /cart/ 403
# service allow (vault-tellers, principal prefix spiffe://cluster.local/ns/bank/*)
expect_status teller GET /vault/ 200
expect_status frontend GET /vault/ 403
# mesh audit (audit-delete), service audit (web-audit): counted, not deciding
expect_status frontend DELETE /web/x 200
expect_status frontend GET /web/audited/1 200
# mesh allow (public) for anyone, even a plaintext client (permissive)
expect_status plain GET /web/public/x 200
expect_status plain GET /web/ 403
# the body is Envoy's
body=$(it_in_client curl -s -m 5 "http://$PROXY:8443/web/")
[ "$body" = "RBAC: access denied" ] || fail "403 body: '$body'"

it_log "counters per policy (meshctl authz) and per worker"
expect_count shop/shop-ns allowed 5 # frontend: web, cart, DELETE, audited; admin: web
expect_count mesh/deny-admin-path denied 1
expect_count shop/shop-no-put denied 1
expect_count shop/cart-no-admin denied 1
expect_count bank/vault-tellers allowed 1
expect_count mesh/public allowed 1
expect_count mesh/audit-delete audited 1
expect_count shop/web-audit audited 1
expect_count bank/bank-audit audited 2 # teller and frontend to vault
[ "$(it_stat authz_denied_no_allow)" -eq 4 ] || fail "authz_denied_no_allow $(it_stat authz_denied_no_allow), expected 4 (teller web, frontend vault, plaintext web, the body check)"
[ "$(it_stat authz_denied_policy)" -eq 3 ] || fail "authz_denied_policy $(it_stat authz_denied_policy), expected 3"
curl -sf "http://127.0.0.1:9901/metrics" >"$IT_WORK/metrics" || fail "GET /metrics failed"
grep -q 'meshdp_authz_policy_requests_total{policy="shop/cart-no-admin",action="deny",result="denied"} 1' "$IT_WORK/metrics" ||
	fail "/metrics has no per-policy denial count: $(grep authz "$IT_WORK/metrics" | head)"
it_ctl authz
it_wait_for "denials logged by the control thread" 5 grep -q 'authz: denied by shop/cart-no-admin: service shop/cart' "$IT_WORK/meshdp.log"

it_log "tcp_proxy listener (strict): a teller served, the frontend reset after its handshake, plaintext refused"
tcp_vault() { it_in_client curl -sS -m 5 --resolve "vault.test:9443:$PROXY" --cacert "$PKI/ca.pem" --cert "$PKI/$1.pem" --key "$PKI/$1.key" "https://vault.test:9443/"; }
out=$(tcp_vault teller 2>&1) || fail "teller through tcp-vault: $out"
grep -q "^b3 " <<<"$out" || fail "unexpected answer through tcp-vault: $out"
before=$(it_stat authz_denied_no_allow)
hs=$(it_stat tls_handshakes)
if out=$(tcp_vault frontend 2>&1); then fail "the frontend was relayed by tcp-vault: $out"; fi
[ "$(it_stat tls_handshakes)" -gt "$hs" ] || fail "the frontend's handshake did not complete before the refusal"
[ "$(it_stat authz_denied_no_allow)" -eq $((before + 1)) ] || fail "the tcp-vault refusal was not counted"
hs_fail() { echo $(($(it_stat tls_hs_fail_version) + $(it_stat tls_hs_fail_protocol))); }
before=$(hs_fail)
if out=$(it_in_client curl -sS -m 5 "http://$PROXY:9443/" 2>&1); then fail "a plaintext client was served under strict: $out"; fi
hs_failed_more() { [ "$(hs_fail)" -gt "$before" ]; }
it_wait_for "the plaintext handshake refusal counted" 5 hs_failed_more
[ "$(it_stat tls_permissive_plaintext)" -eq 3 ] || fail "tls_permissive_plaintext $(it_stat tls_permissive_plaintext), expected 3 (the 8443 ones only)"

it_log "live swap: a keep-alive connection follows the new policy at its next request"
rm -f "$IT_WORK/go"
it_in_client "$IT_PY" - "$PKI" "$IT_WORK/go" >"$IT_WORK/ka.out" 2>&1 <<'PY' &
import http.client, os, ssl, sys, time
pki, go = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=pki + "/ca.pem")
ctx.load_cert_chain(pki + "/frontend.pem", pki + "/frontend.key")
ctx.check_hostname = False  # the SVID's DNS SAN is edge.test, we dial the address
c = http.client.HTTPSConnection("10.10.1.1", 8443, context=ctx, timeout=10)
c.request("GET", "/vault/a", headers={"Host": "edge.test"})
r = c.getresponse(); r.read()
sock = c.sock
print("first", r.status, flush=True)
while not os.path.exists(go):
    time.sleep(0.05)
c.request("GET", "/vault/b", headers={"Host": "edge.test"})
r = c.getresponse(); r.read()
print("second", r.status, "same-connection" if c.sock is sock else "new-connection", flush=True)
PY
KA=$!
it_wait_for "the keep-alive client's first answer" 10 grep -q "^first" "$IT_WORK/ka.out"
grep -q "^first 403" "$IT_WORK/ka.out" || fail "first request: $(cat "$IT_WORK/ka.out")"
apply 'doc["authorization"][-1]["rules"].append({"from": [{"source": {"namespaces": ["shop"]}}]})'
touch "$IT_WORK/go"
wait $KA || fail "keep-alive client: $(cat "$IT_WORK/ka.out")"
grep -q "^second 200 same-connection" "$IT_WORK/ka.out" || fail "after the swap: $(cat "$IT_WORK/ka.out")"
expect_count bank/vault-tellers allowed 3 # teller (HTTP, TCP), then the frontend: counts survive the swap

it_log "peer authentication per identity: the edge identity strict, then disable"
apply 'doc["peer_authentication"].append({"name": "edge", "namespace": "shop", "selector": {"identity": "spiffe://cluster.local/ns/shop/sa/edge"}, "mtls": {"mode": "strict"}})'
read -r m from <<<"$(mode_of https)"
[ "$m" = strict ] || fail "listener https after the identity entry: mode $m ($from)"
expect_status frontend GET /web/ 200
got=$(status plain GET /web/public/x) || true
[ "$got" = 000 ] || fail "a plaintext client got $got under strict"
apply 'doc["peer_authentication"].append({"name": "edge", "namespace": "shop", "selector": {"identity": "spiffe://cluster.local/ns/shop/sa/edge"}, "mtls": {"mode": "disable"}})'
read -r m from <<<"$(mode_of https)"
[ "$m" = disable ] || fail "listener https after disable: mode $m ($from)"
# no client certificate is asked for: no principal, so shop-ns does not match
expect_status frontend GET /web/ 403
expect_status frontend GET /web/public/x 200
it_ctl authn
echo "PASS"
