#!/usr/bin/env bash
# TLS on tcp_proxy listeners with real peers (tests/data/tls-proxy.json on the
# L4 topology of lib_l4.sh; certificates from tools/certs.sh into $IT_WORK/pki):
# openssl s_client with TLS 1.3 and 1.2, ALPN and SNI (which picks the
# identity); TLS 1.1 and a 1.2 client of a 1.3-only listener refused; curl with
# a client certificate through the listener to the nginx backends; mTLS strict
# without a client certificate refused; every bad certificate of `certs.sh bad`
# refused with its own counter; a permissive listener taking plaintext; allowed
# peers; origination to an mTLS nginx (ssl_verify_client on) with a cluster's
# identity, and secure naming refusing an upstream of another identity;
# meshctl tls conns; and a rotated identity (meshctl secret apply) cycling a
# held connection and $IT_TLS_CONNS (200) more, each closed with close_notify
# within the 3 s drain window, new handshakes presenting the new serial.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
PKI=$IT_WORK/pki
PROXY=10.10.1.1
CONNS=${IT_TLS_CONNS:-200} # long-lived connections cycled by the rotation
certs=$IT_ROOT/tools/certs.sh
"$certs" "$PKI" >/dev/null
"$certs" "$PKI" leaf edge spiffe://cluster.local/ns/shop/sa/edge --dns edge.test >/dev/null
"$certs" "$PKI" leaf edge2 spiffe://cluster.local/ns/shop/sa/edge --dns edge.test --hours 6 >/dev/null
"$certs" "$PKI" leaf api spiffe://cluster.local/ns/shop/sa/api --dns api.test >/dev/null
"$certs" "$PKI" leaf frontend spiffe://cluster.local/ns/shop/sa/frontend --client >/dev/null
"$certs" "$PKI" leaf outsider spiffe://cluster.local/ns/other/sa/x --client >/dev/null
"$certs" "$PKI" leaf web spiffe://cluster.local/ns/shop/sa/web --server --dns web.test >/dev/null
"$certs" "$PKI" bad >/dev/null
sed "s|@PKI@|$PKI|g" "$IT_ROOT/tests/data/tls-proxy.json" >"$IT_WORK/tls-proxy.json"

diag() { it_ctl stats | grep -v " 0$" | grep -E "tls_|proxy_" >&2 || true; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# sclient PORT ARGS...: openssl s_client from the client namespace (no input)
sclient() { it_in_client timeout 10 openssl s_client -connect "$PROXY:$1" -CAfile "$PKI/ca.pem" "${@:2}" </dev/null 2>&1; }
# curl_tls PORT ARGS...: an HTTPS request to edge.test through listener PORT
curl_tls() { it_in_client curl -sS -m 5 --http1.1 --resolve "edge.test:$1:$PROXY" --cacert "$PKI/ca.pem" "${@:2}" "https://edge.test:$1/"; }
# expect_refused COUNTER CMD...: CMD fails and COUNTER goes up by one
expect_refused()
{
	local counter=$1 before after
	shift
	before=$(it_stat "$counter")
	if "$@" >"$IT_WORK/out" 2>&1; then
		diag
		it_fail "$* succeeded, expected a refusal counted in $counter: $(head -c 300 "$IT_WORK/out")"
	fi
	it_wait_for "$counter counted" 5 counter_is "$counter" $((before + 1))
}
counter_is() { [ "$(it_stat "$1")" -eq "$2" ]; }

it_start_meshdp ${IT_TLS_PROFILE:+--profile "$IT_TLS_PROFILE"} --config "$IT_WORK/tls-proxy.json"
it_topology_backends
it_wait_healthy shop/web
# an mTLS upstream: nginx in mdp-b1 on 8443 with the web identity, client
# certificates required and verified by the trust domain's CA
it_nginx_conf "$IT_WORK/tls-nginx" <<NGINX
	access_log off;
	server {
		listen 8443 ssl;
		ssl_certificate $PKI/web.pem;
		ssl_certificate_key $PKI/web.key;
		ssl_client_certificate $PKI/ca.pem;
		ssl_verify_client on;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / { return 200 "mtls \$ssl_client_verify \$ssl_server_name\n"; }
	}
NGINX
ip netns exec mdp-b1 nginx -c "$IT_WORK/tls-nginx/nginx.conf"
tls_cleanup()
{
	[ -f "$IT_WORK/tls-nginx/nginx.pid" ] && kill "$(cat "$IT_WORK/tls-nginx/nginx.pid")" 2>/dev/null
	it_l4_cleanup
}
trap tls_cleanup EXIT

it_log "openssl s_client, TLS 1.3: the listener's identity, verified by the CA"
out=$(sclient 8444 -tls1_3)
grep -q "Protocol  *: TLSv1.3\|New, TLSv1.3" <<<"$out" || it_fail "no TLS 1.3 session: $out"
grep -q "Verify return code: 0 (ok)" <<<"$out" || it_fail "the server certificate did not verify: $out"
grep -q "$(serial_of "$PKI/edge.pem")" <<<"$(sclient 8444 -tls1_3 -showcerts | openssl x509 -noout -serial)" ||
	it_fail "the listener did not present edge.pem"

it_log "TLS 1.2 with a client certificate, ALPN (the listener's preference among the client's)"
out=$(sclient 8443 -tls1_2 -cert "$PKI/frontend.pem" -key "$PKI/frontend.key" -alpn http/1.1,h2)
grep -q "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256" <<<"$out" || it_fail "no TLS 1.2 session: $out"
grep -q "ALPN protocol: h2" <<<"$out" || it_fail "ALPN did not pick h2: $out"

it_log "SNI api.test selects the api identity (and its policy: no client certificate)"
sclient 8443 -servername api.test -showcerts | openssl x509 -noout -ext subjectAltName >"$IT_WORK/san"
grep -q "URI:spiffe://cluster.local/ns/shop/sa/api" "$IT_WORK/san" || it_fail "SNI did not select the api identity: $(cat "$IT_WORK/san")"
out=$(it_in_client curl -sS -m 5 --http1.1 --resolve "api.test:8443:$PROXY" --cacert "$PKI/ca.pem" https://api.test:8443/) ||
	it_fail "curl to api.test without a client certificate failed: $out"
grep -q "^b[123] 10.10.2.1$" <<<"$out" || it_fail "unexpected answer through api.test: $out"

it_log "TLS 1.1, and TLS 1.2 against a TLS 1.3-only listener, are refused"
# the client must allow TLS 1.1 itself (OpenSSL 3 needs security level 0 for it)
tls11() { local out; out=$(sclient 8443 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'); grep -q "New, TLSv1" <<<"$out"; }
expect_refused tls_hs_fail_version tls11
out=$(sclient 8444 -tls1_2 || true)
grep -q "New, TLSv1.2" <<<"$out" && it_fail "a TLS 1.2 session on the 1.3-only listener: $out"
it_wait_for "the 1.2 client of the 1.3 listener counted" 5 counter_is tls_hs_fail_version 2

it_log "curl with a client certificate through the listener to nginx"
for i in 1 2 3; do
	out=$(curl_tls 8443 --cert "$PKI/frontend.pem" --key "$PKI/frontend.key") || { diag; it_fail "curl through the TLS listener failed: $out"; }
	grep -q "^b[123] 10.10.2.1$" <<<"$out" || it_fail "unexpected answer: $out"
done
ok=$(it_stat tls_handshakes)
[ "$ok" -ge 6 ] || it_fail "tls_handshakes is $ok"

it_log "mTLS strict without a client certificate: refused and counted"
expect_refused tls_hs_fail_no_client_cert curl_tls 8443

it_log "every bad certificate is refused with its own counter"
bad()
{
	local kind=$1 counter=$2
	expect_refused "$counter" curl_tls 8443 --cert "$PKI/bad/$kind.pem" --key "$PKI/bad/$kind.key"
	echo "    $kind: $counter"
}
bad expired tls_peer_expired
bad not-yet-valid tls_peer_not_yet_valid
bad other-td tls_peer_unknown_trust_domain
bad foreign-ca tls_peer_untrusted
bad no-uri-san tls_peer_no_uri_san
bad two-uri-san tls_peer_multiple_uri_san
bad bad-spiffe-id tls_peer_bad_spiffe_id
bad ca-leaf tls_peer_ca_leaf
bad keycertsign tls_peer_ca_leaf
bad self-signed tls_peer_self_signed
bad long-lifetime tls_peer_lifetime

it_log "allowed peers: a namespace prefix admits frontend, refuses another namespace"
out=$(curl_tls 8446 --cert "$PKI/frontend.pem" --key "$PKI/frontend.key") || it_fail "frontend refused by tls-allowed: $out"
expect_refused tls_hs_fail_peer_not_allowed curl_tls 8446 --cert "$PKI/outsider.pem" --key "$PKI/outsider.key"

it_log "permissive: plaintext and TLS on the same listener"
out=$(it_in_client curl -sS -m 5 "http://$PROXY:8445/") || it_fail "plaintext to the permissive listener failed: $out"
grep -q "^b[123] " <<<"$out" || it_fail "unexpected plaintext answer: $out"
[ "$(it_stat tls_permissive_plaintext)" -ge 1 ] || it_fail "tls_permissive_plaintext not counted"
out=$(curl_tls 8445) || it_fail "TLS without a certificate to the permissive listener failed: $out"

it_log "origination: plaintext in, mTLS to nginx (ssl_verify_client on) with the cluster's identity and SNI"
# nginx answers TLS on 8443 (curl's exit 7 is "could not connect")
nginx_tls_up() { ip netns exec mdp-b1 curl -sk -o /dev/null https://127.0.0.1:8443/ || [ $? -ne 7 ]; }
it_wait_for "the mTLS nginx serving" 10 nginx_tls_up
out=$(it_in_client curl -sS -m 5 "http://$PROXY:8450/") || { diag; it_fail "curl through the originating listener failed: $out"; }
[ "$out" = "mtls SUCCESS web.test" ] || it_fail "nginx did not verify meshdp's client certificate: $out"

it_log "secure naming: an upstream presenting another identity than the cluster expects is refused"
expect_refused tls_hs_fail_secure_name it_in_client curl -sS -m 5 "http://$PROXY:8451/"

it_log "rotation: a live connection is closed within the drain window (3 s), new ones see the new serial"
hs=$(it_stat tls_handshakes)
# -quiet implies -ign_eof: the connection stays open until the server ends it
it_in_client sh -c "timeout 30 openssl s_client -connect $PROXY:8443 -CAfile $PKI/ca.pem -cert $PKI/frontend.pem -key $PKI/frontend.key -quiet </dev/null >$IT_WORK/held.out 2>&1; echo done >$IT_WORK/held.rc" &
held=$!
it_wait_for "the held connection established" 10 counter_is tls_handshakes $((hs + 1))
it_log "meshctl tls conns: the peer's identity and the serial it was made with"
it_ctl --json tls conns >"$IT_WORK/tls-conns.json" || it_fail "meshctl tls conns failed"
"$IT_PY" - "$IT_WORK/tls-conns.json" "$(serial_of "$PKI/edge.pem")" <<'PY' || it_fail "tls conns does not list the held connection: $(cat "$IT_WORK/tls-conns.json")"
import json, sys
conns = json.load(open(sys.argv[1]))["conns"]
want = sys.argv[2].lower()
ok = [c for c in conns if c["peer_id"] == "spiffe://cluster.local/ns/shop/sa/frontend"
      and c["serial"].lower().lstrip("0") == want.lstrip("0") and c["local"].endswith(":8443")
      and c["peer_not_after"] > 0 and c["version"] == "TLSv1.3"]
print("    %d TLS connection(s) listed, the held one: %s" % (len(conns), ok[:1]))
sys.exit(0 if ok else 1)
PY
it_ctl tls conns | head -3
it_log "$CONNS more long-lived mTLS connections, each with a request answered through the listener"
mkfifo "$IT_WORK/go"
it_in_client "$IT_PY" "$(dirname "$0")/tls_clients.py" "$PROXY" 8443 "$CONNS" "$PKI/ca.pem" \
	"$PKI/frontend.pem" "$PKI/frontend.key" 8 <"$IT_WORK/go" >"$IT_WORK/clients.out" 2>&1 &
clients=$!
exec 9>"$IT_WORK/go"
it_wait_for "$CONNS clients connected" 60 grep -q ready "$IT_WORK/clients.out"
t0=$SECONDS
it_ctl secret apply edge --cert "$PKI/edge2.pem" --key "$PKI/edge2.key" >/dev/null || it_fail "secret apply refused"
echo go >&9
exec 9>&-
wait $clients || it_fail "the clients failed: $(cat "$IT_WORK/clients.out")"
out=$(tail -n 1 "$IT_WORK/clients.out")
echo "    $out"
"$IT_PY" -c 'import json,sys; r=json.loads(sys.argv[1]); n=r["n"]; sys.exit(0 if r["answered"] == n and r["closed"] == n and r["close_notify"] == n and r["max_s"] <= 4.5 else 1)' "$out" ||
	{ diag; it_fail "not every connection answered, then closed with close_notify within the 3 s window: $out"; }
for _ in $(seq 1 16); do
	[ -f "$IT_WORK/held.rc" ] && break
	sleep 0.5
done
[ -f "$IT_WORK/held.rc" ] || { diag; it_fail "the held connection was not closed within 8 s of the rotation"; }
elapsed=$((SECONDS - t0))
[ "$elapsed" -le 5 ] || it_fail "the held connection closed after $elapsed s (window 3 s)"
[ "$(it_stat tls_rotation_closed)" -ge $((CONNS + 1)) ] || { diag; it_fail "tls_rotation_closed is $(it_stat tls_rotation_closed), expected $((CONNS + 1)) or more"; }
kill $held 2>/dev/null || true
grep -q "$(serial_of "$PKI/edge2.pem")" <<<"$(sclient 8444 -showcerts | openssl x509 -noout -serial)" ||
	it_fail "a new connection does not present the new serial"
it_log "counters: $(it_ctl stats | grep -E '^tls_' | grep -v ' 0$' | tr '\n' ' ')"
