#!/usr/bin/env bash
# HTTPS: http listeners with a tls block (tests/data/https-proxy.json on the L4
# topology of lib_l4.sh; certificates from tools/certs.sh): curl --cacert
# through a one-way TLS listener and with a client certificate through an mTLS
# strict one to the nginx backends; keep-alive reuse over TLS; the client's
# SPIFFE ID as x-forwarded-client-cert (a client's own is not passed on); a
# client without a certificate refused under strict; and a rotation (meshctl
# secret apply) during a keep-alive session: the next response says
# "connection: close", a new connection presents the new serial; Istio's
# metrics name the certificate's SPIFFE ID as source_principal (the address's
# workload when the two agree, an unknown workload of the certificate's
# namespace when they do not).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
PKI=$IT_WORK/pki
PROXY=10.10.1.1
BACKEND=$(dirname "$0")/http_backend.py
certs=$IT_ROOT/tools/certs.sh
"$certs" "$PKI" >/dev/null
"$certs" "$PKI" leaf edge spiffe://cluster.local/ns/shop/sa/edge --dns edge.test >/dev/null
"$certs" "$PKI" leaf edge2 spiffe://cluster.local/ns/shop/sa/edge --dns edge.test --hours 6 >/dev/null
"$certs" "$PKI" leaf frontend spiffe://cluster.local/ns/shop/sa/frontend --client >/dev/null
"$certs" "$PKI" leaf cart spiffe://cluster.local/ns/shop/sa/cart --client >/dev/null
sed "s|@PKI@|$PKI|g" "$IT_ROOT/tests/data/https-proxy.json" >"$IT_WORK/https-proxy.json"

diag() { it_ctl stats | grep -v " 0$" | grep -E "tls_|http_|proxy_" >&2 || true; }
fail() { diag; it_fail "$@"; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }
counter_is() { [ "$(it_stat "$1")" -eq "$2" ]; }
# https PORT PATH ARGS...: curl to edge.test through listener PORT
https() { it_in_client curl -sS -m 5 --http1.1 --resolve "edge.test:$1:$PROXY" --cacert "$PKI/ca.pem" "${@:3}" "https://edge.test:$1$2"; }
CERT=(--cert "$PKI/frontend.pem" --key "$PKI/frontend.key")

it_start_meshdp --config "$IT_WORK/https-proxy.json"
it_topology_backends
ip netns exec mdp-b1 "$IT_PY" "$BACKEND" b1 8000 >"$IT_WORK/backend-b1.log" 2>&1 &
BPID=$!
cleanup()
{
	set +e
	kill $BPID 2>/dev/null
	it_l4_cleanup
}
trap cleanup EXIT
it_wait_healthy shop/web
it_wait_for "http_backend.py listening in mdp-b1" 10 listening mdp-b1 8000

it_log "curl --cacert through the one-way TLS listener (TLS 1.3, ALPN http/1.1) to nginx"
out=$(https 8444 / -v 2>&1) || fail "curl through the HTTPS listener failed: $out"
grep -q "^b[123] 10.10.2.1" <<<"$out" || fail "unexpected answer: $out"
grep -q "SSL connection using TLSv1.3" <<<"$out" || fail "not TLS 1.3: $out"
grep -q "ALPN: server accepted http/1.1\|ALPN, server accepted to use http/1.1" <<<"$out" || fail "ALPN did not agree http/1.1: $out"

it_log "keep-alive over TLS: three requests, one TLS connection"
before=$(it_stat http_downstream_cx)
out=$(https 8444 / -v -o /dev/null -o /dev/null -o /dev/null "https://edge.test:8444/" "https://edge.test:8444/" 2>&1) ||
	fail "keep-alive requests failed: $out"
[ "$(grep -c "HTTP/1.1 200" <<<"$out")" -eq 3 ] || fail "not three 200s: $out"
grep -qi "Re-using existing connection" <<<"$out" || fail "curl did not reuse the connection: $out"
[ "$(it_stat http_downstream_cx)" -eq $((before + 1)) ] || fail "http_downstream_cx went from $before to $(it_stat http_downstream_cx), expected one connection"

it_log "mTLS strict with a client certificate; its SPIFFE ID goes up as x-forwarded-client-cert"
out=$(https 8443 / "${CERT[@]}") || fail "curl with a client certificate failed: $out"
grep -q "^b[123] 10.10.2.1" <<<"$out" || fail "unexpected answer: $out"
out=$(https 8443 /app/headers "${CERT[@]}" -H "x-forwarded-client-cert: URI=spiffe://cluster.local/ns/shop/sa/admin") ||
	fail "curl to /app/headers failed: $out"
grep -qi "^x-forwarded-client-cert: URI=spiffe://cluster.local/ns/shop/sa/frontend" <<<"$out" || fail "no XFCC of the client's identity: $out"
[ "$(grep -ci "^x-forwarded-client-cert:" <<<"$out")" -eq 1 ] || fail "the client's own XFCC was passed on: $out"

it_log "mTLS strict without a client certificate: refused and counted"
before=$(it_stat tls_hs_fail_no_client_cert)
if out=$(https 8443 / 2>&1); then fail "a client without a certificate was served: $out"; fi
it_wait_for "tls_hs_fail_no_client_cert counted" 5 counter_is tls_hs_fail_no_client_cert $((before + 1))

it_log "rotation during a keep-alive session: the next response says connection: close, a new connection the new serial"
rm -f "$IT_WORK/go"
mkfifo "$IT_WORK/go"
it_in_client "$IT_PY" - "$PKI" "$IT_WORK/go" >"$IT_WORK/rot.out" 2>&1 <<'PY' &
import http.client, ssl, sys
pki, go = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=pki + "/ca.pem")
ctx.load_cert_chain(pki + "/frontend.pem", pki + "/frontend.key")
ctx.check_hostname = False  # a SPIFFE SVID: its DNS SAN is edge.test, we dial the address

def req(c):
    c.request("GET", "/", headers={"host": "edge.test"})
    r = c.getresponse()
    r.read()
    return r.status, (r.getheader("connection") or "keep-alive")

c = http.client.HTTPSConnection("10.10.1.1", 8443, context=ctx, timeout=10)
print("first", *req(c), c.sock.getpeercert()["serialNumber"], flush=True)
open(go).read()  # the shell rotates the identity
# the same connection (http.client reconnects only once it saw a close)
print("second", *req(c), flush=True)
c.close()
c = http.client.HTTPSConnection("10.10.1.1", 8443, context=ctx, timeout=10)
print("third", *req(c), c.sock.getpeercert()["serialNumber"], flush=True)
PY
RPID=$!
it_wait_for "the first response" 10 grep -q "^first" "$IT_WORK/rot.out"
it_ctl secret apply edge --cert "$PKI/edge2.pem" --key "$PKI/edge2.key" >/dev/null || fail "secret apply refused"
echo go >"$IT_WORK/go"
wait $RPID || fail "the keep-alive client failed: $(cat "$IT_WORK/rot.out")"
cat "$IT_WORK/rot.out" | sed 's/^/    /'
old=$(serial_of "$PKI/edge.pem")
new=$(serial_of "$PKI/edge2.pem")
grep -q "^first 200 keep-alive $old\$" "$IT_WORK/rot.out" || fail "the first response (old serial $old, keep-alive): $(cat "$IT_WORK/rot.out")"
grep -q "^second 200 close$" "$IT_WORK/rot.out" || fail "the response after the rotation did not say connection: close on the same connection: $(cat "$IT_WORK/rot.out")"
grep -q "^third 200 .* $new\$" "$IT_WORK/rot.out" || fail "the new connection did not present the new serial $new: $(cat "$IT_WORK/rot.out")"
[ "$(it_stat http_tls_drain_closed)" -ge 1 ] || fail "http_tls_drain_closed not counted"

it_log "metrics: source_principal is the client certificate's SPIFFE ID"
# 10.10.1.2 is workload frontend: its own certificate gives its labels; cart's
# certificate from the same address names cart, the workload unknown
out=$(https 8443 / --cert "$PKI/cart.pem" --key "$PKI/cart.key" -o /dev/null -w '%{http_code}') || fail "curl with cart's certificate: $out"
[ "$out" = 200 ] || fail "cart's request answered $out"
metrics=$(curl -s -m 5 http://127.0.0.1:9901/metrics) || fail "no /metrics"
series() { grep '^istio_requests_total{' <<<"$metrics" | grep -F "$1" | grep -F 'response_code="200"' | grep -F 'destination_service_name="web"'; }
mine=$(series 'source_workload="frontend",source_workload_namespace="shop",source_principal="spiffe://cluster.local/ns/shop/sa/frontend"')
[ -n "$mine" ] || fail "no series of frontend's certificate: $(grep '^istio_requests_total{' <<<"$metrics")"
grep -q 'connection_security_policy="mutual_tls"' <<<"$mine" || fail "frontend's series is not mutual_tls: $mine"
cart=$(series 'source_workload="unknown",source_workload_namespace="shop",source_principal="spiffe://cluster.local/ns/shop/sa/cart"')
[ "$(awk '{s += $NF} END {print s + 0}' <<<"$cart")" = 1 ] || fail "cart's one request is not its own series: $(grep '^istio_requests_total{' <<<"$metrics")"

it_log "ok"
